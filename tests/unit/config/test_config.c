/* SPDX-License-Identifier: Apache-2.0 */
#define _GNU_SOURCE /* asprintf */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "plugin/config/config.h"
#include "plugin/obs/log.h"
#include "plugin/obs/metrics.h"

static int parse(const char *text, struct config *c, struct config_errors *e)
{
	return config_parse("t.yaml", text, strlen(text), c, e);
}

/* True if some error message contains needle (printed on failure to help debugging). */
static bool has_error(const struct config_errors *e, const char *needle)
{
	for (size_t i = 0; i < e->n; i++)
		if (strstr(e->msg[i], needle))
			return true;
	for (size_t i = 0; i < e->n; i++)
		fprintf(stderr, "  have: %s\n", e->msg[i]);
	fprintf(stderr, "  missing: %s\n", needle);
	return false;
}

static void test_config_parse_empty_gives_defaults(void **state)
{
	struct config_errors e = {0};
	struct config a, b;

	(void)state;
	config_init(&a);
	memset(&b, 0xaa, sizeof(b));
	assert_int_equal(parse("", &b, &e), 0);
	assert_memory_equal(&a, &b, sizeof(a));
	assert_int_equal(parse("# only a comment\n", &b, &e), 0);
	assert_memory_equal(&a, &b, sizeof(a));
	assert_int_equal(e.n, 0);
	assert_true(a.pinning_exclusive);
	assert_int_equal(a.reserved_namespaces.n, 1);
	assert_string_equal(a.reserved_namespaces.name[0], "kube-system");
	assert_int_equal(a.live_sampling_interval_us, 100000);
	assert_string_equal(a.metrics_address, ":9464");
	assert_string_equal(a.status_socket, "/run/topoguard/status.sock");
	assert_int_equal(a.log_level, LOG_LEVEL_INFO);
}

static void test_config_print_defaults_round_trips(void **state)
{
	struct config_errors e = {0};
	struct config def, back;
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	(void)state;
	assert_non_null(f);
	assert_int_equal(config_print_defaults(f), 0);
	fclose(f);
	config_init(&def);
	assert_int_equal(config_parse("defaults", buf, len, &back, &e), 0);
	assert_memory_equal(&def, &back, sizeof(def));
	free(buf);
}

/* The longest value there is, every other CPU, prints and reads back. */
static void test_config_print_longest_cpulist(void **state)
{
	struct config_errors e = {0};
	struct config c, back;
	const struct config_key *diff[4];
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	(void)state;
	assert_non_null(f);
	config_init(&c);
	for (unsigned int i = 0; i < CPUSET_MAX; i += 2)
		cpuset_set(&c.reserved_cpus, i);
	assert_int_equal(config_print(f, &c), 0);
	fclose(f);
	assert_non_null(strstr(buf, ",4092,4094\"\n"));
	assert_int_equal(config_parse("printed", buf, len, &back, &e), 0);
	assert_int_equal(config_diff(&c, &back, diff, 4), 0);
	free(buf);
}

/* Any config prints to text that parses back to it; strings may hold what YAML escapes. */
static void test_config_print_round_trips_strings(void **state)
{
	static const char *const values[] = {
		"a\\nb",		     /* line feed */
		"tab\\there \\\"q\\\" \\\\", /* tab, quote, backslash */
		"\\x01\\x1f\\x7f",	     /* control characters YAML refuses raw */
		"nel\\Nls\\Lps\\P",	     /* line breaks YAML folds raw */
		"c1\\x80\\x99\\x9f",	     /* C1 controls YAML refuses raw (fuzz_config) */
		"\\uFEFF\\uFFFE\\uFFFF",     /* the BOM and non-characters, refused raw */
		" edges ",		     /* leading and trailing blanks */
		"\\u00e9\\u4e2d",	     /* plain UTF-8 */
	};
	struct config_errors e = {0};
	struct config c, back;
	const struct config_key *diff[4];
	char text[256];

	(void)state;
	for (size_t i = 0; i < sizeof(values) / sizeof(values[0]); i++) {
		char *buf = NULL;
		size_t len = 0;
		FILE *f;

		snprintf(text, sizeof(text), "kubernetes: {node_name: \"%s\"}\n", values[i]);
		assert_int_equal(parse(text, &c, &e), 0);
		f = open_memstream(&buf, &len);
		assert_non_null(f);
		assert_int_equal(config_print(f, &c), 0);
		fclose(f);
		if (config_parse("printed", buf, len, &back, &e) != 0 ||
		    config_diff(&c, &back, diff, 4) != 0)
			fail_msg("\"%s\" does not round-trip; printed:\n%s", values[i], buf);
		free(buf);
	}
}

