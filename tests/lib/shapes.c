/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The shapes of issue 16, built in code (see shapes.h), and a writer that lays one out
 * as a sysfs tree the way the kernel would.
 */
#define _GNU_SOURCE
#include "tests/lib/shapes.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "plugin/host/sysfs.h"

static void cpu_init(struct shape_cpu *c, int id)
{
	memset(c, 0, sizeof(*c));
	c->id = id;
	c->package_id = c->die_id = c->cluster_id = c->core_id = SHAPE_NO_FILE;
	c->core = id;
	c->l2 = c->l3 = -1;
}

static void shape_init(struct shape *s, const char *name, const char *desc, int n_cpus, int n_nodes,
		       int remote)
{
	memset(s, 0, sizeof(*s));
	s->name = name;
	s->desc = desc;
	s->n_cpus = n_cpus;
	s->n_nodes = n_nodes;
	s->remote = remote;
	s->bench = true;
	for (int i = 0; i < n_cpus; i++)
		cpu_init(&s->cpu[i], i);
}

/* POWER LPAR: package id -1 everywhere, SMT4 cores with consecutive CPU numbers, L2 and
 * L3 shared by core pairs, two nodes, no cpufreq. */
static void power_lpar(struct shape *s)
{
	shape_init(s, "power-lpar",
		   "POWER LPAR: physical_package_id -1, 64 SMT4 cores, 2 nodes, L2/L3 per core "
		   "pair",
		   256, 2, 40);
	for (int i = 0; i < s->n_cpus; i++) {
		struct shape_cpu *c = &s->cpu[i];
		int core = i / 4;

		c->package_id = c->die_id = -1;
		c->core_id = core;
		c->core = core;
		c->l2 = c->l3 = core / 2;
		c->l2_kib = 512;
		c->l3_kib = 10240;
		c->node = core < 32 ? 0 : 1;
	}
}

/* An old 16-socket x86 (Dunnington-like): 6 cores per socket, no SMT, L2 per core pair,
 * four sockets per node, CPU numbers interleaved across the sockets. */
static void x86_16s(struct shape *s)
{
	shape_init(s, "x86-16s",
		   "16 sockets x 6 cores, 4 sockets per node, CPU numbers interleaved over the "
		   "sockets, L2 per core pair",
		   96, 4, 20);
	for (int i = 0; i < s->n_cpus; i++) {
		struct shape_cpu *c = &s->cpu[i];
		int sock = i % 16, core = i / 16;

		c->package_id = sock;
		c->die_id = 0;
		c->core_id = core;
		c->core = sock * 6 + core;
		c->l2 = sock * 3 + core / 2;
		c->l3 = sock;
		c->l2_kib = 3072;
		c->l3_kib = 16384;
		c->node = sock / 4;
		c->max_khz = 2660000;
	}
}

/* Two sockets without SMT whose CPU numbers alternate between the sockets. */
static void x86_2s_interleaved(struct shape *s)
{
	shape_init(s, "x86-2s-interleaved",
		   "2 sockets x 8 cores, no SMT, even CPUs on socket 0, odd on socket 1", 16, 2,
		   21);
	for (int i = 0; i < s->n_cpus; i++) {
		struct shape_cpu *c = &s->cpu[i];

		c->package_id = i % 2;
		c->die_id = 0;
		c->core_id = i / 2;
		c->l2 = i;
		c->l3 = i % 2;
		c->l2_kib = 1280;
		c->l3_kib = 30720;
		c->node = i % 2;
		c->max_khz = 3500000;
		c->base_khz = 2100000;
	}
}

/* Alder Lake-like hybrid on a kernel without devices/cpu_core + cpu_atom: 6 P cores
 * (SMT2, CPUs 2k and 2k+1), 8 E cores in two clusters of four sharing an L2. */
