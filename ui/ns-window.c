/* SPDX-License-Identifier: MIT
 *
 * ns-window.c: the workbench window (see ns-window.h).
 *
 * The window owns an NsViewer (declared in its template) that the three slice views, the
 * layer list and the info pane observe; the window itself only wires actions to the
 * viewer, switches layouts, keeps the status bar and runs loads.  View state that menus
 * show as check or radio items (layout, modality, labels, overlay mode, crosshair,
 * convention) are properties of the window installed as property actions, so that the
 * menu, the layer list's buttons and the shortcuts share one source of truth.
 *
 * Recent cases are a short list of path sets in $XDG_CONFIG_HOME/neuroseg/recent-cases
 * (one case per line, its paths separated by tabs): a case is a folder or a set of
 * files, which GtkRecentManager's one-URI entries cannot hold.
 *
 * Editing: the window owns an NsEditor (the mask of the case and the tool settings), hands
 * it to the slice views and the tool palette, and implements the edit.* and save actions
 * with their dialogs: the first save over the case's own segmentation, a file changed on
 * disk, unsaved edits at close, edits to recover after a crash.  Each question dialog is
 * reachable through ns_window_get_question() so that tests answer it as a person would.
 * The one-key shortcuts (1–4, B, E, F, [, ]) sit in a bubble-phase shortcut controller, so
 * that a focused text field gets its keys first; the Ctrl shortcuts are application
 * accelerators (ns-application.c) so that the menus show them.
 */
#define G_LOG_DOMAIN "ns-window"

#include "ns-window.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "ns-ai-controller.h"
#include "ns-tool-panel.h"
#include "ns-ui.h"

#define RECENT_MAX 10

struct _NsWindow
{
  GtkApplicationWindow parent_instance;

  char *layout;
  char *sample_case;
  char *load_error;
  GCancellable *load_cancellable;
  guint pulse_source;

  NsEditor *editor;
  NsAiController *ai;            /* Run Model, the queue, fine-tuning, models */
  GtkWidget *tool_panel;
  GtkWidget *question;           /* the question dialog shown, if any (not owned) */
  GtkWidget *history_dialog;
  GtkListBox *history_list;
  gboolean close_after_save;
  char **open_after_save;        /* a case to open once the mask is saved (or discarded) */
  gboolean close_confirmed;

  /* template children */
  NsViewer *viewer;
  GMenu *recent_menu;
  GMenu *modality_menu;
  GtkStack *stack;
  GtkGrid *view_grid;
  NsSliceView *axial_view;
  NsSliceView *sagittal_view;
  NsSliceView *coronal_view;
  GtkBox *sidebar;
  GtkWidget *sidebar_separator;
  NsLayerPanel *layer_panel;
  NsInfoPane *info_pane;
  GtkLabel *voxel_label;
  GtkLabel *position_label;
  GtkLabel *intensity_label;
  GtkLabel *label_label;
  GtkLabel *message_label;
  GtkProgressBar *progress_bar;
};

G_DEFINE_FINAL_TYPE (NsWindow, ns_window, GTK_TYPE_APPLICATION_WINDOW)

enum {
  PROP_0,
  PROP_LAYOUT,
  PROP_MODALITY,
  PROP_SHOW_LABELS,
  PROP_SHOW_CROSSHAIR,
  PROP_NEUROLOGICAL,
  PROP_OVERLAY_MODE,
  PROP_SHOW_HEAT,
  PROP_TOOL,
  N_PROPS
};

enum {
  LOAD_FINISHED,
  N_SIGNALS
};

static GParamSpec *properties[N_PROPS];
static guint signals[N_SIGNALS];

static const char *const overlay_mode_names[] = { NULL, "fill", "outline", "both" };

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

static void
rebuild_recent_menu (NsWindow *self)
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

/* ---- status bar ---------------------------------------------------------------------------- */

static void
update_status (NsWindow *self)
{
  NsViewerVoxelText text;
  int ijk[3];

  if (!ns_viewer_has_case (self->viewer))
    {
      gtk_label_set_text (self->voxel_label, "");
      gtk_label_set_text (self->position_label, "");
      gtk_label_set_text (self->intensity_label, "");
      gtk_label_set_text (self->label_label, "");
      return;
    }
  /* The voxel under the pointer; the cursor's when the pointer is over no view. */
  ns_viewer_get_pointer (self->viewer, ijk);
  ns_viewer_describe_voxel (self->viewer, ijk, &text);
  gtk_label_set_text (self->voxel_label, text.voxel != NULL ? text.voxel : "");
  gtk_label_set_text (self->position_label, text.position != NULL ? text.position : "");
  gtk_label_set_text (self->intensity_label, text.intensity != NULL ? text.intensity : "");
  gtk_label_set_text (self->label_label, text.label != NULL ? text.label : "");
  ns_viewer_voxel_text_clear (&text);
}

char *
ns_window_dup_status_text (NsWindow *self)
{
  g_return_val_if_fail (NS_IS_WINDOW (self), NULL);

  return g_strdup_printf ("%s  |  %s  |  %s  |  %s", gtk_label_get_text (self->voxel_label),
                          gtk_label_get_text (self->position_label),
                          gtk_label_get_text (self->intensity_label),
                          gtk_label_get_text (self->label_label));
}

/* ---- layout -------------------------------------------------------------------------------- */

static void
place (NsWindow *self, GtkWidget *child, int column, int row)
{
  GtkLayoutManager *manager = gtk_widget_get_layout_manager (GTK_WIDGET (self->view_grid));
  GtkGridLayoutChild *layout_child =
    GTK_GRID_LAYOUT_CHILD (gtk_layout_manager_get_layout_child (manager, child));

  gtk_grid_layout_child_set_column (layout_child, column);
  gtk_grid_layout_child_set_row (layout_child, row);
  gtk_widget_set_visible (child, column >= 0);
}

static void
apply_layout (NsWindow *self)
{
  GtkWidget *axial = GTK_WIDGET (self->axial_view);
  GtkWidget *sagittal = GTK_WIDGET (self->sagittal_view);
  GtkWidget *coronal = GTK_WIDGET (self->coronal_view);
  GtkWidget *info = GTK_WIDGET (self->info_pane);
  gboolean info_in_grid = g_strcmp0 (self->layout, "grid") == 0;
  GtkWidget *parent = gtk_widget_get_parent (info);

  /* The info pane moves into the grid's fourth cell in the 2 x 2 layout and back under
   * the layer list otherwise. */
  if (info_in_grid != (parent == GTK_WIDGET (self->view_grid)))
    {
      g_object_ref (info);
      if (info_in_grid)
        {
          gtk_box_remove (self->sidebar, info);
          gtk_grid_attach (self->view_grid, info, 1, 1, 1, 1);
        }
      else
        {
          gtk_grid_remove (self->view_grid, info);
          gtk_box_append (self->sidebar, info);
        }
      g_object_unref (info);
    }
  gtk_widget_set_visible (self->sidebar_separator, !info_in_grid);
  if (info_in_grid)
    gtk_widget_add_css_class (info, "in-grid");
  else
    gtk_widget_remove_css_class (info, "in-grid");

  /* Hidden cells first: a grid cell may hold only one visible child at a time. */
  if (g_strcmp0 (self->layout, "grid") == 0)
    {
      place (self, axial, 0, 0);
      place (self, sagittal, 1, 0);
      place (self, coronal, 0, 1);
    }
  else if (g_strcmp0 (self->layout, "axial") == 0)
    {
      place (self, sagittal, -1, -1);
      place (self, coronal, -1, -1);
      place (self, axial, 0, 0);
    }
  else if (g_strcmp0 (self->layout, "sagittal") == 0)
    {
      place (self, axial, -1, -1);
      place (self, coronal, -1, -1);
      place (self, sagittal, 0, 0);
    }
  else if (g_strcmp0 (self->layout, "coronal") == 0)
    {
      place (self, axial, -1, -1);
      place (self, sagittal, -1, -1);
      place (self, coronal, 0, 0);
    }
  else
    {
      place (self, axial, 0, 0);
      place (self, sagittal, 1, 0);
      place (self, coronal, 2, 0);
    }
  if (info_in_grid)
    place (self, info, 1, 1);
}

const char *
ns_window_get_layout (NsWindow *self)
{
  g_return_val_if_fail (NS_IS_WINDOW (self), NULL);
  return self->layout;
}

void
ns_window_set_layout (NsWindow *self, const char *layout)
{
  static const char *const known[] = { "row", "grid", "axial", "sagittal", "coronal", NULL };

  g_return_if_fail (NS_IS_WINDOW (self));

  if (layout == NULL || !g_strv_contains (known, layout))
    {
      g_warning ("unknown layout '%s'", layout != NULL ? layout : "(null)");
      return;
    }
  if (g_strcmp0 (self->layout, layout) == 0)
    return;
  g_free (self->layout);
  self->layout = g_strdup (layout);
  apply_layout (self);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_LAYOUT]);
}

