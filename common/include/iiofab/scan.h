/* SPDX-License-Identifier: MIT */
/*
 * The layout of one interleaved scan, as the IIO core computes it
 * (iio_compute_scan_bytes): elements in ascending scan index order, each
 * aligned to its own size (storage bytes x repeat), the scan padded to its
 * largest element. One copy for the daemon, the library and their users.
 */
#ifndef IIOFAB_SCAN_H
#define IIOFAB_SCAN_H

#include <stdint.h>

struct iiofab_scan_elem {
	uint8_t storage_bits;	/* a multiple of 8 */
	uint16_t repeat;	/* 0 counts as 1 */
};

/*
 * Fills offsets[i] (may be NULL) with the byte offset of element i and
 * returns the scan size in bytes, or -EINVAL for no elements or a storage
 * size that is not whole bytes.
 */
int iiofab_scan_layout(const struct iiofab_scan_elem *elems, unsigned int n,
		       unsigned int *offsets);

#endif /* IIOFAB_SCAN_H */
