/* SPDX-License-Identifier: Apache-2.0 */
/* libcurl by dlopen; see kube_curl.h. */
#include "plugin/kube/kube_curl.h"

#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>

static struct kube_curl curl;
static const struct kube_curl *loaded;
static char why[256];
static pthread_once_t once = PTHREAD_ONCE_INIT;

#define SYM(field, name)                    \
	{                                   \
#name, (void **)&curl.field \
	}

static void load(void)
{
	const struct {
		const char *name;
		void **slot;
	} syms[] = {
		SYM(global_init, curl_global_init),	  SYM(slist_append, curl_slist_append),
		SYM(slist_free_all, curl_slist_free_all), SYM(easy_init, curl_easy_init),
		SYM(easy_setopt, curl_easy_setopt),	  SYM(easy_perform, curl_easy_perform),
		SYM(easy_getinfo, curl_easy_getinfo),	  SYM(easy_cleanup, curl_easy_cleanup),
	};
	void *h = dlopen(KUBE_CURL_SONAME, RTLD_NOW | RTLD_LOCAL);

	if (!h) {
		snprintf(why, sizeof(why), "cannot load %s (install libcurl4): %s",
			 KUBE_CURL_SONAME, dlerror());
		return;
	}
	for (size_t i = 0; i < sizeof(syms) / sizeof(syms[0]); i++) {
		*syms[i].slot = dlsym(h, syms[i].name);
		if (!*syms[i].slot) {
			snprintf(why, sizeof(why), "%s has no %s", KUBE_CURL_SONAME, syms[i].name);
			dlclose(h);
			return;
		}
	}
	curl.global_init(CURL_GLOBAL_DEFAULT);
	loaded = &curl;
}

const struct kube_curl *kube_curl_get(void)
{
	pthread_once(&once, load);
	return loaded;
}

const char *kube_curl_error(void)
{
	return why; /* "" until a load failed */
}
