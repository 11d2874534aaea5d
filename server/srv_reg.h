/* SPDX-License-Identifier: MIT */
/*
 * RDMA registration of an arena for one client, strongest path first:
 * one dmabuf MR per block, else one MR over the memfd mapping. Both are
 * zero-copy; there is no copying fallback. The verbs calls go through an
 * ops table so the fallback decisions can be tested without a device.
 */
#ifndef IIOFAB_SRV_REG_H
#define IIOFAB_SRV_REG_H

#include <stddef.h>
#include <stdint.h>

struct ibv_pd;
struct ibv_mr;

enum srv_reg_path {
	SRV_REG_DMABUF = 0,	/* ibv_reg_dmabuf_mr per block */
	SRV_REG_MEMFD = 1,	/* ibv_reg_mr over the memfd mapping */
};

/* Same conventions as libibverbs: NULL and errno on failure. */
struct srv_verbs_ops {
	struct ibv_mr *(*reg_dmabuf_mr)(struct ibv_pd *pd, uint64_t offset,
					size_t length, uint64_t iova, int fd,
					int access);
	struct ibv_mr *(*reg_mr)(struct ibv_pd *pd, void *addr, size_t length,
				 int access);
	int (*dereg_mr)(struct ibv_mr *mr);	/* positive errno */
};

extern const struct srv_verbs_ops srv_verbs_default;

struct srv_reg_req {
	void *map;		/* memfd mapping of the whole arena */
	size_t block_size;
	unsigned int count;
	const int *dmabuf_fds;	/* per block, offset 0 = block start */
	int access;		/* IBV_ACCESS_* */
	void *gen;		/* generation table (page-aligned) */
	size_t gen_len;
	int gen_access;
};

struct srv_reg {
	const struct srv_verbs_ops *ops;
	enum srv_reg_path path;
	int dmabuf_err;		/* why the dmabuf path was not taken (-errno) */
	unsigned int count;
	size_t block_size;
	uint64_t base;		/* address of block 0 on the wire */
	uint64_t gen_addr;
	struct ibv_mr *arena_mr;
	struct ibv_mr *gen_mr;
	struct ibv_mr *block_mr[];
};

int srv_reg_create(struct srv_reg **out, const struct srv_verbs_ops *ops,
		   struct ibv_pd *pd, const struct srv_reg_req *req);
/* Deregisters everything; accepts NULL. */
void srv_reg_destroy(struct srv_reg *reg);
void srv_reg_block(const struct srv_reg *reg, unsigned int blk,
		   uint64_t *addr, uint32_t *rkey);
void srv_reg_gen(const struct srv_reg *reg, uint64_t *addr, uint32_t *rkey);
const char *srv_reg_path_name(enum srv_reg_path path);

#endif
