/* SPDX-License-Identifier: MIT */
/*
 * The daemon's single io_uring event loop. Everything is a one-shot poll on
 * an fd, re-armed by its owner when it wants more: dmabuf fences must be
 * one-shot (armed after each enqueue), and channel fds are drained until
 * EAGAIN before re-arming, so nothing is lost and nothing spins.
 */
#ifndef IIOFAB_SRV_LOOP_H
#define IIOFAB_SRV_LOOP_H

#include <stdbool.h>

struct srv_loop;
struct srv_watch;

/* res: the poll's revents, or -errno (e.g. -ECANCELED never reaches owners). */
typedef void (*srv_watch_cb)(struct srv_watch *w, int res);

struct srv_watch {
	srv_watch_cb cb;
	void *ctx;
	int fd;
	unsigned int events;
	bool armed;
	bool orphan;		/* owner gone; freed when its CQE arrives */
	struct srv_watch *prev, *next;	/* orphan list */
};

int srv_loop_create(struct srv_loop **out, unsigned int entries);
/* Frees orphaned watches too; accepts NULL. */
void srv_loop_destroy(struct srv_loop *loop);

struct srv_watch *srv_watch_new(srv_watch_cb cb, void *ctx, int fd,
				unsigned int events);
/* Arms a one-shot poll; the callback runs once when it fires. */
int srv_watch_arm(struct srv_loop *loop, struct srv_watch *w);
/*
 * Releases a watch: freed now if idle, otherwise its poll is cancelled and
 * the memory freed when the kernel hands the request back. Accepts NULL.
 */
void srv_watch_free(struct srv_loop *loop, struct srv_watch *w);

/* Waits for at least one event and dispatches what is ready; -errno on failure. */
int srv_loop_run_once(struct srv_loop *loop);

#endif
