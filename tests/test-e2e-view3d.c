/* SPDX-License-Identifier: MIT
 *
 * test-e2e-view3d.c: the 3D view of the workbench (issue 17) as a person uses it: the
 * installed program on the bundled case, driven with real pointer events (xdotool,
 * tests/ns-test-gui.h), checked through its state and the screen.
 *
 *   /e2e/view3d/render-rotate-locate/cpu, .../gl
 *       with the renderer the program picks (the CPU renderer: GL under Xvfb is Mesa's
 *       llvmpipe, a software rasteriser), then with NEUROSEG_3D=gl (a GtkGLArea), so both
 *       paths stay covered: the fourth pane shows the tumour's surfaces (its pixels on the
 *       screen are the label colours, not the background); a drag of the left button
 *       across it turns the view by half a degree per pixel; a click on the surface where
 *       the screen shows a label moves the cursor (the three planes) to a labelled voxel
 *       there; a brush stroke on the axial view re-meshes only the blocks it reached, not
 *       the volume
 *
 * Runs under xvfb-run (the e2e suite).
 */
#include "ns-config.h"

#include <math.h>
#include <string.h>

#include "ns-case.h"
#include "ns-test-gui.h"
#include "ns-test-util.h"

#define MAIN_WINDOW "NsWindow"

static JsonObject *
view3d_of (JsonObject *status)
{
  return ns_gui_widget (ns_gui_window (status, MAIN_WINDOW), "view3d");
}

static gboolean
view3d_drawn (JsonObject *status, gpointer data)
{
  JsonObject *v = view3d_of (status);
  return v != NULL && json_object_get_boolean_member (v, "mapped")
         && json_object_get_int_member (v, "triangles") > 0
         && json_object_get_int_member (v, "frame_us") > 0;
}

static gboolean
azimuth_moved (JsonObject *status, gpointer data)
{
  JsonObject *v = view3d_of (status);
  return v != NULL && fabs (json_object_get_double_member (v, "azimuth")) > 1.0;
}

static gboolean
stroke_remeshed (JsonObject *status, gpointer data)
{
  JsonObject *v = view3d_of (status);
  return v != NULL && json_object_get_int_member (v, "triangles") != *(gint64 *) data;
}

static void
get_cursor (JsonObject *status, int cursor[3])
{
  JsonArray *c = json_object_get_array_member (ns_gui_workbench (status), "cursor");
  for (int a = 0; a < 3; a++)
    cursor[a] = (int) json_array_get_int_element (c, a);
}

static gboolean
cursor_moved (JsonObject *status, gpointer data)
{
  int c[3];
  get_cursor (status, c);
  return memcmp (c, data, sizeof c) != 0;
}

/* A pixel of a label's colour: saturated (the background and the grey outline are not). */
static gboolean
is_label_pixel (guint32 p)
{
  int r = (p >> 16) & 0xff, g = (p >> 8) & 0xff, b = p & 0xff;
  return MAX (r, MAX (g, b)) - MIN (r, MIN (g, b)) > 80;
}

/* The label pixels of the view on the screen: how many, and the one nearest their
 * centroid (fractions of the view). */
static gsize
label_pixels (NsGuiApp *app, const int rect[4], double *fx, double *fy)
{
  cairo_surface_t *s = ns_gui_screenshot (app);
  const guint8 *data = cairo_image_surface_get_data (s);
  int stride = cairo_image_surface_get_stride (s);
  double sx = 0.0, sy = 0.0, best = INFINITY;
  gsize n = 0;

  cairo_surface_flush (s);
  for (int y = rect[1]; y < rect[1] + rect[3]; y++)
    for (int x = rect[0]; x < rect[0] + rect[2]; x++)
      if (is_label_pixel (((const guint32 *) (data + (gsize) y * stride))[x]))
        {
          n++;
          sx += x;
          sy += y;
        }
  if (n > 0)
    for (int y = rect[1]; y < rect[1] + rect[3]; y++)
      for (int x = rect[0]; x < rect[0] + rect[2]; x++)
        if (is_label_pixel (((const guint32 *) (data + (gsize) y * stride))[x]))
          {
            double d = hypot (x - sx / n, y - sy / n);
            if (d < best)
              {
                best = d;
                *fx = (x + 0.5 - rect[0]) / rect[2];
                *fy = (y + 0.5 - rect[1]) / rect[3];
              }
          }
  cairo_surface_destroy (s);
  return n;
}

