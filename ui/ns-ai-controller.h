/* SPDX-License-Identifier: MIT
 *
 * ns-ai-controller.h: the AI loop's actions of one workbench window, so that the window
 * only forwards them (one function per action): seg.run-model (asks Replace mask / Fill
 * only unlabelled voxels when
 * the mask has labels; a progress window with Cancel), seg.mark-corrected (Mark Corrected
 * and Queue), seg.choose-model (the registry's versions, the bundled models or a file;
 * the chosen model's card), seg.show-uncertainty (the entropy heat map of the last run),
 * train.queue (the queue panel; opening a case opens it in the
 * window), train.fine-tune (the Fine-tune… dialog) and train.models (the models dialog).
 */
#pragma once

#include <gtk/gtk.h>

#include "ns-editor.h"
#include "ns-model-runner.h"
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
void            ns_ai_controller_mark_corrected   (NsAiController *self);
void            ns_ai_controller_choose_model     (NsAiController *self);
void            ns_ai_controller_show_uncertainty (NsAiController *self);
void            ns_ai_controller_show_queue       (NsAiController *self);
void            ns_ai_controller_fine_tune        (NsAiController *self);
void            ns_ai_controller_show_models      (NsAiController *self);
NsModelRunner  *ns_ai_controller_get_runner (NsAiController *self);
/* A sidebar panel: Run Model, Model… and Mark Corrected buttons, the run's progress bar
 * with Cancel, and the last run's time and uncertainty.  Once created, Run Model shows
 * its progress there instead of in a window of its own. */
GtkWidget      *ns_ai_controller_create_panel (NsAiController *self);
/* Whether the action can run now (a case is open, ...). */
gboolean        ns_ai_controller_is_enabled (NsAiController *self, const char *action_name);

G_END_DECLS
