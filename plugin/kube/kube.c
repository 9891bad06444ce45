/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The Eviction API client: a queue, one worker thread, libcurl easy handles.
 * One thread is enough: evictions are rate-limited to a few per minute, and a
 * request blocked in a backoff must not hold up the daemon's loop, which only
 * appends to the queue and collects results under the mutex.
 */
#define _GNU_SOURCE
#include "plugin/kube/kube.h"
#include "plugin/kube/kube_curl.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <json-c/json.h>

#define KUBE_TOKEN_MAX 16384

struct kube_req {
	struct kube_req *next;
	struct kube_result res;
};

struct kube {
	const struct kube_curl *curl;
	char *server, *token_file, *ca_file;
	unsigned int timeout_ms, backoff_min_ms, backoff_max_ms, max_attempts;
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	bool stop;
	struct kube_req *queue, *queue_tail;
	struct kube_req *done, *done_tail;
};

static uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* DNS-1123 subdomain: what a namespace or pod name can be (and safe in a URL path). */
static bool name_ok(const char *s)
{
	size_t n = s ? strlen(s) : 0;

	if (!n || n >= KUBE_NAME_MAX)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '-' ||
		      s[i] == '.'))
			return false;
	return true;
}

int kube_eviction_path(const char *ns, const char *pod, char *buf, size_t size)
{
	int n;

	if (!name_ok(ns) || !name_ok(pod))
		return -EINVAL;
	n = snprintf(buf, size, "/api/v1/namespaces/%s/pods/%s/eviction", ns, pod);
	return n < 0 || (size_t)n >= size ? -ENOSPC : n;
}

int kube_eviction_body(const char *ns, const char *pod, char **ret)
{
	json_object *o, *meta;
	char *s;

	if (!name_ok(ns) || !name_ok(pod))
		return -EINVAL;
	o = json_object_new_object();
	meta = json_object_new_object();
	if (!o || !meta) {
		json_object_put(o);
		json_object_put(meta);
		return -ENOMEM;
	}
	json_object_object_add(o, "apiVersion", json_object_new_string("policy/v1"));
	json_object_object_add(o, "kind", json_object_new_string("Eviction"));
	json_object_object_add(meta, "name", json_object_new_string(pod));
	json_object_object_add(meta, "namespace", json_object_new_string(ns));
	json_object_object_add(o, "metadata", meta);
	s = strdup(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN |
							     JSON_C_TO_STRING_NOSLASHESCAPE));
	json_object_put(o);
	if (!s)
		return -ENOMEM;
	*ret = s;
	return 0;
}

static char *in_cluster_server(void)
{
	const char *h = getenv("KUBERNETES_SERVICE_HOST"), *p = getenv("KUBERNETES_SERVICE_PORT");
	char *s;

	if (!h || !*h)
		return NULL;
	if (asprintf(&s, strchr(h, ':') ? "https://[%s]:%s" : "https://%s:%s", h,
		     p && *p ? p : "443") < 0)
		return NULL;
	return s;
}

static char *dup_opt(const char *s, bool *oom)
{
	char *d;

	if (!s || !*s)
		return NULL;
	d = strdup(s);
	if (!d)
		*oom = true;
	return d;
}

static void *worker(void *arg);

/* Backoffs are timed on CLOCK_MONOTONIC: a clock step must not stretch them. */
static void init_cond(pthread_cond_t *c)
{
	pthread_condattr_t a;

	pthread_condattr_init(&a);
	pthread_condattr_setclock(&a, CLOCK_MONOTONIC);
	pthread_cond_init(c, &a);
	pthread_condattr_destroy(&a);
}

static void kube_release(struct kube *k)
{
	free(k->server);
	free(k->token_file);
	free(k->ca_file);
	free(k);
}

