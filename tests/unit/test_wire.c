// SPDX-License-Identifier: MIT
/* Protocol codec: every message round trip and every malformed-input class. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include <iiofab/wire.h>

#include "t_wire_util.h"

/* Big messages: keep them off the stack. */
struct t_ctx {
	union iiofab_wire_msg in, out, again;
	uint8_t buf[IIOFAB_WIRE_MAX_MSG * 2];
	uint8_t buf2[IIOFAB_WIRE_MAX_MSG * 2];
	struct iiofab_wire_hdr hdr;
};

static int t_setup(void **state)
{
	*state = test_calloc(1, sizeof(struct t_ctx));
	return *state ? 0 : -1;
}

static int t_teardown(void **state)
{
	test_free(*state);
	return 0;
}

static void t_set_u32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
	p[2] = (uint8_t)(v >> 16);
	p[3] = (uint8_t)(v >> 24);
}

static int t_encode(struct t_ctx *t, uint16_t type)
{
	t_fill(type, &t->in);
	return iiofab_wire_encode(t->buf, sizeof(t->buf), type, 0x01020304, &t->in);
}

/* The named per-message encoders must match the generic one byte for byte. */
static int t_encode_named(uint8_t *buf, size_t cap, uint16_t type, const union iiofab_wire_msg *m)
{
	const uint32_t id = 0x01020304;

	switch (type) {
	case IIOFAB_MSG_HELLO: return iiofab_wire_encode_hello(buf, cap, id, &m->hello);
	case IIOFAB_MSG_CHALLENGE: return iiofab_wire_encode_challenge(buf, cap, id, &m->challenge);
	case IIOFAB_MSG_AUTH: return iiofab_wire_encode_auth(buf, cap, id, &m->auth);
	case IIOFAB_MSG_WELCOME: return iiofab_wire_encode_welcome(buf, cap, id, &m->welcome);
	case IIOFAB_MSG_ERROR: return iiofab_wire_encode_error(buf, cap, id, &m->error);
	case IIOFAB_MSG_OK: return iiofab_wire_encode_ok(buf, cap, id, &m->ok);
	case IIOFAB_MSG_LIST: return iiofab_wire_encode_list(buf, cap, id);
	case IIOFAB_MSG_DEVICES: return iiofab_wire_encode_devices(buf, cap, id, &m->devices);
	case IIOFAB_MSG_DEVICE_INFO: return iiofab_wire_encode_device_info(buf, cap, id, &m->device_info);
	case IIOFAB_MSG_DEVICE: return iiofab_wire_encode_device(buf, cap, id, &m->device);
	case IIOFAB_MSG_ATTR_READ: return iiofab_wire_encode_attr_read(buf, cap, id, &m->attr);
	case IIOFAB_MSG_ATTR_WRITE: return iiofab_wire_encode_attr_write(buf, cap, id, &m->attr);
	case IIOFAB_MSG_ATTR_VALUE: return iiofab_wire_encode_attr_value(buf, cap, id, &m->attr_value);
	case IIOFAB_MSG_OPEN_STREAM: return iiofab_wire_encode_open_stream(buf, cap, id, &m->open_stream);
	case IIOFAB_MSG_STREAM_INFO: return iiofab_wire_encode_stream_info(buf, cap, id, &m->stream_info);
	case IIOFAB_MSG_START: return iiofab_wire_encode_start(buf, cap, id, &m->stream_ctl);
	case IIOFAB_MSG_STOP: return iiofab_wire_encode_stop(buf, cap, id, &m->stream_ctl);
	case IIOFAB_MSG_CLOSE: return iiofab_wire_encode_close(buf, cap, id, &m->stream_ctl);
	case IIOFAB_MSG_READY: return iiofab_wire_encode_ready(buf, cap, id, &m->ready);
	case IIOFAB_MSG_RELEASE: return iiofab_wire_encode_release(buf, cap, id, &m->release);
	case IIOFAB_MSG_FREE: return iiofab_wire_encode_free(buf, cap, id, &m->free);
	case IIOFAB_MSG_SUBMIT: return iiofab_wire_encode_submit(buf, cap, id, &m->submit);
	case IIOFAB_MSG_STATS: return iiofab_wire_encode_stats(buf, cap, id);
	case IIOFAB_MSG_STATS_REPLY: return iiofab_wire_encode_stats_reply(buf, cap, id, &m->stats_reply);
	case IIOFAB_MSG_STREAM_EVENT: return iiofab_wire_encode_stream_event(buf, cap, id, &m->stream_event);
	}
	return -EOPNOTSUPP;
}

