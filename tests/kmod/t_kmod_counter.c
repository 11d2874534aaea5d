// SPDX-License-Identifier: MIT
/*
 * kmod.counter: the counter pattern, samples_produced and inject_drop.
 *   adc         DMABUF captures of the ADC's counter, several channel masks
 *               (more when the module has more channels), every scan checked
 *               against its index n from 0
 *   drop        unthrottled, 4 blocks queued: an inject_drop armed before
 *               enable leaves a hole of exactly N in the middle of the first
 *               block, one written mid-stream (large enough to move all four
 *               16-bit words of n) a hole of exactly M strictly inside a
 *               later block; overruns grew by N + M and samples_produced is
 *               the last scan index + 1
 *   drop-paced  the same at 1 MS/s, where the converter also drops scans
 *               between blocks and after the last one: the data shows every
 *               hole, and samples_produced = delivered + overruns
 *   dac         the DAC counts 0 pattern errors for a correct counter
 *               stream (4 and 3 channels, scans split across pages), exactly
 *               k for k corrupted samples in k scans, one for two samples of
 *               one scan, every scan of a stream that does not start at 0,
 *               and none across underruns
 *   check FILE NCHANS NSCANS [FIRST]
 *               a raw fileio capture (iio_readdev) of channels 0..NCHANS-1
 *               holds the counter from scan index FIRST (default 0)
 * Without overruns/underruns attributes (counters=0) the checks that need
 * them are skipped and everything else still runs.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "t_iio.h"

#define NBLOCKS		4
#define BLOCK_SIZE	(64 * 1024)
#define TOTAL_BLOCKS	256
#define DROP_BLOCKS	64
#define PACED_NBLOCKS	8
#define PACED_BLOCKS	128
#define CHUNK_SCANS	65536

/* Reads an attribute that counters=0 removes: 1 when it is absent. */
static int read_optional(int dev, const char *attr, uint64_t *value)
{
	int ret = t_attr_read_u64(dev, attr, value);

	if (ret == -ENOENT)
		return 1;
	return ret;
}

static unsigned int device_channels(int dev, bool output)
{
	unsigned int c;

	for (c = 0; c < 16; c++) {
		char attr[64], buf[16];

		snprintf(attr, sizeof(attr), "scan_elements/%s_voltage%u_en",
			 output ? "out" : "in", c);
		if (t_attr_read(dev, attr, buf, sizeof(buf)))
			break;
	}
	return c;
}

static unsigned int popcount(unsigned int mask)
{
	return (unsigned int)__builtin_popcount(mask);
}

static int setup(int dev, bool output, const char *rate, unsigned int mask)
{
	T_CHECK(!t_attr_write(dev, "sampling_frequency", rate), "sampling_frequency");
	T_CHECK(!t_attr_write(dev, "pattern", "counter"), "pattern counter");
	T_CHECK(!t_set_channels(dev, output, device_channels(dev, output), mask),
		"channels %#x", mask);
	return 0;
}

static int adc_mask(int dev, unsigned int mask)
{
	unsigned int nchans = popcount(mask);
	uint64_t scans = BLOCK_SIZE / (2 * nchans), produced, k;
	struct t_stream st;
	int ret;

	if (setup(dev, false, "0", mask))
		return 1;
	ret = t_stream_open(&st, dev, NBLOCKS, BLOCK_SIZE);
	T_CHECK(!ret, "arena, buffer fd, attach, enqueue: %s", strerror(-ret));
	T_CHECK(!t_buffer_enable(dev, true), "enable");
	for (k = 0; k < TOTAL_BLOCKS; k++) {
		int fd = st.arena.fds[k % NBLOCKS];
		uint64_t bad;

		T_CHECK(t_dmabuf_wait(fd, 10000) == 1, "block %" PRIu64 " pending", k);
		T_CHECK(!t_dmabuf_sync(fd, true, false), "sync start");
		bad = t_counter_check(t_arena_block(&st.arena, k % NBLOCKS), scans,
				      k * scans, nchans);
		T_CHECK(!t_dmabuf_sync(fd, false, false), "sync end");
		T_CHECK(!bad, "mask %#x block %" PRIu64 ": %" PRIu64 " samples off the counter",
			mask, k, bad);
		if (k + NBLOCKS < TOTAL_BLOCKS)
			T_CHECK(!t_dmabuf_enqueue(st.buf_fd, fd, BLOCK_SIZE, false),
				"re-enqueue");
	}
	T_CHECK(!t_buffer_enable(dev, false), "disable");
	T_CHECK(!t_attr_read_u64(dev, "samples_produced", &produced), "samples_produced");
	T_CHECK(produced == TOTAL_BLOCKS * scans, "samples_produced %" PRIu64
		", want %" PRIu64, produced, TOTAL_BLOCKS * scans);
	t_stream_close(&st);
	t_log("ok: mask %#x: %d blocks of %" PRIu64 " scans hold scan indices 0..%"
	      PRIu64 ", samples_produced agrees", mask, TOTAL_BLOCKS, scans,
	      TOTAL_BLOCKS * scans - 1);
	return 0;
}

