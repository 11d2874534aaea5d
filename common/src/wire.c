// SPDX-License-Identifier: MIT
/*
 * The control protocol codec.
 *
 * Each message layout is written once, as a "walk" over a cursor that either
 * encodes (reads the struct, writes bytes) or decodes (reads bytes, fills the
 * struct). Sharing one description keeps the encoder and the decoder from
 * drifting apart: whatever one refuses, the other refuses too. The cursor
 * keeps the first error and turns every later step into a no-op, so a walk
 * needs no error handling of its own and never reads past its bounds.
 */
#include <errno.h>
#include <stdbool.h>
#include <string.h>

#include <iiofab/wire.h>

struct cur {
	uint8_t *p;		/* decoding: the body, only read */
	size_t len;		/* bytes available */
	size_t off;
	bool enc;
	int overflow;		/* error when running out of room */
	int err;
};

static void cur_fail(struct cur *c, int err)
{
	if (!c->err)
		c->err = err;
}

/* A field value the protocol does not allow. */
static void cur_invalid(struct cur *c)
{
	cur_fail(c, c->enc ? -EINVAL : -EBADMSG);
}

static void cur_check(struct cur *c, bool ok)
{
	if (!ok)
		cur_invalid(c);
}

static uint8_t *cur_span(struct cur *c, size_t n)
{
	uint8_t *s;

	if (c->err)
		return NULL;
	if (c->len - c->off < n) {
		cur_fail(c, c->overflow);
		return NULL;
	}
	s = c->p + c->off;
	c->off += n;
	return s;
}

static void io_le(struct cur *c, uint64_t *v, size_t n)
{
	uint8_t *s = cur_span(c, n);
	size_t i;

	if (!s)
		return;
	if (c->enc) {
		for (i = 0; i < n; i++)
			s[i] = (uint8_t)(*v >> (8 * i));
	} else {
		*v = 0;
		for (i = 0; i < n; i++)
			*v |= (uint64_t)s[i] << (8 * i);
	}
}

static void io_u8(struct cur *c, uint8_t *v)
{
	uint64_t x = *v;

	io_le(c, &x, 1);
	if (!c->enc)
		*v = (uint8_t)x;
}

static void io_u16(struct cur *c, uint16_t *v)
{
	uint64_t x = *v;

	io_le(c, &x, 2);
	if (!c->enc)
		*v = (uint16_t)x;
}

static void io_u32(struct cur *c, uint32_t *v)
{
	uint64_t x = *v;

	io_le(c, &x, 4);
	if (!c->enc)
		*v = (uint32_t)x;
}

static void io_u64(struct cur *c, uint64_t *v)
{
	io_le(c, v, 8);
}

/* Two's complement by arithmetic, so no implementation-defined conversion. */
static void io_i16(struct cur *c, int16_t *v)
{
	uint64_t x = (uint16_t)*v;

	io_le(c, &x, 2);
	if (!c->enc)
		*v = x >= 0x8000 ? (int16_t)((int32_t)x - 0x10000) : (int16_t)x;
}

static void io_i32(struct cur *c, int32_t *v)
{
	uint64_t x = (uint32_t)*v;

	io_le(c, &x, 4);
	if (!c->enc)
		*v = x >= 0x80000000u ? (int32_t)((int64_t)x - 0x100000000) : (int32_t)x;
}

/* A u8 that must be <= max (enums and booleans). */
static void io_enum(struct cur *c, uint8_t *v, uint8_t max)
{
	if (c->enc)
		cur_check(c, *v <= max);
	io_u8(c, v);
	if (!c->enc)
		cur_check(c, *v <= max);
}

/* Reserved fields: zero on the wire, in both directions. */
static void io_reserved(struct cur *c, size_t n)
{
	uint64_t x = 0;

	io_le(c, &x, n);
	cur_check(c, x == 0);
}

/* An element count in [min, max]. */
static void io_count(struct cur *c, uint16_t *n, uint16_t min, uint16_t max)
{
	if (c->enc)
		cur_check(c, *n >= min && *n <= max);
	io_u16(c, n);
	if (!c->enc)
		cur_check(c, *n >= min && *n <= max);
}

