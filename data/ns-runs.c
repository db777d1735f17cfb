/* SPDX-License-Identifier: MIT
 *
 * ns-runs.c: training runs on the database (see ns-runs.h).
 *
 * A process is named by its pid and its start time (/proc/PID/stat), so that a pid reused
 * by another process after the trainer died does not keep a run "running" forever.
 */
#define G_LOG_DOMAIN "neuroseg-data"

#include "ns-runs-private.h"

#include "ns-data-error.h"
#include "ns-db-private.h"
#include "ns-queue-private.h"

#include <errno.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>

static const char *const status_names[] = { "running", "succeeded", "failed", "cancelled" };

const char *
ns_runs_status_name (NsRunStatus status)
{
  g_return_val_if_fail (status <= NS_RUN_CANCELLED, NULL);
  return status_names[status];
}

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

/* ---- begin / set pid / finish ---------------------------------------------------------- */

typedef struct
{
  const char *command;
  const char *log_path;
  const gint64 *cases;
  guint n_cases;
  int pid;
  gint64 run_id;  /* out */
} BeginData;

static gboolean
begin_txn (NsDb *db, gpointer data, GError **error)
{
  BeginData *d = data;
  g_autofree char *now = _ns_db_dup_now ();

  _ns_db_touch (db, NS_DB_CHANGES_REGISTRY);
  {
    g_autoptr (NsDbStmt) st = _ns_db_prepare (db,
      "INSERT INTO runs (started, status, command, log_path, pid, host, pid_start) "
      "VALUES (?, 'running', ?, ?, ?, ?, ?) RETURNING id", error);
    if (st == NULL)
      return FALSE;
    _ns_db_bind_text (st, 1, now);
    _ns_db_bind_text (st, 2, d->command);
    _ns_db_bind_text (st, 3, d->log_path);
    _ns_db_bind_int (st, 4, d->pid);
    _ns_db_bind_text (st, 5, g_get_host_name ());
    _ns_db_bind_int_or_null (st, 6, process_start_time (d->pid));
    if (!_ns_db_step_returning (st, &d->run_id, "cannot record the run", error))
      return FALSE;
  }
  for (guint i = 0; i < d->n_cases; i++)
    {
      if (!_ns_queue_check_case (db, d->cases[i], error))
        return FALSE;
      g_autoptr (NsDbStmt) st = _ns_db_prepare (db,
        "INSERT INTO run_cases (run_id, case_ref) VALUES (?, ?) ON CONFLICT DO NOTHING", error);
      if (st == NULL)
        return FALSE;
      _ns_db_bind_int (st, 1, d->run_id);
      _ns_db_bind_int (st, 2, d->cases[i]);
      if (!_ns_db_step_done (st, "cannot record the run's cases", error))
        return FALSE;
    }
  return TRUE;
}

gint64
ns_runs_begin (NsDb *db, const char *command, const char *log_path, const gint64 *case_ids,
               guint n_cases, int pid, GError **error)
{
  BeginData d = { command, log_path, case_ids, n_cases, pid > 0 ? pid : (int) getpid (), 0 };
  g_return_val_if_fail (db != NULL, 0);
  g_return_val_if_fail (n_cases == 0 || case_ids != NULL, 0);
  if (!_ns_db_write (db, begin_txn, &d, error))
    return 0;
  return d.run_id;
}

/* The run's status (owned), or NULL + NOT_FOUND. */
static char *
dup_status (NsDb *db, gint64 run_id, GError **error)
{
  g_autoptr (NsDbStmt) st = _ns_db_prepare (db, "SELECT status FROM runs WHERE id = ?",
                                            error);
  if (st == NULL)
    return NULL;
  _ns_db_bind_int (st, 1, run_id);
  NsDbStep rc = _ns_db_step (st);
  if (rc == NS_DB_STEP_ROW)
    return _ns_db_column_text (st, 0);
  if (rc == NS_DB_STEP_DONE)
    g_set_error (error, NS_DATA_ERROR, NS_DATA_ERROR_NOT_FOUND,
                 "%s: no training run %" G_GINT64_FORMAT, db->path, run_id);
  else
    _ns_db_set_error (db, error, "cannot read the training runs");
  return NULL;
}

