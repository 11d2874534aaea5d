// SPDX-License-Identifier: MIT
/*
 * iiofab: command-line client of libiiofab.
 *
 *   iiofab info    [OPTIONS] URI
 *   iiofab attr    [OPTIONS] URI DEVICE [CHANNEL] ATTR [VALUE]
 *   iiofab capture [OPTIONS] URI DEVICE (--samples N | --seconds S) -o FILE|-
 *   iiofab play    [OPTIONS] URI DEVICE -i FILE|-
 *   iiofab bench   [OPTIONS] URI DEVICE [--samples N | --seconds S] [--json]
 *   iiofab stat    [OPTIONS] URI
 *
 * Options may appear anywhere (GNU argument permutation); "--" ends them.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <math.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <iiofab.h>
#include <iiofab/auth.h>

#include "bench_stats.h"

#define EXIT_USAGE 2
#define MAX_CHANNELS 64

enum cmd {
	CMD_NONE = 0,
	CMD_INFO = 1 << 0,
	CMD_ATTR = 1 << 1,
	CMD_CAPTURE = 1 << 2,
	CMD_STAT = 1 << 3,
	CMD_PLAY = 1 << 4,
	CMD_BENCH = 1 << 5,
	CMD_ALL = CMD_INFO | CMD_ATTR | CMD_CAPTURE | CMD_STAT | CMD_PLAY |
		  CMD_BENCH,
};

enum opt_id {
	OPT_HELP = 'h',
	OPT_VERSION = 'V',
	OPT_VERBOSE = 'v',
	OPT_QUIET = 'q',
	OPT_PSK_FILE = 'k',
	OPT_TIMEOUT = 't',
	OPT_CHANNELS = 'c',
	OPT_SAMPLES = 'n',
	OPT_SECONDS = 's',
	OPT_BLOCK_SIZE = 'b',
	OPT_BLOCKS = 'B',
	OPT_OUTPUT = 'o',
	OPT_INPUT = 'i',
	OPT_INSECURE = 256,
	OPT_VERIFY_RAMP,
	OPT_DELAY_MS,
	OPT_BUFFER,
	OPT_OUTPUT_CHANNEL,
	OPT_NO_PROGRESS,
	OPT_CYCLIC,
	OPT_WARMUP,
	OPT_JSON,
};

struct opts {
	enum cmd cmd;
	const char *psk_file;
	bool insecure;
	unsigned int timeout_ms;
	int verbosity;			/* 0 normal, <0 quiet, >0 verbose */
	const char *channels;
	uint64_t samples;
	double seconds;
	size_t block_size;
	unsigned int blocks;
	const char *output;
	const char *input;
	bool cyclic;
	bool block_size_set;
	bool verify_ramp;
	unsigned int delay_ms;
	bool buffer_attr;
	bool output_channel;
	bool no_progress;
	double warmup;
	bool json;
	int nargs;
	char **args;
};

static const struct option long_opts[] = {
	{ "help", no_argument, NULL, OPT_HELP },
	{ "version", no_argument, NULL, OPT_VERSION },
	{ "verbose", no_argument, NULL, OPT_VERBOSE },
	{ "quiet", no_argument, NULL, OPT_QUIET },
	{ "psk-file", required_argument, NULL, OPT_PSK_FILE },
	{ "insecure", no_argument, NULL, OPT_INSECURE },
	{ "timeout", required_argument, NULL, OPT_TIMEOUT },
	{ "channels", required_argument, NULL, OPT_CHANNELS },
	{ "samples", required_argument, NULL, OPT_SAMPLES },
	{ "seconds", required_argument, NULL, OPT_SECONDS },
	{ "block-size", required_argument, NULL, OPT_BLOCK_SIZE },
	{ "blocks", required_argument, NULL, OPT_BLOCKS },
	{ "output", required_argument, NULL, OPT_OUTPUT },
	{ "input", required_argument, NULL, OPT_INPUT },
	{ "cyclic", no_argument, NULL, OPT_CYCLIC },
	{ "verify-ramp", no_argument, NULL, OPT_VERIFY_RAMP },
	{ "delay-ms", required_argument, NULL, OPT_DELAY_MS },
	{ "no-progress", no_argument, NULL, OPT_NO_PROGRESS },
	{ "buffer", no_argument, NULL, OPT_BUFFER },
	{ "output-channel", no_argument, NULL, OPT_OUTPUT_CHANNEL },
	{ "warmup", required_argument, NULL, OPT_WARMUP },
	{ "json", no_argument, NULL, OPT_JSON },
	{ NULL, 0, NULL, 0 },
};

/* Which subcommands accept which option. */
static const struct {
	int id;
	unsigned int cmds;
} opt_cmds[] = {
	{ OPT_CHANNELS, CMD_CAPTURE | CMD_PLAY | CMD_BENCH },
	{ OPT_SAMPLES, CMD_CAPTURE | CMD_BENCH },
	{ OPT_SECONDS, CMD_CAPTURE | CMD_PLAY | CMD_BENCH },
	{ OPT_BLOCK_SIZE, CMD_CAPTURE | CMD_PLAY | CMD_BENCH },
	{ OPT_BLOCKS, CMD_CAPTURE | CMD_PLAY | CMD_BENCH }, { OPT_OUTPUT, CMD_CAPTURE },
	{ OPT_INPUT, CMD_PLAY }, { OPT_CYCLIC, CMD_PLAY },
	{ OPT_VERIFY_RAMP, CMD_CAPTURE }, { OPT_DELAY_MS, CMD_CAPTURE | CMD_PLAY },
	{ OPT_NO_PROGRESS, CMD_CAPTURE | CMD_PLAY }, { OPT_BUFFER, CMD_ATTR },
	{ OPT_OUTPUT_CHANNEL, CMD_ATTR }, { OPT_WARMUP, CMD_BENCH },
	{ OPT_JSON, CMD_BENCH },
};

static const char common_help[] =
	"Common options:\n"
	"  -k, --psk-file FILE  authenticate with the pre-shared key in FILE (its\n"
	"                       bytes, a trailing newline ignored, 16 to 1024 of\n"
	"                       them); the server must prove the same key\n"
	"      --insecure       connect without a key (the server must allow it);\n"
	"                       the default when no --psk-file is given\n"
	"  -t, --timeout MS     connect and request timeout (default 5000)\n"
	"  -v, --verbose        log library details to stderr (repeat for debug)\n"
	"  -q, --quiet          print only errors\n"
	"  -h, --help           this help\n"
	"URI is rdma://host[:port]; the default port is 7790.\n"
	"Exit status: 0 on success, 1 on any error, 2 on a usage error.\n";

static const char main_help[] =
	"Usage: iiofab COMMAND [OPTIONS] ARGS...\n"
	"Stream samples of a remote IIO converter served by iiofabd over RDMA.\n"
	"\n"
	"Commands:\n"
	"  info     list devices, channels and attributes with their values\n"
	"  attr     read or write one attribute\n"
	"  capture  capture ADC samples to a file or standard output\n"
	"  play     play samples from a file or standard input on a DAC\n"
	"  bench    measure ADC throughput and per-block latency\n"
	"  stat     print the server's counters\n"
	"\n"
	"Run 'iiofab COMMAND --help' for the options of a command.\n"
	"Options may appear anywhere on the command line; '--' ends them.\n";

static const char info_help[] =
	"Usage: iiofab info [OPTIONS] URI\n"
	"List the server's devices: id, name, label, kind, device and buffer\n"
	"attributes with their current values, and every channel with its scan\n"
	"index, sample format and attributes.\n\n";

static const char attr_help[] =
	"Usage: iiofab attr [OPTIONS] URI DEVICE [CHANNEL] ATTR [VALUE]\n"
	"Read an attribute (print its value) or, with VALUE, write it.\n"
	"DEVICE is an id (iio:device0), name or label; CHANNEL an id (voltage0)\n"
	"or name. With three names after the URI, the second is taken as a\n"
	"CHANNEL when the device has such a channel and no such attribute, and\n"
	"the command reads that channel attribute; otherwise it writes a device\n"
	"attribute.\n\n"
	"Options:\n"
	"      --buffer          DEVICE's buffer attribute (no CHANNEL)\n"
	"      --output-channel  CHANNEL is an output channel\n\n";

