/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests for plugin/daemon/resannot.c: the noderesource.dev/resources annotation. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "plugin/daemon/resannot.h"

#define GIB (1ll << 30)

static int64_t qty(const char *s, int scale)
{
	int64_t v = -42;
	int r = resannot_quantity(s, scale, &v);

	if (r < 0)
		fail_msg("quantity \"%s\": %s", s, strerror(-r));
	return v;
}

static void test_resannot_quantity_forms(void **state)
{
	(void)state;
	assert_int_equal(qty("2", 3), 2000);
	assert_int_equal(qty("500m", 3), 500);
	assert_int_equal(qty("1.5", 3), 1500);
	assert_int_equal(qty("0.0001", 3), 1); /* rounded up, as MilliValue() */
	assert_int_equal(qty("+.25", 3), 250);
	assert_int_equal(qty("1e3", 3), 1000000);
	assert_int_equal(qty("100n", 3), 1);
	assert_int_equal(qty("0", 3), 0);
	assert_int_equal(qty("000", 0), 0);
	assert_int_equal(qty("1Gi", 0), GIB);
	assert_int_equal(qty("1.5Gi", 0), GIB + GIB / 2);
	assert_int_equal(qty("128974848", 0), 128974848);
	assert_int_equal(qty("129e6", 0), 129000000);
	assert_int_equal(qty("123M", 0), 123000000);
	assert_int_equal(qty("1k", 0), 1000);
	assert_int_equal(qty("1Ki", 0), 1024);
	assert_int_equal(qty("1E", 0), 1000000000000000000ll);
	assert_int_equal(qty("7Ei", 0), 7ll << 60);
	assert_int_equal(qty("100000000000000000000000000000e-25", 0), 10000);
	assert_int_equal(qty("1.000000000000000000000001Ki", 0), 1025);
}

static void test_resannot_quantity_refused(void **state)
{
	static const char *const bad[] = {"",	 "-1", "abc", "1.2.3", "1K", "1ki", "e3", "1e",
					  "1e+", "2 ", " 2",  "1m5",   ".",  "+",   "1x", "0x10"};
	static const char *const big[] = {"8Ei", "9223372036854775808", "1e61", "10E",
					  "1234567890123456789012345678901"};
	int64_t v = 7;

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (resannot_quantity(bad[i], 0, &v) != -EINVAL)
			fail_msg("\"%s\" was not refused as bad", bad[i]);
	for (size_t i = 0; i < sizeof(big) / sizeof(big[0]); i++)
		if (resannot_quantity(big[i], 0, &v) != -ERANGE)
			fail_msg("\"%s\" was not refused as out of range", big[i]);
	assert_int_equal(resannot_quantity("9223372036854776", 3, &v), -ERANGE);
	assert_int_equal(resannot_quantity(NULL, 0, &v), -EINVAL);
	assert_int_equal(v, 7);
}

static const char webhook[] =
	"{\"initContainers\":{\"setup\":{\"requests\":{\"cpu\":\"1\"}}},"
	"\"containers\":{"
	"\"app\":{},"
	"\"side\":{\"limits\":{\"cpu\":\"500m\",\"memory\":\"128Mi\"},"
	"\"requests\":{\"cpu\":\"250m\",\"memory\":\"64Mi\",\"ephemeral-storage\":\"1Gi\"}},"
	"\"db\":{\"limits\":{\"cpu\":2,\"memory\":\"1Gi\"},\"claims\":[{\"name\":\"gpu\"}]},"
	"\"helper\":{\"requests\":null,\"limits\":{}}}}\n";

static struct resannot parse(const char *v, const char *name)
{
	struct resannot a;
	char err[256] = "";
	int r = resannot_parse(v, name, &a, err, sizeof(err));

	if (r < 0)
		fail_msg("parse: %s (%s)", strerror(-r), err);
	return a;
}

