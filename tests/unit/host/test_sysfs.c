/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Unit tests for plugin/host/sysfs.c against the real-machine fixtures in
 * tests/fixtures/sysfs (see its README.md for each row asserted here) and against
 * damaged copies of them made in a temp dir.
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "plugin/host/sysfs.h"
#include "tests/lib/shapes.h"

static char fixtures[4096];

static int find_fixtures(void)
{
	const char *src = getenv("TOPOGUARD_SRC");
	struct stat st;

	snprintf(fixtures, sizeof(fixtures), "%s/tests/fixtures/sysfs", src ? src : ".");
	if (stat(fixtures, &st) == 0 && S_ISDIR(st.st_mode))
		return 0;
	fprintf(stderr, "fixtures not found at %s: set TOPOGUARD_SRC to the repo root\n", fixtures);
	return -ENOENT;
}

static struct topology *load_at(const char *root)
{
	struct topology *t = NULL;
	char bad[256];
	int r = sysfs_topology_load_diag(root, &t, bad, sizeof(bad));

	if (r < 0)
		fail_msg("load %s: %s (file '%s')", root, strerror(-r), bad);
	return t;
}

static struct topology *load(const char *name)
{
	char root[4200];

	snprintf(root, sizeof(root), "%s/%s", fixtures, name);
	return load_at(root);
}

static void assert_set(const struct cpuset *s, const char *want)
{
	static char buf[CPUSET_MAX * 6];

	assert_true(cpuset_format(s, buf, sizeof(buf)) >= 0);
	assert_string_equal(buf, want);
}

static int nodes_with_cpus(const struct topology *t)
{
	int n = 0;

	for (int i = 0; i < t->n_nodes; i++)
		n += !cpuset_is_empty(&t->nodes[i].cpus);
	return n;
}

/* Largest core size: "thr/core" in the README. */
static unsigned int max_threads(const struct topology *t)
{
	unsigned int m = 0;

	for (int i = 0; i < t->n_cores; i++)
		if (cpuset_count(&t->cores[i].cpus) > m)
			m = cpuset_count(&t->cores[i].cpus);
	return m;
}

/* One README row. */
struct row {
	const char *name;
	const char *online;
	int packages, nodes_cpu, nodes_mem, cores;
	unsigned int threads;
	int l3;
	unsigned int fallbacks;
};

static const struct row rows[] = {
	{"skx-2s-snc2", "0-79", 2, 4, 0, 40, 2, 2, 0},
	{"skx-4s-smt", "0-143", 4, 4, 0, 72, 2, 4, 0},
	{"icx-2s-smt", "0-111", 2, 2, 0, 56, 2, 2, TOPO_FB_NO_ONLINE_FILE},
	{"epyc-2s-ccx", "0-95", 2, 8, 0, 48, 2, 16, TOPO_FB_NODE_CPUMAP | TOPO_FB_NO_DISTANCE},
	{"adl-hybrid", "0-15", 1, 1, 0, 12, 2, 1, 0},
	{"kunpeng920-2s", "0-127", 2, 4, 0, 128, 1, 4, 0},
	{"opteron-4s-8n", "0-63", 4, 8, 0, 32, 2, 8, 0},
	{"hsw-2s-offline", "4-20", 2, 1, 0, 17, 1, 2, 0},
	{"p9-gpu-memnodes", "0-15,88-103", 2, 2, 6, 8, 4, 4, 0},
	{"vm-2cpu", "0-1", 1, 1, 0, 2, 1, 1, 0},
};

static void assert_row(const struct row *w)
{
	struct topology *t = load(w->name);

	assert_set(&t->online, w->online);
	assert_int_equal(t->n_packages, w->packages);
	assert_int_equal(nodes_with_cpus(t), w->nodes_cpu);
	assert_int_equal(t->n_nodes - nodes_with_cpus(t), w->nodes_mem);
	assert_int_equal(t->n_cores, w->cores);
	assert_int_equal(max_threads(t), w->threads);
	assert_int_equal(t->n_l3s, w->l3);
	assert_int_equal(t->fallbacks, w->fallbacks);
	topology_free(t);
}

