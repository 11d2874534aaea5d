/* SPDX-License-Identifier: MIT */
/*
 * Daemon logging: levels on stderr. The level lives in a struct that every
 * module reaches through its owner, so nothing here is file-scope state.
 */
#ifndef IIOFAB_SRV_LOG_H
#define IIOFAB_SRV_LOG_H

enum srv_log_level {
	SRV_LOG_ERROR = 0,
	SRV_LOG_WARN = 1,
	SRV_LOG_INFO = 2,
	SRV_LOG_DEBUG = 3,
};

struct srv_log {
	enum srv_log_level level;
};

void srv_logf(const struct srv_log *log, enum srv_log_level level,
	      const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* Returns the level for a name ("error", "warn", "info", "debug") or -EINVAL. */
int srv_log_level_parse(const char *name);

#define srv_err(log, ...)   srv_logf(log, SRV_LOG_ERROR, __VA_ARGS__)
#define srv_warn(log, ...)  srv_logf(log, SRV_LOG_WARN, __VA_ARGS__)
#define srv_info(log, ...)  srv_logf(log, SRV_LOG_INFO, __VA_ARGS__)
#define srv_dbg(log, ...)   srv_logf(log, SRV_LOG_DEBUG, __VA_ARGS__)

#endif
