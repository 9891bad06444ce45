/* SPDX-License-Identifier: Apache-2.0 */
/* End-to-end test helpers: processes, files, reports, HTTP. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <curl/curl.h>

#include "tests/lib/e2e.h"

static const char *env_or(const char *name, const char *def)
{
	const char *v = getenv(name);

	return v && *v ? v : def;
}

int e2e_setup(struct e2e *e)
{
	memset(e, 0, sizeof(*e));
	snprintf(e->dir, sizeof(e->dir), "/tmp/tg-e2e-XXXXXX");
	if (!mkdtemp(e->dir))
		return -errno;
	e->sim = env_or("NRI_SIM_BIN", "build/rel/nri-sim");
	e->topoguard = env_or("TOPOGUARD_BIN", "build/rel/topoguard");
	e->src = env_or("TOPOGUARD_SRC", ".");
	return 0;
}

void e2e_teardown(struct e2e *e)
{
	char cmd[128];

	if (!e->dir[0])
		return;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", e->dir);
	if (system(cmd) != 0)
		fprintf(stderr, "e2e: cannot remove %s\n", e->dir);
	e->dir[0] = '\0';
}

void e2e_path(const struct e2e *e, char *buf, size_t len, const char *name)
{
	snprintf(buf, len, "%s/%s", e->dir, name);
}

void e2e_src_path(const struct e2e *e, char *buf, size_t len, const char *rel)
{
	snprintf(buf, len, "%s/%s", e->src, rel);
}

int e2e_write(const struct e2e *e, const char *name, const char *text)
{
	char path[256];
	FILE *f;

	e2e_path(e, path, sizeof(path), name);
	f = fopen(path, "we");
	if (!f)
		return -errno;
	fputs(text, f);
	return fclose(f) == 0 ? 0 : -errno;
}

pid_t e2e_spawn(const char *bin, const char *const *args, const char *log)
{
	const char *argv[48] = {bin};
	size_t n = 1;
	pid_t pid;

	for (; args && args[n - 1] && n < 47; n++)
		argv[n] = args[n - 1];
	argv[n] = NULL;
	pid = fork();
	if (pid < 0)
		return -errno;
	if (pid == 0) {
		if (log) {
			int fd = open(log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);

			if (fd >= 0) {
				dup2(fd, STDOUT_FILENO);
				dup2(fd, STDERR_FILENO);
			}
		}
		execv(bin, (char *const *)argv);
		_exit(127);
	}
	return pid;
}

int e2e_timeout_ms(int ms)
{
	const char *v = getenv("TOPOGUARD_TIMEOUT_SCALE");
	char *end;
	long scale = v && *v ? strtol(v, &end, 10) : 1;

	if (!v || !*v || *end || scale < 1 || scale > 100)
		scale = 1;
	return ms * (int)scale;
}

/* 0 and the wait status, or -ETIMEDOUT after SIGKILL (status then tells the kill), or
 * -errno from waitpid (not our child, already reaped). */
static int wait_status(pid_t pid, int timeout_ms, int *ret_status)
{
	int polls = e2e_timeout_ms(timeout_ms) / 10;

	for (int i = 0; i < polls; i++) {
		pid_t w = waitpid(pid, ret_status, WNOHANG);

		if (w == pid)
			return 0;
		if (w < 0)
			return -errno;
		usleep(10000);
	}
	kill(pid, SIGKILL);
	waitpid(pid, ret_status, 0);
	return -ETIMEDOUT;
}

