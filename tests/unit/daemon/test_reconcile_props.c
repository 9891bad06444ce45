/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Property test of reconciliation with the node (plugin/daemon/reconcile.c): the real
 * daemon (daemon_new_offline, handlers_fx.h: 8 single-thread cores) against a runtime
 * played here, whose kernel is a fake cgroup tree (cgroup2 files) and whose clock is
 * virtual. Random operations, seeded (RECONCILE_PROPS_SEED to replay one):
 *
 *   create     CreateContainer; a quarter become ghosts (CRI-O 1.26: the creation fails
 *              after the NRI call, no cgroup, no Stop or Remove, updates naming it fail);
 *              the others get a cgroup with runc's init process in it
 *   start      StartContainer of a created one
 *   stop       StopContainer, later RemoveContainer (the cgroup goes)
 *   vanish     a running container's cgroup disappears and no event says so
 *   drift      a third party writes a cgroup: cpuset, CFS quota or weight
 *   time       the clock advances; the daemon's 250 ms tick runs at every step
 *
 * The runtime applies everything topoguard tells it at once (adjustments, the updates
 * in replies, unsolicited updates), writing the fields an update names.
 *
 * After every step:
 *   1. no exclusive CPU is reserved for a container that does not run, beyond the
 *      bounds: a ghost keeps its CPUs at most reconcile.ghost_after (+ one tick) after
 *      its creation, a vanished container at most one reconcile.interval (+ one tick)
 *      after its cgroup went; a stopped or removed one never;
 *   2. convergence: every cgroup of a placed container holds what topoguard intends
 *      (cpuset, quota, weight) unless a third party wrote it less than one
 *      reconcile.interval (+ one tick) ago;
 *   3. placed containers' exclusive CPUs are disjoint.
 */
#include <inttypes.h>
#include <sys/stat.h>
#include <unistd.h>

#include "plugin/host/kubepods.h"
#include "tests/unit/daemon/handlers_fx.h"

#define MS	    1000000ull
#define SEC	    (1000 * MS)
#define TICK	    (250 * MS) /* DAEMON_RECONCILE_TICK_MS */
#define INTERVAL    (10 * SEC) /* the defaults */
#define GHOST_AFTER (30 * SEC)
#define SLOTS	    12
#define STEPS	    1500

enum pstate { P_NONE, P_CREATED, P_RUNNING, P_STOPPED, P_GHOST, P_VANISHED };

/* What the runtime (and its kernel) knows of one container. */
struct pslot {
	enum pstate st;
	char id[16];
	NriPodSandbox *pod;
	NriContainer *ctr;
	uint64_t t_created, t_gone, t_drift; /* t_drift 0: never drifted */
	/* the cgroup's files, mirrored (P_CREATED, P_RUNNING, P_STOPPED have one) */
	char cpus[64];
	int64_t quota; /* -1 = max */
	uint64_t period, weight;
};

struct prop {
	struct hx *h;
	struct hx_runtime rt;
	struct pslot s[SLOTS];
	uint64_t rng, now;
	int next_id;
	unsigned int n_ghosts, n_drifts, n_vanish, n_steps;
	char root[64];
};

static uint32_t rnd(struct prop *p, uint32_t n)
{
	p->rng = p->rng * 6364136223846793005ull + 1442695040888963407ull;
	return (uint32_t)(p->rng >> 33) % n;
}

/* ---- the runtime's kernel ---------------------------------------------------------- */

static void k_write(struct prop *p, const struct pslot *s)
{
	char dir[256], path[300], buf[96];
	const char *files[3] = {"cpuset.cpus", "cpu.max", "cpu.weight"};
	FILE *f;

	snprintf(dir, sizeof(dir), "%s/kubepods/%s", p->root, s->id);
	mkdir(dir, 0755);
	for (int i = 0; i < 3; i++) {
		if (i == 0)
			snprintf(buf, sizeof(buf), "%s\n", s->cpus);
		else if (i == 1 && s->quota > 0)
			snprintf(buf, sizeof(buf), "%" PRId64 " %" PRIu64 "\n", s->quota,
				 s->period);
		else if (i == 1)
			snprintf(buf, sizeof(buf), "max %" PRIu64 "\n", s->period);
		else
			snprintf(buf, sizeof(buf), "%" PRIu64 "\n", s->weight);
		snprintf(path, sizeof(path), "%s/%s", dir, files[i]);
		f = fopen(path, "w");
		assert_non_null(f);
		fputs(buf, f);
		fclose(f);
	}
}

