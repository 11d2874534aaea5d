// SPDX-License-Identifier: MIT
/*
 * The RDMA side of a context: rdma_cm connection setup with timeouts, the
 * registered control-message slots, posting, and the one progress loop that
 * every blocking call goes through. Waiting follows the verbs recipe: poll,
 * arm, poll again, then sleep on the channels with the remaining timeout.
 */
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "priv.h"

/* librdmacm and libibverbs constructors report through errno. */
static int errno_or(int fallback)
{
	return errno > 0 ? -errno : fallback;
}

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

void conn_fail(struct iiofab_ctx *ctx, int err, const char *why)
{
	if (ctx->err)
		return;
	ctx->err = err;
	iiofab_log_err(&ctx->log, "connection failed: %s (%s)", why,
		iiofab_strerror(err));
}

/* Events after ESTABLISHED all mean the connection is gone. */
static void handle_cm_events(struct iiofab_ctx *ctx)
{
	struct rdma_cm_event *ev;

	while (rdma_get_cm_event(ctx->ec, &ev) == 0) {
		enum rdma_cm_event_type type = ev->event;
		int status = ev->status;

		rdma_ack_cm_event(ev);
		iiofab_log_debug(&ctx->log, "rdma_cm event %s",
			rdma_event_str(type));
		if (type == RDMA_CM_EVENT_DISCONNECTED ||
		    type == RDMA_CM_EVENT_DEVICE_REMOVAL ||
		    type == RDMA_CM_EVENT_TIMEWAIT_EXIT) {
			ctx->connected = false;
			conn_fail(ctx, cm_event_errno(type, status),
				  "server disconnected");
		}
	}
}

/* Waits for one specific connection-setup event. */
static int wait_cm_event(struct iiofab_ctx *ctx, enum rdma_cm_event_type want,
			 int64_t deadline)
{
	struct rdma_cm_event *ev;
	struct pollfd pfd = { .fd = ctx->ec->fd, .events = POLLIN };

	for (;;) {
		if (rdma_get_cm_event(ctx->ec, &ev) == 0) {
			enum rdma_cm_event_type type = ev->event;
			int status = ev->status;

			rdma_ack_cm_event(ev);
			if (type == want)
				return 0;
			iiofab_log_err(&ctx->log,
				"connect: %s (status %d) while waiting for %s",
				rdma_event_str(type), status,
				rdma_event_str(want));
			return cm_event_errno(type, status);
		}
		if (errno != EAGAIN)
			return errno_or(-EIO);

		int64_t left = deadline - iiofab_now_ms();

		if (left <= 0)
			return -ETIMEDOUT;
		if (poll(&pfd, 1, (int)left) < 0 && errno != EINTR)
			return -errno;
	}
}

static int resolve(struct iiofab_ctx *ctx, const char *host, const char *port,
		   int64_t deadline)
{
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM };
	struct addrinfo *ai;
	int ret;

	ret = getaddrinfo(host, port, &hints, &ai);
	if (ret) {
		iiofab_log_err(&ctx->log, "cannot resolve %s: %s", host,
			gai_strerror(ret));
		return -EHOSTUNREACH;
	}
	ret = rdma_resolve_addr(ctx->id, NULL, ai->ai_addr,
				(int)ctx->connect_timeout_ms);
	freeaddrinfo(ai);
	if (ret)
		return errno_or(-EIO);
	ret = wait_cm_event(ctx, RDMA_CM_EVENT_ADDR_RESOLVED, deadline);
	if (ret) {
		iiofab_log_err(&ctx->log,
			"no RDMA route to %s (is an RDMA device up?)", host);
		return ret;
	}
	if (rdma_resolve_route(ctx->id, (int)ctx->connect_timeout_ms))
		return errno_or(-EIO);
	return wait_cm_event(ctx, RDMA_CM_EVENT_ROUTE_RESOLVED, deadline);
}

uint8_t *conn_recv_buf(struct iiofab_ctx *ctx, uint32_t slot)
{
	return ctx->ctl_buf + (size_t)slot * CTL_MSG_SIZE;
}

static uint8_t *send_buf(struct iiofab_ctx *ctx, uint32_t slot)
{
	return ctx->ctl_buf + (size_t)(CTL_RECV_SLOTS + slot) * CTL_MSG_SIZE;
}

int conn_repost_recv(struct iiofab_ctx *ctx, uint32_t slot)
{
	struct ibv_sge sge = {
		.addr = (uintptr_t)conn_recv_buf(ctx, slot),
		.length = CTL_MSG_SIZE,
		.lkey = ctx->ctl_mr->lkey,
	};
	struct ibv_recv_wr wr = {
		.wr_id = WR_ID(WR_RECV, slot),
		.sg_list = &sge,
		.num_sge = 1,
	};
	struct ibv_recv_wr *bad;
	int ret = ibv_post_recv(ctx->id->qp, &wr, &bad);

	if (ret) {
		conn_fail(ctx, -ret, "cannot post a receive");
		return -ret;
	}
	return 0;
}