static void io_bytes(struct cur *c, uint8_t *buf, size_t n)
{
	uint8_t *s = cur_span(c, n);

	if (!s)
		return;
	if (c->enc)
		memcpy(s, buf, n);
	else
		memcpy(buf, s, n);
}

static void io_str(struct cur *c, struct iiofab_wire_str *str, uint16_t max)
{
	uint8_t *s;

	if (c->enc)
		cur_check(c, str->len <= max && (str->ptr || !str->len));
	io_u16(c, &str->len);
	if (!c->enc)
		cur_check(c, str->len <= max);
	s = cur_span(c, str->len);
	if (!s)
		return;
	if (c->enc) {
		if (str->len)
			memcpy(s, str->ptr, str->len);
	} else
		str->ptr = (const char *)s;
	/* Names go to C APIs: an embedded NUL would silently shorten them. */
	cur_check(c, !memchr(s, 0, str->len));
}

static void io_name(struct cur *c, struct iiofab_wire_str *str)
{
	io_str(c, str, IIOFAB_WIRE_MAX_NAME);
}

static void io_value(struct cur *c, struct iiofab_wire_str *str)
{
	io_str(c, str, IIOFAB_WIRE_MAX_VALUE);
}

static void io_fmt(struct cur *c, struct iiofab_wire_scan_fmt *f, int16_t min_index)
{
	io_i16(c, &f->scan_index);
	io_enum(c, &f->is_signed, 1);
	io_u8(c, &f->bits);
	io_u8(c, &f->storage_bits);
	io_u8(c, &f->shift);
	io_enum(c, &f->big_endian, 1);
	cur_check(c, f->scan_index >= min_index &&
		  f->scan_index <= IIOFAB_WIRE_MAX_SCAN_INDEX &&
		  f->storage_bits % 8 == 0 && f->storage_bits <= 64 &&
		  f->bits + f->shift <= f->storage_bits);
	/* A scannable channel has a sample to carry. */
	if (f->scan_index >= 0)
		cur_check(c, f->bits > 0);
}

/* Message layouts, in protocol order. */

static void walk_hello(struct cur *c, struct iiofab_msg_hello *m)
{
	io_u16(c, &m->version_min);
	io_u16(c, &m->version_max);
	io_u32(c, &m->features);
	io_bytes(c, m->client_nonce, sizeof(m->client_nonce));
	io_name(c, &m->client_name);
	cur_check(c, m->version_min <= m->version_max);
}

static void walk_challenge(struct cur *c, struct iiofab_msg_challenge *m)
{
	io_u16(c, &m->version);
	io_u32(c, &m->features);
	io_enum(c, &m->auth_required, 1);
	io_bytes(c, m->server_nonce, sizeof(m->server_nonce));
}

static void walk_auth(struct cur *c, struct iiofab_msg_auth *m)
{
	io_bytes(c, m->mac, sizeof(m->mac));
}

static void walk_welcome(struct cur *c, struct iiofab_msg_welcome *m)
{
	io_bytes(c, m->mac, sizeof(m->mac));
	io_u32(c, &m->features);
}

static void walk_error(struct cur *c, struct iiofab_msg_error *m)
{
	io_i32(c, &m->status);
	io_value(c, &m->message);
}

static void walk_ok(struct cur *c, struct iiofab_msg_ok *m)
{
	io_i32(c, &m->status);
	io_u32(c, &m->value);
}

static void walk_devices(struct cur *c, struct iiofab_msg_devices *m)
{
	uint16_t i;

	io_count(c, &m->count, 0, IIOFAB_WIRE_MAX_DEVICES);
	for (i = 0; i < m->count && !c->err; i++) {
		struct iiofab_wire_dev_summary *d = &m->devices[i];

		io_name(c, &d->id);
		io_name(c, &d->name);
		io_name(c, &d->label);
		io_enum(c, &d->kind, IIOFAB_WIRE_KIND_OTHER);
		io_u16(c, &d->n_channels);
		io_u16(c, &d->n_attrs);
	}
}

static void walk_device_info(struct cur *c, struct iiofab_msg_device_info *m)
{
	io_name(c, &m->device);
}

