/* SPDX-License-Identifier: MIT
 *
 * ns-db-private.h: what the modules on the database (ns-queue*.c, ns-registry*.c,
 * ns-runs.c, ns-export.c) share: the handle, statements, errors, the write transaction
 * with its retries, and the function table of a backend (ns-db-sqlite.c, ns-db-pg.c).
 * Not installed, not for ui/ or app/.
 *
 * SQL is written once, in the dialect both engines accept: placeholders `?` or `?N`
 * (ns-db-pg.c turns them into `$N`), `INSERT ... RETURNING id` instead of a last-rowid
 * call, `ON CONFLICT ... DO ...` instead of `INSERT OR ...`, no PRAGMA.  What differs
 * (schema version, integrity check, type names in the migrations, the clock, change
 * notification, locking) is an entry of NsDbBackend.
 *
 * Every write goes through _ns_db_write(), which takes the write lock up front (SQLite:
 * BEGIN IMMEDIATE; PostgreSQL: a transaction-scoped advisory lock), so that writers are
 * serialised exactly as with one SQLite file and transaction bodies may read, decide and
 * write.  A transaction that meets a busy lock, or a server that went away before the
 * commit, is retried as a whole with a growing pause until the retry window of the handle
 * has passed; transaction bodies therefore touch only the database, so that a retry is
 * harmless.  Work that reads big files (masks, checksums) happens before the transaction.
 */
#pragma once

#include "ns-db.h"

G_BEGIN_DECLS

/* What went wrong in the last failed call of a backend. */
typedef enum
{
  NS_DB_FAILURE_NONE,
  NS_DB_FAILURE_BUSY,        /* another writer holds the lock: retry */
  NS_DB_FAILURE_CONNECTION,  /* the server went away before the commit: reconnect, retry */
  NS_DB_FAILURE_IN_DOUBT,    /* the server went away during the commit: unknown outcome */
  NS_DB_FAILURE_CONSTRAINT,
  NS_DB_FAILURE_CORRUPT,
  NS_DB_FAILURE_CANNOT_OPEN,
  NS_DB_FAILURE_READONLY,    /* not allowed to write (file mode, server role) */
  NS_DB_FAILURE_OTHER,
} NsDbFailure;

typedef enum
{
  NS_DB_STEP_FAILED = -1,
  NS_DB_STEP_DONE = 0,
  NS_DB_STEP_ROW = 1,
} NsDbStep;

typedef enum
{
  NS_DB_VALUE_NULL,
  NS_DB_VALUE_INT,
  NS_DB_VALUE_DOUBLE,
  NS_DB_VALUE_TEXT,
  NS_DB_VALUE_BLOB,
} NsDbValueType;

typedef struct
{
  NsDbValueType type;
  gint64 i;
  double d;
  char *text;
  GBytes *blob;
} NsDbValue;

typedef struct _NsDbStmt NsDbStmt;
typedef struct _NsDbBackend NsDbBackend;

struct _NsDbStmt
{
  NsDb *db;
  GArray *params;        /* NsDbValue, parameter i at index i - 1 */
  guint n_params;        /* placeholders in the SQL */
  gboolean executed;     /* stepped since prepared or reset */
  gpointer impl;         /* the backend's statement */
};

struct _NsDb
{
  const NsDbBackend *backend;
  char *path;            /* the file (absolute), or the server location without password */
  char *location;        /* what was opened (a server's connection string with password) */
  gboolean readonly;
  gboolean in_memory;    /* SQLite: an empty database in memory for a missing file */
  guint retry_ms;        /* how long a write is retried (busy lock, server gone) */
  gint64 deadline;       /* monotonic end of the retries of the running write */
  NsDbFailure failure;   /* of the last failed backend call */
  char *message;         /* the backend's words for it */
  guint touched;         /* NsDbChanges made by the running write transaction */
  guint reconnects;      /* how often the backend connected again (a server) */
  gpointer impl;         /* the backend's connection */
};

/* A backend: the connection, statements and the dialect.  Every function that fails
 * records why with _ns_db_fail() and returns FALSE / NULL / NS_DB_STEP_FAILED. */
struct _NsDbBackend
{
  const char *name;                 /* "sqlite", "postgresql" */
  gboolean shared;                  /* a server that workstations share */

