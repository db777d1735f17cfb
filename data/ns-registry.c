/* SPDX-License-Identifier: MIT
 *
 * ns-registry.c: the model registry on the database (see ns-registry.h).
 *
 * The shipped model is the row of version 0, refreshed by _ns_registry_sync_shipped() on
 * every read-write open: it compares the file's path and sha256 with the row and writes
 * only when they differ (an upgrade, a moved installation), so an open costs a stat and,
 * once per process, the hash of the file (13 MB, ~40 ms).  When the shipped file changes,
 * the validation figures of version 0 are dropped: they describe another model.  Readers
 * that find no row 0 (a read-only or missing database) describe the shipped model from
 * its file (synthesize_shipped()), so version 0 is listed wherever the file is.
 *
 * The default is the row flagged is_default (at most one, a unique index); no flag means
 * the shipped model.  Rolling back to the shipped model flags row 0.  Validation figures
 * and the gate of promotions are in ns-registry-gate.c.
 */
#define G_LOG_DOMAIN "neuroseg-data"

#include "ns-registry-private.h"

#include "ns-data-error.h"
#include "ns-db-private.h"
#include "ns-json.h"
#include "ns-model-card.h"
#include "ns-paths.h"
#include "ns-runs-private.h"

#include <gio/gio.h>
#include <glib/gstdio.h>
#include <json-glib/json-glib.h>
#include <math.h>
#include <string.h>

static const char *const model_status_names[] = { "registered", "failed" };

const char *
ns_registry_model_status_name (NsRegistryModelStatus status)
{
  g_return_val_if_fail (status <= NS_REGISTRY_MODEL_FAILED, NULL);
  return model_status_names[status];
}

/* ---- checksums ------------------------------------------------------------------------- */

char *
ns_registry_dup_file_sha256 (const char *path, GError **error)
{
  g_return_val_if_fail (path != NULL, NULL);
  g_autoptr (GFile) f = g_file_new_for_path (path);
  g_autoptr (GError) local = NULL;
  g_autoptr (GFileInputStream) in = g_file_read (f, NULL, &local);
  if (in == NULL)
    {
      g_set_error (error, NS_DATA_ERROR,
                   g_error_matches (local, G_IO_ERROR, G_IO_ERROR_NOT_FOUND)
                     ? NS_DATA_ERROR_NOT_FOUND : NS_DATA_ERROR_IO,
                   "%s: %s", path, local->message);
      return NULL;
    }
  g_autoptr (GChecksum) sum = g_checksum_new (G_CHECKSUM_SHA256);
  g_autofree guchar *buf = g_malloc (1 << 20);
  for (;;)
    {
      gssize n = g_input_stream_read (G_INPUT_STREAM (in), buf, 1 << 20, NULL, &local);
      if (n < 0)
        {
          g_set_error (error, NS_DATA_ERROR, NS_DATA_ERROR_IO, "%s: %s", path, local->message);
          return NULL;
        }
      if (n == 0)
        break;
      g_checksum_update (sum, buf, n);
    }
  return g_strdup (g_checksum_get_string (sum));
}

/* The shipped model's sha256, hashed once per process while its size and modification
 * time stay the same (every read-write open asks). */
static char *
shipped_sha256 (const char *path, GError **error)
{
  static GMutex lock;
  static char *cached_path, *cached_sum;
  static gint64 cached_size, cached_mtime;
  GStatBuf st;

  if (g_stat (path, &st) != 0)
    return ns_registry_dup_file_sha256 (path, error);  /* says why */
  gint64 mtime = (gint64) st.st_mtim.tv_sec * G_USEC_PER_SEC + st.st_mtim.tv_nsec / 1000;
  g_mutex_lock (&lock);
  if (cached_sum != NULL && g_strcmp0 (cached_path, path) == 0 && cached_size == st.st_size
      && cached_mtime == mtime)
    {
      char *sum = g_strdup (cached_sum);
      g_mutex_unlock (&lock);
      return sum;
    }
  g_mutex_unlock (&lock);
  char *sum = ns_registry_dup_file_sha256 (path, error);
  if (sum == NULL)
    return NULL;
  g_mutex_lock (&lock);
  g_free (cached_path);
  g_free (cached_sum);
  cached_path = g_strdup (path);
  cached_sum = g_strdup (sum);
  cached_size = st.st_size;
  cached_mtime = mtime;
  g_mutex_unlock (&lock);
  return sum;
}

/* ---- model rows ---------------------------------------------------------------------------- */

