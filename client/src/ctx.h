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

/*
 * Runs the connection until done(arg). timeout_ms >= 0 bounds the wait by
 * the clock (the application's own polling: 0 does not wait); < 0 waits
 * while the server shows signs of life, until it was silent for the op
 * timeout (transport_progress_alive).
 */
static inline int ctx_wait(const struct iiofab_ctx *ctx, int timeout_ms,
			   transport_done_fn done, void *arg)
{
	if (timeout_ms < 0)
		return transport_progress_alive(ctx->xp, ctx->op_timeout_ms, done, arg);
	return transport_progress(ctx->xp, iiofab_now_ms() + timeout_ms, done, arg);
}

#endif /* IIOFAB_CTX_H */
