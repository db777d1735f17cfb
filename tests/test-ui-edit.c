/* SPDX-License-Identifier: MIT
 *
 * test-ui-edit.c: mask editing in the workbench window, on a copy of the bundled case
 * (the tests save over its segmentation), driven through the window's actions, its
 * one-key shortcut table, its question dialogs and the slice views' gesture paths
 * (ns_slice_view_paint_path / _drag: the code the drag gesture runs).  Every expected
 * label map is computed with data/'s editing API directly, so the checks are voxel exact.
 * Runs under xvfb-run, with NEUROSEG_DATA_DIR (the journals) in a temporary folder.
 *
 * `test-ui-edit --bench` instead prints: a 5 mm brush dab applied and the three views
 * redrawn (median of 200), undo of a one-million-voxel change, and the longest main-loop
 * stall while a stroke is painted for 10 s from synthesized motion events at 60 Hz.
 */
#include "ns-config.h"

#include <glib/gstdio.h>
#include <gtk/gtk.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "ns-add-label-dialog.h"
#include "ns-application.h"
#include "ns-test-util.h"
#include "ns-test-widget.h"
#include "ns-test-window.h"
#include "ns-tool-panel.h"
#include "ns-window.h"

static NsWindow *window;
static char *case_dir;           /* the copy */
static char *seg_path;           /* its segmentation */

static void
spin (double seconds)
{
  gint64 end = g_get_monotonic_time () + (gint64) (seconds * G_USEC_PER_SEC);

  while (g_get_monotonic_time () < end)
    g_main_context_iteration (NULL, FALSE);
}

/* A copy of the bundled case (with_seg FALSE: without its segmentation) in dir. */
static char *
copy_case (const char *name, gboolean with_seg)
{
  g_autofree char *dest = g_build_filename (ns_test_tmpdir (), name, NULL);
  return ns_test_copy_sample_case (dest, with_seg);
}

static void
open_and_wait (const char *path)
{
  const char *paths[] = { path, NULL };

  ns_window_open (window, paths);
  g_assert_true (ns_test_wait_until (ns_test_window_idle, window, 120));
  g_assert_null (ns_window_get_load_error (window));
  ns_window_set_layout (window, "grid");
  g_assert_true (ns_test_wait_until (ns_test_window_views_allocated, window, 10));
}

static NsSliceView *
view (NsPlane plane)
{
  return ns_window_get_slice_view (window, plane);
}

/* The voxel under widget point (x, y) of v, continuous, as the gesture computes it. */
static void
voxel_at_widget (NsSliceView *v, double x, double y, double voxel[3])
{
  double ix, iy;

  ns_slice_view_widget_to_image (v, x, y, &ix, &iy);
  ns_plane_geometry_voxel_at (ns_slice_view_get_geometry (v), ix, iy, voxel);
}

/* Answers the question dialog the window shows now, and lets the answer take effect. */
static void
answer (int response)
{
  GtkWidget *dialog = ns_window_get_question (window);

  g_assert_nonnull (dialog);
  gtk_dialog_response (GTK_DIALOG (dialog), response);
  g_assert_true (ns_window_get_question (window) != dialog);
  ns_test_drain ();
}

/* ---- tests --------------------------------------------------------------------------------- */

static void
test_open_mask (void)
{
  NsMaskDoc *doc = ns_test_window_doc (window);

  g_assert_nonnull (doc);
  g_assert_cmpstr (ns_mask_doc_get_path (doc), ==, seg_path);
  g_assert_true (ns_editor_path_is_case_seg (ns_test_window_editor (window)));
  g_assert_false (ns_editor_is_modified (ns_test_window_editor (window)));
  /* The views show the document's map, not a copy. */
  g_assert_true (ns_viewer_get_labels (ns_window_get_viewer (window))
                 == ns_test_window_labels (window));
  /* and that map is the case's, decoded once (#13 memory) */
  g_assert_true (ns_viewer_get_case (ns_window_get_viewer (window))->labels
                 == ns_test_window_labels (window));
}

/* The case's labels, which the document shares, are what the file holds once the editor
 * is closed on discarded edits: the views then show no edit that is in no file. */
static void
test_shared_labels_discarded (void)
{
  NsViewer *viewer = ns_window_get_viewer (window);
  NsSliceView *axial = view (NS_PLANE_AXIAL);
  g_autoptr (GError) error = NULL;
  double xy[2];

  g_autoptr (NsLabelMap) file = ns_mask_doc_read_mask (seg_path, ns_viewer_get_grid (viewer),
                                                       &error);
  g_assert_no_error (error);
  xy[0] = gtk_widget_get_width (GTK_WIDGET (axial)) / 3.0;
  xy[1] = gtk_widget_get_height (GTK_WIDGET (axial)) / 2.0;
  ns_editor_set_tool (ns_test_window_editor (window), NS_TOOL_BRUSH);
  ns_slice_view_paint_path (axial, 0, xy, 1);
  g_assert_true (ns_editor_is_modified (ns_test_window_editor (window)));
  g_assert_cmpuint (ns_test_labels_n_differ (ns_viewer_get_case (viewer)->labels, file), >, 0);

  ns_editor_close (ns_test_window_editor (window));
  g_assert_true (ns_viewer_get_labels (viewer) == ns_viewer_get_case (viewer)->labels);
  g_assert_cmpuint (ns_test_labels_n_differ (ns_viewer_get_labels (viewer), file), ==, 0);

  /* the editor again, for the tests that follow: still one buffer */
  g_assert_true (ns_editor_open (ns_test_window_editor (window), NULL, &error));
  g_assert_no_error (error);
  g_assert_true (ns_viewer_get_case (viewer)->labels == ns_test_window_labels (window));
  g_assert_false (ns_editor_is_modified (ns_test_window_editor (window)));
}

/* The file gone bad meanwhile (here: not a NIfTI any more) when the editor closes: the
 * labels shown stay as they are (not emptied), and an infobar names the file and why. */
static void
test_shared_labels_unreadable (void)
{
  NsViewer *viewer = ns_window_get_viewer (window);
  NsSliceView *axial = view (NS_PLANE_AXIAL);
  g_autoptr (GError) error = NULL;
  g_autofree char *aside = g_strconcat (seg_path, ".aside", NULL);
  g_autoptr (NsLabelMap) shown = NULL;
  GtkWidget *bar;
  const char *message;
  double xy[2];

  /* written into (a stroke and its undo): the close reads the file again */
  xy[0] = gtk_widget_get_width (GTK_WIDGET (axial)) / 3.0;
  xy[1] = gtk_widget_get_height (GTK_WIDGET (axial)) / 2.0;
  ns_editor_set_tool (ns_test_window_editor (window), NS_TOOL_BRUSH);
  ns_slice_view_paint_path (axial, 0, xy, 1);
  g_assert_cmpuint (ns_editor_undo (ns_test_window_editor (window), 1), ==, 1);
  shown = ns_label_map_dup (ns_viewer_get_case (viewer)->labels, &error);
  g_assert_no_error (error);
  g_assert_cmpint (g_rename (seg_path, aside), ==, 0);
  g_assert_true (g_file_set_contents (seg_path, "not a NIfTI file", -1, NULL));

  ns_editor_close (ns_test_window_editor (window));
  g_assert_cmpuint (ns_test_labels_n_differ (ns_viewer_get_case (viewer)->labels, shown), ==, 0);
  bar = ns_test_find_named (GTK_WIDGET (window), "labels-infobar");
  g_assert_nonnull (bar);
  g_assert_true (gtk_widget_get_visible (bar));
  message = gtk_label_get_text (GTK_LABEL (ns_test_find_named (bar, "labels-message")));
  g_test_message ("%s", message);
  g_assert_nonnull (strstr (message, seg_path));
  g_assert_nonnull (strstr (message, "kept"));
  gtk_info_bar_response (GTK_INFO_BAR (bar), GTK_RESPONSE_CLOSE);
  g_assert_false (gtk_widget_get_visible (bar));

  /* the file back, the editor again for the tests that follow */
  g_assert_cmpint (g_rename (aside, seg_path), ==, 0);
  g_assert_true (ns_editor_open (ns_test_window_editor (window), NULL, &error));
  g_assert_no_error (error);
  g_assert_true (ns_viewer_get_case (viewer)->labels == ns_test_window_labels (window));
}

