/* SPDX-License-Identifier: MIT
 *
 * test-ui-layouts.c: several sequences at once and the lasso (issue 17, parts 2 and 3), in
 * the workbench window on a copy of the bundled case, driven through the window's actions
 * and the slice views' event paths (the code the gestures run), checked on the pixels the
 * views show and on the mask's voxels:
 *
 *   /ui/layouts/compare2          two views, FLAIR and T1c, each pixel its sequence's grey
 *   /ui/layouts/click-links       a click in one moves the cursor, slice and crosshair of all
 *   /ui/layouts/window-level      a right drag in the T1c view changes T1c's window only
 *   /ui/layouts/zoom-pan-linked   zoom and pan of one are the other's
 *   /ui/layouts/paint-any-view    a brush stroke in the second view paints the one mask
 *   /ui/layouts/compare4-plane    four sequences, the plane chosen, both remembered
 *   /ui/layouts/overlay           a second sequence over the first, blended by its opacity
 *   /ui/layouts/lasso             the lasso's drag fills its outline (Shift: erases; through
 *                                 the volume), one undo step each, journalled
 *
 * Runs under xvfb-run with XDG_CONFIG_HOME (the settings) and NEUROSEG_DATA_DIR (the
 * journals) in a temporary folder.
 */
#include "ns-config.h"

#include <gtk/gtk.h>
#include <math.h>
#include <string.h>

#include "ns-editor-cleanup.h"
#include "ns-label-ops.h"
#include "ns-settings.h"
#include "ns-test-util.h"
#include "ns-test-widget.h"
#include "ns-test-window.h"
#include "ns-window.h"

static NsWindow *window;

static NsViewer *
viewer (void)
{
  return ns_window_get_viewer (window);
}

static guint64
journal_records (void)
{
  return ns_journal_n_records (ns_mask_doc_get_journal (ns_test_window_doc (window)));
}

static NsSliceView *
compare (guint index)
{
  return ns_window_get_compare_view (window, index);
}

static void
show_layout (const char *layout)
{
  ns_window_set_layout (window, layout);
  g_assert_cmpstr (ns_window_get_layout (window), ==, layout);
  if (g_str_has_prefix (layout, "compare"))
    g_assert_true (ns_test_wait_until (ns_test_window_compare_allocated, window, 10));
  else
    g_assert_true (ns_test_wait_until (ns_test_window_views_allocated, window, 10));
}

/* What the view shows at the centre of voxel ijk (0xRRGGBB). */
static guint32
voxel_pixel (NsSliceView *v, const int ijk[3])
{
  int w, h;
  double x, y;
  g_autofree guint32 *pixels = ns_test_widget_pixels (GTK_WIDGET (v), &w, &h);

  ns_slice_view_voxel_to_widget (v, ijk, &x, &y);
  g_assert_true (x >= 0 && x < w && y >= 0 && y < h);
  return pixels[(gsize) floor (y) * w + (gsize) floor (x)] & 0xffffff;
}

/* The grey image index shows at voxel ijk through its window/level. */
static guint32
image_grey (guint index, const int ijk[3])
{
  NsVolume *image = ns_viewer_get_image (viewer (), index);
  NsLut lut;

  ns_viewer_image_lut_init (viewer (), index, NS_COLORMAP_GREY, &lut);
  return ns_lut_argb (&lut, ns_volume_get_value (image, ns_grid_index (&image->grid, ijk[0],
                                                                       ijk[1], ijk[2])))
         & 0xffffff;
}

/* Voxels around the cursor on its axial slice, away from the crosshair's lines. */
static void
probe_voxels (int ijk[][3], guint n)
{
  double cursor[3];

  ns_viewer_get_cursor (viewer (), cursor);
  for (guint p = 0; p < n; p++)
    {
      ijk[p][0] = (int) cursor[0] + 9 + 7 * (int) p;
      ijk[p][1] = (int) cursor[1] - 12 + 5 * (int) p;
      ijk[p][2] = (int) cursor[2];
    }
}

static gboolean
is_crosshair (guint32 p)
{
  int r = (p >> 16) & 0xff, g = (p >> 8) & 0xff, b = p & 0xff;

  return b - r > 80 && g - r > 60;
}

