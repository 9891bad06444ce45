/* SPDX-License-Identifier: Apache-2.0 */
/*
 * End-to-end: the real topoguard daemon against the NRI runtime simulator over a
 * real unix socket, on a recorded 4-socket topology (tests/fixtures/sysfs/skx-4s-smt:
 * 144 CPUs, nodes of 0-17,72-89 / 18-35,90-107 / ..., siblings N and N+72).
 *
 * What the simulator reports (it applies adjustments and updates as a runtime does)
 * is checked against the policy's promises: exclusive sets disjoint and whole, the
 * shared pool given to every shared container and widened again on release, reserved
 * CPUs for kube-system only, nothing moved by a resync, config reloads applied or
 * refused, annotations honoured or refused, metrics and status served.
 */
#include <setjmp.h>
#include <signal.h>
#include <stdbool.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "plugin/obs/status.h"
#include "policy/cpuset.h"
#include "tests/lib/e2e_cpus.h"
#include "tests/lib/e2e_run.h"

#define FIXTURE "tests/fixtures/sysfs/skx-4s-smt"

/* A bound on a pre-launched daemon's start to its first answers, on a loaded machine. */
#define STATUS_BOUND_MS 60000

static uint64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static pid_t start_sim(struct e2e_run *r, const char *scenario, const char *const *extra)
{
	pid_t pid = e2e_run_sim(r, scenario, extra);

	assert_true(pid > 0);
	return pid;
}

static void start_daemon(struct e2e_run *r, bool with_config)
{
	const char *cfg[] = {"--config", r->config, NULL};
	char fixture[256];

	e2e_src_path(&r->e, fixture, sizeof(fixture), FIXTURE);
	assert_true(e2e_run_daemon(r, fixture, NULL, with_config ? cfg : NULL) > 0);
}

static json_object *finish_sim(struct e2e_run *r, pid_t sim)
{
	int rc;
	json_object *rep = e2e_run_finish_sim(r, sim, 30000, &rc);

	assert_non_null(rep);
	if (rc != 0)
		fail_msg("nri-sim exit %d: %s", rc,
			 json_object_to_json_string(e2e_jget(rep, "expectations_failed")));
	return rep;
}

#define metric e2e_run_metric

static json_object *status(struct e2e_run *r, const char *req)
{
	char *answer = NULL;
	json_object *o;

	assert_int_equal(status_client_request(r->status, req, e2e_timeout_ms(2000), &answer), 0);
	o = json_tokener_parse(answer);
	free(answer);
	assert_non_null(o);
	return o;
}

/* The status answer once it contains needle (the daemon has caught up), NULL after 5 s
 * (scaled: e2e_timeout_ms()). */
static json_object *wait_status(struct e2e_run *r, const char *needle)
{
	int tmo = e2e_timeout_ms(1000);

	for (int i = 0; i < e2e_timeout_ms(5000) / 20; i++) {
		char *answer = NULL;
		json_object *o = NULL;

		if (status_client_request(r->status, "status", tmo, &answer) == 0 &&
		    strstr(answer, needle))
			o = json_tokener_parse(answer);
		free(answer);
		if (o)
			return o;
		usleep(20000);
	}
	return NULL;
}

static json_object *status_container(json_object *st, const char *id)
{
	json_object *arr = e2e_jget(st, "containers");

	for (size_t i = 0; arr && i < json_object_array_length(arr); i++)
		if (!strcmp(e2e_jstr(json_object_array_get_idx(arr, i), "id"), id))
			return json_object_array_get_idx(arr, i);
	return NULL;
}

