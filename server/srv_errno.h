/* SPDX-License-Identifier: MIT */
/*
 * The one place where foreign error conventions become -errno:
 * librdmacm (-1 and errno), libibverbs calls (positive errno), and
 * constructors of both (NULL and errno).
 */
#ifndef IIOFAB_SRV_ERRNO_H
#define IIOFAB_SRV_ERRNO_H

#include <errno.h>

static inline int srv_from_cm(int ret)
{
	return ret < 0 ? (errno > 0 ? -errno : -EIO) : ret;
}

static inline int srv_from_ibv(int ret)
{
	return ret > 0 ? -ret : ret;
}

/* Never 0: a constructor that failed without setting errno is still a failure. */
static inline int srv_from_null(void)
{
	return errno > 0 ? -errno : -EIO;
}

#endif
