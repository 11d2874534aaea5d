/* SPDX-License-Identifier: MIT */
/*
 * The one place where foreign error conventions become -errno, shared by
 * iiofabd and libiiofab: librdmacm (-1 and errno), libibverbs calls that
 * return a positive errno (ibv_post_send, ibv_modify_qp, ...), and the
 * constructors of both (NULL and errno).
 */
#ifndef IIOFAB_ERR_H
#define IIOFAB_ERR_H

#include <errno.h>

/* librdmacm: -1 and errno. */
static inline int iiofab_err_cm(int ret)
{
	return ret < 0 ? (errno > 0 ? -errno : -EIO) : ret;
}

/* libibverbs calls that return a positive errno. */
static inline int iiofab_err_ibv(int ret)
{
	return ret > 0 ? -ret : ret;
}

/*
 * A constructor that returned NULL (or any call that reports through
 * errno): -errno, or fallback when errno was left at 0, so a failure is
 * never mistaken for success.
 */
static inline int iiofab_err_errno(int fallback)
{
	return errno > 0 ? -errno : fallback;
}

#endif /* IIOFAB_ERR_H */
