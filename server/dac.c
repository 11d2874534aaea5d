// SPDX-License-Identifier: MIT
/*
 * DAC streams: blocks cycle between the client and IIO.
 *
 * A block is HELD while the client owns it (granted by a FREE credit; the
 * client RDMA WRITEs samples into it), QUEUED once a SUBMIT handed it to IIO,
 * and IDLE while the stream is stopped. Its fence signalling means the
 * converter consumed it, and it goes straight back to the client as a new
 * credit. The board CPU never touches a sample.
 *
 * The buffer is enabled at the first submit after START, not at START:
 * enabled with nothing queued, the converter would count underruns while the
 * client is still writing its first block.
 */
#include <errno.h>
#include <poll.h>
#include <string.h>

#include <iiofab/uapi.h>

#include "srv.h"
#include "srv_arena.h"
#include "srv_loop.h"

/*
 * Reports underruns that grew since the last report. Called only while a
 * block is queued (or was just queued behind a dry spell): after the last
 * block of a finished stream the converter runs dry by design, and that
 * tail is not the client's underrun.
 */
static void check_underruns(struct srv_stream *st)
{
	uint64_t now;

	if (!st->has_underruns || !srv_stream_read_counter(st, &now) || now < st->underruns_base)
		return;
	now -= st->underruns_base;
	if (now <= st->underruns)
		return;
	st->srv->stats.dac_underruns += now - st->underruns;
	st->underruns = now;
	srv_dbg(&st->srv->log, "stream %u: %llu underrun scan(s) so far", st->id,
		(unsigned long long)now);
	srv_stream_event(st, IIOFAB_WIRE_EVENT_UNDERRUN, now);
}

static void grant(struct srv_stream *st, struct srv_block *blk)
{
	blk->state = SRV_BLK_HELD;
	blk->cyclic = false;
	for (struct srv_sub *sub = st->subs; sub; sub = sub->st_next) {
		unsigned int at = (sub->p_head + sub->p_len) % st->count;

		/* A block is granted at most once per cycle: count slots suffice. */
		if (sub->p_len == st->count)
			return;
		sub->pending[at] = blk->idx;
		sub->p_len++;
		srv_sub_flush(sub);
	}
}

int srv_dac_encode_free(struct srv_sub *sub, void *buf)
{
	struct srv_stream *st = sub->st;
	struct iiofab_msg_free m = { .stream_id = st->id };

	while (sub->p_len && m.count < IIOFAB_WIRE_MAX_FREE) {
		m.blocks[m.count++] = sub->pending[sub->p_head];
		sub->p_head = (sub->p_head + 1) % st->count;
		sub->p_len--;
	}
	return m.count ? iiofab_wire_encode_free(buf, SRV_CTRL_SIZE, 0, &m) : 0;
}

void srv_dac_start(struct srv_stream *st)
{
	for (unsigned int i = 0; i < st->count; i++)
		if (st->blocks[i].state == SRV_BLK_IDLE)
			grant(st, &st->blocks[i]);
}

void srv_dac_block_done(struct srv_watch *w, int res)
{
	struct srv_block *blk = w->ctx;
	struct srv_stream *st = blk->st;
	struct srv *srv = st->srv;

	if (blk->state != SRV_BLK_QUEUED)
		return;
	st->queued--;
	if (res < 0 || !(res & POLLOUT))
		srv_warn(&srv->log, "stream %u: poll on block %u: %d", st->id, blk->idx, res);
	if (!st->started) {
		blk->state = SRV_BLK_IDLE;
		return;
	}
	/* Flushed by a STOP that a START has already overtaken: not consumed. */
	if (blk->epoch == st->epoch)
		srv->stats.dac_blocks_consumed++;
	if (st->queued)
		check_underruns(st);
	grant(st, blk);
}

static int dac_enable(struct srv_stream *st)
{
	int err = srv_iio_buffer_enable(st->dev, true);

	if (err < 0)
		return err;
	st->enabled = true;
	/* Drivers reset the count on enable, or keep counting: a base covers both. */
	st->has_underruns = srv_stream_read_counter(st, &st->underruns_base);
	st->underruns = 0;
	return 0;
}

