// SPDX-License-Identifier: MIT
/*
 * libiiofab's output streams against the fake transport: FREE credits
 * become iiofab_stream_get_free() blocks, a submit RDMA-WRITEs exactly its
 * bytes and then SUBMITs block, bytes and flags (batched when send slots
 * are scarce), refused submits change nothing, a block's WRITE is never
 * reposted while in flight, and drain (also the one before close) waits
 * for the converter to give every block back.
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
#define T_SCAN (2u * T_DAC_CHANNELS)
#define T_SCANS (T_BLOCK / T_SCAN)

static struct iiofab_stream_stats stats_of(const struct t_env *e)
{
	struct iiofab_stream_stats st;

	assert_int_equal(iiofab_stream_stats(e->s, &st), 0);
	return st;
}

/* iiofab_stream_get_free() without waiting must hand out block. */
static uint8_t *get_free(struct t_env *e, int block)
{
	void *data = NULL;

	assert_int_equal(iiofab_stream_get_free(e->s, 0, &data), block);
	assert_non_null(data);
	return data;
}

static void no_free(struct t_env *e)
{
	void *data = (void *)1;

	assert_int_equal(iiofab_stream_get_free(e->s, 0, &data), -EAGAIN);
	assert_null(data);
}

/* The application's samples: the converter's pattern from first_scan on. */
static void fill(uint8_t *data, size_t bytes, uint64_t first_scan)
{
	for (size_t k = 0; k < bytes / T_SCAN; k++) {
		for (unsigned int c = 0; c < T_DAC_CHANNELS; c++) {
			uint16_t v = t_sample(first_scan + k, c);

			memcpy(data + k * T_SCAN + 2 * c, &v, 2);
		}
	}
}

static const uint8_t *board_block(const struct t_env *e, uint32_t block)
{
	return e->board.mem + block * e->board.block_size;
}

static void check_submit(const struct t_board *b, unsigned int i, uint32_t block,
			 uint32_t bytes, uint32_t flags)
{
	assert_true(i < b->n_submitted);
	assert_int_equal(b->submitted[i].block, block);
	assert_int_equal(b->submitted[i].bytes_used, bytes);
	assert_int_equal(b->submitted[i].flags, flags);
}

/* The converter at work while the library waits: the link delivers what
 * is in flight, and one submitted block comes back per wait. */
struct consumer {
	struct t_env *e;
	unsigned int next;	/* b->submitted[] entries given back */
	unsigned int calls;
};

static void consume_one(struct t_board *b, void *arg)
{
	struct consumer *c = arg;

	c->calls++;
	while (t_xp_oldest(c->e->xp))
		t_xp_complete_next(c->e->xp, 0);
	if (c->next < b->n_submitted) {
		uint32_t blk = b->submitted[c->next++].block;

		t_board_free(b, &blk, 1);
	}
}

/* The board's START grants every block: each comes out once, in order. */
static void test_credits_become_free_blocks(void **state)
{
	const uint32_t bad[2] = { 0, 7 };
	unsigned int warnings, waits;
	uint8_t *slot0;
	void *data;
	struct t_env e;

	(void)state;
	t_env_connect(&e);
	t_env_open(&e, true, T_BLOCK, 4);
	assert_true(iiofab_wire_str_eq(e.board.last_open.device, "iio:device1"));
	assert_int_equal(e.board.last_open.channel_mask, 0x3);
	assert_int_equal(e.board.last_open.direction, IIOFAB_WIRE_DIR_OUT);
	assert_int_equal(iiofab_stream_get_scan_bytes(e.s), T_SCAN);
	/* The landing buffer only: an output stream reads no generations. */
	assert_int_equal(t_xp_mrs(e.xp), 1);
	slot0 = get_free(&e, 0);
	assert_int_not_equal(t_xp_lkey_of(e.xp, slot0), 0);
	for (int b = 1; b < 4; b++)
		assert_ptr_equal(get_free(&e, b), slot0 + (size_t)b * T_BLOCK);
	no_free(&e);
	waits = t_xp_waits(e.xp);
	assert_int_equal(iiofab_stream_get_free(e.s, 1000, &data), -ETIMEDOUT);
	assert_null(data);
	assert_int_equal(t_xp_waits(e.xp), waits + 1);
	/* A FREE for a block the application holds, or none at all: ignored. */
	warnings = e.n_log[IIOFAB_LOG_WARNING];
	t_board_free(&e.board, bad, 2);
	no_free(&e);
	assert_int_equal(e.n_log[IIOFAB_LOG_WARNING], warnings + 2);
	assert_non_null(strstr(e.last[IIOFAB_LOG_WARNING], "FREE for block 7"));
	assert_int_equal(t_xp_in_flight(e.xp), 0);
	assert_int_equal(stats_of(&e).consumed_blocks, 0);
	t_env_fini(&e);
}

