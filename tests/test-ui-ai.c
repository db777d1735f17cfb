/* SPDX-License-Identifier: MIT
 *
 * test-ui-ai.c: the AI loop's GUI parts on a small synthetic case and a random-init model
 * written by the test: Run Model in its worker thread (progress reaches the total, the
 * overlay changes, one undo entry, Fill only unlabelled keeps the user's voxels, Cancel),
 * the prediction shown slice by slice while it runs, the entropy as a heat overlay on the
 * slice views, Mark Corrected and Queue (its queue write in a worker: the main loop runs on
 * while the database is locked by another process), the queue panel, the train panel fed by fake
 * trainer subprocesses (a canned JSON progress stream, a crash, a cancel) and the models
 * dialog.
 * Runs under xvfb-run.
 *
 * `test-ui-ai --bench [DEVICE] [--no-uncertainty]` instead runs the model on the bundled
 * case in the workbench window, the prediction shown slice by slice as it arrives, and
 * prints the time and the longest main-loop stall during inference (--no-uncertainty: for
 * the cost of the entropy map, without it).
 */
#include "ns-config.h"

#include <glib/gstdio.h>
#include <gtk/gtk.h>
#include <math.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>

#include <sqlite3.h>

#include "ns-ai-controller.h"
#include "ns-backend.h"
#include "ns-checkpoint.h"
#include "ns-corrections.h"
#include "ns-fine-tune-dialog.h"
#include "ns-model-runner.h"
#include "ns-models-dialog.h"
#include "ns-nifti.h"
#include "ns-paths.h"
#include "ns-queue-panel.h"
#include "ns-registry.h"
#include "ns-runs.h"
#include "ns-slice-view.h"
#include "ns-test-net.h"
#include "ns-task.h"
#include "ns-test-util.h"
#include "ns-test-widget.h"
#include "ns-test-window.h"
#include "ns-train-panel.h"
#include "ns-heat-legend.h"
#include "ns-uncertainty-view.h"
#include "ns-uncertainty-window.h"
#include "ns-window.h"

static char *model_path;

/* A 64 x 48 x nz case (FLAIR, T1c) with an elliptic "brain" on slices 1..nz-2, and a
 * segmentation with a small blob (seg: also write <name>_seg.nii.gz). */
static char *
make_case (const char *name, int nz, gboolean seg)
{
  g_autoptr (GError) error = NULL;
  char *dir = g_build_filename (ns_test_tmpdir (), name, NULL);
  NsGrid grid;

  g_assert_cmpint (g_mkdir_with_parents (dir, 0755), ==, 0);
  ns_grid_init (&grid, 64, 48, nz, 1.0, 1.0, 2.0);
  for (int c = 0; c < 2; c++)
    {
      g_autoptr (NsVolume) v = ns_volume_new (&grid, &error);
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
      g_autofree char *file = g_strdup_printf ("%s_%s.nii.gz", name, c == 0 ? "flair" : "t1ce");
      g_autofree char *path = g_build_filename (dir, file, NULL);
      g_assert_true (ns_nifti_write_volume (v, path, &error));
    }
  if (seg)
    {
      g_autoptr (NsLabelMap) m = ns_label_map_new (&grid, &error);
      g_autofree char *file = g_strdup_printf ("%s_seg.nii.gz", name);
      g_autofree char *path = g_build_filename (dir, file, NULL);

      for (int k = 2; k < nz - 2; k++)
        for (int j = 20; j < 28; j++)
          for (int i = 26; i < 36; i++)
            m->labels[ns_grid_index (&grid, i, j, k)] = (i < 30) ? 4 : 2;
      g_assert_true (ns_nifti_write_label_map (m, path, &error));
    }
  return dir;
}

static void
write_model (const char *path, guint64 seed)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (NsBackend) be = ns_backend_new ("ref", &error);
  g_assert_no_error (error);
  g_autoptr (NsModelMeta) meta = ns_model_meta_new_default ("mobilenetv2-unet");
  NsModelInit init = { NS_INIT_KAIMING, 0, seed };
  g_autoptr (NsModel) m = ns_model_new (be, meta, &init, &error);
  g_assert_no_error (error);
  g_assert_true (ns_checkpoint_save (m, path, NS_DTYPE_F32, &error));
  g_assert_no_error (error);
}

static void
make_model (void)
{
  model_path = g_build_filename (ns_test_tmpdir (), "random.safetensors", NULL);
  write_model (model_path, 9);
}

static char *
db_path_for (const char *name)
{
  return g_build_filename (ns_test_tmpdir (), name, NULL);
}

/* ---- Run Model ------------------------------------------------------------------------ */

typedef struct
{
  NsViewer *viewer;
  NsEditor *editor;
  NsModelRunner *runner;
  int n_progress, last_done, last_total;
  gboolean finished, ok;
  char *message;
} Fixture;

static void
on_progress (NsModelRunner *r, int done, int total, Fixture *f)
{
  f->n_progress++;
  g_assert_cmpint (done, >=, f->last_done);
  f->last_done = done;
  f->last_total = total;
}

static void
on_finished (NsModelRunner *r, gboolean ok, const char *message, Fixture *f)
{
  f->finished = TRUE;
  f->ok = ok;
  g_free (f->message);
  f->message = g_strdup (message);
}

static gboolean
fixture_finished (gpointer data)
{
  return ((Fixture *) data)->finished;
}

static void
fixture_setup (Fixture *f, const char *case_name, int nz, gboolean seg)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *dir = make_case (case_name, nz, seg);
  g_autoptr (NsCase) ncase = ns_case_load (dir, NS_CASE_LOAD_DEFAULT, &error);

  g_assert_no_error (error);
  memset (f, 0, sizeof *f);
  f->viewer = ns_viewer_new ();
  ns_viewer_set_case (f->viewer, ncase);
  f->editor = ns_editor_new (f->viewer);
  g_assert_true (ns_editor_open (f->editor, NULL, &error));
  g_assert_no_error (error);
  f->runner = ns_model_runner_new (f->viewer);
  ns_model_runner_set_editor (f->runner, f->editor);
  ns_model_runner_set_model (f->runner, model_path, 0);
  ns_model_runner_set_device (f->runner, "cpu");
  ns_model_runner_set_max_batch (f->runner, 2);
  g_signal_connect (f->runner, "progress", G_CALLBACK (on_progress), f);
  g_signal_connect (f->runner, "finished", G_CALLBACK (on_finished), f);
}

static void
fixture_run (Fixture *f, NsRunModelMode mode)
{
  g_autoptr (GError) error = NULL;

  f->finished = FALSE;
  f->n_progress = f->last_done = f->last_total = 0;
  g_assert_true (ns_model_runner_start (f->runner, mode, TRUE, &error));
  g_assert_no_error (error);
  g_assert_true (ns_model_runner_is_running (f->runner));
  g_assert_true (ns_test_wait_until (fixture_finished, f, 120));
}

static gboolean
runner_idle (gpointer data)
{
  return !ns_model_runner_is_running (data);
}

static void
fixture_teardown (Fixture *f)
{
  /* A cancelled run's worker may still report progress after the test; the next test's
   * Fixture lives at the same stack address, so the handlers must go first. */
  g_signal_handlers_disconnect_by_data (f->runner, f);
  if (ns_model_runner_is_running (f->runner))
    {
      ns_model_runner_cancel (f->runner);
      g_assert_true (ns_test_wait_until (runner_idle, f->runner, 120));
    }
  g_object_unref (f->runner);
  g_object_unref (f->editor);
  g_object_unref (f->viewer);
  g_free (f->message);
}

static gsize
count_nonzero (const NsLabelMap *m)
{
  gsize n = 0, total = ns_grid_n_voxels (&m->grid);

  for (gsize v = 0; v < total; v++)
    n += m->labels[v] != 0;
  return n;
}

static void
test_run_model (void)
{
  Fixture f;
  fixture_setup (&f, "Run_1", 12, FALSE);
  NsMaskDoc *doc = ns_editor_get_doc (f.editor);
  NsLabelMap *map = ns_mask_doc_get_map (doc);
  guint undo_before = ns_history_n_undo (ns_mask_doc_get_history (doc));
  gsize n = ns_grid_n_voxels (&map->grid);

  g_assert_cmpuint (count_nonzero (map), ==, 0);
  fixture_run (&f, NS_RUN_MODEL_REPLACE);
  g_assert_true (f.ok);
  g_assert_null (f.message);
  g_assert_false (ns_model_runner_is_running (f.runner));
  /* progress: the brain's 10 slices in batches of 2, reaching the total */
  g_assert_cmpint (f.last_total, ==, 10);
  g_assert_cmpint (f.last_done, ==, f.last_total);
  g_assert_cmpint (f.n_progress, >=, 5);
  /* the overlay is the prediction, entered as one undo entry */
  NsLabelMap *pred = ns_model_runner_get_prediction (f.runner);
  g_assert_nonnull (pred);
  g_assert_cmpuint (count_nonzero (pred), >, 0);
  g_assert_true (memcmp (map->labels, pred->labels, n) == 0);
  g_assert_cmpuint (ns_history_n_undo (ns_mask_doc_get_history (doc)), ==, undo_before + 1);
  g_assert_true (ns_viewer_get_volumes (f.viewer)->wt_ml > 0);
  /* uncertainty: entropy in [0, 1], one finite score */
  NsVolume *h = ns_model_runner_get_entropy (f.runner);
  g_assert_nonnull (h);
  for (gsize v = 0; v < n; v++)
    g_assert_true (ns_volume_get_value (h, v) >= -1e-5 && ns_volume_get_value (h, v) <= 1 + 1e-5);
  double u = ns_model_runner_get_uncertainty (f.runner);
  g_assert_true (isfinite (u) && u >= 0 && u <= 1);
  /* undo takes the whole prediction back */
  g_assert_cmpuint (ns_editor_undo (f.editor, 1), ==, 1);
  g_assert_cmpuint (count_nonzero (map), ==, 0);
  fixture_teardown (&f);
}

/* A device that cannot hold one slice (the ref backend held to the model's own size): the
 * run finishes on the CPU, with a note for the user, and predicts what the CPU predicts. */
static void
test_out_of_memory (void)
{
  Fixture f;

  fixture_setup (&f, "Oom_1", 6, FALSE);
  fixture_run (&f, NS_RUN_MODEL_REPLACE);
  g_assert_true (f.ok);
  g_assert_null (f.message);
  gsize n = ns_grid_n_voxels (&ns_model_runner_get_prediction (f.runner)->grid);
  g_autofree guint8 *cpu = g_memdup2 (ns_model_runner_get_prediction (f.runner)->labels, n);

  ns_model_runner_set_device (f.runner, "ref");
  ns_model_runner_set_memory_limit (f.runner, ns_test_checkpoint_bytes (model_path) + 4096);
  fixture_run (&f, NS_RUN_MODEL_REPLACE);
  g_assert_true (f.ok);
  g_assert_nonnull (f.message);
  g_assert_nonnull (strstr (f.message, "finishing on the CPU"));
  g_assert_nonnull (strstr (f.message, "out of memory"));
  g_assert_cmpmem (ns_model_runner_get_prediction (f.runner)->labels, n, cpu, n);
  fixture_teardown (&f);
}

/* The run's worker lets go of the runner after the run's end reached the main thread
 * (held back by the test hook), when the window (here the fixture) has already
 * dropped the runner and its viewer: the runner still goes in the main thread.  Before,
 * it was disposed in the worker while the main thread dropped the viewer, and GObject's
 * signal code aborted now and then (invalid_closure_notify). */
static void
test_released_in_main (void)
{
  Fixture f;
  GThread *finalized_in = NULL;

  fixture_setup (&f, "Release_1", 6, FALSE);
  ns_task_test_hold_releases (TRUE);
  fixture_run (&f, NS_RUN_MODEL_REPLACE);
  g_assert_true (f.ok);
  ns_test_note_finalize_thread (G_OBJECT (f.runner), &finalized_in);
  fixture_teardown (&f);
  ns_test_assert_released_in_main (&finalized_in, 0.05, 30);
}

static void
test_fill_unlabelled (void)
{
  Fixture f;
  fixture_setup (&f, "Fill_1", 8, TRUE);
  NsMaskDoc *doc = ns_editor_get_doc (f.editor);
  NsLabelMap *map = ns_mask_doc_get_map (doc);
  gsize n = ns_grid_n_voxels (&map->grid);
  g_autofree guint8 *before = g_memdup2 (map->labels, n);
  guint undo_before = ns_history_n_undo (ns_mask_doc_get_history (doc));

  g_assert_cmpuint (count_nonzero (map), >, 0);
  fixture_run (&f, NS_RUN_MODEL_FILL_UNLABELLED);
  g_assert_true (f.ok);
  NsLabelMap *pred = ns_model_runner_get_prediction (f.runner);
  gsize kept = 0, filled = 0;
  for (gsize v = 0; v < n; v++)
    if (before[v] != 0)
      {
        g_assert_cmpuint (map->labels[v], ==, before[v]);
        kept++;
      }
    else
      {
        g_assert_cmpuint (map->labels[v], ==, pred->labels[v]);
        filled += pred->labels[v] != 0;
      }
  g_assert_cmpuint (kept, >, 0);
  g_test_message ("kept %" G_GSIZE_FORMAT ", filled %" G_GSIZE_FORMAT, kept, filled);
  g_assert_cmpuint (ns_history_n_undo (ns_mask_doc_get_history (doc)), ==, undo_before + 1);
  ns_editor_undo (f.editor, 1);
  g_assert_true (memcmp (map->labels, before, n) == 0);
  fixture_teardown (&f);
}

