// SPDX-License-Identifier: MIT
/*
 * Streams and their subscribers; the ADC side in full (dac.c has the
 * DAC's block cycle).
 *
 * A block is QUEUED (IIO owns it), HELD (completed, announced with READY,
 * at least one subscriber has not released it) or IDLE (stopped). The
 * generation word of a block changes every time the block goes back to IIO,
 * so a client that READs a block and then its generation knows whether the
 * converter may have written into it meanwhile.
 */
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>
#include <infiniband/verbs.h>

#include "srv.h"
#include "srv_arena.h"
#include "srv_loop.h"

struct srv_sub *srv_sub_find(struct srv_client *cl, uint32_t stream_id)
{
	for (struct srv_sub *sub = cl->subs; sub; sub = sub->cl_next)
		if (sub->st->id == stream_id)
			return sub;
	return NULL;
}

void srv_stream_event(struct srv_stream *st, uint32_t event, uint64_t value)
{
	for (struct srv_sub *sub = st->subs; sub; sub = sub->st_next) {
		struct iiofab_msg_stream_event m = {
			.stream_id = st->id, .event = event, .value = value,
		};
		unsigned int slot;
		void *buf = srv_client_send_slot(sub->cl, &slot);

		if (buf)
			(void)srv_client_send_post(sub->cl, slot,
				iiofab_wire_encode_stream_event(buf, SRV_CTRL_SIZE, 0, &m));
	}
}

static void block_done(struct srv_watch *w, int res);

/*
 * The converter's count of scans it had to drop (ADC) or had no data for
 * (DAC), where the driver has one.
 */
bool srv_stream_read_counter(struct srv_stream *st, uint64_t *val)
{
	return st->counter_fd >= 0 && srv_iio_counter_read(st->counter_fd, val) == 0;
}

static bool fd_idle(int fd)
{
	struct pollfd p = { .fd = fd, .events = POLLOUT };

	return poll(&p, 1, 0) == 1 && (p.revents & POLLOUT);
}

/* True when the block queued before blk has completed (IIO may be dry). */
static bool prev_done(const struct srv_block *blk)
{
	const struct srv_stream *st = blk->st;

	if (st->last_enq < 0)
		return false;
	if ((unsigned int)st->last_enq == blk->idx ||
	    st->blocks[st->last_enq].state != SRV_BLK_QUEUED)
		return true;
	return fd_idle(st->arena->dmabuf[st->last_enq]);
}

/*
 * A converter drops scans only while IIO has no block queued, and such a
 * window can only precede a block whose predecessor (in enqueue order) had
 * completed by the time the block was queued. The driver's count of
 * dropped scans then tells the window's size, and those scans go before
 * the block's first_sample, so clients see an exact gap. Our own count of
 * queued blocks lags the hardware, hence the fence polls.
 *
 * The count read after the enqueue is exact while the new block has not
 * completed (nothing can be dropped behind a queued block); if it already
 * has, drops after it may be in the count too, so the count read before
 * the enqueue is used and the rest goes with the next window.
 */
static void block_gap_before(struct srv_block *blk, bool *dry, uint64_t *pre)
{
	struct srv_stream *st = blk->st;

	*dry = st->has_overruns && prev_done(blk);
	if (*dry && !srv_stream_read_counter(st, pre))
		*dry = false;
}

static void block_gap_after(struct srv_block *blk, bool dry, uint64_t pre)
{
	struct srv_stream *st = blk->st;
	uint64_t now = st->overruns_seen;

	blk->gap = 0;
	if (!st->has_overruns)
		return;
	if (!dry && !prev_done(blk))
		return;
	if (srv_stream_read_counter(st, &now) && fd_idle(st->arena->dmabuf[blk->idx]))
		now = dry ? pre : st->overruns_seen;
	if (now <= st->overruns_seen)
		return;
	blk->gap = now - st->overruns_seen;
	st->overruns_seen = now;
	st->drops_seen = true;
	st->srv->stats.dry_windows++;
	st->srv->stats.converter_overruns += blk->gap;
	srv_dbg(&st->srv->log, "stream %u: converter dropped %llu scan(s) before block %u",
		st->id, (unsigned long long)blk->gap, blk->idx);
}

