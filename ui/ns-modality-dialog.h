/* SPDX-License-Identifier: MIT
 *
 * ns-modality-dialog.h: the question the window asks when files are opened whose names
 * do not say which image they are ("scan.nii.gz"): for each, FLAIR, T1, T1c, T2 or a label
 * map.  ITK-SNAP and Slicer open any NIfTI; so does the workbench, asking once.  A
 * GtkDialog: GTK_RESPONSE_OK opens the files as chosen.
 */
#pragma once

#include <gtk/gtk.h>

#include "ns-case.h"

G_BEGIN_DECLS

#define NS_TYPE_MODALITY_DIALOG (ns_modality_dialog_get_type ())

G_DECLARE_FINAL_TYPE (NsModalityDialog, ns_modality_dialog, NS, MODALITY_DIALOG, GtkDialog)

/* paths: the files to ask about (NULL-terminated).  Each starts as a different image,
 * FLAIR first. */
NsModalityDialog *ns_modality_dialog_new         (GtkWindow *parent, const char *const *paths);
guint             ns_modality_dialog_get_n_files (NsModalityDialog *self);
/* What file index is to be opened as: NS_CASE_FILE_FLAIR, _T1, _T1C, _T2 or _LABELS. */
NsCaseFile        ns_modality_dialog_get_kind    (NsModalityDialog *self, guint index);
/* Chooses for file index as a person would (tests). */
void              ns_modality_dialog_set_kind    (NsModalityDialog *self, guint index,
                                                  NsCaseFile kind);

G_END_DECLS
