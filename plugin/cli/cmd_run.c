/* SPDX-License-Identifier: Apache-2.0 */
/*
 * `topoguard run`: the daemon. External mode dials the runtime's NRI socket and
 * reconnects after it goes away; pre-launched mode (the runtime started us with
 * NRI_PLUGIN_SOCKET=3 and an empty environment) uses fd 3 and takes its config from
 * the NRI Configure payload unless --config is given.
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "plugin/cli/cmd.h"
#include "plugin/daemon/daemon.h"
#include "plugin/nri/stub.h"
#include "plugin/obs/log.h"

/* Pre-launched plugins have stdout/stderr on /dev/null: log here unless told otherwise. */
#define PRELAUNCHED_LOG_FILE "/var/log/topoguard.log"

static struct daemon *running;
static volatile sig_atomic_t stop_early; /* a stop asked for before the daemon existed */

static void on_signal(int sig)
{
	(void)sig;
	if (running)
		daemon_stop(running);
	else
		stop_early = 1;
}

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: topoguard run [OPTIONS]\n\n"
		"Connect to the container runtime as an NRI plugin and manage CPU and memory\n"
		"placement. Started by the runtime (pre-launched, NRI_PLUGIN_SOCKET set) it uses\n"
		"the inherited socket and the runtime's plugin config.\n\n"
		"Options:\n"
		"  -c, --config FILE          YAML configuration (hot-reloaded; default: built-in\n"
		"                             defaults, or the NRI Configure payload)\n"
		"  -s, --socket PATH          runtime NRI socket (default %s)\n"
		"  -n, --name NAME            plugin name (default $NRI_PLUGIN_NAME or %s)\n"
		"  -i, --idx NN               plugin index, two digits (default $NRI_PLUGIN_IDX or "
		"%s)\n"
		"      --sysfs-root DIR       read the topology under DIR (default /sys)\n"
		"      --cgroup-root DIR      cgroup hierarchies under DIR (default "
		"/sys/fs/cgroup)\n"
		"      --status-socket PATH   status socket (default from config; \"\" disables)\n"
		"      --metrics-address A    metrics listen address (default from config;\n"
		"                             \"none\" disables)\n"
		"      --checkpoint FILE      where assignments are kept for a restart without\n"
		"                             Synchronize (default from config; \"\" disables)\n"
		"      --log-file FILE        log here instead of stderr\n"
		"      --log-level LEVEL      debug|info|warn|error (overrides the config)\n"
		"      --no-reconnect         exit when the runtime disconnects\n"
		"  -h, --help                 this help\n",
		NRI_DEFAULT_SOCKET, DAEMON_DEFAULT_NAME, DAEMON_DEFAULT_IDX);
}

enum {
	OPT_CGROUP = 255,
	OPT_SYSFS = 256,
	OPT_STATUS,
	OPT_METRICS,
	OPT_LOGFILE,
	OPT_LOGLEVEL,
	OPT_NORECONNECT,
	OPT_CHECKPOINT,
};

static const struct option run_opts[] = {
	{"config", required_argument, NULL, 'c'},
	{"socket", required_argument, NULL, 's'},
	{"name", required_argument, NULL, 'n'},
	{"idx", required_argument, NULL, 'i'},
	{"sysfs-root", required_argument, NULL, OPT_SYSFS},
	{"cgroup-root", required_argument, NULL, OPT_CGROUP},
	{"status-socket", required_argument, NULL, OPT_STATUS},
	{"metrics-address", required_argument, NULL, OPT_METRICS},
	{"checkpoint", required_argument, NULL, OPT_CHECKPOINT},
	{"log-file", required_argument, NULL, OPT_LOGFILE},
	{"log-level", required_argument, NULL, OPT_LOGLEVEL},
	{"no-reconnect", no_argument, NULL, OPT_NORECONNECT},
	{"help", no_argument, NULL, 'h'},
	{},
};

struct run_args {
	struct daemon_options o;
	const char *log_file;
	const char *log_level;
};

