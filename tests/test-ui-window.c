/* SPDX-License-Identifier: MIT
 *
 * test-ui-window.c: the workbench window on the bundled case, driven through the same
 * code paths its event controllers and actions take (GTK 4 cannot inject input events),
 * with assertions on widget state and on rendered pixels.  Runs under xvfb-run.
 *
 * The bundled case is LPS with 1 mm voxels: voxel axis i runs toward patient left, j
 * toward posterior, k toward superior.  In the radiological axial view (patient left on
 * screen right, anterior up) image x therefore grows with i and image y with j, one
 * pixel per voxel; the sagittal view's slice is i and the coronal view's is j.  The
 * tests check the views against these facts rather than against the geometry code.
 *
 * `test-ui-window --bench` instead prints load time, resident memory with the case open,
 * and how long a slice change takes to reach the screen (wheel step to the end of the
 * next frame's paint).
 */
#include "ns-config.h"

#include <gtk/gtk.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "ns-test-util.h"
#include "ns-test-widget.h"
#include "ns-test-window.h"
#include "ns-modality-dialog.h"
#include "ns-window.h"

static NsWindow *window;

/* Iterates the main context until cond (data) holds or timeout_s passes. */

static void
open_and_wait (const char *path)
{
  const char *paths[] = { path, NULL };

  ns_window_open (window, paths);
  g_assert_true (ns_window_is_loading (window));
  g_assert_true (ns_test_wait_until (ns_test_window_idle, window, 120));
}

static void
ensure_sample_open (void)
{
  NsViewer *viewer = ns_window_get_viewer (window);

  if (!ns_viewer_has_case (viewer)
      || g_strcmp0 (ns_viewer_get_title (viewer), "Brats18_CBICA_ABM_1") != 0)
    {
      open_and_wait (ns_test_sample_case ());
      g_assert_null (ns_window_get_load_error (window));
    }
  g_assert_true (ns_viewer_has_case (viewer));
  ns_window_set_layout (window, "grid");
  g_assert_true (ns_test_wait_until (ns_test_window_views_allocated, window, 10));
}

static NsSliceView *
view (NsPlane plane)
{
  return ns_window_get_slice_view (window, plane);
}

static void
widget_centre (NsSliceView *v, double *x, double *y)
{
  *x = gtk_widget_get_width (GTK_WIDGET (v)) / 2.0;
  *y = gtk_widget_get_height (GTK_WIDGET (v)) / 2.0;
}

static guint32
surface_pixel (cairo_surface_t *surface, int x, int y)
{
  const guint8 *data;

  cairo_surface_flush (surface);
  data = cairo_image_surface_get_data (surface);
  return ((const guint32 *) (data + (gsize) y * cairo_image_surface_get_stride (surface)))[x]
         & 0xffffff;
}

static gboolean
is_grey (guint32 rgb)
{
  guint r = (rgb >> 16) & 0xff, g = (rgb >> 8) & 0xff, b = rgb & 0xff;
  return r == g && g == b;
}

/* The pixel at widget (x, y) of what the widget shows (rendered by its window's renderer). */
static guint32
widget_pixel (GtkWidget *widget, int x, int y)
{
  int w, h;
  g_autofree guint32 *pixels = ns_test_widget_pixels (widget, &w, &h);

  return pixels[(gsize) y * w + x] & 0xffffff;
}

/* The crosshair's cyan blended over anything the views show (grey image, red, green or
 * yellow labels): far more blue and green than red. */
static gboolean
is_crosshair (guint32 p)
{
  int r = (p >> 16) & 0xff, g = (p >> 8) & 0xff, b = p & 0xff;

  return b - r > 80 && g - r > 60;
}

/* The cursor's pixel centre in widget coordinates of v. */
static void
cursor_in_widget (NsSliceView *v, double *x, double *y)
{
  double cursor[3], sx, sy;

  ns_viewer_get_cursor (ns_window_get_viewer (window), cursor);
  ns_plane_geometry_screen_pos (ns_slice_view_get_geometry (v), cursor, &sx, &sy);
  ns_slice_view_image_to_widget (v, floor (sx) + 0.5, floor (sy) + 0.5, x, y);
}

/* ---- tests --------------------------------------------------------------------------------- */

static void
test_open_sample (void)
{
  NsViewer *viewer = ns_window_get_viewer (window);
  NsLabelMap *labels;
  guint64 n_tumour = 0, n_et = 0;
  g_autofree char *wt = NULL, *et = NULL;

  ensure_sample_open ();
  g_assert_cmpuint (ns_viewer_get_n_images (viewer), ==, 4);
  g_assert_cmpstr (ns_viewer_get_modality (viewer), ==, "flair");
  labels = ns_viewer_get_labels (viewer);
  g_assert_nonnull (labels);
  g_assert_nonnull (strstr (gtk_window_get_title (GTK_WINDOW (window)), "Brats18_CBICA_ABM_1"));

  /* The info pane's volumes against a count done here (1 mm voxels: 1 mL = 1000). */
  for (gsize v = 0; v < ns_grid_n_voxels (&labels->grid); v++)
    {
      n_tumour += labels->labels[v] != 0;
      n_et += labels->labels[v] == 4;
    }
  wt = g_strdup_printf ("%.2f mL", n_tumour / 1000.0);
  et = g_strdup_printf ("%.2f mL", n_et / 1000.0);
  g_assert_cmpstr (ns_info_pane_get_volume_text (ns_window_get_info_pane (window), "WT"), ==, wt);
  g_assert_cmpstr (ns_info_pane_get_volume_text (ns_window_get_info_pane (window), "ET"), ==, et);

  /* Volumes are live: an edit of the label map in place shows at once. */
  {
    NsLabelMap *map = ns_viewer_get_labels (viewer);
    gsize v = 0;
    g_autofree char *et_after = g_strdup_printf ("%.2f mL", (n_et + 1) / 1000.0);

    while (map->labels[v] != 0)
      v++;
    map->labels[v] = 4;
    ns_viewer_labels_changed (viewer);
    g_assert_cmpstr (ns_info_pane_get_volume_text (ns_window_get_info_pane (window), "ET"), ==,
                     et_after);
    map->labels[v] = 0;
    ns_viewer_labels_changed (viewer);
    g_assert_cmpstr (ns_info_pane_get_volume_text (ns_window_get_info_pane (window), "ET"), ==,
                     et);
  }

  /* Every view shows its plane of the case at its physical size (240 x 240 x 155). */
  g_assert_cmpint (ns_slice_view_get_geometry (view (NS_PLANE_AXIAL))->width, ==, 240);
  g_assert_cmpint (ns_slice_view_get_geometry (view (NS_PLANE_SAGITTAL))->height, ==, 155);
  g_assert_cmpint (ns_slice_view_get_geometry (view (NS_PLANE_CORONAL))->height, ==, 155);
}