int e2e_wait_exit(pid_t pid, int timeout_ms)
{
	int status = 0;

	if (wait_status(pid, timeout_ms, &status) < 0)
		return -1;
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

int e2e_stop(pid_t pid, int timeout_ms)
{
	/* kill(0 or -1, ...) would hit our own process group, or everything */
	if (pid <= 0)
		return -ESRCH;
	kill(pid, SIGTERM);
	return e2e_wait_exit(pid, timeout_ms);
}

int e2e_stop_daemon(pid_t pid, const char *log, int timeout_ms)
{
	int status = 0, r;

	if (pid <= 0)
		return -1;
	kill(pid, SIGTERM);
	r = wait_status(pid, timeout_ms, &status);
	if (r == 0 && WIFEXITED(status) && WEXITSTATUS(status) == 0)
		return 0;
	if (r == -ETIMEDOUT)
		fprintf(stderr, "daemon (pid %d) still running %d ms after SIGTERM: killed\n",
			(int)pid, e2e_timeout_ms(timeout_ms));
	else if (r < 0)
		fprintf(stderr, "daemon (pid %d): cannot wait for it: %s\n", (int)pid,
			strerror(-r));
	else if (WIFSIGNALED(status))
		fprintf(stderr, "daemon (pid %d) killed by signal %d (%s) after SIGTERM\n",
			(int)pid, WTERMSIG(status), strsignal(WTERMSIG(status)));
	else
		fprintf(stderr, "daemon (pid %d) exited %d after SIGTERM, not 0\n", (int)pid,
			WEXITSTATUS(status));
	if (log)
		e2e_print_tail(log, 30);
	return -1;
}

void e2e_print_tail(const char *path, int lines)
{
	char buf[8192];
	FILE *f = fopen(path, "re");
	size_t n = 0;
	char *p;

	if (!f) {
		fprintf(stderr, "(no %s: %s)\n", path, strerror(errno));
		return;
	}
	/* the tail of a debug log: the last sizeof(buf) - 1 bytes are enough */
	if (fseek(f, -(long)(sizeof(buf) - 1), SEEK_END) < 0)
		rewind(f);
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	p = buf + n;
	if (p > buf && p[-1] == '\n')
		p--;
	for (int seen = 0; p > buf; p--)
		if (p[-1] == '\n' && ++seen == lines)
			break;
	fprintf(stderr, "---- last %d lines of %s ----\n%s", lines, path, p);
	if (n && buf[n - 1] != '\n')
		fputc('\n', stderr);
}

int e2e_wait_path(const char *path, int timeout_ms)
{
	struct stat st;

	for (int i = 0; i < e2e_timeout_ms(timeout_ms) / 10; i++) {
		if (stat(path, &st) == 0)
			return 0;
		usleep(10000);
	}
	return -ETIMEDOUT;
}

json_object *e2e_load_json(const char *path)
{
	return json_object_from_file(path);
}

json_object *e2e_jget(json_object *o, const char *key)
{
	json_object *v = NULL;

	if (!o || !json_object_object_get_ex(o, key, &v))
		return NULL;
	return v;
}

const char *e2e_jstr(json_object *o, const char *key)
{
	json_object *v = e2e_jget(o, key);

	return v ? json_object_get_string(v) : "";
}

json_object *e2e_report_container(json_object *rep, const char *id)
{
	json_object *ctrs = e2e_jget(rep, "containers");

	for (size_t i = 0; ctrs && i < json_object_array_length(ctrs); i++) {
		json_object *c = json_object_array_get_idx(ctrs, i);

		if (!strcmp(e2e_jstr(c, "id"), id))
			return c;
	}
	return NULL;
}

const char *e2e_report_cpus(json_object *rep, const char *id)
{
	json_object *c = e2e_report_container(rep, id);

	return c ? e2e_jstr(c, "cpus") : NULL;
}

int e2e_count_requests(json_object *rep, const char *method, const char *outcome)
{
	json_object *reqs = e2e_jget(rep, "requests");
	int n = 0;

	for (size_t i = 0; reqs && i < json_object_array_length(reqs); i++) {
		json_object *r = json_object_array_get_idx(reqs, i);

		if (strcmp(e2e_jstr(r, "method"), method))
			continue;
		n += !outcome || !strcmp(e2e_jstr(r, "outcome"), outcome);
	}
	return n;
}

int e2e_file_count(const char *path, const char *needle)
{
	char line[4096];
	FILE *f = fopen(path, "re");
	int n = 0;

	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f))
		n += strstr(line, needle) != NULL;
	fclose(f);
	return n;
}

struct body {
	char *p;
	size_t n;
};

static size_t on_data(char *data, size_t size, size_t nmemb, void *ud)
{
	struct body *b = ud;
	size_t len = size * nmemb;
	char *np = realloc(b->p, b->n + len + 1);

	if (!np)
		return 0;
	memcpy(np + b->n, data, len);
	b->p = np;
	b->n += len;
	b->p[b->n] = '\0';
	return len;
}

int e2e_http_get(const char *url, char **ret_body)
{
	struct body b = {};
	long status = 0;
	CURL *c = curl_easy_init();
	CURLcode rc;

	if (!c)
		return -ENOMEM;
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &b);
	curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, (long)e2e_timeout_ms(3000));
	rc = curl_easy_perform(c);
	if (rc == CURLE_OK)
		curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
	curl_easy_cleanup(c);
	if (rc != CURLE_OK) {
		free(b.p);
		return -ECONNREFUSED;
	}
	*ret_body = b.p ? b.p : strdup("");
	return (int)status;
}

double e2e_metric(const char *addr, const char *series)
{
	char url[160], *body = NULL;
	size_t n = strlen(series);
	double v = -1;

	snprintf(url, sizeof(url), "http://%s/metrics", addr);
	if (e2e_http_get(url, &body) != 200) {
		free(body);
		return -1;
	}
	for (char *line = body; line && *line;) {
		char *nl = strchr(line, '\n');

		if (!strncmp(line, series, n) && line[n] == ' ' &&
		    sscanf(line + n, " %lf", &v) == 1)
			break;
		line = nl ? nl + 1 : NULL;
	}
	free(body);
	return v;
}

int e2e_free_port(void)
{
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t len = sizeof(sa);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), port = -1;

	if (fd < 0)
		return -errno;
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0 &&
	    getsockname(fd, (struct sockaddr *)&sa, &len) == 0)
		port = ntohs(sa.sin_port);
	close(fd);
	return port;
}
