/* SPDX-License-Identifier: MIT
 *
 * ns-window-dicom.c: a DICOM study in the workbench window (issue #18).
 *
 * Opening: a DICOM folder opens as any case folder (File > Open Case Folder, a drop, the
 * command line: ns_case_load () reads it).  When its series do not say clearly which
 * sequence each is (NS_DATA_ERROR_AMBIGUOUS), the window scans the folder
 * (ns_dicom_scan (), in a worker), asks with an NsSeriesDialog, and loads the study as
 * assigned (ns_dicom_case_load_scan (), in a worker, the scan reused).  The case is then
 * shown with ns_viewer_set_case (), whose display statistics are computed on the main
 * thread (a fraction of a second for a brain MRI); ns-viewer.c's loader takes paths only.
 *
 * Exporting: File > Export > DICOM Segmentation… writes the mask being edited as a
 * DICOM-SEG of the study's series on the case's grid (ns_dicom_seg_write_for_case ()),
 * never over an existing file unless the user said so (the file chooser asks; the
 * function itself refuses an existing file unless told to replace it).
 */
#define G_LOG_DOMAIN "ns-window"

#include "ns-window-private.h"

#include "ns-data-error.h"
#include "ns-dicom.h"
#include "ns-series-dialog.h"
#include "ns-task.h"

/* ---- opening ------------------------------------------------------------------------------- */

typedef struct
{
  char *path;                                 /* the folder (or DICOMDIR) */
  char *reason;                               /* why the question is asked */
  GPtrArray *scan;                            /* NsDicomSeries, once scanned */
  char *series[NS_N_MODALITIES];              /* the choice: UIDs or "none" */
  NsDicomGridChoice grid;
} DicomOpen;

static void
dicom_open_free (DicomOpen *data)
{
  g_free (data->path);
  g_free (data->reason);
  g_clear_pointer (&data->scan, g_ptr_array_unref);
  for (int m = 0; m < NS_N_MODALITIES; m++)
    g_free (data->series[m]);
  g_free (data);
}

static void
dicom_open_closure_free (gpointer data, GClosure *closure)
{
  dicom_open_free (data);
}

static void
load_thread (GTask *task, gpointer source, gpointer task_data, GCancellable *cancellable)
{
  DicomOpen *data = task_data;
  NsDicomAssignment assignment = { { NULL }, data->grid };
  GError *error = NULL;
  NsCase *ncase;

  for (int m = 0; m < NS_N_MODALITIES; m++)
    assignment.series[m] = data->series[m];
  ncase = ns_dicom_case_load_scan (data->path, data->scan, &assignment, NS_CASE_LOAD_DEFAULT,
                                   &error);
  /* a newer load took over meanwhile: this one must not replace it */
  if (g_task_return_error_if_cancelled (task))
    {
      g_clear_pointer (&ncase, ns_case_unref);
      g_clear_error (&error);
      return;
    }
  if (ncase == NULL)
    g_task_return_error (task, error);
  else
    g_task_return_pointer (task, ncase, (GDestroyNotify) ns_case_unref);
}

