// SPDX-License-Identifier: MIT
/*
 * Input (ADC) streams: READY notifications become RDMA READs of the block
 * into a landing slot, followed on the same QP by a READ of the block's
 * generation word, both under one completion (RC executes them in order,
 * so a generation that still matches READY proves the block was not
 * reclaimed while we read it).
 *
 * A verified block is released to the server at once, not when the
 * application releases it: its data already sits in our landing buffer, and
 * giving the board block back early keeps the converter's queue full. The
 * application's release only frees the landing slot. A slow application
 * therefore runs out of landing slots, READYs wait, the server reclaims the
 * oldest block and the gap shows up as lost samples, as the protocol wants.
 * A shard is the exception: its blocks go back with the application's
 * release, so the blocks of a shard that dies go to the others.
 */
#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <iiofab/clock.h>
#include <iiofab/err.h>
#include <iiofab/loss.h>

#include "ctx.h"
#include "stream.h"

/* About this much in flight keeps the link busy; more only lengthens the
 * time a block waits for its READ, and with it the chance that an overrun
 * reclaims it first. */
#define READ_AHEAD_BYTES (2u << 20)

enum slot_state {
	SLOT_FREE,
	SLOT_READING,
	SLOT_QUEUED,	/* verified, waiting for iiofab_stream_next() */
	SLOT_HELD,	/* owned by the application */
};

struct slot {
	struct transport_op op;		/* the READ pair into this slot */
	struct iiofab_stream *s;
	struct iiofab_block blk;	/* what the application sees */
	enum slot_state state;
	struct iiofab_wire_ready_entry ready;
	uint64_t ready_ns;		/* when that READY was decoded */
	/* Entries dropped unread after this READ was posted. */
	struct iiofab_loss_drops drops_after;
};

struct pending {
	struct iiofab_wire_ready_entry e;
	uint64_t ready_ns;	/* when it was decoded */
	bool stale;	/* a newer READY for the same block arrived */
};

struct adc {
	uint64_t *gens;			/* per slot: the generation READ */
	struct ibv_mr *gens_mr;
	struct slot *slots;
	uint32_t *free_slots;
	unsigned int n_free;
	/* READY entries not yet read, oldest first. */
	struct pending *pend;
	unsigned int pend_cap, pend_head, pend_count;
	struct index_ring reading;	/* slots in READ order, as they complete */
	struct index_ring queue;	/* verified slots in sequence order */
	struct iiofab_wire_release_entry *rel;	/* not yet in a RELEASE */
	unsigned int n_rel, rel_cap;
	unsigned int max_inflight;	/* block READs posted at once */
	bool shed;			/* overrun seen: skip to the newest */
	struct iiofab_loss loss;
	struct iiofab_msg_release rel_msg;	/* encode scratch */
};

static const struct stream_ops adc_ops;

static struct adc *adc_of(const struct iiofab_stream *s)
{
	return s->dir;
}

/* ---- notifications ------------------------------------------------------ */

static void went_backwards(struct iiofab_stream *s, const char *what,
			   const struct iiofab_wire_ready_entry *e);

/*
 * An entry given back or dropped unread counts as lost, in stream order:
 * after the READs in flight for older blocks, so it rides with the newest
 * of them.
 */
static void drop_entry(struct iiofab_stream *s, const struct iiofab_wire_ready_entry *e)
{
	struct adc *a = adc_of(s);
	uint64_t scans = e->bytes_used / s->scan_bytes;

	if (a->reading.count) {
		uint32_t newest = a->reading.v[(a->reading.head + a->reading.count - 1) %
					       a->reading.cap];

		iiofab_loss_drops_add(&a->slots[newest].drops_after, e, scans);
		return;
	}
	if (iiofab_loss_drop(&a->loss, e, scans))
		went_backwards(s, "dropped READY", e);
}

/* A READY never read because the server reclaimed its block first. */
static void stale(struct iiofab_stream *s, const struct iiofab_wire_ready_entry *e)
{
	s->stats.stale_blocks++;
	adc_of(s)->shed = true;
	drop_entry(s, e);
}