static void
test_click_links_planes (void)
{
  NsViewer *viewer = ns_window_get_viewer (window);
  NsSliceView *axial = view (NS_PLANE_AXIAL);
  double cx, cy, x, y, ix, iy, cursor[3];
  int axial_slice;

  ensure_sample_open ();
  axial_slice = ns_slice_view_get_slice (axial);
  widget_centre (axial, &cx, &cy);
  x = cx + 23.4;
  y = cy - 31.7;
  ns_slice_view_widget_to_image (axial, x, y, &ix, &iy);

  ns_slice_view_click_at (axial, x, y);

  /* LPS, radiological, 1 mm: image x is i, image y is j. */
  ns_viewer_get_cursor (viewer, cursor);
  g_assert_cmpfloat (cursor[0], ==, floor (ix));
  g_assert_cmpfloat (cursor[1], ==, floor (iy));
  g_assert_cmpfloat (cursor[2], ==, axial_slice);
  g_assert_cmpint (ns_slice_view_get_slice (axial), ==, axial_slice);
  g_assert_cmpint (ns_slice_view_get_slice (view (NS_PLANE_SAGITTAL)), ==, (int) floor (ix));
  g_assert_cmpint (ns_slice_view_get_slice (view (NS_PLANE_CORONAL)), ==, (int) floor (iy));

  /* The crosshair passes through the clicked voxel in the sagittal view: its pixel row
   * and column through the cursor are the crosshair's colour away from the cursor. */
  {
    GtkWidget *sagittal = GTK_WIDGET (view (NS_PLANE_SAGITTAL));
    double sx, sy, ix, iy;

    cursor_in_widget (view (NS_PLANE_SAGITTAL), &sx, &sy);
    ns_slice_view_image_to_widget (view (NS_PLANE_SAGITTAL), 2, 2, &ix, &iy);
    g_assert_true (is_crosshair (widget_pixel (sagittal, (int) ceil (ix), (int) floor (sy))));
    g_assert_true (is_crosshair (widget_pixel (sagittal, (int) floor (sx), (int) ceil (iy))));
  }

  /* A click in the coronal view moves the axial slice (k) and keeps j. */
  {
    NsSliceView *coronal = view (NS_PLANE_CORONAL);
    double before[3];

    memcpy (before, cursor, sizeof before);
    widget_centre (coronal, &cx, &cy);
    ns_slice_view_click_at (coronal, cx, cy - 20);
    ns_viewer_get_cursor (viewer, cursor);
    g_assert_cmpfloat (cursor[1], ==, before[1]);
    g_assert_cmpfloat (cursor[2], !=, before[2]);
    g_assert_cmpint (ns_slice_view_get_slice (axial), ==, (int) cursor[2]);
  }
}

/* The crosshair is one device pixel wide at any zoom, with a gap around the cursor so
 * that the voxel under it stays visible (it was drawn into the image and scaled with it:
 * four pixels wide at zoom 4, over the cursor's voxel). */
static void
test_crosshair_thin (void)
{
  NsSliceView *axial = view (NS_PLANE_AXIAL);
  GtkWidget *widget = GTK_WIDGET (axial);
  static const double zooms[] = { 1.0, 4.0, 9.0 };

  ensure_sample_open ();
  for (guint z = 0; z < G_N_ELEMENTS (zooms); z++)
    {
      g_autofree guint32 *pixels = NULL;
      double cx, cy;
      int w, h, x, y, n_row = 0, n_col = 0, n_gap = 0;

      ns_slice_view_set_zoom (axial, zooms[z]);
      widget_centre (axial, &cx, &cy);
      ns_slice_view_click_at (axial, cx, cy);
      cursor_in_widget (axial, &cx, &cy);
      pixels = ns_test_widget_pixels (widget, &w, &h);
      /* a row and a column 40 px from the cursor cross one line each, one pixel wide */
      y = (int) floor (cy) - 40;
      for (x = 0; x < w; x++)
        n_row += is_crosshair (pixels[(gsize) y * w + x]);
      x = (int) floor (cx) - 40;
      for (y = 0; y < h; y++)
        n_col += is_crosshair (pixels[(gsize) y * w + x]);
      /* nothing of it within 4 px of the cursor */
      for (y = (int) floor (cy) - 4; y <= (int) floor (cy) + 4; y++)
        for (x = (int) floor (cx) - 4; x <= (int) floor (cx) + 4; x++)
          n_gap += is_crosshair (pixels[(gsize) y * w + x]);
      g_test_message ("zoom %g: %d pixels across the vertical line, %d across the horizontal, "
                      "%d in the gap", zooms[z], n_row, n_col, n_gap);
      g_assert_cmpint (n_row, ==, 1);
      g_assert_cmpint (n_col, ==, 1);
      g_assert_cmpint (n_gap, ==, 0);
    }
  ns_slice_view_reset (axial);
}

/* The keyboard follows the pointer into a view, so that its slice keys work without a
 * click first; not away from a text field being typed in.  (With real keys: the
 * e2e input test.) */
static void
test_pointer_takes_focus (void)
{
  NsSliceView *axial = view (NS_PLANE_AXIAL);
  NsSliceView *coronal = view (NS_PLANE_CORONAL);
  GtkWidget *button = gtk_button_new_with_label ("elsewhere");
  GtkWidget *entry = gtk_entry_new ();
  GtkBox *panel = GTK_BOX (ns_window_get_layer_panel (window));
  double cx, cy;

  ensure_sample_open ();
  gtk_box_append (panel, button);
  gtk_box_append (panel, entry);
  ns_test_drain ();
  widget_centre (axial, &cx, &cy);

  g_assert_true (gtk_widget_grab_focus (button));
  ns_slice_view_pointer_at (axial, cx, cy);
  g_assert_true (gtk_widget_has_focus (GTK_WIDGET (axial)));
  ns_slice_view_pointer_at (coronal, cx, cy);
  g_assert_true (gtk_widget_has_focus (GTK_WIDGET (coronal)));

  g_assert_true (gtk_widget_grab_focus (entry));
  ns_slice_view_pointer_at (axial, cx, cy);
  g_assert_false (gtk_widget_has_focus (GTK_WIDGET (axial)));

  ns_slice_view_pointer_at (axial, -1, -1);
  gtk_box_remove (panel, button);
  gtk_box_remove (panel, entry);
}

