/* SPDX-License-Identifier: Apache-2.0 */
/*
 * nri-sim command line. Exit status: 0 the scenario's expectations hold, 1 they do
 * not (or no plugin ever completed the handshake), 2 usage or setup error.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/sim/sim.h"

static void usage(FILE *f)
{
	fputs("usage: nri-sim (--listen SOCKET | --launch PATH [--launch-name NN-name]\n"
	      "                [--plugin-config FILE] [--plugin-stderr FILE])\n"
	      "               [--scenario FILE|-] [--report FILE] [--nri-version V]\n"
	      "               [--registration-timeout MS] [--request-timeout MS]\n"
	      "               [--accept-timeout MS] [--sync-chunk N]\n"
	      "               [--cgroup-driver cgroupfs|systemd] [--honor-evictions]\n"
	      "               [--check-exclusive] [--exclusive-annotation KEY]\n"
	      "               [--apply-cgroups NAME [--report-real-cgroups]]\n"
	      "               [--lock-inversion]\n"
	      "V: v0.3.0 v0.4.0 v0.6.0 v0.6.1 v0.8.0 v0.9.0 v0.10.0 v0.11.0 v0.12.0\n"
	      "   v0.12.1 v0.12.2 (default), each played as the runtime that shipped it\n"
	      "Environment: NRI_SIM_WINDOW_SCALE=N (1..20) multiplies the accept and\n"
	      "registration windows. See docs/simulator.md.\n",
	      f);
}

static int parse_uint(const char *v, unsigned long max, unsigned long *ret)
{
	char *end;
	unsigned long n;

	errno = 0;
	n = strtoul(v, &end, 10);
	if (errno || *end || !*v || n > max)
		return -EINVAL;
	*ret = n;
	return 0;
}

enum {
	O_LISTEN = 256,
	O_LAUNCH,
	O_LAUNCH_NAME,
	O_PLUGIN_CONFIG,
	O_PLUGIN_STDERR,
	O_SCENARIO,
	O_REPORT,
	O_NRI_VERSION,
	O_REG_TMO,
	O_REQ_TMO,
	O_ACCEPT_TMO,
	O_SYNC_CHUNK,
	O_CGROUP,
	O_HONOR,
	O_EXCL,
	O_EXCL_ANN,
	O_APPLY_CG,
	O_REPORT_REAL,
	O_LOCK_INV,
	O_HELP,
};

static const struct option long_opts[] = {
	{"listen", required_argument, NULL, O_LISTEN},
	{"launch", required_argument, NULL, O_LAUNCH},
	{"launch-name", required_argument, NULL, O_LAUNCH_NAME},
	{"plugin-config", required_argument, NULL, O_PLUGIN_CONFIG},
	{"plugin-stderr", required_argument, NULL, O_PLUGIN_STDERR},
	{"scenario", required_argument, NULL, O_SCENARIO},
	{"report", required_argument, NULL, O_REPORT},
	{"nri-version", required_argument, NULL, O_NRI_VERSION},
	{"registration-timeout", required_argument, NULL, O_REG_TMO},
	{"request-timeout", required_argument, NULL, O_REQ_TMO},
	{"accept-timeout", required_argument, NULL, O_ACCEPT_TMO},
	{"sync-chunk", required_argument, NULL, O_SYNC_CHUNK},
	{"cgroup-driver", required_argument, NULL, O_CGROUP},
	{"honor-evictions", no_argument, NULL, O_HONOR},
	{"check-exclusive", no_argument, NULL, O_EXCL},
	{"exclusive-annotation", required_argument, NULL, O_EXCL_ANN},
	{"apply-cgroups", required_argument, NULL, O_APPLY_CG},
	{"report-real-cgroups", no_argument, NULL, O_REPORT_REAL},
	{"lock-inversion", no_argument, NULL, O_LOCK_INV},
	{"help", no_argument, NULL, O_HELP},
	{0},
};

static int parse_number(int c, const char *v, struct sim_opts *o)
{
	unsigned long n;

	if (parse_uint(v, 3600000, &n) < 0)
		return -EINVAL;
	if (c == O_REG_TMO)
		o->registration_timeout_ms = (unsigned int)n;
	else if (c == O_REQ_TMO)
		o->request_timeout_ms = (unsigned int)n;
	else if (c == O_ACCEPT_TMO)
		o->accept_timeout_ms = (unsigned int)n;
	else
		o->sync_chunk = n;
	return (c == O_SYNC_CHUNK || c == O_ACCEPT_TMO || n > 0) ? 0 : -EINVAL;
}

static int parse_one(int c, const char *v, struct sim_opts *o)
{
	switch (c) {
	case O_LISTEN:
		o->listen_path = v;
		return 0;
	case O_LAUNCH:
		o->launch_path = v;
		return 0;
	case O_LAUNCH_NAME:
		o->launch_name = v;
		return 0;
	case O_PLUGIN_CONFIG:
		o->plugin_config_path = v;
		return 0;
	case O_PLUGIN_STDERR:
		o->plugin_stderr = v;
		return 0;
	case O_SCENARIO:
		o->scenario_path = v;
		return 0;
	case O_REPORT:
		o->report_path = v;
		return 0;
	case O_HONOR:
		o->honor_evictions = true;
		return 0;
	case O_EXCL:
		o->check_exclusive = true;
		return 0;
	case O_EXCL_ANN:
		o->check_exclusive = true;
		o->exclusive_annotation = v;
		return *v ? 0 : -EINVAL;
	case O_APPLY_CG:
		o->apply_cgroups = v;
		return 0;
	case O_REPORT_REAL:
		o->report_real_cgroups = true;
		return 0;
	case O_LOCK_INV:
		o->lock_inversion = true;
		return 0;
	case O_NRI_VERSION:
		o->nri_version = v;
		return sim_nri_lookup(v) ? 0 : -EINVAL;
	case O_CGROUP:
		o->systemd = !strcmp(v, "systemd");
		return o->systemd || !strcmp(v, "cgroupfs") ? 0 : -EINVAL;
	case O_REG_TMO:
	case O_REQ_TMO:
	case O_ACCEPT_TMO:
	case O_SYNC_CHUNK:
		return parse_number(c, v, o);
	default:
		return -EINVAL;
	}
}

/*
 * NRI_SIM_WINDOW_SCALE=N (1..20) stretches the windows a plugin has to start in (accept,
 * registration): the QEMU guest sets it, where TCG makes a daemon's start-up (BPF load,
 * topology) many times slower than on real CPUs. Request timeouts are left alone: they
 * are behaviour the tests check.
 */