static void
test_render_rotate_locate (gconstpointer data)
{
  const char *renderer = data;
  NsGuiApp *app;
  g_autoptr (JsonObject) status = NULL;
  g_autoptr (NsCase) sample = NULL;
  g_autoptr (GError) error = NULL;
  int rect[4], before[3], after[3];
  double fx = 0.5, fy = 0.5, azimuth;
  gsize n;
  gboolean labelled_near = FALSE;

  /* "cpu" is what the program picks by itself here (an empty NEUROSEG_3D: no override). */
  app = ns_gui_app_start_with_env (NULL, NULL, (const char *const[]) {
    "NEUROSEG_3D", strcmp (renderer, "gl") == 0 ? "gl" : "", NULL });
  g_assert_true (ns_gui_wait (app, ns_gui_case_open, NULL, 180));
  g_assert_true (ns_gui_wait (app, view3d_drawn, NULL, 120));
  status = ns_gui_status (app);
  g_assert_cmpstr (json_object_get_string_member (view3d_of (status), "renderer"), ==,
                   renderer);
  g_assert_true (json_object_get_null_member (view3d_of (status), "error"));
  g_clear_pointer (&status, json_object_unref);

  /* Rendered: the tumour's colours fill a good part of the view. */
  ns_gui_widget_screen_rect (app, MAIN_WINDOW, "view3d", rect);
  g_assert_cmpint (rect[2], >, 100);
  g_assert_cmpint (rect[3], >, 100);
  n = label_pixels (app, rect, &fx, &fy);
  g_test_message ("label pixels before the drag: %" G_GSIZE_FORMAT " of %d", n,
                  rect[2] * rect[3]);
  g_assert_cmpuint (n, >, 500);

  /* A real drag, left to right across 40% of the view: azimuth -0.5 degree per pixel. */
  ns_gui_point_at (app, MAIN_WINDOW, "view3d", 0.3, 0.5);
  ns_gui_button (app, TRUE);
  ns_gui_point_at (app, MAIN_WINDOW, "view3d", 0.4, 0.5);
  ns_gui_point_at (app, MAIN_WINDOW, "view3d", 0.55, 0.5);
  ns_gui_point_at (app, MAIN_WINDOW, "view3d", 0.7, 0.5);
  ns_gui_button (app, FALSE);
  g_assert_true (ns_gui_wait (app, azimuth_moved, NULL, 30));
  status = ns_gui_status (app);
  azimuth = json_object_get_double_member (view3d_of (status), "azimuth");
  g_test_message ("azimuth after the drag: %.1f (dragged %d px)", azimuth,
                  (int) (0.4 * rect[2]));
  g_assert_cmpfloat (fabs (azimuth + 0.5 * (int) (0.4 * rect[2])), <, 3.0);

  /* Click-to-locate: on a label pixel of the turned view. */
  n = label_pixels (app, rect, &fx, &fy);
  g_assert_cmpuint (n, >, 500);
  get_cursor (status, before);
  ns_gui_point_at (app, MAIN_WINDOW, "view3d", fx, fy);
  ns_gui_click (app);
  g_assert_true (ns_gui_wait (app, cursor_moved, before, 30));
  g_clear_pointer (&status, json_object_unref);
  status = ns_gui_status (app);
  get_cursor (status, after);
  g_test_message ("cursor %d, %d, %d -> %d, %d, %d", before[0], before[1], before[2],
                  after[0], after[1], after[2]);

  /* The cursor is on the surface of a label: a labelled voxel within one voxel of it. */
  sample = ns_case_load (ns_test_sample_case (), NS_CASE_LOAD_DEFAULT, &error);
  g_assert_no_error (error);
  g_assert_nonnull (sample->labels);
  for (int dk = -1; dk <= 1; dk++)
    for (int dj = -1; dj <= 1; dj++)
      for (int di = -1; di <= 1; di++)
        {
          int i = after[0] + di, j = after[1] + dj, k = after[2] + dk;
          if (i >= 0 && j >= 0 && k >= 0 && i < sample->grid.dim[0] && j < sample->grid.dim[1]
              && k < sample->grid.dim[2]
              && sample->labels->labels[ns_grid_index (&sample->grid, i, j, k)] != 0)
            labelled_near = TRUE;
        }
  g_assert_true (labelled_near);

  /* A brush stroke on the axial view (B, then a drag): the surfaces change, and only the
   * blocks near the stroke were re-meshed (the volume has 2 560). */
  {
    gint64 triangles, remeshed;
    ns_gui_point_at (app, MAIN_WINDOW, "axial-view", 0.5, 0.5);
    ns_gui_key (app, MAIN_WINDOW, "b");
    /* The first stroke: the mask becomes the editor's own copy (a new map, meshed whole);
     * the second one is the edit measured. */
    for (int stroke = 0; stroke < 2; stroke++)
      {
        double y0 = 0.3 + 0.05 * stroke;
        g_clear_pointer (&status, json_object_unref);
        status = ns_gui_status (app);
        triangles = json_object_get_int_member (view3d_of (status), "triangles");
        ns_gui_point_at (app, MAIN_WINDOW, "axial-view", 0.3, y0);
        ns_gui_button (app, TRUE);
        ns_gui_point_at (app, MAIN_WINDOW, "axial-view", 0.33, y0 + 0.02);
        ns_gui_point_at (app, MAIN_WINDOW, "axial-view", 0.36, y0 + 0.04);
        ns_gui_button (app, FALSE);
        g_assert_true (ns_gui_wait (app, stroke_remeshed, &triangles, 30));
      }
    g_clear_pointer (&status, json_object_unref);
    status = ns_gui_status (app);
    remeshed = json_object_get_int_member (view3d_of (status), "remeshed_blocks");
    g_test_message ("the stroke re-meshed %" G_GINT64_FORMAT " blocks", remeshed);
    g_assert_cmpint (remeshed, >, 0);
    g_assert_cmpint (remeshed, <, 200);
  }
  ns_gui_app_free (app);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_data_func ("/e2e/view3d/render-rotate-locate/cpu", "cpu",
                        test_render_rotate_locate);
  g_test_add_data_func ("/e2e/view3d/render-rotate-locate/gl", "gl", test_render_rotate_locate);
  return g_test_run ();
}
