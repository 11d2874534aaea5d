// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * The converter's IIO buffer: fileio ring, DMABUF queue and the engine
 * thread that paces samples between them and the pattern.
 *
 * Lifetime: the buffer is reference counted by the IIO core; the module adds
 * one reference per attached DMABUF (the core's DMABUF bookkeeping does not
 * hold one) and pins itself while any DMABUF is attached, because the core
 * calls back into detach_dmabuf() whenever the last fence of a DMABUF is
 * released, possibly long after the file descriptors are closed.
 */
#include <linux/delay.h>
#include <linux/dma-fence.h>
#include <linux/fixp-arith.h>
#include <linux/highmem.h>
#include <linux/hrtimer.h>
#include <linux/jiffies.h>
#include <linux/kref.h>
#include <linux/kthread.h>
#include <linux/math64.h>
#include <linux/minmax.h>
#include <linux/module.h>
#include <linux/poll.h>
#include <linux/scatterlist.h>
#include <linux/sched.h>
#include <linux/slab.h>
#include <linux/uaccess.h>
#include <linux/unaligned.h>
#include <linux/vmalloc.h>

#include <linux/iio/iio.h>

#include "iiofab_sim.h"

/* Paced mode wakes up once per tick and moves every scan that fell due. */
#define IIOFAB_SIM_TICK_NS	(1 * NSEC_PER_MSEC)
#define IIOFAB_SIM_TICK_SLACK_NS	(200 * NSEC_PER_USEC)
/*
 * A converter never waits. Scans that fall due while the engine is held up
 * (a stalled guest vCPU) are caught up into whatever room is queued, as a
 * DMA engine would have filled it meanwhile; only scans with no room to go
 * to are lost. A real DMA engine loses nothing while a block is queued, so
 * the catch-up window is long: a short one turned every scheduling hiccup
 * of an emulated board into data loss that no real board would show.
 * Scans moved plus scans lost still track real time.
 */
#define IIOFAB_SIM_MAX_LAG_S	10
/*
 * The engine moves at most this many scans between checks for
 * kthread_stop(), in both modes; unthrottled, it also reschedules after
 * each. A paced catch-up reschedules only after IIOFAB_SIM_YIELD_SCANS
 * (see iiofab_sim_move_paced()).
 */
#define IIOFAB_SIM_BURST	16384
#define IIOFAB_SIM_YIELD_SCANS	(64 * IIOFAB_SIM_BURST)
/*
 * How long unbinding waits for a process to close an IIO buffer file, and
 * how often it looks: nothing tells it when the file is closed.
 */
#define IIOFAB_SIM_RELEASE_WAIT_S	10
#define IIOFAB_SIM_RELEASE_POLL_MS	100
#define IIOFAB_SIM_SINE_PERIOD	1000
#define IIOFAB_SIM_SINE_AMPLITUDE	30000

/*
 * The core only forward-declares this type and hands it back to us
 * unchanged; it stands for one attached DMABUF.
 */
struct iio_dma_buffer_block {
	struct iiofab_sim_conv *conv;
};

static struct iiofab_sim_conv *to_conv(struct iio_buffer *buffer)
{
	return container_of(buffer, struct iiofab_sim_conv, buffer);
}

static void iiofab_sim_stat_add(u64_stats_t *counter, u64 add)
{
	/* Not u64_stats_add(): it takes an unsigned long, 32 bits there. */
	u64_stats_set(counter, u64_stats_read(counter) + add);
}

/* Only the engine thread calls these (see the counters in iiofab_sim.h). */
static void iiofab_sim_count(struct iiofab_sim_conv *conv,
			     u64_stats_t *counter, u64 add)
{
	guard(preempt)();
	u64_stats_update_begin(&conv->stats_sync);
	iiofab_sim_stat_add(counter, add);
	u64_stats_update_end(&conv->stats_sync);
}

/*
 * ADC: @lost scans converted with nowhere to go. The pattern moves on over
 * them, and overruns and samples_produced change in one update, so that a
 * reader never sees one without the other.
 */
static void iiofab_sim_count_lost(struct iiofab_sim_conv *conv, u64 lost)
{
	conv->n += lost;
	guard(preempt)();
	u64_stats_update_begin(&conv->stats_sync);
	iiofab_sim_stat_add(&conv->overruns, lost);
	iiofab_sim_stat_add(&conv->samples_produced, lost);
	u64_stats_update_end(&conv->stats_sync);
}

u64 iiofab_sim_counter_read(const struct iiofab_sim_conv *conv,
			    const u64_stats_t *counter)
{
	unsigned int start;
	u64 value;

	do {
		start = u64_stats_fetch_begin(&conv->stats_sync);
		value = u64_stats_read(counter);
	} while (u64_stats_fetch_retry(&conv->stats_sync, start));
	return value;
}

/*
 * The ramp and the sine repeat: the ramp every 65536 scans (16-bit samples
 * wrap), the sine every IIOFAB_SIM_SINE_PERIOD scans. One period of the
 * enabled channels' interleaved samples is computed at enable, so the
 * engine only copies (ADC) or compares (DAC) runs of it: on an emulated
 * board the sample-by-sample loop cost more CPU than the transport it feeds.
 * The counter never repeats; see iiofab_sim_counter_produce().
 */
