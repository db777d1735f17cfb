/* SPDX-License-Identifier: MIT
 *
 * ns-mask-doc.c: a mask being edited, with its history, journal and save state.
 *
 * Crash safety of a save: the NIfTI is replaced atomically first, the journal truncated
 * after.  A crash in between leaves the new file and the old journal; replaying the
 * journal onto it is harmless, because each record sets absolute values and the last
 * record touching a voxel sets its final value, which the saved file already holds.
 */
#define G_LOG_DOMAIN "neuroseg-data"

#include "ns-mask-doc.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include <glib/gstdio.h>

#include "ns-data-error.h"
#include "ns-nifti.h"

/* What a file looked like when we last read or wrote it. */
typedef struct
{
  gboolean exists;
  gint64 mtime_ns;
  gint64 size;
  char sha256[65];
} DiskStamp;

struct _NsMaskDoc
{
  NsVolume *image;
  NsLabelMap *map;
  NsLabelTable *labels;
  NsHistory *history;
  NsJournal *journal;
  char *path;
  DiskStamp stamp;
  gboolean map_written;   /* see ns_mask_doc_map_written() */
  char *read_only;        /* why every write is refused, or NULL (see the header) */
};

static gboolean
stamp_stat (const char *path, DiskStamp *stamp)
{
  memset (stamp, 0, sizeof *stamp);
  GStatBuf st;
  if (g_stat (path, &st) != 0)
    return FALSE;
  stamp->exists = TRUE;
  stamp->mtime_ns = (gint64) st.st_mtim.tv_sec * 1000000000 + st.st_mtim.tv_nsec;
  stamp->size = st.st_size;
  return TRUE;
}

static void
stamp_hash (const char *path, DiskStamp *stamp)
{
  FILE *f = fopen (path, "rb");
  if (f == NULL)
    {
      stamp->sha256[0] = '\0';
      return;
    }
  g_autoptr (GChecksum) sum = g_checksum_new (G_CHECKSUM_SHA256);
  guint8 buf[65536];
  size_t r;
  while ((r = fread (buf, 1, sizeof buf, f)) > 0)
    g_checksum_update (sum, buf, r);
  fclose (f);
  g_strlcpy (stamp->sha256, g_checksum_get_string (sum), sizeof stamp->sha256);
}

static void
stamp_take (const char *path, DiskStamp *stamp)
{
  if (stamp_stat (path, stamp))
    stamp_hash (path, stamp);
}

/* Changed: appeared, vanished, other size, or other time and other content (a touch
 * alone, or a copy of the same bytes, is no change). */
static gboolean
stamp_changed (const char *path, const DiskStamp *was)
{
  DiskStamp now;
  stamp_stat (path, &now);
  if (now.exists != was->exists)
    return TRUE;
  if (!now.exists)
    return FALSE;
  if (now.size != was->size)
    return TRUE;
  if (now.mtime_ns == was->mtime_ns)
    return FALSE;
  stamp_hash (path, &now);
  return strcmp (now.sha256, was->sha256) != 0;
}