/* Hands a block back to IIO; its generation changes first. */
static int block_enqueue(struct srv_block *blk)
{
	struct srv_stream *st = blk->st;
	struct srv *srv = st->srv;
	uint64_t pre = 0;
	bool dry;
	int err;

	st->gen[blk->idx]++;
	block_gap_before(blk, &dry, &pre);
	err = srv_arena_enqueue(st->arena, blk->idx, st->block_size, 0);
	if (err < 0) {
		srv_err(&srv->log, "stream %u: enqueue of block %u failed: %s",
			st->id, blk->idx, strerror(-err));
		blk->state = SRV_BLK_IDLE;
		srv_stream_event(st, IIOFAB_WIRE_EVENT_ERROR, (uint64_t)-err);
		return err;
	}
	blk->state = SRV_BLK_QUEUED;
	blk->epoch = st->epoch;
	blk->enq_seq = ++st->enq_counter;
	st->queued++;
	block_gap_after(blk, dry, pre);
	st->last_enq = (int)blk->idx;
	/* Armed after the enqueue: armed before, it would fire at once. */
	err = srv_watch_arm(srv->loop, blk->watch);
	if (err < 0)
		srv_err(&srv->log, "stream %u: cannot watch block %u: %s",
			st->id, blk->idx, strerror(-err));
	return err;
}

/*
 * Overrun: the converter must not starve, so the oldest held block goes
 * back (never the one just announced: with one or two blocks that would
 * lose everything). Returns false when there is nothing to take.
 */
static bool stream_reclaim_oldest(struct srv_stream *st, const struct srv_block *keep)
{
	struct srv_block *old = NULL;

	for (unsigned int i = 0; i < st->count; i++) {
		struct srv_block *blk = &st->blocks[i];

		if (blk != keep && blk->state == SRV_BLK_HELD && (!old || blk->seq < old->seq))
			old = blk;
	}
	if (!old)
		return false;
	for (struct srv_sub *sub = st->subs; sub; sub = sub->st_next)
		sub->held[old->idx] = 0;
	old->holders = 0;
	st->srv->stats.blocks_reclaimed++;
	st->srv->stats.samples_reclaimed += st->block_size / st->scan.scan_bytes;
	srv_dbg(&st->srv->log, "stream %u: overrun, reclaimed block %u (seq %llu)",
		st->id, old->idx, (unsigned long long)old->seq);
	return block_enqueue(old) == 0;
}

static void sub_push(struct srv_sub *sub, unsigned int blk, uint64_t gen)
{
	unsigned int n = sub->st->count;
	unsigned int at = (sub->p_head + sub->p_len) % n;

	/* A block is pending at most once per generation, so n slots suffice. */
	if (sub->p_len == n)
		return;
	sub->pending[at] = blk;
	sub->pending_gen[at] = gen;
	sub->p_len++;
}

/* Up to IIOFAB_WIRE_MAX_READY pending READY entries into buf: its length, or 0. */
static int encode_ready(struct srv_sub *sub, void *buf)
{
	struct srv_stream *st = sub->st;
	struct iiofab_msg_ready m = { .stream_id = st->id };

	while (sub->p_len && m.count < IIOFAB_WIRE_MAX_READY) {
		unsigned int b = sub->pending[sub->p_head];
		uint64_t gen = sub->pending_gen[sub->p_head];
		struct srv_block *blk = &st->blocks[b];

		sub->p_head = (sub->p_head + 1) % st->count;
		sub->p_len--;
		/* Reclaimed before it was announced: the gap tells the client. */
		if (gen != st->gen[b] || !sub->held[b])
			continue;
		m.entries[m.count++] = (struct iiofab_wire_ready_entry){
			.block = b,
			.bytes_used = st->block_size,
			.generation = gen,
			.seq = blk->seq,
			.first_sample = blk->first_sample,
			.timestamp_ns = blk->ts_ns,
		};
	}
	return m.count ? iiofab_wire_encode_ready(buf, SRV_CTRL_SIZE, 0, &m) : 0;
}