#define IIOFAB_SIM_RAMP_PERIOD	65536

/* Position of the next value in the period table. */
static size_t iiofab_sim_table_at(const struct iiofab_sim_conv *conv)
{
	u32 rem;

	div_u64_rem(conv->n, conv->period_scans, &rem);
	return (size_t)rem * conv->nchans + conv->pos;
}

/* Moves the position on by @vals values, all of them good. */
static u64 iiofab_sim_advance(struct iiofab_sim_conv *conv, size_t vals)
{
	size_t done = (conv->pos + vals) / conv->nchans;

	conv->pos = (conv->pos + vals) % conv->nchans;
	conv->n += done;
	return done;
}

/* ADC: writes the next @bytes of the interleaved period to @dst. */
static void iiofab_sim_period_produce(struct iiofab_sim_conv *conv, void *dst,
				      size_t bytes)
{
	size_t nvals = bytes / sizeof(__le16), total = conv->period_vals;
	__le16 *p = dst;

	while (nvals) {
		size_t at = iiofab_sim_table_at(conv);
		size_t run = min(nvals, total - at);

		memcpy(p, conv->period + at, run * sizeof(*p));
		p += run;
		nvals -= run;
		iiofab_sim_advance(conv, run);
	}
}

/* DAC: checks @nvals values one by one (a run with a mismatch, or the lock). */
static void iiofab_sim_check_values(struct iiofab_sim_conv *conv,
				    const __le16 *p, size_t nvals,
				    u64 *scans, u64 *bad)
{
	while (nvals--) {
		unsigned int c = conv->chans[conv->pos];
		u16 v = le16_to_cpu(*p++);

		/* Lock onto whatever ramp position the producer started at. */
		if (!conv->locked) {
			conv->n = (u16)(v - 4096 * c);
			conv->locked = true;
		}
		if (v != (u16)(conv->n + 4096 * c))
			conv->scan_bad = true;
		if (++conv->pos == conv->nchans) {
			conv->pos = 0;
			conv->n++;
			(*scans)++;
			*bad += conv->scan_bad;
			conv->scan_bad = false;
		}
	}
}

/* DAC: checks @bytes of consumed data against the ramp. */
static void iiofab_sim_period_consume(struct iiofab_sim_conv *conv, void *src,
				      size_t bytes)
{
	size_t nvals = bytes / sizeof(__le16), total = conv->period_vals;
	const __le16 *p = src;
	u64 scans = 0, bad = 0;

	if (nvals && !conv->locked) {
		iiofab_sim_check_values(conv, p++, 1, &scans, &bad);
		nvals--;
	}
	while (nvals) {
		size_t at = iiofab_sim_table_at(conv);
		size_t run = min(nvals, total - at);

		if (!memcmp(p, conv->period + at, run * sizeof(*p))) {
			u64 done = iiofab_sim_advance(conv, run);

			if (done) {
				/* The scan that was open when the run began. */
				bad += conv->scan_bad;
				conv->scan_bad = false;
				scans += done;
			}
		} else {
			iiofab_sim_check_values(conv, p, run, &scans, &bad);
		}
		p += run;
		nvals -= run;
	}
	iiofab_sim_count(conv, &conv->samples_consumed, scans);
	if (bad)
		iiofab_sim_count(conv, &conv->pattern_errors, bad);
}

/*
 * The counter: the enabled channel at position i of scan n (i = 0 for the
 * lowest enabled scan index) holds bits [16 (i mod 4), 16 (i mod 4) + 16) of
 * n. A scan is thus the first scan_bytes of le64(n) repeated: it is written
 * and checked a 64-bit word at a time, with no table, since the data never
 * repeats. Only a scan split across two pages goes value by value.
 */
static u16 iiofab_sim_counter_value(u64 n, unsigned int pos)
{
	return (u16)(n >> (16 * (pos % 4)));
}

static void iiofab_sim_counter_put(u8 *p, u64 n, unsigned int nchans)
{
	unsigned int q;

	for (q = nchans / 4; q; q--, p += 8)
		put_unaligned_le64(n, p);
	switch (nchans % 4) {
	case 3:
		put_unaligned_le16((u16)(n >> 32), p + 4);
		fallthrough;
	case 2:
		put_unaligned_le32((u32)n, p);
		break;
	case 1:
		put_unaligned_le16((u16)n, p);
		break;
	}
}

static bool iiofab_sim_counter_ok(const u8 *p, u64 n, unsigned int nchans)
{
	unsigned int q;

	for (q = nchans / 4; q; q--, p += 8)
		if (get_unaligned_le64(p) != n)
			return false;
	switch (nchans % 4) {
	case 3:
		if (get_unaligned_le16(p + 4) != (u16)(n >> 32))
			return false;
		fallthrough;
	case 2:
		return get_unaligned_le32(p) == (u32)n;
	case 1:
		return get_unaligned_le16(p) == (u16)n;
	}
	return true;
}