typedef struct
{
  gint64 run_id;
  int pid;                   /* set_pid */
  NsRunStatus status;        /* finish */
  const char *message;
  gboolean finish;
} UpdateData;

static gboolean
update_txn (NsDb *db, gpointer data, GError **error)
{
  UpdateData *d = data;
  g_autofree char *now = _ns_db_dup_now ();
  g_autofree char *status = dup_status (db, d->run_id, error);
  _ns_db_touch (db, NS_DB_CHANGES_REGISTRY);
  if (status == NULL)
    return FALSE;
  if (g_strcmp0 (status, "running") != 0)
    {
      g_set_error (error, NS_DATA_ERROR, NS_DATA_ERROR_INVALID,
                   "%s: training run %" G_GINT64_FORMAT " has already ended (%s)", db->path,
                   d->run_id, status);
      return FALSE;
    }
  g_autoptr (NsDbStmt) st = _ns_db_prepare (db, d->finish
    ? "UPDATE runs SET status = ?2, finished = ?3, error = ?4 WHERE id = ?1"
    : "UPDATE runs SET pid = ?2, pid_start = ?3 WHERE id = ?1", error);
  if (st == NULL)
    return FALSE;
  _ns_db_bind_int (st, 1, d->run_id);
  if (d->finish)
    {
      _ns_db_bind_text (st, 2, status_names[d->status]);
      _ns_db_bind_text (st, 3, now);
      _ns_db_bind_text (st, 4, d->message);
    }
  else
    {
      _ns_db_bind_int (st, 2, d->pid);
      _ns_db_bind_int_or_null (st, 3, process_start_time (d->pid));
    }
  return _ns_db_step_done (st, "cannot update the run", error);
}

gboolean
ns_runs_set_pid (NsDb *db, gint64 run_id, int pid, GError **error)
{
  UpdateData d = { run_id, pid, 0, NULL, FALSE };
  g_return_val_if_fail (db != NULL && pid > 0, FALSE);
  return _ns_db_write (db, update_txn, &d, error);
}

gboolean
ns_runs_finish (NsDb *db, gint64 run_id, NsRunStatus status, const char *message,
                GError **error)
{
  UpdateData d = { run_id, 0, status, message, TRUE };
  g_return_val_if_fail (db != NULL, FALSE);
  g_return_val_if_fail (status > NS_RUN_RUNNING && status <= NS_RUN_CANCELLED, FALSE);
  return _ns_db_write (db, update_txn, &d, error);
}

/* ---- the end of a run with its model (inside the registry's transaction) --------------- */

gboolean
_ns_runs_check_can_produce (NsDb *db, gint64 run_id, GError **error)
{
  g_autofree char *status = dup_status (db, run_id, error);
  if (status == NULL)
    return FALSE;
  if (g_strcmp0 (status, "running") != 0 && g_strcmp0 (status, "failed") != 0)
    {
      g_set_error (error, NS_DATA_ERROR, NS_DATA_ERROR_INVALID,
                   "%s: training run %" G_GINT64_FORMAT " is %s and cannot produce "
                   "another model", db->path, run_id, status);
      return FALSE;
    }
  return TRUE;
}

