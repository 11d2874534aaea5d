// SPDX-License-Identifier: MIT
/*
 * DAC streams: the server grants board blocks with FREE; the application
 * fills the matching slot of our registered source buffer; submit RDMA
 * WRITEs the slot into the board block and tells the server with SUBMIT,
 * posted after the WRITE on the same QP (RC places the WRITE's data before
 * the server sees the SEND). The block comes back as a new FREE once the
 * converter consumed it, so a credit in hand also proves that its slot's
 * previous WRITE is complete.
 *
 * SUBMIT entries go out at once when a send slot is free; otherwise they
 * gather and leave as one message when the next send completes.
 */
#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "ctx.h"
#include "stream.h"

struct dac_write {
	struct transport_op op;
	struct iiofab_stream *s;
	bool pending;
};

static void write_done(struct transport_op *op, int status)
{
	struct dac_write *w = (struct dac_write *)op;

	w->pending = false;
	w->s->writes_pending--;
}

int dac_alloc(struct iiofab_stream *s)
{
	s->cyclic_blk = -1;
	s->dac_owner = calloc(s->block_count, sizeof(*s->dac_owner));
	s->sub_q = calloc(s->block_count, sizeof(*s->sub_q));
	s->writes = calloc(s->block_count, sizeof(*s->writes));
	if (!s->dac_owner || !s->sub_q || !s->writes)
		return -ENOMEM;
	for (unsigned int i = 0; i < s->block_count; i++)
		s->writes[i] = (struct dac_write){ .op.done = write_done, .s = s };
	return 0;
}

void dac_free(struct iiofab_stream *s)
{
	free(s->dac_owner);
	free(s->sub_q);
	free(s->writes);
}

void dac_on_free(struct rpc_sub *sub, const struct iiofab_msg_free *m)
{
	struct iiofab_stream *s = (struct iiofab_stream *)
		((char *)sub - offsetof(struct iiofab_stream, sub));

	for (unsigned int i = 0; i < m->count; i++) {
		uint32_t b = m->blocks[i];

		if (b >= s->block_count ||
		    (s->dac_owner[b] != DAC_NONE && s->dac_owner[b] != DAC_SUBMITTED)) {
			iiofab_log_warn(&s->ctx->log,
					"FREE for block %u, which the server does not own",
					b);
			continue;
		}
		if (s->dac_owner[b] == DAC_SUBMITTED) {
			s->in_flight--;
			s->consumed++;
			s->stats.consumed_blocks++;
		}
		if ((int)b == s->cyclic_blk)
			s->cyclic_blk = -1;
		s->dac_owner[b] = DAC_CREDIT;
		s->queue[(s->q_head + s->q_count) % s->block_count] = b;
		s->q_count++;
	}
}

/* The batch leaves when a send slot is free; otherwise at a later turn. */
static void flush_submits(struct iiofab_stream *s)
{
	struct iiofab_msg_submit *m = &s->sub_msg;
	int ret;

	if (!s->n_sub)
		return;
	m->stream_id = s->id;
	m->count = (uint16_t)s->n_sub;
	memcpy(m->entries, s->sub_q, s->n_sub * sizeof(*s->sub_q));
	ret = rpc_post_submit(s->ctx->rpc, m);
	if (ret == -EAGAIN)
		return;
	if (ret) {
		if (!s->err)
			s->err = ret;
		return;
	}
	s->n_sub = 0;
	s->stats.submits_sent++;
}

void dac_on_idle(struct iiofab_stream *s)
{
	flush_submits(s);
}

static bool credit_available(void *arg)
{
	const struct iiofab_stream *s = arg;

	return s->q_count > 0 || s->err;
}

int iiofab_stream_get_free(struct iiofab_stream *s, int timeout_ms, void **data)
{
	uint32_t b;
	int ret;

	*data = NULL;
	if (!s->output || !s->started)
		return -EINVAL;
	if (!s->q_count) {
		if (s->err)
			return s->err;
		ret = transport_progress(s->ctx->xp,
					 ctx_deadline(s->ctx, timeout_ms),
					 credit_available, s);
		if (ret)
			return ret;
		if (!s->q_count)
			return s->err ? s->err : -EAGAIN;
	}
	b = s->queue[s->q_head];
	s->q_head = (s->q_head + 1) % s->block_count;
	s->q_count--;
	s->dac_owner[b] = DAC_APP;
	*data = s->landing + (size_t)b * s->block_size;
	return (int)b;
}

