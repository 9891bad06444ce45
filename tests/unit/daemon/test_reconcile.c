/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Reconciliation with the node (plugin/daemon/reconcile.c) on a daemon without a
 * runtime (handlers_fx.h: 8 single-thread cores, CPUs 0-7): ghosts, vanished cgroups
 * and rejected updates, with the clock passed in and cgroups in a fake tree. Each
 * test names the mistake it exists to catch.
 */
#include <sys/stat.h>

#include "plugin/daemon/reconcile.h"
#include "plugin/daemon/render.h"
#include "plugin/host/kubepods.h"
#include "tests/unit/daemon/handlers_fx.h"

#define SEC 1000000000ull

static char root[64]; /* the fake cgroup root (cgroup2 layout) */

static int setup(void **state)
{
	snprintf(root, sizeof(root), "/tmp/tg-reconcile.XXXXXX");
	if (!mkdtemp(root))
		return -1;
	return hx_setup(state);
}

static int teardown(void **state)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf %s", root);
	if (system(cmd) != 0)
		return -1;
	return hx_teardown(state);
}

/* root/rel/file = text (directories made on the way; file NULL: only them). */
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

/* The daemon reads cgroups under root; a container's cgroup is /kubepods/<id>. */
static void use_tree(struct hx *h)
{
	put(".", "cgroup.controllers", "cpuset cpu memory\n");
	h->d->opt.cgroup_root = root;
}

static void put_cgroup(const char *id, const char *procs)
{
	char rel[128];

	snprintf(rel, sizeof(rel), "kubepods/%s", id);
	put(rel, "cpuset.cpus", "0-7\n");
	put(rel, "cgroup.procs", procs);
}

static NriPodSandbox *pod_in(struct hx *h, const char *id)
{
	return hx_pod(h, &(struct hx_pod_spec){.id = id, .ns = "default", .name = id});
}

static NriContainer *ctr_of(struct hx *h, const NriPodSandbox *pod, const char *id,
			    struct hx_res res, bool running)
{
	NriContainer *c = hx_ctr(
		h, &(struct hx_ctr_spec){.id = id, .pod = pod, .res = res, .running = running});
	char *path = hx_alloc(h, 128);

	snprintf(path, 128, "/kubepods/%s", id);
	c->linux_->cgroups_path = path;
	return c;
}

static void create(struct hx *h, const NriPodSandbox *pod, const NriContainer *c)
{
	struct view v;

	hx_create(h, pod, c, &v);
	view_done(&v);
}

static void start(struct hx *h, const NriPodSandbox *pod, const NriContainer *c)
{
	assert_int_equal(daemon_handlers.start_container(NULL, pod, c, h->d), 0);
}

static bool placed(struct hx *h, const char *id)
{
	struct alloc_result r;

	return alloc_get(h->d->alloc, id, &r) == 0;
}

static uint64_t created_at(struct hx *h, const char *id)
{
	const struct model_container *c = model_container_by_id(h->d->model, id);

	assert_non_null(c);
	assert_true(c->track.created_ns > 0);
	return c->track.created_ns;
}

static double ghosts(struct hx *h, const char *reason)
{
	char series[128];

	snprintf(series, sizeof(series), "topoguard_ghosts_released_total{reason=\"%s\"}", reason);
	return hx_metric(h, series);
}

/* The cpus of id's update in the runtime's last UpdateContainers, or NULL. */
static const char *sent_cpus(const struct hx_runtime *rt, const char *id)
{
	for (size_t i = 0; rt->last && i < rt->last->n_update; i++) {
		const PB(ContainerUpdate) *u = rt->last->update[i];

		if (!strcmp(u->container_id, id) && u->linux_ && u->linux_->resources &&
		    u->linux_->resources->cpu)
			return u->linux_->resources->cpu->cpus;
	}
	return NULL;
}

/*
 * A shared w1 that runs, and a Guaranteed g1 whose creation failed after the NRI
 * call (CRI-O 1.26): it holds 2 exclusive CPUs and never starts. At exactly
 * reconcile.ghost_after (not before) it loses them, the model forgets it, and w1 is
 * sent the whole machine again.
 */