static void
test_cancel (void)
{
  Fixture f;
  fixture_setup (&f, "Cancel_1", 40, FALSE);
  NsMaskDoc *doc = ns_editor_get_doc (f.editor);
  guint undo_before = ns_history_n_undo (ns_mask_doc_get_history (doc));
  g_autoptr (GError) error = NULL;

  ns_model_runner_set_max_batch (f.runner, 1);
  g_assert_true (ns_model_runner_start (f.runner, NS_RUN_MODEL_REPLACE, FALSE, &error));
  /* a second start while running is refused */
  g_assert_false (ns_model_runner_start (f.runner, NS_RUN_MODEL_REPLACE, FALSE, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_BUSY);
  ns_model_runner_cancel (f.runner);
  g_assert_true (ns_test_wait_until (fixture_finished, &f, 60));
  g_assert_false (f.ok);
  g_assert_nonnull (strstr (f.message, "cancelled"));
  g_assert_null (ns_model_runner_get_prediction (f.runner));
  g_assert_cmpuint (ns_history_n_undo (ns_mask_doc_get_history (doc)), ==, undo_before);
  g_assert_cmpuint (count_nonzero (ns_mask_doc_get_map (doc)), ==, 0);
  g_assert_false (ns_model_runner_is_running (f.runner));
  fixture_teardown (&f);
}

static void
test_bad_model (void)
{
  Fixture f;
  fixture_setup (&f, "Bad_1", 6, FALSE);
  g_autofree char *bad = g_build_filename (ns_test_tmpdir (), "bad.safetensors", NULL);

  g_assert_true (g_file_set_contents (bad, "not a model", -1, NULL));
  ns_model_runner_set_model (f.runner, bad, 0);
  fixture_run (&f, NS_RUN_MODEL_REPLACE);
  g_assert_false (f.ok);
  g_assert_nonnull (strstr (f.message, "bad.safetensors"));
  g_assert_null (ns_model_runner_get_prediction (f.runner));
  g_autofree char *card = ns_model_runner_describe_model (model_path, NULL);
  g_assert_nonnull (strstr (card, "mobilenetv2-unet"));

  /* a registry default whose file changed since it was registered is refused */
  g_autoptr (GError) error = NULL;
  g_autofree char *db = db_path_for ("changed.db");
  g_autofree char *m = g_build_filename (ns_test_tmpdir (), "changed.safetensors", NULL);
  write_model (m, 21);
  {
    g_autoptr (NsDb) q = ns_db_open (db, &error);
    NsRegistryModelInfo info = { .path = m, .parent = NS_REGISTRY_NONE };
    g_assert_cmpint (ns_registry_register_model (q, &info, &error), ==, 1);
    g_assert_true (ns_registry_promote (q, 1, TRUE, NULL, &error));
  }
  int version = -1;
  g_autofree char *found = ns_model_runner_find_default_model (db, &version, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (found, ==, m);
  g_assert_cmpint (version, ==, 1);
  write_model (m, 22);
  g_autofree char *refused = ns_model_runner_find_default_model (db, &version, &error);
  g_assert_null (refused);
  g_assert_nonnull (error);
  g_assert_nonnull (strstr (error->message, "changed.safetensors"));
  fixture_teardown (&f);
}

/* ---- the prediction as it arrives ------------------------------------------------------ */

/* Whether the view's surface is the shown image with labels (nullable) over it and
 * nothing else (crosshair off). */
static gboolean
view_shows (NsSliceView *view, const NsLabelMap *labels)
{
  NsViewer *viewer = ns_slice_view_get_viewer (view);
  const NsPlaneGeometry *geom = ns_slice_view_get_geometry (view);
  cairo_surface_t *got = ns_slice_view_get_surface (view);
  cairo_surface_t *want = ns_render_surface_new (geom);
  g_autoptr (GError) error = NULL;
  int stride = cairo_image_surface_get_stride (got);
  gboolean same;

  g_assert_true (ns_render_image (want, 0, 0, geom, ns_viewer_get_shown_image (viewer),
                                  ns_viewer_get_lut (viewer), NS_INTERP_NEAREST, &error));
  g_assert_true (labels == NULL
                 || ns_render_labels (want, 0, 0, geom, labels,
                                      ns_viewer_get_overlay_style (viewer), &error));
  cairo_surface_flush (got);
  cairo_surface_flush (want);
  g_assert_cmpint (stride, ==, cairo_image_surface_get_stride (want));
  same = memcmp (cairo_image_surface_get_data (got), cairo_image_surface_get_data (want),
                 (gsize) stride * geom->height) == 0;
  cairo_surface_destroy (want);
  return same;
}

typedef struct
{
  Fixture *f;
  NsSliceView *axial;
  gsize plane, n;
  int nz;
  guint8 *start;             /* the mask when the run started */
  gboolean *reported;        /* per axial slice, so far */
  GPtrArray *previews;       /* guint8 *: the preview at each progress report */
  GPtrArray *reported_at;    /* gboolean *: the slices reported by then */
  int n_updates;
  gboolean checked_view;
} Live;

static void
live_on_preview_updated (NsModelRunner *r, const int *slices, int n_slices, Live *l)
{
  NsLabelMap *preview = ns_model_runner_get_preview (r);

  g_assert_nonnull (preview);
  g_assert_true (ns_viewer_get_preview_labels (l->f->viewer) == preview);
  g_assert_true (ns_viewer_get_shown_labels (l->f->viewer) == preview);
  for (int s = 0; s < n_slices; s++)
    {
      g_assert_cmpint (slices[s], >=, 0);
      g_assert_cmpint (slices[s], <, l->nz);
      g_assert_false (l->reported[slices[s]]);   /* each slice once */
      l->reported[slices[s]] = TRUE;
    }
  l->n_updates++;
  /* the axial view at a slice just reported draws the preview, not the mask */
  if (!l->checked_view)
    {
      double cursor[3];

      ns_viewer_get_cursor (l->f->viewer, cursor);
      cursor[2] = slices[0];
      ns_viewer_set_cursor (l->f->viewer, cursor);
      g_assert_cmpint (ns_slice_view_get_slice (l->axial), ==, slices[0]);
      g_assert_true (view_shows (l->axial, preview));
      l->checked_view = TRUE;
    }
}

static void
live_on_progress (NsModelRunner *r, int done, int total, Live *l)
{
  NsLabelMap *preview = ns_model_runner_get_preview (r);

  /* from the start (0 of 0) to the last batch, the viewer draws the preview */
  g_assert_nonnull (preview);
  g_assert_true (ns_viewer_get_preview_labels (l->f->viewer) == preview);
  g_ptr_array_add (l->previews, g_memdup2 (preview->labels, l->n));
  g_ptr_array_add (l->reported_at, g_memdup2 (l->reported, sizeof (gboolean) * l->nz));
}

/* Run Model with one slice per batch: while it runs, the viewer draws a preview whose
 * reported axial slices hold what the mask becomes and whose other slices hold the mask at
 * the start; the preview goes when the run ends, whether it finishes or is cancelled. */
static void
test_live_preview (void)
{
  for (int m = 0; m < 2; m++)
    {
      NsRunModelMode mode = m == 0 ? NS_RUN_MODEL_REPLACE : NS_RUN_MODEL_FILL_UNLABELLED;
      Fixture f;
      Live l = { 0 };
      g_autoptr (GError) error = NULL;

      fixture_setup (&f, m == 0 ? "Live_1" : "Live_2", 10, TRUE);
      NsLabelMap *map = ns_mask_doc_get_map (ns_editor_get_doc (f.editor));
      l.f = &f;
      l.nz = map->grid.dim[2];
      l.plane = (gsize) map->grid.dim[0] * map->grid.dim[1];
      l.n = ns_grid_n_voxels (&map->grid);
      l.start = g_memdup2 (map->labels, l.n);
      l.reported = g_new0 (gboolean, l.nz);
      l.previews = g_ptr_array_new_with_free_func (g_free);
      l.reported_at = g_ptr_array_new_with_free_func (g_free);
      g_assert_cmpuint (count_nonzero (map), >, 0);
      ns_viewer_set_show_crosshair (f.viewer, FALSE);
      l.axial = NS_SLICE_VIEW (g_object_ref_sink (ns_slice_view_new (f.viewer,
                                                                     NS_PLANE_AXIAL)));
      ns_model_runner_set_max_batch (f.runner, 1);
      g_signal_connect (f.runner, "preview-updated", G_CALLBACK (live_on_preview_updated), &l);
      g_signal_connect (f.runner, "progress", G_CALLBACK (live_on_progress), &l);
      g_assert_null (ns_model_runner_get_preview (f.runner));
      fixture_run (&f, mode);
      g_assert_true (f.ok);

      /* one slice per update: the brain's 8 slices, all reported */
      g_assert_cmpint (f.last_total, ==, 8);
      g_assert_cmpint (l.n_updates, ==, 8);
      for (int k = 0; k < l.nz; k++)
        g_assert_cmpint (l.reported[k], ==, k >= 1 && k <= 8);
      NsLabelMap *pred = ns_model_runner_get_prediction (f.runner);
      guint mid_run = 0;
      g_assert_cmpuint (l.previews->len, ==, 9);   /* 0 of 0, then one per batch */
      for (guint i = 0; i < l.previews->len; i++)
        {
          const guint8 *preview = l.previews->pdata[i];
          const gboolean *reported = l.reported_at->pdata[i];
          int n_reported = 0;

          for (int k = 0; k < l.nz; k++)
            {
              gsize at = (gsize) k * l.plane;

              if (reported[k])
                {
                  /* what the mask became: the prediction (Replace), or the prediction
                   * where the mask was unlabelled (Fill) */
                  g_assert_true (memcmp (preview + at, map->labels + at, l.plane) == 0);
                  if (mode == NS_RUN_MODEL_REPLACE)
                    g_assert_true (memcmp (preview + at, pred->labels + at, l.plane) == 0);
                  n_reported++;
                }
              else
                g_assert_true (memcmp (preview + at, l.start + at, l.plane) == 0);
            }
          g_assert_cmpint (n_reported, ==, i);
          mid_run += n_reported > 0 && n_reported < 8;
        }
      g_assert_cmpuint (mid_run, ==, 7);
      /* the run changed the mask on some reported slice, or the test shows nothing */
      g_assert_true (memcmp (map->labels, l.start, l.n) != 0);
      g_assert_true (l.checked_view);
      /* finished: the preview is gone, the views draw the mask again */
      g_assert_null (ns_model_runner_get_preview (f.runner));
      g_assert_null (ns_viewer_get_preview_labels (f.viewer));
      g_assert_true (ns_viewer_get_shown_labels (f.viewer) == map);
      g_assert_true (view_shows (l.axial, map));

      g_signal_handlers_disconnect_by_data (f.runner, &l);
      g_object_unref (l.axial);
      g_ptr_array_unref (l.previews);
      g_ptr_array_unref (l.reported_at);
      g_free (l.start);
      g_free (l.reported);
      fixture_teardown (&f);
    }
}

static void
count_updates (NsModelRunner *r, const int *slices, int n_slices, int *n)
{
  (*n)++;
}

static gboolean
preview_arrived (gpointer data)
{
  return *(int *) data > 0;
}

/* Cancelled, failed or for a case no longer shown: the preview goes, the mask stays. */
static void
test_live_preview_cancel (void)
{
  g_autoptr (GError) error = NULL;
  Fixture f;
  int n_updates = 0;

  fixture_setup (&f, "LiveCancel_1", 40, TRUE);
  NsLabelMap *map = ns_mask_doc_get_map (ns_editor_get_doc (f.editor));
  gsize n = ns_grid_n_voxels (&map->grid);
  g_autofree guint8 *start = g_memdup2 (map->labels, n);

  ns_model_runner_set_max_batch (f.runner, 1);
  g_signal_connect (f.runner, "preview-updated", G_CALLBACK (count_updates), &n_updates);
  g_assert_true (ns_model_runner_start (f.runner, NS_RUN_MODEL_REPLACE, FALSE, &error));
  g_assert_nonnull (ns_viewer_get_preview_labels (f.viewer));
  g_assert_true (ns_test_wait_until (preview_arrived, &n_updates, 120));
  g_assert_nonnull (ns_model_runner_get_preview (f.runner));
  ns_model_runner_cancel (f.runner);
  g_assert_true (ns_test_wait_until (fixture_finished, &f, 120));
  g_assert_false (f.ok);
  g_assert_null (ns_model_runner_get_preview (f.runner));
  g_assert_null (ns_viewer_get_preview_labels (f.viewer));
  g_assert_true (memcmp (map->labels, start, n) == 0);

  /* a failing model: the preview is shown while it loads, gone when it fails */
  g_autofree char *bad = g_build_filename (ns_test_tmpdir (), "bad-live.safetensors", NULL);
  g_assert_true (g_file_set_contents (bad, "not a model", -1, NULL));
  ns_model_runner_set_model (f.runner, bad, 0);
  fixture_run (&f, NS_RUN_MODEL_REPLACE);
  g_assert_false (f.ok);
  g_assert_null (ns_viewer_get_preview_labels (f.viewer));

  /* another case opened meanwhile: the viewer drops the preview at once */
  g_autofree char *other_dir = make_case ("LiveCancel_2", 6, FALSE);
  g_autoptr (NsCase) other = ns_case_load (other_dir, NS_CASE_LOAD_DEFAULT, &error);
  g_assert_no_error (error);
  ns_model_runner_set_model (f.runner, model_path, 0);
  f.finished = FALSE;
  g_assert_true (ns_model_runner_start (f.runner, NS_RUN_MODEL_REPLACE, FALSE, &error));
  g_assert_nonnull (ns_viewer_get_preview_labels (f.viewer));
  ns_viewer_set_case (f.viewer, other);
  g_assert_null (ns_viewer_get_preview_labels (f.viewer));
  g_assert_true (ns_test_wait_until (fixture_finished, &f, 120));
  g_assert_false (f.ok);
  g_assert_null (ns_model_runner_get_preview (f.runner));
  g_assert_null (ns_viewer_get_preview_labels (f.viewer));
  g_signal_handlers_disconnect_by_data (f.runner, &n_updates);
  fixture_teardown (&f);
}

/* ---- the uncertainty as a heat overlay ----------------------------------------------- */

/* Counts the pixels of a view where the heat overlay changes the picture: with heat above
 * the threshold (above) and below it (below), and how many of each differ from the view
 * with show-heat off. */
static void
heat_difference (NsSliceView *view, NsVolume *heat, gsize *above, gsize *above_differ,
                 gsize *below, gsize *below_differ)
{
  NsViewer *viewer = ns_slice_view_get_viewer (view);
  const NsPlaneGeometry *geom;
  cairo_surface_t *s;
  g_autofree guint8 *off = NULL;
  const guint8 *on;
  int stride;

  ns_viewer_set_show_heat (viewer, FALSE);
  s = ns_slice_view_get_surface (view);
  geom = ns_slice_view_get_geometry (view);
  stride = cairo_image_surface_get_stride (s);
  cairo_surface_flush (s);
  off = g_memdup2 (cairo_image_surface_get_data (s), (gsize) stride * geom->height);
  ns_viewer_set_show_heat (viewer, TRUE);
  s = ns_slice_view_get_surface (view);
  cairo_surface_flush (s);
  on = cairo_image_surface_get_data (s);
  *above = *above_differ = *below = *below_differ = 0;
  for (int y = 0; y < geom->height; y++)
    for (int x = 0; x < geom->width; x++)
      {
        int ijk[3];
        gboolean differ = memcmp (on + y * stride + 4 * x, off + y * stride + 4 * x, 3) != 0;
        float h;

        if (!ns_plane_geometry_voxel_index_at (geom, x + 0.5, y + 0.5, ijk))
          continue;
        h = ns_volume_get_value (heat, ns_grid_index (&heat->grid, ijk[0], ijk[1], ijk[2]));
        if (h > 0.06)
          {
            (*above)++;
            *above_differ += differ;
          }
        else if (h < 0.04)
          {
            (*below)++;
            *below_differ += differ;
          }
      }
}

/* After a run with uncertainty, the viewer holds its entropy map and every plane draws it
 * over the image and labels where it is above the threshold (and only there) while
 * show-heat is on; a new case clears it. */
static void
test_heat_overlay (void)
{
  g_autoptr (GError) error = NULL;
  Fixture f;
  NsSliceView *views[NS_N_PLANES];
  gsize above, above_differ, below, below_differ;

  fixture_setup (&f, "Heat_1", 8, FALSE);
  ns_viewer_set_show_crosshair (f.viewer, FALSE);
  for (int p = 0; p < NS_N_PLANES; p++)
    views[p] = NS_SLICE_VIEW (g_object_ref_sink (ns_slice_view_new (f.viewer, p)));
  g_assert_null (ns_viewer_get_heat (f.viewer));
  g_assert_false (ns_viewer_get_show_heat (f.viewer));
  fixture_run (&f, NS_RUN_MODEL_REPLACE);
  g_assert_true (f.ok);
  NsVolume *entropy = ns_model_runner_get_entropy (f.runner);
  g_assert_nonnull (entropy);
  g_assert_true (ns_viewer_get_heat (f.viewer) == entropy);
  for (int p = 0; p < NS_N_PLANES; p++)
    {
      heat_difference (views[p], entropy, &above, &above_differ, &below, &below_differ);
      g_test_message ("plane %d: entropy above the threshold at %" G_GSIZE_FORMAT
                      " pixels (%" G_GSIZE_FORMAT " differ), below at %" G_GSIZE_FORMAT
                      " (%" G_GSIZE_FORMAT " differ)", p, above, above_differ, below,
                      below_differ);
      g_assert_cmpuint (above, >, 0);
      g_assert_cmpuint (above_differ, >=, above * 9 / 10);
      g_assert_cmpuint (below_differ, ==, 0);
    }

  /* a map of known values: 0 on the left half, 0.9 on the right; only the right changes */
  {
    g_autoptr (NsVolume) known = ns_volume_new (&entropy->grid, &error);
    const NsGrid *g = &known->grid;

    g_assert_no_error (error);
    for (int k = 0; k < g->dim[2]; k++)
      for (int j = 0; j < g->dim[1]; j++)
        for (int i = 0; i < g->dim[0]; i++)
          known->voxels[ns_grid_index (g, i, j, k)] = i < g->dim[0] / 2 ? 0.0f : 0.9f;
    ns_viewer_set_heat (f.viewer, known);
    for (int p = 0; p < NS_N_PLANES; p++)
      {
        heat_difference (views[p], known, &above, &above_differ, &below, &below_differ);
        if (p != NS_PLANE_SAGITTAL)   /* a sagittal plane is all one i */
          {
            g_assert_cmpuint (above, >, 0);
            g_assert_cmpuint (below, >, 0);
          }
        g_assert_cmpuint (above_differ, ==, above);
        g_assert_cmpuint (below_differ, ==, 0);
      }
  }

  /* a new case: no heat, the views draw without it */
  g_autofree char *other_dir = make_case ("Heat_2", 6, FALSE);
  g_autoptr (NsCase) other = ns_case_load (other_dir, NS_CASE_LOAD_DEFAULT, &error);
  g_assert_no_error (error);
  ns_viewer_set_case (f.viewer, other);
  g_assert_null (ns_viewer_get_heat (f.viewer));
  g_assert_true (ns_viewer_get_show_heat (f.viewer));
  for (int p = 0; p < NS_N_PLANES; p++)
    g_assert_true (view_shows (views[p], ns_viewer_get_labels (f.viewer)));
  for (int p = 0; p < NS_N_PLANES; p++)
    g_object_unref (views[p]);
  fixture_teardown (&f);
}

/* ---- Mark Corrected and Queue, the queue panel ------------------------------------------- */

static void
on_open_case (GtkWidget *panel, const char *path, char **out)
{
  g_free (*out);
  *out = g_strdup (path);
}

static void
test_mark_corrected_and_queue_panel (void)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *db = db_path_for ("queue-panel.db");
  Fixture f;
  fixture_setup (&f, "Queue_1", 8, FALSE);
  NsMaskDoc *doc = ns_editor_get_doc (f.editor);

  fixture_run (&f, NS_RUN_MODEL_REPLACE);
  g_assert_true (f.ok);
  /* an edit: clear a quarter of the prediction */
  {
    NsLabelMap *map = ns_mask_doc_get_map (doc);
    gsize n = ns_grid_n_voxels (&map->grid);
    g_autofree guint8 *edited = g_memdup2 (map->labels, n);
    for (gsize v = 0; v < n / 4; v++)
      edited[v] = 0;
    ns_mask_doc_replace (doc, edited, "test edit");
  }
  GtkWidget *panel = g_object_ref_sink (ns_queue_panel_new (db));
  g_assert_cmpuint (ns_queue_panel_get_n_rows (NS_QUEUE_PANEL (panel)), ==, 0);

  gint64 id = ns_model_runner_mark_corrected (f.runner, f.editor, db, &error);
  g_assert_no_error (error);
  g_assert_cmpint (id, >, 0);
  g_assert_false (ns_editor_is_modified (f.editor));
  /* the mask and the prediction in the case's corrections folder; the case's discovery
   * is undisturbed */
  {
    NsCase *c = ns_viewer_get_case (f.viewer);
    g_autofree char *folder = ns_corrections_dup_case_folder (c);
    g_autofree char *mask = g_build_filename (folder, "Queue_1_mask.nii.gz", NULL);
    g_autofree char *pred = g_build_filename (folder, "Queue_1_mask_prediction.nii.gz", NULL);
    g_assert_true (g_file_test (mask, G_FILE_TEST_IS_REGULAR));
    g_assert_true (g_file_test (pred, G_FILE_TEST_IS_REGULAR));
    g_autoptr (NsCase) again = ns_case_load (c->dir, NS_CASE_LOAD_DEFAULT, &error);
    g_assert_no_error (error);
    g_assert_null (again->labels);
  }

  /* a second case through the API, with a known uncertainty */
  g_autofree char *dir2 = make_case ("Queue_2", 8, TRUE);
  g_autofree char *seg2 = g_build_filename (dir2, "Queue_2_seg.nii.gz", NULL);
  {
    g_autoptr (NsDb) q = ns_db_open (db, &error);
    NsQueueAnnotation a = { .mask_path = seg2, .uncertainty = 0.99 };
    g_assert_cmpint (ns_queue_add (q, dir2, &a, &error), >, 0);
    g_assert_no_error (error);
  }
  g_assert_true (ns_queue_panel_refresh (NS_QUEUE_PANEL (panel), &error));
  g_assert_cmpuint (ns_queue_panel_get_n_rows (NS_QUEUE_PANEL (panel)), ==, 2);
  const NsQueueEntry *e = ns_queue_panel_get_entry (NS_QUEUE_PANEL (panel), 0);
  g_assert_cmpstr (e->case_id, ==, "Queue_1");
  g_assert_true (isfinite (e->effort) && e->effort > 0 && e->effort < 1);
  g_assert_cmpint (e->edited_voxels, >, 0);
  g_assert_true (isfinite (e->uncertainty));
  g_assert_cmpfloat_with_epsilon (e->uncertainty, ns_model_runner_get_uncertainty (f.runner),
                                  1e-9);
  g_autofree char *text = ns_queue_panel_dup_row_text (NS_QUEUE_PANEL (panel), 0);
  g_assert_nonnull (strstr (text, "Queue_1"));
  g_assert_nonnull (strstr (text, "queued"));
  /* most uncertain first */
  ns_queue_panel_set_sort (NS_QUEUE_PANEL (panel), NS_QUEUE_SORT_UNCERTAINTY);
  g_assert_cmpstr (ns_queue_panel_get_entry (NS_QUEUE_PANEL (panel), 0)->case_id, ==,
                   "Queue_2");
  /* exclude, requeue */
  ns_queue_panel_select (NS_QUEUE_PANEL (panel), 0);
  g_assert_true (ns_queue_panel_exclude_selected (NS_QUEUE_PANEL (panel), &error));
  g_assert_no_error (error);
  e = ns_queue_panel_get_entry (NS_QUEUE_PANEL (panel), 0);
  g_assert_cmpint (e->state, ==, NS_QUEUE_STATE_EXCLUDED);
  g_assert_true (ns_queue_panel_requeue_selected (NS_QUEUE_PANEL (panel), &error));
  g_assert_cmpint (ns_queue_panel_get_entry (NS_QUEUE_PANEL (panel), 0)->state, ==,
                   NS_QUEUE_STATE_QUEUED);
  /* open */
  char *opened = NULL;
  g_signal_connect (panel, "open-case", G_CALLBACK (on_open_case), &opened);
  ns_queue_panel_open_selected (NS_QUEUE_PANEL (panel));
  g_assert_nonnull (opened);
  g_assert_true (g_str_has_suffix (opened, "Queue_2"));
  g_free (opened);
  g_object_unref (panel);
  fixture_teardown (&f);
}

/* ---- the train panel ------------------------------------------------------------------ */

static gboolean
train_done (gpointer data)
{
  return ns_train_panel_get_state (data) != NS_TRAIN_RUNNING;
}

/* A queue with one queued case and a registered base model (v1). */
static gint64
prepare_db (const char *db, const char *case_name)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *dir = make_case (case_name, 8, TRUE);
  g_autofree char *file = g_strdup_printf ("%s_seg.nii.gz", case_name);
  g_autofree char *seg = g_build_filename (dir, file, NULL);
  g_autoptr (NsDb) q = ns_db_open (db, &error);
  NsQueueAnnotation a = { .mask_path = seg, .uncertainty = NAN };
  gint64 id = ns_queue_add (q, dir, &a, &error);
  g_assert_no_error (error);
  NsRegistryModelInfo info = { .path = model_path, .arch = "mobilenetv2-unet",
                                .parent = NS_REGISTRY_NONE,
                            .metrics = "{\"dice_wt\": 0.5, \"dice_tc\": 0.4, \"dice_et\": 0.3}" };
  int known = NS_REGISTRY_NONE;
  g_assert_true (ns_registry_find_model_by_path (q, model_path, &known, &error));
  if (known == NS_REGISTRY_NONE)
    g_assert_cmpint (ns_registry_register_model (q, &info, &error), ==, 1);
  return id;
}