static const char lifecycle[] =
	"existing pod s0 kube-system/kube-proxy qos=burstable\n"
	"existing create ks0 pod=s0 name=kube-proxy cpu-request=100\n"
	"pod g1 default/trading qos=guaranteed\n"
	"create e1 pod=g1 name=engine cpu-request=4000 cpu-limit=4000 mem-limit=1073741824 "
	"exclusive\n"
	"start e1\n"
	"pod b1 default/web qos=burstable\n"
	"create w1 pod=b1 name=nginx cpu-request=500 cpu-limit=1000\n"
	"start w1\n"
	"pod be batch/etl qos=besteffort\n"
	"create x1 pod=be name=etl\n"
	"start x1\n"
	"pod g2 default/db qos=guaranteed\n"
	"create e2 pod=g2 name=pg cpu-request=2000 cpu-limit=2000 mem-limit=1073741824 exclusive\n"
	"start e2\n"
	"pod m1 ml/infer qos=guaranteed\n"
	"create mx pod=m1 name=model cpu-request=1500 cpu-limit=1500 mem-limit=1073741824\n"
	"start mx\n"
	"update e2 cpu-request=6000 cpu-limit=6000\n"
	"update-pod g2 cpu-request=6000 cpu-limit=6000\n"
	"stop-pod be\n"
	"remove-pod be\n"
	"create g3 pod=g1 name=gone cpu-request=2000 cpu-limit=2000 mem-limit=1073741824 "
	"exclusive\n"
	"remove g3\n";

static void check_lifecycle_report(json_object *rep, bool dedicated_rpcs)
{
	struct cpuset reserved = set_of("0,72"), e1 = cpus_of(rep, "e1"), e2 = cpus_of(rep, "e2");
	struct cpuset w1 = cpus_of(rep, "w1"), mx = cpus_of(rep, "mx"), ks0 = cpus_of(rep, "ks0");
	struct cpuset all, tmp;
	const char *excl;
	static const char *const methods[] = {
		"Configure",	   "Synchronize",      "RunPodSandbox",	  "UpdatePodSandbox",
		"StopPodSandbox",  "RemovePodSandbox", "CreateContainer", "StartContainer",
		"UpdateContainer", "StopContainer",    "RemoveContainer"};

	/* NRI v0.9 runtimes deliver the notifications through StateChange only */
	for (size_t i = 0; i < (dedicated_rpcs ? sizeof(methods) / sizeof(methods[0]) : 2); i++)
		if (e2e_count_requests(rep, methods[i], "ok") < 1)
			fail_msg("no successful %s", methods[i]);
	assert_int_equal(e2e_count_requests(rep, "CreateContainer", "error"), 0);
	assert_true(cpuset_equal(&reserved, &ks0));
	assert_int_equal(cpuset_count(&e1), 4);
	assert_int_equal(cpuset_count(&e2), 6);
	assert_false(cpuset_intersects(&e1, &e2));
	cpuset_or(&all, &e1, &e2);
	cpuset_or(&all, &all, &reserved);
	/* whole cores: every exclusive CPU's sibling is in the same set */
	for (int c = cpuset_next(&e1, 0); c >= 0; c = cpuset_next(&e1, c + 1))
		assert_true(cpuset_test(&e1, c < 72 ? c + 72 : c - 72));
	/* shared = everything else, minus the mixed container's exclusive CPU */
	assert_false(cpuset_intersects(&w1, &all));
	assert_int_equal(cpuset_count(&w1), 144 - 2 - 4 - 6 - 1);
	assert_true(cpuset_is_subset(&w1, &mx));
	cpuset_andnot(&tmp, &mx, &w1);
	assert_int_equal(cpuset_count(&tmp), 1);
	assert_false(cpuset_intersects(&tmp, &all));
	/* exclusive containers get their NUMA node, shared ones every node */
	assert_string_equal(e2e_jstr(e2e_report_container(rep, "e1"), "mems"), "0");
	assert_string_equal(e2e_jstr(e2e_report_container(rep, "w1"), "mems"), "0-3");
	/* the exclusive part is persisted on the container for a later restore */
	excl = e2e_jstr(e2e_jget(e2e_report_container(rep, "e1"), "annotations"),
			"topoguard.io/exclusive-cpus");
	assert_int_equal(cpuset_parse(excl, strlen(excl), &tmp), 0);
	assert_true(cpuset_equal(&tmp, &e1));
}

