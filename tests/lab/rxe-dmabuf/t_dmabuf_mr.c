// SPDX-License-Identifier: MIT
/*
 * Registers udmabufs with ibv_reg_dmabuf_mr as iiofabd does (one sealed
 * memfd, one udmabuf per block, the mapping's address as IOVA), prints
 * each block's rkey and checks them distinct, checks that an MR longer
 * than its dma-buf is refused with EINVAL (a real error, not "not
 * supported"), then deregisters everything. Exit 0 when all held.
 * With "pageless": registers a dma-buf of t_pageless_dmabuf.ko (memory
 * without struct pages) and expects EOPNOTSUPP.
 *   t_dmabuf_mr [DEVICE [BLOCKS [BLOCK_BYTES]]]     (default rxe0 4 65536)
 *   t_dmabuf_mr DEVICE pageless
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <linux/udmabuf.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <infiniband/verbs.h>

#define T_MAX_BLOCKS 64

struct t_arena {
	int memfd;
	void *map;
	int fds[T_MAX_BLOCKS];
	unsigned int count;
	size_t block;
	size_t len;	/* of the mapping */
};

static int t_udmabuf(int memfd, size_t off, size_t size)
{
	struct udmabuf_create req = { .memfd = (__u32)memfd, .flags = UDMABUF_FLAGS_CLOEXEC,
				      .offset = off, .size = size };
	int dev = open("/dev/udmabuf", O_RDWR | O_CLOEXEC), fd;

	if (dev < 0)
		return -1;
	fd = ioctl(dev, UDMABUF_CREATE, &req);
	close(dev);
	return fd;
}

static void t_arena_free(struct t_arena *a)
{
	for (unsigned int i = 0; i < a->count; i++)
		close(a->fds[i]);
	if (a->map && a->map != MAP_FAILED)
		munmap(a->map, a->len);
	if (a->memfd >= 0)
		close(a->memfd);
}

static int t_arena_make(struct t_arena *a, unsigned int count, size_t block)
{
	size_t len = count * block;

	memset(a, 0, sizeof(*a));
	a->block = block;
	a->len = len;
	a->memfd = memfd_create("t_dmabuf_mr", MFD_ALLOW_SEALING | MFD_CLOEXEC);
	if (a->memfd < 0 || ftruncate(a->memfd, (off_t)len) ||
	    fcntl(a->memfd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW))
		return -1;
	a->map = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, a->memfd, 0);
	if (a->map == MAP_FAILED)
		return -1;
	memset(a->map, 0xa5, len);
	for (a->count = 0; a->count < count; a->count++) {
		a->fds[a->count] = t_udmabuf(a->memfd, a->count * block, block);
		if (a->fds[a->count] < 0)
			return -1;
	}
	return 0;
}

static int t_run(struct ibv_pd *pd, struct t_arena *a)
{
	const int access = IBV_ACCESS_LOCAL_WRITE | IBV_ACCESS_REMOTE_READ;
	struct ibv_mr *mr[T_MAX_BLOCKS] = { 0 }, *bad;
	int fails = 0;

	for (unsigned int i = 0; i < a->count; i++) {
		uint64_t iova = (uintptr_t)a->map + i * a->block;

		mr[i] = ibv_reg_dmabuf_mr(pd, 0, a->block, iova, a->fds[i], access);
		if (!mr[i]) {
			printf("FAIL: block %u: ibv_reg_dmabuf_mr: %s\n", i, strerror(errno));
			fails++;
			continue;
		}
		printf("block %u: iova 0x%llx rkey 0x%x lkey 0x%x\n", i,
		       (unsigned long long)iova, mr[i]->rkey, mr[i]->lkey);
		for (unsigned int j = 0; j < i; j++)
			if (mr[j] && mr[j]->rkey == mr[i]->rkey) {
				printf("FAIL: blocks %u and %u share rkey 0x%x\n", j, i, mr[i]->rkey);
				fails++;
			}
	}
	bad = ibv_reg_dmabuf_mr(pd, 0, 2 * a->block, (uintptr_t)a->map, a->fds[0], access);
	if (bad || errno != EINVAL) {
		printf("FAIL: an MR longer than its dma-buf: %s\n",
		       bad ? "registered" : strerror(errno));
		fails++;
	} else {
		printf("an MR longer than its dma-buf: %s, as expected\n", strerror(errno));
	}
	if (bad)
		ibv_dereg_mr(bad);
	for (unsigned int i = 0; i < a->count; i++)
		if (mr[i] && ibv_dereg_mr(mr[i])) {
			printf("FAIL: block %u: ibv_dereg_mr\n", i);
			fails++;
		}
	return fails;
}

