/* SPDX-License-Identifier: MIT
 *
 * ns-corrections.h: where Mark Corrected and Queue puts a case's corrected mask and the
 * prediction it was corrected from: the user's data folder, beside the queue's database
 * (<data>/corrections), or a folder the user chose once (Training > Corrections Folder…,
 * kept in $XDG_CONFIG_HOME/neuroseg/settings.ini); never the case's own folder, which
 * may be the source tree's sample or a read-only archive.  One folder per case:
 * <folder>/<case id>-<first 8 hex digits of the SHA-256 of the case's canonical path>.
 *
 * In it:
 *   <id>_last_prediction.nii.gz (+ .json: model, registry version, uncertainty, date)
 *       the case's latest Run Model prediction, kept as soon as it is made, so that it is
 *       still there after a crash and a recovery;
 *   <id>_mask.nii.gz, <id>_mask_prediction.nii.gz
 *       the corrected mask as last marked corrected, and a copy of the prediction it was
 *       corrected from (what the queue's effort compares it with).
 */
#pragma once

#include "ns-case.h"
#include "ns-labels.h"

G_BEGIN_DECLS

/* The folder corrections go into (owned). */
char     *ns_corrections_dup_folder       (void);
/* Chooses the folder (remembered; NULL: back to the data folder). */
gboolean  ns_corrections_set_folder       (const char *folder, GError **error);
/* The case's folder in it (owned; not created). */
char     *ns_corrections_dup_case_folder  (const NsCase *ncase);

/* A prediction of the case and what made it. */
typedef struct
{
  char *path;                    /* the label map file */
  char *model_path;              /* NULL when not recorded */
  int model_version;             /* registry version, 0: none */
  double uncertainty;            /* NAN: unknown */
} NsKeptPrediction;

void      ns_kept_prediction_free         (NsKeptPrediction *kept);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (NsKeptPrediction, ns_kept_prediction_free)

/* Keeps labels as the case's latest prediction (any thread).  Atomic writes. */
gboolean  ns_corrections_keep_prediction  (const NsCase *ncase, const NsLabelMap *labels,
                                           const char *model_path, int model_version,
                                           double uncertainty, GError **error);
/* The case's latest kept prediction; NULL without error when there is none. */
NsKeptPrediction *ns_corrections_dup_last_prediction (const NsCase *ncase, GError **error);

G_END_DECLS
