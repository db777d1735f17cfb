/* SPDX-License-Identifier: MIT
 *
 * ns-surface-worker.c: meshing for the 3D view on a worker thread (see the header).
 *
 * A job is made on the main thread (ns_surfaces_job_new () copies the voxels it needs, so
 * the editor may go on painting), run in a GTask thread, and put in place by the GTask's
 * callback on the main thread.  A whole re-mesh of a map not meshed before (another case,
 * Run Model's result, recovery, new settings) meshes into new surfaces that replace the
 * drawn ones only once complete.  The worker holds a reference for each running job so
 * that freeing it while a job runs is safe: the callback then only drops the result.
 */
#define G_LOG_DOMAIN "neuroseg-ui"

#include "ns-surface-worker.h"

#include <string.h>

#include "ns-task.h"

struct _NsSurfaceWorker
{
  int ref_count;                 /* main thread only */
  gboolean freed;
  int block_size, outline_step;
  NsSurfaceWorkerUpdated updated;
  gpointer user_data;
  NsSurfaceKind kind;
  NsMeshDecimation decimation;

  NsSurfaces *surfaces;          /* last complete, of the map `meshed` */
  NsLabelMap *meshed;
  NsSurfaces *outline;

  /* what is wanted next */
  NsLabelMap *labels;
  gboolean all_pending, box_pending, outline_pending;
  int box[6];
  NsVolume *image;

  gboolean running;
  guint epoch;                   /* bumped by ns_surface_worker_clear (): older results go */
  GCancellable *cancellable;
  guint last_remeshed, n_jobs;
};

typedef struct
{
  NsSurfacesJob *job;            /* NULL: no label work */
  NsSurfaces *target;            /* new surfaces the job fills, or NULL: the worker's */
  NsLabelMap *labels;            /* the map the job meshes (a reference) */
  gboolean do_outline;
  NsVolume *image;               /* for the outline (NULL: none) */
  NsSurfaces *outline;           /* made by the thread */
  int block_size, outline_step;
  NsMeshDecimation decimation;
  guint epoch;
} Work;

static void
work_free (gpointer data)
{
  Work *w = data;

  ns_surfaces_job_free (w->job);
  ns_surfaces_free (w->target);
  g_clear_pointer (&w->labels, ns_label_map_unref);
  g_clear_pointer (&w->image, ns_volume_unref);
  ns_surfaces_free (w->outline);
  g_free (w);
}

static void
worker_unref (NsSurfaceWorker *worker)
{
  if (--worker->ref_count > 0)
    return;
  ns_surfaces_free (worker->surfaces);
  ns_surfaces_free (worker->outline);
  g_clear_pointer (&worker->meshed, ns_label_map_unref);
  g_clear_pointer (&worker->labels, ns_label_map_unref);
  g_clear_pointer (&worker->image, ns_volume_unref);
  g_clear_object (&worker->cancellable);
  g_free (worker);
}

NsSurfaceWorker *
ns_surface_worker_new (int block_size, int outline_step, NsSurfaceWorkerUpdated updated,
                       gpointer user_data)
{
  NsSurfaceWorker *worker;

  g_return_val_if_fail (block_size >= 4 && block_size <= 64 && outline_step >= 1, NULL);
  worker = g_new0 (NsSurfaceWorker, 1);
  worker->ref_count = 1;
  worker->block_size = block_size;
  worker->outline_step = outline_step;
  worker->updated = updated;
  worker->user_data = user_data;
  worker->kind = NS_SURFACES_LABELS;
  worker->decimation = NS_MESH_DECIMATE_OFF;
  worker->cancellable = g_cancellable_new ();
  return worker;
}

void
ns_surface_worker_free (NsSurfaceWorker *worker)
{
  if (worker == NULL)
    return;
  worker->freed = TRUE;
  g_cancellable_cancel (worker->cancellable);
  worker_unref (worker);
}

/* ---- the thread ------------------------------------------------------------------------ */

static void
run_in_thread (GTask *task, gpointer source, gpointer data, GCancellable *cancellable)
{
  Work *w = data;

  if (w->do_outline && w->image != NULL)
    {
      NsGrid coarse;
      g_autofree guint8 *mask = ns_surfaces_brain_mask_new (w->image, w->outline_step,
                                                            &coarse);
      w->outline = ns_surfaces_new_full (&coarse, w->block_size, NS_SURFACES_LABELS,
                                         w->decimation);
      ns_surfaces_update (w->outline, mask, NULL, NULL);
    }
  if (w->job != NULL && !ns_surfaces_job_run (w->job, cancellable))
    {
      g_task_return_new_error (task, G_IO_ERROR, G_IO_ERROR_CANCELLED, "meshing cancelled");
      return;
    }
  g_task_return_boolean (task, TRUE);
}

