// SPDX-License-Identifier: MIT
/*
 * Lab only: ibv_reg_dmabuf_mr() for soft-RoCE, preloaded into the commands
 * of guests booted with `tests/lab/lab run --rxe dmabuf` (never installed).
 *
 * rdma-core 44's rxe provider has no reg_dmabuf_mr op, so libibverbs
 * answers EOPNOTSUPP before any system call, whatever the kernel can do.
 * For an rxe device this shim does what a provider with the op does: it
 * calls ibv_cmd_reg_dmabuf_mr() (libibverbs' provider interface), which
 * reaches the lab rxe's reg_user_mr_dmabuf verb. Any other device gets
 * libibverbs' own ibv_reg_dmabuf_mr. The MR is a struct verbs_mr from
 * malloc, which is what rxe's dereg_mr frees, so ibv_dereg_mr needs no
 * shim. Nothing else changes: the caller's code is untouched.
 * IIOFAB_RXE_DMABUF_ERRNO (below) is the one test hook.
 */
#include <dlfcn.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <infiniband/verbs.h>

/*
 * Layouts from libibverbs/driver.h of rdma-core 44, which Debian does not
 * install. They belong to the private ABI IBVERBS_PRIVATE_34; the shim
 * links ibv_cmd_reg_dmabuf_mr at that version, so against any other
 * libibverbs it fails to load instead of misreading them.
 */
enum shim_mr_type {
	SHIM_MR_TYPE_MR,
	SHIM_MR_TYPE_NULL_MR,
	SHIM_MR_TYPE_IMPORTED_MR,
	SHIM_MR_TYPE_DMABUF_MR,
};

struct verbs_mr {
	struct ibv_mr ibv_mr;
	enum shim_mr_type mr_type;
	int access;
};

struct shim_device_ops {
	const char *name;	/* the provider's name: "rxe" */
};

struct shim_verbs_device {
	struct ibv_device device;
	const struct shim_device_ops *ops;
};

int ibv_cmd_reg_dmabuf_mr(struct ibv_pd *pd, uint64_t offset, size_t length,
			  uint64_t iova, int fd, int access,
			  struct verbs_mr *vmr);

typedef struct ibv_mr *(*shim_reg_dmabuf_fn)(struct ibv_pd *, uint64_t, size_t,
					     uint64_t, int, int);

static int shim_is_rxe(const struct ibv_context *ctx)
{
	const struct shim_verbs_device *vdev =
		(const struct shim_verbs_device *)ctx->device;

	return vdev->ops && vdev->ops->name && !strcmp(vdev->ops->name, "rxe");
}

static struct ibv_mr *shim_next(struct ibv_pd *pd, uint64_t offset, size_t length,
				uint64_t iova, int fd, int access)
{
	shim_reg_dmabuf_fn next;

	next = (shim_reg_dmabuf_fn)dlvsym(RTLD_NEXT, "ibv_reg_dmabuf_mr", "IBVERBS_1.12");
	if (!next) {
		errno = EOPNOTSUPP;
		return NULL;
	}
	return next(pd, offset, length, iova, fd, access);
}

/*
 * Test hook: IIOFAB_RXE_DMABUF_ERRNO=N makes every rxe registration fail
 * with errno N, as a driver refusing it would, so the lab can check how
 * iiofabd reports a registration error that is not "not supported".
 */
static int shim_injected_errno(void)
{
	const char *v = getenv("IIOFAB_RXE_DMABUF_ERRNO");
	int n = v ? atoi(v) : 0;

	return n > 0 ? n : 0;
}

struct ibv_mr *ibv_reg_dmabuf_mr(struct ibv_pd *pd, uint64_t offset, size_t length,
				 uint64_t iova, int fd, int access)
{
	struct verbs_mr *vmr;
	int err;

	if (!shim_is_rxe(pd->context))
		return shim_next(pd, offset, length, iova, fd, access);
	err = shim_injected_errno();
	if (err) {
		errno = err;
		return NULL;
	}
	vmr = calloc(1, sizeof(*vmr));
	if (!vmr) {
		errno = ENOMEM;
		return NULL;
	}
	err = ibv_cmd_reg_dmabuf_mr(pd, offset, length, iova, fd, access, vmr);
	if (err) {
		free(vmr);
		errno = err;
		return NULL;
	}
	/* What libibverbs' ibv_reg_dmabuf_mr sets after its provider's op. */
	vmr->ibv_mr.context = pd->context;
	vmr->ibv_mr.pd = pd;
	vmr->ibv_mr.addr = (void *)(uintptr_t)offset;
	vmr->ibv_mr.length = length;
	return &vmr->ibv_mr;
}
