// SPDX-License-Identifier: MIT
/*
 * Output (DAC) streams: the server grants board blocks with FREE; the
 * application fills the matching slot of our registered landing buffer;
 * submit RDMA WRITEs the slot into the board block and tells the server
 * with SUBMIT, posted after the WRITE on the same QP (RC places the
 * WRITE's data before the server sees the SEND). The block comes back as a
 * new FREE once the converter consumed it, so a credit in hand also proves
 * that its slot's previous WRITE reached the board.
 *
 * SUBMIT entries go out at once when a send slot is free; otherwise they
 * gather and leave as one message when the next send completes. Before the
 * first SUBMIT leaves they are held until the prefill is reached, so that
 * the converter, enabled by that SUBMIT, starts with that many blocks
 * already on the board instead of one block ahead of the link.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "ctx.h"
#include "stream.h"

enum dac_owner {
	DAC_NONE,	/* not granted yet (before START) */
	DAC_CREDIT,	/* granted, waiting for iiofab_stream_get_free() */
	DAC_APP,	/* handed to the application */
	DAC_SUBMITTED,	/* written and submitted, the converter has it */
};

struct dac_block {
	struct transport_op write;	/* the WRITE of this block */
	struct iiofab_stream *s;
	enum dac_owner owner;
	bool writing;			/* its WRITE has not completed yet */
	bool unsent;			/* its SUBMIT entry has not left yet */
};

struct dac {
	struct dac_block *blocks;
	struct index_ring credits;	/* granted, not yet handed out */
	unsigned int in_flight;		/* submitted, credit not yet back */
	unsigned int writes_pending;
	int cyclic_blk;			/* the repeating block, or -1 */
	struct iiofab_wire_submit_entry *sub_q;	/* not yet in a SUBMIT */
	unsigned int n_sub;
	uint64_t consumed;		/* credits returned after a submit */
	unsigned int prefill;		/* entries held back until the first SUBMIT */
	struct iiofab_msg_submit sub_msg;	/* encode scratch */
};

static const struct stream_ops dac_ops;

static struct dac *dac_of(const struct iiofab_stream *s)
{
	return s->dir;
}

static void dac_on_free(struct rpc_sub *sub, const struct iiofab_msg_free *m)
{
	struct iiofab_stream *s = stream_of_sub(sub);
	struct dac *d = dac_of(s);

	for (unsigned int i = 0; i < m->count; i++) {
		uint32_t b = m->blocks[i];
		struct dac_block *blk;

		/* A block the server has not been told of is not its to give
		 * back: a FREE for it would let its SUBMIT entry be queued twice. */
		if (b >= s->block_count ||
		    (d->blocks[b].owner != DAC_NONE &&
		     d->blocks[b].owner != DAC_SUBMITTED) || d->blocks[b].unsent) {
			iiofab_log_warn(&s->ctx->log,
					"FREE for block %u, which the server does not own",
					b);
			continue;
		}
		blk = &d->blocks[b];
		if (blk->owner == DAC_SUBMITTED) {
			d->in_flight--;
			d->consumed++;
			s->stats.consumed_blocks++;
		}
		if ((int)b == d->cyclic_blk)
			d->cyclic_blk = -1;
		blk->owner = DAC_CREDIT;
		index_ring_push(&d->credits, b);
	}
}

/* The batch leaves when a send slot is free; otherwise at a later turn. */
static void flush_submits(struct iiofab_stream *s)
{
	struct dac *d = dac_of(s);
	struct iiofab_msg_submit *m = &d->sub_msg;
	int ret;

	if (!d->n_sub || d->n_sub < d->prefill)
		return;
	m->stream_id = s->id;
	m->count = (uint16_t)d->n_sub;
	memcpy(m->entries, d->sub_q, d->n_sub * sizeof(*d->sub_q));
	ret = rpc_post_submit(s->ctx->rpc, m);
	if (ret == -EAGAIN)
		return;
	if (ret) {
		if (!s->err)
			s->err = ret;
		return;
	}
	for (unsigned int i = 0; i < d->n_sub; i++)
		d->blocks[d->sub_q[i].block].unsent = false;
	d->n_sub = 0;
	d->prefill = 0;
	s->stats.submits_sent++;
}

/* The prefill ends early when waiting for it could only stall: nothing
 * more can be submitted (no credit in hand, a drain, a close) or the
 * application asked for a waveform, which starts at once. */
static void end_prefill(struct iiofab_stream *s)
{
	dac_of(s)->prefill = 0;
	flush_submits(s);
}

static void write_done(struct transport_op *op, int status)
{
	struct dac_block *blk = (struct dac_block *)op;

	blk->writing = false;
	dac_of(blk->s)->writes_pending--;
}