static void test_sysfs_topology_load_readme_rows(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		print_message("  %s\n", rows[i].name);
		assert_row(&rows[i]);
	}
}

static int dist(const struct topology *t, int from_id, int to_id)
{
	int i = topology_node_index(t, from_id), j = topology_node_index(t, to_id);

	assert_true(i >= 0 && j >= 0);
	return t->distance[i * t->n_nodes + j];
}

static void test_sysfs_topology_load_skx_snc2(void **state)
{
	struct topology *t = load("skx-2s-snc2");
	const struct topo_cpu *c = topology_cpu(t, 0);

	(void)state;
	assert_set(&t->nodes[0].cpus, "0-2,5-6,10-12,15-16,40-42,45-46,50-52,55-56");
	/* the L3 spans both SNC nodes of the socket but still nests in the die */
	assert_true(cpuset_is_subset(&t->nodes[0].cpus, &t->l3s[c->l3].cpus));
	assert_false(cpuset_equal(&t->nodes[0].cpus, &t->l3s[c->l3].cpus));
	assert_int_equal(t->l3s[c->l3].parent, c->die);
	assert_int_equal(t->dies[c->die].parent, c->package);
	assert_int_equal(t->cores[c->core].parent, c->l2);
	assert_int_equal(t->l2s[c->l2].parent, c->l3);
	assert_int_equal(dist(t, 0, 0), 10);
	assert_int_equal(dist(t, 0, 1), 11);
	assert_int_equal(dist(t, 0, 2), 21);
	assert_true(t->l3s[c->l3].size == 28160ull << 10);
	assert_int_equal(c->base_khz, 2000000);
	topology_free(t);
}

static void test_sysfs_topology_load_skx_4s_siblings(void **state)
{
	struct topology *t = load("skx-4s-smt");

	(void)state;
	assert_set(&t->cores[topology_cpu(t, 5)->core].cpus, "5,77");
	assert_int_equal(dist(t, 0, 3), 21);
	topology_free(t);
}

static void test_sysfs_topology_load_icx_interleaved(void **state)
{
	struct topology *t = load("icx-2s-smt");
	struct cpuset even;

	(void)state;
	cpuset_zero(&even);
	for (unsigned int i = 0; i < 112; i += 2)
		cpuset_set(&even, i);
	assert_true(cpuset_equal(&t->nodes[0].cpus, &even));
	assert_set(&t->cores[topology_cpu(t, 1)->core].cpus, "1,57");
	assert_int_equal(topology_cpu(t, 1)->node, 1);
	assert_int_equal(t->n_clusters, 56);
	assert_int_equal(dist(t, 0, 1), 20);
	topology_free(t);
}

static void test_sysfs_topology_load_epyc_ccx(void **state)
{
	struct topology *t = load("epyc-2s-ccx");

	(void)state;
	for (int i = 0; i < t->n_l3s; i++) {
		assert_int_equal(cpuset_count(&t->l3s[i].cpus), 6); /* 3 cores x 2 threads */
		assert_true(t->l3s[i].size == 8ull << 20);
		assert_true(t->l3s[i].parent >= 0);
	}
	assert_set(&t->nodes[1].cpus, "6-11,54-59");
	assert_set(&t->cores[topology_cpu(t, 3)->core].cpus, "3,51");
	assert_int_equal(t->dies[0].sysfs_id, -1);
	assert_int_equal(dist(t, 0, 1), 20);
	topology_free(t);
}

static void test_sysfs_topology_load_adl_hybrid(void **state)
{
	struct topology *t = load("adl-hybrid");

	(void)state;
	assert_true(t->hybrid);
	for (int id = 0; id < 16; id++)
		assert_int_equal(topology_cpu(t, id)->kind,
				 id < 8 ? TOPO_CPU_KIND_PERFORMANCE : TOPO_CPU_KIND_EFFICIENT);
	assert_set(&t->l2s[topology_cpu(t, 9)->l2].cpus, "8-11");
	assert_set(&t->l2s[topology_cpu(t, 15)->l2].cpus, "12-15");
	assert_set(&t->cores[topology_cpu(t, 6)->core].cpus, "6-7");
	assert_int_equal(topology_cpu(t, 0)->max_khz, 4800000);
	assert_int_equal(topology_cpu(t, 8)->max_khz, 3500000);
	topology_free(t);
}

