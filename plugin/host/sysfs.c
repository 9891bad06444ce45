/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Topology discovery from sysfs: reads files under a root dir fd and feeds the
 * policy/topology builder, which does all grouping. This file only decides what each
 * file means and what to do when it is missing (docs/topology.md lists every case).
 *
 * Absent files are normal (older kernels, trimmed containers, offline CPUs) and take
 * a fallback. Present-but-garbled files fail the load with the path in bad_path.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "plugin/host/sysfs.h"

/* sysfs files are at most a page; 64 KiB covers 64 KiB pages (arm64, ppc64). */
#define SYSFS_FILE_MAX	(64 * 1024)
#define SYSFS_PATH_MAX	256 /* longest we build is ~70 chars */
#define CACHE_INDEX_MAX 32
#define CPU_DIR		"devices/system/cpu"
#define NODE_DIR	"devices/system/node"

#define _cleanup_(f) __attribute__((cleanup(f)))

static void closep(int *fd)
{
	if (*fd >= 0)
		close(*fd);
}

static void freep(void *p)
{
	free(*(void **)p);
}

static void closedirp(DIR **d)
{
	if (*d)
		closedir(*d);
}

static void builder_freep(struct topo_builder **b)
{
	topo_builder_free(*b);
}

struct sysfs_ctx {
	int root;
	char *buf; /* SYSFS_FILE_MAX + 1: one file's content, NUL-terminated */
	size_t len;
	char path[SYSFS_PATH_MAX]; /* last path tried, for bad_path */
	struct topo_builder *b;
	unsigned int fb;
	struct cpuset online;
	struct cpuset p_cores, e_cores; /* devices/cpu_core, cpu_atom */
	bool has_kinds;
	struct cpuset node_online;   /* node ids (a cpuset used as a bitmap of ids) */
	struct cpuset node_possible; /* empty if node/possible is missing */
};

/* ---- file access ------------------------------------------------------------------ */

static int ctx_path(struct sysfs_ctx *c, const char *fmt, va_list ap)
	__attribute__((format(printf, 2, 0)));

static int ctx_path(struct sysfs_ctx *c, const char *fmt, va_list ap)
{
	int n = vsnprintf(c->path, sizeof(c->path), fmt, ap);

	return n < 0 || (size_t)n >= sizeof(c->path) ? -ENAMETOOLONG : 0;
}

