/* SPDX-License-Identifier: MIT
 *
 * test-ui-cleanup.c: the cleanup tools of the editor (issue 17, part 3) in the workbench
 * window, on a copy of the bundled case: each driven as a person would (the Shift+letter
 * shortcuts of the palette, its drop-downs and Apply button, the fill guard's question
 * after a click of the fill tool through the slice view's gesture path), each result
 * compared voxel for voxel with the same data/ tool run on a copy of the map, each one
 * undo step with its history name.  Runs under xvfb-run.
 */
#include "ns-config.h"

#include <gtk/gtk.h>
#include <math.h>
#include <string.h>

#include "ns-cleanup-panel.h"
#include "ns-editor-cleanup.h"
#include "ns-label-ops.h"
#include "ns-test-util.h"
#include "ns-test-widget.h"
#include "ns-test-window.h"
#include "ns-tool-panel.h"
#include "ns-window.h"

static NsWindow *window;

/* A copy of the bundled case (its segmentation included) under the temporary folder. */
static char *
copy_case (const char *name)
{
  g_autofree char *dest = g_build_filename (ns_test_tmpdir (), name, NULL);
  return ns_test_copy_sample_case (dest, TRUE);
}

static NsVolume *
shown_image (void)
{
  return ns_viewer_get_shown_image (ns_window_get_viewer (window));
}

static GtkWidget *
cleanup_panel (void)
{
  GtkWidget *panel = ns_test_find_widget (GTK_WIDGET (window), NS_TYPE_CLEANUP_PANEL);

  g_assert_nonnull (panel);
  return panel;
}

static NsToolPanel *
tool_panel (void)
{
  GtkWidget *panel = ns_test_find_widget (GTK_WIDGET (window), NS_TYPE_TOOL_PANEL);

  g_assert_nonnull (panel);
  return NS_TOOL_PANEL (panel);
}

/* A widget of the Cleanup panel (opened first, as a person would). */
static gpointer
named (const char *name)
{
  GtkWidget *expander = ns_test_find_named (cleanup_panel (), "cleanup-expander");
  GtkWidget *w;

  g_assert_nonnull (expander);
  gtk_expander_set_expanded (GTK_EXPANDER (expander), TRUE);
  w = ns_test_find_named (cleanup_panel (), name);

  g_assert_nonnull (w);
  return w;
}

/* Shift+keyval as the palette's global shortcut controller has it: the shortcut found in
 * "ns-cleanup-keys" by its trigger, its action activated as the controller does. */
static void
press_shift (guint keyval)
{
  GtkWidget *panel = cleanup_panel ();
  g_autoptr (GListModel) controllers = gtk_widget_observe_controllers (panel);
  GtkShortcut *found = NULL;

  for (guint i = 0; i < g_list_model_get_n_items (controllers) && found == NULL; i++)
    {
      g_autoptr (GtkEventController) c = g_list_model_get_item (controllers, i);

      if (g_strcmp0 (gtk_event_controller_get_name (c), "ns-cleanup-keys") != 0)
        continue;
      g_assert_cmpint (gtk_shortcut_controller_get_scope (GTK_SHORTCUT_CONTROLLER (c)), ==,
                       GTK_SHORTCUT_SCOPE_GLOBAL);
      for (guint s = 0; s < g_list_model_get_n_items (G_LIST_MODEL (c)); s++)
        {
          g_autoptr (GtkShortcut) shortcut = g_list_model_get_item (G_LIST_MODEL (c), s);
          GtkShortcutTrigger *trigger = gtk_shortcut_get_trigger (shortcut);

          if (GTK_IS_KEYVAL_TRIGGER (trigger)
              && gtk_keyval_trigger_get_keyval (GTK_KEYVAL_TRIGGER (trigger)) == keyval
              && gtk_keyval_trigger_get_modifiers (GTK_KEYVAL_TRIGGER (trigger))
                   == GDK_SHIFT_MASK)
            found = shortcut;   /* the controller keeps it alive */
        }
    }
  g_assert_nonnull (found);
  g_assert_true (gtk_shortcut_action_activate (gtk_shortcut_get_action (found),
                                               GTK_SHORTCUT_ACTION_EXCLUSIVE, panel,
                                               gtk_shortcut_get_arguments (found)));
  ns_test_drain ();
}

