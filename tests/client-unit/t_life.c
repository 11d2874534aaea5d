// SPDX-License-Identifier: MIT
/*
 * A stream's life and its failures against the fake transport: opens that
 * fail leave nothing behind; close lets READs in flight finish on a healthy
 * connection (RELEASE, STOP, CLOSE after them), and once the connection
 * has failed flushes them, so every completion reaches its owner before
 * the memory goes; a failed READ fails the connection; a stream error the
 * server reports comes back as the errno of its status; control messages
 * that arrive during a request are not lost.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "t_board.h"

#define T_BLOCK 4096u
#define T_SCANS (T_BLOCK / (2u * T_ADC_CHANNELS))

/* READYs for blocks 0..n-1 (seq = block), their READs posted; the first one's posting. */
static unsigned int reads_in_flight(struct t_env *e, unsigned int n)
{
	for (uint32_t b = 0; b < n; b++)
		t_board_ready(&e->board, b, b, b * T_SCANS, T_BLOCK);
	t_no_block(e);
	assert_int_equal(t_xp_in_flight(e->xp), n);
	return t_xp_posts(e->xp) - n;
}

/* The link delivers everything in flight while the library waits. */
static void link_delivers(struct t_board *b, void *arg)
{
	struct t_env *e = arg;

	while (t_xp_oldest(e->xp))
		t_xp_complete_next(e->xp, 0);
}

/* The server goes away while the library waits. */
static void link_dies(struct t_board *b, void *arg)
{
	struct t_env *e = arg;

	t_xp_fail(e->xp, -ECONNRESET);
}

static void check_reaped(struct t_env *e, unsigned int post, int status)
{
	const struct t_post *p = t_xp_post(e->xp, post);

	assert_non_null(p->op);
	assert_int_equal(p->state, T_REAPED);
	assert_int_equal(p->status, status);
}

/*
 * The connection failed with four READs in flight, one of them already
 * complete: close sends nothing, flushes the QP, and every READ reaches its
 * owner (the complete one with success) before the landing buffer and the
 * generation words are deregistered and freed. The context keeps its error.
 */
static void test_close_failed_connection_flushes(void **state)
{
	struct iiofab_block *blk = NULL;
	struct iiofab_stream *s;
	unsigned int first, sent;
	struct t_env e;

	(void)state;
	t_env_connect(&e);
	t_env_open(&e, false, T_BLOCK, 4);
	first = reads_in_flight(&e, 4);
	t_read_done(&e, 0, T_BLOCK);
	t_xp_fail(e.xp, -ECONNRESET);
	assert_int_equal(iiofab_stream_next(e.s, 0, &blk), -ECONNRESET);
	assert_int_equal(iiofab_stream_next(e.s, 1000, &blk), -ECONNRESET);
	assert_null(blk);
	assert_int_equal(t_xp_post(e.xp, first)->state, T_COMPLETED);
	sent = e.board.n_log;
	iiofab_stream_close(e.s);
	e.s = NULL;
	assert_int_equal(e.board.n_log, sent);
	assert_int_equal(t_xp_flushes(e.xp), 1);
	check_reaped(&e, first, 0);
	for (unsigned int i = 1; i < 4; i++)
		check_reaped(&e, first + i, -ECANCELED);
	assert_int_equal(t_xp_in_flight(e.xp), 0);
	assert_int_equal(t_xp_mrs(e.xp), 0);
	assert_int_equal(t_xp_idle_hooks(e.xp), 0);
	assert_int_equal(iiofab_stream_open(e.ctx, e.adc, NULL, T_BLOCK, 4, &s), -ECONNRESET);
	assert_null(s);
	t_env_fini(&e);
	assert_int_equal(t_board_count(&e.board, IIOFAB_MSG_STOP), 0);
	assert_int_equal(t_board_count(&e.board, IIOFAB_MSG_CLOSE), 0);
}

/*
 * On a healthy connection close waits for the READs in flight, and starts
 * no new one for the READYs still waiting: their blocks are RELEASEd, then
 * STOP and CLOSE go out, nothing is flushed, and the context can open the
 * next stream.
 */