static void test_sysfs_topology_load_kunpeng(void **state)
{
	static const int want[4][4] = {
		{10, 16, 32, 33}, {16, 10, 25, 32}, {32, 25, 10, 16}, {33, 32, 16, 10}};
	struct topology *t = load("kunpeng920-2s");

	(void)state;
	for (int i = 0; i < 4; i++)
		for (int j = 0; j < 4; j++)
			assert_int_equal(dist(t, i, j), want[i][j]);
	assert_int_equal(t->packages[0].sysfs_id, 36);
	assert_int_equal(t->packages[1].sysfs_id, 8442);
	assert_int_equal(t->n_clusters, 32);
	assert_int_equal(cpuset_count(&t->clusters[5].cpus), 4);
	assert_int_equal(t->dies[0].sysfs_id, -1);
	/* no cache id: grouped by shared_cpu_list, one L3 per node */
	assert_true(cpuset_equal(&t->l3s[0].cpus, &t->nodes[0].cpus));
	topology_free(t);
}

static void test_sysfs_topology_load_opteron_sibling_pairs(void **state)
{
	struct topology *t = load("opteron-4s-8n");
	const struct topo_cpu *c0 = topology_cpu(t, 0), *c8 = topology_cpu(t, 8);

	(void)state;
	/* same (package, core_id), different sibling groups */
	assert_int_equal(c0->package, c8->package);
	assert_int_not_equal(c0->core, c8->core);
	for (int i = 0; i < t->n_cores; i++)
		assert_int_equal(cpuset_count(&t->cores[i].cpus), 2);
	assert_int_equal(dist(t, 0, 1), 16);
	assert_int_equal(dist(t, 0, 3), 22);
	topology_free(t);
}

static void test_sysfs_topology_load_hsw_offline(void **state)
{
	struct topology *t = load("hsw-2s-offline");

	(void)state;
	assert_set(&t->offline, "0-3,21-23");
	assert_set(&t->possible, "0-191");
	assert_null(topology_cpu(t, 0));
	assert_null(topology_cpu(t, 21));
	assert_int_equal(t->n_nodes, 1);
	assert_int_equal(t->nodes[0].id, 1);
	assert_set(&t->nodes[0].cpus, "4-20"); /* lists offline 21,23; links to a missing node0 */
	assert_set(&t->l3s[0].cpus, "4,6,8,10,12,14,16,18,20");
	assert_int_equal(t->distance[0], 10);
	topology_free(t);
}

static void test_sysfs_topology_load_p9_memory_nodes(void **state)
{
	struct topology *t = load("p9-gpu-memnodes");

	(void)state;
	for (int id = 250; id <= 255; id++) {
		const struct topo_node *n = &t->nodes[topology_node_index(t, id)];

		assert_true(cpuset_is_empty(&n->cpus));
		assert_true(n->has_memory);
		assert_true(n->mem_total == 15ull << 30);
	}
	assert_set(&t->nodes[topology_node_index(t, 8)].cpus, "88-103");
	assert_int_equal(t->packages[1].sysfs_id, 8);
	assert_int_equal(dist(t, 0, 8), 40);
	assert_int_equal(dist(t, 0, 250), 80);
	assert_int_equal(dist(t, 251, 250), 80);
	assert_set(&t->l3s[topology_cpu(t, 4)->l3].cpus, "0-7"); /* shared_cpu_map only */
	topology_free(t);
}

/* ---- damaged copies ---------------------------------------------------------------- */

struct tmp_tree {
	char dir[64];
};

static void tree_copy(struct tmp_tree *tt, const char *name)
{
	char cmd[8400];

	struct stat st;

	/* tmpfs when there is one: copying thousands of tiny files to disk takes seconds */
	snprintf(tt->dir, sizeof(tt->dir), "%s/test_sysfs.XXXXXX",
		 stat("/dev/shm", &st) == 0 && S_ISDIR(st.st_mode) ? "/dev/shm" : "/tmp");
	assert_non_null(mkdtemp(tt->dir));
	snprintf(cmd, sizeof(cmd), "cp -a '%s/%s/.' '%s/'", fixtures, name, tt->dir);
	assert_int_equal(system(cmd), 0);
}