/* ADC: writes the next @bytes of the counter to @dst. */
static void iiofab_sim_counter_produce(struct iiofab_sim_conv *conv, void *dst,
				       size_t bytes)
{
	unsigned int nchans = conv->nchans;
	size_t nvals = bytes / sizeof(__le16), scan_bytes = conv->scan_bytes;
	u8 *p = dst;
	u64 n;

	/* The rest of a scan the previous page began. */
	for (; nvals && conv->pos; nvals--, p += sizeof(__le16)) {
		put_unaligned_le16(iiofab_sim_counter_value(conv->n, conv->pos), p);
		iiofab_sim_advance(conv, 1);
	}
	/* Whole scans, with the index in a register: @p may alias @conv. */
	n = conv->n;
	if (nchans == 4) {
		/* The usual scan is le64(n): four at a time, few branches. */
		for (; nvals >= 16; nvals -= 16, p += 32, n += 4) {
			put_unaligned_le64(n, p);
			put_unaligned_le64(n + 1, p + 8);
			put_unaligned_le64(n + 2, p + 16);
			put_unaligned_le64(n + 3, p + 24);
		}
	}
	for (; nvals >= nchans; nvals -= nchans, n++) {
		iiofab_sim_counter_put(p, n, nchans);
		p += scan_bytes;
	}
	conv->n = n;
	/* The start of a scan the next page ends. */
	for (; nvals; nvals--, p += sizeof(__le16)) {
		put_unaligned_le16(iiofab_sim_counter_value(conv->n, conv->pos), p);
		iiofab_sim_advance(conv, 1);
	}
}

/* DAC: checks one value of a scan split across pages. */
static void iiofab_sim_counter_check_value(struct iiofab_sim_conv *conv,
					   const u8 *p, u64 *scans, u64 *bad)
{
	if (get_unaligned_le16(p) != iiofab_sim_counter_value(conv->n, conv->pos))
		conv->scan_bad = true;
	if (iiofab_sim_advance(conv, 1)) {
		(*scans)++;
		*bad += conv->scan_bad;
		conv->scan_bad = false;
	}
}

/* DAC: checks @bytes of consumed data against the counter. */
static void iiofab_sim_counter_consume(struct iiofab_sim_conv *conv, void *src,
				       size_t bytes)
{
	unsigned int nchans = conv->nchans;
	size_t nvals = bytes / sizeof(__le16), scan_bytes = conv->scan_bytes;
	const u8 *p = src;
	u64 scans = 0, bad = 0, n;

	for (; nvals && conv->pos; nvals--, p += sizeof(__le16))
		iiofab_sim_counter_check_value(conv, p, &scans, &bad);
	for (n = conv->n; nvals >= nchans; nvals -= nchans, n++) {
		bad += !iiofab_sim_counter_ok(p, n, nchans);
		p += scan_bytes;
	}
	scans += n - conv->n;
	conv->n = n;
	for (; nvals; nvals--, p += sizeof(__le16))
		iiofab_sim_counter_check_value(conv, p, &scans, &bad);
	iiofab_sim_count(conv, &conv->samples_consumed, scans);
	if (bad)
		iiofab_sim_count(conv, &conv->pattern_errors, bad);
}

/*
 * Runs @len bytes at @off of a DMABUF through the pattern, page by page:
 * the pages are ours to touch until the fence signals, and a kernel mapping
 * per page avoids vmap, which not every exporter gets right for every memory.
 */
static void iiofab_sim_sg_process(struct iiofab_sim_conv *conv,
				  struct sg_table *sgt, size_t off, size_t len)
{
	struct scatterlist *sg;
	unsigned int i;

	for_each_sgtable_sg(sgt, sg, i) {
		size_t seg = sg->length;

		if (off >= seg) {
			off -= seg;
			continue;
		}
		while (off < seg && len) {
			size_t at = sg->offset + off;
			struct page *page = nth_page(sg_page(sg), at >> PAGE_SHIFT);
			size_t chunk = min3(PAGE_SIZE - offset_in_page(at),
					    seg - off, len);
			void *va = kmap_local_page(page);

			conv->process(conv, va + offset_in_page(at), chunk);
			kunmap_local(va);
			off += chunk;
			len -= chunk;
		}
		if (!len)
			break;
		off = 0;
	}
}

static bool iiofab_sim_queue_peek(struct iiofab_sim_conv *conv,
				  struct iiofab_sim_xfer *xfer, bool *more)
{
	guard(spinlock)(&conv->queue_lock);
	if (!conv->queue_len)
		return false;
	*xfer = conv->queue[conv->queue_head];
	*more = conv->queue_len > 1;
	return true;
}

static struct dma_fence *iiofab_sim_queue_pop(struct iiofab_sim_conv *conv)
{
	struct dma_fence *fence;

	guard(spinlock)(&conv->queue_lock);
	if (!conv->queue_len)
		return NULL;
	fence = conv->queue[conv->queue_head].fence;
	conv->queue_head = (conv->queue_head + 1) % IIOFAB_SIM_QUEUE_MAX;
	conv->queue_len--;
	return fence;
}

