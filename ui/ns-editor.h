/* SPDX-License-Identifier: MIT
 *
 * ns-editor.h: the mask editor of one window: the NsMaskDoc of the case shown (label map,
 * label table, undo history, crash journal) and the tool settings that the tool palette,
 * the shortcuts and the slice views share (tool, active label, brush shape and radius,
 * 2-D or 3-D, paint rule, intensity limit, fill bound).
 *
 * The slice views turn pointer gestures into the calls below; the editor applies them with
 * data/'s tools, commits each edit as one history entry (which the journal writes within
 * a second) and tells the NsViewer which voxels changed, so that only the planes through
 * them are redrawn and the volumes are updated from the change rather than recounted.
 */
#pragma once

#include <gio/gio.h>

#include "ns-mask-doc.h"
#include "ns-render.h"
#include "ns-viewer.h"

G_BEGIN_DECLS

typedef enum
{
  NS_TOOL_NAVIGATE,
  NS_TOOL_BRUSH,
  NS_TOOL_ERASER,
  NS_TOOL_FILL,
  NS_TOOL_PICKER,
  NS_TOOL_LASSO,                 /* a drawn outline filled (Shift: erased) at the release */
  NS_TOOL_REFINE,                /* AI correction by clicks (ns-refine.h) */
  NS_N_TOOLS
} NsTool;

/* "navigate", "brush", "eraser", "fill", "picker", "lasso", "refine". */
const char *ns_tool_to_string   (NsTool tool);
gboolean    ns_tool_from_string (const char *name, NsTool *tool);

/* The name of a history entry that put a model's prediction into the mask (Run Model),
 * a prefix: "Run Model (fill unlabelled)" is one too. */
#define NS_EDITOR_PREDICTION_NAME "Run Model"

#define NS_EDITOR_RADIUS_MIN 0.5
#define NS_EDITOR_RADIUS_MAX 50.0

/* The fill guard's limit on the part of a slice one fill may cover without asking. */
#define NS_EDITOR_FILL_FRACTION_MIN 0.01
#define NS_EDITOR_FILL_FRACTION_DEFAULT 0.5

#define NS_TYPE_EDITOR (ns_editor_get_type ())

G_DECLARE_FINAL_TYPE (NsEditor, ns_editor, NS, EDITOR, GObject)

NsEditor     *ns_editor_new               (NsViewer *viewer);
NsViewer     *ns_editor_get_viewer        (NsEditor *self);

/* ---- the document ------------------------------------------------------------------------ */

/* The mask a case is edited in: the case's correction in the corrections folder when it
 * was marked corrected (ns-corrections.h), else <case>/<id>_mask.nii.gz when it exists
 * (an earlier session's work), else the case's segmentation file, else
 * <case>/<id>_mask.nii.gz (to be created). */
char         *ns_editor_default_mask_path (NsCase *ncase);
/* Opens the mask of the viewer's case (mask_path NULL: the default) and shows its labels
 * in the viewer.  Closes the previous document (its journal keeps unsaved edits).  Emits
 * "doc-changed". */
gboolean      ns_editor_open              (NsEditor *self, const char *mask_path,
                                           GError **error);
/* Closes the document.  Its journal keeps unsaved edits for recovery; when the mask is
 * back at its saved state (every edit undone) the journal is emptied instead.  A document
 * that edited the case's own labels in place gives them back as the file holds them; when
 * the file cannot be read, the labels stay as they are and signal "labels-unreadable"
 * (const GError *: the file and why) is emitted. */
void          ns_editor_close             (NsEditor *self);
/* Read-only (reason: why, in words for the user; NULL: editable): the document refuses
 * every write (ns_mask_doc_set_read_only(), also for documents opened later until this is
 * set back to NULL), a stroke does not begin, a change a tool applied is put back and
 * signal "edit-refused" (const char *reason) says so; a stroke or fill in progress is
 * cancelled.  Property "read-only" (string) is notified. */
