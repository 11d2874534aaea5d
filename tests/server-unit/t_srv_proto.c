// SPDX-License-Identifier: MIT
/*
 * Protocol-level checks of iiofabd over a real connection, driven message by
 * message with the project's codec: handshake and both MACs, every request
 * refused before WELCOME, exact status codes for bad requests, STREAM_INFO
 * contents, READY/RELEASE (bad block, stale generation), STOP then START
 * again, CLOSE twice. For DAC streams: FREE credits, SUBMIT refusals that
 * change nothing, RELEASE refused, and an RDMA WRITE into an ADC arena
 * failing with a remote access error while the server keeps serving.
 * With "blocks REG_PATH": the block table of that registration path (each
 * block its own rkey on dmabuf-mr, the arena's on memfd-mr) and READs and
 * WRITEs with the wrong block's rkey or outside a block, refused by the NIC.
 *   t_srv_proto ADDR PORT KEYFILE [all|dac|blocks dmabuf-mr|memfd-mr]
 */
#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <rdma/rdma_cma.h>
#include <rdma/rdma_verbs.h>

#include <iiofab/wire.h>

#define T_NRECV 64
#define T_MSG IIOFAB_WIRE_MAX_MSG

struct t_conn {
	struct rdma_cm_id *id;
	struct ibv_mr *rmr, *smr;
	uint8_t *rbuf, *sbuf;
	uint32_t req;
	union iiofab_wire_msg *m;
	struct iiofab_wire_hdr h;
	int dead;
	uint8_t granted[IIOFAB_WIRE_MAX_BLOCKS];	/* FREE seen, per block */
	unsigned int n_granted;
};

struct t_env {
	const char *addr, *port;
	uint8_t key[1024];
	size_t key_len;
	int fails, checks;
};

static void t_ok(struct t_env *e, int cond, const char *fmt, ...)
{
	va_list ap;

	e->checks++;
	e->fails += !cond;
	printf("%s: ", cond ? "PASS" : "FAIL");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
}

static int t_connect(struct t_env *e, struct t_conn *c)
{
	struct rdma_addrinfo hints = { 0 }, *res;
	struct ibv_qp_init_attr attr = { 0 };

	memset(c, 0, sizeof(*c));
	hints.ai_port_space = RDMA_PS_TCP;
	if (rdma_getaddrinfo(e->addr, e->port, &hints, &res))
		return -errno;
	attr.cap.max_send_wr = 8;
	attr.cap.max_recv_wr = T_NRECV;
	attr.cap.max_send_sge = attr.cap.max_recv_sge = 1;
	attr.sq_sig_all = 1;
	if (rdma_create_ep(&c->id, res, NULL, &attr)) {
		rdma_freeaddrinfo(res);
		return -errno;
	}
	rdma_freeaddrinfo(res);
	c->rbuf = calloc(T_NRECV, T_MSG);
	c->sbuf = calloc(1, T_MSG);
	c->m = calloc(1, sizeof(*c->m));
	c->rmr = rdma_reg_msgs(c->id, c->rbuf, (size_t)T_NRECV * T_MSG);
	c->smr = rdma_reg_msgs(c->id, c->sbuf, T_MSG);
	for (int i = 0; i < T_NRECV; i++)
		rdma_post_recvv(c->id, (void *)(uintptr_t)i,
				&(struct ibv_sge){ (uintptr_t)(c->rbuf + (size_t)i * T_MSG), T_MSG,
						   c->rmr->lkey }, 1);
	if (rdma_connect(c->id, NULL))
		return -errno;
	return 0;
}

static void t_close(struct t_conn *c)
{
	rdma_disconnect(c->id);
	rdma_dereg_mr(c->rmr);
	rdma_dereg_mr(c->smr);
	rdma_destroy_ep(c->id);
	free(c->rbuf);
	free(c->sbuf);
	free(c->m);
}

static int t_send(struct t_conn *c, uint16_t type, const union iiofab_wire_msg *m)
{
	struct ibv_wc wc;
	int len = iiofab_wire_encode(c->sbuf, T_MSG, type, ++c->req, m);

	if (len < 0 || rdma_post_send(c->id, NULL, c->sbuf, (size_t)len, c->smr, 0))
		return -EIO;
	if (rdma_get_send_comp(c->id, &wc) <= 0 || wc.status != IBV_WC_SUCCESS)
		return -EIO;
	return 0;
}

