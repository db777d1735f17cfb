/* SPDX-License-Identifier: MIT
 *
 * ns-export.c: the queue as an nnU-Net v2 / MSD dataset folder (see ns-export.h).
 *
 * The dataset is written into a temporary folder beside the destination and renamed to it
 * at the end, so a failed export leaves nothing behind.  Each case is checked before any
 * of its files is linked: every source file is decoded (a hard link would otherwise carry
 * a truncated image into the dataset unseen) and every channel and the label map must lie
 * on one grid (ns_grid_equal).  That costs one decode of the case, which the training that
 * follows the export pays many times over.
 */
#define G_LOG_DOMAIN "neuroseg-data"

#include "ns-export.h"

#include "ns-case.h"
#include "ns-data-error.h"
#include "ns-db-private.h"
#include "ns-json.h"
#include "ns-labels.h"
#include "ns-nifti.h"
#include "ns-queue.h"

#include <errno.h>
#include <gio/gio.h>
#include <glib/gstdio.h>
#include <json-glib/json-glib.h>
#include <string.h>
#include <unistd.h>

/* ---- identifiers ------------------------------------------------------------------------ */

char *
ns_export_dup_identifier (const char *case_id, GHashTable *used)
{
  g_return_val_if_fail (case_id != NULL && used != NULL, NULL);

  GString *s = g_string_new (NULL);
  for (const char *p = case_id; *p != '\0' && s->len < NS_EXPORT_IDENTIFIER_MAX; p++)
    g_string_append_c (s, g_ascii_isalnum (*p) || *p == '-' || *p == '_' ? *p : '_');
  if (s->len == 0)
    g_string_append (s, "case");
  if (s->str[0] == '-')
    s->str[0] = '_';
  g_autofree char *base = g_strdup (s->str);
  for (int i = 2; g_hash_table_contains (used, s->str); i++)
    {
      g_autofree char *suffix = g_strdup_printf ("_%d", i);
      gsize keep = MIN (strlen (base), NS_EXPORT_IDENTIFIER_MAX - strlen (suffix));
      g_string_truncate (s, 0);
      g_string_append_len (s, base, keep);
      g_string_append (s, suffix);
    }
  g_hash_table_add (used, g_strdup (s->str));
  return g_string_free (s, FALSE);
}

/* ---- sources ---------------------------------------------------------------------------- */

/* nnU-Net's channel names (its BraTS conversion uses these spellings). */
static const char *
channel_label (const char *modality)
{
  if (g_strcmp0 (modality, "flair") == 0)
    return "FLAIR";
  if (g_strcmp0 (modality, "t1c") == 0)
    return "T1ce";
  if (g_strcmp0 (modality, "t1") == 0)
    return "T1";
  if (g_strcmp0 (modality, "t2") == 0)
    return "T2";
  return modality;
}

/* The file (and volume, -1 for 3-D) of a modality in a case's JSON description. */
static gboolean
find_modality (const char *modalities_json, const char *modality, char **file, int *volume)
{
  g_autoptr (JsonNode) root = json_from_string (modalities_json, NULL);
  if (root == NULL || !JSON_NODE_HOLDS_ARRAY (root))
    return FALSE;
  JsonArray *a = json_node_get_array (root);
  for (guint i = 0; i < json_array_get_length (a); i++)
    {
      JsonNode *e = json_array_get_element (a, i);
      JsonObject *o = JSON_NODE_HOLDS_OBJECT (e) ? json_node_get_object (e) : NULL;
      if (o == NULL || g_strcmp0 (ns_json_get_string (o, "modality"), modality) != 0)
        continue;
      gint64 v = -1;
      ns_json_get_int (o, "volume", &v);
      if (file != NULL)
        *file = g_strdup (ns_json_get_string (o, "file"));
      if (volume != NULL)
        *volume = (int) CLAMP (v, -1, G_MAXINT);
      return TRUE;
    }
  return FALSE;
}

/* One channel of a case, decoded and checked. */
typedef struct
{
  char *file;
  int volume;            /* -1: a 3-D file */
  NsVolume *decoded;     /* the volume of a 4-D file (written anew), else NULL */
} Channel;

static void
channel_clear (Channel *c)
{
  g_clear_pointer (&c->file, g_free);
  g_clear_pointer (&c->decoded, ns_volume_unref);
}

/* Decodes every source of a case (each file once) and checks that all lie on the grid of
 * the label map, then that the images are those the case was queued with.  out[] receives
 * the channels (n of them); *labels the label map. */