gboolean
_ns_runs_end_with_model (NsDb *db, gint64 run_id, int version, const char *failure,
                         const char *now, GError **error)
{
  {
    g_autoptr (NsDbStmt) st = _ns_db_prepare (db,
      "UPDATE runs SET status = ?, finished = ?, model_version = ?, error = ? WHERE id = ?",
      error);
    if (st == NULL)
      return FALSE;
    _ns_db_bind_text (st, 1, failure == NULL ? "succeeded" : "failed");
    _ns_db_bind_text (st, 2, now);
    _ns_db_bind_int (st, 3, version);
    _ns_db_bind_text (st, 4, failure);
    _ns_db_bind_int (st, 5, run_id);
    if (!_ns_db_step_done (st, "cannot finish the run", error))
      return FALSE;
  }
  if (failure != NULL)
    return TRUE;

  /* The run's cases that are still queued are now used by this version. */
  g_autoptr (NsDbStmt) sel = _ns_db_prepare (db,
    "SELECT r.case_ref FROM run_cases r JOIN queue q ON q.case_ref = r.case_ref "
    "WHERE r.run_id = ? AND q.state = 'queued'", error);
  if (sel == NULL)
    return FALSE;
  _ns_db_bind_int (sel, 1, run_id);
  g_autoptr (GArray) rows = g_array_new (FALSE, FALSE, sizeof (gint64));
  NsDbStep rc;
  while ((rc = _ns_db_step (sel)) == NS_DB_STEP_ROW)
    {
      gint64 r = _ns_db_column_int64 (sel, 0);
      g_array_append_val (rows, r);
    }
  if (rc != NS_DB_STEP_DONE)
    {
      _ns_db_set_error (db, error, "cannot read the run's cases");
      return FALSE;
    }
  g_autofree char *note = g_strdup_printf ("trained on by run %" G_GINT64_FORMAT, run_id);
  for (guint i = 0; i < rows->len; i++)
    if (!_ns_queue_set_state (db, g_array_index (rows, gint64, i), NS_QUEUE_STATE_USED,
                              version, NULL, note, now, error))
      return FALSE;
  return TRUE;
}

/* ---- listing -------------------------------------------------------------------------- */

void
ns_run_free (NsRun *r)
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
select_runs (NsDb *db, const char *tail, gint64 param, GError **error)
{
  g_autofree char *sql = g_strconcat ("SELECT id, started, finished, status, command, log_path, "
                                      "model_version, pid, host, error FROM runs ", tail, NULL);
  g_autoptr (NsDbStmt) st = _ns_db_prepare (db, sql, error);
  if (st == NULL)
    return NULL;
  if (st->n_params > 0)
    _ns_db_bind_int (st, 1, param);
  g_autoptr (NsDbStmt) cs = _ns_db_prepare (db,
    "SELECT case_ref FROM run_cases WHERE run_id = ? ORDER BY case_ref", error);
  if (cs == NULL)
    return NULL;
  g_autoptr (GPtrArray) out = g_ptr_array_new_with_free_func ((GDestroyNotify) ns_run_free);
  NsDbStep rc;
  while ((rc = _ns_db_step (st)) == NS_DB_STEP_ROW)
    {
      NsRun *r = g_new0 (NsRun, 1);
      r->id = _ns_db_column_int64 (st, 0);
      r->started = _ns_db_column_text (st, 1);
      r->finished = _ns_db_column_text (st, 2);
      r->status = _ns_db_index_of (status_names, G_N_ELEMENTS (status_names),
                                   _ns_db_column_peek_text (st, 3));
      r->command = _ns_db_column_text (st, 4);
      r->log_path = _ns_db_column_text (st, 5);
      r->model_version = _ns_db_column_int (st, 6);
      r->pid = _ns_db_column_int (st, 7);
      r->host = _ns_db_column_text (st, 8);
      r->error = _ns_db_column_text (st, 9);
      r->cases = g_array_new (FALSE, FALSE, sizeof (gint64));
      _ns_db_reset (cs);
      _ns_db_bind_int (cs, 1, r->id);
      g_ptr_array_add (out, r);
      NsDbStep crc;
      while ((crc = _ns_db_step (cs)) == NS_DB_STEP_ROW)
        {
          gint64 c = _ns_db_column_int64 (cs, 0);
          g_array_append_val (r->cases, c);
        }
      if (crc != NS_DB_STEP_DONE)
        {
          _ns_db_set_error (db, error, "cannot read the training runs");
          return NULL;
        }
    }
  if (rc != NS_DB_STEP_DONE)
    {
      _ns_db_set_error (db, error, "cannot read the training runs");
      return NULL;
    }
  return g_steal_pointer (&out);
}

