// SPDX-License-Identifier: MIT
/*
 * The fake transport (see t_fake_transport.h). Where the real one polls a
 * CQ, this one keeps a queue of the completions and receives that the test
 * (or the board) made happen, and hands them out in that order.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>
#include <cmocka.h>

#include <iiofab/clock.h>
#include <iiofab/log.h>
#include <iiofab/wire.h>

#include "t_fake_transport.h"

#define T_XP_MAGIC 0x74787066u	/* "fpxt" */
#define T_XP_MAX_MRS 16
#define T_XP_MAX_REGIONS 512
#define T_XP_CTL_LKEY 0xc7u	/* the control slots' own region */

enum t_recv_state {
	T_RECV_POSTED,		/* waiting for a message */
	T_RECV_ARRIVED,		/* a message landed, its completion is queued */
	T_RECV_HELD,		/* the library kept it (a reply being read) */
	T_RECV_IDLE,		/* flushed, or given back on a failed connection */
};

enum t_send_state {
	T_SEND_FREE,
	T_SEND_FILLING,		/* handed out, not yet sent */
	T_SEND_IN_FLIGHT,
};

struct t_cqe {
	bool recv;
	unsigned int index;	/* a posting, or a receive slot */
	int status;
};

struct t_mr {
	struct ibv_mr mr;
	int access;
};

struct t_region {
	uint64_t addr;
	uint32_t rkey;
	uint8_t *mem;
	size_t len;
	int access;
};

struct transport {
	struct ibv_pd pd;		/* what transport_pd() hands out */
	uint32_t magic;
	struct t_peer *peer;
	const struct iiofab_logger *log;
	transport_recv_fn on_recv;
	void *recv_arg;
	int err;
	int efd;

	size_t slot_size;
	unsigned int n_recv, n_send;
	uint8_t *recv_buf, *send_buf;
	enum t_recv_state *recv_state;
	uint32_t *recv_len;
	uint32_t *recv_fifo;		/* posted receives, oldest first */
	unsigned int recv_head, recv_count;
	enum t_send_state *send_state;
	unsigned int send_limit, sends_in_use;
	bool hold_sends;

	struct t_post *posts;
	unsigned int n_posts;
	unsigned int sq_head;		/* the oldest posting not completed */
	unsigned int sq_used, send_depth;
	unsigned int in_flight, max_in_flight;
	bool qp_error;

	struct t_cqe *cq;
	unsigned int cq_cap, cq_head, cq_count;

	struct t_mr *mrs[T_XP_MAX_MRS];
	uint32_t next_key;
	unsigned int reg_skip;
	int reg_err;
	struct t_region *regions;
	unsigned int n_regions;

	struct transport_idle *idle;
	unsigned int waits, flushes;
};

/* ---- the listener ---------------------------------------------------------- */

static struct t_peer *t_listener;

void t_xp_listen(struct t_peer *peer)
{
	t_listener = peer;
}

/* ---- the completion queue -------------------------------------------------- */

static void cq_push(struct transport *t, bool recv, unsigned int index, int status)
{
	uint64_t one = 1;

	assert_true(t->cq_count < t->cq_cap);
	t->cq[(t->cq_head + t->cq_count++) % t->cq_cap] =
		(struct t_cqe){ .recv = recv, .index = index, .status = status };
	/* The fd callers poll becomes readable, as the channel's would. */
	assert_int_equal(write(t->efd, &one, sizeof(one)), sizeof(one));
}

static void recv_post(struct transport *t, uint32_t slot)
{
	t->recv_state[slot] = T_RECV_POSTED;
	t->recv_fifo[(t->recv_head + t->recv_count++) % t->n_recv] = slot;
}

