/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Unit tests for plugin/cli/cmd_run.c's command line: every long option that
 * `topoguard run --help` lists is accepted (the help and the option table cannot
 * drift apart), and an unknown one is refused with exit code 2. Each option is
 * followed by --help, so the daemon never starts.
 */
#include <ctype.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "plugin/cli/cmd.h"
#include "tests/lib/capture.h"

static char out[1 << 16];
static char err[1 << 16];

static int run(char **argv, int argc)
{
	int rc = capture_cmd(cmd_run, argc, argv, out, sizeof(out), err, sizeof(err));

	assert_true(rc >= 0);
	return rc;
}

/* One "  -x, --long ARG   text" or "      --long ARG   text" line of the help. */
static int parse_help_line(const char *line, char *name, size_t n, int *ret_takes_arg)
{
	const char *p = strstr(line, "--"), *e;

	if (!p || (p != line && p[-1] != ' '))
		return 0;
	for (const char *q = line; q < p; q++)
		if (*q != ' ' && *q != ',' && *q != '-' && !isalpha((unsigned char)*q))
			return 0;
	e = p + 2;
	while (*e == '-' || isalnum((unsigned char)*e))
		e++;
	if ((size_t)(e - p) >= n)
		return 0;
	memcpy(name, p, (size_t)(e - p));
	name[e - p] = '\0';
	/* an argument follows: one upper-case word ("FILE", "DIR", "A") before the text */
	*ret_takes_arg = e[0] == ' ' && isupper((unsigned char)e[1]);
	return 1;
}

static void test_cmd_run_accepts_every_option_of_its_help(void **state)
{
	char *help_argv[] = {(char *)"run", (char *)"--help", NULL};
	char help[sizeof(out)], *save = NULL;
	unsigned int seen = 0;

	(void)state;
	assert_int_equal(run(help_argv, 2), 0);
	snprintf(help, sizeof(help), "%s", out);
	for (char *line = strtok_r(help, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char name[64], *argv[5] = {(char *)"run", name};
		int argc = 2, takes_arg;

		if (!parse_help_line(line, name, sizeof(name), &takes_arg) ||
		    !strcmp(name, "--help"))
			continue;
		if (takes_arg)
			argv[argc++] = (char *)"x";
		argv[argc++] = (char *)"--help";
		argv[argc] = NULL;
		if (run(argv, argc) != 0)
			fail_msg("topoguard run --help lists %s, but it is refused: %s", name, err);
		seen++;
	}
	/* config socket name idx sysfs-root cgroup-root status-socket metrics-address log-file
	 * log-level no-reconnect */
	assert_true(seen >= 11);
}

static void test_cmd_run_refuses_an_unknown_option(void **state)
{
	char *argv[] = {(char *)"run", (char *)"--no-such-option", NULL};

	(void)state;
	assert_int_equal(run(argv, 2), 2);
	assert_non_null(strstr(err, "no-such-option"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cmd_run_accepts_every_option_of_its_help),
		cmocka_unit_test(test_cmd_run_refuses_an_unknown_option),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