static const char capture_help[] =
	"Usage: iiofab capture [OPTIONS] URI DEVICE (--samples N | --seconds S)\n"
	"                      -o FILE|-\n"
	"Capture ADC samples and write them raw: interleaved scans of the enabled\n"
	"channels in scan order, each sample in the converter's format (little\n"
	"endian for the simulator), the layout iio_readdev writes. Progress goes\n"
	"to stderr when it is a terminal. The last stderr line is always\n"
	"  captured N samples (B bytes) in T s, R MB/s, L lost\n"
	"where N counts scans written and L scans the server lost (overrun).\n\n"
	"Options:\n"
	"  -c, --channels LIST   comma-separated channel ids or names (default:\n"
	"                        every scannable input channel)\n"
	"  -n, --samples N       stop after N scans (suffixes k, M, G: 1000^n)\n"
	"  -s, --seconds S       stop after S seconds (fractions allowed)\n"
	"  -b, --block-size B    bytes per block, a multiple of the page size and\n"
	"                        of the scan size (suffixes K, M: 1024^n;\n"
	"                        default 1M)\n"
	"  -B, --blocks K        blocks in flight, 1..256 (default 8)\n"
	"  -o, --output FILE     output file, '-' for standard output (required)\n"
	"      --verify-ramp     check every sample against the simulator's ramp:\n"
	"                        channel with scan index c at scan n holds\n"
	"                        (n + 4096 c) mod 2^bits; mismatches fail the run\n"
	"      --delay-ms MS     hold each block MS milliseconds before releasing\n"
	"                        it (a deliberately slow consumer)\n"
	"      --no-progress     no progress line even on a terminal\n\n";

static const char play_help[] =
	"Usage: iiofab play [OPTIONS] URI DEVICE -i FILE|-\n"
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
	"Input that ends inside a scan plays its whole scans, then fails.\n\n"
	"Options:\n"
	"  -i, --input FILE      input file, '-' for standard input (required)\n"
	"  -c, --channels LIST   comma-separated output channel ids or names\n"
	"                        (default: every scannable output channel)\n"
	"  -b, --block-size B    bytes per block, a multiple of the page size and\n"
	"                        of the scan size (suffixes K, M: 1024^n;\n"
	"                        default 1M; with --cyclic: the input rounded up)\n"
	"  -B, --blocks K        blocks in flight, 1..256 (default 8)\n"
	"      --cyclic          play the whole input (one block; --blocks does\n"
	"                        not apply) as a waveform\n"
	"                        that repeats until --seconds pass or SIGINT or\n"
	"                        SIGTERM arrives; N and B then describe the\n"
	"                        waveform, T how long it played\n"
	"  -s, --seconds S       with --cyclic: stop after S seconds\n"
	"      --delay-ms MS     wait MS milliseconds before sending each block\n"
	"                        (a deliberately slow producer)\n"
	"      --no-progress     no progress line even on a terminal\n\n";
static const char bench_help[] =
	"Usage: iiofab bench [OPTIONS] URI DEVICE [--seconds S | --samples N]\n"
	"Measure an ADC stream: take and release every block as soon as it\n"
	"arrives (no sample is written anywhere) and report the throughput and\n"
	"each block's latency, from the host decoding the block's READY\n"
	"notification to the completion of its RDMA READ (the block whole in\n"
	"host memory). Blocks that land during the warm-up are not counted; the\n"
	"counted window then lasts S seconds, or until N scans were counted\n"
	"(whole blocks, so a few more). Latency percentiles are nearest-rank:\n"
	"p99 is the smallest latency that 99% of the blocks do not exceed.\n\n"
	"The figures go to stdout, as a table or with --json as one JSON object\n"
	"on one line with the keys device, block_size, blocks (blocks in\n"
	"flight), channels, reg_path (the server's registration path), seconds\n"
	"(the counted window), bytes, samples, blocks_received, mb_s (10^6\n"
	"bytes/s), blocks_per_s, lost_samples and latency_us {n, mean, p50, p99,\n"
	"max} (null when no block was counted). They are printed whenever the\n"
	"stream started, also when it failed; a run that counted no block fails.\n"
	"Without --json the last stderr line is always\n"
	"  bench: N blocks, R MB/s, B blocks/s, latency p50 X us p99 Y us max Z us, L lost\n"
	"With -v stderr also marks the counted window, with the lines\n"
	"'iiofab: bench: warm-up over, counting' and 'iiofab: bench: counting over'.\n\n"
	"Options:\n"
	"  -c, --channels LIST   comma-separated channel ids or names (default:\n"
	"                        every scannable input channel)\n"
	"  -s, --seconds S       count for S seconds after the warm-up (fractions\n"
	"                        allowed; default 10)\n"
	"  -n, --samples N       count until N scans instead (suffixes k, M, G:\n"
	"                        1000^n)\n"
	"  -b, --block-size B    bytes per block, a multiple of the page size and\n"
	"                        of the scan size (suffixes K, M: 1024^n;\n"
	"                        default 1M)\n"
	"  -B, --blocks K        blocks in flight, 1..256 (default 8)\n"
	"      --warmup S        leave out the blocks that land in the first S\n"
	"                        seconds of the stream (default 1; 0 counts from\n"
	"                        the first block)\n"
	"      --json            one JSON object on stdout instead of the table\n\n";

static const char stat_help[] =
	"Usage: iiofab stat [OPTIONS] URI\n"
	"Print the server's counters (streams, clients, registration path, lost\n"
	"blocks, ...), one 'key: value' per line.\n\n";

static void print_help(enum cmd cmd)
{
	switch (cmd) {
	case CMD_INFO:
		fputs(info_help, stdout);
		break;
	case CMD_ATTR:
		fputs(attr_help, stdout);
		break;
	case CMD_CAPTURE:
		fputs(capture_help, stdout);
		break;
	case CMD_STAT:
		fputs(stat_help, stdout);
		break;
	case CMD_PLAY:
		fputs(play_help, stdout);
		break;
	case CMD_BENCH:
		fputs(bench_help, stdout);
		break;
	default:
		fputs(main_help, stdout);
		putchar('\n');
		break;
	}
	fputs(common_help, stdout);
}

static void log_cb(void *user, enum iiofab_log_level level, const char *msg)
{
	fprintf(stderr, "iiofab: %s: %s\n", iiofab_logger_level_name((int)level),
		msg);
}

__attribute__((format(printf, 1, 2)))
static int usage_error(const char *fmt, ...)
{
	va_list ap;

	fputs("iiofab: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputs("\nTry 'iiofab --help' or 'iiofab COMMAND --help'.\n", stderr);
	return -EXIT_USAGE;
}

/* "1.5M" style numbers: base 1000 or 1024 per unit. */
static int parse_size(const char *s, uint64_t *out, unsigned int base)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(s, &end);
	if (errno || end == s || v < 0 || isnan(v))
		return -EINVAL;
	switch (*end) {
	case 'k': case 'K':
		v *= base;
		end++;
		break;
	case 'm': case 'M':
		v *= (double)base * base;
		end++;
		break;
	case 'g': case 'G':
		v *= (double)base * base * base;
		end++;
		break;
	default:
		break;
	}
	if (*end == 'i' && base == 1024)
		end++;
	if (*end || v > 1.8e19 || v != floor(v))
		return -EINVAL;
	*out = (uint64_t)v;
	return 0;
}

/* Seconds, fractions allowed, up to 1e7: > 0, or >= 0 with allow_zero. */
static int parse_seconds(const char *s, bool allow_zero, double *out)
{
	char *end;
	double v;

	v = strtod(s, &end);
	if (end == s || *end || !(v > 0 || (allow_zero && v == 0)) || v > 1e7)
		return -EINVAL;
	*out = v;
	return 0;
}

static enum cmd parse_cmd(const char *s)
{
	if (!strcmp(s, "info"))
		return CMD_INFO;
	if (!strcmp(s, "attr"))
		return CMD_ATTR;
	if (!strcmp(s, "capture"))
		return CMD_CAPTURE;
	if (!strcmp(s, "stat"))
		return CMD_STAT;
	if (!strcmp(s, "play"))
		return CMD_PLAY;
	if (!strcmp(s, "bench"))
		return CMD_BENCH;
	return CMD_NONE;
}

