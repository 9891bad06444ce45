/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Random pod operations for nri-sim scenarios, reproducible from a seed: 24 slots, each
 * a container walking its life (pod + create, start, updates, stop, pod removal) with a
 * random QoS shape: Guaranteed integer (marked `exclusive`), Guaranteed fractional,
 * Burstable, BestEffort. Updates carry the whole CPU request and limit, as the kubelet's
 * UpdateContainerResources does. Shared by tests/e2e/test_faults.c and test_restarts.c.
 *
 * The scenario opens with `head`; ops are split into phases, and phase_line(p) (p >= 1)
 * opens each phase after the first; a `sleep pause_ms` follows every pause_every ops;
 * `tail` ends it. Nothing here asserts: NULL on ENOMEM.
 */
#pragma once

#include <stdint.h>

#define SCNGEN_EXCL_ARGS "mem-limit=1073741824 exclusive"

struct scngen_opts {
	uint64_t seed;
	int ops, phases, pause_every, pause_ms;
	const char *head, *tail;
	/* the lines opening phase p (1..phases-1), into buf; may be empty */
	void (*phase_line)(int p, char *buf, size_t len, void *ud);
	void *ud;
};

/* The scenario text (free() it), or NULL. */
char *scngen_build(const struct scngen_opts *o);
