/* SPDX-License-Identifier: GPL-2.0 OR MIT */
/*
 * iiofab_sim: a simulated high-speed IIO ADC/DAC with DMABUF buffers.
 *
 * Each converter owns one IIO buffer that is its own data source or sink
 * (no trigger, like a DMA-based converter). A per-converter engine thread,
 * running between buffer enable and disable, moves whole scans between the
 * pattern generator/checker and either the fileio ring or the queue of
 * enqueued DMABUFs.
 */
#ifndef IIOFAB_SIM_H
#define IIOFAB_SIM_H

#include <linux/atomic.h>
#include <linux/iio/buffer_impl.h>
#include <linux/mutex.h>
#include <linux/spinlock.h>
#include <linux/types.h>
#include <linux/u64_stats_sync.h>
#include <linux/wait.h>

/* The ramp offsets channel c by 4096 * c, so 16 channels use up its range. */
#define IIOFAB_SIM_MAX_CHANNELS	16
/* Enqueued-but-unfinished DMABUF transfers per buffer; more is -EBUSY. */
#define IIOFAB_SIM_QUEUE_MAX	256
#define IIOFAB_SIM_DEFAULT_RATE	1000000

enum iiofab_sim_pattern {
	IIOFAB_SIM_PATTERN_RAMP,
	IIOFAB_SIM_PATTERN_SINE,	/* ADC only */
	IIOFAB_SIM_PATTERN_COUNTER,
};

/* One enqueued DMABUF: it keeps its place in the FIFO until its fence signals. */
struct iiofab_sim_xfer {
	struct dma_fence *fence;
	struct sg_table *sgt;
	size_t bytes;
	bool cyclic;
};

struct iiofab_sim_conv {
	/* First member: the IIO core only sees this. */
	struct iio_buffer buffer;
	struct device *dev;
	/*
	 * All NULL: the buffer's operations once this module may be gone
	 * while an IIO buffer file still holds the buffer (see
	 * iiofab_sim_conv_put()).
	 */
	struct iio_buffer_access_funcs orphan_access;

	/*
	 * Settings, read by enable. Written only in direct mode, which keeps
	 * them from changing between enable and disable; sysfs reads them
	 * without a lock.
	 */
	u32 sampling_frequency;
	enum iiofab_sim_pattern pattern;

	/*
	 * Counters, read by sysfs at any time. One writer at a time: enable
	 * resets them before it starts the engine thread, then only that
	 * thread adds to them until disable has stopped it. That is the
	 * u64_stats_sync model: plain loads and stores on 64-bit, a seqcount
	 * on 32-bit so that readers never see half an update. The engine is
	 * a preemptible thread, so writers disable preemption for the update
	 * (a reader preempting it on the same CPU would spin).
	 */
	struct u64_stats_sync stats_sync;
	u64_stats_t overruns;
	u64_stats_t underruns;
	u64_stats_t samples_consumed;
	u64_stats_t pattern_errors;
	u64_stats_t samples_produced;

	/* ADC: scans inject_drop asked to skip, not skipped yet. */
	atomic64_t drop_pending;

	/*
	 * Fileio ring of whole scans. head and tail are byte counters that
	 * only grow: the engine advances one, read()/write() the other.
	 * ring_lock serialises read()/write() against reallocation.
	 */
	struct mutex ring_lock;
	u8 *ring;
	size_t ring_size;
	bool ring_update;
	size_t ring_head;
	size_t ring_tail;

	/*
	 * DMABUF FIFO, in enqueue order. queue_lock is taken inside the core's
	 * fence-signalling section: nothing under it may allocate or wait.
	 */
	spinlock_t queue_lock;
	unsigned int queue_head;
	unsigned int queue_len;
	struct iiofab_sim_xfer queue[IIOFAB_SIM_QUEUE_MAX];
	atomic_t attached;

	/* Engine state, owned by the engine thread while it runs. */
	struct task_struct *engine;
	wait_queue_head_t engine_wq;
	u32 run_frequency;
	unsigned int nchans;
	unsigned int chans[IIOFAB_SIM_MAX_CHANNELS];
	size_t scan_bytes;
	u64 n;
	unsigned int pos;
	bool locked;
	bool scan_bad;
	size_t xfer_off;
	/* Produces (ADC) or checks (DAC) @bytes of the pattern, picked at enable. */
	void (*process)(struct iiofab_sim_conv *conv, void *mem, size_t bytes);
	__le16 *period;		/* one period of the pattern, interleaved */
	u32 period_scans;
	size_t period_vals;
};

struct iiofab_sim_conv *iiofab_sim_conv_alloc(struct device *dev, bool output);
void iiofab_sim_conv_put(struct iiofab_sim_conv *conv);
u64 iiofab_sim_counter_read(const struct iiofab_sim_conv *conv,
			    const u64_stats_t *counter);

static inline bool iiofab_sim_conv_is_output(const struct iiofab_sim_conv *conv)
{
	return conv->buffer.direction == IIO_BUFFER_DIRECTION_OUT;
}

#endif /* IIOFAB_SIM_H */
