// SPDX-License-Identifier: MIT
/*
 * libiiofab's input streams against the fake transport: READY becomes a
 * READ pair (block, then its generation word), blocks come out in sequence
 * order with the landing data, every lost scan is reported exactly once
 * (server gaps, stale READYs, skipped and torn blocks), torn blocks are
 * never delivered, verified blocks are RELEASEd in batches, the READs in
 * flight are bounded and a landing slot is read into again only after the
 * application released it.
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
#define T_SCAN (2u * T_ADC_CHANNELS)
#define T_SCANS (T_BLOCK / T_SCAN)
#define T_MIB (1u << 20)

static struct iiofab_stream_stats stats_of(const struct t_env *e)
{
	struct iiofab_stream_stats st;

	assert_int_equal(iiofab_stream_stats(e->s, &st), 0);
	return st;
}

static void check_release(const struct t_board *b, unsigned int i, uint32_t block,
			  uint64_t gen)
{
	assert_true(i < b->n_released);
	assert_int_equal(b->released[i].block, block);
	assert_int_equal(b->released[i].generation, gen);
}

/* Delivered and lost scans add up to where the stream stands. */
static void check_accounting(const struct t_env *e, const struct iiofab_block *last)
{
	struct iiofab_stream_stats st = stats_of(e);

	assert_int_equal(last->first_sample + last->samples, st.samples + st.lost_samples);
}

/* What OPEN_STREAM asked for, and what the stream says of itself. */
static void test_open_and_getters(void **state)
{
	const struct iiofab_stream_stats zero = { 0 };
	struct iiofab_stream_stats st;
	struct iiofab_stream *other;
	struct t_env e;

	(void)state;
	t_env_connect(&e);
	t_env_open(&e, false, T_BLOCK, 4);
	assert_true(iiofab_wire_str_eq(e.board.last_open.device, "iio:device0"));
	assert_int_equal(e.board.last_open.channel_mask, 0xf);
	assert_int_equal(e.board.last_open.block_size, T_BLOCK);
	assert_int_equal(e.board.last_open.block_count, 4);
	assert_int_equal(e.board.last_open.direction, IIOFAB_WIRE_DIR_IN);
	assert_int_equal(e.board.last_open.mode, IIOFAB_WIRE_MODE_EXCLUSIVE);
	assert_int_equal(iiofab_stream_get_scan_bytes(e.s), T_SCAN);
	assert_int_equal(iiofab_stream_get_block_size(e.s), T_BLOCK);
	assert_int_equal(iiofab_stream_get_block_count(e.s), 4);
	assert_int_equal(iiofab_stream_get_channels_count(e.s), T_ADC_CHANNELS);
	for (unsigned int i = 0; i < T_ADC_CHANNELS; i++) {
		assert_ptr_equal(iiofab_stream_get_channel(e.s, i),
				 iiofab_device_get_channel(e.adc, i));
		assert_int_equal(iiofab_stream_get_channel_offset(e.s, i), 2 * i);
	}
	assert_null(iiofab_stream_get_channel(e.s, T_ADC_CHANNELS));
	assert_string_equal(iiofab_stream_get_reg_path(e.s), "memfd-mr");
	assert_int_equal(iiofab_stream_fd(e.s), t_xp_fd(e.xp));
	/* The landing buffer and the generation words; one idle hook. */
	assert_int_equal(t_xp_mrs(e.xp), 2);
	assert_int_equal(t_xp_idle_hooks(e.xp), 1);
	/* Nothing is read before a READY. */
	t_no_block(&e);
	assert_int_equal(t_xp_in_flight(e.xp), 0);
	st = stats_of(&e);
	assert_memory_equal(&st, &zero, sizeof(st));
	/* One stream per context. */
	assert_int_equal(iiofab_stream_open(e.ctx, e.adc, NULL, T_BLOCK, 4, &other), -EBUSY);
	assert_null(other);
	t_env_fini(&e);
	assert_int_equal(t_board_count(&e.board, IIOFAB_MSG_STOP), 1);
	assert_int_equal(t_board_count(&e.board, IIOFAB_MSG_CLOSE), 1);
}

/*
 * Three rounds over four blocks: each READY becomes a READ pair, and the
 * blocks come out in sequence order with READY's numbers and the bytes the
 * READ landed, each from its own landing slot; each round's verified
 * blocks go back to the server in one RELEASE.
 */
