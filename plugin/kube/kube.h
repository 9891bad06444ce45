/* SPDX-License-Identifier: Apache-2.0 */
/*
 * kube: the Kubernetes Eviction API client of the closed loop (libcurl, loaded at the
 * first kube_new(); json-c).
 *
 * kube_evict() only queues: a worker thread POSTs a policy/v1 Eviction to
 * /api/v1/namespaces/{ns}/pods/{name}/eviction with the bearer token (re-read
 * for every request: projected tokens rotate) and the CA bundle, so the daemon's
 * loop never waits on the network. HTTP 429 (a PodDisruptionBudget says not now)
 * and transport errors are retried with exponential backoff up to max_attempts;
 * any other answer is final. Finished requests are collected on the loop with
 * kube_poll(); the worker never logs.
 *
 * Ownership: kube_new() copies the option strings, leaves *ret untouched on
 * failure; kube_free() is NULL-safe, stops the worker (interrupting a backoff)
 * and drops what is still queued. kube_evict() and kube_poll() are thread-safe.
 */
#pragma once

#include <stddef.h>
#include <stdint.h>

#define KUBE_NAME_MAX 254 /* DNS subdomain (253) + NUL */

struct kube_options {
	const char *server;	/* "https://host:port"; NULL/"": in-cluster from the env */
	const char *token_file; /* NULL/"": no Authorization header */
	const char *ca_file;	/* NULL/"": the system CA store */
	unsigned int timeout_ms;
	unsigned int backoff_min_ms; /* 0: 200 */
	unsigned int backoff_max_ms; /* 0: 10000 */
	unsigned int max_attempts;   /* 0: 8 */
};

struct kube_result {
	char ns[KUBE_NAME_MAX], pod[KUBE_NAME_MAX];
	int http_status; /* last answer, 0 if none */
	int error;	 /* 0, or -errno of the last transport failure */
	unsigned int attempts;
	uint64_t since_ns;	/* as given to kube_evict() (CLOCK_MONOTONIC) */
	uint64_t first_sent_ns; /* the first POST went out */
	uint64_t done_ns;
};

struct kube;

/*
 * -EINVAL without a server and outside a cluster; -ELIBACC when libcurl cannot be
 * loaded (kube_library_error() says why); -ENOMEM; -errno of the thread.
 */
int kube_new(const struct kube_options *o, struct kube **ret);
/* Why libcurl could not be loaded (a static string), "" if it was or was not tried. */
const char *kube_library_error(void);
void kube_free(struct kube *k);

/* Queue one eviction; -EINVAL for a bad name, -ENOMEM. Never blocks on the network. */
int kube_evict(struct kube *k, const char *ns, const char *pod, uint64_t since_ns);
/* Move up to max finished requests into out; returns how many. */
size_t kube_poll(struct kube *k, struct kube_result *out, size_t max);

/* The request body (malloc'd JSON text) and path; exposed for tests. */
int kube_eviction_body(const char *ns, const char *pod, char **ret);
int kube_eviction_path(const char *ns, const char *pod, char *buf, size_t size);
