/* SPDX-License-Identifier: MIT
 *
 * ns-queue.h: the fine-tuning queue, in the database of ns-db.h.
 *
 * What it records: cases (a folder or a 4-modality file, its case id and modality files
 * with their sha256), each with its annotations (corrected mask, who, when, from which
 * model version, effort = WT Dice between the model's prediction and the corrected mask,
 * voxels edited, uncertainty) and its queue state (queued, used by model vN, excluded)
 * with the history of states.  The nnU-Net export of the queue is ns-export.h; the models
 * ns-registry.h; the training runs ns-runs.h.
 *
 * What a team sharing one database needs (issue 19; on SQLite it works the same for the
 * processes of one workstation):
 * - Claims.  Opening a queued case for correction claims it: who, on which host, since
 *   when, with a lease that runs out unless it is renewed (the workbench renews it while
 *   the case is open), so that a workstation that dies loses its claims at expiry.  While
 *   a claim holds, nobody else can claim the case or add a correction to it (refused with
 *   NS_DATA_ERROR_REFUSED, naming who holds it since when); ns_queue_take_over() takes it
 *   explicitly (recorded, with the previous holder).  A claim is a token: whoever holds it
 *   presents it to renew, release or add the correction (NsQueueAnnotation.claim_token).
 *   Leases run on the database's clock (the server's), not the workstations'.
 * - Corrected masks stored in the database, gzip-compressed with their sha256, so that no
 *   shared folder is needed for them: ns_queue_write_mask() and ns_queue_dup_mask() give
 *   them back, checked.  The images stay where they are, referenced by path; their sha256
 *   is recorded when the case is added and ns_queue_verify_case_files() checks them where
 *   the case is opened (another workstation must see the same files at the same paths).
 * - Review: a second reader accepts a correction or sends it back, with a note
 *   (ns_queue_review()); the latest review of the latest correction is the case's review
 *   state, and the fine-tuning set can be restricted to accepted corrections
 *   (NsExportOptions.accepted_only, NsQueueEntry.review).
 * Every change is one transaction; watchers (ns-db-watch.h) learn of it.
 */
#pragma once

#include "ns-db.h"
#include "ns-labels.h"

G_BEGIN_DECLS

typedef enum
{
  NS_QUEUE_STATE_QUEUED,    /* waiting for the next fine-tuning */
  NS_QUEUE_STATE_USED,      /* trained on by model version used_by */
  NS_QUEUE_STATE_EXCLUDED,  /* kept out of training */
} NsQueueState;

typedef enum
{
  NS_QUEUE_REVIEW_NONE,       /* the latest correction is not reviewed */
  NS_QUEUE_REVIEW_ACCEPTED,   /* a second reader accepted it */
  NS_QUEUE_REVIEW_SENT_BACK,  /* a second reader sent it back (see the note) */
} NsQueueReview;

/* How long a claim holds unless renewed, by default (ns-queue-keeper.h renews it every
 * third of that while the case is open). */
#define NS_QUEUE_LEASE_DEFAULT_S 600

typedef enum
{
  NS_QUEUE_SORT_ADDED,        /* oldest first */
  NS_QUEUE_SORT_UNCERTAINTY,  /* most uncertain first (the next case to correct) */
  NS_QUEUE_SORT_EFFORT,       /* lowest Dice between prediction and correction first */
} NsQueueSort;

/* A case in the queue with its latest annotation. */
typedef struct
{
  gint64 id;                /* row id (stable) */
  char *path;               /* absolute folder or file */
  char *case_id;            /* e.g. "Brats18_CBICA_ABM_1" */
  char *modalities;         /* JSON array [{"modality": "flair", "file": "...",
                               ("volume": v for a 4-D file)}, ...] */
  char *added;              /* ISO 8601 UTC */
  NsQueueState state;
  int used_by;              /* model version when USED, else 0 */
  /* the latest annotation */
  gint64 annotation_id;
  char *mask_path;
  char *prediction_path;    /* or NULL */
  char *who;
  char *annotated;          /* ISO 8601 UTC */
  int model_version;        /* the prediction's registered model version, 0 when unknown */
  double effort;            /* WT Dice prediction vs. mask; NAN without a prediction */
  gint64 edited_voxels;     /* voxels whose label differs; -1 without a prediction */
  double uncertainty;       /* NAN when unknown */
  int n_annotations;
  char *mask_sha256;        /* of the latest corrected mask stored in the database (a gzip
                               NIfTI file), NULL when it was not stored (queued before
                               schema 4): then mask_path is the only copy */
  /* the claim, when one holds (its lease has not run out); all NULL when the case is free */
  char *claimed_by;
  char *claim_host;
  char *claimed_since;      /* ISO 8601 UTC */
  char *claim_expires;      /* ISO 8601 UTC */
  /* the latest review of the latest annotation */
  NsQueueReview review;
  char *reviewer;           /* NULL when unreviewed */
  char *review_note;
  char *reviewed;           /* ISO 8601 UTC */
} NsQueueEntry;