/* ---- mask editing -------------------------------------------------------------------------- */

static void save_mask (NsWindow *self);
static void save_mask_as (NsWindow *self);
static void show_error (NsWindow *self, const char *primary, const char *secondary);

static void
update_title (NsWindow *self)
{
  g_autofree char *title = NULL;

  if (!ns_viewer_has_case (self->viewer))
    {
      gtk_window_set_title (GTK_WINDOW (self), "Neuroseg");
      return;
    }
  title = g_strdup_printf ("%s%s — Neuroseg", ns_editor_is_modified (self->editor) ? "*" : "",
                           ns_viewer_get_title (self->viewer));
  gtk_window_set_title (GTK_WINDOW (self), title);
}

static void rebuild_history_list (NsWindow *self);

static void
update_edit_actions (NsWindow *self)
{
  static const char *const doc_actions[] = {
    "win.save-mask", "win.save-mask-as", "edit.history", "edit.interpolate",
    "edit.remove-islands", "edit.add-label", "edit.class", "edit.history-goto",
    "seg.run-model", "seg.mark-corrected",
  };
  NsMaskDoc *doc;
  NsHistory *history;

  if (self->editor == NULL)
    return;
  doc = ns_editor_get_doc (self->editor);
  history = doc != NULL ? ns_mask_doc_get_history (doc) : NULL;
  for (guint i = 0; i < G_N_ELEMENTS (doc_actions); i++)
    gtk_widget_action_set_enabled (GTK_WIDGET (self), doc_actions[i], doc != NULL);
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "win.undo",
                                 history != NULL && ns_history_n_undo (history) > 0);
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "win.redo",
                                 history != NULL && ns_history_n_redo (history) > 0);
  update_title (self);
  if (self->history_dialog != NULL)
    rebuild_history_list (self);
}

GtkWidget *
ns_window_get_question (NsWindow *self)
{
  g_return_val_if_fail (NS_IS_WINDOW (self), NULL);
  return self->question;
}

NsEditor *
ns_window_get_editor (NsWindow *self)
{
  g_return_val_if_fail (NS_IS_WINDOW (self), NULL);
  return self->editor;
}

/* Destroys a dialog from its response handler.  The emission holds the dialog until it
 * returns; unset its parent first, since the handler may close (and free) the window. */
static void
dismiss (gpointer dialog)
{
  gtk_window_set_transient_for (GTK_WINDOW (dialog), NULL);
  gtk_window_destroy (GTK_WINDOW (dialog));
}

static void
question_destroyed_cb (NsWindow *self, GtkWidget *dialog)
{
  if (self->question == dialog)
    self->question = NULL;
}

/* A modal question with buttons (label, response, ..., NULL); response_cb (dialog,
 * response, self) destroys it. */
static GtkWidget *
ask (NsWindow *self, const char *primary, const char *secondary, GCallback response_cb,
     ...)
{
  GtkWidget *dialog = gtk_message_dialog_new (GTK_WINDOW (self),
                                              GTK_DIALOG_MODAL | GTK_DIALOG_DESTROY_WITH_PARENT,
                                              GTK_MESSAGE_QUESTION, GTK_BUTTONS_NONE, "%s",
                                              primary);
  va_list args;
  const char *label;

  gtk_message_dialog_format_secondary_text (GTK_MESSAGE_DIALOG (dialog), "%s", secondary);
  va_start (args, response_cb);
  while ((label = va_arg (args, const char *)) != NULL)
    gtk_dialog_add_button (GTK_DIALOG (dialog), label, va_arg (args, int));
  va_end (args);
  g_signal_connect (dialog, "response", response_cb, self);
  g_signal_connect_object (dialog, "destroy", G_CALLBACK (question_destroyed_cb), self,
                           G_CONNECT_SWAPPED);
  self->question = dialog;
  gtk_window_present (GTK_WINDOW (dialog));
  return dialog;
}

static void
saved (NsWindow *self)
{
  g_autofree char *base =
    g_path_get_basename (ns_mask_doc_get_path (ns_editor_get_doc (self->editor)));
  g_autofree char *message = g_strdup_printf ("Saved %s", base);

  gtk_label_set_text (self->message_label, message);
  if (self->open_after_save != NULL)
    {
      g_auto (GStrv) paths = g_steal_pointer (&self->open_after_save);
      ns_window_open (self, (const char *const *) paths);
    }
  else if (self->close_after_save)
    {
      self->close_after_save = FALSE;
      self->close_confirmed = TRUE;
      gtk_window_close (GTK_WINDOW (self));
    }
}

static void do_save (NsWindow *self, const char *path, gboolean force);

/* A save that was to be followed by closing or opening did not happen. */
static void
cancel_after_save (NsWindow *self)
{
  self->close_after_save = FALSE;
  g_clear_pointer (&self->open_after_save, g_strfreev);
}

static void
changed_on_disk_response_cb (GtkDialog *dialog, int response, NsWindow *self)
{
  g_autofree char *path = g_object_steal_data (G_OBJECT (dialog), "path");

  dismiss (dialog);
  if (response == NS_WINDOW_RESPONSE_OVERWRITE)
    do_save (self, path, TRUE);
  else
    cancel_after_save (self);
}

static void
do_save (NsWindow *self, const char *path, gboolean force)
{
  g_autoptr (GError) error = NULL;

  if (ns_editor_save (self->editor, path, force, &error))
    {
      saved (self);
      return;
    }
  if (g_error_matches (error, NS_EDIT_ERROR, NS_EDIT_ERROR_CHANGED_ON_DISK))
    {
      GtkWidget *dialog =
        ask (self, "The mask file changed on disk", error->message,
             G_CALLBACK (changed_on_disk_response_cb), "_Cancel", GTK_RESPONSE_CANCEL,
             "_Overwrite", NS_WINDOW_RESPONSE_OVERWRITE, NULL);
      g_object_set_data_full (G_OBJECT (dialog), "path", g_strdup (path), g_free);
      return;
    }
  cancel_after_save (self);
  show_error (self, "Could not save the mask", error->message);
}

static void
seg_response_cb (GtkDialog *dialog, int response, NsWindow *self)
{
  dismiss (dialog);
  if (response == NS_WINDOW_RESPONSE_OVERWRITE)
    do_save (self, NULL, FALSE);
  else if (response == NS_WINDOW_RESPONSE_SAVE_AS)
    save_mask_as (self);
  else
    cancel_after_save (self);
}

static void
save_mask (NsWindow *self)
{
  if (ns_editor_get_doc (self->editor) == NULL)
    return;
  if (ns_editor_path_is_case_seg (self->editor))
    {
      g_autofree char *secondary =
        g_strdup_printf ("The labels shown come from the case's segmentation %s. Overwrite "
                         "it with the edited mask, or save the mask as a new file?",
                         ns_mask_doc_get_path (ns_editor_get_doc (self->editor)));
      ask (self, "Overwrite the case's segmentation?", secondary, G_CALLBACK (seg_response_cb),
           "_Cancel", GTK_RESPONSE_CANCEL, "_Overwrite", NS_WINDOW_RESPONSE_OVERWRITE,
           "Save _As…", NS_WINDOW_RESPONSE_SAVE_AS, NULL);
      return;
    }
  do_save (self, NULL, FALSE);
}

static void
save_chooser_response_cb (GtkNativeDialog *native, int response, NsWindow *self)
{
  if (response == GTK_RESPONSE_ACCEPT)
    {
      g_autoptr (GFile) file = gtk_file_chooser_get_file (GTK_FILE_CHOOSER (native));
      g_autofree char *path = file != NULL ? g_file_get_path (file) : NULL;

      if (path != NULL)
        do_save (self, path, FALSE);
    }
  else
    cancel_after_save (self);
  g_object_unref (native);
}

static void
save_mask_as (NsWindow *self)
{
  NsCase *ncase = ns_viewer_get_case (self->viewer);
  GtkFileChooserNative *native;
  g_autofree char *name = NULL;
  g_autoptr (GFile) dir = NULL;

  if (ncase == NULL || ns_editor_get_doc (self->editor) == NULL)
    return;
  native = gtk_file_chooser_native_new ("Save Mask As", GTK_WINDOW (self),
                                        GTK_FILE_CHOOSER_ACTION_SAVE, "_Save", "_Cancel");
  gtk_native_dialog_set_modal (GTK_NATIVE_DIALOG (native), TRUE);
  dir = g_file_new_for_path (ncase->dir);
  gtk_file_chooser_set_current_folder (GTK_FILE_CHOOSER (native), dir, NULL);
  name = g_strdup_printf ("%s_mask.nii.gz", ncase->id);
  gtk_file_chooser_set_current_name (GTK_FILE_CHOOSER (native), name);
  g_signal_connect (native, "response", G_CALLBACK (save_chooser_response_cb), self);
  gtk_native_dialog_show (GTK_NATIVE_DIALOG (native));
}

