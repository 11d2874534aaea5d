// SPDX-License-Identifier: MIT
/*
 * The progress line capture and play draw on a terminal: redrawn in place
 * ("\r") twice a second, so whoever prints a message while it is up ends
 * it first (tool_progress_break).
 */
#include <inttypes.h>
#include <stdio.h>
#include <unistd.h>

#include <iiofab/clock.h>

#include "tool.h"

#define PROGRESS_EVERY_NS 500000000u

void tool_progress_init(struct tool_progress *p, const struct tool_opts *o)
{
	*p = (struct tool_progress){
		.on = !o->no_progress && o->verbosity >= 0 && isatty(STDERR_FILENO),
	};
}

void tool_progress_start(struct tool_progress *p)
{
	p->t0_ns = iiofab_now_ns();
	p->last_ns = p->t0_ns;
}

void tool_progress_show(struct tool_progress *p, uint64_t samples,
			uint64_t bytes, uint64_t count, const char *what,
			bool final)
{
	uint64_t now = iiofab_now_ns();
	double t = (double)(now - p->t0_ns) / 1e9;

	if (!p->on || (!final && now - p->last_ns < PROGRESS_EVERY_NS))
		return;
	fprintf(stderr, "\r%" PRIu64 " samples, %.1f MB/s, %" PRIu64 " %s%s",
		samples, t > 0 ? (double)bytes / t / 1e6 : 0.0, count, what,
		final ? "\n" : "   ");
	p->shown = !final;
	p->last_ns = now;
}

void tool_progress_break(struct tool_progress *p)
{
	if (p->shown)
		fputc('\n', stderr);
	p->shown = false;
}