static void k_procs(struct prop *p, const struct pslot *s, const char *procs)
{
	char path[300];
	FILE *f;

	snprintf(path, sizeof(path), "%s/kubepods/%s/cgroup.procs", p->root, s->id);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs(procs, f);
	fclose(f);
}

static void k_remove(struct prop *p, const struct pslot *s)
{
	static const char *const files[] = {"cpuset.cpus", "cpu.max", "cpu.weight", "cgroup.procs"};
	char dir[256], path[300];

	snprintf(dir, sizeof(dir), "%s/kubepods/%s", p->root, s->id);
	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s", dir, files[i]);
		unlink(path);
	}
	assert_int_equal(rmdir(dir), 0);
}

static bool has_cgroup(const struct pslot *s)
{
	return s->st == P_CREATED || s->st == P_RUNNING || s->st == P_STOPPED;
}

static struct pslot *slot_of(struct prop *p, const char *id)
{
	for (int i = 0; i < SLOTS; i++)
		if (p->s[i].st != P_NONE && !strcmp(p->s[i].id, id))
			return &p->s[i];
	return NULL;
}

/* The fields an update names, as runc writes them. */
static void k_apply(struct prop *p, struct pslot *s, const PB(LinuxResources) * r)
{
	const PB(LinuxCPU) *c = r ? r->cpu : NULL;

	if (!c || !has_cgroup(s))
		return;
	if (c->cpus && *c->cpus)
		snprintf(s->cpus, sizeof(s->cpus), "%s", c->cpus);
	if (c->quota)
		s->quota = c->quota->value > 0 ? c->quota->value : -1;
	if (c->period && c->period->value)
		s->period = c->period->value;
	if (c->shares)
		s->weight = kubepods_shares_to_weight(c->shares->value);
	k_write(p, s);
}

/* Updates in a reply or an UpdateContainers; a ghost's fail (failed may be NULL). */
static void k_updates(struct prop *p, PB(ContainerUpdate) *const *u, size_t n, bool *failed)
{
	for (size_t i = 0; i < n; i++) {
		struct pslot *s = slot_of(p, u[i]->container_id);

		if (s && s->st == P_GHOST && failed)
			failed[i] = !u[i]->ignore_failure;
		if (s && u[i]->linux_)
			k_apply(p, s, u[i]->linux_->resources);
	}
}

static void rt_apply(const PB(UpdateContainersRequest) * m, bool *failed, void *ud)
{
	k_updates(ud, m->update, m->n_update, failed);
}

/* Let the daemon's stub send what it queued and take the answers, until quiet. */
static void flush(struct prop *p)
{
	struct nri_stub *stub = p->h->d->stub;

	for (int i = 0; i < 20 && (stub->n_queue || stub->n_inflight); i++) {
		int before = p->rt.calls;

		assert_int_equal(nri_stub_wait(stub), 0);
		for (int j = 0; j < 50 && stub->n_inflight && p->rt.calls == before; j++)
			nri_trunk_run_once(p->rt.t, 20);
		nri_trunk_run_once(p->rt.t, 0);
	}
	assert_int_equal(stub->n_queue, 0);
}

/* ---- operations -------------------------------------------------------------------- */

static struct hx_res kind_res(struct prop *p)
{
	switch (rnd(p, 5)) {
	case 0:
		return GUARANTEED(1000);
	case 1:
		return GUARANTEED(2000);
	case 2:
		return GUARANTEED(1500); /* mixed: exclusive and shared */
	case 3:
		return (struct hx_res){.req_m = 250 + 250 * (int64_t)rnd(p, 3), .lim_m = 2000};
	default:
		return (struct hx_res){.req_m = 500};
	}
}

static void op_create(struct prop *p, struct pslot *s)
{
	struct hx *h = p->h;
	char *path = hx_alloc(h, 64), *pid = hx_alloc(h, 16), *cid = hx_alloc(h, 16);
	struct view v;

	*s = (struct pslot){.st = P_CREATED, .period = 100000, .quota = -1};
	snprintf(s->id, sizeof(s->id), "c%d", p->next_id++);
	snprintf(cid, 16, "%s", s->id);
	snprintf(pid, 16, "p%s", s->id);
	s->pod = hx_pod(h, &(struct hx_pod_spec){.id = pid, .ns = "default", .name = pid});
	s->ctr = hx_ctr(h, &(struct hx_ctr_spec){.id = cid, .pod = s->pod, .res = kind_res(p)});
	snprintf(path, 64, "/kubepods/%s", s->id);
	s->ctr->linux_->cgroups_path = path;
	s->t_created = p->now;
	if (rnd(p, 4) == 0) { /* the runtime forgets it right after the NRI call */
		s->st = P_GHOST;
		p->n_ghosts++;
	} else { /* runc creates the cgroup, its init process waits in it */
		snprintf(s->cpus, sizeof(s->cpus), "0-7");
		k_write(p, s);
		k_procs(p, s, "1\n");
	}
	hx_create(h, s->pod, s->ctr, &v);
	if (v.adjust && v.adjust->linux_)
		k_apply(p, s, v.adjust->linux_->resources);
	k_updates(p, v.update, v.n_update, NULL);
	view_done(&v);
}

