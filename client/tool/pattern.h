/* SPDX-License-Identifier: MIT */
/*
 * The simulator's two sample patterns (kmod/README.md defines them), as
 * values and as a fill of a block in place: what `capture --verify` checks
 * an ADC block against and what `bench --push` writes into a DAC block.
 * Pure, no RDMA and no I/O, so tests/unit/test_pattern.c runs it natively.
 */
#ifndef IIOFAB_TOOL_PATTERN_H
#define IIOFAB_TOOL_PATTERN_H

#include <stddef.h>
#include <stdint.h>

#include <iiofab.h>

/* A stream's channels are the bits of a 64-bit mask. */
#define TOOL_MAX_CHANNELS 64

enum tool_pattern {
	TOOL_PATTERN_NONE,
	TOOL_PATTERN_RAMP,	/* channel scan index c at scan n: (n + 4096 c) mod 2^bits */
	TOOL_PATTERN_COUNTER,	/* enabled channel i at scan n: bits 16(i mod 4).. of n */
};

/* Where each enabled channel (in scan order) sits in a scan, and how. */
struct tool_layout {
	unsigned int n;
	size_t scan_bytes;
	size_t offset[TOOL_MAX_CHANNELS];
	unsigned int scan_index[TOOL_MAX_CHANNELS];
	struct iiofab_data_format fmt[TOOL_MAX_CHANNELS];
};

/*
 * 0 when pattern fits the layout: 1..TOOL_MAX_CHANNELS channels, each of
 * 1..8 storage bytes inside the scan and at most 32 bits, and 16 bits each
 * for the counter. -EINVAL otherwise.
 */
int tool_layout_check(const struct tool_layout *l, enum tool_pattern pattern);
/* The significant bits of a sample in format f. */
uint64_t tool_bits_mask(const struct iiofab_data_format *f);
/* What channel c (its position in the scan) holds at scan index idx. */
uint64_t tool_pattern_value(const struct tool_layout *l, enum tool_pattern pattern,
			    uint64_t idx, unsigned int c);
/*
 * Writes scans first..first+scans-1 of the pattern into data, sample by
 * sample in each channel's storage (the bits outside a sample zero), as a
 * converter reading it would expect; l must pass tool_layout_check().
 */
void tool_pattern_fill(const struct tool_layout *l, enum tool_pattern pattern,
		       void *data, size_t scans, uint64_t first);

#endif /* IIOFAB_TOOL_PATTERN_H */
