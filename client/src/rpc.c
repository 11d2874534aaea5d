// SPDX-License-Identifier: MIT
/*
 * Request/reply and dispatch (see rpc.h). Messages are decoded into the
 * inbox; a reply keeps the union it was decoded into until the caller is
 * done with it, and the spare takes the inbox's place meanwhile, so what
 * arrives during a wait never overwrites a reply being read.
 */
#include <errno.h>
#include <stdlib.h>

#include <iiofab/clock.h>

#include "iiofab.h"
#include "rpc.h"

/* The request waiting for its reply. */
struct rpc_wait {
	uint32_t request_id;
	bool arrived;
	int status;			/* of its decoding */
	struct iiofab_wire_hdr hdr;
	uint32_t slot;
	union iiofab_wire_msg *msg;
};

struct rpc {
	const struct iiofab_logger *log;
	struct transport *t;
	unsigned int op_timeout_ms;
	uint32_t next_request_id;
	struct rpc_wait *wait;
	struct rpc_sub *subs;
	union iiofab_wire_msg *inbox;	/* the next message is decoded here */
	union iiofab_wire_msg *spare;	/* NULL while a reply is held */
	union iiofab_wire_msg *outbox;	/* requests are built here */
};

int rpc_create(const struct iiofab_logger *log, unsigned int op_timeout_ms,
	       struct rpc **out)
{
	struct rpc *rpc = calloc(1, sizeof(*rpc));

	*out = NULL;
	if (!rpc)
		return -ENOMEM;
	rpc->log = log;
	rpc->op_timeout_ms = op_timeout_ms;
	rpc->inbox = malloc(sizeof(*rpc->inbox));
	rpc->spare = malloc(sizeof(*rpc->spare));
	rpc->outbox = malloc(sizeof(*rpc->outbox));
	if (!rpc->inbox || !rpc->spare || !rpc->outbox) {
		rpc_destroy(rpc);
		return -ENOMEM;
	}
	*out = rpc;
	return 0;
}

void rpc_destroy(struct rpc *rpc)
{
	if (!rpc)
		return;
	free(rpc->inbox);
	free(rpc->spare);
	free(rpc->outbox);
	free(rpc);
}

void rpc_attach(struct rpc *rpc, struct transport *t)
{
	rpc->t = t;
}

union iiofab_wire_msg *rpc_request_msg(struct rpc *rpc)
{
	return rpc->outbox;
}

/* ---- what arrives ------------------------------------------------------ */

static struct rpc_sub *find_sub(const struct rpc *rpc, uint32_t stream_id)
{
	for (struct rpc_sub *sub = rpc->subs; sub; sub = sub->next)
		if (sub->stream_id == stream_id)
			return sub;
	return NULL;
}

static void to_stream(struct rpc *rpc, uint16_t type, uint32_t stream_id,
		      const union iiofab_wire_msg *m)
{
	struct rpc_sub *sub = find_sub(rpc, stream_id);
	const struct rpc_sub_ops *ops = sub ? sub->ops : NULL;

	if (type == IIOFAB_MSG_READY && ops && ops->ready)
		ops->ready(sub, &m->ready);
	else if (type == IIOFAB_MSG_FREE && ops && ops->free)
		ops->free(sub, &m->free);
	else if (type == IIOFAB_MSG_STREAM_EVENT && ops && ops->event)
		ops->event(sub, &m->stream_event);
	else
		/* A stream closed a moment ago, or one of another kind. */
		iiofab_log_debug(rpc->log, "ignoring %s for stream %u",
				 iiofab_wire_type_name(type), stream_id);
}

