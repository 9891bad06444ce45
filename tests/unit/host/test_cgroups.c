/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Tests for plugin/host/cgroups.c: NRI cgroups_path -> cgroup path for both cgroup
 * drivers, and registration through it on a fake tree (no root needed).
 */
#define _GNU_SOURCE
#include <errno.h>
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
#include "plugin/host/cgroups.h"

static void expect_resolve(const char *in, enum cgroups_driver d, const char *want)
{
	char *out = NULL;
	int r = cgroups_resolve(in, d, &out);

	if (r < 0)
		fail_msg("cgroups_resolve(%s): %s", in, strerror(-r));
	assert_string_equal(out, want);
	free(out);
}

static void expect_fail(const char *in, enum cgroups_driver d, int err)
{
	char *out = (char *)0x1;

	assert_int_equal(cgroups_resolve(in, d, &out), err);
	assert_ptr_equal(out, (char *)0x1); /* untouched on failure */
}

static void test_cgroups_resolve_systemd(void **state)
{
	(void)state;
	expect_resolve(
		"kubepods-burstable-pod1234_5678.slice:cri-containerd:abcdef",
		CGROUPS_DRIVER_SYSTEMD,
		"/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod1234_5678.slice/"
		"cri-containerd-abcdef.scope");
	expect_resolve("kubepods-pod9.slice:cri-containerd:ff", CGROUPS_DRIVER_AUTO,
		       "/kubepods.slice/kubepods-pod9.slice/cri-containerd-ff.scope");
	/* Root slice and a name that is already a slice. */
	expect_resolve(":cri-containerd:ab", CGROUPS_DRIVER_SYSTEMD, "/cri-containerd-ab.scope");
	expect_resolve("system.slice::x.slice", CGROUPS_DRIVER_SYSTEMD, "/system.slice/x.slice");
}

static void test_cgroups_resolve_cgroupfs(void **state)
{
	(void)state;
	expect_resolve("/kubepods/burstable/pod1/abc", CGROUPS_DRIVER_CGROUPFS,
		       "/kubepods/burstable/pod1/abc");
	expect_resolve("/kubepods//besteffort/./pod2/", CGROUPS_DRIVER_AUTO,
		       "/kubepods/besteffort/pod2");
	expect_resolve("kubepods/x", CGROUPS_DRIVER_CGROUPFS, "/kubepods/x");
	expect_resolve("/", CGROUPS_DRIVER_CGROUPFS, "/");
}

static void test_cgroups_resolve_rejects(void **state)
{
	(void)state;
	expect_fail("/kubepods/../../etc", CGROUPS_DRIVER_CGROUPFS, -EINVAL);
	expect_fail("", CGROUPS_DRIVER_AUTO, -EINVAL);
	expect_fail(NULL, CGROUPS_DRIVER_AUTO, -EINVAL);
	expect_fail("a.slice:b", CGROUPS_DRIVER_SYSTEMD, -EINVAL);	   /* one colon */
	expect_fail("a.slice:b:c:d", CGROUPS_DRIVER_SYSTEMD, -EINVAL);	   /* three */
	expect_fail("notaslice:p:n", CGROUPS_DRIVER_SYSTEMD, -EINVAL);	   /* no .slice */
	expect_fail("a--b.slice:p:n", CGROUPS_DRIVER_SYSTEMD, -EINVAL);	   /* empty part */
	expect_fail("-a.slice:p:n", CGROUPS_DRIVER_SYSTEMD, -EINVAL);	   /* leading dash */
	expect_fail("a.slice:p:", CGROUPS_DRIVER_SYSTEMD, -EINVAL);	   /* no name */
	expect_fail("a/b.slice:p:n", CGROUPS_DRIVER_SYSTEMD, -EINVAL);	   /* slash */
	expect_fail("a.slice:p:../../x", CGROUPS_DRIVER_SYSTEMD, -EINVAL); /* escape */
	expect_fail("/x", (enum cgroups_driver)42, -EINVAL);
}

