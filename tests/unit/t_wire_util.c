// SPDX-License-Identifier: MIT
/* Sample messages and a hand byte builder for the codec tests and fuzz seeds. */
#include <string.h>

#include "t_wire_util.h"

void t_put(struct t_bytes *t, uint64_t v, size_t width)
{
	size_t i;

	for (i = 0; i < width && t->n < sizeof(t->b); i++)
		t->b[t->n++] = (uint8_t)(v >> (8 * i));
}

void t_put_raw(struct t_bytes *t, const void *p, size_t len)
{
	if (len > sizeof(t->b) - t->n)
		len = sizeof(t->b) - t->n;
	memcpy(t->b + t->n, p, len);
	t->n += len;
}

void t_put_str(struct t_bytes *t, const char *s, size_t len)
{
	t_put(t, len, 2);
	t_put_raw(t, s, len);
}

size_t t_frame(uint8_t *out, uint16_t type, uint32_t req_id, const struct t_bytes *body)
{
	struct t_bytes h = { .n = 0 };

	t_put(&h, IIOFAB_WIRE_MAGIC, 4);
	t_put(&h, IIOFAB_WIRE_VERSION, 1);
	t_put(&h, 0, 1);
	t_put(&h, type, 2);
	t_put(&h, body->n, 4);
	t_put(&h, req_id, 4);
	memcpy(out, h.b, h.n);
	memcpy(out + h.n, body->b, body->n);
	return h.n + body->n;
}

static const struct iiofab_wire_str dev_attrs[] = {
	{ "sampling_frequency", 18 }, { "pattern", 7 }, { "", 0 },
};
static const struct iiofab_wire_str chan0_attrs[] = {
	{ "raw", 3 }, { "scale", 5 },
};
static const struct iiofab_wire_str chan1_attrs[] = {
	{ "raw", 3 }, { "scale", 5 }, { "offset", 6 },
};

static void fill_nonce(uint8_t *p, size_t n, uint8_t seed)
{
	size_t i;

	for (i = 0; i < n; i++)
		p[i] = (uint8_t)(seed + 7 * i);
}

static void fill_device(struct iiofab_msg_device *d)
{
	d->id = iiofab_wire_str("iio:device0");
	d->name = iiofab_wire_str("iiofab-sim-adc");
	d->label = iiofab_wire_str("adc0");
	d->kind = IIOFAB_WIRE_KIND_INPUT;
	d->n_attrs = 3;
	memcpy(d->attrs, dev_attrs, sizeof(dev_attrs));
	d->n_buffer_attrs = 2;
	d->buffer_attrs[0] = iiofab_wire_str("length");
	d->buffer_attrs[1] = iiofab_wire_str("watermark");
	d->n_channels = 3;
	d->channels[0] = (struct iiofab_wire_channel){
		.id = iiofab_wire_str("voltage0"), .name = iiofab_wire_str("in0"),
		.fmt = { 0, 1, 16, 16, 0, 0 }, .n_attrs = 2, .attrs = chan0_attrs,
	};
	d->channels[1] = (struct iiofab_wire_channel){
		.id = iiofab_wire_str("voltage1"),
		.fmt = { 1, 0, 12, 16, 4, 1 }, .n_attrs = 3, .attrs = chan1_attrs,
	};
	d->channels[2] = (struct iiofab_wire_channel){
		.id = iiofab_wire_str("timestamp"), .output = 0,
		.fmt = { -1, 0, 0, 0, 0, 0 },
	};
}