/*
 * A submit WRITEs exactly its bytes from the block's slot into the board
 * block, then SUBMITs block, bytes and flags; the converter's FREE makes
 * the block the application's again.
 */
static void test_submit_writes_then_submits(void **state)
{
	struct iiofab_stream_stats st;
	uint8_t *slot0, *slot1;
	unsigned int posts;
	struct t_env e;

	(void)state;
	t_env_connect(&e);
	t_env_open(&e, true, T_BLOCK, 4);
	slot0 = get_free(&e, 0);
	slot1 = get_free(&e, 1);
	fill(slot0, T_BLOCK, 0);
	posts = t_xp_posts(e.xp);
	assert_int_equal(iiofab_stream_submit(e.s, 0, T_BLOCK, 0), 0);
	assert_int_equal(t_xp_posts(e.xp), posts + 2);
	t_board_expect_write(&e, t_xp_post(e.xp, posts), 0, slot0, T_BLOCK);
	assert_null(t_xp_post(e.xp, posts + 1)->op);
	assert_int_equal(t_xp_post(e.xp, posts + 1)->msg_type, IIOFAB_MSG_SUBMIT);
	assert_int_equal(e.board.submit_msgs, 1);
	check_submit(&e.board, 0, 0, T_BLOCK, 0);
	t_xp_complete_next(e.xp, 0);
	t_check_scans(board_block(&e, 0), T_BLOCK, 0, T_DAC_CHANNELS);

	/* Half a block, cyclic: half is written, the rest stays as it was. */
	fill(slot1, T_BLOCK / 2, T_SCANS);
	assert_int_equal(iiofab_stream_submit(e.s, 1, T_BLOCK / 2, IIOFAB_SUBMIT_CYCLIC), 0);
	assert_int_equal(t_xp_posts(e.xp), posts + 4);
	t_board_expect_write(&e, t_xp_post(e.xp, posts + 2), 1, slot1, T_BLOCK / 2);
	check_submit(&e.board, 1, 1, T_BLOCK / 2, IIOFAB_WIRE_SUBMIT_CYCLIC);
	t_xp_complete_next(e.xp, 0);
	t_check_scans(board_block(&e, 1), T_BLOCK / 2, T_SCANS, T_DAC_CHANNELS);
	for (size_t i = T_BLOCK / 2; i < T_BLOCK; i++)
		assert_int_equal(board_block(&e, 1)[i], 0xee);
	st = stats_of(&e);
	assert_int_equal(st.blocks, 2);
	assert_int_equal(st.bytes, T_BLOCK + T_BLOCK / 2);
	assert_int_equal(st.samples, T_SCANS + T_SCANS / 2);
	assert_int_equal(st.submits_sent, 2);
	assert_int_equal(st.consumed_blocks, 0);

	assert_ptr_equal(get_free(&e, 2), slot0 + 2 * T_BLOCK);
	assert_ptr_equal(get_free(&e, 3), slot0 + 3 * T_BLOCK);
	no_free(&e);
	t_board_free(&e.board, (const uint32_t[]){ 0 }, 1);
	assert_ptr_equal(get_free(&e, 0), slot0);
	assert_int_equal(stats_of(&e).consumed_blocks, 1);
	t_env_fini(&e);
}