static void test_blocks_in_sequence_order(void **state)
{
	struct iiofab_stream_stats st;
	uintptr_t base = UINTPTR_MAX;
	struct t_env e;

	(void)state;
	t_env_connect(&e);
	t_env_open(&e, false, T_BLOCK, 4);
	for (unsigned int r = 0; r < 3; r++) {
		struct iiofab_wire_ready_entry ent[4];
		struct iiofab_block *blk[4];
		void *slot[4];

		for (uint32_t b = 0; b < 4; b++)
			ent[b] = t_board_entry(&e.board, b, 4 * r + b, (4 * r + b) * T_SCANS,
					       T_BLOCK);
		/* One READY with four entries, or four READYs. */
		if (r == 0)
			t_board_ready_msg(&e.board, ent, 4);
		else
			for (unsigned int b = 0; b < 4; b++)
				t_board_ready_msg(&e.board, &ent[b], 1);
		t_no_block(&e);
		assert_int_equal(t_xp_in_flight(e.xp), 4);
		for (uint32_t b = 0; b < 4; b++) {
			slot[b] = t_read_done(&e, b, T_BLOCK);
			for (uint32_t c = 0; c < b; c++)
				assert_ptr_not_equal(slot[b], slot[c]);
			if ((uintptr_t)slot[b] < base)
				base = (uintptr_t)slot[b];
		}
		for (uint32_t b = 0; b < 4; b++) {
			blk[b] = t_next(&e);
			t_check_block(&e, blk[b], 4 * r + b, (4 * r + b) * T_SCANS, T_BLOCK, 0);
			assert_ptr_equal(blk[b]->data, slot[b]);
		}
		t_no_block(&e);
		assert_int_equal(e.board.release_msgs, r + 1);
		assert_int_equal(e.board.release_sizes[r], 4);
		for (uint32_t b = 0; b < 4; b++) {
			check_release(&e.board, 4 * r + b, b, r + 1);
			assert_int_equal(iiofab_block_release(e.s, blk[b]), 0);
		}
	}
	/* Four landing slots in all, one block apart. */
	for (unsigned int i = 0; i < t_xp_posts(e.xp); i++) {
		const struct t_post *p = t_xp_post(e.xp, i);
		uintptr_t off = (uintptr_t)p->wr[0].local_addr - base;

		if (p->op)
			assert_true(off % T_BLOCK == 0 && off / T_BLOCK < 4);
	}
	st = stats_of(&e);
	assert_int_equal(st.blocks, 12);
	assert_int_equal(st.samples, 12 * T_SCANS);
	assert_int_equal(st.bytes, 12 * T_BLOCK);
	assert_int_equal(st.reads, 12);
	assert_int_equal(st.releases_sent, 3);
	assert_int_equal(st.lost_samples + st.torn_blocks + st.stale_blocks + st.skipped_blocks, 0);
	assert_int_equal(e.board.stale_releases, 0);
	assert_int_equal(t_xp_max_in_flight(e.xp), 4);
	t_env_fini(&e);
}

/*
 * A server overrun: 300 scans missing before seq 1, and seq 2 never
 * announced. Each gap comes with the next delivered block, exactly.
 */
static void test_overrun_gap(void **state)
{
	struct iiofab_stream_stats st;
	struct iiofab_block *blk;
	struct t_env e;

	(void)state;
	t_env_connect(&e);
	t_env_open(&e, false, T_BLOCK, 4);
	t_board_ready(&e.board, 0, 0, 0, T_BLOCK);
	t_board_ready(&e.board, 1, 1, T_SCANS + 300, T_BLOCK);
	t_board_ready(&e.board, 2, 3, 3 * T_SCANS + 300, T_BLOCK);
	t_no_block(&e);
	t_read_done(&e, 0, T_BLOCK);
	t_read_done(&e, 1, T_BLOCK);
	t_read_done(&e, 2, T_BLOCK);
	t_check_block(&e, t_next(&e), 0, 0, T_BLOCK, 0);
	t_check_block(&e, t_next(&e), 1, T_SCANS + 300, T_BLOCK, 300);
	blk = t_next(&e);
	t_check_block(&e, blk, 3, 3 * T_SCANS + 300, T_BLOCK, T_SCANS);
	st = stats_of(&e);
	assert_int_equal(st.blocks, 3);
	assert_int_equal(st.lost_samples, 300 + T_SCANS);
	assert_int_equal(st.torn_blocks + st.stale_blocks + st.skipped_blocks, 0);
	check_accounting(&e, blk);
	t_env_fini(&e);
}

/* Two blocks delivered and held by the application: every landing slot taken. */
static void fill_both_slots(struct t_env *e, struct iiofab_block **b0,
			    struct iiofab_block **b1)
{
	t_board_ready(&e->board, 0, 0, 0, T_BLOCK);
	t_board_ready(&e->board, 1, 1, T_SCANS, T_BLOCK);
	t_no_block(e);
	t_read_done(e, 0, T_BLOCK);
	t_read_done(e, 1, T_BLOCK);
	*b0 = t_next(e);
	*b1 = t_next(e);
	t_check_block(e, *b0, 0, 0, T_BLOCK, 0);
	t_check_block(e, *b1, 1, T_SCANS, T_BLOCK, 0);
	/* Both went back to the server (generation 1 -> 2) at once. */
	assert_int_equal(e->board.release_msgs, 1);
	assert_int_equal(e->board.gen[0], 2);
	assert_int_equal(e->board.gen[1], 2);
}