static void test_ghost_released_at_the_bound(void **state)
{
	struct hx *h = *state;
	NriPodSandbox *pw = pod_in(h, "pw"), *pg = pod_in(h, "pg");
	NriContainer *w1 = ctr_of(h, pw, "w1", (struct hx_res){.req_m = 500}, false);
	NriContainer *g1 = ctr_of(h, pg, "g1", GUARANTEED(2000), false);
	struct hx_runtime rt;
	uint64_t t;

	hx_connect(h, &rt);
	create(h, pw, w1);
	start(h, pw, w1);
	create(h, pg, g1);
	t = created_at(h, "g1");
	daemon_reconcile_tick(h->d, t + 30 * SEC - 1);
	assert_true(placed(h, "g1"));
	assert_true(ghosts(h, "never-started") == 0);
	daemon_reconcile_tick(h->d, t + 30 * SEC);
	assert_false(placed(h, "g1"));
	assert_null(model_container_by_id(h->d->model, "g1"));
	assert_true(placed(h, "w1"));
	assert_true(ghosts(h, "never-started") == 1);
	assert_int_equal(h->d->rc.ghosts, 1);
	hx_exchange(h, &rt, 1);
	assert_int_equal(rt.calls, 1);
	assert_non_null(sent_cpus(&rt, "w1"));
	assert_string_equal(sent_cpus(&rt, "w1"), "0-7");
	hx_runtime_done(&rt);
}

/* StartContainer or PostCreateContainer proves a container exists, however old. */
static void test_started_or_post_created_is_no_ghost(void **state)
{
	struct hx *h = *state;
	NriPodSandbox *pg = pod_in(h, "pg");
	NriContainer *g1 = ctr_of(h, pg, "g1", GUARANTEED(2000), false);
	NriContainer *g2 = ctr_of(h, pg, "g2", GUARANTEED(2000), false);
	uint64_t t;

	create(h, pg, g1);
	create(h, pg, g2);
	start(h, pg, g1);
	assert_int_equal(daemon_handlers.post_create_container(NULL, pg, g2, h->d), 0);
	t = created_at(h, "g2");
	daemon_reconcile_tick(h->d, t + 3600 * SEC);
	assert_true(placed(h, "g1"));
	assert_true(placed(h, "g2"));
	assert_int_equal(h->d->rc.ghosts, 0);
}

/*
 * Where the cgroup can be checked, a process in it is proof enough (a runtime that
 * sends no PostCreateContainer); a cgroup without a process is none.
 */
static void test_process_in_cgroup_is_no_ghost(void **state)
{
	struct hx *h = *state;
	NriPodSandbox *pg = pod_in(h, "pg");
	NriContainer *g1 = ctr_of(h, pg, "g1", GUARANTEED(2000), false);
	NriContainer *g2 = ctr_of(h, pg, "g2", GUARANTEED(2000), false);
	uint64_t t;

	use_tree(h);
	put_cgroup("g1", "4242\n");
	put_cgroup("g2", "");
	create(h, pg, g1);
	create(h, pg, g2);
	t = created_at(h, "g2");
	daemon_reconcile_tick(h->d, t + 31 * SEC);
	assert_true(placed(h, "g1"));
	assert_true(model_container_by_id(h->d->model, "g1")->track.confirmed);
	assert_false(placed(h, "g2"));
	assert_true(ghosts(h, "never-started") == 1);
}

/* A running container whose cgroup was seen and is gone runs nothing any more. */
static void test_vanished_cgroup_released(void **state)
{
	struct hx *h = *state;
	NriPodSandbox *pg = pod_in(h, "pg");
	NriContainer *g1 = ctr_of(h, pg, "g1", GUARANTEED(2000), false);
	NriContainer *g2 = ctr_of(h, pg, "g2", GUARANTEED(2000), false);
	char cmd[256];
	uint64_t t;

	use_tree(h);
	put_cgroup("g1", "1\n");
	create(h, pg, g1);
	create(h, pg, g2); /* started, but its cgroup is never where we look */
	start(h, pg, g1);
	start(h, pg, g2);
	t = created_at(h, "g1");
	daemon_reconcile_tick(h->d, t + SEC); /* the first pass sees g1's cgroup */
	assert_true(model_container_by_id(h->d->model, "g1")->track.cgroup_seen);
	snprintf(cmd, sizeof(cmd), "rm -rf %s/kubepods/g1", root);
	assert_int_equal(system(cmd), 0);
	daemon_reconcile_tick(h->d, t + 5 * SEC); /* within reconcile.interval: no pass */
	assert_true(placed(h, "g1"));
	daemon_reconcile_tick(h->d, t + 11 * SEC);
	assert_false(placed(h, "g1"));
	assert_true(ghosts(h, "cgroup-gone") == 1);
	assert_true(placed(h, "g2")); /* never seen: nothing can be told */
	assert_int_equal(h->d->rc.passes, 2);
}

/*
 * The runtime's word on unsolicited updates: a failed list naming a container that
 * never started releases it at once; one naming a running container does not. A
 * refused request names nobody in particular: only a container past its grace
 * without a process counts.
 */
