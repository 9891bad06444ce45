/* SPDX-License-Identifier: Apache-2.0 */
/*
 * End-to-end: runtime behaviours at the edges of the lifecycle, through nri-sim and
 * the real daemon on tests/fixtures/sysfs/skx-4s-smt (144 CPUs, siblings N and N+72),
 * with CPUs 0,72 reserved, so the shared pool starts as 1-71,73-143:
 *   - a RemoveContainer that comes without StopContainer (`remove ... no-stop`);
 *   - more exclusive demand than there are CPUs (every container is still created,
 *     none shares an exclusive CPU: `--exclusive-annotation`);
 *   - a container whose process exits on its own (`exit`: the runtime's StopContainer);
 *   - a creation that fails after CreateContainer with no Stop or Remove (CRI-O 1.26,
 *     `create ... fail-after`): a ghost, released at reconcile.ghost_after or as soon
 *     as the runtime rejects an update naming it.
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

#define FIXTURE	   "tests/fixtures/sysfs/skx-4s-smt"
#define SHARED_ALL "1-71,73-143"
#define EXCL_KEY   "topoguard.io/exclusive-cpus"
#define GIB	   "mem-limit=1073741824"

/* The exclusive CPUs the daemon persisted on id ("" = none). */
static struct cpuset owned_of(json_object *rep, const char *id)
{
	json_object *ann = e2e_jget(e2e_report_container(rep, id), "annotations");

	if (!e2e_jget(ann, EXCL_KEY))
		fail_msg("container %s carries no %s", id, EXCL_KEY);
	return set_of(e2e_jstr(ann, EXCL_KEY));
}

#define BASE_CONFIG "reserved:\n  cpus: \"0,72\"\n"

/* Run scenario against the daemon with config (YAML); the report, with nri-sim's exit
 * status in *ret_rc. */
static json_object *run_with(struct e2e_run *r, const char *config, const char *scenario,
			     const char *const *extra, int *ret_rc)
{
	char fixture[256];
	const char *cfg[] = {"--config", r->config, NULL};
	json_object *rep;
	pid_t sim;

	assert_int_equal(e2e_write(&r->e, "config.yaml", config), 0);
	sim = e2e_run_sim(r, scenario, extra);
	assert_true(sim > 0);
	e2e_src_path(&r->e, fixture, sizeof(fixture), FIXTURE);
	assert_true(e2e_run_daemon(r, fixture, NULL, cfg) > 0);
	rep = e2e_run_finish_sim(r, sim, 30000, ret_rc);
	assert_non_null(rep);
	return rep;
}

static json_object *run(struct e2e_run *r, const char *scenario, const char *const *extra,
			int *ret_rc)
{
	return run_with(r, BASE_CONFIG, scenario, extra, ret_rc);
}

static json_object *run_ok_with(struct e2e_run *r, const char *config, const char *scenario,
				const char *const *extra)
{
	int rc;
	json_object *rep = run_with(r, config, scenario, extra, &rc);

	if (rc != 0)
		fail_msg("nri-sim exit %d: %s", rc,
			 json_object_to_json_string(e2e_jget(rep, "expectations_failed")));
	return rep;
}

static json_object *run_ok(struct e2e_run *r, const char *scenario, const char *const *extra)
{
	return run_ok_with(r, BASE_CONFIG, scenario, extra);
}

static const char remove_scn[] =
	"pod b1 default/web qos=burstable\n"
	"create w1 pod=b1 name=nginx cpu-request=500\n"
	"start w1\n"
	"pod g1 default/trading qos=guaranteed\n"
	"create e1 pod=g1 name=engine cpu-request=4000 cpu-limit=4000 " GIB " exclusive\n"
	"start e1\n"
	"remove e1 no-stop\n"
	"wait-updates 1 8000\n"
	"expect-state e1 removed\n"
	"expect-cpus w1 " SHARED_ALL "\n";