static void hybrid_nokind(struct shape *s)
{
	shape_init(s, "hybrid-nokind",
		   "6 P cores (SMT2) + 8 E cores (L2 per 4), no cpu_core/cpu_atom files", 20, 1,
		   20);
	for (int i = 0; i < s->n_cpus; i++) {
		struct shape_cpu *c = &s->cpu[i];
		bool p = i < 12;
		int core = p ? i / 2 : 6 + (i - 12);

		c->package_id = 0;
		c->die_id = 0;
		c->core_id = p ? core * 4 : 24 + (i - 12);
		c->core = core;
		c->l2 = p ? core : 6 + (i - 12) / 4;
		c->cluster_id = c->l2 * 8;
		c->l3 = 0;
		c->l2_kib = p ? 1280 : 2048;
		c->l3_kib = 24576;
		c->max_khz = p ? 4700000 : 3500000;
		c->base_khz = p ? 2300000 : 1700000;
		c->kind = p ? 'P' : 'E';
	}
}

/* arm64 big.LITTLE (GB10-like): two clusters of 5 Cortex-A725 + 5 Cortex-X925, private
 * L2s of different size, cpu_capacity, no cpu_core/cpu_atom (arm64 has none). */
static void arm_biglittle(struct shape *s)
{
	shape_init(s, "arm-biglittle",
		   "arm64: 2 clusters of 5 A725 + 5 X925, cpu_capacity and L2 size differ", 20, 1,
		   20);
	for (int i = 0; i < s->n_cpus; i++) {
		struct shape_cpu *c = &s->cpu[i];
		bool big = i % 10 >= 5;

		c->package_id = 0;
		c->cluster_id = i / 10;
		c->core_id = i % 10;
		c->l2 = i;
		c->l3 = i / 10;
		c->l2_kib = big ? 2048 : 512;
		c->l3_kib = 16384;
		c->capacity = big ? 1024 : 560;
		c->max_khz = big ? 3900000 : 2800000;
		c->kind = big ? 'P' : 'E';
	}
}

/* Not hybrid: favoured cores (Turbo Boost Max 3.0) differ only in max frequency. */
static void x86_favoured(struct shape *s)
{
	shape_init(s, "x86-favoured",
		   "8 cores SMT2, cores 2 and 5 favoured (higher max frequency): not hybrid", 16, 1,
		   20);
	s->bench = false;
	for (int i = 0; i < s->n_cpus; i++) {
		struct shape_cpu *c = &s->cpu[i];
		int core = i % 8;

		c->package_id = 0;
		c->die_id = 0;
		c->core_id = core;
		c->core = core;
		c->l2 = core;
		c->l3 = 0;
		c->l2_kib = 2048;
		c->l3_kib = 16384;
		c->max_khz = core == 2 || core == 5 ? 4500000 : 4300000;
		c->base_khz = 2100000;
	}
}

static void (*const makers[])(struct shape *) = {
	power_lpar, x86_16s, x86_2s_interleaved, hybrid_nokind, arm_biglittle, x86_favoured,
};

size_t shape_count(void)
{
	return sizeof(makers) / sizeof(makers[0]);
}

int shape_get(size_t i, struct shape *ret)
{
	if (!ret || i >= shape_count())
		return -ENOENT;
	makers[i](ret);
	return 0;
}

int shape_by_name(const char *name, struct shape *ret)
{
	for (size_t i = 0; i < shape_count(); i++) {
		makers[i](ret);
		if (strcmp(ret->name, name) == 0)
			return 0;
	}
	return -ENOENT;
}

/* ---- writing a sysfs tree ------------------------------------------------------------ */

struct out {
	const char *dir;
	char path[4096];
	int err;
};

static int mkdirs(char *path)
{
	for (char *p = strchr(path + 1, '/'); p; p = strchr(p + 1, '/')) {
		*p = '\0';
		if (mkdir(path, 0755) < 0 && errno != EEXIST) {
			*p = '/';
			return -errno;
		}
		*p = '/';
	}
	return 0;
}

static void __attribute__((format(printf, 3, 4)))
put(struct out *o, const char *rel, const char *fmt, ...)
{
	va_list ap;
	FILE *f;

	if (o->err)
		return;
	snprintf(o->path, sizeof(o->path), "%s/%s", o->dir, rel);
	o->err = mkdirs(o->path);
	f = o->err ? NULL : fopen(o->path, "we");
	if (!f) {
		o->err = o->err ? o->err : -errno;
		return;
	}
	va_start(ap, fmt);
	vfprintf(f, fmt, ap);
	va_end(ap);
	if (fclose(f) != 0)
		o->err = -EIO;
}