void          ns_editor_set_read_only     (NsEditor *self, const char *reason);
/* Why it is read-only (borrowed), or NULL. */
const char   *ns_editor_get_read_only     (NsEditor *self);
/* NULL without a document. */
NsMaskDoc    *ns_editor_get_doc           (NsEditor *self);
gboolean      ns_editor_is_modified       (NsEditor *self);
/* What the mask is, in words: its file's name ("…_seg.nii.gz", edited or not), or "Model
 * prediction" while a prediction applied in its history is in it, saved or not (owned;
 * NULL without a document).  The editor keeps the viewer's "labels-source" to it. */
char         *ns_editor_dup_labels_source (NsEditor *self);
/* TRUE while the document's file is the case's own segmentation and no save went to it
 * yet: the first Save asks before overwriting an expert's labels. */
gboolean      ns_editor_path_is_case_seg  (NsEditor *self);

/* Recovery (ns_mask_doc_recover / discard_recovery) with the viewer told. */
gboolean      ns_editor_recover           (NsEditor *self, gboolean force, guint *n_replayed,
                                           GError **error);
gboolean      ns_editor_discard_recovery  (NsEditor *self, GError **error);
/* Save (path NULL: the document's path) and Save As. */
gboolean      ns_editor_save              (NsEditor *self, const char *path, gboolean force,
                                           GError **error);
/* After "Discard" at close: empties the journal so that no recovery is offered. */
void          ns_editor_discard_changes   (NsEditor *self);

/* ---- tool settings (also GObject properties of the same names) --------------------------- */

NsTool        ns_editor_get_tool          (NsEditor *self);
void          ns_editor_set_tool          (NsEditor *self, NsTool tool);
guint8        ns_editor_get_label         (NsEditor *self);
void          ns_editor_set_label         (NsEditor *self, guint8 value);
/* The index-th non-zero label of the table (key 1 is index 0); FALSE when none. */
gboolean      ns_editor_select_class      (NsEditor *self, guint index);
double        ns_editor_get_radius        (NsEditor *self);
void          ns_editor_set_radius        (NsEditor *self, double radius_mm);
/* One step up (+1) or down (-1) of the radius ladder ([ and ]). */
void          ns_editor_step_radius       (NsEditor *self, int direction);
NsBrushShape  ns_editor_get_shape         (NsEditor *self);
void          ns_editor_set_shape         (NsEditor *self, NsBrushShape shape);
gboolean      ns_editor_get_three_d       (NsEditor *self);
void          ns_editor_set_three_d       (NsEditor *self, gboolean three_d);
NsPaintOver   ns_editor_get_paint_over    (NsEditor *self);
void          ns_editor_set_paint_over    (NsEditor *self, NsPaintOver over, guint8 over_label);
/* The lasso acts through the volume along the view direction (property "lasso-through";
 * off: on the slice drawn on only). */
gboolean      ns_editor_get_lasso_through (NsEditor *self);
void          ns_editor_set_lasso_through (NsEditor *self, gboolean through);
gboolean      ns_editor_get_intensity_limit (NsEditor *self);
void          ns_editor_set_intensity_limit (NsEditor *self, gboolean on);
double        ns_editor_get_tolerance     (NsEditor *self);
void          ns_editor_set_tolerance     (NsEditor *self, double tolerance);
NsFillBound   ns_editor_get_fill_bound    (NsEditor *self);
void          ns_editor_set_fill_bound    (NsEditor *self, NsFillBound bound);
/* The fill guard (on by default): a fill that reaches outside the brain of the shown image
 * or covers more than fill-guard-fraction of the slice is undone at once and "fill-refused"
 * is emitted with the reason; ns_editor_fill_confirm () then paints it anyway. */