/* The QP in the error state: everything outstanding completes flushed. */
static void qp_to_error(struct transport *t)
{
	t->qp_error = true;
	for (; t->sq_head < t->n_posts; t->sq_head++) {
		struct t_post *p = &t->posts[t->sq_head];

		p->state = T_COMPLETED;
		p->status = -ECANCELED;
		cq_push(t, false, p->index, -ECANCELED);
	}
	while (t->recv_count) {
		uint32_t slot = t->recv_fifo[t->recv_head];

		t->recv_head = (t->recv_head + 1) % t->n_recv;
		t->recv_count--;
		t->recv_state[slot] = T_RECV_ARRIVED;
		cq_push(t, true, slot, -ECANCELED);
	}
}

/* ---- executing work requests ------------------------------------------------ */

static const struct t_region *find_region(const struct transport *t, uint64_t addr,
					  uint32_t len, uint32_t rkey, int access)
{
	for (unsigned int i = 0; i < t->n_regions; i++) {
		const struct t_region *r = &t->regions[i];

		if (r->rkey == rkey && addr >= r->addr && addr - r->addr <= r->len &&
		    len <= r->len - (addr - r->addr)) {
			if (!(r->access & access))
				fail_msg("rkey 0x%x does not allow access 0x%x", rkey, access);
			return r;
		}
	}
	fail_msg("no remote region with rkey 0x%x holds [0x%llx, +%u)", rkey,
		 (unsigned long long)addr, len);
	return NULL;
}

static void execute(struct transport *t, const struct t_post *p)
{
	for (unsigned int i = 0; i < p->n_wr; i++) {
		const struct t_wr *w = &p->wr[i];
		uint8_t *local = (uint8_t *)(uintptr_t)w->local_addr;
		const struct t_region *r;

		if (w->opcode == IBV_WR_RDMA_READ) {
			r = find_region(t, w->remote_addr, w->length, w->rkey,
					IBV_ACCESS_REMOTE_READ);
			memcpy(local, r->mem + (w->remote_addr - r->addr), w->length);
		} else if (w->opcode == IBV_WR_RDMA_WRITE) {
			r = find_region(t, w->remote_addr, w->length, w->rkey,
					IBV_ACCESS_REMOTE_WRITE);
			memcpy(r->mem + (w->remote_addr - r->addr), local, w->length);
		}
	}
}

static void complete_one(struct transport *t, struct t_post *p, int status)
{
	assert_int_equal(p->index, t->sq_head);
	assert_int_equal(p->state, T_POSTED);
	if (!status)
		execute(t, p);
	p->state = T_COMPLETED;
	p->status = status;
	t->sq_head++;
	cq_push(t, false, p->index, status);
}

/* Control SENDs that are not held complete as soon as their turn comes. */
static void advance(struct transport *t)
{
	while (!t->hold_sends && t->sq_head < t->n_posts &&
	       t->posts[t->sq_head].ctl_slot >= 0)
		complete_one(t, &t->posts[t->sq_head], 0);
}

void t_xp_complete(struct transport *t, struct t_post *p, int status)
{
	assert_false(t->qp_error);
	if (p->index != t->sq_head)
		fail_msg("posting %u completed before %u: RC completes in order",
			 p->index, t->sq_head);
	complete_one(t, p, status);
	if (status)
		qp_to_error(t);
	else
		advance(t);
}

struct t_post *t_xp_complete_next(struct transport *t, int status)
{
	struct t_post *p = t_xp_oldest(t);

	assert_non_null(p);
	t_xp_complete(t, p, status);
	return p;
}

/* ---- polling ------------------------------------------------------------------ */

static void reap_recv(struct transport *t, const struct t_cqe *c)
{
	uint32_t slot = c->index;

	assert_int_equal(t->recv_state[slot], T_RECV_ARRIVED);
	if (c->status) {
		t->recv_state[slot] = T_RECV_IDLE;
		return;
	}
	t->recv_state[slot] = T_RECV_HELD;
	if (t->on_recv(t->recv_arg, slot, t->recv_buf + (size_t)slot * t->slot_size,
		       t->recv_len[slot]) == TRANSPORT_RECV_DONE)
		transport_release_recv(t, slot);
}