static bool opt_allowed(int id, enum cmd cmd)
{
	for (size_t i = 0; i < sizeof(opt_cmds) / sizeof(opt_cmds[0]); i++)
		if (opt_cmds[i].id == id)
			return opt_cmds[i].cmds & cmd;
	return true;
}

static const char *opt_name(int id)
{
	for (const struct option *o = long_opts; o->name; o++)
		if (o->val == id)
			return o->name;
	return "?";
}

/* Returns 0, 1 when help/version was printed, or -exit status. */
static int parse_args(int argc, char **argv, struct opts *o)
{
	static const char short_opts[] = "hVvqk:t:c:n:s:b:B:o:i:";
	int seen[512] = { 0 };
	bool help = false;
	uint64_t v;
	int c;

	o->timeout_ms = 0;
	o->block_size = 1 << 20;
	o->blocks = 8;
	o->warmup = 1.0;
	opterr = 0;
	while ((c = getopt_long(argc, argv, short_opts, long_opts, NULL)) != -1) {
		if (c >= 0 && c < 512)
			seen[c] = 1;
		switch (c) {
		case OPT_HELP:
			help = true;
			break;
		case OPT_VERSION:
			printf("iiofab %s\n", iiofab_version());
			return 1;
		case OPT_VERBOSE:
			o->verbosity++;
			break;
		case OPT_QUIET:
			o->verbosity = -1;
			break;
		case OPT_PSK_FILE:
			o->psk_file = optarg;
			break;
		case OPT_INSECURE:
			o->insecure = true;
			break;
		case OPT_TIMEOUT:
			if (parse_size(optarg, &v, 1000) || !v || v > INT_MAX)
				return usage_error("bad --timeout '%s' (milliseconds)",
						   optarg);
			o->timeout_ms = (unsigned int)v;
			break;
		case OPT_CHANNELS:
			o->channels = optarg;
			break;
		case OPT_SAMPLES:
			if (parse_size(optarg, &o->samples, 1000) || !o->samples)
				return usage_error("bad --samples '%s'", optarg);
			break;
		case OPT_SECONDS:
			if (parse_seconds(optarg, false, &o->seconds))
				return usage_error("bad --seconds '%s'", optarg);
			break;
		case OPT_BLOCK_SIZE:
			if (parse_size(optarg, &v, 1024) || v > UINT32_MAX)
				return usage_error("bad --block-size '%s'", optarg);
			o->block_size = (size_t)v;
			o->block_size_set = true;
			break;
		case OPT_BLOCKS:
			if (parse_size(optarg, &v, 1000) || v < 1 || v > 256)
				return usage_error("bad --blocks '%s' (1..256)", optarg);
			o->blocks = (unsigned int)v;
			break;
		case OPT_OUTPUT:
			o->output = optarg;
			break;
		case OPT_INPUT:
			o->input = optarg;
			break;
		case OPT_CYCLIC:
			o->cyclic = true;
			break;
		case OPT_VERIFY_RAMP:
			o->verify_ramp = true;
			break;
		case OPT_DELAY_MS:
			if (parse_size(optarg, &v, 1000) || v > 600000)
				return usage_error("bad --delay-ms '%s'", optarg);
			o->delay_ms = (unsigned int)v;
			break;
		case OPT_NO_PROGRESS:
			o->no_progress = true;
			break;
		case OPT_BUFFER:
			o->buffer_attr = true;
			break;
		case OPT_OUTPUT_CHANNEL:
			o->output_channel = true;
			break;
		case OPT_WARMUP:
			if (parse_seconds(optarg, true, &o->warmup))
				return usage_error("bad --warmup '%s'", optarg);
			break;
		case OPT_JSON:
			o->json = true;
			break;
		case ':':
			return usage_error("option '%s' needs an argument",
					   argv[optind - 1]);
		default:
			return usage_error("unknown option '%s'",
					   argv[optind - 1]);
		}
	}
	o->args = argv + optind;
	o->nargs = argc - optind;
	if (o->nargs > 0) {
		o->cmd = parse_cmd(o->args[0]);
		if (o->cmd == CMD_NONE)
			return usage_error("unknown command '%s'", o->args[0]);
		o->args++;
		o->nargs--;
	}
	if (help) {
		print_help(o->cmd);
		return 1;
	}
	if (o->cmd == CMD_NONE)
		return usage_error("%s", "no command given");
	for (int id = 0; id < 512; id++)
		if (seen[id] && !opt_allowed(id, o->cmd))
			return usage_error("option --%s does not apply to this command",
					   opt_name(id));
	if (o->psk_file && o->insecure)
		return usage_error("%s", "--psk-file and --insecure exclude each other");
	return 0;
}

/* common/'s messages (the key file) look like the library's. */
static void common_log_cb(void *arg, int level, const char *msg)
{
	log_cb(arg, (enum iiofab_log_level)level, msg);
}

static int connect_uri(const struct opts *o, const char *uri,
		       struct iiofab_ctx **ctx)
{
	struct iiofab_key key = { .len = 0 };
	struct iiofab_params p = {
		.connect_timeout_ms = o->timeout_ms,
		.op_timeout_ms = o->timeout_ms,
		.log_fn = log_cb,
		.log_level = o->verbosity < 0 ? IIOFAB_LOG_ERROR :
			o->verbosity == 0 ? IIOFAB_LOG_WARNING :
			o->verbosity == 1 ? IIOFAB_LOG_INFO : IIOFAB_LOG_DEBUG,
		.client_name = "iiofab",
	};
	struct iiofab_logger lg = {
		.fn = common_log_cb,
		.level = (int)p.log_level,
	};
	int ret;

	if (o->psk_file) {
		if (iiofab_key_read(o->psk_file, &key, &lg))
			return -1;
		p.psk = key.bytes;
		p.psk_len = key.len;
	}
	ret = iiofab_connect(uri, &p, ctx);
	iiofab_key_wipe(&key);
	if (ret) {
		fprintf(stderr, "iiofab: cannot connect to %s: %s\n", uri,
			iiofab_strerror(ret));
		if (ret == -EACCES && !o->psk_file)
			fprintf(stderr, "iiofab: the server requires a key: use --psk-file FILE\n");
		return -1;
	}
	return 0;
}

static const struct iiofab_device *find_device(struct iiofab_ctx *ctx,
					       const char *name)
{
	const struct iiofab_device *dev = iiofab_ctx_find_device(ctx, name);

	if (!dev) {
		fprintf(stderr, "iiofab: unknown device '%s'; the server has:", name);
		for (unsigned int i = 0; i < iiofab_ctx_get_devices_count(ctx); i++) {
			const struct iiofab_device *d = iiofab_ctx_get_device(ctx, i);

			fprintf(stderr, " %s (%s)", iiofab_device_get_id(d),
				iiofab_device_get_name(d));
		}
		fputc('\n', stderr);
	}
	return dev;
}

/* ---- info ---------------------------------------------------------------- */

static const char *kind_str(enum iiofab_device_kind k)
{
	return k == IIOFAB_DEVICE_INPUT ? "input" :
	       k == IIOFAB_DEVICE_OUTPUT ? "output" : "other";
}

static void print_value(int ret, const char *buf)
{
	if (ret < 0)
		printf("ERROR: %s\n", iiofab_strerror(ret));
	else
		printf("%s\n", buf);
}

