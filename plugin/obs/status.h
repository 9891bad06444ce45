/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The daemon's local status socket: `topoguard status` and `topoguard explain`
 * talk to the running daemon over it.
 *
 * Protocol: a client connects, sends one request line ("status\n" or
 * "explain CONTAINER\n"), the server answers with one JSON document and closes.
 * The socket is created mode 0600 (root only): it tells which container runs where.
 *
 * The server is driven from the daemon's loop: status_server_fd() becomes readable
 * when a client connects, status_server_process() serves it. A client that sends
 * nothing within STATUS_CLIENT_TIMEOUT_MS is dropped so the loop never stalls longer.
 *
 * Ownership: status_server_free() is NULL-safe and unlinks the socket path.
 * render() returns a malloc'd NUL-terminated string the server frees.
 */
#pragma once

#define STATUS_CLIENT_TIMEOUT_MS 200
#define STATUS_MAX_REQUEST	 512

/* Produce the answer to a request line (without its newline). 0 or -errno. */
typedef int (*status_render_fn)(const char *request, char **ret_json, void *ud);

struct status_server;

int status_server_new(const char *path, status_render_fn render, void *ud,
		      struct status_server **ret);
void status_server_free(struct status_server *s);
int status_server_fd(const struct status_server *s);
/* Accept and answer one pending client. 0, or -errno for that client only. */
int status_server_process(struct status_server *s);

/* Client side: send request, return the whole answer (malloc'd) in *ret. */
int status_client_request(const char *path, const char *request, int timeout_ms, char **ret);
