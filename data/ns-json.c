/* SPDX-License-Identifier: MIT
 *
 * ns-json.c: see ns-json.h.
 */
#define G_LOG_DOMAIN "neuroseg-data"

#include "ns-json.h"

#include "ns-data-error.h"

#include <math.h>

/* ---- writing --------------------------------------------------------------------------- */

void
ns_json_add_string (JsonBuilder *b, const char *name, const char *value)
{
  json_builder_set_member_name (b, name);
  if (value != NULL)
    json_builder_add_string_value (b, value);
  else
    json_builder_add_null_value (b);
}

void
ns_json_add_int (JsonBuilder *b, const char *name, gint64 value)
{
  json_builder_set_member_name (b, name);
  json_builder_add_int_value (b, value);
}

void
ns_json_add_number (JsonBuilder *b, const char *name, double value)
{
  json_builder_set_member_name (b, name);
  if (isfinite (value))
    json_builder_add_double_value (b, value);
  else
    json_builder_add_null_value (b);
}

void
ns_json_add_boolean (JsonBuilder *b, const char *name, gboolean value)
{
  json_builder_set_member_name (b, name);
  json_builder_add_boolean_value (b, value);
}

void
ns_json_add_null (JsonBuilder *b, const char *name)
{
  json_builder_set_member_name (b, name);
  json_builder_add_null_value (b);
}

void
ns_json_add_int_or_null (JsonBuilder *b, const char *name, gint64 value, gboolean present)
{
  if (present)
    ns_json_add_int (b, name, value);
  else
    ns_json_add_null (b, name);
}

void
ns_json_add_strv (JsonBuilder *b, const char *name, char **strv)
{
  json_builder_set_member_name (b, name);
  json_builder_begin_array (b);
  for (char **p = strv; p != NULL && *p != NULL; p++)
    json_builder_add_string_value (b, *p);
  json_builder_end_array (b);
}

char *
ns_json_builder_dup_text (JsonBuilder *b)
{
  g_autoptr (JsonNode) root = json_builder_get_root (b);
  return json_to_string (root, FALSE);
}

/* ---- reading --------------------------------------------------------------------------- */

gboolean
ns_json_node_holds (JsonNode *node, GType type)
{
  return node != NULL && JSON_NODE_HOLDS_VALUE (node) && json_node_get_value_type (node) == type;
}

const char *
ns_json_node_type_name (JsonNode *node)
{
  if (node == NULL || JSON_NODE_HOLDS_NULL (node))
    return "null";
  if (JSON_NODE_HOLDS_OBJECT (node))
    return "an object";
  if (JSON_NODE_HOLDS_ARRAY (node))
    return "an array";
  switch (json_node_get_value_type (node))
    {
    case G_TYPE_STRING: return "a string";
    case G_TYPE_BOOLEAN: return "a boolean";
    case G_TYPE_DOUBLE: return "a fraction";
    case G_TYPE_INT64: return "an integer";
    default: return "a value";
    }
}

const char *
ns_json_get_string (JsonObject *object, const char *name)
{
  JsonNode *n = json_object_get_member (object, name);
  return ns_json_node_holds (n, G_TYPE_STRING) ? json_node_get_string (n) : NULL;
}

char *
ns_json_dup_string (JsonObject *object, const char *name)
{
  return g_strdup (ns_json_get_string (object, name));
}

double
ns_json_get_number (JsonObject *object, const char *name, double fallback)
{
  JsonNode *n = json_object_get_member (object, name);
  if (!ns_json_node_holds (n, G_TYPE_DOUBLE) && !ns_json_node_holds (n, G_TYPE_INT64))
    return fallback;
  double v = json_node_get_double (n);
  return isfinite (v) ? v : fallback;
}

gboolean
ns_json_get_int (JsonObject *object, const char *name, gint64 *value)
{
  JsonNode *n = json_object_get_member (object, name);
  if (!ns_json_node_holds (n, G_TYPE_INT64))
    return FALSE;
  *value = json_node_get_int (n);
  return TRUE;
}

JsonObject *
ns_json_get_object (JsonObject *object, const char *name)
{
  JsonNode *n = json_object_get_member (object, name);
  return n != NULL && JSON_NODE_HOLDS_OBJECT (n) ? json_node_get_object (n) : NULL;
}

char **
ns_json_dup_strv (JsonObject *object, const char *name)
{
  JsonNode *n = json_object_get_member (object, name);
  if (n == NULL || !JSON_NODE_HOLDS_ARRAY (n))
    return NULL;
  JsonArray *a = json_node_get_array (n);
  guint len = json_array_get_length (a), k = 0;
  char **v = g_new0 (char *, len + 1);
  for (guint i = 0; i < len; i++)
    {
      JsonNode *e = json_array_get_element (a, i);
      if (ns_json_node_holds (e, G_TYPE_STRING))
        v[k++] = g_strdup (json_node_get_string (e));
    }
  return v;
}

JsonObject *
ns_json_parse_object (const char *text, gssize length, GError **error)
{
  g_autoptr (JsonParser) parser = json_parser_new ();
  g_autoptr (GError) local = NULL;

  g_return_val_if_fail (text != NULL, NULL);
  if (!json_parser_load_from_data (parser, text, length, &local))
    {
      g_set_error (error, NS_DATA_ERROR, NS_DATA_ERROR_CORRUPT, "not valid JSON (%s)",
                   local->message);
      return NULL;
    }
  JsonNode *root = json_parser_get_root (parser);
  if (root == NULL || !JSON_NODE_HOLDS_OBJECT (root))
    {
      g_set_error (error, NS_DATA_ERROR, NS_DATA_ERROR_CORRUPT, "%s, not a JSON object",
                   root == NULL ? "empty" : ns_json_node_type_name (root));
      return NULL;
    }
  return json_object_ref (json_node_get_object (root));
}
