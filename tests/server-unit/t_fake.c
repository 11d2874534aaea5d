// SPDX-License-Identifier: MIT
#include <errno.h>
#include <poll.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <infiniband/verbs.h>

#include "t_fake.h"

static struct t_conv *t_conv_of(struct srv_conv *c)
{
	return (struct t_conv *)((char *)c - offsetof(struct t_conv, pub));
}

static int t_enqueue(struct srv_conv *pub, unsigned int blk, size_t bytes, bool cyclic)
{
	struct t_conv *c = t_conv_of(pub);
	int err = c->fail_enqueue;

	if (err) {
		c->fail_enqueue = 0;
		return err;
	}
	assert_true(blk < pub->count);
	assert_true(c->len < pub->count);
	for (unsigned int i = 0; i < c->len; i++)
		assert_int_not_equal(c->fifo[(c->head + i) % T_MAX_BLOCKS], blk);
	c->fifo[(c->head + c->len++) % T_MAX_BLOCKS] = blk;
	c->done[blk] = false;
	c->bytes[blk] = bytes;
	c->cyclic[blk] = cyclic;
	c->enqueues++;
	return 0;
}

static bool t_block_idle(struct srv_conv *pub, unsigned int blk)
{
	struct t_conv *c = t_conv_of(pub);

	for (unsigned int i = 0; i < c->len; i++)
		if (c->fifo[(c->head + i) % T_MAX_BLOCKS] == blk)
			return false;
	return true;
}

static int t_read_counter(struct srv_conv *pub, uint64_t *val)
{
	struct t_conv *c = t_conv_of(pub);

	if (!c->has_counter)
		return -ENOENT;
	*val = c->counter;
	return 0;
}

static int t_enable(struct srv_conv *pub, bool on)
{
	struct t_conv *c = t_conv_of(pub);

	c->enabled = on;
	if (!on) {
		/* Disabling signals every queued fence: the polls fire later. */
		while (c->len)
			(void)t_conv_finish(c);
	}
	return 0;
}

static void t_destroy(struct srv_conv *pub)
{
	t_conv_of(pub)->destroyed = true;
}

static const struct srv_conv_ops t_conv_ops = {
	.enqueue = t_enqueue,
	.block_idle = t_block_idle,
	.read_counter = t_read_counter,
	.enable = t_enable,
	.destroy = t_destroy,
};

unsigned int t_conv_finish(struct t_conv *c)
{
	unsigned int blk;

	assert_true(c->len > 0);
	blk = c->fifo[c->head];
	c->head = (c->head + 1) % T_MAX_BLOCKS;
	c->len--;
	c->done[blk] = true;
	return blk;
}

void t_conv_deliver(struct t_conv *c, unsigned int blk)
{
	assert_true(c->done[blk]);
	c->done[blk] = false;
	c->pub.done(c->pub.done_arg, blk, POLLOUT);
}

unsigned int t_conv_complete(struct t_conv *c)
{
	unsigned int blk = t_conv_finish(c);

	t_conv_deliver(c, blk);
	return blk;
}

/* ---- verbs: registration always takes the memfd path ---- */

static struct ibv_mr *t_reg_dmabuf_mr(struct ibv_pd *pd, uint64_t offset, size_t length,
				      uint64_t iova, int fd, int access)
{
	errno = EOPNOTSUPP;
	return NULL;
}

static struct ibv_mr *t_reg_mr(struct ibv_pd *pd, void *addr, size_t length, int access)
{
	struct ibv_mr *mr = calloc(1, sizeof(*mr));
	static const uint32_t key = 0x1234;

	mr->addr = addr;
	mr->length = length;
	mr->rkey = mr->lkey = key;
	return mr;
}

static int t_dereg_mr(struct ibv_mr *mr)
{
	free(mr);
	return 0;
}

static const struct srv_verbs_ops t_verbs = {
	.reg_dmabuf_mr = t_reg_dmabuf_mr,
	.reg_mr = t_reg_mr,
	.dereg_mr = t_dereg_mr,
};

/* ---- sink ---- */

static void *t_get_buf(void *ctx, unsigned int *slot)
{
	struct t_sink *s = ctx;

	if (!s->free_slots)
		return NULL;
	s->free_slots--;
	*slot = s->in_use++ % 4;
	return s->bufs[*slot];
}

