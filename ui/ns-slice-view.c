/* SPDX-License-Identifier: MIT
 *
 * ns-slice-view.c: one plane of the viewer's case (see ns-slice-view.h).
 *
 * The image is rendered by render/ at its native size (one pixel per in-plane voxel for a
 * 1 mm grid) into a cached RGB24 surface, redrawn only when the viewer says something
 * changed, and scaled to the widget with nearest-neighbour sampling so that voxels stay
 * sharp when zoomed.  The widget's own coordinates map to image coordinates by
 *
 *   image = (widget - offset) / scale,   scale = fit * zoom,
 *   offset = (widget size - image size * scale) / 2 + pan
 *
 * and render/'s NsPlaneGeometry maps image coordinates to voxels.  Zooming about the
 * pointer keeps the image point under the pointer fixed by adjusting pan.
 *
 * With an NsEditor set and a painting tool, a left drag paints instead: each motion event
 * adds the continuous voxel under the pointer to the editor's stroke (data/ fills the gap
 * since the previous event) and the release commits it.  The viewer then damages only the
 * box of the voxels changed, so a view re-renders its plane only when the box crosses its
 * slice.  The brush outline is the boundary of the voxels one dab covers on this plane,
 * drawn through the plane geometry, so it is exact on anisotropic grids and at any zoom.
 */
#define G_LOG_DOMAIN "ns-slice-view"

#include "ns-slice-view.h"

#include "ns-editor.h"
#include "ns-editor-cleanup.h"
#include "ns-heat-legend.h"
#include "ns-refine.h"

#include <math.h>

#define ZOOM_MIN 0.25
#define ZOOM_MAX 40.0
#define ZOOM_STEP 1.15           /* per wheel step */
#define CROSSHAIR_RGB 0x37c8f0   /* cyan, as in the icon: distinct from every label colour */
#define CROSSHAIR_ALPHA 0.85
#define CROSSHAIR_GAP 6          /* logical pixels left free on each side of the cursor */

typedef enum
{
  DRAG_NONE,
  DRAG_CURSOR,
  DRAG_PAN,
  DRAG_WINDOW,
  DRAG_PAINT,
  DRAG_LASSO,
  DRAG_REFINE,                   /* a click or scribble of the Refine tool */
  DRAG_REFINE_BOX,               /* a box of the Refine tool */
} DragMode;

struct _NsSliceView
{
  GtkWidget parent_instance;

  NsViewer *viewer;
  NsEditor *editor;
  NsRefine *refine;              /* the Refine tool's gestures (nullable) */
  NsPlane plane;
  int image_index;               /* the sequence shown; -1: the viewer's shown image */

  NsPlaneGeometry geom;
  gboolean has_geom;
  cairo_surface_t *surface;      /* geom.width x geom.height, RGB24 */
  gboolean dirty;

  double zoom;
  double pan_x, pan_y;

  DragMode drag_mode;
  double drag_x0, drag_y0;
  double drag_pan_x0, drag_pan_y0;
  double drag_window0, drag_level0;
  gboolean space_down;
  double pointer_x, pointer_y;   /* last pointer position, widget coordinates */
  GArray *lasso;                 /* the outline being drawn: continuous voxels (x, y, z) */
  gboolean lasso_erase;          /* Shift at its start: erase inside (the scissors) */

  char edge_letters[4][2];       /* left, right, top, bottom */
  PangoLayout *layout;
};

G_DEFINE_FINAL_TYPE (NsSliceView, ns_slice_view, GTK_TYPE_WIDGET)

enum {
  PROP_0,
  PROP_VIEWER,
  PROP_PLANE,
  PROP_ZOOM,
  PROP_SLICE,
  PROP_IMAGE_INDEX,
  N_PROPS
};

enum {
  TRANSFORM_CHANGED,
  N_SIGNALS
};

static GParamSpec *properties[N_PROPS];
static guint signals[N_SIGNALS];

GType
ns_plane_get_type (void)
{
  static gsize type_id;

  if (g_once_init_enter (&type_id))
    {
      static const GEnumValue values[] = {
        { NS_PLANE_AXIAL, "NS_PLANE_AXIAL", "axial" },
        { NS_PLANE_SAGITTAL, "NS_PLANE_SAGITTAL", "sagittal" },
        { NS_PLANE_CORONAL, "NS_PLANE_CORONAL", "coronal" },
        { 0, NULL, NULL },
      };
      GType type = g_enum_register_static ("NsPlane", values);
      g_once_init_leave (&type_id, type);
    }
  return type_id;
}

/* ---- geometry ------------------------------------------------------------------------------ */

static double
fit_scale (NsSliceView *self)
{
  int w = gtk_widget_get_width (GTK_WIDGET (self));
  int h = gtk_widget_get_height (GTK_WIDGET (self));

  if (!self->has_geom || w <= 0 || h <= 0)
    return 1.0;
  return MIN ((double) w / self->geom.width, (double) h / self->geom.height);
}

static void
get_transform (NsSliceView *self, double *scale, double *ox, double *oy)
{
  int w = gtk_widget_get_width (GTK_WIDGET (self));
  int h = gtk_widget_get_height (GTK_WIDGET (self));
  double s = fit_scale (self) * self->zoom;

  *scale = s;
  *ox = (w - (self->has_geom ? self->geom.width : 0) * s) / 2.0 + self->pan_x;
  *oy = (h - (self->has_geom ? self->geom.height : 0) * s) / 2.0 + self->pan_y;
}

/* Zoom or pan changed: redraw, and tell the views linked to this one. */
static void
transform_changed (NsSliceView *self)
{
  gtk_widget_queue_draw (GTK_WIDGET (self));
  g_signal_emit (self, signals[TRANSFORM_CHANGED], 0);
}

/* The index of the image the view shows: its own sequence, else the viewer's. */
static guint
shown_image_index (NsSliceView *self)
{
  if (self->image_index >= 0 && (guint) self->image_index < ns_viewer_get_n_images (self->viewer))
    return (guint) self->image_index;
  return ns_viewer_get_image_index (self->viewer);
}

void
ns_slice_view_widget_to_image (NsSliceView *self, double wx, double wy, double *ix, double *iy)
{
  double s, ox, oy;

  g_return_if_fail (NS_IS_SLICE_VIEW (self));

  get_transform (self, &s, &ox, &oy);
  *ix = (wx - ox) / s;
  *iy = (wy - oy) / s;
}

void
ns_slice_view_image_to_widget (NsSliceView *self, double ix, double iy, double *wx, double *wy)
{
  double s, ox, oy;

  g_return_if_fail (NS_IS_SLICE_VIEW (self));

  get_transform (self, &s, &ox, &oy);
  *wx = ox + ix * s;
  *wy = oy + iy * s;
}

void
ns_slice_view_voxel_to_widget (NsSliceView *self, const int ijk[3], double *wx, double *wy)
{
  double voxel[3] = { ijk[0], ijk[1], ijk[2] };
  double ix = 0, iy = 0;

  g_return_if_fail (NS_IS_SLICE_VIEW (self));

  if (self->has_geom)
    ns_plane_geometry_screen_pos (&self->geom, voxel, &ix, &iy);
  ns_slice_view_image_to_widget (self, ix, iy, wx, wy);
}

/* The letter of the anatomical direction that the voxel direction d (voxel units)
 * points to: the RAS axis it is closest to. */
static char
direction_letter (const NsGrid *grid, const double d[3])
{
  static const char letters[3][2] = { { 'L', 'R' }, { 'P', 'A' }, { 'I', 'S' } };
  double ras[3];
  int best = 0;

  for (int r = 0; r < 3; r++)
    ras[r] = grid->vox2ras[r][0] * d[0] + grid->vox2ras[r][1] * d[1]
             + grid->vox2ras[r][2] * d[2];
  for (int r = 1; r < 3; r++)
    if (fabs (ras[r]) > fabs (ras[best]))
      best = r;
  return letters[best][ras[best] > 0];
}