/* encode -> decode -> encode gives the same bytes, for every type. */
static void test_roundtrip_all(void **state)
{
	struct t_ctx *t = *state;
	uint16_t type;

	for (type = 1; type <= IIOFAB_MSG_TYPE_MAX; type++) {
		int n = t_encode(t, type), n2;

		assert_true(n >= IIOFAB_WIRE_HDR_SIZE);
		assert_int_equal(t_encode_named(t->buf2, sizeof(t->buf2), type, &t->in), n);
		assert_memory_equal(t->buf, t->buf2, n);

		memset(&t->out, 0xa5, sizeof(t->out));
		assert_int_equal(iiofab_wire_decode(t->buf, n, &t->hdr, &t->out), 0);
		assert_int_equal(t->hdr.magic, IIOFAB_WIRE_MAGIC);
		assert_int_equal(t->hdr.version, IIOFAB_WIRE_VERSION);
		assert_int_equal(t->hdr.type, type);
		assert_int_equal(t->hdr.body_length, n - IIOFAB_WIRE_HDR_SIZE);
		assert_int_equal(t->hdr.request_id, 0x01020304);

		n2 = iiofab_wire_encode(t->buf2, sizeof(t->buf2), type, 0x01020304, &t->out);
		assert_int_equal(n2, n);
		assert_memory_equal(t->buf, t->buf2, n);

		/* Exactly enough room works; one byte less is -ENOSPC. */
		assert_int_equal(iiofab_wire_encode(t->buf2, n, type, 1, &t->in), n);
		assert_int_equal(iiofab_wire_encode(t->buf2, n - 1, type, 1, &t->in), -ENOSPC);
		assert_string_not_equal(iiofab_wire_type_name(type), "?");
	}
}

/* Field values survive, strings point into the receive buffer. */
static void test_decoded_fields(void **state)
{
	struct t_ctx *t = *state;
	const struct iiofab_msg_device *d = &t->out.device;
	int n;

	n = t_encode(t, IIOFAB_MSG_HELLO);
	assert_int_equal(iiofab_wire_decode(t->buf, n, &t->hdr, &t->out), 0);
	assert_memory_equal(&t->out.hello.client_nonce, &t->in.hello.client_nonce, IIOFAB_WIRE_NONCE_SIZE);
	assert_true(iiofab_wire_str_eq(t->out.hello.client_name, "libiiofab"));
	assert_ptr_equal(t->out.hello.client_name.ptr, t->buf + n - 9);
	assert_int_equal(t->out.hello.version_max, 3);
	assert_int_equal(t->out.hello.features, 0xa5a50001);

	n = t_encode(t, IIOFAB_MSG_DEVICE);
	assert_int_equal(iiofab_wire_decode(t->buf, n, &t->hdr, &t->out), 0);
	assert_int_equal(d->n_attrs, 3);
	assert_true(iiofab_wire_str_eq(d->attrs[0], "sampling_frequency"));
	assert_int_equal(d->attrs[2].len, 0);
	assert_int_equal(d->n_channels, 3);
	assert_int_equal(d->channels[1].n_attrs, 3);
	assert_true(iiofab_wire_str_eq(d->channels[1].attrs[2], "offset"));
	assert_ptr_equal(d->channels[1].attrs, &d->chan_attr_pool[2]);
	assert_int_equal(d->channels[1].fmt.shift, 4);
	assert_int_equal(d->channels[1].fmt.big_endian, 1);
	assert_int_equal(d->channels[2].fmt.scan_index, -1);
	assert_int_equal(d->channels[2].n_attrs, 0);

	n = t_encode(t, IIOFAB_MSG_OK);
	assert_int_equal(iiofab_wire_decode(t->buf, n, &t->hdr, &t->out), 0);
	assert_int_equal(t->out.ok.status, -7);
	assert_int_equal(t->out.ok.value, 0xdeadbeef);

	n = t_encode(t, IIOFAB_MSG_RELEASE);
	assert_int_equal(iiofab_wire_decode(t->buf, n, &t->hdr, &t->out), 0);
	assert_int_equal(t->out.release.entries[1].generation, UINT64_MAX);

	n = t_encode(t, IIOFAB_MSG_STREAM_INFO);
	assert_int_equal(iiofab_wire_decode(t->buf, n, &t->hdr, &t->out), 0);
	assert_memory_equal(&t->out.stream_info.blocks, &t->in.stream_info.blocks,
			    5 * sizeof(struct iiofab_wire_block));
	assert_int_equal(t->out.stream_info.gen_addr, 0x7f0012345000ULL);

	/* Every field travels: the value of an event is what a client acts on. */
	n = t_encode(t, IIOFAB_MSG_STREAM_EVENT);
	assert_int_equal(n, IIOFAB_WIRE_HDR_SIZE + 16);
	memset(&t->out.stream_event, 0, sizeof(t->out.stream_event));
	assert_int_equal(iiofab_wire_decode(t->buf, n, &t->hdr, &t->out), 0);
	assert_int_equal(t->out.stream_event.stream_id, 42);
	assert_int_equal(t->out.stream_event.event, IIOFAB_WIRE_EVENT_UNDERRUN);
	assert_int_equal(t->out.stream_event.value, 17);
}

/* The encoder writes exactly the layout of the protocol table. */
static void test_golden_bytes(void **state)
{
	struct t_ctx *t = *state;
	struct t_bytes body = { .n = 0 };
	uint8_t want[256];
	size_t wn;
	int n, i;

	n = t_encode(t, IIOFAB_MSG_HELLO);
	t_put(&body, 1, 2);
	t_put(&body, 3, 2);
	t_put(&body, 0xa5a50001, 4);
	t_put_raw(&body, t->in.hello.client_nonce, 32);
	t_put_str(&body, "libiiofab", 9);
	wn = t_frame(want, IIOFAB_MSG_HELLO, 0x01020304, &body);
	assert_int_equal(n, wn);
	assert_memory_equal(t->buf, want, wn);
	/* "IFAB" in memory, then version 2, flags 0, type 1 */
	assert_memory_equal(t->buf, "IFAB\x02\x00\x01\x00", 8);

	body.n = 0;
	n = t_encode(t, IIOFAB_MSG_READY);
	t_put(&body, 42, 4);
	t_put(&body, 3, 2);
	for (i = 0; i < 3; i++) {
		t_put(&body, i, 4);
		t_put(&body, 65536, 4);
		t_put(&body, 7 + i, 8);
		t_put(&body, 100 + i, 8);
		t_put(&body, (100 + i) * 8192ULL, 8);
		t_put(&body, 1700000000000000000ULL + i, 8);
		t_put(&body, 4096ULL * i, 8);
		t_put(&body, i == 2 ? IIOFAB_WIRE_READY_REDELIVERED : 0, 4);
		t_put(&body, 0, 4);
	}
	wn = t_frame(want, IIOFAB_MSG_READY, 0x01020304, &body);
	assert_int_equal(n, wn);
	assert_memory_equal(t->buf, want, wn);
}