/*
 * The application holds every slot; READYs for seq 2 (block 0) and 3
 * (block 1) wait. The server reclaims block 0 and announces it again as
 * seq 4: seq 2 is stale, and the library skips to the newest READY at
 * once, slot or not: seq 3 goes back unread. Seq 4 is read when a slot
 * frees, and the gap of seq 2 and 3 comes with it, exactly.
 */
static void test_reclaimed_ready_is_stale(void **state)
{
	struct iiofab_block *b0, *b1, *blk;
	struct iiofab_stream_stats st;
	unsigned int posts;
	const void *slot0;
	struct t_env e;

	(void)state;
	t_env_connect(&e);
	t_env_open(&e, false, T_BLOCK, 2);
	fill_both_slots(&e, &b0, &b1);
	t_board_ready(&e.board, 0, 2, 2 * T_SCANS, T_BLOCK);
	t_board_ready(&e.board, 1, 3, 3 * T_SCANS, T_BLOCK);
	posts = t_xp_posts(e.xp);
	t_no_block(&e);
	/* No slot, no READ. */
	assert_int_equal(t_xp_posts(e.xp), posts);
	t_board_reclaim(&e.board, 0);
	t_board_ready(&e.board, 0, 4, 4 * T_SCANS, T_BLOCK);
	t_no_block(&e);
	st = stats_of(&e);
	assert_int_equal(st.stale_blocks, 1);
	assert_int_equal(st.skipped_blocks, 1);
	assert_int_equal(st.lost_samples, 0);
	/* Only the RELEASE of the skipped block went out. */
	assert_int_equal(t_xp_posts(e.xp), posts + 1);
	assert_null(t_xp_post(e.xp, posts)->op);
	assert_int_equal(t_xp_post(e.xp, posts)->msg_type, IIOFAB_MSG_RELEASE);
	assert_int_equal(e.board.release_msgs, 2);
	check_release(&e.board, 2, 1, 2);

	slot0 = b0->data;
	assert_int_equal(iiofab_block_release(e.s, b0), 0);
	t_xp_complete(e.xp, t_board_expect_read(&e, 0, slot0, T_BLOCK), 0);
	blk = t_next(&e);
	t_check_block(&e, blk, 4, 4 * T_SCANS, T_BLOCK, 2 * T_SCANS);
	assert_ptr_equal(blk->data, slot0);
	assert_int_equal(e.board.release_msgs, 3);
	check_release(&e.board, 3, 0, 3);
	assert_int_equal(e.board.n_released, 4);
	assert_int_equal(e.board.stale_releases, 0);
	st = stats_of(&e);
	assert_int_equal(st.blocks, 3);
	assert_int_equal(st.reads, 3);
	assert_int_equal(st.stale_blocks, 1);
	assert_int_equal(st.skipped_blocks, 1);
	assert_int_equal(st.lost_samples, 2 * T_SCANS);
	assert_int_equal(st.torn_blocks, 0);
	check_accounting(&e, blk);
	t_env_fini(&e);
}

/* A stale READY alone: nothing to skip, and its scans still come as loss. */
static void test_stale_without_skip(void **state)
{
	struct iiofab_block *b0, *b1, *blk;
	struct iiofab_stream_stats st;
	const void *slot1;
	struct t_env e;

	(void)state;
	t_env_connect(&e);
	t_env_open(&e, false, T_BLOCK, 2);
	fill_both_slots(&e, &b0, &b1);
	t_board_ready(&e.board, 0, 2, 2 * T_SCANS, T_BLOCK);
	t_no_block(&e);
	t_board_reclaim(&e.board, 0);
	t_board_ready(&e.board, 0, 3, 3 * T_SCANS, T_BLOCK);
	t_no_block(&e);
	slot1 = b1->data;
	assert_int_equal(iiofab_block_release(e.s, b1), 0);
	t_xp_complete(e.xp, t_board_expect_read(&e, 0, slot1, T_BLOCK), 0);
	blk = t_next(&e);
	t_check_block(&e, blk, 3, 3 * T_SCANS, T_BLOCK, T_SCANS);
	st = stats_of(&e);
	assert_int_equal(st.stale_blocks, 1);
	assert_int_equal(st.skipped_blocks, 0);
	assert_int_equal(st.lost_samples, T_SCANS);
	assert_int_equal(e.board.n_released, 3);
	check_release(&e.board, 2, 0, 3);
	check_accounting(&e, blk);
	assert_int_equal(iiofab_block_release(e.s, b0), 0);
	assert_int_equal(iiofab_block_release(e.s, blk), 0);
	t_env_fini(&e);
}