static void test_cgroups_expand_slice_limits(void **state)
{
	char big[300];
	char *out = NULL;

	(void)state;
	assert_int_equal(cgroups_expand_slice("-.slice", &out), 0);
	assert_string_equal(out, "");
	free(out);
	assert_int_equal(cgroups_expand_slice("a-b-c.slice", &out), 0);
	assert_string_equal(out, "/a.slice/a-b.slice/a-b-c.slice");
	free(out);
	memset(big, 'a', sizeof(big));
	for (size_t i = 1; i < sizeof(big) - 8; i += 2)
		big[i] = '-';
	strcpy(big + sizeof(big) - 8, ".slice");
	assert_int_equal(cgroups_expand_slice(big, &out), -EINVAL); /* > systemd's limit */
}

static void test_cgroups_driver_from_string_table(void **state)
{
	enum cgroups_driver d = CGROUPS_DRIVER_AUTO;

	(void)state;
	assert_int_equal(cgroups_driver_from_string("systemd", &d), 0);
	assert_int_equal(d, CGROUPS_DRIVER_SYSTEMD);
	assert_int_equal(cgroups_driver_from_string("cgroupfs", &d), 0);
	assert_int_equal(d, CGROUPS_DRIVER_CGROUPFS);
	assert_int_equal(cgroups_driver_from_string("Systemd", &d), -EINVAL);
	assert_int_equal(d, CGROUPS_DRIVER_CGROUPFS);
}

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

/* systemd-form path registered against a fake v2 tree under an injected root. */
static void test_cgroups_register_fake_tree(void **state)
{
	char root[] = "/tmp/tg-cgroups-XXXXXX", path[512];
	struct usage_opts o = {.cgroup_root = root, .backend = USAGE_BACKEND_POLL};
	const char *leaf = "kubepods.slice/kubepods-pod1.slice/cri-containerd-c1.scope";
	struct usage *u = NULL;
	struct stat st;
	__u64 id;
	FILE *f;

	(void)state;
	assert_non_null(mkdtemp(root));
	snprintf(path, sizeof(path), "%s/cgroup.controllers", root);
	f = fopen(path, "we");
	assert_non_null(f);
	fclose(f);
	snprintf(path, sizeof(path), "%s/kubepods.slice", root);
	assert_int_equal(mkdir(path, 0755), 0);
	snprintf(path, sizeof(path), "%s/kubepods.slice/kubepods-pod1.slice", root);
	assert_int_equal(mkdir(path, 0755), 0);
	snprintf(path, sizeof(path), "%s/%s", root, leaf);
	assert_int_equal(mkdir(path, 0755), 0);
	assert_int_equal(stat(path, &st), 0);

	assert_int_equal(usage_new(&o, &u), 0);
	assert_int_equal(cgroups_register(u, "c1", "kubepods-pod1.slice:cri-containerd:c1",
					  CGROUPS_DRIVER_AUTO),
			 0);
	assert_int_equal(usage_cgroup_id(u, "c1", &id), 0);
	assert_int_equal(id, st.st_ino);
	assert_int_equal(cgroups_register(u, "c2", "kubepods-pod1.slice:cri-containerd:nope",
					  CGROUPS_DRIVER_AUTO),
			 -ENOENT);
	assert_int_equal(cgroups_register(NULL, "c3", "/", CGROUPS_DRIVER_AUTO), -EINVAL);
	usage_free(u);
	nftw(root, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cgroups_resolve_systemd),
		cmocka_unit_test(test_cgroups_resolve_cgroupfs),
		cmocka_unit_test(test_cgroups_resolve_rejects),
		cmocka_unit_test(test_cgroups_expand_slice_limits),
		cmocka_unit_test(test_cgroups_driver_from_string_table),
		cmocka_unit_test(test_cgroups_register_fake_tree),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