/* Submits the library must refuse leave every count and queue as it was. */
static void test_refused_submits(void **state)
{
	struct iiofab_stream_stats before, after;
	struct iiofab_block *blk = NULL;
	unsigned int posts, errors;
	struct t_env e;

	(void)state;
	t_env_connect(&e);
	t_env_open(&e, true, T_BLOCK, 4);
	get_free(&e, 0);
	posts = t_xp_posts(e.xp);
	before = stats_of(&e);
	errors = e.n_log[IIOFAB_LOG_ERROR];
	assert_int_equal(iiofab_stream_submit(e.s, 0, 0, 0), -EINVAL);
	assert_int_equal(iiofab_stream_submit(e.s, 0, T_BLOCK + T_SCAN, 0), -EINVAL);
	assert_int_equal(iiofab_stream_submit(e.s, 0, T_SCAN + 2, 0), -EINVAL);
	assert_int_equal(iiofab_stream_submit(e.s, 0, T_BLOCK, 0x2), -EINVAL);
	assert_int_equal(e.n_log[IIOFAB_LOG_ERROR], errors + 4);
	/* Blocks the application does not hold. */
	assert_int_equal(iiofab_stream_submit(e.s, 1, T_BLOCK, 0), -EINVAL);
	assert_int_equal(iiofab_stream_submit(e.s, -1, T_BLOCK, 0), -EINVAL);
	assert_int_equal(iiofab_stream_submit(e.s, 4, T_BLOCK, 0), -EINVAL);
	/* Input calls on an output stream. */
	assert_int_equal(iiofab_stream_next(e.s, 0, &blk), -EINVAL);
	assert_int_equal(iiofab_block_release(e.s, blk), -EINVAL);
	assert_int_equal(t_xp_posts(e.xp), posts);
	assert_int_equal(e.board.submit_msgs, 0);
	after = stats_of(&e);
	assert_memory_equal(&before, &after, sizeof(before));

	/* The block is still the application's to submit, once. */
	assert_int_equal(iiofab_stream_submit(e.s, 0, T_BLOCK, 0), 0);
	assert_int_equal(iiofab_stream_submit(e.s, 0, T_BLOCK, 0), -EINVAL);
	assert_int_equal(t_xp_posts(e.xp), posts + 2);
	assert_int_equal(e.board.n_submitted, 1);
	t_xp_complete_next(e.xp, 0);
	t_board_free(&e.board, (const uint32_t[]){ 0 }, 1);
	t_env_fini(&e);
}

/* A WRITE that does not fit the send queue: -EAGAIN, and nothing changed. */
static void test_submit_send_queue_full(void **state)
{
	unsigned int posts;
	struct t_env e;

	(void)state;
	t_env_connect(&e);
	t_env_open(&e, true, T_BLOCK, 4);
	get_free(&e, 0);
	posts = t_xp_posts(e.xp);
	t_xp_limit_send_depth(e.xp, 0);
	assert_int_equal(iiofab_stream_submit(e.s, 0, T_BLOCK, 0), -EAGAIN);
	assert_int_equal(t_xp_posts(e.xp), posts);
	assert_int_equal(stats_of(&e).blocks, 0);
	t_xp_limit_send_depth(e.xp, 64);
	assert_int_equal(iiofab_stream_submit(e.s, 0, T_BLOCK, 0), 0);
	assert_int_equal(e.board.n_submitted, 1);
	t_xp_complete_next(e.xp, 0);
	t_board_free(&e.board, (const uint32_t[]){ 0 }, 1);
	t_env_fini(&e);
}

/*
 * One send slot, busy with the first SUBMIT: the next blocks are written
 * at once, and their SUBMIT entries leave together, in submit order, when
 * the slot is back.
 */
static void test_submit_batching(void **state)
{
	uint8_t *slot[3];
	unsigned int posts;
	struct t_env e;

	(void)state;
	t_env_connect(&e);
	t_env_open(&e, true, T_BLOCK, 4);
	for (int b = 0; b < 3; b++)
		slot[b] = get_free(&e, b);
	get_free(&e, 3);
	t_xp_hold_sends(e.xp, true);
	t_xp_limit_send_slots(e.xp, 1);
	posts = t_xp_posts(e.xp);
	for (int b = 0; b < 3; b++)
		assert_int_equal(iiofab_stream_submit(e.s, b, T_BLOCK, 0), 0);
	/* WRITE 0, SUBMIT [0], WRITE 1, WRITE 2. */
	assert_int_equal(t_xp_posts(e.xp), posts + 4);
	assert_int_equal(e.board.submit_msgs, 1);
	t_board_expect_write(&e, t_xp_post(e.xp, posts), 0, slot[0], T_BLOCK);
	t_board_expect_write(&e, t_xp_post(e.xp, posts + 2), 1, slot[1], T_BLOCK);
	t_board_expect_write(&e, t_xp_post(e.xp, posts + 3), 2, slot[2], T_BLOCK);
	for (int i = 0; i < 4; i++)
		t_xp_complete_next(e.xp, 0);
	no_free(&e);
	assert_int_equal(e.board.submit_msgs, 2);
	assert_int_equal(e.board.submit_sizes[0], 1);
	assert_int_equal(e.board.submit_sizes[1], 2);
	for (uint32_t b = 0; b < 3; b++)
		check_submit(&e.board, b, b, T_BLOCK, 0);
	assert_int_equal(stats_of(&e).submits_sent, 2);
	t_xp_hold_sends(e.xp, false);
	t_board_free(&e.board, (const uint32_t[]){ 0, 1, 2 }, 3);
	t_env_fini(&e);
}