/*
 * More READYs wait than the library keeps (2 x blocks + 64): the oldest
 * is dropped as stale, the rest are stale or skipped when a slot frees,
 * and the loss reported with the one block read is exactly theirs.
 */
static void test_pending_overflow(void **state)
{
	struct iiofab_wire_ready_entry last[2];
	struct iiofab_block *b0, *b1, *blk;
	struct iiofab_stream_stats st;
	const unsigned int n = 69;
	struct t_env e;

	(void)state;
	t_env_connect(&e);
	t_env_open(&e, false, T_BLOCK, 2);
	fill_both_slots(&e, &b0, &b1);
	for (unsigned int k = 0; k < n; k++) {
		uint32_t block = k % 2;

		if (k >= 2)
			t_board_reclaim(&e.board, block);
		last[block] = t_board_entry(&e.board, block, 2 + k, (2 + k) * T_SCANS, T_BLOCK);
		t_board_ready_msg(&e.board, &last[block], 1);
	}
	/* Skipping needs no slot: all but the newest READY are done with now. */
	t_no_block(&e);
	st = stats_of(&e);
	assert_int_equal(st.stale_blocks, n - 2);
	assert_int_equal(st.skipped_blocks, 1);
	assert_int_equal(st.lost_samples, 0);
	/* The newest READY of block 1 went back unread ... */
	assert_int_equal(e.board.n_released, 3);
	check_release(&e.board, 2, 1, last[1].generation);
	/* ... block 0's is read when a slot frees. */
	assert_int_equal(iiofab_block_release(e.s, b0), 0);
	t_read_done(&e, 0, T_BLOCK);
	blk = t_next(&e);
	t_check_block(&e, blk, 2 + n - 1, (2 + n - 1) * T_SCANS, T_BLOCK, (n - 1) * T_SCANS);
	st = stats_of(&e);
	assert_int_equal(st.stale_blocks, n - 2);
	assert_int_equal(st.skipped_blocks, 1);
	assert_int_equal(st.lost_samples, (n - 1) * T_SCANS);
	assert_int_equal(e.board.n_released, 4);
	check_release(&e.board, 3, 0, last[0].generation);
	assert_int_equal(e.board.stale_releases, 0);
	check_accounting(&e, blk);
	t_env_fini(&e);
}

/*
 * The server reclaims block 0 while its READ is in flight: the generation
 * READ sees the new generation, the block is never delivered nor released,
 * and its scans come as loss with the next delivered block. A torn block
 * with nothing after it is counted at once, its loss only later. Torn
 * blocks give their landing slots back.
 */
static void test_torn_block(void **state)
{
	struct iiofab_stream_stats st;
	struct iiofab_block *blk;
	struct t_env e;

	(void)state;
	t_env_connect(&e);
	t_env_open(&e, false, T_BLOCK, 4);
	t_board_ready(&e.board, 0, 0, 0, T_BLOCK);
	t_board_ready(&e.board, 1, 1, T_SCANS, T_BLOCK);
	t_no_block(&e);
	t_board_reclaim(&e.board, 0);
	t_read_done(&e, 0, T_BLOCK);
	t_read_done(&e, 1, T_BLOCK);
	blk = t_next(&e);
	t_check_block(&e, blk, 1, T_SCANS, T_BLOCK, T_SCANS);
	t_no_block(&e);
	st = stats_of(&e);
	assert_int_equal(st.torn_blocks, 1);
	assert_int_equal(st.reads, 2);
	assert_int_equal(st.blocks, 1);
	assert_int_equal(st.lost_samples, T_SCANS);
	assert_int_equal(e.board.n_released, 1);
	check_release(&e.board, 0, 1, 1);
	check_accounting(&e, blk);
	assert_int_equal(iiofab_block_release(e.s, blk), 0);

	/* Torn at the end: counted now, its scans reported with the next block. */
	t_board_ready(&e.board, 2, 2, 2 * T_SCANS, T_BLOCK);
	t_no_block(&e);
	t_board_reclaim(&e.board, 2);
	t_read_done(&e, 2, T_BLOCK);
	t_no_block(&e);
	st = stats_of(&e);
	assert_int_equal(st.torn_blocks, 2);
	assert_int_equal(st.lost_samples, T_SCANS);
	t_board_ready(&e.board, 3, 3, 3 * T_SCANS, T_BLOCK);
	t_no_block(&e);
	t_read_done(&e, 3, T_BLOCK);
	blk = t_next(&e);
	t_check_block(&e, blk, 3, 3 * T_SCANS, T_BLOCK, T_SCANS);
	st = stats_of(&e);
	assert_int_equal(st.lost_samples, 2 * T_SCANS);
	assert_int_equal(st.blocks, 2);
	assert_int_equal(e.board.n_released, 2);
	check_release(&e.board, 1, 3, 1);
	check_accounting(&e, blk);
	assert_int_equal(iiofab_block_release(e.s, blk), 0);

	/* The torn blocks' slots are free again: four READs at once. */
	for (uint32_t b = 0; b < 4; b++)
		t_board_ready(&e.board, b, 4 + b, (4 + b) * T_SCANS, T_BLOCK);
	t_no_block(&e);
	assert_int_equal(t_xp_in_flight(e.xp), 4);
	for (uint32_t b = 0; b < 4; b++)
		t_read_done(&e, b, T_BLOCK);
	for (uint32_t b = 0; b < 4; b++)
		t_check_block(&e, t_next(&e), 4 + b, (4 + b) * T_SCANS, T_BLOCK, 0);
	t_env_fini(&e);
}

