/* SPDX-License-Identifier: MIT
 *
 * ns-model-runner.c: Run Model in a worker thread, its progress bar, the prediction as
 * one undo entry, the entropy map, and Mark Corrected and Queue.
 *
 * The prediction appears slice by slice while it is computed: after each batch the worker
 * copies the axial planes that became final (the engine may touch the rest meanwhile) into
 * a message for the main loop, which writes them into a preview label map (the mask at the
 * start with the run's mode applied to those planes) that the viewer draws instead of the
 * mask.  The main loop does a memcpy and a queue_draw per batch, nothing per volume, so
 * that it stays responsive; the preview goes when the run ends, and the prediction then
 * enters the mask as one undo entry.
 */
#define G_LOG_DOMAIN "neuroseg-ui"

#include "ns-model-runner.h"

#include <errno.h>
#include <glib/gstdio.h>
#include <math.h>
#include <string.h>
#ifdef __linux__
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>
#endif

#include <json-glib/json-glib.h>

#include "ns-backend.h"
#include "ns-checkpoint.h"
#include "ns-corrections.h"
#include "ns-db.h"
#include "ns-infer.h"
#include "ns-mask-doc.h"
#include "ns-nifti.h"
#include "ns-registry.h"
#include "ns-task.h"

struct _NsModelRunner
{
  GObject parent_instance;

  NsViewer *viewer;          /* owned */
  NsEditor *editor;          /* weak pointer */
  char *model_path;
  int model_version;
  char *claim_token;         /* of the claim Mark Corrected presents (issue 19), or NULL */
  char *device;
  int max_batch;
  gsize memory_limit;

  GCancellable *cancellable; /* non-NULL while running */
  int done, total;
  NsRunModelMode mode;

  NsLabelMap *preview;       /* while running: what the viewer draws instead of the mask */
  NsLabelMap *live_pred;     /* while running in NS_RUN_MODEL_FILL_UNLABELLED: the
                              * prediction of the slices reported (replacing, the preview
                              * holds it: one buffer) */
  guint8 *live_reported;     /* (dim[2]) which axial slices have been reported */
  gboolean refreshing;       /* the preview's own redraw request: not an edit */
  gboolean preview_stale;    /* the mask changed as a whole: refresh in full */
  guint refresh_idle;

  NsLabelMap *prediction;
  NsCase *prediction_case;   /* the case it was made for (reference) */
  int prediction_version;    /* the registry version of the model that made it */
  NsVolume *entropy;
  double uncertainty;
  double seconds;
  double apply_seconds;
};

enum { SIGNAL_PROGRESS, SIGNAL_PREVIEW_UPDATED, SIGNAL_FINISHED, N_SIGNALS };
static guint signals[N_SIGNALS];

G_DEFINE_FINAL_TYPE (NsModelRunner, ns_model_runner, G_TYPE_OBJECT)

/* ---- the job ------------------------------------------------------------------------ */

typedef struct
{
  NsModelRunner *self;       /* reference */
  NsCase *ncase;             /* reference */
  char *model_path;
  int model_version;
  char *device;
  int max_batch;
  gsize memory_limit;
  gboolean want_uncertainty;
  NsRunModelMode mode;
  guint8 *snapshot;          /* the mask at the start (NULL: none), to diff against */
  gsize n_voxels;
  NsLabelMap *start;         /* the preview as it starts (the mask), for the worker to take
                              * the snapshot from before it reports any slice (NULL: the
                              * snapshot was taken in the main loop) */
  GMainContext *context;     /* where progress goes */
  /* out */
  NsEditChange *change;      /* snapshot -> what the mask becomes (NULL: no snapshot) */
  guint8 *values;            /* what the mask becomes */
  NsLabelMap *labels;
  char *note;                /* for the user, with a successful result */
  GError *refused;           /* the run cannot be made (the model cannot be read, or the
                              * case cannot feed it): the worker returns it at once */
  NsVolume *entropy;
  double uncertainty;
  double seconds;
} Job;

static void
job_free (Job *job)
{
  g_object_unref (job->self);
  ns_case_unref (job->ncase);
  g_free (job->model_path);
  g_free (job->device);
  g_main_context_unref (job->context);
  g_free (job->snapshot);
  if (job->start != NULL)
    ns_label_map_unref (job->start);
  g_free (job->values);
  g_free (job->note);
  g_clear_error (&job->refused);
  if (job->change != NULL)
    ns_edit_change_unref (job->change);
  if (job->labels != NULL)
    ns_label_map_unref (job->labels);
  if (job->entropy != NULL)
    ns_volume_unref (job->entropy);
  g_free (job);
}

typedef struct
{
  NsModelRunner *self;
  GCancellable *cancellable;
  int done, total;
} Progress;

/* Queues func for the thread that runs context, in the order of the calls.  Not
 * g_main_context_invoke (): when no thread owns the context at that moment (a test that
 * iterates it by hand, between iterations), that runs func at once in the calling thread,
 * the worker, where the viewer must not be touched. */
static void
post_to_context (GMainContext *context, GSourceFunc func, gpointer data,
                 GDestroyNotify notify)
{
  GSource *source = g_idle_source_new ();

  g_source_set_priority (source, G_PRIORITY_DEFAULT);
  g_source_set_callback (source, func, data, notify);
  g_source_set_static_name (source, "ns-model-runner");
  g_source_attach (source, context);
  g_source_unref (source);
}

static gboolean
progress_in_main (gpointer data)
{
  Progress *p = data;

  /* a progress report from a run that was replaced is dropped */
  if (p->self->cancellable == p->cancellable)
    {
      p->self->done = p->done;
      p->self->total = p->total;
      g_signal_emit (p->self, signals[SIGNAL_PROGRESS], 0, p->done, p->total);
    }
  return G_SOURCE_REMOVE;
}

static void
progress_free (gpointer data)
{
  Progress *p = data;

  g_object_unref (p->self);
  g_object_unref (p->cancellable);
  g_free (p);
}

typedef struct
{
  Job *job;
  GCancellable *cancellable;
} ProgressCtx;

static void
on_infer_progress (int done, int total, gpointer data)
{
  ProgressCtx *ctx = data;
  Progress *p = g_new0 (Progress, 1);

  p->self = g_object_ref (ctx->job->self);
  p->cancellable = g_object_ref (ctx->cancellable);
  p->done = done;
  p->total = total;
  post_to_context (ctx->job->context, progress_in_main, p, progress_free);
}

/* The planes one batch finished, on their way to the main loop. */
typedef struct
{
  NsModelRunner *self;
  GCancellable *cancellable;
  int dim[3];
  int n_slices;
  int *slices;               /* k, ascending */
  guint8 *planes;            /* n_slices planes of dim[0] * dim[1] labels */
} Slices;

