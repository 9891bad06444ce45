/* SPDX-License-Identifier: Apache-2.0 */
/*
 * YAML -> struct config. libyaml builds the document tree (so every node keeps its
 * line/column); we walk it against the key table. Recursion depth is bounded by the
 * schema (sections only nest as deep as the table's dotted paths), so hostile nesting
 * or alias fan-out in unknown places is reported, never walked.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <yaml.h>

#include "plugin/config/config.h"
#include "plugin/config/config_priv.h"

#define CONFIG_KEY_PATH_MAX 128
#define CONFIG_MAX_ERRORS   100

struct parse_ctx {
	const char *name;
	yaml_document_t *doc;
	struct config *cfg;
	struct config_errors *errs;
	const struct config_key *table;
	size_t n_keys;
	bool *seen;
	const yaml_node_t **where; /* key node of each seen key, for cross-key errors */
	size_t n_errors;
	int oom;
};

__attribute__((format(printf, 3, 4))) static void
ctx_error(struct parse_ctx *x, const yaml_node_t *node, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	x->n_errors++;
	if (x->n_errors > CONFIG_MAX_ERRORS)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (x->n_errors == CONFIG_MAX_ERRORS)
		snprintf(msg, sizeof(msg), "too many errors, giving up");
	if (config_errors_add(x->errs, "%s:%zu:%zu: error: %s", x->name,
			      node ? node->start_mark.line + 1 : 1,
			      node ? node->start_mark.column + 1 : 1, msg) < 0)
		x->oom = 1;
}

/* A section is any proper prefix of a key path that ends at a dot. */
static bool ctx_is_section(const struct parse_ctx *x, const char *path)
{
	size_t n = strlen(path);

	for (size_t i = 0; i < x->n_keys; i++)
		if (!strncmp(x->table[i].path, path, n) && x->table[i].path[n] == '.')
			return true;
	return false;
}

static const char *leaf_of(const char *path)
{
	const char *dot = strrchr(path, '.');

	return dot ? dot + 1 : path;
}

/* The closest known key: same leaf elsewhere, or a small edit distance. */
static const char *ctx_suggest(const struct parse_ctx *x, const char *path)
{
	unsigned int best = 3, cap = strlen(path) / 3 < 3 ? (unsigned int)strlen(path) / 3 : 3;
	const char *found = NULL;

	for (size_t i = 0; i < x->n_keys; i++) {
		unsigned int d;

		if (!strcmp(leaf_of(x->table[i].path), leaf_of(path)))
			return x->table[i].path;
		d = config_edit_distance(path, x->table[i].path, cap);
		if (d <= cap && d < best) {
			best = d;
			found = x->table[i].path;
		}
	}
	return found;
}

static void ctx_unknown(struct parse_ctx *x, const yaml_node_t *key, const char *path)
{
	const char *hint = ctx_suggest(x, path);

	if (hint)
		ctx_error(x, key, "unknown key '%s' (did you mean '%s'?)", path, hint);
	else
		ctx_error(x, key, "unknown key '%s'", path);
}

static const char *scalar_text(const yaml_node_t *n)
{
	return (const char *)n->data.scalar.value;
}

static bool scalar_is_null(const yaml_node_t *n)
{
	const char *s = scalar_text(n);

	return n->data.scalar.style == YAML_PLAIN_SCALAR_STYLE &&
	       (!*s || !strcmp(s, "~") || !strcmp(s, "null"));
}

static bool scalar_is_clean(const yaml_node_t *n)
{
	return !memchr(n->data.scalar.value, '\0', n->data.scalar.length);
}