static GtkWindow *
message_shown (const char *needle)
{
  GListModel *toplevels = gtk_window_get_toplevels ();

  for (guint i = 0; i < g_list_model_get_n_items (toplevels); i++)
    {
      g_autoptr (GtkWindow) w = g_list_model_get_item (toplevels, i);
      g_autofree char *secondary = NULL;

      if (!GTK_IS_MESSAGE_DIALOG (w))
        continue;
      g_object_get (w, "secondary-text", &secondary, NULL);
      if (secondary != NULL && strstr (secondary, needle) != NULL)
        return w;
    }
  return NULL;
}

static char *
copy_sample_file (const char *part, const char *to_name)
{
  g_autofree char *name = g_strdup_printf ("Brats18_CBICA_ABM_1_%s.nii.gz", part);
  g_autofree char *from = g_build_filename (ns_test_sample_case (), name, NULL);
  g_autofree char *dir = g_build_filename (ns_test_tmpdir (), "loose", NULL);
  char *to = g_build_filename (dir, to_name, NULL);
  g_autofree char *contents = NULL;
  gsize length;

  g_assert_cmpint (g_mkdir_with_parents (dir, 0755), ==, 0);
  g_assert_true (g_file_get_contents (from, &contents, &length, NULL));
  g_assert_true (g_file_set_contents (to, contents, length, NULL));
  return to;
}

/* Any NIfTI opens: a file whose name says nothing is asked about (here: a T1), a lone T2
 * opens as it is; Run Model then says which of the model's images the case lacks. */
static void
test_open_any_nifti (void)
{
  g_autofree char *scan = copy_sample_file ("t1", "scan.nii.gz");
  g_autofree char *t2 = copy_sample_file ("t2", "patient_t2.nii.gz");
  g_autofree char *model = g_build_filename (g_getenv ("NS_SOURCE_DIR"), "resources",
                                             "models", "mobilenetv2-unet-default.safetensors",
                                             NULL);
  NsViewer *viewer = ns_window_get_viewer (window);
  NsModelRunner *runner = ns_ai_controller_get_runner (ns_window_get_ai_controller (window));
  const char *scan_paths[] = { scan, NULL };
  const char *t2_paths[] = { t2, NULL };
  GtkWidget *question;
  GtkWindow *message;

  ensure_sample_open ();
  ns_window_open (window, scan_paths);
  g_assert_false (ns_window_is_loading (window));
  question = ns_window_get_question (window);
  g_assert_true (NS_IS_MODALITY_DIALOG (question));
  g_assert_cmpuint (ns_modality_dialog_get_n_files (NS_MODALITY_DIALOG (question)), ==, 1);
  ns_modality_dialog_set_kind (NS_MODALITY_DIALOG (question), 0, NS_CASE_FILE_T1);
  gtk_dialog_response (GTK_DIALOG (question), GTK_RESPONSE_OK);
  ns_test_drain ();
  g_assert_true (ns_test_wait_until (ns_test_window_idle, window, 120));
  g_assert_null (ns_window_get_load_error (window));
  g_assert_cmpuint (ns_viewer_get_n_images (viewer), ==, 1);
  g_assert_cmpstr (ns_viewer_get_image_name (viewer, 0), ==, "t1");
  g_assert_cmpstr (ns_viewer_get_case (viewer)->paths[NS_CASE_FILE_T1], ==, scan);
  g_assert_nonnull (ns_editor_get_doc (ns_window_get_editor (window)));

  /* the model needs FLAIR and T1c: said before anything runs */
  ns_model_runner_set_model (runner, model, 0);
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (window), "seg.run-model", NULL));
  g_assert_false (ns_model_runner_is_running (runner));
  message = message_shown ("needs FLAIR and T1c; this case has no FLAIR and T1c (it has T1)");
  g_assert_nonnull (message);
  gtk_window_destroy (message);

  /* a lone T2, named: no question, no FLAIR needed */
  ns_window_open (window, t2_paths);
  g_assert_null (ns_window_get_question (window));
  g_assert_true (ns_test_wait_until (ns_test_window_idle, window, 120));
  g_assert_null (ns_window_get_load_error (window));
  g_assert_cmpuint (ns_viewer_get_n_images (viewer), ==, 1);
  g_assert_cmpstr (ns_viewer_get_image_name (viewer, 0), ==, "t2");
}

static gboolean
surfaces_differ (cairo_surface_t *a, cairo_surface_t *b)
{
  int h = cairo_image_surface_get_height (a);
  int stride = cairo_image_surface_get_stride (a);

  cairo_surface_flush (a);
  cairo_surface_flush (b);
  return memcmp (cairo_image_surface_get_data (a), cairo_image_surface_get_data (b),
                 (gsize) h * stride) != 0;
}

static cairo_surface_t *
copy_surface (cairo_surface_t *s)
{
  cairo_surface_t *copy = cairo_image_surface_create (cairo_image_surface_get_format (s),
                                                      cairo_image_surface_get_width (s),
                                                      cairo_image_surface_get_height (s));
  cairo_t *cr = cairo_create (copy);

  cairo_set_source_surface (cr, s, 0, 0);
  cairo_paint (cr);
  cairo_destroy (cr);
  return copy;
}

