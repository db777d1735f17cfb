/* SPDX-License-Identifier: MIT
 *
 * test-e2e-input.c: the workbench as a person uses it (issue 12): the installed program,
 * started from a fresh folder outside the source tree, driven with real key presses,
 * pointer moves, clicks and wheel steps (tests/ns-test-gui.h), checked through what it
 * shows and writes.
 *
 *   /e2e/input/starts-installed       the bundled case opens; Show Uncertainty's window
 *                                     closes on Escape and with its Close button
 *   /e2e/input/wheel-over-sidebar     the wheel over the window/level spin buttons
 *                                     scrolls the sidebar, W/L stays; a spin button that
 *                                     was clicked into takes the wheel
 *   /e2e/input/keys-follow-pointer    after a click elsewhere, the slice keys act on the
 *                                     view under the pointer, no click on it needed
 *   /e2e/input/choose-file-run-undo   Segmentation > Model… > Other File… chooses the
 *                                     shipped model, Ctrl+R runs it (Replace), its
 *                                     progress shows in the status bar inside the
 *                                     window, Undo brings the case's labels back, Ctrl+Q
 *                                     quits without a question and the next start offers
 *                                     no recovery; Mark Corrected then writes into the
 *                                     user's data folder, not the sample's folder
 *
 * Runs under xvfb-run (the e2e suite); xdotool, meson and imagemagick's import come from
 * tools/setup.sh.
 */
#include "ns-config.h"

#include <math.h>
#include <string.h>

#include "ns-test-gui.h"
#include "ns-test-util.h"

#define CASE_ID "Brats18_CBICA_ABM_1"
#define MAIN_WINDOW "NsWindow"

static JsonObject *
member_object (JsonObject *o, const char *name)
{
  return o != NULL && json_object_has_member (o, name) ? json_object_get_object_member (o, name)
                                                        : NULL;
}

static double
widget_value (JsonObject *status, const char *widget)
{
  return json_object_get_double_member (ns_gui_widget (ns_gui_window (status, MAIN_WINDOW),
                                                       widget), "value");
}

static int
compare_strings (gconstpointer a, gconstpointer b)
{
  return g_strcmp0 (*(const char *const *) a, *(const char *const *) b);
}

/* The names in folder, sorted, joined (owned). */
static char *
list_dir (const char *folder)
{
  g_autoptr (GDir) dir = g_dir_open (folder, 0, NULL);
  g_autoptr (GPtrArray) names = g_ptr_array_new_with_free_func (g_free);
  const char *name;

  g_assert_nonnull (dir);
  while ((name = g_dir_read_name (dir)) != NULL)
    g_ptr_array_add (names, g_strdup (name));
  g_ptr_array_sort (names, compare_strings);
  g_ptr_array_add (names, NULL);
  return g_strjoinv (" ", (char **) names->pdata);
}

/* The one entry of folder (owned path). */
static char *
only_entry (const char *folder)
{
  g_autoptr (GDir) dir = g_dir_open (folder, 0, NULL);
  const char *name;

  g_assert_nonnull (dir);
  name = g_dir_read_name (dir);
  g_assert_nonnull (name);
  g_assert_null (g_dir_read_name (dir));
  return g_build_filename (folder, name, NULL);
}

static NsGuiApp *
start_with_case (const char *home)
{
  NsGuiApp *app = ns_gui_app_start (home, NULL);

  g_assert_true (ns_gui_wait (app, ns_gui_case_open, NULL, 180));
  return app;
}

/* ---- starts-installed ------------------------------------------------------------------- */

