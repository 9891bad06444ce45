/* SPDX-License-Identifier: Apache-2.0 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "plugin/daemon/model.h"

typedef Nri__Pkg__Api__V1alpha1__PodSandbox__LabelsEntry PodLabel;
typedef Nri__Pkg__Api__V1alpha1__Container__LabelsEntry CtrLabel;
typedef Nri__Pkg__Api__V1alpha1__Container__AnnotationsEntry CtrAnnotation;

/* A pod as the kubelet sends it: fields plus io.kubernetes.* labels. */
struct pod_fixture {
	NriPodSandbox pod;
	Nri__Pkg__Api__V1alpha1__LinuxPodSandbox lx;
	NriLinuxResources res;
	Nri__Pkg__Api__V1alpha1__LinuxCPU cpu;
	Nri__Pkg__Api__V1alpha1__OptionalUInt64 shares;
	PodLabel l[3], *lp[3];
};

static void pod_fixture_init(struct pod_fixture *f, const char *id, const char *ns,
			     const char *name, const char *uid, bool labels)
{
	static const char *keys[] = {"io.kubernetes.pod.name", "io.kubernetes.pod.namespace",
				     "io.kubernetes.pod.uid"};
	const char *vals[] = {name, ns, uid};

	f->pod = (NriPodSandbox)NRI__PKG__API__V1ALPHA1__POD_SANDBOX__INIT;
	f->lx = (Nri__Pkg__Api__V1alpha1__LinuxPodSandbox)
		NRI__PKG__API__V1ALPHA1__LINUX_POD_SANDBOX__INIT;
	f->res = (NriLinuxResources)NRI__PKG__API__V1ALPHA1__LINUX_RESOURCES__INIT;
	f->cpu = (Nri__Pkg__Api__V1alpha1__LinuxCPU)NRI__PKG__API__V1ALPHA1__LINUX_CPU__INIT;
	f->shares = (Nri__Pkg__Api__V1alpha1__OptionalUInt64)
		NRI__PKG__API__V1ALPHA1__OPTIONAL_UINT64__INIT;
	f->shares.value = 2048;
	f->cpu.shares = &f->shares;
	f->res.cpu = &f->cpu;
	f->lx.pod_resources = &f->res;
	f->lx.cgroup_parent = (char *)"/kubepods/podabc";
	f->pod.linux_ = &f->lx;
	f->pod.id = (char *)id;
	for (int i = 0; i < 3; i++) {
		f->l[i] = (PodLabel)NRI__PKG__API__V1ALPHA1__POD_SANDBOX__LABELS_ENTRY__INIT;
		f->l[i].key = (char *)keys[i];
		f->l[i].value = (char *)vals[i];
		f->lp[i] = &f->l[i];
	}
	if (labels) {
		f->pod.labels = f->lp;
		f->pod.n_labels = 3;
	} else {
		f->pod.name = (char *)name;
		f->pod.namespace_ = (char *)ns;
		f->pod.uid = (char *)uid;
	}
}

struct ctr_fixture {
	NriContainer ctr;
	Nri__Pkg__Api__V1alpha1__LinuxContainer lx;
	NriLinuxResources res;
	Nri__Pkg__Api__V1alpha1__LinuxCPU cpu;
	Nri__Pkg__Api__V1alpha1__LinuxMemory mem;
	Nri__Pkg__Api__V1alpha1__OptionalInt64 quota, limit;
	CtrLabel l, *lp;
	CtrAnnotation a, *ap;
};

