/* SPDX-License-Identifier: MIT
 *
 * ns-view3d.c: the 3D view widget (see ns-view3d.h).  It draws with one of the two
 * renderers shared with `neuroseg render --plane 3d`: OpenGL in a GtkGLArea child, or the
 * CPU renderer (render/ns-raster3d.h) into a GdkMemoryTexture that the widget's snapshot
 * hands to GSK (no GL context of its own).  This file keeps the surfaces in step with the
 * viewer and turns the mouse into camera moves and cursor picks; both renderers share all
 * of that, and picking is a ray against the meshes, the same for both.
 *
 * Which renderer (ns_view3d_pick_renderer (), the rule): NEUROSEG_3D=gl or cpu if set;
 * else the CPU where OpenGL is a software rasteriser (llvmpipe on a VM or under Xvfb) or
 * missing, GL where a GPU driver answers.  On llvmpipe a GtkGLArea costs ~43 MiB resident
 * (its context, buffers and JIT'd shaders; 29 MiB of it heap) and draws the bundled case's
 * 512 x 512 frame in 46-98 ms; the CPU renderer needs a frame, a depth buffer and the scene
 * it keeps, and takes ~13 ms of CPU there (docs/memory.md).  What GL is comes from the
 * probe the application made at startup to pick GSK's renderer
 * (ns_application_probe_gl_renderer ()); no second context is made unless the user set
 * GSK_RENDERER, which skips that probe.
 *
 * Keeping up with edits: the viewer emits "labels-damaged" with a box for each dab of a
 * stroke and for undo and redo, and "labels-changed" for every change of the labels; an
 * edit's "labels-changed" comes alone (the volumes were recounted), a wholesale change
 * (Run Model, recovery, a reload) is followed by "display-changed".  So a box re-meshes
 * its blocks, and "labels-changed" then "display-changed" re-mesh everything; all wait
 * for an idle so that a stroke's many events cost one update.  A label map that is not
 * the one meshed (a new case, Run Model's result) is always meshed whole.  The update hands
 * the work to a worker thread (ns-surface-worker.h) and returns: the last complete surfaces
 * are drawn until the new ones are in place.  The menu (ns-view3d-menu.h) picks per-label
 * or WT / TC / ET region surfaces, the decimation level and the outline.
 */
#define G_LOG_DOMAIN "neuroseg-ui"

#include "ns-view3d.h"
#include "ns-surface-worker.h"
#include "ns-view3d-menu.h"
#include "ns-labels.h"

#include "ns-application.h"
#include "ns-raster3d.h"

#include <math.h>
#include <string.h>

#define OUTLINE_STEP 2

struct _NsView3d
{
  GtkWidget parent_instance;

  GtkGLArea *area;               /* the GL renderer's; NULL on the CPU path */
  GtkWidget *menu;               /* ns-view3d-menu.h, over the drawing */
  NsViewer *viewer;
  NsRenderer3d *renderer;        /* GL: while realized */
  NsRaster3d *raster;            /* the CPU renderer; NULL on the GL path */
  GError *error;

  NsSurfaceWorker *worker;       /* meshes the labels and the outline off the main thread */
  NsLabelMap *meshed;            /* the map last handed to it (a reference) */
  gboolean full_pending;
  gboolean maybe_replaced;       /* "labels-changed" seen: whole if "display-changed" follows */
  gboolean box_pending;
  gboolean outline_pending;      /* a new case: the brain outline to mesh */
  int box[6];                    /* min i, j, k, max i, j, k of the pending edits */
  guint update_idle;

  NsCamera3d cam;
  NsRender3dStyle style;         /* what the renderers get: colours by surface id */
  NsOverlayStyle overlay;        /* the viewer's label colours */
  gboolean see_through;
  gboolean pan_drag;
  double drag_done[2];           /* offset of the drag already applied */
  gint64 last_frame_us;
};

G_DEFINE_FINAL_TYPE (NsView3d, ns_view3d, GTK_TYPE_WIDGET)

