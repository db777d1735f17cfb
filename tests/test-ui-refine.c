/* SPDX-License-Identifier: MIT
 *
 * test-ui-refine.c: the Refine tool (issue 15) in the workbench window, on a copy of the
 * bundled case, driven through the slice views' gesture and key paths (the code the drag
 * gesture and the key controller run), the window's actions and its shortcut table.
 *
 * The interactive models are made here, with the real engine (net/ns-interact.h) running
 * them: an interactive MobileNetV2-U-Net whose weights are all 0 and whose head bias is
 * +12 ("grow": every voxel the engine shows the network becomes part of the region) or -12
 * ("shrink": none does).  So what a click must change is known exactly whatever the
 * engine's crop: the voxel under a click joins (grow) or leaves (shrink) the region, and
 * without propagation only the click's slice changes.
 * Runs under xvfb-run, with NEUROSEG_DATA_DIR (the journals) in a temporary folder.
 */
#include "ns-config.h"

#include <gtk/gtk.h>
#include <math.h>
#include <string.h>

#include "ns-backend.h"
#include "ns-checkpoint.h"
#include "ns-refine.h"
#include "ns-task.h"
#include "ns-test-util.h"
#include "ns-test-widget.h"
#include "ns-test-window.h"
#include "ns-window.h"

static NsWindow *window;
static char *grow_model;         /* interactive, head bias +12 */
static char *shrink_model;       /* interactive, head bias -12 */
static char *segmentation_model; /* a segmentation model (not interactive) */
static guint n_finished;         /* "finished" emissions */
static gboolean last_ok;

/* ---- set-up -------------------------------------------------------------------------------- */

static char *
write_model (const char *name, gboolean interactive, float bias)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (NsModelMeta) base = ns_model_meta_new_default (NULL);
  g_autoptr (NsModelMeta) meta = interactive ? ns_model_meta_new_interactive (base)
                                             : ns_model_meta_copy (base);
  g_autoptr (NsBackend) backend = ns_backend_new ("ref", &error);
  NsModelInit init = { .kind = NS_INIT_NONE };
  g_autoptr (NsModel) model = NULL;
  char *path = g_build_filename (ns_test_tmpdir (), name, NULL);
  int index;

  g_assert_no_error (error);
  model = ns_model_new (backend, meta, &init, &error);
  g_assert_no_error (error);
  index = ns_model_find_tensor (model, "segmentation_head.0.bias");
  g_assert_cmpint (index, >=, 0);
  {
    gsize n = ns_model_tensor_size (model, index);
    g_autofree float *values = g_new (float, n);

    for (gsize c = 0; c < n; c++)
      values[c] = bias;
    ns_model_tensor_set (model, index, values);
  }
  g_assert_true (ns_checkpoint_save (model, path, NS_DTYPE_F32, &error));
  g_assert_no_error (error);
  return path;
}

static char *
copy_case (const char *name)
{
  g_autofree char *dest = g_build_filename (ns_test_tmpdir (), name, NULL);
  return ns_test_copy_sample_case (dest, TRUE);
}

static NsRefine *
refine (void)
{
  return ns_window_get_refine (window);
}

static NsSliceView *
axial (void)
{
  return ns_window_get_slice_view (window, NS_PLANE_AXIAL);
}

static guint8
label_at (const NsLabelMap *map, const int ijk[3])
{
  return map->labels[ns_grid_index (&map->grid, ijk[0], ijk[1], ijk[2])];
}

static void
finished_cb (NsRefine *r, gboolean ok, const char *message, gpointer data)
{
  n_finished++;
  last_ok = ok;
  if (!ok)
    g_printerr ("refine failed: %s\n", message);
}

static gboolean
refine_idle (gpointer data)
{
  return !ns_refine_get_busy (refine ());
}

/* Waits until every request ended; the number of "finished" emissions meanwhile. */
static guint
wait_refined (void)
{
  guint before = n_finished;

  g_assert_true (ns_test_wait_until (refine_idle, NULL, 300));
  ns_test_drain ();
  return n_finished - before;
}

