/* SPDX-License-Identifier: MIT
 *
 * test-ui-train-slurm.c: Training > Fine-tune… > On a Slurm cluster, driven through the
 * dialog's own widgets against a real single-node Slurm cluster that this program starts
 * (tests/ns-test-slurm.h), with the real trainer ($NEUROSEG) on a small synthetic case:
 *
 *   /ui/train-slurm/unavailable   without sbatch on PATH the Slurm choice is greyed out and
 *                                 the dialog says why; the request runs locally
 *   /ui/train-slurm/remembered    the options of the last Slurm run are the next dialog's
 *                                 defaults; the request has them, one task per node
 *   /ui/train-slurm/run           a job submitted from the dialog is followed (its state,
 *                                 its progress file: steps reach the panel and the
 *                                 workbench's job text) to COMPLETED; the model in the job
 *                                 folder is registered exactly like a local run's (the
 *                                 same gate: no validation figures, not promotable); its
 *                                 run is recorded; its record is gone
 *   /ui/train-slurm/restart       the panel goes away while the job runs (the workbench
 *                                 closed): the record stays, a new panel follows it from it
 *                                 to the registered model; a second follow is refused
 *   /ui/train-slurm/cancel        Cancel = scancel: CANCELLED, said; the registry unchanged
 *   /ui/train-slurm/poll-without-thread
 *                                 no thread for a poll: the panel says so and asks again;
 *                                 threads back, the job is followed to its model
 *   /ui/train-slurm/closed-while-polling
 *                                 the window closed while a poll of the job runs: the
 *                                 panel goes when the poll's worker lets go, in the main
 *                                 thread
 *
 * The GUI test runs the real cluster, not a fake sbatch: a job of two training steps takes
 * seconds here, so the dialog, the panel and Slurm are tested together.
 */
#define G_LOG_DOMAIN "test-ui-train-slurm"

#include <gtk/gtk.h>
#include <math.h>
#include <string.h>

#include "ns-data-error.h"
#include "ns-fine-tune-dialog.h"
#include "ns-queue.h"
#include "ns-registry.h"
#include "ns-runs.h"
#include "ns-settings.h"
#include "ns-slurm.h"
#include "ns-task.h"
#include "ns-test-slurm.h"
#include "ns-test-util.h"
#include "ns-test-widget.h"
#include "ns-train-panel.h"

/* A fresh database with one queued synthetic case. */
static char *
make_db (const char *name)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *dir = g_build_filename (ns_test_tmpdir (), name, NULL);
  g_autofree char *case_id = g_strdup_printf ("%s_Queued", name);
  g_autofree char *case_dir = ns_test_write_case (case_id, 40, 40, 4, TRUE);
  g_autofree char *seg_name = g_strdup_printf ("%s_seg.nii.gz", case_id);
  g_autofree char *seg = g_build_filename (case_dir, seg_name, NULL);
  g_autoptr (NsDb) q = NULL;
  NsQueueAnnotation a = { .mask_path = seg, .uncertainty = NAN };
  char *db;

  g_assert_cmpint (g_mkdir_with_parents (dir, 0755), ==, 0);
  db = g_build_filename (dir, "neuroseg.db", NULL);
  q = ns_db_open (db, &error);
  g_assert_no_error (error);
  g_assert_cmpint (ns_queue_add (q, case_dir, &a, &error), >, 0);
  g_assert_no_error (error);
  return db;
}

static GtkWidget *
find (NsFineTuneDialog *dialog, const char *name)
{
  GtkWidget *w = ns_test_find_named (GTK_WIDGET (dialog), name);

  g_assert_nonnull (w);
  return w;
}

