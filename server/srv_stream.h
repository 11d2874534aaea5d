/* SPDX-License-Identifier: MIT */
/*
 * Streams and their subscribers: the generic part of a stream's life, the
 * block table, the generation table, and sending to subscribers. What
 * differs by direction (ADC: READY, RELEASE, overrun reclaim; DAC: FREE
 * credits, SUBMIT) sits behind a struct srv_dir_ops chosen at open
 * (srv_adc_ops in adc.c, srv_dac_ops in dac.c).
 *
 * Lifetimes: a stream owns its converter buffer (struct srv_conv), its
 * generation table and its subscribers; a subscriber owns its client's
 * registration of the arena (the client's rkeys), which dies with it. A
 * stream lives while it has subscribers. The stream room never sees a
 * client: a subscriber's messages go to a struct srv_sink, and its memory
 * is registered in the protection domain it was given.
 */
#ifndef IIOFAB_SRV_STREAM_H
#define IIOFAB_SRV_STREAM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <iiofab/log.h>
#include <iiofab/wire.h>

#include "srv.h"
#include "srv_conv.h"
#include "srv_iio.h"
#include "srv_reg.h"
#include "srv_ring.h"
#include "srv_sink.h"

struct ibv_pd;
struct srv_stream;
struct srv_sub;
struct srv_block;

/* Why a request was refused: the errno for the wire status and a text. */
struct srv_refusal {
	int err;
	char text[256];
};

