/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Helpers shared by plugin/config*.c only. Setters write the field only on success;
 * *why then points to a static explanation.
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "plugin/config/config.h"

int config_parse_bool(const char *s, bool *ret);
int config_parse_int(const char *s, int64_t *ret);
bool config_is_dns_label(const char *s);
int config_namespaces_add(struct config_namespaces *ns, const char *name, const char **why);
/* Any scalar key type from its YAML text. */
int config_set_scalar(struct config *c, const struct config_key *k, const char *text,
		      const char **why);
/* "" or ":PORT", "IPV4:PORT", "[IPV6]:PORT" with PORT 0..65535. */
bool config_address_is_valid(const char *addr);
