/* SPDX-License-Identifier: MIT */
/*
 * A stream: what both directions share, and the per-direction ops table
 * chosen at open. stream.c holds open, start, close and the getters;
 * adc.c and dac.c sit above it, each with its direction's public calls
 * and its ops table, which stream.c only reaches through the pointer it
 * was given.
 */
#ifndef IIOFAB_STREAM_H
#define IIOFAB_STREAM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <infiniband/verbs.h>

#include <iiofab/wire.h>

#include "iiofab.h"
#include "rpc.h"
#include "transport.h"

#define STREAM_MAX_BLOCKS IIOFAB_WIRE_MAX_BLOCKS
/* Send WQEs one block may take at once: an input block's READ pair. */
#define STREAM_WQES_PER_BLOCK 2u

struct iiofab_stream;

struct stream_ops {
	bool output;			/* direction of the channels */
	const struct rpc_sub_ops *sub;	/* what the stream hears */
	/* Direction state (s->dir), once the landing buffer is registered;
	 * fini accepts whatever a failed init left, s->dir NULL included. */
	int (*init)(struct iiofab_stream *s);
	void (*fini)(struct iiofab_stream *s);
	/* A turn of the progress loop. */
	void (*idle)(struct iiofab_stream *s);
	/* Before STOP on a healthy connection; NULL: nothing to wait for. */
	void (*drain)(struct iiofab_stream *s);
	/* No RDMA operation of the stream is outstanding. */
	bool (*quiet)(const struct iiofab_stream *s);
};

struct iiofab_stream {
	struct iiofab_ctx *ctx;
	const struct iiofab_device *dev;
	const struct stream_ops *ops;
	void *dir;			/* the direction's state */
	struct transport_idle idle;
	struct rpc_sub sub;		/* READY, FREE, STREAM_EVENT */

	uint8_t mode;			/* enum iiofab_wire_mode */
	/* As STREAM_INFO describes the stream. */
	uint32_t id;
	size_t block_size;
	unsigned int block_count;
	size_t scan_bytes;
	uint8_t reg_path;
	uint64_t gen_addr;
	uint32_t gen_rkey;
	struct iiofab_wire_block remote[IIOFAB_WIRE_MAX_BLOCKS];
	unsigned int n_channels;
	const struct iiofab_channel *channels[IIOFAB_WIRE_MAX_CHANNELS];
	unsigned int offsets[IIOFAB_WIRE_MAX_CHANNELS];	/* in a scan */

	/* block_count slots of block_size bytes, registered: input blocks
	 * land here, output blocks are filled here. */
	uint8_t *landing;
	struct ibv_mr *landing_mr;

	bool started;
	bool closing;
	int err;			/* sticky for this stream */
	struct iiofab_stream_stats stats;
};

/*
 * Opens a stream of ops' direction on the channels of channel_mask, in
 * mode (enum iiofab_wire_mode). A stream that joins one in force takes
 * its block size and count from the server.
 */
int stream_open(struct iiofab_ctx *ctx, const struct iiofab_device *dev,
		const struct stream_ops *ops, uint64_t channel_mask,
		size_t block_size, unsigned int block_count, uint8_t mode,
		struct iiofab_stream **out);
/* An exclusive stream on channel ids or names (NULL: every scannable channel). */
int stream_open_named(struct iiofab_ctx *ctx, const struct iiofab_device *dev,
		      const struct stream_ops *ops, const char *const *channels,
		      size_t block_size, unsigned int block_count,
		      struct iiofab_stream **out);
/* The STREAM_EVENT handler both directions subscribe with. */
void stream_on_event(struct rpc_sub *sub,
		     const struct iiofab_msg_stream_event *ev);

static inline struct iiofab_stream *stream_of_sub(struct rpc_sub *sub)
{
	return (struct iiofab_stream *)((char *)sub -
					offsetof(struct iiofab_stream, sub));
}

static inline uint8_t *stream_slot(const struct iiofab_stream *s,
				   unsigned int slot)
{
	return s->landing + (size_t)slot * s->block_size;
}

/* A FIFO of up to cap block or slot indices. */
struct index_ring {
	uint32_t *v;
	unsigned int cap, head, count;
};

static inline void index_ring_push(struct index_ring *r, uint32_t x)
{
	r->v[(r->head + r->count) % r->cap] = x;
	r->count++;
}

static inline uint32_t index_ring_front(const struct index_ring *r)
{
	return r->v[r->head];
}

static inline uint32_t index_ring_pop(struct index_ring *r)
{
	uint32_t x = r->v[r->head];

	r->head = (r->head + 1) % r->cap;
	r->count--;
	return x;
}

#endif /* IIOFAB_STREAM_H */
