/* SPDX-License-Identifier: Apache-2.0 */
/*
 * cgstat: cgroupfs readers for the usage collector (v1 and v2 files), always
 * relative to a directory fd so tests can point them at a fake tree. Parsers take
 * a NUL-terminated buffer, readers a dirfd + file name; all return 0 or -errno
 * (-ENOENT when the file is absent, -EBADMSG when it does not parse) and leave
 * *ret untouched on failure. No allocation, no ownership transfer.
 */
#ifndef TOPOGUARD_BPF_CGSTAT_H
#define TOPOGUARD_BPF_CGSTAT_H

#include <stdbool.h>
#include <stddef.h>
#include <linux/types.h>

/* cpu.stat, either version. Fields the file lacks keep has_* false. */
struct cgstat_cpu {
	bool has_usage;	   /* v2 usage_usec */
	bool has_throttle; /* nr_throttled + throttled_time (v1, ns) or throttled_usec (v2) */
	__u64 usage_ns;
	__u64 nr_periods;
	__u64 nr_throttled;
	__u64 throttled_ns;
};

/* One PSI file (cpu.pressure, memory.pressure). */
struct cgstat_psi {
	bool has_full; /* cpu.pressure "full" exists only on newer kernels */
	double some_avg10;
	double full_avg10;
	__u64 some_total_us;
	__u64 full_total_us;
};

int cgstat_parse_u64(const char *buf, __u64 *ret);
int cgstat_parse_cpu_stat(const char *buf, struct cgstat_cpu *ret);
int cgstat_parse_psi(const char *buf, struct cgstat_psi *ret);
/* Value of "key N" in a flat keyed file (memory.events, memory.oom_control). */
int cgstat_parse_key(const char *buf, const char *key, __u64 *ret);

/* Reads dirfd/name into buf (NUL-terminated); returns the length. */
int cgstat_read_file(int dirfd, const char *name, char *buf, size_t size);
int cgstat_read_u64(int dirfd, const char *name, __u64 *ret);
int cgstat_read_cpu_stat(int dirfd, struct cgstat_cpu *ret);
int cgstat_read_psi(int dirfd, const char *name, struct cgstat_psi *ret);
int cgstat_read_key(int dirfd, const char *name, const char *key, __u64 *ret);

#endif
