// SPDX-License-Identifier: MIT
/*
 * iiofabd's input-stream logic against a fake converter: READY and
 * RELEASE, the exact gap of a dry window, reclaim from a slow client (and
 * not from a converter that only waits), stale releases, withheld blocks
 * around a hole, STOP/START epochs and a failing enqueue.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "t_fake.h"

#define T_BLOCK 4096u
#define T_SCANS (T_BLOCK / 8u)	/* 4 channels of 16 bits */

static void test_ready_and_release(void **state)
{
	struct srv_refusal why;
	struct t_env e;

	(void)state;
	t_env_open(&e, &srv_adc_ops, 4, T_BLOCK, true);
	assert_int_equal(srv_sub_start(e.sub), 0);
	assert_int_equal(e.conv->enqueues, 4);
	assert_true(e.conv->enabled);
	assert_int_equal(t_conv_complete(e.conv), 0);
	assert_int_equal(e.sink.n_ready, 1);
	assert_int_equal(e.sink.ready[0].block, 0);
	assert_int_equal(e.sink.ready[0].bytes_used, T_BLOCK);
	assert_int_equal(e.sink.ready[0].generation, 1);
	assert_int_equal(e.sink.ready[0].seq, 0);
	assert_int_equal(e.sink.ready[0].first_sample, 0);
	assert_int_equal(t_release(&e, 0, 1, &why), 0);
	assert_int_equal(e.conv->enqueues, 5);
	assert_int_equal(e.st->gen[0], 2);
	assert_int_equal(e.stats.blocks_released, 1);
	for (unsigned int i = 1; i <= 4; i++) {
		unsigned int b = t_conv_complete(e.conv);

		assert_int_equal(e.sink.ready[i].block, b);
		assert_int_equal(e.sink.ready[i].seq, i);
		assert_int_equal(e.sink.ready[i].first_sample, (uint64_t)i * T_SCANS);
	}
	assert_int_equal(e.sink.ready[4].block, 0);
	assert_int_equal(e.sink.ready[4].generation, 2);
	assert_int_equal(e.stats.blocks_completed, 5);
	assert_int_equal(e.stats.blocks_reclaimed + e.stats.dry_windows, 0);
	t_env_close(&e);
}

/* Every block held, the converter dry for 300 scans: the next block says so exactly. */
static void test_dry_window_gap(void **state)
{
	struct srv_refusal why;
	struct t_env e;

	(void)state;
	t_env_open(&e, &srv_adc_ops, 4, T_BLOCK, true);
	assert_int_equal(srv_sub_start(e.sub), 0);
	for (unsigned int i = 0; i < 4; i++)
		t_conv_complete(e.conv);
	/* A converter that counts drops and has dropped none only waits. */
	assert_int_equal(e.stats.blocks_reclaimed, 0);
	assert_int_equal(e.st->queued, 0);
	e.conv->counter += 300;
	assert_int_equal(t_release(&e, 0, 1, &why), 0);
	assert_int_equal(e.stats.dry_windows, 1);
	assert_int_equal(e.stats.converter_overruns, 300);
	assert_int_equal(t_conv_complete(e.conv), 0);
	assert_int_equal(e.sink.n_ready, 5);
	assert_int_equal(e.sink.ready[4].seq, 4);
	assert_int_equal(e.sink.ready[4].first_sample, 4 * T_SCANS + 300);
	/* From the first drop on, the oldest held blocks go back to the converter. */
	assert_int_equal(e.stats.blocks_reclaimed, 2);
	assert_int_equal(e.stats.samples_reclaimed, 2 * T_SCANS);
	assert_int_equal(e.st->gen[1], 2);
	assert_int_equal(e.st->gen[2], 2);
	assert_int_equal(e.st->gen[3], 1);
	/* The slow client's RELEASE of a reclaimed block is stale: counted, ignored. */
	assert_int_equal(t_release(&e, 1, 1, &why), 0);
	assert_int_equal(e.stats.stale_releases, 1);
	assert_int_equal(e.stats.blocks_released, 1);
	t_env_close(&e);
}

