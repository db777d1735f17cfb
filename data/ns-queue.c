/* SPDX-License-Identifier: MIT
 *
 * ns-queue.c: the fine-tuning queue and model registry on SQLite (see ns-queue.h).
 *
 * Trade-offs: every write goes through write_txn(), which takes the write lock up front
 * (BEGIN IMMEDIATE, so two writers never deadlock upgrading read locks) and retries the
 * whole transaction with a growing pause when SQLite still says BUSY after its busy
 * timeout; the transaction bodies touch only the database so that a retry is harmless.
 * Work that reads big files (masks, checksums) happens before the transaction.
 */
#define G_LOG_DOMAIN "neuroseg-queue"

#include "ns-queue.h"

#include "ns-case.h"
#include "ns-data-error.h"
#include "ns-labels.h"
#include "ns-metrics.h"
#include "ns-nifti.h"

#include <errno.h>
#include <gio/gio.h>
#include <glib/gstdio.h>
#include <json-glib/json-glib.h>
#include <math.h>
#include <signal.h>
#include <sqlite3.h>
#include <string.h>
#include <unistd.h>

#define BUSY_TIMEOUT_MS 10000
#define BUSY_RETRY_US (60 * G_USEC_PER_SEC)

struct _NsQueue
{
  sqlite3 *db;
  char *path;
  int last_rc;      /* of the last failed statement (BUSY detection in write_txn) */
};

/* ---- names -------------------------------------------------------------------------- */

static const char *const state_names[] = { "queued", "used", "excluded" };
static const char *const run_status_names[] = { "running", "succeeded", "failed", "cancelled" };
static const char *const model_status_names[] = { "registered", "failed" };

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

const char *
ns_queue_run_status_name (NsQueueRunStatus status)
{
  g_return_val_if_fail (status <= NS_QUEUE_RUN_CANCELLED, NULL);
  return run_status_names[status];
}

const char *
ns_queue_model_status_name (NsQueueModelStatus status)
{
  g_return_val_if_fail (status <= NS_QUEUE_MODEL_FAILED, NULL);
  return model_status_names[status];
}

static int
index_of (const char *const *names, guint n, const char *name)
{
  for (guint i = 0; i < n; i++)
    if (g_strcmp0 (names[i], name) == 0)
      return i;
  return 0;
}

/* ---- errors and statements --------------------------------------------------------- */

static gboolean
is_busy (int rc)
{
  return (rc & 0xff) == SQLITE_BUSY || (rc & 0xff) == SQLITE_LOCKED;
}

static int
error_code_for (int rc)
{
  switch (rc & 0xff)
    {
    case SQLITE_CORRUPT:
    case SQLITE_NOTADB:
      return NS_DATA_ERROR_CORRUPT;
    case SQLITE_CANTOPEN:
      return NS_DATA_ERROR_NOT_FOUND;
    case SQLITE_CONSTRAINT:
      return NS_DATA_ERROR_INVALID;
    default:
      return NS_DATA_ERROR_IO;
    }
}

/* "<db>: <what>: <sqlite's message>" */
static void
set_sql_error (NsQueue *q, GError **error, int rc, const char *what)
{
  q->last_rc = rc;
  g_set_error (error, NS_DATA_ERROR, error_code_for (rc), "%s: %s: %s", q->path, what,
               q->db != NULL && sqlite3_errcode (q->db) == rc ? sqlite3_errmsg (q->db)
                                                              : sqlite3_errstr (rc));
}

