/* SPDX-License-Identifier: MIT
 *
 * ns-window-private.h: the workbench window's state, shared by the files that make up
 * NsWindow (as GNOME Text Editor splits EditorWindow):
 *
 *   ns-window.c          the GObject, its properties, status bar, opening a case's mask
 *                        and offering recovery;
 *   ns-window-layout.c   the layouts of the view grid, the side-by-side sequence views;
 *   ns-window-open.c     how a case gets in: the questions first, loading, recent cases;
 *   ns-window-actions.c  one callback per action (win.*, edit.*, view.*, seg.*, train.*),
 *                        which are enabled when, and the one-key shortcuts;
 *   ns-window-questions.c  the window's modal questions (one at a time);
 *   ns-window-save.c     saving the mask, with its questions, as one async operation;
 *   ns-window-infobar.c  the infobars: edits no longer protected (the journal failed),
 *                        the case's notes, the last run's note;
 *   ns-window-dicom.c    a DICOM study: which series is which sequence, DICOM-SEG export;
 *   ns-save-changes-dialog.c, ns-history-dialog.c, ns-add-label-dialog.c,
 *   ns-islands-dialog.c  the dialogs, each in its own file (templates in resources/ui);
 *   ns-test-script.c     the NEUROSEG_TEST_SCRIPT interpreter.
 */
#pragma once

#include "ns-ai-controller.h"
#include "ns-history-dialog.h"
#include "ns-job-status.h"
#include "ns-refine-panel.h"
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
  NsRefine *refine;              /* the Refine tool (ns-refine.h) */
  NsAiController *ai;             /* Run Model, the queue, fine-tuning, models */
  GtkWidget *tool_panel;
  GtkWidget *question;            /* the question dialog shown, if any (not owned) */
  GtkWidget *recovery;            /* ... when it is the recovery question */
  NsHistoryDialog *history_dialog;   /* Edit > History while open (not owned) */
  gboolean close_confirmed;
  gboolean case_is_dicom;         /* the case shown was read from a DICOM study */
  NsSliceView *compare_views[NS_WINDOW_N_COMPARE];   /* the side-by-side sequences */
  NsPlane compare_plane;          /* their plane */
  gboolean linking_views;         /* copying one compare view's zoom and pan to the others */
  GtkWidget *fourth_pane;         /* the grid's fourth cell (the 3D view) */
  GtkWidget *view3d;              /* NsView3d */

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
  GtkInfoBar *journal_bar;       /* the journal failed: edits are no longer protected */
  GtkLabel *journal_label;
  GtkInfoBar *case_note_bar;     /* what loading the case changed (resampling) */
  GtkLabel *case_note_label;
  GtkInfoBar *run_note_bar;      /* what the last run had to do differently */
  GtkLabel *run_note_label;
  GtkInfoBar *read_only_bar;     /* the case is read-only (a colleague holds it): Take Over */
  GtkLabel *read_only_label;
  GtkInfoBar *labels_bar;        /* the case's labels could not be read again */
  GtkLabel *labels_label;
};

/* ---- ns-window.c ---------------------------------------------------------------------- */

/* The status bar's message (on the right). */
void         _ns_window_set_message      (NsWindow *self, const char *message);
/* The plane edits act on: the focused view's, else the axial. */
NsSliceView *_ns_window_active_view      (NsWindow *self);
/* The load of a case ended (ok: it shows): opens its mask, emits "load-finished". */
void         _ns_window_case_loaded      (NsWindow *self, gboolean ok);

/* Notifies the layout properties ("layout", "compare-plane") for the menu's radio items. */
void         _ns_window_notify_layout    (NsWindow *self);

/* ---- ns-window-layout.c --------------------------------------------------------------- */

/* Every slice view of the window, shown or not. */
#define NS_WINDOW_N_VIEWS (3 + NS_WINDOW_N_COMPARE)

/* Creates the compare views and reads the remembered layout (once, at init, before the
 * first _ns_window_apply_layout ()). */
void         _ns_window_init_layout      (NsWindow *self);
/* Shows the views of self->layout in the grid. */
void         _ns_window_apply_layout     (NsWindow *self);
/* The user chose a layout or the side-by-side plane (the property actions): set and
 * remembered in the settings. */
void         _ns_window_choose_layout    (NsWindow *self, const char *layout);
void         _ns_window_choose_compare_plane (NsWindow *self, NsPlane plane);
/* A new case: the compare views' sequences from its images. */
void         _ns_window_layout_case_changed (NsWindow *self);
/* Fills views with every slice view (the three planes, then the compare views); returns
 * how many (NS_WINDOW_N_VIEWS). */
guint        _ns_window_get_views        (NsWindow *self, NsSliceView *views[NS_WINDOW_N_VIEWS]);

/* ---- ns-window-open.c ----------------------------------------------------------------- */

/* File > Open Case Folder… (folder) or Open NIfTI Files…. */
void         _ns_window_run_open_chooser (NsWindow *self, gboolean folder);
void         _ns_window_rebuild_recent_menu (NsWindow *self);
/* A GtkDropTarget's "drop" of files onto the window: opens them. */
gboolean     _ns_window_drop_cb          (NsWindow *self, const GValue *value, double x,
                                          double y, GtkDropTarget *target);

/* The steps of a load, shared with ns-window-dicom.c: a load of path starts (a new
 * load_cancellable, the progress bar pulsing); it ended (no more pulsing); it failed (the
 * error shown, "load-finished" FALSE); it succeeded (a recent case, "load-finished"
 * TRUE, the case's mask opened). */
void         _ns_window_load_started     (NsWindow *self, const char *path);
void         _ns_window_load_ended       (NsWindow *self);
void         _ns_window_load_failed      (NsWindow *self, const char *message);
void         _ns_window_load_succeeded   (NsWindow *self, const char *const *paths);

/* ---- ns-window-dicom.c ---------------------------------------------------------------- */

/* After a load of path failed with error: when it is a DICOM study whose series need
 * assigning (NS_DATA_ERROR_AMBIGUOUS), scans it, asks (NsSeriesDialog) and loads it as
 * assigned, and returns TRUE; FALSE for any other error. */
gboolean     _ns_window_ask_series       (NsWindow *self, const char *path,
                                          const GError *error);
/* File > Export > DICOM Segmentation…: asks where, then ns_window_export_dicom_seg (). */
void         _ns_window_run_export_dicom_seg (NsWindow *self);
/* Whether ncase (nullable) was read from DICOM (its folder is a DICOM study). */
gboolean     _ns_window_case_is_dicom    (NsCase *ncase);

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

/* ---- ns-window-infobar.c ------------------------------------------------------------------ */

/* Tells the editor's document's journal to report its failure to the window (call when
 * the document changes), and shows the journal infobar as things are now. */
void         _ns_window_watch_journal    (NsWindow *self);
/* Shows the journal infobar while the journal has an error, hides it otherwise. */
void         _ns_window_update_protection (NsWindow *self);
/* Shows the case's notes (NsCase.notes) in their infobar, or hides it when none. */
void         _ns_window_show_case_notes  (NsWindow *self);
/* Connects the infobars' close buttons and the Run Model note (once, at init). */
void         _ns_window_init_infobars    (NsWindow *self);
/* Shows the read-only infobar while the editor is read-only (its reason), hides it
 * otherwise; the tools are insensitive meanwhile. */
void         _ns_window_update_read_only (NsWindow *self);

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
