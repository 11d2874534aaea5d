// SPDX-License-Identifier: MIT
/*
 * kmod.dmabuf, DAC side: a ramp pushed through udmabuf blocks is consumed
 * with no pattern error and an exact sample count; one deliberately wrong
 * sample is counted as exactly one error; a cyclic block keeps being
 * consumed until it is replaced (its fence then signals cleanly) or the
 * buffer is disabled (its fence then carries -EINTR); underruns count.
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
#define SCANS		(BLOCK_SIZE / (2 * NCHANS))
#define RAMP_START	1000
/* 65536 scans: one cyclic pass ends exactly where the ramp wraps. */
#define CYCLIC_SCANS	65536
#define CYCLIC_SIZE	(CYCLIC_SCANS * 2 * NCHANS)

static const unsigned int chans[NCHANS] = { 0, 1, 2, 3 };

static int fill_block(struct t_arena *arena, unsigned int b, uint64_t n,
		      int64_t corrupt_at)
{
	uint16_t *data = t_arena_block(arena, b);
	uint64_t scans = arena->block_size / (2 * NCHANS);

	T_CHECK(!t_dmabuf_sync(arena->fds[b], true, true), "sync start");
	t_ramp_fill(data, scans, n, chans, NCHANS);
	if (corrupt_at >= 0)
		data[corrupt_at * NCHANS + 2] ^= 0x0100;
	T_CHECK(!t_dmabuf_sync(arena->fds[b], false, true), "sync end");
	return 0;
}

static int expect_counters(int dev, uint64_t consumed, uint64_t errors)
{
	uint64_t got_consumed, got_errors;

	T_CHECK(!t_attr_read_u64(dev, "samples_consumed", &got_consumed), "read");
	T_CHECK(!t_attr_read_u64(dev, "pattern_errors", &got_errors), "read");
	T_CHECK(got_consumed == consumed, "samples_consumed %" PRIu64 ", want %" PRIu64,
		got_consumed, consumed);
	T_CHECK(got_errors == errors, "pattern_errors %" PRIu64 ", want %" PRIu64,
		got_errors, errors);
	return 0;
}

/* @total blocks of ramp, four in flight; @corrupt_block gets one bad sample. */
static int run_stream(int dev, int buf_fd, struct t_arena *arena,
		      unsigned int total, int corrupt_block)
{
	unsigned int k;
	int ret;

	for (k = 0; k < total; k++) {
		unsigned int b = k % NBLOCKS;

		if (k >= NBLOCKS) {
			ret = t_dmabuf_wait(arena->fds[b], 10000);
			T_CHECK(ret == 1, "block %u did not complete (%d)", k - NBLOCKS, ret);
		}
		if (fill_block(arena, b, RAMP_START + (uint64_t)k * SCANS,
			       (int)k == corrupt_block ? 100 : -1))
			return 1;
		ret = t_dmabuf_enqueue(buf_fd, arena->fds[b], BLOCK_SIZE, false);
		T_CHECK(!ret, "enqueue %u: %s", k, strerror(-ret));
		if (k == NBLOCKS - 1 || (k == total - 1 && total < NBLOCKS))
			T_CHECK(!t_buffer_enable(dev, true), "enable");
	}
	for (k = 0; k < NBLOCKS && k < total; k++)
		T_CHECK(t_dmabuf_wait(arena->fds[k], 10000) == 1, "final blocks");
	return 0;
}

static int test_exact(int dev)
{
	struct t_arena arena;
	int chr_fd, buf_fd, ret;
	unsigned int i;
	uint64_t underruns;

	T_CHECK(!t_attr_write(dev, "sampling_frequency", "0"), "sampling_frequency");
	T_CHECK(!t_set_channels(dev, true, NCHANS, 0xf), "channels");
	ret = t_arena_create(&arena, NBLOCKS, BLOCK_SIZE);
	T_CHECK(!ret, "arena: %s", strerror(-ret));
	ret = t_open_buffer(dev, &chr_fd, &buf_fd);
	T_CHECK(!ret, "buffer fd: %s", strerror(-ret));
	for (i = 0; i < NBLOCKS; i++)
		T_CHECK(!t_dmabuf_attach(buf_fd, arena.fds[i]), "attach %u", i);

	if (run_stream(dev, buf_fd, &arena, 64, -1))
		return 1;
	if (expect_counters(dev, 64ull * SCANS, 0))
		return 1;
	T_CHECK(!t_attr_read_u64(dev, "underruns", &underruns), "underruns");
	T_CHECK(underruns == 0, "unthrottled DAC underran: %" PRIu64, underruns);
	T_CHECK(!t_buffer_enable(dev, false), "disable");
	t_log("ok: 64 blocks, %llu samples consumed, no pattern error",
	      64ull * SCANS);

	/* Counters reset at enable; one flipped sample is one error. */
	if (run_stream(dev, buf_fd, &arena, 8, 5))
		return 1;
	if (expect_counters(dev, 8ull * SCANS, 1))
		return 1;
	T_CHECK(!t_buffer_enable(dev, false), "disable");
	t_log("ok: a deliberately wrong sample is counted once");

	close(buf_fd);
	close(chr_fd);
	t_arena_destroy(&arena);
	return 0;
}

