// SPDX-License-Identifier: MIT
/*
 * libFuzzer target for one protocol decoder, chosen at build time:
 *   FUZZ_DECODE  the body decoder (iiofab_wire_decode_<name>),
 *   FUZZ_MEMBER  its member of union iiofab_wire_msg,
 *   FUZZ_TYPE    a message type that decoder serves.
 * Without FUZZ_DECODE the target takes whole messages (header included)
 * through iiofab_wire_decode().
 *
 * Besides memory safety (ASan, UBSan) it checks the codec's contract: a
 * body the decoder accepts re-encodes to exactly the same bytes, since the
 * encoding is canonical and the decoder strict.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <iiofab/wire.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_reencode(uint16_t type, uint32_t req_id, const union iiofab_wire_msg *m,
			   const uint8_t *want, size_t want_len, size_t skip)
{
	uint8_t out[IIOFAB_WIRE_MAX_MSG];
	int n = iiofab_wire_encode(out, sizeof(out), type, req_id, m);

	if (n < 0 || (size_t)n != want_len + skip || memcmp(out + skip, want, want_len)) {
		fprintf(stderr, "re-encoding %s gave %d bytes, input had %zu\n",
			iiofab_wire_type_name(type), n, want_len + skip);
		abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	union iiofab_wire_msg *m = malloc(sizeof(*m));

	if (!m)
		return 0;
#ifdef FUZZ_DECODE
	if (FUZZ_DECODE(data, size, &m->FUZZ_MEMBER) == 0)
		check_reencode(FUZZ_TYPE, 0, m, data, size, IIOFAB_WIRE_HDR_SIZE);
#else
	struct iiofab_wire_hdr h;

	if (iiofab_wire_decode(data, size, &h, m) == 0)
		check_reencode(h.type, h.request_id, m, data, size, 0);
#endif
	free(m);
	return 0;
}
