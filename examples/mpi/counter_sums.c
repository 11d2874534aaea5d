// SPDX-License-Identifier: MIT
/*
 * v_k(n) steps through 0..65535, each value held for 2^(16k) scans, then
 * wraps. A prefix sum over [0, x) is then whole wraps plus whole values
 * plus the scans of the value in progress, and [a, b) is a difference of
 * two prefixes. The prefixes need up to about 2^95 (squares, k = 3), so
 * they are exact in 128 bits; only the difference is reduced to 64.
 */
#include <stdbool.h>

#include "counter_sums.h"

typedef unsigned __int128 u128;

/* sum of v and of v^2 for v = 0..65535 */
#define WRAP_SUM ((u128)65535 * 65536 / 2)
#define WRAP_SUM_SQ ((u128)65535 * 65536 * 131071 / 6)

static u128 prefix(unsigned int pos, uint64_t x, bool squares)
{
	u128 hold = (u128)1 << (16 * (pos % 4));
	u128 wrap = hold << 16;
	u128 wraps = x / wrap, rest = x % wrap;
	u128 m = rest / hold, part = rest % hold;

	if (!squares)
		return wraps * hold * WRAP_SUM + hold * (m * (m - 1) / 2) + part * m;
	return wraps * hold * WRAP_SUM_SQ + hold * (m * (m - 1) * (2 * m - 1) / 6) +
	       part * m * m;
}

uint64_t counter_sum(unsigned int pos, uint64_t a, uint64_t b)
{
	return (uint64_t)(prefix(pos, b, false) - prefix(pos, a, false));
}

uint64_t counter_sum_sq(unsigned int pos, uint64_t a, uint64_t b)
{
	return (uint64_t)(prefix(pos, b, true) - prefix(pos, a, true));
}