/* Next message from the server (READY included): its type, or -errno. */
static int t_recv(struct t_conn *c, int timeout_ms)
{
	struct ibv_wc wc;
	struct ibv_cq *cq;
	void *ctx;
	uint8_t *buf;
	int n;

	for (;;) {
		n = ibv_poll_cq(c->id->recv_cq, 1, &wc);
		if (n < 0)
			return -EIO;
		if (n == 1)
			break;
		if (ibv_req_notify_cq(c->id->recv_cq, 0))
			return -EIO;
		n = ibv_poll_cq(c->id->recv_cq, 1, &wc);
		if (n == 1)
			break;
		struct pollfd p = { .fd = c->id->recv_cq_channel->fd, .events = POLLIN };
		if (poll(&p, 1, timeout_ms) <= 0)
			return -ETIMEDOUT;
		if (ibv_get_cq_event(c->id->recv_cq_channel, &cq, &ctx) == 0)
			ibv_ack_cq_events(cq, 1);
	}
	if (wc.status != IBV_WC_SUCCESS) {
		c->dead = 1;
		return -ECONNRESET;
	}
	buf = c->rbuf + (size_t)wc.wr_id * T_MSG;
	n = iiofab_wire_decode(buf, wc.byte_len, &c->h, c->m);
	/* The decoded strings point into buf: copy what the checks need first. */
	rdma_post_recvv(c->id, (void *)(uintptr_t)wc.wr_id,
			&(struct ibv_sge){ (uintptr_t)buf, T_MSG, c->rmr->lkey }, 1);
	if (n == 0 && c->h.type == IIOFAB_MSG_FREE) {
		for (unsigned int i = 0; i < c->m->free.count; i++) {
			uint32_t b = c->m->free.blocks[i];

			if (b < IIOFAB_WIRE_MAX_BLOCKS && !c->granted[b]) {
				c->granted[b] = 1;
				c->n_granted++;
			}
		}
	}
	return n < 0 ? n : c->h.type;
}

/* The reply to the last request, skipping READY and FREE; -errno if none. */
static int t_reply(struct t_conn *c)
{
	int t;

	do {
		t = t_recv(c, 20000);
	} while (t == IIOFAB_MSG_READY || t == IIOFAB_MSG_FREE ||
		 t == IIOFAB_MSG_STREAM_EVENT || (t > 0 && c->h.request_id != c->req));
	return t;
}

static int t_status(struct t_conn *c, int t)
{
	return t == IIOFAB_MSG_ERROR ? c->m->error.status : (t == IIOFAB_MSG_OK ? 0 : -1);
}

static void hmac(struct t_env *e, const char *label, const uint8_t *a, const uint8_t *b,
		 uint8_t *out)
{
	uint8_t d[16 + 64];
	unsigned int len;

	memcpy(d, label, 16);
	memcpy(d + 16, a, 32);
	memcpy(d + 48, b, 32);
	HMAC(EVP_sha256(), e->key, (int)e->key_len, d, sizeof(d), out, &len);
}

static int t_handshake(struct t_env *e, struct t_conn *c)
{
	union iiofab_wire_msg m = { 0 };
	uint8_t snonce[32], mac[32];

	m.hello.version_min = IIOFAB_WIRE_VERSION;
	m.hello.version_max = IIOFAB_WIRE_VERSION;
	memset(m.hello.client_nonce, 0x5a, 32);
	m.hello.client_name = iiofab_wire_str("t_srv_proto");
	if (t_send(c, IIOFAB_MSG_HELLO, &m) || t_reply(c) != IIOFAB_MSG_CHALLENGE)
		return -EPROTO;
	memcpy(snonce, c->m->challenge.server_nonce, 32);
	t_ok(e, c->m->challenge.auth_required == 1, "CHALLENGE requires a key");
	memset(&m, 0, sizeof(m));
	hmac(e, IIOFAB_WIRE_AUTH_CLIENT_LABEL, snonce, (uint8_t[32]){ [0 ... 31] = 0x5a },
	     m.auth.mac);
	if (t_send(c, IIOFAB_MSG_AUTH, &m) || t_reply(c) != IIOFAB_MSG_WELCOME)
		return -EACCES;
	hmac(e, IIOFAB_WIRE_AUTH_SERVER_LABEL, (uint8_t[32]){ [0 ... 31] = 0x5a }, snonce, mac);
	t_ok(e, !memcmp(mac, c->m->welcome.mac, 32), "WELCOME proves the server's key");
	return 0;
}

static int t_expect(struct t_env *e, struct t_conn *c, uint16_t type,
		    const union iiofab_wire_msg *m, int status, const char *what)
{
	int t = t_send(c, type, m) ? -EIO : t_reply(c);
	int st = t_status(c, t);

	t_ok(e, st == status, "%s -> %s (got %s%s%.*s)", what, iiofab_wire_status_name(status),
	     t < 0 ? strerror(-t) : iiofab_wire_status_name(st),
	     t == IIOFAB_MSG_ERROR ? ": " : "",
	     t == IIOFAB_MSG_ERROR ? c->m->error.message.len : 0,
	     t == IIOFAB_MSG_ERROR ? c->m->error.message.ptr : "");
	return t;
}

