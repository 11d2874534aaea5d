/* SPDX-License-Identifier: MIT */
/*
 * Sample-loss accounting for a client's ADC stream.
 *
 * Feed every READY entry, in the order received, to exactly one of
 * iiofab_loss_deliver() (the block was read intact and goes to the
 * application) or iiofab_loss_torn() (its generation changed under the
 * READ: dropped). The server reports with each entry the scans this
 * subscriber lost before it (gaps, reclaimed blocks, and in shard mode
 * blocks no shard got); the scans of torn blocks are added here. Each
 * delivered block reports the loss since the previous delivered block, so
 * nothing is lost silently.
 *
 * Where a subscriber sees every block (exclusive, fan-out), the server's
 * figure is checked: each entry must start exactly where the previous one
 * ended plus its loss. A shard's entries only have to move forward; a
 * redelivered block (one a shard that went away had been told of) is
 * exempt, being older than blocks this shard may have had already.
 */
#ifndef IIOFAB_LOSS_H
#define IIOFAB_LOSS_H

#include <stdbool.h>
#include <stdint.h>

#include <iiofab/wire.h>

struct iiofab_loss {
	bool contiguous;		/* the subscriber sees every block */
	bool started;			/* an entry was accounted */
	uint64_t next_sample;		/* first scan after the last entry */
	uint64_t next_seq;		/* lowest seq the next entry may have */
	uint64_t pending_lost;		/* lost, not yet reported by a delivered block */
	/* Totals since iiofab_loss_init() */
	uint64_t delivered_blocks;
	uint64_t delivered_samples;
	uint64_t lost_samples;		/* reported by the server and torn */
	uint64_t torn_blocks;
	uint64_t torn_samples;
	uint64_t dropped_blocks;
	uint64_t redelivered_blocks;
};

void iiofab_loss_init(struct iiofab_loss *l, bool contiguous);

/*
 * Scans in a block: bytes_used / scan_bytes. -EINVAL for scan_bytes 0,
 * -EBADMSG when bytes_used is not a whole number of scans.
 */
int iiofab_loss_block_scans(uint32_t bytes_used, uint16_t scan_bytes, uint64_t *scans);

/*
 * An intact block of `scans` scans. *lost receives the samples lost since
 * the previous delivered block. -EBADMSG (and nothing changes) if the entry
 * goes backwards, overlaps samples already accounted for, or (contiguous)
 * does not start where its loss says it should.
 */
int iiofab_loss_deliver(struct iiofab_loss *l, const struct iiofab_wire_ready_entry *e,
			uint64_t scans, uint64_t *lost);

/* A torn block: its samples count as lost. Same errors as deliver. */
int iiofab_loss_torn(struct iiofab_loss *l, const struct iiofab_wire_ready_entry *e,
		     uint64_t scans);

/* An entry given back unread: its samples count as lost. Same errors as deliver. */
int iiofab_loss_drop(struct iiofab_loss *l, const struct iiofab_wire_ready_entry *e,
		     uint64_t scans);

/*
 * Entries dropped while an older READ is in flight, folded into one that
 * iiofab_loss_drop() takes after that READ is accounted: the order of the
 * accounting stays the order of the stream.
 */
struct iiofab_loss_drops {
	bool any;
	struct iiofab_wire_ready_entry last;	/* its lost: of all of them */
	uint64_t scans;				/* of the last one */
};

void iiofab_loss_drops_add(struct iiofab_loss_drops *d, const struct iiofab_wire_ready_entry *e,
			   uint64_t scans);
/* Hands the folded entries to iiofab_loss_drop() and empties d. */
int iiofab_loss_drops_flush(struct iiofab_loss *l, struct iiofab_loss_drops *d);

/* Loss not yet reported (e.g. torn blocks at the end of a stream); clears it. */
uint64_t iiofab_loss_take_pending(struct iiofab_loss *l);

#endif /* IIOFAB_LOSS_H */
