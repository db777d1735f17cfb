/* SPDX-License-Identifier: MIT
 *
 * ns-db.c: the connection, busy retries, schema migrations and read-only opening of the
 * queue and registry database (see ns-db.h and ns-db-private.h).
 *
 * Read-only opening of a WAL database: SQLite needs the -shm index beside the file, and
 * creates it when it is missing, which a read-only folder does not allow ("unable to open
 * database file").  When, and only when, the folder is not writable and a plain
 * read-only open fails, the file is opened with the URI parameter immutable=1: SQLite
 * then reads the database file alone, without locks or the -shm index.  That is safe
 * here because nobody can be writing: a writer must create -wal and -shm in that same
 * folder.  (A writer with more rights than us, e.g. root, could; then the -shm exists
 * and the plain open works.)  What a crashed writer left in an un-checkpointed -wal is
 * not seen in that case; the next read-write open recovers it.  nolock=1 is not used:
 * it would still need the -shm.
 */
#define G_LOG_DOMAIN "neuroseg-data"

#include "ns-db-private.h"

#include "ns-data-error.h"
#include "ns-registry-private.h"
#include "ns-runs.h"

#include <errno.h>
#include <glib/gstdio.h>
#include <math.h>
#include <string.h>
#include <unistd.h>

#define BUSY_TIMEOUT_MS 10000
#define BUSY_RETRY_US (60 * G_USEC_PER_SEC)

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

void
_ns_db_set_error (NsDb *db, GError **error, int rc, const char *what)
{
  db->last_rc = rc;
  g_set_error (error, NS_DATA_ERROR, error_code_for (rc), "%s: %s: %s", db->path, what,
               db->db != NULL && sqlite3_errcode (db->db) == rc ? sqlite3_errmsg (db->db)
                                                                : sqlite3_errstr (rc));
}

sqlite3_stmt *
_ns_db_prepare (NsDb *db, const char *sql, GError **error)
{
  sqlite3_stmt *stmt = NULL;
  int rc = sqlite3_prepare_v2 (db->db, sql, -1, &stmt, NULL);
  if (rc != SQLITE_OK)
    {
      _ns_db_set_error (db, error, rc, "cannot prepare a statement");
      return NULL;
    }
  return stmt;
}

gboolean
_ns_db_step_done (NsDb *db, sqlite3_stmt *stmt, const char *what, GError **error)
{
  int rc = sqlite3_step (stmt);
  if (rc != SQLITE_DONE && rc != SQLITE_ROW)
    {
      _ns_db_set_error (db, error, rc, what);
      return FALSE;
    }
  return TRUE;
}

gboolean
_ns_db_exec (NsDb *db, const char *sql, const char *what, GError **error)
{
  char *msg = NULL;
  int rc = sqlite3_exec (db->db, sql, NULL, NULL, &msg);
  if (rc != SQLITE_OK)
    {
      db->last_rc = rc;
      g_set_error (error, NS_DATA_ERROR, error_code_for (rc), "%s: %s: %s", db->path, what,
                   msg != NULL ? msg : sqlite3_errstr (rc));
      sqlite3_free (msg);
      return FALSE;
    }
  return TRUE;
}

gboolean
_ns_db_query_int (NsDb *db, const char *sql, gint64 param, gint64 *value, GError **error)
{
  g_autoptr (sqlite3_stmt) stmt = _ns_db_prepare (db, sql, error);
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
  _ns_db_set_error (db, error, rc, "cannot read the database");
  return FALSE;
}

void
_ns_db_bind_text_or_null (sqlite3_stmt *stmt, int i, const char *text)
{
  if (text != NULL)
    sqlite3_bind_text (stmt, i, text, -1, SQLITE_TRANSIENT);
  else
    sqlite3_bind_null (stmt, i);
}

void
_ns_db_bind_int_or_null (sqlite3_stmt *stmt, int i, gint64 value)
{
  if (value != 0)
    sqlite3_bind_int64 (stmt, i, value);
  else
    sqlite3_bind_null (stmt, i);
}

