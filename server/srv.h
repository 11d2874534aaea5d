/* SPDX-License-Identifier: MIT */
/*
 * iiofabd's core objects: the server, its client connections and its
 * streams. server.c owns the server and the rdma_cm listener, conn.c a
 * client's verbs resources and the control protocol, stream.c the streams
 * and their subscribers.
 *
 * Lifetimes: a client owns its PD, CQ, QP, control buffers and one
 * subscription per stream it joined; a subscription owns that client's MRs
 * over the stream's arena. A stream lives while it has subscribers. A client
 * is never freed inside a callback: srv_client_kill() marks it, and the
 * server reaps it between loop iterations (QP to error, drain, release holds,
 * deregister, destroy).
 */
#ifndef IIOFAB_SRV_H
#define IIOFAB_SRV_H

#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include <iiofab/wire.h>

#include "srv_iio.h"
#include "srv_log.h"
#include "srv_reg.h"

struct rdma_cm_id;
struct rdma_event_channel;
struct ibv_pd;
struct ibv_mr;
struct ibv_cq;
struct ibv_qp;
struct ibv_comp_channel;
struct srv_loop;
struct srv_watch;
struct srv_arena;
struct srv_client;
struct srv_stream;

#define SRV_PSK_MAX	1024
#define SRV_PSK_MIN	16
#define SRV_CTRL_SIZE	IIOFAB_WIRE_MAX_MSG
#define SRV_N_RECV	128
#define SRV_N_SEND	64
#define SRV_HANDSHAKE_MS 30000	/* generous: a client under valgrind on an emulated host is slow */
/*
 * A client with a stream and nothing sent to it for this long gets a
 * KEEPALIVE event: RC retries then notice a host that vanished without a
 * disconnect (power loss, cable), which would otherwise keep a cyclic DAC
 * waveform playing and the device locked forever.
 */
#define SRV_KEEPALIVE_MS 3000
#define SRV_ACK_TIMEOUT	18	/* IB local ACK timeout exponent, see conn.c */
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
	enum srv_reg_path reg_last;
};

struct srv_config {
	const char *listen_addr;	/* NULL: any */
	const char *listen_port;
	uint8_t psk[SRV_PSK_MAX];
	size_t psk_len;			/* 0: no key */
	bool insecure;
	enum srv_log_level log_level;
};

struct srv {
	struct srv_log log;
	const struct srv_config *cfg;
	struct srv_loop *loop;
	struct srv_iio *iio;
	const struct srv_verbs_ops *verbs;
	struct rdma_event_channel *cm_ch;
	struct rdma_cm_id *listen_id;
	struct srv_watch *cm_watch;
	struct srv_watch *sig_watch;
	struct srv_watch *timer_watch;
	int sigfd;
	int timerfd;
	bool timer_on;
	bool stopping;
	struct srv_client *clients;
	struct srv_stream *streams;
	uint32_t next_stream_id;
	uint64_t next_client_id;
	struct timespec started;
	struct srv_stats stats;
	union iiofab_wire_msg *msg;	/* decode scratch, too big for the stack */
	union iiofab_wire_msg *check;	/* debug self-check of outgoing messages */
};

enum srv_client_state {
	SRV_CL_HELLO,		/* waiting for HELLO */
	SRV_CL_AUTH,		/* CHALLENGE sent, waiting for AUTH */
	SRV_CL_READY,		/* WELCOME sent */
};

/*
 * One client's membership in a stream (exclusive today; fan-out later).
 * The pending ring queues READY entries (ADC) or FREE credits (DAC).
 */
struct srv_sub {
	struct srv_stream *st;
	struct srv_client *cl;
	struct srv_sub *st_next;	/* in the stream's list */
	struct srv_sub *cl_next;	/* in the client's list */
	struct srv_reg *reg;
	uint8_t *held;			/* per block: holds the current generation */
	uint32_t *pending;		/* ring of blocks awaiting READY or FREE */
	uint64_t *pending_gen;
	unsigned int p_head, p_len;
};

struct srv_client {
	struct srv *srv;
	struct srv_client *next;
	uint64_t cid;
	char peer[64];
	char name[64];
	struct rdma_cm_id *id;
	struct ibv_pd *pd;
	struct ibv_comp_channel *ch;
	struct ibv_cq *cq;
	struct ibv_qp *qp;
	struct srv_watch *cq_watch;
	uint8_t *bufs;			/* SRV_N_RECV recv slots, then SRV_N_SEND send slots */
	struct ibv_mr *buf_mr;
	unsigned int send_free[SRV_N_SEND];
	unsigned int n_send_free;
	unsigned int posted_recv;
	unsigned int posted_send;
	enum srv_client_state state;
	bool dying;
	bool close_after_send;		/* fatal reply queued: disconnect once sent */
	bool established;
	uint8_t client_nonce[IIOFAB_WIRE_NONCE_SIZE];
	uint8_t server_nonce[IIOFAB_WIRE_NONCE_SIZE];
	struct timespec deadline;	/* handshake */
	struct timespec last_send;	/* CLOCK_MONOTONIC of the last message posted */
	struct timespec last_ack;	/* ... of the last send completion */
	struct timespec first_unacked;	/* ... of the post that made sends pending */
	struct srv_sub *subs;
};

