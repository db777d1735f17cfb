/* SPDX-License-Identifier: MIT
 *
 * ns-db-pg.c: the PostgreSQL backend of the queue and registry database (ns-db.h),
 * through libpq, for a team sharing one server.
 *
 * - Statements: the shared SQL's `?` / `?N` become `$N`; parameters travel as text (blobs
 *   as binary) with their type (int8, float8, text, bytea), results as text.  Doubles are
 *   written with 17 significant digits and read back exactly (PostgreSQL 12+ prints the
 *   shortest exact form).
 * - The write lock: an advisory lock of the session, taken before BEGIN and given back
 *   after COMMIT or ROLLBACK, so that writers are serialised as SQLite's BEGIN IMMEDIATE
 *   serialises them and the transaction bodies (read, decide, write) need no other
 *   isolation.  Readers never wait.  Why not a transaction-scoped lock after BEGIN: a
 *   transaction that started before the previous writer committed keeps the catalog caches
 *   of its start until it locks a table, so a look-up without a lock (to_regclass, as the
 *   schema check does) would miss a table that writer just created; a transaction begun
 *   after the lock was granted sees everything committed before.  lock_timeout bounds the
 *   wait (then "busy", retried by ns-db.c); idle_in_transaction_session_timeout ends a
 *   client that hangs inside a transaction; a client that is killed frees the lock at once
 *   (its session ends).
 * - A lost connection: a read outside a transaction reconnects once and runs again; a
 *   write transaction is retried by ns-db.c.  When the connection breaks during COMMIT
 *   the outcome is unknown to the client, so the transaction id taken at BEGIN is looked
 *   up once the server answers again (txid_status): committed, aborted (then retried), or
 *   NS_DB_FAILURE_IN_DOUBT when the server stays away; never done twice.
 * - Schema version: the one-row table neuroseg_schema.  Migrations (SQLite's spelling)
 *   get PostgreSQL's type names: INTEGER is 64-bit in SQLite (BIGINT), REAL is 8 bytes
 *   (DOUBLE PRECISION), BLOB is BYTEA, and a row id SQLite assigns itself becomes an
 *   identity column.  The migrations hold none of these words inside string literals.
 * - Changes: NOTIFY neuroseg_changes inside the writing transaction (delivered on commit)
 *   with the NsDbChanges bits as its payload (ns-db-watch.c listens).
 * - Clock: the server's, so that a lease means the same on every workstation.
 */
#define G_LOG_DOMAIN "neuroseg-data"

#include "ns-db-private.h"

#include "ns-data-error.h"

#include <libpq-fe.h>
#include <stdlib.h>
#include <string.h>

/* The advisory lock key of the write lock: "neur". */
#define WRITE_LOCK_KEY "1851880562"

/* PostgreSQL type oids of the parameters. */
#define OID_BYTEA 17
#define OID_INT8 20
#define OID_TEXT 25
#define OID_FLOAT8 701

typedef struct
{
  PGconn *conn;
  gboolean readonly;
  gboolean locked;     /* holds the write lock */
  gboolean in_txn;     /* inside a write transaction of ours */
  char *txid;          /* of that transaction (text), for an unanswered COMMIT */
} PgConn;

typedef struct
{
  char *sql;           /* with $N placeholders */
  PGresult *res;
  int row;
} PgStmt;

#define PG(db) ((PgConn *) (db)->impl)

/* ---- failures ------------------------------------------------------------------------- */

/* libpq's multi-line messages in one line. */
static char *
one_line (const char *message)
{
  g_autofree char *m = g_strdup (message != NULL ? message : "");
  g_strstrip (m);
  GString *s = g_string_new (NULL);
  for (const char *p = m; *p != '\0'; p++)
    {
      if (*p == '\n' || *p == '\t' || *p == '\r')
        {
          if (s->len > 0 && s->str[s->len - 1] != ' ')
            g_string_append_c (s, ' ');
          continue;
        }
      g_string_append_c (s, *p);
    }
  if (s->len == 0)
    g_string_append (s, "unknown error");
  return g_string_free (s, FALSE);
}

