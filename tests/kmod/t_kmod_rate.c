// SPDX-License-Identifier: MIT
/*
 * kmod.rate: at sampling_frequency 1000000 the simulated converters run at
 * 1 MS/s in real time. ADC: scans delivered through DMABUF blocks between
 * the first and the last completion seen over 2 s. DAC: samples_consumed
 * over 2 s of a cyclic block. Both must be within 2 %.
 */
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "t_iio.h"

#define NCHANS		4
#define NBLOCKS		8
#define SCANS		16384
#define BLOCK_SIZE	(SCANS * 2 * NCHANS)
#define RATE		1000000.0
#define WINDOW_S	2.0
#define TOLERANCE	0.02

static int check_rate(const char *what, double rate)
{
	t_log("%s: %.0f S/s (%.2f %% off 1 MS/s)", what, rate,
	      100.0 * (rate / RATE - 1.0));
	T_CHECK(fabs(rate / RATE - 1.0) <= TOLERANCE, "%s rate %.0f S/s off by more than 2 %%",
		what, rate);
	return 0;
}

static int adc_rate(int dev)
{
	uint64_t scans = 0, overruns;
	struct t_arena arena;
	int chr_fd, buf_fd, ret;
	unsigned int i, k;
	double t0 = 0, t = 0;

	T_CHECK(!t_attr_write(dev, "sampling_frequency", "1000000"), "sampling_frequency");
	T_CHECK(!t_set_channels(dev, false, NCHANS, 0xf), "channels");
	ret = t_arena_create(&arena, NBLOCKS, BLOCK_SIZE);
	T_CHECK(!ret, "arena: %s", strerror(-ret));
	ret = t_open_buffer(dev, &chr_fd, &buf_fd);
	T_CHECK(!ret, "buffer fd: %s", strerror(-ret));
	for (i = 0; i < NBLOCKS; i++) {
		T_CHECK(!t_dmabuf_attach(buf_fd, arena.fds[i]), "attach");
		T_CHECK(!t_dmabuf_enqueue(buf_fd, arena.fds[i], BLOCK_SIZE, false), "enqueue");
	}
	T_CHECK(!t_buffer_enable(dev, true), "enable");
	for (k = 0;; k++) {
		int fd = arena.fds[k % NBLOCKS];

		T_CHECK(t_dmabuf_wait(fd, 2000) == 1, "block %u did not complete", k);
		t = t_now();
		if (k == 0)
			t0 = t;
		else
			scans += SCANS;
		if (t - t0 >= WINDOW_S)
			break;
		T_CHECK(!t_dmabuf_enqueue(buf_fd, fd, BLOCK_SIZE, false), "re-enqueue");
	}
	T_CHECK(!t_buffer_enable(dev, false), "disable");
	T_CHECK(!t_attr_read_u64(dev, "overruns", &overruns), "overruns");
	t_log("adc: %" PRIu64 " scans in %.3f s, %" PRIu64 " overruns", scans, t - t0, overruns);
	close(buf_fd);
	close(chr_fd);
	t_arena_destroy(&arena);
	return check_rate("adc dmabuf", scans / (t - t0));
}

static int dac_rate(int dev)
{
	static const unsigned int chans[NCHANS] = { 0, 1, 2, 3 };
	uint64_t c0, c1, errors;
	struct t_arena arena;
	int chr_fd, buf_fd, ret;
	double t0, t1;

	T_CHECK(!t_attr_write(dev, "sampling_frequency", "1000000"), "sampling_frequency");
	T_CHECK(!t_set_channels(dev, true, NCHANS, 0xf), "channels");
	/* 65536 scans wrap the ramp exactly, so cycling stays on pattern. */
	ret = t_arena_create(&arena, 1, 65536 * 2 * NCHANS);
	T_CHECK(!ret, "arena: %s", strerror(-ret));
	ret = t_open_buffer(dev, &chr_fd, &buf_fd);
	T_CHECK(!ret, "buffer fd: %s", strerror(-ret));
	T_CHECK(!t_dmabuf_attach(buf_fd, arena.fds[0]), "attach");
	t_ramp_fill(t_arena_block(&arena, 0), 65536, 0, chans, NCHANS);
	T_CHECK(!t_dmabuf_enqueue(buf_fd, arena.fds[0], arena.block_size, true), "enqueue");
	T_CHECK(!t_buffer_enable(dev, true), "enable");
	t_sleep_ms(200);
	T_CHECK(!t_attr_read_u64(dev, "samples_consumed", &c0), "read");
	t0 = t_now();
	t_sleep_ms((unsigned int)(WINDOW_S * 1000));
	T_CHECK(!t_attr_read_u64(dev, "samples_consumed", &c1), "read");
	t1 = t_now();
	T_CHECK(!t_attr_read_u64(dev, "pattern_errors", &errors), "read");
	T_CHECK(!t_buffer_enable(dev, false), "disable");
	T_CHECK(errors == 0, "dac pattern errors: %" PRIu64, errors);
	close(buf_fd);
	close(chr_fd);
	t_arena_destroy(&arena);
	return check_rate("dac cyclic", (c1 - c0) / (t1 - t0));
}

int main(void)
{
	int adc = t_find_device("adc0"), dac = t_find_device("dac0");

	if (adc < 0 || dac < 0) {
		fprintf(stderr, "no iiofab-sim adc0/dac0: is iiofab_sim loaded?\n");
		return 1;
	}
	return adc_rate(adc) || dac_rate(dac);
}