static void t_before_auth(struct t_env *e)
{
	struct t_conn c;
	int t;

	if (t_connect(e, &c)) {
		t_ok(e, 0, "connect");
		return;
	}
	t_expect(e, &c, IIOFAB_MSG_LIST, NULL, IIOFAB_WIRE_STATUS_AUTH_REQUIRED,
		 "LIST before HELLO");
	t = t_recv(&c, 10000);
	t_ok(e, t == -ECONNRESET || t == -ETIMEDOUT || c.dead, "then disconnected");
	t_close(&c);
}

static void t_stream(struct t_env *e, struct t_conn *c)
{
	union iiofab_wire_msg m = { 0 };
	uint32_t sid, blk = 0;
	uint64_t gen = 0, seq = 0;
	int t;

	m.open_stream.device = iiofab_wire_str("iiofab-sim-adc");
	m.open_stream.block_size = 65536;
	m.open_stream.block_count = 4;
	t_expect(e, c, IIOFAB_MSG_OPEN_STREAM, &m, IIOFAB_WIRE_STATUS_INVALID_ARGUMENT,
		 "OPEN_STREAM empty mask");
	m.open_stream.channel_mask = 1ull << 40;
	t_expect(e, c, IIOFAB_MSG_OPEN_STREAM, &m, IIOFAB_WIRE_STATUS_NO_CHANNEL,
		 "OPEN_STREAM scan index 40");
	m.open_stream.channel_mask = 0xf;
	m.open_stream.block_count = 0;
	t_expect(e, c, IIOFAB_MSG_OPEN_STREAM, &m, IIOFAB_WIRE_STATUS_INVALID_ARGUMENT,
		 "OPEN_STREAM 0 blocks");
	m.open_stream.block_count = 300;
	t_expect(e, c, IIOFAB_MSG_OPEN_STREAM, &m, IIOFAB_WIRE_STATUS_INVALID_ARGUMENT,
		 "OPEN_STREAM 300 blocks");
	m.open_stream.block_count = 4;
	m.open_stream.block_size = 4096 + 8;
	t_expect(e, c, IIOFAB_MSG_OPEN_STREAM, &m, IIOFAB_WIRE_STATUS_INVALID_ARGUMENT,
		 "OPEN_STREAM block size not a page multiple");
	m.open_stream.channel_mask = 0x7;
	m.open_stream.block_size = 4096;
	t_expect(e, c, IIOFAB_MSG_OPEN_STREAM, &m, IIOFAB_WIRE_STATUS_INVALID_ARGUMENT,
		 "OPEN_STREAM block size not a scan multiple (6 bytes)");
	m.open_stream.device = iiofab_wire_str("nodev");
	t_expect(e, c, IIOFAB_MSG_OPEN_STREAM, &m, IIOFAB_WIRE_STATUS_NO_DEVICE,
		 "OPEN_STREAM unknown device");

	m.open_stream.device = iiofab_wire_str("adc0");	/* by label */
	m.open_stream.channel_mask = 0xf;
	m.open_stream.block_size = 65536;
	t = t_send(c, IIOFAB_MSG_OPEN_STREAM, &m) ? -EIO : t_reply(c);
	t_ok(e, t == IIOFAB_MSG_STREAM_INFO, "OPEN_STREAM by label -> STREAM_INFO");
	if (t != IIOFAB_MSG_STREAM_INFO)
		return;
	{
		const struct iiofab_msg_stream_info *si = &c->m->stream_info;
		int distinct = 1;

		for (unsigned int i = 1; i < si->block_count; i++)
			distinct &= si->blocks[i].addr == si->blocks[0].addr + 65536ull * i;
		t_ok(e, si->block_count == 4 && si->block_size == 65536 && si->scan_bytes == 8 &&
			 si->n_channels == 4 && si->channels[3].scan_index == 3 &&
			 si->channels[0].storage_bits == 16,
		     "STREAM_INFO layout (4 x 64 KiB, scan 8 bytes, 4 channels)");
		t_ok(e, distinct && si->gen_addr && si->gen_rkey, "block table and generation table");
		sid = si->stream_id;
	}
	m.open_stream.device = iiofab_wire_str("iiofab-sim-adc");
	t_expect(e, c, IIOFAB_MSG_OPEN_STREAM, &m, IIOFAB_WIRE_STATUS_BUSY,
		 "second stream on the same device");

	memset(&m, 0, sizeof(m));
	m.stream_ctl.stream_id = sid + 100;
	t_expect(e, c, IIOFAB_MSG_START, &m, IIOFAB_WIRE_STATUS_NO_STREAM, "START unknown stream");
	m.stream_ctl.stream_id = sid;
	t_expect(e, c, IIOFAB_MSG_START, &m, IIOFAB_WIRE_STATUS_OK, "START");
	t = t_recv(c, 20000);
	/* A slow board (valgrind) may drop or withhold the first blocks: only bounds. */
	t_ok(e, t == IIOFAB_MSG_READY && c->m->ready.count >= 1 &&
		 c->m->ready.entries[0].generation >= 1 &&
		 c->m->ready.entries[0].bytes_used == 65536 &&
		 c->m->ready.entries[0].first_sample >= c->m->ready.entries[0].seq * 8192,
	     "READY: generation >= 1, 64 KiB, first_sample >= seq x 8192 scans");
	if (t == IIOFAB_MSG_READY) {
		blk = c->m->ready.entries[0].block;
		gen = c->m->ready.entries[0].generation;
	}
	memset(&m, 0, sizeof(m));
	m.release.stream_id = sid;
	m.release.count = 1;
	m.release.entries[0].block = 99;
	m.release.entries[0].generation = 1;
	t_expect(e, c, IIOFAB_MSG_RELEASE, &m, IIOFAB_WIRE_STATUS_BAD_BLOCK, "RELEASE block 99");
	m.release.entries[0].block = blk;
	m.release.entries[0].generation = gen + 1000;
	if (t_send(c, IIOFAB_MSG_RELEASE, &m) == 0)
		t_expect(e, c, IIOFAB_MSG_STATS, NULL, -1, "STATS after a stale RELEASE");
	t_ok(e, c->h.type == IIOFAB_MSG_STATS_REPLY, "a stale RELEASE has no reply");
	m.release.entries[0].generation = gen;
	t_ok(e, t_send(c, IIOFAB_MSG_RELEASE, &m) == 0, "RELEASE the held block");

	memset(&m, 0, sizeof(m));
	m.stream_ctl.stream_id = sid;
	t_expect(e, c, IIOFAB_MSG_STOP, &m, IIOFAB_WIRE_STATUS_OK, "STOP");
	t_expect(e, c, IIOFAB_MSG_START, &m, IIOFAB_WIRE_STATUS_OK, "START again");
	do {
		t = t_recv(c, 20000);
		if (t == IIOFAB_MSG_READY)
			seq = c->m->ready.entries[c->m->ready.count - 1].seq;
	} while (t == IIOFAB_MSG_READY && seq < 3);
	t_ok(e, seq >= 3, "READY flows after STOP and START (seq %llu)", (unsigned long long)seq);
	t_expect(e, c, IIOFAB_MSG_CLOSE, &m, IIOFAB_WIRE_STATUS_OK, "CLOSE");
	t_expect(e, c, IIOFAB_MSG_CLOSE, &m, IIOFAB_WIRE_STATUS_NO_STREAM, "CLOSE again");
}

