/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Unit tests for bpf/usage.c with the polling backend on fake cgroupfs trees
 * built in code (v1 hybrid layout and pure v2), so no root and no BPF needed.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "bpf/usage.h"
#include "bpf/usage_abi.h" /* USAGE_MAX_CPUS: the owner map's size */
#include "tests/lib/skip.h"

#define MS 1000000ULL

struct fake {
	char root[64];
	struct usage *u;
};

static void put(const char *root, const char *rel, const char *content)
{
	char path[512];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", root, rel);
	f = fopen(path, "we");
	assert_non_null(f);
	assert_true(fputs(content, f) >= 0);
	assert_int_equal(fclose(f), 0);
}

static void mkdirs(const char *root, const char *rel)
{
	char path[512];

	snprintf(path, sizeof(path), "%s/%s", root, rel);
	for (char *p = path + strlen(root) + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		mkdir(path, 0755);
		*p = '/';
	}
	assert_true(mkdir(path, 0755) == 0 || errno == EEXIST);
}

static int fake_setup(void **state)
{
	struct fake *f = calloc(1, sizeof(*f));

	if (!f)
		return -1;
	snprintf(f->root, sizeof(f->root), "/tmp/tg-usage-XXXXXX");
	if (!mkdtemp(f->root)) {
		free(f);
		return -1;
	}
	*state = f;
	return 0;
}

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static int fake_teardown(void **state)
{
	struct fake *f = *state;

	usage_free(f->u);
	nftw(f->root, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	free(f);
	return 0;
}

static void make_v1(struct fake *f)
{
	mkdirs(f->root, "cpu/kubepods/pod1/c1");
	put(f->root, "cpu/tasks", "");
	put(f->root, "cpu/kubepods/pod1/c1/cpu.stat",
	    "nr_periods 1\nnr_throttled 1\nthrottled_time 100\n");
	mkdirs(f->root, "cpuacct/kubepods/pod1/c1");
	put(f->root, "cpuacct/kubepods/pod1/c1/cpuacct.usage", "1000000000\n");
	mkdirs(f->root, "memory/kubepods/pod1/c1");
	put(f->root, "memory/kubepods/pod1/c1/memory.usage_in_bytes", "4096\n");
	put(f->root, "memory/kubepods/pod1/c1/memory.oom_control",
	    "oom_kill_disable 0\nunder_oom 0\noom_kill 2\n");
}

static void make_v2(struct fake *f)
{
	put(f->root, "cgroup.controllers", "cpu memory\n");
	mkdirs(f->root, "kubepods.slice/c2.scope");
	put(f->root, "kubepods.slice/c2.scope/cpu.stat",
	    "usage_usec 1000\nnr_periods 0\nnr_throttled 0\nthrottled_usec 0\n");
	put(f->root, "kubepods.slice/c2.scope/memory.current", "8192\n");
	put(f->root, "kubepods.slice/c2.scope/memory.events", "oom 0\noom_kill 0\n");
	put(f->root, "kubepods.slice/c2.scope/cpu.pressure",
	    "some avg10=2.00 avg60=0.00 avg300=0.00 total=10\n"
	    "full avg10=0.00 avg60=0.00 avg300=0.00 total=0\n");
	put(f->root, "kubepods.slice/c2.scope/memory.pressure",
	    "some avg10=0.50 avg60=0.00 avg300=0.00 total=1\n"
	    "full avg10=0.25 avg60=0.00 avg300=0.00 total=1\n");
}

static struct usage *open_poll(struct fake *f, enum usage_hierarchy h)
{
	struct usage_opts o = {
		.cgroup_root = f->root, .backend = USAGE_BACKEND_POLL, .hierarchy = h};

	assert_int_equal(usage_new(&o, &f->u), 0);
	assert_int_equal(usage_backend(f->u), USAGE_BACKEND_POLL);
	assert_int_equal(usage_bpf_error(f->u), 0);
	return f->u;
}

static void test_usage_collect_v1_poll(void **state)
{
	struct fake *f = *state;
	struct usage_sample s;
	struct usage *u;

	make_v1(f);
	u = open_poll(f, USAGE_HIER_AUTO);
	assert_int_equal(usage_hierarchy(u), USAGE_HIER_V1);
	assert_int_equal(usage_register(u, "c1", "/kubepods/pod1/c1"), 0);
	assert_int_equal(usage_collect(u, 1000 * MS), 0);
	assert_int_equal(usage_get(u, "c1", &s), -EAGAIN); /* one collect: no rate yet */
	/* 50 ms of CPU in 100 ms, one more throttle of 400 ns, one more OOM kill. */
	put(f->root, "cpuacct/kubepods/pod1/c1/cpuacct.usage", "1050000000\n");
	put(f->root, "cpu/kubepods/pod1/c1/cpu.stat",
	    "nr_periods 2\nnr_throttled 2\nthrottled_time 500\n");
	put(f->root, "memory/kubepods/pod1/c1/memory.oom_control",
	    "oom_kill_disable 0\nunder_oom 0\noom_kill 3\n");
	assert_int_equal(usage_collect(u, 1100 * MS), 0);
	assert_int_equal(usage_get(u, "c1", &s), 0);
	assert_int_equal(s.interval_ns, 100 * MS);
	assert_true(s.valid & USAGE_F_CPU);
	assert_int_equal(s.cpu_ns, 50 * MS);
	assert_true(s.cpu_cores > 0.499 && s.cpu_cores < 0.501);
	assert_true(s.valid & USAGE_F_THROTTLE);
	assert_int_equal(s.nr_throttled, 1);
	assert_int_equal(s.throttled_ns, 400);
	assert_true(s.valid & USAGE_F_MEMORY);
	assert_int_equal(s.memory_bytes, 4096);
	assert_true(s.valid & USAGE_F_OOM);
	assert_int_equal(s.oom_kills, 1); /* counted from registration */
	/* v1 has no per-cgroup PSI and polling has no scheduler events. */
	assert_false(s.valid & (USAGE_F_PSI_CPU | USAGE_F_PSI_MEMORY | USAGE_F_RQ_LATENCY |
				USAGE_F_PREEMPT | USAGE_F_INTRUSION));
}

static void test_usage_collect_v2_poll(void **state)
{
	struct fake *f = *state;
	struct usage_sample s;
	struct usage *u;

	make_v2(f);
	u = open_poll(f, USAGE_HIER_AUTO);
	assert_int_equal(usage_hierarchy(u), USAGE_HIER_V2);
	assert_int_equal(usage_register(u, "c2", "kubepods.slice/c2.scope"), 0);
	assert_int_equal(usage_collect(u, 0 + 1), 0);
	put(f->root, "kubepods.slice/c2.scope/cpu.stat",
	    "usage_usec 201000\nnr_periods 0\nnr_throttled 0\nthrottled_usec 0\n");
	assert_int_equal(usage_collect(u, 100 * MS + 1), 0);
	assert_int_equal(usage_get(u, "c2", &s), 0);
	assert_int_equal(s.cpu_ns, 200 * MS);
	assert_true(s.cpu_cores > 1.99 && s.cpu_cores < 2.01);
	assert_int_equal(s.memory_bytes, 8192);
	assert_true(s.valid & USAGE_F_PSI_CPU);
	assert_true(s.psi_cpu_some_avg10 == 2.0);
	assert_true(s.valid & USAGE_F_PSI_MEMORY);
	assert_true(s.psi_mem_full_avg10 == 0.25);
}

static void no_pair(const char *from, const char *to, __u64 count, void *userdata)
{
	(void)from;
	(void)to;
	(void)count;
	(void)userdata;
	fail_msg("the poll backend has no preemption pairs");
}

static void test_usage_register_errors(void **state)
{
	struct fake *f = *state;
	struct usage_sample s;
	struct usage *u;
	unsigned int cpu = 0;

	make_v1(f);
	u = open_poll(f, USAGE_HIER_V1);
	assert_int_equal(usage_register(u, "c1", "/kubepods/pod1/c1"), 0);
	assert_int_equal(usage_register(u, "c1", "/kubepods/pod1/c1"), -EEXIST);
	assert_int_equal(usage_register(u, "c1-again", "kubepods//pod1/c1/"), -EEXIST);
	assert_int_equal(usage_register(u, "x", "/kubepods/../../etc"), -EINVAL);
	assert_int_equal(usage_register(u, "x", "/kubepods/nope"), -ENOENT);
	assert_int_equal(usage_register(u, "", "/kubepods/pod1/c1"), -EINVAL);
	assert_int_equal(usage_register(u, "x", NULL), -EINVAL);
	assert_int_equal(usage_get(u, "nope", &s), -ENOENT);
	assert_int_equal(usage_set_exclusive(u, "nope", &cpu, 1), -ENOENT);
	assert_int_equal(usage_set_exclusive(u, "c1", NULL, 1), -EINVAL);
	assert_int_equal(usage_set_exclusive(u, "c1", &cpu, 1), 0);
	assert_int_equal(usage_unregister(u, "c1"), 0);
	assert_int_equal(usage_unregister(u, "c1"), -ENOENT);
	assert_int_equal(usage_preemption_pairs(u, no_pair, NULL), -EOPNOTSUPP);
	assert_int_equal(usage_preemption_pairs(u, NULL, NULL), -EINVAL);
	/* The id is free again. */
	assert_int_equal(usage_register(u, "c1", "kubepods/pod1/c1"), 0);
}

/*
 * Exclusive CPUs index the BPF owner map (USAGE_MAX_CPUS entries) and each container's
 * owned bitmap: the last id fits, the map's size and beyond are refused as a whole,
 * before anything is released or written.
 */
static void test_usage_set_exclusive_cpu_limit(void **state)
{
	struct fake *f = *state;
	const unsigned int last = USAGE_MAX_CPUS - 1, size = USAGE_MAX_CPUS;
	const unsigned int ok[] = {0, last}, past[] = {0, size}, huge[] = {4294967295u};
	struct usage *u;

	make_v1(f);
	u = open_poll(f, USAGE_HIER_V1);
	assert_int_equal(usage_register(u, "c1", "/kubepods/pod1/c1"), 0);
	assert_int_equal(usage_set_exclusive(u, "c1", &last, 1), 0);
	assert_int_equal(usage_set_exclusive(u, "c1", ok, 2), 0);
	assert_int_equal(usage_set_exclusive(u, "c1", &size, 1), -EINVAL);
	assert_int_equal(usage_set_exclusive(u, "c1", past, 2), -EINVAL);
	assert_int_equal(usage_set_exclusive(u, "c1", huge, 1), -EINVAL);
	/* the container is still there and can still change its CPUs */
	assert_int_equal(usage_set_exclusive(u, "c1", ok, 1), 0);
	assert_int_equal(usage_set_exclusive(u, "c1", NULL, 0), 0);
	assert_int_equal(usage_unregister(u, "c1"), 0);
}

static void test_usage_new_missing_hierarchy(void **state)
{
	struct fake *f = *state;
	struct usage_opts o = {.cgroup_root = f->root, .backend = USAGE_BACKEND_POLL};
	struct usage *u = (struct usage *)0x1;

	make_v1(f); /* no v2 anywhere */
	o.hierarchy = USAGE_HIER_V2;
	assert_int_equal(usage_new(&o, &u), -ENOENT);
	assert_ptr_equal(u, (struct usage *)0x1); /* untouched on failure */
	o.cgroup_root = "/nonexistent/tg";
	assert_int_equal(usage_new(&o, &u), -ENOENT);
	assert_int_equal(usage_new(&o, NULL), -EINVAL);
}

static void test_usage_cgroup_id_is_inode(void **state)
{
	struct fake *f = *state;
	char path[512];
	struct stat st;
	__u64 id = 0;
	struct usage *u;

	make_v1(f);
	u = open_poll(f, USAGE_HIER_V1);
	assert_int_equal(usage_register(u, "c1", "/kubepods/pod1/c1"), 0);
	assert_int_equal(usage_cgroup_id(u, "c1", &id), 0);
	snprintf(path, sizeof(path), "%s/cpu/kubepods/pod1/c1", f->root);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(id, st.st_ino);
}

/* A container whose cgroup vanished (exited before unregister) degrades, no crash. */
static void test_usage_collect_cgroup_gone(void **state)
{
	struct fake *f = *state;
	struct usage_sample s;
	char path[512];
	struct usage *u;

	make_v1(f);
	u = open_poll(f, USAGE_HIER_V1);
	assert_int_equal(usage_register(u, "c1", "/kubepods/pod1/c1"), 0);
	assert_int_equal(usage_collect(u, 1 * MS), 0);
	snprintf(path, sizeof(path), "%s/cpuacct/kubepods/pod1/c1/cpuacct.usage", f->root);
	assert_int_equal(unlink(path), 0);
	snprintf(path, sizeof(path), "%s/memory/kubepods/pod1/c1/memory.usage_in_bytes", f->root);
	assert_int_equal(unlink(path), 0);
	assert_int_equal(usage_collect(u, 2 * MS), 0);
	assert_int_equal(usage_get(u, "c1", &s), 0);
	assert_false(s.valid & (USAGE_F_CPU | USAGE_F_MEMORY));
	assert_true(s.valid & USAGE_F_THROTTLE); /* cpu.stat is still there */
}

/*
 * With attach_on_demand the programs are attached exactly while a registered
 * container is marked live: at once on the first mark, at the next collect once the
 * last mark or its container is gone. A switch restarts sampling (no sample mixes
 * BPF and cgroupfs figures). Decisions only: no timing is asserted.
 */
static void test_usage_attach_on_demand(void **state)
{
	struct fake *f = *state;
	struct usage_opts o = {.cgroup_root = f->root,
			       .backend = USAGE_BACKEND_BPF,
			       .hierarchy = USAGE_HIER_V2,
			       .attach_on_demand = true};
	struct usage_sample s;
	int r;

	make_v2(f);
	mkdirs(f->root, "kubepods.slice/c3.scope");
	put(f->root, "kubepods.slice/c3.scope/cpu.stat", "usage_usec 5\n");
	if (geteuid() != 0)
		tg_skip("needs root to load BPF programs");
	r = usage_new(&o, &f->u);
	if (r == USAGE_E_NOBPF)
		tg_skip("BPF cannot be used here");
	assert_int_equal(r, 0);
	assert_false(usage_bpf_attached(f->u)); /* nothing needs live data yet */
	assert_int_equal(usage_register(f->u, "c2", "/kubepods.slice/c2.scope"), 0);
	assert_int_equal(usage_register(f->u, "c3", "/kubepods.slice/c3.scope"), 0);
	assert_int_equal(usage_collect(f->u, 1 * MS), 0);
	assert_int_equal(usage_collect(f->u, 2 * MS), 0);
	assert_false(usage_bpf_attached(f->u));
	assert_int_equal(usage_get(f->u, "c2", &s), 0);
	assert_true(s.valid & USAGE_F_CPU); /* from cgroupfs while detached */
	assert_false(s.valid & (USAGE_F_RQ_LATENCY | USAGE_F_PREEMPT | USAGE_F_INTRUSION));

	assert_int_equal(usage_set_live(f->u, "nope", true), -ENOENT);
	assert_false(usage_bpf_attached(f->u));
	assert_int_equal(usage_set_live(f->u, "c2", true), 0);
	assert_true(usage_bpf_attached(f->u));		      /* at once, not at the next collect */
	assert_int_equal(usage_get(f->u, "c2", &s), -EAGAIN); /* sampling restarted */
	assert_int_equal(usage_set_live(f->u, "c3", true), 0);
	assert_int_equal(usage_set_live(f->u, "c3", true), 0); /* counted once */
	assert_int_equal(usage_set_live(f->u, "c2", false), 0);
	assert_int_equal(usage_collect(f->u, 3 * MS), 0);
	assert_true(usage_bpf_attached(f->u)); /* c3 still needs it */
	assert_int_equal(usage_collect(f->u, 4 * MS), 0);
	assert_int_equal(usage_get(f->u, "c3", &s), 0);
	assert_true(s.valid & USAGE_F_RQ_LATENCY);

	assert_int_equal(usage_unregister(f->u, "c3"), 0);
	assert_true(usage_bpf_attached(f->u)); /* detaching waits for a collect */
	assert_int_equal(usage_collect(f->u, 5 * MS), 0);
	assert_false(usage_bpf_attached(f->u));
	assert_int_equal(usage_get(f->u, "c2", &s), -EAGAIN);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_usage_collect_v1_poll, fake_setup,
						fake_teardown),
		cmocka_unit_test_setup_teardown(test_usage_collect_v2_poll, fake_setup,
						fake_teardown),
		cmocka_unit_test_setup_teardown(test_usage_register_errors, fake_setup,
						fake_teardown),
		cmocka_unit_test_setup_teardown(test_usage_set_exclusive_cpu_limit, fake_setup,
						fake_teardown),
		cmocka_unit_test_setup_teardown(test_usage_new_missing_hierarchy, fake_setup,
						fake_teardown),
		cmocka_unit_test_setup_teardown(test_usage_cgroup_id_is_inode, fake_setup,
						fake_teardown),
		cmocka_unit_test_setup_teardown(test_usage_collect_cgroup_gone, fake_setup,
						fake_teardown),
		cmocka_unit_test_setup_teardown(test_usage_attach_on_demand, fake_setup,
						fake_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
