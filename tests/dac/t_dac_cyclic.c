// SPDX-License-Identifier: MIT
/*
 * Cyclic DAC output through libiiofab: a one-block ramp keeps playing
 * (samples consumed keep growing, no pattern error, no underrun) for
 * seconds after its single submit; a second cyclic block (a falling ramp)
 * replaces it, the first comes back as a credit, the simulator starts
 * counting pattern errors and the switch costs no underrun.
 *   t_dac_cyclic URI KEYFILE
 */
#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <iiofab.h>

#define SCANS 65536	/* a whole ramp period: the block repeats seamlessly */
#define CHANNELS 4

static int fails, checks;

static void check(int ok, const char *fmt, ...)
{
	va_list ap;

	checks++;
	fails += !ok;
	printf("%s: ", ok ? "PASS" : "FAIL");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	fflush(stdout);
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static uint64_t counter(const struct iiofab_device *dev, const char *attr)
{
	char buf[64];

	if (iiofab_device_attr_read(dev, attr, buf, sizeof(buf)) < 0)
		return UINT64_MAX;
	return strtoull(buf, NULL, 10);
}

static void fill(void *data, int down)
{
	uint8_t *p = data;

	for (uint32_t n = 0; n < SCANS; n++) {
		for (uint32_t c = 0; c < CHANNELS; c++) {
			uint16_t v = (uint16_t)((down ? -n : n) + 4096 * c);

			*p++ = (uint8_t)v;
			*p++ = (uint8_t)(v >> 8);
		}
	}
}

/* Services the connection for s seconds (the waveform repeats meanwhile). */
static int idle(struct iiofab_stream *s, double secs)
{
	double end = now_s() + secs;
	void *data;

	while (now_s() < end) {
		int ret = iiofab_stream_get_free(s, 100, &data);

		if (ret >= 0)
			return ret;	/* a credit while nothing should come back */
		if (ret != -ETIMEDOUT && ret != -EAGAIN)
			return ret;
	}
	return -ETIMEDOUT;
}

static void log_cb(void *user, enum iiofab_log_level level, const char *msg)
{
	fprintf(stderr, "libiiofab: %d: %s\n", level, msg);
}

int main(int argc, char **argv)
{
	struct iiofab_params p = { .log_fn = log_cb, .log_level = IIOFAB_LOG_WARNING };
	uint8_t key[256];
	struct iiofab_ctx *ctx;
	const struct iiofab_device *dev;
	struct iiofab_stream *s;
	struct iiofab_stream_stats st;
	uint64_t c0, c1, c2, e0, e1, e2, u0;
	void *a, *b;
	int ba, bb, ret;
	double t_submit;
	FILE *f;

	if (argc != 3) {
		fprintf(stderr, "usage: t_dac_cyclic URI KEYFILE\n");
		return 2;
	}
	f = fopen(argv[2], "rb");
	if (!f)
		return 1;
	p.psk_len = fread(key, 1, sizeof(key), f);
	fclose(f);
	if (p.psk_len && key[p.psk_len - 1] == '\n')
		p.psk_len--;
	p.psk = key;
	ret = iiofab_connect(argv[1], &p, &ctx);
	if (ret) {
		fprintf(stderr, "connect: %s\n", iiofab_strerror(ret));
		return 1;
	}
	dev = iiofab_ctx_find_device(ctx, "iiofab-sim-dac");
	check(dev != NULL, "the simulated DAC is listed");
	if (!dev)
		goto out;
	check(iiofab_device_attr_write(dev, "sampling_frequency", "1000000") == 0,
	      "DAC at 1 MS/s");
	ret = iiofab_stream_open_output(ctx, dev, NULL, SCANS * CHANNELS * 2, 2, &s);
	check(ret == 0, "open a 2-block output stream (%s)", iiofab_strerror(ret));
	if (ret)
		goto out;
	check(iiofab_stream_start(s) == 0, "start");
	ba = iiofab_stream_get_free(s, -1, &a);
	bb = iiofab_stream_get_free(s, -1, &b);
	check(ba >= 0 && bb >= 0 && ba != bb, "two credits (%d, %d)", ba, bb);
	if (ba < 0 || bb < 0)
		goto out_close;
	fill(a, 0);
	fill(b, 1);
	ret = iiofab_stream_submit(s, ba, SCANS * CHANNELS * 2, IIOFAB_SUBMIT_CYCLIC);
	t_submit = now_s();
	check(ret == 0, "submit one rising ramp block as cyclic");

	ret = idle(s, 1.5);
	c0 = counter(dev, "samples_consumed");
	check(ret == -ETIMEDOUT, "no credit comes back while it repeats (%d)", ret);
	ret = idle(s, 1.0);
	c1 = counter(dev, "samples_consumed");
	e1 = counter(dev, "pattern_errors");
	u0 = counter(dev, "underruns");
	printf("FIGURE: %.2f s after the submit: %llu samples consumed (%llu in the last second)\n",
	       now_s() - t_submit, (unsigned long long)c1, (unsigned long long)(c1 - c0));
	check(ret == -ETIMEDOUT && now_s() - t_submit >= 2.0 && c1 > c0 && c1 > 2 * SCANS,
	      "still playing %.1f s after the submit: %llu > %llu samples consumed",
	      now_s() - t_submit, (unsigned long long)c1, (unsigned long long)c0);
	check(e1 == 0 && u0 == 0, "the repeated ramp is seamless: %llu pattern errors, "
	      "%llu underruns", (unsigned long long)e1, (unsigned long long)u0);

	ret = iiofab_stream_submit(s, bb, SCANS * CHANNELS * 2, IIOFAB_SUBMIT_CYCLIC);
	check(ret == 0, "submit a falling ramp block as cyclic");
	ret = iiofab_stream_get_free(s, 5000, &a);
	check(ret == ba, "the rising ramp block comes back once replaced (%d)", ret);
	e0 = counter(dev, "pattern_errors");
	(void)idle(s, 1.0);
	c2 = counter(dev, "samples_consumed");
	e2 = counter(dev, "pattern_errors");
	check(e2 > e0 && e2 > SCANS / 2, "the pattern switched: pattern errors %llu -> %llu",
	      (unsigned long long)e0, (unsigned long long)e2);
	check(c2 > c1, "the converter keeps consuming after the switch (%llu -> %llu)",
	      (unsigned long long)c1, (unsigned long long)c2);
	check(counter(dev, "underruns") == 0, "the switch cost no underrun");
	iiofab_stream_stats(s, &st);
	check(st.underruns == 0 && st.blocks == 2,
	      "stream stats: 2 blocks submitted, %llu underruns reported",
	      (unsigned long long)st.underruns);
out_close:
	iiofab_stream_close(s);
out:
	iiofab_disconnect(ctx);
	printf("%d of %d cyclic checks passed\n", checks - fails, checks);
	return fails != 0;
}