enum
{
  PROP_0,
  PROP_VIEWER,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

/* ---- keeping the surfaces up to date ------------------------------------------------------ */

static void
queue_render (NsView3d *self)
{
  if (self->area != NULL)
    gtk_gl_area_queue_render (self->area);
  else
    gtk_widget_queue_draw (GTK_WIDGET (self));
}

static void
set_renderer_surfaces (NsView3d *self)
{
  if (self->renderer != NULL)
    ns_renderer3d_set_surfaces (self->renderer, ns_surface_worker_get_surfaces (self->worker),
                                ns_surface_worker_get_outline (self->worker));
  if (self->raster != NULL)
    ns_raster3d_set_surfaces (self->raster, ns_surface_worker_get_surfaces (self->worker),
                              ns_surface_worker_get_outline (self->worker));
}

/* The colours of the surfaces by id: the overlay's for label surfaces; for regions the
 * colour of the label each region adds to the one inside it (WT the edema's, TC the
 * core's, ET the enhancing tumour's); WT and TC see-through so the inner regions show,
 * ET opaque. */
static void
update_surface_style (NsView3d *self)
{
  static const guint8 region_label[NS_N_REGIONS] = { 2, 1, 4 };
  const NsSurfaces *drawn = self->worker != NULL ? ns_surface_worker_get_surfaces (self->worker)
                                                 : NULL;

  self->style.labels = self->overlay;
  self->style.label_opacity = self->see_through ? 0.5 : 1.0;
  self->style.opaque_label = 0;
  /* The kind of the surfaces drawn, which the new settings' surfaces replace only once
   * meshed. */
  if (drawn != NULL && ns_surfaces_get_kind (drawn) == NS_SURFACES_REGIONS)
    {
      for (int id = 1; id < 256; id++)
        self->style.labels.visible[id] = FALSE;
      for (NsRegion r = NS_REGION_WT; r < NS_N_REGIONS; r++)
        {
          self->style.labels.rgb[1 + r] = self->overlay.rgb[region_label[r]];
          self->style.labels.visible[1 + r] = self->overlay.visible[region_label[r]];
        }
      /* WT and TC see-through, ET (inside both) opaque. */
      self->style.label_opacity = 0.5;
      self->style.opaque_label = 1 + NS_REGION_ET;
    }
}

/* The worker put new surfaces in place: draw them. */
static void
surfaces_updated_cb (gpointer data)
{
  NsView3d *self = data;

  update_surface_style (self);
  set_renderer_surfaces (self);
  queue_render (self);
}

/* Hands what changed to the worker, which meshes it on its thread (never blocks; the new
 * surfaces come through surfaces_updated_cb ()). */
static void
update_surfaces (NsView3d *self)
{
  NsLabelMap *labels = self->viewer != NULL ? ns_viewer_get_labels (self->viewer) : NULL;

  g_clear_handle_id (&self->update_idle, g_source_remove);
  if (self->worker == NULL)      /* disposed */
    return;
  if (self->outline_pending)
    {
      NsVolume *image = self->viewer != NULL && ns_viewer_get_n_images (self->viewer) > 0
                          ? ns_viewer_get_image (self->viewer, 0) : NULL;
      ns_surface_worker_mesh_outline (self->worker, image);
      self->outline_pending = FALSE;
    }
  if (self->full_pending || labels != self->meshed)
    ns_surface_worker_mesh_all (self->worker, labels);
  else if (self->box_pending && labels != NULL)
    ns_surface_worker_mesh_box (self->worker, labels, self->box);
  if (labels != self->meshed)
    {
      g_clear_pointer (&self->meshed, ns_label_map_unref);
      self->meshed = labels != NULL ? ns_label_map_ref (labels) : NULL;
    }
  self->full_pending = FALSE;
  self->box_pending = FALSE;
  self->maybe_replaced = FALSE;
}

static void
update_now (NsView3d *self)
{
  update_surfaces (self);
  queue_render (self);
}

static gboolean
update_idle_cb (gpointer data)
{
  NsView3d *self = data;
  self->update_idle = 0;
  update_now (self);
  return G_SOURCE_REMOVE;
}

static gboolean
update_wanted (NsView3d *self)
{
  return self->update_idle != 0 || self->full_pending || self->box_pending
         || self->outline_pending;
}

/* While the view is hidden (another layout) the work waits for it to show (map). */
static void
queue_update (NsView3d *self)
{
  if (!gtk_widget_get_mapped (GTK_WIDGET (self)))
    return;
  if (self->update_idle == 0)
    self->update_idle = g_idle_add_full (G_PRIORITY_DEFAULT_IDLE, update_idle_cb, self, NULL);
}

static void
labels_changed_cb (NsView3d *self)
{
  self->maybe_replaced = TRUE;
  queue_update (self);
}

static void
labels_damaged_cb (NsView3d *self, const int *box)
{
  /* An edit: this box says what it changed. */
  self->maybe_replaced = FALSE;
  if (!self->box_pending)
    memcpy (self->box, box, sizeof self->box);
  else
    for (int a = 0; a < 3; a++)
      {
        self->box[a] = MIN (self->box[a], box[a]);
        self->box[3 + a] = MAX (self->box[3 + a], box[3 + a]);
      }
  self->box_pending = TRUE;
  queue_update (self);
}

static void
case_changed_cb (NsView3d *self)
{
  const NsGrid *grid = self->viewer != NULL ? ns_viewer_get_grid (self->viewer) : NULL;

  if (grid != NULL)
    ns_camera3d_init (&self->cam, grid);
  /* Not the previous case's surfaces while the new ones are meshed. */
  ns_surface_worker_clear (self->worker);
  self->outline_pending = TRUE;
  self->full_pending = TRUE;
  queue_update (self);
}

static void
cursor_changed_cb (NsView3d *self)
{
  double voxel[3];
  const NsGrid *grid = ns_viewer_get_grid (self->viewer);

  if (grid == NULL)
    return;
  ns_viewer_get_cursor (self->viewer, voxel);
  ns_geometry_voxel_to_ras (grid, voxel, self->style.cursor_ras);
  queue_render (self);
}

static void
display_changed_cb (NsView3d *self)
{
  const NsOverlayStyle *overlay = ns_viewer_get_overlay_style (self->viewer);

  if (self->maybe_replaced)
    {
      /* "labels-changed" then this: the labels changed wholesale */
      self->maybe_replaced = FALSE;
      self->full_pending = TRUE;
      queue_update (self);
    }
  if (overlay != NULL)
    {
      self->overlay = *overlay;
      update_surface_style (self);
    }
  self->style.show_cursor = ns_viewer_get_show_crosshair (self->viewer);
  queue_render (self);
}

/* ---- GL ---------------------------------------------------------------------------------- */

static void
area_realize_cb (NsView3d *self)
{
  GError *error = NULL;

  gtk_gl_area_make_current (self->area);
  if (gtk_gl_area_get_error (self->area) != NULL)
    return;
  self->renderer = ns_renderer3d_new (&error);
  if (self->renderer == NULL)
    {
      g_warning ("the 3D view cannot draw: %s", error->message);
      gtk_gl_area_set_error (self->area, error);
      g_clear_error (&self->error);
      self->error = error;
      return;
    }
  ns_renderer3d_set_surfaces (self->renderer, ns_surface_worker_get_surfaces (self->worker),
                              ns_surface_worker_get_outline (self->worker));
}

static void
area_unrealize_cb (NsView3d *self)
{
  gtk_gl_area_make_current (self->area);
  if (gtk_gl_area_get_error (self->area) == NULL)
    g_clear_pointer (&self->renderer, ns_renderer3d_free);
  else
    self->renderer = NULL;
}

static gboolean
area_render_cb (NsView3d *self, GdkGLContext *context)
{
  int scale = gtk_widget_get_scale_factor (GTK_WIDGET (self->area));
  int w = gtk_widget_get_width (GTK_WIDGET (self->area)) * scale;
  int h = gtk_widget_get_height (GTK_WIDGET (self->area)) * scale;
  gint64 start = g_get_monotonic_time ();

  if (self->renderer == NULL || w <= 0 || h <= 0)
    return FALSE;
  if (update_wanted (self))
    update_surfaces (self);
  ns_renderer3d_draw (self->renderer, &self->cam, &self->style, w, h);
  ns_renderer3d_finish (self->renderer); /* so that the time is the frame's */
  self->last_frame_us = g_get_monotonic_time () - start;
  return TRUE;
}

/* ---- the CPU renderer ------------------------------------------------------------------ */

static void
ns_view3d_snapshot (GtkWidget *widget, GtkSnapshot *snapshot)
{
  NsView3d *self = NS_VIEW3D (widget);
  int width = gtk_widget_get_width (widget), height = gtk_widget_get_height (widget);
  int scale = gtk_widget_get_scale_factor (widget), w = width * scale, h = height * scale;
  g_autoptr (GBytes) bytes = NULL;
  g_autoptr (GdkTexture) texture = NULL;
  guint8 *pixels;
  gint64 start;

  if (self->raster == NULL)
    {
      GTK_WIDGET_CLASS (ns_view3d_parent_class)->snapshot (widget, snapshot);
      return;
    }
  if (w <= 0 || h <= 0)
    return;
  if (update_wanted (self))
    update_surfaces (self);
  start = g_get_monotonic_time ();
  /* A buffer per frame, handed to the texture: GSK may still hold the previous one. */
  pixels = g_malloc ((gsize) w * h * 4);
  ns_raster3d_draw (self->raster, &self->cam, &self->style, w, h, pixels, (gsize) w * 4);
  bytes = g_bytes_new_take (pixels, (gsize) w * h * 4);
  texture = gdk_memory_texture_new (w, h, GDK_MEMORY_DEFAULT, bytes, (gsize) w * 4);
  self->last_frame_us = MAX (g_get_monotonic_time () - start, 1);
  gtk_snapshot_append_texture (snapshot, texture, &GRAPHENE_RECT_INIT (0, 0, width, height));
  if (self->menu != NULL)
    gtk_widget_snapshot_child (widget, self->menu, snapshot);
}

/* "gl" or "cpu" in NEUROSEG_3D decides alone (no GL probe needed). */
static gboolean
override_decides (const char *override)
{
  return g_strcmp0 (override, "gl") == 0 || g_strcmp0 (override, "cpu") == 0;
}

NsView3dRenderer
ns_view3d_pick_renderer (const char *override, const char *gl_renderer)
{
  if (override_decides (override))
    return strcmp (override, "gl") == 0 ? NS_VIEW3D_RENDERER_GL : NS_VIEW3D_RENDERER_CPU;
  if (gl_renderer == NULL || ns_application_gl_is_software (gl_renderer))
    return NS_VIEW3D_RENDERER_CPU;
  return NS_VIEW3D_RENDERER_GL;
}

static NsView3dRenderer
choose_renderer (GtkWidget *widget)
{
  const char *override = g_getenv ("NEUROSEG_3D");

  if (override != NULL && override[0] != '\0' && !override_decides (override))
    g_message ("NEUROSEG_3D=%s: not gl or cpu, ignored", override);
  if (override_decides (override))
    return ns_view3d_pick_renderer (override, NULL);
  return ns_view3d_pick_renderer (
    NULL, ns_application_probe_gl_renderer (gtk_widget_get_display (widget)));
}

const char *
ns_view3d_get_renderer_name (NsView3d *self)
{
  g_return_val_if_fail (NS_IS_VIEW3D (self), NULL);
  return self->raster != NULL ? "cpu" : "gl";
}

/* ---- input ---------------------------------------------------------------------------------- */

gboolean
ns_view3d_pick (NsView3d *self, double x, double y, double ras[3])
{
  int w = gtk_widget_get_width (GTK_WIDGET (self)), h = gtk_widget_get_height (GTK_WIDGET (self));
  double origin[3], dir[3], best = INFINITY, t;
  g_autoptr (GArray) v = g_array_new (FALSE, FALSE, sizeof (NsMeshVertex));
  gboolean present[256];
  const NsSurfaces *surfaces, *outline;

  g_return_val_if_fail (NS_IS_VIEW3D (self), FALSE);
  if (update_wanted (self))
    update_now (self);
  surfaces = ns_surface_worker_get_surfaces (self->worker);
  outline = ns_surface_worker_get_outline (self->worker);
  ns_camera3d_ray (&self->cam, w, h, x, y, origin, dir);
  if (surfaces != NULL)
    {
      ns_surfaces_get_labels (surfaces, present);
      for (int l = 1; l < 256; l++)
        if (present[l] && self->style.labels.visible[l])
          {
            g_array_set_size (v, 0);
            ns_surfaces_collect (surfaces, (guint8) l, v, NULL);
            if (ns_mesh_ray_pick ((NsMeshVertex *) v->data, v->len, origin, dir, &t))
              best = MIN (best, t);
          }
    }
  if (!isfinite (best) && outline != NULL && self->style.show_outline)
    {
      g_array_set_size (v, 0);
      ns_surfaces_collect (outline, 1, v, NULL);
      if (ns_mesh_ray_pick ((NsMeshVertex *) v->data, v->len, origin, dir, &t))
        best = t;
    }
  if (!isfinite (best))
    return FALSE;
  for (int a = 0; a < 3; a++)
    ras[a] = origin[a] + best * dir[a];
  return TRUE;
}

static void
drag_begin_cb (GtkGestureDrag *gesture, double x, double y, NsView3d *self)
{
  GdkModifierType mods = gtk_event_controller_get_current_event_state (
    GTK_EVENT_CONTROLLER (gesture));
  guint button = gtk_gesture_single_get_current_button (GTK_GESTURE_SINGLE (gesture));

  self->pan_drag = button == GDK_BUTTON_MIDDLE || (mods & GDK_SHIFT_MASK) != 0;
  self->drag_done[0] = self->drag_done[1] = 0.0;
}

static void
drag_update_cb (GtkGestureDrag *gesture, double dx, double dy, NsView3d *self)
{
  double ddx = dx - self->drag_done[0], ddy = dy - self->drag_done[1];

  if (self->pan_drag)
    ns_camera3d_pan (&self->cam, ddx, ddy, gtk_widget_get_height (GTK_WIDGET (self)));
  else
    ns_camera3d_rotate (&self->cam, ddx, ddy);
  self->drag_done[0] = dx;
  self->drag_done[1] = dy;
  queue_render (self);
}

static void
drag_end_cb (GtkGestureDrag *gesture, double dx, double dy, NsView3d *self)
{
  double x, y, ras[3], voxel[3];
  const NsGrid *grid;

  drag_update_cb (gesture, dx, dy, self);
  /* A press and release that did not move is a click: locate. */
  if (self->pan_drag || hypot (dx, dy) > 3.0 || self->viewer == NULL
      || (grid = ns_viewer_get_grid (self->viewer)) == NULL
      || !gtk_gesture_drag_get_start_point (gesture, &x, &y))
    return;
  if (ns_view3d_pick (self, x, y, ras) && ns_geometry_ras_to_voxel (grid, ras, voxel))
    {
      for (int a = 0; a < 3; a++)
        voxel[a] = CLAMP (round (voxel[a]), 0, grid->dim[a] - 1);
      ns_viewer_set_cursor (self->viewer, voxel);
    }
}

static gboolean
scroll_cb (GtkEventControllerScroll *scroll, double dx, double dy, NsView3d *self)
{
  ns_camera3d_zoom (&self->cam, -dy);
  queue_render (self);
  return TRUE;
}

/* ---- GObject ----------------------------------------------------------------------------- */

void
ns_view3d_set_viewer (NsView3d *self, NsViewer *viewer)
{
  g_return_if_fail (NS_IS_VIEW3D (self));

  if (self->viewer == viewer)
    return;
  if (self->viewer != NULL)
    g_signal_handlers_disconnect_by_data (self->viewer, self);
  g_set_object (&self->viewer, viewer);
  if (viewer != NULL)
    {
      g_signal_connect_object (viewer, "case-changed", G_CALLBACK (case_changed_cb), self,
                               G_CONNECT_SWAPPED);
      g_signal_connect_object (viewer, "labels-changed", G_CALLBACK (labels_changed_cb), self,
                               G_CONNECT_SWAPPED);
      g_signal_connect_object (viewer, "labels-damaged", G_CALLBACK (labels_damaged_cb), self,
                               G_CONNECT_SWAPPED);
      g_signal_connect_object (viewer, "cursor-changed", G_CALLBACK (cursor_changed_cb), self,
                               G_CONNECT_SWAPPED);
      g_signal_connect_object (viewer, "display-changed", G_CALLBACK (display_changed_cb), self,
                               G_CONNECT_SWAPPED);
      case_changed_cb (self);
      cursor_changed_cb (self);
      display_changed_cb (self);
    }
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_VIEWER]);
}