static void
load_done_cb (GObject *source, GAsyncResult *result, gpointer user_data)
{
  NsWindow *self = NS_WINDOW (source);
  DicomOpen *data = g_task_get_task_data (G_TASK (result));
  g_autoptr (GError) error = NULL;
  g_autoptr (NsCase) ncase = g_task_propagate_pointer (G_TASK (result), &error);
  const char *paths[] = { data->path, NULL };

  if (ncase == NULL && g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    return;                      /* a newer load took over */
  _ns_window_load_ended (self);
  if (ncase == NULL)
    {
      _ns_window_load_failed (self, error->message);
      return;
    }
  ns_viewer_set_case (self->viewer, ncase);
  _ns_window_load_succeeded (self, paths);
}

/* asked: what the dialog asks about (freed with the dialog's handler, answered or not) */
static void
series_response_cb (NsSeriesDialog *dialog, int response, DicomOpen *asked)
{
  NsWindow *self = NS_WINDOW (gtk_window_get_transient_for (GTK_WINDOW (dialog)));
  g_autoptr (GTask) task = NULL;
  DicomOpen *data;
  NsDicomAssignment assignment;

  if (response != GTK_RESPONSE_OK || !ns_series_dialog_is_complete (dialog))
    {
      _ns_window_dismiss (dialog);
      _ns_window_set_message (self, "Opening the DICOM study was cancelled");
      _ns_window_case_loaded (self, FALSE);
      return;
    }
  data = g_new0 (DicomOpen, 1);
  data->path = g_strdup (asked->path);
  data->scan = g_ptr_array_ref (asked->scan);
  ns_series_dialog_get_assignment (dialog, &assignment);
  for (int m = 0; m < NS_N_MODALITIES; m++)
    data->series[m] = g_strdup (assignment.series[m]);
  data->grid = assignment.grid;
  _ns_window_dismiss (dialog);

  _ns_window_load_started (self, data->path);
  task = g_task_new (self, self->load_cancellable, load_done_cb, NULL);
  g_task_set_source_tag (task, series_response_cb);
  g_task_set_task_data (task, data, (GDestroyNotify) dicom_open_free);
  /* the task holds the window: released in the main thread (the window closed while the
   * study loads) */
  ns_task_run_in_worker (task, "ns-dicom-load", load_thread);
}

static void
scan_thread (GTask *task, gpointer source, gpointer task_data, GCancellable *cancellable)
{
  DicomOpen *data = task_data;
  GError *error = NULL;
  GPtrArray *scan = ns_dicom_scan (data->path, NULL, &error);

  if (g_task_return_error_if_cancelled (task))
    {
      g_clear_pointer (&scan, g_ptr_array_unref);
      g_clear_error (&error);
      return;
    }
  if (scan == NULL)
    g_task_return_error (task, error);
  else
    g_task_return_pointer (task, scan, (GDestroyNotify) g_ptr_array_unref);
}

static void
scan_done_cb (GObject *source, GAsyncResult *result, gpointer user_data)
{
  NsWindow *self = NS_WINDOW (source);
  DicomOpen *data = g_task_get_task_data (G_TASK (result));
  g_autoptr (GError) error = NULL;
  GPtrArray *scan = g_task_propagate_pointer (G_TASK (result), &error);
  NsSeriesDialog *dialog;
  DicomOpen *asked;

  if (scan == NULL && g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    return;
  _ns_window_load_ended (self);
  if (scan == NULL)
    {
      _ns_window_load_failed (self, error->message);
      return;
    }
  /* the dialog's answer goes on with its own copy of what is asked */
  asked = g_new0 (DicomOpen, 1);
  asked->path = g_strdup (data->path);
  asked->scan = scan;
  dialog = ns_series_dialog_new (GTK_WINDOW (self), scan, data->reason);
  g_signal_connect_data (dialog, "response", G_CALLBACK (series_response_cb), asked,
                         dicom_open_closure_free, 0);
  _ns_window_set_message (self, "Which series is which sequence?");
  _ns_window_present_question (self, GTK_WIDGET (dialog));
}

gboolean
_ns_window_ask_series (NsWindow *self, const char *path, const GError *error)
{
  g_autoptr (GTask) task = NULL;
  DicomOpen *data;

  if (!g_error_matches (error, NS_DATA_ERROR, NS_DATA_ERROR_AMBIGUOUS)
      || !ns_dicom_is_case_path (path) || self->question != NULL)
    return FALSE;
  data = g_new0 (DicomOpen, 1);
  data->path = g_strdup (path);
  data->reason = g_strdup (error->message);
  _ns_window_load_started (self, path);
  task = g_task_new (self, self->load_cancellable, scan_done_cb, NULL);
  g_task_set_source_tag (task, _ns_window_ask_series);
  g_task_set_task_data (task, data, (GDestroyNotify) dicom_open_free);
  ns_task_run_in_worker (task, "ns-dicom-scan", scan_thread);   /* as load_thread's */
  return TRUE;
}

/* ---- exporting ----------------------------------------------------------------------------- */

gboolean
ns_window_export_dicom_seg (NsWindow *self, const char *path, gboolean replace,
                            GError **error)
{
  NsCase *ncase;
  NsMaskDoc *doc;
  NsDicomSegOptions options = { 0 };

  g_return_val_if_fail (NS_IS_WINDOW (self), FALSE);
  g_return_val_if_fail (path != NULL, FALSE);

  ncase = ns_viewer_get_case (self->viewer);
  doc = ns_editor_get_doc (self->editor);
  if (ncase == NULL || doc == NULL)
    {
      g_set_error (error, NS_DATA_ERROR, NS_DATA_ERROR_INVALID,
                   "%s: no mask to export: no case is open for editing", path);
      return FALSE;
    }
  /* the writer replaces atomically: whether it may is asked here */
  if (!replace && g_file_test (path, G_FILE_TEST_EXISTS))
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_EXISTS, "%s: exists; not overwritten", path);
      return FALSE;
    }
  options.label_table = ns_mask_doc_get_labels (doc);
  return ns_dicom_seg_write_for_case (ncase, ns_mask_doc_get_map (doc), path, &options, error);
}

