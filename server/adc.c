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

static void drop_hold(struct srv_sub *sub, unsigned int idx)
{
	sub->held[idx] = SRV_HOLD_NONE;
	sub->n_held--;
}

/*
 * Takes a held block back from every subscriber and requeues it. A holder
 * told of it finds its generation changed; one not told yet skips its
 * entry and reports the loss with its next one. A waiting shard block was
 * nobody's: its loss goes to the next block any shard gets.
 */
static bool reclaim(struct srv_stream *st, struct srv_block *old)
{
	if (old->state == SRV_BLK_WAITING)
		st->adc.shard_carry += old->lost + srv_stream_block_scans(st);
	for (struct srv_sub *sub = st->subs; sub; sub = sub->st_next) {
		if (sub->held[old->idx]) {
			drop_hold(sub, old->idx);
			sub->reclaimed++;
		}
	}
	old->holders = 0;
	stats_of(st)->blocks_reclaimed++;
	stats_of(st)->samples_reclaimed += srv_stream_block_scans(st);
	iiofab_log_debug(st->all->log, "stream %u: reclaimed block %u (seq %llu)",
			 st->id, old->idx, (unsigned long long)old->seq);
	return block_enqueue(old) == 0;
}

/* Fan-out: holders of blk that keep up (hold no more than anyone else). */
static unsigned int current_holders(const struct srv_stream *st, const struct srv_block *blk,
				    unsigned int least_held)
{
	unsigned int n = 0;

	for (const struct srv_sub *sub = st->subs; sub; sub = sub->st_next)
		n += sub->held[blk->idx] && sub->n_held <= least_held;
	return n;
}

/*
 * Overrun: the converter must not starve, so a held block goes back
 * (never the one just announced: with one or two blocks that would lose
 * everything): the oldest, and in fan-out the oldest of those the hosts
 * that keep up are done with, so a slow host loses blocks alone. Returns
 * false when there is nothing to take.
 */
static bool reclaim_oldest(struct srv_stream *st, const struct srv_block *keep)
{
	unsigned int least_held = UINT32_MAX, best_current = UINT32_MAX;
	struct srv_block *old = NULL;

	if (st->mode == IIOFAB_WIRE_MODE_FANOUT)
		for (const struct srv_sub *sub = st->subs; sub; sub = sub->st_next)
			if (sub->started && sub->n_held < least_held)
				least_held = sub->n_held;
	for (unsigned int i = 0; i < st->count; i++) {
		struct srv_block *blk = &st->blocks[i];
		unsigned int current;

		if (blk == keep || (blk->state != SRV_BLK_HELD && blk->state != SRV_BLK_WAITING))
			continue;
		current = least_held == UINT32_MAX ? 0 : current_holders(st, blk, least_held);
		if (!old || current < best_current ||
		    (current == best_current && blk->seq < old->seq)) {
			old = blk;
			best_current = current;
		}
	}
	return old && reclaim(st, old);
}