static void
update_edge_letters (NsSliceView *self, const NsGrid *grid)
{
  double right[3] = { 0, 0, 0 }, down[3] = { 0, 0, 0 }, left[3], up[3];

  right[self->geom.axis_u] = self->geom.step_u;
  down[self->geom.axis_v] = self->geom.step_v;
  for (int a = 0; a < 3; a++)
    {
      left[a] = -right[a];
      up[a] = -down[a];
    }
  self->edge_letters[0][0] = direction_letter (grid, left);
  self->edge_letters[1][0] = direction_letter (grid, right);
  self->edge_letters[2][0] = direction_letter (grid, up);
  self->edge_letters[3][0] = direction_letter (grid, down);
}

static void
rebuild_geometry (NsSliceView *self)
{
  const NsGrid *grid = self->viewer != NULL ? ns_viewer_get_grid (self->viewer) : NULL;
  int old_w = self->geom.width, old_h = self->geom.height;

  self->dirty = TRUE;
  if (grid == NULL)
    {
      self->has_geom = FALSE;
      g_clear_pointer (&self->surface, cairo_surface_destroy);
      return;
    }

  {
    double cursor[3];

    ns_viewer_get_cursor (self->viewer, cursor);
    ns_plane_geometry_init (&self->geom, grid, self->plane,
                            ns_viewer_get_convention (self->viewer), 0.0, cursor);
  }
  self->has_geom = TRUE;
  update_edge_letters (self, grid);
  if (self->surface == NULL || old_w != self->geom.width || old_h != self->geom.height)
    {
      g_clear_pointer (&self->surface, cairo_surface_destroy);
      self->surface = ns_render_surface_new (&self->geom);
    }
}

/* Renders the plane into the cached surface when something changed. */
static void
ensure_surface (NsSliceView *self)
{
  g_autoptr (GError) error = NULL;
  NsVolume *image;
  NsLabelMap *labels;
  NsVolume *heat;
  guint index;
  int overlay;
  NsColormap overlay_colormap;
  double overlay_opacity;
  NsLut lut;

  if (!self->has_geom || !self->dirty)
    return;
  self->dirty = FALSE;

  index = shown_image_index (self);
  image = ns_viewer_get_image (self->viewer, index);
  ns_viewer_image_lut_init (self->viewer, index, NS_COLORMAP_GREY, &lut);
  overlay = ns_viewer_get_image_overlay (self->viewer, &overlay_colormap, &overlay_opacity);
  /* during Run Model, the prediction as it arrives instead of the mask */
  labels = ns_viewer_get_shown_labels (self->viewer);
  heat = ns_viewer_get_show_heat (self->viewer) ? ns_viewer_get_heat (self->viewer) : NULL;
  if (!ns_render_image (self->surface, 0, 0, &self->geom, image, &lut, NS_INTERP_NEAREST,
                        &error))
    {
      g_warning ("%s", error->message);
      return;
    }
  /* the second sequence between the image and the labels (not over itself) */
  if (overlay >= 0 && (guint) overlay != index)
    {
      NsLut overlay_lut;

      ns_viewer_image_lut_init (self->viewer, overlay, overlay_colormap, &overlay_lut);
      if (!ns_render_image_overlay (self->surface, 0, 0, &self->geom,
                                    ns_viewer_get_image (self->viewer, overlay), &overlay_lut,
                                    overlay_opacity, NS_INTERP_NEAREST, &error))
        {
          g_warning ("%s", error->message);
          return;
        }
    }
  if (labels != NULL && ns_viewer_get_show_labels (self->viewer)
      && !ns_render_labels (self->surface, 0, 0, &self->geom, labels,
                            ns_viewer_get_overlay_style (self->viewer), &error))
    {
      g_warning ("%s", error->message);
      return;
    }
  if (heat != NULL && ns_grid_equal (&heat->grid, &image->grid))
    {
      /* the overlay's look is ns-heat-legend.h's, as its legend shows it */
      ns_lut_init (&lut, 1.0, 0.5, NS_HEAT_COLORMAP);
      if (!ns_render_heat (self->surface, 0, 0, &self->geom, heat, &lut, NS_HEAT_THRESHOLD,
                           NS_HEAT_OPACITY, NS_INTERP_NEAREST, &error))
        {
          g_warning ("%s", error->message);
          return;
        }
    }
}

/* ---- viewer signals ------------------------------------------------------------------------ */

static void
viewer_case_changed_cb (NsSliceView *self, NsViewer *viewer)
{
  int old_slice = ns_slice_view_get_slice (self);

  rebuild_geometry (self);
  if (ns_slice_view_get_slice (self) != old_slice)
    g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_SLICE]);
  gtk_widget_queue_draw (GTK_WIDGET (self));
}

static void
viewer_cursor_changed_cb (NsSliceView *self, NsViewer *viewer)
{
  double cursor[3];
  int old_slice;

  if (!self->has_geom)
    return;
  old_slice = self->geom.slice;
  ns_viewer_get_cursor (viewer, cursor);
  ns_plane_geometry_set_cursor (&self->geom, cursor);
  /* the crosshair is drawn over the surface: only another slice needs rendering */
  if (self->geom.slice != old_slice)
    {
      self->dirty = TRUE;
      g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_SLICE]);
    }
  gtk_widget_queue_draw (GTK_WIDGET (self));
}

static void
viewer_display_changed_cb (NsSliceView *self, NsViewer *viewer)
{
  self->dirty = TRUE;
  gtk_widget_queue_draw (GTK_WIDGET (self));
}

static void
viewer_labels_damaged_cb (NsSliceView *self, const int *bbox, NsViewer *viewer)
{
  if (!self->has_geom)
    return;
  if (self->geom.slice < bbox[self->geom.axis_n] || self->geom.slice > bbox[3 + self->geom.axis_n])
    return;
  self->dirty = TRUE;
  gtk_widget_queue_draw (GTK_WIDGET (self));
}

static gboolean
tool_refines (NsSliceView *self)
{
  return self->refine != NULL && self->editor != NULL && self->has_geom
         && ns_editor_get_tool (self->editor) == NS_TOOL_REFINE;
}

static gboolean
tool_paints (NsSliceView *self)
{
  NsTool tool;

  if (self->editor == NULL || ns_editor_get_doc (self->editor) == NULL)
    return FALSE;
  tool = ns_editor_get_tool (self->editor);
  return tool == NS_TOOL_BRUSH || tool == NS_TOOL_ERASER;
}

/* ---- the lasso ----------------------------------------------------------------------------- */

static gboolean
tool_lassos (NsSliceView *self)
{
  return self->editor != NULL && ns_editor_get_doc (self->editor) != NULL
         && ns_editor_get_tool (self->editor) == NS_TOOL_LASSO;
}

/* Adds the continuous voxel under widget point (x, y) to the outline: data/ tests voxel
 * centres against the polygon, so the outline keeps the pointer's sub-voxel positions. */
static void
lasso_add (NsSliceView *self, double x, double y)
{
  double ix, iy, voxel[3];

  ns_slice_view_widget_to_image (self, x, y, &ix, &iy);
  ns_plane_geometry_voxel_at (&self->geom, ix, iy, voxel);
  if (self->lasso->len > 0)
    {
      const double *last = &g_array_index (self->lasso, double, self->lasso->len - 3);

      if (last[0] == voxel[0] && last[1] == voxel[1] && last[2] == voxel[2])
        return;
    }
  g_array_append_vals (self->lasso, voxel, 3);
}

static void
lasso_cancel (NsSliceView *self)
{
  g_array_set_size (self->lasso, 0);
  self->drag_mode = DRAG_NONE;
  gtk_widget_queue_draw (GTK_WIDGET (self));
}

/* The release: fills (or erases) inside the outline, closed from the last point to the
 * first, as one history step; an outline of fewer than 3 points changes nothing. */
