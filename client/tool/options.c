// SPDX-License-Identifier: MIT
/*
 * Every option of the tool, defined once: its names, argument, help line
 * and parser. Commands name the options they take (struct tool_cmd_opt);
 * the common ones every command takes. Options may come anywhere on the
 * command line, before the command too, so all of them are parsed first
 * and checked against the command afterwards.
 */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <iiofab/wire.h>

#include "tool.h"

#define XSTR(x) STR(x)
#define STR(x) #x

/* getopt_long's value of a long option: past every short letter. */
#define LONG_VAL 256
/* Help: the column option texts start at, and the line width. */
#define HELP_COL 24
#define HELP_WIDTH 79

_Static_assert(TOOL_OPT_COUNT <= 32, "struct tool_opts keeps seen options in 32 bits");

struct tool_option {
	const char *name;
	char letter;		/* 0: no short form */
	const char *arg;	/* the argument's name in the help; NULL: a flag */
	const char *help;	/* wrapped to the help's width when printed */
	const char *hint;	/* after "bad --NAME 'ARG'" */
	int (*parse)(struct tool_opts *o, const char *arg);	/* 0, -EINVAL */
};

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

static int opt_psk_file(struct tool_opts *o, const char *arg)
{
	o->psk_file = arg;
	return 0;
}

static int opt_insecure(struct tool_opts *o, const char *arg)
{
	o->insecure = true;
	return 0;
}

static int opt_timeout(struct tool_opts *o, const char *arg)
{
	uint64_t v;

	if (parse_size(arg, &v, 1000) || !v || v > INT_MAX)
		return -EINVAL;
	o->timeout_ms = (unsigned int)v;
	return 0;
}

static int opt_verbose(struct tool_opts *o, const char *arg)
{
	o->verbosity++;
	return 0;
}

static int opt_quiet(struct tool_opts *o, const char *arg)
{
	o->verbosity = -1;
	return 0;
}

static int opt_help(struct tool_opts *o, const char *arg)
{
	o->help = true;
	return 0;
}

static int opt_version(struct tool_opts *o, const char *arg)
{
	o->version = true;
	return 0;
}

/* The list's form only: whether its names exist is the device's to say. */
static int opt_channels(struct tool_opts *o, const char *arg)
{
	const char *list = arg;
	char name[TOOL_NAME_MAX];
	unsigned int n = 0;
	int ret;

	while (!(ret = tool_list_next(&list, name, sizeof(name))))
		n++;
	if (ret != -ENOENT || !n || n > TOOL_MAX_CHANNELS)
		return -EINVAL;
	o->channels = arg;
	return 0;
}

static int opt_samples(struct tool_opts *o, const char *arg)
{
	return parse_size(arg, &o->samples, 1000) || !o->samples ? -EINVAL : 0;
}

static int opt_seconds(struct tool_opts *o, const char *arg)
{
	return parse_seconds(arg, false, &o->seconds);
}

static int opt_block_size(struct tool_opts *o, const char *arg)
{
	uint64_t v;

	if (parse_size(arg, &v, 1024) || v > UINT32_MAX)
		return -EINVAL;
	o->block_size = (size_t)v;
	o->block_size_set = true;
	return 0;
}

/* A number of blocks, 1..256 (the protocol's block count limit). */
static int parse_blocks(const char *arg, unsigned int *out)
{
	uint64_t v;

	if (parse_size(arg, &v, 1000) || v < 1 || v > 256)
		return -EINVAL;
	*out = (unsigned int)v;
	return 0;
}

static int opt_blocks(struct tool_opts *o, const char *arg)
{
	return parse_blocks(arg, &o->blocks);
}

static int opt_output(struct tool_opts *o, const char *arg)
{
	o->output = arg;
	return 0;
}

static int opt_input(struct tool_opts *o, const char *arg)
{
	o->input = arg;
	return 0;
}

static int opt_cyclic(struct tool_opts *o, const char *arg)
{
	o->cyclic = true;
	return 0;
}

static int parse_pattern(const char *s, enum tool_pattern *out)
{
	if (!strcmp(s, "ramp"))
		*out = TOOL_PATTERN_RAMP;
	else if (!strcmp(s, "counter"))
		*out = TOOL_PATTERN_COUNTER;
	else
		return -EINVAL;
	return 0;
}

