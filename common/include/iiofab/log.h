/* SPDX-License-Identifier: MIT */
/*
 * Leveled logging without global state: whoever logs is handed a
 * struct iiofab_logger (callback, its argument, the most verbose level to
 * pass). A NULL logger, or one without a callback, discards everything.
 * The level numbers equal libiiofab's public enum iiofab_log_level, so the
 * library forwards a level to the application's callback unchanged.
 */
#ifndef IIOFAB_LOGGER_H
#define IIOFAB_LOGGER_H

#include <stdarg.h>

#define IIOFAB_LOGGER_NONE	0
#define IIOFAB_LOGGER_ERROR	1
#define IIOFAB_LOGGER_WARNING	2
#define IIOFAB_LOGGER_INFO	3
#define IIOFAB_LOGGER_DEBUG	4

/* msg is one line without a trailing newline, valid during the call only. */
typedef void (*iiofab_logger_fn)(void *arg, int level, const char *msg);

struct iiofab_logger {
	iiofab_logger_fn fn;
	void *arg;
	int level;		/* messages with 1 <= level <= this are passed on */
};

/* Formatting is skipped entirely for messages the logger would drop. */
void iiofab_logf(const struct iiofab_logger *lg, int level, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
void iiofab_vlogf(const struct iiofab_logger *lg, int level, const char *fmt, va_list ap)
	__attribute__((format(printf, 3, 0)));

#define iiofab_log_err(lg, ...)		iiofab_logf(lg, IIOFAB_LOGGER_ERROR, __VA_ARGS__)
#define iiofab_log_warn(lg, ...)	iiofab_logf(lg, IIOFAB_LOGGER_WARNING, __VA_ARGS__)
#define iiofab_log_info(lg, ...)	iiofab_logf(lg, IIOFAB_LOGGER_INFO, __VA_ARGS__)
#define iiofab_log_debug(lg, ...)	iiofab_logf(lg, IIOFAB_LOGGER_DEBUG, __VA_ARGS__)

/* 1 if a message at level would be passed on (to skip costly preparation). */
int iiofab_logger_enabled(const struct iiofab_logger *lg, int level);

/* "none", "error", "warning" ("warn"), "info", "debug" or 0..4: level or -EINVAL. */
int iiofab_logger_level_parse(const char *s);
/* "none", "error", "warning", "info", "debug"; "?" otherwise. */
const char *iiofab_logger_level_name(int level);

/*
 * A ready-made callback for programs (the library never installs it):
 * writes "<arg>: <level>: <msg>\n" to stderr, arg being a program name or NULL.
 */
void iiofab_logger_stderr(void *arg, int level, const char *msg);

#endif /* IIOFAB_LOGGER_H */
