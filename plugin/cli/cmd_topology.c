/* SPDX-License-Identifier: Apache-2.0 */
/*
 * topoguard topology [--sysfs-root DIR] [--json]
 *
 * Prints what discovery found, in the same dense model the policy uses, so an
 * operator can check the plugin's view of the node before trusting its placements,
 * and the GPUs, NICs, accelerators and NVMe controllers of each node (what pulls the
 * containers using them there, docs/annotations.md "Devices").
 * Levels do not always nest (an SNC L3 spans two nodes, an EPYC CCX is smaller than
 * its node), so the tree shows each level clipped to its parent's CPUs.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <json.h>

#include "plugin/cli/cmd.h"
#include "plugin/host/devices.h"
#include "plugin/host/sysfs.h"

#define PCI_MAX 1024 /* devices listed; more are counted */

struct pci_list {
	struct devices_pci dev[PCI_MAX];
	int n; /* how many there are (may exceed PCI_MAX), 0 if no PCI bus */
};

static struct pci_list pci;

enum tree_level { TL_PACKAGE, TL_DIE, TL_NODE, TL_L3, TL_L2, TL_CORE, TL_END };

static const char *const level_names[] = {"package", "die", "node", "L3", "L2", "core"};

/* Large enough for any cpulist of CPUSET_MAX ids ("0,2,4,...,4094" is ~10 KiB). */
static char list_buf[CPUSET_MAX * 6];

static const char *fmt_set(const struct cpuset *s)
{
	if (cpuset_format(s, list_buf, sizeof(list_buf)) < 0)
		return "?";
	return list_buf;
}

/* Human output: an empty set reads better as a word than as nothing. */
static const char *fmt_set_h(const struct cpuset *s)
{
	return cpuset_is_empty(s) ? "(none)" : fmt_set(s);
}

static const char *kind_name(enum topo_cpu_kind k)
{
	return k == TOPO_CPU_KIND_PERFORMANCE ? "P" : k == TOPO_CPU_KIND_EFFICIENT ? "E" : "";
}

/* The CPU set of domain i at a tree level, and its count. */
static const struct cpuset *level_cpus(const struct topology *t, enum tree_level lv, int i)
{
	switch (lv) {
	case TL_PACKAGE:
		return &t->packages[i].cpus;
	case TL_DIE:
		return &t->dies[i].cpus;
	case TL_NODE:
		return &t->nodes[i].cpus;
	case TL_L3:
		return &t->l3s[i].cpus;
	case TL_L2:
		return &t->l2s[i].cpus;
	default:
		return &t->cores[i].cpus;
	}
}

static int level_count(const struct topology *t, enum tree_level lv)
{
	const int counts[] = {t->n_packages, t->n_dies, t->n_nodes, t->n_l3s, t->n_l2s, t->n_cores};

	return counts[lv];
}

static void print_size(uint64_t bytes)
{
	if (!bytes)
		return;
	if (bytes >= (1ull << 30))
		printf(" %.1f GiB", (double)bytes / (double)(1ull << 30));
	else if (bytes >= (1ull << 20))
		printf(" %.1f MiB", (double)bytes / (double)(1ull << 20));
	else
		printf(" %llu KiB", (unsigned long long)(bytes >> 10));
}

static void print_line(const struct topology *t, enum tree_level lv, int i,
		       const struct cpuset *clip, int depth)
{
	printf("%*s%s %d", depth * 2, "", level_names[lv], i);
	if (lv == TL_NODE) {
		printf(" (id %d)", t->nodes[i].id);
		print_size(t->nodes[i].mem_total);
	} else if (lv != TL_CORE) {
		const struct topo_domain *d = lv == TL_PACKAGE ? &t->packages[i]
					      : lv == TL_DIE   ? &t->dies[i]
					      : lv == TL_L3    ? &t->l3s[i]
							       : &t->l2s[i];

		if (d->sysfs_id >= 0)
			printf(" (id %lld)", d->sysfs_id);
		print_size(d->size);
	} else {
		int first = cpuset_next(clip, 0);

		if (t->cpu_by_id[first].kind != TOPO_CPU_KIND_UNKNOWN)
			printf(" %s", kind_name(t->cpu_by_id[first].kind));
	}
	printf(": cpus %s", fmt_set(clip));
	if (!cpuset_equal(clip, level_cpus(t, lv, i)))
		printf(" (of %s)", fmt_set(level_cpus(t, lv, i)));
	printf("\n");
}