void
_ns_db_bind_double_or_null (sqlite3_stmt *stmt, int i, double value)
{
  if (isfinite (value))
    sqlite3_bind_double (stmt, i, value);
  else
    sqlite3_bind_null (stmt, i);
}

char *
_ns_db_column_text (sqlite3_stmt *stmt, int i)
{
  const unsigned char *t = sqlite3_column_text (stmt, i);
  return t != NULL ? g_strdup ((const char *) t) : NULL;
}

double
_ns_db_column_double_or_nan (sqlite3_stmt *stmt, int i)
{
  return sqlite3_column_type (stmt, i) == SQLITE_NULL ? NAN : sqlite3_column_double (stmt, i);
}

int
_ns_db_index_of (const char *const *names, guint n, const char *name)
{
  for (guint i = 0; i < n; i++)
    if (g_strcmp0 (names[i], name) == 0)
      return i;
  return 0;
}

char *
_ns_db_dup_now (void)
{
  g_autoptr (GDateTime) now = g_date_time_new_now_utc ();
  return g_date_time_format_iso8601 (now);
}

/* ---- transactions -------------------------------------------------------------------- */

static void
rollback (NsDb *db)
{
  if (!sqlite3_get_autocommit (db->db))
    sqlite3_exec (db->db, "ROLLBACK", NULL, NULL, NULL);
}

