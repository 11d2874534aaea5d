// SPDX-License-Identifier: MIT
/*
 * A client session: every message is decoded once, where it arrives, and
 * handed as a typed struct to its handler; the state of the handshake
 * decides which requests are allowed. The session also owns the client's
 * subscriptions and the clock of its handshake and keepalive.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <rdma/rdma_cma.h>

#include <iiofab/clock.h>

#include "srv_proto.h"
#include "srv_xport.h"

static void dispatch_ready(struct srv_client *cl, const struct iiofab_wire_hdr *h,
			   const union iiofab_wire_msg *m)
{
	switch (h->type) {
	case IIOFAB_MSG_LIST:
		srv_handle_list(cl, h->request_id);
		break;
	case IIOFAB_MSG_DEVICE_INFO:
		srv_handle_device_info(cl, h->request_id, &m->device_info);
		break;
	case IIOFAB_MSG_ATTR_READ:
	case IIOFAB_MSG_ATTR_WRITE:
		srv_handle_attr(cl, h->request_id, h->type == IIOFAB_MSG_ATTR_WRITE, &m->attr);
		break;
	case IIOFAB_MSG_OPEN_STREAM:
		srv_handle_open(cl, h->request_id, &m->open_stream);
		break;
	case IIOFAB_MSG_START:
	case IIOFAB_MSG_STOP:
	case IIOFAB_MSG_CLOSE:
		srv_handle_ctl(cl, h->request_id, h->type, m->stream_ctl.stream_id);
		break;
	case IIOFAB_MSG_RELEASE:
		srv_handle_release(cl, h->request_id, &m->release);
		break;
	case IIOFAB_MSG_SUBMIT:
		srv_handle_submit(cl, h->request_id, &m->submit);
		break;
	case IIOFAB_MSG_STATS:
		srv_handle_stats(cl, h->request_id);
		break;
	default:
		cl->env->stats->bad_messages++;
		srv_reply_error(cl, h->request_id, -EBADMSG,
				"%s is not a request a client may send now",
				iiofab_wire_type_name(h->type));
		break;
	}
}

static void dispatch(struct srv_client *cl, const struct iiofab_wire_hdr *h,
		     const union iiofab_wire_msg *m)
{
	switch (cl->state) {
	case SRV_CL_HELLO:
		if (h->type == IIOFAB_MSG_HELLO)
			srv_handle_hello(cl, h->request_id, &m->hello);
		else
			srv_reply_fatal(cl, h->request_id, -EACCES, "HELLO must come first");
		break;
	case SRV_CL_AUTH:
		if (h->type == IIOFAB_MSG_AUTH)
			srv_handle_auth(cl, h->request_id, &m->auth);
		else
			srv_reply_fatal(cl, h->request_id, -EACCES, "AUTH must follow CHALLENGE");
		break;
	case SRV_CL_READY:
		dispatch_ready(cl, h, m);
		break;
	}
}

static void on_recv(void *arg, const uint8_t *buf, size_t len)
{
	struct srv_client *cl = arg;
	struct srv_env *env = cl->env;
	struct iiofab_wire_hdr h = { 0 };
	int err = iiofab_wire_decode(buf, len, &h, env->rx);

	if (err < 0) {
		env->stats->bad_messages++;
		iiofab_log_warn(env->log, "client %llu: bad message (type %u, %zu bytes): %s",
				(unsigned long long)cl->cid, h.type, len, strerror(-err));
		srv_reply_error(cl, h.request_id,
				err == -EPROTONOSUPPORT || err == -EOPNOTSUPP ? err : -EBADMSG,
				"message rejected: %s", strerror(-err));
		/* Before WELCOME nothing may be guessed at: hang up. */
		if (cl->state != SRV_CL_READY)
			srv_xport_close_when_sent(cl->x);
		return;
	}
	iiofab_log_debug(env->log, "client %llu: %s (%zu bytes, id %u)",
			 (unsigned long long)cl->cid, iiofab_wire_type_name(h.type), len,
			 h.request_id);
	dispatch(cl, &h, env->rx);
}

static void on_sent(void *arg)
{
	struct srv_client *cl = arg;

	for (struct srv_sub *sub = cl->subs; sub && !srv_xport_dead(cl->x); sub = sub->owner_next)
		srv_sub_flush(sub);
}

/* Self-check: everything sent must decode on the other side. */
static void check_sent(void *arg, const void *buf, size_t len)
{
	struct srv_client *cl = arg;
	struct iiofab_wire_hdr h = { 0 };
	int err = iiofab_wire_decode(buf, len, &h, cl->env->check);

	if (err)
		iiofab_log_err(cl->env->log, "client %llu: outgoing %s (%zu bytes) does not decode: %s",
			       (unsigned long long)cl->cid, iiofab_wire_type_name(h.type), len,
			       strerror(-err));
}

