// SPDX-License-Identifier: MIT
/* The scripted board and the test environment (see t_board.h). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "t_board.h"

static const char *const t_chan_ids[] = { "voltage0", "voltage1", "voltage2", "voltage3" };

static struct t_board *board_of(struct t_peer *peer)
{
	return (struct t_board *)((char *)peer - offsetof(struct t_board, peer));
}

void t_board_send(struct t_board *b, uint16_t type, uint32_t request_id,
		  const union iiofab_wire_msg *m)
{
	int len = iiofab_wire_encode(b->wire, IIOFAB_WIRE_MAX_MSG, type, request_id, m);

	assert_true(len > 0);
	assert_non_null(b->peer.xp);
	t_xp_deliver(b->peer.xp, b->wire, (size_t)len);
}

static void reply_error(struct t_board *b, uint32_t request_id, int32_t status)
{
	memset(&b->out->error, 0, sizeof(b->out->error));
	b->out->error.status = status;
	b->out->error.message = iiofab_wire_str("refused by the test");
	t_board_send(b, IIOFAB_MSG_ERROR, request_id, b->out);
}

static void reply_ok(struct t_board *b, uint32_t request_id)
{
	b->out->ok = (struct iiofab_msg_ok){ 0 };
	t_board_send(b, IIOFAB_MSG_OK, request_id, b->out);
}

/* ---- the handshake and the device table ------------------------------------ */

static void on_hello(struct t_board *b, uint32_t rid)
{
	struct iiofab_msg_challenge *c = &b->out->challenge;

	assert_int_equal(b->in->hello.version_min, IIOFAB_WIRE_VERSION);
	memset(c, 0, sizeof(*c));
	c->version = IIOFAB_WIRE_VERSION;
	memset(c->server_nonce, 0x5a, sizeof(c->server_nonce));
	t_board_send(b, IIOFAB_MSG_CHALLENGE, rid, b->out);
}

static void on_auth(struct t_board *b, uint32_t rid)
{
	memset(&b->out->welcome, 0, sizeof(b->out->welcome));
	t_board_send(b, IIOFAB_MSG_WELCOME, rid, b->out);
}

static void on_list(struct t_board *b, uint32_t rid)
{
	struct iiofab_msg_devices *d = &b->out->devices;

	memset(d, 0, sizeof(*d));
	d->count = 2;
	d->devices[0] = (struct iiofab_wire_dev_summary){
		.id = iiofab_wire_str("iio:device0"), .name = iiofab_wire_str("t-adc"),
		.label = iiofab_wire_str("adc0"), .kind = IIOFAB_WIRE_KIND_INPUT,
		.n_channels = T_ADC_CHANNELS,
	};
	d->devices[1] = (struct iiofab_wire_dev_summary){
		.id = iiofab_wire_str("iio:device1"), .name = iiofab_wire_str("t-dac"),
		.label = iiofab_wire_str("dac0"), .kind = IIOFAB_WIRE_KIND_OUTPUT,
		.n_channels = T_DAC_CHANNELS,
	};
	t_board_send(b, IIOFAB_MSG_DEVICES, rid, b->out);
}

static struct iiofab_wire_scan_fmt fmt16(unsigned int scan_index)
{
	return (struct iiofab_wire_scan_fmt){
		.scan_index = (int16_t)scan_index, .is_signed = 1, .bits = 16,
		.storage_bits = 16,
	};
}

