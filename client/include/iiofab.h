/* SPDX-License-Identifier: MIT */
/*
 * libiiofab: stream samples of a remote Linux IIO converter over RDMA.
 *
 * The one public header of the client library. Conventions:
 * - every object is opaque and belongs to the context that created it;
 * - every int function returns >= 0 on success or a negative errno value
 *   (iiofab_strerror() turns it into text); errno is never the channel;
 * - the library never prints and never exits: it reports through the log
 *   callback given in struct iiofab_params;
 * - no global state: a context and everything under it is used by one thread
 *   at a time; distinct contexts are independent;
 * - every wait is bounded by a timeout, and a server that goes away makes
 *   every call return an error (-ECONNRESET, -ETIMEDOUT, -EIO) instead of
 *   blocking;
 * - the server drops a client whose host acknowledges none of its messages
 *   for 15 s (it vanished, or the application stopped calling the library
 *   while a stream ran until its receive queue filled): call into an open
 *   stream now and then, if only iiofab_stream_next() (input) or
 *   iiofab_stream_get_free() (output) with timeout 0.
 */
#ifndef IIOFAB_H
#define IIOFAB_H

#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>

#ifdef __cplusplus
extern "C" {
#endif

#define IIOFAB_VERSION_MAJOR 0
#define IIOFAB_VERSION_MINOR 1

/* Used when iiofab_params leaves a timeout at 0. */
#define IIOFAB_DEFAULT_CONNECT_TIMEOUT_MS 5000
#define IIOFAB_DEFAULT_OP_TIMEOUT_MS 5000

struct iiofab_ctx;
struct iiofab_device;
struct iiofab_channel;
struct iiofab_stream;

enum iiofab_log_level {
	IIOFAB_LOG_NONE = 0,
	IIOFAB_LOG_ERROR = 1,
	IIOFAB_LOG_WARNING = 2,
	IIOFAB_LOG_INFO = 3,
	IIOFAB_LOG_DEBUG = 4,
};

/* msg is one line without a trailing newline, valid during the call only. */
typedef void (*iiofab_log_fn)(void *user_data, enum iiofab_log_level level,
			      const char *msg);

/*
 * Connection parameters. Zero-initialise, then set what you need: a NULL
 * params pointer or zero fields mean "no key, default timeouts, no logging".
 */
struct iiofab_params {
	/* Pre-shared key (raw bytes); NULL/0 connects without authentication,
	 * which a server only accepts when started with --insecure. With a key
	 * the server must prove it too, or the connection is refused. */
	const void *psk;
	size_t psk_len;
	/* Address/route resolution plus connection establishment; then how
	 * long any wait of the library with no timeout of its own (requests,
	 * close, drain, next/get_free with timeout < 0) lets the server stay
	 * silent: nothing received from it and nothing of ours acknowledged.
	 * Such a wait goes on while the server shows signs of life (RC
	 * retransmission on a lossy link, transfers queued ahead of a request
	 * on the same QP), up to 10 times this; a server silent that long is
	 * gone, and the connection fails (-ETIMEDOUT from every later call).
	 * Keep it above the server's 3 s keepalive. 0 = the defaults above. */
	unsigned int connect_timeout_ms;
	unsigned int op_timeout_ms;
	/* Messages up to and including log_level go to log_fn. */
	iiofab_log_fn log_fn;
	enum iiofab_log_level log_level;
	void *user_data;
	/* Reported to the server in HELLO; NULL = "libiiofab". */
	const char *client_name;
};

/* ---- context --------------------------------------------------------- */

/*
 * Connects to "rdma://host[:port]", authenticates and loads the device
 * table (so the device/channel getters below never fail or block). The
 * connection's QP resends an unacknowledged packet after 268 ms (local ACK
 * timeout 2^16 x 4.096 us), up to 7 times before it fails.
 */
int iiofab_connect(const char *uri, const struct iiofab_params *params,
		   struct iiofab_ctx **out);
/* Closes any open stream, disconnects, frees. Accepts NULL. */
void iiofab_disconnect(struct iiofab_ctx *ctx);

/* Text for a negative (or positive) errno value; never NULL. */
const char *iiofab_strerror(int err);

/* Library version as "major.minor.patch". */
const char *iiofab_version(void);

void *iiofab_ctx_get_user_data(const struct iiofab_ctx *ctx);

/* Server counters (STATS): cb is called once per counter, in server order;
 * a non-zero return from cb stops the walk and is returned. reg_path receives
 * the server's last registration path: "dmabuf-mr", "memfd-mr", or "none"
 * before any stream was registered. */
typedef int (*iiofab_stat_fn)(void *user_data, const char *key, uint64_t value);
int iiofab_ctx_get_server_stats(struct iiofab_ctx *ctx, iiofab_stat_fn cb,
				void *user_data, char *reg_path,
				size_t reg_path_len);

/* ---- devices --------------------------------------------------------- */

enum iiofab_device_kind {
	IIOFAB_DEVICE_INPUT = 0,	/* ADC */
	IIOFAB_DEVICE_OUTPUT = 1,	/* DAC */
	IIOFAB_DEVICE_OTHER = 2,
};

unsigned int iiofab_ctx_get_devices_count(const struct iiofab_ctx *ctx);
const struct iiofab_device *iiofab_ctx_get_device(const struct iiofab_ctx *ctx,
						  unsigned int index);
/* Matches the id ("iio:device0"), then the name, then the label. */
const struct iiofab_device *iiofab_ctx_find_device(const struct iiofab_ctx *ctx,
						   const char *name);

const char *iiofab_device_get_id(const struct iiofab_device *dev);
const char *iiofab_device_get_name(const struct iiofab_device *dev);
const char *iiofab_device_get_label(const struct iiofab_device *dev);
enum iiofab_device_kind iiofab_device_get_kind(const struct iiofab_device *dev);

unsigned int iiofab_device_get_channels_count(const struct iiofab_device *dev);
const struct iiofab_channel *
iiofab_device_get_channel(const struct iiofab_device *dev, unsigned int index);
/* Matches the id ("voltage0"), then the name, among channels of the given
 * direction. */
const struct iiofab_channel *
iiofab_device_find_channel(const struct iiofab_device *dev, const char *name,
			   bool output);

/*
 * The channel mask (bit n = scan index n) of the named channels of one
 * direction: ids or names, NULL-terminated; NULL for every scannable
 * channel of that direction. -ENOENT for a name the device has no such
 * channel for, -EINVAL for a channel that cannot be streamed or none at all.
 */
int iiofab_device_get_channel_mask(const struct iiofab_device *dev, bool output,
				   const char *const *channels, uint64_t *mask);
/*
 * Bytes in one scan of the channels of that direction in channel_mask, as
 * the IIO core lays a scan out (and as iiofab_stream_get_scan_bytes() of a
 * stream on them reports): > 0, or -EINVAL when a bit names no such
 * channel.
 */
int iiofab_device_get_scan_bytes(const struct iiofab_device *dev, bool output,
				 uint64_t channel_mask);

unsigned int iiofab_device_get_attrs_count(const struct iiofab_device *dev);
const char *iiofab_device_get_attr(const struct iiofab_device *dev,
				   unsigned int index);
const char *iiofab_device_find_attr(const struct iiofab_device *dev,
				    const char *name);
unsigned int
iiofab_device_get_buffer_attrs_count(const struct iiofab_device *dev);
const char *iiofab_device_get_buffer_attr(const struct iiofab_device *dev,
					  unsigned int index);
const char *iiofab_device_find_buffer_attr(const struct iiofab_device *dev,
					   const char *name);

/*
 * Attribute access, one round trip each. Reads copy the value (NUL
 * terminated, truncated to fit) into buf and return its full length; writes
 * return 0. Attribute names need not be in the cached tables.
 */
int iiofab_device_attr_read(const struct iiofab_device *dev, const char *attr,
			    char *buf, size_t len);
int iiofab_device_attr_write(const struct iiofab_device *dev, const char *attr,
			     const char *value);
int iiofab_device_buffer_attr_read(const struct iiofab_device *dev,
				   const char *attr, char *buf, size_t len);
int iiofab_device_buffer_attr_write(const struct iiofab_device *dev,
				    const char *attr, const char *value);

/* ---- channels -------------------------------------------------------- */

/* Sample layout in a scan, as IIO's scan_type. */
struct iiofab_data_format {
	unsigned int bits;		/* significant bits */
	unsigned int storage_bits;	/* bits the sample occupies in a scan */
	unsigned int shift;		/* right shift before masking */
	bool is_signed;
	bool big_endian;
};

const struct iiofab_device *
iiofab_channel_get_device(const struct iiofab_channel *ch);
const char *iiofab_channel_get_id(const struct iiofab_channel *ch);
const char *iiofab_channel_get_name(const struct iiofab_channel *ch);
bool iiofab_channel_is_output(const struct iiofab_channel *ch);
/* Scan index, or -1 when the channel cannot be streamed. */
int iiofab_channel_get_scan_index(const struct iiofab_channel *ch);
const struct iiofab_data_format *
iiofab_channel_get_format(const struct iiofab_channel *ch);

unsigned int iiofab_channel_get_attrs_count(const struct iiofab_channel *ch);
const char *iiofab_channel_get_attr(const struct iiofab_channel *ch,
				    unsigned int index);
const char *iiofab_channel_find_attr(const struct iiofab_channel *ch,
				     const char *name);
int iiofab_channel_attr_read(const struct iiofab_channel *ch, const char *attr,
			     char *buf, size_t len);
int iiofab_channel_attr_write(const struct iiofab_channel *ch,
			      const char *attr, const char *value);

/* ---- streams --------------------------------------------------------- */

/*
 * One block of samples as delivered to the application. data points into the
 * stream's registered landing buffer (no copy after the wire) and stays valid
 * until iiofab_block_release(). Samples are interleaved scans of the enabled
 * channels in scan-index order, in the converter's own format.
 */
struct iiofab_block {
	const void *data;
	size_t bytes;
	uint64_t seq;		/* per-stream block sequence number, from 0 */
	uint64_t timestamp_ns;	/* CLOCK_REALTIME on the board at completion */
	uint64_t first_sample;	/* scan index of data's first scan */
	size_t samples;		/* scans in this block */
	/* Scans lost between the previous delivered block and this one (for
	 * the first block: since the stream started, or since this host
	 * joined it). In shard mode: the loss the server attributed to this
	 * shard, so that over all shards every lost scan counts once. */
	uint64_t lost_samples;
	/* Host CLOCK_MONOTONIC in ns; landed_ns - ready_ns is the pull latency. */
	uint64_t ready_ns;	/* its READY notification was decoded */
	uint64_t landed_ns;	/* its READ completed: data whole in host memory */
	/* Shard mode: another shard had been told of this block and went
	 * away before releasing it; it may have processed it already. The
	 * data is whole. Its seq may be older than blocks delivered before. */
	bool redelivered;
};

struct iiofab_stream_stats {
	/* Delivered: landed whole and queued for iiofab_stream_next(), so
	 * these also count blocks the application has not taken yet. */
	uint64_t blocks;
	uint64_t samples;		/* delivered scans */
	uint64_t bytes;			/* delivered bytes */
	uint64_t lost_samples;		/* sum of lost_samples delivered so far */
	uint64_t torn_blocks;		/* read but overwritten: discarded */
	uint64_t stale_blocks;		/* reclaimed by the server before read */
	uint64_t skipped_blocks;	/* given back unread to catch up after
					 * an overrun (counted in lost_samples) */
	uint64_t reads;			/* RDMA READs of blocks completed */
	uint64_t redelivered_blocks;	/* delivered with redelivered set */
	uint64_t releases_sent;		/* RELEASE messages */
	/* Output streams: blocks, samples and bytes above count what was
	 * submitted; these what came back. */
	uint64_t consumed_blocks;	/* submitted blocks the converter consumed */
	uint64_t submits_sent;		/* SUBMIT messages */
	/* Scans the converter had no data for while the stream ran (as the
	 * server last reported them; the dry tail after a drain is not one). */
	uint64_t underruns;
};

/*
 * Opens an ADC stream on dev. channels is a NULL-terminated list of channel
 * ids or names (NULL = every scannable input channel). block_size is in bytes,
 * a multiple of the page size and of the scan size; block_count is 1..256.
 * At most one stream per context. The stream is idle until started.
 */
int iiofab_stream_open(struct iiofab_ctx *ctx, const struct iiofab_device *dev,
		       const char *const *channels, size_t block_size,
		       unsigned int block_count, struct iiofab_stream **out);
/* The same with a mask of scan indices (bit n = scan index n). */
int iiofab_stream_open_mask(struct iiofab_ctx *ctx,
			    const struct iiofab_device *dev,
			    uint64_t channel_mask, size_t block_size,
			    unsigned int block_count,
			    struct iiofab_stream **out);

/*
 * How hosts share one ADC stream. EXCLUSIVE: one host (what the other
 * open calls do; a second open is refused with EBUSY). FANOUT: every host
 * gets every block completed after it started; a block goes back to the
 * converter when every host released it, and a slow host loses blocks
 * alone. SHARD: each block goes to exactly one host, one with room, so a
 * slower host gets fewer blocks; a shard's block stays the server's until
 * the application releases it (in the other modes it goes back as soon as
 * its data has landed), so blocks a host left unreleased when it went away
 * go to another one, marked redelivered.
 */
enum iiofab_stream_mode {
	IIOFAB_STREAM_EXCLUSIVE = 0,
	IIOFAB_STREAM_FANOUT = 1,
	IIOFAB_STREAM_SHARD = 2,
};

/*
 * Opens an ADC stream in mode. A FANOUT or SHARD open of the same device
 * and channels in the same mode joins the stream in force, in its block
 * size and count (iiofab_stream_get_block_size() and _count() tell them;
 * block_size and block_count here only apply to a new stream). An open
 * that conflicts with the stream in force (another mode, other channels,
 * an exclusive stream) fails with EBUSY, and the server's reason,
 * naming what holds the device, goes to the context's log.
 */
int iiofab_stream_open_mode(struct iiofab_ctx *ctx,
			    const struct iiofab_device *dev,
			    uint64_t channel_mask, size_t block_size,
			    unsigned int block_count, enum iiofab_stream_mode mode,
			    struct iiofab_stream **out);
/*
 * Opens a DAC stream: the same arguments, for output channels. The
 * application fills blocks it gets from iiofab_stream_get_free() and hands
 * them over with iiofab_stream_submit().
 */
int iiofab_stream_open_output(struct iiofab_ctx *ctx,
			      const struct iiofab_device *dev,
			      const char *const *channels, size_t block_size,
			      unsigned int block_count,
			      struct iiofab_stream **out);
int iiofab_stream_open_output_mask(struct iiofab_ctx *ctx,
				   const struct iiofab_device *dev,
				   uint64_t channel_mask, size_t block_size,
				   unsigned int block_count,
				   struct iiofab_stream **out);
int iiofab_stream_start(struct iiofab_stream *stream);
/*
 * Stops and closes the stream; blocks still held become invalid. An output
 * stream first drains: it returns after the converter consumed every
 * submitted block (a cyclic block is stopped, not waited for). RDMA
 * transfers in flight finish first, within the op timeout; once the
 * connection has failed they are flushed instead (within about a second),
 * and the context keeps reporting its error. NULL ok.
 */
void iiofab_stream_close(struct iiofab_stream *stream);

/*
 * Waits up to timeout_ms (0 = do not wait, < 0 = the context's op timeout)
 * for the next block. Returns 0 and sets *out, -EAGAIN when nothing arrived
 * in time with timeout 0, -ETIMEDOUT after a longer wait, or another error
 * when the stream or the connection failed (a failure the server reports
 * on the stream comes as the errno of its status, -EIO when the status is
 * unknown). Blocks come in sequence order.
 */
int iiofab_stream_next(struct iiofab_stream *stream, int timeout_ms,
		       struct iiofab_block **out);
/* Gives the block's landing slot back so the library can read into it. */
int iiofab_block_release(struct iiofab_stream *stream,
			 struct iiofab_block *block);

/* ---- DAC streams ----------------------------------------------------- */

/* The block repeats until the stream stops or another cyclic block
 * replaces it; the switch happens at the end of a repetition. */
#define IIOFAB_SUBMIT_CYCLIC 0x1u

/*
 * Waits up to timeout_ms (as iiofab_stream_next) for a block the converter
 * is done with. Returns its index (>= 0) and points *data at its
 * block-size bytes of registered memory, which the application fills with
 * interleaved scans of the enabled channels in the converter's format.
 */
int iiofab_stream_get_free(struct iiofab_stream *stream, int timeout_ms,
			   void **data);
/*
 * Hands block (from iiofab_stream_get_free) to the converter: its first
 * bytes (whole scans, 1..block size) are RDMA-written to the board and
 * queued behind the blocks submitted before. flags: IIOFAB_SUBMIT_CYCLIC.
 */
int iiofab_stream_submit(struct iiofab_stream *stream, int block,
			 size_t bytes, unsigned int flags);
/*
 * The converter starts (its buffer is enabled) with the first SUBMIT the
 * server receives; by default that is the first block submitted, so the
 * converter runs one block ahead of the link from the start, and a link
 * that stalls for longer (a lost packet on soft-RoCE costs an ACK timeout,
 * about 0.5 s) underruns it. With a prefill of blocks (1..block count,
 * default 1) submitted blocks are RDMA-written at once but announced only
 * when that many are on the board, in one SUBMIT, and the converter starts
 * with all of them queued. The prefill ends early, sending what is held,
 * when the application waits in iiofab_stream_get_free() with no free block
 * in hand, drains, closes, or submits a cyclic block. Returns 0, -EINVAL
 * (not an output stream, blocks out of range) or -EBUSY (already started
 * playing).
 */
int iiofab_stream_set_prefill(struct iiofab_stream *stream, unsigned int blocks);
/*
 * Waits until the converter consumed every submitted block (except a
 * cyclic one that is still repeating). timeout_ms (< 0: the op timeout)
 * bounds the wait for each next block, not the whole drain.
 */
int iiofab_stream_drain(struct iiofab_stream *stream, int timeout_ms);

/*
 * A file descriptor that becomes readable when iiofab_stream_next() or
 * iiofab_stream_get_free() may make progress (completions or connection
 * events). Poll it, then call
 * iiofab_stream_next() with timeout 0 until -EAGAIN. Owned by the context.
 */
int iiofab_stream_fd(const struct iiofab_stream *stream);

/*
 * Milliseconds since the connection last showed the server alive: a
 * message received, or a transfer or message of ours acknowledged by its
 * NIC. An application that runs its own loop on iiofab_stream_fd() bounds
 * its waits by this, as the library's own waits do (op_timeout_ms of
 * silence): a lossy link slows a stream without failing it.
 */
unsigned int iiofab_stream_get_quiet_ms(const struct iiofab_stream *stream);

size_t iiofab_stream_get_scan_bytes(const struct iiofab_stream *stream);
size_t iiofab_stream_get_block_size(const struct iiofab_stream *stream);
unsigned int iiofab_stream_get_block_count(const struct iiofab_stream *stream);
enum iiofab_stream_mode iiofab_stream_get_mode(const struct iiofab_stream *stream);
unsigned int iiofab_stream_get_channels_count(const struct iiofab_stream *stream);
/* Enabled channels in scan order. */
const struct iiofab_channel *
iiofab_stream_get_channel(const struct iiofab_stream *stream,
			  unsigned int index);
/* Byte offset of enabled channel index (scan order) inside each scan. */
size_t iiofab_stream_get_channel_offset(const struct iiofab_stream *stream,
					unsigned int index);
/*
 * The server's registration path for this stream's memory, in the words
 * `iiofab stat` prints: "dmabuf-mr" (one dmabuf MR per block) or
 * "memfd-mr" (one MR over the memfd behind the blocks).
 */
const char *iiofab_stream_get_reg_path(const struct iiofab_stream *stream);
int iiofab_stream_stats(const struct iiofab_stream *stream,
			struct iiofab_stream_stats *stats);

#ifdef __cplusplus
}
#endif

#endif /* IIOFAB_H */
