/* SPDX-License-Identifier: MIT
 *
 * ns-slice-view.h: one plane (axial, sagittal or coronal) of the NsViewer's case, with
 * the navigation of ITK-SNAP and 3D Slicer:
 *
 *   left click / drag       move the 3-D cursor (every view follows)
 *   wheel, Page Up/Down,    previous / next slice (moves the cursor along the normal)
 *   Up/Down arrows
 *   Ctrl + wheel            zoom about the pointer
 *   middle drag,            pan
 *   Space + left drag
 *   right drag              window (horizontal) and level (vertical)
 *
 * and, with an NsEditor set (ns_slice_view_set_editor()), the editing tools:
 *
 *   left drag (brush/eraser) one stroke, interpolated between motion events
 *   left click (fill)        2-D fill of the region under the pointer
 *   Ctrl + left click        pick the label under the pointer (also the picker tool)
 *   left drag (lasso)        draw an outline (shown while drawn); the release fills it
 *                            with the active label (Shift at the start: erases inside it),
 *                            on the slice or through the volume (the editor's
 *                            "lasso-through"), one undo step
 *   Escape during a stroke   cancel it (or the lasso's outline)
 *   Escape during a stroke   cancel it
 *   (refine tool)            see ns_slice_view_set_refine()
 *
 * The view draws the cairo image surface that render/ produces for its plane, scaled to
 * fit (times the zoom) with nearest-neighbour sampling, and labels the plane's edges with
 * their anatomical directions.  The functions below the line are the code paths the
 * event controllers take, public so that tests drive the view exactly as events do.
 */
#pragma once

#include <gtk/gtk.h>

#include "ns-editor.h"
#include "ns-refine.h"
#include "ns-render.h"
#include "ns-viewer.h"

G_BEGIN_DECLS

#define NS_TYPE_PLANE (ns_plane_get_type ())
GType ns_plane_get_type (void);

#define NS_TYPE_SLICE_VIEW (ns_slice_view_get_type ())

G_DECLARE_FINAL_TYPE (NsSliceView, ns_slice_view, NS, SLICE_VIEW, GtkWidget)

GtkWidget       *ns_slice_view_new            (NsViewer *viewer, NsPlane plane);

NsViewer        *ns_slice_view_get_viewer     (NsSliceView *self);
void             ns_slice_view_set_viewer     (NsSliceView *self, NsViewer *viewer);
NsPlane          ns_slice_view_get_plane      (NsSliceView *self);
void             ns_slice_view_set_plane      (NsSliceView *self, NsPlane plane);
/* Zoom relative to "fit in the widget" (1). */
double           ns_slice_view_get_zoom       (NsSliceView *self);
void             ns_slice_view_set_zoom       (NsSliceView *self, double zoom);
/* Fit, centred. */
void             ns_slice_view_reset          (NsSliceView *self);
/* Zoom and pan (widget pixels, added to the centred position) at once: what views linked
 * side by side share ("transform-changed" is emitted on every change of either, by the
 * user or by this setter). */
void             ns_slice_view_get_transform  (NsSliceView *self, double *zoom, double *pan_x,
                                               double *pan_y);
void             ns_slice_view_set_transform  (NsSliceView *self, double zoom, double pan_x,
                                               double pan_y);
/* The sequence the view shows (property "image-index"): an image index of the viewer's
 * case, drawn through that image's own window/level (a right drag in the view changes
 * that one), its name in the view's title; -1 (the default): the viewer's shown image. */
int              ns_slice_view_get_image_index (NsSliceView *self);
void             ns_slice_view_set_image_index (NsSliceView *self, int index);

/* The slice shown (index along the plane's voxel normal axis); -1 without a case. */
int              ns_slice_view_get_slice      (NsSliceView *self);
/* Geometry of the plane (NULL without a case). */
const NsPlaneGeometry *ns_slice_view_get_geometry (NsSliceView *self);
/* The plane the view draws, up to date: image, labels and heat overlay, at one pixel per
 * in-plane voxel; the crosshair and the brush outline are drawn over it at the screen's
 * resolution (NULL without a case; owned by the view). */
cairo_surface_t *ns_slice_view_get_surface    (NsSliceView *self);
/* Widget coordinates <-> image coordinates (render/'s screen coordinates). */
void             ns_slice_view_widget_to_image (NsSliceView *self, double wx, double wy,
                                                double *ix, double *iy);
void             ns_slice_view_image_to_widget (NsSliceView *self, double ix, double iy,
                                                double *wx, double *wy);
/* Widget coordinates of the centre of voxel ijk (its slice coordinate is ignored). */
void             ns_slice_view_voxel_to_widget (NsSliceView *self, const int ijk[3],
                                                double *wx, double *wy);

/* The mask editor whose tools a left drag uses (NULL: navigation only). */
NsEditor        *ns_slice_view_get_editor     (NsSliceView *self);
void             ns_slice_view_set_editor     (NsSliceView *self, NsEditor *editor);

/* The Refine tool whose gestures the views take while the editor's tool is "refine"
 * (NULL: none): left click / drag adds, right click / drag or Shift + left removes,
 * Ctrl + left drag a box; Enter applies, Escape discards (ns-refine.h). */
NsRefine        *ns_slice_view_get_refine     (NsSliceView *self);
void             ns_slice_view_set_refine     (NsSliceView *self, NsRefine *refine);

/* ---- the event paths --------------------------------------------------------------------- */

/* A key pressed while the view has the keyboard focus: TRUE when the view used it. */
gboolean         ns_slice_view_key_press      (NsSliceView *self, guint keyval,
                                               GdkModifierType state);

/* A primary click at widget (x, y): moves the cursor there. */
void             ns_slice_view_click_at       (NsSliceView *self, double x, double y);
/* The pointer moved to (x, y) (x < 0: it left the view).  The view takes the keyboard
 * focus unless a text field has it, so that its slice keys work without a click. */
void             ns_slice_view_pointer_at     (NsSliceView *self, double x, double y);
/* A wheel step dy (> 0: down) at (x, y) with modifier state. */
void             ns_slice_view_scroll_at      (NsSliceView *self, double x, double y,
                                               double dy, GdkModifierType state);
/* A drag with button (1 left, 2 middle, 3 right) from (x, y) by (dx, dy), start to end. */
void             ns_slice_view_drag           (NsSliceView *self, guint button,
                                               GdkModifierType state, double x, double y,
                                               double dx, double dy);
/* A left drag through widget points xy (x0, y0, x1, y1, ...; n_points >= 1) with modifier
 * state, as the drag gesture delivers it: with the brush or eraser one stroke (one undo
 * step), with Ctrl or the picker a pick at the first point, with fill a fill there, with
 * the lasso the outline through the points, filled (Shift: erased) at the end. */
void             ns_slice_view_paint_path     (NsSliceView *self, GdkModifierType state,
                                               const double *xy, guint n_points);
/* steps slices toward superior / anterior / patient right (negative: the other way). */
void             ns_slice_view_step_slice     (NsSliceView *self, int steps);

G_END_DECLS
