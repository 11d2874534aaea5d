/* SPDX-License-Identifier: MIT */
/*
 * iiofab control protocol v1: message structs and the codec.
 *
 * Server and client build and parse every control message through these
 * functions; nobody encodes bytes by hand. The layout is specified in the
 * project's protocol notes; this header is its C form.
 *
 * Conventions
 * - Every int function returns >= 0 on success or a negative errno.
 *   Encoders return the number of bytes written (header included):
 *     -ENOSPC  the buffer is too small,
 *     -EINVAL  a field is out of range (count over its limit, string too
 *              long or containing a NUL byte, enum value unknown, ...).
 *   Decoders return 0:
 *     -EBADMSG          malformed (truncated, bad magic, bad length, string
 *                       or array overrunning the body, count over its limit,
 *                       enum value unknown, non-zero reserved field,
 *                       trailing bytes),
 *     -EPROTONOSUPPORT  header version is not IIOFAB_WIRE_VERSION,
 *     -EOPNOTSUPP       message type unknown,
 *     -EMSGSIZE         the message is longer than IIOFAB_WIRE_MAX_MSG.
 *   The encoder refuses exactly what the decoder refuses, so anything that
 *   encodes also decodes, and a decoded message re-encodes to the same bytes.
 * - Decoded strings are NOT copied and NOT NUL-terminated: a
 *   struct iiofab_wire_str points into the receive buffer, which must
 *   outlive the decoded message. Strings never contain a NUL byte (the codec
 *   rejects one), so "%.*s" and iiofab_wire_str_copy() are safe.
 * - Decoded arrays live inside the message struct, except the per-channel
 *   attribute names of DEVICE, which point into the struct's own
 *   chan_attr_pool: copy the whole struct and those pointers still refer to
 *   the original.
 * - On a decode error the contents of the output struct are unspecified.
 */
#ifndef IIOFAB_WIRE_H
#define IIOFAB_WIRE_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define IIOFAB_WIRE_MAGIC		0x42414649u	/* "IFAB" in memory */
#define IIOFAB_WIRE_VERSION		2
#define IIOFAB_WIRE_HDR_SIZE		16
#define IIOFAB_WIRE_MAX_MSG		8192		/* header included */
#define IIOFAB_WIRE_MAX_BODY		(IIOFAB_WIRE_MAX_MSG - IIOFAB_WIRE_HDR_SIZE)

/* The documented rdma_cm port of iiofabd. */
#define IIOFAB_DEFAULT_PORT		7790

#define IIOFAB_WIRE_MAX_NAME		255	/* names, ids, keys, labels */
#define IIOFAB_WIRE_MAX_VALUE		4095	/* attribute values, messages */
#define IIOFAB_WIRE_NONCE_SIZE		32
#define IIOFAB_WIRE_MAC_SIZE		32
#define IIOFAB_WIRE_AUTH_CLIENT_LABEL	"iiofab-v1-client"
#define IIOFAB_WIRE_AUTH_SERVER_LABEL	"iiofab-v1-server"

#define IIOFAB_WIRE_MAX_DEVICES		64	/* DEVICES entries */
#define IIOFAB_WIRE_MAX_DEV_ATTRS	128	/* DEVICE attribute names */
#define IIOFAB_WIRE_MAX_BUF_ATTRS	64	/* DEVICE buffer attribute names */
#define IIOFAB_WIRE_MAX_CHANNELS	64	/* DEVICE / STREAM_INFO channels */
#define IIOFAB_WIRE_MAX_CHAN_ATTRS	64	/* attribute names per channel */
#define IIOFAB_WIRE_MAX_CHAN_ATTRS_TOTAL 1024	/* sum over a DEVICE's channels */
#define IIOFAB_WIRE_MAX_SCAN_INDEX	63	/* channel_mask is a u64 */
#define IIOFAB_WIRE_MAX_BLOCKS		256	/* block_count, STREAM_INFO table */
#define IIOFAB_WIRE_MAX_READY		64	/* READY entries */
#define IIOFAB_WIRE_MAX_RELEASE		256	/* RELEASE entries */
#define IIOFAB_WIRE_MAX_FREE		256	/* FREE entries */
#define IIOFAB_WIRE_MAX_SUBMIT		256	/* SUBMIT entries */
#define IIOFAB_WIRE_MAX_STATS		160	/* STATS_REPLY entries */