void srv_sub_flush(struct srv_sub *sub)
{
	struct srv_stats *stats = &sub->st->srv->stats;

	while (sub->p_len) {
		unsigned int slot;
		void *buf = srv_client_send_slot(sub->cl, &slot);
		int len;

		if (!buf)
			return;	/* resumed when a send completes */
		len = sub->st->output ? srv_dac_encode_free(sub, buf) : encode_ready(sub, buf);
		/* Length 0 (nothing left worth sending) gives the slot back. */
		if (srv_client_send_post(sub->cl, slot, len) < 0 || !len)
			return;
		if (sub->st->output)
			stats->free_messages++;
		else
			stats->ready_messages++;
	}
}

/*
 * Scans dropped while blocks were queued (a converter, or a simulator,
 * that fell behind) leave a hole inside a block, which no first_sample can
 * describe. Every completion therefore reads the drop count; when it grew,
 * the completing block and every block that had completed or was filling
 * by then are withheld (re-queued unannounced), and the scans they held
 * plus the drops show up as one exact gap before the next delivered block.
 */
static bool queued_after(const struct srv_block *blk)
{
	const struct srv_stream *st = blk->st;

	for (unsigned int i = 0; i < st->count; i++)
		if (st->blocks[i].state == SRV_BLK_QUEUED &&
		    st->blocks[i].enq_seq > blk->enq_seq)
			return true;
	return false;
}

static bool block_check_torn(struct srv_block *blk, uint64_t *dropped)
{
	struct srv_stream *st = blk->st;
	uint64_t now, until;

	*dropped = 0;
	if (!st->has_overruns)
		return false;
	/*
	 * With nothing queued behind it the converter went dry when this
	 * block completed, and drops counted now are most likely from that
	 * window: leave them to the next enqueue, which puts them before the
	 * next block (a hole inside this block then goes unnoticed).
	 */
	if (!queued_after(blk) || !srv_stream_read_counter(st, &now) || now <= st->overruns_seen)
		return blk->enq_seq <= st->suspect_until;
	*dropped = now - st->overruns_seen;
	st->overruns_seen = now;
	st->drops_seen = true;
	/* Walk on in enqueue order through the completed blocks, and the one filling. */
	until = blk->enq_seq;
	for (;;) {
		struct srv_block *next = NULL;

		for (unsigned int i = 0; i < st->count; i++) {
			struct srv_block *b = &st->blocks[i];

			if (b->state == SRV_BLK_QUEUED && b->enq_seq > until &&
			    (!next || b->enq_seq < next->enq_seq))
				next = b;
		}
		if (!next)
			break;
		until = next->enq_seq;
		if (!fd_idle(st->arena->dmabuf[next->idx]))
			break;
	}
	if (until > st->suspect_until)
		st->suspect_until = until;
	return true;
}

