// SPDX-License-Identifier: MIT
/*
 * Input streams shared by several subscribers, against a fake converter:
 * fan-out (every started subscriber gets every block, a late joiner from
 * its join on, a slow one loses alone) and shard (each block to exactly
 * one shard with room, a slow shard gets fewer, every lost scan reported
 * once, a departing shard's blocks redelivered).
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

static void release_last(struct srv_sub *sub, const struct t_sink *s)
{
	struct srv_refusal why;
	const struct iiofab_wire_ready_entry *e = &s->ready[s->n_ready - 1];

	assert_int_equal(t_release_sub(sub, e->block, e->generation, &why), 0);
}

/* Every entry starts where the subscriber's previous one ended plus its loss. */
static void assert_contiguous(const struct t_sink *s)
{
	for (unsigned int i = 1; i < s->n_ready; i++)
		assert_int_equal(s->ready[i].first_sample,
				 s->ready[i - 1].first_sample + T_SCANS + s->ready[i].lost);
}

static void test_fanout_late_joiner(void **state)
{
	struct t_sink late;
	struct srv_sub *b;
	struct t_env e;

	(void)state;
	t_env_open_mode(&e, &srv_adc_ops, 8, T_BLOCK, true, IIOFAB_WIRE_MODE_FANOUT);
	assert_int_equal(srv_sub_start(e.sub), 0);
	for (unsigned int i = 0; i < 3; i++) {
		t_conv_complete(e.conv);
		release_last(e.sub, &e.sink);
	}
	b = t_env_join(&e, &late);
	assert_int_equal(srv_sub_start(b), 0);
	for (unsigned int i = 3; i < 10; i++) {
		unsigned int enq = e.conv->enqueues;

		t_conv_complete(e.conv);
		assert_int_equal(late.n_ready, i - 2);
		assert_memory_equal(&late.ready[i - 3], &e.sink.ready[i], sizeof(late.ready[0]));
		release_last(e.sub, &e.sink);
		/* Back to the converter only when both released it. */
		assert_int_equal(e.conv->enqueues, enq);
		release_last(b, &late);
		assert_int_equal(e.conv->enqueues, enq + 1);
	}
	/* Its first block: the absolute scan, no loss for the time before. */
	assert_int_equal(late.ready[0].seq, 3);
	assert_int_equal(late.ready[0].first_sample, 3 * T_SCANS);
	assert_int_equal(late.ready[0].lost, 0);
	assert_contiguous(&late);
	assert_contiguous(&e.sink);
	srv_sub_remove(b);
	t_sink_free(&late);
	assert_int_equal(e.st->n_subs, 1);
	t_env_close(&e);
}

/* A host that never releases loses blocks; the one that keeps up loses none. */
static void test_fanout_slow_host_loses_alone(void **state)
{
	struct t_sink slow_sink;
	struct srv_sub *slow;
	struct t_env e;

	(void)state;
	t_env_open_mode(&e, &srv_adc_ops, 4, T_BLOCK, false, IIOFAB_WIRE_MODE_FANOUT);
	slow = t_env_join(&e, &slow_sink);
	assert_int_equal(srv_sub_start(e.sub), 0);
	assert_int_equal(srv_sub_start(slow), 0);
	for (unsigned int i = 0; i < 40; i++) {
		t_conv_complete(e.conv);
		release_last(e.sub, &e.sink);
	}
	assert_int_equal(e.sink.n_ready, 40);
	for (unsigned int i = 0; i < 40; i++) {
		assert_int_equal(e.sink.ready[i].seq, i);
		assert_int_equal(e.sink.ready[i].lost, 0);
	}
	assert_int_equal(e.sub->reclaimed, 0);
	assert_true(slow->reclaimed > 30);
	assert_int_equal(e.stats.blocks_reclaimed, slow->reclaimed);
	/* The slow host is told of every block and loses those taken back. */
	assert_int_equal(slow_sink.n_ready, 40);
	assert_contiguous(&slow_sink);
	srv_sub_remove(slow);
	t_sink_free(&slow_sink);
	t_env_close(&e);
}

/*
 * A host that reads nothing for a while (its send buffers all in flight):
 * its blocks come round again while their old entries wait. When it reads
 * again it hears of the current ones, and of the rest as exact loss.
 */
