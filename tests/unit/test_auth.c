// SPDX-License-Identifier: MIT
/* Handshake MACs (known answers) and key files. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include <iiofab/auth.h>

struct t_log {
	int errors, warnings;
	char last[1024];
};

static void t_log_fn(void *arg, int level, const char *msg)
{
	struct t_log *l = arg;

	if (level == IIOFAB_LOGGER_ERROR)
		l->errors++;
	if (level == IIOFAB_LOGGER_WARNING)
		l->warnings++;
	snprintf(l->last, sizeof(l->last), "%s", msg);
}

static void t_hex(const char *hex, uint8_t *out)
{
	for (unsigned int i = 0; i < IIOFAB_WIRE_MAC_SIZE; i++)
		sscanf(hex + 2 * i, "%2hhx", &out[i]);
}

/* Expected values from Python's hmac module over the same bytes. */
static void test_mac_known_answers(void **state)
{
	static const char key[] = "0123456789abcdef";
	uint8_t a[32], b[32], mac[32], want[32];

	(void)state;
	for (unsigned int i = 0; i < 32; i++) {
		a[i] = (uint8_t)i;
		b[i] = (uint8_t)(32 + i);
	}
	assert_int_equal(iiofab_auth_mac(key, 16, IIOFAB_WIRE_AUTH_CLIENT_LABEL, a, b, mac), 0);
	t_hex("bca3dc9b30a2d45037e1198334ca323d4c9a8e8f9ec47b2abaeba2c638f43329", want);
	assert_true(iiofab_auth_mac_equal(mac, want));
	assert_int_equal(iiofab_auth_mac(key, 16, IIOFAB_WIRE_AUTH_SERVER_LABEL, b, a, mac), 0);
	t_hex("58cba1b74d10c98ff11288793de406e3671dde82013a497045d44f93330a3031", want);
	assert_true(iiofab_auth_mac_equal(mac, want));
	mac[31] ^= 1;
	assert_false(iiofab_auth_mac_equal(mac, want));
	assert_false(iiofab_auth_mac_is_zero(mac));
	memset(mac, 0, sizeof(mac));
	assert_true(iiofab_auth_mac_is_zero(mac));
}

static void test_nonces_differ(void **state)
{
	uint8_t n1[32], n2[32];

	(void)state;
	assert_int_equal(iiofab_auth_nonce(n1), 0);
	assert_int_equal(iiofab_auth_nonce(n2), 0);
	assert_memory_not_equal(n1, n2, 32);
	assert_int_equal(iiofab_auth_warmup(NULL, 0), 0);
	assert_int_equal(iiofab_auth_warmup("0123456789abcdef", 16), 0);
}

static char t_path[64];

static void t_write_key(const void *bytes, size_t len, mode_t mode)
{
	FILE *f;

	snprintf(t_path, sizeof(t_path), "/tmp/t_auth_key.%d", (int)getpid());
	f = fopen(t_path, "w");
	assert_non_null(f);
	assert_int_equal(fwrite(bytes, 1, len, f), len);
	assert_int_equal(fclose(f), 0);
	assert_int_equal(chmod(t_path, mode), 0);
}

static void test_key_file(void **state)
{
	struct t_log log = { 0 };
	struct iiofab_logger lg = { t_log_fn, &log, IIOFAB_LOGGER_DEBUG };
	struct iiofab_key *key = malloc(sizeof(*key));
	uint8_t big[IIOFAB_KEY_MAX + 1];

	(void)state;
	assert_non_null(key);
	t_write_key("0123456789abcdef\n", 17, 0600);
	assert_int_equal(iiofab_key_read(t_path, key, &lg), 0);
	assert_int_equal(key->len, 16);
	assert_memory_equal(key->bytes, "0123456789abcdef", 16);
	assert_int_equal(log.errors + log.warnings, 0);

	t_write_key("0123456789abcdef", 16, 0644);
	assert_int_equal(iiofab_key_read(t_path, key, &lg), 0);
	assert_int_equal(log.warnings, 1);

	t_write_key("short\n", 6, 0600);
	assert_int_equal(iiofab_key_read(t_path, key, &lg), -EINVAL);
	assert_int_equal(key->len, 0);
	assert_non_null(strstr(log.last, "at least 16"));

	memset(big, 'k', sizeof(big));
	t_write_key(big, IIOFAB_KEY_MAX, 0600);
	assert_int_equal(iiofab_key_read(t_path, key, &lg), 0);
	assert_int_equal(key->len, IIOFAB_KEY_MAX);
	t_write_key(big, sizeof(big), 0600);
	assert_int_equal(iiofab_key_read(t_path, key, &lg), -EFBIG);

	unlink(t_path);
	assert_int_equal(iiofab_key_read(t_path, key, &lg), -ENOENT);
	assert_non_null(strstr(log.last, "cannot open key file"));
	free(key);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_mac_known_answers),
		cmocka_unit_test(test_nonces_differ),
		cmocka_unit_test(test_key_file),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
