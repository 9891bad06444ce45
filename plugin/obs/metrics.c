/* SPDX-License-Identifier: Apache-2.0 */
/* The registry and its text rendering. topoguard's own families: metrics_tg.c. */
#define _GNU_SOURCE
#include "plugin/obs/metrics.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "plugin/obs/metrics_priv.h"

#define HIST_BUCKETS_MAX 32

struct series {
	uint64_t hash;	     /* of its first n_key label values */
	size_t pos;	     /* in family->series */
	struct series *next; /* in its index bucket */
	char *values[METRICS_LABELS_MAX];
	double value; /* counter / gauge; histogram: sum */
	uint64_t count;
	uint64_t *buckets; /* histogram: per-bucket (not cumulative) counts */
};

struct metrics_family {
	struct metrics *reg;
	enum metrics_type type;
	char *name, *help;
	char *labels[METRICS_LABELS_MAX];
	size_t n_labels;
	double bounds[HIST_BUCKETS_MAX];
	size_t n_bounds;
	struct series **series;
	size_t n_series, cap_series;
	/* chained index by the first n_key label values: thousands of containers'
	 * series are looked up, and replaced by identity, every second */
	struct series **index;
	size_t index_cap; /* power of two, >= n_series; 0 = none yet */
	size_t n_key;	  /* labels that identify a series (default: all) */
};

static bool is_name(const char *s, bool colon)
{
	if (!s || !*s || (*s >= '0' && *s <= '9'))
		return false;
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
		      (*s >= '0' && *s <= '9') || *s == '_' || (colon && *s == ':')))
			return false;
	return true;
}

static void series_free(struct series *s)
{
	if (!s)
		return;
	for (size_t i = 0; i < METRICS_LABELS_MAX; i++)
		free(s->values[i]);
	free(s->buckets);
	free(s);
}

static void family_free(struct metrics_family *f)
{
	if (!f)
		return;
	for (size_t i = 0; i < f->n_series; i++)
		series_free(f->series[i]);
	free(f->series);
	free(f->index);
	for (size_t i = 0; i < f->n_labels; i++)
		free(f->labels[i]);
	free(f->name);
	free(f->help);
	free(f);
}

int metrics_registry_init(struct metrics *m)
{
	memset(m, 0, sizeof(*m));
	return -pthread_mutex_init(&m->lock, NULL);
}

void metrics_registry_done(struct metrics *m)
{
	for (size_t i = 0; i < m->n_families; i++)
		family_free(m->families[i]);
	free(m->families);
	pthread_mutex_destroy(&m->lock);
}

static int family_check(enum metrics_type type, const char *name, const char *const *labels,
			size_t n_labels, const double *buckets, size_t n_buckets)
{
	if (!is_name(name, true) || n_labels > METRICS_LABELS_MAX || n_buckets > HIST_BUCKETS_MAX)
		return -EINVAL;
	for (size_t i = 0; i < n_labels; i++)
		if (!is_name(labels[i], false) || !strncmp(labels[i], "__", 2) ||
		    (type == METRICS_HISTOGRAM && !strcmp(labels[i], "le")))
			return -EINVAL;
	for (size_t i = 0; i < n_buckets; i++)
		if (isnan(buckets[i]) || (i > 0 && buckets[i] <= buckets[i - 1]))
			return -EINVAL;
	return 0;
}

static int family_alloc(enum metrics_type type, const char *name, const char *help,
			const char *const *labels, size_t n_labels, const double *buckets,
			size_t n_buckets, struct metrics_family **ret)
{
	struct metrics_family *f = calloc(1, sizeof(*f));

	if (!f)
		return -ENOMEM;
	f->type = type;
	f->name = strdup(name);
	f->help = strdup(help ? help : "");
	for (size_t i = 0; i < n_labels; i++) {
		f->labels[i] = strdup(labels[i]);
		f->n_labels++;
		if (!f->labels[i]) {
			family_free(f);
			return -ENOMEM;
		}
	}
	if (!f->name || !f->help) {
		family_free(f);
		return -ENOMEM;
	}
	if (n_buckets)
		memcpy(f->bounds, buckets, n_buckets * sizeof(*buckets));
	f->n_bounds = n_buckets;
	f->n_key = n_labels;
	*ret = f;
	return 0;
}