int iiofab_stream_submit(struct iiofab_stream *s, int block, size_t bytes,
			 unsigned int flags)
{
	struct ibv_sge sge;
	struct ibv_send_wr wr;
	int ret;

	if (!s->output || block < 0 || (unsigned int)block >= s->block_count ||
	    s->dac_owner[block] != DAC_APP)
		return -EINVAL;
	if (!bytes || bytes > s->block_size || bytes % s->scan_bytes ||
	    (flags & ~IIOFAB_SUBMIT_CYCLIC)) {
		iiofab_log_err(&s->ctx->log,
			"submit of %zu bytes (flags 0x%x): need 1..%zu whole scans of %zu bytes",
			bytes, flags, s->block_size / s->scan_bytes, s->scan_bytes);
		return -EINVAL;
	}
	if (s->err)
		return s->err;
	sge = (struct ibv_sge){
		.addr = (uintptr_t)(s->landing + (size_t)block * s->block_size),
		.length = (uint32_t)bytes,
		.lkey = s->landing_mr->lkey,
	};
	wr = (struct ibv_send_wr){
		.sg_list = &sge,
		.num_sge = 1,
		.opcode = IBV_WR_RDMA_WRITE,
		.wr.rdma = {
			.remote_addr = s->remote[block].addr,
			.rkey = s->remote[block].rkey,
		},
	};
	ret = transport_post_send(s->ctx->xp, &wr, &s->writes[block].op);
	if (ret)
		return ret;
	s->writes[block].pending = true;
	s->writes_pending++;
	s->dac_owner[block] = DAC_SUBMITTED;
	s->in_flight++;
	if (flags & IIOFAB_SUBMIT_CYCLIC)
		s->cyclic_blk = block;
	s->sub_q[s->n_sub++] = (struct iiofab_wire_submit_entry){
		.block = (uint32_t)block,
		.bytes_used = (uint32_t)bytes,
		.flags = flags & IIOFAB_SUBMIT_CYCLIC ? IIOFAB_WIRE_SUBMIT_CYCLIC : 0,
	};
	s->stats.blocks++;
	s->stats.bytes += bytes;
	s->stats.samples += bytes / s->scan_bytes;
	flush_submits(s);
	return 0;
}

struct drain_wait {
	struct iiofab_stream *s;
	uint64_t consumed;	/* at the start of this wait */
};

static bool drained(const struct iiofab_stream *s)
{
	return s->in_flight <= (s->cyclic_blk >= 0 ? 1u : 0u) && !s->n_sub;
}

static bool drained_or_moved(void *arg)
{
	const struct drain_wait *w = arg;

	return drained(w->s) || w->s->consumed != w->consumed || w->s->err;
}

/*
 * How long the converter needs for what is queued is unknown here, so the
 * timeout bounds the wait for each next block, not the whole drain: a
 * slow converter still drains, a dead one fails within one timeout.
 */
int dac_drain(struct iiofab_stream *s, int timeout_ms)
{
	while (!drained(s)) {
		struct drain_wait w = { .s = s, .consumed = s->consumed };
		int ret;

		if (s->err)
			return s->err;
		ret = transport_progress(s->ctx->xp,
					 ctx_deadline(s->ctx, timeout_ms),
					 drained_or_moved, &w);
		if (ret)
			return ret == -EAGAIN ? -ETIMEDOUT : ret;
		if (s->consumed == w.consumed && !drained(s) && !s->err)
			return -ETIMEDOUT;
	}
	return s->err;
}

int iiofab_stream_drain(struct iiofab_stream *s, int timeout_ms)
{
	if (!s->output)
		return -EINVAL;
	if (!s->started)
		return 0;
	return dac_drain(s, timeout_ms);
}
