// SPDX-License-Identifier: MIT
/*
 * The verbs transport of a connection (see transport.h). Waiting follows
 * the verbs recipe: poll, arm, poll again, then sleep on the channels with
 * the remaining timeout.
 *
 * Every send work request carries the address of its owner's
 * struct transport_op in wr_id, bit 0 set on the last (signaled) request
 * of a chain. A successful completion can only be that last one, and it
 * covers the unsignaled requests before it; after an error every request
 * still queued completes on its own with a flush status, so the op is
 * done when the last one is, or when none of it is left outstanding.
 */
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

#include <rdma/rdma_cma.h>

#include <iiofab/clock.h>
#include <iiofab/err.h>

#include "iiofab.h"
#include "transport.h"

/* wr_id bit 0: the last work request of its chain (ops are aligned). */
#define WR_LAST 1u
/* How long close waits for the server to confirm the disconnect. */
#define DISCONNECT_WAIT_MS 1000
/* Completions taken from the CQ per ibv_poll_cq() call. */
#define POLL_BATCH 16
/* The QP's local ACK timeout exponent (x 4.096 us), see establish(). */
#define TRANSPORT_ACK_TIMEOUT 16

/* A control message slot and the completion of its posting. */
struct ctl_slot {
	struct transport_op op;
	struct transport *t;
	uint32_t index;
};

struct transport {
	const struct iiofab_logger *log;
	transport_recv_fn on_recv;
	void *recv_arg;
	size_t slot_size;
	unsigned int n_send_slots;
	unsigned int n_recv_slots;
	unsigned int send_depth;
	unsigned int max_rdma_reads;

	struct rdma_event_channel *ec;
	struct rdma_cm_id *id;
	struct ibv_pd *pd;
	struct ibv_comp_channel *cc;
	struct ibv_cq *cq;
	bool qp_created;
	bool connected;
	int gone_errno;			/* the server disconnected: fail once drained */
	bool cq_abandoned;	/* a flush timed out: never poll again */
	int epfd;		/* both channel fds, for callers' loops */

	uint8_t *ctl_buf;	/* receive slots, then send slots */
	struct ibv_mr *ctl_mr;
	struct ctl_slot *recv;
	struct ctl_slot *send;
	uint32_t *send_free;
	unsigned int n_send_free;
	unsigned int sq_used;	/* send WQEs posted, not yet completed */
	unsigned int recv_posted;

	struct transport_idle *idle;
	int err;
	int64_t heard_ms;	/* the last completion: the server was alive then */
};

static int set_nonblock(int fd)
{
	int flags = fcntl(fd, F_GETFL);

	if (flags < 0 || fcntl(fd, F_SETFL, flags | O_NONBLOCK) < 0)
		return -errno;
	return 0;
}

static int cm_event_errno(enum rdma_cm_event_type type, int status)
{
	switch (type) {
	case RDMA_CM_EVENT_ADDR_ERROR:
		return -EHOSTUNREACH;
	case RDMA_CM_EVENT_ROUTE_ERROR:
		return -ENETUNREACH;
	case RDMA_CM_EVENT_UNREACHABLE:
		return status == -ETIMEDOUT ? -ETIMEDOUT : -EHOSTUNREACH;
	case RDMA_CM_EVENT_REJECTED:
		return -ECONNREFUSED;
	case RDMA_CM_EVENT_CONNECT_ERROR:
		return -ECONNABORTED;
	case RDMA_CM_EVENT_DISCONNECTED:
	case RDMA_CM_EVENT_TIMEWAIT_EXIT:
		return -ECONNRESET;
	case RDMA_CM_EVENT_DEVICE_REMOVAL:
		return -ENODEV;
	default:
		return -EPROTO;
	}
}

void transport_fail(struct transport *t, int err, const char *why)
{
	if (t->err)
		return;
	t->err = err;
	iiofab_log_err(t->log, "connection failed: %s (%s)", why,
		       iiofab_strerror(err));
}

int transport_error(const struct transport *t)
{
	return t->err;
}

int transport_fd(const struct transport *t)
{
	return t->epfd;
}

struct ibv_pd *transport_pd(const struct transport *t)
{
	return t->pd;
}

static int poll_cq(struct transport *t);

