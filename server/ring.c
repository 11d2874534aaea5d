// SPDX-License-Identifier: MIT
#include <errno.h>
#include <stdlib.h>

#include "srv_ring.h"

int srv_ring_init(struct srv_ring *r, unsigned int cap)
{
	r->head = r->len = 0;
	r->cap = cap;
	r->blk = calloc(cap ? cap : 1, sizeof(*r->blk));
	r->gen = calloc(cap ? cap : 1, sizeof(*r->gen));
	if (!r->blk || !r->gen) {
		srv_ring_free(r);
		return -ENOMEM;
	}
	return 0;
}

void srv_ring_free(struct srv_ring *r)
{
	free(r->blk);
	free(r->gen);
	r->blk = NULL;
	r->gen = NULL;
	r->head = r->len = r->cap = 0;
}

bool srv_ring_push(struct srv_ring *r, uint32_t blk, uint64_t gen)
{
	unsigned int at;

	if (r->len == r->cap)
		return false;
	at = (r->head + r->len) % r->cap;
	r->blk[at] = blk;
	r->gen[at] = gen;
	r->len++;
	return true;
}

bool srv_ring_pop(struct srv_ring *r, uint32_t *blk, uint64_t *gen)
{
	if (!r->len)
		return false;
	*blk = r->blk[r->head];
	*gen = r->gen[r->head];
	r->head = (r->head + 1) % r->cap;
	r->len--;
	return true;
}