static int create_resources(struct iiofab_ctx *ctx)
{
	struct ibv_context *verbs = ctx->id->verbs;
	struct ibv_qp_init_attr qpa = {
		.qp_type = IBV_QPT_RC,
		.sq_sig_all = 0,
		.cap = {
			.max_send_wr = QP_SEND_DEPTH,
			.max_recv_wr = CTL_RECV_SLOTS,
			.max_send_sge = 1,
			.max_recv_sge = 1,
		},
	};
	size_t ctl_len = (size_t)(CTL_RECV_SLOTS + CTL_SEND_SLOTS) * CTL_MSG_SIZE;
	int ret;

	ctx->pd = ibv_alloc_pd(verbs);
	if (!ctx->pd)
		return errno_or(-ENOMEM);
	ctx->cc = ibv_create_comp_channel(verbs);
	if (!ctx->cc)
		return errno_or(-ENOMEM);
	ret = set_nonblock(ctx->cc->fd);
	if (ret)
		return ret;
	ctx->cq = ibv_create_cq(verbs, CQ_DEPTH, ctx, ctx->cc, 0);
	if (!ctx->cq)
		return errno_or(-ENOMEM);
	ret = ibv_req_notify_cq(ctx->cq, 0);
	if (ret)
		return -ret;
	qpa.send_cq = ctx->cq;
	qpa.recv_cq = ctx->cq;
	if (rdma_create_qp(ctx->id, ctx->pd, &qpa))
		return errno_or(-ENOMEM);
	ctx->qp_created = true;

	if (posix_memalign((void **)&ctx->ctl_buf, 4096, ctl_len))
		return -ENOMEM;
	memset(ctx->ctl_buf, 0, ctl_len);
	ctx->ctl_mr = ibv_reg_mr(ctx->pd, ctx->ctl_buf, ctl_len,
				 IBV_ACCESS_LOCAL_WRITE);
	if (!ctx->ctl_mr)
		return errno_or(-ENOMEM);
	for (uint32_t i = 0; i < CTL_SEND_SLOTS; i++)
		ctx->send_free[i] = CTL_SEND_SLOTS - 1 - i;
	ctx->n_send_free = CTL_SEND_SLOTS;
	for (uint32_t i = 0; i < CTL_RECV_SLOTS; i++) {
		ret = conn_repost_recv(ctx, i);
		if (ret)
			return ret;
	}
	return 0;
}

static int create_epoll(struct iiofab_ctx *ctx)
{
	struct epoll_event ev = { .events = EPOLLIN };

	ctx->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (ctx->epfd < 0)
		return -errno;
	ev.data.fd = ctx->cc->fd;
	if (epoll_ctl(ctx->epfd, EPOLL_CTL_ADD, ctx->cc->fd, &ev))
		return -errno;
	ev.data.fd = ctx->ec->fd;
	if (epoll_ctl(ctx->epfd, EPOLL_CTL_ADD, ctx->ec->fd, &ev))
		return -errno;
	return 0;
}

int conn_open(struct iiofab_ctx *ctx, const char *host, const char *port)
{
	int64_t deadline = iiofab_now_ms() + ctx->connect_timeout_ms;
	struct ibv_device_attr dattr;
	struct rdma_conn_param cp = {
		.retry_count = 7,
		.rnr_retry_count = 7,	/* RNR never fails the connection */
	};
	int ret;

	ctx->epfd = -1;
	ctx->ec = rdma_create_event_channel();
	if (!ctx->ec) {
		int err = errno_or(-ENODEV);

		iiofab_log_err(&ctx->log,
			"no RDMA support on this machine (rdma_ucm loaded?): %s",
			iiofab_strerror(err));
		return err;
	}
	ret = set_nonblock(ctx->ec->fd);
	if (ret)
		return ret;
	if (rdma_create_id(ctx->ec, &ctx->id, ctx, RDMA_PS_TCP))
		return errno_or(-ENOMEM);
	ret = resolve(ctx, host, port, deadline);
	if (ret)
		return ret;
	ret = create_resources(ctx);
	if (ret)
		return ret;
	ret = create_epoll(ctx);
	if (ret)
		return ret;

	/* Several block READs stay in flight: ask for as many outstanding
	 * READs as the device allows, up to what a stream can use. */
	if (ibv_query_device(ctx->id->verbs, &dattr) == 0) {
		int depth = dattr.max_qp_init_rd_atom;

		if (depth > 64)
			depth = 64;
		if (depth < 1)
			depth = 1;
		cp.initiator_depth = (uint8_t)depth;
	} else {
		cp.initiator_depth = 1;
	}
	cp.responder_resources = 0;	/* nobody READs from us */
	if (rdma_connect(ctx->id, &cp))
		return errno_or(-EIO);
	ret = wait_cm_event(ctx, RDMA_CM_EVENT_ESTABLISHED, deadline);
	if (ret) {
		if (ret == -ECONNREFUSED)
			iiofab_log_err(&ctx->log,
				"connection refused by %s:%s (is iiofabd running?)",
				host, port);
		return ret;
	}
	ctx->connected = true;
	return 0;
}

