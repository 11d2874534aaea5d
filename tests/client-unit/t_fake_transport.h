/* SPDX-License-Identifier: MIT */
/*
 * A link-time fake of client/src/transport.c: every function of
 * transport.h, plus the two verbs calls the rooms above it make themselves
 * (ibv_reg_mr, ibv_dereg_mr on the transport's PD), so libiiofab's rooms
 * run natively, without an RDMA device.
 *
 * It plays one RC queue pair as honestly as the rooms could tell:
 * - send work requests complete in the order they were posted; completing
 *   one with an error flushes every request behind it;
 * - completions and received messages wait in one completion queue, in the
 *   order they happened, and reach their owners only when the progress loop
 *   (or the flush) polls it, idle hooks running after each poll;
 * - every local buffer a request names must lie in a memory region
 *   registered with the lkey it gives, every remote one in a region the
 *   board exposed (t_xp_add_region) with that rkey and access; an RDMA READ
 *   copies the board's bytes into the local buffer when it completes, an
 *   RDMA WRITE the local bytes to the board;
 * - a transport_op is never posted again while it is in flight.
 *
 * The server sits behind struct t_peer: it sees each control message the
 * library SENDs at the moment it is posted, and it may act whenever the
 * library would sleep in a wait. Time passes only there: a wait that the
 * peer does not end with a completion or a message times out at once.
 */
#ifndef T_FAKE_TRANSPORT_H
#define T_FAKE_TRANSPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <infiniband/verbs.h>

#include "transport.h"

#define T_XP_MAX_POSTS 4096	/* postings one connection remembers */
#define T_XP_MAX_WR 4		/* work requests in one chain */

enum t_post_state {
	T_POSTED,	/* in the send queue */
	T_COMPLETED,	/* its completion waits in the completion queue */
	T_REAPED,	/* polled: its owner was told */
};

/* One work request as posted (one SGE each: the rooms never use more). */
struct t_wr {
	enum ibv_wr_opcode opcode;
	uint64_t local_addr;
	uint32_t length;
	uint32_t lkey;
	uint64_t remote_addr;
	uint32_t rkey;
};

/* One transport_post_send() (or transport_send()) that was accepted. */
struct t_post {
	unsigned int index;		/* posting order, from 0 */
	unsigned int n_wr;
	struct t_wr wr[T_XP_MAX_WR];
	struct transport_op *op;	/* NULL for a control message */
	int ctl_slot;			/* a control message's send slot, else -1 */
	uint16_t msg_type;		/* a control message's type */
	enum t_post_state state;
	int status;			/* of its completion */
};

/* The other end of the connection. */
struct t_peer {
	/* A control message the library posted, as the server receives it. */
	void (*on_send)(struct t_peer *peer, const uint8_t *buf, size_t len);
	/* The library is about to sleep in a wait (NULL: nothing happens). */
	void (*on_wait)(struct t_peer *peer);
	/* Set while a transport is connected to this peer. */
	struct transport *xp;
};

/*
 * The peer the next transport_open() connects to, as the network would
 * find a listening server: the one piece of state outside any object,
 * since transport_open()'s parameters have no room for it.
 */
void t_xp_listen(struct t_peer *peer);

/* ---- what was posted ---------------------------------------------------- */

unsigned int t_xp_posts(const struct transport *t);
struct t_post *t_xp_post(struct transport *t, unsigned int index);
/* The oldest posting not completed yet, NULL when the send queue is empty. */
struct t_post *t_xp_oldest(struct transport *t);
/* RDMA chains (not control messages) not completed yet; the most at once. */
unsigned int t_xp_in_flight(const struct transport *t);
unsigned int t_xp_max_in_flight(const struct transport *t);

/* ---- what the network and the board do ---------------------------------- */

/*
 * Completes p, which must be the oldest posting (RC order): status 0
 * executes its READs and WRITEs; an error (-EIO) fails it and flushes
 * everything behind it. Its owner learns of it at the next poll.
 */
void t_xp_complete(struct transport *t, struct t_post *p, int status);
/* Completes the oldest posting; returns it. */
struct t_post *t_xp_complete_next(struct transport *t, int status);
/* A control message from the server: it lands in the oldest posted receive. */
void t_xp_deliver(struct transport *t, const void *msg, size_t len);
/* The rdma_cm reports the connection gone (as DISCONNECTED would). */
void t_xp_fail(struct transport *t, int err);

/* Memory the board exposes: RDMA to [addr, addr + len) with rkey reaches mem. */
void t_xp_add_region(struct transport *t, uint64_t addr, uint32_t rkey,
		     void *mem, size_t len, int access);
/* The board deregisters every region (its stream closed). */
void t_xp_remove_regions(struct transport *t);

/* ---- scarcity and failures on demand ------------------------------------ */

/* Control SENDs complete only when the test completes them. */
void t_xp_hold_sends(struct transport *t, bool hold);
/* At most n control send slots in use at once (default: all of them). */
void t_xp_limit_send_slots(struct transport *t, unsigned int n);
/* At most n send work requests in flight (default: the requested depth). */
void t_xp_limit_send_depth(struct transport *t, unsigned int n);
/* The registration after the next `skip` ones fails with errno err. */
void t_xp_fail_reg(struct transport *t, unsigned int skip, int err);

/* ---- state the tests check ---------------------------------------------- */

int t_xp_fd(const struct transport *t);
/* Memory regions registered now (the transport's own not counted). */
unsigned int t_xp_mrs(const struct transport *t);
/* The lkey of the registered region holding p, 0 when none does. */
uint32_t t_xp_lkey_of(const struct transport *t, const void *p);
/* Receive slots the library holds (a reply it has not given back). */
unsigned int t_xp_held_recvs(const struct transport *t);
unsigned int t_xp_idle_hooks(const struct transport *t);
/* Waits that would have slept (the peer's on_wait ran for each). */
unsigned int t_xp_waits(const struct transport *t);
unsigned int t_xp_flushes(const struct transport *t);

#endif