static int test_adc(int dev)
{
	unsigned int nchans = device_channels(dev, false), all = (1u << nchans) - 1;
	unsigned int masks[8], nmasks = 0, i;

	masks[nmasks++] = all;
	masks[nmasks++] = 0x1;		/* n mod 2^16 */
	if (nchans >= 3)
		masks[nmasks++] = 0x6;	/* n mod 2^32 */
	if (nchans >= 4)
		masks[nmasks++] = 0xb;	/* n mod 2^48, scans split across pages */
	if (nchans >= 8)
		masks[nmasks++] = 0xf6;	/* 6 channels: positions 4, 5 repeat 0, 1 */
	for (i = 0; i < nmasks; i++)
		if (adc_mask(dev, masks[i]))
			return 1;
	return 0;
}

/*
 * Walks one block of 4-channel counter scans. The first scan must be
 * w->next (when @strict) or later; inside the block every scan must follow
 * the previous one, except for at most one hole, returned through
 * *hole_at (scan position in the block, 0 if none) and *hole (its size).
 */
struct walk {
	uint64_t next;		/* index the next scan should have */
	uint64_t between;	/* scans missing between blocks */
};

static int walk_block(const uint16_t *data, uint64_t scans, struct walk *w,
		      bool strict, uint64_t *hole_at, uint64_t *hole)
{
	uint64_t i, first = t_counter_index(data, 4), prev;

	T_CHECK(t_counter_check(data, 1, first, 4) == 0, "first scan inconsistent");
	T_CHECK(first == w->next || (!strict && first > w->next),
		"block starts at scan %" PRIu64 ", want %s%" PRIu64, first,
		strict ? "" : ">= ", w->next);
	w->between += first - w->next;
	*hole_at = 0;
	*hole = 0;
	prev = first;
	for (i = 1; i < scans; i++) {
		uint64_t n = t_counter_index(data + i * 4, 4);

		if (n != prev + 1) {
			T_CHECK(!*hole_at, "second hole in a block, at scan %" PRIu64
				" (index %" PRIu64 " after %" PRIu64 ")", i, n, prev);
			*hole_at = i;
			*hole = n - prev - 1;
		}
		prev = n;
	}
	w->next = prev + 1;
	return 0;
}

/*
 * One capture with inject_drop: @armed is written before enable, @late
 * after block @late_at has been checked. Unthrottled (@paced false) the
 * converter loses nothing else; at 1 MS/s it may lose scans between
 * blocks and after the last, which the data and the counters must agree on.
 */