/*
 * Events after ESTABLISHED all mean the connection is gone. What the
 * server sent before it went (a fatal ERROR: the better report) may still
 * sit in the receive queue: it is taken first, and the connection fails
 * on the next turn that finds nothing more.
 */
static void handle_cm_events(struct transport *t)
{
	struct rdma_cm_event *ev;

	while (rdma_get_cm_event(t->ec, &ev) == 0) {
		enum rdma_cm_event_type type = ev->event;
		int status = ev->status;

		rdma_ack_cm_event(ev);
		iiofab_log_debug(t->log, "rdma_cm event %s", rdma_event_str(type));
		if (type == RDMA_CM_EVENT_DISCONNECTED ||
		    type == RDMA_CM_EVENT_DEVICE_REMOVAL ||
		    type == RDMA_CM_EVENT_TIMEWAIT_EXIT) {
			t->connected = false;
			if (!t->gone_errno)
				t->gone_errno = cm_event_errno(type, status);
		}
	}
	if (!t->gone_errno || t->err || poll_cq(t) > 0)
		return;
	transport_fail(t, t->gone_errno, "server disconnected");
}

/* Waits for one specific connection-setup event. */
static int wait_cm_event(struct transport *t, enum rdma_cm_event_type want,
			 int64_t deadline)
{
	struct rdma_cm_event *ev;
	struct pollfd pfd = { .fd = t->ec->fd, .events = POLLIN };

	for (;;) {
		if (rdma_get_cm_event(t->ec, &ev) == 0) {
			enum rdma_cm_event_type type = ev->event;
			int status = ev->status;

			rdma_ack_cm_event(ev);
			if (type == want)
				return 0;
			iiofab_log_err(t->log,
				       "connect: %s (status %d) while waiting for %s",
				       rdma_event_str(type), status,
				       rdma_event_str(want));
			return cm_event_errno(type, status);
		}
		if (errno != EAGAIN)
			return iiofab_err_errno(-EIO);

		int64_t left = deadline - iiofab_now_ms();

		if (left <= 0)
			return -ETIMEDOUT;
		if (poll(&pfd, 1, (int)left) < 0 && errno != EINTR)
			return -errno;
	}
}

static int create_id(struct transport *t)
{
	int ret;

	t->ec = rdma_create_event_channel();
	if (!t->ec) {
		ret = iiofab_err_errno(-ENODEV);
		iiofab_log_err(t->log,
			       "no RDMA support on this machine (rdma_ucm loaded?): %s",
			       iiofab_strerror(ret));
		return ret;
	}
	ret = set_nonblock(t->ec->fd);
	if (ret)
		return ret;
	return iiofab_err_cm(rdma_create_id(t->ec, &t->id, t, RDMA_PS_TCP));
}

static int resolve(struct transport *t, const struct transport_params *p,
		   int64_t deadline)
{
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM };
	struct addrinfo *ai;
	int ret;

	ret = getaddrinfo(p->host, p->service, &hints, &ai);
	if (ret) {
		iiofab_log_err(t->log, "cannot resolve %s: %s", p->host,
			       gai_strerror(ret));
		return -EHOSTUNREACH;
	}
	ret = iiofab_err_cm(rdma_resolve_addr(t->id, NULL, ai->ai_addr,
					      (int)p->connect_timeout_ms));
	freeaddrinfo(ai);
	if (ret)
		return ret;
	ret = wait_cm_event(t, RDMA_CM_EVENT_ADDR_RESOLVED, deadline);
	if (ret) {
		iiofab_log_err(t->log,
			       "no RDMA route to %s (is an RDMA device up?)",
			       p->host);
		return ret;
	}
	ret = iiofab_err_cm(rdma_resolve_route(t->id, (int)p->connect_timeout_ms));
	if (ret)
		return ret;
	return wait_cm_event(t, RDMA_CM_EVENT_ROUTE_RESOLVED, deadline);
}

static uint8_t *recv_buf(const struct transport *t, uint32_t slot)
{
	return t->ctl_buf + (size_t)slot * t->slot_size;
}

static uint8_t *send_buf(const struct transport *t, uint32_t slot)
{
	return t->ctl_buf + (size_t)(t->n_recv_slots + slot) * t->slot_size;
}