static void
test_paint_stroke (void)
{
  NsSliceView *axial = view (NS_PLANE_AXIAL);
  const NsPlaneGeometry *geom = ns_slice_view_get_geometry (axial);
  NsHistory *history = ns_test_window_history (window);
  guint n_undo = ns_history_n_undo (history);
  g_autoptr (NsLabelMap) before = ns_label_map_dup (ns_test_window_labels (window), NULL);
  g_autoptr (NsLabelMap) expected = ns_label_map_dup (ns_test_window_labels (window), NULL);
  double w = gtk_widget_get_width (GTK_WIDGET (axial));
  double h = gtk_widget_get_height (GTK_WIDGET (axial));
  /* A fast drag: four motion events far apart, across the brain. */
  double xy[] = { 0.30 * w, 0.40 * h, 0.45 * w, 0.42 * h, 0.62 * w, 0.60 * h,
                  0.66 * w, 0.70 * h };
  NsBrush brush = { NS_BRUSH_ROUND, 3.0, geom->axis_n };
  NsPaintRule rule;
  NsEditStroke *stroke;
  g_autoptr (NsEditChange) change = NULL;
  g_autoptr (GError) error = NULL;

  ns_test_window_activate (window, "edit.tool", g_variant_new_string ("brush"));
  ns_test_window_activate (window, "edit.class", g_variant_new_int32 (1));   /* 2 ED */
  g_assert_cmpuint (ns_editor_get_label (ns_test_window_editor (window)), ==, 2);
  ns_editor_set_radius (ns_test_window_editor (window), 3.0);
  g_assert_cmpint (ns_editor_get_three_d (ns_test_window_editor (window)), ==, FALSE);

  /* What data/ paints for the same points. */
  ns_paint_rule_init (&rule, 2);
  stroke = ns_edit_stroke_begin (expected, NULL, &brush, &rule, "Brush", &error);
  g_assert_no_error (error);
  for (guint p = 0; p < G_N_ELEMENTS (xy) / 2; p++)
    {
      double voxel[3];
      voxel_at_widget (axial, xy[2 * p], xy[2 * p + 1], voxel);
      ns_edit_stroke_add (stroke, voxel, NULL);
    }
  change = ns_edit_stroke_end (stroke);
  g_assert_cmpuint (change->n, >, 200);   /* a long stroke, gaps filled */

  ns_slice_view_paint_path (axial, 0, xy, G_N_ELEMENTS (xy) / 2);
  g_assert_cmpuint (ns_test_labels_n_differ (ns_test_window_labels (window), expected), ==, 0);
  g_assert_cmpuint (ns_test_labels_n_differ (ns_test_window_labels (window), before), ==,
                   change->n);
  /* Only the slice shown changed, and it is one history entry. */
  for (gsize i = 0; i < change->n; i++)
    {
      guint32 k = change->index[i] / (guint32) (before->grid.dim[0] * before->grid.dim[1]);
      g_assert_cmpint (k, ==, ns_slice_view_get_slice (axial));
    }
  g_assert_cmpuint (ns_history_n_undo (history), ==, n_undo + 1);
  g_assert_true (ns_editor_is_modified (ns_test_window_editor (window)));
  g_assert_true (g_str_has_prefix (gtk_window_get_title (GTK_WINDOW (window)), "*"));

  /* The views show it: the axial surface at the stroke's second point is ED green. */
  {
    cairo_surface_t *surface = ns_slice_view_get_surface (axial);
    double ix, iy;
    const guint8 *data;
    guint32 rgb;

    ns_slice_view_widget_to_image (axial, xy[2], xy[3], &ix, &iy);
    cairo_surface_flush (surface);
    data = cairo_image_surface_get_data (surface);
    rgb = ((const guint32 *) (data + (gsize) floor (iy)
                                       * cairo_image_surface_get_stride (surface)))
            [(int) floor (ix)] & 0xffffff;
    g_assert_cmpuint ((rgb >> 8) & 0xff, >, (rgb >> 16) & 0xff);   /* green over red */
  }
}

static void
test_undo_redo (void)
{
  g_autoptr (NsLabelMap) after = ns_label_map_dup (ns_test_window_labels (window), NULL);
  g_autoptr (NsLabelMap) original = NULL;
  g_autoptr (GError) error = NULL;
  double before_ml = ns_viewer_get_volumes (ns_window_get_viewer (window))->label_ml[2];

  original = ns_mask_doc_read_mask (seg_path, &ns_test_window_labels (window)->grid, &error);
  g_assert_no_error (error);

  ns_test_window_activate (window, "win.undo", NULL);
  g_assert_cmpuint (ns_test_labels_n_differ (ns_test_window_labels (window), original), ==, 0);
  g_assert_false (ns_editor_is_modified (ns_test_window_editor (window)));
  g_assert_cmpfloat (ns_viewer_get_volumes (ns_window_get_viewer (window))->label_ml[2], <,
                     before_ml);
  ns_test_window_activate (window, "win.redo", NULL);
  g_assert_cmpuint (ns_test_labels_n_differ (ns_test_window_labels (window), after), ==, 0);
  g_assert_cmpfloat_with_epsilon (
    ns_viewer_get_volumes (ns_window_get_viewer (window))->label_ml[2], before_ml, 1e-9);

  /* A whole-mask replacement (what a model prediction does) is one entry too. */
  {
    g_autofree guint8 *empty = g_malloc0 (ns_grid_n_voxels (&after->grid));

    g_assert_true (ns_editor_replace (ns_test_window_editor (window), empty, "Prediction"));
    g_assert_cmpfloat (ns_viewer_get_volumes (ns_window_get_viewer (window))->wt_ml, ==, 0);
    ns_test_window_activate (window, "win.undo", NULL);
    g_assert_cmpuint (ns_test_labels_n_differ (ns_test_window_labels (window), after), ==, 0);
    ns_test_window_activate (window, "win.redo", NULL);
    ns_test_window_activate (window, "win.undo", NULL);
  }

  /* Edit > History: jump back to "Opened", then forward to the last entry. */
  ns_test_window_activate (window, "edit.history", NULL);
  g_assert_nonnull (ns_window_get_history_list (window));
  {
    GtkListBoxRow *row = gtk_list_box_get_row_at_index (ns_window_get_history_list (window), 0);
    g_signal_emit_by_name (ns_window_get_history_list (window), "row-activated", row);
  }
  g_assert_cmpuint (ns_test_labels_n_differ (ns_test_window_labels (window), original), ==, 0);
  ns_test_window_activate (window, "edit.history-goto", g_variant_new_uint32 (1));
  g_assert_cmpuint (ns_test_labels_n_differ (ns_test_window_labels (window), after), ==, 0);
  g_assert_nonnull (gtk_list_box_get_row_at_index (ns_window_get_history_list (window), 1));
}

