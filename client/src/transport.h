/* SPDX-License-Identifier: MIT */
/*
 * The verbs transport of one connection: rdma_cm connection setup with
 * timeouts, PD, completion channel, CQ, RC QP, registered control-message
 * slots, posting, the one progress loop, the sticky connection error, the
 * pollable fd, the flush and the teardown.
 *
 * It knows no message types and no streams. It reaches upward only through
 * what it was given: a received control message goes to the receive
 * callback given at open, each posted chain of work requests completes
 * through its owner's struct transport_op, and per-iteration work of the
 * rooms above (posting READs, sending batched messages) runs as registered
 * idle hooks.
 */
#ifndef IIOFAB_TRANSPORT_H
#define IIOFAB_TRANSPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <infiniband/verbs.h>

#include <iiofab/log.h>

/* How long transport_flush() waits for the flushed completions. */
#define TRANSPORT_FLUSH_MS 1000

struct transport;

/*
 * The completion object of one posted chain of send work requests (or of
 * one receive). Embedded in its owner's state, which must outlive it until
 * done() ran. done() runs exactly once per posting, from the progress loop
 * or transport_flush(): status 0, -ECANCELED when the request was flushed,
 * -EIO when it failed.
 */
struct transport_op {
	void (*done)(struct transport_op *op, int status);
	/* Filled in by the transport: */
	unsigned int n_wqe;	/* work requests in the chain */
	unsigned int unreaped;	/* of those, not yet accounted for */
	int status;		/* the first error among them */
	uint32_t byte_len;	/* receives: bytes that arrived */
	bool is_recv;
};

/*
 * What the receiver does with a control message slot: give it back at
 * once, or hold it (decoded data points into it) and give it back later
 * with transport_release_recv().
 */
enum transport_recv_verdict {
	TRANSPORT_RECV_DONE,
	TRANSPORT_RECV_HOLD,
};

typedef enum transport_recv_verdict (*transport_recv_fn)(void *arg,
							  uint32_t slot,
							  const uint8_t *buf,
							  uint32_t len);

/* Runs on every turn of the progress loop, after the completions. */
struct transport_idle {
	void (*run)(struct transport_idle *idle);
	struct transport_idle *next;
};

struct transport_params {
	const char *host;
	const char *service;
	unsigned int connect_timeout_ms;
	size_t slot_size;		/* bytes of one control message slot */
	unsigned int send_slots;	/* control messages in flight */
	unsigned int recv_slots;	/* receives kept posted */
	unsigned int send_depth;	/* send WQEs in flight, control sends included */
	unsigned int max_rdma_reads;	/* outstanding RDMA READs to ask for */
	const struct iiofab_logger *log;
	transport_recv_fn on_recv;
	void *recv_arg;
};

/* Connects within connect_timeout_ms; on failure nothing is left behind. */
int transport_open(const struct transport_params *p, struct transport **out);
/* Disconnects (waiting briefly for the peer) and frees. NULL ok. */
void transport_close(struct transport *t);

/* Sticky: 0 while healthy; once the connection failed, its -errno. */
int transport_error(const struct transport *t);
void transport_fail(struct transport *t, int err, const char *why);
/* Readable when the progress loop may have something to do. */
int transport_fd(const struct transport *t);
struct ibv_pd *transport_pd(const struct transport *t);

/*
 * A control-message send slot: transport_get_send() waits (through the
 * progress loop) until the server was silent for quiet_ms (as
 * transport_progress_alive), transport_try_get_send() returns -EAGAIN
 * at once. Fill *buf, then transport_send() it, or give it back with
 * transport_put_send().
 */
int transport_get_send(struct transport *t, unsigned int quiet_ms, uint32_t *slot,
		       uint8_t **buf);
int transport_try_get_send(struct transport *t, uint32_t *slot, uint8_t **buf);
void transport_put_send(struct transport *t, uint32_t slot);
/* Posts the slot's first len bytes as a SEND; the slot comes back by itself. */
int transport_send(struct transport *t, uint32_t slot, size_t len);
/* Gives a held receive slot back (it is posted again). */
void transport_release_recv(struct transport *t, uint32_t slot);

/*
 * Posts a chain of send work requests completing through op: every wr_id
 * is set, only the last request is signaled (RC executes the chain in
 * order, so its completion covers the ones before). 0: op is in flight and
 * its done() will run; -EAGAIN: the send queue is full; another -errno:
 * nothing was posted.
 */
int transport_post_send(struct transport *t, struct ibv_send_wr *wr,
			struct transport_op *op);

void transport_add_idle(struct transport *t, struct transport_idle *idle);
void transport_remove_idle(struct transport *t, struct transport_idle *idle);

/*
 * Runs completions, idle hooks and connection events until done(arg) is
 * true (0), the deadline passes (-ETIMEDOUT, or -EAGAIN when it had already
 * passed on entry) or the connection fails (its error). Poll, arm, poll
 * again, then sleep on the channels: an idle wait uses no CPU.
 */
typedef bool (*transport_done_fn)(void *arg);
int transport_progress(struct transport *t, int64_t deadline,
		       transport_done_fn done, void *arg);

/*
 * A wait bounded by the server's silence rather than by the clock: like
 * transport_progress(), but it ends with -ETIMEDOUT only once quiet_ms
 * passed without any completion (nothing of ours acknowledged, nothing
 * read, nothing received), or TRANSPORT_ALIVE_CAP x quiet_ms after it
 * began. On a lossy link RC retransmission delivers late, and what waits
 * behind bulk transfers on the same QP waits for them: such a wait is
 * slow, not failed. A server silent for quiet_ms is gone: the connection
 * fails with -ETIMEDOUT. quiet_ms 0: -EAGAIN at once unless done.
 */
#define TRANSPORT_ALIVE_CAP 10
int transport_progress_alive(struct transport *t, unsigned int quiet_ms,
			     transport_done_fn done, void *arg);
/* Milliseconds since the last completion. */
unsigned int transport_quiet_ms(const struct transport *t);

/*
 * Moves the QP to the error state and waits, at most TRANSPORT_FLUSH_MS,
 * until every outstanding operation completed with its flush status (so
 * each owner cleaned up). The connection counts as failed afterwards.
 * -ETIMEDOUT when some never completed: the CQ is then never polled again,
 * so a late completion cannot reach memory its owner has freed.
 */
int transport_flush(struct transport *t);

#endif /* IIOFAB_TRANSPORT_H */
