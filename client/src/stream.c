// SPDX-License-Identifier: MIT
/*
 * ADC streams: READY notifications become RDMA READs of the block into a
 * landing slot, followed on the same QP by a READ of the block's generation
 * word (RC executes them in order, so a generation that still matches READY
 * proves the block was not reclaimed while we read it).
 *
 * A verified block is released to the server at once, not when the
 * application releases it: its data already sits in our landing buffer, and
 * giving the board block back early keeps the converter's queue full. The
 * application's release only frees the landing slot. A slow application
 * therefore runs out of landing slots, READYs wait, the server reclaims the
 * oldest block and the gap shows up as lost samples, as the protocol wants.
 */
#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <iiofab/clock.h>

#include <iiofab/loss.h>
#include <iiofab/scan.h>

#include "ctx.h"
#include "stream.h"

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
};

struct pending {
	struct iiofab_wire_ready_entry e;
	uint64_t ready_ns;	/* when it was decoded (ctx_now_ns) */
	bool stale;	/* a newer READY for the same block arrived */
};

/* ---- notifications ------------------------------------------------------ */

/*
 * A READY never read because the server reclaimed its block first. The loss
 * accounting learns of it as a gap at the next delivered block: telling it
 * now would put it ahead of READs still in flight for older blocks.
 */
static void stale(struct iiofab_stream *s)
{
	s->stats.stale_blocks++;
	s->shed = true;
}

static void pend_push(struct iiofab_stream *s,
		      const struct iiofab_wire_ready_entry *e, uint64_t ready_ns)
{
	struct pending *p;

	for (unsigned int i = 0; i < s->pend_count; i++) {
		p = &s->pend[(s->pend_head + i) % s->pend_cap];
		if (!p->stale && p->e.block == e->block) {
			p->stale = true;
			s->shed = true;
		}
	}
	if (s->pend_count == s->pend_cap) {
		/* The oldest one is certainly reclaimed by now. */
		stale(s);
		s->pend_head = (s->pend_head + 1) % s->pend_cap;
		s->pend_count--;
	}
	p = &s->pend[(s->pend_head + s->pend_count) % s->pend_cap];
	p->e = *e;
	p->ready_ns = ready_ns;
	p->stale = false;
	s->pend_count++;
}

static struct iiofab_stream *stream_of(struct rpc_sub *sub)
{
	return (struct iiofab_stream *)((char *)sub -
					offsetof(struct iiofab_stream, sub));
}

static void on_ready(struct rpc_sub *sub, const struct iiofab_msg_ready *m)
{
	struct iiofab_stream *s = stream_of(sub);
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
				 s->pend_count, s->n_free);
		pend_push(s, e, now_ns);
	}
}

static void on_event(struct rpc_sub *sub,
		     const struct iiofab_msg_stream_event *ev)
{
	struct iiofab_stream *s = stream_of(sub);

	switch (ev->event) {
	case IIOFAB_WIRE_EVENT_UNDERRUN:
		/* A running total: a late report never lowers it. */
		if (ev->value > s->stats.underruns)
			s->stats.underruns = ev->value;
		break;
	case IIOFAB_WIRE_EVENT_STOPPED:
		iiofab_log_err(&s->ctx->log, "the server stopped the stream");
		if (!s->err)
			s->err = -EPIPE;
		break;
	case IIOFAB_WIRE_EVENT_KEEPALIVE:
		break;
	case IIOFAB_WIRE_EVENT_ERROR:
		iiofab_log_err(&s->ctx->log, "stream error on the server (%lld)",
			       (long long)(int64_t)ev->value);
		if (!s->err)
			s->err = -EIO;
		break;
	default:
		iiofab_log_debug(&s->ctx->log, "stream event %u value %llu",
				 ev->event, (unsigned long long)ev->value);
		break;
	}
}

static const struct rpc_sub_ops adc_sub_ops = {
	.ready = on_ready,
	.event = on_event,
};