static NsDbFailure
failure_for_state (const char *state)
{
  if (state == NULL)
    return NS_DB_FAILURE_CONNECTION;
  if (g_str_has_prefix (state, "08") || g_str_equal (state, "57P01")
      || g_str_equal (state, "57P02") || g_str_equal (state, "57P03"))
    return NS_DB_FAILURE_CONNECTION;   /* connection exception, shutdown, starting up */
  if (g_str_equal (state, "40001") || g_str_equal (state, "40P01")
      || g_str_equal (state, "55P03"))
    return NS_DB_FAILURE_BUSY;         /* serialisation, deadlock, lock timeout */
  if (g_str_has_prefix (state, "23"))
    return NS_DB_FAILURE_CONSTRAINT;
  if (g_str_equal (state, "42501") || g_str_equal (state, "25006"))
    return NS_DB_FAILURE_READONLY;     /* no privilege; a read-only transaction */
  if (g_str_equal (state, "XX001") || g_str_equal (state, "XX002"))
    return NS_DB_FAILURE_CORRUPT;
  return NS_DB_FAILURE_OTHER;
}

/* A lost or refused connection: "the database server cannot be reached: ...". */
static void
fail_connection (NsDb *db, const char *message)
{
  g_autofree char *line = one_line (message);
  g_autofree char *m = g_strdup_printf ("the database server cannot be reached: %s", line);
  _ns_db_fail (db, NS_DB_FAILURE_CONNECTION, m);
}

static void
fail_result (NsDb *db, PGresult *res)
{
  PGconn *conn = PG (db)->conn;
  const char *state = res != NULL ? PQresultErrorField (res, PG_DIAG_SQLSTATE) : NULL;
  NsDbFailure f = failure_for_state (state);
  if (conn == NULL || PQstatus (conn) == CONNECTION_BAD)
    f = NS_DB_FAILURE_CONNECTION;
  const char *primary = res != NULL ? PQresultErrorField (res, PG_DIAG_MESSAGE_PRIMARY) : NULL;
  if (f == NS_DB_FAILURE_CONNECTION)
    {
      fail_connection (db, primary != NULL ? primary : conn != NULL ? PQerrorMessage (conn)
                                                                    : NULL);
      return;
    }
  const char *detail = PQresultErrorField (res, PG_DIAG_MESSAGE_DETAIL);
  g_autofree char *m = detail != NULL ? g_strdup_printf ("%s (%s)", primary, detail)
                                      : one_line (primary != NULL ? primary
                                                                  : PQerrorMessage (conn));
  g_autofree char *line = one_line (m);
  _ns_db_fail (db, f, line);
}

/* TRUE when the result is a success; else records the failure. */
static gboolean
result_ok (NsDb *db, PGresult *res)
{
  ExecStatusType s = res != NULL ? PQresultStatus (res) : PGRES_FATAL_ERROR;
  if (s == PGRES_COMMAND_OK || s == PGRES_TUPLES_OK)
    return TRUE;
  fail_result (db, res);
  return FALSE;
}

/* ---- connecting ------------------------------------------------------------------------ */

static void
notice_cb (void *data, const char *message)
{
  g_autofree char *line = one_line (message);
  g_debug ("postgresql: %s", line);
}

static gboolean
set_up_session (NsDb *db)
{
  PgConn *pc = PG (db);
  PQsetNoticeProcessor (pc->conn, notice_cb, NULL);
  g_autofree char *sql = g_strdup_printf (
    "SET client_min_messages = warning; "
    "SET lock_timeout = '20s'; "
    "SET idle_in_transaction_session_timeout = '60s'%s",
    pc->readonly ? "; SET default_transaction_read_only = on" : "");
  PGresult *res = PQexec (pc->conn, sql);
  gboolean ok = result_ok (db, res);
  PQclear (res);
  return ok;
}

