/* SPDX-License-Identifier: MIT
 *
 * ns-window-private.h: the workbench window's state, shared by the files that make up
 * NsWindow (as GNOME Text Editor splits EditorWindow):
 *
 *   ns-window.c          the GObject, its properties, layout, status bar, opening a
 *                        case's mask and offering recovery;
 *   ns-window-open.c     how a case gets in: the questions first, loading, recent cases;
 *   ns-window-actions.c  one callback per action (win.*, edit.*, view.*, seg.*, train.*),
 *                        which are enabled when, and the one-key shortcuts;
 *   ns-window-questions.c  the window's modal questions (one at a time);
 *   ns-window-save.c     saving the mask, with its questions, as one async operation;
 *   ns-save-changes-dialog.c, ns-history-dialog.c, ns-add-label-dialog.c,
 *   ns-islands-dialog.c  the dialogs, each in its own file (templates in resources/ui);
 *   ns-test-script.c     the NEUROSEG_TEST_SCRIPT interpreter.
 */
#pragma once

#include "ns-ai-controller.h"
#include "ns-history-dialog.h"
#include "ns-job-status.h"
#include "ns-tool-panel.h"
#include "ns-window.h"

G_BEGIN_DECLS

struct _NsWindow
{
  GtkApplicationWindow parent_instance;

  char *layout;
  char *sample_case;
  char *load_error;
  GCancellable *load_cancellable;
  guint pulse_source;

  NsEditor *editor;
  NsAiController *ai;             /* Run Model, the queue, fine-tuning, models */
  GtkWidget *tool_panel;
  GtkWidget *question;            /* the question dialog shown, if any (not owned) */
  GtkWidget *recovery;            /* ... when it is the recovery question */
  NsHistoryDialog *history_dialog;   /* Edit > History while open (not owned) */
  gboolean close_confirmed;

  /* template children */
  NsViewer *viewer;
  GMenu *recent_menu;
  GMenu *modality_menu;
  GtkStack *stack;
  GtkGrid *view_grid;
  NsSliceView *axial_view;
  NsSliceView *sagittal_view;
  NsSliceView *coronal_view;
  GtkScrolledWindow *sidebar_scroller;
  GtkBox *sidebar;
  GtkWidget *sidebar_separator;
  NsLayerPanel *layer_panel;
  NsInfoPane *info_pane;
  GtkLabel *voxel_label;
  GtkLabel *position_label;
  GtkLabel *intensity_label;
  GtkLabel *label_label;
  GtkLabel *message_label;
  GtkProgressBar *progress_bar;
  NsJobStatus *job_status;       /* the AI job, in the status bar */
  GtkWidget *status_heat_legend; /* shown with the uncertainty overlay */
};

/* ---- ns-window.c ---------------------------------------------------------------------- */

/* The status bar's message (on the right). */
void         _ns_window_set_message      (NsWindow *self, const char *message);
/* The plane edits act on: the focused view's, else the axial. */
NsSliceView *_ns_window_active_view      (NsWindow *self);
/* The load of a case ended (ok: it shows): opens its mask, emits "load-finished". */
void         _ns_window_case_loaded      (NsWindow *self, gboolean ok);

/* ---- ns-window-open.c ----------------------------------------------------------------- */

/* File > Open Case Folder… (folder) or Open NIfTI Files…. */
void         _ns_window_run_open_chooser (NsWindow *self, gboolean folder);
void         _ns_window_rebuild_recent_menu (NsWindow *self);
/* A GtkDropTarget's "drop" of files onto the window: opens them. */
gboolean     _ns_window_drop_cb          (NsWindow *self, const GValue *value, double x,
                                          double y, GtkDropTarget *target);

/* ---- ns-window-questions.c ------------------------------------------------------------ */

/* A modal error dialog: primary names what failed, secondary the reason. */
void         _ns_window_show_error       (NsWindow *self, const char *primary,
                                          const char *secondary);
/* A modal question with buttons (label, response, ..., NULL), shown as the window's
 * question (ns_window_get_question()); response_cb (dialog, response, self) must destroy
 * it (_ns_window_dismiss()). */
GtkWidget   *_ns_window_ask              (NsWindow *self, const char *primary,
                                          const char *secondary, GCallback response_cb,
                                          ...) G_GNUC_NULL_TERMINATED;
/* The same for a question that is one step of an async operation: response_cb (dialog,
 * response, task) must destroy the dialog and return the task or hand it on; a dialog
 * destroyed unanswered (the window closed under it) returns the task as cancelled. */
GtkWidget   *_ns_window_ask_for_task     (NsWindow *self, GTask *task, const char *primary,
                                          const char *secondary,
                                          void (*response_cb) (GtkDialog *dialog,
                                                               int response, GTask *task),
                                          ...) G_GNUC_NULL_TERMINATED;
/* Connects response_cb (native, response, task) to a file chooser that is one step of
 * task, with the same rule. */
void         _ns_window_connect_chooser_to_task (GtkNativeDialog *native, GTask *task,
                                                 void (*response_cb) (GtkNativeDialog *native,
                                                                      int response,
                                                                      GTask *task));
/* Returns task as cancelled by the user. */
void         _ns_window_return_cancelled (GTask *task);
/* Shows dialog (modal, transient for the window) as the window's question. */
void         _ns_window_present_question (NsWindow *self, GtkWidget *dialog);
/* Destroys a dialog from its response handler.  The emission holds the dialog until it
 * returns; its parent goes first, since the handler may close (and free) the window. */
void         _ns_window_dismiss          (gpointer dialog);

/* ---- ns-window-actions.c -------------------------------------------------------------- */

/* Installs every action of the window class. */
void         _ns_window_class_init_actions (GtkWidgetClass *widget_class);
/* Enables the actions that need a case, a mask, a history step... as things are now. */
void         _ns_window_update_actions   (NsWindow *self);
/* The editor's one-key shortcuts (1-4, B, E, F, N, [, ]), bubble phase. */
GtkEventController *_ns_window_key_shortcuts_new (void);

/* ---- ns-window-save.c ----------------------------------------------------------------- */

typedef enum
{
  NS_WINDOW_SAVE,                 /* to the mask's file (asking over the case's seg) */
  NS_WINDOW_SAVE_AS,              /* to a file the user chooses */
} NsWindowSaveMode;

/* Saves the mask being edited, asking what a person must decide (overwrite the case's
 * segmentation, a file changed on disk, where to Save As); finishes TRUE once saved,
 * FALSE with G_IO_ERROR_CANCELLED when the user cancelled, or with the reason the save
 * failed (already shown to the user). */
void         _ns_window_save_mask_async  (NsWindow *self, NsWindowSaveMode mode,
                                          GCancellable *cancellable,
                                          GAsyncReadyCallback callback, gpointer user_data);
gboolean     _ns_window_save_mask_finish (NsWindow *self, GAsyncResult *result,
                                          GError **error);

G_END_DECLS
