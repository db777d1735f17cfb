/* SPDX-License-Identifier: MIT
 *
 * ns-window-open.c: how a case gets into the workbench window (see ns-window.h): File >
 * Open, a drop, a recent case, the command line, all through ns_window_open():
 *
 *   1. files whose names say nothing of what they are are asked about
 *      (ns-modality-dialog.h), so that any NIfTI opens;
 *   2. unsaved mask edits are saved or discarded first (ns-save-changes-dialog.h);
 *   3. the case loads in a worker (ns_viewer_load_async()), a progress bar pulsing, and
 *      becomes a recent case; ns-window.c then opens its mask.  A DICOM study whose
 *      series need assigning is asked about and loaded by ns-window-dicom.c.
 *
 * Recent cases are a short list of path sets in $XDG_CONFIG_HOME/neuroseg/recent-cases
 * (one case per line, its paths separated by tabs): a case is a folder or a set of files,
 * which GtkRecentManager's one-URI entries cannot hold.  The parts the user gave unnamed
 * files are not kept: opening such a case again asks again.
 */
#define G_LOG_DOMAIN "ns-window"

#include "ns-window-private.h"

#include <errno.h>

#include "ns-modality-dialog.h"
#include "ns-nifti.h"
#include "ns-save-changes-dialog.h"

#define RECENT_MAX 10

/* ---- recent cases -------------------------------------------------------------------------- */

static char *
recent_file_path (void)
{
  return g_build_filename (g_get_user_config_dir (), "neuroseg", "recent-cases", NULL);
}

static char **
recent_load (void)
{
  g_autofree char *path = recent_file_path ();
  g_autofree char *contents = NULL;
  g_autoptr (GStrvBuilder) builder = g_strv_builder_new ();

  if (g_file_get_contents (path, &contents, NULL, NULL))
    {
      g_auto (GStrv) lines = g_strsplit (contents, "\n", -1);
      for (guint i = 0; lines[i] != NULL && i < RECENT_MAX; i++)
        if (lines[i][0] != '\0')
          g_strv_builder_add (builder, lines[i]);
    }
  return g_strv_builder_end (builder);
}

static void
recent_add (const char *const *paths)
{
  g_autofree char *path = recent_file_path ();
  g_autofree char *dir = g_path_get_dirname (path);
  g_autofree char *entry = g_strjoinv ("\t", (char **) paths);
  g_auto (GStrv) old = recent_load ();
  g_autoptr (GString) contents = g_string_new (entry);
  g_autoptr (GError) error = NULL;
  guint n = 1;

  g_string_append_c (contents, '\n');
  for (guint i = 0; old[i] != NULL && n < RECENT_MAX; i++)
    if (g_strcmp0 (old[i], entry) != 0)
      {
        g_string_append_printf (contents, "%s\n", old[i]);
        n++;
      }
  if (g_mkdir_with_parents (dir, 0700) != 0
      || !g_file_set_contents (path, contents->str, contents->len, &error))
    g_debug ("%s: cannot record the recent case: %s", path,
             error != NULL ? error->message : g_strerror (errno));
}

void
_ns_window_rebuild_recent_menu (NsWindow *self)
{
  g_auto (GStrv) entries = recent_load ();

  g_menu_remove_all (self->recent_menu);
  for (guint i = 0; entries[i] != NULL; i++)
    {
      g_auto (GStrv) paths = g_strsplit (entries[i], "\t", -1);
      g_autofree char *base = g_path_get_basename (paths[0]);
      g_autofree char *label = NULL;
      g_autoptr (GMenuItem) item = NULL;

      /* Underscores in case names are mnemonics otherwise. */
      g_autofree char *escaped = NULL;
      {
        g_auto (GStrv) parts = g_strsplit (base, "_", -1);
        escaped = g_strjoinv ("__", parts);
      }
      if (g_strv_length (paths) > 1)
        label = g_strdup_printf ("%s (+%u files)", escaped, g_strv_length (paths) - 1);
      else
        label = g_strdup (escaped);
      item = g_menu_item_new (label, NULL);
      g_menu_item_set_action_and_target_value (item, "win.open-recent",
                                               g_variant_new_strv ((const char *const *)
                                                                     paths, -1));
      g_menu_append_item (self->recent_menu, item);
    }
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "win.open-recent", entries[0] != NULL);
}

