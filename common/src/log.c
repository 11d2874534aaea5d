// SPDX-License-Identifier: MIT
/* Leveled logging through a caller-supplied callback. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <iiofab/log.h>

/* Long enough for any line worth reading; longer ones are cut, not lost. */
#define LOG_LINE_MAX 1024

int iiofab_log_enabled(const struct iiofab_logger *lg, int level)
{
	return lg && lg->fn && level <= lg->level;
}

void iiofab_vlogf(const struct iiofab_logger *lg, int level, const char *fmt, va_list ap)
{
	char line[LOG_LINE_MAX];

	if (!iiofab_log_enabled(lg, level))
		return;
	if (vsnprintf(line, sizeof(line), fmt, ap) < 0)
		return;
	lg->fn(lg->arg, level, line);
}

void iiofab_logf(const struct iiofab_logger *lg, int level, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	iiofab_vlogf(lg, level, fmt, ap);
	va_end(ap);
}

static const struct {
	const char *name;
	int level;
} level_names[] = {
	{ "error", IIOFAB_LOG_ERR },
	{ "err", IIOFAB_LOG_ERR },
	{ "warning", IIOFAB_LOG_WARNING },
	{ "warn", IIOFAB_LOG_WARNING },
	{ "notice", IIOFAB_LOG_NOTICE },
	{ "info", IIOFAB_LOG_INFO },
	{ "debug", IIOFAB_LOG_DEBUG },
};

int iiofab_log_level_parse(const char *s)
{
	size_t i;

	if (!s)
		return -EINVAL;
	if (s[0] >= '0' && s[0] <= '7' && !s[1])
		return s[0] - '0';
	for (i = 0; i < sizeof(level_names) / sizeof(level_names[0]); i++)
		if (!strcasecmp(s, level_names[i].name))
			return level_names[i].level;
	return -EINVAL;
}

const char *iiofab_log_level_name(int level)
{
	size_t i;

	for (i = 0; i < sizeof(level_names) / sizeof(level_names[0]); i++)
		if (level_names[i].level == level)
			return level_names[i].name;
	return level < IIOFAB_LOG_ERR ? "error" : "log";
}

void iiofab_log_stderr(void *arg, int level, const char *msg)
{
	const char *prog = arg;

	if (prog)
		fprintf(stderr, "%s: %s: %s\n", prog, iiofab_log_level_name(level), msg);
	else
		fprintf(stderr, "%s: %s\n", iiofab_log_level_name(level), msg);
}
