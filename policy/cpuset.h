/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Fixed-size CPU (or NUMA node) bitmaps and the kernel's cpulist / cpumask text formats.
 *
 * A set is a plain value: no allocation, copy with '='. All functions accept any
 * initialised set; parsers leave *ret untouched on failure. Pure: no I/O.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CPUSET_MAX   4096 /* ids 0..CPUSET_MAX-1; kernel NR_CPUS on distro kernels is <= 8192 */
#define CPUSET_WORDS (CPUSET_MAX / 64)

struct cpuset {
	uint64_t bits[CPUSET_WORDS];
};

void cpuset_zero(struct cpuset *s);
void cpuset_set(struct cpuset *s, unsigned int id);
void cpuset_clear(struct cpuset *s, unsigned int id);
bool cpuset_test(const struct cpuset *s, unsigned int id);
unsigned int cpuset_count(const struct cpuset *s);
bool cpuset_is_empty(const struct cpuset *s);
bool cpuset_equal(const struct cpuset *a, const struct cpuset *b);
bool cpuset_is_subset(const struct cpuset *sub, const struct cpuset *super);
bool cpuset_intersects(const struct cpuset *a, const struct cpuset *b);
void cpuset_and(struct cpuset *dst, const struct cpuset *a, const struct cpuset *b);
void cpuset_or(struct cpuset *dst, const struct cpuset *a, const struct cpuset *b);
void cpuset_andnot(struct cpuset *dst, const struct cpuset *a, const struct cpuset *b);
/* First id >= from that is set, or -1. */
int cpuset_next(const struct cpuset *s, int from);
#define cpuset_foreach(id, s) \
	for ((id) = cpuset_next((s), 0); (id) >= 0; (id) = cpuset_next((s), (id) + 1))

/*
 * Parse a cpulist ("0-3,8,10-11"). Tolerates surrounding whitespace, a trailing
 * newline and trailing NUL bytes (some kernels emit them); "" and "\n" give the
 * empty set. -EINVAL on syntax errors (a reversed range "3-1" is one, however large its
 * numbers), else -ERANGE for ids >= CPUSET_MAX.
 */
int cpuset_parse(const char *buf, size_t len, struct cpuset *ret);
/* Parse a cpumask ("00000000,0000ffff", comma-separated 32-bit hex words, MSW first). */
int cpuset_parse_mask(const char *buf, size_t len, struct cpuset *ret);
/*
 * Canonical cpulist ("0-3,8"), NUL-terminated, "" for the empty set. Returns the
 * string length, or -ENOSPC if size is too small (buf then holds a truncated string).
 */
int cpuset_format(const struct cpuset *s, char *buf, size_t size);