static int test_cyclic(int dev)
{
	uint64_t c1, c2, errors, underruns, u1;
	struct t_arena arena;
	int chr_fd, buf_fd, ret, fence, status;

	T_CHECK(!t_attr_write(dev, "sampling_frequency", "1000000"), "sampling_frequency");
	T_CHECK(!t_set_channels(dev, true, NCHANS, 0xf), "channels");
	ret = t_arena_create(&arena, 2, CYCLIC_SIZE);
	T_CHECK(!ret, "arena: %s", strerror(-ret));
	ret = t_open_buffer(dev, &chr_fd, &buf_fd);
	T_CHECK(!ret, "buffer fd: %s", strerror(-ret));
	T_CHECK(!t_dmabuf_attach(buf_fd, arena.fds[0]), "attach");
	T_CHECK(!t_dmabuf_attach(buf_fd, arena.fds[1]), "attach");
	if (fill_block(&arena, 0, 0, -1) || fill_block(&arena, 1, 0, -1))
		return 1;

	/* Part 1: a cyclic block runs until the buffer is disabled. */
	T_CHECK(!t_dmabuf_enqueue(buf_fd, arena.fds[0], CYCLIC_SIZE, true), "enqueue");
	T_CHECK(!t_buffer_enable(dev, true), "enable");
	t_sleep_ms(600);
	T_CHECK(t_dmabuf_wait(arena.fds[0], 0) == 0, "cyclic fence signalled early");
	T_CHECK(!t_attr_read_u64(dev, "samples_consumed", &c1), "read");
	t_sleep_ms(300);
	T_CHECK(!t_attr_read_u64(dev, "samples_consumed", &c2), "read");
	T_CHECK(c2 > c1 && c2 > CYCLIC_SCANS, "cyclic block not repeated: %" PRIu64
		" then %" PRIu64, c1, c2);
	fence = t_dmabuf_export_fence(arena.fds[0]);
	T_CHECK(fence >= 0, "export fence: %s", strerror(-fence));
	T_CHECK(!t_buffer_enable(dev, false), "disable");
	T_CHECK(t_dmabuf_wait(arena.fds[0], 2000) == 1, "fence pending after disable");
	T_CHECK(!t_sync_file_status(fence, &status), "fence status");
	T_CHECK(status == -EINTR, "cyclic fence status %d, want -EINTR", status);
	close(fence);
	T_CHECK(!t_attr_read_u64(dev, "pattern_errors", &errors), "read");
	T_CHECK(errors == 0, "cyclic pattern errors: %" PRIu64, errors);
	/* Only a guest stalled for longer than the DAC's catch-up makes these. */
	T_CHECK(!t_attr_read_u64(dev, "underruns", &underruns), "read");
	t_log("ok: cyclic block consumed %" PRIu64 " samples until disabled"
	      " (%" PRIu64 " lost to guest stalls)", c2, underruns);

	/* Part 2: a newer block replaces it after its current pass. */
	T_CHECK(!t_dmabuf_enqueue(buf_fd, arena.fds[0], CYCLIC_SIZE, true), "enqueue");
	T_CHECK(!t_buffer_enable(dev, true), "enable");
	t_sleep_ms(200);
	fence = t_dmabuf_export_fence(arena.fds[0]);
	T_CHECK(fence >= 0, "export fence");
	T_CHECK(!t_dmabuf_enqueue(buf_fd, arena.fds[1], CYCLIC_SIZE, false), "enqueue");
	T_CHECK(t_dmabuf_wait(arena.fds[0], 5000) == 1, "replaced cyclic block pending");
	T_CHECK(t_dmabuf_wait(arena.fds[1], 5000) == 1, "block after cyclic pending");
	T_CHECK(!t_sync_file_status(fence, &status), "fence status");
	T_CHECK(status == 1, "replaced cyclic fence status %d, want 1", status);
	close(fence);
	/* Nothing queued now: the DAC runs dry and says so. */
	T_CHECK(!t_attr_read_u64(dev, "underruns", &u1), "read");
	t_sleep_ms(100);
	T_CHECK(!t_attr_read_u64(dev, "underruns", &underruns), "read");
	T_CHECK(underruns > u1, "no underruns counted while dry (%" PRIu64 ")", underruns);
	T_CHECK(!t_attr_read_u64(dev, "pattern_errors", &errors), "read");
	T_CHECK(errors == 0, "pattern errors after replacement: %" PRIu64, errors);
	T_CHECK(!t_buffer_enable(dev, false), "disable");
	t_log("ok: cyclic block replaced cleanly; %" PRIu64 " underruns while dry",
	      underruns);

	close(buf_fd);
	close(chr_fd);
	t_arena_destroy(&arena);
	return 0;
}

int main(void)
{
	int dev = t_find_device("dac0");

	if (dev < 0) {
		fprintf(stderr, "no iiofab-sim dac0: is iiofab_sim loaded?\n");
		return 1;
	}
	if (test_exact(dev) || test_cyclic(dev))
		return 1;
	t_attr_write(dev, "sampling_frequency", "1000000");
	return 0;
}
