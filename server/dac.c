// SPDX-License-Identifier: MIT
/*
 * Output streams: blocks cycle between the client and the converter.
 *
 * A block is HELD while the client owns it (granted by a FREE credit; the
 * client RDMA WRITEs samples into it), QUEUED once a SUBMIT handed it to
 * the converter, and IDLE while the stream is stopped. Its fence
 * signalling means the converter consumed it, and it goes straight back to
 * the client as a new credit. The board CPU never touches a sample.
 *
 * The buffer is enabled at the first submit after START, not at START:
 * enabled with nothing queued, the converter would count underruns while
 * the client is still writing its first block.
 */
#include <errno.h>
#include <string.h>
#include <infiniband/verbs.h>

#include "srv_stream.h"

static struct srv_stats *stats_of(const struct srv_stream *st)
{
	return st->all->stats;
}

/*
 * Reports underruns that grew since the last report. Called only while a
 * block is queued (or was just queued behind a dry spell): after the last
 * block of a finished stream the converter runs dry by design, and that
 * tail is not the client's underrun.
 */
static void check_underruns(struct srv_stream *st)
{
	uint64_t now;

	if (!st->dac.has_underruns || !srv_stream_read_counter(st, &now) ||
	    now < st->dac.underruns_base)
		return;
	now -= st->dac.underruns_base;
	if (now <= st->dac.underruns)
		return;
	stats_of(st)->dac_underruns += now - st->dac.underruns;
	st->dac.underruns = now;
	iiofab_log_debug(st->all->log, "stream %u: %llu underrun scan(s) so far", st->id,
			 (unsigned long long)now);
	srv_stream_event(st, IIOFAB_WIRE_EVENT_UNDERRUN, now);
}

static void grant(struct srv_stream *st, struct srv_block *blk)
{
	struct srv_ring_entry e = { .blk = blk->idx };

	blk->state = SRV_BLK_HELD;
	blk->cyclic = false;

	for (struct srv_sub *sub = st->subs; sub; sub = sub->st_next)
		srv_sub_queue(sub, &e);
}

/* Up to IIOFAB_WIRE_MAX_FREE pending credits into buf: its length, or 0. */
static int dac_encode(struct srv_sub *sub, void *buf, size_t cap)
{
	struct iiofab_msg_free m = { .stream_id = sub->st->id };
	struct srv_ring_entry e;

	while (m.count < IIOFAB_WIRE_MAX_FREE && srv_ring_pop(&sub->pending, &e))
		m.blocks[m.count++] = e.blk;
	if (!m.count)
		return 0;
	stats_of(sub->st)->free_messages++;
	return iiofab_wire_encode_free(buf, cap, 0, &m);
}

static void dac_sub_start(struct srv_sub *sub)
{
	(void)sub;	/* output streams have one subscriber */
}

static int dac_start(struct srv_stream *st)
{
	st->dac.enabled = false;
	for (unsigned int i = 0; i < st->count; i++)
		if (st->blocks[i].state == SRV_BLK_IDLE)
			grant(st, &st->blocks[i]);
	return 0;
}

static void dac_block_done(struct srv_block *blk)
{
	struct srv_stream *st = blk->st;

	/* Flushed by a STOP that a START has already overtaken: not consumed. */
	if (blk->epoch == st->epoch)
		stats_of(st)->dac_blocks_consumed++;
	if (st->queued)
		check_underruns(st);
	grant(st, blk);
}

static int dac_enable(struct srv_stream *st)
{
	int err = st->conv->ops->enable(st->conv, true);

	if (err < 0)
		return err;
	st->dac.enabled = true;
	/* Drivers reset the count on enable, or keep counting: a base covers both. */
	st->dac.has_underruns = srv_stream_read_counter(st, &st->dac.underruns_base);
	st->dac.underruns = 0;
	return 0;
}

static void report_error(struct srv_stream *st, const char *what, unsigned int blk, int err)
{
	iiofab_log_err(st->all->log, "stream %u: %s of block %u failed: %s", st->id, what, blk,
		       strerror(-err));
	srv_stream_event(st, IIOFAB_WIRE_EVENT_ERROR, (uint64_t)iiofab_wire_status_from_errno(err));
}