/* Print each domain of lv clipped to scope, then recurse into the clipped set. */
static void print_tree(const struct topology *t, enum tree_level lv, const struct cpuset *scope,
		       int depth)
{
	struct cpuset rest = *scope, clip;

	if (lv == TL_END)
		return;
	for (int i = 0; i < level_count(t, lv); i++) {
		cpuset_and(&clip, level_cpus(t, lv, i), scope);
		if (cpuset_is_empty(&clip))
			continue;
		print_line(t, lv, i, &clip, depth);
		print_tree(t, lv + 1, &clip, depth + 1);
		cpuset_andnot(&rest, &rest, &clip);
	}
	/* CPUs with no domain at this level (e.g. no L2 data) continue one level down. */
	if (!cpuset_is_empty(&rest))
		print_tree(t, lv + 1, &rest, depth);
}

static void print_distances(const struct topology *t)
{
	printf("distances:\n%6s", "");
	for (int j = 0; j < t->n_nodes; j++)
		printf(" %4d", t->nodes[j].id);
	printf("\n");
	for (int i = 0; i < t->n_nodes; i++) {
		printf("  %4d", t->nodes[i].id);
		for (int j = 0; j < t->n_nodes; j++)
			printf(" %4d", t->distance[i * t->n_nodes + j]);
		printf("\n");
	}
}

static void scan_pci(const char *root)
{
	int fd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	pci.n = fd >= 0 ? devices_scan_pci(fd, pci.dev, PCI_MAX) : 0;
	if (pci.n < 0)
		pci.n = 0;
	if (fd >= 0)
		close(fd);
}

static void print_device(const struct devices_pci *d, bool *first)
{
	printf("%s %s %s", *first ? "" : ",", d->kind, d->id);
	if (d->pf[0])
		printf(" (VF of %s)", d->pf);
	*first = false;
}

/* One line per node with devices, then those of unknown node. */
static void print_devices(const struct topology *t)
{
	int shown = pci.n < PCI_MAX ? pci.n : PCI_MAX;

	printf("devices:%s\n", shown ? "" : " none (no GPU, NIC, accelerator or NVMe in sysfs)");
	for (int i = -1; i < t->n_nodes; i++) {
		int id = i < 0 ? -1 : t->nodes[i].id;
		bool first = true;

		for (int j = 0; j < shown; j++) {
			if (pci.dev[j].node != id)
				continue;
			if (first)
				printf(id < 0 ? "  unknown node:" : "  node %d:", id);
			print_device(&pci.dev[j], &first);
		}
		if (!first)
			printf("\n");
	}
	if (pci.n > PCI_MAX)
		printf("  (%d more not shown)\n", pci.n - PCI_MAX);
}

static void print_human(const struct topology *t)
{
	printf("online: %s (%u CPUs)\n", fmt_set(&t->online), cpuset_count(&t->online));
	printf("offline: %s\n", fmt_set_h(&t->offline));
	printf("isolated: %s\n", fmt_set_h(&t->isolated));
	printf("nohz_full: %s\n", fmt_set_h(&t->nohz_full));
	printf("packages %d, dies %d, nodes %d, L3 %d, L2 %d, cores %d, clusters %d%s\n",
	       t->n_packages, t->n_dies, t->n_nodes, t->n_l3s, t->n_l2s, t->n_cores, t->n_clusters,
	       t->hybrid ? ", hybrid" : "");
	print_tree(t, TL_PACKAGE, &t->online, 0);
	for (int i = 0; i < t->n_nodes; i++) {
		if (!cpuset_is_empty(&t->nodes[i].cpus))
			continue;
		printf("node %d (id %d) without CPUs%s", i, t->nodes[i].id,
		       t->nodes[i].has_memory ? ", memory only" : "");
		print_size(t->nodes[i].mem_total);
		printf("\n");
	}
	print_distances(t);
	if (t->hybrid) {
		char sig[128];

		printf("core kinds from: %s\n",
		       topology_kind_signals_format(t->kind_signals, sig, sizeof(sig)));
	}
	print_devices(t);
	printf("fallbacks:%s\n", t->fallbacks ? "" : " none");
	for (unsigned int bit = 1; bit; bit <<= 1)
		if ((t->fallbacks & bit) && topology_fallback_name(bit))
			printf("  %s: %s\n", topology_fallback_name(bit),
			       topology_fallback_desc(bit));
}