static void test_fanout_silent_host(void **state)
{
	struct t_sink slow_sink;
	struct srv_sub *slow;
	struct t_env e;

	(void)state;
	t_env_open_mode(&e, &srv_adc_ops, 4, T_BLOCK, false, IIOFAB_WIRE_MODE_FANOUT);
	slow = t_env_join(&e, &slow_sink);
	assert_int_equal(srv_sub_start(e.sub), 0);
	assert_int_equal(srv_sub_start(slow), 0);
	slow_sink.free_slots = 0;
	for (unsigned int i = 0; i < 50; i++) {
		t_conv_complete(e.conv);
		release_last(e.sub, &e.sink);
	}
	assert_true(srv_ring_len(&slow->pending) <= 4);
	slow_sink.free_slots = 4;
	srv_sub_flush(slow);
	assert_true(slow_sink.n_ready >= 1);
	assert_contiguous(&slow_sink);
	/* Its first entry now reports every scan before it. */
	assert_int_equal(slow_sink.ready[0].first_sample, slow_sink.ready[0].lost);
	assert_int_equal(e.sink.n_ready, 50);
	srv_sub_remove(slow);
	t_sink_free(&slow_sink);
	t_env_close(&e);
}

/* The block to take back is one the host that keeps up is done with. */
static void test_fanout_reclaim_spares_current_host(void **state)
{
	struct t_sink slow_sink;
	struct srv_sub *slow;
	struct t_env e;
	unsigned int a, b;

	(void)state;
	t_env_open_mode(&e, &srv_adc_ops, 4, T_BLOCK, false, IIOFAB_WIRE_MODE_FANOUT);
	slow = t_env_join(&e, &slow_sink);
	assert_int_equal(srv_sub_start(e.sub), 0);
	assert_int_equal(srv_sub_start(slow), 0);
	a = t_conv_complete(e.conv);		/* the fast host is still reading it */
	b = t_conv_complete(e.conv);
	release_last(e.sub, &e.sink);
	t_conv_complete(e.conv);		/* one queued: something goes back */
	assert_int_equal(e.stats.blocks_reclaimed, 1);
	assert_int_equal(e.st->blocks[b].state, SRV_BLK_QUEUED);
	assert_int_equal(e.st->blocks[a].state, SRV_BLK_HELD);
	assert_int_equal(e.sub->reclaimed, 0);
	assert_int_equal(slow->reclaimed, 1);
	srv_sub_remove(slow);
	t_sink_free(&slow_sink);
	t_env_close(&e);
}

struct t_shards {
	struct t_env e;
	struct t_sink sink[2];
	struct srv_sub *sub[3];
	struct t_sink *rec[3];
};

static void shards_open(struct t_shards *t, unsigned int count, bool has_counter)
{
	t_env_open_mode(&t->e, &srv_adc_ops, count, T_BLOCK, has_counter, IIOFAB_WIRE_MODE_SHARD);
	t->sub[0] = t->e.sub;
	t->rec[0] = &t->e.sink;
	for (unsigned int i = 1; i < 3; i++) {
		t->sub[i] = t_env_join(&t->e, &t->sink[i - 1]);
		t->rec[i] = &t->sink[i - 1];
	}
	for (unsigned int i = 0; i < 3; i++)
		assert_int_equal(srv_sub_start(t->sub[i]), 0);
}

static void shards_close(struct t_shards *t)
{
	for (unsigned int i = 0; i < 3; i++)
		if (t->sub[i])
			srv_sub_remove(t->sub[i]);
	for (unsigned int i = 0; i < 2; i++)
		t_sink_free(&t->sink[i]);
	t_env_free(&t->e);
}

/* Which shards got seq, as a bit mask; more than one bit is a bug. */
static unsigned int owners(const struct t_shards *t, uint64_t seq)
{
	unsigned int mask = 0;

	for (unsigned int i = 0; i < 3; i++)
		for (unsigned int k = 0; k < t->rec[i]->n_ready; k++)
			if (t->rec[i]->ready[k].seq == seq &&
			    !(t->rec[i]->ready[k].flags & IIOFAB_WIRE_READY_REDELIVERED))
				mask |= 1u << i;
	return mask;
}

static void assert_shard_order(const struct t_sink *s)
{
	for (unsigned int k = 1; k < s->n_ready; k++)
		assert_true(s->ready[k].seq > s->ready[k - 1].seq);
}

static void test_shard_disjoint_complete(void **state)
{
	struct t_shards t;

	(void)state;
	shards_open(&t, 8, true);
	for (unsigned int n = 0; n < 60; n++) {
		t_conv_complete(t.e.conv);
		for (unsigned int i = 0; i < 3; i++)
			if (t.rec[i]->n_ready && t.sub[i]->n_held)
				release_last(t.sub[i], t.rec[i]);
	}
	for (uint64_t seq = 0; seq < 60; seq++) {
		unsigned int m = owners(&t, seq);

		assert_true(m == 1 || m == 2 || m == 4);
	}
	for (unsigned int i = 0; i < 3; i++) {
		assert_shard_order(t.rec[i]);
		assert_int_equal(t.rec[i]->n_ready, 20);
		for (unsigned int k = 0; k < t.rec[i]->n_ready; k++)
			assert_int_equal(t.rec[i]->ready[k].lost, 0);
	}
	shards_close(&t);
}

