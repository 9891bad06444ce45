/* SPDX-License-Identifier: Apache-2.0 */
/*
 * End-to-end: pods with pod-level resources (KEP-2837; policy/podres.h), through
 * nri-sim and the real daemon on tests/fixtures/sysfs/skx-4s-smt (144 CPUs, CPUs 0,72
 * reserved, so the shared pool starts as 1-71,73-143). The sim's `pod ... cpu-request=
 * cpu-limit= mem-limit=` are the sandbox's pod_resources; `update-pod` is an
 * UpdatePodSandbox (NRI v0.12.2, the sim's default).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "policy/cpuset.h"
#include "tests/lib/e2e_cpus.h"
#include "tests/lib/e2e_run.h"

#define FIXTURE	    "tests/fixtures/sysfs/skx-4s-smt"
#define SHARED_ALL  "1-71,73-143"
#define EXCL_KEY    "topoguard.io/exclusive-cpus"
#define GIB	    "mem-limit=1073741824"
#define BASE_CONFIG "reserved:\n  cpus: \"0,72\"\n"

static int64_t field_of(json_object *rep, const char *id, const char *key)
{
	json_object *v = e2e_jget(e2e_report_container(rep, id), key);

	if (!v)
		fail_msg("container %s has no %s in the report", id, key);
	return json_object_get_int64(v);
}

/*
 * Run scenario against the daemon; nri-sim must meet every expectation. extra: nri-sim's
 * options, NULL: check the exclusive CPUs the daemon's annotation names.
 */
static json_object *run_ok(struct e2e_run *r, const char *scenario, const char *const *extra)
{
	static const char *const by_annotation[] = {"--exclusive-annotation", EXCL_KEY, NULL};
	const char *cfg[] = {"--config", r->config, NULL};
	char fixture[256];
	json_object *rep;
	pid_t sim;
	int rc;

	assert_int_equal(e2e_write(&r->e, "config.yaml", BASE_CONFIG), 0);
	sim = e2e_run_sim(r, scenario, extra ? extra : by_annotation);
	assert_true(sim > 0);
	e2e_src_path(&r->e, fixture, sizeof(fixture), FIXTURE);
	assert_true(e2e_run_daemon(r, fixture, NULL, cfg) > 0);
	rep = e2e_run_finish_sim(r, sim, 30000, &rc);
	assert_non_null(rep);
	if (rc != 0)
		fail_msg("nri-sim exit %d: %s", rc,
			 json_object_to_json_string(e2e_jget(rep, "expectations_failed")));
	return rep;
}

#define SHARED_POD                                      \
	"pod b1 default/web qos=burstable\n"            \
	"create w1 pod=b1 name=nginx cpu-request=500\n" \
	"start w1\n"

/* The creation-time annotation of a container moved off its exclusive CPUs is stale
 * (an update cannot change annotations): check the CPUs the sim saw instead. */
static const char *const none[] = {NULL};

/* A Guaranteed pod of 2 CPUs whose only container has no requests: 2 exclusive CPUs. */
static void test_podres_single_container_gets_pod_cpus(void **state)
{
	struct e2e_run *r = *state;
	json_object *rep =
		run_ok(r,
		       SHARED_POD
		       "pod g1 default/app qos=guaranteed cpu-request=2000 cpu-limit=2000 " GIB "\n"
		       "create e1 pod=g1 name=app exclusive\n"
		       "start e1\n",
		       NULL);
	struct cpuset e1 = cpus_of(rep, "e1"), w1 = cpus_of(rep, "w1");

	assert_int_equal(cpuset_count(&e1), 2);
	assert_int_equal(cpuset_count(&w1), 140);
	assert_false(cpuset_intersects(&e1, &w1));
	assert_int_equal(field_of(rep, "e1", "cpu_shares"), 2048);
	json_object_put(rep);
}

/* A sibling with its own resources takes its part of the pod's budget first. */
static void test_podres_sibling_with_own_resources(void **state)
{
	struct e2e_run *r = *state;
	json_object *rep =
		run_ok(r,
		       SHARED_POD
		       "pod g1 default/app qos=guaranteed cpu-request=4000 cpu-limit=4000 " GIB "\n"
		       "create s1 pod=g1 name=sidecar cpu-request=1000 cpu-limit=1000 "
		       "mem-limit=104857600 exclusive\n"
		       "start s1\n"
		       "create e1 pod=g1 name=app exclusive\n"
		       "start e1\n",
		       NULL);
	struct cpuset e1 = cpus_of(rep, "e1"), s1 = cpus_of(rep, "s1");

	assert_int_equal(cpuset_count(&s1), 1);
	assert_int_equal(cpuset_count(&e1), 3);
	assert_false(cpuset_intersects(&e1, &s1));
	json_object_put(rep);
}

