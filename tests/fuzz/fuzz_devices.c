/* SPDX-License-Identifier: Apache-2.0 */
/*
 * libFuzzer target: device paths and interface names as a runtime may send them, into
 * plugin/host/devices.c, on a small tree built once under a temp dir:
 *
 *   DIR/root/                  the sysfs root handed to the resolver
 *     class/drm/card0 -> ../../devices/gpu/drm/card0, card0/device -> ../../../gpu
 *     devices/gpu/numa_node    1
 *   DIR/outside/numa_node      7, and DIR/outside/device -> . (a trap above the root)
 *
 * Oracle: nothing resolves to node 7 (no input climbs out of the root); a 0 return
 * names node 1 or -1; devices_name_ok() agrees with a reference written from its
 * header; *ret is untouched on failure. Byte 0 picks the entry point, the rest is the
 * string (NUL bytes end it early, as a C string from the protobuf would).
 */
#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <fcntl.h>
#include <unistd.h>

#include "plugin/host/devices.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int root_fd = -1;
static char tree_dir[] = "/tmp/tg-fuzz-devices.XXXXXX";

static void remove_tree(void)
{
	char cmd[64];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tree_dir);
	if (system(cmd) != 0)
		fprintf(stderr, "fuzz_devices: could not remove %s\n", tree_dir);
}

static void put(const char *path, const char *text)
{
	FILE *f = fopen(path, "we");

	if (!f || fputs(text, f) < 0 || fclose(f) != 0)
		abort();
}

static void build_tree(void)
{
	char *dir = tree_dir, p[256];

	if (!mkdtemp(dir))
		abort();
	atexit(remove_tree);
#define AT(rel) (snprintf(p, sizeof(p), "%s/%s", dir, rel), p)
	if (mkdir(AT("root"), 0755) || mkdir(AT("root/class"), 0755) ||
	    mkdir(AT("root/class/drm"), 0755) || mkdir(AT("root/devices"), 0755) ||
	    mkdir(AT("root/devices/gpu"), 0755) || mkdir(AT("root/devices/gpu/drm"), 0755) ||
	    mkdir(AT("root/devices/gpu/drm/card0"), 0755) || mkdir(AT("outside"), 0755))
		abort();
	put(AT("root/devices/gpu/numa_node"), "1\n");
	put(AT("outside/numa_node"), "7\n");
	if (symlink("../../devices/gpu/drm/card0", AT("root/class/drm/card0")) ||
	    symlink("../../../gpu", AT("root/devices/gpu/drm/card0/device")) ||
	    symlink(".", AT("outside/device")))
		abort();
	root_fd = open(AT("root"), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (root_fd < 0)
		abort();
#undef AT
}

/* devices.h: 1..DEVICES_NAME_MAX printable ASCII bytes, no '/', not "." or "..". */
static bool ref_name_ok(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > DEVICES_NAME_MAX || !strcmp(s, ".") || !strcmp(s, ".."))
		return false;
	for (size_t i = 0; i < n; i++)
		if (s[i] < '!' || s[i] > '~' || s[i] == '/')
			return false;
	return true;
}

static void check(int r, const struct devices_place *p)
{
	if (r == 0 && p->node != 1 && p->node != -1)
		abort(); /* 7: read above the root */
	if (r < 0 && p->node != 42)
		abort(); /* written on failure */
	if (r < 0 && r != -EINVAL && r != -ENOENT && r != -ENAMETOOLONG && r != -ENOTDIR &&
	    r != -ELOOP)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct devices_place p = {.node = 42};
	char *s;
	int r;

	if (root_fd < 0)
		build_tree();
	if (size < 1)
		return 0;
	s = malloc(size); /* exact size: ASan sees any read past the NUL */
	if (!s)
		return 0;
	memcpy(s, data + 1, size - 1);
	s[size - 1] = '\0';
	if (devices_name_ok(s) != ref_name_ok(s))
		abort();
	switch (data[0] % 3) {
	case 0:
		r = devices_resolve_path(root_fd, s, &p);
		break;
	case 1:
		r = devices_resolve_net(root_fd, s, &p);
		break;
	default: { /* the "dev/char" route: type, major, minor from the bytes */
		long long major = size > 2 ? (int8_t)data[1] * 40 : 0;
		long long minor = size > 3 ? (int16_t)(data[2] | data[3] << 8) * 20 : 0;

		r = devices_resolve_node(root_fd, s[0], major, minor, &p);
		break;
	}
	}
	check(r, &p);
	free(s);
	return 0;
}
