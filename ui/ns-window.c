/* SPDX-License-Identifier: MIT
 *
 * ns-window.c: the workbench window (see ns-window.h): the GObject and its properties,
 * the layout of the planes, the status bar, and opening a loaded case's mask with the
 * offer to recover unsaved edits.  Opening a case is in ns-window-open.c, the actions in
 * ns-window-actions.c, saving in ns-window-save.c, the dialogs each in a file of its own
 * (ns-window-private.h lists them).
 *
 * The window owns an NsViewer (declared in its template) that the three slice views, the
 * layer list and the info pane observe; the window itself only wires actions to the
 * viewer, switches layouts, keeps the status bar and runs loads.  View state that menus
 * show as check or radio items (layout, modality, labels, overlay mode, crosshair,
 * convention) are properties of the window installed as property actions, so that the
 * menu, the layer list's buttons and the shortcuts share one source of truth.
 *
 * Editing: the window owns an NsEditor (the mask of the case and the tool settings) and
 * hands it to the slice views and the tool palette.  Each question dialog (the first save
 * over the case's own segmentation, a file changed on disk, unsaved edits at close or
 * before opening another case, edits to recover after a crash) is reachable through
 * ns_window_get_question() so that tests answer it as a person would.
 */
#define G_LOG_DOMAIN "ns-window"

#include "ns-window-private.h"

#include "ns-heat-legend.h"
#include "ns-image-overlay-panel.h"
#include "ns-save-changes-dialog.h"
#include "ns-scroll-guard.h"
#include "ns-ui.h"
#include "ns-view3d.h"

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
  PROP_COMPARE_PLANE,
  N_PROPS
};

enum {
  LOAD_FINISHED,
  N_SIGNALS
};

static GParamSpec *properties[N_PROPS];
static guint signals[N_SIGNALS];

static const char *const overlay_mode_names[] = { NULL, "fill", "outline", "both" };

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

const char *
ns_window_get_message (NsWindow *self)
{
  g_return_val_if_fail (NS_IS_WINDOW (self), NULL);
  return gtk_label_get_text (self->message_label);
}

NsJobStatus *
ns_window_get_job_status (NsWindow *self)
{
  g_return_val_if_fail (NS_IS_WINDOW (self), NULL);
  return self->job_status;
}

void
_ns_window_set_message (NsWindow *self, const char *message)
{
  gtk_label_set_text (self->message_label, message != NULL ? message : "");
}

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

/* ---- layout (the grid's layouts are in ns-window-layout.c) --------------------------------- */

void
_ns_window_notify_layout (NsWindow *self)
{
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_LAYOUT]);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_COMPARE_PLANE]);
}

/* ---- accessors ------------------------------------------------------------------------------ */

GtkWidget *
ns_window_get_question (NsWindow *self)
{
  g_return_val_if_fail (NS_IS_WINDOW (self), NULL);
  return self->question;
}

GtkListBox *
ns_window_get_history_list (NsWindow *self)
{
  g_return_val_if_fail (NS_IS_WINDOW (self), NULL);
  return self->history_dialog != NULL ? ns_history_dialog_get_list (self->history_dialog)
                                      : NULL;
}

NsRefine *
ns_window_get_refine (NsWindow *self)
{
  g_return_val_if_fail (NS_IS_WINDOW (self), NULL);
  return self->refine;
}

NsEditor *
ns_window_get_editor (NsWindow *self)
{
  g_return_val_if_fail (NS_IS_WINDOW (self), NULL);
  return self->editor;
}

NsAiController *
ns_window_get_ai_controller (NsWindow *self)
{
  g_return_val_if_fail (NS_IS_WINDOW (self), NULL);
  return self->ai;
}

NsSliceView *
_ns_window_active_view (NsWindow *self)
{
  GtkWidget *focus = gtk_window_get_focus (GTK_WINDOW (self));

  for (; focus != NULL; focus = gtk_widget_get_parent (focus))
    if (NS_IS_SLICE_VIEW (focus))
      return NS_SLICE_VIEW (focus);
  return self->axial_view;
}

/* ---- the mask and its recovery ------------------------------------------------------------- */