static sqlite3_stmt *
prepare (NsQueue *q, const char *sql, GError **error)
{
  sqlite3_stmt *stmt = NULL;
  int rc = sqlite3_prepare_v2 (q->db, sql, -1, &stmt, NULL);
  if (rc != SQLITE_OK)
    {
      set_sql_error (q, error, rc, "cannot prepare a statement");
      return NULL;
    }
  return stmt;
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (sqlite3_stmt, sqlite3_finalize)

/* Steps a statement that returns no rows. */
static gboolean
step_done (NsQueue *q, sqlite3_stmt *stmt, const char *what, GError **error)
{
  int rc = sqlite3_step (stmt);
  if (rc != SQLITE_DONE && rc != SQLITE_ROW)
    {
      set_sql_error (q, error, rc, what);
      return FALSE;
    }
  return TRUE;
}

static gboolean
exec (NsQueue *q, const char *sql, const char *what, GError **error)
{
  char *msg = NULL;
  int rc = sqlite3_exec (q->db, sql, NULL, NULL, &msg);
  if (rc != SQLITE_OK)
    {
      q->last_rc = rc;
      g_set_error (error, NS_DATA_ERROR, error_code_for (rc), "%s: %s: %s", q->path, what,
                   msg != NULL ? msg : sqlite3_errstr (rc));
      sqlite3_free (msg);
      return FALSE;
    }
  return TRUE;
}

static void
bind_text_or_null (sqlite3_stmt *stmt, int i, const char *text)
{
  if (text != NULL)
    sqlite3_bind_text (stmt, i, text, -1, SQLITE_TRANSIENT);
  else
    sqlite3_bind_null (stmt, i);
}

static void
bind_int_or_null (sqlite3_stmt *stmt, int i, gint64 v)
{
  if (v != 0)
    sqlite3_bind_int64 (stmt, i, v);
  else
    sqlite3_bind_null (stmt, i);
}

static void
bind_double_or_null (sqlite3_stmt *stmt, int i, double v)
{
  if (isfinite (v))
    sqlite3_bind_double (stmt, i, v);
  else
    sqlite3_bind_null (stmt, i);
}

static char *
col_text (sqlite3_stmt *stmt, int i)
{
  const unsigned char *t = sqlite3_column_text (stmt, i);
  return t != NULL ? g_strdup ((const char *) t) : NULL;
}

static double
col_double_or_nan (sqlite3_stmt *stmt, int i)
{
  return sqlite3_column_type (stmt, i) == SQLITE_NULL ? NAN : sqlite3_column_double (stmt, i);
}

static char *
now_iso8601 (void)
{
  g_autoptr (GDateTime) now = g_date_time_new_now_utc ();
  return g_date_time_format_iso8601 (now);
}

/* A single integer from a query with optional one integer parameter; *value unchanged
 * when there is no row or the value is NULL. */
static gboolean
query_int (NsQueue *q, const char *sql, gint64 param, gint64 *value, GError **error)
{
  g_autoptr (sqlite3_stmt) stmt = prepare (q, sql, error);
  if (stmt == NULL)
    return FALSE;
  if (sqlite3_bind_parameter_count (stmt) > 0)
    sqlite3_bind_int64 (stmt, 1, param);
  int rc = sqlite3_step (stmt);
  if (rc == SQLITE_ROW)
    {
      if (sqlite3_column_type (stmt, 0) != SQLITE_NULL)
        *value = sqlite3_column_int64 (stmt, 0);
      return TRUE;
    }
  if (rc == SQLITE_DONE)
    return TRUE;
  set_sql_error (q, error, rc, "cannot read the database");
  return FALSE;
}

/* ---- transactions -------------------------------------------------------------------- */

typedef gboolean (*TxnFunc) (NsQueue *q, gpointer data, GError **error);

static void
rollback (NsQueue *q)
{
  if (!sqlite3_get_autocommit (q->db))
    sqlite3_exec (q->db, "ROLLBACK", NULL, NULL, NULL);
}

/* Runs func inside BEGIN IMMEDIATE ... COMMIT, retrying the whole transaction while
 * SQLite answers BUSY (another process holds the write lock beyond the busy timeout). */
static gboolean
write_txn (NsQueue *q, TxnFunc func, gpointer data, GError **error)
{
  gint64 deadline = g_get_monotonic_time () + BUSY_RETRY_US;
  gulong pause_us = 2000;

  for (;;)
    {
      g_autoptr (GError) local = NULL;
      q->last_rc = SQLITE_OK;
      if (exec (q, "BEGIN IMMEDIATE", "cannot start a write transaction", &local)
          && func (q, data, &local)
          && exec (q, "COMMIT", "cannot commit", &local))
        return TRUE;
      rollback (q);
      if (!is_busy (q->last_rc) || g_get_monotonic_time () > deadline)
        {
          g_propagate_error (error, g_steal_pointer (&local));
          return FALSE;
        }
      g_usleep (pause_us + g_random_int_range (0, 1000));
      pause_us = MIN (pause_us * 2, 100000);
    }
}

/* ---- schema ------------------------------------------------------------------------- */

/* Migration i takes a database from user_version i to i + 1.  Forward only: a release
 * appends a migration and never edits an earlier one. */
static const char *const migrations[] = {
  /* 0 -> 1: the first schema. */
  "CREATE TABLE cases (\n"
  "  id INTEGER PRIMARY KEY,\n"
  "  path TEXT NOT NULL UNIQUE,\n"
  "  case_id TEXT NOT NULL,\n"
  "  modalities TEXT NOT NULL,\n"
  "  added TEXT NOT NULL);\n"
  "CREATE TABLE models (\n"
  "  version INTEGER PRIMARY KEY,\n"
  "  path TEXT NOT NULL,\n"
  "  sha256 TEXT NOT NULL,\n"
  "  arch TEXT,\n"
  "  parent INTEGER REFERENCES models(version),\n"
  "  created TEXT NOT NULL,\n"
  "  metrics TEXT NOT NULL DEFAULT '{}');\n"
  "CREATE TABLE annotations (\n"
  "  id INTEGER PRIMARY KEY,\n"
  "  case_ref INTEGER NOT NULL REFERENCES cases(id) ON DELETE CASCADE,\n"
  "  mask_path TEXT NOT NULL,\n"
  "  who TEXT NOT NULL,\n"
  "  created TEXT NOT NULL,\n"
  "  model_version INTEGER REFERENCES models(version) ON DELETE SET NULL,\n"
  "  effort REAL,\n"
  "  edited_voxels INTEGER);\n"
  "CREATE INDEX annotations_case ON annotations(case_ref);\n"
  "CREATE TABLE queue (\n"
  "  case_ref INTEGER PRIMARY KEY REFERENCES cases(id) ON DELETE CASCADE,\n"
  "  state TEXT NOT NULL CHECK (state IN ('queued', 'used', 'excluded')),\n"
  "  model_version INTEGER REFERENCES models(version),\n"
  "  updated TEXT NOT NULL);\n"
  "CREATE TABLE runs (\n"
  "  id INTEGER PRIMARY KEY,\n"
  "  started TEXT NOT NULL,\n"
  "  finished TEXT,\n"
  "  status TEXT NOT NULL CHECK (status IN ('running', 'succeeded', 'failed', 'cancelled')),\n"
  "  command TEXT,\n"
  "  log_path TEXT,\n"
  "  model_version INTEGER REFERENCES models(version));\n"
  "CREATE TABLE settings (key TEXT PRIMARY KEY, value TEXT);\n",

  /* 1 -> 2: uncertainty and the prediction file of annotations; the history of queue
   * states; model status, failure and default flag (from settings.default_model) with a
   * promotions log; the process and cases of runs. */
  "ALTER TABLE annotations ADD COLUMN uncertainty REAL;\n"
  "ALTER TABLE annotations ADD COLUMN prediction_path TEXT;\n"
  "CREATE TABLE queue_history (\n"
  "  id INTEGER PRIMARY KEY,\n"
  "  case_ref INTEGER NOT NULL REFERENCES cases(id) ON DELETE CASCADE,\n"
  "  state TEXT NOT NULL CHECK (state IN ('queued', 'used', 'excluded')),\n"
  "  model_version INTEGER,\n"
  "  at TEXT NOT NULL,\n"
  "  who TEXT,\n"
  "  note TEXT);\n"
  "CREATE INDEX queue_history_case ON queue_history(case_ref);\n"
  "INSERT INTO queue_history (case_ref, state, model_version, at, note)\n"
  "  SELECT case_ref, state, model_version, updated, 'state at migration from schema 1'\n"
  "  FROM queue;\n"
  "ALTER TABLE models ADD COLUMN status TEXT NOT NULL DEFAULT 'registered'\n"
  "  CHECK (status IN ('registered', 'failed'));\n"
  "ALTER TABLE models ADD COLUMN error TEXT;\n"
  "ALTER TABLE models ADD COLUMN is_default INTEGER NOT NULL DEFAULT 0\n"
  "  CHECK (is_default IN (0, 1));\n"
  "ALTER TABLE models ADD COLUMN run_id INTEGER REFERENCES runs(id) ON DELETE SET NULL;\n"
  "CREATE UNIQUE INDEX models_one_default ON models(is_default) WHERE is_default = 1;\n"
  "CREATE TABLE promotions (\n"
  "  id INTEGER PRIMARY KEY,\n"
  "  version INTEGER NOT NULL REFERENCES models(version),\n"
  "  previous_version INTEGER REFERENCES models(version),\n"
  "  action TEXT NOT NULL CHECK (action IN ('promote', 'rollback')),\n"
  "  at TEXT NOT NULL,\n"
  "  who TEXT);\n"
  "UPDATE models SET is_default = 1 WHERE version =\n"
  "  (SELECT CAST(value AS INTEGER) FROM settings WHERE key = 'default_model');\n"
  "INSERT INTO promotions (version, action, at, who)\n"
  "  SELECT version, 'promote', created, 'migration from schema 1' FROM models\n"
  "  WHERE is_default = 1;\n"
  "DROP TABLE settings;\n"
  "ALTER TABLE runs ADD COLUMN pid INTEGER;\n"
  "ALTER TABLE runs ADD COLUMN pid_start INTEGER;\n"
  "ALTER TABLE runs ADD COLUMN host TEXT;\n"
  "ALTER TABLE runs ADD COLUMN error TEXT;\n"
  "CREATE TABLE run_cases (\n"
  "  run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,\n"
  "  case_ref INTEGER NOT NULL REFERENCES cases(id) ON DELETE CASCADE,\n"
  "  PRIMARY KEY (run_id, case_ref));\n",
};

G_STATIC_ASSERT (G_N_ELEMENTS (migrations) == NS_QUEUE_SCHEMA_VERSION);

static gboolean
migrate_txn (NsQueue *q, gpointer data, GError **error)
{
  gint64 version = 0;

  /* Read again under the write lock: another process may have migrated meanwhile. */
  if (!query_int (q, "PRAGMA user_version", 0, &version, error))
    return FALSE;
  if (version > NS_QUEUE_SCHEMA_VERSION)
    {
      g_set_error (error, NS_DATA_ERROR, NS_DATA_ERROR_UNSUPPORTED,
                   "%s: schema version %" G_GINT64_FORMAT " is newer than this neuroseg "
                   "knows (%d): update neuroseg", q->path, version, NS_QUEUE_SCHEMA_VERSION);
      return FALSE;
    }
  for (gint64 v = version; v < NS_QUEUE_SCHEMA_VERSION; v++)
    {
      g_autofree char *what = g_strdup_printf ("cannot migrate the schema from version %"
                                               G_GINT64_FORMAT " to %" G_GINT64_FORMAT,
                                               v, v + 1);
      if (!exec (q, migrations[v], what, error))
        return FALSE;
    }
  if (version < NS_QUEUE_SCHEMA_VERSION)
    {
      g_autofree char *sql = g_strdup_printf ("PRAGMA user_version = %d",
                                              NS_QUEUE_SCHEMA_VERSION);
      if (!exec (q, sql, "cannot set the schema version", error))
        return FALSE;
    }
  /* Foreign keys must still hold after the migration. */
  g_autoptr (sqlite3_stmt) stmt = prepare (q, "PRAGMA foreign_key_check", error);
  if (stmt == NULL)
    return FALSE;
  if (sqlite3_step (stmt) == SQLITE_ROW)
    {
      g_set_error (error, NS_DATA_ERROR, NS_DATA_ERROR_CORRUPT,
                   "%s: table %s refers to a missing row after migration", q->path,
                   sqlite3_column_text (stmt, 0));
      return FALSE;
    }
  return TRUE;
}

/* ---- open / close ------------------------------------------------------------------- */

char *
ns_queue_default_path (void)
{
  const char *dir = g_getenv ("NEUROSEG_DATA_DIR");
  if (dir != NULL && dir[0] != '\0')
    return g_build_filename (dir, "neuroseg.db", NULL);
  return g_build_filename (g_get_user_data_dir (), "neuroseg", "neuroseg.db", NULL);
}

/* Pragmas that may need a lock (journal_mode): retried while BUSY. */
static gboolean
exec_retry (NsQueue *q, const char *sql, const char *what, GError **error)
{
  gint64 deadline = g_get_monotonic_time () + BUSY_RETRY_US;
  for (;;)
    {
      g_autoptr (GError) local = NULL;
      if (exec (q, sql, what, &local))
        return TRUE;
      if (!is_busy (q->last_rc) || g_get_monotonic_time () > deadline)
        {
          g_propagate_error (error, g_steal_pointer (&local));
          return FALSE;
        }
      g_usleep (5000 + g_random_int_range (0, 5000));
    }
}

NsQueue *
ns_queue_open (const char *path, GError **error)
{
  g_autofree char *default_path = NULL;
  g_autoptr (NsQueue) q = g_new0 (NsQueue, 1);
  gint64 version = 0;

  if (path == NULL)
    path = default_path = ns_queue_default_path ();
  q->path = g_canonicalize_filename (path, NULL);

  g_autofree char *dir = g_path_get_dirname (q->path);
  if (g_mkdir_with_parents (dir, 0700) != 0)
    {
      int e = errno;
      g_set_error (error, NS_DATA_ERROR, NS_DATA_ERROR_IO, "%s: cannot create the folder: %s",
                   q->path, g_strerror (e));
      return NULL;
    }
  if (g_file_test (q->path, G_FILE_TEST_IS_DIR))
    {
      g_set_error (error, NS_DATA_ERROR, NS_DATA_ERROR_INVALID,
                   "%s: is a folder, not a database file", q->path);
      return NULL;
    }

  int rc = sqlite3_open_v2 (q->path, &q->db,
                            SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX,
                            NULL);
  if (rc != SQLITE_OK)
    {
      set_sql_error (q, error, rc, "cannot open the database");
      return NULL;
    }
  sqlite3_extended_result_codes (q->db, 1);
  sqlite3_busy_timeout (q->db, BUSY_TIMEOUT_MS);

  /* Reading the schema fails at once on a file that is not a database. */
  if (!exec_retry (q, "PRAGMA schema_version", "not a usable database", error))
    return NULL;
  g_autoptr (sqlite3_stmt) wal = prepare (q, "PRAGMA journal_mode = WAL", error);
  if (wal == NULL)
    return NULL;
  for (gint64 deadline = g_get_monotonic_time () + BUSY_RETRY_US;;)
    {
      rc = sqlite3_step (wal);
      if (rc == SQLITE_ROW)
        break;
      sqlite3_reset (wal);
      if (!is_busy (rc) || g_get_monotonic_time () > deadline)
        {
          set_sql_error (q, error, rc, "cannot switch to WAL mode");
          return NULL;
        }
      g_usleep (5000 + g_random_int_range (0, 5000));
    }
  if (g_ascii_strcasecmp ((const char *) sqlite3_column_text (wal, 0), "wal") != 0)
    {
      g_set_error (error, NS_DATA_ERROR, NS_DATA_ERROR_IO,
                   "%s: cannot switch to WAL mode (journal mode stays %s)", q->path,
                   sqlite3_column_text (wal, 0));
      return NULL;
    }
  g_clear_pointer (&wal, sqlite3_finalize);
  if (!exec (q, "PRAGMA foreign_keys = ON; PRAGMA synchronous = NORMAL",
             "cannot set up the connection", error))
    return NULL;

  if (!query_int (q, "PRAGMA user_version", 0, &version, error))
    return NULL;
  if (version != NS_QUEUE_SCHEMA_VERSION && !write_txn (q, migrate_txn, NULL, error))
    return NULL;

  if (ns_queue_reap_stale_runs (q, error) < 0)
    return NULL;
  return g_steal_pointer (&q);
}

void
ns_queue_close (NsQueue *queue)
{
  if (queue == NULL)
    return;
  if (queue->db != NULL)
    sqlite3_close_v2 (queue->db);
  g_free (queue->path);
  g_free (queue);
}

const char *
ns_queue_get_path (NsQueue *queue)
{
  g_return_val_if_fail (queue != NULL, NULL);
  return queue->path;
}

gboolean
ns_queue_check_integrity (NsQueue *queue, GError **error)
{
  g_return_val_if_fail (queue != NULL, FALSE);
  g_autoptr (sqlite3_stmt) stmt = prepare (queue, "PRAGMA integrity_check", error);
  if (stmt == NULL)
    return FALSE;
  int rc = sqlite3_step (stmt);
  if (rc != SQLITE_ROW)
    {
      set_sql_error (queue, error, rc, "integrity check failed");
      return FALSE;
    }
  const char *answer = (const char *) sqlite3_column_text (stmt, 0);
  if (g_strcmp0 (answer, "ok") != 0)
    {
      g_set_error (error, NS_DATA_ERROR, NS_DATA_ERROR_CORRUPT, "%s: integrity check: %s",
                   queue->path, answer);
      return FALSE;
    }
  return TRUE;
}

/* ---- cases ---------------------------------------------------------------------------- */

static gboolean
has_nifti_extension (const char *name, gsize *stem_len)
{
  gsize n = strlen (name);
  if (n > 7 && g_ascii_strcasecmp (name + n - 7, ".nii.gz") == 0)
    {
      *stem_len = n - 7;
      return TRUE;
    }
  if (n > 4 && g_ascii_strcasecmp (name + n - 4, ".nii") == 0)
    {
      *stem_len = n - 4;
      return TRUE;
    }
  return FALSE;
}

/* The case id as ns-case.c names it: a folder's name, or a file's stem. */
static char *
case_id_of_file (const char *file)
{
  g_autofree char *base = g_path_get_basename (file);
  gsize stem_len = strlen (base);
  has_nifti_extension (base, &stem_len);
  base[stem_len] = '\0';
  return g_steal_pointer (&base);
}

typedef struct
{
  char *path;          /* absolute */
  char *case_id;
  char *modalities;    /* JSON */
  char *flair;         /* the file whose grid masks must match */
} CaseFiles;

static void
case_files_clear (CaseFiles *cf)
{
  g_free (cf->path);
  g_free (cf->case_id);
  g_free (cf->modalities);
  g_free (cf->flair);
}

G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (CaseFiles, case_files_clear)

static void
add_modality (JsonBuilder *b, const char *modality, const char *file, int volume)
{
  json_builder_begin_object (b);
  json_builder_set_member_name (b, "modality");
  json_builder_add_string_value (b, modality);
  json_builder_set_member_name (b, "file");
  json_builder_add_string_value (b, file);
  if (volume >= 0)
    {
      json_builder_set_member_name (b, "volume");
      json_builder_add_int_value (b, volume);
    }
  json_builder_end_object (b);
}

/* Finds a case's modality files without decoding them. */
static gboolean
describe_case (const char *case_path, CaseFiles *cf, GError **error)
{
  g_autoptr (JsonBuilder) b = json_builder_new ();

  if (!g_file_test (case_path, G_FILE_TEST_EXISTS))
    {
      g_set_error (error, NS_DATA_ERROR, NS_DATA_ERROR_NOT_FOUND, "%s: no such file or folder",
                   case_path);
      return FALSE;
    }
  cf->path = g_canonicalize_filename (case_path, NULL);
  json_builder_begin_array (b);
  if (g_file_test (cf->path, G_FILE_TEST_IS_DIR))
    {
      char *parts[NS_N_CASE_FILES];
      if (!ns_case_discover (cf->path, parts, error))
        return FALSE;
      for (int m = 0; m < NS_N_MODALITIES; m++)
        if (parts[m] != NULL)
          add_modality (b, ns_modality_name (m), parts[m], -1);
      cf->flair = g_strdup (parts[NS_CASE_FILE_FLAIR]);
      for (int i = 0; i < NS_N_CASE_FILES; i++)
        g_free (parts[i]);
      cf->case_id = g_path_get_basename (cf->path);
    }
  else
    {
      NsNiftiHeader hdr;
      NsCaseFile kind = ns_case_classify_file (cf->path);
      if (!ns_nifti_read_header (cf->path, &hdr, error))
        return FALSE;
      if (hdr.n_volumes == NS_N_MODALITIES && kind == NS_CASE_FILE_NONE)
        {
          /* Medical Segmentation Decathlon order (ns-case.h). */
          static const NsModality msd[NS_N_MODALITIES] = {
            NS_MODALITY_FLAIR, NS_MODALITY_T1, NS_MODALITY_T1C, NS_MODALITY_T2
          };
          for (int v = 0; v < NS_N_MODALITIES; v++)
            add_modality (b, ns_modality_name (msd[v]), cf->path, v);
          cf->case_id = case_id_of_file (cf->path);
        }
      else if (kind == NS_CASE_FILE_FLAIR && hdr.n_volumes == 1)
        {
          add_modality (b, "flair", cf->path, -1);
          g_autofree char *stem = case_id_of_file (cf->path);
          gsize n = strlen (stem);
          if (n > 6 && strchr ("_-.", stem[n - 6]) != NULL)
            stem[n - 6] = '\0';  /* "<ID>_flair" -> "<ID>" */
          cf->case_id = g_steal_pointer (&stem);
        }
      else
        {
          g_set_error (error, NS_DATA_ERROR, NS_DATA_ERROR_INVALID,
                       "%s: not a case (give a case folder, a 4-modality file or a FLAIR "
                       "file)", cf->path);
          return FALSE;
        }
      cf->flair = g_strdup (cf->path);
    }
  json_builder_end_array (b);
  g_autoptr (JsonNode) root = json_builder_get_root (b);
  cf->modalities = json_to_string (root, FALSE);
  return TRUE;
}

/* A mask file as a label map of BraTS values (either scheme), unmapped. */
static NsLabelMap *
read_mask (const char *path, GError **error)
{
  g_autoptr (NsVolume) vol = ns_nifti_read (path, error);
  if (vol == NULL)
    return NULL;
  return ns_label_map_from_volume (vol, NS_LABEL_SCHEME_BRATS2015, FALSE, error);
}

static gboolean
grids_match (const NsGrid *a, const NsGrid *b)
{
  for (int d = 0; d < 3; d++)
    if (a->dim[d] != b->dim[d] || fabs (a->spacing[d] - b->spacing[d]) > 1e-4)
      return FALSE;
  return TRUE;
}

gboolean
ns_queue_compute_effort (const char *prediction_path, const char *mask_path, double *wt_dice,
                         gint64 *edited_voxels, GError **error)
{
  NsMetrics metrics;

  g_return_val_if_fail (prediction_path != NULL && mask_path != NULL, FALSE);
  g_autoptr (NsLabelMap) pred = read_mask (prediction_path, error);
  if (pred == NULL)
    return FALSE;
  g_autoptr (NsLabelMap) mask = read_mask (mask_path, error);
  if (mask == NULL)
    return FALSE;
  if (!ns_metrics_evaluate (pred, mask, &metrics, error))
    return FALSE;
  const NsMetricsRow *wt = ns_metrics_find_row (&metrics, "WT");
  g_assert (wt != NULL);
  gint64 edited = 0;
  gsize n = ns_grid_n_voxels (&mask->grid);
  for (gsize i = 0; i < n; i++)
    edited += pred->labels[i] != mask->labels[i];
  if (wt_dice != NULL)
    *wt_dice = wt->dice;
  if (edited_voxels != NULL)
    *edited_voxels = edited;
  return TRUE;
}

typedef struct
{
  const CaseFiles *cf;
  const NsQueueAnnotation *ann;
  const char *mask;        /* absolute */
  const char *prediction;  /* absolute or NULL */
  double effort;
  gint64 edited;
  gint64 case_row;         /* out */
} AddData;

static gboolean
add_history (NsQueue *q, gint64 case_row, NsQueueState state, int version, const char *at,
             const char *who, const char *note, GError **error)
{
  g_autoptr (sqlite3_stmt) st = prepare (q,
    "INSERT INTO queue_history (case_ref, state, model_version, at, who, note) "
    "VALUES (?, ?, ?, ?, ?, ?)", error);
  if (st == NULL)
    return FALSE;
  sqlite3_bind_int64 (st, 1, case_row);
  sqlite3_bind_text (st, 2, state_names[state], -1, SQLITE_STATIC);
  bind_int_or_null (st, 3, version);
  sqlite3_bind_text (st, 4, at, -1, SQLITE_TRANSIENT);
  bind_text_or_null (st, 5, who);
  bind_text_or_null (st, 6, note);
  return step_done (q, st, "cannot record the queue history", error);
}

static gboolean
check_model_exists (NsQueue *q, int version, GError **error)
{
  gint64 found = 0;
  if (!query_int (q, "SELECT count(*) FROM models WHERE version = ?", version, &found, error))
    return FALSE;
  if (found == 0)
    {
      g_set_error (error, NS_DATA_ERROR, NS_DATA_ERROR_NOT_FOUND,
                   "%s: no model version %d in the registry", q->path, version);
      return FALSE;
    }
  return TRUE;
}

static gboolean
add_txn (NsQueue *q, gpointer data, GError **error)
{
  AddData *d = data;
  g_autofree char *now = now_iso8601 ();
  const char *who = d->ann->who != NULL ? d->ann->who : g_get_user_name ();

  if (d->ann->model_version > 0 && !check_model_exists (q, d->ann->model_version, error))
    return FALSE;

  d->case_row = 0;
  {
    g_autoptr (sqlite3_stmt) st = prepare (q, "SELECT id FROM cases WHERE path = ?", error);
    if (st == NULL)
      return FALSE;
    sqlite3_bind_text (st, 1, d->cf->path, -1, SQLITE_TRANSIENT);
    int rc = sqlite3_step (st);
    if (rc == SQLITE_ROW)
      d->case_row = sqlite3_column_int64 (st, 0);
    else if (rc != SQLITE_DONE)
      {
        set_sql_error (q, error, rc, "cannot look up the case");
        return FALSE;
      }
  }
  if (d->case_row != 0)
    {
      /* Files may have been added to the folder since: describe it as it is now. */
      g_autoptr (sqlite3_stmt) st = prepare (q, "UPDATE cases SET case_id = ?, modalities = ? "
                                                "WHERE id = ?", error);
      if (st == NULL)
        return FALSE;
      sqlite3_bind_text (st, 1, d->cf->case_id, -1, SQLITE_TRANSIENT);
      sqlite3_bind_text (st, 2, d->cf->modalities, -1, SQLITE_TRANSIENT);
      sqlite3_bind_int64 (st, 3, d->case_row);
      if (!step_done (q, st, "cannot update the case", error))
        return FALSE;
    }
  if (d->case_row == 0)
    {
      g_autoptr (sqlite3_stmt) st = prepare (q,
        "INSERT INTO cases (path, case_id, modalities, added) VALUES (?, ?, ?, ?)", error);
      if (st == NULL)
        return FALSE;
      sqlite3_bind_text (st, 1, d->cf->path, -1, SQLITE_TRANSIENT);
      sqlite3_bind_text (st, 2, d->cf->case_id, -1, SQLITE_TRANSIENT);
      sqlite3_bind_text (st, 3, d->cf->modalities, -1, SQLITE_TRANSIENT);
      sqlite3_bind_text (st, 4, now, -1, SQLITE_TRANSIENT);
      if (!step_done (q, st, "cannot add the case", error))
        return FALSE;
      d->case_row = sqlite3_last_insert_rowid (q->db);
    }
  {
    g_autoptr (sqlite3_stmt) st = prepare (q,
      "INSERT INTO annotations (case_ref, mask_path, who, created, model_version, effort, "
      "edited_voxels, uncertainty, prediction_path) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", error);
    if (st == NULL)
      return FALSE;
    sqlite3_bind_int64 (st, 1, d->case_row);
    sqlite3_bind_text (st, 2, d->mask, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text (st, 3, who, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text (st, 4, now, -1, SQLITE_TRANSIENT);
    bind_int_or_null (st, 5, MAX (d->ann->model_version, 0));
    bind_double_or_null (st, 6, d->effort);
    if (d->edited >= 0)
      sqlite3_bind_int64 (st, 7, d->edited);
    bind_double_or_null (st, 8, d->ann->uncertainty);
    bind_text_or_null (st, 9, d->prediction);
    if (!step_done (q, st, "cannot add the annotation", error))
      return FALSE;
  }
  {
    g_autoptr (sqlite3_stmt) st = prepare (q,
      "INSERT INTO queue (case_ref, state, model_version, updated) VALUES (?1, 'queued', NULL, ?2) "
      "ON CONFLICT (case_ref) DO UPDATE SET state = 'queued', model_version = NULL, "
      "updated = ?2", error);
    if (st == NULL)
      return FALSE;
    sqlite3_bind_int64 (st, 1, d->case_row);
    sqlite3_bind_text (st, 2, now, -1, SQLITE_TRANSIENT);
    if (!step_done (q, st, "cannot queue the case", error))
      return FALSE;
  }
  return add_history (q, d->case_row, NS_QUEUE_STATE_QUEUED, 0, now, who,
                      "annotation added", error);
}

gint64
ns_queue_add (NsQueue *queue, const char *case_path, const NsQueueAnnotation *annotation,
              GError **error)
{
  g_auto (CaseFiles) cf = { 0 };
  NsNiftiHeader flair_hdr;

  g_return_val_if_fail (queue != NULL && case_path != NULL && annotation != NULL, 0);
  g_return_val_if_fail (annotation->mask_path != NULL, 0);

  if (!describe_case (case_path, &cf, error))
    return 0;
  if (!ns_nifti_read_header (cf.flair, &flair_hdr, error))
    return 0;
  g_autoptr (NsLabelMap) mask = read_mask (annotation->mask_path, error);
  if (mask == NULL)
    return 0;
  if (!grids_match (&mask->grid, &flair_hdr.grid))
    {
      g_set_error (error, NS_DATA_ERROR, NS_DATA_ERROR_GRID_MISMATCH,
                   "%s: the mask's grid (%d x %d x %d) is not that of the case's FLAIR %s "
                   "(%d x %d x %d)", annotation->mask_path, mask->grid.dim[0],
                   mask->grid.dim[1], mask->grid.dim[2], cf.flair, flair_hdr.grid.dim[0],
                   flair_hdr.grid.dim[1], flair_hdr.grid.dim[2]);
      return 0;
    }

  g_autofree char *mask_abs = g_canonicalize_filename (annotation->mask_path, NULL);
  g_autofree char *pred_abs = NULL;
  AddData d = { &cf, annotation, mask_abs, NULL, NAN, -1, 0 };
  if (annotation->prediction_path != NULL)
    {
      pred_abs = g_canonicalize_filename (annotation->prediction_path, NULL);
      if (!ns_queue_compute_effort (annotation->prediction_path, annotation->mask_path,
                                    &d.effort, &d.edited, error))
        return 0;
      d.prediction = pred_abs;
    }
  if (!write_txn (queue, add_txn, &d, error))
    return 0;
  return d.case_row;
}

/* ---- listing ------------------------------------------------------------------------ */

#define ENTRY_SELECT \
  "SELECT c.id, c.path, c.case_id, c.modalities, c.added, q.state, q.model_version, " \
  "a.id, a.mask_path, a.prediction_path, a.who, a.created, a.model_version, a.effort, " \
  "a.edited_voxels, a.uncertainty, " \
  "(SELECT count(*) FROM annotations WHERE case_ref = c.id) " \
  "FROM cases c JOIN queue q ON q.case_ref = c.id " \
  "LEFT JOIN annotations a ON a.id = (SELECT max(id) FROM annotations WHERE case_ref = c.id) "

static NsQueueEntry *
entry_from_row (sqlite3_stmt *st)
{
  NsQueueEntry *e = g_new0 (NsQueueEntry, 1);
  e->id = sqlite3_column_int64 (st, 0);
  e->path = col_text (st, 1);
  e->case_id = col_text (st, 2);
  e->modalities = col_text (st, 3);
  e->added = col_text (st, 4);
  e->state = index_of (state_names, G_N_ELEMENTS (state_names),
                       (const char *) sqlite3_column_text (st, 5));
  e->used_by = sqlite3_column_int (st, 6);
  e->annotation_id = sqlite3_column_int64 (st, 7);
  e->mask_path = col_text (st, 8);
  e->prediction_path = col_text (st, 9);
  e->who = col_text (st, 10);
  e->annotated = col_text (st, 11);
  e->model_version = sqlite3_column_int (st, 12);
  e->effort = col_double_or_nan (st, 13);
  e->edited_voxels = sqlite3_column_type (st, 14) == SQLITE_NULL ? -1
                                                                 : sqlite3_column_int64 (st, 14);
  e->uncertainty = col_double_or_nan (st, 15);
  e->n_annotations = sqlite3_column_int (st, 16);
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
  g_free (e);
}

GPtrArray *
ns_queue_list (NsQueue *queue, NsQueueSort sort, int state, GError **error)
{
  static const char *const orders[] = {
    [NS_QUEUE_SORT_ADDED] = "c.added, c.id",
    [NS_QUEUE_SORT_UNCERTAINTY] = "a.uncertainty IS NULL, a.uncertainty DESC, c.id",
    [NS_QUEUE_SORT_EFFORT] = "a.effort IS NULL, a.effort ASC, c.id",
  };

  g_return_val_if_fail (queue != NULL, NULL);
  g_return_val_if_fail (sort <= NS_QUEUE_SORT_EFFORT, NULL);
  g_autofree char *sql = g_strdup_printf (ENTRY_SELECT "%s ORDER BY %s",
                                          state >= 0 ? "WHERE q.state = ?" : "", orders[sort]);
  g_autoptr (sqlite3_stmt) st = prepare (queue, sql, error);
  if (st == NULL)
    return NULL;
  if (state >= 0)
    sqlite3_bind_text (st, 1, ns_queue_state_name (state), -1, SQLITE_STATIC);
  g_autoptr (GPtrArray) out = g_ptr_array_new_with_free_func ((GDestroyNotify) ns_queue_entry_free);
  int rc;
  while ((rc = sqlite3_step (st)) == SQLITE_ROW)
    g_ptr_array_add (out, entry_from_row (st));
  if (rc != SQLITE_DONE)
    {
      set_sql_error (queue, error, rc, "cannot list the queue");
      return NULL;
    }
  return g_steal_pointer (&out);
}

NsQueueEntry *
ns_queue_find (NsQueue *queue, const char *ref, GError **error)
{
  g_return_val_if_fail (queue != NULL && ref != NULL, NULL);

  /* A path when it exists, else a row id when all digits, else a case id. */
  g_autofree char *abs = NULL;
  const char *where;
  char *end = NULL;
  gint64 id = g_ascii_strtoll (ref, &end, 10);
  if (g_file_test (ref, G_FILE_TEST_EXISTS))
    {
      abs = g_canonicalize_filename (ref, NULL);
      where = "WHERE c.path = ?";
    }
  else if (ref[0] != '\0' && *end == '\0')
    where = "WHERE c.id = ?";
  else
    where = "WHERE c.case_id = ?";

  g_autofree char *sql = g_strconcat (ENTRY_SELECT, where, " ORDER BY c.id", NULL);
  g_autoptr (sqlite3_stmt) st = prepare (queue, sql, error);
  if (st == NULL)
    return NULL;
  if (abs != NULL)
    sqlite3_bind_text (st, 1, abs, -1, SQLITE_TRANSIENT);
  else if (ref[0] != '\0' && *end == '\0')
    sqlite3_bind_int64 (st, 1, id);
  else
    sqlite3_bind_text (st, 1, ref, -1, SQLITE_TRANSIENT);

  int rc = sqlite3_step (st);
  if (rc == SQLITE_DONE)
    {
      g_set_error (error, NS_DATA_ERROR, NS_DATA_ERROR_NOT_FOUND, "%s: no case %s in the queue",
                   queue->path, ref);
      return NULL;
    }
  if (rc != SQLITE_ROW)
    {
      set_sql_error (queue, error, rc, "cannot look up the case");
      return NULL;
    }
  g_autoptr (NsQueueEntry) e = entry_from_row (st);
  if (sqlite3_step (st) == SQLITE_ROW)
    {
      g_set_error (error, NS_DATA_ERROR, NS_DATA_ERROR_INVALID,
                   "%s: case id %s names several cases (%s and %s): give the path or the "
                   "row id", queue->path, ref, e->path, sqlite3_column_text (st, 1));
      return NULL;
    }
  return g_steal_pointer (&e);
}

static gboolean
check_case_exists (NsQueue *q, gint64 case_row, GError **error)
{
  gint64 found = 0;
  if (!query_int (q, "SELECT count(*) FROM cases WHERE id = ?", case_row, &found, error))
    return FALSE;
  if (found == 0)
    {
      g_set_error (error, NS_DATA_ERROR, NS_DATA_ERROR_NOT_FOUND,
                   "%s: no case with id %" G_GINT64_FORMAT " in the queue", q->path, case_row);
      return FALSE;
    }
  return TRUE;
}

static gboolean
remove_txn (NsQueue *q, gpointer data, GError **error)
{
  gint64 case_row = *(gint64 *) data;
  if (!check_case_exists (q, case_row, error))
    return FALSE;
  g_autoptr (sqlite3_stmt) st = prepare (q, "DELETE FROM cases WHERE id = ?", error);
  if (st == NULL)
    return FALSE;
  sqlite3_bind_int64 (st, 1, case_row);
  return step_done (q, st, "cannot remove the case", error);
}

gboolean
ns_queue_remove (NsQueue *queue, gint64 case_id, GError **error)
{
  g_return_val_if_fail (queue != NULL, FALSE);
  return write_txn (queue, remove_txn, &case_id, error);
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
set_state (NsQueue *q, const StateData *d, const char *now, GError **error)
{
  g_autoptr (sqlite3_stmt) st = prepare (q,
    "UPDATE queue SET state = ?, model_version = ?, updated = ? WHERE case_ref = ?", error);
  if (st == NULL)
    return FALSE;
  sqlite3_bind_text (st, 1, state_names[d->state], -1, SQLITE_STATIC);
  bind_int_or_null (st, 2, d->state == NS_QUEUE_STATE_USED ? d->version : 0);
  sqlite3_bind_text (st, 3, now, -1, SQLITE_TRANSIENT);
  sqlite3_bind_int64 (st, 4, d->case_row);
  if (!step_done (q, st, "cannot change the queue state", error))
    return FALSE;
  return add_history (q, d->case_row, d->state,
                      d->state == NS_QUEUE_STATE_USED ? d->version : 0, now,
                      d->who != NULL ? d->who : g_get_user_name (), d->note, error);
}

static gboolean
state_txn (NsQueue *q, gpointer data, GError **error)
{
  StateData *d = data;
  g_autofree char *now = now_iso8601 ();
  if (!check_case_exists (q, d->case_row, error))
    return FALSE;
  if (d->state == NS_QUEUE_STATE_USED && !check_model_exists (q, d->version, error))
    return FALSE;
  return set_state (q, d, now, error);
}

gboolean
ns_queue_set_state (NsQueue *queue, gint64 case_id, NsQueueState state, int model_version,
                    const char *who, const char *note, GError **error)
{
  StateData d = { case_id, state, model_version, who, note };
  g_return_val_if_fail (queue != NULL && state <= NS_QUEUE_STATE_EXCLUDED, FALSE);
  if (state == NS_QUEUE_STATE_USED && model_version <= 0)
    {
      g_set_error (error, NS_DATA_ERROR, NS_DATA_ERROR_INVALID,
                   "%s: a case marked used needs the model version that used it",
                   queue->path);
      return FALSE;
    }
  return write_txn (queue, state_txn, &d, error);
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
ns_queue_history (NsQueue *queue, gint64 case_id, GError **error)
{
  g_return_val_if_fail (queue != NULL, NULL);
  g_autoptr (sqlite3_stmt) st = prepare (queue,
    "SELECT state, model_version, at, who, note FROM queue_history WHERE case_ref = ? "
    "ORDER BY id", error);
  if (st == NULL)
    return NULL;
  sqlite3_bind_int64 (st, 1, case_id);
  g_autoptr (GPtrArray) out =
    g_ptr_array_new_with_free_func ((GDestroyNotify) ns_queue_history_item_free);
  int rc;
  while ((rc = sqlite3_step (st)) == SQLITE_ROW)
    {
      NsQueueHistoryItem *h = g_new0 (NsQueueHistoryItem, 1);
      h->state = index_of (state_names, G_N_ELEMENTS (state_names),
                           (const char *) sqlite3_column_text (st, 0));
      h->model_version = sqlite3_column_int (st, 1);
      h->at = col_text (st, 2);
      h->who = col_text (st, 3);
      h->note = col_text (st, 4);
      g_ptr_array_add (out, h);
    }
  if (rc != SQLITE_DONE)
    {
      set_sql_error (queue, error, rc, "cannot read the queue history");
      return NULL;
    }
  return g_steal_pointer (&out);
}

/* ---- export (nnU-Net v2 / MSD) ------------------------------------------------------- */

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
  g_autoptr (JsonParser) parser = json_parser_new ();
  if (!json_parser_load_from_data (parser, modalities_json, -1, NULL))
    return FALSE;
  JsonNode *root = json_parser_get_root (parser);
  if (root == NULL || !JSON_NODE_HOLDS_ARRAY (root))
    return FALSE;
  JsonArray *a = json_node_get_array (root);
  for (guint i = 0; i < json_array_get_length (a); i++)
    {
      JsonObject *o = json_array_get_object_element (a, i);
      if (o == NULL)
        continue;
      if (g_strcmp0 (json_object_get_string_member_with_default (o, "modality", ""),
                     modality) == 0)
        {
          if (file != NULL)
            *file = g_strdup (json_object_get_string_member_with_default (o, "file", ""));
          if (volume != NULL)
            *volume = json_object_get_int_member_with_default (o, "volume", -1);
          return TRUE;
        }
    }
  return FALSE;
}

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
export_image (const char *src, int volume, const char *dst, gboolean copy, GError **error)
{
  gsize stem;
  if (volume >= 0)
    {
      /* One volume of a 4-D file: written anew (float32) since it cannot be linked. */
      g_autoptr (GPtrArray) vols = ns_nifti_read_all (src, error);
      if (vols == NULL)
        return FALSE;
      if ((guint) volume >= vols->len)
        {
          g_set_error (error, NS_DATA_ERROR, NS_DATA_ERROR_CORRUPT,
                       "%s: has %u volumes, volume %d expected", src, vols->len, volume);
          return FALSE;
        }
      return ns_nifti_write_volume (g_ptr_array_index (vols, volume), dst, error);
    }
  gboolean gz = g_str_has_suffix (src, ".gz") || g_str_has_suffix (src, ".GZ");
  if (!has_nifti_extension (src, &stem))
    gz = TRUE;  /* unusual names: copied as they are */
  if (gz && !copy && link (src, dst) == 0)
    return TRUE;
  return copy_file (src, dst, !gz, error);
}

/* BraTS (2017+ or 2015) to nnU-Net's consecutive labels: 0; 1 NCR/NET (and 2015's 3,
 * non-enhancing, as ns_label_map_map_2015_to_2017 does); 2 edema; 3 enhancing. */
static gboolean
export_labels (const char *src, const char *dst, GError **error)
{
  static const guint8 lut[5] = { 0, 1, 2, 1, 3 };
  g_autoptr (NsLabelMap) map = read_mask (src, error);
  if (map == NULL)
    return FALSE;
  gsize n = ns_grid_n_voxels (&map->grid);
  for (gsize i = 0; i < n; i++)
    map->labels[i] = lut[map->labels[i]];
  return ns_nifti_write_label_map (map, dst, error);
}

static char *
nnunet_identifier (const char *case_id, GHashTable *used)
{
  GString *s = g_string_new (NULL);
  for (const char *p = case_id; *p != '\0'; p++)
    g_string_append_c (s, g_ascii_isalnum (*p) || *p == '-' || *p == '.' ? *p : '_');
  if (s->len == 0)
    g_string_append (s, "case");
  g_autofree char *base = g_strdup (s->str);
  for (int i = 2; g_hash_table_contains (used, s->str); i++)
    g_string_printf (s, "%s_%d", base, i);
  g_hash_table_add (used, g_strdup (s->str));
  return g_string_free (s, FALSE);
}

/* Writes the dataset into work (an empty folder). */
static gboolean
export_files (NsQueue *queue, const char *work, GPtrArray *cases, GPtrArray *channels,
              const NsQueueExportOptions *options, GError **error)
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
      g_autofree char *ident = nnunet_identifier (e->case_id, used);
      for (guint c = 0; c < channels->len; c++)
        {
          g_autofree char *src = NULL;
          int volume = -1;
          find_modality (e->modalities, g_ptr_array_index (channels, c), &src, &volume);
          g_autofree char *name = g_strdup_printf ("%s_%04u.nii.gz", ident, c);
          g_autofree char *dst = g_build_filename (images_dir, name, NULL);
          if (!export_image (src, volume, dst, options->copy, error))
            return FALSE;
        }
      g_autofree char *lname = g_strdup_printf ("%s.nii.gz", ident);
      g_autofree char *ldst = g_build_filename (labels_dir, lname, NULL);
      if (e->mask_path == NULL)
        {
          g_set_error (error, NS_DATA_ERROR, NS_DATA_ERROR_NOT_FOUND,
                       "%s: case %s has no annotation", queue->path, e->case_id);
          return FALSE;
        }
      if (!export_labels (e->mask_path, ldst, error))
        return FALSE;
      json_builder_begin_object (cb);
      json_builder_set_member_name (cb, "identifier");
      json_builder_add_string_value (cb, ident);
      json_builder_set_member_name (cb, "case");
      json_builder_add_string_value (cb, e->path);
      json_builder_set_member_name (cb, "mask");
      json_builder_add_string_value (cb, e->mask_path);
      json_builder_set_member_name (cb, "annotation");
      json_builder_add_int_value (cb, e->annotation_id);
      json_builder_end_object (cb);
    }
  json_builder_end_array (cb);

  /* dataset.json as nnU-Net v2 reads it (channel_names, labels, numTraining,
   * file_ending), with MSD's "modality" too for older tools. */
  g_autoptr (JsonBuilder) b = json_builder_new ();
  json_builder_begin_object (b);
  json_builder_set_member_name (b, "name");
  json_builder_add_string_value (b, "NeurosegQueue");
  json_builder_set_member_name (b, "description");
  json_builder_add_string_value (b, "Corrected cases of the Neuroseg fine-tuning queue");
  for (int pass = 0; pass < 2; pass++)
    {
      json_builder_set_member_name (b, pass == 0 ? "channel_names" : "modality");
      json_builder_begin_object (b);
      for (guint c = 0; c < channels->len; c++)
        {
          g_autofree char *key = g_strdup_printf ("%u", c);
          json_builder_set_member_name (b, key);
          json_builder_add_string_value (b, channel_label (g_ptr_array_index (channels, c)));
        }
      json_builder_end_object (b);
    }
  json_builder_set_member_name (b, "labels");
  json_builder_begin_object (b);
  static const char *const label_names[] = { "background", "NCR/NET", "edema", "enhancing" };
  for (int l = 0; l < 4; l++)
    {
      json_builder_set_member_name (b, label_names[l]);
      json_builder_add_int_value (b, l);
    }
  json_builder_end_object (b);
  json_builder_set_member_name (b, "numTraining");
  json_builder_add_int_value (b, cases->len);
  json_builder_set_member_name (b, "file_ending");
  json_builder_add_string_value (b, ".nii.gz");
  json_builder_set_member_name (b, "neuroseg_cases");
  json_builder_add_value (b, json_builder_get_root (cb));
  json_builder_end_object (b);

  g_autoptr (JsonGenerator) gen = json_generator_new ();
  g_autoptr (JsonNode) root = json_builder_get_root (b);
  json_generator_set_root (gen, root);
  json_generator_set_pretty (gen, TRUE);
  g_autofree char *text = json_generator_to_data (gen, NULL);
  g_autofree char *json_path = g_build_filename (work, "dataset.json", NULL);
  g_autoptr (GError) local = NULL;
  if (!g_file_set_contents (json_path, text, -1, &local))
    {
      g_set_error (error, NS_DATA_ERROR, NS_DATA_ERROR_IO, "%s: %s", json_path, local->message);
      return FALSE;
    }
  return TRUE;
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

gboolean
ns_queue_export (NsQueue *queue, const char *dir, const NsQueueExportOptions *options,
                 guint *n_cases, GError **error)
{
  static const char *const order[] = { "flair", "t1", "t1c", "t2" };  /* MSD order */
  NsQueueExportOptions defaults = { 0 };

  g_return_val_if_fail (queue != NULL && dir != NULL, FALSE);
  if (options == NULL)
    options = &defaults;

  g_autoptr (GPtrArray) all = ns_queue_list (queue, NS_QUEUE_SORT_ADDED, -1, error);
  if (all == NULL)
    return FALSE;
  g_autoptr (GPtrArray) cases = g_ptr_array_new ();
  for (guint i = 0; i < all->len; i++)
    {
      NsQueueEntry *e = g_ptr_array_index (all, i);
      if (e->state == NS_QUEUE_STATE_QUEUED
          || (options->include_used && e->state == NS_QUEUE_STATE_USED))
        g_ptr_array_add (cases, e);
    }
  if (cases->len == 0)
    {
      g_set_error (error, NS_DATA_ERROR, NS_DATA_ERROR_NOT_FOUND,
                   "%s: no %s cases to export", queue->path,
                   options->include_used ? "queued or used" : "queued");
      return FALSE;
    }

  /* Channels: the ones asked for (each case must have them), else those all cases have. */
  g_autoptr (GPtrArray) channels = g_ptr_array_new ();
  if (options->modalities != NULL)
    {
      for (char **m = options->modalities; *m != NULL; m++)
        {
          gboolean known = FALSE;
          for (int k = 0; k < NS_N_MODALITIES; k++)
            known |= g_strcmp0 (*m, ns_modality_name (k)) == 0;
          if (!known)
            {
              g_set_error (error, NS_DATA_ERROR, NS_DATA_ERROR_INVALID,
                           "%s: unknown modality %s (flair, t1c, t1, t2)", dir, *m);
              return FALSE;
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
                return FALSE;
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
  /* Written into a temporary folder beside dir, renamed to dir at the end: an export that
   * fails leaves nothing behind. */
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
  if (!export_files (queue, tmpl, cases, channels, options, error))
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

/* ---- models ------------------------------------------------------------------------- */

static char *
file_sha256 (const char *path, GError **error)
{
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

static void
parse_dice (NsQueueModel *m)
{
  static const char *const keys[3] = { "dice_wt", "dice_tc", "dice_et" };
  for (int i = 0; i < 3; i++)
    m->dice[i] = NAN;
  if (m->metrics == NULL)
    return;
  g_autoptr (JsonParser) parser = json_parser_new ();
  if (!json_parser_load_from_data (parser, m->metrics, -1, NULL))
    return;
  JsonNode *root = json_parser_get_root (parser);
  if (root == NULL || !JSON_NODE_HOLDS_OBJECT (root))
    return;
  JsonObject *o = json_node_get_object (root);
  for (int i = 0; i < 3; i++)
    {
      JsonNode *n = json_object_get_member (o, keys[i]);
      if (n != NULL && JSON_NODE_HOLDS_VALUE (n)
          && (json_node_get_value_type (n) == G_TYPE_DOUBLE
              || json_node_get_value_type (n) == G_TYPE_INT64))
        m->dice[i] = json_node_get_double (n);
    }
}

#define MODEL_SELECT \
  "SELECT version, path, sha256, arch, parent, created, metrics, status, error, is_default, " \
  "run_id FROM models "

static NsQueueModel *
model_from_row (sqlite3_stmt *st)
{
  NsQueueModel *m = g_new0 (NsQueueModel, 1);
  m->version = sqlite3_column_int (st, 0);
  m->path = col_text (st, 1);
  m->sha256 = col_text (st, 2);
  m->arch = col_text (st, 3);
  m->parent = sqlite3_column_int (st, 4);
  m->created = col_text (st, 5);
  m->metrics = col_text (st, 6);
  m->status = index_of (model_status_names, G_N_ELEMENTS (model_status_names),
                        (const char *) sqlite3_column_text (st, 7));
  m->error = col_text (st, 8);
  m->is_default = sqlite3_column_int (st, 9) != 0;
  m->run_id = sqlite3_column_int64 (st, 10);
  parse_dice (m);
  return m;
}

void
ns_queue_model_free (NsQueueModel *m)
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

static GPtrArray *
select_models (NsQueue *q, const char *tail, gint64 param, GError **error)
{
  g_autofree char *sql = g_strconcat (MODEL_SELECT, tail, NULL);
  g_autoptr (sqlite3_stmt) st = prepare (q, sql, error);
  if (st == NULL)
    return NULL;
  if (sqlite3_bind_parameter_count (st) > 0)
    sqlite3_bind_int64 (st, 1, param);
  g_autoptr (GPtrArray) out = g_ptr_array_new_with_free_func ((GDestroyNotify) ns_queue_model_free);
  int rc;
  while ((rc = sqlite3_step (st)) == SQLITE_ROW)
    g_ptr_array_add (out, model_from_row (st));
  if (rc != SQLITE_DONE)
    {
      set_sql_error (q, error, rc, "cannot read the model registry");
      return NULL;
    }
  return g_steal_pointer (&out);
}

GPtrArray *
ns_queue_list_models (NsQueue *queue, GError **error)
{
  g_return_val_if_fail (queue != NULL, NULL);
  return select_models (queue, "ORDER BY version", 0, error);
}

NsQueueModel *
ns_queue_get_model (NsQueue *queue, int version, GError **error)
{
  g_return_val_if_fail (queue != NULL, NULL);
  g_autoptr (GPtrArray) a = select_models (queue, "WHERE version = ?", version, error);
  if (a == NULL)
    return NULL;
  if (a->len == 0)
    {
      g_set_error (error, NS_DATA_ERROR, NS_DATA_ERROR_NOT_FOUND,
                   "%s: no model version %d in the registry", queue->path, version);
      return NULL;
    }
  return g_ptr_array_steal_index (a, 0);
}

NsQueueModel *
ns_queue_get_default_model (NsQueue *queue, GError **error)
{
  g_return_val_if_fail (queue != NULL, NULL);
  g_autoptr (GPtrArray) a = select_models (queue, "WHERE is_default = 1", 0, error);
  if (a == NULL || a->len == 0)
    return NULL;
  return g_ptr_array_steal_index (a, 0);
}

int
ns_queue_find_model_by_path (NsQueue *queue, const char *path, GError **error)
{
  g_return_val_if_fail (queue != NULL && path != NULL, 0);
  g_autofree char *abs = g_canonicalize_filename (path, NULL);
  g_autoptr (sqlite3_stmt) st = prepare (queue,
    "SELECT max(version) FROM models WHERE path = ? AND status = 'registered'", error);
  if (st == NULL)
    return 0;
  sqlite3_bind_text (st, 1, abs, -1, SQLITE_TRANSIENT);
  int rc = sqlite3_step (st);
  if (rc != SQLITE_ROW)
    {
      set_sql_error (queue, error, rc, "cannot read the model registry");
      return 0;
    }
  return sqlite3_column_int (st, 0);
}

gboolean
ns_queue_verify_model_file (NsQueue *queue, const NsQueueModel *model, GError **error)
{
  g_return_val_if_fail (queue != NULL && model != NULL, FALSE);
  if (model->status != NS_QUEUE_MODEL_REGISTERED)
    {
      g_set_error (error, NS_DATA_ERROR, NS_DATA_ERROR_INVALID,
                   "%s: model version %d failed to load when registered (%s)", model->path,
                   model->version, model->error != NULL ? model->error : "no reason recorded");
      return FALSE;
    }
  g_autofree char *sum = file_sha256 (model->path, error);
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

char *
ns_queue_dup_default_model_path (NsQueue *queue, GError **error)
{
  g_autoptr (GError) local = NULL;
  g_return_val_if_fail (queue != NULL, NULL);
  g_autoptr (NsQueueModel) m = ns_queue_get_default_model (queue, &local);
  if (m == NULL)
    {
      if (local != NULL)
        g_propagate_error (error, g_steal_pointer (&local));
      return NULL;
    }
  if (!ns_queue_verify_model_file (queue, m, error))
    return NULL;
  return g_strdup (m->path);
}

char *
ns_queue_lookup_default_model (const char *db_path, GError **error)
{
  g_autofree char *default_path = NULL;
  if (db_path == NULL)
    db_path = default_path = ns_queue_default_path ();
  if (!g_file_test (db_path, G_FILE_TEST_IS_REGULAR))
    return NULL;
  g_autoptr (NsQueue) q = ns_queue_open (db_path, error);
  if (q == NULL)
    return NULL;
  return ns_queue_dup_default_model_path (q, error);
}

typedef struct
{
  const NsQueueModelInfo *info;
  const char *path;
  const char *sha256;
  const char *metrics;
  int version;  /* out */
} RegisterData;

static gboolean
register_txn (NsQueue *q, gpointer data, GError **error)
{
  RegisterData *d = data;
  const NsQueueModelInfo *info = d->info;
  g_autofree char *now = now_iso8601 ();

  if (info->parent > 0 && !check_model_exists (q, info->parent, error))
    return FALSE;
  /* Registering one file twice by hand is a slip; a run's model is always its own version
   * (a deterministic run may well reproduce an earlier file). */
  if (info->failure == NULL && info->run_id <= 0)
    {
      g_autoptr (sqlite3_stmt) st = prepare (q, "SELECT version FROM models WHERE sha256 = ? "
                                                "AND status = 'registered'", error);
      if (st == NULL)
        return FALSE;
      sqlite3_bind_text (st, 1, d->sha256, -1, SQLITE_TRANSIENT);
      if (sqlite3_step (st) == SQLITE_ROW)
        {
          g_set_error (error, NS_DATA_ERROR, NS_DATA_ERROR_INVALID,
                       "%s: already registered as model version %d (same sha256)", d->path,
                       sqlite3_column_int (st, 0));
          return FALSE;
        }
    }
  if (info->run_id > 0)
    {
      g_autofree char *status = NULL;
      g_autoptr (sqlite3_stmt) st = prepare (q, "SELECT status FROM runs WHERE id = ?", error);
      if (st == NULL)
        return FALSE;
      sqlite3_bind_int64 (st, 1, info->run_id);
      if (sqlite3_step (st) != SQLITE_ROW)
        {
          g_set_error (error, NS_DATA_ERROR, NS_DATA_ERROR_NOT_FOUND,
                       "%s: no training run %" G_GINT64_FORMAT, q->path, info->run_id);
          return FALSE;
        }
      status = col_text (st, 0);
      if (g_strcmp0 (status, "running") != 0 && g_strcmp0 (status, "failed") != 0)
        {
          g_set_error (error, NS_DATA_ERROR, NS_DATA_ERROR_INVALID,
                       "%s: training run %" G_GINT64_FORMAT " is %s and cannot produce "
                       "another model", q->path, info->run_id, status);
          return FALSE;
        }
    }
  {
    g_autoptr (sqlite3_stmt) st = prepare (q,
      "INSERT INTO models (path, sha256, arch, parent, created, metrics, status, error, run_id) "
      "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", error);
    if (st == NULL)
      return FALSE;
    sqlite3_bind_text (st, 1, d->path, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text (st, 2, d->sha256, -1, SQLITE_TRANSIENT);
    bind_text_or_null (st, 3, info->arch);
    bind_int_or_null (st, 4, MAX (info->parent, 0));
    sqlite3_bind_text (st, 5, now, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text (st, 6, d->metrics, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text (st, 7, info->failure == NULL ? "registered" : "failed", -1,
                       SQLITE_STATIC);
    bind_text_or_null (st, 8, info->failure);
    bind_int_or_null (st, 9, MAX (info->run_id, 0));
    if (!step_done (q, st, "cannot register the model", error))
      return FALSE;
    d->version = sqlite3_last_insert_rowid (q->db);
  }
  if (info->run_id > 0)
    {
      g_autoptr (sqlite3_stmt) st = prepare (q,
        "UPDATE runs SET status = ?, finished = ?, model_version = ?, error = ? WHERE id = ?",
        error);
      if (st == NULL)
        return FALSE;
      sqlite3_bind_text (st, 1, info->failure == NULL ? "succeeded" : "failed", -1,
                         SQLITE_STATIC);
      sqlite3_bind_text (st, 2, now, -1, SQLITE_TRANSIENT);
      sqlite3_bind_int (st, 3, d->version);
      bind_text_or_null (st, 4, info->failure);
      sqlite3_bind_int64 (st, 5, info->run_id);
      if (!step_done (q, st, "cannot finish the run", error))
        return FALSE;
      if (info->failure == NULL)
        {
          /* The run's cases that are still queued are now used by this version. */
          g_autoptr (sqlite3_stmt) sel = prepare (q,
            "SELECT r.case_ref FROM run_cases r JOIN queue q ON q.case_ref = r.case_ref "
            "WHERE r.run_id = ? AND q.state = 'queued'", error);
          if (sel == NULL)
            return FALSE;
          sqlite3_bind_int64 (sel, 1, info->run_id);
          g_autoptr (GArray) rows = g_array_new (FALSE, FALSE, sizeof (gint64));
          int rc;
          while ((rc = sqlite3_step (sel)) == SQLITE_ROW)
            {
              gint64 r = sqlite3_column_int64 (sel, 0);
              g_array_append_val (rows, r);
            }
          if (rc != SQLITE_DONE)
            {
              set_sql_error (q, error, rc, "cannot read the run's cases");
              return FALSE;
            }
          for (guint i = 0; i < rows->len; i++)
            {
              g_autofree char *note = g_strdup_printf ("trained on by run %" G_GINT64_FORMAT,
                                                       info->run_id);
              StateData sd = { g_array_index (rows, gint64, i), NS_QUEUE_STATE_USED,
                               d->version, NULL, note };
              if (!set_state (q, &sd, now, error))
                return FALSE;
            }
        }
    }
  return TRUE;
}

int
ns_queue_register_model (NsQueue *queue, const NsQueueModelInfo *info, GError **error)
{
  g_return_val_if_fail (queue != NULL && info != NULL && info->path != NULL, 0);

  g_autofree char *abs = g_canonicalize_filename (info->path, NULL);
  g_autofree char *sum = file_sha256 (abs, error);
  if (sum == NULL)
    return 0;
  const char *metrics = info->metrics != NULL ? info->metrics : "{}";
  g_autoptr (JsonParser) parser = json_parser_new ();
  g_autoptr (GError) local = NULL;
  if (!json_parser_load_from_data (parser, metrics, -1, &local)
      || json_parser_get_root (parser) == NULL
      || !JSON_NODE_HOLDS_OBJECT (json_parser_get_root (parser)))
    {
      g_set_error (error, NS_DATA_ERROR, NS_DATA_ERROR_INVALID,
                   "%s: the metrics are not a JSON object%s%s", abs, local ? ": " : "",
                   local ? local->message : "");
      return 0;
    }
  RegisterData d = { info, abs, sum, metrics, 0 };
  if (!write_txn (queue, register_txn, &d, error))
    return 0;
  return d.version;
}

typedef struct
{
  int version;        /* in: target (0 for rollback: the previous default) */
  const char *who;
  const char *action; /* "promote" or "rollback" */
} PromoteData;

static gboolean
promote_txn (NsQueue *q, gpointer data, GError **error)
{
  PromoteData *d = data;
  g_autofree char *now = now_iso8601 ();
  gint64 current = 0;

  if (!query_int (q, "SELECT version FROM models WHERE is_default = 1", 0, &current, error))
    return FALSE;
  if (g_strcmp0 (d->action, "rollback") == 0)
    {
      if (current == 0)
        {
          g_set_error (error, NS_DATA_ERROR, NS_DATA_ERROR_INVALID,
                       "%s: no default model to roll back from", q->path);
          return FALSE;
        }
      if (d->version == 0)
        {
          /* The most recent earlier default that differs from the current one. */
          gint64 prev = 0;
          if (!query_int (q, "SELECT p.version FROM promotions p JOIN models m "
                             "ON m.version = p.version WHERE p.version != ? AND "
                             "m.status = 'registered' ORDER BY p.id DESC LIMIT 1",
                          current, &prev, error))
            return FALSE;
          if (prev == 0)
            {
              g_set_error (error, NS_DATA_ERROR, NS_DATA_ERROR_NOT_FOUND,
                           "%s: model version %" G_GINT64_FORMAT " is the only default there "
                           "has been; nothing to roll back to", q->path, current);
              return FALSE;
            }
          d->version = prev;
        }
      else
        {
          gint64 was_default = 0;
          if (!query_int (q, "SELECT count(*) FROM promotions WHERE version = ?", d->version,
                          &was_default, error))
            return FALSE;
          if (was_default == 0 && d->version > current)
            {
              g_set_error (error, NS_DATA_ERROR, NS_DATA_ERROR_INVALID,
                           "%s: model version %d was never the default and is newer than "
                           "the current default %" G_GINT64_FORMAT ": promote it instead",
                           q->path, d->version, current);
              return FALSE;
            }
        }
    }
  g_autoptr (NsQueueModel) m = NULL;
  {
    g_autoptr (GPtrArray) a = select_models (q, "WHERE version = ?", d->version, error);
    if (a == NULL)
      return FALSE;
    if (a->len == 0)
      {
        g_set_error (error, NS_DATA_ERROR, NS_DATA_ERROR_NOT_FOUND,
                     "%s: no model version %d in the registry", q->path, d->version);
        return FALSE;
      }
    m = g_ptr_array_steal_index (a, 0);
  }
  if (m->status != NS_QUEUE_MODEL_REGISTERED)
    {
      g_set_error (error, NS_DATA_ERROR, NS_DATA_ERROR_INVALID,
                   "%s: model version %d failed to load (%s) and cannot be the default",
                   q->path, d->version, m->error != NULL ? m->error : "no reason recorded");
      return FALSE;
    }
  if (current == d->version)
    {
      g_set_error (error, NS_DATA_ERROR, NS_DATA_ERROR_INVALID,
                   "%s: model version %d is already the default", q->path, d->version);
      return FALSE;
    }
  if (!exec (q, "UPDATE models SET is_default = 0 WHERE is_default = 1",
             "cannot change the default model", error))
    return FALSE;
  {
    g_autoptr (sqlite3_stmt) st = prepare (q, "UPDATE models SET is_default = 1 WHERE version = ?",
                                           error);
    if (st == NULL)
      return FALSE;
    sqlite3_bind_int (st, 1, d->version);
    if (!step_done (q, st, "cannot change the default model", error))
      return FALSE;
  }
  g_autoptr (sqlite3_stmt) st = prepare (q,
    "INSERT INTO promotions (version, previous_version, action, at, who) VALUES (?, ?, ?, ?, ?)",
    error);
  if (st == NULL)
    return FALSE;
  sqlite3_bind_int (st, 1, d->version);
  bind_int_or_null (st, 2, current);
  sqlite3_bind_text (st, 3, d->action, -1, SQLITE_STATIC);
  sqlite3_bind_text (st, 4, now, -1, SQLITE_TRANSIENT);
  sqlite3_bind_text (st, 5, d->who != NULL ? d->who : g_get_user_name (), -1, SQLITE_TRANSIENT);
  return step_done (q, st, "cannot log the promotion", error);
}

/* A model becomes the default only while its file is the one registered: checked before
 * the transaction (hashing a model takes a while), so a file replaced in between the two
 * is caught by the next ns_queue_dup_default_model_path(). */
static gboolean
verify_version (NsQueue *q, int version, GError **error)
{
  g_autoptr (NsQueueModel) m = ns_queue_get_model (q, version, error);
  return m != NULL && ns_queue_verify_model_file (q, m, error);
}

gboolean
ns_queue_promote (NsQueue *queue, int version, const char *who, GError **error)
{
  PromoteData d = { version, who, "promote" };
  g_return_val_if_fail (queue != NULL && version > 0, FALSE);
  if (!verify_version (queue, version, error))
    return FALSE;
  return write_txn (queue, promote_txn, &d, error);
}

gboolean
ns_queue_rollback (NsQueue *queue, int version, const char *who, int *new_default,
                   GError **error)
{
  PromoteData d = { MAX (version, 0), who, "rollback" };
  g_return_val_if_fail (queue != NULL, FALSE);
  if (d.version == 0)
    {
      /* Which earlier default: decided without the write lock, then checked again in it. */
      gint64 current = 0, prev = 0;
      if (!query_int (queue, "SELECT version FROM models WHERE is_default = 1", 0, &current,
                      error)
          || !query_int (queue, "SELECT p.version FROM promotions p JOIN models m "
                         "ON m.version = p.version WHERE p.version != ? AND "
                         "m.status = 'registered' ORDER BY p.id DESC LIMIT 1", current, &prev,
                         error))
        return FALSE;
      d.version = prev;  /* 0 lets the transaction say why there is nothing to go back to */
    }
  if (d.version > 0 && !verify_version (queue, d.version, error))
    return FALSE;
  if (!write_txn (queue, promote_txn, &d, error))
    return FALSE;
  if (new_default != NULL)
    *new_default = d.version;
  return TRUE;
}

void
ns_queue_promotion_free (NsQueuePromotion *p)
{
  if (p == NULL)
    return;
  g_free (p->action);
  g_free (p->at);
  g_free (p->who);
  g_free (p);
}

GPtrArray *
ns_queue_list_promotions (NsQueue *queue, GError **error)
{
  g_return_val_if_fail (queue != NULL, NULL);
  g_autoptr (sqlite3_stmt) st = prepare (queue,
    "SELECT id, version, previous_version, action, at, who FROM promotions ORDER BY id", error);
  if (st == NULL)
    return NULL;
  g_autoptr (GPtrArray) out =
    g_ptr_array_new_with_free_func ((GDestroyNotify) ns_queue_promotion_free);
  int rc;
  while ((rc = sqlite3_step (st)) == SQLITE_ROW)
    {
      NsQueuePromotion *p = g_new0 (NsQueuePromotion, 1);
      p->id = sqlite3_column_int64 (st, 0);
      p->version = sqlite3_column_int (st, 1);
      p->previous = sqlite3_column_int (st, 2);
      p->action = col_text (st, 3);
      p->at = col_text (st, 4);
      p->who = col_text (st, 5);
      g_ptr_array_add (out, p);
    }
  if (rc != SQLITE_DONE)
    {
      set_sql_error (queue, error, rc, "cannot read the promotions");
      return NULL;
    }
  return g_steal_pointer (&out);
}

/* ---- runs ------------------------------------------------------------------------------ */

/* When a process started (clock ticks since boot, field 22 of /proc/PID/stat), 0 when
 * unknown: with the pid it names a process even after the pid is reused. */
static gint64
process_start_time (int pid)
{
  g_autofree char *stat_path = g_strdup_printf ("/proc/%d/stat", pid);
  g_autofree char *stat = NULL;
  if (pid <= 0 || !g_file_get_contents (stat_path, &stat, NULL, NULL))
    return 0;
  /* The command name (field 2) may hold spaces and parentheses: count after the last ')'. */
  const char *p = strrchr (stat, ')');
  if (p == NULL)
    return 0;
  g_auto (GStrv) fields = g_strsplit (p + 2, " ", 22);
  if (g_strv_length (fields) < 21)
    return 0;
  return g_ascii_strtoll (fields[19], NULL, 10);  /* field 22 = index 19 after field 2 */
}

typedef struct
{
  const char *command;
  const char *log_path;
  const gint64 *cases;
  guint n_cases;
  int pid;
  gint64 run_id;  /* out */
} RunData;

static gboolean
run_begin_txn (NsQueue *q, gpointer data, GError **error)
{
  RunData *d = data;
  g_autofree char *now = now_iso8601 ();
  {
    g_autoptr (sqlite3_stmt) st = prepare (q,
      "INSERT INTO runs (started, status, command, log_path, pid, host, pid_start) "
      "VALUES (?, 'running', ?, ?, ?, ?, ?)", error);
    if (st == NULL)
      return FALSE;
    sqlite3_bind_text (st, 1, now, -1, SQLITE_TRANSIENT);
    bind_text_or_null (st, 2, d->command);
    bind_text_or_null (st, 3, d->log_path);
    sqlite3_bind_int (st, 4, d->pid);
    sqlite3_bind_text (st, 5, g_get_host_name (), -1, SQLITE_TRANSIENT);
    bind_int_or_null (st, 6, process_start_time (d->pid));
    if (!step_done (q, st, "cannot record the run", error))
      return FALSE;
    d->run_id = sqlite3_last_insert_rowid (q->db);
  }
  for (guint i = 0; i < d->n_cases; i++)
    {
      if (!check_case_exists (q, d->cases[i], error))
        return FALSE;
      g_autoptr (sqlite3_stmt) st = prepare (q,
        "INSERT OR IGNORE INTO run_cases (run_id, case_ref) VALUES (?, ?)", error);
      if (st == NULL)
        return FALSE;
      sqlite3_bind_int64 (st, 1, d->run_id);
      sqlite3_bind_int64 (st, 2, d->cases[i]);
      if (!step_done (q, st, "cannot record the run's cases", error))
        return FALSE;
    }
  return TRUE;
}

gint64
ns_queue_run_begin (NsQueue *queue, const char *command, const char *log_path,
                    const gint64 *case_ids, guint n_cases, int pid, GError **error)
{
  RunData d = { command, log_path, case_ids, n_cases, pid > 0 ? pid : (int) getpid (), 0 };
  g_return_val_if_fail (queue != NULL, 0);
  g_return_val_if_fail (n_cases == 0 || case_ids != NULL, 0);
  if (!write_txn (queue, run_begin_txn, &d, error))
    return 0;
  return d.run_id;
}

typedef struct
{
  gint64 run_id;
  int pid;                   /* set_pid */
  NsQueueRunStatus status;   /* finish */
  const char *message;
  gboolean finish;
} RunUpdate;

static gboolean
run_update_txn (NsQueue *q, gpointer data, GError **error)
{
  RunUpdate *d = data;
  g_autofree char *now = now_iso8601 ();
  g_autofree char *status = NULL;
  {
    g_autoptr (sqlite3_stmt) st = prepare (q, "SELECT status FROM runs WHERE id = ?", error);
    if (st == NULL)
      return FALSE;
    sqlite3_bind_int64 (st, 1, d->run_id);
    if (sqlite3_step (st) != SQLITE_ROW)
      {
        g_set_error (error, NS_DATA_ERROR, NS_DATA_ERROR_NOT_FOUND,
                     "%s: no training run %" G_GINT64_FORMAT, q->path, d->run_id);
        return FALSE;
      }
    status = col_text (st, 0);
  }
  if (g_strcmp0 (status, "running") != 0)
    {
      g_set_error (error, NS_DATA_ERROR, NS_DATA_ERROR_INVALID,
                   "%s: training run %" G_GINT64_FORMAT " has already ended (%s)", q->path,
                   d->run_id, status);
      return FALSE;
    }
  g_autoptr (sqlite3_stmt) st = prepare (q, d->finish
    ? "UPDATE runs SET status = ?2, finished = ?3, error = ?4 WHERE id = ?1"
    : "UPDATE runs SET pid = ?2, pid_start = ?3 WHERE id = ?1", error);
  if (st == NULL)
    return FALSE;
  sqlite3_bind_int64 (st, 1, d->run_id);
  if (d->finish)
    {
      sqlite3_bind_text (st, 2, run_status_names[d->status], -1, SQLITE_STATIC);
      sqlite3_bind_text (st, 3, now, -1, SQLITE_TRANSIENT);
      bind_text_or_null (st, 4, d->message);
    }
  else
    {
      sqlite3_bind_int (st, 2, d->pid);
      bind_int_or_null (st, 3, process_start_time (d->pid));
    }
  return step_done (q, st, "cannot update the run", error);
}

gboolean
ns_queue_run_set_pid (NsQueue *queue, gint64 run_id, int pid, GError **error)
{
  RunUpdate d = { run_id, pid, 0, NULL, FALSE };
  g_return_val_if_fail (queue != NULL && pid > 0, FALSE);
  return write_txn (queue, run_update_txn, &d, error);
}

gboolean
ns_queue_run_finish (NsQueue *queue, gint64 run_id, NsQueueRunStatus status,
                     const char *message, GError **error)
{
  RunUpdate d = { run_id, 0, status, message, TRUE };
  g_return_val_if_fail (queue != NULL, FALSE);
  g_return_val_if_fail (status > NS_QUEUE_RUN_RUNNING && status <= NS_QUEUE_RUN_CANCELLED, FALSE);
  return write_txn (queue, run_update_txn, &d, error);
}

void
ns_queue_run_free (NsQueueRun *r)
{
  if (r == NULL)
    return;
  g_free (r->started);
  g_free (r->finished);
  g_free (r->command);
  g_free (r->log_path);
  g_free (r->host);
  g_free (r->error);
  if (r->cases != NULL)
    g_array_unref (r->cases);
  g_free (r);
}

static GPtrArray *
select_runs (NsQueue *q, const char *tail, gint64 param, GError **error)
{
  g_autofree char *sql = g_strconcat ("SELECT id, started, finished, status, command, log_path, "
                                      "model_version, pid, host, error FROM runs ", tail, NULL);
  g_autoptr (sqlite3_stmt) st = prepare (q, sql, error);
  if (st == NULL)
    return NULL;
  if (sqlite3_bind_parameter_count (st) > 0)
    sqlite3_bind_int64 (st, 1, param);
  g_autoptr (sqlite3_stmt) cs = prepare (q,
    "SELECT case_ref FROM run_cases WHERE run_id = ? ORDER BY case_ref", error);
  if (cs == NULL)
    return NULL;
  g_autoptr (GPtrArray) out = g_ptr_array_new_with_free_func ((GDestroyNotify) ns_queue_run_free);
  int rc;
  while ((rc = sqlite3_step (st)) == SQLITE_ROW)
    {
      NsQueueRun *r = g_new0 (NsQueueRun, 1);
      r->id = sqlite3_column_int64 (st, 0);
      r->started = col_text (st, 1);
      r->finished = col_text (st, 2);
      r->status = index_of (run_status_names, G_N_ELEMENTS (run_status_names),
                            (const char *) sqlite3_column_text (st, 3));
      r->command = col_text (st, 4);
      r->log_path = col_text (st, 5);
      r->model_version = sqlite3_column_int (st, 6);
      r->pid = sqlite3_column_int (st, 7);
      r->host = col_text (st, 8);
      r->error = col_text (st, 9);
      r->cases = g_array_new (FALSE, FALSE, sizeof (gint64));
      sqlite3_reset (cs);
      sqlite3_bind_int64 (cs, 1, r->id);
      g_ptr_array_add (out, r);
      int crc;
      while ((crc = sqlite3_step (cs)) == SQLITE_ROW)
        {
          gint64 c = sqlite3_column_int64 (cs, 0);
          g_array_append_val (r->cases, c);
        }
      if (crc != SQLITE_DONE)
        {
          set_sql_error (q, error, crc, "cannot read the training runs");
          return NULL;
        }
    }
  if (rc != SQLITE_DONE)
    {
      set_sql_error (q, error, rc, "cannot read the training runs");
      return NULL;
    }
  return g_steal_pointer (&out);
}

GPtrArray *
ns_queue_list_runs (NsQueue *queue, GError **error)
{
  g_return_val_if_fail (queue != NULL, NULL);
  return select_runs (queue, "ORDER BY id", 0, error);
}

NsQueueRun *
ns_queue_get_run (NsQueue *queue, gint64 run_id, GError **error)
{
  g_return_val_if_fail (queue != NULL, NULL);
  g_autoptr (GPtrArray) a = select_runs (queue, "WHERE id = ?", run_id, error);
  if (a == NULL)
    return NULL;
  if (a->len == 0)
    {
      g_set_error (error, NS_DATA_ERROR, NS_DATA_ERROR_NOT_FOUND,
                   "%s: no training run %" G_GINT64_FORMAT, queue->path, run_id);
      return NULL;
    }
  return g_ptr_array_steal_index (a, 0);
}

/* Whether a process of this host is alive (a zombie counts as gone: it has exited; a pid
 * now held by a process started at another time, too). */
static gboolean
pid_alive (int pid, gint64 start)
{
  if (pid <= 0)
    return FALSE;
  if (kill (pid, 0) != 0 && errno == ESRCH)
    return FALSE;
  if (start > 0)
    {
      gint64 now_start = process_start_time (pid);
      if (now_start > 0 && now_start != start)
        return FALSE;
    }
  g_autofree char *stat_path = g_strdup_printf ("/proc/%d/stat", pid);
  g_autofree char *stat = NULL;
  if (g_file_get_contents (stat_path, &stat, NULL, NULL))
    {
      const char *paren = strrchr (stat, ')');
      if (paren != NULL && paren[1] == ' ' && paren[2] == 'Z')
        return FALSE;
    }
  return TRUE;
}

static gboolean
reap_txn (NsQueue *q, gpointer data, GError **error)
{
  int *n = data;
  g_autofree char *now = now_iso8601 ();
  g_autoptr (GArray) stale = g_array_new (FALSE, FALSE, sizeof (gint64));
  g_autoptr (GArray) pids = g_array_new (FALSE, FALSE, sizeof (int));
  {
    g_autoptr (sqlite3_stmt) st = prepare (q,
      "SELECT id, pid, pid_start FROM runs WHERE status = 'running' AND host = ?", error);
    if (st == NULL)
      return FALSE;
    sqlite3_bind_text (st, 1, g_get_host_name (), -1, SQLITE_TRANSIENT);
    int rc;
    while ((rc = sqlite3_step (st)) == SQLITE_ROW)
      {
        int pid = sqlite3_column_int (st, 1);
        if (!pid_alive (pid, sqlite3_column_int64 (st, 2)))
          {
            gint64 id = sqlite3_column_int64 (st, 0);
            g_array_append_val (stale, id);
            g_array_append_val (pids, pid);
          }
      }
    if (rc != SQLITE_DONE)
      {
        set_sql_error (q, error, rc, "cannot read the training runs");
        return FALSE;
      }
  }
  for (guint i = 0; i < stale->len; i++)
    {
      g_autoptr (sqlite3_stmt) st = prepare (q,
        "UPDATE runs SET status = 'failed', finished = ?, error = ? WHERE id = ? AND "
        "status = 'running'", error);
      if (st == NULL)
        return FALSE;
      g_autofree char *msg = g_strdup_printf ("process %d ended without finishing the run",
                                              g_array_index (pids, int, i));
      sqlite3_bind_text (st, 1, now, -1, SQLITE_TRANSIENT);
      sqlite3_bind_text (st, 2, msg, -1, SQLITE_TRANSIENT);
      sqlite3_bind_int64 (st, 3, g_array_index (stale, gint64, i));
      if (!step_done (q, st, "cannot mark a stale run failed", error))
        return FALSE;
    }
  *n = stale->len;
  return TRUE;
}

int
ns_queue_reap_stale_runs (NsQueue *queue, GError **error)
{
  gint64 running = 0;
  int n = 0;

  g_return_val_if_fail (queue != NULL, -1);
  /* Look without the write lock first: usually nothing is running. */
  if (!query_int (queue, "SELECT count(*) FROM runs WHERE status = 'running'", 0, &running,
                  error))
    return -1;
  if (running == 0)
    return 0;
  if (!write_txn (queue, reap_txn, &n, error))
    return -1;
  return n;
}
