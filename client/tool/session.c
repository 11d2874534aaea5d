// SPDX-License-Identifier: MIT
/*
 * What every command does before it does its own work: connect with the
 * options' key and timeouts, find the device, turn --channels into the
 * channel mask the library lays scans out from, open and start a stream.
 * Each step says why it failed; the caller only passes the error on.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include <iiofab/auth.h>

#include <iiofab/clock.h>

#include "tool.h"

int tool_connect(const struct tool_opts *o, const char *uri,
		 struct iiofab_ctx **ctx)
{
	struct iiofab_logger lg = tool_logger(o->verbosity);
	struct iiofab_key key = { .len = 0 };
	struct iiofab_params p = {
		.connect_timeout_ms = o->timeout_ms,
		.op_timeout_ms = o->timeout_ms,
		.log_fn = tool_lib_log,
		.log_level = tool_log_level(o->verbosity),
		.client_name = "iiofab",
	};
	int ret;

	*ctx = NULL;
	if (o->psk_file) {
		ret = iiofab_key_read(o->psk_file, &key, &lg);
		if (ret)
			return ret;
		p.psk = key.bytes;
		p.psk_len = key.len;
	}
	ret = iiofab_connect(uri, &p, ctx);
	iiofab_key_wipe(&key);
	if (ret) {
		*ctx = NULL;
		tool_err("cannot connect to %s: %s", uri, iiofab_strerror(ret));
		if (ret == -EACCES && !o->psk_file)
			tool_err("the server requires a key: use --psk-file FILE");
	}
	return ret;
}

const struct iiofab_device *tool_find_device(const struct iiofab_ctx *ctx,
					     const char *name)
{
	const struct iiofab_device *dev = iiofab_ctx_find_device(ctx, name);

	if (dev)
		return dev;
	fprintf(stderr, "iiofab: unknown device '%s'; the server has:", name);
	for (unsigned int i = 0; i < iiofab_ctx_get_devices_count(ctx); i++) {
		const struct iiofab_device *d = iiofab_ctx_get_device(ctx, i);

		fprintf(stderr, " %s (%s)", iiofab_device_get_id(d),
			iiofab_device_get_name(d));
	}
	fputc('\n', stderr);
	return NULL;
}

/* The mask of one named channel, or why it has none. */
static int channel_bit(const struct iiofab_device *dev, bool output,
		       const char *name, uint64_t *bit)
{
	const char *one[] = { name, NULL };
	int ret = iiofab_device_get_channel_mask(dev, output, one, bit);

	if (ret == -ENOENT)
		tool_err("device %s has no %s channel '%s'",
			 iiofab_device_get_id(dev), output ? "output" : "input", name);
	else if (ret)
		tool_err("channel '%s' of %s cannot be streamed", name,
			 iiofab_device_get_id(dev));
	return ret;
}

/* The channel mask of list (NULL: every scannable channel). */
static int channel_mask(const struct iiofab_device *dev, bool output,
			const char *list, uint64_t *mask)
{
	char name[TOOL_NAME_MAX];
	uint64_t bit;
	int ret;

	*mask = 0;
	if (!list) {
		ret = iiofab_device_get_channel_mask(dev, output, NULL, mask);
		if (ret)
			tool_err("device %s has no scannable %s channel",
				 iiofab_device_get_id(dev), output ? "output" : "input");
		return ret;
	}
	while ((ret = tool_list_next(&list, name, sizeof(name))) != -ENOENT) {
		/* opt_channels() made sure every name fits. */
		if (!ret)
			ret = channel_bit(dev, output, name, &bit);
		if (ret)
			return ret;
		*mask |= bit;
	}
	return 0;
}

int tool_session_open(struct tool_session *s, const struct tool_opts *o,
		      bool output)
{
	enum iiofab_device_kind kind = output ? IIOFAB_DEVICE_OUTPUT :
					       IIOFAB_DEVICE_INPUT;
	int ret;

	*s = (struct tool_session){ .begin_ns = iiofab_now_ns() };
	ret = tool_connect(o, o->args[0], &s->ctx);
	if (ret)
		return ret;
	s->connected_ns = iiofab_now_ns();
	s->dev = tool_find_device(s->ctx, o->args[1]);
	if (!s->dev) {
		ret = -ENODEV;
		goto out_disconnect;
	}
	if (iiofab_device_get_kind(s->dev) != kind) {
		tool_err("device %s is not an %s device", iiofab_device_get_id(s->dev),
			 output ? "output (DAC)" : "input (ADC)");
		ret = -ENODEV;
		goto out_disconnect;
	}
	ret = channel_mask(s->dev, output, o->channels, &s->mask);
	if (ret)
		goto out_disconnect;
	return 0;

out_disconnect:
	tool_session_close(s);
	return ret;
}

