/* SPDX-License-Identifier: MIT
 *
 * test-e2e-input-loop.c: the whole AI loop as a new user lives it (issue 12), on the
 * installed program started from a fresh folder outside the source tree, driven with real
 * key presses, pointer moves and clicks (tests/ns-test-gui.h):
 *
 *   open the bundled case (no argument); Ctrl+R, Replace: the shipped model (v0, the
 *   default) segments it, WT Dice >= 0.80 against the case's own labels (read from the
 *   prediction the program keeps with the correction); Ctrl+Z: the case's labels back;
 *   a brush stroke (B, a drag over the axial view); Mark Corrected and Queue; Training >
 *   Fine-tune…: the base is the default, no validation case (the dialog says so), one
 *   epoch of two small steps; Training > Models…: v1 selected, Promote… is refused (no
 *   validation figures) and offers only Promote Anyway, which makes v1 the default;
 *   v0 selected, Roll Back: v0 is the default again; Ctrl+Q, a restart in the same
 *   folder, Ctrl+R: the prediction is v0's again.
 *
 * Every step waits for what the program shows (its state dump) or writes (the database,
 * the corrections folder), so the test fails at the first step that breaks.  With
 * NS_E2E_SHOTS=FOLDER it leaves screenshots of the steps there (the window at its default
 * size) for a person to look at.
 */
#include "ns-config.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ns-nifti.h"
#include "ns-registry.h"
#include "ns-test-gui.h"
#include "ns-test-util.h"

#define CASE_ID "Brats18_CBICA_ABM_1"
#define MAIN_WINDOW "NsWindow"

static JsonObject *
wb_of (JsonObject *status)
{
  return ns_gui_workbench (status);
}

static const char *
wb_string (JsonObject *status, const char *member)
{
  return json_object_get_string_member_with_default (wb_of (status), member, "");
}

/* The text of a named label of a window ("" when none). */
static const char *
label_text (JsonObject *status, const char *window, const char *widget)
{
  JsonObject *w = ns_gui_widget (ns_gui_window (status, window), widget);

  return w != NULL ? json_object_get_string_member_with_default (w, "text", "") : "";
}

/* The model Run Model used is the file expected (paths compared resolved). */
static void
assert_model (JsonObject *status, const char *expected)
{
  g_autofree char *a = realpath (wb_string (status, "model"), NULL);
  g_autofree char *b = realpath (expected, NULL);

  g_assert_nonnull (a);
  g_assert_nonnull (b);
  g_assert_cmpstr (a, ==, b);
}

static void
shot (NsGuiApp *app, const char *name)
{
  const char *dir = g_getenv ("NS_E2E_SHOTS");
  cairo_surface_t *s;

  if (dir == NULL || *dir == '\0')
    return;
  s = ns_gui_screenshot (app);
  {
    g_autofree char *file = g_strdup_printf ("%s.png", name);
    g_autofree char *path = g_build_filename (dir, file, NULL);

    g_assert_cmpint (g_mkdir_with_parents (dir, 0755), ==, 0);
    g_assert_cmpint (cairo_surface_write_to_png (s, path), ==, CAIRO_STATUS_SUCCESS);
  }
  cairo_surface_destroy (s);
}

/* ---- conditions ------------------------------------------------------------------------- */

static gboolean
predicted (JsonObject *status, gpointer data)
{
  return !json_object_get_boolean_member (wb_of (status), "running")
         && g_strcmp0 (wb_string (status, "labels_source"), "Model prediction, not saved") == 0;
}

static gboolean
back_to_case_labels (JsonObject *status, gpointer data)
{
  return g_strcmp0 (wb_string (status, "labels_source"), CASE_ID "_seg.nii.gz") == 0
         && !json_object_get_boolean_member (wb_of (status), "modified");
}

static gboolean
modified (JsonObject *status, gpointer data)
{
  return json_object_get_boolean_member (wb_of (status), "modified");
}

static gboolean
label_starts (JsonObject *status, gpointer data)
{
  const char *const *w = data;

  return g_str_has_prefix (label_text (status, w[0], w[1]), w[2]);
}

/* ---- checks on files -------------------------------------------------------------------- */

/* WT Dice of two label files (any label > 0 is tumour). */
static double
wt_dice (const char *pred_path, const char *truth_path)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (NsVolume) pred = ns_nifti_read (pred_path, &error);
  g_autoptr (NsVolume) truth = NULL;
  guint64 np = 0, nt = 0, both = 0;

  g_assert_no_error (error);
  truth = ns_nifti_read (truth_path, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (ns_volume_n_voxels (pred), ==, ns_volume_n_voxels (truth));
  for (gsize i = 0; i < ns_volume_n_voxels (pred); i++)
    {
      gboolean p = ns_volume_get_value (pred, i) > 0.5f, t = ns_volume_get_value (truth, i) > 0.5f;

      np += p;
      nt += t;
      both += p && t;
    }
  g_assert_cmpuint (nt, >, 0);
  return 2.0 * both / (double) (np + nt);
}