/* The dialog set as a person would: Slurm, the job folder, cpu, one epoch, a tiny run. */
static NsFineTuneDialog *
slurm_dialog (const char *db, const char *folder, const char *max_steps)
{
  NsFineTuneDialog *dialog = ns_fine_tune_dialog_new (NULL, db);
  g_autofree char *extra = g_strdup_printf ("--crop 32 --batch 1 --steps-per-epoch 1 "
                                            "--max-steps %s", max_steps);
  GtkWidget *slurm = find (dialog, "run-slurm");

  g_assert_true (gtk_widget_get_sensitive (slurm));
  gtk_check_button_set_active (GTK_CHECK_BUTTON (slurm), TRUE);
  g_assert_true (gtk_widget_get_sensitive (find (dialog, "slurm-grid")));
  gtk_editable_set_text (GTK_EDITABLE (find (dialog, "slurm-partition")),
                         NS_TEST_SLURM_PARTITION);
  gtk_spin_button_set_value (GTK_SPIN_BUTTON (find (dialog, "slurm-nodes")), 1);
  gtk_spin_button_set_value (GTK_SPIN_BUTTON (find (dialog, "slurm-gpus")), 0);
  gtk_editable_set_text (GTK_EDITABLE (find (dialog, "slurm-folder")), folder);
  gtk_editable_set_text (GTK_EDITABLE (find (dialog, "extra-entry")), extra);
  gtk_spin_button_set_value (GTK_SPIN_BUTTON (find (dialog, "epochs-spin")), 2);
  return dialog;
}

/* Starts the dialog's request with the device cpu; the panel of the window it opens. */
static NsTrainPanel *
start (NsFineTuneDialog *dialog, GtkWindow **window_out)
{
  g_autoptr (GError) error = NULL;
  GtkWindow *win;
  GtkDropDown *device = GTK_DROP_DOWN (find (dialog, "device-drop"));

  gtk_drop_down_set_selected (device, 1);
  win = ns_fine_tune_dialog_start (dialog, &error);
  g_assert_no_error (error);
  g_assert_nonnull (win);
  if (window_out != NULL)
    *window_out = win;
  return NS_TRAIN_PANEL (gtk_window_get_child (win));
}

static void
wait_end (NsTrainPanel *panel, gboolean *saw_step, char **saw_text)
{
  gint64 end = g_get_monotonic_time () + 300 * G_USEC_PER_SEC;

  while (ns_train_panel_get_state (panel) == NS_TRAIN_RUNNING)
    {
      g_autofree char *text = ns_train_panel_dup_progress_text (panel);

      if (saw_step != NULL && ns_train_panel_get_n_steps (panel) > 0)
        *saw_step = TRUE;
      if (saw_text != NULL && *saw_text == NULL && text != NULL)
        *saw_text = g_strdup (text);
      g_main_context_iteration (NULL, TRUE);
      if (g_get_monotonic_time () > end)
        g_error ("the Slurm run did not end within 300 s: %s",
                 ns_train_panel_get_status_text (panel));
    }
}

/* ---- unavailable ------------------------------------------------------------------------ */

static void
test_unavailable (void)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *db = make_db ("unavailable");
  g_autofree char *old_path = g_strdup (g_getenv ("PATH"));
  g_autofree char *empty = g_build_filename (ns_test_tmpdir (), "empty-bin", NULL);
  NsFineTuneDialog *dialog;
  NsTrainRequest r = { 0 };
  const char *note;

  g_assert_cmpint (g_mkdir_with_parents (empty, 0755), ==, 0);
  g_setenv ("PATH", empty, TRUE);
  dialog = ns_fine_tune_dialog_new (NULL, db);
  g_setenv ("PATH", old_path, TRUE);
  g_assert_false (gtk_widget_get_sensitive (find (dialog, "run-slurm")));
  g_assert_false (gtk_check_button_get_active (GTK_CHECK_BUTTON (find (dialog, "run-slurm"))));
  g_assert_true (gtk_check_button_get_active (GTK_CHECK_BUTTON (find (dialog, "run-local"))));
  g_assert_false (gtk_widget_get_sensitive (find (dialog, "slurm-grid")));
  note = gtk_label_get_text (GTK_LABEL (find (dialog, "slurm-note")));
  g_test_message ("%s", note);
  g_assert_nonnull (strstr (note, "sbatch is not installed"));
  g_assert_true (ns_fine_tune_dialog_get_request (dialog, &r, &error));
  g_assert_null (r.slurm);
  ns_train_request_clear (&r);
  gtk_window_destroy (GTK_WINDOW (dialog));
}

/* ---- layout ---------------------------------------------------------------------------- */

/* The choice "On this computer / On a Slurm cluster" sits beside its "Run" label in the
 * dialog's form (it once had no place in the grid and went to its top right corner, which
 * made the dialog ~1,560 px wide). */