static void reap_send(struct transport *t, const struct t_cqe *c)
{
	struct t_post *p = &t->posts[c->index];

	assert_int_equal(p->state, T_COMPLETED);
	p->state = T_REAPED;
	t->sq_used -= p->n_wr;
	if (c->status)
		transport_fail(t, c->status == -ECANCELED ? -ECONNRESET : -EIO,
			       "completion error");
	if (p->ctl_slot >= 0) {
		t->send_state[p->ctl_slot] = T_SEND_FREE;
		t->sends_in_use--;
		return;
	}
	t->in_flight--;
	p->op->status = c->status;
	p->op->unreaped = 0;
	p->op->done(p->op, c->status);
}

static int poll_cq(struct transport *t)
{
	uint64_t v;
	int n = 0;

	while (t->cq_count) {
		struct t_cqe c = t->cq[t->cq_head];

		t->cq_head = (t->cq_head + 1) % t->cq_cap;
		t->cq_count--;
		n++;
		if (c.recv)
			reap_recv(t, &c);
		else
			reap_send(t, &c);
	}
	(void)!read(t->efd, &v, sizeof(v));
	return n;
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
		int n;

		if (t->err)
			return t->err;
		n = poll_cq(t);
		run_idle(t);
		if (t->err)
			return t->err;
		if (done(arg))
			return 0;
		if (n > 0)
			continue;
		if (deadline - iiofab_now_ms() <= 0)
			return first ? -EAGAIN : -ETIMEDOUT;
		first = false;
		/* The library would sleep: the board's moment. */
		t->waits++;
		if (t->peer->on_wait)
			t->peer->on_wait(t->peer);
		if (!t->cq_count && !t->err)
			return -ETIMEDOUT;
	}
}

/* Waits here never sleep and nothing is heard while one lasts: the silence
 * bound is the clock bound. */
int transport_progress_alive(struct transport *t, unsigned int quiet_ms,
			     transport_done_fn done, void *arg)
{
	int ret = transport_progress(t, iiofab_now_ms() + quiet_ms, done, arg);

	return ret == -EAGAIN && quiet_ms ? -ETIMEDOUT : ret;
}

unsigned int transport_quiet_ms(const struct transport *t)
{
	return 0;
}

static bool outstanding(const struct transport *t)
{
	for (unsigned int i = 0; i < t->n_recv; i++)
		if (t->recv_state[i] == T_RECV_POSTED || t->recv_state[i] == T_RECV_ARRIVED)
			return true;
	for (unsigned int i = 0; i < t->n_posts; i++)
		if (t->posts[i].state != T_REAPED)
			return true;
	return false;
}

int transport_flush(struct transport *t)
{
	t->flushes++;
	transport_fail(t, -ECONNABORTED, "outstanding operations flushed");
	if (!t->qp_error)
		qp_to_error(t);
	while (poll_cq(t) > 0)
		;
	assert_false(outstanding(t));
	return 0;
}

/* ---- posting ------------------------------------------------------------------ */

static const struct t_mr *find_mr(const struct transport *t, uint32_t lkey)
{
	for (unsigned int i = 0; i < T_XP_MAX_MRS; i++)
		if (t->mrs[i] && t->mrs[i]->mr.lkey == lkey)
			return t->mrs[i];
	return NULL;
}

static void check_local(const struct transport *t, const struct ibv_send_wr *w)
{
	const struct ibv_sge *sge = w->sg_list;
	const struct t_mr *m;
	uintptr_t base;

	assert_int_equal(w->num_sge, 1);
	m = find_mr(t, sge->lkey);
	if (!m)
		fail_msg("lkey 0x%x names no registered region", sge->lkey);
	base = (uintptr_t)m->mr.addr;
	if (sge->addr < base || sge->addr - base > m->mr.length ||
	    sge->length > m->mr.length - (sge->addr - base))
		fail_msg("[0x%llx, +%u) lies outside the region of lkey 0x%x",
			 (unsigned long long)sge->addr, sge->length, sge->lkey);
	if (w->opcode == IBV_WR_RDMA_READ)
		assert_true(m->access & IBV_ACCESS_LOCAL_WRITE);
}

