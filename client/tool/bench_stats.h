/* SPDX-License-Identifier: MIT */
/*
 * The figures of `iiofab bench`: per-block latencies, nearest-rank
 * percentiles, and the report as JSON, as a table and as one summary line.
 * No RDMA and no I/O, so tests/unit/test_bench_stats.c runs it natively.
 */
#ifndef IIOFAB_BENCH_STATS_H
#define IIOFAB_BENCH_STATS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Per-block latencies in ns, in arrival order until summarized. */
struct bench_lat {
	uint64_t *ns;
	size_t n;
	size_t cap;
};

/* Appends one latency, growing the array; 0 or -ENOMEM. */
int bench_lat_add(struct bench_lat *lat, uint64_t ns);
/* Frees the array; a zeroed or freed lat is fine. */
void bench_lat_free(struct bench_lat *lat);

/*
 * Nearest-rank percentile of n ascending values: the smallest value that at
 * least pct percent of them do not exceed, sorted[ceil(pct * n / 100) - 1].
 * pct is 1..100 (100: the maximum). 0, -ENODATA when n is 0, -EINVAL for a
 * pct out of range.
 */
int bench_percentile(const uint64_t *sorted, size_t n, unsigned int pct,
		     uint64_t *out);

struct bench_lat_summary {
	size_t n;		/* latencies; 0: no figures below */
	double mean_us;
	double p50_us;
	double p99_us;
	double max_us;
};

/* Sorts lat in place and summarizes it in microseconds; -ENODATA (and
 * s->n == 0) when it is empty. */
int bench_lat_summarize(struct bench_lat *lat, struct bench_lat_summary *s);

/* One run: what was streamed and what the counted window saw. */
/*
 * Where the time from the command's start to the first block goes, in ms:
 * iiofab_connect (address and route resolution, the RC connection, the
 * handshake, the device table), opening the stream (OPEN_STREAM: the
 * board's arena, DMABUF attach and registration; the landing buffer's
 * registration), its START, and from START's reply to the first block
 * landed. total 0: not measured (no block landed).
 */
struct bench_startup {
	double connect_ms;
	double open_ms;
	double start_ms;
	double first_block_ms;
	double total_ms;
};

struct bench_report {
	const char *device;
	bool output;			/* a DAC stream pushed, not an ADC's taken */
	const char *reg_path;
	size_t block_size;
	unsigned int block_count;
	unsigned int channels;
	double seconds;			/* the counted window, after warm-up */
	uint64_t bytes;
	uint64_t samples;		/* scans */
	uint64_t blocks;		/* blocks received (input) or consumed
					 * and given back (output) in the window */
	uint64_t lost_samples;		/* input */
	uint64_t underruns;		/* output: scans the converter had no
					 * data for in the window */
	struct bench_lat_summary lat;
	struct bench_startup startup;
};

/* Rates over r->seconds; 0 for an empty window. MB is 10^6 bytes. */
double bench_mb_s(const struct bench_report *r);
double bench_blocks_per_s(const struct bench_report *r);

/*
 * Each writes a NUL-terminated text into buf and returns its length, or
 * -ENOSPC when len is too small. JSON: one object on one line, its keys
 * listed in `iiofab bench --help`, null for latencies without data. Line:
 *   bench: N blocks, R MB/s, B blocks/s, latency p50 X us p99 Y us max Z us, L lost
 * ending in ", U underruns" instead for an output stream.
 * Table: one "name  value" line per figure. JSON and table carry the
 * startup only when it was measured.
 */
int bench_format_json(const struct bench_report *r, char *buf, size_t len);
int bench_format_line(const struct bench_report *r, char *buf, size_t len);
int bench_format_table(const struct bench_report *r, char *buf, size_t len);
/* "first block after T ms: connect ... A ms, stream open B ms, ..." */
int bench_format_startup(const struct bench_startup *s, char *buf, size_t len);

#endif /* IIOFAB_BENCH_STATS_H */