static void
test_layout (void)
{
  g_autofree char *db = make_db ("layout");
  NsFineTuneDialog *dialog = ns_fine_tune_dialog_new (NULL, db);
  GtkWidget *choice = gtk_widget_get_parent (gtk_widget_get_parent (find (dialog, "run-local")));
  GtkWidget *grid = gtk_widget_get_parent (choice), *run_label = NULL;
  int column, row, label_column = -1, label_row = -1, width, height;

  g_assert_true (GTK_IS_GRID (grid));
  for (GtkWidget *c = gtk_widget_get_first_child (grid); c != NULL;
       c = gtk_widget_get_next_sibling (c))
    if (GTK_IS_LABEL (c) && g_strcmp0 (gtk_label_get_text (GTK_LABEL (c)), "Run") == 0)
      run_label = c;
  g_assert_nonnull (run_label);
  gtk_grid_query_child (GTK_GRID (grid), run_label, &label_column, &label_row, &width, &height);
  gtk_grid_query_child (GTK_GRID (grid), choice, &column, &row, &width, &height);
  g_assert_cmpint (row, ==, label_row);
  g_assert_cmpint (column, ==, label_column + 1);
  gtk_window_destroy (GTK_WINDOW (dialog));
}

/* ---- remembered ------------------------------------------------------------------------- */

static void
test_remembered (void)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *db = make_db ("remembered");
  NsFineTuneDialog *dialog;
  NsTrainRequest r = { 0 };

  g_assert_true (ns_settings_set_string ("slurm", "run-on", "slurm", &error));
  g_assert_true (ns_settings_set_string ("slurm", "partition", "gpu-a", &error));
  g_assert_true (ns_settings_set_string ("slurm", "nodes", "2", &error));
  g_assert_true (ns_settings_set_string ("slurm", "gpus-per-node", "4", &error));
  g_assert_true (ns_settings_set_string ("slurm", "time-limit-min", "45", &error));
  g_assert_true (ns_settings_set_string ("slurm", "folder", "/shared/jobs", &error));
  g_assert_no_error (error);
  dialog = ns_fine_tune_dialog_new (NULL, db);
  g_assert_true (gtk_check_button_get_active (GTK_CHECK_BUTTON (find (dialog, "run-slurm"))));
  g_assert_true (ns_fine_tune_dialog_get_request (dialog, &r, &error));
  g_assert_no_error (error);
  g_assert_nonnull (r.slurm);
  g_assert_cmpstr (r.slurm->partition, ==, "gpu-a");
  g_assert_cmpint (r.slurm->nodes, ==, 2);
  g_assert_cmpint (r.slurm->tasks_per_node, ==, 1);
  g_assert_cmpint (r.slurm->gpus_per_node, ==, 4);
  g_assert_cmpint (r.slurm->time_limit_min, ==, 45);
  g_assert_cmpstr (r.slurm->folder, ==, "/shared/jobs");
  ns_train_request_clear (&r);

  /* a relative job folder is refused, saying why */
  gtk_editable_set_text (GTK_EDITABLE (find (dialog, "slurm-folder")), "jobs");
  g_assert_false (ns_fine_tune_dialog_get_request (dialog, &r, &error));
  g_assert_nonnull (strstr (error->message, "not an absolute path"));
  gtk_window_destroy (GTK_WINDOW (dialog));
  /* back to this computer for the next tests' dialogs */
  g_assert_true (ns_settings_set_string ("slurm", "run-on", "local", NULL));
}

/* ---- run -------------------------------------------------------------------------------- */

