/* SPDX-License-Identifier: MIT
 *
 * ns-db.c: what both engines share (see ns-db.h and ns-db-private.h): choosing the
 * backend from the location, opening with the schema checks, statements and their
 * parameters, errors, and the write transaction with its retries.  The engines are
 * ns-db-sqlite.c and ns-db-pg.c; the migrations ns-db-schema.c.
 *
 * Retries: a busy lock (another writer) is waited out with a growing, jittered pause; a
 * server that went away is reconnected to, with the same pauses, as long as the retry
 * window lasts.  Only a transaction whose COMMIT was never sent, or that the server says
 * it aborted, is run again; one the server may have committed is settled by the backend
 * (NS_DB_FAILURE_IN_DOUBT when it cannot tell), never run twice.
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

/* ---- failures and errors ------------------------------------------------------------ */

void
_ns_db_fail (NsDb *db, NsDbFailure failure, const char *message)
{
  db->failure = failure;
  g_free (db->message);
  db->message = g_strdup (message != NULL ? message : "unknown error");
}

static int
error_code_for (NsDbFailure failure)
{
  switch (failure)
    {
    case NS_DB_FAILURE_CORRUPT:
      return NS_DATA_ERROR_CORRUPT;
    case NS_DB_FAILURE_CANNOT_OPEN:
      return NS_DATA_ERROR_NOT_FOUND;
    case NS_DB_FAILURE_CONSTRAINT:
      return NS_DATA_ERROR_INVALID;
    case NS_DB_FAILURE_CONNECTION:
    case NS_DB_FAILURE_IN_DOUBT:
      return NS_DATA_ERROR_UNAVAILABLE;
    default:
      return NS_DATA_ERROR_IO;
    }
}

void
_ns_db_set_error (NsDb *db, GError **error, const char *what)
{
  g_set_error (error, NS_DATA_ERROR, error_code_for (db->failure), "%s: %s: %s", db->path,
               what, db->message != NULL ? db->message : "unknown error");
}

/* ---- statements --------------------------------------------------------------------- */

static void
value_clear (NsDbValue *v)
{
  g_clear_pointer (&v->text, g_free);
  g_clear_pointer (&v->blob, g_bytes_unref);
  v->type = NS_DB_VALUE_NULL;
}

NsDbStmt *
_ns_db_prepare (NsDb *db, const char *sql, GError **error)
{
  guint n = 0;
  gpointer impl = db->backend->prepare (db, sql, &n);
  if (impl == NULL)
    {
      _ns_db_set_error (db, error, "cannot prepare a statement");
      return NULL;
    }
  NsDbStmt *st = g_new0 (NsDbStmt, 1);
  st->db = db;
  st->impl = impl;
  st->n_params = n;
  st->params = g_array_sized_new (FALSE, TRUE, sizeof (NsDbValue), n);
  g_array_set_clear_func (st->params, (GDestroyNotify) value_clear);
  g_array_set_size (st->params, n);
  return st;
}

void
_ns_db_stmt_free (NsDbStmt *st)
{
  if (st == NULL)
    return;
  st->db->backend->finalize (st->impl);
  g_array_unref (st->params);
  g_free (st);
}

static NsDbValue *
param (NsDbStmt *st, int i)
{
  g_assert (i >= 1 && (guint) i <= st->n_params);
  NsDbValue *v = &g_array_index (st->params, NsDbValue, i - 1);
  value_clear (v);
  return v;
}

void
_ns_db_bind_int (NsDbStmt *st, int i, gint64 value)
{
  NsDbValue *v = param (st, i);
  v->type = NS_DB_VALUE_INT;
  v->i = value;
}

void
_ns_db_bind_double (NsDbStmt *st, int i, double value)
{
  NsDbValue *v = param (st, i);
  v->type = NS_DB_VALUE_DOUBLE;
  v->d = value;
}

void
_ns_db_bind_text (NsDbStmt *st, int i, const char *text)
{
  NsDbValue *v = param (st, i);
  if (text == NULL)
    return;
  v->type = NS_DB_VALUE_TEXT;
  v->text = g_strdup (text);
}

void
_ns_db_bind_blob (NsDbStmt *st, int i, GBytes *bytes)
{
  NsDbValue *v = param (st, i);
  if (bytes == NULL)
    return;
  v->type = NS_DB_VALUE_BLOB;
  v->blob = g_bytes_ref (bytes);
}

void
_ns_db_bind_null (NsDbStmt *st, int i)
{
  param (st, i);
}

void
_ns_db_bind_int_or_null (NsDbStmt *st, int i, gint64 value)
{
  if (value != 0)
    _ns_db_bind_int (st, i, value);
  else
    _ns_db_bind_null (st, i);
}

