/* SPDX-License-Identifier: MIT
 *
 * ns-train-validation.h: the last step of a fine-tuning run (ns-train-panel.h): the new
 * model version and the current default are validated on the same cases, so that the
 * promotion gate (data/ns-registry.h) has figures of both side by side.
 *
 * Each validation is `neuroseg models validate N --val CASE...` run as a subprocess (as
 * the trainer is: a crash there cannot take the workbench down), which records the figures
 * per case (net/ns-validate.h, ns_registry_add_validation ()).  The current default is
 * validated only on the cases where it has no figures yet.
 */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

/* Before each validation: which version, on how many cases (for a progress line). */
typedef void (*NsTrainValidationFunc) (int version, guint n_cases, gpointer user_data);

/* exe: the neuroseg binary; db_path NULL: the default database; cases: NULL-terminated
 * case folders with truth labels; device: "auto", "cpu", ... (NULL: auto). */
void     ns_train_validation_run_async  (const char *exe, const char *db_path, int version,
                                         const char *const *cases, const char *device,
                                         GCancellable *cancellable,
                                         NsTrainValidationFunc started, gpointer started_data,
                                         GAsyncReadyCallback callback, gpointer user_data);
/* TRUE when every validation ran and was recorded; *summary (nullable, owned): the
 * versions validated and the gate's verdict, one line.  Errors name the version and carry
 * the command's last error line. */
gboolean ns_train_validation_run_finish (GAsyncResult *result, char **summary,
                                         GError **error);

G_END_DECLS
