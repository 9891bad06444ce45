/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Answers of the status socket (render.c): `status`, `explain NAME`. The
 * request is untrusted (bounded by plugin/obs/status.h); *ret_json is malloc'd and
 * owned by the caller. ud is the struct daemon.
 */
#pragma once

int daemon_render_status(const char *request, char **ret_json, void *ud);
