// SPDX-License-Identifier: MIT
/*
 * A client's verbs transport. Receives are posted before the accept so the
 * first HELLO has a landing; every send is signalled, so the completions
 * tell both that a slot is free and that the host acknowledged it (the
 * keepalive and the dead-peer deadline above rely on that).
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <infiniband/verbs.h>
#include <rdma/rdma_cma.h>

#include <iiofab/clock.h>
#include <iiofab/err.h>
#include <iiofab/log.h>

#include "srv.h"
#include "srv_loop.h"
#include "srv_xport.h"

#define SEND_FLAG	(1ull << 32)
#define DRAIN_MS	500

struct srv_xport {
	struct rdma_cm_id *id;
	struct srv_loop *loop;
	const struct iiofab_logger *log;
	char label[96];
	const struct srv_xport_cbs *cbs;
	void *arg;
	struct ibv_pd *pd;
	struct ibv_comp_channel *ch;
	struct ibv_cq *cq;
	struct ibv_qp *qp;
	struct srv_watch *cq_watch;
	uint8_t *bufs;			/* SRV_N_RECV recv slots, then SRV_N_SEND send slots */
	struct ibv_mr *buf_mr;
	unsigned int send_free[SRV_N_SEND];
	unsigned int n_send_free;
	unsigned int posted_recv;
	unsigned int posted_send;
	bool owns_id;			/* accepted: the id is ours to destroy */
	bool dead;
	bool close_after_send;		/* fatal reply queued: disconnect once sent */
	struct timespec last_send;	/* of the last message posted */
	struct timespec last_ack;	/* of the last send completion */
	struct timespec first_unacked;	/* of the post that made sends pending */
};

static uint8_t *recv_buf(struct srv_xport *x, unsigned int slot)
{
	return x->bufs + (size_t)slot * SRV_CTRL_SIZE;
}

static uint8_t *send_buf(struct srv_xport *x, unsigned int slot)
{
	return x->bufs + (size_t)(SRV_N_RECV + slot) * SRV_CTRL_SIZE;
}

static int post_recv(struct srv_xport *x, unsigned int slot)
{
	struct ibv_sge sge = {
		.addr = (uintptr_t)recv_buf(x, slot),
		.length = SRV_CTRL_SIZE,
		.lkey = x->buf_mr->lkey,
	};
	struct ibv_recv_wr wr = { .wr_id = slot, .sg_list = &sge, .num_sge = 1 };
	struct ibv_recv_wr *bad;
	int err = iiofab_err_ibv(ibv_post_recv(x->qp, &wr, &bad));

	if (!err)
		x->posted_recv++;
	return err;
}

void srv_xport_fail(struct srv_xport *x, const char *why)
{
	if (x->dead)
		return;
	x->dead = true;
	iiofab_log_info(x->log, "%s: closing: %s", x->label, why);
	/* Sends DREQ and moves the QP to error; the owner reaps it later. */
	(void)rdma_disconnect(x->id);
}

bool srv_xport_dead(const struct srv_xport *x)
{
	return x->dead;
}

void srv_xport_close_when_sent(struct srv_xport *x)
{
	x->close_after_send = true;
}

void *srv_xport_send_buf(struct srv_xport *x, unsigned int *slot)
{
	if (x->dead || !x->n_send_free)
		return NULL;
	*slot = x->send_free[--x->n_send_free];
	return send_buf(x, *slot);
}

int srv_xport_send(struct srv_xport *x, unsigned int slot, int len)
{
	struct ibv_sge sge = { .addr = (uintptr_t)send_buf(x, slot), .lkey = x->buf_mr->lkey };
	struct ibv_send_wr wr = {
		.wr_id = SEND_FLAG | slot, .sg_list = &sge, .num_sge = 1,
		.opcode = IBV_WR_SEND, .send_flags = IBV_SEND_SIGNALED,
	};
	struct ibv_send_wr *bad;
	int err;

	if (len <= 0 || x->dead) {
		x->send_free[x->n_send_free++] = slot;
		if (len < 0)
			iiofab_log_err(x->log, "%s: encode failed: %s", x->label, strerror(-len));
		return len < 0 ? len : (x->dead ? -ENOTCONN : 0);
	}
	if (x->cbs->check && iiofab_logger_enabled(x->log, IIOFAB_LOGGER_DEBUG))
		x->cbs->check(x->arg, send_buf(x, slot), (size_t)len);
	sge.length = (uint32_t)len;
	err = iiofab_err_ibv(ibv_post_send(x->qp, &wr, &bad));
	if (err) {
		x->send_free[x->n_send_free++] = slot;
		srv_xport_fail(x, "post send failed");
		return err;
	}
	clock_gettime(CLOCK_MONOTONIC, &x->last_send);
	if (!x->posted_send++)
		x->first_unacked = x->last_send;
	return 0;
}

