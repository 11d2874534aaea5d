/* SPDX-License-Identifier: MIT */
/* The handshake that opens every connection: HELLO, CHALLENGE, AUTH, WELCOME. */
#ifndef IIOFAB_HELLO_H
#define IIOFAB_HELLO_H

#include <iiofab/log.h>

#include "iiofab.h"
#include "rpc.h"

/*
 * Agrees on the protocol version and, with a key in params, proves it and
 * has the server prove it too: -EACCES when the server wants a key and none
 * was given, -EKEYREJECTED when the server's proof is wrong, or the
 * server's refusal.
 */
int hello_handshake(struct rpc *rpc, const struct iiofab_params *params,
		    const struct iiofab_logger *log);

#endif /* IIOFAB_HELLO_H */
