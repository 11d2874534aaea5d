/* SPDX-License-Identifier: MIT */
/*
 * What every room of iiofabd shares: its configuration, its counters and
 * the server context that holds them. The rooms, from the bottom up:
 *
 *   loop.c      the io_uring loop (one-shot polls)
 *   iio.c       libiio: discovery, attributes, scan layout, buffer fd, counters
 *   arena.c     a stream's memory: sealed memfd, one udmabuf per block
 *   reg.c       RDMA registration of an arena, behind a verbs ops table
 *   conv.c      a converter's buffer behind an ops table (enqueue, fence
 *               polls, drop counter, enable) over iio.c, arena.c, loop.c
 *   xport.c     a client's verbs transport: PD, CQ, QP, control slots,
 *               flush and teardown; no message types
 *   ring.c      the ring of blocks awaiting READY or FREE
 *   stream.c    stream and subscriber life, the block table, generations,
 *               sending, with a direction ops table chosen at open
 *   adc.c       input streams: READY, RELEASE, gaps, withheld blocks, reclaim
 *   dac.c       output streams: FREE credits, SUBMIT, cyclic blocks, underruns
 *   reply.c     encoding and sending replies (OK, ERROR, any message)
 *   handshake.c HELLO, CHALLENGE, AUTH, WELCOME
 *   query.c     LIST, DEVICE_INFO, ATTR_READ/WRITE, STATS
 *   request.c   OPEN_STREAM, START/STOP/CLOSE, RELEASE, SUBMIT
 *   proto.c     a client session: decode once, dispatch, keepalive, teardown
 *   server.c    the listener, signals, the one timer, reaping
 *   main.c      options, key file, RLIMIT_MEMLOCK
 *
 * Calls only go down this list (or up through callbacks and ops tables the
 * lower room was given).
 */
#ifndef IIOFAB_SRV_H
#define IIOFAB_SRV_H

#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include <iiofab/auth.h>
#include <iiofab/log.h>
#include <iiofab/wire.h>

#define SRV_CTRL_SIZE	IIOFAB_WIRE_MAX_MSG
#define SRV_HANDSHAKE_MS 30000	/* generous: a client under valgrind on an emulated host is slow */
#define SRV_TICK_MS 1000	/* the clock of keepalives and deadlines */
/*
 * A client with a stream and nothing sent to it for this long gets a
 * KEEPALIVE event: RC retries then notice a host that vanished without a
 * disconnect (power loss, cable), which would otherwise keep a cyclic DAC
 * waveform playing and the device locked forever.
 */
#define SRV_KEEPALIVE_MS 3000
#define SRV_PEER_DEAD_MS 15000	/* a send unacknowledged this long: the host is gone */
#define SRV_STR_(x) #x
#define SRV_STR(x) SRV_STR_(x)

struct srv_stats {
	uint64_t clients_total;
	uint64_t clients_now;
	uint64_t auth_failures;
	uint64_t bad_messages;
	uint64_t streams_total;
	uint64_t streams_now;
	uint64_t blocks_completed;
	uint64_t blocks_reclaimed;	/* overrun: taken back from a subscriber */
	uint64_t samples_reclaimed;
	uint64_t blocks_released;
	uint64_t stale_releases;	/* RELEASE after a reclaim: ignored */
	uint64_t dry_windows;		/* IIO ran out of queued blocks */
	uint64_t converter_overruns;	/* scans the converter dropped */
	uint64_t blocks_withheld;	/* completed with a hole: never announced */
	uint64_t samples_withheld;
	uint64_t ready_messages;
	uint64_t test_tears;		/* --test-tear-every: blocks reused under a READ */
	uint64_t dac_blocks_submitted;	/* DAC: blocks handed to IIO for clients */
	uint64_t dac_bytes_submitted;
	uint64_t dac_cyclic_submits;
	uint64_t dac_blocks_consumed;	/* DAC: fences signalled, credit returned */
	uint64_t dac_submits_refused;
	uint64_t dac_underruns;		/* DAC: scans the converter had no data for */
	uint64_t free_messages;
	uint64_t reg_dmabuf;		/* registrations per path */
	uint64_t reg_memfd;
	bool reg_any;
	unsigned int reg_last;		/* enum iiofab_wire_reg_path */
};

struct srv_config {
	const char *listen_addr;	/* NULL: any */
	const char *listen_port;
	struct iiofab_key psk;		/* len 0: no key */
	bool insecure;
	unsigned int test_tear_every;	/* 0: off */
	struct iiofab_logger log;
};

/* server.c: serves until SIGINT/SIGTERM; 0 after a clean shutdown. */
int srv_run(const struct srv_config *cfg);

#endif
