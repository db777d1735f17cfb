/* SPDX-License-Identifier: MIT
 *
 * ns-add-label-dialog.c: Edit > Add Label… (see ns-add-label-dialog.h); the layout is
 * resources/ui/ns-add-label-dialog.ui.
 */
#define G_LOG_DOMAIN "ns-add-label-dialog"

#include "ns-add-label-dialog.h"

#include <math.h>

#include "ns-ui.h"

struct _NsAddLabelDialog
{
  GtkDialog parent_instance;

  /* template children */
  GtkEditable *name_entry;
  GtkSpinButton *value_spin;
  GtkColorChooser *colour_button;
};

G_DEFINE_FINAL_TYPE (NsAddLabelDialog, ns_add_label_dialog, GTK_TYPE_DIALOG)

static void
ns_add_label_dialog_dispose (GObject *object)
{
  gtk_widget_dispose_template (GTK_WIDGET (object), NS_TYPE_ADD_LABEL_DIALOG);
  G_OBJECT_CLASS (ns_add_label_dialog_parent_class)->dispose (object);
}

static void
ns_add_label_dialog_class_init (NsAddLabelDialogClass *klass)
{
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  G_OBJECT_CLASS (klass)->dispose = ns_add_label_dialog_dispose;
  ns_ui_ensure_resources ();
  gtk_widget_class_set_template_from_resource (widget_class,
                                               "/org/neuroseg/Neuroseg/ui/ns-add-label-dialog.ui");
  gtk_widget_class_bind_template_child (widget_class, NsAddLabelDialog, name_entry);
  gtk_widget_class_bind_template_child (widget_class, NsAddLabelDialog, value_spin);
  gtk_widget_class_bind_template_child (widget_class, NsAddLabelDialog, colour_button);
}

static void
ns_add_label_dialog_init (NsAddLabelDialog *self)
{
  gtk_widget_init_template (GTK_WIDGET (self));
}

NsAddLabelDialog *
ns_add_label_dialog_new (GtkWindow *parent, guint8 value)
{
  NsAddLabelDialog *self = g_object_new (NS_TYPE_ADD_LABEL_DIALOG, "transient-for", parent,
                                         NULL);

  gtk_spin_button_set_value (self->value_spin, MAX (value, 1));
  return self;
}

const char *
ns_add_label_dialog_get_name (NsAddLabelDialog *self)
{
  const char *name;

  g_return_val_if_fail (NS_IS_ADD_LABEL_DIALOG (self), NULL);
  name = gtk_editable_get_text (self->name_entry);
  return name[0] != '\0' ? name : "Label";
}

guint8
ns_add_label_dialog_get_value (NsAddLabelDialog *self)
{
  g_return_val_if_fail (NS_IS_ADD_LABEL_DIALOG (self), 0);
  return (guint8) CLAMP (gtk_spin_button_get_value_as_int (self->value_spin), 1, 255);
}

void
ns_add_label_dialog_get_rgb (NsAddLabelDialog *self, guint8 rgb[3])
{
  GdkRGBA rgba;

  g_return_if_fail (NS_IS_ADD_LABEL_DIALOG (self));
  gtk_color_chooser_get_rgba (self->colour_button, &rgba);
  rgb[0] = (guint8) lround (CLAMP (rgba.red, 0, 1) * 255);
  rgb[1] = (guint8) lround (CLAMP (rgba.green, 0, 1) * 255);
  rgb[2] = (guint8) lround (CLAMP (rgba.blue, 0, 1) * 255);
}

void
ns_add_label_dialog_set (NsAddLabelDialog *self, const char *name, guint8 value,
                         const guint8 rgb[3])
{
  GdkRGBA rgba = { rgb[0] / 255.0, rgb[1] / 255.0, rgb[2] / 255.0, 1 };

  g_return_if_fail (NS_IS_ADD_LABEL_DIALOG (self));
  gtk_editable_set_text (self->name_entry, name);
  gtk_spin_button_set_value (self->value_spin, value);
  gtk_color_chooser_set_rgba (self->colour_button, &rgba);
}