/*
 * inject_drop, in a block of @total bytes: the pending scans are skipped
 * at the first scan boundary strictly inside the block at or after its
 * middle scan, as if the converter had fallen behind there. Returns how
 * much of the next @chunk to fill before that point (all of it once the
 * drop is done, or when a one-scan block has no inside).
 */
static size_t iiofab_sim_drop_in_block(struct iiofab_sim_conv *conv,
				       size_t total, size_t chunk)
{
	size_t mid = total / conv->scan_bytes / 2 * conv->scan_bytes;

	if (!mid)
		return chunk;
	if (conv->xfer_off < mid)
		return min(chunk, mid - conv->xfer_off);
	iiofab_sim_count_lost(conv, atomic64_xchg(&conv->drop_pending, 0));
	return chunk;
}

/* Moves up to @scans whole scans through the DMABUF FIFO; returns scans moved. */
static u64 iiofab_sim_move_dmabuf(struct iiofab_sim_conv *conv, u64 scans)
{
	bool output = iiofab_sim_conv_is_output(conv);
	u64 moved = 0;

	while (moved < scans) {
		struct iiofab_sim_xfer xfer;
		size_t total, chunk;
		bool more;

		if (!iiofab_sim_queue_peek(conv, &xfer, &more))
			break;

		/* Only whole scans move: a block never starts mid-scan. */
		total = rounddown(xfer.bytes, conv->scan_bytes);
		if (!total) {
			iio_buffer_signal_dmabuf_done(iiofab_sim_queue_pop(conv),
						      -EINVAL);
			continue;
		}

		chunk = min_t(u64, total - conv->xfer_off,
			      (scans - moved) * conv->scan_bytes);
		if (!output && atomic64_read(&conv->drop_pending))
			chunk = iiofab_sim_drop_in_block(conv, total, chunk);
		iiofab_sim_sg_process(conv, xfer.sgt, conv->xfer_off, chunk);
		/* Counted before the fence signals, so a woken reader sees it. */
		if (!output)
			iiofab_sim_count(conv, &conv->samples_produced,
					 chunk / conv->scan_bytes);
		conv->xfer_off += chunk;
		moved += chunk / conv->scan_bytes;
		if (conv->xfer_off < total)
			continue;

		conv->xfer_off = 0;
		/* A cyclic block repeats until a newer one replaces it. */
		if (xfer.cyclic && !more)
			continue;
		iio_buffer_signal_dmabuf_done(iiofab_sim_queue_pop(conv), 0);
	}
	return moved;
}

/* Moves up to @scans whole scans through the fileio ring; returns scans moved. */
static u64 iiofab_sim_move_ring(struct iiofab_sim_conv *conv, u64 scans)
{
	bool output = iiofab_sim_conv_is_output(conv);
	size_t head, tail, fill, avail, bytes, at, first;

	if (!conv->ring_size)
		return 0;

	/* The engine owns head (ADC) or tail (DAC); the other side publishes. */
	if (output) {
		head = smp_load_acquire(&conv->ring_head);
		tail = conv->ring_tail;
		fill = head - tail;
		avail = fill;
		at = tail % conv->ring_size;
	} else {
		head = conv->ring_head;
		tail = smp_load_acquire(&conv->ring_tail);
		fill = head - tail;
		avail = conv->ring_size - fill;
		at = head % conv->ring_size;
	}

	bytes = min_t(u64, avail / conv->scan_bytes, scans) * conv->scan_bytes;
	if (!bytes)
		return 0;

	/* inject_drop: the ring has no blocks; skip before the next scan. */
	if (!output && atomic64_read(&conv->drop_pending))
		iiofab_sim_count_lost(conv, atomic64_xchg(&conv->drop_pending, 0));
	first = min(bytes, conv->ring_size - at);
	conv->process(conv, conv->ring + at, first);
	conv->process(conv, conv->ring, bytes - first);
	if (!output)
		iiofab_sim_count(conv, &conv->samples_produced,
				 bytes / conv->scan_bytes);

	if (output) {
		smp_store_release(&conv->ring_tail, tail + bytes);
		wake_up_interruptible_poll(&conv->buffer.pollq,
					   EPOLLOUT | EPOLLWRNORM);
	} else {
		smp_store_release(&conv->ring_head, head + bytes);
		wake_up_interruptible_poll(&conv->buffer.pollq,
					   EPOLLIN | EPOLLRDNORM);
	}
	return bytes / conv->scan_bytes;
}

static u64 iiofab_sim_move(struct iiofab_sim_conv *conv, u64 scans)
{
	/* While DMABUFs are attached they are the only path for data. */
	if (atomic_read(&conv->attached))
		return iiofab_sim_move_dmabuf(conv, scans);
	return iiofab_sim_move_ring(conv, scans);
}

/* Account scans that fell due but had nowhere to go (ADC) or no data (DAC). */
static void iiofab_sim_account_missed(struct iiofab_sim_conv *conv, u64 missed)
{
	if (!missed)
		return;
	/* A DAC's pattern position counts what it consumed, so it stays. */
	if (iiofab_sim_conv_is_output(conv))
		iiofab_sim_count(conv, &conv->underruns, missed);
	else
		iiofab_sim_count_lost(conv, missed);
}

