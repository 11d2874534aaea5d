// SPDX-License-Identifier: MIT
/*
 * adc_poll: stream an ADC from iiofabd inside your own poll() loop.
 *
 *   adc_poll rdma://board [DEVICE] [BLOCKS]
 *
 * Set IIOFAB_PSK to the pre-shared key when the server requires one.
 * Prints one line per block: sequence number, first scan, scans, lost scans.
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <iiofab.h>

static void log_to_stderr(void *user, enum iiofab_log_level level,
			  const char *msg)
{
	fprintf(stderr, "libiiofab: %s\n", msg);
}

/* Takes every block that is ready now; returns blocks taken or -errno. */
static int drain(struct iiofab_stream *stream, unsigned int *left)
{
	struct iiofab_block *b;
	int n = 0, ret;

	while (*left) {
		ret = iiofab_stream_next(stream, 0, &b);
		if (ret == -EAGAIN)
			break;
		if (ret)
			return ret;
		printf("block %llu: scans %llu..%llu, %zu bytes, lost %llu\n",
		       (unsigned long long)b->seq,
		       (unsigned long long)b->first_sample,
		       (unsigned long long)(b->first_sample + b->samples - 1),
		       b->bytes, (unsigned long long)b->lost_samples);
		iiofab_block_release(stream, b);
		(*left)--;
		n++;
	}
	return n;
}

static int stream_blocks(struct iiofab_stream *stream, unsigned int count)
{
	struct pollfd pfd = { .fd = iiofab_stream_fd(stream), .events = POLLIN };
	int ret;

	ret = iiofab_stream_start(stream);
	if (ret)
		return ret;
	while (count) {
		/* Drain first: a wake-up may have been consumed already. */
		ret = drain(stream, &count);
		if (ret < 0)
			return ret;
		if (!count)
			break;
		ret = poll(&pfd, 1, 5000);
		if (ret < 0)
			return -errno;
		if (ret == 0)
			return -ETIMEDOUT;
	}
	return 0;
}

static int run(const char *uri, const char *dev_name, unsigned int count)
{
	const char *key = getenv("IIOFAB_PSK");
	struct iiofab_params params = {
		.psk = key,
		.psk_len = key ? strlen(key) : 0,
		.log_fn = log_to_stderr,
		.log_level = IIOFAB_LOG_WARNING,
	};
	const struct iiofab_device *dev = NULL;
	struct iiofab_stream *stream;
	struct iiofab_ctx *ctx;
	int ret;

	ret = iiofab_connect(uri, &params, &ctx);
	if (ret)
		return ret;
	if (dev_name) {
		dev = iiofab_ctx_find_device(ctx, dev_name);
	} else {
		for (unsigned int i = 0; i < iiofab_ctx_get_devices_count(ctx); i++) {
			dev = iiofab_ctx_get_device(ctx, i);
			if (iiofab_device_get_kind(dev) == IIOFAB_DEVICE_INPUT)
				break;
			dev = NULL;
		}
	}
	if (!dev) {
		ret = -ENODEV;
		goto out_disconnect;
	}
	/* All input channels, 16 blocks of 64 KiB. */
	ret = iiofab_stream_open(ctx, dev, NULL, 64 * 1024, 16, &stream);
	if (ret)
		goto out_disconnect;
	ret = stream_blocks(stream, count);
	iiofab_stream_close(stream);
out_disconnect:
	iiofab_disconnect(ctx);
	return ret;
}

int main(int argc, char **argv)
{
	unsigned int count = 16;
	int ret;

	if (argc < 2 || argc > 4) {
		fprintf(stderr, "usage: %s rdma://host[:port] [DEVICE] [BLOCKS]\n",
			argv[0]);
		return 2;
	}
	if (argc == 4)
		count = (unsigned int)strtoul(argv[3], NULL, 0);
	ret = run(argv[1], argc >= 3 ? argv[2] : NULL, count);
	if (ret) {
		fprintf(stderr, "%s: %s\n", argv[0], iiofab_strerror(ret));
		return 1;
	}
	return 0;
}
