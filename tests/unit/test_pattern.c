// SPDX-License-Identifier: MIT
/*
 * The simulator's patterns as the tool fills them into a DAC block in
 * place: every fast path against the value of each sample, one by one.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "pattern.h"

/* n packed little-endian 16-bit channels with scan indices first.. */
static struct tool_layout t_packed(unsigned int n, unsigned int first_index)
{
	struct tool_layout l = { .n = n, .scan_bytes = 2 * n };

	for (unsigned int i = 0; i < n; i++) {
		l.fmt[i] = (struct iiofab_data_format){ .bits = 16, .storage_bits = 16 };
		l.offset[i] = 2 * i;
		l.scan_index[i] = first_index + i;
	}
	return l;
}

static uint64_t t_load(const uint8_t *p, unsigned int sz, bool be)
{
	uint64_t x = 0;

	for (unsigned int i = 0; i < sz; i++)
		x |= (uint64_t)p[be ? sz - 1 - i : i] << (8 * i);
	return x;
}

/* Every sample of scans filled from first holds the pattern's value. */
static void t_check_fill(const struct tool_layout *l, enum tool_pattern p,
			 size_t scans, uint64_t first)
{
	static uint8_t buf[1 << 20];

	assert_true(scans * l->scan_bytes <= sizeof(buf));
	memset(buf, 0xa5, sizeof(buf));
	assert_int_equal(tool_layout_check(l, p), 0);
	tool_pattern_fill(l, p, buf, scans, first);
	for (size_t s = 0; s < scans; s++) {
		for (unsigned int c = 0; c < l->n; c++) {
			const struct iiofab_data_format *f = &l->fmt[c];
			uint64_t raw = t_load(buf + s * l->scan_bytes + l->offset[c],
					      f->storage_bits / 8, f->big_endian);

			assert_int_equal(raw, tool_pattern_value(l, p, first + s, c)
					 << f->shift);
		}
	}
	/* Nothing past the last scan. */
	assert_int_equal(buf[scans * l->scan_bytes], 0xa5);
}

static void test_values(void **state)
{
	struct tool_layout l = t_packed(4, 0);

	(void)state;
	assert_int_equal(tool_pattern_value(&l, TOOL_PATTERN_RAMP, 5, 3), 5 + 3 * 4096);
	assert_int_equal(tool_pattern_value(&l, TOOL_PATTERN_RAMP, 65535, 1), 4095);
	assert_int_equal(tool_pattern_value(&l, TOOL_PATTERN_COUNTER,
					    0x0123456789abcdefull, 2), 0x4567);
	l.fmt[0].bits = 12;
	assert_int_equal(tool_pattern_value(&l, TOOL_PATTERN_RAMP, 4097, 0), 1);
}

/* Four channels: one word a scan, each lane wrapping on its own. */
static void test_four_channels_wrap_lane_by_lane(void **state)
{
	struct tool_layout l = t_packed(4, 0);

	(void)state;
	t_check_fill(&l, TOOL_PATTERN_RAMP, 70000, 0);
	t_check_fill(&l, TOOL_PATTERN_RAMP, 10000, 65530 - 3 * 4096);
	t_check_fill(&l, TOOL_PATTERN_COUNTER, 70000, 0);
	t_check_fill(&l, TOOL_PATTERN_COUNTER, 100, 0xffffffffffffffceull);
	l = t_packed(4, 5);
	t_check_fill(&l, TOOL_PATTERN_RAMP, 20000, 12345);
}

static void test_other_channel_counts(void **state)
{
	(void)state;
	for (unsigned int n = 1; n <= 9; n++) {
		struct tool_layout l = t_packed(n, 0);

		t_check_fill(&l, TOOL_PATTERN_RAMP, 3000, 65000);
		t_check_fill(&l, TOOL_PATTERN_COUNTER, 3000, 65000);
	}
}

/* Not the simulator's layout: sample by sample, the other bits zero. */
static void test_general_layout(void **state)
{
	struct tool_layout l = t_packed(3, 0);

	(void)state;
	l.scan_bytes = 12;
	l.fmt[0] = (struct iiofab_data_format){ .bits = 12, .storage_bits = 16, .shift = 4 };
	l.fmt[1] = (struct iiofab_data_format){ .bits = 16, .storage_bits = 16,
						.big_endian = true };
	l.fmt[2] = (struct iiofab_data_format){ .bits = 24, .storage_bits = 32 };
	l.offset[1] = 2;
	l.offset[2] = 8;
	t_check_fill(&l, TOOL_PATTERN_RAMP, 5000, 123);
	l.fmt[0].bits = 16;
	l.fmt[0].shift = 0;
	l.fmt[2].bits = 16;
	t_check_fill(&l, TOOL_PATTERN_COUNTER, 5000, 1ull << 40);
}

static void test_layouts_refused(void **state)
{
	struct tool_layout l = t_packed(4, 0);

	(void)state;
	l.fmt[1].bits = 12;
	assert_int_equal(tool_layout_check(&l, TOOL_PATTERN_RAMP), 0);
	assert_int_equal(tool_layout_check(&l, TOOL_PATTERN_COUNTER), -EINVAL);
	l = t_packed(4, 0);
	l.offset[3] = 7;
	assert_int_equal(tool_layout_check(&l, TOOL_PATTERN_RAMP), -EINVAL);
	l = t_packed(4, 0);
	l.n = 0;
	assert_int_equal(tool_layout_check(&l, TOOL_PATTERN_RAMP), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_values),
		cmocka_unit_test(test_four_channels_wrap_lane_by_lane),
		cmocka_unit_test(test_other_channel_counts),
		cmocka_unit_test(test_general_layout),
		cmocka_unit_test(test_layouts_refused),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