/*
 * 1 MiB blocks: two READs in flight. Block 0 is torn; block 2, still
 * waiting, goes back unread (the library skips to the newest READY) and
 * block 3 is read instead. Each delivered block reports its gap exactly.
 */
static void test_torn_skips_waiting_blocks(void **state)
{
	const uint64_t scans = T_MIB / T_SCAN;
	struct iiofab_wire_ready_entry ent[4];
	struct iiofab_stream_stats st;
	struct iiofab_block *blk;
	struct t_env e;

	(void)state;
	t_env_connect(&e);
	t_env_open(&e, false, T_MIB, 4);
	for (uint32_t b = 0; b < 4; b++)
		ent[b] = t_board_entry(&e.board, b, b, b * scans, T_MIB);
	t_board_ready_msg(&e.board, ent, 4);
	t_no_block(&e);
	assert_int_equal(t_xp_in_flight(e.xp), 2);
	t_board_reclaim(&e.board, 0);
	t_read_done(&e, 0, T_MIB);
	t_no_block(&e);
	st = stats_of(&e);
	assert_int_equal(st.torn_blocks, 1);
	assert_int_equal(st.skipped_blocks, 1);
	assert_int_equal(e.board.n_released, 1);
	check_release(&e.board, 0, 2, 1);
	t_read_done(&e, 1, T_MIB);
	t_check_block(&e, t_next(&e), 1, scans, T_MIB, scans);
	t_read_done(&e, 3, T_MIB);
	blk = t_next(&e);
	t_check_block(&e, blk, 3, 3 * scans, T_MIB, scans);
	st = stats_of(&e);
	assert_int_equal(st.blocks, 2);
	assert_int_equal(st.lost_samples, 2 * scans);
	assert_int_equal(e.board.n_released, 3);
	check_release(&e.board, 1, 1, 1);
	check_release(&e.board, 2, 3, 1);
	check_accounting(&e, blk);
	t_env_fini(&e);
}

/*
 * RELEASE carries every block verified since the last one, whether or not
 * the application has taken it yet. With a single send slot, still busy
 * with the last RELEASE, the next verified blocks wait and leave together
 * once it is back: none twice, none lost.
 */
static void test_release_batching(void **state)
{
	struct iiofab_wire_ready_entry ent[6];
	struct iiofab_stream_stats st;
	struct t_env e;

	(void)state;
	t_env_connect(&e);
	t_env_open(&e, false, T_BLOCK, 8);
	for (uint32_t b = 0; b < 6; b++)
		ent[b] = t_board_entry(&e.board, b, b, b * T_SCANS, T_BLOCK);
	t_board_ready_msg(&e.board, ent, 6);
	t_no_block(&e);
	assert_int_equal(t_xp_in_flight(e.xp), 6);
	/* Nothing is released before it is verified. */
	assert_int_equal(e.board.release_msgs, 0);
	for (uint32_t b = 0; b < 3; b++)
		t_read_done(&e, b, T_BLOCK);
	t_check_block(&e, t_next(&e), 0, 0, T_BLOCK, 0);
	assert_int_equal(e.board.release_msgs, 1);
	assert_int_equal(e.board.release_sizes[0], 3);
	for (uint32_t b = 0; b < 3; b++)
		check_release(&e.board, b, b, 1);

	/* One slot, taken by that RELEASE (its SEND waits behind the READs). */
	t_xp_hold_sends(e.xp, true);
	t_xp_limit_send_slots(e.xp, 1);
	t_check_block(&e, t_next(&e), 1, T_SCANS, T_BLOCK, 0);
	t_check_block(&e, t_next(&e), 2, 2 * T_SCANS, T_BLOCK, 0);
	for (uint32_t b = 3; b < 6; b++) {
		t_read_done(&e, b, T_BLOCK);
		t_check_block(&e, t_next(&e), b, b * T_SCANS, T_BLOCK, 0);
		assert_int_equal(e.board.release_msgs, 1);
	}
	/* The first RELEASE's SEND completes: its slot carries the rest. */
	assert_null(t_xp_complete_next(e.xp, 0)->op);
	t_no_block(&e);
	assert_int_equal(e.board.release_msgs, 2);
	assert_int_equal(e.board.release_sizes[1], 3);
	assert_int_equal(e.board.n_released, 6);
	for (uint32_t b = 3; b < 6; b++)
		check_release(&e.board, b, b, 1);
	assert_int_equal(e.board.stale_releases, 0);
	t_xp_hold_sends(e.xp, false);
	st = stats_of(&e);
	assert_int_equal(st.releases_sent, 2);
	assert_int_equal(st.reads, 6);
	t_env_fini(&e);
}

