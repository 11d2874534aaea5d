// SPDX-License-Identifier: MIT
/*
 * The server: the rdma_cm listener, signals, the one timer, and the loop
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

#include <iiofab/err.h>

#include "srv_iio.h"
#include "srv_loop.h"
#include "srv_proto.h"
#include "srv_xport.h"

struct srv {
	const struct srv_config *cfg;
	const struct iiofab_logger *log;
	struct srv_env env;
	struct srv_stats stats;
	struct srv_streams streams;
	struct rdma_event_channel *cm_ch;
	struct rdma_cm_id *listen_id;
	struct srv_watch *cm_watch;
	struct srv_watch *sig_watch;
	struct srv_watch *timer_watch;
	int sigfd;
	int timerfd;
	bool timer_on;
	bool stopping;
	struct srv_client *clients;
};

/* The one place the clock is switched: after every batch of events. */
static void update_timer(struct srv *srv)
{
	struct itimerspec its = { 0 };
	bool want = false;

	for (struct srv_client *cl = srv->clients; cl && !want; cl = cl->next)
		want = srv_client_needs_clock(cl);
	if (want == srv->timer_on)
		return;
	/* Only half-open handshakes and streams (keepalive) need a clock; a
	 * server without either sleeps. */
	if (want) {
		its.it_value.tv_sec = SRV_TICK_MS / 1000;
		its.it_interval.tv_sec = SRV_TICK_MS / 1000;
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
	for (struct srv_client *cl = srv->clients; cl; cl = cl->next)
		srv_client_tick(cl, &now);
	(void)srv_watch_arm(srv->env.loop, w);
}

static void on_signal(struct srv_watch *w, int res)
{
	struct srv *srv = w->ctx;
	struct signalfd_siginfo si;

	while (read(srv->sigfd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
		iiofab_log_info(srv->log, "signal %u: shutting down", si.ssi_signo);
		srv->stopping = true;
	}
	(void)srv_watch_arm(srv->env.loop, w);
}

static void on_connect_request(struct srv *srv, struct rdma_cm_id *id,
			       const struct rdma_conn_param *param)
{
	struct srv_client *cl;
	int err = srv->stopping ? -ESHUTDOWN : srv_client_accept(&srv->env, id, param, &cl);

	if (err) {
		iiofab_log_warn(srv->log, "connection refused: %s", strerror(-err));
		(void)rdma_reject(id, NULL, 0);
		rdma_destroy_id(id);
		return;
	}
	cl->next = srv->clients;
	srv->clients = cl;
}

static void on_cm_event(struct srv *srv, struct rdma_cm_event *ev)
{
	struct rdma_cm_id *id = ev->id;
	struct srv_xport *x = id == srv->listen_id ? NULL : id->context;
	enum rdma_cm_event_type type = ev->event;
	struct rdma_conn_param param;

	iiofab_log_debug(srv->log, "cm: %s (status %d)", rdma_event_str(type), ev->status);
	if (type == RDMA_CM_EVENT_CONNECT_REQUEST) {
		param = ev->param.conn;
		rdma_ack_cm_event(ev);
		on_connect_request(srv, id, &param);
		return;
	}
	rdma_ack_cm_event(ev);
	if (!x || type == RDMA_CM_EVENT_ESTABLISHED || type == RDMA_CM_EVENT_TIMEWAIT_EXIT)
		return;
	/* DISCONNECTED, CONNECT_ERROR, UNREACHABLE, REJECTED, DEVICE_REMOVAL, ... */
	srv_xport_fail(x, type == RDMA_CM_EVENT_DISCONNECTED ? "disconnected by the peer" :
		       rdma_event_str(type));
}

static void on_cm(struct srv_watch *w, int res)
{
	struct srv *srv = w->ctx;
	struct rdma_cm_event *ev;

	while (rdma_get_cm_event(srv->cm_ch, &ev) == 0)
		on_cm_event(srv, ev);
	if (errno != EAGAIN && errno != EWOULDBLOCK)
		iiofab_log_warn(srv->log, "rdma_get_cm_event: %s", strerror(errno));
	(void)srv_watch_arm(srv->env.loop, w);
}

static void reap_dead(struct srv *srv)
{
	for (struct srv_client **p = &srv->clients; *p;) {
		struct srv_client *cl = *p;

		if (!srv_client_dead(cl)) {
			p = &cl->next;
			continue;
		}
		*p = cl->next;
		srv_client_destroy(cl);
	}
}

static void addr_name(const struct sockaddr *sa, char *out, size_t cap)
{
	snprintf(out, cap, "?");
	if (sa->sa_family == AF_INET)
		inet_ntop(AF_INET, &((const struct sockaddr_in *)sa)->sin_addr, out, (socklen_t)cap);
	else if (sa->sa_family == AF_INET6)
		inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)sa)->sin6_addr, out,
			  (socklen_t)cap);
}