/* ---- JSON ------------------------------------------------------------------------- */

/* json-c returns NULL on allocation failure; *ok goes false and stays false. */
static void jadd(json_object *o, const char *key, json_object *v, bool *ok)
{
	if (!o || !v || json_object_object_add(o, key, v) < 0) {
		json_object_put(v);
		*ok = false;
	}
}

static void jpush(json_object *a, json_object *v, bool *ok)
{
	if (!a || !v || json_object_array_add(a, v) < 0) {
		json_object_put(v);
		*ok = false;
	}
}

static json_object *jset(const struct cpuset *s)
{
	return json_object_new_string(fmt_set(s));
}

static json_object *json_domains(const struct topo_domain *d, int n, bool *ok)
{
	json_object *a = json_object_new_array();

	for (int i = 0; i < n; i++) {
		json_object *o = json_object_new_object();

		jadd(o, "sysfs_id", json_object_new_int64(d[i].sysfs_id), ok);
		jadd(o, "parent", json_object_new_int(d[i].parent), ok);
		jadd(o, "cpus", jset(&d[i].cpus), ok);
		if (d[i].size)
			jadd(o, "size", json_object_new_uint64(d[i].size), ok);
		jpush(a, o, ok);
	}
	return a;
}

static json_object *json_nodes(const struct topology *t, bool *ok)
{
	json_object *a = json_object_new_array();

	for (int i = 0; i < t->n_nodes; i++) {
		const struct topo_node *n = &t->nodes[i];
		json_object *o = json_object_new_object(), *row = json_object_new_array();

		jadd(o, "id", json_object_new_int(n->id), ok);
		jadd(o, "cpus", jset(&n->cpus), ok);
		jadd(o, "mem_total", json_object_new_uint64(n->mem_total), ok);
		jadd(o, "has_memory", json_object_new_boolean(n->has_memory), ok);
		for (int j = 0; j < t->n_nodes; j++)
			jpush(row, json_object_new_int(t->distance[i * t->n_nodes + j]), ok);
		jadd(o, "distance", row, ok);
		jpush(a, o, ok);
	}
	return a;
}

static json_object *json_cpus(const struct topology *t, bool *ok)
{
	json_object *a = json_object_new_array();
	int id;

	cpuset_foreach (id, &t->online) {
		const struct topo_cpu *c = &t->cpu_by_id[id];
		json_object *o = json_object_new_object();

		jadd(o, "id", json_object_new_int(c->id), ok);
		jadd(o, "package", json_object_new_int(c->package), ok);
		jadd(o, "die", json_object_new_int(c->die), ok);
		jadd(o, "cluster", json_object_new_int(c->cluster), ok);
		jadd(o, "core", json_object_new_int(c->core), ok);
		jadd(o, "l2", json_object_new_int(c->l2), ok);
		jadd(o, "l3", json_object_new_int(c->l3), ok);
		jadd(o, "node", json_object_new_int(c->node), ok);
		jadd(o, "kind", json_object_new_string(kind_name(c->kind)), ok);
		jadd(o, "base_khz", json_object_new_int64(c->base_khz), ok);
		jadd(o, "max_khz", json_object_new_int64(c->max_khz), ok);
		if (c->capacity)
			jadd(o, "capacity", json_object_new_int64(c->capacity), ok);
		jpush(a, o, ok);
	}
	return a;
}

static json_object *json_sets(const struct topology *t, json_object *o, bool *ok)
{
	json_object *fb = json_object_new_array();

	jadd(o, "possible", jset(&t->possible), ok);
	jadd(o, "present", jset(&t->present), ok);
	jadd(o, "online", jset(&t->online), ok);
	jadd(o, "offline", jset(&t->offline), ok);
	jadd(o, "isolated", jset(&t->isolated), ok);
	jadd(o, "nohz_full", jset(&t->nohz_full), ok);
	jadd(o, "hybrid", json_object_new_boolean(t->hybrid), ok);
	for (unsigned int bit = 1; bit; bit <<= 1)
		if ((t->fallbacks & bit) && topology_fallback_name(bit))
			jpush(fb, json_object_new_string(topology_fallback_name(bit)), ok);
	jadd(o, "fallbacks", fb, ok);
	return o;
}

