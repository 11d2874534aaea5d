// SPDX-License-Identifier: MIT
/* Rank 0 gathers every rank's blocks and sums, checks them and says so. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "counter_sums.h"
#include "shard.h"

struct gathered {
	struct shard_summary *ranks;
	struct shard_rec *recs;
	size_t n_recs;
	uint64_t sum[2 * SHARD_MAX_CHANNELS];	/* sums, then sums of squares */
	unsigned int channels;
};

static void *alloc_or_abort(size_t bytes)
{
	void *p = calloc(1, bytes ? bytes : 1);

	if (!p) {
		fprintf(stderr, "iiofab_mpi_shard: rank 0: out of memory\n");
		MPI_Abort(MPI_COMM_WORLD, 1);
	}
	return p;
}

static bool report_ranks(const struct gathered *g, int size, const struct shard_opts *o)
{
	bool ok = true;

	for (int i = 0; i < size; i++) {
		const struct shard_summary *s = &g->ranks[i];

		if (s->err || !s->stopped) {
			printf("rank %d on %s: FAILED: %s\n", i, s->host,
			       s->err ? iiofab_strerror(s->err) : "no block with seq >= N");
			ok = false;
			continue;
		}
		printf("rank %d on %s: %" PRIu64 " blocks below %" PRIu64 ", %" PRIu64
		       " scans, %" PRIu64 " lost, %" PRIu64 " redelivered; stopped at block %"
		       PRIu64 "\n", i, s->host, s->blocks, o->blocks, s->scans, s->lost,
		       s->redelivered, s->stop.seq);
	}
	return ok;
}

static bool report_blocks(struct gathered *g, int size, const struct shard_opts *o)
{
	struct shard_rec *stops = alloc_or_abort(size * sizeof(*stops));
	struct shard_verdict v;
	size_t n = 0;

	for (int i = 0; i < size; i++)
		if (g->ranks[i].stopped)
			stops[n++] = g->ranks[i].stop;
	shard_check(g->recs, g->n_recs, stops, n, o->blocks, &v);
	free(stops);
	printf("blocks [0, %" PRIu64 "): %" PRIu64 " processed once, %" PRIu64
	       " more than once, %" PRIu64 " by no rank (%" PRIu64 " below the last processed),"
	       " %" PRIu64 " out of place, %" PRIu64 " redelivered\n", o->blocks, v.once,
	       v.repeated, v.missing, v.missing_below, v.out_of_place, v.redelivered);
	printf("scans: %" PRIu64 " delivered; not delivered: %" PRIu64 " before the end of the"
	       " last processed block, %" PRIu64 " before the lowest stop block; reported lost: %"
	       PRIu64 " by processed blocks, %" PRIu64 " by the blocks that stopped the ranks\n",
	       v.delivered, v.gap, v.gap_to_stop, v.lost_delivered, v.lost_stop);
	return v.ok;
}

/* The closed form over exactly the scans of every processed block. */
static bool report_sums(const struct gathered *g)
{
	bool ok = g->channels > 0;

	if (!ok)
		printf("no channel sums: no rank opened the stream\n");
	for (unsigned int c = 0; c < g->channels; c++) {
		uint64_t sum = 0, sq = 0;

		for (size_t i = 0; i < g->n_recs; i++) {
			const struct shard_rec *r = &g->recs[i];

			sum += counter_sum(c, r->first_sample, r->first_sample + r->samples);
			sq += counter_sum_sq(c, r->first_sample, r->first_sample + r->samples);
		}
		printf("channel %u: sum %" PRIu64 " (closed form %" PRIu64 "), sum of squares %"
		       PRIu64 " (closed form %" PRIu64 "): %s\n", c, g->sum[c], sum,
		       g->sum[SHARD_MAX_CHANNELS + c], sq,
		       g->sum[c] == sum && g->sum[SHARD_MAX_CHANNELS + c] == sq ? "ok" : "MISMATCH");
		ok = ok && g->sum[c] == sum && g->sum[SHARD_MAX_CHANNELS + c] == sq;
	}
	return ok;
}

static bool report(struct gathered *g, int size, const struct shard_opts *o)
{
	bool ranks = report_ranks(g, size, o);
	bool blocks = report_blocks(g, size, o);
	bool sums = report_sums(g);

	if (ranks && blocks && sums) {
		printf("PASS: %d ranks, blocks [0, %" PRIu64 ") each processed once or reported"
		       " lost, %u channel sums match the counter pattern\n", size, o->blocks,
		       g->channels);
		return true;
	}
	printf("FAIL:%s%s%s\n", ranks ? "" : " a rank failed;",
	       blocks ? "" : " blocks not covered exactly once;",
	       sums ? "" : " sums missing or not the counter pattern's;");
	return false;
}

/* Every rank's records into g->recs on rank 0. */
static void gather_recs(const struct shard_result *r, struct gathered *g, int rank, int size)
{
	int bytes = (int)(r->n_recs * sizeof(*r->recs));
	int *counts = NULL, *displs = NULL;

	if (rank == 0) {
		counts = alloc_or_abort(size * sizeof(int));
		displs = alloc_or_abort(size * sizeof(int));
	}
	MPI_Gather(&bytes, 1, MPI_INT, counts, 1, MPI_INT, 0, MPI_COMM_WORLD);
	if (rank == 0) {
		size_t total = 0;

		for (int i = 0; i < size; i++) {
			displs[i] = (int)total;
			total += (size_t)counts[i];
		}
		g->n_recs = total / sizeof(*g->recs);
		g->recs = alloc_or_abort(total);
	}
	MPI_Gatherv(r->recs, bytes, MPI_BYTE, g->recs, counts, displs, MPI_BYTE, 0,
		    MPI_COMM_WORLD);
	free(counts);
	free(displs);
}

int shard_combine(const struct shard_opts *o, const struct shard_result *r, int rank, int size)
{
	struct gathered g = { 0 };
	uint64_t mine[2 * SHARD_MAX_CHANNELS] = { 0 };
	int pass = 0;

	memcpy(mine, r->sum, sizeof(r->sum));
	memcpy(mine + SHARD_MAX_CHANNELS, r->sum_sq, sizeof(r->sum_sq));
	MPI_Reduce(mine, g.sum, 2 * SHARD_MAX_CHANNELS, MPI_UINT64_T, MPI_SUM, 0, MPI_COMM_WORLD);
	MPI_Reduce(&r->channels, &g.channels, 1, MPI_UNSIGNED, MPI_MAX, 0, MPI_COMM_WORLD);
	if (rank == 0)
		g.ranks = alloc_or_abort(size * sizeof(*g.ranks));
	MPI_Gather(&r->summary, sizeof(r->summary), MPI_BYTE, g.ranks, sizeof(r->summary),
		   MPI_BYTE, 0, MPI_COMM_WORLD);
	gather_recs(r, &g, rank, size);
	if (rank == 0) {
		pass = report(&g, size, o);
		fflush(stdout);
	}
	MPI_Bcast(&pass, 1, MPI_INT, 0, MPI_COMM_WORLD);
	free(g.ranks);
	free(g.recs);
	return pass ? 0 : 1;
}
