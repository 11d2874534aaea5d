// SPDX-License-Identifier: MIT
/*
 * iiofab play: raw samples from a file or a pipe onto a DAC, read straight
 * into the stream's registered blocks; or, with --cyclic, the whole input
 * as one block the converter repeats.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <iiofab/clock.h>

#include "tool.h"

#define PLAY_MAX_BLOCKS 256	/* the most --blocks allows */
#define PLAY_TICK_NS 500000000u	/* a cyclic play's progress line */

/* A free block taken while the input kept play waiting. */
struct play_spare {
	int blk;
	void *data;
};

struct play {
	const struct tool_opts *o;
	struct tool_session s;
	struct tool_wait w;
	struct tool_progress pr;
	int fd;			/* the input */
	size_t scan_bytes;
	size_t block_size;
	uint8_t *wave;		/* --cyclic: the whole input */
	size_t wave_len;
	struct play_spare spare[PLAY_MAX_BLOCKS];
	unsigned int n_spare;
	bool eof;
	size_t tail_bytes;	/* input bytes after the last whole scan */
	uint64_t samples;
	uint64_t bytes;
	uint64_t t0_ns;		/* the first block went out; 0: none did */
	uint64_t stop_ns;
	struct iiofab_stream_stats st;
};

/*
 * Serves the stream while play waits for input, as iiofab.h asks: every
 * free block it hands out is kept for the input still to come (at most
 * all but the one being filled, so spare[] cannot overflow). 0, or the
 * stream's error (reported).
 */
static int play_serve(struct play *p)
{
	for (;;) {
		void *data;
		int blk = iiofab_stream_get_free(p->s.stream, 0, &data);

		if (blk == -EAGAIN)
			return 0;
		if (blk < 0) {
			tool_progress_break(&p->pr);
			tool_err("play stopped: %s", iiofab_strerror(blk));
			return blk;
		}
		p->spare[p->n_spare++] = (struct play_spare){ blk, data };
	}
}

/*
 * One read of the input once it is readable, serving the stream (when
 * there is one) meanwhile: bytes read, 0 at its end, -EINTR on a signal,
 * or -errno (reported).
 */
static ssize_t play_read(struct play *p, void *buf, size_t len)
{
	for (;;) {
		int ret = tool_wait(&p->w, p->fd, iiofab_now_ns() + p->w.op_ns);
		ssize_t n;

		if (ret < 0 && ret != -EINTR)
			tool_err("cannot wait for %s: %s", p->o->input, strerror(-ret));
		if (ret < 0)
			return ret;
		if (ret & TOOL_WAKE_STREAM) {
			int err = play_serve(p);

			if (err)
				return err;
		}
		if (!(ret & TOOL_WAKE_FD))
			continue;
		n = read(p->fd, buf, len);
		if (n >= 0)
			return n;
		if (errno != EINTR && errno != EAGAIN) {
			ret = -errno;
			tool_progress_break(&p->pr);
			tool_err("cannot read %s: %s", p->o->input, strerror(-ret));
			return ret;
		}
	}
}

/* Fills data with up to len bytes of input: the bytes read (fewer at the
 * end of the input or on a signal), or -errno (reported). */
static ssize_t play_fill(struct play *p, uint8_t *data, size_t len)
{
	size_t n = 0;

	while (n < len) {
		ssize_t r = play_read(p, data + n, len - n);

		if (r == -EINTR)
			break;
		if (r < 0)
			return r;
		if (r == 0) {
			p->eof = true;
			break;
		}
		n += (size_t)r;
	}
	return (ssize_t)n;
}

/* A free block: one kept from play_serve(), else the stream's next. */
static int play_get_free(struct play *p, void **data)
{
	int blk;

	if (p->n_spare) {
		p->n_spare--;
		*data = p->spare[p->n_spare].data;
		return p->spare[p->n_spare].blk;
	}
	blk = tool_wait_free(&p->w, p->s.stream, UINT64_MAX, data);
	if (blk < 0 && blk != -EINTR) {
		tool_progress_break(&p->pr);
		tool_err("play stopped: %s", iiofab_strerror(blk));
	}
	return blk;
}

static void play_progress(struct play *p, bool final)
{
	struct iiofab_stream_stats st;

	iiofab_stream_stats(p->s.stream, &st);
	tool_progress_show(&p->pr, p->samples, p->bytes, st.underruns,
			   "underruns", final);
}