/* (a) RemoveContainer without StopContainer: the freed CPUs go out unsolicited. */
static void test_remove_without_stop_widens_shared_pool(void **state)
{
	struct e2e_run *r = *state;
	json_object *rep = run_ok(r, remove_scn, NULL);

	assert_int_equal(e2e_count_requests(rep, "StopContainer", NULL), 0);
	assert_int_equal(e2e_count_requests(rep, "RemoveContainer", "ok"), 1);
	assert_true(json_object_get_int(e2e_jget(e2e_jget(rep, "unsolicited_updates"), "calls")) >=
		    1);
	json_object_put(rep);
}

static const char oversubscribed_scn[] =
	"pod b1 default/web qos=burstable\n"
	"create w1 pod=b1 name=nginx cpu-request=500\n"
	"start w1\n"
	"pod g1 default/big qos=guaranteed\n"
	"create e1 pod=g1 name=a cpu-request=64000 cpu-limit=64000 " GIB " exclusive\n"
	"start e1\n"
	"create e2 pod=g1 name=b cpu-request=64000 cpu-limit=64000 " GIB " exclusive\n"
	"start e2\n"
	"create e3 pod=g1 name=c cpu-request=64000 cpu-limit=64000 " GIB " exclusive\n"
	"start e3\n"
	"expect-state e1 running\n"
	"expect-state e2 running\n"
	"expect-state e3 running\n";

/* (b) 192 CPUs of exclusive demand on 142: all created, the last one on the shared pool. */
static void test_exclusive_demand_beyond_cpus(void **state)
{
	struct e2e_run *r = *state;
	const char *extra[] = {"--exclusive-annotation", EXCL_KEY, NULL};
	json_object *rep = run_ok(r, oversubscribed_scn, extra);
	struct cpuset e1 = owned_of(rep, "e1"), e2 = owned_of(rep, "e2"), e3 = owned_of(rep, "e3");
	struct cpuset w1 = cpus_of(rep, "w1"), c3 = cpus_of(rep, "e3");

	assert_int_equal(e2e_count_requests(rep, "CreateContainer", "error"), 0);
	assert_int_equal(cpuset_count(&e1), 64);
	assert_int_equal(cpuset_count(&e2), 64);
	assert_false(cpuset_intersects(&e1, &e2));
	assert_true(cpuset_is_empty(&e3)); /* it did not fit: shared, not exclusive */
	assert_true(cpuset_equal(&c3, &w1));
	assert_int_equal(cpuset_count(&c3), 142 - 128);
	assert_false(cpuset_intersects(&c3, &e1));
	assert_false(cpuset_intersects(&c3, &e2));
	json_object_put(rep);
}

/* The check itself can fail: a container left on the runtime's default cpuset
 * (cpu.preserve, no cpus) runs on e1's exclusive CPUs. */
static void test_exclusive_check_catches_default_cpuset(void **state)
{
	struct e2e_run *r = *state;
	const char *extra[] = {"--exclusive-annotation", EXCL_KEY, NULL};
	const char scn[] =
		"pod g1 default/big qos=guaranteed\n"
		"create e1 pod=g1 name=a cpu-request=4000 cpu-limit=4000 " GIB " exclusive\n"
		"pod p1 default/legacy qos=burstable annotation cpu.preserve.topoguard.io=true\n"
		"create l1 pod=p1 name=legacy cpu-request=500\n";
	json_object *rep, *fails;
	int rc;

	rep = run(r, scn, extra, &rc);
	assert_int_equal(rc, 1);
	fails = e2e_jget(rep, "expectations_failed");
	assert_int_equal(json_object_array_length(fails), 1);
	assert_non_null(strstr(json_object_get_string(json_object_array_get_idx(fails, 0)),
			       "of e1 are in the cpuset of l1 (unset)"));
	json_object_put(rep);
}

