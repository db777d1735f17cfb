/* SPDX-License-Identifier: MIT
 *
 * ns-cleanup-panel.c: the cleanup tools' section of the tool palette (see
 * ns-cleanup-panel.h).
 *
 * Built in code like the rest of the palette: a drop-down picks the tool, a stack shows its
 * parameters.  The region lists (threshold inside, operand of a logical operation) share
 * one model: the fixed regions, then the labels of the document's table, rebuilt whenever
 * the table changes.  The widget holds no image logic: Apply calls ns-editor-cleanup.h.
 */
#define G_LOG_DOMAIN "ns-cleanup-panel"

#include "ns-cleanup-panel.h"

#include <math.h>

#include "ns-editor-cleanup.h"

typedef enum
{
  OP_THRESHOLD,
  OP_MARGIN,
  OP_GROW,
  OP_SMOOTH,
  OP_ISLANDS,
  OP_LOGICAL,
  N_OPS
} Op;

static const struct
{
  const char *name;      /* the page of the stack and the action's parameter */
  const char *title;
  guint keyval;          /* with Shift */
} ops[N_OPS] = {
  { "threshold", "Threshold", GDK_KEY_t },
  { "margin", "Margin (grow/shrink)", GDK_KEY_g },
  { "grow-seeds", "Grow from seeds", GDK_KEY_r },
  { "smooth", "Smooth", GDK_KEY_s },
  { "islands", "Islands", GDK_KEY_i },
  { "logical", "Logical operation", GDK_KEY_l },
};

/* The fixed head of the region lists; the table's labels follow. */
static const struct
{
  const char *title;
  NsOperandKind kind;
} fixed_regions[] = {
  { "Brain", NS_OPERAND_BRAIN },
  { "Whole tumour (WT)", NS_OPERAND_WT },
  { "Tumour core (TC)", NS_OPERAND_TC },
  { "Enhancing tumour (ET)", NS_OPERAND_ET },
  { "Whole volume", NS_OPERAND_ALL },
};

struct _NsCleanupPanel
{
  GtkBox parent_instance;

  NsEditor *editor;
  GtkDropDown *op_drop;
  GtkStack *stack;
  GtkStringList *region_model;
  GArray *region_labels;          /* guint8 label of each region item after the fixed ones */
  /* threshold */
  GtkDropDown *threshold_region;
  GtkCheckButton *otsu_check;
  GtkSpinButton *lo_spin;
  GtkSpinButton *hi_spin;
  /* margin */
  GtkSpinButton *margin_spin;
  /* grow from seeds */
  GtkSpinButton *sigma_spin;
  GtkSpinButton *grow_mm_spin;
  /* smooth */
  GtkDropDown *smooth_drop;
  GtkSpinButton *strength_spin;
  /* islands */
  GtkDropDown *islands_drop;
  GtkSpinButton *ml_spin;
  /* logical */
  GtkDropDown *logic_drop;
  GtkDropDown *operand_drop;

  GtkLabel *status;
  GtkExpander *expander;
};

G_DEFINE_FINAL_TYPE (NsCleanupPanel, ns_cleanup_panel, GTK_TYPE_BOX)

/* ---- regions ------------------------------------------------------------------------------- */

