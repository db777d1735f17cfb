/* SPDX-License-Identifier: MIT
 *
 * ns-model-card.c: the architecture and metrics of a safetensors model file (see
 * ns-model-card.h).  The format: an 8-byte little-endian header length n, then n bytes of
 * JSON whose "__metadata__" object maps names to strings; neuroseg keeps "format",
 * "arch" and "provenance" (a JSON object as a string) there.
 */
#define G_LOG_DOMAIN "ns-data"

#include "ns-model-card.h"

#include "ns-data-error.h"

#include <gio/gio.h>
#include <json-glib/json-glib.h>

#define MAX_HEADER (100 << 20)

static gboolean
fail (GError **error, int code, const char *path, const char *why)
{
  g_set_error (error, NS_DATA_ERROR, code, "%s: %s", path, why);
  return FALSE;
}

gboolean
ns_model_card_read (const char *path, char **arch, char **metrics, GError **error)
{
  g_autoptr (GError) local = NULL;
  guint8 len_bytes[8];
  gsize got = 0;

  g_return_val_if_fail (path != NULL && arch != NULL && metrics != NULL, FALSE);
  g_autoptr (GFile) file = g_file_new_for_path (path);
  g_autoptr (GFileInputStream) in = g_file_read (file, NULL, &local);
  g_autoptr (GFileInfo) info = in != NULL
    ? g_file_input_stream_query_info (in, G_FILE_ATTRIBUTE_STANDARD_SIZE, NULL, &local) : NULL;
  if (info == NULL)
    return fail (error, g_error_matches (local, G_IO_ERROR, G_IO_ERROR_NOT_FOUND)
                          ? NS_DATA_ERROR_NOT_FOUND : NS_DATA_ERROR_IO, path, local->message);
  goffset size = g_file_info_get_size (info);
  if (!g_input_stream_read_all (G_INPUT_STREAM (in), len_bytes, 8, &got, NULL, &local))
    return fail (error, NS_DATA_ERROR_IO, path, local->message);
  if (got < 8)
    return fail (error, NS_DATA_ERROR_CORRUPT, path, "too short for a safetensors file");
  guint64 n = 0;
  for (int i = 7; i >= 0; i--)
    n = n << 8 | len_bytes[i];
  if (n < 2 || n > MAX_HEADER || (goffset) n > size - 8)
    return fail (error, NS_DATA_ERROR_CORRUPT, path,
                 "not a safetensors file (its header length does not fit the file)");
  g_autofree char *text = g_malloc (n + 1);
  if (!g_input_stream_read_all (G_INPUT_STREAM (in), text, n, &got, NULL, &local))
    return fail (error, NS_DATA_ERROR_IO, path, local->message);
  if (got < n)
    return fail (error, NS_DATA_ERROR_CORRUPT, path, "truncated safetensors header");
  text[n] = '\0';

  g_autoptr (JsonParser) parser = json_parser_new ();
  if (!json_parser_load_from_data (parser, text, n, NULL)
      || !JSON_NODE_HOLDS_OBJECT (json_parser_get_root (parser)))
    return fail (error, NS_DATA_ERROR_CORRUPT, path, "the safetensors header is not a JSON object");
  JsonObject *root = json_node_get_object (json_parser_get_root (parser));
  JsonNode *md = json_object_get_member (root, "__metadata__");
  JsonObject *meta = md != NULL && JSON_NODE_HOLDS_OBJECT (md) ? json_node_get_object (md) : NULL;
  const char *format = meta != NULL
    ? json_object_get_string_member_with_default (meta, "format", NULL) : NULL;
  const char *a = meta != NULL
    ? json_object_get_string_member_with_default (meta, "arch", NULL) : NULL;
  if (g_strcmp0 (format, "neuroseg-model") != 0 || a == NULL)
    return fail (error, NS_DATA_ERROR_INVALID, path,
                 "not a neuroseg model (no format and arch in __metadata__)");

  /* The provenance is a JSON object inside a string; its metrics an object. */
  g_autofree char *m = NULL;
  const char *prov = json_object_get_string_member_with_default (meta, "provenance", NULL);
  g_autoptr (JsonParser) pp = json_parser_new ();
  if (prov != NULL && json_parser_load_from_data (pp, prov, -1, NULL)
      && JSON_NODE_HOLDS_OBJECT (json_parser_get_root (pp)))
    {
      JsonObject *po = json_node_get_object (json_parser_get_root (pp));
      JsonNode *mn = json_object_get_member (po, "metrics");
      if (mn != NULL && JSON_NODE_HOLDS_OBJECT (mn))
        m = json_to_string (mn, FALSE);
    }
  *arch = g_strdup (a);
  *metrics = m != NULL ? g_steal_pointer (&m) : g_strdup ("{}");
  return TRUE;
}