static int opt_mode(struct tool_opts *o, const char *arg)
{
	if (!strcmp(arg, "exclusive"))
		o->mode = IIOFAB_STREAM_EXCLUSIVE;
	else if (!strcmp(arg, "fanout"))
		o->mode = IIOFAB_STREAM_FANOUT;
	else if (!strcmp(arg, "shard"))
		o->mode = IIOFAB_STREAM_SHARD;
	else
		return -EINVAL;
	return 0;
}

static int opt_block_log(struct tool_opts *o, const char *arg)
{
	o->block_log = arg;
	return 0;
}

static int opt_verify(struct tool_opts *o, const char *arg)
{
	return parse_pattern(arg, &o->verify);
}

static int opt_verify_ramp(struct tool_opts *o, const char *arg)
{
	o->verify = TOOL_PATTERN_RAMP;
	return 0;
}

static int opt_delay_ms(struct tool_opts *o, const char *arg)
{
	uint64_t v;

	if (parse_size(arg, &v, 1000) || v > 600000)
		return -EINVAL;
	o->delay_ms = (unsigned int)v;
	return 0;
}

static int opt_prefill(struct tool_opts *o, const char *arg)
{
	return parse_blocks(arg, &o->prefill);
}

static int opt_no_progress(struct tool_opts *o, const char *arg)
{
	o->no_progress = true;
	return 0;
}

static int opt_buffer(struct tool_opts *o, const char *arg)
{
	o->buffer_attr = true;
	return 0;
}

static int opt_output_channel(struct tool_opts *o, const char *arg)
{
	o->output_channel = true;
	return 0;
}

static int opt_warmup(struct tool_opts *o, const char *arg)
{
	return parse_seconds(arg, true, &o->warmup);
}

static int opt_json(struct tool_opts *o, const char *arg)
{
	o->json = true;
	return 0;
}

static int opt_sync(struct tool_opts *o, const char *arg)
{
	o->sync = true;
	return 0;
}

static int opt_push(struct tool_opts *o, const char *arg)
{
	return parse_pattern(arg, &o->push);
}

static const struct tool_option options[TOOL_OPT_COUNT] = {
	[TOOL_OPT_PSK_FILE] = { "psk-file", 'k', "FILE",
		"authenticate with the pre-shared key in FILE (its bytes, a "
		"trailing newline ignored, 16 to 1024 of them); the server must "
		"prove the same key", NULL, opt_psk_file },
	[TOOL_OPT_INSECURE] = { "insecure", 0, NULL,
		"connect without a key (the server must allow it); the default "
		"when no --psk-file is given", NULL, opt_insecure },
	[TOOL_OPT_TIMEOUT] = { "timeout", 't', "MS",
		"connect and request timeout, also the longest wait for the "
		"server while streaming (default "
		XSTR(IIOFAB_DEFAULT_OP_TIMEOUT_MS) ")", " (milliseconds)",
		opt_timeout },
	[TOOL_OPT_VERBOSE] = { "verbose", 'v', NULL,
		"log library details to stderr (repeat for debug)", NULL,
		opt_verbose },
	[TOOL_OPT_QUIET] = { "quiet", 'q', NULL, "print only errors", NULL,
		opt_quiet },
	[TOOL_OPT_HELP] = { "help", 'h', NULL, "this help", NULL, opt_help },
	[TOOL_OPT_VERSION] = { "version", 'V', NULL,
		"print the version and exit", NULL, opt_version },
	[TOOL_OPT_CHANNELS] = { "channels", 'c', "LIST",
		"comma-separated channel ids or names (default: every scannable "
		"channel)", NULL, opt_channels },
	[TOOL_OPT_SAMPLES] = { "samples", 'n', "N",
		"stop after N scans (suffixes k, M, G: 1000^n)", NULL,
		opt_samples },
	[TOOL_OPT_SECONDS] = { "seconds", 's', "S",
		"stop after S seconds (fractions allowed)", NULL, opt_seconds },
	[TOOL_OPT_BLOCK_SIZE] = { "block-size", 'b', "B",
		"bytes per block, a multiple of the page size and of the scan "
		"size (suffixes K, M: 1024^n; default 1M)", NULL,
		opt_block_size },
	[TOOL_OPT_BLOCKS] = { "blocks", 'B', "K",
		"blocks in flight, 1..256 (default 8)", " (1..256)", opt_blocks },
	[TOOL_OPT_OUTPUT] = { "output", 'o', "FILE",
		"output file, '-' for standard output (required)", NULL,
		opt_output },
	[TOOL_OPT_INPUT] = { "input", 'i', "FILE",
		"input file, '-' for standard input (required)", NULL,
		opt_input },
	[TOOL_OPT_CYCLIC] = { "cyclic", 0, NULL,
		"repeat the input as a waveform", NULL, opt_cyclic },
	[TOOL_OPT_VERIFY] = { "verify", 0, "PATTERN",
		"check every sample against the simulator's pattern (ramp or counter)",
		" (ramp or counter)", opt_verify },
	[TOOL_OPT_MODE] = { "mode", 'm', "MODE",
		"how hosts share the stream: exclusive (default), fanout or shard",
		" (exclusive, fanout or shard)", opt_mode },
	[TOOL_OPT_BLOCK_LOG] = { "block-log", 0, "FILE",
		"write one line per delivered block to FILE", NULL, opt_block_log },
	[TOOL_OPT_VERIFY_RAMP] = { "verify-ramp", 0, NULL,
		"the same as --verify ramp", NULL, opt_verify_ramp },
	[TOOL_OPT_DELAY_MS] = { "delay-ms", 0, "MS",
		"pause MS milliseconds at every block", NULL, opt_delay_ms },
	[TOOL_OPT_PREFILL] = { "prefill", 0, "K",
		"start the converter once K blocks are on the board, 1..--blocks "
		"(default: every block)", " (1..256)", opt_prefill },
	[TOOL_OPT_NO_PROGRESS] = { "no-progress", 0, NULL,
		"no progress line even on a terminal", NULL, opt_no_progress },
	[TOOL_OPT_BUFFER] = { "buffer", 0, NULL,
		"DEVICE's buffer attribute (no CHANNEL)", NULL, opt_buffer },
	[TOOL_OPT_OUTPUT_CHANNEL] = { "output-channel", 0, NULL,
		"CHANNEL is an output channel", NULL, opt_output_channel },
	[TOOL_OPT_WARMUP] = { "warmup", 0, "S",
		"leave out the blocks that land in the first S seconds of the "
		"stream (default 1; 0 counts from the first block)", NULL,
		opt_warmup },
	[TOOL_OPT_JSON] = { "json", 0, NULL,
		"one JSON object on stdout instead of the table", NULL,
		opt_json },
	[TOOL_OPT_PUSH] = { "push", 0, "PATTERN",
		"push the simulator's pattern (ramp or counter) to an output "
		"device", " (ramp or counter)", opt_push },
	[TOOL_OPT_SYNC] = { "sync", 0, NULL,
		"count from the first SIGUSR1 to the second instead of after the "
		"warm-up", NULL, opt_sync },
};

