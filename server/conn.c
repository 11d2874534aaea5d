// SPDX-License-Identifier: MIT
/*
 * One client connection: its verbs resources, the control buffers and the
 * control protocol (handshake, queries, attributes, stream requests).
 *
 * Nothing that names memory (address, rkey) and nothing about the board's
 * devices leaves before the handshake has ended with WELCOME.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <infiniband/verbs.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <rdma/rdma_cma.h>

#include "srv.h"
#include "srv_errno.h"
#include "srv_loop.h"

#define SEND_FLAG	(1ull << 32)
#define DRAIN_MS	500

static uint8_t *recv_buf(struct srv_client *cl, unsigned int slot)
{
	return cl->bufs + (size_t)slot * SRV_CTRL_SIZE;
}

static uint8_t *send_buf(struct srv_client *cl, unsigned int slot)
{
	return cl->bufs + (size_t)(SRV_N_RECV + slot) * SRV_CTRL_SIZE;
}

static int post_recv(struct srv_client *cl, unsigned int slot)
{
	struct ibv_sge sge = {
		.addr = (uintptr_t)recv_buf(cl, slot),
		.length = SRV_CTRL_SIZE,
		.lkey = cl->buf_mr->lkey,
	};
	struct ibv_recv_wr wr = { .wr_id = slot, .sg_list = &sge, .num_sge = 1 };
	struct ibv_recv_wr *bad;
	int err = srv_from_ibv(ibv_post_recv(cl->qp, &wr, &bad));

	if (!err)
		cl->posted_recv++;
	return err;
}

void *srv_client_send_slot(struct srv_client *cl, unsigned int *slot)
{
	if (cl->dying || !cl->n_send_free)
		return NULL;
	*slot = cl->send_free[--cl->n_send_free];
	return send_buf(cl, *slot);
}

int srv_client_send_post(struct srv_client *cl, unsigned int slot, int len)
{
	struct ibv_sge sge;
	struct ibv_send_wr wr = { 0 }, *bad;
	int err;

	if (len <= 0 || cl->dying) {
		cl->send_free[cl->n_send_free++] = slot;
		if (len < 0)
			srv_err(&cl->srv->log, "client %llu: encode failed: %s",
				(unsigned long long)cl->cid, strerror(-len));
		return len < 0 ? len : (cl->dying ? -ENOTCONN : 0);
	}
	if (cl->srv->log.level >= SRV_LOG_DEBUG) {
		struct iiofab_wire_hdr h = { 0 };
		int derr = iiofab_wire_decode(send_buf(cl, slot), (size_t)len, &h,
					      cl->srv->check);

		/* Self-check: everything sent must decode on the other side. */
		if (derr)
			srv_err(&cl->srv->log, "client %llu: outgoing %s (%d bytes) does not decode: %s",
				(unsigned long long)cl->cid, iiofab_wire_type_name(h.type), len,
				strerror(-derr));
	}
	sge.addr = (uintptr_t)send_buf(cl, slot);
	sge.length = (uint32_t)len;
	sge.lkey = cl->buf_mr->lkey;
	wr.wr_id = SEND_FLAG | slot;
	wr.sg_list = &sge;
	wr.num_sge = 1;
	wr.opcode = IBV_WR_SEND;
	wr.send_flags = IBV_SEND_SIGNALED;
	err = srv_from_ibv(ibv_post_send(cl->qp, &wr, &bad));
	if (err) {
		cl->send_free[cl->n_send_free++] = slot;
		srv_client_kill(cl, "post send failed");
		return err;
	}
	clock_gettime(CLOCK_MONOTONIC, &cl->last_send);
	if (!cl->posted_send++)
		cl->first_unacked = cl->last_send;
	return 0;
}

static int64_t ms_between(const struct timespec *a, const struct timespec *b)
{
	return ((int64_t)srv_ts_ns(b) - (int64_t)srv_ts_ns(a)) / 1000000;
}

void srv_client_keepalive(struct srv_client *cl, const struct timespec *now)
{
	struct iiofab_msg_stream_event m = { .event = IIOFAB_WIRE_EVENT_KEEPALIVE };
	const struct timespec *since = &cl->first_unacked;
	unsigned int slot;
	void *buf;

	if (cl->dying || !cl->subs)
		return;
	/*
	 * A send still in flight is already the probe. Its retries should
	 * fail it, but soft-RoCE never times out a send whose ACK does not
	 * come, so unacknowledged sends also have a deadline of their own.
	 */
	if (cl->posted_send) {
		if (ms_between(since, &cl->last_ack) > 0)
			since = &cl->last_ack;
		if (ms_between(since, now) >= SRV_PEER_DEAD_MS)
			srv_client_kill(cl, "no acknowledgement from the host for "
					SRV_STR(SRV_PEER_DEAD_MS) " ms");
		return;
	}
	if (ms_between(&cl->last_send, now) < SRV_KEEPALIVE_MS)
		return;
	buf = srv_client_send_slot(cl, &slot);
	if (!buf)
		return;	/* sends in flight will tell */
	m.stream_id = cl->subs->st->id;
	srv_dbg(&cl->srv->log, "client %llu: keepalive after %lld ms without a message",
		(unsigned long long)cl->cid, (long long)ms_between(&cl->last_send, now));
	(void)srv_client_send_post(cl, slot,
				   iiofab_wire_encode_stream_event(buf, SRV_CTRL_SIZE, 0, &m));
}