NsLabelMap *
ns_mask_doc_read_mask (const char *path, const NsGrid *grid, GError **error)
{
  g_return_val_if_fail (path != NULL && grid != NULL, NULL);
  g_autoptr (NsVolume) vol = ns_nifti_read (path, error);
  if (vol == NULL)
    return NULL;
  if (!ns_grid_equal (&vol->grid, grid))
    {
      g_set_error (error, NS_DATA_ERROR, NS_DATA_ERROR_GRID_MISMATCH,
                   "%s: mask is %dx%dx%d and not on the image's %dx%dx%d grid", path,
                   vol->grid.dim[0], vol->grid.dim[1], vol->grid.dim[2], grid->dim[0],
                   grid->dim[1], grid->dim[2]);
      return NULL;
    }
  if (vol->n_nonfinite > 0)
    {
      g_set_error (error, NS_DATA_ERROR, NS_DATA_ERROR_BAD_LABELS,
                   "%s: %" G_GSIZE_FORMAT " NaN or infinite voxels in a mask", path,
                   vol->n_nonfinite);
      return NULL;
    }
  g_autoptr (NsLabelMap) map = ns_label_map_new (grid, error);
  if (map == NULL)
    return NULL;
  gsize n = ns_grid_n_voxels (grid);
  for (gsize i = 0; i < n; i++)
    {
      float v = ns_volume_get_value (vol, i);
      float r = nearbyintf (v);
      if (fabsf (v - r) > 1e-3f || r < 0.0f || r > 255.0f)
        {
          int x = (int) (i % grid->dim[0]), y = (int) (i / grid->dim[0] % grid->dim[1]);
          int z = (int) (i / ((gsize) grid->dim[0] * grid->dim[1]));
          g_set_error (error, NS_DATA_ERROR, NS_DATA_ERROR_BAD_LABELS,
                       "%s: value %g at voxel (%d, %d, %d) is not a label 0..255", path, v, x,
                       y, z);
          return NULL;
        }
      map->labels[i] = (guint8) r;
    }
  map->path = g_strdup (path);
  return g_steal_pointer (&map);
}

/* decoded: mask_path's labels already read (a reference is taken), or NULL to read them. */
static NsMaskDoc *
mask_doc_open (NsVolume *image, NsLabelMap *decoded, const char *mask_path,
               const char *case_key, gsize history_budget, GError **error)
{
  g_autoptr (NsLabelMap) map = NULL;
  DiskStamp stamp;
  stamp_take (mask_path, &stamp);
  if (decoded != NULL)
    {
      if (!ns_grid_equal (&decoded->grid, &image->grid))
        {
          g_set_error (error, NS_DATA_ERROR, NS_DATA_ERROR_GRID_MISMATCH,
                       "%s: mask is %dx%dx%d and not on the image's %dx%dx%d grid", mask_path,
                       decoded->grid.dim[0], decoded->grid.dim[1], decoded->grid.dim[2],
                       image->grid.dim[0], image->grid.dim[1], image->grid.dim[2]);
          return NULL;
        }
      map = ns_label_map_ref (decoded);
    }
  else if (stamp.exists)
    map = ns_mask_doc_read_mask (mask_path, &image->grid, error);
  else
    {
      map = ns_label_map_new (&image->grid, error);
      if (map != NULL)
        map->path = g_strdup (mask_path);
    }
  if (map == NULL)
    return NULL;

  g_autofree char *table_path = ns_label_table_path_for_mask (mask_path);
  NsLabelTable *labels = NULL;
  if (g_file_test (table_path, G_FILE_TEST_EXISTS))
    {
      labels = ns_label_table_load (table_path, error);
      if (labels == NULL)
        return NULL;
    }
  else
    labels = ns_label_table_new_for_scheme (ns_label_map_guess_scheme (map));

  NsJournal *journal = ns_journal_open (case_key != NULL ? case_key : mask_path, error);
  if (journal == NULL)
    {
      ns_label_table_free (labels);
      return NULL;
    }
  ns_journal_set_base (journal, stamp.exists ? stamp.sha256 : "none");
  NsMaskDoc *doc = g_new0 (NsMaskDoc, 1);
  doc->image = ns_volume_ref (image);
  doc->map = g_steal_pointer (&map);
  doc->labels = labels;
  doc->history = ns_history_new (history_budget);
  doc->journal = journal;
  doc->path = g_strdup (mask_path);
  doc->stamp = stamp;
  return doc;
}

NsMaskDoc *
ns_mask_doc_open (NsVolume *image, const char *mask_path, const char *case_key,
                  gsize history_budget, GError **error)
{
  g_return_val_if_fail (image != NULL && mask_path != NULL, NULL);
  return mask_doc_open (image, NULL, mask_path, case_key, history_budget, error);
}

NsMaskDoc *
ns_mask_doc_open_decoded (NsVolume *image, NsLabelMap *decoded, const char *mask_path,
                          const char *case_key, gsize history_budget, GError **error)
{
  g_return_val_if_fail (image != NULL && decoded != NULL && mask_path != NULL, NULL);
  return mask_doc_open (image, decoded, mask_path, case_key, history_budget, error);
}