static void t_requests(struct t_env *e, struct t_conn *c)
{
	union iiofab_wire_msg m = { 0 };

	m.device_info.device = iiofab_wire_str("nodev");
	t_expect(e, c, IIOFAB_MSG_DEVICE_INFO, &m, IIOFAB_WIRE_STATUS_NO_DEVICE,
		 "DEVICE_INFO unknown device");
	memset(&m, 0, sizeof(m));
	m.attr.device = iiofab_wire_str("iio:device0");
	m.attr.attr = iiofab_wire_str("no_such_attr");
	t_expect(e, c, IIOFAB_MSG_ATTR_READ, &m, IIOFAB_WIRE_STATUS_NO_ATTRIBUTE,
		 "ATTR_READ unknown attribute");
	m.attr.scope = IIOFAB_WIRE_SCOPE_CHANNEL;
	m.attr.channel = iiofab_wire_str("voltage9");
	m.attr.attr = iiofab_wire_str("scale");
	t_expect(e, c, IIOFAB_MSG_ATTR_READ, &m, IIOFAB_WIRE_STATUS_NO_CHANNEL,
		 "ATTR_READ unknown channel");
	memset(&m, 0, sizeof(m));
	m.hello.version_min = m.hello.version_max = IIOFAB_WIRE_VERSION;
	t_expect(e, c, IIOFAB_MSG_HELLO, &m, IIOFAB_WIRE_STATUS_BAD_MESSAGE, "HELLO twice");
	memset(&m, 0, sizeof(m));
	m.submit.stream_id = 1000;
	m.submit.count = 1;
	m.submit.entries[0].bytes_used = 4096;
	t_expect(e, c, IIOFAB_MSG_SUBMIT, &m, IIOFAB_WIRE_STATUS_NO_STREAM,
		 "SUBMIT to a stream of another connection");
}