static void
editor_changed_cb (NsWindow *self)
{
  _ns_window_update_actions (self);
  update_title (self);
  /* a save (history-changed) may have made the journal whole again */
  _ns_window_update_protection (self);
}

static void
editor_doc_changed_cb (NsWindow *self)
{
  _ns_window_watch_journal (self);
  editor_changed_cb (self);
}

static void
recovery_response_cb (GtkDialog *dialog, int response, NsWindow *self)
{
  g_autoptr (GError) error = NULL;
  guint n = 0;

  _ns_window_dismiss (dialog);
  if (response == NS_WINDOW_RESPONSE_RECOVER)
    {
      /* The dialog said so when the saved mask is not the one the edits were made on. */
      if (!ns_editor_recover (self->editor, TRUE, &n, &error))
        _ns_window_show_error (self, "Could not recover the unsaved edits", error->message);
      else
        {
          g_autofree char *message = g_strdup_printf ("Recovered %u edits", n);
          _ns_window_set_message (self, message);
        }
    }
  else if (!ns_editor_discard_recovery (self->editor, &error) && error != NULL)
    _ns_window_show_error (self, "Could not discard the unsaved edits", error->message);
  editor_changed_cb (self);
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
      _ns_window_set_message (self, "Editing is off: the mask could not be opened");
      _ns_window_show_error (self, "Could not open the mask for editing", error->message);
      editor_changed_cb (self);
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

      self->recovery = _ns_window_ask (self, "Recover unsaved edits?", secondary,
                                       G_CALLBACK (recovery_response_cb),
                                       "_Discard", NS_WINDOW_RESPONSE_DISCARD,
                                       "_Recover", NS_WINDOW_RESPONSE_RECOVER, NULL);
    }
  editor_changed_cb (self);
}

void
_ns_window_case_loaded (NsWindow *self, gboolean ok)
{
  if (ok)
    {
      _ns_window_show_case_notes (self);
      open_mask (self);
    }
  g_signal_emit (self, signals[LOAD_FINISHED], 0, ok);
}

static void
close_after_save_changes_cb (GObject *source, GAsyncResult *result, gpointer user_data)
{
  NsWindow *self = NS_WINDOW (source);

  if (ns_save_changes_dialog_run_finish (result, NULL) == 0)
    return;   /* cancelled, or the save failed (the user was told) */
  self->close_confirmed = TRUE;
  gtk_window_close (GTK_WINDOW (self));
}