/* The voxel under widget point (x, y) of v, continuous, as the gestures compute it. */
static void
voxel_at_widget (NsSliceView *v, double x, double y, double voxel[3])
{
  double ix, iy;

  ns_slice_view_widget_to_image (v, x, y, &ix, &iy);
  ns_plane_geometry_voxel_at (ns_slice_view_get_geometry (v), ix, iy, voxel);
}

/* A copy of the bundled case in the temporary folder (the tests paint into its mask). */
static char *
copy_sample_case (void)
{
  g_autoptr (GDir) dir = g_dir_open (ns_test_sample_case (), 0, NULL);
  char *dest = g_build_filename (ns_test_tmpdir (), "Brats18_CBICA_ABM_1", NULL);
  const char *file;

  g_assert_nonnull (dir);
  g_assert_cmpint (g_mkdir_with_parents (dest, 0755), ==, 0);
  while ((file = g_dir_read_name (dir)) != NULL)
    {
      g_autofree char *from = g_build_filename (ns_test_sample_case (), file, NULL);
      g_autofree char *to = g_build_filename (dest, file, NULL);
      g_autofree char *contents = NULL;
      gsize length;

      g_assert_true (g_file_get_contents (from, &contents, &length, NULL));
      g_assert_true (g_file_set_contents (to, contents, length, NULL));
    }
  return dest;
}

/* ---- tests --------------------------------------------------------------------------------- */

static void
test_compare2 (void)
{
  int flair = ns_viewer_find_image (viewer (), "flair");
  int t1c = ns_viewer_find_image (viewer (), "t1c");
  int ijk[6][3];
  guint n_distinct = 0;

  g_assert_cmpint (flair, >=, 0);
  g_assert_cmpint (t1c, >=, 0);
  ns_viewer_set_show_labels (viewer (), FALSE);
  ns_viewer_set_show_crosshair (viewer (), FALSE);
  ns_test_window_activate (window, "view.layout", g_variant_new_string ("compare2"));
  show_layout ("compare2");

  g_assert_true (gtk_widget_get_visible (GTK_WIDGET (compare (0))));
  g_assert_true (gtk_widget_get_visible (GTK_WIDGET (compare (1))));
  g_assert_false (gtk_widget_get_visible (GTK_WIDGET (compare (2))));
  g_assert_false (gtk_widget_get_visible (GTK_WIDGET (compare (3))));
  g_assert_false (gtk_widget_get_visible (
    GTK_WIDGET (ns_window_get_slice_view (window, NS_PLANE_SAGITTAL))));
  g_assert_cmpint (ns_slice_view_get_image_index (compare (0)), ==, flair);
  g_assert_cmpint (ns_slice_view_get_image_index (compare (1)), ==, t1c);
  g_assert_cmpint (ns_slice_view_get_plane (compare (0)), ==, NS_PLANE_AXIAL);
  g_assert_cmpint (ns_slice_view_get_plane (compare (1)), ==, NS_PLANE_AXIAL);

  /* Each view shows its own sequence: the pixel at a voxel is that sequence's grey. */
  probe_voxels (ijk, G_N_ELEMENTS (ijk));
  for (guint p = 0; p < G_N_ELEMENTS (ijk); p++)
    {
      guint32 want0 = image_grey (flair, ijk[p]), want1 = image_grey (t1c, ijk[p]);

      g_assert_true (ns_test_pixel_near (voxel_pixel (compare (0), ijk[p]), want0, 1));
      g_assert_true (ns_test_pixel_near (voxel_pixel (compare (1), ijk[p]), want1, 1));
      n_distinct += !ns_test_pixel_near (want0, want1, 8);
    }
  /* ... and the check tells the two apart */
  g_assert_cmpuint (n_distinct, >=, 3);
  ns_viewer_set_show_labels (viewer (), TRUE);
  ns_viewer_set_show_crosshair (viewer (), TRUE);
}

