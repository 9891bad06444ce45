/* SPDX-License-Identifier: Apache-2.0 */
/*
 * CPU sets out of nri-sim reports, for e2e tests; header-only, cmocka asserts (include
 * after <cmocka.h>): a bad cpulist or a container missing from the report fails the case.
 */
#pragma once

#include <string.h>

#include "policy/cpuset.h"
#include "tests/lib/e2e.h"

static inline struct cpuset set_of(const char *list)
{
	struct cpuset s;

	assert_non_null(list);
	if (cpuset_parse(list, strlen(list), &s) < 0)
		fail_msg("bad cpulist \"%s\"", list);
	return s;
}

/* The cpuset the runtime applied to container id, as the report has it. */
static inline struct cpuset cpus_of(json_object *rep, const char *id)
{
	const char *l = e2e_report_cpus(rep, id);

	if (!l)
		fail_msg("container %s missing from the report", id);
	return set_of(l);
}