gboolean
ns_mask_doc_map_written (NsMaskDoc *doc)
{
  g_return_val_if_fail (doc != NULL, FALSE);
  return doc->map_written;
}

void
ns_mask_doc_free (NsMaskDoc *doc)
{
  if (doc == NULL)
    return;
  ns_journal_close (doc->journal);
  ns_history_free (doc->history);
  ns_label_table_free (doc->labels);
  ns_label_map_unref (doc->map);
  ns_volume_unref (doc->image);
  g_free (doc->path);
  g_free (doc->read_only);
  g_free (doc);
}

void
ns_mask_doc_set_read_only (NsMaskDoc *doc, const char *reason)
{
  g_return_if_fail (doc != NULL);
  if (reason != doc->read_only)
    {
      g_free (doc->read_only);
      doc->read_only = g_strdup (reason);
    }
}

const char *
ns_mask_doc_get_read_only (NsMaskDoc *doc)
{
  g_return_val_if_fail (doc != NULL, NULL);
  return doc->read_only;
}

/* The one check of the read-only state for what writes voxels: FALSE + error naming the
 * file and why. */
static gboolean
check_writable (NsMaskDoc *doc, GError **error)
{
  if (doc->read_only == NULL)
    return TRUE;
  g_set_error (error, NS_DATA_ERROR, NS_DATA_ERROR_REFUSED, "%s is read-only: %s", doc->path,
               doc->read_only);
  return FALSE;
}

NsLabelMap *
ns_mask_doc_get_map (NsMaskDoc *doc)
{
  g_return_val_if_fail (doc != NULL, NULL);
  return doc->map;
}

NsVolume *
ns_mask_doc_get_image (NsMaskDoc *doc)
{
  g_return_val_if_fail (doc != NULL, NULL);
  return doc->image;
}

NsLabelTable *
ns_mask_doc_get_labels (NsMaskDoc *doc)
{
  g_return_val_if_fail (doc != NULL, NULL);
  return doc->labels;
}

NsHistory *
ns_mask_doc_get_history (NsMaskDoc *doc)
{
  g_return_val_if_fail (doc != NULL, NULL);
  return doc->history;
}

NsJournal *
ns_mask_doc_get_journal (NsMaskDoc *doc)
{
  g_return_val_if_fail (doc != NULL, NULL);
  return doc->journal;
}

const char *
ns_mask_doc_get_path (NsMaskDoc *doc)
{
  g_return_val_if_fail (doc != NULL, NULL);
  return doc->path;
}

guint
ns_mask_doc_n_recoverable (NsMaskDoc *doc)
{
  g_return_val_if_fail (doc != NULL, 0);
  return ns_journal_n_recoverable (doc->journal);
}

gboolean
ns_mask_doc_recovery_matches (NsMaskDoc *doc)
{
  g_return_val_if_fail (doc != NULL, FALSE);
  const char *base = ns_journal_get_recorded_base (doc->journal);
  const char *now = doc->stamp.exists ? doc->stamp.sha256 : "none";
  return base == NULL || strcmp (base, now) == 0;
}

gboolean
ns_mask_doc_recover (NsMaskDoc *doc, gboolean force, guint *n_replayed, GError **error)
{
  g_return_val_if_fail (doc != NULL, FALSE);
  if (!check_writable (doc, error))
    return FALSE;
  if (!force && !ns_mask_doc_recovery_matches (doc))
    {
      g_set_error (error, NS_EDIT_ERROR, NS_EDIT_ERROR_CHANGED_ON_DISK,
                   "%s: changed on disk since the unsaved edits were made; recovering them "
                   "onto it would mix two versions", doc->path);
      return FALSE;
    }
  doc->map_written = TRUE;   /* even a replay that fails part way may have written */
  return ns_journal_replay (doc->journal, doc->map, doc->history, n_replayed, error);
}