void t_fill(uint16_t type, union iiofab_wire_msg *m)
{
	uint16_t i;

	memset(m, 0, sizeof(*m));
	switch (type) {
	case IIOFAB_MSG_HELLO:
		m->hello.version_min = 1;
		m->hello.version_max = 3;
		m->hello.features = 0xa5a50001;
		fill_nonce(m->hello.client_nonce, sizeof(m->hello.client_nonce), 1);
		m->hello.client_name = iiofab_wire_str("libiiofab");
		break;
	case IIOFAB_MSG_CHALLENGE:
		m->challenge.version = 1;
		m->challenge.features = 0x80000000;
		m->challenge.auth_required = 1;
		fill_nonce(m->challenge.server_nonce, sizeof(m->challenge.server_nonce), 9);
		break;
	case IIOFAB_MSG_AUTH:
		fill_nonce(m->auth.mac, sizeof(m->auth.mac), 3);
		break;
	case IIOFAB_MSG_WELCOME:
		fill_nonce(m->welcome.mac, sizeof(m->welcome.mac), 5);
		m->welcome.features = 2;
		break;
	case IIOFAB_MSG_ERROR:
		m->error.status = IIOFAB_WIRE_STATUS_NO_CHANNEL;
		m->error.message = iiofab_wire_str("no channel \"voltage9\" on iio:device0");
		break;
	case IIOFAB_MSG_OK:
		m->ok.status = -7;	/* any i32 travels */
		m->ok.value = 0xdeadbeef;
		break;
	case IIOFAB_MSG_DEVICES:
		m->devices.count = 2;
		m->devices.devices[0] = (struct iiofab_wire_dev_summary){
			iiofab_wire_str("iio:device0"), iiofab_wire_str("sim-adc"),
			iiofab_wire_str(""), IIOFAB_WIRE_KIND_INPUT, 4, 2,
		};
		m->devices.devices[1] = (struct iiofab_wire_dev_summary){
			iiofab_wire_str("iio:device1"), iiofab_wire_str("sim-dac"),
			iiofab_wire_str("dac"), IIOFAB_WIRE_KIND_OUTPUT, 2, 1,
		};
		break;
	case IIOFAB_MSG_DEVICE_INFO:
		m->device_info.device = iiofab_wire_str("sim-adc");
		break;
	case IIOFAB_MSG_DEVICE:
		fill_device(&m->device);
		break;
	case IIOFAB_MSG_ATTR_READ:
	case IIOFAB_MSG_ATTR_WRITE:
		m->attr.device = iiofab_wire_str("iio:device0");
		m->attr.scope = IIOFAB_WIRE_SCOPE_CHANNEL;
		m->attr.channel = iiofab_wire_str("voltage0");
		m->attr.channel_output = 1;
		m->attr.attr = iiofab_wire_str("raw");
		if (type == IIOFAB_MSG_ATTR_WRITE)
			m->attr.value = iiofab_wire_str("1234");
		break;
	case IIOFAB_MSG_ATTR_VALUE:
		m->attr_value.value = iiofab_wire_str("1000000");
		break;
	case IIOFAB_MSG_OPEN_STREAM:
		m->open_stream.device = iiofab_wire_str("iio:device0");
		m->open_stream.channel_mask = 0x800000000000000fULL;
		m->open_stream.block_size = 1u << 20;
		m->open_stream.block_count = 16;
		m->open_stream.direction = IIOFAB_WIRE_DIR_IN;
		m->open_stream.mode = IIOFAB_WIRE_MODE_FANOUT;
		break;
	case IIOFAB_MSG_STREAM_INFO:
		m->stream_info.stream_id = 42;
		m->stream_info.block_size = 65536;
		m->stream_info.block_count = 5;
		m->stream_info.scan_bytes = 8;
		m->stream_info.reg_path = IIOFAB_WIRE_REG_MEMFD;
		m->stream_info.gen_addr = 0x7f0012345000ULL;
		m->stream_info.gen_rkey = 0x1234;
		m->stream_info.n_channels = 4;
		for (i = 0; i < 4; i++)
			m->stream_info.channels[i] = (struct iiofab_wire_scan_fmt){
				(int16_t)i, 1, 16, 16, 0, 0 };
		for (i = 0; i < 5; i++)
			m->stream_info.blocks[i] = (struct iiofab_wire_block){
				0x7f0000000000ULL + i * 65536ULL, 0x100u + i };
		break;
	case IIOFAB_MSG_START:
	case IIOFAB_MSG_STOP:
	case IIOFAB_MSG_CLOSE:
		m->stream_ctl.stream_id = 42;
		break;
	case IIOFAB_MSG_READY:
		m->ready.stream_id = 42;
		m->ready.count = 3;
		for (i = 0; i < 3; i++)
			m->ready.entries[i] = (struct iiofab_wire_ready_entry){
				i, 65536, 7 + i, 100 + i, (100 + i) * 8192ULL,
				1700000000000000000ULL + i, 4096ULL * i,
				i == 2 ? IIOFAB_WIRE_READY_REDELIVERED : 0 };
		break;
	case IIOFAB_MSG_RELEASE:
		m->release.stream_id = 42;
		m->release.count = 2;
		m->release.entries[0] = (struct iiofab_wire_release_entry){ 3, 9 };
		m->release.entries[1] = (struct iiofab_wire_release_entry){ 255, UINT64_MAX };
		break;
	case IIOFAB_MSG_FREE:
		m->free.stream_id = 7;
		m->free.count = 3;
		m->free.blocks[0] = 0;
		m->free.blocks[1] = 1;
		m->free.blocks[2] = 255;
		break;
	case IIOFAB_MSG_SUBMIT:
		m->submit.stream_id = 7;
		m->submit.count = 2;
		m->submit.entries[0] = (struct iiofab_wire_submit_entry){ 0, 4096, 0 };
		m->submit.entries[1] = (struct iiofab_wire_submit_entry){
			1, 8192, IIOFAB_WIRE_SUBMIT_CYCLIC };
		break;
	case IIOFAB_MSG_STATS_REPLY:
		m->stats_reply.count = 3;
		m->stats_reply.stats[0] = (struct iiofab_wire_stat){ iiofab_wire_str("streams"), 1 };
		m->stats_reply.stats[1] = (struct iiofab_wire_stat){ iiofab_wire_str("clients"), 2 };
		m->stats_reply.stats[2] = (struct iiofab_wire_stat){ iiofab_wire_str("lost_blocks"), 1ULL << 40 };
		m->stats_reply.reg_path = iiofab_wire_str("memfd");
		break;
	case IIOFAB_MSG_STREAM_EVENT:
		m->stream_event.stream_id = 42;
		m->stream_event.event = IIOFAB_WIRE_EVENT_UNDERRUN;
		m->stream_event.value = 17;
		break;
	}
}