static void
recovery_response_cb (GtkDialog *dialog, int response, NsWindow *self)
{
  g_autoptr (GError) error = NULL;
  guint n = 0;

  dismiss (dialog);
  if (response == NS_WINDOW_RESPONSE_RECOVER)
    {
      /* The dialog said so when the saved mask is not the one the edits were made on. */
      if (!ns_editor_recover (self->editor, TRUE, &n, &error))
        show_error (self, "Could not recover the unsaved edits", error->message);
      else
        {
          g_autofree char *message = g_strdup_printf ("Recovered %u edits", n);
          gtk_label_set_text (self->message_label, message);
        }
    }
  else if (!ns_editor_discard_recovery (self->editor, &error) && error != NULL)
    show_error (self, "Could not discard the unsaved edits", error->message);
  update_edit_actions (self);
}

static void
open_mask (NsWindow *self)
{
  g_autoptr (GError) error = NULL;
  NsMaskDoc *doc;
  guint n;

  if (!ns_editor_open (self->editor, NULL, &error))
    {
      /* The views still work; editing stays off. */
      gtk_label_set_text (self->message_label, "Editing is off: the mask could not be opened");
      show_error (self, "Could not open the mask for editing", error->message);
      update_edit_actions (self);
      return;
    }
  doc = ns_editor_get_doc (self->editor);
  n = ns_mask_doc_n_recoverable (doc);
  if (n > 0)
    {
      g_autofree char *secondary =
        g_strdup_printf ("%u edits of %s were not saved when Neuroseg last ended. Recover "
                         "them onto the saved mask, or discard them?%s", n,
                         ns_viewer_get_title (self->viewer),
                         ns_mask_doc_recovery_matches (doc)
                           ? ""
                           : "\n\nWarning: the mask file changed since those edits were "
                             "made (another program wrote it); recovered edits would apply "
                             "to the new file.");
      ask (self, "Recover unsaved edits?", secondary, G_CALLBACK (recovery_response_cb),
           "_Discard", NS_WINDOW_RESPONSE_DISCARD, "_Recover", NS_WINDOW_RESPONSE_RECOVER,
           NULL);
    }
  update_edit_actions (self);
}

static void
unsaved_response_cb (GtkDialog *dialog, int response, NsWindow *self)
{
  dismiss (dialog);
  if (response == NS_WINDOW_RESPONSE_DISCARD)
    {
      ns_editor_discard_changes (self->editor);
      self->close_confirmed = TRUE;
      gtk_window_close (GTK_WINDOW (self));
    }
  else if (response == NS_WINDOW_RESPONSE_SAVE)
    {
      self->close_after_save = TRUE;
      save_mask (self);
    }
}

static void
unsaved_open_response_cb (GtkDialog *dialog, int response, NsWindow *self)
{
  dismiss (dialog);
  if (response == NS_WINDOW_RESPONSE_DISCARD)
    {
      g_auto (GStrv) paths = g_steal_pointer (&self->open_after_save);

      ns_editor_discard_changes (self->editor);
      ns_editor_close (self->editor);
      ns_window_open (self, (const char *const *) paths);
    }
  else if (response == NS_WINDOW_RESPONSE_SAVE)
    save_mask (self);
  else
    cancel_after_save (self);
}

/* Opening another case over unsaved edits asks first; FALSE: wait for the answer. */
static gboolean
may_replace_case (NsWindow *self, const char *const *paths)
{
  g_autofree char *primary = NULL;

  if (self->editor == NULL || !ns_editor_is_modified (self->editor))
    return TRUE;
  if (self->question != NULL)
    return FALSE;
  g_clear_pointer (&self->open_after_save, g_strfreev);
  self->open_after_save = g_strdupv ((char **) paths);
  primary = g_strdup_printf ("Save the edits to the mask of %s before opening another case?",
                             ns_viewer_get_title (self->viewer));
  ask (self, primary, "Unsaved edits are lost if you open another case without saving.",
       G_CALLBACK (unsaved_open_response_cb), "_Cancel", GTK_RESPONSE_CANCEL,
       "_Discard", NS_WINDOW_RESPONSE_DISCARD, "_Save", NS_WINDOW_RESPONSE_SAVE, NULL);
  return FALSE;
}

static gboolean
ns_window_close_request (GtkWindow *window)
{
  NsWindow *self = NS_WINDOW (window);

  if (!self->close_confirmed && self->editor != NULL && ns_editor_is_modified (self->editor))
    {
      g_autofree char *primary =
        g_strdup_printf ("Save the edits to the mask of %s?", ns_viewer_get_title (self->viewer));

      if (self->question == NULL)
        ask (self, primary, "Unsaved edits are lost if you close without saving.",
             G_CALLBACK (unsaved_response_cb), "_Cancel", GTK_RESPONSE_CANCEL,
             "_Discard", NS_WINDOW_RESPONSE_DISCARD, "_Save", NS_WINDOW_RESPONSE_SAVE, NULL);
      return TRUE;
    }
  return GTK_WINDOW_CLASS (ns_window_parent_class)->close_request (window);
}

/* The plane edits act on: the focused view's, else the axial. */
static NsSliceView *
active_view (NsWindow *self)
{
  GtkWidget *focus = gtk_window_get_focus (GTK_WINDOW (self));

  for (; focus != NULL; focus = gtk_widget_get_parent (focus))
    if (NS_IS_SLICE_VIEW (focus))
      return NS_SLICE_VIEW (focus);
  return self->axial_view;
}

static void
edit_simple_action (GtkWidget *widget, const char *action_name, GVariant *parameter)
{
  NsWindow *self = NS_WINDOW (widget);
  g_autoptr (GError) error = NULL;

  if (g_str_equal (action_name, "win.save-mask"))
    save_mask (self);
  else if (g_str_equal (action_name, "win.save-mask-as"))
    save_mask_as (self);
  else if (g_str_equal (action_name, "win.undo"))
    ns_editor_undo (self->editor, 1);
  else if (g_str_equal (action_name, "win.redo"))
    ns_editor_redo (self->editor, 1);
  else if (g_str_equal (action_name, "edit.radius-up"))
    ns_editor_step_radius (self->editor, 1);
  else if (g_str_equal (action_name, "edit.radius-down"))
    ns_editor_step_radius (self->editor, -1);
  else if (g_str_equal (action_name, "edit.class"))
    ns_editor_select_class (self->editor, (guint) g_variant_get_int32 (parameter));
  else if (g_str_equal (action_name, "edit.interpolate"))
    {
      const NsPlaneGeometry *geom = ns_slice_view_get_geometry (active_view (self));

      if (geom == NULL)
        return;
      if (!ns_editor_interpolate (self->editor, geom->axis_n, &error))
        {
          if (error != NULL)
            show_error (self, "Could not interpolate", error->message);
        }
      else
        gtk_label_set_text (self->message_label, "Interpolated between slices");
    }
}

/* ---- Remove Small Islands… ---- */

static void
islands_response_cb (GtkDialog *dialog, int response, NsWindow *self)
{
  GtkSpinButton *spin = g_object_get_data (G_OBJECT (dialog), "spin");
  double ml = gtk_spin_button_get_value (spin);
  g_autoptr (GError) error = NULL;

  dismiss (dialog);
  if (response != GTK_RESPONSE_OK)
    return;
  if (!ns_editor_remove_islands (self->editor, ml, &error) && error != NULL)
    show_error (self, "Could not remove islands", error->message);
}

