/* SPDX-License-Identifier: MIT
 *
 * test-ui-app.c: the GtkApplication and the ways a case gets into a window: the command
 * line (GApplication's open, as `neuroseg FILES...` does), no argument (the bundled
 * case), drag and drop onto the window (the window's GtkDropTarget "drop" signal with a
 * GdkFileList, as GTK emits it), recent cases, and the menu shortcuts.  Runs under
 * xvfb-run.
 */
#include "ns-config.h"

#include <gtk/gtk.h>
#include <string.h>

#include "ns-application.h"
#include "ns-test-util.h"
#include "ns-view3d.h"
#include "ns-window.h"

static NsApplication *app;

static gboolean
wait_loaded (NsWindow *window, double timeout_s)
{
  gint64 end = g_get_monotonic_time () + (gint64) (timeout_s * G_USEC_PER_SEC);

  while (ns_window_is_loading (window))
    {
      if (g_get_monotonic_time () > end)
        return FALSE;
      g_main_context_iteration (NULL, FALSE);
      g_usleep (1000);
    }
  return TRUE;
}

static NsWindow *
newest_window (void)
{
  GList *windows = gtk_application_get_windows (GTK_APPLICATION (app));

  /* Most recently focused first; a new window is presented and comes first. */
  g_assert_nonnull (windows);
  g_assert_true (NS_IS_WINDOW (windows->data));
  return windows->data;
}

static void
close_all_windows (void)
{
  GList *windows;

  while ((windows = gtk_application_get_windows (GTK_APPLICATION (app))) != NULL)
    gtk_window_destroy (windows->data);
}

static char **
sample_files (void)
{
  const char *dir = ns_test_sample_case ();
  g_autoptr (GStrvBuilder) builder = g_strv_builder_new ();
  static const char *const parts[] = { "flair", "t1ce", "t1", "t2", "seg" };

  for (guint i = 0; i < G_N_ELEMENTS (parts); i++)
    {
      g_autofree char *name = g_strdup_printf ("Brats18_CBICA_ABM_1_%s.nii.gz", parts[i]);
      g_autofree char *path = g_build_filename (dir, name, NULL);
      g_strv_builder_add (builder, path);
    }
  return g_strv_builder_end (builder);
}

/* Adds the accelerators of every GtkShortcutsShortcut under object (one or several,
 * separated by spaces) to set, parsed and printed again so that spellings agree. */
static void
collect_overlay_accels (GObject *object, GHashTable *set)
{
  if (GTK_IS_SHORTCUTS_SHORTCUT (object))
    {
      g_autofree char *accels = NULL;
      g_auto (GStrv) each = NULL;

      g_object_get (object, "accelerator", &accels, NULL);
      each = g_strsplit (accels != NULL ? accels : "", " ", -1);
      for (guint i = 0; each[i] != NULL; i++)
        {
          guint key;
          GdkModifierType mods;

          if (gtk_accelerator_parse (each[i], &key, &mods))
            g_hash_table_add (set, gtk_accelerator_name (key, mods));
        }
    }
  if (GTK_IS_WIDGET (object))
    for (GtkWidget *c = gtk_widget_get_first_child (GTK_WIDGET (object)); c != NULL;
         c = gtk_widget_get_next_sibling (c))
      collect_overlay_accels (G_OBJECT (c), set);
}

/* Help > Keyboard Shortcuts lists every accelerator the application sets (it left out
 * Ctrl+R, Run Model). */