static void
test_starts_installed (void)
{
  NsGuiApp *app = start_with_case (NULL);
  g_autoptr (JsonObject) status = ns_gui_status (app);
  JsonObject *wb = ns_gui_workbench (status);
  JsonObject *main_window = ns_gui_window (status, MAIN_WINDOW);

  /* no argument: the bundled case, at the window's default size */
  g_assert_cmpstr (json_object_get_string_member (wb, "case"), ==, CASE_ID);
  g_assert_cmpstr (json_object_get_string_member (main_window, "title"), ==,
                   CASE_ID " — Neuroseg");
  g_assert_cmpint (json_array_get_int_element (json_object_get_array_member (main_window,
                                                                             "size"), 0),
                   ==, 1400);

  /* Segmentation (Alt+S) > Show Uncertainty (U): Escape closes it */
  ns_gui_key (app, MAIN_WINDOW, "alt+s u");
  g_assert_true (ns_gui_wait (app, ns_gui_window_shown, "Uncertainty", 30));
  ns_gui_key (app, "Uncertainty", "Escape");
  g_assert_true (ns_gui_wait (app, ns_gui_window_gone, "Uncertainty", 30));
  /* ... and so does its Close button */
  ns_gui_key (app, MAIN_WINDOW, "alt+s u");
  g_assert_true (ns_gui_wait (app, ns_gui_window_shown, "Uncertainty", 30));
  ns_gui_point_at (app, "Uncertainty", "close-button", 0.5, 0.5);
  ns_gui_click (app);
  g_assert_true (ns_gui_wait (app, ns_gui_window_gone, "Uncertainty", 30));
  ns_gui_app_free (app);
}

/* ---- wheel-over-sidebar ----------------------------------------------------------------- */

static gboolean
sidebar_scrolled (JsonObject *status, gpointer data)
{
  return widget_value (status, "sidebar") >= *(double *) data;
}

static gboolean
window_changed (JsonObject *status, gpointer data)
{
  return widget_value (status, "window-spin") != *(double *) data;
}

static gboolean
spin_focused (JsonObject *status, gpointer data)
{
  return json_object_get_boolean_member (ns_gui_widget (ns_gui_window (status, MAIN_WINDOW),
                                                        data), "focus");
}

static void
test_wheel_over_sidebar (void)
{
  NsGuiApp *app = start_with_case (NULL);
  g_autoptr (JsonObject) before = ns_gui_status (app);
  g_autoptr (JsonObject) after = NULL;
  double window0 = widget_value (before, "window-spin");
  double level0 = widget_value (before, "level-spin");
  double scrolled = 1;

  g_assert_cmpfloat (widget_value (before, "sidebar"), ==, 0);
  /* three wheel steps down over the Window spin button, which has no focus */
  ns_gui_point_at (app, MAIN_WINDOW, "window-spin", 0.3, 0.5);
  ns_gui_wheel (app, 3);
  g_assert_true (ns_gui_wait (app, sidebar_scrolled, &scrolled, 30));
  g_usleep (500000);
  after = ns_gui_status (app);
  g_test_message ("sidebar scrolled to %.0f", widget_value (after, "sidebar"));
  g_assert_cmpfloat (widget_value (after, "window-spin"), ==, window0);
  g_assert_cmpfloat (widget_value (after, "level-spin"), ==, level0);

  /* clicked into, it is being edited: now it takes the wheel */
  ns_gui_point_at (app, MAIN_WINDOW, "window-spin", 0.3, 0.5);
  ns_gui_click (app);
  g_assert_true (ns_gui_wait (app, spin_focused, "window-spin", 30));
  ns_gui_wheel (app, -1);
  g_assert_true (ns_gui_wait (app, window_changed, &window0, 30));
  ns_gui_app_free (app);
}

/* ---- keys-follow-pointer ---------------------------------------------------------------- */

static int
axial_slice (JsonObject *status)
{
  return (int) json_object_get_int_member (member_object (ns_gui_workbench (status), "slices"),
                                           "axial");
}

static gboolean
axial_slice_is (JsonObject *status, gpointer data)
{
  return axial_slice (status) == *(int *) data;
}

static gboolean
focus_is (JsonObject *status, gpointer data)
{
  return g_strcmp0 (json_object_get_string_member_with_default (ns_gui_workbench (status),
                                                                "focus", NULL),
                    data) == 0;
}

static void
test_keys_follow_pointer (void)
{
  NsGuiApp *app = start_with_case (NULL);
  g_autoptr (JsonObject) status = NULL;
  int slice;

  /* a click on a button of the sidebar (its first, the Navigate tool: the sidebar's lower
   * part may be scrolled out of sight at the default size): the keyboard is there now */
  ns_gui_point_at (app, MAIN_WINDOW, "tool-navigate", 0.5, 0.5);
  ns_gui_click (app);
  g_assert_true (ns_gui_wait (app, focus_is, "tool-navigate", 30));
  status = ns_gui_status (app);
  slice = axial_slice (status);

  /* the pointer over the axial view, no click: Down and Page Up step its slice */
  ns_gui_point_at (app, MAIN_WINDOW, "axial-view", 0.5, 0.5);
  g_assert_true (ns_gui_wait (app, focus_is, "axial-view", 30));
  ns_gui_key (app, NULL, "Down");
  slice -= 1;
  g_assert_true (ns_gui_wait (app, axial_slice_is, &slice, 30));
  ns_gui_key (app, NULL, "Page_Up Page_Up");
  slice += 2;
  g_assert_true (ns_gui_wait (app, axial_slice_is, &slice, 30));
  ns_gui_app_free (app);
}

