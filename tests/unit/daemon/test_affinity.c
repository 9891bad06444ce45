/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Unit tests for plugin/daemon/affinity.c: a modelled container's devices resolved
 * under a device tree built in code (tests/lib/devtree.h), into the policy's device
 * preference and the explain text, on an offline daemon.
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
#include <unistd.h>

#include <cmocka.h>

#include "plugin/config/config.h"
#include "plugin/daemon/affinity.h"
#include "plugin/daemon/daemon.h"
#include "plugin/daemon/state.h"
#include "plugin/obs/log.h"
#include "tests/lib/devtree.h"

struct fx {
	char dir[64];
	struct daemon *d;
	struct model_device dev[5];
	struct model_container c;
};

static const char *const node_cpus[] = {"0-3", "4-7"};

static struct model_device dev(enum model_device_kind kind, char type, int64_t major, int64_t minor,
			       const char *path)
{
	return (struct model_device){.kind = kind,
				     .type = type,
				     .major = major,
				     .minor = minor,
				     .path = (char *)path,
				     .node = -1};
}

static int setup(void **state)
{
	struct topo_synth_spec spec = {.packages = 2,
				       .dies_per_package = 1,
				       .nodes_per_die = 1,
				       .l3_per_node = 1,
				       .cores_per_l3 = 4,
				       .threads_per_core = 1};
	struct config_errors errs = {0};
	struct topology *t = NULL;
	struct fx *f = calloc(1, sizeof(*f));
	struct config cfg;

	log_set_level(LOG_LEVEL_ERROR);
	if (!f || config_parse("test", "", 0, &cfg, &errs) < 0 ||
	    topology_synthetic(&spec, &t) < 0 || daemon_new_offline(&cfg, t, &f->d) < 0)
		return -1;
	snprintf(f->dir, sizeof(f->dir), "/tmp/tg-affinity.XXXXXX");
	if (!mkdtemp(f->dir) || devtree_write(f->dir, 1, 0, node_cpus, 2) < 0)
		return -1;
	f->d->sysfs_fd = open(f->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	f->dev[0] = dev(MODEL_DEVICE_NODE, 'c', 226, 128, "/dev/dri/renderD128");
	f->dev[1] = dev(MODEL_DEVICE_NET, 0, 0, 0, "ens1f0v0");
	f->dev[2] = dev(MODEL_DEVICE_NODE, 'c', 240, 0, "/dev/watchdog0");
	f->dev[3] = dev(MODEL_DEVICE_NODE, 'c', 1, 3, "/dev/null");
	f->dev[4] = dev(MODEL_DEVICE_MOUNT, 0, 0, 0, "/dev/dri/../../etc");
	f->c.id = (char *)"c1";
	f->c.devices = f->dev;
	f->c.n_devices = 5;
	*state = f;
	return f->d->sysfs_fd < 0 ? -1 : 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;
	char cmd[128];

	daemon_free(f->d); /* closes sysfs_fd */
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", f->dir);
	free(f);
	return system(cmd) == 0 ? 0 : -1;
}

static void assert_set(const struct cpuset *s, const char *want)
{
	char buf[64];

	assert_true(cpuset_format(s, buf, sizeof(buf)) >= 0);
	if (strcmp(buf, want))
		fail_msg("set is \"%s\", want \"%s\"", buf, want);
}

/* GPU on node 1, the NIC (through its VF's PF) on node 0; unknown ones add nothing. */
static void test_affinity_resolve_nodes_and_cpus(void **state)
{
	struct fx *f = *state;
	struct alloc_prefs p = {.device_mode = ALLOC_DEVICE_PREFER};

	affinity_resolve(f->d, &f->c, &p);
	assert_set(&p.device_nodes, "0-1");
	assert_set(&p.device_cpus, "0-7");
	assert_int_equal(f->dev[0].node, 1);
	assert_string_equal(f->dev[0].id, DEVTREE_GPU);
	assert_int_equal(f->dev[1].node, 0);
	assert_string_equal(f->dev[1].id, DEVTREE_NIC_VF);
	assert_int_equal(f->dev[2].node, -1);
	assert_int_equal(f->dev[3].node, -1);
	assert_int_equal(f->dev[4].node, -1);
	f->c.n_devices = 1;
	affinity_resolve(f->d, &f->c, &p);
	assert_set(&p.device_nodes, "1");
	assert_set(&p.device_cpus, "4-7");
}

static void test_affinity_resolve_off_or_no_root(void **state)
{
	struct fx *f = *state;
	struct alloc_prefs p = {.device_mode = ALLOC_DEVICE_OFF};

	p.device_nodes = p.device_cpus = (struct cpuset){{1}};
	affinity_resolve(f->d, &f->c, &p);
	assert_true(cpuset_is_empty(&p.device_nodes) && cpuset_is_empty(&p.device_cpus));
	close(f->d->sysfs_fd);
	f->d->sysfs_fd = -1;
	p.device_mode = ALLOC_DEVICE_STRICT;
	affinity_resolve(f->d, &f->c, &p);
	assert_true(cpuset_is_empty(&p.device_nodes));
}

static void test_affinity_explain_names_devices(void **state)
{
	struct fx *f = *state;
	char buf[256] = "x", tiny[40] = "x";

	affinity_explain(f->d, &f->c, buf, sizeof(buf));
	assert_string_equal(buf, "x; device /dev/dri/renderD128 (" DEVTREE_GPU
				 ") on node 1; device ens1f0v0 (" DEVTREE_NIC_VF ") on node 0");
	affinity_explain(f->d, &f->c, tiny, sizeof(tiny)); /* stops before what does not fit */
	assert_string_equal(tiny, "x");
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_affinity_resolve_nodes_and_cpus),
		T(test_affinity_resolve_off_or_no_root),
		T(test_affinity_explain_names_devices),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