static bool op_in_flight(const struct transport *t, const struct transport_op *op)
{
	for (unsigned int i = 0; i < t->n_posts; i++)
		if (t->posts[i].op == op && t->posts[i].state != T_REAPED)
			return true;
	return false;
}

static struct t_post *record(struct transport *t, struct ibv_send_wr *wr,
			     struct transport_op *op, int ctl_slot)
{
	struct t_post *p;
	unsigned int n = 0;

	assert_true(t->n_posts < T_XP_MAX_POSTS);
	p = &t->posts[t->n_posts];
	*p = (struct t_post){ .index = t->n_posts, .op = op, .ctl_slot = ctl_slot };
	for (struct ibv_send_wr *w = wr; w; w = w->next, n++) {
		assert_true(n < T_XP_MAX_WR);
		p->wr[n] = (struct t_wr){
			.opcode = w->opcode,
			.local_addr = w->sg_list->addr,
			.length = w->sg_list->length,
			.lkey = w->sg_list->lkey,
			.remote_addr = w->wr.rdma.remote_addr,
			.rkey = w->wr.rdma.rkey,
		};
	}
	p->n_wr = n;
	t->n_posts++;
	t->sq_used += n;
	if (t->qp_error) {
		/* Posted to a QP in the error state: flushed at once. */
		p->state = T_COMPLETED;
		p->status = -ECANCELED;
		t->sq_head++;
		cq_push(t, false, p->index, -ECANCELED);
	}
	return p;
}

static unsigned int chain_length(struct ibv_send_wr *wr)
{
	unsigned int n = 0;

	for (; wr; wr = wr->next)
		n++;
	return n;
}

int transport_post_send(struct transport *t, struct ibv_send_wr *wr,
			struct transport_op *op)
{
	unsigned int n = chain_length(wr);

	if (t->err)
		return t->err;
	if (!n)
		return -EINVAL;
	if (t->sq_used + n > t->send_depth)
		return -EAGAIN;
	if (op_in_flight(t, op))
		fail_msg("a transport_op posted again while in flight");
	for (struct ibv_send_wr *w = wr; w; w = w->next) {
		assert_true(w->opcode == IBV_WR_RDMA_READ || w->opcode == IBV_WR_RDMA_WRITE);
		check_local(t, w);
	}
	op->n_wqe = n;
	op->unreaped = n;
	op->status = 0;
	op->is_recv = false;
	record(t, wr, op, -1);
	t->in_flight++;
	if (t->in_flight > t->max_in_flight)
		t->max_in_flight = t->in_flight;
	advance(t);
	return 0;
}

/* ---- control slots ------------------------------------------------------------ */

static bool send_slot_free(void *arg)
{
	const struct transport *t = arg;

	return t->sends_in_use < t->send_limit && t->sq_used < t->send_depth;
}

