/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The restart property (issue 14): random pod operations with runtime restarts in
 * between, on every NRI version in the field, the daemon external (a DaemonSet) or
 * pre-launched by the runtime. Whatever the seed, after every scenario line and every
 * UpdateContainers call the simulator finds
 *   - no CPU held by two live exclusive containers (`fault check-exclusive always`),
 *   - no stale quota: every live container with a CPU limit has the quota of that
 *     limit, an exclusive one none (`fault check-quota always`, tests/sim/sim_fault.c).
 *
 * The versions are played as the runtimes that shipped them (nri-sim --nri-version):
 * before v0.7 a pre-launched plugin gets no Synchronize after a restart, so the daemon
 * must rebuild from its checkpoint; before v0.10 the runtime refuses the pod-update
 * events in the mask, from v0.10 the daemon subscribes to them; before v0.12 it has to
 * infer the version from the runtime's name and version.
 *
 * An external daemon sees the runtime go away for 300 ms (`fault runtime-restart`), every
 * other time with the specs gone stale as CRI-O 1.26 had them; a pre-launched one is
 * killed with the runtime and launched again (`restart`).
 *
 * RESTARTS_SEED=N replays a run; every case prints the seed it used.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "tests/lib/e2e_run.h"
#include "tests/lib/scngen.h"

#define FIXTURE	 "tests/fixtures/sysfs/skx-4s-smt"
#define OPS	 240
#define RESTARTS 3
/* A generous bound on a daemon's start: spawn -> handshake done, on a loaded machine. */
#define BOUND_MS   60000
#define POD_EVENTS 0x1800u /* UPDATE_POD_SANDBOX | POST_UPDATE_POD_SANDBOX: from v0.10 */

struct version {
	const char *tag;
	bool syncs_prelaunched; /* >= v0.7 */
	bool pod_events;	/* >= v0.10 */
};

static const struct version versions[] = {
	{"v0.4.0", false, false}, /* containerd 1.7.7-1.7.13 */
	{"v0.6.1", false, false}, /* containerd 1.7.16-1.7.25, CRI-O 1.31 */
	{"v0.8.0", true, false},  /* containerd 1.7.26+, 2.0, 2.1 */
	{"v0.9.0", true, false},  /* CRI-O 1.32 */
	{"v0.10.0", true, true},  /* containerd 2.2.0, CRI-O 1.34 */
	{"v0.11.0", true, true},  /* containerd 2.2.1, CRI-O 1.35 */
	{"v0.12.2", true, true},  /* NRI_version, dedicated RPCs */
};

static uint64_t seed_for(size_t version_idx, bool prelaunched)
{
	const char *env = getenv("RESTARTS_SEED");

	if (env)
		return strtoull(env, NULL, 0);
	return 20261207ull + version_idx * 2 + (prelaunched ? 1 : 0);
}

static void external_restart(int p, char *buf, size_t len, void *ud)
{
	(void)ud;
	snprintf(buf, len, "fault runtime-restart 300%s\nwait-sessions %d %d\n",
		 p % 2 ? " stale-specs" : "", p + 1, BOUND_MS);
}

static void prelaunched_restart(int p, char *buf, size_t len, void *ud)
{
	(void)p, (void)ud;
	snprintf(buf, len, "restart\n");
}

/*
 * Containers that ran before the daemon came, with the kubelet's cpusets (none) and
 * quotas: the first Synchronize hands the Guaranteed ones exclusive CPUs, and with them
 * no quota. Without a Synchronize (pre-launched before v0.7) only the kubelet's cgroups
 * could tell a new plugin about them, which the simulator's containers do not have
 * (tests/integration/test_reconcile_node.c covers that on real cgroups): left out there.
 */
#define EXISTING                                                                           \
	"existing pod x1 default/db qos=guaranteed\n"                                      \
	"existing create x1 pod=x1 cpu-request=2000 cpu-limit=2000 " SCNGEN_EXCL_ARGS "\n" \
	"existing pod x2 default/cache qos=guaranteed\n"                                   \
	"existing create x2 pod=x2 cpu-request=1000 cpu-limit=1000 " SCNGEN_EXCL_ARGS "\n" \
	"existing pod x3 default/web qos=burstable\n"                                      \
	"existing create x3 pod=x3 cpu-request=200 cpu-limit=3000\n"                       \
	"existing pod x4 default/api qos=guaranteed\n"                                     \
	"existing create x4 pod=x4 cpu-request=1500 cpu-limit=1500 mem-limit=1073741824\n"
#define CHECKS "fault check-exclusive always\nfault check-quota always\n"

static char *scenario(uint64_t seed, bool prelaunched, bool existing)
{
	const struct scngen_opts o = {
		.seed = seed,
		.ops = OPS,
		.phases = RESTARTS + 1,
		.pause_every = 40,
		.pause_ms = 50,
		.head = existing ? EXISTING CHECKS : CHECKS,
		.tail = "expect-connected yes\n",
		.phase_line = prelaunched ? prelaunched_restart : external_restart,
	};
	char *scn = scngen_build(&o);

	assert_non_null(scn);
	return scn;
}

static json_object *finish(struct e2e_run *r, pid_t sim)
{
	int rc;
	json_object *rep = e2e_run_finish_sim(r, sim, (RESTARTS + 2) * BOUND_MS, &rc);

	assert_non_null(rep);
	if (rc != 0) {
		e2e_print_tail(r->log, 30);
		fail_msg("nri-sim exit %d: %s %s", rc,
			 json_object_to_json_string(e2e_jget(rep, "expectations_failed")),
			 json_object_to_json_string(e2e_jget(rep, "errors")));
	}
	return rep;
}

static int jint(json_object *o, const char *key)
{
	return json_object_get_int(e2e_jget(o, key));
}

