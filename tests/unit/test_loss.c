// SPDX-License-Identifier: MIT
/* Sample-loss accounting: reported loss, torn blocks, ordering violations, shards. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <iiofab/loss.h>

static struct iiofab_wire_ready_entry t_entry(uint64_t seq, uint64_t first, uint64_t lost)
{
	return (struct iiofab_wire_ready_entry){ .seq = seq, .first_sample = first, .lost = lost };
}

static uint64_t t_deliver(struct iiofab_loss *l, uint64_t seq, uint64_t first, uint64_t lost,
			  uint64_t n)
{
	struct iiofab_wire_ready_entry e = t_entry(seq, first, lost);
	uint64_t got = 12345;

	assert_int_equal(iiofab_loss_deliver(l, &e, n, &got), 0);
	return got;
}

static void test_contiguous(void **state)
{
	struct iiofab_loss l;
	uint64_t i;

	(void)state;
	iiofab_loss_init(&l, true);
	for (i = 0; i < 100; i++)
		assert_int_equal(t_deliver(&l, i, i * 1024, 0, 1024), 0);
	assert_int_equal(l.delivered_blocks, 100);
	assert_int_equal(l.delivered_samples, 102400);
	assert_int_equal(l.lost_samples, 0);
	assert_int_equal(iiofab_loss_take_pending(&l), 0);
}

/* Server overrun: the reclaimed block's scans come as the next entry's loss. */
static void test_gaps(void **state)
{
	struct iiofab_loss l;

	(void)state;
	iiofab_loss_init(&l, true);
	assert_int_equal(t_deliver(&l, 0, 0, 0, 1000), 0);
	assert_int_equal(t_deliver(&l, 1, 3000, 2000, 1000), 2000);
	assert_int_equal(t_deliver(&l, 2, 4000, 0, 500), 0);
	assert_int_equal(l.lost_samples, 2000);
	/* A lost first block counts from the stream start. */
	iiofab_loss_init(&l, true);
	assert_int_equal(t_deliver(&l, 0, 777, 777, 1), 777);
	/* A late joiner's first block: its absolute scan, no loss before it. */
	iiofab_loss_init(&l, true);
	assert_int_equal(t_deliver(&l, 5, 1ULL << 40, 0, 8), 0);
	assert_int_equal(t_deliver(&l, 9, (1ULL << 40) + 8, 0, 8), 0);
	assert_int_equal(l.lost_samples, 0);
}

/* Torn blocks are never delivered and their samples reach the next delivery. */
static void test_torn(void **state)
{
	struct iiofab_loss l;
	struct iiofab_wire_ready_entry e;

	(void)state;
	iiofab_loss_init(&l, true);
	assert_int_equal(t_deliver(&l, 0, 0, 0, 100), 0);
	e = t_entry(1, 100, 0);
	assert_int_equal(iiofab_loss_torn(&l, &e, 100), 0);
	e = t_entry(2, 250, 50);	/* and a gap of 50 before the next torn one */
	assert_int_equal(iiofab_loss_torn(&l, &e, 100), 0);
	assert_int_equal(l.torn_blocks, 2);
	assert_int_equal(l.torn_samples, 200);
	assert_int_equal(t_deliver(&l, 3, 350, 0, 100), 250);
	assert_int_equal(l.lost_samples, 250);
	assert_int_equal(l.delivered_samples, 200);
	/* Torn at the end of a stream: still reported. */
	e = t_entry(4, 450, 0);
	assert_int_equal(iiofab_loss_torn(&l, &e, 100), 0);
	assert_int_equal(iiofab_loss_take_pending(&l), 100);
	assert_int_equal(iiofab_loss_take_pending(&l), 0);
	assert_int_equal(l.lost_samples, 350);
}