static int drop_run(int dev, bool paced, uint64_t armed, uint64_t late,
		    unsigned int late_at)
{
	const unsigned int nblocks = paced ? PACED_NBLOCKS : NBLOCKS;
	const unsigned int total = paced ? PACED_BLOCKS : DROP_BLOCKS;
	const uint64_t scans = BLOCK_SIZE / (2 * 4);
	uint64_t hole_at, hole, produced, overruns = 0, seen_late = 0;
	struct walk w = { 0, 0 };
	struct t_stream st;
	unsigned int k;
	int ret, no_overruns;

	if (setup(dev, false, paced ? "1000000" : "0", 0xf))
		return 1;
	ret = t_stream_open(&st, dev, nblocks, BLOCK_SIZE);
	T_CHECK(!ret, "arena, buffer fd, attach, enqueue: %s", strerror(-ret));
	if (armed)
		T_CHECK(!t_attr_write_u64(dev, "inject_drop", armed), "inject_drop");
	T_CHECK(!t_buffer_enable(dev, true), "enable");
	for (k = 0; k < total; k++) {
		int fd = st.arena.fds[k % nblocks];
		const uint16_t *data = t_arena_block(&st.arena, k % nblocks);

		T_CHECK(t_dmabuf_wait(fd, 10000) == 1, "block %u pending", k);
		T_CHECK(!t_dmabuf_sync(fd, true, false), "sync start");
		ret = walk_block(data, scans, &w, !paced, &hole_at, &hole);
		T_CHECK(!t_dmabuf_sync(fd, false, false), "sync end");
		if (ret)
			return 1;
		if (k == 0 && armed) {
			/* Armed before enable: the middle of the very first block. */
			T_CHECK(hole_at == scans / 2 && hole == armed,
				"block 0: hole of %" PRIu64 " at scan %" PRIu64
				", want %" PRIu64 " at %" PRIu64, hole, hole_at,
				armed, scans / 2);
		} else if (hole_at) {
			T_CHECK(late && k > late_at && !seen_late,
				"block %u: unexpected hole of %" PRIu64 " at scan %" PRIu64,
				k, hole, hole_at);
			T_CHECK(hole == late && hole_at >= scans / 2,
				"block %u: hole of %" PRIu64 " at scan %" PRIu64
				", want %" PRIu64 " at or after %" PRIu64, k, hole,
				hole_at, late, scans / 2);
			seen_late = hole;
			t_log("  block %u: hole of %" PRIu64 " scans at scan %" PRIu64,
			      k, hole, hole_at);
		}
		if (k == late_at && late)
			T_CHECK(!t_attr_write_u64(dev, "inject_drop", late), "inject_drop");
		if (k + nblocks < total)
			T_CHECK(!t_dmabuf_enqueue(st.buf_fd, fd, BLOCK_SIZE, false),
				"re-enqueue");
	}
	T_CHECK(!late || seen_late == late, "the mid-stream drop never showed");
	/* Paced, the converter now drops every scan: nowhere to put them. */
	if (paced)
		t_sleep_ms(20);
	T_CHECK(!t_buffer_enable(dev, false), "disable");
	T_CHECK(!t_attr_read_u64(dev, "samples_produced", &produced), "samples_produced");
	no_overruns = read_optional(dev, "overruns", &overruns);
	T_CHECK(no_overruns >= 0, "overruns");
	t_stream_close(&st);

	/* Every scan produced was delivered, or seen missing, or came after. */
	T_CHECK(produced >= w.next, "samples_produced %" PRIu64 " < last index + 1 = %"
		PRIu64, produced, w.next);
	if (!paced)
		T_CHECK(produced == w.next, "samples_produced %" PRIu64
			", want last index + 1 = %" PRIu64, produced, w.next);
	if (!no_overruns) {
		uint64_t delivered = (uint64_t)total * scans;

		T_CHECK(overruns == w.between + armed + late + (produced - w.next),
			"overruns %" PRIu64 ", want %" PRIu64 " between blocks + %" PRIu64
			" + %" PRIu64 " injected + %" PRIu64 " after the last block",
			overruns, w.between, armed, late, produced - w.next);
		T_CHECK(produced == delivered + overruns, "samples_produced %" PRIu64
			" != %" PRIu64 " delivered + %" PRIu64 " overruns", produced,
			delivered, overruns);
	}
	t_log("ok: %s inject_drop: holes of %" PRIu64 " and %" PRIu64 " where asked; "
	      "%" PRIu64 " lost between blocks, %" PRIu64 " after the last; "
	      "samples_produced %" PRIu64 "%s", paced ? "1 MS/s" : "unthrottled",
	      armed, late, w.between, produced - w.next, produced,
	      no_overruns ? " (no overruns attribute)" : ", overruns agree");
	return 0;
}