static void t_put_fmt(struct t_bytes *b, int16_t idx, uint8_t sign, uint8_t bits,
		      uint8_t storage, uint8_t shift, uint8_t be)
{
	t_put(b, (uint16_t)idx, 2);
	t_put(b, sign, 1);
	t_put(b, bits, 1);
	t_put(b, storage, 1);
	t_put(b, shift, 1);
	t_put(b, be, 1);
}

/* The nested layouts: DEVICE and STREAM_INFO, written out by hand. */
static void test_golden_nested(void **state)
{
	struct t_ctx *t = *state;
	struct t_bytes b = { .n = 0 };
	uint8_t want[1024];
	size_t wn;
	int n, i;

	n = t_encode(t, IIOFAB_MSG_DEVICE);
	t_put_str(&b, "iio:device0", 11);
	t_put_str(&b, "iiofab-sim-adc", 14);
	t_put_str(&b, "adc0", 4);
	t_put(&b, IIOFAB_WIRE_KIND_INPUT, 1);
	t_put(&b, 3, 2);
	t_put_str(&b, "sampling_frequency", 18);
	t_put_str(&b, "pattern", 7);
	t_put_str(&b, "", 0);
	t_put(&b, 2, 2);
	t_put_str(&b, "length", 6);
	t_put_str(&b, "watermark", 9);
	t_put(&b, 3, 2);
	t_put_str(&b, "voltage0", 8);
	t_put_str(&b, "in0", 3);
	t_put(&b, 0, 1);
	t_put_fmt(&b, 0, 1, 16, 16, 0, 0);
	t_put(&b, 2, 2);
	t_put_str(&b, "raw", 3);
	t_put_str(&b, "scale", 5);
	t_put_str(&b, "voltage1", 8);
	t_put_str(&b, "", 0);
	t_put(&b, 0, 1);
	t_put_fmt(&b, 1, 0, 12, 16, 4, 1);
	t_put(&b, 3, 2);
	t_put_str(&b, "raw", 3);
	t_put_str(&b, "scale", 5);
	t_put_str(&b, "offset", 6);
	t_put_str(&b, "timestamp", 9);
	t_put_str(&b, "", 0);
	t_put(&b, 0, 1);
	t_put_fmt(&b, -1, 0, 0, 0, 0, 0);
	t_put(&b, 0, 2);
	wn = t_frame(want, IIOFAB_MSG_DEVICE, 0x01020304, &b);
	assert_int_equal(n, wn);
	assert_memory_equal(t->buf, want, wn);

	b.n = 0;
	n = t_encode(t, IIOFAB_MSG_STREAM_INFO);
	t_put(&b, 42, 4);
	t_put(&b, 65536, 4);
	t_put(&b, 5, 4);
	t_put(&b, 8, 2);
	t_put(&b, IIOFAB_WIRE_REG_MEMFD, 1);
	t_put(&b, 0, 1);
	t_put(&b, 0x7f0012345000ULL, 8);
	t_put(&b, 0x1234, 4);
	t_put(&b, 4, 2);
	for (i = 0; i < 4; i++)
		t_put_fmt(&b, (int16_t)i, 1, 16, 16, 0, 0);
	for (i = 0; i < 5; i++) {
		t_put(&b, 0x7f0000000000ULL + i * 65536ULL, 8);
		t_put(&b, 0x100u + i, 4);
	}
	wn = t_frame(want, IIOFAB_MSG_STREAM_INFO, 0x01020304, &b);
	assert_int_equal(n, wn);
	assert_memory_equal(t->buf, want, wn);
}

/* Every strict prefix of every body is refused, as is every trailing byte. */
static void test_truncated_and_trailing(void **state)
{
	struct t_ctx *t = *state;
	uint16_t type;

	for (type = 1; type <= IIOFAB_MSG_TYPE_MAX; type++) {
		int n = t_encode(t, type);
		size_t body = (size_t)n - IIOFAB_WIRE_HDR_SIZE, l;

		for (l = 0; l < body; l++) {
			memcpy(t->buf2, t->buf, n);
			t_set_u32(t->buf2 + 8, (uint32_t)l);
			assert_int_equal(iiofab_wire_decode(t->buf2, IIOFAB_WIRE_HDR_SIZE + l,
							    &t->hdr, &t->out), -EBADMSG);
		}
		/* A header that promises more than arrived. */
		assert_int_equal(iiofab_wire_decode(t->buf, n - 1, &t->hdr, &t->out), -EBADMSG);

		memcpy(t->buf2, t->buf, n);
		t->buf2[n] = 0;
		t_set_u32(t->buf2 + 8, (uint32_t)body + 1);
		assert_int_equal(iiofab_wire_decode(t->buf2, n + 1, &t->hdr, &t->out), -EBADMSG);
	}
}