/*
 * A full send queue: a READ pair that does not fit waits as a READY, a
 * RELEASE that does not fit waits in the batch; both go out later.
 */
static void test_send_queue_full(void **state)
{
	struct t_env e;

	(void)state;
	t_env_connect(&e);
	t_env_open(&e, false, T_BLOCK, 4);
	t_xp_limit_send_depth(e.xp, 2);
	t_board_ready(&e.board, 0, 0, 0, T_BLOCK);
	t_board_ready(&e.board, 1, 1, T_SCANS, T_BLOCK);
	t_no_block(&e);
	assert_int_equal(t_xp_in_flight(e.xp), 1);
	t_read_done(&e, 0, T_BLOCK);
	/* Block 1's READ pair takes the room again before the RELEASE. */
	t_check_block(&e, t_next(&e), 0, 0, T_BLOCK, 0);
	assert_int_equal(t_xp_in_flight(e.xp), 1);
	assert_int_equal(e.board.release_msgs, 0);
	t_read_done(&e, 1, T_BLOCK);
	t_check_block(&e, t_next(&e), 1, T_SCANS, T_BLOCK, 0);
	assert_int_equal(e.board.release_msgs, 1);
	assert_int_equal(e.board.release_sizes[0], 2);
	check_release(&e.board, 0, 0, 1);
	check_release(&e.board, 1, 1, 1);
	t_env_fini(&e);
}

/*
 * 1 MiB blocks keep two READs in flight (2 MiB read ahead), whatever the
 * number of READYs waiting; 4 MiB blocks still keep two.
 */
static void test_reads_in_flight_bounded(void **state)
{
	const uint64_t scans = T_MIB / T_SCAN;
	struct iiofab_wire_ready_entry ent[4];
	struct t_env e;

	(void)state;
	t_env_connect(&e);
	t_env_open(&e, false, T_MIB, 4);
	for (uint32_t b = 0; b < 4; b++)
		ent[b] = t_board_entry(&e.board, b, b, b * scans, T_MIB);
	t_board_ready_msg(&e.board, ent, 4);
	t_no_block(&e);
	assert_int_equal(t_xp_in_flight(e.xp), 2);
	t_read_done(&e, 0, T_MIB);
	t_check_block(&e, t_next(&e), 0, 0, T_MIB, 0);
	assert_int_equal(t_xp_in_flight(e.xp), 2);
	t_read_done(&e, 1, T_MIB);
	t_read_done(&e, 2, T_MIB);
	t_check_block(&e, t_next(&e), 1, scans, T_MIB, 0);
	t_check_block(&e, t_next(&e), 2, 2 * scans, T_MIB, 0);
	t_no_block(&e);
	assert_int_equal(t_xp_in_flight(e.xp), 1);
	t_read_done(&e, 3, T_MIB);
	t_check_block(&e, t_next(&e), 3, 3 * scans, T_MIB, 0);
	assert_int_equal(t_xp_max_in_flight(e.xp), 2);
	iiofab_stream_close(e.s);

	t_env_open(&e, false, 4 * T_MIB, 3);
	for (uint32_t b = 0; b < 3; b++)
		ent[b] = t_board_entry(&e.board, b, b, b * 4 * scans, 4 * T_MIB);
	t_board_ready_msg(&e.board, ent, 3);
	t_no_block(&e);
	assert_int_equal(t_xp_in_flight(e.xp), 2);
	t_read_done(&e, 0, 4 * T_MIB);
	t_check_block(&e, t_next(&e), 0, 0, 4 * T_MIB, 0);
	assert_int_equal(t_xp_in_flight(e.xp), 2);
	t_read_done(&e, 1, 4 * T_MIB);
	t_read_done(&e, 2, 4 * T_MIB);
	t_check_block(&e, t_next(&e), 1, 4 * scans, 4 * T_MIB, 0);
	t_check_block(&e, t_next(&e), 2, 8 * scans, 4 * T_MIB, 0);
	assert_int_equal(t_xp_max_in_flight(e.xp), 2);
	t_env_fini(&e);
}