/* The tool chosen with model, label selected, a clean state. */
static void
start (const char *model, guint8 label, gboolean propagate)
{
  ns_refine_discard (refine ());
  ns_refine_set_region (refine (), NS_REFINE_REGION_AUTO);
  ns_refine_set_propagate (refine (), propagate);
  ns_refine_set_model_path (refine (), model);
  ns_editor_set_label (ns_test_window_editor (window), label);
  ns_test_window_activate (window, "edit.tool", g_variant_new_string ("refine"));
  g_assert_cmpint (ns_editor_get_tool (ns_test_window_editor (window)), ==, NS_TOOL_REFINE);
  g_assert_true (ns_refine_get_available (refine ()));
}

/* A voxel of the slice view v shows, at least 20 voxels from the border, whose label is
 * want (0 outside WT, 2 edema), nearest to the cursor (4 voxels from it at least for 0:
 * away from the tumour's edge, a click disc being 3 mm). */
static void
find_voxel_in (NsSliceView *v, guint8 want, int ijk[3])
{
  const NsPlaneGeometry *geom = ns_slice_view_get_geometry (v);
  NsLabelMap *map = ns_test_window_labels (window);
  int au = geom->axis_u, av = geom->axis_v, an = geom->axis_n;
  double cursor[3];
  double best = G_MAXDOUBLE;

  ns_viewer_get_cursor (ns_window_get_viewer (window), cursor);
  for (int b = 20; b < map->grid.dim[av] - 20; b++)
    for (int a = 20; a < map->grid.dim[au] - 20; a++)
      {
        int x[3];
        double d = hypot (a - cursor[au], b - cursor[av]);

        x[au] = a;
        x[av] = b;
        x[an] = geom->slice;
        if (label_at (map, x) != want || d >= best || (want == 0 && d < 4))
          continue;
        best = d;
        memcpy (ijk, x, sizeof x);
      }
  g_assert_cmpfloat (best, <, G_MAXDOUBLE);
}

static void
find_voxel (guint8 want, int ijk[3])
{
  g_assert_cmpint (ns_slice_view_get_geometry (axial ())->axis_n, ==, 2);
  find_voxel_in (axial (), want, ijk);
}

/* Button (1 or 3, with state) at voxel ijk of view v, through the gesture path. */
static void
click_voxel_in (NsSliceView *v, guint button, GdkModifierType state, const int ijk[3])
{
  double x, y;

  ns_slice_view_voxel_to_widget (v, ijk, &x, &y);
  ns_slice_view_drag (v, button, state, x, y, 0, 0);
}

static void
click_voxel (guint button, GdkModifierType state, const int ijk[3])
{
  click_voxel_in (axial (), button, state, ijk);
}

static const char *
last_history_name (void)
{
  NsHistory *history = ns_test_window_history (window);
  guint n = ns_history_n_undo (history);

  g_assert_cmpuint (n, >, 0);
  return ns_history_get (history, n - 1)->name;
}

/* Pixels of the axial view near the outline's magenta. */
static gsize
n_outline_pixels (void)
{
  int w, h;
  g_autofree guint32 *pixels = ns_test_widget_pixels (GTK_WIDGET (axial ()), &w, &h);
  gsize n = 0;

  for (gsize p = 0; p < (gsize) w * h; p++)
    n += ns_test_pixel_near (pixels[p], 0xff33ff, 12);
  return n;
}

/* ---- tests --------------------------------------------------------------------------------- */

static void
test_regions (void)
{
  g_assert_cmpint (ns_refine_region_for_label (2), ==, NS_REFINE_REGION_WT);
  g_assert_cmpint (ns_refine_region_for_label (1), ==, NS_REFINE_REGION_TC);
  g_assert_cmpint (ns_refine_region_for_label (3), ==, NS_REFINE_REGION_TC);
  g_assert_cmpint (ns_refine_region_for_label (4), ==, NS_REFINE_REGION_ET);
  g_assert_cmpint (ns_refine_region_for_label (0), ==, NS_REFINE_REGION_WT);
}

