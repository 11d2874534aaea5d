// SPDX-License-Identifier: MIT
/*
 * Input streams. A block is QUEUED (the converter owns it), HELD
 * (completed, announced with READY, at least one subscriber has not
 * released it) or IDLE (stopped). Every completion is stamped with a
 * sequence number, its first scan and the time; every scan the converter
 * dropped, and every block taken back from a slow client, shows up as an
 * exact gap in first_sample, so clients lose nothing silently.
 */
#include <errno.h>
#include <string.h>
#include <time.h>
#include <infiniband/verbs.h>

#include <iiofab/clock.h>

#include "srv_stream.h"

static struct srv_stats *stats_of(const struct srv_stream *st)
{
	return st->all->stats;
}

static bool block_idle(const struct srv_stream *st, unsigned int blk)
{
	return st->conv->ops->block_idle(st->conv, blk);
}

/* True when the block queued before blk has completed (IIO may be dry). */
static bool prev_done(const struct srv_block *blk)
{
	const struct srv_stream *st = blk->st;
	int last = st->adc.last_enq;

	if (last < 0)
		return false;
	if ((unsigned int)last == blk->idx || st->blocks[last].state != SRV_BLK_QUEUED)
		return true;
	return block_idle(st, (unsigned int)last);
}

/*
 * A converter drops scans only while IIO has no block queued, and such a
 * window can only precede a block whose predecessor (in enqueue order) had
 * completed by the time the block was queued. The driver's count of
 * dropped scans then tells the window's size, and those scans go before
 * the block's first_sample, so clients see an exact gap. Our own count of
 * queued blocks lags the hardware, hence the fence polls.
 *
 * The count read after the enqueue is exact while the new block has not
 * completed (nothing can be dropped behind a queued block); if it already
 * has, drops after it may be in the count too, so the count read before
 * the enqueue is used and the rest goes with the next window.
 */
static bool gap_before(struct srv_block *blk, uint64_t *pre)
{
	struct srv_stream *st = blk->st;

	return st->adc.has_overruns && prev_done(blk) && srv_stream_read_counter(st, pre);
}

static void gap_after(struct srv_block *blk, bool dry, uint64_t pre)
{
	struct srv_stream *st = blk->st;
	uint64_t now = st->adc.overruns_seen;

	blk->gap = 0;
	if (!st->adc.has_overruns)
		return;
	if (!dry && !prev_done(blk))
		return;
	if (srv_stream_read_counter(st, &now) && block_idle(st, blk->idx))
		now = dry ? pre : st->adc.overruns_seen;
	if (now <= st->adc.overruns_seen)
		return;
	blk->gap = now - st->adc.overruns_seen;
	st->adc.overruns_seen = now;
	st->adc.drops_seen = true;
	stats_of(st)->dry_windows++;
	stats_of(st)->converter_overruns += blk->gap;
	iiofab_log_debug(st->all->log, "stream %u: converter dropped %llu scan(s) before block %u",
			 st->id, (unsigned long long)blk->gap, blk->idx);
}

/* Hands a block back to IIO; its generation changes first. */
static int block_enqueue(struct srv_block *blk)
{
	struct srv_stream *st = blk->st;
	uint64_t pre = 0;
	bool dry;
	int err;

	st->gen[blk->idx]++;
	dry = gap_before(blk, &pre);
	err = st->conv->ops->enqueue(st->conv, blk->idx, st->block_size, false);
	if (err < 0) {
		iiofab_log_err(st->all->log, "stream %u: enqueue of block %u failed: %s",
			       st->id, blk->idx, strerror(-err));
		blk->state = SRV_BLK_IDLE;
		srv_stream_event(st, IIOFAB_WIRE_EVENT_ERROR,
				 (uint64_t)iiofab_wire_status_from_errno(err));
		return err;
	}
	blk->state = SRV_BLK_QUEUED;
	blk->epoch = st->epoch;
	blk->enq_seq = ++st->enq_counter;
	st->queued++;
	gap_after(blk, dry, pre);
	st->adc.last_enq = (int)blk->idx;
	return 0;
}

/* Takes a held block back from every subscriber and requeues it. */
static bool reclaim(struct srv_stream *st, struct srv_block *old)
{
	for (struct srv_sub *sub = st->subs; sub; sub = sub->st_next)
		sub->held[old->idx] = 0;
	old->holders = 0;
	stats_of(st)->blocks_reclaimed++;
	stats_of(st)->samples_reclaimed += srv_stream_block_scans(st);
	iiofab_log_debug(st->all->log, "stream %u: reclaimed block %u (seq %llu)",
			 st->id, old->idx, (unsigned long long)old->seq);
	return block_enqueue(old) == 0;
}