static void test_close_waits_for_reads(void **state)
{
	const uint32_t mib = 1u << 20;
	struct iiofab_wire_ready_entry ent[4];
	unsigned int first, rel, waits;
	struct t_env e;

	(void)state;
	t_env_connect(&e);
	/* 1 MiB blocks: two READs in flight, two READYs waiting. */
	t_env_open(&e, false, mib, 4);
	for (uint32_t b = 0; b < 4; b++)
		ent[b] = t_board_entry(&e.board, b, b, b * (mib / 8), mib);
	t_board_ready_msg(&e.board, ent, 4);
	t_no_block(&e);
	assert_int_equal(t_xp_in_flight(e.xp), 2);
	first = t_xp_posts(e.xp) - 2;
	e.board.on_wait = link_delivers;
	e.board.wait_arg = &e;
	waits = t_xp_waits(e.xp);
	iiofab_stream_close(e.s);
	e.s = NULL;
	assert_int_equal(t_xp_waits(e.xp), waits + 1);
	check_reaped(&e, first, 0);
	check_reaped(&e, first + 1, 0);
	/* The RELEASE, STOP and CLOSE, and no other posting. */
	assert_int_equal(t_xp_posts(e.xp), first + 5);
	rel = t_board_find(&e.board, IIOFAB_MSG_RELEASE, 0);
	assert_int_equal(e.board.log[rel + 1].type, IIOFAB_MSG_STOP);
	assert_int_equal(e.board.log[rel + 2].type, IIOFAB_MSG_CLOSE);
	assert_int_equal(e.board.n_log, rel + 3);
	assert_int_equal(e.board.n_released, 2);
	assert_int_equal(e.board.released[0].block, 0);
	assert_int_equal(e.board.released[1].block, 1);
	assert_int_equal(t_xp_flushes(e.xp), 0);
	assert_int_equal(t_xp_mrs(e.xp), 0);
	e.board.on_wait = NULL;
	t_env_open(&e, false, T_BLOCK, 4);
	assert_int_equal(e.board.opens, 2);
	t_env_fini(&e);
}

/*
 * READs that never finish: close gives up after the op timeout, fails the
 * connection and flushes them; STOP and CLOSE are never sent.
 */
static void test_close_reads_never_complete(void **state)
{
	struct iiofab_stream *s;
	unsigned int first;
	struct t_env e;

	(void)state;
	t_env_connect(&e);
	t_env_open(&e, false, T_BLOCK, 4);
	first = reads_in_flight(&e, 2);
	iiofab_stream_close(e.s);
	e.s = NULL;
	assert_non_null(strstr(e.last[IIOFAB_LOG_ERROR], "did not complete"));
	assert_int_equal(t_xp_flushes(e.xp), 1);
	check_reaped(&e, first, -ECANCELED);
	check_reaped(&e, first + 1, -ECANCELED);
	assert_int_equal(t_board_count(&e.board, IIOFAB_MSG_STOP), 0);
	assert_int_equal(t_board_count(&e.board, IIOFAB_MSG_CLOSE), 0);
	assert_int_equal(iiofab_stream_open(e.ctx, e.adc, NULL, T_BLOCK, 4, &s), -ETIMEDOUT);
	t_env_fini(&e);
}

/*
 * A READ that fails fails the connection: the one behind it is flushed,
 * both reach their owner, nothing is delivered, every call says -EIO.
 */
static void test_failed_read_fails_connection(void **state)
{
	struct iiofab_block *blk = NULL;
	struct iiofab_stream_stats st;
	unsigned int first;
	struct t_env e;

	(void)state;
	t_env_connect(&e);
	t_env_open(&e, false, T_BLOCK, 4);
	first = reads_in_flight(&e, 2);
	t_xp_complete(e.xp, t_xp_post(e.xp, first), -EIO);
	assert_int_equal(iiofab_stream_next(e.s, 0, &blk), -EIO);
	assert_null(blk);
	check_reaped(&e, first, -EIO);
	check_reaped(&e, first + 1, -ECANCELED);
	assert_int_equal(iiofab_stream_stats(e.s, &st), 0);
	assert_int_equal(st.reads, 0);
	assert_int_equal(st.blocks, 0);
	assert_int_equal(iiofab_stream_next(e.s, 1000, &blk), -EIO);
	t_env_fini(&e);
	assert_int_equal(t_board_count(&e.board, IIOFAB_MSG_CLOSE), 0);
}

