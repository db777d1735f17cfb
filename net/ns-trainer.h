/* SPDX-License-Identifier: MIT
 *
 * ns-trainer.h: training a segmentation model on a list of cases (the paper's recipe).
 *
 * Loss: softmax + soft-Dice + cross-entropy (ns_softmax_dice_ce_forward).  Optimiser:
 * Adam (lr 1e-4, betas 0.9 / 0.999, eps 1e-8; decoupled weight decay when > 0), with a
 * constant, cosine (to 0 over the whole budget) or step (x gamma every step_epochs)
 * learning-rate schedule.  An epoch is steps_per_epoch optimiser steps (default: as many
 * batches as it takes to see each tumour slice about once with the 2:1 sampling); after
 * each epoch the held-out cases are segmented whole by the inference engine and their
 * Dice of WT, TC and ET averaged; the model with the best mean of the three is written
 * to `output`, and training stops after `patience` epochs without improvement.
 *
 * Files, for output X.safetensors:
 *   X.safetensors             the best model (or the last one without validation cases),
 *                             in `dtype` (F32 by default; BF16 for shipped models);
 *   X.last.safetensors        the model after the last finished step, always F32;
 *   X.last.safetensors.state  everything a resume needs, in one file: the model's tensors
 *                             (F32, as in a checkpoint), Adam's m and v ("adam.m",
 *                             "adam.v"), and in __metadata__ the step, epoch, seed, best
 *                             score, epochs without improvement, seconds so far and the
 *                             options of the run (JSON).
 *   (all three written at the end of every epoch and when stopped, in that order, each
 *   atomically through X...partial; the run removes the .partial files a killed run left,
 *   and the .XXXXXX temporary file of a version-1 state that older builds could leave.)
 * The state file is itself a safetensors file, so Python can read it.
 *
 * Resume: ns_trainer_run() with options->resume = X.last.safetensors reloads the
 * parameters, batch-norm statistics, m, v and the counters from X.last.safetensors.state
 * alone, and the batches continue at the same index: since every batch is a function of
 * (seed, step) (ns-dataset.h) and the model's ops are deterministic, the resumed run
 * computes bit for bit what the uninterrupted run computes, also after a crash at any
 * moment of a save (the state, written last, always holds one step's model and
 * optimiser; what was written before it is written again, identically).  The options
 * that shape the run (cases, arch, seed, batch, crop, schedule, ...) must be the ones of
 * the interrupted run: ns_trainer_options_load_state() reads them back from the state.
 *
 * Errors: every step ends with ns_backend_check(); a failing op of the device ends the
 * run with its error ("training step N: ...") before anything of that step is saved.
 *
 * Data parallel: with `comm` (ns-train-comm.h: N processes, e.g. `mpirun -np N neuroseg
 * train`) and/or `shards` S > 1, the global batch of batch_size B (the same batches as one
 * process reads: a function of (seed, step)) is cut into S equal shards of B / S
 * consecutive items; process r computes shards r S/N .. (r + 1) S/N - 1, i.e. the
 * contiguous slice r B/N .. (r + 1) B/N - 1 of the batch (every process makes the whole
 * batch and keeps its slice).  Each shard runs forward and backward on its own: its
 * batch-norm statistics and its loss (soft Dice included) are over its B / S items, as in
 * PyTorch's DistributedDataParallel.  The gradients of the shards are summed on the host,
 * over the processes with one sum_floats of the flat gradient buffer (with the batch-norm
 * running statistics appended), and divided by S: the mean gradient of the S shards, which
 * Adam applies identically on every process.  The running statistics become the mean of
 * the S updates each shard makes from the same starting value; the loss of a step is the
 * mean of the S shard losses.  So the result depends on S, never on N: a run of S shards
 * on 1, 2 or S processes computes the same steps (up to the order of float sums), and
 * S = 1 in one process is the plain run, bit for bit.  S must divide B and N must divide
 * S (S = N by default in the CLI); S is recorded in the state, so --resume continues with
 * any N that divides it.  Rank 0 alone validates, writes the files and calls `progress`;
 * every process stops at the same step (the stop flags are summed at each step's
 * agreement, so a flag set by the progress callback of step k stops after step k + 1).
 * A failure of any process (a case, the device, a save) ends the run on all of them at
 * the next agreement point (after set-up, every step, every epoch's end):
 * result->peer_failed tells the processes whose error is not the one to report.
 *
 * Threads: ns_trainer_run() runs in the caller's thread; the dataset's workers prepare
 * batches in the background.  `stop` (nullable) is polled after every step: setting it
 * (g_atomic_int_set, e.g. from a signal handler) ends the run after the current step,
 * with the last checkpoint and state written, and result->stopped set.
 */