/* Without a drop counter the server cannot tell a paced converter: it reclaims. */
static void test_reclaim_without_counter(void **state)
{
	struct t_env e;

	(void)state;
	t_env_open(&e, &srv_adc_ops, 4, T_BLOCK, false);
	assert_int_equal(srv_sub_start(e.sub), 0);
	t_conv_complete(e.conv);
	t_conv_complete(e.conv);
	assert_int_equal(e.stats.blocks_reclaimed, 0);
	/* Fewer than two queued now: the oldest held block (seq 0) goes back. */
	t_conv_complete(e.conv);
	assert_int_equal(e.stats.blocks_reclaimed, 1);
	assert_int_equal(e.st->gen[0], 2);
	assert_int_equal(e.st->blocks[0].state, SRV_BLK_QUEUED);
	/* The block just announced is never the one taken. */
	t_conv_complete(e.conv);
	assert_int_equal(e.st->blocks[3].state, SRV_BLK_HELD);
	assert_int_equal(e.stats.blocks_reclaimed, 2);
	assert_int_equal(e.stats.dry_windows, 0);
	t_env_close(&e);
}

/*
 * Drops while blocks were queued: the filling block holds a hole, so it and
 * every block filled by then are withheld, and the next delivered block's
 * first_sample counts their scans and the drops.
 */
static void test_withheld_blocks(void **state)
{
	struct t_env e;

	(void)state;
	t_env_open(&e, &srv_adc_ops, 4, T_BLOCK, true);
	assert_int_equal(srv_sub_start(e.sub), 0);
	e.conv->counter += 50;
	/* Block 1 is complete too when the daemon looks; block 2 is filling. */
	unsigned int b0 = t_conv_finish(e.conv);
	unsigned int b1 = t_conv_finish(e.conv);

	t_conv_deliver(e.conv, b0);
	assert_int_equal(e.sink.n_ready, 0);
	assert_int_equal(e.stats.blocks_withheld, 1);
	assert_int_equal(e.stats.converter_overruns, 50);
	t_conv_deliver(e.conv, b1);
	assert_int_equal(e.sink.n_ready, 0);
	/* Block 2 was filling when the hole was seen: withheld as well. */
	t_conv_complete(e.conv);
	assert_int_equal(e.sink.n_ready, 0);
	assert_int_equal(e.stats.blocks_withheld, 3);
	assert_int_equal(e.stats.samples_withheld, 3 * T_SCANS);
	t_conv_complete(e.conv);
	assert_int_equal(e.sink.n_ready, 1);
	assert_int_equal(e.sink.ready[0].block, 3);
	assert_int_equal(e.sink.ready[0].seq, 3);
	assert_int_equal(e.sink.ready[0].first_sample, 3 * T_SCANS + 50);
	/* The withheld blocks went straight back, with new generations. */
	assert_int_equal(e.st->gen[0], 2);
	assert_int_equal(e.st->gen[2], 2);
	assert_int_equal(e.stats.dry_windows, 0);
	t_env_close(&e);
}

static void test_release_refusals(void **state)
{
	struct srv_refusal why;
	struct t_env e;

	(void)state;
	t_env_open(&e, &srv_adc_ops, 4, T_BLOCK, true);
	assert_int_equal(srv_sub_start(e.sub), 0);
	t_conv_complete(e.conv);
	assert_int_equal(t_release(&e, 9, 1, &why), -ERANGE);
	assert_non_null(strstr(why.text, "out of range"));
	/* Block 1 is still the converter's: its generation is current, no hold. */
	assert_int_equal(t_release(&e, 1, 1, &why), -ERANGE);
	assert_non_null(strstr(why.text, "not held"));
	assert_int_equal(t_release(&e, 0, 7, &why), 0);
	assert_int_equal(e.stats.stale_releases, 1);
	assert_int_equal(t_release(&e, 0, 1, &why), 0);
	assert_int_equal(t_release(&e, 0, 2, &why), -ERANGE);
	assert_int_equal(e.stats.blocks_released, 1);
	t_env_close(&e);
}

/* A STOP flushes the queue; a START that overtakes the flushed polls requeues them. */
static void test_stop_start(void **state)
{
	struct srv_refusal why;
	struct t_env e;

	(void)state;
	t_env_open(&e, &srv_adc_ops, 4, T_BLOCK, true);
	assert_int_equal(srv_sub_start(e.sub), 0);
	t_conv_complete(e.conv);
	srv_sub_stop(e.sub);
	assert_false(e.conv->enabled);
	assert_int_equal(srv_sub_start(e.sub), 0);
	/* Only idle blocks are queued at START: the three flushed ones are not yet. */
	assert_int_equal(e.conv->enqueues, 4);
	for (unsigned int b = 1; b < 4; b++)
		t_conv_deliver(e.conv, b);
	assert_int_equal(e.conv->enqueues, 7);
	assert_int_equal(e.sink.n_ready, 1);
	assert_int_equal(t_release(&e, 0, 1, &why), 0);
	assert_int_equal(e.conv->enqueues, 8);
	/* Stopped for good: flushed blocks go idle and a release does not requeue. */
	srv_sub_stop(e.sub);
	for (unsigned int i = 0; i < 4; i++)
		t_conv_deliver(e.conv, (unsigned int[]){ 1, 2, 3, 0 }[i]);
	for (unsigned int b = 0; b < 4; b++)
		assert_int_equal(e.st->blocks[b].state, SRV_BLK_IDLE);
	assert_int_equal(e.conv->enqueues, 8);
	t_env_close(&e);
}