static void
click_apply (void)
{
  /* what a click on it emits (activate () would only start the button's 250 ms blink) */
  g_signal_emit_by_name (named ("cleanup-apply"), "clicked");
  ns_test_drain ();
}

/* Undo of the last entry brings back before. */
static void
undo_to (const NsLabelMap *before)
{
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (window), "win.undo", NULL));
  g_assert_cmpuint (ns_test_labels_n_differ (ns_test_window_labels (window), before), ==, 0);
}

/* ---- tests --------------------------------------------------------------------------------- */

static void
test_collapsed_then_opened_by_key (void)
{
  GtkWidget *expander = ns_test_find_named (cleanup_panel (), "cleanup-expander");
  g_autoptr (NsLabelMap) before = ns_label_map_dup (ns_test_window_labels (window), NULL);

  /* collapsed at first; Shift+G (with the default 2 mm) opens it to show the status */
  g_assert_nonnull (expander);
  g_assert_false (gtk_expander_get_expanded (GTK_EXPANDER (expander)));
  ns_editor_set_label (ns_test_window_editor (window), 2);
  press_shift (GDK_KEY_g);
  g_assert_true (gtk_expander_get_expanded (GTK_EXPANDER (expander)));
  g_assert_cmpstr (ns_test_window_last_entry_name (window), ==, "Grow 2 mm");
  undo_to (before);
}

