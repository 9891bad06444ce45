/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Run a command function (plugin/cli/cmd.h shape) with its stdout and stderr
 * captured into the caller's buffers (always NUL-terminated, truncated to fit).
 * Returns the command's exit code, or -errno when the capture could not be set up
 * (the buffers are then empty).
 */
#pragma once

#include <stddef.h>

int capture_cmd(int (*fn)(int, char **), int argc, char **argv, char *out, size_t n_out, char *err,
		size_t n_err);
