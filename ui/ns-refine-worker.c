/* SPDX-License-Identifier: MIT
 *
 * ns-refine-worker.c: the Refine tool's worker side (see ns-refine-private.h): the
 * interactive model and session of net/ns-interact.h, driven from GTask threads.
 *
 * Labels go back to the main loop as whole copies of the session's label map (9 MB for a
 * BraTS case, a few milliseconds to copy): the main loop merges them with the mask as it
 * is then, so the worker never reads the document.  While propagating, a copy goes at most
 * every UPDATE_INTERVAL_US, and once at the end.
 */
#define G_LOG_DOMAIN "ns-refine"

#include "ns-refine-private.h"

#include "ns-checkpoint.h"
#include "ns-task.h"

#include <string.h>

#define UPDATE_INTERVAL_US (250 * 1000)

void
_ns_refine_item_free (RefineItem *item)
{
  if (item == NULL)
    return;
  g_clear_pointer (&item->labels, ns_label_map_unref);
  g_clear_pointer (&item->ncase, ns_case_unref);
  g_clear_pointer (&item->points, g_array_unref);
  g_free (item);
}

void
_ns_refine_engine_init (RefineEngine *engine)
{
  memset (engine, 0, sizeof *engine);
  g_mutex_init (&engine->engine_lock);
  g_mutex_init (&engine->queue_lock);
  engine->queue = g_ptr_array_new_with_free_func ((GDestroyNotify) _ns_refine_item_free);
}

static void
drop_session (RefineEngine *engine)
{
  g_clear_pointer (&engine->session, ns_interact_session_free);
  g_clear_pointer (&engine->ncase, ns_case_unref);
  g_clear_pointer (&engine->work, ns_label_map_unref);
}

/* Only when no request runs any more (the owner's finalize: every task held a reference). */
void
_ns_refine_engine_clear (RefineEngine *engine)
{
  drop_session (engine);
  g_clear_pointer (&engine->model, ns_model_free);
  g_clear_pointer (&engine->backend, ns_backend_free);
  g_clear_pointer (&engine->model_path, g_free);
  g_clear_pointer (&engine->queue, g_ptr_array_unref);
  g_mutex_clear (&engine->engine_lock);
  g_mutex_clear (&engine->queue_lock);
}

void
_ns_refine_engine_push (RefineEngine *engine, RefineItem *item)
{
  g_mutex_lock (&engine->queue_lock);
  g_ptr_array_add (engine->queue, item);
  g_mutex_unlock (&engine->queue_lock);
}

void
_ns_refine_engine_drop_queue (RefineEngine *engine)
{
  g_mutex_lock (&engine->queue_lock);
  g_ptr_array_set_size (engine->queue, 0);
  g_mutex_unlock (&engine->queue_lock);
}

/* ---- in the worker, under engine_lock ------------------------------------------------------ */

static gboolean
ensure_model (RefineEngine *engine, const char *path, GError **error)
{
  g_autoptr (NsBackend) backend = NULL;
  NsModel *model;

  if (engine->model != NULL && g_strcmp0 (engine->model_path, path) == 0)
    return TRUE;
  drop_session (engine);
  g_clear_pointer (&engine->model, ns_model_free);
  g_clear_pointer (&engine->backend, ns_backend_free);
  g_clear_pointer (&engine->model_path, g_free);

  backend = ns_backend_new ("auto", error);
  if (backend == NULL)
    return FALSE;
  model = ns_checkpoint_load (path, backend, error);
  if (model == NULL)
    return FALSE;
  if (!ns_model_meta_check_kind (ns_model_get_meta (model), TRUE, path, error))
    {
      ns_model_free (model);
      return FALSE;
    }
  ns_model_set_mode (model, NS_MODEL_INFER);
  engine->backend = g_steal_pointer (&backend);
  engine->model = model;
  engine->model_path = g_strdup (path);
  return TRUE;
}

static gboolean
restart (RefineEngine *engine, const char *model_path, RefineItem *item, GError **error)
{
  NsInteractSession *session;

  if (!ensure_model (engine, model_path, error))
    return FALSE;
  drop_session (engine);
  session = ns_interact_session_new (engine->model, item->ncase, item->region, item->labels,
                                     error);
  if (session == NULL)
    return FALSE;
  engine->session = session;
  engine->ncase = ns_case_ref (item->ncase);
  engine->work = g_steal_pointer (&item->labels);
  return TRUE;
}

/* Feeds every queued item to the session, in order; the queue is emptied even on error
 * (an interaction the session refused is not retried by the next request). */
static gboolean
feed_queue (RefineEngine *engine, const char *model_path, GError **error)
{
  g_autoptr (GPtrArray) items = NULL;

  g_mutex_lock (&engine->queue_lock);
  items = engine->queue;
  engine->queue = g_ptr_array_new_with_free_func ((GDestroyNotify) _ns_refine_item_free);
  g_mutex_unlock (&engine->queue_lock);

  for (guint i = 0; i < items->len; i++)
    {
      RefineItem *item = g_ptr_array_index (items, i);

      if (item->kind == REFINE_ITEM_RESTART)
        {
          if (!restart (engine, model_path, item, error))
            return FALSE;
          continue;
        }
      if (engine->session == NULL)
        {
          g_set_error_literal (error, NS_NET_ERROR, NS_NET_ERROR_FAILED,
                               "the refine session was not started");
          return FALSE;
        }
      if (item->points->len == 1
          ? !ns_interact_session_add_click (engine->session,
                                            &g_array_index (item->points, NsClick, 0), error)
          : !ns_interact_session_add_scribble (engine->session, (NsClick *) item->points->data,
                                               item->points->len, error))
        return FALSE;
    }
  return TRUE;
}

