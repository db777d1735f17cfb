/* SPDX-License-Identifier: MIT
 *
 * test-ui-task.c: ns_task_run_in_worker (), the one way ui/ runs a GTask's work off the
 * main thread.  The work runs in another thread; the callback, the task data's destroy
 * notify and the last unref of the source object run in the main thread, even when the
 * owner lets go of its source object before the worker lets go of the task (the test hook
 * ns_task_test_hold_releases () holds the worker back); a worker checks its cancellable;
 * the callback runs before the release; with no thread to be had, the task returns an error
 * that names the work, and the owner still goes in the main thread.  A site: a window
 * closed after its case loaded, the load's worker still holding the viewer, lets the viewer
 * go in the main thread.
 */
#include "ns-config.h"

#include <gtk/gtk.h>
#include <string.h>

#include "ns-task.h"
#include "ns-test-util.h"
#include "ns-test-widget.h"
#include "ns-test-window.h"
#include "ns-window.h"

typedef struct
{
  GThread *ran_in;               /* the thread func's thread */
  GThread *data_freed_in;
  GThread *callback_in;
  GThread *finalized_in;         /* the source object's */
  gboolean finalized_before_callback;
  gboolean done;
  gboolean ok;
  GError *error;
  gboolean wait_for_cancel;
  GCancellable *cancellable;
} Seen;

typedef struct
{
  Seen *seen;
} Data;

static void
data_free (gpointer data)
{
  Data *d = data;

  d->seen->data_freed_in = g_thread_self ();
  g_free (d);
}

static void
note_finalized (gpointer data, GObject *where_the_object_was)
{
  Seen *seen = data;

  seen->finalized_in = g_thread_self ();
  seen->finalized_before_callback = !seen->done;
}

static void
work (GTask *task, gpointer source, gpointer task_data, GCancellable *cancellable)
{
  Data *d = task_data;

  d->seen->ran_in = g_thread_self ();
  if (d->seen->wait_for_cancel)
    while (!g_cancellable_is_cancelled (cancellable))
      g_usleep (1000);
  if (g_task_return_error_if_cancelled (task))
    return;
  g_task_return_boolean (task, TRUE);
}

static void
done_cb (GObject *source, GAsyncResult *result, gpointer user_data)
{
  Seen *seen = user_data;

  g_assert_true (G_IS_OBJECT (source));
  seen->callback_in = g_thread_self ();
  seen->ok = g_task_propagate_boolean (G_TASK (result), &seen->error);
  seen->done = TRUE;
}

static gboolean
is_done (gpointer data)
{
  return ((Seen *) data)->done;
}

static gboolean
is_finalized (gpointer data)
{
  return ((Seen *) data)->finalized_in != NULL;
}

static GObject *
start (Seen *seen)
{
  GObject *owner = g_object_new (G_TYPE_OBJECT, NULL);
  g_autoptr (GTask) task = g_task_new (owner, seen->cancellable, done_cb, seen);
  Data *d = g_new0 (Data, 1);

  d->seen = seen;
  g_object_weak_ref (owner, note_finalized, seen);
  g_task_set_task_data (task, d, data_free);
  ns_task_run_in_worker (task, "ns-test-task", work);
  return owner;
}

/* The owner lets go after the callback, while the worker (held back by the test hook)
 * still holds the task: the source object and the data still go in the main
 * thread.  With g_task_run_in_thread () they go in the pool thread whenever its unref comes
 * last. */
static void
test_released_in_main (void)
{
  Seen seen = { 0 };
  GObject *owner;

  ns_task_test_hold_releases (TRUE);
  owner = start (&seen);
  g_assert_true (ns_test_wait_until (is_done, &seen, 30));
  g_assert_true (seen.ok);
  g_assert_no_error (seen.error);
  g_assert_true (seen.ran_in != NULL && seen.ran_in != g_thread_self ());
  g_assert_true (seen.callback_in == g_thread_self ());
  g_object_unref (owner);
  g_assert_null (seen.finalized_in);   /* the worker still holds the task */
  ns_test_spin (0.05);
  g_assert_null (seen.finalized_in);
  g_assert_null (seen.data_freed_in);
  ns_task_test_hold_releases (FALSE);
  g_assert_true (ns_test_wait_until (is_finalized, &seen, 30));
  g_assert_true (seen.finalized_in == g_thread_self ());
  g_assert_true (seen.data_freed_in == g_thread_self ());
}

