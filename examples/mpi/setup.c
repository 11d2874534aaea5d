// SPDX-License-Identifier: MIT
/* Arguments, the key file, connecting and joining the shard stream. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "shard.h"

#define PROG "iiofab_mpi_shard"
/* The key file rules of iiofabd --psk-file. */
#define KEY_MIN 16
#define KEY_MAX 1024

static void usage(FILE *f)
{
	fprintf(f,
		"usage: " PROG " URI --blocks N [options]\n"
		"  (normally under mpirun: mpirun --hostfile hosts -np 3 " PROG " rdma://board --blocks 240)\n"
		"Every rank joins one shard stream of the ADC, sums each channel and its\n"
		"squares over the blocks with seq < N it gets, and stops at its first block\n"
		"with seq >= N. Rank 0 checks that every block in [0, N) was processed once\n"
		"or reported lost, and compares the sums with the closed form of the\n"
		"simulator's counter pattern (pattern counter) over the scans delivered.\n"
		"Prints PASS or FAIL last; exit status 0 only on PASS.\n"
		"\n"
		"  URI                 rdma://host[:port] of iiofabd\n"
		"  -N, --blocks N      blocks to process, seq 0..N-1 (required, >= 1)\n"
		"  -d, --device NAME   ADC id, name or label (default: the first input device)\n"
		"  -c, --channels LIST comma-separated channel ids or names (default: all inputs);\n"
		"                      each must be 16 bits, little endian\n"
		"  -b, --block-size B  bytes per block of a new stream (default 65536)\n"
		"  -B, --block-count K blocks of a new stream, 1..256 (default 16)\n"
		"  -k, --psk-file FILE pre-shared key (without one the server must run --insecure)\n"
		"  -t, --timeout MS    longest wait for a block, ms (default 10000)\n"
		"      --test-bad-sum R  test only: rank R adds 1 to its first sum, so the\n"
		"                      check must FAIL\n"
		"  -h, --help          this text\n");
}

__attribute__((format(printf, 1, 2)))
static int bad(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, PROG ": ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\n(try " PROG " --help)\n");
	return 2;
}

/* A whole decimal number in [min, max]. */
static bool number(const char *s, uint64_t min, uint64_t max, uint64_t *out)
{
	char *end;
	unsigned long long v;

	if (!*s || *s == '-')
		return false;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || *end || v < min || v > max)
		return false;
	*out = v;
	return true;
}

/* One option into o; 2 (printed) when its value is bad. */
static int option(int c, const char *arg, struct shard_opts *o)
{
	uint64_t v;

	switch (c) {
	case 'N':
		if (!number(arg, 1, UINT64_C(1) << 40, &o->blocks))
			return bad("--blocks: '%s' is not a number of blocks >= 1", arg);
		return 0;
	case 'd': o->device = arg; return 0;
	case 'c': o->channels = arg; return 0;
	case 'k': o->psk_file = arg; return 0;
	case 'b':
		if (!number(arg, 1, UINT64_C(1) << 30, &v))
			return bad("--block-size: '%s' is not a size in bytes", arg);
		o->block_size = v;
		return 0;
	case 'B':
		if (!number(arg, 1, 256, &v))
			return bad("--block-count: '%s' is not 1..256", arg);
		o->block_count = (unsigned int)v;
		return 0;
	case 't':
		if (!number(arg, 1, INT_MAX, &v))
			return bad("--timeout: '%s' is not a time in ms >= 1", arg);
		o->timeout_ms = (int)v;
		return 0;
	case 'x':
		if (!number(arg, 0, INT_MAX, &v))
			return bad("--test-bad-sum: '%s' is not a rank", arg);
		o->bad_sum_rank = (int)v;
		return 0;
	}
	return bad("unknown option");
}

