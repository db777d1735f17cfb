/* SPDX-License-Identifier: MIT
 *
 * ns-queue.c: the fine-tuning queue on the database (see ns-queue.h): cases, their
 * annotations, states and the history of states.
 *
 * Adding a case decodes all of its images before anything is written: a queue that holds
 * a truncated FLAIR would hand it to the trainer and the export later, far from where it
 * could have been refused.  The decoding, the effort (which reads two masks), the images'
 * sha256 and the packing of the mask for the database happen before the write
 * transaction, which then only touches the database.  Claims are ns-queue-claim.c,
 * reviews ns-queue-review.c, stored masks and image checks ns-queue-files.c.
 */
#define G_LOG_DOMAIN "neuroseg-data"

#include "ns-queue-private.h"

#include "ns-case.h"
#include "ns-data-error.h"
#include "ns-db-private.h"
#include "ns-json.h"
#include "ns-labels.h"
#include "ns-metrics.h"
#include "ns-registry-private.h"

#include <json-glib/json-glib.h>
#include <math.h>
#include <string.h>

static const char *const state_names[] = { "queued", "used", "excluded" };

const char *
ns_queue_state_name (NsQueueState state)
{
  g_return_val_if_fail (state <= NS_QUEUE_STATE_EXCLUDED, NULL);
  return state_names[state];
}

gboolean
ns_queue_state_from_name (const char *name, NsQueueState *state)
{
  for (guint i = 0; i < G_N_ELEMENTS (state_names); i++)
    if (g_strcmp0 (name, state_names[i]) == 0)
      {
        *state = i;
        return TRUE;
      }
  return FALSE;
}

/* ---- adding a case --------------------------------------------------------------------- */

/* The case's modality files as the JSON array stored with it, with their sha256 (sums:
 * file -> sha256). */
static char *
modalities_json (const NsCaseDescription *d, GHashTable *sums)
{
  g_autoptr (JsonBuilder) b = json_builder_new ();
  json_builder_begin_array (b);
  for (int m = 0; m < NS_N_MODALITIES; m++)
    {
      if (d->files[m] == NULL)
        continue;
      json_builder_begin_object (b);
      ns_json_add_string (b, "modality", ns_modality_name (m));
      ns_json_add_string (b, "file", d->files[m]);
      ns_json_add_string (b, "sha256", g_hash_table_lookup (sums, d->files[m]));
      if (d->volumes[m] >= 0)
        ns_json_add_int (b, "volume", d->volumes[m]);
      json_builder_end_object (b);
    }
  json_builder_end_array (b);
  return ns_json_builder_dup_text (b);
}

typedef struct
{
  const NsCaseDescription *desc;
  const char *modalities;
  const NsQueueAnnotation *ann;
  const char *mask;        /* absolute */
  const char *prediction;  /* absolute or NULL */
  double effort;
  gint64 edited;
  GBytes *mask_bytes;      /* as stored (_ns_queue_pack_mask) */
  const char *mask_sha256;
  gint64 case_row;         /* out */
} AddData;

static gboolean
add_history (NsDb *db, gint64 case_row, NsQueueState state, int version, const char *at,
             const char *who, const char *note, GError **error)
{
  g_autoptr (NsDbStmt) st = _ns_db_prepare (db,
    "INSERT INTO queue_history (case_ref, state, model_version, at, who, note) "
    "VALUES (?, ?, ?, ?, ?, ?)", error);
  if (st == NULL)
    return FALSE;
  _ns_db_bind_int (st, 1, case_row);
  _ns_db_bind_text (st, 2, state_names[state]);
  _ns_db_bind_int_or_null (st, 3, version);
  _ns_db_bind_text (st, 4, at);
  _ns_db_bind_text (st, 5, who);
  _ns_db_bind_text (st, 6, note);
  return _ns_db_step_done (st, "cannot record the queue history", error);
}

