/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Where a container's devices sit in the machine: a device node (type, major:minor),
 * a device path (/dev/dri/renderD128, /dev/infiniband/uverbs0, /dev/vfio/12) or a
 * network interface resolved through sysfs to its PCI function's numa_node and
 * local_cpulist; an SR-IOV VF whose node is unknown takes its PF's (physfn).
 *
 * Everything is read relative to a directory fd on the injectable sysfs root. The
 * inputs come from the runtime and are untrusted: numbers are range-checked, names are
 * bounded and may not contain '/' or be "." / "..", so every path built stays a fixed
 * prefix plus a number or one plain name (docs/annotations.md "Devices").
 *
 * Returns 0 with *ret filled (ret->node may be -1: no preference), -ENOENT when sysfs
 * does not know the device (not PCI, a driver without sysfs links), -EINVAL for bad
 * input or a garbled sysfs file, -ENAMETOOLONG. *ret is untouched on failure.
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "policy/cpuset.h"

#define DEVICES_MAJOR_MAX 4095u	   /* the kernel's MAJORBITS (12) */
#define DEVICES_MINOR_MAX 1048575u /* the kernel's MINORBITS (20) */
#define DEVICES_NAME_MAX  64	   /* longest device / interface name looked up */
#define DEVICES_PATH_MAX  4096	   /* longest device path accepted from the runtime */
#define DEVICES_ID_MAX	  32	   /* room for a PCI address "0000:3b:00.0" */

struct devices_place {
	int node;		 /* NUMA node id, -1 unknown */
	struct cpuset cpus;	 /* local_cpulist, empty if unknown */
	char id[DEVICES_ID_MAX]; /* the bus id it resolved to (PCI address), "" if none */
	bool via_pf;		 /* the node came from the SR-IOV PF */
};

/* type: 'c' (or 'u', unbuffered char) or 'b'. */
int devices_resolve_node(int root, char type, int64_t major, int64_t minor,
			 struct devices_place *ret);
/* An absolute /dev path of a class the kernel names after the node: dri, infiniband
 * (uverbs, umad, issm), accel, vfio groups. */
int devices_resolve_path(int root, const char *path, struct devices_place *ret);
/* A host network interface (an SR-IOV VF moved into the pod, NRI 0.11 net_devices). */
int devices_resolve_net(int root, const char *ifname, struct devices_place *ret);

/* A PCI function that matters for placement (topoguard topology). */
struct devices_pci {
	char id[DEVICES_ID_MAX]; /* "0000:3b:00.0" */
	char pf[DEVICES_ID_MAX]; /* its PF when an SR-IOV VF, else "" */
	const char *kind;	 /* "gpu", "nic", "accel", "nvme" (static) */
	int node;		 /* its numa_node (a VF's -1: its PF's), -1 unknown */
};

/* The GPUs, NICs, accelerators and NVMe controllers under bus/pci/devices, sorted by
 * address: at most max into out; returns how many there are (may exceed max), or
 * -errno (-ENOENT: no PCI bus in this sysfs). */
int devices_scan_pci(int root, struct devices_pci *out, size_t max);

/* A name usable as one path component: 1..DEVICES_NAME_MAX bytes, no '/', not "." or
 * "..", printable ASCII only. */
bool devices_name_ok(const char *name);
