/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Shared fixture for the policy/alloc*.c unit tests (tests/unit/policy/test_alloc*.c):
 * a synthetic machine, a config, a state and a reusable changes list, freed by
 * teardown(). Header-only (static inline) so each test binary stays one .c file.
 *
 * The default machine: 2 packages, 1 node each, 2 L3 per node, 4 cores per L3, 2
 * threads: 16 cores, CPUs 0-15 are the first threads and core k is {k, k+16}.
 * L3 #0 = cores 0-3, #1 = 4-7 (node 0), #2 = 8-11, #3 = 12-15 (node 1).
 */
#pragma once

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "policy/alloc.h"

#define SPEC(p, d, n, l, c, th, m)                                                 \
	(struct topo_synth_spec)                                                   \
	{                                                                          \
		.packages = (p), .dies_per_package = (d), .nodes_per_die = (n),    \
		.l3_per_node = (l), .cores_per_l3 = (c), .threads_per_core = (th), \
		.memory_only_nodes = (m)                                           \
	}

struct fx {
	struct topology *t;
	struct alloc_config cfg;
	struct alloc_state *s;
	struct alloc_changes ch;
	char reason[256];
};

static inline struct cpuset set_of(const char *list)
{
	struct cpuset s;

	assert_int_equal(cpuset_parse(list, strlen(list), &s), 0);
	return s;
}

static inline void assert_set(const struct cpuset *s, const char *want)
{
	char buf[1024];

	assert_true(cpuset_format(s, buf, sizeof(buf)) >= 0);
	if (strcmp(buf, want) != 0)
		fail_msg("set is \"%s\", want \"%s\"", buf, want);
}

static inline void fx_topo(struct fx *f, struct topo_synth_spec spec)
{
	int r = topology_synthetic(&spec, &f->t);

	if (r < 0)
		fail_msg("topology_synthetic: %s", strerror(-r));
	alloc_config_init(&f->cfg);
}

static inline void fx_state(struct fx *f)
{
	int r = alloc_state_new(f->t, &f->cfg, &f->s);

	if (r < 0) {
		alloc_config_validate(f->t, &f->cfg, f->reason, sizeof(f->reason));
		fail_msg("alloc_state_new: %s (%s)", strerror(-r), f->reason);
	}
}

static inline int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));

	if (!f)
		return -1;
	fx_topo(f, SPEC(2, 1, 1, 2, 4, 2, 0));
	*state = f;
	return 0;
}

static inline int teardown(void **state)
{
	struct fx *f = *state;

	alloc_state_free(f->s);
	topology_free(f->t);
	alloc_changes_done(&f->ch);
	free(f);
	return 0;
}

static inline struct alloc_request req(const char *id, const char *ns, enum qos_class qos,
				       int64_t mcpu)
{
	struct alloc_request r;

	alloc_request_init(&r);
	r.id = id;
	r.pod_namespace = ns;
	r.qos = qos;
	r.cpu_request_mcpu = mcpu;
	r.cpu_limit_mcpu = qos == QOS_GUARANTEED ? mcpu : 0;
	return r;
}

static inline struct alloc_result create_ok(struct fx *f, const struct alloc_request *r)
{
	struct alloc_result res;
	int rc;

	alloc_changes_reset(&f->ch);
	rc = alloc_create(f->s, r, &res, &f->ch, f->reason, sizeof(f->reason));
	if (rc < 0)
		fail_msg("alloc_create(%s): %s (%s)", r->id, strerror(-rc), f->reason);
	return res;
}

static inline struct alloc_result guaranteed(struct fx *f, const char *id, int64_t mcpu)
{
	struct alloc_request r = req(id, "default", QOS_GUARANTEED, mcpu);

	return create_ok(f, &r);
}

static inline struct alloc_result burstable(struct fx *f, const char *id, int64_t mcpu)
{
	struct alloc_request r = req(id, "default", QOS_BURSTABLE, mcpu);

	return create_ok(f, &r);
}

static inline bool changes_has(const struct fx *f, const char *id)
{
	for (size_t i = 0; i < f->ch.n; i++)
		if (strcmp(f->ch.ids[i], id) == 0)
			return true;
	return false;
}