void
_ns_db_bind_double_or_null (NsDbStmt *st, int i, double value)
{
  if (isfinite (value))
    _ns_db_bind_double (st, i, value);
  else
    _ns_db_bind_null (st, i);
}

NsDbStep
_ns_db_step (NsDbStmt *st)
{
  NsDbStep r = st->db->backend->step (st);
  st->executed = TRUE;
  return r;
}

void
_ns_db_reset (NsDbStmt *st)
{
  st->db->backend->reset (st);
  for (guint i = 0; i < st->n_params; i++)
    value_clear (&g_array_index (st->params, NsDbValue, i));
  st->executed = FALSE;
}

gboolean
_ns_db_step_done (NsDbStmt *st, const char *what, GError **error)
{
  if (_ns_db_step (st) == NS_DB_STEP_FAILED)
    {
      _ns_db_set_error (st->db, error, what);
      return FALSE;
    }
  return TRUE;
}

gboolean
_ns_db_step_returning (NsDbStmt *st, gint64 *id, const char *what, GError **error)
{
  NsDbStep r = _ns_db_step (st);
  if (r == NS_DB_STEP_ROW)
    {
      *id = _ns_db_column_int64 (st, 0);
      /* Run to the end, so that SQLite finishes the statement. */
      r = _ns_db_step (st);
      if (r == NS_DB_STEP_DONE)
        return TRUE;
    }
  if (r == NS_DB_STEP_DONE)
    g_set_error (error, NS_DATA_ERROR, NS_DATA_ERROR_IO, "%s: %s: no row was written",
                 st->db->path, what);
  else
    _ns_db_set_error (st->db, error, what);
  return FALSE;
}

gboolean
_ns_db_column_is_null (NsDbStmt *st, int i)
{
  return st->db->backend->column_is_null (st, i);
}

gint64
_ns_db_column_int64 (NsDbStmt *st, int i)
{
  return st->db->backend->column_is_null (st, i) ? 0 : st->db->backend->column_int (st, i);
}

int
_ns_db_column_int (NsDbStmt *st, int i)
{
  return (int) _ns_db_column_int64 (st, i);
}

double
_ns_db_column_double_or_nan (NsDbStmt *st, int i)
{
  return st->db->backend->column_is_null (st, i) ? NAN
                                                 : st->db->backend->column_double (st, i);
}

const char *
_ns_db_column_peek_text (NsDbStmt *st, int i)
{
  return st->db->backend->column_is_null (st, i) ? NULL : st->db->backend->column_text (st, i);
}

char *
_ns_db_column_text (NsDbStmt *st, int i)
{
  return g_strdup (_ns_db_column_peek_text (st, i));
}

GBytes *
_ns_db_column_blob (NsDbStmt *st, int i)
{
  return st->db->backend->column_is_null (st, i) ? NULL : st->db->backend->column_blob (st, i);
}

gboolean
_ns_db_exec (NsDb *db, const char *sql, const char *what, GError **error)
{
  if (!db->backend->exec (db, sql))
    {
      _ns_db_set_error (db, error, what);
      return FALSE;
    }
  return TRUE;
}

gboolean
_ns_db_query_int (NsDb *db, const char *sql, gint64 param, gint64 *value, GError **error)
{
  g_autoptr (NsDbStmt) st = _ns_db_prepare (db, sql, error);
  if (st == NULL)
    return FALSE;
  if (st->n_params > 0)
    _ns_db_bind_int (st, 1, param);
  NsDbStep r = _ns_db_step (st);
  if (r == NS_DB_STEP_ROW)
    {
      if (!_ns_db_column_is_null (st, 0))
        *value = _ns_db_column_int64 (st, 0);
      return TRUE;
    }
  if (r == NS_DB_STEP_DONE)
    return TRUE;
  _ns_db_set_error (db, error, "cannot read the database");
  return FALSE;
}

