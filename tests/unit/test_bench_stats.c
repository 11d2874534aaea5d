// SPDX-License-Identifier: MIT
/*
 * The figures of `iiofab bench`: nearest-rank percentiles, the latency
 * summary, and the JSON, summary line and table to the byte.
 *
 * With --print-json it prints the JSON of each fixture report instead, one
 * per line, for check_bench_json.py to parse.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "bench_stats.h"

static uint64_t t_pct(const uint64_t *v, size_t n, unsigned int pct)
{
	uint64_t out = 12345;

	assert_int_equal(bench_percentile(v, n, pct, &out), 0);
	return out;
}

static void test_percentile_one_value(void **state)
{
	const uint64_t v[] = { 7 };

	(void)state;
	assert_int_equal(t_pct(v, 1, 1), 7);
	assert_int_equal(t_pct(v, 1, 50), 7);
	assert_int_equal(t_pct(v, 1, 99), 7);
	assert_int_equal(t_pct(v, 1, 100), 7);
}

static void test_percentile_hundred_values(void **state)
{
	uint64_t v[100];

	(void)state;
	for (int i = 0; i < 100; i++)
		v[i] = (uint64_t)i + 1;
	assert_int_equal(t_pct(v, 100, 1), 1);
	assert_int_equal(t_pct(v, 100, 50), 50);
	assert_int_equal(t_pct(v, 100, 99), 99);
	assert_int_equal(t_pct(v, 100, 100), 100);
}

/* The rank rounds up: never a value below the asked share. */
static void test_percentile_rank_rounds_up(void **state)
{
	const uint64_t ten[] = { 10, 20, 30, 40, 50, 60, 70, 80, 90, 100 };
	const uint64_t three[] = { 1, 2, 3 };

	(void)state;
	assert_int_equal(t_pct(ten, 10, 50), 50);
	assert_int_equal(t_pct(ten, 10, 90), 90);
	assert_int_equal(t_pct(ten, 10, 91), 100);
	assert_int_equal(t_pct(ten, 10, 99), 100);
	assert_int_equal(t_pct(three, 3, 33), 1);
	assert_int_equal(t_pct(three, 3, 34), 2);
	assert_int_equal(t_pct(three, 3, 50), 2);
}

static void test_percentile_errors(void **state)
{
	const uint64_t v[] = { 1, 2 };
	uint64_t out = 99;

	(void)state;
	assert_int_equal(bench_percentile(v, 0, 50, &out), -ENODATA);
	assert_int_equal(bench_percentile(v, 2, 0, &out), -EINVAL);
	assert_int_equal(bench_percentile(v, 2, 101, &out), -EINVAL);
	assert_int_equal(out, 99);
}

/* Latencies arrive in any order; the summary sorts them first. */
static void test_summary_of_unsorted_input(void **state)
{
	struct bench_lat lat = { 0 };
	struct bench_lat_summary s;

	(void)state;
	/* 37 is prime to 100: every value of 1..100 us once, shuffled. */
	for (int i = 0; i < 100; i++)
		assert_int_equal(bench_lat_add(&lat, ((i * 37 + 50) % 100 + 1) * 1000ull), 0);
	assert_int_equal(lat.ns[0], 51000);
	assert_int_equal(lat.ns[99], 14000);
	assert_int_equal(bench_lat_summarize(&lat, &s), 0);
	assert_int_equal(s.n, 100);
	assert_true(s.p50_us == 50.0);
	assert_true(s.p99_us == 99.0);
	assert_true(s.max_us == 100.0);
	assert_true(s.mean_us == 50.5);
	for (size_t i = 1; i < lat.n; i++)
		assert_true(lat.ns[i - 1] <= lat.ns[i]);
	bench_lat_free(&lat);
	assert_null(lat.ns);
	assert_int_equal(lat.n, 0);
}

static void test_summary_grows_past_its_first_allocation(void **state)
{
	struct bench_lat lat = { 0 };
	struct bench_lat_summary s;

	(void)state;
	for (uint64_t i = 10000; i >= 1; i--)
		assert_int_equal(bench_lat_add(&lat, i * 1000), 0);
	assert_true(lat.cap >= 10000);
	assert_int_equal(bench_lat_summarize(&lat, &s), 0);
	assert_int_equal(s.n, 10000);
	assert_true(s.p50_us == 5000.0);
	assert_true(s.p99_us == 9900.0);
	assert_true(s.max_us == 10000.0);
	bench_lat_free(&lat);
}