static void
parse_dice (NsRegistryModel *m)
{
  static const char *const keys[3] = { "dice_wt", "dice_tc", "dice_et" };
  for (int i = 0; i < 3; i++)
    m->dice[i] = NAN;
  g_autoptr (JsonObject) o = m->metrics != NULL ? ns_json_parse_object (m->metrics, -1, NULL)
                                                : NULL;
  for (int i = 0; o != NULL && i < 3; i++)
    m->dice[i] = ns_json_get_number (o, keys[i], NAN);
}

void
ns_registry_model_free (NsRegistryModel *m)
{
  if (m == NULL)
    return;
  g_free (m->path);
  g_free (m->sha256);
  g_free (m->arch);
  g_free (m->created);
  g_free (m->metrics);
  g_free (m->error);
  g_free (m);
}

#define MODEL_SELECT \
  "SELECT version, path, sha256, arch, parent, created, metrics, status, error, is_default, " \
  "run_id FROM models "

static NsRegistryModel *
model_from_row (NsDbStmt *st)
{
  NsRegistryModel *m = g_new0 (NsRegistryModel, 1);
  m->version = _ns_db_column_int (st, 0);
  m->path = _ns_db_column_text (st, 1);
  m->sha256 = _ns_db_column_text (st, 2);
  m->arch = _ns_db_column_text (st, 3);
  m->parent = _ns_db_column_is_null (st, 4) ? NS_REGISTRY_NONE
                                                         : _ns_db_column_int (st, 4);
  m->created = _ns_db_column_text (st, 5);
  m->metrics = _ns_db_column_text (st, 6);
  m->status = _ns_db_index_of (model_status_names, G_N_ELEMENTS (model_status_names),
                               _ns_db_column_peek_text (st, 7));
  m->error = _ns_db_column_text (st, 8);
  m->is_default = _ns_db_column_int (st, 9) != 0;
  m->run_id = _ns_db_column_int64 (st, 10);
  parse_dice (m);
  return m;
}

/* The shipped model described from its file, for a database without row 0.  NULL +
 * NOT_FOUND when the file is not there; a file that cannot be read is a failed model. */
static NsRegistryModel *
synthesize_shipped (GError **error)
{
  g_autofree char *path = ns_paths_dup_shipped_model (error);
  if (path == NULL)
    return NULL;
  g_autoptr (NsRegistryModel) m = g_new0 (NsRegistryModel, 1);
  g_autoptr (GError) local = NULL;
  m->version = NS_REGISTRY_SHIPPED;
  m->parent = NS_REGISTRY_NONE;
  m->sha256 = shipped_sha256 (path, &local);
  if (m->sha256 == NULL || !ns_model_card_read (path, &m->arch, &m->metrics, &local))
    {
      m->status = NS_REGISTRY_MODEL_FAILED;
      m->error = g_strdup (local->message);
    }
  if (m->sha256 == NULL)
    m->sha256 = g_strdup ("");
  if (m->metrics == NULL)
    m->metrics = g_strdup ("{}");
  g_autoptr (GFile) f = g_file_new_for_path (path);
  g_autoptr (GFileInfo) info = g_file_query_info (f, G_FILE_ATTRIBUTE_TIME_MODIFIED,
                                                  G_FILE_QUERY_INFO_NONE, NULL, NULL);
  g_autoptr (GDateTime) mtime = info != NULL ? g_file_info_get_modification_date_time (info)
                                             : NULL;
  m->created = mtime != NULL ? g_date_time_format_iso8601 (mtime) : g_strdup ("");
  m->path = g_steal_pointer (&path);
  parse_dice (m);
  return g_steal_pointer (&m);
}

/* The flagged default version, NS_REGISTRY_NONE when no row is flagged. */
static gboolean
flagged_default (NsDb *db, gint64 *version, GError **error)
{
  *version = NS_REGISTRY_NONE;
  return _ns_db_query_int (db, "SELECT version FROM models WHERE is_default = 1", 0, version,
                           error);
}

/* Models of a query; with_shipped adds the shipped model from its file when the result
 * should hold version 0 and the database has no row for it.  is_default follows the rule:
 * the flagged row, else version 0. */