static int print_device(const struct iiofab_device *dev)
{
	unsigned int nch = iiofab_device_get_channels_count(dev);
	char buf[4096];
	int ret;

	printf("  %s: %s", iiofab_device_get_id(dev), iiofab_device_get_name(dev));
	if (iiofab_device_get_label(dev)[0])
		printf(" (label %s)", iiofab_device_get_label(dev));
	printf(", %s, %u channels\n", kind_str(iiofab_device_get_kind(dev)), nch);
	printf("    %u device attributes:\n", iiofab_device_get_attrs_count(dev));
	for (unsigned int i = 0; i < iiofab_device_get_attrs_count(dev); i++) {
		const char *a = iiofab_device_get_attr(dev, i);

		ret = iiofab_device_attr_read(dev, a, buf, sizeof(buf));
		printf("      %s = ", a);
		print_value(ret, buf);
		if (ret == -ECONNRESET || ret == -ETIMEDOUT)
			return ret;
	}
	printf("    %u buffer attributes:\n",
	       iiofab_device_get_buffer_attrs_count(dev));
	for (unsigned int i = 0; i < iiofab_device_get_buffer_attrs_count(dev); i++) {
		const char *a = iiofab_device_get_buffer_attr(dev, i);

		ret = iiofab_device_buffer_attr_read(dev, a, buf, sizeof(buf));
		printf("      %s = ", a);
		print_value(ret, buf);
		if (ret == -ECONNRESET || ret == -ETIMEDOUT)
			return ret;
	}
	printf("    %u channels:\n", nch);
	for (unsigned int i = 0; i < nch; i++) {
		const struct iiofab_channel *ch = iiofab_device_get_channel(dev, i);
		const struct iiofab_data_format *f = iiofab_channel_get_format(ch);

		printf("      %s", iiofab_channel_get_id(ch));
		if (iiofab_channel_get_name(ch)[0])
			printf(" (%s)", iiofab_channel_get_name(ch));
		printf(": %s", iiofab_channel_is_output(ch) ? "output" : "input");
		if (iiofab_channel_get_scan_index(ch) >= 0)
			printf(", index %d, format %ce:%c%u/%u>>%u",
			       iiofab_channel_get_scan_index(ch),
			       f->big_endian ? 'b' : 'l', f->is_signed ? 's' : 'u',
			       f->bits, f->storage_bits, f->shift);
		printf(", %u attributes\n", iiofab_channel_get_attrs_count(ch));
		for (unsigned int j = 0; j < iiofab_channel_get_attrs_count(ch); j++) {
			const char *a = iiofab_channel_get_attr(ch, j);

			ret = iiofab_channel_attr_read(ch, a, buf, sizeof(buf));
			printf("        %s = ", a);
			print_value(ret, buf);
			if (ret == -ECONNRESET || ret == -ETIMEDOUT)
				return ret;
		}
	}
	return 0;
}

static int run_info(const struct opts *o)
{
	struct iiofab_ctx *ctx;
	unsigned int n;
	int ret = 0;

	if (o->nargs != 1)
		return usage_error("%s", "info takes exactly one URI");
	if (connect_uri(o, o->args[0], &ctx))
		return 1;
	n = iiofab_ctx_get_devices_count(ctx);
	printf("%s: %u device%s\n", o->args[0], n, n == 1 ? "" : "s");
	for (unsigned int i = 0; i < n && !ret; i++)
		ret = print_device(iiofab_ctx_get_device(ctx, i));
	if (fflush(stdout) || ferror(stdout)) {
		fprintf(stderr, "iiofab: cannot write the output: %s\n",
			strerror(errno));
		ret = -EIO;
	}
	if (ret)
		fprintf(stderr, "iiofab: info: %s\n", iiofab_strerror(ret));
	iiofab_disconnect(ctx);
	return ret ? 1 : 0;
}

/* ---- attr ---------------------------------------------------------------- */

static int run_attr(const struct opts *o)
{
	const struct iiofab_channel *ch = NULL;
	const struct iiofab_device *dev;
	const char *attr, *value = NULL;
	struct iiofab_ctx *ctx;
	char buf[4096];
	int ret, status = 1;

	if (o->nargs < 3 || o->nargs > 5)
		return usage_error("%s", "attr takes URI DEVICE [CHANNEL] ATTR [VALUE]");
	if (connect_uri(o, o->args[0], &ctx))
		return 1;
	dev = find_device(ctx, o->args[1]);
	if (!dev)
		goto out_disconnect;
	if (o->nargs == 5 ||
	    (o->nargs == 4 && !o->buffer_attr &&
	     !iiofab_device_find_attr(dev, o->args[2]) &&
	     iiofab_device_find_channel(dev, o->args[2], o->output_channel))) {
		ch = iiofab_device_find_channel(dev, o->args[2], o->output_channel);
		if (!ch) {
			fprintf(stderr, "iiofab: device %s has no %s channel '%s'\n",
				iiofab_device_get_id(dev),
				o->output_channel ? "output" : "input", o->args[2]);
			goto out_disconnect;
		}
		attr = o->args[3];
		value = o->nargs == 5 ? o->args[4] : NULL;
	} else {
		attr = o->args[2];
		value = o->nargs == 4 ? o->args[3] : NULL;
	}
	if (ch && o->buffer_attr) {
		fprintf(stderr, "iiofab: --buffer takes no CHANNEL\n");
		goto out_disconnect;
	}
	if (value)
		ret = ch ? iiofab_channel_attr_write(ch, attr, value) :
		      o->buffer_attr ? iiofab_device_buffer_attr_write(dev, attr, value) :
		      iiofab_device_attr_write(dev, attr, value);
	else
		ret = ch ? iiofab_channel_attr_read(ch, attr, buf, sizeof(buf)) :
		      o->buffer_attr ? iiofab_device_buffer_attr_read(dev, attr, buf, sizeof(buf)) :
		      iiofab_device_attr_read(dev, attr, buf, sizeof(buf));
	if (ret < 0) {
		fprintf(stderr, "iiofab: cannot %s %s%s%s attribute '%s': %s\n",
			value ? "write" : "read", iiofab_device_get_id(dev),
			ch ? " " : "", ch ? iiofab_channel_get_id(ch) : "", attr,
			iiofab_strerror(ret));
		goto out_disconnect;
	}
	if (!value)
		printf("%s\n", buf);
	status = fflush(stdout) ? 1 : 0;
out_disconnect:
	iiofab_disconnect(ctx);
	return status;
}

/* ---- stat ---------------------------------------------------------------- */

static int print_stat(void *user, const char *key, uint64_t value)
{
	printf("%s: %" PRIu64 "\n", key, value);
	return 0;
}

static int run_stat(const struct opts *o)
{
	struct iiofab_ctx *ctx;
	char reg_path[256];
	int ret;

	if (o->nargs != 1)
		return usage_error("%s", "stat takes exactly one URI");
	if (connect_uri(o, o->args[0], &ctx))
		return 1;
	ret = iiofab_ctx_get_server_stats(ctx, print_stat, NULL, reg_path,
					  sizeof(reg_path));
	if (ret)
		fprintf(stderr, "iiofab: cannot read the server's counters: %s\n",
			iiofab_strerror(ret));
	else
		printf("reg_path: %s\n", reg_path);
	iiofab_disconnect(ctx);
	return ret || fflush(stdout) ? 1 : 0;
}

/* ---- capture ------------------------------------------------------------- */

struct verifier {
	unsigned int n;
	size_t offset[MAX_CHANNELS];
	unsigned int scan_index[MAX_CHANNELS];
	struct iiofab_data_format fmt[MAX_CHANNELS];
	size_t scan_bytes;
	uint64_t checked_blocks;
	uint64_t bad_samples;
	uint64_t bad_blocks;
};

/* Where each sample sits is the library's to say, as the server lays
 * scans out; no copy of the IIO rules here. */
static int verifier_init(struct verifier *v, const struct iiofab_stream *s)
{
	v->n = iiofab_stream_get_channels_count(s);
	v->scan_bytes = iiofab_stream_get_scan_bytes(s);
	if (!v->n || v->n > MAX_CHANNELS)
		return -EINVAL;
	for (unsigned int i = 0; i < v->n; i++) {
		const struct iiofab_channel *ch = iiofab_stream_get_channel(s, i);
		unsigned int sz;

		v->fmt[i] = *iiofab_channel_get_format(ch);
		v->scan_index[i] = (unsigned int)iiofab_channel_get_scan_index(ch);
		v->offset[i] = iiofab_stream_get_channel_offset(s, i);
		sz = v->fmt[i].storage_bits / 8;
		if (!sz || sz > 8 || v->fmt[i].bits > 32 ||
		    v->offset[i] + sz > v->scan_bytes)
			return -EINVAL;
	}
	return 0;
}

