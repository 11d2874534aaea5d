// SPDX-License-Identifier: MIT
/* The counter pattern's closed forms (examples/mpi) against brute force. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "counter_sums.h"

/* Checks both sums of every channel position over [a, b) by brute force. */
static void t_check_range(uint64_t a, uint64_t b)
{
	for (unsigned int pos = 0; pos < 5; pos++) {
		uint64_t sum = 0, sq = 0;

		for (uint64_t n = a; n != b; n++) {
			uint64_t v = counter_value(pos, n);

			sum += v;
			sq += v * v;
		}
		assert_int_equal(counter_sum(pos, a, b), sum);
		assert_int_equal(counter_sum_sq(pos, a, b), sq);
	}
}

static void test_value(void **state)
{
	uint64_t n = 0x0123456789abcdefull;

	(void)state;
	assert_int_equal(counter_value(0, n), 0xcdef);
	assert_int_equal(counter_value(1, n), 0x89ab);
	assert_int_equal(counter_value(2, n), 0x4567);
	assert_int_equal(counter_value(3, n), 0x0123);
	/* A fifth channel starts over at bits 0..15. */
	assert_int_equal(counter_value(4, n), 0xcdef);
}

static void test_small(void **state)
{
	(void)state;
	t_check_range(0, 0);
	t_check_range(0, 1);
	t_check_range(0, 1000);
	t_check_range(7, 8);
	t_check_range(12345, 23456);
	t_check_range(40000, 40000);
}

/* Ranges across the points where a lower channel wraps and a higher one steps. */
static void test_wrapping(void **state)
{
	static const uint64_t at[] = {
		1ull << 16, 3ull << 16, 1ull << 32, (1ull << 32) + (5ull << 16),
		1ull << 48, 0xfffeull << 48, 0xffffull << 48,
	};

	(void)state;
	for (unsigned int i = 0; i < sizeof(at) / sizeof(at[0]); i++)
		t_check_range(at[i] - 3000, at[i] + 3000);
	/* The last scans a 64-bit index can name. */
	t_check_range(UINT64_MAX - 5000, UINT64_MAX);
	/* Several wraps of channel 0. */
	t_check_range(100, 5 * 65536 + 99);
}

/* Many whole wraps: additivity and the known totals, where brute force is too slow. */
static void test_long(void **state)
{
	const uint64_t wrap_sum = 65535ull * 65536 / 2;
	const uint64_t wrap_sq = 65535ull * 65536 * 131071 / 6;
	uint64_t a = 123456789, b = (7ull << 40) + 4242, c = (3ull << 56) + 17;

	(void)state;
	assert_int_equal(counter_sum(0, 0, 65536), wrap_sum);
	assert_int_equal(counter_sum_sq(0, 0, 65536), wrap_sq);
	assert_int_equal(counter_sum(1, 0, 1ull << 32), 65536 * wrap_sum);
	assert_int_equal(counter_sum_sq(1, 0, 1ull << 32), 65536 * wrap_sq);
	assert_int_equal(counter_sum(0, 5ull << 16, 9ull << 16), 4 * wrap_sum);
	for (unsigned int pos = 0; pos < 4; pos++) {
		assert_int_equal(counter_sum(pos, a, c),
				 counter_sum(pos, a, b) + counter_sum(pos, b, c));
		assert_int_equal(counter_sum_sq(pos, a, c),
				 counter_sum_sq(pos, a, b) + counter_sum_sq(pos, b, c));
	}
	/* Channel 3 holds 0xffff for its last 2^48 scans. */
	assert_int_equal(counter_sum(3, 0xffffull << 48, UINT64_MAX),
			 0xffffull * ((1ull << 48) - 1));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_value),
		cmocka_unit_test(test_small),
		cmocka_unit_test(test_wrapping),
		cmocka_unit_test(test_long),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
