/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Unit tests for plugin/host/devices.c on a device tree built in code
 * (tests/lib/devtree.h): a GPU, a NIC whose VF has numa_node -1 (its PF's node), an
 * NVMe namespace two links from its PCI function, a device of unknown node, and both
 * sides of every limit on what the runtime sends.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "plugin/host/devices.h"
#include "tests/lib/devtree.h"

struct fx {
	char dir[64];
	int root;
};

static const char *const node_cpus[] = {"0-3,8-11", "4-7,12-15"};

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));

	if (!f)
		return -1;
	snprintf(f->dir, sizeof(f->dir), "/tmp/tg-devices.XXXXXX");
	if (!mkdtemp(f->dir) || devtree_write(f->dir, 1, 1, node_cpus, 2) < 0)
		return -1;
	f->root = open(f->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	*state = f;
	return f->root < 0 ? -1 : 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;
	char cmd[128];

	close(f->root);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", f->dir);
	free(f);
	return system(cmd) == 0 ? 0 : -1;
}

static void assert_set(const struct cpuset *s, const char *want)
{
	char buf[256];

	assert_true(cpuset_format(s, buf, sizeof(buf)) >= 0);
	if (strcmp(buf, want))
		fail_msg("set is \"%s\", want \"%s\"", buf, want);
}

static void test_devices_resolve_node_gpu(void **state)
{
	struct fx *f = *state;
	struct devices_place p;

	assert_int_equal(devices_resolve_node(f->root, 'c', 226, 128, &p), 0);
	assert_int_equal(p.node, 1);
	assert_set(&p.cpus, "4-7,12-15");
	assert_string_equal(p.id, DEVTREE_GPU);
	assert_false(p.via_pf);
}

/* The VF says -1; its PF knows. Through the uverbs node, the netdev and the VFIO group. */
static void test_devices_resolve_vf_through_pf(void **state)
{
	struct fx *f = *state;
	struct devices_place p;

	assert_int_equal(devices_resolve_node(f->root, 'c', 231, 0, &p), 0);
	assert_int_equal(p.node, 1);
	assert_true(p.via_pf);
	assert_set(&p.cpus, "4-7,12-15");
	assert_string_equal(p.id, DEVTREE_NIC_VF);
	memset(&p, 0, sizeof(p));
	assert_int_equal(devices_resolve_net(f->root, "ens1f0v0", &p), 0);
	assert_int_equal(p.node, 1);
	assert_true(p.via_pf);
	memset(&p, 0, sizeof(p));
	assert_int_equal(devices_resolve_path(f->root, "/dev/vfio/12", &p), 0);
	assert_int_equal(p.node, 1);
	assert_string_equal(p.id, DEVTREE_NIC_VF);
	assert_int_equal(devices_resolve_path(f->root, "/dev/infiniband/uverbs0", &p), 0);
	assert_int_equal(p.node, 1);
}

static void test_devices_resolve_block_two_links_up(void **state)
{
	struct fx *f = *state;
	struct devices_place p;

	assert_int_equal(devices_resolve_node(f->root, 'b', 259, 0, &p), 0);
	assert_int_equal(p.node, 0);
	assert_string_equal(p.id, DEVTREE_NVME);
	/* the same numbers as a char device are another device, unknown here */
	assert_int_equal(devices_resolve_node(f->root, 'c', 259, 0, &p), -ENOENT);
}

static void test_devices_resolve_unknown_node(void **state)
{
	struct fx *f = *state;
	struct devices_place p;

	assert_int_equal(devices_resolve_node(f->root, 'c', 240, 0, &p), 0);
	assert_int_equal(p.node, -1);
	assert_false(p.via_pf);
	assert_int_equal(devices_resolve_node(f->root, 'c', 1, 3, &p), -ENOENT); /* /dev/null */
	assert_int_equal(devices_resolve_path(f->root, "/dev/nvidia0", &p), -ENOENT);
	assert_int_equal(devices_resolve_path(f->root, "/dev/dri/renderD129", &p), -ENOENT);
	assert_int_equal(devices_resolve_path(f->root, "/dev/dri/renderD128", &p), 0);
	assert_int_equal(p.node, 1);
}