static void
test_shortcuts_window_complete (void)
{
  g_autoptr (GtkBuilder) builder =
    gtk_builder_new_from_resource ("/org/neuroseg/Neuroseg/gtk/help-overlay.ui");
  GObject *overlay = gtk_builder_get_object (builder, "help_overlay");
  g_autoptr (GHashTable) listed = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  g_auto (GStrv) actions = gtk_application_list_action_descriptions (GTK_APPLICATION (app));
  guint n_checked = 0;

  g_assert_nonnull (overlay);
  collect_overlay_accels (overlay, listed);
  for (guint a = 0; actions[a] != NULL; a++)
    {
      g_auto (GStrv) accels = gtk_application_get_accels_for_action (GTK_APPLICATION (app),
                                                                     actions[a]);

      for (guint i = 0; accels[i] != NULL; i++)
        {
          guint key;
          GdkModifierType mods;
          g_autofree char *name = NULL;

          g_assert_true (gtk_accelerator_parse (accels[i], &key, &mods));
          name = gtk_accelerator_name (key, mods);
          if (!g_hash_table_contains (listed, name))
            g_error ("%s (%s) is not in the Keyboard Shortcuts window", accels[i], actions[a]);
          n_checked++;
        }
    }
  g_assert_cmpuint (n_checked, >, 20);
  g_assert_true (g_hash_table_contains (listed, "<Control>r"));
  gtk_window_destroy (GTK_WINDOW (overlay));
}

static void
test_accels (void)
{
  static const struct { const char *action, *accel; } expected[] = {
    { "win.open-case", "<Control>o" }, { "win.close", "<Control>w" },
    { "app.quit", "<Control>q" }, { "view.reset", "<Control>0" },
    { "view.layout::grid", "<Control>2" }, { "win.undo", "<Control>z" },
  };

  for (guint i = 0; i < G_N_ELEMENTS (expected); i++)
    {
      g_auto (GStrv) accels = gtk_application_get_accels_for_action (GTK_APPLICATION (app),
                                                                    expected[i].action);
      g_assert_nonnull (accels[0]);
      g_assert_cmpstr (accels[0], ==, expected[i].accel);
    }
  g_assert_true (g_action_group_has_action (G_ACTION_GROUP (app), "quit"));
  g_assert_true (g_action_group_has_action (G_ACTION_GROUP (app), "about"));
}

static void
test_no_argument_opens_sample (void)
{
  NsWindow *window;

  g_application_activate (G_APPLICATION (app));
  window = newest_window ();
  g_assert_true (wait_loaded (window, 120));
  g_assert_null (ns_window_get_load_error (window));
  g_assert_cmpstr (ns_viewer_get_title (ns_window_get_viewer (window)), ==,
                   "Brats18_CBICA_ABM_1");
  /* Help ▸ Keyboard Shortcuts comes from the bundle's gtk/help-overlay.ui. */
  g_assert_nonnull (gtk_application_window_get_help_overlay (GTK_APPLICATION_WINDOW (window)));
  close_all_windows ();
}

static void
test_command_line_files (void)
{
  g_auto (GStrv) paths = sample_files ();
  GFile *files[5];
  NsWindow *window;
  NsViewer *viewer;

  for (guint i = 0; i < 5; i++)
    files[i] = g_file_new_for_path (paths[i]);
  g_application_open (G_APPLICATION (app), files, 5, "");
  for (guint i = 0; i < 5; i++)
    g_object_unref (files[i]);

  window = newest_window ();
  g_assert_true (wait_loaded (window, 120));
  g_assert_null (ns_window_get_load_error (window));
  viewer = ns_window_get_viewer (window);
  g_assert_cmpuint (ns_viewer_get_n_images (viewer), ==, 4);
  g_assert_nonnull (ns_viewer_get_labels (viewer));
  close_all_windows ();
}

static gboolean
find_drop_target (NsWindow *window, GtkDropTarget **target)
{
  g_autoptr (GListModel) controllers = gtk_widget_observe_controllers (GTK_WIDGET (window));

  for (guint i = 0; i < g_list_model_get_n_items (controllers); i++)
    {
      g_autoptr (GObject) controller = g_list_model_get_item (controllers, i);
      if (GTK_IS_DROP_TARGET (controller))
        {
          *target = GTK_DROP_TARGET (controller);
          return TRUE;
        }
    }
  return FALSE;
}