static void
assert_registered (const char *db, NsTrainPanel *panel, const char *folder)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (NsDb) q = ns_db_open (db, &error);
  int v = ns_train_panel_get_new_version (panel);
  g_autoptr (NsRegistryModel) m = NULL;
  g_autoptr (GPtrArray) runs = NULL;
  g_auto (GStrv) records = ns_train_panel_dup_slurm_records (db);
  const NsRun *run;

  if (ns_train_panel_get_state (panel) != NS_TRAIN_SUCCEEDED)
    g_error ("the Slurm run failed: %s", ns_train_panel_get_message (panel));
  g_assert_no_error (error);
  g_assert_cmpint (v, >, 0);
  m = ns_registry_dup_model (q, v, &error);
  g_assert_no_error (error);
  g_assert_true (g_str_has_prefix (m->path, folder));
  g_assert_nonnull (strstr (m->metrics, "\"validation\":\"none: no validation cases"));
  /* the gate of a local run: no figures, not promotable without Promote Anyway */
  g_assert_false (ns_registry_promote (q, v, FALSE, NULL, &error));
  g_assert_error (error, NS_DATA_ERROR, NS_DATA_ERROR_REFUSED);
  g_clear_error (&error);
  runs = ns_runs_list (q, &error);
  g_assert_no_error (error);
  run = runs->pdata[runs->len - 1];
  g_assert_cmpint (run->status, ==, NS_RUN_SUCCEEDED);
  g_assert_cmpint (run->model_version, ==, v);
  g_assert_nonnull (strstr (run->command, "sbatch "));
  g_assert_cmpuint (run->cases->len, ==, 1);
  g_assert_cmpuint (g_strv_length (records), ==, 0);
}

static void
test_run (void)
{
  g_autofree char *db = make_db ("run");
  g_autofree char *folder = g_build_filename (ns_test_tmpdir (), "shared jobs 'a'", NULL);
  NsFineTuneDialog *dialog;
  NsTrainPanel *panel;
  GtkWindow *win = NULL;
  gboolean saw_step = FALSE;
  g_autofree char *saw_text = NULL;
  g_autofree char *script = NULL, *script_path = NULL;
  g_auto (GStrv) records = NULL;

  ns_test_slurm_start ();
  dialog = slurm_dialog (db, folder, "2");
  panel = start (dialog, &win);
  g_assert_cmpint (ns_train_panel_get_slurm_job_id (panel), >, 0);
  g_assert_true (g_str_has_prefix (ns_train_panel_get_slurm_folder (panel), folder));
  g_assert_nonnull (strstr (ns_train_panel_get_status_text (panel), "Slurm job"));
  records = ns_train_panel_dup_slurm_records (db);
  g_assert_cmpuint (g_strv_length (records), ==, 1);
  script_path = g_build_filename (ns_train_panel_get_slurm_folder (panel), "job.sh", NULL);
  g_assert_true (g_file_get_contents (script_path, &script, NULL, NULL));
  g_assert_nonnull (strstr (script, "#SBATCH --partition=" NS_TEST_SLURM_PARTITION "\n"));
  g_assert_nonnull (strstr (script, "#SBATCH --ntasks-per-node=1\n"));
  g_assert_null (strstr (script, "--gpus-per-node"));
  wait_end (panel, &saw_step, &saw_text);
  g_test_message ("first text: %s; end: %s", saw_text, ns_train_panel_get_message (panel));
  g_assert_nonnull (saw_text);
  g_assert_true (g_str_has_prefix (saw_text, "Slurm job ") || g_str_has_prefix (saw_text, "Step "));
  g_assert_cmpuint (ns_train_panel_get_n_steps (panel), ==, 2);
  assert_registered (db, panel, folder);
  gtk_window_destroy (win);
}

/* ---- restart ---------------------------------------------------------------------------- */

