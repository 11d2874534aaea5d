/* SPDX-License-Identifier: MIT */
/*
 * A stream's sample memory: one sealed memfd of count * block_size bytes,
 * one udmabuf per block over its slice, attached to an IIO buffer fd.
 */
#ifndef IIOFAB_SRV_ARENA_H
#define IIOFAB_SRV_ARENA_H

#include <stddef.h>
#include <stdint.h>

struct srv_arena {
	int memfd;
	void *map;		/* MAP_SHARED view of the memfd (registration) */
	size_t size;
	size_t block_size;
	unsigned int count;
	int buf_fd;		/* IIO buffer fd, not owned; -1 if detached */
	unsigned int attached;	/* blocks attached so far */
	int dmabuf[];		/* per block */
};

int srv_arena_create(struct srv_arena **out, size_t block_size,
		     unsigned int count);
/* Detaches (if attached) and releases everything; accepts NULL. */
void srv_arena_destroy(struct srv_arena *a);
/* Attaches every block to buf_fd; on failure nothing stays attached. */
int srv_arena_attach(struct srv_arena *a, int buf_fd);
void srv_arena_detach(struct srv_arena *a);
/*
 * Hands block blk (all fences signalled) to IIO for bytes_used bytes;
 * flags are IIO_BUFFER_DMABUF_* (CYCLIC for an output waveform).
 */
int srv_arena_enqueue(struct srv_arena *a, unsigned int blk, size_t bytes_used,
		      uint32_t flags);

#endif