static GPtrArray *
select_models (NsDb *db, const char *tail, gint64 param, gboolean with_shipped,
               GError **error)
{
  gint64 flagged;
  if (!flagged_default (db, &flagged, error))
    return NULL;
  g_autofree char *sql = g_strconcat (MODEL_SELECT, tail, NULL);
  g_autoptr (NsDbStmt) st = _ns_db_prepare (db, sql, error);
  if (st == NULL)
    return NULL;
  if (st->n_params > 0)
    _ns_db_bind_int (st, 1, param);
  g_autoptr (GPtrArray) out =
    g_ptr_array_new_with_free_func ((GDestroyNotify) ns_registry_model_free);
  gboolean have_shipped = FALSE;
  NsDbStep rc;
  while ((rc = _ns_db_step (st)) == NS_DB_STEP_ROW)
    {
      NsRegistryModel *m = model_from_row (st);
      have_shipped |= m->version == NS_REGISTRY_SHIPPED;
      g_ptr_array_add (out, m);
    }
  if (rc != NS_DB_STEP_DONE)
    {
      _ns_db_set_error (db, error, "cannot read the model registry");
      return NULL;
    }
  if (with_shipped && !have_shipped)
    {
      NsRegistryModel *m = synthesize_shipped (NULL);
      if (m != NULL)
        g_ptr_array_insert (out, 0, m);
    }
  for (guint i = 0; i < out->len; i++)
    {
      NsRegistryModel *m = out->pdata[i];
      if (flagged == NS_REGISTRY_NONE && m->version == NS_REGISTRY_SHIPPED)
        m->is_default = TRUE;
    }
  return g_steal_pointer (&out);
}

GPtrArray *
ns_registry_list_models (NsDb *db, GError **error)
{
  g_return_val_if_fail (db != NULL, NULL);
  return select_models (db, "ORDER BY version", 0, TRUE, error);
}

NsRegistryModel *
ns_registry_dup_model (NsDb *db, int version, GError **error)
{
  g_return_val_if_fail (db != NULL, NULL);
  g_autoptr (GPtrArray) a = select_models (db, "WHERE version = ?", version,
                                           version == NS_REGISTRY_SHIPPED, error);
  if (a == NULL)
    return NULL;
  if (a->len == 0)
    {
      if (version == NS_REGISTRY_SHIPPED)
        {
          /* The row and the file are both missing (a file there is listed from itself). */
          g_autoptr (GError) local = NULL;
          g_autofree char *shipped = ns_paths_dup_shipped_model (&local);
          g_set_error (error, NS_DATA_ERROR, NS_DATA_ERROR_NOT_FOUND,
                       "%s: no model version 0: %s", db->path,
                       shipped == NULL ? local->message : "the shipped model is unreadable");
        }
      else
        g_set_error (error, NS_DATA_ERROR, NS_DATA_ERROR_NOT_FOUND,
                     "%s: no model version %d in the registry", db->path, version);
      return NULL;
    }
  return g_ptr_array_steal_index (a, 0);
}

NsRegistryModel *
ns_registry_dup_default (NsDb *db, GError **error)
{
  gint64 flagged;
  g_autoptr (GError) local = NULL;

  g_return_val_if_fail (db != NULL, NULL);
  if (!flagged_default (db, &flagged, error))
    return NULL;
  NsRegistryModel *m = ns_registry_dup_model (db, MAX (flagged, NS_REGISTRY_SHIPPED), &local);
  if (m == NULL && !(flagged == NS_REGISTRY_NONE
                     && g_error_matches (local, NS_DATA_ERROR, NS_DATA_ERROR_NOT_FOUND)))
    g_propagate_error (error, g_steal_pointer (&local));
  return m;
}

gboolean
_ns_registry_check_model (NsDb *db, int version, GError **error)
{
  gint64 found = 0;
  if (!_ns_db_query_int (db, "SELECT count(*) FROM models WHERE version = ?", version, &found,
                         error))
    return FALSE;
  if (found == 0)
    {
      g_set_error (error, NS_DATA_ERROR, NS_DATA_ERROR_NOT_FOUND,
                   "%s: no model version %d in the registry", db->path, version);
      return FALSE;
    }
  return TRUE;
}

gboolean
ns_registry_find_model_by_path (NsDb *db, const char *path, int *version, GError **error)
{
  g_return_val_if_fail (db != NULL && path != NULL && version != NULL, FALSE);
  g_autofree char *abs = g_canonicalize_filename (path, NULL);
  *version = NS_REGISTRY_NONE;
  g_autoptr (NsDbStmt) st = _ns_db_prepare (db,
    "SELECT max(version) FROM models WHERE path = ? AND status = 'registered'", error);
  if (st == NULL)
    return FALSE;
  _ns_db_bind_text (st, 1, abs);
  NsDbStep rc = _ns_db_step (st);
  if (rc != NS_DB_STEP_ROW)
    {
      _ns_db_set_error (db, error, "cannot read the model registry");
      return FALSE;
    }
  if (!_ns_db_column_is_null (st, 0))
    *version = _ns_db_column_int (st, 0);
  else
    {
      /* The shipped model, also where the database has no row for it yet. */
      g_autofree char *shipped = ns_paths_dup_shipped_model (NULL);
      if (shipped != NULL && g_strcmp0 (shipped, abs) == 0)
        *version = NS_REGISTRY_SHIPPED;
    }
  return TRUE;
}