static void test_rejected_updates(void **state)
{
	struct hx *h = *state;
	NriPodSandbox *pg = pod_in(h, "pg");
	NriContainer *g1 = ctr_of(h, pg, "g1", GUARANTEED(2000), false);
	NriContainer *g2 = ctr_of(h, pg, "g2", GUARANTEED(2000), false);
	NriContainer *g3 = ctr_of(h, pg, "g3", GUARANTEED(2000), false);
	const char *named[] = {"g1", "g2", "nobody"};
	const char *all[] = {"g3"};
	uint64_t t;

	create(h, pg, g1);
	create(h, pg, g2);
	start(h, pg, g2);
	create(h, pg, g3);
	t = created_at(h, "g1");
	daemon_reconcile_updates_failed(h->d, named, 3, 0, t + 1);
	assert_false(placed(h, "g1"));
	assert_true(placed(h, "g2"));
	assert_true(ghosts(h, "update-rejected") == 1);
	t = created_at(h, "g3");
	daemon_reconcile_updates_failed(h->d, all, 1, TTRPC_UNKNOWN, t + SEC / 2);
	assert_true(placed(h, "g3"));
	daemon_reconcile_updates_failed(h->d, all, 1, TTRPC_UNKNOWN, t + 2 * SEC);
	assert_false(placed(h, "g3"));
	assert_true(ghosts(h, "update-rejected") == 2);
}

/* A Synchronize that shows a container created, not running, starts its clock. */
static void test_synchronize_created_starts_the_clock(void **state)
{
	struct hx *h = *state;
	NriPodSandbox *pods[1] = {pod_in(h, "pg")};
	NriContainer *ctrs[2] = {ctr_of(h, pods[0], "g1", GUARANTEED(2000), false),
				 ctr_of(h, pods[0], "g2", GUARANTEED(2000), true)};
	struct view v;
	uint64_t t;

	hx_sync(h, pods, 1, ctrs, 2, &v);
	view_done(&v);
	t = created_at(h, "g1");
	assert_true(model_container_by_id(h->d->model, "g2")->track.confirmed);
	daemon_reconcile_tick(h->d, t + 31 * SEC);
	assert_false(placed(h, "g1"));
	assert_true(placed(h, "g2"));
}

/* reconcile.ghost_after: 0 turns the bound off (the other evidence still counts). */
static void test_ghost_after_zero_never(void **state)
{
	struct hx *h = *state;
	NriPodSandbox *pg;
	NriContainer *g1;

	hx_restart(h, "reconcile:\n  ghost_after: 0s\n");
	pg = pod_in(h, "pg");
	g1 = ctr_of(h, pg, "g1", GUARANTEED(2000), false);
	create(h, pg, g1);
	daemon_reconcile_tick(h->d, created_at(h, "g1") + 3600 * SEC);
	assert_true(placed(h, "g1"));
}

/* Write id's cgroup (v2 files) as topoguard intends it, with a process in it. */
static void put_intent(struct hx *h, const char *id)
{
	struct alloc_result r;
	char rel[128], buf[256];

	assert_int_equal(alloc_get(h->d->alloc, id, &r), 0);
	snprintf(rel, sizeof(rel), "kubepods/%s", id);
	assert_true(cpuset_format(&r.cpus, buf, sizeof(buf)) >= 0);
	put(rel, "cpuset.cpus", buf);
	assert_true(cpuset_format(&r.mems, buf, sizeof(buf)) >= 0);
	put(rel, "cpuset.mems", buf);
	if (r.quota > 0)
		snprintf(buf, sizeof(buf), "%lld %llu\n", (long long)r.quota,
			 (unsigned long long)r.period);
	else
		snprintf(buf, sizeof(buf), "max %llu\n", (unsigned long long)r.period);
	put(rel, "cpu.max", buf);
	snprintf(buf, sizeof(buf), "%llu\n",
		 (unsigned long long)kubepods_shares_to_weight(r.shares));
	put(rel, "cpu.weight", buf);
	put(rel, "cgroup.procs", "1\n");
}

static double drift(struct hx *h, const char *field)
{
	char series[128];

	snprintf(series, sizeof(series), "topoguard_drift_repaired_total{field=\"%s\"}", field);
	return hx_metric(h, series);
}

static char *answer(struct hx *h, const char *req)
{
	char *json = NULL;

	assert_int_equal(daemon_render_status(req, &json, h->d), 0);
	return json;
}

/*
 * A third party rewrites w1's cpuset (the kubelet's CPU manager, say) and g1's quota:
 * the next pass sends each its whole intent again, counts the drift per field and
 * remembers it for status and explain. What topoguard just told a container is not
 * judged before it can have landed.
 */