static void
slices_free (gpointer data)
{
  Slices *m = data;

  g_object_unref (m->self);
  g_object_unref (m->cancellable);
  g_free (m->slices);
  g_free (m->planes);
  g_free (m);
}

/* The mask the prediction goes into: the editor's document, else the viewer's labels. */
static NsLabelMap *
target_mask (NsModelRunner *self)
{
  NsMaskDoc *doc = self->editor != NULL ? ns_editor_get_doc (self->editor) : NULL;

  return doc != NULL ? ns_mask_doc_get_map (doc) : ns_viewer_get_labels (self->viewer);
}

/* Recomputes the preview in box (i0, j0, k0, i1, j1, k1, inclusive) from the mask as it is
 * now and the prediction of the slices reported so far, as the run's mode will combine
 * them at the end: an edit made during the run shows at once, and where it will stay. */
static void
refresh_preview (NsModelRunner *self, const int box[6])
{
  NsLabelMap *preview = self->preview, *mask = target_mask (self);
  const int *dim = preview->grid.dim;
  gboolean fill = self->mode == NS_RUN_MODEL_FILL_UNLABELLED;

  if (mask != NULL && ns_grid_n_voxels (&mask->grid) != ns_grid_n_voxels (&preview->grid))
    mask = NULL;
  for (int k = MAX (box[2], 0); k <= MIN (box[5], dim[2] - 1); k++)
    for (int j = MAX (box[1], 0); j <= MIN (box[4], dim[1] - 1); j++)
      {
        gsize row = ((gsize) k * dim[1] + j) * dim[0];
        int i0 = MAX (box[0], 0), i1 = MIN (box[3], dim[0] - 1);

        for (int i = i0; i <= i1; i++)
          {
            gsize v = row + i;
            guint8 m = mask != NULL ? mask->labels[v] : 0;

            if (!self->live_reported[k])
              preview->labels[v] = m;
            else if (fill)
              preview->labels[v] = m != 0 ? m : self->live_pred->labels[v];
            /* else replacing: the preview holds the slice's prediction already */
          }
      }
}

static void
preview_redraw (NsModelRunner *self, int k0, int k1)
{
  self->refreshing = TRUE;
  ns_viewer_preview_slices_changed (self->viewer, k0, k1);
  self->refreshing = FALSE;
}

/* The mask was edited during the run (the box of the change). */
static void
on_labels_damaged (NsViewer *viewer, const int *box, NsModelRunner *self)
{
  if (self->preview == NULL || self->refreshing)
    return;
  self->preview_stale = FALSE;   /* the change's box covers it */
  refresh_preview (self, box);
}

static gboolean
refresh_all (gpointer data)
{
  NsModelRunner *self = data;
  const int *dim;

  self->refresh_idle = 0;
  if (self->preview == NULL || !self->preview_stale)
    return G_SOURCE_REMOVE;
  self->preview_stale = FALSE;
  dim = self->preview->grid.dim;
  refresh_preview (self, (const int[6]) { 0, 0, 0, dim[0] - 1, dim[1] - 1, dim[2] - 1 });
  preview_redraw (self, 0, dim[2] - 1);
  return G_SOURCE_REMOVE;
}

/* The mask changed: an edit (a labels-damaged with its box follows at once) or the whole
 * mask at a time (replaced, reloaded: no box; refreshed in full once idle). */
static void
on_labels_changed (NsViewer *viewer, NsModelRunner *self)
{
  if (self->preview == NULL || self->refreshing)
    return;
  self->preview_stale = TRUE;
  if (self->refresh_idle == 0)
    self->refresh_idle = g_idle_add (refresh_all, self);
}

static gboolean
slices_in_main (gpointer data)
{
  Slices *m = data;
  NsModelRunner *self = m->self;
  NsLabelMap *preview = self->preview;
  gsize plane = (gsize) m->dim[0] * m->dim[1];

  /* from a run that was replaced or cancelled, or after a new case cleared the preview */
  if (self->cancellable != m->cancellable || g_cancellable_is_cancelled (m->cancellable)
      || preview == NULL || ns_viewer_get_preview_labels (self->viewer) != preview
      || memcmp (preview->grid.dim, m->dim, sizeof m->dim) != 0)
    return G_SOURCE_REMOVE;
  for (int s = 0; s < m->n_slices; s++)
    {
      int k = m->slices[s];

      NsLabelMap *pred = self->live_pred != NULL ? self->live_pred : preview;

      memcpy (pred->labels + (gsize) k * plane, m->planes + (gsize) s * plane, plane);
      self->live_reported[k] = TRUE;
      refresh_preview (self, (const int[6]) { 0, 0, k, m->dim[0] - 1, m->dim[1] - 1, k });
    }
  preview_redraw (self, m->slices[0], m->slices[m->n_slices - 1]);
  g_signal_emit (self, signals[SIGNAL_PREVIEW_UPDATED], 0, m->slices, m->n_slices);
  return G_SOURCE_REMOVE;
}

static void
on_infer_slices (const NsLabelMap *labels, const int *slices, int n_slices, gpointer data)
{
  ProgressCtx *ctx = data;
  gsize plane = (gsize) labels->grid.dim[0] * labels->grid.dim[1];
  Slices *m;

  if (n_slices <= 0 || g_cancellable_is_cancelled (ctx->cancellable))
    return;
  m = g_new0 (Slices, 1);
  m->self = g_object_ref (ctx->job->self);
  m->cancellable = g_object_ref (ctx->cancellable);
  memcpy (m->dim, labels->grid.dim, sizeof m->dim);
  m->n_slices = n_slices;
  m->slices = g_memdup2 (slices, sizeof (int) * n_slices);
  m->planes = g_malloc (plane * n_slices);
  /* the engine frees or rewrites the map once we return: copy now */
  for (int s = 0; s < n_slices; s++)
    memcpy (m->planes + (gsize) s * plane, labels->labels + (gsize) slices[s] * plane, plane);
  post_to_context (ctx->job->context, slices_in_main, m, slices_free);
}

/* The case's uncertainty score: the mean normalised entropy over the voxels predicted
 * non-zero (over voxels with any uncertainty when none is). */
static double
uncertainty_score (const NsVolume *entropy, const NsLabelMap *labels)
{
  gsize n = ns_volume_n_voxels (entropy), n_t = 0, n_b = 0;
  double sum_t = 0, sum_b = 0;

  for (gsize v = 0; v < n; v++)
    {
      double h = entropy->voxels[v];

      if (labels->labels[v] != 0)
        {
          sum_t += h;
          n_t++;
        }
      else if (h > 1e-6)
        {
          sum_b += h;
          n_b++;
        }
    }
  return n_t > 0 ? sum_t / (double) n_t : n_b > 0 ? sum_b / (double) n_b : 0.0;
}

