// SPDX-License-Identifier: MIT
/* HELLO authentication primitives, all from OpenSSL's libcrypto. */
#include <errno.h>
#include <string.h>
#include <sys/random.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "priv.h"

/* mac = HMAC-SHA256(key, label || a || b), as the protocol specifies. */
int auth_hmac(const void *key, size_t key_len, const char *label,
	      const uint8_t a[32], const uint8_t b[32], uint8_t mac[32])
{
	uint8_t input[64 + 32 + 32];
	size_t label_len = strlen(label);
	unsigned int mac_len = 0;

	if (label_len > 64)
		return -EINVAL;
	memcpy(input, label, label_len);
	memcpy(input + label_len, a, 32);
	memcpy(input + label_len + 32, b, 32);
	if (!HMAC(EVP_sha256(), key, (int)key_len, input, label_len + 64, mac,
		  &mac_len) || mac_len != 32)
		return -EIO;
	return 0;
}

bool auth_mac_equal(const uint8_t a[32], const uint8_t b[32])
{
	return CRYPTO_memcmp(a, b, 32) == 0;
}

int auth_nonce(uint8_t nonce[32])
{
	size_t got = 0;

	while (got < 32) {
		ssize_t n = getrandom(nonce + got, 32 - got, 0);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		got += (size_t)n;
	}
	return 0;
}

/*
 * libcrypto's first HMAC loads providers and digests, which is slow (seconds
 * under valgrind or emulation). Do it before connecting, so it never eats
 * into the server's handshake deadline.
 */
int auth_prepare(const void *key, size_t key_len)
{
	uint8_t zero[32] = { 0 }, mac[32];

	return auth_hmac(key, key_len, "warm-up", zero, zero, mac);
}
