/* SPDX-License-Identifier: Apache-2.0 */
/*
 * usage_hist: arithmetic on the log2 run-queue latency histograms of
 * usage_abi.h (bucket i holds [2^i, 2^(i+1)) us; bucket 0 also holds 0).
 * Pure functions on caller-owned arrays; no allocation.
 */
#ifndef TOPOGUARD_BPF_USAGE_HIST_H
#define TOPOGUARD_BPF_USAGE_HIST_H

#include <stddef.h>
#include <linux/types.h>

/* out[i] = now[i] - before[i], or 0 where a counter went backwards (slot reset). */
void usage_hist_delta(const __u64 *now, const __u64 *before, __u64 *out, size_t n);
/* Sum of all buckets. */
__u64 usage_hist_total(const __u64 *hist, size_t n);
/*
 * Value below which a fraction q (0 < q <= 1) of the samples fall, in us,
 * interpolated linearly inside the bucket. -ENODATA for an empty histogram,
 * -EINVAL for a bad q.
 */
int usage_hist_percentile(const __u64 *hist, size_t n, double q, double *ret_us);
/* Lower bound of bucket b in us (0 for bucket 0). */
double usage_hist_bucket_lo(size_t b);

#endif