  /* Connects db->location (read-only: never writes; SQLite: a missing file becomes an
   * empty database in memory, db->in_memory).  The GError names db->path. */
  gboolean    (*open)               (NsDb *db, gboolean readonly, GError **error);
  void        (*close)              (NsDb *db);
  /* After a lost connection (a server): connects again.  Optional. */
  gboolean    (*reconnect)          (NsDb *db);

  gpointer    (*prepare)            (NsDb *db, const char *sql, guint *n_params);
  void        (*finalize)           (gpointer impl);
  /* The first step after prepare or reset binds st->params and runs the statement. */
  NsDbStep    (*step)               (NsDbStmt *st);
  void        (*reset)              (NsDbStmt *st);
  gboolean    (*column_is_null)     (NsDbStmt *st, int i);
  gint64      (*column_int)         (NsDbStmt *st, int i);
  double      (*column_double)      (NsDbStmt *st, int i);
  const char *(*column_text)        (NsDbStmt *st, int i);
  GBytes     *(*column_blob)        (NsDbStmt *st, int i);
  /* Statements without parameters or results, ';'-separated. */
  gboolean    (*exec)               (NsDb *db, const char *sql);

  /* The write transaction: begin takes the write lock; commit may resolve a lost
   * connection (NS_DB_FAILURE_IN_DOUBT when it cannot); rollback never fails. */
  gboolean    (*begin_write)        (NsDb *db);
  gboolean    (*commit)             (NsDb *db);
  void        (*rollback)           (NsDb *db);

  /* The dialect. */
  gboolean    (*read_schema_version)  (NsDb *db, gint64 *version);
  gboolean    (*write_schema_version) (NsDb *db, gint64 version);
  /* A migration (SQLite's spelling, see ns-db-schema.c) in this dialect (owned). */
  char       *(*translate_ddl)      (const char *sql);
  /* After a migration, inside its transaction: references still hold. */
  gboolean    (*check_migrated)     (NsDb *db, GError **error);
  gboolean    (*check_integrity)    (NsDb *db, GError **error);
  /* Milliseconds since the epoch on the database's clock (a server's, so that leases
   * mean the same on every workstation). */
  gboolean    (*now_ms)             (NsDb *db, gint64 *now);
  /* Inside a write transaction: tell the watchers (ns-db-watch.h) what changed.
   * Optional: SQLite's watchers poll. */
  gboolean    (*notify)             (NsDb *db, guint changes);
  /* After rows were inserted with explicit ids (ns_db_copy): ids the database assigns
   * later go on after the largest in table's "id" column.  Optional (SQLite needs none). */
  gboolean    (*sync_row_ids)       (NsDb *db, const char *table, GError **error);
  /* The server's owner sets up the roles of a team (ns_db_setup_team).  Optional. */
  gboolean    (*setup_team)         (NsDb *db, GError **error);

  /* Watchers (ns-db-watch.c).  Optional: without them, watchers poll the change serials.
   * listen: subscribes to the notifications of notify, returns the socket to wait on (-1
   * on failure).  read_notifications: ORs into *changes what was notified since; FALSE
   * when the connection broke. */
  int         (*listen)             (NsDb *db);
  gboolean    (*read_notifications) (NsDb *db, guint *changes);
};

extern const NsDbBackend _ns_db_sqlite_backend;
extern const NsDbBackend _ns_db_pg_backend;

/* Whether a location names a server ("postgresql://..." or "postgres://..."). */
gboolean      _ns_db_location_is_server (const char *location);
/* A server location without its password, for messages (owned). */
char         *_ns_db_dup_display_location (const char *location);

/* ---- failures and errors ------------------------------------------------------------- */

/* Records the last failure of the backend (message copied). */
void          _ns_db_fail          (NsDb *db, NsDbFailure failure, const char *message);
/* "<db>: <what>: <the backend's message>", coded from the failure. */
void          _ns_db_set_error     (NsDb *db, GError **error, const char *what);

/* ---- statements ---------------------------------------------------------------------- */

