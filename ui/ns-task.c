/* SPDX-License-Identifier: MIT
 *
 * ns-task.c: a GTask's work in a thread of its own, its last reference released where the
 * task was made (see ns-task.h).  A thread per task, not a pool: the tasks of ui/ are few
 * and long (a case load, a DICOM scan, a Slurm poll, a Refine step), and a thread of our
 * own is the only way to control which thread drops the reference (the pool's unref is
 * internal to GLib).  The release goes through an idle source of the task's context whose
 * destroy notify unrefs the task; it is attached after func returned, so after the idle
 * source through which GTask runs the callback, and at the same priority (the task's): the
 * callback runs first, then the release.
 */
#define G_LOG_DOMAIN "ns-task"

#include "ns-task.h"

typedef struct
{
  GTask *task;                   /* the thread's reference */
  GTaskThreadFunc func;
} Worker;

/* ns_task_test_hold_releases () */
static GMutex hold_mutex;
static GCond hold_cond;
static gboolean hold_releases;

/* ns_task_test_refuse_threads () */
static gboolean refuse_threads;

/* A source that only runs its destroy notify (the task's unref) in its context's thread. */
static gboolean
release_cb (gpointer data)
{
  return G_SOURCE_REMOVE;
}

static gpointer
worker_main (gpointer data)
{
  Worker *w = data;
  GTask *task = w->task;
  GSource *source;

  w->func (task, g_task_get_source_object (task), g_task_get_task_data (task),
           g_task_get_cancellable (task));
  g_free (w);
  g_mutex_lock (&hold_mutex);
  while (hold_releases)
    g_cond_wait (&hold_cond, &hold_mutex);
  g_mutex_unlock (&hold_mutex);

  /* Not g_main_context_invoke (): when no thread owns the context at that moment (a test
   * that iterates it by hand, between iterations), it would run here, in the worker. */
  source = g_idle_source_new ();
  g_source_set_priority (source, g_task_get_priority (task));
  g_source_set_callback (source, release_cb, task, g_object_unref);
  g_source_set_static_name (source, "ns-task-release");
  g_source_attach (source, g_task_get_context (task));
  g_source_unref (source);
  return NULL;
}

void
ns_task_run_in_worker (GTask *task, const char *name, GTaskThreadFunc func)
{
  g_autoptr (GError) error = NULL;
  GThread *thread;
  Worker *w;

  g_return_if_fail (G_IS_TASK (task));
  g_return_if_fail (name != NULL);
  g_return_if_fail (func != NULL);

  w = g_new0 (Worker, 1);
  w->task = g_object_ref (task);
  w->func = func;
  if (g_atomic_int_get (&refuse_threads))
    g_set_error_literal (&error, G_THREAD_ERROR, G_THREAD_ERROR_AGAIN,
                         "refused by ns_task_test_refuse_threads ()");
  thread = error == NULL ? g_thread_try_new (name, worker_main, w, &error) : NULL;
  if (thread == NULL)
    {
      g_object_unref (w->task);
      g_free (w);
      g_task_return_new_error (task, G_THREAD_ERROR, G_THREAD_ERROR_AGAIN,
                               "Could not start a thread for %s: %s", name, error->message);
      return;
    }
  g_thread_unref (thread);
}

void
ns_task_test_hold_releases (gboolean hold)
{
  g_mutex_lock (&hold_mutex);
  hold_releases = hold;
  if (!hold)
    g_cond_broadcast (&hold_cond);
  g_mutex_unlock (&hold_mutex);
}

void
ns_task_test_refuse_threads (gboolean refuse)
{
  g_atomic_int_set (&refuse_threads, refuse);
}