/*
 * Overrun: the converter must not starve, so the oldest held block goes
 * back (never the one just announced: with one or two blocks that would
 * lose everything). Returns false when there is nothing to take.
 */
static bool reclaim_oldest(struct srv_stream *st, const struct srv_block *keep)
{
	struct srv_block *old = NULL;

	for (unsigned int i = 0; i < st->count; i++) {
		struct srv_block *blk = &st->blocks[i];

		if (blk != keep && blk->state == SRV_BLK_HELD && (!old || blk->seq < old->seq))
			old = blk;
	}
	return old && reclaim(st, old);
}

/* Up to IIOFAB_WIRE_MAX_READY pending READY entries into buf: its length, or 0. */
static int adc_encode(struct srv_sub *sub, void *buf, size_t cap)
{
	struct srv_stream *st = sub->st;
	struct iiofab_msg_ready m = { .stream_id = st->id };
	uint32_t b;
	uint64_t gen;

	while (m.count < IIOFAB_WIRE_MAX_READY && srv_ring_pop(&sub->pending, &b, &gen)) {
		const struct srv_block *blk = &st->blocks[b];

		/* Reclaimed before it was announced: the gap tells the client. */
		if (gen != st->gen[b] || !sub->held[b])
			continue;
		m.entries[m.count++] = (struct iiofab_wire_ready_entry){
			.block = b,
			.bytes_used = st->block_size,
			.generation = gen,
			.seq = blk->seq,
			.first_sample = blk->first_sample,
			.timestamp_ns = blk->ts_ns,
		};
	}
	if (!m.count)
		return 0;
	stats_of(st)->ready_messages++;
	return iiofab_wire_encode_ready(buf, cap, 0, &m);
}

static bool queued_after(const struct srv_block *blk)
{
	const struct srv_stream *st = blk->st;

	for (unsigned int i = 0; i < st->count; i++)
		if (st->blocks[i].state == SRV_BLK_QUEUED && st->blocks[i].enq_seq > blk->enq_seq)
			return true;
	return false;
}

/* The enqueue order of the last block that had completed or was filling. */
static uint64_t last_touched(const struct srv_block *blk)
{
	const struct srv_stream *st = blk->st;
	uint64_t until = blk->enq_seq;

	for (;;) {
		const struct srv_block *next = NULL;

		for (unsigned int i = 0; i < st->count; i++) {
			const struct srv_block *b = &st->blocks[i];

			if (b->state == SRV_BLK_QUEUED && b->enq_seq > until &&
			    (!next || b->enq_seq < next->enq_seq))
				next = b;
		}
		if (!next)
			return until;
		until = next->enq_seq;
		if (!block_idle(st, next->idx))
			return until;
	}
}

/*
 * Scans dropped while blocks were queued (a converter, or a simulator,
 * that fell behind) leave a hole inside a block, which no first_sample can
 * describe. Every completion therefore reads the drop count; when it grew,
 * the completing block and every block that had completed or was filling
 * by then are withheld (re-queued unannounced), and the scans they held
 * plus the drops show up as one exact gap before the next delivered block.
 */
static bool check_torn(struct srv_block *blk, uint64_t *dropped)
{
	struct srv_stream *st = blk->st;
	uint64_t now, until;

	*dropped = 0;
	if (!st->adc.has_overruns)
		return false;
	/*
	 * With nothing queued behind it the converter went dry when this
	 * block completed, and drops counted now are most likely from that
	 * window: leave them to the next enqueue, which puts them before the
	 * next block (a hole inside this block then goes unnoticed).
	 */
	if (!queued_after(blk) || !srv_stream_read_counter(st, &now) ||
	    now <= st->adc.overruns_seen)
		return blk->enq_seq <= st->adc.suspect_until;
	*dropped = now - st->adc.overruns_seen;
	st->adc.overruns_seen = now;
	st->adc.drops_seen = true;
	until = last_touched(blk);
	if (until > st->adc.suspect_until)
		st->adc.suspect_until = until;
	return true;
}

static void withhold(struct srv_block *blk, uint64_t dropped)
{
	struct srv_stream *st = blk->st;
	struct srv_stats *stats = stats_of(st);

	/* Order does not matter inside a gap nobody is told about. */
	st->adc.next_sample += dropped;
	stats->converter_overruns += dropped;
	stats->blocks_withheld++;
	stats->samples_withheld += srv_stream_block_scans(st);
	iiofab_log_debug(st->all->log, "stream %u: block %u (seq %llu) withheld: %llu scan(s) dropped",
			 st->id, blk->idx, (unsigned long long)blk->seq,
			 (unsigned long long)dropped);
	(void)block_enqueue(blk);
}