int kube_new(const struct kube_options *o, struct kube **ret)
{
	struct kube *k;
	bool oom = false;
	int r;

	if (!o || !ret)
		return -EINVAL;
	if (!kube_curl_get())
		return -ELIBACC; /* kube_library_error() says which library and why */
	k = calloc(1, sizeof(*k));
	if (!k)
		return -ENOMEM;
	k->curl = kube_curl_get();
	k->server = o->server && *o->server ? dup_opt(o->server, &oom) : in_cluster_server();
	k->token_file = dup_opt(o->token_file, &oom);
	k->ca_file = dup_opt(o->ca_file, &oom);
	if (oom || !k->server) {
		kube_release(k);
		return oom ? -ENOMEM : -EINVAL;
	}
	k->timeout_ms = o->timeout_ms ? o->timeout_ms : 5000;
	k->backoff_min_ms = o->backoff_min_ms ? o->backoff_min_ms : 200;
	k->backoff_max_ms = o->backoff_max_ms ? o->backoff_max_ms : 10000;
	k->max_attempts = o->max_attempts ? o->max_attempts : 8;
	pthread_mutex_init(&k->lock, NULL);
	init_cond(&k->cond);
	r = -pthread_create(&k->thread, NULL, worker, k);
	if (r < 0) {
		pthread_cond_destroy(&k->cond);
		pthread_mutex_destroy(&k->lock);
		kube_release(k);
		return r;
	}
	*ret = k;
	return 0;
}

const char *kube_library_error(void)
{
	return kube_curl_error();
}

static void free_list(struct kube_req *q)
{
	while (q) {
		struct kube_req *n = q->next;

		free(q);
		q = n;
	}
}

void kube_free(struct kube *k)
{
	if (!k)
		return;
	pthread_mutex_lock(&k->lock);
	k->stop = true;
	pthread_cond_broadcast(&k->cond);
	pthread_mutex_unlock(&k->lock);
	pthread_join(k->thread, NULL);
	free_list(k->queue);
	free_list(k->done);
	pthread_cond_destroy(&k->cond);
	pthread_mutex_destroy(&k->lock);
	kube_release(k);
}

int kube_evict(struct kube *k, const char *ns, const char *pod, uint64_t since_ns)
{
	struct kube_req *q;

	if (!k || !name_ok(ns) || !name_ok(pod))
		return -EINVAL;
	q = calloc(1, sizeof(*q));
	if (!q)
		return -ENOMEM;
	strcpy(q->res.ns, ns);
	strcpy(q->res.pod, pod);
	q->res.since_ns = since_ns;
	pthread_mutex_lock(&k->lock);
	if (k->queue_tail)
		k->queue_tail->next = q;
	else
		k->queue = q;
	k->queue_tail = q;
	pthread_cond_signal(&k->cond);
	pthread_mutex_unlock(&k->lock);
	return 0;
}

size_t kube_poll(struct kube *k, struct kube_result *out, size_t max)
{
	size_t n = 0;

	if (!k)
		return 0;
	pthread_mutex_lock(&k->lock);
	while (n < max && k->done) {
		struct kube_req *q = k->done;

		k->done = q->next;
		if (!k->done)
			k->done_tail = NULL;
		out[n++] = q->res;
		free(q);
	}
	pthread_mutex_unlock(&k->lock);
	return n;
}

/* The token file's first line, or NULL (no header) when unset or unreadable. */
static char *read_token(const char *path)
{
	char *t;
	ssize_t n;
	int fd;

	if (!path)
		return NULL;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return NULL;
	t = malloc(KUBE_TOKEN_MAX);
	n = t ? read(fd, t, KUBE_TOKEN_MAX - 1) : -1;
	close(fd);
	if (n <= 0) {
		free(t);
		return NULL;
	}
	t[n] = '\0';
	t[strcspn(t, "\r\n")] = '\0';
	return t;
}

static size_t discard(char *p, size_t sz, size_t n, void *ud)
{
	(void)p;
	(void)ud;
	return sz * n;
}

static struct curl_slist *headers(const struct kube_curl *cu, const char *token)
{
	struct curl_slist *h = cu->slist_append(NULL, "Content-Type: application/json");
	char *auth;