/*
 * Two containers without requests share the pod's budget on the shared pool: the first
 * had the pod's 2 CPUs to itself, and gives them back when the second comes (in the
 * CreateContainer reply).
 */
static void test_podres_several_share_the_budget(void **state)
{
	struct e2e_run *r = *state;
	json_object *rep =
		run_ok(r,
		       SHARED_POD
		       "pod g1 default/app qos=guaranteed cpu-request=2000 cpu-limit=2000 " GIB "\n"
		       "create e1 pod=g1 name=app\n"
		       "start e1\n"
		       "create e2 pod=g1 name=helper\n"
		       "start e2\n"
		       "expect-cpus e1 " SHARED_ALL "\n"
		       "expect-cpus e2 " SHARED_ALL "\n"
		       "expect-cpus w1 " SHARED_ALL "\n"
		       "expect-quota e1 200000\n"
		       "expect-quota e2 200000\n",
		       none);

	assert_int_equal(field_of(rep, "e1", "cpu_shares"), 1024);
	assert_int_equal(field_of(rep, "e2", "cpu_shares"), 1024);
	json_object_put(rep);
	assert_true(e2e_file_count(r->log, "pod resize: container=e1") >= 1);
}

/* UpdatePodSandbox grows the pod to 4 CPUs: its container follows, unsolicited. */
static void test_podres_update_pod_sandbox_resizes(void **state)
{
	struct e2e_run *r = *state;
	json_object *rep =
		run_ok(r,
		       SHARED_POD
		       "pod g1 default/app qos=guaranteed cpu-request=2000 cpu-limit=2000 " GIB "\n"
		       "create e1 pod=g1 name=app exclusive\n"
		       "start e1\n"
		       "update-pod g1 cpu-request=4000 cpu-limit=4000 " GIB "\n"
		       "wait-updates 1 8000\n"
		       "sleep 200\n",
		       NULL);
	struct cpuset e1 = cpus_of(rep, "e1"), w1 = cpus_of(rep, "w1");

	assert_int_equal(e2e_count_requests(rep, "UpdatePodSandbox", "ok"), 1);
	assert_int_equal(cpuset_count(&e1), 4);
	assert_int_equal(cpuset_count(&w1), 138);
	assert_false(cpuset_intersects(&e1, &w1));
	assert_int_equal(field_of(rep, "e1", "cpu_shares"), 4096);
	json_object_put(rep);
}

/* A Burstable pod's resources may be its containers' sum: nothing is drawn on them. */
static void test_podres_burstable_pod_left_alone(void **state)
{
	struct e2e_run *r = *state;
	json_object *rep = run_ok(
		r,
		SHARED_POD "pod p1 default/batch qos=burstable cpu-request=2000 cpu-limit=4000\n"
			   "create c1 pod=p1 name=job\n"
			   "start c1\n"
			   "expect-cpus c1 " SHARED_ALL "\n"
			   "expect-quota c1 -1\n",
		NULL);

	assert_int_equal(field_of(rep, "c1", "cpu_shares"), 2);
	json_object_put(rep);
}

#define ANN "annotation noderesource.dev/resources="

/*
 * The resources annotation says a second container without requests will come: the
 * first does not take the pod's 2 CPUs exclusively for a moment, it shares the budget
 * on the shared pool from its creation (no move in the second one's reply).
 */
static void test_podres_annotation_knows_later_containers(void **state)
{
	struct e2e_run *r = *state;
	json_object *rep = run_ok(
		r,
		SHARED_POD "pod g1 default/app qos=guaranteed cpu-request=2000 cpu-limit=2000 " GIB
			   " " ANN "{\"containers\":{\"app\":{},\"helper\":{}}}\n"
			   "create e1 pod=g1 name=app\n"
			   "start e1\n"
			   "expect-cpus e1 " SHARED_ALL "\n"
			   "expect-quota e1 200000\n"
			   "create e2 pod=g1 name=helper\n"
			   "start e2\n"
			   "expect-cpus e2 " SHARED_ALL "\n",
		NULL);

	assert_int_equal(field_of(rep, "e1", "cpu_shares"), 1024);
	assert_int_equal(field_of(rep, "e2", "cpu_shares"), 1024);
	json_object_put(rep);
	assert_int_equal(e2e_file_count(r->log, "pod resize: container=e1"), 0);
}