gboolean
ns_registry_verify_model_file (NsDb *db, const NsRegistryModel *model, GError **error)
{
  g_return_val_if_fail (db != NULL && model != NULL, FALSE);
  if (model->status != NS_REGISTRY_MODEL_REGISTERED)
    {
      g_set_error (error, NS_DATA_ERROR, NS_DATA_ERROR_INVALID,
                   "%s: model version %d failed to load when registered (%s)", model->path,
                   model->version, model->error != NULL ? model->error : "no reason recorded");
      return FALSE;
    }
  if (model->version == NS_REGISTRY_SHIPPED)
    {
      /* The program's own file: whatever this installation ships (its row follows it). */
      g_autofree char *path = ns_paths_dup_shipped_model (error);
      return path != NULL;
    }
  g_autofree char *sum = ns_registry_dup_file_sha256 (model->path, error);
  if (sum == NULL)
    return FALSE;
  if (g_strcmp0 (sum, model->sha256) != 0)
    {
      g_set_error (error, NS_DATA_ERROR, NS_DATA_ERROR_CORRUPT,
                   "%s: the file changed since model version %d was registered (sha256 %s, "
                   "registered %s)", model->path, model->version, sum, model->sha256);
      return FALSE;
    }
  return TRUE;
}

/* ---- the default model -------------------------------------------------------------------- */

/* "promoted on <at> by <who>" from the latest promotion to version, or NULL. */
static char *
dup_promotion_note (NsDb *db, int version)
{
  g_autoptr (NsDbStmt) st = _ns_db_prepare (db,
    "SELECT action, at, who FROM promotions WHERE version = ? ORDER BY id DESC LIMIT 1", NULL);
  if (st == NULL)
    return NULL;
  _ns_db_bind_int (st, 1, version);
  if (_ns_db_step (st) != NS_DB_STEP_ROW)
    return NULL;
  return g_strdup_printf ("%s on %s by %s",
                          g_strcmp0 (_ns_db_column_peek_text (st, 0), "rollback") == 0
                            ? "rolled back" : "promoted",
                          _ns_db_column_peek_text (st, 1),
                          _ns_db_column_peek_text (st, 2) != NULL
                            ? _ns_db_column_peek_text (st, 2) : "?");
}

char *
ns_registry_dup_default_path (NsDb *db, int *version, char **why, GError **error)
{
  gint64 flagged;

  g_return_val_if_fail (db != NULL, NULL);
  if (!flagged_default (db, &flagged, error))
    return NULL;
  g_autofree char *note = flagged >= 0 ? dup_promotion_note (db, flagged) : NULL;
  if (flagged > 0)
    {
      g_autoptr (NsRegistryModel) m = ns_registry_dup_model (db, flagged, error);
      if (m == NULL || !ns_registry_verify_model_file (db, m, error))
        return NULL;
      if (version != NULL)
        *version = m->version;
      if (why != NULL)
        *why = g_strdup_printf ("the registry's default (%s)",
                                note != NULL ? note : "promoted");
      return g_strdup (m->path);
    }

  g_autoptr (GError) local = NULL;
  g_autofree char *shipped = ns_paths_dup_shipped_model (&local);
  if (shipped == NULL)
    {
      g_set_error (error, NS_DATA_ERROR, NS_DATA_ERROR_NOT_FOUND,
                   "%s: no default model: %s, and the shipped model is missing (%s)", db->path,
                   flagged == 0 ? "the registry's default is the shipped model"
                                : "no model has been promoted", local->message);
      return NULL;
    }
  if (version != NULL)
    *version = NS_REGISTRY_SHIPPED;
  if (why != NULL)
    *why = flagged == 0 ? g_strdup_printf ("the shipped model (%s)", note != NULL ? note
                                                                              : "rolled back")
                        : g_strdup ("the shipped model (no model has been promoted)");
  return g_steal_pointer (&shipped);
}

char *
ns_registry_dup_default_model (const char *db_path, int *version, char **why, GError **error)
{
  g_autoptr (NsDb) db = ns_db_open_readonly (db_path, error);
  if (db == NULL)
    return NULL;
  return ns_registry_dup_default_path (db, version, why, error);
}

/* ---- registering -------------------------------------------------------------------------- */