static int post_write(struct iiofab_stream *s, int block, size_t bytes)
{
	struct dac_block *blk = &dac_of(s)->blocks[block];
	struct ibv_sge sge = {
		.addr = (uintptr_t)stream_slot(s, (unsigned int)block),
		.length = (uint32_t)bytes,
		.lkey = s->landing_mr->lkey,
	};
	struct ibv_send_wr wr = {
		.sg_list = &sge,
		.num_sge = 1,
		.opcode = IBV_WR_RDMA_WRITE,
		.wr.rdma = {
			.remote_addr = s->remote[block].addr,
			.rkey = s->remote[block].rkey,
		},
	};
	int ret = transport_post_send(s->ctx->xp, &wr, &blk->write);

	if (ret)
		return ret;
	blk->writing = true;
	dac_of(s)->writes_pending++;
	return 0;
}

static bool write_finished(void *arg)
{
	const struct dac_block *blk = arg;

	return !blk->writing;
}

/*
 * A credit comes back only after the server saw the SUBMIT behind the
 * block's last WRITE, but that WRITE's own completion may not have been
 * reaped yet: its completion object must be free before it is reused.
 */
static int wait_write(struct iiofab_stream *s, struct dac_block *blk)
{
	if (!blk->writing)
		return 0;
	return ctx_wait(s->ctx, -1, write_finished, blk);
}

/* ---- draining ------------------------------------------------------------- */

struct drain_wait {
	struct iiofab_stream *s;
	uint64_t consumed;	/* at the start of this wait */
};

static bool drained(const struct iiofab_stream *s)
{
	const struct dac *d = dac_of(s);

	return d->in_flight <= (d->cyclic_blk >= 0 ? 1u : 0u) && !d->n_sub;
}

static bool drained_or_moved(void *arg)
{
	const struct drain_wait *w = arg;

	return drained(w->s) || dac_of(w->s)->consumed != w->consumed ||
	       w->s->err;
}

/*
 * How long the converter needs for what is queued is unknown here, so the
 * timeout bounds the wait for each next block, not the whole drain, and
 * counts the server's silence: a slow converter or a lossy link still
 * drains, a dead server fails it within one timeout.
 */
static int drain(struct iiofab_stream *s, int timeout_ms)
{
	end_prefill(s);
	while (!drained(s)) {
		struct drain_wait w = { .s = s, .consumed = dac_of(s)->consumed };
		int ret;

		if (s->err)
			return s->err;
		ret = transport_progress_alive(s->ctx->xp, timeout_ms < 0 ?
					       s->ctx->op_timeout_ms : (unsigned int)timeout_ms,
					       drained_or_moved, &w);
		if (ret)
			return ret == -EAGAIN ? -ETIMEDOUT : ret;
	}
	return s->err;
}

/* Before STOP: every submitted sample reaches the converter. */
static void dac_close_drain(struct iiofab_stream *s)
{
	int ret;

	if (s->err)
		return;
	ret = drain(s, -1);
	if (ret)
		iiofab_log_err(&s->ctx->log,
			       "closing with %u submitted block(s) not consumed: %s",
			       dac_of(s)->in_flight, iiofab_strerror(ret));
}

/* ---- life cycle ----------------------------------------------------------- */

static int dac_init(struct iiofab_stream *s)
{
	unsigned int n = s->block_count;
	struct dac *d = calloc(1, sizeof(*d));

	if (!d)
		return -ENOMEM;
	s->dir = d;
	d->cyclic_blk = -1;
	d->prefill = 1;
	d->blocks = calloc(n, sizeof(*d->blocks));
	d->credits = (struct index_ring){ .v = calloc(n, sizeof(uint32_t)), .cap = n };
	d->sub_q = calloc(n, sizeof(*d->sub_q));
	if (!d->blocks || !d->credits.v || !d->sub_q)
		return -ENOMEM;
	for (unsigned int i = 0; i < n; i++)
		d->blocks[i] = (struct dac_block){ .write.done = write_done, .s = s };
	return 0;
}

static void dac_fini(struct iiofab_stream *s)
{
	struct dac *d = dac_of(s);

	if (!d)
		return;
	free(d->blocks);
	free(d->credits.v);
	free(d->sub_q);
	free(d);
	s->dir = NULL;
}

static void dac_idle(struct iiofab_stream *s)
{
	flush_submits(s);
}

static bool dac_quiet(const struct iiofab_stream *s)
{
	return dac_of(s)->writes_pending == 0;
}

static const struct rpc_sub_ops dac_sub_ops = {
	.free = dac_on_free,
	.event = stream_on_event,
};

