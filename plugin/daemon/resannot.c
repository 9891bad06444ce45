/* SPDX-License-Identifier: Apache-2.0 */
/* The noderesource.dev/resources annotation (plugin/daemon/resannot.h). */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <json-c/json.h>

#include "plugin/daemon/resannot.h"

#define QTY_DIGITS_MAX 30 /* significant digits: 10^30 fits an unsigned __int128 */
#define QTY_EXP_MAX    60 /* |decimal exponent| */

typedef unsigned __int128 u128;

static void say(char *err, size_t len, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static void say(char *err, size_t len, const char *fmt, ...)
{
	va_list ap;

	if (!err || !len)
		return;
	va_start(ap, fmt);
	vsnprintf(err, len, fmt, ap);
	va_end(ap);
}

bool resannot_res_any(const struct resannot_res *r)
{
	return r->request_mcpu > 0 || r->limit_mcpu > 0 || r->mem_limit > 0;
}

/* Decimal digits of s[*i..] into *m (x10 each), *n counts them; -ERANGE past the bound. */
static int qty_digits(const char *s, size_t *i, u128 *m, int *n, int *frac)
{
	for (; s[*i] >= '0' && s[*i] <= '9'; (*i)++) {
		if (*n == 0 && s[*i] == '0' && !frac) /* leading zeros of the integer part */
			continue;
		if (*n >= QTY_DIGITS_MAX)
			return -ERANGE;
		*m = *m * 10 + (u128)(s[*i] - '0');
		if (*m)
			(*n)++;
		if (frac)
			(*frac)--;
	}
	return 0;
}

struct qty_suffix {
	const char *name;
	int exp10;
	unsigned int exp2;
};

static const struct qty_suffix qty_suffixes[] = {
	{"Ki", 0, 10}, {"Mi", 0, 20}, {"Gi", 0, 30}, {"Ti", 0, 40}, {"Pi", 0, 50}, {"Ei", 0, 60},
	{"n", -9, 0},  {"u", -6, 0},  {"m", -3, 0},  {"k", 3, 0},   {"M", 6, 0},   {"G", 9, 0},
	{"T", 12, 0},  {"P", 15, 0},  {"E", 18, 0},  {"", 0, 0},
};

/* The suffix at s: a binary or decimal SI one, or an exponent (e3, E-2). */
static int qty_suffix(const char *s, int *exp10, unsigned int *exp2)
{
	long e = 0;
	int sign = 1;

	if ((s[0] == 'e' || s[0] == 'E') && s[1] != '\0' && s[1] != 'i') {
		s++;
		if (*s == '+' || *s == '-')
			sign = *s++ == '-' ? -1 : 1;
		if (*s < '0' || *s > '9')
			return -EINVAL;
		for (; *s >= '0' && *s <= '9'; s++)
			if ((e = e * 10 + (*s - '0')) > QTY_EXP_MAX)
				return -ERANGE;
		if (*s)
			return -EINVAL;
		*exp10 = (int)(sign * e);
		*exp2 = 0;
		return 0;
	}
	for (size_t i = 0; i < sizeof(qty_suffixes) / sizeof(qty_suffixes[0]); i++) {
		if (!strcmp(s, qty_suffixes[i].name)) {
			*exp10 = qty_suffixes[i].exp10;
			*exp2 = qty_suffixes[i].exp2;
			return 0;
		}
	}
	return -EINVAL;
}

/* m * 10^e10 * 2^e2, rounded up, into an int64. */
static int qty_scale(u128 m, int e10, unsigned int e2, int64_t *ret)
{
	const u128 max = (u128)INT64_MAX, top = ~(u128)0;
	u128 div = 1;

	if (m > top >> e2)
		return -ERANGE;
	m <<= e2;
	for (; e10 > 0; e10--) {
		if (m > top / 10)
			return -ERANGE;
		m *= 10;
	}
	for (; e10 < 0 && div <= top / 10; e10++)
		div *= 10;
	if (e10 < 0) /* below any unit: a positive value rounds up to 1 */
		m = m ? 1 : 0;
	else
		m = (m + div - 1) / div;
	if (m > max)
		return -ERANGE;
	*ret = (int64_t)m;
	return 0;
}

int resannot_quantity(const char *s, int scale, int64_t *ret)
{
	size_t i = 0;
	u128 m = 0;
	int n = 0, frac = 0, e10, r;
	unsigned int e2;
	bool digits;

	if (!s || !ret)
		return -EINVAL;
	if (s[0] == '+')
		i++;
	r = qty_digits(s, &i, &m, &n, NULL);
	digits = i > (s[0] == '+');
	if (r == 0 && s[i] == '.') {
		size_t start = ++i;

		r = qty_digits(s, &i, &m, &n, &frac);
		digits = digits || i > start;
	}
	if (r < 0)
		return r;
	if (!digits)
		return -EINVAL;
	r = qty_suffix(s + i, &e10, &e2);
	if (r < 0)
		return r;
	return qty_scale(m, e10 + frac + scale, e2, ret);
}

/* One quantity of a requests/limits object ("cpu" or "memory"); absent: 0. */
static int req_quantity(json_object *list, const char *res, int scale, int64_t *ret,
			const char *where, char *err, size_t errlen)
{
	json_object *v;
	int r;

	*ret = 0;
	if (!list || !json_object_object_get_ex(list, res, &v) || !v)
		return 0;
	if (json_object_is_type(v, json_type_int) && json_object_get_int64(v) >= 0) {
		char buf[32];

		snprintf(buf, sizeof(buf), "%lld", (long long)json_object_get_int64(v));
		r = resannot_quantity(buf, scale, ret);
	} else if (json_object_is_type(v, json_type_string)) {
		r = resannot_quantity(json_object_get_string(v), scale, ret);
	} else {
		r = -EINVAL;
	}
	if (r < 0)
		say(err, errlen, "%s.%s: %s quantity %.64s", where, res,
		    r == -ERANGE ? "out of range" : "bad", json_object_to_json_string(v));
	return r;
}

/* requests or limits of a container entry: NULL when absent or null; -EINVAL otherwise. */
static int req_list(json_object *entry, const char *key, json_object **ret, const char *where,
		    char *err, size_t errlen)
{
	json_object *v = NULL;

	*ret = NULL;
	if (!json_object_object_get_ex(entry, key, &v) || !v)
		return 0;
	if (!json_object_is_type(v, json_type_object)) {
		say(err, errlen, "%s.%s: not an object", where, key);
		return -EINVAL;
	}
	*ret = v;
	return 0;
}

/* One container entry (a ResourceRequirements) into *ret. */
static int container_res(json_object *entry, const char *where, struct resannot_res *ret, char *err,
			 size_t errlen)
{
	json_object *req, *lim;
	int64_t mem_request;
	int r;

	memset(ret, 0, sizeof(*ret));
	if (!entry)
		return 0;
	if (!json_object_is_type(entry, json_type_object)) {
		say(err, errlen, "%s: not an object", where);
		return -EINVAL;
	}
	r = req_list(entry, "requests", &req, where, err, errlen);
	r = r ?: req_list(entry, "limits", &lim, where, err, errlen);
	r = r ?: req_quantity(req, "cpu", 3, &ret->request_mcpu, where, err, errlen);
	r = r ?: req_quantity(lim, "cpu", 3, &ret->limit_mcpu, where, err, errlen);
	r = r ?: req_quantity(lim, "memory", 0, &ret->mem_limit, where, err, errlen);
	r = r ?: req_quantity(req, "memory", 0, &mem_request, where, err, errlen);
	if (r < 0)
		return r;
	if (!ret->request_mcpu) /* the API server's defaulting: request = limit */
		ret->request_mcpu = ret->limit_mcpu;
	return 0;
}

static int64_t sat_add(int64_t a, int64_t b)
{
	return a > INT64_MAX - b ? INT64_MAX : a + b;
}

static int64_t max64(int64_t a, int64_t b)
{
	return a > b ? a : b;
}

/* res into the pod's totals: summed for a regular container, the largest for an init one. */
static void resannot_add(struct resannot *a, const struct resannot_res *res, bool init)
{
	struct resannot_res *t = init ? &a->init_max : &a->sum;

	if (init) {
		t->request_mcpu = max64(t->request_mcpu, res->request_mcpu);
		t->limit_mcpu = max64(t->limit_mcpu, res->limit_mcpu);
		t->mem_limit = max64(t->mem_limit, res->mem_limit);
		return;
	}
	a->n_containers++;
	a->n_without += !resannot_res_any(res);
	t->request_mcpu = sat_add(t->request_mcpu, res->request_mcpu);
	t->limit_mcpu = sat_add(t->limit_mcpu, res->limit_mcpu);
	t->mem_limit = sat_add(t->mem_limit, res->mem_limit);
}

/* Every entry of the containers (init false) or initContainers map. */
static int containers_walk(json_object *map, bool init, const char *name, struct resannot *a,
			   char *err, size_t errlen)
{
	const char *kind = init ? "initContainers" : "containers";
	struct resannot_res res;
	char where[96];
	int r;

	if (!map)
		return 0;
	if (!json_object_is_type(map, json_type_object)) {
		say(err, errlen, "%s: not an object", kind);
		return -EINVAL;
	}
	json_object_object_foreach(map, key, entry)
	{
		snprintf(where, sizeof(where), "%s.%.64s", kind, key);
		r = container_res(entry, where, &res, err, errlen);
		if (r < 0)
			return r;
		/* A regular container's name wins over an init container's. */
		if (name && !strcmp(key, name) && !a->found) {
			a->found = true;
			a->init = init;
			a->self = res;
		}
		resannot_add(a, &res, init);
	}
	return 0;
}

static int resannot_walk(json_object *root, const char *name, struct resannot *a, char *err,
			 size_t errlen)
{
	json_object *ctrs = NULL, *inits = NULL;
	int r;

	if (!json_object_is_type(root, json_type_object)) {
		say(err, errlen, "not a JSON object");
		return -EINVAL;
	}
	json_object_object_get_ex(root, "containers", &ctrs);
	json_object_object_get_ex(root, "initContainers", &inits);
	r = containers_walk(ctrs, false, name, a, err, errlen);
	return r ?: containers_walk(inits, true, name, a, err, errlen);
}

int resannot_parse(const char *value, const char *name, struct resannot *ret, char *err,
		   size_t errlen)
{
	struct resannot a = {0};
	struct json_tokener *tok;
	json_object *root;
	size_t len;
	int r;

	if (!value || !ret)
		return -EINVAL;
	len = strnlen(value, RESANNOT_MAX + 1);
	if (len > RESANNOT_MAX) {
		say(err, errlen, "longer than %d bytes", RESANNOT_MAX);
		return -E2BIG;
	}
	tok = json_tokener_new_ex(RESANNOT_DEPTH);
	if (!tok)
		return -ENOMEM;
	root = json_tokener_parse_ex(tok, value, (int)len);
	if (!root || json_tokener_get_error(tok) != json_tokener_success ||
	    value[json_tokener_get_parse_end(tok) +
		  strspn(value + json_tokener_get_parse_end(tok), " \t\r\n")] != '\0') {
		say(err, errlen, "not JSON (%s at byte %zu)",
		    json_tokener_error_desc(json_tokener_get_error(tok)),
		    json_tokener_get_parse_end(tok));
		json_object_put(root);
		json_tokener_free(tok);
		return -EINVAL;
	}
	json_tokener_free(tok);
	r = resannot_walk(root, name, &a, err, errlen);
	json_object_put(root);
	if (r < 0)
		return r;
	*ret = a;
	return 0;
}