enum iiofab_wire_type {
	IIOFAB_MSG_HELLO = 1,
	IIOFAB_MSG_CHALLENGE = 2,
	IIOFAB_MSG_AUTH = 3,
	IIOFAB_MSG_WELCOME = 4,
	IIOFAB_MSG_ERROR = 5,
	IIOFAB_MSG_OK = 6,
	IIOFAB_MSG_LIST = 7,
	IIOFAB_MSG_DEVICES = 8,
	IIOFAB_MSG_DEVICE_INFO = 9,
	IIOFAB_MSG_DEVICE = 10,
	IIOFAB_MSG_ATTR_READ = 11,
	IIOFAB_MSG_ATTR_WRITE = 12,
	IIOFAB_MSG_ATTR_VALUE = 13,
	IIOFAB_MSG_OPEN_STREAM = 14,
	IIOFAB_MSG_STREAM_INFO = 15,
	IIOFAB_MSG_START = 16,
	IIOFAB_MSG_STOP = 17,
	IIOFAB_MSG_CLOSE = 18,
	IIOFAB_MSG_READY = 19,
	IIOFAB_MSG_RELEASE = 20,
	IIOFAB_MSG_FREE = 21,
	IIOFAB_MSG_SUBMIT = 22,
	IIOFAB_MSG_STATS = 23,
	IIOFAB_MSG_STATS_REPLY = 24,
	IIOFAB_MSG_STREAM_EVENT = 25,
	IIOFAB_MSG_TYPE_MAX = IIOFAB_MSG_STREAM_EVENT,
};

/* Status carried by ERROR and OK; never a raw errno on the wire. */
enum iiofab_wire_status {
	IIOFAB_WIRE_STATUS_OK = 0,
	IIOFAB_WIRE_STATUS_BAD_MESSAGE = 1,
	IIOFAB_WIRE_STATUS_UNSUPPORTED_VERSION = 2,
	IIOFAB_WIRE_STATUS_AUTH_REQUIRED = 3,
	IIOFAB_WIRE_STATUS_AUTH_FAILED = 4,
	IIOFAB_WIRE_STATUS_NO_DEVICE = 5,
	IIOFAB_WIRE_STATUS_NO_CHANNEL = 6,
	IIOFAB_WIRE_STATUS_NO_ATTRIBUTE = 7,
	IIOFAB_WIRE_STATUS_INVALID_ARGUMENT = 8,
	IIOFAB_WIRE_STATUS_BUSY = 9,
	IIOFAB_WIRE_STATUS_NO_MEMORY = 10,
	IIOFAB_WIRE_STATUS_IO_ERROR = 11,
	IIOFAB_WIRE_STATUS_NO_STREAM = 12,
	IIOFAB_WIRE_STATUS_BAD_BLOCK = 13,
	IIOFAB_WIRE_STATUS_PERMISSION = 14,
	IIOFAB_WIRE_STATUS_INTERNAL = 15,
	IIOFAB_WIRE_STATUS_UNSUPPORTED = 16,
	IIOFAB_WIRE_STATUS_MAX = IIOFAB_WIRE_STATUS_UNSUPPORTED,
};

enum iiofab_wire_kind {
	IIOFAB_WIRE_KIND_INPUT = 0,	/* ADC */
	IIOFAB_WIRE_KIND_OUTPUT = 1,	/* DAC */
	IIOFAB_WIRE_KIND_OTHER = 2,
};

enum iiofab_wire_scope {
	IIOFAB_WIRE_SCOPE_DEVICE = 0,
	IIOFAB_WIRE_SCOPE_CHANNEL = 1,
	IIOFAB_WIRE_SCOPE_BUFFER = 2,
};

