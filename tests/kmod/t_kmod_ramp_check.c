// SPDX-License-Identifier: MIT
/*
 * Checks a raw capture of the simulated ADC (e.g. from iio_readdev) against
 * the ramp: NSCANS interleaved scans of channels 0..NCHANS-1, starting at
 * sample index 0, 16-bit little endian.
 *   t_kmod_ramp_check FILE NCHANS NSCANS
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "t_iio.h"

#define CHUNK_SCANS 65536

static int run(const char *path, unsigned int nchans, uint64_t want)
{
	unsigned int chans[16], c;
	uint64_t n = 0, bad = 0;
	uint16_t *buf;
	size_t got;
	FILE *f;

	T_CHECK(nchans >= 1 && nchans <= 16, "bad channel count %u", nchans);
	for (c = 0; c < nchans; c++)
		chans[c] = c;
	f = fopen(path, "rbe");
	T_CHECK(f, "%s: %s", path, strerror(errno));
	buf = malloc((size_t)CHUNK_SCANS * nchans * sizeof(*buf));
	T_CHECK(buf, "out of memory");
	while ((got = fread(buf, nchans * sizeof(*buf), CHUNK_SCANS, f)) > 0) {
		bad += t_ramp_check(buf, got, n, chans, nchans);
		n += got;
	}
	free(buf);
	fclose(f);
	T_CHECK(n == want, "%s: %" PRIu64 " scans, want %" PRIu64, path, n, want);
	T_CHECK(!bad, "%s: %" PRIu64 " samples off the ramp", path, bad);
	t_log("ok: %" PRIu64 " scans of %u channels match the ramp", n, nchans);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc != 4) {
		fprintf(stderr, "usage: %s FILE NCHANS NSCANS\n", argv[0]);
		return 2;
	}
	return run(argv[1], (unsigned int)strtoul(argv[2], NULL, 0),
		   strtoull(argv[3], NULL, 0));
}
