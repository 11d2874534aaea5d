/* SPDX-License-Identifier: MIT */
/*
 * Closed forms of the simulator's counter pattern (kmod/README.md): the
 * enabled channel at position i of scan n holds v_i(n) = (n >> 16 (i mod 4))
 * & 0xffff. Sums are taken modulo 2^64, as an MPI_SUM of uint64_t adds
 * them, so a long run wraps the same way on both sides of the comparison.
 */
#ifndef COUNTER_SUMS_H
#define COUNTER_SUMS_H

#include <stdint.h>

static inline uint16_t counter_value(unsigned int pos, uint64_t n)
{
	return (uint16_t)(n >> (16 * (pos % 4)));
}

/* Sum of v_pos(n) over the scans n in [a, b), a <= b. */
uint64_t counter_sum(unsigned int pos, uint64_t a, uint64_t b);
/* Sum of v_pos(n)^2 over the scans n in [a, b), a <= b. */
uint64_t counter_sum_sq(unsigned int pos, uint64_t a, uint64_t b);

#endif
