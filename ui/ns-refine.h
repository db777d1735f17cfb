/* SPDX-License-Identifier: MIT
 *
 * ns-refine.h: the Refine tool (issue 15): AI-assisted correction of one tumour region of
 * the mask being edited, by clicks, scribbles and boxes, with the interactive model of
 * net/ns-interact.h.
 *
 *   left click / drag        add to the region of the selected label (a click or a
 *                            scribble)
 *   right click / drag,      remove from it
 *   Shift + left
 *   Ctrl + left drag         a box: the region starts from nothing inside it
 *
 * The region follows the selected label (1 NCR/NET -> TC, 2 edema -> WT, 3 -> TC,
 * 4 ET -> ET) unless one is chosen ("region" property).  The interactions of one episode
 * (from the first click to Apply or Discard) go to one interaction session in a worker
 * thread: the slice under the click answers first, then the change propagates to the
 * neighbouring slices in the background.  A newer interaction cancels the older request
 * (GCancellable; the interactions themselves are all kept, in order).  The result shows at
 * once as the viewer's preview labels (ns_viewer_set_preview_labels(), the same as Run
 * Model's live prediction), with the voxels that differ from the mask outlined
 * (ns_refine_draw_changes()).
 *
 * Apply (Enter, switching to another tool, the panel's button) commits the preview as ONE
 * undoable, journaled history entry "Refine: N clicks" (ns_editor_commit_applied());
 * Discard (Escape) drops it.  Locked labels are never changed, in the preview already.
 * Without an interactive model the tool says so in its status and refuses interactions.
 */
#pragma once

#include <gio/gio.h>

#include <cairo.h>

#include "ns-editor.h"
#include "ns-render.h"

G_BEGIN_DECLS

typedef enum
{
  NS_REFINE_REGION_AUTO,        /* from the selected label */
  NS_REFINE_REGION_WT,
  NS_REFINE_REGION_TC,
  NS_REFINE_REGION_ET,
} NsRefineRegion;

/* "Auto", "WT", "TC", "ET". */
const char     *ns_refine_region_to_string (NsRefineRegion region);
/* The region a label value's edits refine: 4 -> ET, 1 and 3 -> TC, else WT. */
NsRefineRegion  ns_refine_region_for_label (guint8 label);

#define NS_TYPE_REFINE (ns_refine_get_type ())

G_DECLARE_FINAL_TYPE (NsRefine, ns_refine, NS, REFINE, GObject)

/* Signals: "preview-updated" () in the main loop each time the preview changed (the slice
 * under the click answered, then each propagation step); "finished" (gboolean ok, const
 * char *message) when a request ended: ok with the propagation done, or not ok with the
 * error (never for a request a newer one cancelled).
 * Properties (read-only unless said): "status" (string, what the panel shows), "available"
 * (an interactive model was found), "busy" (a request runs), "n-clicks", "has-preview",
 * "region" (read-write, NsRefineRegion as int), "model-path" (read-write), "propagate"
 * (read-write). */
NsRefine       *ns_refine_new              (NsEditor *editor);
NsEditor       *ns_refine_get_editor       (NsRefine *self);

/* The interactive model (NULL: the default, found by ns_refine_find_model() when the
 * tool is first chosen). */
void            ns_refine_set_model_path   (NsRefine *self, const char *path);
const char     *ns_refine_get_model_path   (NsRefine *self);
/* The model the tool uses when none was set: the newest interactive model of the registry
 * at db_path (NULL: the default database) if any, else the shipped one, shipped_path
 * (NULL: the data folder's models/interactive.safetensors).  NULL + error (naming what was
 * looked for) when there is none. */
char           *ns_refine_find_model       (const char *db_path, const char *shipped_path,
                                            GError **error);
/* Looks for the model now if none is set (else checks the one set); updates "available"
 * and "status".  The tool does it when chosen. */
gboolean        ns_refine_check_model      (NsRefine *self);

void            ns_refine_set_region       (NsRefine *self, NsRefineRegion region);
NsRefineRegion  ns_refine_get_region       (NsRefine *self);
/* The region the next interaction refines (the chosen one, or the selected label's). */
NsRefineRegion  ns_refine_get_target_region (NsRefine *self);

/* Whether a correction goes on to the neighbouring slices after the slice under the click
 * answered (default TRUE; FALSE: that slice only). */
void            ns_refine_set_propagate    (NsRefine *self, gboolean propagate);
gboolean        ns_refine_get_propagate    (NsRefine *self);

const char     *ns_refine_get_status       (NsRefine *self);
gboolean        ns_refine_get_available    (NsRefine *self);
gboolean        ns_refine_get_busy         (NsRefine *self);
guint           ns_refine_get_n_clicks     (NsRefine *self);
gboolean        ns_refine_has_preview      (NsRefine *self);
/* Requests that stopped early because a newer interaction (or Apply, Discard) cancelled
 * them: their engine call ended at a slice boundary (property "n-cancelled"). */
guint           ns_refine_get_n_cancelled  (NsRefine *self);
/* Voxels where the preview differs from the mask. */
gsize           ns_refine_get_n_changed    (NsRefine *self);

/* ---- interactions (the slice views' gestures), voxel coordinates on the plane geom ------- */

/* A click or a scribble: begin, add points, end (the request starts at the end).  FALSE
 * when the tool cannot take it (no document, no model: the status says why). */
gboolean        ns_refine_stroke_begin     (NsRefine *self, const NsPlaneGeometry *geom,
                                            const double voxel[3], gboolean positive);
void            ns_refine_stroke_add       (NsRefine *self, const double voxel[3]);
void            ns_refine_stroke_end       (NsRefine *self);
gboolean        ns_refine_is_stroking      (NsRefine *self);
/* A box from corner a to corner b on the plane of geom. */
gboolean        ns_refine_box              (NsRefine *self, const NsPlaneGeometry *geom,
                                            const double a[3], const double b[3]);

/* Commits the preview as one history entry "Refine: N clicks" (waits for nothing: what
 * the preview shows now is what is committed; a request still running is cancelled).
 * FALSE (error set) when there is nothing to apply or the document went. */
gboolean        ns_refine_apply            (NsRefine *self, GError **error);
/* What leaving the tool, closing the window or opening another case does: applies the
 * preview when there is one (so that it is an edit, journaled, asked about before it
 * could be lost), else ends the episode.  TRUE when something was applied. */
gboolean        ns_refine_settle           (NsRefine *self);
/* Drops the preview and the episode's interactions. */
void            ns_refine_discard          (NsRefine *self);

/* Draws the outline of the changed voxels of geom's slice in image coordinates (one unit
 * per image pixel; line_width in those units). */
void            ns_refine_draw_changes     (NsRefine *self, cairo_t *cr,
                                            const NsPlaneGeometry *geom, double line_width);

G_END_DECLS
