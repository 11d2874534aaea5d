/* SPDX-License-Identifier: MIT */
/*
 * A client session: the control protocol over one client's transport.
 * proto.c owns the session (decode, dispatch, keepalive, teardown);
 * handshake.c, query.c and request.c handle the requests; reply.c encodes
 * and sends what goes back.
 *
 * Nothing that names memory (address, rkey) and nothing about the board's
 * devices leaves before the handshake has ended with WELCOME.
 */
#ifndef IIOFAB_SRV_PROTO_H
#define IIOFAB_SRV_PROTO_H

#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include <iiofab/log.h>
#include <iiofab/wire.h>

#include "srv.h"
#include "srv_stream.h"

struct rdma_cm_id;
struct rdma_conn_param;
struct srv_iio;
struct srv_loop;
struct srv_xport;

/* What a session needs of the server around it. */
struct srv_env {
	const struct srv_config *cfg;
	const struct iiofab_logger *log;
	struct srv_loop *loop;
	struct srv_iio *iio;
	struct srv_stats *stats;
	struct srv_streams *streams;
	struct timespec started;
	uint64_t next_client_id;
	union iiofab_wire_msg *rx;	/* decode scratch, too big for the stack */
	union iiofab_wire_msg *tx;	/* encode scratch for large replies */
	union iiofab_wire_msg *check;	/* debug self-check of outgoing messages */
};

enum srv_client_state {
	SRV_CL_HELLO,		/* waiting for HELLO */
	SRV_CL_AUTH,		/* CHALLENGE sent, waiting for AUTH */
	SRV_CL_READY,		/* WELCOME sent */
};

struct srv_client {
	struct srv_env *env;
	struct srv_client *next;	/* the server's list */
	struct srv_xport *x;
	uint64_t cid;
	char peer[64];
	char name[64];
	enum srv_client_state state;
	uint8_t client_nonce[IIOFAB_WIRE_NONCE_SIZE];
	uint8_t server_nonce[IIOFAB_WIRE_NONCE_SIZE];
	struct timespec deadline;	/* handshake */
	struct srv_sub *subs;		/* linked through owner_next */
};

/* proto.c */
int srv_client_accept(struct srv_env *env, struct rdma_cm_id *id,
		      const struct rdma_conn_param *req, struct srv_client **out);
/* Marks the client for teardown and disconnects it. */
void srv_client_kill(struct srv_client *cl, const char *why);
/* Tears the client down: its streams stop, its memory is deregistered. */
void srv_client_destroy(struct srv_client *cl);
bool srv_client_dead(const struct srv_client *cl);
/* True while the client needs the clock: a pending handshake or a stream. */
bool srv_client_needs_clock(const struct srv_client *cl);
/* Handshake deadline, keepalive and the dead-host deadline. */
void srv_client_tick(struct srv_client *cl, const struct timespec *now);

/* reply.c */
/* Encodes message m of type into a send slot and sends it; no slot drops the client. */
int srv_reply(struct srv_client *cl, uint16_t type, uint32_t req_id, const void *m);
void srv_reply_error(struct srv_client *cl, uint32_t req_id, int err, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
/* An ERROR after which the connection closes, once the client has it. */
void srv_reply_fatal(struct srv_client *cl, uint32_t req_id, int err, const char *text);
void srv_reply_ok(struct srv_client *cl, uint32_t req_id, uint32_t value);
void srv_reply_refusal(struct srv_client *cl, uint32_t req_id, const struct srv_refusal *r);

/* handshake.c */
void srv_handle_hello(struct srv_client *cl, uint32_t req_id, const struct iiofab_msg_hello *m);
void srv_handle_auth(struct srv_client *cl, uint32_t req_id, const struct iiofab_msg_auth *m);

/* query.c */
void srv_handle_list(struct srv_client *cl, uint32_t req_id);
void srv_handle_device_info(struct srv_client *cl, uint32_t req_id,
			    const struct iiofab_msg_device_info *q);
void srv_handle_attr(struct srv_client *cl, uint32_t req_id, bool write,
		     const struct iiofab_msg_attr *q);
void srv_handle_stats(struct srv_client *cl, uint32_t req_id);

/* request.c */
void srv_handle_open(struct srv_client *cl, uint32_t req_id,
		     const struct iiofab_msg_open_stream *m);
void srv_handle_ctl(struct srv_client *cl, uint32_t req_id, uint16_t type, uint32_t stream_id);
void srv_handle_release(struct srv_client *cl, uint32_t req_id,
			const struct iiofab_msg_release *m);
void srv_handle_submit(struct srv_client *cl, uint32_t req_id,
		       const struct iiofab_msg_submit *m);

#endif