static void ctr_fixture_init(struct ctr_fixture *f, const char *id, const char *pod_id,
			     const char *name, const char *k8s_name)
{
	f->ctr = (NriContainer)NRI__PKG__API__V1ALPHA1__CONTAINER__INIT;
	f->lx = (Nri__Pkg__Api__V1alpha1__LinuxContainer)
		NRI__PKG__API__V1ALPHA1__LINUX_CONTAINER__INIT;
	f->res = (NriLinuxResources)NRI__PKG__API__V1ALPHA1__LINUX_RESOURCES__INIT;
	f->cpu = (Nri__Pkg__Api__V1alpha1__LinuxCPU)NRI__PKG__API__V1ALPHA1__LINUX_CPU__INIT;
	f->mem = (Nri__Pkg__Api__V1alpha1__LinuxMemory)NRI__PKG__API__V1ALPHA1__LINUX_MEMORY__INIT;
	f->quota = (Nri__Pkg__Api__V1alpha1__OptionalInt64)
		NRI__PKG__API__V1ALPHA1__OPTIONAL_INT64__INIT;
	f->limit = f->quota;
	f->quota.value = 200000;
	f->limit.value = 1 << 30;
	f->cpu.quota = &f->quota;
	f->cpu.cpus = (char *)"0-3";
	f->mem.limit = &f->limit;
	f->res.cpu = &f->cpu;
	f->res.memory = &f->mem;
	f->lx.resources = &f->res;
	f->lx.cgroups_path = (char *)"/kubepods/podabc/ctr";
	f->ctr.linux_ = &f->lx;
	f->ctr.id = (char *)id;
	f->ctr.pod_sandbox_id = (char *)pod_id;
	f->ctr.name = (char *)name;
	f->ctr.state = NRI__PKG__API__V1ALPHA1__CONTAINER_STATE__CONTAINER_CREATED;
	f->l = (CtrLabel)NRI__PKG__API__V1ALPHA1__CONTAINER__LABELS_ENTRY__INIT;
	f->l.key = (char *)"io.kubernetes.container.name";
	f->l.value = (char *)k8s_name;
	f->lp = &f->l;
	if (k8s_name) {
		f->ctr.labels = &f->lp;
		f->ctr.n_labels = 1;
	}
	f->a = (CtrAnnotation)NRI__PKG__API__V1ALPHA1__CONTAINER__ANNOTATIONS_ENTRY__INIT;
	f->a.key = (char *)"exclusive-cpus.topoguard.io";
	f->a.value = (char *)"true";
	f->ap = &f->a;
	f->ctr.annotations = &f->ap;
	f->ctr.n_annotations = 1;
}

static void test_model_pod_put_lookups(void **state)
{
	struct pod_fixture f;
	struct model *m = NULL;
	struct model_pod *p = NULL;

	(void)state;
	assert_int_equal(model_new(&m), 0);
	pod_fixture_init(&f, "sb1", "default", "web", "uid-1", true);
	f.pod.name = (char *)"ignored-field"; /* labels win over fields */
	assert_int_equal(model_pod_put(m, &f.pod, &p), 0);
	assert_string_equal(p->name, "web");
	assert_string_equal(p->namespace, "default");
	assert_string_equal(p->uid, "uid-1");
	assert_string_equal(p->cgroup_parent, "/kubepods/podabc");
	assert_true(p->resources.has_shares);
	assert_int_equal(p->resources.shares, 2048);
	assert_false(p->overhead.has_shares);
	assert_ptr_equal(model_pod_by_id(m, "sb1"), p);
	assert_ptr_equal(model_pod_by_uid(m, "uid-1"), p);
	assert_ptr_equal(model_pod_by_name(m, "default", "web"), p);
	assert_null(model_pod_by_name(m, "other", "web"));
	assert_int_equal(model_pod_count(m), 1);
	model_free(m);
}

