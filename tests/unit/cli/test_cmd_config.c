/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests for plugin/cli/cmd_config.c: `topoguard validate-config` exit codes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <unistd.h>

#include <cmocka.h>

#include "plugin/cli/cmd.h"

static void test_cmd_validate_config_exit_codes(void **state)
{
	char good[] = "/tmp/test_config_XXXXXX", bad[] = "/tmp/test_config_XXXXXX";
	int fg = mkstemp(good), fb = mkstemp(bad);
	char *argv_good[] = {(char *)"validate-config", (char *)"-q", good, NULL};
	char *argv_bad[] = {(char *)"validate-config", bad, NULL};
	char *argv_none[] = {(char *)"validate-config", NULL};
	char *argv_help[] = {(char *)"validate-config", (char *)"--help", NULL};

	(void)state;
	assert_true(fg >= 0 && fb >= 0);
	assert_int_equal(write(fg, "log: {level: warn}\n", 19), 19);
	assert_int_equal(write(fb, "log: {level: loud}\n", 19), 19);
	assert_int_equal(cmd_validate_config(3, argv_good), 0);
	assert_int_equal(cmd_validate_config(2, argv_bad), 1);
	assert_int_equal(cmd_validate_config(1, argv_none), 2);
	assert_int_equal(cmd_validate_config(2, argv_help), 0);
	close(fg);
	close(fb);
	unlink(good);
	unlink(bad);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cmd_validate_config_exit_codes),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
