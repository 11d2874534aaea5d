// SPDX-License-Identifier: MIT
/*
 * The server numbers every block the converter completes, including those
 * nobody gets (withheld around a hole, taken back from a slow shard), and
 * reports their scans as loss on a later block of some shard: loss only
 * ever moves forward, to the next block handed out, so loss of the scans
 * before seq N lands on a processed block or on the first block >= N a
 * rank got, the one that stopped it. Hence: no processed block reports
 * more loss than scans are missing before it, and every scan before the
 * lowest stop block that no rank processed is reported lost by one of them.
 */
#include <stdlib.h>
#include <string.h>

#include "shard_check.h"

static int by_seq(const void *pa, const void *pb)
{
	const struct shard_rec *a = pa, *b = pb;

	if (a->seq != b->seq)
		return a->seq < b->seq ? -1 : 1;
	return a->first_sample < b->first_sample ? -1 : a->first_sample > b->first_sample;
}

/*
 * The stop blocks' loss, each seq once (a stop block left unreleased by a
 * rank that closed goes to another rank, which may stop at it too), and
 * the lowest of them, before which every block of [0, N) lies.
 */
static uint64_t stop_loss(const struct shard_rec *stops, size_t n,
			  const struct shard_rec **lowest)
{
	uint64_t lost = 0;

	*lowest = NULL;
	for (size_t i = 0; i < n; i++) {
		size_t j = 0;

		while (j < i && stops[j].seq != stops[i].seq)
			j++;
		if (j == i)
			lost += stops[i].lost;
		if (!*lowest || stops[i].seq < (*lowest)->seq)
			*lowest = &stops[i];
	}
	return lost;
}

/* Each seq once, in scan order; returns the end of the last one. */
static uint64_t walk(const struct shard_rec *recs, size_t n, uint64_t blocks,
		     struct shard_verdict *v, uint64_t *block_scans)
{
	const struct shard_rec *prev = NULL;
	uint64_t end = 0, distinct = 0;

	for (size_t i = 0; i < n; i++) {
		const struct shard_rec *r = &recs[i];

		v->redelivered += r->redelivered != 0;
		if (r->seq >= blocks) {
			v->out_of_place++;
			continue;
		}
		if (prev && r->seq == prev->seq) {
			v->repeated += (i < 2 || recs[i - 2].seq != r->seq);
			continue;
		}
		if (r->first_sample < end)
			v->out_of_place++;
		v->missing_below += r->seq - (prev ? prev->seq + 1 : 0);
		v->delivered += r->samples;
		v->lost_delivered += r->lost;
		if (r->first_sample + r->samples > end)
			end = r->first_sample + r->samples;
		if (r->samples > *block_scans)
			*block_scans = r->samples;
		distinct++;
		prev = r;
	}
	v->once = distinct - v->repeated;
	v->missing = blocks - distinct;
	return end;
}

void shard_check(struct shard_rec *recs, size_t n, const struct shard_rec *stops,
		 size_t n_stops, uint64_t blocks, struct shard_verdict *v)
{
	const struct shard_rec *lowest;
	uint64_t end, block_scans = 0;

	memset(v, 0, sizeof(*v));
	qsort(recs, n, sizeof(*recs), by_seq);
	end = walk(recs, n, blocks, v, &block_scans);
	/* An overlap, already counted out of place, could make these negative. */
	v->gap = end > v->delivered ? end - v->delivered : 0;
	v->lost_stop = stop_loss(stops, n_stops, &lowest);
	if (!lowest)
		return;
	if (lowest->first_sample < end)
		v->out_of_place++;
	else if (lowest->first_sample > v->delivered)
		v->gap_to_stop = lowest->first_sample - v->delivered;
	if (lowest->samples > block_scans)
		block_scans = lowest->samples;
	v->ok = !v->repeated && !v->out_of_place && v->lost_delivered <= v->gap &&
		v->missing_below * block_scans <= v->gap &&
		v->missing * block_scans <= v->gap_to_stop &&
		v->gap_to_stop <= v->lost_delivered + v->lost_stop;
}
