/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests for bpf/cgstat.c: parsers on buffers, readers on a tree built in code. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "bpf/cgstat.h"

/* Samples of the real files, as printed by Linux 6.x (cgroup v1 and v2). */
static const char v1_cpu_stat[] = "nr_periods 12\nnr_throttled 3\nthrottled_time 4500000\n"
				  "nr_bursts 0\nburst_time 0\n";
static const char v2_cpu_stat[] = "usage_usec 2500\nuser_usec 2000\nsystem_usec 500\n"
				  "core_sched.force_idle_usec 0\nnr_periods 7\nnr_throttled 2\n"
				  "throttled_usec 1234\nnr_bursts 0\nburst_usec 0\n";
static const char psi_both[] = "some avg10=1.50 avg60=0.20 avg300=0.00 total=12345\n"
			       "full avg10=0.75 avg60=0.00 avg300=0.00 total=678\n";

static void test_cgstat_parse_cpu_stat_v1(void **state)
{
	struct cgstat_cpu c;

	(void)state;
	assert_int_equal(cgstat_parse_cpu_stat(v1_cpu_stat, &c), 0);
	assert_false(c.has_usage);
	assert_true(c.has_throttle);
	assert_int_equal(c.nr_periods, 12);
	assert_int_equal(c.nr_throttled, 3);
	assert_int_equal(c.throttled_ns, 4500000); /* v1 reports ns */
}

static void test_cgstat_parse_cpu_stat_v2(void **state)
{
	struct cgstat_cpu c;

	(void)state;
	assert_int_equal(cgstat_parse_cpu_stat(v2_cpu_stat, &c), 0);
	assert_true(c.has_usage);
	assert_int_equal(c.usage_ns, 2500000);
	assert_true(c.has_throttle);
	assert_int_equal(c.nr_throttled, 2);
	assert_int_equal(c.throttled_ns, 1234000); /* v2 reports us */
}

static void test_cgstat_parse_cpu_stat_garbage(void **state)
{
	struct cgstat_cpu c = {.usage_ns = 42};

	(void)state;
	assert_int_equal(cgstat_parse_cpu_stat("hello world\n", &c), -EBADMSG);
	assert_int_equal(cgstat_parse_cpu_stat("usage_usec x\n", &c), -EBADMSG);
	assert_int_equal(c.usage_ns, 42); /* untouched on failure */
	assert_int_equal(cgstat_parse_cpu_stat(NULL, &c), -EINVAL);
}

static void test_cgstat_parse_key_prefix_not_matched(void **state)
{
	__u64 v = 0;

	(void)state;
	/* "oom_kill_disable" must not satisfy "oom_kill". */
	assert_int_equal(
		cgstat_parse_key("oom_kill_disable 0\nunder_oom 0\noom_kill 5\n", "oom_kill", &v),
		0);
	assert_int_equal(v, 5);
	assert_int_equal(cgstat_parse_key("oom_kill_disable 0\n", "oom_kill", &v), -ENOENT);
}

static void test_cgstat_parse_psi_some_and_full(void **state)
{
	struct cgstat_psi p;

	(void)state;
	assert_int_equal(cgstat_parse_psi(psi_both, &p), 0);
	assert_true(p.some_avg10 == 1.50);
	assert_int_equal(p.some_total_us, 12345);
	assert_true(p.has_full);
	assert_true(p.full_avg10 == 0.75);
	assert_int_equal(p.full_total_us, 678);
}

static void test_cgstat_parse_psi_bad(void **state)
{
	struct cgstat_psi p;

	(void)state;
	assert_int_equal(cgstat_parse_psi("full avg10=0.00\n", &p), -EBADMSG);
	assert_int_equal(cgstat_parse_psi("some avg10=x\n", &p), -EBADMSG);
}

static void test_cgstat_parse_u64_values(void **state)
{
	__u64 v = 0;

	(void)state;
	assert_int_equal(cgstat_parse_u64("123456789\n", &v), 0);
	assert_int_equal(v, 123456789);
	assert_int_equal(cgstat_parse_u64("max\n", &v), -EBADMSG);
	assert_int_equal(cgstat_parse_u64("12 34\n", &v), -EBADMSG);
	assert_int_equal(cgstat_parse_u64("-1\n", &v), -EBADMSG);
	assert_int_equal(cgstat_parse_u64("99999999999999999999999\n", &v), -EBADMSG);
}

