/* SPDX-License-Identifier: MIT
 *
 * ns-corrections.c: where corrections go (see ns-corrections.h).  The data folder is the
 * database's (the folder of ns_db_dup_default_path()), so that the rule for "the user's
 * data folder" stays in one place; the chosen folder is a setting (ns-settings.h).
 */
#define G_LOG_DOMAIN "ns-corrections"

#include "ns-corrections.h"

#include <errno.h>
#include <glib/gstdio.h>
#include <json-glib/json-glib.h>
#include <math.h>

#include "ns-nifti.h"
#include "ns-db.h"
#include "ns-settings.h"

#define SETTINGS_GROUP "corrections"
#define SETTINGS_KEY "folder"

char *
ns_corrections_dup_folder (void)
{
  g_autofree char *db = NULL;
  g_autofree char *data = NULL;
  char *folder = ns_settings_dup_string (SETTINGS_GROUP, SETTINGS_KEY);

  if (folder != NULL)
    {
      if (folder[0] != '\0')
        return folder;
      g_free (folder);
    }
  db = ns_db_dup_default_path ();
  data = g_path_get_dirname (db);
  return g_build_filename (data, "corrections", NULL);
}

gboolean
ns_corrections_set_folder (const char *folder, GError **error)
{
  return ns_settings_set_string (SETTINGS_GROUP, SETTINGS_KEY, folder, error);
}

char *
ns_corrections_dup_case_folder (const NsCase *ncase)
{
  g_autofree char *folder = ns_corrections_dup_folder ();
  g_autofree char *canon = g_canonicalize_filename (ncase->dir, NULL);
  g_autofree char *hash = g_compute_checksum_for_string (G_CHECKSUM_SHA256, canon, -1);
  g_autofree char *name = NULL;

  /* the id alone could name two cases from different places */
  hash[8] = '\0';
  name = g_strdup_printf ("%s-%s", ncase->id, hash);
  return g_build_filename (folder, name, NULL);
}

void
ns_kept_prediction_free (NsKeptPrediction *kept)
{
  if (kept == NULL)
    return;
  g_free (kept->path);
  g_free (kept->model_path);
  g_free (kept);
}

static char *
last_prediction_path (const NsCase *ncase, const char *suffix)
{
  g_autofree char *dir = ns_corrections_dup_case_folder (ncase);
  g_autofree char *name = g_strdup_printf ("%s_last_prediction%s", ncase->id, suffix);

  return g_build_filename (dir, name, NULL);
}

gboolean
ns_corrections_keep_prediction (const NsCase *ncase, const NsLabelMap *labels,
                                const char *model_path, int model_version, double uncertainty,
                                GError **error)
{
  g_autofree char *dir = ns_corrections_dup_case_folder (ncase);
  g_autofree char *path = last_prediction_path (ncase, ".nii.gz");
  g_autofree char *info_path = last_prediction_path (ncase, ".json");
  g_autoptr (JsonBuilder) b = json_builder_new ();
  g_autoptr (JsonNode) root = NULL;
  g_autoptr (GDateTime) now = g_date_time_new_now_utc ();
  g_autofree char *date = g_date_time_format_iso8601 (now);
  g_autofree char *text = NULL;

  if (g_mkdir_with_parents (dir, 0700) != 0)
    {
      int saved = errno;

      g_set_error (error, G_FILE_ERROR, g_file_error_from_errno (saved), "%s: %s", dir,
                   g_strerror (saved));
      return FALSE;
    }
  /* the label map first: a record never names a file that is not there */
  if (!ns_nifti_write_label_map (labels, path, error))
    return FALSE;
  json_builder_begin_object (b);
  json_builder_set_member_name (b, "prediction");
  json_builder_add_string_value (b, path);
  json_builder_set_member_name (b, "model");
  json_builder_add_string_value (b, model_path != NULL ? model_path : "");
  json_builder_set_member_name (b, "model_version");
  json_builder_add_int_value (b, model_version);
  json_builder_set_member_name (b, "uncertainty");
  if (isfinite (uncertainty))
    json_builder_add_double_value (b, uncertainty);
  else
    json_builder_add_null_value (b);
  json_builder_set_member_name (b, "date");
  json_builder_add_string_value (b, date);
  json_builder_end_object (b);
  root = json_builder_get_root (b);
  text = json_to_string (root, TRUE);
  return g_file_set_contents (info_path, text, -1, error);
}

NsKeptPrediction *
ns_corrections_dup_last_prediction (const NsCase *ncase, GError **error)
{
  g_autofree char *path = last_prediction_path (ncase, ".nii.gz");
  g_autofree char *info_path = last_prediction_path (ncase, ".json");
  g_autoptr (JsonParser) parser = json_parser_new ();
  g_autoptr (NsKeptPrediction) kept = NULL;
  JsonObject *o;
  JsonNode *u;

  if (!g_file_test (path, G_FILE_TEST_EXISTS) || !g_file_test (info_path, G_FILE_TEST_EXISTS))
    return NULL;
  if (!json_parser_load_from_file (parser, info_path, error))
    {
      g_prefix_error (error, "%s: ", info_path);
      return NULL;
    }
  if (!JSON_NODE_HOLDS_OBJECT (json_parser_get_root (parser)))
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA, "%s: not a JSON object",
                   info_path);
      return NULL;
    }
  o = json_node_get_object (json_parser_get_root (parser));
  kept = g_new0 (NsKeptPrediction, 1);
  kept->path = g_steal_pointer (&path);
  kept->model_path = g_strdup (json_object_get_string_member_with_default (o, "model", NULL));
  kept->model_version = (int) json_object_get_int_member_with_default (o, "model_version", 0);
  u = json_object_get_member (o, "uncertainty");
  kept->uncertainty = u != NULL && JSON_NODE_HOLDS_VALUE (u) ? json_node_get_double (u) : NAN;
  return g_steal_pointer (&kept);
}