static void t_record(struct t_sink *s, const struct iiofab_wire_hdr *h)
{
	const union iiofab_wire_msg *m = s->msg;

	s->messages++;
	if (h->type == IIOFAB_MSG_READY)
		for (unsigned int i = 0; i < m->ready.count; i++)
			s->ready[s->n_ready++] = m->ready.entries[i];
	else if (h->type == IIOFAB_MSG_FREE)
		for (unsigned int i = 0; i < m->free.count; i++)
			s->free_blocks[s->n_free++] = m->free.blocks[i];
	else if (h->type == IIOFAB_MSG_STREAM_EVENT)
		s->events[s->n_events++] = m->stream_event;
	else
		fail_msg("unexpected message type %u", h->type);
}

static int t_post(void *ctx, unsigned int slot, int len)
{
	struct t_sink *s = ctx;
	struct iiofab_wire_hdr h;

	/* Sent at once: the slot is free again, as after its completion. */
	s->free_slots++;
	if (len <= 0)
		return len;
	assert_int_equal(iiofab_wire_decode(s->bufs[slot], (size_t)len, &h, s->msg), 0);
	t_record(s, &h);
	return 0;
}

static const struct srv_sink_ops t_sink_ops = { .get_buf = t_get_buf, .post = t_post };

void t_env_open(struct t_env *e, const struct srv_dir_ops *ops, unsigned int count,
		uint32_t block_size, bool has_counter)
{
	t_env_open_mode(e, ops, count, block_size, has_counter, IIOFAB_WIRE_MODE_EXCLUSIVE);
}

void t_env_open_mode(struct t_env *e, const struct srv_dir_ops *ops, unsigned int count,
		     uint32_t block_size, bool has_counter, uint8_t mode)
{
	struct srv_scan scan = { .n = 4, .scan_bytes = 8 };
	struct srv_stream_params p = {
		.block_size = block_size, .count = count, .scan = &scan, .mode = mode,
		.device_id = "fake", .channel_mask = 0xf,
	};
	struct srv_sink sink = { &t_sink_ops, &e->sink };
	struct t_conv *c = calloc(1, sizeof(*c));

	assert_true(count <= T_MAX_BLOCKS);
	memset(e, 0, sizeof(*e));
	for (unsigned int i = 0; i < 4; i++)
		scan.ch[i] = (struct srv_chan_info){ .scan_index = (int)i, .is_signed = true,
						     .bits = 16, .storage_bits = 16 };
	e->streams = (struct srv_streams){ .stats = &e->stats, .verbs = &t_verbs };
	e->sink.free_slots = 4;
	e->sink.msg = malloc(sizeof(*e->sink.msg));
	c->map = calloc(count, block_size);
	c->has_counter = has_counter;
	c->pub = (struct srv_conv){ .ops = &t_conv_ops, .map = c->map, .block_size = block_size,
				    .count = count, .dmabuf_fds = c->fds };
	e->conv = c;
	e->pd = (struct ibv_pd *)e;	/* never dereferenced by the fake verbs */
	assert_int_equal(srv_stream_create(&e->streams, &c->pub, ops, &p, &e->st), 0);
	assert_int_equal(srv_sub_add(e->st, &sink, e->pd, &e->sub), 0);
	assert_int_equal(e->stats.reg_memfd, 1);
}

void t_env_close(struct t_env *e)
{
	srv_sub_remove(e->sub);
	t_env_free(e);
}

void t_env_free(struct t_env *e)
{
	assert_true(e->conv->destroyed);
	assert_null(e->streams.list);
	assert_int_equal(e->stats.streams_now, 0);
	free(e->conv->map);
	free(e->conv);
	free(e->sink.msg);
}

int t_release_sub(struct srv_sub *sub, unsigned int blk, uint64_t gen,
		  struct srv_refusal *why)
{
	struct iiofab_msg_release m = { .stream_id = sub->st->id, .count = 1 };

	m.entries[0].block = blk;
	m.entries[0].generation = gen;
	return srv_stream_release(sub, &m, why);
}

int t_release(struct t_env *e, unsigned int blk, uint64_t gen, struct srv_refusal *why)
{
	return t_release_sub(e->sub, blk, gen, why);
}

struct srv_sub *t_env_join(struct t_env *e, struct t_sink *sink)
{
	struct srv_sink s = { &t_sink_ops, sink };
	struct srv_sub *sub;

	memset(sink, 0, sizeof(*sink));
	sink->free_slots = 4;
	sink->msg = malloc(sizeof(*sink->msg));
	assert_int_equal(srv_sub_add(e->st, &s, e->pd, &sub), 0);
	return sub;
}

void t_sink_free(struct t_sink *sink)
{
	free(sink->msg);
}