static GtkWidget *
run_fake_trainer (const char *db, const char *script, gint64 case_id)
{
  g_autoptr (GError) error = NULL;
  GtkWidget *panel = g_object_ref_sink (ns_train_panel_new (db));
  const char *argv[] = { "/bin/sh", "-c", script, NULL };
  g_autofree char *out = g_build_filename (ns_test_tmpdir (), "fake-out.safetensors", NULL);

  g_assert_true (ns_train_panel_start_argv (NS_TRAIN_PANEL (panel), argv, out, 1, &case_id, 1,
                                            &error));
  g_assert_no_error (error);
  return panel;
}

static void
test_train_panel_stream (void)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *db = db_path_for ("train-stream.db");
  gint64 case_id = prepare_db (db, "Train_1");
  g_autofree char *new_model = g_build_filename (ns_test_tmpdir (), "v2.safetensors", NULL);
  write_model (new_model, 10);
  g_autofree char *script = g_strdup_printf (
    "printf '%%s\\n' "
    "'{\"event\":\"step\",\"epoch\":1,\"epochs\":2,\"step\":1,\"total_steps\":4,\"loss\":1.5,"
      "\"eta_seconds\":3}' "
    "'not json' "
    "'{\"event\":\"step\",\"epoch\":1,\"epochs\":2,\"step\":2,\"total_steps\":4,\"loss\":1.2,"
      "\"eta_seconds\":2}' "
    "'{\"event\":\"epoch\",\"epoch\":1,\"epochs\":2,\"step\":2,\"total_steps\":4,\"loss\":1.3,"
      "\"dice_wt\":0.41,\"dice_tc\":0.3,\"dice_et\":0.2}' "
    "'{\"event\":\"step\",\"epoch\":2,\"epochs\":2,\"step\":4,\"total_steps\":4,\"loss\":0.9,"
      "\"eta_seconds\":0}' "
    "'{\"event\":\"epoch\",\"epoch\":2,\"epochs\":2,\"step\":4,\"total_steps\":4,\"loss\":0.95,"
      "\"dice_wt\":0.62,\"dice_tc\":0.5,\"dice_et\":0.4}' "
    "'{\"event\":\"done\",\"steps\":4,\"epochs\":2,\"seconds\":1.0,\"loss\":0.9,"
      "\"stopped\":false,\"best_score\":0.5,\"dice_wt\":0.62,\"dice_tc\":0.5,\"dice_et\":0.4,"
      "\"best_epoch\":2,\"model\":\"%s\",\"device\":\"cpu\"}'", new_model);
  GtkWidget *panel = run_fake_trainer (db, script, case_id);

  g_assert_true (ns_test_wait_until (train_done, panel, 30));
  NsTrainPanel *p = NS_TRAIN_PANEL (panel);
  if (ns_train_panel_get_state (p) != NS_TRAIN_SUCCEEDED)
    g_error ("fake trainer: %s", ns_train_panel_get_message (p));
  g_assert_cmpuint (ns_train_panel_get_n_steps (p), ==, 3);
  g_assert_cmpuint (ns_train_panel_get_n_epochs (p), ==, 2);
  double loss, dice;
  ns_train_panel_get_epoch (p, 1, &loss, &dice);
  g_assert_cmpfloat_with_epsilon (loss, 0.95, 1e-9);
  g_assert_cmpfloat_with_epsilon (dice, 0.62, 1e-9);
  double fraction;
  ns_train_panel_get_progress (p, &fraction, NULL);
  g_assert_cmpfloat (fraction, ==, 1.0);
  g_assert_false (ns_train_panel_feed_line (p, "{\"no_event\": 1}"));

  /* the plot draws the series */
  {
    GtkWidget *win = gtk_window_new ();
    gtk_window_set_child (GTK_WINDOW (win), g_object_ref (panel));
    g_object_unref (panel);
    gtk_window_present (GTK_WINDOW (win));
    for (int i = 0; i < 50; i++)
      g_main_context_iteration (NULL, FALSE), g_usleep (2000);
    GtkWidget *plot = ns_train_panel_get_plot (p);
    int w = gtk_widget_get_width (plot), h = gtk_widget_get_height (plot);
    g_assert_cmpint (w, >, 50);
    g_autoptr (GdkPaintable) paintable = gtk_widget_paintable_new (plot);
    g_autoptr (GtkSnapshot) snap = gtk_snapshot_new ();
    gdk_paintable_snapshot (paintable, snap, w, h);
    g_autoptr (GskRenderNode) node = gtk_snapshot_free_to_node (g_steal_pointer (&snap));
    g_assert_nonnull (node);
    /* NS_TEST_SCREENSHOTS=DIR: the plot as a PNG, to look at */
    if (g_getenv ("NS_TEST_SCREENSHOTS") != NULL)
      {
        GskRenderer *renderer = gtk_native_get_renderer (GTK_NATIVE (win));
        g_autoptr (GdkTexture) tex = gsk_renderer_render_texture (renderer, node, NULL);
        g_autofree char *png = g_build_filename (g_getenv ("NS_TEST_SCREENSHOTS"),
                                                 "train-plot.png", NULL);
        g_assert_true (gdk_texture_save_to_png (tex, png));
      }
    gtk_window_set_child (GTK_WINDOW (win), NULL);
    gtk_window_destroy (GTK_WINDOW (win));
  }

  /* registered with provenance; the case is used by it */
  int v = ns_train_panel_get_new_version (p);
  g_assert_cmpint (v, ==, 2);
  g_autoptr (NsDb) q = ns_db_open (db, &error);
  g_autoptr (NsRegistryModel) m = ns_registry_dup_model (q, v, &error);
  g_assert_no_error (error);
  g_assert_cmpint (m->parent, ==, 1);
  g_assert_cmpfloat_with_epsilon (m->dice[0], 0.62, 1e-9);
  g_assert_nonnull (strstr (m->metrics, "\"command\""));
  g_assert_nonnull (strstr (m->metrics, "\"cases_used\":1"));
  g_autoptr (NsQueueEntry) e = ns_queue_dup_entry (q, "Train_1", &error);
  g_assert_cmpint (e->state, ==, NS_QUEUE_STATE_USED);
  g_assert_cmpint (e->used_by, ==, 2);
  g_object_unref (panel);
}