static void pend_push(struct iiofab_stream *s,
		      const struct iiofab_wire_ready_entry *e, uint64_t ready_ns)
{
	struct adc *a = adc_of(s);
	struct pending *p;

	for (unsigned int i = 0; i < a->pend_count; i++) {
		p = &a->pend[(a->pend_head + i) % a->pend_cap];
		if (!p->stale && p->e.block == e->block) {
			p->stale = true;
			a->shed = true;
		}
	}
	if (a->pend_count == a->pend_cap) {
		/* The oldest one is certainly reclaimed by now. */
		stale(s, &a->pend[a->pend_head].e);
		a->pend_head = (a->pend_head + 1) % a->pend_cap;
		a->pend_count--;
	}
	p = &a->pend[(a->pend_head + a->pend_count) % a->pend_cap];
	p->e = *e;
	p->ready_ns = ready_ns;
	p->stale = false;
	a->pend_count++;
}

static void adc_on_ready(struct rpc_sub *sub, const struct iiofab_msg_ready *m)
{
	struct iiofab_stream *s = stream_of_sub(sub);
	uint64_t now_ns = iiofab_now_ns();

	for (unsigned int i = 0; i < m->count; i++) {
		const struct iiofab_wire_ready_entry *e = &m->entries[i];

		if (e->block >= s->block_count ||
		    e->bytes_used > s->block_size || e->bytes_used == 0) {
			iiofab_log_warn(&s->ctx->log,
					"READY for bad block %u (%u bytes)",
					e->block, e->bytes_used);
			continue;
		}
		iiofab_log_debug(&s->ctx->log,
				 "READY block %u seq %llu first %llu gen %llu (%u pending, %u free slots)",
				 e->block, (unsigned long long)e->seq,
				 (unsigned long long)e->first_sample,
				 (unsigned long long)e->generation,
				 adc_of(s)->pend_count, adc_of(s)->n_free);
		pend_push(s, e, now_ns);
	}
}

/* ---- data path ----------------------------------------------------------- */

static int post_read(struct iiofab_stream *s, uint32_t slot,
		     const struct iiofab_wire_ready_entry *e)
{
	struct adc *a = adc_of(s);
	struct ibv_sge data_sge = {
		.addr = (uintptr_t)stream_slot(s, slot),
		.length = e->bytes_used,
		.lkey = s->landing_mr->lkey,
	};
	struct ibv_sge gen_sge = {
		.addr = (uintptr_t)&a->gens[slot],
		.length = sizeof(uint64_t),
		.lkey = a->gens_mr->lkey,
	};
	struct ibv_send_wr gen_wr = {
		.sg_list = &gen_sge,
		.num_sge = 1,
		.opcode = IBV_WR_RDMA_READ,
		.wr.rdma = {
			.remote_addr = s->gen_addr + 8ull * e->block,
			.rkey = s->gen_rkey,
		},
	};
	struct ibv_send_wr data_wr = {
		.next = &gen_wr,
		.sg_list = &data_sge,
		.num_sge = 1,
		.opcode = IBV_WR_RDMA_READ,
		.wr.rdma = {
			.remote_addr = s->remote[e->block].addr,
			.rkey = s->remote[e->block].rkey,
		},
	};

	a->gens[slot] = ~e->generation;
	return transport_post_send(s->ctx->xp, &data_wr, &a->slots[slot].op);
}

/*
 * A block the server announced again carries a newer generation, which
 * makes an older entry for it stale: it is replaced, never dropped, so one
 * entry per block always suffices and no current release is lost.
 */
static void add_release(struct adc *a, const struct iiofab_wire_ready_entry *e)
{
	unsigned int i;

	for (i = 0; i < a->n_rel; i++)
		if (a->rel[i].block == e->block)
			break;
	if (i == a->n_rel && a->n_rel == a->rel_cap)
		return;	/* cannot happen: rel_cap covers every block */
	a->rel[i].block = e->block;
	a->rel[i].generation = e->generation;
	if (i == a->n_rel)
		a->n_rel++;
}

/*
 * After an overrun the server reclaims the oldest held block whenever the
 * converter runs dry, and reading blocks oldest first would then chase
 * blocks that die under the READ. So skip to the newest announced block and
 * give the older ones back unread: the converter gets them at once, the
 * newest block lives longest, and the skipped samples show up as a gap.
 */
static void skip_to_newest(struct iiofab_stream *s)
{
	struct adc *a = adc_of(s);

	while (a->pend_count > 1) {
		struct pending *p = &a->pend[a->pend_head];

		a->pend_head = (a->pend_head + 1) % a->pend_cap;
		a->pend_count--;
		drop_entry(s, &p->e);
		if (p->stale) {
			s->stats.stale_blocks++;
			continue;
		}
		add_release(a, &p->e);
		s->stats.skipped_blocks++;
	}
}

