/* SPDX-License-Identifier: MIT */
/* Rank 0's verdict on what the shards delivered: every block once, loss told. */
#ifndef SHARD_CHECK_H
#define SHARD_CHECK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* One block as a rank saw it; sent between ranks as bytes (one binary). */
struct shard_rec {
	uint64_t seq;
	uint64_t first_sample;
	uint64_t samples;
	uint64_t lost;
	uint64_t redelivered;
};

struct shard_verdict {
	uint64_t once;		/* seqs in [0, N) processed by exactly one rank */
	uint64_t repeated;	/* seqs processed more than once */
	uint64_t missing;	/* seqs nobody processed: their scans must be reported lost */
	uint64_t missing_below;	/* of those, below the last processed seq */
	uint64_t out_of_place;	/* blocks overlapping or behind an earlier seq, or >= N */
	uint64_t delivered;	/* scans of the processed blocks, each seq once */
	uint64_t gap;		/* scans not delivered before the end of the last one */
	uint64_t gap_to_stop;	/* the same, before the lowest stop block */
	uint64_t lost_delivered;	/* loss reported by the processed blocks */
	uint64_t lost_stop;	/* loss reported by the blocks that stopped the ranks */
	uint64_t redelivered;	/* processed blocks flagged redelivered */
	bool ok;
};

/*
 * recs: the blocks with seq < blocks that the ranks processed (sorted here
 * by seq); stops: the block that stopped each rank (seq >= blocks).
 */
void shard_check(struct shard_rec *recs, size_t n, const struct shard_rec *stops,
		 size_t n_stops, uint64_t blocks, struct shard_verdict *v);

#endif