static void
remove_islands_action (GtkWidget *widget, const char *action_name, GVariant *parameter)
{
  NsWindow *self = NS_WINDOW (widget);
  GtkWidget *dialog, *box, *spin, *label;
  guint8 value = ns_editor_get_label (self->editor);
  const NsLabelEntry *e =
    ns_label_table_lookup (ns_mask_doc_get_labels (ns_editor_get_doc (self->editor)), value);
  g_autofree char *text = g_strdup_printf ("Remove the connected parts of label %u %s smaller "
                                           "than (mL):", value, e != NULL ? e->name : "");

  dialog = gtk_dialog_new_with_buttons ("Remove Small Islands", GTK_WINDOW (self),
                                        GTK_DIALOG_MODAL | GTK_DIALOG_DESTROY_WITH_PARENT,
                                        "_Cancel", GTK_RESPONSE_CANCEL, "_Remove",
                                        GTK_RESPONSE_OK, NULL);
  box = gtk_dialog_get_content_area (GTK_DIALOG (dialog));
  gtk_box_set_spacing (GTK_BOX (box), 8);
  gtk_widget_set_margin_start (box, 12);
  gtk_widget_set_margin_end (box, 12);
  gtk_widget_set_margin_top (box, 12);
  label = gtk_label_new (text);
  gtk_label_set_wrap (GTK_LABEL (label), TRUE);
  spin = gtk_spin_button_new_with_range (0.001, 1000, 0.01);
  gtk_spin_button_set_digits (GTK_SPIN_BUTTON (spin), 3);
  gtk_spin_button_set_value (GTK_SPIN_BUTTON (spin), 0.1);
  gtk_box_append (GTK_BOX (box), label);
  gtk_box_append (GTK_BOX (box), spin);
  g_object_set_data (G_OBJECT (dialog), "spin", spin);
  gtk_dialog_set_default_response (GTK_DIALOG (dialog), GTK_RESPONSE_OK);
  g_signal_connect (dialog, "response", G_CALLBACK (islands_response_cb), self);
  g_signal_connect_object (dialog, "destroy", G_CALLBACK (question_destroyed_cb), self,
                           G_CONNECT_SWAPPED);
  self->question = dialog;
  gtk_window_present (GTK_WINDOW (dialog));
}

/* ---- Add Label… ---- */

static void
add_label_response_cb (GtkDialog *dialog, int response, NsWindow *self)
{
  GtkEditable *name = g_object_get_data (G_OBJECT (dialog), "name");
  GtkSpinButton *value = g_object_get_data (G_OBJECT (dialog), "value");
  GtkColorChooser *colour = g_object_get_data (G_OBJECT (dialog), "colour");
  GdkRGBA rgba;
  guint8 rgb[3];
  int v = gtk_spin_button_get_value_as_int (value);
  g_autofree char *text = g_strdup (gtk_editable_get_text (name));

  gtk_color_chooser_get_rgba (colour, &rgba);
  dismiss (dialog);
  if (response != GTK_RESPONSE_OK || v <= 0 || v > 255)
    return;
  rgb[0] = (guint8) lround (rgba.red * 255);
  rgb[1] = (guint8) lround (rgba.green * 255);
  rgb[2] = (guint8) lround (rgba.blue * 255);
  ns_editor_add_label (self->editor, (guint8) v, text[0] != '\0' ? text : "Label", rgb);
  ns_editor_set_label (self->editor, (guint8) v);
}

static void
add_label_action (GtkWidget *widget, const char *action_name, GVariant *parameter)
{
  NsWindow *self = NS_WINDOW (widget);
  NsLabelTable *table = ns_mask_doc_get_labels (ns_editor_get_doc (self->editor));
  GtkWidget *dialog, *grid, *name, *value, *colour;
  GdkRGBA rgba = { 0.6, 0.3, 0.9, 1 };

  dialog = gtk_dialog_new_with_buttons ("Add Label", GTK_WINDOW (self),
                                        GTK_DIALOG_MODAL | GTK_DIALOG_DESTROY_WITH_PARENT,
                                        "_Cancel", GTK_RESPONSE_CANCEL, "_Add", GTK_RESPONSE_OK,
                                        NULL);
  grid = gtk_grid_new ();
  gtk_grid_set_row_spacing (GTK_GRID (grid), 6);
  gtk_grid_set_column_spacing (GTK_GRID (grid), 8);
  gtk_widget_set_margin_start (grid, 12);
  gtk_widget_set_margin_end (grid, 12);
  gtk_widget_set_margin_top (grid, 12);
  name = gtk_entry_new ();
  gtk_editable_set_text (GTK_EDITABLE (name), "Custom");
  value = gtk_spin_button_new_with_range (1, 255, 1);
  gtk_spin_button_set_value (GTK_SPIN_BUTTON (value),
                             MAX (1, ns_label_table_next_free (table)));
  colour = gtk_color_button_new_with_rgba (&rgba);
  gtk_grid_attach (GTK_GRID (grid), gtk_label_new ("Name"), 0, 0, 1, 1);
  gtk_grid_attach (GTK_GRID (grid), name, 1, 0, 1, 1);
  gtk_grid_attach (GTK_GRID (grid), gtk_label_new ("Value"), 0, 1, 1, 1);
  gtk_grid_attach (GTK_GRID (grid), value, 1, 1, 1, 1);
  gtk_grid_attach (GTK_GRID (grid), gtk_label_new ("Colour"), 0, 2, 1, 1);
  gtk_grid_attach (GTK_GRID (grid), colour, 1, 2, 1, 1);
  gtk_box_append (GTK_BOX (gtk_dialog_get_content_area (GTK_DIALOG (dialog))), grid);
  g_object_set_data (G_OBJECT (dialog), "name", name);
  g_object_set_data (G_OBJECT (dialog), "value", value);
  g_object_set_data (G_OBJECT (dialog), "colour", colour);
  g_signal_connect (dialog, "response", G_CALLBACK (add_label_response_cb), self);
  g_signal_connect_object (dialog, "destroy", G_CALLBACK (question_destroyed_cb), self,
                           G_CONNECT_SWAPPED);
  self->question = dialog;
  gtk_window_present (GTK_WINDOW (dialog));
}

/* ---- History ---- */

static void
history_goto (NsWindow *self, guint n_applied)
{
  NsMaskDoc *doc = ns_editor_get_doc (self->editor);
  guint n_undo;

  if (doc == NULL)
    return;
  n_undo = ns_history_n_undo (ns_mask_doc_get_history (doc));
  if (n_applied < n_undo)
    ns_editor_undo (self->editor, n_undo - n_applied);
  else if (n_applied > n_undo)
    ns_editor_redo (self->editor, n_applied - n_undo);
}

static void
history_goto_action (GtkWidget *widget, const char *action_name, GVariant *parameter)
{
  history_goto (NS_WINDOW (widget), g_variant_get_uint32 (parameter));
}

static void
history_row_activated_cb (GtkListBox *list, GtkListBoxRow *row, NsWindow *self)
{
  history_goto (self, (guint) gtk_list_box_row_get_index (row));
}

static void
rebuild_history_list (NsWindow *self)
{
  NsMaskDoc *doc = ns_editor_get_doc (self->editor);
  NsHistory *history = doc != NULL ? ns_mask_doc_get_history (doc) : NULL;
  guint n_undo = history != NULL ? ns_history_n_undo (history) : 0;
  guint n = history != NULL ? n_undo + ns_history_n_redo (history) : 0;
  GtkWidget *child;

  while ((child = gtk_widget_get_first_child (GTK_WIDGET (self->history_list))) != NULL)
    gtk_list_box_remove (self->history_list, child);
  /* Row r is the state with the first r entries applied. */
  for (guint r = 0; r <= n; r++)
    {
      g_autofree char *text = NULL;
      GtkWidget *label;

      if (r == 0)
        text = g_strdup ("Opened");
      else
        {
          const NsEditChange *change = ns_history_get (history, r - 1);
          g_autoptr (GDateTime) time =
            g_date_time_new_from_unix_local (change->time / G_USEC_PER_SEC);
          g_autofree char *clock = time != NULL ? g_date_time_format (time, "%H:%M:%S")
                                                : g_strdup ("");

          text = g_strdup_printf ("%u. %s — %zu voxels  %s", r, change->name, change->n,
                                  clock);
        }
      label = gtk_label_new (text);
      gtk_label_set_xalign (GTK_LABEL (label), 0);
      if (r > n_undo)
        gtk_widget_add_css_class (label, "dim-label");
      gtk_list_box_append (self->history_list, label);
      if (r == n_undo)
        gtk_list_box_select_row (self->history_list,
                                 gtk_list_box_get_row_at_index (self->history_list, r));
    }
}

static void
history_dialog_destroyed_cb (NsWindow *self, GtkWidget *dialog)
{
  self->history_dialog = NULL;
  self->history_list = NULL;
}

static void
history_action (GtkWidget *widget, const char *action_name, GVariant *parameter)
{
  NsWindow *self = NS_WINDOW (widget);
  GtkWidget *scrolled;

  if (self->history_dialog != NULL)
    {
      gtk_window_present (GTK_WINDOW (self->history_dialog));
      return;
    }
  self->history_dialog = gtk_window_new ();
  gtk_window_set_title (GTK_WINDOW (self->history_dialog), "Edit History");
  gtk_window_set_transient_for (GTK_WINDOW (self->history_dialog), GTK_WINDOW (self));
  gtk_window_set_destroy_with_parent (GTK_WINDOW (self->history_dialog), TRUE);
  gtk_window_set_default_size (GTK_WINDOW (self->history_dialog), 360, 420);
  scrolled = gtk_scrolled_window_new ();
  self->history_list = GTK_LIST_BOX (gtk_list_box_new ());
  gtk_list_box_set_activate_on_single_click (self->history_list, TRUE);
  g_signal_connect (self->history_list, "row-activated",
                    G_CALLBACK (history_row_activated_cb), self);
  gtk_scrolled_window_set_child (GTK_SCROLLED_WINDOW (scrolled),
                                 GTK_WIDGET (self->history_list));
  gtk_window_set_child (GTK_WINDOW (self->history_dialog), scrolled);
  g_signal_connect_swapped (self->history_dialog, "destroy",
                            G_CALLBACK (history_dialog_destroyed_cb), self);
  rebuild_history_list (self);
  gtk_window_present (GTK_WINDOW (self->history_dialog));
}

