// SPDX-License-Identifier: MIT
/* The simulator's patterns as values and as an in-place fill (pattern.h). */
#include <errno.h>
#include <stdbool.h>
#include <string.h>

#include "pattern.h"

/* Four 16-bit lanes in a 64-bit word: one scan of 4 packed channels. */
#define LANES_LOW	0x7fff7fff7fff7fffull
#define LANES_HIGH	0x8000800080008000ull
#define LANES_ONE	0x0001000100010001ull

int tool_layout_check(const struct tool_layout *l, enum tool_pattern pattern)
{
	if (!l->n || l->n > TOOL_MAX_CHANNELS)
		return -EINVAL;
	for (unsigned int i = 0; i < l->n; i++) {
		const struct iiofab_data_format *f = &l->fmt[i];
		unsigned int sz = f->storage_bits / 8;

		if (!sz || sz > 8 || f->bits > 32 || l->offset[i] + sz > l->scan_bytes ||
		    (pattern == TOOL_PATTERN_COUNTER && f->bits != 16))
			return -EINVAL;
	}
	return 0;
}

uint64_t tool_bits_mask(const struct iiofab_data_format *f)
{
	return f->bits >= 64 ? ~0ull : (1ull << f->bits) - 1;
}

uint64_t tool_pattern_value(const struct tool_layout *l, enum tool_pattern pattern,
			    uint64_t idx, unsigned int c)
{
	if (pattern == TOOL_PATTERN_COUNTER)
		return (idx >> (16 * (c % 4))) & 0xffff;
	return (idx + 4096ull * l->scan_index[c]) & tool_bits_mask(&l->fmt[c]);
}

static void store_sample(uint8_t *p, uint64_t raw, unsigned int sz, bool be)
{
	for (unsigned int i = 0; i < sz; i++)
		p[be ? sz - 1 - i : i] = (uint8_t)(raw >> (8 * i));
}

/*
 * Every channel 16 significant bits in 16 little-endian bits, packed from
 * offset 0 with nothing between them: the simulator's own layout, filled
 * a word at a time. The bench's fill runs on the CPU that also drives the
 * link, so it must cost a fraction of what moving the bytes does.
 */
static bool packed_u16(const struct tool_layout *l)
{
	if (__BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__ || l->scan_bytes != 2 * l->n)
		return false;
	for (unsigned int i = 0; i < l->n; i++) {
		const struct iiofab_data_format *f = &l->fmt[i];

		if (f->bits != 16 || f->storage_bits != 16 || f->shift ||
		    f->big_endian || l->offset[i] != 2 * i)
			return false;
	}
	return true;
}

/* 4 packed channels: the first scan's word, then each lane + 1 a scan
 * (the ramp, lanes wrapping on their own) or the index itself (counter). */
static void fill_four(const struct tool_layout *l, enum tool_pattern pattern,
		      uint8_t *data, size_t scans, uint64_t first)
{
	uint64_t w = 0;

	if (pattern == TOOL_PATTERN_COUNTER) {
		for (size_t s = 0; s < scans; s++) {
			uint64_t v = first + s;

			memcpy(data + 8 * s, &v, 8);
		}
		return;
	}
	for (unsigned int c = 0; c < 4; c++)
		w |= tool_pattern_value(l, pattern, first, c) << (16 * c);
	for (size_t s = 0; s < scans; s++) {
		memcpy(data + 8 * s, &w, 8);
		w = ((w & LANES_LOW) + LANES_ONE) ^ (w & LANES_HIGH);
	}
}

/* Packed channels, any count: one 16-bit store per sample. */
static void fill_lanes(const struct tool_layout *l, enum tool_pattern pattern,
		       uint16_t *data, size_t scans, uint64_t first)
{
	uint16_t base[TOOL_MAX_CHANNELS];

	if (pattern == TOOL_PATTERN_RAMP) {
		/* Each lane counts up by one a scan, wrapping as a u16 does. */
		for (unsigned int c = 0; c < l->n; c++)
			base[c] = (uint16_t)tool_pattern_value(l, pattern, first, c);
		for (size_t s = 0; s < scans; s++)
			for (unsigned int c = 0; c < l->n; c++)
				*data++ = (uint16_t)(base[c] + s);
		return;
	}
	for (size_t s = 0; s < scans; s++)
		for (unsigned int c = 0; c < l->n; c++)
			*data++ = (uint16_t)tool_pattern_value(l, pattern, first + s, c);
}

void tool_pattern_fill(const struct tool_layout *l, enum tool_pattern pattern,
		       void *data, size_t scans, uint64_t first)
{
	uint8_t *p = data;

	if (packed_u16(l) && l->n == 4) {
		fill_four(l, pattern, p, scans, first);
		return;
	}
	if (packed_u16(l)) {
		fill_lanes(l, pattern, data, scans, first);
		return;
	}
	memset(p, 0, scans * l->scan_bytes);
	for (size_t s = 0; s < scans; s++, p += l->scan_bytes) {
		for (unsigned int c = 0; c < l->n; c++) {
			const struct iiofab_data_format *f = &l->fmt[c];
			uint64_t raw = tool_pattern_value(l, pattern, first + s, c) << f->shift;

			store_sample(p + l->offset[c], raw, f->storage_bits / 8,
				     f->big_endian);
		}
	}
}
