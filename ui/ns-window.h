/* SPDX-License-Identifier: MIT
 *
 * ns-window.h: the workbench window: a menu bar, three linked NsSliceViews in a
 * switchable layout, the layer list, the info pane and a status bar.  One case per
 * window; opening another replaces it.
 *
 * Actions (menus, buttons and shortcuts refer to these names):
 *   win.open-case, win.open-files, win.open-recent(s), win.open-sample, win.close,
 *   win.copy-position, win.save-mask, win.save-mask-as, win.export-dicom-seg (a DICOM
 *   study), win.undo, win.redo;
 *   edit.tool(s: navigate | brush | eraser | fill | picker | refine), edit.class(i: 0..3, the n-th
 *   label of the palette), edit.radius-up, edit.radius-down, edit.interpolate,
 *   edit.remove-islands, edit.add-label, edit.history, edit.history-goto(u: entries
 *   applied);
 *   view.layout(s: row | grid | axial | sagittal | coronal), view.reset, view.zoom-in,
 *   view.zoom-out, view.modality(s), view.window-preset(s: auto | brain | full),
 *   view.show-labels, view.overlay-mode(s: fill | outline | both), view.show-crosshair,
 *   view.neurological;
 *   seg.run-model, seg.mark-corrected, seg.choose-model, seg.show-uncertainty, train.queue,
 *   train.fine-tune, train.models (NsAiController's), train.corrections-folder.
 */
#pragma once

#include <gtk/gtk.h>

#include "ns-ai-controller.h"
#include "ns-editor.h"
#include "ns-info-pane.h"
#include "ns-job-status.h"
#include "ns-layer-panel.h"
#include "ns-refine.h"
#include "ns-slice-view.h"
#include "ns-viewer.h"

G_BEGIN_DECLS

#define NS_TYPE_WINDOW (ns_window_get_type ())

G_DECLARE_FINAL_TYPE (NsWindow, ns_window, NS, WINDOW, GtkApplicationWindow)

NsWindow     *ns_window_new             (GtkApplication *application);

/* Opens a case folder, one NIfTI file, or several NIfTI files of one case (paths,
 * NULL-terminated), off the main thread; a progress bar pulses meanwhile.  Files need no
 * FLAIR: any image opens, and a file whose name says nothing of what it is is asked
 * about first (ns-modality-dialog.h).  With unsaved mask edits it asks Save / Discard /
 * Cancel (ns_window_get_question(), see ns-save-changes-dialog.h) and opens only after
 * Save or Discard.  On failure a dialog names the file and the reason and the previous
 * case stays.  Cancels a load in
 * progress.  "load-finished" (gboolean ok) is emitted at the end. */
void          ns_window_open            (NsWindow *self, const char *const *paths);
gboolean      ns_window_is_loading      (NsWindow *self);
/* The message of the last failed load (NULL after a success). */
const char   *ns_window_get_load_error  (NsWindow *self);

/* The folder `neuroseg` opens without arguments (File ▸ Open Sample Case). */
void          ns_window_set_sample_case (NsWindow *self, const char *dir);

NsViewer     *ns_window_get_viewer      (NsWindow *self);
NsSliceView  *ns_window_get_slice_view  (NsWindow *self, NsPlane plane);
NsLayerPanel *ns_window_get_layer_panel (NsWindow *self);
NsInfoPane   *ns_window_get_info_pane   (NsWindow *self);
/* "row", "grid", "axial", "sagittal", "coronal" (one large view), "compare2" (two
 * sequences side by side: FLAIR | T1c) or "compare4" (FLAIR, T1, T1c, T2 as 2 x 2); see
 * ns-window-layout.c.  The View menu's choice is remembered in the settings; this setter
 * does not remember. */
const char   *ns_window_get_layout      (NsWindow *self);
void          ns_window_set_layout      (NsWindow *self, const char *layout);

/* The side-by-side views of sequences ("compare2" shows the first two, "compare4" all). */
#define NS_WINDOW_N_COMPARE 4
NsSliceView  *ns_window_get_compare_view  (NsWindow *self, guint index);
/* The plane of the side-by-side layouts (axial by default; the menu's choice is
 * remembered in the settings). */
NsPlane       ns_window_get_compare_plane (NsWindow *self);
void          ns_window_set_compare_plane (NsWindow *self, NsPlane plane);
/* The status bar's voxel, position, intensity and label fields, joined by "  |  ". */
char         *ns_window_dup_status_text (NsWindow *self);
/* The status bar's message ("Saved …", "Predicted in …", ...). */
const char   *ns_window_get_message     (NsWindow *self);
/* The status bar's progress of the AI job (Run Model, fine-tuning). */
NsJobStatus  *ns_window_get_job_status  (NsWindow *self);

/* ---- editing ------------------------------------------------------------------------------ */

/* Responses of the window's question dialogs (besides GTK_RESPONSE_CANCEL). */
typedef enum
{
  NS_WINDOW_RESPONSE_SAVE = 1,       /* unsaved edits at close: save, then close */
  NS_WINDOW_RESPONSE_DISCARD,        /* ... close without saving; recovery: discard */
  NS_WINDOW_RESPONSE_RECOVER,        /* recovery: replay the journal */
  NS_WINDOW_RESPONSE_OVERWRITE,      /* overwrite the case's seg, or a file changed on disk */
  NS_WINDOW_RESPONSE_SAVE_AS,        /* save to another file instead */
} NsWindowResponse;

NsEditor     *ns_window_get_editor      (NsWindow *self);
/* The Refine tool (AI correction by clicks) of the window. */
NsRefine     *ns_window_get_refine      (NsWindow *self);
/* The AI loop's actions of this window (Run Model, Mark Corrected, ...). */
NsAiController *ns_window_get_ai_controller (NsWindow *self);
/* Writes the mask being edited as a DICOM-SEG of the open DICOM study's series on the
 * case's grid (File > Export > DICOM Segmentation…); an existing file at path is an error
 * (G_IO_ERROR_EXISTS) unless replace (the user was asked).  NS_DATA_ERROR_NOT_DICOM for a
 * case not read from DICOM. */
gboolean      ns_window_export_dicom_seg (NsWindow *self, const char *path, gboolean replace,
                                          GError **error);
/* The question dialog the window shows now (a GtkDialog: unsaved edits, recovery,
 * overwriting; also the Remove Small Islands and Add Label dialogs), or NULL. */
GtkWidget    *ns_window_get_question    (NsWindow *self);
/* The list of Edit > History while it is open (row r: r entries applied), or NULL. */
GtkListBox   *ns_window_get_history_list (NsWindow *self);
G_END_DECLS