/* A value formats whole or not at all: -ENOSPC, and buf stays a string. */
static void test_config_format_value_nospace(void **state)
{
	const struct config_key *k = config_key_find("kubernetes.node_name");
	struct config c;
	char buf[16];

	(void)state;
	config_init(&c);
	strcpy(c.kubernetes_node_name, "a\nbc");
	/* "a\x0abc" with its quotes: 9 bytes and the NUL */
	assert_int_equal(config_format_value(&c, k, buf, 10), 9);
	assert_string_equal(buf, "\"a\\x0abc\"");
	memset(buf, 'x', sizeof(buf));
	assert_int_equal(config_format_value(&c, k, buf, 9), -ENOSPC);
	assert_non_null(memchr(buf, '\0', 9));
	assert_int_equal(buf[9], 'x');
}

/* The default file is meant to be edited: setting reserved.cpus in it must be enough. */
static void test_config_print_defaults_edited_reserved_cpus(void **state)
{
	struct config_errors e = {0};
	struct config c;
	char *buf = NULL, *at, *edited;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	(void)state;
	assert_non_null(f);
	assert_int_equal(config_print_defaults(f), 0);
	fclose(f);
	at = strstr(buf, "  cpus: \"\"\n");
	assert_non_null(at);
	assert_true(asprintf(&edited, "%.*s  cpus: 2-3\n%s", (int)(at - buf), buf,
			     at + strlen("  cpus: \"\"\n")) > 0);
	assert_int_equal(parse(edited, &c, &e), 0);
	assert_int_equal(cpuset_count(&c.reserved_cpus), 2);
	assert_true(cpuset_test(&c.reserved_cpus, 3));
	free(edited);
	free(buf);
}

/* The shipped sample must stay valid and equal to the defaults (docs promise it). */
static void test_config_load_file_deploy_sample(void **state)
{
	const char *src = getenv("TOPOGUARD_SRC");
	struct config_errors e = {0};
	struct config def, c;
	char path[4096];

	(void)state;
	snprintf(path, sizeof(path), "%s/deploy/config/topoguard.yaml", src ? src : ".");
	config_init(&def);
	assert_int_equal(config_load_file(path, &c, &e), 0);
	assert_memory_equal(&def, &c, sizeof(def));
}

/* actuation (docs/deploy.md "Safe actuation"): auto by default, and only its values. */
static void test_config_actuation(void **state)
{
	struct config_errors e = {0};
	struct config c;
	const char *ok = "actuation: direct\n", *bad = "actuation: sometimes\n";

	(void)state;
	config_init(&c);
	assert_int_equal(c.actuation, CONFIG_ACTUATION_AUTO);
	assert_int_equal(config_parse("t.yaml", ok, strlen(ok), &c, &e), 0);
	assert_int_equal(c.actuation, CONFIG_ACTUATION_DIRECT);
	assert_true(config_key_find("actuation")->hot);
	assert_int_equal(config_parse("t.yaml", bad, strlen(bad), &c, &e), -EINVAL);
	assert_true(has_error(&e, "t.yaml:1:12: error: actuation: 'sometimes': expected one of "
				  "auto, nri, direct"));
	config_errors_done(&e);
}

static void test_config_parse_values(void **state)
{
	struct config_errors e = {0};
	struct config c;
	const char *text = "reserved:\n"
			   "  cpus: 0-1,4\n"
			   "  namespaces: [kube-system, monitoring]\n"
			   "pinning:\n"
			   "  exclusive: false\n"
			   "  shared_min_cpus: 2\n"
			   "hide_hyperthreads: yes\n"
			   "memory:\n"
			   "  memory_only_nodes: nearest\n"
			   "live:\n"
			   "  sampling_interval: 250ms\n"
			   "  cooldown: 2m\n"
			   "log: {level: debug}\n"
			   "metrics:\n"
			   "  address: \"127.0.0.1:0\"\n";

	(void)state;
	assert_int_equal(parse(text, &c, &e), 0);
	assert_int_equal(cpuset_count(&c.reserved_cpus), 3);
	assert_true(cpuset_test(&c.reserved_cpus, 4));
	assert_int_equal(c.reserved_namespaces.n, 2);
	assert_string_equal(c.reserved_namespaces.name[1], "monitoring");
	assert_false(c.pinning_exclusive);
	assert_int_equal(c.pinning_shared_min_cpus, 2);
	assert_true(c.hide_hyperthreads);
	assert_int_equal(c.memory_only_nodes, CONFIG_MEMORY_ONLY_NEAREST);
	assert_int_equal(c.live_sampling_interval_us, 250000);
	assert_int_equal(c.live_cooldown_us, 120000000);
	assert_int_equal(c.log_level, LOG_LEVEL_DEBUG);
	assert_string_equal(c.metrics_address, "127.0.0.1:0");
}

