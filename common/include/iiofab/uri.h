/* SPDX-License-Identifier: MIT */
/*
 * iiofab URIs: rdma://host[:port], host being a hostname, a dotted IPv4
 * address or a bracketed IPv6 address ("rdma://[fe80::1%eth0]:7790").
 * The port defaults to IIOFAB_DEFAULT_PORT. A trailing "/" is accepted;
 * anything else (paths, user info, empty port, port 0) is -EINVAL.
 */
#ifndef IIOFAB_URI_H
#define IIOFAB_URI_H

#include <stddef.h>
#include <stdint.h>

#include <iiofab/wire.h>	/* IIOFAB_DEFAULT_PORT */

#define IIOFAB_URI_SCHEME	"rdma://"
#define IIOFAB_URI_HOST_MAX	253	/* longest DNS name; IPv6 with zone fits */

enum iiofab_uri_host_kind {
	IIOFAB_URI_HOST_NAME = 0,
	IIOFAB_URI_HOST_IPV4 = 1,
	IIOFAB_URI_HOST_IPV6 = 2,
};

struct iiofab_uri {
	char host[IIOFAB_URI_HOST_MAX + 1];	/* without brackets, NUL-terminated */
	enum iiofab_uri_host_kind kind;
	uint16_t port;
	char service[6];			/* port as decimal, for getaddrinfo */
};

/* Parse "rdma://host[:port][/]": 0 or -EINVAL. */
int iiofab_uri_parse(const char *uri, struct iiofab_uri *out);
/* Parse "host[:port]" (e.g. a --listen argument), port defaulting to default_port. */
int iiofab_uri_parse_hostport(const char *s, uint16_t default_port, struct iiofab_uri *out);
/* Format back as "rdma://host:port" (IPv6 in brackets): length or -ENOSPC. */
int iiofab_uri_format(char *buf, size_t cap, const struct iiofab_uri *u);

#endif /* IIOFAB_URI_H */
