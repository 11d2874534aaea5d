/* SPDX-License-Identifier: MIT */
/*
 * Test helpers for the codec: one representative value of every message,
 * and a little-endian byte builder to write bodies by hand (independent of
 * the codec, so golden bytes check the layout itself).
 */
#ifndef T_WIRE_UTIL_H
#define T_WIRE_UTIL_H

#include <stddef.h>
#include <stdint.h>

#include <iiofab/wire.h>

struct t_bytes {
	uint8_t b[2 * IIOFAB_WIRE_MAX_MSG];
	size_t n;
};

void t_put(struct t_bytes *t, uint64_t v, size_t width);
void t_put_str(struct t_bytes *t, const char *s, size_t len);
void t_put_raw(struct t_bytes *t, const void *p, size_t len);
/* Prepends nothing: writes a header for the body already in body[]. */
size_t t_frame(uint8_t *out, uint16_t type, uint32_t req_id, const struct t_bytes *body);

/* A representative, valid message of the type (every field non-trivial). */
void t_fill(uint16_t type, union iiofab_wire_msg *m);

#endif /* T_WIRE_UTIL_H */