static void
lasso_finish (NsSliceView *self)
{
  g_autoptr (GError) error = NULL;
  guint n = self->lasso->len / 3;

  if (n >= 3 && self->editor != NULL
      && !ns_editor_polygon (self->editor, self->geom.axis_n,
                             (const double *) (gpointer) self->lasso->data, n,
                             ns_editor_get_lasso_through (self->editor), self->lasso_erase,
                             &error)
      && error != NULL)
    g_warning ("%s", error->message);
  g_array_set_size (self->lasso, 0);
  gtk_widget_queue_draw (GTK_WIDGET (self));
}

/* ---- event paths --------------------------------------------------------------------------- */

static gboolean
voxel_at (NsSliceView *self, double x, double y, int ijk[3])
{
  double ix, iy;

  if (!self->has_geom)
    return FALSE;
  ns_slice_view_widget_to_image (self, x, y, &ix, &iy);
  return ns_plane_geometry_voxel_index_at (&self->geom, ix, iy, ijk);
}

void
ns_slice_view_click_at (NsSliceView *self, double x, double y)
{
  int ijk[3];

  g_return_if_fail (NS_IS_SLICE_VIEW (self));

  /* A click outside the image still moves the cursor to the nearest voxel in the
   * plane, as ITK-SNAP does; the slice itself never changes by a click. */
  if (!self->has_geom)
    return;
  voxel_at (self, x, y, ijk);
  ns_viewer_set_cursor (self->viewer, (double[3]) { ijk[0], ijk[1], ijk[2] });
}

/* The keyboard follows the pointer into a view (its slice keys work without a click
 * first), except away from a text field being typed in. */
static void
take_focus_from_pointer (NsSliceView *self)
{
  GtkRoot *root = gtk_widget_get_root (GTK_WIDGET (self));
  GtkWidget *focus = root != NULL ? gtk_root_get_focus (root) : NULL;

  if (focus == GTK_WIDGET (self) || !gtk_widget_get_mapped (GTK_WIDGET (self)))
    return;
  if (focus != NULL && (GTK_IS_EDITABLE (focus) || GTK_IS_TEXT_VIEW (focus)))
    return;
  gtk_widget_grab_focus (GTK_WIDGET (self));
}

void
ns_slice_view_pointer_at (NsSliceView *self, double x, double y)
{
  int ijk[3];

  g_return_if_fail (NS_IS_SLICE_VIEW (self));

  self->pointer_x = x;
  self->pointer_y = y;
  if (x >= 0)
    take_focus_from_pointer (self);
  if (self->viewer == NULL)
    return;
  if (x >= 0 && voxel_at (self, x, y, ijk))
    ns_viewer_set_pointer (self->viewer, ijk);
  else
    ns_viewer_set_pointer (self->viewer, NULL);
}

void
ns_slice_view_step_slice (NsSliceView *self, int steps)
{
  double cursor[3];

  g_return_if_fail (NS_IS_SLICE_VIEW (self));

  if (!self->has_geom || steps == 0)
    return;
  ns_viewer_get_cursor (self->viewer, cursor);
  cursor[self->geom.axis_n] += steps * self->geom.normal_sign;
  ns_viewer_set_cursor (self->viewer, cursor);
  /* The voxel under a still pointer is another one now. */
  if (self->pointer_x >= 0 && gtk_widget_contains (GTK_WIDGET (self), self->pointer_x,
                                                   self->pointer_y))
    ns_slice_view_pointer_at (self, self->pointer_x, self->pointer_y);
}

static void
zoom_about (NsSliceView *self, double x, double y, double zoom)
{
  double s, ox, oy, ix, iy, s_new, ox_new, oy_new;
  int w = gtk_widget_get_width (GTK_WIDGET (self));
  int h = gtk_widget_get_height (GTK_WIDGET (self));

  zoom = CLAMP (zoom, ZOOM_MIN, ZOOM_MAX);
  if (zoom == self->zoom)
    return;
  get_transform (self, &s, &ox, &oy);
  ix = (x - ox) / s;
  iy = (y - oy) / s;
  s_new = fit_scale (self) * zoom;
  ox_new = x - ix * s_new;
  oy_new = y - iy * s_new;
  self->zoom = zoom;
  if (self->has_geom)
    {
      self->pan_x = ox_new - (w - self->geom.width * s_new) / 2.0;
      self->pan_y = oy_new - (h - self->geom.height * s_new) / 2.0;
    }
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_ZOOM]);
  transform_changed (self);
}

void
ns_slice_view_scroll_at (NsSliceView *self, double x, double y, double dy,
                         GdkModifierType state)
{
  g_return_if_fail (NS_IS_SLICE_VIEW (self));

  if (dy == 0)
    return;
  if (state & GDK_CONTROL_MASK)
    zoom_about (self, x, y, self->zoom * pow (ZOOM_STEP, -dy));
  else
    {
      /* Smooth-scrolling devices report fractions: step at least one slice. */
      int steps = dy < 0 ? MAX (1, (int) round (-dy)) : -MAX (1, (int) round (dy));
      ns_slice_view_step_slice (self, steps);
    }
}

static void
drag_begin (NsSliceView *self, guint button, GdkModifierType state, double x, double y)
{
  self->drag_x0 = x;
  self->drag_y0 = y;
  self->drag_pan_x0 = self->pan_x;
  self->drag_pan_y0 = self->pan_y;
  if (self->viewer != NULL)
    ns_viewer_get_image_window_level (self->viewer, shown_image_index (self),
                                      &self->drag_window0, &self->drag_level0);

  if (button == GDK_BUTTON_MIDDLE || (button == GDK_BUTTON_PRIMARY && self->space_down))
    self->drag_mode = DRAG_PAN;
  else if ((button == GDK_BUTTON_PRIMARY || button == GDK_BUTTON_SECONDARY) && tool_refines (self))
    {
      /* Refine: left adds, right or Shift+left removes, Ctrl+left drags a box */
      double ix, iy, voxel[3];
      gboolean positive = button == GDK_BUTTON_PRIMARY && !(state & GDK_SHIFT_MASK);

      ns_slice_view_widget_to_image (self, x, y, &ix, &iy);
      ns_plane_geometry_voxel_at (&self->geom, ix, iy, voxel);
      if (button == GDK_BUTTON_PRIMARY && (state & GDK_CONTROL_MASK))
        self->drag_mode = DRAG_REFINE_BOX;
      else
        self->drag_mode = ns_refine_stroke_begin (self->refine, &self->geom, voxel, positive)
                          ? DRAG_REFINE : DRAG_NONE;
    }
  else if (button == GDK_BUTTON_SECONDARY)
    self->drag_mode = DRAG_WINDOW;
  else if (button == GDK_BUTTON_PRIMARY && self->editor != NULL && self->has_geom
           && ((state & GDK_CONTROL_MASK)
               || ns_editor_get_tool (self->editor) == NS_TOOL_PICKER))
    {
      /* Ctrl+click (any tool) and the picker take the label under the pointer. */
      int ijk[3];

      self->drag_mode = DRAG_NONE;
      if (voxel_at (self, x, y, ijk))
        ns_editor_pick (self->editor, ijk);
    }
  else if (button == GDK_BUTTON_PRIMARY && self->editor != NULL && self->has_geom
           && ns_editor_get_tool (self->editor) == NS_TOOL_FILL)
    {
      g_autoptr (GError) error = NULL;
      int ijk[3];

      self->drag_mode = DRAG_NONE;
      if (voxel_at (self, x, y, ijk)
          && !ns_editor_fill (self->editor, &self->geom, ijk, &error) && error != NULL)
        g_warning ("%s", error->message);
    }
  else if (button == GDK_BUTTON_PRIMARY && self->has_geom && tool_lassos (self))
    {
      self->drag_mode = DRAG_LASSO;
      self->lasso_erase = (state & GDK_SHIFT_MASK) != 0;
      g_array_set_size (self->lasso, 0);
      lasso_add (self, x, y);
    }
  else if (button == GDK_BUTTON_PRIMARY && self->has_geom && tool_paints (self))
    {
      double ix, iy, voxel[3];

      ns_slice_view_widget_to_image (self, x, y, &ix, &iy);
      ns_plane_geometry_voxel_at (&self->geom, ix, iy, voxel);
      self->drag_mode = ns_editor_stroke_begin (self->editor, &self->geom, voxel)
                        ? DRAG_PAINT : DRAG_NONE;
    }
  else if (button == GDK_BUTTON_PRIMARY)
    {
      self->drag_mode = DRAG_CURSOR;
      ns_slice_view_click_at (self, x, y);
    }
  else
    self->drag_mode = DRAG_NONE;
}