static void test_config_parse_errors_have_file_line_col(void **state)
{
	struct config_errors e = {0};
	struct config c, before;
	const char *text = "pinning:\n"
			   "  exclusiv: true\n"		/* 2:3 unknown, suggestion */
			   "  shared_min_cpus: 0\n"	/* 3:20 out of range */
			   "hide_hyperthreads: maybe\n" /* 4:20 type */
			   "live:\n"
			   "  sampling_interval: 5ms\n" /* 6:22 range in ms */
			   "reserved:\n"
			   "  cpus: 0-x\n"	      /* 8:9 cpuset */
			   "  namespaces: [Bad_NS]\n" /* 9:16 namespace */
			   "log: {level: loud}\n"     /* 10:14 enum */
			   "log: {level: info}\n"     /* 11:7 duplicate */
			   "frobnicate: 1\n";	      /* 12:1 unknown, no hint */

	(void)state;
	memset(&c, 0x5a, sizeof(c));
	before = c;
	assert_int_equal(parse(text, &c, &e), -EINVAL);
	assert_memory_equal(&c, &before, sizeof(c)); /* untouched on failure */
	assert_true(has_error(&e, "t.yaml:2:3: error: unknown key 'pinning.exclusiv' (did you "
				  "mean 'pinning.exclusive'?)"));
	assert_true(has_error(&e, "t.yaml:3:20: error: pinning.shared_min_cpus: '0' out of range "
				  "(allowed 1..4096)"));
	assert_true(has_error(&e, "t.yaml:4:20: error: hide_hyperthreads: 'maybe': expected a "
				  "boolean"));
	assert_true(has_error(&e, "t.yaml:6:22: error: live.sampling_interval: '5ms' out of "
				  "range (allowed 10ms..10s)"));
	assert_true(has_error(&e, "t.yaml:8:9: error: reserved.cpus: '0-x'"));
	assert_true(has_error(&e, "t.yaml:9:16: error: reserved.namespaces: 'Bad_NS'"));
	assert_true(has_error(&e, "t.yaml:10:14: error: log.level: 'loud'"));
	assert_true(has_error(&e, "t.yaml:11:7: error: duplicate key 'log.level'"));
	assert_true(has_error(&e, "t.yaml:12:1: error: unknown key 'frobnicate'"));
	assert_int_equal(e.n, 9);
	config_errors_done(&e);
	config_errors_done(&e); /* idempotent */
	assert_int_equal(e.n, 0);
}

static void test_config_parse_misplaced_key_suggests_section(void **state)
{
	struct config_errors e = {0};
	struct config c;

	(void)state;
	assert_int_equal(parse("exclusive: true\n", &c, &e), -EINVAL);
	assert_true(has_error(&e, "did you mean 'pinning.exclusive'?"));
	config_errors_done(&e);
}

static void test_config_parse_structure_errors(void **state)
{
	struct config_errors e = {0};
	struct config c;

	(void)state;
	assert_int_equal(parse("pinning: [1, 2]\n", &c, &e), -EINVAL);
	assert_true(has_error(&e, "t.yaml:1:10: error: 'pinning' is a section"));
	config_errors_done(&e);
	assert_int_equal(parse("log:\n  level: [debug]\n", &c, &e), -EINVAL);
	assert_true(has_error(&e, "log.level: expected a single value, not a list"));
	config_errors_done(&e);
	assert_int_equal(parse("- a\n- b\n", &c, &e), -EINVAL);
	assert_true(has_error(&e, "must be a mapping"));
	config_errors_done(&e);
	assert_int_equal(parse("log: {level: debug}\n---\nlog: {level: warn}\n", &c, &e), -EINVAL);
	assert_true(has_error(&e, "t.yaml:3:1: error: only one YAML document"));
	config_errors_done(&e);
	assert_int_equal(parse("a: [\n", &c, &e), -EINVAL);
	assert_true(has_error(&e, "t.yaml:2:1: error: YAML:"));
	config_errors_done(&e);
	assert_int_equal(parse("pinning:\n  exclusive:\n", &c, &e), -EINVAL);
	assert_true(has_error(&e, "pinning.exclusive: missing value"));
	config_errors_done(&e);
}