static int test_drop(int dev, bool paced)
{
	T_CHECK(device_channels(dev, false) >= 4, "the drop tests need 4 channels");
	T_CHECK(t_attr_write(dev, "inject_drop", "x") == -EINVAL,
		"inject_drop accepted x");
	if (paced)
		return drop_run(dev, true, 0, 5000, 32);
	return drop_run(dev, false, 1000, 0x0123456789abcdefull, 16);
}

/* Fills DAC block @b with the counter from @n; @corrupt lists positions. */
struct corruption {
	unsigned int block;
	uint64_t scan;
	unsigned int pos;
	uint16_t xor;
};

static int dac_fill(struct t_arena *arena, unsigned int b, uint64_t n,
		    unsigned int nchans, unsigned int k,
		    const struct corruption *bad, unsigned int nbad)
{
	uint16_t *data = t_arena_block(arena, b);
	uint64_t scans = arena->block_size / (2 * nchans);
	unsigned int i;

	T_CHECK(!t_dmabuf_sync(arena->fds[b], true, true), "sync start");
	t_counter_fill(data, scans, n, nchans);
	for (i = 0; i < nbad; i++)
		if (bad[i].block == k)
			data[bad[i].scan * nchans + bad[i].pos] ^= bad[i].xor;
	T_CHECK(!t_dmabuf_sync(arena->fds[b], false, true), "sync end");
	return 0;
}

/*
 * Pushes @total blocks of counter from scan index @start through the DAC,
 * NBLOCKS in flight, and checks its counters after disable.
 */
static int dac_run(int dev, unsigned int mask, unsigned int total, uint64_t start,
		   const struct corruption *bad, unsigned int nbad,
		   uint64_t want_errors)
{
	unsigned int nchans = popcount(mask), k;
	uint64_t scans = BLOCK_SIZE / (2 * nchans), consumed, errors;
	struct t_arena arena;
	int chr_fd, buf_fd, ret;

	if (setup(dev, true, "0", mask))
		return 1;
	ret = t_arena_create(&arena, NBLOCKS, BLOCK_SIZE);
	T_CHECK(!ret, "arena: %s", strerror(-ret));
	ret = t_open_buffer(dev, &chr_fd, &buf_fd);
	T_CHECK(!ret, "buffer fd: %s", strerror(-ret));
	for (k = 0; k < NBLOCKS; k++)
		T_CHECK(!t_dmabuf_attach(buf_fd, arena.fds[k]), "attach %u", k);
	for (k = 0; k < total; k++) {
		unsigned int b = k % NBLOCKS;

		if (k >= NBLOCKS)
			T_CHECK(t_dmabuf_wait(arena.fds[b], 10000) == 1,
				"block %u pending", k - NBLOCKS);
		if (dac_fill(&arena, b, start + k * scans, nchans, k, bad, nbad))
			return 1;
		T_CHECK(!t_dmabuf_enqueue(buf_fd, arena.fds[b], BLOCK_SIZE, false),
			"enqueue %u", k);
		if (k == NBLOCKS - 1 || (k == total - 1 && total < NBLOCKS))
			T_CHECK(!t_buffer_enable(dev, true), "enable");
	}
	for (k = 0; k < NBLOCKS && k < total; k++)
		T_CHECK(t_dmabuf_wait(arena.fds[k], 10000) == 1, "final blocks");
	T_CHECK(!t_buffer_enable(dev, false), "disable");
	T_CHECK(!t_attr_read_u64(dev, "samples_consumed", &consumed), "read");
	T_CHECK(!t_attr_read_u64(dev, "pattern_errors", &errors), "read");
	close(buf_fd);
	close(chr_fd);
	t_arena_destroy(&arena);
	T_CHECK(consumed == total * scans, "samples_consumed %" PRIu64 ", want %" PRIu64,
		consumed, total * scans);
	T_CHECK(errors == want_errors, "mask %#x from %" PRIu64 ": pattern_errors %"
		PRIu64 ", want %" PRIu64, mask, start, errors, want_errors);
	return 0;
}

