/* SPDX-License-Identifier: MIT
 *
 * ns-ai-controller.h: the AI loop's actions of one workbench window, so that the window
 * only forwards them (one function per action): Run Model (checks the model and the
 * case's modalities first, then asks Replace Mask / Fill Only Unlabelled Voxels when the
 * mask has labels), Mark Corrected and Queue, the model choice (the registry's versions,
 * the bundled models or a file, with the chosen model's card), Show Uncertainty, the
 * queue window (opening a case opens it in the window), Fine-tune… and Models….
 *
 * It also keeps the AI job the window shows (NsJobStatus in the status bar and the
 * sidebar): Run Model while it runs, else the last fine-tuning run started; properties
 * "job-text" (NULL: none), "job-fraction" (0..1), and signal "job-finished" (const char
 * *message) when a job ends.
 */
#pragma once

#include <gtk/gtk.h>

#include "ns-editor.h"
#include "ns-model-runner.h"
#include "ns-train-panel.h"
#include "ns-viewer.h"

G_BEGIN_DECLS

#define NS_TYPE_AI_CONTROLLER (ns_ai_controller_get_type ())

G_DECLARE_FINAL_TYPE (NsAiController, ns_ai_controller, NS, AI_CONTROLLER, GObject)

/* window: the workbench (borrowed; the controller is owned by it).  open_case is called
 * with a case folder when the queue panel opens one. */
NsAiController *ns_ai_controller_new      (GtkWindow *window, NsViewer *viewer,
                                           NsEditor *editor,
                                           void (*open_case) (GtkWindow *window,
                                                              const char *path));
/* The actions (one function each; the window's seg.* and train.* actions call them). */
void            ns_ai_controller_run_model        (NsAiController *self);
/* Mark Corrected and Queue: the mask saved at once, the queue written in a worker (the
 * main loop runs on while a busy database or an absent server is retried); then the queue
 * window, or the error.  ns_ai_controller_is_queueing() while the worker runs. */
void            ns_ai_controller_mark_corrected   (NsAiController *self);
gboolean        ns_ai_controller_is_queueing      (NsAiController *self);
void            ns_ai_controller_choose_model     (NsAiController *self);
void            ns_ai_controller_show_uncertainty (NsAiController *self);
void            ns_ai_controller_show_queue       (NsAiController *self);
/* The case opened read-only from the queue (a colleague holds it) is taken over: claimed
 * (recorded, with a note), the editor editable again; a refusal is shown. */
void            ns_ai_controller_take_over        (NsAiController *self);
void            ns_ai_controller_fine_tune        (NsAiController *self);
void            ns_ai_controller_show_models      (NsAiController *self);
NsModelRunner  *ns_ai_controller_get_runner (NsAiController *self);
/* A sidebar panel: Run Model, Model… and Mark Corrected buttons, the job's progress
 * with Cancel, and the last run's time and uncertainty.  Once created, Run Model shows
 * its progress there (and in the window's status bar) instead of in a window of its
 * own. */
GtkWidget      *ns_ai_controller_create_panel (NsAiController *self);
const char     *ns_ai_controller_get_job_text     (NsAiController *self);
double          ns_ai_controller_get_job_fraction (NsAiController *self);
/* Cancels the job shown. */
void            ns_ai_controller_cancel_job       (NsAiController *self);
/* Follows a fine-tuning run started elsewhere (Fine-tune… does it itself). */
void            ns_ai_controller_follow_training  (NsAiController *self, NsTrainPanel *panel);
/* Whether the action can run now (a case is open, ...). */
gboolean        ns_ai_controller_is_enabled (NsAiController *self, const char *action_name);

G_END_DECLS
