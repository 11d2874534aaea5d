// SPDX-License-Identifier: MIT
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "srv_log.h"

void srv_logf(const struct srv_log *log, enum srv_log_level level,
	      const char *fmt, ...)
{
	static const char *const tag[] = { "error", "warn", "info", "debug" };
	struct timespec ts;
	char line[1024];
	va_list ap;

	if (log && level > log->level)
		return;
	clock_gettime(CLOCK_REALTIME, &ts);
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	/* One fprintf per line so concurrent writers (tests) do not interleave. */
	fprintf(stderr, "iiofabd[%lld.%03ld] %s: %s\n", (long long)ts.tv_sec,
		ts.tv_nsec / 1000000, tag[level], line);
}

int srv_log_level_parse(const char *name)
{
	static const char *const names[] = { "error", "warn", "info", "debug" };

	for (unsigned int i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (!strcmp(name, names[i]))
			return (int)i;
	return -EINVAL;
}
