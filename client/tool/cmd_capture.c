// SPDX-License-Identifier: MIT
/* iiofab capture: ADC samples, raw, to a file or standard output. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <iiofab/clock.h>

#include "tool.h"

struct capture {
	const struct tool_opts *o;
	struct tool_session s;
	struct tool_wait w;
	struct tool_verifier v;
	struct tool_progress pr;
	int fd;
	FILE *block_log;	/* --block-log */
	size_t scan_bytes;
	uint64_t end_ns;	/* end of a --seconds capture, else UINT64_MAX */
	uint64_t samples;
	uint64_t bytes;
	uint64_t lost;
	uint64_t t0_ns;		/* the stream started; 0: it did not */
};

static int write_all(int fd, const void *buf, size_t len)
{
	const uint8_t *p = buf;

	while (len) {
		ssize_t n = write(fd, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/*
 * Checks and writes one block (up to --samples), holds it for --delay-ms,
 * gives it back: 0, -EINTR when a signal cut the delay short (the block
 * was written), or -errno after saying why.
 */
static int capture_take(struct capture *c, struct iiofab_block *b)
{
	const struct tool_opts *o = c->o;
	uint64_t take = b->samples;
	int ret, slept = 0;

	c->lost += b->lost_samples;
	if (o->verify)
		tool_verify_block(&c->v, b);
	/* Before the release: a host killed after it has not lost the line. */
	if (c->block_log) {
		fprintf(c->block_log, "%" PRIu64 " %" PRIu64 " %zu %" PRIu64 " %d\n", b->seq,
			b->first_sample, b->samples, b->lost_samples, b->redelivered);
		fflush(c->block_log);
	}
	if (o->samples && take > o->samples - c->samples)
		take = o->samples - c->samples;
	ret = write_all(c->fd, b->data, (size_t)(take * c->scan_bytes));
	if (!ret && o->delay_ms)
		slept = tool_wait_sleep(&c->w, o->delay_ms);
	iiofab_block_release(c->s.stream, b);
	if (ret) {
		tool_progress_break(&c->pr);
		tool_err("cannot write %s: %s", o->output, strerror(-ret));
		return ret;
	}
	c->samples += take;
	c->bytes += take * c->scan_bytes;
	return slept;
}

/* Takes blocks until --samples or --seconds: 0, -EINTR or -errno. */
static int capture_loop(struct capture *c)
{
	const struct tool_opts *o = c->o;

	for (;;) {
		struct iiofab_block *b;
		int ret;

		if (o->samples && c->samples >= o->samples)
			return 0;
		if (iiofab_now_ns() >= c->end_ns)
			return 0;
		ret = tool_wait_block(&c->w, c->s.stream, c->end_ns, &b);
		if (ret == -EAGAIN)
			continue;	/* the loop head ends the capture */
		if (ret == -EINTR)
			return ret;
		if (ret) {
			tool_progress_break(&c->pr);
			tool_err("capture stopped: %s", iiofab_strerror(ret));
			return ret;
		}
		tool_session_landed(&c->s, b);
		ret = capture_take(c, b);
		if (ret)
			return ret;
		tool_progress_show(&c->pr, c->samples, c->bytes, c->lost, "lost", false);
	}
}

/* Session, stream, verifier and output file: 0 or -errno (reported). */
static int capture_open(struct capture *c)
{
	const struct tool_opts *o = c->o;
	int ret;

	ret = tool_session_open(&c->s, o, false);
	if (ret)
		return ret;
	ret = tool_session_stream(&c->s, o, false, o->block_size, o->blocks);
	if (ret)
		return ret;
	c->scan_bytes = iiofab_stream_get_scan_bytes(c->s.stream);
	if (o->verify && tool_verify_init(&c->v, o->verify, c->s.stream)) {
		tool_err("--verify: a sample format this pattern does not use");
		return -EINVAL;
	}
	if (o->block_log) {
		c->block_log = fopen(o->block_log, "we");
		if (!c->block_log) {
			ret = -errno;
			tool_err("cannot create %s: %s", o->block_log, strerror(-ret));
			return ret;
		}
	}
	if (!strcmp(o->output, "-")) {
		c->fd = STDOUT_FILENO;
		return 0;
	}
	c->fd = open(o->output, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (c->fd < 0) {
		ret = -errno;
		tool_err("cannot create %s: %s", o->output, strerror(-ret));
		return ret;
	}
	return 0;
}

/* Starts the stream and captures: the exit status so far. */
static int capture_stream(struct capture *c)
{
	int ret;

	ret = tool_wait_open(&c->w, c->o);
	if (ret) {
		tool_err("cannot watch for signals: %s", strerror(-ret));
		return TOOL_EXIT_FAIL;
	}
	tool_progress_init(&c->pr, c->o);
	if (tool_session_start(&c->s))
		return TOOL_EXIT_FAIL;
	tool_wait_attach(&c->w, c->s.stream);
	c->t0_ns = iiofab_now_ns();
	c->end_ns = c->o->seconds > 0 ?
		c->t0_ns + (uint64_t)(c->o->seconds * 1e9) : UINT64_MAX;
	tool_progress_start(&c->pr);
	ret = capture_loop(c);
	tool_progress_show(&c->pr, c->samples, c->bytes, c->lost, "lost", true);
	if (ret == -EINTR)
		tool_err("interrupted; the samples captured so far were written");
	if (c->o->verbosity > 0) {
		tool_print_input_stats(c->s.stream);
		tool_print_startup(&c->s);
	}
	return ret ? TOOL_EXIT_FAIL : TOOL_EXIT_OK;
}

/* Closes everything; the status, made 1 when the output's close failed. */
static int capture_close(struct capture *c, int status)
{
	if (c->fd >= 0 && c->fd != STDOUT_FILENO && close(c->fd)) {
		tool_err("cannot write %s: %s", c->o->output, strerror(errno));
		status = TOOL_EXIT_FAIL;
	}
	c->fd = -1;
	if (c->block_log && fclose(c->block_log)) {
		tool_err("cannot write %s: %s", c->o->block_log, strerror(errno));
		status = TOOL_EXIT_FAIL;
	}
	c->block_log = NULL;
	tool_session_close(&c->s);
	tool_wait_close(&c->w);
	return status;
}

/* The summary lines, last, after anything the teardown logged. */
static int capture_report(const struct capture *c, uint64_t stop_ns, int status)
{
	double elapsed = (double)(stop_ns - c->t0_ns) / 1e9;

	if (c->o->verify && !tool_verify_report(&c->v))
		status = TOOL_EXIT_FAIL;
	fprintf(stderr, "captured %" PRIu64 " samples (%" PRIu64 " bytes) in "
		"%.2f s, %.2f MB/s, %" PRIu64 " lost\n", c->samples, c->bytes,
		elapsed, elapsed > 0 ? (double)c->bytes / elapsed / 1e6 : 0.0,
		c->lost);
	return status;
}

static int run_capture(const struct tool_opts *o)
{
	struct capture c = { .o = o, .fd = -1, .w = TOOL_WAIT_INIT };
	uint64_t stop_ns;
	int status = TOOL_EXIT_FAIL;

	if (o->nargs != 2)
		return tool_usage("%s", "capture takes URI DEVICE");
	if (!o->output)
		return tool_usage("%s", "capture needs -o FILE (or -o - for stdout)");
	if (!o->samples == !(o->seconds > 0))
		return tool_usage("%s", "capture needs exactly one of --samples and --seconds");
	if (!capture_open(&c))
		status = capture_stream(&c);
	stop_ns = iiofab_now_ns();
	status = capture_close(&c, status);
	if (c.t0_ns)
		status = capture_report(&c, stop_ns, status);
	return status;
}

static const struct tool_cmd_opt capture_opts[] = {
	{ TOOL_OPT_CHANNELS, "comma-separated input channel ids or names "
	  "(default: every scannable input channel)" },
	{ TOOL_OPT_SAMPLES, NULL },
	{ TOOL_OPT_SECONDS, NULL },
	{ TOOL_OPT_BLOCK_SIZE, "bytes per block, a multiple of the page size and "
	  "of the scan size (suffixes K, M: 1024^n; default 1M); a stream joined "
	  "(--mode fanout or shard) keeps its own size and count" },
	{ TOOL_OPT_BLOCKS, NULL },
	{ TOOL_OPT_MODE, "how hosts share the ADC stream. exclusive: this host "
	  "alone (a second open is refused). fanout: every host that opens the "
	  "device with the same channels and mode gets every block from its "
	  "start on, and a slow host loses blocks alone. shard: each block goes "
	  "to exactly one such host, one with room, so a slower host gets fewer "
	  "blocks; the loss a block reports is the share of the stream's loss "
	  "the server gave this host, and a block another host left unreleased "
	  "when it went away may come again (redelivered)" },
	{ TOOL_OPT_OUTPUT, NULL },
	{ TOOL_OPT_BLOCK_LOG, "write one line per delivered block to FILE: "
	  "seq first_sample samples lost redelivered (0 or 1), flushed before "
	  "the block is released; to check across hosts that shards covered "
	  "every block once" },
	{ TOOL_OPT_VERIFY, "check every sample against the simulator's pattern "
	  "PATTERN at the scan index its block's first_sample names, and that "
	  "every block starts where the previous one ended plus the loss it "
	  "reports; a mismatch fails the run. ramp: the channel with scan index "
	  "c holds (n + 4096 c) mod 2^bits at scan n. counter: the enabled "
	  "channel at position i (0 = lowest scan index) holds bits 16(i mod 4) "
	  "to 16(i mod 4) + 15 of n, so four channels name every scan" },
	{ TOOL_OPT_VERIFY_RAMP, NULL },
	{ TOOL_OPT_DELAY_MS, "hold each block MS milliseconds before releasing "
	  "it (a deliberately slow consumer)" },
	{ TOOL_OPT_NO_PROGRESS, NULL },
};

const struct tool_cmd tool_cmd_capture = {
	.name = "capture",
	.summary = "capture ADC samples to a file or standard output",
	.args = "URI DEVICE (-n N | -s S) -o FILE|-",
	.help =
	"Capture ADC samples and write them raw: interleaved scans of the enabled\n"
	"channels in scan order, each sample in the converter's format (little\n"
	"endian for the simulator), the layout iio_readdev writes. Progress goes\n"
	"to stderr when it is a terminal. The last stderr line is always\n"
	"  captured N samples (B bytes) in T s, R MB/s, L lost\n"
	"where N counts scans written and L scans the server lost (overrun);\n"
	"with --verify the two lines before it are\n"
	"  account: D delivered + L lost = E scans, the converter's index at the\n"
	"  end of the last block; A blocks out of place\n"
	"  verify: N blocks checked, B bad blocks, S bad samples (T torn, M misplaced)\n"
	"(torn: the block's data is not one run of the pattern; misplaced: it is,\n"
	"but not from its first_sample; \"stream's index\" for the ramp, which names scans modulo 2^bits only).\n"
	"SIGINT or SIGTERM stops the capture early: what was captured stays\n"
	"written, the summary lines follow, and the command exits 1. A server\n"
	"that sends no block for the --timeout fails the capture the same way.\n",
	.opts = capture_opts,
	.n_opts = TOOL_ARRAY_SIZE(capture_opts),
	.run = run_capture,
};
