/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A tiny Kubernetes API stand-in for tests: HTTPS on 127.0.0.1 (libmicrohttpd +
 * GnuTLS) with a self-signed certificate made at test time with the openssl CLI,
 * answering POST .../pods/NAME/eviction: 401 without the expected bearer token,
 * then `refuse` times 429 (a PodDisruptionBudget), then 201.
 *
 * Header-only (static functions) so a unit test and an integration test can both
 * include it without a Makefile change. kube_server_start() returns 0 or -errno
 * and fills ks; kube_server_stop() releases everything (NULL-safe fields).
 */
#pragma once

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <microhttpd.h>

#define KUBE_SERVER_MAX_REQ 32

struct kube_server_req {
	uint64_t at_ns; /* CLOCK_MONOTONIC */
	int status;
	bool token_ok;
	char path[256];
	char body[512];
};

struct kube_server {
	struct MHD_Daemon *mhd;
	int port;
	char ca_file[256]; /* the self-signed certificate, as the client's CA */
	char url[64];	   /* https://127.0.0.1:PORT */
	const char *token;
	unsigned int refuse; /* answer 429 this many times first */
	pthread_mutex_t lock;
	unsigned int n;
	struct kube_server_req req[KUBE_SERVER_MAX_REQ];
	char *cert, *key;
};

struct kube_server_conn {
	char body[512];
	size_t len;
};

static inline uint64_t kube_server_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static inline char *kube_server_slurp(const char *path)
{
	FILE *f = fopen(path, "re");
	char *buf = f ? calloc(1, 65536) : NULL;

	if (buf && fread(buf, 1, 65535, f) == 0) {
		free(buf);
		buf = NULL;
	}
	if (f)
		fclose(f);
	return buf;
}

/* Self-signed certificate for 127.0.0.1 in dir: dir/ca.pem (cert) and dir/key.pem. */
static inline int kube_server_make_cert(const char *dir)
{
	char cmd[1024];

	snprintf(cmd, sizeof(cmd),
		 "openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=127.0.0.1 "
		 "-addext subjectAltName=IP:127.0.0.1 -keyout %s/key.pem -out %s/ca.pem "
		 ">/dev/null 2>&1",
		 dir, dir);
	return system(cmd) == 0 ? 0 : -EIO;
}

static inline enum MHD_Result kube_server_answer(struct kube_server *ks, struct MHD_Connection *c,
						 const char *url, struct kube_server_conn *cc)
{
	const char *auth = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Authorization");
	char want[512];
	struct kube_server_req *r;
	struct MHD_Response *resp;
	const char *text;
	enum MHD_Result ret;
	int status;

	snprintf(want, sizeof(want), "Bearer %s", ks->token);
	pthread_mutex_lock(&ks->lock);
	r = ks->n < KUBE_SERVER_MAX_REQ ? &ks->req[ks->n] : NULL;
	bool ok = auth && !strcmp(auth, want);
	bool evict = strstr(url, "/eviction") != NULL;
	status = !ok ? 401 : !evict ? 404 : ks->refuse ? 429 : 201;
	if (status == 429)
		ks->refuse--;
	if (r) {
		r->at_ns = kube_server_now();
		r->status = status;
		r->token_ok = ok;
		snprintf(r->path, sizeof(r->path), "%s", url);
		snprintf(r->body, sizeof(r->body), "%.*s", (int)cc->len, cc->body);
		ks->n++;
	}
	pthread_mutex_unlock(&ks->lock);
	text = status == 201 ? "{\"kind\":\"Status\",\"status\":\"Success\"}"
			     : "{\"kind\":\"Status\",\"status\":\"Failure\"}";
	resp = MHD_create_response_from_buffer(strlen(text), (void *)text, MHD_RESPMEM_PERSISTENT);
	if (!resp)
		return MHD_NO;
	ret = MHD_queue_response(c, (unsigned int)status, resp);
	MHD_destroy_response(resp);
	return ret;
}

static inline enum MHD_Result kube_server_handler(void *cls, struct MHD_Connection *c,
						  const char *url, const char *method,
						  const char *version, const char *data,
						  size_t *data_size, void **con_cls)
{
	struct kube_server_conn *cc = *con_cls;

	(void)version;
	(void)method;
	if (!cc) {
		cc = calloc(1, sizeof(*cc));
		if (!cc)
			return MHD_NO;
		*con_cls = cc;
		return MHD_YES;
	}
	if (*data_size) {
		size_t room = sizeof(cc->body) - 1 - cc->len,
		       n = *data_size < room ? *data_size : room;

		memcpy(cc->body + cc->len, data, n);
		cc->len += n;
		*data_size = 0;
		return MHD_YES;
	}
	return kube_server_answer(cls, c, url, cc);
}

static inline void kube_server_done(void *cls, struct MHD_Connection *c, void **con_cls,
				    enum MHD_RequestTerminationCode toe)
{
	(void)cls;
	(void)c;
	(void)toe;
	free(*con_cls);
	*con_cls = NULL;
}

/* 1: this libmicrohttpd cannot do TLS (the caller skips). */
static inline int kube_server_start(struct kube_server *ks, const char *dir, const char *token,
				    unsigned int refuse)
{
	const union MHD_DaemonInfo *info;
	char p[256];

	if (MHD_is_feature_supported(MHD_FEATURE_TLS) != MHD_YES)
		return 1;
	memset(ks, 0, sizeof(*ks));
	pthread_mutex_init(&ks->lock, NULL);
	ks->token = token;
	ks->refuse = refuse;
	if (kube_server_make_cert(dir) < 0)
		return -EIO;
	snprintf(ks->ca_file, sizeof(ks->ca_file), "%s/ca.pem", dir);
	snprintf(p, sizeof(p), "%s/key.pem", dir);
	ks->cert = kube_server_slurp(ks->ca_file);
	ks->key = kube_server_slurp(p);
	if (!ks->cert || !ks->key)
		return -EIO;
	ks->mhd = MHD_start_daemon(
		MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_TLS | MHD_USE_ERROR_LOG, 0, NULL, NULL,
		kube_server_handler, ks, MHD_OPTION_HTTPS_MEM_KEY, ks->key,
		MHD_OPTION_HTTPS_MEM_CERT, ks->cert, MHD_OPTION_NOTIFY_COMPLETED, kube_server_done,
		NULL, MHD_OPTION_END);
	if (!ks->mhd)
		return -EIO;
	info = MHD_get_daemon_info(ks->mhd, MHD_DAEMON_INFO_BIND_PORT);
	ks->port = info ? info->port : 0;
	snprintf(ks->url, sizeof(ks->url), "https://127.0.0.1:%d", ks->port);
	return ks->port ? 0 : -EIO;
}

static inline void kube_server_stop(struct kube_server *ks)
{
	if (ks->mhd)
		MHD_stop_daemon(ks->mhd);
	ks->mhd = NULL;
	free(ks->cert);
	free(ks->key);
	ks->cert = ks->key = NULL;
	pthread_mutex_destroy(&ks->lock);
}

/* Requests seen so far (copied under the lock). */
static inline unsigned int kube_server_requests(struct kube_server *ks, struct kube_server_req *out)
{
	unsigned int n;

	pthread_mutex_lock(&ks->lock);
	n = ks->n;
	memcpy(out, ks->req, n * sizeof(*out));
	pthread_mutex_unlock(&ks->lock);
	return n;
}