static void scale_startup_windows(struct sim_opts *o)
{
	const char *v = getenv("NRI_SIM_WINDOW_SCALE");
	char *end;
	long n;

	if (!v || !*v)
		return;
	errno = 0;
	n = strtol(v, &end, 10);
	if (errno || *end || n < 1 || n > 20) {
		fprintf(stderr, "nri-sim: NRI_SIM_WINDOW_SCALE=%s ignored (1..20)\n", v);
		return;
	}
	o->accept_timeout_ms *= (unsigned int)n;
	o->registration_timeout_ms *= (unsigned int)n;
}

static int parse_args(int argc, char **argv, struct sim_opts *o)
{
	int c;

	*o = (struct sim_opts){.nri_version = "v0.12.2",
			       .registration_timeout_ms = 5000,
			       .request_timeout_ms = 2000,
			       .accept_timeout_ms = 10000};
	while ((c = getopt_long(argc, argv, "", long_opts, NULL)) != -1) {
		if (c == O_HELP) {
			usage(stdout);
			exit(0);
		}
		if (parse_one(c, optarg, o) < 0) {
			fprintf(stderr, "nri-sim: invalid option %s\n", argv[optind - 1]);
			return -EINVAL;
		}
	}
	if (optind != argc || !o->listen_path == !o->launch_path) {
		fprintf(stderr, "nri-sim: exactly one of --listen or --launch is required\n");
		return -EINVAL;
	}
	scale_startup_windows(o);
	return 0;
}

/* Like a runtime, keep accepting until one plugin completes the handshake. */
static int connect_first(struct sim *s)
{
	uint64_t end = sim_now_us() + (uint64_t)s->o.accept_timeout_ms * 1000;
	int r;

	do {
		uint64_t now = sim_now_us();
		r = sim_connect(s, now < end ? (unsigned int)((end - now) / 1000) : 0);
	} while (r < 0 && r != -ETIMEDOUT && s->listen_fd >= 0 && sim_now_us() < end);
	return r;
}

static int run(struct sim *s, const struct sim_scenario *sc)
{
	int r = sim_apply_existing(s, sc);

	if (r < 0)
		return r;
	if (connect_first(s) < 0)
		sim_error(s, "no plugin completed the handshake");
	else
		r = sim_run_scenario(s, sc);
	if (s->o.check_exclusive)
		sim_check_exclusive(s);
	return r;
}

int main(int argc, char **argv)
{
	struct sim_scenario sc = {0};
	struct sim_opts o;
	struct sim s;
	int r;

	signal(SIGPIPE, SIG_IGN);
	if (parse_args(argc, argv, &o) < 0) {
		usage(stderr);
		return 2;
	}
	if (o.scenario_path && (r = sim_scenario_load(o.scenario_path, &sc)) < 0) {
		fprintf(stderr, "nri-sim: scenario %s: %s\n", o.scenario_path, strerror(-r));
		return 2;
	}
	if (o.apply_cgroups && sim_cgroups_setup(o.apply_cgroups, o.systemd) < 0) {
		sim_scenario_done(&sc);
		return 2; /* the reason is on stderr */
	}
	r = sim_init(&s, &o);
	if (r < 0) {
		fprintf(stderr, "nri-sim: setup failed: %s\n", strerror(-r));
		sim_done(&s);
		sim_scenario_done(&sc);
		return 2;
	}
	r = run(&s, &sc);
	if (r < 0)
		sim_error(&s, "scenario aborted: %s", strerror(-r));
	sim_cgroups_refresh();
	sim_end(&s); /* the report says how a launched plugin ended */
	if (sim_report_write(&s, o.report_path) < 0)
		r = -EIO;
	r = r < 0 || s.expect_failed || s.lock_inversions || !s.sessions ? 1 : 0;
	sim_done(&s);
	sim_scenario_done(&sc);
	return r;
}