/* ---- readers on a tree built in code ---- */

struct tree {
	char dir[64];
	int fd;
};

static void put(int dirfd, const char *name, const char *content)
{
	int fd = openat(dirfd, name, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, content, strlen(content)), (ssize_t)strlen(content));
	close(fd);
}

static int tree_setup(void **state)
{
	struct tree *t = calloc(1, sizeof(*t));

	if (!t)
		return -1;
	snprintf(t->dir, sizeof(t->dir), "/tmp/tg-cgstat-XXXXXX");
	if (!mkdtemp(t->dir)) {
		free(t);
		return -1;
	}
	t->fd = open(t->dir, O_DIRECTORY | O_RDONLY | O_CLOEXEC);
	*state = t;
	return t->fd < 0 ? -1 : 0;
}

static int tree_teardown(void **state)
{
	struct tree *t = *state;
	const char *files[] = {"cpu.stat", "cpuacct.usage", "cpu.pressure", "memory.events"};

	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++)
		unlinkat(t->fd, files[i], 0);
	close(t->fd);
	rmdir(t->dir);
	free(t);
	return 0;
}

static void test_cgstat_read_files(void **state)
{
	struct tree *t = *state;
	struct cgstat_cpu c;
	struct cgstat_psi p;
	__u64 v;

	put(t->fd, "cpu.stat", v2_cpu_stat);
	put(t->fd, "cpuacct.usage", "987654321\n");
	put(t->fd, "cpu.pressure", "some avg10=0.00 avg60=0.00 avg300=0.00 total=3\n");
	put(t->fd, "memory.events", "low 0\nhigh 0\nmax 4\noom 2\noom_kill 1\n");
	assert_int_equal(cgstat_read_cpu_stat(t->fd, &c), 0);
	assert_int_equal(c.usage_ns, 2500000);
	assert_int_equal(cgstat_read_u64(t->fd, "cpuacct.usage", &v), 0);
	assert_int_equal(v, 987654321);
	assert_int_equal(cgstat_read_psi(t->fd, "cpu.pressure", &p), 0);
	assert_false(p.has_full);
	assert_int_equal(p.some_total_us, 3);
	assert_int_equal(cgstat_read_key(t->fd, "memory.events", "oom_kill", &v), 0);
	assert_int_equal(v, 1);
}

static void test_cgstat_read_file_errors(void **state)
{
	struct tree *t = *state;
	char buf[8];
	__u64 v;

	assert_int_equal(cgstat_read_u64(t->fd, "memory.current", &v), -ENOENT);
	assert_int_equal(cgstat_read_file(t->fd, "/etc/passwd", buf, sizeof(buf)), -EINVAL);
	assert_int_equal(cgstat_read_file(t->fd, "x", buf, 1), -EINVAL);
	/* A long file is truncated to the buffer, never overflowing it. */
	put(t->fd, "cpuacct.usage", "0123456789abcdef");
	assert_int_equal(cgstat_read_file(t->fd, "cpuacct.usage", buf, sizeof(buf)), 7);
	assert_string_equal(buf, "0123456");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cgstat_parse_cpu_stat_v1),
		cmocka_unit_test(test_cgstat_parse_cpu_stat_v2),
		cmocka_unit_test(test_cgstat_parse_cpu_stat_garbage),
		cmocka_unit_test(test_cgstat_parse_key_prefix_not_matched),
		cmocka_unit_test(test_cgstat_parse_psi_some_and_full),
		cmocka_unit_test(test_cgstat_parse_psi_bad),
		cmocka_unit_test(test_cgstat_parse_u64_values),
		cmocka_unit_test_setup_teardown(test_cgstat_read_files, tree_setup, tree_teardown),
		cmocka_unit_test_setup_teardown(test_cgstat_read_file_errors, tree_setup,
						tree_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