static void
drag_update (NsSliceView *self, double dx, double dy)
{
  switch (self->drag_mode)
    {
    case DRAG_CURSOR:
      ns_slice_view_click_at (self, self->drag_x0 + dx, self->drag_y0 + dy);
      break;
    case DRAG_REFINE:
    case DRAG_REFINE_BOX:
      {
        double ix, iy, voxel[3];

        self->pointer_x = self->drag_x0 + dx;
        self->pointer_y = self->drag_y0 + dy;
        if (self->drag_mode == DRAG_REFINE)
          {
            ns_slice_view_widget_to_image (self, self->pointer_x, self->pointer_y, &ix, &iy);
            ns_plane_geometry_voxel_at (&self->geom, ix, iy, voxel);
            ns_refine_stroke_add (self->refine, voxel);
          }
        gtk_widget_queue_draw (GTK_WIDGET (self));
      }
      break;
    case DRAG_PAINT:
      {
        double ix, iy, voxel[3];

        self->pointer_x = self->drag_x0 + dx;
        self->pointer_y = self->drag_y0 + dy;
        ns_slice_view_widget_to_image (self, self->pointer_x, self->pointer_y, &ix, &iy);
        ns_plane_geometry_voxel_at (&self->geom, ix, iy, voxel);
        ns_editor_stroke_add (self->editor, voxel);
        gtk_widget_queue_draw (GTK_WIDGET (self));
      }
      break;
    case DRAG_LASSO:
      lasso_add (self, self->drag_x0 + dx, self->drag_y0 + dy);
      gtk_widget_queue_draw (GTK_WIDGET (self));
      break;
    case DRAG_PAN:
      self->pan_x = self->drag_pan_x0 + dx;
      self->pan_y = self->drag_pan_y0 + dy;
      transform_changed (self);
      break;
    case DRAG_WINDOW:
      {
        /* As in ITK-SNAP: right widens the window (less contrast), down raises the level
         * (darker).  The window changes by a factor so that the same gesture works for
         * any intensity scale; the level moves by a window's worth per 256 pixels. */
        double window = self->drag_window0 * exp (dx / 200.0);
        double level = self->drag_level0 + dy * self->drag_window0 / 256.0;

        /* the sequence this view shows: a view of another one keeps its own */
        ns_viewer_set_image_window_level (self->viewer, shown_image_index (self), window,
                                          level);
      }
      break;
    case DRAG_NONE:
    default:
      break;
    }
}

static void
drag_end (NsSliceView *self)
{
  if (self->drag_mode == DRAG_PAINT && self->editor != NULL)
    ns_editor_stroke_end (self->editor);
  else if (self->drag_mode == DRAG_LASSO)
    lasso_finish (self);
  else if (self->drag_mode == DRAG_REFINE)
    ns_refine_stroke_end (self->refine);
  else if (self->drag_mode == DRAG_REFINE_BOX)
    {
      double ix, iy, a[3], b[3];

      ns_slice_view_widget_to_image (self, self->drag_x0, self->drag_y0, &ix, &iy);
      ns_plane_geometry_voxel_at (&self->geom, ix, iy, a);
      ns_slice_view_widget_to_image (self, self->pointer_x, self->pointer_y, &ix, &iy);
      ns_plane_geometry_voxel_at (&self->geom, ix, iy, b);
      self->drag_mode = DRAG_NONE;
      ns_refine_box (self->refine, &self->geom, a, b);
      gtk_widget_queue_draw (GTK_WIDGET (self));
    }
  self->drag_mode = DRAG_NONE;
}

void
ns_slice_view_paint_path (NsSliceView *self, GdkModifierType state, const double *xy,
                          guint n_points)
{
  g_return_if_fail (NS_IS_SLICE_VIEW (self));
  g_return_if_fail (xy != NULL && n_points > 0);

  drag_begin (self, GDK_BUTTON_PRIMARY, state, xy[0], xy[1]);
  for (guint p = 1; p < n_points; p++)
    drag_update (self, xy[2 * p] - xy[0], xy[2 * p + 1] - xy[1]);
  drag_end (self);
}

void
ns_slice_view_drag (NsSliceView *self, guint button, GdkModifierType state, double x,
                    double y, double dx, double dy)
{
  g_return_if_fail (NS_IS_SLICE_VIEW (self));

  drag_begin (self, button, state, x, y);
  drag_update (self, dx, dy);
  drag_end (self);
}

/* ---- event controllers --------------------------------------------------------------------- */

static void
drag_begin_cb (NsSliceView *self, double x, double y, GtkGestureDrag *gesture)
{
  guint button = gtk_gesture_single_get_current_button (GTK_GESTURE_SINGLE (gesture));
  GdkModifierType state =
    gtk_event_controller_get_current_event_state (GTK_EVENT_CONTROLLER (gesture));

  gtk_widget_grab_focus (GTK_WIDGET (self));
  drag_begin (self, button, state, x, y);
  if (self->drag_mode == DRAG_NONE)
    gtk_gesture_set_state (GTK_GESTURE (gesture), GTK_EVENT_SEQUENCE_DENIED);
}

static void
drag_update_cb (NsSliceView *self, double dx, double dy, GtkGestureDrag *gesture)
{
  drag_update (self, dx, dy);
}

static void
drag_end_cb (NsSliceView *self, double dx, double dy, GtkGestureDrag *gesture)
{
  drag_end (self);
}

/* The gesture lost its sequence (a grab, the window lost the pointer): a stroke ends as
 * at a release, so what was painted is kept as one history entry. */
static void
drag_cancel_cb (NsSliceView *self, GdkEventSequence *sequence, GtkGesture *gesture)
{
  /* ... but half an outline is no outline: a lasso is dropped */
  if (self->drag_mode == DRAG_LASSO)
    lasso_cancel (self);
  drag_end (self);
}

static gboolean
scroll_cb (NsSliceView *self, double dx, double dy, GtkEventControllerScroll *controller)
{
  GdkModifierType state =
    gtk_event_controller_get_current_event_state (GTK_EVENT_CONTROLLER (controller));

  ns_slice_view_scroll_at (self, self->pointer_x, self->pointer_y, dy, state);
  return TRUE;
}

static void
motion_cb (NsSliceView *self, double x, double y, GtkEventControllerMotion *controller)
{
  ns_slice_view_pointer_at (self, x, y);
  if (tool_paints (self))
    gtk_widget_queue_draw (GTK_WIDGET (self));   /* the brush outline follows */
}

static void
leave_cb (NsSliceView *self, GtkEventControllerMotion *controller)
{
  ns_slice_view_pointer_at (self, -1, -1);
  if (tool_paints (self))
    gtk_widget_queue_draw (GTK_WIDGET (self));
}

