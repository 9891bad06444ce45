/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The NRI versions the simulator plays, and what each one does on the wire
 * (nri-protocol.md §6.2, §6.3, §10.1). Versions before 0.12 do not send NRI_version:
 * each plays the runtime release that shipped it, by name and version, so the plugin
 * infers the NRI version as it would against the real one.
 */
#include <string.h>

#include "tests/sim/sim.h"

static const struct sim_nri versions[] = {
	{"v0.3.0", 3, 0, "containerd", "v1.7.6"},  {"v0.4.0", 4, 0, "containerd", "v1.7.13"},
	{"v0.6.0", 6, 0, "containerd", "v1.7.15"}, {"v0.6.1", 6, 1, "containerd", "v1.7.20"},
	{"v0.8.0", 8, 0, "containerd", "v2.1.6"},  {"v0.9.0", 9, 0, "cri-o", "1.32.4"},
	{"v0.10.0", 10, 0, "cri-o", "1.34.2"},	   {"v0.11.0", 11, 0, "containerd", "v2.2.1"},
	{"v0.12.0", 12, 0, "nri-sim", "v0.1.0"},   {"v0.12.1", 12, 1, "nri-sim", "v0.1.0"},
	{"v0.12.2", 12, 2, "nri-sim", "v0.1.0"},
};

const struct sim_nri *sim_nri_lookup(const char *tag)
{
	for (size_t i = 0; i < sizeof(versions) / sizeof(versions[0]); i++) {
		if (!strcmp(versions[i].tag, tag))
			return &versions[i];
	}
	return NULL;
}

bool sim_nri_at_least(const struct sim *s, unsigned int minor, unsigned int patch)
{
	return s->nri->minor > minor || (s->nri->minor == minor && s->nri->patch >= patch);
}