static bool iiofab_sim_has_work(struct iiofab_sim_conv *conv)
{
	size_t fill;

	if (atomic_read(&conv->attached))
		return READ_ONCE(conv->queue_len) != 0;
	fill = READ_ONCE(conv->ring_head) - READ_ONCE(conv->ring_tail);
	if (iiofab_sim_conv_is_output(conv))
		return fill >= conv->scan_bytes;
	return conv->ring_size - fill >= conv->scan_bytes;
}

/*
 * Paced mode: moves up to @scans in bursts. A catch-up after a stall can be
 * seconds of data (10 s of 16 channels at 100 MS/s is 32 GB); in one piece
 * it would hold the CPU and keep kthread_stop(), so buffer disable and
 * unbinding, waiting until all of it had moved.
 *
 * It yields only every IIOFAB_SIM_YIELD_SCANS, not after every burst: a
 * consumer woken by a completion inside a catch-up would run at once and
 * read counters that miss the rest of it, which skews any rate measured
 * from them (kmod.rate). A catch-up of less than a second at 1 MS/s still
 * runs in one piece, as before.
 */
static u64 iiofab_sim_move_paced(struct iiofab_sim_conv *conv, u64 scans)
{
	u64 moved = 0, unyielded = 0;

	while (moved < scans) {
		u64 burst = min_t(u64, scans - moved, IIOFAB_SIM_BURST);
		u64 done = iiofab_sim_move(conv, burst);

		moved += done;
		if (done < burst || kthread_should_stop())
			break;
		unyielded += done;
		if (unyielded >= IIOFAB_SIM_YIELD_SCANS) {
			cond_resched();
			unyielded = 0;
		}
	}
	return moved;
}

static int iiofab_sim_engine(void *data)
{
	struct iiofab_sim_conv *conv = data;
	u64 start = ktime_get_ns();
	u64 accounted = 0;

	while (!kthread_should_stop()) {
		u64 due, todo, late, moved;

		if (!conv->run_frequency) {
			/* Unthrottled: as fast as the other side keeps up, no loss. */
			if (iiofab_sim_move(conv, IIOFAB_SIM_BURST)) {
				cond_resched();
				continue;
			}
			wait_event_interruptible_timeout(conv->engine_wq,
							 kthread_should_stop() ||
							 iiofab_sim_has_work(conv),
							 HZ);
			continue;
		}

		due = mul_u64_u64_div_u64(ktime_get_ns() - start,
					  conv->run_frequency, NSEC_PER_SEC);
		todo = due - accounted;
		accounted = due;
		/* The oldest scans are the ones too late to move. */
		late = max((u64)conv->run_frequency * IIOFAB_SIM_MAX_LAG_S, 1ULL);
		if (todo > late) {
			iiofab_sim_account_missed(conv, todo - late);
			todo = late;
		}
		/* What a disable cut off is lost too: it fell due before. */
		moved = iiofab_sim_move_paced(conv, todo);
		iiofab_sim_account_missed(conv, todo - moved);

		set_current_state(TASK_INTERRUPTIBLE);
		if (!kthread_should_stop()) {
			ktime_t tick = ns_to_ktime(IIOFAB_SIM_TICK_NS);

			schedule_hrtimeout_range(&tick, IIOFAB_SIM_TICK_SLACK_NS,
						 HRTIMER_MODE_REL);
		}
		__set_current_state(TASK_RUNNING);
	}
	return 0;
}

/* Signals every queued DMABUF with @err, oldest first. */
static void iiofab_sim_queue_flush(struct iiofab_sim_conv *conv, int err)
{
	struct dma_fence *fence;

	while ((fence = iiofab_sim_queue_pop(conv)))
		iio_buffer_signal_dmabuf_done(fence, err);
	conv->xfer_off = 0;
}

/* One period of the pattern for the enabled channels (see above). */
static int iiofab_sim_period_alloc(struct iiofab_sim_conv *conv)
{
	bool sine = !iiofab_sim_conv_is_output(conv) &&
		    conv->pattern == IIOFAB_SIM_PATTERN_SINE;
	u32 scans = sine ? IIOFAB_SIM_SINE_PERIOD : IIOFAB_SIM_RAMP_PERIOD;
	__le16 *t;
	u32 n;

	t = kvmalloc_array((size_t)scans * conv->nchans, sizeof(*t), GFP_KERNEL);
	if (!t)
		return -ENOMEM;
	for (n = 0; n < scans; n++) {
		unsigned int i;

		for (i = 0; i < conv->nchans; i++) {
			unsigned int c = conv->chans[i];
			u16 v;

			if (sine) {
				u32 at = (n + c * (IIOFAB_SIM_SINE_PERIOD / 8)) %
					 IIOFAB_SIM_SINE_PERIOD;
				s64 x = fixp_sin32_rad(at, IIOFAB_SIM_SINE_PERIOD);

				v = (u16)(s16)div_s64(x * IIOFAB_SIM_SINE_AMPLITUDE, S32_MAX);
			} else {
				v = (u16)(n + 4096 * c);
			}
			t[(size_t)n * conv->nchans + i] = cpu_to_le16(v);
		}
	}
	conv->period = t;
	conv->period_scans = scans;
	conv->period_vals = (size_t)scans * conv->nchans;
	return 0;
}