static void test_violations(void **state)
{
	struct iiofab_loss l, before;
	struct iiofab_wire_ready_entry e;
	uint64_t lost = 99;

	(void)state;
	iiofab_loss_init(&l, true);
	assert_int_equal(t_deliver(&l, 3, 1000, 1000, 100), 1000);
	before = l;
	e = t_entry(3, 1100, 0);	/* seq repeated */
	assert_int_equal(iiofab_loss_deliver(&l, &e, 1, &lost), -EBADMSG);
	e = t_entry(4, 1099, 0);	/* overlaps the previous block */
	assert_int_equal(iiofab_loss_deliver(&l, &e, 1, &lost), -EBADMSG);
	assert_int_equal(iiofab_loss_torn(&l, &e, 1), -EBADMSG);
	e = t_entry(4, 1200, 99);	/* a gap of 100 reported as 99 */
	assert_int_equal(iiofab_loss_deliver(&l, &e, 1, &lost), -EBADMSG);
	e = t_entry(4, 1100, 0);	/* redelivery where every block is seen */
	e.flags = IIOFAB_WIRE_READY_REDELIVERED;
	assert_int_equal(iiofab_loss_deliver(&l, &e, 1, &lost), -EBADMSG);
	e = t_entry(4, UINT64_MAX - 1, UINT64_MAX - 1101);	/* runs past the end of time */
	assert_int_equal(iiofab_loss_deliver(&l, &e, 2, &lost), -EBADMSG);
	assert_int_equal(lost, 99);
	assert_memory_equal(&l, &before, sizeof(l));
	assert_int_equal(iiofab_loss_deliver(&l, &e, 1, &lost), 0);
	assert_int_equal(lost, UINT64_MAX - 1101);
}

/*
 * A shard sees some blocks: gaps between them are the other shards', and
 * only the loss the server reports counts. A redelivered block may be
 * older than what the shard had.
 */
static void test_shard(void **state)
{
	struct iiofab_loss l;
	struct iiofab_wire_ready_entry e;
	uint64_t lost = 99;

	(void)state;
	iiofab_loss_init(&l, false);
	assert_int_equal(t_deliver(&l, 1, 100, 0, 100), 0);
	assert_int_equal(t_deliver(&l, 4, 400, 0, 100), 0);
	assert_int_equal(t_deliver(&l, 7, 800, 100, 100), 100);
	e = t_entry(2, 200, 0);
	e.flags = IIOFAB_WIRE_READY_REDELIVERED;
	assert_int_equal(iiofab_loss_deliver(&l, &e, 100, &lost), 0);
	assert_int_equal(lost, 0);
	assert_int_equal(l.redelivered_blocks, 1);
	/* Order resumes after the last block of its own. */
	e = t_entry(6, 700, 0);
	assert_int_equal(iiofab_loss_deliver(&l, &e, 100, &lost), -EBADMSG);
	assert_int_equal(t_deliver(&l, 9, 1000, 0, 100), 0);
	assert_int_equal(l.delivered_blocks, 5);
	assert_int_equal(l.lost_samples, 100);
}

static void test_block_scans(void **state)
{
	uint64_t scans = 0;

	(void)state;
	assert_int_equal(iiofab_loss_block_scans(65536, 8, &scans), 0);
	assert_int_equal(scans, 8192);
	assert_int_equal(iiofab_loss_block_scans(0, 8, &scans), 0);
	assert_int_equal(scans, 0);
	assert_int_equal(iiofab_loss_block_scans(65535, 8, &scans), -EBADMSG);
	assert_int_equal(iiofab_loss_block_scans(65536, 0, &scans), -EINVAL);
	assert_int_equal(iiofab_loss_block_scans(UINT32_MAX, 1, &scans), 0);
	assert_int_equal(scans, UINT32_MAX);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_contiguous),
		cmocka_unit_test(test_gaps),
		cmocka_unit_test(test_torn),
		cmocka_unit_test(test_violations),
		cmocka_unit_test(test_shard),
		cmocka_unit_test(test_block_scans),
	};

	return cmocka_run_group_tests_name("loss", tests, NULL, NULL);
}