static int play_submit(struct play *p, int blk, size_t bytes, unsigned int flags)
{
	int ret;

	if (!p->t0_ns) {
		p->t0_ns = iiofab_now_ns();
		tool_progress_start(&p->pr);
	}
	ret = iiofab_stream_submit(p->s.stream, blk, bytes, flags);
	if (ret) {
		tool_progress_break(&p->pr);
		tool_err("cannot submit %s: %s", flags ? "the waveform" : "a block",
			 iiofab_strerror(ret));
		return ret;
	}
	p->samples += bytes / p->scan_bytes;
	p->bytes += bytes;
	return 0;
}

/* Streams the input block by block: 0 at its end, -EINTR on a signal
 * (what was read is submitted), or -errno (reported). */
static int play_loop(struct play *p)
{
	while (!p->eof) {
		void *data;
		size_t whole;
		ssize_t n;
		int blk = play_get_free(p, &data), ret;

		if (blk < 0)
			return blk;
		n = play_fill(p, data, p->block_size);
		if (n < 0)
			return (int)n;
		whole = (size_t)n / p->scan_bytes * p->scan_bytes;
		if (p->eof)
			p->tail_bytes = (size_t)n - whole;
		/* A signal in the delay still sends what was read. */
		if (whole && p->o->delay_ms)
			tool_wait_sleep(&p->w, p->o->delay_ms);
		if (whole && (ret = play_submit(p, blk, whole, 0)))
			return ret;
		if (tool_wait_interrupted(&p->w))
			return -EINTR;
		play_progress(p, false);
	}
	return 0;
}

/* A cyclic play's wake-up: the server must keep the block it repeats. */
static int cyclic_serve(struct play *p)
{
	void *data;
	int ret;

	while ((ret = iiofab_stream_get_free(p->s.stream, 0, &data)) != -EAGAIN) {
		tool_progress_break(&p->pr);
		if (ret >= 0) {
			tool_err("the server gave the waveform's block back");
			return -EPIPE;
		}
		tool_err("play stopped: %s", iiofab_strerror(ret));
		return ret;
	}
	return 0;
}

/*
 * The waveform, repeated until --seconds pass or a signal comes (the end
 * it was asked for: 0). Waits are bounded by the op timeout but a quiet
 * server is no error here: the converter repeats the block without it.
 */
static int play_cyclic(struct play *p)
{
	uint64_t end_ns = UINT64_MAX;
	void *data;
	int blk, ret;

	blk = play_get_free(p, &data);
	if (blk == -EINTR)
		tool_err("interrupted before the waveform played");
	if (blk < 0)
		return blk;
	memcpy(data, p->wave, p->wave_len);
	ret = play_submit(p, blk, p->wave_len, IIOFAB_SUBMIT_CYCLIC);
	if (ret)
		return ret;
	if (p->o->seconds > 0)
		end_ns = p->t0_ns + (uint64_t)(p->o->seconds * 1e9);
	for (;;) {
		uint64_t now = iiofab_now_ns();
		uint64_t until = now + (p->pr.on ? PLAY_TICK_NS : p->w.op_ns);

		if (now >= end_ns)
			return 0;
		ret = tool_wait(&p->w, -1, until < end_ns ? until : end_ns);
		if (ret == -EINTR)
			return 0;
		if (ret < 0) {
			tool_err("cannot wait for the stream: %s", strerror(-ret));
			return ret;
		}
		if ((ret & TOOL_WAKE_STREAM) && (ret = cyclic_serve(p)))
			return ret;
		play_progress(p, false);
	}
}

/* Reads the whole input, a waveform of at most max bytes: 0, or -errno
 * (reported; -EFBIG when it is longer). */
static int play_slurp(struct play *p, size_t max)
{
	size_t cap = 0, n = 0;
	ssize_t r;

	for (;;) {
		if (n == cap) {
			uint8_t *nb;

			if (cap >= max) {
				r = -EFBIG;
				break;
			}
			cap = cap ? 2 * cap : 1 << 20;
			nb = realloc(p->wave, cap);
			if (!nb) {
				r = -ENOMEM;
				break;
			}
			p->wave = nb;
		}
		r = play_read(p, p->wave + n, cap - n);
		if (r <= 0)
			break;
		n += (size_t)r;
	}
	if (!r && n > max)
		r = -EFBIG;
	if (r == -EFBIG || r == -ENOMEM)
		tool_err("cannot read %s: %s", p->o->input, r == -EFBIG ?
			 "the waveform is larger than one block" : strerror(ENOMEM));
	else if (r == -EINTR)
		tool_err("interrupted before the waveform was read");
	p->wave_len = n;
	return (int)r;
}