typedef struct
{
  NsQueueState state;
  int model_version;        /* 0 unless USED */
  char *at;
  char *who;
  char *note;
} NsQueueHistoryItem;

/* An annotation to add with a case (ns_queue_add()). */
typedef struct
{
  const char *mask_path;        /* the corrected mask (required) */
  const char *prediction_path;  /* nullable: the model's prediction, for effort */
  int model_version;            /* 0: unknown; else a registered version >= 1 (a prediction
                                   of the shipped model, version 0, is recorded as
                                   unknown: 0 is what a zero-initialised struct says) */
  const char *who;              /* NULL: g_get_user_name () */
  double uncertainty;           /* NAN: unknown */
  const char *claim_token;      /* the token of the claim on the case that this correction
                                   is made under (NULL: none; then the case must not be
                                   claimed by someone else) */
} NsQueueAnnotation;

/* A claim on a case. */
typedef struct
{
  gint64 case_id;
  char *token;              /* the claiming session's; renew, release and corrections
                               present it */
  char *who;
  char *host;
  char *since;              /* ISO 8601 UTC */
  gint64 expires_ms;        /* milliseconds since the epoch, on the database's clock */
  char *expires;            /* the same as ISO 8601 UTC */
} NsQueueClaim;

/* One event of a case's claims, oldest first. */
typedef struct
{
  char *event;              /* "claim", "release" or "take-over" */
  char *token;
  char *who;
  char *host;
  char *at;                 /* ISO 8601 UTC */
  char *note;               /* take-over: whose claim it took, and why; a claim after a
                               lease ran out: whose it was */
} NsQueueClaimEvent;

typedef struct
{
  gint64 annotation_id;
  NsQueueReview verdict;
  char *who;
  char *at;
  char *note;
} NsQueueReviewItem;

const char   *ns_queue_state_name      (NsQueueState state);     /* "queued", ... */
gboolean      ns_queue_state_from_name (const char *name, NsQueueState *state);
/* "unreviewed", "accepted", "sent back". */
const char   *ns_queue_review_name     (NsQueueReview review);

/* Adds a case (folder, 4-modality NIfTI file, or FLAIR file) with an annotation and queues
 * it; a case already there (same absolute path) gets the new annotation and is queued
 * again.  Every image of the case is decoded (a truncated or corrupt file is refused,
 * naming it) and all must share one grid (ns_grid_equal: dims and voxel-to-RAS matrix);
 * the mask must be on that grid too and hold BraTS labels.  When a prediction is given,
 * effort and edited voxels are computed (ns_metrics_effort).  The mask is stored in the
 * database and the images' sha256 recorded.  A case claimed by someone else is refused
 * (NS_DATA_ERROR_REFUSED) unless the annotation carries that claim's token; a claim that
 * was taken over or ran out and was claimed by another is refused too, saying so.
 * Returns the case's id, 0 on error. */
gint64        ns_queue_add             (NsDb *db, const char *case_path,
                                        const NsQueueAnnotation *annotation, GError **error);
/* Entries (NsQueueEntry *, owned by the array), all states when state < 0. */
GPtrArray    *ns_queue_list            (NsDb *db, NsQueueSort sort, int state, GError **error);
/* The case named by ref: its row id, its path (absolute), or its case id (which must be
 * unambiguous).  NULL + NS_DATA_ERROR_NOT_FOUND when none. */
NsQueueEntry *ns_queue_dup_entry       (NsDb *db, const char *ref, GError **error);
/* Forgets the case, its annotations, stored masks, reviews, claims and history (files are
 * left alone).  Refused (NS_DATA_ERROR_REFUSED) while someone's claim holds on it. */
gboolean      ns_queue_remove          (NsDb *db, gint64 case_id, GError **error);
/* Changes the state (QUEUED, EXCLUDED; USED needs model_version), with a history entry. */
gboolean      ns_queue_set_state       (NsDb *db, gint64 case_id, NsQueueState state,
                                        int model_version, const char *who, const char *note,
                                        GError **error);