static void test_drift_repaired(void **state)
{
	struct hx *h = *state;
	NriPodSandbox *pw = pod_in(h, "pw"), *pg = pod_in(h, "pg");
	NriContainer *w1 = ctr_of(h, pw, "w1", (struct hx_res){.req_m = 500, .lim_m = 1000}, false);
	NriContainer *g1 = ctr_of(h, pg, "g1", GUARANTEED(2000), false);
	struct hx_runtime rt;
	struct alloc_result r;
	char want[64], *json;
	uint64_t t;

	use_tree(h);
	hx_connect(h, &rt);
	create(h, pw, w1);
	create(h, pg, g1);
	start(h, pw, w1);
	start(h, pg, g1);
	put_intent(h, "w1");
	put_intent(h, "g1");
	t = daemon_now_ns() + 2 * SEC; /* past the settle of the creations */
	daemon_reconcile_tick(h->d, t);
	assert_int_equal(h->d->rc.passes, 1);
	assert_true(drift(h, "cpus") == 0 && drift(h, "quota") == 0 && drift(h, "shares") == 0);
	assert_true(drift(h, "mems") == 0);
	put("kubepods/w1", "cpuset.cpus", "0-7\n");
	put("kubepods/g1", "cpu.max", "50000 100000\n");
	put("kubepods/g1", "cpuset.mems", "0-1\n");
	daemon_reconcile_tick(h->d, t + 10 * SEC);
	assert_true(drift(h, "cpus") == 1);
	assert_true(drift(h, "mems") == 1);
	assert_true(drift(h, "quota") == 1);
	assert_true(drift(h, "period") == 0);
	hx_exchange(h, &rt, 1);
	assert_int_equal(rt.calls, 1);
	assert_int_equal(alloc_get(h->d->alloc, "w1", &r), 0);
	assert_true(cpuset_format(&r.cpus, want, sizeof(want)) >= 0);
	assert_non_null(sent_cpus(&rt, "w1"));
	assert_string_equal(sent_cpus(&rt, "w1"), want);
	assert_non_null(sent_cpus(&rt, "g1"));
	assert_int_equal(rt.last->n_update, 2);
	assert_non_null(strstr(model_container_by_id(h->d->model, "w1")->track.drift, "cpus 0-7"));
	json = answer(h, "status");
	assert_non_null(strstr(json, "\"drift_repaired\":{\"cpus\":1,\"mems\":1,\"quota\":1"));
	assert_non_null(strstr(json, "\"last_drift\""));
	free(json);
	json = answer(h, "explain w1");
	assert_non_null(strstr(json, "last drift of its cgroup"));
	free(json);
	/* this runtime applies nothing: the next pass finds both again */
	daemon_reconcile_tick(h->d, t + 20 * SEC);
	assert_true(drift(h, "cpus") == 2 && drift(h, "quota") == 2);
	/* what topoguard told w1 half a second ago may not have landed: not judged yet */
	model_container_by_id(h->d->model, "w1")->track.told_ns = t + 30 * SEC - SEC / 2;
	daemon_reconcile_tick(h->d, t + 30 * SEC);
	assert_int_equal(h->d->rc.passes, 4);
	assert_true(drift(h, "cpus") == 2);
	assert_true(drift(h, "quota") == 3);
	hx_runtime_done(&rt);
}

/*
 * A container told something just before a pass is judged as soon as that can have
 * landed, not a whole interval later: drift lives at most one interval and a tick.
 */
static void test_drift_judged_once_settled(void **state)
{
	struct hx *h = *state;
	NriPodSandbox *pw = pod_in(h, "pw");
	NriContainer *w1 = ctr_of(h, pw, "w1", (struct hx_res){.req_m = 500}, false);
	struct hx_runtime rt;
	uint64_t t;

	use_tree(h);
	hx_connect(h, &rt);
	create(h, pw, w1);
	start(h, pw, w1);
	put_intent(h, "w1");
	t = daemon_now_ns() + 2 * SEC;
	daemon_reconcile_tick(h->d, t);
	model_container_by_id(h->d->model, "w1")->track.told_ns = t + 9 * SEC + SEC / 2;
	put("kubepods/w1", "cpuset.cpus", "0-3\n");
	daemon_reconcile_tick(h->d, t + 10 * SEC);
	assert_int_equal(h->d->rc.passes, 2);
	assert_true(drift(h, "cpus") == 0); /* what it was told may not have landed */
	daemon_reconcile_tick(h->d, t + 10 * SEC + SEC / 4);
	assert_int_equal(h->d->rc.passes, 2);
	daemon_reconcile_tick(h->d, t + 11 * SEC);
	assert_int_equal(h->d->rc.passes, 3);
	assert_true(drift(h, "cpus") == 1);
	hx_runtime_done(&rt);
}

int main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
	const struct CMUnitTest tests[] = {
		T(test_ghost_released_at_the_bound),
		T(test_started_or_post_created_is_no_ghost),
		T(test_process_in_cgroup_is_no_ghost),
		T(test_vanished_cgroup_released),
		T(test_rejected_updates),
		T(test_synchronize_created_starts_the_clock),
		T(test_ghost_after_zero_never),
		T(test_drift_repaired),
		T(test_drift_judged_once_settled),
	};
#undef T

	return cmocka_run_group_tests(tests, NULL, NULL);
}