NsDbStmt     *_ns_db_prepare       (NsDb *db, const char *sql, GError **error);
void          _ns_db_stmt_free     (NsDbStmt *st);
void          _ns_db_bind_int      (NsDbStmt *st, int i, gint64 value);
void          _ns_db_bind_double   (NsDbStmt *st, int i, double value);
/* NULL text: SQL NULL. */
void          _ns_db_bind_text     (NsDbStmt *st, int i, const char *text);
void          _ns_db_bind_blob     (NsDbStmt *st, int i, GBytes *bytes);
void          _ns_db_bind_null     (NsDbStmt *st, int i);
/* NULL for 0 */
void          _ns_db_bind_int_or_null    (NsDbStmt *st, int i, gint64 value);
/* NULL for a value that is not finite */
void          _ns_db_bind_double_or_null (NsDbStmt *st, int i, double value);
NsDbStep      _ns_db_step          (NsDbStmt *st);
/* Ready to be bound and stepped again. */
void          _ns_db_reset         (NsDbStmt *st);
/* Steps a statement that returns no rows (or whose row is not needed). */
gboolean      _ns_db_step_done     (NsDbStmt *st, const char *what, GError **error);
/* Steps an INSERT ... RETURNING of one integer (a new row's id) into *id. */
gboolean      _ns_db_step_returning (NsDbStmt *st, gint64 *id, const char *what,
                                     GError **error);

gboolean      _ns_db_column_is_null      (NsDbStmt *st, int i);
gint64        _ns_db_column_int64        (NsDbStmt *st, int i);
int           _ns_db_column_int          (NsDbStmt *st, int i);
double        _ns_db_column_double_or_nan (NsDbStmt *st, int i);
/* Borrowed until the next step; NULL for NULL. */
const char   *_ns_db_column_peek_text    (NsDbStmt *st, int i);
char         *_ns_db_column_text         (NsDbStmt *st, int i);
GBytes       *_ns_db_column_blob         (NsDbStmt *st, int i);

gboolean      _ns_db_exec          (NsDb *db, const char *sql, const char *what,
                                    GError **error);
/* A single integer from a query with at most one integer parameter; *value unchanged
 * when there is no row or the value is NULL. */
gboolean      _ns_db_query_int     (NsDb *db, const char *sql, gint64 param, gint64 *value,
                                    GError **error);

/* ---- transactions -------------------------------------------------------------------- */

typedef gboolean (*NsDbTxnFunc) (NsDb *db, gpointer data, GError **error);

/* Runs func inside a write transaction, retried (see the top).  Refused on a handle
 * opened read-only. */
gboolean      _ns_db_write         (NsDb *db, NsDbTxnFunc func, gpointer data,
                                    GError **error);
/* Inside a write transaction: it changes what watchers of changes follow; the change
 * serials are bumped (and a server notifies) when it commits. */
void          _ns_db_touch         (NsDb *db, NsDbChanges changes);
/* The database's clock, milliseconds since the epoch (see NsDbBackend.now_ms). */
gboolean      _ns_db_now_ms        (NsDb *db, gint64 *now, GError **error);

/* ---- small helpers ------------------------------------------------------------------- */

/* The position of name in names, 0 when absent. */
int           _ns_db_index_of            (const char *const *names, guint n, const char *name);
/* Now as ISO 8601 UTC (owned). */
char         *_ns_db_dup_now             (void);
/* Milliseconds since the epoch as ISO 8601 UTC (owned). */
char         *_ns_db_dup_iso_ms          (gint64 ms);

/* ---- copies (ns-db-copy.c) ---------------------------------------------------------- */

/* The columns that ns_db_copy() copies of its index-th table (*table: its name), in the
 * order it copies them; NULL past the last. */
const char   *_ns_db_copy_columns (guint index, const char **table);

/* ---- the schema (ns-db-schema.c) ----------------------------------------------------- */

/* Migrates to NS_DB_SCHEMA_VERSION inside a write transaction (data: unused). */
gboolean      _ns_db_migrate_txn   (NsDb *db, gpointer data, GError **error);
/* The change serials of a database, by NsDbChanges bit (0: queue, 1: registry). */
gboolean      _ns_db_read_change_serials (NsDb *db, gint64 serials[2], GError **error);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (NsDbStmt, _ns_db_stmt_free)

G_END_DECLS
