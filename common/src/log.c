// SPDX-License-Identifier: MIT
/* Leveled logging through a caller-supplied callback. */
#include <errno.h>
#include <stdio.h>
#include <strings.h>

#include <iiofab/log.h>

/* Long enough for any line worth reading; longer ones are cut, not dropped. */
#define LOG_LINE_MAX 1024

int iiofab_logger_enabled(const struct iiofab_logger *lg, int level)
{
	return lg && lg->fn && level > IIOFAB_LOGGER_NONE && level <= lg->level;
}

void iiofab_vlogf(const struct iiofab_logger *lg, int level, const char *fmt, va_list ap)
{
	char line[LOG_LINE_MAX];

	if (!iiofab_logger_enabled(lg, level))
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
	{ "none", IIOFAB_LOGGER_NONE },
	{ "error", IIOFAB_LOGGER_ERROR },
	{ "warning", IIOFAB_LOGGER_WARNING },
	{ "info", IIOFAB_LOGGER_INFO },
	{ "debug", IIOFAB_LOGGER_DEBUG },
	/* Aliases after the canonical names, which level_name() finds first. */
	{ "err", IIOFAB_LOGGER_ERROR },
	{ "warn", IIOFAB_LOGGER_WARNING },
};

int iiofab_logger_level_parse(const char *s)
{
	size_t i;

	if (!s)
		return -EINVAL;
	if (s[0] >= '0' && s[0] <= '0' + IIOFAB_LOGGER_DEBUG && !s[1])
		return s[0] - '0';
	for (i = 0; i < sizeof(level_names) / sizeof(level_names[0]); i++)
		if (!strcasecmp(s, level_names[i].name))
			return level_names[i].level;
	return -EINVAL;
}

const char *iiofab_logger_level_name(int level)
{
	size_t i;

	for (i = 0; i < sizeof(level_names) / sizeof(level_names[0]); i++)
		if (level_names[i].level == level)
			return level_names[i].name;
	return "?";
}

void iiofab_logger_stderr(void *arg, int level, const char *msg)
{
	const char *prog = arg;

	if (prog)
		fprintf(stderr, "%s: %s: %s\n", prog, iiofab_logger_level_name(level), msg);
	else
		fprintf(stderr, "%s: %s\n", iiofab_logger_level_name(level), msg);
}
