// SPDX-License-Identifier: MIT
/* rdma://host[:port] and host[:port] parsing. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include <iiofab/uri.h>

static void t_ok(const char *uri, const char *host, enum iiofab_uri_host_kind kind,
		 uint16_t port)
{
	struct iiofab_uri u;
	char svc[8];

	assert_int_equal(iiofab_uri_parse(uri, &u), 0);
	assert_string_equal(u.host, host);
	assert_int_equal(u.kind, kind);
	assert_int_equal(u.port, port);
	snprintf(svc, sizeof(svc), "%u", port);
	assert_string_equal(u.service, svc);
}

static void test_valid(void **state)
{
	(void)state;
	t_ok("rdma://10.77.0.1", "10.77.0.1", IIOFAB_URI_HOST_IPV4, IIOFAB_DEFAULT_PORT);
	t_ok("rdma://10.77.0.1:1234", "10.77.0.1", IIOFAB_URI_HOST_IPV4, 1234);
	t_ok("rdma://10.77.0.1:65535/", "10.77.0.1", IIOFAB_URI_HOST_IPV4, 65535);
	t_ok("RDMA://board", "board", IIOFAB_URI_HOST_NAME, 7790);
	t_ok("rdma://board.lab.example:1", "board.lab.example", IIOFAB_URI_HOST_NAME, 1);
	t_ok("rdma://board.lab.", "board.lab.", IIOFAB_URI_HOST_NAME, 7790);
	t_ok("rdma://a-b-1.x2", "a-b-1.x2", IIOFAB_URI_HOST_NAME, 7790);
	t_ok("rdma://1e100.net", "1e100.net", IIOFAB_URI_HOST_NAME, 7790);
	t_ok("rdma://[::1]", "::1", IIOFAB_URI_HOST_IPV6, 7790);
	t_ok("rdma://[fe80::1%eth0]:9", "fe80::1%eth0", IIOFAB_URI_HOST_IPV6, 9);
	t_ok("rdma://[2001:db8::7]:7790/", "2001:db8::7", IIOFAB_URI_HOST_IPV6, 7790);
	t_ok("rdma://[::ffff:10.0.0.1]", "::ffff:10.0.0.1", IIOFAB_URI_HOST_IPV6, 7790);
}

static void test_garbage(void **state)
{
	static const char *const bad[] = {
		"", "rdma://", "rdma:///", "rdma:/host", "tcp://host", "rdma:host",
		"host:7790", "rdma://host:", "rdma://host:0", "rdma://host:65536",
		"rdma://host:99999999999999999999", "rdma://host:-1", "rdma://host:+1",
		"rdma://host:12a", "rdma://host: 1", "rdma://host:1:2", "rdma://host/path",
		"rdma://host//", "rdma://user@host", "rdma://ho st", "rdma://host?x",
		"rdma://-host", "rdma://host-", "rdma://host-.lab", "rdma://a..b",
		"rdma://.host", "rdma://ho_st", "rdma://10.77.0.256", "rdma://10.77.0",
		"rdma://1.2.3.4.5", "rdma://01.2.3.4x:", "rdma://::1", "rdma://[::1",
		"rdma://[::1]x", "rdma://[::1]:", "rdma://[]", "rdma://[host]",
		"rdma://[1.2.3.4]", "rdma://[fe80::1%]", "rdma://[fe80::1%e/0]",
		"rdma://[::1]]", "rdma://h\xc3\xa9",
	};
	struct iiofab_uri u;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (iiofab_uri_parse(bad[i], &u) != -EINVAL)
			fail_msg("accepted \"%s\"", bad[i]);
	}
	assert_int_equal(iiofab_uri_parse(NULL, &u), -EINVAL);
	assert_int_equal(iiofab_uri_parse("rdma://x", NULL), -EINVAL);
}

static void test_lengths(void **state)
{
	char uri[600], label[64];
	struct iiofab_uri u;

	(void)state;
	/* 63-character labels are fine, 64 are not. */
	memset(label, 'a', 63);
	label[63] = '\0';
	snprintf(uri, sizeof(uri), "rdma://%s.b", label);
	assert_int_equal(iiofab_uri_parse(uri, &u), 0);
	snprintf(uri, sizeof(uri), "rdma://%sa.b", label);
	assert_int_equal(iiofab_uri_parse(uri, &u), -EINVAL);
	/* 253 characters in all, not 254. */
	snprintf(uri, sizeof(uri), "rdma://%s.%s.%s.%.61s", label, label, label, label);
	assert_int_equal(strlen(uri) - strlen("rdma://"), 253);
	assert_int_equal(iiofab_uri_parse(uri, &u), 0);
	assert_int_equal(strlen(u.host), 253);
	snprintf(uri, sizeof(uri), "rdma://%s.%s.%s.%.62s", label, label, label, label);
	assert_int_equal(iiofab_uri_parse(uri, &u), -EINVAL);
	snprintf(uri, sizeof(uri), "rdma://%s.%s.%s.%s.%s.%s.%s.%s:1", label, label, label,
		 label, label, label, label, label);
	assert_int_equal(iiofab_uri_parse(uri, &u), -EINVAL);
}

static void test_hostport_and_format(void **state)
{
	struct iiofab_uri u;
	char buf[300];

	(void)state;
	assert_int_equal(iiofab_uri_parse_hostport("0.0.0.0", 7790, &u), 0);
	assert_int_equal(u.port, 7790);
	assert_int_equal(iiofab_uri_parse_hostport("[::]:5000", 7790, &u), 0);
	assert_string_equal(u.host, "::");
	assert_int_equal(u.port, 5000);
	assert_int_equal(iiofab_uri_parse_hostport("board", 0, &u), -EINVAL);
	assert_int_equal(iiofab_uri_parse_hostport("rdma://board", 7790, &u), -EINVAL);
	assert_int_equal(iiofab_uri_parse_hostport(":7790", 7790, &u), -EINVAL);

	assert_int_equal(iiofab_uri_parse("rdma://[fe80::1%eth0]", &u), 0);
	assert_int_equal(iiofab_uri_format(buf, sizeof(buf), &u), strlen("rdma://[fe80::1%eth0]:7790"));
	assert_string_equal(buf, "rdma://[fe80::1%eth0]:7790");
	assert_int_equal(iiofab_uri_parse("rdma://board:1", &u), 0);
	assert_int_equal(iiofab_uri_format(buf, sizeof(buf), &u), 14);
	assert_string_equal(buf, "rdma://board:1");
	assert_int_equal(iiofab_uri_format(buf, 14, &u), -ENOSPC);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_valid),
		cmocka_unit_test(test_garbage),
		cmocka_unit_test(test_lengths),
		cmocka_unit_test(test_hostport_and_format),
	};

	return cmocka_run_group_tests_name("uri", tests, NULL, NULL);
}