static void io_name_list(struct cur *c, uint16_t n, struct iiofab_wire_str *names)
{
	uint16_t i;

	for (i = 0; i < n && !c->err; i++)
		io_name(c, &names[i]);
}

/* u16 count, then that many names. */
static void io_names(struct cur *c, uint16_t *n, struct iiofab_wire_str *names,
		     uint16_t max)
{
	io_count(c, n, 0, max);
	io_name_list(c, *n, names);
}

static void walk_device(struct cur *c, struct iiofab_msg_device *m)
{
	unsigned int pool_used = 0;
	uint16_t i;

	io_name(c, &m->id);
	io_name(c, &m->name);
	io_name(c, &m->label);
	io_enum(c, &m->kind, IIOFAB_WIRE_KIND_OTHER);
	io_names(c, &m->n_attrs, m->attrs, IIOFAB_WIRE_MAX_DEV_ATTRS);
	io_names(c, &m->n_buffer_attrs, m->buffer_attrs, IIOFAB_WIRE_MAX_BUF_ATTRS);
	io_count(c, &m->n_channels, 0, IIOFAB_WIRE_MAX_CHANNELS);
	for (i = 0; i < m->n_channels && !c->err; i++) {
		struct iiofab_wire_channel *ch = &m->channels[i];
		struct iiofab_wire_str *attrs;

		io_name(c, &ch->id);
		io_name(c, &ch->name);
		io_enum(c, &ch->output, 1);
		io_fmt(c, &ch->fmt, -1);
		io_count(c, &ch->n_attrs, 0, IIOFAB_WIRE_MAX_CHAN_ATTRS);
		if (c->err)
			break;
		cur_check(c, ch->n_attrs <= IIOFAB_WIRE_MAX_CHAN_ATTRS_TOTAL - pool_used);
		if (c->err)
			break;
		if (c->enc) {
			/* Only read through it: the encoder never writes. */
			attrs = (struct iiofab_wire_str *)ch->attrs;
			cur_check(c, ch->attrs || !ch->n_attrs);
		} else {
			attrs = &m->chan_attr_pool[pool_used];
			ch->attrs = attrs;
		}
		pool_used += ch->n_attrs;
		io_name_list(c, ch->n_attrs, attrs);
	}
}

static void walk_attr_read(struct cur *c, struct iiofab_msg_attr *m)
{
	io_name(c, &m->device);
	io_enum(c, &m->scope, IIOFAB_WIRE_SCOPE_BUFFER);
	io_name(c, &m->channel);
	io_enum(c, &m->channel_output, 1);
	io_name(c, &m->attr);
	cur_check(c, m->scope == IIOFAB_WIRE_SCOPE_CHANNEL ?
		  m->channel.len > 0 : m->channel.len == 0);
}

static void walk_attr_write(struct cur *c, struct iiofab_msg_attr *m)
{
	walk_attr_read(c, m);
	io_value(c, &m->value);
}

static void walk_attr_value(struct cur *c, struct iiofab_msg_attr_value *m)
{
	io_value(c, &m->value);
}

static void walk_open_stream(struct cur *c, struct iiofab_msg_open_stream *m)
{
	io_name(c, &m->device);
	io_u64(c, &m->channel_mask);
	io_u32(c, &m->block_size);
	io_u32(c, &m->block_count);
	io_enum(c, &m->direction, IIOFAB_WIRE_DIR_OUT);
	io_enum(c, &m->mode, IIOFAB_WIRE_MODE_SHARD);
	io_reserved(c, 2);
}

static void walk_stream_info(struct cur *c, struct iiofab_msg_stream_info *m)
{
	uint16_t i;

	io_u32(c, &m->stream_id);
	io_u32(c, &m->block_size);
	io_u32(c, &m->block_count);
	cur_check(c, m->block_count >= 1 && m->block_count <= IIOFAB_WIRE_MAX_BLOCKS);
	io_u16(c, &m->scan_bytes);
	io_enum(c, &m->reg_path, IIOFAB_WIRE_REG_MEMFD);
	io_reserved(c, 1);
	io_u64(c, &m->gen_addr);
	io_u32(c, &m->gen_rkey);
	io_count(c, &m->n_channels, 1, IIOFAB_WIRE_MAX_CHANNELS);
	for (i = 0; i < m->n_channels && !c->err; i++)
		io_fmt(c, &m->channels[i], 0);
	for (i = 0; i < m->block_count && !c->err; i++) {
		io_u64(c, &m->blocks[i].addr);
		io_u32(c, &m->blocks[i].rkey);
	}
}