static void start_next (NsSurfaceWorker *worker);

static void
job_done_cb (GObject *source, GAsyncResult *result, gpointer data)
{
  NsSurfaceWorker *worker = data;
  Work *w = g_task_get_task_data (G_TASK (result));
  g_autoptr (GError) error = NULL;

  worker->running = FALSE;
  if (!g_task_propagate_boolean (G_TASK (result), &error) || worker->freed)
    {
      /* Only freeing the worker cancels a job. */
      if (!worker->freed)
        g_warning ("the 3D view's surfaces were not meshed: %s", error->message);
      worker_unref (worker);
      return;
    }
  if (w->epoch != worker->epoch)
    {
      /* Cleared meanwhile (another case): the result is of what was before. */
      start_next (worker);
      worker_unref (worker);
      return;
    }
  if (w->do_outline)
    {
      ns_surfaces_free (worker->outline);
      worker->outline = g_steal_pointer (&w->outline);
    }
  if (w->job != NULL)
    {
      if (w->target != NULL)
        {
          worker->last_remeshed = ns_surfaces_job_apply (w->target, w->job);
          ns_surfaces_free (worker->surfaces);
          worker->surfaces = g_steal_pointer (&w->target);
          g_clear_pointer (&worker->meshed, ns_label_map_unref);
          worker->meshed = g_steal_pointer (&w->labels);
        }
      else
        worker->last_remeshed = ns_surfaces_job_apply (worker->surfaces, w->job);
    }
  worker->n_jobs++;
  if (worker->updated != NULL)
    worker->updated (worker->user_data);
  start_next (worker);
  worker_unref (worker);
}

/* ---- the main thread's side -------------------------------------------------------------- */

static gboolean
surfaces_fit (NsSurfaceWorker *worker, NsLabelMap *labels)
{
  const NsSurfaces *s = worker->surfaces;

  return s != NULL && worker->meshed == labels
         && ns_grid_equal (ns_surfaces_get_grid (s), &labels->grid)
         && ns_surfaces_get_kind (s) == worker->kind
         && ns_surfaces_get_decimation (s) == worker->decimation;
}

static void
start_next (NsSurfaceWorker *worker)
{
  Work *w;
  g_autoptr (GTask) task = NULL;

  if (worker->running || worker->freed
      || !(worker->all_pending || worker->box_pending || worker->outline_pending))
    return;

  if (worker->labels == NULL && (worker->all_pending || worker->box_pending))
    {
      /* No labels: nothing to mesh, the surfaces go at once. */
      gboolean had = worker->surfaces != NULL;
      g_clear_pointer (&worker->surfaces, ns_surfaces_free);
      g_clear_pointer (&worker->meshed, ns_label_map_unref);
      worker->all_pending = worker->box_pending = FALSE;
      if (had && worker->updated != NULL)
        worker->updated (worker->user_data);
      if (!worker->outline_pending)
        return;
    }

  w = g_new0 (Work, 1);
  w->block_size = worker->block_size;
  w->outline_step = worker->outline_step;
  w->decimation = worker->decimation;
  w->epoch = worker->epoch;
  if (worker->outline_pending)
    {
      w->do_outline = TRUE;
      w->image = worker->image != NULL ? ns_volume_ref (worker->image) : NULL;
      worker->outline_pending = FALSE;
    }
  if (worker->labels != NULL && (worker->all_pending || worker->box_pending))
    {
      NsLabelMap *labels = worker->labels;
      if (!surfaces_fit (worker, labels))
        {
          w->target = ns_surfaces_new_full (&labels->grid, worker->block_size, worker->kind,
                                            worker->decimation);
          w->labels = ns_label_map_ref (labels);
          w->job = ns_surfaces_job_new (w->target, labels->labels, NULL, NULL);
        }
      else if (worker->all_pending)
        w->job = ns_surfaces_job_new (worker->surfaces, labels->labels, NULL, NULL);
      else
        w->job = ns_surfaces_job_new (worker->surfaces, labels->labels, worker->box,
                                      worker->box + 3);
      worker->all_pending = worker->box_pending = FALSE;
    }
  if (w->job == NULL && !w->do_outline)
    {
      /* A box outside the grid. */
      work_free (w);
      return;
    }

  worker->running = TRUE;
  worker->ref_count++;
  task = g_task_new (NULL, worker->cancellable, job_done_cb, worker);
  g_task_set_source_tag (task, start_next);
  g_task_set_task_data (task, w, work_free);
  /* nothing here is a GObject (the work's data are meshes and maps), but ui/ runs every
   * task by the one rule */
  ns_task_run_in_worker (task, "ns-surfaces", run_in_thread);
}