static void dispatch(struct rpc *rpc, const struct iiofab_wire_hdr *h,
		     const union iiofab_wire_msg *m)
{
	switch (h->type) {
	case IIOFAB_MSG_READY:
		to_stream(rpc, h->type, m->ready.stream_id, m);
		break;
	case IIOFAB_MSG_FREE:
		to_stream(rpc, h->type, m->free.stream_id, m);
		break;
	case IIOFAB_MSG_STREAM_EVENT:
		to_stream(rpc, h->type, m->stream_event.stream_id, m);
		break;
	case IIOFAB_MSG_ERROR:
		iiofab_log_warn(rpc->log, "server error for request %u: %s: %.*s",
				h->request_id,
				iiofab_wire_status_str(m->error.status),
				m->error.message.len, m->error.message.ptr);
		break;
	default:
		/* A late reply to a request that timed out. */
		iiofab_log_debug(rpc->log, "ignoring %s (request %u)",
				 iiofab_wire_type_name(h->type), h->request_id);
		break;
	}
}

/* The waiter takes the inbox (and the slot its strings point into). */
static enum transport_recv_verdict hand_to_waiter(struct rpc *rpc,
						  struct rpc_wait *w,
						  uint32_t slot,
						  const struct iiofab_wire_hdr *h,
						  int status)
{
	w->arrived = true;
	w->status = status;
	w->hdr = *h;
	if (status)
		return TRANSPORT_RECV_DONE;
	w->slot = slot;
	w->msg = rpc->inbox;
	rpc->inbox = rpc->spare;
	rpc->spare = NULL;
	return TRANSPORT_RECV_HOLD;
}

enum transport_recv_verdict rpc_on_recv(void *arg, uint32_t slot,
					const uint8_t *buf, uint32_t len)
{
	struct rpc *rpc = arg;
	struct rpc_wait *w = rpc->wait;
	/* Zeroed: a header too short to decode names no request. */
	struct iiofab_wire_hdr h = { 0 };
	int ret = iiofab_wire_decode(buf, len, &h, rpc->inbox);

	if (w && !w->arrived && h.request_id && h.request_id == w->request_id)
		return hand_to_waiter(rpc, w, slot, &h, ret);
	if (ret)
		iiofab_log_warn(rpc->log,
				"dropping a malformed message from the server (%s)",
				iiofab_strerror(ret));
	else
		dispatch(rpc, &h, rpc->inbox);
	return TRANSPORT_RECV_DONE;
}

/* ---- requests ---------------------------------------------------------- */

void rpc_reply_done(struct rpc *rpc, struct rpc_reply *reply)
{
	if (!reply->buf)
		return;
	transport_release_recv(rpc->t, reply->slot);
	rpc->spare = reply->buf;
	reply->buf = NULL;
	reply->msg = NULL;
}

/* Encoded into a send slot, or the slot goes back. */
static int send_encoded(struct rpc *rpc, uint16_t type, uint32_t slot, int len)
{
	if (len < 0) {
		transport_put_send(rpc->t, slot);
		iiofab_log_err(rpc->log, "cannot encode %s: %s",
			       iiofab_wire_type_name(type), iiofab_strerror(len));
		return len;
	}
	return transport_send(rpc->t, slot, (size_t)len);
}

static bool reply_arrived(void *arg)
{
	const struct rpc_wait *w = arg;

	return w->arrived;
}

/* An ERROR or an unexpected type becomes an error; nothing stays held. */
static int check_reply(struct rpc *rpc, uint16_t type, uint16_t want,
		       struct rpc_reply *reply)
{
	const struct iiofab_msg_error *e = &reply->msg->error;
	int ret;

	if (reply->type == IIOFAB_MSG_ERROR) {
		ret = iiofab_wire_status_to_errno(e->status);
		iiofab_log_err(rpc->log, "%s refused by the server: %s%s%.*s",
			       iiofab_wire_type_name(type),
			       iiofab_wire_status_str(e->status),
			       e->message.len ? ": " : "", e->message.len,
			       e->message.ptr);
		rpc_reply_done(rpc, reply);
		return ret ? ret : -EPROTO;
	}
	if (reply->type != want) {
		iiofab_log_err(rpc->log, "expected %s in reply to %s, got %s",
			       iiofab_wire_type_name(want),
			       iiofab_wire_type_name(type),
			       iiofab_wire_type_name(reply->type));
		rpc_reply_done(rpc, reply);
		return -EPROTO;
	}
	return reply->type;
}