static void
test_drop_folder (void)
{
  NsWindow *window = ns_window_new (GTK_APPLICATION (app));
  GtkDropTarget *target = NULL;
  g_autoptr (GFile) folder = g_file_new_for_path (ns_test_sample_case ());
  GSList *list = g_slist_append (NULL, folder);
  GValue value = G_VALUE_INIT;
  gboolean accepted = FALSE;

  gtk_window_present (GTK_WINDOW (window));
  g_assert_false (ns_viewer_has_case (ns_window_get_viewer (window)));
  g_assert_true (find_drop_target (window, &target));
  g_assert_true (gtk_drop_target_get_formats (target) != NULL);
  g_assert_true (gdk_content_formats_contain_gtype (gtk_drop_target_get_formats (target),
                                                    GDK_TYPE_FILE_LIST));

  g_value_init (&value, GDK_TYPE_FILE_LIST);
  g_value_set_boxed (&value, list);
  g_signal_emit_by_name (target, "drop", &value, 100.0, 100.0, &accepted);
  g_value_unset (&value);
  g_slist_free (list);

  g_assert_true (accepted);
  g_assert_true (ns_window_is_loading (window));
  g_assert_true (wait_loaded (window, 120));
  g_assert_cmpstr (ns_viewer_get_title (ns_window_get_viewer (window)), ==,
                   "Brats18_CBICA_ABM_1");
  close_all_windows ();
}

static void
test_recent (void)
{
  g_autofree char *recent = g_build_filename (g_get_user_config_dir (), "neuroseg",
                                              "recent-cases", NULL);
  g_autofree char *contents = NULL;
  NsWindow *window;
  g_auto (GStrv) lines = NULL;

  /* The loads above were recorded, newest first. */
  g_assert_true (g_file_get_contents (recent, &contents, NULL, NULL));
  lines = g_strsplit (contents, "\n", -1);
  g_assert_cmpstr (lines[0], ==, ns_test_sample_case ());
  g_assert_nonnull (strstr (contents, "Brats18_CBICA_ABM_1_t1ce.nii.gz\t"));

  /* win.open-recent opens an entry: the five files as one case. */
  window = ns_window_new (GTK_APPLICATION (app));
  gtk_window_present (GTK_WINDOW (window));
  {
    g_auto (GStrv) paths = sample_files ();
    g_assert_true (gtk_widget_activate_action (GTK_WIDGET (window), "win.open-recent", "^as",
                                               paths));
  }
  g_assert_true (wait_loaded (window, 120));
  g_assert_cmpuint (ns_viewer_get_n_images (ns_window_get_viewer (window)), ==, 4);
  close_all_windows ();
}

/* The renderer rule: cairo on software GL unless the user chose; GTK's choice otherwise. */
static void
test_pick_renderer (void)
{
  static const char *const llvmpipe = "llvmpipe (LLVM 15.0.6, 256 bits)";

  g_assert_cmpstr (ns_application_pick_renderer (NULL, llvmpipe), ==, "cairo");
  g_assert_cmpstr (ns_application_pick_renderer ("", llvmpipe), ==, "cairo");
  g_assert_cmpstr (ns_application_pick_renderer (NULL, "softpipe"), ==, "cairo");
  g_assert_cmpstr (ns_application_pick_renderer (NULL, "Software Rasterizer"), ==, "cairo");
  /* GSK_RENDERER always wins, whatever it says */
  g_assert_null (ns_application_pick_renderer ("gl", llvmpipe));
  g_assert_null (ns_application_pick_renderer ("cairo", llvmpipe));
  g_assert_null (ns_application_pick_renderer ("ngl", "softpipe"));
  /* hardware GL, or none (GTK falls back to cairo itself) */
  g_assert_null (ns_application_pick_renderer (NULL, "NVIDIA GeForce RTX 3060/PCIe/SSE2"));
  g_assert_null (ns_application_pick_renderer (NULL, "AMD Radeon RX 6600 (navi23, LLVM 15.0.6, "
                                                      "DRM 3.49, 6.1.0-13-amd64)"));
  g_assert_null (ns_application_pick_renderer (NULL, "Mesa Intel(R) UHD Graphics 620 (KBL GT2)"));
  g_assert_null (ns_application_pick_renderer (NULL, NULL));
}

