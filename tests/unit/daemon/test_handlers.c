/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The NRI handlers (plugin/daemon/handlers.c) on a daemon without a runtime: each
 * test calls the handlers the way the stub does and checks the reply as the runtime
 * would decode it. The machine is 8 single-thread cores, CPUs 0-7, one NUMA node
 * (handlers_fx.h). Each test names the handler mistake it exists to catch.
 */
#include "tests/unit/daemon/handlers_fx.h"
#include "plugin/daemon/live.h"
#include "plugin/daemon/model.h"

#define EXCL DAEMON_EXCLUSIVE_ANNOTATION

static NriPodSandbox *pod_in(struct hx *h, const char *id, const char *ns)
{
	return hx_pod(h, &(struct hx_pod_spec){.id = id, .ns = ns, .name = id});
}

static NriContainer *ctr_of(struct hx *h, const NriPodSandbox *pod, const char *id,
			    struct hx_res res)
{
	return hx_ctr(h, &(struct hx_ctr_spec){.id = id, .pod = pod, .res = res});
}

/* Create c and return the cpuset of its adjustment. */
static struct cpuset create_cpus(struct hx *h, const NriPodSandbox *pod, const NriContainer *c)
{
	struct view v;
	struct cpuset s;

	hx_create(h, pod, c, &v);
	s = adj_cpus(&v);
	view_done(&v);
	return s;
}

/* A Burstable w1 on the shared pool, then a Guaranteed g1 with 6 exclusive CPUs. */
static struct cpuset six_exclusive(struct hx *h, NriPodSandbox **pw, NriContainer **w1,
				   NriPodSandbox **pg, NriContainer **g1)
{
	struct cpuset s, excl;
	struct view v;

	*pw = pod_in(h, "pw", "default");
	*w1 = ctr_of(h, *pw, "w1", (struct hx_res){.req_m = 500});
	*pg = pod_in(h, "pg", "default");
	*g1 = ctr_of(h, *pg, "g1", GUARANTEED(6000));
	s = create_cpus(h, *pw, *w1);
	assert_set(&s, "0-7");
	hx_create(h, *pg, *g1, &v);
	excl = adj_cpus(&v);
	assert_int_equal(cpuset_count(&excl), 6);
	s = upd_cpus(&v, "w1"); /* the shared pool shrank to what is left */
	assert_int_equal(cpuset_count(&s), 2);
	assert_false(cpuset_intersects(&s, &excl));
	view_done(&v);
	return excl;
}

/* Class 1: StopContainer must release the CPUs and widen the shared pool in its reply. */
static void test_stop_container_releases_cpus(void **state)
{
	struct hx *h = *state;
	NriPodSandbox *pw, *pg;
	NriContainer *w1, *g1, *g2;
	struct cpuset s, pinned;
	struct view v;
	const char *excl;

	six_exclusive(h, &pw, &w1, &pg, &g1);
	hx_stop(h, pg, g1, &v);
	s = upd_cpus(&v, "w1");
	assert_set(&s, "0-7");
	view_done(&v);
	/* the freed CPUs are available to the next exclusive request */
	g2 = ctr_of(h, pg, "g2", GUARANTEED(6000));
	hx_create(h, pg, g2, &v);
	s = adj_cpus(&v);
	assert_int_equal(cpuset_count(&s), 6);
	excl = adj_annotation(&v, EXCL);
	assert_non_null(excl); /* exclusive, not a shared fallback */
	pinned = set_of(excl);
	assert_true(cpuset_equal(&s, &pinned));
	view_done(&v);
}

/* Class 2: a RemoveContainer without StopContainer sends the widened cpusets unsolicited. */
static void test_remove_without_stop_sends_freed_cpus(void **state)
{
	struct hx *h = *state;
	struct hx_runtime rt;
	NriPodSandbox *pw, *pg;
	NriContainer *w1, *g1;
	struct view v = {0};
	struct cpuset s;

	hx_connect(h, &rt);
	six_exclusive(h, &pw, &w1, &pg, &g1);
	hx_remove(h, pg, g1);
	hx_exchange(h, &rt, 1);
	assert_int_equal(rt.calls, 1);
	assert_non_null(rt.last);
	v.update = rt.last->update;
	v.n_update = rt.last->n_update;
	s = upd_cpus(&v, "w1");
	assert_set(&s, "0-7");
	hx_runtime_done(&rt);
}