static void
test_click_links (void)
{
  NsSliceView *second = compare (1);
  double cx = gtk_widget_get_width (GTK_WIDGET (second)) / 2.0;
  double cy = gtk_widget_get_height (GTK_WIDGET (second)) / 2.0;
  double cursor[3], before[3], ix, iy;

  show_layout ("compare2");
  ns_viewer_get_cursor (viewer (), before);
  ns_slice_view_widget_to_image (second, cx + 23.4, cy - 31.7, &ix, &iy);
  ns_slice_view_click_at (second, cx + 23.4, cy - 31.7);

  /* LPS, radiological, 1 mm: image x is i, image y is j; the slice stays */
  ns_viewer_get_cursor (viewer (), cursor);
  g_assert_cmpfloat (cursor[0], ==, floor (ix));
  g_assert_cmpfloat (cursor[1], ==, floor (iy));
  g_assert_cmpfloat (cursor[2], ==, before[2]);
  g_assert_cmpint (ns_slice_view_get_slice (compare (0)), ==, (int) cursor[2]);

  /* The first view's crosshair goes through the clicked voxel: its row and column through
   * the cursor are the crosshair's colour, away from the cursor's gap. */
  {
    int w, h;
    int ijk[3] = { (int) cursor[0], (int) cursor[1], (int) cursor[2] };
    double x, y, left, top;
    g_autofree guint32 *pixels = NULL;

    ns_slice_view_voxel_to_widget (compare (0), ijk, &x, &y);
    ns_slice_view_image_to_widget (compare (0), 2, 2, &left, &top);
    pixels = ns_test_widget_pixels (GTK_WIDGET (compare (0)), &w, &h);
    g_assert_true (is_crosshair (pixels[(gsize) floor (y) * w + (gsize) ceil (left)]));
    g_assert_true (is_crosshair (pixels[(gsize) ceil (top) * w + (gsize) floor (x)]));
  }

  /* A wheel step in the first view moves the slice of both. */
  ns_slice_view_scroll_at (compare (0), cx, cy, -1, 0);
  g_assert_cmpint (ns_slice_view_get_slice (compare (0)), ==, (int) cursor[2] + 1);
  g_assert_cmpint (ns_slice_view_get_slice (compare (1)), ==, (int) cursor[2] + 1);
  ns_slice_view_scroll_at (compare (0), cx, cy, 1, 0);
}

static void
test_window_level (void)
{
  int flair = ns_viewer_find_image (viewer (), "flair");
  int t1c = ns_viewer_find_image (viewer (), "t1c");
  double fw0, fl0, tw0, tl0, fw, fl, tw, tl;
  int w0, h0, w1, h1, ijk[1][3];
  g_autofree guint32 *first_before = NULL, *first_after = NULL;
  NsSliceView *second = compare (1);

  show_layout ("compare2");
  ns_viewer_set_show_crosshair (viewer (), FALSE);
  ns_viewer_set_show_labels (viewer (), FALSE);
  ns_viewer_get_image_window_level (viewer (), flair, &fw0, &fl0);
  ns_viewer_get_image_window_level (viewer (), t1c, &tw0, &tl0);
  first_before = ns_test_widget_pixels (GTK_WIDGET (compare (0)), &w0, &h0);

  /* a right drag in the T1c view: right widens the window, down raises the level */
  ns_slice_view_drag (second, GDK_BUTTON_SECONDARY, 0, 100, 100, 60, 30);

  ns_viewer_get_image_window_level (viewer (), flair, &fw, &fl);
  ns_viewer_get_image_window_level (viewer (), t1c, &tw, &tl);
  g_assert_cmpfloat (fw, ==, fw0);
  g_assert_cmpfloat (fl, ==, fl0);
  g_assert_cmpfloat (tw, >, tw0);
  g_assert_cmpfloat (tl, >, tl0);
  /* the FLAIR view is unchanged to the pixel; the T1c view shows T1c's new window */
  first_after = ns_test_widget_pixels (GTK_WIDGET (compare (0)), &w1, &h1);
  g_assert_cmpint (w0, ==, w1);
  g_assert_cmpint (h0, ==, h1);
  g_assert_cmpint (memcmp (first_before, first_after, sizeof (guint32) * w0 * h0), ==, 0);
  probe_voxels (ijk, 1);
  g_assert_true (ns_test_pixel_near (voxel_pixel (second, ijk[0]), image_grey (t1c, ijk[0]), 1));

  ns_viewer_set_image_window_level (viewer (), t1c, tw0, tl0);
  ns_viewer_set_show_crosshair (viewer (), TRUE);
  ns_viewer_set_show_labels (viewer (), TRUE);
}

