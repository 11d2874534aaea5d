// SPDX-License-Identifier: MIT
/* Replies to a client: one encoder and one send path for every message. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>

#include "srv_proto.h"
#include "srv_xport.h"

int srv_reply(struct srv_client *cl, uint16_t type, uint32_t req_id, const void *m)
{
	unsigned int slot;
	void *buf = srv_xport_send_buf(cl->x, &slot);
	char why[64];

	if (!buf) {
		snprintf(why, sizeof(why), "no send slot for %s", iiofab_wire_type_name(type));
		srv_xport_fail(cl->x, why);
		return -ENOBUFS;
	}
	return srv_xport_send(cl->x, slot, iiofab_wire_encode(buf, SRV_CTRL_SIZE, type, req_id, m));
}

static void reply_errorv(struct srv_client *cl, uint32_t req_id, int err, const char *fmt,
			 va_list ap)
{
	struct iiofab_msg_error m;
	char text[512];

	vsnprintf(text, sizeof(text), fmt, ap);
	m.status = iiofab_wire_status_from_errno(err);
	m.message = iiofab_wire_str(text);
	iiofab_log_debug(cl->env->log, "client %llu: ERROR %s: %s", (unsigned long long)cl->cid,
			 iiofab_wire_status_name(m.status), text);
	(void)srv_reply(cl, IIOFAB_MSG_ERROR, req_id, &m);
}

void srv_reply_error(struct srv_client *cl, uint32_t req_id, int err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	reply_errorv(cl, req_id, err, fmt, ap);
	va_end(ap);
}

void srv_reply_fatal(struct srv_client *cl, uint32_t req_id, int err, const char *text)
{
	srv_reply_error(cl, req_id, err, "%s", text);
	srv_xport_close_when_sent(cl->x);
}

void srv_reply_ok(struct srv_client *cl, uint32_t req_id, uint32_t value)
{
	struct iiofab_msg_ok m = { .status = 0, .value = value };

	(void)srv_reply(cl, IIOFAB_MSG_OK, req_id, &m);
}

void srv_reply_refusal(struct srv_client *cl, uint32_t req_id, const struct srv_refusal *r)
{
	srv_reply_error(cl, req_id, r->err, "%s", r->text);
}