	if (h && token && asprintf(&auth, "Authorization: Bearer %s", token) >= 0) {
		struct curl_slist *h2 = cu->slist_append(h, auth);

		free(auth);
		if (!h2) {
			cu->slist_free_all(h);
			return NULL;
		}
		h = h2;
	}
	return h;
}

/* One POST; the HTTP status (> 0) or -errno. */
static int post_once(struct kube *k, const struct kube_result *res)
{
	char path[2 * KUBE_NAME_MAX + 64], *url = NULL, *body = NULL, *token;
	const struct kube_curl *cu = k->curl;
	struct curl_slist *h = NULL;
	long status = 0;
	CURL *c = NULL;
	int r = kube_eviction_path(res->ns, res->pod, path, sizeof(path));

	if (r >= 0)
		r = kube_eviction_body(res->ns, res->pod, &body);
	if (r >= 0 && asprintf(&url, "%s%s", k->server, path) < 0)
		r = -ENOMEM;
	token = r >= 0 ? read_token(k->token_file) : NULL;
	if (r >= 0 && (!(h = headers(cu, token)) || !(c = cu->easy_init())))
		r = -ENOMEM;
	if (r >= 0) {
		cu->easy_setopt(c, CURLOPT_URL, url);
		cu->easy_setopt(c, CURLOPT_POSTFIELDS, body);
		cu->easy_setopt(c, CURLOPT_HTTPHEADER, h);
		cu->easy_setopt(c, CURLOPT_TIMEOUT_MS, (long)k->timeout_ms);
		cu->easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
		cu->easy_setopt(c, CURLOPT_WRITEFUNCTION, discard);
		if (k->ca_file)
			cu->easy_setopt(c, CURLOPT_CAINFO, k->ca_file);
		if (cu->easy_perform(c) != CURLE_OK)
			r = -EIO;
		else if (cu->easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status) != CURLE_OK)
			r = -EIO;
		else
			r = (int)status;
	}
	if (c)
		cu->easy_cleanup(c);
	cu->slist_free_all(h);
	free(token);
	free(url);
	free(body);
	return r;
}

/* Sleep ms unless stopped; returns false once kube_free() asked to stop. Locked. */
static bool backoff_wait(struct kube *k, unsigned int ms)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	ts.tv_sec += ms / 1000;
	ts.tv_nsec += (long)(ms % 1000) * 1000000;
	if (ts.tv_nsec >= 1000000000) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000;
	}
	while (!k->stop && pthread_cond_timedwait(&k->cond, &k->lock, &ts) != ETIMEDOUT)
		;
	return !k->stop;
}

static bool retryable(int r)
{
	return r < 0 || r == 429 || r >= 500;
}

/* Runs one request to its end; called and returns with the lock held. */
static void run_request(struct kube *k, struct kube_req *q)
{
	unsigned int delay = k->backoff_min_ms;
	int r;

	for (;;) {
		pthread_mutex_unlock(&k->lock);
		if (!q->res.first_sent_ns)
			q->res.first_sent_ns = mono_ns();
		r = post_once(k, &q->res);
		pthread_mutex_lock(&k->lock);
		q->res.attempts++;
		q->res.http_status = r > 0 ? r : q->res.http_status;
		q->res.error = r < 0 ? r : 0;
		if (!retryable(r) || q->res.attempts >= k->max_attempts)
			break;
		if (!backoff_wait(k, delay))
			break;
		delay = delay * 2 < k->backoff_max_ms ? delay * 2 : k->backoff_max_ms;
	}
	q->res.done_ns = mono_ns();
}

static void *worker(void *arg)
{
	struct kube *k = arg;

	pthread_mutex_lock(&k->lock);
	while (!k->stop) {
		struct kube_req *q = k->queue;

		if (!q) {
			pthread_cond_wait(&k->cond, &k->lock);
			continue;
		}
		k->queue = q->next;
		if (!k->queue)
			k->queue_tail = NULL;
		q->next = NULL;
		run_request(k, q);
		if (k->done_tail)
			k->done_tail->next = q;
		else
			k->done = q;
		k->done_tail = q;
	}
	pthread_mutex_unlock(&k->lock);
	return NULL;
}