static void
test_zoom_pan_linked (void)
{
  double z0, px0, py0, z1, px1, py1, x0, y0, x1, y1;
  int ijk[1][3];

  show_layout ("compare2");
  ns_slice_view_reset (compare (0));
  /* Ctrl + wheel in the second view, away from its centre */
  ns_slice_view_scroll_at (compare (1), 150, 120, -2, GDK_CONTROL_MASK);
  ns_slice_view_get_transform (compare (0), &z0, &px0, &py0);
  ns_slice_view_get_transform (compare (1), &z1, &px1, &py1);
  g_assert_cmpfloat (z1, >, 1.0);
  g_assert_cmpfloat (z0, ==, z1);
  g_assert_cmpfloat (px0, ==, px1);
  g_assert_cmpfloat (py0, ==, py1);
  /* a middle drag in the first */
  ns_slice_view_drag (compare (0), GDK_BUTTON_MIDDLE, 0, 100, 100, 17, -11);
  ns_slice_view_get_transform (compare (0), &z0, &px0, &py0);
  ns_slice_view_get_transform (compare (1), &z1, &px1, &py1);
  g_assert_cmpfloat (px0, ==, px1);
  g_assert_cmpfloat (py0, ==, py1);
  g_assert_cmpfloat (px1, !=, 0);
  /* the same voxel at the same place in both (within a pixel: a homogeneous grid's
   * columns may differ by one pixel in width) */
  probe_voxels (ijk, 1);
  ns_slice_view_voxel_to_widget (compare (0), ijk[0], &x0, &y0);
  ns_slice_view_voxel_to_widget (compare (1), ijk[0], &x1, &y1);
  g_assert_cmpfloat (fabs (x0 - x1), <, 1.0);
  g_assert_cmpfloat (fabs (y0 - y1), <, 1.0);
  /* View > Reset View resets both */
  ns_test_window_activate (window, "view.reset", NULL);
  ns_slice_view_get_transform (compare (1), &z1, &px1, &py1);
  g_assert_cmpfloat (z1, ==, 1.0);
  g_assert_cmpfloat (px1, ==, 0);
}

static void
test_paint_any_view (void)
{
  NsSliceView *second = compare (1);
  g_autoptr (NsLabelMap) before = ns_label_map_dup (ns_test_window_labels (window), NULL);
  double xy[2], voxel[3];
  int ijk[3];
  guint32 pixel_before;

  show_layout ("compare2");
  /* a point left of the tumour: background in the case's segmentation */
  xy[0] = gtk_widget_get_width (GTK_WIDGET (second)) * 0.3;
  xy[1] = gtk_widget_get_height (GTK_WIDGET (second)) * 0.5;
  voxel_at_widget (second, xy[0], xy[1], voxel);
  for (int a = 0; a < 3; a++)
    ijk[a] = (int) lround (voxel[a]);
  ns_viewer_set_show_crosshair (viewer (), FALSE);
  pixel_before = voxel_pixel (compare (0), ijk);

  ns_test_window_activate (window, "edit.tool", g_variant_new_string ("brush"));
  ns_editor_set_label (ns_test_window_editor (window), 2);
  ns_slice_view_paint_path (second, 0, xy, 1);

  /* the one mask: the editor's document is what the viewer shows, in both views */
  g_assert_true (ns_viewer_get_labels (viewer ()) == ns_test_window_labels (window));
  {
    const NsLabelMap *map = ns_test_window_labels (window);

    g_assert_cmpuint (map->labels[ns_grid_index (&map->grid, ijk[0], ijk[1], ijk[2])], ==, 2);
  }
  g_assert_cmpuint (ns_test_labels_n_differ (ns_test_window_labels (window), before), >, 0);
  g_assert_false (ns_test_pixel_near (voxel_pixel (compare (0), ijk), pixel_before, 8));
  ns_test_window_activate (window, "win.undo", NULL);
  g_assert_cmpuint (ns_test_labels_n_differ (ns_test_window_labels (window), before), ==, 0);
  g_assert_true (ns_test_pixel_near (voxel_pixel (compare (0), ijk), pixel_before, 1));
  ns_test_window_activate (window, "edit.tool", g_variant_new_string ("navigate"));
  ns_viewer_set_show_crosshair (viewer (), TRUE);
}