static void ctx_set_namespaces(struct parse_ctx *x, const struct config_key *k,
			       const yaml_node_t *val)
{
	struct config_namespaces ns = {0};
	const char *why = NULL;

	if (val->type == YAML_SCALAR_NODE && scalar_is_null(val)) {
		memcpy((char *)x->cfg + k->offset, &ns, sizeof(ns));
		return;
	}
	if (val->type != YAML_SEQUENCE_NODE) {
		ctx_error(x, val, "%s: expected a list of namespaces, e.g. [kube-system]", k->path);
		return;
	}
	for (yaml_node_item_t *it = val->data.sequence.items.start;
	     it < val->data.sequence.items.top; it++) {
		yaml_node_t *item = yaml_document_get_node(x->doc, *it);

		if (!item || item->type != YAML_SCALAR_NODE || !scalar_is_clean(item)) {
			ctx_error(x, item, "%s: list items must be namespace names", k->path);
			return;
		}
		if (config_namespaces_add(&ns, scalar_text(item), &why) < 0) {
			ctx_error(x, item, "%s: '%.64s': %s", k->path, scalar_text(item), why);
			return;
		}
	}
	memcpy((char *)x->cfg + k->offset, &ns, sizeof(ns));
}

static void ctx_range_error(struct parse_ctx *x, const yaml_node_t *val, const struct config_key *k,
			    const char *why)
{
	struct config lo, hi;
	char a[64], b[64];

	/* Show the bounds in the key's own unit ("10ms", not 10000). */
	memset(&lo, 0, sizeof(lo));
	memset(&hi, 0, sizeof(hi));
	memcpy((char *)&lo + k->offset, &k->min, sizeof(int64_t));
	memcpy((char *)&hi + k->offset, &k->max, sizeof(int64_t));
	if (config_format_value(&lo, k, a, sizeof(a)) < 0 ||
	    config_format_value(&hi, k, b, sizeof(b)) < 0)
		a[0] = b[0] = '\0';
	ctx_error(x, val, "%s: '%.64s' %s (allowed %s..%s)", k->path, scalar_text(val), why, a, b);
}

static void ctx_enum_error(struct parse_ctx *x, const yaml_node_t *val, const struct config_key *k)
{
	char names[256] = "";
	size_t pos = 0;

	for (int i = 0; k->enum_names[i] && pos < sizeof(names); i++)
		pos += (size_t)snprintf(names + pos, sizeof(names) - pos, "%s%s", i ? ", " : "",
					k->enum_names[i]);
	ctx_error(x, val, "%s: '%.64s': expected one of %s", k->path, scalar_text(val), names);
}

static void ctx_set_value(struct parse_ctx *x, const struct config_key *k, const yaml_node_t *val)
{
	const char *why = "invalid value";
	int r;

	if (k->type == CONFIG_NAMESPACES) {
		ctx_set_namespaces(x, k, val);
		return;
	}
	if (val->type != YAML_SCALAR_NODE) {
		ctx_error(x, val, "%s: expected a single value, not a %s", k->path,
			  val->type == YAML_MAPPING_NODE ? "mapping" : "list");
		return;
	}
	if (!scalar_is_clean(val) ||
	    (k->type != CONFIG_STRING && k->type != CONFIG_CPUSET && scalar_is_null(val))) {
		ctx_error(x, val, "%s: missing value", k->path);
		return;
	}
	r = config_set_scalar(x->cfg, k, scalar_is_null(val) ? "" : scalar_text(val), &why);
	if (r == -ERANGE && (k->type == CONFIG_INT || k->type == CONFIG_DURATION))
		ctx_range_error(x, val, k, why);
	else if (r < 0 && k->type == CONFIG_ENUM)
		ctx_enum_error(x, val, k);
	else if (r < 0)
		ctx_error(x, val, "%s: '%.64s': %s", k->path, scalar_text(val), why);
}

static void ctx_walk_mapping(struct parse_ctx *x, const yaml_node_t *map, const char *prefix);

