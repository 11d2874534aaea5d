// SPDX-License-Identifier: MIT
/*
 * HELLO -> CHALLENGE (a fresh nonce) -> AUTH (the client's MAC, checked in
 * constant time) -> WELCOME (the server's MAC, so a client with the key
 * never talks to an impostor). Before WELCOME the only replies are
 * CHALLENGE or a fatal ERROR.
 */
#include <errno.h>
#include <string.h>

#include <iiofab/auth.h>

#include "srv_proto.h"

void srv_handle_hello(struct srv_client *cl, uint32_t req_id, const struct iiofab_msg_hello *m)
{
	const struct srv_config *cfg = cl->env->cfg;
	struct iiofab_msg_challenge ch = { .version = IIOFAB_WIRE_VERSION };
	size_t n;

	if (m->version_min > IIOFAB_WIRE_VERSION || m->version_max < IIOFAB_WIRE_VERSION) {
		srv_reply_fatal(cl, req_id, -EPROTONOSUPPORT,
				"this server speaks protocol version 1 only");
		return;
	}
	memcpy(cl->client_nonce, m->client_nonce, sizeof(cl->client_nonce));
	n = m->client_name.len < sizeof(cl->name) - 1 ? m->client_name.len : sizeof(cl->name) - 1;
	memcpy(cl->name, m->client_name.ptr, n);
	cl->name[n] = '\0';
	if (iiofab_auth_nonce(cl->server_nonce) < 0) {
		srv_reply_fatal(cl, req_id, -EIO, "no randomness for the challenge");
		return;
	}
	ch.auth_required = cfg->psk.len && !cfg->insecure;
	memcpy(ch.server_nonce, cl->server_nonce, sizeof(ch.server_nonce));
	if (srv_reply(cl, IIOFAB_MSG_CHALLENGE, req_id, &ch) == 0)
		cl->state = SRV_CL_AUTH;
}

/* The client's MAC checked and ours made: 0, or a fatal reply was sent. */
static int prove_key(struct srv_client *cl, uint32_t req_id, const struct iiofab_msg_auth *m,
		     struct iiofab_msg_welcome *w)
{
	const struct iiofab_key *psk = &cl->env->cfg->psk;
	uint8_t expect[IIOFAB_WIRE_MAC_SIZE];

	if (iiofab_auth_mac(psk->bytes, psk->len, IIOFAB_WIRE_AUTH_CLIENT_LABEL,
			    cl->server_nonce, cl->client_nonce, expect) < 0) {
		srv_reply_fatal(cl, req_id, -EIO, "HMAC failed on the server");
		return -EIO;
	}
	if (!iiofab_auth_mac_equal(expect, m->mac)) {
		cl->env->stats->auth_failures++;
		iiofab_log_warn(cl->env->log, "client %llu (%s): wrong key",
				(unsigned long long)cl->cid, cl->peer);
		srv_reply_fatal(cl, req_id, -EKEYREJECTED,
				"the client's key does not match the server's");
		return -EKEYREJECTED;
	}
	if (iiofab_auth_mac(psk->bytes, psk->len, IIOFAB_WIRE_AUTH_SERVER_LABEL,
			    cl->client_nonce, cl->server_nonce, w->mac) < 0) {
		srv_reply_fatal(cl, req_id, -EIO, "HMAC failed on the server");
		return -EIO;
	}
	return 0;
}

void srv_handle_auth(struct srv_client *cl, uint32_t req_id, const struct iiofab_msg_auth *m)
{
	const struct srv_config *cfg = cl->env->cfg;
	struct iiofab_msg_welcome w = { 0 };
	const char *how = "without a key";

	if (cfg->psk.len && !iiofab_auth_mac_is_zero(m->mac)) {
		if (prove_key(cl, req_id, m, &w) < 0)
			return;
		how = "with the pre-shared key";
	} else if (!cfg->insecure) {
		cl->env->stats->auth_failures++;
		iiofab_log_warn(cl->env->log, "client %llu (%s): no key, refused",
				(unsigned long long)cl->cid, cl->peer);
		srv_reply_fatal(cl, req_id, -EACCES, "the client presented no key");
		return;
	}
	if (srv_reply(cl, IIOFAB_MSG_WELCOME, req_id, &w))
		return;
	cl->state = SRV_CL_READY;
	iiofab_log_info(cl->env->log, "client %llu (%s, \"%s\") authenticated %s",
			(unsigned long long)cl->cid, cl->peer, cl->name, how);
}
