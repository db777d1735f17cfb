/* SPDX-License-Identifier: MIT
 *
 * ns-add-label-dialog.h: Edit > Add Label…: the name, value (1-255) and colour of a new
 * label of the mask's table.  A GtkDialog: GTK_RESPONSE_OK adds, GTK_RESPONSE_CANCEL not.
 */
#pragma once

#include <gtk/gtk.h>

G_BEGIN_DECLS

#define NS_TYPE_ADD_LABEL_DIALOG (ns_add_label_dialog_get_type ())

G_DECLARE_FINAL_TYPE (NsAddLabelDialog, ns_add_label_dialog, NS, ADD_LABEL_DIALOG, GtkDialog)

/* value: the value offered (the table's next free one). */
NsAddLabelDialog *ns_add_label_dialog_new     (GtkWindow *parent, guint8 value);
/* The name typed ("Label" when none). */
const char       *ns_add_label_dialog_get_name  (NsAddLabelDialog *self);
guint8            ns_add_label_dialog_get_value (NsAddLabelDialog *self);
void              ns_add_label_dialog_get_rgb   (NsAddLabelDialog *self, guint8 rgb[3]);
/* Fills the fields as a person would (tests, scripts). */
void              ns_add_label_dialog_set       (NsAddLabelDialog *self, const char *name,
                                                 guint8 value, const guint8 rgb[3]);

G_END_DECLS