NsViewer *
ns_view3d_get_viewer (NsView3d *self)
{
  g_return_val_if_fail (NS_IS_VIEW3D (self), NULL);
  return self->viewer;
}

void
ns_view3d_set_see_through (NsView3d *self, gboolean see_through)
{
  g_return_if_fail (NS_IS_VIEW3D (self));
  self->see_through = see_through;
  update_surface_style (self);
  queue_render (self);
}

void
ns_view3d_set_show_outline (NsView3d *self, gboolean show)
{
  g_return_if_fail (NS_IS_VIEW3D (self));
  self->style.show_outline = show;
  queue_render (self);
}

gboolean
ns_view3d_get_show_outline (NsView3d *self)
{
  g_return_val_if_fail (NS_IS_VIEW3D (self), FALSE);
  return self->style.show_outline;
}

const NsCamera3d *
ns_view3d_get_camera (NsView3d *self)
{
  g_return_val_if_fail (NS_IS_VIEW3D (self), NULL);
  return &self->cam;
}

const NsSurfaces *
ns_view3d_get_surfaces (NsView3d *self)
{
  g_return_val_if_fail (NS_IS_VIEW3D (self), NULL);
  if (update_wanted (self))
    update_now (self);
  return ns_surface_worker_get_surfaces (self->worker);
}

