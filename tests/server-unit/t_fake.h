/* SPDX-License-Identifier: MIT */
/*
 * A fake converter, fake verbs and a recording sink, so the stream rooms
 * (stream.c, adc.c, dac.c) run natively: the test plays the converter,
 * finishing blocks in enqueue order and moving its drop counter by hand.
 */
#ifndef T_FAKE_H
#define T_FAKE_H

#include <stdbool.h>
#include <stdint.h>

#include <iiofab/wire.h>

#include "srv_stream.h"

#define T_MAX_BLOCKS 16
#define T_MAX_MSGS 256

struct t_conv {
	struct srv_conv pub;
	uint8_t *map;
	int fds[T_MAX_BLOCKS];
	unsigned int fifo[T_MAX_BLOCKS];	/* queued blocks, in enqueue order */
	unsigned int head, len;
	bool done[T_MAX_BLOCKS];		/* fence signalled, not yet delivered */
	bool cyclic[T_MAX_BLOCKS];
	size_t bytes[T_MAX_BLOCKS];
	bool has_counter;
	uint64_t counter;
	bool enabled;
	unsigned int enqueues;
	int fail_enqueue;			/* -errno for the next enqueue */
	bool destroyed;
};

struct t_sink {
	uint8_t bufs[4][SRV_CTRL_SIZE];
	unsigned int free_slots;		/* 0..4: how many get_buf may hand out */
	unsigned int in_use;
	union iiofab_wire_msg *msg;
	/* What was sent, flattened. */
	struct iiofab_wire_ready_entry ready[T_MAX_MSGS];
	unsigned int n_ready;
	uint32_t free_blocks[T_MAX_MSGS];
	unsigned int n_free;
	struct iiofab_msg_stream_event events[T_MAX_MSGS];
	unsigned int n_events;
	unsigned int messages;
};

struct t_env {
	struct srv_stats stats;
	struct srv_streams streams;
	struct t_conv *conv;
	struct t_sink sink;
	struct srv_stream *st;
	struct srv_sub *sub;
	struct ibv_pd *pd;
};

/* A stream of count blocks of block_size bytes, 4 channels of 16 bits. */
void t_env_open(struct t_env *e, const struct srv_dir_ops *ops, unsigned int count,
		uint32_t block_size, bool has_counter);
/* The same in a mode (enum iiofab_wire_mode). */
void t_env_open_mode(struct t_env *e, const struct srv_dir_ops *ops, unsigned int count,
		     uint32_t block_size, bool has_counter, uint8_t mode);
/* Removes the subscriber (the stream goes with it) and checks nothing leaked. */
void t_env_close(struct t_env *e);
/* The same once the last subscriber is gone already. */
void t_env_free(struct t_env *e);

/* Another subscriber of e's stream, its messages recorded in sink. */
struct srv_sub *t_env_join(struct t_env *e, struct t_sink *sink);
void t_sink_free(struct t_sink *sink);
int t_release_sub(struct srv_sub *sub, unsigned int blk, uint64_t gen,
		  struct srv_refusal *why);

/* The converter fills the oldest queued block (its fence signals). */
unsigned int t_conv_finish(struct t_conv *c);
/* The daemon's poll on that block fires. */
void t_conv_deliver(struct t_conv *c, unsigned int blk);
/* Both at once: the usual completion. */
unsigned int t_conv_complete(struct t_conv *c);

int t_release(struct t_env *e, unsigned int blk, uint64_t gen, struct srv_refusal *why);

#endif