static int registry_add(struct metrics *m, struct metrics_family *f)
{
	struct metrics_family **nf;

	for (size_t i = 0; i < m->n_families; i++)
		if (!strcmp(m->families[i]->name, f->name))
			return -EEXIST;
	nf = realloc(m->families, (m->n_families + 1) * sizeof(*nf));
	if (!nf)
		return -ENOMEM;
	m->families = nf;
	m->families[m->n_families++] = f;
	f->reg = m;
	return 0;
}

int metrics_family_new(struct metrics *m, enum metrics_type type, const char *name,
		       const char *help, const char *const *labels, size_t n_labels,
		       const double *buckets, size_t n_buckets, struct metrics_family **ret)
{
	struct metrics_family *f;
	int r;

	if (!m || !ret)
		return -EINVAL;
	r = family_check(type, name, labels, n_labels, buckets, n_buckets);
	if (r < 0)
		return r;
	r = family_alloc(type, name, help, labels, n_labels, buckets, n_buckets, &f);
	if (r < 0)
		return r;
	pthread_mutex_lock(&m->lock);
	r = registry_add(m, f);
	pthread_mutex_unlock(&m->lock);
	if (r < 0) {
		family_free(f);
		return r;
	}
	*ret = f;
	return 0;
}

static bool series_matches(const struct series *s, const char *const *values, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(s->values[i], values[i] ? values[i] : ""))
			return false;
	return true;
}

/* FNV-1a over the values, each ended by a 0 byte (so "a","bc" != "ab","c"). */
static uint64_t values_hash(const char *const *values, size_t n)
{
	uint64_t h = 0xcbf29ce484222325ull;

	for (size_t i = 0; i < n; i++) {
		for (const char *c = values[i] ? values[i] : ""; *c; c++)
			h = (h ^ (unsigned char)*c) * 0x100000001b3ull;
		h *= 0x100000001b3ull;
	}
	return h;
}

static struct series **bucket_of(struct metrics_family *f, uint64_t h)
{
	return &f->index[(size_t)h & (f->index_cap - 1)];
}

static void index_put(struct metrics_family *f, struct series *s)
{
	struct series **b = bucket_of(f, s->hash);

	s->next = *b;
	*b = s;
}

static void index_del(struct metrics_family *f, struct series *s)
{
	struct series **p = bucket_of(f, s->hash);

	while (*p && *p != s)
		p = &(*p)->next;
	if (*p)
		*p = s->next;
}

/* A table of cap buckets for the series there are; -ENOMEM keeps the old one. */
static int index_rebuild(struct metrics_family *f, size_t cap)
{
	struct series **idx = calloc(cap, sizeof(*idx));

	if (!idx)
		return -ENOMEM;
	free(f->index);
	f->index = idx;
	f->index_cap = cap;
	for (size_t i = 0; i < f->n_series; i++)
		index_put(f, f->series[i]);
	return 0;
}

static struct series *series_find(struct metrics_family *f, const char *const *values)
{
	uint64_t h = values_hash(values, f->n_key);

	if (!f->index_cap)
		return NULL;
	for (struct series *s = *bucket_of(f, h); s; s = s->next)
		if (s->hash == h && series_matches(s, values, f->n_labels))
			return s;
	return NULL;
}

/* Out of the index and the array (the last series takes its place), and freed. */
static void series_drop(struct metrics_family *f, struct series *s)
{
	struct series *last = f->series[--f->n_series];

	index_del(f, s);
	last->pos = s->pos;
	f->series[s->pos] = last;
	series_free(s);
}

static struct series *series_create(struct metrics_family *f, const char *const *values)
{
	struct series *s = calloc(1, sizeof(*s));