static uint64_t load_sample(const uint8_t *p, unsigned int sz, bool be)
{
	uint64_t x = 0;

	for (unsigned int i = 0; i < sz; i++)
		x |= (uint64_t)p[be ? i : sz - 1 - i] << (8 * (sz - 1 - i));
	return x;
}

/*
 * Tells a block that is an intact ramp starting at the wrong scan (the
 * first_sample accounting is off) from one whose data is broken (torn).
 */
static void describe_bad_block(const struct verifier *v,
			       const struct iiofab_block *b)
{
	const struct iiofab_data_format *f = &v->fmt[0];
	uint64_t mask = f->bits >= 64 ? ~0ull : (1ull << f->bits) - 1;
	const uint8_t *data = b->data;
	uint64_t start = 0;
	bool intact = true;

	for (size_t n = 0; n < b->samples && intact; n++) {
		const uint8_t *scan = data + n * v->scan_bytes;

		for (unsigned int c = 0; c < v->n; c++) {
			uint64_t raw = load_sample(scan + v->offset[c],
						   v->fmt[c].storage_bits / 8,
						   v->fmt[c].big_endian);
			uint64_t got = (raw >> v->fmt[c].shift) & mask;

			if (n == 0 && c == 0)
				start = (got - 4096ull * v->scan_index[0]) & mask;
			if (got != ((start + n + 4096ull * v->scan_index[c]) & mask)) {
				intact = false;
				break;
			}
		}
	}
	if (intact)
		fprintf(stderr, "iiofab: verify: block seq %" PRIu64 " is an intact "
			"ramp that starts %" PRId64 " scans (mod %" PRIu64
			") after its first_sample\n", b->seq,
			(int64_t)((start - b->first_sample) & mask), mask + 1);
	else
		fprintf(stderr, "iiofab: verify: block seq %" PRIu64
			" is not a continuous ramp (torn or corrupt data)\n",
			b->seq);
}

static void verify_block(struct verifier *v, const struct iiofab_block *b)
{
	const uint8_t *data = b->data;
	uint64_t bad = 0;

	for (size_t n = 0; n < b->samples; n++) {
		const uint8_t *scan = data + n * v->scan_bytes;

		for (unsigned int c = 0; c < v->n; c++) {
			const struct iiofab_data_format *f = &v->fmt[c];
			uint64_t mask = f->bits >= 64 ? ~0ull : (1ull << f->bits) - 1;
			uint64_t raw = load_sample(scan + v->offset[c],
						   f->storage_bits / 8,
						   f->big_endian);
			uint64_t got = (raw >> f->shift) & mask;
			uint64_t want = (b->first_sample + n +
					 4096ull * v->scan_index[c]) & mask;

			if (got == want)
				continue;
			if (!bad && v->bad_blocks < 5)
				fprintf(stderr,
					"iiofab: verify: block seq %" PRIu64
					" scan %" PRIu64 " channel index %u: got %"
					PRIu64 ", want %" PRIu64 "\n", b->seq,
					b->first_sample + n, v->scan_index[c],
					got, want);
			bad++;
		}
	}
	v->checked_blocks++;
	if (bad) {
		if (v->bad_blocks < 5)
			describe_bad_block(v, b);
		v->bad_blocks++;
		v->bad_samples += bad;
	}
}

/* CLOCK_MONOTONIC, the clock of iiofab_block's ready_ns and landed_ns. */
static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static double now_s(void)
{
	return (double)now_ns() / 1e9;
}

/*
 * The timeout for iiofab_stream_next() when the caller must look again in
 * left_s seconds (INFINITY: no limit): -1 (the op timeout) when that is
 * further away, else the milliseconds left, at least 1.
 */
static int next_wait_ms(const struct opts *o, double left_s)
{
	unsigned int op_ms = o->timeout_ms ? o->timeout_ms :
		IIOFAB_DEFAULT_OP_TIMEOUT_MS;
	double left_ms = left_s * 1000;

	if (left_ms >= op_ms)
		return -1;
	return left_ms > 1 ? (int)left_ms : 1;
}

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

/* Splits "a,b,c" in place into a NULL-terminated list. */
static int split_channels(char *list, const char **out, size_t max)
{
	size_t n = 0;

	for (char *tok = strtok(list, ","); tok; tok = strtok(NULL, ",")) {
		if (n + 1 >= max)
			return -E2BIG;
		out[n++] = tok;
	}
	out[n] = NULL;
	return n ? 0 : -EINVAL;
}

struct capture {
	const struct opts *o;
	struct iiofab_stream *stream;
	struct verifier v;
	int fd;
	uint64_t samples;
	uint64_t bytes;
	uint64_t lost;
	double t0;
	double last_progress;
	bool progress;
};

static void show_progress(struct capture *c, bool final)
{
	double t = now_s() - c->t0;

	fprintf(stderr, "\r%" PRIu64 " samples, %.1f MB/s, %" PRIu64 " lost%s",
		c->samples, t > 0 ? c->bytes / t / 1e6 : 0.0, c->lost,
		final ? "\n" : "   ");
	c->last_progress = now_s();
}

/* Consumes blocks until the target; returns 0 or a negative errno. */
static int capture_loop(struct capture *c)
{
	const struct opts *o = c->o;
	size_t scan_bytes = iiofab_stream_get_scan_bytes(c->stream);
	int ret;

	for (;;) {
		struct iiofab_block *b;
		uint64_t take;

		if (o->samples && c->samples >= o->samples)
			return 0;
		if (o->seconds > 0 && now_s() - c->t0 >= o->seconds)
			return 0;
		/* Never wait past the end of a --seconds capture. */
		int wait_ms = next_wait_ms(o, o->seconds > 0 ?
					   o->seconds - (now_s() - c->t0) :
					   INFINITY);

		ret = iiofab_stream_next(c->stream, wait_ms, &b);
		if ((ret == -ETIMEDOUT || ret == -EAGAIN) && wait_ms >= 0)
			continue;	/* the loop head ends the capture */
		if (ret) {
			fprintf(stderr, "%siiofab: capture stopped: %s\n",
				c->progress ? "\n" : "", iiofab_strerror(ret));
			return ret;
		}
		c->lost += b->lost_samples;
		if (o->verify_ramp)
			verify_block(&c->v, b);
		take = b->samples;
		if (o->samples && take > o->samples - c->samples)
			take = o->samples - c->samples;
		ret = write_all(c->fd, b->data, (size_t)(take * scan_bytes));
		if (o->delay_ms)
			usleep(o->delay_ms * 1000u);
		iiofab_block_release(c->stream, b);
		if (ret) {
			fprintf(stderr, "%siiofab: cannot write %s: %s\n",
				c->progress ? "\n" : "", o->output, strerror(-ret));
			return ret;
		}
		c->samples += take;
		c->bytes += take * scan_bytes;
		if (c->progress && now_s() - c->last_progress >= 0.5)
			show_progress(c, false);
	}
}

/*
 * Connects to URI and opens an ADC stream on DEVICE (o->args[0] and [1])
 * with the options' channels and blocks, for capture and bench. Returns 0
 * with *ctx, *dev and *stream set, or what the command returns: 1 after an
 * error it reported (nothing left open), -EXIT_USAGE after a usage error.
 */
static int open_adc_stream(const struct opts *o, struct iiofab_ctx **ctx,
			   const struct iiofab_device **dev,
			   struct iiofab_stream **stream)
{
	const char *chan_list[MAX_CHANNELS + 1];
	char *chan_copy = NULL;
	int ret;