static gboolean
verify_case (NsDb *db, const NsQueueEntry *e, GPtrArray *channels, Channel *out,
             NsLabelMap **labels, GError **error)
{
  g_autoptr (GHashTable) decoded = g_hash_table_new_full (g_str_hash, g_str_equal, g_free,
                                                          (GDestroyNotify) g_ptr_array_unref);
  if (e->mask_path == NULL)
    {
      g_set_error (error, NS_DATA_ERROR, NS_DATA_ERROR_NOT_FOUND,
                   "%s: case %s has no annotation", e->path, e->case_id);
      return FALSE;
    }
  g_autoptr (NsLabelMap) map = e->mask_sha256 != NULL
    ? ns_queue_dup_mask (db, e->annotation_id, error)
    : ns_label_map_read (e->mask_path, NS_LABEL_SCHEME_BRATS2015, FALSE, error);
  if (map == NULL)
    return FALSE;
  for (guint c = 0; c < channels->len; c++)
    {
      Channel *ch = &out[c];
      ch->volume = -1;
      if (!find_modality (e->modalities, g_ptr_array_index (channels, c), &ch->file,
                          &ch->volume))
        {
          g_set_error (error, NS_DATA_ERROR, NS_DATA_ERROR_NOT_FOUND, "%s: case %s has no %s image",
                       e->path, e->case_id, (const char *) g_ptr_array_index (channels, c));
          return FALSE;
        }
      GPtrArray *vols = g_hash_table_lookup (decoded, ch->file);
      if (vols == NULL)
        {
          vols = ns_nifti_read_all (ch->file, error);
          if (vols == NULL)
            return FALSE;
          g_hash_table_insert (decoded, g_strdup (ch->file), vols);
        }
      int index = MAX (ch->volume, 0);
      if (index >= (int) vols->len || (ch->volume < 0 && vols->len != 1))
        {
          g_set_error (error, NS_DATA_ERROR, NS_DATA_ERROR_CORRUPT,
                       "%s: holds %u volumes; the queue expects %s", ch->file, vols->len,
                       ch->volume < 0 ? "one" : "a 4-modality file");
          return FALSE;
        }
      NsVolume *v = g_ptr_array_index (vols, index);
      if (!ns_grid_equal (&v->grid, &map->grid))
        {
          g_set_error (error, NS_DATA_ERROR, NS_DATA_ERROR_GRID_MISMATCH,
                       "%s: its grid differs from that of the case's mask %s", ch->file,
                       e->mask_path);
          return FALSE;
        }
      if (ch->volume >= 0)
        ch->decoded = ns_volume_ref (v);
    }
  if (!ns_queue_verify_case_files (e, error))
    return FALSE;
  *labels = g_steal_pointer (&map);
  return TRUE;
}

/* ---- writing ------------------------------------------------------------------------------ */

static gboolean
copy_file (const char *src, const char *dst, gboolean compress, GError **error)
{
  g_autoptr (GFile) in = g_file_new_for_path (src);
  g_autoptr (GFile) out = g_file_new_for_path (dst);
  g_autoptr (GError) local = NULL;

  if (!compress)
    {
      if (!g_file_copy (in, out, G_FILE_COPY_NONE, NULL, NULL, NULL, &local))
        {
          g_set_error (error, NS_DATA_ERROR, NS_DATA_ERROR_IO, "%s: cannot copy to %s: %s",
                       src, dst, local->message);
          return FALSE;
        }
      return TRUE;
    }
  /* An uncompressed .nii becomes .nii.gz: the same bytes, gzip-compressed. */
  g_autoptr (GFileInputStream) is = g_file_read (in, NULL, &local);
  g_autoptr (GFileOutputStream) os = NULL;
  if (is != NULL)
    os = g_file_create (out, G_FILE_CREATE_NONE, NULL, &local);
  if (os != NULL)
    {
      g_autoptr (GZlibCompressor) z = g_zlib_compressor_new (G_ZLIB_COMPRESSOR_FORMAT_GZIP, 6);
      g_autoptr (GOutputStream) zs = g_converter_output_stream_new (G_OUTPUT_STREAM (os),
                                                                    G_CONVERTER (z));
      if (g_output_stream_splice (zs, G_INPUT_STREAM (is),
                                  G_OUTPUT_STREAM_SPLICE_CLOSE_SOURCE
                                  | G_OUTPUT_STREAM_SPLICE_CLOSE_TARGET, NULL, &local) >= 0)
        return TRUE;
    }
  g_set_error (error, NS_DATA_ERROR, NS_DATA_ERROR_IO, "%s: cannot compress to %s: %s", src,
               dst, local->message);
  return FALSE;
}