/* Class 3: exclusive CPUs that do not fit fall back to the shared pool, never to the
 * runtime's default cpuset (which overlaps the others' exclusive CPUs). */
static void test_create_no_room_falls_back_to_shared(void **state)
{
	struct hx *h = *state;
	NriPodSandbox *pw, *pg;
	NriContainer *w1, *g1, *g2;
	struct cpuset excl, s, shared;
	struct view v;

	excl = six_exclusive(h, &pw, &w1, &pg, &g1);
	g2 = ctr_of(h, pg, "g2", GUARANTEED(4000));
	hx_create(h, pg, g2, &v);
	s = adj_cpus(&v);
	assert_false(cpuset_is_empty(&s));
	assert_false(cpuset_intersects(&s, &excl));
	shared = set_of("0-7");
	cpuset_andnot(&shared, &shared, &excl);
	assert_true(cpuset_equal(&s, &shared));
	/* persisted as "no exclusive CPUs", so a restart keeps it shared */
	assert_non_null(adj_annotation(&v, EXCL));
	assert_string_equal(adj_annotation(&v, EXCL), "");
	view_done(&v);
}

/* Class 4: a pinned (exclusive) container gets CFS quota -1, on create and on resize. */
static void test_exclusive_sends_quota_unlimited(void **state)
{
	struct hx *h = *state;
	NriPodSandbox *pg = pod_in(h, "pg", "default");
	NriContainer *g1 = ctr_of(h, pg, "g1", GUARANTEED(2000));
	const PB(LinuxCPU) * cpu;
	struct cpuset s;
	struct view v;

	hx_create(h, pg, g1, &v);
	cpu = adj_cpu(&v);
	assert_non_null(cpu->quota);
	assert_int_equal(cpu->quota->value, -1);
	view_done(&v);
	hx_update(h, pg, g1, &GUARANTEED(3000), &v);
	cpu = upd_cpu(&v, "g1");
	assert_non_null(cpu);
	s = set_of(cpu->cpus);
	assert_int_equal(cpuset_count(&s), 3);
	assert_non_null(cpu->quota);
	assert_int_equal(cpu->quota->value, -1);
	view_done(&v);
}

/* Class 5: shared containers with a CPU limit keep it as quota/period in the reply. */
static void test_shared_sends_quota(void **state)
{
	struct hx *h = *state;
	NriPodSandbox *pb = pod_in(h, "pb", "default"), *pg = pod_in(h, "pg", "default");
	NriContainer *b1 = ctr_of(h, pb, "b1", (struct hx_res){.req_m = 500, .lim_m = 1500});
	NriContainer *g1 = ctr_of(h, pg, "g1", GUARANTEED(500));
	const PB(LinuxCPU) * cpu;
	struct view v;

	hx_create(h, pb, b1, &v);
	cpu = adj_cpu(&v);
	assert_non_null(cpu->quota);
	assert_int_equal(cpu->quota->value, 150000);
	assert_non_null(cpu->period);
	assert_int_equal(cpu->period->value, 100000);
	view_done(&v);
	hx_create(h, pg, g1, &v); /* Guaranteed but fractional: shared, limited */
	cpu = adj_cpu(&v);
	assert_non_null(cpu->quota);
	assert_int_equal(cpu->quota->value, 50000);
	assert_string_equal(adj_annotation(&v, EXCL), "");
	view_done(&v);
}

/* A running container as Synchronize reports it. */
static NriContainer *running(struct hx *h, const NriPodSandbox *pod, const char *id,
			     struct hx_res res, const char *persisted)
{
	char *ann = NULL;

	if (persisted) {
		ann = hx_alloc(h, 300);
		snprintf(ann, 300, "%s=%s", EXCL, persisted);
	}
	return hx_ctr(h, &(struct hx_ctr_spec){
				 .id = id, .pod = pod, .res = res, .ann = {ann}, .running = true});
}

/*
 * Class 6, exclusive: the persisted exclusive-cpus annotation is what a restore
 * trusts when the runtime reports creation-time cpusets (CRI-O after its restart) or
 * a Guaranteed container that ran shared.
 */