static void stamp(struct srv_block *blk)
{
	struct srv_stream *st = blk->st;

	blk->seq = st->adc.next_seq++;
	st->adc.next_sample += blk->gap;
	blk->first_sample = st->adc.next_sample;
	st->adc.next_sample += srv_stream_block_scans(st);
	blk->ts_ns = iiofab_clock_ns(CLOCK_REALTIME);
	stats_of(st)->blocks_completed++;
}

static void announce(struct srv_block *blk)
{
	struct srv_stream *st = blk->st;

	blk->state = SRV_BLK_HELD;
	blk->holders = st->n_subs;
	for (struct srv_sub *sub = st->subs; sub; sub = sub->st_next) {
		sub->held[blk->idx] = 1;
		srv_sub_queue(sub, blk->idx, st->gen[blk->idx]);
	}
}

static void adc_block_done(struct srv_block *blk)
{
	struct srv_stream *st = blk->st;
	uint64_t dropped;

	if (blk->epoch != st->epoch) {
		/* Flushed by a STOP that a START has already overtaken. */
		(void)block_enqueue(blk);
		return;
	}
	stamp(blk);
	if (check_torn(blk, &dropped)) {
		withhold(blk, dropped);
		return;
	}
	if (!st->n_subs) {
		(void)block_enqueue(blk);
		return;
	}
	announce(blk);
	if (st->all->tear_every && blk->seq % st->all->tear_every == st->all->tear_every - 1) {
		stats_of(st)->test_tears++;
		(void)reclaim(st, blk);
		return;
	}
	/*
	 * Reclaim before IIO is empty: with one block left queued the
	 * converter is filling it now and would drop scans from the moment it
	 * completes until this loop reacts. But only for a converter that
	 * drops scans when it runs dry: one that counts drops and has not
	 * dropped any since START (a converter paced by its buffers, like the
	 * simulator unthrottled) just waits, and taking blocks from clients
	 * would throw away data for nothing.
	 */
	if (!st->adc.has_overruns || st->adc.drops_seen)
		while (st->queued < st->adc.spare && reclaim_oldest(st, blk))
			;
}

static int adc_start(struct srv_stream *st)
{
	int err;

	/* No gap accounting before the baseline below exists. */
	st->adc.has_overruns = false;
	st->adc.drops_seen = false;
	st->adc.last_enq = -1;
	st->adc.spare = st->count >= 4 ? 2 : 1;
	for (unsigned int i = 0; i < st->count; i++) {
		if (st->blocks[i].state != SRV_BLK_IDLE)
			continue;
		err = block_enqueue(&st->blocks[i]);
		if (err < 0)
			return err;
	}
	err = st->conv->ops->enable(st->conv, true);
	if (err < 0)
		return err;
	/* The count restarts with the buffer (or runs on: keep a base either way). */
	st->adc.has_overruns = srv_stream_read_counter(st, &st->adc.overruns_seen);
	return 0;
}

/* The subscriber is done with a block: back to IIO when it was the last holder. */
static void unhold(struct srv_stream *st, struct srv_block *blk)
{
	if (--blk->holders)
		return;
	if (st->started && st->n_subs)
		(void)block_enqueue(blk);
	else
		blk->state = SRV_BLK_IDLE;
}

static int adc_release(struct srv_sub *sub, const struct iiofab_msg_release *m,
		       struct srv_refusal *why)
{
	struct srv_stream *st = sub->st;

	for (unsigned int i = 0; i < m->count; i++) {
		uint32_t b = m->entries[i].block;

		if (b >= st->count)
			return srv_refuse(why, -ERANGE, "block %u out of range (stream %u has %u)",
					  b, st->id, st->count);
		/* Reclaimed after an overrun: the client already lost it. */
		if (m->entries[i].generation != st->gen[b]) {
			stats_of(st)->stale_releases++;
			continue;
		}
		if (!sub->held[b])
			return srv_refuse(why, -ERANGE,
					  "block %u generation %llu is not held by this client", b,
					  (unsigned long long)m->entries[i].generation);
		sub->held[b] = 0;
		stats_of(st)->blocks_released++;
		unhold(st, &st->blocks[b]);
	}
	return 0;
}

static void adc_drop_holds(struct srv_sub *sub)
{
	struct srv_stream *st = sub->st;

	for (unsigned int i = 0; i < st->count; i++) {
		if (!sub->held[i])
			continue;
		sub->held[i] = 0;
		unhold(st, &st->blocks[i]);
	}
}

const struct srv_dir_ops srv_adc_ops = {
	.name = "input",
	/* Clients only ever READ blocks and generations. */
	.access = IBV_ACCESS_REMOTE_READ,
	.gen_table = true,
	.start = adc_start,
	.block_done = adc_block_done,
	.encode = adc_encode,
	.release = adc_release,
	.submit = NULL,
	.drop_holds = adc_drop_holds,
};
