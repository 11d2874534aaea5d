/* SPDX-License-Identifier: MIT */
/* A stream's state, shared by stream.c (ADC, open/close) and dac.c (DAC). */
#ifndef IIOFAB_STREAM_H
#define IIOFAB_STREAM_H

#include <stdbool.h>
#include <stdint.h>

#include <iiofab/loss.h>
#include <iiofab/wire.h>

#include "iiofab.h"
#include "rpc.h"
#include "transport.h"

struct slot;
struct pending;
struct dac_write;

enum dac_owner {
	DAC_NONE,	/* not granted yet (before START) */
	DAC_CREDIT,	/* granted, waiting for iiofab_stream_get_free() */
	DAC_APP,	/* handed to the application */
	DAC_SUBMITTED,	/* written and submitted, the converter has it */
};

struct iiofab_stream {
	struct iiofab_ctx *ctx;
	struct transport_idle idle;	/* posts READs, sends batches */
	struct rpc_sub sub;		/* READY, FREE, STREAM_EVENT */
	const struct iiofab_device *dev;
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
	unsigned int offsets[IIOFAB_WIRE_MAX_CHANNELS];	/* in a scan, per channel */

	uint8_t *landing;
	struct ibv_mr *landing_mr;
	uint64_t *gens;
	struct ibv_mr *gens_mr;
	struct slot *slots;
	uint32_t *free_slots;
	unsigned int n_free;

	/* READY entries not yet read, oldest first. */
	struct pending *pend;
	unsigned int pend_cap, pend_head, pend_count;
	/* Landing slots in READ order; completions arrive in this order. */
	uint32_t *reading;
	unsigned int rd_head, rd_count;
	/* Verified slots in sequence order. */
	uint32_t *queue;
	unsigned int q_head, q_count;

	struct iiofab_wire_release_entry *rel;
	unsigned int n_rel, rel_cap;

	unsigned int max_inflight;	/* block READs posted at once */
	bool shed;			/* overrun seen: skip to the newest */
	bool started;
	bool closing;
	int err;
	struct iiofab_loss loss;
	struct iiofab_stream_stats stats;
	struct iiofab_msg_release rel_msg;	/* encode scratch */

	/*
	 * Output streams. The landing buffer is the source: block b of the
	 * board is written from slot b. queue holds granted blocks (credits)
	 * not yet handed to the application.
	 */
	bool output;
	uint8_t *dac_owner;		/* per block: enum dac_owner */
	struct dac_write *writes;	/* per block: its WRITE's completion */
	unsigned int writes_pending;	/* WRITEs not yet completed */
	unsigned int in_flight;		/* submitted, credit not yet back */
	int cyclic_blk;			/* the repeating block, or -1 */
	struct iiofab_wire_submit_entry *sub_q;	/* not yet in a SUBMIT */
	unsigned int n_sub;
	uint64_t consumed;		/* credits returned after a submit */
	struct iiofab_msg_submit sub_msg;	/* encode scratch */
};

/* dac.c */
int dac_alloc(struct iiofab_stream *s);
void dac_free(struct iiofab_stream *s);
void dac_on_idle(struct iiofab_stream *s);
void dac_on_free(struct rpc_sub *sub, const struct iiofab_msg_free *m);
/* Waits (bounded by progress) until every submitted block was consumed. */
int dac_drain(struct iiofab_stream *s, int timeout_ms);

#endif /* IIOFAB_STREAM_H */