static void walk_stream_ctl(struct cur *c, struct iiofab_msg_stream_ctl *m)
{
	io_u32(c, &m->stream_id);
}

static void walk_ready(struct cur *c, struct iiofab_msg_ready *m)
{
	uint16_t i;

	io_u32(c, &m->stream_id);
	io_count(c, &m->count, 1, IIOFAB_WIRE_MAX_READY);
	for (i = 0; i < m->count && !c->err; i++) {
		struct iiofab_wire_ready_entry *e = &m->entries[i];

		io_u32(c, &e->block);
		io_u32(c, &e->bytes_used);
		io_u64(c, &e->generation);
		io_u64(c, &e->seq);
		io_u64(c, &e->first_sample);
		io_u64(c, &e->timestamp_ns);
		io_u64(c, &e->lost);
		io_u32(c, &e->flags);
		io_reserved(c, 4);
	}
}

static void walk_release(struct cur *c, struct iiofab_msg_release *m)
{
	uint16_t i;

	io_u32(c, &m->stream_id);
	io_count(c, &m->count, 1, IIOFAB_WIRE_MAX_RELEASE);
	for (i = 0; i < m->count && !c->err; i++) {
		io_u32(c, &m->entries[i].block);
		io_u64(c, &m->entries[i].generation);
	}
}

static void walk_free(struct cur *c, struct iiofab_msg_free *m)
{
	uint16_t i;

	io_u32(c, &m->stream_id);
	io_count(c, &m->count, 1, IIOFAB_WIRE_MAX_FREE);
	for (i = 0; i < m->count && !c->err; i++)
		io_u32(c, &m->blocks[i]);
}

static void walk_submit(struct cur *c, struct iiofab_msg_submit *m)
{
	uint16_t i;

	io_u32(c, &m->stream_id);
	io_count(c, &m->count, 1, IIOFAB_WIRE_MAX_SUBMIT);
	for (i = 0; i < m->count && !c->err; i++) {
		struct iiofab_wire_submit_entry *e = &m->entries[i];

		io_u32(c, &e->block);
		io_u32(c, &e->bytes_used);
		io_u32(c, &e->flags);
		cur_check(c, !(e->flags & ~IIOFAB_WIRE_SUBMIT_CYCLIC));
	}
}

static void walk_stats_reply(struct cur *c, struct iiofab_msg_stats_reply *m)
{
	uint16_t i;

	io_count(c, &m->count, 0, IIOFAB_WIRE_MAX_STATS);
	for (i = 0; i < m->count && !c->err; i++) {
		io_name(c, &m->stats[i].key);
		io_u64(c, &m->stats[i].value);
	}
	io_name(c, &m->reg_path);
}

static void walk_stream_event(struct cur *c, struct iiofab_msg_stream_event *m)
{
	io_u32(c, &m->stream_id);
	io_u32(c, &m->event);
	cur_check(c, m->event >= IIOFAB_WIRE_EVENT_UNDERRUN &&
		  m->event <= IIOFAB_WIRE_EVENT_KEEPALIVE);
	io_u64(c, &m->value);
}

/* Header and framing */

static void io_hdr(struct cur *c, struct iiofab_wire_hdr *h)
{
	io_u32(c, &h->magic);
	io_u8(c, &h->version);
	io_u8(c, &h->flags);
	io_u16(c, &h->type);
	io_u32(c, &h->body_length);
	io_u32(c, &h->request_id);
}

static void enc_begin(struct cur *c, void *buf, size_t cap)
{
	*c = (struct cur){
		.p = buf,
		.enc = true,
		.len = cap < IIOFAB_WIRE_MAX_MSG ? cap : IIOFAB_WIRE_MAX_MSG,
		.overflow = cap < IIOFAB_WIRE_MAX_MSG ? -ENOSPC : -EMSGSIZE,
	};
	/* The header goes in last, once the body length is known. */
	cur_span(c, IIOFAB_WIRE_HDR_SIZE);
}

