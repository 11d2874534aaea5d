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

bool srv_ring_pop(struct srv_ring *r, struct srv_ring_entry *e)
{
	if (!r->len)
		return false;
	*e = r->e[r->head];
	r->head = (r->head + 1) % r->cap;
	r->len--;
	return true;
}