static gboolean
add_txn (NsDb *db, gpointer data, GError **error)
{
  AddData *d = data;
  g_autofree char *now = _ns_db_dup_now ();
  const char *who = d->ann->who != NULL ? d->ann->who : g_get_user_name ();
  gint64 annotation = 0;

  _ns_db_touch (db, NS_DB_CHANGES_QUEUE);
  if (d->ann->model_version > 0 && !_ns_registry_check_model (db, d->ann->model_version, error))
    return FALSE;

  d->case_row = 0;
  {
    g_autoptr (NsDbStmt) st = _ns_db_prepare (db, "SELECT id FROM cases WHERE path = ?",
                                              error);
    if (st == NULL)
      return FALSE;
    _ns_db_bind_text (st, 1, d->desc->path);
    NsDbStep rc = _ns_db_step (st);
    if (rc == NS_DB_STEP_ROW)
      d->case_row = _ns_db_column_int64 (st, 0);
    else if (rc != NS_DB_STEP_DONE)
      {
        _ns_db_set_error (db, error, "cannot look up the case");
        return FALSE;
      }
  }
  /* Not over someone else's correction in progress. */
  if (!_ns_queue_check_claim (db, d->case_row, d->ann->claim_token, error))
    return FALSE;
  if (d->case_row != 0)
    {
      /* Files may have been added to the folder since: describe it as it is now. */
      g_autoptr (NsDbStmt) st = _ns_db_prepare (db,
        "UPDATE cases SET case_id = ?, modalities = ? WHERE id = ?", error);
      if (st == NULL)
        return FALSE;
      _ns_db_bind_text (st, 1, d->desc->id);
      _ns_db_bind_text (st, 2, d->modalities);
      _ns_db_bind_int (st, 3, d->case_row);
      if (!_ns_db_step_done (st, "cannot update the case", error))
        return FALSE;
    }
  else
    {
      g_autoptr (NsDbStmt) st = _ns_db_prepare (db,
        "INSERT INTO cases (path, case_id, modalities, added) VALUES (?, ?, ?, ?) RETURNING id",
        error);
      if (st == NULL)
        return FALSE;
      _ns_db_bind_text (st, 1, d->desc->path);
      _ns_db_bind_text (st, 2, d->desc->id);
      _ns_db_bind_text (st, 3, d->modalities);
      _ns_db_bind_text (st, 4, now);
      if (!_ns_db_step_returning (st, &d->case_row, "cannot add the case", error))
        return FALSE;
    }
  {
    g_autoptr (NsDbStmt) st = _ns_db_prepare (db,
      "INSERT INTO annotations (case_ref, mask_path, who, created, model_version, effort, "
      "edited_voxels, uncertainty, prediction_path) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) "
      "RETURNING id", error);
    if (st == NULL)
      return FALSE;
    _ns_db_bind_int (st, 1, d->case_row);
    _ns_db_bind_text (st, 2, d->mask);
    _ns_db_bind_text (st, 3, who);
    _ns_db_bind_text (st, 4, now);
    _ns_db_bind_int_or_null (st, 5, MAX (d->ann->model_version, 0));
    _ns_db_bind_double_or_null (st, 6, d->effort);
    if (d->edited >= 0)
      _ns_db_bind_int (st, 7, d->edited);
    _ns_db_bind_double_or_null (st, 8, d->ann->uncertainty);
    _ns_db_bind_text (st, 9, d->prediction);
    if (!_ns_db_step_returning (st, &annotation, "cannot add the annotation", error))
      return FALSE;
  }
  {
    g_autoptr (NsDbStmt) st = _ns_db_prepare (db,
      "INSERT INTO annotation_masks (annotation_ref, sha256, size, data) VALUES (?, ?, ?, ?)",
      error);
    if (st == NULL)
      return FALSE;
    _ns_db_bind_int (st, 1, annotation);
    _ns_db_bind_text (st, 2, d->mask_sha256);
    _ns_db_bind_int (st, 3, g_bytes_get_size (d->mask_bytes));
    _ns_db_bind_blob (st, 4, d->mask_bytes);
    if (!_ns_db_step_done (st, "cannot store the mask", error))
      return FALSE;
  }
  {
    g_autoptr (NsDbStmt) st = _ns_db_prepare (db,
      "INSERT INTO queue (case_ref, state, model_version, updated) VALUES (?1, 'queued', NULL, ?2) "
      "ON CONFLICT (case_ref) DO UPDATE SET state = 'queued', model_version = NULL, "
      "updated = ?2", error);
    if (st == NULL)
      return FALSE;
    _ns_db_bind_int (st, 1, d->case_row);
    _ns_db_bind_text (st, 2, now);
    if (!_ns_db_step_done (st, "cannot queue the case", error))
      return FALSE;
  }
  return add_history (db, d->case_row, NS_QUEUE_STATE_QUEUED, 0, now, who,
                      "annotation added", error);
}