static void
run_thread (GTask *task, gpointer source, gpointer task_data, GCancellable *cancellable)
{
  Job *job = task_data;
  GError *error = NULL;
  gint64 t0 = g_get_monotonic_time ();

  if (job->refused != NULL)
    {
      g_task_return_error (task, g_error_copy (job->refused));
      return;
    }
  /* The main loop writes the preview only when this worker reports slices, so it is the
   * mask at the start until then; copying it here saves the main loop a second copy of
   * the volume (tens of ms on a loaded machine). */
  if (job->start != NULL)
    {
      job->snapshot = g_memdup2 (job->start->labels, job->n_voxels);
      g_clear_pointer (&job->start, ns_label_map_unref);
    }

  g_autoptr (NsBackend) backend = ns_backend_new (job->device, &error);

  if (backend == NULL)
    {
      g_task_return_error (task, error);
      return;
    }
  if (job->memory_limit > 0)
    ns_backend_set_memory_limit (backend, job->memory_limit);
  g_autoptr (NsModel) model = ns_checkpoint_load (job->model_path, backend, &error);
  if (model == NULL)
    {
      g_task_return_error (task, error);
      return;
    }

  ProgressCtx ctx = { job, cancellable };
  NsInferOptions options = { 0 };
  options.max_batch = job->max_batch;
  options.want_entropy = job->want_uncertainty;
  options.progress = on_infer_progress;
  options.progress_data = &ctx;
  options.slices_ready = on_infer_slices;
  options.slices_data = &ctx;
  options.cancellable = cancellable;

  g_autoptr (NsInferResult) result = ns_infer_run_case (model, job->ncase, &options, &error);
  if (result == NULL)
    {
      g_task_return_error (task, error);
      return;
    }
  if (g_cancellable_set_error_if_cancelled (cancellable, &error))
    {
      g_task_return_error (task, error);
      return;
    }
  /* the engine's one sentence (the device failed or ran out of memory, finishing on the
   * CPU): one source of truth with `neuroseg segment` */
  if (result->stats.note[0] != '\0')
    {
      g_autofree char *before = job->note;

      job->note = g_strdup_printf ("%s%sRun Model: %s.", before != NULL ? before : "",
                                   before != NULL ? "\n" : "", result->stats.note);
    }
  if (result->entropy != NULL)
    {
      job->entropy = ns_volume_ref (result->entropy);
      job->uncertainty = uncertainty_score (result->entropy, result->labels);
    }
  else
    job->uncertainty = NAN;
  job->labels = ns_label_map_ref (result->labels);
  /* kept at once in the user's data folder: Mark Corrected finds it after a crash too */
  if (!ns_corrections_keep_prediction (job->ncase, result->labels, job->model_path,
                                       job->model_version, job->uncertainty, &error))
    {
      g_autofree char *note = job->note;

      job->note = g_strdup_printf ("%s%sThe prediction could not be kept for Mark Corrected: "
                                   "%s", note != NULL ? note : "", note != NULL ? "\n\n" : "",
                                   error->message);
      g_clear_error (&error);
    }
  /* the new mask and its difference to the mask at the start, here rather than in the
   * main loop (a whole-volume diff takes ~0.1-0.2 s); applied there if the mask is still
   * the same */
  if (job->snapshot != NULL && job->n_voxels == ns_grid_n_voxels (&result->labels->grid))
    {
      const guint8 *pred = result->labels->labels;

      job->values = g_malloc (job->n_voxels);
      for (gsize v = 0; v < job->n_voxels; v++)
        job->values[v] = job->mode == NS_RUN_MODEL_FILL_UNLABELLED && job->snapshot[v] != 0
                           ? job->snapshot[v] : pred[v];
      job->change = ns_edit_change_from_labels (job->snapshot, job->values, job->n_voxels,
                                                job->mode == NS_RUN_MODEL_REPLACE
                                                  ? NS_EDITOR_PREDICTION_NAME
                                                  : NS_EDITOR_PREDICTION_NAME
                                                    " (fill unlabelled)");
    }
  job->seconds = (g_get_monotonic_time () - t0) / 1e6;
  g_task_return_boolean (task, TRUE);
}

/* The run's own thread (ns_task_run_in_worker (): its last reference to the task, whose
 * data holds the runner and so its viewer, goes back to the main thread), at a lower
 * priority (nice + 10) than the main loop: the engine's OpenMP team, which this thread
 * starts and which inherits its priority, would otherwise take every core and leave the
 * main loop waiting for a time slice (stalls of 50-65 ms on 2 cores).  With the GUI idle
 * the run still gets all of the CPU.  A thread of its own, not GTask's pool, also because
 * an unprivileged thread cannot raise its priority back. */
static void
run_thread_niced (GTask *task, gpointer source, gpointer task_data, GCancellable *cancellable)
{
#ifdef __linux__
  pid_t tid = (pid_t) syscall (SYS_gettid);
  errno = 0;
  int nice_now = getpriority (PRIO_PROCESS, (id_t) tid);
  if (errno == 0 && setpriority (PRIO_PROCESS, (id_t) tid, MIN (nice_now + 10, 19)) != 0)
    g_debug ("Run Model: could not lower the worker's priority: %s", g_strerror (errno));
#endif
  run_thread (task, source, task_data, cancellable);
}

/* Puts the prediction into the mask.  With an editor's document it goes through the
 * editor, so that it is one undoable, journaled step the window's Undo sees at once. */
static void
apply_prediction (NsModelRunner *self, NsLabelMap *labels, Job *job)
{
  NsMaskDoc *doc = self->editor != NULL ? ns_editor_get_doc (self->editor) : NULL;
  const char *name = self->mode == NS_RUN_MODEL_REPLACE
                       ? NS_EDITOR_PREDICTION_NAME
                       : NS_EDITOR_PREDICTION_NAME " (fill unlabelled)";

  /* fast path: the mask is still the one the worker diffed against */
  if (doc != NULL && job->change != NULL && job->snapshot != NULL)
    {
      NsLabelMap *map = ns_mask_doc_get_map (doc);

      if (ns_grid_n_voxels (&map->grid) == job->n_voxels
          && memcmp (map->labels, job->snapshot, job->n_voxels) == 0)
        {
          NsEditChange *change = g_steal_pointer (&job->change);

          ns_edit_change_apply (change, map, TRUE);
          ns_editor_commit_applied (self->editor, change);
          return;
        }
    }

  NsLabelMap *target = target_mask (self);
  gsize n = ns_grid_n_voxels (&labels->grid);
  g_autofree guint8 *merged = NULL;
  const guint8 *values = labels->labels;

  if (target != NULL && self->mode == NS_RUN_MODEL_FILL_UNLABELLED)
    {
      merged = g_malloc (n);
      for (gsize v = 0; v < n; v++)
        merged[v] = target->labels[v] != 0 ? target->labels[v] : labels->labels[v];
      values = merged;
    }
  if (doc != NULL)
    ns_editor_replace (self->editor, values, name);
  else if (target != NULL && ns_grid_equal (&target->grid, &labels->grid))
    {
      memcpy (target->labels, values, n);
      ns_viewer_labels_changed (self->viewer);
    }
  else
    {
      g_autoptr (NsLabelMap) copy = ns_label_map_dup (labels, NULL);

      if (copy != NULL)
        ns_viewer_set_labels (self->viewer, copy);
    }
}

