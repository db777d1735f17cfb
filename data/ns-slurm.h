/* SPDX-License-Identifier: MIT
 *
 * ns-slurm.h: a training job on a Slurm cluster, through Slurm's own commands: the batch
 * script generated from a job description, `sbatch --parsable` to submit it, `scontrol
 * show job` (then `sacct`, then the exit status the script leaves) to follow it, `scancel`
 * to cancel it.  Every command is spawned with an argument vector, never through a shell,
 * and every value put into the script is quoted for the shell, so that folders with
 * spaces or quotes are safe.
 *
 * It lives in data/ beside the queue, the registry and the runs (no GTK): the workbench
 * (ui/ns-train-panel-slurm.c) and the tests use it; the cluster is only ever reached by
 * these commands, so nothing here links against Slurm.
 *
 * The job's folder (on storage that the cluster's nodes and the workstation share) holds
 * everything it writes:
 *
 *   job.sh            the batch script (submit it again by hand with `sbatch job.sh`)
 *   progress.jsonl    the trainer's JSON progress events (its stdout, from rank 0)
 *   train.log         the trainer's messages (its stderr)
 *   slurm-ID.out      what the batch script itself printed (Slurm's --output)
 *   exit-status       the trainer's exit status, written when it ends
 *
 * and the checkpoint goes wherever the train command's -o says (in the folder, by the
 * workbench's choice).
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

#define NS_SLURM_ERROR (ns_slurm_error_quark ())

typedef enum
{
  NS_SLURM_ERROR_NOT_INSTALLED, /* sbatch, scontrol or scancel is not on PATH */
  NS_SLURM_ERROR_INVALID,       /* a job description that cannot be a job */
  NS_SLURM_ERROR_REJECTED,      /* sbatch refused the script (its message follows) */
  NS_SLURM_ERROR_COMMAND,       /* scontrol / scancel failed (their message follows) */
  NS_SLURM_ERROR_UNKNOWN_JOB,   /* Slurm no longer knows the job and it left no status */
  NS_SLURM_ERROR_JOB_ENDED,     /* the job ended without success: FAILED, TIMEOUT, ... */
  NS_SLURM_ERROR_PROGRESS,      /* the progress file cannot be read */
  NS_SLURM_ERROR_IO,            /* the folder or the script cannot be written */
} NsSlurmError;

GQuark ns_slurm_error_quark (void);

/* Where a job is, as Slurm says (JobState). */
typedef enum
{
  NS_SLURM_PENDING,     /* queued, waiting for nodes */
  NS_SLURM_RUNNING,     /* RUNNING, CONFIGURING, COMPLETING, SUSPENDED ... */
  NS_SLURM_COMPLETED,   /* the script exited 0 */
  NS_SLURM_FAILED,      /* non-zero exit, NODE_FAIL, OUT_OF_MEMORY, BOOT_FAIL ... */
  NS_SLURM_CANCELLED,   /* scancel, or a preemption that ended it */
  NS_SLURM_TIMEOUT,     /* the time limit was reached */
} NsSlurmState;

/* One job to submit.  Zero numbers mean "the cluster's default". */
typedef struct
{
  char *name;           /* --job-name (NULL: "neuroseg-train"); characters other than
                         * letters, digits, '.', '_' and '-' become '_' */
  char *partition;      /* NULL or "": the cluster's default partition */
  int nodes;            /* >= 1 */
  int tasks_per_node;   /* >= 1: ranks of `srun neuroseg train` per node (1 until the
                         * trainer runs data-parallel over MPI) */
  int gpus_per_node;    /* 0: none asked for */
  int cpus_per_task;
  int time_limit_min;   /* wall-clock limit in minutes */
  int mem_mb;           /* memory per node */
  char *neuroseg;       /* the neuroseg binary, as the nodes see it (shared storage) */
  char **train_args;    /* the arguments after `neuroseg train` (NULL-terminated): data,
                         * validation and -o as paths on shared storage */
  char *folder;         /* the job's folder on shared storage (made if missing) */
} NsSlurmJobSpec;

void          ns_slurm_job_spec_clear   (NsSlurmJobSpec *spec);

/* "pending", "running", "completed", "failed", "cancelled", "timeout". */
const char   *ns_slurm_state_name       (NsSlurmState state);
/* TRUE for the states a job does not leave (completed, failed, cancelled, timeout). */
gboolean      ns_slurm_state_is_final   (NsSlurmState state);

/* Whether sbatch is on PATH; FALSE with the reason (owned, nullable) to show. */
gboolean      ns_slurm_is_available     (char **reason);

/* The batch script of spec (owned), or NULL with NS_SLURM_ERROR_INVALID. */
char         *ns_slurm_generate_script  (const NsSlurmJobSpec *spec, GError **error);

/* Makes spec->folder, writes job.sh there and submits it with `sbatch --parsable`.
 * Returns the job id (> 0), 0 on error: NOT_INSTALLED, REJECTED (naming the job and
 * quoting sbatch), IO. */
gint64        ns_slurm_submit           (const NsSlurmJobSpec *spec, GError **error);

/* Where job job_id (whose folder is folder) is now: `scontrol show job`, and once Slurm
 * has forgotten it, `sacct`, then the exit-status file the script leaves.  *reason
 * (owned, nullable) gets Slurm's Reason= (why it waits or why it failed).  FALSE with
 * NOT_INSTALLED, COMMAND or UNKNOWN_JOB. */
gboolean      ns_slurm_query            (gint64 job_id, const char *folder,
                                         NsSlurmState *state, char **reason, GError **error);

/* A job in a final state that is not COMPLETED as NS_SLURM_ERROR_JOB_ENDED, naming the
 * job, the state, the reason and the log to read ("Slurm job 12 (neuroseg-train) ended
 * TIMEOUT: the time limit was reached; see /shared/run/train.log").  TRUE (and no error)
 * for COMPLETED and for a job that has not ended. */
gboolean      ns_slurm_check_ended      (gint64 job_id, const char *name, const char *folder,
                                         NsSlurmState state, const char *reason,
                                         GError **error);

/* `scancel job_id`.  FALSE with NOT_INSTALLED or COMMAND (scancel's message). */
gboolean      ns_slurm_cancel           (gint64 job_id, GError **error);

/* The complete lines of the file path appended since *offset (advanced past the last
 * newline read; a partial last line waits for the next call), as a NULL-terminated
 * array (owned; empty when nothing new or while the file does not exist yet).  NULL with
 * NS_SLURM_ERROR_PROGRESS when the file exists but cannot be read. */
GStrv         ns_slurm_read_new_lines   (const char *path, goffset *offset, GError **error);

G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (NsSlurmJobSpec, ns_slurm_job_spec_clear)

G_END_DECLS
