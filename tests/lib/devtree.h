/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Devices built in code into a sysfs tree (issue 18), the way the kernel lays them out:
 * PCI functions with numa_node, local_cpulist and class under devices/pci0000:00 (and
 * linked from bus/pci/devices), class
 * devices linked to them, /sys/dev/{char,block}/MAJ:MIN links, an IOMMU group. Shared
 * by tests/unit/host/test_devices.c and the e2e device scenario.
 *
 *   GPU      0000:3b:00.0 on node gpu_node: drm/renderD128 (char 226:128)
 *   NIC PF   0000:5e:00.0 on node nic_node, VF 0000:5e:02.0 with numa_node -1 and a
 *            physfn link to the PF: netdev ens1f0v0, uverbs0 (char 231:0), IOMMU group 12
 *   NVMe     0000:01:00.0 on node 0: nvme0 -> nvme0n1 (block 259:0)
 *   unknown  0000:00:1f.0 with numa_node -1, no PF: char 240:0
 *
 * devtree_write() returns 0 or -errno; node_cpus[i] is node i's cpulist (local_cpulist).
 */
#pragma once

#define DEVTREE_GPU	"0000:3b:00.0"
#define DEVTREE_NIC_PF	"0000:5e:00.0"
#define DEVTREE_NIC_VF	"0000:5e:02.0"
#define DEVTREE_NVME	"0000:01:00.0"
#define DEVTREE_UNKNOWN "0000:00:1f.0"

int devtree_write(const char *root, int gpu_node, int nic_node, const char *const *node_cpus,
		  int n_nodes);
