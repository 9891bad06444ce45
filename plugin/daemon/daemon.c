/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Daemon lifecycle: load config and topology, build the policy, start metrics and
 * the status socket, watch the config file, and run the NRI stub's loop.
 *
 * Reload rule: a config that fails to parse or validate is refused whole (log lines
 * with file:line, topoguard_config_reloads_total{result="refused"}), and the config
 * in force stays. A good one is applied key by key: hot keys at once (cpusets of
 * running containers are moved through unsolicited updates), restart-only keys are
 * logged and ignored until the next start.
 */
#include <errno.h>
#include <fcntl.h>
#include <malloc.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "plugin/daemon/control.h"
#include "plugin/daemon/handlers.h"
#include "plugin/daemon/live.h"
#include "plugin/daemon/reconcile.h"
#include "plugin/daemon/render.h"
#include "plugin/daemon/restore.h"
#include "plugin/daemon/state.h"
#include "plugin/obs/httpd.h"
#include "plugin/obs/log.h"
#include "plugin/obs/metrics.h"
#include "plugin/obs/status.h"
#include "plugin/host/kubepods.h"
#include "plugin/host/sysfs.h"
#include "plugin/config/watch.h"

static void log_restart_only(const struct config *old, const struct config *new)
{
	const struct config_key *diff[64];
	size_t n = config_diff(old, new, diff, 64);

	for (size_t i = 0; i < n && i < 64; i++)
		if (!diff[i]->hot)
			log_warn("config key %s changed: takes effect after a restart",
				 diff[i]->path);
}

static int apply_config(struct daemon *d, const struct config *c, const char *origin)
{
	struct config next = d->cfg;
	const char *ns[CONFIG_LIST_MAX];
	struct alloc_config ac;
	char reason[256] = "";
	int r;

	log_restart_only(&d->cfg, c);
	config_apply_hot(&next, c);
	config_to_alloc(&next, &ac, ns);
	alloc_changes_reset(&d->changes);
	if (d->alloc) {
		r = alloc_reconfigure(d->alloc, NULL, &ac, &d->changes, reason, sizeof(reason));
		if (r < 0) {
			log_error_errno(r, "config from %s refused by the policy: %s", origin,
					reason);
			metrics_tg_config_reload(d->metrics, "refused", 1);
			return r;
		}
	}
	d->cfg = next;
	log_set_level((enum log_level)d->cfg.log_level);
	metrics_tg_config_reload(d->metrics, "applied", 0);
	log_info("config applied: origin=%s moved=%zu", origin, d->changes.n);
	if (d->changes.n && d->synchronized)
		daemon_send_changes(d, "config reload");
	daemon_update_pool_metrics(d);
	return 0;
}

static void on_config_changed(struct nri_stub *s, int fd, short revents, void *ud)
{
	struct daemon *d = ud;
	struct config_errors errs = {};
	struct config c;
	const char *text;
	size_t len;

	(void)s;
	(void)fd;
	(void)revents;
	if (watch_process(d->watch) != 1)
		return;
	text = watch_content(d->watch, &len);
	if (!text)
		return;
	if (config_parse(d->config_path, text, len, &c, &errs) < 0) {
		for (size_t i = 0; i < errs.n; i++)
			log_error("config refused: %s", errs.msg[i]);
		metrics_tg_config_reload(d->metrics, "refused", (unsigned int)errs.n);
		log_warn("keeping the configuration in force");
	} else {
		apply_config(d, &c, d->config_path);
	}
	config_errors_done(&errs);
}

static void on_status_client(struct nri_stub *s, int fd, short revents, void *ud)
{
	struct daemon *d = ud;
	int r;

	(void)s;
	(void)fd;
	(void)revents;
	r = status_server_process(d->status);
	if (r < 0)
		log_debug_errno(r, "status client dropped");
}

static int publish_one(struct model_container *c, void *ud)
{
	if (!c->sandbox)
		daemon_publish_container(ud, c->id);
	return 0;
}

static void on_info_tick(struct nri_stub *s, void *ud)
{
	struct daemon *d = ud;

	daemon_after_reply(s, d); /* handlers called without the stub (offline) */
	if (!d->info_dirty)
		return;
	d->info_dirty = false;
	model_foreach_container(d->model, NULL, publish_one, d);
}

static void on_checkpoint_tick(struct nri_stub *s, void *ud)
{
	struct daemon *d = ud;

	(void)s;
	if (!d->checkpoint_dirty || !d->state_known)
		return;
	daemon_checkpoint_save(d, true);
	/*
	 * The save builds the whole file in one growing buffer beside a cpulist per
	 * container and frees them; glibc keeps such pages unless told to give them back.
	 * This runs on the timer, off the request path, at most once a tick.
	 */
	malloc_trim(0);
}

