/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Who the plugin is and how it connects (doc §1.3, §9): name/index from the options,
 * the environment or an "NN-name" executable; the pre-connected socket from the
 * options or NRI_PLUGIN_SOCKET; the event mask from the handlers present. Also the
 * read-only state accessors of stub.h.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "plugin/nri/stub_priv.h"

static bool idx_valid(const char *idx)
{
	return idx && strlen(idx) == 2 && idx[0] >= '0' && idx[0] <= '9' && idx[1] >= '0' &&
	       idx[1] <= '9';
}

static bool name_valid(const char *name)
{
	if (!name || !*name)
		return false;
	for (const char *p = name; *p; p++) {
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		      (*p >= '0' && *p <= '9') || strchr("_.+-", *p)))
			return false;
	}
	return true;
}

static const char *env_or_null(const char *key)
{
	const char *v = getenv(key);

	return v && *v ? v : NULL;
}

/* doc §9: options, then the environment, then an "NN-name" executable name. */
int stub_identity_resolve(const struct nri_stub_options *o, char **ret_name, char **ret_idx)
{
	const char *exe = program_invocation_short_name;
	const char *idx = o->idx ? o->idx : env_or_null("NRI_PLUGIN_IDX");
	const char *name = o->name ? o->name : env_or_null("NRI_PLUGIN_NAME");
	char exe_idx[3] = "";
	char *n, *i;

	if (!idx) {
		if (!exe || strlen(exe) < 4 || exe[2] != '-')
			return -EINVAL;
		memcpy(exe_idx, exe, 2);
		idx = exe_idx;
		if (!name)
			name = exe + 3;
	}
	if (!name)
		name = exe;
	if (!idx_valid(idx) || !name_valid(name))
		return -EINVAL;
	n = strdup(name);
	i = strdup(idx);
	if (!n || !i) {
		free(n);
		free(i);
		return -ENOMEM;
	}
	*ret_name = n;
	*ret_idx = i;
	return 0;
}

uint32_t stub_detect_events(const struct nri_stub_handlers *h)
{
	const struct {
		bool present;
		int ev;
	} map[] = {
		{h->run_pod_sandbox, NRI_EV_RUN_POD_SANDBOX},
		{h->stop_pod_sandbox, NRI_EV_STOP_POD_SANDBOX},
		{h->remove_pod_sandbox, NRI_EV_REMOVE_POD_SANDBOX},
		{h->create_container, NRI_EV_CREATE_CONTAINER},
		{h->post_create_container, NRI_EV_POST_CREATE_CONTAINER},
		{h->start_container, NRI_EV_START_CONTAINER},
		{h->post_start_container, NRI_EV_POST_START_CONTAINER},
		{h->update_container, NRI_EV_UPDATE_CONTAINER},
		{h->post_update_container, NRI_EV_POST_UPDATE_CONTAINER},
		{h->stop_container, NRI_EV_STOP_CONTAINER},
		{h->remove_container, NRI_EV_REMOVE_CONTAINER},
		{h->update_pod_sandbox, NRI_EV_UPDATE_POD_SANDBOX},
		{h->post_update_pod_sandbox, NRI_EV_POST_UPDATE_POD_SANDBOX},
	};
	uint32_t mask = 0;

	for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++) {
		if (map[i].present)
			mask |= NRI_EV_BIT(map[i].ev);
	}
	return mask;
}

/* -1: dial; >= 0: the pre-connected socket (options.fd, else $NRI_PLUGIN_SOCKET). */
int stub_connection_fd(const struct nri_stub_options *o, int *ret_fd)
{
	const char *env = env_or_null("NRI_PLUGIN_SOCKET");
	char *end;
	long v;

	*ret_fd = o->fd;
	if (o->fd >= 0 || !env)
		return 0;
	errno = 0;
	v = strtol(env, &end, 10);
	if (errno || *end || v < 0 || v > INT_MAX)
		return -EINVAL;
	*ret_fd = (int)v;
	return 0;
}

bool nri_stub_is_connected(const struct nri_stub *s)
{
	return s && s->trunk && s->configured;
}

const char *nri_stub_name(const struct nri_stub *s)
{
	return s ? s->name : NULL;
}

const char *nri_stub_idx(const struct nri_stub *s)
{
	return s ? s->idx : NULL;
}

const char *nri_stub_runtime_name(const struct nri_stub *s)
{
	return s ? s->runtime_name : NULL;
}

const char *nri_stub_runtime_version(const struct nri_stub *s)
{
	return s ? s->runtime_version : NULL;
}

bool nri_stub_expects_synchronize(const struct nri_stub *s)
{
	return s && (!s->prelaunched || nri_version_syncs_prelaunched(s->nri_version));
}

const char *nri_stub_nri_version(const struct nri_stub *s)
{
	return s ? s->nri_version : NULL;
}

uint32_t nri_stub_events(const struct nri_stub *s)
{
	return s ? s->events : 0;
}

unsigned int nri_stub_request_timeout_ms(const struct nri_stub *s)
{
	return s ? s->request_timeout_ms : 0;
}

unsigned int nri_stub_registration_timeout_ms(const struct nri_stub *s)
{
	return s ? s->registration_timeout_ms : 0;
}

uint64_t nri_stub_reconnects(const struct nri_stub *s)
{
	return s ? s->reconnects : 0;
}

size_t nri_stub_updates_pending(const struct nri_stub *s)
{
	return s ? s->n_queue + s->n_inflight : 0;
}
