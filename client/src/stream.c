// SPDX-License-Identifier: MIT
/*
 * What every stream does, whatever its direction (see stream.h): open
 * (arguments, landing buffer and its MR, OPEN_STREAM, the subscription
 * with rpc, the idle hook), start, the STREAM_EVENT handler, close and
 * the getters.
 *
 * Close lets a healthy connection finish what is in flight (bounded by
 * the op timeout), then STOPs and CLOSEs on the server. Once the
 * connection has failed it flushes the transport instead: every
 * outstanding operation completes with its flush status, so nothing can
 * still target the landing buffer when it is freed.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <iiofab/err.h>
#include <iiofab/scan.h>

#include "ctx.h"
#include "stream.h"

/* ERROR carries an enum iiofab_wire_status, never a host's errno value. */
static int server_error(const struct iiofab_stream *s, uint64_t value)
{
	int32_t status = (int32_t)value;

	if (value == IIOFAB_WIRE_STATUS_OK || value > IIOFAB_WIRE_STATUS_MAX) {
		iiofab_log_err(&s->ctx->log,
			       "stream error on the server: unknown status %llu",
			       (unsigned long long)value);
		return -EIO;
	}
	iiofab_log_err(&s->ctx->log, "stream error on the server: %s (%s)",
		       iiofab_wire_status_name(status),
		       iiofab_wire_status_str(status));
	return iiofab_wire_status_to_errno(status);
}

void stream_on_event(struct rpc_sub *sub,
		     const struct iiofab_msg_stream_event *ev)
{
	struct iiofab_stream *s = stream_of_sub(sub);

	switch (ev->event) {
	case IIOFAB_WIRE_EVENT_UNDERRUN:
		/* A running total: a late report never lowers it. */
		if (ev->value > s->stats.underruns)
			s->stats.underruns = ev->value;
		break;
	case IIOFAB_WIRE_EVENT_STOPPED:
		iiofab_log_err(&s->ctx->log, "the server stopped the stream");
		if (!s->err)
			s->err = -EPIPE;
		break;
	case IIOFAB_WIRE_EVENT_KEEPALIVE:
		break;
	case IIOFAB_WIRE_EVENT_ERROR: {
		int err = server_error(s, ev->value);

		if (!s->err)
			s->err = err;
		break;
	}
	default:
		iiofab_log_debug(&s->ctx->log, "stream event %u value %llu",
				 ev->event, (unsigned long long)ev->value);
		break;
	}
}

static void stream_idle(struct transport_idle *idle)
{
	struct iiofab_stream *s = (struct iiofab_stream *)
		((char *)idle - offsetof(struct iiofab_stream, idle));

	s->ops->idle(s);
}

/* Undoes a stream_open(), also a partial one. */
static void stream_free(struct iiofab_stream *s)
{
	transport_remove_idle(s->ctx->xp, &s->idle);
	rpc_unsubscribe(s->ctx->rpc, &s->sub);
	s->ops->fini(s);
	if (s->landing_mr)
		ibv_dereg_mr(s->landing_mr);
	free(s->landing);
	free(s);
}

static int alloc_landing(struct iiofab_stream *s)
{
	size_t len = s->block_size * s->block_count;
	int err;

	if (posix_memalign((void **)&s->landing, 4096, len))
		return -ENOMEM;
	/* Registration pins every page anyway. Defined contents also keep
	 * memory checkers quiet about bytes only the NIC writes. */
	memset(s->landing, 0, len);
	s->landing_mr = ibv_reg_mr(transport_pd(s->ctx->xp), s->landing, len,
				   IBV_ACCESS_LOCAL_WRITE);
	if (s->landing_mr)
		return 0;
	err = iiofab_err_errno(-ENOMEM);
	iiofab_log_err(&s->ctx->log,
		       "cannot register a %zu-byte landing buffer: %s (RLIMIT_MEMLOCK?)",
		       len, iiofab_strerror(err));
	return err;
}