gboolean
ns_slice_view_key_press (NsSliceView *self, guint keyval, GdkModifierType state)
{
  g_return_val_if_fail (NS_IS_SLICE_VIEW (self), FALSE);

  switch (keyval)
    {
    case GDK_KEY_space:
      self->space_down = TRUE;
      return TRUE;
    case GDK_KEY_Escape:
      if (self->drag_mode == DRAG_PAINT && self->editor != NULL)
        {
          ns_editor_stroke_cancel (self->editor);
          self->drag_mode = DRAG_NONE;
          return TRUE;
        }
      if (self->drag_mode == DRAG_LASSO)
        {
          lasso_cancel (self);
          return TRUE;
        }
      if (tool_refines (self) && (ns_refine_has_preview (self->refine)
                                  || ns_refine_get_n_clicks (self->refine) > 0))
        {
          ns_refine_discard (self->refine);
          self->drag_mode = DRAG_NONE;
          return TRUE;
        }
      return FALSE;
    case GDK_KEY_Return:
    case GDK_KEY_KP_Enter:
      if (tool_refines (self) && ns_refine_has_preview (self->refine))
        {
          g_autoptr (GError) error = NULL;

          if (!ns_refine_apply (self->refine, &error))
            g_message ("refine: %s", error->message);
          return TRUE;
        }
      return FALSE;
    case GDK_KEY_Page_Up:
    case GDK_KEY_KP_Page_Up:
    case GDK_KEY_Up:
      ns_slice_view_step_slice (self, 1);
      return TRUE;
    case GDK_KEY_Page_Down:
    case GDK_KEY_KP_Page_Down:
    case GDK_KEY_Down:
      ns_slice_view_step_slice (self, -1);
      return TRUE;
    default:
      return FALSE;
    }
}

static gboolean
key_pressed_cb (NsSliceView *self, guint keyval, guint keycode, GdkModifierType state,
                GtkEventControllerKey *controller)
{
  return ns_slice_view_key_press (self, keyval, state);
}

static void
key_released_cb (NsSliceView *self, guint keyval, guint keycode, GdkModifierType state,
                 GtkEventControllerKey *controller)
{
  if (keyval == GDK_KEY_space)
    self->space_down = FALSE;
}

/* ---- drawing ------------------------------------------------------------------------------- */

static void
append_text (NsSliceView *self, GtkSnapshot *snapshot, const char *text, double x, double y,
             double align_x, double align_y)
{
  static const GdkRGBA shadow = { 0, 0, 0, 0.8 };
  static const GdkRGBA colour = { 0.9, 0.9, 0.5, 1.0 };
  int tw, th;

  pango_layout_set_text (self->layout, text, -1);
  pango_layout_get_pixel_size (self->layout, &tw, &th);
  x -= tw * align_x;
  y -= th * align_y;

  gtk_snapshot_save (snapshot);
  gtk_snapshot_translate (snapshot, &GRAPHENE_POINT_INIT (x + 1, y + 1));
  gtk_snapshot_append_layout (snapshot, self->layout, &shadow);
  gtk_snapshot_translate (snapshot, &GRAPHENE_POINT_INIT (-1, -1));
  gtk_snapshot_append_layout (snapshot, self->layout, &colour);
  gtk_snapshot_restore (snapshot);
}

/* The outline of the voxels a dab at the voxel under the pointer covers: each footprint
 * edge between a covered voxel and an uncovered neighbour, through the geometry. */
static void
draw_brush_outline (NsSliceView *self, GtkSnapshot *snapshot)
{
  g_autoptr (GArray) segments = g_array_new (FALSE, FALSE, sizeof (double[4]));
  double x0 = G_MAXDOUBLE, y0 = G_MAXDOUBLE, x1 = -G_MAXDOUBLE, y1 = -G_MAXDOUBLE;
  cairo_t *cr;
  GArray *offsets;
  int centre[3], r = 0, side;
  double ix, iy;
  g_autofree guint8 *inside = NULL;

  if (!tool_paints (self) || self->pointer_x < 0)
    return;
  ns_slice_view_widget_to_image (self, self->pointer_x, self->pointer_y, &ix, &iy);
  if (!ns_plane_geometry_voxel_index_at (&self->geom, ix, iy, centre))
    return;
  offsets = ns_editor_get_outline_offsets (self->editor, &self->geom);
  if (offsets == NULL || offsets->len == 0)
    return;
  for (guint i = 0; i < offsets->len; i++)
    {
      const int *o = &g_array_index (offsets, int, 2 * i);
      r = MAX (r, MAX (ABS (o[0]), ABS (o[1])));
    }
  side = 2 * r + 3;              /* a margin of one: neighbours are always in range */
  inside = g_malloc0 ((gsize) side * side);
  for (guint i = 0; i < offsets->len; i++)
    {
      const int *o = &g_array_index (offsets, int, 2 * i);
      inside[(o[1] + r + 1) * side + o[0] + r + 1] = 1;
    }

  for (int dv = -r; dv <= r; dv++)
    for (int du = -r; du <= r; du++)
      {
        static const int dirs[4][2] = { { 1, 0 }, { -1, 0 }, { 0, 1 }, { 0, -1 } };

        if (!inside[(dv + r + 1) * side + du + r + 1])
          continue;
        for (int d = 0; d < 4; d++)
          {
            int nu = du + dirs[d][0], nv = dv + dirs[d][1];
            double a[3], b[3], ax, ay, bx, by;

            if (inside[(nv + r + 1) * side + nu + r + 1])
              continue;
            /* The shared edge of the two footprints, in voxel coordinates. */
            for (int k = 0; k < 3; k++)
              a[k] = b[k] = centre[k];
            a[self->geom.axis_u] = b[self->geom.axis_u] = centre[self->geom.axis_u] + du
                                                          + 0.5 * dirs[d][0];
            a[self->geom.axis_v] = b[self->geom.axis_v] = centre[self->geom.axis_v] + dv
                                                          + 0.5 * dirs[d][1];
            if (dirs[d][0] != 0)
              {
                a[self->geom.axis_v] -= 0.5;
                b[self->geom.axis_v] += 0.5;
              }
            else
              {
                a[self->geom.axis_u] -= 0.5;
                b[self->geom.axis_u] += 0.5;
              }
            ns_plane_geometry_screen_pos (&self->geom, a, &ax, &ay);
            ns_plane_geometry_screen_pos (&self->geom, b, &bx, &by);
            {
              double seg[4];

              ns_slice_view_image_to_widget (self, ax, ay, &seg[0], &seg[1]);
              ns_slice_view_image_to_widget (self, bx, by, &seg[2], &seg[3]);
              g_array_append_val (segments, seg);
              x0 = MIN (x0, MIN (seg[0], seg[2]));
              y0 = MIN (y0, MIN (seg[1], seg[3]));
              x1 = MAX (x1, MAX (seg[0], seg[2]));
              y1 = MAX (y1, MAX (seg[1], seg[3]));
            }
          }
      }
  if (segments->len == 0)
    return;
  /* Only the outline's box: the rest of the view keeps its cached node. */
  cr = gtk_snapshot_append_cairo (snapshot, &GRAPHENE_RECT_INIT (floor (x0) - 2, floor (y0) - 2,
                                                                 ceil (x1 - x0) + 5,
                                                                 ceil (y1 - y0) + 5));
  for (guint i = 0; i < segments->len; i++)
    {
      const double *seg = &g_array_index (segments, double, 4 * i);

      cairo_move_to (cr, seg[0], seg[1]);
      cairo_line_to (cr, seg[2], seg[3]);
    }
  cairo_set_line_width (cr, 1.5);
  cairo_set_source_rgba (cr, 0, 0, 0, 0.6);
  cairo_stroke_preserve (cr);
  cairo_set_line_width (cr, 0.75);
  cairo_set_source_rgba (cr, 1, 1, 1, 0.95);
  cairo_stroke (cr);
  cairo_destroy (cr);
}

/* The lasso's outline while it is drawn, through the geometry (it stays on the anatomy
 * when the view zooms), closed by a fainter segment back to the start. */
