/* SPDX-License-Identifier: MIT
 *
 * ns-image-overlay-panel.c: the sequence overlay's controls (see ns-image-overlay-panel.h):
 * a drop-down of "None" and the case's sequences (rebuilt for each case), one of
 * render/'s colour maps, and an opacity slider.  Each change goes to the viewer at once.
 */
#define G_LOG_DOMAIN "ns-image-overlay-panel"

#include "ns-image-overlay-panel.h"

struct _NsImageOverlayPanel
{
  GtkBox parent_instance;

  NsViewer *viewer;
  GtkStringList *sequences;      /* "None", then the case's images in order */
  GtkDropDown *sequence_drop;
  GtkDropDown *colormap_drop;
  GtkScale *opacity_scale;
  gboolean syncing;              /* showing the viewer's state: no writes back */
};

G_DEFINE_FINAL_TYPE (NsImageOverlayPanel, ns_image_overlay_panel, GTK_TYPE_BOX)

/* The colour maps offered, in drop-down order (grey is the image's own). */
static const NsColormap colormaps[] = { NS_COLORMAP_HOT, NS_COLORMAP_VIRIDIS, NS_COLORMAP_JET,
                                        NS_COLORMAP_GREY };

static void
apply (NsImageOverlayPanel *self)
{
  guint selected = gtk_drop_down_get_selected (self->sequence_drop);
  guint map = gtk_drop_down_get_selected (self->colormap_drop);

  if (self->syncing || self->viewer == NULL)
    return;
  ns_viewer_set_image_overlay (self->viewer,
                               selected == GTK_INVALID_LIST_POSITION ? -1 : (int) selected - 1,
                               colormaps[map < G_N_ELEMENTS (colormaps) ? map : 0],
                               gtk_range_get_value (GTK_RANGE (self->opacity_scale)));
}

static void
viewer_case_changed_cb (NsImageOverlayPanel *self)
{
  guint n = ns_viewer_get_n_images (self->viewer);
  guint n_old = g_list_model_get_n_items (G_LIST_MODEL (self->sequences));
  g_autoptr (GPtrArray) names = g_ptr_array_new ();

  g_ptr_array_add (names, (gpointer) "None");
  for (guint i = 0; i < n; i++)
    g_ptr_array_add (names, (gpointer) ns_viewer_modality_label (
                              ns_viewer_get_image_name (self->viewer, i)));
  g_ptr_array_add (names, NULL);
  /* a new case has no overlay (the viewer cleared it) */
  self->syncing = TRUE;
  gtk_string_list_splice (self->sequences, 0, n_old, (const char *const *) names->pdata);
  gtk_drop_down_set_selected (self->sequence_drop, 0);
  self->syncing = FALSE;
  gtk_widget_set_sensitive (GTK_WIDGET (self), n > 1);
}

static void
ns_image_overlay_panel_dispose (GObject *object)
{
  NsImageOverlayPanel *self = NS_IMAGE_OVERLAY_PANEL (object);

  if (self->viewer != NULL)
    g_signal_handlers_disconnect_by_data (self->viewer, self);
  g_clear_object (&self->viewer);
  g_clear_object (&self->sequences);

  G_OBJECT_CLASS (ns_image_overlay_panel_parent_class)->dispose (object);
}

static void
ns_image_overlay_panel_class_init (NsImageOverlayPanelClass *klass)
{
  G_OBJECT_CLASS (klass)->dispose = ns_image_overlay_panel_dispose;
  gtk_widget_class_set_css_name (GTK_WIDGET_CLASS (klass), "imageoverlaypanel");
}

