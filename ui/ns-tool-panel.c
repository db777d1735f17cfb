/* SPDX-License-Identifier: MIT
 *
 * ns-tool-panel.c: the tool palette (see ns-tool-panel.h).
 *
 * Built in code rather than from a template: most of it is rows that depend on the
 * label table of the mask being edited, rebuilt whenever the table changes, and the
 * static part is a handful of controls each bound to one editor property.
 */
#define G_LOG_DOMAIN "ns-tool-panel"

#include "ns-tool-panel.h"

#include <string.h>

#include "ns-cleanup-panel.h"

struct _NsToolPanel
{
  GtkBox parent_instance;

  NsEditor *editor;
  GtkListBox *label_list;
  GtkDropDown *over_label_drop;
  GtkStringList *over_label_model;
  GArray *over_values;            /* guint8 value of each over_label_drop item */
  GtkWidget *label_rows[256];
  GtkWidget *label_locks[256];   /* the Lock check of each row */
  GtkWidget *fill_question;      /* the fill guard's question while shown (not owned) */
  gboolean updating;
};

G_DEFINE_FINAL_TYPE (NsToolPanel, ns_tool_panel, GTK_TYPE_BOX)

static GtkWidget *
heading (const char *text)
{
  GtkWidget *label = gtk_label_new (text);

  gtk_label_set_xalign (GTK_LABEL (label), 0);
  gtk_widget_add_css_class (label, "heading");
  return label;
}

static GtkWidget *
caption (const char *text)
{
  GtkWidget *label = gtk_label_new_with_mnemonic (text);

  gtk_label_set_xalign (GTK_LABEL (label), 0);
  return label;
}

/* ---- label palette ------------------------------------------------------------------------- */

static void
swatch_draw (GtkDrawingArea *area, cairo_t *cr, int width, int height, gpointer user_data)
{
  guint32 rgb = GPOINTER_TO_UINT (user_data);

  cairo_set_source_rgb (cr, ((rgb >> 16) & 0xff) / 255.0, ((rgb >> 8) & 0xff) / 255.0,
                        (rgb & 0xff) / 255.0);
  cairo_rectangle (cr, 0, 0, width, height);
  cairo_fill (cr);
}

/* The label value whose row holds widget in rows (0: none). */
static guint8
row_value (GtkWidget *const rows[256], gpointer widget)
{
  for (guint v = 1; v < 256; v++)
    if (rows[v] == widget)
      return (guint8) v;
  return 0;
}

static void
lock_toggled_cb (GtkCheckButton *check, NsToolPanel *self)
{
  guint8 value = row_value (self->label_locks, check);

  if (!self->updating && value != 0)
    ns_editor_set_locked (self->editor, value, gtk_check_button_get_active (check));
}

static void
select_active_row (NsToolPanel *self)
{
  GtkWidget *row = self->label_rows[ns_editor_get_label (self->editor)];

  self->updating = TRUE;
  if (row != NULL)
    gtk_list_box_select_row (self->label_list, GTK_LIST_BOX_ROW (row));
  else
    gtk_list_box_unselect_all (self->label_list);
  self->updating = FALSE;
}

static void
select_over_label (NsToolPanel *self)
{
  guint over = 0;

  g_object_get (self->editor, "over-label", &over, NULL);
  self->updating = TRUE;
  for (guint i = 0; i < self->over_values->len; i++)
    if (g_array_index (self->over_values, guint8, i) == over)
      gtk_drop_down_set_selected (self->over_label_drop, i);
  self->updating = FALSE;
}