static int post_recv(struct transport *t, uint32_t slot)
{
	struct ibv_sge sge = {
		.addr = (uintptr_t)recv_buf(t, slot),
		.length = (uint32_t)t->slot_size,
		.lkey = t->ctl_mr->lkey,
	};
	struct ibv_recv_wr wr = {
		.wr_id = (uintptr_t)&t->recv[slot].op,
		.sg_list = &sge,
		.num_sge = 1,
	};
	struct ibv_recv_wr *bad;
	int ret = iiofab_err_ibv(ibv_post_recv(t->id->qp, &wr, &bad));

	if (ret) {
		transport_fail(t, ret, "cannot post a receive");
		return ret;
	}
	t->recv_posted++;
	return 0;
}

/* A failed connection receives nothing more: the slot stays idle. */
void transport_release_recv(struct transport *t, uint32_t slot)
{
	if (!t->err)
		(void)post_recv(t, slot);
}

static void recv_done(struct transport_op *op, int status)
{
	struct ctl_slot *s = (struct ctl_slot *)op;
	struct transport *t = s->t;

	if (status)
		return;
	if (t->on_recv(t->recv_arg, s->index, recv_buf(t, s->index),
		       op->byte_len) == TRANSPORT_RECV_DONE)
		transport_release_recv(t, s->index);
}

void transport_put_send(struct transport *t, uint32_t slot)
{
	t->send_free[t->n_send_free++] = slot;
}

static void send_done(struct transport_op *op, int status)
{
	struct ctl_slot *s = (struct ctl_slot *)op;

	transport_put_send(s->t, s->index);
}

static int create_verbs(struct transport *t)
{
	struct ibv_context *verbs = t->id->verbs;
	struct ibv_qp_init_attr qpa = {
		.qp_type = IBV_QPT_RC,
		.sq_sig_all = 0,
		.cap = {
			.max_send_wr = t->send_depth,
			.max_recv_wr = t->n_recv_slots,
			.max_send_sge = 1,
			.max_recv_sge = 1,
		},
	};
	int ret;

	t->pd = ibv_alloc_pd(verbs);
	if (!t->pd)
		return iiofab_err_errno(-ENOMEM);
	t->cc = ibv_create_comp_channel(verbs);
	if (!t->cc)
		return iiofab_err_errno(-ENOMEM);
	ret = set_nonblock(t->cc->fd);
	if (ret)
		return ret;
	t->cq = ibv_create_cq(verbs, (int)(t->send_depth + t->n_recv_slots),
			      t, t->cc, 0);
	if (!t->cq)
		return iiofab_err_errno(-ENOMEM);
	ret = iiofab_err_ibv(ibv_req_notify_cq(t->cq, 0));
	if (ret)
		return ret;
	qpa.send_cq = t->cq;
	qpa.recv_cq = t->cq;
	ret = iiofab_err_cm(rdma_create_qp(t->id, t->pd, &qpa));
	if (ret)
		return ret;
	t->qp_created = true;
	return 0;
}

static int create_slots(struct transport *t)
{
	unsigned int n = t->n_recv_slots + t->n_send_slots;
	size_t len = (size_t)n * t->slot_size;

	if (posix_memalign((void **)&t->ctl_buf, 4096, len))
		return -ENOMEM;
	memset(t->ctl_buf, 0, len);
	t->ctl_mr = ibv_reg_mr(t->pd, t->ctl_buf, len, IBV_ACCESS_LOCAL_WRITE);
	if (!t->ctl_mr)
		return iiofab_err_errno(-ENOMEM);
	t->recv = calloc(t->n_recv_slots, sizeof(*t->recv));
	t->send = calloc(t->n_send_slots, sizeof(*t->send));
	t->send_free = calloc(t->n_send_slots, sizeof(*t->send_free));
	if (!t->recv || !t->send || !t->send_free)
		return -ENOMEM;
	for (uint32_t i = 0; i < t->n_send_slots; i++) {
		t->send[i] = (struct ctl_slot){ .op.done = send_done, .t = t, .index = i };
		t->send_free[i] = t->n_send_slots - 1 - i;
	}
	t->n_send_free = t->n_send_slots;
	for (uint32_t i = 0; i < t->n_recv_slots; i++) {
		int ret;

		t->recv[i] = (struct ctl_slot){
			.op = { .done = recv_done, .n_wqe = 1, .is_recv = true },
			.t = t,
			.index = i,
		};
		ret = post_recv(t, i);
		if (ret)
			return ret;
	}
	return 0;
}