int srv_refuse(struct srv_refusal *r, int err, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Every stream of a server. */
struct srv_streams {
	const struct iiofab_logger *log;
	struct srv_stats *stats;
	const struct srv_verbs_ops *verbs;
	struct srv_stream *list;
	uint32_t next_id;
	/*
	 * Test only (iiofabd --test-tear-every): every Nth announced input
	 * block goes back to the converter right after its READY, so the
	 * client's READ of it overlaps its reuse. 0: never.
	 */
	unsigned int tear_every;
};

struct srv_dir_ops {
	const char *name;		/* "input", "output" */
	bool output;
	int access;			/* IBV_ACCESS_* of a client's registration */
	bool gen_table;			/* clients READ block generations */
	/* START on a stopped stream; on failure the stream is stopped again. */
	int (*start)(struct srv_stream *st);
	/* A queued block of a started stream completed (its fences signalled). */
	void (*block_done)(struct srv_block *blk);
	/* Pending entries of sub into one message in buf: its length, or 0. */
	int (*encode)(struct srv_sub *sub, void *buf, size_t cap);
	/* NULL: the direction refuses the request. */
	int (*release)(struct srv_sub *sub, const struct iiofab_msg_release *m,
		       struct srv_refusal *why);
	int (*submit)(struct srv_sub *sub, const struct iiofab_msg_submit *m,
		      struct srv_refusal *why);
	/* sub starts receiving (it may join a stream that runs already). */
	void (*sub_start)(struct srv_sub *sub);
	/* sub is leaving, or stops while others go on: its holds go back. */
	void (*drop_holds)(struct srv_sub *sub);
};

extern const struct srv_dir_ops srv_adc_ops;
extern const struct srv_dir_ops srv_dac_ops;

/*
 * HELD: ADC, announced and not yet released; DAC, granted to the client.
 * WAITING: ADC shard mode, completed while no shard had room (or left by
 * a shard that went away), to be assigned in seq order.
 */
enum srv_block_state {
	SRV_BLK_IDLE,
	SRV_BLK_QUEUED,
	SRV_BLK_HELD,
	SRV_BLK_WAITING,
};

/* A subscriber's hold on a block (srv_sub.held). */
enum srv_hold {
	SRV_HOLD_NONE,
	SRV_HOLD_QUEUED,		/* its READY has not gone out yet */
	SRV_HOLD_SENT,
};

struct srv_block {
	struct srv_stream *st;
	unsigned int idx;
	enum srv_block_state state;
	unsigned int holders;
	uint32_t epoch;			/* the stream's epoch when queued */
	uint64_t enq_seq;		/* enqueue order */
	/* ADC */
	uint64_t gap;			/* scans the converter dropped before it */
	uint64_t seq;
	uint64_t first_sample;
	uint64_t ts_ns;
	/* Shard: the loss to report with the block, and whether a shard that
	 * went away had it announced already. */
	uint64_t lost;
	bool redelivered;
	/* DAC */
	uint32_t bytes_used;		/* as submitted */
	bool cyclic;			/* repeats until replaced */
};

struct srv_adc_state {
	unsigned int spare;		/* reclaim below this many queued blocks */
	int last_enq;			/* block enqueued last, -1 after START */
	uint64_t suspect_until;		/* blocks enqueued up to here may hold a hole */
	bool has_overruns;		/* the driver counts dropped scans */
	bool drops_seen;		/* ... and it dropped some since START */
	uint64_t overruns_seen;
	uint64_t next_seq;
	uint64_t next_sample;
	/* Shard: where the last block that entered delivery ended, and loss
	 * no shard was told of yet. */
	uint64_t delivered_until;
	uint64_t shard_carry;
	unsigned int next_shard;	/* round-robin among equals */
};

struct srv_dac_state {
	bool enabled;			/* the buffer runs from the first submit after START */
	bool has_underruns;		/* the driver counts underruns */
	uint64_t underruns_base;	/* the driver's count at enable */
	uint64_t underruns;		/* since enable, as last reported */
};

struct srv_stream {
	struct srv_streams *all;
	struct srv_stream *next;
	uint32_t id;
	const struct srv_dir_ops *ops;
	struct srv_conv *conv;
	const void *device;		/* what the stream holds, for joins */
	const char *device_id;
	uint64_t channel_mask;
	uint8_t mode;			/* enum iiofab_wire_mode */
	struct srv_scan scan;
	uint32_t block_size;
	uint32_t count;
	uint64_t *gen;			/* page-aligned, count words */
	size_t gen_len;
	bool started;
	uint32_t epoch;			/* bumped on STOP: stale fences are not data */
	unsigned int queued;
	uint64_t enq_counter;
	union {
		struct srv_adc_state adc;
		struct srv_dac_state dac;
	};
	struct srv_sub *subs;
	unsigned int n_subs;
	unsigned int n_started;		/* subscribers that sent START */
	struct srv_block blocks[];
};

/* One client's membership in a stream. */
struct srv_sub {
	struct srv_stream *st;
	struct srv_sub *st_next;	/* in the stream's list */
	struct srv_sub *owner_next;	/* for the owner's own list; never touched here */
	struct srv_sink sink;
	struct srv_reg *reg;
	uint64_t owner_id;		/* the client, for logs and STATS */
	const char *owner_peer;		/* its address; outlives the subscription */
	bool started;
	uint8_t *held;			/* per block: enum srv_hold, current generation */
	unsigned int n_held;
	struct srv_ring pending;	/* blocks awaiting READY or FREE */
	/* ADC: where its last announced block ended (fan-out, exclusive), and
	 * loss of entries dropped unsent, for its next entry. */
	uint64_t announced_until;
	uint64_t carry;
	/* For STATS: READY entries sent, scans reported lost in them, blocks
	 * taken back while it held them, entries marked redelivered. */
	uint64_t delivered;
	uint64_t lost;
	uint64_t reclaimed;
	uint64_t redelivered;
};

struct srv_stream_params {
	uint32_t block_size;
	uint32_t count;
	uint8_t mode;
	const struct srv_scan *scan;
	const void *device;
	const char *device_id;		/* must outlive the stream */
	uint64_t channel_mask;
};

/*
 * A stream over conv (which it now owns, also on failure), stopped and
 * without subscribers; ops picks the direction.
 */
int srv_stream_create(struct srv_streams *all, struct srv_conv *conv,
		      const struct srv_dir_ops *ops, const struct srv_stream_params *p,
		      struct srv_stream **out);
/* Registers conv's arena (and the generation table) in pd for a new subscriber. */
int srv_sub_add(struct srv_stream *st, const struct srv_sink *sink, struct ibv_pd *pd,
		struct srv_sub **out);
/* The subscriber leaves: its holds go back, its MRs die, the stream with the last one. */
void srv_sub_remove(struct srv_sub *sub);
/* Frees a stream that never got a subscriber. */
void srv_stream_destroy(struct srv_stream *st);

/* The input or output stream open on device, or NULL. */
struct srv_stream *srv_stream_find(struct srv_streams *all, const void *device, bool output);
/* START from sub: the stream runs while one of its subscribers is started. */
int srv_sub_start(struct srv_sub *sub);
/* STOP from sub: the last one stops the stream; otherwise sub's holds go back. */
void srv_sub_stop(struct srv_sub *sub);
int srv_stream_release(struct srv_sub *sub, const struct iiofab_msg_release *m,
		       struct srv_refusal *why);
int srv_stream_submit(struct srv_sub *sub, const struct iiofab_msg_submit *m,
		      struct srv_refusal *why);
/* STREAM_INFO for sub: its block table with its rkeys. */
void srv_stream_info(const struct srv_sub *sub, struct iiofab_msg_stream_info *info);

/* Sends pending READY or FREE messages while send buffers are free. */
void srv_sub_flush(struct srv_sub *sub);
/* Queues an entry for sub and sends what it can. */
void srv_sub_queue(struct srv_sub *sub, const struct srv_ring_entry *e);
/* A STREAM_EVENT to every subscriber. */
void srv_stream_event(struct srv_stream *st, uint32_t event, uint64_t value);
/* The converter's drop counter (ADC overruns, DAC underruns); false when none. */
bool srv_stream_read_counter(struct srv_stream *st, uint64_t *val);
/* Scans in a block of the stream. */
static inline uint64_t srv_stream_block_scans(const struct srv_stream *st)
{
	return st->block_size / st->scan.scan_bytes;
}

#endif