static void test_daemon_lifecycle_every_handler(void **state)
{
	struct e2e_run *r = *state;
	const char *extra[] = {"--check-exclusive", NULL};
	json_object *rep, *st, *c;
	pid_t sim;

	assert_int_equal(e2e_write(&r->e, "config.yaml", "reserved:\n  cpus: \"0,72\"\n"), 0);
	sim = start_sim(r, lifecycle, extra);
	start_daemon(r, true);
	rep = finish_sim(r, sim);
	check_lifecycle_report(rep, true);
	json_object_put(rep);

	/* The daemon keeps its state after the runtime left: status and metrics. */
	st = status(r, "status");
	c = status_container(st, "e1");
	assert_non_null(c);
	assert_string_equal(e2e_jstr(c, "pool"), "exclusive");
	assert_string_equal(e2e_jstr(c, "qos"), "Guaranteed");
	assert_string_equal(e2e_jstr(status_container(st, "ks0"), "pool"), "reserved");
	assert_null(status_container(st, "x1"));
	json_object_put(st);
	st = status(r, "explain default/trading/engine");
	assert_non_null(strstr(e2e_jstr(st, "explanation"), "exclusive"));
	json_object_put(st);
	assert_true(metric(r, "topoguard_pool_capacity_cpus{pool=\"reserved\"}") == 2);
	assert_true(metric(r, "topoguard_pool_containers{pool=\"exclusive\"}") == 3);
	assert_true(
		metric(r,
		       "topoguard_decision_duration_seconds_count{method=\"CreateContainer\"}") >=
		5);
	assert_int_equal(e2e_run_stop_daemon(r, 5000), 0);
}

static void test_daemon_v090_statechange(void **state)
{
	struct e2e_run *r = *state;
	const char *extra[] = {
		"--check-exclusive", "--nri-version", "v0.9.0", "--sync-chunk", "1", NULL};
	json_object *rep;
	pid_t sim;

	assert_int_equal(e2e_write(&r->e, "config.yaml", "reserved:\n  cpus: \"0,72\"\n"), 0);
	sim = start_sim(r, lifecycle, extra);
	start_daemon(r, true);
	rep = finish_sim(r, sim);
	check_lifecycle_report(rep, false);
	assert_true(e2e_count_requests(rep, "CreateContainer", "ok") >= 5);
	assert_true(e2e_count_requests(rep, "UpdateContainer", "ok") >= 1);
	assert_true(e2e_count_requests(rep, "StopContainer", "ok") >= 1);
	assert_true(e2e_count_requests(rep, "StateChange", "ok") > 5);
	assert_int_equal(e2e_count_requests(rep, "RunPodSandbox", NULL), 0);
	json_object_put(rep);
}

/* %d: how long to wait for the killed daemon's successor (e2e_timeout_ms(15000)) */
static const char restart_scn[] =
	"pod g1 default/trading qos=guaranteed\n"
	"create e1 pod=g1 name=engine cpu-request=4000 cpu-limit=4000 mem-limit=1073741824 "
	"exclusive\n"
	"start e1\n"
	"pod b1 default/web qos=burstable\n"
	"create w1 pod=b1 name=nginx cpu-request=500\n"
	"start w1\n"
	"restart\n"
	"create e2 pod=g1 name=second cpu-request=4000 cpu-limit=4000 mem-limit=1073741824 "
	"exclusive\n"
	"start e2\n"
	"sleep 1500\n"
	"wait-connected %d\n" /* the killed daemon's successor: slow to load under emulation */
	"create e3 pod=g1 name=third cpu-request=4000 cpu-limit=4000 mem-limit=1073741824 "
	"exclusive\n"
	"start e3\n";

/*
 * Synchronize answers after the first re-assert every container (issue 19: the
 * runtime's report may be stale) but move none: each container's cpuset after the
 * answer is the one it had before (the simulator counts the updates that changed a
 * cpuset as "moved").
 */
static void check_no_moves_after_resync(json_object *rep)
{
	json_object *reqs = e2e_jget(rep, "requests");
	int syncs = 0;

	for (size_t i = 0; i < json_object_array_length(reqs); i++) {
		json_object *q = json_object_array_get_idx(reqs, i);

		if (strcmp(e2e_jstr(q, "method"), "Synchronize"))
			continue;
		if (syncs++ == 0)
			continue;
		assert_string_equal(e2e_jstr(q, "outcome"), "ok");
		assert_true(json_object_get_int(e2e_jget(q, "updates")) >= 2);
		assert_non_null(e2e_jget(q, "moved"));
		assert_int_equal(json_object_get_int(e2e_jget(q, "moved")), 0);
	}
	assert_true(syncs >= 3);
}

