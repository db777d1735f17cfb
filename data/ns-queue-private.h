/* SPDX-License-Identifier: MIT
 *
 * ns-queue-private.h: the steps of the queue that other modules take inside their own
 * write transaction (a run's model marks its cases used, ns-runs.c), and what the files
 * of the queue share (ns-queue.c, ns-queue-claim.c, ns-queue-review.c,
 * ns-queue-files.c).
 */
#pragma once

#include "ns-queue.h"

G_BEGIN_DECLS

/* The case row exists; NS_DATA_ERROR_NOT_FOUND otherwise. */
gboolean _ns_queue_check_case (NsDb *db, gint64 case_row, GError **error);
/* Changes a case's state (version: the model for USED) with a history entry at now. */
gboolean _ns_queue_set_state  (NsDb *db, gint64 case_row, NsQueueState state, int version,
                               const char *who, const char *note, const char *now,
                               GError **error);
/* The case id ("Brats18_...") of a row, for messages (owned; the row id as text when the
 * row is gone). */
char    *_ns_queue_dup_case_name (NsDb *db, gint64 case_row);
/* Whether a correction may be added to the case under token (NULL: no claim): not while
 * someone else's claim holds, nor under a claim that was lost (NS_DATA_ERROR_REFUSED,
 * saying who holds the case).  Inside a write transaction. */
gboolean _ns_queue_check_claim  (NsDb *db, gint64 case_row, const char *token,
                                 GError **error);
/* Refused (NS_DATA_ERROR_REFUSED, saying who holds it and "take it over before <action>")
 * while a claim holds on the case.  Inside a write transaction. */
gboolean _ns_queue_check_unclaimed (NsDb *db, gint64 case_row, const char *action,
                                    GError **error);
/* "accepted", "sent back" as stored; NONE for anything else. */
NsQueueReview _ns_queue_review_from_name (const char *name);
/* A mask file as the database stores it: gzip-compressed (a .nii.gz as it is, a .nii
 * compressed), with the sha256 of those bytes (owned). */
GBytes  *_ns_queue_pack_mask    (const char *path, char **sha256, GError **error);
/* Those bytes (or any NIfTI file's) decoded as a label map of BraTS values (either scheme,
 * unmapped); name (the file) in messages. */
NsLabelMap *_ns_queue_decode_mask (GBytes *bytes, const char *name, GError **error);

G_END_DECLS