static void
test_shortcut (void)
{
  GListModel *controllers = gtk_widget_observe_controllers (GTK_WIDGET (window));
  gboolean found = FALSE;

  ns_test_window_activate (window, "edit.tool", g_variant_new_string ("navigate"));
  for (guint c = 0; !found && c < g_list_model_get_n_items (controllers); c++)
    {
      g_autoptr (GtkEventController) controller = g_list_model_get_item (controllers, c);

      if (!GTK_IS_SHORTCUT_CONTROLLER (controller)
          || g_strcmp0 (gtk_event_controller_get_name (controller), "ns-edit-keys") != 0)
        continue;
      for (guint s = 0; s < g_list_model_get_n_items (G_LIST_MODEL (controller)); s++)
        {
          g_autoptr (GtkShortcut) shortcut = g_list_model_get_item (G_LIST_MODEL (controller),
                                                                     s);
          GtkShortcutTrigger *trigger = gtk_shortcut_get_trigger (shortcut);

          if (GTK_IS_KEYVAL_TRIGGER (trigger)
              && gtk_keyval_trigger_get_keyval (GTK_KEYVAL_TRIGGER (trigger)) == GDK_KEY_r)
            {
              g_assert_true (gtk_shortcut_action_activate (
                gtk_shortcut_get_action (shortcut), GTK_SHORTCUT_ACTION_EXCLUSIVE,
                GTK_WIDGET (window), gtk_shortcut_get_arguments (shortcut)));
              found = TRUE;
              break;
            }
        }
    }
  g_object_unref (controllers);
  g_assert_true (found);
  g_assert_cmpint (ns_editor_get_tool (ns_test_window_editor (window)), ==, NS_TOOL_REFINE);
  /* the palette has its button */
  g_assert_nonnull (ns_test_find_named (GTK_WIDGET (window), "tool-refine"));
  g_assert_true (gtk_widget_get_visible (ns_test_find_named (GTK_WIDGET (window),
                                                             "refine-panel")));
  ns_test_window_activate (window, "edit.tool", g_variant_new_string ("navigate"));
}

static void
test_no_model (void)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *db = g_build_filename (ns_test_tmpdir (), "none.db", NULL);
  g_autofree char *shipped = g_build_filename (ns_test_tmpdir (), "no-such-interactive.st",
                                               NULL);
  g_autofree char *path = ns_refine_find_model (db, shipped, &error);
  g_autoptr (NsLabelMap) before = ns_label_map_dup (ns_test_window_labels (window), NULL);
  g_autofree char *base = g_path_get_basename (segmentation_model);
  guint n_undo = ns_history_n_undo (ns_test_window_history (window));
  int ijk[3];

  /* none anywhere: the reason names where it looked */
  g_assert_null (path);
  g_assert_nonnull (error);
  g_assert_nonnull (strstr (error->message, "No interactive model"));
  g_assert_nonnull (strstr (error->message, shipped));

  /* a segmentation model is refused, and the tool says so instead of doing nothing */
  ns_refine_set_model_path (refine (), segmentation_model);
  ns_test_window_activate (window, "edit.tool", g_variant_new_string ("refine"));
  g_assert_false (ns_refine_get_available (refine ()));
  g_assert_true (g_str_has_prefix (ns_refine_get_status (refine ()), "Refine cannot run: "));
  g_assert_nonnull (strstr (ns_refine_get_status (refine ()), base));
  {
    GtkWidget *status = ns_test_find_named (GTK_WIDGET (window), "refine-status");

    g_assert_true (gtk_widget_get_visible (ns_test_find_named (GTK_WIDGET (window),
                                                               "refine-panel")));
    g_assert_cmpstr (gtk_label_get_text (GTK_LABEL (status)), ==,
                     ns_refine_get_status (refine ()));
  }
  find_voxel (0, ijk);
  click_voxel (GDK_BUTTON_PRIMARY, 0, ijk);
  g_assert_false (ns_refine_get_busy (refine ()));
  g_assert_false (ns_refine_has_preview (refine ()));
  g_assert_cmpuint (ns_refine_get_n_clicks (refine ()), ==, 0);
  g_assert_true (g_str_has_prefix (ns_refine_get_status (refine ()), "Refine cannot run: "));
  g_assert_null (ns_viewer_get_preview_labels (ns_window_get_viewer (window)));
  g_assert_cmpuint (ns_test_labels_n_differ (ns_test_window_labels (window), before), ==, 0);
  g_assert_cmpuint (ns_history_n_undo (ns_test_window_history (window)),
                    ==, n_undo);
  ns_test_window_activate (window, "edit.tool", g_variant_new_string ("navigate"));
}