static void on_reconcile_tick(struct nri_stub *s, void *ud)
{
	(void)s;
	daemon_reconcile_tick(ud, daemon_track_now(ud));
}

static void on_updates_failed(struct nri_stub *s, const char *const *ids, size_t n, int code,
			      void *ud)
{
	(void)s;
	daemon_reconcile_updates_failed(ud, ids, n, code, daemon_track_now(ud));
}

static void on_close(struct nri_stub *s, void *ud)
{
	struct daemon *d = ud;

	(void)s;
	d->synchronized = false;
	metrics_tg_ready(d->metrics, false);
	metrics_tg_nri_reconnects(d->metrics, nri_stub_reconnects(d->stub) + 1);
	log_warn("runtime connection closed%s", d->opt.reconnect ? ", reconnecting" : "");
}

/* The live usage timer: sample, then let the closed loop act on the sample. */
static void on_live_tick(struct nri_stub *s, void *ud)
{
	struct daemon *d = ud;

	(void)s;
	if (daemon_live_sample(d) < 0)
		return;
	daemon_control_tick(d, daemon_now_ns());
}

static int attach_live(struct daemon *d)
{
	unsigned int ms;

	if (!d->live)
		return 0;
	ms = (unsigned int)(d->cfg.live_sampling_interval_us / 1000);
	return nri_stub_add_timer(d->stub, ms ? ms : 100, on_live_tick, d);
}

static int load_config(struct daemon *d)
{
	struct config_errors errs = {};
	int r;

	config_init(&d->cfg);
	if (!d->config_path)
		return 0;
	r = config_load_file(d->config_path, &d->cfg, &errs);
	for (size_t i = 0; i < errs.n; i++)
		log_error("%s", errs.msg[i]);
	config_errors_done(&errs);
	if (r < 0)
		return log_error_errno(r, "cannot use config %s", d->config_path);
	return 0;
}

static int start_metrics_server(struct daemon *d)
{
	const char *maddr =
		d->opt.metrics_address ? d->opt.metrics_address : d->cfg.metrics_address;
	int r;

	if (!*maddr || !strcmp(maddr, "none"))
		return 0;
	r = httpd_start(maddr, d->metrics, &d->httpd);
	if (r < 0)
		return log_error_errno(r, "cannot serve metrics on %s", maddr);
	log_info("metrics: address=%s port=%u", maddr, httpd_port(d->httpd));
	return 0;
}

static int start_status_server(struct daemon *d)
{
	const char *ssock = d->opt.status_socket ? d->opt.status_socket : d->cfg.status_socket;
	int r;

	if (!*ssock)
		return 0;
	r = status_server_new(ssock, daemon_render_status, d, &d->status);
	if (r < 0)
		return log_error_errno(r, "cannot open status socket %s", ssock);
	if (d->stub)
		nri_stub_add_fd(d->stub, status_server_fd(d->status), POLLIN, on_status_client, d);
	return 0;
}

/*
 * The metrics endpoint and the status socket. A pre-launched plugin without a
 * config file gets its config in Configure (it replaces the defaults whole), so
 * they start then, on the addresses that config names, rather than on defaults
 * that the runtime's config would have had to move (docs/deploy.md).
 */
static int start_servers(struct daemon *d)
{
	int r = start_metrics_server(d);

	if (r >= 0)
		r = start_status_server(d);
	d->servers_started = true;
	return r;
}

static bool servers_wait_for_configure(const struct daemon *d)
{
	return getenv("NRI_PLUGIN_SOCKET") && !d->config_path;
}

static int start_services(struct daemon *d)
{
	int r = metrics_new(&d->metrics);

	if (r < 0)
		return r;
	if (!servers_wait_for_configure(d)) {
		r = start_servers(d);
		if (r < 0)
			return r;
	}
	if (d->config_path) {
		r = watch_new(d->config_path, 0, &d->watch);
		if (r < 0)
			log_warn_errno(r, "config %s will not be hot-reloaded", d->config_path);
	}
	return 0;
}