/* Opens a stream; fills *si's copy and returns 0, or -1 after a failed check. */
static int t_open(struct t_env *e, struct t_conn *c, const char *dev, uint8_t dir,
		  struct iiofab_msg_stream_info *si, const char *what)
{
	union iiofab_wire_msg m = { 0 };
	int t;

	m.open_stream.device = iiofab_wire_str(dev);
	m.open_stream.channel_mask = 0xf;
	m.open_stream.block_size = 65536;
	m.open_stream.block_count = 4;
	m.open_stream.direction = dir;
	t = t_send(c, IIOFAB_MSG_OPEN_STREAM, &m) ? -EIO : t_reply(c);
	t_ok(e, t == IIOFAB_MSG_STREAM_INFO, "%s -> STREAM_INFO", what);
	if (t != IIOFAB_MSG_STREAM_INFO)
		return -1;
	*si = c->m->stream_info;
	return 0;
}

/* One signalled RDMA WRITE (or READ) of len bytes of buf; the completion status. */
static int t_rdma(struct t_conn *c, int write, void *buf, size_t len, uint64_t addr,
		  uint32_t rkey)
{
	struct ibv_mr *mr = ibv_reg_mr(c->id->pd, buf, len, IBV_ACCESS_LOCAL_WRITE);
	struct ibv_wc wc;
	int ret;

	if (!mr)
		return -1;
	ret = write ? rdma_post_write(c->id, NULL, buf, len, mr, IBV_SEND_SIGNALED, addr, rkey) :
		      rdma_post_read(c->id, NULL, buf, len, mr, IBV_SEND_SIGNALED, addr, rkey);
	if (!ret)
		ret = rdma_get_send_comp(c->id, &wc) == 1 ? (int)wc.status : -1;
	ibv_dereg_mr(mr);
	return ret;
}

static void t_submit1(struct t_env *e, struct t_conn *c, uint32_t sid, uint32_t blk,
		      uint32_t bytes, int status, const char *what)
{
	union iiofab_wire_msg m = { 0 };

	m.submit.stream_id = sid;
	m.submit.count = 1;
	m.submit.entries[0].block = blk;
	m.submit.entries[0].bytes_used = bytes;
	t_expect(e, c, IIOFAB_MSG_SUBMIT, &m, status, what);
}

/* A SUBMIT that must be accepted: no ERROR for it before the next reply. */
static void t_submit_ok(struct t_env *e, struct t_conn *c, uint32_t sid, uint32_t blk,
			const char *what)
{
	union iiofab_wire_msg m = { 0 };
	uint32_t submit_req;
	int t, refused = 0;

	m.submit.stream_id = sid;
	m.submit.count = 1;
	m.submit.entries[0].block = blk;
	m.submit.entries[0].bytes_used = 65536;
	if (t_send(c, IIOFAB_MSG_SUBMIT, &m) || t_send(c, IIOFAB_MSG_STATS, NULL)) {
		t_ok(e, 0, "%s: send", what);
		return;
	}
	submit_req = c->req - 1;
	do {
		t = t_recv(c, 20000);
		refused |= t == IIOFAB_MSG_ERROR && c->h.request_id == submit_req;
	} while (t > 0 && !(t == IIOFAB_MSG_STATS_REPLY && c->h.request_id == c->req));
	t_ok(e, t == IIOFAB_MSG_STATS_REPLY && !refused, "%s: accepted%s", what,
	     refused ? " (got an ERROR)" : t < 0 ? " (no reply to the STATS after it)" : "");
}

static void t_set_dac_rate(struct t_conn *c, const char *value)
{
	union iiofab_wire_msg m = { 0 };

	m.attr.device = iiofab_wire_str("iiofab-sim-dac");
	m.attr.attr = iiofab_wire_str("sampling_frequency");
	m.attr.value = iiofab_wire_str(value);
	if (t_send(c, IIOFAB_MSG_ATTR_WRITE, &m) == 0)
		(void)t_reply(c);
}