gboolean
_ns_db_write (NsDb *db, NsDbTxnFunc func, gpointer data, GError **error)
{
  gint64 deadline = g_get_monotonic_time () + BUSY_RETRY_US;
  gulong pause_us = 2000;

  if (db->readonly)
    {
      g_set_error (error, NS_DATA_ERROR, NS_DATA_ERROR_IO,
                   "%s: opened read-only, cannot change it", db->path);
      return FALSE;
    }
  for (;;)
    {
      g_autoptr (GError) local = NULL;
      db->last_rc = SQLITE_OK;
      if (_ns_db_exec (db, "BEGIN IMMEDIATE", "cannot start a write transaction", &local)
          && func (db, data, &local)
          && _ns_db_exec (db, "COMMIT", "cannot commit", &local))
        return TRUE;
      rollback (db);
      if (!is_busy (db->last_rc) || g_get_monotonic_time () > deadline)
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

  /* 2 -> 3: validation figures of a model on one case (the gate of promotions).  The
   * shipped model needs no schema change: it is the row of version 0. */
  "CREATE TABLE validations (\n"
  "  id INTEGER PRIMARY KEY,\n"
  "  model_version INTEGER NOT NULL REFERENCES models(version) ON DELETE CASCADE,\n"
  "  case_path TEXT NOT NULL,\n"
  "  case_id TEXT NOT NULL,\n"
  "  flair_sha256 TEXT NOT NULL,\n"
  "  truth_sha256 TEXT NOT NULL,\n"
  "  dice_wt REAL NOT NULL CHECK (dice_wt BETWEEN 0 AND 1),\n"
  "  dice_tc REAL NOT NULL CHECK (dice_tc BETWEEN 0 AND 1),\n"
  "  dice_et REAL NOT NULL CHECK (dice_et BETWEEN 0 AND 1),\n"
  "  predicted_wt INTEGER NOT NULL CHECK (predicted_wt >= 0),\n"
  "  predicted_tc INTEGER NOT NULL CHECK (predicted_tc >= 0),\n"
  "  predicted_et INTEGER NOT NULL CHECK (predicted_et >= 0),\n"
  "  truth_wt INTEGER NOT NULL CHECK (truth_wt >= 0),\n"
  "  truth_tc INTEGER NOT NULL CHECK (truth_tc >= 0),\n"
  "  truth_et INTEGER NOT NULL CHECK (truth_et >= 0),\n"
  "  device TEXT,\n"
  "  at TEXT NOT NULL);\n"
  "CREATE INDEX validations_model ON validations(model_version);\n",
};

G_STATIC_ASSERT (G_N_ELEMENTS (migrations) == NS_DB_SCHEMA_VERSION);

static gboolean
migrate_txn (NsDb *db, gpointer data, GError **error)
{
  gint64 version = 0;

  /* Read again under the write lock: another process may have migrated meanwhile. */
  if (!_ns_db_query_int (db, "PRAGMA user_version", 0, &version, error))
    return FALSE;
  if (version > NS_DB_SCHEMA_VERSION)
    {
      g_set_error (error, NS_DATA_ERROR, NS_DATA_ERROR_UNSUPPORTED,
                   "%s: schema version %" G_GINT64_FORMAT " is newer than this neuroseg "
                   "knows (%d): update neuroseg", db->path, version, NS_DB_SCHEMA_VERSION);
      return FALSE;
    }
  for (gint64 v = version; v < NS_DB_SCHEMA_VERSION; v++)
    {
      g_autofree char *what = g_strdup_printf ("cannot migrate the schema from version %"
                                               G_GINT64_FORMAT " to %" G_GINT64_FORMAT,
                                               v, v + 1);
      if (!_ns_db_exec (db, migrations[v], what, error))
        return FALSE;
    }
  if (version < NS_DB_SCHEMA_VERSION)
    {
      g_autofree char *sql = g_strdup_printf ("PRAGMA user_version = %d", NS_DB_SCHEMA_VERSION);
      if (!_ns_db_exec (db, sql, "cannot set the schema version", error))
        return FALSE;
    }
  /* Foreign keys must still hold after the migration. */
  g_autoptr (sqlite3_stmt) stmt = _ns_db_prepare (db, "PRAGMA foreign_key_check", error);
  if (stmt == NULL)
    return FALSE;
  if (sqlite3_step (stmt) == SQLITE_ROW)
    {
      g_set_error (error, NS_DATA_ERROR, NS_DATA_ERROR_CORRUPT,
                   "%s: table %s refers to a missing row after migration", db->path,
                   sqlite3_column_text (stmt, 0));
      return FALSE;
    }
  return TRUE;
}

/* ---- open / close ------------------------------------------------------------------- */

char *
ns_db_dup_default_path (void)
{
  const char *dir = g_getenv ("NEUROSEG_DATA_DIR");
  if (dir != NULL && dir[0] != '\0')
    return g_build_filename (dir, "neuroseg.db", NULL);
  return g_build_filename (g_get_user_data_dir (), "neuroseg", "neuroseg.db", NULL);
}

/* Pragmas that may need a lock (journal_mode): retried while BUSY. */
static gboolean
exec_retry (NsDb *db, const char *sql, const char *what, GError **error)
{
  gint64 deadline = g_get_monotonic_time () + BUSY_RETRY_US;
  for (;;)
    {
      g_autoptr (GError) local = NULL;
      if (_ns_db_exec (db, sql, what, &local))
        return TRUE;
      if (!is_busy (db->last_rc) || g_get_monotonic_time () > deadline)
        {
          g_propagate_error (error, g_steal_pointer (&local));
          return FALSE;
        }
      g_usleep (5000 + g_random_int_range (0, 5000));
    }
}

static NsDb *
db_new (const char *path)
{
  g_autofree char *default_path = NULL;
  NsDb *db = g_new0 (NsDb, 1);
  if (path == NULL)
    path = default_path = ns_db_dup_default_path ();
  db->path = g_canonicalize_filename (path, NULL);
  return db;
}

static gboolean
refuse_folder (NsDb *db, GError **error)
{
  if (g_file_test (db->path, G_FILE_TEST_IS_DIR))
    {
      g_set_error (error, NS_DATA_ERROR, NS_DATA_ERROR_INVALID,
                   "%s: is a folder, not a database file", db->path);
      return FALSE;
    }
  return TRUE;
}

static gboolean
db_connect (NsDb *db, const char *filename, int flags, GError **error)
{
  int rc = sqlite3_open_v2 (filename, &db->db, flags | SQLITE_OPEN_FULLMUTEX, NULL);
  if (rc != SQLITE_OK)
    {
      _ns_db_set_error (db, error, rc, "cannot open the database");
      return FALSE;
    }
  sqlite3_extended_result_codes (db->db, 1);
  sqlite3_busy_timeout (db->db, BUSY_TIMEOUT_MS);
  return TRUE;
}

static gboolean
switch_to_wal (NsDb *db, GError **error)
{
  g_autoptr (sqlite3_stmt) wal = _ns_db_prepare (db, "PRAGMA journal_mode = WAL", error);
  if (wal == NULL)
    return FALSE;
  for (gint64 deadline = g_get_monotonic_time () + BUSY_RETRY_US;;)
    {
      int rc = sqlite3_step (wal);
      if (rc == SQLITE_ROW)
        break;
      sqlite3_reset (wal);
      if (!is_busy (rc) || g_get_monotonic_time () > deadline)
        {
          _ns_db_set_error (db, error, rc, "cannot switch to WAL mode");
          return FALSE;
        }
      g_usleep (5000 + g_random_int_range (0, 5000));
    }
  if (g_ascii_strcasecmp ((const char *) sqlite3_column_text (wal, 0), "wal") != 0)
    {
      g_set_error (error, NS_DATA_ERROR, NS_DATA_ERROR_IO,
                   "%s: cannot switch to WAL mode (journal mode stays %s)", db->path,
                   sqlite3_column_text (wal, 0));
      return FALSE;
    }
  return TRUE;
}

NsDb *
ns_db_open (const char *path, GError **error)
{
  g_autoptr (NsDb) db = db_new (path);
  gint64 version = 0;

  g_autofree char *dir = g_path_get_dirname (db->path);
  if (g_mkdir_with_parents (dir, 0700) != 0)
    {
      int e = errno;
      g_set_error (error, NS_DATA_ERROR, NS_DATA_ERROR_IO, "%s: cannot create the folder: %s",
                   db->path, g_strerror (e));
      return NULL;
    }
  if (!refuse_folder (db, error)
      || !db_connect (db, db->path, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, error))
    return NULL;

  /* Reading the schema fails at once on a file that is not a database. */
  if (!exec_retry (db, "PRAGMA schema_version", "not a usable database", error)
      || !switch_to_wal (db, error)
      || !_ns_db_exec (db, "PRAGMA foreign_keys = ON; PRAGMA synchronous = NORMAL",
                       "cannot set up the connection", error))
    return NULL;

  if (!_ns_db_query_int (db, "PRAGMA user_version", 0, &version, error))
    return NULL;
  if (version != NS_DB_SCHEMA_VERSION && !_ns_db_write (db, migrate_txn, NULL, error))
    return NULL;

  if (ns_runs_reap_stale (db, error) < 0 || !_ns_registry_sync_shipped (db, error))
    return NULL;
  return g_steal_pointer (&db);
}

static gboolean
folder_writable (const char *path)
{
  g_autofree char *dir = g_path_get_dirname (path);
  return access (dir, W_OK) == 0;
}

/* The schema version, read through the connection; FALSE when the file cannot be read. */
static gboolean
probe (NsDb *db, gint64 *version, GError **error)
{
  *version = 0;
  return _ns_db_exec (db, "SELECT count(*) FROM sqlite_master", "not a usable database",
                      error)
         && _ns_db_query_int (db, "PRAGMA user_version", 0, version, error);
}

NsDb *
ns_db_open_readonly (const char *path, GError **error)
{
  g_autoptr (NsDb) db = db_new (path);
  g_autoptr (GError) local = NULL;
  gint64 version = 0;

  if (!refuse_folder (db, error))
    return NULL;
  if (!g_file_test (db->path, G_FILE_TEST_EXISTS))
    {
      /* Nothing to read: an empty database of the current schema in memory, so that every
       * reader works unchanged and nothing is created on disk. */
      if (!db_connect (db, ":memory:", SQLITE_OPEN_READWRITE, error)
          || !_ns_db_write (db, migrate_txn, NULL, error))
        return NULL;
      db->readonly = TRUE;
      return g_steal_pointer (&db);
    }

  if (!db_connect (db, db->path, SQLITE_OPEN_READONLY, error))
    return NULL;
  if (!probe (db, &version, &local))
    {
      /* SQLite says CANTOPEN or READONLY (extended: CANTINIT, ...) when it cannot make the
       * WAL index; anything else (a corrupt file) is reported as it is. */
      int rc = db->last_rc & 0xff;
      if (folder_writable (db->path) || (rc != SQLITE_CANTOPEN && rc != SQLITE_READONLY))
        {
          g_propagate_error (error, g_steal_pointer (&local));
          return NULL;
        }
      /* The folder is read-only and the WAL index cannot be created: see the top. */
      g_clear_error (&local);
      g_clear_pointer (&db->db, sqlite3_close_v2);
      g_autofree char *escaped = g_uri_escape_string (db->path, "/", FALSE);
      g_autofree char *uri = g_strdup_printf ("file:%s?immutable=1", escaped);
      if (!db_connect (db, uri, SQLITE_OPEN_READONLY | SQLITE_OPEN_URI, error)
          || !probe (db, &version, error))
        return NULL;
    }
  if (version > NS_DB_SCHEMA_VERSION)
    {
      g_set_error (error, NS_DATA_ERROR, NS_DATA_ERROR_UNSUPPORTED,
                   "%s: schema version %" G_GINT64_FORMAT " is newer than this neuroseg "
                   "knows (%d): update neuroseg", db->path, version, NS_DB_SCHEMA_VERSION);
      return NULL;
    }
  if (version < NS_DB_SCHEMA_VERSION)
    {
      if (!folder_writable (db->path) || access (db->path, W_OK) != 0)
        {
          g_set_error (error, NS_DATA_ERROR, NS_DATA_ERROR_UNSUPPORTED,
                       "%s: schema version %" G_GINT64_FORMAT " is older than this "
                       "neuroseg's (%d) and cannot be migrated here (not writable): open it "
                       "once with write access", db->path, version, NS_DB_SCHEMA_VERSION);
          return NULL;
        }
      /* An upgrade must not block reading: migrate once, then read. */
      g_autoptr (NsDb) rw = ns_db_open (db->path, error);
      if (rw == NULL)
        return NULL;
      g_clear_pointer (&rw, ns_db_close);
      g_clear_pointer (&db, ns_db_close);
      return ns_db_open_readonly (path, error);
    }
  if (!_ns_db_exec (db, "PRAGMA foreign_keys = ON; PRAGMA query_only = ON",
                    "cannot set up the connection", error))
    return NULL;
  db->readonly = TRUE;
  return g_steal_pointer (&db);
}

void
ns_db_close (NsDb *db)
{
  if (db == NULL)
    return;
  if (db->db != NULL)
    sqlite3_close_v2 (db->db);
  g_free (db->path);
  g_free (db);
}

const char *
ns_db_get_path (NsDb *db)
{
  g_return_val_if_fail (db != NULL, NULL);
  return db->path;
}

gboolean
ns_db_is_readonly (NsDb *db)
{
  g_return_val_if_fail (db != NULL, FALSE);
  return db->readonly;
}

gboolean
ns_db_check_integrity (NsDb *db, GError **error)
{
  g_return_val_if_fail (db != NULL, FALSE);
  g_autoptr (sqlite3_stmt) stmt = _ns_db_prepare (db, "PRAGMA integrity_check", error);
  if (stmt == NULL)
    return FALSE;
  int rc = sqlite3_step (stmt);
  if (rc != SQLITE_ROW)
    {
      _ns_db_set_error (db, error, rc, "integrity check failed");
      return FALSE;
    }
  const char *answer = (const char *) sqlite3_column_text (stmt, 0);
  if (g_strcmp0 (answer, "ok") != 0)
    {
      g_set_error (error, NS_DATA_ERROR, NS_DATA_ERROR_CORRUPT, "%s: integrity check: %s",
                   db->path, answer);
      return FALSE;
    }
  return TRUE;
}