void srv_client_send_error(struct srv_client *cl, uint32_t req_id, int err,
			   const char *fmt, ...)
{
	struct iiofab_msg_error m;
	char text[512];
	unsigned int slot;
	void *buf;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	m.status = iiofab_wire_status_from_errno(err);
	m.message = iiofab_wire_str(text);
	srv_dbg(&cl->srv->log, "client %llu: ERROR %s: %s", (unsigned long long)cl->cid,
		iiofab_wire_status_name(m.status), text);
	buf = srv_client_send_slot(cl, &slot);
	if (!buf) {
		srv_client_kill(cl, "no send slot for an ERROR reply");
		return;
	}
	(void)srv_client_send_post(cl, slot,
				   iiofab_wire_encode_error(buf, SRV_CTRL_SIZE, req_id, &m));
}

void srv_client_send_ok(struct srv_client *cl, uint32_t req_id, uint32_t value)
{
	struct iiofab_msg_ok m = { .status = 0, .value = value };
	unsigned int slot;
	void *buf = srv_client_send_slot(cl, &slot);

	if (!buf) {
		srv_client_kill(cl, "no send slot for an OK reply");
		return;
	}
	(void)srv_client_send_post(cl, slot,
				   iiofab_wire_encode_ok(buf, SRV_CTRL_SIZE, req_id, &m));
}

/* A fatal reply: let it reach the client, then disconnect. */
static void send_fatal(struct srv_client *cl, uint32_t req_id, int err,
		       const char *text)
{
	srv_client_send_error(cl, req_id, err, "%s", text);
	cl->close_after_send = true;
}

void srv_client_kill(struct srv_client *cl, const char *why)
{
	if (cl->dying)
		return;
	cl->dying = true;
	srv_info(&cl->srv->log, "client %llu (%s): closing: %s",
		 (unsigned long long)cl->cid, cl->peer, why);
	/* Sends DREQ and moves the QP to error; the server reaps it later. */
	(void)rdma_disconnect(cl->id);
}

void srv_client_check_deadline(struct srv_client *cl, const struct timespec *now)
{
	if (cl->state == SRV_CL_READY || cl->dying)
		return;
	if (now->tv_sec > cl->deadline.tv_sec ||
	    (now->tv_sec == cl->deadline.tv_sec && now->tv_nsec >= cl->deadline.tv_nsec))
		srv_client_kill(cl, "handshake timed out");
}

static int hmac_sha256(const struct srv_config *cfg, const char *label,
		       const uint8_t *n1, const uint8_t *n2, uint8_t *out)
{
	uint8_t data[64 + 2 * IIOFAB_WIRE_NONCE_SIZE];
	size_t ll = strlen(label);
	unsigned int mdlen = 0;

	memcpy(data, label, ll);
	memcpy(data + ll, n1, IIOFAB_WIRE_NONCE_SIZE);
	memcpy(data + ll + IIOFAB_WIRE_NONCE_SIZE, n2, IIOFAB_WIRE_NONCE_SIZE);
	if (!HMAC(EVP_sha256(), cfg->psk, (int)cfg->psk_len, data,
		  ll + 2 * IIOFAB_WIRE_NONCE_SIZE, out, &mdlen) ||
	    mdlen != IIOFAB_WIRE_MAC_SIZE)
		return -EIO;
	return 0;
}

int srv_crypto_warmup(const struct srv_config *cfg)
{
	uint8_t nonce[IIOFAB_WIRE_NONCE_SIZE], mac[IIOFAB_WIRE_MAC_SIZE];

	/*
	 * libcrypto sets up its DRBG and digests lazily; on a slow board that
	 * first use can eat a client's handshake deadline, so pay it now.
	 */
	if (RAND_bytes(nonce, sizeof(nonce)) != 1)
		return -EIO;
	if (cfg->psk_len)
		return hmac_sha256(cfg, IIOFAB_WIRE_AUTH_CLIENT_LABEL, nonce, nonce, mac);
	return 0;
}