static void
rebuild_regions (NsCleanupPanel *self)
{
  NsMaskDoc *doc = ns_editor_get_doc (self->editor);
  NsLabelTable *table = doc != NULL ? ns_mask_doc_get_labels (doc) : NULL;
  guint n = table != NULL ? ns_label_table_n_entries (table) : 0;
  guint sel_t = gtk_drop_down_get_selected (self->threshold_region);
  guint sel_o = gtk_drop_down_get_selected (self->operand_drop);
  g_autoptr (GStrvBuilder) names = g_strv_builder_new ();
  g_auto (GStrv) strv = NULL;

  g_array_set_size (self->region_labels, 0);
  for (guint i = 0; i < G_N_ELEMENTS (fixed_regions); i++)
    g_strv_builder_add (names, fixed_regions[i].title);
  for (guint i = 0; i < n; i++)
    {
      const NsLabelEntry *e = ns_label_table_get_nth (table, i);
      g_autofree char *text = NULL;

      if (e->value == 0)
        continue;
      text = g_strdup_printf ("Label %u %s", e->value, e->name);
      g_strv_builder_add (names, text);
      g_array_append_val (self->region_labels, e->value);
    }
  strv = g_strv_builder_end (names);
  gtk_string_list_splice (self->region_model, 0,
                          g_list_model_get_n_items (G_LIST_MODEL (self->region_model)),
                          (const char *const *) strv);
  n = g_list_model_get_n_items (G_LIST_MODEL (self->region_model));
  gtk_drop_down_set_selected (self->threshold_region, sel_t < n ? sel_t : 0);
  gtk_drop_down_set_selected (self->operand_drop, sel_o < n ? sel_o : 0);
}

static void
region_of (NsCleanupPanel *self, GtkDropDown *drop, NsOperandKind *kind, guint8 *label)
{
  guint i = gtk_drop_down_get_selected (drop);

  *label = 0;
  if (i < G_N_ELEMENTS (fixed_regions))
    *kind = fixed_regions[i].kind;
  else if (i - G_N_ELEMENTS (fixed_regions) < self->region_labels->len)
    {
      *kind = NS_OPERAND_LABEL;
      *label = g_array_index (self->region_labels, guint8, i - G_N_ELEMENTS (fixed_regions));
    }
  else
    *kind = NS_OPERAND_BRAIN;
}

/* ---- apply --------------------------------------------------------------------------------- */

static void
set_status (NsCleanupPanel *self, const char *text, gboolean failed)
{
  gtk_label_set_text (self->status, text);
  if (failed)
    gtk_widget_add_css_class (GTK_WIDGET (self->status), "error");
  else
    gtk_widget_remove_css_class (GTK_WIDGET (self->status), "error");
}

static void
apply (NsCleanupPanel *self, Op op)
{
  NsMaskDoc *doc = ns_editor_get_doc (self->editor);
  g_autoptr (GError) error = NULL;
  NsHistory *history;
  guint n_before;
  gboolean ok = FALSE;
  double threshold = 0, lo = 0, hi = 0;
  NsOperandKind kind;
  guint8 region_label;

  if (doc == NULL)
    {
      set_status (self, "Open a case first", TRUE);
      return;
    }
  history = ns_mask_doc_get_history (doc);
  n_before = ns_history_n_undo (history);
  switch (op)
    {
    case OP_THRESHOLD:
      region_of (self, self->threshold_region, &kind, &region_label);
      ok = ns_editor_threshold (self->editor, kind, region_label,
                                gtk_check_button_get_active (self->otsu_check),
                                gtk_spin_button_get_value (self->lo_spin),
                                gtk_spin_button_get_value (self->hi_spin), &threshold, &error);
      break;
    case OP_MARGIN:
      ok = ns_editor_margin (self->editor, gtk_spin_button_get_value (self->margin_spin),
                             &error);
      break;
    case OP_GROW:
      ok = ns_editor_grow_from_seeds (self->editor, gtk_spin_button_get_value (self->sigma_spin),
                                      gtk_spin_button_get_value (self->grow_mm_spin), &lo, &hi,
                                      &error);
      break;
    case OP_SMOOTH:
      ok = ns_editor_smooth (self->editor, gtk_drop_down_get_selected (self->smooth_drop),
                             gtk_spin_button_get_value (self->strength_spin), &error);
      break;
    case OP_ISLANDS:
      ok = ns_editor_islands (self->editor, gtk_drop_down_get_selected (self->islands_drop),
                              gtk_spin_button_get_value (self->ml_spin), &error);
      break;
    case OP_LOGICAL:
    default:
      region_of (self, self->operand_drop, &kind, &region_label);
      ok = ns_editor_logical (self->editor, gtk_drop_down_get_selected (self->logic_drop), kind,
                              region_label, &error);
      break;
    }
  if (!ok)
    {
      g_autofree char *text =
        g_strdup_printf ("%s failed: %s", ops[op].title,
                         error != NULL ? error->message : "no mask is being edited");
      set_status (self, text, TRUE);
      return;
    }
  if (ns_history_n_undo (history) > n_before)
    {
      const NsEditChange *change = ns_history_get (history, ns_history_n_undo (history) - 1);
      g_autofree char *text = NULL;

      if (op == OP_THRESHOLD && gtk_check_button_get_active (self->otsu_check))
        text = g_strdup_printf ("%s (Otsu: from %g): %" G_GSIZE_FORMAT " voxels changed",
                                change->name, threshold, change->n);
      else if (op == OP_GROW)
        text = g_strdup_printf ("%s (intensity %g to %g): %" G_GSIZE_FORMAT " voxels changed",
                                change->name, lo, hi, change->n);
      else
        text = g_strdup_printf ("%s: %" G_GSIZE_FORMAT " voxels changed", change->name,
                                change->n);
      set_status (self, text, FALSE);
    }
  else
    {
      g_autofree char *text = g_strdup_printf ("%s: nothing to change (locked, empty or "
                                               "already so)", ops[op].title);
      set_status (self, text, FALSE);
    }
}