	if (!s)
		return NULL;
	for (size_t i = 0; i < f->n_labels; i++)
		if (!(s->values[i] = strdup(values[i] ? values[i] : ""))) {
			series_free(s);
			return NULL;
		}
	if (f->type == METRICS_HISTOGRAM &&
	    !(s->buckets = calloc(f->n_bounds + 1, sizeof(*s->buckets)))) {
		series_free(s);
		return NULL;
	}
	if (f->n_series == f->cap_series) {
		size_t cap = f->cap_series ? f->cap_series * 2 : 8;
		struct series **ns = realloc(f->series, cap * sizeof(*ns));

		if (!ns) {
			series_free(s);
			return NULL;
		}
		f->series = ns;
		f->cap_series = cap;
	}
	/* room in the index first, so that a failure leaves nothing half-added */
	if (f->n_series + 1 > f->index_cap &&
	    index_rebuild(f, f->index_cap ? 2 * f->index_cap : 16) < 0) {
		series_free(s);
		return NULL;
	}
	s->hash = values_hash(values, f->n_key);
	s->pos = f->n_series;
	f->series[f->n_series++] = s;
	index_put(f, s);
	return s;
}

/* Locked lookup-or-create; returns with the lock held on success. */
static struct series *series_get_locked(struct metrics_family *f, const char *const *values)
{
	struct series *s;

	pthread_mutex_lock(&f->reg->lock);
	s = series_find(f, values);
	if (!s)
		s = series_create(f, values);
	if (!s)
		pthread_mutex_unlock(&f->reg->lock);
	return s;
}

static int metrics_update(struct metrics_family *f, const char *const *values, double v,
			  enum metrics_type want, bool add)
{
	struct series *s;

	if (!f || (f->n_labels && !values) || isnan(v))
		return -EINVAL;
	if (f->type != want && !(want == METRICS_GAUGE && f->type == METRICS_COUNTER && !add))
		return -EINVAL;
	if (f->type == METRICS_COUNTER && v < 0)
		return -EINVAL;
	s = series_get_locked(f, values);
	if (!s)
		return -ENOMEM;
	s->value = add ? s->value + v : v;
	pthread_mutex_unlock(&f->reg->lock);
	return 0;
}

int metrics_add(struct metrics_family *f, const char *const *values, double v)
{
	return metrics_update(f, values, v,
			      f && f->type == METRICS_COUNTER ? METRICS_COUNTER : METRICS_GAUGE,
			      true);
}

int metrics_set(struct metrics_family *f, const char *const *values, double v)
{
	return metrics_update(f, values, v, METRICS_GAUGE, false);
}

int metrics_observe(struct metrics_family *f, const char *const *values, double v)
{
	struct series *s;
	size_t b = 0;

	if (!f || f->type != METRICS_HISTOGRAM || (f->n_labels && !values) || isnan(v))
		return -EINVAL;
	s = series_get_locked(f, values);
	if (!s)
		return -ENOMEM;
	while (b < f->n_bounds && v > f->bounds[b])
		b++;
	s->buckets[b]++;
	s->count++;
	s->value += v;
	pthread_mutex_unlock(&f->reg->lock);
	return 0;
}

/* Every series whose first n_match labels match: through the index when those
 * include the key, else a scan. */
static int remove_matching(struct metrics_family *f, const char *const *values, size_t n_match)
{
	int removed = 0;

	if (n_match >= f->n_key && f->index_cap) {
		uint64_t h = values_hash(values, f->n_key);
		struct series *s = *bucket_of(f, h), *next;

		for (; s; s = next) {
			next = s->next;
			if (s->hash == h && series_matches(s, values, n_match)) {
				series_drop(f, s);
				removed++;
			}
		}
		return removed;
	}
	for (size_t i = f->n_series; i-- > 0;) {
		if (series_matches(f->series[i], values, n_match)) {
			series_drop(f, f->series[i]);
			removed++;
		}
	}
	return removed;
}

int metrics_remove(struct metrics_family *f, const char *const *values, size_t n_match)
{
	int removed;

	if (!f || n_match > f->n_labels || (n_match && !values))
		return -EINVAL;
	pthread_mutex_lock(&f->reg->lock);
	removed = remove_matching(f, values, n_match);
	pthread_mutex_unlock(&f->reg->lock);
	return removed;
}

int metrics_family_set_key(struct metrics_family *f, size_t n_key)
{
	int r = 0;

	if (!f || n_key > f->n_labels)
		return -EINVAL;
	pthread_mutex_lock(&f->reg->lock);
	if (f->n_series)
		r = -EBUSY;
	else
		f->n_key = n_key;
	pthread_mutex_unlock(&f->reg->lock);
	return r;
}

