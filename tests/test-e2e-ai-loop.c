/* SPDX-License-Identifier: MIT
 *
 * test-e2e-ai-loop.c: the whole AI loop in the workbench on the CPU, under xvfb-run:
 * open (a linked copy of) the bundled case, run the registry's default model (a random
 * mobilenetv2-unet written and registered here: no trained model ships), check the
 * overlay and the volumes, make an edit, Mark Corrected and Queue, see it in the queue
 * panel, fine-tune through `neuroseg train --json-progress` ($NEUROSEG) limited to a few
 * steps on a small crop, watch the progress events arrive, see the new version registered
 * with its metrics and validated beside the base on the same case, promote it (through
 * the gate), roll back.  Prints the time each
 * stage took (the loop time for one corrected case on this machine).
 */
#include "ns-config.h"

#include <gtk/gtk.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "ns-backend.h"
#include "ns-checkpoint.h"
#include "ns-data-error.h"
#include "ns-model-runner.h"
#include "ns-models-dialog.h"
#include "ns-paths.h"
#include "ns-queue-panel.h"
#include "ns-registry.h"
#include "ns-runs.h"
#include "ns-test-util.h"
#include "ns-train-panel.h"
#include "ns-test-widget.h"
#include "ns-window.h"

static gboolean
window_idle (gpointer data)
{
  return !ns_window_is_loading (data);
}

typedef struct
{
  gboolean finished, ok;
  int last_done, last_total, n_progress;
} RunState;

static void
on_progress (NsModelRunner *r, int done, int total, RunState *s)
{
  s->n_progress++;
  s->last_done = done;
  s->last_total = total;
}

static void
on_finished (NsModelRunner *r, gboolean ok, const char *message, RunState *s)
{
  if (!ok)
    g_test_message ("Run Model: %s", message);
  s->finished = TRUE;
  s->ok = ok;
}

static gboolean
run_finished (gpointer data)
{
  return ((RunState *) data)->finished;
}

static gboolean
train_done (gpointer data)
{
  return ns_train_panel_get_state (data) != NS_TRAIN_RUNNING;
}

static gboolean
has_steps (gpointer data)
{
  return ns_train_panel_get_n_steps (data) > 0 || train_done (data);
}

static double
seconds_since (gint64 t0)
{
  return (g_get_monotonic_time () - t0) / 1e6;
}

