/* SPDX-License-Identifier: MIT
 *
 * test-ui-view3d.c: the 3D view meshes off the main thread (ui/ns-surface-worker.h):
 * - /ui/view3d/worker/edits: after two quick edits are handed over, the main thread gets
 *   the previous surfaces back at once (it did not mesh) and keeps iterating while the
 *   worker meshes; once done, the view's surfaces are those of the final labels, equal to
 *   a full mesh of them with the view's settings;
 * - /ui/view3d/worker/settings: regions and another decimation level, chosen through the
 *   view's menu actions, re-mesh everything, again without blocking, into WT / TC / ET
 *   surfaces; the outline action toggles the outline;
 * - /ui/view3d/worker/new-case: another case opened while an edit is meshed: the old
 *   surfaces go at once and the new case's come.
 */
#define G_LOG_DOMAIN "ns-test"

#include <gtk/gtk.h>

#include "ns-case.h"
#include "ns-test-mesh.h"
#include "ns-test-util.h"
#include "ns-test-widget.h"
#include "ns-view3d.h"
#include "ns-viewer.h"

typedef struct
{
  NsViewer *viewer;
  GtkWidget *window;
  NsView3d *view;
} Fixture;

static gboolean
view_idle (gpointer data)
{
  NsView3d *view = data;
  return !ns_view3d_is_meshing (view) && ns_view3d_get_surfaces (view) != NULL;
}

static void
fixture_setup (Fixture *f)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *dir = ns_test_write_case ("view3d", 80, 72, 40, TRUE);
  g_autoptr (NsCase) ncase = ns_case_load (dir, NS_CASE_LOAD_DEFAULT, &error);

  g_assert_no_error (error);
  f->viewer = ns_viewer_new ();
  ns_viewer_set_case (f->viewer, ncase);
  f->view = NS_VIEW3D (ns_view3d_new (f->viewer));
  f->window = gtk_window_new ();
  gtk_window_set_default_size (GTK_WINDOW (f->window), 400, 400);
  gtk_window_set_child (GTK_WINDOW (f->window), GTK_WIDGET (f->view));
  gtk_window_present (GTK_WINDOW (f->window));
  g_assert_true (ns_test_wait_until (view_idle, f->view, 60));
}

static void
fixture_teardown (Fixture *f)
{
  gtk_window_destroy (GTK_WINDOW (f->window));
  ns_test_drain ();
  g_object_unref (f->viewer);
}

/* Paints value into box (min i, j, k, max i, j, k) of the shown labels, as an edit. */
static void
edit_box (NsViewer *viewer, const int box[6], guint8 value)
{
  NsLabelMap *labels = ns_viewer_get_labels (viewer);

  for (int k = box[2]; k <= box[5]; k++)
    for (int j = box[1]; j <= box[4]; j++)
      for (int i = box[0]; i <= box[3]; i++)
        labels->labels[ns_grid_index (&labels->grid, i, j, k)] = value;
  ns_viewer_labels_edited (viewer, NULL, TRUE, box);
}

/* The view's surfaces equal a full mesh of the shown labels with its settings. */
static void
assert_view_meshes_labels (Fixture *f)
{
  NsLabelMap *labels = ns_viewer_get_labels (f->viewer);
  NsSurfaces *want = ns_surfaces_new_full (&labels->grid, NS_SURFACES_BLOCK_SIZE,
                                           ns_view3d_get_surface_kind (f->view),
                                           ns_view3d_get_decimation (f->view));

  ns_surfaces_update (want, labels->labels, NULL, NULL);
  assert_same_surfaces (ns_view3d_get_surfaces (f->view), want);
  ns_surfaces_free (want);
}

/* Hands what is pending to the worker and checks that the main thread got the previous
 * surfaces back without meshing (the worker's result can only be put in place by the main
 * loop, which has not run yet: with meshing on the main thread the generation would have
 * changed already); then iterates the main loop until the worker is done. */