static void
test_wheel (void)
{
  NsViewer *viewer = ns_window_get_viewer (window);
  NsSliceView *axial = view (NS_PLANE_AXIAL);
  double x, y, cursor[3], ix0, iy0, ix1, iy1;
  int s0;
  cairo_surface_t *before;

  ensure_sample_open ();
  widget_centre (axial, &x, &y);
  ns_slice_view_click_at (axial, x, y);
  s0 = ns_slice_view_get_slice (axial);
  before = copy_surface (ns_slice_view_get_surface (axial));

  /* Wheel up: toward superior, k grows on an LPS grid. */
  ns_slice_view_scroll_at (axial, x, y, -1, 0);
  g_assert_cmpint (ns_slice_view_get_slice (axial), ==, s0 + 1);
  ns_viewer_get_cursor (viewer, cursor);
  g_assert_cmpfloat (cursor[2], ==, s0 + 1);
  g_assert_true (surfaces_differ (before, ns_slice_view_get_surface (axial)));
  ns_slice_view_scroll_at (axial, x, y, 3, 0);
  g_assert_cmpint (ns_slice_view_get_slice (axial), ==, s0 - 2);
  /* The other planes keep their slices. */
  g_assert_cmpint (ns_slice_view_get_slice (view (NS_PLANE_SAGITTAL)), ==, (int) cursor[0]);
  /* Page Up / Down take the same path. */
  ns_slice_view_step_slice (axial, 2);
  g_assert_cmpint (ns_slice_view_get_slice (axial), ==, s0);
  cairo_surface_destroy (before);

  /* Ctrl + wheel zooms about the pointer: the image point under it stays put. */
  x += 40;
  y -= 25;
  ns_slice_view_widget_to_image (axial, x, y, &ix0, &iy0);
  ns_slice_view_scroll_at (axial, x, y, -2, GDK_CONTROL_MASK);
  g_assert_cmpfloat (ns_slice_view_get_zoom (axial), >, 1.2);
  g_assert_cmpint (ns_slice_view_get_slice (axial), ==, s0);
  ns_slice_view_widget_to_image (axial, x, y, &ix1, &iy1);
  g_assert_cmpfloat_with_epsilon (ix0, ix1, 1e-6);
  g_assert_cmpfloat_with_epsilon (iy0, iy1, 1e-6);

  /* Middle drag pans by the drag distance. */
  ns_slice_view_drag (axial, GDK_BUTTON_MIDDLE, 0, x, y, 30, -10);
  ns_slice_view_widget_to_image (axial, x + 30, y - 10, &ix1, &iy1);
  g_assert_cmpfloat_with_epsilon (ix0, ix1, 1e-6);
  g_assert_cmpfloat_with_epsilon (iy0, iy1, 1e-6);

  /* view.reset fits again. */
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (window), "view.reset", NULL));
  g_assert_cmpfloat (ns_slice_view_get_zoom (axial), ==, 1.0);
}

static void
test_window_level (void)
{
  NsViewer *viewer = ns_window_get_viewer (window);
  NsSliceView *axial = view (NS_PLANE_AXIAL);
  double x, y, w0, l0, w1, l1;
  const NsLut *lut;
  cairo_surface_t *before;

  ensure_sample_open ();
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (window), "view.window-preset", "s",
                                             "auto"));
  widget_centre (axial, &x, &y);
  ns_viewer_get_window_level (viewer, &w0, &l0);
  before = copy_surface (ns_slice_view_get_surface (axial));

  /* Right drag: right widens the window, down raises the level. */
  ns_slice_view_drag (axial, GDK_BUTTON_SECONDARY, 0, x, y, 60, 40);
  ns_viewer_get_window_level (viewer, &w1, &l1);
  g_assert_cmpfloat (w1, >, w0 * 1.2);
  g_assert_cmpfloat (l1, >, l0);
  lut = ns_viewer_get_lut (viewer);
  g_assert_cmpfloat_with_epsilon (lut->window, w1, 1e-9);
  g_assert_cmpfloat_with_epsilon (lut->level, l1, 1e-9);
  g_assert_true (surfaces_differ (before, ns_slice_view_get_surface (axial)));
  cairo_surface_destroy (before);

  /* Presets: full range spans the volume; auto comes back to where it was. */
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (window), "view.window-preset", "s",
                                             "full"));
  {
    NsVolume *flair = ns_viewer_get_shown_image (viewer);
    float lo = G_MAXFLOAT, hi = -G_MAXFLOAT;

    for (gsize v = 0; v < ns_volume_n_voxels (flair); v++)
      {
        lo = MIN (lo, ns_volume_get_value (flair, v));
        hi = MAX (hi, ns_volume_get_value (flair, v));
      }
    ns_viewer_get_window_level (viewer, &w1, &l1);
    g_assert_cmpfloat_with_epsilon (w1, hi - lo, 1e-3);
    g_assert_cmpfloat_with_epsilon (l1, (hi + lo) / 2.0, 1e-3);
  }
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (window), "view.window-preset", "s",
                                             "auto"));
  ns_viewer_get_window_level (viewer, &w1, &l1);
  g_assert_cmpfloat (w1, ==, w0);
  g_assert_cmpfloat (l1, ==, l0);
}

/* The centroid of the labelled voxels of the open case, in voxels. */
static const double *
tumour_centre (void)
{
  static double centre[3];
  NsLabelMap *labels = ns_viewer_get_labels (ns_window_get_viewer (window));
  const NsGrid *g = &labels->grid;
  double sum[3] = { 0, 0, 0 };
  gsize n = 0;

  for (int k = 0; k < g->dim[2]; k++)
    for (int j = 0; j < g->dim[1]; j++)
      for (int i = 0; i < g->dim[0]; i++)
        if (labels->labels[ns_grid_index (g, i, j, k)] != 0)
          {
            sum[0] += i;
            sum[1] += j;
            sum[2] += k;
            n++;
          }
  g_assert_cmpuint (n, >, 0);
  for (int d = 0; d < 3; d++)
    centre[d] = round (sum[d] / n);
  return centre;
}

/* A voxel of label value on the axial slice through the cursor, as image (x, y). */
static gboolean
find_label_pixel (guint8 value, int *px, int *py)
{
  NsViewer *viewer = ns_window_get_viewer (window);
  NsLabelMap *labels = ns_viewer_get_labels (viewer);
  double cursor[3];
  const NsGrid *g = &labels->grid;

  ns_viewer_get_cursor (viewer, cursor);
  /* Inside the region (all four neighbours too) so that fill and outline agree. */
  for (int j = 1; j < g->dim[1] - 1; j++)
    for (int i = 1; i < g->dim[0] - 1; i++)
      {
        int k = (int) cursor[2];
        if (labels->labels[ns_grid_index (g, i, j, k)] == value
            && labels->labels[ns_grid_index (g, i + 1, j, k)] == value
            && labels->labels[ns_grid_index (g, i - 1, j, k)] == value
            && labels->labels[ns_grid_index (g, i, j + 1, k)] == value
            && labels->labels[ns_grid_index (g, i, j - 1, k)] == value
            && i != (int) cursor[0] && j != (int) cursor[1])
          {
            *px = i;             /* LPS, radiological, 1 mm */
            *py = j;
            return TRUE;
          }
      }
  return FALSE;
}

