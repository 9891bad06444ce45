/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Placement quality of the allocation policy (policy/alloc*.c), not its speed.
 *
 * For every fixture in tests/fixtures/sysfs and every machine shape of issue 16
 * (tests/lib/shapes.c), a seeded random stream of creates, stops and resizes. For each
 * exclusive allocation it makes (a create, a grow or a shrink), it compares what the
 * allocation spans at each level (core kinds, package sets, NUMA nodes, packages, L3s,
 * L2s or clusters, cores, split cores) with the least ANY allocation of that size could
 * span from the CPUs free at that moment (a grow keeps its CPUs; a shrink chooses
 * among its own):
 *
 *   least    the fewest domains of that level alone (largest free domains first: exact
 *            for one level);
 *   ordered  the least at that level among allocations that already span the least at
 *            every coarser level, in the order above (an exact search over the
 *            machine, placement_quality.h, independent of the policy's code). A level
 *            can need more than its own least when a coarser level came first: 6 CPUs
 *            in one node may need two L3s while 6 CPUs over two nodes could have one
 *            each.
 *
 * A package set is the packages joined by the NUMA nodes they share: an SNC or EPYC
 * package with its nodes, or a node holding four sockets (docs/policy.md: a request
 * too big for one node stays in one socket before it takes fewer nodes of two).
 *
 * Each cell is "E/M": E allocations spanned more than the least at that level; M of them
 * more than the ordered least (a placement the policy could have done better: the goal
 * is M = 0). The core kind preference is part of the rule, not an excess: on a hybrid
 * part the least is counted on the kind the policy must take (preferred kind first).
 * Split cores are counted for creates only (a grow keeps what it has). PQ_DEBUG=1 lists
 * every allocation counted in M on stderr, PQ_DEBUG=all every one counted in E.
 *
 *   placement_quality [operations per machine [seed]]   default 3000, 1
 */
#include <dirent.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "plugin/host/sysfs.h"
#include "policy/alloc.h"
#include "tests/lib/shapes.h"

#define DEFAULT_OPS 3000
#define MAX_LIVE    48

#include "bench/placement_quality.h"

/* ---- what an allocation spans ----------------------------------------------------------- */

static unsigned int spans(const struct topology *t, enum level lv, const struct cpuset *set)
{
	int nk = n_keys(t, lv), cpu;
	bool *seen = calloc((size_t)nk + 1, sizeof(bool));
	unsigned int n = 0;

	cpuset_foreach (cpu, set) {
		int k = key_of(t, lv, cpu);

		n += !seen[k];
		seen[k] = true;
	}
	free(seen);
	return n;
}

static unsigned int split_cores(const struct topology *t, const struct cpuset *owned)
{
	unsigned int n = 0;

	for (int c = 0; c < t->n_cores; c++)
		n += cpuset_intersects(&t->cores[c].cpus, owned) &&
		     !cpuset_is_subset(&t->cores[c].cpus, owned);
	return n;
}

/* ---- the tally -------------------------------------------------------------------------- */

struct tally {
	unsigned long allocs, creates, grows, shrinks, refusals, skipped;
	unsigned long excess[N_COLS], missed[N_COLS];
	unsigned long sum_excess[N_COLS];
	unsigned long forced[N_COLS][N_COLS + 1]; /* excess at [lv], kept at its least [c] */
	bool allocs_excess_last; /* the last judged allocation had an excess (debug) */
};

/* The owned CPUs of a result (hidden siblings included). */
static void owned_of(const struct topology *t, const struct alloc_result *r, bool hide,
		     struct cpuset *ret)
{
	int cpu;

	*ret = r->exclusive;
	if (!hide)
		return;
	cpuset_foreach (cpu, &r->exclusive) {
		cpuset_or(ret, ret, &t->cores[topology_cpu(t, cpu)->core].cpus);
	}
}

/* The kind the policy must take for a create: the preferred (P), else the other. */
static void restrict_kind(struct ask *a)
{
	static const enum topo_cpu_kind order[] = {TOPO_CPU_KIND_PERFORMANCE,
						   TOPO_CPU_KIND_EFFICIENT};
	unsigned int u[3];

	if (!a->t->hybrid)
		return;
	units_per_key(a, L_KIND, &a->avail, u);
	for (size_t k = 0; k < 2; k++) {
		struct cpuset x;
		int cpu;

		if (u[order[k]] < a->n)
			continue;
		cpuset_zero(&x);
		cpuset_foreach (cpu, &a->avail) {
			if (topology_cpu(a->t, cpu)->kind == order[k])
				cpuset_set(&x, (unsigned int)cpu);
		}
		a->avail = x;
		return;
	}
}

/* PQ_DEBUG=1: every allocation the policy could have placed better; =all: and every
 * allocation with an excess, to see what forced it. On stderr. */
static bool debug_wanted(bool miss, bool excess)
{
	const char *d = getenv("PQ_DEBUG");

	return d && (miss || (excess && !strcmp(d, "all")));
}

static void debug_print(const struct ask *a, const struct cpuset *got, int first_miss,
			const unsigned int *actual, const unsigned int *lo, const struct vec *ord)
{
	char b1[1024], b2[1024], b3[1024];
	bool miss = first_miss >= 0 && first_miss < N_COLS;

	cpuset_format(got, b1, sizeof(b1));
	cpuset_format(&a->avail, b2, sizeof(b2));
	cpuset_format(&a->kept, b3, sizeof(b3));
	fprintf(stderr, "%s%s: n=%u hide=%d %s got=%s avail=%s kept=%s\n  actual ",
		miss ? "miss at " : "excess", miss ? col_names[first_miss] : "", a->n, a->hide,
		a->create ? "create" : "resize", b1, b2, b3);
	for (int c = 0; c < N_COLS; c++)
		fprintf(stderr, " %u", actual[c]);
	fprintf(stderr, "\n  least  ");
	for (int c = 0; c < N_COLS; c++)
		fprintf(stderr, " %u", lo[c]);
	fprintf(stderr, "\n  order  ");
	for (int c = 0; c < N_COLS; c++)
		fprintf(stderr, " %d", ord->v[c]);
	fprintf(stderr, "\n");
}

static void judge(struct tally *ty, struct ask *a, const struct cpuset *got)
{
	unsigned int actual[N_COLS], lo[N_COLS];
	struct vec ord;
	bool have_ord;
	int first_miss = -1;

	if (cpuset_is_empty(&a->kept))
		restrict_kind(a); /* creates and shrinks: grows keep the kind they have */
	for (int lv = 0; lv < L_COUNT; lv++) {
		actual[lv] = spans(a->t, (enum level)lv, got);
		lo[lv] = least(a, (enum level)lv);
	}
	have_ord = ordered_least(a, actual[L_KIND] > 1, &ord);
	if (have_ord && actual[L_KIND] > 1)
		ord.v[L_KIND] = (int)lo[L_KIND];
	actual[L_SPLIT] = a->create && !a->hide ? split_cores(a->t, got) : 0;
	lo[L_SPLIT] = a->create && !a->hide ? least_split(a) : 0;
	ty->allocs_excess_last = false;
	for (int c = 0; c < N_COLS; c++) {
		if (first_miss < 0 && have_ord && (int)actual[c] != ord.v[c])
			first_miss = (int)actual[c] > ord.v[c] ? c : N_COLS;
		if (actual[c] <= lo[c])
			continue;
		ty->allocs_excess_last = true;
		ty->excess[c]++;
		ty->sum_excess[c] += actual[c] - lo[c];
		if (have_ord && (int)actual[c] == ord.v[c]) {
			int by = forced_by(a, actual[L_KIND] > 1, c, &ord);

			ty->forced[c][by < 0 ? N_COLS : by]++;
		}
	}
	if (!have_ord)
		ty->skipped++;
	if (first_miss >= 0 && first_miss < N_COLS)
		ty->missed[first_miss]++;
	if (debug_wanted(first_miss >= 0 && first_miss < N_COLS, ty->allocs_excess_last))
		debug_print(a, got, first_miss, actual, lo, &ord);
	ty->allocs++;
}

/* ---- the stream ---------------------------------------------------------------------------- */

struct ctr {
	char id[24];
	struct alloc_request req;
};

struct run {
	const char *name;
	const struct topology *t;
	struct alloc_state *s;
	struct ctr live[MAX_LIVE];
	int n_live;
	uint64_t rng;
	unsigned long next_id;
	unsigned int max_req, big_req;
	struct tally ty;
};

static uint64_t rnd(struct run *r)
{
	r->rng ^= r->rng >> 12;
	r->rng ^= r->rng << 25;
	r->rng ^= r->rng >> 27;
	return r->rng * 2685821657736338717ULL;
}

static unsigned int rnd_below(struct run *r, unsigned int n)
{
	return n ? (unsigned int)(rnd(r) % n) : 0;
}

static unsigned int rnd_size(struct run *r)
{
	unsigned int roll = rnd_below(r, 100);

	if (roll < 60)
		return 1 + rnd_below(r, 4);
	if (roll < 95)
		return 1 + rnd_below(r, r->max_req);
	return 1 + rnd_below(r, r->big_req);
}

static bool hides(const struct alloc_request *q)
{
	return q->prefs.hide_hyperthreads > 0;
}

static void op_create(struct run *r)
{
	struct ctr *c = &r->live[r->n_live];
	struct alloc_request *q = &c->req;
	struct alloc_stats st;
	struct alloc_result res;
	struct ask a;
	struct cpuset got;

	alloc_request_init(q);
	snprintf(c->id, sizeof(c->id), "c%lu", r->next_id++);
	q->id = c->id;
	q->pod_namespace = "default";
	q->qos = rnd_below(r, 10) == 0 ? QOS_BURSTABLE : QOS_GUARANTEED;
	q->cpu_request_mcpu = q->qos == QOS_BURSTABLE ? 500 : 1000 * rnd_size(r);
	q->cpu_limit_mcpu = q->qos == QOS_GUARANTEED ? q->cpu_request_mcpu : 0;
	q->prefs.hide_hyperthreads = rnd_below(r, 10) == 0 ? 1 : 0;
	alloc_stats_get(r->s, &st);
	if (alloc_create(r->s, q, &res, NULL, NULL, 0) < 0) {
		r->ty.refusals++;
		return;
	}
	r->n_live++;
	if (res.pool != ALLOC_POOL_EXCLUSIVE)
		return;
	a = (struct ask){.t = r->t,
			 .avail = st.shared,
			 .n = cpuset_count(&res.exclusive),
			 .hide = hides(q),
			 .create = true};
	owned_of(r->t, &res, a.hide, &got);
	judge(&r->ty, &a, &got);
	r->ty.creates++;
}

static void op_stop(struct run *r)
{
	int i = (int)rnd_below(r, (unsigned int)r->n_live);

	alloc_release(r->s, r->live[i].id, NULL);
	r->live[i] = r->live[--r->n_live];
	r->live[i].req.id = r->live[i].id;
}

static void op_resize(struct run *r)
{
	struct ctr *c = &r->live[rnd_below(r, (unsigned int)r->n_live)];
	struct alloc_request q = c->req;
	struct alloc_result before, after;
	struct alloc_stats st;
	struct ask a;
	struct cpuset got, old_owned;

	if (q.qos != QOS_GUARANTEED || alloc_get(r->s, c->id, &before) < 0 ||
	    before.pool != ALLOC_POOL_EXCLUSIVE)
		return;
	q.cpu_request_mcpu = q.cpu_limit_mcpu = 1000 * rnd_size(r);
	alloc_stats_get(r->s, &st);
	if (alloc_update(r->s, &q, &after, NULL, NULL, 0) < 0) {
		r->ty.refusals++;
		return;
	}
	c->req = q;
	if (after.pool != ALLOC_POOL_EXCLUSIVE || cpuset_equal(&before.exclusive, &after.exclusive))
		return;
	owned_of(r->t, &before, hides(&q), &old_owned);
	owned_of(r->t, &after, hides(&q), &got);
	a = (struct ask){.t = r->t, .n = cpuset_count(&after.exclusive), .hide = hides(&q)};
	if (cpuset_count(&after.exclusive) > cpuset_count(&before.exclusive)) {
		a.avail = st.shared; /* a grow keeps what it had */
		a.kept = old_owned;
		r->ty.grows++;
	} else {
		a.avail = old_owned; /* a shrink keeps a part of it */
		r->ty.shrinks++;
	}
	judge(&r->ty, &a, &got);
}

static void step(struct run *r)
{
	unsigned int roll = rnd_below(r, 100);

	if (r->n_live == 0 || (roll < 50 && r->n_live < MAX_LIVE))
		op_create(r);
	else if (roll < 70)
		op_resize(r);
	else
		op_stop(r);
}

static void print_cell(unsigned long e, unsigned long m)
{
	char buf[32];

	snprintf(buf, sizeof(buf), "%lu/%lu", e, m);
	printf(" %8s", buf);
}

/*
 * What each excess gave way to, on a line under the machine's row: "node<pkgset 13"
 * means 13 allocations spanned more nodes than the least because the least number of
 * nodes would have needed more package sets, which come first.
 */
static void print_forced(const struct run *r)
{
	bool any = false;

	for (int lv = 0; lv < N_COLS; lv++) {
		for (int c = 0; c <= N_COLS; c++) {
			if (!r->ty.forced[lv][c])
				continue;
			printf("%s%s<%s %lu", any ? ", " : "    gave way: ", col_names[lv],
			       c < N_COLS ? col_names[c] : "?", r->ty.forced[lv][c]);
			any = true;
		}
	}
	if (any)
		printf("\n");
}

static void run_machine(const char *name, const struct topology *t, long ops, uint64_t seed)
{
	struct run *r = calloc(1, sizeof(*r));
	struct alloc_config cfg;
	unsigned int online = cpuset_count(&t->online);

	if (!r)
		return;
	r->name = name;
	r->t = t;
	g_sets_of = NULL; /* a new topology may sit where the last one was freed */
	r->rng = seed * 0x9e3779b97f4a7c15ULL ^ (uint64_t)online;
	for (const char *p = name; *p; p++)
		r->rng = (r->rng ^ (unsigned char)*p) * 1099511628211ULL;
	r->rng |= 1;
	r->max_req = online / 8 > 2 ? online / 8 : 2;
	r->big_req = online / 3 > r->max_req ? online / 3 : r->max_req;
	alloc_config_init(&cfg);
	cfg.reserved_count = online >= 8 ? 2 : 0;
	if (alloc_state_new(t, &cfg, &r->s) < 0) {
		printf("%-24s state: invalid config\n", name);
		free(r);
		return;
	}
	if (getenv("PQ_DEBUG"))
		fprintf(stderr, "== %s\n", name);
	for (long i = 0; i < ops; i++)
		step(r);
	printf("%-24s %4u %6lu |", name, online, r->ty.allocs);
	for (int c = 0; c < N_COLS; c++)
		print_cell(r->ty.excess[c], r->ty.missed[c]);
	printf("\n");
	print_forced(r);
	alloc_state_free(r->s);
	free(r);
}

static void header(long ops, uint64_t seed)
{
	printf("placement_quality: %ld operations per machine (creates, stops, resizes), "
	       "seed %llu\n",
	       ops, (unsigned long long)seed);
	printf("cells E/M: E allocations spanned more than the least possible at that level,\n"
	       "M of them more than the least possible once every coarser level is at its "
	       "least\n(a placement the policy could have done better). Goal: M = 0.\n"
	       "gave way: level<coarser level: the least at the level would have cost more of "
	       "the\ncoarser one, which comes first.\n\n");
	printf("%-24s %4s %6s |", "machine", "CPUs", "allocs");
	for (int c = 0; c < N_COLS; c++)
		printf(" %8s", col_names[c]);
	printf("\n");
}

static int run_fixtures(long ops, uint64_t seed)
{
	const char *src = getenv("TOPOGUARD_SRC");
	char dir[4096], root[4400];
	struct dirent **names = NULL;
	int n;

	snprintf(dir, sizeof(dir), "%s/tests/fixtures/sysfs", src && src[0] ? src : ".");
	n = scandir(dir, &names, NULL, alphasort);
	if (n < 0) {
		fprintf(stderr, "placement_quality: no fixtures at %s (set TOPOGUARD_SRC)\n", dir);
		return -ENOENT;
	}
	for (int i = 0; i < n; i++) {
		struct topology *t = NULL;

		snprintf(root, sizeof(root), "%s/%s", dir, names[i]->d_name);
		if (names[i]->d_name[0] != '.' && !strstr(names[i]->d_name, ".md") &&
		    sysfs_topology_load(root, &t) >= 0)
			run_machine(names[i]->d_name, t, ops, seed);
		topology_free(t);
		free(names[i]);
	}
	free(names);
	return 0;
}

static void run_shapes(long ops, uint64_t seed)
{
	struct shape *sh = malloc(sizeof(*sh));

	for (size_t i = 0; sh && i < shape_count(); i++) {
		struct topology *t = NULL;
		char name[64];

		if (shape_get(i, sh) < 0 || !sh->bench || shape_load(sh, &t) < 0)
			continue;
		snprintf(name, sizeof(name), "shape:%s", sh->name);
		run_machine(name, t, ops, seed);
		topology_free(t);
	}
	free(sh);
}

int main(int argc, char **argv)
{
	long ops = argc > 1 ? strtol(argv[1], NULL, 10) : DEFAULT_OPS;
	uint64_t seed = argc > 2 ? strtoull(argv[2], NULL, 0) : 1;

	if (ops <= 0) {
		fprintf(stderr, "usage: %s [operations per machine [seed]]\n", argv[0]);
		return 2;
	}
	header(ops, seed);
	if (run_fixtures(ops, seed) < 0)
		return 1;
	run_shapes(ops, seed);
	return 0;
}