/* A click outside the tumour with the grow model: the preview at once, the changed
 * voxels outlined, Enter applies one history entry "Refine: 1 click", undo restores. */
static void
test_click_preview_apply_undo (void)
{
  NsViewer *viewer = ns_window_get_viewer (window);
  g_autoptr (NsLabelMap) before = ns_label_map_dup (ns_test_window_labels (window), NULL);
  g_autoptr (NsLabelMap) shown = NULL;
  gsize outline_before;
  int ijk[3];

  start (grow_model, 2, FALSE);
  find_voxel (0, ijk);
  outline_before = n_outline_pixels ();
  click_voxel (GDK_BUTTON_PRIMARY, 0, ijk);
  g_assert_cmpuint (ns_refine_get_n_clicks (refine ()), ==, 1);
  g_assert_cmpuint (wait_refined (), ==, 1);
  g_assert_true (last_ok);

  /* the preview shows the voxel added to WT (as edema), on that slice only; the mask is
   * untouched */
  g_assert_true (ns_refine_has_preview (refine ()));
  shown = ns_label_map_dup (ns_viewer_get_preview_labels (viewer), NULL);
  g_assert_nonnull (shown);
  g_assert_cmpuint (label_at (shown, ijk), ==, 2);
  g_assert_cmpuint (label_at (ns_test_window_labels (window), ijk), ==, 0);
  g_assert_cmpuint (ns_test_labels_n_differ (ns_test_window_labels (window), before), ==, 0);
  g_assert_cmpuint (ns_refine_get_n_changed (refine ()), ==,
                    ns_test_labels_n_differ (shown, before));
  for (gsize v = 0, N = ns_grid_n_voxels (&shown->grid); v < N; v++)
    if (shown->labels[v] != before->labels[v])
      {
        g_assert_cmpint ((int) (v / ((gsize) shown->grid.dim[0] * shown->grid.dim[1])), ==,
                         ijk[2]);
        g_assert_cmpuint (shown->labels[v], ==, 2);
      }
  /* what changed is outlined */
  g_assert_cmpuint (n_outline_pixels (), >, outline_before + 8);
  g_assert_nonnull (strstr (ns_refine_get_status (refine ()), "1 click"));

  /* Enter in the view: one entry, the mask is the preview */
  g_assert_true (ns_slice_view_key_press (axial (), GDK_KEY_Return, 0));
  g_assert_false (ns_refine_has_preview (refine ()));
  g_assert_null (ns_viewer_get_preview_labels (viewer));
  g_assert_cmpstr (last_history_name (), ==, "Refine: 1 click");
  g_assert_cmpuint (ns_test_labels_n_differ (ns_test_window_labels (window), shown), ==, 0);
  g_assert_true (ns_editor_is_modified (ns_test_window_editor (window)));

  ns_test_window_activate (window, "win.undo", NULL);
  g_assert_cmpuint (ns_test_labels_n_differ (ns_test_window_labels (window), before), ==, 0);
  ns_test_window_activate (window, "win.redo", NULL);
  g_assert_cmpuint (ns_test_labels_n_differ (ns_test_window_labels (window), shown), ==, 0);
  ns_test_window_activate (window, "win.undo", NULL);
}

/* Escape drops the preview; nothing reaches the mask or the history. */
static void
test_escape_discards (void)
{
  g_autoptr (NsLabelMap) before = ns_label_map_dup (ns_test_window_labels (window), NULL);
  guint n_undo = ns_history_n_undo (ns_test_window_history (window));
  int ijk[3];

  start (grow_model, 2, FALSE);
  find_voxel (0, ijk);
  click_voxel (GDK_BUTTON_PRIMARY, 0, ijk);
  wait_refined ();
  g_assert_true (ns_refine_has_preview (refine ()));
  g_assert_true (ns_slice_view_key_press (axial (), GDK_KEY_Escape, 0));
  g_assert_false (ns_refine_has_preview (refine ()));
  g_assert_cmpuint (ns_refine_get_n_clicks (refine ()), ==, 0);
  g_assert_null (ns_viewer_get_preview_labels (ns_window_get_viewer (window)));
  g_assert_cmpuint (ns_test_labels_n_differ (ns_test_window_labels (window), before), ==, 0);
  g_assert_cmpuint (ns_history_n_undo (ns_test_window_history (window)),
                    ==, n_undo);
}

