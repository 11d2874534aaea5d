// SPDX-License-Identifier: MIT
/* Handshake MACs and nonces, all from OpenSSL's libcrypto. */
#include <errno.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include <iiofab/auth.h>

#define LABEL_MAX 64

int iiofab_auth_mac(const void *key, size_t key_len, const char *label,
		    const uint8_t a[IIOFAB_WIRE_NONCE_SIZE],
		    const uint8_t b[IIOFAB_WIRE_NONCE_SIZE],
		    uint8_t mac[IIOFAB_WIRE_MAC_SIZE])
{
	uint8_t input[LABEL_MAX + 2 * IIOFAB_WIRE_NONCE_SIZE];
	size_t label_len = strlen(label);
	unsigned int mac_len = 0;

	if (label_len > LABEL_MAX || key_len > (size_t)INT32_MAX)
		return -EINVAL;
	memcpy(input, label, label_len);
	memcpy(input + label_len, a, IIOFAB_WIRE_NONCE_SIZE);
	memcpy(input + label_len + IIOFAB_WIRE_NONCE_SIZE, b, IIOFAB_WIRE_NONCE_SIZE);
	if (!HMAC(EVP_sha256(), key, (int)key_len, input,
		  label_len + 2 * IIOFAB_WIRE_NONCE_SIZE, mac, &mac_len) ||
	    mac_len != IIOFAB_WIRE_MAC_SIZE)
		return -EIO;
	return 0;
}

bool iiofab_auth_mac_equal(const uint8_t a[IIOFAB_WIRE_MAC_SIZE],
			   const uint8_t b[IIOFAB_WIRE_MAC_SIZE])
{
	return CRYPTO_memcmp(a, b, IIOFAB_WIRE_MAC_SIZE) == 0;
}

bool iiofab_auth_mac_is_zero(const uint8_t mac[IIOFAB_WIRE_MAC_SIZE])
{
	static const uint8_t zero[IIOFAB_WIRE_MAC_SIZE];

	return iiofab_auth_mac_equal(mac, zero);
}

int iiofab_auth_nonce(uint8_t nonce[IIOFAB_WIRE_NONCE_SIZE])
{
	return RAND_bytes(nonce, IIOFAB_WIRE_NONCE_SIZE) == 1 ? 0 : -EIO;
}

int iiofab_auth_warmup(const void *key, size_t key_len)
{
	uint8_t nonce[IIOFAB_WIRE_NONCE_SIZE], mac[IIOFAB_WIRE_MAC_SIZE];
	int err = iiofab_auth_nonce(nonce);

	if (err || !key)
		return err;
	return iiofab_auth_mac(key, key_len, IIOFAB_WIRE_AUTH_CLIENT_LABEL, nonce, nonce, mac);
}