static void test_synchronize_restores_exclusive_annotation(void **state)
{
	struct hx *h = *state;
	NriPodSandbox *pods[2] = {pod_in(h, "pg", "default"), pod_in(h, "pw", "default")};
	struct hx_res g = GUARANTEED(2000), w = {.req_m = 500, .cpus = "0-5"};
	NriContainer *ctrs[3];
	struct cpuset s;
	struct view v;

	ctrs[0] = running(h, pods[0], "g1", g, "6-7"); /* cpuset unknown: only the annotation */
	g.cpus = "0-5";
	ctrs[1] = running(h, pods[0], "g2", g, ""); /* fell back to shared at creation */
	ctrs[2] = running(h, pods[1], "w1", w, NULL);
	hx_sync(h, pods, 2, ctrs, 3, &v);
	s = upd_cpus(&v, "g1");
	assert_set(&s, "6-7");
	/* nothing valid moves: the others are re-asserted where they are */
	s = upd_cpus(&v, "g2");
	assert_set(&s, "0-5");
	s = upd_cpus(&v, "w1");
	assert_set(&s, "0-5");
	assert_int_equal(v.n_update, 3);
	view_done(&v);
}

/* Class 6, mixed: the exclusive part of a mixed container cannot be told from its
 * cpuset (exclusive + shared pool); only the annotation says which CPUs it owns. */
static void test_synchronize_restores_mixed_annotation(void **state)
{
	struct hx *h = *state;
	NriPodSandbox *pods[1] = {pod_in(h, "pm", "default")};
	struct hx_res m = GUARANTEED(2500);
	NriContainer *ctrs[1], *g3;
	struct alloc_result r;
	struct cpuset s;
	struct view v;

	m.cpus = "0-7";
	ctrs[0] = running(h, pods[0], "m1", m, "6-7");
	hx_sync(h, pods, 1, ctrs, 1, &v);
	s = upd_cpus(&v, "m1"); /* re-asserted, not moved */
	assert_set(&s, "0-7");
	assert_int_equal(v.n_update, 1);
	view_done(&v);
	assert_int_equal(alloc_get(h->d->alloc, "m1", &r), 0);
	assert_set(&r.exclusive, "6-7");
	/* a new exclusive container must not get m1's CPUs, and m1 keeps them */
	g3 = ctr_of(h, pods[0], "g3", GUARANTEED(2000));
	hx_create(h, pods[0], g3, &v);
	s = adj_cpus(&v);
	assert_int_equal(cpuset_count(&s), 2);
	assert_false(cpuset_intersects(&s, &r.exclusive));
	s = upd_cpus(&v, "m1");
	assert_true(cpuset_is_subset(&r.exclusive, &s));
	view_done(&v);
}

/* Pod "pk" (name "keep") that asks to keep its containers' cpuset.mems. */
static NriPodSandbox *preserving_pod(struct hx *h)
{
	return hx_pod(h, &(struct hx_pod_spec){.id = "pk",
					       .ns = "default",
					       .name = "keep",
					       .ann = {"memory.preserve.topoguard.io=true"}});
}

/* Class 7: memory.preserve leaves cpuset.mems alone, on create and on update. */
static void test_memory_preserve_leaves_mems(void **state)
{
	struct hx *h = *state;
	NriPodSandbox *keep = preserving_pod(h);
	NriPodSandbox *pin = pod_in(h, "pp", "default");
	NriContainer *k1 = ctr_of(h, keep, "k1", (struct hx_res){.req_m = 500});
	NriContainer *p1 = ctr_of(h, pin, "p1", (struct hx_res){.req_m = 500});
	const PB(LinuxCPU) * cpu;
	struct view v;

	hx_create(h, pin, p1, &v); /* the control: mems are pinned by default */
	assert_string_equal(adj_cpu(&v)->mems, "0");
	view_done(&v);
	hx_create(h, keep, k1, &v);
	assert_string_equal(adj_cpu(&v)->mems, "");
	view_done(&v);
	hx_update(h, keep, k1, &(struct hx_res){.req_m = 700}, &v);
	cpu = upd_cpu(&v, "k1");
	assert_non_null(cpu);
	assert_string_equal(cpu->mems, "");
	view_done(&v);
}

