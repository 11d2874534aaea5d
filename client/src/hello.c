// SPDX-License-Identifier: MIT
/*
 * The handshake (see hello.h): the client proves the key on the server's
 * nonce, the server on the client's, both with common/'s MACs, so no rkey
 * or address reaches a client before it proved itself, and a client with
 * a key never streams from an impostor.
 */
#include <errno.h>
#include <string.h>

#include <iiofab/auth.h>

#include "hello.h"

struct nonces {
	uint8_t client[IIOFAB_WIRE_NONCE_SIZE];
	uint8_t server[IIOFAB_WIRE_NONCE_SIZE];
};

/* HELLO: returns whether the server requires a key, or -errno. */
static int say_hello(struct rpc *rpc, const struct iiofab_params *params,
		     struct nonces *n)
{
	union iiofab_wire_msg *m = rpc_request_msg(rpc);
	struct rpc_reply r;
	int ret;

	ret = iiofab_auth_nonce(n->client);
	if (ret)
		return ret;
	memset(&m->hello, 0, sizeof(m->hello));
	m->hello.version_min = IIOFAB_WIRE_VERSION;
	m->hello.version_max = IIOFAB_WIRE_VERSION;
	memcpy(m->hello.client_nonce, n->client, sizeof(n->client));
	m->hello.client_name = iiofab_wire_str(params->client_name ?
					       params->client_name : "libiiofab");
	ret = rpc_call(rpc, IIOFAB_MSG_HELLO, m, IIOFAB_MSG_CHALLENGE, &r);
	if (ret < 0)
		return ret;
	ret = r.msg->challenge.auth_required ? 1 : 0;
	memcpy(n->server, r.msg->challenge.server_nonce, sizeof(n->server));
	rpc_reply_done(rpc, &r);
	return ret;
}

/* AUTH with our MAC (zero without a key); *server_mac from WELCOME. */
static int authenticate(struct rpc *rpc, const struct iiofab_params *params,
			const struct iiofab_logger *log, const struct nonces *n,
			uint8_t server_mac[IIOFAB_WIRE_MAC_SIZE])
{
	union iiofab_wire_msg *m = rpc_request_msg(rpc);
	struct rpc_reply r;
	int ret;

	memset(&m->auth, 0, sizeof(m->auth));
	if (params->psk_len) {
		ret = iiofab_auth_mac(params->psk, params->psk_len,
				      IIOFAB_WIRE_AUTH_CLIENT_LABEL, n->server,
				      n->client, m->auth.mac);
		if (ret)
			return ret;
	}
	ret = rpc_call(rpc, IIOFAB_MSG_AUTH, m, IIOFAB_MSG_WELCOME, &r);
	if (ret < 0) {
		if (ret == -EACCES || ret == -EPERM)
			iiofab_log_err(log, "the server rejected %s",
				       params->psk_len ? "our pre-shared key" :
				       "a client without a key");
		return ret;
	}
	memcpy(server_mac, r.msg->welcome.mac, IIOFAB_WIRE_MAC_SIZE);
	rpc_reply_done(rpc, &r);
	return 0;
}

int hello_handshake(struct rpc *rpc, const struct iiofab_params *params,
		    const struct iiofab_logger *log)
{
	uint8_t server_mac[IIOFAB_WIRE_MAC_SIZE];
	uint8_t want[IIOFAB_WIRE_MAC_SIZE];
	struct nonces n;
	int ret;

	ret = say_hello(rpc, params, &n);
	if (ret < 0)
		return ret;
	if (ret && !params->psk_len) {
		iiofab_log_err(log,
			       "the server requires a pre-shared key and none was given");
		return -EACCES;
	}
	ret = authenticate(rpc, params, log, &n, server_mac);
	if (ret || !params->psk_len)
		return ret;
	ret = iiofab_auth_mac(params->psk, params->psk_len,
			      IIOFAB_WIRE_AUTH_SERVER_LABEL, n.client, n.server,
			      want);
	if (ret)
		return ret;
	if (!iiofab_auth_mac_equal(server_mac, want)) {
		iiofab_log_err(log, "the server did not prove the pre-shared key");
		return -EKEYREJECTED;
	}
	return 0;
}