static void
apply_action (GtkWidget *widget, const char *action_name, GVariant *parameter)
{
  NsCleanupPanel *self = NS_CLEANUP_PANEL (widget);
  const char *name = parameter != NULL ? g_variant_get_string (parameter, NULL) : "";
  Op op = gtk_drop_down_get_selected (self->op_drop);

  for (guint i = 0; i < N_OPS; i++)
    if (g_strcmp0 (name, ops[i].name) == 0)
      op = i;
  if (op >= N_OPS)
    return;
  gtk_drop_down_set_selected (self->op_drop, op);
  gtk_expander_set_expanded (self->expander, TRUE);
  apply (self, op);
}

/* ---- construction -------------------------------------------------------------------------- */

static void
op_selected_cb (GtkDropDown *drop, GParamSpec *pspec, NsCleanupPanel *self)
{
  guint i = gtk_drop_down_get_selected (drop);

  if (i < N_OPS)
    gtk_stack_set_visible_child_name (self->stack, ops[i].name);
}

static void
otsu_toggled_cb (GtkCheckButton *check, NsCleanupPanel *self)
{
  gboolean otsu = gtk_check_button_get_active (check);

  gtk_widget_set_sensitive (GTK_WIDGET (self->lo_spin), !otsu);
  gtk_widget_set_sensitive (GTK_WIDGET (self->hi_spin), !otsu);
}

static GtkWidget *
caption (const char *text)
{
  GtkWidget *label = gtk_label_new_with_mnemonic (text);

  gtk_label_set_xalign (GTK_LABEL (label), 0);
  return label;
}

static GtkSpinButton *
spin (double lo, double hi, double step, int digits, double value, const char *tooltip)
{
  GtkWidget *w = gtk_spin_button_new_with_range (lo, hi, step);

  gtk_spin_button_set_digits (GTK_SPIN_BUTTON (w), digits);
  gtk_spin_button_set_value (GTK_SPIN_BUTTON (w), value);
  gtk_widget_set_tooltip_text (w, tooltip);
  gtk_widget_set_hexpand (w, TRUE);
  return GTK_SPIN_BUTTON (w);
}

static GtkDropDown *
strings_drop (const char *const *items)
{
  return GTK_DROP_DOWN (gtk_drop_down_new_from_strings (items));
}

