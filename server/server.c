// SPDX-License-Identifier: MIT
/*
 * The server: rdma_cm listener, signals, the handshake timer and the loop
 * that reaps dead clients between event batches.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/timerfd.h>
#include <unistd.h>
#include <rdma/rdma_cma.h>

#include "srv.h"
#include "srv_errno.h"
#include "srv_loop.h"

void srv_timer_update(struct srv *srv)
{
	struct itimerspec its = { 0 };
	bool want = false;

	for (struct srv_client *cl = srv->clients; cl; cl = cl->next)
		if ((cl->state != SRV_CL_READY || cl->subs) && !cl->dying)
			want = true;
	if (want == srv->timer_on)
		return;
	/* Only half-open handshakes and streams (keepalive) need a clock; a
	 * server without either sleeps. */
	if (want) {
		its.it_value.tv_sec = 1;
		its.it_interval.tv_sec = 1;
	}
	if (timerfd_settime(srv->timerfd, 0, &its, NULL) == 0)
		srv->timer_on = want;
}

static void on_timer(struct srv_watch *w, int res)
{
	struct srv *srv = w->ctx;
	struct timespec now;
	uint64_t ticks;

	while (read(srv->timerfd, &ticks, sizeof(ticks)) > 0)
		;
	clock_gettime(CLOCK_MONOTONIC, &now);
	for (struct srv_client *cl = srv->clients; cl; cl = cl->next) {
		srv_client_check_deadline(cl, &now);
		srv_client_keepalive(cl, &now);
	}
	(void)srv_watch_arm(srv->loop, w);
}

