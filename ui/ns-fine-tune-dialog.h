/* SPDX-License-Identifier: MIT
 *
 * ns-fine-tune-dialog.h: Training > Fine-tune…: base model, epochs, learning rate, device,
 * validation cases and further trainer options for a run on the queue's corrected cases.
 * Start opens a "Fine-tuning" window with an NsTrainPanel running the request, emits
 * "started" (NsTrainPanel *panel) so that the workbench can follow its progress, and
 * closes the dialog.  The validation list is kept in validation-cases.txt beside the
 * database (read when the dialog opens, written on Start), so that model versions are
 * compared on the same held-out cases.
 *
 * The run goes on this computer or, with "On a Slurm cluster" (partition, nodes, GPUs per
 * node, time limit, job folder on shared storage; remembered in the settings' "slurm"
 * group, greyed out with the reason where sbatch is not on PATH), as a Slurm job that the
 * panel follows (ns-train-panel.h).
 */
#pragma once

#include <gtk/gtk.h>

#include "ns-train-panel.h"

G_BEGIN_DECLS

#define NS_TYPE_FINE_TUNE_DIALOG (ns_fine_tune_dialog_get_type ())

G_DECLARE_FINAL_TYPE (NsFineTuneDialog, ns_fine_tune_dialog, NS, FINE_TUNE_DIALOG, GtkWindow)

/* db_path NULL: the default database. */
NsFineTuneDialog *ns_fine_tune_dialog_new          (GtkWindow *parent, const char *db_path);
/* Reads the dialog's fields into request (cleared first).  FALSE + error when invalid. */
gboolean          ns_fine_tune_dialog_get_request  (NsFineTuneDialog *self,
                                                    NsTrainRequest *request, GError **error);
/* Starts the request (what Start does); returns the panel's window. */
GtkWindow        *ns_fine_tune_dialog_start        (NsFineTuneDialog *self, GError **error);
/* What the dialog says under the validation list (owned). */
char             *ns_fine_tune_dialog_dup_validation_note (NsFineTuneDialog *self);
/* Appends a case folder to the validation list (what Add Case Folder… does). */
void              ns_fine_tune_dialog_add_validation_case (NsFineTuneDialog *self,
                                                           const char *folder);
/* After a restart: a "Fine-tuning" window (transient for parent) following each Slurm job
 * recorded beside the database at db_path (NULL: the default) that no panel of this
 * program follows yet.  Returns their panels (the array owned, the panels their
 * windows'); error set when a record could not be read, naming it (the others are
 * followed all the same). */
GPtrArray        *ns_fine_tune_dialog_follow_recorded_jobs (GtkWindow *parent,
                                                            const char *db_path,
                                                            GError **error);
/* The Start button (insensitive without queued cases). */
GtkWidget        *ns_fine_tune_dialog_get_start_button (NsFineTuneDialog *self);

G_END_DECLS
