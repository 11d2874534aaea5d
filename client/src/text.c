// SPDX-License-Identifier: MIT
/*
 * The library's words: error text and version. A leaf that calls nothing
 * of ours, so every room may use it without closing a loop.
 */
#include <errno.h>
#include <string.h>

#include "iiofab.h"

#define IIOFAB_VERSION_STRING "0.1.0"

const char *iiofab_version(void)
{
	return IIOFAB_VERSION_STRING;
}

const char *iiofab_strerror(int err)
{
	const char *s;

	if (err < 0)
		err = -err;
	switch (err) {
	case 0:
		return "success";
	case EKEYREJECTED:
		return "authentication failed (pre-shared key mismatch)";
	case ECONNRESET:
		return "connection to the server lost";
	case ECONNREFUSED:
		return "connection refused (no iiofabd listening?)";
	default:
		break;
	}
	s = strerrordesc_np(err);
	return s ? s : "unknown error";
}