static gboolean
ns_window_close_request (GtkWindow *window)
{
  NsWindow *self = NS_WINDOW (window);

  /* a Refine preview becomes an edit first: the question below then covers it */
  if (!self->close_confirmed && self->refine != NULL)
    ns_refine_settle (self->refine);
  if (!self->close_confirmed && self->editor != NULL && ns_editor_is_modified (self->editor))
    {
      g_autofree char *primary =
        g_strdup_printf ("Save the edits to the mask of %s?", ns_viewer_get_title (self->viewer));

      if (self->question == NULL)
        ns_save_changes_dialog_run_async (self, primary,
                                          "Unsaved edits are lost if you close without saving.",
                                          NULL, close_after_save_changes_cb, NULL);
      return TRUE;
    }
  return GTK_WINDOW_CLASS (ns_window_parent_class)->close_request (window);
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

/* ---- viewer signals ------------------------------------------------------------------------ */

static void
viewer_case_changed_cb (NsWindow *self, NsViewer *viewer)
{
  gboolean has_case = ns_viewer_has_case (viewer);

  self->case_is_dicom = _ns_window_case_is_dicom (ns_viewer_get_case (viewer));
  gtk_stack_set_visible_child_name (self->stack, has_case ? "views" : "empty");
  gtk_widget_set_sensitive (GTK_WIDGET (self->layer_panel), has_case);
  rebuild_modality_menu (self);
  _ns_window_layout_case_changed (self);
  _ns_window_update_actions (self);
  update_title (self);
  update_status (self);
}

static void
viewer_notify_cb (NsWindow *self, GParamSpec *pspec, NsViewer *viewer)
{
  /* Re-emit the viewer's changes as the window's, for the property actions. */
  static const struct { const char *viewer; int window; } map[] = {
    { "modality", PROP_MODALITY },
    { "show-labels", PROP_SHOW_LABELS },
    { "show-crosshair", PROP_SHOW_CROSSHAIR },
    { "neurological", PROP_NEUROLOGICAL },
    { "overlay-mode", PROP_OVERLAY_MODE },
    { "show-heat", PROP_SHOW_HEAT },
  };

  for (guint i = 0; i < G_N_ELEMENTS (map); i++)
    if (g_str_equal (pspec->name, map[i].viewer))
      g_object_notify_by_pspec (G_OBJECT (self), properties[map[i].window]);
}

static void
ai_open_case (GtkWindow *window, const char *path)
{
  const char *paths[] = { path, NULL };

  ns_window_open (NS_WINDOW (window), paths);
}

static void
editor_tool_notify_cb (NsWindow *self)
{
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_TOOL]);
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
  if (self->refine != NULL)
    {
      ns_slice_view_set_refine (self->axial_view, NULL);
      ns_slice_view_set_refine (self->sagittal_view, NULL);
      ns_slice_view_set_refine (self->coronal_view, NULL);
      ns_refine_discard (self->refine);
    }
  g_clear_object (&self->refine);
  if (self->editor != NULL)
    {
      g_signal_handlers_disconnect_by_data (self->editor, self);
      ns_slice_view_set_editor (self->axial_view, NULL);
      ns_slice_view_set_editor (self->sagittal_view, NULL);
      ns_slice_view_set_editor (self->coronal_view, NULL);
      for (guint v = 0; v < NS_WINDOW_N_COMPARE; v++)
        if (self->compare_views[v] != NULL)
          ns_slice_view_set_editor (self->compare_views[v], NULL);
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
    case PROP_COMPARE_PLANE:
      g_value_set_string (value, ns_plane_to_string (self->compare_plane));
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
      _ns_window_choose_layout (self, g_value_get_string (value));
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
    case PROP_COMPARE_PLANE:
      {
        NsPlane plane;
        if (ns_plane_from_string (g_value_get_string (value), &plane))
          _ns_window_choose_compare_plane (self, plane);
      }
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
        _ns_window_set_message (self, "No uncertainty yet: Segmentation > Run Model computes it");
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
  /* the plane of the side-by-side layouts: "axial", "sagittal", "coronal" */
  properties[PROP_COMPARE_PLANE] =
    g_param_spec_string ("compare-plane", NULL, NULL, "axial",
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
  g_type_ensure (NS_TYPE_JOB_STATUS);
  g_type_ensure (NS_TYPE_HEAT_LEGEND);

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
  gtk_widget_class_bind_template_child (widget_class, NsWindow, sidebar_scroller);
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
  gtk_widget_class_bind_template_child (widget_class, NsWindow, job_status);
  gtk_widget_class_bind_template_child (widget_class, NsWindow, status_heat_legend);
  gtk_widget_class_bind_template_child (widget_class, NsWindow, journal_bar);
  gtk_widget_class_bind_template_child (widget_class, NsWindow, journal_label);
  gtk_widget_class_bind_template_child (widget_class, NsWindow, case_note_bar);
  gtk_widget_class_bind_template_child (widget_class, NsWindow, case_note_label);
  gtk_widget_class_bind_template_child (widget_class, NsWindow, run_note_bar);
  gtk_widget_class_bind_template_child (widget_class, NsWindow, run_note_label);
  gtk_widget_class_bind_template_child (widget_class, NsWindow, read_only_bar);
  gtk_widget_class_bind_template_child (widget_class, NsWindow, read_only_label);
  gtk_widget_class_bind_template_child (widget_class, NsWindow, labels_bar);
  gtk_widget_class_bind_template_child (widget_class, NsWindow, labels_label);

  _ns_window_class_init_actions (widget_class);
}

static void
ns_window_init (NsWindow *self)
{
  GtkDropTarget *drop;

  /* 2 x 2 as ITK-SNAP starts: the largest planes for a landscape screen. */
  self->layout = g_strdup ("grid");
  gtk_widget_init_template (GTK_WIDGET (self));

  /* The fourth pane of the 2 x 2 layout: the 3D view (see apply_layout).  Its GL context
   * exists only while it shows. */
  self->view3d = ns_view3d_new (self->viewer);
  gtk_widget_set_name (self->view3d, "view3d");
  self->fourth_pane = self->view3d;
  gtk_grid_attach (self->view_grid, self->fourth_pane, 1, 1, 1, 1);

  g_signal_connect_object (self->viewer, "case-changed", G_CALLBACK (viewer_case_changed_cb),
                           self, G_CONNECT_SWAPPED);
  g_signal_connect_object (self->viewer, "pointer-changed", G_CALLBACK (update_status), self,
                           G_CONNECT_SWAPPED);
  g_signal_connect_object (self->viewer, "notify", G_CALLBACK (viewer_notify_cb), self,
                           G_CONNECT_SWAPPED);
  /* the uncertainty overlay's legend where the eye is, while the overlay shows */
  g_object_bind_property (self->viewer, "show-heat", self->status_heat_legend, "visible",
                          G_BINDING_SYNC_CREATE);

  drop = gtk_drop_target_new (GDK_TYPE_FILE_LIST, GDK_ACTION_COPY);
  g_signal_connect_swapped (drop, "drop", G_CALLBACK (_ns_window_drop_cb), self);
  gtk_widget_add_controller (GTK_WIDGET (self), GTK_EVENT_CONTROLLER (drop));

  self->editor = ns_editor_new (self->viewer);
  self->ai = ns_ai_controller_new (GTK_WINDOW (self), self->viewer, self->editor, ai_open_case);
  ns_slice_view_set_editor (self->axial_view, self->editor);
  ns_slice_view_set_editor (self->sagittal_view, self->editor);
  ns_slice_view_set_editor (self->coronal_view, self->editor);
  self->refine = ns_refine_new (self->editor);
  ns_slice_view_set_refine (self->axial_view, self->refine);
  ns_slice_view_set_refine (self->sagittal_view, self->refine);
  ns_slice_view_set_refine (self->coronal_view, self->refine);
  self->tool_panel = ns_tool_panel_new (self->editor);
  gtk_box_prepend (self->sidebar, gtk_separator_new (GTK_ORIENTATION_HORIZONTAL));
  /* the Refine tool's options under the palette, shown while it is the tool */
  gtk_box_prepend (self->sidebar, ns_refine_panel_new (self->refine));
  gtk_box_prepend (self->sidebar, self->tool_panel);
  /* the sequence overlay below the layer list: both are about what the views draw */
  {
    GtkWidget *overlay_panel = ns_image_overlay_panel_new (self->viewer);

    gtk_widget_set_name (overlay_panel, "image-overlay-panel");
    gtk_box_insert_child_after (self->sidebar, overlay_panel, GTK_WIDGET (self->layer_panel));
  }
  gtk_box_append (self->sidebar, gtk_separator_new (GTK_ORIENTATION_HORIZONTAL));
  gtk_box_append (self->sidebar, ns_ai_controller_create_panel (self->ai));
  /* the job also in the status bar: the sidebar's panel is below the fold at the default
   * window size */
  ns_job_status_set_controller (self->job_status, self->ai);
  _ns_window_init_infobars (self);
  g_signal_connect_object (self->ai, "job-finished", G_CALLBACK (_ns_window_set_message),
                           self, G_CONNECT_SWAPPED);
  g_signal_connect_object (self->editor, "history-changed", G_CALLBACK (editor_changed_cb),
                           self, G_CONNECT_SWAPPED);
  g_signal_connect_object (self->editor, "doc-changed", G_CALLBACK (editor_doc_changed_cb),
                           self, G_CONNECT_SWAPPED);
  g_signal_connect_object (self->editor, "notify::tool", G_CALLBACK (editor_tool_notify_cb),
                           self, G_CONNECT_SWAPPED);
  gtk_widget_add_controller (GTK_WIDGET (self), _ns_window_key_shortcuts_new ());
  ns_scroll_guard_install (self->sidebar_scroller);

  _ns_window_init_layout (self);
  _ns_window_apply_layout (self);
  viewer_case_changed_cb (self, self->viewer);
  _ns_window_rebuild_recent_menu (self);

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