static void test_config_parse_cross_key_errors(void **state)
{
	struct config_errors e = {0};
	struct config c;

	(void)state;
	assert_int_equal(parse("reserved: {cpus: \"0\", count: 2}\n", &c, &e), -EINVAL);
	assert_true(has_error(&e, "set either reserved.cpus or reserved.count"));
	config_errors_done(&e);
	/* count 0 is "none", as the default file has it next to cpus */
	assert_int_equal(parse("reserved: {cpus: \"0-1\", count: 0}\n", &c, &e), 0);
	assert_int_equal(cpuset_count(&c.reserved_cpus), 2);
	assert_int_equal(parse("reserved: {cpus: \"\", count: 2}\n", &c, &e), 0);
	assert_int_equal(c.reserved_count, 2);
	assert_int_equal(parse("metrics: {address: \"localhost:80\"}\n", &c, &e), -EINVAL);
	assert_true(has_error(&e, "metrics.address"));
	config_errors_done(&e);
	assert_int_equal(parse("metrics: {address: \"[::1]:9464\"}\n", &c, &e), 0);
	assert_int_equal(parse("metrics: {address: \"\"}\n", &c, &e), 0);
	assert_int_equal(parse("status: {socket: relative.sock}\n", &c, &e), -EINVAL);
	assert_true(has_error(&e, "status.socket"));
	config_errors_done(&e);
}

/* "reserved:\n  namespaces: [" n names "]\n"; name i is "ns-<i>" unless last_len > 0,
 * which makes the last one a label of that many characters. */
static char *namespaces_yaml(const char *key, unsigned int n, size_t last_len)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	assert_non_null(f);
	fprintf(f, "%s: [", key);
	for (unsigned int i = 0; i < n; i++) {
		fprintf(f, "%s", i ? ", " : "");
		if (i + 1 == n && last_len) {
			for (size_t k = 0; k < last_len; k++)
				fputc('a' + (int)(k % 26), f);
		} else {
			fprintf(f, "ns-%u", i);
		}
	}
	fprintf(f, "]\n");
	assert_int_equal(fclose(f), 0);
	return buf;
}

/* The lists hold CONFIG_LIST_MAX names: 32 fit, the 33rd is refused, and the config is
 * not touched (the 33rd would land past the fixed array). Duplicates take no room. */
static void test_config_parse_namespaces_count_limit(void **state)
{
	static const char *const keys[] = {"reserved.namespaces",
					   "annotations.allow_reserved_namespaces"};
	struct config_errors e = {0};
	struct config c, before;
	char *text, *flat;

	(void)state;
	for (size_t k = 0; k < sizeof(keys) / sizeof(keys[0]); k++) {
		const struct config_key *key = config_key_find(keys[k]);
		const struct config_namespaces *ns;
		const char *dot = strchr(keys[k], '.');

		assert_non_null(key);
		ns = (const struct config_namespaces *)((const char *)&c + key->offset);
		/* flow style "section: {leaf: [...]}" from "section.leaf" */
		text = namespaces_yaml(dot + 1, CONFIG_LIST_MAX, 0);
		assert_true(asprintf(&flat, "%.*s: {%.*s}\n", (int)(dot - keys[k]), keys[k],
				     (int)strlen(text) - 1, text) > 0);
		free(text);
		assert_int_equal(parse(flat, &c, &e), 0);
		assert_int_equal(ns->n, CONFIG_LIST_MAX);
		assert_string_equal(ns->name[0], "ns-0");
		assert_string_equal(ns->name[CONFIG_LIST_MAX - 1], "ns-31");
		free(flat);

		text = namespaces_yaml(dot + 1, CONFIG_LIST_MAX + 1, 0);
		assert_true(asprintf(&flat, "%.*s: {%.*s}\n", (int)(dot - keys[k]), keys[k],
				     (int)strlen(text) - 1, text) > 0);
		free(text);
		memset(&c, 0x5a, sizeof(c));
		before = c;
		assert_int_equal(parse(flat, &c, &e), -EINVAL);
		assert_true(has_error(&e, "'ns-32': too many namespaces (at most 32)"));
		assert_int_equal(e.n, 1);
		assert_memory_equal(&c, &before, sizeof(c));
		config_errors_done(&e);
		free(flat);
	}
	/* 32 names plus repeats of them: still 32 */
	assert_int_equal(parse("reserved:\n  namespaces: [a, b, a, b]\n", &c, &e), 0);
	assert_int_equal(c.reserved_namespaces.n, 2);
	text = namespaces_yaml("  namespaces", CONFIG_LIST_MAX, 0);
	assert_true(asprintf(&flat, "reserved:\n%.*s, ns-0, ns-31]\n", (int)strlen(text) - 2,
			     text) > 0);
	free(text);
	assert_int_equal(parse(flat, &c, &e), 0);
	assert_int_equal(c.reserved_namespaces.n, CONFIG_LIST_MAX);
	free(flat);
}