static void
rebuild_labels (NsToolPanel *self)
{
  NsMaskDoc *doc = ns_editor_get_doc (self->editor);
  NsLabelTable *table = doc != NULL ? ns_mask_doc_get_labels (doc) : NULL;
  GtkWidget *child;
  guint n = table != NULL ? ns_label_table_n_entries (table) : 0;
  g_autoptr (GStrvBuilder) names = g_strv_builder_new ();
  g_auto (GStrv) strv = NULL;

  self->updating = TRUE;
  while ((child = gtk_widget_get_first_child (GTK_WIDGET (self->label_list))) != NULL)
    gtk_list_box_remove (self->label_list, child);
  memset (self->label_rows, 0, sizeof self->label_rows);
  memset (self->label_locks, 0, sizeof self->label_locks);
  g_array_set_size (self->over_values, 0);

  for (guint i = 0; i < n; i++)
    {
      const NsLabelEntry *e = ns_label_table_get_nth (table, i);
      g_autofree char *text = g_strdup_printf ("%u  %s", e->value, e->name);
      guint32 rgb = ((guint32) e->rgba[0] << 16) | ((guint32) e->rgba[1] << 8) | e->rgba[2];
      GtkWidget *row, *box, *swatch, *label, *lock;

      g_strv_builder_add (names, text);
      g_array_append_val (self->over_values, e->value);
      if (e->value == 0)
        continue;
      box = gtk_box_new (GTK_ORIENTATION_HORIZONTAL, 8);
      swatch = gtk_drawing_area_new ();
      gtk_drawing_area_set_content_width (GTK_DRAWING_AREA (swatch), 14);
      gtk_drawing_area_set_content_height (GTK_DRAWING_AREA (swatch), 14);
      gtk_widget_set_valign (swatch, GTK_ALIGN_CENTER);
      gtk_drawing_area_set_draw_func (GTK_DRAWING_AREA (swatch), swatch_draw,
                                      GUINT_TO_POINTER (rgb), NULL);
      label = gtk_label_new (text);
      gtk_label_set_xalign (GTK_LABEL (label), 0);
      gtk_widget_set_hexpand (label, TRUE);
      lock = gtk_check_button_new_with_label ("Lock");
      gtk_widget_set_tooltip_text (lock, "A locked label is never painted over");
      gtk_check_button_set_active (GTK_CHECK_BUTTON (lock), e->locked);
      g_signal_connect (lock, "toggled", G_CALLBACK (lock_toggled_cb), self);
      gtk_box_append (GTK_BOX (box), swatch);
      gtk_box_append (GTK_BOX (box), label);
      gtk_box_append (GTK_BOX (box), lock);
      row = gtk_list_box_row_new ();
      gtk_list_box_row_set_child (GTK_LIST_BOX_ROW (row), box);
      gtk_list_box_append (self->label_list, row);
      self->label_rows[e->value] = row;
      self->label_locks[e->value] = lock;
    }
  strv = g_strv_builder_end (names);
  gtk_string_list_splice (self->over_label_model, 0,
                          g_list_model_get_n_items (G_LIST_MODEL (self->over_label_model)),
                          (const char *const *) strv);
  self->updating = FALSE;
  select_active_row (self);
  select_over_label (self);
}

static void
row_selected_cb (GtkListBox *list, GtkListBoxRow *row, NsToolPanel *self)
{
  guint8 value = row_value (self->label_rows, row);

  if (self->updating || value == 0)
    return;
  ns_editor_set_label (self->editor, value);
}

static void
over_label_selected_cb (GtkDropDown *drop, GParamSpec *pspec, NsToolPanel *self)
{
  guint i = gtk_drop_down_get_selected (drop);

  if (self->updating || i >= self->over_values->len)
    return;
  g_object_set (self->editor, "over-label", (guint) g_array_index (self->over_values, guint8, i),
                NULL);
}

static void
editor_notify_cb (NsToolPanel *self, GParamSpec *pspec, NsEditor *editor)
{
  if (g_strcmp0 (pspec->name, "label") == 0)
    select_active_row (self);
  else if (g_strcmp0 (pspec->name, "over-label") == 0)
    select_over_label (self);
  else if (g_strcmp0 (pspec->name, "paint-over") == 0)
    gtk_widget_set_sensitive (GTK_WIDGET (self->over_label_drop),
                              ns_editor_get_paint_over (editor) == NS_PAINT_OVER_LABEL);
}

