/* SPDX-License-Identifier: MIT */
/* What the parts of iiofab_mpi_shard hand each other. */
#ifndef SHARD_H
#define SHARD_H

#include <stddef.h>
#include <stdint.h>

#include <mpi.h>
#include <iiofab.h>

#include "shard_check.h"

#define SHARD_MAX_CHANNELS 16

struct shard_opts {
	const char *uri;
	const char *device;	/* NULL: the first input device */
	const char *channels;	/* comma-separated; NULL: every input channel */
	const char *psk_file;	/* NULL: no key (a server run --insecure) */
	uint64_t blocks;	/* N: process the blocks with seq < N */
	size_t block_size;
	unsigned int block_count;
	int timeout_ms;		/* for each block */
	int bad_sum_rank;	/* test only: this rank's sum is off by one; -1 none */
	int rank;
};

/* Sent to rank 0 as bytes: every rank runs the same binary. */
struct shard_summary {
	int32_t err;		/* 0 or -errno */
	int32_t stopped;	/* a block with seq >= N arrived */
	uint64_t blocks, scans, lost, redelivered;
	struct shard_rec stop;
	char host[MPI_MAX_PROCESSOR_NAME];
};

struct shard_result {
	struct shard_summary summary;
	unsigned int channels;
	uint64_t sum[SHARD_MAX_CHANNELS];
	uint64_t sum_sq[SHARD_MAX_CHANNELS];
	struct shard_rec *recs;
	size_t n_recs, cap_recs;
};

/* -1 to go on; otherwise the exit status (help, or a usage error). */
int shard_parse(int argc, char **argv, struct shard_opts *o);
int shard_connect(const struct shard_opts *o, struct iiofab_ctx **ctx);
/* Joins the shard stream; sets r->channels. Errors are printed. */
int shard_open(struct iiofab_ctx *ctx, const struct shard_opts *o,
	       struct shard_result *r, struct iiofab_stream **s);
/* Collective: rank 0 checks and prints; every rank returns the exit status. */
int shard_combine(const struct shard_opts *o, const struct shard_result *r,
		  int rank, int size);

#endif
