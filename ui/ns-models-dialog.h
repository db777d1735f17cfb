/* SPDX-License-Identifier: MIT
 *
 * ns-models-dialog.h: Training > Models…: the registered model versions side by side
 * (version, date, parent, validation WT/TC/ET Dice, status, which is the default);
 * Promote first shows how the chosen version compares with the current default on the
 * same validation cases and makes it the default only when confirmed; Roll back returns
 * to the previous default (or the selected earlier version).
 */
#pragma once

#include <gtk/gtk.h>

G_BEGIN_DECLS

#define NS_TYPE_MODELS_DIALOG (ns_models_dialog_get_type ())

G_DECLARE_FINAL_TYPE (NsModelsDialog, ns_models_dialog, NS, MODELS_DIALOG, GtkWindow)

/* Signal "default-changed" (int version). */
NsModelsDialog *ns_models_dialog_new         (GtkWindow *parent, const char *db_path);
gboolean        ns_models_dialog_refresh     (NsModelsDialog *self, GError **error);
guint           ns_models_dialog_get_n_rows  (NsModelsDialog *self);
/* The version in row index, and the row's text as shown (owned). */
int             ns_models_dialog_get_version (NsModelsDialog *self, guint index);
char           *ns_models_dialog_dup_row_text (NsModelsDialog *self, guint index);
void            ns_models_dialog_select      (NsModelsDialog *self, int version);
/* The comparison Promote shows: the candidate against the current default, Dice by
 * region, and whether their validation cases are the same (owned). */
char           *ns_models_dialog_dup_comparison (NsModelsDialog *self, int version,
                                                 GError **error);
/* Promote without asking (what the confirmation's Promote button does). */
gboolean        ns_models_dialog_promote     (NsModelsDialog *self, int version,
                                              GError **error);
/* version 0: the default before the current one. */
gboolean        ns_models_dialog_rollback    (NsModelsDialog *self, int version,
                                              int *new_default, GError **error);
/* The confirmation window Promote opens (NULL when none is open), and its Promote
 * button. */
GtkWindow      *ns_models_dialog_get_confirmation (NsModelsDialog *self);
GtkWidget      *ns_models_dialog_get_confirm_button (NsModelsDialog *self);

G_END_DECLS