gint64
ns_queue_add (NsDb *db, const char *case_path, const NsQueueAnnotation *annotation,
              GError **error)
{
  g_auto (NsCaseDescription) desc = { 0 };

  g_return_val_if_fail (db != NULL && case_path != NULL && annotation != NULL, 0);
  g_return_val_if_fail (annotation->mask_path != NULL, 0);

  if (!ns_case_describe (case_path, &desc, error))
    return 0;
  /* Every image decoded, on one grid (errors name the file); the label map of a folder is
   * not the annotation and is left out. */
  g_autoptr (NsCase) ncase = ns_case_load (desc.path, NS_CASE_LOAD_SKIP_LABELS, error);
  if (ncase == NULL)
    return 0;
  /* The mask is read once: what is checked and measured is what is stored. */
  g_autofree char *mask_sha256 = NULL;
  g_autofree char *mask_abs = g_canonicalize_filename (annotation->mask_path, NULL);
  g_autoptr (GBytes) mask_bytes = _ns_queue_pack_mask (mask_abs, &mask_sha256, error);
  if (mask_bytes == NULL)
    return 0;
  g_autoptr (NsLabelMap) mask = _ns_queue_decode_mask (mask_bytes, annotation->mask_path,
                                                       error);
  if (mask == NULL)
    return 0;
  if (!ns_grid_equal (&mask->grid, &ncase->grid))
    {
      g_set_error (error, NS_DATA_ERROR, NS_DATA_ERROR_GRID_MISMATCH,
                   "%s: the mask's grid (%d x %d x %d, its voxel-to-RAS matrix) is not that "
                   "of the case's FLAIR %s (%d x %d x %d)", annotation->mask_path,
                   mask->grid.dim[0], mask->grid.dim[1], mask->grid.dim[2],
                   ncase->paths[NS_CASE_FILE_FLAIR], ncase->grid.dim[0], ncase->grid.dim[1],
                   ncase->grid.dim[2]);
      return 0;
    }

  /* The images' identity, for opening the case elsewhere (ns_queue_verify_case_files). */
  g_autoptr (GHashTable) sums = g_hash_table_new_full (g_str_hash, g_str_equal, NULL, g_free);
  for (int m = 0; m < NS_N_MODALITIES; m++)
    if (desc.files[m] != NULL && !g_hash_table_contains (sums, desc.files[m]))
      {
        char *sum = ns_registry_dup_file_sha256 (desc.files[m], error);
        if (sum == NULL)
          return 0;
        g_hash_table_insert (sums, desc.files[m], sum);
      }
  g_autofree char *modalities = modalities_json (&desc, sums);
  g_autofree char *pred_abs = NULL;
  AddData d = { &desc, modalities, annotation, mask_abs, NULL, NAN, -1, mask_bytes,
                mask_sha256, 0 };
  if (annotation->prediction_path != NULL)
    {
      g_autoptr (NsLabelMap) pred = ns_label_map_read (annotation->prediction_path,
                                                        NS_LABEL_SCHEME_BRATS2015, FALSE,
                                                        error);
      if (pred == NULL || !ns_metrics_effort (pred, mask, &d.effort, &d.edited, error))
        return 0;
      pred_abs = g_canonicalize_filename (annotation->prediction_path, NULL);
      d.prediction = pred_abs;
    }
  if (!_ns_db_write (db, add_txn, &d, error))
    return 0;
  return d.case_row;
}

/* ---- listing ------------------------------------------------------------------------ */

/* ?1: now on the database's clock (which claims hold); further parameters from ?2. */
#define ENTRY_SELECT \
  "SELECT c.id, c.path, c.case_id, c.modalities, c.added, q.state, q.model_version, " \
  "a.id, a.mask_path, a.prediction_path, a.who, a.created, a.model_version, a.effort, " \
  "a.edited_voxels, a.uncertainty, " \
  "(SELECT count(*) FROM annotations WHERE case_ref = c.id), " \
  "m.sha256, cl.who, cl.host, cl.since, cl.lease_until, r.verdict, r.who, r.note, r.at " \
  "FROM cases c JOIN queue q ON q.case_ref = c.id " \
  "LEFT JOIN annotations a ON a.id = (SELECT max(id) FROM annotations WHERE case_ref = c.id) " \
  "LEFT JOIN annotation_masks m ON m.annotation_ref = a.id " \
  "LEFT JOIN claims cl ON cl.case_ref = c.id AND cl.lease_until > ?1 " \
  "LEFT JOIN reviews r ON r.id = (SELECT max(id) FROM reviews WHERE annotation_ref = a.id) "

