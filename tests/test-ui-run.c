/* SPDX-License-Identifier: MIT
 *
 * test-ui-run.c: what Run Model tells the person in the workbench window, on a small
 * synthetic case (FLAIR and T1c only) with random models:
 *
 *   - issue #13, "backend ops have no error channel": a device whose ops fail (the ref
 *     backend with NS_TEST_REF_FAIL_AT, net/README.md) hands the case to the CPU; the
 *     window shows the inference engine's own note (stats.note: "ref failed: <reason>,
 *     finishing on the CPU") in an infobar, not a sentence of its own;
 *   - issue #14, a model's inputs: when the default model needs sequences the case lacks
 *     (FLAIR, T1c, T1, T2 against FLAIR + T1c), Run Model runs the newest registered model
 *     the case can feed and says so; a model chosen by hand that the case cannot feed is
 *     refused naming exactly the missing sequences.
 *
 * Runs under xvfb-run with NEUROSEG_DATA_DIR (the registry) in a temporary folder.
 */
#include "ns-config.h"

#include <gtk/gtk.h>
#include <math.h>
#include <string.h>

#include "ns-backend.h"
#include "ns-checkpoint.h"
#include "ns-db.h"
#include "ns-nifti.h"
#include "ns-registry.h"
#include "ns-test-util.h"
#include "ns-test-widget.h"
#include "ns-test-window.h"
#include "ns-window.h"

static NsWindow *window;
static char *model2;             /* FLAIR, T1c */
static char *model4;             /* FLAIR, T1c, T1, T2 */

static NsModelRunner *
runner (void)
{
  return ns_ai_controller_get_runner (ns_window_get_ai_controller (window));
}

static gboolean
run_over (gpointer data)
{
  return !ns_model_runner_is_running (runner ());
}

/* A 64 x 48 x 8 case with FLAIR and T1c only, an elliptic "brain" on slices 1..6. */
static char *
make_case (const char *name)
{
  g_autoptr (GError) error = NULL;
  char *dir = g_build_filename (ns_test_tmpdir (), name, NULL);
  NsGrid grid;
  const int nz = 8;

  g_assert_cmpint (g_mkdir_with_parents (dir, 0755), ==, 0);
  ns_grid_init (&grid, 64, 48, nz, 1.0, 1.0, 2.0);
  for (int c = 0; c < 2; c++)
    {
      g_autoptr (NsVolume) v = ns_volume_new (&grid, &error);
      g_autofree char *file = g_strdup_printf ("%s_%s.nii.gz", name, c == 0 ? "flair" : "t1ce");
      g_autofree char *path = g_build_filename (dir, file, NULL);

      g_assert_no_error (error);
      for (int k = 1; k < nz - 1; k++)
        for (int j = 8; j < 40; j++)
          for (int i = 10; i < 52; i++)
            {
              double dx = (i - 31) / 21.0, dy = (j - 24) / 16.0;
              if (dx * dx + dy * dy <= 1.0)
                v->voxels[ns_grid_index (&grid, i, j, k)] =
                  (float) (200 + 50 * sin (i * 0.3 + c) + 40 * cos (j * 0.2 * k));
            }
      g_assert_true (ns_nifti_write_volume (v, path, &error));
    }
  return dir;
}

/* A random mobilenetv2-unet taking modalities (NULL-terminated), saved as name. */
static char *
write_model (const char *name, const char *const *modalities, guint64 seed)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (NsBackend) be = ns_backend_new ("ref", &error);
  g_autoptr (NsModelMeta) meta = ns_model_meta_new_default ("mobilenetv2-unet");
  NsModelInit init = { NS_INIT_KAIMING, 0, seed };
  char *path = g_build_filename (ns_test_tmpdir (), name, NULL);

  g_assert_no_error (error);
  g_strfreev (meta->modalities);
  meta->modalities = g_strdupv ((char **) modalities);
  {
    g_autoptr (NsModel) m = ns_model_new (be, meta, &init, &error);
    g_assert_no_error (error);
    g_assert_true (ns_checkpoint_save (m, path, NS_DTYPE_F32, &error));
    g_assert_no_error (error);
  }
  return path;
}