static void tree_sh(const struct tmp_tree *tt, const char *script)
{
	char cmd[4096];

	snprintf(cmd, sizeof(cmd), "cd '%s' && %s", tt->dir, script);
	if (system(cmd) != 0)
		fail_msg("'%s' failed", cmd);
}

static void tree_free(struct tmp_tree *tt)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tt->dir);
	assert_int_equal(system(cmd), 0);
}

static struct topology *tree_load(const struct tmp_tree *tt)
{
	return load_at(tt->dir);
}

static void test_sysfs_topology_load_nul_padding(void **state)
{
	struct tmp_tree tt;
	struct topology *t, *ref = load("skx-2s-snc2");

	(void)state;
	tree_copy(&tt, "skx-2s-snc2");
	/* what kunpeng/opteron kernels really emit: "\n\0" (and "\0\n" for nohz_full) */
	tree_sh(&tt, "find . -type f ! -name nohz_full -print0 | xargs -0 sh -c "
		     "'for f; do printf \"\\000\" >> \"$f\"; done' _"
		     " && printf '\\000\\n' > devices/system/cpu/nohz_full");
	t = tree_load(&tt);
	assert_true(cpuset_equal(&t->online, &ref->online));
	assert_int_equal(t->n_cores, ref->n_cores);
	assert_int_equal(t->n_l3s, ref->n_l3s);
	assert_int_equal(t->n_nodes, ref->n_nodes);
	assert_memory_equal(t->distance, ref->distance, sizeof(int) * 16);
	assert_true(t->nodes[0].mem_total == ref->nodes[0].mem_total);
	assert_true(cpuset_is_empty(&t->nohz_full));
	assert_int_equal(t->fallbacks, 0);
	topology_free(t);
	topology_free(ref);
	tree_free(&tt);
}

/* Remove files with script, load, and check the fallback bits and a few shapes. */
static struct topology *damaged(struct tmp_tree *tt, const char *fixture, const char *script,
				unsigned int want_fb)
{
	struct topology *t;

	tree_copy(tt, fixture);
	tree_sh(tt, script);
	t = tree_load(tt);
	if (t->fallbacks != want_fb)
		fail_msg("%s: fallbacks 0x%x, want 0x%x", script, t->fallbacks, want_fb);
	return t;
}

static void test_sysfs_topology_load_no_online_file(void **state)
{
	struct tmp_tree tt;
	struct topology *t;

	(void)state;
	t = damaged(&tt, "hsw-2s-offline", "rm devices/system/cpu/online", TOPO_FB_NO_ONLINE_FILE);
	assert_set(&t->online, "4-20"); /* from cpuN/online */
	topology_free(t);
	tree_free(&tt);
	t = damaged(&tt, "hsw-2s-offline",
		    "rm devices/system/cpu/online devices/system/cpu/cpu*/online",
		    TOPO_FB_NO_ONLINE_FILE);
	assert_set(&t->online, "4-20"); /* dirs 0-23 minus cpu/offline 0-3,21-191 */
	topology_free(t);
	tree_free(&tt);
	t = damaged(&tt, "hsw-2s-offline",
		    "rm devices/system/cpu/online devices/system/cpu/offline "
		    "devices/system/cpu/cpu*/online",
		    TOPO_FB_NO_ONLINE_FILE | TOPO_FB_NO_TOPOLOGY);
	assert_set(&t->online, "0-23"); /* nothing says otherwise; offline ones lack topology/ */
	topology_free(t);
	tree_free(&tt);
}

static void test_sysfs_topology_load_no_distance(void **state)
{
	struct tmp_tree tt;
	struct topology *t;

	(void)state;
	t = damaged(&tt, "skx-2s-snc2", "rm devices/system/node/node*/distance",
		    TOPO_FB_NO_DISTANCE);
	assert_int_equal(t->distance[0], 10);
	assert_int_equal(t->distance[1], 20);
	topology_free(t);
	tree_free(&tt);
}

