/* SPDX-License-Identifier: MIT */
/*
 * Leveled logging without global state: whoever logs is handed a
 * struct iiofab_logger (callback, its argument, the most verbose level to
 * pass). Levels are syslog priorities so a daemon can forward them as is.
 * A logger with no callback, or a NULL logger, discards everything.
 */
#ifndef IIOFAB_LOG_H
#define IIOFAB_LOG_H

#include <stdarg.h>

#define IIOFAB_LOG_ERR		3
#define IIOFAB_LOG_WARNING	4
#define IIOFAB_LOG_NOTICE	5
#define IIOFAB_LOG_INFO		6
#define IIOFAB_LOG_DEBUG	7

/* msg has no trailing newline. */
typedef void (*iiofab_log_fn)(void *arg, int level, const char *msg);

struct iiofab_logger {
	iiofab_log_fn fn;
	void *arg;
	int level;		/* messages with level <= this are passed on */
};

/* Formatting is skipped entirely for messages the logger would drop. */
void iiofab_logf(const struct iiofab_logger *lg, int level, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
void iiofab_vlogf(const struct iiofab_logger *lg, int level, const char *fmt, va_list ap)
	__attribute__((format(printf, 3, 0)));

#define iiofab_log_err(lg, ...)		iiofab_logf(lg, IIOFAB_LOG_ERR, __VA_ARGS__)
#define iiofab_log_warn(lg, ...)	iiofab_logf(lg, IIOFAB_LOG_WARNING, __VA_ARGS__)
#define iiofab_log_info(lg, ...)	iiofab_logf(lg, IIOFAB_LOG_INFO, __VA_ARGS__)
#define iiofab_log_debug(lg, ...)	iiofab_logf(lg, IIOFAB_LOG_DEBUG, __VA_ARGS__)

/* 1 if a message at level would be passed on (to skip costly preparation). */
int iiofab_log_enabled(const struct iiofab_logger *lg, int level);

/* "error", "warning" ("warn"), "notice", "info", "debug" or 0..7: level or -EINVAL. */
int iiofab_log_level_parse(const char *s);
/* "error", "warning", "notice", "info", "debug" or "log"; never NULL. */
const char *iiofab_log_level_name(int level);

/*
 * A ready-made callback for programs (never used by the library itself):
 * writes "<arg>: <level>: <msg>\n" to stderr, arg being a program name
 * string or NULL.
 */
void iiofab_log_stderr(void *arg, int level, const char *msg);

#endif /* IIOFAB_LOG_H */