/* A pre-launched plugin's config arrives here; it replaces the defaults whole. */
static void configure_from_payload(struct daemon *d, const char *config)
{
	struct config_errors errs = {};
	struct alloc_state *fresh = NULL;
	struct config c, old = d->cfg;

	if (config_parse("nri-config", config, strlen(config), &c, &errs) < 0) {
		for (size_t i = 0; i < errs.n; i++)
			log_error("%s", errs.msg[i]);
		metrics_tg_config_reload(d->metrics, "refused", (unsigned int)errs.n);
		log_warn("keeping the built-in defaults");
		config_errors_done(&errs);
		return;
	}
	d->cfg = c;
	if (daemon_new_alloc(d, &fresh) < 0) {
		d->cfg = old;
		metrics_tg_config_reload(d->metrics, "refused", 1);
		return;
	}
	alloc_state_free(d->alloc);
	d->alloc = fresh;
	d->ck_alloc = NULL; /* a new allocation: its owners are not checkpointed yet */
	log_set_level((enum log_level)d->cfg.log_level);
	metrics_tg_config_reload(d->metrics, "applied", 0);
	log_info("config applied: origin=nri-config");
}

static int on_configure(struct nri_stub *s, const char *config, const char *runtime_name,
			const char *runtime_version, void *ud, uint32_t *ret_events)
{
	struct daemon *d = ud;

	log_info("configured by runtime: runtime=%s version=%s nri=%s", runtime_name,
		 runtime_version, nri_stub_nri_version(s));
	*ret_events = 0;
	if (config && *config && !d->config_path)
		configure_from_payload(d, config);
	daemon_actuation_log(d);
	/* NRI before v0.7 sends a pre-launched plugin no Synchronize: learn from the node */
	if (!nri_stub_expects_synchronize(s) && !d->state_known) {
		d->node_restore_tried = true;
		daemon_restore_from_node(d, "the runtime sends no Synchronize to a pre-launched "
					    "plugin before NRI v0.7");
	}
	/* a failure here is loud in the log, but no reason to refuse the runtime */
	if (!d->servers_started && start_servers(d) < 0)
		log_error("pre-launched: the runtime config's metrics.address or status.socket "
			  "cannot be used; continuing without it");
	return 0;
}

static int make_stub(struct daemon *d)
{
	struct nri_stub_handlers h;
	struct nri_stub_options o;
	int r;

	nri_stub_options_init(&o);
	o.name = d->opt.name;
	o.idx = d->opt.idx;
	if (!o.name && !getenv("NRI_PLUGIN_NAME"))
		o.name = DAEMON_DEFAULT_NAME;
	if (!o.idx && !getenv("NRI_PLUGIN_IDX"))
		o.idx = DAEMON_DEFAULT_IDX;
	o.socket_path = d->opt.socket_path;
	o.reconnect = d->opt.reconnect;
	o.on_close = on_close;
	o.on_updates_failed = on_updates_failed;
	/* Configure is the daemon's business (config, servers); the rest are handlers.c's */
	h = daemon_handlers;
	h.configure = on_configure;
	r = nri_stub_new(&h, &o, d, &d->stub);
	if (r < 0)
		return log_error_errno(r, "cannot create the NRI plugin stub");
	if (d->status)
		nri_stub_add_fd(d->stub, status_server_fd(d->status), POLLIN, on_status_client, d);
	if (d->watch)
		nri_stub_add_fd(d->stub, watch_fd(d->watch), POLLIN, on_config_changed, d);
	if (d->metrics)
		nri_stub_add_timer(d->stub, 1000, on_info_tick, d);
	if (*daemon_checkpoint_path(d))
		nri_stub_add_timer(d->stub, DAEMON_CHECKPOINT_MS, on_checkpoint_tick, d);
	nri_stub_add_timer(d->stub, DAEMON_RECONCILE_TICK_MS, on_reconcile_tick, d);
	return 0;
}

static int alloc_scratch(struct daemon *d)
{
	d->scratch_cpus = malloc(DAEMON_CPULIST_MAX);
	d->scratch_mems = malloc(DAEMON_CPULIST_MAX);
	d->scratch_info = malloc(DAEMON_CPULIST_MAX);
	d->scratch_pool_cpus = malloc(DAEMON_CPULIST_MAX);
	d->scratch_pool_mems = malloc(DAEMON_CPULIST_MAX);
	return d->scratch_cpus && d->scratch_mems && d->scratch_info && d->scratch_pool_cpus &&
			       d->scratch_pool_mems
		       ? 0
		       : -ENOMEM;
}

/* What discovery had to guess: the placements depend on it. */
static void log_topology(const struct topology *t)
{
	char sig[128];

	for (unsigned int bit = 1; bit; bit <<= 1)
		if ((t->fallbacks & bit) && topology_fallback_name(bit))
			log_warn("topology fallback %s: %s", topology_fallback_name(bit),
				 topology_fallback_desc(bit));
	if (t->hybrid)
		log_info("hybrid CPU: P and E cores told apart by %s",
			 topology_kind_signals_format(t->kind_signals, sig, sizeof(sig)));
}