static void test_header_errors(void **state)
{
	struct t_ctx *t = *state;
	int n = t_encode(t, IIOFAB_MSG_START);
	size_t l;

	for (l = 0; l < IIOFAB_WIRE_HDR_SIZE; l++)
		assert_int_equal(iiofab_wire_decode_hdr(t->buf, l, &t->hdr), -EBADMSG);
	assert_int_equal(iiofab_wire_decode_hdr(NULL, 0, &t->hdr), -EBADMSG);

	memcpy(t->buf2, t->buf, n);
	t->buf2[0] ^= 1;				/* magic */
	assert_int_equal(iiofab_wire_decode(t->buf2, n, &t->hdr, &t->out), -EBADMSG);

	memcpy(t->buf2, t->buf, n);
	t->buf2[4] = IIOFAB_WIRE_VERSION + 1;		/* version */
	assert_int_equal(iiofab_wire_decode(t->buf2, n, &t->hdr, &t->out), -EPROTONOSUPPORT);
	assert_int_equal(t->hdr.request_id, 0x01020304);	/* for the ERROR reply */
	t->buf2[4] = 0;
	assert_int_equal(iiofab_wire_decode(t->buf2, n, &t->hdr, &t->out), -EPROTONOSUPPORT);

	memcpy(t->buf2, t->buf, n);
	t->buf2[5] = 0x80;				/* flags */
	assert_int_equal(iiofab_wire_decode(t->buf2, n, &t->hdr, &t->out), -EBADMSG);

	static const uint16_t bad_types[] = { 0, IIOFAB_MSG_TYPE_MAX + 1, 0x100, 0xffff };
	for (l = 0; l < sizeof(bad_types) / sizeof(bad_types[0]); l++) {
		memcpy(t->buf2, t->buf, n);
		t->buf2[6] = (uint8_t)bad_types[l];
		t->buf2[7] = (uint8_t)(bad_types[l] >> 8);
		assert_int_equal(iiofab_wire_decode(t->buf2, n, &t->hdr, &t->out), -EOPNOTSUPP);
		assert_int_equal(t->hdr.request_id, 0x01020304);
		assert_string_equal(iiofab_wire_type_name(bad_types[l]), "?");
	}

	/* body_length disagreeing with the datagram, both ways, and huge. */
	memcpy(t->buf2, t->buf, n);
	t_set_u32(t->buf2 + 8, 3);
	assert_int_equal(iiofab_wire_decode(t->buf2, n, &t->hdr, &t->out), -EBADMSG);
	t_set_u32(t->buf2 + 8, 5);
	assert_int_equal(iiofab_wire_decode(t->buf2, n, &t->hdr, &t->out), -EBADMSG);
	t_set_u32(t->buf2 + 8, UINT32_MAX);
	assert_int_equal(iiofab_wire_decode(t->buf2, n, &t->hdr, &t->out), -EBADMSG);
	t_set_u32(t->buf2 + 8, UINT32_MAX - 11);	/* 16 + this wraps to 4 */
	assert_int_equal(iiofab_wire_decode(t->buf2, 4 + IIOFAB_WIRE_HDR_SIZE, &t->hdr, &t->out), -EBADMSG);
}

static void test_oversized(void **state)
{
	struct t_ctx *t = *state;
	struct t_bytes body = { .n = 0 };
	static struct iiofab_wire_str long_attrs[IIOFAB_WIRE_MAX_DEV_ATTRS];
	char name[IIOFAB_WIRE_MAX_NAME];
	size_t n;
	int i;

	/* A datagram over the limit is refused before anything else is read. */
	t_put(&body, 0, 4);
	while (body.n < IIOFAB_WIRE_MAX_BODY + 1)
		t_put(&body, 0, 1);
	n = t_frame(t->buf, IIOFAB_MSG_START, 1, &body);
	assert_int_equal(n, IIOFAB_WIRE_MAX_MSG + 1);
	assert_int_equal(iiofab_wire_decode(t->buf, n, &t->hdr, &t->out), -EMSGSIZE);

	/* The encoder refuses to build one, even with room in the buffer. */
	memset(name, 'a', sizeof(name));
	for (i = 0; i < IIOFAB_WIRE_MAX_DEV_ATTRS; i++)
		long_attrs[i] = (struct iiofab_wire_str){ name, sizeof(name) };
	t_fill(IIOFAB_MSG_DEVICE, &t->in);
	t->in.device.n_attrs = IIOFAB_WIRE_MAX_DEV_ATTRS;
	memcpy(t->in.device.attrs, long_attrs, sizeof(long_attrs));
	assert_int_equal(iiofab_wire_encode(t->buf, sizeof(t->buf), IIOFAB_MSG_DEVICE, 1, &t->in),
			 -EMSGSIZE);
	/* A smaller buffer says so instead. */
	assert_int_equal(iiofab_wire_encode(t->buf, 4096, IIOFAB_MSG_DEVICE, 1, &t->in), -ENOSPC);
}

