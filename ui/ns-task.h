/* SPDX-License-Identifier: MIT
 *
 * ns-task.h: the one way ui/ runs a GTask's work off the main thread.
 *
 * g_task_run_in_thread () drops its reference to the task in GLib's pool thread once the
 * thread function returns.  When the task's callback has already run in the main thread
 * and the owner (a window being closed, a panel destroyed) has let go, that reference is
 * the last: the task's source object and data are then finalized in the pool thread, and
 * a GTK widget must only be finalized in the main thread (GObject asserted in
 * invalid_closure_notify when the model runner went that way).  ns_task_run_in_worker ()
 * runs the function in a thread of its own and hands that thread's reference back to the
 * context the task was made in, so that the last reference always goes there.
 */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

/* Runs func (task, source object, task data, cancellable) in a new thread called name, as
 * g_task_run_in_thread () would, and releases the thread's reference to task in the
 * thread-default main context of the g_task_new () call (g_task_get_context ()).  func
 * returns the task's result as with g_task_run_in_thread (); the callback runs in that
 * context.  The thread is never cut short: func checks the cancellable itself
 * (g_task_set_return_on_cancel () has no effect here).  When no thread can be started, the
 * task returns a G_THREAD_ERROR naming name, and func does not run.
 */
void ns_task_run_in_worker (GTask *task, const char *name, GTaskThreadFunc func);

/* For tests: while held (TRUE), every worker that finishes waits before it hands its
 * reference back, until the hold is let go (FALSE), so that a test can let the owner go
 * first, as a user closing a window at the wrong moment would. */
void ns_task_test_hold_releases (gboolean hold);

/* For tests: while refused (TRUE), no worker thread starts, as when the system has none to
 * give: every task started meanwhile returns its G_THREAD_ERROR. */
void ns_task_test_refuse_threads (gboolean refuse);

G_END_DECLS