static GtkWidget *
page (GtkStack *stack, const char *name)
{
  GtkWidget *grid = gtk_grid_new ();

  gtk_grid_set_row_spacing (GTK_GRID (grid), 4);
  gtk_grid_set_column_spacing (GTK_GRID (grid), 8);
  gtk_stack_add_named (stack, grid, name);
  return grid;
}

/* Each parameter widget has a name (tests find it by that). */
static void
attach_row (GtkWidget *grid, int row, const char *text, gpointer widget, const char *name)
{
  GtkWidget *label = caption (text);

  gtk_widget_set_name (GTK_WIDGET (widget), name);
  gtk_grid_attach (GTK_GRID (grid), label, 0, row, 1, 1);
  gtk_grid_attach (GTK_GRID (grid), GTK_WIDGET (widget), 1, row, 1, 1);
  gtk_label_set_mnemonic_widget (GTK_LABEL (label), GTK_WIDGET (widget));
}

static GtkDropDown *
region_drop (NsCleanupPanel *self)
{
  GtkDropDown *drop = GTK_DROP_DOWN (gtk_drop_down_new (
    G_LIST_MODEL (g_object_ref (self->region_model)), NULL));

  gtk_widget_set_hexpand (GTK_WIDGET (drop), TRUE);
  return drop;
}