/* Strings: limits, overruns, embedded NUL, in both directions. */
static void test_strings(void **state)
{
	struct t_ctx *t = *state;
	char big[IIOFAB_WIRE_MAX_VALUE + 2];
	struct t_bytes body = { .n = 0 };
	int n;

	memset(big, 'x', sizeof(big));

	t_fill(IIOFAB_MSG_DEVICE_INFO, &t->in);
	t->in.device_info.device = (struct iiofab_wire_str){ big, IIOFAB_WIRE_MAX_NAME };
	assert_true(iiofab_wire_encode(t->buf, sizeof(t->buf), IIOFAB_MSG_DEVICE_INFO, 1, &t->in) > 0);
	t->in.device_info.device.len++;
	assert_int_equal(iiofab_wire_encode(t->buf, sizeof(t->buf), IIOFAB_MSG_DEVICE_INFO, 1, &t->in), -EINVAL);
	t->in.device_info.device = (struct iiofab_wire_str){ "a\0b", 3 };
	assert_int_equal(iiofab_wire_encode(t->buf, sizeof(t->buf), IIOFAB_MSG_DEVICE_INFO, 1, &t->in), -EINVAL);
	t->in.device_info.device = (struct iiofab_wire_str){ NULL, 1 };
	assert_int_equal(iiofab_wire_encode(t->buf, sizeof(t->buf), IIOFAB_MSG_DEVICE_INFO, 1, &t->in), -EINVAL);

	t_fill(IIOFAB_MSG_ATTR_VALUE, &t->in);
	t->in.attr_value.value = (struct iiofab_wire_str){ big, IIOFAB_WIRE_MAX_VALUE };
	assert_true(iiofab_wire_encode(t->buf, sizeof(t->buf), IIOFAB_MSG_ATTR_VALUE, 1, &t->in) > 0);
	t->in.attr_value.value.len++;
	assert_int_equal(iiofab_wire_encode(t->buf, sizeof(t->buf), IIOFAB_MSG_ATTR_VALUE, 1, &t->in), -EINVAL);

	/* Decoder: a name one over the limit (bytes present). */
	t_put_str(&body, big, IIOFAB_WIRE_MAX_NAME + 1);
	assert_int_equal(iiofab_wire_decode_device_info(body.b, body.n, &t->out.device_info), -EBADMSG);
	body.n = 0;
	t_put_str(&body, big, IIOFAB_WIRE_MAX_VALUE + 1);
	assert_int_equal(iiofab_wire_decode_attr_value(body.b, body.n, &t->out.attr_value), -EBADMSG);
	/* A length running past the body. */
	body.n = 0;
	t_put(&body, 10, 2);
	t_put_raw(&body, "abc", 3);
	assert_int_equal(iiofab_wire_decode_device_info(body.b, body.n, &t->out.device_info), -EBADMSG);
	body.n = 0;
	t_put(&body, 0xffff, 2);
	assert_int_equal(iiofab_wire_decode_device_info(body.b, body.n, &t->out.device_info), -EBADMSG);
	/* A lone length byte. */
	assert_int_equal(iiofab_wire_decode_device_info(body.b, 1, &t->out.device_info), -EBADMSG);
	/* Embedded NUL. */
	body.n = 0;
	t_put_str(&body, "ab\0c", 4);
	assert_int_equal(iiofab_wire_decode_device_info(body.b, body.n, &t->out.device_info), -EBADMSG);
	/* A string overrunning in the middle of a message (HELLO's name). */
	n = t_encode(t, IIOFAB_MSG_HELLO);
	t->buf[IIOFAB_WIRE_HDR_SIZE + 40] = 10;		/* name length 9 -> 10 */
	assert_int_equal(iiofab_wire_decode(t->buf, n, &t->hdr, &t->out), -EBADMSG);
	t->buf[IIOFAB_WIRE_HDR_SIZE + 40] = 8;		/* 9 -> 8: one trailing byte */
	assert_int_equal(iiofab_wire_decode(t->buf, n, &t->hdr, &t->out), -EBADMSG);
}

/* Patch a u16 count at a body offset of a valid message and expect refusal. */
static void t_expect_count_refused(struct t_ctx *t, uint16_t type, size_t off, uint16_t v)
{
	int n = t_encode(t, type);

	t->buf[IIOFAB_WIRE_HDR_SIZE + off] = (uint8_t)v;
	t->buf[IIOFAB_WIRE_HDR_SIZE + off + 1] = (uint8_t)(v >> 8);
	assert_int_equal(iiofab_wire_decode(t->buf, n, &t->hdr, &t->out), -EBADMSG);
}