static void
check_registry_unchanged (const char *db, guint n_models)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (NsDb) q = ns_db_open (db, &error);
  g_autoptr (GPtrArray) models = ns_registry_list_models (q, &error);
  g_autoptr (GPtrArray) runs = ns_runs_list (q, &error);

  g_assert_cmpuint (models->len, ==, n_models);
  g_assert_cmpuint (runs->len, >, 0);
  NsRun *r = runs->pdata[runs->len - 1];
  g_assert_cmpint (r->status, !=, NS_RUN_RUNNING);
  g_assert_cmpint (r->status, !=, NS_RUN_SUCCEEDED);
  g_autoptr (GPtrArray) queued = ns_queue_list (q, NS_QUEUE_SORT_ADDED, NS_QUEUE_STATE_QUEUED,
                                                &error);
  g_assert_cmpuint (queued->len, ==, 1);
}

static void
test_train_panel_crash (void)
{
  g_autofree char *db = db_path_for ("train-crash.db");
  gint64 case_id = prepare_db (db, "Crash_1");
  GtkWidget *panel = run_fake_trainer (db,
    "printf '%s\\n' '{\"event\":\"step\",\"step\":1,\"total_steps\":9,\"loss\":1}'; "
    "kill -SEGV $$", case_id);

  g_assert_true (ns_test_wait_until (train_done, panel, 30));
  g_assert_cmpint (ns_train_panel_get_state (NS_TRAIN_PANEL (panel)), ==, NS_TRAIN_FAILED);
  g_assert_nonnull (strstr (ns_train_panel_get_message (NS_TRAIN_PANEL (panel)), "signal 11"));
  check_registry_unchanged (db, 2);
  g_object_unref (panel);

  /* an error event and a non-zero exit */
  panel = run_fake_trainer (db,
    "printf '%s\\n' '{\"event\":\"error\",\"message\":\"x.nii.gz: no such file\"}'; exit 1",
    case_id);
  g_assert_true (ns_test_wait_until (train_done, panel, 30));
  g_assert_cmpint (ns_train_panel_get_state (NS_TRAIN_PANEL (panel)), ==, NS_TRAIN_FAILED);
  g_assert_nonnull (strstr (ns_train_panel_get_message (NS_TRAIN_PANEL (panel)),
                            "no such file"));
  check_registry_unchanged (db, 2);
  g_object_unref (panel);
}

static gboolean
has_steps (gpointer data)
{
  return ns_train_panel_get_n_steps (data) > 0;
}

static void
test_train_panel_cancel (void)
{
  g_autofree char *db = db_path_for ("train-cancel.db");
  gint64 case_id = prepare_db (db, "Stop_1");
  GtkWidget *panel = run_fake_trainer (db,
    "trap 'printf \"%s\\n\" \"{\\\"event\\\":\\\"done\\\",\\\"stopped\\\":true}\"; exit 0' TERM; "
    "printf '%s\\n' '{\"event\":\"step\",\"step\":1,\"total_steps\":9,\"loss\":1}'; "
    "while :; do sleep 0.05; done", case_id);

  g_assert_true (ns_test_wait_until (has_steps, panel, 30));
  ns_train_panel_cancel (NS_TRAIN_PANEL (panel));
  g_assert_true (ns_test_wait_until (train_done, panel, 30));
  g_assert_cmpint (ns_train_panel_get_state (NS_TRAIN_PANEL (panel)), ==, NS_TRAIN_CANCELLED);
  check_registry_unchanged (db, 2);
  g_object_unref (panel);
}

static void
test_fine_tune_dialog (void)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *db = db_path_for ("dialog.db");
  prepare_db (db, "Dialog_1");
  NsFineTuneDialog *dialog = ns_fine_tune_dialog_new (NULL, db);
  NsTrainRequest r = { 0 };

  g_assert_true (ns_fine_tune_dialog_get_request (dialog, &r, &error));
  g_assert_no_error (error);
  /* the base is the current default: the shipped model (version 0) until one is promoted */
  g_autofree char *shipped = ns_paths_dup_shipped_model (&error);
  g_assert_no_error (error);
  g_assert_cmpstr (r.base_model, ==, shipped);
  g_assert_cmpint (r.base_version, ==, NS_REGISTRY_SHIPPED);
  g_assert_cmpint (r.epochs, ==, 5);
  g_assert_cmpfloat_with_epsilon (r.lr, 1e-4, 1e-12);
  g_assert_cmpstr (r.device, ==, "auto");
  g_assert_null (r.val_cases[0]);
  ns_train_request_clear (&r);
  g_assert_true (gtk_widget_get_sensitive (ns_fine_tune_dialog_get_start_button (dialog)));
  gtk_window_destroy (GTK_WINDOW (dialog));

  /* the validation list is kept for the next dialog */
  g_autofree char *list = g_build_filename (ns_test_tmpdir (), "validation-cases.txt", NULL);
  g_autofree char *val_dir = make_case ("Val_1", 6, TRUE);
  g_autofree char *text = g_strdup_printf ("%s\n", val_dir);
  g_assert_true (g_file_set_contents (list, text, -1, NULL));
  dialog = ns_fine_tune_dialog_new (NULL, db);
  g_assert_true (ns_fine_tune_dialog_get_request (dialog, &r, &error));
  g_assert_cmpstr (r.val_cases[0], ==, val_dir);
  g_assert_null (r.val_cases[1]);
  ns_train_request_clear (&r);
  gtk_window_destroy (GTK_WINDOW (dialog));
  /* a validation folder that does not exist is refused, naming it */
  g_assert_true (g_file_set_contents (list, "/nonexistent/case\n", -1, NULL));
  dialog = ns_fine_tune_dialog_new (NULL, db);
  g_assert_false (ns_fine_tune_dialog_get_request (dialog, &r, &error));
  g_assert_nonnull (strstr (error->message, "/nonexistent/case"));
  g_clear_error (&error);
  gtk_window_destroy (GTK_WINDOW (dialog));
  g_assert_true (g_file_set_contents (list, "", -1, NULL));
}

/* An edit made while the model runs is kept (Fill only unlabelled after the edit). */
static void
test_edit_during_run (void)
{
  Fixture f;
  fixture_setup (&f, "Busy_1", 24, FALSE);
  NsMaskDoc *doc = ns_editor_get_doc (f.editor);
  NsLabelMap *map = ns_mask_doc_get_map (doc);
  gsize n = ns_grid_n_voxels (&map->grid);
  g_autoptr (GError) error = NULL;

  ns_model_runner_set_max_batch (f.runner, 1);
  g_assert_true (ns_model_runner_start (f.runner, NS_RUN_MODEL_FILL_UNLABELLED, FALSE, &error));
  g_autofree guint8 *edited = g_memdup2 (map->labels, n);
  for (gsize v = n / 2; v < n / 2 + 500; v++)
    edited[v] = 3;
  ns_mask_doc_replace (doc, edited, "edit during the run");
  g_assert_true (ns_test_wait_until (fixture_finished, &f, 120));
  g_assert_true (f.ok);
  NsLabelMap *pred = ns_model_runner_get_prediction (f.runner);
  for (gsize v = 0; v < n; v++)
    g_assert_cmpuint (map->labels[v], ==, edited[v] != 0 ? edited[v] : pred->labels[v]);
  g_assert_cmpuint (ns_history_n_undo (ns_mask_doc_get_history (doc)), ==, 2);
  fixture_teardown (&f);
}