static void
build (NsCleanupPanel *self)
{
  static const char *const smooth_items[] = { "Median", "Open then close", "Gaussian", NULL };
  static const char *const islands_items[] = { "Keep the largest", "Remove smaller than",
                                               "Split into labels", "Keep the one at the cursor",
                                               NULL };
  static const char *const logic_items[] = { "Copy (replace by)", "Add (union)", "Subtract",
                                             "Intersect", NULL };
  GtkBox *box = GTK_BOX (gtk_box_new (GTK_ORIENTATION_VERTICAL, 6));
  g_autoptr (GStrvBuilder) titles = g_strv_builder_new ();
  g_auto (GStrv) strv = NULL;
  GtkWidget *heading, *grid, *apply_button, *row;

  /* Collapsed at first: the sidebar keeps its height (window/level stays in view); a
   * tool's key opens it to show what the tool did. */
  heading = gtk_label_new_with_mnemonic ("Cleanup of the active _label");
  gtk_widget_add_css_class (heading, "heading");
  self->expander = GTK_EXPANDER (gtk_expander_new (NULL));
  gtk_expander_set_label_widget (self->expander, heading);
  gtk_widget_set_name (GTK_WIDGET (self->expander), "cleanup-expander");
  gtk_expander_set_child (self->expander, GTK_WIDGET (box));
  gtk_box_append (GTK_BOX (self), GTK_WIDGET (self->expander));

  for (guint i = 0; i < N_OPS; i++)
    g_strv_builder_add (titles, ops[i].title);
  strv = g_strv_builder_end (titles);
  row = gtk_box_new (GTK_ORIENTATION_HORIZONTAL, 6);
  self->op_drop = strings_drop ((const char *const *) strv);
  gtk_widget_set_hexpand (GTK_WIDGET (self->op_drop), TRUE);
  gtk_widget_set_name (GTK_WIDGET (self->op_drop), "cleanup-tool");
  gtk_widget_set_tooltip_text (GTK_WIDGET (self->op_drop),
                               "Shift+T threshold, Shift+G margin, Shift+R grow from seeds, "
                               "Shift+S smooth, Shift+I islands, Shift+L logical: select "
                               "and apply");
  apply_button = gtk_button_new_with_mnemonic ("_Apply");
  gtk_widget_set_name (apply_button, "cleanup-apply");
  gtk_actionable_set_action_name (GTK_ACTIONABLE (apply_button), "cleanup.apply");
  gtk_actionable_set_action_target (GTK_ACTIONABLE (apply_button), "s", "");
  gtk_widget_set_tooltip_text (apply_button, "Apply the selected tool to the active label "
                                             "(one undo step)");
  gtk_box_append (GTK_BOX (row), GTK_WIDGET (self->op_drop));
  gtk_box_append (GTK_BOX (row), apply_button);
  gtk_box_append (box, row);

  self->stack = GTK_STACK (gtk_stack_new ());
  gtk_stack_set_vhomogeneous (self->stack, FALSE);
  self->region_model = gtk_string_list_new (NULL);

  grid = page (self->stack, ops[OP_THRESHOLD].name);
  self->threshold_region = region_drop (self);
  attach_row (grid, 0, "_Inside", self->threshold_region, "cleanup-threshold-region");
  self->otsu_check = GTK_CHECK_BUTTON (gtk_check_button_new_with_mnemonic ("_Otsu"));
  gtk_widget_set_tooltip_text (GTK_WIDGET (self->otsu_check),
                               "The bright class of Otsu's threshold inside the region");
  g_signal_connect (self->otsu_check, "toggled", G_CALLBACK (otsu_toggled_cb), self);
  gtk_widget_set_name (GTK_WIDGET (self->otsu_check), "cleanup-threshold-otsu");
  gtk_grid_attach (GTK_GRID (grid), GTK_WIDGET (self->otsu_check), 1, 1, 1, 1);
  self->lo_spin = spin (-1e6, 1e6, 10, 1, 0, "Lowest intensity painted (shown image)");
  attach_row (grid, 2, "From", self->lo_spin, "cleanup-threshold-lo");
  self->hi_spin = spin (-1e6, 1e6, 10, 1, 1e6, "Highest intensity painted (shown image)");
  attach_row (grid, 3, "To", self->hi_spin, "cleanup-threshold-hi");

  grid = page (self->stack, ops[OP_MARGIN].name);
  self->margin_spin = spin (-50, 50, 0.5, 1, 2, "mm: positive grows, negative shrinks "
                                                "(Euclidean, on the voxel spacing)");
  attach_row (grid, 0, "_Margin (mm)", self->margin_spin, "cleanup-margin-mm");

  grid = page (self->stack, ops[OP_GROW].name);
  self->sigma_spin = spin (0.1, 10, 0.5, 1, 2, "Tolerance: standard deviations of the "
                                               "intensity under the label's voxels (seeds)");
  attach_row (grid, 0, "_Tolerance (SD)", self->sigma_spin, "cleanup-grow-sigma");
  self->grow_mm_spin = spin (0.5, 200, 1, 1, 20, "mm: how far from the seeds it may grow");
  attach_row (grid, 1, "Up _to (mm)", self->grow_mm_spin, "cleanup-grow-mm");

  grid = page (self->stack, ops[OP_SMOOTH].name);
  self->smooth_drop = strings_drop (smooth_items);
  attach_row (grid, 0, "M_ethod", self->smooth_drop, "cleanup-smooth-method");
  self->strength_spin = spin (0.1, 20, 0.5, 1, 1, "mm: radius of the median and the "
                                                  "open/close ball, sigma of the Gaussian");
  attach_row (grid, 1, "_Strength (mm)", self->strength_spin, "cleanup-smooth-mm");

  grid = page (self->stack, ops[OP_ISLANDS].name);
  self->islands_drop = strings_drop (islands_items);
  gtk_widget_set_tooltip_text (GTK_WIDGET (self->islands_drop),
                               "Parts connected by faces; \"at the cursor\": click the part "
                               "with the Navigate tool first");
  attach_row (grid, 0, "_Islands", self->islands_drop, "cleanup-islands-mode");
  self->ml_spin = spin (0, 1000, 0.1, 2, 0.1, "mL: parts smaller than this are removed");
  attach_row (grid, 1, "Smaller than (mL)", self->ml_spin, "cleanup-islands-ml");

  grid = page (self->stack, ops[OP_LOGICAL].name);
  self->logic_drop = strings_drop (logic_items);
  attach_row (grid, 0, "O_peration", self->logic_drop, "cleanup-logic-op");
  self->operand_drop = region_drop (self);
  attach_row (grid, 1, "_With", self->operand_drop, "cleanup-logic-operand");
  gtk_box_append (box, GTK_WIDGET (self->stack));

  self->status = GTK_LABEL (gtk_label_new (""));
  gtk_label_set_xalign (self->status, 0);
  gtk_label_set_wrap (self->status, TRUE);
  gtk_widget_set_name (GTK_WIDGET (self->status), "cleanup-status");
  gtk_widget_add_css_class (GTK_WIDGET (self->status), "dim-label");
  gtk_box_append (box, GTK_WIDGET (self->status));

  g_signal_connect (self->op_drop, "notify::selected", G_CALLBACK (op_selected_cb), self);
}