static gboolean
export_image (const Channel *ch, const char *dst, gboolean copy, GError **error)
{
  /* One volume of a 4-D file: written anew since it cannot be linked. */
  if (ch->decoded != NULL)
    return ns_nifti_write_volume (ch->decoded, dst, error);
  gboolean gz = g_str_has_suffix (ch->file, ".gz") || g_str_has_suffix (ch->file, ".GZ");
  g_autofree char *lower = g_ascii_strdown (ch->file, -1);
  if (!g_str_has_suffix (lower, ".nii") && !g_str_has_suffix (lower, ".nii.gz"))
    gz = TRUE;  /* unusual names: copied as they are */
  if (gz && !copy && link (ch->file, dst) == 0)
    return TRUE;
  return copy_file (ch->file, dst, !gz, error);
}

/* BraTS (2017+ or 2015) to nnU-Net's consecutive labels: 0; 1 NCR/NET (and 2015's 3,
 * non-enhancing, as ns_label_map_map_2015_to_2017 does); 2 edema; 3 enhancing. */
static gboolean
export_labels (NsLabelMap *map, const char *dst, GError **error)
{
  static const guint8 lut[5] = { 0, 1, 2, 1, 3 };
  gsize n = ns_grid_n_voxels (&map->grid);
  for (gsize i = 0; i < n; i++)
    map->labels[i] = lut[map->labels[i]];
  return ns_nifti_write_label_map (map, dst, error);
}

/* Verifies, then writes the files of one case. */
static gboolean
export_case (NsDb *db, const NsQueueEntry *e, const char *ident, GPtrArray *channels,
             const char *images_dir, const char *labels_dir, gboolean copy, GError **error)
{
  g_autofree Channel *chans = g_new0 (Channel, channels->len);
  g_autoptr (NsLabelMap) map = NULL;
  g_autoptr (GError) local = NULL;
  gboolean ok = verify_case (db, e, channels, chans, &map, &local);

  for (guint c = 0; ok && c < channels->len; c++)
    {
      g_autofree char *name = g_strdup_printf ("%s_%04u.nii.gz", ident, c);
      g_autofree char *dst = g_build_filename (images_dir, name, NULL);
      ok = export_image (&chans[c], dst, copy, &local);
    }
  if (ok)
    {
      g_autofree char *lname = g_strdup_printf ("%s.nii.gz", ident);
      g_autofree char *ldst = g_build_filename (labels_dir, lname, NULL);
      ok = export_labels (map, ldst, &local);
    }
  for (guint c = 0; c < channels->len; c++)
    channel_clear (&chans[c]);
  if (!ok)
    g_set_error (error, local->domain, local->code, "%s (case %s, id %" G_GINT64_FORMAT
                 " in the queue: fix the file or leave the case out with `neuroseg queue "
                 "exclude %" G_GINT64_FORMAT "`)", local->message, e->case_id, e->id, e->id);
  return ok;
}

/* dataset.json as nnU-Net v2 reads it (channel_names, labels, numTraining, file_ending),
 * with MSD's "modality" too for older tools, and what each identifier came from. */
static gboolean
write_dataset_json (const char *work, GPtrArray *channels, JsonNode *cases, guint n_cases,
                    GError **error)
{
  static const char *const label_names[] = { "background", "NCR/NET", "edema", "enhancing" };
  g_autoptr (JsonBuilder) b = json_builder_new ();

  json_builder_begin_object (b);
  ns_json_add_string (b, "name", "NeurosegQueue");
  ns_json_add_string (b, "description", "Corrected cases of the Neuroseg fine-tuning queue");
  for (int pass = 0; pass < 2; pass++)
    {
      json_builder_set_member_name (b, pass == 0 ? "channel_names" : "modality");
      json_builder_begin_object (b);
      for (guint c = 0; c < channels->len; c++)
        {
          g_autofree char *key = g_strdup_printf ("%u", c);
          ns_json_add_string (b, key, channel_label (g_ptr_array_index (channels, c)));
        }
      json_builder_end_object (b);
    }
  json_builder_set_member_name (b, "labels");
  json_builder_begin_object (b);
  for (int l = 0; l < 4; l++)
    {
      ns_json_add_int (b, label_names[l], l);
    }
  json_builder_end_object (b);
  ns_json_add_int (b, "numTraining", n_cases);
  ns_json_add_string (b, "file_ending", ".nii.gz");
  json_builder_set_member_name (b, "neuroseg_cases");
  json_builder_add_value (b, cases);
  json_builder_end_object (b);

  g_autoptr (JsonNode) root = json_builder_get_root (b);
  g_autofree char *text = json_to_string (root, TRUE);
  g_autofree char *json_path = g_build_filename (work, "dataset.json", NULL);
  g_autoptr (GError) local = NULL;
  if (!g_file_set_contents (json_path, text, -1, &local))
    {
      g_set_error (error, NS_DATA_ERROR, NS_DATA_ERROR_IO, "%s: %s", json_path, local->message);
      return FALSE;
    }
  return TRUE;
}

