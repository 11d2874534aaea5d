// SPDX-License-Identifier: MIT
#include <errno.h>
#include <stdlib.h>
#include <infiniband/verbs.h>

#include <iiofab/err.h>
#include <iiofab/wire.h>
#include "srv_reg.h"

static struct ibv_mr *real_reg_dmabuf_mr(struct ibv_pd *pd, uint64_t offset,
					 size_t length, uint64_t iova, int fd,
					 int access)
{
	return ibv_reg_dmabuf_mr(pd, offset, length, iova, fd, access);
}

/* ibv_reg_mr is a macro in verbs.h; the table needs a real function. */
static struct ibv_mr *real_reg_mr(struct ibv_pd *pd, void *addr, size_t length,
				  int access)
{
	return ibv_reg_mr(pd, addr, length, access);
}

static int real_dereg_mr(struct ibv_mr *mr)
{
	return ibv_dereg_mr(mr);
}

const struct srv_verbs_ops srv_verbs_default = {
	.reg_dmabuf_mr = real_reg_dmabuf_mr,
	.reg_mr = real_reg_mr,
	.dereg_mr = real_dereg_mr,
};

/*
 * Answers that mean "this provider or this memory cannot do dmabuf MRs":
 * EOPNOTSUPP (a provider without the op, as rdma-core's rxe and siw answer
 * before any syscall; a kernel driver without the verb; memory the driver
 * cannot use), ENOSYS and EPROTONOSUPPORT from older stacks. Anything
 * else is a real failure of a path the NIC has, and must not be papered
 * over by another path: EINVAL (arguments the driver refused: a bug here
 * or in the driver), ENOMEM, EFAULT, EPERM, EACCES...
 */
static int dmabuf_unsupported(int err)
{
	return err == -EOPNOTSUPP || err == -ENOTSUP || err == -ENOSYS ||
	       err == -EPROTONOSUPPORT;
}

const char *srv_reg_path_name(enum srv_reg_path path)
{
	return iiofab_wire_reg_path_name(path == SRV_REG_DMABUF ? IIOFAB_WIRE_REG_DMABUF :
								 IIOFAB_WIRE_REG_MEMFD);
}

static void dereg(const struct srv_verbs_ops *ops, struct ibv_mr **mr)
{
	if (*mr) {
		(void)ops->dereg_mr(*mr);
		*mr = NULL;
	}
}

static int reg_dmabuf_blocks(struct srv_reg *reg, struct ibv_pd *pd,
			     const struct srv_reg_req *req)
{
	for (unsigned int i = 0; i < req->count; i++) {
		uint64_t iova = reg->base + (uint64_t)i * req->block_size;

		reg->block_mr[i] = reg->ops->reg_dmabuf_mr(pd, 0, req->block_size,
							    iova, req->dmabuf_fds[i],
							    req->access);
		if (!reg->block_mr[i]) {
			int err = iiofab_err_errno(-EIO);

			while (i--)
				dereg(reg->ops, &reg->block_mr[i]);
			return err;
		}
	}
	return 0;
}

int srv_reg_create(struct srv_reg **out, const struct srv_verbs_ops *ops,
		   struct ibv_pd *pd, const struct srv_reg_req *req)
{
	struct srv_reg *reg;
	int err;

	if (!req->count || !req->block_size || !req->map)
		return -EINVAL;
	reg = calloc(1, sizeof(*reg) + req->count * sizeof(reg->block_mr[0]));
	if (!reg)
		return -ENOMEM;
	reg->ops = ops;
	reg->count = req->count;
	reg->block_size = req->block_size;
	/* Same addresses on both paths: the dmabuf MRs use the map as IOVA. */
	reg->base = (uint64_t)(uintptr_t)req->map;

	err = req->dmabuf_fds ? reg_dmabuf_blocks(reg, pd, req) : -EOPNOTSUPP;
	if (!err) {
		reg->path = SRV_REG_DMABUF;
	} else if (dmabuf_unsupported(err)) {
		reg->dmabuf_err = err;
		reg->arena_mr = ops->reg_mr(pd, req->map,
					    req->block_size * req->count,
					    req->access);
		if (!reg->arena_mr) {
			err = iiofab_err_errno(-EIO);
			goto out_free;
		}
		reg->path = SRV_REG_MEMFD;
	} else {
		goto out_free;
	}

	if (req->gen) {
		reg->gen_addr = (uint64_t)(uintptr_t)req->gen;
		reg->gen_mr = ops->reg_mr(pd, req->gen, req->gen_len, req->gen_access);
		if (!reg->gen_mr) {
			err = iiofab_err_errno(-EIO);
			goto out_dereg_arena;
		}
	}
	*out = reg;
	return 0;

out_dereg_arena:
	dereg(ops, &reg->arena_mr);
	for (unsigned int i = 0; i < reg->count; i++)
		dereg(ops, &reg->block_mr[i]);
out_free:
	free(reg);
	return err;
}

void srv_reg_destroy(struct srv_reg *reg)
{
	if (!reg)
		return;
	dereg(reg->ops, &reg->gen_mr);
	dereg(reg->ops, &reg->arena_mr);
	for (unsigned int i = 0; i < reg->count; i++)
		dereg(reg->ops, &reg->block_mr[i]);
	free(reg);
}

void srv_reg_block(const struct srv_reg *reg, unsigned int blk,
		   uint64_t *addr, uint32_t *rkey)
{
	*addr = reg->base + (uint64_t)blk * reg->block_size;
	*rkey = reg->path == SRV_REG_DMABUF ? reg->block_mr[blk]->rkey :
					      reg->arena_mr->rkey;
}

void srv_reg_gen(const struct srv_reg *reg, uint64_t *addr, uint32_t *rkey)
{
	*addr = reg->gen_mr ? reg->gen_addr : 0;
	*rkey = reg->gen_mr ? reg->gen_mr->rkey : 0;
}
