/* SPDX-License-Identifier: MIT
 *
 * ns-model-runner.h: Segmentation > Run Model.  Runs net/ns-infer.h on the viewer's case
 * in a worker thread (GTask, cancellable) on ns_backend_new ("auto") (the GPU when there is
 * one, else the CPU), reports progress in the main loop, and applies the prediction to
 * the mask being edited as ONE undo entry (ns_mask_doc_replace), either replacing the mask
 * or filling only the unlabelled voxels.  Optionally computes the per-voxel entropy of the
 * softmax (an uncertainty map, natural log normalised to [0, 1] by log(n_classes)) and one
 * uncertainty score per case: the mean normalised entropy over the voxels predicted as
 * tumour (over the brain when none is).
 *
 * Only the main loop touches widgets and the viewer: the worker queues its progress and
 * slices as idle sources on the context the run was started from (never runs them itself).
 *
 * Each successful run keeps its prediction in the user's data folder at once
 * (ns-corrections.h).  Mark Corrected and Queue (ns_model_runner_mark_corrected()) saves
 * the edited mask there with the prediction it was corrected from, and adds the case to
 * the fine-tuning queue (data/ns-queue.h) with effort (WT Dice prediction vs. corrected
 * mask) and uncertainty.
 */
#pragma once

#include <gtk/gtk.h>

#include "ns-editor.h"
#include "ns-queue.h"
#include "ns-viewer.h"

G_BEGIN_DECLS

typedef enum
{
  NS_RUN_MODEL_REPLACE,          /* the prediction replaces the whole mask */
  NS_RUN_MODEL_FILL_UNLABELLED,  /* only voxels labelled 0 take the prediction */
} NsRunModelMode;

#define NS_TYPE_MODEL_RUNNER (ns_model_runner_get_type ())

G_DECLARE_FINAL_TYPE (NsModelRunner, ns_model_runner, NS, MODEL_RUNNER, GObject)

/* Signals: "progress" (int done, int total), in the main loop after each batch;
 * "preview-updated" (const int *slices, int n_slices), just before it: those axial slices
 * of the preview now show the prediction; "finished" (gboolean ok, const char *message):
 * message is the error ("cancelled" wording when cancelled); on success NULL, or a note
 * the user should see (the GPU ran out of memory and the run finished on the CPU).
 *
 * While a run goes, the viewer draws its preview (ns_viewer_set_preview_labels()): the
 * mask at the start, with the slices predicted so far as the run's mode puts them.  The
 * preview goes when the run finishes, fails, is cancelled or the case changes; a
 * successful run then hands its entropy map (or none) to the viewer's heat overlay
 * (ns_viewer_set_heat()). */
NsModelRunner *ns_model_runner_new            (NsViewer *viewer);
/* The editor whose document receives the prediction (nullable: the prediction then
 * replaces the viewer's label map without undo). */
void           ns_model_runner_set_editor     (NsModelRunner *self, NsEditor *editor);
/* The model file and its registry version (0: the shipped model; NS_REGISTRY_NONE: a file
 * that is not registered). */
void           ns_model_runner_set_model      (NsModelRunner *self, const char *path,
                                               int version);
const char    *ns_model_runner_get_model_path (NsModelRunner *self);
int            ns_model_runner_get_model_version (NsModelRunner *self);
/* The model to use when none was chosen: ns_registry_dup_default_model() (db_path NULL:
 * the default database), the one rule shared with the command line: the registry's
 * promoted default, else the shipped model (version 0), found from the program's
 * location.  NULL + error when the promoted default's file is missing or changed since it
 * was registered (it is never replaced silently) or when there is no shipped model;
 * *version receives the registry version (0: the shipped model). */
char          *ns_model_runner_find_default_model (const char *db_path, int *version,
                                                   GError **error);
/* A human-readable card of a checkpoint's metadata (name, arch, inputs, classes, parent,
 * cases, epochs, metrics, date, command). */