/* The options before TOOL_OPT_CHANNELS apply to every command. */
static bool is_common(enum tool_opt id)
{
	return id < TOOL_OPT_CHANNELS;
}

int tool_usage(const char *fmt, ...)
{
	va_list ap;

	fputs("iiofab: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputs("\nTry 'iiofab --help' or 'iiofab COMMAND --help'.\n", stderr);
	return TOOL_EXIT_USAGE;
}

int tool_list_next(const char **list, char *buf, size_t len)
{
	const char *p = *list;
	size_t n;

	while (*p == ',')
		p++;
	if (!*p)
		return -ENOENT;
	n = strcspn(p, ",");
	*list = p + n;
	if (n >= len)
		return -ENAMETOOLONG;
	memcpy(buf, p, n);
	buf[n] = '\0';
	return 0;
}

unsigned int tool_op_timeout_ms(const struct tool_opts *o)
{
	return o->timeout_ms ? o->timeout_ms : IIOFAB_DEFAULT_OP_TIMEOUT_MS;
}

/* getopt_long's view of the table: lo[] ends with a zeroed entry. */
static void getopt_tables(struct option *lo, char *so)
{
	*so++ = ':';	/* report a missing argument as ':', print nothing */
	for (int i = 0; i < TOOL_OPT_COUNT; i++) {
		lo[i] = (struct option){
			.name = options[i].name,
			.has_arg = options[i].arg ? required_argument : no_argument,
			.val = LONG_VAL + i,
		};
		if (options[i].letter) {
			*so++ = options[i].letter;
			if (options[i].arg)
				*so++ = ':';
		}
	}
	lo[TOOL_OPT_COUNT] = (struct option){ 0 };
	*so = '\0';
}

/* The option getopt_long() returned c for, or -1. */
static int option_id(int c)
{
	if (c >= LONG_VAL && c < LONG_VAL + TOOL_OPT_COUNT)
		return c - LONG_VAL;
	for (int i = 0; i < TOOL_OPT_COUNT; i++)
		if (options[i].letter && options[i].letter == c)
			return i;
	return -1;
}

static int bad_option(int c, char **argv)
{
	const char *what = argv[optind - 1];
	char letter[3] = { '-', (char)optopt, '\0' };

	/* A short option's letter may sit inside a group such as -vx. */
	if (optopt > 0 && optopt < LONG_VAL)
		what = letter;
	if (c == ':')
		tool_usage("option '%s' needs an argument", what);
	else
		tool_usage("unknown option '%s'", what);
	return -EINVAL;
}

static void set_defaults(struct tool_opts *o)
{
	*o = (struct tool_opts){
		.block_size = 1 << 20,
		.blocks = 8,
		.warmup = 1.0,
	};
}

int tool_parse_args(int argc, char **argv, struct tool_opts *o)
{
	struct option lo[TOOL_OPT_COUNT + 1];
	char so[2 * TOOL_OPT_COUNT + 2];
	int c;

	set_defaults(o);
	getopt_tables(lo, so);
	/* --version answers at once, whatever follows it. */
	while (!o->version && (c = getopt_long(argc, argv, so, lo, NULL)) != -1) {
		int id = option_id(c);

		if (id < 0)
			return bad_option(c, argv);
		o->seen |= 1u << id;
		if (options[id].parse(o, optarg)) {
			tool_usage("bad --%s '%s'%s", options[id].name, optarg,
				   options[id].hint ? options[id].hint : "");
			return -EINVAL;
		}
	}
	o->args = argv + optind;
	o->nargs = argc - optind;
	return 0;
}

static bool cmd_takes(const struct tool_cmd *cmd, enum tool_opt id)
{
	for (size_t i = 0; i < cmd->n_opts; i++)
		if (cmd->opts[i].id == id)
			return true;
	return is_common(id);
}

int tool_check_options(const struct tool_opts *o, const struct tool_cmd *cmd)
{
	for (int id = 0; id < TOOL_OPT_COUNT; id++) {
		if ((o->seen & (1u << id)) && !cmd_takes(cmd, id)) {
			tool_usage("option --%s does not apply to this command",
				   options[id].name);
			return -EINVAL;
		}
	}
	if (o->psk_file && o->insecure) {
		tool_usage("%s", "--psk-file and --insecure exclude each other");
		return -EINVAL;
	}
	return 0;
}

/* text from column col on, wrapped at HELP_WIDTH, continued at col. */
static void print_wrapped(FILE *f, const char *text, int col)
{
	int pos = col;

	while (*text) {
		size_t len = strcspn(text, " ");

		if (pos > col && pos + 1 + (int)len > HELP_WIDTH) {
			fprintf(f, "\n%*s", col, "");
			pos = col;
		} else if (pos > col) {
			fputc(' ', f);
			pos++;
		}
		fwrite(text, 1, len, f);
		pos += (int)len;
		text += len;
		text += strspn(text, " ");
	}
	fputc('\n', f);
}

/* "  -c, --channels LIST   comma-separated ..." */
static void print_option(FILE *f, enum tool_opt id, const char *help)
{
	const struct tool_option *opt = &options[id];
	char label[64];
	int n;

	if (opt->letter)
		n = snprintf(label, sizeof(label), "  -%c, --%s%s%s", opt->letter,
			     opt->name, opt->arg ? " " : "", opt->arg ? opt->arg : "");
	else
		n = snprintf(label, sizeof(label), "      --%s%s%s", opt->name,
			     opt->arg ? " " : "", opt->arg ? opt->arg : "");
	if (n + 2 > HELP_COL)
		fprintf(f, "%s\n%*s", label, HELP_COL, "");
	else
		fprintf(f, "%-*s", HELP_COL, label);
	print_wrapped(f, help ? help : opt->help, HELP_COL);
}

void tool_print_options(FILE *f, const struct tool_cmd *cmd)
{
	fputs("Options:\n", f);
	for (size_t i = 0; i < cmd->n_opts; i++)
		print_option(f, cmd->opts[i].id, cmd->opts[i].help);
}

void tool_print_common_options(FILE *f)
{
	fputs("Common options:\n", f);
	for (int id = 0; id < TOOL_OPT_COUNT; id++)
		if (is_common(id))
			print_option(f, id, NULL);
	fprintf(f, "URI is rdma://host[:port]; the default port is %d.\n"
		"Exit status: 0 on success, 1 on any error, 2 on a usage error.\n",
		IIOFAB_DEFAULT_PORT);
}
