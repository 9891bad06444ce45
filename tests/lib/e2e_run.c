/* SPDX-License-Identifier: Apache-2.0 */
/* One end-to-end run: simulator + daemon + their files (see e2e_run.h). */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tests/lib/e2e_run.h"

int e2e_run_setup(void **state)
{
	struct e2e_run *r = calloc(1, sizeof(*r));

	if (!r || e2e_setup(&r->e) < 0) {
		free(r);
		return -1;
	}
	e2e_path(&r->e, r->sock, sizeof(r->sock), "nri/nri.sock");
	e2e_path(&r->e, r->status, sizeof(r->status), "status.sock");
	e2e_path(&r->e, r->log, sizeof(r->log), "daemon.log");
	e2e_path(&r->e, r->report, sizeof(r->report), "report.json");
	e2e_path(&r->e, r->config, sizeof(r->config), "config.yaml");
	e2e_path(&r->e, r->scenario, sizeof(r->scenario), "scenario.scn");
	e2e_path(&r->e, r->checkpoint, sizeof(r->checkpoint), "checkpoint.json");
	r->port = e2e_free_port();
	*state = r;
	return 0;
}

int e2e_run_teardown(void **state)
{
	struct e2e_run *r = *state;
	int ret = e2e_run_stop_daemon(r, 5000);

	if (getenv("E2E_KEEP"))
		fprintf(stderr, "kept %s\n", r->e.dir);
	else
		e2e_teardown(&r->e);
	free(r);
	return ret;
}

int e2e_run_stop_daemon(struct e2e_run *r, int timeout_ms)
{
	pid_t pid = r->daemon;

	if (pid <= 0)
		return 0;
	r->daemon = 0;
	return e2e_stop_daemon(pid, r->log, timeout_ms);
}

pid_t e2e_run_sim(struct e2e_run *r, const char *scenario, const char *const *extra)
{
	const char *args[40] = {"--listen",  r->sock,	 "--scenario",
				r->scenario, "--report", r->report};
	size_t n = 6;
	pid_t pid;
	int ret;

	ret = e2e_write(&r->e, "scenario.scn", scenario);
	if (ret < 0)
		return ret;
	for (; extra && *extra && n < 39; extra++)
		args[n++] = *extra;
	args[n] = NULL;
	pid = e2e_spawn(r->e.sim, args, NULL);
	if (pid < 0)
		return pid;
	ret = e2e_wait_path(r->sock, 5000);
	return ret < 0 ? ret : pid;
}

pid_t e2e_run_daemon(struct e2e_run *r, const char *sysfs, const char *const *prefix,
		     const char *const *extra)
{
	char maddr[64];
	const char *args[64];
	const char *fixed[] = {"run",	"--socket",	   r->sock,	  "--sysfs-root",
			       sysfs,	"--status-socket", r->status,	  "--metrics-address",
			       maddr,	"--log-file",	   r->log,	  "--log-level",
			       "debug", "--checkpoint",	   r->checkpoint, NULL};
	size_t n = 0;
	bool via;

	snprintf(maddr, sizeof(maddr), "127.0.0.1:%d", r->port);
	for (; prefix && *prefix && n < 16; prefix++)
		args[n++] = *prefix;
	via = n > 0; /* e.g. setpriv ... --: the daemon binary follows the prefix */
	if (via)
		args[n++] = r->e.topoguard;
	for (size_t i = 0; fixed[i]; i++)
		args[n++] = fixed[i];
	for (; extra && *extra && n < 63; extra++)
		args[n++] = *extra;
	args[n] = NULL;
	r->daemon = via ? e2e_spawn(args[0], args + 1, r->log)
			: e2e_spawn(r->e.topoguard, args, r->log);
	return r->daemon;
}

pid_t e2e_run_prelaunched(struct e2e_run *r, const char *sysfs, const char *run_args,
			  const char *plugin_config, const char *scenario, const char *const *extra)
{
	char wrapper[256], text[1024], cfg[256], scen[256], *bin;
	const char *args[24] = {"--launch",   wrapper, "--plugin-config", cfg,
				"--scenario", scen,    "--report",	  r->report};
	size_t n = 8;
	int ret;

	for (; extra && *extra && n < 23; extra++)
		args[n++] = *extra;
	args[n] = NULL;
	e2e_path(&r->e, wrapper, sizeof(wrapper), "90-topoguard");
	e2e_path(&r->e, cfg, sizeof(cfg), "90-topoguard.conf");
	e2e_path(&r->e, scen, sizeof(scen), "scenario.scn");
	bin = realpath(r->e.topoguard, NULL);
	ret = snprintf(text, sizeof(text),
		       "#!/bin/sh\nexec %s run --sysfs-root %s --log-file %s %s\n",
		       bin ? bin : r->e.topoguard, sysfs, r->log, run_args);
	free(bin);
	if (ret < 0 || (size_t)ret >= sizeof(text))
		return -ENAMETOOLONG;
	ret = e2e_write(&r->e, "90-topoguard", text);
	if (ret == 0 && chmod(wrapper, 0755) < 0)
		ret = -errno;
	ret = ret ?: e2e_write(&r->e, "90-topoguard.conf", plugin_config);
	ret = ret ?: e2e_write(&r->e, "scenario.scn", scenario);
	return ret < 0 ? ret : e2e_spawn(r->e.sim, args, NULL);
}

bool e2e_run_launched_exits_clean(struct e2e_run *r, json_object *rep)
{
	json_object *exits = e2e_jget(rep, "plugin_exits");
	size_t n = exits ? json_object_array_length(exits) : 0;
	bool ok = n > 0;

	for (size_t i = 0; ok && i < n; i++) {
		const char *e = json_object_get_string(json_object_array_get_idx(exits, i));

		ok = !strcmp(e, "exit 0") || (i + 1 < n && !strcmp(e, "killed (runtime restart)"));
	}
	if (!ok) {
		e2e_print_tail(r->log, 30);
		fprintf(stderr, "launched daemons ended %s, want the last with \"exit 0\"\n",
			json_object_to_json_string(exits));
	}
	return ok;
}

json_object *e2e_run_finish_sim(struct e2e_run *r, pid_t sim, int timeout_ms, int *ret_rc)
{
	*ret_rc = e2e_wait_exit(sim, timeout_ms);
	return e2e_load_json(r->report);
}

int e2e_run_swap_config(struct e2e_run *r, const char *text, size_t len, int gen)
{
	char dir[256], name[64], data[512], tmp[256];
	FILE *f;

	snprintf(name, sizeof(name), "..2026_11_23_%d", gen);
	e2e_path(&r->e, dir, sizeof(dir), name);
	if (mkdir(dir, 0755) < 0)
		return -errno;
	snprintf(data, sizeof(data), "%s/config.yaml", dir);
	f = fopen(data, "we");
	if (!f)
		return -errno;
	if (fwrite(text, 1, len, f) != len) {
		fclose(f);
		return -EIO;
	}
	if (fclose(f) != 0)
		return -errno;
	e2e_path(&r->e, tmp, sizeof(tmp), "..data_tmp");
	if (symlink(name, tmp) < 0)
		return -errno;
	e2e_path(&r->e, data, sizeof(data), "..data");
	if (rename(tmp, data) < 0)
		return -errno;
	if (symlink("..data/config.yaml", r->config) < 0 && errno != EEXIST)
		return -errno;
	return 0;
}

double e2e_run_metric(struct e2e_run *r, const char *series)
{
	char addr[64];

	snprintf(addr, sizeof(addr), "127.0.0.1:%d", r->port);
	return e2e_metric(addr, series);
}