static const struct srv_xport_cbs session_cbs = {
	.recv = on_recv,
	.sent = on_sent,
	.check = check_sent,
};

static void peer_name(struct rdma_cm_id *id, char *out, size_t cap)
{
	struct sockaddr *sa = rdma_get_peer_addr(id);

	snprintf(out, cap, "?");
	if (sa->sa_family == AF_INET)
		inet_ntop(AF_INET, &((struct sockaddr_in *)sa)->sin_addr, out, (socklen_t)cap);
	else if (sa->sa_family == AF_INET6)
		inet_ntop(AF_INET6, &((struct sockaddr_in6 *)sa)->sin6_addr, out, (socklen_t)cap);
}

int srv_client_accept(struct srv_env *env, struct rdma_cm_id *id,
		      const struct rdma_conn_param *req, struct srv_client **out)
{
	struct srv_client *cl = calloc(1, sizeof(*cl));
	char label[96];
	int err;

	if (!cl)
		return -ENOMEM;
	cl->env = env;
	cl->cid = ++env->next_client_id;
	cl->state = SRV_CL_HELLO;
	peer_name(id, cl->peer, sizeof(cl->peer));
	snprintf(label, sizeof(label), "client %llu (%s)", (unsigned long long)cl->cid, cl->peer);
	err = srv_xport_accept(&cl->x, id, req, env->loop, env->log, label, &session_cbs, cl);
	if (err) {
		free(cl);
		return err;
	}
	clock_gettime(CLOCK_MONOTONIC, &cl->deadline);
	cl->deadline.tv_sec += SRV_HANDSHAKE_MS / 1000;
	env->stats->clients_total++;
	env->stats->clients_now++;
	*out = cl;
	return 0;
}

void srv_client_kill(struct srv_client *cl, const char *why)
{
	srv_xport_fail(cl->x, why);
}

void srv_client_destroy(struct srv_client *cl)
{
	srv_xport_fail(cl->x, "released");
	/* No work request may still name the stream memory when it goes. */
	srv_xport_flush(cl->x);
	/* Holds go back to IIO and the rkeys die before the PD does. */
	while (cl->subs) {
		struct srv_sub *sub = cl->subs;

		cl->subs = sub->owner_next;
		srv_sub_remove(sub);
	}
	srv_xport_destroy(cl->x);
	cl->env->stats->clients_now--;
	iiofab_log_info(cl->env->log, "client %llu released", (unsigned long long)cl->cid);
	free(cl);
}

bool srv_client_dead(const struct srv_client *cl)
{
	return srv_xport_dead(cl->x);
}

bool srv_client_needs_clock(const struct srv_client *cl)
{
	return !srv_xport_dead(cl->x) && (cl->state != SRV_CL_READY || cl->subs);
}

static void keepalive(struct srv_client *cl, const struct timespec *now)
{
	struct iiofab_msg_stream_event m = {
		.stream_id = cl->subs->st->id, .event = IIOFAB_WIRE_EVENT_KEEPALIVE,
	};
	int64_t idle = srv_xport_idle_ms(cl->x, now);
	unsigned int slot;
	void *buf;

	/*
	 * Ticks land a little before or after whole seconds since the last
	 * send; taken strictly, an early tick would put the keepalive off to
	 * the next one, 4 s into a silence, and the dead-host deadline
	 * behind it past its documented 20 s. The tick nearest 3 s sends it.
	 */
	if (idle + SRV_TICK_MS / 2 < SRV_KEEPALIVE_MS)
		return;
	buf = srv_xport_send_buf(cl->x, &slot);
	if (!buf)
		return;	/* sends in flight will tell */
	iiofab_log_debug(cl->env->log, "client %llu: keepalive after %lld ms without a message",
			 (unsigned long long)cl->cid, (long long)idle);
	(void)srv_xport_send(cl->x, slot,
			     iiofab_wire_encode_stream_event(buf, SRV_CTRL_SIZE, 0, &m));
}

void srv_client_tick(struct srv_client *cl, const struct timespec *now)
{
	int64_t unacked;

	if (srv_xport_dead(cl->x))
		return;
	if (cl->state != SRV_CL_READY) {
		if (iiofab_ts_ns(now) >= iiofab_ts_ns(&cl->deadline))
			srv_xport_fail(cl->x, "handshake timed out");
		return;
	}
	if (!cl->subs)
		return;
	/*
	 * A send still in flight is already the probe. Its retries should
	 * fail it, but soft-RoCE never times out a send whose ACK does not
	 * come, so unacknowledged sends also have a deadline of their own.
	 */
	unacked = srv_xport_unacked_ms(cl->x, now);
	if (unacked >= SRV_PEER_DEAD_MS)
		srv_xport_fail(cl->x, "no acknowledgement from the host for "
			       SRV_STR(SRV_PEER_DEAD_MS) " ms");
	else if (unacked < 0)
		keepalive(cl, now);
}
