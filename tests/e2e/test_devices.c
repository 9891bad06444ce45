/* SPDX-License-Identifier: Apache-2.0 */
/*
 * End-to-end (issue 18): CPUs and memory next to the container's devices, through
 * nri-sim and the real daemon on tests/fixtures/sysfs/icx-2s-smt (2 nodes: even CPUs
 * on node 0, odd on node 1) with the devices of tests/lib/devtree.h added in code: a
 * GPU render node and a NIC whose VF (uverbs0) says numa_node -1 while its PF is on
 * node 1, and a device of unknown node.
 *
 *   plain    no device: node 0 (lowest ids on a tie), so node 0 is the best fit after;
 *   optout   the GPU, device-affinity off: node 0, the best fit;
 *   unk      numa_node -1: no preference, node 0 again;
 *   nic      uverbs0: node 1 although node 0 is the best fit;
 *   gpu      renderD128: CPUs and mems of node 1 while node 0 has more free CPUs;
 *   strict   the GPU, strict, more CPUs than node 1 has left: refused, shared pool,
 *            counted as refused;
 *   burst    Burstable with the GPU: the shared CPUs of node 1.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "plugin/obs/status.h"
#include "policy/cpuset.h"
#include "tests/lib/devtree.h"
#include "tests/lib/e2e_cpus.h"
#include "tests/lib/e2e_run.h"

#define FIXTURE "tests/fixtures/sysfs/icx-2s-smt"
#define GIB	"mem-limit=1073741824"
#define GPU	"device=c:226:128:/dev/dri/renderD128"
#define G()	"qos=guaranteed\n"
#define EXCL(m) " cpu-request=" m " cpu-limit=" m " " GIB

static const char scenario[] =
	"pod p0 default/plain " G() "create plain pod=p0 name=c" EXCL(
		"2000") "\nstart plain\n"
			"pod p1 default/optout annotation device-affinity.topoguard.io=false " G() "create optout pod=p1 name=c" EXCL(
				"2000") " " GPU "\nstart optout\n"
					"pod p2 default/unknown " G() "create unk pod=p2 "
								      "name=c" EXCL(
									      "2000") " device=c:"
										      "240:0:/dev/"
										      "watchdog0\ns"
										      "tart unk\n"
										      "pod p3 "
										      "default/"
										      "telco " G() "create nic pod=p3 name=dpdk" EXCL(
											      "1600"
											      "0") " device=c:231:0:/dev/infiniband/uverbs0\n"
												   "start nic\n"
												   "pod p4 default/inference " G() "create gpu pod=p4 name=model" EXCL(
													   "4000") " " GPU
														   "\n"
														   "start gpu\n"
														   "pod p5 default/strict annotation device-affinity-strict.topoguard.io=true " G() "create strict pod=p5 name=c" EXCL(
															   "40000") " " GPU
																    "\nstart strict\n"
																    "pod p6 default/burst qos=burstable\n"
																    "create burst pod=p6 name=c cpu-request=500 cpu-limit=2000 " GPU
																    "\nstart burst\n";

static struct cpuset node_set(int node)
{
	struct cpuset s;

	cpuset_zero(&s);
	for (unsigned int c = (unsigned int)node; c < 112; c += 2)
		cpuset_set(&s, c);
	return s;
}

static const char *mems_of(json_object *rep, const char *id)
{
	json_object *c = e2e_report_container(rep, id);

	if (!c)
		fail_msg("container %s missing from the report", id);
	return e2e_jstr(c, "mems");
}

/* id's CPUs: n of them, all on node (n 0: any number). */
static void assert_on_node(json_object *rep, const char *id, int node, unsigned int n)
{
	struct cpuset cpus = set_of(e2e_report_cpus(rep, id)), on = node_set(node);
	char want[2] = {(char)('0' + node), 0};

	if (!cpuset_is_subset(&cpus, &on))
		fail_msg("%s: cpus %s not all on node %d", id, e2e_report_cpus(rep, id), node);
	if (n && cpuset_count(&cpus) != n)
		fail_msg("%s: %u CPUs, want %u", id, cpuset_count(&cpus), n);
	assert_string_equal(mems_of(rep, id), want);
}

