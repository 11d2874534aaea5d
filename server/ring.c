// SPDX-License-Identifier: MIT
#include <errno.h>
#include <stdlib.h>

#include "srv_ring.h"

int srv_ring_init(struct srv_ring *r, unsigned int cap)
{
	r->head = r->len = 0;
	r->cap = cap;
	r->e = calloc(cap ? cap : 1, sizeof(*r->e));
	if (!r->e) {
		srv_ring_free(r);
		return -ENOMEM;
	}
	return 0;
}

void srv_ring_free(struct srv_ring *r)
{
	free(r->e);
	r->e = NULL;
	r->head = r->len = r->cap = 0;
}

bool srv_ring_push(struct srv_ring *r, const struct srv_ring_entry *e)
{
	if (r->len == r->cap)
		return false;
	r->e[(r->head + r->len) % r->cap] = *e;
	r->len++;
	return true;
}

uint64_t srv_ring_prune(struct srv_ring *r,
			bool (*gone)(const struct srv_ring_entry *e, const void *arg),
			const void *arg, uint64_t extra)
{
	unsigned int kept = 0;
	uint64_t carry = 0;

	for (unsigned int i = 0; i < r->len; i++) {
		struct srv_ring_entry e = r->e[(r->head + i) % r->cap];

		if (gone(&e, arg)) {
			carry += e.lost + extra;
			continue;
		}
		e.lost += carry;
		carry = 0;
		r->e[(r->head + kept++) % r->cap] = e;
	}
	r->len = kept;
	return carry;
}

bool srv_ring_pop(struct srv_ring *r, struct srv_ring_entry *e)
{
	if (!r->len)
		return false;
	*e = r->e[r->head];
	r->head = (r->head + 1) % r->cap;
	r->len--;
	return true;
}