static void test_sysfs_topology_load_no_cache(void **state)
{
	struct tmp_tree tt;
	struct topology *t;

	(void)state;
	t = damaged(&tt, "skx-2s-snc2", "rm -r devices/system/cpu/cpu*/cache", TOPO_FB_NO_CACHE);
	assert_int_equal(t->n_l3s, 2);
	assert_true(cpuset_equal(&t->l3s[1].cpus, &t->packages[1].cpus));
	topology_free(t);
	tree_free(&tt);
}

static void test_sysfs_topology_load_no_topology_dirs(void **state)
{
	struct tmp_tree tt;
	struct topology *t;

	(void)state;
	t = damaged(&tt, "vm-2cpu", "rm -r devices/system/cpu/cpu*/topology", TOPO_FB_NO_TOPOLOGY);
	assert_int_equal(t->n_packages, 2);
	assert_int_equal(t->n_cores, 2);
	assert_int_equal(t->n_l3s, 1); /* caches still known */
	topology_free(t);
	tree_free(&tt);
}

static void test_sysfs_topology_load_no_siblings(void **state)
{
	struct tmp_tree tt;
	struct topology *t;

	(void)state;
	t = damaged(&tt, "skx-4s-smt",
		    "rm devices/system/cpu/cpu*/topology/core_cpus* "
		    "devices/system/cpu/cpu*/topology/thread_siblings*",
		    TOPO_FB_NO_SIBLINGS_LIST);
	assert_int_equal(t->n_cores, 72); /* (package, core_id) is unique on this machine */
	assert_set(&t->cores[topology_cpu(t, 5)->core].cpus, "5,77");
	topology_free(t);
	tree_free(&tt);
}

static void test_sysfs_topology_load_no_numa(void **state)
{
	struct tmp_tree tt;
	struct topology *t;

	(void)state;
	t = damaged(&tt, "skx-2s-snc2", "rm -r devices/system/node devices/system/cpu/cpu*/node*",
		    TOPO_FB_NO_NUMA);
	assert_int_equal(t->n_nodes, 1);
	assert_true(cpuset_equal(&t->nodes[0].cpus, &t->online));
	topology_free(t);
	tree_free(&tt);
}

static void test_sysfs_topology_load_node_cpumap(void **state)
{
	struct tmp_tree tt;
	struct topology *t;

	(void)state;
	t = damaged(&tt, "skx-2s-snc2", "rm devices/system/node/node*/cpulist",
		    TOPO_FB_NODE_CPUMAP);
	assert_set(&t->nodes[0].cpus, "0-2,5-6,10-12,15-16,40-42,45-46,50-52,55-56");
	topology_free(t);
	tree_free(&tt);
}

/* adl without devices/cpu_core + cpu_atom: max and base frequency, SMT and the shared
 * E-core L2 all split the cores the same way, so the kinds are inferred. */
static void test_sysfs_topology_load_hybrid_without_kind_files(void **state)
{
	struct tmp_tree tt;
	struct topology *t;

	(void)state;
	t = damaged(&tt, "adl-hybrid", "rm -r devices/cpu_core devices/cpu_atom",
		    TOPO_FB_CPU_KIND_INFERRED);
	assert_true(t->hybrid);
	assert_int_equal(topology_cpu(t, 0)->kind, TOPO_CPU_KIND_PERFORMANCE);
	assert_int_equal(topology_cpu(t, 7)->kind, TOPO_CPU_KIND_PERFORMANCE);
	assert_int_equal(topology_cpu(t, 8)->kind, TOPO_CPU_KIND_EFFICIENT);
	assert_int_equal(t->kind_signals, TOPO_KIND_SIG_MAX_FREQ | TOPO_KIND_SIG_BASE_FREQ |
						  TOPO_KIND_SIG_SMT | TOPO_KIND_SIG_L2_SHARE);
	assert_set(&t->l2s[topology_cpu(t, 9)->l2].cpus, "8-11"); /* shape still right */
	topology_free(t);
	tree_free(&tt);
	/* one signal alone is not enough: SMT differs, but nothing else says so */
	t = damaged(&tt, "adl-hybrid",
		    "rm -r devices/cpu_core devices/cpu_atom devices/system/cpu/cpu*/cpufreq && "
		    "for c in devices/system/cpu/cpu*/cache/index2; do "
		    "  cat $c/../../topology/thread_siblings_list > $c/shared_cpu_list; done",
		    0);
	assert_false(t->hybrid);
	topology_free(t);
	tree_free(&tt);
}