static void on_device_info(struct t_board *b, uint32_t rid)
{
	struct iiofab_msg_device *d = &b->out->device;
	bool adc = iiofab_wire_str_eq(b->in->device_info.device, "iio:device0");

	if (!adc && !iiofab_wire_str_eq(b->in->device_info.device, "iio:device1")) {
		reply_error(b, rid, IIOFAB_WIRE_STATUS_NO_DEVICE);
		return;
	}
	memset(d, 0, sizeof(*d));
	d->id = iiofab_wire_str(adc ? "iio:device0" : "iio:device1");
	d->name = iiofab_wire_str(adc ? "t-adc" : "t-dac");
	d->label = iiofab_wire_str(adc ? "adc0" : "dac0");
	d->kind = adc ? IIOFAB_WIRE_KIND_INPUT : IIOFAB_WIRE_KIND_OUTPUT;
	d->n_attrs = 1;
	d->attrs[0] = iiofab_wire_str("sampling_frequency");
	d->n_channels = adc ? T_ADC_CHANNELS : T_DAC_CHANNELS;
	for (unsigned int i = 0; i < d->n_channels; i++)
		d->channels[i] = (struct iiofab_wire_channel){
			.id = iiofab_wire_str(t_chan_ids[i]), .name = iiofab_wire_str(""),
			.output = !adc, .fmt = fmt16(i),
		};
	t_board_send(b, IIOFAB_MSG_DEVICE, rid, b->out);
}

/* ---- streams ------------------------------------------------------------------- */

static void free_arena(struct t_board *b)
{
	if (b->peer.xp)
		t_xp_remove_regions(b->peer.xp);
	free(b->mem);
	free(b->gen);
	b->mem = NULL;
	b->gen = NULL;
	b->stream_id = 0;
	b->started = false;
}

/* The arena, exposed per direction: inputs to READ, outputs to WRITE. */
static void make_arena(struct t_board *b, const struct iiofab_msg_open_stream *o)
{
	struct transport *xp = b->peer.xp;

	b->output = o->direction == IIOFAB_WIRE_DIR_OUT;
	b->block_count = o->block_count;
	b->block_size = o->block_size;
	b->n_channels = (unsigned int)__builtin_popcountll(o->channel_mask);
	b->scan_bytes = 2u * b->n_channels;
	b->mem = malloc(b->block_size * b->block_count);
	b->gen = calloc(b->block_count, sizeof(*b->gen));
	assert_non_null(b->mem);
	assert_non_null(b->gen);
	memset(b->mem, 0xee, b->block_size * b->block_count);
	for (unsigned int i = 0; i < b->block_count; i++) {
		b->gen[i] = 1;
		t_xp_add_region(xp, T_ARENA_ADDR + i * b->block_size, T_ARENA_RKEY + i,
				b->mem + i * b->block_size, b->block_size,
				b->output ? IBV_ACCESS_REMOTE_WRITE : IBV_ACCESS_REMOTE_READ);
	}
	if (!b->output)
		t_xp_add_region(xp, T_GEN_ADDR, T_GEN_RKEY, b->gen,
				b->block_count * sizeof(*b->gen), IBV_ACCESS_REMOTE_READ);
}

static void on_open_stream(struct t_board *b, uint32_t rid)
{
	const struct iiofab_msg_open_stream *o = &b->in->open_stream;
	struct iiofab_msg_stream_info *si = &b->out->stream_info;
	bool out = o->direction == IIOFAB_WIRE_DIR_OUT;
	unsigned int ch = 0;

	b->last_open = *o;
	/* Decoded strings point into the library's send slot: keep a copy. */
	assert_true(iiofab_wire_str_copy(b->last_open_device, sizeof(b->last_open_device),
					 o->device) >= 0);
	b->last_open.device = iiofab_wire_str(b->last_open_device);
	if (b->stream_id || !iiofab_wire_str_eq(o->device, out ? "iio:device1" : "iio:device0")) {
		reply_error(b, rid, b->stream_id ? IIOFAB_WIRE_STATUS_BUSY :
				    IIOFAB_WIRE_STATUS_NO_DEVICE);
		return;
	}
	make_arena(b, o);
	b->stream_id = T_STREAM_ID + b->opens++;
	memset(si, 0, sizeof(*si));
	si->stream_id = b->stream_id;
	si->block_size = o->block_size;
	si->block_count = b->info_block_count ? b->info_block_count : o->block_count;
	si->scan_bytes = (uint16_t)b->scan_bytes;
	si->reg_path = IIOFAB_WIRE_REG_MEMFD;
	si->gen_addr = b->output ? 0 : T_GEN_ADDR;
	si->gen_rkey = b->output ? 0 : T_GEN_RKEY;
	for (unsigned int i = 0; i < 64; i++)
		if (o->channel_mask & (1ull << i))
			si->channels[ch++] = fmt16(i);
	si->n_channels = (uint16_t)ch;
	for (unsigned int i = 0; i < si->block_count; i++)
		si->blocks[i] = (struct iiofab_wire_block){
			.addr = T_ARENA_ADDR + i * b->block_size, .rkey = T_ARENA_RKEY + i,
		};
	t_board_send(b, IIOFAB_MSG_STREAM_INFO, rid, b->out);
}