static void
test_ai_loop (void)
{
  g_autoptr (GError) error = NULL;
  const char *tmp = ns_test_tmpdir ();
  g_autofree char *db = g_build_filename (tmp, "loop.db", NULL);
  g_autofree char *case_dir = g_build_filename (tmp, "Brats18_CBICA_ABM_1", NULL);
  g_autofree char *model_path = g_build_filename (tmp, "base.safetensors", NULL);
  gint64 t_all = g_get_monotonic_time (), t0;

  /* a copy of the bundled case made of links, so that the mask is written beside it */
  {
    g_autoptr (GDir) dir = g_dir_open (ns_test_sample_case (), 0, &error);
    const char *name;

    g_assert_no_error (error);
    g_assert_cmpint (g_mkdir_with_parents (case_dir, 0755), ==, 0);
    while ((name = g_dir_read_name (dir)) != NULL)
      {
        g_autofree char *src = g_build_filename (ns_test_sample_case (), name, NULL);
        g_autofree char *abs = g_canonicalize_filename (src, NULL);
        g_autofree char *dst = g_build_filename (case_dir, name, NULL);
        g_assert_cmpint (symlink (abs, dst), ==, 0);
      }
  }
  /* the default model: the shipped one (registry version 0) when there is one, else a
   * random-init mobilenetv2-unet registered as v1 and promoted */
  g_autofree char *bundled = ns_paths_dup_shipped_model (NULL);
  gboolean have_bundled = bundled != NULL;
  int base_version = NS_REGISTRY_SHIPPED;
  if (!have_bundled)
    {
      g_autoptr (NsBackend) be = ns_backend_new ("cpu", &error);
      g_assert_no_error (error);
      g_autoptr (NsModelMeta) meta = ns_model_meta_new_default ("mobilenetv2-unet");
      NsModelInit init = { NS_INIT_KAIMING, 0, 5 };
      g_autoptr (NsModel) m = ns_model_new (be, meta, &init, &error);
      g_assert_no_error (error);
      g_assert_true (ns_checkpoint_save (m, model_path, NS_DTYPE_F32, &error));
      g_autoptr (NsDb) q = ns_db_open (db, &error);
      g_assert_no_error (error);
      NsRegistryModelInfo info = { .path = model_path, .arch = "mobilenetv2-unet",
                                   .parent = NS_REGISTRY_NONE,
                                   .metrics = "{\"note\": \"random initialisation\"}" };
      g_assert_cmpint (ns_registry_register_model (q, &info, &error), ==, 1);
      g_assert_true (ns_registry_promote (q, 1, TRUE, NULL, &error));
      base_version = 1;
    }

  /* open the case */
  NsWindow *window = ns_window_new (NULL);
  const char *paths[] = { case_dir, NULL };
  gtk_window_set_default_size (GTK_WINDOW (window), 1200, 800);
  gtk_window_present (GTK_WINDOW (window));
  t0 = g_get_monotonic_time ();
  ns_window_open (window, paths);
  g_assert_true (ns_test_wait_until (window_idle, window, 120));
  g_assert_null (ns_window_get_load_error (window));
  double t_open = seconds_since (t0);
  NsViewer *viewer = ns_window_get_viewer (window);
  NsEditor *editor = ns_window_get_editor (window);
  g_assert_nonnull (ns_editor_get_doc (editor));
  NsMaskDoc *doc = ns_editor_get_doc (editor);
  double wt_expert = ns_viewer_get_volumes (viewer)->wt_ml;

  /* run the default model */
  NsModelRunner *runner = ns_model_runner_new (viewer);
  RunState rs = { 0 };
  int version = 0;
  g_autofree char *def = ns_model_runner_find_default_model (db, &version, &error);
  g_assert_no_error (error);
  g_assert_cmpint (version, ==, base_version);
  ns_model_runner_set_model (runner, def, version);
  ns_model_runner_set_editor (runner, editor);
  ns_model_runner_set_device (runner, "cpu");
  g_signal_connect (runner, "progress", G_CALLBACK (on_progress), &rs);
  g_signal_connect (runner, "finished", G_CALLBACK (on_finished), &rs);
  guint undo0 = ns_history_n_undo (ns_mask_doc_get_history (doc));
  t0 = g_get_monotonic_time ();
  g_assert_true (ns_model_runner_start (runner, NS_RUN_MODEL_REPLACE, TRUE, &error));
  g_assert_true (ns_test_wait_until (run_finished, &rs, 600));
  double t_infer = seconds_since (t0);
  g_assert_true (rs.ok);
  g_assert_cmpint (rs.last_total, >, 50);
  g_assert_cmpint (rs.last_done, ==, rs.last_total);
  g_assert_cmpuint (ns_history_n_undo (ns_mask_doc_get_history (doc)), ==, undo0 + 1);
  NsLabelMap *map = ns_mask_doc_get_map (doc);
  NsLabelMap *pred = ns_model_runner_get_prediction (runner);
  gsize n = ns_grid_n_voxels (&map->grid);
  g_assert_true (memcmp (map->labels, pred->labels, n) == 0);
  double wt_pred = ns_viewer_get_volumes (viewer)->wt_ml;
  g_test_message ("WT volume: expert %.1f ml, %s model %.1f ml, uncertainty %.3f",
                  wt_expert, have_bundled ? "bundled" : "random", wt_pred,
                  ns_model_runner_get_uncertainty (runner));
  g_assert_true (wt_pred > 0);
  g_assert_true (isfinite (ns_model_runner_get_uncertainty (runner)));

  /* an edit: the correction is the expert's segmentation (what an annotator would paint);
   * with an exact prediction there would be nothing to correct */
  NsCase *ncase = ns_viewer_get_case (viewer);
  /* (from its file: the case's label map is the document's, which holds the prediction) */
  g_assert_true (ncase->labels == map);
  g_autoptr (NsLabelMap) expert = ns_mask_doc_read_mask (ncase->paths[NS_CASE_FILE_LABELS],
                                                         &map->grid, &error);
  g_assert_no_error (error);
  g_assert_true (memcmp (map->labels, expert->labels, n) != 0);
  g_assert_true (ns_mask_doc_replace (doc, expert->labels, "correction"));
  ns_viewer_labels_changed (viewer);
  g_assert_cmpfloat_with_epsilon (ns_viewer_get_volumes (viewer)->wt_ml, wt_expert, 1e-6);

  /* mark corrected and queue; the queue panel shows it */
  t0 = g_get_monotonic_time ();
  gint64 case_id = ns_model_runner_mark_corrected (runner, editor, db, &error);
  g_assert_no_error (error);
  g_assert_cmpint (case_id, >, 0);
  double t_mark = seconds_since (t0);
  GtkWidget *queue = g_object_ref_sink (ns_queue_panel_new (db));
  g_assert_cmpuint (ns_queue_panel_get_n_rows (NS_QUEUE_PANEL (queue)), ==, 1);
  const NsQueueEntry *e = ns_queue_panel_get_entry (NS_QUEUE_PANEL (queue), 0);
  g_assert_cmpint (e->state, ==, NS_QUEUE_STATE_QUEUED);
  g_assert_true (isfinite (e->effort));
  /* a prediction of the shipped model is recorded without a version (data/ns-queue.h) */
  g_assert_cmpint (e->model_version, ==, base_version);
  g_test_message ("queued: effort (WT Dice prediction vs. correction) %.3f, %" G_GINT64_FORMAT
                  " voxels edited", e->effort, e->edited_voxels);

  /* fine-tune: a few steps on a small crop, validated on the same case */
  GtkWidget *panel = g_object_ref_sink (ns_train_panel_new (db));
  const char *val[] = { case_dir, NULL };
  const char *extra[] = { "--max-steps", "3", "--crop", "128", "--batch", "2", NULL };
  g_autofree char *out = g_build_filename (tmp, "v2.safetensors", NULL);
  NsTrainRequest req = { .base_model = def, .base_version = base_version, .epochs = 1,
                         .lr = 1e-4,
                         .device = "cpu", .val_cases = (char **) val,
                         .extra_args = (char **) extra, .output = out };
  t0 = g_get_monotonic_time ();
  g_assert_true (ns_train_panel_start (NS_TRAIN_PANEL (panel), &req, &error));
  g_assert_no_error (error);
  g_assert_true (ns_test_wait_until (has_steps, panel, 300));
  g_assert_cmpuint (ns_train_panel_get_n_steps (NS_TRAIN_PANEL (panel)), >, 0);
  g_assert_true (ns_test_wait_until (train_done, panel, 600));
  double t_train = seconds_since (t0);
  if (ns_train_panel_get_state (NS_TRAIN_PANEL (panel)) != NS_TRAIN_SUCCEEDED)
    {
      g_autofree char *log_path = g_strconcat (out, ".log", NULL);
      g_autofree char *log = NULL;
      g_file_get_contents (log_path, &log, NULL, NULL);
      g_error ("fine-tuning failed: %s\n%s", ns_train_panel_get_message (NS_TRAIN_PANEL (panel)),
               log != NULL ? log : "");
    }
  g_assert_cmpuint (ns_train_panel_get_n_steps (NS_TRAIN_PANEL (panel)), ==, 3);
  int v2 = ns_train_panel_get_new_version (NS_TRAIN_PANEL (panel));
  g_assert_cmpint (v2, ==, base_version + 1);
  {
    g_autoptr (NsDb) q = ns_db_open (db, &error);
    g_autoptr (NsRegistryModel) m = ns_registry_dup_model (q, v2, &error);
    g_assert_no_error (error);
    g_assert_cmpint (m->parent, ==, base_version);
    g_assert_true (isfinite (m->dice[0]));
    g_test_message ("v2: validation Dice WT %.3f TC %.3f ET %.3f; metrics %s", m->dice[0],
                    m->dice[1], m->dice[2], m->metrics);
    g_autoptr (NsQueueEntry) qe = ns_queue_dup_entry (q, case_dir, &error);
    g_assert_cmpint (qe->state, ==, NS_QUEUE_STATE_USED);
    g_assert_cmpint (qe->used_by, ==, v2);
  }
  ns_queue_panel_refresh (NS_QUEUE_PANEL (queue), NULL);
  g_autofree char *row = ns_queue_panel_dup_row_text (NS_QUEUE_PANEL (queue), 0);
  g_autofree char *used_by = g_strdup_printf ("used by v%d", v2);
  g_assert_nonnull (strstr (row, used_by));

  /* Promote: the run validated the new version and the base (the current default) on the
   * same case (ui/ns-train-validation.h), so the gate compares them; its verdict is what
   * promotion without force does.  Then promoted with force, rolled back to the base,
   * version 0 when it is the shipped model */
  NsModelsDialog *models = ns_models_dialog_new (GTK_WINDOW (window), db);
  g_assert_cmpuint (ns_models_dialog_get_n_rows (models), ==, 2);
  gboolean passes = FALSE;
  g_autofree char *cmp = ns_models_dialog_dup_comparison (models, v2, &passes, &error);
  g_assert_no_error (error);
  g_test_message ("%s", cmp);
  g_autofree char *current = g_strdup_printf ("v%d (current default)", base_version);
  g_assert_nonnull (strstr (cmp, current));
  {
    g_autoptr (NsDb) q = ns_db_open (db, &error);
    g_autoptr (NsRegistryComparison) c = ns_registry_compare (q, v2, &error);
    g_assert_no_error (error);
    g_assert_cmpuint (c->rows->len, ==, 1);
    g_assert_cmpuint (c->n_common, ==, 1);
  }
  g_assert_true (strstr (ns_train_panel_get_message (NS_TRAIN_PANEL (panel)),
                         "validated on 1 case") != NULL);
  if (passes)
    g_assert_true (ns_models_dialog_promote (models, v2, FALSE, &error));
  else
    {
      g_assert_false (ns_models_dialog_promote (models, v2, FALSE, &error));
      g_assert_error (error, NS_DATA_ERROR, NS_DATA_ERROR_REFUSED);
      g_clear_error (&error);
      g_assert_true (ns_models_dialog_promote (models, v2, TRUE, &error));
    }
  g_assert_no_error (error);
  {
    int v = 0;
    g_autofree char *p = ns_model_runner_find_default_model (db, &v, NULL);
    g_assert_cmpint (v, ==, v2);
    g_assert_cmpstr (p, ==, out);
  }
  int back = -1;
  g_assert_true (ns_models_dialog_rollback (models, NS_REGISTRY_PREVIOUS, &back, &error));
  g_assert_no_error (error);
  g_assert_cmpint (back, ==, base_version);
  {
    int v = -1;
    g_autofree char *p = ns_model_runner_find_default_model (db, &v, &error);
    g_assert_no_error (error);
    g_assert_cmpint (v, ==, base_version);
    g_assert_cmpstr (p, ==, def);
  }
  gtk_window_destroy (GTK_WINDOW (models));

  /* Cancel a longer fine-tuning of the requeued case: SIGTERM, the trainer stops after its
   * step, nothing is registered and the case stays queued */
  {
    g_autoptr (NsDb) q = ns_db_open (db, &error);
    g_assert_true (ns_queue_set_state (q, case_id, NS_QUEUE_STATE_QUEUED, 0, NULL, "again",
                                       &error));
  }
  GtkWidget *panel2 = g_object_ref_sink (ns_train_panel_new (db));
  const char *extra2[] = { "--max-steps", "200", "--crop", "128", "--batch", "2", NULL };
  g_autofree char *out2 = g_build_filename (tmp, "v3.safetensors", NULL);
  NsTrainRequest req2 = { .base_model = def, .base_version = base_version, .epochs = 1,
                          .lr = 1e-4,
                          .device = "cpu", .extra_args = (char **) extra2, .output = out2 };
  t0 = g_get_monotonic_time ();
  g_assert_true (ns_train_panel_start (NS_TRAIN_PANEL (panel2), &req2, &error));
  g_assert_true (ns_test_wait_until (has_steps, panel2, 300));
  ns_train_panel_cancel (NS_TRAIN_PANEL (panel2));
  g_assert_true (ns_test_wait_until (train_done, panel2, 300));
  double t_cancel = seconds_since (t0);
  g_assert_cmpint (ns_train_panel_get_state (NS_TRAIN_PANEL (panel2)), ==, NS_TRAIN_CANCELLED);
  g_assert_cmpuint (ns_train_panel_get_n_steps (NS_TRAIN_PANEL (panel2)), <, 200);
  {
    g_autoptr (NsDb) q = ns_db_open (db, &error);
    g_autoptr (GPtrArray) all = ns_registry_list_models (q, &error);
    g_assert_cmpuint (all->len, ==, 2);
    g_autoptr (NsQueueEntry) qe = ns_queue_dup_entry (q, case_dir, &error);
    g_assert_cmpint (qe->state, ==, NS_QUEUE_STATE_QUEUED);
    g_autoptr (GPtrArray) runs = ns_runs_list (q, &error);
    NsRun *last = runs->pdata[runs->len - 1];
    g_assert_cmpint (last->status, ==, NS_RUN_CANCELLED);
  }
  g_test_message ("a fine-tuning cancelled after its first step ended in %.2f s", t_cancel);
  g_object_unref (panel2);

  printf ("# AI loop on the CPU (bundled case): open %.2f s, Run Model %.2f s (%d slices), "
          "mark corrected + queue %.2f s, fine-tune (3 steps, crop 128, batch 2, validation "
          "on the case) + registration %.2f s; whole test %.2f s\n",
          t_open, t_infer, rs.last_total, t_mark, t_train, seconds_since (t_all));
  g_object_unref (panel);
  g_object_unref (queue);
  g_object_unref (runner);
  gtk_window_destroy (GTK_WINDOW (window));
}

int
main (int argc, char **argv)
{
  g_autofree char *xdg = NULL;

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
      g_printerr ("test-e2e-ai-loop: NEUROSEG (the neuroseg binary) is not set\n");
      return 1;
    }
  g_test_add_func ("/e2e/ai-loop", test_ai_loop);
  return g_test_run ();
}