static int check_args(struct iiofab_ctx *ctx, const struct iiofab_device *dev,
		      uint64_t channel_mask, size_t block_size,
		      unsigned int block_count, uint8_t mode)
{
	long page = sysconf(_SC_PAGESIZE);

	if (!dev || dev->ctx != ctx)
		return -EINVAL;
	if (mode > IIOFAB_WIRE_MODE_SHARD) {
		iiofab_log_err(&ctx->log, "unknown stream mode %u", mode);
		return -EINVAL;
	}
	if (!channel_mask) {
		iiofab_log_err(&ctx->log, "no channel enabled");
		return -EINVAL;
	}
	if (block_size == 0 || block_size > UINT32_MAX ||
	    block_size % (size_t)page) {
		iiofab_log_err(&ctx->log,
			       "block size %zu is not a non-zero multiple of the page size (%ld)",
			       block_size, page);
		return -EINVAL;
	}
	if (block_count == 0 || block_count > STREAM_MAX_BLOCKS) {
		iiofab_log_err(&ctx->log, "block count %u is not in 1..%u",
			       block_count, STREAM_MAX_BLOCKS);
		return -EINVAL;
	}
	return 0;
}

/* The enabled channels, as STREAM_INFO lists them, in scan order. */
static int take_channels(struct iiofab_stream *s,
			 const struct iiofab_msg_stream_info *si)
{
	struct iiofab_scan_elem elems[IIOFAB_WIRE_MAX_CHANNELS];
	const struct iiofab_device *dev = s->dev;

	for (unsigned int i = 0; i < si->n_channels; i++)
		elems[i] = (struct iiofab_scan_elem){ si->channels[i].storage_bits, 1 };
	if (iiofab_scan_layout(elems, si->n_channels, s->offsets) !=
	    (int)si->scan_bytes) {
		iiofab_log_err(&s->ctx->log,
			       "STREAM_INFO: %u-byte scans do not fit its channels' formats",
			       si->scan_bytes);
		return -EPROTO;
	}
	s->n_channels = 0;
	for (unsigned int i = 0; i < si->n_channels; i++) {
		const struct iiofab_channel *ch = NULL;

		for (unsigned int j = 0; j < dev->n_channels; j++)
			if (dev->channels[j].output == s->ops->output &&
			    dev->channels[j].scan_index == si->channels[i].scan_index)
				ch = &dev->channels[j];
		if (ch)
			s->channels[s->n_channels++] = ch;
	}
	return 0;
}

static int take_stream_info(struct iiofab_stream *s,
			    const struct iiofab_msg_stream_info *si)
{
	long page = sysconf(_SC_PAGESIZE);
	bool joinable = s->mode != IIOFAB_WIRE_MODE_EXCLUSIVE;

	/* A shared stream may be in force already, in its own sizes. */
	if (joinable && si->block_count >= 1 && si->block_count <= STREAM_MAX_BLOCKS &&
	    si->block_size && si->block_size % (size_t)page == 0) {
		s->block_count = si->block_count;
		s->block_size = si->block_size;
	}
	if (si->block_count != s->block_count || si->block_size != s->block_size ||
	    !si->scan_bytes || si->n_channels == 0) {
		iiofab_log_err(&s->ctx->log,
			       "STREAM_INFO does not match the request (%u x %u bytes)",
			       si->block_count, si->block_size);
		return -EPROTO;
	}
	s->scan_bytes = si->scan_bytes;
	s->reg_path = si->reg_path;
	s->gen_addr = si->gen_addr;
	s->gen_rkey = si->gen_rkey;
	memcpy(s->remote, si->blocks, s->block_count * sizeof(s->remote[0]));
	return take_channels(s, si);
}

