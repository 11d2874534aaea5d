// SPDX-License-Identifier: MIT
#include <errno.h>

#include <iiofab/scan.h>

static unsigned int round_up(unsigned int v, unsigned int to)
{
	return (v + to - 1) / to * to;
}

int iiofab_scan_layout(const struct iiofab_scan_elem *elems, unsigned int n,
		       unsigned int *offsets)
{
	unsigned int bytes = 0, largest = 1;

	if (!n)
		return -EINVAL;
	for (unsigned int i = 0; i < n; i++) {
		unsigned int len = elems[i].storage_bits / 8u;

		if (!len || elems[i].storage_bits % 8u)
			return -EINVAL;
		if (elems[i].repeat > 1)
			len *= elems[i].repeat;
		bytes = round_up(bytes, len);
		if (offsets)
			offsets[i] = bytes;
		bytes += len;
		if (len > largest)
			largest = len;
	}
	return (int)round_up(bytes, largest);
}
