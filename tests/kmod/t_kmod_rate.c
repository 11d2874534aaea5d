// SPDX-License-Identifier: MIT
/*
 * kmod.rate: at sampling_frequency 1000000 the simulated converters run at
 * 1 MS/s in real time, measured over 2 s as the least-squares slope of
 * samples against time. ADC: scans converted (delivered through DMABUF
 * blocks plus any dropped as overruns) at each freshly observed completion.
 * DAC: samples_consumed plus underruns at each fresh completion of the
 * blocks it drains. Both must be within 2 %. Lost samples are reported: a heavily
 * loaded host stalls the guest, and the converter then drops rather than
 * slows down.
 */
#include <inttypes.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "t_iio.h"

#define NCHANS		4
#define NBLOCKS		16
#define SCANS		32768
#define BLOCK_SIZE	(SCANS * 2 * NCHANS)
#define RATE		1000000.0
#define WINDOW_S	2.0
#define TOLERANCE	0.02

#define MAX_POINTS	1024

/* Least-squares slope of @c over @t: robust to the odd late wake-up. */
static double slope(const double *t, const double *c, unsigned int n)
{
	double mt = 0, mc = 0, num = 0, den = 0;
	unsigned int i;

	for (i = 0; i < n; i++) {
		mt += t[i] / n;
		mc += c[i] / n;
	}
	for (i = 0; i < n; i++) {
		num += (t[i] - mt) * (c[i] - mc);
		den += (t[i] - mt) * (t[i] - mt);
	}
	return den > 0 ? num / den : 0;
}

static int check_rate(const char *what, double rate)
{
	t_log("%s: %.0f S/s (%.2f %% off 1 MS/s)", what, rate,
	      100.0 * (rate / RATE - 1.0));
	T_CHECK(fabs(rate / RATE - 1.0) <= TOLERANCE, "%s rate %.0f S/s off by more than 2 %%",
		what, rate);
	return 0;
}

/*
 * Waits for block @fd; *fresh tells whether it completed while we waited,
 * so that its completion time is now and not some time in the past.
 */
static int wait_block(int fd, bool *fresh)
{
	int ret = t_dmabuf_wait(fd, 0);

	*fresh = ret == 0;
	if (ret == 0)
		ret = t_dmabuf_wait(fd, 2000);
	return ret;
}

/*
 * Every fresh completion gives a point (time, scans converted so far:
 * delivered plus dropped), with the counters current because the engine
 * has just run; the rate is the slope over 2 s of points. Stale completions
 * (found done after a guest stall) carry no usable time.
 */
static int adc_rate(int dev)
{
	static double pt[MAX_POINTS], pc[MAX_POINTS];
	uint64_t scans = 0, overruns = 0;
	struct t_stream st;
	int ret;
	unsigned int k, n = 0;
	bool fresh;

	T_CHECK(!t_attr_write(dev, "sampling_frequency", "1000000"), "sampling_frequency");
	T_CHECK(!t_set_channels(dev, false, NCHANS, 0xf), "channels");
	ret = t_stream_open(&st, dev, NBLOCKS, BLOCK_SIZE);
	T_CHECK(!ret, "arena, buffer fd, attach, enqueue: %s", strerror(-ret));
	T_CHECK(!t_buffer_enable(dev, true), "enable");
	for (k = 0; n < MAX_POINTS; k++) {
		int fd = st.arena.fds[k % NBLOCKS];
		double t;

		T_CHECK(wait_block(fd, &fresh) == 1, "block %u did not complete", k);
		t = t_now();
		scans += SCANS;
		if (fresh) {
			T_CHECK(!t_attr_read_u64(dev, "overruns", &overruns), "overruns");
			pt[n] = t;
			pc[n] = (double)(scans + overruns);
			n++;
			if (t - pt[0] >= WINDOW_S)
				break;
		}
		T_CHECK(!t_dmabuf_enqueue(st.buf_fd, fd, BLOCK_SIZE, false), "re-enqueue");
	}
	T_CHECK(!t_buffer_enable(dev, false), "disable");
	T_CHECK(n >= 10, "only %u timed completions", n);
	t_log("adc: %" PRIu64 " scans delivered, %" PRIu64 " dropped, %u points over %.3f s",
	      scans, overruns, n, pt[n - 1] - pt[0]);
	t_stream_close(&st);
	return check_rate("adc dmabuf", slope(pt, pc, n));
}

static int dac_rate(int dev)
{
	static double pt[MAX_POINTS], pc[MAX_POINTS];
	uint64_t consumed = 0, underruns = 0;
	struct t_stream st;
	int ret;
	unsigned int k, n = 0;
	bool fresh;

	T_CHECK(!t_attr_write(dev, "sampling_frequency", "1000000"), "sampling_frequency");
	T_CHECK(!t_set_channels(dev, true, NCHANS, 0xf), "channels");
	/* Contents do not matter here, only when each block is done. */
	ret = t_stream_open(&st, dev, NBLOCKS, BLOCK_SIZE);
	T_CHECK(!ret, "arena, buffer fd, attach, enqueue: %s", strerror(-ret));
	T_CHECK(!t_buffer_enable(dev, true), "enable");
	for (k = 0; n < MAX_POINTS; k++) {
		int fd = st.arena.fds[k % NBLOCKS];
		double t;

		T_CHECK(wait_block(fd, &fresh) == 1, "block %u did not complete", k);
		t = t_now();
		if (fresh) {
			T_CHECK(!t_attr_read_u64(dev, "samples_consumed", &consumed), "read");
			T_CHECK(!t_attr_read_u64(dev, "underruns", &underruns), "read");
			pt[n] = t;
			pc[n] = (double)(consumed + underruns);
			n++;
			if (t - pt[0] >= WINDOW_S)
				break;
		}
		T_CHECK(!t_dmabuf_enqueue(st.buf_fd, fd, BLOCK_SIZE, false), "re-enqueue");
	}
	T_CHECK(!t_buffer_enable(dev, false), "disable");
	T_CHECK(n >= 10, "only %u timed completions", n);
	t_log("dac: %" PRIu64 " scans consumed, %" PRIu64 " underruns, %u points over %.3f s",
	      consumed, underruns, n, pt[n - 1] - pt[0]);
	t_stream_close(&st);
	return check_rate("dac dmabuf", slope(pt, pc, n));
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