static GtkShortcut *
find_shortcut (guint keyval)
{
  g_autoptr (GListModel) controllers = gtk_widget_observe_controllers (GTK_WIDGET (window));

  for (guint i = 0; i < g_list_model_get_n_items (controllers); i++)
    {
      g_autoptr (GtkEventController) c = g_list_model_get_item (controllers, i);

      if (g_strcmp0 (gtk_event_controller_get_name (c), "ns-edit-keys") != 0)
        continue;
      for (guint s = 0; s < g_list_model_get_n_items (G_LIST_MODEL (c)); s++)
        {
          g_autoptr (GtkShortcut) shortcut = g_list_model_get_item (G_LIST_MODEL (c), s);
          GtkShortcutTrigger *trigger = gtk_shortcut_get_trigger (shortcut);

          if (GTK_IS_KEYVAL_TRIGGER (trigger)
              && gtk_keyval_trigger_get_keyval (GTK_KEYVAL_TRIGGER (trigger)) == keyval)
            return shortcut;   /* the controller keeps it alive */
        }
    }
  return NULL;
}

static void
press (guint keyval)
{
  GtkShortcut *shortcut = find_shortcut (keyval);

  g_assert_nonnull (shortcut);
  g_assert_true (gtk_shortcut_action_activate (gtk_shortcut_get_action (shortcut),
                                               GTK_SHORTCUT_ACTION_EXCLUSIVE,
                                               GTK_WIDGET (window),
                                               gtk_shortcut_get_arguments (shortcut)));
}

static void
test_shortcuts (void)
{
  double r;

  press (GDK_KEY_1);
  g_assert_cmpuint (ns_editor_get_label (ns_test_window_editor (window)), ==, 1);
  press (GDK_KEY_2);
  g_assert_cmpuint (ns_editor_get_label (ns_test_window_editor (window)), ==, 2);
  press (GDK_KEY_3);   /* the third class of BraTS 2017+: 4 ET */
  g_assert_cmpuint (ns_editor_get_label (ns_test_window_editor (window)), ==, 4);
  press (GDK_KEY_e);
  g_assert_cmpint (ns_editor_get_tool (ns_test_window_editor (window)), ==, NS_TOOL_ERASER);
  press (GDK_KEY_f);
  g_assert_cmpint (ns_editor_get_tool (ns_test_window_editor (window)), ==, NS_TOOL_FILL);
  press (GDK_KEY_b);
  g_assert_cmpint (ns_editor_get_tool (ns_test_window_editor (window)), ==, NS_TOOL_BRUSH);
  /* The palette follows: the ET row is selected, the brush button active. */
  {
    GtkWidget *row = ns_tool_panel_get_label_row (
      NS_TOOL_PANEL (gtk_widget_get_first_child (gtk_widget_get_parent (
        GTK_WIDGET (ns_window_get_layer_panel (window))))), 4);
    g_assert_nonnull (row);
    g_assert_true (gtk_list_box_row_is_selected (GTK_LIST_BOX_ROW (row)));
  }
  r = ns_editor_get_radius (ns_test_window_editor (window));
  press (GDK_KEY_bracketright);
  g_assert_cmpfloat (ns_editor_get_radius (ns_test_window_editor (window)), >, r);
  press (GDK_KEY_bracketleft);
  g_assert_cmpfloat (ns_editor_get_radius (ns_test_window_editor (window)), ==, r);
  press (GDK_KEY_bracketleft);
  g_assert_cmpfloat (ns_editor_get_radius (ns_test_window_editor (window)), <, r);
  ns_editor_set_radius (ns_test_window_editor (window), 3.0);
}

static void
test_brush_outline (void)
{
  NsSliceView *axial = view (NS_PLANE_AXIAL);
  GtkWidget *widget = GTK_WIDGET (axial);
  const NsPlaneGeometry *geom;
  int w = gtk_widget_get_width (widget), h = gtk_widget_get_height (widget), pw, ph;
  double cx = w / 2.0, cy = h / 2.0, ix, iy, ex, ey, qx, qy;
  int centre[3], edge_x, inside_x, row;
  g_autofree guint32 *plain = NULL;
  g_autofree guint32 *with_outline = NULL;
  guint n_changed_edge = 0, n_changed_inside = 0;

  /* Zoomed 2x: the outline must follow the voxels, not the widget's pixels. */
  ns_slice_view_set_zoom (axial, 2.0);
  geom = ns_slice_view_get_geometry (axial);
  ns_editor_set_radius (ns_test_window_editor (window), 3.0);
  ns_editor_set_shape (ns_test_window_editor (window), NS_BRUSH_ROUND);
  ns_slice_view_pointer_at (axial, cx, cy);
  ns_slice_view_widget_to_image (axial, cx, cy, &ix, &iy);
  g_assert_true (ns_plane_geometry_voxel_index_at (geom, ix, iy, centre));

  ns_test_window_activate (window, "edit.tool", g_variant_new_string ("navigate"));
  plain = ns_test_widget_pixels (widget, &pw, &ph);
  ns_test_window_activate (window, "edit.tool", g_variant_new_string ("brush"));
  with_outline = ns_test_widget_pixels (widget, &pw, &ph);
  g_assert_cmpint (pw, ==, w);

  /* The disc of radius 3 mm on a 1 mm grid spans 3 voxels each side of the centre: its
   * edge along the screen's x is the footprint boundary 3.5 voxels from the centre. */
  {
    double edge[3] = { centre[0], centre[1], centre[2] };
    double inside[3] = { centre[0], centre[1], centre[2] };

    edge[geom->axis_u] += 3.5 * (geom->step_u > 0 ? 1 : -1);
    inside[geom->axis_u] += 1.5 * (geom->step_u > 0 ? 1 : -1);
    ns_plane_geometry_screen_pos (geom, edge, &qx, &qy);
    ns_slice_view_image_to_widget (axial, qx, qy, &ex, &ey);
    edge_x = (int) floor (ex);
    ns_plane_geometry_screen_pos (geom, inside, &qx, &qy);
    ns_slice_view_image_to_widget (axial, qx, qy, &ex, &ey);
    inside_x = (int) floor (ex);
  }
  row = (int) floor (ey);
  for (int dx = -1; dx <= 0; dx++)
    n_changed_edge += (plain[row * w + edge_x + dx] != with_outline[row * w + edge_x + dx]);
  for (int dx = -1; dx <= 0; dx++)
    n_changed_inside += (plain[row * w + inside_x + dx]
                         != with_outline[row * w + inside_x + dx]);
  g_assert_cmpuint (n_changed_edge, >, 0);
  g_assert_cmpuint (n_changed_inside, ==, 0);
  ns_slice_view_set_zoom (axial, 1.0);
  ns_slice_view_reset (axial);
  ns_slice_view_pointer_at (axial, -1, -1);
}

