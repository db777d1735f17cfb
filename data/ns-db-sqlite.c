/* SPDX-License-Identifier: MIT
 *
 * ns-db-sqlite.c: the SQLite backend of the queue and registry database (ns-db.h): one
 * file, WAL mode, BEGIN IMMEDIATE as the write lock, PRAGMA user_version as the schema
 * version.  Watchers poll its change serials (ns-db-watch.c).
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

#include <errno.h>
#include <sqlite3.h>
#include <string.h>
#include <unistd.h>

#define BUSY_TIMEOUT_MS 10000

#define CONN(db) ((sqlite3 *) (db)->impl)

static NsDbFailure
failure_for (int rc)
{
  switch (rc & 0xff)
    {
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
      return NS_DB_FAILURE_BUSY;
    case SQLITE_CORRUPT:
    case SQLITE_NOTADB:
      return NS_DB_FAILURE_CORRUPT;
    case SQLITE_CANTOPEN:
      return NS_DB_FAILURE_CANNOT_OPEN;
    case SQLITE_CONSTRAINT:
      return NS_DB_FAILURE_CONSTRAINT;
    case SQLITE_READONLY:
    case SQLITE_PERM:
      return NS_DB_FAILURE_READONLY;
    default:
      return NS_DB_FAILURE_OTHER;
    }
}

static void
fail (NsDb *db, int rc)
{
  sqlite3 *c = CONN (db);
  _ns_db_fail (db, failure_for (rc), c != NULL && sqlite3_errcode (c) == rc ? sqlite3_errmsg (c)
                                                                            : sqlite3_errstr (rc));
}

/* ---- statements ---------------------------------------------------------------------- */

static gpointer
sqlite_prepare (NsDb *db, const char *sql, guint *n_params)
{
  sqlite3_stmt *stmt = NULL;
  int rc = sqlite3_prepare_v2 (CONN (db), sql, -1, &stmt, NULL);
  if (rc != SQLITE_OK)
    {
      fail (db, rc);
      return NULL;
    }
  *n_params = sqlite3_bind_parameter_count (stmt);
  return stmt;
}

static void
sqlite_finalize (gpointer impl)
{
  sqlite3_finalize (impl);
}

/* The values live in st->params until the statement is reset or freed: bound static. */
static int
bind_all (NsDbStmt *st)
{
  sqlite3_stmt *stmt = st->impl;
  for (guint i = 0; i < st->n_params; i++)
    {
      const NsDbValue *v = &g_array_index (st->params, NsDbValue, i);
      int rc;
      switch (v->type)
        {
        case NS_DB_VALUE_INT:
          rc = sqlite3_bind_int64 (stmt, i + 1, v->i);
          break;
        case NS_DB_VALUE_DOUBLE:
          rc = sqlite3_bind_double (stmt, i + 1, v->d);
          break;
        case NS_DB_VALUE_TEXT:
          rc = sqlite3_bind_text (stmt, i + 1, v->text, -1, SQLITE_STATIC);
          break;
        case NS_DB_VALUE_BLOB:
          {
            gsize len;
            gconstpointer data = g_bytes_get_data (v->blob, &len);
            rc = sqlite3_bind_blob64 (stmt, i + 1, len > 0 ? data : "", len, SQLITE_STATIC);
          }
          break;
        default:
          rc = sqlite3_bind_null (stmt, i + 1);
          break;
        }
      if (rc != SQLITE_OK)
        return rc;
    }
  return SQLITE_OK;
}

static NsDbStep
sqlite_step (NsDbStmt *st)
{
  int rc = st->executed ? SQLITE_OK : bind_all (st);
  if (rc == SQLITE_OK)
    rc = sqlite3_step (st->impl);
  if (rc == SQLITE_ROW)
    return NS_DB_STEP_ROW;
  if (rc == SQLITE_DONE)
    return NS_DB_STEP_DONE;
  fail (st->db, rc);
  return NS_DB_STEP_FAILED;
}

static void
sqlite_reset (NsDbStmt *st)
{
  sqlite3_reset (st->impl);
  sqlite3_clear_bindings (st->impl);
}