static void
test_toggle_class (void)
{
  NsViewer *viewer = ns_window_get_viewer (window);
  NsSliceView *axial = view (NS_PLANE_AXIAL);
  GtkWidget *check;
  int px = 0, py = 0, ijk[3];
  double wx, wy, cursor[3];
  guint32 shown, hidden;

  ensure_sample_open ();
  /* Earlier tests click and scroll wherever the layout puts the views, so bring the
   * cursor to the tumour's centroid: its axial slice
   * holds edema. */
  ns_viewer_set_cursor (viewer, tumour_centre ());
  g_assert_true (find_label_pixel (2, &px, &py));
  ns_viewer_get_cursor (viewer, cursor);
  ijk[0] = px;
  ijk[1] = py;
  ijk[2] = (int) cursor[2];
  ns_slice_view_voxel_to_widget (axial, ijk, &wx, &wy);

  shown = surface_pixel (ns_slice_view_get_surface (axial), px, py);
  g_assert_false (is_grey (shown));
  g_assert_false (is_grey (widget_pixel (GTK_WIDGET (axial), (int) wx, (int) wy)));

  /* Untick "2 Peritumoral edema" in the layer list. */
  check = ns_layer_panel_get_label_check (ns_window_get_layer_panel (window), 2);
  g_assert_nonnull (check);
  gtk_check_button_set_active (GTK_CHECK_BUTTON (check), FALSE);
  g_assert_false (ns_viewer_get_label_visible (viewer, 2));
  hidden = surface_pixel (ns_slice_view_get_surface (axial), px, py);
  g_assert_true (is_grey (hidden));
  g_assert_true (is_grey (widget_pixel (GTK_WIDGET (axial), (int) wx, (int) wy)));

  /* Other classes stay visible. */
  g_assert_true (ns_viewer_get_label_visible (viewer, 4));
  gtk_check_button_set_active (GTK_CHECK_BUTTON (check), TRUE);
  g_assert_cmphex (surface_pixel (ns_slice_view_get_surface (axial), px, py), ==, shown);

  /* A new colour from the class's colour button (its "color-set", as after the
   * chooser dialog) shows at once. */
  {
    GtkWidget *button = ns_layer_panel_get_label_colour_button (
      ns_window_get_layer_panel (window), 2);
    guint32 blueish, original = ns_viewer_get_label_rgb (viewer, 2);

    g_assert_nonnull (button);
    gtk_color_chooser_set_rgba (GTK_COLOR_CHOOSER (button), &(GdkRGBA) { 0, 0, 1, 1 });
    g_signal_emit_by_name (button, "color-set");
    g_assert_cmphex (ns_viewer_get_label_rgb (viewer, 2), ==, 0x0000ff);
    blueish = surface_pixel (ns_slice_view_get_surface (axial), px, py);
    g_assert_cmpuint (blueish & 0xff, >, (blueish >> 8) & 0xff);
    g_assert_cmpuint (blueish & 0xff, >, (blueish >> 16) & 0xff);
    ns_viewer_set_label_rgb (viewer, 2, original);
    g_assert_cmphex (surface_pixel (ns_slice_view_get_surface (axial), px, py), ==, shown);
  }

  /* The opacity slider: 0 leaves the image's grey, and the viewer follows the slider. */
  {
    GtkAdjustment *opacity = ns_layer_panel_get_opacity_adjustment (
      ns_window_get_layer_panel (window));
    double before = gtk_adjustment_get_value (opacity);

    g_assert_cmpfloat (before, ==, ns_viewer_get_opacity (viewer));
    gtk_adjustment_set_value (opacity, 0.0);
    g_assert_cmpfloat (ns_viewer_get_opacity (viewer), ==, 0.0);
    g_assert_true (is_grey (surface_pixel (ns_slice_view_get_surface (axial), px, py)));
    gtk_adjustment_set_value (opacity, before);
  }

  /* view.show-labels hides them all; the opacity slider's value is the viewer's. */
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (window), "view.show-labels", NULL));
  g_assert_false (ns_viewer_get_show_labels (viewer));
  g_assert_true (is_grey (surface_pixel (ns_slice_view_get_surface (axial), px, py)));
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (window), "view.show-labels", NULL));
  g_assert_true (ns_viewer_get_show_labels (viewer));

  /* Outline mode: the inside of the region is no longer coloured. */
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (window), "view.overlay-mode", "s",
                                             "outline"));
  g_assert_cmpint (ns_viewer_get_overlay_mode (viewer), ==, NS_OVERLAY_OUTLINE);
  g_assert_true (is_grey (surface_pixel (ns_slice_view_get_surface (axial), px, py)));
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (window), "view.overlay-mode", "s",
                                             "fill"));
  g_assert_cmphex (surface_pixel (ns_slice_view_get_surface (axial), px, py), ==, shown);
}

static void
test_status_bar (void)
{
  NsViewer *viewer = ns_window_get_viewer (window);
  NsSliceView *axial = view (NS_PLANE_AXIAL);
  NsVolume *flair;
  NsLabelMap *labels;
  double x, y, ix, iy, cursor[3];
  int i, j, k;
  g_autofree char *status = NULL;
  g_autofree char *want_voxel = NULL, *want_value = NULL, *want_label = NULL;

  ensure_sample_open ();
  widget_centre (axial, &x, &y);
  x -= 17.3;
  y += 9.6;
  ns_slice_view_pointer_at (axial, x, y);

  ns_slice_view_widget_to_image (axial, x, y, &ix, &iy);
  ns_viewer_get_cursor (viewer, cursor);
  i = (int) floor (ix);
  j = (int) floor (iy);
  k = (int) cursor[2];
  flair = ns_viewer_get_shown_image (viewer);
  labels = ns_viewer_get_labels (viewer);
  want_voxel = g_strdup_printf ("Voxel %d, %d, %d", i, j, k);
  want_value = g_strdup_printf (
    "FLAIR %g", (double) ns_volume_get_value (flair, ns_grid_index (&flair->grid, i, j, k)));
  want_label = g_strdup_printf ("Label %u", labels->labels[ns_grid_index (&labels->grid, i,
                                                                           j, k)]);
  status = ns_window_dup_status_text (window);
  g_test_message ("status: %s", status);
  g_assert_nonnull (strstr (status, want_voxel));
  g_assert_nonnull (strstr (status, want_value));
  g_assert_nonnull (strstr (status, want_label));
  g_assert_nonnull (strstr (status, " mm"));

  /* The position in mm is the voxel through the file's matrix. */
  {
    const NsGrid *g = &flair->grid;
    double ras[3];
    g_autofree char *want_ras = NULL;

    for (int r = 0; r < 3; r++)
      ras[r] = g->vox2ras[r][0] * i + g->vox2ras[r][1] * j + g->vox2ras[r][2] * k
               + g->vox2ras[r][3];
    want_ras = g_strdup_printf ("RAS %.1f, %.1f, %.1f mm", ras[0], ras[1], ras[2]);
    g_assert_nonnull (strstr (status, want_ras));
  }

  /* Another modality: the intensity follows. */
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (window), "view.modality", "s", "t1"));
  g_assert_cmpstr (ns_viewer_get_modality (viewer), ==, "t1");
  g_free (status);
  status = ns_window_dup_status_text (window);
  g_assert_nonnull (strstr (status, "T1 "));
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (window), "view.modality", "s",
                                             "flair"));

  /* The pointer leaves: the status shows the cursor. */
  ns_slice_view_pointer_at (axial, -1, -1);
  g_free (status);
  g_free (want_voxel);
  status = ns_window_dup_status_text (window);
  want_voxel = g_strdup_printf ("Voxel %d, %d, %d", (int) cursor[0], (int) cursor[1], k);
  g_assert_nonnull (strstr (status, want_voxel));
}