/* A READY stays pending until its READ is posted (the queue may be full). */
static void post_reads(struct iiofab_stream *s)
{
	struct adc *a = adc_of(s);

	if (s->closing)
		return;
	if (a->shed) {
		skip_to_newest(s);
		a->shed = false;
	}
	while (a->pend_count && a->n_free && a->reading.count < a->max_inflight) {
		struct pending *p = &a->pend[a->pend_head];
		uint32_t slot;

		if (p->stale) {
			a->pend_head = (a->pend_head + 1) % a->pend_cap;
			a->pend_count--;
			stale(s, &p->e);
			continue;
		}
		slot = a->free_slots[a->n_free - 1];
		if (post_read(s, slot, &p->e))
			return;
		a->n_free--;
		a->slots[slot].ready = p->e;
		a->slots[slot].ready_ns = p->ready_ns;
		a->slots[slot].drops_after.any = false;
		a->slots[slot].state = SLOT_READING;
		index_ring_push(&a->reading, slot);
		a->pend_head = (a->pend_head + 1) % a->pend_cap;
		a->pend_count--;
	}
}

/* A batch leaves when a send slot is free; otherwise at a later turn. */
static void flush_releases(struct iiofab_stream *s)
{
	struct adc *a = adc_of(s);
	struct iiofab_msg_release *r = &a->rel_msg;
	unsigned int n;
	int ret;

	if (!a->n_rel)
		return;
	n = a->n_rel < IIOFAB_WIRE_MAX_RELEASE ? a->n_rel : IIOFAB_WIRE_MAX_RELEASE;
	r->stream_id = s->id;
	r->count = (uint16_t)n;
	memcpy(r->entries, a->rel, n * sizeof(*r->entries));
	ret = rpc_post_release(s->ctx->rpc, r);
	if (ret == -EAGAIN)
		return;
	if (ret) {
		if (!s->err)
			s->err = ret;
		return;
	}
	memmove(a->rel, a->rel + n, (a->n_rel - n) * sizeof(*a->rel));
	a->n_rel -= n;
	s->stats.releases_sent++;
}

static void adc_idle(struct iiofab_stream *s)
{
	post_reads(s);
	flush_releases(s);
}

static void slot_free(struct adc *a, uint32_t slot)
{
	a->slots[slot].state = SLOT_FREE;
	a->free_slots[a->n_free++] = slot;
}

/* A verified block goes to the application's queue, its loss counted. */
/* A server that announces blocks out of order breaks the stream for good. */
static void went_backwards(struct iiofab_stream *s, const char *what,
			   const struct iiofab_wire_ready_entry *e)
{
	iiofab_log_err(&s->ctx->log, "%s seq %llu at sample %llu goes backwards", what,
		       (unsigned long long)e->seq, (unsigned long long)e->first_sample);
	if (!s->err)
		s->err = -EPROTO;
}

static void deliver(struct iiofab_stream *s, uint32_t slot, uint64_t samples,
		    uint64_t landed_ns)
{
	struct adc *a = adc_of(s);
	struct slot *sl = &a->slots[slot];
	const struct iiofab_wire_ready_entry *e = &sl->ready;
	uint64_t lost;

	if (iiofab_loss_deliver(&a->loss, e, samples, &lost)) {
		went_backwards(s, "READY", e);
		slot_free(a, slot);
		return;
	}
	sl->blk = (struct iiofab_block){
		.data = stream_slot(s, slot),
		.bytes = e->bytes_used,
		.seq = e->seq,
		.timestamp_ns = e->timestamp_ns,
		.first_sample = e->first_sample,
		.samples = (size_t)samples,
		.lost_samples = lost,
		.redelivered = e->flags & IIOFAB_WIRE_READY_REDELIVERED,
		.ready_ns = sl->ready_ns,
		.landed_ns = landed_ns,
	};
	s->stats.blocks++;
	s->stats.samples += samples;
	s->stats.bytes += e->bytes_used;
	s->stats.lost_samples += lost;
	s->stats.redelivered_blocks += sl->blk.redelivered;
	sl->state = SLOT_QUEUED;
	index_ring_push(&a->queue, slot);
}