/* An UpdatePodSandbox's resources outlive later puts of the pod's creation-time ones. */
static void test_model_pod_set_resources_kept_by_put(void **state)
{
	struct pod_fixture f, upd;
	struct model *m = NULL;
	struct model_pod *p = NULL;

	(void)state;
	assert_int_equal(model_new(&m), 0);
	pod_fixture_init(&f, "sb1", "default", "web", "uid-1", true);
	pod_fixture_init(&upd, "sb1", "default", "web", "uid-1", true);
	upd.shares.value = 4096;
	assert_int_equal(model_pod_put(m, &f.pod, &p), 0);
	assert_false(p->resized);
	assert_int_equal(model_pod_set_resources(NULL, &upd.res, NULL), -EINVAL);
	assert_int_equal(model_pod_set_resources(p, NULL, NULL), 0);
	assert_false(p->resized);
	assert_int_equal(model_pod_set_resources(p, &upd.res, NULL), 0);
	assert_true(p->resized);
	assert_int_equal(p->resources.shares, 4096);
	assert_false(p->overhead.has_shares); /* NULL: unchanged */
	assert_int_equal(model_pod_put(m, &f.pod, &p), 0);
	assert_true(p->resized);
	assert_int_equal(p->resources.shares, 4096);
	assert_int_equal(model_pod_set_resources(p, NULL, &f.res), 0);
	assert_int_equal(p->overhead.shares, 2048);
	assert_int_equal(p->resources.shares, 4096);
	model_free(m);
}

static void test_model_pod_put_falls_back_to_fields(void **state)
{
	struct pod_fixture f;
	struct model *m = NULL;
	struct model_pod *p = NULL;

	(void)state;
	assert_int_equal(model_new(&m), 0);
	pod_fixture_init(&f, "sb2", "ns2", "db", "uid-2", false);
	assert_int_equal(model_pod_put(m, &f.pod, &p), 0);
	assert_string_equal(p->name, "db");
	assert_ptr_equal(model_pod_by_name(m, "ns2", "db"), p);
	/* Update in place: renamed pod, indexes follow. */
	f.pod.name = (char *)"db2";
	f.pod.uid = (char *)"uid-3";
	assert_int_equal(model_pod_put(m, &f.pod, NULL), 0);
	assert_null(model_pod_by_name(m, "ns2", "db"));
	assert_null(model_pod_by_uid(m, "uid-2"));
	assert_ptr_equal(model_pod_by_name(m, "ns2", "db2"), p);
	assert_int_equal(model_pod_count(m), 1);
	model_free(m);
}

static void test_model_container_put_names_state_resources(void **state)
{
	struct pod_fixture pf;
	struct ctr_fixture cf;
	struct model *m = NULL;
	struct model_container *c = NULL;

	(void)state;
	assert_int_equal(model_new(&m), 0);
	pod_fixture_init(&pf, "sb1", "default", "web", "uid-1", true);
	ctr_fixture_init(&cf, "c1", "sb1", "runtime-name", "app");
	assert_int_equal(model_container_put(m, &pf.pod, &cf.ctr, &c), 0);
	assert_string_equal(c->name, "app");
	assert_int_equal(c->state, MODEL_STATE_CREATED);
	assert_true(c->resources.has_quota);
	assert_int_equal(c->resources.quota, 200000);
	assert_true(c->resources.has_mem_limit);
	assert_string_equal(c->resources.cpus, "0-3");
	assert_string_equal(c->resources.mems, "");
	assert_string_equal(
		model_kv_get(c->annotations, c->n_annotations, "exclusive-cpus.topoguard.io"),
		"true");
	assert_ptr_equal(model_container_pod(m, c), model_pod_by_id(m, "sb1"));
	assert_int_equal(model_pod_by_id(m, "sb1")->n_containers, 1);

	/* No io.kubernetes label: the NRI name is used. */
	ctr_fixture_init(&cf, "c2", "sb1", "plain", NULL);
	cf.ctr.state = NRI__PKG__API__V1ALPHA1__CONTAINER_STATE__CONTAINER_STOPPED;
	cf.ctr.exit_code = 137;
	assert_int_equal(model_container_put(m, NULL, &cf.ctr, &c), 0);
	assert_string_equal(c->name, "plain");
	assert_int_equal(c->state, MODEL_STATE_EXITED);
	assert_int_equal(model_container_set_state(m, "c2", MODEL_STATE_STOPPED), 0);
	assert_int_equal(model_container_set_state(m, "nope", MODEL_STATE_STOPPED), -ENOENT);
	assert_int_equal(model_pod_by_id(m, "sb1")->n_containers, 2);
	model_free(m);
}