static NsQueueEntry *
entry_from_row (NsDbStmt *st)
{
  NsQueueEntry *e = g_new0 (NsQueueEntry, 1);
  e->id = _ns_db_column_int64 (st, 0);
  e->path = _ns_db_column_text (st, 1);
  e->case_id = _ns_db_column_text (st, 2);
  e->modalities = _ns_db_column_text (st, 3);
  e->added = _ns_db_column_text (st, 4);
  e->state = _ns_db_index_of (state_names, G_N_ELEMENTS (state_names),
                              _ns_db_column_peek_text (st, 5));
  e->used_by = _ns_db_column_int (st, 6);
  e->annotation_id = _ns_db_column_int64 (st, 7);
  e->mask_path = _ns_db_column_text (st, 8);
  e->prediction_path = _ns_db_column_text (st, 9);
  e->who = _ns_db_column_text (st, 10);
  e->annotated = _ns_db_column_text (st, 11);
  e->model_version = _ns_db_column_int (st, 12);
  e->effort = _ns_db_column_double_or_nan (st, 13);
  e->edited_voxels = _ns_db_column_is_null (st, 14) ? -1 : _ns_db_column_int64 (st, 14);
  e->uncertainty = _ns_db_column_double_or_nan (st, 15);
  e->n_annotations = _ns_db_column_int (st, 16);
  e->mask_sha256 = _ns_db_column_text (st, 17);
  e->claimed_by = _ns_db_column_text (st, 18);
  e->claim_host = _ns_db_column_text (st, 19);
  e->claimed_since = _ns_db_column_text (st, 20);
  if (e->claimed_by != NULL)
    e->claim_expires = _ns_db_dup_iso_ms (_ns_db_column_int64 (st, 21));
  e->review = _ns_queue_review_from_name (_ns_db_column_peek_text (st, 22));
  e->reviewer = _ns_db_column_text (st, 23);
  e->review_note = _ns_db_column_text (st, 24);
  e->reviewed = _ns_db_column_text (st, 25);
  return e;
}

void
ns_queue_entry_free (NsQueueEntry *e)
{
  if (e == NULL)
    return;
  g_free (e->path);
  g_free (e->case_id);
  g_free (e->modalities);
  g_free (e->added);
  g_free (e->mask_path);
  g_free (e->prediction_path);
  g_free (e->who);
  g_free (e->annotated);
  g_free (e->mask_sha256);
  g_free (e->claimed_by);
  g_free (e->claim_host);
  g_free (e->claimed_since);
  g_free (e->claim_expires);
  g_free (e->reviewer);
  g_free (e->review_note);
  g_free (e->reviewed);
  g_free (e);
}

GPtrArray *
ns_queue_list (NsDb *db, NsQueueSort sort, int state, GError **error)
{
  static const char *const orders[] = {
    [NS_QUEUE_SORT_ADDED] = "c.added, c.id",
    [NS_QUEUE_SORT_UNCERTAINTY] = "a.uncertainty IS NULL, a.uncertainty DESC, c.id",
    [NS_QUEUE_SORT_EFFORT] = "a.effort IS NULL, a.effort ASC, c.id",
  };

  g_return_val_if_fail (db != NULL, NULL);
  g_return_val_if_fail (sort <= NS_QUEUE_SORT_EFFORT, NULL);
  gint64 now;
  if (!_ns_db_now_ms (db, &now, error))
    return NULL;
  g_autofree char *sql = g_strdup_printf (ENTRY_SELECT "%s ORDER BY %s",
                                          state >= 0 ? "WHERE q.state = ?2" : "", orders[sort]);
  g_autoptr (NsDbStmt) st = _ns_db_prepare (db, sql, error);
  if (st == NULL)
    return NULL;
  _ns_db_bind_int (st, 1, now);
  if (state >= 0)
    _ns_db_bind_text (st, 2, ns_queue_state_name (state));
  g_autoptr (GPtrArray) out = g_ptr_array_new_with_free_func ((GDestroyNotify) ns_queue_entry_free);
  NsDbStep rc;
  while ((rc = _ns_db_step (st)) == NS_DB_STEP_ROW)
    g_ptr_array_add (out, entry_from_row (st));
  if (rc != NS_DB_STEP_DONE)
    {
      _ns_db_set_error (db, error, "cannot list the queue");
      return NULL;
    }
  return g_steal_pointer (&out);
}