static void test_counts(void **state)
{
	struct t_ctx *t = *state;
	static struct iiofab_wire_str many[IIOFAB_WIRE_MAX_CHAN_ATTRS];
	struct iiofab_msg_device *d;
	int i, n;

	/* Decoder: counts over their limits (or zero where at least one is needed). */
	t_expect_count_refused(t, IIOFAB_MSG_DEVICES, 0, IIOFAB_WIRE_MAX_DEVICES + 1);
	t_expect_count_refused(t, IIOFAB_MSG_DEVICES, 0, 0xffff);
	t_expect_count_refused(t, IIOFAB_MSG_READY, 4, 0);
	t_expect_count_refused(t, IIOFAB_MSG_READY, 4, IIOFAB_WIRE_MAX_READY + 1);
	t_expect_count_refused(t, IIOFAB_MSG_RELEASE, 4, 0);
	t_expect_count_refused(t, IIOFAB_MSG_RELEASE, 4, IIOFAB_WIRE_MAX_RELEASE + 1);
	t_expect_count_refused(t, IIOFAB_MSG_FREE, 4, IIOFAB_WIRE_MAX_FREE + 1);
	t_expect_count_refused(t, IIOFAB_MSG_SUBMIT, 4, 0);
	t_expect_count_refused(t, IIOFAB_MSG_SUBMIT, 4, IIOFAB_WIRE_MAX_SUBMIT + 1);
	t_expect_count_refused(t, IIOFAB_MSG_STATS_REPLY, 0, IIOFAB_WIRE_MAX_STATS + 1);
	/* STREAM_INFO: n_channels after 4+4+4+2+1+1+8+4 bytes. */
	t_expect_count_refused(t, IIOFAB_MSG_STREAM_INFO, 28, 0);
	t_expect_count_refused(t, IIOFAB_MSG_STREAM_INFO, 28, IIOFAB_WIRE_MAX_CHANNELS + 1);
	/* DEVICE: n_attrs after id, name, label (2+11, 2+14, 2+4) and kind. */
	t_expect_count_refused(t, IIOFAB_MSG_DEVICE, 36, IIOFAB_WIRE_MAX_DEV_ATTRS + 1);

	/* STREAM_INFO block_count (u32) 0 and 257. */
	t_fill(IIOFAB_MSG_STREAM_INFO, &t->in);
	t->in.stream_info.block_count = 0;
	assert_int_equal(iiofab_wire_encode(t->buf, sizeof(t->buf), IIOFAB_MSG_STREAM_INFO, 1, &t->in), -EINVAL);
	t->in.stream_info.block_count = IIOFAB_WIRE_MAX_BLOCKS + 1;
	assert_int_equal(iiofab_wire_encode(t->buf, sizeof(t->buf), IIOFAB_MSG_STREAM_INFO, 1, &t->in), -EINVAL);
	t->in.stream_info.block_count = IIOFAB_WIRE_MAX_BLOCKS;
	assert_true(iiofab_wire_encode(t->buf, sizeof(t->buf), IIOFAB_MSG_STREAM_INFO, 1, &t->in) > 0);
	t_expect_count_refused(t, IIOFAB_MSG_STREAM_INFO, 8, 0);

	/* Encoder: the same limits. */
	t_fill(IIOFAB_MSG_READY, &t->in);
	t->in.ready.count = IIOFAB_WIRE_MAX_READY + 1;
	assert_int_equal(iiofab_wire_encode(t->buf, sizeof(t->buf), IIOFAB_MSG_READY, 1, &t->in), -EINVAL);
	t->in.ready.count = IIOFAB_WIRE_MAX_READY;
	assert_true(iiofab_wire_encode(t->buf, sizeof(t->buf), IIOFAB_MSG_READY, 1, &t->in) > 0);
	t_fill(IIOFAB_MSG_RELEASE, &t->in);
	t->in.release.count = IIOFAB_WIRE_MAX_RELEASE;
	assert_true(iiofab_wire_encode(t->buf, sizeof(t->buf), IIOFAB_MSG_RELEASE, 1, &t->in) > 0);

	/* DEVICE: per-channel attrs over 64; pool total over 1024. */
	for (i = 0; i < IIOFAB_WIRE_MAX_CHAN_ATTRS; i++)
		many[i] = iiofab_wire_str("a");
	t_fill(IIOFAB_MSG_DEVICE, &t->in);
	d = &t->in.device;
	d->channels[0].n_attrs = IIOFAB_WIRE_MAX_CHAN_ATTRS + 1;
	d->channels[0].attrs = many;
	assert_int_equal(iiofab_wire_encode(t->buf, sizeof(t->buf), IIOFAB_MSG_DEVICE, 1, &t->in), -EINVAL);
	d->n_channels = IIOFAB_WIRE_MAX_CHANNELS;
	for (i = 0; i < IIOFAB_WIRE_MAX_CHANNELS; i++)
		d->channels[i] = (struct iiofab_wire_channel){
			.fmt = { -1, 0, 0, 0, 0, 0 }, .n_attrs = 16, .attrs = many };
	d->n_attrs = 0;
	d->n_buffer_attrs = 0;
	n = iiofab_wire_encode(t->buf, sizeof(t->buf), IIOFAB_MSG_DEVICE, 1, &t->in);
	assert_true(n > 0);
	assert_int_equal(iiofab_wire_decode(t->buf, n, &t->hdr, &t->out), 0);
	assert_ptr_equal(t->out.device.channels[63].attrs, &t->out.device.chan_attr_pool[1008]);
	d->channels[63].n_attrs = 17;
	assert_int_equal(iiofab_wire_encode(t->buf, sizeof(t->buf), IIOFAB_MSG_DEVICE, 1, &t->in), -EINVAL);
	d->channels[0].attrs = NULL;
	d->channels[63].n_attrs = 16;
	assert_int_equal(iiofab_wire_encode(t->buf, sizeof(t->buf), IIOFAB_MSG_DEVICE, 1, &t->in), -EINVAL);
}

/* Encode must refuse (-EINVAL) and the patched byte must not decode. */
static void t_expect_field_refused(struct t_ctx *t, uint16_t type, size_t off, uint8_t v)
{
	int n = t_encode(t, type);

	assert_true(n > 0);
	t->buf[IIOFAB_WIRE_HDR_SIZE + off] = v;
	assert_int_equal(iiofab_wire_decode(t->buf, n, &t->hdr, &t->out), -EBADMSG);
}