static void op_start(struct prop *p, struct pslot *s)
{
	assert_int_equal(daemon_handlers.start_container(NULL, s->pod, s->ctr, p->h->d), 0);
	s->st = P_RUNNING;
}

static void op_stop(struct prop *p, struct pslot *s)
{
	struct view v;

	hx_stop(p->h, s->pod, s->ctr, &v);
	k_updates(p, v.update, v.n_update, NULL);
	view_done(&v);
	k_procs(p, s, "");
	s->st = P_STOPPED;
}

static void op_remove(struct prop *p, struct pslot *s)
{
	hx_remove(p->h, s->pod, s->ctr);
	if (has_cgroup(s))
		k_remove(p, s);
	s->st = P_NONE;
}

/* A third party writes one file of s's cgroup. */
static void op_drift(struct prop *p, struct pslot *s)
{
	switch (rnd(p, 3)) {
	case 0:
		snprintf(s->cpus, sizeof(s->cpus), "%u-%u", rnd(p, 4), 4 + rnd(p, 4));
		break;
	case 1:
		s->quota = rnd(p, 2) ? 12345 : -1;
		break;
	default:
		s->weight = 1 + rnd(p, 10000);
		break;
	}
	k_write(p, s);
	s->t_drift = p->now;
	p->n_drifts++;
}

static void op_random(struct prop *p)
{
	struct pslot *s = &p->s[rnd(p, SLOTS)];
	uint32_t k = rnd(p, 10);

	if (s->st == P_NONE) {
		op_create(p, s);
	} else if (s->st == P_CREATED && k < 6) {
		op_start(p, s);
	} else if (s->st == P_RUNNING && k == 0) {
		op_stop(p, s);
	} else if (s->st == P_RUNNING && k == 1) {
		k_remove(p, s); /* the process died, the runtime lost it: no event */
		s->st = P_VANISHED;
		s->t_gone = p->now;
		p->n_vanish++;
	} else if ((s->st == P_RUNNING || s->st == P_CREATED) && k < 5) {
		op_drift(p, s);
	} else if (s->st == P_STOPPED || ((s->st == P_GHOST || s->st == P_VANISHED) && k < 2)) {
		op_remove(p, s); /* the kubelet cleans up, much later */
	}
}

/* ---- the properties ---------------------------------------------------------------- */

static void check_reservations(struct prop *p)
{
	for (int i = 0; i < SLOTS; i++) {
		struct pslot *s = &p->s[i];
		struct alloc_result r;

		if (s->st == P_NONE || alloc_get(p->h->d->alloc, s->id, &r) < 0 ||
		    cpuset_is_empty(&r.exclusive))
			continue;
		if (s->st == P_GHOST && p->now - s->t_created > GHOST_AFTER + TICK)
			fail_msg("ghost %s keeps exclusive CPUs %.2f s after its creation", s->id,
				 (double)(p->now - s->t_created) / 1e9);
		if (s->st == P_VANISHED && p->now - s->t_gone > INTERVAL + TICK)
			fail_msg("%s keeps exclusive CPUs %.2f s after its cgroup went", s->id,
				 (double)(p->now - s->t_gone) / 1e9);
		if (s->st == P_STOPPED)
			fail_msg("stopped %s keeps exclusive CPUs", s->id);
	}
}