/* Picks how the engine produces or checks the pattern for this run. */
static int iiofab_sim_pattern_setup(struct iiofab_sim_conv *conv)
{
	bool output = iiofab_sim_conv_is_output(conv);

	if (conv->pattern == IIOFAB_SIM_PATTERN_COUNTER) {
		conv->process = output ? iiofab_sim_counter_consume :
					 iiofab_sim_counter_produce;
		return 0;
	}
	conv->process = output ? iiofab_sim_period_consume :
				 iiofab_sim_period_produce;
	return iiofab_sim_period_alloc(conv);
}

static int iiofab_sim_enable(struct iio_buffer *buffer, struct iio_dev *indio_dev)
{
	struct iiofab_sim_conv *conv = to_conv(buffer);
	unsigned int bit;
	int ret;

	conv->nchans = 0;
	for_each_set_bit(bit, indio_dev->active_scan_mask,
			 iio_get_masklength(indio_dev)) {
		if (conv->nchans == IIOFAB_SIM_MAX_CHANNELS)
			return -EINVAL;
		conv->chans[conv->nchans++] = bit;
	}
	if (!conv->nchans)
		return -EINVAL;
	conv->scan_bytes = conv->nchans * sizeof(u16);

	conv->n = 0;
	conv->pos = 0;
	conv->locked = false;
	conv->scan_bad = false;
	conv->xfer_off = 0;
	conv->run_frequency = conv->sampling_frequency;
	scoped_guard(preempt) {
		u64_stats_update_begin(&conv->stats_sync);
		u64_stats_set(&conv->overruns, 0);
		u64_stats_set(&conv->underruns, 0);
		u64_stats_set(&conv->samples_consumed, 0);
		u64_stats_set(&conv->pattern_errors, 0);
		u64_stats_set(&conv->samples_produced, 0);
		u64_stats_update_end(&conv->stats_sync);
	}

	ret = iiofab_sim_pattern_setup(conv);
	if (ret)
		return ret;

	conv->engine = kthread_run(iiofab_sim_engine, conv, "iiofab-sim/%s",
				   dev_name(&indio_dev->dev));
	if (IS_ERR(conv->engine)) {
		ret = PTR_ERR(conv->engine);
		conv->engine = NULL;
		goto out_free_period;
	}
	return 0;

out_free_period:
	kvfree(conv->period);
	conv->period = NULL;
	return ret;
}

static int iiofab_sim_disable(struct iio_buffer *buffer, struct iio_dev *indio_dev)
{
	struct iiofab_sim_conv *conv = to_conv(buffer);

	if (conv->engine) {
		kthread_stop(conv->engine);
		conv->engine = NULL;
	}
	/* Nothing may wait forever on a block the converter will never move. */
	iiofab_sim_queue_flush(conv, -EINTR);
	/* A drop the engine did not reach is forgotten with the run. */
	atomic64_set(&conv->drop_pending, 0);
	kvfree(conv->period);
	conv->period = NULL;
	return 0;
}

static size_t iiofab_sim_data_available(struct iio_buffer *buffer)
{
	struct iiofab_sim_conv *conv = to_conv(buffer);
	size_t bpd = buffer->bytes_per_datum;

	/*
	 * With DMABUFs attached, claim readiness so that read() reaches
	 * iiofab_sim_read() and fails with -EBUSY instead of blocking.
	 */
	if (atomic_read(&conv->attached))
		return max(buffer->watermark, 1U);
	if (!bpd)
		return 0;
	return (smp_load_acquire(&conv->ring_head) - READ_ONCE(conv->ring_tail)) / bpd;
}

static size_t iiofab_sim_space_available(struct iio_buffer *buffer)
{
	struct iiofab_sim_conv *conv = to_conv(buffer);
	size_t bpd = buffer->bytes_per_datum;
	size_t fill;

	/* As above: let write() through to report -EBUSY. */
	if (atomic_read(&conv->attached))
		return 1;
	if (!bpd)
		return 0;
	fill = READ_ONCE(conv->ring_head) - smp_load_acquire(&conv->ring_tail);
	return (conv->ring_size - fill) / bpd;
}

/* Copies between the ring at byte counter @at and user memory, wrapping. */
static int iiofab_sim_ring_copy(struct iiofab_sim_conv *conv, size_t at,
				char __user *ubuf, size_t bytes, bool to_user)
{
	size_t pos = at % conv->ring_size;
	size_t first = min(bytes, conv->ring_size - pos);
	unsigned long left;

	if (to_user) {
		left = copy_to_user(ubuf, conv->ring + pos, first);
		if (!left && bytes > first)
			left = copy_to_user(ubuf + first, conv->ring, bytes - first);
	} else {
		left = copy_from_user(conv->ring + pos, ubuf, first);
		if (!left && bytes > first)
			left = copy_from_user(conv->ring, ubuf + first, bytes - first);
	}
	return left ? -EFAULT : 0;
}