static const struct stream_ops dac_ops = {
	.output = true,
	.sub = &dac_sub_ops,
	.init = dac_init,
	.fini = dac_fini,
	.idle = dac_idle,
	.drain = dac_close_drain,
	.quiet = dac_quiet,
};

/* ---- public calls --------------------------------------------------------- */

int iiofab_stream_open_output(struct iiofab_ctx *ctx,
			      const struct iiofab_device *dev,
			      const char *const *channels, size_t block_size,
			      unsigned int block_count,
			      struct iiofab_stream **out)
{
	return stream_open_named(ctx, dev, &dac_ops, channels, block_size,
				 block_count, out);
}

int iiofab_stream_open_output_mask(struct iiofab_ctx *ctx,
				   const struct iiofab_device *dev,
				   uint64_t channel_mask, size_t block_size,
				   unsigned int block_count,
				   struct iiofab_stream **out)
{
	return stream_open(ctx, dev, &dac_ops, channel_mask, block_size,
			   block_count, IIOFAB_WIRE_MODE_EXCLUSIVE, out);
}

static bool credit_available(void *arg)
{
	const struct iiofab_stream *s = arg;

	return dac_of(s)->credits.count > 0 || s->err;
}

int iiofab_stream_get_free(struct iiofab_stream *s, int timeout_ms, void **data)
{
	struct dac *d;
	uint32_t b;
	int ret;

	*data = NULL;
	if (s->ops != &dac_ops || !s->started)
		return -EINVAL;
	d = dac_of(s);
	/* A credit is worthless once the connection is gone: say so. */
	ret = transport_error(s->ctx->xp);
	if (ret)
		return ret;
	if (!d->credits.count) {
		if (s->err)
			return s->err;
		end_prefill(s);
		ret = ctx_wait(s->ctx, timeout_ms, credit_available, s);
		if (ret)
			return ret;
		if (!d->credits.count)
			return s->err ? s->err : -EAGAIN;
	}
	b = index_ring_pop(&d->credits);
	d->blocks[b].owner = DAC_APP;
	*data = stream_slot(s, b);
	return (int)b;
}

int iiofab_stream_submit(struct iiofab_stream *s, int block, size_t bytes,
			 unsigned int flags)
{
	struct dac *d;
	int ret;

	if (s->ops != &dac_ops || block < 0 ||
	    (unsigned int)block >= s->block_count ||
	    dac_of(s)->blocks[block].owner != DAC_APP)
		return -EINVAL;
	d = dac_of(s);
	if (!bytes || bytes > s->block_size || bytes % s->scan_bytes ||
	    (flags & ~IIOFAB_SUBMIT_CYCLIC)) {
		iiofab_log_err(&s->ctx->log,
			       "submit of %zu bytes (flags 0x%x): need 1..%zu whole scans of %zu bytes",
			       bytes, flags, s->block_size / s->scan_bytes,
			       s->scan_bytes);
		return -EINVAL;
	}
	if (s->err)
		return s->err;
	ret = transport_error(s->ctx->xp);
	if (ret)
		return ret;
	ret = wait_write(s, &d->blocks[block]);
	if (!ret)
		ret = post_write(s, block, bytes);
	if (ret)
		return ret;
	d->blocks[block].owner = DAC_SUBMITTED;
	d->blocks[block].unsent = true;
	d->in_flight++;
	if (flags & IIOFAB_SUBMIT_CYCLIC)
		d->cyclic_blk = block;
	d->sub_q[d->n_sub++] = (struct iiofab_wire_submit_entry){
		.block = (uint32_t)block,
		.bytes_used = (uint32_t)bytes,
		.flags = flags & IIOFAB_SUBMIT_CYCLIC ? IIOFAB_WIRE_SUBMIT_CYCLIC : 0,
	};
	s->stats.blocks++;
	s->stats.bytes += bytes;
	s->stats.samples += bytes / s->scan_bytes;
	if (flags & IIOFAB_SUBMIT_CYCLIC)
		end_prefill(s);
	else
		flush_submits(s);
	return 0;
}

int iiofab_stream_set_prefill(struct iiofab_stream *s, unsigned int blocks)
{
	if (s->ops != &dac_ops || !blocks || blocks > s->block_count)
		return -EINVAL;
	if (s->stats.submits_sent)
		return -EBUSY;
	dac_of(s)->prefill = blocks;
	return 0;
}

int iiofab_stream_drain(struct iiofab_stream *s, int timeout_ms)
{
	int ret;

	if (s->ops != &dac_ops)
		return -EINVAL;
	ret = transport_error(s->ctx->xp);
	if (ret || !s->started)
		return ret;
	return drain(s, timeout_ms);
}