/* Connected, or a failure: CONNECTION when the server does not answer (worth retrying),
 * CANNOT_OPEN when it answers and refuses (no such database or role, authentication). */
static gboolean
pg_connect (NsDb *db)
{
  PgConn *pc = PG (db);
  /* The location may set any of these itself: it is expanded after them. */
  static const char *const keys[] = { "connect_timeout", "application_name", "keepalives_idle",
                                      "keepalives_interval", "keepalives_count", "dbname",
                                      NULL };
  const char *values[] = { "10", "neuroseg", "30", "10", "3", db->location, NULL };

  g_clear_pointer (&pc->conn, PQfinish);
  pc->conn = PQconnectdbParams (keys, values, 1);
  if (pc->conn != NULL && PQstatus (pc->conn) == CONNECTION_OK)
    return set_up_session (db);
  g_autofree char *msg = one_line (pc->conn != NULL ? PQerrorMessage (pc->conn)
                                                    : "out of memory");
  PGPing ping = PQpingParams (keys, values, 1);
  if (ping == PQPING_OK)
    _ns_db_fail (db, NS_DB_FAILURE_CANNOT_OPEN, msg);
  else
    fail_connection (db, msg);
  return FALSE;
}

static gboolean
pg_reconnect (NsDb *db)
{
  PgConn *pc = PG (db);
  /* A lock of the old session went with it, and its LISTEN (ns-db-watch.c counts). */
  pc->in_txn = FALSE;
  pc->locked = FALSE;
  db->reconnects++;
  if (pc->conn != NULL)
    {
      PQreset (pc->conn);
      if (PQstatus (pc->conn) == CONNECTION_OK)
        return set_up_session (db);
    }
  return pg_connect (db);
}

static gboolean
pg_open (NsDb *db, gboolean readonly, GError **error)
{
  char *why = NULL;
  PQconninfoOption *opts = PQconninfoParse (db->location, &why);
  if (opts == NULL)
    {
      g_autofree char *line = one_line (why);
      g_set_error (error, NS_DATA_ERROR, NS_DATA_ERROR_INVALID,
                   "%s: not a valid PostgreSQL connection URI: %s", db->path, line);
      PQfreemem (why);
      return FALSE;
    }
  PQconninfoFree (opts);
  PgConn *pc = g_new0 (PgConn, 1);
  pc->readonly = readonly;
  db->impl = pc;
  if (!pg_connect (db))
    {
      _ns_db_set_error (db, error, "cannot connect");
      return FALSE;
    }
  return TRUE;
}

static void
pg_close (NsDb *db)
{
  PgConn *pc = PG (db);
  if (pc == NULL)
    return;
  g_clear_pointer (&pc->conn, PQfinish);
  g_free (pc->txid);
  g_free (pc);
  db->impl = NULL;
}

/* A statement outside a write transaction on a connection that broke since the last one
 * (the server restarted): connect again first. */
static gboolean
ensure_connected (NsDb *db)
{
  PgConn *pc = PG (db);
  if (PQstatus (pc->conn) == CONNECTION_OK)
    return TRUE;
  if (pc->in_txn)
    {
      fail_connection (db, PQerrorMessage (pc->conn));
      return FALSE;
    }
  return pg_reconnect (db);
}

/* ---- statements ------------------------------------------------------------------------ */

/* SQLite's `?` and `?N` as `$N` (outside literals, quoted names and comments); *n_params:
 * the largest number. */
