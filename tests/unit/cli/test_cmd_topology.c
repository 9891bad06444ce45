/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests for plugin/cli/cmd_topology.c: exit codes, human and JSON output on fixtures. */
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
#include <json.h>

#include "plugin/cli/cmd.h"
#include "tests/lib/capture.h"
#include "tests/lib/devtree.h"

static char fixtures[4096];
static char out[1 << 20];
static char err[1 << 16];

static int find_fixtures(void)
{
	const char *src = getenv("TOPOGUARD_SRC");
	struct stat st;

	snprintf(fixtures, sizeof(fixtures), "%s/tests/fixtures/sysfs", src ? src : ".");
	if (stat(fixtures, &st) == 0 && S_ISDIR(st.st_mode))
		return 0;
	fprintf(stderr, "fixtures not found at %s: set TOPOGUARD_SRC to the repo root\n", fixtures);
	return -ENOENT;
}

/* Run "topology ARGS..." (NULL-terminated) capturing stdout and stderr. */
static int run(const char *arg, ...)
{
	char *argv[8] = {(char *)"topology"};
	int argc = 1, rc;
	va_list ap;

	va_start(ap, arg);
	for (const char *a = arg; a && argc < 7; a = va_arg(ap, const char *))
		argv[argc++] = (char *)a;
	va_end(ap);
	rc = capture_cmd(cmd_topology, argc, argv, out, sizeof(out), err, sizeof(err));
	assert_true(rc >= 0);
	return rc;
}

static const char *root_of(const char *name)
{
	static char root[4200];

	snprintf(root, sizeof(root), "%s/%s", fixtures, name);
	return root;
}

static void test_cmd_topology_usage_errors(void **state)
{
	(void)state;
	assert_int_equal(run("--help", NULL), 0);
	assert_non_null(strstr(out, "--sysfs-root DIR"));
	assert_int_equal(run("--bogus", NULL), 2);
	assert_non_null(strstr(err, "bad option '--bogus'"));
	assert_int_equal(run("--sysfs-root", NULL), 2);
	assert_non_null(strstr(err, "needs an argument"));
	assert_int_equal(run("--json", "extra", NULL), 2);
	assert_non_null(strstr(err, "unexpected argument 'extra'"));
}

static void test_cmd_topology_load_failure(void **state)
{
	(void)state;
	assert_int_equal(run("--sysfs-root", "/nonexistent/sysfs", NULL), 1);
	assert_non_null(strstr(err, "cannot read topology from /nonexistent/sysfs"));
	assert_string_equal(out, "");
}

static void test_cmd_topology_human_tree(void **state)
{
	(void)state;
	assert_int_equal(run("--sysfs-root", root_of("epyc-2s-ccx"), NULL), 0);
	assert_non_null(strstr(out, "packages 2, dies 2, nodes 8, L3 16, L2 48, cores 48"));
	/* two CCX L3s inside node 1, each clipped to the node it sits in */
	assert_non_null(strstr(out, "    node 1 (id 1): cpus 6-11,54-59\n"
				    "      L3 2 (id 2) 8.0 MiB: cpus 6-8,54-56\n"));
	assert_non_null(strstr(out, "no-distance: "));
	assert_non_null(strstr(out, "node-cpumap: "));
	assert_int_equal(run("--sysfs-root", root_of("p9-gpu-memnodes"), NULL), 0);
	assert_non_null(strstr(out, "node 7 (id 255) without CPUs, memory only 15.0 GiB"));
}

static void test_cmd_topology_json(void **state)
{
	json_object *o, *nodes, *n, *v;

	(void)state;
	assert_int_equal(run("--json", "--sysfs-root", root_of("p9-gpu-memnodes"), NULL), 0);
	o = json_tokener_parse(out);
	assert_non_null(o);
	assert_true(json_object_object_get_ex(o, "nodes", &nodes));
	assert_int_equal(json_object_array_length(nodes), 8);
	n = json_object_array_get_idx(nodes, 7);
	assert_true(json_object_object_get_ex(n, "id", &v));
	assert_int_equal(json_object_get_int(v), 255);
	assert_true(json_object_object_get_ex(n, "cpus", &v));
	assert_string_equal(json_object_get_string(v), "");
	assert_true(json_object_object_get_ex(n, "mem_total", &v));
	assert_true(json_object_get_uint64(v) == 15ull << 30);
	assert_true(json_object_object_get_ex(o, "online", &v));
	assert_string_equal(json_object_get_string(v), "0-15,88-103");
	assert_true(json_object_object_get_ex(o, "cpus", &v));
	assert_int_equal(json_object_array_length(v), 32);
	assert_true(json_object_object_get_ex(o, "fallbacks", &v));
	assert_int_equal(json_object_array_length(v), 0);
	json_object_put(o);
}

/* A 2-node fixture with devices built in code: listed per node, VFs with their PF. */
static void test_cmd_topology_devices_per_node(void **state)
{
	static const char *const nodes[] = {"0,2", "1,3"};
	char dir[64] = "/tmp/tg-topo-dev.XXXXXX", cmd[4400];
	json_object *o, *devs, *d, *v;

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(cmd, sizeof(cmd), "cp -a '%s/.' '%s/'", root_of("icx-2s-smt"), dir);
	assert_int_equal(system(cmd), 0);
	assert_int_equal(devtree_write(dir, 1, 1, nodes, 2), 0);
	assert_int_equal(run("--sysfs-root", dir, NULL), 0);
	assert_non_null(strstr(out, "devices:\n  node 0: nvme " DEVTREE_NVME "\n"
				    "  node 1: gpu " DEVTREE_GPU ", nic " DEVTREE_NIC_PF
				    ", nic " DEVTREE_NIC_VF " (VF of " DEVTREE_NIC_PF ")\n"));
	assert_null(strstr(out, DEVTREE_UNKNOWN)); /* an ISA bridge pulls nobody */
	assert_int_equal(run("--json", "--sysfs-root", dir, NULL), 0);
	o = json_tokener_parse(out);
	assert_non_null(o);
	assert_true(json_object_object_get_ex(o, "devices", &devs));
	assert_int_equal(json_object_array_length(devs), 4);
	d = json_object_array_get_idx(devs, 3);
	assert_true(json_object_object_get_ex(d, "pf", &v));
	assert_string_equal(json_object_get_string(v), DEVTREE_NIC_PF);
	assert_true(json_object_object_get_ex(d, "node", &v));
	assert_int_equal(json_object_get_int(v), 1);
	json_object_put(o);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	assert_int_equal(system(cmd), 0);
	assert_int_equal(run("--sysfs-root", root_of("vm-2cpu"), NULL), 0);
	assert_non_null(strstr(out, "devices: none"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cmd_topology_usage_errors),
		cmocka_unit_test(test_cmd_topology_load_failure),
		cmocka_unit_test(test_cmd_topology_human_tree),
		cmocka_unit_test(test_cmd_topology_json),
		cmocka_unit_test(test_cmd_topology_devices_per_node),
	};

	if (find_fixtures() < 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