static void on_stream_ctl(struct t_board *b, uint16_t type, uint32_t rid)
{
	if (!b->stream_id || b->in->stream_ctl.stream_id != b->stream_id) {
		reply_error(b, rid, IIOFAB_WIRE_STATUS_NO_STREAM);
		return;
	}
	if (type == IIOFAB_MSG_START && b->ready_on_start)
		t_board_ready_msg(b, &b->start_ready, 1);
	reply_ok(b, rid);
	if (type == IIOFAB_MSG_START) {
		uint32_t all[IIOFAB_WIRE_MAX_FREE];

		b->started = true;
		/* Every block is the client's to fill, as iiofabd grants them. */
		for (uint32_t i = 0; b->output && i < b->block_count; i++)
			all[i] = i;
		if (b->output)
			t_board_free(b, all, b->block_count);
	} else if (type == IIOFAB_MSG_STOP) {
		b->started = false;
	} else {
		free_arena(b);
	}
}

static void on_release(struct t_board *b)
{
	const struct iiofab_msg_release *r = &b->in->release;

	assert_int_equal(r->stream_id, b->stream_id);
	b->release_sizes[b->release_msgs++] = r->count;
	for (unsigned int i = 0; i < r->count; i++) {
		const struct iiofab_wire_release_entry *e = &r->entries[i];

		assert_true(e->block < b->block_count);
		assert_true(b->n_released < T_MAX_LOG);
		b->released[b->n_released++] = *e;
		/* A current generation goes back to the converter, renewed. */
		if (e->generation == b->gen[e->block])
			b->gen[e->block]++;
		else
			b->stale_releases++;
	}
}

static void on_submit(struct t_board *b)
{
	const struct iiofab_msg_submit *m = &b->in->submit;

	assert_int_equal(m->stream_id, b->stream_id);
	b->submit_sizes[b->submit_msgs++] = m->count;
	for (unsigned int i = 0; i < m->count; i++) {
		assert_true(m->entries[i].block < b->block_count);
		assert_true(b->n_submitted < T_MAX_LOG);
		b->submitted[b->n_submitted++] = m->entries[i];
	}
}

static void dispatch(struct t_board *b, uint16_t type, uint32_t rid)
{
	switch (type) {
	case IIOFAB_MSG_HELLO:
		on_hello(b, rid);
		break;
	case IIOFAB_MSG_AUTH:
		on_auth(b, rid);
		break;
	case IIOFAB_MSG_LIST:
		on_list(b, rid);
		break;
	case IIOFAB_MSG_DEVICE_INFO:
		on_device_info(b, rid);
		break;
	case IIOFAB_MSG_OPEN_STREAM:
		b->announced_until = 0;
		on_open_stream(b, rid);
		break;
	case IIOFAB_MSG_START:
	case IIOFAB_MSG_STOP:
	case IIOFAB_MSG_CLOSE:
		on_stream_ctl(b, type, rid);
		break;
	case IIOFAB_MSG_RELEASE:
		on_release(b);
		break;
	case IIOFAB_MSG_SUBMIT:
		on_submit(b);
		break;
	default:
		fail_msg("the board got an unexpected %s", iiofab_wire_type_name(type));
	}
}

