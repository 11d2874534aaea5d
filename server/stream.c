// SPDX-License-Identifier: MIT
/*
 * The generic part of a stream: creation over a converter buffer, the
 * generation table, subscribers and their registrations, START/STOP, and
 * sending what a direction queued. A block's generation word changes every
 * time the block goes back to the converter, so a client that READs a
 * block and then its generation knows whether the converter may have
 * written into it meanwhile.
 */
#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include <infiniband/verbs.h>

#include "srv_stream.h"

int srv_refuse(struct srv_refusal *r, int err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(r->text, sizeof(r->text), fmt, ap);
	va_end(ap);
	r->err = err;
	return err;
}

static void on_block_done(void *arg, unsigned int idx, int res)
{
	struct srv_stream *st = arg;
	struct srv_block *blk = &st->blocks[idx];

	if (blk->state != SRV_BLK_QUEUED)
		return;
	st->queued--;
	if (res < 0 || !(res & POLLOUT))
		iiofab_log_warn(st->all->log, "stream %u: poll on block %u: %d", st->id, idx, res);
	if (!st->started) {
		blk->state = SRV_BLK_IDLE;
		return;
	}
	st->ops->block_done(blk);
}

static int map_gen_table(struct srv_stream *st)
{
	long page = sysconf(_SC_PAGESIZE);

	/* Its own pages: clients may READ them, and nothing else lives there. */
	st->gen_len = (st->count * sizeof(uint64_t) + page - 1) / page * page;
	st->gen = mmap(NULL, st->gen_len, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (st->gen == MAP_FAILED) {
		st->gen = NULL;
		return -errno;
	}
	/* Generation 0 never names data; the first enqueue makes it 1. */
	memset(st->gen, 0, st->count * sizeof(uint64_t));
	return 0;
}

int srv_stream_create(struct srv_streams *all, struct srv_conv *conv,
		      const struct srv_dir_ops *ops, const struct srv_stream_params *p,
		      struct srv_stream **out)
{
	struct srv_stream *st;
	int err;

	st = calloc(1, sizeof(*st) + p->count * sizeof(st->blocks[0]));
	if (!st) {
		conv->ops->destroy(conv);
		return -ENOMEM;
	}
	st->all = all;
	st->ops = ops;
	st->conv = conv;
	st->mode = p->mode;
	st->device = p->device;
	st->device_id = p->device_id;
	st->channel_mask = p->channel_mask;
	st->scan = *p->scan;
	st->block_size = p->block_size;
	st->count = p->count;
	err = map_gen_table(st);
	if (err < 0) {
		conv->ops->destroy(conv);
		free(st);
		return err;
	}
	for (unsigned int i = 0; i < st->count; i++)
		st->blocks[i] = (struct srv_block){ .st = st, .idx = i, .state = SRV_BLK_IDLE };
	conv->done = on_block_done;
	conv->done_arg = st;
	st->id = ++all->next_id;
	st->next = all->list;
	all->list = st;
	all->stats->streams_total++;
	all->stats->streams_now++;
	*out = st;
	return 0;
}

struct srv_stream *srv_stream_find(struct srv_streams *all, const void *device, bool output)
{
	for (struct srv_stream *st = all->list; st; st = st->next)
		if (st->device == device && st->ops->output == output)
			return st;
	return NULL;
}

static void stream_stop(struct srv_stream *st);

void srv_stream_destroy(struct srv_stream *st)
{
	struct srv_streams *all = st->all;

	for (struct srv_stream **p = &all->list; *p; p = &(*p)->next) {
		if (*p == st) {
			*p = st->next;
			break;
		}
	}
	stream_stop(st);
	st->conv->ops->destroy(st->conv);
	munmap(st->gen, st->gen_len);
	all->stats->streams_now--;
	iiofab_log_info(all->log, "stream %u closed", st->id);
	free(st);
}

static void count_registration(struct srv_stats *stats, const struct srv_reg *reg)
{
	if (reg->path == SRV_REG_DMABUF)
		stats->reg_dmabuf++;
	else
		stats->reg_memfd++;
	stats->reg_any = true;
	stats->reg_last = reg->path;
}

static void sub_free(struct srv_sub *sub)
{
	srv_reg_destroy(sub->reg);
	srv_ring_free(&sub->pending);
	free(sub->held);
	free(sub);
}

int srv_sub_add(struct srv_stream *st, const struct srv_sink *sink, struct ibv_pd *pd,
		struct srv_sub **out)
{
	struct srv_reg_req req = {
		.map = st->conv->map,
		.block_size = st->block_size,
		.count = st->count,
		.dmabuf_fds = st->conv->dmabuf_fds,
		.access = st->ops->access,
		.gen = st->ops->gen_table ? st->gen : NULL,
		.gen_len = st->ops->gen_table ? st->gen_len : 0,
		.gen_access = IBV_ACCESS_REMOTE_READ,
	};
	struct srv_sub *sub = calloc(1, sizeof(*sub));
	int err = -ENOMEM;

	if (!sub)
		return -ENOMEM;
	sub->held = calloc(st->count, sizeof(*sub->held));
	if (!sub->held || srv_ring_init(&sub->pending, st->count) < 0)
		goto out_free;
	err = srv_reg_create(&sub->reg, st->all->verbs, pd, &req);
	if (err < 0)
		goto out_free;
	count_registration(st->all->stats, sub->reg);
	sub->st = st;
	sub->sink = *sink;
	sub->st_next = st->subs;
	st->subs = sub;
	st->n_subs++;
	*out = sub;
	return 0;

out_free:
	sub_free(sub);
	return err;
}

void srv_sub_remove(struct srv_sub *sub)
{
	struct srv_stream *st = sub->st;

	for (struct srv_sub **p = &st->subs; *p; p = &(*p)->st_next) {
		if (*p == sub) {
			*p = sub->st_next;
			break;
		}
	}
	st->n_subs--;
	if (sub->started) {
		sub->started = false;
		if (!--st->n_started)
			stream_stop(st);
	}
	st->ops->drop_holds(sub);
	/* The rkeys die here, before the arena can go away. */
	sub_free(sub);
	if (!st->n_subs)
		srv_stream_destroy(st);
}

int srv_sub_start(struct srv_sub *sub)
{
	struct srv_stream *st = sub->st;
	int err;

	if (sub->started)
		return 0;
	sub->started = true;
	st->n_started++;
	st->ops->sub_start(sub);
	if (st->started)
		return 0;
	st->started = true;
	err = st->ops->start(st);
	if (err < 0) {
		stream_stop(st);
		sub->started = false;
		st->n_started--;
	}
	return err;
}

void srv_sub_stop(struct srv_sub *sub)
{
	struct srv_stream *st = sub->st;
	struct srv_ring_entry e;

	if (!sub->started)
		return;
	sub->started = false;
	if (!--st->n_started) {
		/* Its holds stay until released, as after any STOP. */
		stream_stop(st);
		return;
	}
	st->ops->drop_holds(sub);
	while (srv_ring_pop(&sub->pending, &e))
		;
}

static void stream_stop(struct srv_stream *st)
{
	int err;

	if (!st->started)
		return;
	st->started = false;
	st->epoch++;
	/* Disabling signals every queued fence (-EINTR); their polls then fire. */
	err = st->conv->ops->enable(st->conv, false);
	if (err < 0)
		iiofab_log_warn(st->all->log, "stream %u: disable: %s", st->id, strerror(-err));
}

int srv_stream_release(struct srv_sub *sub, const struct iiofab_msg_release *m,
		       struct srv_refusal *why)
{
	if (!sub->st->ops->release)
		return srv_refuse(why, -EINVAL, "stream %u is an %s stream: "
				  "blocks come back by themselves", sub->st->id,
				  sub->st->ops->name);
	return sub->st->ops->release(sub, m, why);
}

int srv_stream_submit(struct srv_sub *sub, const struct iiofab_msg_submit *m,
		      struct srv_refusal *why)
{
	if (!sub->st->ops->submit)
		return srv_refuse(why, -EINVAL, "stream %u is an %s stream: SUBMIT is for output",
				  sub->st->id, sub->st->ops->name);
	return sub->st->ops->submit(sub, m, why);
}

void srv_stream_info(const struct srv_sub *sub, struct iiofab_msg_stream_info *info)
{
	const struct srv_stream *st = sub->st;

	info->stream_id = st->id;
	info->block_size = st->block_size;
	info->block_count = st->count;
	info->scan_bytes = (uint16_t)st->scan.scan_bytes;
	info->reg_path = sub->reg->path == SRV_REG_DMABUF ? IIOFAB_WIRE_REG_DMABUF :
							    IIOFAB_WIRE_REG_MEMFD;
	srv_reg_gen(sub->reg, &info->gen_addr, &info->gen_rkey);
	info->n_channels = (uint16_t)st->scan.n;
	for (unsigned int i = 0; i < st->scan.n; i++) {
		const struct srv_chan_info *ci = &st->scan.ch[i];

		info->channels[i] = (struct iiofab_wire_scan_fmt){
			.scan_index = (int16_t)ci->scan_index,
			.is_signed = ci->is_signed,
			.bits = ci->bits,
			.storage_bits = ci->storage_bits,
			.shift = ci->shift,
			.big_endian = ci->big_endian,
		};
	}
	for (unsigned int i = 0; i < st->count; i++)
		srv_reg_block(sub->reg, i, &info->blocks[i].addr, &info->blocks[i].rkey);
}

void srv_sub_flush(struct srv_sub *sub)
{
	const struct srv_sink *sink = &sub->sink;

	while (srv_ring_len(&sub->pending)) {
		unsigned int slot;
		void *buf = sink->ops->get_buf(sink->ctx, &slot);
		int len;

		if (!buf)
			return;	/* resumed when a send completes */
		len = sub->st->ops->encode(sub, buf, SRV_CTRL_SIZE);
		/* Length 0 (nothing left worth sending) gives the slot back. */
		if (sink->ops->post(sink->ctx, slot, len) < 0 || len <= 0)
			return;
	}
}

void srv_sub_queue(struct srv_sub *sub, const struct srv_ring_entry *e)
{
	/* A block is queued at most once per generation: the ring cannot fill. */
	(void)srv_ring_push(&sub->pending, e);
	srv_sub_flush(sub);
}

void srv_stream_event(struct srv_stream *st, uint32_t event, uint64_t value)
{
	struct iiofab_msg_stream_event m = { .stream_id = st->id, .event = event, .value = value };

	for (struct srv_sub *sub = st->subs; sub; sub = sub->st_next) {
		unsigned int slot;
		void *buf = sub->sink.ops->get_buf(sub->sink.ctx, &slot);

		if (buf)
			(void)sub->sink.ops->post(sub->sink.ctx, slot,
				iiofab_wire_encode_stream_event(buf, SRV_CTRL_SIZE, 0, &m));
	}
}

bool srv_stream_read_counter(struct srv_stream *st, uint64_t *val)
{
	return st->conv->ops->read_counter(st->conv, val) == 0;
}