static int count_cb(struct model_container *c, void *ud)
{
	(void)c;
	(*(int *)ud)++;
	return 0;
}

static void test_model_pod_remove_drops_containers(void **state)
{
	struct pod_fixture pf;
	struct ctr_fixture cf;
	struct model *m = NULL;
	int n = 0;

	(void)state;
	assert_int_equal(model_new(&m), 0);
	pod_fixture_init(&pf, "sb1", "default", "web", "uid-1", true);
	for (int i = 0; i < 3; i++) {
		char id[16];

		snprintf(id, sizeof(id), "c%d", i);
		ctr_fixture_init(&cf, id, "sb1", id, NULL);
		assert_int_equal(model_container_put(m, &pf.pod, &cf.ctr, NULL), 0);
	}
	assert_int_equal(model_foreach_container(m, "sb1", count_cb, &n), 0);
	assert_int_equal(n, 3);
	assert_int_equal(model_container_remove(m, "c1"), 1);
	assert_int_equal(model_container_remove(m, "c1"), 0);
	assert_int_equal(model_pod_by_id(m, "sb1")->n_containers, 2);
	assert_int_equal(model_pod_remove(m, "sb1"), 1);
	assert_int_equal(model_pod_remove(m, "sb1"), 0);
	assert_int_equal(model_container_count(m), 0);
	assert_null(model_container_by_id(m, "c0"));
	assert_null(model_pod_by_uid(m, "uid-1"));
	model_free(m);
}

/* Enough churn to force growth, tombstones and rehashing; every lookup stays exact. */
static void test_model_container_put_many_with_churn(void **state)
{
	struct ctr_fixture cf;
	struct model *m = NULL;
	char id[32];

	(void)state;
	assert_int_equal(model_new(&m), 0);
	for (int i = 0; i < 2000; i++) {
		snprintf(id, sizeof(id), "ctr-%d", i);
		ctr_fixture_init(&cf, id, "sbX", "n", NULL);
		assert_int_equal(model_container_put(m, NULL, &cf.ctr, NULL), 0);
		if (i % 3 == 0) {
			snprintf(id, sizeof(id), "ctr-%d", i / 2);
			model_container_remove(m, id);
		}
	}
	for (int i = 0; i < 2000; i++) {
		struct model_container *c;

		snprintf(id, sizeof(id), "ctr-%d", i);
		c = model_container_by_id(m, id);
		if (c)
			assert_string_equal(c->id, id);
	}
	assert_int_equal(model_container_count(m), 2000 - 667);
	model_free(m);
}

static void test_model_put_rejects_missing_id(void **state)
{
	struct pod_fixture pf;
	struct model *m = NULL;

	(void)state;
	assert_int_equal(model_new(&m), 0);
	pod_fixture_init(&pf, "", "a", "b", "c", false);
	assert_int_equal(model_pod_put(m, &pf.pod, NULL), -EINVAL);
	assert_int_equal(model_pod_put(m, NULL, NULL), -EINVAL);
	assert_int_equal(model_container_put(m, NULL, NULL, NULL), -EINVAL);
	assert_string_equal(model_state_name(MODEL_STATE_EXITED), "exited");
	model_free(m);
	model_free(NULL);
}

typedef Nri__Pkg__Api__V1alpha1__LinuxDevice LinuxDevice;
typedef Nri__Pkg__Api__V1alpha1__Mount Mount;
typedef Nri__Pkg__Api__V1alpha1__LinuxContainer__NetDevicesEntry NetDevice;

#define N_DEV (MODEL_DEVICES_MAX + 2)

