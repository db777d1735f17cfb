/* SPDX-License-Identifier: MIT
 *
 * ns-window-actions.c: the actions of the workbench window, one callback each, installed
 * on the class so that menus, buttons and shortcuts refer to them by name (ns-window.h
 * lists them), and the rule of when each is enabled (_ns_window_update_actions).  View
 * state shown as check or radio items (layout, modality, labels, ...) are property
 * actions of the window's properties (ns-window.c).  The Ctrl shortcuts are application
 * accelerators (ns-application.c) so that the menus show them; the one-key shortcuts of
 * the editor sit in a bubble-phase controller, so that a focused text field gets its keys
 * first.
 */
#define G_LOG_DOMAIN "ns-window"

#include "ns-window-private.h"

#include "ns-add-label-dialog.h"
#include "ns-corrections.h"
#include "ns-islands-dialog.h"

/* ---- File ------------------------------------------------------------------------------- */

static void
open_case_action (GtkWidget *widget, const char *action_name, GVariant *parameter)
{
  _ns_window_run_open_chooser (NS_WINDOW (widget), TRUE);
}

static void
open_files_action (GtkWidget *widget, const char *action_name, GVariant *parameter)
{
  _ns_window_run_open_chooser (NS_WINDOW (widget), FALSE);
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
save_mask_action (GtkWidget *widget, const char *action_name, GVariant *parameter)
{
  _ns_window_save_mask_async (NS_WINDOW (widget), NS_WINDOW_SAVE, NULL, NULL, NULL);
}

static void
save_mask_as_action (GtkWidget *widget, const char *action_name, GVariant *parameter)
{
  _ns_window_save_mask_async (NS_WINDOW (widget), NS_WINDOW_SAVE_AS, NULL, NULL, NULL);
}

static void
export_dicom_seg_action (GtkWidget *widget, const char *action_name, GVariant *parameter)
{
  _ns_window_run_export_dicom_seg (NS_WINDOW (widget));
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

/* ---- Edit ------------------------------------------------------------------------------- */

static void
undo_action (GtkWidget *widget, const char *action_name, GVariant *parameter)
{
  ns_editor_undo (NS_WINDOW (widget)->editor, 1);
}

static void
redo_action (GtkWidget *widget, const char *action_name, GVariant *parameter)
{
  ns_editor_redo (NS_WINDOW (widget)->editor, 1);
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
class_action (GtkWidget *widget, const char *action_name, GVariant *parameter)
{
  ns_editor_select_class (NS_WINDOW (widget)->editor, (guint) g_variant_get_int32 (parameter));
}

static void
radius_up_action (GtkWidget *widget, const char *action_name, GVariant *parameter)
{
  ns_editor_step_radius (NS_WINDOW (widget)->editor, 1);
}

static void
radius_down_action (GtkWidget *widget, const char *action_name, GVariant *parameter)
{
  ns_editor_step_radius (NS_WINDOW (widget)->editor, -1);
}

static void
interpolate_action (GtkWidget *widget, const char *action_name, GVariant *parameter)
{
  NsWindow *self = NS_WINDOW (widget);
  const NsPlaneGeometry *geom = ns_slice_view_get_geometry (_ns_window_active_view (self));
  g_autoptr (GError) error = NULL;

  if (geom == NULL)
    return;
  if (ns_editor_interpolate (self->editor, geom->axis_n, &error))
    _ns_window_set_message (self, "Interpolated between slices");
  else if (error != NULL)
    _ns_window_show_error (self, "Could not interpolate", error->message);
}

static void
islands_response_cb (NsIslandsDialog *dialog, int response, NsWindow *self)
{
  double ml = ns_islands_dialog_get_min_ml (dialog);
  g_autoptr (GError) error = NULL;

  _ns_window_dismiss (dialog);
  if (response == GTK_RESPONSE_OK && !ns_editor_remove_islands (self->editor, ml, &error)
      && error != NULL)
    _ns_window_show_error (self, "Could not remove islands", error->message);
}

static void
remove_islands_action (GtkWidget *widget, const char *action_name, GVariant *parameter)
{
  NsWindow *self = NS_WINDOW (widget);
  guint8 value = ns_editor_get_label (self->editor);
  const NsLabelEntry *entry =
    ns_label_table_lookup (ns_mask_doc_get_labels (ns_editor_get_doc (self->editor)), value);
  NsIslandsDialog *dialog =
    ns_islands_dialog_new (GTK_WINDOW (self), value, entry != NULL ? entry->name : NULL);

  g_signal_connect (dialog, "response", G_CALLBACK (islands_response_cb), self);
  _ns_window_present_question (self, GTK_WIDGET (dialog));
}

static void
add_label_response_cb (NsAddLabelDialog *dialog, int response, NsWindow *self)
{
  g_autofree char *name = g_strdup (ns_add_label_dialog_get_name (dialog));
  guint8 value = ns_add_label_dialog_get_value (dialog);
  guint8 rgb[3];

  ns_add_label_dialog_get_rgb (dialog, rgb);
  _ns_window_dismiss (dialog);
  if (response != GTK_RESPONSE_OK)
    return;
  ns_editor_add_label (self->editor, value, name, rgb);
  ns_editor_set_label (self->editor, value);
}

static void
add_label_action (GtkWidget *widget, const char *action_name, GVariant *parameter)
{
  NsWindow *self = NS_WINDOW (widget);
  NsLabelTable *table = ns_mask_doc_get_labels (ns_editor_get_doc (self->editor));
  NsAddLabelDialog *dialog =
    ns_add_label_dialog_new (GTK_WINDOW (self), (guint8) ns_label_table_next_free (table));

  g_signal_connect (dialog, "response", G_CALLBACK (add_label_response_cb), self);
  _ns_window_present_question (self, GTK_WIDGET (dialog));
}

static void
history_action (GtkWidget *widget, const char *action_name, GVariant *parameter)
{
  NsWindow *self = NS_WINDOW (widget);

  if (self->history_dialog == NULL)
    {
      self->history_dialog = ns_history_dialog_new (GTK_WINDOW (self), self->editor);
      g_object_add_weak_pointer (G_OBJECT (self->history_dialog),
                                 (gpointer *) &self->history_dialog);
    }
  gtk_window_present (GTK_WINDOW (self->history_dialog));
}

static void
history_goto_action (GtkWidget *widget, const char *action_name, GVariant *parameter)
{
  ns_editor_history_goto (NS_WINDOW (widget)->editor, g_variant_get_uint32 (parameter));
}

/* ---- View ------------------------------------------------------------------------------- */

static void
reset_view_action (GtkWidget *widget, const char *action_name, GVariant *parameter)
{
  NsSliceView *views[NS_WINDOW_N_VIEWS];
  guint n = _ns_window_get_views (NS_WINDOW (widget), views);

  for (guint v = 0; v < n; v++)
    ns_slice_view_reset (views[v]);
}

static void
zoom_all (NsWindow *self, double factor)
{
  /* the compare views are linked: the first one zooms, the others follow it */
  NsSliceView *views[] = { self->axial_view, self->sagittal_view, self->coronal_view,
                           self->compare_views[0] };

  for (guint v = 0; v < G_N_ELEMENTS (views); v++)
    ns_slice_view_set_zoom (views[v], ns_slice_view_get_zoom (views[v]) * factor);
}

static void
zoom_in_action (GtkWidget *widget, const char *action_name, GVariant *parameter)
{
  zoom_all (NS_WINDOW (widget), 1.25);
}

static void
zoom_out_action (GtkWidget *widget, const char *action_name, GVariant *parameter)
{
  zoom_all (NS_WINDOW (widget), 1 / 1.25);
}

static void
window_preset_action (GtkWidget *widget, const char *action_name, GVariant *parameter)
{
  ns_viewer_apply_window_preset (NS_WINDOW (widget)->viewer,
                                 g_variant_get_string (parameter, NULL));
}

/* ---- Segmentation and Training: NsAiController's ---------------------------------------- */

static void
run_model_action (GtkWidget *widget, const char *action_name, GVariant *parameter)
{
  ns_ai_controller_run_model (NS_WINDOW (widget)->ai);
}

static void
mark_corrected_action (GtkWidget *widget, const char *action_name, GVariant *parameter)
{
  ns_ai_controller_mark_corrected (NS_WINDOW (widget)->ai);
}

/* The read-only infobar's Take Over: the case's claim taken, the editor editable. */
static void
take_over_action (GtkWidget *widget, const char *action_name, GVariant *parameter)
{
  ns_ai_controller_take_over (NS_WINDOW (widget)->ai);
}

static void
choose_model_action (GtkWidget *widget, const char *action_name, GVariant *parameter)
{
  ns_ai_controller_choose_model (NS_WINDOW (widget)->ai);
}

static void
show_uncertainty_action (GtkWidget *widget, const char *action_name, GVariant *parameter)
{
  ns_ai_controller_show_uncertainty (NS_WINDOW (widget)->ai);
}

static void
queue_action (GtkWidget *widget, const char *action_name, GVariant *parameter)
{
  ns_ai_controller_show_queue (NS_WINDOW (widget)->ai);
}

static void
fine_tune_action (GtkWidget *widget, const char *action_name, GVariant *parameter)
{
  ns_ai_controller_fine_tune (NS_WINDOW (widget)->ai);
}

static void
models_action (GtkWidget *widget, const char *action_name, GVariant *parameter)
{
  ns_ai_controller_show_models (NS_WINDOW (widget)->ai);
}

static void
corrections_folder_response_cb (GtkNativeDialog *native, int response, NsWindow *self)
{
  g_autoptr (GFile) file = NULL;
  g_autofree char *path = NULL;
  g_autoptr (GError) error = NULL;

  if (response == GTK_RESPONSE_ACCEPT)
    file = gtk_file_chooser_get_file (GTK_FILE_CHOOSER (native));
  g_object_unref (native);
  if (file == NULL || (path = g_file_get_path (file)) == NULL)
    return;
  if (!ns_corrections_set_folder (path, &error))
    {
      _ns_window_show_error (self, "Could not choose the corrections folder", error->message);
      return;
    }
  {
    g_autofree char *message = g_strdup_printf ("Corrections go to %s", path);

    _ns_window_set_message (self, message);
  }
}

/* Training > Corrections Folder…: where Mark Corrected puts masks, chosen once. */
static void
corrections_folder_action (GtkWidget *widget, const char *action_name, GVariant *parameter)
{
  NsWindow *self = NS_WINDOW (widget);
  GtkFileChooserNative *native =
    gtk_file_chooser_native_new ("Corrections Folder", GTK_WINDOW (self),
                                 GTK_FILE_CHOOSER_ACTION_SELECT_FOLDER, "_Choose", "_Cancel");
  g_autofree char *current = ns_corrections_dup_folder ();
  g_autoptr (GFile) folder = g_file_new_for_path (current);

  gtk_native_dialog_set_modal (GTK_NATIVE_DIALOG (native), TRUE);
  if (g_file_query_exists (folder, NULL))
    gtk_file_chooser_set_current_folder (GTK_FILE_CHOOSER (native), folder, NULL);
  g_signal_connect (native, "response", G_CALLBACK (corrections_folder_response_cb), self);
  gtk_native_dialog_show (GTK_NATIVE_DIALOG (native));
}

/* ---- when which is enabled -------------------------------------------------------------- */

void
_ns_window_update_actions (NsWindow *self)
{
  /* need a case */
  static const char *const case_actions[] = {
    "view.reset", "view.zoom-in", "view.zoom-out", "view.window-preset", "win.copy-position",
  };
  /* need a mask being edited */
  static const char *const doc_actions[] = {
    "win.save-mask", "win.save-mask-as", "edit.history", "edit.interpolate",
    "edit.remove-islands", "edit.add-label", "edit.class", "edit.history-goto",
    "seg.run-model", "seg.mark-corrected",
  };
  /* change the mask: off while it is read-only (a colleague holds the case).  Choosing a
   * tool stays on (Navigate is how one looks); the tool panel is insensitive and a stroke
   * is refused by the document. */
  static const char *const edit_actions[] = {
    "edit.interpolate", "edit.remove-islands", "edit.add-label", "edit.history-goto",
    "seg.run-model", "seg.mark-corrected",
  };
  GtkWidget *widget = GTK_WIDGET (self);
  gboolean has_case = ns_viewer_has_case (self->viewer);
  NsMaskDoc *doc = self->editor != NULL ? ns_editor_get_doc (self->editor) : NULL;
  gboolean writable = doc != NULL && ns_mask_doc_get_read_only (doc) == NULL;
  NsHistory *history = writable ? ns_mask_doc_get_history (doc) : NULL;

  for (guint i = 0; i < G_N_ELEMENTS (case_actions); i++)
    gtk_widget_action_set_enabled (widget, case_actions[i], has_case);
  for (guint i = 0; i < G_N_ELEMENTS (doc_actions); i++)
    gtk_widget_action_set_enabled (widget, doc_actions[i], doc != NULL);
  for (guint i = 0; i < G_N_ELEMENTS (edit_actions); i++)
    if (!writable)
      gtk_widget_action_set_enabled (widget, edit_actions[i], FALSE);
  gtk_widget_action_set_enabled (widget, "seg.take-over",
                                 doc != NULL && ns_mask_doc_get_read_only (doc) != NULL);
  gtk_widget_action_set_enabled (widget, "win.undo",
                                 history != NULL && ns_history_n_undo (history) > 0);
  gtk_widget_action_set_enabled (widget, "win.redo",
                                 history != NULL && ns_history_n_redo (history) > 0);
  gtk_widget_action_set_enabled (widget, "win.open-sample", self->sample_case != NULL);
  gtk_widget_action_set_enabled (widget, "win.export-dicom-seg",
                                 doc != NULL && self->case_is_dicom);
}

/* ---- installation ----------------------------------------------------------------------- */

GtkEventController *
_ns_window_key_shortcuts_new (void)
{
  static const struct { guint keyval; const char *action; const char *args; } keys[] = {
    { GDK_KEY_1, "edit.class", "0" }, { GDK_KEY_2, "edit.class", "1" },
    { GDK_KEY_3, "edit.class", "2" }, { GDK_KEY_4, "edit.class", "3" },
    { GDK_KEY_KP_1, "edit.class", "0" }, { GDK_KEY_KP_2, "edit.class", "1" },
    { GDK_KEY_KP_3, "edit.class", "2" }, { GDK_KEY_KP_4, "edit.class", "3" },
    { GDK_KEY_b, "edit.tool", "'brush'" }, { GDK_KEY_e, "edit.tool", "'eraser'" },
    { GDK_KEY_f, "edit.tool", "'fill'" }, { GDK_KEY_n, "edit.tool", "'navigate'" },
    { GDK_KEY_l, "edit.tool", "'lasso'" },
    { GDK_KEY_r, "edit.tool", "'refine'" },
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

void
_ns_window_class_init_actions (GtkWidgetClass *widget_class)
{
  static const struct
  {
    const char *name;
    const char *parameter_type;
    GtkWidgetActionActivateFunc activate;
  } actions[] = {
    { "win.open-case", NULL, open_case_action },
    { "win.open-files", NULL, open_files_action },
    { "win.open-recent", "as", open_recent_action },
    { "win.open-sample", NULL, open_sample_action },
    { "win.close", NULL, close_action },
    { "win.copy-position", NULL, copy_position_action },
    { "win.mouse-help", NULL, mouse_help_action },
    { "win.save-mask", NULL, save_mask_action },
    { "win.save-mask-as", NULL, save_mask_as_action },
    { "win.export-dicom-seg", NULL, export_dicom_seg_action },
    { "win.undo", NULL, undo_action },
    { "win.redo", NULL, redo_action },
    { "edit.class", "i", class_action },
    { "edit.radius-up", NULL, radius_up_action },
    { "edit.radius-down", NULL, radius_down_action },
    { "edit.interpolate", NULL, interpolate_action },
    { "edit.remove-islands", NULL, remove_islands_action },
    { "edit.add-label", NULL, add_label_action },
    { "edit.history", NULL, history_action },
    { "edit.history-goto", "u", history_goto_action },
    { "view.reset", NULL, reset_view_action },
    { "view.zoom-in", NULL, zoom_in_action },
    { "view.zoom-out", NULL, zoom_out_action },
    { "view.window-preset", "s", window_preset_action },
    { "seg.run-model", NULL, run_model_action },
    { "seg.mark-corrected", NULL, mark_corrected_action },
    { "seg.take-over", NULL, take_over_action },
    { "seg.choose-model", NULL, choose_model_action },
    { "seg.show-uncertainty", NULL, show_uncertainty_action },
    { "train.queue", NULL, queue_action },
    { "train.fine-tune", NULL, fine_tune_action },
    { "train.models", NULL, models_action },
    { "train.corrections-folder", NULL, corrections_folder_action },
  };
  /* action name -> the window property it shows and sets */
  static const struct { const char *name; const char *property; } property_actions[] = {
    { "edit.tool", "tool" },
    { "view.layout", "layout" },
    { "view.compare-plane", "compare-plane" },
    { "view.modality", "modality" },
    { "view.show-labels", "show-labels" },
    { "view.overlay-mode", "overlay-mode" },
    { "view.show-crosshair", "show-crosshair" },
    { "view.neurological", "neurological" },
    { "view.show-heat", "show-heat" },
  };

  for (guint i = 0; i < G_N_ELEMENTS (actions); i++)
    gtk_widget_class_install_action (widget_class, actions[i].name, actions[i].parameter_type,
                                     actions[i].activate);
  for (guint i = 0; i < G_N_ELEMENTS (property_actions); i++)
    gtk_widget_class_install_property_action (widget_class, property_actions[i].name,
                                              property_actions[i].property);
}