typedef struct
{
  const NsRegistryModelInfo *info;
  const char *path;
  const char *sha256;
  const char *metrics;
  int version;  /* out */
} RegisterData;

static gboolean
register_txn (NsDb *db, gpointer data, GError **error)
{
  RegisterData *d = data;
  const NsRegistryModelInfo *info = d->info;
  g_autofree char *now = _ns_db_dup_now ();

  _ns_db_touch (db, NS_DB_CHANGES_REGISTRY);
  if (info->parent >= 0 && !_ns_registry_check_model (db, info->parent, error))
    return FALSE;
  /* Registering one file twice by hand is a slip; a run's model is always its own version
   * (a deterministic run may well reproduce an earlier file). */
  if (info->failure == NULL && info->run_id <= 0)
    {
      g_autoptr (NsDbStmt) st = _ns_db_prepare (db, "SELECT version FROM models WHERE "
                                                        "sha256 = ? AND status = 'registered'",
                                                error);
      if (st == NULL)
        return FALSE;
      _ns_db_bind_text (st, 1, d->sha256);
      if (_ns_db_step (st) == NS_DB_STEP_ROW)
        {
          int v = _ns_db_column_int (st, 0);
          g_set_error (error, NS_DATA_ERROR, NS_DATA_ERROR_INVALID,
                       "%s: already registered as model version %d%s (same sha256)", d->path,
                       v, v == NS_REGISTRY_SHIPPED ? ", the shipped model" : "");
          return FALSE;
        }
    }
  if (info->run_id > 0 && !_ns_runs_check_can_produce (db, info->run_id, error))
    return FALSE;
  {
    /* version: never 0 (the shipped model's, which is the smallest there can be), the next
     * after the largest. */
    g_autoptr (NsDbStmt) st = _ns_db_prepare (db,
      "INSERT INTO models (version, path, sha256, arch, parent, created, metrics, status, "
      "error, run_id) VALUES ((SELECT coalesce(max(version), 0) + 1 FROM models), "
      "?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING version", error);
    if (st == NULL)
      return FALSE;
    _ns_db_bind_text (st, 1, d->path);
    _ns_db_bind_text (st, 2, d->sha256);
    _ns_db_bind_text (st, 3, info->arch);
    if (info->parent >= 0)
      _ns_db_bind_int (st, 4, info->parent);
    else
      _ns_db_bind_null (st, 4);
    _ns_db_bind_text (st, 5, now);
    _ns_db_bind_text (st, 6, d->metrics);
    _ns_db_bind_text (st, 7, info->failure == NULL ? "registered" : "failed");
    _ns_db_bind_text (st, 8, info->failure);
    _ns_db_bind_int_or_null (st, 9, MAX (info->run_id, 0));
    gint64 version = 0;
    if (!_ns_db_step_returning (st, &version, "cannot register the model", error))
      return FALSE;
    d->version = (int) version;
  }
  if (info->run_id > 0)
    return _ns_runs_end_with_model (db, info->run_id, d->version, info->failure, now, error);
  return TRUE;
}

int
ns_registry_register_model (NsDb *db, const NsRegistryModelInfo *info, GError **error)
{
  g_return_val_if_fail (db != NULL && info != NULL && info->path != NULL, 0);
  g_return_val_if_fail (info->parent >= NS_REGISTRY_NONE, 0);

  g_autofree char *abs = g_canonicalize_filename (info->path, NULL);
  g_autofree char *sum = ns_registry_dup_file_sha256 (abs, error);
  if (sum == NULL)
    return 0;
  const char *metrics = info->metrics != NULL ? info->metrics : "{}";
  g_autoptr (GError) local = NULL;
  g_autoptr (JsonObject) parsed = ns_json_parse_object (metrics, -1, &local);
  if (parsed == NULL)
    {
      g_set_error (error, NS_DATA_ERROR, NS_DATA_ERROR_INVALID,
                   "%s: the metrics are not a JSON object: %s", abs, local->message);
      return 0;
    }
  RegisterData d = { info, abs, sum, metrics, 0 };
  if (!_ns_db_write (db, register_txn, &d, error))
    return 0;
  return d.version;
}

/* ---- the shipped model's row --------------------------------------------------------------- */

typedef struct
{
  const char *path;
  const char *sha256;
  const char *arch;        /* nullable */
  const char *metrics;
  const char *failure;     /* nullable */
} ShippedData;

