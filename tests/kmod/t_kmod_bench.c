// SPDX-License-Identifier: MIT
/*
 * kmod.bench: the unthrottled simulated ADC's throughput (sampling_frequency
 * 0, all channels) through fileio (libiio's local backend, as iio_readdev
 * uses it) and through DMABUF blocks, for the ramp (copied from a period
 * table) and the counter (generated scan by scan). Prints figures, asserts
 * nothing beyond "data flowed".
 *   t_kmod_bench [SECONDS]
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <iio.h>

#include "t_iio.h"

#define NCHANS		4
#define FILEIO_SCANS	65536
#define NBLOCKS		8
#define BLOCK_SIZE	(1024 * 1024)

static const char *const patterns[] = { "ramp", "counter" };

static void report(const char *path, const char *pattern, uint64_t bytes, double secs)
{
	t_log("kmod.bench adc %-6s %-7s %8.1f MB/s  %7.2f MS/s  (%" PRIu64 " bytes in %.2f s)",
	      path, pattern, bytes / secs / 1e6, bytes / secs / (2.0 * NCHANS) / 1e6,
	      bytes, secs);
}

static int bench_fileio(int dev, const char *pattern, double secs)
{
	struct iio_context *ctx;
	struct iio_device *idev;
	struct iio_buffer *buf;
	char id[32];
	uint64_t bytes = 0;
	unsigned int i;
	double t0, t;

	T_CHECK(!t_attr_write(dev, "sampling_frequency", "0"), "sampling_frequency");
	ctx = iio_create_local_context();
	T_CHECK(ctx, "libiio local context: %s", strerror(errno));
	snprintf(id, sizeof(id), "iio:device%d", dev);
	idev = iio_context_find_device(ctx, id);
	T_CHECK(idev, "libiio: no %s", id);
	for (i = 0; i < iio_device_get_channels_count(idev); i++) {
		struct iio_channel *ch = iio_device_get_channel(idev, i);

		if (iio_channel_is_scan_element(ch) && !iio_channel_is_output(ch))
			iio_channel_enable(ch);
	}
	buf = iio_device_create_buffer(idev, FILEIO_SCANS, false);
	T_CHECK(buf, "libiio buffer: %s", strerror(errno));

	t0 = t_now();
	do {
		ssize_t n = iio_buffer_refill(buf);

		T_CHECK(n > 0, "refill: %s", strerror(n < 0 ? (int)-n : EIO));
		bytes += (uint64_t)n;
		t = t_now();
	} while (t - t0 < secs);
	iio_buffer_destroy(buf);
	iio_context_destroy(ctx);
	report("fileio", pattern, bytes, t - t0);
	return 0;
}

static int bench_dmabuf(int dev, const char *pattern, double secs)
{
	struct t_stream st;
	int ret;
	uint64_t bytes = 0;
	unsigned int k;
	double t0, t;

	T_CHECK(!t_attr_write(dev, "sampling_frequency", "0"), "sampling_frequency");
	T_CHECK(!t_set_channels(dev, false, NCHANS, 0xf), "channels");
	ret = t_stream_open(&st, dev, NBLOCKS, BLOCK_SIZE);
	T_CHECK(!ret, "arena, buffer fd, attach, enqueue: %s", strerror(-ret));
	t0 = t_now();
	T_CHECK(!t_buffer_enable(dev, true), "enable");
	for (k = 0;; k++) {
		int fd = st.arena.fds[k % NBLOCKS];

		T_CHECK(t_dmabuf_wait(fd, 5000) == 1, "block %u did not complete", k);
		/* Dequeue as a consumer would, so the figure includes the syncs. */
		T_CHECK(!t_dmabuf_sync(fd, true, false), "sync start");
		T_CHECK(!t_dmabuf_sync(fd, false, false), "sync end");
		bytes += BLOCK_SIZE;
		t = t_now();
		if (t - t0 >= secs)
			break;
		T_CHECK(!t_dmabuf_enqueue(st.buf_fd, fd, BLOCK_SIZE, false), "re-enqueue");
	}
	T_CHECK(!t_buffer_enable(dev, false), "disable");
	t_stream_close(&st);
	report("dmabuf", pattern, bytes, t - t0);
	return 0;
}

static int bench_pattern(int dev, const char *pattern, double secs)
{
	T_CHECK(!t_attr_write(dev, "pattern", pattern), "pattern %s", pattern);
	return bench_fileio(dev, pattern, secs) || bench_dmabuf(dev, pattern, secs);
}

int main(int argc, char **argv)
{
	double secs = argc > 1 ? strtod(argv[1], NULL) : 3.0;
	int dev = t_find_device("adc0");
	unsigned int i;
	int ret = 0;

	if (dev < 0) {
		fprintf(stderr, "no iiofab-sim adc0: is iiofab_sim loaded?\n");
		return 1;
	}
	for (i = 0; !ret && i < sizeof(patterns) / sizeof(patterns[0]); i++)
		ret = bench_pattern(dev, patterns[i], secs);
	t_attr_write(dev, "pattern", "ramp");
	t_attr_write(dev, "sampling_frequency", "1000000");
	return ret;
}
