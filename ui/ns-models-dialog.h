/* SPDX-License-Identifier: MIT
 *
 * ns-models-dialog.h: Training > Models…: the model versions of the registry side by side
 * (version, date, parent, validation WT/TC/ET Dice, status, which is the default), the
 * shipped model (version 0) first and a real row like the others.  The selected version's
 * model card (name, architecture, inputs, training data, validation Dice per set of
 * cases) and its comparison with the current default on the same validation cases
 * (ns_registry_compare (): a table, one row per case) show below the list.
 *
 * Promote goes through the registry's gate: the confirmation shows the comparison; when
 * the gate refuses (no figures, an empty prediction, a lower score, nothing to compare
 * with) it shows why and offers only a destructive "Promote Anyway", which promotes with
 * force (recorded in the promotions log).  Roll Back returns to the selected earlier
 * version, else to the default before the current one; version 0 is always reachable.
 * The list follows the database (ns-db-watch.h): versions registered, promoted or rolled
 * back by another process or workstation show without a click.
 */
#pragma once

#include <gtk/gtk.h>

G_BEGIN_DECLS

#define NS_TYPE_MODELS_DIALOG (ns_models_dialog_get_type ())

G_DECLARE_FINAL_TYPE (NsModelsDialog, ns_models_dialog, NS, MODELS_DIALOG, GtkWindow)

/* Signal "default-changed" (int version).  db_path NULL: the default database. */
NsModelsDialog *ns_models_dialog_new         (GtkWindow *parent, const char *db_path);
gboolean        ns_models_dialog_refresh     (NsModelsDialog *self, GError **error);
guint           ns_models_dialog_get_n_rows  (NsModelsDialog *self);
/* The version in row index, and the row's text as shown (owned). */
int             ns_models_dialog_get_version (NsModelsDialog *self, guint index);
char           *ns_models_dialog_dup_row_text (NsModelsDialog *self, guint index);
/* Selects a version's row (NS_REGISTRY_NONE: none); the selected version. */
void            ns_models_dialog_select      (NsModelsDialog *self, int version);
int             ns_models_dialog_get_selected (NsModelsDialog *self);
/* The model card of a version as shown below the list (owned). */
char           *ns_models_dialog_dup_card    (NsModelsDialog *self, int version,
                                              GError **error);
/* The comparison of a version with the current default, as text: one line per validation
 * case (Dice WT TC ET of both), the means, and the gate's verdict and reason (owned).
 * *passes (nullable): whether the gate lets it through without force. */
char           *ns_models_dialog_dup_comparison (NsModelsDialog *self, int version,
                                                 gboolean *passes, GError **error);
/* Promotes without asking (what the confirmation's button does); force: past the gate
 * ("Promote Anyway"). */
gboolean        ns_models_dialog_promote     (NsModelsDialog *self, int version,
                                              gboolean force, GError **error);
/* version: an earlier version (0: the shipped model), or NS_REGISTRY_PREVIOUS: the
 * default before the current one. */
gboolean        ns_models_dialog_rollback    (NsModelsDialog *self, int version,
                                              int *new_default, GError **error);
/* The confirmation window Promote opens (NULL when none is open), and its button:
 * "Promote" when the gate passes, "Promote Anyway" when it refuses. */
GtkWindow      *ns_models_dialog_get_confirmation (NsModelsDialog *self);
GtkWidget      *ns_models_dialog_get_confirm_button (NsModelsDialog *self);

G_END_DECLS