/*
 * A FREE for a block whose SUBMIT has not left yet names a block the
 * server was never told of: it is refused with a warning, so the block
 * cannot be handed out and submitted a second time while its first entry
 * waits (which would overrun the queue of unsent entries).
 */
static void test_free_before_submit_left(void **state)
{
	unsigned int warnings;
	struct t_env e;

	(void)state;
	t_env_connect(&e);
	t_env_open(&e, true, T_BLOCK, 1);
	get_free(&e, 0);
	t_xp_limit_send_slots(e.xp, 0);
	assert_int_equal(iiofab_stream_submit(e.s, 0, T_BLOCK, 0), 0);
	assert_int_equal(e.board.submit_msgs, 0);
	warnings = e.n_log[IIOFAB_LOG_WARNING];
	t_board_free(&e.board, (const uint32_t[]){ 0 }, 1);
	no_free(&e);
	assert_int_equal(e.n_log[IIOFAB_LOG_WARNING], warnings + 1);
	assert_int_equal(stats_of(&e).consumed_blocks, 0);
	t_xp_limit_send_slots(e.xp, 4);
	t_xp_complete_next(e.xp, 0);
	no_free(&e);
	assert_int_equal(e.board.submit_msgs, 1);
	check_submit(&e.board, 0, 0, T_BLOCK, 0);
	t_board_free(&e.board, (const uint32_t[]){ 0 }, 1);
	get_free(&e, 0);
	assert_int_equal(stats_of(&e).consumed_blocks, 1);
	t_env_fini(&e);
}

/*
 * Drain returns once the converter gave back every submitted block, one
 * wait per block here; a dead converter makes it time out; a cyclic block
 * that keeps repeating is not waited for.
 */
static void test_drain_waits_for_credits(void **state)
{
	struct consumer c;
	unsigned int waits;
	struct t_env e;

	(void)state;
	t_env_connect(&e);
	t_env_open(&e, true, T_BLOCK, 4);
	c = (struct consumer){ .e = &e };
	waits = t_xp_waits(e.xp);
	assert_int_equal(iiofab_stream_drain(e.s, 1000), 0);
	assert_int_equal(t_xp_waits(e.xp), waits);
	for (int b = 0; b < 3; b++) {
		get_free(&e, b);
		assert_int_equal(iiofab_stream_submit(e.s, b, T_BLOCK, 0), 0);
	}
	e.board.on_wait = consume_one;
	e.board.wait_arg = &c;
	assert_int_equal(iiofab_stream_drain(e.s, 1000), 0);
	assert_int_equal(c.calls, 3);
	assert_int_equal(stats_of(&e).consumed_blocks, 3);
	/* The never-taken credit first, then the blocks as they came back. */
	for (int b = 3; b < 7; b++)
		get_free(&e, b % 4);
	e.board.on_wait = NULL;

	/* Nobody consumes: one wait, then the timeout. */
	assert_int_equal(iiofab_stream_submit(e.s, 3, T_BLOCK, 0), 0);
	t_xp_complete_next(e.xp, 0);
	waits = t_xp_waits(e.xp);
	assert_int_equal(iiofab_stream_drain(e.s, 1000), -ETIMEDOUT);
	assert_int_equal(t_xp_waits(e.xp), waits + 1);
	assert_int_equal(stats_of(&e).consumed_blocks, 3);
	t_board_free(&e.board, (const uint32_t[]){ 3 }, 1);
	get_free(&e, 3);
	assert_int_equal(stats_of(&e).consumed_blocks, 4);

	/* A repeating block is not waited for. */
	assert_int_equal(iiofab_stream_submit(e.s, 0, T_BLOCK, IIOFAB_SUBMIT_CYCLIC), 0);
	t_xp_complete_next(e.xp, 0);
	waits = t_xp_waits(e.xp);
	assert_int_equal(iiofab_stream_drain(e.s, 1000), 0);
	assert_int_equal(t_xp_waits(e.xp), waits);
	t_env_fini(&e);
}