enum iiofab_wire_direction {
	IIOFAB_WIRE_DIR_IN = 0,		/* ADC */
	IIOFAB_WIRE_DIR_OUT = 1,	/* DAC */
};

enum iiofab_wire_mode {
	IIOFAB_WIRE_MODE_EXCLUSIVE = 0,
	IIOFAB_WIRE_MODE_FANOUT = 1,
	IIOFAB_WIRE_MODE_SHARD = 2,
};

enum iiofab_wire_reg_path {
	IIOFAB_WIRE_REG_DMABUF = 0,	/* one dmabuf MR per block */
	IIOFAB_WIRE_REG_MEMFD = 1,	/* one MR over the memfd arena */
};

/* What STREAM_EVENT's value carries depends on the event. */
enum iiofab_wire_event {
	IIOFAB_WIRE_EVENT_UNDERRUN = 1,	/* value: underrun scans since START, a running total */
	IIOFAB_WIRE_EVENT_STOPPED = 2,
	IIOFAB_WIRE_EVENT_ERROR = 3,	/* value: an enum iiofab_wire_status */
	/* Sent on a stream with no other traffic: a peer that vanished
	 * without a word fails the send, and the server frees the stream. */
	IIOFAB_WIRE_EVENT_KEEPALIVE = 4,
};

#define IIOFAB_WIRE_SUBMIT_CYCLIC	0x1u

struct iiofab_wire_hdr {
	uint32_t magic;
	uint8_t version;
	uint8_t flags;
	uint16_t type;
	uint32_t body_length;
	uint32_t request_id;
};

/* A length-counted string; see the conventions at the top. */
struct iiofab_wire_str {
	const char *ptr;
	uint16_t len;
};

/* Sample format of one channel, as in struct iio_chan_spec's scan_type. */
struct iiofab_wire_scan_fmt {
	int16_t scan_index;	/* -1: not scannable (DEVICE only) */
	uint8_t is_signed;
	uint8_t bits;
	uint8_t storage_bits;
	uint8_t shift;
	uint8_t big_endian;
};

/* 1 HELLO, c->s */
struct iiofab_msg_hello {
	uint16_t version_min;
	uint16_t version_max;
	uint32_t features;
	uint8_t client_nonce[IIOFAB_WIRE_NONCE_SIZE];
	struct iiofab_wire_str client_name;
};

/* 2 CHALLENGE, s->c */
struct iiofab_msg_challenge {
	uint16_t version;
	uint32_t features;
	uint8_t auth_required;		/* 0 or 1 */
	uint8_t server_nonce[IIOFAB_WIRE_NONCE_SIZE];
};

/* 3 AUTH, c->s */
struct iiofab_msg_auth {
	uint8_t mac[IIOFAB_WIRE_MAC_SIZE];
};

/* 4 WELCOME, s->c */
struct iiofab_msg_welcome {
	uint8_t mac[IIOFAB_WIRE_MAC_SIZE];
	uint32_t features;
};

/* 5 ERROR, s->c */
struct iiofab_msg_error {
	int32_t status;			/* enum iiofab_wire_status */
	struct iiofab_wire_str message;	/* <= IIOFAB_WIRE_MAX_VALUE */
};

/* 6 OK, s->c */
struct iiofab_msg_ok {
	int32_t status;
	uint32_t value;			/* stream id or 0 */
};

/* 8 DEVICES, s->c */
struct iiofab_wire_dev_summary {
	struct iiofab_wire_str id;	/* "iio:device0" */
	struct iiofab_wire_str name;
	struct iiofab_wire_str label;
	uint8_t kind;			/* enum iiofab_wire_kind */
	uint16_t n_channels;
	uint16_t n_attrs;
};

struct iiofab_msg_devices {
	uint16_t count;
	struct iiofab_wire_dev_summary devices[IIOFAB_WIRE_MAX_DEVICES];
};

/* 9 DEVICE_INFO, c->s */
struct iiofab_msg_device_info {
	struct iiofab_wire_str device;	/* id, name or label */
};