static size_t lcm(size_t a, size_t b)
{
	size_t x = a, y = b;

	while (y) {
		size_t t = x % y;

		x = y;
		y = t;
	}
	return a / x * b;
}

/* --cyclic: the waveform, and a block size that holds it unless given. */
static int play_prepare_wave(struct play *p)
{
	const struct tool_opts *o = p->o;
	size_t unit = lcm((size_t)sysconf(_SC_PAGESIZE), p->scan_bytes);
	int ret;

	ret = play_slurp(p, o->block_size_set ? o->block_size : UINT32_MAX - unit);
	if (ret)
		return ret;
	if (!p->wave_len || p->wave_len % p->scan_bytes) {
		tool_err("the waveform (%zu bytes) is not a non-zero number of "
			 "%zu-byte scans", p->wave_len, p->scan_bytes);
		return -EINVAL;
	}
	if (!o->block_size_set)
		p->block_size = (p->wave_len + unit - 1) / unit * unit;
	return 0;
}

/* Input, connection, scan size and the signal watch; for --cyclic the
 * waveform too: 0, or -errno (reported). */
static int play_prepare(struct play *p)
{
	const struct tool_opts *o = p->o;
	int ret;

	if (!strcmp(o->input, "-")) {
		p->fd = STDIN_FILENO;
	} else {
		p->fd = open(o->input, O_RDONLY | O_CLOEXEC);
		if (p->fd < 0) {
			ret = -errno;
			tool_err("cannot open %s: %s", o->input, strerror(-ret));
			return ret;
		}
	}
	ret = tool_session_open(&p->s, o, true);
	if (ret)
		return ret;
	/* The size of the scans the stream will be opened on, before it is. */
	ret = iiofab_device_get_scan_bytes(p->s.dev, true, p->s.mask);
	if (ret < 0) {
		tool_err("cannot lay out a scan of %s: %s",
			 iiofab_device_get_id(p->s.dev), iiofab_strerror(ret));
		return ret;
	}
	p->scan_bytes = (size_t)ret;
	p->block_size = o->block_size;
	ret = tool_wait_open(&p->w, o);
	if (ret) {
		tool_err("cannot watch for signals: %s", strerror(-ret));
		return ret;
	}
	return o->cyclic ? play_prepare_wave(p) : 0;
}

/* After the stream's end: what the status says and -v adds. */
static int play_status(struct play *p, int ret)
{
	int status = ret ? TOOL_EXIT_FAIL : TOOL_EXIT_OK;

	if (p->tail_bytes) {
		tool_err("the input ends with %zu byte(s) that are not a whole "
			 "%zu-byte scan; they were not played", p->tail_bytes,
			 p->scan_bytes);
		status = TOOL_EXIT_FAIL;
	}
	if (ret == -EINTR && !p->o->cyclic)
		tool_err("interrupted; the samples read so far were played");
	if (p->o->verbosity > 0)
		tool_print_output_stats(&p->st);
	return status;
}

/* Starts the stream and plays: the exit status so far. */
static int play_stream(struct play *p)
{
	int ret;

	if (!p->o->cyclic) {
		unsigned int prefill = p->o->prefill ? p->o->prefill :
				       iiofab_stream_get_block_count(p->s.stream);

		ret = iiofab_stream_set_prefill(p->s.stream, prefill);
		if (ret) {
			tool_err("cannot set a prefill of %u block(s): %s", prefill,
				 iiofab_strerror(ret));
			return TOOL_EXIT_FAIL;
		}
	}
	if (tool_session_start(&p->s))
		return TOOL_EXIT_FAIL;
	tool_wait_attach(&p->w, p->s.stream);
	ret = p->o->cyclic ? play_cyclic(p) : play_loop(p);
	if ((!ret || ret == -EINTR) && !p->o->cyclic) {
		/* Also after a signal: what was read is played. */
		int err = iiofab_stream_drain(p->s.stream, -1);

		if (err) {
			tool_progress_break(&p->pr);
			tool_err("the converter did not consume every block: %s",
				 iiofab_strerror(err));
			ret = err;
		}
	}
	p->stop_ns = iiofab_now_ns();
	iiofab_stream_stats(p->s.stream, &p->st);
	play_progress(p, true);
	return play_status(p, ret);
}

