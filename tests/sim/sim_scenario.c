/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Scenario files: one command per line, whitespace-separated words, '#' starts a
 * comment. Only the verb is checked here (so a typo fails before any plugin is
 * started); arguments are checked when the line runs, with file:line in the error.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/sim/sim.h"

static const char *const verbs[] = {
	"pod",
	"create",
	"start",
	"update",
	"stop",
	"remove",
	"exit",
	"stop-pod",
	"remove-pod",
	"sleep",
	"restart",
	"wait-updates",
	"wait-sessions",
	"expect-cpus",
	"expect-mems",
	"expect-failed",
	"expect-events",
	"expect-connected",
	"wait-connected",
	"expect-mem-limit",
	"expect-quota",
	"expect-annotation",
	"update-pod",
	"expect-state",
	"fault",
};

static bool verb_known(const char *v)
{
	for (size_t i = 0; i < sizeof(verbs) / sizeof(verbs[0]); i++) {
		if (!strcmp(v, verbs[i]))
			return true;
	}
	return false;
}

static void line_done(struct sim_line *l)
{
	for (int i = 0; i < l->argc; i++)
		free(l->argv[i]);
	free(l->argv);
}

void sim_scenario_done(struct sim_scenario *sc)
{
	for (size_t i = 0; i < sc->n_lines; i++)
		line_done(&sc->lines[i]);
	free(sc->lines);
	free(sc->path);
	*sc = (struct sim_scenario){0};
}

static int split(char *text, struct sim_line *l)
{
	char *save = NULL;

	for (char *w = strtok_r(text, " \t\r\n", &save); w; w = strtok_r(NULL, " \t\r\n", &save)) {
		char **argv = realloc(l->argv, (size_t)(l->argc + 2) * sizeof(*argv));
		if (!argv)
			return -ENOMEM;
		l->argv = argv;
		argv[l->argc] = strdup(w);
		if (!argv[l->argc])
			return -ENOMEM;
		argv[++l->argc] = NULL;
	}
	return 0;
}

/* "existing pod ..." / "existing create ...": drop the marker, remember it. */
static int parse_line(char *text, int lineno, struct sim_line *ret)
{
	struct sim_line l = {.lineno = lineno};
	char *hash = strchr(text, '#');
	int r;

	if (hash)
		*hash = '\0';
	r = split(text, &l);
	if (r == 0 && l.argc > 0 && !strcmp(l.argv[0], "existing")) {
		free(l.argv[0]);
		memmove(l.argv, l.argv + 1, (size_t)l.argc * sizeof(*l.argv));
		l.argc--;
		l.existing = true;
		if (l.argc == 0 || (strcmp(l.argv[0], "pod") && strcmp(l.argv[0], "create")))
			r = -EINVAL;
	}
	if (r == 0 && l.argc > 0 && !verb_known(l.argv[0]))
		r = -EINVAL;
	if (r < 0) {
		line_done(&l);
		return r;
	}
	*ret = l;
	return 0;
}

static int add_line(struct sim_scenario *sc, const struct sim_line *l)
{
	struct sim_line *arr = realloc(sc->lines, (sc->n_lines + 1) * sizeof(*arr));

	if (!arr)
		return -ENOMEM;
	sc->lines = arr;
	arr[sc->n_lines++] = *l;
	return 0;
}

int sim_scenario_load(const char *path, struct sim_scenario *ret)
{
	struct sim_scenario sc = {0};
	FILE *f = strcmp(path, "-") ? fopen(path, "re") : stdin;
	char *buf = NULL;
	size_t cap = 0;
	int lineno = 0, r = 0;

	if (!f)
		return -errno;
	sc.path = strdup(path);
	if (!sc.path)
		r = -ENOMEM;
	while (r == 0 && getline(&buf, &cap, f) >= 0) {
		struct sim_line l;

		r = parse_line(buf, ++lineno, &l);
		if (r < 0) {
			fprintf(stderr, "nri-sim: %s:%d: unknown or malformed command\n", path,
				lineno);
			break;
		}
		if (l.argc == 0) {
			line_done(&l);
			continue;
		}
		r = add_line(&sc, &l);
		if (r < 0)
			line_done(&l);
	}
	free(buf);
	if (f != stdin)
		fclose(f);
	if (r < 0) {
		sim_scenario_done(&sc);
		return r;
	}
	*ret = sc;
	return 0;
}