static void handle_hello(struct srv_client *cl, uint32_t req_id,
			 const struct iiofab_msg_hello *m)
{
	const struct srv_config *cfg = cl->srv->cfg;
	struct iiofab_msg_challenge ch = { 0 };
	unsigned int slot;
	size_t n;
	void *buf;

	if (m->version_min > IIOFAB_WIRE_VERSION || m->version_max < IIOFAB_WIRE_VERSION) {
		send_fatal(cl, req_id, -EPROTONOSUPPORT,
			   "this server speaks protocol version 1 only");
		return;
	}
	memcpy(cl->client_nonce, m->client_nonce, sizeof(cl->client_nonce));
	n = m->client_name.len < sizeof(cl->name) - 1 ? m->client_name.len :
							 sizeof(cl->name) - 1;
	memcpy(cl->name, m->client_name.ptr, n);
	cl->name[n] = '\0';
	if (RAND_bytes(cl->server_nonce, sizeof(cl->server_nonce)) != 1) {
		send_fatal(cl, req_id, -EIO, "no randomness for the challenge");
		return;
	}
	ch.version = IIOFAB_WIRE_VERSION;
	ch.features = 0;
	ch.auth_required = cfg->psk_len && !cfg->insecure;
	memcpy(ch.server_nonce, cl->server_nonce, sizeof(ch.server_nonce));
	buf = srv_client_send_slot(cl, &slot);
	if (!buf) {
		srv_client_kill(cl, "no send slot for CHALLENGE");
		return;
	}
	if (srv_client_send_post(cl, slot, iiofab_wire_encode_challenge(buf, SRV_CTRL_SIZE,
									 req_id, &ch)) == 0)
		cl->state = SRV_CL_AUTH;
}

static void handle_auth(struct srv_client *cl, uint32_t req_id,
			const struct iiofab_msg_auth *m)
{
	struct srv *srv = cl->srv;
	const struct srv_config *cfg = srv->cfg;
	struct iiofab_msg_welcome w = { 0 };
	uint8_t expect[IIOFAB_WIRE_MAC_SIZE];
	const char *how = "without a key";
	bool zero = true;
	unsigned int slot;
	void *buf;

	for (unsigned int i = 0; i < sizeof(m->mac); i++)
		zero &= !m->mac[i];
	if (cfg->psk_len && !zero) {
		if (hmac_sha256(cfg, IIOFAB_WIRE_AUTH_CLIENT_LABEL, cl->server_nonce,
				cl->client_nonce, expect) < 0) {
			send_fatal(cl, req_id, -EIO, "HMAC failed on the server");
			return;
		}
		if (CRYPTO_memcmp(expect, m->mac, sizeof(expect))) {
			srv->stats.auth_failures++;
			srv_warn(&srv->log, "client %llu (%s): wrong key", (unsigned long long)cl->cid,
				 cl->peer);
			send_fatal(cl, req_id, -EKEYREJECTED,
				   "the client's key does not match the server's");
			return;
		}
		if (hmac_sha256(cfg, IIOFAB_WIRE_AUTH_SERVER_LABEL, cl->client_nonce,
				cl->server_nonce, w.mac) < 0) {
			send_fatal(cl, req_id, -EIO, "HMAC failed on the server");
			return;
		}
		how = "with the pre-shared key";
	} else if (!cfg->insecure) {
		srv->stats.auth_failures++;
		srv_warn(&srv->log, "client %llu (%s): no key, refused", (unsigned long long)cl->cid,
			 cl->peer);
		send_fatal(cl, req_id, -EACCES,
			   "the client presented no key");
		return;
	}
	buf = srv_client_send_slot(cl, &slot);
	if (!buf) {
		srv_client_kill(cl, "no send slot for WELCOME");
		return;
	}
	if (srv_client_send_post(cl, slot, iiofab_wire_encode_welcome(buf, SRV_CTRL_SIZE,
								       req_id, &w)))
		return;
	cl->state = SRV_CL_READY;
	srv_info(&srv->log, "client %llu (%s, \"%s\") authenticated %s",
		 (unsigned long long)cl->cid, cl->peer, cl->name, how);
	srv_timer_update(srv);
}

static void handle_list(struct srv_client *cl, uint32_t req_id)
{
	struct srv_iio *iio = cl->srv->iio;
	struct iiofab_msg_devices *m;
	unsigned int n = srv_iio_device_count(iio), slot;
	void *buf;

	m = calloc(1, sizeof(*m));
	if (!m) {
		srv_client_send_error(cl, req_id, -ENOMEM, "out of memory");
		return;
	}
	if (n > IIOFAB_WIRE_MAX_DEVICES)
		n = IIOFAB_WIRE_MAX_DEVICES;
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
	buf = srv_client_send_slot(cl, &slot);
	if (buf)
		(void)srv_client_send_post(cl, slot,
					   iiofab_wire_encode_devices(buf, SRV_CTRL_SIZE, req_id, m));
	else
		srv_client_kill(cl, "no send slot for DEVICES");
	free(m);
}