static int create_epoll(struct transport *t)
{
	struct epoll_event ev = { .events = EPOLLIN };

	t->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (t->epfd < 0)
		return -errno;
	ev.data.fd = t->cc->fd;
	if (epoll_ctl(t->epfd, EPOLL_CTL_ADD, t->cc->fd, &ev))
		return -errno;
	ev.data.fd = t->ec->fd;
	if (epoll_ctl(t->epfd, EPOLL_CTL_ADD, t->ec->fd, &ev))
		return -errno;
	return 0;
}

/* What RC recovery costs on this connection: each lost packet that no later
 * packet reveals waits one ACK timeout before it is sent again. */
static void log_qp_timers(const struct transport *t)
{
	struct ibv_qp_attr a;
	struct ibv_qp_init_attr init;

	if (!iiofab_logger_enabled(t->log, IIOFAB_LOGGER_DEBUG) ||
	    ibv_query_qp(t->id->qp, &a, IBV_QP_TIMEOUT | IBV_QP_RETRY_CNT | IBV_QP_RNR_RETRY,
			 &init))
		return;
	iiofab_log_debug(t->log, "QP %u: local ACK timeout 2^%u x 4.096 us (%.0f ms), "
			 "%u retries, %u RNR retries", t->id->qp->qp_num, a.timeout,
			 a.timeout ? 4.096e-3 * (double)(1ull << a.timeout) : 0.0,
			 a.retry_cnt, a.rnr_retry);
}

static int establish(struct transport *t, const struct transport_params *p,
		     int64_t deadline)
{
	struct ibv_device_attr dattr;
	struct rdma_conn_param cp = {
		.retry_count = 7,
		.rnr_retry_count = 7,	/* RNR never fails the connection */
		.initiator_depth = 1,
		.responder_resources = 0,	/* nobody READs from us */
	};
	int ret;

	/* Several READs stay in flight: ask for as many outstanding READs
	 * as the device allows, up to what the rooms above can use. */
	if (ibv_query_device(t->id->verbs, &dattr) == 0) {
		int depth = dattr.max_qp_init_rd_atom;

		if (depth > (int)p->max_rdma_reads)
			depth = (int)p->max_rdma_reads;
		cp.initiator_depth = (uint8_t)(depth < 1 ? 1 : depth);
	}
	/*
	 * rdma_cm derives the ACK timeout from the path (2^17 x 4.096 us =
	 * 537 ms on soft-RoCE), and a lost packet that no later one reveals
	 * costs a timeout, often several in a row: with 5% loss an output
	 * stream stalled 3.6 to 5 s at a time and ran its converter dry. At
	 * 2^16 (268 ms) the same link stayed ahead; the 7 retries still let a
	 * peer be silent for about 2 s before the QP fails, more than a
	 * loaded emulated guest stalls, and far more than any LAN's round trip.
	 */
	ret = iiofab_err_cm(rdma_set_option(t->id, RDMA_OPTION_ID, RDMA_OPTION_ID_ACK_TIMEOUT,
					    &(uint8_t){ TRANSPORT_ACK_TIMEOUT },
					    sizeof(uint8_t)));
	if (ret) {
		iiofab_log_err(t->log, "cannot set the ACK timeout: %s", iiofab_strerror(ret));
		return ret;
	}
	ret = iiofab_err_cm(rdma_connect(t->id, &cp));
	if (ret)
		return ret;
	ret = wait_cm_event(t, RDMA_CM_EVENT_ESTABLISHED, deadline);
	if (ret == -ECONNREFUSED)
		iiofab_log_err(t->log,
			       "connection refused by %s:%s (is iiofabd running?)",
			       p->host, p->service);
	if (ret)
		return ret;
	t->connected = true;
	t->heard_ms = iiofab_now_ms();
	log_qp_timers(t);
	return 0;
}

