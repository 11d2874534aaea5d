/* SPDX-License-Identifier: MIT */
/*
 * Where a stream subscriber's messages go: a client's transport in the
 * daemon, a recorder in the unit tests. Buffers are SRV_CTRL_SIZE bytes.
 */
#ifndef IIOFAB_SRV_SINK_H
#define IIOFAB_SRV_SINK_H

struct srv_sink_ops {
	/* A free send buffer, or NULL when all are in flight. */
	void *(*get_buf)(void *ctx, unsigned int *slot);
	/* Sends len bytes of the buffer; len <= 0 gives the slot back unsent. */
	int (*post)(void *ctx, unsigned int slot, int len);
};

struct srv_sink {
	const struct srv_sink_ops *ops;
	void *ctx;
};

#endif