/* A namespace is a DNS label, at most 63 characters: it fills name[] (64 bytes with the
 * NUL) exactly, also in the last slot; 64 characters are refused before any copy. */
static void test_config_parse_namespace_length_limit(void **state)
{
	struct config_errors e = {0};
	struct config c;
	char *body, *text;

	(void)state;
	/* the last slot first: an overrun there leaves the struct (ASan sees it) */
	for (unsigned int i = 0, n = CONFIG_LIST_MAX; i < 2; i++, n = 1) {
		body = namespaces_yaml("  namespaces", n, CONFIG_NAMESPACE_MAX - 1);
		assert_true(asprintf(&text, "reserved:\n%s", body) > 0);
		free(body);
		assert_int_equal(parse(text, &c, &e), 0);
		assert_int_equal(c.reserved_namespaces.n, n);
		assert_int_equal(strlen(c.reserved_namespaces.name[n - 1]), 63);
		assert_memory_equal(c.reserved_namespaces.name[n - 1], "abcdefghijklmnopqrstuvwxyz",
				    26);
		free(text);

		body = namespaces_yaml("  namespaces", n, CONFIG_NAMESPACE_MAX);
		assert_true(asprintf(&text, "reserved:\n%s", body) > 0);
		free(body);
		assert_int_equal(parse(text, &c, &e), -EINVAL);
		assert_true(has_error(&e, "not a valid namespace name (RFC 1123 label: a-z, 0-9, "
					  "'-', at most 63)"));
		config_errors_done(&e);
		free(text);
	}
}

/* live.runqueue_p99_target_us: 1..1000000 µs, as the latency-target-us annotation. */
static void test_config_parse_latency_target_limit(void **state)
{
	struct config_errors e = {0};
	struct config c;

	(void)state;
	assert_int_equal(parse("live: {runqueue_p99_target_us: 1000000}\n", &c, &e), 0);
	assert_int_equal(c.live_runqueue_p99_target_us, 1000000);
	assert_int_equal(parse("live: {runqueue_p99_target_us: 1}\n", &c, &e), 0);
	assert_int_equal(c.live_runqueue_p99_target_us, 1);
	assert_int_equal(parse("live: {runqueue_p99_target_us: 1000001}\n", &c, &e), -EINVAL);
	assert_true(has_error(&e, "live.runqueue_p99_target_us: '1000001' out of range (allowed "
				  "1..1000000)"));
	config_errors_done(&e);
	assert_int_equal(parse("live: {runqueue_p99_target_us: 0}\n", &c, &e), -EINVAL);
	assert_true(has_error(&e, "'0' out of range (allowed 1..1000000)"));
	config_errors_done(&e);
	assert_int_equal(parse("live: {runqueue_p99_target_us: 18446744073709551617}\n", &c, &e),
			 -EINVAL);
	assert_true(has_error(&e, "live.runqueue_p99_target_us:"));
	config_errors_done(&e);
}

