/* SPDX-License-Identifier: MIT
 *
 * ns-layer-panel.c: the layer list (see ns-layer-panel.h).  Static parts come from
 * resources/ui/ns-layer-panel.ui; the modality rows and the label class rows are rebuilt
 * when the viewer's case changes, since they depend on what the case holds.  The
 * modality rows and the overlay mode buttons are bound to the window's view.* actions,
 * so the menu and the panel always agree.
 */
#define G_LOG_DOMAIN "ns-layer-panel"

#include "ns-layer-panel.h"

#include "ns-heat-legend.h"
#include "ns-ui.h"

#include <math.h>
#include <string.h>

struct _NsLayerPanel
{
  GtkBox parent_instance;

  NsViewer *viewer;
  GBinding *opacity_binding;
  GBinding *heat_binding;
  gboolean updating;             /* spin buttons being set from the viewer */
  GtkWidget *label_checks[256];
  GtkWidget *label_colours[256];

  /* template children */
  GtkListBox *image_list;
  GtkSpinButton *window_spin;
  GtkSpinButton *level_spin;
  GtkAdjustment *window_adjustment;
  GtkAdjustment *level_adjustment;
  GtkAdjustment *opacity_adjustment;
  GtkLabel *labels_file_label;
  GtkListBox *label_list;
  GtkWidget *heat_legend;

  /* The label map the rows were built for and its file: the editor swaps in its mask
   * (ns_viewer_set_labels) and Save As renames it, without a new case. */
  NsLabelMap *rows_labels;       /* not owned; compared only */
  char *rows_labels_path;
};

G_DEFINE_FINAL_TYPE (NsLayerPanel, ns_layer_panel, GTK_TYPE_BOX)

