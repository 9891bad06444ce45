/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Device -> NUMA node and local CPUs, through sysfs (plugin/host/devices.h). The kernel
 * links every class device to its parent ("device"): a DRM render node, a uverbs
 * device or a netdev to its PCI function, an NVMe namespace to its controller and on
 * to the PCI function. The walk follows those links up to DEPTH_MAX times until a
 * directory has numa_node. The paths built are a fixed prefix plus a number or one
 * name checked by devices_name_ok(), so nothing the runtime sends can climb out.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "plugin/host/devices.h"
#include "plugin/host/sysfs.h"

#define DEPTH_MAX 4	/* class device -> ... -> PCI function */
#define REL_MAX	  256	/* longest root-relative path built */
#define FILE_MAX  16384 /* local_cpulist of 4096 CPUs fits easily */

#define _cleanup_(f) __attribute__((cleanup(f)))

static void closedirp(DIR **d)
{
	if (*d)
		closedir(*d);
}

static void freep(void *p)
{
	free(*(void **)p);
}

bool devices_name_ok(const char *name)
{
	size_t n;

	if (!name)
		return false;
	n = strnlen(name, DEVICES_NAME_MAX + 1);
	if (n == 0 || n > DEVICES_NAME_MAX || !strcmp(name, ".") || !strcmp(name, ".."))
		return false;
	for (size_t i = 0; i < n; i++)
		if (name[i] == '/' || name[i] <= ' ' || name[i] > '~')
			return false;
	return true;
}