static int enc_end(struct cur *c, uint16_t type, uint32_t req_id)
{
	struct iiofab_wire_hdr h = {
		.magic = IIOFAB_WIRE_MAGIC,
		.version = IIOFAB_WIRE_VERSION,
		.type = type,
		.request_id = req_id,
	};
	struct cur hc = { .p = c->p, .len = IIOFAB_WIRE_HDR_SIZE, .enc = true };

	if (c->err)
		return c->err;
	h.body_length = (uint32_t)(c->off - IIOFAB_WIRE_HDR_SIZE);
	io_hdr(&hc, &h);
	return (int)c->off;
}

static void dec_begin(struct cur *c, const void *body, size_t len)
{
	/* The cursor never writes through p when decoding. */
	*c = (struct cur){ .p = (uint8_t *)body, .len = len, .overflow = -EBADMSG };
	if (!body && len)
		cur_fail(c, -EINVAL);
}

static int dec_end(struct cur *c)
{
	if (!c->err && c->off != c->len)
		cur_fail(c, -EBADMSG);	/* trailing bytes */
	return c->err;
}

/*
 * One encoder and one decoder per layout. The encoder casts the const away
 * only to share the walk: in encode mode the walk never stores through the
 * struct (the io_* helpers assign only when decoding), so const and even
 * read-only objects are safe to encode.
 */
#define WIRE_CODEC(name, codec_type, type_id)					\
	static int encode_##name(void *buf, size_t cap, uint32_t req_id,	\
				 const codec_type *m)				\
	{									\
		struct cur c;							\
										\
		enc_begin(&c, buf, cap);					\
		walk_##name(&c, (codec_type *)m);				\
		return enc_end(&c, type_id, req_id);				\
	}									\
	int iiofab_wire_decode_##name(const void *body, size_t len,		\
				      codec_type *m)				\
	{									\
		struct cur c;							\
										\
		dec_begin(&c, body, len);					\
		walk_##name(&c, m);						\
		return dec_end(&c);						\
	}

