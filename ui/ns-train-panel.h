/* SPDX-License-Identifier: MIT
 *
 * ns-train-panel.h: Training > Fine-tune…: the panel that runs `neuroseg train
 * --json-progress` as a subprocess (GSubprocess, so that a crash in training cannot take
 * the GUI down), shows
 * progress, ETA and a live cairo plot of the loss and the validation Dice per epoch, and
 * on completion registers the new model version with its provenance (data/ns-registry.h)
 * and, given validation cases, validates it and the current default on them (the panel
 * stays RUNNING meanwhile, its progress text "Validating vN on K cases…").
 * Cancel sends SIGTERM: the trainer stops after its current step.
 *
 * On a Slurm cluster (request->slurm; ns-train-panel-slurm.c) the same train command is
 * submitted with sbatch as `srun neuroseg train …` in a folder on shared storage
 * (data/ns-slurm.h); the panel follows the job (its state every second or so, its
 * progress from the job's progress.jsonl, so the plot, the bar and the job status are those
 * of a local run), Cancel is scancel, and when the job completes the model is registered
 * and validated exactly as after a local run.  The job is recorded in the data folder
 * (slurm-jobs/job-ID.ini beside the database) until its end is recorded, so that a
 * workbench closed meanwhile follows it again when it starts
 * (ns_train_panel_dup_slurm_records(), ns_train_panel_follow_slurm_job()); the run's
 * record (ns-runs.h) is made when the job ends.  A trainer that fails
 * (error event, crash, non-zero exit, no model) leaves the registry's models and the queue
 * as they were; its run is recorded as failed (or cancelled).
 */
#pragma once

#include <gtk/gtk.h>

#include "ns-slurm.h"

G_BEGIN_DECLS

typedef enum
{
  NS_TRAIN_IDLE,
  NS_TRAIN_RUNNING,
  NS_TRAIN_SUCCEEDED,
  NS_TRAIN_FAILED,
  NS_TRAIN_CANCELLED,
} NsTrainState;

/* One fine-tuning job. */
typedef struct
{
  char *base_model;       /* checkpoint to fine-tune from (--init); NULL: from scratch */
  int base_version;       /* its registry version (0: the shipped model) */
  int epochs;             /* > 0 */
  double lr;              /* <= 0: the trainer's default */
  char *device;           /* "auto", "cpu", "cuda" (NULL: auto) */
  char **val_cases;       /* NULL-terminated case folders held out (--val) */
  char **extra_args;      /* NULL-terminated further trainer options (e.g. --max-steps 3) */
  char *output;           /* the new model's file; NULL: models/model-<time>.safetensors
                           * beside the database */
  gboolean accepted_only; /* only the queued cases whose latest correction a second reader
                           * accepted (issue 19); the others are left out, and the run's
                           * record says which and why */
  NsSlurmJobSpec *slurm;  /* NULL: on this computer.  Else a Slurm job (owned, freed by
                           * ns_train_request_clear()): its cluster options (partition,
                           * nodes, tasks and GPUs per node, time limit, memory) and, in
                           * folder, the folder on shared storage under which the job gets
                           * its own (NULL: ns_train_panel_dup_default_slurm_folder());
                           * the panel fills in neuroseg and train_args */
} NsTrainRequest;

void ns_train_request_clear (NsTrainRequest *request);

#define NS_TYPE_TRAIN_PANEL (ns_train_panel_get_type ())

G_DECLARE_FINAL_TYPE (NsTrainPanel, ns_train_panel, NS, TRAIN_PANEL, GtkBox)

/* Signals "progress" (), after each step or epoch the stream reports (the fraction, ETA
 * and text below changed), and "finished" (int state (NsTrainState), int new_version,
 * const char *message). */
