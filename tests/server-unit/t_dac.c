// SPDX-License-Identifier: MIT
/*
 * iiofabd's output-stream logic against a fake converter: credits at
 * START, SUBMIT checked as a whole, the buffer enabled at the first submit,
 * credits back on consumption, cyclic blocks, underrun reports.
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

static int t_submit(struct t_env *e, const uint32_t *blocks, unsigned int n, uint32_t bytes,
		    uint32_t flags, struct srv_refusal *why)
{
	struct iiofab_msg_submit m = { .stream_id = e->st->id, .count = (uint16_t)n };

	for (unsigned int i = 0; i < n; i++)
		m.entries[i] = (struct iiofab_wire_submit_entry){ blocks[i], bytes, flags };
	return srv_stream_submit(e->sub, &m, why);
}

static void test_credits_and_submit(void **state)
{
	struct srv_refusal why;
	struct t_env e;

	(void)state;
	t_env_open(&e, &srv_dac_ops, 4, T_BLOCK, true);
	assert_int_equal(srv_sub_start(e.sub), 0);
	/* Every block granted; nothing queued, the buffer still off. */
	assert_int_equal(e.sink.n_free, 4);
	for (uint32_t b = 0; b < 4; b++)
		assert_int_equal(e.sink.free_blocks[b], b);
	assert_int_equal(e.stats.free_messages, e.sink.messages);
	assert_false(e.conv->enabled);
	assert_int_equal(t_submit(&e, (uint32_t[]){ 2, 0 }, 2, T_BLOCK, 0, &why), 0);
	assert_true(e.conv->enabled);
	assert_int_equal(e.conv->enqueues, 2);
	assert_int_equal(e.conv->fifo[0], 2);
	assert_int_equal(e.stats.dac_blocks_submitted, 2);
	assert_int_equal(e.stats.dac_bytes_submitted, 2 * T_BLOCK);
	assert_int_equal(t_conv_complete(e.conv), 2);
	assert_int_equal(e.stats.dac_blocks_consumed, 1);
	assert_int_equal(e.sink.n_free, 5);
	assert_int_equal(e.sink.free_blocks[4], 2);
	/* A partial block of whole scans, cyclic. */
	assert_int_equal(t_submit(&e, (uint32_t[]){ 2 }, 1, 64, IIOFAB_WIRE_SUBMIT_CYCLIC, &why), 0);
	assert_true(e.conv->cyclic[2]);
	assert_int_equal(e.conv->bytes[2], 64);
	assert_int_equal(e.stats.dac_cyclic_submits, 1);
	t_env_close(&e);
}

static void test_submit_refusals(void **state)
{
	struct srv_refusal why;
	struct t_env e;

	(void)state;
	t_env_open(&e, &srv_dac_ops, 4, T_BLOCK, true);
	assert_int_equal(t_submit(&e, (uint32_t[]){ 0 }, 1, T_BLOCK, 0, &why), -ERANGE);
	assert_non_null(strstr(why.text, "not granted"));
	assert_int_equal(srv_sub_start(e.sub), 0);
	assert_int_equal(t_submit(&e, (uint32_t[]){ 4 }, 1, T_BLOCK, 0, &why), -ERANGE);
	assert_non_null(strstr(why.text, "out of range"));
	assert_int_equal(t_submit(&e, (uint32_t[]){ 1, 1 }, 2, T_BLOCK, 0, &why), -ERANGE);
	assert_non_null(strstr(why.text, "twice"));
	assert_int_equal(t_submit(&e, (uint32_t[]){ 1 }, 1, 12, 0, &why), -EINVAL);
	assert_int_equal(t_submit(&e, (uint32_t[]){ 1 }, 1, 0, 0, &why), -EINVAL);
	assert_int_equal(t_submit(&e, (uint32_t[]){ 1 }, 1, T_BLOCK + 8, 0, &why), -EINVAL);
	/* The first entry is fine, the second is not: nothing is queued. */
	assert_int_equal(t_submit(&e, (uint32_t[]){ 0, 9 }, 2, T_BLOCK, 0, &why), -ERANGE);
	assert_int_equal(e.conv->enqueues, 0);
	assert_int_equal(t_submit(&e, (uint32_t[]){ 0 }, 1, T_BLOCK, 0, &why), 0);
	assert_int_equal(t_submit(&e, (uint32_t[]){ 0 }, 1, T_BLOCK, 0, &why), -ERANGE);
	/* Granted blocks stay the client's over a STOP, but SUBMIT waits for START. */
	srv_sub_stop(e.sub);
	assert_int_equal(t_submit(&e, (uint32_t[]){ 1 }, 1, T_BLOCK, 0, &why), -EINVAL);
	assert_non_null(strstr(why.text, "stopped"));
	assert_int_equal(srv_stream_release(e.sub, &(struct iiofab_msg_release){ .count = 0 }, &why),
			 -EINVAL);
	assert_non_null(strstr(why.text, "output stream"));
	t_env_close(&e);
}

/* Underruns are read while another block is queued, and reported as a running total. */
static void test_underruns(void **state)
{
	struct srv_refusal why;
	struct t_env e;

	(void)state;
	t_env_open(&e, &srv_dac_ops, 4, T_BLOCK, true);
	e.conv->counter = 1000;	/* the driver's count before this stream */
	assert_int_equal(srv_sub_start(e.sub), 0);
	assert_int_equal(t_submit(&e, (uint32_t[]){ 0, 1 }, 2, T_BLOCK, 0, &why), 0);
	e.conv->counter += 40;
	t_conv_complete(e.conv);
	assert_int_equal(e.sink.n_events, 1);
	assert_int_equal(e.sink.events[0].event, IIOFAB_WIRE_EVENT_UNDERRUN);
	assert_int_equal(e.sink.events[0].value, 40);
	/* The last block's completion leaves nothing queued: its dry tail is no underrun. */
	e.conv->counter += 500;
	t_conv_complete(e.conv);
	assert_int_equal(e.sink.n_events, 1);
	/* A submit after a dry spell ends it: counted then. */
	assert_int_equal(t_submit(&e, (uint32_t[]){ 0 }, 1, T_BLOCK, 0, &why), 0);
	assert_int_equal(e.sink.n_events, 2);
	assert_int_equal(e.sink.events[1].value, 540);
	assert_int_equal(e.stats.dac_underruns, 540);
	t_env_close(&e);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_credits_and_submit),
		cmocka_unit_test(test_submit_refusals),
		cmocka_unit_test(test_underruns),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