/* A message dialog shown now whose text holds needle (NULL: none). */
static GtkWindow *
find_message (const char *needle)
{
  GListModel *toplevels = gtk_window_get_toplevels ();

  for (guint i = 0; i < g_list_model_get_n_items (toplevels); i++)
    {
      g_autoptr (GtkWindow) w = g_list_model_get_item (toplevels, i);
      g_autofree char *text = NULL;
      g_autofree char *secondary = NULL;

      if (!GTK_IS_MESSAGE_DIALOG (w))
        continue;
      g_object_get (w, "text", &text, "secondary-text", &secondary, NULL);
      if (strstr (text, needle) != NULL || (secondary != NULL && strstr (secondary, needle)))
        return w;
    }
  return NULL;
}

static void
close_messages (void)
{
  GtkWindow *w;

  while ((w = find_message ("")) != NULL)
    gtk_window_destroy (w);
}

static GtkWidget *
note_bar (void)
{
  GtkWidget *bar = ns_test_find_named (GTK_WIDGET (window), "run-note-infobar");

  g_assert_nonnull (bar);
  return bar;
}

static const char *
note_text (void)
{
  GtkWidget *label = ns_test_find_named (note_bar (), "run-note-message");

  g_assert_nonnull (label);
  return gtk_label_get_text (GTK_LABEL (label));
}

/* Runs the model as Run Model > Replace does (no question about the mask in the way). */
static void
run_model (void)
{
  g_autoptr (GError) error = NULL;

  g_assert_true (ns_model_runner_start (runner (), NS_RUN_MODEL_REPLACE, FALSE, &error));
  g_assert_no_error (error);
  g_assert_true (ns_test_wait_until (run_over, NULL, 240));
  ns_test_drain ();
}

/* #13: an op of the device fails; the run finishes on the CPU and the window shows the
 * engine's note, which names the device and the reason. */
static void
test_device_note (void)
{
#if !NS_HAVE_ONEDNN
  g_test_skip ("no oneDNN: the CPU fallback would be the failing ref backend itself");
#else
  ns_model_runner_set_model (runner (), model2, NS_REGISTRY_NONE);
  ns_model_runner_set_device (runner (), "ref");
  g_setenv ("NS_TEST_REF_FAIL_AT", "5", TRUE);
  run_model ();
  g_unsetenv ("NS_TEST_REF_FAIL_AT");
  ns_model_runner_set_device (runner (), "cpu");
  g_assert_nonnull (ns_model_runner_get_prediction (runner ()));

  g_assert_true (gtk_widget_get_visible (note_bar ()));
  g_test_message ("note: %s", note_text ());
  g_assert_true (g_str_has_prefix (note_text (), "Run Model: ref failed: "));
  g_assert_nonnull (strstr (note_text (), "injected by NS_TEST_REF_FAIL_AT"));
  g_assert_nonnull (strstr (note_text (), ", finishing on the CPU."));
  g_assert_null (strstr (note_text (), "out of memory"));
  close_messages ();

  /* the next run that needs no note clears it */
  run_model ();
  g_assert_false (gtk_widget_get_visible (note_bar ()));
  close_messages ();
#endif
}

/* "finished": keeps the message of a failed run in *data. */
static void
keep_message (NsModelRunner *r, gboolean ok, const char *message, gpointer data)
{
  char **kept = data;

  g_assert_false (ok);
  g_free (*kept);
  *kept = g_strdup (message);
}