/* A shard that holds on gets its share and no more; the others take the rest, nothing lost. */
static void test_shard_slow_gets_fewer(void **state)
{
	struct t_shards t;

	(void)state;
	shards_open(&t, 8, true);
	for (unsigned int n = 0; n < 60; n++) {
		t_conv_complete(t.e.conv);
		for (unsigned int i = 0; i < 2; i++)
			if (t.sub[i]->n_held)
				release_last(t.sub[i], t.rec[i]);
	}
	/* It kept its first block, and shards holding fewer got every other one. */
	assert_int_equal(t.rec[2]->n_ready, 1);
	assert_int_equal(t.rec[0]->n_ready + t.rec[1]->n_ready, 59);
	for (uint64_t seq = 0; seq < 60; seq++)
		assert_int_not_equal(owners(&t, seq), 0);
	assert_int_equal(t.e.stats.blocks_reclaimed, 0);
	for (unsigned int i = 0; i < 3; i++)
		for (unsigned int k = 0; k < t.rec[i]->n_ready; k++)
			assert_int_equal(t.rec[i]->ready[k].lost, 0);
	shards_close(&t);
}

/*
 * Nobody releases: blocks are reclaimed, waiting and held ones alike. Every
 * scan the converter produced is in exactly one entry, in one entry's loss,
 * or still owed (not yet reported because no block followed).
 */
static void test_shard_loss_exact(void **state)
{
	uint64_t accounted = 0;
	struct t_shards t;

	(void)state;
	shards_open(&t, 4, false);
	for (unsigned int n = 0; n < 50; n++)
		t_conv_complete(t.e.conv);
	assert_true(t.e.stats.blocks_reclaimed > 40);
	for (unsigned int i = 0; i < 3; i++) {
		assert_shard_order(t.rec[i]);
		for (unsigned int k = 0; k < t.rec[i]->n_ready; k++)
			accounted += T_SCANS + t.rec[i]->ready[k].lost;
		accounted += t.sub[i]->carry;
	}
	accounted += t.e.st->adc.shard_carry;
	/* Blocks still waiting are the rest. */
	for (unsigned int b = 0; b < 4; b++)
		if (t.e.st->blocks[b].state == SRV_BLK_WAITING)
			accounted += T_SCANS + t.e.st->blocks[b].lost;
	assert_int_equal(accounted, 50 * T_SCANS);
	shards_close(&t);
}

/*
 * A shard goes away holding one block it was told of and one it was not
 * (its send buffers were full): both go to another shard, the first marked
 * redelivered, the second as its own with the loss it carried.
 */
static void test_shard_leaves(void **state)
{
	const struct iiofab_wire_ready_entry *r;
	struct t_shards t;

	(void)state;
	shards_open(&t, 16, true);
	/* Shard 0 alone gets the first two blocks; the second stays unsent. */
	srv_sub_stop(t.sub[1]);
	srv_sub_stop(t.sub[2]);
	t_conv_complete(t.e.conv);
	assert_int_equal(t.rec[0]->n_ready, 1);
	t.rec[0]->free_slots = 0;
	t_conv_complete(t.e.conv);
	assert_int_equal(t.sub[0]->n_held, 2);
	assert_int_equal(t.rec[0]->n_ready, 1);
	assert_int_equal(srv_sub_start(t.sub[1]), 0);
	assert_int_equal(t.rec[1]->n_ready, 0);
	srv_sub_remove(t.sub[0]);
	t.sub[0] = NULL;
	assert_int_equal(t.rec[1]->n_ready, 2);
	r = t.rec[1]->ready;
	assert_int_equal(r[0].seq, 0);
	assert_int_equal(r[0].flags, IIOFAB_WIRE_READY_REDELIVERED);
	assert_int_equal(r[0].lost, 0);
	assert_int_equal(r[1].seq, 1);
	assert_int_equal(r[1].flags, 0);
	assert_int_equal(t.sub[1]->redelivered, 1);
	/* The stream goes on with shard 1 alone. */
	t_conv_complete(t.e.conv);
	assert_int_equal(t.rec[1]->n_ready, 3);
	assert_int_equal(r[2].seq, 2);
	shards_close(&t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fanout_late_joiner),
		cmocka_unit_test(test_fanout_slow_host_loses_alone),
		cmocka_unit_test(test_fanout_reclaim_spares_current_host),
		cmocka_unit_test(test_fanout_silent_host),
		cmocka_unit_test(test_shard_disjoint_complete),
		cmocka_unit_test(test_shard_slow_gets_fewer),
		cmocka_unit_test(test_shard_loss_exact),
		cmocka_unit_test(test_shard_leaves),
	};

	return cmocka_run_group_tests_name("server_share", tests, NULL, NULL);
}
