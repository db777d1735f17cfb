/* SPDX-License-Identifier: MIT
 *
 * ns-model-card.c: the architecture and metrics of a safetensors model file (see
 * ns-model-card.h).  The header is read by ns-safetensors-header.c, the one reader of it;
 * neuroseg keeps "format", "arch" and "provenance" (a JSON object as a string) in its
 * "__metadata__".
 */
#define G_LOG_DOMAIN "neuroseg-data"

#include "ns-model-card.h"

#include "ns-data-error.h"
#include "ns-json.h"
#include "ns-safetensors-header.h"

gboolean
ns_model_card_read (const char *path, char **arch, char **metrics, GError **error)
{
  g_return_val_if_fail (path != NULL && arch != NULL && metrics != NULL, FALSE);

  g_autoptr (NsSafetensorsHeader) h = ns_safetensors_header_read (path, NULL, error);
  if (h == NULL)
    return FALSE;
  const char *format = h->metadata != NULL ? ns_json_get_string (h->metadata, "format") : NULL;
  const char *a = h->metadata != NULL ? ns_json_get_string (h->metadata, "arch") : NULL;
  if (g_strcmp0 (format, "neuroseg-model") != 0 || a == NULL)
    {
      g_set_error (error, NS_DATA_ERROR, NS_DATA_ERROR_INVALID,
                   "%s: not a neuroseg model (no format and arch in __metadata__)", path);
      return FALSE;
    }

  /* The provenance is a JSON object inside a string; its metrics an object.  A card
   * without them is still a card: the figures are shown as absent. */
  const char *prov = ns_json_get_string (h->metadata, "provenance");
  g_autoptr (JsonObject) po = prov != NULL ? ns_json_parse_object (prov, -1, NULL) : NULL;
  JsonObject *mo = po != NULL ? ns_json_get_object (po, "metrics") : NULL;
  g_autoptr (JsonNode) mn = mo != NULL ? json_node_init_object (json_node_alloc (), mo) : NULL;
  *arch = g_strdup (a);
  *metrics = mn != NULL ? json_to_string (mn, FALSE) : g_strdup ("{}");
  return TRUE;
}