/* Both sides of each limit on runtime input. */
static void test_devices_resolve_limits(void **state)
{
	struct fx *f = *state;
	struct devices_place p = {.node = 42};
	char name[DEVICES_NAME_MAX + 2], path[DEVICES_PATH_MAX + 16];

	assert_int_equal(devices_resolve_node(f->root, 'x', 226, 128, &p), -EINVAL);
	assert_int_equal(devices_resolve_node(f->root, 'c', -1, 0, &p), -EINVAL);
	assert_int_equal(devices_resolve_node(f->root, 'c', 0, -1, &p), -EINVAL);
	assert_int_equal(devices_resolve_node(f->root, 'c', DEVICES_MAJOR_MAX + 1, 0, &p), -EINVAL);
	assert_int_equal(devices_resolve_node(f->root, 'c', 0, DEVICES_MINOR_MAX + 1, &p), -EINVAL);
	assert_int_equal(
		devices_resolve_node(f->root, 'c', DEVICES_MAJOR_MAX, DEVICES_MINOR_MAX, &p),
		-ENOENT);
	assert_int_equal(p.node, 42); /* untouched on failure */
	assert_int_equal(devices_resolve_node(f->root, 'u', 226, 128, &p), 0);

	assert_false(devices_name_ok(".."));
	assert_false(devices_name_ok("."));
	assert_false(devices_name_ok(""));
	assert_false(devices_name_ok(NULL));
	assert_false(devices_name_ok("a/b"));
	assert_false(devices_name_ok("a\nb"));
	assert_true(devices_name_ok("..."));
	memset(name, 'a', sizeof(name));
	name[DEVICES_NAME_MAX] = '\0';
	assert_true(devices_name_ok(name));
	name[DEVICES_NAME_MAX] = 'a';
	name[DEVICES_NAME_MAX + 1] = '\0';
	assert_false(devices_name_ok(name));

	assert_int_equal(devices_resolve_path(f->root, "/dev/dri/..", &p), -EINVAL);
	assert_int_equal(devices_resolve_path(f->root, "/dev/dri/../../etc", &p), -EINVAL);
	assert_int_equal(devices_resolve_path(f->root, "/dev/vfio/..", &p), -EINVAL);
	assert_int_equal(devices_resolve_path(f->root, "/dev/vfio/vfio", &p), -EINVAL);
	assert_int_equal(devices_resolve_path(f->root, "/dev/vfio/12/../13", &p), -EINVAL);
	assert_int_equal(devices_resolve_path(f->root, NULL, &p), -EINVAL);
	memset(path, 'a', sizeof(path));
	memcpy(path, "/dev/x/", 7);
	path[DEVICES_PATH_MAX] = '\0';
	assert_int_equal(devices_resolve_path(f->root, path, &p), -ENOENT);
	path[DEVICES_PATH_MAX] = 'a';
	path[DEVICES_PATH_MAX + 1] = '\0';
	assert_int_equal(devices_resolve_path(f->root, path, &p), -EINVAL);

	assert_int_equal(devices_resolve_net(f->root, "..", &p), -EINVAL);
	assert_int_equal(devices_resolve_net(f->root, "0123456789abcde", &p), -ENOENT);
	assert_int_equal(devices_resolve_net(f->root, "0123456789abcdef", &p), -EINVAL);
}

/* A numa_node the kernel would never write: an error, not a guess. */
static void test_devices_resolve_garbled(void **state)
{
	struct fx *f = *state;
	struct devices_place p;
	char cmd[256];

	snprintf(cmd, sizeof(cmd), "echo banana > '%s/devices/pci0000:00/%s/numa_node'", f->dir,
		 DEVTREE_GPU);
	assert_int_equal(system(cmd), 0);
	assert_int_equal(devices_resolve_node(f->root, 'c', 226, 128, &p), -EINVAL);
	snprintf(cmd, sizeof(cmd), "echo 4096 > '%s/devices/pci0000:00/%s/numa_node'", f->dir,
		 DEVTREE_GPU);
	assert_int_equal(system(cmd), 0);
	assert_int_equal(devices_resolve_node(f->root, 'c', 226, 128, &p), -EINVAL);
	snprintf(cmd, sizeof(cmd), "echo 4095 > '%s/devices/pci0000:00/%s/numa_node'", f->dir,
		 DEVTREE_GPU);
	assert_int_equal(system(cmd), 0);
	assert_int_equal(devices_resolve_node(f->root, 'c', 226, 128, &p), 0);
	assert_int_equal(p.node, 4095);
}

/* GPUs, NICs (a VF with its PF and its PF's node), NVMe; not the ISA bridge; a full
 * buffer still counts them all. */
static void test_devices_scan_pci(void **state)
{
	struct fx *f = *state;
	struct devices_pci d[4];

	assert_int_equal(devices_scan_pci(f->root, d, 4), 4);
	assert_string_equal(d[0].id, DEVTREE_NVME);
	assert_string_equal(d[0].kind, "nvme");
	assert_int_equal(d[0].node, 0);
	assert_string_equal(d[1].kind, "gpu");
	assert_int_equal(d[1].node, 1);
	assert_string_equal(d[2].id, DEVTREE_NIC_PF);
	assert_string_equal(d[2].pf, "");
	assert_string_equal(d[3].id, DEVTREE_NIC_VF);
	assert_string_equal(d[3].pf, DEVTREE_NIC_PF);
	assert_int_equal(d[3].node, 1);
	assert_int_equal(devices_scan_pci(f->root, d, 1), 4);
	assert_int_equal(devices_scan_pci(f->root, d, 0), 4);
	assert_int_equal(devices_scan_pci(-1, d, 4), -ENOENT);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_devices_resolve_node_gpu),
		T(test_devices_resolve_vf_through_pf),
		T(test_devices_resolve_block_two_links_up),
		T(test_devices_resolve_unknown_node),
		T(test_devices_resolve_limits),
		T(test_devices_resolve_garbled),
		T(test_devices_scan_pci),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