int transport_open(const struct transport_params *p, struct transport **out)
{
	int64_t deadline = iiofab_now_ms() + p->connect_timeout_ms;
	struct transport *t;
	int ret;

	*out = NULL;
	t = calloc(1, sizeof(*t));
	if (!t)
		return -ENOMEM;
	t->epfd = -1;
	t->log = p->log;
	t->on_recv = p->on_recv;
	t->recv_arg = p->recv_arg;
	t->slot_size = p->slot_size;
	t->n_send_slots = p->send_slots;
	t->n_recv_slots = p->recv_slots;
	t->send_depth = p->send_depth;
	t->max_rdma_reads = p->max_rdma_reads;

	ret = create_id(t);
	if (ret)
		goto out_close;
	ret = resolve(t, p, deadline);
	if (ret)
		goto out_close;
	ret = create_verbs(t);
	if (ret)
		goto out_close;
	ret = create_slots(t);
	if (ret)
		goto out_close;
	ret = create_epoll(t);
	if (ret)
		goto out_close;
	ret = establish(t, p, deadline);
	if (ret)
		goto out_close;
	*out = t;
	return 0;

out_close:
	transport_close(t);
	return ret;
}

/* Acks every pending CQ event: the CQ cannot be destroyed before. */
static void ack_cq_events(struct transport *t)
{
	struct ibv_cq *cq;
	void *cq_ctx;

	while (ibv_get_cq_event(t->cc, &cq, &cq_ctx) == 0)
		ibv_ack_cq_events(cq, 1);
}

void transport_close(struct transport *t)
{
	if (!t)
		return;
	if (t->connected) {
		/* Wait briefly for the DISCONNECTED that confirms the server
		 * saw us go; a dead server must not make us hang, and one
		 * that already went silent will not confirm anything. */
		if (rdma_disconnect(t->id) == 0 && t->err != -ETIMEDOUT)
			(void)wait_cm_event(t, RDMA_CM_EVENT_DISCONNECTED,
					    iiofab_now_ms() + DISCONNECT_WAIT_MS);
		t->connected = false;
	}
	if (t->qp_created)
		rdma_destroy_qp(t->id);
	if (t->ctl_mr)
		ibv_dereg_mr(t->ctl_mr);
	free(t->ctl_buf);
	free(t->recv);
	free(t->send);
	free(t->send_free);
	if (t->cc)
		ack_cq_events(t);
	if (t->cq)
		ibv_destroy_cq(t->cq);
	if (t->cc)
		ibv_destroy_comp_channel(t->cc);
	if (t->pd)
		ibv_dealloc_pd(t->pd);
	if (t->id)
		rdma_destroy_id(t->id);
	if (t->epfd >= 0)
		close(t->epfd);
	if (t->ec)
		rdma_destroy_event_channel(t->ec);
	free(t);
}

static bool send_slot_free(void *arg)
{
	const struct transport *t = arg;

	return t->n_send_free > 0 && t->sq_used < t->send_depth;
}

int transport_try_get_send(struct transport *t, uint32_t *slot, uint8_t **buf)
{
	if (t->err)
		return t->err;
	if (!send_slot_free(t))
		return -EAGAIN;
	*slot = t->send_free[--t->n_send_free];
	*buf = send_buf(t, *slot);
	return 0;
}

int transport_get_send(struct transport *t, unsigned int quiet_ms, uint32_t *slot,
		       uint8_t **buf)
{
	int ret;

	if (!t->err && !send_slot_free(t)) {
		ret = transport_progress_alive(t, quiet_ms, send_slot_free, t);
		if (ret)
			return ret;
	}
	return transport_try_get_send(t, slot, buf);
}

int transport_post_send(struct transport *t, struct ibv_send_wr *wr,
			struct transport_op *op)
{
	struct ibv_send_wr *w, *bad = NULL;
	unsigned int n = 0, posted = 0;
	int ret;

	if (t->err)
		return t->err;
	for (w = wr; w; w = w->next) {
		n++;
		w->wr_id = (uintptr_t)op;
		w->send_flags &= ~(unsigned int)IBV_SEND_SIGNALED;
		if (!w->next) {
			w->wr_id |= WR_LAST;
			w->send_flags |= IBV_SEND_SIGNALED;
		}
	}
	if (!n)
		return -EINVAL;
	if (t->sq_used + n > t->send_depth)
		return -EAGAIN;
	op->n_wqe = n;
	op->unreaped = n;
	op->status = 0;
	op->is_recv = false;
	ret = iiofab_err_ibv(ibv_post_send(t->id->qp, wr, &bad));
	if (!ret) {
		t->sq_used += n;
		return 0;
	}
	transport_fail(t, ret, "cannot post a send");
	for (w = wr; w && w != bad; w = w->next)
		posted++;
	if (!posted)
		return ret;
	/* The requests before bad_wr are queued: their flush completes op. */
	op->unreaped = posted;
	t->sq_used += posted;
	return 0;
}