static void
test_compare4_plane (void)
{
  static const char *const order[] = { "flair", "t1", "t1c", "t2" };
  g_autofree char *layout = NULL;
  g_autofree char *plane = NULL;

  ns_test_window_activate (window, "view.layout", g_variant_new_string ("compare4"));
  show_layout ("compare4");
  for (guint v = 0; v < NS_WINDOW_N_COMPARE; v++)
    {
      g_assert_true (gtk_widget_get_visible (GTK_WIDGET (compare (v))));
      g_assert_cmpint (ns_slice_view_get_image_index (compare (v)), ==,
                       ns_viewer_find_image (viewer (), order[v]));
    }
  /* 2 x 2: the second row below the first */
  {
    graphene_rect_t b0, b2;

    g_assert_true (gtk_widget_compute_bounds (GTK_WIDGET (compare (0)), GTK_WIDGET (window),
                                              &b0));
    g_assert_true (gtk_widget_compute_bounds (GTK_WIDGET (compare (2)), GTK_WIDGET (window),
                                              &b2));
    g_assert_cmpfloat (b2.origin.y, >=, b0.origin.y + b0.size.height);
  }

  ns_test_window_activate (window, "view.compare-plane", g_variant_new_string ("sagittal"));
  g_assert_cmpint (ns_window_get_compare_plane (window), ==, NS_PLANE_SAGITTAL);
  for (guint v = 0; v < NS_WINDOW_N_COMPARE; v++)
    g_assert_cmpint (ns_slice_view_get_plane (compare (v)), ==, NS_PLANE_SAGITTAL);

  /* remembered: in the settings, and a new window opens in them */
  layout = ns_settings_dup_string ("view", "layout");
  plane = ns_settings_dup_string ("view", "compare-plane");
  g_assert_cmpstr (layout, ==, "compare4");
  g_assert_cmpstr (plane, ==, "sagittal");
  {
    NsWindow *other = ns_window_new (NULL);

    g_assert_cmpstr (ns_window_get_layout (other), ==, "compare4");
    g_assert_cmpint (ns_window_get_compare_plane (other), ==, NS_PLANE_SAGITTAL);
    gtk_window_destroy (GTK_WINDOW (other));
  }
  ns_test_window_activate (window, "view.compare-plane", g_variant_new_string ("axial"));
  show_layout ("grid");
}

static void
test_overlay (void)
{
  NsSliceView *axial = ns_window_get_slice_view (window, NS_PLANE_AXIAL);
  NsSliceView *sagittal = ns_window_get_slice_view (window, NS_PLANE_SAGITTAL);
  int flair = ns_viewer_find_image (viewer (), "flair");
  int t1c = ns_viewer_find_image (viewer (), "t1c");
  int ijk[8][3];
  guint n_drawn = 0;
  const double opacity = 0.4;
  NsLut hot;
  guint32 sagittal_before;
  double cursor[3];
  int sag_ijk[3];

  show_layout ("grid");
  ns_viewer_set_modality (viewer (), "flair");
  ns_viewer_set_show_labels (viewer (), FALSE);
  ns_viewer_set_show_crosshair (viewer (), FALSE);
  probe_voxels (ijk, G_N_ELEMENTS (ijk));
  ns_viewer_get_cursor (viewer (), cursor);
  sag_ijk[0] = (int) cursor[0];
  sag_ijk[1] = (int) cursor[1] + 6;
  sag_ijk[2] = (int) cursor[2] + 9;
  sagittal_before = voxel_pixel (sagittal, sag_ijk);

  /* the sidebar's controls, as a person sets them */
  {
    GtkWidget *sequence = ns_test_find_named (GTK_WIDGET (window), "overlay-sequence");
    GtkWidget *colormap = ns_test_find_named (GTK_WIDGET (window), "overlay-colormap");
    GtkWidget *scale = ns_test_find_named (GTK_WIDGET (window), "overlay-opacity");
    NsColormap map;
    double shown_opacity;

    g_assert_nonnull (sequence);
    g_assert_nonnull (colormap);
    g_assert_nonnull (scale);
    gtk_range_set_value (GTK_RANGE (scale), opacity);
    gtk_drop_down_set_selected (GTK_DROP_DOWN (colormap), 0);       /* Hot */
    gtk_drop_down_set_selected (GTK_DROP_DOWN (sequence), t1c + 1); /* after None */
    g_assert_cmpint (ns_viewer_get_image_overlay (viewer (), &map, &shown_opacity), ==, t1c);
    g_assert_cmpint (map, ==, NS_COLORMAP_HOT);
    g_assert_cmpfloat (shown_opacity, ==, opacity);
  }
  ns_viewer_image_lut_init (viewer (), t1c, NS_COLORMAP_HOT, &hot);
  for (guint p = 0; p < G_N_ELEMENTS (ijk); p++)
    {
      NsVolume *image = ns_viewer_get_image (viewer (), t1c);
      float value = ns_volume_get_value (image, ns_grid_index (&image->grid, ijk[p][0],
                                                               ijk[p][1], ijk[p][2]));
      guint32 base = image_grey (flair, ijk[p]);
      guint32 colour = ns_lut_argb (&hot, value);
      guint32 got = voxel_pixel (axial, ijk[p]);

      if (value < hot.lo)
        {
          g_assert_true (ns_test_pixel_near (got, base, 1));
          continue;
        }
      /* each channel moves from the FLAIR grey toward the hot colour by the opacity */
      for (int shift = 0; shift <= 16; shift += 8)
        {
          double want = (1 - opacity) * ((base >> shift) & 0xff)
                        + opacity * ((colour >> shift) & 0xff);
          g_assert_cmpfloat (fabs (((got >> shift) & 0xff) - want), <=, 2.0);
        }
      n_drawn++;
    }
  g_assert_cmpuint (n_drawn, >=, 4);
  /* in every view */
  g_assert_false (ns_test_pixel_near (voxel_pixel (sagittal, sag_ijk), sagittal_before, 4));

  /* None: the FLAIR again */
  gtk_drop_down_set_selected (GTK_DROP_DOWN (ns_test_find_named (GTK_WIDGET (window),
                                                                 "overlay-sequence")), 0);
  g_assert_cmpint (ns_viewer_get_image_overlay (viewer (), NULL, NULL), ==, -1);
  g_assert_true (ns_test_pixel_near (voxel_pixel (axial, ijk[0]), image_grey (flair, ijk[0]),
                                     1));
  ns_viewer_set_show_labels (viewer (), TRUE);
  ns_viewer_set_show_crosshair (viewer (), TRUE);
}