/* The server vanishes during a wait: the wait ends with its error. */
static void test_connection_lost_while_waiting(void **state)
{
	struct iiofab_block *blk = NULL;
	struct iiofab_stream_stats st;
	struct t_env e;
	void *data;

	(void)state;
	t_env_connect(&e);
	t_env_open(&e, false, T_BLOCK, 4);
	e.board.on_wait = link_dies;
	e.board.wait_arg = &e;
	assert_int_equal(iiofab_stream_next(e.s, -1, &blk), -ECONNRESET);
	assert_null(blk);
	t_env_fini(&e);

	t_env_connect(&e);
	t_env_open(&e, true, T_BLOCK, 1);
	assert_int_equal(iiofab_stream_get_free(e.s, 0, &data), 0);
	e.board.on_wait = link_dies;
	e.board.wait_arg = &e;
	assert_int_equal(iiofab_stream_get_free(e.s, 1000, &data), -ECONNRESET);
	assert_int_equal(iiofab_stream_submit(e.s, 0, T_BLOCK, 0), -ECONNRESET);
	assert_int_equal(e.board.n_submitted, 0);
	assert_int_equal(iiofab_stream_stats(e.s, &st), 0);
	assert_int_equal(st.blocks, 0);
	t_env_fini(&e);
}

/*
 * STREAM_EVENT ERROR carries a wire status: the stream's next calls
 * return its errno, -EIO for a status that names no error. Blocks verified
 * before it still come out first. The first error is the one that stays.
 */
static void test_stream_error_event(void **state)
{
	static const struct {
		uint64_t status;
		int err;
		const char *says;
	} cases[] = {
		{ IIOFAB_WIRE_STATUS_IO_ERROR, -EIO, "IO_ERROR" },
		{ IIOFAB_WIRE_STATUS_NO_MEMORY, -ENOMEM, "NO_MEMORY" },
		{ IIOFAB_WIRE_STATUS_BAD_BLOCK, -ERANGE, "BAD_BLOCK" },
		{ IIOFAB_WIRE_STATUS_OK, -EIO, "unknown status 0" },
		{ 999, -EIO, "unknown status 999" },
	};
	struct iiofab_block *blk = NULL;
	unsigned int waits;
	struct t_env e;

	(void)state;
	t_env_connect(&e);
	for (unsigned int i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		t_env_open(&e, false, T_BLOCK, 4);
		if (i == 0) {
			reads_in_flight(&e, 1);
			t_read_done(&e, 0, T_BLOCK);
		}
		t_board_event(&e.board, e.board.stream_id, IIOFAB_WIRE_EVENT_ERROR,
			      cases[i].status);
		if (i == 0) {
			/* Drives the loop: the event arrives, block 0 is verified. */
			blk = t_next(&e);
			t_check_block(&e, blk, 0, 0, T_BLOCK, 0);
			assert_int_equal(iiofab_block_release(e.s, blk), 0);
		}
		assert_int_equal(iiofab_stream_next(e.s, 0, &blk), cases[i].err);
		assert_null(blk);
		assert_non_null(strstr(e.last[IIOFAB_LOG_ERROR], cases[i].says));
		waits = t_xp_waits(e.xp);
		assert_int_equal(iiofab_stream_next(e.s, 1000, &blk), cases[i].err);
		assert_int_equal(t_xp_waits(e.xp), waits);
		assert_int_equal(iiofab_stream_start(e.s), cases[i].err);
		iiofab_stream_close(e.s);
		e.s = NULL;
	}
	/* A healthy connection closes each of them on the server. */
	assert_int_equal(t_board_count(&e.board, IIOFAB_MSG_CLOSE), 5);

	t_env_open(&e, false, T_BLOCK, 4);
	t_board_event(&e.board, e.board.stream_id, IIOFAB_WIRE_EVENT_ERROR,
		      IIOFAB_WIRE_STATUS_NO_MEMORY);
	t_board_event(&e.board, e.board.stream_id, IIOFAB_WIRE_EVENT_ERROR,
		      IIOFAB_WIRE_STATUS_IO_ERROR);
	assert_int_equal(iiofab_stream_next(e.s, 0, &blk), -ENOMEM);
	iiofab_stream_close(e.s);
	e.s = NULL;

	/* Another stream's error is not this one's; STOPPED is -EPIPE. */
	t_env_open(&e, false, T_BLOCK, 4);
	t_board_event(&e.board, e.board.stream_id - 1, IIOFAB_WIRE_EVENT_ERROR,
		      IIOFAB_WIRE_STATUS_IO_ERROR);
	t_no_block(&e);
	t_board_event(&e.board, e.board.stream_id, IIOFAB_WIRE_EVENT_STOPPED, 0);
	assert_int_equal(iiofab_stream_next(e.s, 0, &blk), -EPIPE);
	t_env_fini(&e);
}