#pragma once

#include <glib.h>

#include "ns-backend.h"
#include "ns-checkpoint.h"
#include "ns-dataset.h"
#include "ns-model.h"
#include "ns-train-comm.h"

G_BEGIN_DECLS

typedef enum
{
  NS_SCHEDULE_NONE,
  NS_SCHEDULE_COSINE,
  NS_SCHEDULE_STEP,
} NsSchedule;

typedef enum
{
  NS_TRAIN_EVENT_STEP,
  NS_TRAIN_EVENT_EPOCH,
} NsTrainEventKind;

typedef struct
{
  NsTrainEventKind kind;
  int epoch;                     /* 1-based epoch the step belongs to / that ended */
  int epochs;                    /* the planned number of epochs */
  gint64 step;                   /* optimiser steps done so far */
  gint64 total_steps;            /* the planned number of steps */
  int steps_per_epoch;
  double loss;                   /* STEP: this step's loss; EPOCH: mean over the epoch */
  double lr;
  double seconds;                /* training time so far (all sessions of a resumed run) */
  double eta_seconds;            /* estimate for the rest of the planned steps */
  double slices_per_second;      /* of this session */
  /* EPOCH only */
  gboolean has_validation;
  double dice[3];                /* WT, TC, ET, mean over the validation cases */
  double score;                  /* mean of the three */
  gboolean is_best;
  double validation_seconds;
  double loader_wait_seconds;    /* time the optimiser waited for batches, this session */
} NsTrainEvent;

typedef void (*NsTrainProgressFunc) (const NsTrainEvent *event, gpointer user_data);

typedef struct
{
  /* data */
  char **train_cases;            /* NULL-terminated case folders / files */
  char **val_cases;              /* nullable: no validation (best = last) */
  /* model */
  char *arch;                    /* "mobilenetv2-unet" (default) or "unet" */
  char *init;                    /* "none" (paper: N(0, 0.01)), "imagenet", a .tflite
                                    MobileNetV2 or a checkpoint to fine-tune */
  char *imagenet_path;           /* where "imagenet" looks; NULL: the shared TFLite */
  NsInitKind weights_init;       /* the layers init does not set (all of them for "none",
                                    the decoder and head for "imagenet"): NS_INIT_NORMAL is
                                    the paper's N(0, 0.01) (default), NS_INIT_KAIMING */
  char **modalities;             /* NULL-terminated inputs (ns_modality_name); NULL: FLAIR,
                                    T1c.  Ignored when init is a checkpoint (its own) */
  gboolean regions;              /* region targets (nnU-Net's BraTS regions WT, TC, ET,
                                    sigmoid + BCE + Dice) instead of softmax classes */
  int context;                   /* 2.5-D: neighbouring axial slices on each side */
  gboolean interactive;          /* an interactive correction model (ns-interact.h) trained
                                    with simulated clicks (ns-interact-train.c) on the
                                    segmentation batches; warm-started from a segmentation
                                    checkpoint `init` (extra input channels 0); no
                                    validation cases (interact-eval scores it) */
  char *interactive_starts;      /* interactive: nullable folder holding each training case's
                                    automatic prediction as <case id>.nii.gz (made by a
                                    model that did not train on it): half the items start
                                    from it (ns_dataset_set_starts, ns-interact-train.c) */
  char *normalisation;           /* NULL: zscore-brain; or zscore-brain-clip */
  NsPostprocessParams postprocess; /* recorded in the model's metadata, applied by
                                    inference (chosen beforehand on training folds) */
  char *device;                  /* backend: "auto", "cpu", "ref", "cuda" */
  gboolean bf16;                 /* bf16 activations where the backend supports them */
  /* optimisation */
  int epochs;                    /* 100 */
  int batch_size;                /* 8 */
  double lr;                     /* 1e-4 */
  double weight_decay;           /* 0 */
  NsSchedule schedule;           /* none */
  int step_epochs;               /* step schedule: every 30 epochs */
  double step_gamma;             /* step schedule: x 0.1 */
  int steps_per_epoch;           /* 0: automatic */
  gint64 max_steps;              /* 0: epochs x steps_per_epoch */
  int patience;                  /* epochs without improvement before stopping; 0: never */
  guint64 seed;
  NsDatasetOptions data;         /* crop, tumour ratio, augmentation (its seed is ignored:
                                    `seed` is used) */
  int n_workers;                 /* batch threads; 0: automatic */
  int shards;                    /* data parallel (above): the batch in S shards; 0, 1: one */
  NsTrainComm *comm;             /* nullable: this process alone; borrowed, not recorded */
  /* output */
  char *output;                  /* X.safetensors */
  NsDType dtype;                 /* of the best model: F32 (default), BF16, F16 */
  char *resume;                  /* X.last.safetensors of an interrupted run, or NULL */
  char *command_line;            /* recorded in the checkpoints (a resumed run records the
                                    first command and each --resume, joined by " && ") */
  /* run control */
  NsTrainProgressFunc progress;  /* nullable; called in the caller's thread */
  gpointer progress_data;
  gint *stop;                    /* nullable; polled after every step */
  int progress_every;            /* STEP events every n steps (default 1) */
} NsTrainerOptions;

