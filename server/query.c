// SPDX-License-Identifier: MIT
/* Queries about the board: its devices, their attributes, the server's counters. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "srv_iio.h"
#include "srv_proto.h"
#include "srv_stream.h"
#include "srv_xport.h"

static unsigned int clamp(unsigned int v, unsigned int max)
{
	return v > max ? max : v;
}

void srv_handle_list(struct srv_client *cl, uint32_t req_id)
{
	struct srv_iio *iio = cl->env->iio;
	struct iiofab_msg_devices *m = &cl->env->tx->devices;
	unsigned int n = clamp(srv_iio_device_count(iio), IIOFAB_WIRE_MAX_DEVICES);

	memset(m, 0, sizeof(*m));
	for (unsigned int i = 0; i < n; i++) {
		const struct iio_device *dev = srv_iio_device(iio, i);

		m->devices[i] = (struct iiofab_wire_dev_summary){
			.id = iiofab_wire_str(srv_iio_dev_id(dev)),
			.name = iiofab_wire_str(srv_iio_dev_name(dev)),
			.label = iiofab_wire_str(srv_iio_dev_label(dev)),
			.kind = (uint8_t)srv_iio_dev_kind(dev),
			.n_channels = (uint16_t)srv_iio_dev_channel_count(dev),
			.n_attrs = (uint16_t)srv_iio_dev_attr_count(dev),
		};
	}
	m->count = (uint16_t)n;
	(void)srv_reply(cl, IIOFAB_MSG_DEVICES, req_id, m);
}

static const struct iio_device *find_device(struct srv_client *cl, uint32_t req_id,
					    struct iiofab_wire_str name, char *key, size_t cap)
{
	const struct iio_device *dev = NULL;

	if (iiofab_wire_str_copy(key, cap, name) >= 0)
		dev = srv_iio_find_device(cl->env->iio, key);
	if (!dev)
		srv_reply_error(cl, req_id, -ENODEV, "no device '%.*s'", (int)name.len, name.ptr);
	return dev;
}

/* Channel c of dev, its attribute names taken from the pool at *used. */
static void describe_channel(const struct iio_device *dev, unsigned int c,
			     struct iiofab_wire_channel *wc, struct iiofab_wire_str *pool,
			     unsigned int *used)
{
	struct srv_chan_info ci;
	unsigned int na;

	srv_iio_chan_info(dev, c, &ci);
	na = clamp(ci.n_attrs, IIOFAB_WIRE_MAX_CHAN_ATTRS);
	na = clamp(na, IIOFAB_WIRE_MAX_CHAN_ATTRS_TOTAL - *used);
	wc->id = iiofab_wire_str(ci.id);
	wc->name = iiofab_wire_str(ci.name);
	wc->output = ci.output;
	wc->fmt = (struct iiofab_wire_scan_fmt){
		.scan_index = (int16_t)(ci.scan_index > IIOFAB_WIRE_MAX_SCAN_INDEX ? -1 : ci.scan_index),
		.is_signed = ci.is_signed,
		.bits = ci.bits,
		.storage_bits = ci.storage_bits,
		.shift = ci.shift,
		.big_endian = ci.big_endian,
	};
	/* Non-scannable channels carry no format on the wire. */
	if (wc->fmt.scan_index < 0)
		wc->fmt = (struct iiofab_wire_scan_fmt){ .scan_index = -1 };
	wc->n_attrs = (uint16_t)na;
	wc->attrs = &pool[*used];
	for (unsigned int i = 0; i < na; i++)
		pool[*used + i] = iiofab_wire_str(srv_iio_chan_attr(dev, c, i));
	*used += na;
}

static void describe_device(const struct iio_device *dev, struct iiofab_msg_device *m,
			    struct iiofab_wire_str *pool)
{
	unsigned int used = 0;

	m->id = iiofab_wire_str(srv_iio_dev_id(dev));
	m->name = iiofab_wire_str(srv_iio_dev_name(dev));
	m->label = iiofab_wire_str(srv_iio_dev_label(dev));
	m->kind = (uint8_t)srv_iio_dev_kind(dev);
	m->n_attrs = (uint16_t)clamp(srv_iio_dev_attr_count(dev), IIOFAB_WIRE_MAX_DEV_ATTRS);
	for (unsigned int i = 0; i < m->n_attrs; i++)
		m->attrs[i] = iiofab_wire_str(srv_iio_dev_attr(dev, i));
	m->n_buffer_attrs = (uint16_t)clamp(srv_iio_dev_buffer_attr_count(dev),
					    IIOFAB_WIRE_MAX_BUF_ATTRS);
	for (unsigned int i = 0; i < m->n_buffer_attrs; i++)
		m->buffer_attrs[i] = iiofab_wire_str(srv_iio_dev_buffer_attr(dev, i));
	m->n_channels = (uint16_t)clamp(srv_iio_dev_channel_count(dev), IIOFAB_WIRE_MAX_CHANNELS);
	for (unsigned int c = 0; c < m->n_channels; c++)
		describe_channel(dev, c, &m->channels[c], pool, &used);
}