/* A pentagon of widget points around (cx, cy) with radius r, and its voxels. */
static void
pentagon (NsSliceView *v, double cx, double cy, double r, double xy[10], double pts[15])
{
  for (int p = 0; p < 5; p++)
    {
      xy[2 * p] = cx + r * cos (2 * G_PI * p / 5 + 0.3);
      xy[2 * p + 1] = cy + r * sin (2 * G_PI * p / 5 + 0.3);
      voxel_at_widget (v, xy[2 * p], xy[2 * p + 1], &pts[3 * p]);
    }
}

static void
test_lasso (void)
{
  NsSliceView *axial = ns_window_get_slice_view (window, NS_PLANE_AXIAL);
  g_autoptr (NsLabelMap) before = ns_label_map_dup (ns_test_window_labels (window), NULL);
  g_autoptr (NsLabelMap) expected = ns_label_map_dup (ns_test_window_labels (window), NULL);
  g_autoptr (GError) error = NULL;
  double cx = gtk_widget_get_width (GTK_WIDGET (axial)) * 0.45;
  double cy = gtk_widget_get_height (GTK_WIDGET (axial)) * 0.5;
  double xy[10], pts[15];
  guint64 records;
  NsPaintRule rule;

  show_layout ("grid");
  ns_test_window_activate (window, "edit.tool", g_variant_new_string ("lasso"));
  g_assert_cmpint (ns_editor_get_tool (ns_test_window_editor (window)), ==, NS_TOOL_LASSO);
  ns_editor_set_label (ns_test_window_editor (window), 1);
  pentagon (axial, cx, cy, 60, xy, pts);

  /* the drag: fills the outline on this slice with the active label */
  records = journal_records ();
  ns_slice_view_paint_path (axial, 0, xy, 5);
  ns_editor_get_paint_rule (ns_test_window_editor (window), 1, &rule);
  {
    g_autoptr (NsEditChange) want = ns_label_ops_polygon (expected, NULL, 2, pts, 5, FALSE,
                                                          &rule, &error);

    g_assert_no_error (error);
    g_assert_cmpuint (want->n, >, 500);
  }
  g_assert_cmpuint (ns_test_labels_n_differ (ns_test_window_labels (window), expected), ==, 0);
  g_assert_cmpuint (ns_test_labels_n_differ (ns_test_window_labels (window), before), >, 500);
  g_assert_cmpstr (ns_test_window_last_entry_name (window), ==, "Lasso");
  g_assert_cmpuint (journal_records (), >, records);

  /* Shift + drag: the scissors erase inside the same outline */
  ns_slice_view_paint_path (axial, GDK_SHIFT_MASK, xy, 5);
  ns_editor_get_paint_rule (ns_test_window_editor (window), 0, &rule);
  {
    g_autoptr (NsEditChange) cut = ns_label_ops_polygon (expected, NULL, 2, pts, 5, FALSE,
                                                         &rule, &error);
    g_assert_no_error (error);
  }
  g_assert_cmpuint (ns_test_labels_n_differ (ns_test_window_labels (window), expected), ==, 0);
  g_assert_cmpstr (ns_test_window_last_entry_name (window), ==, "Scissors");

  /* undo: one step each */
  ns_test_window_activate (window, "win.undo", NULL);
  ns_test_window_activate (window, "win.undo", NULL);
  g_assert_cmpuint (ns_test_labels_n_differ (ns_test_window_labels (window), before), ==, 0);

  /* through the volume: every axial slice */
  ns_editor_set_lasso_through (ns_test_window_editor (window), TRUE);
  ns_slice_view_paint_path (axial, 0, xy, 5);
  {
    g_autoptr (NsLabelMap) through = ns_label_map_dup (before, NULL);
    g_autoptr (NsEditChange) want = NULL;

    ns_editor_get_paint_rule (ns_test_window_editor (window), 1, &rule);
    want = ns_label_ops_polygon (through, NULL, 2, pts, 5, TRUE, &rule, &error);
    g_assert_no_error (error);
    g_assert_cmpuint (ns_test_labels_n_differ (ns_test_window_labels (window), through), ==, 0);
    g_assert_cmpuint (ns_test_labels_n_differ (through, expected), >, 0);
  }
  ns_test_window_activate (window, "win.undo", NULL);
  g_assert_cmpuint (ns_test_labels_n_differ (ns_test_window_labels (window), before), ==, 0);
  ns_editor_set_lasso_through (ns_test_window_editor (window), FALSE);

  /* fewer than 3 points is no outline: nothing changes, no history step */
  {
    guint n_undo = ns_history_n_undo (ns_test_window_history (window));

    ns_slice_view_paint_path (axial, 0, xy, 2);
    g_assert_cmpuint (ns_history_n_undo (ns_test_window_history (window)), ==, n_undo);
  }
  ns_test_window_activate (window, "edit.tool", g_variant_new_string ("navigate"));
}