static void test_config_parse_too_large(void **state)
{
	struct config_errors e = {0};
	struct config c;
	size_t n = CONFIG_MAX_BYTES + 1;
	char *big = malloc(n);

	(void)state;
	assert_non_null(big);
	memset(big, '#', n);
	assert_int_equal(config_parse("big", big, n, &c, &e), -E2BIG);
	assert_int_equal(e.n, 1);
	config_errors_done(&e);
	free(big);
}

static void test_config_load_file_missing(void **state)
{
	struct config_errors e = {0};
	struct config c;

	(void)state;
	assert_int_equal(config_load_file("/nonexistent/topoguard.yaml", &c, &e), -ENOENT);
	assert_true(has_error(&e, "/nonexistent/topoguard.yaml: error:"));
	config_errors_done(&e);
}

static void test_config_parse_duration_units(void **state)
{
	int64_t us;

	(void)state;
	assert_int_equal(config_parse_duration("250us", &us), 0);
	assert_int_equal(us, 250);
	assert_int_equal(config_parse_duration("100ms", &us), 0);
	assert_int_equal(us, 100000);
	assert_int_equal(config_parse_duration("1h", &us), 0);
	assert_int_equal(us, 3600000000LL);
	assert_int_equal(config_parse_duration("0", &us), 0);
	assert_int_equal(us, 0);
	assert_int_equal(config_parse_duration("10", &us), -EINVAL);
	assert_int_equal(config_parse_duration("-1s", &us), -EINVAL);
	assert_int_equal(config_parse_duration("5 s", &us), -EINVAL);
	assert_int_equal(config_parse_duration("99999999999999999h", &us), -ERANGE);
}

static void test_config_edit_distance_basic(void **state)
{
	(void)state;
	assert_int_equal(config_edit_distance("kitten", "sitting", 5), 3);
	assert_int_equal(config_edit_distance("abc", "abc", 2), 0);
	assert_int_equal(config_edit_distance("abc", "xyzxyz", 2), 3); /* capped at cap + 1 */
}

static void test_config_diff_and_apply_hot(void **state)
{
	const struct config_key *changed[8];
	struct config run, fresh;

	(void)state;
	config_init(&run);
	fresh = run;
	assert_int_equal(config_diff(&run, &fresh, changed, 8), 0);
	fresh.hide_hyperthreads = true;					      /* hot */
	snprintf(fresh.metrics_address, sizeof(fresh.metrics_address), ":1"); /* restart */
	assert_int_equal(config_diff(&run, &fresh, changed, 8), 2);
	config_apply_hot(&run, &fresh);
	assert_true(run.hide_hyperthreads);
	assert_string_equal(run.metrics_address, ":9464");
}

static void test_config_reload_counts_results(void **state)
{
	struct metrics *m = NULL;
	struct config run;
	const char *good = "log: {level: warn}\nmetrics: {address: \":1\"}\n";
	const char *bad = "log: {level: nope}\n";
	char *text = NULL;

	(void)state;
	log_set_fd(-1);
	assert_int_equal(metrics_new(&m), 0);
	config_init(&run);
	assert_int_equal(config_reload(&run, "c", good, strlen(good), m), 1);
	assert_int_equal(run.log_level, LOG_LEVEL_WARN);
	assert_int_equal(log_get_level(), LOG_LEVEL_WARN);
	assert_string_equal(run.metrics_address, ":9464"); /* needs a restart */
	assert_int_equal(config_reload(&run, "c", bad, strlen(bad), m), -EINVAL);
	assert_int_equal(run.log_level, LOG_LEVEL_WARN); /* the old config stays */
	assert_int_equal(config_reload(&run, "c", good, strlen(good), m), 0);
	assert_int_equal(metrics_render(m, &text, NULL), 0);
	assert_non_null(strstr(text, "topoguard_config_reloads_total{result=\"applied\"} 1\n"));
	assert_non_null(strstr(text, "topoguard_config_reloads_total{result=\"refused\"} 1\n"));
	assert_non_null(strstr(text, "topoguard_config_reloads_total{result=\"unchanged\"} 1\n"));
	assert_non_null(strstr(text, "topoguard_config_errors 0\n"));
	free(text);
	metrics_free(m);
	log_set_level(LOG_LEVEL_INFO);
}