/* At 1 MS/s, with a dry spell between two halves: underruns do not move n. */
static int dac_dry(int dev)
{
	const uint64_t scans = BLOCK_SIZE / (2 * 4);
	uint64_t consumed, errors, underruns = 0;
	struct t_arena arena;
	int chr_fd, buf_fd, ret, no_underruns;
	unsigned int k;

	if (setup(dev, true, "1000000", 0xf))
		return 1;
	ret = t_arena_create(&arena, NBLOCKS, BLOCK_SIZE);
	T_CHECK(!ret, "arena: %s", strerror(-ret));
	ret = t_open_buffer(dev, &chr_fd, &buf_fd);
	T_CHECK(!ret, "buffer fd: %s", strerror(-ret));
	for (k = 0; k < NBLOCKS; k++)
		T_CHECK(!t_dmabuf_attach(buf_fd, arena.fds[k]), "attach %u", k);
	for (k = 0; k < 2 * NBLOCKS; k++) {
		unsigned int b = k % NBLOCKS;

		if (k == NBLOCKS) {
			unsigned int i;

			for (i = 0; i < NBLOCKS; i++)
				T_CHECK(t_dmabuf_wait(arena.fds[i], 10000) == 1, "first half");
			t_sleep_ms(50);
		}
		if (dac_fill(&arena, b, k * scans, 4, k, NULL, 0))
			return 1;
		T_CHECK(!t_dmabuf_enqueue(buf_fd, arena.fds[b], BLOCK_SIZE, false),
			"enqueue %u", k);
		if (k == 0)
			T_CHECK(!t_buffer_enable(dev, true), "enable");
	}
	for (k = 0; k < NBLOCKS; k++)
		T_CHECK(t_dmabuf_wait(arena.fds[k], 10000) == 1, "second half");
	T_CHECK(!t_buffer_enable(dev, false), "disable");
	T_CHECK(!t_attr_read_u64(dev, "samples_consumed", &consumed), "read");
	T_CHECK(!t_attr_read_u64(dev, "pattern_errors", &errors), "read");
	no_underruns = read_optional(dev, "underruns", &underruns);
	T_CHECK(no_underruns >= 0, "underruns");
	close(buf_fd);
	close(chr_fd);
	t_arena_destroy(&arena);
	T_CHECK(consumed == 2 * NBLOCKS * scans, "samples_consumed %" PRIu64, consumed);
	T_CHECK(errors == 0, "pattern errors across a dry spell: %" PRIu64, errors);
	T_CHECK(no_underruns || underruns > 0, "no underruns in the dry spell");
	if (no_underruns)
		t_log("ok: dac at 1 MS/s: no pattern error across a dry spell"
		      " (no underruns attribute)");
	else
		t_log("ok: dac at 1 MS/s: no pattern error across %" PRIu64
		      " underruns", underruns);
	return 0;
}

