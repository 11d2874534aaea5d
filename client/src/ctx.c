// SPDX-License-Identifier: MIT
/*
 * The context: connect (transport, request/reply, handshake, device table)
 * and disconnect, user data, server statistics.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <iiofab/auth.h>
#include <iiofab/uri.h>

#include "ctx.h"
#include "devices.h"
#include "hello.h"
#include "rpc.h"
#include "stream.h"

/*
 * The library logs through a struct iiofab_logger; the application's
 * callback takes the public enum, whose values are the logger's levels.
 */
static void forward_log(void *arg, int level, const char *msg)
{
	const struct iiofab_params *params = arg;

	params->log_fn(params->user_data, (enum iiofab_log_level)level, msg);
}

void *iiofab_ctx_get_user_data(const struct iiofab_ctx *ctx)
{
	return ctx->params.user_data;
}

/* ---- connect ----------------------------------------------------------- */

/*
 * Control slots and queue depths: the protocol asks for block_count + 16
 * posted receives while a stream is open, and each block may take
 * STREAM_WQES_PER_BLOCK send WQEs at once. Sized for the largest stream
 * from the start, so opening one never has to grow a queue.
 */
#define CTL_SEND_SLOTS 16u
#define CTL_RECV_SLOTS (STREAM_MAX_BLOCKS + 16u)
#define QP_SEND_DEPTH (CTL_SEND_SLOTS + STREAM_WQES_PER_BLOCK * STREAM_MAX_BLOCKS)
/* Outstanding RDMA READs worth asking the device for. */
#define QP_MAX_RDMA_READS 64u

static int open_transport(struct iiofab_ctx *ctx, const struct iiofab_uri *u)
{
	const struct transport_params tp = {
		.host = u->host,
		.service = u->service,
		.connect_timeout_ms = ctx->connect_timeout_ms,
		.slot_size = RPC_SLOT_SIZE,
		.send_slots = CTL_SEND_SLOTS,
		.recv_slots = CTL_RECV_SLOTS,
		.send_depth = QP_SEND_DEPTH,
		.max_rdma_reads = QP_MAX_RDMA_READS,
		.log = &ctx->log,
		.on_recv = rpc_on_recv,
		.recv_arg = ctx->rpc,
	};

	return transport_open(&tp, &ctx->xp);
}

/* The context keeps its own copy of the key; zero fields take defaults. */
static int take_params(struct iiofab_ctx *ctx,
		       const struct iiofab_params *params)
{
	if (params)
		ctx->params = *params;
	ctx->params.psk = NULL;
	if (ctx->params.psk_len) {
		if (!params->psk)
			return -EINVAL;
		ctx->psk_copy = malloc(params->psk_len);
		if (!ctx->psk_copy)
			return -ENOMEM;
		memcpy(ctx->psk_copy, params->psk, params->psk_len);
		ctx->params.psk = ctx->psk_copy;
	}
	ctx->connect_timeout_ms = ctx->params.connect_timeout_ms ?
		ctx->params.connect_timeout_ms : IIOFAB_DEFAULT_CONNECT_TIMEOUT_MS;
	ctx->op_timeout_ms = ctx->params.op_timeout_ms ?
		ctx->params.op_timeout_ms : IIOFAB_DEFAULT_OP_TIMEOUT_MS;
	ctx->log = (struct iiofab_logger){
		.fn = ctx->params.log_fn ? forward_log : NULL,
		.arg = &ctx->params,
		.level = (int)ctx->params.log_level,
	};
	return 0;
}

static void free_ctx(struct iiofab_ctx *ctx)
{
	if (ctx->psk_copy)
		explicit_bzero(ctx->psk_copy, ctx->params.psk_len);
	free(ctx->psk_copy);
	free(ctx);
}

int iiofab_connect(const char *uri, const struct iiofab_params *params,
		   struct iiofab_ctx **out)
{
	struct iiofab_ctx *ctx;
	struct iiofab_uri u;
	int ret;

	*out = NULL;
	ctx = calloc(1, sizeof(*ctx));
	if (!ctx)
		return -ENOMEM;
	ret = take_params(ctx, params);
	if (ret)
		goto out_free_ctx;
	ret = iiofab_uri_parse(uri, &u);
	if (ret) {
		iiofab_log_err(&ctx->log,
			       "bad URI '%s' (expected rdma://host[:port])", uri);
		goto out_free_ctx;
	}
	/* Without a key the nonce still wants libcrypto's random generator. */
	ret = iiofab_auth_warmup(ctx->params.psk, ctx->params.psk_len);
	if (ret)
		goto out_free_ctx;
	ret = rpc_create(&ctx->log, ctx->op_timeout_ms, &ctx->rpc);
	if (ret)
		goto out_free_ctx;
	ret = open_transport(ctx, &u);
	if (ret)
		goto out_destroy_rpc;
	rpc_attach(ctx->rpc, ctx->xp);
	ret = hello_handshake(ctx->rpc, &ctx->params, &ctx->log);
	if (ret)
		goto out_close_transport;
	ret = devices_load(ctx);
	if (ret)
		goto out_free_devices;
	*out = ctx;
	return 0;

out_free_devices:
	devices_free(ctx);
out_close_transport:
	transport_close(ctx->xp);
out_destroy_rpc:
	rpc_destroy(ctx->rpc);
out_free_ctx:
	free_ctx(ctx);
	return ret;
}

void iiofab_disconnect(struct iiofab_ctx *ctx)
{
	if (!ctx)
		return;
	iiofab_stream_close(ctx->stream);
	devices_free(ctx);
	transport_close(ctx->xp);
	rpc_destroy(ctx->rpc);
	free_ctx(ctx);
}

/* ---- server statistics ------------------------------------------------- */

int iiofab_ctx_get_server_stats(struct iiofab_ctx *ctx, iiofab_stat_fn cb,
				void *user_data, char *reg_path,
				size_t reg_path_len)
{
	const struct iiofab_msg_stats_reply *r;
	struct rpc_reply reply;
	int ret = rpc_call(ctx->rpc, IIOFAB_MSG_STATS, NULL,
			   IIOFAB_MSG_STATS_REPLY, &reply);

	if (ret < 0)
		return ret;
	r = &reply.msg->stats_reply;
	ret = 0;
	if (reg_path && reg_path_len) {
		size_t c = r->reg_path.len < reg_path_len ?
			r->reg_path.len : reg_path_len - 1;

		memcpy(reg_path, r->reg_path.ptr, c);
		reg_path[c] = '\0';
	}
	for (unsigned int i = 0; cb && i < r->count && !ret; i++) {
		char key[IIOFAB_WIRE_MAX_NAME + 1];

		iiofab_wire_str_copy(key, sizeof(key), r->stats[i].key);
		ret = cb(user_data, key, r->stats[i].value);
	}
	rpc_reply_done(ctx->rpc, &reply);
	return ret;
}