static void
hand_over_and_wait (Fixture *f)
{
  const NsSurfaces *before = ns_view3d_get_surfaces (f->view);
  guint64 generation = ns_surfaces_get_generation (before);
  gint64 deadline = g_get_monotonic_time () + 60 * G_USEC_PER_SEC;
  guint iterations = 0;

  /* ns_view3d_get_surfaces () handed the edits over: the same surfaces came back. */
  g_assert_true (ns_view3d_is_meshing (f->view));
  g_assert_true (ns_view3d_get_surfaces (f->view) == before);
  g_assert_cmpuint (ns_surfaces_get_generation (before), ==, generation);
  while (ns_view3d_is_meshing (f->view) && g_get_monotonic_time () < deadline)
    {
      g_main_context_iteration (NULL, FALSE);
      iterations++;
      g_usleep (200);
    }
  g_assert_false (ns_view3d_is_meshing (f->view));
  g_test_message ("the main loop iterated %u times until the worker was done", iterations);
  g_assert_cmpuint (ns_surfaces_get_generation (ns_view3d_get_surfaces (f->view)), !=,
                    generation);
}

static void
test_worker_edits (void)
{
  Fixture f;
  const int box1[6] = { 30, 30, 15, 44, 40, 22 }, box2[6] = { 38, 34, 18, 50, 46, 26 };
  gsize before;

  fixture_setup (&f);
  g_assert_cmpint (ns_view3d_get_decimation (f.view), ==, NS_MESH_DECIMATE_DEFAULT);
  assert_view_meshes_labels (&f);
  before = ns_surfaces_n_triangles (ns_view3d_get_surfaces (f.view));

  /* Two quick edits, the second overlapping the first, handed over together. */
  edit_box (f.viewer, box1, 1);
  edit_box (f.viewer, box2, 4);
  hand_over_and_wait (&f);
  g_assert_cmpuint (ns_view3d_get_last_remeshed (f.view), >, 0);
  g_assert_cmpuint (ns_surfaces_n_triangles (ns_view3d_get_surfaces (f.view)), !=, before);
  assert_view_meshes_labels (&f);

  /* Two edits, the second handed over while the first is meshed. */
  edit_box (f.viewer, box1, 0);
  g_assert_nonnull (ns_view3d_get_surfaces (f.view));  /* hands the first over */
  edit_box (f.viewer, box2, 2);
  hand_over_and_wait (&f);
  assert_view_meshes_labels (&f);
  fixture_teardown (&f);
}

static void
test_worker_settings (void)
{
  Fixture f;
  const int box[6] = { 34, 30, 16, 42, 38, 22 };
  gboolean present[256], outline;

  fixture_setup (&f);
  g_assert_nonnull (ns_test_find_named (GTK_WIDGET (f.view), "view3d-menu"));
  edit_box (f.viewer, box, 4);
  /* Through the menu's actions, as its items do. */
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (f.view), "view3d.surfaces", "s",
                                             "regions"));
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (f.view), "view3d.decimation", "s",
                                             "strong"));
  g_assert_cmpint (ns_view3d_get_surface_kind (f.view), ==, NS_SURFACES_REGIONS);
  g_assert_cmpint (ns_view3d_get_decimation (f.view), ==, NS_MESH_DECIMATE_STRONG);
  outline = ns_view3d_get_show_outline (f.view);
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (f.view), "view3d.outline", NULL));
  g_assert_cmpint (ns_view3d_get_show_outline (f.view), ==, !outline);
  hand_over_and_wait (&f);
  g_assert_cmpint (ns_surfaces_get_kind (ns_view3d_get_surfaces (f.view)), ==,
                   NS_SURFACES_REGIONS);
  ns_surfaces_get_labels (ns_view3d_get_surfaces (f.view), present);
  g_assert_true (present[1 + NS_REGION_WT]);
  g_assert_true (present[1 + NS_REGION_TC]);  /* label 4 is in the core too */
  g_assert_true (present[1 + NS_REGION_ET]);
  assert_view_meshes_labels (&f);
  fixture_teardown (&f);
}

static gboolean
popover_shown (gpointer data)
{
  GtkPopover *popover = gtk_menu_button_get_popover (data);
  return popover != NULL && gtk_widget_get_mapped (GTK_WIDGET (popover));
}

/* The menu's items read as ordinary menu text with the workbench's style sheet: the menu
 * button is an OSD button (light text on the dark view), and its popover inherited that
 * light text, so every item but the focused one looked greyed out on the light menu. */
