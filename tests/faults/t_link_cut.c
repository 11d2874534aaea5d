// SPDX-License-Identifier: MIT
/*
 * t_link_cut URI KEYFILE adc|dac|both OP_TIMEOUT_MS CUT_COMMAND
 *
 * Streams from (adc) or to (dac) the simulator, or both on two connections,
 * runs CUT_COMMAND (which cuts this host off: nothing gets through any more,
 * and nothing says so), then calls into the stream(s) and the context(s)
 * and times every call: each must return an error, and within its timeout
 * (the op timeout of the server's silence for the first, at once after it;
 * plus a second of slack for an emulated host). Prints one line per call
 * ("next: Connection timed out after 3004 ms, bound 4000 ms") and exits 0
 * when every call kept its bound.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <iiofab.h>
#include <iiofab/auth.h>
#include <iiofab/clock.h>

#define SLACK_MS 1000
#define RXE_TEARDOWN_MS (2 * 800)
#define BLOCK (64 * 1024)
#define BLOCKS 8

struct t_run {
	unsigned int op_ms;
	int failures;
};

/* A call's result against its bound; want_error: it must fail. */
static void t_judge(struct t_run *r, const char *what, int ret, int64_t ms, int64_t bound,
		    int want_error)
{
	int ok = ms <= bound && (!want_error || ret < 0);

	printf("%s: %s after %lld ms, bound %lld ms%s\n", what,
	       ret < 0 ? iiofab_strerror(ret) : "ok", (long long)ms, (long long)bound,
	       ok ? "" : "  <-- FAIL");
	r->failures += !ok;
}

static void t_log(void *arg, enum iiofab_log_level level, const char *msg)
{
	fprintf(stderr, "libiiofab: %s\n", msg);
}

static int t_connect(const char *uri, const char *keyfile, unsigned int op_ms,
		     struct iiofab_ctx **ctx)
{
	struct iiofab_key key;
	struct iiofab_params p = {
		.op_timeout_ms = op_ms, .log_fn = t_log, .log_level = IIOFAB_LOG_WARNING,
		.client_name = "t_link_cut",
	};
	int ret = iiofab_key_read(keyfile, &key, NULL);

	if (ret)
		return ret;
	p.psk = key.bytes;
	p.psk_len = key.len;
	ret = iiofab_connect(uri, &p, ctx);
	iiofab_key_wipe(&key);
	return ret;
}

static int t_adc_stream(struct iiofab_ctx *ctx, struct iiofab_stream **s)
{
	const struct iiofab_device *dev = iiofab_ctx_find_device(ctx, "iiofab-sim-adc");
	struct iiofab_block *b;
	int ret;

	ret = iiofab_stream_open(ctx, dev, NULL, BLOCK, BLOCKS, s);
	if (!ret)
		ret = iiofab_stream_start(*s);
	for (int i = 0; !ret && i < 20; i++) {
		ret = iiofab_stream_next(*s, -1, &b);
		if (!ret)
			ret = iiofab_block_release(*s, b);
	}
	return ret;
}

static int t_dac_stream(struct iiofab_ctx *ctx, struct iiofab_stream **s)
{
	const struct iiofab_device *dev = iiofab_ctx_find_device(ctx, "iiofab-sim-dac");
	void *data;
	int ret, blk;

	ret = iiofab_stream_open_output(ctx, dev, NULL, BLOCK, BLOCKS, s);
	if (!ret)
		ret = iiofab_stream_start(*s);
	for (int i = 0; !ret && i < 3 * BLOCKS; i++) {
		blk = iiofab_stream_get_free(*s, -1, &data);
		ret = blk < 0 ? blk : 0;
		if (!ret) {
			memset(data, 0, BLOCK);
			ret = iiofab_stream_submit(*s, blk, BLOCK, 0);
		}
	}
	return ret;
}

/* After the cut: blocks that had landed may still come, then nothing. */
static void t_adc_calls(struct t_run *r, struct iiofab_ctx *ctx, struct iiofab_stream *s)
{
	const struct iiofab_device *dev = iiofab_ctx_find_device(ctx, "iiofab-sim-adc");
	struct iiofab_block *b;
	char buf[64];
	int64_t t0;
	int ret;

	while (iiofab_stream_next(s, 0, &b) == 0)
		iiofab_block_release(s, b);
	/* The op timeout of silence: the server is then gone for every call. */
	t0 = iiofab_now_ms();
	ret = iiofab_stream_next(s, -1, &b);
	t_judge(r, "next", ret, iiofab_now_ms() - t0, r->op_ms + SLACK_MS, 1);
	t0 = iiofab_now_ms();
	ret = iiofab_device_attr_read(dev, "sampling_frequency", buf, sizeof(buf));
	t_judge(r, "attribute read", ret, iiofab_now_ms() - t0, r->op_ms + SLACK_MS, 1);
}

