/* SPDX-License-Identifier: Apache-2.0 */
/* A container's devices -> its placement preference (affinity.h). */
#include "plugin/daemon/affinity.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "plugin/daemon/state.h"
#include "plugin/host/devices.h"
#include "plugin/obs/log.h"
#include "plugin/obs/metrics.h"

static int resolve_one(int root, const struct model_device *dev, struct devices_place *p)
{
	int r;

	switch (dev->kind) {
	case MODEL_DEVICE_NODE:
		r = devices_resolve_node(root, dev->type, dev->major, dev->minor, p);
		/* a node sysfs does not link (vfio groups, some drivers): by its name */
		return r == -ENOENT ? devices_resolve_path(root, dev->path, p) : r;
	case MODEL_DEVICE_MOUNT:
		return devices_resolve_path(root, dev->path, p);
	case MODEL_DEVICE_NET:
		return devices_resolve_net(root, dev->path, p);
	}
	return -EINVAL;
}

void affinity_resolve(struct daemon *d, struct model_container *c, struct alloc_prefs *prefs)
{
	cpuset_zero(&prefs->device_nodes);
	cpuset_zero(&prefs->device_cpus);
	if (d->sysfs_fd < 0 || prefs->device_mode == ALLOC_DEVICE_OFF)
		return;
	if (c->n_devices_dropped)
		log_debug("container %s: %zu devices not looked at (more than %d, or malformed)",
			  c->id, c->n_devices_dropped, MODEL_DEVICES_MAX);
	for (size_t i = 0; i < c->n_devices; i++) {
		struct model_device *dev = &c->devices[i];
		struct devices_place p;
		int r = resolve_one(d->sysfs_fd, dev, &p);

		dev->node = -1;
		dev->id[0] = '\0';
		if (r < 0) {
			if (r != -ENOENT)
				log_debug_errno(r, "container %s: device %.64s not resolved", c->id,
						dev->path);
			continue;
		}
		dev->node = p.node;
		snprintf(dev->id, sizeof(dev->id), "%s", p.id);
		if (p.node < 0)
			continue; /* unknown node: no preference */
		cpuset_set(&prefs->device_nodes, (unsigned int)p.node);
		cpuset_or(&prefs->device_cpus, &prefs->device_cpus, &p.cpus);
		log_debug("container %s: device %.64s (%s) on node %d%s", c->id, dev->path,
			  p.id[0] ? p.id : "?", p.node, p.via_pf ? " (its PF's)" : "");
	}
}

void affinity_explain(struct daemon *d, struct model_container *c, char *buf, size_t size)
{
	struct alloc_prefs prefs = {.device_mode = ALLOC_DEVICE_PREFER};
	size_t len = strnlen(buf, size);

	affinity_resolve(d, c, &prefs); /* an event since the creation reset the model's */

	for (size_t i = 0; i < c->n_devices && len + 1 < size; i++) {
		const struct model_device *dev = &c->devices[i];
		int n;

		if (dev->node < 0)
			continue;
		n = snprintf(buf + len, size - len, "; device %.64s%s%s%s on node %d", dev->path,
			     dev->id[0] ? " (" : "", dev->id, dev->id[0] ? ")" : "", dev->node);
		if (n < 0 || (size_t)n >= size - len) {
			buf[len] = '\0'; /* no half a device */
			break;
		}
		len += (size_t)n;
	}
}

void affinity_count(struct daemon *d, const struct alloc_result *r)
{
	if (r->device != ALLOC_DEVICE_FIT_NONE)
		metrics_tg_device_placement(d->metrics, alloc_device_fit_name(r->device));
}