static void
draw_lasso (NsSliceView *self, GtkSnapshot *snapshot)
{
  guint n = self->lasso->len / 3;
  int w = gtk_widget_get_width (GTK_WIDGET (self));
  int h = gtk_widget_get_height (GTK_WIDGET (self));
  double x0 = 0, y0 = 0;
  cairo_t *cr;

  if (self->drag_mode != DRAG_LASSO || n < 2)
    return;
  cr = gtk_snapshot_append_cairo (snapshot, &GRAPHENE_RECT_INIT (0, 0, w, h));
  for (guint p = 0; p < n; p++)
    {
      double ix, iy, wx, wy;

      ns_plane_geometry_screen_pos (&self->geom, &g_array_index (self->lasso, double, 3 * p),
                                    &ix, &iy);
      ns_slice_view_image_to_widget (self, ix, iy, &wx, &wy);
      if (p == 0)
        {
          x0 = wx;
          y0 = wy;
          cairo_move_to (cr, wx, wy);
        }
      else
        cairo_line_to (cr, wx, wy);
    }
  cairo_set_line_join (cr, CAIRO_LINE_JOIN_ROUND);
  cairo_set_line_width (cr, 2.5);
  cairo_set_source_rgba (cr, 0, 0, 0, 0.6);
  cairo_stroke_preserve (cr);
  cairo_set_line_width (cr, 1.0);
  cairo_set_source_rgba (cr, 1, 1, 1, 0.95);
  cairo_stroke_preserve (cr);
  cairo_line_to (cr, x0, y0);
  cairo_new_path (cr);
  {
    double ix, iy, wx, wy;

    ns_plane_geometry_screen_pos (&self->geom,
                                  &g_array_index (self->lasso, double, 3 * (n - 1)), &ix, &iy);
    ns_slice_view_image_to_widget (self, ix, iy, &wx, &wy);
    cairo_move_to (cr, wx, wy);
    cairo_line_to (cr, x0, y0);
    cairo_set_dash (cr, (double[]) { 4, 4 }, 2, 0);
    cairo_set_source_rgba (cr, 1, 1, 1, 0.5);
    cairo_stroke (cr);
  }
  cairo_destroy (cr);
}

/* The crosshair through the cursor's pixel, drawn over the scaled image rather than into
 * the image surface, so that it stays one device pixel wide at any zoom, with a gap
 * around the cursor that keeps the voxel under it visible.  Each line is a rectangle on
 * the device pixel grid (no anti-aliasing smear). */
static void
draw_crosshair (NsSliceView *self, GtkSnapshot *snapshot, double s, double ox, double oy)
{
  static const GdkRGBA colour = { ((CROSSHAIR_RGB >> 16) & 0xff) / 255.0,
                                  ((CROSSHAIR_RGB >> 8) & 0xff) / 255.0,
                                  (CROSSHAIR_RGB & 0xff) / 255.0, CROSSHAIR_ALPHA };
  double sf = gtk_widget_get_scale_factor (GTK_WIDGET (self));
  double cursor[3], sx, sy, cx, cy, px = 1 / sf;
  double left = MAX (ox, 0), top = MAX (oy, 0);
  double right = MIN (ox + self->geom.width * s, gtk_widget_get_width (GTK_WIDGET (self)));
  double bottom = MIN (oy + self->geom.height * s, gtk_widget_get_height (GTK_WIDGET (self)));

  if (!ns_viewer_get_show_crosshair (self->viewer) || right <= left || bottom <= top)
    return;
  ns_viewer_get_cursor (self->viewer, cursor);
  ns_plane_geometry_screen_pos (&self->geom, cursor, &sx, &sy);
  if (!isfinite (sx) || !isfinite (sy))
    return;
  /* the centre of the pixel whose footprint holds the cursor, snapped to a device pixel */
  cx = floor ((ox + (floor (sx) + 0.5) * s) * sf) / sf;
  cy = floor ((oy + (floor (sy) + 0.5) * s) * sf) / sf;
  if (cy >= top && cy < bottom)
    {
      if (cx - CROSSHAIR_GAP > left)
        gtk_snapshot_append_color (snapshot, &colour,
                                   &GRAPHENE_RECT_INIT (left, cy, cx - CROSSHAIR_GAP - left, px));
      if (cx + CROSSHAIR_GAP + px < right)
        gtk_snapshot_append_color (snapshot, &colour,
                                   &GRAPHENE_RECT_INIT (cx + CROSSHAIR_GAP + px, cy,
                                                        right - cx - CROSSHAIR_GAP - px, px));
    }
  if (cx >= left && cx < right)
    {
      if (cy - CROSSHAIR_GAP > top)
        gtk_snapshot_append_color (snapshot, &colour,
                                   &GRAPHENE_RECT_INIT (cx, top, px, cy - CROSSHAIR_GAP - top));
      if (cy + CROSSHAIR_GAP + px < bottom)
        gtk_snapshot_append_color (snapshot, &colour,
                                   &GRAPHENE_RECT_INIT (cx, cy + CROSSHAIR_GAP + px, px,
                                                        bottom - cy - CROSSHAIR_GAP - px));
    }
}

static void
ns_slice_view_snapshot (GtkWidget *widget, GtkSnapshot *snapshot)
{
  NsSliceView *self = NS_SLICE_VIEW (widget);
  int w = gtk_widget_get_width (widget);
  int h = gtk_widget_get_height (widget);
  graphene_rect_t bounds;
  double s, ox, oy;
  g_autofree char *title = NULL;

  if (w <= 0 || h <= 0)
    return;

  graphene_rect_init (&bounds, 0, 0, w, h);
  gtk_snapshot_append_color (snapshot, &(GdkRGBA) { 0, 0, 0, 1 }, &bounds);
  if (!self->has_geom)
    return;

  ensure_surface (self);
  get_transform (self, &s, &ox, &oy);
  {
    /* A render node is not kept across frames: GSK's GL renderer caches textures by node
     * address, and a freed node's address can come back. */
    cairo_t *cr = gtk_snapshot_append_cairo (snapshot, &bounds);

    cairo_translate (cr, ox, oy);
    cairo_scale (cr, s, s);
    cairo_set_source_surface (cr, self->surface, 0, 0);
    cairo_pattern_set_filter (cairo_get_source (cr), CAIRO_FILTER_NEAREST);
    cairo_rectangle (cr, 0, 0, self->geom.width, self->geom.height);
    cairo_fill (cr);
    if (self->refine != NULL)
      ns_refine_draw_changes (self->refine, cr, &self->geom, 1.5 / s);
    cairo_destroy (cr);
  }
  if (self->drag_mode == DRAG_REFINE_BOX)
    {
      GskRoundedRect box;
      GdkRGBA colour = { 1.0, 0.2, 1.0, 0.95 };   /* as the outline of the changes */

      gsk_rounded_rect_init_from_rect (
        &box, &GRAPHENE_RECT_INIT (MIN (self->drag_x0, self->pointer_x),
                                   MIN (self->drag_y0, self->pointer_y),
                                   fabs (self->pointer_x - self->drag_x0),
                                   fabs (self->pointer_y - self->drag_y0)), 0);
      gtk_snapshot_append_border (snapshot, &box, (float[4]) { 1, 1, 1, 1 },
                                  (GdkRGBA[4]) { colour, colour, colour, colour });
    }
  draw_crosshair (self, snapshot, s, ox, oy);
  /* The outline in a node of its own box. */
  draw_brush_outline (self, snapshot);
  draw_lasso (self, snapshot);

  /* a view of its own sequence says which */
  if (self->image_index >= 0)
    title = g_strdup_printf ("%s  %d / %d   %s", ns_plane_to_string (self->plane),
                             self->geom.slice + 1, ns_plane_geometry_n_slices (&self->geom),
                             ns_viewer_modality_label (ns_viewer_get_image_name (
                               self->viewer, shown_image_index (self))));
  else
    title = g_strdup_printf ("%s  %d / %d", ns_plane_to_string (self->plane),
                             self->geom.slice + 1, ns_plane_geometry_n_slices (&self->geom));
  title[0] = g_ascii_toupper (title[0]);
  append_text (self, snapshot, title, 6, 4, 0, 0);
  append_text (self, snapshot, self->edge_letters[0], 6, h / 2.0, 0, 0.5);
  append_text (self, snapshot, self->edge_letters[1], w - 6, h / 2.0, 1, 0.5);
  append_text (self, snapshot, self->edge_letters[2], w / 2.0, 4, 0.5, 0);
  append_text (self, snapshot, self->edge_letters[3], w / 2.0, h - 4, 0.5, 1);

  if (gtk_widget_has_focus (widget))
    {
      GskRoundedRect outline;

      gsk_rounded_rect_init_from_rect (&outline, &bounds, 0);
      gtk_snapshot_append_border (snapshot, &outline, (float[4]) { 1, 1, 1, 1 },
                                  (GdkRGBA[4]) { { 0.2, 0.6, 1, 0.8 }, { 0.2, 0.6, 1, 0.8 },
                                                 { 0.2, 0.6, 1, 0.8 },
                                                 { 0.2, 0.6, 1, 0.8 } });
    }
}