void srv_handle_device_info(struct srv_client *cl, uint32_t req_id,
			    const struct iiofab_msg_device_info *q)
{
	char key[IIOFAB_WIRE_MAX_NAME + 1];
	struct iiofab_msg_device *m = &cl->env->tx->device;
	const struct iio_device *dev;
	int err;

	dev = find_device(cl, req_id, q->device, key, sizeof(key));
	if (!dev)
		return;
	memset(m, 0, sizeof(*m));
	/* Encoding reads the channels' names from a pool: the message's own serves. */
	describe_device(dev, m, m->chan_attr_pool);
	err = srv_reply(cl, IIOFAB_MSG_DEVICE, req_id, m);
	if (err < 0 && !srv_xport_dead(cl->x))
		srv_reply_error(cl, req_id, err == -EMSGSIZE ? -EMSGSIZE : -EREMOTEIO,
				"description of %s does not fit one message: %s", key,
				strerror(-err));
}

static int attr_io(struct srv_client *cl, const struct iio_device *dev, bool write,
		   const struct iiofab_msg_attr *q, const char *chan, const char *attr,
		   const char *value, char *out, size_t cap)
{
	enum srv_iio_scope scope = (enum srv_iio_scope)q->scope;
	int err;

	if (write) {
		err = srv_iio_attr_write(dev, scope, chan, q->channel_output, attr, value);
		if (err < 0)
			return err;
		iiofab_log_info(cl->env->log, "client %llu: %s %s%s%s = %s",
				(unsigned long long)cl->cid, srv_iio_dev_id(dev), chan,
				*chan ? " " : "", attr, value);
	}
	err = srv_iio_attr_read(dev, scope, chan, q->channel_output, attr, out, cap);
	if (err < 0 && write) {
		/* Write-only attribute: report what was written. */
		snprintf(out, cap, "%s", value);
		err = 0;
	}
	return err;
}

void srv_handle_attr(struct srv_client *cl, uint32_t req_id, bool write,
		     const struct iiofab_msg_attr *q)
{
	char key[IIOFAB_WIRE_MAX_NAME + 1], chan[IIOFAB_WIRE_MAX_NAME + 1];
	char attr[IIOFAB_WIRE_MAX_NAME + 1], value[IIOFAB_WIRE_MAX_VALUE + 1];
	char out[IIOFAB_WIRE_MAX_VALUE + 1];
	struct iiofab_msg_attr_value v;
	const struct iio_device *dev;
	int err;

	dev = find_device(cl, req_id, q->device, key, sizeof(key));
	if (!dev)
		return;
	/* value is decoded for ATTR_WRITE only; in a READ it is stale scratch. */
	value[0] = '\0';
	if (iiofab_wire_str_copy(chan, sizeof(chan), q->channel) < 0 ||
	    iiofab_wire_str_copy(attr, sizeof(attr), q->attr) < 0 ||
	    (write && iiofab_wire_str_copy(value, sizeof(value), q->value) < 0)) {
		srv_reply_error(cl, req_id, -EINVAL, "name or value too long");
		return;
	}
	err = attr_io(cl, dev, write, q, chan, attr, value, out, sizeof(out));
	if (err == -ENXIO)
		srv_reply_error(cl, req_id, err, "%s has no %s channel '%s'", key,
				q->channel_output ? "output" : "input", chan);
	else if (err == -ENOENT)
		srv_reply_error(cl, req_id, err, "no attribute '%s'", attr);
	else if (err < 0)
		srv_reply_error(cl, req_id, err, "%s %s: %s", write ? "writing" : "reading",
				attr, strerror(-err));
	if (err < 0)
		return;
	v.value = iiofab_wire_str(out);
	(void)srv_reply(cl, IIOFAB_MSG_ATTR_VALUE, req_id, &v);
}