static void test_enums_and_reserved(void **state)
{
	struct t_ctx *t = *state;

	/* CHALLENGE auth_required is a boolean at 2+4. */
	t_expect_field_refused(t, IIOFAB_MSG_CHALLENGE, 6, 2);
	/* DEVICES kind: after 2 + (2+11) + (2+7) + (2+0). */
	t_expect_field_refused(t, IIOFAB_MSG_DEVICES, 26, IIOFAB_WIRE_KIND_OTHER + 1);
	/* ATTR_READ scope after device (2+11), channel_output after channel (2+8). */
	t_expect_field_refused(t, IIOFAB_MSG_ATTR_READ, 13, 3);
	t_expect_field_refused(t, IIOFAB_MSG_ATTR_READ, 24, 2);
	/* OPEN_STREAM: device (2+11), mask 8, sizes 8, direction, mode, reserved 2. */
	t_expect_field_refused(t, IIOFAB_MSG_OPEN_STREAM, 29, 2);
	t_expect_field_refused(t, IIOFAB_MSG_OPEN_STREAM, 30, 3);
	t_expect_field_refused(t, IIOFAB_MSG_OPEN_STREAM, 31, 1);
	t_expect_field_refused(t, IIOFAB_MSG_OPEN_STREAM, 32, 0x80);
	/* STREAM_INFO: reg_path at 14, reserved at 15, first channel fmt at 30. */
	t_expect_field_refused(t, IIOFAB_MSG_STREAM_INFO, 14, 2);
	t_expect_field_refused(t, IIOFAB_MSG_STREAM_INFO, 15, 1);
	t_expect_field_refused(t, IIOFAB_MSG_STREAM_INFO, 30, 64);	/* scan_index 64 */
	t_expect_field_refused(t, IIOFAB_MSG_STREAM_INFO, 31, 0xff);	/* scan_index < 0 */
	t_expect_field_refused(t, IIOFAB_MSG_STREAM_INFO, 32, 2);	/* is_signed */
	t_expect_field_refused(t, IIOFAB_MSG_STREAM_INFO, 33, 17);	/* bits > storage */
	t_expect_field_refused(t, IIOFAB_MSG_STREAM_INFO, 33, 0);	/* no bits */
	t_expect_field_refused(t, IIOFAB_MSG_STREAM_INFO, 34, 12);	/* storage not bytes */
	t_expect_field_refused(t, IIOFAB_MSG_STREAM_INFO, 35, 1);	/* shift overflows */
	t_expect_field_refused(t, IIOFAB_MSG_STREAM_INFO, 36, 2);	/* big_endian */
	/* SUBMIT: unknown flag bits of the first entry (4+2+4+4). */
	t_expect_field_refused(t, IIOFAB_MSG_SUBMIT, 14, 2);
	t_expect_field_refused(t, IIOFAB_MSG_SUBMIT, 17, 0x80);
	/* STREAM_EVENT event 0 and 5. */
	t_expect_field_refused(t, IIOFAB_MSG_STREAM_EVENT, 4, 0);
	t_expect_field_refused(t, IIOFAB_MSG_STREAM_EVENT, 4, 5);
	/* HELLO version_min > version_max. */
	t_expect_field_refused(t, IIOFAB_MSG_HELLO, 0, 4);

	/* The encoder refuses the same values. */
	t_fill(IIOFAB_MSG_ATTR_READ, &t->in);
	t->in.attr.scope = IIOFAB_WIRE_SCOPE_DEVICE;	/* with a channel name */
	assert_int_equal(iiofab_wire_encode(t->buf, sizeof(t->buf), IIOFAB_MSG_ATTR_READ, 1, &t->in), -EINVAL);
	t->in.attr.channel.len = 0;
	assert_true(iiofab_wire_encode(t->buf, sizeof(t->buf), IIOFAB_MSG_ATTR_READ, 1, &t->in) > 0);
	t->in.attr.scope = IIOFAB_WIRE_SCOPE_CHANNEL;	/* without one */
	assert_int_equal(iiofab_wire_encode(t->buf, sizeof(t->buf), IIOFAB_MSG_ATTR_READ, 1, &t->in), -EINVAL);
	t_fill(IIOFAB_MSG_OPEN_STREAM, &t->in);
	t->in.open_stream.mode = 3;
	assert_int_equal(iiofab_wire_encode(t->buf, sizeof(t->buf), IIOFAB_MSG_OPEN_STREAM, 1, &t->in), -EINVAL);
	t_fill(IIOFAB_MSG_STREAM_EVENT, &t->in);
	t->in.stream_event.event = 0;
	assert_int_equal(iiofab_wire_encode(t->buf, sizeof(t->buf), IIOFAB_MSG_STREAM_EVENT, 1, &t->in), -EINVAL);
	t_fill(IIOFAB_MSG_DEVICE, &t->in);
	t->in.device.channels[0].fmt.scan_index = -2;
	assert_int_equal(iiofab_wire_encode(t->buf, sizeof(t->buf), IIOFAB_MSG_DEVICE, 1, &t->in), -EINVAL);
	t_fill(IIOFAB_MSG_SUBMIT, &t->in);
	t->in.submit.entries[1].flags = 3;
	assert_int_equal(iiofab_wire_encode(t->buf, sizeof(t->buf), IIOFAB_MSG_SUBMIT, 1, &t->in), -EINVAL);
}