GtkWidget   *ns_train_panel_new             (const char *db_path);
/* Starts `neuroseg train --json-progress` (the binary: $NEUROSEG, else /proc/self/exe when
 * that is neuroseg, else neuroseg on PATH) on the queued cases of the database (only the
 * accepted ones with request->accepted_only).  Each case is a folder beside the output of
 * links to its images, checked against the sha256 recorded when it was queued, and of its
 * corrected mask as stored in the database (ns_queue_write_mask(): no shared folder is
 * needed; a case queued before masks were stored links its mask file).  The run's record
 * (ns-runs.h) holds the cases, and its command ends with which cases were chosen and why
 * ("# cases: ..."). */
gboolean     ns_train_panel_start           (NsTrainPanel *self, const NsTrainRequest *request,
                                             GError **error);
/* Lower level (tests, other front ends): runs argv (whose stdout must be the JSON progress
 * stream) as the trainer of a run on case_ids that writes output, fine-tuned from
 * base_version (NS_REGISTRY_NONE: from scratch; 0: the shipped model). */
gboolean     ns_train_panel_start_argv      (NsTrainPanel *self, const char *const *argv,
                                             const char *output, int base_version,
                                             const gint64 *case_ids, guint n_cases,
                                             GError **error);
/* Sends SIGTERM to the trainer (a Slurm job: scancel). */
void         ns_train_panel_cancel          (NsTrainPanel *self);
/* Parses one line of the progress stream and updates the panel (what the subprocess reader
 * calls for each line). FALSE when the line is not a JSON object with an "event". */
gboolean     ns_train_panel_feed_line       (NsTrainPanel *self, const char *line);

NsTrainState ns_train_panel_get_state       (NsTrainPanel *self);
/* The registered version after success, else 0. */
int          ns_train_panel_get_new_version (NsTrainPanel *self);
/* Why it failed or was cancelled; after success, what the validation of the new version
 * found (ns-train-validation.h), or that there were no validation cases (NULL: a trainer
 * started with ns_train_panel_start_argv ()). */
const char  *ns_train_panel_get_message     (NsTrainPanel *self);
/* Events seen so far. */
guint        ns_train_panel_get_n_steps     (NsTrainPanel *self);
/* Per finished epoch: loss and validation Dice WT (NAN without validation). */
guint        ns_train_panel_get_n_epochs    (NsTrainPanel *self);
void         ns_train_panel_get_epoch       (NsTrainPanel *self, guint index, double *loss,
                                             double *dice_wt);
/* The last step: fraction done (0..1) and ETA in seconds (NAN when unknown). */
void         ns_train_panel_get_progress    (NsTrainPanel *self, double *fraction,
                                             double *eta_seconds);
/* "Step 12 of 40, ETA 1:05", what the panel's bar says (owned; NULL before the first
 * step). */
char        *ns_train_panel_dup_progress_text (NsTrainPanel *self);
/* The folder under which Slurm jobs get their folders by default: slurm-jobs beside the
 * database (owned). */
char        *ns_train_panel_dup_default_slurm_folder (const char *db_path);
/* The records of the Slurm jobs of the database at db_path not yet ended (paths, owned;
 * empty when none). */
GStrv        ns_train_panel_dup_slurm_records (const char *db_path);
/* Follows the job of a record (after a restart): the progress so far is read again, then
 * the panel runs as if it had submitted the job.  FALSE when the record cannot be read. */
gboolean     ns_train_panel_follow_slurm_job (NsTrainPanel *self, const char *record,
                                              GError **error);
/* The Slurm job followed (0: a local run) and its folder (NULL: none). */
gint64       ns_train_panel_get_slurm_job_id (NsTrainPanel *self);
const char  *ns_train_panel_get_slurm_folder (NsTrainPanel *self);
/* The panel's status line ("Slurm job 12 (neuroseg-finetune): pending (Resources)"). */
const char  *ns_train_panel_get_status_text (NsTrainPanel *self);
/* The plot area (for screenshot tests). */
GtkWidget   *ns_train_panel_get_plot        (NsTrainPanel *self);

G_END_DECLS
