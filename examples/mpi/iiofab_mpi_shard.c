// SPDX-License-Identifier: MIT
/*
 * iiofab_mpi_shard: every MPI rank joins one shard stream of an ADC and
 * reduces the blocks it gets (per-channel sums and sums of squares); rank 0
 * combines them and checks them against the simulator's counter pattern
 * over exactly the scans delivered, and that the ranks together processed
 * every block of [0, N) once. See README.md.
 */
#include <endian.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <mpi.h>
#include <iiofab.h>

#include "counter_sums.h"
#include "shard.h"
#include "shard_check.h"

/* Sums one block into r, channel by channel in scan order. */
static void reduce_block(struct iiofab_stream *s, const struct iiofab_block *b,
			 struct shard_result *r)
{
	size_t scan = iiofab_stream_get_scan_bytes(s);
	const unsigned char *p = b->data;

	for (unsigned int c = 0; c < r->channels; c++) {
		size_t off = iiofab_stream_get_channel_offset(s, c);
		uint64_t sum = 0, sq = 0;

		for (size_t n = 0; n < b->samples; n++) {
			uint16_t v;

			memcpy(&v, p + n * scan + off, sizeof(v));
			v = le16toh(v);
			sum += v;
			sq += (uint64_t)v * v;
		}
		r->sum[c] += sum;
		r->sum_sq[c] += sq;
	}
}

static int record(struct shard_result *r, const struct iiofab_block *b)
{
	if (r->n_recs == r->cap_recs) {
		size_t cap = r->cap_recs ? 2 * r->cap_recs : 256;
		struct shard_rec *recs = realloc(r->recs, cap * sizeof(*recs));

		if (!recs)
			return -ENOMEM;
		r->recs = recs;
		r->cap_recs = cap;
	}
	r->recs[r->n_recs++] = (struct shard_rec){
		.seq = b->seq, .first_sample = b->first_sample, .samples = b->samples,
		.lost = b->lost_samples, .redelivered = b->redelivered,
	};
	return 0;
}

/* Blocks until the first one with seq >= N, which stops this rank. */
static int consume(struct iiofab_stream *s, const struct shard_opts *o,
		   struct shard_result *r)
{
	struct iiofab_block *b;
	int ret;

	for (;;) {
		ret = iiofab_stream_next(s, o->timeout_ms, &b);
		if (ret)
			return ret;
		if (b->seq >= o->blocks) {
			r->summary.stop = (struct shard_rec){
				.seq = b->seq, .first_sample = b->first_sample,
				.samples = b->samples, .lost = b->lost_samples,
				.redelivered = b->redelivered,
			};
			r->summary.stopped = 1;
			return iiofab_block_release(s, b);
		}
		reduce_block(s, b, r);
		ret = record(r, b);
		r->summary.blocks++;
		r->summary.scans += b->samples;
		r->summary.lost += b->lost_samples;
		r->summary.redelivered += b->redelivered;
		iiofab_block_release(s, b);
		if (ret)
			return ret;
	}
}

/*
 * No rank starts before every rank has joined, or the first would get
 * every block until the others come; and none starts if one failed.
 */
static int stream_rank(struct iiofab_ctx *ctx, const struct shard_opts *o,
		       struct shard_result *r)
{
	struct iiofab_stream *s = NULL;
	int ret, failed;

	ret = shard_open(ctx, o, r, &s);
	failed = ret != 0;
	MPI_Allreduce(MPI_IN_PLACE, &failed, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD);
	if (!ret && failed)
		ret = -ECANCELED;
	if (!ret)
		ret = iiofab_stream_start(s);
	if (!ret)
		ret = consume(s, o, r);
	iiofab_stream_close(s);
	return ret;
}

static int run(const struct shard_opts *o)
{
	struct shard_result r = { 0 };
	struct iiofab_ctx *ctx = NULL;
	int rank, size, len, ret;

	MPI_Comm_rank(MPI_COMM_WORLD, &rank);
	MPI_Comm_size(MPI_COMM_WORLD, &size);
	MPI_Get_processor_name(r.summary.host, &len);
	ret = shard_connect(o, &ctx);
	if (ret) {
		/* The others wait for this rank's vote before they start. */
		int failed = 1;

		MPI_Allreduce(MPI_IN_PLACE, &failed, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD);
	} else {
		ret = stream_rank(ctx, o, &r);
	}
	iiofab_disconnect(ctx);
	r.summary.err = ret;
	if (rank == o->bad_sum_rank && r.channels)
		r.sum[0]++;
	ret = shard_combine(o, &r, rank, size);
	free(r.recs);
	return ret;
}

int main(int argc, char **argv)
{
	struct shard_opts o;
	int ret;

	ret = shard_parse(argc, argv, &o);
	if (ret >= 0)
		return ret;
	MPI_Init(&argc, &argv);
	MPI_Comm_rank(MPI_COMM_WORLD, &o.rank);
	ret = run(&o);
	MPI_Finalize();
	return ret;
}