static void add_stat(struct iiofab_msg_stats_reply *m, const char *key, uint64_t value)
{
	m->stats[m->count++] = (struct iiofab_wire_stat){ iiofab_wire_str(key), value };
}

#define STAT_KEY_LEN 64

/*
 * Every stream's subscribers: "stream.ID.MODE.subscribers", then
 * "stream.ID.client.CID@PEER.COUNTER" for each, while they fit in the reply.
 */
static void add_stream_stats(struct srv_client *cl, struct iiofab_msg_stats_reply *m,
			     char (*keys)[STAT_KEY_LEN])
{
	static const char *const names[] = {
		"delivered_blocks", "held_blocks", "lost_samples", "reclaimed_blocks",
		"redelivered_blocks",
	};
	unsigned int k = 0;

	for (const struct srv_stream *st = cl->env->streams->list; st; st = st->next) {
		if (m->count >= IIOFAB_WIRE_MAX_STATS)
			return;
		snprintf(keys[k], STAT_KEY_LEN, "stream.%u.%s.subscribers", st->id,
			 iiofab_wire_mode_name(st->mode));
		add_stat(m, keys[k++], st->n_subs);
		for (const struct srv_sub *sub = st->subs; sub; sub = sub->st_next) {
			const uint64_t v[] = {
				sub->delivered, sub->n_held, sub->lost, sub->reclaimed,
				sub->redelivered,
			};

			if (m->count + (sizeof(names) / sizeof(names[0])) > IIOFAB_WIRE_MAX_STATS)
				return;
			for (unsigned int i = 0; i < (sizeof(names) / sizeof(names[0])); i++) {
				snprintf(keys[k], STAT_KEY_LEN, "stream.%u.client.%llu@%s.%s",
					 st->id, (unsigned long long)sub->owner_id,
					 sub->owner_peer ? sub->owner_peer : "?", names[i]);
				add_stat(m, keys[k++], v[i]);
			}
		}
	}
}

void srv_handle_stats(struct srv_client *cl, uint32_t req_id)
{
	const struct srv_stats *s = cl->env->stats;
	struct iiofab_msg_stats_reply *m = &cl->env->tx->stats_reply;
	char keys[IIOFAB_WIRE_MAX_STATS][STAT_KEY_LEN];	/* until the reply is encoded */
	struct timespec now;

	memset(m, 0, sizeof(*m));
	clock_gettime(CLOCK_MONOTONIC, &now);
	add_stat(m, "uptime_s", (uint64_t)(now.tv_sec - cl->env->started.tv_sec));
	add_stat(m, "clients", s->clients_now);
	add_stat(m, "clients_total", s->clients_total);
	add_stat(m, "auth_failures", s->auth_failures);
	add_stat(m, "bad_messages", s->bad_messages);
	add_stat(m, "streams", s->streams_now);
	add_stat(m, "streams_total", s->streams_total);
	add_stat(m, "blocks_completed", s->blocks_completed);
	add_stat(m, "blocks_released", s->blocks_released);
	add_stat(m, "blocks_lost", s->blocks_reclaimed);
	add_stat(m, "samples_lost", s->samples_reclaimed);
	add_stat(m, "stale_releases", s->stale_releases);
	add_stat(m, "dry_windows", s->dry_windows);
	add_stat(m, "converter_overruns", s->converter_overruns);
	add_stat(m, "blocks_withheld", s->blocks_withheld);
	add_stat(m, "samples_withheld", s->samples_withheld);
	add_stat(m, "ready_messages", s->ready_messages);
	add_stat(m, "test_tears", s->test_tears);
	add_stat(m, "dac_blocks_submitted", s->dac_blocks_submitted);
	add_stat(m, "dac_bytes_submitted", s->dac_bytes_submitted);
	add_stat(m, "dac_cyclic_submits", s->dac_cyclic_submits);
	add_stat(m, "dac_blocks_consumed", s->dac_blocks_consumed);
	add_stat(m, "dac_submits_refused", s->dac_submits_refused);
	add_stat(m, "dac_underruns", s->dac_underruns);
	add_stat(m, "free_messages", s->free_messages);
	add_stat(m, "reg_dmabuf_mr", s->reg_dmabuf);
	add_stat(m, "reg_memfd_mr", s->reg_memfd);
	add_stream_stats(cl, m, keys);
	m->reg_path = iiofab_wire_str(s->reg_any ? iiofab_wire_reg_path_name(s->reg_last) : "none");
	(void)srv_reply(cl, IIOFAB_MSG_STATS_REPLY, req_id, m);
}