static void account_read(struct iiofab_stream *s, uint32_t slot)
{
	uint64_t landed_ns = iiofab_now_ns();
	struct adc *a = adc_of(s);
	const struct iiofab_wire_ready_entry *e = &a->slots[slot].ready;
	uint64_t samples;

	s->stats.reads++;
	if (iiofab_loss_block_scans(e->bytes_used, (uint16_t)s->scan_bytes,
				    &samples)) {
		iiofab_log_warn(&s->ctx->log,
				"block %u holds %u bytes, not whole scans",
				e->block, e->bytes_used);
		samples = e->bytes_used / s->scan_bytes;
	}
	if (a->gens[slot] != e->generation) {
		/* Reclaimed while we read: the data may be torn. */
		iiofab_log_debug(&s->ctx->log,
				 "block %u seq %llu torn (generation %llu, expected %llu)",
				 e->block, (unsigned long long)e->seq,
				 (unsigned long long)a->gens[slot],
				 (unsigned long long)e->generation);
		s->stats.torn_blocks++;
		a->shed = true;
		if (iiofab_loss_torn(&a->loss, e, samples))
			went_backwards(s, "torn READY", e);
		slot_free(a, slot);
		return;
	}
	/* A shard's block goes back when the application is done with it, so
	 * the server can give it to another shard if this host dies first. */
	if (s->mode != IIOFAB_WIRE_MODE_SHARD)
		add_release(a, e);
	if (s->closing)
		slot_free(a, slot);
	else
		deliver(s, slot, samples, landed_ns);
}

static void on_read_done(struct iiofab_stream *s, uint32_t slot)
{
	struct adc *a = adc_of(s);
	struct iiofab_loss_drops drops = a->slots[slot].drops_after;

	account_read(s, slot);
	if (iiofab_loss_drops_flush(&a->loss, &drops))
		went_backwards(s, "dropped READY", &drops.last);
}

/* The READ pair's completion; a failed or flushed one frees the slot. */
static void read_done(struct transport_op *op, int status)
{
	struct slot *sl = (struct slot *)op;
	struct iiofab_stream *s = sl->s;
	struct adc *a = adc_of(s);
	uint32_t slot = (uint32_t)(sl - a->slots);

	if (a->reading.count && index_ring_front(&a->reading) == slot) {
		index_ring_pop(&a->reading);
	} else if (!status) {
		/* RC completes in order; anything else is a library bug. */
		iiofab_log_err(&s->ctx->log, "READ completion out of order");
		if (!s->err)
			s->err = -EPROTO;
	}
	if (status)
		slot_free(a, slot);
	else
		on_read_done(s, slot);
}

/* ---- life cycle ----------------------------------------------------------- */

static void adc_fini(struct iiofab_stream *s)
{
	struct adc *a = adc_of(s);

	if (!a)
		return;
	if (a->gens_mr)
		ibv_dereg_mr(a->gens_mr);
	free(a->gens);
	free(a->slots);
	free(a->free_slots);
	free(a->pend);
	free(a->reading.v);
	free(a->queue.v);
	free(a->rel);
	free(a);
	s->dir = NULL;
}

static int adc_alloc(struct adc *a, unsigned int n)
{
	if (posix_memalign((void **)&a->gens, 64, n * sizeof(uint64_t)))
		return -ENOMEM;
	memset(a->gens, 0, n * sizeof(uint64_t));
	a->slots = calloc(n, sizeof(*a->slots));
	a->free_slots = calloc(n, sizeof(*a->free_slots));
	a->pend_cap = 2 * n + IIOFAB_WIRE_MAX_READY;
	a->pend = calloc(a->pend_cap, sizeof(*a->pend));
	a->reading = (struct index_ring){ .v = calloc(n, sizeof(uint32_t)), .cap = n };
	a->queue = (struct index_ring){ .v = calloc(n, sizeof(uint32_t)), .cap = n };
	a->rel_cap = n;	/* one entry per block: add_release() replaces */
	a->rel = calloc(a->rel_cap, sizeof(*a->rel));
	if (!a->slots || !a->free_slots || !a->pend || !a->reading.v ||
	    !a->queue.v || !a->rel)
		return -ENOMEM;
	return 0;
}