typedef struct
{
  gboolean stopped;              /* by the stop flag */
  gboolean early_stopped;        /* by the patience */
  gint64 steps;
  int epochs_done;
  double seconds;
  double best_score;             /* NAN without validation */
  double best_dice[3];
  int best_epoch;
  double last_loss;
  char *best_path;               /* owned */
  char *last_path;               /* owned */
  char *device;                  /* the backend's device description (owned) */
  gboolean peer_failed;          /* with FALSE + error: another process failed first and
                                    reports it; this process's error is not to be printed */
} NsTrainerResult;

/* The defaults above. */
void     ns_trainer_options_init       (NsTrainerOptions *options);
/* Frees the strings and arrays of options (not options itself). */
void     ns_trainer_options_clear      (NsTrainerOptions *options);
void     ns_trainer_result_clear       (NsTrainerResult *result);

/* "X.last.safetensors" for output "X.safetensors" (owned). */
char    *ns_trainer_last_path          (const char *output);
/* "<last>.state" (owned). */
char    *ns_trainer_state_path         (const char *last_checkpoint);

/* Reads the options of the run that wrote last_checkpoint's state file into options
 * (replacing cases, arch, init, seed, batch, lr, schedule, crop, ...), and sets
 * options->resume to last_checkpoint.  Errors name the file. */
gboolean ns_trainer_options_load_state (NsTrainerOptions *options, const char *last_checkpoint,
                                        GError **error);

/* Trains (see above).  FALSE + error on bad options (naming what is wrong), unreadable
 * cases, a state that does not fit, memory; a stop request is not an error. */
gboolean ns_trainer_run                (const NsTrainerOptions *options, NsTrainerResult *result,
                                        GError **error);

/* The learning rate at step (0-based) of total_steps. */
double   ns_trainer_lr_at              (const NsTrainerOptions *options, gint64 step,
                                        gint64 total_steps, int steps_per_epoch);

/* Seconds per optimiser step and per prepared batch for benchmarks: `steps` steps of
 * batch_size on dataset with a fresh model of arch on backend (after one warm-up step),
 * and the time one thread takes to make a batch. */
gboolean ns_trainer_bench              (NsBackend *backend, const char *arch, NsDataset *dataset,
                                        int batch_size, int steps, double *step_seconds,
                                        double *batch_seconds, GError **error);

G_END_DECLS