/* Right click and Shift + left click remove; a Ctrl + left drag box starts anew. */
static void
test_remove_and_box (void)
{
  NsViewer *viewer = ns_window_get_viewer (window);
  int ijk[3], out[3];
  double x0, y0, x1, y1;

  start (shrink_model, 2, FALSE);
  find_voxel (2, ijk);
  click_voxel (GDK_BUTTON_SECONDARY, 0, ijk);
  wait_refined ();
  g_assert_cmpuint (label_at (ns_viewer_get_preview_labels (viewer), ijk), ==, 0);
  ns_refine_discard (refine ());

  click_voxel (GDK_BUTTON_PRIMARY, GDK_SHIFT_MASK, ijk);
  wait_refined ();
  g_assert_cmpuint (label_at (ns_viewer_get_preview_labels (viewer), ijk), ==, 0);
  ns_refine_discard (refine ());

  /* a box around a voxel outside the tumour, with the grow model */
  start (grow_model, 2, FALSE);
  find_voxel (0, out);
  {
    int a[3] = { out[0] - 4, out[1] - 4, out[2] }, b[3] = { out[0] + 4, out[1] + 4, out[2] };

    ns_slice_view_voxel_to_widget (axial (), a, &x0, &y0);
    ns_slice_view_voxel_to_widget (axial (), b, &x1, &y1);
  }
  ns_slice_view_drag (axial (), GDK_BUTTON_PRIMARY, GDK_CONTROL_MASK, x0, y0, x1 - x0,
                      y1 - y0);
  g_assert_cmpuint (ns_refine_get_n_clicks (refine ()), ==, 1);
  wait_refined ();
  g_assert_true (last_ok);
  g_assert_cmpuint (label_at (ns_viewer_get_preview_labels (viewer), out), ==, 2);
  /* the cursor did not move: the box was the tool's, not a navigation drag */
  ns_refine_discard (refine ());
}

/* A newer click cancels the older request: the older one's propagation stops at once
 * (the engine saw the cancel), only the newest one reports, and both corrections are in
 * the result. */
static void
test_newer_click_stops_older (void)
{
  NsViewer *viewer = ns_window_get_viewer (window);
  guint cancelled = ns_refine_get_n_cancelled (refine ());
  int a[3], b[3];

  start (shrink_model, 2, TRUE);
  find_voxel (2, a);
  click_voxel (GDK_BUTTON_SECONDARY, 0, a);
  /* the first one is loading the model, on its slice or propagating: minutes of work
   * left on a tumour of 60 slices, not the time to make the next click */
  find_voxel (2, b);
  /* the newest one on its slice only: the test waits for it */
  ns_refine_set_propagate (refine (), FALSE);
  click_voxel (GDK_BUTTON_SECONDARY, 0, b);
  g_assert_cmpuint (wait_refined (), ==, 1);
  g_assert_true (last_ok);
  g_assert_cmpuint (ns_refine_get_n_cancelled (refine ()), ==, cancelled + 1);
  g_assert_cmpuint (label_at (ns_viewer_get_preview_labels (viewer), a), ==, 0);
  ns_refine_discard (refine ());
}

/* Two clicks in quick succession: the first request is superseded, only the newest one
 * reports, both clicks are in the result and in the entry's name. */
static void
test_two_clicks_one_entry (void)
{
  NsViewer *viewer = ns_window_get_viewer (window);
  int a[3], b[3];
  guint reports;

  start (grow_model, 2, FALSE);
  find_voxel (0, a);
  memcpy (b, a, sizeof b);
  /* the same slice, the other side of the tumour's outside: another label-0 voxel */
  b[0] = a[0] < ns_test_window_labels (window)->grid.dim[0] / 2 ? a[0] - 12 : a[0] + 12;
  g_assert_cmpuint (label_at (ns_test_window_labels (window), b), ==, 0);
  click_voxel (GDK_BUTTON_PRIMARY, 0, a);
  click_voxel (GDK_BUTTON_PRIMARY, 0, b);
  reports = wait_refined ();
  g_assert_cmpuint (reports, ==, 1);
  g_assert_true (last_ok);
  g_assert_cmpuint (ns_refine_get_n_clicks (refine ()), ==, 2);
  g_assert_cmpuint (label_at (ns_viewer_get_preview_labels (viewer), a), ==, 2);
  g_assert_cmpuint (label_at (ns_viewer_get_preview_labels (viewer), b), ==, 2);
  g_assert_true (ns_slice_view_key_press (axial (), GDK_KEY_Return, 0));
  g_assert_cmpstr (last_history_name (), ==, "Refine: 2 clicks");
  ns_test_window_activate (window, "win.undo", NULL);
}

