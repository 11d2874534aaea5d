// SPDX-License-Identifier: MIT
/* Scan layout as the IIO core computes it. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <iiofab/scan.h>

static void test_four_s16(void **state)
{
	struct iiofab_scan_elem e[4] = { { 16, 1 }, { 16, 1 }, { 16, 1 }, { 16, 1 } };
	unsigned int off[4];

	(void)state;
	assert_int_equal(iiofab_scan_layout(e, 4, off), 8);
	for (unsigned int i = 0; i < 4; i++)
		assert_int_equal(off[i], 2 * i);
}

static void test_alignment_and_padding(void **state)
{
	/* u8, then s32 aligned to 4, then s16; the scan pads to 4. */
	struct iiofab_scan_elem e[3] = { { 8, 1 }, { 32, 0 }, { 16, 1 } };
	unsigned int off[3];

	(void)state;
	assert_int_equal(iiofab_scan_layout(e, 3, off), 12);
	assert_int_equal(off[0], 0);
	assert_int_equal(off[1], 4);
	assert_int_equal(off[2], 8);
	/* A 64-bit element (a timestamp) pads the scan to 8. */
	struct iiofab_scan_elem t[2] = { { 16, 1 }, { 64, 1 } };

	assert_int_equal(iiofab_scan_layout(t, 2, off), 16);
	assert_int_equal(off[1], 8);
}

static void test_repeat(void **state)
{
	/* A repeated element counts as one of storage x repeat bytes. */
	struct iiofab_scan_elem e[2] = { { 8, 1 }, { 16, 2 } };
	unsigned int off[2];

	(void)state;
	assert_int_equal(iiofab_scan_layout(e, 2, off), 8);
	assert_int_equal(off[1], 4);
}

static void test_invalid(void **state)
{
	struct iiofab_scan_elem bad[1] = { { 12, 1 } };
	struct iiofab_scan_elem zero[1] = { { 0, 1 } };

	(void)state;
	assert_int_equal(iiofab_scan_layout(bad, 1, NULL), -EINVAL);
	assert_int_equal(iiofab_scan_layout(zero, 1, NULL), -EINVAL);
	assert_int_equal(iiofab_scan_layout(bad, 0, NULL), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_four_s16),
		cmocka_unit_test(test_alignment_and_padding),
		cmocka_unit_test(test_repeat),
		cmocka_unit_test(test_invalid),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