static void block_done(struct srv_watch *w, int res)
{
	struct srv_block *blk = w->ctx;
	struct srv_stream *st = blk->st;
	struct srv *srv = st->srv;
	struct timespec now;
	uint64_t dropped;

	if (blk->state != SRV_BLK_QUEUED)
		return;
	st->queued--;
	if (res < 0 || !(res & POLLOUT)) {
		srv_warn(&srv->log, "stream %u: poll on block %u: %d", st->id,
			 blk->idx, res);
	}
	if (!st->started) {
		blk->state = SRV_BLK_IDLE;
		return;
	}
	if (blk->epoch != st->epoch) {
		/* Flushed by a STOP that a START has already overtaken. */
		(void)block_enqueue(blk);
		return;
	}
	clock_gettime(CLOCK_REALTIME, &now);
	blk->seq = st->next_seq++;
	st->next_sample += blk->gap;
	blk->first_sample = st->next_sample;
	st->next_sample += st->block_size / st->scan.scan_bytes;
	blk->ts_ns = srv_ts_ns(&now);
	srv->stats.blocks_completed++;
	if (block_check_torn(blk, &dropped)) {
		/* Order does not matter inside a gap nobody is told about. */
		st->next_sample += dropped;
		srv->stats.converter_overruns += dropped;
		srv->stats.blocks_withheld++;
		srv->stats.samples_withheld += st->block_size / st->scan.scan_bytes;
		srv_dbg(&srv->log, "stream %u: block %u (seq %llu) withheld: %llu scan(s) dropped",
			st->id, blk->idx, (unsigned long long)blk->seq,
			(unsigned long long)dropped);
		(void)block_enqueue(blk);
		return;
	}

	if (!st->n_subs) {
		(void)block_enqueue(blk);
		return;
	}
	blk->state = SRV_BLK_HELD;
	blk->holders = st->n_subs;
	for (struct srv_sub *sub = st->subs; sub; sub = sub->st_next) {
		sub->held[blk->idx] = 1;
		sub_push(sub, blk->idx, st->gen[blk->idx]);
		srv_sub_flush(sub);
	}
	/*
	 * Reclaim before IIO is empty: with one block left queued the
	 * converter is filling it now and would drop scans from the moment it
	 * completes until this loop reacts. But only for a converter that
	 * drops scans when it runs dry: one that counts drops and has not
	 * dropped any since START (a converter paced by its buffers, like the
	 * simulator unthrottled) just waits, and taking blocks from clients
	 * would throw away data for nothing.
	 */
	if (!st->has_overruns || st->drops_seen)
		while (st->queued < st->spare && stream_reclaim_oldest(st, blk))
			;
}

static void stream_stop(struct srv_stream *st)
{
	int err;

	if (!st->started)
		return;
	st->started = false;
	st->enabled = false;
	st->epoch++;
	/* Disabling signals every queued fence (-EINTR); their polls then fire. */
	err = srv_iio_buffer_enable(st->dev, false);
	if (err < 0)
		srv_warn(&st->srv->log, "stream %u: disable: %s", st->id, strerror(-err));
}

static int stream_start(struct srv_stream *st)
{
	int err;

	if (st->started)
		return 0;
	st->started = true;
	if (st->output) {
		srv_dac_start(st);
		return 0;
	}
	/* No gap accounting before the baseline below exists. */
	st->has_overruns = false;
	st->drops_seen = false;
	st->last_enq = -1;
	for (unsigned int i = 0; i < st->count; i++) {
		if (st->blocks[i].state != SRV_BLK_IDLE)
			continue;
		err = block_enqueue(&st->blocks[i]);
		if (err < 0)
			goto out_stop;
	}
	err = srv_iio_buffer_enable(st->dev, true);
	if (err < 0)
		goto out_stop;
	/* The count restarts with the buffer (or runs on: keep a base either way). */
	st->has_overruns = srv_stream_read_counter(st, &st->overruns_seen);
	return 0;

out_stop:
	stream_stop(st);
	return err;
}

static void stream_destroy(struct srv_stream *st)
{
	struct srv *srv = st->srv;

	for (struct srv_stream **p = &srv->streams; *p; p = &(*p)->next) {
		if (*p == st) {
			*p = st->next;
			break;
		}
	}
	stream_stop(st);
	for (unsigned int i = 0; i < st->count; i++)
		srv_watch_free(srv->loop, st->blocks[i].watch);
	/* Detach is safe with blocks still queued: the driver waits for fences. */
	srv_arena_destroy(st->arena);
	close(st->buf_fd);
	if (st->counter_fd >= 0)
		close(st->counter_fd);
	srv_iio_scan_disable(st->dev, st->output);
	munmap(st->gen, st->gen_len);
	srv->stats.streams_now--;
	srv_info(&srv->log, "stream %u closed", st->id);
	free(st);
}