static int await_reply(struct rpc *rpc, uint16_t type, struct rpc_wait *w,
		       struct rpc_reply *reply)
{
	int ret;

	rpc->wait = w;
	ret = transport_progress_alive(rpc->t, rpc->op_timeout_ms, reply_arrived, w);
	rpc->wait = NULL;
	if (w->arrived && !w->status) {
		reply->type = w->hdr.type;
		reply->msg = w->msg;
		reply->buf = w->msg;
		reply->slot = w->slot;
	}
	if (ret) {
		rpc_reply_done(rpc, reply);
		if (ret != -ETIMEDOUT && ret != -EAGAIN)
			return ret;
		iiofab_log_err(rpc->log, "no reply to %s: the server was silent for %u ms",
			       iiofab_wire_type_name(type), rpc->op_timeout_ms);
		return -ETIMEDOUT;
	}
	if (w->status) {
		iiofab_log_err(rpc->log, "malformed reply to %s: %s",
			       iiofab_wire_type_name(type),
			       iiofab_strerror(w->status));
		return -EPROTO;
	}
	return 0;
}

int rpc_call(struct rpc *rpc, uint16_t type, const union iiofab_wire_msg *req,
	     uint16_t want, struct rpc_reply *reply)
{
	struct rpc_wait w = { 0 };
	uint32_t slot;
	uint8_t *buf;
	int ret;

	*reply = (struct rpc_reply){ 0 };
	/* Replies nest nowhere: the previous one must have been given back. */
	if (rpc->wait || !rpc->spare)
		return -EBUSY;
	ret = transport_get_send(rpc->t, rpc->op_timeout_ms, &slot, &buf);
	if (ret)
		return ret;
	if (++rpc->next_request_id == 0)
		rpc->next_request_id = 1;
	w.request_id = rpc->next_request_id;
	ret = send_encoded(rpc, type, slot,
			   iiofab_wire_encode(buf, RPC_SLOT_SIZE, type,
					      w.request_id, req));
	if (ret)
		return ret;
	ret = await_reply(rpc, type, &w, reply);
	if (ret)
		return ret;
	return check_reply(rpc, type, want, reply);
}

int rpc_call_stream_ctl(struct rpc *rpc, uint16_t type, uint32_t stream_id)
{
	union iiofab_wire_msg *m = rpc_request_msg(rpc);
	struct rpc_reply r;
	int ret;

	m->stream_ctl.stream_id = stream_id;
	ret = rpc_call(rpc, type, m, IIOFAB_MSG_OK, &r);
	if (ret < 0)
		return ret;
	rpc_reply_done(rpc, &r);
	return 0;
}

int rpc_post_release(struct rpc *rpc, const struct iiofab_msg_release *m)
{
	uint32_t slot;
	uint8_t *buf;
	int ret = transport_try_get_send(rpc->t, &slot, &buf);

	if (ret)
		return ret;
	return send_encoded(rpc, IIOFAB_MSG_RELEASE, slot,
			    iiofab_wire_encode_release(buf, RPC_SLOT_SIZE, 0, m));
}

int rpc_post_submit(struct rpc *rpc, const struct iiofab_msg_submit *m)
{
	uint32_t slot;
	uint8_t *buf;
	int ret = transport_try_get_send(rpc->t, &slot, &buf);

	if (ret)
		return ret;
	return send_encoded(rpc, IIOFAB_MSG_SUBMIT, slot,
			    iiofab_wire_encode_submit(buf, RPC_SLOT_SIZE, 0, m));
}

/* ---- subscriptions ----------------------------------------------------- */

int rpc_subscribe(struct rpc *rpc, struct rpc_sub *sub)
{
	if (find_sub(rpc, sub->stream_id))
		return -EEXIST;
	sub->next = rpc->subs;
	rpc->subs = sub;
	return 0;
}

void rpc_unsubscribe(struct rpc *rpc, struct rpc_sub *sub)
{
	for (struct rpc_sub **p = &rpc->subs; *p; p = &(*p)->next) {
		if (*p == sub) {
			*p = sub->next;
			sub->next = NULL;
			return;
		}
	}
}