typedef struct
{
  Fixture *f;
  NsRunModelMode mode;
  int n_reports;
  gboolean edited;
  gsize v_done, v_pending;   /* edited voxels on a reported and an unreported slice */
  guint8 shown_done, shown_pending, shown_bulk;
  gsize v_bulk;
} EditLive;

/* After the second slice arrives: paint label 3 at one voxel of a slice already predicted
 * and one of a slice still pending, through the editor's path (commit + labels_edited),
 * and see at once what the preview shows there. */
static void
edit_live_on_preview (NsModelRunner *r, const int *slices, int n_slices, EditLive *e)
{
  NsMaskDoc *doc = ns_editor_get_doc (e->f->editor);
  NsLabelMap *map = ns_mask_doc_get_map (doc);
  NsLabelMap *preview = ns_model_runner_get_preview (r);
  gsize plane = (gsize) map->grid.dim[0] * map->grid.dim[1], n = ns_grid_n_voxels (&map->grid);

  if (++e->n_reports != 2 || e->edited)
    return;
  e->edited = TRUE;
  /* the centre of the brain on the slice just reported and on the last brain slice */
  gsize centre = (gsize) (map->grid.dim[1] / 2) * map->grid.dim[0] + map->grid.dim[0] / 2;
  e->v_done = (gsize) slices[0] * plane + centre;
  e->v_pending = (gsize) (map->grid.dim[2] - 2) * plane + centre;
  g_autofree guint8 *after = g_memdup2 (map->labels, n);
  after[e->v_done] = 3;
  after[e->v_pending] = 3;
  NsEditChange *change = ns_edit_change_from_labels (map->labels, after, n, "during the run");
  ns_edit_change_apply (change, map, TRUE);
  ns_edit_change_ref (change);
  g_assert_true (ns_mask_doc_commit (doc, change));
  ns_viewer_labels_edited (e->f->viewer, change, TRUE, NULL);
  ns_edit_change_unref (change);
  e->shown_done = preview->labels[e->v_done];
  e->shown_pending = preview->labels[e->v_pending];

  /* the whole mask replaced at once (no box): refreshed when the loop is idle */
  e->v_bulk = e->v_pending + 1;
  after[e->v_bulk] = 3;
  ns_mask_doc_replace (doc, after, "bulk during the run");
  ns_viewer_labels_changed (e->f->viewer);
  for (int i = 0; i < 5; i++)
    g_main_context_iteration (NULL, FALSE);
  e->shown_bulk = preview->labels[e->v_bulk];
}

/* Edits made while Run Model runs show in the preview at once, combined with the slices
 * already predicted as the mode will combine them at the end. */
static void
test_edit_during_run_shown (void)
{
  for (int m = 0; m < 2; m++)
    {
      Fixture f;
      EditLive e = { &f, m == 0 ? NS_RUN_MODEL_FILL_UNLABELLED : NS_RUN_MODEL_REPLACE };

      fixture_setup (&f, m == 0 ? "Shown_1" : "Shown_2", 12, FALSE);
      ns_model_runner_set_max_batch (f.runner, 1);
      g_signal_connect (f.runner, "preview-updated", G_CALLBACK (edit_live_on_preview), &e);
      fixture_run (&f, e.mode);
      g_assert_true (f.ok);
      g_assert_true (e.edited);
      NsLabelMap *map = ns_mask_doc_get_map (ns_editor_get_doc (f.editor));
      NsLabelMap *pred = ns_model_runner_get_prediction (f.runner);
      /* not yet predicted: the edit shows as it is */
      g_assert_cmpuint (e.shown_pending, ==, 3);
      g_assert_cmpuint (e.shown_bulk, ==, 3);
      if (e.mode == NS_RUN_MODEL_FILL_UNLABELLED)
        {
          /* the user's voxels win everywhere, during the run and after it */
          g_assert_cmpuint (e.shown_done, ==, 3);
          g_assert_cmpuint (map->labels[e.v_done], ==, 3);
          g_assert_cmpuint (map->labels[e.v_pending], ==, 3);
          g_assert_cmpuint (map->labels[e.v_bulk], ==, 3);
        }
      else
        {
          /* Replace: a predicted slice shows the prediction, which the mask takes at the
           * end (one undo entry brings the edit back) */
          g_assert_cmpuint (e.shown_done, ==, pred->labels[e.v_done]);
          g_assert_cmpuint (map->labels[e.v_done], ==, pred->labels[e.v_done]);
          g_assert_cmpuint (map->labels[e.v_pending], ==, pred->labels[e.v_pending]);
        }
      g_signal_handlers_disconnect_by_data (f.runner, &e);
      fixture_teardown (&f);
    }
}

/* A prediction for a case that is no longer shown is discarded, never applied. */
static void
test_case_changed_during_run (void)
{
  g_autoptr (GError) error = NULL;
  Fixture f;
  fixture_setup (&f, "Switch_1", 16, FALSE);
  g_autofree char *other_dir = make_case ("Switch_2", 6, FALSE);
  g_autoptr (NsCase) other = ns_case_load (other_dir, NS_CASE_LOAD_DEFAULT, &error);

  g_assert_true (ns_model_runner_start (f.runner, NS_RUN_MODEL_REPLACE, FALSE, &error));
  ns_viewer_set_case (f.viewer, other);
  g_assert_true (ns_test_wait_until (fixture_finished, &f, 120));
  g_assert_false (f.ok);
  g_assert_nonnull (strstr (f.message, "another case"));
  g_assert_null (ns_model_runner_get_prediction (f.runner));
  fixture_teardown (&f);
}

/* ---- the window's actions ------------------------------------------------------------- */

static int n_opened;

static void
open_case_cb (GtkWindow *window, const char *path)
{
  n_opened++;
}

static gboolean
window_idle (gpointer data)
{
  return !ns_window_is_loading (data);
}

static guint
n_toplevels (void)
{
  return g_list_model_get_n_items (gtk_window_get_toplevels ());
}

static gboolean
not_queueing (gpointer controller)
{
  return !ns_ai_controller_is_queueing (controller);
}

/* Mark Corrected and Queue, and its end (the queue's write runs in a worker). */
static void
mark_corrected_and_wait (NsAiController *controller)
{
  ns_ai_controller_mark_corrected (controller);
  g_assert_true (ns_test_wait_until (not_queueing, controller, 60));
  ns_test_drain ();
}

static void
test_controller (void)
{
  g_autofree char *dir = make_case ("Ctl_1", 8, FALSE);
  NsWindow *window = ns_window_new (NULL);
  const char *paths[] = { dir, NULL };

  gtk_window_present (GTK_WINDOW (window));
  ns_window_open (window, paths);
  g_assert_true (ns_test_wait_until (window_idle, window, 60));
  NsAiController *ctl = ns_ai_controller_new (GTK_WINDOW (window), ns_window_get_viewer (window),
                                              ns_window_get_editor (window), open_case_cb);
  NsModelRunner *runner = ns_ai_controller_get_runner (ctl);
  NsMaskDoc *doc = ns_editor_get_doc (ns_window_get_editor (window));

  ns_model_runner_set_model (runner, model_path, 0);
  ns_model_runner_set_device (runner, "cpu");
  g_assert_true (ns_ai_controller_is_enabled (ctl, "seg.run-model"));
  /* an empty mask: no question, the run starts with its progress window */
  guint before = n_toplevels ();
  ns_ai_controller_run_model (ctl);
  g_assert_true (ns_model_runner_is_running (runner));
  g_assert_cmpuint (n_toplevels (), ==, before + 1);
  g_assert_true (ns_test_wait_until (runner_idle, runner, 120));
  for (int i = 0; i < 20; i++)
    g_main_context_iteration (NULL, FALSE);
  g_assert_cmpuint (n_toplevels (), ==, before);
  g_assert_cmpuint (count_nonzero (ns_mask_doc_get_map (doc)), >, 0);
  /* the GUI always asks for the uncertainty, and the views get it as their heat overlay */
  g_assert_nonnull (ns_model_runner_get_entropy (runner));
  g_assert_true (ns_viewer_get_heat (ns_window_get_viewer (window))
                 == ns_model_runner_get_entropy (runner));
  /* now the mask has labels: Run Model asks first and does not start */
  ns_ai_controller_run_model (ctl);
  g_assert_false (ns_model_runner_is_running (runner));
  g_assert_cmpuint (n_toplevels (), ==, before + 1);
  /* Mark Corrected and Queue shows the queue with the case */
  mark_corrected_and_wait (ctl);
  g_assert_cmpuint (n_toplevels (), ==, before + 2);
  {
    g_autoptr (GError) error = NULL;
    g_autoptr (NsDb) q = ns_db_open (NULL, &error);
    g_autoptr (NsQueueEntry) e = ns_queue_dup_entry (q, "Ctl_1", &error);
    g_assert_no_error (error);
    g_assert_cmpint (e->state, ==, NS_QUEUE_STATE_QUEUED);
  }
  ns_ai_controller_show_queue (ctl);   /* the same window */
  g_assert_cmpuint (n_toplevels (), ==, before + 2);
  ns_ai_controller_show_models (ctl);
  ns_ai_controller_fine_tune (ctl);
  ns_ai_controller_choose_model (ctl);
  ns_ai_controller_show_uncertainty (ctl);
  g_assert_cmpuint (n_toplevels (), ==, before + 6);
  /* the heat map: the slice through the cursor differs from the image alone where the
   * entropy is above the threshold */
  {
    g_autoptr (GError) error = NULL;
    cairo_surface_t *s = ns_uncertainty_view_render (ns_window_get_viewer (window), runner,
                                                     &error);
    g_assert_no_error (error);
    NsVolume *h = ns_model_runner_get_entropy (runner);
    g_assert_nonnull (h);
    int w = cairo_image_surface_get_width (s), hh = cairo_image_surface_get_height (s);
    g_assert_cmpint (w, ==, 64);
    g_assert_cmpint (hh, ==, 48);
    const guint8 *px = cairo_image_surface_get_data (s);
    int stride = cairo_image_surface_get_stride (s);
    gsize coloured = 0;
    for (int y = 0; y < hh; y++)
      for (int x = 0; x < w; x++)
        {
          const guint8 *p = px + y * stride + 4 * x;
          coloured += !(p[0] == p[1] && p[1] == p[2]);   /* grey image vs. viridis */
        }
    g_test_message ("%" G_GSIZE_FORMAT " coloured pixels", coloured);
    g_assert_cmpuint (coloured, >, 0);
    cairo_surface_destroy (s);
  }
  g_object_unref (ctl);
  gtk_window_destroy (GTK_WINDOW (window));
}

/* The Models dialog of window (earlier tests leave theirs open). */
static NsModelsDialog *
find_models_dialog (GtkWindow *window)
{
  GListModel *tops = gtk_window_get_toplevels ();
  for (guint i = 0; i < g_list_model_get_n_items (tops); i++)
    {
      g_autoptr (GObject) w = g_list_model_get_item (tops, i);
      if (NS_IS_MODELS_DIALOG (w) && gtk_window_get_transient_for (GTK_WINDOW (w)) == window)
        return NS_MODELS_DIALOG (w);
    }
  return NULL;
}

/* The runner on the default (the shipped model, version 0) follows a promotion made in
 * the Models dialog and a roll-back to version 0; a file chosen by hand (not registered)
 * stays chosen. */
static void
test_controller_follows_default (void)
{
  g_autoptr (GError) error = NULL;
  NsWindow *window = ns_window_new (NULL);
  NsAiController *ctl = ns_ai_controller_new (GTK_WINDOW (window), ns_window_get_viewer (window),
                                              ns_window_get_editor (window), open_case_cb);
  NsModelRunner *runner = ns_ai_controller_get_runner (ctl);
  int version = -7;
  g_autofree char *shipped = ns_model_runner_find_default_model (NULL, &version, &error);
  g_assert_no_error (error);
  g_assert_cmpint (version, ==, NS_REGISTRY_SHIPPED);
  ns_model_runner_set_model (runner, shipped, version);

  g_autofree char *better = g_build_filename (ns_test_tmpdir (), "follow.safetensors", NULL);
  write_model (better, 31);
  int v = 0;
  {
    g_autoptr (NsDb) q = ns_db_open (NULL, &error);
    g_assert_no_error (error);
    NsRegistryModelInfo info = { .path = better, .parent = NS_REGISTRY_SHIPPED };
    v = ns_registry_register_model (q, &info, &error);
    g_assert_no_error (error);
    for (int m = 0; m < 2; m++)
      {
        NsRegistryValidation f = { 0, m == 0 ? NS_REGISTRY_SHIPPED : v, (char *) "/c/F",
                                   (char *) "F", (char *) "ff", (char *) "tf",
                                   { 0.7 + 0.1 * m, 0.7, 0.7 }, { 90, 30, 10 }, { 100, 30, 10 },
                                   NULL, NULL };
        g_assert_cmpint (ns_registry_add_validation (q, &f, &error), >, 0);
      }
  }
  ns_ai_controller_show_models (ctl);
  NsModelsDialog *d = find_models_dialog (GTK_WINDOW (window));
  g_assert_nonnull (d);
  g_assert_true (ns_models_dialog_promote (d, v, FALSE, &error));
  g_assert_no_error (error);
  g_assert_cmpstr (ns_model_runner_get_model_path (runner), ==, better);
  g_assert_cmpint (ns_model_runner_get_model_version (runner), ==, v);
  int back = -1;
  g_assert_true (ns_models_dialog_rollback (d, 0, &back, &error));
  g_assert_cmpint (back, ==, NS_REGISTRY_SHIPPED);
  g_assert_cmpstr (ns_model_runner_get_model_path (runner), ==, shipped);
  g_assert_cmpint (ns_model_runner_get_model_version (runner), ==, NS_REGISTRY_SHIPPED);

  /* chosen by hand: kept */
  ns_model_runner_set_model (runner, model_path, NS_REGISTRY_NONE);
  g_assert_true (ns_models_dialog_promote (d, v, FALSE, &error));
  g_assert_cmpstr (ns_model_runner_get_model_path (runner), ==, model_path);
  g_assert_true (ns_models_dialog_rollback (d, 0, &back, &error));
  g_assert_cmpint (back, ==, NS_REGISTRY_SHIPPED);
  gtk_window_destroy (GTK_WINDOW (d));
  g_object_unref (ctl);
  gtk_window_destroy (GTK_WINDOW (window));
}