int shard_parse(int argc, char **argv, struct shard_opts *o)
{
	static const struct option longs[] = {
		{ "blocks", required_argument, NULL, 'N' },
		{ "device", required_argument, NULL, 'd' },
		{ "channels", required_argument, NULL, 'c' },
		{ "block-size", required_argument, NULL, 'b' },
		{ "block-count", required_argument, NULL, 'B' },
		{ "psk-file", required_argument, NULL, 'k' },
		{ "timeout", required_argument, NULL, 't' },
		{ "test-bad-sum", required_argument, NULL, 'x' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	int c, ret;

	*o = (struct shard_opts){
		.block_size = 65536, .block_count = 16, .timeout_ms = 10000, .bad_sum_rank = -1,
	};
	while ((c = getopt_long(argc, argv, "N:d:c:b:B:k:t:h", longs, NULL)) != -1) {
		if (c == 'h') {
			usage(stdout);
			return 0;
		}
		if (c == '?')
			return bad("bad option (see above)");
		ret = option(c, optarg, o);
		if (ret)
			return ret;
	}
	if (optind != argc - 1)
		return bad(optind == argc ? "missing URI" : "more than one URI");
	o->uri = argv[optind];
	if (strncmp(o->uri, "rdma://", 7) != 0)
		return bad("URI '%s' does not start with rdma://", o->uri);
	if (!o->blocks)
		return bad("--blocks N is required");
	return -1;
}

static void log_line(void *user, enum iiofab_log_level level, const char *msg)
{
	const struct shard_opts *o = user;

	fprintf(stderr, PROG ": rank %d: libiiofab: %s\n", o->rank, msg);
}

/* As iiofabd reads it: raw bytes, one trailing newline dropped. */
static int read_key(const char *path, unsigned char *key, size_t *len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return -errno;
	n = read(fd, key, KEY_MAX + 1);
	close(fd);
	if (n < 0)
		return -errno;
	if (n > 0 && key[n - 1] == '\n')
		n--;
	if (n < KEY_MIN || n > KEY_MAX)
		return -EINVAL;
	*len = (size_t)n;
	return 0;
}

int shard_connect(const struct shard_opts *o, struct iiofab_ctx **ctx)
{
	unsigned char key[KEY_MAX + 1];
	struct iiofab_params p = {
		.log_fn = log_line, .log_level = IIOFAB_LOG_WARNING,
		.user_data = (void *)o, .client_name = PROG,
	};
	int ret;

	*ctx = NULL;
	if (o->psk_file) {
		ret = read_key(o->psk_file, key, &p.psk_len);
		if (ret) {
			fprintf(stderr, PROG ": rank %d: key file %s: %s (a key is %d..%d bytes)\n",
				o->rank, o->psk_file, iiofab_strerror(ret), KEY_MIN, KEY_MAX);
			explicit_bzero(key, sizeof(key));
			return ret;
		}
		p.psk = key;
	}
	ret = iiofab_connect(o->uri, &p, ctx);
	explicit_bzero(key, sizeof(key));
	if (ret)
		fprintf(stderr, PROG ": rank %d: connect %s: %s\n", o->rank, o->uri,
			iiofab_strerror(ret));
	return ret;
}

static const struct iiofab_device *find_adc(const struct iiofab_ctx *ctx, const char *name)
{
	if (name)
		return iiofab_ctx_find_device(ctx, name);
	for (unsigned int i = 0; i < iiofab_ctx_get_devices_count(ctx); i++) {
		const struct iiofab_device *dev = iiofab_ctx_get_device(ctx, i);

		if (iiofab_device_get_kind(dev) == IIOFAB_DEVICE_INPUT)
			return dev;
	}
	return NULL;
}

/* The mask of a comma-separated list (NULL: every input channel). */
static int channel_mask(const struct iiofab_device *dev, const char *list, uint64_t *mask)
{
	const char *names[SHARD_MAX_CHANNELS + 1];
	char *copy, *save = NULL, *tok;
	unsigned int n = 0;
	int ret;

	if (!list)
		return iiofab_device_get_channel_mask(dev, false, NULL, mask);
	copy = strdup(list);
	if (!copy)
		return -ENOMEM;
	for (tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		if (n == SHARD_MAX_CHANNELS) {
			free(copy);
			return -E2BIG;
		}
		names[n++] = tok;
	}
	names[n] = NULL;
	ret = n ? iiofab_device_get_channel_mask(dev, false, names, mask) : -EINVAL;
	free(copy);
	return ret;
}

/* The closed forms describe 16-bit little-endian samples. */
static int check_formats(const struct shard_opts *o, struct iiofab_stream *s)
{
	unsigned int n = iiofab_stream_get_channels_count(s);

	if (n > SHARD_MAX_CHANNELS) {
		fprintf(stderr, PROG ": rank %d: %u channels, at most %d\n", o->rank, n,
			SHARD_MAX_CHANNELS);
		return -E2BIG;
	}
	for (unsigned int i = 0; i < n; i++) {
		const struct iiofab_channel *ch = iiofab_stream_get_channel(s, i);
		const struct iiofab_data_format *f = iiofab_channel_get_format(ch);

		if (f->storage_bits != 16 || f->big_endian) {
			fprintf(stderr, PROG ": rank %d: channel %s is not 16-bit little endian\n",
				o->rank, iiofab_channel_get_id(ch));
			return -EINVAL;
		}
	}
	return (int)n;
}

int shard_open(struct iiofab_ctx *ctx, const struct shard_opts *o,
	       struct shard_result *r, struct iiofab_stream **s)
{
	const struct iiofab_device *dev = find_adc(ctx, o->device);
	uint64_t mask;
	int ret;

	*s = NULL;
	if (!dev) {
		fprintf(stderr, PROG ": rank %d: %s %s\n", o->rank,
			o->device ? "no device" : "no input device", o->device ? o->device : "");
		return -ENODEV;
	}
	ret = channel_mask(dev, o->channels, &mask);
	if (ret) {
		fprintf(stderr, PROG ": rank %d: channels %s: %s\n", o->rank,
			o->channels ? o->channels : "(all)", iiofab_strerror(ret));
		return ret;
	}
	ret = iiofab_stream_open_mode(ctx, dev, mask, o->block_size, o->block_count,
				      IIOFAB_STREAM_SHARD, s);
	if (ret) {
		fprintf(stderr, PROG ": rank %d: shard stream on %s: %s\n", o->rank,
			iiofab_device_get_id(dev), iiofab_strerror(ret));
		return ret;
	}
	ret = check_formats(o, *s);
	if (ret < 0) {
		iiofab_stream_close(*s);
		*s = NULL;
		return ret;
	}
	r->channels = (unsigned int)ret;
	return 0;
}