/*
 * CRI-O 1.26 after its restart (issue 19): it reports each container's creation-time
 * resources while the kernel holds later updates. w1 was created on every CPU but
 * the reserved ones, then squeezed off e1's; e1 ends while the runtime is away. The
 * report then shows w1 where topoguard wants it (the whole shared pool again) while
 * w1 really runs without e1's CPUs: only re-asserting every container gives them back.
 */
static void test_daemon_resync_reasserts_stale_specs(void **state)
{
	struct e2e_run *r = *state;
	const char *extra[] = {"--check-exclusive", NULL};
	struct cpuset w1, e1;
	json_object *rep;
	pid_t sim;

	sim = start_sim(r,
			"pod b1 default/web qos=burstable\n"
			"create w1 pod=b1 name=nginx cpu-request=500 cpu-limit=1000\n"
			"start w1\n"
			"pod g1 default/trading qos=guaranteed\n"
			"create e1 pod=g1 name=engine cpu-request=4000 cpu-limit=4000 "
			"mem-limit=1073741824 exclusive\n"
			"start e1\n"
			"fault runtime-restart 200 stale-specs lose=e1\n"
			"sleep 300\n"
			"expect-quota w1 100000 100000\n",
			extra);
	start_daemon(r, false);
	rep = finish_sim(r, sim);
	e1 = cpus_of(rep, "e1");
	w1 = cpus_of(rep, "w1");
	assert_int_equal(cpuset_count(&e1), 4);
	/* w1 has every CPU again, e1's included */
	assert_int_equal(cpuset_count(&w1), 144);
	assert_true(cpuset_is_subset(&e1, &w1));
	json_object_put(rep);
}

static void test_daemon_resync_after_runtime_and_daemon_restart(void **state)
{
	struct e2e_run *r = *state;
	const char *extra[] = {"--check-exclusive", NULL};
	struct cpuset e1, e2, e3;
	char scn[sizeof(restart_scn) + 16];
	json_object *rep;
	pid_t sim;

	snprintf(scn, sizeof(scn), restart_scn, e2e_timeout_ms(15000));
	sim = start_sim(r, scn, extra);
	start_daemon(r, false);
	/* kill -9 the daemon while the simulator sleeps, start a fresh one */
	for (int i = 0;
	     i < e2e_timeout_ms(20000) / 20 && e2e_file_count(r->log, "container=e2") < 1; i++)
		usleep(20000);
	assert_true(e2e_file_count(r->log, "container=e2") >= 1);
	kill(r->daemon, SIGKILL);
	e2e_wait_exit(r->daemon, 2000);
	start_daemon(r, false);
	rep = finish_sim(r, sim);
	e1 = cpus_of(rep, "e1");
	e2 = cpus_of(rep, "e2");
	e3 = cpus_of(rep, "e3");
	assert_int_equal(cpuset_count(&e1), 4);
	assert_false(cpuset_intersects(&e1, &e2));
	assert_false(cpuset_intersects(&e1, &e3));
	assert_false(cpuset_intersects(&e2, &e3));
	assert_true(json_object_get_int(e2e_jget(rep, "reconnects")) >= 2);
	check_no_moves_after_resync(rep);
	json_object_put(rep);
}

/*
 * A restore after a restart sends each moved container its whole CPU side: the
 * runtime still reports e0's creation-time quota (200000), and an update carrying
 * only cpus would leave that cap on its exclusive CPUs.
 */