/* Class 8: annotations.enabled: false ignores every annotation (and refuses none). */
static void test_annotations_disabled_ignores_them(void **state)
{
	struct hx *h = *state;
	NriPodSandbox *pg;
	NriContainer *g1;
	struct cpuset s;
	struct view v;

	hx_restart(h, "annotations:\n  enabled: false\n");
	pg = hx_pod(h, &(struct hx_pod_spec){.id = "pg",
					     .ns = "default",
					     .name = "db",
					     .ann = {"exclusive-cpus.topoguard.io=false",
						     "memory.preserve.topoguard.io=true",
						     "exclusiv-cpus.topoguard.io=true"}});
	g1 = ctr_of(h, pg, "g1", GUARANTEED(2000));
	hx_create(h, pg, g1, &v);
	s = set_of(adj_annotation(&v, EXCL));
	assert_int_equal(cpuset_count(&s), 2); /* exclusive after all */
	assert_string_equal(adj_cpu(&v)->mems, "0");
	view_done(&v);
	assert_true(hx_metric(h, "topoguard_annotations_refused_total") == 0);
}

/* Class 9: a Synchronize whose restore fails is counted as an error, not a success. */
static void test_synchronize_failed_restore_counts_error(void **state)
{
	struct hx *h = *state;
	NriPodSandbox *pods[1] = {pod_in(h, "pw", "default")};
	NriContainer *ctrs[2], *w1 = ctr_of(h, pods[0], "w1", (struct hx_res){.req_m = 500});
	char *long_id = hx_alloc(h, ALLOC_ID_MAX + 10);
	struct alloc_result r;
	struct view v;

	hx_create(h, pods[0], w1, &v);
	view_done(&v);
	memset(long_id, 'x', ALLOC_ID_MAX + 1); /* the policy refuses such an id */
	ctrs[0] = running(h, pods[0], "w1", (struct hx_res){.req_m = 500, .cpus = "0-7"}, NULL);
	ctrs[1] = running(h, pods[0], long_id, (struct hx_res){.req_m = 500}, NULL);
	hx_sync(h, pods, 1, ctrs, 2, &v);
	assert_int_equal(v.n_update, 0);
	view_done(&v);
	assert_true(
		hx_metric(
			h,
			"topoguard_nri_requests_total{method=\"Synchronize\",result=\"error\"}") ==
		1);
	assert_true(
		hx_metric(h,
			  "topoguard_nri_requests_total{method=\"Synchronize\",result=\"ok\"}") <=
		0);
	assert_true(hx_metric(h, "topoguard_ready") <= 0);
	assert_false(h->d->synchronized);
	assert_int_equal(alloc_get(h->d->alloc, "w1", &r), 0); /* the old state stays */
}

/* Class 10: the io.kubernetes.pod.namespace label wins over the NRI namespace field. */
static void test_pod_namespace_label_wins(void **state)
{
	struct hx *h = *state;
	NriPodSandbox *pod;
	NriContainer *c;
	struct cpuset s;

	hx_restart(h, "reserved:\n  cpus: \"0\"\n");
	pod = hx_pod(h, &(struct hx_pod_spec){.id = "ps",
					      .ns = "default",
					      .name = "proxy",
					      .label_ns = "kube-system"});
	c = ctr_of(h, pod, "k1", (struct hx_res){.req_m = 100});
	s = create_cpus(h, pod, c);
	assert_set(&s, "0"); /* kube-system runs on the reserved CPUs */
}

/* The info series is published under the label's namespace: stop and remove must drop
 * that one, not a series named after the NRI field that was never published. */
static void test_stop_and_remove_forget_info_under_label_namespace(void **state)
{
	static const char series[] =
		"topoguard_container_info{namespace=\"kube-system\",pod=\"proxy\"";
	struct hx *h = *state;
	NriPodSandbox *pod = hx_pod(h, &(struct hx_pod_spec){.id = "ps",
							     .ns = "default",
							     .name = "proxy",
							     .label_ns = "kube-system"});
	NriContainer *k1 = ctr_of(h, pod, "k1", (struct hx_res){.req_m = 100});
	NriContainer *k2 = ctr_of(h, pod, "k2", (struct hx_res){.req_m = 100});
	struct view v;

	hx_create(h, pod, k1, &v);
	view_done(&v);
	hx_create(h, pod, k2, &v);
	view_done(&v);
	assert_int_equal(hx_series(h, series), 2);
	hx_stop(h, pod, k1, &v);
	view_done(&v);
	assert_int_equal(hx_series(h, series), 1);
	hx_remove(h, pod, k2); /* no stop seen */
	assert_int_equal(hx_series(h, series), 0);
}

