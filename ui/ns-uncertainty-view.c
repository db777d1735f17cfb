/* SPDX-License-Identifier: MIT
 *
 * ns-uncertainty-view.c: the axial slice at the cursor with the entropy map of the last
 * prediction over it (render/'s ns_render_image + ns_render_heat), scaled to fit with
 * nearest-neighbour sampling so that voxels stay sharp.
 */
#define G_LOG_DOMAIN "ns-uncertainty-view"

#include "ns-uncertainty-view.h"

#include "ns-heat-legend.h"
#include "ns-render.h"

struct _NsUncertaintyView
{
  GtkWidget parent_instance;

  NsViewer *viewer;
  NsModelRunner *runner;
};

G_DEFINE_FINAL_TYPE (NsUncertaintyView, ns_uncertainty_view, GTK_TYPE_WIDGET)

cairo_surface_t *
ns_uncertainty_view_render (NsViewer *viewer, NsModelRunner *runner, GError **error)
{
  NsVolume *entropy = ns_model_runner_get_entropy (runner);
  NsVolume *image = ns_viewer_get_shown_image (viewer);
  NsPlaneGeometry geom;
  NsLut heat;
  double cursor[3];
  cairo_surface_t *surface;

  if (image == NULL || entropy == NULL
      || !ns_grid_equal (&image->grid, &entropy->grid))
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED,
                   "no uncertainty map for the case shown (Run Model first)");
      return NULL;
    }
  ns_viewer_get_cursor (viewer, cursor);
  ns_plane_geometry_init (&geom, &image->grid, NS_PLANE_AXIAL, ns_viewer_get_convention (viewer),
                          0, cursor);
  surface = ns_render_surface_new (&geom);
  ns_lut_init (&heat, 1.0, 0.5, NS_HEAT_COLORMAP);
  if (!ns_render_image (surface, 0, 0, &geom, image, ns_viewer_get_lut (viewer),
                        NS_INTERP_NEAREST, error)
      || !ns_render_heat (surface, 0, 0, &geom, entropy, &heat, NS_HEAT_THRESHOLD,
                          NS_HEAT_OPACITY, NS_INTERP_NEAREST, error))
    {
      cairo_surface_destroy (surface);
      return NULL;
    }
  return surface;
}

static void
ns_uncertainty_view_snapshot (GtkWidget *widget, GtkSnapshot *snapshot)
{
  NsUncertaintyView *self = NS_UNCERTAINTY_VIEW (widget);
  int width = gtk_widget_get_width (widget), height = gtk_widget_get_height (widget);
  g_autoptr (GError) error = NULL;
  cairo_surface_t *s;
  cairo_t *cr;

  if (width <= 0 || height <= 0)
    return;
  cr = gtk_snapshot_append_cairo (snapshot, &GRAPHENE_RECT_INIT (0, 0, width, height));
  cairo_set_source_rgb (cr, 0, 0, 0);
  cairo_paint (cr);
  s = self->viewer != NULL ? ns_uncertainty_view_render (self->viewer, self->runner, &error)
                           : NULL;
  if (s == NULL)
    {
      cairo_set_source_rgb (cr, 0.8, 0.8, 0.8);
      cairo_move_to (cr, 10, 20);
      cairo_show_text (cr, error != NULL ? error->message : "");
      cairo_destroy (cr);
      return;
    }
  int w = cairo_image_surface_get_width (s), h = cairo_image_surface_get_height (s);
  double scale = MIN ((double) width / w, (double) height / h);

  cairo_translate (cr, (width - w * scale) / 2, (height - h * scale) / 2);
  cairo_scale (cr, scale, scale);
  cairo_set_source_surface (cr, s, 0, 0);
  cairo_pattern_set_filter (cairo_get_source (cr), CAIRO_FILTER_NEAREST);
  cairo_paint (cr);
  cairo_destroy (cr);
  cairo_surface_destroy (s);
}

static void
ns_uncertainty_view_measure (GtkWidget *widget, GtkOrientation orientation, int for_size,
                             int *minimum, int *natural, int *minimum_baseline,
                             int *natural_baseline)
{
  *minimum = 120;
  *natural = 360;
}

void
ns_uncertainty_view_set_source (NsUncertaintyView *self, NsViewer *viewer,
                                NsModelRunner *runner)
{
  g_return_if_fail (NS_IS_UNCERTAINTY_VIEW (self));

  if (self->viewer != NULL)
    g_signal_handlers_disconnect_by_data (self->viewer, self);
  if (self->runner != NULL)
    g_signal_handlers_disconnect_by_data (self->runner, self);
  g_set_object (&self->viewer, viewer);
  g_set_object (&self->runner, runner);
  if (viewer != NULL)
    {
      g_signal_connect_object (viewer, "cursor-changed", G_CALLBACK (gtk_widget_queue_draw),
                               self, G_CONNECT_SWAPPED);
      g_signal_connect_object (viewer, "display-changed", G_CALLBACK (gtk_widget_queue_draw),
                               self, G_CONNECT_SWAPPED);
    }
  if (runner != NULL)
    g_signal_connect_object (runner, "finished", G_CALLBACK (gtk_widget_queue_draw), self,
                             G_CONNECT_SWAPPED);
  gtk_widget_queue_draw (GTK_WIDGET (self));
}

static void
ns_uncertainty_view_dispose (GObject *object)
{
  ns_uncertainty_view_set_source (NS_UNCERTAINTY_VIEW (object), NULL, NULL);
  G_OBJECT_CLASS (ns_uncertainty_view_parent_class)->dispose (object);
}

static void
ns_uncertainty_view_class_init (NsUncertaintyViewClass *klass)
{
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  G_OBJECT_CLASS (klass)->dispose = ns_uncertainty_view_dispose;
  widget_class->snapshot = ns_uncertainty_view_snapshot;
  widget_class->measure = ns_uncertainty_view_measure;
  gtk_widget_class_set_css_name (widget_class, "uncertaintyview");
  gtk_widget_class_set_accessible_role (widget_class, GTK_ACCESSIBLE_ROLE_IMG);
}

static void
ns_uncertainty_view_init (NsUncertaintyView *self)
{
  gtk_widget_set_hexpand (GTK_WIDGET (self), TRUE);
  gtk_widget_set_vexpand (GTK_WIDGET (self), TRUE);
  gtk_accessible_update_property (GTK_ACCESSIBLE (self), GTK_ACCESSIBLE_PROPERTY_LABEL,
                                  "Uncertainty of the last prediction (axial slice at the "
                                  "cursor)", -1);
}

GtkWidget *
ns_uncertainty_view_new (NsViewer *viewer, NsModelRunner *runner)
{
  NsUncertaintyView *self = g_object_new (NS_TYPE_UNCERTAINTY_VIEW, NULL);

  ns_uncertainty_view_set_source (self, viewer, runner);
  return GTK_WIDGET (self);
}
