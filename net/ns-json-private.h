/* SPDX-License-Identifier: MIT
 *
 * ns-json-private.h: the JsonBuilder members net/ writes (trainer options and state,
 * checkpoint provenance, training metrics), one way each.
 */
#pragma once

#include <json-glib/json-glib.h>

G_BEGIN_DECLS

/* name: value, or null when value is NULL. */
static inline void
_ns_json_add_string (JsonBuilder *b, const char *name, const char *value)
{
  json_builder_set_member_name (b, name);
  if (value != NULL)
    json_builder_add_string_value (b, value);
  else
    json_builder_add_null_value (b);
}

static inline void
_ns_json_add_double (JsonBuilder *b, const char *name, double value)
{
  json_builder_set_member_name (b, name);
  json_builder_add_double_value (b, value);
}

static inline void
_ns_json_add_int (JsonBuilder *b, const char *name, gint64 value)
{
  json_builder_set_member_name (b, name);
  json_builder_add_int_value (b, value);
}

/* name: [strings] (an empty array for NULL). */
static inline void
_ns_json_add_strv (JsonBuilder *b, const char *name, char **strv)
{
  json_builder_set_member_name (b, name);
  json_builder_begin_array (b);
  for (char **p = strv; p != NULL && *p != NULL; p++)
    json_builder_add_string_value (b, *p);
  json_builder_end_array (b);
}

G_END_DECLS
