// SPDX-License-Identifier: MIT
/*
 * A raw rdma_cm client for iiofabd's robustness checks: connects and then
 * either says nothing (the handshake deadline must drop it) or sends bytes
 * that are not a protocol message (the server must answer ERROR and drop
 * it). Exit 0 when the server disconnected within the given seconds.
 *   t_srv_raw ADDR PORT idle|garbage SECONDS
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <rdma/rdma_cma.h>
#include <rdma/rdma_verbs.h>

#define T_BUF 8192

static int t_run(const char *addr, const char *port, int garbage, int secs)
{
	static char rbuf[T_BUF], sbuf[64] = "this is not an iiofab message at all";
	struct rdma_addrinfo hints = { 0 }, *res;
	struct ibv_qp_init_attr attr = { 0 };
	struct rdma_cm_event *ev;
	struct ibv_mr *rmr, *smr;
	struct rdma_cm_id *id;
	struct pollfd pfd;
	struct ibv_wc wc;
	struct timespec t0, t1;
	int ret = 1;

	hints.ai_port_space = RDMA_PS_TCP;
	if (rdma_getaddrinfo(addr, port, &hints, &res)) {
		perror("rdma_getaddrinfo");
		return 1;
	}
	attr.cap.max_send_wr = attr.cap.max_recv_wr = 4;
	attr.cap.max_send_sge = attr.cap.max_recv_sge = 1;
	attr.sq_sig_all = 1;
	if (rdma_create_ep(&id, res, NULL, &attr)) {
		perror("rdma_create_ep");
		goto out_free_ai;
	}
	rmr = rdma_reg_msgs(id, rbuf, sizeof(rbuf));
	smr = rdma_reg_msgs(id, sbuf, sizeof(sbuf));
	if (!rmr || !smr || rdma_post_recv(id, NULL, rbuf, sizeof(rbuf), rmr)) {
		perror("buffers");
		goto out_destroy_ep;
	}
	/* Before the request: the server's clock cannot start earlier. */
	clock_gettime(CLOCK_MONOTONIC, &t0);
	if (rdma_connect(id, NULL)) {
		perror("rdma_connect");
		goto out_destroy_ep;
	}
	if (garbage && rdma_post_send(id, NULL, sbuf, sizeof(sbuf), smr, 0)) {
		perror("rdma_post_send");
		goto out_disconnect;
	}
	pfd.fd = id->channel->fd;
	pfd.events = POLLIN;
	if (poll(&pfd, 1, secs * 1000) <= 0) {
		printf("still connected after %d s\n", secs);
		goto out_disconnect;
	}
	if (rdma_get_cm_event(id->channel, &ev)) {
		perror("rdma_get_cm_event");
		goto out_disconnect;
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	printf("%s after %lld ms\n", rdma_event_str(ev->event),
	       (long long)(t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000);
	ret = ev->event != RDMA_CM_EVENT_DISCONNECTED;
	rdma_ack_cm_event(ev);
	if (garbage) {
		int got_error = 0;

		while (ibv_poll_cq(id->recv_cq, 1, &wc) > 0)
			if (wc.status == IBV_WC_SUCCESS && wc.opcode == IBV_WC_RECV &&
			    wc.byte_len >= 16 && (rbuf[6] | rbuf[7] << 8) == 5)
				got_error = 1;
		printf("ERROR reply: %s\n", got_error ? "yes" : "no");
		ret |= !got_error;
	}
out_disconnect:
	rdma_disconnect(id);
out_destroy_ep:
	rdma_destroy_ep(id);
out_free_ai:
	rdma_freeaddrinfo(res);
	return ret;
}

int main(int argc, char **argv)
{
	if (argc != 5 || (strcmp(argv[3], "idle") && strcmp(argv[3], "garbage"))) {
		fprintf(stderr, "usage: t_srv_raw ADDR PORT idle|garbage SECONDS\n");
		return 2;
	}
	return t_run(argv[1], argv[2], !strcmp(argv[3], "garbage"), atoi(argv[4]));
}