static void *sink_get_buf(void *ctx, unsigned int *slot)
{
	return srv_xport_send_buf(ctx, slot);
}

static int sink_post(void *ctx, unsigned int slot, int len)
{
	return srv_xport_send(ctx, slot, len);
}

const struct srv_sink_ops srv_xport_sink_ops = {
	.get_buf = sink_get_buf,
	.post = sink_post,
};

int64_t srv_xport_unacked_ms(const struct srv_xport *x, const struct timespec *now)
{
	const struct timespec *since = &x->first_unacked;

	if (!x->posted_send)
		return -1;
	/* A completion since then proves the host alive up to it. */
	if (iiofab_ms_between(since, &x->last_ack) > 0)
		since = &x->last_ack;
	return iiofab_ms_between(since, now);
}

int64_t srv_xport_idle_ms(const struct srv_xport *x, const struct timespec *now)
{
	return iiofab_ms_between(&x->last_send, now);
}

struct ibv_pd *srv_xport_pd(const struct srv_xport *x)
{
	return x->pd;
}

static void send_done(struct srv_xport *x, const struct ibv_wc *wc)
{
	x->posted_send--;
	x->send_free[x->n_send_free++] = (unsigned int)(wc->wr_id & 0xffffffffu);
	if (wc->status != IBV_WC_SUCCESS) {
		srv_xport_fail(x, ibv_wc_status_str(wc->status));
		return;
	}
	clock_gettime(CLOCK_MONOTONIC, &x->last_ack);
	if (x->close_after_send && !x->posted_send) {
		srv_xport_fail(x, "fatal error reported to the client");
		return;
	}
	if (!x->dead)
		x->cbs->sent(x->arg);
}

static void recv_done(struct srv_xport *x, const struct ibv_wc *wc)
{
	unsigned int slot = (unsigned int)(wc->wr_id & 0xffffffffu);

	x->posted_recv--;
	if (wc->status != IBV_WC_SUCCESS) {
		srv_xport_fail(x, ibv_wc_status_str(wc->status));
		return;
	}
	if (!x->dead && !x->close_after_send)
		x->cbs->recv(x->arg, recv_buf(x, slot), wc->byte_len);
	if (!x->dead && post_recv(x, slot) < 0)
		srv_xport_fail(x, "cannot repost a receive");
}

static void cq_ready(struct srv_watch *w, int res)
{
	struct srv_xport *x = w->ctx;
	struct ibv_wc wc[16];
	struct ibv_cq *ev_cq;
	void *ev_ctx;
	int n;

	/* Non-blocking channel: drain every event, ack each at once. */
	while (ibv_get_cq_event(x->ch, &ev_cq, &ev_ctx) == 0)
		ibv_ack_cq_events(ev_cq, 1);
	if (!x->dead && ibv_req_notify_cq(x->cq, 0))
		srv_xport_fail(x, "cannot arm the CQ");
	/* Poll after arming: a completion racing the arm is not lost. */
	while ((n = ibv_poll_cq(x->cq, 16, wc)) > 0)
		for (int i = 0; i < n; i++)
			(wc[i].wr_id & SEND_FLAG ? send_done : recv_done)(x, &wc[i]);
	if (n < 0)
		srv_xport_fail(x, "CQ poll failed");
	if (!x->dead && srv_watch_arm(x->loop, w) < 0)
		srv_xport_fail(x, "cannot watch the CQ");
}

static unsigned int clamp(unsigned int v, unsigned int max)
{
	return v > max ? max : v;
}

/* Each step says which call failed, for the log line. */
struct step {
	const char *what;
};

static int fail_at(struct step *s, const char *what, int err)
{
	s->what = what;
	return err;
}

