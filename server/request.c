// SPDX-License-Identifier: MIT
/*
 * Stream requests: OPEN_STREAM checks what it can before touching the
 * converter, opens the converter's buffer, makes the stream and the
 * client's subscription (its own registration) and answers STREAM_INFO;
 * START/STOP/CLOSE, RELEASE and SUBMIT go to the stream room.
 */
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "srv_conv.h"
#include "srv_iio.h"
#include "srv_proto.h"
#include "srv_stream.h"
#include "srv_xport.h"

static struct srv_sub *find_sub(struct srv_client *cl, uint32_t req_id, uint32_t stream_id)
{
	for (struct srv_sub *sub = cl->subs; sub; sub = sub->owner_next)
		if (sub->st->id == stream_id)
			return sub;
	srv_reply_error(cl, req_id, -ESRCH, "no stream %u on this connection", stream_id);
	return NULL;
}

/* What OPEN_STREAM asks, checked against the device: 0 or -errno (refusal filled). */
static int check_open(struct srv_client *cl, const struct iiofab_msg_open_stream *m,
		      const char *name, const struct iio_device *dev, struct srv_scan *scan,
		      struct srv_refusal *why)
{
	long page = sysconf(_SC_PAGESIZE);
	bool output = m->direction == IIOFAB_WIRE_DIR_OUT;
	int err;

	if (m->mode > IIOFAB_WIRE_MODE_SHARD)
		return srv_refuse(why, -EINVAL, "unknown stream mode %u", m->mode);
	if (output && m->mode != IIOFAB_WIRE_MODE_EXCLUSIVE)
		return srv_refuse(why, -EINVAL, "output streams are exclusive: %s is for input "
				  "streams", iiofab_wire_mode_name(m->mode));
	err = srv_iio_scan_layout(dev, output, m->channel_mask, scan);
	if (err == -EINVAL && !m->channel_mask)
		return srv_refuse(why, -EINVAL, "channel mask is empty");
	if (err < 0)
		return srv_refuse(why, -ENXIO, "channel mask 0x%llx names scan indices that %s "
				  "has no scannable %s channel for",
				  (unsigned long long)m->channel_mask, name,
				  output ? "output" : "input");
	if (!m->block_size || m->block_size % page)
		return srv_refuse(why, -EINVAL, "block size %u is not a non-zero multiple of "
				  "the page size (%ld)", m->block_size, page);
	if (m->block_size % scan->scan_bytes)
		return srv_refuse(why, -EINVAL, "block size %u is not a multiple of the scan "
				  "size (%u bytes)", m->block_size, scan->scan_bytes);
	if (m->block_count < 1 || m->block_count > IIOFAB_WIRE_MAX_BLOCKS)
		return srv_refuse(why, -EINVAL, "block count %u is outside 1..%d",
				  m->block_count, IIOFAB_WIRE_MAX_BLOCKS);
	return 0;
}

static int create_stream(struct srv_client *cl, const struct iiofab_msg_open_stream *m,
			 const char *name, const struct iio_device *dev,
			 const struct srv_scan *scan, struct srv_stream **st,
			 struct srv_refusal *why)
{
	bool output = m->direction == IIOFAB_WIRE_DIR_OUT;
	struct srv_stream_params p = {
		.block_size = m->block_size, .count = m->block_count, .mode = m->mode, .scan = scan,
		.device = dev, .device_id = srv_iio_dev_id(dev), .channel_mask = m->channel_mask,
	};
	struct srv_conv *conv;
	int err;

	err = srv_conv_open(&conv, cl->env->loop, dev, output, scan, m->block_size,
			    m->block_count, cl->env->log);
	if (err == -EBUSY)
		return srv_refuse(why, err, "%s is busy (another stream or program owns its buffer)",
				  name);
	if (err == -EOPNOTSUPP)
		return srv_refuse(why, err, "%s's buffer does not support DMABUF", name);
	if (err < 0)
		return srv_refuse(why, err, "cannot create stream on %s: %s", name, strerror(-err));
	err = srv_stream_create(cl->env->streams, conv, output ? &srv_dac_ops : &srv_adc_ops,
				&p, st);
	if (err < 0)
		return srv_refuse(why, err, "cannot create stream on %s: %s", name, strerror(-err));
	return 0;
}

/*
 * An input stream in fan-out or shard mode takes more subscribers: the same
 * mode and channels join it (in its block size and count); anything else
 * is refused with what holds the device.
 */
static int find_or_create(struct srv_client *cl, const struct iiofab_msg_open_stream *m,
			  const char *name, const struct iio_device *dev,
			  const struct srv_scan *scan, struct srv_stream **st, bool *joined,
			  struct srv_refusal *why)
{
	struct srv_stream *cur = srv_stream_find(cl->env->streams, dev,
						 m->direction == IIOFAB_WIRE_DIR_OUT);

	*joined = cur != NULL;
	if (!cur)
		return create_stream(cl, m, name, dev, scan, st, why);
	if (cur->mode == IIOFAB_WIRE_MODE_EXCLUSIVE)
		return srv_refuse(why, -EBUSY, "%s is busy: exclusive %s stream %u (channels "
				  "0x%llx) holds it", name, cur->ops->name, cur->id,
				  (unsigned long long)cur->channel_mask);
	if (m->mode != cur->mode || m->channel_mask != cur->channel_mask)
		return srv_refuse(why, -EBUSY, "%s is busy: %s stream %u (channels 0x%llx, %u "
				  "subscriber(s)) holds it; open it %s with channels 0x%llx to "
				  "join", name, iiofab_wire_mode_name(cur->mode), cur->id,
				  (unsigned long long)cur->channel_mask, cur->n_subs,
				  iiofab_wire_mode_name(cur->mode),
				  (unsigned long long)cur->channel_mask);
	*st = cur;
	return 0;
}