/*
 * With every landing slot held, READYs wait; a release starts the next
 * READ at once, into the slot just given back, and only one: a second
 * release of the same block is refused and frees nothing.
 */
static void test_slots_reused_after_release(void **state)
{
	struct iiofab_block *b0, *b1, *blk;
	const void *slot0, *slot1;
	unsigned int posts;
	struct t_env e;

	(void)state;
	t_env_connect(&e);
	t_env_open(&e, false, T_BLOCK, 2);
	fill_both_slots(&e, &b0, &b1);
	slot0 = b0->data;
	slot1 = b1->data;
	assert_ptr_not_equal(slot0, slot1);
	t_board_ready(&e.board, 0, 2, 2 * T_SCANS, T_BLOCK);
	t_board_ready(&e.board, 1, 3, 3 * T_SCANS, T_BLOCK);
	posts = t_xp_posts(e.xp);
	t_no_block(&e);
	assert_int_equal(t_xp_posts(e.xp), posts);
	assert_int_equal(iiofab_block_release(e.s, NULL), -EINVAL);

	assert_int_equal(iiofab_block_release(e.s, b1), 0);
	assert_int_equal(t_xp_posts(e.xp), posts + 1);
	assert_int_equal(iiofab_block_release(e.s, b1), -EINVAL);
	t_no_block(&e);
	assert_int_equal(t_xp_posts(e.xp), posts + 1);
	assert_int_equal(t_xp_in_flight(e.xp), 1);
	/* The slot still held is untouched. */
	t_check_scans(slot0, T_BLOCK, 0, T_ADC_CHANNELS);
	t_xp_complete(e.xp, t_board_expect_read(&e, 0, slot1, T_BLOCK), 0);
	blk = t_next(&e);
	t_check_block(&e, blk, 2, 2 * T_SCANS, T_BLOCK, 0);
	assert_ptr_equal(blk->data, slot1);
	t_check_scans(slot0, T_BLOCK, 0, T_ADC_CHANNELS);

	assert_int_equal(iiofab_block_release(e.s, b0), 0);
	t_xp_complete(e.xp, t_board_expect_read(&e, 1, slot0, T_BLOCK), 0);
	t_check_block(&e, t_next(&e), 3, 3 * T_SCANS, T_BLOCK, 0);
	assert_int_equal(stats_of(&e).reads, 4);
	assert_int_equal(e.board.n_released, 4);
	t_env_fini(&e);
}

/*
 * READY entries the stream cannot use are dropped with a warning: a block
 * it does not have, no bytes, more bytes than a block, another stream's.
 * A short block is read and delivered as short as it is.
 */
static void test_bad_ready_ignored(void **state)
{
	struct iiofab_wire_ready_entry bad[3] = {
		{ .block = 4, .bytes_used = T_BLOCK, .generation = 1 },
		{ .block = 1, .bytes_used = 0, .generation = 1 },
		{ .block = 2, .bytes_used = T_BLOCK + T_SCAN, .generation = 1 },
	};
	struct iiofab_block *blk;
	unsigned int warnings;
	uint32_t real_id;
	struct t_env e;

	(void)state;
	t_env_connect(&e);
	t_env_open(&e, false, T_BLOCK, 4);
	warnings = e.n_log[IIOFAB_LOG_WARNING];
	t_board_ready_msg(&e.board, bad, 3);
	real_id = e.board.stream_id;
	e.board.stream_id = real_id + 9;
	t_board_ready(&e.board, 0, 0, 0, T_BLOCK);
	e.board.stream_id = real_id;
	t_no_block(&e);
	assert_int_equal(t_xp_in_flight(e.xp), 0);
	assert_int_equal(e.n_log[IIOFAB_LOG_WARNING], warnings + 3);
	assert_non_null(strstr(e.last[IIOFAB_LOG_WARNING], "READY for bad block 2"));

	t_board_ready(&e.board, 0, 0, 0, T_BLOCK / 2);
	t_no_block(&e);
	t_read_done(&e, 0, T_BLOCK / 2);
	blk = t_next(&e);
	t_check_block(&e, blk, 0, 0, T_BLOCK / 2, 0);
	t_board_ready(&e.board, 1, 1, T_SCANS / 2, T_BLOCK);
	t_no_block(&e);
	t_read_done(&e, 1, T_BLOCK);
	t_check_block(&e, t_next(&e), 1, T_SCANS / 2, T_BLOCK, 0);
	assert_int_equal(stats_of(&e).bytes, T_BLOCK + T_BLOCK / 2);
	t_env_fini(&e);
}