/* The 3D view's renderer: NEUROSEG_3D decides when it says gl or cpu; else the CPU where
 * GL is software or missing, GL on a GPU's driver. */
static void
test_view3d_pick_renderer (void)
{
  static const char *const llvmpipe = "llvmpipe (LLVM 15.0.6, 256 bits)";
  static const char *const nvidia = "NVIDIA GeForce RTX 3060/PCIe/SSE2";

  g_assert_cmpint (ns_view3d_pick_renderer (NULL, llvmpipe), ==, NS_VIEW3D_RENDERER_CPU);
  g_assert_cmpint (ns_view3d_pick_renderer (NULL, "softpipe"), ==, NS_VIEW3D_RENDERER_CPU);
  g_assert_cmpint (ns_view3d_pick_renderer (NULL, NULL), ==, NS_VIEW3D_RENDERER_CPU);
  g_assert_cmpint (ns_view3d_pick_renderer (NULL, nvidia), ==, NS_VIEW3D_RENDERER_GL);
  g_assert_cmpint (ns_view3d_pick_renderer ("", nvidia), ==, NS_VIEW3D_RENDERER_GL);
  g_assert_cmpint (ns_view3d_pick_renderer (NULL, "AMD Radeon RX 6600 (navi23, LLVM 15.0.6, "
                                                  "DRM 3.49, 6.1.0-13-amd64)"),
                   ==, NS_VIEW3D_RENDERER_GL);
  /* the override wins both ways; anything else is ignored */
  g_assert_cmpint (ns_view3d_pick_renderer ("gl", llvmpipe), ==, NS_VIEW3D_RENDERER_GL);
  g_assert_cmpint (ns_view3d_pick_renderer ("gl", NULL), ==, NS_VIEW3D_RENDERER_GL);
  g_assert_cmpint (ns_view3d_pick_renderer ("cpu", nvidia), ==, NS_VIEW3D_RENDERER_CPU);
  g_assert_cmpint (ns_view3d_pick_renderer ("vulkan", nvidia), ==, NS_VIEW3D_RENDERER_GL);
  g_assert_cmpint (ns_view3d_pick_renderer ("GL", llvmpipe), ==, NS_VIEW3D_RENDERER_CPU);
}

int
main (int argc, char **argv)
{
  int status;

  g_setenv ("XDG_CONFIG_HOME", ns_test_tmpdir (), TRUE);
  /* No D-Bus session bus under xvfb-run here: no accessibility bus either (see
   * test-ui-window.c). */
  g_setenv ("GTK_A11Y", "none", TRUE);
  g_test_init (&argc, &argv, NULL);
  gtk_init ();

  app = ns_application_new ();
  g_assert_true (g_application_register (G_APPLICATION (app), NULL, NULL));
  g_application_hold (G_APPLICATION (app));

  g_test_add_func ("/ui/app/accels", test_accels);
  g_test_add_func ("/ui/app/shortcuts-window-complete", test_shortcuts_window_complete);
  g_test_add_func ("/ui/app/no-argument-opens-sample", test_no_argument_opens_sample);
  g_test_add_func ("/ui/app/command-line-files", test_command_line_files);
  g_test_add_func ("/ui/app/drop-folder", test_drop_folder);
  g_test_add_func ("/ui/app/recent", test_recent);
  g_test_add_func ("/ui/app/pick-renderer", test_pick_renderer);
  g_test_add_func ("/ui/app/view3d-pick-renderer", test_view3d_pick_renderer);
  status = g_test_run ();

  g_application_release (G_APPLICATION (app));
  close_all_windows ();
  g_object_unref (app);
  return status;
}
