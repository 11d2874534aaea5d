/* SPDX-License-Identifier: MIT */
/*
 * Request/reply over the transport, and the dispatch of what the server
 * sends unasked. Every received message is decoded once, where it arrives,
 * into a typed struct: a reply goes to the request waiting for it (its
 * receive slot held until the caller is done, since decoded strings point
 * into it); READY, FREE and STREAM_EVENT go by stream id to the handlers
 * their stream subscribed with; an ERROR nobody waits for is logged.
 *
 * rpc knows message types, not what a stream does with them.
 */
#ifndef IIOFAB_RPC_H
#define IIOFAB_RPC_H

#include <stdint.h>

#include <iiofab/log.h>
#include <iiofab/wire.h>

#include "transport.h"

/* The transport's control slots must hold the longest message. */
#define RPC_SLOT_SIZE IIOFAB_WIRE_MAX_MSG

struct rpc;
struct rpc_sub;

/* A stream's handlers; NULL for a message the stream never expects. */
struct rpc_sub_ops {
	void (*ready)(struct rpc_sub *sub, const struct iiofab_msg_ready *m);
	void (*free)(struct rpc_sub *sub, const struct iiofab_msg_free *m);
	void (*event)(struct rpc_sub *sub,
		      const struct iiofab_msg_stream_event *m);
};

/* A subscription to one stream id, embedded in its subscriber. */
struct rpc_sub {
	const struct rpc_sub_ops *ops;
	uint32_t stream_id;
	struct rpc_sub *next;
};

/* A reply: msg (of type) stays valid until rpc_reply_done(). */
struct rpc_reply {
	uint16_t type;
	const union iiofab_wire_msg *msg;
	/* Private: the held receive slot and the decode buffer. */
	uint32_t slot;
	union iiofab_wire_msg *buf;
};

int rpc_create(const struct iiofab_logger *log, unsigned int op_timeout_ms,
	       struct rpc **out);
/* NULL ok. */
void rpc_destroy(struct rpc *rpc);
/* The receive callback to give transport_open(), with the rpc as arg. */
enum transport_recv_verdict rpc_on_recv(void *arg, uint32_t slot,
					const uint8_t *buf, uint32_t len);
/* The transport requests go out on, once it is open. */
void rpc_attach(struct rpc *rpc, struct transport *t);

/* Room to build a request in; its contents last until the next call. */
union iiofab_wire_msg *rpc_request_msg(struct rpc *rpc);
/*
 * Sends req (NULL for a message without body) as a request of the given
 * type and waits, within the op timeout, for its reply. Returns the reply
 * type (want) with *reply held, to be given back with rpc_reply_done();
 * an ERROR reply becomes its errno, another type -EPROTO, no reply in time
 * -ETIMEDOUT (nothing held then). One request at a time.
 */
int rpc_call(struct rpc *rpc, uint16_t type, const union iiofab_wire_msg *req,
	     uint16_t want, struct rpc_reply *reply);
/* Accepts a reply that holds nothing. */
void rpc_reply_done(struct rpc *rpc, struct rpc_reply *reply);
/* START, STOP or CLOSE of a stream: 0 when the server answered OK. */
int rpc_call_stream_ctl(struct rpc *rpc, uint16_t type, uint32_t stream_id);

/* Messages without a reply: 0, -EAGAIN when no send slot is free now. */
int rpc_post_release(struct rpc *rpc, const struct iiofab_msg_release *m);
int rpc_post_submit(struct rpc *rpc, const struct iiofab_msg_submit *m);

/* -EEXIST when the stream id has a subscriber already. */
int rpc_subscribe(struct rpc *rpc, struct rpc_sub *sub);
/* Accepts a subscription that is not (or no longer) registered. */
void rpc_unsubscribe(struct rpc *rpc, struct rpc_sub *sub);

#endif /* IIOFAB_RPC_H */