NsQueueEntry *
ns_queue_dup_entry (NsDb *db, const char *ref, GError **error)
{
  g_return_val_if_fail (db != NULL && ref != NULL, NULL);

  /* A path when it exists, else a row id when all digits, else a case id. */
  g_autofree char *abs = NULL;
  const char *where;
  char *end = NULL;
  gint64 id = g_ascii_strtoll (ref, &end, 10);
  gboolean is_row = ref[0] != '\0' && *end == '\0';
  if (g_file_test (ref, G_FILE_TEST_EXISTS))
    {
      abs = g_canonicalize_filename (ref, NULL);
      where = "WHERE c.path = ?2";
    }
  else if (is_row)
    where = "WHERE c.id = ?2";
  else
    where = "WHERE c.case_id = ?2";

  gint64 now;
  if (!_ns_db_now_ms (db, &now, error))
    return NULL;
  g_autofree char *sql = g_strconcat (ENTRY_SELECT, where, " ORDER BY c.id", NULL);
  g_autoptr (NsDbStmt) st = _ns_db_prepare (db, sql, error);
  if (st == NULL)
    return NULL;
  _ns_db_bind_int (st, 1, now);
  if (abs != NULL)
    _ns_db_bind_text (st, 2, abs);
  else if (is_row)
    _ns_db_bind_int (st, 2, id);
  else
    _ns_db_bind_text (st, 2, ref);

  NsDbStep rc = _ns_db_step (st);
  if (rc == NS_DB_STEP_DONE)
    {
      g_set_error (error, NS_DATA_ERROR, NS_DATA_ERROR_NOT_FOUND, "%s: no case %s in the queue",
                   db->path, ref);
      return NULL;
    }
  if (rc != NS_DB_STEP_ROW)
    {
      _ns_db_set_error (db, error, "cannot look up the case");
      return NULL;
    }
  g_autoptr (NsQueueEntry) e = entry_from_row (st);
  if (_ns_db_step (st) == NS_DB_STEP_ROW)
    {
      g_set_error (error, NS_DATA_ERROR, NS_DATA_ERROR_INVALID,
                   "%s: case id %s names several cases (%s and %s): give the path or the "
                   "row id", db->path, ref, e->path, _ns_db_column_peek_text (st, 1));
      return NULL;
    }
  return g_steal_pointer (&e);
}

/* ---- remove / states ---------------------------------------------------------------- */

gboolean
_ns_queue_check_case (NsDb *db, gint64 case_row, GError **error)
{
  gint64 found = 0;
  if (!_ns_db_query_int (db, "SELECT count(*) FROM cases WHERE id = ?", case_row, &found,
                         error))
    return FALSE;
  if (found == 0)
    {
      g_set_error (error, NS_DATA_ERROR, NS_DATA_ERROR_NOT_FOUND,
                   "%s: no case with id %" G_GINT64_FORMAT " in the queue", db->path, case_row);
      return FALSE;
    }
  return TRUE;
}

static gboolean
remove_txn (NsDb *db, gpointer data, GError **error)
{
  gint64 case_row = *(gint64 *) data;
  _ns_db_touch (db, NS_DB_CHANGES_QUEUE);
  /* Not the case someone is correcting. */
  if (!_ns_queue_check_case (db, case_row, error)
      || !_ns_queue_check_unclaimed (db, case_row, "removing it", error))
    return FALSE;
  g_autoptr (NsDbStmt) st = _ns_db_prepare (db, "DELETE FROM cases WHERE id = ?", error);
  if (st == NULL)
    return FALSE;
  _ns_db_bind_int (st, 1, case_row);
  return _ns_db_step_done (st, "cannot remove the case", error);
}