static void
test_restart (void)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *db = make_db ("restart");
  g_autofree char *folder = g_build_filename (ns_test_tmpdir (), "restart jobs", NULL);
  NsFineTuneDialog *dialog;
  NsTrainPanel *panel;
  GtkWindow *win = NULL;
  g_autoptr (GPtrArray) panels = NULL, again = NULL;
  g_auto (GStrv) records = NULL;
  gint64 id;

  ns_test_slurm_start ();
  dialog = slurm_dialog (db, folder, "2");
  panel = start (dialog, &win);
  id = ns_train_panel_get_slurm_job_id (panel);
  /* the workbench closes while the job waits or runs: the job goes on, recorded */
  gtk_window_destroy (win);
  records = ns_train_panel_dup_slurm_records (db);
  g_assert_cmpuint (g_strv_length (records), ==, 1);

  panels = ns_fine_tune_dialog_follow_recorded_jobs (NULL, db, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (panels->len, ==, 1);
  panel = panels->pdata[0];
  g_assert_cmpint (ns_train_panel_get_slurm_job_id (panel), ==, id);
  /* another window of the same workbench does not follow it twice */
  again = ns_fine_tune_dialog_follow_recorded_jobs (NULL, db, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (again->len, ==, 0);
  wait_end (panel, NULL, NULL);
  g_assert_cmpuint (ns_train_panel_get_n_steps (panel), ==, 2);
  assert_registered (db, panel, folder);
  gtk_window_destroy (GTK_WINDOW (gtk_widget_get_root (GTK_WIDGET (panel))));
}

/* ---- cancel ----------------------------------------------------------------------------- */

static void
test_cancel (void)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *db = make_db ("cancel");
  g_autofree char *folder = g_build_filename (ns_test_tmpdir (), "cancel jobs", NULL);
  NsFineTuneDialog *dialog;
  NsTrainPanel *panel;
  GtkWindow *win = NULL;
  g_autoptr (NsDb) q = NULL;
  g_autoptr (GPtrArray) models = NULL, runs = NULL;
  g_auto (GStrv) records = NULL;
  gint64 end = g_get_monotonic_time () + 300 * G_USEC_PER_SEC;

  ns_test_slurm_start ();
  dialog = slurm_dialog (db, folder, "100000");
  panel = start (dialog, &win);
  /* cancelled once it trains */
  while (ns_train_panel_get_n_steps (panel) == 0)
    {
      g_main_context_iteration (NULL, TRUE);
      g_assert_cmpint (ns_train_panel_get_state (panel), ==, NS_TRAIN_RUNNING);
      g_assert_cmpint (g_get_monotonic_time (), <, end);
    }
  ns_train_panel_cancel (panel);
  g_assert_nonnull (strstr (ns_train_panel_get_status_text (panel), "scancel"));
  wait_end (panel, NULL, NULL);
  g_test_message ("%s", ns_train_panel_get_message (panel));
  g_assert_cmpint (ns_train_panel_get_state (panel), ==, NS_TRAIN_CANCELLED);
  g_assert_nonnull (strstr (ns_train_panel_get_message (panel), "CANCELLED"));
  q = ns_db_open (db, &error);
  models = ns_registry_list_models (q, &error);
  g_assert_no_error (error);
  for (guint i = 0; i < models->len; i++)
    g_assert_cmpint (((NsRegistryModel *) models->pdata[i])->version, ==, NS_REGISTRY_SHIPPED);
  runs = ns_runs_list (q, &error);
  g_assert_cmpint (((NsRun *) runs->pdata[runs->len - 1])->status, ==, NS_RUN_CANCELLED);
  records = ns_train_panel_dup_slurm_records (db);
  g_assert_cmpuint (g_strv_length (records), ==, 0);
  gtk_window_destroy (win);
}

/* ---- poll without a thread ------------------------------------------------------------- */

typedef struct
{
  NsTrainPanel *panel;
  const char *text;
} StatusWait;

static gboolean
status_says (gpointer data)
{
  StatusWait *w = data;

  return strstr (ns_train_panel_get_status_text (w->panel), w->text) != NULL;
}

/* The system has no thread to give when a poll is due (ns_task_test_refuse_threads ()):
 * the panel says why and asks again at the next poll; once threads are back it follows
 * the job to its registered model.  Before, the poll's callback did not look at the task's
 * result and read the poll's empty answer (a NULL error: the workbench crashed). */
static void
test_poll_without_thread (void)
{
  g_autofree char *db = make_db ("nothread");
  g_autofree char *folder = g_build_filename (ns_test_tmpdir (), "nothread jobs", NULL);
  NsFineTuneDialog *dialog;
  NsTrainPanel *panel;
  GtkWindow *win = NULL;
  StatusWait said;

  ns_test_slurm_start ();
  dialog = slurm_dialog (db, folder, "2");
  ns_task_test_refuse_threads (TRUE);
  panel = start (dialog, &win);
  said = (StatusWait) { panel, "Could not start a thread for ns-slurm-poll" };
  g_assert_true (ns_test_wait_until (status_says, &said, 30));
  g_test_message ("said: %s", ns_train_panel_get_status_text (panel));
  g_assert_nonnull (strstr (ns_train_panel_get_status_text (panel), "; asking again"));
  g_assert_cmpint (ns_train_panel_get_state (panel), ==, NS_TRAIN_RUNNING);
  ns_task_test_refuse_threads (FALSE);
  wait_end (panel, NULL, NULL);
  assert_registered (db, panel, folder);
  gtk_window_destroy (win);
}