static int
registry_default (NsGuiApp *app, char **path)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *data = ns_gui_app_dup_data_dir (app);
  g_autofree char *db = g_build_filename (data, "neuroseg.db", NULL);
  int version = NS_REGISTRY_NONE;
  char *p = ns_registry_dup_default_model (db, &version, NULL, &error);

  g_assert_no_error (error);
  if (path != NULL)
    *path = p;
  else
    g_free (p);
  return version;
}

/* The one folder under the corrections folder (owned). */
static char *
correction_folder (NsGuiApp *app)
{
  g_autofree char *data = ns_gui_app_dup_data_dir (app);
  g_autofree char *corrections = g_build_filename (data, "corrections", NULL);
  g_autoptr (GDir) dir = g_dir_open (corrections, 0, NULL);
  const char *name;

  g_assert_nonnull (dir);
  name = g_dir_read_name (dir);
  g_assert_nonnull (name);
  g_assert_null (g_dir_read_name (dir));
  return g_build_filename (corrections, name, NULL);
}

/* Ctrl+R on a case with labels: the question, Replace, the prediction. */
static void
run_model (NsGuiApp *app)
{
  ns_gui_key (app, MAIN_WINDOW, "ctrl+r");
  g_assert_true (ns_gui_wait (app, ns_gui_window_shown, "Run Model", 60));
  ns_gui_key (app, "Run Model", "alt+r");
  g_assert_true (ns_gui_wait (app, predicted, NULL, 900));
}

