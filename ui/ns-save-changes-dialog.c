/* SPDX-License-Identifier: MIT
 *
 * ns-save-changes-dialog.c: Save / Discard / Cancel before unsaved edits are lost (see
 * ns-save-changes-dialog.h).  A GtkMessageDialog rather than a template: it is the stock
 * question layout with three buttons, and GTK 4.8 has no GtkAlertDialog yet.
 */
#define G_LOG_DOMAIN "ns-save-changes-dialog"

#include "ns-save-changes-dialog.h"

#include "ns-window-private.h"

static void
saved_cb (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (GTask) task = user_data;
  GError *error = NULL;

  if (_ns_window_save_mask_finish (NS_WINDOW (source), result, &error))
    g_task_return_int (task, NS_SAVE_CHANGES_SAVED);
  else
    g_task_return_error (task, error);
}

static void
response_cb (GtkDialog *dialog, int response, GTask *task)
{
  NsWindow *window = g_task_get_source_object (task);

  _ns_window_dismiss (dialog);
  switch (response)
    {
    case NS_WINDOW_RESPONSE_DISCARD:
      ns_editor_discard_changes (window->editor);
      g_task_return_int (task, NS_SAVE_CHANGES_DISCARDED);
      break;
    case NS_WINDOW_RESPONSE_SAVE:
      _ns_window_save_mask_async (window, NS_WINDOW_SAVE, g_task_get_cancellable (task),
                                  saved_cb, g_object_ref (task));
      break;
    default:
      _ns_window_return_cancelled (task);
    }
}

void
ns_save_changes_dialog_run_async (NsWindow *window, const char *primary, const char *secondary,
                                  GCancellable *cancellable, GAsyncReadyCallback callback,
                                  gpointer user_data)
{
  g_autoptr (GTask) task = NULL;

  g_return_if_fail (NS_IS_WINDOW (window));
  g_return_if_fail (primary != NULL && secondary != NULL);

  task = g_task_new (window, cancellable, callback, user_data);
  g_task_set_source_tag (task, ns_save_changes_dialog_run_async);
  _ns_window_ask_for_task (window, task, primary, secondary, response_cb,
                           "_Cancel", GTK_RESPONSE_CANCEL,
                           "_Discard", NS_WINDOW_RESPONSE_DISCARD,
                           "_Save", NS_WINDOW_RESPONSE_SAVE, NULL);
}

NsSaveChangesOutcome
ns_save_changes_dialog_run_finish (GAsyncResult *result, GError **error)
{
  gssize outcome;

  g_return_val_if_fail (G_IS_TASK (result), 0);
  g_return_val_if_fail (g_task_get_source_tag (G_TASK (result))
                          == ns_save_changes_dialog_run_async, 0);

  outcome = g_task_propagate_int (G_TASK (result), error);
  return outcome > 0 ? (NsSaveChangesOutcome) outcome : 0;
}
