/* SPDX-License-Identifier: MIT
 *
 * test-ui-train.c: Training > Fine-tune… (ui/ns-fine-tune-dialog.h) and the validation at
 * the end of a run (ui/ns-train-validation.h), with the real trainer ($NEUROSEG) on small
 * synthetic cases:
 *
 *   /ui/train/base                 the base is the current default (v0, then a promoted
 *                                  v1); "From scratch" is an explicit last choice whose
 *                                  request has no base (NS_REGISTRY_NONE, not v0)
 *   /ui/train/validation-note      no validation cases: the dialog says so; a case added:
 *                                  it says both models will be validated on it
 *   /ui/train/validates-both       after one step, the new version and the current default
 *                                  have figures on the same validation case, so the gate
 *                                  compares them
 *   /ui/train/no-validation        without validation cases the run's record (the model's
 *                                  metrics) and the panel say so, and the gate refuses
 *                                  the model for having no figures
 *   /ui/train/registered-elsewhere another workbench following the same run registered
 *                                  its model first: the panel says finished, with that
 *                                  version, not failed
 */
#define G_LOG_DOMAIN "test-ui-train"

#include "ns-config.h"

#include <gtk/gtk.h>
#include <math.h>
#include <string.h>

#include "ns-data-error.h"
#include "ns-fine-tune-dialog.h"
#include "ns-paths.h"
#include "ns-queue.h"
#include "ns-registry.h"
#include "ns-runs.h"
#include "ns-test-net.h"
#include "ns-test-util.h"
#include "ns-test-widget.h"
#include "ns-train-panel.h"

/* A fresh database beside its own validation list, with one queued synthetic case. */
static char *
make_db (const char *name)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *dir = g_build_filename (ns_test_tmpdir (), name, NULL);
  g_autofree char *case_id = g_strdup_printf ("%s_Queued", name);
  g_autofree char *case_dir = ns_test_write_case (case_id, 40, 40, 4, TRUE);
  g_autofree char *seg_name = g_strdup_printf ("%s_seg.nii.gz", case_id);
  g_autofree char *seg = g_build_filename (case_dir, seg_name, NULL);
  char *db;

  g_assert_cmpint (g_mkdir_with_parents (dir, 0755), ==, 0);
  db = g_build_filename (dir, "neuroseg.db", NULL);
  {
    g_autoptr (NsDb) q = ns_db_open (db, &error);
    NsQueueAnnotation a = { .mask_path = seg, .uncertainty = NAN };

    g_assert_no_error (error);
    g_assert_cmpint (ns_queue_add (q, case_dir, &a, &error), >, 0);
    g_assert_no_error (error);
  }
  return db;
}

/* The dialog's base drop-down (its names, its selection). */
static GtkDropDown *
base_drop (NsFineTuneDialog *dialog)
{
  GtkWidget *w = ns_test_find_named (GTK_WIDGET (dialog), "base-drop");

  g_assert_nonnull (w);
  return GTK_DROP_DOWN (w);
}

/* ---- base ---------------------------------------------------------------------------------- */

static void
test_base (void)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *db = make_db ("base");
  g_autofree char *shipped = ns_paths_dup_shipped_model (&error);
  g_autofree char *v1_path = ns_test_write_random_model ("base-v1.safetensors", 71);
  NsFineTuneDialog *dialog;
  NsTrainRequest r = { 0 };
  GListModel *names;
  guint n;

  g_assert_no_error (error);
  dialog = ns_fine_tune_dialog_new (NULL, db);
  g_assert_true (ns_fine_tune_dialog_get_request (dialog, &r, &error));
  g_assert_cmpstr (r.base_model, ==, shipped);
  g_assert_cmpint (r.base_version, ==, NS_REGISTRY_SHIPPED);
  ns_train_request_clear (&r);

  /* From scratch: the last entry, chosen explicitly; no base, not "version 0" */
  names = gtk_drop_down_get_model (base_drop (dialog));
  n = g_list_model_get_n_items (names);
  g_assert_cmpuint (n, ==, 2);
  g_assert_true (g_str_has_prefix (gtk_string_list_get_string (GTK_STRING_LIST (names), n - 1),
                                   "From scratch"));
  g_assert_nonnull (strstr (gtk_string_list_get_string (GTK_STRING_LIST (names), 0),
                            "v0 (default)"));
  gtk_drop_down_set_selected (base_drop (dialog), n - 1);
  g_assert_true (ns_fine_tune_dialog_get_request (dialog, &r, &error));
  g_assert_null (r.base_model);
  g_assert_cmpint (r.base_version, ==, NS_REGISTRY_NONE);
  ns_train_request_clear (&r);
  gtk_window_destroy (GTK_WINDOW (dialog));

  /* a promoted v1: the next dialog's base */
  {
    g_autoptr (NsDb) q = ns_db_open (db, &error);
    NsRegistryModelInfo info = { .path = v1_path, .parent = NS_REGISTRY_SHIPPED };

    g_assert_cmpint (ns_registry_register_model (q, &info, &error), ==, 1);
    g_assert_true (ns_registry_promote (q, 1, TRUE, NULL, &error));
    g_assert_no_error (error);
  }
  dialog = ns_fine_tune_dialog_new (NULL, db);
  g_assert_true (ns_fine_tune_dialog_get_request (dialog, &r, &error));
  g_assert_cmpint (r.base_version, ==, 1);
  g_assert_cmpstr (r.base_model, ==, v1_path);
  ns_train_request_clear (&r);
  gtk_window_destroy (GTK_WINDOW (dialog));
}

