/* SPDX-License-Identifier: MIT
 *
 * ns-series-dialog.h: the question the window asks when a DICOM folder's series do not
 * say clearly which sequence each is (ns_case_load () failed with NS_DATA_ERROR_AMBIGUOUS:
 * two series look like the FLAIR, or none does): every series of the scan is listed
 * (ns_dicom_series_dup_label ()) with a drop-down of the sequence it is (FLAIR, T1c, T1,
 * T2, or not used), first as its attributes say, and the grid the case is put on.  A
 * series that is not a volume says why and cannot be chosen.  A GtkDialog:
 * GTK_RESPONSE_OK opens the study as assigned (ns_series_dialog_get_assignment ()); Open
 * is enabled only while exactly one series is the FLAIR and no sequence is chosen twice.
 */
#pragma once

#include <gtk/gtk.h>

#include "ns-dicom.h"

G_BEGIN_DECLS

#define NS_TYPE_SERIES_DIALOG (ns_series_dialog_get_type ())

G_DECLARE_FINAL_TYPE (NsSeriesDialog, ns_series_dialog, NS, SERIES_DIALOG, GtkDialog)

/* scan: ns_dicom_scan ()'s array (the dialog takes a reference); reason: why the question
 * is asked (the loader's message), shown above the list. */
NsSeriesDialog *ns_series_dialog_new            (GtkWindow *parent, GPtrArray *scan,
                                                 const char *reason);
/* The scan the dialog lists (borrowed). */
GPtrArray      *ns_series_dialog_get_scan       (NsSeriesDialog *self);
/* The sequence chosen for series index of the scan: an NsModality, or -1 (not used). */
int             ns_series_dialog_get_sequence   (NsSeriesDialog *self, guint index);
/* Chooses as a person would (tests); modality -1: not used. */
void            ns_series_dialog_set_sequence   (NsSeriesDialog *self, guint index,
                                                 int modality);
/* Whether the choice can be opened: one FLAIR, no sequence twice. */
gboolean        ns_series_dialog_is_complete    (NsSeriesDialog *self);
/* The choice as ns_dicom_case_load_scan () takes it: each modality's Series Instance UID,
 * or "none"; the strings are the scan's (valid while the dialog lives). */
void            ns_series_dialog_get_assignment (NsSeriesDialog *self,
                                                 NsDicomAssignment *assignment);

G_END_DECLS
