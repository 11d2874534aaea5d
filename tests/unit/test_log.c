// SPDX-License-Identifier: MIT
/* The callback logger: levels, filtering, parsing. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include <iiofab/log.h>

struct t_sink {
	int calls;
	int level;
	char msg[2048];
};

static void t_sink_fn(void *arg, int level, const char *msg)
{
	struct t_sink *s = arg;

	s->calls++;
	s->level = level;
	snprintf(s->msg, sizeof(s->msg), "%s", msg);
}

static void test_filtering(void **state)
{
	struct t_sink sink = { 0 };
	struct iiofab_logger lg = { t_sink_fn, &sink, IIOFAB_LOGGER_INFO };
	char big[3000];

	(void)state;
	iiofab_log_debug(&lg, "hidden %d", 1);
	assert_int_equal(sink.calls, 0);
	iiofab_log_info(&lg, "stream %u opened", 7u);
	assert_int_equal(sink.calls, 1);
	assert_int_equal(sink.level, IIOFAB_LOGGER_INFO);
	assert_string_equal(sink.msg, "stream 7 opened");
	iiofab_log_err(&lg, "%s", "bad");
	assert_int_equal(sink.level, IIOFAB_LOGGER_ERROR);
	iiofab_logf(&lg, IIOFAB_LOGGER_NONE, "never");
	assert_int_equal(sink.calls, 2);
	assert_true(iiofab_logger_enabled(&lg, IIOFAB_LOGGER_WARNING));
	assert_false(iiofab_logger_enabled(&lg, IIOFAB_LOGGER_DEBUG));

	/* Long lines are cut, not dropped. */
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	iiofab_log_warn(&lg, "%s", big);
	assert_int_equal(sink.calls, 3);
	assert_true(strlen(sink.msg) > 500 && strlen(sink.msg) < sizeof(big) - 1);

	/* No logger, no callback, level NONE: silence. */
	iiofab_log_err(NULL, "x");
	lg.fn = NULL;
	iiofab_log_err(&lg, "x");
	lg.fn = t_sink_fn;
	lg.level = IIOFAB_LOGGER_NONE;
	iiofab_log_err(&lg, "x");
	assert_int_equal(sink.calls, 3);
}

static void test_levels(void **state)
{
	(void)state;
	assert_int_equal(iiofab_logger_level_parse("debug"), IIOFAB_LOGGER_DEBUG);
	assert_int_equal(iiofab_logger_level_parse("WARN"), IIOFAB_LOGGER_WARNING);
	assert_int_equal(iiofab_logger_level_parse("warning"), IIOFAB_LOGGER_WARNING);
	assert_int_equal(iiofab_logger_level_parse("none"), IIOFAB_LOGGER_NONE);
	assert_int_equal(iiofab_logger_level_parse("3"), IIOFAB_LOGGER_INFO);
	assert_int_equal(iiofab_logger_level_parse("5"), -EINVAL);
	assert_int_equal(iiofab_logger_level_parse("33"), -EINVAL);
	assert_int_equal(iiofab_logger_level_parse(""), -EINVAL);
	assert_int_equal(iiofab_logger_level_parse(NULL), -EINVAL);
	assert_int_equal(iiofab_logger_level_parse("verbose"), -EINVAL);
	assert_string_equal(iiofab_logger_level_name(IIOFAB_LOGGER_WARNING), "warning");
	assert_string_equal(iiofab_logger_level_name(IIOFAB_LOGGER_ERROR), "error");
	assert_string_equal(iiofab_logger_level_name(42), "?");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_filtering),
		cmocka_unit_test(test_levels),
	};

	return cmocka_run_group_tests_name("log", tests, NULL, NULL);
}
