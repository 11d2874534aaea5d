// SPDX-License-Identifier: MIT
/*
 * Registration fallback decisions of iiofabd against a mocked verbs layer:
 * dmabuf MRs when the provider has them, the memfd MR when it says it
 * cannot, and a hard failure (nothing leaked) for any other error.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <infiniband/verbs.h>

#include "srv_reg.h"

#define T_BLOCKS 4
#define T_BLOCK_SIZE 65536

struct t_mock {
	struct ibv_pd pd;	/* the mock is found from the PD the code passes */
	int dmabuf_errno;	/* 0: dmabuf MRs work */
	int dmabuf_fail_at;	/* fail only from this block's call (-1: all) */
	int reg_mr_errno;	/* 0: reg_mr works */
	int reg_mr_fail_at;	/* fail on the n-th reg_mr call (0-based, -1: all) */
	int dmabuf_calls, reg_mr_calls, live;
	int last_access;
	uint64_t last_iova;
	uint32_t next_key;
};

struct t_mr {
	struct ibv_mr mr;
	struct t_mock *mock;
};

static struct t_mock *t_mock_of(struct ibv_pd *pd)
{
	return (struct t_mock *)((char *)pd - offsetof(struct t_mock, pd));
}

static struct ibv_mr *t_new_mr(struct t_mock *m, void *addr, size_t len)
{
	struct t_mr *tm = calloc(1, sizeof(*tm));

	tm->mock = m;
	tm->mr.addr = addr;
	tm->mr.length = len;
	tm->mr.rkey = tm->mr.lkey = ++m->next_key;
	m->live++;
	return &tm->mr;
}

static struct ibv_mr *t_reg_dmabuf_mr(struct ibv_pd *pd, uint64_t offset,
				      size_t length, uint64_t iova, int fd,
				      int access)
{
	struct t_mock *m = t_mock_of(pd);
	int call = m->dmabuf_calls++;

	m->last_access = access;
	m->last_iova = iova;
	if (m->dmabuf_errno && (m->dmabuf_fail_at < 0 || call >= m->dmabuf_fail_at)) {
		errno = m->dmabuf_errno;
		return NULL;
	}
	return t_new_mr(m, (void *)(uintptr_t)iova, length);
}

static struct ibv_mr *t_reg_mr(struct ibv_pd *pd, void *addr, size_t length,
			       int access)
{
	struct t_mock *m = t_mock_of(pd);
	int call = m->reg_mr_calls++;

	m->last_access = access;
	if (m->reg_mr_errno && (m->reg_mr_fail_at < 0 || call == m->reg_mr_fail_at)) {
		errno = m->reg_mr_errno;
		return NULL;
	}
	return t_new_mr(m, addr, length);
}

static int t_dereg_mr(struct ibv_mr *mr)
{
	struct t_mr *tm = (struct t_mr *)mr;

	tm->mock->live--;
	free(tm);
	return 0;
}

static const struct srv_verbs_ops t_ops = {
	.reg_dmabuf_mr = t_reg_dmabuf_mr,
	.reg_mr = t_reg_mr,
	.dereg_mr = t_dereg_mr,
};

struct t_env {
	struct t_mock mock;
	struct srv_reg_req req;
	int fds[T_BLOCKS];
	uint64_t gen[512] __attribute__((aligned(4096)));
};

static int t_setup(void **state)
{
	struct t_env *e = aligned_alloc(4096, sizeof(*e));

	memset(e, 0, sizeof(*e));
	for (int i = 0; i < T_BLOCKS; i++)
		e->fds[i] = 100 + i;
	e->mock.dmabuf_fail_at = -1;
	e->mock.reg_mr_fail_at = -1;
	e->req = (struct srv_reg_req){
		.map = (void *)(uintptr_t)0x7f0000000000ull,
		.block_size = T_BLOCK_SIZE,
		.count = T_BLOCKS,
		.dmabuf_fds = e->fds,
		.access = IBV_ACCESS_REMOTE_READ,
		.gen = e->gen,
		.gen_len = sizeof(e->gen),
		.gen_access = IBV_ACCESS_REMOTE_READ,
	};
	*state = e;
	return 0;
}