/* ---- loading ------------------------------------------------------------------------------- */

static gboolean
pulse_cb (gpointer user_data)
{
  NsWindow *self = user_data;

  gtk_progress_bar_pulse (self->progress_bar);
  return G_SOURCE_CONTINUE;
}

/* What a load's callback needs: each load has its own, so that a cancelled load's late
 * callback cannot touch the one that replaced it. */
typedef struct
{
  NsWindow *self;                /* owned */
  char **paths;
} LoadData;

static void
load_data_free (LoadData *data)
{
  g_object_unref (data->self);
  g_strfreev (data->paths);
  g_free (data);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (LoadData, load_data_free)

void
_ns_window_load_started (NsWindow *self, const char *path)
{
  g_autofree char *base = g_path_get_basename (path);
  g_autofree char *message = g_strdup_printf ("Loading %s…", base);

  if (self->load_cancellable != NULL)
    g_cancellable_cancel (self->load_cancellable);
  g_clear_object (&self->load_cancellable);
  self->load_cancellable = g_cancellable_new ();
  _ns_window_set_message (self, message);
  gtk_progress_bar_set_fraction (self->progress_bar, 0);
  gtk_widget_set_visible (GTK_WIDGET (self->progress_bar), TRUE);
  if (self->pulse_source == 0)
    self->pulse_source = g_timeout_add (100, pulse_cb, self);
}

void
_ns_window_load_ended (NsWindow *self)
{
  g_clear_handle_id (&self->pulse_source, g_source_remove);
  g_clear_object (&self->load_cancellable);
  gtk_widget_set_visible (GTK_WIDGET (self->progress_bar), FALSE);
  g_clear_pointer (&self->load_error, g_free);
}

void
_ns_window_load_failed (NsWindow *self, const char *message)
{
  g_free (self->load_error);
  self->load_error = g_strdup (message);
  _ns_window_set_message (self, "Could not open the case");
  _ns_window_show_error (self, "Could not open the case", message);
  _ns_window_case_loaded (self, FALSE);
}

void
_ns_window_load_succeeded (NsWindow *self, const char *const *paths)
{
  _ns_window_set_message (self, NULL);
  gtk_widget_grab_focus (GTK_WIDGET (self->axial_view));
  recent_add (paths);
  _ns_window_rebuild_recent_menu (self);
  _ns_window_case_loaded (self, TRUE);
}

static void
load_finished_cb (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (LoadData) data = user_data;
  NsWindow *self = data->self;
  char **paths = data->paths;
  g_autoptr (GError) error = NULL;

  if (!ns_viewer_load_finish (NS_VIEWER (source), result, &error))
    {
      if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        return;                  /* a newer load took over */
      _ns_window_load_ended (self);
      /* a DICOM study whose series need assigning: asked, then loaded as assigned */
      if (paths[1] == NULL && _ns_window_ask_series (self, paths[0], error))
        return;
      _ns_window_load_failed (self, error->message);
      return;
    }
  _ns_window_load_ended (self);
  _ns_window_load_succeeded (self, (const char *const *) paths);
}

/* What is opened: the paths, and the part of each file when the user said it. */
typedef struct
{
  char **paths;
  NsCaseFile *kinds;             /* per path (NS_CASE_FILE_NONE: from its name), or NULL */
} OpenRequest;

static void
open_request_free (OpenRequest *request)
{
  g_strfreev (request->paths);
  g_free (request->kinds);
  g_free (request);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (OpenRequest, open_request_free)

static void
open_settled (NsWindow *self, OpenRequest *request)
{
  LoadData *data;

  _ns_window_load_started (self, request->paths[0]);
  data = g_new0 (LoadData, 1);
  data->self = g_object_ref (self);
  data->paths = g_strdupv (request->paths);
  ns_viewer_load_async (self->viewer, (const char *const *) request->paths, request->kinds,
                        self->load_cancellable, load_finished_cb, data);
}

static void
open_after_save_changes_cb (GObject *source, GAsyncResult *result, gpointer user_data)
{
  NsWindow *self = NS_WINDOW (source);
  g_autoptr (OpenRequest) request = user_data;

  switch (ns_save_changes_dialog_run_finish (result, NULL))
    {
    case NS_SAVE_CHANGES_DISCARDED:
      /* the edits are gone: the case shown keeps no modified mask, even if the load
       * fails */
      ns_editor_close (self->editor);
      G_GNUC_FALLTHROUGH;
    case NS_SAVE_CHANGES_SAVED:
      open_settled (self, request);
      break;
    default:
      break;     /* cancelled: the case stays */
    }
}

/* Opens once unsaved edits are saved or discarded (asking first); takes request. */
static void
open_when_settled (NsWindow *self, OpenRequest *request)
{
  g_autoptr (OpenRequest) owned = request;
  g_autofree char *primary = NULL;

  /* a Refine preview becomes an edit first, so that the question covers it */
  if (self->refine != NULL)
    ns_refine_settle (self->refine);
  if (self->editor == NULL || !ns_editor_is_modified (self->editor))
    {
      open_settled (self, request);
      return;
    }
  if (self->question != NULL)
    return;
  primary = g_strdup_printf ("Save the edits to the mask of %s before opening another case?",
                             ns_viewer_get_title (self->viewer));
  ns_save_changes_dialog_run_async (self, primary,
                                    "Unsaved edits are lost if you open another case "
                                    "without saving.",
                                    NULL, open_after_save_changes_cb, g_steal_pointer (&owned));
}

/* Whether path is a file whose name says nothing of what it is, and that is no
 * four-volume (Decathlon) image, which the loader takes as FLAIR, T1, T1c and T2.  A file
 * that cannot be read is not asked about: the load says what is wrong with it. */
static gboolean
needs_kind (const char *path)
{
  NsNiftiHeader header;

  if (g_file_test (path, G_FILE_TEST_IS_DIR) || ns_case_classify_file (path) != NS_CASE_FILE_NONE)
    return FALSE;
  return ns_nifti_read_header (path, &header, NULL) && header.n_volumes != NS_N_MODALITIES;
}

/* In OpenRequest.kinds while the question is open: the user is asked what this file is. */
#define KIND_ASKED ((NsCaseFile) NS_N_CASE_FILES)

static void
modality_request_free (gpointer data, GClosure *closure)
{
  open_request_free (data);
}

static void
modality_response_cb (NsModalityDialog *dialog, int response, OpenRequest *asked)
{
  NsWindow *self = NS_WINDOW (gtk_window_get_transient_for (GTK_WINDOW (dialog)));
  OpenRequest *request = NULL;

  if (response == GTK_RESPONSE_OK)
    {
      guint n = g_strv_length (asked->paths), a = 0;

      request = g_new0 (OpenRequest, 1);
      request->paths = g_strdupv (asked->paths);
      request->kinds = g_memdup2 (asked->kinds, sizeof (NsCaseFile) * n);
      for (guint i = 0; i < n; i++)
        if (request->kinds[i] == KIND_ASKED)
          request->kinds[i] = ns_modality_dialog_get_kind (dialog, a++);
    }
  _ns_window_dismiss (dialog);
  if (request != NULL)
    open_when_settled (self, request);
}

void
ns_window_open (NsWindow *self, const char *const *paths)
{
  g_autoptr (GPtrArray) unknown = g_ptr_array_new ();
  OpenRequest *request;
  NsModalityDialog *dialog;

  g_return_if_fail (NS_IS_WINDOW (self));
  g_return_if_fail (paths != NULL && paths[0] != NULL);

  request = g_new0 (OpenRequest, 1);
  request->paths = g_strdupv ((char **) paths);
  request->kinds = g_new0 (NsCaseFile, g_strv_length (request->paths));
  for (guint i = 0; paths[i] != NULL; i++)
    {
      request->kinds[i] = needs_kind (paths[i]) ? KIND_ASKED : NS_CASE_FILE_NONE;
      if (request->kinds[i] == KIND_ASKED)
        g_ptr_array_add (unknown, (gpointer) paths[i]);
    }
  if (unknown->len == 0)
    {
      g_clear_pointer (&request->kinds, g_free);
      open_when_settled (self, request);
      return;
    }
  /* any NIfTI opens: ask what the unnamed files are */
  if (self->question != NULL)
    {
      open_request_free (request);
      return;
    }
  g_ptr_array_add (unknown, NULL);
  dialog = ns_modality_dialog_new (GTK_WINDOW (self), (const char *const *) unknown->pdata);
  g_signal_connect_data (dialog, "response", G_CALLBACK (modality_response_cb), request,
                         modality_request_free, 0);
  _ns_window_present_question (self, GTK_WIDGET (dialog));
}

gboolean
ns_window_is_loading (NsWindow *self)
{
  g_return_val_if_fail (NS_IS_WINDOW (self), FALSE);
  return self->load_cancellable != NULL;
}

const char *
ns_window_get_load_error (NsWindow *self)
{
  g_return_val_if_fail (NS_IS_WINDOW (self), NULL);
  return self->load_error;
}

void
ns_window_set_sample_case (NsWindow *self, const char *dir)
{
  g_return_if_fail (NS_IS_WINDOW (self));

  g_free (self->sample_case);
  self->sample_case = g_strdup (dir);
  _ns_window_update_actions (self);
}

static void
open_chooser_response_cb (GtkNativeDialog *native, int response, gpointer user_data)
{
  NsWindow *self = NS_WINDOW (user_data);

  if (response == GTK_RESPONSE_ACCEPT)
    {
      g_autoptr (GListModel) files = gtk_file_chooser_get_files (GTK_FILE_CHOOSER (native));
      g_autoptr (GStrvBuilder) builder = g_strv_builder_new ();
      g_auto (GStrv) paths = NULL;

      for (guint i = 0; i < g_list_model_get_n_items (files); i++)
        {
          g_autoptr (GFile) file = g_list_model_get_item (files, i);
          g_autofree char *path = g_file_get_path (file);
          if (path != NULL)
            g_strv_builder_add (builder, path);
        }
      paths = g_strv_builder_end (builder);
      if (paths[0] != NULL)
        ns_window_open (self, (const char *const *) paths);
    }
  g_object_unref (native);
}

void
_ns_window_run_open_chooser (NsWindow *self, gboolean folder)
{
  GtkFileChooserNative *native =
    gtk_file_chooser_native_new (folder ? "Open Case Folder" : "Open NIfTI Files",
                                 GTK_WINDOW (self),
                                 folder ? GTK_FILE_CHOOSER_ACTION_SELECT_FOLDER
                                        : GTK_FILE_CHOOSER_ACTION_OPEN,
                                 "_Open", "_Cancel");

  gtk_native_dialog_set_modal (GTK_NATIVE_DIALOG (native), TRUE);
  if (!folder)
    {
      GtkFileFilter *filter = gtk_file_filter_new ();

      gtk_file_filter_set_name (filter, "NIfTI images (*.nii, *.nii.gz)");
      gtk_file_filter_add_pattern (filter, "*.nii");
      gtk_file_filter_add_pattern (filter, "*.nii.gz");
      gtk_file_chooser_add_filter (GTK_FILE_CHOOSER (native), filter);
      g_object_unref (filter);
      gtk_file_chooser_set_select_multiple (GTK_FILE_CHOOSER (native), TRUE);
    }
  g_signal_connect (native, "response", G_CALLBACK (open_chooser_response_cb), self);
  gtk_native_dialog_show (GTK_NATIVE_DIALOG (native));
}

gboolean
_ns_window_drop_cb (NsWindow *self, const GValue *value, double x, double y, GtkDropTarget *target)
{
  GSList *files;
  g_autoptr (GStrvBuilder) builder = g_strv_builder_new ();
  g_auto (GStrv) paths = NULL;

  if (!G_VALUE_HOLDS (value, GDK_TYPE_FILE_LIST))
    return FALSE;
  files = g_value_get_boxed (value);
  for (GSList *l = files; l != NULL; l = l->next)
    {
      g_autofree char *path = g_file_get_path (l->data);
      if (path != NULL)
        g_strv_builder_add (builder, path);
    }
  paths = g_strv_builder_end (builder);
  if (paths[0] == NULL)
    return FALSE;
  ns_window_open (self, (const char *const *) paths);
  return TRUE;
}
