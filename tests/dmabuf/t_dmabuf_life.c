// SPDX-License-Identifier: MIT
/*
 * dmabuf.life: IIO DMABUF blocks that are also rxe dma-buf MRs, leaving
 * IIO while the MRs exist (board guest, lab rxe with dma-buf MRs, the
 * simulator loaded). Each case registers every block of a 4 x 64 KiB ADC
 * arena with ibv_reg_dmabuf_mr, runs the converter, then:
 *   detach   detaches every block from IIO and disables the buffer, MRs
 *            still registered; then deregisters them
 *   disable  disables the buffer with blocks queued, closes the buffer fd
 *            (detaching them); then deregisters the MRs
 *   close    closes every IIO fd and every dmabuf fd first: the MRs alone
 *            keep the dma-bufs alive; then deregisters them
 *   exit     a child exits with everything open: the kernel tears all
 *            down in its own order
 * The caller checks the kernel log, the dma-buf count and rdma res after.
 *   t_dmabuf_life detach|disable|close|exit
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/wait.h>
#include <infiniband/verbs.h>

#include "t_iio.h"

#define NCHANS		4
#define NBLOCKS		4
#define BLOCK_SIZE	(64 * 1024)

struct t_life {
	struct ibv_context *ctx;
	struct ibv_pd *pd;
	struct ibv_mr *mr[NBLOCKS];
	struct t_stream st;
	int dev;
};

static struct ibv_context *open_rxe(void)
{
	struct ibv_device **list = ibv_get_device_list(NULL);
	struct ibv_context *ctx = NULL;

	for (int i = 0; list && list[i] && !ctx; i++)
		if (!strcmp(ibv_get_device_name(list[i]), "rxe0"))
			ctx = ibv_open_device(list[i]);
	if (list)
		ibv_free_device_list(list);
	return ctx;
}

static void dereg_all(struct t_life *l)
{
	for (unsigned int i = 0; i < NBLOCKS; i++) {
		if (l->mr[i] && ibv_dereg_mr(l->mr[i]))
			t_log("ibv_dereg_mr of block %u failed", i);
		l->mr[i] = NULL;
	}
}

static void life_close(struct t_life *l)
{
	/* Disabled, the buffer signals every queued fence, so closing frees all. */
	if (l->dev >= 0)
		(void)t_buffer_enable(l->dev, false);
	dereg_all(l);
	if (l->pd)
		ibv_dealloc_pd(l->pd);
	if (l->ctx)
		ibv_close_device(l->ctx);
	t_stream_close(&l->st);
}

/* The stream attached and enqueued, every block an MR, the converter running. */
static int life_open(struct t_life *l)
{
	int ret;

	memset(l, 0, sizeof(*l));
	l->dev = -1;
	l->st.chr_fd = l->st.buf_fd = l->st.arena.memfd = -1;
	l->dev = t_find_device("adc0");
	T_CHECK(l->dev >= 0, "no adc0");
	T_CHECK(!t_attr_write(l->dev, "sampling_frequency", "1000000"), "sampling_frequency");
	T_CHECK(!t_set_channels(l->dev, false, NCHANS, 0xf), "channels");
	ret = t_stream_open(&l->st, l->dev, NBLOCKS, BLOCK_SIZE);
	T_CHECK(!ret, "stream: %s", strerror(-ret));
	T_CHECK(!t_buffer_enable(l->dev, true), "enable");
	l->ctx = open_rxe();
	T_CHECK(l->ctx, "open rxe0");
	l->pd = ibv_alloc_pd(l->ctx);
	T_CHECK(l->pd, "ibv_alloc_pd");
	for (unsigned int i = 0; i < NBLOCKS; i++) {
		void *blk = t_arena_block(&l->st.arena, i);

		l->mr[i] = ibv_reg_dmabuf_mr(l->pd, 0, BLOCK_SIZE, (uintptr_t)blk,
					     l->st.arena.fds[i], IBV_ACCESS_REMOTE_READ);
		T_CHECK(l->mr[i], "ibv_reg_dmabuf_mr block %u: %s", i, strerror(errno));
	}
	T_CHECK(t_dmabuf_wait(l->st.arena.fds[0], 10000) == 1, "block 0 never completed");
	return 0;
}

static int case_detach(struct t_life *l)
{
	for (unsigned int i = 0; i < NBLOCKS; i++)
		T_CHECK(!t_dmabuf_detach(l->st.buf_fd, l->st.arena.fds[i]), "detach %u", i);
	T_CHECK(!t_buffer_enable(l->dev, false), "disable");
	dereg_all(l);
	return 0;
}

static int case_disable(struct t_life *l)
{
	T_CHECK(!t_buffer_enable(l->dev, false), "disable with blocks queued");
	for (unsigned int i = 0; i < NBLOCKS; i++)
		T_CHECK(t_dmabuf_wait(l->st.arena.fds[i], 5000) == 1, "block %u hangs", i);
	close(l->st.buf_fd);
	l->st.buf_fd = -1;
	dereg_all(l);
	return 0;
}

static int case_close(struct t_life *l)
{
	T_CHECK(!t_buffer_enable(l->dev, false), "disable");
	t_stream_close(&l->st);
	l->st.chr_fd = l->st.buf_fd = -1;
	/* Only the MRs hold the dma-bufs now; they still register as valid. */
	for (unsigned int i = 0; i < NBLOCKS; i++)
		T_CHECK(l->mr[i] && l->mr[i]->rkey, "MR %u gone with its fd", i);
	dereg_all(l);
	return 0;
}

static int case_exit(void)
{
	pid_t pid = fork();
	int status;

	T_CHECK(pid >= 0, "fork");
	if (pid == 0) {
		struct t_life l;

		_exit(life_open(&l) ? 1 : 0);	/* everything left open */
	}
	T_CHECK(waitpid(pid, &status, 0) == pid, "waitpid");
	T_CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0, "child failed");
	return 0;
}

int main(int argc, char **argv)
{
	static const struct {
		const char *name;
		int (*run)(struct t_life *l);
	} cases[] = {
		{ "detach", case_detach },
		{ "disable", case_disable },
		{ "close", case_close },
	};
	struct t_life l;
	int ret;

	if (argc == 2 && !strcmp(argv[1], "exit")) {
		ret = case_exit();
		t_log("%s: exit with 4 dma-buf MRs on a running ADC", ret ? "FAIL" : "PASS");
		return ret;
	}
	for (size_t i = 0; argc == 2 && i < sizeof(cases) / sizeof(cases[0]); i++) {
		if (strcmp(argv[1], cases[i].name))
			continue;
		ret = life_open(&l);
		if (!ret)
			ret = cases[i].run(&l);
		life_close(&l);
		t_log("%s: %s with 4 dma-buf MRs on a running ADC", ret ? "FAIL" : "PASS",
		      cases[i].name);
		return ret;
	}
	fprintf(stderr, "usage: t_dmabuf_life detach|disable|close|exit\n");
	return 2;
}