int
main (int argc, char **argv)
{
  g_autofree char *data_dir = NULL;
  g_autofree char *case_dir = NULL;
  int status;

  g_setenv ("GTK_A11Y", "none", TRUE);
  g_setenv ("XDG_CONFIG_HOME", ns_test_tmpdir (), TRUE);
  data_dir = g_build_filename (ns_test_tmpdir (), "data", NULL);
  g_setenv ("NEUROSEG_DATA_DIR", data_dir, TRUE);
  g_test_init (&argc, &argv, NULL);
  gtk_init ();

  case_dir = copy_sample_case ();
  window = ns_window_new (NULL);
  gtk_window_set_default_size (GTK_WINDOW (window), 1400, 820);
  gtk_window_present (GTK_WINDOW (window));
  {
    const char *paths[] = { case_dir, NULL };

    ns_window_open (window, paths);
    g_assert_true (ns_test_wait_until (ns_test_window_idle, window, 120));
    g_assert_null (ns_window_get_load_error (window));
    g_assert_nonnull (ns_test_window_doc (window));
  }

  g_test_add_func ("/ui/layouts/compare2", test_compare2);
  g_test_add_func ("/ui/layouts/click-links", test_click_links);
  g_test_add_func ("/ui/layouts/window-level", test_window_level);
  g_test_add_func ("/ui/layouts/zoom-pan-linked", test_zoom_pan_linked);
  g_test_add_func ("/ui/layouts/paint-any-view", test_paint_any_view);
  g_test_add_func ("/ui/layouts/compare4-plane", test_compare4_plane);
  g_test_add_func ("/ui/layouts/overlay", test_overlay);
  g_test_add_func ("/ui/layouts/lasso", test_lasso);
  status = g_test_run ();

  ns_editor_discard_changes (ns_test_window_editor (window));
  gtk_window_destroy (GTK_WINDOW (window));
  return status;
}
