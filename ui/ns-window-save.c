/* SPDX-License-Identifier: MIT
 *
 * ns-window-save.c: File > Save Mask and Save Mask As… as one async operation of the
 * window (_ns_window_save_mask_async), so that closing the window or opening another case
 * can wait for a save that needs answers first:
 *
 *   - the first save over the case's own segmentation (an expert's labels) asks Overwrite
 *     or Save As;
 *   - a mask file changed on disk since it was read (another program wrote it) is
 *     overwritten only when the user says so;
 *   - Save As asks where.
 *
 * Each question is one step of the task; a question left unanswered (the window closed
 * under it) returns it as cancelled.
 */
#define G_LOG_DOMAIN "ns-window"

#include "ns-window-private.h"

typedef struct
{
  char *path;                    /* where the save goes (NULL: the mask's file) */
} SaveData;

static void
save_data_free (SaveData *data)
{
  g_free (data->path);
  g_free (data);
}

static void do_save (GTask *task, gboolean force);

static void
changed_on_disk_response_cb (GtkDialog *dialog, int response, GTask *task)
{
  _ns_window_dismiss (dialog);
  if (response == NS_WINDOW_RESPONSE_OVERWRITE)
    do_save (task, TRUE);
  else
    _ns_window_return_cancelled (task);
}

static void
do_save (GTask *task, gboolean force)
{
  NsWindow *self = g_task_get_source_object (task);
  SaveData *data = g_task_get_task_data (task);
  g_autoptr (GError) error = NULL;

  if (ns_editor_save (self->editor, data->path, force, &error))
    {
      g_autofree char *base =
        g_path_get_basename (ns_mask_doc_get_path (ns_editor_get_doc (self->editor)));
      g_autofree char *message = g_strdup_printf ("Saved %s", base);

      _ns_window_set_message (self, message);
      g_task_return_boolean (task, TRUE);
      return;
    }
  if (g_error_matches (error, NS_EDIT_ERROR, NS_EDIT_ERROR_CHANGED_ON_DISK))
    {
      _ns_window_ask_for_task (self, task, "The mask file changed on disk", error->message,
                               changed_on_disk_response_cb,
                               "_Cancel", GTK_RESPONSE_CANCEL,
                               "_Overwrite", NS_WINDOW_RESPONSE_OVERWRITE, NULL);
      return;
    }
  _ns_window_show_error (self, "Could not save the mask", error->message);
  g_task_return_error (task, g_steal_pointer (&error));
}

static void
chooser_response_cb (GtkNativeDialog *native, int response, GTask *task)
{
  SaveData *data = g_task_get_task_data (task);
  g_autoptr (GFile) file = NULL;

  if (response == GTK_RESPONSE_ACCEPT)
    file = gtk_file_chooser_get_file (GTK_FILE_CHOOSER (native));
  g_object_unref (native);
  if (file == NULL || (data->path = g_file_get_path (file)) == NULL)
    {
      _ns_window_return_cancelled (task);
      return;
    }
  do_save (task, FALSE);
}

static void
choose_file (GTask *task)
{
  NsWindow *self = g_task_get_source_object (task);
  NsCase *ncase = ns_viewer_get_case (self->viewer);
  GtkFileChooserNative *native;
  g_autofree char *name = g_strdup_printf ("%s_mask.nii.gz", ncase->id);
  g_autoptr (GFile) dir = g_file_new_for_path (ncase->dir);

  native = gtk_file_chooser_native_new ("Save Mask As", GTK_WINDOW (self),
                                        GTK_FILE_CHOOSER_ACTION_SAVE, "_Save", "_Cancel");
  gtk_native_dialog_set_modal (GTK_NATIVE_DIALOG (native), TRUE);
  gtk_file_chooser_set_current_folder (GTK_FILE_CHOOSER (native), dir, NULL);
  gtk_file_chooser_set_current_name (GTK_FILE_CHOOSER (native), name);
  _ns_window_connect_chooser_to_task (GTK_NATIVE_DIALOG (native), task, chooser_response_cb);
  gtk_native_dialog_show (GTK_NATIVE_DIALOG (native));
}

static void
case_seg_response_cb (GtkDialog *dialog, int response, GTask *task)
{
  _ns_window_dismiss (dialog);
  if (response == NS_WINDOW_RESPONSE_OVERWRITE)
    do_save (task, FALSE);
  else if (response == NS_WINDOW_RESPONSE_SAVE_AS)
    choose_file (task);
  else
    _ns_window_return_cancelled (task);
}

void
_ns_window_save_mask_async (NsWindow *self, NsWindowSaveMode mode, GCancellable *cancellable,
                            GAsyncReadyCallback callback, gpointer user_data)
{
  g_autoptr (GTask) task = g_task_new (self, cancellable, callback, user_data);
  NsMaskDoc *doc = ns_editor_get_doc (self->editor);

  g_task_set_source_tag (task, _ns_window_save_mask_async);
  g_task_set_task_data (task, g_new0 (SaveData, 1), (GDestroyNotify) save_data_free);
  if (doc == NULL || ns_viewer_get_case (self->viewer) == NULL)
    {
      g_task_return_new_error (task, NS_EDIT_ERROR, NS_EDIT_ERROR_INVALID, "no mask to save");
      return;
    }
  if (mode == NS_WINDOW_SAVE_AS)
    choose_file (task);
  else if (ns_editor_path_is_case_seg (self->editor))
    {
      g_autofree char *secondary =
        g_strdup_printf ("The labels shown come from the case's segmentation %s. Overwrite "
                         "it with the edited mask, or save the mask as a new file?",
                         ns_mask_doc_get_path (doc));

      _ns_window_ask_for_task (self, task, "Overwrite the case's segmentation?", secondary,
                               case_seg_response_cb,
                               "_Cancel", GTK_RESPONSE_CANCEL,
                               "_Overwrite", NS_WINDOW_RESPONSE_OVERWRITE,
                               "Save _As…", NS_WINDOW_RESPONSE_SAVE_AS, NULL);
    }
  else
    do_save (task, FALSE);
}

gboolean
_ns_window_save_mask_finish (NsWindow *self, GAsyncResult *result, GError **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);
  return g_task_propagate_boolean (G_TASK (result), error);
}