int transport_send(struct transport *t, uint32_t slot, size_t len)
{
	struct ibv_sge sge = {
		.addr = (uintptr_t)send_buf(t, slot),
		.length = (uint32_t)len,
		.lkey = t->ctl_mr->lkey,
	};
	struct ibv_send_wr wr = {
		.sg_list = &sge,
		.num_sge = 1,
		.opcode = IBV_WR_SEND,
	};
	int ret = transport_post_send(t, &wr, &t->send[slot].op);

	if (ret)
		transport_put_send(t, slot);
	return ret;
}

static int wc_status(const struct ibv_wc *wc)
{
	switch (wc->status) {
	case IBV_WC_SUCCESS:
		return 0;
	case IBV_WC_WR_FLUSH_ERR:
		return -ECANCELED;
	default:
		return -EIO;
	}
}

static void complete_send(struct transport *t, struct transport_op *op,
			  bool last, int status)
{
	if (status && !op->status)
		op->status = status;
	if (!status || last) {
		/* The chain's end: what is left of it completed with it. */
		t->sq_used -= op->unreaped;
		op->unreaped = 0;
	} else {
		t->sq_used--;
		op->unreaped--;
	}
	if (!op->unreaped)
		op->done(op, op->status);
}

static void complete(struct transport *t, const struct ibv_wc *wc)
{
	struct transport_op *op =
		(struct transport_op *)(uintptr_t)(wc->wr_id & ~(uint64_t)WR_LAST);
	int status = wc_status(wc);

	if (!status)
		t->heard_ms = iiofab_now_ms();
	if (status && status != -ECANCELED)
		iiofab_log_err(t->log, "work request failed: %s (vendor error 0x%x)",
			       ibv_wc_status_str(wc->status), wc->vendor_err);
	/* Flushes follow the first real error, or our own flush. */
	if (status)
		transport_fail(t, status == -ECANCELED ? -ECONNRESET : -EIO,
			       "completion error");
	if (op->is_recv) {
		t->recv_posted--;
		op->byte_len = wc->byte_len;
		op->done(op, status);
		return;
	}
	complete_send(t, op, wc->wr_id & WR_LAST, status);
}

/* Returns completions handled, or a negative errno. */
static int poll_cq(struct transport *t)
{
	struct ibv_wc wc[POLL_BATCH];
	int total = 0;

	if (t->cq_abandoned)
		return 0;
	for (;;) {
		int n = ibv_poll_cq(t->cq, POLL_BATCH, wc);

		if (n < 0) {
			transport_fail(t, -EIO, "cannot poll the completion queue");
			return -EIO;
		}
		for (int i = 0; i < n; i++)
			complete(t, &wc[i]);
		total += n;
		if (n < POLL_BATCH)
			return total;
	}
}

/* Arms the CQ and polls once more, so no completion slips past the arm. */
static int arm_and_poll(struct transport *t)
{
	int ret = iiofab_err_ibv(ibv_req_notify_cq(t->cq, 0));

	if (ret) {
		transport_fail(t, ret, "cannot arm the completion queue");
		return ret;
	}
	return poll_cq(t);
}

/* Sleeps until a channel fd is readable or left_ms passed. */
static int sleep_on_channels(struct transport *t, int64_t left_ms, bool cm_too)
{
	struct pollfd pfd[2] = {
		{ .fd = t->cc->fd, .events = POLLIN },
		{ .fd = t->ec->fd, .events = POLLIN },
	};

	int timeout = left_ms > INT32_MAX ? INT32_MAX : (int)left_ms;

	if (poll(pfd, cm_too ? 2 : 1, timeout) < 0 && errno != EINTR)
		return -errno;
	if (pfd[0].revents)
		ack_cq_events(t);
	if (cm_too && pfd[1].revents)
		handle_cm_events(t);
	return 0;
}

static void run_idle(struct transport *t)
{
	struct transport_idle *i, *next;

	for (i = t->idle; i; i = next) {
		next = i->next;
		i->run(i);
	}
}

