/* SPDX-License-Identifier: Apache-2.0 */
/* topoguard validate-config: check a configuration file the way the daemon would load it. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "plugin/cli/cmd.h"
#include "plugin/config/config.h"

static void validate_usage(FILE *f)
{
	fprintf(f, "Usage: topoguard validate-config [OPTIONS] FILE\n\n"
		   "Check a topoguard configuration file (YAML). Prints OK, or every error as\n"
		   "FILE:LINE:COLUMN: error: MESSAGE and exits 1. FILE '-' reads stdin.\n\n"
		   "Options:\n"
		   "  --print-defaults  print the documented default configuration and exit\n"
		   "  -q, --quiet       print nothing on success\n"
		   "  -h, --help        show this help\n");
}

static int validate_stdin(struct config *c, struct config_errors *errs)
{
	size_t len = 0;
	char *buf = NULL;
	int r = config_read_file("/dev/stdin", &buf, &len);

	if (r < 0) {
		config_errors_add(errs, "-: error: %s", strerror(-r));
		return r;
	}
	r = config_parse("-", buf, len, c, errs);
	free(buf);
	return r;
}

int cmd_validate_config(int argc, char **argv)
{
	static const struct option opts[] = {
		{"print-defaults", no_argument, NULL, 'D'},
		{"quiet", no_argument, NULL, 'q'},
		{"help", no_argument, NULL, 'h'},
		{0},
	};
	struct config_errors errs = {0};
	struct config c;
	bool quiet = false;
	int o, r;

	optind = 1;
	while ((o = getopt_long(argc, argv, "qh", opts, NULL)) != -1) {
		switch (o) {
		case 'D':
			return config_print_defaults(stdout) < 0 ? 1 : 0;
		case 'q':
			quiet = true;
			break;
		case 'h':
			validate_usage(stdout);
			return 0;
		default:
			validate_usage(stderr);
			return 2;
		}
	}
	if (optind != argc - 1) {
		validate_usage(stderr);
		return 2;
	}
	if (!strcmp(argv[optind], "-"))
		r = validate_stdin(&c, &errs);
	else
		r = config_load_file(argv[optind], &c, &errs);
	for (size_t i = 0; i < errs.n; i++)
		fprintf(stderr, "%s\n", errs.msg[i]);
	if (r < 0 && errs.n == 0)
		fprintf(stderr, "%s: error: %s\n", argv[optind], strerror(-r));
	if (r >= 0 && !quiet)
		printf("%s: OK\n", argv[optind]);
	config_errors_done(&errs);
	return r < 0 ? 1 : 0;
}
