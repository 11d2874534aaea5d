/* SPDX-License-Identifier: MIT */
/* Internals of libiiofab shared by its source files; never installed. */
#ifndef IIOFAB_PRIV_H
#define IIOFAB_PRIV_H

#include <stdarg.h>
#include <stdint.h>
#include <stdbool.h>

#include <rdma/rdma_cma.h>
#include <infiniband/verbs.h>

#include <iiofab/clock.h>
#include <iiofab/log.h>
#include <iiofab/wire.h>

#include "iiofab.h"

/* Control message slots: a message never exceeds IIOFAB_WIRE_MAX_MSG. */
#define CTL_MSG_SIZE 8192u
#define CTL_SEND_SLOTS 16u
/* The protocol asks for block_count + 16 posted RECVs while a stream is
 * open; post the maximum from the start so opening a stream never has to
 * grow the receive ring. */
#define CTL_MAX_BLOCKS 256u
#define CTL_RECV_SLOTS (CTL_MAX_BLOCKS + 16u)
/* Each READ pair takes two send WQEs. */
#define QP_SEND_DEPTH (CTL_SEND_SLOTS + 2u * CTL_MAX_BLOCKS)
#define CQ_DEPTH (QP_SEND_DEPTH + CTL_RECV_SLOTS)

/* wr_id = kind << 56 | index */
enum wr_kind {
	WR_RECV = 1,
	WR_SEND = 2,
	WR_READ_DATA = 3,
	WR_READ_GEN = 4,
	WR_WRITE = 5,
};
#define WR_ID(kind, idx) (((uint64_t)(kind) << 56) | (uint64_t)(idx))
#define WR_KIND(id) ((unsigned int)((id) >> 56))
#define WR_INDEX(id) ((uint32_t)((id) & 0xffffffffu))

struct iiofab_channel {
	const struct iiofab_device *dev;
	char *id;
	char *name;
	bool output;
	int scan_index;
	struct iiofab_data_format fmt;
	unsigned int n_attrs;
	char **attrs;
};

struct iiofab_device {
	struct iiofab_ctx *ctx;
	char *id;
	char *name;
	char *label;
	enum iiofab_device_kind kind;
	unsigned int n_attrs;
	char **attrs;
	unsigned int n_buffer_attrs;
	char **buffer_attrs;
	unsigned int n_channels;
	struct iiofab_channel *channels;
};

/* A message received while a request waits for its reply. */
struct ctl_reply {
	bool want;		/* a request is waiting */
	bool have;		/* reply arrived; recv slot kept until consumed */
	uint32_t request_id;
	uint32_t slot;
	uint32_t len;
};

struct iiofab_ctx {
	struct iiofab_params params;	/* psk points at psk_copy */
	struct iiofab_logger log;	/* forwards to params.log_fn */
	uint8_t *psk_copy;
	unsigned int connect_timeout_ms;
	unsigned int op_timeout_ms;

	struct rdma_event_channel *ec;
	struct rdma_cm_id *id;
	struct ibv_pd *pd;
	struct ibv_comp_channel *cc;
	struct ibv_cq *cq;
	bool qp_created;
	int epfd;			/* both channel fds, for callers' loops */
	bool connected;

	uint8_t *ctl_buf;		/* recv slots, then send slots */
	struct ibv_mr *ctl_mr;
	uint32_t send_free[CTL_SEND_SLOTS];
	unsigned int n_send_free;
	unsigned int sq_used;		/* send WQEs posted, not yet completed */

	uint32_t next_request_id;
	struct ctl_reply reply;
	union iiofab_wire_msg *msg;	/* decode/encode scratch (large) */

	/* Sticky: once the connection failed, every call returns this. */
	int err;

	unsigned int n_devices;
	struct iiofab_device *devices;

	struct iiofab_stream *stream;	/* at most one open */
};

/* ctx.c */
int64_t ctx_deadline(const struct iiofab_ctx *ctx, int timeout_ms);
int ctx_request(struct iiofab_ctx *ctx, uint16_t type,
		const union iiofab_wire_msg *m, uint16_t want_type);
int ctx_request_ok(struct iiofab_ctx *ctx, uint16_t type,
		   const union iiofab_wire_msg *m, uint32_t *value);
void ctx_reply_done(struct iiofab_ctx *ctx);

/* conn.c: rdma_cm connection, control message transport, progress. */
int conn_open(struct iiofab_ctx *ctx, const char *host, const char *port);
void conn_close(struct iiofab_ctx *ctx);
uint8_t *conn_recv_buf(struct iiofab_ctx *ctx, uint32_t slot);
int conn_repost_recv(struct iiofab_ctx *ctx, uint32_t slot);
/* Reserves a send slot (waits for one up to deadline) and returns its
 * buffer; conn_send() posts it. */
int conn_get_send(struct iiofab_ctx *ctx, int64_t deadline, uint32_t *slot,
		  uint8_t **buf);
bool conn_try_get_send(struct iiofab_ctx *ctx, uint32_t *slot, uint8_t **buf);
int conn_send(struct iiofab_ctx *ctx, uint32_t slot, size_t len);
void conn_put_send(struct iiofab_ctx *ctx, uint32_t slot);
int conn_post_send_wr(struct iiofab_ctx *ctx, struct ibv_send_wr *wr,
		      unsigned int n_wqe);
/* Runs completions and connection events until done(arg) is true, the
 * deadline passes (-ETIMEDOUT, or -EAGAIN when it was already past on entry)
 * or the connection fails. */
typedef bool (*conn_done_fn)(struct iiofab_ctx *ctx, void *arg);
int conn_progress(struct iiofab_ctx *ctx, int64_t deadline, conn_done_fn done,
		  void *arg);
int conn_event_fd(const struct iiofab_ctx *ctx);
void conn_fail(struct iiofab_ctx *ctx, int err, const char *why);

/* Dispatch from conn.c into the protocol layer (ctx.c / stream.c). */
void ctx_on_message(struct iiofab_ctx *ctx, uint32_t slot, uint32_t len);
void stream_on_read_done(struct iiofab_stream *stream, uint32_t slot);
void stream_on_read_error(struct iiofab_stream *stream, uint32_t slot);
void stream_on_idle(struct iiofab_stream *stream);

/* stream.c */
void stream_on_ready_msg(struct iiofab_stream *stream, const void *msg,
			 size_t len);
void stream_on_event_msg(struct iiofab_stream *stream, const void *msg,
			 size_t len);

/* dac.c */
void stream_on_free_msg(struct iiofab_stream *stream, const void *msg,
			size_t len);

#endif /* IIOFAB_PRIV_H */