static int t_teardown(void **state)
{
	free(*state);
	return 0;
}

static void t_dmabuf_path(void **state)
{
	struct t_env *e = *state;
	struct srv_reg *reg = NULL;
	uint64_t addr, prev = 0;
	uint32_t rkey;

	assert_int_equal(srv_reg_create(&reg, &t_ops, &e->mock.pd, &e->req), 0);
	assert_int_equal(reg->path, SRV_REG_DMABUF);
	assert_int_equal(e->mock.dmabuf_calls, T_BLOCKS);
	assert_int_equal(e->mock.reg_mr_calls, 1);	/* generation table only */
	for (unsigned int i = 0; i < T_BLOCKS; i++) {
		srv_reg_block(reg, i, &addr, &rkey);
		assert_int_equal(addr, 0x7f0000000000ull + (uint64_t)i * T_BLOCK_SIZE);
		assert_int_equal(rkey, reg->block_mr[i]->rkey);
		assert_true(i == 0 || rkey != prev);
		prev = rkey;
	}
	srv_reg_gen(reg, &addr, &rkey);
	assert_int_equal(addr, (uint64_t)(uintptr_t)e->gen);
	assert_int_equal(e->mock.live, T_BLOCKS + 1);
	srv_reg_destroy(reg);
	assert_int_equal(e->mock.live, 0);
}

static void t_fallback(void **state, int err)
{
	struct t_env *e = *state;
	struct srv_reg *reg = NULL;
	uint64_t addr;
	uint32_t rkey;

	e->mock.dmabuf_errno = err;
	assert_int_equal(srv_reg_create(&reg, &t_ops, &e->mock.pd, &e->req), 0);
	assert_int_equal(reg->path, SRV_REG_MEMFD);
	assert_int_equal(reg->dmabuf_err, -err);
	/* One MR over the whole arena, one for the generations. */
	assert_int_equal(e->mock.reg_mr_calls, 2);
	assert_int_equal(e->mock.live, 2);
	srv_reg_block(reg, 3, &addr, &rkey);
	assert_int_equal(addr, 0x7f0000000000ull + 3ull * T_BLOCK_SIZE);
	assert_int_equal(rkey, reg->arena_mr->rkey);
	assert_int_equal(reg->arena_mr->length, (size_t)T_BLOCKS * T_BLOCK_SIZE);
	srv_reg_destroy(reg);
	assert_int_equal(e->mock.live, 0);
}

static void t_fallback_eopnotsupp(void **state)
{
	t_fallback(state, EOPNOTSUPP);	/* rxe, siw */
}

static void t_fallback_eprotonosupport(void **state)
{
	t_fallback(state, EPROTONOSUPPORT);
}

static void t_fallback_enosys(void **state)
{
	t_fallback(state, ENOSYS);	/* old kernel without the verb */
}

/* A real error is the caller's to report: no silent path change. */
static void t_real_error(void **state, int err)
{
	struct t_env *e = *state;
	struct srv_reg *reg = NULL;

	e->mock.dmabuf_errno = err;
	assert_int_equal(srv_reg_create(&reg, &t_ops, &e->mock.pd, &e->req), -err);
	assert_null(reg);
	assert_int_equal(e->mock.reg_mr_calls, 0);
	assert_int_equal(e->mock.live, 0);
}

static void t_real_error_is_not_hidden(void **state)
{
	t_real_error(state, ENOMEM);	/* exhaustion */
}

static void t_einval_is_not_unsupported(void **state)
{
	/* The driver has the verb and refused these arguments. */
	t_real_error(state, EINVAL);
}

static void t_eperm_is_not_unsupported(void **state)
{
	t_real_error(state, EPERM);
}

static void t_partial_dmabuf_unwinds(void **state)
{
	struct t_env *e = *state;
	struct srv_reg *reg = NULL;

	e->mock.dmabuf_errno = EFAULT;
	e->mock.dmabuf_fail_at = 2;
	assert_int_equal(srv_reg_create(&reg, &t_ops, &e->mock.pd, &e->req), -EFAULT);
	assert_int_equal(e->mock.live, 0);
}