static int create_cq(struct srv_xport *x, struct step *s)
{
	struct ibv_context *verbs = x->id->verbs;
	int flags;

	x->ch = ibv_create_comp_channel(verbs);
	if (!x->ch)
		return fail_at(s, "ibv_create_comp_channel", iiofab_err_errno(-EIO));
	flags = fcntl(x->ch->fd, F_GETFL);
	if (flags < 0 || fcntl(x->ch->fd, F_SETFL, flags | O_NONBLOCK) < 0)
		return fail_at(s, "fcntl (completion channel O_NONBLOCK)", -errno);
	x->cq = ibv_create_cq(verbs, SRV_N_RECV + SRV_N_SEND + 8, x, x->ch, 0);
	if (!x->cq)
		return fail_at(s, "ibv_create_cq", iiofab_err_errno(-EIO));
	return fail_at(s, "ibv_req_notify_cq", iiofab_err_ibv(ibv_req_notify_cq(x->cq, 0)));
}

static int create_qp(struct srv_xport *x, struct step *s)
{
	struct ibv_qp_init_attr qa = {
		.send_cq = x->cq,
		.recv_cq = x->cq,
		.qp_type = IBV_QPT_RC,
		.cap = {
			.max_send_wr = SRV_N_SEND,
			.max_recv_wr = SRV_N_RECV,
			.max_send_sge = 1,
			.max_recv_sge = 1,
		},
	};
	int err = iiofab_err_cm(rdma_create_qp(x->id, x->pd, &qa));

	if (err)
		return fail_at(s, "rdma_create_qp", err);
	x->qp = x->id->qp;
	return 0;
}

static int create_bufs(struct srv_xport *x, struct step *s)
{
	size_t size = (size_t)(SRV_N_RECV + SRV_N_SEND) * SRV_CTRL_SIZE;
	int err;

	x->bufs = aligned_alloc((size_t)sysconf(_SC_PAGESIZE), size);
	if (!x->bufs)
		return fail_at(s, "aligned_alloc (control buffers)", -ENOMEM);
	/* Defined contents for memory checkers, which cannot see the NIC write. */
	memset(x->bufs, 0, size);
	x->buf_mr = ibv_reg_mr(x->pd, x->bufs, size, IBV_ACCESS_LOCAL_WRITE);
	if (!x->buf_mr)
		return fail_at(s, "ibv_reg_mr (control buffers)", iiofab_err_errno(-EIO));
	for (unsigned int i = 0; i < SRV_N_SEND; i++)
		x->send_free[i] = SRV_N_SEND - 1 - i;
	x->n_send_free = SRV_N_SEND;
	/* Receives go up before the accept so the first HELLO has a landing. */
	for (unsigned int i = 0; i < SRV_N_RECV; i++) {
		err = post_recv(x, i);
		if (err)
			return fail_at(s, "ibv_post_recv", err);
	}
	return 0;
}

static int accept_conn(struct srv_xport *x, const struct rdma_conn_param *req,
		       struct step *s)
{
	struct rdma_conn_param cp = { .retry_count = 7, .rnr_retry_count = 7 };
	struct ibv_device_attr da;
	int err;

	err = iiofab_err_ibv(ibv_query_device(x->id->verbs, &da));
	if (err)
		return fail_at(s, "ibv_query_device", err);
	/*
	 * The client READs our blocks: we are the responder, and the READs it
	 * may have in flight are bounded by our responder resources. Offer
	 * what the device allows; the client's initiator depth caps it anyway.
	 * (In a request event these fields are already from our side.)
	 */
	cp.responder_resources = (uint8_t)clamp((unsigned int)da.max_qp_rd_atom, 255);
	cp.initiator_depth = (uint8_t)clamp(req ? req->initiator_depth : 0,
					    (unsigned int)da.max_qp_init_rd_atom);
	/*
	 * soft-RoCE leaves the passive side without an ack timeout, and a send
	 * to a host that vanished then waits for its ACK forever. 2^18 x
	 * 4.096 us (1.07 s) per try and 7 retries fail it within about 9 s,
	 * yet survive the stalls of an emulated guest.
	 */
	err = iiofab_err_cm(rdma_set_option(x->id, RDMA_OPTION_ID, RDMA_OPTION_ID_ACK_TIMEOUT,
					    &(uint8_t){ SRV_ACK_TIMEOUT }, sizeof(uint8_t)));
	if (err)
		return fail_at(s, "rdma_set_option (ack timeout)", err);
	err = iiofab_err_cm(rdma_accept(x->id, &cp));
	if (err)
		return fail_at(s, "rdma_accept", err);
	iiofab_log_info(x->log, "%s connected (rd_atomic %u)", x->label, cp.responder_resources);
	return 0;
}