/* An output stream hears it too: get_free, submit and drain return it. */
static void test_stream_error_event_output(void **state)
{
	struct t_env e;
	void *data;

	(void)state;
	t_env_connect(&e);
	t_env_open(&e, true, T_BLOCK, 2);
	assert_int_equal(iiofab_stream_get_free(e.s, 0, &data), 0);
	assert_int_equal(iiofab_stream_get_free(e.s, 0, &data), 1);
	t_board_event(&e.board, e.board.stream_id, IIOFAB_WIRE_EVENT_ERROR,
		      IIOFAB_WIRE_STATUS_IO_ERROR);
	assert_int_equal(iiofab_stream_get_free(e.s, 0, &data), -EIO);
	assert_null(data);
	assert_int_equal(iiofab_stream_submit(e.s, 0, T_BLOCK, 0), -EIO);
	assert_int_equal(iiofab_stream_drain(e.s, 1000), -EIO);
	assert_int_equal(e.board.n_submitted, 0);
	t_env_fini(&e);
	assert_int_equal(t_board_count(&e.board, IIOFAB_MSG_CLOSE), 1);
}

/*
 * Opens that fail leave nothing behind: no memory region, no idle hook,
 * no stream on the board (a STREAM_INFO the library cannot use is closed
 * again), and the next open succeeds.
 */
static void test_failed_opens(void **state)
{
	struct iiofab_stream *s = (void *)1;
	struct t_board *b;
	struct t_env e;

	(void)state;
	t_env_connect(&e);
	b = &e.board;
	/* Refused before anything is asked of the server. */
	assert_int_equal(iiofab_stream_open(e.ctx, e.adc, NULL, T_BLOCK + 1, 4, &s), -EINVAL);
	assert_null(s);
	assert_int_equal(iiofab_stream_open(e.ctx, e.adc, NULL, T_BLOCK, 0, &s), -EINVAL);
	assert_int_equal(iiofab_stream_open(e.ctx, e.adc, NULL, T_BLOCK, 257, &s), -EINVAL);
	assert_int_equal(iiofab_stream_open_mask(e.ctx, e.adc, 0, T_BLOCK, 4, &s), -EINVAL);
	assert_int_equal(iiofab_stream_open(e.ctx, e.adc, (const char *const[]){ "voltage9", NULL },
					    T_BLOCK, 4, &s), -ENOENT);
	assert_int_equal(iiofab_stream_open(e.ctx, e.dac, NULL, T_BLOCK, 4, &s), -EINVAL);
	/*
	 * The landing buffer, then the generation words, cannot be
	 * registered: they are sized after OPEN_STREAM (a stream joined
	 * comes in its own sizes), so the stream is closed again.
	 */
	assert_int_equal(b->n_log, 5);
	t_xp_fail_reg(e.xp, 0, ENOMEM);
	assert_int_equal(iiofab_stream_open(e.ctx, e.adc, NULL, T_BLOCK, 4, &s), -ENOMEM);
	assert_non_null(strstr(e.last[IIOFAB_LOG_ERROR], "16384-byte landing buffer"));
	t_xp_fail_reg(e.xp, 1, EPERM);
	assert_int_equal(iiofab_stream_open(e.ctx, e.adc, NULL, T_BLOCK, 4, &s), -EPERM);
	assert_int_equal(b->n_log, 9);
	for (unsigned int i = 5; i < 9; i++)
		assert_int_equal(b->log[i].type, i % 2 ? IIOFAB_MSG_OPEN_STREAM : IIOFAB_MSG_CLOSE);
	assert_int_equal(t_xp_mrs(e.xp), 0);
	/* The server refuses, or answers what was not asked. */
	b->refuse[IIOFAB_MSG_OPEN_STREAM] = IIOFAB_WIRE_STATUS_BUSY;
	assert_int_equal(iiofab_stream_open(e.ctx, e.adc, NULL, T_BLOCK, 4, &s), -EBUSY);
	b->refuse[IIOFAB_MSG_OPEN_STREAM] = 0;
	b->info_block_count = 3;
	assert_int_equal(iiofab_stream_open(e.ctx, e.adc, NULL, T_BLOCK, 4, &s), -EPROTO);
	assert_int_equal(b->log[b->n_log - 1].type, IIOFAB_MSG_CLOSE);
	assert_int_equal(b->stream_id, 0);
	b->info_block_count = 0;
	assert_int_equal(t_xp_mrs(e.xp), 0);
	assert_int_equal(t_xp_idle_hooks(e.xp), 0);
	assert_int_equal(t_xp_held_recvs(e.xp), 0);
	assert_null(s);
	/* START refused: never started, so no STOP, but CLOSE. */
	b->refuse[IIOFAB_MSG_START] = IIOFAB_WIRE_STATUS_IO_ERROR;
	assert_int_equal(iiofab_stream_open(e.ctx, e.adc, NULL, T_BLOCK, 4, &s), 0);
	assert_int_equal(iiofab_stream_start(s), -EIO);
	assert_int_equal(iiofab_stream_next(s, 0, &(struct iiofab_block *){ NULL }), -EINVAL);
	b->refuse[IIOFAB_MSG_START] = 0;
	iiofab_stream_close(s);
	assert_int_equal(t_board_count(b, IIOFAB_MSG_STOP), 0);
	assert_int_equal(b->log[b->n_log - 1].type, IIOFAB_MSG_CLOSE);
	t_env_open(&e, false, T_BLOCK, 4);
	t_env_fini(&e);
}