gboolean      ns_editor_get_fill_guard    (NsEditor *self);
void          ns_editor_set_fill_guard    (NsEditor *self, gboolean on);
double        ns_editor_get_fill_guard_fraction (NsEditor *self);
void          ns_editor_set_fill_guard_fraction (NsEditor *self, double fraction);
/* The paint rule of the current settings (paint over, locks of the table) for label. */
void          ns_editor_get_paint_rule    (NsEditor *self, guint8 label, NsPaintRule *rule);
/* Lock of a label in the document's table (a locked label is never painted over). */
gboolean      ns_editor_get_locked        (NsEditor *self, guint8 value);
void          ns_editor_set_locked        (NsEditor *self, guint8 value, gboolean locked);
/* Adds (or replaces) a label of the table, saved with the mask; emits "labels-table-changed". */
void          ns_editor_add_label         (NsEditor *self, guint8 value, const char *name,
                                           const guint8 rgb[3]);

/* The brush of the current settings on a plane whose normal is voxel axis plane_axis. */
void          ns_editor_get_brush         (NsEditor *self, int plane_axis, NsBrush *brush);
/* The in-plane voxels (offsets (du, dv) along plane axes axis_u, axis_v) one dab covers on
 * the slice through its centre, for the brush outline: a GArray of int[2], owned by the
 * editor, valid until the settings change. */
GArray       *ns_editor_get_outline_offsets (NsEditor *self, const NsPlaneGeometry *geom);

/* ---- edits (the slice views' gestures) --------------------------------------------------- */

/* A brush or eraser stroke at continuous voxel coordinates on the plane geom; the
 * intensity limits (when on) come from the voxel at the stroke's start.  FALSE when the
 * tool does not paint or there is no document. */
gboolean      ns_editor_stroke_begin      (NsEditor *self, const NsPlaneGeometry *geom,
                                           const double voxel[3]);
void          ns_editor_stroke_add        (NsEditor *self, const double voxel[3]);
/* Commits the stroke as one history entry. */
void          ns_editor_stroke_end        (NsEditor *self);
void          ns_editor_stroke_cancel     (NsEditor *self);
gboolean      ns_editor_is_stroking       (NsEditor *self);
/* Sets the active label to the label of voxel ijk. */
void          ns_editor_pick              (NsEditor *self, const int ijk[3]);
/* 2-D fill on the plane through seed.  FALSE without error when the fill guard refused it
 * (then "fill-pending" is TRUE until confirmed or cancelled). */
gboolean      ns_editor_fill              (NsEditor *self, const NsPlaneGeometry *geom,
                                           const int seed[3], GError **error);
gboolean      ns_editor_get_fill_pending  (NsEditor *self);
/* Paints the refused fill after all ("Fill anyway"); FALSE when none is pending. */
gboolean      ns_editor_fill_confirm      (NsEditor *self, GError **error);
void          ns_editor_fill_cancel       (NsEditor *self);
gboolean      ns_editor_interpolate       (NsEditor *self, int plane_axis, GError **error);
gboolean      ns_editor_remove_islands    (NsEditor *self, double min_ml, GError **error);
/* Replaces the whole mask (a model's prediction: labels has the map's voxel count) as one
 * undoable, journaled entry named name; FALSE without a document, when nothing changed, or
 * when the document is read-only ("edit-refused" emitted). */
gboolean      ns_editor_replace           (NsEditor *self, const guint8 *labels,
                                           const char *name);
/* Commits change, already applied to the document's map (a whole-volume edit computed
 * elsewhere, e.g. Run Model's prediction diffed in its worker), as one undoable,
 * journaled entry; takes ownership.  FALSE without a document.  A read-only document puts
 * the voxels back and "edit-refused" is emitted (TRUE: the change was dealt with). */
gboolean      ns_editor_commit_applied    (NsEditor *self, NsEditChange *change);
guint         ns_editor_undo              (NsEditor *self, guint n);
guint         ns_editor_redo              (NsEditor *self, guint n);
/* Undoes or redoes until n_applied entries of the history are applied (Edit > History);
 * the number of steps taken. */
guint         ns_editor_history_goto      (NsEditor *self, guint n_applied);

G_END_DECLS
