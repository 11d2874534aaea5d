// SPDX-License-Identifier: MIT
/*
 * iiofab bench: an ADC stream taken and released as fast as blocks land,
 * or with --push a DAC stream fed as fast as blocks come back, each filled
 * in place with the simulator's pattern; its throughput and per-block
 * latency (bench_stats.h has the figures).
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <iiofab/clock.h>

#include "bench_stats.h"
#include "tool.h"

#define BENCH_DEFAULT_SECONDS 10
#define BENCH_MAX_BLOCKS 256	/* the most --blocks allows */

struct bench {
	const struct tool_opts *o;
	struct tool_session s;
	struct tool_wait w;
	uint64_t window_ns;	/* the counted window with --seconds, else 0
				 * (--samples, or --sync alone: no limit) */
	uint64_t count_ns;	/* end of the warm-up: blocks landing from here
				 * on are counted */
	uint64_t stop_ns;	/* when the loop stopped */
	bool started;
	bool counting;
	struct bench_lat lat;
	struct bench_report r;
	/* --push: what goes out, and each block's SUBMIT time (0: not out). */
	struct tool_layout layout;
	uint64_t next_scan;		/* the pattern's index of the next block */
	size_t block_scans;
	unsigned int in_flight;
	uint64_t submit_ns[BENCH_MAX_BLOCKS];
	uint64_t underruns0;		/* the stream's count as the window began */
	char device[256];	/* the report outlives the context's strings */
	char reg_path[32];
};

static int bench_count(struct bench *b, const struct iiofab_block *blk)
{
	b->r.blocks++;
	b->r.bytes += blk->bytes;
	b->r.samples += blk->samples;
	b->r.lost_samples += blk->lost_samples;
	/* The library posts a block's READ only after its READY. */
	return bench_lat_add(&b->lat, blk->landed_ns - blk->ready_ns);
}

/* When the loop must look again (the end of the warm-up or of the
 * window), having noted a warm-up that is over; 0 when the window is. */
static uint64_t bench_next_ns(struct bench *b, uint64_t now)
{
	const struct tool_opts *o = b->o;

	/* --sync: whoever signals holds the window's edges, so that several
	 * hosts can count the very same window. */
	if (o->sync && tool_wait_take_mark(&b->w)) {
		if (b->counting)
			return 0;
		b->count_ns = now;
	}
	if (!b->counting && now >= b->count_ns) {
		b->counting = true;
		if (b->r.output) {
			struct iiofab_stream_stats st;

			iiofab_stream_stats(b->s.stream, &st);
			b->underruns0 = st.underruns;
		}
		if (o->verbosity > 0)
			tool_err("bench: warm-up over, counting");
	}
	if (!b->counting)
		return b->count_ns;
	if (o->samples ? b->r.samples >= o->samples :
	    b->window_ns && now >= b->count_ns + b->window_ns)
		return 0;
	return o->samples || !b->window_ns ? UINT64_MAX :
	       b->count_ns + b->window_ns;
}

/* Takes and releases blocks until the counted window is over: 0, -EINTR
 * or -errno (reported). */
static int bench_loop(struct bench *b)
{
	for (;;) {
		uint64_t now = iiofab_now_ns(), until = bench_next_ns(b, now);
		struct iiofab_block *blk;
		int ret;

		if (!until) {
			b->stop_ns = now;
			return 0;
		}
		ret = tool_wait_block(&b->w, b->s.stream, until, &blk);
		if (ret == -EAGAIN)
			continue;	/* the loop head moves on */
		if (ret) {
			b->stop_ns = iiofab_now_ns();
			if (ret != -EINTR)
				tool_err("bench stopped: %s", iiofab_strerror(ret));
			return ret;
		}
		tool_session_landed(&b->s, blk);
		if (blk->landed_ns >= b->count_ns)
			ret = bench_count(b, blk);
		iiofab_block_release(b->s.stream, blk);
		if (ret) {
			b->stop_ns = iiofab_now_ns();
			tool_err("bench: cannot keep the latencies: %s", strerror(-ret));
			return ret;
		}
	}
}

/*
 * Whether another block may go out. With --samples, once counting, every
 * block out will come back inside the window and be counted, so enough
 * are out when they cover what is left: no more than the volume asked for
 * crosses the link, as perftest's -n moves exactly its iterations.
 */
static bool push_wanted(const struct bench *b)
{
	uint64_t out = (uint64_t)b->in_flight * b->block_scans;

	return !b->o->samples || !b->counting || b->r.samples + out < b->o->samples;
}

