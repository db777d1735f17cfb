/* SPDX-License-Identifier: MIT
 *
 * ns-queue-files.c: the files of the queue's cases away from where they were queued (see
 * ns-queue.h): corrected masks stored in the database, and the sha256 of the images.
 *
 * A mask is stored as a gzip-compressed NIfTI file, byte for byte what the annotator's
 * .nii.gz was (a .nii is compressed first): a BraTS label map of 240 x 240 x 155 voxels
 * is about 9 MB raw and some 100 kB compressed.  Its sha256 (of the stored bytes) is
 * checked whenever it is read back, so that a damaged row is reported, never trained on.
 */
#define G_LOG_DOMAIN "neuroseg-data"

#include "ns-queue-private.h"

#include "ns-data-error.h"
#include "ns-db-private.h"
#include "ns-file.h"
#include "ns-nifti.h"
#include "ns-registry.h"

#include <gio/gio.h>
#include <glib/gstdio.h>
#include <json-glib/json-glib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

/* ---- storing ----------------------------------------------------------------------------- */

static GBytes *
gzip_bytes (const guint8 *data, gsize len, GError **error, const char *path)
{
  z_stream zs = { 0 };
  if (deflateInit2 (&zs, 6, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK)
    {
      g_set_error (error, NS_DATA_ERROR, NS_DATA_ERROR_IO, "%s: cannot compress: %s", path,
                   zs.msg != NULL ? zs.msg : "zlib failed");
      return NULL;
    }
  gsize cap = deflateBound (&zs, len);
  guint8 *out = g_malloc (cap);
  zs.next_in = (Bytef *) data;
  zs.avail_in = len;
  zs.next_out = out;
  zs.avail_out = cap;
  int rc = deflate (&zs, Z_FINISH);
  gsize n = zs.total_out;
  deflateEnd (&zs);
  if (rc != Z_STREAM_END)
    {
      g_free (out);
      g_set_error (error, NS_DATA_ERROR, NS_DATA_ERROR_IO, "%s: cannot compress", path);
      return NULL;
    }
  return g_bytes_new_take (g_realloc (out, MAX (n, 1)), n);
}

GBytes *
_ns_queue_pack_mask (const char *path, char **sha256, GError **error)
{
  /* Only a regular file, opened so that a FIFO or a device cannot block or act (ns-file.h);
   * its header checked first, so that no giant file is read for nothing. */
  NsNiftiHeader header;
  if (!ns_nifti_read_header (path, &header, error))
    return NULL;
  struct stat st;
  int fd = ns_file_open_regular (path, &st, error);
  if (fd < 0)
    return NULL;
  gsize len = (gsize) st.st_size;
  g_autofree char *data = g_malloc (MAX (len, 1));
  gboolean ok = ns_file_read_at (fd, data, len, 0, path, error);
  close (fd);
  if (!ok)
    return NULL;
  GBytes *packed;
  if (len >= 2 && (guint8) data[0] == 0x1f && (guint8) data[1] == 0x8b)
    packed = g_bytes_new_take (g_steal_pointer (&data), len);
  else if ((packed = gzip_bytes ((const guint8 *) data, len, error, path)) == NULL)
    return NULL;
  *sha256 = g_compute_checksum_for_bytes (G_CHECKSUM_SHA256, packed);
  return packed;
}

/* ---- reading back ------------------------------------------------------------------------ */

/* The stored bytes of an annotation's mask, checked. */
static GBytes *
read_stored (NsDb *db, gint64 annotation_id, GError **error)
{
  g_autoptr (NsDbStmt) st = _ns_db_prepare (db,
    "SELECT m.data, m.sha256, a.mask_path FROM annotations a "
    "LEFT JOIN annotation_masks m ON m.annotation_ref = a.id WHERE a.id = ?", error);
  if (st == NULL)
    return NULL;
  _ns_db_bind_int (st, 1, annotation_id);
  NsDbStep r = _ns_db_step (st);
  if (r == NS_DB_STEP_FAILED)
    {
      _ns_db_set_error (db, error, "cannot read the stored mask");
      return NULL;
    }
  if (r == NS_DB_STEP_DONE)
    {
      g_set_error (error, NS_DATA_ERROR, NS_DATA_ERROR_NOT_FOUND,
                   "%s: no annotation %" G_GINT64_FORMAT " in the queue", db->path,
                   annotation_id);
      return NULL;
    }
  if (_ns_db_column_is_null (st, 1))
    {
      g_set_error (error, NS_DATA_ERROR, NS_DATA_ERROR_NOT_FOUND,
                   "%s: annotation %" G_GINT64_FORMAT " was queued before masks were stored "
                   "in the database: its mask is the file %s", db->path, annotation_id,
                   _ns_db_column_peek_text (st, 2));
      return NULL;
    }
  g_autoptr (GBytes) data = _ns_db_column_blob (st, 0);
  g_autofree char *sum = g_compute_checksum_for_bytes (G_CHECKSUM_SHA256, data);
  if (g_strcmp0 (sum, _ns_db_column_peek_text (st, 1)) != 0)
    {
      g_set_error (error, NS_DATA_ERROR, NS_DATA_ERROR_CORRUPT,
                   "%s: the stored mask of annotation %" G_GINT64_FORMAT " is damaged (sha256 "
                   "%s, recorded %s)", db->path, annotation_id, sum,
                   _ns_db_column_peek_text (st, 1));
      return NULL;
    }
  return g_steal_pointer (&data);
}

gboolean
ns_queue_write_mask (NsDb *db, gint64 annotation_id, const char *dest, GError **error)
{
  g_return_val_if_fail (db != NULL && dest != NULL, FALSE);
  g_autoptr (GBytes) data = read_stored (db, annotation_id, error);
  if (data == NULL)
    return FALSE;
  g_autoptr (GFile) f = g_file_new_for_path (dest);
  g_autoptr (GError) local = NULL;
  /* Created, never replaced: whatever is at dest is somebody's. */
  g_autoptr (GFileOutputStream) out = g_file_create (f, G_FILE_CREATE_NONE, NULL, &local);
  gsize written = 0;
  if (out != NULL)
    {
      gsize len;
      gconstpointer bytes = g_bytes_get_data (data, &len);
      if (g_output_stream_write_all (G_OUTPUT_STREAM (out), bytes, len, &written, NULL, &local)
          && g_output_stream_close (G_OUTPUT_STREAM (out), NULL, &local))
        return TRUE;
      g_unlink (dest);
    }
  g_set_error (error, NS_DATA_ERROR,
               g_error_matches (local, G_IO_ERROR, G_IO_ERROR_EXISTS) ? NS_DATA_ERROR_INVALID
                                                                      : NS_DATA_ERROR_IO,
               "%s: cannot write the stored mask of annotation %" G_GINT64_FORMAT ": %s", dest,
               annotation_id, local->message);
  return FALSE;
}

NsLabelMap *
_ns_queue_decode_mask (GBytes *bytes, const char *name, GError **error)
{
  gsize size = 0;
  const void *data = g_bytes_get_data (bytes, &size);
  g_autoptr (GPtrArray) vols = ns_nifti_read_memory (data, size, name, error);
  if (vols == NULL)
    return NULL;
  if (vols->len != 1)
    {
      g_set_error (error, NS_DATA_ERROR, NS_DATA_ERROR_UNSUPPORTED,
                   "%s: holds %u volumes; a mask is one 3-D label map", name, vols->len);
      return NULL;
    }
  return ns_label_map_from_volume (g_ptr_array_index (vols, 0), NS_LABEL_SCHEME_BRATS2015,
                                   FALSE, error);
}

NsLabelMap *
ns_queue_dup_mask (NsDb *db, gint64 annotation_id, GError **error)
{
  g_return_val_if_fail (db != NULL, NULL);
  g_autoptr (GBytes) data = read_stored (db, annotation_id, error);
  if (data == NULL)
    return NULL;
  g_autofree char *name = g_strdup_printf ("%s: the stored mask of annotation %"
                                           G_GINT64_FORMAT, db->path, annotation_id);
  return _ns_queue_decode_mask (data, name, error);
}

/* ---- the images ------------------------------------------------------------------------- */

gboolean
ns_queue_verify_case_files (const NsQueueEntry *entry, GError **error)
{
  g_return_val_if_fail (entry != NULL, FALSE);
  g_autoptr (JsonParser) parser = json_parser_new ();
  JsonNode *root = NULL;
  if (entry->modalities != NULL
      && json_parser_load_from_data (parser, entry->modalities, -1, NULL))
    root = json_parser_get_root (parser);
  if (root == NULL || !JSON_NODE_HOLDS_ARRAY (root))
    {
      g_set_error (error, NS_DATA_ERROR, NS_DATA_ERROR_CORRUPT,
                   "%s: the queue's list of the images of case %s is unreadable", entry->path,
                   entry->case_id);
      return FALSE;
    }
  g_autoptr (GHashTable) checked = g_hash_table_new (g_str_hash, g_str_equal);
  JsonArray *a = json_node_get_array (root);
  for (guint i = 0; i < json_array_get_length (a); i++)
    {
      JsonObject *o = json_array_get_object_element (a, i);
      const char *file = o != NULL ? json_object_get_string_member_with_default (o, "file", NULL)
                                   : NULL;
      if (file == NULL || g_hash_table_contains (checked, file))
        continue;
      g_hash_table_add (checked, (gpointer) file);
      const char *want = json_object_get_string_member_with_default (o, "sha256", NULL);
      if (!g_file_test (file, G_FILE_TEST_EXISTS))
        {
          g_set_error (error, NS_DATA_ERROR, NS_DATA_ERROR_NOT_FOUND,
                       "%s: no such file here (case %s was queued with it; every workstation "
                       "needs the images at the same path)", file, entry->case_id);
          return FALSE;
        }
      if (want == NULL)
        continue;   /* queued before checksums were recorded */
      g_autofree char *sum = ns_registry_dup_file_sha256 (file, error);
      if (sum == NULL)
        return FALSE;
      if (g_strcmp0 (sum, want) != 0)
        {
          g_set_error (error, NS_DATA_ERROR, NS_DATA_ERROR_CORRUPT,
                       "%s: not the file case %s was queued with (sha256 %s, queued %s)", file,
                       entry->case_id, sum, want);
          return FALSE;
        }
    }
  return TRUE;
}
