/* SPDX-License-Identifier: MIT
 *
 * ns-runs.h: training runs in the database of ns-db.h: running, succeeded, failed or
 * cancelled; the command, its log, the resulting model, the process that runs it and the
 * cases it trains on.
 *
 * A run whose process is gone (same host; the pid is not alive, or now belongs to a
 * process with another start time) while marked running is marked failed when the
 * database is opened read-write (ns_runs_reap_stale()).  A model is registered in one
 * transaction at the end of a run (ns_registry_register_model() with its run id), so a
 * trainer that dies leaves registry and queue as they were.
 */
#pragma once

#include "ns-db.h"

G_BEGIN_DECLS

typedef enum
{
  NS_RUN_RUNNING,
  NS_RUN_SUCCEEDED,
  NS_RUN_FAILED,
  NS_RUN_CANCELLED,
} NsRunStatus;

typedef struct
{
  gint64 id;
  char *started;
  char *finished;           /* NULL while running */
  NsRunStatus status;
  char *command;
  char *log_path;
  int model_version;        /* the model it produced, 0: none */
  int pid;
  char *host;
  char *error;
  GArray *cases;            /* gint64 case ids */
} NsRun;

/* "running", "succeeded", "failed", "cancelled". */
const char *ns_runs_status_name (NsRunStatus status);

/* Records a run started by process pid (0: this process) on the given cases.  Returns its
 * id, 0 on error. */
gint64      ns_runs_begin       (NsDb *db, const char *command, const char *log_path,
                                 const gint64 *case_ids, guint n_cases, int pid,
                                 GError **error);
/* The process that runs it (e.g. the trainer subprocess, once spawned). */
gboolean    ns_runs_set_pid     (NsDb *db, gint64 run_id, int pid, GError **error);
/* Ends a running run as SUCCEEDED, FAILED or CANCELLED (message: why, nullable).  Models
 * are registered with ns_registry_register_model (info->run_id), which ends the run too. */
gboolean    ns_runs_finish      (NsDb *db, gint64 run_id, NsRunStatus status,
                                 const char *message, GError **error);
/* NsRun *, oldest first. */
GPtrArray  *ns_runs_list        (NsDb *db, GError **error);
NsRun      *ns_runs_dup_run     (NsDb *db, gint64 run_id, GError **error);
/* Marks failed every run still "running" whose process (on this host) is gone.  Returns
 * how many, -1 on error; 0 on a database opened read-only. */
int         ns_runs_reap_stale  (NsDb *db, GError **error);

void        ns_run_free         (NsRun *run);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (NsRun, ns_run_free)

G_END_DECLS