gboolean
ns_queue_remove (NsDb *db, gint64 case_id, GError **error)
{
  g_return_val_if_fail (db != NULL, FALSE);
  return _ns_db_write (db, remove_txn, &case_id, error);
}

gboolean
_ns_queue_set_state (NsDb *db, gint64 case_row, NsQueueState state, int version,
                     const char *who, const char *note, const char *now, GError **error)
{
  _ns_db_touch (db, NS_DB_CHANGES_QUEUE);
  g_autoptr (NsDbStmt) st = _ns_db_prepare (db,
    "UPDATE queue SET state = ?, model_version = ?, updated = ? WHERE case_ref = ?", error);
  if (st == NULL)
    return FALSE;
  _ns_db_bind_text (st, 1, state_names[state]);
  _ns_db_bind_int_or_null (st, 2, state == NS_QUEUE_STATE_USED ? version : 0);
  _ns_db_bind_text (st, 3, now);
  _ns_db_bind_int (st, 4, case_row);
  if (!_ns_db_step_done (st, "cannot change the queue state", error))
    return FALSE;
  return add_history (db, case_row, state, state == NS_QUEUE_STATE_USED ? version : 0, now,
                      who != NULL ? who : g_get_user_name (), note, error);
}

typedef struct
{
  gint64 case_row;
  NsQueueState state;
  int version;
  const char *who;
  const char *note;
} StateData;

static gboolean
state_txn (NsDb *db, gpointer data, GError **error)
{
  StateData *d = data;
  g_autofree char *now = _ns_db_dup_now ();
  if (!_ns_queue_check_case (db, d->case_row, error))
    return FALSE;
  if (d->state == NS_QUEUE_STATE_USED && !_ns_registry_check_model (db, d->version, error))
    return FALSE;
  return _ns_queue_set_state (db, d->case_row, d->state, d->version, d->who, d->note, now,
                              error);
}

gboolean
ns_queue_set_state (NsDb *db, gint64 case_id, NsQueueState state, int model_version,
                    const char *who, const char *note, GError **error)
{
  StateData d = { case_id, state, model_version, who, note };
  g_return_val_if_fail (db != NULL && state <= NS_QUEUE_STATE_EXCLUDED, FALSE);
  if (state == NS_QUEUE_STATE_USED && model_version <= 0)
    {
      g_set_error (error, NS_DATA_ERROR, NS_DATA_ERROR_INVALID,
                   "%s: a case marked used needs the model version that used it", db->path);
      return FALSE;
    }
  return _ns_db_write (db, state_txn, &d, error);
}

void
ns_queue_history_item_free (NsQueueHistoryItem *item)
{
  if (item == NULL)
    return;
  g_free (item->at);
  g_free (item->who);
  g_free (item->note);
  g_free (item);
}

GPtrArray *
ns_queue_list_history (NsDb *db, gint64 case_id, GError **error)
{
  g_return_val_if_fail (db != NULL, NULL);
  g_autoptr (NsDbStmt) st = _ns_db_prepare (db,
    "SELECT state, model_version, at, who, note FROM queue_history WHERE case_ref = ? "
    "ORDER BY id", error);
  if (st == NULL)
    return NULL;
  _ns_db_bind_int (st, 1, case_id);
  g_autoptr (GPtrArray) out =
    g_ptr_array_new_with_free_func ((GDestroyNotify) ns_queue_history_item_free);
  NsDbStep rc;
  while ((rc = _ns_db_step (st)) == NS_DB_STEP_ROW)
    {
      NsQueueHistoryItem *h = g_new0 (NsQueueHistoryItem, 1);
      h->state = _ns_db_index_of (state_names, G_N_ELEMENTS (state_names),
                                  _ns_db_column_peek_text (st, 0));
      h->model_version = _ns_db_column_int (st, 1);
      h->at = _ns_db_column_text (st, 2);
      h->who = _ns_db_column_text (st, 3);
      h->note = _ns_db_column_text (st, 4);
      g_ptr_array_add (out, h);
    }
  if (rc != NS_DB_STEP_DONE)
    {
      _ns_db_set_error (db, error, "cannot read the queue history");
      return NULL;
    }
  return g_steal_pointer (&out);
}
