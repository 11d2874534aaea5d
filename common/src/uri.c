// SPDX-License-Identifier: MIT
/* Parsing of rdma://host[:port] URIs and host[:port] listen addresses. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <iiofab/uri.h>

static bool is_alnum(char ch)
{
	return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
	       (ch >= '0' && ch <= '9');
}

/* RFC 1123 host names: dot-separated labels of 1..63 letters, digits, hyphens. */
static bool hostname_valid(const char *h, size_t len)
{
	size_t label = 0, i;

	if (!len || len > IIOFAB_URI_HOST_MAX)
		return false;
	for (i = 0; i < len; i++) {
		char ch = h[i];

		if (ch == '.') {
			if (!label || h[i - 1] == '-')
				return false;
			label = 0;
			continue;
		}
		if (!is_alnum(ch) && !(ch == '-' && label))
			return false;
		if (++label > 63)
			return false;
	}
	/* A single trailing dot (fully qualified) is fine, a trailing hyphen is not. */
	return h[len - 1] != '-';
}

static bool all_digits_and_dots(const char *h, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++)
		if (!(h[i] == '.' || (h[i] >= '0' && h[i] <= '9')))
			return false;
	return true;
}

/* Decimal 1..65535 spanning exactly len characters. */
static int parse_port(const char *s, size_t len, uint16_t *port)
{
	unsigned long v = 0;
	size_t i;

	if (!len || len > 5)
		return -EINVAL;
	for (i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -EINVAL;
		v = v * 10 + (unsigned long)(s[i] - '0');
	}
	if (!v || v > 65535)
		return -EINVAL;
	*port = (uint16_t)v;
	return 0;
}

static int set_host(struct iiofab_uri *out, const char *h, size_t len,
		    enum iiofab_uri_host_kind kind)
{
	if (!len || len > IIOFAB_URI_HOST_MAX)
		return -EINVAL;
	memcpy(out->host, h, len);
	out->host[len] = '\0';
	out->kind = kind;
	return 0;
}

/* "[v6addr%zone]": the address must parse; the zone is a plain name. */
/* h[0..len) is a complete address literal of the family. */
static bool inet_literal(int af, const char *h, size_t len)
{
	char addr[INET6_ADDRSTRLEN];
	struct in6_addr a;

	if (!len || len >= sizeof(addr))
		return false;
	memcpy(addr, h, len);
	addr[len] = '\0';
	return inet_pton(af, addr, &a) == 1;
}

static int parse_ipv6(const char *h, size_t len, struct iiofab_uri *out)
{
	const char *pct = memchr(h, '%', len);
	size_t alen = pct ? (size_t)(pct - h) : len;
	size_t i;

	if (!inet_literal(AF_INET6, h, alen))
		return -EINVAL;
	if (pct) {
		if (alen + 1 == len)
			return -EINVAL;
		for (i = alen + 1; i < len; i++)
			if (!is_alnum(h[i]) && !strchr("-_.", h[i]))
				return -EINVAL;
	}
	return set_host(out, h, len, IIOFAB_URI_HOST_IPV6);
}

static int parse_host(const char *h, size_t len, struct iiofab_uri *out)
{
	if (len > IIOFAB_URI_HOST_MAX)
		return -EINVAL;
	/* Digits and dots only: it is an IPv4 address or nothing. */
	if (all_digits_and_dots(h, len)) {
		if (!inet_literal(AF_INET, h, len))
			return -EINVAL;
		return set_host(out, h, len, IIOFAB_URI_HOST_IPV4);
	}
	if (!hostname_valid(h, len))
		return -EINVAL;
	return set_host(out, h, len, IIOFAB_URI_HOST_NAME);
}

int iiofab_uri_parse_hostport(const char *s, uint16_t default_port,
			      struct iiofab_uri *out)
{
	const char *host, *rest;
	size_t hlen;
	int ret;

	if (!s || !out)
		return -EINVAL;
	memset(out, 0, sizeof(*out));
	if (s[0] == '[') {
		const char *close = strchr(s, ']');

		if (!close)
			return -EINVAL;
		host = s + 1;
		hlen = (size_t)(close - host);
		rest = close + 1;
		ret = parse_ipv6(host, hlen, out);
	} else {
		host = s;
		hlen = strcspn(s, ":");
		rest = s + hlen;
		ret = parse_host(host, hlen, out);
	}
	if (ret)
		return ret;

	out->port = default_port;
	if (*rest == ':') {
		ret = parse_port(rest + 1, strlen(rest + 1), &out->port);
		if (ret)
			return ret;
	} else if (*rest) {
		return -EINVAL;
	}
	if (!out->port)
		return -EINVAL;
	snprintf(out->service, sizeof(out->service), "%u", out->port);
	return 0;
}

int iiofab_uri_parse(const char *uri, struct iiofab_uri *out)
{
	char hostport[IIOFAB_URI_HOST_MAX + sizeof("[]:65535")];
	const size_t slen = strlen(IIOFAB_URI_SCHEME);
	size_t len;

	if (!uri || !out)
		return -EINVAL;
	/* Schemes are case-insensitive (RFC 3986). */
	if (strncasecmp(uri, IIOFAB_URI_SCHEME, slen))
		return -EINVAL;
	uri += slen;
	len = strlen(uri);
	if (len && uri[len - 1] == '/')
		len--;
	if (len >= sizeof(hostport))
		return -EINVAL;
	memcpy(hostport, uri, len);
	hostport[len] = '\0';
	return iiofab_uri_parse_hostport(hostport, IIOFAB_DEFAULT_PORT, out);
}

int iiofab_uri_format(char *buf, size_t cap, const struct iiofab_uri *u)
{
	int n;

	if (u->kind == IIOFAB_URI_HOST_IPV6)
		n = snprintf(buf, cap, IIOFAB_URI_SCHEME "[%s]:%u", u->host, u->port);
	else
		n = snprintf(buf, cap, IIOFAB_URI_SCHEME "%s:%u", u->host, u->port);
	if (n < 0)
		return -EINVAL;
	if ((size_t)n >= cap)
		return -ENOSPC;
	return n;
}
