// SPDX-License-Identifier: MIT
/*
 * Waiting without a signal handler: SIGINT and SIGTERM are blocked and read
 * from a signalfd that every wait polls beside the stream's fd (and play's
 * input), so a streaming command notices them between two calls into the
 * library and stops in order, reporting what it did. The stream is served
 * as iiofab.h asks: poll its fd, then call it with timeout 0 until
 * -EAGAIN. The op timeout still bounds how long the server may stay
 * silent, as a wait inside the library would.
 */
#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include <iiofab/clock.h>

#include "tool.h"

int tool_wait_open(struct tool_wait *w, const struct tool_opts *o)
{
	sigset_t set;

	*w = (struct tool_wait)TOOL_WAIT_INIT;
	w->op_ns = (uint64_t)tool_op_timeout_ms(o) * 1000000u;
	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	if (o->sync)
		sigaddset(&set, SIGUSR1);
	/*
	 * Left blocked until the process exits: one that arrives during the
	 * teardown must not kill the tool before it prints its summary.
	 */
	if (sigprocmask(SIG_BLOCK, &set, NULL))
		return -errno;
	w->sfd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
	if (w->sfd < 0)
		return -errno;
	return 0;
}

void tool_wait_close(struct tool_wait *w)
{
	if (w->sfd >= 0)
		close(w->sfd);
	w->sfd = -1;
	w->stream_fd = -1;
}

void tool_wait_attach(struct tool_wait *w, const struct iiofab_stream *stream)
{
	w->stream_fd = iiofab_stream_fd(stream);
}

bool tool_wait_interrupted(struct tool_wait *w)
{
	struct signalfd_siginfo si;

	while (!w->signo && w->sfd >= 0 &&
	       read(w->sfd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
		if (si.ssi_signo == SIGUSR1)
			w->marks++;
		else
			w->signo = (int)si.ssi_signo;
	}
	return w->signo != 0;
}

bool tool_wait_take_mark(struct tool_wait *w)
{
	tool_wait_interrupted(w);
	if (!w->marks)
		return false;
	w->marks--;
	return true;
}

/* poll()'s timeout until until_ns, rounded up so it does not wake early. */
static int ms_until(uint64_t now, uint64_t until_ns)
{
	uint64_t ms = (until_ns - now + 999999u) / 1000000u;

	return ms > INT_MAX ? INT_MAX : (int)ms;
}

/* Polls the signalfd, stream_fd and fd (ignored when < 0). */
static int wait_fds(struct tool_wait *w, int stream_fd, int fd, uint64_t until_ns)
{
	struct pollfd pfd[3] = {
		{ .fd = w->sfd, .events = POLLIN },
		{ .fd = stream_fd, .events = POLLIN },
		{ .fd = fd, .events = POLLIN },
	};

	for (;;) {
		uint64_t now = iiofab_now_ns();
		int n;

		if (tool_wait_interrupted(w))
			return -EINTR;
		/* A mark's moment is the window's edge: back to the caller at
		 * once, not at the next block. */
		if (w->marks)
			return -EAGAIN;
		if (now >= until_ns)
			return 0;
		n = poll(pfd, 3, ms_until(now, until_ns));
		if (n < 0 && errno != EINTR)
			return -errno;
		if (n <= 0 || pfd[0].revents)
			continue;	/* the loop head tells which */
		return (pfd[1].revents ? TOOL_WAKE_STREAM : 0) |
		       (pfd[2].revents ? TOOL_WAKE_FD : 0);
	}
}

int tool_wait(struct tool_wait *w, int fd, uint64_t until_ns)
{
	return wait_fds(w, w->stream_fd, fd, until_ns);
}

int tool_wait_sleep(struct tool_wait *w, unsigned int ms)
{
	/* Not the stream's fd: nothing reads it meanwhile, it would stay
	 * readable and turn the sleep into a spin. */
	int ret = wait_fds(w, -1, -1, iiofab_now_ns() + ms * 1000000ull);

	return ret < 0 ? ret : 0;
}

/*
 * Waits for the stream's fd until until_ns or until the server has been
 * silent for the op timeout, as the library tells it (nothing received,
 * nothing of ours acknowledged): 0 when the fd is readable, -EAGAIN at
 * until_ns, -ETIMEDOUT, -EINTR or -errno. A lossy link that only delivers
 * late keeps the stream alive.
 */
static int wait_server(struct tool_wait *w, const struct iiofab_stream *stream,
		       uint64_t until_ns)
{
	uint64_t quiet_ns = (uint64_t)iiofab_stream_get_quiet_ms(stream) * 1000000u;
	uint64_t limit, deadline;
	int ret;

	if (quiet_ns >= w->op_ns)
		return -ETIMEDOUT;
	deadline = iiofab_now_ns() + (w->op_ns - quiet_ns);
	limit = until_ns < deadline ? until_ns : deadline;
	ret = tool_wait(w, -1, limit);
	if (ret > 0)
		return 0;
	if (ret < 0)
		return ret;
	/* The limit: the caller's time, or the server's silence, looked at
	 * again (something may have been heard meanwhile). */
	return limit == until_ns ? -EAGAIN : 0;
}

int tool_wait_block(struct tool_wait *w, struct iiofab_stream *stream,
		    uint64_t until_ns, struct iiofab_block **block)
{
	for (;;) {
		int ret;

		/* Read on every block: while blocks keep coming the poll
		 * below is never reached. */
		if (tool_wait_interrupted(w))
			return -EINTR;
		if (w->marks)
			return -EAGAIN;
		ret = iiofab_stream_next(stream, 0, block);
		if (ret != -EAGAIN)
			return ret;
		ret = wait_server(w, stream, until_ns);
		if (ret)
			return ret;
	}
}

int tool_wait_free(struct tool_wait *w, struct iiofab_stream *stream,
		   uint64_t until_ns, void **data)
{
	for (;;) {
		int ret;

		if (tool_wait_interrupted(w))
			return -EINTR;
		if (w->marks)
			return -EAGAIN;
		ret = iiofab_stream_get_free(stream, 0, data);
		if (ret != -EAGAIN)
			return ret;
		ret = wait_server(w, stream, until_ns);
		if (ret)
			return ret;
	}
}