static gboolean
sqlite_column_is_null (NsDbStmt *st, int i)
{
  return sqlite3_column_type (st->impl, i) == SQLITE_NULL;
}

static gint64
sqlite_column_int (NsDbStmt *st, int i)
{
  return sqlite3_column_int64 (st->impl, i);
}

static double
sqlite_column_double (NsDbStmt *st, int i)
{
  return sqlite3_column_double (st->impl, i);
}

static const char *
sqlite_column_text (NsDbStmt *st, int i)
{
  return (const char *) sqlite3_column_text (st->impl, i);
}

static GBytes *
sqlite_column_blob (NsDbStmt *st, int i)
{
  const void *data = sqlite3_column_blob (st->impl, i);
  int len = sqlite3_column_bytes (st->impl, i);
  return g_bytes_new (data, len);
}

static gboolean
sqlite_exec (NsDb *db, const char *sql)
{
  char *msg = NULL;
  int rc = sqlite3_exec (CONN (db), sql, NULL, NULL, &msg);
  if (rc != SQLITE_OK)
    {
      _ns_db_fail (db, failure_for (rc), msg != NULL ? msg : sqlite3_errstr (rc));
      sqlite3_free (msg);
      return FALSE;
    }
  return TRUE;
}

/* ---- transactions -------------------------------------------------------------------- */

static gboolean
sqlite_begin_write (NsDb *db)
{
  /* The write lock up front: two writers never deadlock upgrading read locks. */
  return sqlite_exec (db, "BEGIN IMMEDIATE");
}

static gboolean
sqlite_commit (NsDb *db)
{
  return sqlite_exec (db, "COMMIT");
}

static void
sqlite_rollback (NsDb *db)
{
  if (CONN (db) != NULL && !sqlite3_get_autocommit (CONN (db)))
    sqlite3_exec (CONN (db), "ROLLBACK", NULL, NULL, NULL);
}

/* ---- the dialect --------------------------------------------------------------------- */

static gboolean
query_int (NsDb *db, const char *sql, gint64 *value)
{
  sqlite3_stmt *stmt = sqlite_prepare (db, sql, &(guint) { 0 });
  if (stmt == NULL)
    return FALSE;
  int rc = sqlite3_step (stmt);
  if (rc == SQLITE_ROW)
    *value = sqlite3_column_int64 (stmt, 0);
  else if (rc != SQLITE_DONE)
    fail (db, rc);
  sqlite3_finalize (stmt);
  return rc == SQLITE_ROW || rc == SQLITE_DONE;
}

static gboolean
sqlite_read_schema_version (NsDb *db, gint64 *version)
{
  return query_int (db, "PRAGMA user_version", version);
}

static gboolean
sqlite_write_schema_version (NsDb *db, gint64 version)
{
  g_autofree char *sql = g_strdup_printf ("PRAGMA user_version = %" G_GINT64_FORMAT, version);
  return sqlite_exec (db, sql);
}

static char *
sqlite_translate_ddl (const char *sql)
{
  return g_strdup (sql);
}

static gboolean
sqlite_check_migrated (NsDb *db, GError **error)
{
  sqlite3_stmt *stmt = sqlite_prepare (db, "PRAGMA foreign_key_check", &(guint) { 0 });
  if (stmt == NULL)
    {
      _ns_db_set_error (db, error, "cannot check the references");
      return FALSE;
    }
  gboolean ok = TRUE;
  int rc = sqlite3_step (stmt);
  if (rc == SQLITE_ROW)
    {
      g_set_error (error, NS_DATA_ERROR, NS_DATA_ERROR_CORRUPT,
                   "%s: table %s refers to a missing row after migration", db->path,
                   sqlite3_column_text (stmt, 0));
      ok = FALSE;
    }
  else if (rc != SQLITE_DONE)
    {
      fail (db, rc);
      _ns_db_set_error (db, error, "cannot check the references");
      ok = FALSE;
    }
  sqlite3_finalize (stmt);
  return ok;
}