static int listen_on(struct srv *srv)
{
	const struct srv_config *cfg = srv->cfg;
	struct addrinfo hints = { 0 }, *ai;
	char host[INET6_ADDRSTRLEN];
	int err;

	hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
	/* No address: IPv4 any, the address family soft-RoCE labs use. */
	hints.ai_family = cfg->listen_addr ? AF_UNSPEC : AF_INET;
	hints.ai_socktype = SOCK_STREAM;
	err = getaddrinfo(cfg->listen_addr, cfg->listen_port, &hints, &ai);
	if (err) {
		iiofab_log_err(srv->log, "cannot resolve listen address %s:%s: %s",
			       cfg->listen_addr ? cfg->listen_addr : "*", cfg->listen_port,
			       gai_strerror(err));
		return -EINVAL;
	}
	err = iiofab_err_cm(rdma_bind_addr(srv->listen_id, ai->ai_addr));
	addr_name(ai->ai_addr, host, sizeof(host));
	freeaddrinfo(ai);
	if (err) {
		iiofab_log_err(srv->log, "cannot bind %s port %s: %s%s", host, cfg->listen_port,
			       strerror(-err), err == -EADDRNOTAVAIL || err == -ENODEV ?
			       " (is an RDMA device such as rxe configured on that address?)" : "");
		return err;
	}
	err = iiofab_err_cm(rdma_listen(srv->listen_id, 64));
	if (err) {
		iiofab_log_err(srv->log, "cannot listen on %s port %s: %s", host, cfg->listen_port,
			       strerror(-err));
		return err;
	}
	iiofab_log_info(srv->log, "listening on %s port %s, %s", host, cfg->listen_port,
			cfg->psk.len ? (cfg->insecure ? "pre-shared key (clients without one allowed)" :
							"pre-shared key required") :
				       "INSECURE: no key, any client allowed");
	return 0;
}

static struct srv_watch *watch_fd(struct srv *srv, srv_watch_cb cb, int fd)
{
	struct srv_watch *w = srv_watch_new(cb, srv, fd, POLLIN);

	if (w && srv_watch_arm(srv->env.loop, w) < 0) {
		srv_watch_free(srv->env.loop, w);
		w = NULL;
	}
	return w;
}

/* The loop, libcrypto, the IIO context and the scratch messages. */
static int open_base(struct srv *srv)
{
	struct srv_env *env = &srv->env;
	int err;

	env->rx = malloc(sizeof(*env->rx));
	env->tx = malloc(sizeof(*env->tx));
	env->check = malloc(sizeof(*env->check));
	if (!env->rx || !env->tx || !env->check)
		return -ENOMEM;
	err = srv_loop_create(&env->loop, 512);
	if (err) {
		iiofab_log_err(srv->log, "io_uring: %s", strerror(-err));
		return err;
	}
	/*
	 * libcrypto sets up its DRBG and digests lazily; on a slow board that
	 * first use can eat a client's handshake deadline, so pay it now.
	 */
	err = iiofab_auth_warmup(srv->cfg->psk.len ? srv->cfg->psk.bytes : NULL,
				 srv->cfg->psk.len);
	if (err) {
		iiofab_log_err(srv->log, "libcrypto: no randomness or HMAC-SHA256");
		return err;
	}
	err = srv_iio_open(&env->iio, srv->log);
	if (err)
		iiofab_log_err(srv->log, "cannot open the local IIO context: %s", strerror(-err));
	return err;
}

static void close_base(struct srv *srv)
{
	srv_iio_close(srv->env.iio);
	srv_loop_destroy(srv->env.loop);
	free(srv->env.check);
	free(srv->env.tx);
	free(srv->env.rx);
}