static void ctx_walk_pair(struct parse_ctx *x, const yaml_node_t *key, const yaml_node_t *val,
			  const char *prefix)
{
	char path[CONFIG_KEY_PATH_MAX];
	const struct config_key *k;
	int n;

	if (key->type != YAML_SCALAR_NODE || !scalar_is_clean(key)) {
		ctx_error(x, key, "keys must be plain names");
		return;
	}
	n = snprintf(path, sizeof(path), "%s%s%s", prefix, *prefix ? "." : "", scalar_text(key));
	if (n < 0 || (size_t)n >= sizeof(path)) {
		ctx_error(x, key, "unknown key (name too long)");
		return;
	}
	k = config_key_find(path);
	if (k) {
		if (x->seen[k - x->table])
			ctx_error(x, key, "duplicate key '%s'", path);
		x->seen[k - x->table] = true;
		x->where[k - x->table] = key;
		ctx_set_value(x, k, val);
	} else if (ctx_is_section(x, path)) {
		if (val->type == YAML_MAPPING_NODE)
			ctx_walk_mapping(x, val, path);
		else if (val->type != YAML_SCALAR_NODE || !scalar_is_null(val))
			ctx_error(x, val, "'%s' is a section: expected a mapping of keys", path);
	} else {
		ctx_unknown(x, key, path);
	}
}

static void ctx_walk_mapping(struct parse_ctx *x, const yaml_node_t *map, const char *prefix)
{
	for (yaml_node_pair_t *p = map->data.mapping.pairs.start; p < map->data.mapping.pairs.top;
	     p++) {
		yaml_node_t *key = yaml_document_get_node(x->doc, p->key);
		yaml_node_t *val = yaml_document_get_node(x->doc, p->value);

		if (key && val)
			ctx_walk_pair(x, key, val, prefix);
	}
}

/* metrics.address: "" (off), ":PORT", "IPV4:PORT" or "[IPV6]:PORT"; no names to resolve. */
bool config_address_is_valid(const char *addr)
{
	const char *colon = strrchr(addr, ':');
	char host[64];
	unsigned char tmp[16];
	size_t hl;
	int64_t port;

	if (!*addr)
		return true;
	if (!colon || config_parse_int(colon + 1, &port) < 0 || port < 0 || port > 65535)
		return false;
	hl = (size_t)(colon - addr);
	if (hl == 0)
		return true;
	if (hl >= sizeof(host))
		return false;
	memcpy(host, addr, hl);
	host[hl] = '\0';
	if (host[0] == '[' && host[hl - 1] == ']' && hl > 2) {
		host[hl - 1] = '\0';
		return inet_pton(AF_INET6, host + 1, tmp) == 1;
	}
	return inet_pton(AF_INET, host, tmp) == 1;
}

static const yaml_node_t *ctx_where(const struct parse_ctx *x, const char *path)
{
	const struct config_key *k = config_key_find(path);

	return k ? x->where[k - x->table] : NULL;
}

static void ctx_cross_check(struct parse_ctx *x)
{
	const struct config *c = x->cfg;
	const yaml_node_t *n;

	/* count 0 means "none": the default file spells it out next to reserved.cpus */
	n = ctx_where(x, "reserved.count");
	if (n && c->reserved_count && !cpuset_is_empty(&c->reserved_cpus))
		ctx_error(x, n,
			  "reserved.count: set either reserved.cpus or reserved.count, not both");
	n = ctx_where(x, "metrics.address");
	if (n && !config_address_is_valid(c->metrics_address))
		ctx_error(x, n, "metrics.address: '%s': expected :PORT, IPV4:PORT or [IPV6]:PORT",
			  c->metrics_address);
	n = ctx_where(x, "state.checkpoint");
	if (n && c->checkpoint_path[0] && c->checkpoint_path[0] != '/')
		ctx_error(x, n, "state.checkpoint: expected an absolute path or \"\"");
	n = ctx_where(x, "status.socket");
	if (n && (c->status_socket[0] != '/' || strlen(c->status_socket) >= 108))
		ctx_error(x, n, "status.socket: expected an absolute path shorter than 108 bytes");
}

static void ctx_parser_error(struct parse_ctx *x, const yaml_parser_t *p)
{
	x->n_errors++;
	if (config_errors_add(x->errs, "%s:%zu:%zu: error: YAML: %s%s%s", x->name,
			      p->problem_mark.line + 1, p->problem_mark.column + 1,
			      p->problem ? p->problem : "syntax error", p->context ? " " : "",
			      p->context ? p->context : "") < 0)
		x->oom = 1;
}