/* Up to IIOFAB_WIRE_MAX_READY pending READY entries into buf: its length, or 0. */
static int adc_encode(struct srv_sub *sub, void *buf, size_t cap)
{
	struct srv_stream *st = sub->st;
	struct iiofab_msg_ready m = { .stream_id = st->id };
	struct srv_ring_entry e;

	while (m.count < IIOFAB_WIRE_MAX_READY && srv_ring_pop(&sub->pending, &e)) {
		const struct srv_block *blk = &st->blocks[e.blk];

		/* Reclaimed before it was announced: the next entry says so. */
		if (e.gen != st->gen[e.blk] || sub->held[e.blk] != SRV_HOLD_QUEUED) {
			sub->carry += e.lost + srv_stream_block_scans(st);
			continue;
		}
		sub->held[e.blk] = SRV_HOLD_SENT;
		m.entries[m.count++] = (struct iiofab_wire_ready_entry){
			.block = e.blk,
			.bytes_used = st->block_size,
			.generation = e.gen,
			.seq = blk->seq,
			.first_sample = blk->first_sample,
			.timestamp_ns = blk->ts_ns,
			.lost = e.lost + sub->carry,
			.flags = e.flags,
		};
		sub->lost += e.lost + sub->carry;
		sub->carry = 0;
		sub->delivered++;
		sub->redelivered += !!(e.flags & IIOFAB_WIRE_READY_REDELIVERED);
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

/* An entry that would be skipped when its turn to be sent comes. */
static bool entry_gone(const struct srv_ring_entry *e, const void *arg)
{
	const struct srv_sub *sub = arg;

	return e->gen != sub->st->gen[e->blk] || sub->held[e->blk] != SRV_HOLD_QUEUED;
}

static void hand_to(struct srv_sub *sub, struct srv_block *blk, uint64_t lost, uint32_t flags)
{
	struct srv_ring_entry e = {
		.blk = blk->idx, .flags = flags, .gen = blk->st->gen[blk->idx], .lost = lost,
	};

	/*
	 * A host that reads nothing gets no READY sent, and its blocks come
	 * round again (reclaimed, refilled) while their old entries wait: at
	 * most one entry a block is current, so dropping the others makes room.
	 */
	if (srv_ring_len(&sub->pending) == sub->pending.cap)
		e.lost += srv_ring_prune(&sub->pending, entry_gone, sub,
					 srv_stream_block_scans(blk->st));

	blk->holders++;
	sub->held[blk->idx] = SRV_HOLD_QUEUED;
	sub->n_held++;
	srv_sub_queue(sub, &e);
}

/* Exclusive and fan-out: every started subscriber gets the block. */
static void announce_to_all(struct srv_block *blk)
{
	struct srv_stream *st = blk->st;
	uint64_t end = blk->first_sample + srv_stream_block_scans(st);

	blk->state = SRV_BLK_HELD;
	for (struct srv_sub *sub = st->subs; sub; sub = sub->st_next) {
		uint64_t lost;

		if (!sub->started)
			continue;
		lost = blk->first_sample > sub->announced_until ?
		       blk->first_sample - sub->announced_until : 0;
		sub->announced_until = end;
		hand_to(sub, blk, lost, 0);
	}
}

/*
 * Shard: how many blocks a shard may hold at once. A fair share of what
 * the converter can spare, so one slow shard cannot take the blocks the
 * others need, and it gets fewer blocks instead of losing them.
 */
static unsigned int shard_credit(const struct srv_stream *st)
{
	unsigned int share = (st->count - st->adc.spare) / (st->n_started ? st->n_started : 1);

	return share ? share : 1;
}

/* The started shard with room holding the fewest blocks, round-robin among equals. */
static struct srv_sub *pick_shard(struct srv_stream *st)
{
	unsigned int credit = shard_credit(st), i = 0, n = st->n_subs;
	struct srv_sub *best = NULL;
	unsigned int best_at = 0;

	for (struct srv_sub *sub = st->subs; sub; sub = sub->st_next, i++) {
		unsigned int at = (i + n - st->adc.next_shard % n) % n;

		if (!sub->started || sub->n_held >= credit)
			continue;
		if (!best || sub->n_held < best->n_held ||
		    (sub->n_held == best->n_held && at < best_at)) {
			best = sub;
			best_at = at;
		}
	}
	if (best)
		st->adc.next_shard++;
	return best;
}

/* The waiting block with the lowest seq: shards get blocks in order. */
static struct srv_block *oldest_waiting(struct srv_stream *st)
{
	struct srv_block *old = NULL;

	for (unsigned int i = 0; i < st->count; i++) {
		struct srv_block *blk = &st->blocks[i];

		if (blk->state == SRV_BLK_WAITING && (!old || blk->seq < old->seq))
			old = blk;
	}
	return old;
}

/* Shard: waiting blocks go, oldest first, to shards with room. */
static void dispatch(struct srv_stream *st)
{
	struct srv_block *blk;
	struct srv_sub *sub;

	if (!st->started)
		return;
	while ((blk = oldest_waiting(st)) && (sub = pick_shard(st))) {
		blk->state = SRV_BLK_HELD;
		hand_to(sub, blk, blk->lost + st->adc.shard_carry,
			blk->redelivered ? IIOFAB_WIRE_READY_REDELIVERED : 0);
		st->adc.shard_carry = 0;
	}
}

static void announce(struct srv_block *blk)
{
	struct srv_stream *st = blk->st;

	if (st->mode != IIOFAB_WIRE_MODE_SHARD) {
		announce_to_all(blk);
		return;
	}
	blk->lost = blk->first_sample - st->adc.delivered_until;
	blk->redelivered = false;
	st->adc.delivered_until = blk->first_sample + srv_stream_block_scans(st);
	blk->state = SRV_BLK_WAITING;
	dispatch(st);
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
	if (!st->n_started) {
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
	 * would throw away data for nothing. In fan-out the others are
	 * waiting too, so a host that holds blocks is never waited for.
	 */
	if (!st->adc.has_overruns || st->adc.drops_seen || st->mode == IIOFAB_WIRE_MODE_FANOUT)
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
	st->adc.delivered_until = st->adc.next_sample;
	st->adc.shard_carry = 0;
	for (unsigned int i = 0; i < st->count; i++) {
		/* Nobody's since the STOP: the converter's again. */
		if (st->blocks[i].state == SRV_BLK_WAITING)
			st->blocks[i].state = SRV_BLK_IDLE;
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

/* A holder is done with a block: back to IIO when it was the last one. */
static void unhold(struct srv_stream *st, struct srv_block *blk)
{
	if (--blk->holders)
		return;
	if (st->started && st->n_started)
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
		drop_hold(sub, b);
		stats_of(st)->blocks_released++;
		unhold(st, &st->blocks[b]);
	}
	if (st->mode == IIOFAB_WIRE_MODE_SHARD)
		dispatch(st);
	return 0;
}

/*
 * A shard that goes away or stops leaves its blocks to the others while
 * they are intact: one it was told of as redelivered (it may have
 * processed it), one it was not with the loss its entry carried. Loss it
 * was owed and never told goes to the next block any shard gets.
 */
static void shard_leave(struct srv_sub *sub)
{
	struct srv_stream *st = sub->st;
	struct srv_ring_entry e;

	while (srv_ring_pop(&sub->pending, &e)) {
		if (e.gen == st->gen[e.blk] && sub->held[e.blk] == SRV_HOLD_QUEUED) {
			st->blocks[e.blk].lost = e.lost;
			st->blocks[e.blk].redelivered = e.flags & IIOFAB_WIRE_READY_REDELIVERED;
		} else {
			sub->carry += e.lost + srv_stream_block_scans(st);
		}
	}
	st->adc.shard_carry += sub->carry;
	sub->carry = 0;
	for (unsigned int i = 0; i < st->count; i++) {
		struct srv_block *blk = &st->blocks[i];

		if (!sub->held[i])
			continue;
		if (sub->held[i] == SRV_HOLD_SENT) {
			blk->lost = 0;
			blk->redelivered = true;
		}
		drop_hold(sub, i);
		blk->holders = 0;
		blk->state = st->started ? SRV_BLK_WAITING : SRV_BLK_IDLE;
	}
	dispatch(st);
}

static void adc_drop_holds(struct srv_sub *sub)
{
	struct srv_stream *st = sub->st;

	if (st->mode == IIOFAB_WIRE_MODE_SHARD) {
		shard_leave(sub);
		return;
	}
	for (unsigned int i = 0; i < st->count; i++) {
		if (!sub->held[i])
			continue;
		drop_hold(sub, i);
		unhold(st, &st->blocks[i]);
	}
}

/* A late joiner's first block reports no loss for the time before it joined. */
static void adc_sub_start(struct srv_sub *sub)
{
	sub->announced_until = sub->st->adc.next_sample;
	sub->carry = 0;
	if (sub->st->mode == IIOFAB_WIRE_MODE_SHARD)
		dispatch(sub->st);
}

const struct srv_dir_ops srv_adc_ops = {
	.name = "input",
	.output = false,
	/* Clients only ever READ blocks and generations. */
	.access = IBV_ACCESS_REMOTE_READ,
	.gen_table = true,
	.start = adc_start,
	.block_done = adc_block_done,
	.encode = adc_encode,
	.release = adc_release,
	.submit = NULL,
	.sub_start = adc_sub_start,
	.drop_holds = adc_drop_holds,
};