static char *
translate_placeholders (const char *sql, guint *n_params)
{
  GString *out = g_string_sized_new (strlen (sql) + 16);
  guint max = 0;
  for (const char *p = sql; *p != '\0'; p++)
    {
      if (*p == '\'' || *p == '"')
        {
          char q = *p;
          g_string_append_c (out, *p);
          for (p++; *p != '\0'; p++)
            {
              g_string_append_c (out, *p);
              if (*p == q && p[1] == q)
                g_string_append_c (out, *++p);
              else if (*p == q)
                break;
            }
          if (*p == '\0')
            break;
        }
      else if (*p == '-' && p[1] == '-')
        {
          while (*p != '\0' && *p != '\n')
            g_string_append_c (out, *p++);
          if (*p == '\0')
            break;
          g_string_append_c (out, *p);
        }
      else if (*p == '?')
        {
          guint k;
          if (g_ascii_isdigit (p[1]))
            {
              char *end;
              k = (guint) strtoul (p + 1, &end, 10);
              p = end - 1;
            }
          else
            k = max + 1;   /* SQLite: one more than the largest so far */
          max = MAX (max, k);
          g_string_append_printf (out, "$%u", k);
        }
      else
        g_string_append_c (out, *p);
    }
  *n_params = max;
  return g_string_free (out, FALSE);
}

static gpointer
pg_prepare (NsDb *db, const char *sql, guint *n_params)
{
  PgStmt *ps = g_new0 (PgStmt, 1);
  ps->sql = translate_placeholders (sql, n_params);
  ps->row = -1;
  return ps;
}

static void
pg_finalize (gpointer impl)
{
  PgStmt *ps = impl;
  g_clear_pointer (&ps->res, PQclear);
  g_free (ps->sql);
  g_free (ps);
}

static PGresult *
exec_params (NsDbStmt *st)
{
  PgStmt *ps = st->impl;
  guint n = st->n_params;
  g_autofree Oid *types = g_new0 (Oid, MAX (n, 1));
  g_autofree const char **values = g_new0 (const char *, MAX (n, 1));
  g_autofree int *lengths = g_new0 (int, MAX (n, 1));
  g_autofree int *formats = g_new0 (int, MAX (n, 1));
  g_autoptr (GPtrArray) texts = g_ptr_array_new_with_free_func (g_free);

  for (guint i = 0; i < n; i++)
    {
      const NsDbValue *v = &g_array_index (st->params, NsDbValue, i);
      char buf[G_ASCII_DTOSTR_BUF_SIZE];
      switch (v->type)
        {
        case NS_DB_VALUE_INT:
          types[i] = OID_INT8;
          values[i] = g_strdup_printf ("%" G_GINT64_FORMAT, v->i);
          g_ptr_array_add (texts, (gpointer) values[i]);
          break;
        case NS_DB_VALUE_DOUBLE:
          types[i] = OID_FLOAT8;
          values[i] = g_strdup (g_ascii_formatd (buf, sizeof buf, "%.17g", v->d));
          g_ptr_array_add (texts, (gpointer) values[i]);
          break;
        case NS_DB_VALUE_TEXT:
          types[i] = OID_TEXT;
          values[i] = v->text;
          break;
        case NS_DB_VALUE_BLOB:
          {
            gsize len;
            types[i] = OID_BYTEA;
            values[i] = g_bytes_get_data (v->blob, &len);
            if (values[i] == NULL)
              values[i] = "";
            lengths[i] = (int) len;
            formats[i] = 1;
          }
          break;
        default:
          values[i] = NULL;   /* NULL of the type the context gives */
          break;
        }
    }
  return PQexecParams (PG (st->db)->conn, ps->sql, (int) n, types, values, lengths, formats, 0);
}

static NsDbStep
pg_step (NsDbStmt *st)
{
  PgStmt *ps = st->impl;
  NsDb *db = st->db;
  if (!st->executed)
    {
      g_clear_pointer (&ps->res, PQclear);
      ps->row = -1;
      if (!ensure_connected (db))
        return NS_DB_STEP_FAILED;
      PGresult *res = exec_params (st);
      if (!result_ok (db, res))
        {
          PQclear (res);
          /* A read on a connection that broke: once more on a new one. */
          if (db->failure != NS_DB_FAILURE_CONNECTION || PG (db)->in_txn || !pg_reconnect (db))
            return NS_DB_STEP_FAILED;
          res = exec_params (st);
          if (!result_ok (db, res))
            {
              PQclear (res);
              return NS_DB_STEP_FAILED;
            }
        }
      ps->res = res;
    }
  if (ps->res == NULL)
    return NS_DB_STEP_DONE;
  ps->row++;
  if (PQresultStatus (ps->res) == PGRES_TUPLES_OK && ps->row < PQntuples (ps->res))
    return NS_DB_STEP_ROW;
  return NS_DB_STEP_DONE;
}

