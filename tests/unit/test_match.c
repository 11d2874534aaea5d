// SPDX-License-Identifier: MIT
/* Device names: id first, then name, then label. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <iiofab/match.h>

struct t_dev {
	const char *id, *name, *label;
};

static const char *t_get(const void *table, unsigned int i, enum iiofab_match_field f)
{
	const struct t_dev *d = (const struct t_dev *)table + i;

	return f == IIOFAB_MATCH_ID ? d->id : f == IIOFAB_MATCH_NAME ? d->name : d->label;
}

static const struct t_dev devs[] = {
	{ "iio:device0", "iio:device1", "" },	/* a name that is another id */
	{ "iio:device1", "adc", "adc0" },
	{ "iio:device2", "adc", "adc1" },
	{ "iio:device3", "dac", NULL },
};

static void test_order(void **state)
{
	(void)state;
	assert_int_equal(iiofab_match_device("iio:device1", devs, 4, t_get), 1);
	assert_int_equal(iiofab_match_device("adc", devs, 4, t_get), 1);
	assert_int_equal(iiofab_match_device("adc1", devs, 4, t_get), 2);
	assert_int_equal(iiofab_match_device("dac", devs, 4, t_get), 3);
}

static void test_no_match(void **state)
{
	(void)state;
	assert_int_equal(iiofab_match_device("", devs, 4, t_get), -1);
	assert_int_equal(iiofab_match_device(NULL, devs, 4, t_get), -1);
	assert_int_equal(iiofab_match_device("nope", devs, 4, t_get), -1);
	assert_int_equal(iiofab_match_device("adc", devs, 0, t_get), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_order),
		cmocka_unit_test(test_no_match),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