enum {
  PROP_0,
  PROP_VIEWER,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

static void
clear_list (GtkListBox *list)
{
  GtkWidget *child;

  while ((child = gtk_widget_get_first_child (GTK_WIDGET (list))) != NULL)
    gtk_list_box_remove (list, child);
}

/* ---- window / level ------------------------------------------------------------------------ */

static void
sync_window_level (NsLayerPanel *self)
{
  double window, level, step;

  if (self->viewer == NULL)
    return;
  ns_viewer_get_window_level (self->viewer, &window, &level);
  /* Steps of about 1 % of the window, rounded to a power of ten. */
  step = pow (10.0, floor (log10 (MAX (window, 1e-6) / 100.0)));
  self->updating = TRUE;
  /* Enough decimals for the step: raw scanner values need none, z-scores two. */
  gtk_spin_button_set_digits (self->window_spin, (guint) CLAMP (-log10 (step), 0, 6));
  gtk_spin_button_set_digits (self->level_spin, (guint) CLAMP (-log10 (step), 0, 6));
  gtk_adjustment_configure (self->window_adjustment, window, 1e-6, 1e9, step, step * 10, 0);
  gtk_adjustment_configure (self->level_adjustment, level, -1e9, 1e9, step, step * 10, 0);
  self->updating = FALSE;
}

static void
window_level_spin_changed_cb (NsLayerPanel *self, GtkSpinButton *spin)
{
  if (self->updating || self->viewer == NULL)
    return;
  ns_viewer_set_window_level (self->viewer, gtk_adjustment_get_value (self->window_adjustment),
                              gtk_adjustment_get_value (self->level_adjustment));
}

/* ---- rows ---------------------------------------------------------------------------------- */

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
label_visible_toggled_cb (GtkCheckButton *check, NsLayerPanel *self)
{
  guint8 value = row_value (self->label_checks, check);

  if (self->viewer != NULL && value != 0)
    ns_viewer_set_label_visible (self->viewer, value, gtk_check_button_get_active (check));
}

static void
label_colour_set_cb (GtkColorButton *button, NsLayerPanel *self)
{
  guint8 value = row_value (self->label_colours, button);
  GdkRGBA rgba;
  guint32 rgb;

  if (value == 0)
    return;
  gtk_color_chooser_get_rgba (GTK_COLOR_CHOOSER (button), &rgba);
  rgb = ((guint32) (rgba.red * 255 + 0.5) << 16) | ((guint32) (rgba.green * 255 + 0.5) << 8)
        | (guint32) (rgba.blue * 255 + 0.5);
  if (self->viewer != NULL)
    ns_viewer_set_label_rgb (self->viewer, value, rgb);
}

/* What the labels are: the viewer's words for it (a prediction, an edited file), else
 * their file's name; the full path in the tooltip. */
static void
update_labels_source (NsLayerPanel *self)
{
  NsLabelMap *labels = self->viewer != NULL ? ns_viewer_get_labels (self->viewer) : NULL;
  const char *source = self->viewer != NULL ? ns_viewer_get_labels_source (self->viewer) : NULL;
  g_autofree char *base = NULL;

  if (labels == NULL)
    return;
  if (source == NULL && labels->path != NULL)
    source = base = g_path_get_basename (labels->path);
  gtk_label_set_text (self->labels_file_label, source != NULL ? source : "");
  gtk_widget_set_tooltip_text (GTK_WIDGET (self->labels_file_label), labels->path);
}

static void
rebuild_rows (NsLayerPanel *self)
{
  const NsLabelClass *infos;
  NsLabelMap *labels;
  guint n_infos;

  clear_list (self->image_list);
  clear_list (self->label_list);
  self->rows_labels = self->viewer != NULL ? ns_viewer_get_labels (self->viewer) : NULL;
  g_free (self->rows_labels_path);
  self->rows_labels_path = self->rows_labels != NULL ? g_strdup (self->rows_labels->path) : NULL;
  memset (self->label_checks, 0, sizeof self->label_checks);
  memset (self->label_colours, 0, sizeof self->label_colours);
  if (self->viewer == NULL || !ns_viewer_has_case (self->viewer))
    {
      gtk_label_set_text (self->labels_file_label, "");
      return;
    }

  for (guint i = 0; i < ns_viewer_get_n_images (self->viewer); i++)
    {
      const char *name = ns_viewer_get_image_name (self->viewer, i);
      NsVolume *volume = ns_viewer_get_image (self->viewer, i);
      GtkWidget *check = gtk_check_button_new_with_label (ns_viewer_modality_label (name));
      g_autofree char *tip = NULL;

      gtk_actionable_set_action_name (GTK_ACTIONABLE (check), "view.modality");
      gtk_actionable_set_action_target (GTK_ACTIONABLE (check), "s", name);
      if (volume->path != NULL)
        {
          tip = g_path_get_basename (volume->path);
          gtk_widget_set_tooltip_text (check, tip);
        }
      gtk_list_box_append (self->image_list, check);
    }

  labels = ns_viewer_get_labels (self->viewer);
  if (labels == NULL)
    {
      gtk_label_set_text (self->labels_file_label, "No label map in this case");
      return;
    }
  update_labels_source (self);

  infos = ns_viewer_get_label_classes (self->viewer, &n_infos);
  for (guint i = 0; i < n_infos; i++)
    {
      guint8 value = infos[i].value;
      guint32 rgb = ns_viewer_get_label_rgb (self->viewer, value);
      GdkRGBA rgba = { ((rgb >> 16) & 0xff) / 255.0, ((rgb >> 8) & 0xff) / 255.0,
                       (rgb & 0xff) / 255.0, 1.0 };
      g_autofree char *text = g_strdup_printf ("%u  %s", value, infos[i].name);
      /* "1  Necrotic and ...": the scheme's names are lower case. */
      text[3] = g_ascii_toupper (text[3]);
      GtkWidget *box = gtk_box_new (GTK_ORIENTATION_HORIZONTAL, 6);
      GtkWidget *check = gtk_check_button_new_with_label (text);
      GtkWidget *colour = gtk_color_button_new_with_rgba (&rgba);
      g_autofree char *tip = g_strdup_printf ("Show label %u (%s)", value,
                                              infos[i].short_name);

      gtk_check_button_set_active (GTK_CHECK_BUTTON (check),
                                   ns_viewer_get_label_visible (self->viewer, value));
      gtk_widget_set_hexpand (check, TRUE);
      gtk_widget_set_tooltip_text (check, tip);
      g_signal_connect (check, "toggled", G_CALLBACK (label_visible_toggled_cb), self);

      gtk_color_chooser_set_use_alpha (GTK_COLOR_CHOOSER (colour), FALSE);
      gtk_color_button_set_modal (GTK_COLOR_BUTTON (colour), TRUE);
      gtk_widget_set_tooltip_text (colour, "Colour of this class");
      g_signal_connect (colour, "color-set", G_CALLBACK (label_colour_set_cb), self);

      gtk_box_append (GTK_BOX (box), check);
      gtk_box_append (GTK_BOX (box), colour);
      gtk_list_box_append (self->label_list, box);
      self->label_checks[value] = check;
      self->label_colours[value] = colour;
    }
}

static void
viewer_labels_changed_cb (NsLayerPanel *self, NsViewer *viewer)
{
  NsLabelMap *labels = ns_viewer_get_labels (viewer);

  if (labels != self->rows_labels
      || g_strcmp0 (labels != NULL ? labels->path : NULL, self->rows_labels_path) != 0)
    rebuild_rows (self);
}

static void
viewer_case_changed_cb (NsLayerPanel *self, NsViewer *viewer)
{
  rebuild_rows (self);
  sync_window_level (self);
}

static void
viewer_display_changed_cb (NsLayerPanel *self, NsViewer *viewer)
{
  sync_window_level (self);
  for (guint v = 1; v < 256; v++)
    {
      if (self->label_checks[v] != NULL)
        gtk_check_button_set_active (GTK_CHECK_BUTTON (self->label_checks[v]),
                                     ns_viewer_get_label_visible (viewer, v));
      if (self->label_colours[v] != NULL)
        {
          guint32 rgb = ns_viewer_get_label_rgb (viewer, v);
          GdkRGBA want = { ((rgb >> 16) & 0xff) / 255.0, ((rgb >> 8) & 0xff) / 255.0,
                           (rgb & 0xff) / 255.0, 1.0 };
          GdkRGBA have;

          gtk_color_chooser_get_rgba (GTK_COLOR_CHOOSER (self->label_colours[v]), &have);
          if (!gdk_rgba_equal (&want, &have))
            gtk_color_chooser_set_rgba (GTK_COLOR_CHOOSER (self->label_colours[v]), &want);
        }
    }
}

/* ---- GObject ------------------------------------------------------------------------------- */

static void
ns_layer_panel_dispose (GObject *object)
{
  NsLayerPanel *self = NS_LAYER_PANEL (object);

  ns_layer_panel_set_viewer (self, NULL);
  g_clear_pointer (&self->rows_labels_path, g_free);
  gtk_widget_dispose_template (GTK_WIDGET (self), NS_TYPE_LAYER_PANEL);

  G_OBJECT_CLASS (ns_layer_panel_parent_class)->dispose (object);
}

static void
ns_layer_panel_get_property (GObject *object, guint prop_id, GValue *value,
                             GParamSpec *pspec)
{
  NsLayerPanel *self = NS_LAYER_PANEL (object);

  switch (prop_id)
    {
    case PROP_VIEWER:
      g_value_set_object (value, self->viewer);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
ns_layer_panel_set_property (GObject *object, guint prop_id, const GValue *value,
                             GParamSpec *pspec)
{
  NsLayerPanel *self = NS_LAYER_PANEL (object);

  switch (prop_id)
    {
    case PROP_VIEWER:
      ns_layer_panel_set_viewer (self, g_value_get_object (value));
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
ns_layer_panel_class_init (NsLayerPanelClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->dispose = ns_layer_panel_dispose;
  object_class->get_property = ns_layer_panel_get_property;
  object_class->set_property = ns_layer_panel_set_property;

  properties[PROP_VIEWER] =
    g_param_spec_object ("viewer", NULL, NULL, NS_TYPE_VIEWER,
                         G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  g_object_class_install_properties (object_class, N_PROPS, properties);

  g_type_ensure (NS_TYPE_HEAT_LEGEND);
  ns_ui_ensure_resources ();
  gtk_widget_class_set_template_from_resource (widget_class,
                                               "/org/neuroseg/Neuroseg/ui/ns-layer-panel.ui");
  gtk_widget_class_bind_template_child (widget_class, NsLayerPanel, image_list);
  gtk_widget_class_bind_template_child (widget_class, NsLayerPanel, window_spin);
  gtk_widget_class_bind_template_child (widget_class, NsLayerPanel, level_spin);
  gtk_widget_class_bind_template_child (widget_class, NsLayerPanel, window_adjustment);
  gtk_widget_class_bind_template_child (widget_class, NsLayerPanel, level_adjustment);
  gtk_widget_class_bind_template_child (widget_class, NsLayerPanel, opacity_adjustment);
  gtk_widget_class_bind_template_child (widget_class, NsLayerPanel, labels_file_label);
  gtk_widget_class_bind_template_child (widget_class, NsLayerPanel, label_list);
  gtk_widget_class_bind_template_child (widget_class, NsLayerPanel, heat_legend);
  gtk_widget_class_bind_template_callback (widget_class, window_level_spin_changed_cb);
  gtk_widget_class_set_css_name (widget_class, "layerpanel");
}

static void
ns_layer_panel_init (NsLayerPanel *self)
{
  gtk_widget_init_template (GTK_WIDGET (self));
}

NsViewer *
ns_layer_panel_get_viewer (NsLayerPanel *self)
{
  g_return_val_if_fail (NS_IS_LAYER_PANEL (self), NULL);
  return self->viewer;
}

void
ns_layer_panel_set_viewer (NsLayerPanel *self, NsViewer *viewer)
{
  g_return_if_fail (NS_IS_LAYER_PANEL (self));
  g_return_if_fail (viewer == NULL || NS_IS_VIEWER (viewer));

  if (self->viewer == viewer)
    return;
  if (self->viewer != NULL)
    {
      g_clear_pointer (&self->opacity_binding, g_binding_unbind);
      g_clear_pointer (&self->heat_binding, g_binding_unbind);
      g_signal_handlers_disconnect_by_data (self->viewer, self);
    }
  g_set_object (&self->viewer, viewer);
  if (viewer != NULL)
    {
      g_signal_connect_object (viewer, "case-changed", G_CALLBACK (viewer_case_changed_cb),
                               self, G_CONNECT_SWAPPED);
      g_signal_connect_object (viewer, "display-changed",
                               G_CALLBACK (viewer_display_changed_cb), self,
                               G_CONNECT_SWAPPED);
      g_signal_connect_object (viewer, "labels-changed",
                               G_CALLBACK (viewer_labels_changed_cb), self,
                               G_CONNECT_SWAPPED);
      g_signal_connect_object (viewer, "notify::labels-source",
                               G_CALLBACK (update_labels_source), self, G_CONNECT_SWAPPED);
      /* the overlay's legend shows with the overlay */
      self->heat_binding = g_object_bind_property (viewer, "show-heat", self->heat_legend,
                                                   "visible", G_BINDING_SYNC_CREATE);
      self->opacity_binding =
        g_object_bind_property (viewer, "opacity", self->opacity_adjustment, "value",
                                G_BINDING_BIDIRECTIONAL | G_BINDING_SYNC_CREATE);
    }
  rebuild_rows (self);
  sync_window_level (self);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_VIEWER]);
}

GtkWidget *
ns_layer_panel_get_label_check (NsLayerPanel *self, guint8 value)
{
  g_return_val_if_fail (NS_IS_LAYER_PANEL (self), NULL);
  return self->label_checks[value];
}

GtkWidget *
ns_layer_panel_get_label_colour_button (NsLayerPanel *self, guint8 value)
{
  g_return_val_if_fail (NS_IS_LAYER_PANEL (self), NULL);
  return self->label_colours[value];
}

const char *
ns_layer_panel_get_labels_source_text (NsLayerPanel *self)
{
  g_return_val_if_fail (NS_IS_LAYER_PANEL (self), NULL);
  return gtk_label_get_text (self->labels_file_label);
}

GtkWidget *
ns_layer_panel_get_heat_legend (NsLayerPanel *self)
{
  g_return_val_if_fail (NS_IS_LAYER_PANEL (self), NULL);
  return self->heat_legend;
}

GtkAdjustment *
ns_layer_panel_get_opacity_adjustment (NsLayerPanel *self)
{
  g_return_val_if_fail (NS_IS_LAYER_PANEL (self), NULL);
  return self->opacity_adjustment;
}