/* A block came back at now, consumed: counted when the window has begun. */
static int push_returned(struct bench *b, int blk, uint64_t now)
{
	uint64_t sent = b->submit_ns[blk];

	b->submit_ns[blk] = 0;
	b->in_flight--;
	tool_session_consumed(&b->s, now);
	if (now < b->count_ns)
		return 0;
	b->r.blocks++;
	b->r.bytes += b->block_scans * b->layout.scan_bytes;
	b->r.samples += b->block_scans;
	return bench_lat_add(&b->lat, now - sent);
}

/* Fills block blk in place with the next scans of the pattern and submits
 * it whole: 0, or the stream's error (reported). */
static int push_block(struct bench *b, int blk, void *data)
{
	int ret;

	tool_pattern_fill(&b->layout, b->o->push, data, b->block_scans, b->next_scan);
	b->submit_ns[blk] = iiofab_now_ns();
	ret = iiofab_stream_submit(b->s.stream, blk,
				   b->block_scans * b->layout.scan_bytes, 0);
	if (ret) {
		b->submit_ns[blk] = 0;
		tool_err("bench: cannot submit a block: %s", iiofab_strerror(ret));
		return ret;
	}
	b->next_scan += b->block_scans;
	b->in_flight++;
	return 0;
}

/* Feeds blocks as they come back until the counted window is over: 0,
 * -EINTR or -errno (reported). */
static int push_loop(struct bench *b)
{
	for (;;) {
		uint64_t now = iiofab_now_ns(), until = bench_next_ns(b, now);
		void *data;
		int blk, ret = 0;

		if (!until) {
			b->stop_ns = now;
			return 0;
		}
		blk = tool_wait_free(&b->w, b->s.stream, until, &data);
		if (blk == -EAGAIN)
			continue;	/* the loop head moves on */
		if (blk < 0) {
			b->stop_ns = iiofab_now_ns();
			if (blk != -EINTR)
				tool_err("bench stopped: %s", iiofab_strerror(blk));
			return blk;
		}
		if (b->submit_ns[blk])
			ret = push_returned(b, blk, iiofab_now_ns());
		if (ret) {
			b->stop_ns = iiofab_now_ns();
			tool_err("bench: cannot keep the latencies: %s", strerror(-ret));
			return ret;
		}
		/* A block not wanted stays with the tool: the window ends soon. */
		if (push_wanted(b) && (ret = push_block(b, blk, data))) {
			b->stop_ns = iiofab_now_ns();
			return ret;
		}
	}
}

/* The figures on stdout (JSON or table) and, for the table, the summary
 * line on stderr: 0, or -EIO when stdout could not be written. */
static int bench_print(const struct bench *b)
{
	char text[4096];
	int ret;

	ret = b->o->json ? bench_format_json(&b->r, text, sizeof(text)) :
	      bench_format_table(&b->r, text, sizeof(text));
	if (ret >= 0)
		fputs(text, stdout);
	if (ret < 0 || fflush(stdout) || ferror(stdout)) {
		tool_err("cannot write the figures: %s", strerror(ret < 0 ? -ret : errno));
		return -EIO;
	}
	if (!b->o->json && bench_format_line(&b->r, text, sizeof(text)) >= 0)
		fputs(text, stderr);
	return 0;
}

/* What the report says about the stream, before it starts. */
static void bench_describe(struct bench *b)
{
	const struct iiofab_device *dev = b->s.dev;
	struct iiofab_stream *stream = b->s.stream;

	snprintf(b->device, sizeof(b->device), "%s", iiofab_device_get_name(dev)[0] ?
		 iiofab_device_get_name(dev) : iiofab_device_get_id(dev));
	snprintf(b->reg_path, sizeof(b->reg_path), "%s",
		 iiofab_stream_get_reg_path(stream));
	b->r.device = b->device;
	b->r.output = b->o->push != TOOL_PATTERN_NONE;
	b->r.reg_path = b->reg_path;
	b->r.block_size = iiofab_stream_get_block_size(stream);
	b->r.block_count = iiofab_stream_get_block_count(stream);
	b->r.channels = iiofab_stream_get_channels_count(stream);
}

/* --push: the layout the pattern is filled into; 0 or -EINVAL (reported). */
static int push_prepare(struct bench *b)
{
	struct iiofab_stream *stream = b->s.stream;

	if (tool_stream_layout(stream, b->o->push, &b->layout)) {
		tool_err("cannot fill the %s pattern into %s's scans",
			 b->o->push == TOOL_PATTERN_RAMP ? "ramp" : "counter", b->device);
		return -EINVAL;
	}
	b->block_scans = iiofab_stream_get_block_size(stream) / b->layout.scan_bytes;
	return 0;
}