static struct topology *load_shape(const char *name, struct shape *sh)
{
	struct topology *t = NULL;
	int r = shape_by_name(name, sh);

	if (r >= 0)
		r = shape_load(sh, &t);
	if (r < 0)
		fail_msg("shape %s: %s", name, strerror(-r));
	return t;
}

/* POWER LPAR: package id -1 on every CPU. One package per node, cores whole, and the
 * fallback says so (not "no topology/": the directory is there). */
static void test_sysfs_topology_load_package_id_unknown(void **state)
{
	struct shape *sh = malloc(sizeof(*sh));
	struct topology *t;

	(void)state;
	assert_non_null(sh);
	t = load_shape("power-lpar", sh);
	assert_int_equal(t->fallbacks, TOPO_FB_NO_PACKAGE_ID);
	assert_int_equal(t->n_packages, 2);
	assert_int_equal(t->n_dies, 2);
	assert_int_equal(t->n_cores, 64);
	assert_set(&t->packages[0].cpus, "0-127");
	assert_set(&t->cores[topology_cpu(t, 5)->core].cpus, "4-7");
	for (int k = 0; k < t->n_cores; k++) {
		int first = cpuset_next(&t->cores[k].cpus, 0);

		assert_int_equal(cpuset_count(&t->cores[k].cpus), 4);
		assert_true(cpuset_is_subset(&t->cores[k].cpus,
					     &t->packages[topology_cpu(t, first)->package].cpus));
	}
	assert_string_equal(topology_fallback_name(TOPO_FB_NO_PACKAGE_ID), "package-id-unknown");
	assert_null(strstr(topology_fallback_desc(TOPO_FB_NO_PACKAGE_ID), "topology/"));
	topology_free(t);
	free(sh);
}

/* 16 sockets, four per node, CPU numbers interleaved over the sockets. */
static void test_sysfs_topology_load_x86_16_sockets(void **state)
{
	struct shape *sh = malloc(sizeof(*sh));
	struct topology *t;

	(void)state;
	assert_non_null(sh);
	t = load_shape("x86-16s", sh);
	assert_int_equal(t->fallbacks, 0);
	assert_int_equal(t->n_packages, 16);
	assert_int_equal(t->n_nodes, 4);
	assert_int_equal(t->n_l3s, 16);
	assert_int_equal(t->n_l2s, 48);
	assert_set(&t->nodes[0].cpus, "0-3,16-19,32-35,48-51,64-67,80-83");
	assert_set(&t->packages[topology_cpu(t, 1)->package].cpus, "1,17,33,49,65,81");
	topology_free(t);
	free(sh);
}

/* Hybrid without the kind files (older kernel, VM): inferred from the other signals. */
static void test_sysfs_topology_load_hybrid_inferred(void **state)
{
	struct shape *sh = malloc(sizeof(*sh));
	struct topology *t;

	(void)state;
	assert_non_null(sh);
	t = load_shape("hybrid-nokind", sh);
	assert_int_equal(t->fallbacks, TOPO_FB_CPU_KIND_INFERRED);
	assert_true(t->hybrid);
	for (int i = 0; i < sh->n_cpus; i++)
		assert_int_equal(topology_cpu(t, i)->kind,
				 i < 12 ? TOPO_CPU_KIND_PERFORMANCE : TOPO_CPU_KIND_EFFICIENT);
	assert_true(t->kind_signals & TOPO_KIND_SIG_SMT);
	assert_true(t->kind_signals & TOPO_KIND_SIG_L2_SHARE);
	assert_true(t->kind_signals & TOPO_KIND_SIG_MAX_FREQ);
	topology_free(t);
	free(sh);
}

