// SPDX-License-Identifier: MIT
/*
 * The real converter behind srv_conv_ops: an IIO buffer fd with the
 * stream's arena attached, one one-shot poll per block for its fence, and
 * the driver's drop counter read through one open sysfs file.
 */
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <iiofab/log.h>
#include <iiofab/uapi.h>

#include "srv_arena.h"
#include "srv_conv.h"
#include "srv_iio.h"
#include "srv_loop.h"

struct conv_block {
	struct iio_conv *conv;
	unsigned int idx;
	struct srv_watch *watch;
};

struct iio_conv {
	struct srv_conv pub;
	struct srv_loop *loop;
	const struct iio_device *dev;
	const struct iiofab_logger *log;
	bool output;
	int buf_fd;
	int counter_fd;			/* sysfs overruns/underruns, or -errno */
	struct srv_arena *arena;
	struct conv_block *blocks;
};

static struct iio_conv *iio_conv_of(struct srv_conv *c)
{
	return (struct iio_conv *)((char *)c - offsetof(struct iio_conv, pub));
}

static void on_fence(struct srv_watch *w, int res)
{
	struct conv_block *b = w->ctx;
	struct srv_conv *c = &b->conv->pub;

	c->done(c->done_arg, b->idx, res);
}

static int conv_enqueue(struct srv_conv *c, unsigned int blk, size_t bytes, bool cyclic)
{
	struct iio_conv *ic = iio_conv_of(c);
	int err;

	err = srv_arena_enqueue(ic->arena, blk, bytes, cyclic ? IIO_BUFFER_DMABUF_CYCLIC : 0);
	if (err < 0)
		return err;
	/* Armed after the enqueue: armed before, it would fire at once. */
	err = srv_watch_arm(ic->loop, ic->blocks[blk].watch);
	if (err < 0)
		iiofab_log_err(ic->log, "cannot watch block %u: %s", blk, strerror(-err));
	return 0;
}

static bool conv_block_idle(struct srv_conv *c, unsigned int blk)
{
	struct pollfd p = { .fd = iio_conv_of(c)->arena->dmabuf[blk], .events = POLLOUT };

	return poll(&p, 1, 0) == 1 && (p.revents & POLLOUT);
}

static int conv_read_counter(struct srv_conv *c, uint64_t *val)
{
	struct iio_conv *ic = iio_conv_of(c);

	return ic->counter_fd < 0 ? -ENOENT : srv_iio_counter_read(ic->counter_fd, val);
}

static int conv_enable(struct srv_conv *c, bool on)
{
	return srv_iio_buffer_enable(iio_conv_of(c)->dev, on);
}

static void conv_destroy(struct srv_conv *c)
{
	struct iio_conv *ic = iio_conv_of(c);

	for (unsigned int i = 0; ic->blocks && i < c->count; i++)
		srv_watch_free(ic->loop, ic->blocks[i].watch);
	free(ic->blocks);
	/* Detach is safe with blocks still queued: the driver waits for fences. */
	srv_arena_destroy(ic->arena);
	close(ic->buf_fd);
	if (ic->counter_fd >= 0)
		close(ic->counter_fd);
	srv_iio_scan_disable(ic->dev, ic->output);
	free(ic);
}

static const struct srv_conv_ops iio_conv_ops = {
	.enqueue = conv_enqueue,
	.block_idle = conv_block_idle,
	.read_counter = conv_read_counter,
	.enable = conv_enable,
	.destroy = conv_destroy,
};

static int watch_blocks(struct iio_conv *ic)
{
	ic->blocks = calloc(ic->pub.count, sizeof(*ic->blocks));
	if (!ic->blocks)
		return -ENOMEM;
	for (unsigned int i = 0; i < ic->pub.count; i++) {
		ic->blocks[i].conv = ic;
		ic->blocks[i].idx = i;
		ic->blocks[i].watch = srv_watch_new(on_fence, &ic->blocks[i],
						    ic->arena->dmabuf[i], POLLOUT);
		if (!ic->blocks[i].watch)
			return -ENOMEM;
	}
	return 0;
}

/* The buffer fd with exactly the stream's channels enabled. */
static int open_buffer(struct iio_conv *ic, const struct srv_scan *scan, uint32_t block_size)
{
	int err;

	ic->buf_fd = srv_iio_buffer_open(ic->dev);
	if (ic->buf_fd < 0)
		return ic->buf_fd;
	/* A buffer left enabled (a crashed owner) refuses scan changes. */
	(void)srv_iio_buffer_enable(ic->dev, false);
	err = srv_iio_scan_enable(ic->dev, ic->output, scan);
	if (err < 0) {
		close(ic->buf_fd);
		return err;
	}
	err = srv_iio_buffer_set_length(ic->dev, block_size / scan->scan_bytes);
	if (err < 0)
		iiofab_log_debug(ic->log, "buffer length not set: %s", strerror(-err));
	return 0;
}

int srv_conv_open(struct srv_conv **out, struct srv_loop *loop,
		  const struct iio_device *dev, bool output,
		  const struct srv_scan *scan, uint32_t block_size, uint32_t count,
		  const struct iiofab_logger *log)
{
	struct iio_conv *ic = calloc(1, sizeof(*ic));
	int err;

	if (!ic)
		return -ENOMEM;
	*ic = (struct iio_conv){ .loop = loop, .dev = dev, .log = log, .output = output };
	ic->counter_fd = srv_iio_counter_open(dev, output ? "underruns" : "overruns");
	err = open_buffer(ic, scan, block_size);
	if (err < 0)
		goto out_close_counter;
	err = srv_arena_create(&ic->arena, block_size, count);
	if (err < 0)
		goto out_close_buffer;
	err = srv_arena_attach(ic->arena, ic->buf_fd);
	if (err < 0)
		goto out_destroy_arena;
	ic->pub = (struct srv_conv){
		.ops = &iio_conv_ops, .map = ic->arena->map, .block_size = block_size,
		.count = count, .dmabuf_fds = ic->arena->dmabuf,
	};
	err = watch_blocks(ic);
	if (err < 0)
		goto out_free_watches;
	*out = &ic->pub;
	return 0;

out_free_watches:
	for (unsigned int i = 0; ic->blocks && i < count; i++)
		srv_watch_free(loop, ic->blocks[i].watch);
	free(ic->blocks);
out_destroy_arena:
	srv_arena_destroy(ic->arena);
out_close_buffer:
	srv_iio_scan_disable(dev, output);
	close(ic->buf_fd);
out_close_counter:
	if (ic->counter_fd >= 0)
		close(ic->counter_fd);
	free(ic);
	return err;
}