/* The descendant of widget named name (gtk_widget_set_name), or NULL. */
static GtkWidget *
find_named (GtkWidget *widget, const char *name)
{
  if (g_strcmp0 (gtk_widget_get_name (widget), name) == 0)
    return widget;
  for (GtkWidget *c = gtk_widget_get_first_child (widget); c != NULL;
       c = gtk_widget_get_next_sibling (c))
    {
      GtkWidget *found = find_named (c, name);
      if (found != NULL)
        return found;
    }
  return NULL;
}

static void
test_layouts_and_actions (void)
{
  GtkWidget *sagittal = GTK_WIDGET (view (NS_PLANE_SAGITTAL));
  GtkWidget *axial = GTK_WIDGET (view (NS_PLANE_AXIAL));
  GtkWidget *info = GTK_WIDGET (ns_window_get_info_pane (window));

  ensure_sample_open ();
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (window), "view.layout", "s", "axial"));
  g_assert_cmpstr (ns_window_get_layout (window), ==, "axial");
  g_assert_false (gtk_widget_get_visible (sagittal));
  g_assert_true (gtk_widget_get_visible (axial));
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (window), "view.layout", "s", "row"));
  g_assert_true (gtk_widget_get_visible (sagittal));
  g_assert_false (GTK_IS_GRID (gtk_widget_get_parent (info)));
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (window), "view.layout", "s", "grid"));
  /* the grid's fourth cell is the 3D view; the summary stays under the layer list */
  g_assert_false (GTK_IS_GRID (gtk_widget_get_parent (info)));
  g_assert_true (gtk_widget_get_visible (info));
  {
    GtkWidget *view3d = find_named (GTK_WIDGET (window), "view3d");
    g_assert_nonnull (view3d);
    g_assert_true (GTK_IS_GRID (gtk_widget_get_parent (view3d)));
    g_assert_true (gtk_widget_get_visible (view3d));
    g_assert_true (gtk_widget_activate_action (GTK_WIDGET (window), "view.layout", "s", "row"));
    g_assert_false (gtk_widget_get_visible (view3d));
    g_assert_true (gtk_widget_activate_action (GTK_WIDGET (window), "view.layout", "s", "grid"));
    g_assert_true (gtk_widget_get_visible (view3d));
  }

  /* Neurological convention: the patient's left on the screen's left, so image x now
   * runs against i in the axial view. */
  {
    NsSliceView *ax = view (NS_PLANE_AXIAL);
    double x, y, ix, iy, cursor[3];

    g_assert_true (gtk_widget_activate_action (GTK_WIDGET (window), "view.neurological",
                                               NULL));
    g_assert_cmpint (ns_viewer_get_convention (ns_window_get_viewer (window)), ==,
                     NS_CONVENTION_NEUROLOGICAL);
    widget_centre (ax, &x, &y);
    x += 31.2;
    ns_slice_view_widget_to_image (ax, x, y, &ix, &iy);
    ns_slice_view_click_at (ax, x, y);
    ns_viewer_get_cursor (ns_window_get_viewer (window), cursor);
    g_assert_cmpfloat (cursor[0], ==, 239 - floor (ix));
    g_assert_cmpfloat (cursor[1], ==, floor (iy));
    g_assert_true (gtk_widget_activate_action (GTK_WIDGET (window), "view.neurological",
                                               NULL));
    g_assert_cmpint (ns_viewer_get_convention (ns_window_get_viewer (window)), ==,
                     NS_CONVENTION_RADIOLOGICAL);
  }

  /* A button bound to a disabled action (win.undo with nothing to undo) or to one that no
   * longer exists (seg.accept: the prediction is one undo entry, nothing to accept) is
   * insensitive, one bound to a working action is not. */
  {
    static const struct { const char *action; gboolean enabled; } actions[] = {
      { "seg.accept", FALSE }, { "seg.run-model", TRUE }, { "train.fine-tune", TRUE },
      { "win.undo", FALSE },
      { "win.save-mask", TRUE }, { "win.open-case", TRUE }, { "view.reset", TRUE },
    };
    GtkBox *panel = GTK_BOX (ns_window_get_layer_panel (window));

    for (guint a = 0; a < G_N_ELEMENTS (actions); a++)
      {
        GtkWidget *button = gtk_button_new_with_label (actions[a].action);

        gtk_actionable_set_action_name (GTK_ACTIONABLE (button), actions[a].action);
        gtk_box_append (panel, button);
        g_main_context_iteration (NULL, FALSE);
        g_assert_cmpint (gtk_widget_get_sensitive (button), ==, actions[a].enabled);
        gtk_box_remove (panel, button);
      }
  }
}

static void
count_cb (guint *count)
{
  (*count)++;
}

static void
test_load_error (void)
{
  NsViewer *viewer = ns_window_get_viewer (window);
  g_autofree char *missing = g_build_filename (ns_test_tmpdir (), "no-such-case", NULL);
  g_autofree char *bad = g_build_filename (ns_test_tmpdir (), "broken_flair.nii.gz", NULL);

  ensure_sample_open ();
  open_and_wait (missing);
  g_assert_nonnull (ns_window_get_load_error (window));
  g_test_message ("error: %s", ns_window_get_load_error (window));
  g_assert_nonnull (strstr (ns_window_get_load_error (window), "no-such-case"));
  /* The case shown before stays. */
  g_assert_cmpstr (ns_viewer_get_title (viewer), ==, "Brats18_CBICA_ABM_1");

  g_assert_true (g_file_set_contents (bad, "not a NIfTI file", -1, NULL));
  open_and_wait (bad);
  g_assert_nonnull (ns_window_get_load_error (window));
  g_test_message ("error: %s", ns_window_get_load_error (window));
  g_assert_nonnull (strstr (ns_window_get_load_error (window), "broken_flair.nii.gz"));

  /* A second open replaces a load in progress: only the second one counts. */
  {
    const char *first[] = { missing, NULL };
    const char *second[] = { ns_test_sample_case (), NULL };
    guint finished = 0;
    gulong handler = g_signal_connect_swapped (window, "load-finished",
                                               G_CALLBACK (count_cb), &finished);

    ns_window_open (window, first);
    ns_window_open (window, second);
    g_assert_true (ns_test_wait_until (ns_test_window_idle, window, 120));
    g_assert_null (ns_window_get_load_error (window));
    g_assert_cmpuint (finished, ==, 1);
    /* Let the cancelled load's callback run too, if it has not yet. */
    for (int i = 0; i < 100; i++)
      {
        g_main_context_iteration (NULL, FALSE);
        g_usleep (1000);
      }
    g_assert_cmpuint (finished, ==, 1);
    g_assert_null (ns_window_get_load_error (window));
    g_signal_handler_disconnect (window, handler);
  }

  /* Close the error dialogs. */
  {
    GListModel *toplevels = gtk_window_get_toplevels ();  /* transfer none */
    for (guint i = g_list_model_get_n_items (toplevels); i-- > 0;)
      {
        g_autoptr (GtkWindow) w = g_list_model_get_item (toplevels, i);
        if (GTK_IS_MESSAGE_DIALOG (w))
          gtk_window_destroy (w);
      }
  }
}