static gboolean
shipped_row_current (NsDb *db, const char *path, const char *sha256, gboolean *current,
                     gboolean *sha_changed, GError **error)
{
  g_autoptr (NsDbStmt) st = _ns_db_prepare (db, "SELECT path, sha256 FROM models WHERE "
                                                    "version = 0", error);
  if (st == NULL)
    return FALSE;
  NsDbStep rc = _ns_db_step (st);
  if (rc != NS_DB_STEP_ROW && rc != NS_DB_STEP_DONE)
    {
      _ns_db_set_error (db, error, "cannot read the model registry");
      return FALSE;
    }
  gboolean exists = rc == NS_DB_STEP_ROW;
  *sha_changed = exists && g_strcmp0 (_ns_db_column_peek_text (st, 1), sha256) != 0;
  /* On a server the workstations' installations differ in place, not in model: only the
   * model decides (rewriting the path at every open would ping-pong between them). */
  *current = exists && !*sha_changed
             && (db->backend->shared || g_strcmp0 (_ns_db_column_peek_text (st, 0), path) == 0);
  return TRUE;
}

static gboolean
shipped_txn (NsDb *db, gpointer data, GError **error)
{
  ShippedData *d = data;
  g_autofree char *now = _ns_db_dup_now ();
  gboolean current, sha_changed;

  /* Again under the write lock: another process may have just done it. */
  if (!shipped_row_current (db, d->path, d->sha256, &current, &sha_changed, error))
    return FALSE;
  if (current)
    return TRUE;
  _ns_db_touch (db, NS_DB_CHANGES_REGISTRY);
  if (sha_changed
      && !_ns_db_exec (db, "DELETE FROM validations WHERE model_version = 0",
                       "cannot drop the figures of the previous shipped model", error))
    return FALSE;
  g_autoptr (NsDbStmt) st = _ns_db_prepare (db,
    "INSERT INTO models (version, path, sha256, arch, parent, created, metrics, status, error) "
    "VALUES (0, ?1, ?2, ?3, NULL, ?4, ?5, ?6, ?7) ON CONFLICT (version) DO UPDATE SET "
    "path = ?1, sha256 = ?2, arch = ?3, created = ?4, metrics = ?5, status = ?6, error = ?7",
    error);
  if (st == NULL)
    return FALSE;
  _ns_db_bind_text (st, 1, d->path);
  _ns_db_bind_text (st, 2, d->sha256);
  _ns_db_bind_text (st, 3, d->arch);
  _ns_db_bind_text (st, 4, now);
  _ns_db_bind_text (st, 5, d->metrics);
  _ns_db_bind_text (st, 6, d->failure == NULL ? "registered" : "failed");
  _ns_db_bind_text (st, 7, d->failure);
  return _ns_db_step_done (st, "cannot record the shipped model", error);
}

gboolean
_ns_registry_sync_shipped (NsDb *db, GError **error)
{
  gboolean current, sha_changed;
  g_autoptr (GError) local = NULL;

  g_autofree char *path = ns_paths_dup_shipped_model (NULL);
  if (path == NULL)
    return TRUE;  /* not installed: nothing to record; the default rule says so when asked */
  g_autofree char *sum = shipped_sha256 (path, &local);
  if (sum == NULL)
    {
      /* Unreadable program data must not lock the user out of the queue: the registry and
       * the default rule report the file's state wherever it is used. */
      g_warning ("%s", local->message);
      return TRUE;
    }
  if (!shipped_row_current (db, path, sum, &current, &sha_changed, error))
    return FALSE;
  if (current)
    return TRUE;
  g_autofree char *arch = NULL, *metrics = NULL;
  gboolean card = ns_model_card_read (path, &arch, &metrics, &local);
  ShippedData d = { path, sum, arch, card ? metrics : "{}", card ? NULL : local->message };
  return _ns_db_write (db, shipped_txn, &d, error);
}

/* ---- promotions ---------------------------------------------------------------------------- */

typedef struct
{
  int version;        /* in: target (NS_REGISTRY_PREVIOUS for a plain rollback); out: it */
  const char *who;
  const char *action; /* "promote" or "rollback" */
} PromoteData;

/* The default before the current one: the latest other default of the log (still
 * registered), else the shipped model; NS_REGISTRY_NONE when there is nothing to go
 * back to. */
static gboolean
previous_default (NsDb *db, gint64 current, gint64 *previous, GError **error)
{
  gint64 has_shipped = 0;
  *previous = NS_REGISTRY_NONE;
  if (!_ns_db_query_int (db, "SELECT p.version FROM promotions p JOIN models m "
                             "ON m.version = p.version WHERE p.version != ? AND "
                             "m.status = 'registered' ORDER BY p.id DESC LIMIT 1",
                         current, previous, error)
      || !_ns_db_query_int (db, "SELECT count(*) FROM models WHERE version = 0 AND "
                                "status = 'registered'", 0, &has_shipped, error))
    return FALSE;
  if (*previous == NS_REGISTRY_NONE && has_shipped > 0 && current != NS_REGISTRY_SHIPPED)
    *previous = NS_REGISTRY_SHIPPED;
  return TRUE;
}