/* A locked label is never changed, in the preview already and so in what Apply commits. */
static void
test_locks_respected (void)
{
  NsViewer *viewer = ns_window_get_viewer (window);
  g_autoptr (NsLabelMap) before = ns_label_map_dup (ns_test_window_labels (window), NULL);
  NsLabelMap *shown;
  int ijk[3];

  start (shrink_model, 2, FALSE);
  find_voxel (2, ijk);
  ns_editor_set_locked (ns_test_window_editor (window), 2, TRUE);
  click_voxel (GDK_BUTTON_SECONDARY, 0, ijk);
  wait_refined ();
  g_assert_true (last_ok);
  shown = ns_viewer_get_preview_labels (viewer);
  g_assert_nonnull (shown);
  g_assert_cmpuint (label_at (shown, ijk), ==, 2);
  for (gsize v = 0, N = ns_grid_n_voxels (&shown->grid); v < N; v++)
    if (before->labels[v] == 2)
      g_assert_cmpuint (shown->labels[v], ==, 2);
  /* the unlocked labels of the region did go (necrosis and enhancing leave WT) */
  g_assert_cmpuint (ns_refine_get_n_changed (refine ()), >, 0);
  ns_refine_discard (refine ());
  ns_editor_set_locked (ns_test_window_editor (window), 2, FALSE);
}

/* The sagittal and coronal views take clicks as the axial one does: the click's voxel
 * joins WT and only the plane of the click changes. */
static void
test_other_planes (void)
{
  static const NsPlane planes[] = { NS_PLANE_SAGITTAL, NS_PLANE_CORONAL };
  NsViewer *viewer = ns_window_get_viewer (window);

  for (guint p = 0; p < G_N_ELEMENTS (planes); p++)
    {
      NsSliceView *v = ns_window_get_slice_view (window, planes[p]);
      const NsPlaneGeometry *geom = ns_slice_view_get_geometry (v);
      g_autoptr (NsLabelMap) before = ns_label_map_dup (ns_test_window_labels (window), NULL);
      NsLabelMap *shown;
      gsize n = 0;
      int ijk[3];

      start (grow_model, 2, FALSE);
      find_voxel_in (v, 0, ijk);
      click_voxel_in (v, GDK_BUTTON_PRIMARY, 0, ijk);
      wait_refined ();
      g_assert_true (last_ok);
      shown = ns_viewer_get_preview_labels (viewer);
      g_assert_nonnull (shown);
      g_assert_cmpuint (label_at (shown, ijk), ==, 2);
      for (int k = 0; k < shown->grid.dim[2]; k++)
        for (int j = 0; j < shown->grid.dim[1]; j++)
          for (int i = 0; i < shown->grid.dim[0]; i++)
            {
              int x[3] = { i, j, k };

              if (label_at (shown, x) != label_at (before, x))
                {
                  g_assert_cmpint (x[geom->axis_n], ==, geom->slice);
                  n++;
                }
            }
      g_assert_cmpuint (n, ==, ns_refine_get_n_changed (refine ()));
      ns_refine_discard (refine ());
    }
}

/* Switching to another tool applies the preview. */
static void
test_tool_switch_applies (void)
{
  g_autoptr (NsLabelMap) before = ns_label_map_dup (ns_test_window_labels (window), NULL);
  int ijk[3];

  start (grow_model, 2, FALSE);
  find_voxel (0, ijk);
  click_voxel (GDK_BUTTON_PRIMARY, 0, ijk);
  wait_refined ();
  ns_test_window_activate (window, "edit.tool", g_variant_new_string ("brush"));
  g_assert_cmpstr (last_history_name (), ==, "Refine: 1 click");
  g_assert_cmpuint (label_at (ns_test_window_labels (window), ijk), ==, 2);
  ns_test_window_activate (window, "win.undo", NULL);
  g_assert_cmpuint (ns_test_labels_n_differ (ns_test_window_labels (window), before), ==, 0);
}