/* Our defaults are the policy's defaults: nothing changes meaning in translation. */
static void test_config_to_alloc_defaults_match_policy(void **state)
{
	const char *ns[CONFIG_LIST_MAX];
	struct alloc_config want, got;
	struct config c;

	(void)state;
	config_init(&c);
	alloc_config_init(&want);
	config_to_alloc(&c, &got, ns);
	assert_int_equal(got.n_reserved_namespaces, want.n_reserved_namespaces);
	assert_string_equal(got.reserved_namespaces[0], want.reserved_namespaces[0]);
	got.reserved_namespaces = want.reserved_namespaces;
	assert_memory_equal(&got, &want, sizeof(got));
}

static void test_config_to_alloc_maps_every_knob(void **state)
{
	struct config_errors e = {0};
	const char *ns[CONFIG_LIST_MAX];
	struct alloc_config a;
	struct config c;
	const char *text = "reserved: {cpus: \"0-1\", namespaces: [kube-system, infra]}\n"
			   "pinning: {exclusive: false, prefer_whole_cores: false,\n"
			   "  shared_min_cpus: 3, burstable_unlimited_wide: true,\n"
			   "  prefer_same_numa: false, prefer_core_kind: efficient}\n"
			   "quota: {drop_for_exclusive: false, cfs_period_us: 50000}\n"
			   "hide_hyperthreads: true\nisolated: {allow: false}\n"
			   "memory: {memory_only_nodes: all, pin_mems: false}\n";

	(void)state;
	assert_int_equal(parse(text, &c, &e), 0);
	config_to_alloc(&c, &a, ns);
	assert_int_equal(cpuset_count(&a.reserved_cpus), 2);
	assert_int_equal(a.n_reserved_namespaces, 2);
	assert_string_equal(a.reserved_namespaces[1], "infra");
	assert_false(a.exclusive_enabled);
	assert_false(a.prefer_whole_cores);
	assert_false(a.prefer_same_numa);
	assert_int_equal(a.prefer_core_kind, ALLOC_CORE_KIND_EFFICIENT);
	assert_int_equal(a.shared_min_cpus, 3);
	assert_true(a.burstable_unlimited_wide);
	assert_false(a.exclusive_no_quota);
	assert_int_equal(a.cfs_period_us, 50000);
	assert_true(a.hide_hyperthreads);
	assert_false(a.isolated_allow);
	assert_int_equal(a.memory_only_nodes, ALLOC_MEMORY_ONLY_ALL);
	assert_false(a.pin_mems);
}

static void test_config_keys_table_is_sane(void **state)
{
	size_t n;
	const struct config_key *k = config_keys(&n);

	(void)state;
	assert_true(n > 30);
	for (size_t i = 0; i < n; i++) {
		assert_non_null(k[i].doc);
		assert_ptr_equal(config_key_find(k[i].path), &k[i]); /* unique paths */
		if (k[i].type == CONFIG_INT || k[i].type == CONFIG_DURATION)
			assert_true(k[i].min <= k[i].max);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_config_parse_empty_gives_defaults),
		cmocka_unit_test(test_config_print_defaults_round_trips),
		cmocka_unit_test(test_config_print_defaults_edited_reserved_cpus),
		cmocka_unit_test(test_config_print_longest_cpulist),
		cmocka_unit_test(test_config_print_round_trips_strings),
		cmocka_unit_test(test_config_format_value_nospace),
		cmocka_unit_test(test_config_load_file_deploy_sample),
		cmocka_unit_test(test_config_parse_values),
		cmocka_unit_test(test_config_actuation),
		cmocka_unit_test(test_config_parse_errors_have_file_line_col),
		cmocka_unit_test(test_config_parse_misplaced_key_suggests_section),
		cmocka_unit_test(test_config_parse_structure_errors),
		cmocka_unit_test(test_config_parse_cross_key_errors),
		cmocka_unit_test(test_config_parse_namespaces_count_limit),
		cmocka_unit_test(test_config_parse_namespace_length_limit),
		cmocka_unit_test(test_config_parse_latency_target_limit),
		cmocka_unit_test(test_config_parse_too_large),
		cmocka_unit_test(test_config_load_file_missing),
		cmocka_unit_test(test_config_parse_duration_units),
		cmocka_unit_test(test_config_edit_distance_basic),
		cmocka_unit_test(test_config_diff_and_apply_hot),
		cmocka_unit_test(test_config_reload_counts_results),
		cmocka_unit_test(test_config_to_alloc_defaults_match_policy),
		cmocka_unit_test(test_config_to_alloc_maps_every_knob),
		cmocka_unit_test(test_config_keys_table_is_sane),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
