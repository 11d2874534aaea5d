// SPDX-License-Identifier: MIT
/* Rank 0's coverage verdict (examples/mpi/shard_check.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "shard_check.h"

#define SCANS 100

static struct shard_rec t_rec(uint64_t seq, uint64_t first, uint64_t lost)
{
	return (struct shard_rec){ .seq = seq, .first_sample = first, .samples = SCANS, .lost = lost };
}

/* Blocks 0..5 dealt to three ranks out of order, none lost. */
static void test_whole(void **state)
{
	struct shard_rec r[6] = {
		t_rec(4, 400, 0), t_rec(0, 0, 0), t_rec(2, 200, 0),
		t_rec(1, 100, 0), t_rec(5, 500, 0), t_rec(3, 300, 0),
	};
	struct shard_rec stop[3] = { t_rec(6, 600, 0), t_rec(7, 700, 0), t_rec(8, 800, 0) };
	struct shard_verdict v;

	(void)state;
	shard_check(r, 6, stop, 3, 6, &v);
	assert_true(v.ok);
	assert_int_equal(v.once, 6);
	assert_int_equal(v.missing, 0);
	assert_int_equal(v.delivered, 600);
	assert_int_equal(v.gap, 0);
}

static void test_twice(void **state)
{
	struct shard_rec r[4] = { t_rec(0, 0, 0), t_rec(1, 100, 0), t_rec(1, 100, 0), t_rec(2, 200, 0) };
	struct shard_rec stop[1] = { t_rec(3, 300, 0) };
	struct shard_verdict v;

	(void)state;
	shard_check(r, 4, stop, 1, 3, &v);
	assert_false(v.ok);
	assert_int_equal(v.repeated, 1);
	assert_int_equal(v.once, 2);
}

/* Block 1 withheld: its scans and 7 dropped ones reported by block 2. */
static void test_lost_reported(void **state)
{
	struct shard_rec r[2] = { t_rec(0, 0, 0), t_rec(2, 207, 107) };
	struct shard_rec stop[1] = { t_rec(3, 307, 0) };
	struct shard_verdict v;

	(void)state;
	shard_check(r, 2, stop, 1, 3, &v);
	assert_true(v.ok);
	assert_int_equal(v.missing, 1);
	assert_int_equal(v.gap, 107);
}

/* A block nobody processed and no loss said: a rank dropped it silently. */
static void test_lost_silently(void **state)
{
	struct shard_rec r[2] = { t_rec(0, 0, 0), t_rec(2, 200, 0) };
	struct shard_rec stop[1] = { t_rec(3, 300, 0) };
	struct shard_verdict v;

	(void)state;
	shard_check(r, 2, stop, 1, 3, &v);
	assert_false(v.ok);
	assert_int_equal(v.missing_below, 1);
	assert_int_equal(v.gap_to_stop, 100);
}

/* The same for the last block below N, which only the stop blocks can report. */
static void test_last_lost(void **state)
{
	struct shard_rec r[1] = { t_rec(0, 0, 0) };
	struct shard_rec stop[1] = { t_rec(2, 200, 0) };
	struct shard_verdict v;

	(void)state;
	shard_check(r, 1, stop, 1, 2, &v);
	assert_false(v.ok);
	stop[0].lost = 100;
	shard_check(r, 1, stop, 1, 2, &v);
	assert_true(v.ok);
	assert_int_equal(v.missing, 1);
	assert_int_equal(v.missing_below, 0);
	/* Nothing stopped a rank: nothing to bound the blocks by. */
	shard_check(r, 1, stop, 0, 2, &v);
	assert_false(v.ok);
}

/* Loss carried past N lands on a stop block; one stop block seen twice counts once. */
static void test_loss_past_n(void **state)
{
	struct shard_rec r[2] = { t_rec(0, 0, 0), t_rec(2, 200, 0) };
	struct shard_rec stop[2] = { t_rec(3, 300, 100), t_rec(3, 300, 100) };
	struct shard_verdict v;

	(void)state;
	shard_check(r, 2, stop, 2, 3, &v);
	assert_true(v.ok);
	assert_int_equal(v.lost_stop, 100);
	/* More loss claimed than scans are missing. */
	r[1].lost = 150;
	shard_check(r, 2, stop, 2, 3, &v);
	assert_false(v.ok);
}

static void test_overlap(void **state)
{
	struct shard_rec r[2] = { t_rec(0, 0, 0), t_rec(1, 50, 0) };
	struct shard_rec stop[1] = { t_rec(2, 200, 0) };
	struct shard_verdict v;

	(void)state;
	shard_check(r, 2, stop, 1, 2, &v);
	assert_false(v.ok);
	assert_int_equal(v.out_of_place, 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_whole),
		cmocka_unit_test(test_twice),
		cmocka_unit_test(test_lost_reported),
		cmocka_unit_test(test_lost_silently),
		cmocka_unit_test(test_last_lost),
		cmocka_unit_test(test_loss_past_n),
		cmocka_unit_test(test_overlap),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