static void t_partial_unsupported_falls_back_clean(void **state)
{
	struct t_env *e = *state;
	struct srv_reg *reg = NULL;

	/* Blocks 0 and 1 registered, then "unsupported": undo them, then fall back. */
	e->mock.dmabuf_errno = EOPNOTSUPP;
	e->mock.dmabuf_fail_at = 2;
	assert_int_equal(srv_reg_create(&reg, &t_ops, &e->mock.pd, &e->req), 0);
	assert_int_equal(reg->path, SRV_REG_MEMFD);
	assert_int_equal(e->mock.live, 2);
	srv_reg_destroy(reg);
	assert_int_equal(e->mock.live, 0);
}

static void t_memfd_failure(void **state)
{
	struct t_env *e = *state;
	struct srv_reg *reg = NULL;

	e->mock.dmabuf_errno = EOPNOTSUPP;
	e->mock.reg_mr_errno = EFAULT;
	assert_int_equal(srv_reg_create(&reg, &t_ops, &e->mock.pd, &e->req), -EFAULT);
	assert_int_equal(e->mock.live, 0);
}

static void t_gen_failure_unwinds(void **state)
{
	struct t_env *e = *state;
	struct srv_reg *reg = NULL;

	e->mock.dmabuf_errno = EOPNOTSUPP;
	e->mock.reg_mr_errno = ENOMEM;
	e->mock.reg_mr_fail_at = 1;	/* the generation table */
	assert_int_equal(srv_reg_create(&reg, &t_ops, &e->mock.pd, &e->req), -ENOMEM);
	assert_int_equal(e->mock.live, 0);
}

static void t_no_dmabuf_fds(void **state)
{
	struct t_env *e = *state;
	struct srv_reg *reg = NULL;

	e->req.dmabuf_fds = NULL;
	assert_int_equal(srv_reg_create(&reg, &t_ops, &e->mock.pd, &e->req), 0);
	assert_int_equal(reg->path, SRV_REG_MEMFD);
	assert_int_equal(e->mock.dmabuf_calls, 0);
	srv_reg_destroy(reg);
}

static void t_read_only_access(void **state)
{
	struct t_env *e = *state;
	struct srv_reg *reg = NULL;

	assert_int_equal(srv_reg_create(&reg, &t_ops, &e->mock.pd, &e->req), 0);
	/* ADC arenas: remote read only, never remote write. */
	assert_int_equal(e->mock.last_access, IBV_ACCESS_REMOTE_READ);
	srv_reg_destroy(reg);
	srv_reg_destroy(NULL);
	assert_string_equal(srv_reg_path_name(SRV_REG_DMABUF), "dmabuf-mr");
	assert_string_equal(srv_reg_path_name(SRV_REG_MEMFD), "memfd-mr");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(t_dmabuf_path, t_setup, t_teardown),
		cmocka_unit_test_setup_teardown(t_fallback_eopnotsupp, t_setup, t_teardown),
		cmocka_unit_test_setup_teardown(t_fallback_eprotonosupport, t_setup, t_teardown),
		cmocka_unit_test_setup_teardown(t_fallback_enosys, t_setup, t_teardown),
		cmocka_unit_test_setup_teardown(t_real_error_is_not_hidden, t_setup, t_teardown),
		cmocka_unit_test_setup_teardown(t_einval_is_not_unsupported, t_setup, t_teardown),
		cmocka_unit_test_setup_teardown(t_eperm_is_not_unsupported, t_setup, t_teardown),
		cmocka_unit_test_setup_teardown(t_partial_dmabuf_unwinds, t_setup, t_teardown),
		cmocka_unit_test_setup_teardown(t_partial_unsupported_falls_back_clean, t_setup, t_teardown),
		cmocka_unit_test_setup_teardown(t_memfd_failure, t_setup, t_teardown),
		cmocka_unit_test_setup_teardown(t_gen_failure_unwinds, t_setup, t_teardown),
		cmocka_unit_test_setup_teardown(t_no_dmabuf_fds, t_setup, t_teardown),
		cmocka_unit_test_setup_teardown(t_read_only_access, t_setup, t_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