/* OPEN_STREAM; a server answer we cannot use is closed again. */
static int open_remote(struct iiofab_stream *s, uint64_t channel_mask)
{
	struct rpc *rpc = s->ctx->rpc;
	union iiofab_wire_msg *m = rpc_request_msg(rpc);
	struct rpc_reply r;
	int ret;

	memset(&m->open_stream, 0, sizeof(m->open_stream));
	m->open_stream.device = iiofab_wire_str(s->dev->id);
	m->open_stream.channel_mask = channel_mask;
	m->open_stream.block_size = (uint32_t)s->block_size;
	m->open_stream.block_count = s->block_count;
	m->open_stream.direction = s->ops->output ? IIOFAB_WIRE_DIR_OUT :
						    IIOFAB_WIRE_DIR_IN;
	m->open_stream.mode = s->mode;
	ret = rpc_call(rpc, IIOFAB_MSG_OPEN_STREAM, m, IIOFAB_MSG_STREAM_INFO, &r);
	if (ret < 0)
		return ret;
	s->id = r.msg->stream_info.stream_id;
	ret = take_stream_info(s, &r.msg->stream_info);
	rpc_reply_done(rpc, &r);
	if (ret)
		rpc_call_stream_ctl(rpc, IIOFAB_MSG_CLOSE, s->id);
	return ret;
}

int stream_open(struct iiofab_ctx *ctx, const struct iiofab_device *dev,
		const struct stream_ops *ops, uint64_t channel_mask,
		size_t block_size, unsigned int block_count, uint8_t mode,
		struct iiofab_stream **out)
{
	struct iiofab_stream *s;
	int ret;

	*out = NULL;
	ret = transport_error(ctx->xp);
	if (ret)
		return ret;
	/* Policy of this room, not a limit of the layers below. */
	if (ctx->stream)
		return -EBUSY;
	ret = check_args(ctx, dev, channel_mask, block_size, block_count, mode);
	if (ret)
		return ret;
	s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	s->ctx = ctx;
	s->dev = dev;
	s->ops = ops;
	s->mode = mode;
	s->block_size = block_size;
	s->block_count = block_count;
	/* First: a stream we join tells the sizes to allocate. Nothing
	 * arrives for it before START. */
	ret = open_remote(s, channel_mask);
	if (ret)
		goto out_free_stream;
	ret = alloc_landing(s);
	if (!ret)
		ret = ops->init(s);
	if (ret)
		goto out_close_remote;
	s->sub = (struct rpc_sub){ .ops = ops->sub, .stream_id = s->id };
	ret = rpc_subscribe(ctx->rpc, &s->sub);
	if (ret)
		goto out_close_remote;
	s->idle.run = stream_idle;
	transport_add_idle(ctx->xp, &s->idle);
	ctx->stream = s;
	*out = s;
	return 0;

out_close_remote:
	rpc_call_stream_ctl(ctx->rpc, IIOFAB_MSG_CLOSE, s->id);
out_free_stream:
	stream_free(s);
	return ret;
}

/* Says which of the named channels is the problem. */
static void log_bad_channels(struct iiofab_ctx *ctx,
			     const struct iiofab_device *dev, bool output,
			     const char *const *channels)
{
	for (unsigned int i = 0; channels[i]; i++) {
		const struct iiofab_channel *ch =
			iiofab_device_find_channel(dev, channels[i], output);

		if (!ch)
			iiofab_log_err(&ctx->log, "device %s has no %s channel '%s'",
				       dev->id, output ? "output" : "input",
				       channels[i]);
		else if (ch->scan_index < 0)
			iiofab_log_err(&ctx->log, "channel '%s' cannot be streamed",
				       channels[i]);
	}
}

int stream_open_named(struct iiofab_ctx *ctx, const struct iiofab_device *dev,
		      const struct stream_ops *ops, const char *const *channels,
		      size_t block_size, unsigned int block_count,
		      struct iiofab_stream **out)
{
	uint64_t mask = 0;
	int ret;