/* What -v adds once the window is over. */
static void bench_print_stats(const struct bench *b)
{
	struct iiofab_stream_stats st;

	tool_err("bench: counting over");
	if (b->r.output) {
		iiofab_stream_stats(b->s.stream, &st);
		tool_print_output_stats(&st);
	} else {
		tool_print_input_stats(b->s.stream);
	}
	tool_print_startup(&b->s);
}

/* Starts the stream and measures: the exit status so far. */
static int bench_stream(struct bench *b)
{
	uint64_t warmup_ns = (uint64_t)(b->o->warmup * 1e9);
	int ret;

	ret = tool_wait_open(&b->w, b->o);
	if (ret) {
		tool_err("cannot watch for signals: %s", strerror(-ret));
		return TOOL_EXIT_FAIL;
	}
	bench_describe(b);
	if (b->r.output && push_prepare(b))
		return TOOL_EXIT_FAIL;
	/* Before START: blocks may land while it waits for its reply. An
	 * output stream moves nothing until its first SUBMIT, right after. */
	b->count_ns = b->o->sync ? UINT64_MAX : iiofab_now_ns() + warmup_ns;
	if (tool_session_start(&b->s))
		return TOOL_EXIT_FAIL;
	if (b->r.output && !b->o->sync)
		b->count_ns = iiofab_now_ns() + warmup_ns;
	b->started = true;
	/* From here on a SIGUSR1 is a mark, no longer the end of the tool. */
	if (b->o->sync)
		tool_err("bench: started, counting from the first SIGUSR1");
	tool_wait_attach(&b->w, b->s.stream);
	ret = b->r.output ? push_loop(b) : bench_loop(b);
	if (b->o->verbosity > 0)
		bench_print_stats(b);
	if (b->r.output) {
		struct iiofab_stream_stats st;

		iiofab_stream_stats(b->s.stream, &st);
		b->r.underruns = st.underruns - b->underruns0;
	}
	if (b->stop_ns > b->count_ns)
		b->r.seconds = (double)(b->stop_ns - b->count_ns) / 1e9;
	tool_session_startup(&b->s, &b->r.startup);
	bench_lat_summarize(&b->lat, &b->r.lat);
	if (ret == -EINTR)
		tool_err("interrupted; the figures cover the blocks counted so far");
	else if (!ret && !b->r.blocks)
		tool_err("bench: no block %s in the %.3f s after the warm-up",
			 b->r.output ? "came back" : "landed", b->r.seconds);
	return ret || !b->r.blocks ? TOOL_EXIT_FAIL : TOOL_EXIT_OK;
}

static int run_bench(const struct tool_opts *o)
{
	struct bench b = { .o = o, .w = TOOL_WAIT_INIT };
	bool output = o->push != TOOL_PATTERN_NONE;
	int status = TOOL_EXIT_FAIL;

	if (o->nargs != 2)
		return tool_usage("%s", "bench takes URI DEVICE");
	if (o->samples && o->seconds > 0)
		return tool_usage("%s", "bench takes --samples or --seconds, not both");
	if (!o->samples && (o->seconds > 0 || !o->sync))
		b.window_ns = (uint64_t)((o->seconds > 0 ? o->seconds :
					  BENCH_DEFAULT_SECONDS) * 1e9);
	if (!tool_session_open(&b.s, o, output) &&
	    !tool_session_stream(&b.s, o, output, o->block_size, o->blocks))
		status = bench_stream(&b);
	tool_session_close(&b.s);
	tool_wait_close(&b.w);
	bench_lat_free(&b.lat);
	/* Reported last, after anything the teardown may have logged. */
	if (b.started && bench_print(&b))
		status = TOOL_EXIT_FAIL;
	return status;
}

static const struct tool_cmd_opt bench_opts[] = {
	{ TOOL_OPT_CHANNELS, "comma-separated input channel ids or names, "
	  "output ones with --push (default: every scannable channel of that "
	  "direction)" },
	{ TOOL_OPT_SECONDS, "count for S seconds after the warm-up (fractions "
	  "allowed; default 10)" },
	{ TOOL_OPT_SAMPLES, "count until N scans instead (suffixes k, M, G: "
	  "1000^n)" },
	{ TOOL_OPT_BLOCK_SIZE, NULL },
	{ TOOL_OPT_BLOCKS, NULL },
	{ TOOL_OPT_MODE, "how hosts share the ADC stream: exclusive (default), "
	  "fanout (every host gets every block) or shard (each block goes to one "
	  "host); see iiofab capture --help" },
	{ TOOL_OPT_WARMUP, NULL },
	{ TOOL_OPT_JSON, NULL },
	{ TOOL_OPT_SYNC, "the warm-up lasts until the first SIGUSR1, the "
	  "window until the second (or --seconds, --samples after the first, "
	  "whichever comes first); see below" },
	{ TOOL_OPT_PUSH, "measure a DAC instead: DEVICE is an output device, "
	  "and every block is filled in place with PATTERN (ramp or counter, "
	  "see below) and submitted; --warmup counts from START's reply" },
};

