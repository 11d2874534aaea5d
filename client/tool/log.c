// SPDX-License-Identifier: MIT
/*
 * The tool's messages. Its own go to stderr as "iiofab: <message>"; the
 * library's and common/'s (the key file) carry their level as well, in
 * common/'s words, so the three read alike.
 */
#include <stdarg.h>
#include <stdio.h>

#include "tool.h"

void tool_err(const char *fmt, ...)
{
	va_list ap;

	fputs("iiofab: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

static void print_leveled(int level, const char *msg)
{
	fprintf(stderr, "iiofab: %s: %s\n", iiofab_logger_level_name(level), msg);
}

void tool_lib_log(void *user, enum iiofab_log_level level, const char *msg)
{
	print_leveled((int)level, msg);
}

static void common_log(void *arg, int level, const char *msg)
{
	print_leveled(level, msg);
}

enum iiofab_log_level tool_log_level(int verbosity)
{
	if (verbosity < 0)
		return IIOFAB_LOG_ERROR;
	if (verbosity == 0)
		return IIOFAB_LOG_WARNING;
	return verbosity == 1 ? IIOFAB_LOG_INFO : IIOFAB_LOG_DEBUG;
}

struct iiofab_logger tool_logger(int verbosity)
{
	/* common/'s levels are the library's numbers (iiofab/log.h). */
	return (struct iiofab_logger){
		.fn = common_log,
		.level = (int)tool_log_level(verbosity),
	};
}