GtkListBox *
ns_window_get_history_list (NsWindow *self)
{
  g_return_val_if_fail (NS_IS_WINDOW (self), NULL);
  return self->history_list;
}

/* ---- the test script (NEUROSEG_TEST_SCRIPT) ---- */

static gboolean
parse_plane (const char *word, NsPlane *plane)
{
  for (int p = 0; p < NS_N_PLANES; p++)
    if (g_strcmp0 (word, ns_plane_to_string (p)) == 0)
      {
        *plane = p;
        return TRUE;
      }
  return FALSE;
}

static gboolean
script_paint (NsWindow *self, GPtrArray *w, GError **error)
{
  NsPlane plane;
  const NsPlaneGeometry *geom;
  g_autoptr (GArray) points = g_array_new (FALSE, FALSE, sizeof (double));
  guint i = 2;

  if (ns_editor_get_doc (self->editor) == NULL)
    {
      g_set_error (error, NS_EDIT_ERROR, NS_EDIT_ERROR_INVALID, "no mask is open");
      return FALSE;
    }
  if (w->len < 5 || !parse_plane (w->pdata[1], &plane))
    return FALSE;
  for (; i + 2 < w->len + 0 && g_ascii_isdigit (((char *) w->pdata[i])[0]); i += 3)
    for (int a = 0; a < 3; a++)
      {
        double v = g_ascii_strtod (w->pdata[i + a], NULL);
        g_array_append_val (points, v);
      }
  for (; i + 1 < w->len; i += 2)
    {
      if (g_str_equal (w->pdata[i], "label"))
        ns_editor_set_label (self->editor, (guint8) atoi (w->pdata[i + 1]));
      else if (g_str_equal (w->pdata[i], "radius"))
        ns_editor_set_radius (self->editor, g_ascii_strtod (w->pdata[i + 1], NULL));
      else
        return FALSE;
    }
  if (i != w->len || points->len == 0)
    return FALSE;
  ns_editor_set_tool (self->editor, g_str_equal (w->pdata[0], "paint") ? NS_TOOL_BRUSH
                                                                       : NS_TOOL_ERASER);
  ns_editor_set_three_d (self->editor, FALSE);
  geom = ns_slice_view_get_geometry (ns_window_get_slice_view (self, plane));
  if (geom == NULL
      || !ns_editor_stroke_begin (self->editor, geom, &g_array_index (points, double, 0)))
    {
      g_set_error (error, NS_EDIT_ERROR, NS_EDIT_ERROR_INVALID, "cannot paint");
      return FALSE;
    }
  for (guint p = 1; p < points->len / 3; p++)
    ns_editor_stroke_add (self->editor, &g_array_index (points, double, 3 * p));
  ns_editor_stroke_end (self->editor);
  return TRUE;
}

gboolean
ns_window_run_script_line (NsWindow *self, const char *line, GError **error)
{
  g_auto (GStrv) words = NULL;
  g_autoptr (GPtrArray) w = g_ptr_array_new ();
  const char *verb;
  GError *local = NULL;

  g_return_val_if_fail (NS_IS_WINDOW (self), FALSE);

  words = g_strsplit_set (line, " \t\r\n", -1);
  for (guint i = 0; words[i] != NULL; i++)
    if (words[i][0] != '\0')
      g_ptr_array_add (w, words[i]);
  if (w->len == 0 || ((char *) w->pdata[0])[0] == '#')
    return TRUE;
  verb = w->pdata[0];

  if (g_str_equal (verb, "paint") || g_str_equal (verb, "erase"))
    {
      if (script_paint (self, w, &local))
        return TRUE;
      if (local != NULL)
        {
          g_propagate_error (error, local);
          return FALSE;
        }
    }
  else if (g_str_equal (verb, "undo") && w->len == 1)
    {
      if (ns_editor_undo (self->editor, 1) == 1)
        return TRUE;
      g_set_error (error, NS_EDIT_ERROR, NS_EDIT_ERROR_INVALID, "nothing to undo");
      return FALSE;
    }
  else if ((g_str_equal (verb, "recover") || g_str_equal (verb, "discard")) && w->len == 1)
    {
      if (self->question == NULL
          || g_signal_handler_find (self->question, G_SIGNAL_MATCH_FUNC, 0, 0, NULL,
                                    recovery_response_cb, NULL) == 0)
        {
          g_set_error (error, NS_EDIT_ERROR, NS_EDIT_ERROR_INVALID, "no recovery was offered");
          return FALSE;
        }
      gtk_dialog_response (GTK_DIALOG (self->question),
                           g_str_equal (verb, "recover") ? NS_WINDOW_RESPONSE_RECOVER
                                                         : NS_WINDOW_RESPONSE_DISCARD);
      return TRUE;
    }
  else if (g_str_equal (verb, "save") && w->len <= 2)
    return ns_editor_save (self->editor, w->len == 2 ? w->pdata[1] : NULL, TRUE, error);
  else if (g_str_equal (verb, "quit") && w->len == 1)
    {
      self->close_confirmed = TRUE;
      gtk_window_destroy (GTK_WINDOW (self));
      return TRUE;
    }
  g_set_error (error, NS_EDIT_ERROR, NS_EDIT_ERROR_INVALID, "cannot read '%s'", line);
  return FALSE;
}

/* ---- loading ------------------------------------------------------------------------------- */

static gboolean
pulse_cb (gpointer user_data)
{
  NsWindow *self = user_data;

  gtk_progress_bar_pulse (self->progress_bar);
  return G_SOURCE_CONTINUE;
}

static void
show_error (NsWindow *self, const char *primary, const char *secondary)
{
  GtkWidget *dialog = gtk_message_dialog_new (GTK_WINDOW (self),
                                              GTK_DIALOG_MODAL | GTK_DIALOG_DESTROY_WITH_PARENT,
                                              GTK_MESSAGE_ERROR, GTK_BUTTONS_CLOSE, "%s",
                                              primary);

  gtk_message_dialog_format_secondary_text (GTK_MESSAGE_DIALOG (dialog), "%s", secondary);
  g_signal_connect (dialog, "response", G_CALLBACK (gtk_window_destroy), NULL);
  gtk_window_present (GTK_WINDOW (dialog));
}