static void t_dac_calls(struct t_run *r, struct iiofab_stream *s)
{
	int held = -1;
	void *data;
	int64_t t0;
	int ret;

	/* Credits granted before the cut are still good: spend them, but for
	 * one block kept to submit once the connection is known dead. */
	while ((ret = iiofab_stream_get_free(s, 0, &data)) >= 0) {
		if (held < 0)
			held = ret;
		else
			(void)iiofab_stream_submit(s, ret, BLOCK, 0);
	}
	t0 = iiofab_now_ms();
	ret = iiofab_stream_get_free(s, -1, &data);
	t_judge(r, "get_free", ret, iiofab_now_ms() - t0, r->op_ms + SLACK_MS, 1);
	t0 = iiofab_now_ms();
	ret = iiofab_stream_drain(s, -1);
	t_judge(r, "drain", ret, iiofab_now_ms() - t0, r->op_ms + SLACK_MS, 1);
	t0 = iiofab_now_ms();
	ret = held < 0 ? -ENOENT : iiofab_stream_submit(s, held, BLOCK, 0);
	t_judge(r, "submit", ret, iiofab_now_ms() - t0, SLACK_MS, 1);
}

struct t_side {
	const char *name;
	struct iiofab_ctx *ctx;
	struct iiofab_stream *s;
};

static int t_open(struct t_side *d, const char *uri, const char *key, unsigned int op_ms)
{
	int ret = t_connect(uri, key, op_ms, &d->ctx);

	if (!ret)
		ret = !strcmp(d->name, "adc") ? t_adc_stream(d->ctx, &d->s) : t_dac_stream(d->ctx, &d->s);
	if (ret)
		fprintf(stderr, "t_link_cut: %s: cannot stream before the cut: %s\n", d->name,
			iiofab_strerror(ret));
	return ret;
}

/* Close: a STOP and a CLOSE round trip at most, then the flush. Disconnect
 * waits for no confirmation from a server gone silent; what it may take is
 * the kernel's teardown: rxe waits up to 200 jiffies (0.8 s at the guest's
 * HZ=250) for each verbs object that a packet still being retransmitted
 * references, the QP and the MR it targets. */
static void t_close(struct t_run *r, struct t_side *d)
{
	char what[32];
	int64_t t0 = iiofab_now_ms();

	iiofab_stream_close(d->s);
	snprintf(what, sizeof(what), "%s close", d->name);
	t_judge(r, what, 0, iiofab_now_ms() - t0, 2 * r->op_ms + 1000 + SLACK_MS, 0);
	t0 = iiofab_now_ms();
	iiofab_disconnect(d->ctx);
	snprintf(what, sizeof(what), "%s disconnect", d->name);
	t_judge(r, what, 0, iiofab_now_ms() - t0, RXE_TEARDOWN_MS + SLACK_MS, 0);
}

int main(int argc, char **argv)
{
	struct t_side sides[2] = { { .name = "adc" }, { .name = "dac" } };
	struct t_run r = { 0 };
	unsigned int first, last;
	int ret = 0;

	if (argc != 6 || (strcmp(argv[3], "adc") && strcmp(argv[3], "dac") &&
			  strcmp(argv[3], "both"))) {
		fprintf(stderr, "usage: t_link_cut URI KEYFILE adc|dac|both OP_TIMEOUT_MS "
			"CUT_COMMAND\n");
		return 2;
	}
	first = !strcmp(argv[3], "dac");
	last = !strcmp(argv[3], "adc") ? 0 : 1;
	r.op_ms = (unsigned int)atoi(argv[4]);
	for (unsigned int i = first; !ret && i <= last; i++)
		ret = t_open(&sides[i], argv[1], argv[2], r.op_ms);
	if (ret) {
		for (unsigned int i = first; i <= last; i++) {
			iiofab_stream_close(sides[i].s);
			iiofab_disconnect(sides[i].ctx);
		}
		return 1;
	}
	printf("streaming; cutting the link: %s\n", argv[5]);
	fflush(stdout);
	if (system(argv[5]) != 0)
		fprintf(stderr, "t_link_cut: the cut command failed\n");
	if (first == 0)
		t_adc_calls(&r, sides[0].ctx, sides[0].s);
	if (last == 1)
		t_dac_calls(&r, sides[1].s);
	for (unsigned int i = first; i <= last; i++)
		t_close(&r, &sides[i]);
	printf("%d call(s) out of bounds\n", r.failures);
	return r.failures ? 1 : 0;
}
