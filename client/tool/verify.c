// SPDX-License-Identifier: MIT
/*
 * capture --verify ramp|counter: every delivered sample checked against the
 * simulator's pattern at the scan index its block's first_sample names
 * (kmod/README.md defines both patterns), and the accounting checked with
 * it: each block starts where the previous one ended plus the loss it
 * reports. With the counter pattern on four or more channels the data
 * carries each scan's full 64-bit index, so a block that passes proves the
 * daemon's first_sample, and with it every loss report, exact. Where each
 * sample sits in a scan is the library's to say
 * (iiofab_stream_get_channel_offset), not computed again here.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>

#include "tool.h"

/* The first few bad blocks are described; the rest only counted. */
#define DESCRIBED_BAD_BLOCKS 5

int tool_verify_init(struct tool_verifier *v, enum tool_pattern pattern,
		     const struct iiofab_stream *s)
{
	*v = (struct tool_verifier){
		.pattern = pattern,
		.shard = iiofab_stream_get_mode(s) == IIOFAB_STREAM_SHARD,
	};
	return tool_stream_layout(s, pattern, &v->l);
}

static uint64_t load_sample(const uint8_t *p, unsigned int sz, bool be)
{
	uint64_t x = 0;

	for (unsigned int i = 0; i < sz; i++)
		x |= (uint64_t)p[be ? i : sz - 1 - i] << (8 * (sz - 1 - i));
	return x;
}

/* Channel c's value in scan n of data. */
static uint64_t sample(const struct tool_verifier *v, const uint8_t *data,
		       size_t n, unsigned int c)
{
	const struct iiofab_data_format *f = &v->l.fmt[c];
	uint64_t raw = load_sample(data + n * v->l.scan_bytes + v->l.offset[c],
				   f->storage_bits / 8, f->big_endian);

	return (raw >> f->shift) & tool_bits_mask(f);
}

static uint64_t expected(const struct tool_verifier *v, uint64_t idx, unsigned int c)
{
	return tool_pattern_value(&v->l, v->pattern, idx, c);
}

/* The scan index the first scan of data names, as far as the pattern tells. */
static uint64_t index_of(const struct tool_verifier *v, const uint8_t *data, uint64_t *modulus)
{
	uint64_t idx = 0;

	if (v->pattern == TOOL_PATTERN_RAMP) {
		*modulus = tool_bits_mask(&v->l.fmt[0]) + 1;
		return (sample(v, data, 0, 0) - 4096ull * v->l.scan_index[0]) & (*modulus - 1);
	}
	for (unsigned int c = 0; c < v->l.n && c < 4; c++)
		idx |= sample(v, data, 0, c) << (16 * c);
	*modulus = v->l.n >= 4 ? 0 : 1ull << (16 * v->l.n);	/* 0: 2^64 */
	return idx;
}

/*
 * Tells a block that is an intact pattern starting at the wrong scan
 * (misplaced: the first_sample accounting is off) from one whose data is
 * broken (torn), and describes the first few.
 */
static void classify_bad_block(struct tool_verifier *v, const struct iiofab_block *b)
{
	uint64_t modulus, start = index_of(v, b->data, &modulus);
	uint64_t off = start - b->first_sample;
	bool intact = true;

	for (size_t n = 0; n < b->samples && intact; n++)
		for (unsigned int c = 0; c < v->l.n && intact; c++)
			intact = sample(v, b->data, n, c) == expected(v, start + n, c);
	if (intact)
		v->misplaced_blocks++;
	else
		v->torn_blocks++;
	if (v->bad_blocks >= DESCRIBED_BAD_BLOCKS)
		return;
	if (!intact)
		tool_err("verify: block seq %" PRIu64 " is not a continuous %s (torn or corrupt "
			 "data)", b->seq, v->pattern == TOOL_PATTERN_RAMP ? "ramp" : "counter");
	else if (modulus)
		tool_err("verify: block seq %" PRIu64 " is intact and starts %" PRIu64 " scans "
			 "(mod %" PRIu64 ") after its first_sample", b->seq, off % modulus, modulus);
	else
		tool_err("verify: block seq %" PRIu64 " is intact and starts at scan %" PRIu64
			 ", %" PRId64 " scans from its first_sample", b->seq, start, (int64_t)off);
}

static void account(struct tool_verifier *v, const struct iiofab_block *b)
{
	if (!v->started) {
		v->started = true;
		v->start = b->first_sample >= b->lost_samples ? b->first_sample - b->lost_samples : 0;
		v->next_scan = v->start;
	}
	if (v->shard) {
		/* The blocks between are other shards': only the totals add up. */
		v->delivered += b->samples;
		v->lost += b->lost_samples;
		return;
	}
	if (b->first_sample != v->next_scan + b->lost_samples) {
		if (v->account_errors < DESCRIBED_BAD_BLOCKS)
			tool_err("verify: block seq %" PRIu64 " starts at scan %" PRIu64 ", but the "
				 "last one ended at %" PRIu64 " and it reports %" PRIu64 " lost",
				 b->seq, b->first_sample, v->next_scan, b->lost_samples);
		v->account_errors++;
	}
	v->next_scan = b->first_sample + b->samples;
	v->delivered += b->samples;
	v->lost += b->lost_samples;
}

void tool_verify_block(struct tool_verifier *v, const struct iiofab_block *b)
{
	uint64_t bad = 0;

	account(v, b);
	for (size_t n = 0; n < b->samples; n++) {
		for (unsigned int c = 0; c < v->l.n; c++) {
			uint64_t got = sample(v, b->data, n, c);
			uint64_t want = expected(v, b->first_sample + n, c);

			if (got == want)
				continue;
			if (!bad && v->bad_blocks < DESCRIBED_BAD_BLOCKS)
				tool_err("verify: block seq %" PRIu64 " scan %" PRIu64
					 " channel index %u: got %" PRIu64 ", want %"
					 PRIu64, b->seq, b->first_sample + n,
					 v->l.scan_index[c], got, want);
			bad++;
		}
	}
	v->checked_blocks++;
	if (!bad)
		return;
	classify_bad_block(v, b);
	v->bad_blocks++;
	v->bad_samples += bad;
}

bool tool_verify_report(const struct tool_verifier *v)
{
	if (v->shard)
		fprintf(stderr, "account: %" PRIu64 " delivered + %" PRIu64 " lost = %" PRIu64
			" scans of this shard (the other shards hold the rest)\n",
			v->delivered, v->lost, v->delivered + v->lost);
	else
		fprintf(stderr, "account: %" PRIu64 " delivered + %" PRIu64 " lost = %" PRIu64
			" scans, the %s index at the end of the last block%s; %" PRIu64
			" blocks out of place\n", v->delivered, v->lost, v->delivered + v->lost,
			v->pattern == TOOL_PATTERN_COUNTER ? "converter's" : "stream's",
			v->start ? " less where it joined" : "", v->account_errors);
	if (v->start && !v->shard)
		fprintf(stderr, "account: joined at scan %" PRIu64 "\n", v->start);
	fprintf(stderr, "verify: %" PRIu64 " blocks checked, %" PRIu64
		" bad blocks, %" PRIu64 " bad samples (%" PRIu64 " torn, %" PRIu64
		" misplaced)\n", v->checked_blocks, v->bad_blocks, v->bad_samples,
		v->torn_blocks, v->misplaced_blocks);
	return v->checked_blocks && !v->bad_blocks && !v->account_errors &&
	       (v->shard || v->delivered + v->lost == v->next_scan - v->start);
}