/* Writes the dataset into work (an empty folder). */
static gboolean
export_files (NsDb *db, const char *work, GPtrArray *cases, GPtrArray *channels,
              const NsExportOptions *options, GError **error)
{
  g_autofree char *images_dir = g_build_filename (work, "imagesTr", NULL);
  g_autofree char *labels_dir = g_build_filename (work, "labelsTr", NULL);
  if (g_mkdir_with_parents (images_dir, 0755) != 0 || g_mkdir_with_parents (labels_dir, 0755) != 0)
    {
      int e = errno;
      g_set_error (error, NS_DATA_ERROR, NS_DATA_ERROR_IO, "%s: cannot create the folder: %s",
                   work, g_strerror (e));
      return FALSE;
    }

  g_autoptr (GHashTable) used = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  g_autoptr (JsonBuilder) cb = json_builder_new ();
  json_builder_begin_array (cb);
  for (guint i = 0; i < cases->len; i++)
    {
      NsQueueEntry *e = g_ptr_array_index (cases, i);
      g_autofree char *ident = ns_export_dup_identifier (e->case_id, used);
      if (!export_case (db, e, ident, channels, images_dir, labels_dir, options->copy, error))
        return FALSE;
      json_builder_begin_object (cb);
      ns_json_add_string (cb, "identifier", ident);
      ns_json_add_string (cb, "case_id", e->case_id);
      ns_json_add_string (cb, "case", e->path);
      ns_json_add_string (cb, "mask", e->mask_path);
      if (e->mask_sha256 != NULL)
        ns_json_add_string (cb, "mask_sha256", e->mask_sha256);
      ns_json_add_int (cb, "annotation", e->annotation_id);
      ns_json_add_string (cb, "review", ns_queue_review_name (e->review));
      json_builder_end_object (cb);
    }
  json_builder_end_array (cb);
  return write_dataset_json (work, channels, json_builder_get_root (cb), cases->len, error);
}

static void
remove_tree (const char *path)
{
  g_autoptr (GDir) d = g_dir_open (path, 0, NULL);
  const char *name;
  while (d != NULL && (name = g_dir_read_name (d)) != NULL)
    {
      g_autofree char *child = g_build_filename (path, name, NULL);
      if (g_file_test (child, G_FILE_TEST_IS_DIR) && !g_file_test (child, G_FILE_TEST_IS_SYMLINK))
        remove_tree (child);
      else
        g_unlink (child);
    }
  g_rmdir (path);
}

/* The channels: the ones asked for (each case must have them), else those all cases
 * have, in MSD order; none is an error. */
