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

	/* The stream room's policy: at most one stream per context. */
	struct iiofab_stream *stream;
};

/* The deadline of a wait of timeout_ms (< 0: the context's op timeout). */
static inline int64_t ctx_deadline(const struct iiofab_ctx *ctx, int timeout_ms)
{
	if (timeout_ms < 0)
		timeout_ms = (int)ctx->op_timeout_ms;
	return iiofab_now_ms() + timeout_ms;
}

#endif /* IIOFAB_CTX_H */