static void test_summary_of_nothing_is_an_error(void **state)
{
	struct bench_lat lat = { 0 };
	struct bench_lat_summary s = { .n = 5, .p50_us = 1 };

	(void)state;
	assert_int_equal(bench_lat_summarize(&lat, &s), -ENODATA);
	assert_int_equal(s.n, 0);
	assert_true(s.p50_us == 0);
	bench_lat_free(&lat);
}

/* 4 blocks of 1 MiB in 2 s, latencies 1, 2, 3 and 4 ms given unsorted. */
static struct bench_report t_report(void)
{
	struct bench_report r = {
		.device = "iiofab-sim-adc",
		.reg_path = "dmabuf",
		.block_size = 1048576,
		.block_count = 8,
		.channels = 4,
		.seconds = 2.0,
		.bytes = 4194304,
		.samples = 524288,
		.blocks = 4,
		.lost_samples = 100,
		.startup = { 10.5, 20.25, 1.0, 3.125, 34.875 },
	};
	uint64_t ns[] = { 3000000, 1000000, 4000000, 2000000 };
	struct bench_lat lat = { 0 };

	for (size_t i = 0; i < 4; i++)
		assert_int_equal(bench_lat_add(&lat, ns[i]), 0);
	assert_int_equal(bench_lat_summarize(&lat, &r.lat), 0);
	bench_lat_free(&lat);
	return r;
}

/* Nothing counted: no latency, no window. */
static struct bench_report t_empty_report(void)
{
	return (struct bench_report){
		.device = "dev \"q\" \\ \n",
		.reg_path = "memfd",
		.block_size = 65536,
		.block_count = 1,
		.channels = 1,
	};
}

/* The same figures for a DAC stream pushed, 7 scans underrun. */
static struct bench_report t_output_report(void)
{
	struct bench_report r = t_report();

	r.device = "iiofab-sim-dac";
	r.output = true;
	r.lost_samples = 100;	/* an input figure: not printed */
	r.underruns = 7;
	return r;
}

static const char t_output_json[] =
	"{\"device\":\"iiofab-sim-dac\",\"direction\":\"output\","
	"\"block_size\":1048576,\"blocks\":8,"
	"\"channels\":4,\"reg_path\":\"dmabuf\",\"seconds\":2.000,"
	"\"bytes\":4194304,\"samples\":524288,\"blocks_received\":4,"
	"\"mb_s\":2.097,\"blocks_per_s\":2.000,\"underruns\":7,"
	"\"latency_us\":{\"n\":4,\"mean\":2500.000,\"p50\":2000.000,"
	"\"p99\":4000.000,\"max\":4000.000},\"startup_ms\":{\"connect\":10.500,"
	"\"open\":20.250,\"start\":1.000,\"first_block\":3.125,\"total\":34.875}}\n";

static const char t_json[] =
	"{\"device\":\"iiofab-sim-adc\",\"direction\":\"input\","
	"\"block_size\":1048576,\"blocks\":8,"
	"\"channels\":4,\"reg_path\":\"dmabuf\",\"seconds\":2.000,"
	"\"bytes\":4194304,\"samples\":524288,\"blocks_received\":4,"
	"\"mb_s\":2.097,\"blocks_per_s\":2.000,\"lost_samples\":100,"
	"\"latency_us\":{\"n\":4,\"mean\":2500.000,\"p50\":2000.000,"
	"\"p99\":4000.000,\"max\":4000.000},\"startup_ms\":{\"connect\":10.500,"
	"\"open\":20.250,\"start\":1.000,\"first_block\":3.125,\"total\":34.875}}\n";

static const char t_empty_json[] =
	"{\"device\":\"dev \\\"q\\\" \\\\ \\u000a\",\"direction\":\"input\","
	"\"block_size\":65536,"
	"\"blocks\":1,\"channels\":1,\"reg_path\":\"memfd\",\"seconds\":0.000,"
	"\"bytes\":0,\"samples\":0,\"blocks_received\":0,\"mb_s\":0.000,"
	"\"blocks_per_s\":0.000,\"lost_samples\":0,"
	"\"latency_us\":{\"n\":0,\"mean\":null,\"p50\":null,\"p99\":null,"
	"\"max\":null},\"startup_ms\":null}\n";

static void test_json(void **state)
{
	struct bench_report r = t_report();
	char buf[1024];

	(void)state;
	assert_int_equal(bench_format_json(&r, buf, sizeof(buf)),
			 (int)strlen(t_json));
	assert_string_equal(buf, t_json);
	r = t_empty_report();
	assert_int_equal(bench_format_json(&r, buf, sizeof(buf)),
			 (int)strlen(t_empty_json));
	assert_string_equal(buf, t_empty_json);
}