/* ---- choose-file-run-undo --------------------------------------------------------------- */

static gboolean
model_is (JsonObject *status, gpointer data)
{
  return g_strcmp0 (json_object_get_string_member_with_default (ns_gui_workbench (status),
                                                                "model", NULL),
                    data) == 0;
}

/* The job's progress shows in the status bar, inside the window (x, y, w, h). */
static gboolean
job_shown (JsonObject *status, gpointer data)
{
  JsonObject *window = ns_gui_window (status, MAIN_WINDOW);
  JsonObject *job = ns_gui_widget (window, "job-status");
  const char *text = json_object_get_string_member_with_default (ns_gui_workbench (status),
                                                                 "job", NULL);
  JsonArray *b, *size;

  if (text == NULL || !g_str_has_prefix (text, "Run Model: ") || job == NULL
      || !json_object_get_boolean_member (job, "mapped"))
    return FALSE;
  b = json_object_get_array_member (job, "bounds");
  size = json_object_get_array_member (window, "size");
  g_test_message ("%s, at %" G_GINT64_FORMAT ",%" G_GINT64_FORMAT, text,
                  json_array_get_int_element (b, 0), json_array_get_int_element (b, 1));
  g_assert_cmpint (json_array_get_int_element (b, 0), >=, 0);
  g_assert_cmpint (json_array_get_int_element (b, 1), >=, 0);
  g_assert_cmpint (json_array_get_int_element (b, 0) + json_array_get_int_element (b, 2), <=,
                   json_array_get_int_element (size, 0));
  g_assert_cmpint (json_array_get_int_element (b, 1) + json_array_get_int_element (b, 3), <=,
                   json_array_get_int_element (size, 1));
  return TRUE;
}

static gboolean
predicted (JsonObject *status, gpointer data)
{
  JsonObject *wb = ns_gui_workbench (status);

  return !json_object_get_boolean_member (wb, "running")
         && g_strcmp0 (json_object_get_string_member_with_default (wb, "labels_source", ""),
                       "Model prediction, not saved") == 0;
}

static gboolean
back_to_case_labels (JsonObject *status, gpointer data)
{
  JsonObject *wb = ns_gui_workbench (status);

  return g_strcmp0 (json_object_get_string_member_with_default (wb, "labels_source", ""),
                    CASE_ID "_seg.nii.gz") == 0
         && !json_object_get_boolean_member (wb, "modified");
}