static void test_daemon_restore_sends_full_cpu_resources(void **state)
{
	struct e2e_run *r = *state;
	json_object *rep, *st = NULL;
	pid_t sim;

	sim = start_sim(r,
			"existing pod g0 default/db qos=guaranteed\n"
			"existing create e0 pod=g0 name=db cpu-request=2000 cpu-limit=2000 "
			"annotation topoguard.io/exclusive-cpus=4,76\n"
			"existing pod b0 default/web qos=burstable\n"
			"existing create w0 pod=b0 name=nginx cpu-request=500 cpu-limit=1000\n"
			"sleep 300\n"
			"expect-cpus e0 4,76\n"
			"expect-quota e0 -1\n"
			"expect-quota w0 100000 100000\n",
			NULL);
	start_daemon(r, false);
	/* status names the runtime, its version and the NRI version it speaks */
	st = wait_status(r, "\"synchronized\":true");
	assert_non_null(st);
	assert_string_equal(e2e_jstr(st, "runtime"), "nri-sim");
	assert_string_equal(e2e_jstr(st, "runtime_version"), "v0.1.0");
	assert_string_equal(e2e_jstr(st, "nri_version"), "v0.12.2");
	json_object_put(st);
	rep = finish_sim(r, sim);
	json_object_put(rep);
}

/* The message of the only request of method that failed, "" if none did. */
static const char *failed_message(json_object *rep, const char *method)
{
	json_object *reqs = e2e_jget(rep, "requests");

	for (size_t i = 0; i < json_object_array_length(reqs); i++) {
		json_object *q = json_object_array_get_idx(reqs, i);

		if (!strcmp(e2e_jstr(q, "method"), method) && strcmp(e2e_jstr(q, "outcome"), "ok"))
			return e2e_jstr(q, "message");
	}
	return "";
}

/*
 * In-place resize: one that fits is applied; one that does not is refused with an
 * error (the kubelet must not believe it happened) and the container keeps its CPUs.
 */
static void test_daemon_resize_that_does_not_fit_is_refused(void **state)
{
	struct e2e_run *r = *state;
	json_object *rep;
	struct cpuset e1;
	pid_t sim;

	sim = start_sim(r,
			"pod g1 default/trading qos=guaranteed\n"
			"create e1 pod=g1 name=engine cpu-request=4000 cpu-limit=4000 "
			"mem-limit=1073741824 exclusive\n"
			"start e1\n"
			"update e1 cpu-request=6000 cpu-limit=6000 mem-limit=1073741824\n"
			"update e1 cpu-request=200000 cpu-limit=200000 mem-limit=1073741824\n"
			"expect-quota e1 -1\n",
			NULL);
	start_daemon(r, false);
	rep = finish_sim(r, sim);
	assert_int_equal(e2e_count_requests(rep, "UpdateContainer", "ok"), 1);
	assert_int_equal(e2e_count_requests(rep, "UpdateContainer", "error"), 1);
	assert_non_null(strstr(failed_message(rep, "UpdateContainer"), "does not fit"));
	e1 = cpus_of(rep, "e1");
	assert_int_equal(cpuset_count(&e1), 6);
	json_object_put(rep);
	assert_true(e2e_file_count(r->log, "resize refused") == 1);
}

static void swap_config(struct e2e_run *r, const char *text, int gen)
{
	assert_int_equal(e2e_run_swap_config(r, text, strlen(text), gen), 0);
}

static void wait_metric(struct e2e_run *r, const char *series, double want)
{
	for (int i = 0; i < e2e_timeout_ms(3000) / 20 && metric(r, series) < want; i++)
		usleep(20000);
	assert_true(metric(r, series) >= want);
}