/* 10 DEVICE, s->c */
struct iiofab_wire_channel {
	struct iiofab_wire_str id;	/* "voltage0" */
	struct iiofab_wire_str name;
	uint8_t output;			/* 0 or 1 */
	struct iiofab_wire_scan_fmt fmt;
	uint16_t n_attrs;
	/* Encode: caller's array. Decode: into chan_attr_pool. */
	const struct iiofab_wire_str *attrs;
};

struct iiofab_msg_device {
	struct iiofab_wire_str id;
	struct iiofab_wire_str name;
	struct iiofab_wire_str label;
	uint8_t kind;			/* enum iiofab_wire_kind */
	uint16_t n_attrs;
	struct iiofab_wire_str attrs[IIOFAB_WIRE_MAX_DEV_ATTRS];
	uint16_t n_buffer_attrs;
	struct iiofab_wire_str buffer_attrs[IIOFAB_WIRE_MAX_BUF_ATTRS];
	uint16_t n_channels;
	struct iiofab_wire_channel channels[IIOFAB_WIRE_MAX_CHANNELS];
	/* Decode storage for channels[].attrs; unused when encoding. */
	struct iiofab_wire_str chan_attr_pool[IIOFAB_WIRE_MAX_CHAN_ATTRS_TOTAL];
};

/* 11 ATTR_READ and 12 ATTR_WRITE, c->s (value: ATTR_WRITE only) */
struct iiofab_msg_attr {
	struct iiofab_wire_str device;
	uint8_t scope;			/* enum iiofab_wire_scope */
	struct iiofab_wire_str channel;	/* empty unless scope is CHANNEL */
	uint8_t channel_output;		/* 0 or 1 */
	struct iiofab_wire_str attr;
	struct iiofab_wire_str value;	/* <= IIOFAB_WIRE_MAX_VALUE */
};

/* 13 ATTR_VALUE, s->c */
struct iiofab_msg_attr_value {
	struct iiofab_wire_str value;	/* <= IIOFAB_WIRE_MAX_VALUE */
};

/* 14 OPEN_STREAM, c->s. Semantic checks (sizes, mask) are the server's. */
struct iiofab_msg_open_stream {
	struct iiofab_wire_str device;
	uint64_t channel_mask;		/* bit = scan index */
	uint32_t block_size;
	uint32_t block_count;		/* 1..IIOFAB_WIRE_MAX_BLOCKS */
	uint8_t direction;		/* enum iiofab_wire_direction */
	uint8_t mode;			/* enum iiofab_wire_mode */
	/* u16 reserved: always 0 on the wire */
};

/* 15 STREAM_INFO, s->c */
struct iiofab_wire_block {
	uint64_t addr;
	uint32_t rkey;
};

struct iiofab_msg_stream_info {
	uint32_t stream_id;
	uint32_t block_size;
	uint32_t block_count;		/* 1..IIOFAB_WIRE_MAX_BLOCKS */
	uint16_t scan_bytes;
	uint8_t reg_path;		/* enum iiofab_wire_reg_path */
	/* u8 reserved: always 0 on the wire */
	uint64_t gen_addr;
	uint32_t gen_rkey;
	uint16_t n_channels;		/* 1..IIOFAB_WIRE_MAX_CHANNELS */
	struct iiofab_wire_scan_fmt channels[IIOFAB_WIRE_MAX_CHANNELS];
	struct iiofab_wire_block blocks[IIOFAB_WIRE_MAX_BLOCKS];
};

/* 16 START, 17 STOP, 18 CLOSE, c->s */
struct iiofab_msg_stream_ctl {
	uint32_t stream_id;
};

