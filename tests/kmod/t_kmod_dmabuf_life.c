// SPDX-License-Identifier: MIT
/*
 * kmod.lifecycle: DMABUFs leaving the simulated ADC/DAC the hard ways.
 *   detach-queued   detach while queued: the blocks still complete once
 *                   enabled, a detached block cannot be enqueued, and the
 *                   module's DMABUF references all go away
 *   disable-queued  disable while queued: every fence ends with -EINTR and
 *                   nothing waits forever
 *   hold LABEL      attach and enqueue (cyclic on a DAC), enable, close the
 *                   chardev, print READY and sleep; the caller unloads the
 *                   module around it and kills it
 */
#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "t_iio.h"

#define NCHANS		4
#define NBLOCKS		4
#define BLOCK_SIZE	(64 * 1024)

static int module_refcnt(uint64_t *refcnt)
{
	FILE *f = fopen("/sys/module/iiofab_sim/refcnt", "re");
	int ok;

	if (!f)
		return -errno;
	ok = fscanf(f, "%" SCNu64, refcnt) == 1;
	fclose(f);
	return ok ? 0 : -EINVAL;
}

/* The module holds one reference per attached DMABUF; wait for none. */
static int expect_refcnt(uint64_t want)
{
	uint64_t refcnt = ~0ull;
	int i;

	for (i = 0; i < 100; i++) {
		T_CHECK(!module_refcnt(&refcnt), "read refcnt");
		if (refcnt == want)
			return 0;
		t_sleep_ms(20);
	}
	T_CHECK(refcnt == want, "module refcnt %" PRIu64 ", want %" PRIu64, refcnt, want);
	return 0;
}

static int setup(int dev, bool output, const char *rate, struct t_arena *arena,
		 int *chr_fd, int *buf_fd)
{
	unsigned int i;
	int ret;

	T_CHECK(!t_attr_write(dev, "sampling_frequency", rate), "sampling_frequency");
	T_CHECK(!t_set_channels(dev, output, NCHANS, 0xf), "channels");
	ret = t_arena_create(arena, NBLOCKS, BLOCK_SIZE);
	T_CHECK(!ret, "arena: %s", strerror(-ret));
	ret = t_open_buffer(dev, chr_fd, buf_fd);
	T_CHECK(!ret, "buffer fd: %s", strerror(-ret));
	for (i = 0; i < NBLOCKS; i++) {
		ret = t_dmabuf_attach(*buf_fd, arena->fds[i]);
		T_CHECK(!ret, "attach %u: %s", i, strerror(-ret));
	}
	return 0;
}

/*
 * Completion is observed with poll() and the data, never with the fence's
 * status: on 6.12 a fence's spinlock lives in the core's per-attachment
 * state, which is freed once a detached DMABUF's last fence is released, so
 * SYNC_IOC_FILE_INFO on an exported fence after that is a use-after-free.
 */
static int test_detach_queued(int dev)
{
	static const unsigned int chans[NCHANS] = { 0, 1, 2, 3 };
	const uint64_t scans = BLOCK_SIZE / (2 * NCHANS);
	int chr_fd, buf_fd, ret;
	struct t_arena arena;
	uint64_t base;
	unsigned int i;

	T_CHECK(!module_refcnt(&base), "refcnt");
	if (setup(dev, false, "0", &arena, &chr_fd, &buf_fd))
		return 1;
	for (i = 0; i < NBLOCKS; i++) {
		ret = t_dmabuf_enqueue(buf_fd, arena.fds[i], BLOCK_SIZE, false);
		T_CHECK(!ret, "enqueue %u: %s", i, strerror(-ret));
		ret = t_dmabuf_detach(buf_fd, arena.fds[i]);
		T_CHECK(!ret, "detach queued %u: %s", i, strerror(-ret));
	}
	ret = t_dmabuf_enqueue(buf_fd, arena.fds[0], BLOCK_SIZE, false);
	T_CHECK(ret == -EPERM, "enqueue after detach: %d, want -EPERM", ret);

	T_CHECK(!t_buffer_enable(dev, true), "enable");
	for (i = 0; i < NBLOCKS; i++) {
		T_CHECK(t_dmabuf_wait(arena.fds[i], 10000) == 1, "detached block %u pending", i);
		T_CHECK(!t_ramp_check(t_arena_block(&arena, i), scans, i * scans,
				      chans, NCHANS), "detached block %u data", i);
	}
	T_CHECK(!t_buffer_enable(dev, false), "disable");
	if (expect_refcnt(base + 1))	/* + the chardev still open */
		return 1;
	close(buf_fd);
	close(chr_fd);
	t_arena_destroy(&arena);
	if (expect_refcnt(base))
		return 1;
	t_log("ok: detach while queued: blocks completed with data, no reference left");
	return 0;
}

