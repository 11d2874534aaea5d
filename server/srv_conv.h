/* SPDX-License-Identifier: MIT */
/*
 * A converter's buffer as a stream sees it: blocks handed to the converter
 * (enqueue), their completions (a block's fences signalled), the driver's
 * drop counter (ADC overruns, DAC underruns) and the buffer's enable. The
 * calls go through an ops table chosen when the buffer is opened, so the
 * stream logic above runs against a fake converter in the unit tests, as
 * registration runs against fake verbs.
 */
#ifndef IIOFAB_SRV_CONV_H
#define IIOFAB_SRV_CONV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct iiofab_logger;
struct iio_device;
struct srv_loop;
struct srv_scan;
struct srv_conv;

struct srv_conv_ops {
	/*
	 * Hands block blk (all its fences signalled) to the converter for
	 * bytes bytes, cyclic for a repeating DAC waveform. Its completion
	 * comes through srv_conv.done, once per enqueue.
	 */
	int (*enqueue)(struct srv_conv *c, unsigned int blk, size_t bytes, bool cyclic);
	/* True when every fence of block blk has signalled (never waits). */
	bool (*block_idle)(struct srv_conv *c, unsigned int blk);
	/* The driver's drop count; -ENOENT when the driver keeps none. */
	int (*read_counter)(struct srv_conv *c, uint64_t *val);
	/* Disabling signals every queued block's fence (with an error). */
	int (*enable)(struct srv_conv *c, bool on);
	/* Detaches and frees; completions still pending never arrive. */
	void (*destroy)(struct srv_conv *c);
};

struct srv_conv {
	const struct srv_conv_ops *ops;
	/* What a client's registration covers. */
	void *map;			/* the arena's mapping */
	size_t block_size;
	unsigned int count;
	const int *dmabuf_fds;		/* per block */
	/* Set by the stream: block blk completed (res: poll revents or -errno). */
	void (*done)(void *arg, unsigned int blk, int res);
	void *done_arg;
};

/*
 * Opens buffer 0 of an IIO device for streaming the channels in scan:
 * the buffer fd, the channels enabled, an arena of count blocks of
 * block_size bytes attached as DMABUFs, a watch per block in loop.
 * -EBUSY when another program or stream owns the buffer, -EOPNOTSUPP
 * when it has no DMABUF support.
 */
int srv_conv_open(struct srv_conv **out, struct srv_loop *loop,
		  const struct iio_device *dev, bool output,
		  const struct srv_scan *scan, uint32_t block_size, uint32_t count,
		  const struct iiofab_logger *log);

#endif