/* Each session's subscription, as the runtime accepted it. */
static void assert_sessions(json_object *rep, const struct version *v, int want)
{
	json_object *sessions = e2e_jget(rep, "sessions");
	size_t n = sessions ? json_object_array_length(sessions) : 0;

	assert_int_equal((int)n, want);
	for (size_t i = 0; i < n; i++) {
		uint32_t ev = (uint32_t)jint(json_object_array_get_idx(sessions, i), "events");

		assert_true((ev & 0x8u) != 0); /* CREATE_CONTAINER */
		assert_int_equal((ev & POD_EVENTS) != 0, v->pod_events);
	}
}

static void summary(const char *mode, const struct version *v, uint64_t seed, json_object *rep)
{
	fprintf(stderr,
		"%s %s: seed %llu, %d checks passed, %zu requests, %d Synchronize, "
		"%d reconnects\n",
		mode, v->tag, (unsigned long long)seed, jint(rep, "expectations_passed"),
		json_object_array_length(e2e_jget(rep, "requests")),
		e2e_count_requests(rep, "Synchronize", NULL), jint(rep, "reconnects"));
}

static void run_external(struct e2e_run *r, const struct version *v, uint64_t seed)
{
	const char *extra[] = {"--nri-version", v->tag, NULL};
	char fixture[256], *scn = scenario(seed, false, true);
	json_object *rep;
	pid_t sim;

	sim = e2e_run_sim(r, scn, extra);
	free(scn);
	assert_true(sim > 0);
	e2e_src_path(&r->e, fixture, sizeof(fixture), FIXTURE);
	assert_true(e2e_run_daemon(r, fixture, NULL, NULL) > 0);
	rep = finish(r, sim);
	summary("external", v, seed, rep);
	assert_true(jint(rep, "expectations_passed") >= OPS);
	assert_int_equal(jint(rep, "reconnects"), RESTARTS);
	assert_sessions(rep, v, RESTARTS + 1);
	/* an external plugin is synchronized on every version */
	assert_int_equal(e2e_count_requests(rep, "Synchronize", "ok"), RESTARTS + 1);
	json_object_put(rep);
}

static void run_prelaunched(struct e2e_run *r, const struct version *v, uint64_t seed)
{
	const char *extra[] = {"--nri-version", v->tag, NULL};
	char fixture[256], cfg[512], root[256], args[512],
		*scn = scenario(seed, true, v->syncs_prelaunched);
	json_object *rep;
	pid_t sim;

	/* an empty cgroup root: the simulator's containers have no kubelet cgroups, and
	 * what this host's /sys/fs/cgroup holds must not count */
	e2e_path(&r->e, root, sizeof(root), "cgroup-root");
	assert_int_equal(mkdir(root, 0755), 0);
	snprintf(cfg, sizeof(cfg), "state:\n  checkpoint: %s\n", r->checkpoint);
	snprintf(args, sizeof(args), "--status-socket '' --metrics-address none --cgroup-root %s",
		 root);
	e2e_src_path(&r->e, fixture, sizeof(fixture), FIXTURE);
	sim = e2e_run_prelaunched(r, fixture, args, cfg, scn, extra);
	free(scn);
	assert_true(sim > 0);
	rep = finish(r, sim);
	summary("pre-launched", v, seed, rep);
	assert_true(jint(rep, "expectations_passed") >= OPS);
	assert_sessions(rep, v, RESTARTS + 1);
	assert_true(e2e_run_launched_exits_clean(r, rep));
	if (v->syncs_prelaunched) {
		assert_int_equal(e2e_count_requests(rep, "Synchronize", "ok"), RESTARTS + 1);
	} else {
		/* no Synchronize ever: each relaunch rebuilt its state from the checkpoint */
		assert_int_equal(e2e_count_requests(rep, "Synchronize", NULL), 0);
		assert_int_equal(e2e_file_count(r->log, "source=checkpoint"), RESTARTS);
	}
	json_object_put(rep);
}

static void each_version(void **state, bool prelaunched, size_t idx)
{
	struct e2e_run *r = *state;

	if (prelaunched)
		run_prelaunched(r, &versions[idx], seed_for(idx, true));
	else
		run_external(r, &versions[idx], seed_for(idx, false));
}

#define CASES(i)                                                \
	static void test_restarts_external_##i(void **state)    \
	{                                                       \
		each_version(state, false, i);                  \
	}                                                       \
	static void test_restarts_prelaunched_##i(void **state) \
	{                                                       \
		each_version(state, true, i);                   \
	}
CASES(0)
CASES(1)
CASES(2)
CASES(3)
CASES(4)
CASES(5)
CASES(6)

#define BOTH(i, tag)                                                                          \
	{"external " tag, test_restarts_external_##i, e2e_run_setup, e2e_run_teardown, NULL}, \
	{                                                                                     \
		"pre-launched " tag, test_restarts_prelaunched_##i, e2e_run_setup,            \
			e2e_run_teardown, NULL                                                \
	}

int main(void)
{
	const struct CMUnitTest tests[] = {
		BOTH(0, "v0.4.0"),  BOTH(1, "v0.6.1"),	BOTH(2, "v0.8.0"), BOTH(3, "v0.9.0"),
		BOTH(4, "v0.10.0"), BOTH(5, "v0.11.0"), BOTH(6, "v0.12.2")};

	_Static_assert(sizeof(versions) / sizeof(versions[0]) == 7, "one CASES() per version");
	if (access(getenv("NRI_SIM_BIN") ? getenv("NRI_SIM_BIN") : "build/rel/nri-sim", X_OK)) {
		fprintf(stderr, "nri-sim not built\n");
		return 77;
	}
	return cmocka_run_group_tests(tests, NULL, NULL);
}