const struct tool_cmd tool_cmd_bench = {
	.name = "bench",
	.summary = "measure ADC or DAC throughput and per-block latency",
	.args = "URI DEVICE [--push PATTERN] [--seconds S | --samples N]",
	.help =
	"Measure an ADC stream: take and release every block as soon as it\n"
	"arrives (no sample is written anywhere) and report the throughput and\n"
	"each block's latency, from the host decoding the block's READY\n"
	"notification to the completion of its RDMA READ (the block whole in\n"
	"host memory). Blocks that land during the warm-up are not counted; the\n"
	"counted window then lasts S seconds, or until N scans were counted\n"
	"(whole blocks, so a few more). Latency percentiles are nearest-rank:\n"
	"p99 is the smallest latency that 99% of the blocks do not exceed.\n"
	"\n"
	"The figures go to stdout, as a table or with --json as one JSON object\n"
	"on one line with the keys device, direction (\"input\"), block_size,\n"
	"blocks (blocks in flight), channels, reg_path (the server's registration path), seconds\n"
	"(the counted window), bytes, samples, blocks_received, mb_s (10^6\n"
	"bytes/s), blocks_per_s, lost_samples, latency_us {n, mean, p50, p99,\n"
	"max} (null when no block was counted) and startup_ms {connect, open,\n"
	"start, first_block, total}: where the time from the command's start to\n"
	"the first block landed went (connect: address and route resolution, the\n"
	"connection, the handshake and the device table; open: OPEN_STREAM, the\n"
	"board's arena and registration, the landing buffer's registration;\n"
	"start: START; first_block: from START's reply to the first block\n"
	"landed; null when none landed). They are printed whenever the stream\n"
	"started, also when it failed; a run that counted no block fails.\n"
	"Without --json the last stderr line is always\n"
	"  bench: N blocks, R MB/s, B blocks/s, latency p50 X us p99 Y us max Z us, L lost\n"
	"With -v stderr also marks the counted window, with the lines\n"
	"'iiofab: bench: warm-up over, counting' and 'iiofab: bench: counting over',\n"
	"and gives the startup as 'iiofab: first block after T ms: ...'.\n"
	"SIGINT or SIGTERM ends the window early: the figures cover what was\n"
	"counted until then, and the command exits 1.\n"
	"\n"
	"With --sync the window is the signaller's: once the stream started,\n"
	"stderr says 'iiofab: bench: started, counting from the first SIGUSR1'\n"
	"(a SIGUSR1 before that line ends the tool), the first SIGUSR1 ends the\n"
	"warm-up and the second the window, which exits 0. Hosts sharing a\n"
	"stream (--mode fanout or shard) signalled together count one window.\n"
	"\n"
	"With --push PATTERN it measures a DAC stream the same way. Each free\n"
	"block is filled where it lies, in the registered memory the RDMA WRITE\n"
	"sends from (no buffer in between and no input to read), with the next\n"
	"scans of the simulator's pattern, and submitted whole; each block that\n"
	"comes back (the converter consumed it) is refilled at once. The ramp\n"
	"holds (n + 4096 c) mod 2^bits for the channel with scan index c at scan\n"
	"n; the counter holds bits 16(i mod 4) to 16(i mod 4) + 15 of n in the\n"
	"enabled channel at position i (16-bit channels only); n counts from 0\n"
	"at the stream's first scan, so the simulator's DAC, with its pattern\n"
	"attribute set to the same, counts no pattern error. A block counts when\n"
	"it comes back after the warm-up, which starts at START's reply (the\n"
	"first block goes out right after); its latency runs from its SUBMIT to\n"
	"its return, through the RDMA WRITE, the converter's queue and its\n"
	"consumption. With --samples no more blocks go out than the count\n"
	"needs once the window began, so the volume moved in the window is N\n"
	"scans rounded up to whole blocks. The figures are those above, with\n"
	"direction \"output\", blocks_received counting the blocks that came\n"
	"back, first_block the first one back, and underruns (the scans the\n"
	"converter had no data for during the window, as the server reported\n"
	"them) in place of lost_samples; the summary line ends in\n"
	"', U underruns' instead of ', L lost'. The blocks still out when the\n"
	"window ends are drained before the command exits, outside it.\n",
	.opts = bench_opts,
	.n_opts = TOOL_ARRAY_SIZE(bench_opts),
	.run = run_bench,
};