/*
 * With a prefill, submits are WRITTEN at once but announced in one SUBMIT
 * behind all their WRITEs once that many are in, so the converter starts
 * with them all queued; later submits go alone. The hold ends early where
 * waiting for it could only stall: no credit in hand, a drain, a cyclic
 * submit.
 */
static void test_prefill(void **state)
{
	struct consumer c;
	unsigned int posts;
	uint8_t *slot[3];
	void *data;
	struct t_env e;

	(void)state;
	t_env_connect(&e);
	t_env_open(&e, true, T_BLOCK, 4);
	assert_int_equal(iiofab_stream_set_prefill(e.s, 0), -EINVAL);
	assert_int_equal(iiofab_stream_set_prefill(e.s, 5), -EINVAL);
	assert_int_equal(iiofab_stream_set_prefill(e.s, 3), 0);
	posts = t_xp_posts(e.xp);
	for (int b = 0; b < 3; b++) {
		slot[b] = get_free(&e, b);
		fill(slot[b], T_BLOCK, (uint64_t)b * T_SCANS);
		assert_int_equal(iiofab_stream_submit(e.s, b, T_BLOCK, 0), 0);
		assert_int_equal(e.board.submit_msgs, b < 2 ? 0 : 1);
	}
	assert_int_equal(t_xp_posts(e.xp), posts + 4);
	for (int b = 0; b < 3; b++)
		t_board_expect_write(&e, t_xp_post(e.xp, posts + (unsigned int)b), (uint32_t)b,
				     slot[b], T_BLOCK);
	assert_int_equal(e.board.submit_sizes[0], 3);
	while (t_xp_oldest(e.xp))
		t_xp_complete_next(e.xp, 0);
	for (uint32_t b = 0; b < 3; b++) {
		check_submit(&e.board, b, b, T_BLOCK, 0);
		assert_memory_equal(board_block(&e, b), slot[b], T_BLOCK);
	}
	assert_int_equal(iiofab_stream_set_prefill(e.s, 2), -EBUSY);
	get_free(&e, 3);
	assert_int_equal(iiofab_stream_submit(e.s, 3, T_BLOCK, 0), 0);
	assert_int_equal(e.board.submit_msgs, 2);
	assert_int_equal(e.board.submit_sizes[1], 1);
	t_board_free(&e.board, (const uint32_t[]){ 0, 1, 2, 3 }, 4);
	t_env_fini(&e);

	/* Every credit taken, two held: waiting for a free block sends them. */
	t_env_connect(&e);
	t_env_open(&e, true, T_BLOCK, 4);
	assert_int_equal(iiofab_stream_set_prefill(e.s, 4), 0);
	for (int b = 0; b < 4; b++)
		get_free(&e, b);
	for (int b = 0; b < 2; b++)
		assert_int_equal(iiofab_stream_submit(e.s, b, T_BLOCK, 0), 0);
	assert_int_equal(e.board.submit_msgs, 0);
	assert_int_equal(iiofab_stream_get_free(e.s, 0, &data), -EAGAIN);
	assert_int_equal(e.board.submit_msgs, 1);
	assert_int_equal(e.board.submit_sizes[0], 2);
	/* A cyclic submit starts at once, with what was held before it. */
	t_board_free(&e.board, (const uint32_t[]){ 0, 1 }, 2);
	t_env_fini(&e);
	t_env_connect(&e);
	t_env_open(&e, true, T_BLOCK, 4);
	assert_int_equal(iiofab_stream_set_prefill(e.s, 4), 0);
	get_free(&e, 0);
	get_free(&e, 1);
	assert_int_equal(iiofab_stream_submit(e.s, 0, T_BLOCK, 0), 0);
	assert_int_equal(iiofab_stream_submit(e.s, 1, T_BLOCK, IIOFAB_SUBMIT_CYCLIC), 0);
	assert_int_equal(e.board.submit_msgs, 1);
	assert_int_equal(e.board.submit_sizes[0], 2);
	check_submit(&e.board, 1, 1, T_BLOCK, IIOFAB_WIRE_SUBMIT_CYCLIC);
	t_board_free(&e.board, (const uint32_t[]){ 0 }, 1);
	t_env_fini(&e);

	/* A drain sends what is held and waits for it. */
	t_env_connect(&e);
	t_env_open(&e, true, T_BLOCK, 4);
	assert_int_equal(iiofab_stream_set_prefill(e.s, 4), 0);
	get_free(&e, 0);
	assert_int_equal(iiofab_stream_submit(e.s, 0, T_BLOCK, 0), 0);
	assert_int_equal(e.board.submit_msgs, 0);
	c = (struct consumer){ .e = &e };
	e.board.on_wait = consume_one;
	e.board.wait_arg = &c;
	assert_int_equal(iiofab_stream_drain(e.s, 1000), 0);
	assert_int_equal(e.board.submit_msgs, 1);
	assert_int_equal(stats_of(&e).consumed_blocks, 1);
	e.board.on_wait = NULL;
	t_env_fini(&e);

	/* Not for input streams. */
	t_env_connect(&e);
	t_env_open(&e, false, T_BLOCK, 4);
	assert_int_equal(iiofab_stream_set_prefill(e.s, 1), -EINVAL);
	t_env_fini(&e);
}