static GtkEventController *
shortcuts_new (void)
{
  GtkEventController *controller = gtk_shortcut_controller_new ();

  gtk_shortcut_controller_set_scope (GTK_SHORTCUT_CONTROLLER (controller),
                                     GTK_SHORTCUT_SCOPE_GLOBAL);
  for (guint i = 0; i < N_OPS; i++)
    {
      GtkShortcut *shortcut = gtk_shortcut_new (gtk_keyval_trigger_new (ops[i].keyval,
                                                                        GDK_SHIFT_MASK),
                                                gtk_named_action_new ("cleanup.apply"));

      gtk_shortcut_set_arguments (shortcut, g_variant_new_string (ops[i].name));
      gtk_shortcut_controller_add_shortcut (GTK_SHORTCUT_CONTROLLER (controller), shortcut);
    }
  gtk_event_controller_set_name (controller, "ns-cleanup-keys");
  return controller;
}

static void
ns_cleanup_panel_dispose (GObject *object)
{
  NsCleanupPanel *self = NS_CLEANUP_PANEL (object);

  if (self->editor != NULL)
    g_signal_handlers_disconnect_by_data (self->editor, self);
  g_clear_object (&self->editor);
  g_clear_object (&self->region_model);
  g_clear_pointer (&self->region_labels, g_array_unref);

  G_OBJECT_CLASS (ns_cleanup_panel_parent_class)->dispose (object);
}

static void
ns_cleanup_panel_class_init (NsCleanupPanelClass *klass)
{
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  G_OBJECT_CLASS (klass)->dispose = ns_cleanup_panel_dispose;
  gtk_widget_class_set_css_name (widget_class, "cleanuppanel");
  gtk_widget_class_install_action (widget_class, "cleanup.apply", "s", apply_action);
}

static void
ns_cleanup_panel_init (NsCleanupPanel *self)
{
  gtk_orientable_set_orientation (GTK_ORIENTABLE (self), GTK_ORIENTATION_VERTICAL);
  gtk_box_set_spacing (GTK_BOX (self), 6);
  self->region_labels = g_array_new (FALSE, FALSE, sizeof (guint8));
}

GtkWidget *
ns_cleanup_panel_new (NsEditor *editor)
{
  NsCleanupPanel *self;

  g_return_val_if_fail (NS_IS_EDITOR (editor), NULL);

  self = g_object_new (NS_TYPE_CLEANUP_PANEL, NULL);
  self->editor = g_object_ref (editor);
  build (self);
  gtk_widget_add_controller (GTK_WIDGET (self), shortcuts_new ());
  g_signal_connect_object (editor, "doc-changed", G_CALLBACK (rebuild_regions), self,
                           G_CONNECT_SWAPPED);
  g_signal_connect_object (editor, "label-table-changed", G_CALLBACK (rebuild_regions), self,
                           G_CONNECT_SWAPPED);
  rebuild_regions (self);
  return GTK_WIDGET (self);
}

const char *
ns_cleanup_panel_get_status (NsCleanupPanel *self)
{
  g_return_val_if_fail (NS_IS_CLEANUP_PANEL (self), NULL);
  return gtk_label_get_text (self->status);
}