static int setup(struct srv_xport *x, const struct rdma_conn_param *req, struct step *s)
{
	int err;

	x->pd = ibv_alloc_pd(x->id->verbs);
	if (!x->pd)
		return fail_at(s, "ibv_alloc_pd", iiofab_err_errno(-EIO));
	err = create_cq(x, s);
	if (!err)
		err = create_qp(x, s);
	if (!err)
		err = create_bufs(x, s);
	if (err)
		return err;
	x->cq_watch = srv_watch_new(cq_ready, x, x->ch->fd, POLLIN);
	if (!x->cq_watch)
		return fail_at(s, "srv_watch_new (CQ)", -ENOMEM);
	err = srv_watch_arm(x->loop, x->cq_watch);
	if (err)
		return fail_at(s, "srv_watch_arm (CQ)", err);
	return accept_conn(x, req, s);
}

int srv_xport_accept(struct srv_xport **out, struct rdma_cm_id *id,
		     const struct rdma_conn_param *req, struct srv_loop *loop,
		     const struct iiofab_logger *log, const char *label,
		     const struct srv_xport_cbs *cbs, void *arg)
{
	struct srv_xport *x = calloc(1, sizeof(*x));
	struct step s = { "calloc" };
	int err;

	if (!x)
		return -ENOMEM;
	x->id = id;
	x->loop = loop;
	x->log = log;
	x->cbs = cbs;
	x->arg = arg;
	snprintf(x->label, sizeof(x->label), "%s", label);
	clock_gettime(CLOCK_MONOTONIC, &x->last_send);
	err = setup(x, req, &s);
	if (err) {
		iiofab_log_warn(log, "%s: %s failed: %s%s", label, s.what, strerror(-err),
				err == -EINVAL && !strcmp(s.what, "rdma_accept") ?
				" (the client gave up waiting, or left)" : "");
		srv_xport_flush(x);
		srv_xport_destroy(x);
		return err;
	}
	id->context = x;
	x->owns_id = true;
	*out = x;
	return 0;
}

static void count_flushed(struct srv_xport *x, const struct ibv_wc *wc, int n)
{
	for (int i = 0; i < n; i++) {
		if (wc[i].wr_id & SEND_FLAG)
			x->posted_send--;
		else
			x->posted_recv--;
	}
}

/* One bounded wait for the channel: poll, arm, poll again, then sleep. */
static int wait_flushed(struct srv_xport *x)
{
	struct pollfd pfd = { .fd = x->ch->fd, .events = POLLIN };
	struct ibv_wc wc[16];
	struct ibv_cq *ev_cq;
	void *ev_ctx;
	int n;

	if (ibv_req_notify_cq(x->cq, 0))
		return -EIO;
	n = ibv_poll_cq(x->cq, 16, wc);
	if (n > 0) {
		count_flushed(x, wc, n);
		return 0;
	}
	(void)poll(&pfd, 1, 50);
	while (ibv_get_cq_event(x->ch, &ev_cq, &ev_ctx) == 0)
		ibv_ack_cq_events(ev_cq, 1);
	return n < 0 ? -EIO : 0;
}

void srv_xport_flush(struct srv_xport *x)
{
	uint64_t t0 = iiofab_now_ns();
	struct ibv_wc wc[16];
	int n;

	if (!x->qp)
		return;
	(void)ibv_modify_qp(x->qp, &(struct ibv_qp_attr){ .qp_state = IBV_QPS_ERR },
			    IBV_QP_STATE);
	while (x->posted_send || x->posted_recv) {
		n = ibv_poll_cq(x->cq, 16, wc);
		if (n < 0)
			break;
		count_flushed(x, wc, n);
		if (n)
			continue;
		if ((iiofab_now_ns() - t0) / 1000000 > DRAIN_MS || wait_flushed(x) < 0)
			break;
	}
	if (x->posted_send || x->posted_recv)
		iiofab_log_debug(x->log, "%s: %u send(s), %u receive(s) not flushed", x->label,
				 x->posted_send, x->posted_recv);
}

void srv_xport_destroy(struct srv_xport *x)
{
	if (!x)
		return;
	srv_watch_free(x->loop, x->cq_watch);
	if (x->qp)
		rdma_destroy_qp(x->id);
	if (x->cq)
		ibv_destroy_cq(x->cq);
	if (x->ch)
		ibv_destroy_comp_channel(x->ch);
	if (x->buf_mr)
		ibv_dereg_mr(x->buf_mr);
	free(x->bufs);
	if (x->pd)
		ibv_dealloc_pd(x->pd);
	if (x->owns_id)
		rdma_destroy_id(x->id);
	free(x);
}