static unsigned int clamp(unsigned int v, unsigned int max)
{
	return v > max ? max : v;
}

static void handle_device_info(struct srv_client *cl, uint32_t req_id,
			       const struct iiofab_msg_device_info *q)
{
	char key[IIOFAB_WIRE_MAX_NAME + 1];
	const struct iio_device *dev;
	struct iiofab_msg_device *m;
	struct iiofab_wire_str *pool;
	unsigned int used = 0, slot;
	void *buf;
	int len;

	if (iiofab_wire_str_copy(key, sizeof(key), q->device) < 0 ||
	    !(dev = srv_iio_find_device(cl->srv->iio, key))) {
		srv_client_send_error(cl, req_id, -ENODEV, "no device '%.*s'",
				      (int)q->device.len, q->device.ptr);
		return;
	}
	m = calloc(1, sizeof(*m));
	pool = calloc(IIOFAB_WIRE_MAX_CHAN_ATTRS_TOTAL, sizeof(*pool));
	if (!m || !pool) {
		srv_client_send_error(cl, req_id, -ENOMEM, "out of memory");
		goto out_free;
	}
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
	for (unsigned int c = 0; c < m->n_channels; c++) {
		struct iiofab_wire_channel *wc = &m->channels[c];
		struct srv_chan_info ci;
		unsigned int na;

		srv_iio_chan_info(dev, c, &ci);
		na = clamp(ci.n_attrs, IIOFAB_WIRE_MAX_CHAN_ATTRS);
		na = clamp(na, IIOFAB_WIRE_MAX_CHAN_ATTRS_TOTAL - used);
		wc->id = iiofab_wire_str(ci.id);
		wc->name = iiofab_wire_str(ci.name);
		wc->output = ci.output;
		wc->fmt = (struct iiofab_wire_scan_fmt){
			.scan_index = (int16_t)(ci.scan_index > IIOFAB_WIRE_MAX_SCAN_INDEX ?
						-1 : ci.scan_index),
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
		wc->attrs = &pool[used];
		for (unsigned int i = 0; i < na; i++)
			pool[used + i] = iiofab_wire_str(srv_iio_chan_attr(dev, c, i));
		used += na;
	}
	buf = srv_client_send_slot(cl, &slot);
	if (!buf) {
		srv_client_kill(cl, "no send slot for DEVICE");
		goto out_free;
	}
	len = iiofab_wire_encode_device(buf, SRV_CTRL_SIZE, req_id, m);
	if (len < 0) {
		(void)srv_client_send_post(cl, slot, 0);
		srv_client_send_error(cl, req_id, len == -EMSGSIZE ? -EMSGSIZE : -EREMOTEIO,
				      "description of %s does not fit one message: %s", key,
				      strerror(-len));
		goto out_free;
	}
	(void)srv_client_send_post(cl, slot, len);
out_free:
	free(pool);
	free(m);
}

static void handle_attr(struct srv_client *cl, uint32_t req_id, bool write,
			const struct iiofab_msg_attr *q)
{
	char dev_key[IIOFAB_WIRE_MAX_NAME + 1], chan[IIOFAB_WIRE_MAX_NAME + 1];
	char attr[IIOFAB_WIRE_MAX_NAME + 1], value[IIOFAB_WIRE_MAX_VALUE + 1];
	char out[IIOFAB_WIRE_MAX_VALUE + 1];
	struct iiofab_msg_attr_value v;
	const struct iio_device *dev;
	unsigned int slot;
	void *buf;
	int err;

	if (iiofab_wire_str_copy(dev_key, sizeof(dev_key), q->device) < 0 ||
	    !(dev = srv_iio_find_device(cl->srv->iio, dev_key))) {
		srv_client_send_error(cl, req_id, -ENODEV, "no device '%.*s'",
				      (int)q->device.len, q->device.ptr);
		return;
	}
	/* value is decoded for ATTR_WRITE only; in a READ it is stale scratch. */
	value[0] = '\0';
	if (iiofab_wire_str_copy(chan, sizeof(chan), q->channel) < 0 ||
	    iiofab_wire_str_copy(attr, sizeof(attr), q->attr) < 0 ||
	    (write && iiofab_wire_str_copy(value, sizeof(value), q->value) < 0)) {
		srv_client_send_error(cl, req_id, -EINVAL, "name or value too long");
		return;
	}
	if (write) {
		err = srv_iio_attr_write(dev, (enum srv_iio_scope)q->scope, chan,
					 q->channel_output, attr, value);
		if (err < 0)
			goto out_error;
		srv_info(&cl->srv->log, "client %llu: %s %s%s%s = %s",
			 (unsigned long long)cl->cid, dev_key, chan, *chan ? " " : "", attr, value);
	}
	err = srv_iio_attr_read(dev, (enum srv_iio_scope)q->scope, chan,
				q->channel_output, attr, out, sizeof(out));
	if (err < 0 && write) {
		/* Write-only attribute: report what was written. */
		snprintf(out, sizeof(out), "%s", value);
		err = 0;
	}
	if (err < 0)
		goto out_error;
	v.value = iiofab_wire_str(out);
	buf = srv_client_send_slot(cl, &slot);
	if (!buf) {
		srv_client_kill(cl, "no send slot for ATTR_VALUE");
		return;
	}
	(void)srv_client_send_post(cl, slot,
				   iiofab_wire_encode_attr_value(buf, SRV_CTRL_SIZE, req_id, &v));
	return;

out_error:
	if (err == -ENXIO)
		srv_client_send_error(cl, req_id, err, "%s has no %s channel '%s'", dev_key,
				      q->channel_output ? "output" : "input", chan);
	else if (err == -ENOENT)
		srv_client_send_error(cl, req_id, err, "no attribute '%s'", attr);
	else
		srv_client_send_error(cl, req_id, err, "%s %s: %s", write ? "writing" : "reading",
				      attr, strerror(-err));
}

static void handle_stats(struct srv_client *cl, uint32_t req_id)
{
	struct srv *srv = cl->srv;
	const struct srv_stats *s = &srv->stats;
	struct iiofab_msg_stats_reply *m;
	struct timespec now;
	unsigned int slot;
	void *buf;

	m = calloc(1, sizeof(*m));
	if (!m) {
		srv_client_send_error(cl, req_id, -ENOMEM, "out of memory");
		return;
	}
	clock_gettime(CLOCK_MONOTONIC, &now);
#define STAT(k, v) m->stats[m->count++] = (struct iiofab_wire_stat){ iiofab_wire_str(k), (v) }
	STAT("uptime_s", (uint64_t)(now.tv_sec - srv->started.tv_sec));
	STAT("clients", s->clients_now);
	STAT("clients_total", s->clients_total);
	STAT("auth_failures", s->auth_failures);
	STAT("bad_messages", s->bad_messages);
	STAT("streams", s->streams_now);
	STAT("streams_total", s->streams_total);
	STAT("blocks_completed", s->blocks_completed);
	STAT("blocks_released", s->blocks_released);
	STAT("blocks_lost", s->blocks_reclaimed);
	STAT("samples_lost", s->samples_reclaimed);
	STAT("stale_releases", s->stale_releases);
	STAT("dry_windows", s->dry_windows);
	STAT("converter_overruns", s->converter_overruns);
	STAT("blocks_withheld", s->blocks_withheld);
	STAT("samples_withheld", s->samples_withheld);
	STAT("ready_messages", s->ready_messages);
	STAT("dac_blocks_submitted", s->dac_blocks_submitted);
	STAT("dac_bytes_submitted", s->dac_bytes_submitted);
	STAT("dac_cyclic_submits", s->dac_cyclic_submits);
	STAT("dac_blocks_consumed", s->dac_blocks_consumed);
	STAT("dac_submits_refused", s->dac_submits_refused);
	STAT("dac_underruns", s->dac_underruns);
	STAT("free_messages", s->free_messages);
	STAT("reg_dmabuf_mr", s->reg_dmabuf);
	STAT("reg_memfd_mr", s->reg_memfd);
#undef STAT
	m->reg_path = iiofab_wire_str(s->reg_any ? srv_reg_path_name(s->reg_last) : "none");
	buf = srv_client_send_slot(cl, &slot);
	if (buf)
		(void)srv_client_send_post(cl, slot,
					   iiofab_wire_encode_stats_reply(buf, SRV_CTRL_SIZE, req_id, m));
	else
		srv_client_kill(cl, "no send slot for STATS_REPLY");
	free(m);
}

static void handle_msg(struct srv_client *cl, const uint8_t *data, size_t len)
{
	struct srv *srv = cl->srv;
	union iiofab_wire_msg *m = srv->msg;
	struct iiofab_wire_hdr h = { 0 };
	int err;

	err = iiofab_wire_decode(data, len, &h, m);
	if (err < 0) {
		srv->stats.bad_messages++;
		srv_warn(&srv->log, "client %llu: bad message (type %u, %zu bytes): %s",
			 (unsigned long long)cl->cid, h.type, len, strerror(-err));
		srv_client_send_error(cl, h.request_id,
				      err == -EPROTONOSUPPORT || err == -EOPNOTSUPP ? err : -EBADMSG,
				      "message rejected: %s", strerror(-err));
		if (cl->state != SRV_CL_READY)
			cl->close_after_send = true;
		return;
	}
	srv_dbg(&srv->log, "client %llu: %s (%zu bytes, id %u)", (unsigned long long)cl->cid,
		iiofab_wire_type_name(h.type), len, h.request_id);

	if (cl->state == SRV_CL_HELLO) {
		if (h.type == IIOFAB_MSG_HELLO)
			handle_hello(cl, h.request_id, &m->hello);
		else
			send_fatal(cl, h.request_id, -EACCES, "HELLO must come first");
		return;
	}
	if (cl->state == SRV_CL_AUTH) {
		if (h.type == IIOFAB_MSG_AUTH)
			handle_auth(cl, h.request_id, &m->auth);
		else
			send_fatal(cl, h.request_id, -EACCES, "AUTH must follow CHALLENGE");
		return;
	}
	switch (h.type) {
	case IIOFAB_MSG_LIST:
		handle_list(cl, h.request_id);
		break;
	case IIOFAB_MSG_DEVICE_INFO:
		handle_device_info(cl, h.request_id, &m->device_info);
		break;
	case IIOFAB_MSG_ATTR_READ:
	case IIOFAB_MSG_ATTR_WRITE:
		handle_attr(cl, h.request_id, h.type == IIOFAB_MSG_ATTR_WRITE, &m->attr);
		break;
	case IIOFAB_MSG_OPEN_STREAM:
		srv_stream_open(cl, h.request_id, &m->open_stream);
		break;
	case IIOFAB_MSG_START:
	case IIOFAB_MSG_STOP:
	case IIOFAB_MSG_CLOSE:
		srv_stream_ctl(cl, h.request_id, h.type, m->stream_ctl.stream_id);
		break;
	case IIOFAB_MSG_RELEASE:
		srv_stream_release(cl, h.request_id, &m->release);
		break;
	case IIOFAB_MSG_STATS:
		handle_stats(cl, h.request_id);
		break;
	case IIOFAB_MSG_SUBMIT:
		srv_stream_submit(cl, h.request_id, &m->submit);
		break;
	default:
		srv->stats.bad_messages++;
		srv_client_send_error(cl, h.request_id, -EBADMSG,
				      "%s is not a request a client may send now",
				      iiofab_wire_type_name(h.type));
		break;
	}
}

static void handle_wc(struct srv_client *cl, const struct ibv_wc *wc)
{
	unsigned int slot = (unsigned int)(wc->wr_id & 0xffffffffu);

	if (wc->wr_id & SEND_FLAG) {
		cl->posted_send--;
		cl->send_free[cl->n_send_free++] = slot;
		if (wc->status != IBV_WC_SUCCESS) {
			if (!cl->dying)
				srv_client_kill(cl, ibv_wc_status_str(wc->status));
			return;
		}
		clock_gettime(CLOCK_MONOTONIC, &cl->last_ack);
		if (cl->close_after_send && !cl->posted_send) {
			srv_client_kill(cl, "fatal error reported to the client");
			return;
		}
		for (struct srv_sub *sub = cl->subs; sub && !cl->dying; sub = sub->cl_next)
			srv_sub_flush(sub);
		return;
	}
	cl->posted_recv--;
	if (wc->status != IBV_WC_SUCCESS) {
		if (!cl->dying)
			srv_client_kill(cl, ibv_wc_status_str(wc->status));
		return;
	}
	if (!cl->dying && !cl->close_after_send)
		handle_msg(cl, recv_buf(cl, slot), wc->byte_len);
	if (!cl->dying && post_recv(cl, slot) < 0)
		srv_client_kill(cl, "cannot repost a receive");
}

static void cq_ready(struct srv_watch *w, int res)
{
	struct srv_client *cl = w->ctx;
	struct ibv_wc wc[16];
	struct ibv_cq *ev_cq;
	void *ev_ctx;
	int n;

	/* Non-blocking channel: drain every event, ack each at once. */
	while (ibv_get_cq_event(cl->ch, &ev_cq, &ev_ctx) == 0)
		ibv_ack_cq_events(ev_cq, 1);
	if (!cl->dying && ibv_req_notify_cq(cl->cq, 0))
		srv_client_kill(cl, "cannot arm the CQ");
	/* Poll after arming: a completion racing the arm is not lost. */
	while ((n = ibv_poll_cq(cl->cq, 16, wc)) > 0)
		for (int i = 0; i < n; i++)
			handle_wc(cl, &wc[i]);
	if (n < 0)
		srv_client_kill(cl, "CQ poll failed");
	if (!cl->dying && srv_watch_arm(cl->srv->loop, w) < 0)
		srv_client_kill(cl, "cannot watch the CQ");
}

int srv_client_accept(struct srv *srv, struct rdma_cm_id *id, const void *param)
{
	const struct rdma_conn_param *req = param;
	struct ibv_qp_init_attr qa = { 0 };
	struct rdma_conn_param cp = { 0 };
	struct ibv_device_attr da;
	struct srv_client *cl;
	size_t size = (size_t)(SRV_N_RECV + SRV_N_SEND) * SRV_CTRL_SIZE;
	const char *step = "setup";
	int err;

	cl = calloc(1, sizeof(*cl));
	if (!cl)
		return -ENOMEM;
	cl->srv = srv;
	cl->id = id;
	cl->cid = ++srv->next_client_id;
	cl->state = SRV_CL_HELLO;
	snprintf(cl->peer, sizeof(cl->peer), "?");
	{
		struct sockaddr *sa = rdma_get_peer_addr(id);

		if (sa->sa_family == AF_INET)
			inet_ntop(AF_INET, &((struct sockaddr_in *)sa)->sin_addr, cl->peer,
				  sizeof(cl->peer));
		else if (sa->sa_family == AF_INET6)
			inet_ntop(AF_INET6, &((struct sockaddr_in6 *)sa)->sin6_addr, cl->peer,
				  sizeof(cl->peer));
	}

	step = "ibv_query_device";
	err = srv_from_ibv(ibv_query_device(id->verbs, &da));
	if (err)
		goto out_free;
	step = "ibv_alloc_pd";
	cl->pd = ibv_alloc_pd(id->verbs);
	if (!cl->pd) {
		err = srv_from_null();
		goto out_free;
	}
	step = "ibv_create_comp_channel";
	cl->ch = ibv_create_comp_channel(id->verbs);
	if (!cl->ch) {
		err = srv_from_null();
		goto out_dealloc_pd;
	}
	if (fcntl(cl->ch->fd, F_SETFL, fcntl(cl->ch->fd, F_GETFL) | O_NONBLOCK) < 0) {
		err = -errno;
		goto out_destroy_channel;
	}
	step = "ibv_create_cq";
	cl->cq = ibv_create_cq(id->verbs, SRV_N_RECV + SRV_N_SEND + 8, cl, cl->ch, 0);
	if (!cl->cq) {
		err = srv_from_null();
		goto out_destroy_channel;
	}
	err = srv_from_ibv(ibv_req_notify_cq(cl->cq, 0));
	if (err)
		goto out_destroy_cq;
	qa.send_cq = cl->cq;
	qa.recv_cq = cl->cq;
	qa.qp_type = IBV_QPT_RC;
	qa.cap.max_send_wr = SRV_N_SEND;
	qa.cap.max_recv_wr = SRV_N_RECV;
	qa.cap.max_send_sge = 1;
	qa.cap.max_recv_sge = 1;
	step = "rdma_create_qp";
	err = srv_from_cm(rdma_create_qp(id, cl->pd, &qa));
	if (err)
		goto out_destroy_cq;
	cl->qp = id->qp;

	cl->bufs = aligned_alloc((size_t)sysconf(_SC_PAGESIZE), size);
	if (!cl->bufs) {
		err = -ENOMEM;
		goto out_destroy_qp;
	}
	/* Defined contents for memory checkers, which cannot see the NIC write. */
	memset(cl->bufs, 0, size);
	step = "ibv_reg_mr (control buffers)";
	cl->buf_mr = ibv_reg_mr(cl->pd, cl->bufs, size, IBV_ACCESS_LOCAL_WRITE);
	if (!cl->buf_mr) {
		err = srv_from_null();
		goto out_free_bufs;
	}
	for (unsigned int i = 0; i < SRV_N_SEND; i++)
		cl->send_free[i] = SRV_N_SEND - 1 - i;
	cl->n_send_free = SRV_N_SEND;
	/* Receives go up before the accept so the first HELLO has a landing. */
	step = "ibv_post_recv";
	for (unsigned int i = 0; i < SRV_N_RECV; i++) {
		err = post_recv(cl, i);
		if (err)
			goto out_dereg_bufs;
	}
	cl->cq_watch = srv_watch_new(cq_ready, cl, cl->ch->fd, POLLIN);
	if (!cl->cq_watch) {
		err = -ENOMEM;
		goto out_dereg_bufs;
	}
	err = srv_watch_arm(srv->loop, cl->cq_watch);
	if (err)
		goto out_free_watch;

	/*
	 * The client READs our blocks: we are the responder, and the READs it
	 * may have in flight are bounded by our responder resources. Offer
	 * what the device allows; the client's initiator depth caps it anyway.
	 * (In a request event these fields are already from our side.)
	 */
	cp.responder_resources = (uint8_t)clamp((unsigned int)da.max_qp_rd_atom, 255);
	cp.initiator_depth = (uint8_t)clamp(req ? req->initiator_depth : 0,
					    (unsigned int)da.max_qp_init_rd_atom);
	cp.retry_count = 7;
	cp.rnr_retry_count = 7;
	/*
	 * soft-RoCE leaves the passive side without an ack timeout, and a send
	 * to a host that vanished then waits for its ACK forever. 2^18 x
	 * 4.096 us (1.07 s) per try and 7 retries fail it within about 9 s,
	 * yet survive the stalls of an emulated guest.
	 */
	step = "rdma_set_option (ack timeout)";
	err = srv_from_cm(rdma_set_option(id, RDMA_OPTION_ID, RDMA_OPTION_ID_ACK_TIMEOUT,
					  &(uint8_t){ SRV_ACK_TIMEOUT }, sizeof(uint8_t)));
	if (err)
		goto out_free_watch;
	step = "rdma_accept";
	err = srv_from_cm(rdma_accept(id, &cp));
	if (err)
		goto out_free_watch;

	id->context = cl;
	clock_gettime(CLOCK_MONOTONIC, &cl->deadline);
	cl->deadline.tv_sec += SRV_HANDSHAKE_MS / 1000;
	cl->next = srv->clients;
	srv->clients = cl;
	srv->stats.clients_total++;
	srv->stats.clients_now++;
	srv_info(&srv->log, "client %llu connected from %s (rd_atomic %u)",
		 (unsigned long long)cl->cid, cl->peer, cp.responder_resources);
	srv_timer_update(srv);
	return 0;

out_free_watch:
	srv_watch_free(srv->loop, cl->cq_watch);
out_dereg_bufs:
	(void)ibv_modify_qp(cl->qp, &(struct ibv_qp_attr){ .qp_state = IBV_QPS_ERR },
			    IBV_QP_STATE);
	ibv_dereg_mr(cl->buf_mr);
out_free_bufs:
	free(cl->bufs);
out_destroy_qp:
	rdma_destroy_qp(id);
out_destroy_cq:
	ibv_destroy_cq(cl->cq);
out_destroy_channel:
	ibv_destroy_comp_channel(cl->ch);
out_dealloc_pd:
	ibv_dealloc_pd(cl->pd);
out_free:
	srv_warn(&srv->log, "client %llu from %s: %s failed: %s%s", (unsigned long long)cl->cid,
		 cl->peer, step, strerror(-err),
		 err == -EINVAL && !strcmp(step, "rdma_accept") ?
		 " (the client gave up waiting, or left)" : "");
	free(cl);
	return err;
}

static int64_t ms_since(const struct timespec *t0)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (now.tv_sec - t0->tv_sec) * 1000 + (now.tv_nsec - t0->tv_nsec) / 1000000;
}