static void
clear_preview (NsModelRunner *self)
{
  if (self->preview == NULL)
    return;
  if (self->viewer != NULL && ns_viewer_get_preview_labels (self->viewer) == self->preview)
    ns_viewer_set_preview_labels (self->viewer, NULL);
  g_clear_pointer (&self->preview, ns_label_map_unref);
  g_clear_pointer (&self->live_pred, ns_label_map_unref);
  g_clear_pointer (&self->live_reported, g_free);
  g_clear_handle_id (&self->refresh_idle, g_source_remove);
  self->preview_stale = FALSE;
}

static void
run_done (GObject *source, GAsyncResult *res, gpointer data)
{
  NsModelRunner *self = NS_MODEL_RUNNER (source);
  GTask *task = G_TASK (res);
  Job *job = g_task_get_task_data (task);
  g_autoptr (GError) error = NULL;
  GCancellable *mine = g_task_get_cancellable (task);
  gboolean current = self->cancellable == mine;
  gint64 t0;

  if (!g_task_propagate_boolean (task, &error))
    {
      if (current)
        {
          g_clear_object (&self->cancellable);
          clear_preview (self);
        }
      if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED)
          || g_cancellable_is_cancelled (mine))
        g_signal_emit (self, signals[SIGNAL_FINISHED], 0, FALSE, "Run Model cancelled");
      else
        g_signal_emit (self, signals[SIGNAL_FINISHED], 0, FALSE, error->message);
      return;
    }
  if (!current)
    return;
  g_clear_object (&self->cancellable);
  if (ns_viewer_get_case (self->viewer) != job->ncase)
    {
      clear_preview (self);
      g_signal_emit (self, signals[SIGNAL_FINISHED], 0, FALSE,
                     "Run Model: another case was opened meanwhile; the prediction was "
                     "discarded");
      return;
    }
  g_clear_pointer (&self->prediction, ns_label_map_unref);
  g_clear_pointer (&self->prediction_case, ns_case_unref);
  g_clear_pointer (&self->entropy, ns_volume_unref);
  self->prediction = g_steal_pointer (&job->labels);
  self->prediction_case = ns_case_ref (job->ncase);
  self->prediction_version = job->model_version;
  self->entropy = g_steal_pointer (&job->entropy);
  self->uncertainty = job->uncertainty;
  self->seconds = job->seconds;
  t0 = g_get_monotonic_time ();
  apply_prediction (self, self->prediction, job);
  /* after the mask took the prediction, so that the views never show the old mask */
  clear_preview (self);
  /* the heat overlay follows the prediction it belongs to (none without uncertainty) */
  ns_viewer_set_heat (self->viewer, self->entropy);
  self->apply_seconds = (g_get_monotonic_time () - t0) / 1e6;
  g_signal_emit (self, signals[SIGNAL_FINISHED], 0, TRUE, job->note);
}

/* The preview starts as the mask the prediction will go into (the editor's mask, else the
 * viewer's labels, else empty). */
static void
start_preview (NsModelRunner *self)
{
  const NsGrid *grid = ns_viewer_get_grid (self->viewer);
  NsLabelMap *shown = target_mask (self);
  gsize n = ns_grid_n_voxels (grid);

  clear_preview (self);
  self->preview = ns_label_map_new (grid, NULL);
  if (self->mode == NS_RUN_MODEL_FILL_UNLABELLED)
    self->live_pred = ns_label_map_new (grid, NULL);
  self->live_reported = g_try_malloc0 (MAX (grid->dim[2], 1));
  if (self->preview == NULL || self->live_reported == NULL
      || (self->mode == NS_RUN_MODEL_FILL_UNLABELLED && self->live_pred == NULL))
    {
      clear_preview (self);
      return;   /* no memory for it: the prediction still arrives at the end */
    }
  if (shown != NULL && ns_grid_n_voxels (&shown->grid) == n)
    memcpy (self->preview->labels, shown->labels, n);
  ns_viewer_set_preview_labels (self->viewer, self->preview);
}

/* The model chosen, else the default one, which becomes the chosen one. */
static gboolean
resolve_model (NsModelRunner *self, GError **error)
{
  int version = 0;
  g_autofree char *path = NULL;

  if (self->model_path != NULL)
    return TRUE;
  path = ns_model_runner_find_default_model (NULL, &version, error);
  if (path == NULL)
    return FALSE;
  ns_model_runner_set_model (self, path, version);
  return TRUE;
}

/* "FLAIR, T1c": the display names of modality names (owned). */
static char *
join_modalities (GPtrArray *names)
{
  g_autoptr (GString) s = g_string_new (NULL);

  for (guint i = 0; i < names->len; i++)
    g_string_append_printf (s, "%s%s", i == 0 ? "" : i + 1 == names->len ? " and " : ", ",
                            ns_viewer_modality_label (names->pdata[i]));
  return g_string_free (g_steal_pointer (&s), FALSE);
}

/* The modalities of ncase, by NsModality. */
static void
case_inputs (const NsCase *ncase, gboolean present[NS_N_MODALITIES])
{
  for (int m = 0; m < NS_N_MODALITIES; m++)
    present[m] = ncase->modality[m] != NULL;
}

/* "The model X needs FLAIR, T1, T1c and T2; this case has no T1 and T2 (it has FLAIR and
 * T1c)." for a model ncase cannot feed (owned), NULL when it can. */
