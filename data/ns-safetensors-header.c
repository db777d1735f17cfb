/* SPDX-License-Identifier: MIT
 *
 * ns-safetensors-header.c: see ns-safetensors-header.h.
 */
#define G_LOG_DOMAIN "neuroseg-data"

#include "ns-safetensors-header.h"

#include "ns-data-error.h"
#include "ns-file.h"
#include "ns-json.h"

#include <unistd.h>

static NsSafetensorsHeader *
fail (GError **error, int code, const char *name, const char *message)
{
  g_set_error (error, NS_DATA_ERROR, code, "%s: %s", name, message);
  return NULL;
}

NsSafetensorsHeader *
ns_safetensors_header_read (const char *path, const char *name, GError **error)
{
  g_autoptr (NsSafetensorsHeader) h = g_new0 (NsSafetensorsHeader, 1);
  g_autoptr (GError) local = NULL;
  struct stat st;
  guint8 len8[8];

  g_return_val_if_fail (path != NULL, NULL);
  if (name == NULL)
    name = path;
  h->fd = ns_file_open_regular (path, &st, error);
  if (h->fd < 0)
    return NULL;
  h->size = (guint64) st.st_size;
  if (h->size < 8 || !ns_file_read_at (h->fd, len8, 8, 0, name, NULL))
    return fail (error, NS_DATA_ERROR_CORRUPT, name,
                 "truncated: shorter than the 8-byte header length");
  guint64 n = 0;
  for (int i = 7; i >= 0; i--)
    n = (n << 8) | len8[i];
  if (n < 2 || n > NS_SAFETENSORS_HEADER_MAX)
    {
      g_autofree char *why = g_strdup_printf ("not a safetensors file (header length %"
                                              G_GUINT64_FORMAT ")", n);
      return fail (error, NS_DATA_ERROR_CORRUPT, name, why);
    }
  if (n > h->size - 8)
    {
      g_autofree char *why = g_strdup_printf ("truncated: header of %" G_GUINT64_FORMAT
                                              " bytes but the file has %" G_GUINT64_FORMAT,
                                              n, h->size);
      return fail (error, NS_DATA_ERROR_CORRUPT, name, why);
    }
  h->data_start = 8 + n;

  g_autofree char *text = g_try_malloc (n);
  if (text == NULL)
    {
      g_autofree char *why = g_strdup_printf ("out of memory for a header of %"
                                              G_GUINT64_FORMAT " bytes", n);
      return fail (error, NS_DATA_ERROR_TOO_LARGE, name, why);
    }
  if (!ns_file_read_at (h->fd, text, n, 8, name, error))
    return NULL;
  h->header = ns_json_parse_object (text, (gssize) n, &local);
  if (h->header == NULL)
    {
      g_autofree char *why = g_strdup_printf ("header is %s", local->message);
      return fail (error, NS_DATA_ERROR_CORRUPT, name, why);
    }
  JsonNode *md = json_object_get_member (h->header, "__metadata__");
  if (md != NULL && !JSON_NODE_HOLDS_OBJECT (md))
    return fail (error, NS_DATA_ERROR_CORRUPT, name, "__metadata__ is not a JSON object");
  h->metadata = md != NULL ? json_node_get_object (md) : NULL;
  return g_steal_pointer (&h);
}

void
ns_safetensors_header_free (NsSafetensorsHeader *h)
{
  if (h == NULL)
    return;
  if (h->fd >= 0)
    close (h->fd);
  g_clear_pointer (&h->header, json_object_unref);
  g_free (h);
}