static const char exit_scn[] =
	"pod b1 default/web qos=burstable\n"
	"create w1 pod=b1 name=nginx cpu-request=500\n"
	"start w1\n"
	"pod g1 default/batch qos=guaranteed\n"
	"create e1 pod=g1 name=job cpu-request=100000 cpu-limit=100000 " GIB " exclusive\n"
	"start e1\n"
	"exit e1 code=3\n"
	"expect-state e1 stopped\n"
	"expect-cpus w1 " SHARED_ALL "\n"
	"create e2 pod=g1 name=next cpu-request=100000 cpu-limit=100000 " GIB " exclusive\n"
	"start e2\n";

/* (c) A task that exits on its own: the runtime's StopContainer frees its CPUs. */
static void test_container_exit_releases_cpus(void **state)
{
	struct e2e_run *r = *state;
	const char *extra[] = {"--exclusive-annotation", EXCL_KEY, NULL};
	json_object *rep = run_ok(r, exit_scn, extra), *e1;
	struct cpuset e2 = owned_of(rep, "e2"), w1 = cpus_of(rep, "w1");

	e1 = e2e_report_container(rep, "e1");
	assert_string_equal(e2e_jstr(e1, "state"), "stopped");
	assert_int_equal(json_object_get_int(e2e_jget(e1, "exit_code")), 3);
	assert_int_equal(e2e_count_requests(rep, "StopContainer", "ok"), 1);
	/* 100 exclusive CPUs again: only possible once e1's 100 came back */
	assert_int_equal(cpuset_count(&e2), 100);
	assert_int_equal(cpuset_count(&w1), 142 - 100);
	assert_false(cpuset_intersects(&w1, &e2));
	json_object_put(rep);
	assert_true(e2e_file_count(r->log, "stop: container=e1") >= 1);
}

/* t_ms of the request of method for container id, -1 if none. */
static long request_t_ms(json_object *rep, const char *method, const char *id)
{
	json_object *reqs = e2e_jget(rep, "requests");

	for (size_t i = 0; reqs && i < json_object_array_length(reqs); i++) {
		json_object *q = json_object_array_get_idx(reqs, i);

		if (!strcmp(e2e_jstr(q, "method"), method) && e2e_jget(q, "container") &&
		    !strcmp(e2e_jstr(q, "container"), id))
			return (long)json_object_get_int64(e2e_jget(q, "t_ms"));
	}
	return -1;
}

/* t_ms of the first unsolicited update giving id the cpuset want, -1 if none. */
static long update_t_ms(json_object *rep, const char *id, const char *want)
{
	json_object *u = e2e_jget(e2e_jget(rep, "unsolicited_updates"), "updates");
	struct cpuset w = set_of(want);

	for (size_t i = 0; u && i < json_object_array_length(u); i++) {
		json_object *e = json_object_array_get_idx(u, i);
		struct cpuset c;

		if (strcmp(e2e_jstr(e, "container"), id))
			continue;
		c = set_of(e2e_jstr(e, "cpus"));
		if (cpuset_equal(&c, &w))
			return (long)json_object_get_int64(e2e_jget(e, "t_ms"));
	}
	return -1;
}

#define GHOST_CONFIG BASE_CONFIG "reconcile:\n  ghost_after: 2s\n"

static const char ghost_scn[] =
	"pod b1 default/web qos=burstable\n"
	"create w1 pod=b1 name=nginx cpu-request=500\n"
	"start w1\n"
	"pod g1 default/trading qos=guaranteed\n"
	"create gh pod=g1 name=engine cpu-request=4000 cpu-limit=4000 " GIB " exclusive "
	"fail-after\n"
	"wait-updates 1 8000\n"
	"expect-cpus w1 " SHARED_ALL "\n"
	"create e2 pod=g1 name=next cpu-request=4000 cpu-limit=4000 " GIB " exclusive\n"
	"start e2\n";

/*
 * (d) CRI-O 1.26: a creation fails after CreateContainer and the runtime never says so
 * (no PostCreate, Stop or Remove). Its 4 exclusive CPUs come back to the shared pool
 * at reconcile.ghost_after (2 s here), not before and not much later (one 250 ms tick,
 * plus room for a busy machine), and the next Guaranteed container can have them.
 */
