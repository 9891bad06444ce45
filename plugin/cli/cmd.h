/* SPDX-License-Identifier: Apache-2.0 */
/*
 * topoguard subcommands. Each takes the argv that follows the subcommand name
 * (argv[0] is the subcommand) and returns a process exit code.
 */
#pragma once

int cmd_run(int argc, char **argv);
int cmd_topology(int argc, char **argv);
int cmd_validate_config(int argc, char **argv);
int cmd_status(int argc, char **argv);
int cmd_explain(int argc, char **argv);
