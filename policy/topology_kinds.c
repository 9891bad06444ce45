/* SPDX-License-Identifier: Apache-2.0 */
/*
 * P and E cores when the kernel does not name them (no devices/cpu_core + cpu_atom:
 * older kernels, VMs, every arm64 machine).
 *
 * Each signal sysfs may carry splits the cores into a "P-like" and an "E-like" side at
 * its largest gap: cpu_capacity, max and base frequency, threads per core, how many
 * cores share the L2, L2 size. One frequency signal alone proves nothing: parts with
 * favoured cores (Turbo Boost Max 3.0) differ in max frequency only, and so do sibling
 * threads left offline in SMT. So kinds are inferred when cpu_capacity splits the cores
 * (the kernel's own statement of asymmetry, arm64), or when two signals split them the
 * same way (docs/topology.md "Core kinds"). Pure: no I/O, no logging.
 */
#include <errno.h>
#include <stdlib.h>

#include "policy/topology_internal.h"

enum sig { SIG_CAPACITY, SIG_MAX_FREQ, SIG_BASE_FREQ, SIG_SMT, SIG_L2_SHARE, SIG_L2_SIZE, SIG_N };

/* Bit in enum topo_kind_signal, and the smallest ratio across the gap that counts. */
static const struct {
	unsigned int bit;
	unsigned int min_ratio_pct;
} sig_info[SIG_N] = {
	[SIG_CAPACITY] = {TOPO_KIND_SIG_CAPACITY, 120},
	[SIG_MAX_FREQ] = {TOPO_KIND_SIG_MAX_FREQ, 110},
	[SIG_BASE_FREQ] = {TOPO_KIND_SIG_BASE_FREQ, 110},
	[SIG_SMT] = {TOPO_KIND_SIG_SMT, 100},
	[SIG_L2_SHARE] = {TOPO_KIND_SIG_L2_SHARE, 100},
	[SIG_L2_SIZE] = {TOPO_KIND_SIG_L2_SIZE, 150},
};

struct kinds {
	const struct topology *t;
	int n;		     /* cores */
	uint64_t *val;	     /* per core, current signal; 0 = unknown */
	uint64_t *sorted;    /* scratch */
	unsigned char *side; /* SIG_N x n: 1 = P-like */
	bool valid[SIG_N];
};

/* Cores whose first CPU lies in the L2 of core k's first CPU. */
static uint64_t l2_share(const struct topology *t, int k)
{
	int first = cpuset_next(&t->cores[k].cpus, 0), l2 = t->cpu_by_id[first].l2;
	uint64_t n = 0;

	for (int j = 0; j < t->n_cores; j++)
		n += cpuset_test(&t->l2s[l2].cpus, (unsigned int)cpuset_next(&t->cores[j].cpus, 0));
	return n;
}

static uint64_t core_value(const struct topology *t, int k, enum sig s)
{
	int first = cpuset_next(&t->cores[k].cpus, 0);
	const struct topo_cpu *c = &t->cpu_by_id[first];

	switch (s) {
	case SIG_CAPACITY:
		return c->capacity;
	case SIG_MAX_FREQ:
		return c->max_khz;
	case SIG_BASE_FREQ:
		return c->base_khz;
	case SIG_SMT:
		return cpuset_count(&t->cores[k].cpus);
	case SIG_L2_SHARE:
		/* fewer cores on one L2 is the P side: invert so that bigger means P */
		return 4096 / l2_share(t, k);
	case SIG_L2_SIZE:
		return t->l2s[c->l2].size;
	default:
		return 0;
	}
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return (x > y) - (x < y);
}

/* Split the cores at the largest gap of signal s; false if unknown or too even. */
static bool split(struct kinds *k, enum sig s)
{
	unsigned char *side = &k->side[(size_t)s * (size_t)k->n];
	uint64_t cut = 0, best_num = 1, best_den = 1;

	for (int i = 0; i < k->n; i++) {
		k->val[i] = core_value(k->t, i, s);
		if (k->val[i] == 0)
			return false;
		k->sorted[i] = k->val[i];
	}
	qsort(k->sorted, (size_t)k->n, sizeof(*k->sorted), cmp_u64);
	for (int i = 1; i < k->n; i++) {
		uint64_t lo = k->sorted[i - 1], hi = k->sorted[i];

		/* hi / lo > best_num / best_den, in integers */
		if (hi != lo && hi * best_den > best_num * lo) {
			best_num = hi;
			best_den = lo;
			cut = lo;
		}
	}
	if (cut == 0 || best_num * 100 < best_den * sig_info[s].min_ratio_pct)
		return false;
	for (int i = 0; i < k->n; i++)
		side[i] = k->val[i] > cut;
	return true;
}