static void
test_margin_shortcut (void)
{
  g_autoptr (NsLabelMap) before = ns_label_map_dup (ns_test_window_labels (window), NULL);
  g_autoptr (NsLabelMap) expected = ns_label_map_dup (ns_test_window_labels (window), NULL);
  g_autoptr (GError) error = NULL;
  g_autoptr (NsEditChange) want = NULL;
  NsPaintRule rule;

  /* label 4 (ET) locked: growing edema by 3 mm must not eat it */
  ns_editor_set_label (ns_test_window_editor (window), 2);
  ns_editor_set_locked (ns_test_window_editor (window), 4, TRUE);
  ns_paint_rule_init (&rule, 2);
  rule.locked[4] = 1;
  want = ns_label_ops_margin (expected, shown_image (), 3.0, &rule, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (want->n, >, 1000);

  gtk_spin_button_set_value (named ("cleanup-margin-mm"), 3.0);
  press_shift (GDK_KEY_g);
  g_assert_cmpuint (ns_test_labels_n_differ (ns_test_window_labels (window), expected), ==, 0);
  g_assert_cmpstr (ns_test_window_last_entry_name (window), ==, "Grow 3 mm");
  g_assert_nonnull (strstr (ns_cleanup_panel_get_status (NS_CLEANUP_PANEL (cleanup_panel ())),
                            "Grow 3 mm"));
  /* the shortcut showed the tool it ran */
  g_assert_cmpuint (gtk_drop_down_get_selected (named ("cleanup-tool")), ==, 1);
  undo_to (before);

  /* shrinking through the Apply button */
  g_assert_true (ns_edit_change_apply (want, expected, FALSE));
  g_assert_cmpuint (ns_test_labels_n_differ (expected, before), ==, 0);
  g_clear_pointer (&want, ns_edit_change_unref);
  want = ns_label_ops_margin (expected, NULL, -2.0, &rule, &error);
  g_assert_cmpuint (want->n, >, 100);
  gtk_spin_button_set_value (named ("cleanup-margin-mm"), -2.0);
  click_apply ();
  g_assert_cmpuint (ns_test_labels_n_differ (ns_test_window_labels (window), expected), ==, 0);
  g_assert_cmpstr (ns_test_window_last_entry_name (window), ==, "Shrink 2 mm");
  undo_to (before);
  ns_editor_set_locked (ns_test_window_editor (window), 4, FALSE);
}

static void
test_smooth_and_threshold (void)
{
  g_autoptr (NsLabelMap) before = ns_label_map_dup (ns_test_window_labels (window), NULL);
  g_autoptr (NsLabelMap) expected = ns_label_map_dup (ns_test_window_labels (window), NULL);
  g_autoptr (GError) error = NULL;
  NsPaintRule rule;

  /* Gaussian of 1.5 mm on ED (Shift+S after choosing the method) */
  ns_editor_set_label (ns_test_window_editor (window), 2);
  ns_paint_rule_init (&rule, 2);
  g_autoptr (NsEditChange) smooth = ns_label_ops_smooth (expected, NULL, NS_SMOOTH_GAUSSIAN, 1.5,
                                                         &rule, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (smooth->n, >, 0);
  gtk_drop_down_set_selected (named ("cleanup-smooth-method"), NS_SMOOTH_GAUSSIAN);
  gtk_spin_button_set_value (named ("cleanup-smooth-mm"), 1.5);
  press_shift (GDK_KEY_s);
  g_assert_cmpuint (ns_test_labels_n_differ (ns_test_window_labels (window), expected), ==, 0);
  g_assert_cmpstr (ns_test_window_last_entry_name (window), ==, "Smooth (gaussian 1.5 mm)");
  undo_to (before);
  ns_edit_change_apply (smooth, expected, FALSE);

  /* Otsu inside the whole tumour, into NCR (label 1), "only over background" */
  g_autofree guint8 *wt = ns_label_ops_dup_region (expected, NULL, NS_OPERAND_WT, 0, NULL,
                                                   &error);
  double t = 0;
  g_assert_true (ns_label_ops_otsu (shown_image (), wt, &t, &error));
  ns_paint_rule_init (&rule, 1);
  rule.over = NS_PAINT_OVER_LABEL;
  rule.over_label = 2;
  g_autoptr (NsEditChange) thr = ns_label_ops_threshold (expected, shown_image (), wt, t,
                                                         INFINITY, &rule, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (thr->n, >, 100);
  ns_editor_set_label (ns_test_window_editor (window), 1);
  ns_editor_set_paint_over (ns_test_window_editor (window), NS_PAINT_OVER_LABEL, 2);
  gtk_drop_down_set_selected (named ("cleanup-threshold-region"), 1);   /* WT */
  gtk_check_button_set_active (named ("cleanup-threshold-otsu"), TRUE);
  press_shift (GDK_KEY_t);
  ns_editor_set_paint_over (ns_test_window_editor (window), NS_PAINT_OVER_ALL, 0);
  g_assert_cmpuint (ns_test_labels_n_differ (ns_test_window_labels (window), expected), ==, 0);
  g_assert_cmpstr (ns_test_window_last_entry_name (window), ==, "Threshold");
  g_assert_nonnull (strstr (ns_cleanup_panel_get_status (NS_CLEANUP_PANEL (cleanup_panel ())),
                            "Otsu"));
  undo_to (before);
}

static void
test_grow_from_seeds (void)
{
  g_autoptr (NsLabelMap) before = ns_label_map_dup (ns_test_window_labels (window), NULL);
  g_autoptr (NsLabelMap) expected = ns_label_map_dup (ns_test_window_labels (window), NULL);
  g_autoptr (GError) error = NULL;
  NsPaintRule rule;
  double lo, hi;

  /* ET's voxels as the seeds, 1.5 SD, at most 4 mm from them (Shift+R) */
  ns_editor_set_label (ns_test_window_editor (window), 4);
  ns_paint_rule_init (&rule, 4);
  g_autoptr (NsEditChange) grow = ns_label_ops_grow_from_seeds (expected, shown_image (), 1.5,
                                                                4.0, &rule, &lo, &hi, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (grow->n, >, 100);
  gtk_spin_button_set_value (named ("cleanup-grow-sigma"), 1.5);
  gtk_spin_button_set_value (named ("cleanup-grow-mm"), 4.0);
  press_shift (GDK_KEY_r);
  g_assert_cmpuint (ns_test_labels_n_differ (ns_test_window_labels (window), expected), ==, 0);
  g_assert_cmpstr (ns_test_window_last_entry_name (window), ==, "Grow from seeds");
  g_assert_nonnull (strstr (ns_cleanup_panel_get_status (NS_CLEANUP_PANEL (cleanup_panel ())),
                            "intensity"));
  undo_to (before);
}

static void
test_islands_and_logic (void)
{
  g_autoptr (NsLabelMap) before = ns_label_map_dup (ns_test_window_labels (window), NULL);
  g_autoptr (GError) error = NULL;
  const NsGrid *g = &before->grid;
  NsLabelTable *table = ns_mask_doc_get_labels (ns_test_window_doc (window));
  NsPaintRule rule;

  /* Two specks of ET far from the tumour, by hand (one history entry). */
  {
    g_autoptr (NsLabelMap) specks = ns_label_map_dup (ns_test_window_labels (window), NULL);
    gsize a = ns_grid_index (g, 3, 3, g->dim[2] / 2), b = ns_grid_index (g, 6, 3, g->dim[2] / 2);

    NsEditChange *change;

    g_assert_cmpuint (before->labels[a], ==, 0);
    g_assert_cmpuint (before->labels[b], ==, 0);
    specks->labels[a] = specks->labels[b] = 4;
    change = ns_edit_change_from_labels (ns_test_window_labels (window)->labels, specks->labels,
                                         ns_grid_n_voxels (g), "Brush");
    g_assert_true (ns_edit_change_apply (change, ns_test_window_labels (window), TRUE));
    g_assert_true (ns_editor_commit_applied (ns_test_window_editor (window), change));
  }
  g_autoptr (NsLabelMap) with_specks = ns_label_map_dup (ns_test_window_labels (window), NULL);
  g_autoptr (NsLabelMap) expected = ns_label_map_dup (ns_test_window_labels (window), NULL);

  /* Keep the largest ET part (Apply with Islands selected) */
  ns_editor_set_label (ns_test_window_editor (window), 4);
  ns_paint_rule_init (&rule, 4);
  g_autoptr (NsEditChange) keep = ns_label_ops_keep_largest (expected, &rule, &error);
  g_assert_cmpuint (keep->n, >=, 2);
  gtk_drop_down_set_selected (named ("cleanup-tool"), 4);
  gtk_drop_down_set_selected (named ("cleanup-islands-mode"), 0);
  click_apply ();
  g_assert_cmpuint (ns_test_labels_n_differ (ns_test_window_labels (window), expected), ==, 0);
  g_assert_cmpstr (ns_test_window_last_entry_name (window), ==, "Keep largest island");
  undo_to (with_specks);

  /* Split: each smaller part a new label of the table */
  ns_edit_change_apply (keep, expected, FALSE);
  guint8 taken[256] = { 0 };
  for (guint i = 0; i < ns_label_table_n_entries (table); i++)
    taken[ns_label_table_get_nth (table, i)->value] = 1;
  g_autoptr (GArray) values = g_array_new (FALSE, FALSE, sizeof (guint8));
  g_autoptr (NsEditChange) split = ns_label_ops_split_islands (expected, taken, &rule, values,
                                                               &error);
  g_assert_no_error (error);
  g_assert_cmpuint (values->len, >=, 2);
  gtk_drop_down_set_selected (named ("cleanup-islands-mode"), 2);
  press_shift (GDK_KEY_i);
  g_assert_cmpuint (ns_test_labels_n_differ (ns_test_window_labels (window), expected), ==, 0);
  for (guint i = 0; i < values->len; i++)
    g_assert_nonnull (ns_label_table_lookup (table, g_array_index (values, guint8, i)));
  undo_to (with_specks);
  ns_edit_change_apply (split, expected, FALSE);

  /* Keep the part at the cursor: the speck at (6, 3, k) */
  {
    double cursor[3] = { 6, 3, g->dim[2] / 2 };
    g_autoptr (NsEditChange) at = ns_label_ops_keep_island_at (expected, (int[3]) { 6, 3,
                                                                          g->dim[2] / 2 },
                                                               &rule, &error);
    ns_viewer_set_cursor (ns_window_get_viewer (window), cursor);
    gtk_drop_down_set_selected (named ("cleanup-islands-mode"), 3);
    click_apply ();
    g_assert_cmpuint (ns_test_labels_n_differ (ns_test_window_labels (window), expected), ==, 0);
    g_assert_cmpuint (ns_edit_pick (ns_test_window_labels (window),
                                    (int[3]) { 6, 3, g->dim[2] / 2 }), ==, 4);
    g_assert_cmpstr (ns_test_window_last_entry_name (window), ==, "Keep island");
    undo_to (with_specks);
    ns_edit_change_apply (at, expected, FALSE);
  }

  /* Intersect ET with the brain: the specks in the air go, the tumour's ET stays (Shift+L) */
  g_autofree guint8 *brain = ns_label_ops_dup_region (expected, shown_image (),
                                                      NS_OPERAND_BRAIN, 0, NULL, &error);
  g_assert_no_error (error);
  g_autoptr (NsEditChange) inter = ns_label_ops_logical (expected, NULL, NS_LOGIC_INTERSECT,
                                                         brain, &rule, &error);
  g_assert_cmpuint (inter->n, >=, 2);
  gtk_drop_down_set_selected (named ("cleanup-logic-op"), NS_LOGIC_INTERSECT);
  gtk_drop_down_set_selected (named ("cleanup-logic-operand"), 0);    /* Brain */
  press_shift (GDK_KEY_l);
  g_assert_cmpuint (ns_test_labels_n_differ (ns_test_window_labels (window), expected), ==, 0);
  g_assert_cmpstr (ns_test_window_last_entry_name (window), ==, "Intersect");
  undo_to (with_specks);
  undo_to (before);
}

static void
test_lasso_editor (void)
{
  g_autoptr (NsLabelMap) before = ns_label_map_dup (ns_test_window_labels (window), NULL);
  g_autoptr (NsLabelMap) expected = ns_label_map_dup (ns_test_window_labels (window), NULL);
  g_autoptr (GError) error = NULL;
  const NsGrid *g = &before->grid;
  double k = g->dim[2] / 2;
  /* a triangle on the axial slice through the middle, through the volume */
  double pts[] = { 40.3, 40.2, k, 90.6, 52.1, k, 55.4, 95.7, k };
  NsPaintRule rule;

  ns_editor_set_label (ns_test_window_editor (window), 1);
  ns_editor_set_locked (ns_test_window_editor (window), 2, TRUE);
  ns_paint_rule_init (&rule, 1);
  rule.locked[2] = 1;
  g_autoptr (NsEditChange) want = ns_label_ops_polygon (expected, NULL, 2, pts, 3, TRUE, &rule,
                                                        &error);
  g_assert_cmpuint (want->n, >, 1000);
  g_assert_true (ns_editor_polygon (ns_test_window_editor (window), 2, pts, 3, TRUE, FALSE,
                                    &error));
  g_assert_no_error (error);
  g_assert_cmpuint (ns_test_labels_n_differ (ns_test_window_labels (window), expected), ==, 0);
  g_assert_cmpstr (ns_test_window_last_entry_name (window), ==, "Lasso");
  /* the scissors on the same outline, this slice only */
  ns_paint_rule_init (&rule, 0);
  rule.locked[2] = 1;
  g_autoptr (NsEditChange) cut = ns_label_ops_polygon (expected, NULL, 2, pts, 3, FALSE, &rule,
                                                       &error);
  g_assert_true (ns_editor_polygon (ns_test_window_editor (window), 2, pts, 3, FALSE, TRUE,
                                    &error));
  g_assert_cmpuint (ns_test_labels_n_differ (ns_test_window_labels (window), expected), ==, 0);
  g_assert_cmpstr (ns_test_window_last_entry_name (window), ==, "Scissors");
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (window), "win.undo", NULL));
  undo_to (before);
  ns_editor_set_locked (ns_test_window_editor (window), 2, FALSE);
}

static void
test_fill_guard_question (void)
{
  NsSliceView *axial = ns_window_get_slice_view (window, NS_PLANE_AXIAL);
  double w = gtk_widget_get_width (GTK_WIDGET (axial));
  double h = gtk_widget_get_height (GTK_WIDGET (axial));
  double xy[2] = { 0.2 * w, 0.2 * h };   /* the air in a corner of the slice */
  g_autoptr (NsLabelMap) before = ns_label_map_dup (ns_test_window_labels (window), NULL);
  g_autoptr (NsLabelMap) expected = ns_label_map_dup (ns_test_window_labels (window), NULL);
  const NsPlaneGeometry *geom = ns_slice_view_get_geometry (axial);
  guint n_undo = ns_history_n_undo (ns_test_window_history (window));
  double ix, iy, voxel[3];
  int seed[3];
  NsPaintRule rule;
  g_autoptr (GError) error = NULL;
  GtkWidget *question;

  ns_slice_view_widget_to_image (axial, xy[0], xy[1], &ix, &iy);
  ns_plane_geometry_voxel_at (geom, ix, iy, voxel);
  for (int a = 0; a < 3; a++)
    seed[a] = (int) lround (voxel[a]);
  ns_paint_rule_init (&rule, 1);
  g_autoptr (NsEditChange) flood = ns_edit_flood_fill_2d (expected, NULL, geom->axis_n, seed,
                                                          NS_FILL_BOUND_LABEL, 0, 0, &rule,
                                                          &error);
  g_assert_cmpuint (flood->n, >, 1000);

  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (window), "edit.tool", "s", "fill"));
  ns_editor_set_label (ns_test_window_editor (window), 1);
  g_assert_true (ns_editor_get_fill_guard (ns_test_window_editor (window)));

  /* The click: nothing painted, the question asked; Cancel leaves it so. */
  ns_slice_view_paint_path (axial, 0, xy, 1);
  ns_test_drain ();
  question = ns_tool_panel_get_fill_question (tool_panel ());
  g_assert_nonnull (question);
  g_assert_true (ns_editor_get_fill_pending (ns_test_window_editor (window)));
  g_assert_cmpuint (ns_test_labels_n_differ (ns_test_window_labels (window), before), ==, 0);
  g_assert_cmpuint (ns_history_n_undo (ns_test_window_history (window)), ==, n_undo);
  gtk_dialog_response (GTK_DIALOG (question), GTK_RESPONSE_CANCEL);
  ns_test_drain ();
  g_assert_null (ns_tool_panel_get_fill_question (tool_panel ()));
  g_assert_false (ns_editor_get_fill_pending (ns_test_window_editor (window)));
  g_assert_cmpuint (ns_test_labels_n_differ (ns_test_window_labels (window), before), ==, 0);

  /* Again, and "Fill Anyway": the fill as data/ makes it, one undo step. */
  ns_slice_view_paint_path (axial, 0, xy, 1);
  ns_test_drain ();
  question = ns_tool_panel_get_fill_question (tool_panel ());
  g_assert_nonnull (question);
  gtk_dialog_response (GTK_DIALOG (question), GTK_RESPONSE_ACCEPT);
  ns_test_drain ();
  g_assert_null (ns_tool_panel_get_fill_question (tool_panel ()));
  g_assert_cmpuint (ns_test_labels_n_differ (ns_test_window_labels (window), expected), ==, 0);
  g_assert_cmpstr (ns_test_window_last_entry_name (window), ==, "Fill");
  undo_to (before);

  /* With the guard off the same click fills at once. */
  ns_editor_set_fill_guard (ns_test_window_editor (window), FALSE);
  ns_slice_view_paint_path (axial, 0, xy, 1);
  ns_test_drain ();
  g_assert_null (ns_tool_panel_get_fill_question (tool_panel ()));
  g_assert_cmpuint (ns_test_labels_n_differ (ns_test_window_labels (window), expected), ==, 0);
  undo_to (before);
  ns_editor_set_fill_guard (ns_test_window_editor (window), TRUE);

  /* A question left open: main () closes the window under it (the palette must not touch
   * the dialog the window destroyed). */
  ns_slice_view_paint_path (axial, 0, xy, 1);
  ns_test_drain ();
  g_assert_nonnull (ns_tool_panel_get_fill_question (tool_panel ()));
  g_assert_cmpuint (ns_test_labels_n_differ (ns_test_window_labels (window), before), ==, 0);
}

