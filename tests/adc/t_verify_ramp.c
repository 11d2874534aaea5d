// SPDX-License-Identifier: MIT
/*
 * t_verify_ramp: checks a raw capture file against the simulator's ramp,
 * independently of the iiofab tool.
 *
 *   t_verify_ramp FILE [SCAN_INDICES [FIRST [SCANS]]]
 *
 * FILE holds little-endian 16-bit samples, interleaved scans of the channels
 * with the given scan indices (default "0,1,2,3"), in order. Channel c at
 * scan n holds (n + 4096 c) mod 65536, the file starting at scan FIRST
 * (default 0): a capture without losses is one unbroken ramp. With SCANS the
 * file must hold exactly that many scans. Exit 0 when every sample matches.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define T_MAX_CHANNELS 64

static int t_parse_indices(char *s, unsigned int *idx, unsigned int *n)
{
	*n = 0;
	for (char *tok = strtok(s, ","); tok; tok = strtok(NULL, ",")) {
		if (*n == T_MAX_CHANNELS)
			return -E2BIG;
		idx[(*n)++] = (unsigned int)strtoul(tok, NULL, 10);
	}
	return *n ? 0 : -EINVAL;
}

static int run(int argc, char **argv)
{
	unsigned int idx[T_MAX_CHANNELS], n_ch;
	char default_idx[] = "0,1,2,3";
	uint64_t first = 0, scans = 0, want_scans = 0, bad = 0;
	uint16_t scan[T_MAX_CHANNELS];
	FILE *f;

	if (argc < 2 || argc > 5) {
		fprintf(stderr, "usage: %s FILE [SCAN_INDICES [FIRST [SCANS]]]\n",
			argv[0]);
		return 2;
	}
	if (t_parse_indices(argc > 2 ? argv[2] : default_idx, idx, &n_ch)) {
		fprintf(stderr, "bad scan indices\n");
		return 2;
	}
	if (argc > 3)
		first = strtoull(argv[3], NULL, 10);
	if (argc > 4)
		want_scans = strtoull(argv[4], NULL, 10);
	f = fopen(argv[1], "rb");
	if (!f) {
		fprintf(stderr, "%s: %s\n", argv[1], strerror(errno));
		return 1;
	}
	for (;;) {
		size_t got = fread(scan, sizeof(uint16_t), n_ch, f);

		if (got == 0)
			break;
		if (got != n_ch) {
			printf("%s: trailing partial scan\n", argv[1]);
			bad++;
			break;
		}
		for (unsigned int c = 0; c < n_ch; c++) {
			const uint8_t *b = (const uint8_t *)&scan[c];
			uint16_t v = (uint16_t)(b[0] | b[1] << 8);
			uint16_t want = (uint16_t)(first + scans + 4096u * idx[c]);

			if (v != want && bad++ < 5)
				printf("scan %" PRIu64 " channel index %u: got %u, want %u\n",
				       first + scans, idx[c], v, want);
		}
		scans++;
	}
	fclose(f);
	printf("%s: %" PRIu64 " scans of %u channels, %" PRIu64 " bad samples\n",
	       argv[1], scans, n_ch, bad);
	if (argc > 4 && scans != want_scans) {
		printf("expected %" PRIu64 " scans\n", want_scans);
		return 1;
	}
	return bad ? 1 : 0;
}

int main(int argc, char **argv)
{
	return run(argc, argv);
}