/* Acks every pending CQ event so the CQ can be destroyed. */
static void drain_cq_events(struct iiofab_ctx *ctx)
{
	struct ibv_cq *cq;
	void *cq_ctx;

	while (ibv_get_cq_event(ctx->cc, &cq, &cq_ctx) == 0)
		ibv_ack_cq_events(cq, 1);
}

void conn_close(struct iiofab_ctx *ctx)
{
	if (ctx->connected && ctx->id) {
		/* Wait briefly for the DISCONNECTED that confirms the server
		 * saw us go; a dead server must not make us hang. */
		if (rdma_disconnect(ctx->id) == 0)
			(void)wait_cm_event(ctx, RDMA_CM_EVENT_DISCONNECTED,
					    iiofab_now_ms() + 1000);
		ctx->connected = false;
	}
	if (ctx->qp_created) {
		rdma_destroy_qp(ctx->id);
		ctx->qp_created = false;
	}
	if (ctx->ctl_mr)
		ibv_dereg_mr(ctx->ctl_mr);
	ctx->ctl_mr = NULL;
	free(ctx->ctl_buf);
	ctx->ctl_buf = NULL;
	if (ctx->cc)
		drain_cq_events(ctx);
	if (ctx->cq)
		ibv_destroy_cq(ctx->cq);
	ctx->cq = NULL;
	if (ctx->cc)
		ibv_destroy_comp_channel(ctx->cc);
	ctx->cc = NULL;
	if (ctx->pd)
		ibv_dealloc_pd(ctx->pd);
	ctx->pd = NULL;
	if (ctx->id)
		rdma_destroy_id(ctx->id);
	ctx->id = NULL;
	if (ctx->epfd >= 0)
		close(ctx->epfd);
	ctx->epfd = -1;
	if (ctx->ec)
		rdma_destroy_event_channel(ctx->ec);
	ctx->ec = NULL;
}

int conn_event_fd(const struct iiofab_ctx *ctx)
{
	return ctx->epfd;
}

bool conn_try_get_send(struct iiofab_ctx *ctx, uint32_t *slot, uint8_t **buf)
{
	if (!ctx->n_send_free || ctx->sq_used >= QP_SEND_DEPTH)
		return false;
	*slot = ctx->send_free[--ctx->n_send_free];
	*buf = send_buf(ctx, *slot);
	return true;
}

void conn_put_send(struct iiofab_ctx *ctx, uint32_t slot)
{
	ctx->send_free[ctx->n_send_free++] = slot;
}

static bool send_slot_free(struct iiofab_ctx *ctx, void *arg)
{
	return ctx->n_send_free > 0 && ctx->sq_used < QP_SEND_DEPTH;
}

int conn_get_send(struct iiofab_ctx *ctx, int64_t deadline, uint32_t *slot,
		  uint8_t **buf)
{
	int ret;

	if (ctx->err)
		return ctx->err;
	if (!send_slot_free(ctx, NULL)) {
		ret = conn_progress(ctx, deadline, send_slot_free, NULL);
		if (ret)
			return ret;
	}
	return conn_try_get_send(ctx, slot, buf) ? 0 : -EAGAIN;
}

int conn_send(struct iiofab_ctx *ctx, uint32_t slot, size_t len)
{
	struct ibv_sge sge = {
		.addr = (uintptr_t)send_buf(ctx, slot),
		.length = (uint32_t)len,
		.lkey = ctx->ctl_mr->lkey,
	};
	struct ibv_send_wr wr = {
		.wr_id = WR_ID(WR_SEND, slot),
		.sg_list = &sge,
		.num_sge = 1,
		.opcode = IBV_WR_SEND,
		.send_flags = IBV_SEND_SIGNALED,
	};
	int ret;

	if (ctx->err) {
		conn_put_send(ctx, slot);
		return ctx->err;
	}
	ret = conn_post_send_wr(ctx, &wr, 1);
	if (ret)
		conn_put_send(ctx, slot);
	return ret;
}