static char *
describe_missing (const char *model_path, const NsModelMeta *meta, const NsCase *ncase)
{
  g_autoptr (GPtrArray) missing = g_ptr_array_new ();
  g_autoptr (GPtrArray) present = g_ptr_array_new ();
  g_autoptr (GPtrArray) all = g_ptr_array_new ();
  gboolean has[NS_N_MODALITIES];

  case_inputs (ncase, has);
  if (ns_model_meta_missing_input (meta, has) == NULL)
    return NULL;
  for (int m = 0; m < NS_N_MODALITIES; m++)
    if (has[m])
      g_ptr_array_add (present, (gpointer) ns_modality_name (m));
  for (int c = 0; meta->modalities != NULL && meta->modalities[c] != NULL; c++)
    {
      gboolean one[NS_N_MODALITIES] = { FALSE };
      const char *const only[] = { meta->modalities[c], NULL };
      g_autoptr (NsModelMeta) single = NULL;

      g_ptr_array_add (all, meta->modalities[c]);
      /* one input at a time through the one rule of net/ */
      single = ns_model_meta_copy (meta);
      g_strfreev (single->modalities);
      single->modalities = g_strdupv ((char **) only);
      for (int m = 0; m < NS_N_MODALITIES; m++)
        one[m] = has[m];
      if (ns_model_meta_missing_input (single, one) != NULL)
        g_ptr_array_add (missing, meta->modalities[c]);
    }
  {
    g_autofree char *base = g_path_get_basename (model_path);
    g_autofree char *needed = join_modalities (all);
    g_autofree char *lacking = join_modalities (missing);
    g_autofree char *has_text = join_modalities (present);

    return g_strdup_printf ("The model %s needs %s; this case has no %s (it has %s).", base,
                            needed, lacking, present->len > 0 ? has_text : "no image");
  }
}

/* Among the registered models, the newest that ncase can feed (its path, owned, and
 * *version), or NULL when none is (or the registry cannot be read: then there is nothing
 * to choose from but the model given). */
static char *
find_model_for_case (const NsCase *ncase, int *version)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (NsDb) db = ns_db_open_readonly (NULL, &error);
  g_autoptr (GPtrArray) models = NULL;
  gboolean has[NS_N_MODALITIES];

  if (db == NULL || (models = ns_registry_list_models (db, &error)) == NULL)
    {
      g_debug ("no registry to choose a model from: %s", error->message);
      return NULL;
    }
  case_inputs (ncase, has);
  for (guint i = models->len; i-- > 0;)
    {
      const NsRegistryModel *model = models->pdata[i];
      g_autoptr (NsModelMeta) meta = NULL;

      if (model->status != NS_REGISTRY_MODEL_REGISTERED)
        continue;
      meta = ns_checkpoint_read_meta (model->path, NULL);
      if (meta != NULL && ns_model_meta_missing_input (meta, has) == NULL)
        {
          *version = model->version;
          return g_strdup (model->path);
        }
    }
  return NULL;
}

/* The model a run on ncase uses: the chosen one when the case can feed it.  When it
 * cannot and it is the default model (not one the user chose by hand), the newest
 * registered model the case can feed, with *note saying so; else an error naming what the
 * case lacks. */
static gboolean
pick_model (NsModelRunner *self, const NsCase *ncase, char **path, int *version, char **note,
            GError **error)
{
  g_autoptr (NsModelMeta) meta = NULL;
  g_autofree char *missing = NULL;
  g_autofree char *default_path = NULL;
  g_autofree char *other = NULL;
  int default_version = 0, other_version = 0;

  *note = NULL;
  if (!resolve_model (self, error))
    return FALSE;
  meta = ns_checkpoint_read_meta (self->model_path, error);
  if (meta == NULL)
    return FALSE;
  missing = describe_missing (self->model_path, meta, ncase);
  if (missing == NULL)
    {
      *path = g_strdup (self->model_path);
      *version = self->model_version;
      return TRUE;
    }
  default_path = ns_model_runner_find_default_model (NULL, &default_version, NULL);
  if (g_strcmp0 (default_path, self->model_path) == 0)
    other = find_model_for_case (ncase, &other_version);
  if (other == NULL)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND,
                   "%s %s", missing,
                   g_strcmp0 (default_path, self->model_path) == 0
                     ? "No registered model takes only the images this case has: open the "
                       "missing images with the case."
                     : "Open the missing images with the case, or choose a model that "
                       "takes the images it has (Segmentation > Choose Model).");
      return FALSE;
    }
  {
    g_autoptr (NsModelMeta) other_meta = ns_checkpoint_read_meta (other, NULL);
    g_autoptr (GPtrArray) inputs = g_ptr_array_new ();
    g_autofree char *takes = NULL;
    g_autofree char *base = g_path_get_basename (other);

    for (int c = 0; other_meta != NULL && other_meta->modalities[c] != NULL; c++)
      g_ptr_array_add (inputs, other_meta->modalities[c]);
    takes = join_modalities (inputs);
    *note = g_strdup_printf ("Run Model used model version %d (%s, which takes %s): %s",
                             other_version, base, takes, missing);
  }
  *path = g_steal_pointer (&other);
  *version = other_version;
  return TRUE;
}

gboolean
ns_model_runner_check (NsModelRunner *self, GError **error)
{
  NsCase *ncase;
  g_autofree char *path = NULL;
  g_autofree char *note = NULL;
  int version = 0;

  g_return_val_if_fail (NS_IS_MODEL_RUNNER (self), FALSE);

  ncase = ns_viewer_get_case (self->viewer);
  if (ncase == NULL)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED, "Run Model: no case is open");
      return FALSE;
    }
  return pick_model (self, ncase, &path, &version, &note, error);
}

gboolean
ns_model_runner_start (NsModelRunner *self, NsRunModelMode mode, gboolean want_uncertainty,
                       GError **error)
{
  g_return_val_if_fail (NS_IS_MODEL_RUNNER (self), FALSE);

  if (self->cancellable != NULL)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_BUSY, "Run Model: a run is in progress");
      return FALSE;
    }
  if (!ns_viewer_has_case (self->viewer))
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED, "Run Model: no case is open");
      return FALSE;
    }
  /* no model at all is an error here; one that cannot be read or fed fails the run */
  if (!resolve_model (self, error))
    return FALSE;
  /* the model the case can feed (the note says when it is not the chosen one) */
  g_autofree char *model_path = NULL;
  g_autofree char *pick_note = NULL;
  int model_version = 0;
  g_autoptr (GError) refused = NULL;
  if (!pick_model (self, ns_viewer_get_case (self->viewer), &model_path, &model_version,
                   &pick_note, &refused))
    {
      model_path = g_strdup (self->model_path);
      model_version = self->model_version;
    }

  Job *job = g_new0 (Job, 1);
  job->self = g_object_ref (self);
  job->ncase = ns_case_ref (ns_viewer_get_case (self->viewer));
  job->model_path = g_steal_pointer (&model_path);
  job->model_version = model_version;
  job->note = g_steal_pointer (&pick_note);
  job->refused = g_steal_pointer (&refused);
  job->device = g_strdup (self->device);
  job->max_batch = self->max_batch;
  job->memory_limit = self->memory_limit;
  job->want_uncertainty = want_uncertainty;
  job->context = g_main_context_ref_thread_default ();
  job->uncertainty = NAN;
  job->mode = mode;
  self->mode = mode;   /* before the preview, which combines as the run will */
  {
    NsLabelMap *map = self->editor != NULL && ns_editor_get_doc (self->editor) != NULL
                        ? ns_mask_doc_get_map (ns_editor_get_doc (self->editor)) : NULL;

    start_preview (self);
    if (map != NULL)
      {
        job->n_voxels = ns_grid_n_voxels (&map->grid);
        if (self->preview != NULL && ns_grid_n_voxels (&self->preview->grid) == job->n_voxels)
          job->start = ns_label_map_ref (self->preview);
        else
          job->snapshot = g_memdup2 (map->labels, job->n_voxels);
      }
  }

  self->done = 0;
  self->total = 0;
  self->cancellable = g_cancellable_new ();

  g_autoptr (GTask) task = g_task_new (self, self->cancellable, run_done, NULL);
  g_task_set_source_tag (task, ns_model_runner_start);
  g_task_set_task_data (task, job, (GDestroyNotify) job_free);
  ns_task_run_in_worker (task, "ns-run-model", run_thread_niced);
  g_signal_emit (self, signals[SIGNAL_PROGRESS], 0, 0, 0);
  return TRUE;
}