/* HELD: ADC, announced and not yet released; DAC, granted to the client. */
enum srv_block_state {
	SRV_BLK_IDLE,
	SRV_BLK_QUEUED,
	SRV_BLK_HELD,
};

struct srv_block {
	struct srv_stream *st;
	unsigned int idx;
	enum srv_block_state state;
	unsigned int holders;
	uint32_t epoch;
	uint64_t gap;			/* scans the converter dropped before it */
	uint64_t enq_seq;		/* enqueue order */
	uint64_t seq;
	uint64_t first_sample;
	uint64_t ts_ns;
	uint32_t bytes_used;		/* DAC: as submitted */
	bool cyclic;			/* DAC: repeats until replaced */
	struct srv_watch *watch;
};

struct srv_stream {
	struct srv *srv;
	struct srv_stream *next;
	uint32_t id;
	const struct iio_device *dev;
	bool output;			/* DAC */
	uint8_t mode;
	int buf_fd;
	int counter_fd;			/* sysfs overruns/underruns, or -errno */
	struct srv_arena *arena;
	struct srv_scan scan;
	uint32_t block_size;
	uint32_t count;
	uint64_t *gen;			/* page-aligned, count words */
	size_t gen_len;
	bool started;
	uint32_t epoch;			/* bumped on STOP: stale fences are not data */
	unsigned int queued;
	unsigned int spare;		/* reclaim below this many queued blocks */
	int last_enq;			/* block enqueued last, -1 after START */
	uint64_t enq_counter;
	uint64_t suspect_until;		/* blocks enqueued up to here may hold a hole */
	bool has_overruns;		/* the driver counts dropped scans */
	bool drops_seen;		/* ... and it dropped some since START */
	uint64_t overruns_seen;
	uint64_t next_seq;
	uint64_t next_sample;
	/* DAC: the buffer runs from the first submit after START. */
	bool enabled;
	bool has_underruns;		/* the driver counts underruns */
	uint64_t underruns_base;	/* the driver's count at enable */
	uint64_t underruns;		/* since enable, as last reported */
	struct srv_sub *subs;
	unsigned int n_subs;
	struct srv_block blocks[];
};

/* server.c */
int srv_run(const struct srv_config *cfg);
void srv_timer_update(struct srv *srv);

/* conn.c */
int srv_crypto_warmup(const struct srv_config *cfg);
int srv_client_accept(struct srv *srv, struct rdma_cm_id *id,
		      const void *conn_param);
void srv_client_kill(struct srv_client *cl, const char *why);
void srv_client_reap(struct srv_client *cl);
void srv_client_check_deadline(struct srv_client *cl, const struct timespec *now);
/* Sends a KEEPALIVE when the client has a stream and has heard nothing lately. */
void srv_client_keepalive(struct srv_client *cl, const struct timespec *now);
/* A send slot's buffer, or NULL when all are in flight. */
void *srv_client_send_slot(struct srv_client *cl, unsigned int *slot);
int srv_client_send_post(struct srv_client *cl, unsigned int slot, int len);
void srv_client_send_error(struct srv_client *cl, uint32_t req_id, int err,
			   const char *fmt, ...) __attribute__((format(printf, 4, 5)));
void srv_client_send_ok(struct srv_client *cl, uint32_t req_id, uint32_t value);

/* stream.c */
void srv_stream_open(struct srv_client *cl, uint32_t req_id,
		     const struct iiofab_msg_open_stream *m);
void srv_stream_ctl(struct srv_client *cl, uint32_t req_id, uint16_t type,
		    uint32_t stream_id);
void srv_stream_release(struct srv_client *cl, uint32_t req_id,
			const struct iiofab_msg_release *m);
void srv_stream_submit(struct srv_client *cl, uint32_t req_id,
		       const struct iiofab_msg_submit *m);
struct srv_sub *srv_sub_find(struct srv_client *cl, uint32_t stream_id);
void srv_stream_event(struct srv_stream *st, uint32_t event, uint64_t value);
/* The stream's drop counter (ADC overruns, DAC underruns); false when none. */
bool srv_stream_read_counter(struct srv_stream *st, uint64_t *val);

/* dac.c: output streams, driven from stream.c by direction. */
void srv_dac_block_done(struct srv_watch *w, int res);
void srv_dac_start(struct srv_stream *st);
/* Up to IIOFAB_WIRE_MAX_FREE pending credits into buf: its length, or 0. */
int srv_dac_encode_free(struct srv_sub *sub, void *buf);
/* Client leaving: drops its holds, its MRs and streams left without subscribers. */
void srv_sub_remove(struct srv_sub *sub);
/* Sends queued READY messages while send slots are free. */
void srv_sub_flush(struct srv_sub *sub);

static inline uint64_t srv_ts_ns(const struct timespec *ts)
{
	return (uint64_t)ts->tv_sec * 1000000000ull + (uint64_t)ts->tv_nsec;
}

#endif