static void t_dac(struct t_env *e, struct t_conn *c)
{
	static uint8_t ramp[65536];
	struct iiofab_msg_stream_info si;
	union iiofab_wire_msg m = { 0 };
	uint32_t sid;
	int t;

	m.open_stream.device = iiofab_wire_str("iiofab-sim-adc");
	m.open_stream.channel_mask = 0xf;
	m.open_stream.block_size = 65536;
	m.open_stream.block_count = 4;
	m.open_stream.direction = IIOFAB_WIRE_DIR_OUT;
	t_expect(e, c, IIOFAB_MSG_OPEN_STREAM, &m, IIOFAB_WIRE_STATUS_NO_CHANNEL,
		 "output stream on the ADC");
	/* A block takes 65 s at 125 S/s: whatever is queued stays queued. */
	t_set_dac_rate(c, "125");
	if (t_open(e, c, "iiofab-sim-dac", IIOFAB_WIRE_DIR_OUT, &si, "OPEN_STREAM on the DAC"))
		return;
	sid = si.stream_id;
	t_ok(e, si.scan_bytes == 8 && si.n_channels == 4 && !si.gen_addr && !si.gen_rkey &&
		 si.blocks[1].addr == si.blocks[0].addr + 65536,
	     "DAC STREAM_INFO: 4 x 64 KiB, scan 8 bytes, no generation table");
	t_submit1(e, c, sid, 0, 65536, IIOFAB_WIRE_STATUS_BAD_BLOCK, "SUBMIT before START");
	memset(c->granted, 0, sizeof(c->granted));
	c->n_granted = 0;
	m.stream_ctl.stream_id = sid;
	t_expect(e, c, IIOFAB_MSG_START, &m, IIOFAB_WIRE_STATUS_OK, "START the DAC stream");
	t_ok(e, c->n_granted == 4, "START grants all 4 blocks with FREE (%u)", c->n_granted);

	for (size_t i = 0; i < sizeof(ramp) / 2; i++) {
		uint16_t v = (uint16_t)(i / 4 + 4096 * (i % 4));

		ramp[2 * i] = (uint8_t)v;
		ramp[2 * i + 1] = (uint8_t)(v >> 8);
	}
	t = t_rdma(c, 1, ramp, sizeof(ramp), si.blocks[0].addr, si.blocks[0].rkey);
	t_ok(e, t == IBV_WC_SUCCESS, "RDMA WRITE into a granted DAC block (%s)",
	     t >= 0 ? ibv_wc_status_str((enum ibv_wc_status)t) : "post failed");
	t_submit1(e, c, sid, 9, 65536, IIOFAB_WIRE_STATUS_BAD_BLOCK, "SUBMIT block 9 of 4");
	t_submit1(e, c, sid, 0, 0, IIOFAB_WIRE_STATUS_INVALID_ARGUMENT, "SUBMIT 0 bytes");
	t_submit1(e, c, sid, 0, 65536 + 8, IIOFAB_WIRE_STATUS_INVALID_ARGUMENT,
		  "SUBMIT more bytes than a block");
	t_submit1(e, c, sid, 0, 12, IIOFAB_WIRE_STATUS_INVALID_ARGUMENT,
		  "SUBMIT 12 bytes (not whole 8-byte scans)");
	memset(&m, 0, sizeof(m));
	m.submit.stream_id = sid;
	m.submit.count = 3;
	m.submit.entries[0] = (struct iiofab_wire_submit_entry){ .block = 1, .bytes_used = 65536 };
	m.submit.entries[1] = (struct iiofab_wire_submit_entry){ .block = 0, .bytes_used = 65536 };
	m.submit.entries[2] = (struct iiofab_wire_submit_entry){ .block = 1, .bytes_used = 8 };
	t_expect(e, c, IIOFAB_MSG_SUBMIT, &m, IIOFAB_WIRE_STATUS_BAD_BLOCK,
		 "SUBMIT naming a block twice");
	/* Refused as a whole: blocks 0 and 1 are still the client's. */
	t_submit_ok(e, c, sid, 0, "block 0, still granted after the refused SUBMIT");
	t_submit1(e, c, sid, 0, 65536, IIOFAB_WIRE_STATUS_BAD_BLOCK,
		  "SUBMIT block 0 again while the converter has it");
	t_submit_ok(e, c, sid, 1, "block 1");
	memset(&m, 0, sizeof(m));
	m.release.stream_id = sid;
	m.release.count = 1;
	m.release.entries[0].generation = 1;
	t_expect(e, c, IIOFAB_MSG_RELEASE, &m, IIOFAB_WIRE_STATUS_INVALID_ARGUMENT,
		 "RELEASE on a DAC stream");
	memset(&m, 0, sizeof(m));
	m.stream_ctl.stream_id = sid;
	memset(c->granted, 0, sizeof(c->granted));
	c->n_granted = 0;
	t_expect(e, c, IIOFAB_MSG_STOP, &m, IIOFAB_WIRE_STATUS_OK, "STOP with 2 blocks queued");
	t_submit1(e, c, sid, 2, 65536, IIOFAB_WIRE_STATUS_INVALID_ARGUMENT,
		  "SUBMIT a granted block while stopped");
	t_expect(e, c, IIOFAB_MSG_START, &m, IIOFAB_WIRE_STATUS_OK, "START again");
	/* The flushed fences may land after the OK: give them a moment. */
	for (int i = 0; i < 50 && c->n_granted < 2; i++)
		(void)t_recv(c, 100);
	t_ok(e, c->n_granted == 2 && c->granted[0] && c->granted[1],
	     "the 2 flushed blocks come back as credits (%u)", c->n_granted);
	t_expect(e, c, IIOFAB_MSG_CLOSE, &m, IIOFAB_WIRE_STATUS_OK, "CLOSE the DAC stream");
	t_set_dac_rate(c, "1000000");
}