/* The board gives block 0 back at the first wait, the SUBMIT's slot at the second. */
static void consume_then_ack(struct t_board *b, void *arg)
{
	struct consumer *c = arg;

	if (c->calls++ == 0) {
		t_xp_complete_next(c->e->xp, 0);
		t_board_free(b, (const uint32_t[]){ 0 }, 1);
	} else {
		while (t_xp_oldest(c->e->xp))
			t_xp_complete_next(c->e->xp, 0);
	}
}

/*
 * A drain is not over while a SUBMIT has not left: with the one send slot
 * still held by block 0's SUBMIT, a cyclic block 1 is written but its
 * entry waits. Block 0 comes back first; drain still waits, for the slot
 * and the SUBMIT it carries.
 */
static void test_drain_waits_for_unsent_submit(void **state)
{
	struct consumer c;
	struct t_env e;

	(void)state;
	t_env_connect(&e);
	t_env_open(&e, true, T_BLOCK, 2);
	get_free(&e, 0);
	get_free(&e, 1);
	t_xp_hold_sends(e.xp, true);
	t_xp_limit_send_slots(e.xp, 1);
	assert_int_equal(iiofab_stream_submit(e.s, 0, T_BLOCK, 0), 0);
	assert_int_equal(iiofab_stream_submit(e.s, 1, T_BLOCK, IIOFAB_SUBMIT_CYCLIC), 0);
	assert_int_equal(e.board.n_submitted, 1);
	c = (struct consumer){ .e = &e };
	e.board.on_wait = consume_then_ack;
	e.board.wait_arg = &c;
	assert_int_equal(iiofab_stream_drain(e.s, 1000), 0);
	assert_int_equal(c.calls, 2);
	assert_int_equal(e.board.n_submitted, 2);
	check_submit(&e.board, 1, 1, T_BLOCK, IIOFAB_WIRE_SUBMIT_CYCLIC);
	assert_int_equal(stats_of(&e).consumed_blocks, 1);
	e.board.on_wait = NULL;
	t_xp_hold_sends(e.xp, false);
	t_env_fini(&e);
}

/*
 * The board may give a block back before the library reaped its WRITE's
 * completion. Submitting it again waits for that completion rather than
 * reposting a WRITE still in flight, and fails within the op timeout.
 */