gboolean
ns_mask_doc_discard_recovery (NsMaskDoc *doc, GError **error)
{
  g_return_val_if_fail (doc != NULL, FALSE);
  return ns_journal_truncate (doc->journal, error);
}

gboolean
ns_mask_doc_commit (NsMaskDoc *doc, NsEditChange *change)
{
  g_return_val_if_fail (doc != NULL, FALSE);
  g_autoptr (NsEditChange) owned = change;
  /* applied already by the tool: put back exactly, nothing recorded */
  if (change != NULL && !check_writable (doc, NULL))
    {
      ns_edit_change_apply (change, doc->map, FALSE);
      return FALSE;
    }
  doc->map_written |= change != NULL;   /* applied already, whether the history keeps it */
  if (change == NULL || !ns_history_push (doc->history, change))
    return FALSE;
  ns_journal_append (doc->journal, change, TRUE);
  return TRUE;
}

gboolean
ns_mask_doc_replace (NsMaskDoc *doc, const guint8 *labels, const char *name)
{
  g_return_val_if_fail (doc != NULL && labels != NULL, FALSE);
  if (!check_writable (doc, NULL))
    return FALSE;
  return ns_mask_doc_commit (doc, ns_edit_replace_labels (doc->map, labels, name));
}

guint
ns_mask_doc_undo (NsMaskDoc *doc, guint n)
{
  g_return_val_if_fail (doc != NULL, 0);
  guint done = 0;
  const NsEditChange *c;
  if (!check_writable (doc, NULL))
    return 0;
  while (done < n && (c = ns_history_undo (doc->history, doc->map)) != NULL)
    {
      doc->map_written = TRUE;
      ns_journal_append (doc->journal, (NsEditChange *) c, FALSE);
      done++;
    }
  return done;
}

guint
ns_mask_doc_redo (NsMaskDoc *doc, guint n)
{
  g_return_val_if_fail (doc != NULL, 0);
  guint done = 0;
  const NsEditChange *c;
  if (!check_writable (doc, NULL))
    return 0;
  while (done < n && (c = ns_history_redo (doc->history, doc->map)) != NULL)
    {
      doc->map_written = TRUE;
      ns_journal_append (doc->journal, (NsEditChange *) c, TRUE);
      done++;
    }
  return done;
}

gboolean
ns_mask_doc_is_modified (NsMaskDoc *doc)
{
  g_return_val_if_fail (doc != NULL, FALSE);
  return !ns_history_is_clean (doc->history);
}

gboolean
ns_mask_doc_changed_on_disk (NsMaskDoc *doc)
{
  g_return_val_if_fail (doc != NULL, FALSE);
  return stamp_changed (doc->path, &doc->stamp);
}

gboolean
ns_mask_doc_save (NsMaskDoc *doc, const char *path, gboolean force, GError **error)
{
  g_return_val_if_fail (doc != NULL, FALSE);
  gboolean same = path == NULL || g_strcmp0 (path, doc->path) == 0;
  const char *target = same ? doc->path : path;
  /* Save As to another file: the file chooser has asked about overwriting it. */
  if (same && !force && stamp_changed (doc->path, &doc->stamp))
    {
      g_set_error (error, NS_EDIT_ERROR, NS_EDIT_ERROR_CHANGED_ON_DISK,
                   "%s: changed on disk since it was opened or saved; not overwritten",
                   doc->path);
      return FALSE;
    }
  if (!ns_nifti_write_label_map (doc->map, target, error))
    return FALSE;
  g_autofree char *table_path = ns_label_table_path_for_mask (target);
  if (!ns_label_table_save (doc->labels, table_path, error))
    return FALSE;
  ns_history_mark_clean (doc->history);
  stamp_take (target, &doc->stamp);
  if (!same)
    {
      g_free (doc->path);
      doc->path = g_strdup (target);
      g_free (doc->map->path);
      doc->map->path = g_strdup (target);
    }
  /* The journal stays keyed by the case: it now describes edits since this save. */
  if (!ns_journal_truncate (doc->journal, error))
    return FALSE;
  ns_journal_set_base (doc->journal, doc->stamp.sha256);
  return TRUE;
}
