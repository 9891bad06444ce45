/* SPDX-License-Identifier: Apache-2.0 */
/*
 * libFuzzer target: the annotation parser. Input is split into NUL-separated
 * strings taken as key, value, key, value...; the first string is the container
 * name. Hostile keys and values must be refused with a reason, never crash.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "plugin/daemon/annotations.h"

#define MAX_KV 64

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void sink(void *ud, const char *key, const char *reason)
{
	/* Touch every byte so ASan checks the strings are terminated. */
	*(size_t *)ud += strlen(key) + strlen(reason);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct annotations_kv kv[MAX_KV];
	struct annotations_prefs p;
	const char *parts[2 * MAX_KV + 1];
	size_t n = 0, seen = 0;
	char *buf = malloc(size + 1);

	if (!buf)
		return 0;
	memcpy(buf, data, size);
	buf[size] = '\0';
	for (char *s = buf; s <= buf + size && n < 2 * MAX_KV + 1; s += strlen(s) + 1)
		parts[n++] = s;
	for (size_t i = 1; i + 1 < n; i += 2) {
		kv[i / 2].key = parts[i];
		kv[i / 2].value = parts[i + 1];
	}
	if (annotations_parse(kv, n > 1 ? (n - 1) / 2 : 0, parts[0][0] ? parts[0] : NULL, size & 1,
			      sink, &seen, &p) < 0)
		abort();
	for (int i = 0; i < ANNOTATIONS_PREF_COUNT; i++)
		if (p.value[i] < -1 || p.value[i] > 1)
			abort();
	if (p.value[ANNOTATIONS_LATENCY] == 1 &&
	    (p.latency_target_us < 1 || p.latency_target_us > 1000000))
		abort();
	free(buf);
	return 0;
}