void
ns_model_runner_cancel (NsModelRunner *self)
{
  g_return_if_fail (NS_IS_MODEL_RUNNER (self));
  if (self->cancellable != NULL)
    g_cancellable_cancel (self->cancellable);
}

gboolean
ns_model_runner_is_running (NsModelRunner *self)
{
  return self->cancellable != NULL;
}

void
ns_model_runner_get_progress (NsModelRunner *self, int *done, int *total)
{
  if (done != NULL)
    *done = self->done;
  if (total != NULL)
    *total = self->total;
}

NsLabelMap *
ns_model_runner_get_preview (NsModelRunner *self)
{
  return self->preview;
}

NsLabelMap *
ns_model_runner_get_prediction (NsModelRunner *self)
{
  return self->prediction;
}

NsVolume *
ns_model_runner_get_entropy (NsModelRunner *self)
{
  return self->entropy;
}

double
ns_model_runner_get_uncertainty (NsModelRunner *self)
{
  return self->uncertainty;
}

double
ns_model_runner_get_seconds (NsModelRunner *self)
{
  return self->seconds;
}

double
ns_model_runner_get_apply_seconds (NsModelRunner *self)
{
  return self->apply_seconds;
}

/* ---- model choice --------------------------------------------------------------------- */

void
ns_model_runner_set_model (NsModelRunner *self, const char *path, int version)
{
  g_free (self->model_path);
  self->model_path = g_strdup (path);
  self->model_version = version;
}

const char *
ns_model_runner_get_model_path (NsModelRunner *self)
{
  return self->model_path;
}

int
ns_model_runner_get_model_version (NsModelRunner *self)
{
  return self->model_version;
}

void
ns_model_runner_set_device (NsModelRunner *self, const char *device)
{
  g_free (self->device);
  self->device = g_strdup (device != NULL ? device : "auto");
}

void
ns_model_runner_set_max_batch (NsModelRunner *self, int max_batch)
{
  self->max_batch = MAX (max_batch, 0);
}

void
ns_model_runner_set_memory_limit (NsModelRunner *self, gsize bytes)
{
  self->memory_limit = bytes;
}

char *
ns_model_runner_find_default_model (const char *db_path, int *version, GError **error)
{
  /* The one rule of data/ns-registry.h, shared with the command line and the trainer. */
  return ns_registry_dup_default_model (db_path, version, NULL, error);
}

static double
metric (JsonObject *o, const char *name)
{
  JsonNode *n = json_object_get_member (o, name);

  return n != NULL && JSON_NODE_HOLDS_VALUE (n) && json_node_get_value_type (n) != G_TYPE_STRING
           ? json_node_get_double (n) : NAN;
}

/* The metrics JSON of a checkpoint as lines a person reads: validation Dice by region, the
 * validation cases by name, how it was trained; anything else as "name: value". */
static void
append_metrics (GString *s, const char *metrics)
{
  static const char *const shown[] = {
    "dice_wt", "dice_tc", "dice_et", "dice_mean", "val_cases", "steps", "seconds", "device",
    "batch_size", "lr", "loss", NULL
  };
  g_autoptr (JsonParser) parser = json_parser_new ();
  g_autoptr (GList) members = NULL;
  JsonObject *o;
  JsonNode *cases;
  double wt, tc, et, mean;

  if (!json_parser_load_from_data (parser, metrics, -1, NULL)
      || !JSON_NODE_HOLDS_OBJECT (json_parser_get_root (parser)))
    {
      g_string_append (s, "Metrics: (unreadable)\n");
      return;
    }
  o = json_node_get_object (json_parser_get_root (parser));
  wt = metric (o, "dice_wt");
  tc = metric (o, "dice_tc");
  et = metric (o, "dice_et");
  mean = metric (o, "dice_mean");
  if (isfinite (wt) || isfinite (tc) || isfinite (et))
    {
      g_string_append_printf (s, "Validation Dice: WT %.3f, TC %.3f, ET %.3f", wt, tc, et);
      if (isfinite (mean))
        g_string_append_printf (s, " (mean %.3f)", mean);
      g_string_append_c (s, '\n');
    }
  else
    g_string_append (s, "Validation Dice: none recorded\n");
  cases = json_object_get_member (o, "val_cases");
  if (cases != NULL && JSON_NODE_HOLDS_ARRAY (cases))
    {
      JsonArray *a = json_node_get_array (cases);

      g_string_append_printf (s, "Validation cases (%u):", json_array_get_length (a));
      for (guint i = 0; i < json_array_get_length (a); i++)
        {
          const char *c = json_array_get_string_element (a, i);
          g_autofree char *base = c != NULL ? g_path_get_basename (c) : g_strdup ("?");

          g_string_append_printf (s, "%s %s", i > 0 ? "," : "", base);
        }
      g_string_append_c (s, '\n');
    }
  if (isfinite (metric (o, "steps")))
    {
      g_string_append_printf (s, "Training: %.0f steps", metric (o, "steps"));
      if (isfinite (metric (o, "seconds")))
        g_string_append_printf (s, " in %.0f min", metric (o, "seconds") / 60);
      if (isfinite (metric (o, "batch_size")))
        g_string_append_printf (s, ", batch %.0f", metric (o, "batch_size"));
      if (isfinite (metric (o, "lr")))
        g_string_append_printf (s, ", learning rate %g", metric (o, "lr"));
      if (isfinite (metric (o, "loss")))
        g_string_append_printf (s, ", final loss %.3f", metric (o, "loss"));
      g_string_append_c (s, '\n');
    }
  if (json_object_has_member (o, "device"))
    g_string_append_printf (s, "Trained on: %s\n",
                            json_object_get_string_member_with_default (o, "device", "?"));
  members = json_object_get_members (o);
  for (GList *l = members; l != NULL; l = l->next)
    {
      JsonNode *n = json_object_get_member (o, l->data);
      g_autofree char *value = NULL;

      if (g_strv_contains (shown, l->data) || !JSON_NODE_HOLDS_VALUE (n))
        continue;
      value = json_node_get_value_type (n) == G_TYPE_STRING
                ? g_strdup (json_node_get_string (n))
                : g_strdup_printf ("%g", json_node_get_double (n));
      g_string_append_printf (s, "%s: %s\n", (const char *) l->data, value);
    }
}