/* arm64 has no cpu_core/cpu_atom: cpu_capacity says which cores are big. */
static void test_sysfs_topology_load_arm_capacity(void **state)
{
	struct shape *sh = malloc(sizeof(*sh));
	struct topology *t;
	char buf[128];

	(void)state;
	assert_non_null(sh);
	t = load_shape("arm-biglittle", sh);
	assert_int_equal(t->fallbacks, TOPO_FB_CPU_KIND_INFERRED);
	assert_true(t->hybrid);
	assert_int_equal(topology_cpu(t, 5)->capacity, 1024);
	for (int i = 0; i < sh->n_cpus; i++)
		assert_int_equal(topology_cpu(t, i)->kind,
				 i % 10 >= 5 ? TOPO_CPU_KIND_PERFORMANCE : TOPO_CPU_KIND_EFFICIENT);
	assert_int_equal(t->kind_signals,
			 TOPO_KIND_SIG_CAPACITY | TOPO_KIND_SIG_MAX_FREQ | TOPO_KIND_SIG_L2_SIZE);
	topology_kind_signals_format(t->kind_signals, buf, sizeof(buf));
	assert_string_equal(buf, "cpu_capacity, max frequency, L2 size");
	topology_free(t);
	free(sh);
}

/* Favoured cores (Turbo Boost Max 3.0) differ in max frequency only: not hybrid. */
static void test_sysfs_topology_load_favoured_cores_not_hybrid(void **state)
{
	struct shape *sh = malloc(sizeof(*sh));
	struct topology *t;

	(void)state;
	assert_non_null(sh);
	t = load_shape("x86-favoured", sh);
	assert_int_equal(t->fallbacks, TOPO_FB_NO_CPU_KIND);
	assert_false(t->hybrid);
	assert_int_equal(topology_cpu(t, 2)->kind, TOPO_CPU_KIND_UNKNOWN);
	topology_free(t);
	free(sh);
}

/* The kind files are authoritative, even when they name one kind only. */
static void test_sysfs_topology_load_kind_files_win(void **state)
{
	struct shape *sh = malloc(sizeof(*sh));
	struct topology *t = NULL;

	(void)state;
	assert_non_null(sh);
	assert_int_equal(shape_by_name("hybrid-nokind", sh), 0);
	sh->kind_files = true;
	for (int i = 0; i < sh->n_cpus; i++)
		sh->cpu[i].kind = 'P';
	assert_int_equal(shape_load(sh, &t), 0);
	assert_false(t->hybrid);
	assert_int_equal(t->kind_signals, TOPO_KIND_SIG_FILES);
	assert_int_equal(t->fallbacks, 0);
	topology_free(t);
	free(sh);
}

static void test_sysfs_topology_load_garbage_is_an_error(void **state)
{
	struct tmp_tree tt;
	struct topology *t = (struct topology *)&tt;
	char bad[256];

	(void)state;
	tree_copy(&tt, "vm-2cpu");
	tree_sh(&tt, "echo 'zero-one' > devices/system/cpu/cpu1/topology/core_cpus_list");
	assert_int_equal(sysfs_topology_load_diag(tt.dir, &t, bad, sizeof(bad)), -EINVAL);
	assert_string_equal(bad, "devices/system/cpu/cpu1/topology/core_cpus_list");
	assert_ptr_equal(t, &tt);
	tree_sh(&tt, "echo 1 > devices/system/cpu/cpu1/topology/core_cpus_list && "
		     "echo 9999 > devices/system/cpu/online");
	assert_int_equal(sysfs_topology_load_diag(tt.dir, &t, bad, sizeof(bad)), -ERANGE);
	assert_string_equal(bad, "devices/system/cpu/online");
	tree_free(&tt);
}

static void test_sysfs_topology_load_missing_root(void **state)
{
	struct topology *t = NULL;

	(void)state;
	assert_int_equal(sysfs_topology_load("/nonexistent/sysfs-root", &t), -ENOENT);
	assert_null(t);
	assert_int_equal(sysfs_topology_load(fixtures, &t), -ENOENT); /* no devices/ here */
	assert_int_equal(sysfs_topology_load(fixtures, NULL), -EINVAL);
}