static gboolean
sqlite_check_integrity (NsDb *db, GError **error)
{
  sqlite3_stmt *stmt = sqlite_prepare (db, "PRAGMA integrity_check", &(guint) { 0 });
  if (stmt == NULL)
    {
      _ns_db_set_error (db, error, "integrity check failed");
      return FALSE;
    }
  gboolean ok = FALSE;
  int rc = sqlite3_step (stmt);
  if (rc != SQLITE_ROW)
    {
      fail (db, rc);
      _ns_db_set_error (db, error, "integrity check failed");
    }
  else if (g_strcmp0 ((const char *) sqlite3_column_text (stmt, 0), "ok") != 0)
    g_set_error (error, NS_DATA_ERROR, NS_DATA_ERROR_CORRUPT, "%s: integrity check: %s",
                 db->path, sqlite3_column_text (stmt, 0));
  else
    ok = TRUE;
  sqlite3_finalize (stmt);
  return ok;
}

/* One machine's file: its clock. */
static gboolean
sqlite_now_ms (NsDb *db, gint64 *now)
{
  *now = g_get_real_time () / 1000;
  return TRUE;
}

/* ---- open / close ------------------------------------------------------------------- */

/* Pragmas that may need a lock (journal_mode): retried while BUSY. */
static gboolean
exec_retry (NsDb *db, const char *sql, const char *what, GError **error)
{
  gint64 deadline = g_get_monotonic_time () + (gint64) NS_DB_RETRY_WINDOW_MS * 1000;
  for (;;)
    {
      if (sqlite_exec (db, sql))
        return TRUE;
      if (db->failure != NS_DB_FAILURE_BUSY || g_get_monotonic_time () > deadline)
        {
          _ns_db_set_error (db, error, what);
          return FALSE;
        }
      g_usleep (5000 + g_random_int_range (0, 5000));
    }
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
  sqlite3 *c = NULL;
  int rc = sqlite3_open_v2 (filename, &c, flags | SQLITE_OPEN_FULLMUTEX, NULL);
  db->impl = c;
  if (rc != SQLITE_OK)
    {
      fail (db, rc);
      _ns_db_set_error (db, error, "cannot open the database");
      return FALSE;
    }
  sqlite3_extended_result_codes (c, 1);
  sqlite3_busy_timeout (c, BUSY_TIMEOUT_MS);
  return TRUE;
}

static void
disconnect (NsDb *db)
{
  if (db->impl != NULL)
    sqlite3_close_v2 (db->impl);
  db->impl = NULL;
}

static gboolean
switch_to_wal (NsDb *db, GError **error)
{
  sqlite3_stmt *wal = sqlite_prepare (db, "PRAGMA journal_mode = WAL", &(guint) { 0 });
  if (wal == NULL)
    {
      _ns_db_set_error (db, error, "cannot switch to WAL mode");
      return FALSE;
    }
  gboolean ok = TRUE;
  for (gint64 deadline = g_get_monotonic_time () + (gint64) NS_DB_RETRY_WINDOW_MS * 1000;;)
    {
      int rc = sqlite3_step (wal);
      if (rc == SQLITE_ROW)
        break;
      sqlite3_reset (wal);
      if ((rc & 0xff) != SQLITE_BUSY || g_get_monotonic_time () > deadline)
        {
          fail (db, rc);
          _ns_db_set_error (db, error, "cannot switch to WAL mode");
          ok = FALSE;
          break;
        }
      g_usleep (5000 + g_random_int_range (0, 5000));
    }
  if (ok && g_ascii_strcasecmp ((const char *) sqlite3_column_text (wal, 0), "wal") != 0)
    {
      g_set_error (error, NS_DATA_ERROR, NS_DATA_ERROR_IO,
                   "%s: cannot switch to WAL mode (journal mode stays %s)", db->path,
                   sqlite3_column_text (wal, 0));
      ok = FALSE;
    }
  sqlite3_finalize (wal);
  return ok;
}