/* Help > Keyboard Shortcuts lists every key of the Cleanup panel. */
static void
collect_overlay_accels (GtkWidget *widget, GHashTable *set)
{
  if (GTK_IS_SHORTCUTS_SHORTCUT (widget))
    {
      g_autofree char *accels = NULL;
      g_auto (GStrv) each = NULL;

      g_object_get (widget, "accelerator", &accels, NULL);
      each = g_strsplit (accels != NULL ? accels : "", " ", -1);
      for (guint i = 0; each[i] != NULL; i++)
        {
          guint key;
          GdkModifierType mods;

          if (gtk_accelerator_parse (each[i], &key, &mods))
            g_hash_table_add (set, gtk_accelerator_name (key, mods));
        }
    }
  for (GtkWidget *c = gtk_widget_get_first_child (widget); c != NULL;
       c = gtk_widget_get_next_sibling (c))
    collect_overlay_accels (c, set);
}

static void
test_keys_listed (void)
{
  g_autoptr (GtkBuilder) builder =
    gtk_builder_new_from_resource ("/org/neuroseg/Neuroseg/gtk/help-overlay.ui");
  GObject *overlay = gtk_builder_get_object (builder, "help_overlay");
  g_autoptr (GHashTable) listed = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  g_autoptr (GListModel) controllers = gtk_widget_observe_controllers (cleanup_panel ());
  guint n_checked = 0;

  g_assert_nonnull (overlay);
  collect_overlay_accels (GTK_WIDGET (overlay), listed);
  for (guint i = 0; i < g_list_model_get_n_items (controllers); i++)
    {
      g_autoptr (GtkEventController) c = g_list_model_get_item (controllers, i);

      if (g_strcmp0 (gtk_event_controller_get_name (c), "ns-cleanup-keys") != 0)
        continue;
      for (guint s = 0; s < g_list_model_get_n_items (G_LIST_MODEL (c)); s++)
        {
          g_autoptr (GtkShortcut) shortcut = g_list_model_get_item (G_LIST_MODEL (c), s);
          GtkKeyvalTrigger *t = GTK_KEYVAL_TRIGGER (gtk_shortcut_get_trigger (shortcut));
          g_autofree char *name =
            gtk_accelerator_name (gtk_keyval_trigger_get_keyval (t),
                                  gtk_keyval_trigger_get_modifiers (t));

          if (!g_hash_table_contains (listed, name))
            g_error ("%s is not in the Keyboard Shortcuts window", name);
          n_checked++;
        }
    }
  g_assert_cmpuint (n_checked, ==, 6);
  gtk_window_destroy (GTK_WINDOW (overlay));
}