gboolean
ns_view3d_is_meshing (NsView3d *self)
{
  g_return_val_if_fail (NS_IS_VIEW3D (self), FALSE);
  return update_wanted (self) || ns_surface_worker_is_busy (self->worker);
}

guint
ns_view3d_get_last_remeshed (NsView3d *self)
{
  g_return_val_if_fail (NS_IS_VIEW3D (self), 0);
  return ns_surface_worker_get_last_remeshed (self->worker);
}

void
ns_view3d_set_surface_kind (NsView3d *self, NsSurfaceKind kind)
{
  g_return_if_fail (NS_IS_VIEW3D (self));
  ns_surface_worker_set_settings (self->worker, kind,
                                  ns_surface_worker_get_decimation (self->worker));
}

NsSurfaceKind
ns_view3d_get_surface_kind (NsView3d *self)
{
  g_return_val_if_fail (NS_IS_VIEW3D (self), NS_SURFACES_LABELS);
  return ns_surface_worker_get_kind (self->worker);
}

void
ns_view3d_set_decimation (NsView3d *self, NsMeshDecimation decimation)
{
  g_return_if_fail (NS_IS_VIEW3D (self));
  ns_surface_worker_set_settings (self->worker, ns_surface_worker_get_kind (self->worker),
                                  decimation);
}

