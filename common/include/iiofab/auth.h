/* SPDX-License-Identifier: MIT */
/*
 * The handshake's cryptography and the pre-shared key file, shared by
 * iiofabd and libiiofab so both sides compute the same MAC from the same
 * key bytes. Everything cryptographic comes from OpenSSL's libcrypto.
 *
 * A MAC is HMAC-SHA256(key, label || a || b), label being
 * IIOFAB_WIRE_AUTH_CLIENT_LABEL (the client proves the key: a = server
 * nonce, b = client nonce) or IIOFAB_WIRE_AUTH_SERVER_LABEL (the server
 * proves it: a = client nonce, b = server nonce).
 */
#ifndef IIOFAB_AUTH_H
#define IIOFAB_AUTH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <iiofab/log.h>
#include <iiofab/wire.h>

#define IIOFAB_KEY_MIN	16
#define IIOFAB_KEY_MAX	1024

int iiofab_auth_mac(const void *key, size_t key_len, const char *label,
		    const uint8_t a[IIOFAB_WIRE_NONCE_SIZE],
		    const uint8_t b[IIOFAB_WIRE_NONCE_SIZE],
		    uint8_t mac[IIOFAB_WIRE_MAC_SIZE]);
/* Constant-time comparison of two MACs. */
bool iiofab_auth_mac_equal(const uint8_t a[IIOFAB_WIRE_MAC_SIZE],
			   const uint8_t b[IIOFAB_WIRE_MAC_SIZE]);
bool iiofab_auth_mac_is_zero(const uint8_t mac[IIOFAB_WIRE_MAC_SIZE]);
int iiofab_auth_nonce(uint8_t nonce[IIOFAB_WIRE_NONCE_SIZE]);
/*
 * libcrypto sets up its random generator, providers and digests on first
 * use, which takes seconds on a slow board or under valgrind. Paying that
 * before a handshake keeps it out of the other side's deadline. key may be
 * NULL (randomness only).
 */
int iiofab_auth_warmup(const void *key, size_t key_len);

struct iiofab_key {
	uint8_t bytes[IIOFAB_KEY_MAX];
	size_t len;
};

/*
 * Reads a key file: its bytes, one trailing newline ignored, from
 * IIOFAB_KEY_MIN to IIOFAB_KEY_MAX bytes. Says why it failed through lg
 * (-errno from open/read, -EFBIG when too long, -EINVAL when too short),
 * and warns when group or others may read the file.
 */
int iiofab_key_read(const char *path, struct iiofab_key *key,
		    const struct iiofab_logger *lg);
/* Overwrites the key in a way the compiler keeps. */
void iiofab_key_wipe(struct iiofab_key *key);

#endif /* IIOFAB_AUTH_H */
