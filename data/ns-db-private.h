/* SPDX-License-Identifier: MIT
 *
 * ns-db-private.h: what the modules on the database (ns-queue.c, ns-registry.c,
 * ns-runs.c, ns-export.c) share: the handle, statements, errors, and the write
 * transaction with its retries.  Not installed, not for ui/ or app/.
 *
 * Every write goes through _ns_db_write(), which takes the write lock up front (BEGIN
 * IMMEDIATE, so two writers never deadlock upgrading read locks) and retries the whole
 * transaction with a growing pause while SQLite still says BUSY after its busy timeout;
 * transaction bodies therefore touch only the database, so that a retry is harmless.
 * Work that reads big files (masks, checksums) happens before the transaction.
 */
#pragma once

#include "ns-db.h"

#include <sqlite3.h>

G_BEGIN_DECLS

struct _NsDb
{
  sqlite3 *db;
  char *path;
  int last_rc;          /* of the last failed statement (BUSY detection in _ns_db_write) */
  gboolean readonly;
};

typedef gboolean (*NsDbTxnFunc) (NsDb *db, gpointer data, GError **error);

/* Runs func inside BEGIN IMMEDIATE ... COMMIT, retried while BUSY.  Refused on a handle
 * opened read-only. */
gboolean      _ns_db_write        (NsDb *db, NsDbTxnFunc func, gpointer data,
                                   GError **error);

/* "<db>: <what>: <sqlite's message>", with the error code of rc. */
void          _ns_db_set_error    (NsDb *db, GError **error, int rc, const char *what);
sqlite3_stmt *_ns_db_prepare      (NsDb *db, const char *sql, GError **error);
/* Steps a statement that returns no rows (or whose row is not needed). */
gboolean      _ns_db_step_done    (NsDb *db, sqlite3_stmt *stmt, const char *what,
                                   GError **error);
gboolean      _ns_db_exec         (NsDb *db, const char *sql, const char *what,
                                   GError **error);
/* A single integer from a query with at most one integer parameter; *value unchanged
 * when there is no row or the value is NULL. */
gboolean      _ns_db_query_int    (NsDb *db, const char *sql, gint64 param, gint64 *value,
                                   GError **error);

void          _ns_db_bind_text_or_null   (sqlite3_stmt *stmt, int i, const char *text);
/* NULL for 0 */
void          _ns_db_bind_int_or_null    (sqlite3_stmt *stmt, int i, gint64 value);
/* NULL for a value that is not finite */
void          _ns_db_bind_double_or_null (sqlite3_stmt *stmt, int i, double value);
char         *_ns_db_column_text         (sqlite3_stmt *stmt, int i);
double        _ns_db_column_double_or_nan (sqlite3_stmt *stmt, int i);
/* The position of name in names, 0 when absent. */
int           _ns_db_index_of            (const char *const *names, guint n, const char *name);
/* Now as ISO 8601 UTC (owned). */
char         *_ns_db_dup_now             (void);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (sqlite3_stmt, sqlite3_finalize)

G_END_DECLS