/* The current default by the rule: the flagged row, else the shipped model's row. */
static gboolean
current_default (NsDb *db, gint64 *current, GError **error)
{
  if (!flagged_default (db, current, error))
    return FALSE;
  if (*current == NS_REGISTRY_NONE)
    {
      gint64 has_shipped = 0;
      if (!_ns_db_query_int (db, "SELECT count(*) FROM models WHERE version = 0", 0,
                             &has_shipped, error))
        return FALSE;
      if (has_shipped > 0)
        *current = NS_REGISTRY_SHIPPED;
    }
  return TRUE;
}

static gboolean
promote_txn (NsDb *db, gpointer data, GError **error)
{
  PromoteData *d = data;
  g_autofree char *now = _ns_db_dup_now ();
  gint64 current;

  _ns_db_touch (db, NS_DB_CHANGES_REGISTRY);
  if (!current_default (db, &current, error))
    return FALSE;
  if (g_strcmp0 (d->action, "rollback") == 0 && d->version == NS_REGISTRY_PREVIOUS)
    {
      gint64 prev;
      if (current == NS_REGISTRY_NONE)
        {
          g_set_error (error, NS_DATA_ERROR, NS_DATA_ERROR_INVALID,
                       "%s: no default model to roll back from", db->path);
          return FALSE;
        }
      if (!previous_default (db, current, &prev, error))
        return FALSE;
      if (prev == NS_REGISTRY_NONE)
        {
          g_set_error (error, NS_DATA_ERROR, NS_DATA_ERROR_NOT_FOUND,
                       "%s: model version %" G_GINT64_FORMAT " is the only default there "
                       "has been and the shipped model is %s; nothing to roll back to",
                       db->path, current, current == NS_REGISTRY_SHIPPED
                         ? "that default" : "not installed");
          return FALSE;
        }
      d->version = prev;
    }
  else if (g_strcmp0 (d->action, "rollback") == 0 && d->version != NS_REGISTRY_SHIPPED)
    {
      gint64 was_default = 0;
      if (!_ns_db_query_int (db, "SELECT count(*) FROM promotions WHERE version = ?", d->version,
                             &was_default, error))
        return FALSE;
      if (was_default == 0 && d->version > current)
        {
          g_set_error (error, NS_DATA_ERROR, NS_DATA_ERROR_INVALID,
                       "%s: model version %d was never the default and is newer than "
                       "the current default %" G_GINT64_FORMAT ": promote it instead",
                       db->path, d->version, current);
          return FALSE;
        }
    }
  g_autoptr (GPtrArray) a = select_models (db, "WHERE version = ?", d->version, FALSE, error);
  if (a == NULL)
    return FALSE;
  if (a->len == 0)
    {
      g_set_error (error, NS_DATA_ERROR, NS_DATA_ERROR_NOT_FOUND,
                   "%s: no model version %d in the registry%s", db->path, d->version,
                   d->version == NS_REGISTRY_SHIPPED ? " (the shipped model is not installed)"
                                                     : "");
      return FALSE;
    }
  NsRegistryModel *m = a->pdata[0];
  if (m->status != NS_REGISTRY_MODEL_REGISTERED)
    {
      g_set_error (error, NS_DATA_ERROR, NS_DATA_ERROR_INVALID,
                   "%s: model version %d failed to load (%s) and cannot be the default",
                   db->path, d->version, m->error != NULL ? m->error : "no reason recorded");
      return FALSE;
    }
  if (current == d->version)
    {
      g_set_error (error, NS_DATA_ERROR, NS_DATA_ERROR_INVALID,
                   "%s: model version %d is already the default", db->path, d->version);
      return FALSE;
    }
  if (!_ns_db_exec (db, "UPDATE models SET is_default = 0 WHERE is_default = 1",
                    "cannot change the default model", error))
    return FALSE;
  {
    g_autoptr (NsDbStmt) st = _ns_db_prepare (db, "UPDATE models SET is_default = 1 WHERE "
                                                      "version = ?", error);
    if (st == NULL)
      return FALSE;
    _ns_db_bind_int (st, 1, d->version);
    if (!_ns_db_step_done (st, "cannot change the default model", error))
      return FALSE;
  }
  g_autoptr (NsDbStmt) st = _ns_db_prepare (db,
    "INSERT INTO promotions (version, previous_version, action, at, who) VALUES (?, ?, ?, ?, ?)",
    error);
  if (st == NULL)
    return FALSE;
  _ns_db_bind_int (st, 1, d->version);
  if (current >= 0)
    _ns_db_bind_int (st, 2, current);
  else
    _ns_db_bind_null (st, 2);
  _ns_db_bind_text (st, 3, d->action);
  _ns_db_bind_text (st, 4, now);
  _ns_db_bind_text (st, 5, d->who != NULL ? d->who : g_get_user_name ());
  return _ns_db_step_done (st, "cannot log the promotion", error);
}