static void
ns_slice_view_measure (GtkWidget *widget, GtkOrientation orientation, int for_size,
                       int *minimum, int *natural, int *minimum_baseline,
                       int *natural_baseline)
{
  *minimum = 64;
  *natural = 256;
}

/* ---- GObject ------------------------------------------------------------------------------- */

static void
ns_slice_view_dispose (GObject *object)
{
  NsSliceView *self = NS_SLICE_VIEW (object);

  ns_slice_view_set_viewer (self, NULL);
  ns_slice_view_set_editor (self, NULL);
  ns_slice_view_set_refine (self, NULL);
  g_clear_pointer (&self->surface, cairo_surface_destroy);
  g_clear_object (&self->layout);
  g_clear_pointer (&self->lasso, g_array_unref);

  G_OBJECT_CLASS (ns_slice_view_parent_class)->dispose (object);
}

static void
ns_slice_view_get_property (GObject *object, guint prop_id, GValue *value, GParamSpec *pspec)
{
  NsSliceView *self = NS_SLICE_VIEW (object);

  switch (prop_id)
    {
    case PROP_VIEWER:
      g_value_set_object (value, self->viewer);
      break;
    case PROP_PLANE:
      g_value_set_enum (value, self->plane);
      break;
    case PROP_ZOOM:
      g_value_set_double (value, self->zoom);
      break;
    case PROP_SLICE:
      g_value_set_int (value, ns_slice_view_get_slice (self));
      break;
    case PROP_IMAGE_INDEX:
      g_value_set_int (value, self->image_index);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
ns_slice_view_set_property (GObject *object, guint prop_id, const GValue *value,
                            GParamSpec *pspec)
{
  NsSliceView *self = NS_SLICE_VIEW (object);

  switch (prop_id)
    {
    case PROP_VIEWER:
      ns_slice_view_set_viewer (self, g_value_get_object (value));
      break;
    case PROP_PLANE:
      ns_slice_view_set_plane (self, g_value_get_enum (value));
      break;
    case PROP_ZOOM:
      ns_slice_view_set_zoom (self, g_value_get_double (value));
      break;
    case PROP_IMAGE_INDEX:
      ns_slice_view_set_image_index (self, g_value_get_int (value));
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
ns_slice_view_class_init (NsSliceViewClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->dispose = ns_slice_view_dispose;
  object_class->get_property = ns_slice_view_get_property;
  object_class->set_property = ns_slice_view_set_property;

  widget_class->snapshot = ns_slice_view_snapshot;
  widget_class->measure = ns_slice_view_measure;

  properties[PROP_VIEWER] =
    g_param_spec_object ("viewer", NULL, NULL, NS_TYPE_VIEWER,
                         G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  properties[PROP_PLANE] =
    g_param_spec_enum ("plane", NULL, NULL, NS_TYPE_PLANE, NS_PLANE_AXIAL,
                       G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  properties[PROP_ZOOM] =
    g_param_spec_double ("zoom", NULL, NULL, ZOOM_MIN, ZOOM_MAX, 1.0,
                         G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  properties[PROP_SLICE] =
    g_param_spec_int ("slice", NULL, NULL, -1, G_MAXINT, -1,
                      G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);
  properties[PROP_IMAGE_INDEX] =
    g_param_spec_int ("image-index", NULL, NULL, -1, NS_VIEWER_MAX_IMAGES - 1, -1,
                      G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  g_object_class_install_properties (object_class, N_PROPS, properties);

  /* Zoom or pan changed (by the user or ns_slice_view_set_transform ()). */
  signals[TRANSFORM_CHANGED] = g_signal_new ("transform-changed", G_TYPE_FROM_CLASS (klass),
                                             G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL,
                                             G_TYPE_NONE, 0);

  gtk_widget_class_set_css_name (widget_class, "sliceview");
  gtk_widget_class_set_accessible_role (widget_class, GTK_ACCESSIBLE_ROLE_IMG);
}

static void
ns_slice_view_init (NsSliceView *self)
{
  GtkGesture *drag;
  GtkEventController *controller;

  self->zoom = 1.0;
  self->pointer_x = -1;
  self->pointer_y = -1;
  self->plane = NS_PLANE_AXIAL;
  self->image_index = -1;
  self->lasso = g_array_new (FALSE, FALSE, sizeof (double));
  for (int e = 0; e < 4; e++)
    self->edge_letters[e][0] = self->edge_letters[e][1] = '\0';
  self->layout = gtk_widget_create_pango_layout (GTK_WIDGET (self), NULL);

  gtk_widget_set_focusable (GTK_WIDGET (self), TRUE);
  gtk_widget_set_hexpand (GTK_WIDGET (self), TRUE);
  gtk_widget_set_vexpand (GTK_WIDGET (self), TRUE);
  gtk_widget_set_overflow (GTK_WIDGET (self), GTK_OVERFLOW_HIDDEN);

  drag = gtk_gesture_drag_new ();
  gtk_gesture_single_set_button (GTK_GESTURE_SINGLE (drag), 0);
  g_signal_connect_swapped (drag, "drag-begin", G_CALLBACK (drag_begin_cb), self);
  g_signal_connect_swapped (drag, "drag-update", G_CALLBACK (drag_update_cb), self);
  g_signal_connect_swapped (drag, "drag-end", G_CALLBACK (drag_end_cb), self);
  g_signal_connect_swapped (drag, "cancel", G_CALLBACK (drag_cancel_cb), self);
  gtk_widget_add_controller (GTK_WIDGET (self), GTK_EVENT_CONTROLLER (drag));

  controller = gtk_event_controller_scroll_new (GTK_EVENT_CONTROLLER_SCROLL_VERTICAL
                                                | GTK_EVENT_CONTROLLER_SCROLL_DISCRETE);
  g_signal_connect_swapped (controller, "scroll", G_CALLBACK (scroll_cb), self);
  gtk_widget_add_controller (GTK_WIDGET (self), controller);

  controller = gtk_event_controller_motion_new ();
  g_signal_connect_swapped (controller, "enter", G_CALLBACK (motion_cb), self);
  g_signal_connect_swapped (controller, "motion", G_CALLBACK (motion_cb), self);
  g_signal_connect_swapped (controller, "leave", G_CALLBACK (leave_cb), self);
  gtk_widget_add_controller (GTK_WIDGET (self), controller);

  controller = gtk_event_controller_key_new ();
  g_signal_connect_swapped (controller, "key-pressed", G_CALLBACK (key_pressed_cb), self);
  g_signal_connect_swapped (controller, "key-released", G_CALLBACK (key_released_cb), self);
  gtk_widget_add_controller (GTK_WIDGET (self), controller);

  controller = gtk_event_controller_focus_new ();
  g_signal_connect_swapped (controller, "enter", G_CALLBACK (gtk_widget_queue_draw), self);
  g_signal_connect_swapped (controller, "leave", G_CALLBACK (gtk_widget_queue_draw), self);
  gtk_widget_add_controller (GTK_WIDGET (self), controller);
}

GtkWidget *
ns_slice_view_new (NsViewer *viewer, NsPlane plane)
{
  return g_object_new (NS_TYPE_SLICE_VIEW, "viewer", viewer, "plane", plane, NULL);
}

/* ---- accessors ----------------------------------------------------------------------------- */

NsViewer *
ns_slice_view_get_viewer (NsSliceView *self)
{
  g_return_val_if_fail (NS_IS_SLICE_VIEW (self), NULL);
  return self->viewer;
}

void
ns_slice_view_set_viewer (NsSliceView *self, NsViewer *viewer)
{
  g_return_if_fail (NS_IS_SLICE_VIEW (self));
  g_return_if_fail (viewer == NULL || NS_IS_VIEWER (viewer));

  if (self->viewer == viewer)
    return;
  if (self->viewer != NULL)
    g_signal_handlers_disconnect_by_data (self->viewer, self);
  g_set_object (&self->viewer, viewer);
  if (viewer != NULL)
    {
      g_signal_connect_object (viewer, "case-changed", G_CALLBACK (viewer_case_changed_cb),
                               self, G_CONNECT_SWAPPED);
      g_signal_connect_object (viewer, "cursor-changed",
                               G_CALLBACK (viewer_cursor_changed_cb), self,
                               G_CONNECT_SWAPPED);
      g_signal_connect_object (viewer, "display-changed",
                               G_CALLBACK (viewer_display_changed_cb), self,
                               G_CONNECT_SWAPPED);
      g_signal_connect_object (viewer, "labels-damaged",
                               G_CALLBACK (viewer_labels_damaged_cb), self,
                               G_CONNECT_SWAPPED);
    }
  rebuild_geometry (self);
  gtk_widget_queue_draw (GTK_WIDGET (self));
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_VIEWER]);
}

NsPlane
ns_slice_view_get_plane (NsSliceView *self)
{
  g_return_val_if_fail (NS_IS_SLICE_VIEW (self), NS_PLANE_AXIAL);
  return self->plane;
}

void
ns_slice_view_set_plane (NsSliceView *self, NsPlane plane)
{
  g_return_if_fail (NS_IS_SLICE_VIEW (self));
  g_return_if_fail (plane < NS_N_PLANES);

  if (self->plane == plane)
    return;
  self->plane = plane;
  rebuild_geometry (self);
  gtk_widget_queue_draw (GTK_WIDGET (self));
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_PLANE]);
}

double
ns_slice_view_get_zoom (NsSliceView *self)
{
  g_return_val_if_fail (NS_IS_SLICE_VIEW (self), 1.0);
  return self->zoom;
}

void
ns_slice_view_set_zoom (NsSliceView *self, double zoom)
{
  int w, h;

  g_return_if_fail (NS_IS_SLICE_VIEW (self));

  w = gtk_widget_get_width (GTK_WIDGET (self));
  h = gtk_widget_get_height (GTK_WIDGET (self));
  zoom_about (self, w / 2.0, h / 2.0, zoom);
}

void
ns_slice_view_reset (NsSliceView *self)
{
  g_return_if_fail (NS_IS_SLICE_VIEW (self));

  ns_slice_view_set_transform (self, 1.0, 0, 0);
}

void
ns_slice_view_get_transform (NsSliceView *self, double *zoom, double *pan_x, double *pan_y)
{
  g_return_if_fail (NS_IS_SLICE_VIEW (self));

  *zoom = self->zoom;
  *pan_x = self->pan_x;
  *pan_y = self->pan_y;
}

void
ns_slice_view_set_transform (NsSliceView *self, double zoom, double pan_x, double pan_y)
{
  gboolean zoom_changed;

  g_return_if_fail (NS_IS_SLICE_VIEW (self));
  g_return_if_fail (isfinite (zoom) && isfinite (pan_x) && isfinite (pan_y));

  zoom = CLAMP (zoom, ZOOM_MIN, ZOOM_MAX);
  if (zoom == self->zoom && pan_x == self->pan_x && pan_y == self->pan_y)
    return;
  zoom_changed = zoom != self->zoom;
  self->zoom = zoom;
  self->pan_x = pan_x;
  self->pan_y = pan_y;
  if (zoom_changed)
    g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_ZOOM]);
  transform_changed (self);
}

int
ns_slice_view_get_image_index (NsSliceView *self)
{
  g_return_val_if_fail (NS_IS_SLICE_VIEW (self), -1);
  return self->image_index;
}

void
ns_slice_view_set_image_index (NsSliceView *self, int index)
{
  g_return_if_fail (NS_IS_SLICE_VIEW (self));
  g_return_if_fail (index >= -1 && index < NS_VIEWER_MAX_IMAGES);

  if (self->image_index == index)
    return;
  self->image_index = index;
  self->dirty = TRUE;
  gtk_widget_queue_draw (GTK_WIDGET (self));
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_IMAGE_INDEX]);
}

