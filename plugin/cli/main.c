/* SPDX-License-Identifier: Apache-2.0 */
/* topoguard: command table. Each subcommand lives in plugin/cmd_<name>.c. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "plugin/cli/cmd.h"

#ifndef TOPOGUARD_VERSION
#define TOPOGUARD_VERSION "0.1.0"
#endif

struct command {
	const char *name;
	int (*fn)(int argc, char **argv);
	const char *summary;
};

static int cmd_version(int argc, char **argv);
static int cmd_help(int argc, char **argv);

static const struct command commands[] = {
	{"run", cmd_run, "connect to the runtime as an NRI plugin and manage resources"},
	{"topology", cmd_topology, "print the node's CPU and memory topology"},
	{"validate-config", cmd_validate_config, "check a configuration file"},
	{"status", cmd_status, "show pools and containers of the running daemon"},
	{"explain", cmd_explain, "say why a container got its CPUs"},
	{"version", cmd_version, "print the version"},
	{"help", cmd_help, "show this help"},
};

static int cmd_version(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	printf("topoguard %s\n", TOPOGUARD_VERSION);
	return 0;
}

static int cmd_help(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	printf("Usage: topoguard COMMAND [OPTIONS]\n\n"
	       "An eBPF-assisted resource-policy NRI plugin.\n\nCommands:\n");
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		printf("  %-16s %s\n", commands[i].name, commands[i].summary);
	printf("\nRun 'topoguard COMMAND --help' for a command's options.\n");
	return 0;
}

int main(int argc, char **argv)
{
	/* Pre-launched by the runtime: /opt/nri/plugins/NN-topoguard, no arguments. */
	if (argc < 2 && getenv("NRI_PLUGIN_SOCKET"))
		return cmd_run(argc, argv);
	if (argc < 2) {
		cmd_help(argc, argv);
		return 2;
	}
	if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))
		return cmd_help(argc, argv);
	if (!strcmp(argv[1], "--version"))
		return cmd_version(argc, argv);
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (!strcmp(argv[1], commands[i].name))
			return commands[i].fn(argc - 1, argv + 1);
	fprintf(stderr, "topoguard: unknown command '%s' (try 'topoguard help')\n", argv[1]);
	return 2;
}