static void
export_chooser_response_cb (GtkNativeDialog *native, int response, gpointer user_data)
{
  NsWindow *self = NS_WINDOW (user_data);
  g_autoptr (GFile) file = NULL;
  g_autofree char *path = NULL;
  g_autoptr (GError) error = NULL;

  if (response == GTK_RESPONSE_ACCEPT)
    file = gtk_file_chooser_get_file (GTK_FILE_CHOOSER (native));
  g_object_unref (native);
  if (file == NULL || (path = g_file_get_path (file)) == NULL)
    return;
  /* GTK 4's save chooser has asked before accepting an existing file */
  if (!ns_window_export_dicom_seg (self, path, TRUE, &error))
    {
      _ns_window_show_error (self, "Could not export the DICOM segmentation", error->message);
      return;
    }
  {
    g_autofree char *base = g_path_get_basename (path);
    g_autofree char *message = g_strdup_printf ("Exported %s", base);

    _ns_window_set_message (self, message);
  }
}

void
_ns_window_run_export_dicom_seg (NsWindow *self)
{
  NsCase *ncase = ns_viewer_get_case (self->viewer);
  GtkFileChooserNative *native;
  g_autofree char *name = NULL;
  g_autofree char *parent = NULL;
  g_autoptr (GFile) folder = NULL;

  if (ncase == NULL)
    return;
  native = gtk_file_chooser_native_new ("Export DICOM Segmentation", GTK_WINDOW (self),
                                        GTK_FILE_CHOOSER_ACTION_SAVE, "_Export", "_Cancel");
  gtk_native_dialog_set_modal (GTK_NATIVE_DIALOG (native), TRUE);
  /* beside the study, not in it: a SEG inside would be one more object of the study */
  name = g_strdup_printf ("%s_seg.dcm", ncase->id);
  parent = g_path_get_dirname (ncase->dir);
  folder = g_file_new_for_path (parent);
  gtk_file_chooser_set_current_folder (GTK_FILE_CHOOSER (native), folder, NULL);
  gtk_file_chooser_set_current_name (GTK_FILE_CHOOSER (native), name);
  g_signal_connect (native, "response", G_CALLBACK (export_chooser_response_cb), self);
  gtk_native_dialog_show (GTK_NATIVE_DIALOG (native));
}

gboolean
_ns_window_case_is_dicom (NsCase *ncase)
{
  return ncase != NULL && ncase->dir != NULL && ns_dicom_is_case_path (ncase->dir);
}