typedef struct
{
  RefineEngine *engine;
  GObject *owner;
  char *model_path;
  guint episode;
  int axis, slice;
  gboolean propagate;
  RefineUpdateFunc update;
  GMainContext *context;
  gint64 last_post;             /* monotonic µs of the last update posted */
} Request;

static void
request_free (Request *r)
{
  g_clear_object (&r->owner);
  g_free (r->model_path);
  g_main_context_unref (r->context);
  g_free (r);
}

typedef struct
{
  GObject *owner;
  RefineUpdateFunc update;
  guint episode;
  NsLabelMap *labels;
} Update;

static gboolean
update_in_main (gpointer data)
{
  Update *u = data;

  u->update (u->owner, u->episode, g_steal_pointer (&u->labels));
  return G_SOURCE_REMOVE;
}

static void
update_free (gpointer data)
{
  Update *u = data;

  g_clear_object (&u->owner);
  g_clear_pointer (&u->labels, ns_label_map_unref);
  g_free (u);
}

/* The session's mask into the work labels, and a copy of them to the main loop (queued as
 * an idle on the request's context, never run here: see ns-model-runner.c). */
static void
post_labels (Request *r)
{
  RefineEngine *engine = r->engine;
  g_autoptr (GError) error = NULL;
  GSource *source;
  Update *u;
  NsLabelMap *copy;

  ns_interact_apply_region (engine->work, ns_interact_session_get_region (engine->session),
                            ns_interact_session_get_mask (engine->session), NULL);
  copy = ns_label_map_dup (engine->work, &error);
  if (copy == NULL)
    {
      /* the preview misses this step; the next one (or the end) brings it */
      g_warning ("refine preview: %s", error->message);
      return;
    }
  u = g_new0 (Update, 1);
  u->owner = g_object_ref (r->owner);
  u->update = r->update;
  u->episode = r->episode;
  u->labels = copy;
  source = g_idle_source_new ();
  g_source_set_priority (source, G_PRIORITY_DEFAULT);
  g_source_set_callback (source, update_in_main, u, update_free);
  g_source_set_static_name (source, "ns-refine");
  g_source_attach (source, r->context);
  g_source_unref (source);
  r->last_post = g_get_monotonic_time ();
}

static void
propagated_slice_cb (int axis, int slice, const guint8 *plane, gsize n_changed,
                     gpointer user_data)
{
  Request *r = user_data;

  if (n_changed > 0 && g_get_monotonic_time () - r->last_post >= UPDATE_INTERVAL_US)
    post_labels (r);
}

static gboolean
run_locked (Request *r, GCancellable *cancellable, GError **error)
{
  RefineEngine *engine = r->engine;

  if (!feed_queue (engine, r->model_path, error))
    return FALSE;
  if (r->axis < 0 || engine->session == NULL)
    return TRUE;
  if (!ns_interact_session_run_slice (engine->session, r->axis, r->slice, NULL, cancellable,
                                      error))
    return FALSE;
  post_labels (r);
  if (!r->propagate)
    return TRUE;
  if (!ns_interact_session_propagate (engine->session, r->axis, r->slice, propagated_slice_cb,
                                      r, cancellable, error))
    {
      /* what was propagated before the cancel (each slice whole) still shows */
      post_labels (r);
      return FALSE;
    }
  post_labels (r);
  return TRUE;
}

static void
run_thread (GTask *task, gpointer source, gpointer task_data, GCancellable *cancellable)
{
  Request *r = task_data;
  GError *error = NULL;
  gboolean ok;

  g_mutex_lock (&r->engine->engine_lock);
  ok = run_locked (r, cancellable, &error);
  g_mutex_unlock (&r->engine->engine_lock);
  if (ok)
    g_task_return_boolean (task, TRUE);
  else
    g_task_return_error (task, error);
}

void
_ns_refine_engine_run_async (RefineEngine *engine, GObject *owner, const char *model_path,
                             guint episode, int axis, int slice, gboolean propagate,
                             RefineUpdateFunc update,
                             GCancellable *cancellable, GAsyncReadyCallback callback,
                             gpointer user_data)
{
  g_autoptr (GTask) task = g_task_new (owner, cancellable, callback, user_data);
  Request *r = g_new0 (Request, 1);

  r->engine = engine;
  r->owner = g_object_ref (owner);
  r->model_path = g_strdup (model_path);
  r->episode = episode;
  r->axis = axis;
  r->slice = slice;
  r->propagate = propagate;
  r->update = update;
  r->context = g_main_context_ref_thread_default ();
  g_task_set_source_tag (task, _ns_refine_engine_run_async);
  g_task_set_task_data (task, r, (GDestroyNotify) request_free);
  /* the cancellable is checked by the engine before every slice; a cancelled request
   * still feeds its interactions to the session */
  g_task_set_return_on_cancel (task, FALSE);
  /* the caller learns whether the engine stopped early (NS_NET_ERROR_CANCELLED) or had
   * finished when the cancel came */
  g_task_set_check_cancellable (task, FALSE);
  /* the task and its request hold the owner (the Refine tool, its editor and viewer):
   * released in the main thread (the case closed while a request runs) */
  ns_task_run_in_worker (task, "ns-refine", run_thread);
}

gboolean
_ns_refine_engine_run_finish (GObject *owner, GAsyncResult *result, GError **error)
{
  g_return_val_if_fail (g_task_is_valid (result, owner), FALSE);
  return g_task_propagate_boolean (G_TASK (result), error);
}
