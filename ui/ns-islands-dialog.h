/* SPDX-License-Identifier: MIT
 *
 * ns-islands-dialog.h: Edit > Remove Small Islands…: the smallest volume (mL) a connected
 * part of the active label keeps.  A GtkDialog: GTK_RESPONSE_OK removes.
 */
#pragma once

#include <gtk/gtk.h>

G_BEGIN_DECLS

#define NS_TYPE_ISLANDS_DIALOG (ns_islands_dialog_get_type ())

G_DECLARE_FINAL_TYPE (NsIslandsDialog, ns_islands_dialog, NS, ISLANDS_DIALOG, GtkDialog)

/* label, label_name: the label whose small parts go (name may be NULL). */
NsIslandsDialog *ns_islands_dialog_new        (GtkWindow *parent, guint8 label,
                                               const char *label_name);
double           ns_islands_dialog_get_min_ml (NsIslandsDialog *self);
void             ns_islands_dialog_set_min_ml (NsIslandsDialog *self, double ml);

G_END_DECLS