static int parse_args(int argc, char **argv, struct run_args *a)
{
	int c;

	optind = 1;
	while ((c = getopt_long(argc, argv, "c:s:n:i:h", run_opts, NULL)) >= 0) {
		switch (c) {
		case 'c':
			a->o.config_path = optarg;
			break;
		case 's':
			a->o.socket_path = optarg;
			break;
		case 'n':
			a->o.name = optarg;
			break;
		case 'i':
			a->o.idx = optarg;
			break;
		case OPT_CGROUP:
			a->o.cgroup_root = optarg;
			break;
		case OPT_SYSFS:
			a->o.sysfs_root = optarg;
			break;
		case OPT_STATUS:
			a->o.status_socket = optarg;
			break;
		case OPT_METRICS:
			a->o.metrics_address = optarg;
			break;
		case OPT_CHECKPOINT:
			a->o.checkpoint_path = optarg;
			break;
		case OPT_LOGFILE:
			a->log_file = optarg;
			break;
		case OPT_LOGLEVEL:
			a->log_level = optarg;
			break;
		case OPT_NORECONNECT:
			a->o.reconnect = false;
			break;
		case 'h':
			usage(stdout);
			return 1;
		default:
			usage(stderr);
			return -1;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "topoguard run: unexpected argument '%s'\n", argv[optind]);
		return -1;
	}
	return 0;
}

static int open_log(const struct run_args *a)
{
	const char *file = a->log_file;

	if (!file && getenv("NRI_PLUGIN_SOCKET"))
		file = PRELAUNCHED_LOG_FILE;
	if (file && log_open_file(file) < 0 && a->log_file) {
		fprintf(stderr, "topoguard run: cannot open log file %s\n", file);
		return -1;
	}
	return 0;
}

/* The command line's level wins over the config file's (applied again after loading it). */
static int apply_log_level(const struct run_args *a)
{
	enum log_level lvl;

	if (!a->log_level)
		return 0;
	if (log_level_from_string(a->log_level, &lvl) < 0) {
		fprintf(stderr, "topoguard run: bad log level '%s'\n", a->log_level);
		return -1;
	}
	log_set_level(lvl);
	return 0;
}

/*
 * A parent may start us with SIGTERM blocked (the mask survives exec): we would then
 * never stop. Take the mask off once the handler is in place; a stop already pending
 * is delivered here, during start-up.
 */
static void unblock_stop_signals(void)
{
	sigset_t set;

	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	sigprocmask(SIG_UNBLOCK, &set, NULL);
}

int cmd_run(int argc, char **argv)
{
	struct run_args a = {.o = {.reconnect = true}};
	struct sigaction sa = {.sa_handler = on_signal};
	struct daemon *d;
	int r;

	r = parse_args(argc, argv, &a);
	if (r != 0)
		return r > 0 ? 0 : 2;
	if (getenv("NRI_PLUGIN_SOCKET"))
		a.o.reconnect = false; /* the runtime never restarts a launched plugin's link */
	if (open_log(&a) < 0 || apply_log_level(&a) < 0)
		return 2;
	signal(SIGPIPE, SIG_IGN);
	/* Catch a stop during start-up (BPF load, topology) too: it is remembered and
	 * honoured once the daemon exists, so it ends with 0, not by the signal.
	 * SA_RESTART keeps start-up's own system calls from failing with EINTR. */
	sa.sa_flags = SA_RESTART;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	unblock_stop_signals();
	r = daemon_new(&a.o, &d);
	if (r < 0) {
		log_error_errno(r, "topoguard cannot start");
		return 1;
	}
	apply_log_level(&a);
	running = d;
	sa.sa_flags = 0;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	if (stop_early)
		log_info("stop asked for during start-up: not connecting");
	else
		r = daemon_run(d);
	running = NULL;
	daemon_free(d);
	log_info("topoguard stopped");
	log_close();
	return r < 0 && r != -ECONNRESET ? 1 : 0;
}