static void board_on_send(struct t_peer *peer, const uint8_t *buf, size_t len)
{
	struct t_board *b = board_of(peer);
	struct iiofab_wire_hdr h;

	/* The library only ever sends what the codec accepts. */
	assert_int_equal(iiofab_wire_decode(buf, len, &h, b->in), 0);
	assert_true(b->n_log < T_MAX_LOG);
	b->log[b->n_log++] = (struct t_sent){
		.type = h.type, .post = t_xp_posts(peer->xp) - 1, .waits = t_xp_waits(peer->xp),
	};
	if (h.type <= IIOFAB_MSG_TYPE_MAX && b->refuse[h.type]) {
		reply_error(b, h.request_id, b->refuse[h.type]);
		return;
	}
	dispatch(b, h.type, h.request_id);
}

static void board_on_wait(struct t_peer *peer)
{
	struct t_board *b = board_of(peer);

	if (b->on_wait)
		b->on_wait(b, b->wait_arg);
}

/* ---- what the test makes the board do -------------------------------------------- */

struct iiofab_wire_ready_entry t_board_entry(struct t_board *b, uint32_t block,
					     uint64_t seq, uint64_t first_sample,
					     uint32_t bytes)
{
	uint8_t *p = b->mem + block * b->block_size;
	size_t scans = bytes / b->scan_bytes;
	uint64_t lost;

	assert_true(block < b->block_count && bytes <= b->block_size);
	memset(p, 0xee, b->block_size);
	for (size_t k = 0; k < scans; k++) {
		for (unsigned int c = 0; c < b->n_channels; c++) {
			uint16_t v = t_sample(first_sample + k, c);

			memcpy(p + k * b->scan_bytes + 2 * c, &v, 2);
		}
	}
	lost = first_sample > b->announced_until ? first_sample - b->announced_until : 0;
	b->announced_until = first_sample + scans;
	return (struct iiofab_wire_ready_entry){
		.block = block, .bytes_used = bytes, .generation = b->gen[block],
		.seq = seq, .first_sample = first_sample, .timestamp_ns = t_stamp(seq),
		.lost = lost,
	};
}

void t_board_ready_msg(struct t_board *b, const struct iiofab_wire_ready_entry *e,
		       unsigned int n)
{
	struct iiofab_msg_ready *r = &b->out->ready;

	assert_true(n >= 1 && n <= IIOFAB_WIRE_MAX_READY);
	r->stream_id = b->stream_id;
	r->count = (uint16_t)n;
	memcpy(r->entries, e, n * sizeof(*e));
	t_board_send(b, IIOFAB_MSG_READY, 0, b->out);
}

void t_board_ready(struct t_board *b, uint32_t block, uint64_t seq,
		   uint64_t first_sample, uint32_t bytes)
{
	struct iiofab_wire_ready_entry e = t_board_entry(b, block, seq, first_sample, bytes);

	t_board_ready_msg(b, &e, 1);
}

void t_board_reclaim(struct t_board *b, uint32_t block)
{
	assert_true(block < b->block_count);
	b->gen[block]++;
	memset(b->mem + block * b->block_size, 0xa5, b->block_size);
}

void t_board_free(struct t_board *b, const uint32_t *blocks, unsigned int n)
{
	struct iiofab_msg_free *f = &b->out->free;

	f->stream_id = b->stream_id;
	f->count = (uint16_t)n;
	memcpy(f->blocks, blocks, n * sizeof(*blocks));
	t_board_send(b, IIOFAB_MSG_FREE, 0, b->out);
}

void t_board_event(struct t_board *b, uint32_t stream_id, uint32_t event, uint64_t value)
{
	b->out->stream_event = (struct iiofab_msg_stream_event){
		.stream_id = stream_id, .event = event, .value = value,
	};
	t_board_send(b, IIOFAB_MSG_STREAM_EVENT, 0, b->out);
}

unsigned int t_board_count(const struct t_board *b, uint16_t type)
{
	unsigned int n = 0;

	for (unsigned int i = 0; i < b->n_log; i++)
		n += b->log[i].type == type;
	return n;
}