/* Before a Synchronize or a node restore, a Guaranteed container gets no exclusive CPU. */
static void test_unknown_state_gives_no_exclusive_cpus(void **state)
{
	struct hx *h = *state;
	NriPodSandbox *pg = pod_in(h, "pg", "default");
	NriContainer *g1 = ctr_of(h, pg, "g1", GUARANTEED(2000));
	struct cpuset s;
	struct view v;

	h->d->state_known = false;
	h->d->node_restore_tried = true; /* no node to restore from in a unit test */
	hx_create(h, pg, g1, &v);
	s = adj_cpus(&v);
	assert_set(&s, "0-7");
	assert_string_equal(adj_annotation(&v, EXCL), "");
	view_done(&v);
}

/*
 * A quota the closed loop imposed stays in every later update of that container: a
 * shared-pool move carries the throttle, not the policy's quota.
 */
static void test_moves_carry_the_closed_loop_quota(void **state)
{
	struct hx *h = *state;
	NriPodSandbox *pw = pod_in(h, "pw", "default"), *pg = pod_in(h, "pg", "default");
	NriContainer *w1 = ctr_of(h, pw, "w1", (struct hx_res){.req_m = 500, .lim_m = 2000});
	NriContainer *g1 = ctr_of(h, pg, "g1", GUARANTEED(2000));
	struct model_container *mc;
	const PB(LinuxCPU) * cpu;
	struct view v;

	hx_create(h, pw, w1, &v);
	view_done(&v);
	mc = model_container_by_id(h->d->model, "w1");
	assert_non_null(mc);
	mc->ctl_quota = 30000; /* as control.c records a throttle */
	mc->ctl_period = 100000;
	hx_create(h, pg, g1, &v);
	cpu = upd_cpu(&v, "w1");
	assert_non_null(cpu);
	assert_non_null(cpu->quota);
	assert_int_equal(cpu->quota->value, 30000);
	view_done(&v);
	mc->ctl_quota = 0; /* restored: the policy's quota again */
	hx_stop(h, pg, g1, &v);
	cpu = upd_cpu(&v, "w1");
	assert_non_null(cpu);
	assert_int_equal(cpu->quota->value, 200000);
	view_done(&v);
}

/*
 * A reply that moves every shared container formats the shared pool's sets once and
 * hands them to each plain one (daemon_batch_resources()). The containers that are
 * not plain keep sets of their own: a wide Burstable also the reserved CPU, a
 * memory.preserve one no mems, and neither may leak into the next update. Each keeps
 * its own quota.
 */
static void test_moved_containers_each_get_their_own_sets(void **state)
{
	struct hx *h = *state;
	NriPodSandbox *keep = preserving_pod(h);
	NriPodSandbox *pw = pod_in(h, "pw", "default"), *pg = pod_in(h, "pg", "default");
	NriContainer *k1 = ctr_of(h, keep, "k1", (struct hx_res){.req_m = 500, .lim_m = 1000});
	NriContainer *p1 = ctr_of(h, pw, "p1", (struct hx_res){.req_m = 500, .lim_m = 2000});
	NriContainer *wide = ctr_of(h, pw, "wide", (struct hx_res){.req_m = 500});
	NriContainer *g1 = ctr_of(h, pg, "g1", GUARANTEED(4000));
	static const struct {
		const char *id, *cpus, *mems;
		int64_t quota;
	} want[] = {
		{"k1", "5-7", "", 100000}, {"p1", "5-7", "0", 200000}, {"wide", "0,5-7", "0", -1}};
	const PB(LinuxCPU) * cpu;
	struct cpuset excl;
	struct view v;

	hx_restart(h, "reserved:\n  cpus: \"0\"\npinning:\n  burstable_unlimited_wide: true\n");
	create_cpus(h, keep, k1);
	create_cpus(h, pw, p1);
	create_cpus(h, pw, wide);
	hx_create(h, pg, g1, &v);
	excl = adj_cpus(&v);
	assert_set(&excl, "1-4"); /* CPU 0 is reserved: the shared pool keeps 5-7 */
	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		cpu = upd_cpu(&v, want[i].id);
		if (!cpu)
			fail_msg("no update of %s", want[i].id);
		assert_string_equal(cpu->cpus, want[i].cpus);
		assert_string_equal(cpu->mems, want[i].mems);
		assert_non_null(cpu->quota);
		assert_int_equal(cpu->quota->value, want[i].quota);
	}
	view_done(&v);
}

/*
 * Class 11: a Synchronize re-asserts every container's whole intent, also where the
 * runtime's report already matches it: CRI-O 1.26 reports creation-time resources
 * after its restart while the kernel holds later updates (issue 19), so a report that
 * looks right proves nothing. memory.preserve still leaves cpuset.mems alone.
 */