NsMeshDecimation
ns_view3d_get_decimation (NsView3d *self)
{
  g_return_val_if_fail (NS_IS_VIEW3D (self), NS_MESH_DECIMATE_OFF);
  return ns_surface_worker_get_decimation (self->worker);
}

gint64
ns_view3d_get_last_frame_us (NsView3d *self)
{
  g_return_val_if_fail (NS_IS_VIEW3D (self), 0);
  return self->last_frame_us;
}

const GError *
ns_view3d_get_error (NsView3d *self)
{
  g_return_val_if_fail (NS_IS_VIEW3D (self), NULL);
  if (self->error != NULL)
    return self->error;
  return self->area != NULL ? gtk_gl_area_get_error (self->area) : NULL;
}

static void
ns_view3d_dispose (GObject *object)
{
  NsView3d *self = NS_VIEW3D (object);

  g_clear_handle_id (&self->update_idle, g_source_remove);
  if (self->viewer != NULL)
    g_signal_handlers_disconnect_by_data (self->viewer, self);
  g_clear_object (&self->viewer);
  g_clear_pointer (&self->menu, gtk_widget_unparent);
  if (self->area != NULL)
    {
      gtk_widget_unparent (GTK_WIDGET (self->area));
      self->area = NULL;
    }
  g_clear_pointer (&self->raster, ns_raster3d_free);
  g_clear_pointer (&self->worker, ns_surface_worker_free);
  g_clear_pointer (&self->meshed, ns_label_map_unref);
  g_clear_error (&self->error);
  G_OBJECT_CLASS (ns_view3d_parent_class)->dispose (object);
}