/* A model becomes the default only while its file is the one registered: checked before
 * the transaction (hashing a model takes a while), so a file replaced in between the two
 * is caught by the next ns_registry_dup_default_path(). */
static gboolean
verify_version (NsDb *db, int version, GError **error)
{
  g_autoptr (NsRegistryModel) m = ns_registry_dup_model (db, version, error);
  return m != NULL && ns_registry_verify_model_file (db, m, error);
}

gboolean
ns_registry_promote (NsDb *db, int version, gboolean force, const char *who, GError **error)
{
  PromoteData d = { version, who, "promote" };
  g_return_val_if_fail (db != NULL && version >= 0, FALSE);
  if (!verify_version (db, version, error))
    return FALSE;
  if (!force && version != NS_REGISTRY_SHIPPED)
    {
      g_autoptr (NsRegistryComparison) c = ns_registry_compare (db, version, error);
      if (c == NULL)
        return FALSE;
      if (c->gate != NS_REGISTRY_GATE_PASS)
        {
          g_set_error (error, NS_DATA_ERROR, NS_DATA_ERROR_REFUSED,
                       "%s: not promoted: %s (promote anyway to override)", db->path,
                       c->reason);
          return FALSE;
        }
    }
  return _ns_db_write (db, promote_txn, &d, error);
}

gboolean
ns_registry_rollback (NsDb *db, int version, const char *who, int *new_default, GError **error)
{
  PromoteData d = { version, who, "rollback" };
  g_return_val_if_fail (db != NULL && version >= NS_REGISTRY_PREVIOUS, FALSE);
  if (d.version == NS_REGISTRY_PREVIOUS)
    {
      /* Which earlier default: decided without the write lock, then checked again in it. */
      gint64 current, prev = NS_REGISTRY_NONE;
      if (!current_default (db, &current, error))
        return FALSE;
      if (current != NS_REGISTRY_NONE && !previous_default (db, current, &prev, error))
        return FALSE;
      if (prev != NS_REGISTRY_NONE && !verify_version (db, prev, error))
        return FALSE;
    }
  else if (!verify_version (db, d.version, error))
    return FALSE;
  if (!_ns_db_write (db, promote_txn, &d, error))
    return FALSE;
  if (new_default != NULL)
    *new_default = d.version;
  return TRUE;
}

void
ns_registry_promotion_free (NsRegistryPromotion *p)
{
  if (p == NULL)
    return;
  g_free (p->action);
  g_free (p->at);
  g_free (p->who);
  g_free (p);
}

GPtrArray *
ns_registry_list_promotions (NsDb *db, GError **error)
{
  g_return_val_if_fail (db != NULL, NULL);
  g_autoptr (NsDbStmt) st = _ns_db_prepare (db,
    "SELECT id, version, previous_version, action, at, who FROM promotions ORDER BY id", error);
  if (st == NULL)
    return NULL;
  g_autoptr (GPtrArray) out =
    g_ptr_array_new_with_free_func ((GDestroyNotify) ns_registry_promotion_free);
  NsDbStep rc;
  while ((rc = _ns_db_step (st)) == NS_DB_STEP_ROW)
    {
      NsRegistryPromotion *p = g_new0 (NsRegistryPromotion, 1);
      p->id = _ns_db_column_int64 (st, 0);
      p->version = _ns_db_column_int (st, 1);
      p->previous = _ns_db_column_is_null (st, 2) ? NS_REGISTRY_NONE
                                                               : _ns_db_column_int (st, 2);
      p->action = _ns_db_column_text (st, 3);
      p->at = _ns_db_column_text (st, 4);
      p->who = _ns_db_column_text (st, 5);
      g_ptr_array_add (out, p);
    }
  if (rc != NS_DB_STEP_DONE)
    {
      _ns_db_set_error (db, error, "cannot read the promotions");
      return NULL;
    }
  return g_steal_pointer (&out);
}
