/* SPDX-License-Identifier: MIT
 *
 * ns-islands-dialog.c: Edit > Remove Small Islands… (see ns-islands-dialog.h); the layout
 * is resources/ui/ns-islands-dialog.ui.
 */
#define G_LOG_DOMAIN "ns-islands-dialog"

#include "ns-islands-dialog.h"

#include "ns-ui.h"

struct _NsIslandsDialog
{
  GtkDialog parent_instance;

  /* template children */
  GtkLabel *prompt_label;
  GtkSpinButton *ml_spin;
};

G_DEFINE_FINAL_TYPE (NsIslandsDialog, ns_islands_dialog, GTK_TYPE_DIALOG)

static void
ns_islands_dialog_dispose (GObject *object)
{
  gtk_widget_dispose_template (GTK_WIDGET (object), NS_TYPE_ISLANDS_DIALOG);
  G_OBJECT_CLASS (ns_islands_dialog_parent_class)->dispose (object);
}

static void
ns_islands_dialog_class_init (NsIslandsDialogClass *klass)
{
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  G_OBJECT_CLASS (klass)->dispose = ns_islands_dialog_dispose;
  ns_ui_ensure_resources ();
  gtk_widget_class_set_template_from_resource (widget_class,
                                               "/org/neuroseg/Neuroseg/ui/ns-islands-dialog.ui");
  gtk_widget_class_bind_template_child (widget_class, NsIslandsDialog, prompt_label);
  gtk_widget_class_bind_template_child (widget_class, NsIslandsDialog, ml_spin);
}

static void
ns_islands_dialog_init (NsIslandsDialog *self)
{
  gtk_widget_init_template (GTK_WIDGET (self));
}

NsIslandsDialog *
ns_islands_dialog_new (GtkWindow *parent, guint8 label, const char *label_name)
{
  NsIslandsDialog *self = g_object_new (NS_TYPE_ISLANDS_DIALOG, "transient-for", parent,
                                        NULL);
  g_autofree char *text =
    g_strdup_printf ("Remove the connected parts of label %u %s _smaller than (mL):", label,
                     label_name != NULL ? label_name : "");

  gtk_label_set_text_with_mnemonic (self->prompt_label, text);
  return self;
}

double
ns_islands_dialog_get_min_ml (NsIslandsDialog *self)
{
  g_return_val_if_fail (NS_IS_ISLANDS_DIALOG (self), 0);
  return gtk_spin_button_get_value (self->ml_spin);
}

void
ns_islands_dialog_set_min_ml (NsIslandsDialog *self, double ml)
{
  g_return_if_fail (NS_IS_ISLANDS_DIALOG (self));
  gtk_spin_button_set_value (self->ml_spin, ml);
}