static void test_empty_and_api_misuse(void **state)
{
	struct t_ctx *t = *state;
	struct t_bytes body = { .n = 0 };
	size_t n;

	t_put(&body, 0, 1);
	n = t_frame(t->buf, IIOFAB_MSG_LIST, 9, &body);
	assert_int_equal(iiofab_wire_decode(t->buf, n, &t->hdr, &t->out), -EBADMSG);
	n = t_frame(t->buf, IIOFAB_MSG_STATS, 9, &body);
	assert_int_equal(iiofab_wire_decode(t->buf, n, &t->hdr, &t->out), -EBADMSG);
	assert_int_equal(iiofab_wire_decode_empty(NULL, 0), 0);

	assert_int_equal(iiofab_wire_encode(t->buf, sizeof(t->buf), IIOFAB_MSG_LIST, 5, NULL),
			 IIOFAB_WIRE_HDR_SIZE);
	assert_int_equal(iiofab_wire_encode(t->buf, sizeof(t->buf), IIOFAB_MSG_HELLO, 5, NULL), -EINVAL);
	assert_int_equal(iiofab_wire_encode(t->buf, sizeof(t->buf), 0, 5, &t->in), -EOPNOTSUPP);
	assert_int_equal(iiofab_wire_encode(t->buf, sizeof(t->buf), 26, 5, &t->in), -EOPNOTSUPP);
	assert_int_equal(iiofab_wire_encode(t->buf, 15, IIOFAB_MSG_LIST, 5, NULL), -ENOSPC);
	assert_int_equal(iiofab_wire_encode(NULL, 0, IIOFAB_MSG_STATS, 5, NULL), -ENOSPC);
}

static void test_str_helpers(void **state)
{
	char out[8];
	struct iiofab_wire_str s = iiofab_wire_str("voltage0");

	(void)state;
	assert_int_equal(s.len, 8);
	assert_true(iiofab_wire_str_eq(s, "voltage0"));
	assert_false(iiofab_wire_str_eq(s, "voltage"));
	assert_false(iiofab_wire_str_eq(s, "voltage00"));
	assert_true(iiofab_wire_str_eq(iiofab_wire_str(NULL), ""));
	assert_int_equal(iiofab_wire_str_copy(out, sizeof(out), s), -ENAMETOOLONG);
	s.len = 7;
	assert_int_equal(iiofab_wire_str_copy(out, sizeof(out), s), 7);
	assert_string_equal(out, "voltage");
	assert_int_equal(iiofab_wire_str_copy(out, 1, iiofab_wire_str("")), 0);
	assert_string_equal(out, "");
}

static void test_status(void **state)
{
	int32_t st;

	(void)state;
	assert_int_equal(iiofab_wire_status_to_errno(IIOFAB_WIRE_STATUS_OK), 0);
	assert_int_equal(iiofab_wire_status_from_errno(0), IIOFAB_WIRE_STATUS_OK);
	for (st = 1; st <= IIOFAB_WIRE_STATUS_MAX; st++) {
		int err = iiofab_wire_status_to_errno(st);

		assert_true(err < 0);
		assert_int_equal(iiofab_wire_status_from_errno(err), st);
		assert_int_equal(iiofab_wire_status_from_errno(-err), st);
		assert_string_not_equal(iiofab_wire_status_name(st), "UNKNOWN");
		assert_non_null(iiofab_wire_status_str(st));
	}
	assert_int_equal(iiofab_wire_status_to_errno(-1), -EPROTO);
	assert_int_equal(iiofab_wire_status_to_errno(IIOFAB_WIRE_STATUS_MAX + 1), -EPROTO);
	assert_string_equal(iiofab_wire_status_name(99), "UNKNOWN");
	assert_string_equal(iiofab_wire_status_name(IIOFAB_WIRE_STATUS_NO_DEVICE), "NO_DEVICE");
	assert_int_equal(iiofab_wire_status_from_errno(-ENODEV), IIOFAB_WIRE_STATUS_NO_DEVICE);
	assert_int_equal(iiofab_wire_status_from_errno(-EAGAIN), IIOFAB_WIRE_STATUS_BUSY);
	assert_int_equal(iiofab_wire_status_from_errno(-ENOSYS), IIOFAB_WIRE_STATUS_UNSUPPORTED);
	assert_int_equal(iiofab_wire_status_from_errno(-EXDEV), IIOFAB_WIRE_STATUS_INTERNAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_roundtrip_all, t_setup, t_teardown),
		cmocka_unit_test_setup_teardown(test_decoded_fields, t_setup, t_teardown),
		cmocka_unit_test_setup_teardown(test_golden_bytes, t_setup, t_teardown),
		cmocka_unit_test_setup_teardown(test_golden_nested, t_setup, t_teardown),
		cmocka_unit_test_setup_teardown(test_truncated_and_trailing, t_setup, t_teardown),
		cmocka_unit_test_setup_teardown(test_header_errors, t_setup, t_teardown),
		cmocka_unit_test_setup_teardown(test_oversized, t_setup, t_teardown),
		cmocka_unit_test_setup_teardown(test_strings, t_setup, t_teardown),
		cmocka_unit_test_setup_teardown(test_counts, t_setup, t_teardown),
		cmocka_unit_test_setup_teardown(test_enums_and_reserved, t_setup, t_teardown),
		cmocka_unit_test_setup_teardown(test_empty_and_api_misuse, t_setup, t_teardown),
		cmocka_unit_test(test_str_helpers),
		cmocka_unit_test(test_status),
	};

	return cmocka_run_group_tests_name("wire", tests, NULL, NULL);
}