static void on_signal(struct srv_watch *w, int res)
{
	struct srv *srv = w->ctx;
	struct signalfd_siginfo si;

	while (read(srv->sigfd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
		srv_info(&srv->log, "signal %u: shutting down", si.ssi_signo);
		srv->stopping = true;
	}
	(void)srv_watch_arm(srv->loop, w);
}

static void on_cm_event(struct srv *srv, struct rdma_cm_event *ev)
{
	struct rdma_cm_id *id = ev->id;
	struct srv_client *cl = id == srv->listen_id ? NULL : id->context;
	struct rdma_conn_param param;
	enum rdma_cm_event_type type = ev->event;
	int status = ev->status;
	int err;

	srv_dbg(&srv->log, "cm: %s (status %d)", rdma_event_str(type), status);
	if (type == RDMA_CM_EVENT_CONNECT_REQUEST) {
		param = ev->param.conn;
		rdma_ack_cm_event(ev);
		if (srv->stopping) {
			err = -ESHUTDOWN;
		} else {
			err = srv_client_accept(srv, id, &param);
		}
		if (err) {
			srv_warn(&srv->log, "connection refused: %s", strerror(-err));
			(void)rdma_reject(id, NULL, 0);
			rdma_destroy_id(id);
		}
		return;
	}
	rdma_ack_cm_event(ev);
	if (!cl)
		return;
	switch (type) {
	case RDMA_CM_EVENT_ESTABLISHED:
		cl->established = true;
		break;
	case RDMA_CM_EVENT_DISCONNECTED:
		srv_client_kill(cl, "disconnected by the peer");
		break;
	case RDMA_CM_EVENT_TIMEWAIT_EXIT:
		break;
	default:
		/* CONNECT_ERROR, UNREACHABLE, REJECTED, DEVICE_REMOVAL, ... */
		srv_client_kill(cl, rdma_event_str(type));
		break;
	}
}

static void on_cm(struct srv_watch *w, int res)
{
	struct srv *srv = w->ctx;
	struct rdma_cm_event *ev;

	while (rdma_get_cm_event(srv->cm_ch, &ev) == 0)
		on_cm_event(srv, ev);
	if (errno != EAGAIN && errno != EWOULDBLOCK)
		srv_warn(&srv->log, "rdma_get_cm_event: %s", strerror(errno));
	(void)srv_watch_arm(srv->loop, w);
}

static void reap_dead(struct srv *srv)
{
	struct srv_client *cl = srv->clients, *next;
	bool any = false;

	for (; cl; cl = next) {
		next = cl->next;
		if (cl->dying) {
			srv_client_reap(cl);
			any = true;
		}
	}
	if (any)
		srv_timer_update(srv);
}

static int listen_on(struct srv *srv)
{
	const struct srv_config *cfg = srv->cfg;
	struct addrinfo hints = { 0 }, *ai;
	char host[INET6_ADDRSTRLEN] = "?";
	int err;

	hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
	/* No address: IPv4 any, the address family soft-RoCE labs use. */
	hints.ai_family = cfg->listen_addr ? AF_UNSPEC : AF_INET;
	hints.ai_socktype = SOCK_STREAM;
	err = getaddrinfo(cfg->listen_addr, cfg->listen_port, &hints, &ai);
	if (err) {
		srv_err(&srv->log, "cannot resolve listen address %s:%s: %s",
			cfg->listen_addr ? cfg->listen_addr : "*", cfg->listen_port,
			gai_strerror(err));
		return -EINVAL;
	}
	err = srv_from_cm(rdma_bind_addr(srv->listen_id, ai->ai_addr));
	if (ai->ai_family == AF_INET)
		inet_ntop(AF_INET, &((struct sockaddr_in *)ai->ai_addr)->sin_addr, host, sizeof(host));
	else if (ai->ai_family == AF_INET6)
		inet_ntop(AF_INET6, &((struct sockaddr_in6 *)ai->ai_addr)->sin6_addr, host, sizeof(host));
	freeaddrinfo(ai);
	if (err) {
		srv_err(&srv->log, "cannot bind %s port %s: %s%s", host, cfg->listen_port,
			strerror(-err), err == -EADDRNOTAVAIL || err == -ENODEV ?
			" (is an RDMA device such as rxe configured on that address?)" : "");
		return err;
	}
	err = srv_from_cm(rdma_listen(srv->listen_id, 64));
	if (err) {
		srv_err(&srv->log, "cannot listen on %s port %s: %s", host, cfg->listen_port,
			strerror(-err));
		return err;
	}
	srv_info(&srv->log, "listening on %s port %s, %s", host, cfg->listen_port,
		 cfg->psk_len ? (cfg->insecure ? "pre-shared key (clients without one allowed)" :
						 "pre-shared key required") :
				"INSECURE: no key, any client allowed");
	return 0;
}

static struct srv_watch *watch_fd(struct srv *srv, srv_watch_cb cb, int fd)
{
	struct srv_watch *w = srv_watch_new(cb, srv, fd, POLLIN);

	if (w && srv_watch_arm(srv->loop, w) < 0) {
		srv_watch_free(srv->loop, w);
		w = NULL;
	}
	return w;
}

int srv_run(const struct srv_config *cfg)
{
	struct srv *srv;
	sigset_t mask, old;
	int err;

	srv = calloc(1, sizeof(*srv));
	if (!srv)
		return -ENOMEM;
	srv->cfg = cfg;
	srv->log.level = cfg->log_level;
	srv->verbs = &srv_verbs_default;
	clock_gettime(CLOCK_MONOTONIC, &srv->started);
	srv->msg = malloc(sizeof(*srv->msg));
	srv->check = malloc(sizeof(*srv->check));
	if (!srv->msg || !srv->check) {
		err = -ENOMEM;
		goto out_free;
	}
	err = srv_loop_create(&srv->loop, 512);
	if (err) {
		srv_err(&srv->log, "io_uring: %s", strerror(-err));
		goto out_free_msg;
	}
	err = srv_crypto_warmup(cfg);
	if (err) {
		srv_err(&srv->log, "libcrypto: no randomness or HMAC-SHA256");
		goto out_destroy_loop;
	}
	err = srv_iio_open(&srv->iio, &srv->log);
	if (err) {
		srv_err(&srv->log, "cannot open the local IIO context: %s", strerror(-err));
		goto out_destroy_loop;
	}

	sigemptyset(&mask);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGTERM);
	sigprocmask(SIG_BLOCK, &mask, &old);
	srv->sigfd = signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC);
	if (srv->sigfd < 0) {
		err = -errno;
		goto out_restore_signals;
	}
	srv->timerfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	if (srv->timerfd < 0) {
		err = -errno;
		goto out_close_sigfd;
	}
	srv->cm_ch = rdma_create_event_channel();
	if (!srv->cm_ch) {
		err = errno ? -errno : -ENODEV;
		srv_err(&srv->log, "rdma_cm: %s (is rdma_ucm loaded?)", strerror(-err));
		goto out_close_timerfd;
	}
	if (fcntl(srv->cm_ch->fd, F_SETFL, fcntl(srv->cm_ch->fd, F_GETFL) | O_NONBLOCK) < 0) {
		err = -errno;
		goto out_destroy_cm_ch;
	}
	err = srv_from_cm(rdma_create_id(srv->cm_ch, &srv->listen_id, NULL, RDMA_PS_TCP));
	if (err)
		goto out_destroy_cm_ch;
	err = listen_on(srv);
	if (err)
		goto out_destroy_listen;

	srv->cm_watch = watch_fd(srv, on_cm, srv->cm_ch->fd);
	srv->sig_watch = watch_fd(srv, on_signal, srv->sigfd);
	srv->timer_watch = watch_fd(srv, on_timer, srv->timerfd);
	if (!srv->cm_watch || !srv->sig_watch || !srv->timer_watch) {
		err = -ENOMEM;
		goto out_free_watches;
	}

	while (!srv->stopping) {
		err = srv_loop_run_once(srv->loop);
		if (err < 0) {
			srv_err(&srv->log, "event loop: %s", strerror(-err));
			break;
		}
		reap_dead(srv);
	}
	/* Streams go with their last subscriber: stop, detach, deregister. */
	for (struct srv_client *cl = srv->clients; cl; cl = cl->next)
		srv_client_kill(cl, "server shutting down");
	reap_dead(srv);
	srv_info(&srv->log, "stopped: %llu client(s) served, %llu block(s) completed, %llu lost",
		 (unsigned long long)srv->stats.clients_total,
		 (unsigned long long)srv->stats.blocks_completed,
		 (unsigned long long)srv->stats.blocks_reclaimed);

out_free_watches:
	srv_watch_free(srv->loop, srv->cm_watch);
	srv_watch_free(srv->loop, srv->sig_watch);
	srv_watch_free(srv->loop, srv->timer_watch);
out_destroy_listen:
	rdma_destroy_id(srv->listen_id);
out_destroy_cm_ch:
	rdma_destroy_event_channel(srv->cm_ch);
out_close_timerfd:
	close(srv->timerfd);
out_close_sigfd:
	close(srv->sigfd);
out_restore_signals:
	sigprocmask(SIG_SETMASK, &old, NULL);
	srv_iio_close(srv->iio);
out_destroy_loop:
	srv_loop_destroy(srv->loop);
out_free_msg:
	free(srv->check);
	free(srv->msg);
out_free:
	free(srv);
	return err;
}