/* The correction goes on to the neighbouring slices in the background. */
static void
test_propagation (void)
{
  NsViewer *viewer = ns_window_get_viewer (window);
  g_autoptr (NsLabelMap) before = ns_label_map_dup (ns_test_window_labels (window), NULL);
  NsLabelMap *shown;
  gsize plane = (gsize) before->grid.dim[0] * before->grid.dim[1];
  gsize off_slice = 0;
  int ijk[3];

  start (shrink_model, 2, TRUE);
  find_voxel (2, ijk);
  click_voxel (GDK_BUTTON_SECONDARY, 0, ijk);
  g_assert_cmpuint (wait_refined (), ==, 1);
  g_assert_true (last_ok);
  shown = ns_viewer_get_preview_labels (viewer);
  for (gsize v = 0, N = ns_grid_n_voxels (&shown->grid); v < N; v++)
    off_slice += shown->labels[v] != before->labels[v] && (int) (v / plane) != ijk[2];
  g_assert_cmpuint (off_slice, >, 0);
  ns_refine_discard (refine ());
}

/* Opening another case (here the same one again) with a preview shown: the preview
 * becomes an edit first, so the unsaved-edits question comes instead of a silent loss. */
static void
test_open_settles_preview (void)
{
  g_autofree char *dir = NULL;
  int ijk[3];

  g_assert_false (ns_editor_is_modified (ns_test_window_editor (window)));
  start (grow_model, 2, FALSE);
  find_voxel (0, ijk);
  click_voxel (GDK_BUTTON_PRIMARY, 0, ijk);
  wait_refined ();
  g_assert_true (ns_refine_has_preview (refine ()));
  dir = g_strdup (ns_viewer_get_case (ns_window_get_viewer (window))->dir);
  {
    const char *paths[] = { dir, NULL };

    ns_window_open (window, paths);
  }
  g_assert_false (ns_refine_has_preview (refine ()));
  g_assert_cmpstr (last_history_name (), ==, "Refine: 1 click");
  g_assert_nonnull (ns_window_get_question (window));
  gtk_dialog_response (GTK_DIALOG (ns_window_get_question (window)), GTK_RESPONSE_CANCEL);
  ns_test_drain ();
  g_assert_cmpuint (label_at (ns_test_window_labels (window), ijk), ==, 2);
  ns_test_window_activate (window, "win.undo", NULL);
  g_assert_false (ns_editor_is_modified (ns_test_window_editor (window)));
  ns_test_window_activate (window, "edit.tool", g_variant_new_string ("navigate"));
}

/* An applied refinement is in the journal: after a crash, recovery brings it back. */
static void
test_journal_recovery (void)
{
  g_autoptr (NsLabelMap) refined = NULL;
  g_autofree char *dir = NULL;
  int ijk[3];

  start (grow_model, 2, FALSE);
  find_voxel (0, ijk);
  click_voxel (GDK_BUTTON_PRIMARY, 0, ijk);
  wait_refined ();
  g_assert_true (ns_refine_apply (refine (), NULL));
  refined = ns_label_map_dup (ns_test_window_labels (window), NULL);
  ns_test_window_activate (window, "edit.tool", g_variant_new_string ("navigate"));

  /* as after a crash: the editor closes without saving, the case opens again */
  dir = g_strdup (ns_viewer_get_case (ns_window_get_viewer (window))->dir);
  ns_editor_close (ns_test_window_editor (window));
  {
    const char *paths[] = { dir, NULL };

    ns_window_open (window, paths);
  }
  g_assert_true (ns_test_wait_until (ns_test_window_idle, window, 120));
  g_assert_nonnull (ns_window_get_question (window));
  gtk_dialog_response (GTK_DIALOG (ns_window_get_question (window)),
                       NS_WINDOW_RESPONSE_RECOVER);
  ns_test_drain ();
  g_assert_cmpuint (ns_test_labels_n_differ (ns_test_window_labels (window), refined), ==, 0);
  g_assert_cmpstr (last_history_name (), ==, "Refine: 1 click");
}