/* The owner lets go at once: the task keeps it for the callback, which runs first; the
 * release follows in the main thread. */
static void
test_callback_first (void)
{
  Seen seen = { 0 };

  g_object_unref (start (&seen));
  g_assert_null (seen.finalized_in);
  g_assert_true (ns_test_wait_until (is_finalized, &seen, 30));
  g_assert_true (seen.done);
  g_assert_false (seen.finalized_before_callback);
  g_assert_true (seen.ok);
  g_assert_true (seen.finalized_in == g_thread_self ());
  g_assert_true (seen.data_freed_in == g_thread_self ());
}

/* A cancel reaches the worker through the task's cancellable; the callback learns it. */
static void
test_cancelled (void)
{
  Seen seen = { 0 };
  GObject *owner;

  seen.wait_for_cancel = TRUE;
  seen.cancellable = g_cancellable_new ();
  owner = start (&seen);
  ns_test_spin (0.05);
  g_assert_false (seen.done);
  g_cancellable_cancel (seen.cancellable);
  g_object_unref (owner);
  g_assert_true (ns_test_wait_until (is_finalized, &seen, 30));
  g_assert_true (seen.done);
  g_assert_false (seen.ok);
  g_assert_error (seen.error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  g_assert_true (seen.finalized_in == g_thread_self ());
  g_clear_error (&seen.error);
  g_object_unref (seen.cancellable);
}

/* No thread can be started: the callback learns it (which work, why), the work does not
 * run, and nothing is lost in between. */
static void
test_no_thread (void)
{
  Seen seen = { 0 };

  ns_task_test_refuse_threads (TRUE);
  g_object_unref (start (&seen));
  ns_task_test_refuse_threads (FALSE);
  g_assert_false (seen.done);   /* never from inside the call */
  g_assert_true (ns_test_wait_until (is_finalized, &seen, 30));
  g_assert_true (seen.done);
  g_assert_false (seen.ok);
  g_assert_error (seen.error, G_THREAD_ERROR, G_THREAD_ERROR_AGAIN);
  g_assert_nonnull (strstr (seen.error->message, "ns-test-task"));
  g_assert_null (seen.ran_in);
  g_assert_true (seen.finalized_in == g_thread_self ());
  g_assert_true (seen.data_freed_in == g_thread_self ());
  g_clear_error (&seen.error);
}

/* A window closed just after its case loaded: the load's worker (held back by the test
 * hook) still holds the viewer, which goes when the worker lets go, in the main
 * thread.  Before, the load ran in GTask's pool, whose thread dropped the task (source: the
 * viewer, a widget) whenever it came last. */
static void
test_case_load (void)
{
  const char *paths[] = { ns_test_sample_case (), NULL };
  GThread *finalized_in = NULL;
  NsWindow *window;

  ns_task_test_hold_releases (TRUE);
  window = ns_window_new (NULL);
  gtk_window_present (GTK_WINDOW (window));
  ns_window_open (window, paths);
  g_assert_true (ns_test_wait_until (ns_test_window_idle, window, 120));
  g_assert_null (ns_window_get_load_error (window));
  ns_test_note_finalize_thread (G_OBJECT (ns_window_get_viewer (window)), &finalized_in);
  gtk_window_destroy (GTK_WINDOW (window));
  ns_test_assert_released_in_main (&finalized_in, 0.1, 30);
}

int
main (int argc, char **argv)
{
  g_setenv ("GTK_A11Y", "none", TRUE);
  g_test_init (&argc, &argv, NULL);
  gtk_init ();
  g_test_add_func ("/ui/task/released-in-main", test_released_in_main);
  g_test_add_func ("/ui/task/callback-first", test_callback_first);
  g_test_add_func ("/ui/task/cancelled", test_cancelled);
  g_test_add_func ("/ui/task/no-thread", test_no_thread);
  g_test_add_func ("/ui/task/case-load", test_case_load);
  return g_test_run ();
}