static void test_credit_before_write_completes(void **state)
{
	struct consumer c;
	unsigned int posts;
	struct t_post *w0;
	uint8_t *slot0;
	struct t_env e;

	(void)state;
	t_env_connect(&e);
	t_env_open(&e, true, T_BLOCK, 4);
	slot0 = get_free(&e, 0);
	for (int b = 1; b < 4; b++)
		get_free(&e, b);
	posts = t_xp_posts(e.xp);
	assert_int_equal(iiofab_stream_submit(e.s, 0, T_BLOCK, 0), 0);
	w0 = t_xp_post(e.xp, posts);
	t_board_free(&e.board, (const uint32_t[]){ 0 }, 1);
	get_free(&e, 0);
	assert_int_equal(w0->state, T_POSTED);
	assert_int_equal(iiofab_stream_submit(e.s, 0, T_BLOCK, 0), -ETIMEDOUT);
	assert_int_equal(t_xp_posts(e.xp), posts + 2);
	assert_int_equal(stats_of(&e).blocks, 1);

	c = (struct consumer){ .e = &e, .next = 1 };
	e.board.on_wait = consume_one;
	e.board.wait_arg = &c;
	assert_int_equal(iiofab_stream_submit(e.s, 0, T_BLOCK, 0), 0);
	assert_int_equal(c.calls, 1);
	assert_int_equal(w0->state, T_REAPED);
	t_board_expect_write(&e, t_xp_post(e.xp, posts + 2), 0, slot0, T_BLOCK);
	assert_int_equal(stats_of(&e).blocks, 2);
	assert_int_equal(e.board.n_submitted, 2);
	e.board.on_wait = NULL;
	t_xp_complete_next(e.xp, 0);
	t_board_free(&e.board, (const uint32_t[]){ 0 }, 1);
	t_env_fini(&e);
}

/* UNDERRUN is a running total: a late, lower report never lowers it. */
static void test_underruns(void **state)
{
	struct t_env e;

	(void)state;
	t_env_connect(&e);
	t_env_open(&e, true, T_BLOCK, 1);
	get_free(&e, 0);
	t_board_event(&e.board, e.board.stream_id, IIOFAB_WIRE_EVENT_UNDERRUN, 100);
	no_free(&e);
	assert_int_equal(stats_of(&e).underruns, 100);
	t_board_event(&e.board, e.board.stream_id, IIOFAB_WIRE_EVENT_UNDERRUN, 50);
	t_board_event(&e.board, e.board.stream_id, IIOFAB_WIRE_EVENT_KEEPALIVE, 0);
	no_free(&e);
	assert_int_equal(stats_of(&e).underruns, 100);
	t_board_event(&e.board, e.board.stream_id, IIOFAB_WIRE_EVENT_UNDERRUN, 250);
	t_board_event(&e.board, e.board.stream_id + 1, IIOFAB_WIRE_EVENT_UNDERRUN, 999);
	no_free(&e);
	assert_int_equal(stats_of(&e).underruns, 250);
	t_env_fini(&e);
}

/* Close drains first: STOP leaves only after the last block came back. */
static void test_close_drains_then_stops(void **state)
{
	unsigned int stop, waits;
	struct consumer c;
	struct t_env e;

	(void)state;
	t_env_connect(&e);
	t_env_open(&e, true, T_BLOCK, 4);
	for (int b = 0; b < 2; b++) {
		get_free(&e, b);
		assert_int_equal(iiofab_stream_submit(e.s, b, T_BLOCK, 0), 0);
	}
	c = (struct consumer){ .e = &e };
	e.board.on_wait = consume_one;
	e.board.wait_arg = &c;
	waits = t_xp_waits(e.xp);
	iiofab_stream_close(e.s);
	e.s = NULL;
	assert_int_equal(c.calls, 2);
	assert_int_equal(c.next, 2);
	stop = t_board_find(&e.board, IIOFAB_MSG_STOP, 0);
	assert_int_equal(e.board.log[stop].waits, waits + 2);
	assert_int_equal(e.board.log[stop + 1].type, IIOFAB_MSG_CLOSE);
	assert_int_equal(e.board.n_log, stop + 2);
	assert_int_equal(t_xp_mrs(e.xp), 0);
	assert_int_equal(t_xp_flushes(e.xp), 0);
	t_env_fini(&e);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_credits_become_free_blocks),
		cmocka_unit_test(test_submit_writes_then_submits),
		cmocka_unit_test(test_refused_submits),
		cmocka_unit_test(test_submit_send_queue_full),
		cmocka_unit_test(test_submit_batching),
		cmocka_unit_test(test_free_before_submit_left),
		cmocka_unit_test(test_drain_waits_for_credits),
		cmocka_unit_test(test_drain_waits_for_unsent_submit),
		cmocka_unit_test(test_prefill),
		cmocka_unit_test(test_credit_before_write_completes),
		cmocka_unit_test(test_underruns),
		cmocka_unit_test(test_close_drains_then_stops),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