int tool_session_stream(struct tool_session *s, const struct tool_opts *o,
			bool output, size_t block_size, unsigned int blocks)
{
	int ret = output ?
		iiofab_stream_open_output_mask(s->ctx, s->dev, s->mask, block_size,
					       blocks, &s->stream) :
		iiofab_stream_open_mode(s->ctx, s->dev, s->mask, block_size,
					blocks, o->mode, &s->stream);

	s->opened_ns = iiofab_now_ns();
	if (ret) {
		s->stream = NULL;
		tool_err("cannot open a stream on %s: %s",
			 iiofab_device_get_id(s->dev), iiofab_strerror(ret));
		return ret;
	}
	if (o->verbosity > 0)
		tool_err("%sstream on %s: %u channels, %zu-byte scans, %u blocks of "
			 "%zu bytes, registration path %s", output ? "output " : "",
			 iiofab_device_get_id(s->dev),
			 iiofab_stream_get_channels_count(s->stream),
			 iiofab_stream_get_scan_bytes(s->stream),
			 iiofab_stream_get_block_count(s->stream),
			 iiofab_stream_get_block_size(s->stream),
			 iiofab_stream_get_reg_path(s->stream));
	return 0;
}

int tool_session_start(struct tool_session *s)
{
	int ret = iiofab_stream_start(s->stream);

	s->started_ns = iiofab_now_ns();
	if (ret)
		tool_err("cannot start the stream: %s", iiofab_strerror(ret));
	return ret;
}

void tool_session_close(struct tool_session *s)
{
	iiofab_stream_close(s->stream);
	s->stream = NULL;
	iiofab_disconnect(s->ctx);
	s->ctx = NULL;
	s->dev = NULL;
}

void tool_session_landed(struct tool_session *s, const struct iiofab_block *b)
{
	tool_session_consumed(s, b->landed_ns);
}

void tool_session_consumed(struct tool_session *s, uint64_t ns)
{
	if (!s->first_ns)
		s->first_ns = ns;
}

static double ms_between(uint64_t a, uint64_t b)
{
	return b > a ? (double)(b - a) / 1e6 : 0;
}

void tool_session_startup(const struct tool_session *s, struct bench_startup *out)
{
	*out = (struct bench_startup){ 0 };
	if (!s->first_ns)
		return;
	out->connect_ms = ms_between(s->begin_ns, s->connected_ns);
	out->open_ms = ms_between(s->connected_ns, s->opened_ns);
	out->start_ms = ms_between(s->opened_ns, s->started_ns);
	out->first_block_ms = ms_between(s->started_ns, s->first_ns);
	out->total_ms = ms_between(s->begin_ns, s->first_ns);
}

void tool_print_startup(const struct tool_session *s)
{
	struct bench_startup st;
	char line[256];

	tool_session_startup(s, &st);
	if (st.total_ms > 0 && bench_format_startup(&st, line, sizeof(line)) > 0) {
		line[strcspn(line, "\n")] = '\0';
		tool_err("%s", line);
	}
}

int tool_stream_layout(const struct iiofab_stream *stream,
		       enum tool_pattern pattern, struct tool_layout *l)
{
	*l = (struct tool_layout){
		.n = iiofab_stream_get_channels_count(stream),
		.scan_bytes = iiofab_stream_get_scan_bytes(stream),
	};
	if (!l->n || l->n > TOOL_MAX_CHANNELS)
		return -EINVAL;
	for (unsigned int i = 0; i < l->n; i++) {
		const struct iiofab_channel *ch = iiofab_stream_get_channel(stream, i);

		l->fmt[i] = *iiofab_channel_get_format(ch);
		l->scan_index[i] = (unsigned int)iiofab_channel_get_scan_index(ch);
		l->offset[i] = iiofab_stream_get_channel_offset(stream, i);
	}
	return tool_layout_check(l, pattern);
}

void tool_print_input_stats(const struct iiofab_stream *stream)
{
	struct iiofab_stream_stats st;

	iiofab_stream_stats(stream, &st);
	tool_err("%" PRIu64 " blocks delivered, %" PRIu64 " torn, %" PRIu64
		 " reclaimed before read, %" PRIu64 " skipped, %" PRIu64
		 " RELEASE messages", st.blocks, st.torn_blocks, st.stale_blocks,
		 st.skipped_blocks, st.releases_sent);
}

void tool_print_output_stats(const struct iiofab_stream_stats *st)
{
	tool_err("%" PRIu64 " blocks submitted, %" PRIu64 " consumed, %" PRIu64
		 " SUBMIT messages", st->blocks, st->consumed_blocks, st->submits_sent);
}