static void test_synchronize_reasserts_every_container(void **state)
{
	struct hx *h = *state;
	NriPodSandbox *pods[2] = {
		pod_in(h, "pw", "default"),
		hx_pod(h, &(struct hx_pod_spec){.id = "pk",
						.ns = "default",
						.name = "keep",
						.ann = {"memory.preserve.topoguard.io=true"}})};
	NriContainer *ctrs[2];
	const PB(LinuxCPU) * cpu;
	struct view v;

	ctrs[0] = running(h, pods[0], "w1",
			  (struct hx_res){.req_m = 500, .lim_m = 1000, .cpus = "0-7"}, NULL);
	ctrs[1] = running(h, pods[1], "k1", (struct hx_res){.req_m = 500, .cpus = "0-7"}, NULL);
	hx_sync(h, pods, 2, ctrs, 2, &v);
	assert_int_equal(v.n_update, 2);
	cpu = upd_cpu(&v, "w1");
	assert_non_null(cpu);
	assert_string_equal(cpu->cpus, "0-7");
	assert_string_equal(cpu->mems, "0");
	assert_non_null(cpu->quota);
	assert_int_equal(cpu->quota->value, 100000);
	assert_non_null(cpu->shares);
	assert_int_equal(cpu->shares->value, 512);
	cpu = upd_cpu(&v, "k1");
	assert_non_null(cpu);
	assert_string_equal(cpu->mems, "");
	view_done(&v);
}

/*
 * Class 12: an unsolicited update still unanswered reaches the runtime after the next
 * reply (it waits for the runtime's NRI lock), and would undo what that reply moves:
 * the reply's moves go out once more, after it. Here RemoveContainer without a stop
 * widens w1 to all CPUs unsolicited; the CreateContainer that follows squeezes it again
 * in its reply. The last word the runtime gets for w1 must be the squeezed set.
 */
static void test_reply_outruns_pending_unsolicited_update(void **state)
{
	struct hx *h = *state;
	NriPodSandbox *pw = pod_in(h, "pw", "default"), *pg = pod_in(h, "pg", "default");
	NriContainer *w1 = ctr_of(h, pw, "w1", (struct hx_res){.req_m = 500});
	NriContainer *g1 = ctr_of(h, pg, "g1", GUARANTEED(2000));
	NriContainer *g2 = ctr_of(h, pg, "g2", GUARANTEED(4000));
	struct hx_runtime rt;
	struct cpuset squeezed;
	struct view v;

	hx_connect(h, &rt);
	hx_create(h, pw, w1, &v);
	view_done(&v);
	hx_create(h, pg, g1, &v);
	view_done(&v);
	hx_remove(h, pg, g1); /* queues w1 = 0-7 */
	assert_int_equal(nri_stub_updates_pending(h->d->stub), 1);
	hx_create(h, pg, g2, &v);
	squeezed = upd_cpus(&v, "w1");
	assert_int_equal(cpuset_count(&squeezed), 4);
	view_done(&v);
	assert_int_equal(nri_stub_updates_pending(h->d->stub), 2);
	hx_exchange(h, &rt, 2);
	assert_int_equal(rt.calls, 2);
	assert_set(&squeezed, rt.last->update[0]->linux_->resources->cpu->cpus);
	hx_runtime_done(&rt);
}

/*
 * Class 13: direct actuation (NRI before v0.12.1, containerd#13733) never sends an
 * unsolicited update. A RemoveContainer without a stop owes w1 its widened cpuset
 * (written to its cgroup, which this machine does not have); the runtime learns it from
 * the reply to its next request that can carry updates, a CreateContainer here.
 */