static int test_dac(int dev)
{
	/* 4 channels: 512 scans a page. Five samples in five scans. */
	static const struct corruption five[] = {
		{ 1, 0, 0, 0x0001 },
		{ 2, 100, 1, 0x8000 },
		{ 3, 511, 2, 0x0100 },
		{ 3, 512, 3, 0x0001 },
		{ 7, 8191, 3, 0xffff },
	};
	static const struct corruption same_scan[] = {
		{ 2, 7, 0, 0x0001 },
		{ 2, 7, 1, 0x0001 },
	};
	/* 3 channels: scan 682 of a block spans its first two pages. */
	static const struct corruption split[] = {
		{ 2, 682, 2, 0x0001 },
		{ 4, 682, 0, 0x0400 },
		{ 6, 682, 1, 0x0001 },
	};
	char buf[64];

	T_CHECK(!t_attr_read(dev, "pattern_available", buf, sizeof(buf)), "read");
	T_CHECK(!strcmp(buf, "ramp counter"), "dac pattern_available '%s'", buf);
	T_CHECK(t_attr_write(dev, "pattern", "sine") == -EINVAL, "dac accepted sine");

	if (dac_run(dev, 0xf, 64, 0, NULL, 0, 0))
		return 1;
	t_log("ok: dac: 64 blocks of counter, 4 channels, no pattern error");
	if (dac_run(dev, 0xf, 8, 0, five, 5, 5))
		return 1;
	t_log("ok: dac: 5 corrupted samples in 5 scans, 5 pattern errors");
	if (dac_run(dev, 0xf, 4, 0, same_scan, 2, 1))
		return 1;
	t_log("ok: dac: 2 corrupted samples of one scan, 1 pattern error");
	if (dac_run(dev, 0x7, 64, 0, NULL, 0, 0))
		return 1;
	t_log("ok: dac: 64 blocks of counter, 3 channels (scans across pages), no error");
	if (dac_run(dev, 0x7, 8, 0, split, 3, 3))
		return 1;
	t_log("ok: dac: 3 corrupted samples of scans split across pages, 3 errors");
	/* No lock onto the first scan: every scan of this stream is off. */
	if (dac_run(dev, 0xf, 4, 1000, NULL, 0, 4ull * BLOCK_SIZE / 8))
		return 1;
	t_log("ok: dac: a counter stream starting at 1000 is wrong in every scan");
	return dac_dry(dev);
}

static int check_file(const char *path, unsigned int nchans, uint64_t want,
		      uint64_t first)
{
	uint64_t n = 0, bad = 0;
	uint16_t *buf;
	size_t got;
	FILE *f;

	T_CHECK(nchans >= 1 && nchans <= 16, "bad channel count %u", nchans);
	f = fopen(path, "rbe");
	T_CHECK(f, "%s: %s", path, strerror(errno));
	buf = malloc((size_t)CHUNK_SCANS * nchans * sizeof(*buf));
	T_CHECK(buf, "out of memory");
	while ((got = fread(buf, nchans * sizeof(*buf), CHUNK_SCANS, f)) > 0) {
		bad += t_counter_check(buf, got, first + n, nchans);
		n += got;
	}
	free(buf);
	fclose(f);
	T_CHECK(n == want, "%s: %" PRIu64 " scans, want %" PRIu64, path, n, want);
	T_CHECK(!bad, "%s: %" PRIu64 " samples off the counter", path, bad);
	t_log("ok: %" PRIu64 " scans of %u channels hold the counter from %" PRIu64,
	      n, nchans, first);
	return 0;
}

static int run(int argc, char **argv)
{
	const char *cmd = argv[1];
	int dev, ret;

	if (!strcmp(cmd, "check") && (argc == 5 || argc == 6))
		return check_file(argv[2], (unsigned int)strtoul(argv[3], NULL, 0),
				  strtoull(argv[4], NULL, 0),
				  argc == 6 ? strtoull(argv[5], NULL, 0) : 0);
	if (argc != 2)
		return 2;
	dev = t_find_device(strcmp(cmd, "dac") ? "adc0" : "dac0");
	T_CHECK(dev >= 0, "no iiofab-sim converter: is iiofab_sim loaded?");
	if (!strcmp(cmd, "adc"))
		ret = test_adc(dev);
	else if (!strcmp(cmd, "drop") || !strcmp(cmd, "drop-paced"))
		ret = test_drop(dev, !strcmp(cmd, "drop-paced"));
	else if (!strcmp(cmd, "dac"))
		ret = test_dac(dev);
	else
		return 2;
	/* Leave the defaults for whatever runs next. */
	t_attr_write(dev, "pattern", "ramp");
	t_attr_write(dev, "sampling_frequency", "1000000");
	return ret;
}

int main(int argc, char **argv)
{
	int ret = argc >= 2 ? run(argc, argv) : 2;

	if (ret == 2)
		fprintf(stderr, "usage: %s adc|drop|drop-paced|dac|check FILE NCHANS NSCANS [FIRST]\n",
			argv[0]);
	return ret;
}