/* 19 READY, s->c */
struct iiofab_wire_ready_entry {
	uint32_t block;
	uint32_t bytes_used;
	uint64_t generation;
	uint64_t seq;
	uint64_t first_sample;		/* scan index since stream start */
	uint64_t timestamp_ns;		/* CLOCK_REALTIME at completion */
	/*
	 * Scans this subscriber lost since its previous entry (for its first:
	 * since it started): every gap, reclaimed block and, in shard mode,
	 * every block no shard got is counted in exactly one entry of one
	 * subscriber. A torn block's own scans are the client's to add.
	 */
	uint64_t lost;
	uint32_t flags;			/* IIOFAB_WIRE_READY_* */
	/* u32 reserved: always 0 on the wire */
};

/* A shard that held the block went away before releasing it: the block
 * is whole, but another host may have processed it already. */
#define IIOFAB_WIRE_READY_REDELIVERED	1u

struct iiofab_msg_ready {
	uint32_t stream_id;
	uint16_t count;			/* 1..IIOFAB_WIRE_MAX_READY */
	struct iiofab_wire_ready_entry entries[IIOFAB_WIRE_MAX_READY];
};

/* 20 RELEASE, c->s */
struct iiofab_wire_release_entry {
	uint32_t block;
	uint64_t generation;
};

struct iiofab_msg_release {
	uint32_t stream_id;
	uint16_t count;			/* 1..IIOFAB_WIRE_MAX_RELEASE */
	struct iiofab_wire_release_entry entries[IIOFAB_WIRE_MAX_RELEASE];
};

/* 21 FREE, s->c */
struct iiofab_msg_free {
	uint32_t stream_id;
	uint16_t count;			/* 1..IIOFAB_WIRE_MAX_FREE */
	uint32_t blocks[IIOFAB_WIRE_MAX_FREE];
};

/* 22 SUBMIT, c->s */
struct iiofab_wire_submit_entry {
	uint32_t block;
	uint32_t bytes_used;
	uint32_t flags;			/* IIOFAB_WIRE_SUBMIT_* only */
};

struct iiofab_msg_submit {
	uint32_t stream_id;
	uint16_t count;			/* 1..IIOFAB_WIRE_MAX_SUBMIT */
	struct iiofab_wire_submit_entry entries[IIOFAB_WIRE_MAX_SUBMIT];
};

/* 24 STATS_REPLY, s->c */
struct iiofab_wire_stat {
	struct iiofab_wire_str key;
	uint64_t value;
};

struct iiofab_msg_stats_reply {
	uint16_t count;			/* 0..IIOFAB_WIRE_MAX_STATS */
	struct iiofab_wire_stat stats[IIOFAB_WIRE_MAX_STATS];
	struct iiofab_wire_str reg_path;	/* iiofab_wire_reg_path_name(), or "none" */
};

/* 25 STREAM_EVENT, s->c */
struct iiofab_msg_stream_event {
	uint32_t stream_id;
	uint32_t event;			/* enum iiofab_wire_event */
	uint64_t value;
};

/*
 * Any decoded message; which member is valid follows hdr.type. LIST and
 * STATS have no body and no member; ATTR_READ and ATTR_WRITE use attr;
 * START, STOP and CLOSE use stream_ctl. It is large (DEVICE): keep one per
 * connection rather than on a small stack.
 */
union iiofab_wire_msg {
	struct iiofab_msg_hello hello;
	struct iiofab_msg_challenge challenge;
	struct iiofab_msg_auth auth;
	struct iiofab_msg_welcome welcome;
	struct iiofab_msg_error error;
	struct iiofab_msg_ok ok;
	struct iiofab_msg_devices devices;
	struct iiofab_msg_device_info device_info;
	struct iiofab_msg_device device;
	struct iiofab_msg_attr attr;
	struct iiofab_msg_attr_value attr_value;
	struct iiofab_msg_open_stream open_stream;
	struct iiofab_msg_stream_info stream_info;
	struct iiofab_msg_stream_ctl stream_ctl;
	struct iiofab_msg_ready ready;
	struct iiofab_msg_release release;
	struct iiofab_msg_free free;
	struct iiofab_msg_submit submit;
	struct iiofab_msg_stats_reply stats_reply;
	struct iiofab_msg_stream_event stream_event;
};

/* Strings */