unsigned int t_board_find(const struct t_board *b, uint16_t type, unsigned int n)
{
	for (unsigned int i = 0; i < b->n_log; i++)
		if (b->log[i].type == type && n-- == 0)
			return i;
	fail_msg("the board got no %s number %u", iiofab_wire_type_name(type), n);
	return 0;
}

/* ---- checks --------------------------------------------------------------------------- */

struct t_post *t_board_expect_read(struct t_env *e, uint32_t block, const void *slot,
				   uint32_t bytes)
{
	struct t_board *b = &e->board;
	struct t_post *p = t_xp_oldest(e->xp);

	assert_non_null(p);
	assert_non_null(p->op);
	assert_int_equal(p->n_wr, 2);
	/* The block into its landing slot ... */
	assert_int_equal(p->wr[0].opcode, IBV_WR_RDMA_READ);
	assert_int_equal(p->wr[0].remote_addr, T_ARENA_ADDR + block * b->block_size);
	assert_int_equal(p->wr[0].rkey, T_ARENA_RKEY + block);
	assert_int_equal(p->wr[0].length, bytes);
	if (slot)
		assert_int_equal(p->wr[0].local_addr, (uintptr_t)slot);
	assert_int_equal(p->wr[0].lkey,
			 t_xp_lkey_of(e->xp, (void *)(uintptr_t)p->wr[0].local_addr));
	/* ... then, on the same QP, its generation word. */
	assert_int_equal(p->wr[1].opcode, IBV_WR_RDMA_READ);
	assert_int_equal(p->wr[1].remote_addr, T_GEN_ADDR + 8ull * block);
	assert_int_equal(p->wr[1].rkey, T_GEN_RKEY);
	assert_int_equal(p->wr[1].length, 8);
	assert_int_not_equal(p->wr[1].lkey, p->wr[0].lkey);
	assert_int_equal(p->wr[1].lkey,
			 t_xp_lkey_of(e->xp, (void *)(uintptr_t)p->wr[1].local_addr));
	return p;
}

void t_board_expect_write(struct t_env *e, const struct t_post *p, uint32_t block,
			  const void *slot, uint32_t bytes)
{
	assert_non_null(p->op);
	assert_int_equal(p->n_wr, 1);
	assert_int_equal(p->wr[0].opcode, IBV_WR_RDMA_WRITE);
	assert_int_equal(p->wr[0].remote_addr, T_ARENA_ADDR + block * e->board.block_size);
	assert_int_equal(p->wr[0].rkey, T_ARENA_RKEY + block);
	assert_int_equal(p->wr[0].local_addr, (uintptr_t)slot);
	assert_int_equal(p->wr[0].length, bytes);
	assert_int_equal(p->wr[0].lkey, t_xp_lkey_of(e->xp, slot));
}

void t_check_scans(const void *data, size_t bytes, uint64_t first_sample,
		   unsigned int n_channels)
{
	const uint8_t *p = data;
	size_t scan = 2u * n_channels;

	for (size_t k = 0; k < bytes / scan; k++) {
		for (unsigned int c = 0; c < n_channels; c++) {
			uint16_t v;

			memcpy(&v, p + k * scan + 2 * c, 2);
			if (v != t_sample(first_sample + k, c))
				fail_msg("scan %zu channel %u: %u, want %u", k, c, v,
					 t_sample(first_sample + k, c));
		}
	}
}

/* ---- the environment ------------------------------------------------------------------ */

static void t_log(void *user_data, enum iiofab_log_level level, const char *msg)
{
	struct t_env *e = user_data;

	assert_true(level >= IIOFAB_LOG_ERROR && level <= IIOFAB_LOG_DEBUG);
	e->n_log[level]++;
	snprintf(e->last[level], sizeof(e->last[level]), "%s", msg);
}