/* ---- the fill guard's question ------------------------------------------------------------- */

/* Destroys the question, if any, without its callbacks. */
static void
drop_question (NsToolPanel *self)
{
  GtkWidget *dialog = g_steal_pointer (&self->fill_question);

  if (dialog == NULL)
    return;
  g_signal_handlers_disconnect_by_data (dialog, self);
  gtk_window_destroy (GTK_WINDOW (dialog));
}

static void
fill_question_destroy_cb (GtkWidget *dialog, NsToolPanel *self)
{
  /* destroyed with its window, before the palette */
  if (self->fill_question == dialog)
    self->fill_question = NULL;
}

static void
fill_question_response_cb (GtkDialog *dialog, int response, NsToolPanel *self)
{
  g_autoptr (GError) error = NULL;

  drop_question (self);
  if (response != GTK_RESPONSE_ACCEPT)
    ns_editor_fill_cancel (self->editor);
  else if (!ns_editor_fill_confirm (self->editor, &error) && error != NULL)
    g_warning ("Fill: %s", error->message);
}

static void
fill_refused_cb (NsToolPanel *self, const char *reason, NsEditor *editor)
{
  GtkRoot *root = gtk_widget_get_root (GTK_WIDGET (self));
  GtkWidget *dialog;

  drop_question (self);
  dialog = gtk_message_dialog_new (GTK_IS_WINDOW (root) ? GTK_WINDOW (root) : NULL,
                                   GTK_DIALOG_MODAL | GTK_DIALOG_DESTROY_WITH_PARENT,
                                   GTK_MESSAGE_QUESTION, GTK_BUTTONS_NONE,
                                   "Fill this region anyway?");
  gtk_message_dialog_format_secondary_text (GTK_MESSAGE_DIALOG (dialog),
                                            "%s. Nothing was painted yet.", reason);
  gtk_dialog_add_button (GTK_DIALOG (dialog), "_Cancel", GTK_RESPONSE_CANCEL);
  gtk_dialog_add_button (GTK_DIALOG (dialog), "_Fill Anyway", GTK_RESPONSE_ACCEPT);
  gtk_dialog_set_default_response (GTK_DIALOG (dialog), GTK_RESPONSE_CANCEL);
  gtk_window_set_title (GTK_WINDOW (dialog), "Fill Guard");
  gtk_widget_set_name (dialog, "fill-guard-question");
  g_signal_connect (dialog, "response", G_CALLBACK (fill_question_response_cb), self);
  g_signal_connect (dialog, "destroy", G_CALLBACK (fill_question_destroy_cb), self);
  self->fill_question = dialog;
  gtk_window_present (GTK_WINDOW (dialog));
}

static void
fill_pending_cb (NsToolPanel *self, GParamSpec *pspec, NsEditor *editor)
{
  /* Answered elsewhere (a new fill, the document closed): the question is moot. */
  if (!ns_editor_get_fill_pending (editor))
    drop_question (self);
}

/* ---- construction -------------------------------------------------------------------------- */

static GtkWidget *
tool_button (const char *label, const char *tool, const char *tooltip)
{
  GtkWidget *button = gtk_toggle_button_new_with_label (label);

  gtk_actionable_set_action_name (GTK_ACTIONABLE (button), "edit.tool");
  gtk_actionable_set_action_target (GTK_ACTIONABLE (button), "s", tool);
  {
    g_autofree char *name = g_strconcat ("tool-", tool, NULL);

    gtk_widget_set_name (button, name);   /* for the end-to-end tests */
  }
  gtk_widget_set_tooltip_text (button, tooltip);
  gtk_widget_set_hexpand (button, TRUE);
  return button;
}

static GtkWidget *
bound_drop_down (NsToolPanel *self, const char *property, const char *const *items)
{
  GtkWidget *drop = gtk_drop_down_new_from_strings (items);

  g_object_bind_property (self->editor, property, drop, "selected",
                          G_BINDING_BIDIRECTIONAL | G_BINDING_SYNC_CREATE);
  return drop;
}

