/* SPDX-License-Identifier: MIT */
/* Time arithmetic shared by iiofabd and libiiofab (CLOCK_MONOTONIC unless named). */
#ifndef IIOFAB_CLOCK_H
#define IIOFAB_CLOCK_H

#include <stdint.h>
#include <time.h>

static inline uint64_t iiofab_ts_ns(const struct timespec *ts)
{
	return (uint64_t)ts->tv_sec * 1000000000ull + (uint64_t)ts->tv_nsec;
}

static inline uint64_t iiofab_clock_ns(clockid_t clock)
{
	struct timespec ts;

	clock_gettime(clock, &ts);
	return iiofab_ts_ns(&ts);
}

static inline uint64_t iiofab_now_ns(void)
{
	return iiofab_clock_ns(CLOCK_MONOTONIC);
}

static inline int64_t iiofab_now_ms(void)
{
	return (int64_t)(iiofab_now_ns() / 1000000);
}

/* Milliseconds from a to b (negative when b is earlier). */
static inline int64_t iiofab_ms_between(const struct timespec *a, const struct timespec *b)
{
	return ((int64_t)iiofab_ts_ns(b) - (int64_t)iiofab_ts_ns(a)) / 1000000;
}

#endif /* IIOFAB_CLOCK_H */