/* A root-relative file into buf (NUL-terminated). -ENOENT when absent. */
static int read_at(int root, const char *rel, char *buf, size_t size, size_t *ret_len)
{
	int fd = openat(root, rel, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	size_t len = 0;
	ssize_t n;

	if (fd < 0)
		return errno == ENOTDIR ? -ENOENT : -errno;
	do {
		n = read(fd, buf + len, size - 1 - len);
		if (n > 0)
			len += (size_t)n;
	} while ((n > 0 && len < size - 1) || (n < 0 && errno == EINTR));
	close(fd);
	if (n < 0)
		return -EIO;
	buf[len] = '\0';
	*ret_len = len;
	return 0;
}

static int join(char *dst, const char *a, const char *b)
{
	int n = snprintf(dst, REL_MAX, "%s/%s", a, b);

	return n < 0 || n >= REL_MAX ? -ENAMETOOLONG : 0;
}

/* numa_node of dir: 0 and *ret (-1 unknown), -ENOENT if dir has none. */
static int read_node(int root, const char *dir, char *buf, int *ret)
{
	char rel[REL_MAX];
	long long v;
	size_t len;
	int r = join(rel, dir, "numa_node");

	if (r < 0 || (r = read_at(root, rel, buf, FILE_MAX, &len)) < 0)
		return r;
	if (sysfs_parse_ll(buf, len, &v) < 0 || v < -1 || v >= CPUSET_MAX)
		return -EINVAL;
	*ret = (int)v;
	return 0;
}

/* The last component of the link at rel, if it looks like a bus id. */
static void link_id(int root, const char *rel, char *id)
{
	char target[REL_MAX], *base;
	ssize_t n = readlinkat(root, rel, target, sizeof(target) - 1);

	id[0] = '\0';
	if (n <= 0)
		return;
	target[n] = '\0';
	base = strrchr(target, '/');
	base = base ? base + 1 : target;
	if (devices_name_ok(base) && strlen(base) < DEVICES_ID_MAX)
		strcpy(id, base);
}

/* dir holds numa_node: fill p from it (and its PF when the node is unknown). */
static int place_from(int root, const char *dir, char *buf, struct devices_place *p)
{
	char rel[REL_MAX];
	size_t len;
	int r = read_node(root, dir, buf, &p->node);

	if (r < 0)
		return r;
	if (p->node < 0 && join(rel, dir, "physfn") == 0 &&
	    read_node(root, rel, buf, &p->node) == 0)
		p->via_pf = p->node >= 0;
	cpuset_zero(&p->cpus);
	if (join(rel, dir, "local_cpulist") == 0 && read_at(root, rel, buf, FILE_MAX, &len) == 0 &&
	    cpuset_parse(buf, len, &p->cpus) < 0)
		cpuset_zero(&p->cpus); /* a list we cannot read: the node's CPUs */
	if (p->via_pf && join(rel, dir, "physfn/local_cpulist") == 0 &&
	    read_at(root, rel, buf, FILE_MAX, &len) == 0 && cpuset_parse(buf, len, &p->cpus) < 0)
		cpuset_zero(&p->cpus);
	link_id(root, dir, p->id);
	return 0;
}

/* From the class device at base, up its "device" links to the first with numa_node. */
static int resolve_from(int root, const char *base, struct devices_place *ret)
{
	_cleanup_(freep) char *buf = malloc(FILE_MAX);
	struct devices_place p = {.node = -1};
	char dir[REL_MAX];
	int r;

	if (!buf)
		return -ENOMEM;
	r = join(dir, base, "device");
	for (int depth = 0; r == 0 && depth < DEPTH_MAX; depth++) {
		r = place_from(root, dir, buf, &p);
		if (r == 0) {
			*ret = p;
			return 0;
		}
		if (r != -ENOENT)
			return r;
		char up[REL_MAX];

		memcpy(up, dir, sizeof(up));
		r = join(dir, up, "device");
	}
	return r < 0 ? r : -ENOENT;
}

int devices_resolve_node(int root, char type, int64_t major, int64_t minor,
			 struct devices_place *ret)
{
	char base[REL_MAX];
	const char *kind;

	if (type == 'c' || type == 'u')
		kind = "char";
	else if (type == 'b')
		kind = "block";
	else
		return -EINVAL;
	if (major < 0 || major > DEVICES_MAJOR_MAX || minor < 0 || minor > DEVICES_MINOR_MAX)
		return -EINVAL;
	snprintf(base, sizeof(base), "dev/%s/%lld:%lld", kind, (long long)major, (long long)minor);
	return resolve_from(root, base, ret);
}

int devices_resolve_net(int root, const char *ifname, struct devices_place *ret)
{
	char base[REL_MAX];

	if (!devices_name_ok(ifname) || strlen(ifname) >= 16) /* IFNAMSIZ */
		return -EINVAL;
	snprintf(base, sizeof(base), "class/net/%s", ifname);
	return resolve_from(root, base, ret);
}

/* A VFIO group: its member devices are PCI functions; the first that resolves. */
static int resolve_vfio(int root, const char *group, struct devices_place *ret)
{
	_cleanup_(closedirp) DIR *d = NULL;
	_cleanup_(freep) char *buf = malloc(FILE_MAX);
	char dir[REL_MAX], rel[REL_MAX];
	struct devices_place p = {.node = -1};
	struct dirent *de;
	int fd;

	if (!buf)
		return -ENOMEM;
	for (const char *c = group; *c; c++)
		if (*c < '0' || *c > '9')
			return -EINVAL; /* /dev/vfio/vfio is the container, not a group */
	snprintf(dir, sizeof(dir), "kernel/iommu_groups/%s/devices", group);
	fd = openat(root, dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -ENOENT;
	d = fdopendir(fd);
	if (!d) {
		close(fd);
		return -ENOMEM;
	}
	while ((de = readdir(d))) {
		if (!devices_name_ok(de->d_name) || join(rel, dir, de->d_name) < 0)
			continue;
		if (place_from(root, rel, buf, &p) == 0) {
			*ret = p;
			return 0;
		}
	}
	return -ENOENT;
}

/* /dev directory -> sysfs class; prefix: the node name must start with it ("" any). */
static const struct {
	const char *dev, *prefix, *class;
} path_classes[] = {
	{"/dev/dri/", "", "class/drm"},
	{"/dev/accel/", "", "class/accel"},
	{"/dev/infiniband/", "uverbs", "class/infiniband_verbs"},
	{"/dev/infiniband/", "umad", "class/infiniband_mad"},
	{"/dev/infiniband/", "issm", "class/infiniband_mad"},
};

int devices_resolve_path(int root, const char *path, struct devices_place *ret)
{
	char base[REL_MAX];

	if (!path || strnlen(path, DEVICES_PATH_MAX + 1) > DEVICES_PATH_MAX)
		return -EINVAL;
	if (!strncmp(path, "/dev/vfio/", 10))
		return devices_name_ok(path + 10) ? resolve_vfio(root, path + 10, ret) : -EINVAL;
	for (size_t i = 0; i < sizeof(path_classes) / sizeof(path_classes[0]); i++) {
		size_t n = strlen(path_classes[i].dev);
		const char *name = path + n;

		if (strncmp(path, path_classes[i].dev, n) ||
		    strncmp(name, path_classes[i].prefix, strlen(path_classes[i].prefix)))
			continue;
		if (!devices_name_ok(name))
			return -EINVAL;
		snprintf(base, sizeof(base), "%s/%s", path_classes[i].class, name);
		return resolve_from(root, base, ret);
	}
	return -ENOENT;
}

/* PCI class code (0xCCSSPP) -> what it is for placement; NULL: not of interest. */
static const char *pci_kind(unsigned long cls)
{
	switch (cls >> 16) {
	case 0x03:
		return "gpu"; /* display: VGA, 3D controllers */
	case 0x02:
		return "nic"; /* network, InfiniBand */
	case 0x12:
		return "accel"; /* processing accelerators */
	case 0x01:
		return (cls >> 8) == 0x0108 ? "nvme" : NULL;
	default:
		return NULL;
	}
}

static int scan_one(int root, const char *name, char *buf, struct devices_pci *ret)
{
	struct devices_place p = {.node = -1};
	char dir[REL_MAX], rel[REL_MAX], *end;
	unsigned long cls;
	size_t len;

	if (!devices_name_ok(name) || strlen(name) >= DEVICES_ID_MAX)
		return -EINVAL;
	snprintf(dir, sizeof(dir), "bus/pci/devices/%s", name);
	if (join(rel, dir, "class") < 0 || read_at(root, rel, buf, FILE_MAX, &len) < 0)
		return -ENOENT;
	cls = strtoul(buf, &end, 16);
	if (end == buf || !pci_kind(cls))
		return -ENOENT;
	if (place_from(root, dir, buf, &p) < 0)
		p.node = -1;
	memset(ret, 0, sizeof(*ret));
	snprintf(ret->id, sizeof(ret->id), "%s", name);
	ret->kind = pci_kind(cls);
	ret->node = p.node;
	if (join(rel, dir, "physfn") == 0)
		link_id(root, rel, ret->pf);
	return 0;
}

static int pci_cmp(const void *a, const void *b)
{
	return strcmp(((const struct devices_pci *)a)->id, ((const struct devices_pci *)b)->id);
}

int devices_scan_pci(int root, struct devices_pci *out, size_t max)
{
	_cleanup_(closedirp) DIR *d = NULL;
	_cleanup_(freep) char *buf = malloc(FILE_MAX);
	struct dirent *de;
	size_t n = 0;
	int fd;

	if (!buf)
		return -ENOMEM;
	fd = openat(root, "bus/pci/devices", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -ENOENT;
	d = fdopendir(fd);
	if (!d) {
		close(fd);
		return -ENOMEM;
	}
	while ((de = readdir(d))) {
		struct devices_pci one;

		if (de->d_name[0] == '.' || scan_one(root, de->d_name, buf, &one) < 0)
			continue;
		if (n < max)
			out[n] = one;
		n++;
	}
	qsort(out, n < max ? n : max, sizeof(*out), pci_cmp);
	return n > INT32_MAX ? INT32_MAX : (int)n;
}