/* NsQueueHistoryItem *, oldest first. */
GPtrArray    *ns_queue_list_history    (NsDb *db, gint64 case_id, GError **error);

/* ---- stored masks and images (ns-queue-files.c) --------------------------------------- */

/* Writes the corrected mask of an annotation, as stored in the database, to dest (a new
 * .nii.gz file: an existing file is never replaced, NS_DATA_ERROR_INVALID).  The stored
 * bytes are checked against their sha256 first (NS_DATA_ERROR_CORRUPT).  An annotation
 * without a stored mask: NS_DATA_ERROR_NOT_FOUND. */
gboolean      ns_queue_write_mask      (NsDb *db, gint64 annotation_id, const char *dest,
                                        GError **error);
/* The same, decoded: BraTS values as stored (either scheme, unmapped). */
NsLabelMap   *ns_queue_dup_mask        (NsDb *db, gint64 annotation_id, GError **error);
/* The images of the case are the ones it was queued with: every file exists here and has
 * the sha256 recorded when it was added (NS_DATA_ERROR_NOT_FOUND, NS_DATA_ERROR_CORRUPT,
 * naming the file).  Cases queued before checksums were recorded: existence only. */
gboolean      ns_queue_verify_case_files (const NsQueueEntry *entry, GError **error);

/* ---- claims (ns-queue-claim.c) --------------------------------------------------------- */

/* Claims a case for correction by who (NULL: the user name) on this host for lease_s
 * seconds (0: NS_QUEUE_LEASE_DEFAULT_S).  A case whose claim holds (even one's own from
 * another session) is refused with NS_DATA_ERROR_REFUSED naming the holder; a claim whose
 * lease ran out is replaced (recorded).  The claim is the caller's (owned). */
NsQueueClaim *ns_queue_claim           (NsDb *db, gint64 case_id, const char *who,
                                        guint lease_s, GError **error);
/* Extends the lease of one's claim from now (claim->expires* updated).  A claim taken over
 * by someone else, or released, is lost: NS_DATA_ERROR_REFUSED saying by whom.  A lease
 * that ran out is renewed as long as nobody else claimed the case meanwhile. */
gboolean      ns_queue_renew_claim     (NsDb *db, NsQueueClaim *claim, guint lease_s,
                                        GError **error);
/* Gives one's claim back (recorded).  NS_DATA_ERROR_REFUSED when it is no longer one's. */
gboolean      ns_queue_release_claim   (NsDb *db, const NsQueueClaim *claim, GError **error);
/* Takes the case over from whoever holds it (recorded with the previous holder and note),
 * or claims it when it is free. */
NsQueueClaim *ns_queue_take_over       (NsDb *db, gint64 case_id, const char *who,
                                        guint lease_s, const char *note, GError **error);
/* The claim that holds on a case, or NULL (error unset) when it is free. */
NsQueueClaim *ns_queue_dup_claim       (NsDb *db, gint64 case_id, GError **error);
/* The claims that hold (NsQueueClaim *), by case. */
GPtrArray    *ns_queue_list_claims     (NsDb *db, GError **error);
/* NsQueueClaimEvent * of a case, oldest first. */
GPtrArray    *ns_queue_list_claim_history (NsDb *db, gint64 case_id, GError **error);

/* ---- review (ns-queue-review.c) ---------------------------------------------------------- */

/* A second reader's verdict on annotation_id (0: the case's latest) of a case: ACCEPTED
 * or SENT_BACK (which needs a note saying why).  Refused (NS_DATA_ERROR_REFUSED) when who
 * (NULL: the user name) made that correction, or when a newer correction came in since
 * (review that one).  A new correction starts unreviewed. */
gboolean      ns_queue_review          (NsDb *db, gint64 case_id, gint64 annotation_id,
                                        NsQueueReview verdict, const char *who,
                                        const char *note, GError **error);
/* NsQueueReviewItem * of every annotation of a case, oldest first. */
GPtrArray    *ns_queue_list_reviews    (NsDb *db, gint64 case_id, GError **error);

void ns_queue_entry_free        (NsQueueEntry *entry);
void ns_queue_history_item_free (NsQueueHistoryItem *item);
void ns_queue_claim_free        (NsQueueClaim *claim);
void ns_queue_claim_event_free  (NsQueueClaimEvent *event);
void ns_queue_review_item_free  (NsQueueReviewItem *item);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (NsQueueEntry, ns_queue_entry_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (NsQueueClaim, ns_queue_claim_free)

G_END_DECLS