static const char *list_of(const struct cpuset *set, char *buf, size_t size)
{
	if (cpuset_format(set, buf, size) < 0)
		snprintf(buf, size, "0");
	return buf;
}

/* CPUs of s for which same(a, b) holds against CPU i. */
static void cpus_like(const struct shape *s, int i,
		      bool (*same)(const struct shape_cpu *, const struct shape_cpu *),
		      struct cpuset *ret)
{
	cpuset_zero(ret);
	for (int j = 0; j < s->n_cpus; j++)
		if (same(&s->cpu[i], &s->cpu[j]))
			cpuset_set(ret, (unsigned int)s->cpu[j].id);
}

static bool same_core(const struct shape_cpu *a, const struct shape_cpu *b)
{
	return a->core == b->core;
}

static bool same_l2(const struct shape_cpu *a, const struct shape_cpu *b)
{
	return a->l2 == b->l2;
}

static bool same_l3(const struct shape_cpu *a, const struct shape_cpu *b)
{
	return a->l3 == b->l3;
}

static bool same_package(const struct shape_cpu *a, const struct shape_cpu *b)
{
	/* -1 says nothing: the kernel then lists the thread siblings (POWER LPARs) */
	return a->package_id < 0 ? a->core == b->core : a->package_id == b->package_id;
}

static void put_id(struct out *o, int id, const char *name, long long v)
{
	char rel[128];

	if (v == SHAPE_NO_FILE)
		return;
	snprintf(rel, sizeof(rel), "devices/system/cpu/cpu%d/topology/%s", id, name);
	put(o, rel, "%lld\n", v);
}

static void put_cache(struct out *o, const struct shape *s, int i, int idx, int level,
		      const char *type, uint32_t kib, int id,
		      bool (*same)(const struct shape_cpu *, const struct shape_cpu *))
{
	static char list[CPUSET_MAX * 6];
	const struct shape_cpu *c = &s->cpu[i];
	struct cpuset set;
	char rel[128];

	cpus_like(s, i, same, &set);
#define CACHE(f) \
	(snprintf(rel, sizeof(rel), "devices/system/cpu/cpu%d/cache/index%d/" f, c->id, idx), rel)
	put(o, CACHE("level"), "%d\n", level);
	put(o, CACHE("type"), "%s\n", type);
	put(o, CACHE("size"), "%uK\n", kib);
	put(o, CACHE("shared_cpu_list"), "%s\n", list_of(&set, list, sizeof(list)));
	if (id >= 0)
		put(o, CACHE("id"), "%d\n", id);
#undef CACHE
}

static void put_cpu(struct out *o, const struct shape *s, int i)
{
	static char list[CPUSET_MAX * 6];
	const struct shape_cpu *c = &s->cpu[i];
	struct cpuset set;
	char rel[128];

	put_id(o, c->id, "physical_package_id", c->package_id);
	put_id(o, c->id, "die_id", c->die_id);
	put_id(o, c->id, "cluster_id", c->cluster_id);
	put_id(o, c->id, "core_id", c->core_id);
	cpus_like(s, i, same_core, &set);
	snprintf(rel, sizeof(rel), "devices/system/cpu/cpu%d/topology/thread_siblings_list", c->id);
	put(o, rel, "%s\n", list_of(&set, list, sizeof(list)));
	put_cache(o, s, i, 0, 1, "Data", 48, -1, same_core);
	put_cache(o, s, i, 1, 1, "Instruction", 32, -1, same_core);
	if (c->l2 >= 0)
		put_cache(o, s, i, 2, 2, "Unified", c->l2_kib, c->l2, same_l2);
	if (c->l2 >= 0 && c->l3 >= 0)
		put_cache(o, s, i, 3, 3, "Unified", c->l3_kib, c->l3, same_l3);
	cpus_like(s, i, same_package, &set);
	snprintf(rel, sizeof(rel), "devices/system/cpu/cpu%d/topology/core_siblings_list", c->id);
	put(o, rel, "%s\n", list_of(&set, list, sizeof(list)));
	if (c->max_khz) {
		snprintf(rel, sizeof(rel), "devices/system/cpu/cpu%d/cpufreq/cpuinfo_max_freq",
			 c->id);
		put(o, rel, "%u\n", c->max_khz);
	}
	if (c->base_khz) {
		snprintf(rel, sizeof(rel), "devices/system/cpu/cpu%d/cpufreq/base_frequency",
			 c->id);
		put(o, rel, "%u\n", c->base_khz);
	}
	if (c->capacity) {
		snprintf(rel, sizeof(rel), "devices/system/cpu/cpu%d/cpu_capacity", c->id);
		put(o, rel, "%u\n", c->capacity);
	}
}