	*ctx = NULL;
	*stream = NULL;
	if (o->channels) {
		chan_copy = strdup(o->channels);
		if (!chan_copy || split_channels(chan_copy, chan_list, MAX_CHANNELS + 1)) {
			free(chan_copy);
			return usage_error("bad --channels '%s'", o->channels);
		}
	}
	if (connect_uri(o, o->args[0], ctx)) {
		*ctx = NULL;
		goto out_free_list;
	}
	*dev = find_device(*ctx, o->args[1]);
	if (!*dev)
		goto out_disconnect;
	if (iiofab_device_get_kind(*dev) != IIOFAB_DEVICE_INPUT) {
		fprintf(stderr, "iiofab: device %s is not an input (ADC) device\n",
			iiofab_device_get_id(*dev));
		goto out_disconnect;
	}
	for (unsigned int i = 0; o->channels && chan_list[i]; i++) {
		if (!iiofab_device_find_channel(*dev, chan_list[i], false)) {
			fprintf(stderr, "iiofab: device %s has no input channel '%s'\n",
				iiofab_device_get_id(*dev), chan_list[i]);
			goto out_disconnect;
		}
	}
	ret = iiofab_stream_open(*ctx, *dev, o->channels ? chan_list : NULL,
				 o->block_size, o->blocks, stream);
	if (ret) {
		fprintf(stderr, "iiofab: cannot open a stream on %s: %s\n",
			iiofab_device_get_id(*dev), iiofab_strerror(ret));
		goto out_disconnect;
	}
	free(chan_copy);
	if (o->verbosity > 0)
		fprintf(stderr, "iiofab: stream on %s: %u channels, %zu-byte scans, "
			"%u blocks of %zu bytes, registration path %s\n",
			iiofab_device_get_id(*dev),
			iiofab_stream_get_channels_count(*stream),
			iiofab_stream_get_scan_bytes(*stream), o->blocks,
			o->block_size, iiofab_stream_get_reg_path(*stream));
	return 0;

out_disconnect:
	iiofab_disconnect(*ctx);
	*ctx = NULL;
out_free_list:
	free(chan_copy);
	return 1;
}

/* The library's own counters, for -v. */
static void print_stream_stats(const struct iiofab_stream *stream)
{
	struct iiofab_stream_stats st;

	iiofab_stream_stats(stream, &st);
	fprintf(stderr, "iiofab: %" PRIu64 " blocks delivered, %" PRIu64
		" torn, %" PRIu64 " reclaimed before read, %" PRIu64
		" skipped, %" PRIu64 " RELEASE messages\n", st.blocks,
		st.torn_blocks, st.stale_blocks, st.skipped_blocks,
		st.releases_sent);
}