/* A wire string over a C string (length saturates; the encoder then refuses). */
struct iiofab_wire_str iiofab_wire_str(const char *s);
/* 1 if s equals the C string c, else 0. */
int iiofab_wire_str_eq(struct iiofab_wire_str s, const char *c);
/* Copy with a NUL into dst[cap]: length, or -ENAMETOOLONG if it does not fit. */
int iiofab_wire_str_copy(char *dst, size_t cap, struct iiofab_wire_str s);

/* Header */

/*
 * Checks magic, version, flags, type and that len == 16 + body_length <=
 * IIOFAB_WIRE_MAX_MSG. Fills h before checking, so on an error other than
 * a short buffer h->request_id is there for the ERROR reply.
 */
int iiofab_wire_decode_hdr(const void *buf, size_t len, struct iiofab_wire_hdr *h);

/* Decode a whole message (header and body) into the member given by h->type. */
int iiofab_wire_decode(const void *buf, size_t len, struct iiofab_wire_hdr *h,
		       union iiofab_wire_msg *m);

/* Encode any message by type from the matching member of m (NULL for LIST/STATS). */
int iiofab_wire_encode(void *buf, size_t cap, uint16_t type, uint32_t req_id,
		       const union iiofab_wire_msg *m);

/* Name of a message type ("HELLO"), "?" when unknown. */
const char *iiofab_wire_type_name(uint16_t type);

/* Per-message encoders: bytes written or -errno. */
int iiofab_wire_encode_hello(void *buf, size_t cap, uint32_t req_id, const struct iiofab_msg_hello *m);
int iiofab_wire_encode_challenge(void *buf, size_t cap, uint32_t req_id, const struct iiofab_msg_challenge *m);
int iiofab_wire_encode_auth(void *buf, size_t cap, uint32_t req_id, const struct iiofab_msg_auth *m);
int iiofab_wire_encode_welcome(void *buf, size_t cap, uint32_t req_id, const struct iiofab_msg_welcome *m);
int iiofab_wire_encode_error(void *buf, size_t cap, uint32_t req_id, const struct iiofab_msg_error *m);
int iiofab_wire_encode_ok(void *buf, size_t cap, uint32_t req_id, const struct iiofab_msg_ok *m);
int iiofab_wire_encode_list(void *buf, size_t cap, uint32_t req_id);
int iiofab_wire_encode_devices(void *buf, size_t cap, uint32_t req_id, const struct iiofab_msg_devices *m);
int iiofab_wire_encode_device_info(void *buf, size_t cap, uint32_t req_id, const struct iiofab_msg_device_info *m);
int iiofab_wire_encode_device(void *buf, size_t cap, uint32_t req_id, const struct iiofab_msg_device *m);
int iiofab_wire_encode_attr_read(void *buf, size_t cap, uint32_t req_id, const struct iiofab_msg_attr *m);
int iiofab_wire_encode_attr_write(void *buf, size_t cap, uint32_t req_id, const struct iiofab_msg_attr *m);
int iiofab_wire_encode_attr_value(void *buf, size_t cap, uint32_t req_id, const struct iiofab_msg_attr_value *m);
int iiofab_wire_encode_open_stream(void *buf, size_t cap, uint32_t req_id, const struct iiofab_msg_open_stream *m);
int iiofab_wire_encode_stream_info(void *buf, size_t cap, uint32_t req_id, const struct iiofab_msg_stream_info *m);
int iiofab_wire_encode_start(void *buf, size_t cap, uint32_t req_id, const struct iiofab_msg_stream_ctl *m);
int iiofab_wire_encode_stop(void *buf, size_t cap, uint32_t req_id, const struct iiofab_msg_stream_ctl *m);
int iiofab_wire_encode_close(void *buf, size_t cap, uint32_t req_id, const struct iiofab_msg_stream_ctl *m);
int iiofab_wire_encode_ready(void *buf, size_t cap, uint32_t req_id, const struct iiofab_msg_ready *m);
int iiofab_wire_encode_release(void *buf, size_t cap, uint32_t req_id, const struct iiofab_msg_release *m);
int iiofab_wire_encode_free(void *buf, size_t cap, uint32_t req_id, const struct iiofab_msg_free *m);
int iiofab_wire_encode_submit(void *buf, size_t cap, uint32_t req_id, const struct iiofab_msg_submit *m);
int iiofab_wire_encode_stats(void *buf, size_t cap, uint32_t req_id);
int iiofab_wire_encode_stats_reply(void *buf, size_t cap, uint32_t req_id, const struct iiofab_msg_stats_reply *m);
int iiofab_wire_encode_stream_event(void *buf, size_t cap, uint32_t req_id, const struct iiofab_msg_stream_event *m);