void srv_sub_remove(struct srv_sub *sub)
{
	struct srv_stream *st = sub->st;
	struct srv_client *cl = sub->cl;

	for (struct srv_sub **p = &st->subs; *p; p = &(*p)->st_next) {
		if (*p == sub) {
			*p = sub->st_next;
			break;
		}
	}
	for (struct srv_sub **p = &cl->subs; *p; p = &(*p)->cl_next) {
		if (*p == sub) {
			*p = sub->cl_next;
			break;
		}
	}
	st->n_subs--;
	/* Its holds go back to IIO when it was the last holder. */
	for (unsigned int i = 0; i < st->count; i++) {
		struct srv_block *blk = &st->blocks[i];

		if (!sub->held[i])
			continue;
		if (--blk->holders == 0) {
			if (st->started && st->n_subs)
				(void)block_enqueue(blk);
			else
				blk->state = SRV_BLK_IDLE;
		}
	}
	/* The rkeys die here, before the arena can go away. */
	srv_reg_destroy(sub->reg);
	free(sub->held);
	free(sub->pending);
	free(sub->pending_gen);
	free(sub);
	if (!st->n_subs)
		stream_destroy(st);
	srv_timer_update(cl->srv);
}

static int sub_add(struct srv_stream *st, struct srv_client *cl,
		   struct srv_sub **out)
{
	struct srv *srv = st->srv;
	struct srv_reg_req req = {
		.map = st->arena->map,
		.block_size = st->block_size,
		.count = st->count,
		.dmabuf_fds = st->arena->dmabuf,
		/* ADC: clients only ever READ blocks and generations. */
		.access = IBV_ACCESS_REMOTE_READ,
		.gen = st->gen,
		.gen_len = st->gen_len,
		.gen_access = IBV_ACCESS_REMOTE_READ,
	};

	/* DAC: clients only WRITE blocks (verbs wants LOCAL_WRITE with it);
	 * nothing to read back, so no generation table. */
	if (st->output) {
		req.access = IBV_ACCESS_LOCAL_WRITE | IBV_ACCESS_REMOTE_WRITE;
		req.gen = NULL;
		req.gen_len = 0;
	}
	struct srv_sub *sub;
	int err;

	sub = calloc(1, sizeof(*sub));
	if (!sub)
		return -ENOMEM;
	sub->held = calloc(st->count, sizeof(*sub->held));
	sub->pending = calloc(st->count, sizeof(*sub->pending));
	sub->pending_gen = calloc(st->count, sizeof(*sub->pending_gen));
	if (!sub->held || !sub->pending || !sub->pending_gen) {
		err = -ENOMEM;
		goto out_free;
	}
	err = srv_reg_create(&sub->reg, srv->verbs, cl->pd, &req);
	if (err < 0)
		goto out_free;
	if (sub->reg->path == SRV_REG_DMABUF) {
		srv->stats.reg_dmabuf++;
		srv_info(&srv->log, "client %llu: stream %u registered with %s (one MR per block)",
			 (unsigned long long)cl->cid, st->id,
			 srv_reg_path_name(sub->reg->path));
	} else {
		srv->stats.reg_memfd++;
		srv_info(&srv->log, "client %llu: stream %u registered with %s "
			 "(ibv_reg_dmabuf_mr: %s; zero-copy over the same pages)",
			 (unsigned long long)cl->cid, st->id,
			 srv_reg_path_name(sub->reg->path),
			 strerror(-sub->reg->dmabuf_err));
	}
	srv->stats.reg_any = true;
	srv->stats.reg_last = sub->reg->path;
	sub->st = st;
	sub->cl = cl;
	sub->st_next = st->subs;
	st->subs = sub;
	sub->cl_next = cl->subs;
	cl->subs = sub;
	st->n_subs++;
	*out = sub;
	srv_timer_update(srv);	/* keepalive */
	return 0;

out_free:
	free(sub->held);
	free(sub->pending);
	free(sub->pending_gen);
	free(sub);
	return err;
}