gboolean
_ns_db_now_ms (NsDb *db, gint64 *now, GError **error)
{
  if (!db->backend->now_ms (db, now))
    {
      _ns_db_set_error (db, error, "cannot read the database's clock");
      return FALSE;
    }
  return TRUE;
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

char *
_ns_db_dup_iso_ms (gint64 ms)
{
  g_autoptr (GDateTime) t = g_date_time_new_from_unix_utc (ms / 1000);
  if (t == NULL)
    return g_strdup ("?");
  g_autoptr (GDateTime) exact = g_date_time_add (t, (ms % 1000) * 1000);
  return g_date_time_format_iso8601 (exact);
}

/* ---- transactions -------------------------------------------------------------------- */

void
_ns_db_touch (NsDb *db, NsDbChanges changes)
{
  db->touched |= changes;
}

/* The change serials of what the transaction touched, and the server's notification. */
static gboolean
publish_changes (NsDb *db, GError **error)
{
  static const char *const topics[] = { "queue", "registry" };
  if (db->touched == 0)
    return TRUE;
  for (guint t = 0; t < G_N_ELEMENTS (topics); t++)
    {
      if (!(db->touched & (1u << t)))
        continue;
      g_autoptr (NsDbStmt) st = _ns_db_prepare (db, "UPDATE changes SET serial = serial + 1 "
                                                    "WHERE topic = ?", error);
      if (st == NULL)
        return FALSE;
      _ns_db_bind_text (st, 1, topics[t]);
      if (!_ns_db_step_done (st, "cannot record the change", error))
        return FALSE;
    }
  if (db->backend->notify != NULL && !db->backend->notify (db, db->touched))
    {
      _ns_db_set_error (db, error, "cannot notify the other workstations");
      return FALSE;
    }
  return TRUE;
}

static gboolean
retryable (NsDbFailure failure)
{
  return failure == NS_DB_FAILURE_BUSY || failure == NS_DB_FAILURE_CONNECTION;
}

gboolean
_ns_db_write (NsDb *db, NsDbTxnFunc func, gpointer data, GError **error)
{
  gint64 started = g_get_monotonic_time ();
  gulong pause_us = 2000;

  if (db->readonly)
    {
      g_set_error (error, NS_DATA_ERROR, NS_DATA_ERROR_IO,
                   "%s: opened read-only, cannot change it", db->path);
      return FALSE;
    }
  db->deadline = started + (gint64) db->retry_ms * 1000;
  for (;;)
    {
      g_autoptr (GError) local = NULL;
      db->failure = NS_DB_FAILURE_NONE;
      db->touched = 0;
      if (!db->backend->begin_write (db))
        _ns_db_set_error (db, &local, "cannot start a write transaction");
      else if (func (db, data, &local) && publish_changes (db, &local))
        {
          if (db->backend->commit (db))
            return TRUE;
          _ns_db_set_error (db, &local, "cannot commit");
        }
      db->backend->rollback (db);
      if (!retryable (db->failure) || g_get_monotonic_time () > db->deadline)
        {
          if (db->failure == NS_DB_FAILURE_CONNECTION && db->retry_ms > 0)
            g_set_error (error, local->domain, local->code,
                         "%s (retried for %.0f s; nothing was changed)", local->message,
                         (g_get_monotonic_time () - started) / 1e6);
          else
            g_propagate_error (error, g_steal_pointer (&local));
          return FALSE;
        }
      g_debug ("%s: retrying a write: %s", db->path, local->message);
      g_usleep (pause_us + g_random_int_range (0, 1000));
      pause_us = MIN (pause_us * 2, db->failure == NS_DB_FAILURE_CONNECTION ? 1000000 : 100000);
      if (db->failure == NS_DB_FAILURE_CONNECTION && db->backend->reconnect != NULL)
        db->backend->reconnect (db);
    }
}

/* ---- the default location ------------------------------------------------------------ */

gboolean
_ns_db_location_is_server (const char *location)
{
  return location != NULL && (g_str_has_prefix (location, "postgresql://")
                              || g_str_has_prefix (location, "postgres://"));
}

/* postgresql://user:secret@host/db?password=x&sslmode=y -> postgresql://user@host/db?sslmode=y */
char *
_ns_db_dup_display_location (const char *location)
{
  const char *rest = strstr (location, "://");
  if (rest == NULL)
    return g_strdup (location);
  rest += 3;
  GString *s = g_string_new_len (location, rest - location);
  gsize auth_len = strcspn (rest, "/?");
  const char *at = g_strrstr_len (rest, auth_len, "@");
  if (at != NULL)
    {
      gsize user_len = MIN (strcspn (rest, ":"), (gsize) (at - rest));
      g_string_append_len (s, rest, user_len);
      g_string_append_len (s, at, rest + auth_len - at);
    }
  else
    g_string_append_len (s, rest, auth_len);
  const char *path = rest + auth_len;
  const char *query = strchr (path, '?');
  g_string_append_len (s, path, query != NULL ? (gsize) (query - path) : strlen (path));
  if (query != NULL)
    {
      g_auto (GStrv) params = g_strsplit (query + 1, "&", -1);
      gboolean first = TRUE;
      for (char **p = params; *p != NULL; p++)
        {
          if (g_str_has_prefix (*p, "password=") || (*p)[0] == '\0')
            continue;
          g_string_append_c (s, first ? '?' : '&');
          g_string_append (s, *p);
          first = FALSE;
        }
    }
  return g_string_free (s, FALSE);
}

static char *
settings_path (void)
{
  return g_build_filename (g_get_user_config_dir (), "neuroseg", "database.ini", NULL);
}

/* The saved location, or NULL. */
static char *
dup_saved_location (void)
{
  g_autofree char *path = settings_path ();
  g_autoptr (GKeyFile) kf = g_key_file_new ();
  g_autoptr (GError) local = NULL;
  if (!g_key_file_load_from_file (kf, path, G_KEY_FILE_NONE, &local))
    {
      if (!g_error_matches (local, G_FILE_ERROR, G_FILE_ERROR_NOENT))
        g_warning ("%s: %s (the default database is used)", path, local->message);
      return NULL;
    }
  g_autofree char *loc = g_key_file_get_string (kf, "database", "location", NULL);
  if (loc != NULL)
    g_strstrip (loc);
  if (loc == NULL || loc[0] == '\0')
    return NULL;
  return g_steal_pointer (&loc);
}

char *
ns_db_dup_default_path (void)
{
  const char *env = g_getenv ("NEUROSEG_DB");
  if (env != NULL && env[0] != '\0')
    return g_strdup (env);
  char *saved = dup_saved_location ();
  if (saved != NULL)
    return saved;
  const char *dir = g_getenv ("NEUROSEG_DATA_DIR");
  if (dir != NULL && dir[0] != '\0')
    return g_build_filename (dir, "neuroseg.db", NULL);
  return g_build_filename (g_get_user_data_dir (), "neuroseg", "neuroseg.db", NULL);
}

gboolean
ns_db_save_default_location (const char *location, GError **error)
{
  g_autofree char *path = settings_path ();
  g_autofree char *dir = g_path_get_dirname (path);
  g_autoptr (GKeyFile) kf = g_key_file_new ();
  g_autoptr (GError) local = NULL;

  /* Other groups of the file (none today) are kept. */
  if (!g_key_file_load_from_file (kf, path, G_KEY_FILE_KEEP_COMMENTS, &local)
      && !g_error_matches (local, G_FILE_ERROR, G_FILE_ERROR_NOENT))
    {
      g_set_error (error, NS_DATA_ERROR, NS_DATA_ERROR_INVALID, "%s: %s", path, local->message);
      return FALSE;
    }
  g_clear_error (&local);
  if (location != NULL && location[0] != '\0')
    g_key_file_set_string (kf, "database", "location", location);
  else
    g_key_file_remove_key (kf, "database", "location", NULL);
  if (g_mkdir_with_parents (dir, 0700) != 0)
    {
      int e = errno;
      g_set_error (error, NS_DATA_ERROR, NS_DATA_ERROR_IO, "%s: cannot create the folder: %s",
                   dir, g_strerror (e));
      return FALSE;
    }
  if (!g_key_file_save_to_file (kf, path, &local))
    {
      g_set_error (error, NS_DATA_ERROR, NS_DATA_ERROR_IO, "%s: %s", path, local->message);
      return FALSE;
    }
  return TRUE;
}

gboolean
ns_db_location_is_server (const char *location)
{
  g_autofree char *def = location == NULL ? ns_db_dup_default_path () : NULL;
  return _ns_db_location_is_server (location != NULL ? location : def);
}

/* ---- open / close ------------------------------------------------------------------- */

static NsDb *
db_new (const char *location)
{
  g_autofree char *def = NULL;
  NsDb *db = g_new0 (NsDb, 1);
  if (location == NULL)
    location = def = ns_db_dup_default_path ();
  db->retry_ms = NS_DB_RETRY_WINDOW_MS;
  db->location = g_strdup (location);
  if (_ns_db_location_is_server (location))
    {
      db->backend = &_ns_db_pg_backend;
      db->path = _ns_db_dup_display_location (location);
    }
  else
    {
      db->backend = &_ns_db_sqlite_backend;
      db->path = g_canonicalize_filename (location, NULL);
    }
  return db;
}

static gboolean
read_version (NsDb *db, gint64 *version, GError **error)
{
  *version = 0;
  if (!db->backend->read_schema_version (db, version))
    {
      _ns_db_set_error (db, error, "cannot read the schema version");
      return FALSE;
    }
  return TRUE;
}

static gboolean
refuse_newer (NsDb *db, gint64 version, GError **error)
{
  if (version > NS_DB_SCHEMA_VERSION)
    {
      g_set_error (error, NS_DATA_ERROR, NS_DATA_ERROR_UNSUPPORTED,
                   "%s: schema version %" G_GINT64_FORMAT " is newer than this neuroseg "
                   "knows (%d): update neuroseg", db->path, version, NS_DB_SCHEMA_VERSION);
      return FALSE;
    }
  return TRUE;
}

NsDb *
ns_db_open (const char *location, GError **error)
{
  g_autoptr (NsDb) db = db_new (location);
  gint64 version = 0;

  if (!db->backend->open (db, FALSE, error) || !read_version (db, &version, error)
      || !refuse_newer (db, version, error))
    return NULL;
  if (version != NS_DB_SCHEMA_VERSION && !_ns_db_write (db, _ns_db_migrate_txn, NULL, error))
    return NULL;
  if (ns_runs_reap_stale (db, error) < 0 || !_ns_registry_sync_shipped (db, error))
    return NULL;
  return g_steal_pointer (&db);
}

/* Whether a read-only opening may migrate an old schema first (SQLite: the file and its
 * folder are writable; a server: try, its roles decide). */
static gboolean
may_migrate (NsDb *db)
{
  if (db->backend->shared)
    return TRUE;
  g_autofree char *dir = g_path_get_dirname (db->path);
  return access (dir, W_OK) == 0 && access (db->path, W_OK) == 0;
}

NsDb *
ns_db_open_readonly (const char *location, GError **error)
{
  g_autoptr (NsDb) db = db_new (location);
  gint64 version = 0;

  if (!db->backend->open (db, TRUE, error) || !read_version (db, &version, error)
      || !refuse_newer (db, version, error))
    return NULL;
  if (db->in_memory)
    {
      /* Nothing to read: an empty database of the current schema in memory, so that every
       * reader works unchanged and nothing is created on disk. */
      if (!_ns_db_write (db, _ns_db_migrate_txn, NULL, error))
        return NULL;
    }
  else if (version < NS_DB_SCHEMA_VERSION)
    {
      g_autoptr (GError) local = NULL;
      g_autoptr (NsDb) rw = NULL;
      if (may_migrate (db))
        rw = ns_db_open (db->location, &local);
      if (rw == NULL)
        {
          g_set_error (error, NS_DATA_ERROR, NS_DATA_ERROR_UNSUPPORTED,
                       "%s: schema version %" G_GINT64_FORMAT " is older than this "
                       "neuroseg's (%d) and cannot be migrated here (%s): %s", db->path,
                       version, NS_DB_SCHEMA_VERSION,
                       local != NULL ? local->message : "not writable",
                       db->backend->shared ? "the database's owner runs `neuroseg db init`"
                                           : "open it once with write access");
          return NULL;
        }
      /* An upgrade must not block reading: migrate once, then read. */
      g_clear_pointer (&rw, ns_db_close);
      g_autofree char *again = g_strdup (db->location);
      g_clear_pointer (&db, ns_db_close);
      return ns_db_open_readonly (again, error);
    }
  db->readonly = TRUE;
  return g_steal_pointer (&db);
}

void
ns_db_close (NsDb *db)
{
  if (db == NULL)
    return;
  db->backend->close (db);
  g_free (db->path);
  g_free (db->location);
  g_free (db->message);
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

const char *
ns_db_get_backend_name (NsDb *db)
{
  g_return_val_if_fail (db != NULL, NULL);
  return db->backend->name;
}

gboolean
ns_db_is_shared (NsDb *db)
{
  g_return_val_if_fail (db != NULL, FALSE);
  return db->backend->shared;
}

void
ns_db_set_retry_window (NsDb *db, guint ms)
{
  g_return_if_fail (db != NULL);
  db->retry_ms = ms;
}

gboolean
ns_db_check_integrity (NsDb *db, GError **error)
{
  g_return_val_if_fail (db != NULL, FALSE);
  return db->backend->check_integrity (db, error);
}

gboolean
ns_db_setup_team (NsDb *db, GError **error)
{
  g_return_val_if_fail (db != NULL, FALSE);
  if (db->backend->setup_team == NULL)
    {
      g_set_error (error, NS_DATA_ERROR, NS_DATA_ERROR_INVALID,
                   "%s: a %s database is a file, shared by its permissions; a team shares "
                   "a PostgreSQL server (postgresql://...)", db->path, db->backend->name);
      return FALSE;
    }
  if (db->readonly)
    {
      g_set_error (error, NS_DATA_ERROR, NS_DATA_ERROR_IO,
                   "%s: opened read-only, cannot change it", db->path);
      return FALSE;
    }
  return db->backend->setup_team (db, error);
}
