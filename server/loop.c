// SPDX-License-Identifier: MIT
#include <errno.h>
#include <liburing.h>
#include <stdlib.h>

#include "srv_loop.h"

struct srv_loop {
	struct io_uring ring;
	struct srv_watch orphans;	/* list head */
};

int srv_loop_create(struct srv_loop **out, unsigned int entries)
{
	struct srv_loop *loop;
	int err;

	loop = calloc(1, sizeof(*loop));
	if (!loop)
		return -ENOMEM;
	/* liburing already returns -errno. */
	err = io_uring_queue_init(entries, &loop->ring, 0);
	if (err < 0) {
		free(loop);
		return err;
	}
	loop->orphans.prev = loop->orphans.next = &loop->orphans;
	*out = loop;
	return 0;
}

void srv_loop_destroy(struct srv_loop *loop)
{
	if (!loop)
		return;
	/* After exit the kernel holds no request; user_data was only a cookie. */
	io_uring_queue_exit(&loop->ring);
	while (loop->orphans.next != &loop->orphans) {
		struct srv_watch *w = loop->orphans.next;

		w->next->prev = w->prev;
		w->prev->next = w->next;
		free(w);
	}
	free(loop);
}

struct srv_watch *srv_watch_new(srv_watch_cb cb, void *ctx, int fd,
				unsigned int events)
{
	struct srv_watch *w = calloc(1, sizeof(*w));

	if (!w)
		return NULL;
	w->cb = cb;
	w->ctx = ctx;
	w->fd = fd;
	w->events = events;
	return w;
}

static struct io_uring_sqe *get_sqe(struct srv_loop *loop)
{
	struct io_uring_sqe *sqe = io_uring_get_sqe(&loop->ring);

	if (!sqe) {
		/* SQ full: push what is queued and take a fresh slot. */
		(void)io_uring_submit(&loop->ring);
		sqe = io_uring_get_sqe(&loop->ring);
	}
	return sqe;
}

int srv_watch_arm(struct srv_loop *loop, struct srv_watch *w)
{
	struct io_uring_sqe *sqe;

	if (w->armed)
		return 0;
	sqe = get_sqe(loop);
	if (!sqe)
		return -EBUSY;
	io_uring_prep_poll_add(sqe, w->fd, w->events);
	io_uring_sqe_set_data(sqe, w);
	w->armed = true;
	return 0;
}

void srv_watch_free(struct srv_loop *loop, struct srv_watch *w)
{
	struct io_uring_sqe *sqe;

	if (!w)
		return;
	if (!w->armed) {
		free(w);
		return;
	}
	w->orphan = true;
	w->prev = &loop->orphans;
	w->next = loop->orphans.next;
	w->next->prev = w;
	loop->orphans.next = w;
	sqe = get_sqe(loop);
	if (sqe) {
		io_uring_prep_poll_remove(sqe, (__u64)(uintptr_t)w);
		io_uring_sqe_set_data(sqe, NULL);
	}
	/*
	 * Without an SQE the poll stays armed until its fd fires or the ring
	 * exits; the orphan list frees it either way.
	 */
	(void)io_uring_submit(&loop->ring);
}

int srv_loop_run_once(struct srv_loop *loop)
{
	struct io_uring_cqe *cqe;
	int err;

	err = io_uring_submit_and_wait(&loop->ring, 1);
	if (err < 0 && err != -EINTR && err != -EAGAIN && err != -EBUSY)
		return err;
	/*
	 * One CQE at a time: a callback may free a watch whose completion is
	 * also in this batch; copying and marking each CQE seen before the
	 * callback runs keeps that safe (the orphan check below sees it).
	 */
	while (io_uring_peek_cqe(&loop->ring, &cqe) == 0) {
		struct srv_watch *w = io_uring_cqe_get_data(cqe);
		int res = cqe->res;

		io_uring_cqe_seen(&loop->ring, cqe);
		if (!w)
			continue;	/* a poll_remove's own completion */
		w->armed = false;
		if (w->orphan) {
			w->next->prev = w->prev;
			w->prev->next = w->next;
			free(w);
			continue;
		}
		if (res == -ECANCELED)
			continue;
		w->cb(w, res);
	}
	return 0;
}
