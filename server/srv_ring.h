/* SPDX-License-Identifier: MIT */
/*
 * A subscriber's queue of blocks waiting to be announced (READY, with the
 * generation they were announced for and the loss to report with them) or
 * granted (FREE). A block is queued at most once per generation, so a ring
 * of one slot per block of the stream never overflows; a push that would
 * is refused, not wrapped.
 */
#ifndef IIOFAB_SRV_RING_H
#define IIOFAB_SRV_RING_H

#include <stdbool.h>
#include <stdint.h>

struct srv_ring_entry {
	uint32_t blk;
	uint32_t flags;			/* IIOFAB_WIRE_READY_* */
	uint64_t gen;
	uint64_t lost;			/* scans lost before the block */
};

struct srv_ring {
	struct srv_ring_entry *e;
	unsigned int head, len, cap;
};

int srv_ring_init(struct srv_ring *r, unsigned int cap);
/* Accepts a ring that was never initialised (zeroed). */
void srv_ring_free(struct srv_ring *r);
bool srv_ring_push(struct srv_ring *r, const struct srv_ring_entry *e);
/* The oldest entry; false when empty. */
bool srv_ring_pop(struct srv_ring *r, struct srv_ring_entry *e);
/*
 * Removes the entries gone() names, in order: each one's lost plus extra
 * moves to the next entry kept. Returns what follows the last one kept,
 * for the entry pushed next.
 */
uint64_t srv_ring_prune(struct srv_ring *r,
			bool (*gone)(const struct srv_ring_entry *e, const void *arg),
			const void *arg, uint64_t extra);

static inline unsigned int srv_ring_len(const struct srv_ring *r)
{
	return r->len;
}

#endif
