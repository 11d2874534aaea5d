// SPDX-License-Identifier: MIT
/*
 * The device table, loaded at connect (LIST, then DEVICE_INFO for each
 * device) so that every device and channel getter answers from memory,
 * and attribute access, one round trip each.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <iiofab/match.h>
#include <iiofab/scan.h>

#include "ctx.h"
#include "devices.h"
#include "rpc.h"

/* ---- device table ------------------------------------------------------ */

static char *dup_str(struct iiofab_wire_str s)
{
	char *p = malloc((size_t)s.len + 1);

	if (p) {
		memcpy(p, s.ptr, s.len);
		p[s.len] = '\0';
	}
	return p;
}

static int dup_names(char ***out, unsigned int *n_out,
		     const struct iiofab_wire_str *names, unsigned int n)
{
	char **v = calloc(n ? n : 1, sizeof(*v));

	if (!v)
		return -ENOMEM;
	*out = v;
	*n_out = n;
	for (unsigned int i = 0; i < n; i++) {
		v[i] = dup_str(names[i]);
		if (!v[i])
			return -ENOMEM;
	}
	return 0;
}

static void free_names(char **v, unsigned int n)
{
	if (!v)
		return;
	for (unsigned int i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

static void free_device(struct iiofab_device *dev)
{
	free(dev->id);
	free(dev->name);
	free(dev->label);
	free_names(dev->attrs, dev->n_attrs);
	free_names(dev->buffer_attrs, dev->n_buffer_attrs);
	for (unsigned int i = 0; dev->channels && i < dev->n_channels; i++) {
		struct iiofab_channel *ch = &dev->channels[i];

		free(ch->id);
		free(ch->name);
		free_names(ch->attrs, ch->n_attrs);
	}
	free(dev->channels);
}

void devices_free(struct iiofab_ctx *ctx)
{
	for (unsigned int i = 0; ctx->devices && i < ctx->n_devices; i++)
		free_device(&ctx->devices[i]);
	free(ctx->devices);
	ctx->devices = NULL;
	ctx->n_devices = 0;
}

static int fill_device(struct iiofab_device *dev,
		       const struct iiofab_msg_device *d)
{
	int ret;

	dev->id = dup_str(d->id);
	dev->name = dup_str(d->name);
	dev->label = dup_str(d->label);
	if (!dev->id || !dev->name || !dev->label)
		return -ENOMEM;
	dev->kind = (enum iiofab_device_kind)d->kind;
	ret = dup_names(&dev->attrs, &dev->n_attrs, d->attrs, d->n_attrs);
	if (ret)
		return ret;
	ret = dup_names(&dev->buffer_attrs, &dev->n_buffer_attrs,
			d->buffer_attrs, d->n_buffer_attrs);
	if (ret)
		return ret;
	dev->channels = calloc(d->n_channels ? d->n_channels : 1,
			       sizeof(*dev->channels));
	if (!dev->channels)
		return -ENOMEM;
	dev->n_channels = d->n_channels;
	for (unsigned int i = 0; i < d->n_channels; i++) {
		const struct iiofab_wire_channel *wc = &d->channels[i];
		struct iiofab_channel *ch = &dev->channels[i];

		ch->dev = dev;
		ch->id = dup_str(wc->id);
		ch->name = dup_str(wc->name);
		if (!ch->id || !ch->name)
			return -ENOMEM;
		ch->output = wc->output;
		ch->scan_index = wc->fmt.scan_index;
		ch->fmt.bits = wc->fmt.bits;
		ch->fmt.storage_bits = wc->fmt.storage_bits;
		ch->fmt.shift = wc->fmt.shift;
		ch->fmt.is_signed = wc->fmt.is_signed;
		ch->fmt.big_endian = wc->fmt.big_endian;
		ret = dup_names(&ch->attrs, &ch->n_attrs, wc->attrs, wc->n_attrs);
		if (ret)
			return ret;
	}
	return 0;
}

int devices_load(struct iiofab_ctx *ctx)
{
	union iiofab_wire_msg *m = rpc_request_msg(ctx->rpc);
	struct rpc_reply r;
	char **ids;
	unsigned int n;
	int ret;

	ret = rpc_call(ctx->rpc, IIOFAB_MSG_LIST, NULL, IIOFAB_MSG_DEVICES, &r);
	if (ret < 0)
		return ret;
	n = r.msg->devices.count;
	ids = calloc(n ? n : 1, sizeof(*ids));
	ctx->devices = calloc(n ? n : 1, sizeof(*ctx->devices));
	if (!ids || !ctx->devices) {
		rpc_reply_done(ctx->rpc, &r);
		free(ids);
		return -ENOMEM;
	}
	ctx->n_devices = n;
	for (unsigned int i = 0; i < n; i++)
		ids[i] = dup_str(r.msg->devices.devices[i].id);
	rpc_reply_done(ctx->rpc, &r);

	for (unsigned int i = 0; i < n; i++) {
		struct iiofab_device *dev = &ctx->devices[i];

		dev->ctx = ctx;
		if (!ids[i]) {
			ret = -ENOMEM;
			break;
		}
		m->device_info.device = iiofab_wire_str(ids[i]);
		ret = rpc_call(ctx->rpc, IIOFAB_MSG_DEVICE_INFO, m,
			       IIOFAB_MSG_DEVICE, &r);
		if (ret < 0)
			break;
		ret = fill_device(dev, &r.msg->device);
		rpc_reply_done(ctx->rpc, &r);
		if (ret)
			break;
	}
	for (unsigned int i = 0; i < n; i++)
		free(ids[i]);
	free(ids);
	return ret < 0 ? ret : 0;
}

/* ---- getters ----------------------------------------------------------- */

unsigned int iiofab_ctx_get_devices_count(const struct iiofab_ctx *ctx)
{
	return ctx->n_devices;
}

const struct iiofab_device *iiofab_ctx_get_device(const struct iiofab_ctx *ctx,
						  unsigned int index)
{
	return index < ctx->n_devices ? &ctx->devices[index] : NULL;
}

static const char *device_field(const void *table, unsigned int i,
				enum iiofab_match_field f)
{
	const struct iiofab_device *dev = (const struct iiofab_device *)table + i;

	switch (f) {
	case IIOFAB_MATCH_ID:
		return dev->id;
	case IIOFAB_MATCH_NAME:
		return dev->name;
	case IIOFAB_MATCH_LABEL:
		return dev->label;
	}
	return NULL;
}

/* The board matches names the same way (common/'s iiofab_match_device). */
const struct iiofab_device *iiofab_ctx_find_device(const struct iiofab_ctx *ctx,
						   const char *name)
{
	int i = iiofab_match_device(name, ctx->devices, ctx->n_devices,
				    device_field);

	return i < 0 ? NULL : &ctx->devices[i];
}

const char *iiofab_device_get_id(const struct iiofab_device *dev)
{
	return dev->id;
}

const char *iiofab_device_get_name(const struct iiofab_device *dev)
{
	return dev->name;
}

const char *iiofab_device_get_label(const struct iiofab_device *dev)
{
	return dev->label;
}

enum iiofab_device_kind iiofab_device_get_kind(const struct iiofab_device *dev)
{
	return dev->kind;
}

unsigned int iiofab_device_get_channels_count(const struct iiofab_device *dev)
{
	return dev->n_channels;
}

const struct iiofab_channel *
iiofab_device_get_channel(const struct iiofab_device *dev, unsigned int index)
{
	return index < dev->n_channels ? &dev->channels[index] : NULL;
}

const struct iiofab_channel *
iiofab_device_find_channel(const struct iiofab_device *dev, const char *name,
			   bool output)
{
	for (unsigned int i = 0; i < dev->n_channels; i++)
		if (dev->channels[i].output == output &&
		    !strcmp(dev->channels[i].id, name))
			return &dev->channels[i];
	for (unsigned int i = 0; i < dev->n_channels; i++)
		if (dev->channels[i].output == output &&
		    dev->channels[i].name[0] &&
		    !strcmp(dev->channels[i].name, name))
			return &dev->channels[i];
	return NULL;
}

int iiofab_device_get_channel_mask(const struct iiofab_device *dev, bool output,
				   const char *const *channels, uint64_t *mask)
{
	*mask = 0;
	for (unsigned int i = 0; !channels && i < dev->n_channels; i++) {
		const struct iiofab_channel *ch = &dev->channels[i];

		if (ch->output == output && ch->scan_index >= 0 &&
		    ch->scan_index <= IIOFAB_WIRE_MAX_SCAN_INDEX)
			*mask |= 1ull << ch->scan_index;
	}
	for (unsigned int i = 0; channels && channels[i]; i++) {
		const struct iiofab_channel *ch =
			iiofab_device_find_channel(dev, channels[i], output);

		if (!ch)
			return -ENOENT;
		if (ch->scan_index < 0 || ch->scan_index > IIOFAB_WIRE_MAX_SCAN_INDEX)
			return -EINVAL;
		*mask |= 1ull << ch->scan_index;
	}
	return *mask ? 0 : -EINVAL;
}

int iiofab_device_get_scan_bytes(const struct iiofab_device *dev, bool output,
				 uint64_t channel_mask)
{
	struct iiofab_scan_elem elems[IIOFAB_WIRE_MAX_SCAN_INDEX + 1];
	unsigned int n = 0;
	uint64_t found = 0;

	for (int idx = 0; idx <= IIOFAB_WIRE_MAX_SCAN_INDEX; idx++) {
		if (!(channel_mask & (1ull << idx)))
			continue;
		for (unsigned int i = 0; i < dev->n_channels; i++) {
			const struct iiofab_channel *ch = &dev->channels[i];

			if (ch->output != output || ch->scan_index != idx)
				continue;
			elems[n++] = (struct iiofab_scan_elem){ (uint8_t)ch->fmt.storage_bits, 1 };
			found |= 1ull << idx;
			break;
		}
	}
	if (!channel_mask || found != channel_mask)
		return -EINVAL;
	return iiofab_scan_layout(elems, n, NULL);
}

static const char *find_name(char *const *v, unsigned int n, const char *name)
{
	for (unsigned int i = 0; i < n; i++)
		if (!strcmp(v[i], name))
			return v[i];
	return NULL;
}

unsigned int iiofab_device_get_attrs_count(const struct iiofab_device *dev)
{
	return dev->n_attrs;
}

const char *iiofab_device_get_attr(const struct iiofab_device *dev,
				   unsigned int index)
{
	return index < dev->n_attrs ? dev->attrs[index] : NULL;
}

const char *iiofab_device_find_attr(const struct iiofab_device *dev,
				    const char *name)
{
	return find_name(dev->attrs, dev->n_attrs, name);
}

unsigned int iiofab_device_get_buffer_attrs_count(const struct iiofab_device *dev)
{
	return dev->n_buffer_attrs;
}

const char *iiofab_device_get_buffer_attr(const struct iiofab_device *dev,
					  unsigned int index)
{
	return index < dev->n_buffer_attrs ? dev->buffer_attrs[index] : NULL;
}

const char *iiofab_device_find_buffer_attr(const struct iiofab_device *dev,
					   const char *name)
{
	return find_name(dev->buffer_attrs, dev->n_buffer_attrs, name);
}

const struct iiofab_device *
iiofab_channel_get_device(const struct iiofab_channel *ch)
{
	return ch->dev;
}

const char *iiofab_channel_get_id(const struct iiofab_channel *ch)
{
	return ch->id;
}

const char *iiofab_channel_get_name(const struct iiofab_channel *ch)
{
	return ch->name;
}

bool iiofab_channel_is_output(const struct iiofab_channel *ch)
{
	return ch->output;
}

int iiofab_channel_get_scan_index(const struct iiofab_channel *ch)
{
	return ch->scan_index;
}

const struct iiofab_data_format *
iiofab_channel_get_format(const struct iiofab_channel *ch)
{
	return &ch->fmt;
}

unsigned int iiofab_channel_get_attrs_count(const struct iiofab_channel *ch)
{
	return ch->n_attrs;
}

const char *iiofab_channel_get_attr(const struct iiofab_channel *ch,
				    unsigned int index)
{
	return index < ch->n_attrs ? ch->attrs[index] : NULL;
}

const char *iiofab_channel_find_attr(const struct iiofab_channel *ch,
				     const char *name)
{
	return find_name(ch->attrs, ch->n_attrs, name);
}

/* ---- attributes -------------------------------------------------------- */

static int attr_io(const struct iiofab_device *dev,
		   const struct iiofab_channel *ch, uint8_t scope,
		   const char *attr, const char *value, char *buf, size_t len)
{
	struct iiofab_ctx *ctx = dev->ctx;
	union iiofab_wire_msg *m = rpc_request_msg(ctx->rpc);
	struct iiofab_msg_attr *a = &m->attr;
	struct rpc_reply r;
	int ret, n;

	memset(a, 0, sizeof(*a));
	a->device = iiofab_wire_str(dev->id);
	a->scope = scope;
	a->channel = iiofab_wire_str(ch ? ch->id : "");
	a->channel_output = ch ? ch->output : 0;
	a->attr = iiofab_wire_str(attr);
	if (value)
		a->value = iiofab_wire_str(value);
	ret = rpc_call(ctx->rpc,
		       value ? IIOFAB_MSG_ATTR_WRITE : IIOFAB_MSG_ATTR_READ, m,
		       IIOFAB_MSG_ATTR_VALUE, &r);
	if (ret < 0)
		return ret;
	n = r.msg->attr_value.value.len;
	if (buf && len) {
		size_t c = (size_t)n < len ? (size_t)n : len - 1;

		memcpy(buf, r.msg->attr_value.value.ptr, c);
		buf[c] = '\0';
	}
	rpc_reply_done(ctx->rpc, &r);
	return value ? 0 : n;
}

int iiofab_device_attr_read(const struct iiofab_device *dev, const char *attr,
			    char *buf, size_t len)
{
	return attr_io(dev, NULL, IIOFAB_WIRE_SCOPE_DEVICE, attr, NULL, buf, len);
}

int iiofab_device_attr_write(const struct iiofab_device *dev, const char *attr,
			     const char *value)
{
	return attr_io(dev, NULL, IIOFAB_WIRE_SCOPE_DEVICE, attr, value, NULL, 0);
}

int iiofab_device_buffer_attr_read(const struct iiofab_device *dev,
				   const char *attr, char *buf, size_t len)
{
	return attr_io(dev, NULL, IIOFAB_WIRE_SCOPE_BUFFER, attr, NULL, buf, len);
}

int iiofab_device_buffer_attr_write(const struct iiofab_device *dev,
				    const char *attr, const char *value)
{
	return attr_io(dev, NULL, IIOFAB_WIRE_SCOPE_BUFFER, attr, value, NULL, 0);
}

int iiofab_channel_attr_read(const struct iiofab_channel *ch, const char *attr,
			     char *buf, size_t len)
{
	return attr_io(ch->dev, ch, IIOFAB_WIRE_SCOPE_CHANNEL, attr, NULL, buf,
		       len);
}

int iiofab_channel_attr_write(const struct iiofab_channel *ch,
			      const char *attr, const char *value)
{
	return attr_io(ch->dev, ch, IIOFAB_WIRE_SCOPE_CHANNEL, attr, value,
		       NULL, 0);
}

