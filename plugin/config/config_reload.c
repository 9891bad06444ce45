/* SPDX-License-Identifier: Apache-2.0 */
/* Applying a changed configuration file to the running daemon's config. */
#include <errno.h>

#include "plugin/config/config.h"
#include "plugin/obs/log.h"
#include "plugin/obs/metrics.h"

static void config_reload_log_errors(const char *name, const struct config_errors *errs)
{
	for (size_t i = 0; i < errs->n; i++)
		log_error_kv(LOG_KV("path", name, "error", errs->msg[i]), "configuration error");
	log_error_kv(LOG_KV("path", name), "new configuration refused; the previous one stays");
}

static void config_reload_log_changes(const struct config *old, const struct config *fresh)
{
	const struct config_key *changed[64];
	size_t n = config_diff(old, fresh, changed, 64);
	char a[256], b[256];

	for (size_t i = 0; i < n; i++) {
		if (config_format_value(old, changed[i], a, sizeof(a)) < 0)
			a[0] = '\0';
		if (config_format_value(fresh, changed[i], b, sizeof(b)) < 0)
			b[0] = '\0';
		if (changed[i]->hot)
			log_info_kv(LOG_KV("key", changed[i]->path, "old", a, "new", b),
				    "configuration changed");
		else
			log_warn_kv(LOG_KV("key", changed[i]->path, "old", a, "new", b),
				    "configuration key needs a restart; keeping the old value");
	}
}

int config_reload(struct config *running, const char *name, const char *buf, size_t len,
		  struct metrics *m)
{
	const struct config_key *any[1];
	struct config_errors errs = {0};
	struct config fresh, merged;
	int r = config_parse(name, buf, len, &fresh, &errs);

	if (r < 0) {
		config_reload_log_errors(name, &errs);
		metrics_tg_config_reload(m, "refused", errs.n ? (unsigned int)errs.n : 1);
		config_errors_done(&errs);
		return r;
	}
	config_reload_log_changes(running, &fresh);
	merged = *running;
	config_apply_hot(&merged, &fresh);
	/* Only restart-bound keys differ (or none): nothing takes effect now. */
	if (config_diff(running, &merged, any, 1) == 0) {
		metrics_tg_config_reload(m, "unchanged", 0);
		return 0;
	}
	*running = merged;
	log_set_level((enum log_level)running->log_level);
	metrics_tg_config_reload(m, "applied", 0);
	return 1;
}