/* DAC arenas take WRITEs, ADC arenas must not: the NIC refuses, not the CPU. */
static void t_write_to_adc(struct t_env *e)
{
	static uint8_t junk[4096];
	struct iiofab_msg_stream_info si;
	struct t_conn c;
	int t;

	if (t_connect(e, &c) || t_handshake(e, &c)) {
		t_ok(e, 0, "connect for the ADC WRITE check");
		return;
	}
	if (t_open(e, &c, "iiofab-sim-adc", IIOFAB_WIRE_DIR_IN, &si, "OPEN_STREAM on the ADC") == 0) {
		t = t_rdma(&c, 1, junk, sizeof(junk), si.blocks[0].addr, si.blocks[0].rkey);
		t_ok(e, t == IBV_WC_REM_ACCESS_ERR,
		     "RDMA WRITE into an ADC block fails with a remote access error (%s)",
		     t >= 0 ? ibv_wc_status_str((enum ibv_wc_status)t) : "post failed");
	}
	t_close(&c);
	if (t_connect(e, &c) || t_handshake(e, &c)) {
		t_ok(e, 0, "a new client is served after the refused WRITE");
		return;
	}
	t_expect(e, &c, IIOFAB_MSG_STATS, NULL, -1, "STATS from a new client");
	t_ok(e, c.h.type == IIOFAB_MSG_STATS_REPLY, "the server keeps serving after the refused WRITE");
	if (t_open(e, &c, "iiofab-sim-adc", IIOFAB_WIRE_DIR_IN, &si,
		   "the ADC opens again (the refused client's stream is gone)") == 0) {
		union iiofab_wire_msg m = { 0 };

		m.stream_ctl.stream_id = si.stream_id;
		t_expect(e, &c, IIOFAB_MSG_CLOSE, &m, IIOFAB_WIRE_STATUS_OK, "CLOSE it");
	}
	t_close(&c);
}

/*
 * Each block's own rkey, and the NIC's bounds: one access per connection
 * (a refused one leaves the QP in error), on 4 blocks of 64 KiB. ok_dmabuf
 * and ok_memfd: whether it must succeed on that registration path (one MR
 * per block, or one over the arena).
 */
struct t_access {
	const char *what;
	uint8_t dir;
	unsigned int blk, key_blk;
	int64_t off;	/* from the start of block blk */
	int ok_dmabuf, ok_memfd;
};

#define T_BLK 65536
static const struct t_access t_accesses[] = {
	{ "READ of ADC block 3 with its own rkey", IIOFAB_WIRE_DIR_IN, 3, 3, 0, 1, 1 },
	{ "READ of the last page of ADC block 3", IIOFAB_WIRE_DIR_IN, 3, 3, T_BLK - 4096, 1, 1 },
	{ "READ of ADC block 1 with block 0's rkey", IIOFAB_WIRE_DIR_IN, 1, 0, 0, 0, 1 },
	{ "READ across the end of ADC block 0", IIOFAB_WIRE_DIR_IN, 0, 0, T_BLK - 2048, 0, 1 },
	{ "READ past the end of the ADC arena", IIOFAB_WIRE_DIR_IN, 3, 3, T_BLK - 2048, 0, 0 },
	{ "READ before ADC block 0", IIOFAB_WIRE_DIR_IN, 0, 0, -4096, 0, 0 },
	{ "WRITE into DAC block 2 with its own rkey", IIOFAB_WIRE_DIR_OUT, 2, 2, 0, 1, 1 },
	{ "WRITE into DAC block 2 with block 1's rkey", IIOFAB_WIRE_DIR_OUT, 2, 1, 0, 0, 1 },
	{ "WRITE past the end of the DAC arena", IIOFAB_WIRE_DIR_OUT, 3, 3, T_BLK - 2048, 0, 0 },
};