static void put_nodes(struct out *o, const struct shape *s)
{
	static char list[CPUSET_MAX * 6];
	char rel[128], dist[512];

	put(o, "devices/system/node/online", "0-%d\n", s->n_nodes - 1);
	put(o, "devices/system/node/possible", "0-%d\n", s->n_nodes - 1);
	put(o, "devices/system/node/has_memory", "0-%d\n", s->n_nodes - 1);
	for (int n = 0; n < s->n_nodes; n++) {
		struct cpuset set;
		size_t len = 0;

		cpuset_zero(&set);
		for (int i = 0; i < s->n_cpus; i++)
			if (s->cpu[i].node == n)
				cpuset_set(&set, (unsigned int)s->cpu[i].id);
		snprintf(rel, sizeof(rel), "devices/system/node/node%d/cpulist", n);
		put(o, rel, "%s\n", list_of(&set, list, sizeof(list)));
		for (int m = 0; m < s->n_nodes && len < sizeof(dist) - 8; m++)
			len += (size_t)snprintf(dist + len, sizeof(dist) - len, "%s%d",
						m ? " " : "", m == n ? 10 : s->remote);
		snprintf(rel, sizeof(rel), "devices/system/node/node%d/distance", n);
		put(o, rel, "%s\n", dist);
		snprintf(rel, sizeof(rel), "devices/system/node/node%d/meminfo", n);
		put(o, rel, "Node %d MemTotal:       16777216 kB\n", n);
	}
}

static void put_kinds(struct out *o, const struct shape *s)
{
	static char list[CPUSET_MAX * 6];
	struct cpuset p, e;

	cpuset_zero(&p);
	cpuset_zero(&e);
	for (int i = 0; i < s->n_cpus; i++) {
		if (s->cpu[i].kind == 'P')
			cpuset_set(&p, (unsigned int)s->cpu[i].id);
		else if (s->cpu[i].kind == 'E')
			cpuset_set(&e, (unsigned int)s->cpu[i].id);
	}
	put(o, "devices/cpu_core/cpus", "%s\n", list_of(&p, list, sizeof(list)));
	put(o, "devices/cpu_atom/cpus", "%s\n", list_of(&e, list, sizeof(list)));
}

int shape_write_sysfs(const struct shape *s, const char *dir)
{
	struct out o = {.dir = dir};

	if (!s || !dir || s->n_cpus < 1 || s->n_cpus > SHAPE_MAX_CPUS)
		return -EINVAL;
	put(&o, "devices/system/cpu/online", "0-%d\n", s->n_cpus - 1);
	put(&o, "devices/system/cpu/possible", "0-%d\n", s->n_cpus - 1);
	put(&o, "devices/system/cpu/present", "0-%d\n", s->n_cpus - 1);
	for (int i = 0; i < s->n_cpus; i++)
		put_cpu(&o, s, i);
	put_nodes(&o, s);
	if (s->kind_files)
		put_kinds(&o, s);
	return o.err;
}

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

int shape_load(const struct shape *s, struct topology **ret)
{
	char dir[] = "/tmp/topoguard-shape-XXXXXX", bad[256];
	struct topology *t = NULL;
	int r;

	if (!mkdtemp(dir))
		return -errno;
	r = shape_write_sysfs(s, dir);
	if (r >= 0)
		r = sysfs_topology_load_diag(dir, &t, bad, sizeof(bad));
	nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	if (r < 0)
		return r;
	*ret = t;
	return 0;
}