/* ---- validation-note ------------------------------------------------------------------------ */

static void
test_validation_note (void)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *db = make_db ("note");
  g_autofree char *val = ns_test_write_case ("Note_Val", 40, 40, 4, TRUE);
  NsFineTuneDialog *dialog = ns_fine_tune_dialog_new (NULL, db);
  g_autofree char *empty = ns_fine_tune_dialog_dup_validation_note (dialog);
  g_autofree char *one = NULL;
  NsTrainRequest r = { 0 };

  g_assert_true (g_str_has_prefix (empty, "No validation cases"));
  g_assert_nonnull (strstr (empty, "Promote Anyway"));
  ns_fine_tune_dialog_add_validation_case (dialog, val);
  ns_fine_tune_dialog_add_validation_case (dialog, val);   /* once only */
  one = ns_fine_tune_dialog_dup_validation_note (dialog);
  g_assert_nonnull (strstr (one, "the new model and the current default are both validated "
                                 "on 1 case"));
  g_assert_true (ns_fine_tune_dialog_get_request (dialog, &r, &error));
  g_assert_cmpstr (r.val_cases[0], ==, val);
  g_assert_null (r.val_cases[1]);
  ns_train_request_clear (&r);
  gtk_window_destroy (GTK_WINDOW (dialog));
}

/* ---- a run ---------------------------------------------------------------------------------- */

/* Starts one training step from the dialog's request (the default as base) on the
 * queued case. */
static NsTrainPanel *
start_one_step (const char *db, const char *val)
{
  g_autoptr (GError) error = NULL;
  NsFineTuneDialog *dialog = ns_fine_tune_dialog_new (NULL, db);
  NsTrainRequest r = { 0 };
  NsTrainPanel *panel;
  const char *extra[] = { "--crop", "32", "--batch", "1", "--steps-per-epoch", "1",
                          "--max-steps", "1", NULL };

  if (val != NULL)
    ns_fine_tune_dialog_add_validation_case (dialog, val);
  g_assert_true (ns_fine_tune_dialog_get_request (dialog, &r, &error));
  gtk_window_destroy (GTK_WINDOW (dialog));
  g_free (r.device);
  r.device = g_strdup ("cpu");
  r.epochs = 1;
  r.extra_args = g_strdupv ((char **) extra);
  panel = NS_TRAIN_PANEL (g_object_ref_sink (ns_train_panel_new (db)));
  g_assert_true (ns_train_panel_start (panel, &r, &error));
  g_assert_no_error (error);
  ns_train_request_clear (&r);
  return panel;
}

/* One training step (start_one_step ()), run to its successful end. */
static NsTrainPanel *
run_one_step (const char *db, const char *val)
{
  NsTrainPanel *panel = start_one_step (db, val);
  gint64 end = g_get_monotonic_time () + 600 * G_USEC_PER_SEC;

  while (ns_train_panel_get_state (panel) == NS_TRAIN_RUNNING)
    {
      g_main_context_iteration (NULL, TRUE);
      g_assert_cmpint (g_get_monotonic_time (), <, end);
    }
  if (ns_train_panel_get_state (panel) != NS_TRAIN_SUCCEEDED)
    g_error ("the run failed: %s", ns_train_panel_get_message (panel));
  g_test_message ("%s", ns_train_panel_get_message (panel));
  return panel;
}

static void
test_validates_both (void)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *db = make_db ("both");
  g_autofree char *val = ns_test_write_case ("Both_Val", 40, 40, 4, TRUE);
  g_autoptr (NsTrainPanel) panel = run_one_step (db, val);
  int v = ns_train_panel_get_new_version (panel);
  g_autoptr (NsDb) q = ns_db_open (db, &error);
  g_autoptr (GPtrArray) mine = ns_registry_list_validations (q, v, &error);
  g_autoptr (GPtrArray) theirs = ns_registry_list_validations (q, NS_REGISTRY_SHIPPED, &error);
  g_autoptr (NsRegistryComparison) c = NULL;

  g_assert_no_error (error);
  g_assert_cmpint (v, ==, 1);
  g_assert_cmpuint (mine->len, ==, 1);
  g_assert_cmpuint (theirs->len, ==, 1);
  g_assert_cmpstr (((NsRegistryValidation *) mine->pdata[0])->case_id, ==, "Both_Val");
  c = ns_registry_compare (q, v, &error);
  g_assert_no_error (error);
  g_assert_cmpint (c->current, ==, NS_REGISTRY_SHIPPED);
  g_assert_cmpuint (c->n_common, ==, 1);
  g_assert_cmpint (c->gate, !=, NS_REGISTRY_GATE_NO_FIGURES);
  g_assert_cmpint (c->gate, !=, NS_REGISTRY_GATE_NOT_COMPARABLE);
  g_assert_nonnull (strstr (ns_train_panel_get_message (panel), "v1 validated on 1 case"));
}