int transport_try_get_send(struct transport *t, uint32_t *slot, uint8_t **buf)
{
	if (t->err)
		return t->err;
	if (!send_slot_free(t))
		return -EAGAIN;
	for (uint32_t i = 0; i < t->n_send; i++) {
		if (t->send_state[i] == T_SEND_FREE) {
			t->send_state[i] = T_SEND_FILLING;
			t->sends_in_use++;
			*slot = i;
			*buf = t->send_buf + (size_t)i * t->slot_size;
			return 0;
		}
	}
	fail_msg("no free send slot although fewer than %u are in use", t->send_limit);
	return -EAGAIN;
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

void transport_put_send(struct transport *t, uint32_t slot)
{
	assert_true(slot < t->n_send);
	assert_int_equal(t->send_state[slot], T_SEND_FILLING);
	t->send_state[slot] = T_SEND_FREE;
	t->sends_in_use--;
}

int transport_send(struct transport *t, uint32_t slot, size_t len)
{
	uint8_t *buf = t->send_buf + (size_t)slot * t->slot_size;
	struct ibv_sge sge = {
		.addr = (uintptr_t)buf,
		.length = (uint32_t)len,
		.lkey = T_XP_CTL_LKEY,
	};
	struct ibv_send_wr wr = { .sg_list = &sge, .num_sge = 1, .opcode = IBV_WR_SEND };
	struct t_post *p;

	assert_true(slot < t->n_send);
	assert_int_equal(t->send_state[slot], T_SEND_FILLING);
	assert_true(len >= IIOFAB_WIRE_HDR_SIZE && len <= t->slot_size);
	if (t->err || t->sq_used + 1 > t->send_depth) {
		int ret = t->err ? t->err : -EAGAIN;

		transport_put_send(t, slot);
		return ret;
	}
	t->send_state[slot] = T_SEND_IN_FLIGHT;
	p = record(t, &wr, NULL, (int)slot);
	p->msg_type = (uint16_t)(buf[6] | buf[7] << 8);
	advance(t);
	if (!t->qp_error)
		t->peer->on_send(t->peer, buf, len);
	return 0;
}

/* ---- receives ------------------------------------------------------------------ */

void t_xp_deliver(struct transport *t, const void *msg, size_t len)
{
	uint32_t slot;

	/* Nothing arrives on a connection that is gone. */
	if (t->err || t->qp_error)
		return;
	assert_true(len <= t->slot_size);
	if (!t->recv_count)
		fail_msg("a message arrived with no receive posted");
	slot = t->recv_fifo[t->recv_head];
	t->recv_head = (t->recv_head + 1) % t->n_recv;
	t->recv_count--;
	memcpy(t->recv_buf + (size_t)slot * t->slot_size, msg, len);
	t->recv_len[slot] = (uint32_t)len;
	t->recv_state[slot] = T_RECV_ARRIVED;
	cq_push(t, true, slot, 0);
}

void transport_release_recv(struct transport *t, uint32_t slot)
{
	assert_true(slot < t->n_recv);
	if (t->recv_state[slot] != T_RECV_HELD)
		fail_msg("receive slot %u given back but not held", slot);
	if (t->err)
		t->recv_state[slot] = T_RECV_IDLE;
	else
		recv_post(t, slot);
}

/* ---- the connection --------------------------------------------------------------- */

static int alloc_buffers(struct transport *t)
{
	t->recv_buf = calloc(t->n_recv, t->slot_size);
	t->send_buf = calloc(t->n_send, t->slot_size);
	t->recv_state = calloc(t->n_recv, sizeof(*t->recv_state));
	t->recv_len = calloc(t->n_recv, sizeof(*t->recv_len));
	t->recv_fifo = calloc(t->n_recv, sizeof(*t->recv_fifo));
	t->send_state = calloc(t->n_send, sizeof(*t->send_state));
	t->posts = calloc(T_XP_MAX_POSTS, sizeof(*t->posts));
	t->cq_cap = T_XP_MAX_POSTS + t->n_recv;
	t->cq = calloc(t->cq_cap, sizeof(*t->cq));
	t->regions = calloc(T_XP_MAX_REGIONS, sizeof(*t->regions));
	if (!t->recv_buf || !t->send_buf || !t->recv_state || !t->recv_len ||
	    !t->recv_fifo || !t->send_state || !t->posts || !t->cq || !t->regions)
		return -ENOMEM;
	return 0;
}

int transport_open(const struct transport_params *p, struct transport **out)
{
	struct transport *t = calloc(1, sizeof(*t));

	*out = NULL;
	assert_non_null(t);
	assert_non_null(t_listener);
	assert_true(p->slot_size >= IIOFAB_WIRE_MAX_MSG);
	assert_true(p->send_slots > 0 && p->recv_slots > 0 && p->send_depth >= p->send_slots);
	t->magic = T_XP_MAGIC;
	t->peer = t_listener;
	t_listener = NULL;
	t->log = p->log;
	t->on_recv = p->on_recv;
	t->recv_arg = p->recv_arg;
	t->slot_size = p->slot_size;
	t->n_recv = p->recv_slots;
	t->n_send = p->send_slots;
	t->send_limit = p->send_slots;
	t->send_depth = p->send_depth;
	t->next_key = 0x100;
	t->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	assert_true(t->efd >= 0);
	assert_int_equal(alloc_buffers(t), 0);
	for (uint32_t i = 0; i < t->n_recv; i++)
		recv_post(t, i);
	t->peer->xp = t;
	*out = t;
	return 0;
}

/*
 * What the rooms above must have undone by now: their idle hooks, their
 * memory regions, every reply they held, and every RDMA operation of
 * theirs must have completed to its owner (its memory is gone).
 */
static void check_left_behind(const struct transport *t)
{
	assert_null(t->idle);
	assert_int_equal(t_xp_mrs(t), 0);
	assert_int_equal(t_xp_held_recvs(t), 0);
	for (unsigned int i = 0; i < t->n_posts; i++)
		if (t->posts[i].op && t->posts[i].state != T_REAPED)
			fail_msg("posting %u still in flight when the transport closed", i);
}

void transport_close(struct transport *t)
{
	if (!t)
		return;
	check_left_behind(t);
	t->peer->xp = NULL;
	close(t->efd);
	free(t->recv_buf);
	free(t->send_buf);
	free(t->recv_state);
	free(t->recv_len);
	free(t->recv_fifo);
	free(t->send_state);
	free(t->posts);
	free(t->cq);
	free(t->regions);
	free(t);
}

void transport_fail(struct transport *t, int err, const char *why)
{
	if (t->err)
		return;
	t->err = err;
	iiofab_log_err(t->log, "connection failed: %s (%s)", why, strerror(-err));
}

int transport_error(const struct transport *t)
{
	return t->err;
}

int transport_fd(const struct transport *t)
{
	return t->efd;
}

struct ibv_pd *transport_pd(const struct transport *t)
{
	return (struct ibv_pd *)&t->pd;
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

/* ---- verbs: memory registration on the transport's PD --------------------------- */

static struct transport *transport_of_pd(struct ibv_pd *pd)
{
	struct transport *t = (struct transport *)((char *)pd - offsetof(struct transport, pd));

	assert_non_null(pd);
	assert_int_equal(t->magic, T_XP_MAGIC);
	return t;
}

struct ibv_mr *(ibv_reg_mr)(struct ibv_pd *pd, void *addr, size_t length, int access)
{
	struct transport *t = transport_of_pd(pd);
	struct t_mr *m;

	if (t->reg_err) {
		if (t->reg_skip) {
			t->reg_skip--;
		} else {
			errno = t->reg_err;
			t->reg_err = 0;
			return NULL;
		}
	}
	assert_non_null(addr);
	assert_true(length > 0);
	m = calloc(1, sizeof(*m));
	assert_non_null(m);
	m->mr = (struct ibv_mr){ .pd = pd, .addr = addr, .length = length,
				 .lkey = t->next_key, .rkey = t->next_key };
	m->access = access;
	t->next_key++;
	for (unsigned int i = 0; i < T_XP_MAX_MRS; i++) {
		if (!t->mrs[i]) {
			t->mrs[i] = m;
			return &m->mr;
		}
	}
	fail_msg("more than %u memory regions", T_XP_MAX_MRS);
	return NULL;
}

int ibv_dereg_mr(struct ibv_mr *mr)
{
	struct transport *t = transport_of_pd(mr->pd);

	for (unsigned int i = 0; i < T_XP_MAX_MRS; i++) {
		if (t->mrs[i] && &t->mrs[i]->mr == mr) {
			/* The NIC may still write into it: so may no request. */
			for (unsigned int j = 0; j < t->n_posts; j++)
				for (unsigned int k = 0; k < t->posts[j].n_wr; k++)
					if (t->posts[j].op && t->posts[j].state != T_REAPED &&
					    t->posts[j].wr[k].lkey == mr->lkey)
						fail_msg("region 0x%x deregistered under posting %u",
							 mr->lkey, j);
			free(t->mrs[i]);
			t->mrs[i] = NULL;
			return 0;
		}
	}
	fail_msg("deregistering a region that is not registered");
	return EINVAL;
}

/* ---- the test's side ------------------------------------------------------------ */

unsigned int t_xp_posts(const struct transport *t)
{
	return t->n_posts;
}

struct t_post *t_xp_post(struct transport *t, unsigned int index)
{
	assert_true(index < t->n_posts);
	return &t->posts[index];
}

struct t_post *t_xp_oldest(struct transport *t)
{
	return t->sq_head < t->n_posts ? &t->posts[t->sq_head] : NULL;
}

unsigned int t_xp_in_flight(const struct transport *t)
{
	return t->in_flight;
}

unsigned int t_xp_max_in_flight(const struct transport *t)
{
	return t->max_in_flight;
}

void t_xp_fail(struct transport *t, int err)
{
	transport_fail(t, err, "server disconnected");
}

void t_xp_add_region(struct transport *t, uint64_t addr, uint32_t rkey,
		     void *mem, size_t len, int access)
{
	assert_true(t->n_regions < T_XP_MAX_REGIONS);
	t->regions[t->n_regions++] = (struct t_region){
		.addr = addr, .rkey = rkey, .mem = mem, .len = len, .access = access,
	};
}

void t_xp_remove_regions(struct transport *t)
{
	t->n_regions = 0;
}

void t_xp_hold_sends(struct transport *t, bool hold)
{
	t->hold_sends = hold;
	advance(t);
}

void t_xp_limit_send_slots(struct transport *t, unsigned int n)
{
	assert_true(n <= t->n_send);
	t->send_limit = n;
}

void t_xp_limit_send_depth(struct transport *t, unsigned int n)
{
	t->send_depth = n;
}

void t_xp_fail_reg(struct transport *t, unsigned int skip, int err)
{
	t->reg_skip = skip;
	t->reg_err = err;
}

int t_xp_fd(const struct transport *t)
{
	return t->efd;
}

unsigned int t_xp_mrs(const struct transport *t)
{
	unsigned int n = 0;

	for (unsigned int i = 0; i < T_XP_MAX_MRS; i++)
		n += t->mrs[i] != NULL;
	return n;
}

uint32_t t_xp_lkey_of(const struct transport *t, const void *p)
{
	uintptr_t a = (uintptr_t)p;

	for (unsigned int i = 0; i < T_XP_MAX_MRS; i++) {
		const struct ibv_mr *mr = t->mrs[i] ? &t->mrs[i]->mr : NULL;

		if (mr && a >= (uintptr_t)mr->addr && a - (uintptr_t)mr->addr < mr->length)
			return mr->lkey;
	}
	return 0;
}

unsigned int t_xp_held_recvs(const struct transport *t)
{
	unsigned int n = 0;

	for (unsigned int i = 0; i < t->n_recv; i++)
		n += t->recv_state[i] == T_RECV_HELD;
	return n;
}

unsigned int t_xp_idle_hooks(const struct transport *t)
{
	unsigned int n = 0;

	for (const struct transport_idle *i = t->idle; i; i = i->next)
		n++;
	return n;
}

unsigned int t_xp_waits(const struct transport *t)
{
	return t->waits;
}

unsigned int t_xp_flushes(const struct transport *t)
{
	return t->flushes;
}
