/* SPDX-License-Identifier: MIT
 *
 * ns-queue.h: the fine-tuning queue, in the database of ns-db.h.
 *
 * What it records: cases (a folder or a 4-modality file, its case id and modality files),
 * each with its annotations (corrected mask, who, when, from which model version, effort
 * = WT Dice between the model's prediction and the corrected mask, voxels edited,
 * uncertainty) and its queue state (queued, used by model vN, excluded) with the history
 * of states.  The nnU-Net export of the queue is ns-export.h; the models ns-registry.h;
 * the training runs ns-runs.h.
 */
#pragma once

#include "ns-db.h"

G_BEGIN_DECLS

typedef enum
{
  NS_QUEUE_STATE_QUEUED,    /* waiting for the next fine-tuning */
  NS_QUEUE_STATE_USED,      /* trained on by model version used_by */
  NS_QUEUE_STATE_EXCLUDED,  /* kept out of training */
} NsQueueState;

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
} NsQueueAnnotation;

const char   *ns_queue_state_name      (NsQueueState state);     /* "queued", ... */
gboolean      ns_queue_state_from_name (const char *name, NsQueueState *state);

/* Adds a case (folder, 4-modality NIfTI file, or FLAIR file) with an annotation and queues
 * it; a case already there (same absolute path) gets the new annotation and is queued
 * again.  Every image of the case is decoded (a truncated or corrupt file is refused,
 * naming it) and all must share one grid (ns_grid_equal: dims and voxel-to-RAS matrix);
 * the mask must be on that grid too and hold BraTS labels.  When a prediction is given,
 * effort and edited voxels are computed (ns_metrics_effort).  Returns the case's id, 0 on
 * error. */
gint64        ns_queue_add             (NsDb *db, const char *case_path,
                                        const NsQueueAnnotation *annotation, GError **error);
/* Entries (NsQueueEntry *, owned by the array), all states when state < 0. */
GPtrArray    *ns_queue_list            (NsDb *db, NsQueueSort sort, int state, GError **error);
/* The case named by ref: its row id, its path (absolute), or its case id (which must be
 * unambiguous).  NULL + NS_DATA_ERROR_NOT_FOUND when none. */
NsQueueEntry *ns_queue_dup_entry       (NsDb *db, const char *ref, GError **error);
/* Forgets the case, its annotations and history (files are left alone). */
gboolean      ns_queue_remove          (NsDb *db, gint64 case_id, GError **error);
/* Changes the state (QUEUED, EXCLUDED; USED needs model_version), with a history entry. */
gboolean      ns_queue_set_state       (NsDb *db, gint64 case_id, NsQueueState state,
                                        int model_version, const char *who, const char *note,
                                        GError **error);
/* NsQueueHistoryItem *, oldest first. */
GPtrArray    *ns_queue_list_history    (NsDb *db, gint64 case_id, GError **error);

void ns_queue_entry_free        (NsQueueEntry *entry);
void ns_queue_history_item_free (NsQueueHistoryItem *item);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (NsQueueEntry, ns_queue_entry_free)

G_END_DECLS