static json_object *json_devices(bool *ok)
{
	json_object *a = json_object_new_array();

	for (int i = 0; i < pci.n && i < PCI_MAX; i++) {
		json_object *o = json_object_new_object();

		jadd(o, "id", json_object_new_string(pci.dev[i].id), ok);
		jadd(o, "kind", json_object_new_string(pci.dev[i].kind), ok);
		jadd(o, "node", json_object_new_int(pci.dev[i].node), ok);
		if (pci.dev[i].pf[0])
			jadd(o, "pf", json_object_new_string(pci.dev[i].pf), ok);
		jpush(a, o, ok);
	}
	return a;
}

static int print_json(const struct topology *t)
{
	json_object *o = json_object_new_object();
	bool ok = true;
	const char *s;

	json_sets(t, o, &ok);
	jadd(o, "packages", json_domains(t->packages, t->n_packages, &ok), &ok);
	jadd(o, "dies", json_domains(t->dies, t->n_dies, &ok), &ok);
	jadd(o, "clusters", json_domains(t->clusters, t->n_clusters, &ok), &ok);
	jadd(o, "l3", json_domains(t->l3s, t->n_l3s, &ok), &ok);
	jadd(o, "l2", json_domains(t->l2s, t->n_l2s, &ok), &ok);
	jadd(o, "cores", json_domains(t->cores, t->n_cores, &ok), &ok);
	jadd(o, "nodes", json_nodes(t, &ok), &ok);
	jadd(o, "cpus", json_cpus(t, &ok), &ok);
	jadd(o, "devices", json_devices(&ok), &ok);
	s = ok ? json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY) : NULL;
	if (s)
		printf("%s\n", s);
	json_object_put(o);
	if (!s) {
		fprintf(stderr, "topoguard topology: out of memory building JSON\n");
		return 1;
	}
	return 0;
}

/* ---- command ------------------------------------------------------------------------ */

static void usage(FILE *f)
{
	fprintf(f, "Usage: topoguard topology [--sysfs-root DIR] [--json]\n\n"
		   "Print the CPU and memory topology topoguard discovers, and the GPUs,\n"
		   "NICs, accelerators and NVMe controllers of each NUMA node.\n\n"
		   "  --sysfs-root DIR  read DIR instead of " SYSFS_DEFAULT_ROOT
		   " (e.g. a fixture tree)\n"
		   "  --json            machine-readable output\n"
		   "  -h, --help        this help\n");
}

struct args {
	const char *root;
	bool json;
};

/* Returns -1 to go on, else the exit code (0 after --help, 2 on a usage error). */
static int parse_args(int argc, char **argv, struct args *a)
{
	static const struct option opts[] = {
		{"sysfs-root", required_argument, NULL, 'r'},
		{"json", no_argument, NULL, 'j'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	int c;

	optind = 0; /* glibc: 0 also resets its internal state, for repeated calls (tests) */
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":hj", opts, NULL)) != -1) {
		if (c == 'r') {
			a->root = optarg;
		} else if (c == 'j') {
			a->json = true;
		} else if (c == 'h') {
			usage(stdout);
			return 0;
		} else {
			fprintf(stderr,
				c == ':' ? "topoguard topology: '%s' needs an argument\n"
					 : "topoguard topology: bad option '%s'\n",
				argv[optind - 1]);
			usage(stderr);
			return 2;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "topoguard topology: unexpected argument '%s'\n", argv[optind]);
		usage(stderr);
		return 2;
	}
	return -1;
}

int cmd_topology(int argc, char **argv)
{
	struct args a = {.root = SYSFS_DEFAULT_ROOT};
	struct topology *t = NULL;
	char bad[256];
	int r;

	r = parse_args(argc, argv, &a);
	if (r >= 0)
		return r;
	r = sysfs_topology_load_diag(a.root, &t, bad, sizeof(bad));
	if (r < 0) {
		fprintf(stderr, "topoguard topology: cannot read topology from %s%s%s: %s\n",
			a.root, bad[0] ? ", file " : "", bad, strerror(-r));
		return 1;
	}
	scan_pci(a.root);
	r = a.json ? print_json(t) : (print_human(t), 0);
	topology_free(t);
	return r;
}