static void
test_menu_legible (void)
{
  Fixture f;
  g_autoptr (GtkCssProvider) css = gtk_css_provider_new ();
  GtkWidget *button, *item;
  GdkRGBA color;
  double luma;
  g_autofree char *sheet = g_build_filename (g_getenv ("NS_SOURCE_DIR"), "resources",
                                             "style.css", NULL);

  g_assert_nonnull (g_getenv ("NS_SOURCE_DIR"));
  gtk_css_provider_load_from_path (css, sheet);
  gtk_style_context_add_provider_for_display (gdk_display_get_default (),
                                              GTK_STYLE_PROVIDER (css),
                                              GTK_STYLE_PROVIDER_PRIORITY_APPLICATION);
  fixture_setup (&f);
  button = ns_test_find_named (GTK_WIDGET (f.view), "view3d-menu");
  g_assert_true (GTK_IS_MENU_BUTTON (button));
  gtk_menu_button_popup (GTK_MENU_BUTTON (button));
  g_assert_true (ns_test_wait_until (popover_shown, button, 10));
  item = ns_test_find_label (GTK_WIDGET (gtk_menu_button_get_popover (GTK_MENU_BUTTON (button))),
                     "Regions WT / TC / ET");
  g_assert_nonnull (item);
  g_assert_true (gtk_widget_is_sensitive (item));
  G_GNUC_BEGIN_IGNORE_DEPRECATIONS
  gtk_style_context_get_color (gtk_widget_get_style_context (item), &color);
  G_GNUC_END_IGNORE_DEPRECATIONS
  luma = 0.2126 * color.red + 0.7152 * color.green + 0.0722 * color.blue;
  g_test_message ("menu item colour %.2f %.2f %.2f alpha %.2f", color.red, color.green,
                  color.blue, color.alpha);
  g_assert_cmpfloat (luma, <, 0.5);   /* the default theme's text is #2e3436 */
  g_assert_cmpfloat (color.alpha, >, 0.8);
  gtk_menu_button_popdown (GTK_MENU_BUTTON (button));
  gtk_style_context_remove_provider_for_display (gdk_display_get_default (),
                                                 GTK_STYLE_PROVIDER (css));
  fixture_teardown (&f);
}

/* Another case opened while an edit of the first is meshed: the first case's surfaces go
 * at once (not shown over the new case), the edit's result is dropped, and the view ends
 * with the new case's surfaces. */
static void
test_worker_new_case (void)
{
  Fixture f;
  const int box[6] = { 30, 30, 15, 44, 40, 22 };
  g_autoptr (GError) error = NULL;
  g_autofree char *dir = ns_test_write_case ("view3d-other", 64, 60, 30, TRUE);
  g_autoptr (NsCase) other = ns_case_load (dir, NS_CASE_LOAD_DEFAULT, &error);

  g_assert_no_error (error);
  fixture_setup (&f);
  edit_box (f.viewer, box, 1);
  g_assert_nonnull (ns_view3d_get_surfaces (f.view));  /* hands the edit over */
  g_assert_true (ns_view3d_is_meshing (f.view));
  ns_viewer_set_case (f.viewer, other);
  g_assert_null (ns_view3d_get_surfaces (f.view));
  g_assert_true (ns_test_wait_until (view_idle, f.view, 60));
  g_assert_true (ns_grid_equal (ns_surfaces_get_grid (ns_view3d_get_surfaces (f.view)),
                                &ns_viewer_get_labels (f.viewer)->grid));
  assert_view_meshes_labels (&f);
  fixture_teardown (&f);
}

int
main (int argc, char **argv)
{
  g_setenv ("GTK_A11Y", "none", TRUE);
  g_test_init (&argc, &argv, NULL);
  gtk_init ();
  g_test_add_func ("/ui/view3d/worker/edits", test_worker_edits);
  g_test_add_func ("/ui/view3d/worker/settings", test_worker_settings);
  g_test_add_func ("/ui/view3d/worker/new-case", test_worker_new_case);
  g_test_add_func ("/ui/view3d/menu-legible", test_menu_legible);
  return g_test_run ();
}