static void
pg_reset (NsDbStmt *st)
{
  PgStmt *ps = st->impl;
  g_clear_pointer (&ps->res, PQclear);
  ps->row = -1;
}

static gboolean
pg_column_is_null (NsDbStmt *st, int i)
{
  PgStmt *ps = st->impl;
  return ps->res == NULL || ps->row < 0 || i >= PQnfields (ps->res)
         || PQgetisnull (ps->res, ps->row, i);
}

static gint64
pg_column_int (NsDbStmt *st, int i)
{
  PgStmt *ps = st->impl;
  return g_ascii_strtoll (PQgetvalue (ps->res, ps->row, i), NULL, 10);
}

static double
pg_column_double (NsDbStmt *st, int i)
{
  PgStmt *ps = st->impl;
  return g_ascii_strtod (PQgetvalue (ps->res, ps->row, i), NULL);
}

static const char *
pg_column_text (NsDbStmt *st, int i)
{
  PgStmt *ps = st->impl;
  return PQgetvalue (ps->res, ps->row, i);
}

static GBytes *
pg_column_blob (NsDbStmt *st, int i)
{
  PgStmt *ps = st->impl;
  size_t len = 0;
  unsigned char *raw = PQunescapeBytea ((const unsigned char *) PQgetvalue (ps->res, ps->row, i),
                                        &len);
  if (raw == NULL)
    return g_bytes_new (NULL, 0);
  GBytes *b = g_bytes_new (raw, len);
  PQfreemem (raw);
  return b;
}

/* Runs sql (no parameters); with rows, the first value of the first row (owned) in *first. */
static gboolean
exec_sql (NsDb *db, const char *sql, char **first)
{
  if (!ensure_connected (db))
    return FALSE;
  PGresult *res = PQexec (PG (db)->conn, sql);
  gboolean ok = result_ok (db, res);
  if (ok && first != NULL)
    *first = PQresultStatus (res) == PGRES_TUPLES_OK && PQntuples (res) > 0
               && !PQgetisnull (res, 0, 0) ? g_strdup (PQgetvalue (res, 0, 0)) : NULL;
  PQclear (res);
  return ok;
}

static gboolean
pg_exec (NsDb *db, const char *sql)
{
  return exec_sql (db, sql, NULL);
}

/* ---- transactions -------------------------------------------------------------------- */

/* Gives the write lock back (the connection may be gone: then the server did). */
static void
unlock (NsDb *db)
{
  PgConn *pc = PG (db);
  if (!pc->locked)
    return;
  pc->locked = FALSE;
  if (pc->conn != NULL && PQstatus (pc->conn) == CONNECTION_OK)
    PQclear (PQexec (pc->conn, "SELECT pg_advisory_unlock(" WRITE_LOCK_KEY ")"));
}

static gboolean
pg_begin_write (NsDb *db)
{
  PgConn *pc = PG (db);
  g_clear_pointer (&pc->txid, g_free);
  if (!ensure_connected (db))
    return FALSE;
  /* The lock in a statement of its own, then a transaction that starts after it. */
  if (!exec_sql (db, "SELECT pg_advisory_lock(" WRITE_LOCK_KEY ")", NULL))
    return FALSE;
  pc->locked = TRUE;
  pc->in_txn = TRUE;
  return exec_sql (db, "BEGIN; SELECT txid_current()", &pc->txid);
}