/* Walks one loaded document. Only the first document of a stream is configuration. */
static void ctx_walk_document(struct parse_ctx *x)
{
	yaml_node_t *root = yaml_document_get_root_node(x->doc);

	if (!root)
		return;
	if (root->type == YAML_MAPPING_NODE)
		ctx_walk_mapping(x, root, "");
	else if (root->type != YAML_SCALAR_NODE || !scalar_is_null(root))
		ctx_error(x, root, "the configuration must be a mapping of keys");
	ctx_cross_check(x);
}

static void ctx_check_single_document(struct parse_ctx *x, yaml_parser_t *parser)
{
	yaml_document_t extra;

	if (!yaml_parser_load(parser, &extra)) {
		ctx_parser_error(x, parser);
		return;
	}
	if (yaml_document_get_root_node(&extra))
		ctx_error(x, yaml_document_get_root_node(&extra),
			  "only one YAML document is allowed");
	yaml_document_delete(&extra);
}

static int ctx_run(struct parse_ctx *x, const char *buf, size_t len)
{
	yaml_parser_t parser;
	yaml_document_t doc;

	if (!yaml_parser_initialize(&parser))
		return -ENOMEM;
	yaml_parser_set_input_string(&parser, (const unsigned char *)buf, len);
	if (!yaml_parser_load(&parser, &doc)) {
		ctx_parser_error(x, &parser);
		yaml_parser_delete(&parser);
		return 0;
	}
	x->doc = &doc;
	ctx_walk_document(x);
	ctx_check_single_document(x, &parser);
	x->doc = NULL;
	yaml_document_delete(&doc);
	yaml_parser_delete(&parser);
	return 0;
}

int config_parse(const char *name, const char *buf, size_t len, struct config *ret,
		 struct config_errors *errs)
{
	struct parse_ctx x = {.name = name ? name : "config", .errs = errs};
	struct config *cfg;
	int r;

	if (len > CONFIG_MAX_BYTES) {
		config_errors_add(errs, "%s: error: larger than %u bytes", x.name,
				  CONFIG_MAX_BYTES);
		return -E2BIG;
	}
	x.table = config_keys(&x.n_keys);
	cfg = malloc(sizeof(*cfg));
	x.seen = calloc(x.n_keys, sizeof(*x.seen));
	x.where = calloc(x.n_keys, sizeof(*x.where));
	r = -ENOMEM;
	if (!cfg || !x.seen || !x.where)
		goto out;
	config_init(cfg);
	x.cfg = cfg;
	r = ctx_run(&x, buf ? buf : "", buf ? len : 0);
	if (r >= 0 && x.oom)
		r = -ENOMEM;
	else if (r >= 0 && x.n_errors)
		r = -EINVAL;
	if (r >= 0)
		*ret = *cfg;
out:
	free(x.where);
	free(x.seen);
	free(cfg);
	return r;
}

static int config_read_all(int fd, char **ret, size_t *ret_len)
{
	size_t cap = 4096, len = 0;
	char *buf = malloc(cap), *nb;
	ssize_t n;

	if (!buf)
		return -ENOMEM;
	for (;;) {
		if (len == cap) {
			if (cap > CONFIG_MAX_BYTES) {
				free(buf);
				return -E2BIG;
			}
			nb = realloc(buf, cap * 2);
			if (!nb) {
				free(buf);
				return -ENOMEM;
			}
			buf = nb;
			cap *= 2;
		}
		n = read(fd, buf + len, cap - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			free(buf);
			return -errno;
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	*ret = buf;
	*ret_len = len;
	return 0;
}

int config_read_file(const char *path, char **ret, size_t *ret_len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY), r;

	if (fd < 0)
		return -errno;
	r = config_read_all(fd, ret, ret_len);
	close(fd);
	return r;
}

int config_load_file(const char *path, struct config *ret, struct config_errors *errs)
{
	char *buf = NULL;
	size_t len = 0;
	int r = config_read_file(path, &buf, &len);

	if (r < 0) {
		config_errors_add(errs, "%s: error: %s", path,
				  r == -E2BIG ? "file too large" : strerror(-r));
		return r;
	}
	r = config_parse(path, buf, len, ret, errs);
	free(buf);
	return r;
}