static int run_capture(const struct opts *o)
{
	struct capture c = { .o = o, .fd = -1 };
	const struct iiofab_device *dev;
	struct iiofab_ctx *ctx;
	double elapsed = 0;
	int ret, status = 1;

	if (o->nargs != 2)
		return usage_error("%s", "capture takes URI DEVICE");
	if (!o->output)
		return usage_error("%s", "capture needs -o FILE (or -o - for stdout)");
	if (!o->samples == !(o->seconds > 0))
		return usage_error("%s", "capture needs exactly one of --samples and --seconds");
	ret = open_adc_stream(o, &ctx, &dev, &c.stream);
	if (ret)
		return ret;
	if (o->verify_ramp && verifier_init(&c.v, c.stream)) {
		fprintf(stderr, "iiofab: --verify-ramp: unsupported sample format\n");
		goto out_close_stream;
	}
	if (!strcmp(o->output, "-")) {
		c.fd = STDOUT_FILENO;
	} else {
		c.fd = open(o->output, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
		if (c.fd < 0) {
			fprintf(stderr, "iiofab: cannot create %s: %s\n", o->output,
				strerror(errno));
			goto out_close_stream;
		}
	}
	c.progress = !o->no_progress && o->verbosity >= 0 && isatty(STDERR_FILENO);
	ret = iiofab_stream_start(c.stream);
	if (ret) {
		fprintf(stderr, "iiofab: cannot start the stream: %s\n",
			iiofab_strerror(ret));
		goto out_close_file;
	}
	c.t0 = now_s();
	c.last_progress = c.t0;
	ret = capture_loop(&c);
	elapsed = now_s() - c.t0;
	if (c.progress)
		show_progress(&c, true);
	if (!ret)
		status = 0;
	if (o->verbosity > 0)
		print_stream_stats(c.stream);
out_close_file:
	if (c.fd >= 0 && c.fd != STDOUT_FILENO && close(c.fd)) {
		fprintf(stderr, "iiofab: cannot write %s: %s\n", o->output,
			strerror(errno));
		status = 1;
	}
out_close_stream:
	iiofab_stream_close(c.stream);
	iiofab_disconnect(ctx);
	/* Reported last, after anything the teardown may have logged. */
	if (c.t0 > 0) {
		if (o->verify_ramp) {
			fprintf(stderr, "verify: %" PRIu64 " blocks checked, %" PRIu64
				" bad blocks, %" PRIu64 " bad samples\n",
				c.v.checked_blocks, c.v.bad_blocks, c.v.bad_samples);
			if (c.v.bad_blocks || !c.v.checked_blocks)
				status = 1;
		}
		fprintf(stderr, "captured %" PRIu64 " samples (%" PRIu64
			" bytes) in %.2f s, %.2f MB/s, %" PRIu64 " lost\n",
			c.samples, c.bytes, elapsed,
			elapsed > 0 ? c.bytes / elapsed / 1e6 : 0.0, c.lost);
	}
	return status;
}

/* ---- bench --------------------------------------------------------------- */

#define BENCH_DEFAULT_SECONDS 10

struct bench {
	const struct opts *o;
	struct iiofab_stream *stream;
	uint64_t window_ns;	/* the counted window with --seconds, else 0 */
	uint64_t count_ns;	/* end of the warm-up: blocks landing from here
				 * on are counted */
	uint64_t stop_ns;	/* when the loop stopped */
	bool started;
	bool counting;
	struct bench_lat lat;
	struct bench_report r;
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

/* Takes and releases blocks until the counted window is over; 0 or a
 * negative errno. */
static int bench_loop(struct bench *b)
{
	const struct opts *o = b->o;
	int ret;

	for (;;) {
		uint64_t now = now_ns();
		double left_s = INFINITY;
		struct iiofab_block *blk;
		int wait_ms;

		if (!b->counting && now >= b->count_ns) {
			b->counting = true;
			if (o->verbosity > 0)
				fprintf(stderr, "iiofab: bench: warm-up over, counting\n");
		}
		/* Wake up at the end of the warm-up and of the window. */
		if (!b->counting) {
			left_s = (double)(b->count_ns - now) / 1e9;
		} else if (o->samples ? b->r.samples >= o->samples :
			   now >= b->count_ns + b->window_ns) {
			b->stop_ns = now;
			return 0;
		} else if (!o->samples) {
			left_s = (double)(b->count_ns + b->window_ns - now) / 1e9;
		}
		wait_ms = next_wait_ms(o, left_s);
		ret = iiofab_stream_next(b->stream, wait_ms, &blk);
		if ((ret == -ETIMEDOUT || ret == -EAGAIN) && wait_ms >= 0)
			continue;	/* the loop head moves on */
		if (ret) {
			b->stop_ns = now_ns();
			fprintf(stderr, "iiofab: bench stopped: %s\n",
				iiofab_strerror(ret));
			return ret;
		}
		if (blk->landed_ns >= b->count_ns)
			ret = bench_count(b, blk);
		iiofab_block_release(b->stream, blk);
		if (ret) {
			b->stop_ns = now_ns();
			fprintf(stderr, "iiofab: bench: cannot keep the latencies: %s\n",
				strerror(-ret));
			return ret;
		}
	}
}

/* The figures on stdout (JSON or table) and, for the table, the summary
 * line on stderr; 0, or -EIO when stdout could not be written. */
static int bench_print(const struct bench *b)
{
	char text[4096];
	int ret;

	ret = b->o->json ? bench_format_json(&b->r, text, sizeof(text)) :
	      bench_format_table(&b->r, text, sizeof(text));
	if (ret >= 0)
		fputs(text, stdout);
	if (ret < 0 || fflush(stdout) || ferror(stdout)) {
		fprintf(stderr, "iiofab: cannot write the figures: %s\n",
			strerror(ret < 0 ? -ret : errno));
		return -EIO;
	}
	if (!b->o->json && bench_format_line(&b->r, text, sizeof(text)) >= 0)
		fputs(text, stderr);
	return 0;
}

static int run_bench(const struct opts *o)
{
	struct bench b = { .o = o };
	const struct iiofab_device *dev;
	struct iiofab_ctx *ctx;
	char device[256], reg_path[32];
	int ret, status = 1;

	if (o->nargs != 2)
		return usage_error("%s", "bench takes URI DEVICE");
	if (o->samples && o->seconds > 0)
		return usage_error("%s", "bench takes --samples or --seconds, not both");
	if (!o->samples)
		b.window_ns = (uint64_t)((o->seconds > 0 ? o->seconds :
					  BENCH_DEFAULT_SECONDS) * 1e9);
	ret = open_adc_stream(o, &ctx, &dev, &b.stream);
	if (ret)
		return ret;
	/* The report outlives the context that owns these strings. */
	snprintf(device, sizeof(device), "%s", iiofab_device_get_name(dev)[0] ?
		 iiofab_device_get_name(dev) : iiofab_device_get_id(dev));
	snprintf(reg_path, sizeof(reg_path), "%s",
		 iiofab_stream_get_reg_path(b.stream));
	b.r.device = device;
	b.r.reg_path = reg_path;
	b.r.block_size = iiofab_stream_get_block_size(b.stream);
	b.r.block_count = iiofab_stream_get_block_count(b.stream);
	b.r.channels = iiofab_stream_get_channels_count(b.stream);
	/* Before START: blocks may land while it waits for its reply. */
	b.count_ns = now_ns() + (uint64_t)(o->warmup * 1e9);
	ret = iiofab_stream_start(b.stream);
	if (ret) {
		fprintf(stderr, "iiofab: cannot start the stream: %s\n",
			iiofab_strerror(ret));
		goto out_close_stream;
	}
	b.started = true;
	ret = bench_loop(&b);
	if (o->verbosity > 0) {
		fprintf(stderr, "iiofab: bench: counting over\n");
		print_stream_stats(b.stream);
	}
	if (b.stop_ns > b.count_ns)
		b.r.seconds = (double)(b.stop_ns - b.count_ns) / 1e9;
	bench_lat_summarize(&b.lat, &b.r.lat);
	if (!ret && !b.r.blocks)
		fprintf(stderr, "iiofab: bench: no block landed in the %.3f s "
			"after the warm-up\n", b.r.seconds);
	else if (!ret)
		status = 0;
out_close_stream:
	iiofab_stream_close(b.stream);
	iiofab_disconnect(ctx);
	bench_lat_free(&b.lat);
	/* Reported last, after anything the teardown may have logged. */
	if (b.started && bench_print(&b))
		status = 1;
	return status;
}

/* ---- play ---------------------------------------------------------------- */

static volatile sig_atomic_t play_interrupted;

static void on_play_signal(int sig)
{
	(void)sig;
	play_interrupted = 1;
}

struct play {
	const struct opts *o;
	struct iiofab_stream *stream;
	int fd;
	size_t scan_bytes;
	bool progress;
	bool eof;
	size_t tail_bytes;	/* input bytes after the last whole scan */
	uint64_t samples;
	uint64_t bytes;
	double t0;
	double last_progress;
};

/* Fills buf with up to len bytes of input; returns bytes read or -errno. */
static ssize_t read_full(int fd, uint8_t *buf, size_t len)
{
	size_t n = 0;

	while (n < len) {
		ssize_t r = read(fd, buf + n, len - n);

		if (r < 0 && errno == EINTR) {
			if (play_interrupted)
				break;
			continue;
		}
		if (r < 0)
			return -errno;
		if (r == 0)
			break;
		n += (size_t)r;
	}
	return (ssize_t)n;
}

static void play_progress(struct play *p, bool final)
{
	struct iiofab_stream_stats st;
	double t = now_s() - p->t0;

	iiofab_stream_stats(p->stream, &st);
	fprintf(stderr, "\r%" PRIu64 " samples, %.1f MB/s, %" PRIu64 " underruns%s",
		p->samples, t > 0 ? p->bytes / t / 1e6 : 0.0, st.underruns,
		final ? "\n" : "   ");
	p->last_progress = now_s();
}

/* Streams the input block by block; returns 0 or a negative errno. */
static int play_loop(struct play *p)
{
	size_t block_size = iiofab_stream_get_block_size(p->stream);

	while (!p->eof && !play_interrupted) {
		void *data;
		ssize_t n;
		size_t whole;
		int blk = iiofab_stream_get_free(p->stream, -1, &data);

		if (blk == -EINTR && play_interrupted)
			break;
		if (blk < 0) {
			fprintf(stderr, "%siiofab: play stopped: %s\n",
				p->progress ? "\n" : "", iiofab_strerror(blk));
			return blk;
		}
		n = read_full(p->fd, data, block_size);
		if (n < 0) {
			fprintf(stderr, "%siiofab: cannot read %s: %s\n",
				p->progress ? "\n" : "", p->o->input, strerror((int)-n));
			return (int)n;
		}
		if ((size_t)n < block_size && !play_interrupted)
			p->eof = true;
		whole = (size_t)n / p->scan_bytes * p->scan_bytes;
		p->tail_bytes = (size_t)n - whole;
		if (!whole)
			break;
		if (p->o->delay_ms)
			usleep(p->o->delay_ms * 1000u);
		if (!p->t0)
			p->t0 = now_s();
		blk = iiofab_stream_submit(p->stream, blk, whole, 0);
		if (blk < 0) {
			fprintf(stderr, "%siiofab: cannot submit a block: %s\n",
				p->progress ? "\n" : "", iiofab_strerror(blk));
			return blk;
		}
		p->samples += whole / p->scan_bytes;
		p->bytes += whole;
		if (p->progress && now_s() - p->last_progress >= 0.5)
			play_progress(p, false);
	}
	return 0;
}

/* The whole input as one waveform, repeated until time is up or a signal. */
static int play_cyclic(struct play *p, uint8_t *wave, size_t len)
{
	void *data;
	int blk, ret;

	blk = iiofab_stream_get_free(p->stream, -1, &data);
	if (blk < 0) {
		fprintf(stderr, "iiofab: play stopped: %s\n", iiofab_strerror(blk));
		return blk;
	}
	memcpy(data, wave, len);
	p->t0 = now_s();
	ret = iiofab_stream_submit(p->stream, blk, len, IIOFAB_SUBMIT_CYCLIC);
	if (ret) {
		fprintf(stderr, "iiofab: cannot submit the waveform: %s\n",
			iiofab_strerror(ret));
		return ret;
	}
	p->samples = len / p->scan_bytes;
	p->bytes = len;
	while (!play_interrupted &&
	       !(p->o->seconds > 0 && now_s() - p->t0 >= p->o->seconds)) {
		/* Keeps the connection serviced (underrun reports, a dead
		 * server) while the converter repeats the block. */
		ret = iiofab_stream_get_free(p->stream, 100, &data);
		if (ret >= 0) {
			fprintf(stderr, "iiofab: the server gave the waveform's block back\n");
			return -EPIPE;
		}
		if (ret != -ETIMEDOUT && ret != -EAGAIN && ret != -EINTR) {
			fprintf(stderr, "%siiofab: play stopped: %s\n",
				p->progress ? "\n" : "", iiofab_strerror(ret));
			return ret;
		}
		if (p->progress && now_s() - p->last_progress >= 0.5)
			play_progress(p, false);
	}
	return 0;
}

/* Reads all of fd (a cyclic waveform); returns its length or -errno. */
static ssize_t slurp(int fd, uint8_t **out, size_t max)
{
	size_t cap = 1 << 20, n = 0;
	uint8_t *buf = malloc(cap);

	if (!buf)
		return -ENOMEM;
	for (;;) {
		ssize_t r;

		if (n == cap) {
			uint8_t *nb;

			if (cap >= max) {
				free(buf);
				return -EFBIG;
			}
			cap *= 2;
			nb = realloc(buf, cap);
			if (!nb) {
				free(buf);
				return -ENOMEM;
			}
			buf = nb;
		}
		r = read(fd, buf + n, cap - n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			r = -errno;
			free(buf);
			return r;
		}
		if (r == 0)
			break;
		n += (size_t)r;
	}
	if (n > max) {
		free(buf);
		return -EFBIG;
	}
	*out = buf;
	return (ssize_t)n;
}

/*
 * The scan size of the output channels in list (all when NULL), before a
 * stream exists to ask: the library lays it out as the server will.
 * 0 when they cannot be streamed.
 */
static size_t output_scan_bytes(const struct iiofab_device *dev, const char *const *list)
{
	uint64_t mask;
	int ret = iiofab_device_get_channel_mask(dev, true, list, &mask);

	if (!ret)
		ret = iiofab_device_get_scan_bytes(dev, true, mask);
	return ret > 0 ? (size_t)ret : 0;
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

static int run_play(const struct opts *o)
{
	const char *chan_list[MAX_CHANNELS + 1];
	struct play p = { .o = o, .fd = -1 };
	struct sigaction sa = { .sa_handler = on_play_signal };
	char *chan_copy = NULL;
	const struct iiofab_device *dev;
	struct iiofab_ctx *ctx = NULL;
	struct iiofab_stream_stats st = { 0 };
	uint8_t *wave = NULL;
	size_t block_size = o->block_size;
	ssize_t wave_len = 0;
	double elapsed = 0;
	int ret, status = 1;

	if (o->nargs != 2)
		return usage_error("%s", "play takes URI DEVICE");
	if (!o->input)
		return usage_error("%s", "play needs -i FILE (or -i - for stdin)");
	if (o->seconds > 0 && !o->cyclic)
		return usage_error("%s", "--seconds applies to --cyclic only "
				   "(a plain play ends with its input)");
	if (o->channels) {
		chan_copy = strdup(o->channels);
		if (!chan_copy || split_channels(chan_copy, chan_list, MAX_CHANNELS + 1)) {
			free(chan_copy);
			return usage_error("bad --channels '%s'", o->channels);
		}
	}
	if (!strcmp(o->input, "-")) {
		p.fd = STDIN_FILENO;
	} else {
		p.fd = open(o->input, O_RDONLY | O_CLOEXEC);
		if (p.fd < 0) {
			fprintf(stderr, "iiofab: cannot open %s: %s\n", o->input,
				strerror(errno));
			goto out_free_list;
		}
	}
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	if (connect_uri(o, o->args[0], &ctx))
		goto out_close_input;
	dev = find_device(ctx, o->args[1]);
	if (!dev)
		goto out_disconnect;
	if (iiofab_device_get_kind(dev) != IIOFAB_DEVICE_OUTPUT) {
		fprintf(stderr, "iiofab: device %s is not an output (DAC) device\n",
			iiofab_device_get_id(dev));
		goto out_disconnect;
	}
	for (unsigned int i = 0; o->channels && chan_list[i]; i++) {
		if (!iiofab_device_find_channel(dev, chan_list[i], true)) {
			fprintf(stderr, "iiofab: device %s has no output channel '%s'\n",
				iiofab_device_get_id(dev), chan_list[i]);
			goto out_disconnect;
		}
	}
	p.scan_bytes = output_scan_bytes(dev, o->channels ? chan_list : NULL);
	if (!p.scan_bytes) {
		fprintf(stderr, "iiofab: device %s has no scannable output channel\n",
			iiofab_device_get_id(dev));
		goto out_disconnect;
	}
	if (o->cyclic) {
		size_t unit = lcm((size_t)sysconf(_SC_PAGESIZE), p.scan_bytes);

		wave_len = slurp(p.fd, &wave, o->block_size_set ? block_size : UINT32_MAX - unit);
		if (wave_len < 0) {
			fprintf(stderr, "iiofab: cannot read %s: %s\n", o->input,
				wave_len == -EFBIG ? "the waveform is larger than one block" :
				strerror((int)-wave_len));
			goto out_disconnect;
		}
		if (!wave_len || wave_len % p.scan_bytes) {
			fprintf(stderr, "iiofab: the waveform (%zd bytes) is not a non-zero "
				"number of %zu-byte scans\n", wave_len, p.scan_bytes);
			goto out_free_wave;
		}
		if (!o->block_size_set)
			block_size = ((size_t)wave_len + unit - 1) / unit * unit;
	}
	ret = iiofab_stream_open_output(ctx, dev, o->channels ? chan_list : NULL,
					block_size, o->cyclic ? 1 : o->blocks, &p.stream);
	if (ret) {
		fprintf(stderr, "iiofab: cannot open a stream on %s: %s\n",
			iiofab_device_get_id(dev), iiofab_strerror(ret));
		goto out_free_wave;
	}
	p.progress = !o->no_progress && o->verbosity >= 0 && isatty(STDERR_FILENO);
	if (o->verbosity > 0)
		fprintf(stderr, "iiofab: output stream on %s: %u channels, %zu-byte scans, "
			"%u blocks of %zu bytes, registration path %s\n",
			iiofab_device_get_id(dev),
			iiofab_stream_get_channels_count(p.stream),
			iiofab_stream_get_scan_bytes(p.stream),
			iiofab_stream_get_block_count(p.stream), block_size,
			iiofab_stream_get_reg_path(p.stream));
	ret = iiofab_stream_start(p.stream);
	if (ret) {
		fprintf(stderr, "iiofab: cannot start the stream: %s\n",
			iiofab_strerror(ret));
		goto out_close_stream;
	}
	p.last_progress = now_s();
	if (o->cyclic)
		ret = play_cyclic(&p, wave, (size_t)wave_len);
	else
		ret = play_loop(&p);
	if (!ret && !o->cyclic) {
		ret = iiofab_stream_drain(p.stream, -1);
		if (ret)
			fprintf(stderr, "%siiofab: the converter did not consume every "
				"block: %s\n", p.progress ? "\n" : "", iiofab_strerror(ret));
	}
	elapsed = p.t0 > 0 ? now_s() - p.t0 : 0;
	iiofab_stream_stats(p.stream, &st);
	if (p.progress)
		play_progress(&p, true);
	if (!ret)
		status = 0;
	if (p.tail_bytes) {
		fprintf(stderr, "iiofab: the input ends with %zu byte(s) that are not "
			"a whole %zu-byte scan; they were not played\n",
			p.tail_bytes, p.scan_bytes);
		status = 1;
	}
	if (play_interrupted && !o->cyclic) {
		fprintf(stderr, "iiofab: interrupted; the samples read so far were played\n");
		status = 1;
	}
	if (o->verbosity > 0)
		fprintf(stderr, "iiofab: %" PRIu64 " blocks submitted, %" PRIu64
			" consumed, %" PRIu64 " SUBMIT messages\n", st.blocks,
			st.consumed_blocks, st.submits_sent);
out_close_stream:
	iiofab_stream_close(p.stream);
out_free_wave:
	free(wave);
out_disconnect:
	iiofab_disconnect(ctx);
	/* Reported last, after anything the teardown may have logged. */
	if (p.t0 > 0)
		fprintf(stderr, "played %" PRIu64 " samples (%" PRIu64
			" bytes) in %.2f s, %.2f MB/s, %" PRIu64 " underruns\n",
			p.samples, p.bytes, elapsed,
			elapsed > 0 ? p.bytes / elapsed / 1e6 : 0.0, st.underruns);
out_close_input:
	if (p.fd >= 0 && p.fd != STDIN_FILENO)
		close(p.fd);
out_free_list:
	free(chan_copy);
	return status;
}

static int run(int argc, char **argv)
{
	struct opts o = { 0 };
	int ret = parse_args(argc, argv, &o);

	if (ret > 0)
		return 0;
	if (ret < 0)
		return -ret;
	switch (o.cmd) {
	case CMD_INFO:
		ret = run_info(&o);
		break;
	case CMD_ATTR:
		ret = run_attr(&o);
		break;
	case CMD_CAPTURE:
		ret = run_capture(&o);
		break;
	case CMD_STAT:
		ret = run_stat(&o);
		break;
	case CMD_PLAY:
		ret = run_play(&o);
		break;
	case CMD_BENCH:
		ret = run_bench(&o);
		break;
	default:
		ret = EXIT_USAGE;
		break;
	}
	return ret < 0 ? -ret : ret;
}

int main(int argc, char **argv)
{
	return run(argc, argv);
}
