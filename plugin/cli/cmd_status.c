/* SPDX-License-Identifier: Apache-2.0 */
/*
 * `topoguard status` and `topoguard explain`: clients of the daemon's status
 * socket (plugin/obs/status.h). The daemon renders JSON; without --json we print it
 * as a table.
 */
#include <errno.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "plugin/cli/cmd.h"
#include "plugin/obs/status.h"

#define DEFAULT_STATUS_SOCKET "/run/topoguard/status.sock"

static const char *jstr(json_object *o, const char *key)
{
	json_object *v;

	if (!json_object_object_get_ex(o, key, &v) || !v)
		return "";
	return json_object_get_string(v);
}

static long long jint(json_object *o, const char *key)
{
	json_object *v;

	if (!json_object_object_get_ex(o, key, &v) || !v)
		return 0;
	return json_object_get_int64(v);
}

static bool jbool(json_object *o, const char *key)
{
	json_object *v;

	return json_object_object_get_ex(o, key, &v) && v && json_object_get_boolean(v);
}

static double jdouble(json_object *o, const char *key)
{
	json_object *v;

	if (!json_object_object_get_ex(o, key, &v) || !v)
		return 0;
	return json_object_get_double(v);
}

static json_object *jobj(json_object *o, const char *key)
{
	json_object *v;

	return json_object_object_get_ex(o, key, &v) ? v : NULL;
}

/* The node against topoguard's intent: passes, drift repaired, ghosts released. */
static void print_reconcile(json_object *root)
{
	json_object *rc = jobj(root, "reconcile"), *dr, *last;

	if (!rc)
		return;
	dr = jobj(rc, "drift_repaired");
	printf("reconcile: every %.0f s, %lld passes; drift repaired: cpus %lld, quota %lld, "
	       "period %lld, shares %lld; ghosts released: %lld\n",
	       jdouble(rc, "interval_s"), jint(rc, "passes"), jint(dr, "cpus"), jint(dr, "quota"),
	       jint(dr, "period"), jint(dr, "shares"), jint(rc, "ghosts_released"));
	if ((last = jobj(rc, "last_drift")))
		printf("  last drift %.0f s ago: %s\n", jdouble(last, "seconds_ago"),
		       jstr(last, "what"));
	if ((last = jobj(rc, "last_ghost")))
		printf("  last ghost %.0f s ago: %s\n", jdouble(last, "seconds_ago"),
		       jstr(last, "what"));
}

static void print_runtime(json_object *root)
{
	printf("runtime: %s %s (NRI %s)%s\nstate:   from %s\n",
	       *jstr(root, "runtime") ? jstr(root, "runtime") : "-", jstr(root, "runtime_version"),
	       *jstr(root, "nri_version") ? jstr(root, "nri_version") : "unknown",
	       jbool(root, "connected") ? "" : ", not connected", jstr(root, "state_source"));
	if (jobj(root, "actuation"))
		printf("actuation: %s (configured %s), direct writes %.0f (%.0f failed)\n",
		       jstr(jobj(root, "actuation"), "mode"),
		       jstr(jobj(root, "actuation"), "configured"),
		       jdouble(jobj(root, "actuation"), "direct_writes"),
		       jdouble(jobj(root, "actuation"), "direct_failures"));
	print_reconcile(root);
	printf("\n");
}

static void print_pools(json_object *root)
{
	json_object *pools;

	if (!json_object_object_get_ex(root, "pools", &pools))
		return;
	printf("%-10s %8s %8s %6s  %s\n", "POOL", "CAPACITY", "ASSIGNED", "FREE", "CPUS");
	for (size_t i = 0; i < json_object_array_length(pools); i++) {
		json_object *p = json_object_array_get_idx(pools, i);

		printf("%-10s %8lld %8lld %6lld  %s\n", jstr(p, "name"), jint(p, "capacity"),
		       jint(p, "assigned"), jint(p, "free"), jstr(p, "cpus"));
	}
}

static void print_containers(json_object *root)
{
	json_object *ctrs;

	if (!json_object_object_get_ex(root, "containers", &ctrs))
		return;
	printf("\n%-28s %-20s %-11s %-10s %-14s %s\n", "POD", "CONTAINER", "QOS", "POOL", "CPUS",
	       "MEMS");
	for (size_t i = 0; i < json_object_array_length(ctrs); i++) {
		json_object *c = json_object_array_get_idx(ctrs, i);
		char pod[256];

		snprintf(pod, sizeof(pod), "%s/%s", jstr(c, "namespace"), jstr(c, "pod"));
		printf("%-28s %-20s %-11s %-10s %-14s %s\n", pod, jstr(c, "name"), jstr(c, "qos"),
		       jstr(c, "pool"), jstr(c, "cpus"), jstr(c, "mems"));
	}
}

static int print_answer(const char *answer, int json, int explain)
{
	json_object *root = json_tokener_parse(answer);
	const char *err;

	if (!root) {
		fprintf(stderr, "topoguard: the daemon sent an unreadable answer\n");
		return 1;
	}
	err = jstr(root, "error");
	if (*err) {
		fprintf(stderr, "topoguard: %s\n", err);
		json_object_put(root);
		return 1;
	}
	if (json)
		printf("%s\n", json_object_to_json_string_ext(root, JSON_C_TO_STRING_PRETTY));
	else if (explain)
		printf("%s\n", jstr(root, "explanation"));
	else {
		print_runtime(root);
		print_pools(root);
		print_containers(root);
	}
	json_object_put(root);
	return 0;
}

static void usage(FILE *f, const char *cmd)
{
	if (!strcmp(cmd, "explain"))
		fprintf(f, "Usage: topoguard explain [--socket PATH] [--json] CONTAINER\n\n"
			   "Say why a container (id, or namespace/pod/container) got its CPUs.\n");
	else
		fprintf(f, "Usage: topoguard status [--socket PATH] [--json]\n\n"
			   "Show the running daemon's pools and containers.\n");
	fprintf(f,
		"\nOptions:\n"
		"  --socket PATH  the daemon's status socket (default %s)\n"
		"  --json         print the daemon's JSON answer\n"
		"  -h, --help     this help\n",
		DEFAULT_STATUS_SOCKET);
}

static int run_client(int argc, char **argv, int explain)
{
	static const struct option opts[] = {
		{"socket", required_argument, NULL, 's'},
		{"json", no_argument, NULL, 'j'},
		{"help", no_argument, NULL, 'h'},
		{},
	};
	const char *sock = DEFAULT_STATUS_SOCKET;
	char req[STATUS_MAX_REQUEST], *answer = NULL;
	int json = 0, c, r;

	optind = 1;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) >= 0) {
		switch (c) {
		case 's':
			sock = optarg;
			break;
		case 'j':
			json = 1;
			break;
		case 'h':
			usage(stdout, argv[0]);
			return 0;
		default:
			usage(stderr, argv[0]);
			return 2;
		}
	}
	if (explain != (optind < argc) || argc - optind > 1) {
		usage(stderr, argv[0]);
		return 2;
	}
	if (explain)
		snprintf(req, sizeof(req), "explain %s", argv[optind]);
	else
		snprintf(req, sizeof(req), "status");
	r = status_client_request(sock, req, 2000, &answer);
	if (r < 0) {
		fprintf(stderr, "topoguard: cannot reach the daemon at %s: %s\n", sock,
			strerror(-r));
		return 1;
	}
	r = print_answer(answer, json, explain);
	free(answer);
	return r;
}

int cmd_status(int argc, char **argv)
{
	return run_client(argc, argv, 0);
}

int cmd_explain(int argc, char **argv)
{
	return run_client(argc, argv, 1);
}
