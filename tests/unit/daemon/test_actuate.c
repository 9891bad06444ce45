/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests for plugin/daemon/actuate.c: the safe-actuation decision (pure). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "plugin/daemon/state.h"

/* auto: unsolicited updates only where containerd#13733 is fixed (NRI v0.12.1). */
static void test_actuation_decide_auto_follows_the_nri_version(void **state)
{
	(void)state;
	assert_int_equal(daemon_actuation_decide(CONFIG_ACTUATION_AUTO, "v0.12.1"),
			 DAEMON_ACTUATION_NRI);
	assert_int_equal(daemon_actuation_decide(CONFIG_ACTUATION_AUTO, "v0.12.2"),
			 DAEMON_ACTUATION_NRI);
	assert_int_equal(daemon_actuation_decide(CONFIG_ACTUATION_AUTO, "v0.12.0"),
			 DAEMON_ACTUATION_DIRECT);
	assert_int_equal(daemon_actuation_decide(CONFIG_ACTUATION_AUTO, "v0.11.0"),
			 DAEMON_ACTUATION_DIRECT);
	assert_int_equal(daemon_actuation_decide(CONFIG_ACTUATION_AUTO, "v0.4.0"),
			 DAEMON_ACTUATION_DIRECT);
	assert_int_equal(daemon_actuation_decide(CONFIG_ACTUATION_AUTO, "unknown"),
			 DAEMON_ACTUATION_DIRECT);
	assert_int_equal(daemon_actuation_decide(CONFIG_ACTUATION_AUTO, NULL),
			 DAEMON_ACTUATION_DIRECT);
}

/* nri and direct override the version either way (CRI-O's own fix, a wrong version). */
static void test_actuation_decide_config_overrides(void **state)
{
	(void)state;
	assert_int_equal(daemon_actuation_decide(CONFIG_ACTUATION_NRI, "v0.4.0"),
			 DAEMON_ACTUATION_NRI);
	assert_int_equal(daemon_actuation_decide(CONFIG_ACTUATION_NRI, NULL), DAEMON_ACTUATION_NRI);
	assert_int_equal(daemon_actuation_decide(CONFIG_ACTUATION_DIRECT, "v0.12.2"),
			 DAEMON_ACTUATION_DIRECT);
	assert_string_equal(daemon_actuation_name(DAEMON_ACTUATION_NRI), "nri");
	assert_string_equal(daemon_actuation_name(DAEMON_ACTUATION_DIRECT), "direct");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_actuation_decide_auto_follows_the_nri_version),
		cmocka_unit_test(test_actuation_decide_config_overrides),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