int transport_progress(struct transport *t, int64_t deadline,
		       transport_done_fn done, void *arg)
{
	bool first = true;

	for (;;) {
		int64_t left;
		int n;

		if (t->err)
			return t->err;
		n = poll_cq(t);
		if (n < 0)
			return n;
		run_idle(t);
		if (t->err)
			return t->err;
		if (done(arg))
			return 0;
		if (n > 0)
			continue;
		/* Consume pending channel events so the fd callers poll
		 * (iiofab_stream_fd) is quiet until something new happens. */
		ack_cq_events(t);
		handle_cm_events(t);
		if (t->err)
			return t->err;
		/* The server is gone but sent more first: take it, then fail. */
		if (t->gone_errno)
			continue;
		n = arm_and_poll(t);
		if (n < 0)
			return n;
		if (n > 0)
			continue;
		left = deadline - iiofab_now_ms();
		if (left <= 0)
			return first ? -EAGAIN : -ETIMEDOUT;
		first = false;
		n = sleep_on_channels(t, left, true);
		if (n < 0)
			return n;
	}
}

int transport_progress_alive(struct transport *t, unsigned int quiet_ms,
			     transport_done_fn done, void *arg)
{
	int64_t start = iiofab_now_ms();
	int64_t cap = start + (int64_t)quiet_ms * TRANSPORT_ALIVE_CAP;

	for (;;) {
		int64_t since = t->heard_ms > start ? t->heard_ms : start;
		int64_t deadline = since + quiet_ms < cap ? since + quiet_ms : cap;
		int ret = transport_progress(t, deadline, done, arg);

		if (ret != -ETIMEDOUT && ret != -EAGAIN)
			return ret;
		if (!quiet_ms)
			return ret;
		/* Heard from the server meanwhile: its silence starts again. */
		if (t->heard_ms > since && iiofab_now_ms() < cap)
			continue;
		/*
		 * Silent for quiet_ms while something was due from it: a live
		 * server answers, and one with a stream sends a keepalive after
		 * 3 s. It is gone, and every later call says so.
		 */
		if (t->heard_ms <= since) {
			char why[64];

			snprintf(why, sizeof(why), "the server was silent for %u ms", quiet_ms);
			transport_fail(t, -ETIMEDOUT, why);
		}
		return -ETIMEDOUT;
	}
}

unsigned int transport_quiet_ms(const struct transport *t)
{
	int64_t ms = iiofab_now_ms() - t->heard_ms;

	return ms <= 0 ? 0 : ms > UINT32_MAX ? UINT32_MAX : (unsigned int)ms;
}

static bool outstanding(const struct transport *t)
{
	return t->sq_used || t->recv_posted;
}

int transport_flush(struct transport *t)
{
	struct ibv_qp_attr attr = { .qp_state = IBV_QPS_ERR };
	int64_t deadline = iiofab_now_ms() + TRANSPORT_FLUSH_MS;
	int ret;

	if (t->cq_abandoned)
		return -ETIMEDOUT;
	if (!t->qp_created)
		return 0;
	transport_fail(t, -ECONNABORTED, "outstanding operations flushed");
	ret = iiofab_err_ibv(ibv_modify_qp(t->id->qp, &attr, IBV_QP_STATE));
	if (ret)
		iiofab_log_warn(t->log, "cannot move the QP to the error state: %s",
				iiofab_strerror(ret));
	while (outstanding(t)) {
		int64_t left;
		int n = poll_cq(t);

		if (n < 0)
			break;
		if (n > 0)
			continue;
		n = arm_and_poll(t);
		if (n < 0)
			break;
		if (n > 0)
			continue;
		left = deadline - iiofab_now_ms();
		if (left <= 0 || sleep_on_channels(t, left, false) < 0)
			break;
	}
	if (!outstanding(t))
		return 0;
	iiofab_log_warn(t->log,
			"%u send and %u receive work requests never completed after the flush",
			t->sq_used, t->recv_posted);
	t->cq_abandoned = true;
	return -ETIMEDOUT;
}

void transport_add_idle(struct transport *t, struct transport_idle *idle)
{
	idle->next = t->idle;
	t->idle = idle;
}

void transport_remove_idle(struct transport *t, struct transport_idle *idle)
{
	for (struct transport_idle **p = &t->idle; *p; p = &(*p)->next) {
		if (*p == idle) {
			*p = idle->next;
			idle->next = NULL;
			return;
		}
	}
}