	*out = NULL;
	if (!dev)
		return -EINVAL;
	/* Without names an empty mask is open's to report. */
	ret = iiofab_device_get_channel_mask(dev, ops->output, channels, &mask);
	if (ret < 0 && channels) {
		log_bad_channels(ctx, dev, ops->output, channels);
		return ret;
	}
	return stream_open(ctx, dev, ops, mask, block_size, block_count,
			   IIOFAB_WIRE_MODE_EXCLUSIVE, out);
}

int iiofab_stream_start(struct iiofab_stream *s)
{
	int ret;

	if (s->err)
		return s->err;
	ret = transport_error(s->ctx->xp);
	if (ret || s->started)
		return ret;
	ret = rpc_call_stream_ctl(s->ctx->rpc, IIOFAB_MSG_START, s->id);
	if (!ret)
		s->started = true;
	return ret;
}

static bool stream_quiet(void *arg)
{
	const struct iiofab_stream *s = arg;

	return s->ops->quiet(s);
}

/* On a healthy connection: let what is in flight finish, STOP, CLOSE. */
static void close_remote(struct iiofab_stream *s)
{
	struct iiofab_ctx *ctx = s->ctx;

	if (s->started && s->ops->drain)
		s->ops->drain(s);
	s->closing = true;
	/* No READ may target the landing buffer once it is freed, and the
	 * server's MR must outlive our READs: they finish before CLOSE. */
	if (!stream_quiet(s) &&
	    ctx_wait(ctx, -1, stream_quiet, s))
		transport_fail(ctx->xp, -ETIMEDOUT,
			       "RDMA operations of the stream did not complete");
	if (s->started && !transport_error(ctx->xp))
		rpc_call_stream_ctl(ctx->rpc, IIOFAB_MSG_STOP, s->id);
	if (!transport_error(ctx->xp))
		rpc_call_stream_ctl(ctx->rpc, IIOFAB_MSG_CLOSE, s->id);
}

void iiofab_stream_close(struct iiofab_stream *s)
{
	struct iiofab_ctx *ctx;

	if (!s)
		return;
	ctx = s->ctx;
	if (!transport_error(ctx->xp))
		close_remote(s);
	s->closing = true;
	/* Failed, before or during the close: every outstanding operation
	 * completes with its flush status before the memory goes. */
	if (transport_error(ctx->xp))
		transport_flush(ctx->xp);
	ctx->stream = NULL;
	stream_free(s);
}

/* ---- getters ------------------------------------------------------------ */

int iiofab_stream_fd(const struct iiofab_stream *s)
{
	return transport_fd(s->ctx->xp);
}

unsigned int iiofab_stream_get_quiet_ms(const struct iiofab_stream *s)
{
	return transport_quiet_ms(s->ctx->xp);
}

size_t iiofab_stream_get_scan_bytes(const struct iiofab_stream *s)
{
	return s->scan_bytes;
}

size_t iiofab_stream_get_block_size(const struct iiofab_stream *s)
{
	return s->block_size;
}

unsigned int iiofab_stream_get_block_count(const struct iiofab_stream *s)
{
	return s->block_count;
}

enum iiofab_stream_mode iiofab_stream_get_mode(const struct iiofab_stream *s)
{
	return (enum iiofab_stream_mode)s->mode;
}

unsigned int iiofab_stream_get_channels_count(const struct iiofab_stream *s)
{
	return s->n_channels;
}

const struct iiofab_channel *
iiofab_stream_get_channel(const struct iiofab_stream *s, unsigned int index)
{
	return index < s->n_channels ? s->channels[index] : NULL;
}

size_t iiofab_stream_get_channel_offset(const struct iiofab_stream *s,
					unsigned int index)
{
	return index < s->n_channels ? s->offsets[index] : 0;
}

const char *iiofab_stream_get_reg_path(const struct iiofab_stream *s)
{
	return iiofab_wire_reg_path_name(s->reg_path);
}

int iiofab_stream_stats(const struct iiofab_stream *s,
			struct iiofab_stream_stats *stats)
{
	*stats = s->stats;
	return 0;
}