static GPtrArray *
choose_channels (GPtrArray *cases, char **wanted, const char *dir, GError **error)
{
  static const char *const order[] = { "flair", "t1", "t1c", "t2" };  /* MSD order */
  g_autoptr (GPtrArray) channels = g_ptr_array_new ();

  if (wanted != NULL)
    {
      for (char **m = wanted; *m != NULL; m++)
        {
          gboolean known = FALSE;
          for (int k = 0; k < NS_N_MODALITIES; k++)
            known |= g_strcmp0 (*m, ns_modality_name (k)) == 0;
          if (!known)
            {
              g_set_error (error, NS_DATA_ERROR, NS_DATA_ERROR_INVALID,
                           "%s: unknown modality %s (flair, t1c, t1, t2)", dir, *m);
              return NULL;
            }
          g_ptr_array_add (channels, *m);
        }
      for (guint i = 0; i < cases->len; i++)
        {
          NsQueueEntry *e = g_ptr_array_index (cases, i);
          for (guint c = 0; c < channels->len; c++)
            if (!find_modality (e->modalities, g_ptr_array_index (channels, c), NULL, NULL))
              {
                g_set_error (error, NS_DATA_ERROR, NS_DATA_ERROR_NOT_FOUND,
                             "%s: case %s has no %s image", e->path, e->case_id,
                             (const char *) g_ptr_array_index (channels, c));
                return NULL;
              }
        }
    }
  else
    for (guint k = 0; k < G_N_ELEMENTS (order); k++)
      {
        gboolean everywhere = TRUE;
        for (guint i = 0; i < cases->len && everywhere; i++)
          everywhere = find_modality (((NsQueueEntry *) g_ptr_array_index (cases, i))->modalities,
                                      order[k], NULL, NULL);
        if (everywhere)
          g_ptr_array_add (channels, (gpointer) order[k]);
      }
  if (channels->len == 0)
    {
      g_set_error (error, NS_DATA_ERROR, NS_DATA_ERROR_INVALID,
                   "%s: no image modality is common to the %u cases to export: choose them "
                   "with --modalities, or exclude the cases that lack them", dir, cases->len);
      return NULL;
    }
  return g_steal_pointer (&channels);
}

gboolean
ns_export_nnunet (NsDb *db, const char *dir, const NsExportOptions *options, guint *n_cases,
                  GError **error)
{
  NsExportOptions defaults = { 0 };

  g_return_val_if_fail (db != NULL && dir != NULL, FALSE);
  if (options == NULL)
    options = &defaults;

  g_autoptr (GPtrArray) all = ns_queue_list (db, NS_QUEUE_SORT_ADDED, -1, error);
  if (all == NULL)
    return FALSE;
  g_autoptr (GPtrArray) cases = g_ptr_array_new ();
  for (guint i = 0; i < all->len; i++)
    {
      NsQueueEntry *e = g_ptr_array_index (all, i);
      if ((e->state == NS_QUEUE_STATE_QUEUED
           || (options->include_used && e->state == NS_QUEUE_STATE_USED))
          && (!options->accepted_only || e->review == NS_QUEUE_REVIEW_ACCEPTED))
        g_ptr_array_add (cases, e);
    }
  if (cases->len == 0)
    {
      g_set_error (error, NS_DATA_ERROR, NS_DATA_ERROR_NOT_FOUND,
                   "%s: no %s cases%s to export", db->path,
                   options->include_used ? "queued or used" : "queued",
                   options->accepted_only ? " with an accepted correction" : "");
      return FALSE;
    }
  g_autoptr (GPtrArray) channels = choose_channels (cases, options->modalities, dir, error);
  if (channels == NULL)
    return FALSE;

  /* The folder must be new or empty: we never write over anything. */
  if (g_file_test (dir, G_FILE_TEST_EXISTS))
    {
      g_autoptr (GDir) d = g_dir_open (dir, 0, NULL);
      if (d == NULL || g_dir_read_name (d) != NULL)
        {
          g_set_error (error, NS_DATA_ERROR, NS_DATA_ERROR_INVALID,
                       "%s: exists and is not an empty folder", dir);
          return FALSE;
        }
    }
  g_autofree char *abs = g_canonicalize_filename (dir, NULL);
  g_autofree char *parent = g_path_get_dirname (abs);
  g_autofree char *base = g_path_get_basename (abs);
  g_autofree char *tmpl = g_strdup_printf ("%s/.%s.partial-XXXXXX", parent, base);
  if (g_mkdir_with_parents (parent, 0755) != 0 || g_mkdtemp_full (tmpl, 0755) == NULL)
    {
      int e = errno;
      g_set_error (error, NS_DATA_ERROR, NS_DATA_ERROR_IO, "%s: cannot create the folder: %s",
                   dir, g_strerror (e));
      return FALSE;
    }
  if (!export_files (db, tmpl, cases, channels, options, error))
    {
      remove_tree (tmpl);
      return FALSE;
    }
  if (g_file_test (abs, G_FILE_TEST_IS_DIR))
    g_rmdir (abs);  /* empty, checked above */
  if (g_rename (tmpl, abs) != 0)
    {
      int e = errno;
      remove_tree (tmpl);
      g_set_error (error, NS_DATA_ERROR, NS_DATA_ERROR_IO, "%s: cannot create the folder: %s",
                   dir, g_strerror (e));
      return FALSE;
    }
  if (n_cases != NULL)
    *n_cases = cases->len;
  return TRUE;
}