static void
rebuild_modality_menu (NsWindow *self)
{
  g_menu_remove_all (self->modality_menu);
  for (guint i = 0; i < ns_viewer_get_n_images (self->viewer); i++)
    {
      const char *name = ns_viewer_get_image_name (self->viewer, i);
      g_autoptr (GMenuItem) item = g_menu_item_new (ns_viewer_modality_label (name), NULL);

      g_menu_item_set_action_and_target_value (item, "view.modality",
                                               g_variant_new_string (name));
      g_menu_append_item (self->modality_menu, item);
    }
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

static void
load_finished_cb (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (LoadData) data = user_data;
  NsWindow *self = data->self;
  char **paths = data->paths;
  g_autoptr (GError) error = NULL;
  gboolean ok;

  ok = ns_viewer_load_finish (NS_VIEWER (source), result, &error);
  if (!ok && g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    return;                      /* a newer load took over */

  g_clear_handle_id (&self->pulse_source, g_source_remove);
  g_clear_object (&self->load_cancellable);
  gtk_widget_set_visible (GTK_WIDGET (self->progress_bar), FALSE);
  g_clear_pointer (&self->load_error, g_free);

  if (!ok)
    {
      self->load_error = g_strdup (error->message);
      gtk_label_set_text (self->message_label, "Could not open the case");
      show_error (self, "Could not open the case", error->message);
    }
  else
    {
      gtk_label_set_text (self->message_label, "");
      gtk_widget_grab_focus (GTK_WIDGET (self->axial_view));
      recent_add ((const char *const *) paths);
      rebuild_recent_menu (self);
      open_mask (self);
    }
  g_signal_emit (self, signals[LOAD_FINISHED], 0, ok);
}

void
ns_window_open (NsWindow *self, const char *const *paths)
{
  g_autofree char *base = NULL;
  g_autofree char *message = NULL;
  LoadData *data;

  g_return_if_fail (NS_IS_WINDOW (self));
  g_return_if_fail (paths != NULL && paths[0] != NULL);

  if (!may_replace_case (self, paths))
    return;

  if (self->load_cancellable != NULL)
    g_cancellable_cancel (self->load_cancellable);
  g_clear_object (&self->load_cancellable);
  self->load_cancellable = g_cancellable_new ();

  base = g_path_get_basename (paths[0]);
  message = g_strdup_printf ("Loading %s…", base);
  gtk_label_set_text (self->message_label, message);
  gtk_progress_bar_set_fraction (self->progress_bar, 0);
  gtk_widget_set_visible (GTK_WIDGET (self->progress_bar), TRUE);
  if (self->pulse_source == 0)
    self->pulse_source = g_timeout_add (100, pulse_cb, self);

  data = g_new0 (LoadData, 1);
  data->self = g_object_ref (self);
  data->paths = g_strdupv ((char **) paths);
  ns_viewer_load_async (self->viewer, paths, self->load_cancellable, load_finished_cb, data);
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
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "win.open-sample", dir != NULL);
}

/* ---- viewer signals ------------------------------------------------------------------------ */

static void
viewer_case_changed_cb (NsWindow *self, NsViewer *viewer)
{
  gboolean has_case = ns_viewer_has_case (viewer);

  gtk_stack_set_visible_child_name (self->stack, has_case ? "views" : "empty");
  gtk_widget_set_sensitive (GTK_WIDGET (self->layer_panel), has_case);
  rebuild_modality_menu (self);
  for (guint a = 0; a < 5; a++)
    {
      static const char *const actions[] = {
        "view.reset", "view.zoom-in", "view.zoom-out", "view.window-preset",
        "win.copy-position",
      };
      gtk_widget_action_set_enabled (GTK_WIDGET (self), actions[a], has_case);
    }
  update_edit_actions (self);
  update_status (self);
}

static void
viewer_notify_cb (NsWindow *self, GParamSpec *pspec, NsViewer *viewer)
{
  /* Re-emit the viewer's changes as the window's, for the property actions. */
  if (g_strcmp0 (pspec->name, "modality") == 0)
    g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_MODALITY]);
  else if (g_strcmp0 (pspec->name, "show-labels") == 0)
    g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_SHOW_LABELS]);
  else if (g_strcmp0 (pspec->name, "show-crosshair") == 0)
    g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_SHOW_CROSSHAIR]);
  else if (g_strcmp0 (pspec->name, "neurological") == 0)
    g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_NEUROLOGICAL]);
  else if (g_strcmp0 (pspec->name, "overlay-mode") == 0)
    g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_OVERLAY_MODE]);
  else if (g_strcmp0 (pspec->name, "show-heat") == 0)
    g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_SHOW_HEAT]);
}

/* ---- actions ------------------------------------------------------------------------------- */

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

static void
run_open_chooser (NsWindow *self, gboolean folder)
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

static void
open_case_action (GtkWidget *widget, const char *action_name, GVariant *parameter)
{
  run_open_chooser (NS_WINDOW (widget), TRUE);
}

static void
open_files_action (GtkWidget *widget, const char *action_name, GVariant *parameter)
{
  run_open_chooser (NS_WINDOW (widget), FALSE);
}

static void
open_recent_action (GtkWidget *widget, const char *action_name, GVariant *parameter)
{
  g_autofree const char **paths = g_variant_get_strv (parameter, NULL);

  if (paths[0] != NULL)
    ns_window_open (NS_WINDOW (widget), paths);
}

static void
open_sample_action (GtkWidget *widget, const char *action_name, GVariant *parameter)
{
  NsWindow *self = NS_WINDOW (widget);
  const char *paths[] = { self->sample_case, NULL };

  if (self->sample_case != NULL)
    ns_window_open (self, paths);
}

static void
close_action (GtkWidget *widget, const char *action_name, GVariant *parameter)
{
  gtk_window_close (GTK_WINDOW (widget));
}

static void
copy_position_action (GtkWidget *widget, const char *action_name, GVariant *parameter)
{
  NsWindow *self = NS_WINDOW (widget);
  NsViewerVoxelText text;
  double cursor[3];
  int ijk[3];
  g_autofree char *line = NULL;

  ns_viewer_get_cursor (self->viewer, cursor);
  for (int a = 0; a < 3; a++)
    ijk[a] = (int) cursor[a];
  ns_viewer_describe_voxel (self->viewer, ijk, &text);
  line = g_strdup_printf ("%s; %s", text.voxel, text.position);
  gdk_clipboard_set_text (gtk_widget_get_clipboard (widget), line);
  ns_viewer_voxel_text_clear (&text);
}

static void
mouse_help_action (GtkWidget *widget, const char *action_name, GVariant *parameter)
{
  GtkWidget *dialog = gtk_message_dialog_new (GTK_WINDOW (widget),
                                              GTK_DIALOG_MODAL | GTK_DIALOG_DESTROY_WITH_PARENT,
                                              GTK_MESSAGE_INFO, GTK_BUTTONS_CLOSE,
                                              "Mouse controls in a slice view");

  gtk_message_dialog_format_secondary_text (
    GTK_MESSAGE_DIALOG (dialog), "%s",
    "Left click or drag: move the 3-D cursor; the other planes follow\n"
    "Wheel, Page Up / Page Down: next / previous slice\n"
    "Ctrl + wheel: zoom about the pointer\n"
    "Middle drag, or Space + left drag: pan\n"
    "Right drag: window (left / right) and level (up / down)\n"
    "View ▸ Reset View (Ctrl+0): fit the planes again\n"
    "\n"
    "With the brush (B) or the eraser (E): left drag paints one stroke (one undo step),\n"
    "Escape during the drag cancels it; the outline shows the voxels a dab covers\n"
    "With fill (F): left click fills the region under the pointer on that plane\n"
    "Ctrl + left click (any tool) or the picker: take the label under the pointer");
  g_signal_connect (dialog, "response", G_CALLBACK (gtk_window_destroy), NULL);
  gtk_window_present (GTK_WINDOW (dialog));
}

/* The AI loop's actions are NsAiController's (ui/ns-ai-controller.c). */
static void
ai_action (GtkWidget *widget, const char *action_name, GVariant *parameter)
{
  ns_ai_controller_activate (NS_WINDOW (widget)->ai, action_name);
}

static void
ai_open_case (GtkWindow *window, const char *path)
{
  const char *paths[] = { path, NULL };

  ns_window_open (NS_WINDOW (window), paths);
}

static void
reset_view_action (GtkWidget *widget, const char *action_name, GVariant *parameter)
{
  NsWindow *self = NS_WINDOW (widget);

  ns_slice_view_reset (self->axial_view);
  ns_slice_view_reset (self->sagittal_view);
  ns_slice_view_reset (self->coronal_view);
}

static void
zoom_action (GtkWidget *widget, const char *action_name, GVariant *parameter)
{
  NsWindow *self = NS_WINDOW (widget);
  double factor = g_str_equal (action_name, "view.zoom-in") ? 1.25 : 1 / 1.25;
  NsSliceView *views[] = { self->axial_view, self->sagittal_view, self->coronal_view };

  for (guint v = 0; v < G_N_ELEMENTS (views); v++)
    ns_slice_view_set_zoom (views[v], ns_slice_view_get_zoom (views[v]) * factor);
}

static void
window_preset_action (GtkWidget *widget, const char *action_name, GVariant *parameter)
{
  ns_viewer_apply_window_preset (NS_WINDOW (widget)->viewer,
                                 g_variant_get_string (parameter, NULL));
}

/* ---- GObject ------------------------------------------------------------------------------- */

static void
ns_window_dispose (GObject *object)
{
  NsWindow *self = NS_WINDOW (object);

  if (self->load_cancellable != NULL)
    g_cancellable_cancel (self->load_cancellable);
  g_clear_object (&self->load_cancellable);
  g_clear_handle_id (&self->pulse_source, g_source_remove);
  if (self->history_dialog != NULL)
    gtk_window_destroy (GTK_WINDOW (self->history_dialog));
  if (self->editor != NULL)
    {
      g_signal_handlers_disconnect_by_data (self->editor, self);
      ns_slice_view_set_editor (self->axial_view, NULL);
      ns_slice_view_set_editor (self->sagittal_view, NULL);
      ns_slice_view_set_editor (self->coronal_view, NULL);
      /* Flushes the journal: unsaved edits stay recoverable. */
      ns_editor_close (self->editor);
    }
  g_clear_object (&self->ai);
  g_clear_object (&self->editor);
  gtk_widget_dispose_template (GTK_WIDGET (self), NS_TYPE_WINDOW);

  G_OBJECT_CLASS (ns_window_parent_class)->dispose (object);
}