/*
 * What arrives while a request waits for its reply is handled, not lost:
 * a READY sent before START's OK is read as soon as it arrives; an ERROR
 * no request waits for is logged and changes nothing.
 */
static void test_messages_during_a_request(void **state)
{
	struct iiofab_stream *s;
	struct t_board *b;
	struct t_env e;

	(void)state;
	t_env_connect(&e);
	b = &e.board;
	assert_int_equal(iiofab_stream_open(e.ctx, e.adc, NULL, T_BLOCK, 4, &s), 0);
	e.s = s;
	b->start_ready = t_board_entry(b, 2, 0, 0, T_BLOCK);
	b->ready_on_start = true;
	assert_int_equal(iiofab_stream_start(s), 0);
	assert_int_equal(t_xp_in_flight(e.xp), 1);
	b->out->error = (struct iiofab_msg_error){
		.status = IIOFAB_WIRE_STATUS_INTERNAL, .message = iiofab_wire_str("late"),
	};
	t_board_send(b, IIOFAB_MSG_ERROR, 0, b->out);
	t_board_expect_read(&e, 2, NULL, T_BLOCK);
	t_read_done(&e, 2, T_BLOCK);
	t_check_block(&e, t_next(&e), 0, 0, T_BLOCK, 0);
	assert_non_null(strstr(e.last[IIOFAB_LOG_WARNING], "server error for request 0"));
	assert_int_equal(t_xp_held_recvs(e.xp), 0);
	t_env_fini(&e);
}

/* Disconnecting with a stream open closes it first, as close would. */
static void test_disconnect_closes_the_stream(void **state)
{
	unsigned int rel;
	struct t_env e;

	(void)state;
	t_env_connect(&e);
	t_env_open(&e, false, T_BLOCK, 4);
	reads_in_flight(&e, 3);
	e.board.on_wait = link_delivers;
	e.board.wait_arg = &e;
	/* Left open: iiofab_disconnect() finds it. */
	e.s = NULL;
	t_env_fini(&e);
	rel = t_board_find(&e.board, IIOFAB_MSG_RELEASE, 0);
	assert_int_equal(e.board.release_sizes[0], 3);
	assert_int_equal(e.board.log[rel + 1].type, IIOFAB_MSG_STOP);
	assert_int_equal(e.board.log[rel + 2].type, IIOFAB_MSG_CLOSE);
	assert_int_equal(e.board.n_log, rel + 3);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_close_failed_connection_flushes),
		cmocka_unit_test(test_close_waits_for_reads),
		cmocka_unit_test(test_close_reads_never_complete),
		cmocka_unit_test(test_failed_read_fails_connection),
		cmocka_unit_test(test_connection_lost_while_waiting),
		cmocka_unit_test(test_stream_error_event),
		cmocka_unit_test(test_stream_error_event_output),
		cmocka_unit_test(test_failed_opens),
		cmocka_unit_test(test_messages_during_a_request),
		cmocka_unit_test(test_disconnect_closes_the_stream),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
