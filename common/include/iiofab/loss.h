/* SPDX-License-Identifier: MIT */
/*
 * Sample-loss accounting for a client's ADC stream (exclusive and fan-out
 * modes, where a subscriber sees every block).
 *
 * Feed every READY entry, in the order received, to exactly one of
 * iiofab_loss_deliver() (the block was read intact and goes to the
 * application) or iiofab_loss_torn() (its generation changed under the
 * READ: dropped). The samples between the end of the previous block and
 * the start of this one (server overrun), and the samples of torn blocks,
 * are lost; each delivered block reports the loss since the previous
 * delivered block, so nothing is lost silently.
 */
#ifndef IIOFAB_LOSS_H
#define IIOFAB_LOSS_H

#include <stdint.h>

#include <iiofab/wire.h>

struct iiofab_loss {
	uint64_t next_sample;		/* first scan not yet accounted for */
	uint64_t next_seq;		/* next READY seq expected */
	uint64_t pending_lost;		/* lost, not yet reported by a delivered block */
	/* Totals since iiofab_loss_init() */
	uint64_t delivered_blocks;
	uint64_t delivered_samples;
	uint64_t lost_samples;		/* gaps and torn blocks */
	uint64_t torn_blocks;
	uint64_t torn_samples;
	uint64_t missing_blocks;	/* seq numbers never announced */
};

/* Start accounting at start_sample (0 for a stream followed from its start). */
void iiofab_loss_init(struct iiofab_loss *l, uint64_t start_sample);

/*
 * Scans in a block: bytes_used / scan_bytes. -EINVAL for scan_bytes 0,
 * -EBADMSG when bytes_used is not a whole number of scans.
 */
int iiofab_loss_block_scans(uint32_t bytes_used, uint16_t scan_bytes, uint64_t *scans);

/*
 * An intact block of `scans` scans. *lost receives the samples lost since
 * the previous delivered block. -EBADMSG (and nothing changes) if the entry
 * goes backwards in seq or overlaps samples already accounted for.
 */
int iiofab_loss_deliver(struct iiofab_loss *l, const struct iiofab_wire_ready_entry *e,
			uint64_t scans, uint64_t *lost);

/* A torn block: its samples count as lost. Same errors as deliver. */
int iiofab_loss_torn(struct iiofab_loss *l, const struct iiofab_wire_ready_entry *e,
		     uint64_t scans);

/* Loss not yet reported (e.g. torn blocks at the end of a stream); clears it. */
uint64_t iiofab_loss_take_pending(struct iiofab_loss *l);

#endif /* IIOFAB_LOSS_H */