/* A READY that goes back in the sample count is the server's bug: -EPROTO. */
static void test_ready_going_backwards(void **state)
{
	struct iiofab_block *blk = NULL;
	struct t_env e;

	(void)state;
	t_env_connect(&e);
	t_env_open(&e, false, T_BLOCK, 4);
	t_board_ready(&e.board, 0, 0, 0, T_BLOCK);
	t_board_ready(&e.board, 1, 1, 100, T_BLOCK);
	t_no_block(&e);
	t_read_done(&e, 0, T_BLOCK);
	t_read_done(&e, 1, T_BLOCK);
	/* What was verified before still comes out. */
	t_check_block(&e, t_next(&e), 0, 0, T_BLOCK, 0);
	assert_int_equal(iiofab_stream_next(e.s, 0, &blk), -EPROTO);
	assert_null(blk);
	assert_int_equal(iiofab_stream_next(e.s, 1000, &blk), -EPROTO);
	assert_non_null(strstr(e.last[IIOFAB_LOG_ERROR], "goes backwards"));
	assert_int_equal(stats_of(&e).blocks, 1);
	t_env_fini(&e);
}

/* Without a block: -EAGAIN at once, -ETIMEDOUT after a wait, -EINVAL unstarted. */
static void test_next_without_blocks(void **state)
{
	struct iiofab_block *blk = NULL;
	struct iiofab_stream *s;
	unsigned int waits;
	void *data;
	struct t_env e;

	(void)state;
	t_env_connect(&e);
	assert_int_equal(iiofab_stream_open(e.ctx, e.adc, NULL, T_BLOCK, 4, &s), 0);
	assert_int_equal(iiofab_stream_next(s, 0, &blk), -EINVAL);
	e.s = s;
	assert_int_equal(iiofab_stream_start(s), 0);
	assert_int_equal(iiofab_stream_start(s), 0);
	assert_int_equal(t_board_count(&e.board, IIOFAB_MSG_START), 1);
	waits = t_xp_waits(e.xp);
	t_no_block(&e);
	assert_int_equal(t_xp_waits(e.xp), waits);
	assert_int_equal(iiofab_stream_next(s, 1000, &blk), -ETIMEDOUT);
	assert_null(blk);
	assert_int_equal(t_xp_waits(e.xp), waits + 1);
	/* Output calls on an input stream. */
	assert_int_equal(iiofab_stream_get_free(s, 0, &data), -EINVAL);
	assert_int_equal(iiofab_stream_submit(s, 0, T_BLOCK, 0), -EINVAL);
	assert_int_equal(iiofab_stream_drain(s, 0), -EINVAL);
	t_env_fini(&e);
}

/*
 * A shard's block stays the server's until the application releases it,
 * so the server can hand it to another shard if this host dies first.
 */
static void test_shard_releases_on_app_release(void **state)
{
	struct iiofab_block *blk;
	uint64_t mask = 0;
	struct t_env e;

	(void)state;
	t_env_connect(&e);
	assert_int_equal(iiofab_device_get_channel_mask(e.adc, false, NULL, &mask), 0);
	assert_int_equal(iiofab_stream_open_mode(e.ctx, e.adc, mask, T_BLOCK, 4,
						 IIOFAB_STREAM_SHARD, &e.s), 0);
	assert_int_equal(iiofab_stream_get_mode(e.s), IIOFAB_STREAM_SHARD);
	assert_int_equal(e.board.last_open.mode, IIOFAB_WIRE_MODE_SHARD);
	assert_int_equal(iiofab_stream_start(e.s), 0);
	t_board_ready(&e.board, 0, 0, 0, T_BLOCK);
	t_no_block(&e);
	t_read_done(&e, 0, T_BLOCK);
	blk = t_next(&e);
	t_no_block(&e);
	assert_int_equal(e.board.n_released, 0);
	assert_int_equal(iiofab_block_release(e.s, blk), 0);
	t_no_block(&e);
	assert_int_equal(e.board.n_released, 1);
	t_env_fini(&e);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_shard_releases_on_app_release),
		cmocka_unit_test(test_open_and_getters),
		cmocka_unit_test(test_blocks_in_sequence_order),
		cmocka_unit_test(test_overrun_gap),
		cmocka_unit_test(test_reclaimed_ready_is_stale),
		cmocka_unit_test(test_stale_without_skip),
		cmocka_unit_test(test_pending_overflow),
		cmocka_unit_test(test_torn_block),
		cmocka_unit_test(test_torn_skips_waiting_blocks),
		cmocka_unit_test(test_release_batching),
		cmocka_unit_test(test_send_queue_full),
		cmocka_unit_test(test_reads_in_flight_bounded),
		cmocka_unit_test(test_slots_reused_after_release),
		cmocka_unit_test(test_bad_ready_ignored),
		cmocka_unit_test(test_ready_going_backwards),
		cmocka_unit_test(test_next_without_blocks),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