static void test_ghost_creation_released_within_the_bound(void **state)
{
	struct e2e_run *r = *state;
	const char *extra[] = {"--exclusive-annotation", EXCL_KEY, NULL};
	json_object *rep = run_ok_with(r, GHOST_CONFIG, ghost_scn, extra);
	struct cpuset gh = owned_of(rep, "gh"), e2 = owned_of(rep, "e2");
	long created = request_t_ms(rep, "CreateContainer", "gh");
	long freed = update_t_ms(rep, "w1", SHARED_ALL);

	assert_int_equal(cpuset_count(&gh), 4);
	assert_true(json_object_get_boolean(e2e_jget(e2e_report_container(rep, "gh"), "ghost")));
	assert_int_equal(e2e_count_requests(rep, "StopContainer", NULL), 0);
	assert_int_equal(e2e_count_requests(rep, "RemoveContainer", NULL), 0);
	fprintf(stderr, "ghost: created at %ld ms, its CPUs back at %ld ms\n", created, freed);
	assert_true(created >= 0 && freed >= 0);
	assert_true(freed - created >= 2000 - 100); /* the clock starts in the handler */
	assert_true(freed - created <= 2000 + 1000);
	assert_true(cpuset_equal(&e2, &gh)); /* the tightest fit again: the same CPUs */
	json_object_put(rep);
	assert_true(e2e_run_metric(
			    r, "topoguard_ghosts_released_total{reason=\"never-started\"}") == 1);
	assert_int_equal(e2e_file_count(r->log, "ghost released: container=gh"), 1);
}

static const char rejected_scn[] =
	"pod b1 default/web qos=burstable\n"
	"create w1 pod=b1 name=nginx cpu-request=500\n"
	"start w1\n"
	"pod g1 default/trading qos=guaranteed\n"
	"create e1 pod=g1 name=engine cpu-request=4000 cpu-limit=4000 " GIB " exclusive\n"
	"start e1\n"
	"create gm pod=g1 name=mixed cpu-request=2500 cpu-limit=2500 " GIB " fail-after\n"
	"remove e1 no-stop\n"
	"wait-updates 2 8000\n"
	"sleep 200\n"
	"expect-cpus w1 " SHARED_ALL "\n";

/*
 * (e) The same ghost, but mixed (2 exclusive CPUs plus the shared pool), so the next
 * change of the shared pool names it: the runtime answers that update as failed (ID
 * does not exist) and the ghost goes at once, long before reconcile.ghost_after (30 s).
 */
static void test_ghost_noticed_by_a_rejected_update(void **state)
{
	struct e2e_run *r = *state;
	json_object *rep = run_ok(r, rejected_scn, NULL);

	assert_true(json_object_get_int(e2e_jget(e2e_jget(rep, "unsolicited_updates"), "calls")) >=
		    2);
	json_object_put(rep);
	assert_true(e2e_run_metric(
			    r, "topoguard_ghosts_released_total{reason=\"update-rejected\"}") == 1);
	assert_true(e2e_run_metric(
			    r, "topoguard_ghosts_released_total{reason=\"never-started\"}") == 0);
	assert_int_equal(e2e_file_count(r->log, "ghost released: container=gm"), 1);
}

int main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, e2e_run_setup, e2e_run_teardown)
	const struct CMUnitTest tests[] = {
		T(test_remove_without_stop_widens_shared_pool),
		T(test_exclusive_demand_beyond_cpus),
		T(test_exclusive_check_catches_default_cpuset),
		T(test_container_exit_releases_cpus),
		T(test_ghost_creation_released_within_the_bound),
		T(test_ghost_noticed_by_a_rejected_update),
	};
#undef T

	if (access(getenv("NRI_SIM_BIN") ? getenv("NRI_SIM_BIN") : "build/rel/nri-sim", X_OK)) {
		fprintf(stderr, "nri-sim not built\n");
		return 77;
	}
	return cmocka_run_group_tests(tests, NULL, NULL);
}
