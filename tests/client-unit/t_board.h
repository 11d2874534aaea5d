/* SPDX-License-Identifier: MIT */
/*
 * The board end of a fake connection: a scripted iiofabd that answers the
 * control protocol (handshake without a key, a fixed device table, one
 * stream at a time), exposes its stream's arena and generation table to
 * RDMA through the fake transport, and records what the library sent. The
 * test plays the converter and the server's stream logic by hand: it
 * announces blocks (READY), grants credits (FREE), reports events, and
 * reclaims blocks under a READ.
 *
 * struct t_env is one library context connected to such a board through
 * the real iiofab_connect(), with its log counted.
 */
#ifndef T_BOARD_H
#define T_BOARD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <iiofab/wire.h>

#include "iiofab.h"
#include "t_fake_transport.h"

#define T_ADC_CHANNELS 4	/* iio:device0, 16-bit inputs voltage0..3 */
#define T_DAC_CHANNELS 2	/* iio:device1, 16-bit outputs voltage0..1 */
#define T_STREAM_ID 0x51u
#define T_ARENA_ADDR 0x7e0000000000ull	/* block i at + i * block size */
#define T_ARENA_RKEY 0xa000u		/* block i: + i (a dmabuf MR each) */
#define T_GEN_ADDR 0x7f0000000000ull
#define T_GEN_RKEY 0x6e6u
#define T_MAX_LOG 1024

/* A control message the board received, and when. */
struct t_sent {
	uint16_t type;
	unsigned int post;	/* its posting in the fake transport */
	unsigned int waits;	/* waits the library had made by then */
};

struct t_board {
	struct t_peer peer;
	union iiofab_wire_msg *in;	/* what the library sent, decoded */
	union iiofab_wire_msg *out;	/* what the board sends, before encoding */
	uint8_t *wire;			/* encode buffer */

	/* The open stream (stream_id 0 when none). */
	uint32_t stream_id;
	bool output, started;
	unsigned int block_count;
	size_t block_size, scan_bytes;
	unsigned int n_channels;
	uint8_t *mem;			/* block_count * block_size, the arena */
	uint64_t *gen;			/* per block, exposed at T_GEN_ADDR */
	/* Where the last entry made ended: the next one's loss, as iiofabd
	 * reports it to a subscriber that sees every block. */
	uint64_t announced_until;
	unsigned int opens;
	struct iiofab_msg_open_stream last_open;	/* its device: below */
	char last_open_device[IIOFAB_WIRE_MAX_NAME + 1];

	/* Answers: refuse[type] != 0 answers that request with ERROR(refuse). */
	int32_t refuse[IIOFAB_MSG_TYPE_MAX + 1];
	/* STREAM_INFO with this block count instead of the requested one. */
	uint32_t info_block_count;
	/* START of an output stream grants every block (FREE after the OK);
	 * with ready_on_start, start_ready goes out before the OK, so it
	 * arrives while the library waits for its reply. */
	struct iiofab_wire_ready_entry start_ready;
	bool ready_on_start;

	/* What the library sent. */
	struct t_sent log[T_MAX_LOG];
	unsigned int n_log;
	struct iiofab_wire_release_entry released[T_MAX_LOG];
	unsigned int n_released, release_msgs, stale_releases;
	unsigned int release_sizes[T_MAX_LOG];	/* entries per RELEASE */
	struct iiofab_wire_submit_entry submitted[T_MAX_LOG];
	unsigned int n_submitted, submit_msgs;
	unsigned int submit_sizes[T_MAX_LOG];

	/* What the board does while the library waits (NULL: nothing). */
	void (*on_wait)(struct t_board *b, void *arg);
	void *wait_arg;
};

struct t_env {
	struct t_board board;
	struct iiofab_ctx *ctx;
	struct transport *xp;
	const struct iiofab_device *adc, *dac;
	struct iiofab_stream *s;
	unsigned int n_log[5];		/* messages per level */
	char last[5][512];		/* the last one of each level */
};

/* The value the converter writes for channel ch of scan number scan. */
static inline uint16_t t_sample(uint64_t scan, unsigned int ch)
{
	return (uint16_t)(scan * 37u + ch * 5u + 1u);
}

/* The board's timestamp of block seq. */
static inline uint64_t t_stamp(uint64_t seq)
{
	return 1700000000000000000ull + seq * 1000003ull;
}

/* ---- the environment ---------------------------------------------------- */

/* Connects a context to a fresh board (handshake and device table). */
void t_env_connect(struct t_env *e);
/* Opens a stream on every channel of the ADC (output: the DAC), started. */
void t_env_open(struct t_env *e, bool output, size_t block_size, unsigned int count);
/* Closes the stream, disconnects and checks nothing was left behind. */
void t_env_fini(struct t_env *e);

/* ---- the board's part ------------------------------------------------------ */

/*
 * The converter fills block with the scans from first_sample on (bytes of
 * them), and the server announces it: READY with the block's generation,
 * seq, and t_stamp(seq).
 */
void t_board_ready(struct t_board *b, uint32_t block, uint64_t seq,
		   uint64_t first_sample, uint32_t bytes);
/* One READY message with these entries, as they are. */
void t_board_ready_msg(struct t_board *b, const struct iiofab_wire_ready_entry *e,
		       unsigned int n);
/* The entry t_board_ready() would send, without sending it. */
struct iiofab_wire_ready_entry t_board_entry(struct t_board *b, uint32_t block,
					     uint64_t seq, uint64_t first_sample,
					     uint32_t bytes);
/* The server takes block back under the client (overrun): a new
 * generation, and the converter starts overwriting it. */
void t_board_reclaim(struct t_board *b, uint32_t block);
void t_board_free(struct t_board *b, const uint32_t *blocks, unsigned int n);
void t_board_event(struct t_board *b, uint32_t stream_id, uint32_t event, uint64_t value);
/* Any message, encoded and delivered. */
void t_board_send(struct t_board *b, uint16_t type, uint32_t request_id,
		  const union iiofab_wire_msg *m);

/*
 * The oldest posting must be the READ of bytes of block into landing slot
 * (any slot when NULL), chained with the READ of the block's generation.
 */
struct t_post *t_board_expect_read(struct t_env *e, uint32_t block, const void *slot,
				   uint32_t bytes);
/* The posting must be the WRITE of bytes of slot into block. */
void t_board_expect_write(struct t_env *e, const struct t_post *p, uint32_t block,
			  const void *slot, uint32_t bytes);
/* data holds the converter's scans from first_sample on. */
void t_check_scans(const void *data, size_t bytes, uint64_t first_sample,
		   unsigned int n_channels);
/* ---- the library's side, as a test drives it -------------------------- */

/* iiofab_stream_next() without waiting must give a block. */
struct iiofab_block *t_next(struct t_env *e);
/* iiofab_stream_next() without waiting must say -EAGAIN. */
void t_no_block(struct t_env *e);
/* Completes the oldest posting, the READ pair of block; returns its slot. */
void *t_read_done(struct t_env *e, uint32_t block, uint32_t bytes);
/* blk is READY seq's block as t_board_ready() announced it, lost after a gap. */
void t_check_block(const struct t_env *e, const struct iiofab_block *blk, uint64_t seq,
		   uint64_t first_sample, size_t bytes, uint64_t lost);

/* Control messages of type the board received. */
unsigned int t_board_count(const struct t_board *b, uint16_t type);
/* The index in b->log of the n-th (from 0) message of type; fails if none. */
unsigned int t_board_find(const struct t_board *b, uint16_t type, unsigned int n);

#endif