/* With the sidebar panel, Run Model reports there (no window of its own). */
static void
test_controller_panel (void)
{
  g_autofree char *dir = make_case ("Panel_1", 8, FALSE);
  NsWindow *window = ns_window_new (NULL);
  const char *paths[] = { dir, NULL };

  gtk_window_present (GTK_WINDOW (window));
  ns_window_open (window, paths);
  g_assert_true (ns_test_wait_until (window_idle, window, 60));
  NsAiController *ctl = ns_ai_controller_new (GTK_WINDOW (window), ns_window_get_viewer (window),
                                              ns_window_get_editor (window), open_case_cb);
  NsModelRunner *runner = ns_ai_controller_get_runner (ctl);
  GtkWidget *holder = gtk_window_new ();
  GtkWidget *panel = ns_ai_controller_create_panel (ctl);

  gtk_window_set_child (GTK_WINDOW (holder), panel);
  gtk_window_present (GTK_WINDOW (holder));
  ns_model_runner_set_model (runner, model_path, 0);
  ns_model_runner_set_device (runner, "cpu");
  guint before = n_toplevels ();
  ns_ai_controller_run_model (ctl);
  g_assert_true (ns_model_runner_is_running (runner));
  g_assert_cmpuint (n_toplevels (), ==, before);
  g_assert_true (ns_test_wait_until (runner_idle, runner, 120));
  /* the result line: the last child of the panel */
  const char *text = gtk_label_get_text (GTK_LABEL (gtk_widget_get_last_child (panel)));
  g_test_message ("%s", text);
  g_assert_nonnull (strstr (text, "uncertainty"));
  gtk_window_destroy (GTK_WINDOW (holder));
  g_object_unref (ctl);
  gtk_window_destroy (GTK_WINDOW (window));
}

/* Whether the menu model (or a submenu or section of it) has an item with this action. */
static gboolean
menu_has_action (GMenuModel *menu, const char *action)
{
  for (int i = 0; i < g_menu_model_get_n_items (menu); i++)
    {
      g_autofree char *name = NULL;
      g_autoptr (GMenuLinkIter) links = g_menu_model_iterate_item_links (menu, i);
      GMenuModel *link;

      if (g_menu_model_get_item_attribute (menu, i, G_MENU_ATTRIBUTE_ACTION, "s", &name)
          && g_strcmp0 (name, action) == 0)
        return TRUE;
      while (g_menu_link_iter_get_next (links, NULL, &link))
        {
          gboolean found = menu_has_action (link, action);

          g_object_unref (link);
          if (found)
            return TRUE;
        }
    }
  return FALSE;
}

/* The workbench's menu: the AI actions are enabled and reach the controller; Accept
 * Prediction is gone (the prediction is one undo entry); the uncertainty overlay is a
 * View toggle of the viewer's show-heat. */
static void
test_window_menu (void)
{
  g_autofree char *dir = make_case ("Menu_1", 8, FALSE);
  NsWindow *window = ns_window_new (NULL);
  const char *paths[] = { dir, NULL };

  gtk_window_present (GTK_WINDOW (window));
  ns_window_open (window, paths);
  g_assert_true (ns_test_wait_until (window_idle, window, 60));
  if (g_getenv ("NS_TEST_SCREENSHOTS") != NULL)
    {
      for (int i = 0; i < 100; i++)
        g_main_context_iteration (NULL, FALSE), g_usleep (2000);
      int w = gtk_widget_get_width (GTK_WIDGET (window));
      int h = gtk_widget_get_height (GTK_WIDGET (window));
      g_autoptr (GdkPaintable) paintable = gtk_widget_paintable_new (GTK_WIDGET (window));
      g_autoptr (GtkSnapshot) snap = gtk_snapshot_new ();
      gdk_paintable_snapshot (paintable, snap, w, h);
      g_autoptr (GskRenderNode) node = gtk_snapshot_free_to_node (g_steal_pointer (&snap));
      GskRenderer *renderer = gtk_native_get_renderer (GTK_NATIVE (window));
      g_autoptr (GdkTexture) tex = gsk_renderer_render_texture (renderer, node, NULL);
      g_autofree char *png = g_build_filename (g_getenv ("NS_TEST_SCREENSHOTS"), "window.png",
                                               NULL);
      gdk_texture_save_to_png (tex, png);
    }
  {
    GtkWidget *bar = ns_test_find_widget (GTK_WIDGET (window), GTK_TYPE_POPOVER_MENU_BAR);
    GMenuModel *menu;

    g_assert_nonnull (bar);
    menu = gtk_popover_menu_bar_get_menu_model (GTK_POPOVER_MENU_BAR (bar));
    g_assert_true (menu_has_action (menu, "seg.run-model"));
    g_assert_true (menu_has_action (menu, "view.show-heat"));
    g_assert_false (menu_has_action (menu, "seg.accept"));
    g_assert_false (gtk_widget_activate_action (GTK_WIDGET (window), "seg.accept", NULL));
  }
  {
    NsViewer *viewer = ns_window_get_viewer (window);

    g_assert_false (ns_viewer_get_show_heat (viewer));
    g_assert_true (gtk_widget_activate_action (GTK_WIDGET (window), "view.show-heat", NULL));
    g_assert_true (ns_viewer_get_show_heat (viewer));
    ns_viewer_set_show_heat (viewer, FALSE);
    g_assert_false (ns_viewer_get_show_heat (viewer));
    g_assert_true (gtk_widget_activate_action (GTK_WIDGET (window), "view.show-heat", NULL));
    g_assert_true (ns_viewer_get_show_heat (viewer));
  }
  guint before = n_toplevels ();
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (window), "train.models", NULL));
  g_assert_cmpuint (n_toplevels (), ==, before + 1);
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (window), "train.queue", NULL));
  g_assert_cmpuint (n_toplevels (), ==, before + 2);
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (window), "train.fine-tune", NULL));
  g_assert_cmpuint (n_toplevels (), ==, before + 3);
  /* Run Model: the bundled model runs (and is cancelled when the window goes), or, without
   * one, the missing model is reported in a window */
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (window), "seg.run-model", NULL));
  g_assert_cmpuint (n_toplevels (), >=, before + 3);
  gtk_window_destroy (GTK_WINDOW (window));
}

/* ---- the loop as a person lives it (issue 12) ------------------------------------------ */

/* A workbench window on a fresh copy of a synthetic case, the test's model chosen. */
static NsWindow *
open_window (const char *case_name, int nz, gboolean seg, char **dir_out)
{
  g_autofree char *dir = make_case (case_name, nz, seg);
  NsWindow *window = ns_window_new (NULL);
  const char *paths[] = { dir, NULL };
  NsModelRunner *runner = ns_ai_controller_get_runner (ns_window_get_ai_controller (window));

  gtk_window_present (GTK_WINDOW (window));
  ns_window_open (window, paths);
  g_assert_true (ns_test_wait_until (window_idle, window, 60));
  g_assert_nonnull (ns_editor_get_doc (ns_window_get_editor (window)));
  ns_model_runner_set_model (runner, model_path, 0);
  ns_model_runner_set_device (runner, "cpu");
  if (dir_out != NULL)
    *dir_out = g_steal_pointer (&dir);
  return window;
}

static void
run_model_in (NsWindow *window)
{
  NsModelRunner *runner = ns_ai_controller_get_runner (ns_window_get_ai_controller (window));

  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (window), "seg.run-model", NULL));
  g_assert_true (ns_model_runner_is_running (runner));
  g_assert_true (ns_test_wait_until (runner_idle, runner, 120));
  ns_test_drain ();
}

/* On a freshly opened case, Run Model is one undoable step that Undo offers at once (it
 * stayed greyed out until a stroke was painted); Undo brings the empty mask back, and a
 * quit then is clean: no question, and no "edits were not saved" offer at the next
 * start. */
static void
test_undo_after_run (void)
{
  g_autofree char *dir = NULL;
  NsWindow *window = open_window ("Undo_1", 8, FALSE, &dir);
  NsEditor *editor = ns_window_get_editor (window);
  NsLabelMap *map = ns_mask_doc_get_map (ns_editor_get_doc (editor));
  const char *paths[] = { dir, NULL };

  g_assert_cmpuint (count_nonzero (map), ==, 0);
  g_assert_false (ns_test_window_action_enabled (window, "win.undo"));
  run_model_in (window);
  g_assert_cmpuint (count_nonzero (map), >, 0);
  g_assert_true (ns_test_window_action_enabled (window, "win.undo"));
  g_assert_true (g_str_has_prefix (gtk_window_get_title (GTK_WINDOW (window)), "*"));

  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (window), "win.undo", NULL));
  g_assert_cmpuint (count_nonzero (map), ==, 0);
  g_assert_false (ns_test_window_action_enabled (window, "win.undo"));
  g_assert_true (ns_test_window_action_enabled (window, "win.redo"));
  g_assert_false (ns_editor_is_modified (editor));

  g_object_add_weak_pointer (G_OBJECT (window), (gpointer *) &window);
  gtk_window_close (GTK_WINDOW (window));
  ns_test_drain ();
  g_assert_null (window);

  window = ns_window_new (NULL);
  gtk_window_present (GTK_WINDOW (window));
  ns_window_open (window, paths);
  g_assert_true (ns_test_wait_until (window_idle, window, 60));
  g_assert_nonnull (ns_editor_get_doc (ns_window_get_editor (window)));
  g_assert_null (ns_window_get_question (window));
  gtk_window_destroy (GTK_WINDOW (window));
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
delete_case_file (const char *dir, const char *suffix)
{
  g_autofree char *name = g_path_get_basename (dir);
  g_autofree char *file = g_strdup_printf ("%s_%s.nii.gz", name, suffix);
  g_autofree char *path = g_build_filename (dir, file, NULL);

  g_assert_cmpint (g_unlink (path), ==, 0);
}

/* Run Model on a mask with labels asks Replace or Fill, but only once the model is found
 * and the case has what it needs: a missing model file or modality is said at once, and
 * nothing is asked for a run that cannot start. */
static void
test_check_before_question (void)
{
  g_autofree char *dir = NULL;
  NsWindow *window = open_window ("Check_1", 8, TRUE, &dir);
  NsModelRunner *runner = ns_ai_controller_get_runner (ns_window_get_ai_controller (window));
  g_autofree char *missing = g_build_filename (ns_test_tmpdir (), "missing.safetensors", NULL);
  const char *paths[] = { dir, NULL };
  GtkWindow *message;

  ns_model_runner_set_model (runner, missing, 0);
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (window), "seg.run-model", NULL));
  g_assert_false (ns_model_runner_is_running (runner));
  g_assert_null (find_message ("Replace the mask?"));
  message = find_message ("missing.safetensors");
  g_assert_nonnull (message);
  gtk_window_destroy (message);

  /* the same case without its T1c: the model's inputs and the case's images, named */
  delete_case_file (dir, "t1ce");
  ns_window_open (window, paths);
  g_assert_true (ns_test_wait_until (window_idle, window, 60));
  ns_model_runner_set_model (runner, model_path, 0);
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (window), "seg.run-model", NULL));
  g_assert_false (ns_model_runner_is_running (runner));
  g_assert_null (find_message ("Replace the mask?"));
  message = find_message ("needs FLAIR and T1c; this case has no T1c (it has FLAIR)");
  g_assert_nonnull (message);
  gtk_window_destroy (message);
  gtk_window_destroy (GTK_WINDOW (window));

  /* everything there: now the question */
  window = open_window ("Check_2", 8, TRUE, NULL);
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (window), "seg.run-model", NULL));
  message = find_message ("Replace the mask?");
  g_assert_nonnull (message);
  g_assert_false (ns_model_runner_is_running (
    ns_ai_controller_get_runner (ns_window_get_ai_controller (window))));
  gtk_window_destroy (message);
  gtk_window_destroy (GTK_WINDOW (window));
}