static void test_enqueue_failure(void **state)
{
	struct srv_refusal why;
	struct t_env e;

	(void)state;
	t_env_open(&e, &srv_adc_ops, 4, T_BLOCK, true);
	assert_int_equal(srv_sub_start(e.sub), 0);
	t_conv_complete(e.conv);
	e.conv->fail_enqueue = -EIO;
	assert_int_equal(t_release(&e, 0, 1, &why), 0);
	assert_int_equal(e.st->blocks[0].state, SRV_BLK_IDLE);
	assert_int_equal(e.sink.n_events, 1);
	assert_int_equal(e.sink.events[0].event, IIOFAB_WIRE_EVENT_ERROR);
	/* A wire status, never a host errno. */
	assert_int_equal(e.sink.events[0].value, IIOFAB_WIRE_STATUS_IO_ERROR);
	t_env_close(&e);
}

/* --test-tear-every: the block is announced, then reused at once. */
static void test_forced_tear(void **state)
{
	struct srv_refusal why;
	struct t_env e;

	(void)state;
	t_env_open(&e, &srv_adc_ops, 4, T_BLOCK, true);
	e.streams.tear_every = 2;
	assert_int_equal(srv_sub_start(e.sub), 0);
	t_conv_complete(e.conv);
	assert_int_equal(e.st->blocks[0].state, SRV_BLK_HELD);
	assert_int_equal(t_conv_complete(e.conv), 1);
	assert_int_equal(e.sink.n_ready, 2);
	assert_int_equal(e.sink.ready[1].block, 1);
	assert_int_equal(e.sink.ready[1].generation, 1);
	/* Back with the converter under a new generation: a client's READ is torn. */
	assert_int_equal(e.st->blocks[1].state, SRV_BLK_QUEUED);
	assert_int_equal(e.st->gen[1], 2);
	assert_int_equal(e.stats.test_tears, 1);
	assert_int_equal(e.stats.blocks_reclaimed, 1);
	/* The client's RELEASE of it is stale, as after any reclaim. */
	assert_int_equal(t_release(&e, 1, 1, &why), 0);
	assert_int_equal(e.stats.stale_releases, 1);
	t_env_close(&e);
}

static void test_ring(void **state)
{
	struct srv_ring r;
	struct srv_ring_entry e;

	(void)state;
	assert_int_equal(srv_ring_init(&r, 3), 0);
	assert_false(srv_ring_pop(&r, &e));
	for (uint32_t i = 0; i < 3; i++)
		assert_true(srv_ring_push(&r, &(struct srv_ring_entry){ i, i, 10 + i, 100 + i }));
	assert_false(srv_ring_push(&r, &(struct srv_ring_entry){ 9, 0, 9, 0 }));
	assert_true(srv_ring_pop(&r, &e));
	assert_int_equal(e.blk, 0);
	assert_int_equal(e.gen, 10);
	assert_true(srv_ring_push(&r, &(struct srv_ring_entry){ 3, 3, 13, 103 }));
	for (uint32_t i = 1; i <= 3; i++) {
		assert_true(srv_ring_pop(&r, &e));
		assert_int_equal(e.blk, i);
		assert_int_equal(e.flags, i);
		assert_int_equal(e.gen, 10 + i);
		assert_int_equal(e.lost, 100 + i);
	}
	assert_int_equal(srv_ring_len(&r), 0);
	srv_ring_free(&r);
	srv_ring_free(&r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ready_and_release),
		cmocka_unit_test(test_dry_window_gap),
		cmocka_unit_test(test_reclaim_without_counter),
		cmocka_unit_test(test_withheld_blocks),
		cmocka_unit_test(test_release_refusals),
		cmocka_unit_test(test_stop_start),
		cmocka_unit_test(test_enqueue_failure),
		cmocka_unit_test(test_forced_tear),
		cmocka_unit_test(test_ring),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