static int daemon_init(struct daemon *d, const struct daemon_options *o)
{
	const char *root = o->sysfs_root ? o->sysfs_root : SYSFS_DEFAULT_ROOT;
	int r;

	d->opt = *o;
	if (alloc_scratch(d) < 0)
		return -ENOMEM;
	if (o->config_path && !(d->config_path = strdup(o->config_path)))
		return -ENOMEM;
	r = load_config(d);
	if (r < 0)
		return r;
	log_set_level((enum log_level)d->cfg.log_level);
	r = sysfs_topology_load(root, &d->topo);
	if (r < 0)
		return log_error_errno(r, "cannot read the topology under %s", root);
	log_topology(d->topo);
	d->sysfs_fd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (d->sysfs_fd < 0)
		log_warn("cannot open %s: containers' devices will not be looked at", root);
	r = model_new(&d->model);
	if (r >= 0)
		r = daemon_new_alloc(d, &d->alloc);
	if (r >= 0)
		r = start_services(d);
	if (r >= 0 && daemon_live_start(d) < 0)
		log_warn("continuing without live usage");
	if (r >= 0 && d->live && daemon_control_start(d) < 0)
		log_warn("closed loop disabled: out of memory");
	if (r >= 0)
		r = make_stub(d);
	if (r >= 0 && attach_live(d) < 0)
		log_warn("live usage will not be sampled");
	return r;
}

int daemon_new(const struct daemon_options *o, struct daemon **ret)
{
	struct daemon *d = calloc(1, sizeof(*d));
	int r;

	if (!d)
		return -ENOMEM;
	d->sysfs_fd = -1;
	r = daemon_init(d, o);
	if (r < 0) {
		daemon_free(d);
		return r;
	}
	*ret = d;
	return 0;
}

int daemon_new_offline(const struct config *cfg, struct topology *topo, struct daemon **ret)
{
	struct daemon *d = calloc(1, sizeof(*d));
	int r;

	if (!d)
		return -ENOMEM;
	d->sysfs_fd = -1;
	d->cfg = *cfg;
	d->topo = topo;
	/* nothing runs that it was not told about, and it keeps no checkpoint */
	d->state_known = true;
	d->state_source = "offline";
	d->opt.checkpoint_path = "";
	r = alloc_scratch(d);
	if (r >= 0)
		r = model_new(&d->model);
	if (r >= 0)
		r = daemon_new_alloc(d, &d->alloc);
	if (r >= 0)
		r = metrics_new(&d->metrics);
	if (r < 0) {
		d->topo = NULL; /* still the caller's */
		daemon_free(d);
		return r;
	}
	*ret = d;
	return 0;
}

void daemon_free(struct daemon *d)
{
	if (!d)
		return;
	if (d->checkpoint_dirty && d->state_known && d->alloc)
		daemon_checkpoint_save(d, true);
	nri_stub_free(d->stub);
	watch_free(d->watch);
	status_server_free(d->status);
	httpd_free(d->httpd);
	metrics_free(d->metrics);
	daemon_control_free(d);
	daemon_live_free(d);
	kubepods_root_free(d->rc.kroot);
	alloc_changes_done(&d->changes);
	alloc_state_free(d->alloc);
	model_free(d->resync_old); /* live usage is gone: nothing left to follow */
	model_free(d->model);
	topology_free(d->topo);
	if (d->sysfs_fd >= 0)
		close(d->sysfs_fd);
	free(d->config_path);
	free(d->scratch_cpus);
	free(d->scratch_mems);
	free(d->scratch_info);
	free(d->scratch_pool_cpus);
	free(d->scratch_pool_mems);
	free(d);
}

/* The most common first-day problem: NRI is off in the runtime, so there is no socket. */
static void check_socket(const struct daemon *d)
{
	const char *path = d->opt.socket_path ? d->opt.socket_path : NRI_DEFAULT_SOCKET;
	struct stat st;

	if (getenv("NRI_PLUGIN_SOCKET"))
		return;
	if (stat(path, &st) < 0)
		log_warn("NRI socket %s does not exist (is NRI enabled in the runtime? "
			 "docs/troubleshooting.md); retrying until it appears",
			 path);
}

int daemon_run(struct daemon *d)
{
	log_info("topoguard starting: cpus=%u nodes=%d reserved_namespaces=%u",
		 cpuset_count(&d->topo->online), d->topo->n_nodes, d->cfg.reserved_namespaces.n);
	check_socket(d);
	return nri_stub_run(d->stub);
}

void daemon_stop(struct daemon *d)
{
	nri_stub_stop(d->stub);
}