static void test_daemon_hot_reload_good_and_bad(void **state)
{
	struct e2e_run *r = *state;
	json_object *rep, *st;
	struct cpuset w1, e1;
	pid_t sim;

	swap_config(r, "reserved:\n  cpus: \"0,72\"\n", 1);
	sim = start_sim(r,
			"pod g1 default/trading qos=guaranteed\n"
			"create e1 pod=g1 name=engine cpu-request=2000 cpu-limit=2000 "
			"mem-limit=1073741824\n"
			"pod b1 default/web qos=burstable\n"
			"create w1 pod=b1 name=nginx cpu-request=500\n"
			"sleep 600\n"
			"wait-updates 1 8000\n",
			NULL);
	start_daemon(r, true);
	json_object_put(wait_status(r, "\"w1\""));
	/* exclusive pinning off: the engine joins the shared pool, w1 widens */
	swap_config(r, "reserved:\n  cpus: \"0,72\"\npinning:\n  exclusive: false\n", 2);
	wait_metric(r, "topoguard_config_reloads_total{result=\"applied\"}", 1);
	swap_config(r, "reserved:\n  cpus: [not, a, cpuset\npinning: {exclusive: maybe}\n", 3);
	wait_metric(r, "topoguard_config_reloads_total{result=\"refused\"}", 1);
	rep = finish_sim(r, sim);
	w1 = cpus_of(rep, "w1");
	assert_int_equal(cpuset_count(&w1), 142);
	e1 = cpus_of(rep, "e1");
	assert_true(cpuset_equal(&w1, &e1));
	/* the move carries the quota of its limit: it was unlimited on exclusive CPUs */
	assert_int_equal(
		json_object_get_int64(e2e_jget(e2e_report_container(rep, "e1"), "cpu_quota")),
		200000);
	json_object_put(rep);
	st = status(r, "status");
	assert_string_equal(e2e_jstr(status_container(st, "e1"), "pool"), "shared");
	json_object_put(st);
	assert_true(e2e_file_count(r->log, "config refused") >= 1);
}

static void test_daemon_annotations_aliases_and_refusals(void **state)
{
	struct e2e_run *r = *state;
	char big[5000 + 64];
	char scenario[8192];
	json_object *rep;
	struct cpuset s;
	pid_t sim;

	memset(big, 'x', 5000);
	big[5000] = '\0';
	snprintf(scenario, sizeof(scenario),
		 "pod g1 default/trading qos=guaranteed "
		 "annotation prefer-shared-cpus.resource-policy.nri.io/container.side=true\n"
		 "create main pod=g1 name=main cpu-request=2000 cpu-limit=2000 mem-limit=1000000\n"
		 "create side pod=g1 name=side cpu-request=2000 cpu-limit=2000 mem-limit=1000000\n"
		 "pod b1 default/web qos=burstable "
		 "annotation prefer-isolated-cpus.resource-policy.nri.io=true "
		 "annotation prefer-reserved-cpus.resource-policy.nri.io/pod=true\n"
		 "create w1 pod=b1 name=nginx cpu-request=500\n"
		 "pod k1 monitoring/agent qos=burstable "
		 "annotation prefer-reserved-cpus.resource-policy.nri.io/pod=true\n"
		 "create a1 pod=k1 name=agent cpu-request=100\n"
		 "pod p1 default/legacy qos=guaranteed annotation "
		 "cpu.preserve.resource-policy.nri.io=true "
		 "annotation exclusive-cpus.topoguard.io=%s\n"
		 "create l1 pod=p1 name=legacy cpu-request=1000 cpu-limit=1000 mem-limit=1000000 "
		 "cpus=7\n"
		 "expect-cpus l1 7\n"
		 "expect-cpus a1 0,72\n",
		 big);
	assert_int_equal(e2e_write(&r->e, "config.yaml",
				   "reserved:\n  cpus: \"0,72\"\nannotations:\n"
				   "  allow_reserved_namespaces: [monitoring]\n"),
			 0);
	sim = start_sim(r, scenario, NULL);
	start_daemon(r, true);
	rep = finish_sim(r, sim);
	s = cpus_of(rep, "main");
	assert_int_equal(cpuset_count(&s), 2);
	s = cpus_of(rep, "side");
	assert_true(cpuset_count(&s) > 100); /* shared by annotation */
	s = cpus_of(rep, "w1");
	assert_true(cpuset_count(&s) > 100); /* isolated and reserved refused */
	assert_false(cpuset_test(&s, 0));
	json_object_put(rep);
	assert_true(e2e_file_count(r->log, "isolated CPUs need Guaranteed QoS") >= 1);
	assert_true(e2e_file_count(r->log, "namespace not allowed to use reserved CPUs") >= 1);
	assert_true(e2e_file_count(r->log, "annotation refused") >= 3);
	assert_true(metric(r, "topoguard_annotations_refused_total") >= 3);
}