static void
ns_image_overlay_panel_init (NsImageOverlayPanel *self)
{
  static const char *const map_names[] = { "Hot", "Viridis", "Jet", "Grey", NULL };
  GtkWidget *heading = gtk_label_new ("Sequence overlay");
  GtkWidget *grid = gtk_grid_new ();
  GtkWidget *label;

  G_STATIC_ASSERT (G_N_ELEMENTS (map_names) == G_N_ELEMENTS (colormaps) + 1);

  gtk_orientable_set_orientation (GTK_ORIENTABLE (self), GTK_ORIENTATION_VERTICAL);
  gtk_box_set_spacing (GTK_BOX (self), 6);
  gtk_label_set_xalign (GTK_LABEL (heading), 0);
  gtk_widget_add_css_class (heading, "heading");
  gtk_box_append (GTK_BOX (self), heading);

  gtk_grid_set_row_spacing (GTK_GRID (grid), 4);
  gtk_grid_set_column_spacing (GTK_GRID (grid), 8);

  self->sequences = gtk_string_list_new ((const char *const[]) { "None", NULL });
  self->sequence_drop =
    GTK_DROP_DOWN (gtk_drop_down_new (G_LIST_MODEL (g_object_ref (self->sequences)), NULL));
  gtk_widget_set_name (GTK_WIDGET (self->sequence_drop), "overlay-sequence");
  gtk_widget_set_hexpand (GTK_WIDGET (self->sequence_drop), TRUE);
  gtk_widget_set_tooltip_text (GTK_WIDGET (self->sequence_drop),
                               "A second sequence drawn over the one shown, between the image "
                               "and the labels, in every view");
  label = gtk_label_new_with_mnemonic ("Se_quence");
  gtk_label_set_mnemonic_widget (GTK_LABEL (label), GTK_WIDGET (self->sequence_drop));
  gtk_label_set_xalign (GTK_LABEL (label), 0);
  gtk_grid_attach (GTK_GRID (grid), label, 0, 0, 1, 1);
  gtk_grid_attach (GTK_GRID (grid), GTK_WIDGET (self->sequence_drop), 1, 0, 1, 1);

  self->colormap_drop = GTK_DROP_DOWN (gtk_drop_down_new_from_strings (map_names));
  gtk_widget_set_name (GTK_WIDGET (self->colormap_drop), "overlay-colormap");
  label = gtk_label_new_with_mnemonic ("Colour _map");
  gtk_label_set_mnemonic_widget (GTK_LABEL (label), GTK_WIDGET (self->colormap_drop));
  gtk_label_set_xalign (GTK_LABEL (label), 0);
  gtk_grid_attach (GTK_GRID (grid), label, 0, 1, 1, 1);
  gtk_grid_attach (GTK_GRID (grid), GTK_WIDGET (self->colormap_drop), 1, 1, 1, 1);

  self->opacity_scale =
    GTK_SCALE (gtk_scale_new_with_range (GTK_ORIENTATION_HORIZONTAL, 0.0, 1.0, 0.05));
  gtk_widget_set_name (GTK_WIDGET (self->opacity_scale), "overlay-opacity");
  gtk_range_set_value (GTK_RANGE (self->opacity_scale), 0.5);
  gtk_scale_set_digits (self->opacity_scale, 2);
  gtk_scale_set_draw_value (self->opacity_scale, TRUE);
  label = gtk_label_new_with_mnemonic ("_Opacity");
  gtk_label_set_mnemonic_widget (GTK_LABEL (label), GTK_WIDGET (self->opacity_scale));
  gtk_label_set_xalign (GTK_LABEL (label), 0);
  gtk_grid_attach (GTK_GRID (grid), label, 0, 2, 1, 1);
  gtk_grid_attach (GTK_GRID (grid), GTK_WIDGET (self->opacity_scale), 1, 2, 1, 1);
  gtk_box_append (GTK_BOX (self), grid);

  g_signal_connect_swapped (self->sequence_drop, "notify::selected", G_CALLBACK (apply), self);
  g_signal_connect_swapped (self->colormap_drop, "notify::selected", G_CALLBACK (apply), self);
  g_signal_connect_swapped (self->opacity_scale, "value-changed", G_CALLBACK (apply), self);
}

GtkWidget *
ns_image_overlay_panel_new (NsViewer *viewer)
{
  NsImageOverlayPanel *self;

  g_return_val_if_fail (NS_IS_VIEWER (viewer), NULL);

  self = g_object_new (NS_TYPE_IMAGE_OVERLAY_PANEL, NULL);
  self->viewer = g_object_ref (viewer);
  g_signal_connect_object (viewer, "case-changed", G_CALLBACK (viewer_case_changed_cb), self,
                           G_CONNECT_SWAPPED);
  viewer_case_changed_cb (self);
  return GTK_WIDGET (self);
}