/* Device nodes, /dev mounts and net devices are kept; the cap and bad entries drop. */
static void test_model_container_put_devices(void **state)
{
	static char too_long[4098], long_path[4097];
	struct ctr_fixture cf;
	LinuxDevice dev[N_DEV], *devp[N_DEV];
	Mount mnt[2], *mntp[2];
	NetDevice net, *netp = &net;
	struct model_container *c;
	struct model *m = NULL;

	(void)state;
	assert_int_equal(model_new(&m), 0);
	ctr_fixture_init(&cf, "c1", "p1", "x", "x");
	for (int i = 0; i < N_DEV; i++) {
		dev[i] = (LinuxDevice)NRI__PKG__API__V1ALPHA1__LINUX_DEVICE__INIT;
		dev[i].type = (char *)"c";
		dev[i].major = 226;
		dev[i].minor = 128 + i;
		dev[i].path = (char *)"/dev/dri/renderD128";
		devp[i] = &dev[i];
	}
	dev[1].type = (char *)"cb"; /* not one letter: dropped */
	memset(too_long, 'a', sizeof(too_long) - 1);
	memset(long_path, 'a', sizeof(long_path) - 1);
	dev[2].path = too_long;	 /* 4097 bytes: dropped */
	dev[3].path = long_path; /* 4096 bytes: kept */
	cf.lx.devices = devp;
	cf.lx.n_devices = MODEL_DEVICES_MAX - 2;
	for (int i = 0; i < 2; i++) {
		mnt[i] = (Mount)NRI__PKG__API__V1ALPHA1__MOUNT__INIT;
		mntp[i] = &mnt[i];
	}
	mnt[0].source = (char *)"/dev/infiniband/uverbs0";
	mnt[1].source = (char *)"/var/lib/kubelet/x"; /* not a device */
	cf.ctr.mounts = mntp;
	cf.ctr.n_mounts = 2;
	net = (NetDevice)NRI__PKG__API__V1ALPHA1__LINUX_CONTAINER__NET_DEVICES_ENTRY__INIT;
	net.key = (char *)"ens1f0v0";
	cf.lx.net_devices = &netp;
	cf.lx.n_net_devices = 1;
	assert_int_equal(model_container_put(m, NULL, &cf.ctr, &c), 0);
	assert_int_equal(c->n_devices, MODEL_DEVICES_MAX - 2);
	assert_int_equal(c->n_devices_dropped, 2);
	assert_int_equal(c->devices[0].kind, MODEL_DEVICE_NODE);
	assert_int_equal(c->devices[0].type, 'c');
	assert_int_equal(c->devices[0].minor, 128);
	assert_int_equal(c->devices[0].node, -1);
	assert_int_equal(strlen(c->devices[1].path), 4096);
	assert_int_equal(c->devices[MODEL_DEVICES_MAX - 4].kind, MODEL_DEVICE_MOUNT);
	assert_string_equal(c->devices[MODEL_DEVICES_MAX - 4].path, "/dev/infiniband/uverbs0");
	assert_int_equal(c->devices[MODEL_DEVICES_MAX - 3].kind, MODEL_DEVICE_NET);
	assert_string_equal(c->devices[MODEL_DEVICES_MAX - 3].path, "ens1f0v0");
	/* past the cap: what does not fit is counted, never stored */
	cf.lx.n_devices = N_DEV;
	assert_int_equal(model_container_put(m, NULL, &cf.ctr, &c), 0);
	assert_int_equal(c->n_devices, MODEL_DEVICES_MAX);
	assert_int_equal(c->n_devices_dropped, 2 + 2); /* the bad two, the mount and the net */
	/* none at all: nothing allocated */
	cf.lx.n_devices = 0;
	cf.ctr.n_mounts = 0;
	cf.lx.n_net_devices = 0;
	assert_int_equal(model_container_put(m, NULL, &cf.ctr, &c), 0);
	assert_int_equal(c->n_devices, 0);
	assert_null(c->devices);
	model_free(m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_model_pod_put_lookups),
		cmocka_unit_test(test_model_pod_set_resources_kept_by_put),
		cmocka_unit_test(test_model_pod_put_falls_back_to_fields),
		cmocka_unit_test(test_model_container_put_names_state_resources),
		cmocka_unit_test(test_model_pod_remove_drops_containers),
		cmocka_unit_test(test_model_container_put_many_with_churn),
		cmocka_unit_test(test_model_put_rejects_missing_id),
		cmocka_unit_test(test_model_container_put_devices),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