static void test_direct_actuation_owes_the_next_reply(void **state)
{
	struct hx *h = *state;
	struct hx_runtime rt;
	NriPodSandbox *pw, *pg;
	NriContainer *w1, *g1, *w2;
	struct cpuset s;
	struct view v;

	hx_restart(h, "actuation: direct\n");
	hx_connect(h, &rt);
	assert_int_equal(daemon_actuation(h->d), DAEMON_ACTUATION_DIRECT); /* despite v0.12.2 */
	six_exclusive(h, &pw, &w1, &pg, &g1);
	hx_remove(h, pg, g1);
	hx_exchange(h, &rt, 0);
	nri_trunk_run_once(rt.t, 200);
	assert_int_equal(rt.calls, 0); /* nothing unsolicited */
	assert_int_equal(nri_stub_updates_pending(h->d->stub), 0);
	assert_int_equal(h->d->n_owed, 1);
	assert_true(h->d->direct_writes >= 1);
	w2 = ctr_of(h, pw, "w2", (struct hx_res){.req_m = 250});
	hx_create(h, pw, w2, &v);
	s = upd_cpus(&v, "w1"); /* the owed update rides on the reply */
	assert_set(&s, "0-7");
	view_done(&v);
	assert_int_equal(h->d->n_owed, 0);
	assert_int_equal(h->d->owed_settled, 1);
	hx_create(h, pw, ctr_of(h, pw, "w3", (struct hx_res){.req_m = 250}), &v);
	assert_null(upd_cpu(&v, "w1")); /* settled: not repeated */
	view_done(&v);
	hx_runtime_done(&rt);
}

/*
 * Which containers make the daemon attach the BPF programs (plugin/daemon/live.c):
 * one with exclusive CPUs, one annotated latency-sensitive; not a plain Burstable one.
 * The attach itself follows these decisions (tests/unit/bpf/test_usage.c).
 */
static void test_live_wants_bpf_for_exclusive_and_latency_sensitive(void **state)
{
	struct hx *h = *state;
	NriPodSandbox *pw, *pg, *pl;
	NriContainer *w1, *g1, *l1;

	six_exclusive(h, &pw, &w1, &pg, &g1);
	pl = hx_pod(h, &(struct hx_pod_spec){.id = "pl",
					     .ns = "default",
					     .name = "pl",
					     .ann = {"latency-target-us.topoguard.io=500"}});
	l1 = ctr_of(h, pl, "l1", (struct hx_res){.req_m = 500});
	create_cpus(h, pl, l1);
	assert_true(daemon_live_wants_bpf(h->d, model_container_by_id(h->d->model, "g1"), true));
	assert_false(daemon_live_wants_bpf(h->d, model_container_by_id(h->d->model, "w1"), false));
	assert_true(daemon_live_wants_bpf(h->d, model_container_by_id(h->d->model, "l1"), false));
}

/* A pod with pod-level resources res (KEP-2837) in the sandbox, Guaranteed by its
 * cgroup parent. */
static NriPodSandbox *podlevel_pod(struct hx *h, const char *id, struct hx_res res)
{
	NriPodSandbox *p = pod_in(h, id, "default");
	PB(LinuxPodSandbox) *lx = hx_alloc(h, sizeof(*lx));

	*lx = (PB(LinuxPodSandbox))NRI__PKG__API__V1ALPHA1__LINUX_POD_SANDBOX__INIT;
	lx->pod_resources = hx_res(h, &res);
	lx->cgroup_parent = (char *)"/kubepods/poduid-pp";
	p->linux_ = lx;
	return p;
}

/* A running container of pp as a runtime reports it after topoguard shared the pod's 2
 * CPUs between two containers: 1 CPU of shares, the pod's 2 CPUs of quota. */
static NriContainer *shared_budget(struct hx *h, const NriPodSandbox *pp, const char *id,
				   bool marked)
{
	struct hx_res res = {.req_m = 1000, .lim_m = 2000, .cpus = "0-7"};

	return hx_ctr(h, &(struct hx_ctr_spec){
				 .id = id,
				 .pod = pp,
				 .res = res,
				 .ann = {marked ? MODEL_POD_BUDGET_ANNOTATION "=true" : NULL},
				 .running = true});
}

/*
 * Pod-level resources: containers without requests are sized from the pod's budget, and
 * marked so that a restarted daemon does not take topoguard's shares and quota for their
 * own (unmarked, each would pass for Guaranteed with 1 exclusive CPU).
 */