static void
test_no_validation (void)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *db = make_db ("none");
  g_autoptr (NsTrainPanel) panel = run_one_step (db, NULL);
  int v = ns_train_panel_get_new_version (panel);
  g_autoptr (NsDb) q = ns_db_open (db, &error);
  g_autoptr (NsRegistryModel) m = ns_registry_dup_model (q, v, &error);

  g_assert_no_error (error);
  g_assert_nonnull (strstr (ns_train_panel_get_message (panel), "no validation cases"));
  g_assert_nonnull (strstr (m->metrics, "\"validation\":\"none: no validation cases were "
                                        "chosen\""));
  g_assert_false (ns_registry_promote (q, v, FALSE, NULL, &error));
  g_assert_error (error, NS_DATA_ERROR, NS_DATA_ERROR_REFUSED);
}

/* Two workbenches following one run (a Slurm job both follow): the other one registers
 * the run's model first.  This panel then says the run finished with that version, by
 * the other workbench; it used to say the run failed ("training run N is succeeded and
 * cannot produce another model").  No second model is registered, the run stays
 * succeeded with the first's version. */
static void
test_registered_elsewhere (void)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *db = make_db ("elsewhere");
  g_autoptr (NsTrainPanel) panel = start_one_step (db, NULL);
  gint64 end = g_get_monotonic_time () + 600 * G_USEC_PER_SEC;

  /* the other workbench: the run's model registered while this one still trains */
  g_autoptr (NsDb) q = ns_db_open (db, &error);
  g_assert_no_error (error);
  g_autoptr (GPtrArray) runs = ns_runs_list (q, &error);
  g_assert_no_error (error);
  NsRun *run = runs->pdata[runs->len - 1];
  g_assert_cmpint (run->status, ==, NS_RUN_RUNNING);
  g_autofree char *other = ns_test_write_random_model ("elsewhere.safetensors", 4);
  NsRegistryModelInfo info = { .path = other, .arch = "mobilenetv2-unet",
                               .parent = NS_REGISTRY_SHIPPED, .metrics = "{}",
                               .run_id = run->id };
  int v = ns_registry_register_model (q, &info, &error);
  g_assert_no_error (error);
  g_assert_cmpint (v, >, 0);

  while (ns_train_panel_get_state (panel) == NS_TRAIN_RUNNING)
    {
      g_main_context_iteration (NULL, TRUE);
      g_assert_cmpint (g_get_monotonic_time (), <, end);
    }
  g_test_message ("%s", ns_train_panel_get_message (panel));
  g_assert_cmpint (ns_train_panel_get_state (panel), ==, NS_TRAIN_SUCCEEDED);
  g_assert_cmpint (ns_train_panel_get_new_version (panel), ==, v);
  g_assert_nonnull (strstr (ns_train_panel_get_message (panel), "another workbench"));
  g_autoptr (NsRun) after = ns_runs_dup_run (q, run->id, &error);
  g_assert_no_error (error);
  g_assert_cmpint (after->status, ==, NS_RUN_SUCCEEDED);
  g_assert_cmpint (after->model_version, ==, v);
  g_autoptr (GPtrArray) models = ns_registry_list_models (q, &error);
  g_assert_no_error (error);
  g_assert_cmpint (((NsRegistryModel *) models->pdata[models->len - 1])->version, ==, v);
}

int
main (int argc, char **argv)
{
  g_autofree char *xdg = NULL;

  /* no session bus, no accessibility bus: GTK's warnings about them are not this test's */
  g_setenv ("GTK_A11Y", "none", TRUE);
  g_setenv ("GSETTINGS_BACKEND", "memory", TRUE);
  xdg = g_build_filename (ns_test_tmpdir (), "xdg", NULL);
  g_setenv ("XDG_DATA_HOME", xdg, TRUE);
  g_setenv ("XDG_CACHE_HOME", xdg, TRUE);
  g_setenv ("XDG_STATE_HOME", xdg, TRUE);
  g_setenv ("NEUROSEG_DATA_DIR", xdg, TRUE);
  g_test_init (&argc, &argv, NULL);
  gtk_init ();
  if (g_getenv ("NEUROSEG") == NULL)
    {
      g_printerr ("test-ui-train: NEUROSEG (the neuroseg binary) is not set\n");
      return 1;
    }
  g_test_add_func ("/ui/train/base", test_base);
  g_test_add_func ("/ui/train/validation-note", test_validation_note);
  g_test_add_func ("/ui/train/validates-both", test_validates_both);
  g_test_add_func ("/ui/train/no-validation", test_no_validation);
  g_test_add_func ("/ui/train/registered-elsewhere", test_registered_elsewhere);
  return g_test_run ();
}