static int subscribe(struct srv_client *cl, struct srv_stream *st, struct srv_sub **sub,
		     struct srv_refusal *why)
{
	struct srv_sink sink = { &srv_xport_sink_ops, cl->x };
	int err = srv_sub_add(st, &sink, srv_xport_pd(cl->x), sub);

	if (err < 0) {
		iiofab_log_err(cl->env->log, "client %llu: registration failed: %s",
			       (unsigned long long)cl->cid, strerror(-err));
		return srv_refuse(why, err, "RDMA registration failed: %s", strerror(-err));
	}
	(*sub)->owner_id = cl->cid;
	(*sub)->owner_peer = cl->peer;
	(*sub)->owner_next = cl->subs;
	cl->subs = *sub;
	if ((*sub)->reg->path == SRV_REG_DMABUF)
		iiofab_log_info(cl->env->log, "client %llu: stream %u registered with %s "
				"(one MR per block)", (unsigned long long)cl->cid, st->id,
				iiofab_wire_reg_path_name(IIOFAB_WIRE_REG_DMABUF));
	else
		iiofab_log_info(cl->env->log, "client %llu: stream %u registered with %s "
				"(ibv_reg_dmabuf_mr: %s; zero-copy over the same pages)",
				(unsigned long long)cl->cid, st->id,
				iiofab_wire_reg_path_name(IIOFAB_WIRE_REG_MEMFD),
				strerror(-(*sub)->reg->dmabuf_err));
	return 0;
}

void srv_handle_open(struct srv_client *cl, uint32_t req_id,
		     const struct iiofab_msg_open_stream *m)
{
	char name[IIOFAB_WIRE_MAX_NAME + 1];
	struct iiofab_msg_stream_info *info = &cl->env->tx->stream_info;
	const struct iio_device *dev = NULL;
	struct srv_refusal why;
	struct srv_stream *st;
	struct srv_sub *sub;
	struct srv_scan scan;
	bool joined;

	if (iiofab_wire_str_copy(name, sizeof(name), m->device) >= 0)
		dev = srv_iio_find_device(cl->env->iio, name);
	if (!dev) {
		srv_reply_error(cl, req_id, -ENODEV, "no device '%.*s'", (int)m->device.len,
				m->device.ptr);
		return;
	}
	if (check_open(cl, m, name, dev, &scan, &why) < 0 ||
	    find_or_create(cl, m, name, dev, &scan, &st, &joined, &why) < 0) {
		srv_reply_refusal(cl, req_id, &why);
		return;
	}
	if (subscribe(cl, st, &sub, &why) < 0) {
		srv_reply_refusal(cl, req_id, &why);
		if (!joined)
			srv_stream_destroy(st);
		return;
	}
	memset(info, 0, sizeof(*info));
	srv_stream_info(sub, info);
	(void)srv_reply(cl, IIOFAB_MSG_STREAM_INFO, req_id, info);
	iiofab_log_info(cl->env->log, "client %llu: %s %s stream %u on %s (%s, %u subscriber(s)): "
			"%u x %u bytes, %u channel(s), scan %u bytes", (unsigned long long)cl->cid,
			joined ? "joined" : "opened", st->ops->name, st->id, st->device_id,
			iiofab_wire_mode_name(st->mode), st->n_subs, st->count, st->block_size,
			scan.n, scan.scan_bytes);
}

static void unlink_sub(struct srv_client *cl, struct srv_sub *sub)
{
	for (struct srv_sub **p = &cl->subs; *p; p = &(*p)->owner_next) {
		if (*p == sub) {
			*p = sub->owner_next;
			return;
		}
	}
}

void srv_handle_ctl(struct srv_client *cl, uint32_t req_id, uint16_t type, uint32_t stream_id)
{
	struct srv_sub *sub = find_sub(cl, req_id, stream_id);
	int err;

	if (!sub)
		return;
	if (type == IIOFAB_MSG_START) {
		err = srv_sub_start(sub);
		if (err < 0) {
			srv_reply_error(cl, req_id, err, "cannot start stream %u: %s", stream_id,
					strerror(-err));
			return;
		}
		iiofab_log_info(cl->env->log, "stream %u started", stream_id);
	} else if (type == IIOFAB_MSG_STOP) {
		srv_sub_stop(sub);
		iiofab_log_info(cl->env->log, "stream %u stopped", stream_id);
	} else {
		unlink_sub(cl, sub);
		srv_sub_remove(sub);
	}
	srv_reply_ok(cl, req_id, stream_id);
}

void srv_handle_release(struct srv_client *cl, uint32_t req_id,
			const struct iiofab_msg_release *m)
{
	struct srv_sub *sub = find_sub(cl, req_id, m->stream_id);
	struct srv_refusal why;

	if (sub && srv_stream_release(sub, m, &why) < 0)
		srv_reply_refusal(cl, req_id, &why);
}

void srv_handle_submit(struct srv_client *cl, uint32_t req_id,
		       const struct iiofab_msg_submit *m)
{
	struct srv_sub *sub = find_sub(cl, req_id, m->stream_id);
	struct srv_refusal why;

	if (!sub) {
		cl->env->stats->dac_submits_refused++;
		return;
	}
	if (srv_stream_submit(sub, m, &why) < 0) {
		cl->env->stats->dac_submits_refused++;
		srv_reply_refusal(cl, req_id, &why);
	}
}
