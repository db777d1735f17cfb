/* SPDX-License-Identifier: MIT
 *
 * ns-trainer-private.h: what ns-trainer.c (the run) and ns-trainer-state.c (the resume
 * state and the options it records) share.
 */
#pragma once

#include "ns-trainer.h"

G_BEGIN_DECLS

/* The counters of a run, saved with the model and the optimiser. */
typedef struct
{
  gint64 step;
  int epochs_done;
  double best_score;           /* -1 before the first validation */
  double best_dice[3];
  int best_epoch;
  int bad_epochs;
  double seconds;
  double epoch_loss_sum;       /* the loss of the epoch in progress, for its mean */
  gint64 epoch_loss_n;
} NsTrainState;

/* The state file (ns-trainer.h): the model's tensors, Adam's m and v and the counters in
 * one file, written atomically (ns-safetensors-private.h), so that a resume never mixes
 * a model of one step with moments of another.  parent may be NULL. */
gboolean _ns_trainer_state_save (const char *path, const NsTrainerOptions *options,
                                 const NsTrainState *state, const char *parent,
                                 NsModel *model, NsTensor *m, NsTensor *v, GError **error);
/* Reads the model's tensors into model, the moments into m and v and the counters into
 * state; the run's seed must be the one the state was made with.  *parent (owned) gets
 * what the model was fine-tuned from, or NULL. */
gboolean _ns_trainer_state_load (const char *path, guint64 seed, NsTrainState *state,
                                 char **parent, NsModel *model, NsTensor *m, NsTensor *v,
                                 GError **error);
/* Whether path holds (at least the header of) a version-1 state, which this build
 * refuses: what an older build left as a temporary file when it was killed. */
gboolean _ns_trainer_state_is_version_1 (const char *path);
/* The options recorded in the state file (JSON text, owned). */
char    *_ns_trainer_state_dup_options (const char *path, GError **error);

/* "none", "cosine", "step". */
const char *_ns_trainer_schedule_name  (NsSchedule schedule);
char    *_ns_trainer_options_to_json   (const NsTrainerOptions *options);
gboolean _ns_trainer_options_from_json (NsTrainerOptions *options, const char *text,
                                        const char *path, GError **error);

G_END_DECLS