static void check_converged(struct prop *p, const struct pslot *s)
{
	struct nri_resources want;
	struct alloc_result r;
	struct cpuset have;

	if (!has_cgroup(s) || s->st == P_STOPPED || alloc_get(p->h->d->alloc, s->id, &r) < 0)
		return;
	if (s->t_drift && p->now - s->t_drift <= INTERVAL + TICK)
		return; /* may still be drifted */
	daemon_result_to_resources(p->h->d, s->id, &r, &want);
	if (cpuset_parse(s->cpus, strlen(s->cpus), &have) < 0 || !cpuset_equal(&have, &r.cpus))
		fail_msg("%s: cpuset %s, want %s (step %u, drifted %.2f s ago)", s->id, s->cpus,
			 want.cpus, p->n_steps,
			 s->t_drift ? (double)(p->now - s->t_drift) / 1e9 : -1.0);
	if ((want.quota > 0 ? want.quota : -1) != s->quota)
		fail_msg("%s: quota %lld, want %lld", s->id, (long long)s->quota,
			 (long long)want.quota);
	if (kubepods_shares_to_weight(want.shares) != s->weight)
		fail_msg("%s: weight %llu, want that of %llu shares", s->id,
			 (unsigned long long)s->weight, (unsigned long long)want.shares);
}

static void check_disjoint(struct prop *p)
{
	struct cpuset seen;
	struct alloc_result r;

	cpuset_zero(&seen);
	for (size_t i = 0; i < alloc_count(p->h->d->alloc); i++) {
		assert_int_equal(alloc_get(p->h->d->alloc, alloc_id_at(p->h->d->alloc, i), &r), 0);
		if (cpuset_intersects(&seen, &r.exclusive))
			fail_msg("exclusive CPUs of %s taken twice",
				 alloc_id_at(p->h->d->alloc, i));
		cpuset_or(&seen, &seen, &r.exclusive);
	}
}

static void step(struct prop *p)
{
	uint32_t ops = rnd(p, 3);

	for (uint32_t i = 0; i < ops; i++)
		op_random(p);
	flush(p);
	/* the daemon's timer, every tick of the time that passes */
	for (uint32_t t = 1 + rnd(p, 8); t > 0; t--) {
		p->now += TICK;
		p->h->d->clock_ns = p->now;
		daemon_reconcile_tick(p->h->d, p->now);
		flush(p);
	}
	check_reservations(p);
	for (int i = 0; i < SLOTS; i++)
		check_converged(p, &p->s[i]);
	check_disjoint(p);
	p->n_steps++;
}

static void run_seed(struct hx *h, uint64_t seed)
{
	struct prop *p = calloc(1, sizeof(*p));
	char dir[128];
	uint64_t t0;

	assert_non_null(p);
	p->h = h;
	p->rng = seed;
	snprintf(p->root, sizeof(p->root), "/tmp/tg-recprops.XXXXXX");
	assert_non_null(mkdtemp(p->root));
	snprintf(dir, sizeof(dir), "%s/kubepods", p->root);
	assert_int_equal(mkdir(dir, 0755), 0);
	snprintf(dir, sizeof(dir), "%s/cgroup.controllers", p->root);
	fclose(fopen(dir, "w"));
	h->d->opt.cgroup_root = p->root;
	p->now = t0 = daemon_now_ns();
	h->d->clock_ns = p->now;
	hx_connect(h, &p->rt);
	p->rt.apply = rt_apply;
	p->rt.apply_ud = p;
	if (getenv("RECONCILE_PROPS_LOG"))
		log_set_level(LOG_LEVEL_DEBUG);
	for (int i = 0; i < STEPS; i++)
		step(p);
	fprintf(stderr,
		"seed %" PRIu64 ": %u steps over %.0f s, %u ghosts (%" PRIu64
		" released), %u drifts (%" PRIu64 " cpus/%" PRIu64 " quota/%" PRIu64
		" shares repaired), %u vanished\n",
		seed, p->n_steps, (double)(p->now - t0) / 1e9, p->n_ghosts, h->d->rc.ghosts,
		p->n_drifts, h->d->rc.drift[0], h->d->rc.drift[1], h->d->rc.drift[3], p->n_vanish);
	assert_true(h->d->rc.ghosts > 0 && h->d->rc.drift[0] > 0);
	hx_runtime_done(&p->rt);
	snprintf(dir, sizeof(dir), "rm -rf %s", p->root);
	assert_int_equal(system(dir), 0);
	free(p);
}

static void test_reconcile_random_ghosts_and_drift(void **state)
{
	const char *env = getenv("RECONCILE_PROPS_SEED");
	uint64_t seeds[3] = {20261207, 7, 424242};
	int n = 3;

	if (env) {
		seeds[0] = strtoull(env, NULL, 0);
		n = 1;
	}
	for (int i = 0; i < n; i++) {
		if (i > 0)
			hx_restart(*state, "");
		run_seed(*state, seeds[i]);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_reconcile_random_ghosts_and_drift, hx_setup,
						hx_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