int
main (int argc, char **argv)
{
  g_autofree char *data_dir = NULL;
  g_autofree char *case_dir = NULL;
  const char *paths[2] = { NULL, NULL };
  int status;

  g_setenv ("GTK_A11Y", "none", TRUE);
  g_setenv ("XDG_CONFIG_HOME", ns_test_tmpdir (), TRUE);
  data_dir = g_build_filename (ns_test_tmpdir (), "data", NULL);
  g_setenv ("NEUROSEG_DATA_DIR", data_dir, TRUE);
  g_test_init (&argc, &argv, NULL);
  gtk_init ();

  case_dir = copy_case ("Brats18_CBICA_ABM_1");
  window = ns_window_new (NULL);
  gtk_window_set_default_size (GTK_WINDOW (window), 1400, 820);
  gtk_window_present (GTK_WINDOW (window));
  paths[0] = case_dir;
  ns_window_open (window, paths);
  g_assert_true (ns_test_wait_until (ns_test_window_idle, window, 120));
  g_assert_null (ns_window_get_load_error (window));
  ns_window_set_layout (window, "grid");
  g_assert_true (ns_test_wait_until (ns_test_window_views_allocated, window, 10));
  g_assert_nonnull (ns_test_window_doc (window));

  g_test_add_func ("/ui/cleanup/keys-listed", test_keys_listed);
  g_test_add_func ("/ui/cleanup/collapsed-then-opened-by-key",
                   test_collapsed_then_opened_by_key);
  g_test_add_func ("/ui/cleanup/margin-shortcut-and-apply", test_margin_shortcut);
  g_test_add_func ("/ui/cleanup/smooth-and-otsu-threshold", test_smooth_and_threshold);
  g_test_add_func ("/ui/cleanup/grow-from-seeds", test_grow_from_seeds);
  g_test_add_func ("/ui/cleanup/islands-and-logic", test_islands_and_logic);
  g_test_add_func ("/ui/cleanup/lasso-and-scissors", test_lasso_editor);
  g_test_add_func ("/ui/cleanup/fill-guard-question", test_fill_guard_question);
  status = g_test_run ();

  ns_editor_discard_changes (ns_test_window_editor (window));
  gtk_window_destroy (GTK_WINDOW (window));
  return status;
}