static void
test_pick (void)
{
  NsSliceView *axial = view (NS_PLANE_AXIAL);
  int ijk[3];
  double x, y;

  /* Ctrl+click over a voxel of known label picks it, whatever the tool. */
  {
    double cursor[3];
    ns_viewer_get_cursor (ns_window_get_viewer (window), cursor);
    for (int a = 0; a < 3; a++)
      ijk[a] = (int) cursor[a];
  }
  ns_slice_view_voxel_to_widget (axial, ijk, &x, &y);
  ns_editor_set_label (ns_test_window_editor (window), 7);
  ns_slice_view_drag (axial, GDK_BUTTON_PRIMARY, GDK_CONTROL_MASK, x, y, 0, 0);
  g_assert_cmpuint (ns_editor_get_label (ns_test_window_editor (window)), ==,
                    ns_edit_pick (ns_test_window_labels (window), ijk));
  g_assert_cmpuint (ns_editor_get_label (ns_test_window_editor (window)), !=, 7);
  g_assert_cmpint (ns_editor_get_tool (ns_test_window_editor (window)), ==, NS_TOOL_BRUSH);
}

static void
test_fill_and_eraser (void)
{
  NsSliceView *axial = view (NS_PLANE_AXIAL);
  const NsPlaneGeometry *geom = ns_slice_view_get_geometry (axial);
  double w = gtk_widget_get_width (GTK_WIDGET (axial));
  double h = gtk_widget_get_height (GTK_WIDGET (axial));
  double xy[2] = { 0.2 * w, 0.2 * h };
  double voxel[3];
  int seed[3];
  g_autoptr (NsLabelMap) expected = ns_label_map_dup (ns_test_window_labels (window), NULL);
  NsPaintRule rule;
  g_autoptr (NsEditChange) change = NULL;
  g_autoptr (GError) error = NULL;

  /* Fill the background region around a corner point with label 1 (bounded by label:
   * the whole connected background of the slice), then undo. */
  voxel_at_widget (axial, xy[0], xy[1], voxel);
  for (int a = 0; a < 3; a++)
    seed[a] = (int) lround (voxel[a]);
  ns_paint_rule_init (&rule, 1);
  change = ns_edit_flood_fill_2d (expected, NULL, geom->axis_n, seed, NS_FILL_BOUND_LABEL, 0,
                                  0, &rule, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (change->n, >, 1000);
  ns_test_window_activate (window, "edit.tool", g_variant_new_string ("fill"));
  ns_editor_set_label (ns_test_window_editor (window), 1);
  ns_slice_view_paint_path (axial, 0, xy, 1);
  /* That floods the air around the brain: the fill guard (issue 17) asks first. */
  g_assert_true (ns_editor_get_fill_pending (ns_test_window_editor (window)));
  g_assert_cmpuint (ns_test_labels_n_differ (ns_test_window_labels (window), expected), ==,
                   change->n);
  g_assert_true (ns_editor_fill_confirm (ns_test_window_editor (window), NULL));
  g_assert_cmpuint (ns_test_labels_n_differ (ns_test_window_labels (window), expected), ==, 0);
  ns_test_window_activate (window, "win.undo", NULL);

  /* Bounded by intensity: the region within the tolerance of the value under the click. */
  {
    g_autoptr (NsLabelMap) want = ns_label_map_dup (ns_test_window_labels (window), NULL);
    g_autoptr (NsEditChange) fill = NULL;
    NsVolume *image = ns_viewer_get_shown_image (ns_window_get_viewer (window));
    double ixy[2] = { 0.5 * w, 0.25 * h };
    NsPaintRule probe;

    voxel_at_widget (axial, ixy[0], ixy[1], voxel);
    for (int a = 0; a < 3; a++)
      seed[a] = (int) lround (voxel[a]);
    ns_paint_rule_init (&probe, 0);
    g_assert_true (ns_paint_rule_set_intensity_from (&probe, image, seed, 40.0));
    fill = ns_edit_flood_fill_2d (want, image, geom->axis_n, seed, NS_FILL_BOUND_INTENSITY,
                                  probe.lo, probe.hi, &rule, &error);
    g_assert_no_error (error);
    g_assert_cmpuint (fill->n, >, 10);
    ns_editor_set_fill_bound (ns_test_window_editor (window), NS_FILL_BOUND_INTENSITY);
    ns_editor_set_tolerance (ns_test_window_editor (window), 40.0);
    ns_slice_view_paint_path (axial, 0, ixy, 1);
    g_assert_cmpuint (ns_test_labels_n_differ (ns_test_window_labels (window), want), ==, 0);
    ns_test_window_activate (window, "win.undo", NULL);
    ns_editor_set_fill_bound (ns_test_window_editor (window), NS_FILL_BOUND_LABEL);
  }

  /* The eraser over the painted stroke. */
  {
    g_autoptr (NsLabelMap) before = ns_label_map_dup (ns_test_window_labels (window), NULL);
    double exy[2] = { 0.45 * w, 0.42 * h };
    int ijk[3];

    voxel_at_widget (axial, exy[0], exy[1], voxel);
    for (int a = 0; a < 3; a++)
      ijk[a] = (int) lround (voxel[a]);
    g_assert_cmpuint (ns_edit_pick (ns_test_window_labels (window), ijk), ==, 2);
    ns_test_window_activate (window, "edit.tool", g_variant_new_string ("eraser"));
    ns_slice_view_paint_path (axial, 0, exy, 1);
    g_assert_cmpuint (ns_edit_pick (ns_test_window_labels (window), ijk), ==, 0);
    g_assert_cmpuint (ns_test_labels_n_differ (ns_test_window_labels (window), before), >, 20);
    ns_test_window_activate (window, "win.undo", NULL);
    g_assert_cmpuint (ns_test_labels_n_differ (ns_test_window_labels (window), before), ==, 0);
  }
  ns_test_window_activate (window, "edit.tool", g_variant_new_string ("brush"));
}

static void
test_lock_and_paint_over (void)
{
  NsSliceView *axial = view (NS_PLANE_AXIAL);
  double w = gtk_widget_get_width (GTK_WIDGET (axial));
  double h = gtk_widget_get_height (GTK_WIDGET (axial));
  double xy[2] = { 0.45 * w, 0.42 * h };   /* inside the ED stroke */
  g_autoptr (NsLabelMap) before = ns_label_map_dup (ns_test_window_labels (window), NULL);

  NsHistory *history = ns_test_window_history (window);
  guint n_undo = ns_history_n_undo (history);

  /* The dab lies inside the ED stroke: with ED locked, nothing changes (and no history
   * entry is made). */
  ns_editor_set_locked (ns_test_window_editor (window), 2, TRUE);
  g_assert_true (ns_editor_get_locked (ns_test_window_editor (window), 2));
  ns_editor_set_label (ns_test_window_editor (window), 1);
  ns_slice_view_paint_path (axial, 0, xy, 1);
  g_assert_cmpuint (ns_test_labels_n_differ (ns_test_window_labels (window), before), ==, 0);
  g_assert_cmpuint (ns_history_n_undo (history), ==, n_undo);
  ns_editor_set_locked (ns_test_window_editor (window), 2, FALSE);
  ns_slice_view_paint_path (axial, 0, xy, 1);
  g_assert_cmpuint (ns_test_labels_n_differ (ns_test_window_labels (window), before), >, 20);
  ns_editor_undo (ns_test_window_editor (window), 1);
  g_assert_cmpuint (ns_test_labels_n_differ (ns_test_window_labels (window), before), ==, 0);
  xy[0] = 0.47 * w;   /* half on the stroke, half on background */
  xy[1] = 0.38 * h;

  /* Only over background: the ED voxels stay. */
  ns_editor_set_paint_over (ns_test_window_editor (window), NS_PAINT_OVER_BACKGROUND, 0);
  ns_slice_view_paint_path (axial, 0, xy, 1);
  for (gsize v = 0, n = ns_grid_n_voxels (&before->grid); v < n; v++)
    if (before->labels[v] != 0)
      g_assert_cmpuint (ns_test_window_labels (window)->labels[v], ==, before->labels[v]);
  ns_editor_undo (ns_test_window_editor (window), 1);
  ns_editor_set_paint_over (ns_test_window_editor (window), NS_PAINT_OVER_ALL, 0);
  g_assert_cmpuint (ns_test_labels_n_differ (ns_test_window_labels (window), before), ==, 0);
}

static void
test_intensity_and_3d (void)
{
  NsSliceView *axial = view (NS_PLANE_AXIAL);
  const NsPlaneGeometry *geom = ns_slice_view_get_geometry (axial);
  NsVolume *image = ns_viewer_get_shown_image (ns_window_get_viewer (window));
  double xy[2] = { 0.5 * gtk_widget_get_width (GTK_WIDGET (axial)),
                   0.3 * gtk_widget_get_height (GTK_WIDGET (axial)) };
  double voxel[3];
  int seed[3];
  float v0;
  g_autoptr (NsLabelMap) before = ns_label_map_dup (ns_test_window_labels (window), NULL);
  gsize n_limited = 0, n_free = 0;
  gboolean other_slice = FALSE;
  gsize plane = (gsize) before->grid.dim[0] * before->grid.dim[1];

  voxel_at_widget (axial, xy[0], xy[1], voxel);
  for (int a = 0; a < 3; a++)
    seed[a] = (int) lround (voxel[a]);
  v0 = ns_volume_get_value (image, ns_grid_index (&image->grid, seed[0], seed[1], seed[2]));
  ns_test_window_activate (window, "edit.tool", g_variant_new_string ("brush"));
  ns_editor_set_label (ns_test_window_editor (window), 3);
  ns_editor_set_radius (ns_test_window_editor (window), 6.0);

  /* Intensity-limited: only voxels within the tolerance of the seed's value change. */
  ns_editor_set_intensity_limit (ns_test_window_editor (window), TRUE);
  ns_editor_set_tolerance (ns_test_window_editor (window), 20.0);
  ns_slice_view_paint_path (axial, 0, xy, 1);
  for (gsize v = 0, n = ns_grid_n_voxels (&before->grid); v < n; v++)
    if (ns_test_window_labels (window)->labels[v] != before->labels[v])
      {
        g_assert_cmpfloat (fabs (ns_volume_get_value (image, v) - v0), <=, 20.0);
        n_limited++;
      }
  g_assert_cmpuint (n_limited, >, 0);
  ns_editor_undo (ns_test_window_editor (window), 1);
  ns_editor_set_intensity_limit (ns_test_window_editor (window), FALSE);

  /* 3-D: a sphere, so other slices change too, and more voxels than the limited dab. */
  ns_editor_set_three_d (ns_test_window_editor (window), TRUE);
  ns_slice_view_paint_path (axial, 0, xy, 1);
  for (gsize v = 0, n = ns_grid_n_voxels (&before->grid); v < n; v++)
    if (ns_test_window_labels (window)->labels[v] != before->labels[v])
      {
        n_free++;
        other_slice |= (int) (v / plane) != seed[geom->axis_n];
      }
  g_assert_true (other_slice);
  g_assert_cmpuint (n_free, >, n_limited);
  ns_editor_undo (ns_test_window_editor (window), 1);
  ns_editor_set_three_d (ns_test_window_editor (window), FALSE);
  ns_editor_set_radius (ns_test_window_editor (window), 3.0);
  g_assert_cmpuint (ns_test_labels_n_differ (ns_test_window_labels (window), before), ==, 0);
}

static void
test_interpolate (void)
{
  NsSliceView *axial = view (NS_PLANE_AXIAL);
  const NsPlaneGeometry *geom = ns_slice_view_get_geometry (axial);
  int slice = ns_slice_view_get_slice (axial);
  double w = gtk_widget_get_width (GTK_WIDGET (axial));
  double h = gtk_widget_get_height (GTK_WIDGET (axial));
  double xy[2] = { 0.25 * w, 0.75 * h };
  double voxel[3];
  int ijk[3];
  g_autoptr (NsLabelMap) before = ns_label_map_dup (ns_test_window_labels (window), NULL);
  guint8 custom = 9;
  guint8 rgb[3] = { 10, 200, 250 };

  /* A custom label on two axial slices 4 apart; interpolation fills the 3 between. */
  /* the dialog, as a person fills it in */
  ns_test_window_activate (window, "edit.add-label", NULL);
  {
    GtkWidget *dialog = ns_window_get_question (window);

    g_assert_true (NS_IS_ADD_LABEL_DIALOG (dialog));
    ns_add_label_dialog_set (NS_ADD_LABEL_DIALOG (dialog), "Test", custom, rgb);
    answer (GTK_RESPONSE_OK);
  }
  g_assert_cmpuint (ns_editor_get_label (ns_test_window_editor (window)), ==, custom);
  g_assert_nonnull (ns_tool_panel_get_label_row (
    NS_TOOL_PANEL (gtk_widget_get_first_child (gtk_widget_get_parent (
      GTK_WIDGET (ns_window_get_layer_panel (window))))), custom));
  g_assert_cmphex (ns_viewer_get_label_rgb (ns_window_get_viewer (window), custom), ==,
                   0x0ac8fa);
  ns_slice_view_paint_path (axial, 0, xy, 1);
  ns_slice_view_step_slice (axial, 4);
  ns_slice_view_paint_path (axial, 0, xy, 1);
  voxel_at_widget (axial, xy[0], xy[1], voxel);
  for (int a = 0; a < 3; a++)
    ijk[a] = (int) lround (voxel[a]);
  ns_slice_view_step_slice (axial, -4);
  g_assert_cmpint (ns_slice_view_get_slice (axial), ==, slice);

  gtk_widget_grab_focus (GTK_WIDGET (axial));
  ns_test_window_activate (window, "edit.interpolate", NULL);
  {
    int lo = MIN (ijk[geom->axis_n], slice), hi = MAX (ijk[geom->axis_n], slice);
    g_assert_cmpint (hi - lo, ==, 4);
    for (int k = lo + 1; k < hi; k++)
      {
        int at[3] = { ijk[0], ijk[1], ijk[2] };
        at[geom->axis_n] = k;
        g_assert_cmpuint (ns_edit_pick (ns_test_window_labels (window), at), ==, custom);
      }
  }
  ns_editor_undo (ns_test_window_editor (window), 3);
  g_assert_cmpuint (ns_test_labels_n_differ (ns_test_window_labels (window), before), ==, 0);
}

static void
test_remove_islands (void)
{
  NsSliceView *axial = view (NS_PLANE_AXIAL);
  double w = gtk_widget_get_width (GTK_WIDGET (axial));
  double h = gtk_widget_get_height (GTK_WIDGET (axial));
  double xy[2] = { 0.3 * w, 0.8 * h };
  double voxel[3];
  int ijk[3];

  ns_editor_set_label (ns_test_window_editor (window), 1);
  ns_editor_set_radius (ns_test_window_editor (window), 1.0);
  ns_slice_view_paint_path (axial, 0, xy, 1);
  ns_editor_set_radius (ns_test_window_editor (window), 3.0);
  voxel_at_widget (axial, xy[0], xy[1], voxel);
  for (int a = 0; a < 3; a++)
    ijk[a] = (int) lround (voxel[a]);
  g_assert_cmpuint (ns_edit_pick (ns_test_window_labels (window), ijk), ==, 1);

  ns_test_window_activate (window, "edit.remove-islands", NULL);
  answer (GTK_RESPONSE_OK);      /* 0.1 mL: the 5-voxel island goes */
  g_assert_cmpuint (ns_edit_pick (ns_test_window_labels (window), ijk), ==, 0);
  ns_editor_undo (ns_test_window_editor (window), 2);
}

static void
test_save_reload (void)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (NsLabelMap) reloaded = NULL;
  g_autofree char *labels_path = ns_label_table_path_for_mask (seg_path);
  g_autofree char *labels_text = NULL;

  g_assert_true (ns_editor_is_modified (ns_test_window_editor (window)));
  /* The first save over the case's segmentation asks; Cancel keeps the file. */
  ns_test_window_activate (window, "win.save-mask", NULL);
  answer (GTK_RESPONSE_CANCEL);
  g_assert_true (ns_editor_is_modified (ns_test_window_editor (window)));
  ns_test_window_activate (window, "win.save-mask", NULL);
  answer (NS_WINDOW_RESPONSE_OVERWRITE);
  g_assert_false (ns_editor_is_modified (ns_test_window_editor (window)));
  g_assert_null (ns_window_get_question (window));

  reloaded = ns_mask_doc_read_mask (seg_path, &ns_test_window_labels (window)->grid, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (ns_test_labels_n_differ (reloaded, ns_test_window_labels (window)), ==, 0);
  g_assert_true (g_file_get_contents (labels_path, &labels_text, NULL, NULL));
  g_assert_nonnull (strstr (labels_text, "\"Test\""));   /* the custom label */

  /* Saved once: no more question.  A file changed on disk since is not overwritten
   * without asking. */
  ns_slice_view_paint_path (view (NS_PLANE_AXIAL), 0,
                            (double[2]) { 0.5 * gtk_widget_get_width (GTK_WIDGET (view (0))),
                                          0.5 * gtk_widget_get_height (GTK_WIDGET (view (0))) },
                            1);
  {
    g_autofree char *contents = NULL;
    gsize length;

    g_usleep (20000);
    g_assert_true (g_file_get_contents (seg_path, &contents, &length, NULL));
    g_assert_true (g_file_set_contents (seg_path, contents, length - 0, NULL));
    /* Same bytes, new mtime; then different bytes. */
    contents[length / 2] ^= 0x01;
    g_assert_true (g_file_set_contents (seg_path, contents, length, NULL));
  }
  ns_test_window_activate (window, "win.save-mask", NULL);
  g_assert_nonnull (ns_window_get_question (window));
  answer (GTK_RESPONSE_CANCEL);
  g_assert_true (ns_editor_is_modified (ns_test_window_editor (window)));
  ns_test_window_activate (window, "win.save-mask", NULL);
  answer (NS_WINDOW_RESPONSE_OVERWRITE);
  g_assert_false (ns_editor_is_modified (ns_test_window_editor (window)));
  g_clear_pointer (&reloaded, ns_label_map_unref);
  reloaded = ns_mask_doc_read_mask (seg_path, &ns_test_window_labels (window)->grid, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (ns_test_labels_n_differ (reloaded, ns_test_window_labels (window)), ==, 0);

  /* The history survives the save. */
  g_assert_cmpuint (ns_history_n_undo (ns_test_window_history (window)),
                    >, 0);
}

static void
test_default_mask_path (void)
{
  g_autofree char *dir = copy_case ("noseg/Brats18_CBICA_ABM_1", FALSE);
  g_autofree char *expected = g_build_filename (dir, "Brats18_CBICA_ABM_1_mask.nii.gz", NULL);
  NsSliceView *axial;
  double xy[2];

  /* Opening another case over unsaved edits asks first: Cancel keeps the case, Discard
   * opens the other one. */
  ns_slice_view_paint_path (view (NS_PLANE_AXIAL), 0,
                            (double[2]) { 0.4 * gtk_widget_get_width (GTK_WIDGET (view (0))),
                                          0.5 * gtk_widget_get_height (GTK_WIDGET (view (0))) },
                            1);
  g_assert_true (ns_editor_is_modified (ns_test_window_editor (window)));
  {
    const char *paths[] = { dir, NULL };

    ns_window_open (window, paths);
    g_assert_false (ns_window_is_loading (window));
    answer (GTK_RESPONSE_CANCEL);
    g_assert_false (ns_window_is_loading (window));
    g_assert_cmpstr (ns_mask_doc_get_path (ns_test_window_doc (window)), ==, seg_path);
    ns_window_open (window, paths);
    answer (NS_WINDOW_RESPONSE_DISCARD);   /* the other case loads (checked below) */
    g_assert_true (ns_test_wait_until (ns_test_window_idle, window, 120));
  }
  g_assert_nonnull (ns_test_window_doc (window));
  g_assert_cmpstr (ns_mask_doc_get_path (ns_test_window_doc (window)), ==, expected);
  g_assert_false (ns_editor_path_is_case_seg (ns_test_window_editor (window)));
  axial = view (NS_PLANE_AXIAL);
  xy[0] = gtk_widget_get_width (GTK_WIDGET (axial)) / 2.0;
  xy[1] = gtk_widget_get_height (GTK_WIDGET (axial)) / 2.0;
  ns_test_window_activate (window, "edit.tool", g_variant_new_string ("brush"));
  ns_slice_view_paint_path (axial, 0, xy, 1);
  g_assert_true (ns_editor_is_modified (ns_test_window_editor (window)));
  ns_test_window_activate (window, "win.save-mask", NULL);   /* a new file: no question */
  g_assert_null (ns_window_get_question (window));
  g_assert_true (g_file_test (expected, G_FILE_TEST_EXISTS));
  g_assert_false (ns_editor_is_modified (ns_test_window_editor (window)));
}

/* Reopens the case shown (its editor closed first, as after a crash: the journal keeps
 * the unsaved edits). */
static void
reopen_after_crash (void)
{
  g_autofree char *dir = g_strdup (ns_viewer_get_case (ns_window_get_viewer (window))->dir);
  const char *paths[] = { dir, NULL };

  ns_editor_close (ns_test_window_editor (window));
  ns_window_open (window, paths);
  g_assert_true (ns_test_wait_until (ns_test_window_idle, window, 120));
}

static void
test_recovery_dialog (void)
{
  NsSliceView *axial = view (NS_PLANE_AXIAL);
  double xy[2] = { 0.35 * gtk_widget_get_width (GTK_WIDGET (axial)),
                   0.45 * gtk_widget_get_height (GTK_WIDGET (axial)) };
  g_autoptr (NsLabelMap) saved = ns_label_map_dup (ns_test_window_labels (window), NULL);
  g_autoptr (NsLabelMap) edited = NULL;

  g_assert_false (ns_editor_is_modified (ns_test_window_editor (window)));
  ns_test_window_activate (window, "edit.tool", g_variant_new_string ("brush"));
  ns_editor_set_label (ns_test_window_editor (window), 4);
  ns_slice_view_paint_path (axial, 0, xy, 1);
  edited = ns_label_map_dup (ns_test_window_labels (window), NULL);
  g_assert_cmpuint (ns_test_labels_n_differ (edited, saved), >, 0);

  /* Discard: the saved mask, and no question the next time. */
  reopen_after_crash ();
  g_assert_nonnull (ns_window_get_question (window));
  answer (NS_WINDOW_RESPONSE_DISCARD);
  g_assert_cmpuint (ns_test_labels_n_differ (ns_test_window_labels (window), saved), ==, 0);
  g_assert_false (ns_editor_is_modified (ns_test_window_editor (window)));
  reopen_after_crash ();
  g_assert_null (ns_window_get_question (window));

  /* Recover: the edit is back, unsaved, and can be undone. */
  ns_slice_view_paint_path (axial, 0, xy, 1);
  reopen_after_crash ();
  answer (NS_WINDOW_RESPONSE_RECOVER);
  g_assert_cmpuint (ns_test_labels_n_differ (ns_test_window_labels (window), edited), ==, 0);
  g_assert_true (ns_editor_is_modified (ns_test_window_editor (window)));
  ns_test_window_activate (window, "win.undo", NULL);
  g_assert_cmpuint (ns_test_labels_n_differ (ns_test_window_labels (window), saved), ==, 0);
  ns_test_window_activate (window, "win.redo", NULL);
}

static void
test_close_unsaved (void)
{
  NsSliceView *axial;
  double xy[2];

  g_object_add_weak_pointer (G_OBJECT (window), (gpointer *) &window);
  axial = view (NS_PLANE_AXIAL);
  xy[0] = gtk_widget_get_width (GTK_WIDGET (axial)) / 3.0;
  xy[1] = gtk_widget_get_height (GTK_WIDGET (axial)) / 2.0;
  ns_slice_view_paint_path (axial, 0, xy, 1);
  g_assert_true (ns_editor_is_modified (ns_test_window_editor (window)));

  /* File > Quit (app.quit) asks Save / Discard / Cancel; Cancel keeps the window. */
  {
    g_autoptr (NsApplication) app = ns_application_new ();

    g_assert_true (g_application_register (G_APPLICATION (app), NULL, NULL));
    gtk_window_set_application (GTK_WINDOW (window), GTK_APPLICATION (app));
    g_action_group_activate_action (G_ACTION_GROUP (app), "quit", NULL);
    spin (0.1);
    g_assert_nonnull (window);
    g_assert_nonnull (ns_window_get_question (window));
    g_assert_true (GTK_IS_MESSAGE_DIALOG (ns_window_get_question (window)));
    answer (GTK_RESPONSE_CANCEL);
    spin (0.1);
    g_assert_nonnull (window);
    g_assert_true (gtk_widget_get_visible (GTK_WIDGET (window)));
    gtk_window_set_application (GTK_WINDOW (window), NULL);
  }

  /* So does closing the window. */
  gtk_window_close (GTK_WINDOW (window));
  spin (0.1);
  g_assert_nonnull (window);
  g_assert_nonnull (ns_window_get_question (window));
  answer (GTK_RESPONSE_CANCEL);
  g_assert_nonnull (window);

  /* Discard closes it. */
  gtk_window_close (GTK_WINDOW (window));
  g_assert_nonnull (ns_window_get_question (window));
  answer (NS_WINDOW_RESPONSE_DISCARD);
  spin (0.2);
  g_assert_null (window);
}

/* ---- benchmark ----------------------------------------------------------------------------- */

static int
compare_double (const void *a, const void *b)
{
  double x = *(const double *) a, y = *(const double *) b;
  return x < y ? -1 : x > y;
}

static void
count_frame (guint *painted)
{
  (*painted)++;
}

typedef struct
{
  NsSliceView *view;
  double cx, cy, r;
  gint64 last_tick;
  gint64 max_gap;
  GArray *gaps;
} StallBench;

static gboolean
probe_cb (gpointer data)
{
  StallBench *b = data;
  gint64 now = g_get_monotonic_time ();

  if (b->last_tick != 0)
    {
      gint64 gap = now - b->last_tick;
      double ms = gap / 1000.0;
      b->max_gap = MAX (b->max_gap, gap);
      g_array_append_val (b->gaps, ms);
    }
  b->last_tick = now;
  return G_SOURCE_CONTINUE;
}

static int
run_bench (void)
{
  NsSliceView *axial = view (NS_PLANE_AXIAL);
  const NsPlaneGeometry *geom = ns_slice_view_get_geometry (axial);
  double w = gtk_widget_get_width (GTK_WIDGET (axial));
  double h = gtk_widget_get_height (GTK_WIDGET (axial));
  enum { N_DABS = 200 };
  double times[N_DABS];

  spin (0.5);
  ns_editor_set_tool (ns_test_window_editor (window), NS_TOOL_BRUSH);
  ns_editor_set_label (ns_test_window_editor (window), 2);
  ns_editor_set_radius (ns_test_window_editor (window), 5.0);

  /* One dab = stroke begin + end (commit: history, journal, volumes), then the three
   * views re-render what the damage reached (the axial view; the others when their slice
   * crosses the dab). */
  for (int i = 0; i < N_DABS; i++)
    {
      double voxel[3];
      gint64 t0;

      voxel_at_widget (axial, w * (0.3 + 0.4 * (i % 20) / 20.0),
                       h * (0.3 + 0.4 * (i / 20) / 10.0), voxel);
      t0 = g_get_monotonic_time ();
      ns_editor_stroke_begin (ns_test_window_editor (window), geom, voxel);
      ns_editor_stroke_end (ns_test_window_editor (window));
      for (int p = 0; p < NS_N_PLANES; p++)
        ns_slice_view_get_surface (view (p));
      times[i] = (g_get_monotonic_time () - t0) / 1000.0;
      g_main_context_iteration (NULL, FALSE);
    }
  qsort (times, N_DABS, sizeof times[0], compare_double);
  printf ("dab r=5 mm + 3 views re-rendered: median %.3f ms, p90 %.3f ms, max %.3f ms "
          "(%d dabs)\n", times[N_DABS / 2], times[N_DABS * 9 / 10], times[N_DABS - 1], N_DABS);
  ns_editor_undo (ns_test_window_editor (window), N_DABS);

  /* The same up to the end of the next frame GTK paints (snapshot + GSK render). */
  {
    GdkFrameClock *clock = gtk_widget_get_frame_clock (GTK_WIDGET (window));
    guint painted = 0;
    gulong id = g_signal_connect_swapped (clock, "after-paint", G_CALLBACK (count_frame),
                                          &painted);

    spin (0.3);
    for (int i = 0; i < N_DABS / 4; i++)
      {
        double voxel[3];
        gint64 t0;
        guint before;

        voxel_at_widget (axial, w * (0.3 + 0.4 * (i % 10) / 10.0),
                         h * (0.3 + 0.4 * (i / 10) / 5.0), voxel);
        spin (0.02);
        before = painted;
        t0 = g_get_monotonic_time ();
        ns_editor_stroke_begin (ns_test_window_editor (window), geom, voxel);
        ns_editor_stroke_end (ns_test_window_editor (window));
        while (painted == before && g_get_monotonic_time () - t0 < G_USEC_PER_SEC)
          g_main_context_iteration (NULL, TRUE);
        times[i] = (g_get_monotonic_time () - t0) / 1000.0;
      }
    g_signal_handler_disconnect (clock, id);
    qsort (times, N_DABS / 4, sizeof times[0], compare_double);
    printf ("dab r=5 mm to the end of the next painted frame (GSK renderer %s): median %.2f ms, "
            "max %.2f ms (%d dabs)\n",
            G_OBJECT_TYPE_NAME (gtk_native_get_renderer (GTK_NATIVE (window))),
            times[N_DABS / 8], times[N_DABS / 4 - 1], N_DABS / 4);
    ns_editor_undo (ns_test_window_editor (window), N_DABS / 4);
  }

  /* Undo of a ~1e6-voxel change: a 3-D sphere of 62 mm. */
  {
    double cursor[3];
    gint64 t0;
    NsHistory *history = ns_test_window_history (window);
    gsize n;

    ns_viewer_get_cursor (ns_window_get_viewer (window), cursor);
    ns_editor_set_three_d (ns_test_window_editor (window), TRUE);
    ns_editor_set_radius (ns_test_window_editor (window), 50.0);
    ns_editor_set_label (ns_test_window_editor (window), 3);
    ns_editor_stroke_begin (ns_test_window_editor (window), geom,
                            (double[3]) { cursor[0] - 30, cursor[1], cursor[2] });
    ns_editor_stroke_add (ns_test_window_editor (window),
                          (double[3]) { cursor[0] + 30, cursor[1], cursor[2] });
    ns_editor_stroke_end (ns_test_window_editor (window));
    n = ns_history_get (history, ns_history_n_undo (history) - 1)->n;
    t0 = g_get_monotonic_time ();
    ns_editor_undo (ns_test_window_editor (window), 1);
    for (int p = 0; p < NS_N_PLANES; p++)
      ns_slice_view_get_surface (view (p));
    printf ("undo of a %zu-voxel change + 3 views redrawn: %.1f ms\n", n,
            (g_get_monotonic_time () - t0) / 1000.0);
    ns_editor_set_three_d (ns_test_window_editor (window), FALSE);
    ns_editor_set_radius (ns_test_window_editor (window), 5.0);
    ns_editor_set_label (ns_test_window_editor (window), 2);
  }

  /* Ten seconds of painting: a motion event every 1/60 s (a timeout on the main loop, as
   * the drag gesture would deliver them) through the view's drag path, frames drawn as
   * usual; a 1 ms probe timeout measures the main loop's longest stall. */
  {
    StallBench b = { axial, w / 2, h / 2, MIN (w, h) * 0.3, 0, 0, NULL };
    double xy0[2] = { b.cx + b.r * 0.5, b.cy };
    gint64 end;
    guint probe, n_events = 0;
    double p99;
    gint64 next_event;
    gint64 max_event = 0;
    gint64 frames0;
    guint64 n_records;

    b.gaps = g_array_new (FALSE, FALSE, sizeof (double));
    frames0 = gdk_frame_clock_get_frame_counter (gtk_widget_get_frame_clock (GTK_WIDGET (axial)));
    probe = g_timeout_add (1, probe_cb, &b);
    end = g_get_monotonic_time () + 10 * G_USEC_PER_SEC;
    next_event = g_get_monotonic_time ();
    {
      /* The drag: begin, then one update per 1/60 s, end after 10 s. */
      double voxel[3];
      voxel_at_widget (axial, xy0[0], xy0[1], voxel);
      ns_editor_stroke_begin (ns_test_window_editor (window), geom, voxel);
    }
    while (g_get_monotonic_time () < end)
      {
        if (g_get_monotonic_time () >= next_event)
          {
            double t = n_events / 60.0;
            double x = b.cx + b.r * cos (t * 2.1) * (0.5 + 0.5 * cos (t * 0.37));
            double y = b.cy + b.r * sin (t * 2.1);
            double voxel[3];

            gint64 t0 = g_get_monotonic_time ();

            ns_slice_view_pointer_at (axial, x, y);
            voxel_at_widget (axial, x, y, voxel);
            ns_editor_stroke_add (ns_test_window_editor (window), voxel);
            max_event = MAX (max_event, g_get_monotonic_time () - t0);
            n_events++;
            next_event += G_USEC_PER_SEC / 60;
          }
        g_main_context_iteration (NULL, FALSE);
      }
    ns_editor_stroke_end (ns_test_window_editor (window));
    g_source_remove (probe);
    g_array_sort (b.gaps, compare_double);
    p99 = b.gaps->len > 0 ? g_array_index (b.gaps, double, b.gaps->len * 99 / 100) : 0;
    n_records = ns_journal_n_records (ns_mask_doc_get_journal (ns_test_window_doc (window)));
    printf ("10 s of painting at 60 Hz (%u motion events): longest main-loop stall %.2f ms, "
            "p99 gap %.2f ms; longest motion event (pointer + stroke) %.2f ms; frames %"
            G_GINT64_FORMAT "; journal records %" G_GUINT64_FORMAT "\n",
            n_events, b.max_gap / 1000.0, p99, max_event / 1000.0,
            gdk_frame_clock_get_frame_counter (gtk_widget_get_frame_clock (GTK_WIDGET (axial)))
              - frames0, n_records);
    g_array_unref (b.gaps);
  }
  ns_editor_discard_changes (ns_test_window_editor (window));
  return 0;
}

int
main (int argc, char **argv)
{
  gboolean bench = argc >= 2 && strcmp (argv[1], "--bench") == 0;
  int status;
  g_autofree char *data_dir = NULL;

  if (bench)
    {
      argv[1] = argv[0];
      argv++;
      argc--;
    }
  g_setenv ("GTK_A11Y", "none", TRUE);
  g_setenv ("XDG_CONFIG_HOME", ns_test_tmpdir (), TRUE);
  data_dir = g_build_filename (ns_test_tmpdir (), "data", NULL);
  g_setenv ("NEUROSEG_DATA_DIR", data_dir, TRUE);
  g_test_init (&argc, &argv, NULL);
  gtk_init ();

  case_dir = copy_case ("Brats18_CBICA_ABM_1", TRUE);
  seg_path = g_build_filename (case_dir, "Brats18_CBICA_ABM_1_seg.nii.gz", NULL);

  window = ns_window_new (NULL);
  gtk_window_set_default_size (GTK_WINDOW (window), 1400, 820);
  gtk_window_present (GTK_WINDOW (window));
  open_and_wait (case_dir);

  if (bench)
    status = run_bench ();
  else
    {
      g_test_add_func ("/ui/edit/open-mask", test_open_mask);
      g_test_add_func ("/ui/edit/shared-labels-discarded", test_shared_labels_discarded);
      g_test_add_func ("/ui/edit/shared-labels-unreadable", test_shared_labels_unreadable);
      g_test_add_func ("/ui/edit/paint-stroke", test_paint_stroke);
      g_test_add_func ("/ui/edit/undo-redo-history", test_undo_redo);
      g_test_add_func ("/ui/edit/shortcuts", test_shortcuts);
      g_test_add_func ("/ui/edit/brush-outline", test_brush_outline);
      g_test_add_func ("/ui/edit/ctrl-click-pick", test_pick);
      g_test_add_func ("/ui/edit/fill-and-eraser", test_fill_and_eraser);
      g_test_add_func ("/ui/edit/lock-and-paint-over", test_lock_and_paint_over);
      g_test_add_func ("/ui/edit/intensity-limit-and-3d", test_intensity_and_3d);
      g_test_add_func ("/ui/edit/interpolate", test_interpolate);
      g_test_add_func ("/ui/edit/remove-islands", test_remove_islands);
      g_test_add_func ("/ui/edit/save-reload", test_save_reload);
      g_test_add_func ("/ui/edit/default-mask-path", test_default_mask_path);
      g_test_add_func ("/ui/edit/recovery-dialog", test_recovery_dialog);
      g_test_add_func ("/ui/edit/close-unsaved", test_close_unsaved);
      status = g_test_run ();
    }
  if (window != NULL)
    {
      ns_editor_discard_changes (ns_test_window_editor (window));
      gtk_window_destroy (GTK_WINDOW (window));
    }
  return status;
}