static void
want_labels (NsSurfaceWorker *worker, NsLabelMap *labels)
{
  if (worker->labels == labels)
    return;
  g_clear_pointer (&worker->labels, ns_label_map_unref);
  worker->labels = labels != NULL ? ns_label_map_ref (labels) : NULL;
}

void
ns_surface_worker_set_settings (NsSurfaceWorker *worker, NsSurfaceKind kind,
                                NsMeshDecimation decimation)
{
  g_return_if_fail (worker != NULL);

  if (worker->kind == kind && worker->decimation == decimation)
    return;
  worker->kind = kind;
  /* The outline is decimated too: it follows the level. */
  if (worker->decimation != decimation && worker->image != NULL)
    worker->outline_pending = TRUE;
  worker->decimation = decimation;
  worker->all_pending = TRUE;
  start_next (worker);
}

NsSurfaceKind
ns_surface_worker_get_kind (NsSurfaceWorker *worker)
{
  return worker->kind;
}

NsMeshDecimation
ns_surface_worker_get_decimation (NsSurfaceWorker *worker)
{
  return worker->decimation;
}

void
ns_surface_worker_mesh_all (NsSurfaceWorker *worker, NsLabelMap *labels)
{
  g_return_if_fail (worker != NULL);

  want_labels (worker, labels);
  worker->all_pending = TRUE;
  worker->box_pending = FALSE;
  start_next (worker);
}

void
ns_surface_worker_mesh_box (NsSurfaceWorker *worker, NsLabelMap *labels, const int box[6])
{
  g_return_if_fail (worker != NULL && box != NULL);

  if (labels != worker->labels)
    {
      ns_surface_worker_mesh_all (worker, labels);
      return;
    }
  if (!worker->all_pending)
    {
      if (!worker->box_pending)
        memcpy (worker->box, box, sizeof worker->box);
      else
        for (int a = 0; a < 3; a++)
          {
            worker->box[a] = MIN (worker->box[a], box[a]);
            worker->box[3 + a] = MAX (worker->box[3 + a], box[3 + a]);
          }
      worker->box_pending = TRUE;
    }
  start_next (worker);
}

void
ns_surface_worker_clear (NsSurfaceWorker *worker)
{
  g_return_if_fail (worker != NULL);

  worker->epoch++;
  g_clear_pointer (&worker->surfaces, ns_surfaces_free);
  g_clear_pointer (&worker->meshed, ns_label_map_unref);
  g_clear_pointer (&worker->outline, ns_surfaces_free);
  if (worker->updated != NULL)
    worker->updated (worker->user_data);
}

void
ns_surface_worker_mesh_outline (NsSurfaceWorker *worker, NsVolume *image)
{
  g_return_if_fail (worker != NULL);

  if (worker->image != image)
    {
      g_clear_pointer (&worker->image, ns_volume_unref);
      worker->image = image != NULL ? ns_volume_ref (image) : NULL;
    }
  worker->outline_pending = TRUE;
  start_next (worker);
}

const NsSurfaces *
ns_surface_worker_get_surfaces (NsSurfaceWorker *worker)
{
  return worker->surfaces;
}

const NsSurfaces *
ns_surface_worker_get_outline (NsSurfaceWorker *worker)
{
  return worker->outline;
}

gboolean
ns_surface_worker_is_busy (NsSurfaceWorker *worker)
{
  return worker->running || worker->all_pending || worker->box_pending
         || worker->outline_pending;
}

guint
ns_surface_worker_get_last_remeshed (NsSurfaceWorker *worker)
{
  return worker->last_remeshed;
}

guint
ns_surface_worker_get_n_jobs (NsSurfaceWorker *worker)
{
  return worker->n_jobs;
}