/* A dma-buf without struct pages must be refused as "not supported". */
static int t_pageless(struct ibv_pd *pd)
{
	int dev = open("/dev/t_pageless_dmabuf", O_RDWR | O_CLOEXEC), fd, err;
	struct ibv_mr *mr;

	if (dev < 0) {
		perror("t_dmabuf_mr: /dev/t_pageless_dmabuf");
		return 1;
	}
	fd = ioctl(dev, _IO('t', 1), 65536UL);
	close(dev);
	if (fd < 0) {
		perror("t_dmabuf_mr: T_PAGELESS_CREATE");
		return 1;
	}
	mr = ibv_reg_dmabuf_mr(pd, 0, 65536, 0, fd, IBV_ACCESS_LOCAL_WRITE |
			       IBV_ACCESS_REMOTE_READ);
	err = mr ? 0 : errno;
	if (mr)
		ibv_dereg_mr(mr);
	close(fd);
	printf("%s: a dma-buf without struct pages: %s\n", err == EOPNOTSUPP ? "PASS" : "FAIL",
	       mr ? "registered" : strerror(err));
	return err != EOPNOTSUPP;
}

static struct ibv_context *t_open(const char *name)
{
	struct ibv_device **list = ibv_get_device_list(NULL);
	struct ibv_context *ctx = NULL;

	for (int i = 0; list && list[i]; i++)
		if (!strcmp(ibv_get_device_name(list[i]), name))
			ctx = ibv_open_device(list[i]);
	if (list)
		ibv_free_device_list(list);
	return ctx;
}

int main(int argc, char **argv)
{
	const char *dev = argc > 1 ? argv[1] : "rxe0";
	int pageless = argc > 2 && !strcmp(argv[2], "pageless");
	unsigned int count = argc > 2 && !pageless ? (unsigned int)atoi(argv[2]) : 4;
	size_t block = argc > 3 ? (size_t)atol(argv[3]) : 65536;
	struct ibv_context *ctx;
	struct t_arena a;
	struct ibv_pd *pd;
	int fails = 1;

	if (!count || count > T_MAX_BLOCKS || !block || block % 4096) {
		fprintf(stderr, "usage: t_dmabuf_mr [DEVICE [BLOCKS<=%d [BLOCK_BYTES, pages]]]\n"
			"       t_dmabuf_mr DEVICE pageless\n", T_MAX_BLOCKS);
		return 2;
	}
	ctx = t_open(dev);
	if (!ctx) {
		fprintf(stderr, "t_dmabuf_mr: cannot open %s\n", dev);
		return 1;
	}
	pd = ibv_alloc_pd(ctx);
	if (!pd)
		goto out_close;
	if (pageless) {
		fails = t_pageless(pd);
		ibv_dealloc_pd(pd);
		goto out_close;
	}
	if (t_arena_make(&a, count, block)) {
		perror("t_dmabuf_mr: arena");
	} else {
		fails = t_run(pd, &a);
		printf("%s: %u dma-buf MRs on %s\n", fails ? "FAIL" : "PASS", count, dev);
	}
	t_arena_free(&a);
	ibv_dealloc_pd(pd);
out_close:
	ibv_close_device(ctx);
	return fails != 0;
}