/* After a COMMIT without an answer: what the server did with the transaction. */
static gboolean
settle_commit (NsDb *db)
{
  PgConn *pc = PG (db);
  g_autofree char *lost = g_strdup (db->message);
  gulong pause_us = 50000;

  if (pc->txid == NULL)
    return FALSE;
  for (;;)
    {
      if (pg_reconnect (db))
        {
          const char *values[1] = { pc->txid };
          PGresult *res = PQexecParams (pc->conn, "SELECT txid_status($1::bigint)", 1, NULL,
                                        values, NULL, NULL, 0);
          const char *state = res != NULL ? PQresultErrorField (res, PG_DIAG_SQLSTATE) : NULL;
          if (result_ok (db, res))
            {
              const char *status = PQgetisnull (res, 0, 0) ? "" : PQgetvalue (res, 0, 0);
              gboolean committed = g_str_equal (status, "committed");
              gboolean aborted = g_str_equal (status, "aborted");
              PQclear (res);
              if (committed)
                return TRUE;
              if (aborted)
                {
                  /* Never committed: ns-db.c may run it again. */
                  g_autofree char *m = g_strdup_printf ("the connection was lost before the "
                                                        "commit (%s)", lost);
                  _ns_db_fail (db, NS_DB_FAILURE_CONNECTION, m);
                  return FALSE;
                }
              /* "in progress": the old session is still finishing it. */
            }
          else
            {
              PQclear (res);
              /* A transaction id from before a crash that lost its WAL: never committed. */
              if (g_strcmp0 (state, "22023") == 0)
                {
                  _ns_db_fail (db, NS_DB_FAILURE_CONNECTION, lost);
                  return FALSE;
                }
            }
        }
      if (g_get_monotonic_time () + (gint64) pause_us > db->deadline)
        break;
      g_usleep (pause_us);
      pause_us = MIN (pause_us * 2, 1000000);
    }
  g_autofree char *m = g_strdup_printf ("the connection to the server was lost during the "
                                        "commit of transaction %s and the server could not be "
                                        "asked since whether it was saved (%s): look before "
                                        "doing it again", pc->txid, lost);
  _ns_db_fail (db, NS_DB_FAILURE_IN_DOUBT, m);
  return FALSE;
}

static gboolean
pg_commit (NsDb *db)
{
  PgConn *pc = PG (db);
  PGresult *res = PQexec (pc->conn, "COMMIT");
  gboolean ok = result_ok (db, res);
  if (ok && g_strcmp0 (PQcmdStatus (res), "COMMIT") != 0)
    {
      _ns_db_fail (db, NS_DB_FAILURE_OTHER, "the server rolled the transaction back");
      ok = FALSE;
    }
  PQclear (res);
  if (!ok && db->failure == NS_DB_FAILURE_CONNECTION)
    ok = settle_commit (db);
  pc->in_txn = FALSE;
  if (ok)
    unlock (db);
  return ok;
}

static void
pg_rollback (NsDb *db)
{
  PgConn *pc = PG (db);
  pc->in_txn = FALSE;
  if (pc->conn == NULL || PQstatus (pc->conn) != CONNECTION_OK)
    {
      pc->locked = FALSE;
      return;
    }
  PGTransactionStatusType t = PQtransactionStatus (pc->conn);
  if (t == PQTRANS_INTRANS || t == PQTRANS_INERROR)
    PQclear (PQexec (pc->conn, "ROLLBACK"));
  unlock (db);
}

/* ---- the dialect --------------------------------------------------------------------- */

static gboolean
pg_read_schema_version (NsDb *db, gint64 *version)
{
  g_autofree char *exists = NULL, *v = NULL;
  if (!exec_sql (db, "SELECT CAST(to_regclass('neuroseg_schema') IS NOT NULL AS integer)",
                 &exists))
    return FALSE;
  *version = 0;
  if (g_strcmp0 (exists, "1") != 0)
    return TRUE;
  if (!exec_sql (db, "SELECT max(version) FROM neuroseg_schema", &v))
    return FALSE;
  if (v != NULL)
    *version = g_ascii_strtoll (v, NULL, 10);
  return TRUE;
}