static int iiofab_sim_read(struct iio_buffer *buffer, size_t n, char __user *ubuf)
{
	struct iiofab_sim_conv *conv = to_conv(buffer);
	size_t bpd = buffer->bytes_per_datum;
	size_t head, tail, bytes;
	int ret;

	if (atomic_read(&conv->attached))
		return -EBUSY;

	guard(mutex)(&conv->ring_lock);
	if (!conv->ring_size || !bpd)
		return 0;
	if (n < bpd)
		return -EINVAL;

	head = smp_load_acquire(&conv->ring_head);
	tail = conv->ring_tail;
	bytes = min(rounddown(n, bpd), head - tail);
	if (!bytes)
		return 0;

	ret = iiofab_sim_ring_copy(conv, tail, ubuf, bytes, true);
	if (ret)
		return ret;
	smp_store_release(&conv->ring_tail, tail + bytes);
	wake_up(&conv->engine_wq);
	return bytes;
}

static int iiofab_sim_write(struct iio_buffer *buffer, size_t n,
			    const char __user *ubuf)
{
	struct iiofab_sim_conv *conv = to_conv(buffer);
	size_t bpd = buffer->bytes_per_datum;
	size_t head, tail, bytes;
	int ret;

	if (atomic_read(&conv->attached))
		return -EBUSY;

	guard(mutex)(&conv->ring_lock);
	if (!conv->ring_size || !bpd)
		return 0;
	if (n < bpd)
		return -EINVAL;

	head = conv->ring_head;
	tail = smp_load_acquire(&conv->ring_tail);
	bytes = min(rounddown(n, bpd), conv->ring_size - (head - tail));
	if (!bytes)
		return 0;

	ret = iiofab_sim_ring_copy(conv, head, (char __user *)ubuf, bytes, false);
	if (ret)
		return ret;
	smp_store_release(&conv->ring_head, head + bytes);
	wake_up(&conv->engine_wq);
	return bytes;
}

static int iiofab_sim_set_length(struct iio_buffer *buffer, unsigned int length)
{
	struct iiofab_sim_conv *conv = to_conv(buffer);

	if (length != buffer->length) {
		buffer->length = length;
		conv->ring_update = true;
	}
	return 0;
}

static int iiofab_sim_set_bytes_per_datum(struct iio_buffer *buffer, size_t bpd)
{
	struct iiofab_sim_conv *conv = to_conv(buffer);

	if (bpd != buffer->bytes_per_datum) {
		buffer->bytes_per_datum = bpd;
		conv->ring_update = true;
	}
	return 0;
}

/* Called before enable: size the ring and start it empty, like kfifo. */
static int iiofab_sim_request_update(struct iio_buffer *buffer)
{
	struct iiofab_sim_conv *conv = to_conv(buffer);
	size_t size;

	guard(mutex)(&conv->ring_lock);
	if (conv->ring_update || !conv->ring) {
		if (check_mul_overflow((size_t)buffer->length,
				       buffer->bytes_per_datum, &size))
			return -EINVAL;
		vfree(conv->ring);
		conv->ring = NULL;
		conv->ring_size = 0;
		if (size) {
			conv->ring = vzalloc(size);
			if (!conv->ring)
				return -ENOMEM;
		}
		conv->ring_size = size;
		conv->ring_update = false;
	}
	conv->ring_head = 0;
	conv->ring_tail = 0;
	return 0;
}

static struct iio_dma_buffer_block *
iiofab_sim_attach_dmabuf(struct iio_buffer *buffer,
			 struct dma_buf_attachment *attach)
{
	struct iiofab_sim_conv *conv = to_conv(buffer);
	struct iio_dma_buffer_block *block;

	/* Fails once unloading has begun: the device is on its way out. */
	if (!try_module_get(THIS_MODULE))
		return ERR_PTR(-ENODEV);

	block = kzalloc(sizeof(*block), GFP_KERNEL);
	if (!block) {
		module_put(THIS_MODULE);
		return ERR_PTR(-ENOMEM);
	}
	block->conv = conv;
	iio_buffer_get(buffer);
	atomic_inc(&conv->attached);
	return block;
}

static void iiofab_sim_detach_dmabuf(struct iio_buffer *buffer,
				     struct iio_dma_buffer_block *block)
{
	struct iiofab_sim_conv *conv = to_conv(buffer);

	atomic_dec(&conv->attached);
	wake_up(&conv->engine_wq);
	kfree(block);
	iio_buffer_put(buffer);
	module_put(THIS_MODULE);
}

/*
 * Runs inside the core's fence-signalling section with the DMABUF's
 * reservation lock already dropped: no allocation, no waiting, only a slot
 * in the preallocated FIFO.
 */