static bool same_split(const struct kinds *k, enum sig a, enum sig b)
{
	const unsigned char *x = &k->side[(size_t)a * (size_t)k->n];
	const unsigned char *y = &k->side[(size_t)b * (size_t)k->n];

	for (int i = 0; i < k->n; i++)
		if (x[i] != y[i])
			return false;
	return true;
}

/* The signal whose split most others share (cpu_capacity wins alone); -1 if none. */
static int decide(const struct kinds *k, unsigned int *ret_signals)
{
	int best = -1, best_votes = 1;

	for (int a = 0; a < SIG_N; a++) {
		int votes = 0;

		if (!k->valid[a])
			continue;
		for (int b = 0; b < SIG_N; b++)
			votes += k->valid[b] && same_split(k, a, b);
		if (a == SIG_CAPACITY || votes > best_votes) {
			best = a;
			best_votes = votes;
			if (a == SIG_CAPACITY)
				break;
		}
	}
	*ret_signals = 0;
	for (int b = 0; best >= 0 && b < SIG_N; b++)
		if (k->valid[b] && same_split(k, best, b))
			*ret_signals |= sig_info[b].bit;
	return best;
}

static void apply(struct topology *t, const struct kinds *k, int sig)
{
	const unsigned char *side = &k->side[(size_t)sig * (size_t)k->n];
	int c;

	for (int i = 0; i < k->n; i++) {
		cpuset_foreach (c, &t->cores[i].cpus) {
			t->cpu_by_id[c].kind =
				side[i] ? TOPO_CPU_KIND_PERFORMANCE : TOPO_CPU_KIND_EFFICIENT;
		}
	}
}

static void set_hybrid(struct topology *t)
{
	bool p = false, e = false;
	int c;

	cpuset_foreach (c, &t->online) {
		p |= t->cpu_by_id[c].kind == TOPO_CPU_KIND_PERFORMANCE;
		e |= t->cpu_by_id[c].kind == TOPO_CPU_KIND_EFFICIENT;
	}
	t->hybrid = p && e;
}

static int infer(struct topology *t)
{
	struct kinds k = {.t = t, .n = t->n_cores};
	unsigned int signals;
	int sig, r = 0;

	k.val = calloc((size_t)k.n + 1, sizeof(*k.val));
	k.sorted = calloc((size_t)k.n + 1, sizeof(*k.sorted));
	k.side = calloc((size_t)k.n * SIG_N + 1, 1);
	if (!k.val || !k.sorted || !k.side) {
		r = -ENOMEM;
		goto out;
	}
	for (int s = 0; s < SIG_N; s++)
		k.valid[s] = split(&k, (enum sig)s);
	sig = decide(&k, &signals);
	if (sig >= 0) {
		apply(t, &k, sig);
		t->kind_signals = signals;
		t->fallbacks |= TOPO_FB_CPU_KIND_INFERRED;
	}
out:
	free(k.val);
	free(k.sorted);
	free(k.side);
	return r;
}

/* Any difference at all in max frequency (the old test, kept for the fallback flag). */
static bool max_freq_differs(const struct topology *t)
{
	uint32_t lo = UINT32_MAX, hi = 0;
	int c;

	cpuset_foreach (c, &t->online) {
		uint32_t khz = t->cpu_by_id[c].max_khz;

		if (!khz)
			continue;
		lo = khz < lo ? khz : lo;
		hi = khz > hi ? khz : hi;
	}
	return hi && lo != hi;
}

int topo_build_kinds(struct topology *t, bool given)
{
	int r = 0;

	t->kind_signals = 0;
	if (given) {
		t->kind_signals = TOPO_KIND_SIG_FILES;
	} else if (t->n_cores > 1) {
		r = infer(t);
		if (r >= 0 && !(t->fallbacks & TOPO_FB_CPU_KIND_INFERRED) && max_freq_differs(t))
			t->fallbacks |= TOPO_FB_NO_CPU_KIND;
	}
	set_hybrid(t);
	return r;
}