static GtkEventController *
find_controller (GtkWidget *widget, GType type)
{
  g_autoptr (GListModel) controllers = gtk_widget_observe_controllers (widget);

  for (guint i = 0; i < g_list_model_get_n_items (controllers); i++)
    {
      g_autoptr (GtkEventController) controller = g_list_model_get_item (controllers, i);
      if (G_TYPE_CHECK_INSTANCE_TYPE (controller, type))
        return controller;       /* the widget keeps it alive */
    }
  g_assert_not_reached ();
}

/* The view's own event controllers, driven by emitting the signals GTK emits for input. */
static void
test_controllers (void)
{
  NsViewer *viewer = ns_window_get_viewer (window);
  NsSliceView *axial = view (NS_PLANE_AXIAL);
  GtkWidget *widget = GTK_WIDGET (axial);
  GtkEventController *key = find_controller (widget, GTK_TYPE_EVENT_CONTROLLER_KEY);
  GtkEventController *scroll = find_controller (widget, GTK_TYPE_EVENT_CONTROLLER_SCROLL);
  GtkEventController *motion = find_controller (widget, GTK_TYPE_EVENT_CONTROLLER_MOTION);
  gboolean handled = FALSE;
  double x, y, cursor[3], before[3], ix0, iy0, ix1, iy1;
  int s0;
  g_autofree char *status = NULL;

  ensure_sample_open ();
  widget_centre (axial, &x, &y);
  s0 = ns_slice_view_get_slice (axial);

  g_signal_emit_by_name (key, "key-pressed", GDK_KEY_Page_Up, 0, 0, &handled);
  g_assert_true (handled);
  g_assert_cmpint (ns_slice_view_get_slice (axial), ==, s0 + 1);
  g_signal_emit_by_name (key, "key-pressed", GDK_KEY_Page_Down, 0, 0, &handled);
  g_signal_emit_by_name (key, "key-pressed", GDK_KEY_Page_Down, 0, 0, &handled);
  g_assert_cmpint (ns_slice_view_get_slice (axial), ==, s0 - 1);

  /* The pointer moves over the view, then the wheel turns up one notch there. */
  g_signal_emit_by_name (motion, "motion", x + 10, y + 10);
  g_signal_emit_by_name (scroll, "scroll", 0.0, -1.0, &handled);
  g_assert_true (handled);
  g_assert_cmpint (ns_slice_view_get_slice (axial), ==, s0);
  status = ns_window_dup_status_text (window);
  {
    int ijk[3];
    g_autofree char *want = NULL;

    g_assert_true (ns_viewer_get_pointer (viewer, ijk));
    g_assert_cmpint (ijk[2], ==, s0);
    want = g_strdup_printf ("Voxel %d, %d, %d", ijk[0], ijk[1], ijk[2]);
    g_assert_nonnull (strstr (status, want));
  }
  g_signal_emit_by_name (motion, "leave");
  g_assert_false (ns_viewer_get_pointer (viewer, (int[3]) { 0, 0, 0 }));

  /* Space held: a left drag pans instead of moving the cursor. */
  ns_viewer_get_cursor (viewer, before);
  ns_slice_view_widget_to_image (axial, x, y, &ix0, &iy0);
  g_signal_emit_by_name (key, "key-pressed", GDK_KEY_space, 0, 0, &handled);
  ns_slice_view_drag (axial, GDK_BUTTON_PRIMARY, 0, x, y, 25, 15);
  g_signal_emit_by_name (key, "key-released", GDK_KEY_space, 0, 0);
  ns_viewer_get_cursor (viewer, cursor);
  g_assert_cmpmem (cursor, sizeof cursor, before, sizeof before);
  ns_slice_view_widget_to_image (axial, x + 25, y + 15, &ix1, &iy1);
  g_assert_cmpfloat_with_epsilon (ix0, ix1, 1e-6);
  g_assert_cmpfloat_with_epsilon (iy0, iy1, 1e-6);
  /* Released: a left drag moves the cursor again (to a point 60 pixels from it). */
  ns_slice_view_drag (axial, GDK_BUTTON_PRIMARY, 0, x, y, 85, 15);
  ns_viewer_get_cursor (viewer, cursor);
  g_assert_false (memcmp (cursor, before, sizeof cursor) == 0);
  ns_slice_view_reset (axial);
}

/* ---- benchmark ----------------------------------------------------------------------------- */

static gint64 paint_time;
static gint64 paint_frame;       /* frame counter of the last paint */
static gint64 layout_start;      /* when the last frame began (before-paint) */
static double paint_ms;          /* layout + paint of the last frame */

static void
before_layout_cb (GdkFrameClock *clock, gpointer data)
{
  layout_start = g_get_monotonic_time ();
}

static void
after_paint_cb (GdkFrameClock *clock, gpointer data)
{
  paint_time = g_get_monotonic_time ();
  paint_frame = gdk_frame_clock_get_frame_counter (clock);
  paint_ms = (paint_time - layout_start) / 1000.0;
}

static gboolean
painted_after (gpointer data)
{
  return paint_time > *(gint64 *) data;
}

/* The longest gap between two runs of a 5 ms timer: how long the main loop (input,
 * drawing) was blocked. */
static gint64 tick_last, tick_max_gap;

static gboolean
tick_cb (gpointer data)
{
  gint64 now = g_get_monotonic_time ();

  if (tick_last != 0)
    tick_max_gap = MAX (tick_max_gap, now - tick_last);
  tick_last = now;
  return G_SOURCE_CONTINUE;
}