static void
build (NsToolPanel *self)
{
  static const char *const shapes[] = { "Round", "Square", NULL };
  static const char *const overs[] = { "All labels", "Background only", "Only over label",
                                       NULL };
  static const char *const bounds[] = { "Label region", "Intensity range", NULL };
  GtkBox *box = GTK_BOX (self);
  GtkWidget *tools, *grid, *w, *spin, *row, *add;
  int r = 0;

  gtk_box_append (box, heading ("Tools"));
  /* two rows of three: six in one row made the sidebar wider than its other panels */
  tools = gtk_box_new (GTK_ORIENTATION_HORIZONTAL, 0);
  gtk_widget_add_css_class (tools, "linked");
  gtk_box_set_homogeneous (GTK_BOX (tools), TRUE);
  gtk_box_append (GTK_BOX (tools), tool_button ("Nav", "navigate",
                                                "Navigate: click moves the cursor"));
  gtk_box_append (GTK_BOX (tools), tool_button ("Brush", "brush", "Paintbrush (B)"));
  gtk_box_append (GTK_BOX (tools), tool_button ("Erase", "eraser", "Eraser (E)"));
  gtk_box_append (box, tools);
  tools = gtk_box_new (GTK_ORIENTATION_HORIZONTAL, 0);
  gtk_widget_add_css_class (tools, "linked");
  gtk_box_set_homogeneous (GTK_BOX (tools), TRUE);
  gtk_box_append (GTK_BOX (tools), tool_button ("Fill", "fill", "2-D flood fill (F)"));
  gtk_box_append (GTK_BOX (tools), tool_button ("Pick", "picker",
                                                "Label picker (or Ctrl+click with any tool)"));
  gtk_box_append (GTK_BOX (tools), tool_button ("Lasso", "lasso",
                                                "Lasso (L): drag an outline to fill it with "
                                                "the label; Shift+drag erases inside it"));
  gtk_box_append (GTK_BOX (tools), tool_button ("Refine", "refine",
                                                "AI correction (R): click adds to the "
                                                "label's region, right click or Shift+click "
                                                "removes, Ctrl+drag a box starts a region"));
  gtk_box_append (box, tools);

  grid = gtk_grid_new ();
  gtk_grid_set_row_spacing (GTK_GRID (grid), 4);
  gtk_grid_set_column_spacing (GTK_GRID (grid), 8);

  gtk_grid_attach (GTK_GRID (grid), caption ("Brush"), 0, r, 1, 1);
  w = bound_drop_down (self, "shape", shapes);
  gtk_grid_attach (GTK_GRID (grid), w, 1, r, 1, 1);
  w = gtk_check_button_new_with_label ("3-D");
  gtk_widget_set_tooltip_text (w, "Paint a sphere (or cube) instead of a disc on the plane");
  g_object_bind_property (self->editor, "three-d", w, "active",
                          G_BINDING_BIDIRECTIONAL | G_BINDING_SYNC_CREATE);
  gtk_grid_attach (GTK_GRID (grid), w, 2, r++, 1, 1);

  gtk_grid_attach (GTK_GRID (grid), caption ("Radius (mm)"), 0, r, 1, 1);
  spin = gtk_spin_button_new_with_range (NS_EDITOR_RADIUS_MIN, NS_EDITOR_RADIUS_MAX, 0.5);
  gtk_spin_button_set_digits (GTK_SPIN_BUTTON (spin), 1);
  gtk_widget_set_tooltip_text (spin, "[ and ] change it");
  g_object_bind_property (self->editor, "radius", spin, "value",
                          G_BINDING_BIDIRECTIONAL | G_BINDING_SYNC_CREATE);
  gtk_grid_attach (GTK_GRID (grid), spin, 1, r++, 2, 1);

  gtk_grid_attach (GTK_GRID (grid), caption ("Paint over"), 0, r, 1, 1);
  w = bound_drop_down (self, "paint-over", overs);
  gtk_grid_attach (GTK_GRID (grid), w, 1, r++, 2, 1);
  self->over_label_model = gtk_string_list_new (NULL);
  self->over_label_drop = GTK_DROP_DOWN (gtk_drop_down_new (
    G_LIST_MODEL (g_object_ref (self->over_label_model)), NULL));
  gtk_widget_set_tooltip_text (GTK_WIDGET (self->over_label_drop),
                               "The only label painted over with \"Only over label\"");
  g_signal_connect (self->over_label_drop, "notify::selected",
                    G_CALLBACK (over_label_selected_cb), self);
  gtk_grid_attach (GTK_GRID (grid), GTK_WIDGET (self->over_label_drop), 1, r++, 2, 1);
  gtk_widget_set_sensitive (GTK_WIDGET (self->over_label_drop),
                            ns_editor_get_paint_over (self->editor) == NS_PAINT_OVER_LABEL);

  w = gtk_check_button_new_with_label ("Intensity limit ±");
  gtk_widget_set_tooltip_text (w, "Paint only voxels whose intensity (shown image) is within "
                                  "the tolerance of the voxel where the stroke starts");
  g_object_bind_property (self->editor, "intensity-limit", w, "active",
                          G_BINDING_BIDIRECTIONAL | G_BINDING_SYNC_CREATE);
  gtk_grid_attach (GTK_GRID (grid), w, 0, r, 1, 1);
  spin = gtk_spin_button_new_with_range (0, 100000, 1);
  gtk_widget_set_tooltip_text (spin, "Tolerance (image units), also of the intensity fill");
  g_object_bind_property (self->editor, "tolerance", spin, "value",
                          G_BINDING_BIDIRECTIONAL | G_BINDING_SYNC_CREATE);
  gtk_grid_attach (GTK_GRID (grid), spin, 1, r++, 2, 1);

  w = gtk_check_button_new_with_label ("Lasso through the volume");
  gtk_widget_set_tooltip_text (w, "The lasso fills (or erases) inside its outline on every "
                                  "slice along the view direction, not only the one drawn on");
  g_object_bind_property (self->editor, "lasso-through", w, "active",
                          G_BINDING_BIDIRECTIONAL | G_BINDING_SYNC_CREATE);
  gtk_grid_attach (GTK_GRID (grid), w, 0, r++, 3, 1);

  gtk_grid_attach (GTK_GRID (grid), caption ("Fill bound"), 0, r, 1, 1);
  w = bound_drop_down (self, "fill-bound", bounds);
  gtk_grid_attach (GTK_GRID (grid), w, 1, r++, 2, 1);

  w = gtk_check_button_new_with_label ("Ask before a fill covers");
  gtk_widget_set_tooltip_text (w, "The fill guard: ask before a fill reaches outside the "
                                  "brain or covers more than this part of the slice");
  g_object_bind_property (self->editor, "fill-guard", w, "active",
                          G_BINDING_BIDIRECTIONAL | G_BINDING_SYNC_CREATE);
  gtk_grid_attach (GTK_GRID (grid), w, 0, r, 1, 1);
  spin = gtk_spin_button_new_with_range (NS_EDITOR_FILL_FRACTION_MIN, 1.0, 0.05);
  gtk_spin_button_set_digits (GTK_SPIN_BUTTON (spin), 2);
  gtk_widget_set_tooltip_text (spin, "Part of the slice (1 = all) a fill may cover without "
                                     "asking; outside the brain it always asks");
  g_object_bind_property (self->editor, "fill-guard-fraction", spin, "value",
                          G_BINDING_BIDIRECTIONAL | G_BINDING_SYNC_CREATE);
  gtk_grid_attach (GTK_GRID (grid), spin, 1, r++, 2, 1);
  gtk_box_append (box, grid);

  row = gtk_box_new (GTK_ORIENTATION_HORIZONTAL, 6);
  w = heading ("Labels");
  gtk_widget_set_hexpand (w, TRUE);
  gtk_box_append (GTK_BOX (row), w);
  add = gtk_button_new_with_label ("Add…");
  gtk_actionable_set_action_name (GTK_ACTIONABLE (add), "edit.add-label");
  gtk_widget_set_tooltip_text (add, "A custom label (name, colour, value), saved beside the "
                                    "mask");
  gtk_box_append (GTK_BOX (row), add);
  gtk_box_append (box, row);

  self->label_list = GTK_LIST_BOX (gtk_list_box_new ());
  gtk_list_box_set_selection_mode (self->label_list, GTK_SELECTION_SINGLE);
  gtk_widget_add_css_class (GTK_WIDGET (self->label_list), "boxed-list");
  g_signal_connect (self->label_list, "row-selected", G_CALLBACK (row_selected_cb), self);
  gtk_box_append (box, GTK_WIDGET (self->label_list));

  gtk_box_append (box, ns_cleanup_panel_new (self->editor));
}