#define WIRE_MSG(name, type_id)							\
	WIRE_CODEC(name, struct iiofab_msg_##name, type_id)			\
	int iiofab_wire_encode_##name(void *buf, size_t cap, uint32_t req_id,	\
				      const struct iiofab_msg_##name *m)	\
	{									\
		return encode_##name(buf, cap, req_id, m);			\
	}

WIRE_MSG(hello, IIOFAB_MSG_HELLO)
WIRE_MSG(challenge, IIOFAB_MSG_CHALLENGE)
WIRE_MSG(auth, IIOFAB_MSG_AUTH)
WIRE_MSG(welcome, IIOFAB_MSG_WELCOME)
WIRE_MSG(error, IIOFAB_MSG_ERROR)
WIRE_MSG(ok, IIOFAB_MSG_OK)
WIRE_MSG(devices, IIOFAB_MSG_DEVICES)
WIRE_MSG(device_info, IIOFAB_MSG_DEVICE_INFO)
WIRE_MSG(device, IIOFAB_MSG_DEVICE)
WIRE_MSG(attr_value, IIOFAB_MSG_ATTR_VALUE)
WIRE_MSG(open_stream, IIOFAB_MSG_OPEN_STREAM)
WIRE_MSG(stream_info, IIOFAB_MSG_STREAM_INFO)
WIRE_MSG(ready, IIOFAB_MSG_READY)
WIRE_MSG(release, IIOFAB_MSG_RELEASE)
WIRE_MSG(free, IIOFAB_MSG_FREE)
WIRE_MSG(submit, IIOFAB_MSG_SUBMIT)
WIRE_MSG(stats_reply, IIOFAB_MSG_STATS_REPLY)
WIRE_MSG(stream_event, IIOFAB_MSG_STREAM_EVENT)

/* Layouts shared by several message types: the type is a parameter. */
WIRE_CODEC(attr_read, struct iiofab_msg_attr, IIOFAB_MSG_ATTR_READ)
WIRE_CODEC(attr_write, struct iiofab_msg_attr, IIOFAB_MSG_ATTR_WRITE)

int iiofab_wire_encode_attr_read(void *buf, size_t cap, uint32_t req_id,
				 const struct iiofab_msg_attr *m)
{
	return encode_attr_read(buf, cap, req_id, m);
}

int iiofab_wire_encode_attr_write(void *buf, size_t cap, uint32_t req_id,
				  const struct iiofab_msg_attr *m)
{
	return encode_attr_write(buf, cap, req_id, m);
}

static int encode_stream_ctl_as(void *buf, size_t cap, uint16_t type,
				uint32_t req_id, const struct iiofab_msg_stream_ctl *m)
{
	struct cur c;

	enc_begin(&c, buf, cap);
	walk_stream_ctl(&c, (struct iiofab_msg_stream_ctl *)m);
	return enc_end(&c, type, req_id);
}

int iiofab_wire_decode_stream_ctl(const void *body, size_t len,
				  struct iiofab_msg_stream_ctl *m)
{
	struct cur c;

	dec_begin(&c, body, len);
	walk_stream_ctl(&c, m);
	return dec_end(&c);
}

int iiofab_wire_encode_start(void *buf, size_t cap, uint32_t req_id,
			     const struct iiofab_msg_stream_ctl *m)
{
	return encode_stream_ctl_as(buf, cap, IIOFAB_MSG_START, req_id, m);
}

int iiofab_wire_encode_stop(void *buf, size_t cap, uint32_t req_id,
			    const struct iiofab_msg_stream_ctl *m)
{
	return encode_stream_ctl_as(buf, cap, IIOFAB_MSG_STOP, req_id, m);
}

int iiofab_wire_encode_close(void *buf, size_t cap, uint32_t req_id,
			     const struct iiofab_msg_stream_ctl *m)
{
	return encode_stream_ctl_as(buf, cap, IIOFAB_MSG_CLOSE, req_id, m);
}

static int encode_empty_as(void *buf, size_t cap, uint16_t type, uint32_t req_id)
{
	struct cur c;

	enc_begin(&c, buf, cap);
	return enc_end(&c, type, req_id);
}

int iiofab_wire_encode_list(void *buf, size_t cap, uint32_t req_id)
{
	return encode_empty_as(buf, cap, IIOFAB_MSG_LIST, req_id);
}

int iiofab_wire_encode_stats(void *buf, size_t cap, uint32_t req_id)
{
	return encode_empty_as(buf, cap, IIOFAB_MSG_STATS, req_id);
}

int iiofab_wire_decode_empty(const void *body, size_t len)
{
	return len ? -EBADMSG : 0;
}

static const char *const type_names[] = {
	[IIOFAB_MSG_HELLO] = "HELLO",
	[IIOFAB_MSG_CHALLENGE] = "CHALLENGE",
	[IIOFAB_MSG_AUTH] = "AUTH",
	[IIOFAB_MSG_WELCOME] = "WELCOME",
	[IIOFAB_MSG_ERROR] = "ERROR",
	[IIOFAB_MSG_OK] = "OK",
	[IIOFAB_MSG_LIST] = "LIST",
	[IIOFAB_MSG_DEVICES] = "DEVICES",
	[IIOFAB_MSG_DEVICE_INFO] = "DEVICE_INFO",
	[IIOFAB_MSG_DEVICE] = "DEVICE",
	[IIOFAB_MSG_ATTR_READ] = "ATTR_READ",
	[IIOFAB_MSG_ATTR_WRITE] = "ATTR_WRITE",
	[IIOFAB_MSG_ATTR_VALUE] = "ATTR_VALUE",
	[IIOFAB_MSG_OPEN_STREAM] = "OPEN_STREAM",
	[IIOFAB_MSG_STREAM_INFO] = "STREAM_INFO",
	[IIOFAB_MSG_START] = "START",
	[IIOFAB_MSG_STOP] = "STOP",
	[IIOFAB_MSG_CLOSE] = "CLOSE",
	[IIOFAB_MSG_READY] = "READY",
	[IIOFAB_MSG_RELEASE] = "RELEASE",
	[IIOFAB_MSG_FREE] = "FREE",
	[IIOFAB_MSG_SUBMIT] = "SUBMIT",
	[IIOFAB_MSG_STATS] = "STATS",
	[IIOFAB_MSG_STATS_REPLY] = "STATS_REPLY",
	[IIOFAB_MSG_STREAM_EVENT] = "STREAM_EVENT",
};

const char *iiofab_wire_type_name(uint16_t type)
{
	if (type < sizeof(type_names) / sizeof(type_names[0]) && type_names[type])
		return type_names[type];
	return "?";
}

int iiofab_wire_decode_hdr(const void *buf, size_t len, struct iiofab_wire_hdr *h)
{
	struct cur c;

	dec_begin(&c, buf, len < IIOFAB_WIRE_HDR_SIZE ? len : IIOFAB_WIRE_HDR_SIZE);
	io_hdr(&c, h);
	if (c.err)
		return c.err;
	if (h->magic != IIOFAB_WIRE_MAGIC)
		return -EBADMSG;
	if (h->version != IIOFAB_WIRE_VERSION)
		return -EPROTONOSUPPORT;
	if (len > IIOFAB_WIRE_MAX_MSG)
		return -EMSGSIZE;
	if (h->flags || h->body_length != len - IIOFAB_WIRE_HDR_SIZE)
		return -EBADMSG;
	if (!h->type || h->type > IIOFAB_MSG_TYPE_MAX)
		return -EOPNOTSUPP;
	return 0;
}

int iiofab_wire_decode(const void *buf, size_t len, struct iiofab_wire_hdr *h,
		       union iiofab_wire_msg *m)
{
	const uint8_t *body;
	size_t blen;
	int ret;

	ret = iiofab_wire_decode_hdr(buf, len, h);
	if (ret)
		return ret;
	/* Only now is buf known to hold a header to step over. */
	body = (const uint8_t *)buf + IIOFAB_WIRE_HDR_SIZE;
	blen = h->body_length;

	switch (h->type) {
	case IIOFAB_MSG_HELLO: return iiofab_wire_decode_hello(body, blen, &m->hello);
	case IIOFAB_MSG_CHALLENGE: return iiofab_wire_decode_challenge(body, blen, &m->challenge);
	case IIOFAB_MSG_AUTH: return iiofab_wire_decode_auth(body, blen, &m->auth);
	case IIOFAB_MSG_WELCOME: return iiofab_wire_decode_welcome(body, blen, &m->welcome);
	case IIOFAB_MSG_ERROR: return iiofab_wire_decode_error(body, blen, &m->error);
	case IIOFAB_MSG_OK: return iiofab_wire_decode_ok(body, blen, &m->ok);
	case IIOFAB_MSG_LIST:
	case IIOFAB_MSG_STATS: return iiofab_wire_decode_empty(body, blen);
	case IIOFAB_MSG_DEVICES: return iiofab_wire_decode_devices(body, blen, &m->devices);
	case IIOFAB_MSG_DEVICE_INFO: return iiofab_wire_decode_device_info(body, blen, &m->device_info);
	case IIOFAB_MSG_DEVICE: return iiofab_wire_decode_device(body, blen, &m->device);
	case IIOFAB_MSG_ATTR_READ: return iiofab_wire_decode_attr_read(body, blen, &m->attr);
	case IIOFAB_MSG_ATTR_WRITE: return iiofab_wire_decode_attr_write(body, blen, &m->attr);
	case IIOFAB_MSG_ATTR_VALUE: return iiofab_wire_decode_attr_value(body, blen, &m->attr_value);
	case IIOFAB_MSG_OPEN_STREAM: return iiofab_wire_decode_open_stream(body, blen, &m->open_stream);
	case IIOFAB_MSG_STREAM_INFO: return iiofab_wire_decode_stream_info(body, blen, &m->stream_info);
	case IIOFAB_MSG_START:
	case IIOFAB_MSG_STOP:
	case IIOFAB_MSG_CLOSE: return iiofab_wire_decode_stream_ctl(body, blen, &m->stream_ctl);
	case IIOFAB_MSG_READY: return iiofab_wire_decode_ready(body, blen, &m->ready);
	case IIOFAB_MSG_RELEASE: return iiofab_wire_decode_release(body, blen, &m->release);
	case IIOFAB_MSG_FREE: return iiofab_wire_decode_free(body, blen, &m->free);
	case IIOFAB_MSG_SUBMIT: return iiofab_wire_decode_submit(body, blen, &m->submit);
	case IIOFAB_MSG_STATS_REPLY: return iiofab_wire_decode_stats_reply(body, blen, &m->stats_reply);
	case IIOFAB_MSG_STREAM_EVENT: return iiofab_wire_decode_stream_event(body, blen, &m->stream_event);
	}
	return -EOPNOTSUPP;
}

int iiofab_wire_encode(void *buf, size_t cap, uint16_t type, uint32_t req_id,
		       const union iiofab_wire_msg *m)
{
	if (!m && type != IIOFAB_MSG_LIST && type != IIOFAB_MSG_STATS)
		return -EINVAL;

	switch (type) {
	case IIOFAB_MSG_HELLO: return encode_hello(buf, cap, req_id, &m->hello);
	case IIOFAB_MSG_CHALLENGE: return encode_challenge(buf, cap, req_id, &m->challenge);
	case IIOFAB_MSG_AUTH: return encode_auth(buf, cap, req_id, &m->auth);
	case IIOFAB_MSG_WELCOME: return encode_welcome(buf, cap, req_id, &m->welcome);
	case IIOFAB_MSG_ERROR: return encode_error(buf, cap, req_id, &m->error);
	case IIOFAB_MSG_OK: return encode_ok(buf, cap, req_id, &m->ok);
	case IIOFAB_MSG_LIST:
	case IIOFAB_MSG_STATS: return encode_empty_as(buf, cap, type, req_id);
	case IIOFAB_MSG_DEVICES: return encode_devices(buf, cap, req_id, &m->devices);
	case IIOFAB_MSG_DEVICE_INFO: return encode_device_info(buf, cap, req_id, &m->device_info);
	case IIOFAB_MSG_DEVICE: return encode_device(buf, cap, req_id, &m->device);
	case IIOFAB_MSG_ATTR_READ: return encode_attr_read(buf, cap, req_id, &m->attr);
	case IIOFAB_MSG_ATTR_WRITE: return encode_attr_write(buf, cap, req_id, &m->attr);
	case IIOFAB_MSG_ATTR_VALUE: return encode_attr_value(buf, cap, req_id, &m->attr_value);
	case IIOFAB_MSG_OPEN_STREAM: return encode_open_stream(buf, cap, req_id, &m->open_stream);
	case IIOFAB_MSG_STREAM_INFO: return encode_stream_info(buf, cap, req_id, &m->stream_info);
	case IIOFAB_MSG_START:
	case IIOFAB_MSG_STOP:
	case IIOFAB_MSG_CLOSE: return encode_stream_ctl_as(buf, cap, type, req_id, &m->stream_ctl);
	case IIOFAB_MSG_READY: return encode_ready(buf, cap, req_id, &m->ready);
	case IIOFAB_MSG_RELEASE: return encode_release(buf, cap, req_id, &m->release);
	case IIOFAB_MSG_FREE: return encode_free(buf, cap, req_id, &m->free);
	case IIOFAB_MSG_SUBMIT: return encode_submit(buf, cap, req_id, &m->submit);
	case IIOFAB_MSG_STATS_REPLY: return encode_stats_reply(buf, cap, req_id, &m->stats_reply);
	case IIOFAB_MSG_STREAM_EVENT: return encode_stream_event(buf, cap, req_id, &m->stream_event);
	}
	return -EOPNOTSUPP;
}

/* Strings */

struct iiofab_wire_str iiofab_wire_str(const char *s)
{
	size_t n = s ? strlen(s) : 0;

	return (struct iiofab_wire_str){
		.ptr = s,
		.len = n > UINT16_MAX ? UINT16_MAX : (uint16_t)n,
	};
}

int iiofab_wire_str_eq(struct iiofab_wire_str s, const char *c)
{
	return strlen(c) == s.len && (!s.len || !memcmp(s.ptr, c, s.len));
}

int iiofab_wire_str_copy(char *dst, size_t cap, struct iiofab_wire_str s)
{
	if (cap <= s.len)
		return -ENAMETOOLONG;
	if (s.len)
		memcpy(dst, s.ptr, s.len);
	dst[s.len] = '\0';
	return s.len;
}
