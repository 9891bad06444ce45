/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Unit tests for policy/strhash.h, the hash of the container and pod tables. It reads
 * the key 8 bytes at a time with a tail: every byte of a key, at every position and
 * in the tail, must move the hash, and container ids (64 hex characters, as runtimes
 * make them) must spread over a table's buckets.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "policy/strhash.h"

static uint64_t rng = 0x2545f4914f6cdd1dull;

static uint64_t rnd(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

static void rnd_id(char *id, size_t len)
{
	static const char hex[] = "0123456789abcdef";

	for (size_t i = 0; i < len; i++)
		id[i] = hex[rnd() % 16];
	id[len] = '\0';
}

/* The same bytes hash the same wherever they live: the hash reads no padding. */
static void test_strhash_depends_on_the_bytes_only(void **state)
{
	char a[80], b[96];

	(void)state;
	for (size_t len = 0; len <= 70; len++) {
		rnd_id(a, len);
		memset(b, 'x', sizeof(b));
		memcpy(b + 3, a, len + 1);
		assert_true(strhash(a) == strhash(b + 3));
	}
}

/* One character changed, at any position of a 1..70-byte key (whole words and tail). */
static void test_strhash_every_byte_counts(void **state)
{
	char id[80];

	(void)state;
	for (size_t len = 1; len <= 70; len++) {
		rnd_id(id, len);
		uint64_t h = strhash(id);

		for (size_t i = 0; i < len; i++) {
			char keep = id[i];

			id[i] = keep == 'a' ? 'b' : 'a';
			if (strhash(id) == h)
				fail_msg("len %zu: byte %zu does not change the hash", len, i);
			id[i] = keep;
		}
	}
}

/* A key and its prefixes, which share its whole words: the tail must count. */
static void test_strhash_prefixes_differ(void **state)
{
	char id[80];
	uint64_t h[71];

	(void)state;
	memset(id, 'a', 70);
	for (size_t len = 0; len <= 70; len++) {
		id[len] = '\0';
		h[len] = strhash(id);
		id[len] = 'a';
		for (size_t k = 0; k < len; k++)
			if (h[k] == h[len])
				fail_msg("%zu and %zu 'a's hash the same", k, len);
	}
}

/*
 * 4096 container ids into 4096 buckets (the low bits, as both tables use them): a
 * uniform hash leaves ~1/e of the buckets empty and no chain much past 8. The bounds
 * are far from both; a sum of the bytes fails them.
 */
static void test_strhash_spreads_container_ids(void **state)
{
	enum { N = 4096 };
	unsigned int *count = calloc(N, sizeof(*count)), longest = 0, empty = 0;
	char id[65];

	(void)state;
	assert_non_null(count);
	for (int i = 0; i < N; i++) {
		rnd_id(id, 64);
		count[strhash(id) & (N - 1)]++;
	}
	for (int i = 0; i < N; i++) {
		longest = count[i] > longest ? count[i] : longest;
		empty += count[i] == 0;
	}
	free(count);
	assert_true(longest <= 12);
	assert_in_range(empty, N / 4, N / 2);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_strhash_depends_on_the_bytes_only),
		cmocka_unit_test(test_strhash_every_byte_counts),
		cmocka_unit_test(test_strhash_prefixes_differ),
		cmocka_unit_test(test_strhash_spreads_container_ids),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