/* An output stream reports underruns where an input one reports losses. */
static void test_output_figures(void **state)
{
	struct bench_report r = t_output_report();
	char buf[1024];

	(void)state;
	assert_int_equal(bench_format_json(&r, buf, sizeof(buf)),
			 (int)strlen(t_output_json));
	assert_string_equal(buf, t_output_json);
	assert_true(bench_format_line(&r, buf, sizeof(buf)) > 0);
	assert_string_equal(buf, "bench: 4 blocks, 2.10 MB/s, 2.0 blocks/s, "
			    "latency p50 2000.0 us p99 4000.0 us max 4000.0 us, "
			    "7 underruns\n");
	assert_true(bench_format_table(&r, buf, sizeof(buf)) > 0);
	assert_non_null(strstr(buf, "blocks consumed 4\n"));
	assert_non_null(strstr(buf, "underruns       7\n"));
	assert_null(strstr(buf, "lost"));
}

static void test_short_buffer_is_an_error(void **state)
{
	struct bench_report r = t_report();
	char buf[1024];

	(void)state;
	assert_int_equal(bench_format_json(&r, buf, strlen(t_json)), -ENOSPC);
	assert_string_equal(buf, "");
	assert_int_equal(bench_format_json(&r, buf, strlen(t_json) + 1),
			 (int)strlen(t_json));
	assert_int_equal(bench_format_line(&r, buf, 10), -ENOSPC);
	assert_int_equal(bench_format_table(&r, buf, 10), -ENOSPC);
}

/* Scripts parse this line: its format is fixed. */
static void test_summary_line(void **state)
{
	struct bench_report r = t_report();
	char buf[256];

	(void)state;
	assert_true(bench_format_line(&r, buf, sizeof(buf)) > 0);
	assert_string_equal(buf, "bench: 4 blocks, 2.10 MB/s, 2.0 blocks/s, "
			    "latency p50 2000.0 us p99 4000.0 us max 4000.0 us, "
			    "100 lost\n");
	r = t_empty_report();
	assert_true(bench_format_line(&r, buf, sizeof(buf)) > 0);
	assert_string_equal(buf, "bench: 0 blocks, 0.00 MB/s, 0.0 blocks/s, "
			    "latency p50 n/a us p99 n/a us max n/a us, 0 lost\n");
}

static void test_table(void **state)
{
	struct bench_report r = t_report();
	char buf[1024];

	(void)state;
	assert_true(bench_format_table(&r, buf, sizeof(buf)) > 0);
	assert_string_equal(buf,
		"device          iiofab-sim-adc\n"
		"channels        4\n"
		"block size      1048576 bytes\n"
		"blocks          8\n"
		"reg path        dmabuf\n"
		"seconds         2.000\n"
		"bytes           4194304\n"
		"samples         524288\n"
		"blocks received 4\n"
		"MB/s            2.10\n"
		"blocks/s        2.0\n"
		"lost samples    100\n"
		"latency n       4\n"
		"latency mean    2500.0 us\n"
		"latency p50     2000.0 us\n"
		"latency p99     4000.0 us\n"
		"latency max     4000.0 us\n"
		"first block     34.9 ms\n");
	r = t_empty_report();
	assert_true(bench_format_table(&r, buf, sizeof(buf)) > 0);
	assert_non_null(strstr(buf, "latency n       0\n"
				    "latency mean    n/a\n"));
}

static int print_json(void)
{
	struct bench_report reports[] = { t_report(), t_empty_report(),
					  t_output_report() };
	char buf[1024];

	for (size_t i = 0; i < sizeof(reports) / sizeof(reports[0]); i++) {
		if (bench_format_json(&reports[i], buf, sizeof(buf)) < 0)
			return 1;
		fputs(buf, stdout);
	}
	return fflush(stdout) ? 1 : 0;
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_percentile_one_value),
		cmocka_unit_test(test_percentile_hundred_values),
		cmocka_unit_test(test_percentile_rank_rounds_up),
		cmocka_unit_test(test_percentile_errors),
		cmocka_unit_test(test_summary_of_unsorted_input),
		cmocka_unit_test(test_summary_grows_past_its_first_allocation),
		cmocka_unit_test(test_summary_of_nothing_is_an_error),
		cmocka_unit_test(test_json),
		cmocka_unit_test(test_output_figures),
		cmocka_unit_test(test_short_buffer_is_an_error),
		cmocka_unit_test(test_summary_line),
		cmocka_unit_test(test_table),
	};

	if (argc == 2 && !strcmp(argv[1], "--print-json"))
		return print_json();
	return cmocka_run_group_tests_name("bench_stats", tests, NULL, NULL);
}