/* ---- buffer parsers ---------------------------------------------------------------- */

static void test_sysfs_parse_values(void **state)
{
	static const char mi[] = "Node 250 MemTotal:       15728640 kB\nNode 250 MemFree: 1 kB\n";
	long long v;
	uint64_t u;
	int d[4];

	(void)state;
	assert_int_equal(sysfs_parse_ll("-1\n\0", 4, &v), 0);
	assert_int_equal(v, -1);
	assert_int_equal(sysfs_parse_ll("8442\n", 5, &v), 0);
	assert_int_equal(v, 8442);
	assert_int_equal(sysfs_parse_ll("12a", 3, &v), -EINVAL);
	assert_int_equal(sysfs_parse_ll("", 0, &v), -EINVAL);
	assert_int_equal(sysfs_parse_size("30720K\n", 7, &u), 0);
	assert_true(u == 30720ull << 10);
	assert_int_equal(sysfs_parse_size("8M", 2, &u), 0);
	assert_true(u == 8ull << 20);
	assert_int_equal(sysfs_parse_size("512", 3, &u), 0);
	assert_true(u == 512);
	assert_int_equal(sysfs_parse_size("8Q", 2, &u), -EINVAL);
	assert_int_equal(sysfs_parse_size("K", 1, &u), -EINVAL);
	assert_int_equal(sysfs_parse_meminfo_total(mi, sizeof(mi) - 1, &u), 0);
	assert_true(u == 15ull << 30);
	assert_int_equal(sysfs_parse_meminfo_total("MemFree: 1 kB", 13, &u), -EINVAL);
	assert_int_equal(sysfs_parse_distances("10 16 32 33\n\0", 13, d, 4), 4);
	assert_int_equal(d[3], 33);
	assert_int_equal(sysfs_parse_distances("10 20 30 40 50", 14, d, 4), 5);
	assert_int_equal(sysfs_parse_distances("10 x", 4, d, 4), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sysfs_topology_load_readme_rows),
		cmocka_unit_test(test_sysfs_topology_load_skx_snc2),
		cmocka_unit_test(test_sysfs_topology_load_skx_4s_siblings),
		cmocka_unit_test(test_sysfs_topology_load_icx_interleaved),
		cmocka_unit_test(test_sysfs_topology_load_epyc_ccx),
		cmocka_unit_test(test_sysfs_topology_load_adl_hybrid),
		cmocka_unit_test(test_sysfs_topology_load_kunpeng),
		cmocka_unit_test(test_sysfs_topology_load_opteron_sibling_pairs),
		cmocka_unit_test(test_sysfs_topology_load_hsw_offline),
		cmocka_unit_test(test_sysfs_topology_load_p9_memory_nodes),
		cmocka_unit_test(test_sysfs_topology_load_nul_padding),
		cmocka_unit_test(test_sysfs_topology_load_no_online_file),
		cmocka_unit_test(test_sysfs_topology_load_no_distance),
		cmocka_unit_test(test_sysfs_topology_load_no_cache),
		cmocka_unit_test(test_sysfs_topology_load_no_topology_dirs),
		cmocka_unit_test(test_sysfs_topology_load_no_siblings),
		cmocka_unit_test(test_sysfs_topology_load_no_numa),
		cmocka_unit_test(test_sysfs_topology_load_node_cpumap),
		cmocka_unit_test(test_sysfs_topology_load_hybrid_without_kind_files),
		cmocka_unit_test(test_sysfs_topology_load_package_id_unknown),
		cmocka_unit_test(test_sysfs_topology_load_x86_16_sockets),
		cmocka_unit_test(test_sysfs_topology_load_hybrid_inferred),
		cmocka_unit_test(test_sysfs_topology_load_arm_capacity),
		cmocka_unit_test(test_sysfs_topology_load_favoured_cores_not_hybrid),
		cmocka_unit_test(test_sysfs_topology_load_kind_files_win),
		cmocka_unit_test(test_sysfs_topology_load_garbage_is_an_error),
		cmocka_unit_test(test_sysfs_topology_load_missing_root),
		cmocka_unit_test(test_sysfs_parse_values),
	};

	if (find_fixtures() < 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