static gboolean
job_text_has (gpointer data)
{
  const char *text = ns_job_status_get_text (((gpointer *) data)[0]);

  return text != NULL && strstr (text, ((gpointer *) data)[1]) != NULL;
}

/* Run Model and fine-tuning show their progress in the status bar, inside the window at
 * its default size (the sidebar's panel is below the fold there), with Cancel. */
static void
test_progress_in_status_bar (void)
{
  NsWindow *window = open_window ("Status_1", 40, FALSE, NULL);
  NsAiController *ctl = ns_window_get_ai_controller (window);
  NsModelRunner *runner = ns_ai_controller_get_runner (ctl);
  NsJobStatus *status = ns_window_get_job_status (window);
  graphene_rect_t bounds;
  gpointer run_slices[2] = { status, " slices" };
  gpointer fine_tuning[2] = { status, "Fine-tuning: Step 1 of 4" };
  g_autofree char *db = db_path_for ("status.db");
  gint64 case_id;
  GtkWidget *panel;

  g_assert_null (ns_job_status_get_text (status));
  ns_model_runner_set_max_batch (runner, 1);
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (window), "seg.run-model", NULL));
  g_assert_true (ns_test_wait_until (job_text_has, run_slices, 120));
  g_assert_true (g_str_has_prefix (ns_job_status_get_text (status), "Run Model: "));
  g_assert_true (gtk_widget_get_mapped (GTK_WIDGET (status)));
  g_assert_true (gtk_widget_compute_bounds (GTK_WIDGET (status), GTK_WIDGET (window), &bounds));
  g_test_message ("job status at %.0f, %.0f, %.0f x %.0f in %d x %d", bounds.origin.x,
                  bounds.origin.y, bounds.size.width, bounds.size.height,
                  gtk_widget_get_width (GTK_WIDGET (window)),
                  gtk_widget_get_height (GTK_WIDGET (window)));
  g_assert_cmpfloat (bounds.origin.x, >=, 0);
  g_assert_cmpfloat (bounds.origin.y, >=, 0);
  g_assert_cmpfloat (bounds.origin.x + bounds.size.width, <=,
                     gtk_widget_get_width (GTK_WIDGET (window)));
  g_assert_cmpfloat (bounds.origin.y + bounds.size.height, <=,
                     gtk_widget_get_height (GTK_WIDGET (window)));
  g_assert_true (ns_test_wait_until (runner_idle, runner, 120));
  ns_test_drain ();
  g_assert_null (ns_job_status_get_text (status));
  g_assert_true (g_str_has_prefix (ns_window_get_message (window), "Predicted in "));

  /* a fine-tuning run: its steps, then Cancel */
  case_id = prepare_db (db, "Status_2");
  panel = run_fake_trainer (db,
    "printf '%s\\n' '{\"event\":\"step\",\"step\":1,\"total_steps\":4,\"loss\":1,"
    "\"eta_seconds\":30}'; exec sleep 60", case_id);
  ns_ai_controller_follow_training (ctl, NS_TRAIN_PANEL (panel));
  g_assert_true (ns_test_wait_until (job_text_has, fine_tuning, 30));
  g_assert_cmpfloat_with_epsilon (ns_job_status_get_fraction (status), 0.25, 1e-9);
  ns_ai_controller_cancel_job (ctl);
  g_assert_true (ns_test_wait_until (train_done, panel, 30));
  g_assert_cmpint (ns_train_panel_get_state (NS_TRAIN_PANEL (panel)), ==, NS_TRAIN_CANCELLED);
  g_assert_null (ns_job_status_get_text (status));
  g_assert_cmpstr (ns_window_get_message (window), ==, "Fine-tuning cancelled");
  g_object_unref (panel);
  gtk_window_destroy (GTK_WINDOW (window));
}

static GtkWindow *
find_toplevel_of_type (GType type)
{
  GListModel *toplevels = gtk_window_get_toplevels ();

  for (guint i = 0; i < g_list_model_get_n_items (toplevels); i++)
    {
      g_autoptr (GtkWindow) w = g_list_model_get_item (toplevels, i);

      if (G_TYPE_CHECK_INSTANCE_TYPE (w, type))
        return w;
    }
  return NULL;
}

static gboolean
has_colour (const guint32 *pixels, gsize n, guint32 rgb)
{
  for (gsize i = 0; i < n; i++)
    if (ns_test_pixel_near (pixels[i], rgb, 24))
      return TRUE;
  return FALSE;
}

/* Show Uncertainty: its window has a legend (viridis from dark purple to yellow) and a
 * Close button that closes it (Escape: the real-input test, test-e2e-input). */
static void
test_uncertainty_window (void)
{
  NsWindow *window = open_window ("Unc_1", 8, FALSE, NULL);
  NsUncertaintyWindow *unc;
  GtkWidget *legend, *close;
  g_autofree guint32 *pixels = NULL;
  int w, h;

  run_model_in (window);
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (window), "seg.show-uncertainty", NULL));
  unc = NS_UNCERTAINTY_WINDOW (find_toplevel_of_type (NS_TYPE_UNCERTAINTY_WINDOW));
  g_assert_nonnull (unc);
  g_assert_true (g_str_has_prefix (ns_uncertainty_window_get_score_text (unc),
                                   "Case uncertainty"));
  for (int i = 0; i < 50; i++)
    g_main_context_iteration (NULL, FALSE), g_usleep (2000);
  legend = ns_test_find_widget (GTK_WIDGET (unc), NS_TYPE_HEAT_LEGEND);
  g_assert_nonnull (legend);
  g_assert_true (gtk_widget_get_mapped (legend));
  pixels = ns_test_widget_pixels (legend, &w, &h);
  g_assert_cmpint (w, >, 100);
  g_assert_true (has_colour (pixels, (gsize) w * h, ns_colormap_rgb (NS_COLORMAP_VIRIDIS, 20)));
  g_assert_true (has_colour (pixels, (gsize) w * h, ns_colormap_rgb (NS_COLORMAP_VIRIDIS, 255)));
  /* the overlay in the views has the same legend, shown with it in the layer list */
  {
    GtkWidget *overlay_legend = ns_layer_panel_get_heat_legend (ns_window_get_layer_panel (window));

    GtkWidget *status_legend = ns_test_find_named (GTK_WIDGET (window), "status-heat-legend");
    graphene_rect_t bounds;

    g_assert_false (gtk_widget_get_visible (overlay_legend));
    g_assert_false (gtk_widget_get_visible (status_legend));
    g_assert_true (gtk_widget_activate_action (GTK_WIDGET (window), "view.show-heat", NULL));
    g_assert_true (gtk_widget_get_visible (overlay_legend));
    g_assert_true (NS_IS_HEAT_LEGEND (overlay_legend));
    /* and in the status bar, where it shows at the default window size */
    ns_test_spin (0.2);
    g_assert_true (NS_IS_HEAT_LEGEND (status_legend));
    g_assert_true (gtk_widget_get_mapped (status_legend));
    g_assert_true (gtk_widget_compute_bounds (status_legend, GTK_WIDGET (window), &bounds));
    g_assert_cmpfloat (bounds.origin.y + bounds.size.height, <=,
                       gtk_widget_get_height (GTK_WIDGET (window)));
    g_assert_cmpfloat (bounds.size.width, >=, 200);
    g_assert_true (gtk_widget_activate_action (GTK_WIDGET (window), "view.show-heat", NULL));
    g_assert_false (gtk_widget_get_visible (overlay_legend));
  }
  close = ns_test_find_button (GTK_WIDGET (unc), "_Close");
  g_assert_nonnull (close);
  g_object_add_weak_pointer (G_OBJECT (unc), (gpointer *) &unc);
  g_signal_emit_by_name (close, "clicked");
  ns_test_drain ();
  g_assert_null (unc);
  gtk_window_destroy (GTK_WINDOW (window));
}

/* The model card is formatted for a person: validation Dice by region, the validation
 * cases by name, how it was trained; no raw JSON. */
static void
test_model_card (void)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *shipped = g_build_filename (g_getenv ("NS_SOURCE_DIR"), "resources",
                                               "models", "mobilenetv2-unet-default.safetensors",
                                               NULL);
  g_autofree char *card = ns_model_runner_describe_model (shipped, &error);

  g_assert_no_error (error);
  g_test_message ("%s", card);
  g_assert_null (strchr (card, '{'));
  g_assert_null (strchr (card, '"'));
  g_assert_nonnull (strstr (card, "Validation Dice: WT 0.868, TC 0.848, ET 0.804"));
  g_assert_nonnull (strstr (card, "Validation cases (2): Brats18_CBICA_ALU_1, "
                                  "brats_2013_pat0004_1"));
  g_assert_nonnull (strstr (card, "Training: 960 steps"));
}

/* The layer list says what the labels are: the case's segmentation file, then the model's
 * prediction once it replaced them (not "…_seg" any more), and the file again after Undo. */
static void
test_label_source (void)
{
  g_autoptr (GError) error = NULL;
  NsWindow *window = open_window ("Source_1", 8, TRUE, NULL);
  NsModelRunner *runner = ns_ai_controller_get_runner (ns_window_get_ai_controller (window));
  NsLayerPanel *layers = ns_window_get_layer_panel (window);
  g_autofree char *saved_path = g_build_filename (ns_test_tmpdir (), "Source_1_pred.nii.gz",
                                                  NULL);

  g_assert_cmpstr (ns_layer_panel_get_labels_source_text (layers), ==, "Source_1_seg.nii.gz");
  g_assert_true (ns_model_runner_start (runner, NS_RUN_MODEL_REPLACE, TRUE, &error));
  g_assert_no_error (error);
  g_assert_true (ns_test_wait_until (runner_idle, runner, 120));
  ns_test_drain ();
  g_test_message ("after Run Model: %s", ns_layer_panel_get_labels_source_text (layers));
  g_assert_null (strstr (ns_layer_panel_get_labels_source_text (layers), "_seg"));
  g_assert_cmpstr (ns_layer_panel_get_labels_source_text (layers), ==,
                   "Model prediction, not saved");
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (window), "win.undo", NULL));
  g_assert_cmpstr (ns_layer_panel_get_labels_source_text (layers), ==, "Source_1_seg.nii.gz");
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (window), "win.redo", NULL));
  g_assert_cmpstr (ns_layer_panel_get_labels_source_text (layers), ==,
                   "Model prediction, not saved");
  /* saved elsewhere */
  g_assert_true (ns_editor_save (ns_window_get_editor (window), saved_path, FALSE, &error));
  g_assert_no_error (error);
  g_assert_cmpstr (ns_layer_panel_get_labels_source_text (layers), ==,
                   "Model prediction, saved as Source_1_pred.nii.gz");
  gtk_window_destroy (GTK_WINDOW (window));
}

static int
compare_strings (gconstpointer a, gconstpointer b)
{
  /* g_ptr_array_sort passes pointers to the elements */
  return g_strcmp0 (*(const char *const *) a, *(const char *const *) b);
}

/* The names of the files in dir, sorted, joined (owned). */
static char *
list_dir (const char *dir)
{
  g_autoptr (GDir) d = g_dir_open (dir, 0, NULL);
  g_autoptr (GPtrArray) names = g_ptr_array_new_with_free_func (g_free);
  const char *name;

  g_assert_nonnull (d);
  while ((name = g_dir_read_name (d)) != NULL)
    g_ptr_array_add (names, g_strdup (name));
  g_ptr_array_sort (names, compare_strings);
  g_ptr_array_add (names, NULL);
  return g_strjoinv (" ", (char **) names->pdata);
}

static NsQueueEntry *
queued_entry (const char *case_id)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (NsDb) q = ns_db_open (NULL, &error);
  NsQueueEntry *e;

  g_assert_no_error (error);
  e = ns_queue_dup_entry (q, case_id, &error);
  g_assert_no_error (error);
  g_assert_nonnull (e);
  return e;
}

/* Mark Corrected writes into the user's corrections folder (here under the tests'
 * XDG_DATA_HOME), never into the case's folder, and queues the prediction it was
 * corrected from with its uncertainty. */