/* Per-message body decoders (body = buf + 16, len = body_length): 0 or -errno. */
int iiofab_wire_decode_hello(const void *body, size_t len, struct iiofab_msg_hello *m);
int iiofab_wire_decode_challenge(const void *body, size_t len, struct iiofab_msg_challenge *m);
int iiofab_wire_decode_auth(const void *body, size_t len, struct iiofab_msg_auth *m);
int iiofab_wire_decode_welcome(const void *body, size_t len, struct iiofab_msg_welcome *m);
int iiofab_wire_decode_error(const void *body, size_t len, struct iiofab_msg_error *m);
int iiofab_wire_decode_ok(const void *body, size_t len, struct iiofab_msg_ok *m);
int iiofab_wire_decode_empty(const void *body, size_t len);	/* LIST, STATS */
int iiofab_wire_decode_devices(const void *body, size_t len, struct iiofab_msg_devices *m);
int iiofab_wire_decode_device_info(const void *body, size_t len, struct iiofab_msg_device_info *m);
int iiofab_wire_decode_device(const void *body, size_t len, struct iiofab_msg_device *m);
int iiofab_wire_decode_attr_read(const void *body, size_t len, struct iiofab_msg_attr *m);
int iiofab_wire_decode_attr_write(const void *body, size_t len, struct iiofab_msg_attr *m);
int iiofab_wire_decode_attr_value(const void *body, size_t len, struct iiofab_msg_attr_value *m);
int iiofab_wire_decode_open_stream(const void *body, size_t len, struct iiofab_msg_open_stream *m);
int iiofab_wire_decode_stream_info(const void *body, size_t len, struct iiofab_msg_stream_info *m);
int iiofab_wire_decode_stream_ctl(const void *body, size_t len, struct iiofab_msg_stream_ctl *m);
int iiofab_wire_decode_ready(const void *body, size_t len, struct iiofab_msg_ready *m);
int iiofab_wire_decode_release(const void *body, size_t len, struct iiofab_msg_release *m);
int iiofab_wire_decode_free(const void *body, size_t len, struct iiofab_msg_free *m);
int iiofab_wire_decode_submit(const void *body, size_t len, struct iiofab_msg_submit *m);
int iiofab_wire_decode_stats_reply(const void *body, size_t len, struct iiofab_msg_stats_reply *m);
int iiofab_wire_decode_stream_event(const void *body, size_t len, struct iiofab_msg_stream_event *m);

/* Status codes */

/* Negative errno for a status (0 for OK, -EPROTO for an unknown status). */
int iiofab_wire_status_to_errno(int32_t status);
/* Status for a negative (or positive) errno; INTERNAL for unmapped ones. */
int32_t iiofab_wire_status_from_errno(int err);
/* Short description of a status ("no such device"); never NULL. */
const char *iiofab_wire_status_str(int32_t status);
/* Symbolic name of a status ("NO_DEVICE"); never NULL. */
const char *iiofab_wire_status_name(int32_t status);

/* The words both sides use for a registration path: "dmabuf-mr", "memfd-mr". */
const char *iiofab_wire_reg_path_name(unsigned int path);
/* A stream mode's word: "exclusive", "fanout", "shard". */
const char *iiofab_wire_mode_name(unsigned int mode);

#ifdef __cplusplus
}
#endif

#endif /* IIOFAB_WIRE_H */