/*
 * A Burstable pod with pod-level resources: only the annotation can tell them from its
 * containers' sum. Here the sidecar holds 500m of the pod's 2 CPUs, the app the rest.
 */
static void test_podres_annotation_burstable_pod(void **state)
{
	struct e2e_run *r = *state;
	json_object *rep =
		run_ok(r,
		       SHARED_POD
		       "pod p1 default/batch qos=burstable cpu-request=2000\n"
		       "create c1 pod=p1 name=job\n"
		       "start c1\n"
		       "pod p2 default/batch2 qos=burstable cpu-request=2000 " ANN
		       "{\"containers\":{\"job\":{},\"side\":{\"requests\":{\"cpu\":\"500m\"}}}}\n"
		       "create c2 pod=p2 name=job\n"
		       "start c2\n"
		       "create s2 pod=p2 name=side cpu-request=500\n"
		       "start s2\n"
		       "expect-cpus c2 " SHARED_ALL "\n",
		       NULL);

	assert_int_equal(field_of(rep, "c1", "cpu_shares"), 2); /* no annotation: its own */
	assert_int_equal(field_of(rep, "c2", "cpu_shares"), 1536);
	json_object_put(rep);
}

/* A malformed annotation, or one that contradicts the runtime, is refused and logged. */
static void test_podres_annotation_refused(void **state)
{
	struct e2e_run *r = *state;
	json_object *rep = run_ok(
		r,
		SHARED_POD "pod g1 default/app qos=guaranteed cpu-request=2000 cpu-limit=2000 " GIB
			   " " ANN "{\"containers\":{\"app\":{\"requests\":{\"cpu\":\"lots\"}}}}\n"
			   "create e1 pod=g1 name=app exclusive\n"
			   "start e1\n"
			   "pod g2 default/app2 qos=guaranteed cpu-request=2000 cpu-limit=2000 " GIB
			   " " ANN "{\"containers\":{\"app\":{\"limits\":{\"cpu\":\"2\"}}}}\n"
			   "create e2 pod=g2 name=app exclusive\n"
			   "start e2\n",
		NULL);
	struct cpuset e1 = cpus_of(rep, "e1"), e2 = cpus_of(rep, "e2");

	assert_int_equal(cpuset_count(&e1), 2); /* as without the annotation */
	assert_int_equal(cpuset_count(&e2), 2);
	json_object_put(rep);
	assert_int_equal(e2e_file_count(r->log, "annotation refused: container=e1 "
						"key=noderesource.dev/resources"),
			 1);
	assert_int_equal(e2e_file_count(r->log, "containers.app.cpu: bad quantity"), 1);
	assert_int_equal(e2e_file_count(r->log, "annotation refused: container=e2 "
						"key=noderesource.dev/resources"),
			 1);
	assert_int_equal(e2e_file_count(r->log, "it gives the container resources of its own, "
						"the runtime none"),
			 1);
	assert_true(e2e_run_metric(r, "topoguard_annotations_refused_total") >= 2);
}

int main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, e2e_run_setup, e2e_run_teardown)
	const struct CMUnitTest tests[] = {
		T(test_podres_single_container_gets_pod_cpus),
		T(test_podres_sibling_with_own_resources),
		T(test_podres_several_share_the_budget),
		T(test_podres_update_pod_sandbox_resizes),
		T(test_podres_burstable_pod_left_alone),
		T(test_podres_annotation_knows_later_containers),
		T(test_podres_annotation_burstable_pod),
		T(test_podres_annotation_refused),
	};
#undef T

	if (access(getenv("NRI_SIM_BIN") ? getenv("NRI_SIM_BIN") : "build/rel/nri-sim", X_OK)) {
		fprintf(stderr, "nri-sim not built\n");
		return 77;
	}
	return cmocka_run_group_tests(tests, NULL, NULL);
}