static gboolean
pg_write_schema_version (NsDb *db, gint64 version)
{
  g_autofree char *sql = g_strdup_printf (
    "CREATE TABLE IF NOT EXISTS neuroseg_schema (version BIGINT NOT NULL); "
    "DELETE FROM neuroseg_schema; "
    "INSERT INTO neuroseg_schema (version) VALUES (%" G_GINT64_FORMAT ")", version);
  return pg_exec (db, sql);
}

static char *
pg_translate_ddl (const char *sql)
{
  static const struct { const char *pattern, *replacement; } rules[] = {
    { "\\bid INTEGER PRIMARY KEY\\b", "id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY" },
    { "\\bINTEGER\\b", "BIGINT" },
    { "\\bREAL\\b", "DOUBLE PRECISION" },
    { "\\bBLOB\\b", "BYTEA" },
  };
  char *out = g_strdup (sql);
  for (guint i = 0; i < G_N_ELEMENTS (rules); i++)
    {
      g_autoptr (GRegex) re = g_regex_new (rules[i].pattern, 0, 0, NULL);
      g_assert (re != NULL);
      char *next = g_regex_replace_literal (re, out, -1, 0, rules[i].replacement, 0, NULL);
      g_free (out);
      out = next;
    }
  return out;
}

/* References are enforced by the server at every statement. */
static gboolean
pg_check_migrated (NsDb *db, GError **error)
{
  return TRUE;
}

/* Every table of the schema read to its end: a damaged page fails the scan. */
static gboolean
pg_check_integrity (NsDb *db, GError **error)
{
  if (!ensure_connected (db))
    {
      _ns_db_set_error (db, error, "integrity check failed");
      return FALSE;
    }
  PGresult *res = PQexec (PG (db)->conn, "SELECT tablename FROM pg_tables WHERE schemaname = "
                                         "current_schema() ORDER BY tablename");
  if (!result_ok (db, res))
    {
      PQclear (res);
      _ns_db_set_error (db, error, "integrity check failed");
      return FALSE;
    }
  for (int r = 0; r < PQntuples (res); r++)
    {
      const char *table = PQgetvalue (res, r, 0);
      char *ident = PQescapeIdentifier (PG (db)->conn, table, strlen (table));
      g_autofree char *sql = g_strdup_printf ("SELECT count(*) FROM %s", ident);
      PQfreemem (ident);
      if (!pg_exec (db, sql))
        {
          g_autofree char *what = g_strdup_printf ("integrity check: table %s", table);
          PQclear (res);
          _ns_db_set_error (db, error, what);
          return FALSE;
        }
    }
  PQclear (res);
  return TRUE;
}

static gboolean
pg_now_ms (NsDb *db, gint64 *now)
{
  g_autofree char *v = NULL;
  if (!exec_sql (db, "SELECT CAST(floor(extract(epoch FROM clock_timestamp()) * 1000) AS "
                     "BIGINT)", &v))
    return FALSE;
  *now = g_ascii_strtoll (v, NULL, 10);
  return TRUE;
}

static gboolean
pg_notify (NsDb *db, guint changes)
{
  g_autofree char *sql = g_strdup_printf ("SELECT pg_notify('neuroseg_changes', '%u')", changes);
  return pg_exec (db, sql);
}

static int
pg_listen (NsDb *db)
{
  if (!exec_sql (db, "LISTEN neuroseg_changes", NULL))
    return -1;
  return PQsocket (PG (db)->conn);
}

static gboolean
pg_read_notifications (NsDb *db, guint *changes)
{
  PGconn *conn = PG (db)->conn;
  if (!PQconsumeInput (conn) || PQstatus (conn) != CONNECTION_OK)
    {
      fail_connection (db, PQerrorMessage (conn));
      return FALSE;
    }
  PGnotify *n;
  while ((n = PQnotifies (conn)) != NULL)
    {
      *changes |= (guint) g_ascii_strtoull (n->extra, NULL, 10);
      PQfreemem (n);
    }
  return TRUE;
}