static int free_on(json_object *rep, int node)
{
	static const char *const owners[] = {"plain", "optout", "unk", "nic", "gpu"};
	struct cpuset on = node_set(node), used;
	int n = (int)cpuset_count(&on);

	for (size_t i = 0; i < sizeof(owners) / sizeof(owners[0]); i++) {
		used = set_of(e2e_report_cpus(rep, owners[i]));
		cpuset_and(&used, &used, &on);
		n -= (int)cpuset_count(&used);
	}
	return n;
}

/* The explanation of what, as text (free it). */
static char *explain(struct e2e_run *r, const char *what)
{
	char req[128], *answer = NULL, *text;
	json_object *o;

	snprintf(req, sizeof(req), "explain %s", what);
	assert_int_equal(status_client_request(r->status, req, e2e_timeout_ms(2000), &answer), 0);
	o = json_tokener_parse(answer);
	free(answer);
	assert_non_null(o);
	text = strdup(e2e_jstr(o, "explanation"));
	json_object_put(o);
	assert_non_null(text);
	return text;
}

static void write_fixture(struct e2e_run *r, char *dir, size_t len)
{
	static const char *const nodes[] = {
		"0,2,4,6,8,10,12,14,16,18,20,22,24,26,28,30,32,34,36,38,40,42,44,46,48,50,52,54,"
		"56,58,60,62,64,66,68,70,72,74,76,78,80,82,84,86,88,90,92,94,96,98,100,102,104,"
		"106,108,110",
		"1,3,5,7,9,11,13,15,17,19,21,23,25,27,29,31,33,35,37,39,41,43,45,47,49,51,53,55,"
		"57,59,61,63,65,67,69,71,73,75,77,79,81,83,85,87,89,91,93,95,97,99,101,103,105,"
		"107,109,111",
	};
	char src[256], cmd[1024];

	e2e_src_path(&r->e, src, sizeof(src), FIXTURE);
	e2e_path(&r->e, dir, len, "sysfs");
	snprintf(cmd, sizeof(cmd), "cp -a '%s' '%s'", src, dir);
	assert_int_equal(system(cmd), 0);
	assert_int_equal(devtree_write(dir, 1, 1, nodes, 2), 0);
}

static void test_devices_pull_cpus_and_mems(void **state)
{
	struct e2e_run *r = *state;
	struct cpuset strict;
	char dir[256], *text;
	json_object *rep;
	pid_t sim;
	int rc;

	write_fixture(r, dir, sizeof(dir));
	sim = e2e_run_sim(r, scenario, NULL);
	assert_true(sim > 0);
	assert_true(e2e_run_daemon(r, dir, NULL, NULL) > 0);
	rep = e2e_run_finish_sim(r, sim, 30000, &rc);
	assert_non_null(rep);
	assert_int_equal(rc, 0);

	assert_on_node(rep, "plain", 0, 2);
	assert_on_node(rep, "optout", 0, 2);
	assert_on_node(rep, "unk", 0, 2);
	assert_on_node(rep, "nic", 1, 16);
	assert_on_node(rep, "gpu", 1, 4);
	assert_true(free_on(rep, 0) > free_on(rep, 1)); /* node 0 had more free CPUs */
	/* strict and no room on node 1: the shared pool, which spans both nodes */
	strict = set_of(e2e_report_cpus(rep, "strict"));
	assert_true(cpuset_count(&strict) > 40);
	assert_string_equal(mems_of(rep, "strict"), "0-1");
	assert_on_node(rep, "burst", 1, 0);
	json_object_put(rep);

	assert_true(e2e_run_metric(r, "topoguard_device_placements_total{result=\"node\"}") == 3);
	assert_true(e2e_run_metric(r, "topoguard_device_placements_total{result=\"refused\"}") ==
		    1);
	text = explain(r, "default/inference/model");
	if (!strstr(text, "device /dev/dri/renderD128 (" DEVTREE_GPU ") on node 1") ||
	    !strstr(text, "devices on node 1 pulled it on their node(s)"))
		fail_msg("explain: %s", text);
	free(text);
	text = explain(r, "default/telco/dpdk");
	if (!strstr(text, "(" DEVTREE_NIC_VF ") on node 1"))
		fail_msg("explain: %s", text);
	free(text);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_devices_pull_cpus_and_mems, e2e_run_setup,
						e2e_run_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