static void
ns_window_finalize (GObject *object)
{
  NsWindow *self = NS_WINDOW (object);

  g_free (self->layout);
  g_free (self->sample_case);
  g_free (self->load_error);
  g_strfreev (self->open_after_save);

  G_OBJECT_CLASS (ns_window_parent_class)->finalize (object);
}

static void
ns_window_get_property (GObject *object, guint prop_id, GValue *value, GParamSpec *pspec)
{
  NsWindow *self = NS_WINDOW (object);

  switch (prop_id)
    {
    case PROP_LAYOUT:
      g_value_set_string (value, self->layout);
      break;
    case PROP_MODALITY:
      /* Property actions need a string even without a case. */
      g_value_set_string (value, self->viewer != NULL && ns_viewer_get_modality (self->viewer)
                                   ? ns_viewer_get_modality (self->viewer) : "");
      break;
    case PROP_SHOW_LABELS:
      g_value_set_boolean (value, self->viewer != NULL
                                    && ns_viewer_get_show_labels (self->viewer));
      break;
    case PROP_SHOW_CROSSHAIR:
      g_value_set_boolean (value, self->viewer != NULL
                                    && ns_viewer_get_show_crosshair (self->viewer));
      break;
    case PROP_NEUROLOGICAL:
      g_value_set_boolean (value, self->viewer != NULL
                                    && ns_viewer_get_convention (self->viewer)
                                         == NS_CONVENTION_NEUROLOGICAL);
      break;
    case PROP_OVERLAY_MODE:
      g_value_set_string (value, overlay_mode_names[self->viewer != NULL
                                                    ? ns_viewer_get_overlay_mode (self->viewer)
                                                    : NS_OVERLAY_FILL]);
      break;
    case PROP_SHOW_HEAT:
      g_value_set_boolean (value, self->viewer != NULL
                                    && ns_viewer_get_show_heat (self->viewer));
      break;
    case PROP_TOOL:
      g_value_set_string (value, self->editor != NULL
                                   ? ns_tool_to_string (ns_editor_get_tool (self->editor))
                                   : "navigate");
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
ns_window_set_property (GObject *object, guint prop_id, const GValue *value,
                        GParamSpec *pspec)
{
  NsWindow *self = NS_WINDOW (object);

  switch (prop_id)
    {
    case PROP_LAYOUT:
      ns_window_set_layout (self, g_value_get_string (value));
      break;
    case PROP_MODALITY:
      ns_viewer_set_modality (self->viewer, g_value_get_string (value));
      break;
    case PROP_SHOW_LABELS:
      ns_viewer_set_show_labels (self->viewer, g_value_get_boolean (value));
      break;
    case PROP_SHOW_CROSSHAIR:
      ns_viewer_set_show_crosshair (self->viewer, g_value_get_boolean (value));
      break;
    case PROP_NEUROLOGICAL:
      ns_viewer_set_convention (self->viewer, g_value_get_boolean (value)
                                                ? NS_CONVENTION_NEUROLOGICAL
                                                : NS_CONVENTION_RADIOLOGICAL);
      break;
    case PROP_TOOL:
      {
        NsTool tool;
        if (ns_tool_from_string (g_value_get_string (value), &tool))
          ns_editor_set_tool (self->editor, tool);
      }
      break;
    case PROP_SHOW_HEAT:
      ns_viewer_set_show_heat (self->viewer, g_value_get_boolean (value));
      /* the overlay shows the last run's uncertainty: say why nothing appears */
      if (ns_viewer_get_show_heat (self->viewer) && ns_viewer_has_case (self->viewer)
          && ns_viewer_get_heat (self->viewer) == NULL)
        gtk_label_set_text (self->message_label,
                            "No uncertainty yet: Segmentation > Run Model computes it");
      break;
    case PROP_OVERLAY_MODE:
      for (guint m = NS_OVERLAY_FILL; m <= NS_OVERLAY_FILL_AND_OUTLINE; m++)
        if (g_strcmp0 (g_value_get_string (value), overlay_mode_names[m]) == 0)
          ns_viewer_set_overlay_mode (self->viewer, m);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
ns_window_class_init (NsWindowClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->dispose = ns_window_dispose;
  object_class->finalize = ns_window_finalize;
  object_class->get_property = ns_window_get_property;
  object_class->set_property = ns_window_set_property;

  properties[PROP_LAYOUT] =
    g_param_spec_string ("layout", NULL, NULL, "grid",
                         G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  properties[PROP_MODALITY] =
    g_param_spec_string ("modality", NULL, NULL, "",
                         G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  properties[PROP_SHOW_LABELS] =
    g_param_spec_boolean ("show-labels", NULL, NULL, TRUE,
                          G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  properties[PROP_SHOW_CROSSHAIR] =
    g_param_spec_boolean ("show-crosshair", NULL, NULL, TRUE,
                          G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  properties[PROP_NEUROLOGICAL] =
    g_param_spec_boolean ("neurological", NULL, NULL, FALSE,
                          G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  properties[PROP_OVERLAY_MODE] =
    g_param_spec_string ("overlay-mode", NULL, NULL, "fill",
                         G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  properties[PROP_SHOW_HEAT] =
    g_param_spec_boolean ("show-heat", NULL, NULL, FALSE,
                          G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  properties[PROP_TOOL] =
    g_param_spec_string ("tool", NULL, NULL, "navigate",
                         G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  g_object_class_install_properties (object_class, N_PROPS, properties);
  GTK_WINDOW_CLASS (klass)->close_request = ns_window_close_request;

  signals[LOAD_FINISHED] =
    g_signal_new ("load-finished", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0,
                  NULL, NULL, NULL, G_TYPE_NONE, 1, G_TYPE_BOOLEAN);

  g_type_ensure (NS_TYPE_VIEWER);
  g_type_ensure (NS_TYPE_SLICE_VIEW);
  g_type_ensure (NS_TYPE_LAYER_PANEL);
  g_type_ensure (NS_TYPE_INFO_PANE);

  ns_ui_ensure_resources ();
  gtk_widget_class_set_template_from_resource (widget_class,
                                               "/org/neuroseg/Neuroseg/ui/ns-window.ui");
  gtk_widget_class_bind_template_child (widget_class, NsWindow, viewer);
  gtk_widget_class_bind_template_child (widget_class, NsWindow, recent_menu);
  gtk_widget_class_bind_template_child (widget_class, NsWindow, modality_menu);
  gtk_widget_class_bind_template_child (widget_class, NsWindow, stack);
  gtk_widget_class_bind_template_child (widget_class, NsWindow, view_grid);
  gtk_widget_class_bind_template_child (widget_class, NsWindow, axial_view);
  gtk_widget_class_bind_template_child (widget_class, NsWindow, sagittal_view);
  gtk_widget_class_bind_template_child (widget_class, NsWindow, coronal_view);
  gtk_widget_class_bind_template_child (widget_class, NsWindow, sidebar);
  gtk_widget_class_bind_template_child (widget_class, NsWindow, sidebar_separator);
  gtk_widget_class_bind_template_child (widget_class, NsWindow, layer_panel);
  gtk_widget_class_bind_template_child (widget_class, NsWindow, info_pane);
  gtk_widget_class_bind_template_child (widget_class, NsWindow, voxel_label);
  gtk_widget_class_bind_template_child (widget_class, NsWindow, position_label);
  gtk_widget_class_bind_template_child (widget_class, NsWindow, intensity_label);
  gtk_widget_class_bind_template_child (widget_class, NsWindow, label_label);
  gtk_widget_class_bind_template_child (widget_class, NsWindow, message_label);
  gtk_widget_class_bind_template_child (widget_class, NsWindow, progress_bar);

  gtk_widget_class_install_action (widget_class, "win.open-case", NULL, open_case_action);
  gtk_widget_class_install_action (widget_class, "win.open-files", NULL, open_files_action);
  gtk_widget_class_install_action (widget_class, "win.open-recent", "as", open_recent_action);
  gtk_widget_class_install_action (widget_class, "win.open-sample", NULL, open_sample_action);
  gtk_widget_class_install_action (widget_class, "win.close", NULL, close_action);
  gtk_widget_class_install_action (widget_class, "win.copy-position", NULL,
                                   copy_position_action);
  gtk_widget_class_install_action (widget_class, "win.mouse-help", NULL, mouse_help_action);
  gtk_widget_class_install_action (widget_class, "win.save-mask", NULL, edit_simple_action);
  gtk_widget_class_install_action (widget_class, "win.save-mask-as", NULL, edit_simple_action);
  gtk_widget_class_install_action (widget_class, "win.undo", NULL, edit_simple_action);
  gtk_widget_class_install_action (widget_class, "win.redo", NULL, edit_simple_action);
  gtk_widget_class_install_property_action (widget_class, "edit.tool", "tool");
  gtk_widget_class_install_action (widget_class, "edit.class", "i", edit_simple_action);
  gtk_widget_class_install_action (widget_class, "edit.radius-up", NULL, edit_simple_action);
  gtk_widget_class_install_action (widget_class, "edit.radius-down", NULL, edit_simple_action);
  gtk_widget_class_install_action (widget_class, "edit.interpolate", NULL, edit_simple_action);
  gtk_widget_class_install_action (widget_class, "edit.remove-islands", NULL,
                                   remove_islands_action);
  gtk_widget_class_install_action (widget_class, "edit.add-label", NULL, add_label_action);
  gtk_widget_class_install_action (widget_class, "edit.history", NULL, history_action);
  gtk_widget_class_install_action (widget_class, "edit.history-goto", "u",
                                   history_goto_action);

  gtk_widget_class_install_property_action (widget_class, "view.layout", "layout");
  gtk_widget_class_install_action (widget_class, "view.reset", NULL, reset_view_action);
  gtk_widget_class_install_action (widget_class, "view.zoom-in", NULL, zoom_action);
  gtk_widget_class_install_action (widget_class, "view.zoom-out", NULL, zoom_action);
  gtk_widget_class_install_property_action (widget_class, "view.modality", "modality");
  gtk_widget_class_install_action (widget_class, "view.window-preset", "s",
                                   window_preset_action);
  gtk_widget_class_install_property_action (widget_class, "view.show-labels", "show-labels");
  gtk_widget_class_install_property_action (widget_class, "view.overlay-mode",
                                            "overlay-mode");
  gtk_widget_class_install_property_action (widget_class, "view.show-crosshair",
                                            "show-crosshair");
  gtk_widget_class_install_property_action (widget_class, "view.neurological",
                                            "neurological");
  gtk_widget_class_install_property_action (widget_class, "view.show-heat", "show-heat");

  gtk_widget_class_install_action (widget_class, "seg.run-model", NULL, ai_action);
  gtk_widget_class_install_action (widget_class, "seg.mark-corrected", NULL, ai_action);
  gtk_widget_class_install_action (widget_class, "seg.choose-model", NULL, ai_action);
  gtk_widget_class_install_action (widget_class, "seg.show-uncertainty", NULL, ai_action);
  gtk_widget_class_install_action (widget_class, "train.queue", NULL, ai_action);
  gtk_widget_class_install_action (widget_class, "train.fine-tune", NULL, ai_action);
  gtk_widget_class_install_action (widget_class, "train.models", NULL, ai_action);
}

static gboolean
drop_cb (NsWindow *self, const GValue *value, double x, double y, GtkDropTarget *target)
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

static void
editor_tool_notify_cb (NsWindow *self)
{
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_TOOL]);
}

/* The one-key shortcuts of the editor.  Bubble phase: a text field with the focus (the
 * radius spin button) gets the key first. */
static GtkEventController *
key_shortcuts (void)
{
  static const struct { guint keyval; const char *action; const char *args; } keys[] = {
    { GDK_KEY_1, "edit.class", "0" }, { GDK_KEY_2, "edit.class", "1" },
    { GDK_KEY_3, "edit.class", "2" }, { GDK_KEY_4, "edit.class", "3" },
    { GDK_KEY_KP_1, "edit.class", "0" }, { GDK_KEY_KP_2, "edit.class", "1" },
    { GDK_KEY_KP_3, "edit.class", "2" }, { GDK_KEY_KP_4, "edit.class", "3" },
    { GDK_KEY_b, "edit.tool", "'brush'" }, { GDK_KEY_e, "edit.tool", "'eraser'" },
    { GDK_KEY_f, "edit.tool", "'fill'" }, { GDK_KEY_n, "edit.tool", "'navigate'" },
    { GDK_KEY_bracketleft, "edit.radius-down", NULL },
    { GDK_KEY_bracketright, "edit.radius-up", NULL },
  };
  GtkEventController *controller = gtk_shortcut_controller_new ();

  gtk_event_controller_set_propagation_phase (controller, GTK_PHASE_BUBBLE);
  for (guint i = 0; i < G_N_ELEMENTS (keys); i++)
    {
      GtkShortcut *shortcut =
        gtk_shortcut_new (gtk_keyval_trigger_new (keys[i].keyval, 0),
                          gtk_named_action_new (keys[i].action));

      if (keys[i].args != NULL)
        gtk_shortcut_set_arguments (shortcut, g_variant_new_parsed (keys[i].args));
      gtk_shortcut_controller_add_shortcut (GTK_SHORTCUT_CONTROLLER (controller), shortcut);
    }
  gtk_event_controller_set_name (controller, "ns-edit-keys");
  return controller;
}

static void
ns_window_init (NsWindow *self)
{
  GtkDropTarget *drop;

  /* 2 x 2 as ITK-SNAP starts: the largest planes for a landscape screen. */
  self->layout = g_strdup ("grid");
  gtk_widget_init_template (GTK_WIDGET (self));

  gtk_widget_action_set_enabled (GTK_WIDGET (self), "win.open-sample", FALSE);

  g_signal_connect_object (self->viewer, "case-changed", G_CALLBACK (viewer_case_changed_cb),
                           self, G_CONNECT_SWAPPED);
  g_signal_connect_object (self->viewer, "pointer-changed", G_CALLBACK (update_status), self,
                           G_CONNECT_SWAPPED);
  g_signal_connect_object (self->viewer, "notify", G_CALLBACK (viewer_notify_cb), self,
                           G_CONNECT_SWAPPED);

  drop = gtk_drop_target_new (GDK_TYPE_FILE_LIST, GDK_ACTION_COPY);
  g_signal_connect_swapped (drop, "drop", G_CALLBACK (drop_cb), self);
  gtk_widget_add_controller (GTK_WIDGET (self), GTK_EVENT_CONTROLLER (drop));

  self->editor = ns_editor_new (self->viewer);
  self->ai = ns_ai_controller_new (GTK_WINDOW (self), self->viewer, self->editor, ai_open_case);
  ns_slice_view_set_editor (self->axial_view, self->editor);
  ns_slice_view_set_editor (self->sagittal_view, self->editor);
  ns_slice_view_set_editor (self->coronal_view, self->editor);
  self->tool_panel = ns_tool_panel_new (self->editor);
  gtk_box_prepend (self->sidebar, gtk_separator_new (GTK_ORIENTATION_HORIZONTAL));
  gtk_box_prepend (self->sidebar, self->tool_panel);
  gtk_box_append (self->sidebar, gtk_separator_new (GTK_ORIENTATION_HORIZONTAL));
  gtk_box_append (self->sidebar, ns_ai_controller_create_panel (self->ai));
  g_signal_connect_object (self->editor, "history-changed", G_CALLBACK (update_edit_actions),
                           self, G_CONNECT_SWAPPED);
  g_signal_connect_object (self->editor, "doc-changed", G_CALLBACK (update_edit_actions), self,
                           G_CONNECT_SWAPPED);
  g_signal_connect_object (self->editor, "notify::tool", G_CALLBACK (editor_tool_notify_cb),
                           self, G_CONNECT_SWAPPED);
  gtk_widget_add_controller (GTK_WIDGET (self), key_shortcuts ());

  apply_layout (self);
  viewer_case_changed_cb (self, self->viewer);
  rebuild_recent_menu (self);

  /* The property actions read their state while the template was being built, before
   * self->viewer was set: give them the real values. */
  g_object_freeze_notify (G_OBJECT (self));
  for (guint p = PROP_MODALITY; p < N_PROPS; p++)
    g_object_notify_by_pspec (G_OBJECT (self), properties[p]);
  g_object_thaw_notify (G_OBJECT (self));
}

NsWindow *
ns_window_new (GtkApplication *application)
{
  return g_object_new (NS_TYPE_WINDOW, "application", application, NULL);
}

NsViewer *
ns_window_get_viewer (NsWindow *self)
{
  g_return_val_if_fail (NS_IS_WINDOW (self), NULL);
  return self->viewer;
}

NsSliceView *
ns_window_get_slice_view (NsWindow *self, NsPlane plane)
{
  g_return_val_if_fail (NS_IS_WINDOW (self), NULL);

  switch (plane)
    {
    case NS_PLANE_AXIAL:
      return self->axial_view;
    case NS_PLANE_SAGITTAL:
      return self->sagittal_view;
    case NS_PLANE_CORONAL:
      return self->coronal_view;
    case NS_N_PLANES:
    default:
      g_return_val_if_reached (NULL);
    }
}

NsLayerPanel *
ns_window_get_layer_panel (NsWindow *self)
{
  g_return_val_if_fail (NS_IS_WINDOW (self), NULL);
  return self->layer_panel;
}

NsInfoPane *
ns_window_get_info_pane (NsWindow *self)
{
  g_return_val_if_fail (NS_IS_WINDOW (self), NULL);
  return self->info_pane;
}