/* QP in error: wait (bounded) for the flushed work requests to come back. */
static void drain(struct srv_client *cl)
{
	struct timespec t0;
	struct ibv_wc wc[16];
	struct ibv_cq *ev_cq;
	void *ev_ctx;
	int n;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	while (cl->posted_send || cl->posted_recv) {
		struct pollfd pfd = { .fd = cl->ch->fd, .events = POLLIN };

		n = ibv_poll_cq(cl->cq, 16, wc);
		if (n < 0)
			break;
		for (int i = 0; i < n; i++) {
			if (wc[i].wr_id & SEND_FLAG)
				cl->posted_send--;
			else
				cl->posted_recv--;
		}
		if (n)
			continue;
		if (ms_since(&t0) > DRAIN_MS)
			break;
		if (ibv_req_notify_cq(cl->cq, 0))
			break;
		if (ibv_poll_cq(cl->cq, 1, wc) > 0) {
			if (wc[0].wr_id & SEND_FLAG)
				cl->posted_send--;
			else
				cl->posted_recv--;
			continue;
		}
		(void)poll(&pfd, 1, 50);
		while (ibv_get_cq_event(cl->ch, &ev_cq, &ev_ctx) == 0)
			ibv_ack_cq_events(ev_cq, 1);
	}
	if (cl->posted_send || cl->posted_recv)
		srv_dbg(&cl->srv->log, "client %llu: %u send(s), %u receive(s) not flushed",
			(unsigned long long)cl->cid, cl->posted_send, cl->posted_recv);
}

void srv_client_reap(struct srv_client *cl)
{
	struct srv *srv = cl->srv;

	for (struct srv_client **p = &srv->clients; *p; p = &(*p)->next) {
		if (*p == cl) {
			*p = cl->next;
			break;
		}
	}
	(void)ibv_modify_qp(cl->qp, &(struct ibv_qp_attr){ .qp_state = IBV_QPS_ERR },
			    IBV_QP_STATE);
	drain(cl);
	/* Holds go back to IIO and the rkeys die before the PD does. */
	while (cl->subs)
		srv_sub_remove(cl->subs);
	srv_watch_free(srv->loop, cl->cq_watch);
	rdma_destroy_qp(cl->id);
	ibv_destroy_cq(cl->cq);
	ibv_destroy_comp_channel(cl->ch);
	ibv_dereg_mr(cl->buf_mr);
	free(cl->bufs);
	ibv_dealloc_pd(cl->pd);
	rdma_destroy_id(cl->id);
	srv->stats.clients_now--;
	srv_info(&srv->log, "client %llu released", (unsigned long long)cl->cid);
	free(cl);
}