/* ---- closed while polling --------------------------------------------------------------- */

/* The window closed while the job's first poll runs (started with the job): the poll's
 * worker (held back by the test hook) still holds the panel, which goes when the worker
 * lets go, in the main thread.  Before, the poll ran in GTask's pool, whose thread then
 * dropped the last reference to the panel (the task's source) and finalized the widget. */
static void
test_closed_while_polling (void)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *db = make_db ("closed");
  g_autofree char *folder = g_build_filename (ns_test_tmpdir (), "closed jobs", NULL);
  NsFineTuneDialog *dialog;
  NsTrainPanel *panel;
  GtkWindow *win = NULL;
  GThread *finalized_in = NULL;
  g_autofree char *job_folder = NULL;
  gint64 id;

  ns_test_slurm_start ();
  dialog = slurm_dialog (db, folder, "2");
  ns_task_test_hold_releases (TRUE);
  panel = start (dialog, &win);
  id = ns_train_panel_get_slurm_job_id (panel);
  job_folder = g_strdup (ns_train_panel_get_slurm_folder (panel));
  g_assert_cmpint (id, >, 0);
  ns_test_note_finalize_thread (G_OBJECT (panel), &finalized_in);
  gtk_window_destroy (win);
  /* the poll ends meanwhile; its worker still holds the panel */
  ns_test_assert_released_in_main (&finalized_in, 0.5, 30);
  /* the job went on without the window: not left to take the cluster (ended before the
   * program stops the cluster, so that no job step outlives it) */
  g_assert_true (ns_slurm_cancel (id, &error));
  g_assert_no_error (error);
  for (gint64 end = g_get_monotonic_time () + 60 * G_USEC_PER_SEC;;)
    {
      g_autofree char *reason = NULL;
      NsSlurmState state;

      g_assert_true (ns_slurm_query (id, job_folder, &state, &reason, &error));
      g_assert_no_error (error);
      if (ns_slurm_state_is_final (state))
        break;
      g_assert_cmpint (g_get_monotonic_time (), <, end);
      ns_test_spin (0.2);
    }
}

int
main (int argc, char **argv)
{
  g_autofree char *xdg = NULL, *config = NULL;

  g_setenv ("GTK_A11Y", "none", TRUE);
  g_setenv ("GSETTINGS_BACKEND", "memory", TRUE);
  xdg = g_build_filename (ns_test_tmpdir (), "xdg", NULL);
  config = g_build_filename (ns_test_tmpdir (), "config", NULL);
  g_setenv ("XDG_DATA_HOME", xdg, TRUE);
  g_setenv ("XDG_CACHE_HOME", xdg, TRUE);
  g_setenv ("XDG_STATE_HOME", xdg, TRUE);
  g_setenv ("XDG_CONFIG_HOME", config, TRUE);
  g_setenv ("NEUROSEG_DATA_DIR", xdg, TRUE);
  g_test_init (&argc, &argv, NULL);
  gtk_init ();
  if (g_getenv ("NEUROSEG") == NULL)
    {
      g_printerr ("test-ui-train-slurm: NEUROSEG (the neuroseg binary) is not set\n");
      return 1;
    }
  g_test_add_func ("/ui/train-slurm/unavailable", test_unavailable);
  g_test_add_func ("/ui/train-slurm/layout", test_layout);
  g_test_add_func ("/ui/train-slurm/remembered", test_remembered);
  g_test_add_func ("/ui/train-slurm/run", test_run);
  g_test_add_func ("/ui/train-slurm/restart", test_restart);
  g_test_add_func ("/ui/train-slurm/cancel", test_cancel);
  g_test_add_func ("/ui/train-slurm/poll-without-thread", test_poll_without_thread);
  g_test_add_func ("/ui/train-slurm/closed-while-polling", test_closed_while_polling);
  return g_test_run ();
}