static void
ns_view3d_get_property (GObject *object, guint prop_id, GValue *value, GParamSpec *pspec)
{
  NsView3d *self = NS_VIEW3D (object);

  switch (prop_id)
    {
    case PROP_VIEWER:
      g_value_set_object (value, self->viewer);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
ns_view3d_set_property (GObject *object, guint prop_id, const GValue *value,
                        GParamSpec *pspec)
{
  NsView3d *self = NS_VIEW3D (object);

  switch (prop_id)
    {
    case PROP_VIEWER:
      ns_view3d_set_viewer (self, g_value_get_object (value));
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
ns_view3d_map (GtkWidget *widget)
{
  NsView3d *self = NS_VIEW3D (widget);

  GTK_WIDGET_CLASS (ns_view3d_parent_class)->map (widget);
  if (update_wanted (self))
    queue_update (self);
}

static void
ns_view3d_class_init (NsView3dClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->dispose = ns_view3d_dispose;
  object_class->get_property = ns_view3d_get_property;
  object_class->set_property = ns_view3d_set_property;

  properties[PROP_VIEWER] =
    g_param_spec_object ("viewer", NULL, NULL, NS_TYPE_VIEWER,
                         G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  g_object_class_install_properties (object_class, N_PROPS, properties);

  widget_class->map = ns_view3d_map;
  widget_class->snapshot = ns_view3d_snapshot;
  gtk_widget_class_set_layout_manager_type (widget_class, GTK_TYPE_BIN_LAYOUT);
  gtk_widget_class_set_css_name (widget_class, "view3d");
}

static void
ns_view3d_init (NsView3d *self)
{
  GtkGesture *drag;
  GtkEventController *scroll;
  NsGrid grid;

  ns_grid_init (&grid, 1, 1, 1, 1.0, 1.0, 1.0);
  ns_camera3d_init (&self->cam, &grid);
  self->worker = ns_surface_worker_new (NS_SURFACES_BLOCK_SIZE, OUTLINE_STEP, surfaces_updated_cb,
                                        self);
  ns_surface_worker_set_settings (self->worker, NS_SURFACES_LABELS, NS_MESH_DECIMATE_DEFAULT);
  ns_render3d_style_init (&self->style);
  self->overlay = self->style.labels;

  if (choose_renderer (GTK_WIDGET (self)) == NS_VIEW3D_RENDERER_CPU)
    {
      self->raster = ns_raster3d_new ();
      gtk_widget_set_hexpand (GTK_WIDGET (self), TRUE);
      gtk_widget_set_vexpand (GTK_WIDGET (self), TRUE);
    }
  else
    {
      self->area = GTK_GL_AREA (gtk_gl_area_new ());
      gtk_gl_area_set_has_depth_buffer (self->area, TRUE);
      gtk_widget_set_hexpand (GTK_WIDGET (self->area), TRUE);
      gtk_widget_set_vexpand (GTK_WIDGET (self->area), TRUE);
      gtk_widget_set_parent (GTK_WIDGET (self->area), GTK_WIDGET (self));
      g_signal_connect_swapped (self->area, "realize", G_CALLBACK (area_realize_cb), self);
      g_signal_connect_swapped (self->area, "unrealize", G_CALLBACK (area_unrealize_cb), self);
      g_signal_connect_swapped (self->area, "render", G_CALLBACK (area_render_cb), self);
    }
  /* After the GL area: drawn over it. */
  self->menu = ns_view3d_menu_new (self);
  gtk_widget_set_parent (self->menu, GTK_WIDGET (self));

  drag = gtk_gesture_drag_new ();
  gtk_gesture_single_set_button (GTK_GESTURE_SINGLE (drag), 0);  /* left and middle */
  g_signal_connect (drag, "drag-begin", G_CALLBACK (drag_begin_cb), self);
  g_signal_connect (drag, "drag-update", G_CALLBACK (drag_update_cb), self);
  g_signal_connect (drag, "drag-end", G_CALLBACK (drag_end_cb), self);
  gtk_widget_add_controller (GTK_WIDGET (self), GTK_EVENT_CONTROLLER (drag));

  scroll = gtk_event_controller_scroll_new (GTK_EVENT_CONTROLLER_SCROLL_VERTICAL
                                            | GTK_EVENT_CONTROLLER_SCROLL_DISCRETE);
  g_signal_connect (scroll, "scroll", G_CALLBACK (scroll_cb), self);
  gtk_widget_add_controller (GTK_WIDGET (self), scroll);
}

GtkWidget *
ns_view3d_new (NsViewer *viewer)
{
  return g_object_new (NS_TYPE_VIEW3D, "viewer", viewer, NULL);
}