static int iiofab_sim_enqueue_dmabuf(struct iio_buffer *buffer,
				     struct iio_dma_buffer_block *block,
				     struct dma_fence *fence, struct sg_table *sgt,
				     size_t size, bool cyclic)
{
	struct iiofab_sim_conv *conv = to_conv(buffer);
	struct iiofab_sim_xfer *xfer;

	scoped_guard(spinlock, &conv->queue_lock) {
		if (conv->queue_len == IIOFAB_SIM_QUEUE_MAX)
			return -EBUSY;
		xfer = &conv->queue[(conv->queue_head + conv->queue_len) %
				    IIOFAB_SIM_QUEUE_MAX];
		xfer->fence = fence;
		xfer->sgt = sgt;
		xfer->bytes = size;
		xfer->cyclic = cyclic;
		conv->queue_len++;
	}
	wake_up(&conv->engine_wq);
	return 0;
}

static void iiofab_sim_release(struct iio_buffer *buffer)
{
	struct iiofab_sim_conv *conv = to_conv(buffer);

	mutex_destroy(&conv->ring_lock);
	vfree(conv->ring);
	kvfree(conv);
}

static const struct iio_buffer_access_funcs iiofab_sim_access_funcs = {
	.read = iiofab_sim_read,
	.write = iiofab_sim_write,
	.data_available = iiofab_sim_data_available,
	.space_available = iiofab_sim_space_available,
	.request_update = iiofab_sim_request_update,
	.set_bytes_per_datum = iiofab_sim_set_bytes_per_datum,
	.set_length = iiofab_sim_set_length,
	.enable = iiofab_sim_enable,
	.disable = iiofab_sim_disable,
	.release = iiofab_sim_release,
	.attach_dmabuf = iiofab_sim_attach_dmabuf,
	.detach_dmabuf = iiofab_sim_detach_dmabuf,
	.enqueue_dmabuf = iiofab_sim_enqueue_dmabuf,
	.modes = INDIO_BUFFER_HARDWARE,
};

struct iiofab_sim_conv *iiofab_sim_conv_alloc(struct device *dev, bool output)
{
	struct iiofab_sim_conv *conv;

	conv = kvzalloc(sizeof(*conv), GFP_KERNEL);
	if (!conv)
		return NULL;

	conv->dev = dev;
	conv->sampling_frequency = IIOFAB_SIM_DEFAULT_RATE;
	conv->pattern = IIOFAB_SIM_PATTERN_RAMP;
	mutex_init(&conv->ring_lock);
	spin_lock_init(&conv->queue_lock);
	u64_stats_init(&conv->stats_sync);
	atomic_set(&conv->attached, 0);
	atomic64_set(&conv->drop_pending, 0);
	init_waitqueue_head(&conv->engine_wq);

	conv->buffer.access = &iiofab_sim_access_funcs;
	conv->buffer.direction = output ? IIO_BUFFER_DIRECTION_OUT :
					  IIO_BUFFER_DIRECTION_IN;
	conv->buffer.length = 4096;
	iio_buffer_init(&conv->buffer);
	return conv;
}

/*
 * Leaves the buffer to an IIO buffer file that outlives this module. That
 * file must then neither call into the module nor free anything through
 * it. So the driver's reference is never dropped, and the buffer's release
 * (code here) never runs; and its operations become the empty table in the
 * leaked memory. The core then fails read and write with -ENODEV (it sees
 * the device unregistered before it looks at the operations), the DMABUF
 * ioctls with -EPERM (they find no operation, or no attachment), and frees
 * only its own state when the file is closed. (A call that entered the
 * old operations before the device was unregistered and is still inside
 * them 10 s later is not covered: the core offers no way to drain them.)
 */
static void iiofab_sim_conv_orphan(struct iiofab_sim_conv *conv)
{
	WRITE_ONCE(conv->buffer.access, &conv->orphan_access);
	dev_err(conv->dev,
		"an IIO buffer file is still open after %d s: leaking its buffer (%zu bytes) so that closing it later is safe\n",
		IIOFAB_SIM_RELEASE_WAIT_S,
		sizeof(*conv) + conv->ring_size);
}

/*
 * Unbinding: drops the driver's reference to the buffer once it is the
 * last one, so that the buffer is released now, while its release callback
 * still exists.
 *
 * The IIO core's reference goes with the IIO device, which an open IIO
 * buffer file (IIO_BUFFER_GET_FD_IOCTL) keeps without pinning this module:
 * that file's operations belong to industrialio. So wait for it, bounded.
 * Once the device is gone nothing takes a new reference (attach_dmabuf()
 * is refused while the module unloads), so a count of one stays one.
 */
void iiofab_sim_conv_put(struct iiofab_sim_conv *conv)
{
	unsigned long deadline = jiffies + IIOFAB_SIM_RELEASE_WAIT_S * HZ;

	if (kref_read(&conv->buffer.ref) > 1)
		dev_warn(conv->dev,
			 "waiting up to %d s for a process to close its IIO buffer file\n",
			 IIOFAB_SIM_RELEASE_WAIT_S);
	while (kref_read(&conv->buffer.ref) > 1) {
		if (time_after(jiffies, deadline)) {
			iiofab_sim_conv_orphan(conv);
			return;
		}
		msleep(IIOFAB_SIM_RELEASE_POLL_MS);
	}
	iio_buffer_put(&conv->buffer);
}