int metrics_get(struct metrics_family *f, const char *const *values, double *ret)
{
	struct series *s;

	if (!f || (f->n_labels && !values))
		return -EINVAL;
	pthread_mutex_lock(&f->reg->lock);
	s = series_find(f, values);
	if (s)
		*ret = f->type == METRICS_HISTOGRAM ? (double)s->count : s->value;
	pthread_mutex_unlock(&f->reg->lock);
	return s ? 0 : -ENOENT;
}

/* Shortest text that reads back as the same double (Go's strconv 'g' -1 in spirit). */
static void format_double(char *buf, size_t size, double v)
{
	if (isnan(v)) {
		snprintf(buf, size, "NaN");
		return;
	}
	if (isinf(v)) {
		snprintf(buf, size, "%sInf", v > 0 ? "+" : "-");
		return;
	}
	for (int p = 1; p <= 17; p++) {
		snprintf(buf, size, "%.*g", p, v);
		if (strtod(buf, NULL) == v)
			return;
	}
}

static void put_escaped(FILE *out, const char *s, bool quote)
{
	for (; *s; s++) {
		if (*s == '\\')
			fputs("\\\\", out);
		else if (*s == '\n')
			fputs("\\n", out);
		else if (quote && *s == '"')
			fputs("\\\"", out);
		else
			fputc(*s, out);
	}
}

/* {a="x",b="y"[,le="..."]} or nothing when there are no labels at all. */
static void put_labels(FILE *out, const struct metrics_family *f, const struct series *s,
		       const char *le)
{
	if (!f->n_labels && !le)
		return;
	fputc('{', out);
	for (size_t i = 0; i < f->n_labels; i++) {
		fprintf(out, "%s%s=\"", i ? "," : "", f->labels[i]);
		put_escaped(out, s->values[i], true);
		fputc('"', out);
	}
	if (le)
		fprintf(out, "%sle=\"%s\"", f->n_labels ? "," : "", le);
	fputc('}', out);
}

static void render_histogram(FILE *out, const struct metrics_family *f, const struct series *s)
{
	char le[40], num[40];
	uint64_t cum = 0;

	for (size_t b = 0; b < f->n_bounds; b++) {
		cum += s->buckets[b];
		format_double(le, sizeof(le), f->bounds[b]);
		fprintf(out, "%s_bucket", f->name);
		put_labels(out, f, s, le);
		fprintf(out, " %" PRIu64 "\n", cum);
	}
	fprintf(out, "%s_bucket", f->name);
	put_labels(out, f, s, "+Inf");
	fprintf(out, " %" PRIu64 "\n%s_sum", s->count, f->name);
	put_labels(out, f, s, NULL);
	format_double(num, sizeof(num), s->value);
	fprintf(out, " %s\n%s_count", num, f->name);
	put_labels(out, f, s, NULL);
	fprintf(out, " %" PRIu64 "\n", s->count);
}

static void render_family(FILE *out, const struct metrics_family *f)
{
	static const char *const types[] = {"counter", "gauge", "histogram"};
	char num[40];

	fprintf(out, "# HELP %s ", f->name);
	put_escaped(out, f->help, false);
	fprintf(out, "\n# TYPE %s %s\n", f->name, types[f->type]);
	for (size_t i = 0; i < f->n_series; i++) {
		const struct series *s = f->series[i];

		if (f->type == METRICS_HISTOGRAM) {
			render_histogram(out, f, s);
			continue;
		}
		fputs(f->name, out);
		put_labels(out, f, s, NULL);
		format_double(num, sizeof(num), s->value);
		fprintf(out, " %s\n", num);
	}
}

int metrics_render(struct metrics *m, char **ret, size_t *ret_len)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *out;
	int bad;

	if (!m || !ret)
		return -EINVAL;
	out = open_memstream(&buf, &len);
	if (!out)
		return -ENOMEM;
	pthread_mutex_lock(&m->lock);
	for (size_t i = 0; i < m->n_families; i++)
		render_family(out, m->families[i]);
	pthread_mutex_unlock(&m->lock);
	bad = ferror(out);
	if (fclose(out) != 0 || bad) {
		free(buf);
		return -ENOMEM;
	}
	*ret = buf;
	if (ret_len)
		*ret_len = len;
	return 0;
}
