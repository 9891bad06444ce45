/* SPDX-License-Identifier: Apache-2.0 */
/*
 * libcurl, loaded when the first Kubernetes client is made (kube_new()), not linked:
 * only nodes with kubernetes.enabled need it, and with it its TLS stack (OpenSSL,
 * Kerberos, LDAP, SSH: about 3 MiB of resident shared libraries, issue #17).
 *
 * kube_curl_get() opens KUBE_CURL_SONAME once (thread-safe) and returns the table of
 * the functions the client uses, or NULL; kube_curl_error() then says why. The table
 * lives until the process exits (the library is never closed).
 */
#pragma once

#include <curl/curl.h>

#define KUBE_CURL_SONAME "libcurl.so.4" /* Debian: libcurl4 */

struct kube_curl {
	CURLcode (*global_init)(long flags);
	struct curl_slist *(*slist_append)(struct curl_slist *l, const char *s);
	void (*slist_free_all)(struct curl_slist *l);
	CURL *(*easy_init)(void);
	CURLcode (*easy_setopt)(CURL *c, CURLoption opt, ...);
	CURLcode (*easy_perform)(CURL *c);
	CURLcode (*easy_getinfo)(CURL *c, CURLINFO info, ...);
	void (*easy_cleanup)(CURL *c);
};

const struct kube_curl *kube_curl_get(void);
const char *kube_curl_error(void);
