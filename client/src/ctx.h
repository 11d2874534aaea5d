/* SPDX-License-Identifier: MIT */
/*
 * The context: what it owns and what each room may read of it. Never
 * installed.
 */
#ifndef IIOFAB_CTX_H
#define IIOFAB_CTX_H

#include <stdint.h>
#include <stdbool.h>

#include <infiniband/verbs.h>

#include <iiofab/clock.h>
#include <iiofab/log.h>
#include <iiofab/wire.h>

#include "devices.h"
#include "iiofab.h"
#include "rpc.h"
#include "transport.h"

/* Control message slots. */
#define CTL_SEND_SLOTS 16u
/* The protocol asks for block_count + 16 posted RECVs while a stream is
 * open; post the maximum from the start so opening a stream never has to
 * grow the receive ring. */
#define CTL_MAX_BLOCKS IIOFAB_WIRE_MAX_BLOCKS
#define CTL_RECV_SLOTS (CTL_MAX_BLOCKS + 16u)
/* Each READ pair takes two send WQEs. */
#define QP_SEND_DEPTH (CTL_SEND_SLOTS + 2u * CTL_MAX_BLOCKS)
/* Outstanding RDMA READs worth asking the device for. */
#define QP_MAX_RDMA_READS 64u

struct iiofab_ctx {
	struct iiofab_params params;	/* psk points at psk_copy */
	struct iiofab_logger log;	/* forwards to params.log_fn */
	uint8_t *psk_copy;
	unsigned int connect_timeout_ms;
	unsigned int op_timeout_ms;

	struct transport *xp;
	struct rpc *rpc;

	unsigned int n_devices;
	struct iiofab_device *devices;

	struct iiofab_stream *stream;	/* at most one open */
};

/* The deadline of a wait of timeout_ms (< 0: the context's op timeout). */
static inline int64_t ctx_deadline(const struct iiofab_ctx *ctx, int timeout_ms)
{
	if (timeout_ms < 0)
		timeout_ms = (int)ctx->op_timeout_ms;
	return iiofab_now_ms() + timeout_ms;
}

#endif /* IIOFAB_CTX_H */