static void
test_loop (void)
{
  g_autofree char *truth = g_build_filename (ns_gui_installed_data_dir (), "samples", CASE_ID,
                                             CASE_ID "_seg.nii.gz", NULL);
  /* the installed program's shipped model (this test program would find the build's) */
  g_autofree char *shipped = g_build_filename (ns_gui_installed_data_dir (), "models",
                                               "default.safetensors", NULL);
  NsGuiApp *app = ns_gui_app_start (NULL, NULL);
  g_autofree char *home = g_strdup (ns_gui_app_get_home (app));
  g_autoptr (JsonObject) status = NULL;
  g_autofree char *folder = NULL;
  g_autofree char *prediction = NULL;
  g_autofree char *v1_path = NULL;
  gint64 labelled;
  double dice;

  /* open: the bundled case; the default is the shipped model, v0 */
  g_assert_true (ns_gui_wait (app, ns_gui_case_open, NULL, 180));
  g_assert_cmpint (registry_default (app, NULL), ==, NS_REGISTRY_SHIPPED);
  shot (app, "01-opened");

  /* Run Model (Ctrl+R, Replace), with the default */
  run_model (app);
  status = ns_gui_status (app);
  assert_model (status, shipped);
  g_assert_cmpint (json_object_get_int_member (wb_of (status), "mask_nonzero"), >, 0);
  shot (app, "02-predicted");

  /* Undo: the case's own labels */
  ns_gui_key (app, MAIN_WINDOW, "ctrl+z");
  g_assert_true (ns_gui_wait (app, back_to_case_labels, NULL, 60));
  g_clear_pointer (&status, json_object_unref);
  status = ns_gui_status (app);
  labelled = json_object_get_int_member (wb_of (status), "mask_nonzero");

  /* a brush stroke (B, a drag) across the axial view */
  ns_gui_point_at (app, MAIN_WINDOW, "axial-view", 0.5, 0.5);
  ns_gui_key (app, NULL, "b");
  /* inside the brain, away from the tumour: new labelled voxels */
  ns_gui_point_at (app, MAIN_WINDOW, "axial-view", 0.40, 0.42);
  ns_gui_button (app, TRUE);
  ns_gui_point_at (app, MAIN_WINDOW, "axial-view", 0.44, 0.44);
  ns_gui_point_at (app, MAIN_WINDOW, "axial-view", 0.48, 0.46);
  ns_gui_button (app, FALSE);
  g_assert_true (ns_gui_wait (app, modified, NULL, 30));
  g_clear_pointer (&status, json_object_unref);
  status = ns_gui_status (app);
  g_assert_cmpint (json_object_get_int_member (wb_of (status), "mask_nonzero"), >, labelled);
  shot (app, "03-painted");

  /* Mark Corrected and Queue (Alt+S Q): into the user's data folder, with the prediction
   * it was corrected from; that prediction is the model's, WT Dice >= 0.80 */
  ns_gui_key (app, MAIN_WINDOW, "alt+s q");
  g_assert_true (ns_gui_wait (app, ns_gui_window_shown, "Fine-tuning Queue", 60));
  folder = correction_folder (app);
  prediction = g_build_filename (folder, CASE_ID "_mask_prediction.nii.gz", NULL);
  dice = wt_dice (prediction, truth);
  g_test_message ("v0 on the bundled case: WT Dice %.3f", dice);
  g_assert_cmpfloat (dice, >=, 0.80);

  /* Training > Fine-tune… (Alt+T F): no validation case, the dialog says so; one epoch of
   * two small steps from the default */
  ns_gui_key (app, MAIN_WINDOW, "alt+t f");
  g_assert_true (ns_gui_wait (app, ns_gui_window_shown, "Fine-tune", 30));
  {
    const char *note[] = { "Fine-tune", "val-note", "No validation cases" };

    g_assert_true (ns_gui_wait (app, label_starts, note, 30));
  }
  ns_gui_key (app, "Fine-tune", "alt+e ctrl+a");
  ns_gui_type (app, "1");
  ns_gui_key (app, "Fine-tune", "alt+o");
  ns_gui_type (app, "--steps-per-epoch 2 --crop 64 --batch 1");
  shot (app, "04-fine-tune");
  ns_gui_key (app, "Fine-tune", "alt+s");
  g_assert_true (ns_gui_wait (app, ns_gui_window_shown, "Fine-tuning", 30));
  {
    const char *done[] = { "Fine-tuning", "train-status", "Finished: model version 1" };

    g_assert_true (ns_gui_wait (app, label_starts, done, 600));
  }
  g_clear_pointer (&status, json_object_unref);
  status = ns_gui_status (app);
  g_test_message ("%s", label_text (status, "Fine-tuning", "train-status"));
  g_assert_nonnull (strstr (label_text (status, "Fine-tuning", "train-status"),
                            "no validation cases"));
  shot (app, "05-fine-tuned");

  /* Training > Models… (Alt+T M): v1 selected, Promote… refused for want of figures */
  ns_gui_key (app, MAIN_WINDOW, "alt+t m");
  g_assert_true (ns_gui_wait (app, ns_gui_window_shown, "Models", 30));
  ns_gui_point_at (app, "Models", "model-row-v1", 0.5, 0.5);
  ns_gui_click (app);
  {
    const char *gate[] = { "Models", "model-gate", "Promotion refused" };

    g_assert_true (ns_gui_wait (app, label_starts, gate, 30));
  }
  shot (app, "06-models");
  ns_gui_key (app, "Models", "alt+p");
  g_assert_true (ns_gui_wait (app, ns_gui_window_shown, "Promote v1?", 30));
  g_clear_pointer (&status, json_object_unref);
  status = ns_gui_status (app);
  g_assert_nonnull (strstr (label_text (status, "Promote v1?", "promote-verdict"),
                            "has no validation figures"));
  shot (app, "07-refused");
  /* Enter is Cancel: nothing promoted */
  ns_gui_key (app, "Promote v1?", "Return");
  g_assert_true (ns_gui_wait (app, ns_gui_window_gone, "Promote v1?", 30));
  g_assert_cmpint (registry_default (app, NULL), ==, NS_REGISTRY_SHIPPED);
  /* Promote Anyway (Alt+A): v1 is the default, recorded */
  ns_gui_key (app, "Models", "alt+p");
  g_assert_true (ns_gui_wait (app, ns_gui_window_shown, "Promote v1?", 30));
  ns_gui_key (app, "Promote v1?", "alt+a");
  g_assert_true (ns_gui_wait (app, ns_gui_window_gone, "Promote v1?", 30));
  g_assert_cmpint (registry_default (app, &v1_path), ==, 1);

  /* v0 selected, Roll Back (Alt+R): the shipped model again */
  ns_gui_point_at (app, "Models", "model-row-v0", 0.5, 0.5);
  ns_gui_click (app);
  ns_gui_key (app, "Models", "alt+r");
  {
    const char *msg[] = { "Models", "model-card", "Version 0 (shipped with Neuroseg, read-only), "
                                                  "the default" };

    g_assert_true (ns_gui_wait (app, label_starts, msg, 30));
  }
  g_assert_cmpint (registry_default (app, NULL), ==, NS_REGISTRY_SHIPPED);
  shot (app, "08-rolled-back");
  ns_gui_key (app, "Models", "Escape");
  g_assert_true (ns_gui_wait (app, ns_gui_window_gone, "Models", 30));

  /* quit, restart in the same folder: Run Model uses v0 */
  ns_gui_key (app, MAIN_WINDOW, "ctrl+q");
  g_assert_cmpint (ns_gui_app_wait_exit (app, 60), ==, 0);
  ns_gui_app_free (app);
  app = ns_gui_app_start (home, NULL);
  g_assert_true (ns_gui_wait (app, ns_gui_case_open, NULL, 180));
  run_model (app);
  g_clear_pointer (&status, json_object_unref);
  status = ns_gui_status (app);
  assert_model (status, shipped);
  g_assert_cmpstr (wb_string (status, "model"), !=, v1_path);
  shot (app, "09-after-restart");
  ns_gui_app_free (app);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/e2e/input/ai-loop", test_loop);
  return g_test_run ();
}