static pid_t start_prelaunched(struct e2e_run *r, const char *run_args, const char *plugin_config,
			       const char *scenario, const char *const *extra)
{
	char fixture[256];
	pid_t sim;

	e2e_src_path(&r->e, fixture, sizeof(fixture), FIXTURE);
	sim = e2e_run_prelaunched(r, fixture, run_args, plugin_config, scenario, extra);
	assert_true(sim > 0);
	return sim;
}

static void assert_launched_exits_clean(struct e2e_run *r, json_object *rep)
{
	if (!e2e_run_launched_exits_clean(r, rep))
		fail();
}

static void test_daemon_prelaunched_config_payload(void **state)
{
	struct e2e_run *r = *state;
	json_object *rep;
	pid_t sim;

	sim = start_prelaunched(r, "--status-socket '' --metrics-address none",
				"reserved:\n  cpus: \"0-1,72-73\"\n",
				"pod s0 kube-system/dns qos=burstable\n"
				"create d1 pod=s0 name=coredns cpu-request=100\n"
				"expect-cpus d1 0-1,72-73\n",
				NULL);
	rep = finish_sim(r, sim);
	assert_string_equal(e2e_jstr(e2e_jget(rep, "plugin"), "name"), "topoguard");
	assert_string_equal(e2e_jstr(e2e_jget(rep, "plugin"), "idx"), "90");
	assert_launched_exits_clean(r, rep);
	json_object_put(rep);
	assert_true(e2e_file_count(r->log, "origin=nri-config") >= 1);
}

/*
 * Pre-launched, the metrics endpoint and the status socket come from the runtime's
 * config for the plugin: they are opened once Configure brings it, where it says.
 */
static void test_daemon_prelaunched_servers_from_runtime_config(void **state)
{
	struct e2e_run *r = *state;
	char cfg[768], url[64], *body = NULL, *answer = NULL;
	json_object *rep;
	pid_t sim;

	snprintf(cfg, sizeof(cfg), "metrics:\n  address: \"127.0.0.1:%d\"\nstatus:\n  socket: %s\n",
		 r->port, r->status);
	sim = start_prelaunched(r, "", cfg,
				"pod s0 default/web qos=burstable\n"
				"create w1 pod=s0 name=nginx cpu-request=100\n"
				"sleep 4000\n",
				NULL);
	snprintf(url, sizeof(url), "http://127.0.0.1:%d/metrics", r->port);
	/*
	 * The status socket answers once Configure came, and knows w1 once it was created;
	 * w1 then lives 4 s. How long the launch takes is the machine's: a QEMU guest beside
	 * busy loops took over 3 s. So the wait is bounded by time, generously (a daemon
	 * that never answers still fails, once the simulator is done with it).
	 */
	for (uint64_t end = mono_ms() + (uint64_t)e2e_timeout_ms(STATUS_BOUND_MS);
	     !(answer && strstr(answer, "\"w1\"")) && mono_ms() < end;) {
		free(answer);
		answer = NULL;
		if (status_client_request(r->status, "status", e2e_timeout_ms(1000), &answer) < 0 ||
		    !strstr(answer, "\"w1\""))
			usleep(10000);
	}
	assert_non_null(answer);
	assert_int_equal(e2e_http_get(url, &body), 200);
	assert_non_null(strstr(answer, "\"w1\""));
	assert_non_null(strstr(body, "topoguard_"));
	free(answer);
	free(body);
	rep = finish_sim(r, sim);
	assert_launched_exits_clean(r, rep);
	json_object_put(rep);
}

/*
 * containerd 1.7.20 (NRI v0.6.1) restarts with pods running and launches topoguard
 * again without a Synchronize: the checkpoint tells it that e1 holds its exclusive
 * CPUs, so e2 gets others (--check-exclusive) and shared containers keep off both.
 */
