/* SPDX-License-Identifier: MIT
 *
 * ns-refine-panel.c: the Refine tool's options (see ns-refine-panel.h).  Everything is
 * bound to the NsRefine; the panel holds no state of its own.
 */
#define G_LOG_DOMAIN "ns-refine"

#include "ns-refine-panel.h"

struct _NsRefinePanel
{
  GtkBox parent_instance;

  NsRefine *refine;
  GtkLabel *status;
  GtkWidget *apply;
  GtkWidget *discard;
};

G_DEFINE_FINAL_TYPE (NsRefinePanel, ns_refine_panel, GTK_TYPE_BOX)

static void
sync_cb (NsRefinePanel *self)
{
  NsRefine *refine = self->refine;
  NsEditor *editor = ns_refine_get_editor (refine);
  gboolean preview = ns_refine_has_preview (refine);

  gtk_widget_set_visible (GTK_WIDGET (self), ns_editor_get_tool (editor) == NS_TOOL_REFINE
                                             || preview);
  gtk_label_set_text (self->status, ns_refine_get_status (refine));
  /* the reason it cannot run stands out as an error does */
  if (ns_refine_get_available (refine))
    gtk_widget_remove_css_class (GTK_WIDGET (self->status), "error");
  else
    gtk_widget_add_css_class (GTK_WIDGET (self->status), "error");
  gtk_widget_set_sensitive (self->apply, preview);
  gtk_widget_set_sensitive (self->discard, preview || ns_refine_get_n_clicks (refine) > 0);
}

static void
apply_clicked_cb (NsRefinePanel *self)
{
  g_autoptr (GError) error = NULL;

  if (!ns_refine_apply (self->refine, &error))
    gtk_label_set_text (self->status, error->message);
}

static void
discard_clicked_cb (NsRefinePanel *self)
{
  ns_refine_discard (self->refine);
}

static void
ns_refine_panel_dispose (GObject *object)
{
  NsRefinePanel *self = NS_REFINE_PANEL (object);

  if (self->refine != NULL)
    {
      g_signal_handlers_disconnect_by_data (self->refine, self);
      g_signal_handlers_disconnect_by_data (ns_refine_get_editor (self->refine), self);
    }
  g_clear_object (&self->refine);
  G_OBJECT_CLASS (ns_refine_panel_parent_class)->dispose (object);
}

static void
ns_refine_panel_class_init (NsRefinePanelClass *klass)
{
  G_OBJECT_CLASS (klass)->dispose = ns_refine_panel_dispose;
  gtk_widget_class_set_css_name (GTK_WIDGET_CLASS (klass), "refinepanel");
}

static void
ns_refine_panel_init (NsRefinePanel *self)
{
  gtk_orientable_set_orientation (GTK_ORIENTABLE (self), GTK_ORIENTATION_VERTICAL);
  gtk_box_set_spacing (GTK_BOX (self), 4);
}

GtkWidget *
ns_refine_panel_new (NsRefine *refine)
{
  static const char *const regions[] = { "From the label", "Whole tumour (WT)",
                                         "Tumour core (TC)", "Enhancing (ET)", NULL };
  NsRefinePanel *self;
  GtkWidget *label, *row, *drop, *buttons;

  g_return_val_if_fail (NS_IS_REFINE (refine), NULL);

  self = g_object_new (NS_TYPE_REFINE_PANEL, NULL);
  self->refine = g_object_ref (refine);
  gtk_widget_set_name (GTK_WIDGET (self), "refine-panel");

  label = gtk_label_new ("Refine (AI)");
  gtk_label_set_xalign (GTK_LABEL (label), 0);
  gtk_widget_add_css_class (label, "heading");
  gtk_box_append (GTK_BOX (self), label);

  row = gtk_box_new (GTK_ORIENTATION_HORIZONTAL, 8);
  label = gtk_label_new ("Region");
  gtk_box_append (GTK_BOX (row), label);
  drop = gtk_drop_down_new_from_strings (regions);
  gtk_widget_set_name (drop, "refine-region");
  gtk_widget_set_hexpand (drop, TRUE);
  gtk_widget_set_tooltip_text (drop, "The region the clicks correct; from the label: "
                                     "edema WT, necrosis TC, enhancing ET");
  g_object_bind_property (refine, "region", drop, "selected",
                          G_BINDING_BIDIRECTIONAL | G_BINDING_SYNC_CREATE);
  gtk_box_append (GTK_BOX (row), drop);
  gtk_box_append (GTK_BOX (self), row);

  label = gtk_check_button_new_with_label ("Carry to neighbouring slices");
  gtk_widget_set_name (label, "refine-propagate");
  gtk_widget_set_tooltip_text (label, "After the slice under the click, the correction goes "
                                      "on to the slices next to it until it dies out");
  g_object_bind_property (refine, "propagate", label, "active",
                          G_BINDING_BIDIRECTIONAL | G_BINDING_SYNC_CREATE);
  gtk_box_append (GTK_BOX (self), label);

  self->status = GTK_LABEL (gtk_label_new (NULL));
  gtk_widget_set_name (GTK_WIDGET (self->status), "refine-status");
  gtk_label_set_wrap (self->status, TRUE);
  gtk_label_set_max_width_chars (self->status, 30);
  gtk_label_set_xalign (self->status, 0);
  gtk_box_append (GTK_BOX (self), GTK_WIDGET (self->status));

  buttons = gtk_box_new (GTK_ORIENTATION_HORIZONTAL, 6);
  gtk_widget_set_halign (buttons, GTK_ALIGN_END);
  self->discard = gtk_button_new_with_label ("Discard");
  gtk_widget_set_name (self->discard, "refine-discard");
  gtk_widget_set_tooltip_text (self->discard, "Drop the preview (Escape)");
  g_signal_connect_swapped (self->discard, "clicked", G_CALLBACK (discard_clicked_cb), self);
  gtk_box_append (GTK_BOX (buttons), self->discard);
  self->apply = gtk_button_new_with_label ("Apply");
  gtk_widget_set_name (self->apply, "refine-apply");
  gtk_widget_add_css_class (self->apply, "suggested-action");
  gtk_widget_set_tooltip_text (self->apply, "Put the preview into the mask as one undoable "
                                            "step (Enter)");
  g_signal_connect_swapped (self->apply, "clicked", G_CALLBACK (apply_clicked_cb), self);
  gtk_box_append (GTK_BOX (buttons), self->apply);
  gtk_box_append (GTK_BOX (self), buttons);

  g_signal_connect_object (refine, "notify", G_CALLBACK (sync_cb), self, G_CONNECT_SWAPPED);
  g_signal_connect_object (ns_refine_get_editor (refine), "notify::tool", G_CALLBACK (sync_cb),
                           self, G_CONNECT_SWAPPED);
  sync_cb (self);
  return GTK_WIDGET (self);
}