/* #14: the default model needs T1 and T2 as well; the case has FLAIR and T1c. */
static void
test_model_inputs (void)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *by_hand = g_build_filename (ns_test_tmpdir (), "by-hand.safetensors", NULL);
  int v4, v2;

  {
    g_autoptr (NsDb) db = ns_db_open (NULL, &error);
    NsRegistryModelInfo info4 = { .path = model4, .parent = NS_REGISTRY_NONE };
    NsRegistryModelInfo info2 = { .path = model2, .parent = NS_REGISTRY_NONE };

    g_assert_no_error (error);
    v4 = ns_registry_register_model (db, &info4, &error);
    g_assert_no_error (error);
    v2 = ns_registry_register_model (db, &info2, &error);
    g_assert_no_error (error);
    g_assert_true (ns_registry_promote (db, v4, TRUE, "test", &error));
    g_assert_no_error (error);
  }
  /* the window follows the default */
  ns_model_runner_set_model (runner (), model4, v4);
  run_model ();
  g_assert_nonnull (ns_model_runner_get_prediction (runner ()));
  g_assert_true (gtk_widget_get_visible (note_bar ()));
  g_test_message ("note: %s", note_text ());
  {
    g_autofree char *used = g_strdup_printf ("Run Model used model version %d (", v2);
    g_assert_true (g_str_has_prefix (note_text (), used));
  }
  g_assert_nonnull (strstr (note_text (), "which takes FLAIR and T1c"));
  g_assert_nonnull (strstr (note_text (), "this case has no T1 and T2 (it has FLAIR and T1c)"));
  /* the choice stays the default: the next case may have all four */
  g_assert_cmpstr (ns_model_runner_get_model_path (runner ()), ==, model4);
  close_messages ();

  /* chosen by hand: not replaced, refused naming what is missing */
  {
    g_autofree char *contents = NULL;
    gsize length;

    g_assert_true (g_file_get_contents (model4, &contents, &length, NULL));
    g_assert_true (g_file_set_contents (by_hand, contents, length, NULL));
  }
  ns_model_runner_set_model (runner (), by_hand, NS_REGISTRY_NONE);
  g_assert_false (ns_model_runner_check (runner (), &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND);
  g_test_message ("%s", error->message);
  g_assert_nonnull (strstr (error->message, "The model by-hand.safetensors needs "));
  g_assert_nonnull (strstr (error->message, "this case has no T1 and T2 (it has FLAIR and T1c)"));
  g_clear_error (&error);
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (window), "seg.run-model", NULL));
  g_assert_false (ns_model_runner_is_running (runner ()));
  g_assert_nonnull (find_message ("this case has no T1 and T2"));
  close_messages ();

  /* started anyway (not through the action): the run fails with the same sentence */
  {
    g_autofree char *message = NULL;
    gulong id = g_signal_connect (runner (), "finished", G_CALLBACK (keep_message), &message);

    g_assert_true (ns_model_runner_start (runner (), NS_RUN_MODEL_REPLACE, FALSE, &error));
    g_assert_no_error (error);
    g_assert_true (ns_test_wait_until (run_over, NULL, 60));
    ns_test_drain ();
    g_signal_handler_disconnect (runner (), id);
    g_assert_nonnull (message);
    g_assert_nonnull (strstr (message, "this case has no T1 and T2"));
    close_messages ();
  }
}

int
main (int argc, char **argv)
{
  static const char *const two[] = { "flair", "t1c", NULL };
  static const char *const four[] = { "flair", "t1c", "t1", "t2", NULL };
  g_autofree char *data_dir = NULL;
  g_autofree char *case_dir = NULL;
  int status;

  g_setenv ("GTK_A11Y", "none", TRUE);
  g_setenv ("XDG_CONFIG_HOME", ns_test_tmpdir (), TRUE);
  data_dir = g_build_filename (ns_test_tmpdir (), "data", NULL);
  g_setenv ("NEUROSEG_DATA_DIR", data_dir, TRUE);
  g_test_init (&argc, &argv, NULL);
  gtk_init ();

  model2 = write_model ("flair-t1c.safetensors", two, 5);
  model4 = write_model ("four.safetensors", four, 6);
  case_dir = make_case ("Run_1");
  window = ns_window_new (NULL);
  gtk_window_set_default_size (GTK_WINDOW (window), 1400, 820);
  gtk_window_present (GTK_WINDOW (window));
  {
    const char *paths[] = { case_dir, NULL };

    ns_window_open (window, paths);
    g_assert_true (ns_test_wait_until (ns_test_window_idle, window, 120));
    g_assert_null (ns_window_get_load_error (window));
  }
  ns_model_runner_set_device (runner (), "cpu");

  g_test_add_func ("/ui/run/device-note", test_device_note);
  g_test_add_func ("/ui/run/model-inputs", test_model_inputs);
  status = g_test_run ();

  gtk_window_destroy (GTK_WINDOW (window));
  g_free (model2);
  g_free (model4);
  return status;
}