static void
test_choose_file_run_undo (void)
{
  g_autofree char *model = g_build_filename (ns_gui_installed_data_dir (), "models",
                                             "default.safetensors", NULL);
  NsGuiApp *app = start_with_case (NULL);
  g_autofree char *home = g_strdup (ns_gui_app_get_home (app));
  g_autoptr (JsonObject) status = NULL;
  JsonObject *actions;
  gint64 labelled_before;

  status = ns_gui_status (app);
  labelled_before = json_object_get_int_member (ns_gui_workbench (status), "mask_nonzero");
  g_assert_cmpint (labelled_before, >, 0);   /* the case's segmentation */

  /* Segmentation > Model… (Alt+S M), Other File… (Alt+O), the path typed into the file
   * chooser */
  ns_gui_key (app, MAIN_WINDOW, "alt+s m");
  g_assert_true (ns_gui_wait (app, ns_gui_window_shown, "Model", 30));
  ns_gui_key (app, "Model", "alt+o");
  g_assert_true (ns_gui_wait (app, ns_gui_window_shown, "Choose a Model", 30));
  ns_gui_key (app, "Choose a Model", "ctrl+l");
  ns_gui_type (app, model);
  ns_gui_key (app, "Choose a Model", "Return");
  g_assert_true (ns_gui_wait (app, ns_gui_window_gone, "Choose a Model", 30));
  /* the choice is the model Run Model uses (it was not: the list was empty) */
  g_assert_true (ns_gui_wait (app, model_is, model, 30));
  ns_gui_key (app, "Model", "alt+c");
  g_assert_true (ns_gui_wait (app, ns_gui_window_gone, "Model", 30));

  /* Ctrl+R: the mask has labels, so the question, after the model was found; Replace */
  ns_gui_key (app, MAIN_WINDOW, "ctrl+r");
  g_assert_true (ns_gui_wait (app, ns_gui_window_shown, "Run Model", 30));
  ns_gui_key (app, "Run Model", "alt+r");
  g_assert_true (ns_gui_wait (app, job_shown, NULL, 120));
  g_assert_true (ns_gui_wait (app, predicted, NULL, 600));
  g_clear_pointer (&status, json_object_unref);
  status = ns_gui_status (app);
  actions = member_object (ns_gui_workbench (status), "actions");
  g_assert_true (json_object_get_boolean_member (actions, "win.undo"));
  g_assert_true (json_object_get_boolean_member (ns_gui_workbench (status), "modified"));
  g_assert_cmpint (json_object_get_int_member (ns_gui_workbench (status), "mask_nonzero"), >,
                   0);
  g_assert_true (g_str_has_prefix (json_object_get_string_member (ns_gui_workbench (status),
                                                                  "message"),
                                   "Predicted in "));

  /* Ctrl+Z: the case's own labels again, nothing to save */
  ns_gui_key (app, MAIN_WINDOW, "ctrl+z");
  g_assert_true (ns_gui_wait (app, back_to_case_labels, NULL, 60));
  g_clear_pointer (&status, json_object_unref);
  status = ns_gui_status (app);
  g_assert_cmpint (json_object_get_int_member (ns_gui_workbench (status), "mask_nonzero"), ==,
                   labelled_before);

  /* Ctrl+Q quits at once (no question), and the next start offers no recovery */
  ns_gui_key (app, MAIN_WINDOW, "ctrl+q");
  g_assert_cmpint (ns_gui_app_wait_exit (app, 60), ==, 0);
  ns_gui_app_free (app);
  app = start_with_case (home);
  g_usleep (500000);
  g_clear_pointer (&status, json_object_unref);
  status = ns_gui_status (app);
  g_assert_cmpuint (json_array_get_length (json_object_get_array_member (status, "windows")), ==,
                    1);

  /* Segmentation > Mark Corrected and Queue (Alt+S Q), after the restart: the mask and the
   * prediction it is compared with go to the user's data folder, nothing into the case's
   * folder (here the source tree's sample), and the queue shows */
  {
    /* the source tree's sample and the installed one: the program uses one of them */
    g_autofree char *installed_sample = g_build_filename (ns_gui_installed_data_dir (),
                                                          "samples", CASE_ID, NULL);
    g_autofree char *installed_before = list_dir (installed_sample);
    g_autofree char *installed_after = NULL;
    g_autofree char *sample_before = list_dir (ns_test_sample_case ());
    g_autofree char *sample_after = NULL;
    g_autofree char *data = ns_gui_app_dup_data_dir (app);
    g_autofree char *corrections = g_build_filename (data, "corrections", NULL);
    g_autofree char *case_folder = NULL;
    g_autofree char *listed = NULL;

    ns_gui_key (app, MAIN_WINDOW, "alt+s q");
    g_assert_true (ns_gui_wait (app, ns_gui_window_shown, "Fine-tuning Queue", 60));
    sample_after = list_dir (ns_test_sample_case ());
    g_assert_cmpstr (sample_after, ==, sample_before);
    installed_after = list_dir (installed_sample);
    g_assert_cmpstr (installed_after, ==, installed_before);
    case_folder = only_entry (corrections);
    listed = list_dir (case_folder);
    g_test_message ("%s: %s", case_folder, listed);
    g_assert_nonnull (strstr (listed, CASE_ID "_mask.nii.gz"));
    /* the prediction kept by the run before the restart */
    g_assert_nonnull (strstr (listed, CASE_ID "_mask_prediction.nii.gz"));
  }
  ns_gui_app_free (app);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/e2e/input/starts-installed", test_starts_installed);
  g_test_add_func ("/e2e/input/wheel-over-sidebar", test_wheel_over_sidebar);
  g_test_add_func ("/e2e/input/keys-follow-pointer", test_keys_follow_pointer);
  g_test_add_func ("/e2e/input/choose-file-run-undo", test_choose_file_run_undo);
  return g_test_run ();
}