static int
compare_double (const void *a, const void *b)
{
  double x = *(const double *) a, y = *(const double *) b;
  return (x > y) - (x < y);
}

static long
rss_kib (const char *field)
{
  g_autofree char *status = NULL;
  const char *p;

  if (!g_file_get_contents ("/proc/self/status", &status, NULL, NULL))
    return -1;
  p = strstr (status, field);
  return p != NULL ? strtol (p + strlen (field) + 1, NULL, 10) : -1;
}

static int
run_bench (void)
{
  enum { N = 60 };
  NsSliceView *axial;
  GdkFrameClock *clock;
  double latency[N], render[N], frame[N], x, y;
  int late = 0;
  long rss_before = rss_kib ("VmRSS:");
  gint64 t0;
  double load_s;

  /* The empty window's first frames (renderer and font set-up) before anything else. */
  axial = view (NS_PLANE_AXIAL);
  clock = gtk_widget_get_frame_clock (GTK_WIDGET (window));
  g_signal_connect (clock, "before-paint", G_CALLBACK (before_layout_cb), NULL);
  g_signal_connect (clock, "after-paint", G_CALLBACK (after_paint_cb), NULL);
  for (int f = 0; f < 3; f++)
    {
      t0 = g_get_monotonic_time ();
      gtk_widget_queue_draw (GTK_WIDGET (window));
      g_assert_true (ns_test_wait_until (painted_after, &t0, 10));
    }

  t0 = g_get_monotonic_time ();
  {
    guint tick = g_timeout_add (5, tick_cb, NULL);
    ensure_sample_open ();
    g_source_remove (tick);
  }
  load_s = (g_get_monotonic_time () - t0) / 1e6;

  /* Let the first frame with the case be drawn. */
  t0 = g_get_monotonic_time ();
  gtk_widget_queue_draw (GTK_WIDGET (window));
  g_assert_true (ns_test_wait_until (painted_after, &t0, 5));
  widget_centre (axial, &x, &y);

  for (int n = 0; n < N; n++)
    {
      gint64 start, counter;

      /* Start right after a frame, as an input event would arrive mid-frame-interval. */
      start = g_get_monotonic_time ();
      gtk_widget_queue_draw (GTK_WIDGET (window));
      g_assert_true (ns_test_wait_until (painted_after, &start, 5));
      counter = paint_frame;
      start = g_get_monotonic_time ();
      ns_slice_view_scroll_at (axial, x, y, n % 20 < 10 ? -1 : 1, 0);
      g_assert_true (ns_test_wait_until (painted_after, &start, 5));
      latency[n] = (paint_time - start) / 1000.0;
      frame[n] = paint_ms;
      late += paint_frame != counter + 1;
    }
  /* The rendering part alone: the three planes redrawn for one cursor move. */
  for (int n = 0; n < N; n++)
    {
      gint64 start;

      ns_slice_view_step_slice (axial, n % 20 < 10 ? 1 : -1);
      start = g_get_monotonic_time ();
      for (int p = 0; p < NS_N_PLANES; p++)
        ns_slice_view_get_surface (view (p));
      render[n] = (g_get_monotonic_time () - start) / 1000.0;
    }
  qsort (latency, N, sizeof (double), compare_double);
  qsort (render, N, sizeof (double), compare_double);
  qsort (frame, N, sizeof (double), compare_double);

  printf ("load of the bundled case (4 modalities + labels, 240x240x155): %.2f s\n", load_s);
  printf ("longest main-loop stall during the load (5 ms timer): %.1f ms\n",
          tick_max_gap / 1000.0);
  printf ("RSS before load: %.1f MB; with the case open: %.1f MB (peak %.1f MB)\n",
          rss_before / 1024.0, rss_kib ("VmRSS:") / 1024.0, rss_kib ("VmHWM:") / 1024.0);
  printf ("wheel step to end of next frame's paint: median %.2f ms, p90 %.2f ms, max %.2f ms"
          " (one 60 Hz frame = 16.7 ms)\n", latency[N / 2], latency[N * 9 / 10],
          latency[N - 1]);
  printf ("slice changes shown by the very next frame: %d of %d\n", N - late, N);
  printf ("that frame's layout + paint (all widgets, GSK renderer %s): median %.2f ms, "
          "p90 %.2f ms\n", G_OBJECT_TYPE_NAME (gtk_native_get_renderer (GTK_NATIVE (window))),
          frame[N / 2], frame[N * 9 / 10]);
  printf ("render of the three planes after a cursor move: median %.2f ms, p90 %.2f ms\n",
          render[N / 2], render[N * 9 / 10]);
  return 0;
}

int
main (int argc, char **argv)
{
  gboolean bench = argc >= 2 && strcmp (argv[1], "--bench") == 0;
  int status;

  /* Keep the user's recent-case list out of it. */
  g_setenv ("XDG_CONFIG_HOME", ns_test_tmpdir (), TRUE);
  if (bench)
    {
      argv[1] = argv[0];
      argv++;
      argc--;
    }
  /* There is no D-Bus session bus under xvfb-run here, so no accessibility bus either:
   * without this GTK warns at each widget, and g_test_init() makes warnings fatal. */
  g_setenv ("GTK_A11Y", "none", TRUE);
  g_test_init (&argc, &argv, NULL);
  gtk_init ();

  window = ns_window_new (NULL);
  gtk_window_set_default_size (GTK_WINDOW (window), 1400, 820);
  gtk_window_present (GTK_WINDOW (window));

  if (bench)
    status = run_bench ();
  else
    {
      g_test_add_func ("/ui/window/open-sample", test_open_sample);
      g_test_add_func ("/ui/view/click-links-planes", test_click_links_planes);
      g_test_add_func ("/ui/view/crosshair-thin", test_crosshair_thin);
      g_test_add_func ("/ui/view/pointer-takes-focus", test_pointer_takes_focus);
      g_test_add_func ("/ui/view/wheel-zoom-pan", test_wheel);
      g_test_add_func ("/ui/view/window-level", test_window_level);
      g_test_add_func ("/ui/view/toggle-class", test_toggle_class);
      g_test_add_func ("/ui/view/controllers", test_controllers);
      g_test_add_func ("/ui/window/status-bar", test_status_bar);
      g_test_add_func ("/ui/window/layouts-and-actions", test_layouts_and_actions);
      g_test_add_func ("/ui/window/load-error", test_load_error);
      g_test_add_func ("/ui/window/open-any-nifti", test_open_any_nifti);
      status = g_test_run ();
    }
  gtk_window_destroy (GTK_WINDOW (window));
  return status;
}