/* A second window closes while its Refine request runs: the request's worker (held back by
 * the test hook) still holds the Refine tool (the task's source, with its editor and
 * viewer), which goes when the worker lets go, in the main thread.  Before, the request
 * ran in GTask's pool, whose thread then could drop the tool's last reference.  The helpers
 * above work on `window`: it is the second window for the while. */
static void
test_closed_while_refining (void)
{
  g_autofree char *case_dir = copy_case ("closing/Brats18_CBICA_ABM_1");
  const char *paths[] = { case_dir, NULL };
  NsWindow *first = window, *other;
  GThread *finalized_in = NULL;
  int ijk[3];

  other = ns_window_new (NULL);
  gtk_window_set_default_size (GTK_WINDOW (other), 1400, 820);
  gtk_window_present (GTK_WINDOW (other));
  ns_window_open (other, paths);
  g_assert_true (ns_test_wait_until (ns_test_window_idle, other, 120));
  g_assert_null (ns_window_get_load_error (other));
  ns_window_set_layout (other, "grid");
  g_assert_true (ns_test_wait_until (ns_test_window_views_allocated, other, 10));

  window = other;
  start (grow_model, 2, FALSE);
  find_voxel (0, ijk);
  ns_task_test_hold_releases (TRUE);
  click_voxel (GDK_BUTTON_PRIMARY, 0, ijk);
  g_assert_true (ns_refine_get_busy (refine ()));
  ns_test_note_finalize_thread (G_OBJECT (refine ()), &finalized_in);
  window = first;

  ns_editor_discard_changes (ns_window_get_editor (other));
  gtk_window_destroy (GTK_WINDOW (other));
  ns_test_assert_released_in_main (&finalized_in, 0.5, 300);
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

  grow_model = write_model ("grow.safetensors", TRUE, 12.0f);
  shrink_model = write_model ("shrink.safetensors", TRUE, -12.0f);
  segmentation_model = write_model ("segmentation.safetensors", FALSE, 0.0f);
  case_dir = copy_case ("Brats18_CBICA_ABM_1");

  window = ns_window_new (NULL);
  gtk_window_set_default_size (GTK_WINDOW (window), 1400, 820);
  gtk_window_present (GTK_WINDOW (window));
  {
    const char *paths[] = { case_dir, NULL };

    ns_window_open (window, paths);
  }
  g_assert_true (ns_test_wait_until (ns_test_window_idle, window, 120));
  g_assert_null (ns_window_get_load_error (window));
  ns_window_set_layout (window, "grid");
  g_assert_true (ns_test_wait_until (ns_test_window_views_allocated, window, 10));
  g_signal_connect (refine (), "finished", G_CALLBACK (finished_cb), NULL);

  g_test_add_func ("/ui/refine/regions", test_regions);
  g_test_add_func ("/ui/refine/shortcut-and-palette", test_shortcut);
  g_test_add_func ("/ui/refine/no-model", test_no_model);
  g_test_add_func ("/ui/refine/click-preview-apply-undo", test_click_preview_apply_undo);
  g_test_add_func ("/ui/refine/escape-discards", test_escape_discards);
  g_test_add_func ("/ui/refine/remove-and-box", test_remove_and_box);
  g_test_add_func ("/ui/refine/two-clicks-one-entry", test_two_clicks_one_entry);
  g_test_add_func ("/ui/refine/newer-click-stops-older", test_newer_click_stops_older);
  g_test_add_func ("/ui/refine/locks-respected", test_locks_respected);
  g_test_add_func ("/ui/refine/sagittal-and-coronal", test_other_planes);
  g_test_add_func ("/ui/refine/tool-switch-applies", test_tool_switch_applies);
  g_test_add_func ("/ui/refine/propagation", test_propagation);
  g_test_add_func ("/ui/refine/open-settles-preview", test_open_settles_preview);
  g_test_add_func ("/ui/refine/journal-recovery", test_journal_recovery);
  g_test_add_func ("/ui/refine/closed-while-refining", test_closed_while_refining);
  status = g_test_run ();

  ns_editor_discard_changes (ns_test_window_editor (window));
  gtk_window_destroy (GTK_WINDOW (window));
  return status;
}