int conn_post_send_wr(struct iiofab_ctx *ctx, struct ibv_send_wr *wr,
		      unsigned int n_wqe)
{
	struct ibv_send_wr *bad;
	int ret;

	if (ctx->err)
		return ctx->err;
	ret = ibv_post_send(ctx->id->qp, wr, &bad);
	if (ret) {
		conn_fail(ctx, -ret, "cannot post a send");
		return -ret;
	}
	ctx->sq_used += n_wqe;
	return 0;
}

static void handle_wc(struct iiofab_ctx *ctx, const struct ibv_wc *wc)
{
	uint32_t idx = WR_INDEX(wc->wr_id);
	unsigned int kind = WR_KIND(wc->wr_id);

	if (wc->status != IBV_WC_SUCCESS) {
		/* Flushes follow the first real error; report that one. */
		if (wc->status != IBV_WC_WR_FLUSH_ERR)
			iiofab_log_err(&ctx->log,
				"work request failed: %s (kind %u)",
				ibv_wc_status_str(wc->status), kind);
		conn_fail(ctx, wc->status == IBV_WC_WR_FLUSH_ERR ?
			  -ECONNRESET : -EIO, "completion error");
		/* Keep the accounting right so teardown does not wait. */
		if (kind == WR_SEND) {
			ctx->sq_used--;
			conn_put_send(ctx, idx);
		} else if (kind == WR_READ_DATA || kind == WR_WRITE) {
			ctx->sq_used--;
		} else if (kind == WR_READ_GEN) {
			ctx->sq_used--;
			if (ctx->stream)
				stream_on_read_error(ctx->stream, idx);
		}
		return;
	}
	switch (kind) {
	case WR_RECV:
		ctx_on_message(ctx, idx, wc->byte_len);
		break;
	case WR_SEND:
		ctx->sq_used--;
		conn_put_send(ctx, idx);
		break;
	case WR_WRITE:
		ctx->sq_used--;
		break;
	case WR_READ_GEN:
		/* The unsignaled data READ before it is complete too. */
		ctx->sq_used -= 2;
		if (ctx->stream)
			stream_on_read_done(ctx->stream, idx);
		break;
	default:
		break;
	}
}

/* Returns completions handled, or a negative errno. */
static int drain_cq(struct iiofab_ctx *ctx)
{
	struct ibv_wc wc[16];
	int total = 0;

	for (;;) {
		int n = ibv_poll_cq(ctx->cq, 16, wc);

		if (n < 0) {
			conn_fail(ctx, -EIO, "cannot poll the completion queue");
			return -EIO;
		}
		for (int i = 0; i < n; i++)
			handle_wc(ctx, &wc[i]);
		total += n;
		if (n < 16)
			return total;
	}
}

static void handle_cq_events(struct iiofab_ctx *ctx)
{
	struct ibv_cq *cq;
	void *cq_ctx;

	while (ibv_get_cq_event(ctx->cc, &cq, &cq_ctx) == 0)
		ibv_ack_cq_events(cq, 1);
}

int conn_progress(struct iiofab_ctx *ctx, int64_t deadline, conn_done_fn done,
		  void *arg)
{
	bool first = true;

	for (;;) {
		int n, ret;

		if (ctx->err)
			return ctx->err;
		n = drain_cq(ctx);
		if (n < 0)
			return n;
		if (ctx->stream)
			stream_on_idle(ctx->stream);
		if (ctx->err)
			return ctx->err;
		if (done(ctx, arg))
			return 0;
		if (n > 0)
			continue;

		/* Consume pending channel events so the fd callers poll
		 * (iiofab_stream_fd) is quiet until something new happens. */
		handle_cq_events(ctx);
		handle_cm_events(ctx);
		if (ctx->err)
			return ctx->err;
		ret = ibv_req_notify_cq(ctx->cq, 0);
		if (ret) {
			conn_fail(ctx, -ret, "cannot arm the completion queue");
			return -ret;
		}
		n = drain_cq(ctx);
		if (n < 0)
			return n;
		if (n > 0)
			continue;

		int64_t left = deadline - iiofab_now_ms();

		if (left <= 0)
			return first ? -EAGAIN : -ETIMEDOUT;
		first = false;

		struct pollfd pfd[2] = {
			{ .fd = ctx->cc->fd, .events = POLLIN },
			{ .fd = ctx->ec->fd, .events = POLLIN },
		};

		if (poll(pfd, 2, left > 1000000 ? 1000000 : (int)left) < 0 &&
		    errno != EINTR)
			return -errno;
		if (pfd[0].revents)
			handle_cq_events(ctx);
		if (pfd[1].revents)
			handle_cm_events(ctx);
	}
}