/* The identity of table.id goes on after the largest id (table: a name of the schema). */
static gboolean
pg_sync_row_ids (NsDb *db, const char *table, GError **error)
{
  g_autofree char *sql = g_strdup_printf (
    "SELECT setval(pg_get_serial_sequence('%1$s', 'id'), COALESCE(MAX(id), 0) + 1, false) "
    "FROM %1$s", table);
  g_autofree char *what = g_strdup_printf ("cannot set the next id of table %s", table);
  return _ns_db_exec (db, sql, what, error);
}

static gboolean
setup_team_txn (NsDb *db, gpointer data, GError **error)
{
  g_autofree char *schema = NULL;
  if (!exec_sql (db, "SELECT current_schema()", &schema) || schema == NULL)
    {
      if (schema == NULL && db->failure == NS_DB_FAILURE_NONE)
        _ns_db_fail (db, NS_DB_FAILURE_OTHER, "no current schema");
      _ns_db_set_error (db, error, "cannot set up the team's roles");
      return FALSE;
    }
  char *esc = PQescapeIdentifier (PG (db)->conn, schema, strlen (schema));
  g_autofree char *s = g_strdup (esc);
  PQfreemem (esc);
  g_autofree char *sql = g_strdup_printf (
    "DO $roles$ BEGIN "
    "  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'neuroseg_team') THEN "
    "    CREATE ROLE neuroseg_team NOLOGIN; END IF; "
    "  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'neuroseg_reader') THEN "
    "    CREATE ROLE neuroseg_reader NOLOGIN; END IF; "
    "END $roles$; "
    "GRANT USAGE ON SCHEMA %1$s TO neuroseg_team, neuroseg_reader; "
    "GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA %1$s TO neuroseg_team; "
    "GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA %1$s TO neuroseg_team; "
    "GRANT SELECT ON ALL TABLES IN SCHEMA %1$s TO neuroseg_reader; "
    "ALTER DEFAULT PRIVILEGES IN SCHEMA %1$s "
    "  GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO neuroseg_team; "
    "ALTER DEFAULT PRIVILEGES IN SCHEMA %1$s GRANT USAGE, SELECT ON SEQUENCES TO neuroseg_team; "
    "ALTER DEFAULT PRIVILEGES IN SCHEMA %1$s GRANT SELECT ON TABLES TO neuroseg_reader", s);
  return _ns_db_exec (db, sql, "cannot set up the team's roles (the database's owner, with "
                               "the right to create roles, does that)", error);
}

static gboolean
pg_setup_team (NsDb *db, GError **error)
{
  return _ns_db_write (db, setup_team_txn, NULL, error);
}

const NsDbBackend _ns_db_pg_backend = {
  .name = "postgresql",
  .shared = TRUE,
  .open = pg_open,
  .close = pg_close,
  .reconnect = pg_reconnect,
  .prepare = pg_prepare,
  .finalize = pg_finalize,
  .step = pg_step,
  .reset = pg_reset,
  .column_is_null = pg_column_is_null,
  .column_int = pg_column_int,
  .column_double = pg_column_double,
  .column_text = pg_column_text,
  .column_blob = pg_column_blob,
  .exec = pg_exec,
  .begin_write = pg_begin_write,
  .commit = pg_commit,
  .rollback = pg_rollback,
  .read_schema_version = pg_read_schema_version,
  .write_schema_version = pg_write_schema_version,
  .translate_ddl = pg_translate_ddl,
  .check_migrated = pg_check_migrated,
  .check_integrity = pg_check_integrity,
  .now_ms = pg_now_ms,
  .notify = pg_notify,
  .setup_team = pg_setup_team,
  .sync_row_ids = pg_sync_row_ids,
  .listen = pg_listen,
  .read_notifications = pg_read_notifications,
};
