// SPDX-License-Identifier: MIT
/*
 * capture --verify-ramp: the simulator's channel with scan index c holds
 * (n + 4096 c) mod 2^bits at scan n, so every delivered block can be
 * checked against its first_sample. Where each sample sits in a scan is
 * the library's to say (iiofab_stream_get_channel_offset), not computed
 * again here.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>

#include "tool.h"

/* The first few bad blocks are described; the rest only counted. */
#define DESCRIBED_BAD_BLOCKS 5

int tool_verify_init(struct tool_verifier *v, const struct iiofab_stream *s)
{
	*v = (struct tool_verifier){
		.n = iiofab_stream_get_channels_count(s),
		.scan_bytes = iiofab_stream_get_scan_bytes(s),
	};
	if (!v->n || v->n > TOOL_MAX_CHANNELS)
		return -EINVAL;
	for (unsigned int i = 0; i < v->n; i++) {
		const struct iiofab_channel *ch = iiofab_stream_get_channel(s, i);
		unsigned int sz;

		v->fmt[i] = *iiofab_channel_get_format(ch);
		v->scan_index[i] = (unsigned int)iiofab_channel_get_scan_index(ch);
		v->offset[i] = iiofab_stream_get_channel_offset(s, i);
		sz = v->fmt[i].storage_bits / 8;
		if (!sz || sz > 8 || v->fmt[i].bits > 32 ||
		    v->offset[i] + sz > v->scan_bytes)
			return -EINVAL;
	}
	return 0;
}

static uint64_t load_sample(const uint8_t *p, unsigned int sz, bool be)
{
	uint64_t x = 0;

	for (unsigned int i = 0; i < sz; i++)
		x |= (uint64_t)p[be ? i : sz - 1 - i] << (8 * (sz - 1 - i));
	return x;
}

static uint64_t bits_mask(const struct iiofab_data_format *f)
{
	return f->bits >= 64 ? ~0ull : (1ull << f->bits) - 1;
}

/* Channel c's value in scan n of data. */
static uint64_t sample(const struct tool_verifier *v, const uint8_t *data,
		       size_t n, unsigned int c)
{
	const struct iiofab_data_format *f = &v->fmt[c];
	uint64_t raw = load_sample(data + n * v->scan_bytes + v->offset[c],
				   f->storage_bits / 8, f->big_endian);

	return (raw >> f->shift) & bits_mask(f);
}

/*
 * Tells a block that is an intact ramp starting at the wrong scan (the
 * first_sample accounting is off) from one whose data is broken (torn).
 */
static void describe_bad_block(const struct tool_verifier *v,
			       const struct iiofab_block *b)
{
	uint64_t mask = bits_mask(&v->fmt[0]);
	uint64_t start = 0;
	bool intact = true;

	for (size_t n = 0; n < b->samples && intact; n++) {
		for (unsigned int c = 0; c < v->n && intact; c++) {
			uint64_t got = sample(v, b->data, n, c);

			if (n == 0 && c == 0)
				start = (got - 4096ull * v->scan_index[0]) & mask;
			intact = got == ((start + n + 4096ull * v->scan_index[c]) & mask);
		}
	}
	if (intact)
		tool_err("verify: block seq %" PRIu64 " is an intact ramp that "
			 "starts %" PRId64 " scans (mod %" PRIu64 ") after its "
			 "first_sample", b->seq,
			 (int64_t)((start - b->first_sample) & mask), mask + 1);
	else
		tool_err("verify: block seq %" PRIu64 " is not a continuous ramp "
			 "(torn or corrupt data)", b->seq);
}

void tool_verify_block(struct tool_verifier *v, const struct iiofab_block *b)
{
	uint64_t bad = 0;

	for (size_t n = 0; n < b->samples; n++) {
		for (unsigned int c = 0; c < v->n; c++) {
			uint64_t got = sample(v, b->data, n, c);
			uint64_t want = (b->first_sample + n +
					 4096ull * v->scan_index[c]) &
					bits_mask(&v->fmt[c]);

			if (got == want)
				continue;
			if (!bad && v->bad_blocks < DESCRIBED_BAD_BLOCKS)
				tool_err("verify: block seq %" PRIu64 " scan %" PRIu64
					 " channel index %u: got %" PRIu64 ", want %"
					 PRIu64, b->seq, b->first_sample + n,
					 v->scan_index[c], got, want);
			bad++;
		}
	}
	v->checked_blocks++;
	if (!bad)
		return;
	if (v->bad_blocks < DESCRIBED_BAD_BLOCKS)
		describe_bad_block(v, b);
	v->bad_blocks++;
	v->bad_samples += bad;
}

bool tool_verify_report(const struct tool_verifier *v)
{
	fprintf(stderr, "verify: %" PRIu64 " blocks checked, %" PRIu64
		" bad blocks, %" PRIu64 " bad samples\n", v->checked_blocks,
		v->bad_blocks, v->bad_samples);
	return v->checked_blocks && !v->bad_blocks;
}