static void play_report(const struct play *p)
{
	double elapsed = (double)(p->stop_ns - p->t0_ns) / 1e9;

	fprintf(stderr, "played %" PRIu64 " samples (%" PRIu64 " bytes) in "
		"%.2f s, %.2f MB/s, %" PRIu64 " underruns\n", p->samples, p->bytes,
		elapsed, elapsed > 0 ? (double)p->bytes / elapsed / 1e6 : 0.0,
		p->st.underruns);
}

static int run_play(const struct tool_opts *o)
{
	struct play p = { .o = o, .fd = -1, .w = TOOL_WAIT_INIT };
	int status = TOOL_EXIT_FAIL;

	if (o->nargs != 2)
		return tool_usage("%s", "play takes URI DEVICE");
	if (!o->input)
		return tool_usage("%s", "play needs -i FILE (or -i - for stdin)");
	if (o->seconds > 0 && !o->cyclic)
		return tool_usage("%s", "--seconds applies to --cyclic only "
				  "(a plain play ends with its input)");
	if (o->prefill && o->cyclic)
		return tool_usage("%s", "--prefill does not apply to --cyclic "
				  "(the waveform starts at once)");
	if (o->prefill > o->blocks)
		return tool_usage("--prefill %u is more than the %u block(s) of --blocks",
				  o->prefill, o->blocks);
	tool_progress_init(&p.pr, o);
	if (!play_prepare(&p) &&
	    !tool_session_stream(&p.s, o, true, p.block_size, o->cyclic ? 1 : o->blocks))
		status = play_stream(&p);
	tool_session_close(&p.s);
	tool_wait_close(&p.w);
	free(p.wave);
	if (p.fd >= 0 && p.fd != STDIN_FILENO)
		close(p.fd);
	/* Reported last, after anything the teardown may have logged. */
	if (p.t0_ns)
		play_report(&p);
	return status;
}

static const struct tool_cmd_opt play_opts[] = {
	{ TOOL_OPT_INPUT, NULL },
	{ TOOL_OPT_CHANNELS, "comma-separated output channel ids or names "
	  "(default: every scannable output channel)" },
	{ TOOL_OPT_BLOCK_SIZE, "bytes per block, a multiple of the page size "
	  "and of the scan size (suffixes K, M: 1024^n; default 1M; with "
	  "--cyclic: the input rounded up)" },
	{ TOOL_OPT_BLOCKS, NULL },
	{ TOOL_OPT_CYCLIC, "play the whole input (one block; --blocks does not "
	  "apply) as a waveform that repeats until --seconds pass or SIGINT or "
	  "SIGTERM arrives; N and B then describe the waveform, T how long it "
	  "played" },
	{ TOOL_OPT_SECONDS, "with --cyclic: stop after S seconds" },
	{ TOOL_OPT_PREFILL, "start the converter once K blocks are written to "
	  "the board, or the input ended (1..--blocks; default: every block, "
	  "so a stall of the link costs the whole buffer's lead before the "
	  "converter runs dry, not one block's)" },
	{ TOOL_OPT_DELAY_MS, "wait MS milliseconds before sending each block "
	  "(a deliberately slow producer)" },
	{ TOOL_OPT_NO_PROGRESS, NULL },
};

const struct tool_cmd tool_cmd_play = {
	.name = "play",
	.summary = "play samples from a file or standard input on a DAC",
	.args = "URI DEVICE -i FILE|-",
	.help =
	"Play raw samples on a DAC: interleaved scans of the enabled output\n"
	"channels in scan order, each sample in the converter's format (little\n"
	"endian for the simulator), the layout iio_writedev reads. Blocks are\n"
	"RDMA-written into the board's DAC buffers; the command ends when the\n"
	"converter has consumed every sample. Progress goes to stderr when it\n"
	"is a terminal. The last stderr line is always\n"
	"  played N samples (B bytes) in T s, R MB/s, U underruns\n"
	"where N counts scans, T runs from the first block sent to the last\n"
	"one consumed, and U counts scans the converter had no data for while\n"
	"the stream ran (the producer fell behind).\n"
	"Input that ends inside a scan plays its whole scans, then fails.\n"
	"SIGINT or SIGTERM ends the input early, also while play waits for a\n"
	"pipe: the samples read until then are played and the command exits 1.\n"
	"A --cyclic play ends that way with status 0.\n",
	.opts = play_opts,
	.n_opts = TOOL_ARRAY_SIZE(play_opts),
	.run = run_play,
};
