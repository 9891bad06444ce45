/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The string hash of the container and pod tables (policy/alloc.c, plugin/daemon/model.c).
 *
 * Their keys are 64-character container ids, and a create that shrinks the shared pool
 * looks up every shared container in both tables (README, "Footprint"). Byte-at-a-time
 * FNV-1a spent ~290 instructions of a ~2,000-instruction update on each lookup; this
 * takes the key 8 bytes at a time with a multiply-xorshift mix per word (the mix and
 * the finaliser are MurmurHash3's fmix64 constants). Not keyed: the keys come from the
 * runtime, and both tables resolve collisions by full comparison, so a bad key costs
 * time, never a wrong answer. In-memory only: the value may differ between builds and
 * byte orders.
 *
 * s must be NUL-terminated and non-NULL.
 */
#pragma once

#include <stdint.h>
#include <string.h>

static inline uint64_t strhash_mix(uint64_t h, uint64_t w)
{
	h = (h ^ w) * 0xff51afd7ed558ccdull;
	return h ^ (h >> 32);
}

static inline uint64_t strhash(const char *s)
{
	size_t n = strlen(s), i = 0;
	uint64_t h = 0x9e3779b97f4a7c15ull ^ n, w;

	for (; i + 8 <= n; i += 8) {
		memcpy(&w, s + i, 8);
		h = strhash_mix(h, w);
	}
	if (i < n) {
		w = 0;
		memcpy(&w, s + i, n - i);
		h = strhash_mix(h, w);
	}
	h ^= h >> 33;
	h *= 0xc4ceb9fe1a85ec53ull;
	return h ^ (h >> 33);
}