static void
test_mark_corrected_where (void)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *dir = NULL;
  NsWindow *window = open_window ("Where_1", 8, TRUE, &dir);
  NsModelRunner *runner = ns_ai_controller_get_runner (ns_window_get_ai_controller (window));
  g_autofree char *folder = ns_corrections_dup_folder ();
  g_autofree char *before = list_dir (dir);
  g_autofree char *after = NULL;
  g_autoptr (NsQueueEntry) entry = NULL;

  g_assert_true (ns_model_runner_start (runner, NS_RUN_MODEL_REPLACE, TRUE, &error));
  g_assert_true (ns_test_wait_until (runner_idle, runner, 120));
  ns_test_drain ();
  mark_corrected_and_wait (ns_window_get_ai_controller (window));
  after = list_dir (dir);
  g_assert_cmpstr (after, ==, before);
  entry = queued_entry ("Where_1");
  g_test_message ("mask %s, prediction %s", entry->mask_path, entry->prediction_path);
  g_assert_true (g_str_has_prefix (entry->mask_path, folder));
  g_assert_true (g_str_has_suffix (entry->mask_path, "/Where_1_mask.nii.gz"));
  g_assert_nonnull (entry->prediction_path);
  g_assert_true (g_str_has_prefix (entry->prediction_path, folder));
  g_assert_true (isfinite (entry->uncertainty));
  g_assert_true (isfinite (entry->effort));
  /* the mask being edited is the correction now, and the case reopens with it */
  g_assert_cmpstr (ns_mask_doc_get_path (ns_editor_get_doc (ns_window_get_editor (window))), ==,
                   entry->mask_path);
  {
    g_autoptr (NsCase) ncase = ns_case_load (dir, NS_CASE_LOAD_SKIP_LABELS, &error);
    g_autofree char *reopened = ns_editor_default_mask_path (ncase);

    g_assert_no_error (error);
    g_assert_cmpstr (reopened, ==, entry->mask_path);
  }
  /* a folder chosen once: the next correction goes there */
  {
    g_autofree char *chosen = g_build_filename (ns_test_tmpdir (), "my-corrections", NULL);
    g_autoptr (NsQueueEntry) again = NULL;

    g_assert_true (ns_corrections_set_folder (chosen, &error));
    g_assert_no_error (error);
    mark_corrected_and_wait (ns_window_get_ai_controller (window));
    again = queued_entry ("Where_1");
    g_assert_true (g_str_has_prefix (again->mask_path, chosen));
    g_assert_true (ns_corrections_set_folder (NULL, &error));
    g_assert_no_error (error);
    g_assert_cmpstr (again->mask_path, !=, entry->mask_path);
    g_clear_pointer (&entry, ns_queue_entry_free);
    entry = g_steal_pointer (&again);
  }
  gtk_window_destroy (GTK_WINDOW (window));
}

static gboolean
count_tick (gpointer data)
{
  (*(guint *) data)++;
  return G_SOURCE_CONTINUE;
}

/* Another process holds the queue's database locked (a long write; a server away is the
 * same retry): Mark Corrected saves the mask at once and retries the queue's write in its
 * worker; the main loop keeps running meanwhile (ticks every 20 ms, the window redraws);
 * the lock released, the case is queued and the queue window shows. */
static void
test_mark_corrected_busy (void)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *dir = NULL;
  NsWindow *window = open_window ("Locked_1", 8, TRUE, &dir);
  NsAiController *ctl = ns_window_get_ai_controller (window);
  g_autofree char *db_path = ns_db_dup_default_path ();
  g_autofree char *folder = ns_corrections_dup_folder ();
  g_autofree char *mask = NULL;
  sqlite3 *other = NULL;
  guint ticks = 0, source, before = n_toplevels ();
  gint64 start;

  g_assert_null (ns_window_get_question (window));   /* a fresh case: nothing to recover */
  {
    g_autoptr (NsDb) create = ns_db_open (NULL, &error);   /* it exists, with its schema */

    g_assert_no_error (error);
  }
  /* the window's first frames drawn (a software renderer compiles its shaders then, which
   * keeps the main loop busy for seconds on a loaded machine) */
  ns_test_spin (3);
  g_assert_cmpint (sqlite3_open (db_path, &other), ==, SQLITE_OK);
  g_assert_cmpint (sqlite3_exec (other, "BEGIN EXCLUSIVE", NULL, NULL, NULL), ==, SQLITE_OK);

  source = g_timeout_add (20, count_tick, &ticks);
  start = g_get_monotonic_time ();
  ns_ai_controller_mark_corrected (ctl);
  /* the call returned at once, the mask saved; the queue's write waits for the lock */
  g_assert_cmpint (g_get_monotonic_time () - start, <, 5 * G_USEC_PER_SEC);
  g_assert_true (ns_ai_controller_is_queueing (ctl));
  mask = g_strdup (ns_mask_doc_get_path (ns_editor_get_doc (ns_window_get_editor (window))));
  g_assert_true (g_str_has_prefix (mask, folder));
  g_assert_true (g_file_test (mask, G_FILE_TEST_EXISTS));
  g_assert_nonnull (strstr (ns_ai_controller_get_job_text (ctl), "queue"));
  ns_test_spin (1.5);
  g_test_message ("%u main-loop ticks of 20 ms in 1.5 s while the queue was locked", ticks);
  g_assert_cmpuint (ticks, >=, 10);
  g_assert_true (ns_ai_controller_is_queueing (ctl));

  g_assert_cmpint (sqlite3_exec (other, "COMMIT", NULL, NULL, NULL), ==, SQLITE_OK);
  sqlite3_close (other);
  g_assert_true (ns_test_wait_until (not_queueing, ctl, 60));
  ns_test_drain ();
  g_source_remove (source);
  {
    g_autoptr (NsQueueEntry) entry = queued_entry ("Locked_1");

    g_assert_cmpstr (entry->mask_path, ==, mask);
  }
  g_assert_cmpuint (n_toplevels (), >, before);   /* the queue window */
  gtk_window_destroy (GTK_WINDOW (window));
}

/* After a crash and a recovery, Mark Corrected still queues the prediction the mask was
 * corrected from, with its uncertainty (they read "–" once the program had restarted). */
static void
test_mark_corrected_after_recovery (void)
{
  g_autofree char *dir = NULL;
  NsWindow *window = open_window ("Recovered_1", 8, FALSE, &dir);
  const char *paths[] = { dir, NULL };
  GtkWidget *question;
  g_autoptr (NsQueueEntry) entry = NULL;

  run_model_in (window);
  g_assert_true (ns_editor_is_modified (ns_window_get_editor (window)));
  /* the program ends without saving: the journal keeps the prediction as an edit */
  gtk_window_destroy (GTK_WINDOW (window));

  window = ns_window_new (NULL);
  gtk_window_present (GTK_WINDOW (window));
  ns_window_open (window, paths);
  g_assert_true (ns_test_wait_until (window_idle, window, 60));
  question = ns_window_get_question (window);
  g_assert_nonnull (question);
  gtk_dialog_response (GTK_DIALOG (question), NS_WINDOW_RESPONSE_RECOVER);
  ns_test_drain ();
  g_assert_cmpuint (count_nonzero (ns_mask_doc_get_map (ns_editor_get_doc (
                      ns_window_get_editor (window)))), >, 0);
  mark_corrected_and_wait (ns_window_get_ai_controller (window));
  entry = queued_entry ("Recovered_1");
  g_assert_nonnull (entry->prediction_path);
  g_assert_true (isfinite (entry->uncertainty));
  g_assert_cmpfloat (entry->effort, ==, 1.0);   /* recovered as predicted: no edits */
  gtk_window_destroy (GTK_WINDOW (window));
}

/* ---- --bench ------------------------------------------------------------------------- */

static gint64 last_tick, longest_gap, longest_gap_running;
static Fixture *bench_fixture;

static gboolean
tick (gpointer data)
{
  gint64 now = g_get_monotonic_time ();

  if (last_tick > 0)
    longest_gap = MAX (longest_gap, now - last_tick);
  if (last_tick > 0 && !bench_fixture->finished)
    longest_gap_running = MAX (longest_gap_running, now - last_tick);
  last_tick = now;
  return G_SOURCE_CONTINUE;
}

static void
bench_count_updates (NsModelRunner *r, const int *slices, int n_slices, int *n)
{
  (*n)++;
}

static int
bench (const char *device, gboolean want_uncertainty)
{
  g_autoptr (GError) error = NULL;
  NsWindow *window = ns_window_new (NULL);
  const char *paths[] = { ns_test_sample_case (), NULL };
  Fixture f = { 0 };
  int n_previews = 0;

  gtk_window_set_default_size (GTK_WINDOW (window), 1400, 900);
  gtk_window_present (GTK_WINDOW (window));
  ns_window_open (window, paths);
  if (!ns_test_wait_until (window_idle, window, 120))
    return 1;
  f.viewer = ns_window_get_viewer (window);
  f.runner = ns_model_runner_new (f.viewer);
  ns_model_runner_set_editor (f.runner, ns_window_get_editor (window));
  /* the bundled model when there is one (a realistic prediction), else the random one */
  const char *bench_model = g_file_test ("resources/models/default.safetensors",
                                         G_FILE_TEST_EXISTS)
                              ? "resources/models/default.safetensors" : model_path;
  ns_model_runner_set_model (f.runner, bench_model, 0);
  ns_model_runner_set_device (f.runner, device);
  g_signal_connect (f.runner, "progress", G_CALLBACK (on_progress), &f);
  g_signal_connect (f.runner, "finished", G_CALLBACK (on_finished), &f);
  g_signal_connect (f.runner, "preview-updated", G_CALLBACK (bench_count_updates),
                    &n_previews);
  for (int i = 0; i < 100; i++)
    g_main_context_iteration (NULL, FALSE), g_usleep (1000);

  gint64 t0 = g_get_monotonic_time ();
  bench_fixture = &f;
  guint id = g_timeout_add (2, tick, NULL);
  last_tick = 0;
  longest_gap = 0;
  if (!ns_model_runner_start (f.runner, NS_RUN_MODEL_REPLACE, want_uncertainty, &error))
    {
      g_printerr ("%s\n", error->message);
      return 1;
    }
  ns_test_wait_until (fixture_finished, &f, 600);
  double seconds = (g_get_monotonic_time () - t0) / 1e6;
  for (int i = 0; i < 200; i++)
    g_main_context_iteration (NULL, FALSE), g_usleep (1000);
  g_source_remove (id);
  printf ("run model on %s (%s, %s): %s, %d/%d slices, %.2f s "
          "(worker %.2f s), uncertainty %.3f, %d progress updates, %d preview updates\n",
          ns_test_sample_case (), device, bench_model, f.ok ? "ok" : f.message, f.last_done,
          f.last_total,
          seconds, ns_model_runner_get_seconds (f.runner),
          ns_model_runner_get_uncertainty (f.runner), f.n_progress, n_previews);
  printf ("longest main-loop stall: %.1f ms while the worker ran, %.1f ms in all (applying "
          "the prediction took %.1f ms: one undo entry, volumes, redraw queued)\n",
          longest_gap_running / 1000.0, longest_gap / 1000.0,
          ns_model_runner_get_apply_seconds (f.runner) * 1000.0);
  g_object_unref (f.runner);
  gtk_window_destroy (GTK_WINDOW (window));
  return f.ok ? 0 : 1;
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
  make_model ();

  if (argc > 1 && strcmp (argv[1], "--bench") == 0)
    {
      const char *device = "auto";
      gboolean want_uncertainty = TRUE;

      for (int a = 2; a < argc; a++)
        if (strcmp (argv[a], "--no-uncertainty") == 0)
          want_uncertainty = FALSE;
        else
          device = argv[a];
      gtk_init ();
      return bench (device, want_uncertainty);
    }
  g_test_init (&argc, &argv, NULL);
  gtk_init ();
  g_test_add_func ("/ui/ai/run-model", test_run_model);
  g_test_add_func ("/ui/ai/fill-unlabelled", test_fill_unlabelled);
  g_test_add_func ("/ui/ai/out-of-memory", test_out_of_memory);
  g_test_add_func ("/ui/ai/released-in-main", test_released_in_main);
  g_test_add_func ("/ui/ai/cancel", test_cancel);
  g_test_add_func ("/ui/ai/live-preview", test_live_preview);
  g_test_add_func ("/ui/ai/live-preview-cancel", test_live_preview_cancel);
  g_test_add_func ("/ui/ai/heat-overlay", test_heat_overlay);
  g_test_add_func ("/ui/ai/bad-model", test_bad_model);
  g_test_add_func ("/ui/ai/edit-during-run", test_edit_during_run);
  g_test_add_func ("/ui/ai/edit-during-run-shown", test_edit_during_run_shown);
  g_test_add_func ("/ui/ai/case-changed-during-run", test_case_changed_during_run);
  g_test_add_func ("/ui/ai/controller", test_controller);
  g_test_add_func ("/ui/ai/controller-panel", test_controller_panel);
  g_test_add_func ("/ui/ai/controller-follows-default", test_controller_follows_default);
  g_test_add_func ("/ui/ai/window-menu", test_window_menu);
  g_test_add_func ("/ui/ai/mark-corrected-queue-panel", test_mark_corrected_and_queue_panel);
  g_test_add_func ("/ui/ai/train-panel-stream", test_train_panel_stream);
  g_test_add_func ("/ui/ai/train-panel-crash", test_train_panel_crash);
  g_test_add_func ("/ui/ai/train-panel-cancel", test_train_panel_cancel);
  g_test_add_func ("/ui/ai/fine-tune-dialog", test_fine_tune_dialog);
  g_test_add_func ("/ui/ai/undo-after-run", test_undo_after_run);
  g_test_add_func ("/ui/ai/check-before-question", test_check_before_question);
  g_test_add_func ("/ui/ai/progress-in-status-bar", test_progress_in_status_bar);
  g_test_add_func ("/ui/ai/uncertainty-window", test_uncertainty_window);
  g_test_add_func ("/ui/ai/model-card", test_model_card);
  g_test_add_func ("/ui/ai/label-source", test_label_source);
  g_test_add_func ("/ui/ai/mark-corrected-where", test_mark_corrected_where);
  g_test_add_func ("/ui/ai/mark-corrected-after-recovery", test_mark_corrected_after_recovery);
  g_test_add_func ("/ui/ai/mark-corrected-busy", test_mark_corrected_busy);
  return g_test_run ();
}
