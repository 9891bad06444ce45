/* SPDX-License-Identifier: Apache-2.0 */
/* Devices built in code into a sysfs tree (devtree.h). */
#include "tests/lib/devtree.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define PCI "devices/pci0000:00/"

/* mkdir -p root/rel */
static int mkdir_p(const char *root, const char *rel)
{
	char path[1024];
	int n = snprintf(path, sizeof(path), "%s/%s", root, rel);

	if (n < 0 || (size_t)n >= sizeof(path))
		return -ENAMETOOLONG;
	for (char *p = path + strlen(root) + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(path, 0755) < 0 && errno != EEXIST)
			return -errno;
		*p = '/';
	}
	return mkdir(path, 0755) < 0 && errno != EEXIST ? -errno : 0;
}

static int put(const char *root, const char *rel, const char *text)
{
	char path[1024], dir[1024], *slash;
	FILE *f;

	snprintf(dir, sizeof(dir), "%s", rel);
	slash = strrchr(dir, '/');
	if (slash) {
		*slash = '\0';
		if (mkdir_p(root, dir) < 0)
			return -EIO;
	}
	snprintf(path, sizeof(path), "%s/%s", root, rel);
	f = fopen(path, "we");
	if (!f)
		return -errno;
	fprintf(f, "%s\n", text);
	return fclose(f) == 0 ? 0 : -EIO;
}

/* root/rel -> target (relative, as sysfs links are) */
static int link_to(const char *root, const char *rel, const char *target)
{
	char path[1024], dir[1024], *slash;

	snprintf(dir, sizeof(dir), "%s", rel);
	slash = strrchr(dir, '/');
	if (slash) {
		*slash = '\0';
		if (mkdir_p(root, dir) < 0)
			return -EIO;
	}
	snprintf(path, sizeof(path), "%s/%s", root, rel);
	return symlink(target, path) < 0 && errno != EEXIST ? -errno : 0;
}

static int pci_fn(const char *root, const char *addr, const char *cls, int node, const char *cpus)
{
	char rel[256], val[16], target[256];
	int r;

	snprintf(rel, sizeof(rel), PCI "%s/numa_node", addr);
	snprintf(val, sizeof(val), "%d", node);
	r = put(root, rel, val);
	snprintf(rel, sizeof(rel), PCI "%s/local_cpulist", addr);
	r = r ?: put(root, rel, cpus);
	snprintf(rel, sizeof(rel), PCI "%s/class", addr);
	r = r ?: put(root, rel, cls);
	snprintf(rel, sizeof(rel), "bus/pci/devices/%s", addr);
	snprintf(target, sizeof(target), "../../../" PCI "%s", addr);
	return r ?: link_to(root, rel, target);
}

static const char *cpus_of(const char *const *node_cpus, int n_nodes, int node)
{
	static char all[4096];

	if (node >= 0 && node < n_nodes)
		return node_cpus[node];
	all[0] = '\0'; /* numa_node -1: the kernel's local_cpulist is every CPU */
	for (int i = 0; i < n_nodes; i++)
		snprintf(all + strlen(all), sizeof(all) - strlen(all), "%s%s", i ? "," : "",
			 node_cpus[i]);
	return all;
}

int devtree_write(const char *root, int gpu_node, int nic_node, const char *const *node_cpus,
		  int n_nodes)
{
	int r;

	r = pci_fn(root, DEVTREE_GPU, "0x030200", gpu_node, cpus_of(node_cpus, n_nodes, gpu_node));
	r = r ?: mkdir_p(root, PCI DEVTREE_GPU "/drm/renderD128");
	r = r ?: link_to(root, PCI DEVTREE_GPU "/drm/renderD128/device", "../../../" DEVTREE_GPU);
	r = r ?: link_to(root, "dev/char/226:128", "../../" PCI DEVTREE_GPU "/drm/renderD128");
	r = r ?: link_to(root, "class/drm/renderD128", "../../" PCI DEVTREE_GPU "/drm/renderD128");
	r = r
		    ?: pci_fn(root, DEVTREE_NIC_PF, "0x020000", nic_node,
			      cpus_of(node_cpus, n_nodes, nic_node));
	r = r ?: pci_fn(root, DEVTREE_NIC_VF, "0x020000", -1, cpus_of(node_cpus, n_nodes, -1));
	r = r ?: link_to(root, PCI DEVTREE_NIC_VF "/physfn", "../" DEVTREE_NIC_PF);
	r = r ?: mkdir_p(root, PCI DEVTREE_NIC_VF "/net/ens1f0v0");
	r = r
		    ?: link_to(root, PCI DEVTREE_NIC_VF "/net/ens1f0v0/device",
			       "../../../" DEVTREE_NIC_VF);
	r = r ?: link_to(root, "class/net/ens1f0v0", "../../" PCI DEVTREE_NIC_VF "/net/ens1f0v0");
	r = r ?: mkdir_p(root, PCI DEVTREE_NIC_VF "/infiniband_verbs/uverbs0");
	r = r
		    ?: link_to(root, PCI DEVTREE_NIC_VF "/infiniband_verbs/uverbs0/device",
			       "../../../" DEVTREE_NIC_VF);
	r = r
		    ?: link_to(root, "dev/char/231:0",
			       "../../" PCI DEVTREE_NIC_VF "/infiniband_verbs/uverbs0");
	r = r
		    ?: link_to(root, "class/infiniband_verbs/uverbs0",
			       "../../" PCI DEVTREE_NIC_VF "/infiniband_verbs/uverbs0");
	r = r
		    ?: link_to(root, "kernel/iommu_groups/12/devices/" DEVTREE_NIC_VF,
			       "../../../../" PCI DEVTREE_NIC_VF);
	r = r ?: pci_fn(root, DEVTREE_NVME, "0x010802", 0, cpus_of(node_cpus, n_nodes, 0));
	r = r ?: mkdir_p(root, PCI DEVTREE_NVME "/nvme/nvme0/nvme0n1");
	r = r ?: link_to(root, PCI DEVTREE_NVME "/nvme/nvme0/device", "../../../" DEVTREE_NVME);
	r = r ?: link_to(root, PCI DEVTREE_NVME "/nvme/nvme0/nvme0n1/device", "../../nvme0");
	r = r ?: link_to(root, "dev/block/259:0", "../../" PCI DEVTREE_NVME "/nvme/nvme0/nvme0n1");
	r = r ?: pci_fn(root, DEVTREE_UNKNOWN, "0x060100", -1, cpus_of(node_cpus, n_nodes, -1));
	r = r ?: mkdir_p(root, PCI DEVTREE_UNKNOWN "/misc/watchdog0");
	r = r
		    ?: link_to(root, PCI DEVTREE_UNKNOWN "/misc/watchdog0/device",
			       "../../../" DEVTREE_UNKNOWN);
	r = r ?: link_to(root, "dev/char/240:0", "../../" PCI DEVTREE_UNKNOWN "/misc/watchdog0");
	return r;
}