static int stream_create(struct srv *srv, const struct iio_device *dev,
			 bool output, const struct srv_scan *scan,
			 uint32_t block_size, uint32_t count, uint8_t mode,
			 struct srv_stream **out)
{
	long page = sysconf(_SC_PAGESIZE);
	struct srv_stream *st;
	int err;

	st = calloc(1, sizeof(*st) + count * sizeof(st->blocks[0]));
	if (!st)
		return -ENOMEM;
	st->srv = srv;
	st->dev = dev;
	st->output = output;
	st->mode = mode;
	st->scan = *scan;
	st->block_size = block_size;
	st->count = count;
	st->spare = count >= 4 ? 2 : 1;
	st->last_enq = -1;
	st->counter_fd = srv_iio_counter_open(dev, output ? "underruns" : "overruns");

	st->buf_fd = srv_iio_buffer_open(dev);
	if (st->buf_fd < 0) {
		err = st->buf_fd;
		goto out_free;
	}
	/* A buffer left enabled (a crashed owner) refuses scan changes. */
	(void)srv_iio_buffer_enable(dev, false);
	err = srv_iio_scan_enable(dev, output, scan);
	if (err < 0)
		goto out_close_buf;
	err = srv_iio_buffer_set_length(dev, block_size / scan->scan_bytes);
	if (err < 0)
		srv_dbg(&srv->log, "buffer length not set: %s", strerror(-err));

	err = srv_arena_create(&st->arena, block_size, count);
	if (err < 0)
		goto out_disable_scan;
	err = srv_arena_attach(st->arena, st->buf_fd);
	if (err < 0)
		goto out_destroy_arena;