static void t_access1(struct t_env *e, const struct t_access *a, int dmabuf)
{
	static uint8_t page[4096];
	struct iiofab_msg_stream_info si;
	int want = dmabuf ? a->ok_dmabuf : a->ok_memfd, t;
	struct t_conn c;

	if (t_connect(e, &c) || t_handshake(e, &c)) {
		t_ok(e, 0, "connect for: %s", a->what);
		return;
	}
	if (t_open(e, &c, a->dir == IIOFAB_WIRE_DIR_IN ? "iiofab-sim-adc" : "iiofab-sim-dac",
		   a->dir, &si, "OPEN_STREAM") == 0) {
		t = t_rdma(&c, a->dir == IIOFAB_WIRE_DIR_OUT, page, sizeof(page),
			   si.blocks[a->blk].addr + (uint64_t)a->off, si.blocks[a->key_blk].rkey);
		t_ok(e, want ? t == IBV_WC_SUCCESS : t == IBV_WC_REM_ACCESS_ERR,
		     "%s: %s (%s)", a->what, want ? "succeeds" : "fails with a remote access error",
		     t >= 0 ? ibv_wc_status_str((enum ibv_wc_status)t) : "post failed");
	}
	t_close(&c);
}

static void t_blocks(struct t_env *e, const char *path)
{
	int dmabuf = !strcmp(path, iiofab_wire_reg_path_name(IIOFAB_WIRE_REG_DMABUF));
	struct iiofab_msg_stream_info si;
	struct t_conn c;
	int distinct = 1, same = 1;

	if (t_connect(e, &c) || t_handshake(e, &c)) {
		t_ok(e, 0, "connect for the block table");
		return;
	}
	if (t_open(e, &c, "iiofab-sim-adc", IIOFAB_WIRE_DIR_IN, &si, "OPEN_STREAM on the ADC")) {
		t_close(&c);
		return;
	}
	t_ok(e, !strcmp(iiofab_wire_reg_path_name(si.reg_path), path),
	     "STREAM_INFO says %s (%s)", path, iiofab_wire_reg_path_name(si.reg_path));
	for (unsigned int i = 0; i < si.block_count; i++) {
		printf("block %u: addr 0x%llx rkey 0x%x\n", i,
		       (unsigned long long)si.blocks[i].addr, si.blocks[i].rkey);
		same &= si.blocks[i].rkey == si.blocks[0].rkey;
		for (unsigned int j = 0; j < i; j++)
			distinct &= si.blocks[i].rkey != si.blocks[j].rkey;
		distinct &= si.blocks[i].rkey != si.gen_rkey;
	}
	printf("generation table: addr 0x%llx rkey 0x%x\n", (unsigned long long)si.gen_addr,
	       si.gen_rkey);
	t_ok(e, dmabuf ? distinct : same, dmabuf ? "every block has its own rkey" :
						   "every block shares the arena's rkey");
	t_close(&c);
	for (size_t i = 0; i < sizeof(t_accesses) / sizeof(t_accesses[0]); i++)
		t_access1(e, &t_accesses[i], dmabuf);
}

int main(int argc, char **argv)
{
	struct t_env e = { 0 };
	struct t_conn c;
	FILE *f;

	if (argc < 4 || argc > 6 || (argc == 5 && strcmp(argv[4], "all") &&
				      strcmp(argv[4], "dac")) ||
	    (argc == 6 && strcmp(argv[4], "blocks"))) {
		fprintf(stderr, "usage: t_srv_proto ADDR PORT KEYFILE [all|dac|blocks REG_PATH]\n");
		return 2;
	}
	e.addr = argv[1];
	e.port = argv[2];
	f = fopen(argv[3], "rb");
	if (!f)
		return 1;
	e.key_len = fread(e.key, 1, sizeof(e.key), f);
	fclose(f);
	if (e.key_len && e.key[e.key_len - 1] == '\n')
		e.key_len--;

	if (argc == 6) {
		t_blocks(&e, argv[5]);
		printf("%d of %d block checks passed\n", e.checks - e.fails, e.checks);
		return e.fails != 0;
	}
	if (argc == 4 || !strcmp(argv[4], "all"))
		t_before_auth(&e);
	if (t_connect(&e, &c)) {
		t_ok(&e, 0, "connect");
		return 1;
	}
	t_ok(&e, t_handshake(&e, &c) == 0, "handshake with the key");
	if (argc == 4 || !strcmp(argv[4], "all")) {
		t_requests(&e, &c);
		t_stream(&e, &c);
	}
	t_dac(&e, &c);
	t_write_to_adc(&e);
	t_close(&c);
	printf("%d of %d protocol checks passed\n", e.checks - e.fails, e.checks);
	return e.fails != 0;
}