char          *ns_model_runner_describe_model (const char *path, GError **error);
/* "auto" (default), "cpu", "ref", "cuda". */
void           ns_model_runner_set_device     (NsModelRunner *self, const char *device);
/* Options of the next run.  max_batch 0: the engine's budget decides. */
void           ns_model_runner_set_max_batch  (NsModelRunner *self, int max_batch);
/* Device memory the run may use, in bytes (0: what the device has free). */
void           ns_model_runner_set_memory_limit (NsModelRunner *self, gsize bytes);

/* Whether the next run can start on the viewer's case, checked before anything is asked
 * or started: the model chosen (else the default one, which becomes the chosen one) is
 * readable and the case holds every modality it needs.  FALSE + error naming the model
 * file, or the missing modalities and those the case has. */
gboolean       ns_model_runner_check          (NsModelRunner *self, GError **error);
/* Starts a run on the viewer's case; FALSE + error when no case, no model at all, or
 * busy (a model that cannot be read, or that the case cannot feed, fails the run:
 * "finished" with the error check () gives).  The model run is the chosen one, or, when
 * the case cannot feed the default model, the newest registered model it can feed (the
 * "finished" note says so). */
gboolean       ns_model_runner_start          (NsModelRunner *self, NsRunModelMode mode,
                                               gboolean want_uncertainty, GError **error);
void           ns_model_runner_cancel         (NsModelRunner *self);
gboolean       ns_model_runner_is_running     (NsModelRunner *self);
void           ns_model_runner_get_progress   (NsModelRunner *self, int *done, int *total);
/* The preview while a run goes (borrowed; NULL when idle). */
NsLabelMap    *ns_model_runner_get_preview    (NsModelRunner *self);
/* The last prediction (borrowed; NULL before the first successful run). */
NsLabelMap    *ns_model_runner_get_prediction (NsModelRunner *self);
/* The last entropy map (borrowed; NULL unless asked for). */
NsVolume      *ns_model_runner_get_entropy    (NsModelRunner *self);
/* The last case's uncertainty score (NAN when unknown). */
double         ns_model_runner_get_uncertainty (NsModelRunner *self);
/* Seconds the last run took in the worker (load + inference + entropy). */
double         ns_model_runner_get_seconds    (NsModelRunner *self);
/* Seconds the main loop spent applying the last prediction (history, volumes). */
double         ns_model_runner_get_apply_seconds (NsModelRunner *self);

/* Mark Corrected and Queue: saves the editor's mask (atomic) into the case's corrections
 * folder (ns-corrections.h; an earlier correction there is moved aside, never lost), with
 * a copy of the case's latest kept prediction beside it, and adds the case to the queue
 * at db_path (NULL: the default database) with effort, the prediction's model version
 * and its uncertainty.  Returns the queue's case id, 0 on error. */
gint64         ns_model_runner_mark_corrected (NsModelRunner *self, NsEditor *editor,
                                               const char *db_path, GError **error);
/* The same for the GUI: the mask is saved (and the prediction copied) at once, on the
 * calling thread; the queue's write, which a busy database or a server that is away keeps
 * retrying for up to NS_DB_RETRY_WINDOW_MS, runs in a worker and callback gets the result
 * on the caller's main context (_finish: the queue's case id, 0 + error). */
void           ns_model_runner_mark_corrected_async  (NsModelRunner *self, NsEditor *editor,
                                                      const char *db_path,
                                                      GCancellable *cancellable,
                                                      GAsyncReadyCallback callback,
                                                      gpointer user_data);
gint64         ns_model_runner_mark_corrected_finish (NsModelRunner *self,
                                                      GAsyncResult *result, GError **error);
/* The token of one's claim on the open case (ns-queue-session.h) that Mark Corrected
 * presents with the correction (NULL: none). */
void           ns_model_runner_set_claim_token (NsModelRunner *self, const char *token);

G_END_DECLS