static void
ns_tool_panel_dispose (GObject *object)
{
  NsToolPanel *self = NS_TOOL_PANEL (object);

  if (self->editor != NULL)
    g_signal_handlers_disconnect_by_data (self->editor, self);
  drop_question (self);
  g_clear_object (&self->editor);
  g_clear_object (&self->over_label_model);
  g_clear_pointer (&self->over_values, g_array_unref);

  G_OBJECT_CLASS (ns_tool_panel_parent_class)->dispose (object);
}

static void
ns_tool_panel_class_init (NsToolPanelClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->dispose = ns_tool_panel_dispose;
  gtk_widget_class_set_css_name (GTK_WIDGET_CLASS (klass), "toolpanel");
}

static void
ns_tool_panel_init (NsToolPanel *self)
{
  gtk_orientable_set_orientation (GTK_ORIENTABLE (self), GTK_ORIENTATION_VERTICAL);
  gtk_box_set_spacing (GTK_BOX (self), 6);
  self->over_values = g_array_new (FALSE, FALSE, sizeof (guint8));
}

GtkWidget *
ns_tool_panel_new (NsEditor *editor)
{
  NsToolPanel *self;

  g_return_val_if_fail (NS_IS_EDITOR (editor), NULL);

  self = g_object_new (NS_TYPE_TOOL_PANEL, NULL);
  self->editor = g_object_ref (editor);
  build (self);
  g_signal_connect_object (editor, "doc-changed", G_CALLBACK (rebuild_labels), self,
                           G_CONNECT_SWAPPED);
  g_signal_connect_object (editor, "label-table-changed", G_CALLBACK (rebuild_labels), self,
                           G_CONNECT_SWAPPED);
  g_signal_connect_object (editor, "notify", G_CALLBACK (editor_notify_cb), self,
                           G_CONNECT_SWAPPED);
  g_signal_connect_object (editor, "fill-refused", G_CALLBACK (fill_refused_cb), self,
                           G_CONNECT_SWAPPED);
  g_signal_connect_object (editor, "notify::fill-pending", G_CALLBACK (fill_pending_cb), self,
                           G_CONNECT_SWAPPED);
  rebuild_labels (self);
  return GTK_WIDGET (self);
}

NsEditor *
ns_tool_panel_get_editor (NsToolPanel *self)
{
  g_return_val_if_fail (NS_IS_TOOL_PANEL (self), NULL);
  return self->editor;
}

GtkWidget *
ns_tool_panel_get_fill_question (NsToolPanel *self)
{
  g_return_val_if_fail (NS_IS_TOOL_PANEL (self), NULL);
  return self->fill_question;
}

GtkWidget *
ns_tool_panel_get_label_row (NsToolPanel *self, guint8 value)
{
  g_return_val_if_fail (NS_IS_TOOL_PANEL (self), NULL);
  return self->label_rows[value];
}