char *
ns_model_runner_describe_model (const char *path, GError **error)
{
  g_autoptr (NsModelMeta) meta = ns_checkpoint_read_meta (path, error);
  GString *s;

  if (meta == NULL)
    return NULL;
  s = g_string_new (NULL);
  g_string_append_printf (s, "File: %s\n", path);
  if (meta->name != NULL)
    g_string_append_printf (s, "Name: %s\n", meta->name);
  g_string_append_printf (s, "Architecture: %s\n", meta->arch);
  if (meta->modalities != NULL)
    {
      /* "FLAIR, T1c", with the 2.5-D context and an interactive model's mask and clicks */
      g_autofree char *m = ns_model_meta_dup_inputs_text (meta);
      g_string_append_printf (s, "Inputs: %s\n", m);
    }
  g_string_append (s, "Classes:");
  for (int c = 0; c < meta->n_classes; c++)
    g_string_append_printf (s, "%s %d %s", c > 0 ? "," : "", meta->classes[c].value,
                            meta->classes[c].name);
  g_string_append_c (s, '\n');
  if (meta->parent != NULL)
    g_string_append_printf (s, "Fine-tuned from: %s\n", meta->parent);
  if (meta->cases != NULL)
    {
      guint n = g_strv_length (meta->cases);
      g_string_append_printf (s, "Trained on: %u case%s\n", n, n == 1 ? "" : "s");
    }
  if (meta->epochs > 0)
    g_string_append_printf (s, "Epochs: %d\n", meta->epochs);
  if (meta->metrics != NULL)
    append_metrics (s, meta->metrics);
  if (meta->date != NULL)
    g_string_append_printf (s, "Date: %s\n", meta->date);
  if (meta->command != NULL)
    g_string_append_printf (s, "Command: %s\n", meta->command);
  return g_string_free (s, FALSE);
}

/* ---- Mark Corrected and Queue ---------------------------------------------------------- */

/* Moves an earlier correction at path aside (<stem>.<date>.nii.gz), so that saving over
 * it loses nothing. */
static gboolean
keep_earlier_correction (const char *path, GError **error)
{
  g_autoptr (GDateTime) now = g_date_time_new_now_local ();
  g_autofree char *stamp = g_date_time_format (now, "%Y%m%d-%H%M%S");
  g_autofree char *stem = g_strndup (path, strlen (path) - strlen (".nii.gz"));
  g_autofree char *aside = g_strdup_printf ("%s.%s.nii.gz", stem, stamp);

  if (g_rename (path, aside) != 0)
    {
      int saved = errno;

      g_set_error (error, G_FILE_ERROR, g_file_error_from_errno (saved),
                   "%s: cannot keep the earlier correction as %s: %s", path, aside,
                   g_strerror (saved));
      return FALSE;
    }
  return TRUE;
}

/* What the queue is given for a correction: copies, so that a worker thread may use them
 * while the user goes on. */
typedef struct
{
  char *db_path;
  char *case_dir;
  char *mask_path;
  char *prediction_path;    /* NULL: none kept */
  int model_version;
  double uncertainty;
  char *claim_token;
} QueueJob;

static void
queue_job_free (QueueJob *job)
{
  g_free (job->db_path);
  g_free (job->case_dir);
  g_free (job->mask_path);
  g_free (job->prediction_path);
  g_free (job->claim_token);
  g_free (job);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (QueueJob, queue_job_free)

/* The part of Mark Corrected on the main loop: the mask saved into the corrections folder
 * and the prediction copied beside it (what the user made is on disk before the queue is
 * tried); returns what the queue is to record. */
static QueueJob *
prepare_correction (NsModelRunner *self, NsEditor *editor, const char *db_path,
                    GError **error)
{
  NsCase *ncase = ns_viewer_get_case (self->viewer);
  NsMaskDoc *doc = editor != NULL ? ns_editor_get_doc (editor) : NULL;
  g_autofree char *folder = NULL;
  g_autofree char *mask_path = NULL;
  g_autofree char *prediction_path = NULL;
  g_autoptr (NsKeptPrediction) kept = NULL;
  QueueJob *job;
  GError *local = NULL;

  if (ncase == NULL || doc == NULL)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED,
                   "Mark Corrected: no case with a mask is open");
      return NULL;
    }
  /* into the user's corrections folder, never the case's own (the source tree's sample,
   * a read-only archive) */
  folder = ns_corrections_dup_case_folder (ncase);
  if (g_mkdir_with_parents (folder, 0700) != 0)
    {
      int saved = errno;

      g_set_error (error, G_FILE_ERROR, g_file_error_from_errno (saved),
                   "Mark Corrected: cannot make the folder %s: %s", folder, g_strerror (saved));
      return NULL;
    }
  {
    g_autofree char *mask_name = g_strconcat (ncase->id, "_mask.nii.gz", NULL);
    g_autofree char *prediction_name = g_strconcat (ncase->id, "_mask_prediction.nii.gz", NULL);

    mask_path = g_build_filename (folder, mask_name, NULL);
    prediction_path = g_build_filename (folder, prediction_name, NULL);
  }
  if (g_strcmp0 (ns_mask_doc_get_path (doc), mask_path) == 0)
    {
      if (!ns_editor_save (editor, NULL, FALSE, error))
        return NULL;
    }
  else if ((g_file_test (mask_path, G_FILE_TEST_EXISTS)
            && !keep_earlier_correction (mask_path, error))
           || !ns_editor_save (editor, mask_path, FALSE, error))
    return NULL;

  /* the prediction it was corrected from: the case's latest, kept when Run Model made it
   * (so also after a crash and a recovery), copied beside the mask so that a later run
   * does not change what the queue compares */
  kept = ns_corrections_dup_last_prediction (ncase, &local);
  if (local != NULL)
    {
      g_propagate_prefixed_error (error, local, "Mark Corrected: ");
      return NULL;
    }
  if (kept != NULL)
    {
      g_autoptr (GFile) from = g_file_new_for_path (kept->path);
      g_autoptr (GFile) to = g_file_new_for_path (prediction_path);

      if (!g_file_copy (from, to, G_FILE_COPY_OVERWRITE, NULL, NULL, NULL, error))
        {
          g_prefix_error (error, "Mark Corrected: %s: ", prediction_path);
          return NULL;
        }
    }

  job = g_new0 (QueueJob, 1);
  job->db_path = g_strdup (db_path);
  job->case_dir = g_strdup (ncase->dir);
  job->mask_path = g_steal_pointer (&mask_path);
  job->prediction_path = kept != NULL ? g_steal_pointer (&prediction_path) : NULL;
  /* the queue records registered versions (>= 1); the shipped model and files as unknown */
  job->model_version = kept != NULL && kept->model_version >= 1 ? kept->model_version : 0;
  job->uncertainty = kept != NULL ? kept->uncertainty : NAN;
  job->claim_token = g_strdup (self->claim_token);
  return job;
}

