/* SPDX-License-Identifier: MIT */
/*
 * One client's verbs transport: its protection domain, completion channel
 * and CQ, the RC QP, and the registered control slots (receives always
 * posted, sends handed out as buffers). It moves bytes and knows no
 * message types: received messages, free send slots and the debug check
 * of outgoing bytes go up through the callbacks it was given.
 *
 * A transport is never freed inside a callback: srv_xport_fail() only
 * marks it dead (and disconnects), and its owner tears it down between loop
 * iterations with srv_xport_flush() (QP to error, bounded drain of the
 * flushed work requests) and srv_xport_destroy().
 */
#ifndef IIOFAB_SRV_XPORT_H
#define IIOFAB_SRV_XPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "srv_sink.h"

struct rdma_cm_id;
struct rdma_conn_param;
struct ibv_pd;
struct iiofab_logger;
struct srv_loop;
struct srv_xport;

#define SRV_N_RECV	128
#define SRV_N_SEND	64
#define SRV_ACK_TIMEOUT	18	/* IB local ACK timeout exponent, see xport.c */

struct srv_xport_cbs {
	/* A message arrived (not called once the transport is dead or closing). */
	void (*recv)(void *arg, const uint8_t *buf, size_t len);
	/* A send completed: its slot is free again. */
	void (*sent)(void *arg);
	/* Debug level only: the bytes about to be sent; a message on failure. */
	void (*check)(void *arg, const void *buf, size_t len);
};

/*
 * Sets up the verbs resources for a connection request on id and accepts
 * it. label names the client in log lines ("client 3 (10.77.0.2)").
 */
int srv_xport_accept(struct srv_xport **out, struct rdma_cm_id *id,
		     const struct rdma_conn_param *req, struct srv_loop *loop,
		     const struct iiofab_logger *log, const char *label,
		     const struct srv_xport_cbs *cbs, void *arg);
/* QP to error, then a bounded wait for every posted work request to flush. */
void srv_xport_flush(struct srv_xport *x);
/* Releases everything; call srv_xport_flush() first. */
void srv_xport_destroy(struct srv_xport *x);

/* A free send buffer of SRV_CTRL_SIZE bytes, or NULL (none free, or dead). */
void *srv_xport_send_buf(struct srv_xport *x, unsigned int *slot);
/* Sends len bytes of slot's buffer; len <= 0 gives the slot back (< 0: an encode error). */
int srv_xport_send(struct srv_xport *x, unsigned int slot, int len);
/* Disconnects once every send in flight completed (a fatal reply was queued). */
void srv_xport_close_when_sent(struct srv_xport *x);
void srv_xport_fail(struct srv_xport *x, const char *why);
bool srv_xport_dead(const struct srv_xport *x);

/* Milliseconds the oldest unacknowledged send has waited, or -1 when none. */
int64_t srv_xport_unacked_ms(const struct srv_xport *x, const struct timespec *now);
/* Milliseconds since the last send was posted. */
int64_t srv_xport_idle_ms(const struct srv_xport *x, const struct timespec *now);
struct ibv_pd *srv_xport_pd(const struct srv_xport *x);
/* The sink a stream subscriber sends through (ctx: the transport). */
extern const struct srv_sink_ops srv_xport_sink_ops;

#endif