GPtrArray *
ns_runs_list (NsDb *db, GError **error)
{
  g_return_val_if_fail (db != NULL, NULL);
  return select_runs (db, "ORDER BY id", 0, error);
}

NsRun *
ns_runs_dup_run (NsDb *db, gint64 run_id, GError **error)
{
  g_return_val_if_fail (db != NULL, NULL);
  g_autoptr (GPtrArray) a = select_runs (db, "WHERE id = ?", run_id, error);
  if (a == NULL)
    return NULL;
  if (a->len == 0)
    {
      g_set_error (error, NS_DATA_ERROR, NS_DATA_ERROR_NOT_FOUND,
                   "%s: no training run %" G_GINT64_FORMAT, db->path, run_id);
      return NULL;
    }
  return g_ptr_array_steal_index (a, 0);
}

/* ---- stale runs ------------------------------------------------------------------------- */

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
reap_txn (NsDb *db, gpointer data, GError **error)
{
  int *n = data;
  g_autofree char *now = _ns_db_dup_now ();
  g_autoptr (GArray) stale = g_array_new (FALSE, FALSE, sizeof (gint64));
  g_autoptr (GArray) pids = g_array_new (FALSE, FALSE, sizeof (int));
  {
    g_autoptr (NsDbStmt) st = _ns_db_prepare (db,
      "SELECT id, pid, pid_start FROM runs WHERE status = 'running' AND host = ?", error);
    if (st == NULL)
      return FALSE;
    _ns_db_bind_text (st, 1, g_get_host_name ());
    NsDbStep rc;
    while ((rc = _ns_db_step (st)) == NS_DB_STEP_ROW)
      {
        int pid = _ns_db_column_int (st, 1);
        if (!pid_alive (pid, _ns_db_column_int64 (st, 2)))
          {
            gint64 id = _ns_db_column_int64 (st, 0);
            g_array_append_val (stale, id);
            g_array_append_val (pids, pid);
          }
      }
    if (rc != NS_DB_STEP_DONE)
      {
        _ns_db_set_error (db, error, "cannot read the training runs");
        return FALSE;
      }
  }
  for (guint i = 0; i < stale->len; i++)
    {
      g_autoptr (NsDbStmt) st = _ns_db_prepare (db,
        "UPDATE runs SET status = 'failed', finished = ?, error = ? WHERE id = ? AND "
        "status = 'running'", error);
      if (st == NULL)
        return FALSE;
      g_autofree char *msg = g_strdup_printf ("process %d ended without finishing the run",
                                              g_array_index (pids, int, i));
      _ns_db_bind_text (st, 1, now);
      _ns_db_bind_text (st, 2, msg);
      _ns_db_bind_int (st, 3, g_array_index (stale, gint64, i));
      if (!_ns_db_step_done (st, "cannot mark a stale run failed", error))
        return FALSE;
    }
  if (stale->len > 0)
    _ns_db_touch (db, NS_DB_CHANGES_REGISTRY);
  *n = stale->len;
  return TRUE;
}

int
ns_runs_reap_stale (NsDb *db, GError **error)
{
  gint64 running = 0;
  int n = 0;

  g_return_val_if_fail (db != NULL, -1);
  if (db->readonly)
    return 0;
  /* Look without the write lock first: usually nothing is running. */
  if (!_ns_db_query_int (db, "SELECT count(*) FROM runs WHERE status = 'running'", 0, &running,
                         error))
    return -1;
  if (running == 0)
    return 0;
  if (!_ns_db_write (db, reap_txn, &n, error))
    return -1;
  return n;
}