void t_env_connect(struct t_env *e)
{
	struct t_board *b = &e->board;
	const struct iiofab_params params = {
		.log_fn = t_log,
		.log_level = IIOFAB_LOG_DEBUG,
		.user_data = e,
		.client_name = "client-unit",
	};

	memset(e, 0, sizeof(*e));
	b->in = malloc(sizeof(*b->in));
	b->out = malloc(sizeof(*b->out));
	b->wire = malloc(IIOFAB_WIRE_MAX_MSG);
	assert_non_null(b->in);
	assert_non_null(b->out);
	assert_non_null(b->wire);
	b->peer.on_send = board_on_send;
	b->peer.on_wait = board_on_wait;
	t_xp_listen(&b->peer);
	assert_int_equal(iiofab_connect("rdma://board", &params, &e->ctx), 0);
	e->xp = b->peer.xp;
	assert_non_null(e->xp);
	assert_int_equal(iiofab_ctx_get_devices_count(e->ctx), 2);
	e->adc = iiofab_ctx_find_device(e->ctx, "t-adc");
	e->dac = iiofab_ctx_find_device(e->ctx, "t-dac");
	assert_non_null(e->adc);
	assert_non_null(e->dac);
	/* HELLO, AUTH, LIST, then one DEVICE_INFO per device. */
	assert_int_equal(b->n_log, 5);
	assert_int_equal(b->log[0].type, IIOFAB_MSG_HELLO);
	assert_int_equal(b->log[1].type, IIOFAB_MSG_AUTH);
	assert_int_equal(b->log[2].type, IIOFAB_MSG_LIST);
	assert_int_equal(t_xp_held_recvs(e->xp), 0);
}

void t_env_open(struct t_env *e, bool output, size_t block_size, unsigned int count)
{
	int ret;

	if (output)
		ret = iiofab_stream_open_output(e->ctx, e->dac, NULL, block_size, count, &e->s);
	else
		ret = iiofab_stream_open(e->ctx, e->adc, NULL, block_size, count, &e->s);
	assert_int_equal(ret, 0);
	assert_non_null(e->s);
	assert_int_equal(iiofab_stream_start(e->s), 0);
	assert_true(e->board.started);
}

void t_env_fini(struct t_env *e)
{
	struct t_board *b = &e->board;

	iiofab_stream_close(e->s);
	e->s = NULL;
	/* The fake transport checks, as it closes, that nothing was left. */
	iiofab_disconnect(e->ctx);
	assert_null(b->peer.xp);
	free_arena(b);
	free(b->in);
	free(b->out);
	free(b->wire);
}

/* ---- driving the library ----------------------------------------------------------- */

struct iiofab_block *t_next(struct t_env *e)
{
	struct iiofab_block *blk = NULL;

	assert_int_equal(iiofab_stream_next(e->s, 0, &blk), 0);
	assert_non_null(blk);
	return blk;
}

void t_no_block(struct t_env *e)
{
	struct iiofab_block *blk = NULL;

	assert_int_equal(iiofab_stream_next(e->s, 0, &blk), -EAGAIN);
	assert_null(blk);
}

void *t_read_done(struct t_env *e, uint32_t block, uint32_t bytes)
{
	struct t_post *p = t_board_expect_read(e, block, NULL, bytes);

	t_xp_complete(e->xp, p, 0);
	return (void *)(uintptr_t)p->wr[0].local_addr;
}

void t_check_block(const struct t_env *e, const struct iiofab_block *blk, uint64_t seq,
		   uint64_t first_sample, size_t bytes, uint64_t lost)
{
	assert_int_equal(blk->seq, seq);
	assert_int_equal(blk->first_sample, first_sample);
	assert_int_equal(blk->timestamp_ns, t_stamp(seq));
	assert_int_equal(blk->bytes, bytes);
	assert_int_equal(blk->samples, bytes / e->board.scan_bytes);
	assert_int_equal(blk->lost_samples, lost);
	assert_true(blk->ready_ns > 0);
	assert_true(blk->landed_ns >= blk->ready_ns);
	t_check_scans(blk->data, bytes, first_sample, e->board.n_channels);
}
