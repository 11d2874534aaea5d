// SPDX-License-Identifier: MIT
/* The figures of `iiofab bench` and their three renderings (bench_stats.h). */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>

#include "bench_stats.h"

int bench_lat_add(struct bench_lat *lat, uint64_t ns)
{
	if (lat->n == lat->cap) {
		size_t cap = lat->cap ? 2 * lat->cap : 4096;
		uint64_t *p;

		if (cap > SIZE_MAX / sizeof(*p))
			return -ENOMEM;
		p = realloc(lat->ns, cap * sizeof(*p));
		if (!p)
			return -ENOMEM;
		lat->ns = p;
		lat->cap = cap;
	}
	lat->ns[lat->n++] = ns;
	return 0;
}

void bench_lat_free(struct bench_lat *lat)
{
	free(lat->ns);
	lat->ns = NULL;
	lat->n = 0;
	lat->cap = 0;
}

int bench_percentile(const uint64_t *sorted, size_t n, unsigned int pct,
		     uint64_t *out)
{
	if (pct < 1 || pct > 100)
		return -EINVAL;
	if (!n)
		return -ENODATA;
	/* ceil(pct * n / 100), in integers: no rounding at the edges. */
	*out = sorted[(pct * n + 99) / 100 - 1];
	return 0;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

int bench_lat_summarize(struct bench_lat *lat, struct bench_lat_summary *s)
{
	uint64_t p50 = 0, p99 = 0;
	double sum = 0;

	*s = (struct bench_lat_summary){ 0 };
	if (!lat->n)
		return -ENODATA;
	qsort(lat->ns, lat->n, sizeof(*lat->ns), cmp_u64);
	for (size_t i = 0; i < lat->n; i++)
		sum += (double)lat->ns[i];
	bench_percentile(lat->ns, lat->n, 50, &p50);
	bench_percentile(lat->ns, lat->n, 99, &p99);
	s->n = lat->n;
	s->mean_us = sum / (double)lat->n / 1e3;
	s->p50_us = (double)p50 / 1e3;
	s->p99_us = (double)p99 / 1e3;
	s->max_us = (double)lat->ns[lat->n - 1] / 1e3;
	return 0;
}

double bench_mb_s(const struct bench_report *r)
{
	return r->seconds > 0 ? (double)r->bytes / r->seconds / 1e6 : 0.0;
}

double bench_blocks_per_s(const struct bench_report *r)
{
	return r->seconds > 0 ? (double)r->blocks / r->seconds : 0.0;
}

/* ---- text building -------------------------------------------------------- */

struct sbuf {
	char *p;
	size_t len;
	size_t pos;
	bool full;
};

__attribute__((format(printf, 2, 3)))
static void sb_printf(struct sbuf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (b->full)
		return;
	va_start(ap, fmt);
	n = vsnprintf(b->p + b->pos, b->len - b->pos, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= b->len - b->pos)
		b->full = true;
	else
		b->pos += (size_t)n;
}

static int sb_done(const struct sbuf *b)
{
	if (b->full) {
		if (b->len)
			b->p[0] = '\0';
		return -ENOSPC;
	}
	return (int)b->pos;
}

static void sb_json_str(struct sbuf *b, const char *s)
{
	if (!s) {
		sb_printf(b, "null");
		return;
	}
	sb_printf(b, "\"");
	for (const unsigned char *c = (const unsigned char *)s; *c; c++) {
		if (*c == '"' || *c == '\\')
			sb_printf(b, "\\%c", *c);
		else if (*c < 0x20)
			sb_printf(b, "\\u%04x", *c);
		else
			sb_printf(b, "%c", *c);
	}
	sb_printf(b, "\"");
}

/* A latency figure with the given decimals, or none without data. */
static void sb_lat(struct sbuf *b, const struct bench_lat_summary *lat,
		   double us, int decimals, const char *none)
{
	if (lat->n)
		sb_printf(b, "%.*f", decimals, us);
	else
		sb_printf(b, "%s", none);
}

/* What the stream missed: scans lost (input) or underrun (output). */
static uint64_t loss(const struct bench_report *r)
{
	return r->output ? r->underruns : r->lost_samples;
}

static const char *loss_key(const struct bench_report *r)
{
	return r->output ? "underruns" : "lost_samples";
}

#define N_LAT_FIGURES 4

struct lat_figure {
	const char *name;	/* the JSON key */
	double us;
};

/* The latency figures in report order. */
static void lat_figures(const struct bench_lat_summary *lat,
			struct lat_figure f[N_LAT_FIGURES])
{
	f[0] = (struct lat_figure){ "mean", lat->mean_us };
	f[1] = (struct lat_figure){ "p50", lat->p50_us };
	f[2] = (struct lat_figure){ "p99", lat->p99_us };
	f[3] = (struct lat_figure){ "max", lat->max_us };
}

int bench_format_json(const struct bench_report *r, char *buf, size_t len)
{
	struct sbuf b = { .p = buf, .len = len };
	struct lat_figure f[N_LAT_FIGURES];

	lat_figures(&r->lat, f);
	sb_printf(&b, "{\"device\":");
	sb_json_str(&b, r->device);
	sb_printf(&b, ",\"direction\":\"%s\"", r->output ? "output" : "input");
	sb_printf(&b, ",\"block_size\":%zu,\"blocks\":%u,\"channels\":%u,"
		  "\"reg_path\":", r->block_size, r->block_count, r->channels);
	sb_json_str(&b, r->reg_path);
	sb_printf(&b, ",\"seconds\":%.3f,\"bytes\":%" PRIu64 ",\"samples\":%"
		  PRIu64 ",\"blocks_received\":%" PRIu64 ",\"mb_s\":%.3f,"
		  "\"blocks_per_s\":%.3f,\"%s\":%" PRIu64
		  ",\"latency_us\":{\"n\":%zu", r->seconds, r->bytes, r->samples,
		  r->blocks, bench_mb_s(r), bench_blocks_per_s(r), loss_key(r),
		  loss(r), r->lat.n);
	for (int i = 0; i < N_LAT_FIGURES; i++) {
		sb_printf(&b, ",\"%s\":", f[i].name);
		sb_lat(&b, &r->lat, f[i].us, 3, "null");
	}
	sb_printf(&b, "},\"startup_ms\":");
	if (r->startup.total_ms > 0)
		sb_printf(&b, "{\"connect\":%.3f,\"open\":%.3f,\"start\":%.3f,"
			  "\"first_block\":%.3f,\"total\":%.3f}", r->startup.connect_ms,
			  r->startup.open_ms, r->startup.start_ms, r->startup.first_block_ms,
			  r->startup.total_ms);
	else
		sb_printf(&b, "null");
	sb_printf(&b, "}\n");
	return sb_done(&b);
}

int bench_format_startup(const struct bench_startup *s, char *buf, size_t len)
{
	struct sbuf b = { .p = buf, .len = len };

	sb_printf(&b, "first block after %.1f ms: connect, handshake and device table "
		  "%.1f ms, stream open %.1f ms, START %.1f ms, first block %.1f ms\n",
		  s->total_ms, s->connect_ms, s->open_ms, s->start_ms, s->first_block_ms);
	return sb_done(&b);
}

int bench_format_line(const struct bench_report *r, char *buf, size_t len)
{
	struct sbuf b = { .p = buf, .len = len };
	const struct bench_lat_summary *lat = &r->lat;

	sb_printf(&b, "bench: %" PRIu64 " blocks, %.2f MB/s, %.1f blocks/s, "
		  "latency p50 ", r->blocks, bench_mb_s(r),
		  bench_blocks_per_s(r));
	sb_lat(&b, lat, lat->p50_us, 1, "n/a");
	sb_printf(&b, " us p99 ");
	sb_lat(&b, lat, lat->p99_us, 1, "n/a");
	sb_printf(&b, " us max ");
	sb_lat(&b, lat, lat->max_us, 1, "n/a");
	sb_printf(&b, " us, %" PRIu64 " %s\n", loss(r), r->output ? "underruns" : "lost");
	return sb_done(&b);
}

int bench_format_table(const struct bench_report *r, char *buf, size_t len)
{
	struct sbuf b = { .p = buf, .len = len };
	struct lat_figure f[N_LAT_FIGURES];

	lat_figures(&r->lat, f);
	sb_printf(&b, "%-16s%s\n", "device", r->device ? r->device : "?");
	sb_printf(&b, "%-16s%u\n", "channels", r->channels);
	sb_printf(&b, "%-16s%zu bytes\n", "block size", r->block_size);
	sb_printf(&b, "%-16s%u\n", "blocks", r->block_count);
	sb_printf(&b, "%-16s%s\n", "reg path", r->reg_path ? r->reg_path : "?");
	sb_printf(&b, "%-16s%.3f\n", "seconds", r->seconds);
	sb_printf(&b, "%-16s%" PRIu64 "\n", "bytes", r->bytes);
	sb_printf(&b, "%-16s%" PRIu64 "\n", "samples", r->samples);
	sb_printf(&b, "%-16s%" PRIu64 "\n", r->output ? "blocks consumed" :
		  "blocks received", r->blocks);
	sb_printf(&b, "%-16s%.2f\n", "MB/s", bench_mb_s(r));
	sb_printf(&b, "%-16s%.1f\n", "blocks/s", bench_blocks_per_s(r));
	sb_printf(&b, "%-16s%" PRIu64 "\n", r->output ? "underruns" : "lost samples",
		  loss(r));
	sb_printf(&b, "%-16s%zu\n", "latency n", r->lat.n);
	for (int i = 0; i < N_LAT_FIGURES; i++) {
		sb_printf(&b, "latency %-8s", f[i].name);
		sb_lat(&b, &r->lat, f[i].us, 1, "n/a");
		sb_printf(&b, "%s\n", r->lat.n ? " us" : "");
	}
	if (r->startup.total_ms > 0)
		sb_printf(&b, "%-16s%.1f ms\n", "first block", r->startup.total_ms);
	return sb_done(&b);
}