/* Read a root-relative file into c->buf / c->len. -ENOENT when absent. */
static int ctx_read(struct sysfs_ctx *c, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static int ctx_read(struct sysfs_ctx *c, const char *fmt, ...)
{
	_cleanup_(closep) int fd = -1;
	va_list ap;
	ssize_t n;
	int r;

	va_start(ap, fmt);
	r = ctx_path(c, fmt, ap);
	va_end(ap);
	if (r < 0)
		return r;
	fd = openat(c->root, c->path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		return errno == ENOTDIR ? -ENOENT : -errno;
	c->len = 0;
	do {
		n = read(fd, c->buf + c->len, SYSFS_FILE_MAX + 1 - c->len);
		if (n < 0 && errno != EINTR)
			return -errno;
		if (n > 0)
			c->len += (size_t)n;
	} while (n != 0 && c->len <= SYSFS_FILE_MAX);
	if (c->len > SYSFS_FILE_MAX)
		return -EFBIG;
	c->buf[c->len] = '\0';
	return 0;
}

/*
 * Open a root-relative directory for listing. The caller owns the DIR. -ENOENT if
 * absent.
 */
static int ctx_opendir(struct sysfs_ctx *c, DIR **ret, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int ctx_opendir(struct sysfs_ctx *c, DIR **ret, const char *fmt, ...)
{
	va_list ap;
	DIR *d;
	int fd, r;

	va_start(ap, fmt);
	r = ctx_path(c, fmt, ap);
	va_end(ap);
	if (r < 0)
		return r;
	fd = openat(c->root, c->path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOTDIR ? -ENOENT : -errno;
	d = fdopendir(fd);
	if (!d) {
		r = -errno;
		close(fd);
		return r;
	}
	*ret = d;
	return 0;
}

static int ctx_is_dir(struct sysfs_ctx *c, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* 1 if the root-relative path is a directory, 0 if absent. */
static int ctx_is_dir(struct sysfs_ctx *c, const char *fmt, ...)
{
	struct stat st;
	va_list ap;
	int r;

	va_start(ap, fmt);
	r = ctx_path(c, fmt, ap);
	va_end(ap);
	if (r < 0)
		return r;
	if (fstatat(c->root, c->path, &st, 0) < 0)
		return errno == ENOENT || errno == ENOTDIR ? 0 : -errno;
	return S_ISDIR(st.st_mode);
}

/* "(null)" is what kernels print for an unset nohz_full mask. */
static bool buf_is_null_mask(const struct sysfs_ctx *c)
{
	return strstr(c->buf, "(null)") != NULL;
}

/* cpulist (mask = false) or cpumask file. */
static int ctx_set(struct sysfs_ctx *c, struct cpuset *ret, bool mask)
{
	if (buf_is_null_mask(c)) {
		cpuset_zero(ret);
		return 0;
	}
	return mask ? cpuset_parse_mask(c->buf, c->len, ret) : cpuset_parse(c->buf, c->len, ret);
}

#define READ_SET(c, ret, mask, ...)                        \
	({                                                 \
		int _r = ctx_read((c), __VA_ARGS__);       \
		_r < 0 ? _r : ctx_set((c), (ret), (mask)); \
	})

#define READ_LL(c, ret, ...)                                             \
	({                                                               \
		int _r = ctx_read((c), __VA_ARGS__);                     \
		_r < 0 ? _r : sysfs_parse_ll((c)->buf, (c)->len, (ret)); \
	})

/* Optional-file semantics: absent is 0 with *present = false, garbage is an error. */
static int opt(int r, bool *present)
{
	*present = r >= 0;
	return r == -ENOENT ? 0 : r;
}

/* ---- CPUs --------------------------------------------------------------------- */

static int cpu_read_siblings(struct sysfs_ctx *c, int id, struct cpuset *ret)
{
	static const char *const files[] = {"core_cpus_list", "thread_siblings_list", "core_cpus",
					    "thread_siblings"};
	bool present;
	int r;

	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		r = opt(READ_SET(c, ret, i >= 2, CPU_DIR "/cpu%d/topology/%s", id, files[i]),
			&present);
		if (r < 0 || present)
			return r;
	}
	c->fb |= TOPO_FB_NO_SIBLINGS_LIST;
	return 0;
}

static int cpu_read_topology(struct sysfs_ctx *c, struct topo_cpu_info *ci)
{
	bool present;
	int r;

	r = opt(READ_LL(c, &ci->package_id, CPU_DIR "/cpu%d/topology/physical_package_id", ci->id),
		&present);
	if (r < 0)
		return r;
	if (!present) {
		c->fb |= TOPO_FB_NO_TOPOLOGY;
		return 0;
	}
	r = opt(READ_LL(c, &ci->die_id, CPU_DIR "/cpu%d/topology/die_id", ci->id), &present);
	if (r >= 0)
		r = opt(READ_LL(c, &ci->cluster_id, CPU_DIR "/cpu%d/topology/cluster_id", ci->id),
			&present);
	if (r >= 0)
		r = opt(READ_LL(c, &ci->core_id, CPU_DIR "/cpu%d/topology/core_id", ci->id),
			&present);
	if (r >= 0)
		r = cpu_read_siblings(c, ci->id, &ci->siblings);
	return r;
}

/* One cache indexM dir. Returns -ENOENT when there is no such index. */
static int cpu_read_cache(struct sysfs_ctx *c, struct topo_cpu_info *ci, int idx)
{
	long long level, id = -1;
	struct cpuset cpus;
	uint64_t size = 0;
	bool present;
	int r;

	r = READ_LL(c, &level, CPU_DIR "/cpu%d/cache/index%d/level", ci->id, idx);
	if (r < 0 || (level != 2 && level != 3))
		return r;
	r = ctx_read(c, CPU_DIR "/cpu%d/cache/index%d/type", ci->id, idx);
	if (r >= 0 && !strncmp(c->buf, "Instruction", 11))
		return 0;
	r = opt(READ_LL(c, &id, CPU_DIR "/cpu%d/cache/index%d/id", ci->id, idx), &present);
	if (r >= 0)
		r = opt(ctx_read(c, CPU_DIR "/cpu%d/cache/index%d/size", ci->id, idx), &present);
	if (r >= 0 && present)
		r = sysfs_parse_size(c->buf, c->len, &size);
	if (r < 0)
		return r;
	r = opt(READ_SET(c, &cpus, false, CPU_DIR "/cpu%d/cache/index%d/shared_cpu_list", ci->id,
			 idx),
		&present);
	if (r >= 0 && !present)
		r = opt(READ_SET(c, &cpus, true, CPU_DIR "/cpu%d/cache/index%d/shared_cpu_map",
				 ci->id, idx),
			&present);
	if (r < 0)
		return r;
	if (!present)
		cpuset_zero(&cpus);
	if (level == 2) {
		ci->l2_id = id, ci->l2_cpus = cpus, ci->l2_size = size;
	} else {
		ci->l3_id = id, ci->l3_cpus = cpus, ci->l3_size = size;
	}
	return 0;
}

static int cpu_read_caches(struct sysfs_ctx *c, struct topo_cpu_info *ci)
{
	for (int idx = 0; idx < CACHE_INDEX_MAX; idx++) {
		int r = cpu_read_cache(c, ci, idx);

		if (r == -ENOENT)
			return 0; /* indexes are contiguous; no cache/ at all is a fallback */
		if (r < 0)
			return r;
	}
	return 0;
}

static int cpu_read_khz(struct sysfs_ctx *c, int id, const char *file, uint32_t *ret)
{
	long long v;
	bool present;
	int r = opt(READ_LL(c, &v, CPU_DIR "/cpu%d/cpufreq/%s", id, file), &present);

	if (r < 0)
		return r;
	if (present && (v < 0 || v > UINT32_MAX))
		return -EINVAL;
	*ret = present ? (uint32_t)v : 0;
	return 0;
}

/* cpuN/cpu_capacity (arm64, riscv): the scheduler's capacity, 1024 = the biggest core. */
static int cpu_read_capacity(struct sysfs_ctx *c, struct topo_cpu_info *ci)
{
	long long v;
	bool present;
	int r = opt(READ_LL(c, &v, CPU_DIR "/cpu%d/cpu_capacity", ci->id), &present);

	if (r < 0)
		return r;
	if (present && (v < 0 || v > UINT32_MAX))
		return -EINVAL;
	ci->capacity = present ? (uint32_t)v : 0;
	return 0;
}

/* The cpuN/nodeM entry (a symlink in sysfs, may be a plain file in copies). */
static int cpu_read_node_link(struct sysfs_ctx *c, struct topo_cpu_info *ci)
{
	_cleanup_(closedirp) DIR *d = NULL;
	struct dirent *de;
	int r, node;
	char tail;

	r = ctx_opendir(c, &d, CPU_DIR "/cpu%d", ci->id);
	if (r < 0)
		return r == -ENOENT ? 0 : r;
	while ((de = readdir(d))) {
		if (sscanf(de->d_name, "node%d%c", &node, &tail) != 1 || node < 0 ||
		    node >= CPUSET_MAX)
			continue;
		/* hsw: links to node0, which is offline and has no dir; ignore those */
		if (cpuset_test(&c->node_online, (unsigned int)node))
			ci->node_id = node;
	}
	return 0;
}

static int cpu_load(struct sysfs_ctx *c, int id, bool online)
{
	struct topo_cpu_info ci;
	int r;

	topo_cpu_info_init(&ci, id);
	ci.online = online;
	if (online) {
		r = cpu_read_topology(c, &ci);
		if (r >= 0)
			r = cpu_read_caches(c, &ci);
		if (r >= 0)
			r = cpu_read_khz(c, id, "base_frequency", &ci.base_khz);
		if (r >= 0)
			r = cpu_read_khz(c, id, "cpuinfo_max_freq", &ci.max_khz);
		if (r >= 0)
			r = cpu_read_capacity(c, &ci);
		if (r >= 0)
			r = cpu_read_node_link(c, &ci);
		if (r < 0)
			return r;
		if (cpuset_test(&c->p_cores, (unsigned int)id))
			ci.kind = TOPO_CPU_KIND_PERFORMANCE;
		else if (cpuset_test(&c->e_cores, (unsigned int)id))
			ci.kind = TOPO_CPU_KIND_EFFICIENT;
	}
	return topo_builder_add_cpu(c->b, &ci);
}

/* cpuN directories present under devices/system/cpu. */
static int cpu_list_dirs(struct sysfs_ctx *c, struct cpuset *ret)
{
	_cleanup_(closedirp) DIR *d = NULL;
	struct dirent *de;
	int r, id;
	char tail;

	r = ctx_opendir(c, &d, CPU_DIR);
	if (r < 0)
		return r;
	cpuset_zero(ret);
	while ((de = readdir(d)))
		if (sscanf(de->d_name, "cpu%d%c", &id, &tail) == 1 && id >= 0 && id < CPUSET_MAX)
			cpuset_set(ret, (unsigned int)id);
	return 0;
}

/*
 * Without cpu/online: cpuN/online says "0" for offline; absent (cpu0 on x86) means
 * online unless cpu/offline names it.
 */
static int cpu_online_from_dirs(struct sysfs_ctx *c, const struct cpuset *dirs)
{
	long long v;
	bool present;
	int id, r;

	struct cpuset offline;

	c->fb |= TOPO_FB_NO_ONLINE_FILE;
	cpuset_zero(&c->online);
	cpuset_foreach (id, dirs) {
		r = opt(READ_LL(c, &v, CPU_DIR "/cpu%d/online", id), &present);
		if (r < 0)
			return r;
		if (!present || v)
			cpuset_set(&c->online, (unsigned int)id);
	}
	/* cpu/offline, when it survived, overrides a missing cpuN/online */
	r = opt(READ_SET(c, &offline, false, CPU_DIR "/offline"), &present);
	if (r >= 0 && present)
		cpuset_andnot(&c->online, &c->online, &offline);
	return r;
}

/* Whole-system CPU sets; each optional. */
static int cpu_read_sets(struct sysfs_ctx *c)
{
	static const char *const names[] = {"possible", "present", "isolated", "nohz_full"};
	void (*const setters[])(struct topo_builder *, const struct cpuset *) = {
		topo_builder_set_possible, topo_builder_set_present, topo_builder_set_isolated,
		topo_builder_set_nohz_full};
	struct cpuset s;
	bool present;
	int r;

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		r = opt(READ_SET(c, &s, false, CPU_DIR "/%s", names[i]), &present);
		if (r < 0)
			return r;
		if (present)
			setters[i](c->b, &s);
	}
	r = opt(READ_SET(c, &c->p_cores, false, "devices/cpu_core/cpus"), &present);
	c->has_kinds = present;
	if (r >= 0)
		r = opt(READ_SET(c, &c->e_cores, false, "devices/cpu_atom/cpus"), &present);
	c->has_kinds = c->has_kinds || present;
	return r;
}

static int cpus_load(struct sysfs_ctx *c)
{
	struct cpuset dirs, all, present;
	bool has_online, has_present;
	int r, id;

	r = cpu_list_dirs(c, &dirs);
	if (r < 0)
		return r;
	r = opt(READ_SET(c, &c->online, false, CPU_DIR "/online"), &has_online);
	if (r >= 0 && !has_online)
		r = cpu_online_from_dirs(c, &dirs);
	if (r >= 0)
		r = opt(READ_SET(c, &present, false, CPU_DIR "/present"), &has_present);
	if (r >= 0)
		r = cpu_read_sets(c);
	if (r < 0)
		return r;
	/* Offline CPUs are added too so the model can say what is offline. */
	cpuset_or(&all, &dirs, &c->online);
	if (has_present)
		cpuset_or(&all, &all, &present);
	cpuset_foreach (id, &all) {
		r = cpu_load(c, id, cpuset_test(&c->online, (unsigned int)id));
		if (r < 0)
			return r;
	}
	return 0;
}

/* ---- NUMA nodes ------------------------------------------------------------------- */

/* Online node ids: node/online, else the nodeN dirs present. */
static int node_scan(struct sysfs_ctx *c)
{
	_cleanup_(closedirp) DIR *d = NULL;
	struct dirent *de;
	bool present;
	int r, id;
	char tail;

	cpuset_zero(&c->node_online);
	cpuset_zero(&c->node_possible);
	r = opt(READ_SET(c, &c->node_possible, false, NODE_DIR "/possible"), &present);
	if (r >= 0)
		r = opt(READ_SET(c, &c->node_online, false, NODE_DIR "/online"), &present);
	if (r < 0 || present)
		return r;
	r = ctx_opendir(c, &d, NODE_DIR);
	if (r == -ENOENT)
		return 0; /* no NUMA in sysfs: the builder makes one node (TOPO_FB_NO_NUMA) */
	if (r < 0)
		return r;
	while ((de = readdir(d)))
		if (sscanf(de->d_name, "node%d%c", &id, &tail) == 1 && id >= 0 && id < CPUSET_MAX)
			cpuset_set(&c->node_online, (unsigned int)id);
	return 0;
}

/*
 * The kernel prints one column per online node, in id order. hsw's file was
 * captured before node0 went offline and has a column per possible node instead;
 * any other count cannot be mapped and is treated as a missing file.
 */
static const struct cpuset *distance_columns(const struct sysfs_ctx *c, int n)
{
	if (n == (int)cpuset_count(&c->node_online))
		return &c->node_online;
	if (n == (int)cpuset_count(&c->node_possible))
		return &c->node_possible;
	return NULL;
}

static int node_read_distance(struct sysfs_ctx *c, int id)
{
	_cleanup_(freep) int *d = NULL;
	const struct cpuset *cols;
	int n, r, j = 0, col;
	bool present;

	r = opt(ctx_read(c, NODE_DIR "/node%d/distance", id), &present);
	if (r < 0 || !present) {
		c->fb |= r < 0 ? 0 : TOPO_FB_NO_DISTANCE;
		return r;
	}
	d = calloc(CPUSET_MAX, sizeof(*d));
	if (!d)
		return -ENOMEM;
	n = sysfs_parse_distances(c->buf, c->len, d, CPUSET_MAX);
	if (n < 0)
		return n;
	cols = distance_columns(c, n);
	if (!cols) {
		c->fb |= TOPO_FB_NO_DISTANCE;
		return 0;
	}
	cpuset_foreach (col, cols) {
		r = topo_builder_set_distance(c->b, id, col, d[j++]);
		if (r < 0)
			return r;
	}
	return 0;
}

static int node_read_cpus(struct sysfs_ctx *c, int id, struct cpuset *cpus)
{
	bool present;
	int r;

	r = opt(READ_SET(c, cpus, false, NODE_DIR "/node%d/cpulist", id), &present);
	if (r < 0 || present)
		return r;
	r = opt(READ_SET(c, cpus, true, NODE_DIR "/node%d/cpumap", id), &present);
	if (r >= 0 && present)
		c->fb |= TOPO_FB_NODE_CPUMAP;
	if (r >= 0 && !present)
		cpuset_zero(cpus);
	return r;
}

/*
 * has_memory: node/has_memory when it exists, else MemTotal > 0, else assume yes
 * (epyc has neither; a node with CPUs and no memory is the rare case).
 */
static int node_load(struct sysfs_ctx *c, int id, const struct cpuset *has_memory,
		     bool has_memory_file)
{
	struct cpuset cpus;
	uint64_t mem = 0;
	bool present, has_mem;
	int r;

	r = node_read_cpus(c, id, &cpus);
	if (r >= 0)
		r = opt(ctx_read(c, NODE_DIR "/node%d/meminfo", id), &present);
	if (r >= 0 && present)
		r = sysfs_parse_meminfo_total(c->buf, c->len, &mem);
	if (r < 0)
		return r;
	has_mem = has_memory_file ? cpuset_test(has_memory, (unsigned int)id) : !present || mem;
	r = topo_builder_add_node(c->b, id, &cpus, mem, has_mem);
	if (r >= 0)
		r = node_read_distance(c, id);
	return r;
}

static int nodes_load(struct sysfs_ctx *c)
{
	struct cpuset has_memory;
	bool has_memory_file;
	int r, id;

	r = opt(READ_SET(c, &has_memory, false, NODE_DIR "/has_memory"), &has_memory_file);
	if (r < 0)
		return r;
	cpuset_foreach (id, &c->node_online) {
		/* An online node without a dir tells us nothing; skip rather than invent it. */
		r = ctx_is_dir(c, NODE_DIR "/node%d", id);
		if (r < 0)
			return r;
		if (!r)
			continue;
		r = node_load(c, id, &has_memory, has_memory_file);
		if (r < 0)
			return r;
	}
	return 0;
}

/* ---- entry point ---------------------------------------------------------------- */

static int load(struct sysfs_ctx *c, struct topology **ret)
{
	struct topology *t = NULL;
	int r;

	r = node_scan(c);
	if (r >= 0)
		r = cpus_load(c);
	if (r >= 0)
		r = nodes_load(c);
	if (r < 0)
		return r;
	c->path[0] = '\0'; /* from here on no single file is to blame */
	topo_builder_add_fallback(c->b, c->fb);
	if (c->has_kinds)
		topo_builder_set_kinds_known(c->b);
	r = topology_build(c->b, &t);
	if (r < 0)
		return r;
	*ret = t;
	return 0;
}

int sysfs_topology_load_diag(const char *root, struct topology **ret, char *bad_path, size_t size)
{
	_cleanup_(builder_freep) struct topo_builder *b = NULL;
	_cleanup_(closep) int fd = -1;
	_cleanup_(freep) struct sysfs_ctx *c = NULL;
	_cleanup_(freep) char *buf = NULL;
	int r;

	if (bad_path && size)
		bad_path[0] = '\0';
	if (!ret)
		return -EINVAL;
	fd = open(root ? root : SYSFS_DEFAULT_ROOT, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	c = calloc(1, sizeof(*c));
	buf = malloc(SYSFS_FILE_MAX + 1);
	if (!c || !buf)
		return -ENOMEM;
	r = topo_builder_new(&b);
	if (r < 0)
		return r;
	c->root = fd;
	c->buf = buf;
	c->b = b;
	r = load(c, ret);
	if (r < 0 && bad_path && size)
		snprintf(bad_path, size, "%s", c->path);
	return r;
}

int sysfs_topology_load(const char *root, struct topology **ret)
{
	return sysfs_topology_load_diag(root, ret, NULL, 0);
}