static gboolean
open_readwrite (NsDb *db, GError **error)
{
  g_autofree char *dir = g_path_get_dirname (db->path);
  if (g_mkdir_with_parents (dir, 0700) != 0)
    {
      int e = errno;
      g_set_error (error, NS_DATA_ERROR, NS_DATA_ERROR_IO, "%s: cannot create the folder: %s",
                   db->path, g_strerror (e));
      return FALSE;
    }
  /* Reading the schema fails at once on a file that is not a database. */
  return refuse_folder (db, error)
         && db_connect (db, db->path, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, error)
         && exec_retry (db, "PRAGMA schema_version", "not a usable database", error)
         && switch_to_wal (db, error)
         && _ns_db_exec (db, "PRAGMA foreign_keys = ON; PRAGMA synchronous = NORMAL",
                         "cannot set up the connection", error);
}

static gboolean
folder_writable (const char *path)
{
  g_autofree char *dir = g_path_get_dirname (path);
  return access (dir, W_OK) == 0;
}

/* The file can be read through the connection. */
static gboolean
probe (NsDb *db, GError **error)
{
  return _ns_db_exec (db, "SELECT count(*) FROM sqlite_master", "not a usable database",
                      error);
}

static gboolean
open_readonly (NsDb *db, GError **error)
{
  g_autoptr (GError) local = NULL;

  if (!refuse_folder (db, error))
    return FALSE;
  if (!g_file_test (db->path, G_FILE_TEST_EXISTS))
    {
      /* Nothing to read: ns-db.c builds an empty database in memory. */
      db->in_memory = TRUE;
      return db_connect (db, ":memory:", SQLITE_OPEN_READWRITE, error)
             && _ns_db_exec (db, "PRAGMA foreign_keys = ON", "cannot set up the connection",
                             error);
    }
  if (!db_connect (db, db->path, SQLITE_OPEN_READONLY, error))
    return FALSE;
  if (!probe (db, &local))
    {
      /* SQLite says CANTOPEN or READONLY (extended: CANTINIT, ...) when it cannot make the
       * WAL index; anything else (a corrupt file) is reported as it is. */
      if (folder_writable (db->path) || (db->failure != NS_DB_FAILURE_CANNOT_OPEN
                                         && db->failure != NS_DB_FAILURE_READONLY))
        {
          g_propagate_error (error, g_steal_pointer (&local));
          return FALSE;
        }
      /* The folder is read-only and the WAL index cannot be created: see the top. */
      g_clear_error (&local);
      disconnect (db);
      g_autofree char *escaped = g_uri_escape_string (db->path, "/", FALSE);
      g_autofree char *uri = g_strdup_printf ("file:%s?immutable=1", escaped);
      if (!db_connect (db, uri, SQLITE_OPEN_READONLY | SQLITE_OPEN_URI, error)
          || !probe (db, error))
        return FALSE;
    }
  return _ns_db_exec (db, "PRAGMA foreign_keys = ON; PRAGMA query_only = ON",
                      "cannot set up the connection", error);
}

static gboolean
sqlite_open (NsDb *db, gboolean readonly, GError **error)
{
  return readonly ? open_readonly (db, error) : open_readwrite (db, error);
}

static void
sqlite_close (NsDb *db)
{
  disconnect (db);
}

const NsDbBackend _ns_db_sqlite_backend = {
  .name = "sqlite",
  .shared = FALSE,
  .open = sqlite_open,
  .close = sqlite_close,
  .reconnect = NULL,
  .prepare = sqlite_prepare,
  .finalize = sqlite_finalize,
  .step = sqlite_step,
  .reset = sqlite_reset,
  .column_is_null = sqlite_column_is_null,
  .column_int = sqlite_column_int,
  .column_double = sqlite_column_double,
  .column_text = sqlite_column_text,
  .column_blob = sqlite_column_blob,
  .exec = sqlite_exec,
  .begin_write = sqlite_begin_write,
  .commit = sqlite_commit,
  .rollback = sqlite_rollback,
  .read_schema_version = sqlite_read_schema_version,
  .write_schema_version = sqlite_write_schema_version,
  .translate_ddl = sqlite_translate_ddl,
  .check_migrated = sqlite_check_migrated,
  .check_integrity = sqlite_check_integrity,
  .now_ms = sqlite_now_ms,
  .notify = NULL,
  .setup_team = NULL,
};