static int adc_init(struct iiofab_stream *s)
{
	unsigned int n = s->block_count;
	struct adc *a = calloc(1, sizeof(*a));
	int ret;

	if (!a)
		return -ENOMEM;
	s->dir = a;
	ret = adc_alloc(a, n);
	if (ret)
		return ret;
	for (unsigned int i = 0; i < n; i++) {
		a->slots[i].op.done = read_done;
		a->slots[i].s = s;
		a->free_slots[i] = n - 1 - i;
	}
	a->n_free = n;
	a->max_inflight = (unsigned int)(READ_AHEAD_BYTES / s->block_size);
	if (a->max_inflight < 2)
		a->max_inflight = 2;
	if (a->max_inflight > n)
		a->max_inflight = n;
	/* Only a shard does not see every block of the stream. */
	iiofab_loss_init(&a->loss, s->mode != IIOFAB_WIRE_MODE_SHARD);
	a->gens_mr = ibv_reg_mr(transport_pd(s->ctx->xp), a->gens,
				n * sizeof(uint64_t), IBV_ACCESS_LOCAL_WRITE);
	return a->gens_mr ? 0 : iiofab_err_errno(-ENOMEM);
}

static bool adc_quiet(const struct iiofab_stream *s)
{
	return adc_of(s)->reading.count == 0;
}

static const struct rpc_sub_ops adc_sub_ops = {
	.ready = adc_on_ready,
	.event = stream_on_event,
};

static const struct stream_ops adc_ops = {
	.output = false,
	.sub = &adc_sub_ops,
	.init = adc_init,
	.fini = adc_fini,
	.idle = adc_idle,
	.quiet = adc_quiet,
};

/* ---- public calls --------------------------------------------------------- */

int iiofab_stream_open(struct iiofab_ctx *ctx, const struct iiofab_device *dev,
		       const char *const *channels, size_t block_size,
		       unsigned int block_count, struct iiofab_stream **out)
{
	return stream_open_named(ctx, dev, &adc_ops, channels, block_size,
				 block_count, out);
}

int iiofab_stream_open_mask(struct iiofab_ctx *ctx,
			    const struct iiofab_device *dev,
			    uint64_t channel_mask, size_t block_size,
			    unsigned int block_count,
			    struct iiofab_stream **out)
{
	return stream_open(ctx, dev, &adc_ops, channel_mask, block_size,
			   block_count, IIOFAB_WIRE_MODE_EXCLUSIVE, out);
}

int iiofab_stream_open_mode(struct iiofab_ctx *ctx,
			    const struct iiofab_device *dev,
			    uint64_t channel_mask, size_t block_size,
			    unsigned int block_count, enum iiofab_stream_mode mode,
			    struct iiofab_stream **out)
{
	*out = NULL;
	if ((unsigned int)mode > IIOFAB_STREAM_SHARD)
		return -EINVAL;
	return stream_open(ctx, dev, &adc_ops, channel_mask, block_size,
			   block_count, (uint8_t)mode, out);
}

static bool block_available(void *arg)
{
	const struct iiofab_stream *s = arg;

	return adc_of(s)->queue.count > 0 || s->err;
}

int iiofab_stream_next(struct iiofab_stream *s, int timeout_ms,
		       struct iiofab_block **out)
{
	struct adc *a;
	struct slot *sl;
	int ret;

	*out = NULL;
	if (s->ops != &adc_ops)
		return -EINVAL;
	a = adc_of(s);
	if (!a->queue.count) {
		if (s->err)
			return s->err;
		if (!s->started)
			return -EINVAL;
		ret = ctx_wait(s->ctx, timeout_ms, block_available, s);
		if (ret)
			return ret;
		if (!a->queue.count)
			return s->err ? s->err : -EAGAIN;
	}
	sl = &a->slots[index_ring_pop(&a->queue)];
	sl->state = SLOT_HELD;
	*out = &sl->blk;
	return 0;
}

int iiofab_block_release(struct iiofab_stream *s, struct iiofab_block *block)
{
	struct adc *a;
	struct slot *sl;
	ptrdiff_t idx;

	if (s->ops != &adc_ops || !block)
		return -EINVAL;
	a = adc_of(s);
	sl = (struct slot *)((char *)block - offsetof(struct slot, blk));
	idx = sl - a->slots;
	if (idx < 0 || idx >= (ptrdiff_t)s->block_count || sl->state != SLOT_HELD)
		return -EINVAL;
	if (s->mode == IIOFAB_WIRE_MODE_SHARD)
		add_release(a, &sl->ready);
	slot_free(a, (uint32_t)idx);
	/* Start the next READ now rather than at the next wait; a shard's
	 * RELEASE goes at once, as its credit depends on it. */
	if (!transport_error(s->ctx->xp)) {
		post_reads(s);
		if (s->mode == IIOFAB_WIRE_MODE_SHARD)
			flush_releases(s);
	}
	return 0;
}
