// SPDX-License-Identifier: MIT
/*
 * kmod.dmabuf, ADC side: memfd-backed udmabuf blocks are attached to the
 * simulated ADC's buffer, four at a time in flight; every completed block is
 * checked sample by sample against the ramp and re-enqueued, 256 blocks in
 * all, for several channel masks. Also: fileio on the buffer fd is refused
 * while DMABUFs are attached, and a DMABUF cannot be attached twice.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "t_iio.h"

#define NCHANS		4
#define NBLOCKS		4
#define BLOCK_SIZE	(64 * 1024)
#define TOTAL_BLOCKS	256

static int run_mask(int dev, unsigned int mask)
{
	unsigned int chans[NCHANS], nchans = 0, c, i;
	struct t_arena arena;
	uint64_t scans, overruns, k;
	int chr_fd, buf_fd, ret;
	char bytes[64];

	for (c = 0; c < NCHANS; c++)
		if (mask & (1u << c))
			chans[nchans++] = c;
	/* Whole scans only: with 3 channels a block keeps 4 bytes unused. */
	scans = BLOCK_SIZE / (2 * nchans);

	T_CHECK(!t_attr_write(dev, "sampling_frequency", "0"), "sampling_frequency");
	T_CHECK(!t_set_channels(dev, false, NCHANS, mask), "channels");
	ret = t_arena_create(&arena, NBLOCKS, BLOCK_SIZE);
	T_CHECK(!ret, "arena: %s", strerror(-ret));
	ret = t_open_buffer(dev, &chr_fd, &buf_fd);
	T_CHECK(!ret, "buffer fd: %s", strerror(-ret));

	for (i = 0; i < NBLOCKS; i++) {
		ret = t_dmabuf_attach(buf_fd, arena.fds[i]);
		T_CHECK(!ret, "attach %u: %s", i, strerror(-ret));
	}
	ret = t_dmabuf_attach(buf_fd, arena.fds[0]);
	T_CHECK(ret == -EBUSY, "second attach: %d, want -EBUSY", ret);

	for (i = 0; i < NBLOCKS; i++) {
		ret = t_dmabuf_enqueue(buf_fd, arena.fds[i], BLOCK_SIZE, false);
		T_CHECK(!ret, "enqueue %u: %s", i, strerror(-ret));
	}
	T_CHECK(!t_buffer_enable(dev, true), "enable");
	T_CHECK(read(buf_fd, bytes, sizeof(bytes)) < 0 && errno == EBUSY,
		"fileio read on the buffer fd not refused with EBUSY while attached");
	T_CHECK(read(chr_fd, bytes, sizeof(bytes)) < 0 && errno == EBUSY,
		"legacy read on the chardev not refused with EBUSY");

	for (k = 0; k < TOTAL_BLOCKS; k++) {
		unsigned int b = k % NBLOCKS;
		int fd = arena.fds[b];
		uint64_t bad;

		ret = t_dmabuf_wait(fd, 10000);
		T_CHECK(ret == 1, "block %" PRIu64 " did not complete (%d)", k, ret);
		T_CHECK(!t_dmabuf_sync(fd, true, false), "sync start");
		bad = t_ramp_check(t_arena_block(&arena, b), scans, k * scans,
				   chans, nchans);
		T_CHECK(!t_dmabuf_sync(fd, false, false), "sync end");
		T_CHECK(!bad, "mask %#x block %" PRIu64 ": %" PRIu64
			" samples off the ramp", mask, k, bad);
		if (k + NBLOCKS < TOTAL_BLOCKS) {
			ret = t_dmabuf_enqueue(buf_fd, fd, BLOCK_SIZE, false);
			T_CHECK(!ret, "re-enqueue: %s", strerror(-ret));
		}
	}

	T_CHECK(!t_attr_read_u64(dev, "overruns", &overruns), "overruns");
	T_CHECK(overruns == 0, "unthrottled ADC overran %" PRIu64 " times", overruns);
	T_CHECK(!t_buffer_enable(dev, false), "disable");
	for (i = 0; i < NBLOCKS; i++)
		T_CHECK(!t_dmabuf_detach(buf_fd, arena.fds[i]), "detach %u", i);
	close(buf_fd);
	close(chr_fd);
	t_arena_destroy(&arena);
	t_log("ok: mask %#x: %d blocks of %" PRIu64 " scans match the ramp",
	      mask, TOTAL_BLOCKS, scans);
	return 0;
}

int main(void)
{
	static const unsigned int masks[] = { 0xf, 0xa, 0xb };
	unsigned int i;
	int dev;

	dev = t_find_device("adc0");
	if (dev < 0) {
		fprintf(stderr, "no iiofab-sim adc0: is iiofab_sim loaded?\n");
		return 1;
	}
	for (i = 0; i < sizeof(masks) / sizeof(masks[0]); i++)
		if (run_mask(dev, masks[i]))
			return 1;
	t_attr_write(dev, "sampling_frequency", "1000000");
	return 0;
}
