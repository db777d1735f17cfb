/* SPDX-License-Identifier: MIT
 *
 * ns-train-panel-private.h: what ns-train-panel.c (a run on this computer) and
 * ns-train-panel-slurm.c (a run on a Slurm cluster) share: the panel's fields and the end
 * of a run, which registers the model the same way whichever ran it.
 */
#pragma once

#include <json-glib/json-glib.h>

#include "ns-slurm.h"
#include "ns-train-panel.h"

G_BEGIN_DECLS

struct _NsTrainPanel
{
  GtkBox parent_instance;

  GtkWidget *status;        /* label */
  GtkWidget *bar;
  GtkWidget *plot;
  GtkWidget *cancel;

  char *db_path;
  NsTrainState state;
  char *message;
  int new_version;

  /* the run */
  GSubprocess *proc;
  GDataInputStream *out;
  GCancellable *cancellable;
  gint64 run_id;
  char *output;
  char *command;
  char *selection;          /* which cases the next run trains on and why (set by _start) */
  int base_version;
  guint n_cases;
  char **val_cases;
  char *device;             /* the run's --device, for the validation after it */
  char *exe;                /* the neuroseg binary (NULL: a trainer given by argv) */
  char *phase_text;         /* "Validating v3 on 1 case…" after training, else NULL */
  gboolean cancel_requested;

  /* what the stream said */
  guint n_steps;
  GArray *step_x;           /* double: step */
  GArray *step_loss;        /* double */
  GArray *epoch_x;          /* double: step at the end of the epoch */
  GArray *epoch_loss;
  GArray *epoch_dice;
  gint64 total_steps;
  double fraction, eta;
  JsonObject *done;         /* the "done" event */
  char *error_event;        /* the "error" event's message */

  /* a run on a Slurm cluster (ns-train-panel-slurm.c); job_id 0: a local run */
  gint64 job_id;
  char *job_name;
  char *job_folder;         /* on shared storage: job.sh, progress.jsonl, train.log ... */
  char *job_record;         /* the record that lets a restarted workbench follow it */
  NsSlurmState job_state;
  char *job_reason;         /* Slurm's Reason= (why it waits, why it failed) */
  char *job_problem;        /* the last failure to ask Slurm or to read the progress */
  GArray *job_cases;        /* gint64: the queued cases it trains on */
  goffset progress_offset;  /* bytes of progress.jsonl fed so far */
  guint progress_lines;
  char *bad_line;           /* the first progress line that was not an event */
  guint poll_source;
  GCancellable *poll_cancellable;
  gboolean polling;         /* a query in flight */
};

/* Clears what the previous run said, sets the output, the command (ending with which
 * cases were chosen and why), the base and the number of cases. */
void     _ns_train_panel_begin          (NsTrainPanel *self, const char *const *argv,
                                         const char *output, int base_version,
                                         guint n_cases);
/* The bar, the text and the plot after an event; emits "progress". */
void     _ns_train_panel_update_labels  (NsTrainPanel *self);
/* The end of a run: registers the model (SUCCEEDED) or records the run as failed or
 * cancelled, then validates or completes. */
void     _ns_train_panel_finish         (NsTrainPanel *self, NsTrainState state,
                                         const char *message);
/* Submits argv (argv[0] the neuroseg binary, argv[1] "train") as a Slurm job with the
 * cluster options of options into folder, records it, and follows it. */
gboolean _ns_train_panel_start_slurm    (NsTrainPanel *self, const NsSlurmJobSpec *options,
                                         const char *const *argv, const char *output,
                                         const char *folder, int base_version,
                                         const gint64 *case_ids, guint n_cases,
                                         GError **error);
/* What the panel's bar says about a job with no step yet (owned; NULL: not a job). */
char    *_ns_train_panel_dup_slurm_text (NsTrainPanel *self);
/* Stops following (the job goes on) and frees the job's fields. */
void     _ns_train_panel_clear_slurm    (NsTrainPanel *self);
/* Stops following a job that goes on (its record stays): the panel is IDLE again. */
void     _ns_train_panel_stop_following (NsTrainPanel *self);
/* Asks scancel to end the job. */
void     _ns_train_panel_cancel_slurm   (NsTrainPanel *self);

G_END_DECLS