static int dac_enqueue(struct srv_stream *st, struct srv_block *blk,
		       const struct iiofab_wire_submit_entry *e)
{
	struct srv *srv = st->srv;
	bool cyclic = e->flags & IIOFAB_WIRE_SUBMIT_CYCLIC;
	bool was_dry = st->enabled && !st->queued;
	int err;

	err = srv_arena_enqueue(st->arena, blk->idx, e->bytes_used,
				cyclic ? IIO_BUFFER_DMABUF_CYCLIC : 0);
	if (err < 0) {
		srv_err(&srv->log, "stream %u: enqueue of block %u failed: %s",
			st->id, blk->idx, strerror(-err));
		/* The client keeps the block: it can submit it again. */
		srv_stream_event(st, IIOFAB_WIRE_EVENT_ERROR, (uint64_t)-err);
		return err;
	}
	blk->state = SRV_BLK_QUEUED;
	blk->bytes_used = e->bytes_used;
	blk->cyclic = cyclic;
	blk->epoch = st->epoch;
	blk->enq_seq = ++st->enq_counter;
	st->queued++;
	srv->stats.dac_blocks_submitted++;
	srv->stats.dac_bytes_submitted += e->bytes_used;
	srv->stats.dac_cyclic_submits += cyclic;
	err = srv_watch_arm(srv->loop, blk->watch);
	if (err < 0)
		srv_err(&srv->log, "stream %u: cannot watch block %u: %s",
			st->id, blk->idx, strerror(-err));
	if (!st->enabled) {
		err = dac_enable(st);
		if (err < 0) {
			srv_err(&srv->log, "stream %u: cannot enable the buffer: %s",
				st->id, strerror(-err));
			srv_stream_event(st, IIOFAB_WIRE_EVENT_ERROR, (uint64_t)-err);
		}
	} else if (was_dry) {
		/* The dry spell ends here; count it now in case no block follows. */
		check_underruns(st);
	}
	return err;
}

/*
 * Validates the whole SUBMIT before acting on any entry, so a refused one
 * changes nothing.
 */
static int submit_check(struct srv_client *cl, uint32_t req_id,
			const struct srv_stream *st,
			const struct iiofab_msg_submit *m)
{
	for (unsigned int i = 0; i < m->count; i++) {
		const struct iiofab_wire_submit_entry *e = &m->entries[i];

		if (e->block >= st->count) {
			srv_client_send_error(cl, req_id, -ERANGE,
					      "block %u out of range (stream %u has %u)",
					      e->block, st->id, st->count);
			return -ERANGE;
		}
		if (st->blocks[e->block].state != SRV_BLK_HELD) {
			srv_client_send_error(cl, req_id, -ERANGE,
					      "block %u is not granted to this client",
					      e->block);
			return -ERANGE;
		}
		for (unsigned int j = 0; j < i; j++) {
			if (m->entries[j].block == e->block) {
				srv_client_send_error(cl, req_id, -ERANGE,
						      "block %u submitted twice", e->block);
				return -ERANGE;
			}
		}
		if (!e->bytes_used || e->bytes_used > st->block_size ||
		    e->bytes_used % st->scan.scan_bytes) {
			srv_client_send_error(cl, req_id, -EINVAL,
					      "block %u: %u bytes is not 1..%u whole scans of %u bytes",
					      e->block, e->bytes_used,
					      st->block_size / st->scan.scan_bytes,
					      st->scan.scan_bytes);
			return -EINVAL;
		}
	}
	return 0;
}

void srv_stream_submit(struct srv_client *cl, uint32_t req_id,
		       const struct iiofab_msg_submit *m)
{
	struct srv_sub *sub = srv_sub_find(cl, m->stream_id);
	struct srv_stream *st;

	if (!sub) {
		srv_client_send_error(cl, req_id, -ESRCH, "no stream %u on this connection",
				      m->stream_id);
		cl->srv->stats.dac_submits_refused++;
		return;
	}
	st = sub->st;
	if (!st->output) {
		srv_client_send_error(cl, req_id, -EINVAL,
				      "stream %u is an input stream: SUBMIT is for output",
				      st->id);
		cl->srv->stats.dac_submits_refused++;
		return;
	}
	if (submit_check(cl, req_id, st, m) < 0) {
		cl->srv->stats.dac_submits_refused++;
		return;
	}
	/* Blocks granted before a STOP stay the client's until START. */
	if (!st->started) {
		srv_client_send_error(cl, req_id, -EINVAL,
				      "stream %u is stopped: START it before submitting",
				      st->id);
		cl->srv->stats.dac_submits_refused++;
		return;
	}
	for (unsigned int i = 0; i < m->count; i++)
		if (dac_enqueue(st, &st->blocks[m->entries[i].block], &m->entries[i]) < 0)
			return;
}