static int dac_enqueue(struct srv_stream *st, struct srv_block *blk,
		       const struct iiofab_wire_submit_entry *e)
{
	struct srv_stats *stats = stats_of(st);
	bool cyclic = e->flags & IIOFAB_WIRE_SUBMIT_CYCLIC;
	bool was_dry = st->dac.enabled && !st->queued;
	int err;

	err = st->conv->ops->enqueue(st->conv, blk->idx, e->bytes_used, cyclic);
	if (err < 0) {
		/* The client keeps the block: it can submit it again. */
		report_error(st, "enqueue", blk->idx, err);
		return err;
	}
	blk->state = SRV_BLK_QUEUED;
	blk->bytes_used = e->bytes_used;
	blk->cyclic = cyclic;
	blk->epoch = st->epoch;
	blk->enq_seq = ++st->enq_counter;
	st->queued++;
	stats->dac_blocks_submitted++;
	stats->dac_bytes_submitted += e->bytes_used;
	stats->dac_cyclic_submits += cyclic;
	if (!st->dac.enabled) {
		err = dac_enable(st);
		if (err < 0)
			report_error(st, "buffer enable at the submit", blk->idx, err);
	} else if (was_dry) {
		/* The dry spell ends here; count it now in case no block follows. */
		check_underruns(st);
	}
	return err;
}

/* The whole SUBMIT is checked before any entry acts, so a refused one changes nothing. */
static int submit_check(const struct srv_stream *st, const struct iiofab_msg_submit *m,
			struct srv_refusal *why)
{
	for (unsigned int i = 0; i < m->count; i++) {
		const struct iiofab_wire_submit_entry *e = &m->entries[i];

		if (e->block >= st->count)
			return srv_refuse(why, -ERANGE, "block %u out of range (stream %u has %u)",
					  e->block, st->id, st->count);
		if (st->blocks[e->block].state != SRV_BLK_HELD)
			return srv_refuse(why, -ERANGE, "block %u is not granted to this client",
					  e->block);
		for (unsigned int j = 0; j < i; j++)
			if (m->entries[j].block == e->block)
				return srv_refuse(why, -ERANGE, "block %u submitted twice",
						  e->block);
		if (!e->bytes_used || e->bytes_used > st->block_size ||
		    e->bytes_used % st->scan.scan_bytes)
			return srv_refuse(why, -EINVAL,
					  "block %u: %u bytes is not 1..%llu whole scans of %u bytes",
					  e->block, e->bytes_used,
					  (unsigned long long)srv_stream_block_scans(st),
					  st->scan.scan_bytes);
	}
	return 0;
}

static int dac_submit(struct srv_sub *sub, const struct iiofab_msg_submit *m,
		      struct srv_refusal *why)
{
	struct srv_stream *st = sub->st;
	int err = submit_check(st, m, why);

	if (err < 0)
		return err;
	/* Blocks granted before a STOP stay the client's until START. */
	if (!st->started)
		return srv_refuse(why, -EINVAL, "stream %u is stopped: START it before submitting",
				  st->id);
	for (unsigned int i = 0; i < m->count; i++)
		if (dac_enqueue(st, &st->blocks[m->entries[i].block], &m->entries[i]) < 0)
			break;
	return 0;
}

/* A leaving client's granted blocks wait, IDLE, for the next START. */
static void dac_drop_holds(struct srv_sub *sub)
{
	struct srv_stream *st = sub->st;

	for (unsigned int i = 0; i < st->count && !st->n_subs; i++)
		if (st->blocks[i].state == SRV_BLK_HELD)
			st->blocks[i].state = SRV_BLK_IDLE;
}

const struct srv_dir_ops srv_dac_ops = {
	.name = "output",
	.output = true,
	/* Clients only WRITE blocks (verbs wants LOCAL_WRITE with it); nothing
	 * to read back, so no generation table. */
	.access = IBV_ACCESS_LOCAL_WRITE | IBV_ACCESS_REMOTE_WRITE,
	.gen_table = false,
	.start = dac_start,
	.block_done = dac_block_done,
	.encode = dac_encode,
	.release = NULL,
	.submit = dac_submit,
	.sub_start = dac_sub_start,
	.drop_holds = dac_drop_holds,
};