	st->gen_len = ((count * sizeof(uint64_t)) + page - 1) / page * page;
	st->gen = mmap(NULL, st->gen_len, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (st->gen == MAP_FAILED) {
		err = -errno;
		goto out_destroy_arena;
	}
	for (unsigned int i = 0; i < count; i++) {
		struct srv_block *blk = &st->blocks[i];

		blk->st = st;
		blk->idx = i;
		blk->state = SRV_BLK_IDLE;
		/* Generation 0 never names data; the first enqueue makes it 1. */
		st->gen[i] = 0;
		blk->watch = srv_watch_new(output ? srv_dac_block_done : block_done, blk,
					   st->arena->dmabuf[i], POLLOUT);
		if (!blk->watch) {
			err = -ENOMEM;
			goto out_free_watches;
		}
	}
	st->id = ++srv->next_stream_id;
	st->next = srv->streams;
	srv->streams = st;
	srv->stats.streams_total++;
	srv->stats.streams_now++;
	*out = st;
	return 0;

out_free_watches:
	for (unsigned int i = 0; i < count; i++)
		srv_watch_free(srv->loop, st->blocks[i].watch);
	munmap(st->gen, st->gen_len);
out_destroy_arena:
	srv_arena_destroy(st->arena);
out_disable_scan:
	srv_iio_scan_disable(dev, output);
out_close_buf:
	close(st->buf_fd);
out_free:
	if (st->counter_fd >= 0)
		close(st->counter_fd);
	free(st);
	return err;
}

void srv_stream_open(struct srv_client *cl, uint32_t req_id,
		     const struct iiofab_msg_open_stream *m)
{
	struct srv *srv = cl->srv;
	long page = sysconf(_SC_PAGESIZE);
	const struct iio_device *dev;
	struct iiofab_msg_stream_info *info;
	struct srv_stream *st = NULL;
	struct srv_scan scan;
	struct srv_sub *sub = NULL;
	char name[IIOFAB_WIRE_MAX_NAME + 1];
	unsigned int slot;
	bool output;
	void *buf;
	int err, len;

	if (iiofab_wire_str_copy(name, sizeof(name), m->device) < 0 ||
	    !(dev = srv_iio_find_device(srv->iio, name))) {
		srv_client_send_error(cl, req_id, -ENODEV, "no device '%.*s'",
				      (int)m->device.len, m->device.ptr);
		return;
	}
	output = m->direction == IIOFAB_WIRE_DIR_OUT;
	if (m->mode != IIOFAB_WIRE_MODE_EXCLUSIVE) {
		srv_client_send_error(cl, req_id, -EOPNOTSUPP,
				      "only exclusive streams are supported yet");
		return;
	}
	err = srv_iio_scan_layout(dev, output, m->channel_mask, &scan);
	if (err == -EINVAL && !m->channel_mask) {
		srv_client_send_error(cl, req_id, -EINVAL, "channel mask is empty");
		return;
	}
	if (err < 0) {
		srv_client_send_error(cl, req_id, -ENXIO,
				      "channel mask 0x%llx names scan indices that %s has no scannable %s channel for",
				      (unsigned long long)m->channel_mask, name,
				      output ? "output" : "input");
		return;
	}
	if (!m->block_size || m->block_size % page) {
		srv_client_send_error(cl, req_id, -EINVAL,
				      "block size %u is not a non-zero multiple of the page size (%ld)",
				      m->block_size, page);
		return;
	}
	if (m->block_size % scan.scan_bytes) {
		srv_client_send_error(cl, req_id, -EINVAL,
				      "block size %u is not a multiple of the scan size (%u bytes)",
				      m->block_size, scan.scan_bytes);
		return;
	}
	if (m->block_count < 1 || m->block_count > IIOFAB_WIRE_MAX_BLOCKS) {
		srv_client_send_error(cl, req_id, -EINVAL,
				      "block count %u is outside 1..%d",
				      m->block_count, IIOFAB_WIRE_MAX_BLOCKS);
		return;
	}

	err = stream_create(srv, dev, output, &scan, m->block_size, m->block_count,
			    m->mode, &st);
	if (err < 0) {
		if (err == -EBUSY)
			srv_client_send_error(cl, req_id, err,
					      "%s is busy (another stream or program owns its buffer)", name);
		else if (err == -EOPNOTSUPP)
			srv_client_send_error(cl, req_id, err,
					      "%s's buffer does not support DMABUF", name);
		else
			srv_client_send_error(cl, req_id, err, "cannot create stream on %s: %s",
					      name, strerror(-err));
		return;
	}
	err = sub_add(st, cl, &sub);
	if (err < 0) {
		srv_err(&srv->log, "client %llu: registration failed: %s",
			(unsigned long long)cl->cid, strerror(-err));
		srv_client_send_error(cl, req_id, err, "RDMA registration failed: %s",
				      strerror(-err));
		stream_destroy(st);
		return;
	}

	info = calloc(1, sizeof(*info));
	buf = srv_client_send_slot(cl, &slot);
	if (!info || !buf) {
		free(info);
		if (buf)
			(void)srv_client_send_post(cl, slot, 0);
		srv_client_kill(cl, "no room for STREAM_INFO");
		return;
	}
	info->stream_id = st->id;
	info->block_size = st->block_size;
	info->block_count = st->count;
	info->scan_bytes = (uint16_t)scan.scan_bytes;
	info->reg_path = sub->reg->path == SRV_REG_DMABUF ? IIOFAB_WIRE_REG_DMABUF :
							    IIOFAB_WIRE_REG_MEMFD;
	srv_reg_gen(sub->reg, &info->gen_addr, &info->gen_rkey);
	info->n_channels = (uint16_t)scan.n;
	for (unsigned int i = 0; i < scan.n; i++)
		info->channels[i] = (struct iiofab_wire_scan_fmt){
			.scan_index = (int16_t)scan.ch[i].scan_index,
			.is_signed = scan.ch[i].is_signed,
			.bits = scan.ch[i].bits,
			.storage_bits = scan.ch[i].storage_bits,
			.shift = scan.ch[i].shift,
			.big_endian = scan.ch[i].big_endian,
		};
	for (unsigned int i = 0; i < st->count; i++)
		srv_reg_block(sub->reg, i, &info->blocks[i].addr, &info->blocks[i].rkey);
	len = iiofab_wire_encode_stream_info(buf, SRV_CTRL_SIZE, req_id, info);
	free(info);
	if (len < 0)
		srv_err(&srv->log, "STREAM_INFO encode: %s", strerror(-len));
	(void)srv_client_send_post(cl, slot, len);
	srv_info(&srv->log, "client %llu: %s stream %u on %s: %u x %u bytes, %u channel(s), scan %u bytes",
		 (unsigned long long)cl->cid, output ? "output" : "input", st->id,
		 srv_iio_dev_id(dev), st->count,
		 st->block_size, scan.n, scan.scan_bytes);
}

void srv_stream_ctl(struct srv_client *cl, uint32_t req_id, uint16_t type,
		    uint32_t stream_id)
{
	struct srv_sub *sub = srv_sub_find(cl, stream_id);
	struct srv_stream *st;
	int err;

	if (!sub) {
		srv_client_send_error(cl, req_id, -ESRCH, "no stream %u on this connection",
				      stream_id);
		return;
	}
	st = sub->st;
	switch (type) {
	case IIOFAB_MSG_START:
		err = stream_start(st);
		if (err < 0) {
			srv_client_send_error(cl, req_id, err, "cannot start stream %u: %s",
					      stream_id, strerror(-err));
			return;
		}
		srv_info(&cl->srv->log, "stream %u started", stream_id);
		break;
	case IIOFAB_MSG_STOP:
		stream_stop(st);
		srv_info(&cl->srv->log, "stream %u stopped", stream_id);
		break;
	case IIOFAB_MSG_CLOSE:
		srv_sub_remove(sub);
		break;
	}
	srv_client_send_ok(cl, req_id, stream_id);
}

void srv_stream_release(struct srv_client *cl, uint32_t req_id,
			const struct iiofab_msg_release *m)
{
	struct srv_sub *sub = srv_sub_find(cl, m->stream_id);
	struct srv_stream *st;

	if (!sub) {
		srv_client_send_error(cl, req_id, -ESRCH, "no stream %u on this connection",
				      m->stream_id);
		return;
	}
	st = sub->st;
	if (st->output) {
		srv_client_send_error(cl, req_id, -EINVAL,
				      "stream %u is an output stream: blocks come back by themselves",
				      st->id);
		return;
	}
	for (unsigned int i = 0; i < m->count; i++) {
		uint32_t b = m->entries[i].block;
		struct srv_block *blk;

		if (b >= st->count) {
			srv_client_send_error(cl, req_id, -ERANGE,
					      "block %u out of range (stream %u has %u)",
					      b, st->id, st->count);
			return;
		}
		blk = &st->blocks[b];
		/* Reclaimed after an overrun: the client already lost it. */
		if (m->entries[i].generation != st->gen[b]) {
			cl->srv->stats.stale_releases++;
			continue;
		}
		if (!sub->held[b]) {
			srv_client_send_error(cl, req_id, -ERANGE,
					      "block %u generation %llu is not held by this client",
					      b, (unsigned long long)m->entries[i].generation);
			return;
		}
		sub->held[b] = 0;
		cl->srv->stats.blocks_released++;
		if (--blk->holders)
			continue;
		if (st->started)
			(void)block_enqueue(blk);
		else
			blk->state = SRV_BLK_IDLE;
	}
}