static void test_pod_budget_marked_for_a_restart(void **state)
{
	struct hx *h = *state;
	NriPodSandbox *pp = podlevel_pod(h, "pp", GUARANTEED(2000));
	NriContainer *a1 = ctr_of(h, pp, "a1", (struct hx_res){0});
	NriContainer *a2 = ctr_of(h, pp, "a2", (struct hx_res){0});
	NriContainer *ctrs[2];
	struct alloc_request req;
	struct alloc_result r;
	struct cpuset s;
	struct view v;

	hx_create(h, pp, a1, &v); /* alone: the pod's 2 CPUs, exclusive */
	s = adj_cpus(&v);
	assert_int_equal(cpuset_count(&s), 2);
	assert_string_equal(adj_annotation(&v, MODEL_POD_BUDGET_ANNOTATION), "true");
	view_done(&v);
	hx_create(h, pp, a2, &v); /* two: they share the budget, a1 moves back */
	s = upd_cpus(&v, "a1");
	assert_set(&s, "0-7");
	s = adj_cpus(&v);
	assert_set(&s, "0-7");
	view_done(&v);
	assert_int_equal(alloc_get_request(h->d->alloc, "a1", &req), 0);
	assert_int_equal(req.qos, QOS_BURSTABLE);
	assert_int_equal(req.cpu_request_mcpu, 1000);
	assert_int_equal(req.cpu_limit_mcpu, 2000);

	for (int marked = 0; marked < 2; marked++) {
		hx_restart(h, "");
		ctrs[0] = shared_budget(h, pp, "a1", marked);
		ctrs[1] = shared_budget(h, pp, "a2", marked);
		hx_sync(h, &pp, 1, ctrs, 2, &v);
		view_done(&v);
		assert_int_equal(alloc_get(h->d->alloc, "a1", &r), 0);
		assert_int_equal(cpuset_is_empty(&r.exclusive), marked);
		assert_int_equal(alloc_get_request(h->d->alloc, "a2", &req), 0);
		assert_int_equal(req.qos, marked ? QOS_BURSTABLE : QOS_GUARANTEED);
		assert_int_equal(req.cpu_request_mcpu, 1000);
	}
}

/*
 * The resources annotation tells a Burstable pod's pod-level CPU from its containers'
 * sum, and annotations.enabled: false turns it off like every pod annotation.
 */
static void test_resources_annotation_needs_annotations_enabled(void **state)
{
	struct hx *h = *state;
	NriPodSandbox *pb = hx_pod(
		h, &(struct hx_pod_spec){
			   .id = "pb",
			   .ns = "default",
			   .name = "pb",
			   .ann = {"noderesource.dev/resources={\"containers\":{\"b1\":{}}}"}});
	PB(LinuxPodSandbox) *lx = hx_alloc(h, sizeof(*lx));
	NriContainer *b1 = ctr_of(h, pb, "b1", (struct hx_res){0});
	struct view v;

	*lx = (PB(LinuxPodSandbox))NRI__PKG__API__V1ALPHA1__LINUX_POD_SANDBOX__INIT;
	lx->pod_resources = hx_res(h, &(struct hx_res){.req_m = 2000});
	lx->cgroup_parent = (char *)"/kubepods/burstable/poduid-pb";
	pb->linux_ = lx;
	for (int enabled = 0; enabled < 2; enabled++) {
		hx_restart(h, enabled ? "" : "annotations:\n  enabled: false\n");
		hx_create(h, pb, b1, &v);
		assert_non_null(adj_cpu(&v));
		assert_non_null(adj_cpu(&v)->shares);
		assert_int_equal(adj_cpu(&v)->shares->value, enabled ? 2048 : 2);
		view_done(&v);
	}
}

int main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, hx_setup, hx_teardown)
	const struct CMUnitTest tests[] = {
		T(test_stop_container_releases_cpus),
		T(test_remove_without_stop_sends_freed_cpus),
		T(test_create_no_room_falls_back_to_shared),
		T(test_exclusive_sends_quota_unlimited),
		T(test_shared_sends_quota),
		T(test_synchronize_restores_exclusive_annotation),
		T(test_synchronize_restores_mixed_annotation),
		T(test_memory_preserve_leaves_mems),
		T(test_annotations_disabled_ignores_them),
		T(test_synchronize_failed_restore_counts_error),
		T(test_pod_namespace_label_wins),
		T(test_stop_and_remove_forget_info_under_label_namespace),
		T(test_unknown_state_gives_no_exclusive_cpus),
		T(test_moves_carry_the_closed_loop_quota),
		T(test_moved_containers_each_get_their_own_sets),
		T(test_synchronize_reasserts_every_container),
		T(test_reply_outruns_pending_unsolicited_update),
		T(test_live_wants_bpf_for_exclusive_and_latency_sensitive),
		T(test_direct_actuation_owes_the_next_reply),
		T(test_pod_budget_marked_for_a_restart),
		T(test_resources_annotation_needs_annotations_enabled),
	};
#undef T

	return cmocka_run_group_tests(tests, NULL, NULL);
}
