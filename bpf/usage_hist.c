/* SPDX-License-Identifier: Apache-2.0 */
/* Log2 histogram arithmetic; see usage_hist.h. */
#include <errno.h>
#include <math.h>

#include "bpf/usage_hist.h"

void usage_hist_delta(const __u64 *now, const __u64 *before, __u64 *out, size_t n)
{
	for (size_t i = 0; i < n; i++)
		out[i] = now[i] >= before[i] ? now[i] - before[i] : 0;
}

__u64 usage_hist_total(const __u64 *hist, size_t n)
{
	__u64 total = 0;

	for (size_t i = 0; i < n; i++)
		total += hist[i];
	return total;
}

double usage_hist_bucket_lo(size_t b)
{
	return b == 0 ? 0.0 : ldexp(1.0, (int)b);
}

int usage_hist_percentile(const __u64 *hist, size_t n, double q, double *ret_us)
{
	__u64 total, cum = 0;
	double rank;

	if (!hist || !ret_us || !(q > 0.0 && q <= 1.0))
		return -EINVAL;
	total = usage_hist_total(hist, n);
	if (total == 0)
		return -ENODATA;
	/* The sample of rank ceil(q * total), 1-based, as in nearest-rank percentiles. */
	rank = ceil(q * (double)total);
	for (size_t b = 0; b < n; b++) {
		double lo, hi;

		if (hist[b] == 0 || (double)(cum + hist[b]) < rank) {
			cum += hist[b];
			continue;
		}
		lo = usage_hist_bucket_lo(b);
		hi = ldexp(1.0, (int)b + 1);
		*ret_us = lo + (hi - lo) * (rank - (double)cum) / (double)hist[b];
		return 0;
	}
	return -ENODATA; /* not reached: rank <= total */
}