/* Signals, the timer and the rdma_cm listener, each watched in the loop. */
static int open_sources(struct srv *srv, const sigset_t *mask)
{
	int err;

	srv->sigfd = signalfd(-1, mask, SFD_NONBLOCK | SFD_CLOEXEC);
	srv->timerfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	if (srv->sigfd < 0 || srv->timerfd < 0)
		return -errno;
	srv->cm_ch = rdma_create_event_channel();
	if (!srv->cm_ch) {
		err = iiofab_err_errno(-ENODEV);
		iiofab_log_err(srv->log, "rdma_cm: %s (is rdma_ucm loaded?)", strerror(-err));
		return err;
	}
	if (fcntl(srv->cm_ch->fd, F_SETFL, fcntl(srv->cm_ch->fd, F_GETFL) | O_NONBLOCK) < 0)
		return -errno;
	err = iiofab_err_cm(rdma_create_id(srv->cm_ch, &srv->listen_id, NULL, RDMA_PS_TCP));
	if (err)
		return err;
	err = listen_on(srv);
	if (err)
		return err;
	srv->cm_watch = watch_fd(srv, on_cm, srv->cm_ch->fd);
	srv->sig_watch = watch_fd(srv, on_signal, srv->sigfd);
	srv->timer_watch = watch_fd(srv, on_timer, srv->timerfd);
	return srv->cm_watch && srv->sig_watch && srv->timer_watch ? 0 : -ENOMEM;
}

static void close_sources(struct srv *srv)
{
	srv_watch_free(srv->env.loop, srv->cm_watch);
	srv_watch_free(srv->env.loop, srv->sig_watch);
	srv_watch_free(srv->env.loop, srv->timer_watch);
	if (srv->listen_id)
		rdma_destroy_id(srv->listen_id);
	if (srv->cm_ch)
		rdma_destroy_event_channel(srv->cm_ch);
	if (srv->timerfd >= 0)
		close(srv->timerfd);
	if (srv->sigfd >= 0)
		close(srv->sigfd);
}

static int serve(struct srv *srv)
{
	int err = 0;

	while (!srv->stopping) {
		err = srv_loop_run_once(srv->env.loop);
		if (err < 0) {
			iiofab_log_err(srv->log, "event loop: %s", strerror(-err));
			break;
		}
		reap_dead(srv);
		update_timer(srv);
	}
	/* Streams go with their last subscriber: stop, detach, deregister. */
	for (struct srv_client *cl = srv->clients; cl; cl = cl->next)
		srv_client_kill(cl, "server shutting down");
	reap_dead(srv);
	iiofab_log_info(srv->log, "stopped: %llu client(s) served, %llu block(s) completed, "
			"%llu lost", (unsigned long long)srv->stats.clients_total,
			(unsigned long long)srv->stats.blocks_completed,
			(unsigned long long)srv->stats.blocks_reclaimed);
	return err;
}

static void init(struct srv *srv, const struct srv_config *cfg)
{
	srv->cfg = cfg;
	srv->log = &cfg->log;
	srv->sigfd = srv->timerfd = -1;
	srv->streams = (struct srv_streams){
		.log = srv->log, .stats = &srv->stats, .verbs = &srv_verbs_default,
		.tear_every = cfg->test_tear_every,
	};
	srv->env = (struct srv_env){
		.cfg = cfg, .log = srv->log, .stats = &srv->stats, .streams = &srv->streams,
	};
	clock_gettime(CLOCK_MONOTONIC, &srv->env.started);
}

int srv_run(const struct srv_config *cfg)
{
	struct srv *srv = calloc(1, sizeof(*srv));
	sigset_t mask, old;
	int err;

	if (!srv)
		return -ENOMEM;
	init(srv, cfg);
	sigemptyset(&mask);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGTERM);
	sigprocmask(SIG_BLOCK, &mask, &old);
	err = open_base(srv);
	if (!err)
		err = open_sources(srv, &mask);
	if (!err)
		err = serve(srv);
	close_sources(srv);
	close_base(srv);
	sigprocmask(SIG_SETMASK, &old, NULL);
	free(srv);
	return err;
}