static const struct rpc_sub_ops dac_sub_ops = {
	.free = dac_on_free,
	.event = on_event,
};

/* ---- data path ----------------------------------------------------------- */

static int post_read(struct iiofab_stream *s, uint32_t slot,
		     const struct iiofab_wire_ready_entry *e)
{
	struct ibv_sge data_sge = {
		.addr = (uintptr_t)(s->landing + (size_t)slot * s->block_size),
		.length = e->bytes_used,
		.lkey = s->landing_mr->lkey,
	};
	struct ibv_sge gen_sge = {
		.addr = (uintptr_t)&s->gens[slot],
		.length = sizeof(uint64_t),
		.lkey = s->gens_mr->lkey,
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

	s->gens[slot] = ~e->generation;
	return transport_post_send(s->ctx->xp, &data_wr, &s->slots[slot].op);
}

static void add_release(struct iiofab_stream *s,
			const struct iiofab_wire_ready_entry *e);

/*
 * After an overrun the server reclaims the oldest held block whenever the
 * converter runs dry, and reading blocks oldest first would then chase
 * blocks that die under the READ. So skip to the newest announced block and
 * give the older ones back unread: the converter gets them at once, the
 * newest block lives longest, and the skipped samples show up as a gap.
 */
static void skip_to_newest(struct iiofab_stream *s)
{
	while (s->pend_count > 1) {
		struct pending *p = &s->pend[s->pend_head];

		s->pend_head = (s->pend_head + 1) % s->pend_cap;
		s->pend_count--;
		if (p->stale) {
			s->stats.stale_blocks++;
			continue;
		}
		add_release(s, &p->e);
		s->stats.skipped_blocks++;
	}
}

static void post_reads(struct iiofab_stream *s)
{
	if (s->shed && !s->closing) {
		skip_to_newest(s);
		s->shed = false;
	}
	while (s->pend_count && s->n_free && s->rd_count < s->max_inflight &&
	       !s->closing) {
		struct pending *p = &s->pend[s->pend_head];
		struct slot *sl;
		uint32_t slot;

		s->pend_head = (s->pend_head + 1) % s->pend_cap;
		s->pend_count--;
		if (p->stale) {
			stale(s);
			continue;
		}
		slot = s->free_slots[--s->n_free];
		sl = &s->slots[slot];
		sl->ready = p->e;
		sl->ready_ns = p->ready_ns;
		sl->state = SLOT_READING;
		if (post_read(s, slot, &p->e)) {
			sl->state = SLOT_FREE;
			s->free_slots[s->n_free++] = slot;
			return;
		}
		s->reading[(s->rd_head + s->rd_count) % s->block_count] = slot;
		s->rd_count++;
	}
}

/* A batch leaves when a send slot is free; otherwise at a later turn. */
static void flush_releases(struct iiofab_stream *s)
{
	struct iiofab_msg_release *r = &s->rel_msg;
	unsigned int n;
	int ret;

	if (!s->n_rel)
		return;
	n = s->n_rel < IIOFAB_WIRE_MAX_RELEASE ? s->n_rel : IIOFAB_WIRE_MAX_RELEASE;
	r->stream_id = s->id;
	r->count = (uint16_t)n;
	memcpy(r->entries, s->rel, n * sizeof(*r->entries));
	ret = rpc_post_release(s->ctx->rpc, r);
	if (ret == -EAGAIN)
		return;
	if (ret) {
		if (!s->err)
			s->err = ret;
		return;
	}
	memmove(s->rel, s->rel + n, (s->n_rel - n) * sizeof(*s->rel));
	s->n_rel -= n;
	s->stats.releases_sent++;
}

static void stream_idle(struct transport_idle *idle)
{
	struct iiofab_stream *s = (struct iiofab_stream *)
		((char *)idle - offsetof(struct iiofab_stream, idle));

	if (s->output) {
		dac_on_idle(s);
		return;
	}
	post_reads(s);
	flush_releases(s);
}

static void slot_free(struct iiofab_stream *s, uint32_t slot)
{
	s->slots[slot].state = SLOT_FREE;
	s->free_slots[s->n_free++] = slot;
}

static void add_release(struct iiofab_stream *s,
			const struct iiofab_wire_ready_entry *e)
{
	if (s->n_rel == s->rel_cap) {
		/* Cannot happen while sends complete; if it did, the server
		 * reclaims the block itself. */
		memmove(s->rel, s->rel + 1, (s->n_rel - 1) * sizeof(*s->rel));
		s->n_rel--;
	}
	s->rel[s->n_rel].block = e->block;
	s->rel[s->n_rel].generation = e->generation;
	s->n_rel++;
}

static void stream_on_read_done(struct iiofab_stream *s, uint32_t slot)
{
	uint64_t landed_ns = iiofab_now_ns();
	struct slot *sl = &s->slots[slot];
	const struct iiofab_wire_ready_entry *e = &sl->ready;
	uint64_t samples, lost;

	if (!s->rd_count || s->reading[s->rd_head] != slot) {
		/* RC completes in order; anything else is a library bug. */
		iiofab_log_err(&s->ctx->log, "READ completion out of order");
		s->err = -EPROTO;
	} else {
		s->rd_head = (s->rd_head + 1) % s->block_count;
		s->rd_count--;
	}
	s->stats.reads++;
	if (iiofab_loss_block_scans(e->bytes_used, (uint16_t)s->scan_bytes,
				    &samples)) {
		iiofab_log_warn(&s->ctx->log,
			"block %u holds %u bytes, not whole scans", e->block,
			e->bytes_used);
		samples = e->bytes_used / s->scan_bytes;
	}
	if (s->gens[slot] != e->generation) {
		/* Reclaimed while we read: the data may be torn. */
		iiofab_log_debug(&s->ctx->log,
			"block %u seq %llu torn (generation %llu, expected %llu)",
			e->block, (unsigned long long)e->seq,
			(unsigned long long)s->gens[slot],
			(unsigned long long)e->generation);
		s->stats.torn_blocks++;
		s->shed = true;
		iiofab_loss_torn(&s->loss, e, samples);
		slot_free(s, slot);
		return;
	}
	add_release(s, e);
	if (s->closing) {
		slot_free(s, slot);
		return;
	}
	if (iiofab_loss_deliver(&s->loss, e, samples, &lost)) {
		iiofab_log_err(&s->ctx->log,
			"READY seq %llu at sample %llu goes backwards",
			(unsigned long long)e->seq,
			(unsigned long long)e->first_sample);
		s->err = -EPROTO;
		slot_free(s, slot);
		return;
	}
	sl->blk.data = s->landing + (size_t)slot * s->block_size;
	sl->blk.bytes = e->bytes_used;
	sl->blk.seq = e->seq;
	sl->blk.timestamp_ns = e->timestamp_ns;
	sl->blk.first_sample = e->first_sample;
	sl->blk.samples = (size_t)samples;
	sl->blk.lost_samples = lost;
	sl->blk.ready_ns = sl->ready_ns;
	sl->blk.landed_ns = landed_ns;
	s->stats.blocks++;
	s->stats.samples += samples;
	s->stats.bytes += e->bytes_used;
	s->stats.lost_samples += lost;
	sl->state = SLOT_QUEUED;
	s->queue[(s->q_head + s->q_count) % s->block_count] = slot;
	s->q_count++;
}

static void stream_on_read_error(struct iiofab_stream *s, uint32_t slot)
{
	if (s->rd_count && s->reading[s->rd_head] == slot) {
		s->rd_head = (s->rd_head + 1) % s->block_count;
		s->rd_count--;
	}
	slot_free(s, slot);
}

/* The READ pair's completion; a flushed one only gives the slot back. */
static void read_done(struct transport_op *op, int status)
{
	struct slot *sl = (struct slot *)op;
	struct iiofab_stream *s = sl->s;
	uint32_t slot = (uint32_t)(sl - s->slots);

	if (status)
		stream_on_read_error(s, slot);
	else
		stream_on_read_done(s, slot);
}

/* ---- open / start / close ---------------------------------------------- */

static void stream_free(struct iiofab_stream *s)
{
	transport_remove_idle(s->ctx->xp, &s->idle);
	rpc_unsubscribe(s->ctx->rpc, &s->sub);
	if (s->landing_mr)
		ibv_dereg_mr(s->landing_mr);
	if (s->gens_mr)
		ibv_dereg_mr(s->gens_mr);
	free(s->landing);
	free(s->gens);
	free(s->slots);
	free(s->free_slots);
	free(s->pend);
	free(s->reading);
	free(s->queue);
	free(s->rel);
	dac_free(s);
	free(s);
}

static int stream_alloc(struct iiofab_stream *s)
{
	struct iiofab_ctx *ctx = s->ctx;
	size_t landing_len = s->block_size * s->block_count;
	unsigned int n = s->block_count;

	if (posix_memalign((void **)&s->landing, 4096, landing_len))
		return -ENOMEM;
	if (posix_memalign((void **)&s->gens, 64, n * sizeof(uint64_t)))
		return -ENOMEM;
	/* Registration pins every page anyway. Defined contents also keep
	 * memory checkers quiet about bytes only the NIC writes. */
	memset(s->landing, 0, landing_len);
	memset(s->gens, 0, n * sizeof(uint64_t));
	s->slots = calloc(n, sizeof(*s->slots));
	s->free_slots = calloc(n, sizeof(*s->free_slots));
	s->pend_cap = 2 * n + IIOFAB_WIRE_MAX_READY;
	s->pend = calloc(s->pend_cap, sizeof(*s->pend));
	s->reading = calloc(n, sizeof(*s->reading));
	s->queue = calloc(n, sizeof(*s->queue));
	s->rel_cap = 2 * n;
	s->rel = calloc(s->rel_cap, sizeof(*s->rel));
	if (!s->slots || !s->free_slots || !s->pend || !s->reading ||
	    !s->queue || !s->rel)
		return -ENOMEM;
	for (unsigned int i = 0; i < n; i++) {
		s->slots[i].op.done = read_done;
		s->slots[i].s = s;
		s->free_slots[i] = n - 1 - i;
	}
	s->n_free = n;
	if (dac_alloc(s))
		return -ENOMEM;

	s->landing_mr = ibv_reg_mr(transport_pd(ctx->xp), s->landing, landing_len,
				   IBV_ACCESS_LOCAL_WRITE);
	if (!s->landing_mr) {
		int err = errno ? -errno : -ENOMEM;

		iiofab_log_err(&ctx->log,
			"cannot register a %zu-byte landing buffer: %s "
			"(RLIMIT_MEMLOCK?)", landing_len, iiofab_strerror(err));
		return err;
	}
	s->gens_mr = ibv_reg_mr(transport_pd(ctx->xp), s->gens, n * sizeof(uint64_t),
				IBV_ACCESS_LOCAL_WRITE);
	if (!s->gens_mr)
		return errno ? -errno : -ENOMEM;
	return 0;
}

static int take_stream_info(struct iiofab_stream *s,
			    const struct iiofab_msg_stream_info *si)
{
	if (si->block_count != s->block_count || si->block_size != s->block_size ||
	    !si->scan_bytes || si->n_channels == 0) {
		iiofab_log_err(&s->ctx->log,
			"STREAM_INFO does not match the request (%u x %u bytes)",
			si->block_count, si->block_size);
		return -EPROTO;
	}
	s->id = si->stream_id;
	s->scan_bytes = si->scan_bytes;
	iiofab_loss_init(&s->loss, 0);
	s->reg_path = si->reg_path;
	s->gen_addr = si->gen_addr;
	s->gen_rkey = si->gen_rkey;
	memcpy(s->remote, si->blocks, s->block_count * sizeof(s->remote[0]));
	struct iiofab_scan_elem elems[IIOFAB_WIRE_MAX_CHANNELS];

	for (unsigned int i = 0; i < si->n_channels; i++)
		elems[i] = (struct iiofab_scan_elem){ si->channels[i].storage_bits, 1 };
	if (iiofab_scan_layout(elems, si->n_channels, s->offsets) != (int)si->scan_bytes) {
		iiofab_log_err(&s->ctx->log,
			"STREAM_INFO: %u-byte scans do not fit its channels' formats",
			si->scan_bytes);
		return -EPROTO;
	}
	s->n_channels = 0;
	for (unsigned int i = 0; i < si->n_channels; i++) {
		const struct iiofab_channel *ch = NULL;

		for (unsigned int j = 0; j < s->dev->n_channels; j++)
			if (s->dev->channels[j].output == s->output &&
			    s->dev->channels[j].scan_index == si->channels[i].scan_index)
				ch = &s->dev->channels[j];
		if (ch)
			s->channels[s->n_channels++] = ch;
	}
	return 0;
}

static int close_remote(struct iiofab_stream *s)
{
	return rpc_call_stream_ctl(s->ctx->rpc, IIOFAB_MSG_CLOSE, s->id);
}

static int open_mask(struct iiofab_ctx *ctx, const struct iiofab_device *dev,
		     bool output, uint64_t channel_mask, size_t block_size,
		     unsigned int block_count, struct iiofab_stream **out)
{
	struct iiofab_stream *s;
	union iiofab_wire_msg *m = rpc_request_msg(ctx->rpc);
	struct rpc_reply r;
	long page = sysconf(_SC_PAGESIZE);
	int ret;

	*out = NULL;
	ret = transport_error(ctx->xp);
	if (ret)
		return ret;
	if (ctx->stream)
		return -EBUSY;
	if (!dev || dev->ctx != ctx)
		return -EINVAL;
	if (!channel_mask) {
		iiofab_log_err(&ctx->log, "no channel enabled");
		return -EINVAL;
	}
	if (block_size == 0 || block_size > UINT32_MAX ||
	    block_size % (size_t)page) {
		iiofab_log_err(&ctx->log,
			"block size %zu is not a non-zero multiple of the page size (%ld)",
			block_size, page);
		return -EINVAL;
	}
	if (block_count == 0 || block_count > CTL_MAX_BLOCKS) {
		iiofab_log_err(&ctx->log, "block count %u is not in 1..%u",
			block_count, CTL_MAX_BLOCKS);
		return -EINVAL;
	}
	s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	s->ctx = ctx;
	s->dev = dev;
	s->output = output;
	s->block_size = block_size;
	s->block_count = block_count;
	/* About 2 MiB in flight keeps the link busy; more only lengthens the
	 * time a block waits for its READ, and with it the chance that an
	 * overrun reclaims it first. */
	s->max_inflight = (unsigned int)((2u << 20) / block_size);
	if (s->max_inflight < 2)
		s->max_inflight = 2;
	if (s->max_inflight > block_count)
		s->max_inflight = block_count;
	ret = stream_alloc(s);
	if (ret)
		goto out_free_stream;

	memset(&m->open_stream, 0, sizeof(m->open_stream));
	m->open_stream.device = iiofab_wire_str(dev->id);
	m->open_stream.channel_mask = channel_mask;
	m->open_stream.block_size = (uint32_t)block_size;
	m->open_stream.block_count = block_count;
	m->open_stream.direction = output ? IIOFAB_WIRE_DIR_OUT : IIOFAB_WIRE_DIR_IN;
	m->open_stream.mode = IIOFAB_WIRE_MODE_EXCLUSIVE;
	ret = rpc_call(ctx->rpc, IIOFAB_MSG_OPEN_STREAM, m,
		       IIOFAB_MSG_STREAM_INFO, &r);
	if (ret < 0)
		goto out_free_stream;
	ret = take_stream_info(s, &r.msg->stream_info);
	rpc_reply_done(ctx->rpc, &r);
	if (ret)
		goto out_close_remote;
	s->sub.ops = output ? &dac_sub_ops : &adc_sub_ops;
	s->sub.stream_id = s->id;
	ret = rpc_subscribe(ctx->rpc, &s->sub);
	if (ret)
		goto out_close_remote;
	s->idle.run = stream_idle;
	transport_add_idle(ctx->xp, &s->idle);
	ctx->stream = s;
	*out = s;
	return 0;

out_close_remote:
	close_remote(s);
out_free_stream:
	stream_free(s);
	return ret;
}

int iiofab_stream_open_mask(struct iiofab_ctx *ctx,
			    const struct iiofab_device *dev,
			    uint64_t channel_mask, size_t block_size,
			    unsigned int block_count,
			    struct iiofab_stream **out)
{
	return open_mask(ctx, dev, false, channel_mask, block_size, block_count, out);
}

int iiofab_stream_open_output_mask(struct iiofab_ctx *ctx,
				   const struct iiofab_device *dev,
				   uint64_t channel_mask, size_t block_size,
				   unsigned int block_count,
				   struct iiofab_stream **out)
{
	return open_mask(ctx, dev, true, channel_mask, block_size, block_count, out);
}

static int open_named(struct iiofab_ctx *ctx, const struct iiofab_device *dev,
		      bool output, const char *const *channels,
		      size_t block_size, unsigned int block_count,
		      struct iiofab_stream **out)
{
	uint64_t mask = 0;
	int ret;

	*out = NULL;
	if (!dev)
		return -EINVAL;
	ret = iiofab_device_get_channel_mask(dev, output, channels, &mask);
	if (ret < 0 && channels) {
		for (unsigned int i = 0; channels[i]; i++) {
			const struct iiofab_channel *ch =
				iiofab_device_find_channel(dev, channels[i], output);

			if (!ch)
				iiofab_log_err(&ctx->log,
					"device %s has no %s channel '%s'", dev->id,
					output ? "output" : "input", channels[i]);
			else if (ch->scan_index < 0)
				iiofab_log_err(&ctx->log,
					"channel '%s' cannot be streamed", channels[i]);
		}
	}
	if (ret < 0 && channels)
		return ret;
	return open_mask(ctx, dev, output, mask, block_size, block_count, out);
}

int iiofab_stream_open(struct iiofab_ctx *ctx, const struct iiofab_device *dev,
		       const char *const *channels, size_t block_size,
		       unsigned int block_count, struct iiofab_stream **out)
{
	return open_named(ctx, dev, false, channels, block_size, block_count, out);
}

int iiofab_stream_open_output(struct iiofab_ctx *ctx,
			      const struct iiofab_device *dev,
			      const char *const *channels, size_t block_size,
			      unsigned int block_count,
			      struct iiofab_stream **out)
{
	return open_named(ctx, dev, true, channels, block_size, block_count, out);
}

int iiofab_stream_start(struct iiofab_stream *s)
{
	int ret;

	if (s->err)
		return s->err;
	if (s->started)
		return 0;
	ret = rpc_call_stream_ctl(s->ctx->rpc, IIOFAB_MSG_START, s->id);
	if (!ret)
		s->started = true;
	return ret;
}

/* No RDMA operation of the stream is outstanding. */
static bool stream_quiet(void *arg)
{
	const struct iiofab_stream *s = arg;

	return s->rd_count == 0 && s->writes_pending == 0;
}

void iiofab_stream_close(struct iiofab_stream *s)
{
	struct iiofab_ctx *ctx;

	if (!s)
		return;
	ctx = s->ctx;
	/* Every submitted sample reaches the converter before the stop. */
	if (s->output && s->started && !transport_error(ctx->xp) && !s->err) {
		int ret = dac_drain(s, -1);

		if (ret)
			iiofab_log_err(&ctx->log,
				       "closing with %u submitted block(s) not consumed: %s",
				       s->in_flight, iiofab_strerror(ret));
	}
	s->closing = true;
	/* No READ may still target the landing buffer when it is freed, and
	 * the server's MR must outlive our READs: drain before CLOSE. */
	if (!transport_error(ctx->xp) && !stream_quiet(s) &&
	    transport_progress(ctx->xp, ctx_deadline(ctx, -1), stream_quiet, s))
		transport_fail(ctx->xp, -ETIMEDOUT,
			       "RDMA operations of the stream did not complete");
	if (!transport_error(ctx->xp)) {
		if (s->started)
			rpc_call_stream_ctl(ctx->rpc, IIOFAB_MSG_STOP, s->id);
		if (!transport_error(ctx->xp))
			close_remote(s);
	}
	/* The connection is gone: flush what is still posted, so every
	 * operation's owner has cleaned up before the memory goes. */
	if (transport_error(ctx->xp))
		transport_flush(ctx->xp);
	ctx->stream = NULL;
	stream_free(s);
}

/* ---- consuming ------------------------------------------------------------ */

static bool block_available(void *arg)
{
	const struct iiofab_stream *s = arg;

	return s->q_count > 0 || s->err;
}

int iiofab_stream_next(struct iiofab_stream *s, int timeout_ms,
		       struct iiofab_block **out)
{
	struct slot *sl;
	int ret;

	*out = NULL;
	if (s->output)
		return -EINVAL;
	if (!s->q_count) {
		if (s->err)
			return s->err;
		if (!s->started)
			return -EINVAL;
		ret = transport_progress(s->ctx->xp,
					 ctx_deadline(s->ctx, timeout_ms),
					 block_available, s);
		if (ret)
			return ret;
		if (!s->q_count)
			return s->err ? s->err : -EAGAIN;
	}
	sl = &s->slots[s->queue[s->q_head]];
	s->q_head = (s->q_head + 1) % s->block_count;
	s->q_count--;
	sl->state = SLOT_HELD;
	*out = &sl->blk;
	return 0;
}

int iiofab_block_release(struct iiofab_stream *s, struct iiofab_block *block)
{
	struct slot *sl = (struct slot *)((char *)block - offsetof(struct slot, blk));
	ptrdiff_t idx = sl - s->slots;

	if (idx < 0 || idx >= (ptrdiff_t)s->block_count || sl->state != SLOT_HELD)
		return -EINVAL;
	slot_free(s, (uint32_t)idx);
	/* Start the next READ now rather than at the next wait. */
	if (!transport_error(s->ctx->xp) && !s->closing)
		post_reads(s);
	return 0;
}

int iiofab_stream_fd(const struct iiofab_stream *s)
{
	return transport_fd(s->ctx->xp);
}

size_t iiofab_stream_get_scan_bytes(const struct iiofab_stream *s)
{
	return s->scan_bytes;
}

size_t iiofab_stream_get_block_size(const struct iiofab_stream *s)
{
	return s->block_size;
}

unsigned int iiofab_stream_get_block_count(const struct iiofab_stream *s)
{
	return s->block_count;
}

unsigned int iiofab_stream_get_channels_count(const struct iiofab_stream *s)
{
	return s->n_channels;
}

const struct iiofab_channel *
iiofab_stream_get_channel(const struct iiofab_stream *s, unsigned int index)
{
	return index < s->n_channels ? s->channels[index] : NULL;
}

size_t iiofab_stream_get_channel_offset(const struct iiofab_stream *s,
					unsigned int index)
{
	return index < s->n_channels ? s->offsets[index] : 0;
}

const char *iiofab_stream_get_reg_path(const struct iiofab_stream *s)
{
	return iiofab_wire_reg_path_name(s->reg_path);
}

int iiofab_stream_stats(const struct iiofab_stream *s,
			struct iiofab_stream_stats *stats)
{
	*stats = s->stats;
	return 0;
}
