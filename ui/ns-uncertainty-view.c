/* SPDX-License-Identifier: MIT
 *
 * ns-uncertainty-view.c: the axial slice at the cursor with the entropy map of the last
 * prediction over it (render/'s ns_render_image + ns_render_heat).
 */
#define G_LOG_DOMAIN "neuroseg-ui"

#include "ns-uncertainty-view.h"

#include "ns-render.h"

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
  ns_lut_init (&heat, 1.0, 0.5, NS_COLORMAP_VIRIDIS);
  if (!ns_render_image (surface, 0, 0, &geom, image, ns_viewer_get_lut (viewer),
                        NS_INTERP_NEAREST, error)
      || !ns_render_heat (surface, 0, 0, &geom, entropy, &heat, 0.05, 0.7, NS_INTERP_NEAREST,
                          error))
    {
      cairo_surface_destroy (surface);
      return NULL;
    }
  return surface;
}

static void
draw (GtkDrawingArea *area, cairo_t *cr, int width, int height, gpointer data)
{
  NsViewer *viewer = g_object_get_data (G_OBJECT (area), "ns-viewer");
  NsModelRunner *runner = g_object_get_data (G_OBJECT (area), "ns-runner");
  g_autoptr (GError) error = NULL;
  cairo_surface_t *s = ns_uncertainty_view_render (viewer, runner, &error);

  cairo_set_source_rgb (cr, 0, 0, 0);
  cairo_paint (cr);
  if (s == NULL)
    {
      cairo_set_source_rgb (cr, 0.8, 0.8, 0.8);
      cairo_move_to (cr, 10, 20);
      cairo_show_text (cr, error->message);
      return;
    }
  int w = cairo_image_surface_get_width (s), h = cairo_image_surface_get_height (s);
  double scale = MIN ((double) width / w, (double) height / h);

  cairo_translate (cr, (width - w * scale) / 2, (height - h * scale) / 2);
  cairo_scale (cr, scale, scale);
  cairo_set_source_surface (cr, s, 0, 0);
  cairo_pattern_set_filter (cairo_get_source (cr), CAIRO_FILTER_NEAREST);
  cairo_paint (cr);
  cairo_surface_destroy (s);
}

GtkWidget *
ns_uncertainty_view_new (NsViewer *viewer, NsModelRunner *runner)
{
  GtkWidget *area = gtk_drawing_area_new ();

  g_object_set_data_full (G_OBJECT (area), "ns-viewer", g_object_ref (viewer), g_object_unref);
  g_object_set_data_full (G_OBJECT (area), "ns-runner", g_object_ref (runner), g_object_unref);
  gtk_drawing_area_set_content_width (GTK_DRAWING_AREA (area), 360);
  gtk_drawing_area_set_content_height (GTK_DRAWING_AREA (area), 360);
  gtk_drawing_area_set_draw_func (GTK_DRAWING_AREA (area), draw, NULL, NULL);
  g_signal_connect_object (viewer, "cursor-changed", G_CALLBACK (gtk_widget_queue_draw), area,
                           G_CONNECT_SWAPPED);
  g_signal_connect_object (viewer, "display-changed", G_CALLBACK (gtk_widget_queue_draw), area,
                           G_CONNECT_SWAPPED);
  g_signal_connect_object (runner, "finished", G_CALLBACK (gtk_widget_queue_draw), area,
                           G_CONNECT_SWAPPED);
  gtk_accessible_update_property (GTK_ACCESSIBLE (area), GTK_ACCESSIBLE_PROPERTY_LABEL,
                                  "Uncertainty of the last prediction (axial slice at the "
                                  "cursor)", -1);
  return area;
}