/* The queue's part: may wait (a busy database, a server away: ns_db's retries, up to
 * NS_DB_RETRY_WINDOW_MS), so the GUI runs it in a worker. */
static gint64
queue_correction (const QueueJob *job, GError **error)
{
  g_autoptr (NsDb) queue = ns_db_open (job->db_path, error);
  NsQueueAnnotation a = { 0 };

  if (queue == NULL)
    return 0;
  a.mask_path = job->mask_path;
  a.prediction_path = job->prediction_path;
  a.model_version = job->model_version;
  a.uncertainty = job->uncertainty;
  a.claim_token = job->claim_token;
  return ns_queue_add (queue, job->case_dir, &a, error);
}

gint64
ns_model_runner_mark_corrected (NsModelRunner *self, NsEditor *editor, const char *db_path,
                                GError **error)
{
  g_autoptr (QueueJob) job = prepare_correction (self, editor, db_path, error);

  return job != NULL ? queue_correction (job, error) : 0;
}

static void
queue_correction_thread (GTask *task, gpointer source, gpointer task_data,
                         GCancellable *cancellable)
{
  GError *error = NULL;
  gint64 id = queue_correction (task_data, &error);

  if (id == 0)
    g_task_return_error (task, error);
  else
    g_task_return_int (task, id);
}

void
ns_model_runner_mark_corrected_async (NsModelRunner *self, NsEditor *editor,
                                      const char *db_path, GCancellable *cancellable,
                                      GAsyncReadyCallback callback, gpointer user_data)
{
  g_autoptr (GTask) task = NULL;
  GError *error = NULL;
  QueueJob *job;

  g_return_if_fail (NS_IS_MODEL_RUNNER (self));
  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, ns_model_runner_mark_corrected_async);
  job = prepare_correction (self, editor, db_path, &error);
  if (job == NULL)
    {
      g_task_return_error (task, error);
      return;
    }
  g_task_set_task_data (task, job, (GDestroyNotify) queue_job_free);
  /* the task holds the runner, and so its viewer: released in the main thread */
  ns_task_run_in_worker (task, "ns-queue-correction", queue_correction_thread);
}

gint64
ns_model_runner_mark_corrected_finish (NsModelRunner *self, GAsyncResult *result,
                                       GError **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), 0);
  return g_task_propagate_int (G_TASK (result), error);
}

void
ns_model_runner_set_claim_token (NsModelRunner *self, const char *token)
{
  g_free (self->claim_token);
  self->claim_token = g_strdup (token);
}

/* ---- GObject ------------------------------------------------------------------------ */

static void
ns_model_runner_dispose (GObject *object)
{
  NsModelRunner *self = NS_MODEL_RUNNER (object);

  if (self->cancellable != NULL)
    g_cancellable_cancel (self->cancellable);
  g_clear_object (&self->cancellable);
  clear_preview (self);
  /* the viewer's handlers go while both are alive (not left to this object's closures) */
  if (self->viewer != NULL)
    g_signal_handlers_disconnect_by_data (self->viewer, self);
  g_clear_object (&self->viewer);
  if (self->editor != NULL)
    g_object_remove_weak_pointer (G_OBJECT (self->editor), (gpointer *) &self->editor);
  self->editor = NULL;
  G_OBJECT_CLASS (ns_model_runner_parent_class)->dispose (object);
}

static void
ns_model_runner_finalize (GObject *object)
{
  NsModelRunner *self = NS_MODEL_RUNNER (object);

  g_free (self->model_path);
  g_free (self->claim_token);
  g_free (self->device);
  g_clear_pointer (&self->prediction, ns_label_map_unref);
  g_clear_pointer (&self->prediction_case, ns_case_unref);
  g_clear_pointer (&self->entropy, ns_volume_unref);
  G_OBJECT_CLASS (ns_model_runner_parent_class)->finalize (object);
}

static void
ns_model_runner_class_init (NsModelRunnerClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->dispose = ns_model_runner_dispose;
  object_class->finalize = ns_model_runner_finalize;
  signals[SIGNAL_PROGRESS] = g_signal_new ("progress", G_TYPE_FROM_CLASS (klass),
                                           G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL,
                                           G_TYPE_NONE, 2, G_TYPE_INT, G_TYPE_INT);
  /* (const int *slices, int n_slices): those axial slices of the preview now hold the
   * prediction; emitted before the "progress" of the same batch */
  signals[SIGNAL_PREVIEW_UPDATED] = g_signal_new ("preview-updated", G_TYPE_FROM_CLASS (klass),
                                                  G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL,
                                                  G_TYPE_NONE, 2, G_TYPE_POINTER, G_TYPE_INT);
  signals[SIGNAL_FINISHED] = g_signal_new ("finished", G_TYPE_FROM_CLASS (klass),
                                           G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL,
                                           G_TYPE_NONE, 2, G_TYPE_BOOLEAN, G_TYPE_STRING);
}

static void
ns_model_runner_init (NsModelRunner *self)
{
  self->device = g_strdup ("auto");
  self->uncertainty = NAN;
}

NsModelRunner *
ns_model_runner_new (NsViewer *viewer)
{
  NsModelRunner *self = g_object_new (NS_TYPE_MODEL_RUNNER, NULL);

  self->viewer = g_object_ref (viewer);
  g_signal_connect_object (viewer, "labels-damaged", G_CALLBACK (on_labels_damaged), self, 0);
  g_signal_connect_object (viewer, "labels-changed", G_CALLBACK (on_labels_changed), self, 0);
  return self;
}

void
ns_model_runner_set_editor (NsModelRunner *self, NsEditor *editor)
{
  if (self->editor != NULL)
    g_object_remove_weak_pointer (G_OBJECT (self->editor), (gpointer *) &self->editor);
  self->editor = editor;
  if (editor != NULL)
    g_object_add_weak_pointer (G_OBJECT (editor), (gpointer *) &self->editor);
}