static void test_resannot_parse_webhook_value(void **state)
{
	struct resannot a;

	(void)state;
	a = parse(webhook, "app");
	assert_true(a.found);
	assert_false(a.init);
	assert_false(resannot_res_any(&a.self));
	assert_int_equal(a.n_containers, 4);
	assert_int_equal(a.n_without, 2); /* app and helper */
	assert_int_equal(a.sum.request_mcpu, 250 + 2000);
	assert_int_equal(a.sum.limit_mcpu, 500 + 2000);
	assert_int_equal(a.sum.mem_limit, 128 * 1024 * 1024 + GIB);
	assert_int_equal(a.init_max.request_mcpu, 1000);
	assert_int_equal(a.init_max.limit_mcpu, 0);

	a = parse(webhook, "db"); /* request defaults to the limit */
	assert_int_equal(a.self.request_mcpu, 2000);
	assert_int_equal(a.self.limit_mcpu, 2000);
	assert_int_equal(a.self.mem_limit, GIB);

	a = parse(webhook, "setup");
	assert_true(a.found);
	assert_true(a.init);
	assert_int_equal(a.self.request_mcpu, 1000);

	a = parse(webhook, "nobody");
	assert_false(a.found);
	assert_int_equal(a.n_without, 2);
	a = parse("{\"containers\":null}", "app");
	assert_false(a.found);
	assert_int_equal(a.n_containers, 0);
	a = parse("{\"containers\":{\"a\":{\"limits\":{\"cpu\":\"9000000000000000\"}},"
		  "\"b\":{\"limits\":{\"cpu\":\"9000000000000000\"}}}}",
		  "a");
	assert_int_equal(a.sum.limit_mcpu, INT64_MAX); /* saturated */
}

static void expect_refused(const char *v, int err_no, const char *reason)
{
	struct resannot a = {.n_containers = 99};
	char err[256] = "";

	assert_int_equal(resannot_parse(v, "app", &a, err, sizeof(err)), err_no);
	if (!strstr(err, reason))
		fail_msg("\"%s\": reason \"%s\" lacks \"%s\"", v, err, reason);
	assert_int_equal(a.n_containers, 99); /* untouched */
}

static void test_resannot_parse_refused(void **state)
{
	char *big = malloc(RESANNOT_MAX + 2);

	(void)state;
	assert_non_null(big);
	expect_refused("", -EINVAL, "not JSON");
	expect_refused("{\"containers\":", -EINVAL, "not JSON");
	expect_refused("{} x", -EINVAL, "not JSON");
	expect_refused("[1]", -EINVAL, "not a JSON object");
	expect_refused("{\"containers\":[]}", -EINVAL, "containers: not an object");
	expect_refused("{\"containers\":{\"app\":3}}", -EINVAL, "containers.app: not an object");
	expect_refused("{\"containers\":{\"x\":{\"limits\":\"2\"}}}", -EINVAL,
		       "containers.x.limits: not an object");
	expect_refused("{\"containers\":{\"x\":{\"requests\":{\"cpu\":\"two\"}}}}", -EINVAL,
		       "containers.x.cpu: bad quantity \"two\"");
	expect_refused("{\"containers\":{\"x\":{\"requests\":{\"memory\":-1}}}}", -EINVAL,
		       "bad quantity -1");
	expect_refused("{\"containers\":{\"x\":{\"limits\":{\"cpu\":1.5}}}}", -EINVAL,
		       "bad quantity 1.5");
	expect_refused("{\"containers\":{\"x\":{\"limits\":{\"memory\":\"9Ei\"}}}}", -ERANGE,
		       "out of range");
	expect_refused("{\"initContainers\":{\"i\":{\"limits\":{\"cpu\":\"-1\"}}}}", -EINVAL,
		       "initContainers.i.cpu");
	expect_refused("{\"a\":{\"b\":{\"c\":{\"d\":{\"e\":{\"f\":{\"g\":{\"h\":{}}}}}}}}}",
		       -EINVAL, "not JSON");
	memset(big, ' ', RESANNOT_MAX + 1);
	big[RESANNOT_MAX + 1] = '\0';
	expect_refused(big, -E2BIG, "longer than 65536 bytes");
	free(big);
	assert_int_equal(resannot_parse(NULL, "app", NULL, NULL, 0), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_resannot_quantity_forms),
		cmocka_unit_test(test_resannot_quantity_refused),
		cmocka_unit_test(test_resannot_parse_webhook_value),
		cmocka_unit_test(test_resannot_parse_refused),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