int
ns_slice_view_get_slice (NsSliceView *self)
{
  g_return_val_if_fail (NS_IS_SLICE_VIEW (self), -1);
  return self->has_geom ? self->geom.slice : -1;
}

const NsPlaneGeometry *
ns_slice_view_get_geometry (NsSliceView *self)
{
  g_return_val_if_fail (NS_IS_SLICE_VIEW (self), NULL);
  return self->has_geom ? &self->geom : NULL;
}

cairo_surface_t *
ns_slice_view_get_surface (NsSliceView *self)
{
  g_return_val_if_fail (NS_IS_SLICE_VIEW (self), NULL);

  if (!self->has_geom)
    return NULL;
  ensure_surface (self);
  return self->surface;
}

NsEditor *
ns_slice_view_get_editor (NsSliceView *self)
{
  g_return_val_if_fail (NS_IS_SLICE_VIEW (self), NULL);
  return self->editor;
}

void
ns_slice_view_set_editor (NsSliceView *self, NsEditor *editor)
{
  g_return_if_fail (NS_IS_SLICE_VIEW (self));
  g_return_if_fail (editor == NULL || NS_IS_EDITOR (editor));

  if (self->editor == editor)
    return;
  if (self->editor != NULL)
    g_signal_handlers_disconnect_by_data (self->editor, self);
  if (self->drag_mode == DRAG_PAINT)
    self->drag_mode = DRAG_NONE;
  g_set_object (&self->editor, editor);
  if (editor != NULL)
    {
      /* The outline changes with the tool and the brush. */
      g_signal_connect_object (editor, "notify", G_CALLBACK (gtk_widget_queue_draw), self,
                               G_CONNECT_SWAPPED);
    }
  gtk_widget_queue_draw (GTK_WIDGET (self));
}

NsRefine *
ns_slice_view_get_refine (NsSliceView *self)
{
  g_return_val_if_fail (NS_IS_SLICE_VIEW (self), NULL);
  return self->refine;
}

void
ns_slice_view_set_refine (NsSliceView *self, NsRefine *refine)
{
  g_return_if_fail (NS_IS_SLICE_VIEW (self));
  g_return_if_fail (refine == NULL || NS_IS_REFINE (refine));

  if (self->refine == refine)
    return;
  if (self->refine != NULL)
    g_signal_handlers_disconnect_by_data (self->refine, self);
  if (self->drag_mode == DRAG_REFINE || self->drag_mode == DRAG_REFINE_BOX)
    self->drag_mode = DRAG_NONE;
  g_set_object (&self->refine, refine);
  /* the outline of the changed voxels follows the preview */
  if (refine != NULL)
    g_signal_connect_object (refine, "preview-updated", G_CALLBACK (gtk_widget_queue_draw),
                             self, G_CONNECT_SWAPPED);
  gtk_widget_queue_draw (GTK_WIDGET (self));
}
