/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Unit tests for plugin/host/kubepods.c on fake cgroup trees built here: cgroup v2
 * and v1, the cgroupfs and systemd drivers, every QoS level, and what is not a
 * container (conmon scopes, files, odd names).
 */
#define _GNU_SOURCE
#include <errno.h>
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

#include "plugin/host/kubepods.h"

#define ID1 "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
#define ID2 "fedcba9876543210fedcba9876543210fedcba9876543210fedcba9876543210"
#define ID3 "aaaabbbbccccddddeeeeffff0000111122223333444455556666777788889999"

static char root[64];

static int setup(void **state)
{
	(void)state;
	snprintf(root, sizeof(root), "/tmp/tg-kubepods.XXXXXX");
	return mkdtemp(root) ? 0 : -1;
}

static int teardown(void **state)
{
	char cmd[128];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf %s", root);
	return system(cmd) == 0 ? 0 : -1;
}

/* root/rel/file = text, directories made on the way. */
static void put(const char *rel, const char *file, const char *text)
{
	char cmd[1024], path[1024];
	FILE *f;

	snprintf(cmd, sizeof(cmd), "mkdir -p '%s/%s'", root, rel);
	assert_int_equal(system(cmd), 0);
	if (!file)
		return;
	snprintf(path, sizeof(path), "%s/%s/%s", root, rel, file);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static const struct kubepods_ctr *find(const struct kubepods_ctr *c, size_t n, const char *id)
{
	for (size_t i = 0; i < n; i++)
		if (!strcmp(c[i].id, id))
			return &c[i];
	fail_msg("container %s not found", id);
	return NULL;
}

static void test_kubepods_v2_cgroupfs_all_qos(void **state)
{
	const char *g = "kubepods/pod11111111-2222-3333-4444-555555555555/" ID1;
	const char *b = "kubepods/burstable/pod66666666-7777-8888-9999-000000000000/" ID2;
	const char *e = "kubepods/besteffort/podabc/" ID3;
	struct kubepods_ctr *c;
	const struct kubepods_ctr *x;
	size_t n;

	(void)state;
	put(".", "cgroup.controllers", "cpuset cpu memory\n");
	put(g, "cpuset.cpus", "4-5\n");
	put(g, "cpu.max", "200000 100000\n");
	put(g, "cpu.weight", "79\n");
	put(g, "cgroup.procs", "4242\n");
	put(b, "cpuset.cpus", "\n");
	put(b, "cpuset.cpus.effective", "0-3,6-7\n");
	put(b, "cpu.max", "max 100000\n");
	put(b, "cgroup.procs", "");
	put(e, "cpuset.cpus", "0-7\n");
	put("kubepods/burstable/pod66666666-7777-8888-9999-000000000000", "cpu.max",
	    "max 100000\n");
	assert_int_equal(kubepods_scan(root, &c, &n), 0);
	assert_int_equal(n, 3);
	x = find(c, n, ID1);
	assert_int_equal(x->qos, QOS_GUARANTEED);
	assert_string_equal(x->pod_uid, "11111111-2222-3333-4444-555555555555");
	assert_string_equal(x->cpus, "4-5");
	assert_int_equal(x->quota, 200000);
	assert_int_equal(x->period, 100000);
	/* weight 79 is what the kubelet makes of 2048 shares; its map loses a little */
	assert_in_range(x->shares, 2040, 2048);
	assert_true(x->has_procs);
	x = find(c, n, ID2);
	assert_int_equal(x->qos, QOS_BURSTABLE);
	assert_string_equal(x->cpus, "0-3,6-7"); /* inherited: the effective set */
	assert_int_equal(x->quota, -1);
	assert_false(x->has_procs);
	x = find(c, n, ID3);
	assert_int_equal(x->qos, QOS_BESTEFFORT);
	assert_string_equal(x->pod_uid, "abc");
	kubepods_free(c, n);
}

static void test_kubepods_v2_systemd(void **state)
{
	const char *pod = "kubepods.slice/kubepods-burstable.slice/"
			  "kubepods-burstable-pod1234_abcd.slice";
	const char *gpod = "kubepods.slice/kubepods-pod99_88.slice";
	struct kubepods_ctr *c;
	const struct kubepods_ctr *x;
	size_t n;
	char rel[512];

	(void)state;
	put(".", "cgroup.controllers", "cpuset cpu\n");
	snprintf(rel, sizeof(rel), "%s/cri-containerd-%s.scope", pod, ID1);
	put(rel, "cpuset.cpus", "2\n");
	snprintf(rel, sizeof(rel), "%s/crio-conmon-%s.scope", pod, ID2);
	put(rel, "cpuset.cpus", "2\n");
	snprintf(rel, sizeof(rel), "%s/crio-%s.scope", gpod, ID3);
	put(rel, "cpuset.cpus", "8-9\n");
	put(pod, "not-a-dir.scope", "x"); /* a file, not a cgroup */
	snprintf(rel, sizeof(rel), "%s/short.scope", pod);
	put(rel, NULL, NULL); /* no container id */
	assert_int_equal(kubepods_scan(root, &c, &n), 0);
	assert_int_equal(n, 2);
	x = find(c, n, ID1);
	assert_int_equal(x->qos, QOS_BURSTABLE);
	assert_string_equal(x->pod_uid, "1234-abcd");
	x = find(c, n, ID3);
	assert_int_equal(x->qos, QOS_GUARANTEED);
	assert_string_equal(x->pod_uid, "99-88");
	assert_string_equal(x->cpus, "8-9");
	kubepods_free(c, n);
}

/* v1: the cpuset in cpuset/, quota and shares in cpu,cpuacct/. */
static void test_kubepods_v1_cgroupfs(void **state)
{
	const char *rel = "kubepods/podu1/" ID1;
	char cs[256], cpu[256];
	struct kubepods_ctr *c;
	size_t n;

	(void)state;
	snprintf(cs, sizeof(cs), "cpuset/%s", rel);
	snprintf(cpu, sizeof(cpu), "cpu,cpuacct/%s", rel);
	put(cs, "cpuset.cpus", "1,3\n");
	put(cpu, "cpu.cfs_quota_us", "-1\n");
	put(cpu, "cpu.cfs_period_us", "100000\n");
	put(cpu, "cpu.shares", "2048\n");
	put(cpu, "cgroup.procs", "1\n");
	assert_int_equal(kubepods_scan(root, &c, &n), 0);
	assert_int_equal(n, 1);
	assert_string_equal(c[0].cpus, "1,3");
	assert_int_equal(c[0].quota, -1);
	assert_int_equal(c[0].period, 100000);
	assert_int_equal(c[0].shares, 2048);
	assert_true(c[0].has_procs);
	kubepods_free(c, n);
}

static void test_kubepods_none_is_enoent(void **state)
{
	struct kubepods_ctr *c = (void *)1;
	size_t n = 7;

	(void)state;
	put(".", "cgroup.controllers", "cpu\n");
	put("system.slice", NULL, NULL);
	assert_int_equal(kubepods_scan(root, &c, &n), -ENOENT);
	assert_null(c);
	assert_int_equal(n, 0);
	assert_int_equal(kubepods_scan("/nonexistent-root", &c, &n), -ENOENT);
	/* an empty kubepods tree is a node without pods, not a missing one */
	put("kubepods", NULL, NULL);
	assert_int_equal(kubepods_scan(root, &c, &n), 0);
	assert_int_equal(n, 0);
	kubepods_free(c, n);
}

/*
 * One container by the path cgroups_resolve() makes of its NRI cgroups_path: v1
 * (cpuset and cpu hierarchies apart, a systemd scope), and v2 (weight as read); a path
 * that is nowhere is -ENOENT, which reconciliation takes for "gone" once it was seen.
 */
static void test_kubepods_read_one(void **state)
{
	const char *rel = "/kubepods.slice/kubepods-burstable.slice/"
			  "kubepods-burstable-podu2.slice/cri-containerd-" ID2 ".scope";
	char cs[512], cpu[512];
	struct kubepods_ctr k = {0};

	(void)state;
	snprintf(cs, sizeof(cs), "cpuset%s", rel);
	snprintf(cpu, sizeof(cpu), "cpu,cpuacct%s", rel);
	put(cs, "cpuset.cpus", "0-3\n");
	put(cpu, "cpu.cfs_quota_us", "50000\n");
	put(cpu, "cpu.cfs_period_us", "100000\n");
	put(cpu, "cpu.shares", "512\n");
	put(cpu, "cgroup.procs", "");
	assert_int_equal(kubepods_read(root, rel, &k), 0);
	assert_string_equal(k.cpus, "0-3");
	assert_int_equal(k.quota, 50000);
	assert_int_equal(k.period, 100000);
	assert_int_equal(k.shares, 512);
	assert_int_equal(k.weight, 0);
	assert_false(k.has_procs);
	assert_null(k.id);
	kubepods_ctr_done(&k);
	kubepods_ctr_done(NULL);
	assert_int_equal(kubepods_read(root, "/kubepods/podx/" ID1, &k), -ENOENT);
	assert_int_equal(kubepods_read("/nonexistent-root", rel, &k), -ENOENT);
}

static void test_kubepods_read_v2_weight(void **state)
{
	const char *rel = "/kubepods/podu1/" ID1;
	struct kubepods_ctr k = {0};

	(void)state;
	put(".", "cgroup.controllers", "cpuset cpu\n");
	put(rel, "cpuset.cpus", "5\n");
	put(rel, "cpu.max", "max 100000\n");
	put(rel, "cpu.weight", "79\n");
	put(rel, "cgroup.procs", "77\n");
	assert_int_equal(kubepods_read(root, rel, &k), 0);
	assert_int_equal(k.weight, 79);
	assert_int_equal(k.quota, -1);
	assert_true(k.has_procs);
	assert_int_equal(kubepods_shares_to_weight(2048), 79);
	assert_int_equal(kubepods_shares_to_weight(k.shares), 79);
	assert_int_equal(kubepods_shares_to_weight(0), 1);
	assert_int_equal(kubepods_shares_to_weight(1u << 30), 10000);
	kubepods_ctr_done(&k);
}

static void read_back(const struct kubepods_root *r, const char *rel, struct kubepods_ctr *k)
{
	assert_int_equal(kubepods_read_at(r, rel, k), 0);
}

/* A direct write (safe actuation) on v1: cpuset in cpuset/, period then quota in cpu/. */
static void test_kubepods_write_v1(void **state)
{
	const char *rel = "/kubepods/podu1/" ID1;
	struct kubepods_cpu w = {.cpus = "2-3", .has_quota = true, .quota = 20000};
	struct kubepods_root *r;
	struct kubepods_ctr k = {0};
	char cs[256], cpu[256];

	(void)state;
	snprintf(cs, sizeof(cs), "cpuset%s", rel);
	snprintf(cpu, sizeof(cpu), "cpu,cpuacct%s", rel);
	put(cs, "cpuset.cpus", "0-7\n");
	put(cpu, "cpu.cfs_quota_us", "-1\n");
	put(cpu, "cpu.cfs_period_us", "50000\n");
	assert_int_equal(kubepods_root_open(root, &r), 0);
	assert_int_equal(kubepods_write_at(r, rel, &w), 0);
	read_back(r, rel, &k);
	assert_string_equal(k.cpus, "2-3");
	assert_int_equal(k.quota, 20000);
	assert_int_equal(k.period, 100000); /* 0 = the default period */
	kubepods_ctr_done(&k);
	w = (struct kubepods_cpu){.has_quota = true, .quota = -1, .period = 200000};
	assert_int_equal(kubepods_write_at(r, rel, &w), 0); /* cpus left alone */
	read_back(r, rel, &k);
	assert_string_equal(k.cpus, "2-3");
	assert_int_equal(k.quota, -1);
	assert_int_equal(k.period, 200000);
	kubepods_ctr_done(&k);
	/* files are never created: a cgroup that is not there is -ENOENT */
	assert_int_equal(kubepods_write_at(r, "/kubepods/podx/" ID2, &w), -ENOENT);
	assert_int_equal(kubepods_write_at(r, "/kubepods/../../etc", &w), -EINVAL);
	kubepods_root_free(r);
}

static void test_kubepods_write_v2(void **state)
{
	const char *rel = "/kubepods/burstable/podu1/" ID1;
	struct kubepods_cpu w = {.cpus = "4", .has_quota = true, .quota = 30000, .period = 100000};
	struct kubepods_root *r;
	struct kubepods_ctr k = {0};

	(void)state;
	put(".", "cgroup.controllers", "cpuset cpu\n");
	put(rel, "cpuset.cpus", "0-7\n");
	put(rel, "cpu.max", "max 100000\n");
	assert_int_equal(kubepods_root_open(root, &r), 0);
	assert_int_equal(kubepods_write_at(r, rel, &w), 0);
	read_back(r, rel, &k);
	assert_string_equal(k.cpus, "4");
	assert_int_equal(k.quota, 30000);
	kubepods_ctr_done(&k);
	w.quota = 0; /* unlimited */
	assert_int_equal(kubepods_write_at(r, rel, &w), 0);
	read_back(r, rel, &k);
	assert_int_equal(k.quota, -1);
	kubepods_ctr_done(&k);
	kubepods_root_free(r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_kubepods_v2_cgroupfs_all_qos, setup, teardown),
		cmocka_unit_test_setup_teardown(test_kubepods_v2_systemd, setup, teardown),
		cmocka_unit_test_setup_teardown(test_kubepods_v1_cgroupfs, setup, teardown),
		cmocka_unit_test_setup_teardown(test_kubepods_none_is_enoent, setup, teardown),
		cmocka_unit_test_setup_teardown(test_kubepods_read_one, setup, teardown),
		cmocka_unit_test_setup_teardown(test_kubepods_read_v2_weight, setup, teardown),
		cmocka_unit_test_setup_teardown(test_kubepods_write_v1, setup, teardown),
		cmocka_unit_test_setup_teardown(test_kubepods_write_v2, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