static int test_disable_queued(int dev, bool output)
{
	int chr_fd, buf_fd, ret, fences[NBLOCKS], status;
	struct t_arena arena;
	unsigned int i;
	double t0;

	/* Slow enough that no block can complete before the disable. */
	if (setup(dev, output, "1000", &arena, &chr_fd, &buf_fd))
		return 1;
	for (i = 0; i < NBLOCKS; i++) {
		ret = t_dmabuf_enqueue(buf_fd, arena.fds[i], BLOCK_SIZE, false);
		T_CHECK(!ret, "enqueue %u: %s", i, strerror(-ret));
		fences[i] = t_dmabuf_export_fence(arena.fds[i]);
		T_CHECK(fences[i] >= 0, "export fence");
	}
	T_CHECK(!t_buffer_enable(dev, true), "enable");
	t_sleep_ms(50);
	T_CHECK(t_dmabuf_wait(arena.fds[0], 0) == 0, "block done too early");
	t0 = t_now();
	T_CHECK(!t_buffer_enable(dev, false), "disable");
	for (i = 0; i < NBLOCKS; i++) {
		T_CHECK(t_dmabuf_wait(arena.fds[i], 5000) == 1, "block %u hangs after disable", i);
		/* A blocking CPU sync must return now too. */
		T_CHECK(!t_dmabuf_sync(arena.fds[i], true, false), "sync start");
		T_CHECK(!t_dmabuf_sync(arena.fds[i], false, false), "sync end");
		T_CHECK(!t_sync_file_status(fences[i], &status), "status");
		T_CHECK(status == -EINTR, "block %u status %d, want -EINTR", i, status);
		close(fences[i]);
	}
	close(buf_fd);
	close(chr_fd);
	t_arena_destroy(&arena);
	t_log("ok: %s disable while queued: %d fences ended with -EINTR in %.3f s",
	      output ? "DAC" : "ADC", NBLOCKS, t_now() - t0);
	return 0;
}

static int hold(const char *label)
{
	bool output = !strncmp(label, "dac", 3);
	struct t_arena arena;
	int dev, chr_fd, buf_fd, ret;
	unsigned int i;

	dev = t_find_device(label);
	T_CHECK(dev >= 0, "no device %s", label);
	if (setup(dev, output, "1000000", &arena, &chr_fd, &buf_fd))
		return 1;
	for (i = 0; i < NBLOCKS; i++) {
		if (output)
			t_ramp_fill(t_arena_block(&arena, i), BLOCK_SIZE / (2 * NCHANS), 0,
				    (const unsigned int[]){ 0, 1, 2, 3 }, NCHANS);
		ret = t_dmabuf_enqueue(buf_fd, arena.fds[i], BLOCK_SIZE, output && i == 3);
		T_CHECK(!ret, "enqueue %u: %s", i, strerror(-ret));
	}
	/* Only the DMABUFs may keep the module now. */
	close(chr_fd);
	T_CHECK(!t_buffer_enable(dev, true), "enable");
	t_log("READY");
	for (;;)
		pause();
	return 0;
}

int main(int argc, char **argv)
{
	int adc, dac;

	if (argc == 3 && !strcmp(argv[1], "hold"))
		return hold(argv[2]);

	adc = t_find_device("adc0");
	dac = t_find_device("dac0");
	if (adc < 0 || dac < 0) {
		fprintf(stderr, "no iiofab-sim adc0/dac0: is iiofab_sim loaded?\n");
		return 1;
	}
	if (argc == 2 && !strcmp(argv[1], "detach-queued"))
		return test_detach_queued(adc);
	if (argc == 2 && !strcmp(argv[1], "disable-queued"))
		return test_disable_queued(adc, false) || test_disable_queued(dac, true);
	fprintf(stderr, "usage: %s detach-queued|disable-queued|hold LABEL\n", argv[0]);
	return 2;
}