static void test_daemon_prelaunched_old_nri_restart_uses_the_checkpoint(void **state)
{
	struct e2e_run *r = *state;
	const char *extra[] = {"--nri-version", "v0.6.1", "--check-exclusive", NULL};
	struct cpuset e1, e2, w1;
	char cfg[512], root[256], args[512], scn[1024];
	json_object *rep;
	pid_t sim;

	snprintf(cfg, sizeof(cfg), "state:\n  checkpoint: %s\n", r->checkpoint);
	/* an empty cgroup root: the simulator's containers have no kubelet cgroups, and
	 * what this host's /sys/fs/cgroup holds must not count */
	e2e_path(&r->e, root, sizeof(root), "cgroup-root");
	assert_int_equal(mkdir(root, 0755), 0);
	snprintf(args, sizeof(args), "--status-socket '' --metrics-address none --cgroup-root %s",
		 root);
	/* the sleep lets a checkpoint tick (250 ms) pass before the restart kills the daemon */
	snprintf(scn, sizeof(scn),
		 "pod g1 default/trading qos=guaranteed\n"
		 "create e1 pod=g1 name=engine cpu-request=4000 cpu-limit=4000 "
		 "mem-limit=1073741824 exclusive\n"
		 "start e1\n"
		 "pod b1 default/web qos=burstable\n"
		 "create w1 pod=b1 name=nginx cpu-request=500\n"
		 "start w1\n"
		 "sleep %d\n"
		 "restart\n"
		 "create e2 pod=g1 name=second cpu-request=4000 cpu-limit=4000 "
		 "mem-limit=1073741824 exclusive\n"
		 "start e2\n",
		 e2e_timeout_ms(800));
	sim = start_prelaunched(r, args, cfg, scn, extra);
	rep = finish_sim(r, sim);
	e1 = cpus_of(rep, "e1");
	e2 = cpus_of(rep, "e2");
	w1 = cpus_of(rep, "w1");
	assert_int_equal(cpuset_count(&e1), 4);
	assert_int_equal(cpuset_count(&e2), 4);
	assert_false(cpuset_intersects(&e1, &e2));
	assert_false(cpuset_intersects(&e1, &w1));
	assert_false(cpuset_intersects(&e2, &w1));
	assert_int_equal(e2e_count_requests(rep, "Synchronize", NULL), 0);
	assert_launched_exits_clean(r, rep);
	json_object_put(rep);
	assert_int_equal(e2e_file_count(r->log, "source=checkpoint"), 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_daemon_lifecycle_every_handler, e2e_run_setup,
						e2e_run_teardown),
		cmocka_unit_test_setup_teardown(test_daemon_v090_statechange, e2e_run_setup,
						e2e_run_teardown),
		cmocka_unit_test_setup_teardown(test_daemon_resync_after_runtime_and_daemon_restart,
						e2e_run_setup, e2e_run_teardown),
		cmocka_unit_test_setup_teardown(test_daemon_restore_sends_full_cpu_resources,
						e2e_run_setup, e2e_run_teardown),
		cmocka_unit_test_setup_teardown(test_daemon_resync_reasserts_stale_specs,
						e2e_run_setup, e2e_run_teardown),
		cmocka_unit_test_setup_teardown(test_daemon_resize_that_does_not_fit_is_refused,
						e2e_run_setup, e2e_run_teardown),
		cmocka_unit_test_setup_teardown(test_daemon_hot_reload_good_and_bad, e2e_run_setup,
						e2e_run_teardown),
		cmocka_unit_test_setup_teardown(test_daemon_annotations_aliases_and_refusals,
						e2e_run_setup, e2e_run_teardown),
		cmocka_unit_test_setup_teardown(test_daemon_prelaunched_config_payload,
						e2e_run_setup, e2e_run_teardown),
		cmocka_unit_test_setup_teardown(test_daemon_prelaunched_servers_from_runtime_config,
						e2e_run_setup, e2e_run_teardown),
		cmocka_unit_test_setup_teardown(
			test_daemon_prelaunched_old_nri_restart_uses_the_checkpoint, e2e_run_setup,
			e2e_run_teardown),
	};

	if (access(getenv("NRI_SIM_BIN") ? getenv("NRI_SIM_BIN") : "build/rel/nri-sim", X_OK)) {
		fprintf(stderr, "nri-sim not built\n");
		return 77;
	}
	return cmocka_run_group_tests(tests, NULL, NULL);
}
