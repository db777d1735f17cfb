/* SPDX-License-Identifier: MIT
 *
 * ns-queue.h: the fine-tuning queue and the model registry, in one SQLite database.
 *
 * Where: $NEUROSEG_DATA_DIR/neuroseg.db when that variable is set, else
 * g_get_user_data_dir()/neuroseg/neuroseg.db (ns_queue_default_path()).
 *
 * What it records:
 * - cases (a folder or a 4-modality file, its case id and modality files), each with its
 *   annotations (corrected mask, who, when, from which model version, effort = WT Dice
 *   between the model's prediction and the corrected mask, voxels edited, uncertainty)
 *   and its queue state (queued, used by model vN, excluded) with the history of states;
 * - models (version, file, sha256, architecture, parent version, metrics JSON, status
 *   registered or failed, the default flag) and the log of promotions and roll-backs;
 * - training runs (running, succeeded, failed, cancelled; command, log, resulting model,
 *   the process id that runs it, the cases it trains on).
 *
 * Several processes (the GUI, a trainer, the command line) use the file at once: it is
 * in WAL mode (readers never wait), every write is one BEGIN IMMEDIATE transaction that
 * is retried on SQLITE_BUSY after the busy timeout, so a writer either commits all of a
 * change or nothing.  synchronous=NORMAL: a killed process loses nothing it committed;
 * only a power cut may lose the last transactions (never consistency).  A run whose
 * process is gone (same host; the pid is not alive, or now belongs to a process with
 * another start time) while marked running is marked failed
 * when the database is opened (ns_queue_reap_stale_runs()); a model is registered in one
 * transaction at the end of a run, so a trainer that dies leaves registry and queue as
 * they were.
 *
 * The schema is versioned with PRAGMA user_version and migrated forward on open;
 * a database from a newer Neuroseg is refused.  Every error is an NS_DATA_ERROR whose
 * message starts with the database file (or the file concerned) and says why.
 *
 * An NsQueue handle is not thread-safe by itself: use it from one thread at a time (open
 * one per thread or process; they may all write).
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* The schema version this build writes (PRAGMA user_version). */
#define NS_QUEUE_SCHEMA_VERSION 2

typedef struct _NsQueue NsQueue;

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

typedef enum
{
  NS_QUEUE_MODEL_REGISTERED,
  NS_QUEUE_MODEL_FAILED,      /* did not load: recorded, never used */
} NsQueueModelStatus;

typedef enum
{
  NS_QUEUE_RUN_RUNNING,
  NS_QUEUE_RUN_SUCCEEDED,
  NS_QUEUE_RUN_FAILED,
  NS_QUEUE_RUN_CANCELLED,
} NsQueueRunStatus;

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
  int model_version;        /* the prediction's model version, 0 when unknown */
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
  int model_version;            /* 0: unknown; else a registered version */
  const char *who;              /* NULL: g_get_user_name () */
  double uncertainty;           /* NAN: unknown */
} NsQueueAnnotation;

typedef struct
{
  int version;
  char *path;
  char *sha256;
  char *arch;
  int parent;               /* 0: none */
  char *created;
  char *metrics;            /* JSON object: dice_wt, dice_tc, dice_et, val_cases,
                               cases_used, command, seconds, device, ... */
  NsQueueModelStatus status;
  char *error;              /* why it failed, or NULL */
  gboolean is_default;
  gint64 run_id;            /* 0: none */
  double dice[3];           /* WT, TC, ET from metrics; NAN when absent */
} NsQueueModel;

/* What to register (ns_queue_register_model()). */
typedef struct
{
  const char *path;         /* the checkpoint; made absolute */
  const char *arch;         /* nullable */
  int parent;               /* 0: none; else a registered version */
  const char *metrics;      /* JSON object text, nullable ("{}") */
  gint64 run_id;            /* 0: none; else the run that produced it (marked succeeded,
                               or failed when failure is set, and its queued cases marked
                               used by the new version), in the same transaction */
  const char *failure;      /* NULL: registered; else why it failed to load */
} NsQueueModelInfo;

typedef struct
{
  gint64 id;
  int version;
  int previous;             /* the default before, 0: none */
  char *action;             /* "promote" or "rollback" */
  char *at;
  char *who;
} NsQueuePromotion;

typedef struct
{
  gint64 id;
  char *started;
  char *finished;           /* NULL while running */
  NsQueueRunStatus status;
  char *command;
  char *log_path;
  int model_version;        /* 0: none */
  int pid;
  char *host;
  char *error;
  GArray *cases;            /* gint64 case ids */
} NsQueueRun;

typedef struct
{
  gboolean include_used;    /* also cases already used by a model (never excluded ones) */
  char **modalities;        /* NULL-terminated channel list ("flair", "t1c", ...); NULL:
                               the modalities every exported case has */
  gboolean copy;            /* copy the images instead of hard-linking them */
} NsQueueExportOptions;

const char *ns_queue_state_name       (NsQueueState state);     /* "queued", ... */
gboolean    ns_queue_state_from_name  (const char *name, NsQueueState *state);
const char *ns_queue_run_status_name  (NsQueueRunStatus status); /* "running", ... */
const char *ns_queue_model_status_name (NsQueueModelStatus status);

/* The database file: $NEUROSEG_DATA_DIR/neuroseg.db, else
 * g_get_user_data_dir()/neuroseg/neuroseg.db (owned). */
char       *ns_queue_default_path     (void);

/* Opens (creating the file and its folder when needed) and migrates the database at path
 * (NULL: ns_queue_default_path()), then marks stale runs failed. */
NsQueue    *ns_queue_open             (const char *path, GError **error);
void        ns_queue_close            (NsQueue *queue);
const char *ns_queue_get_path         (NsQueue *queue);
/* PRAGMA integrity_check; FALSE + error quoting its first complaint. */
gboolean    ns_queue_check_integrity  (NsQueue *queue, GError **error);

/* ---- cases and annotations -------------------------------------------------------- */

/* Adds a case (folder, or a 4-modality NIfTI file) with an annotation and queues it; a
 * case already there (same absolute path) gets the new annotation and is queued again.
 * The mask must be on the grid of the case's FLAIR and hold BraTS labels; when a
 * prediction is given, effort and edited voxels are computed.  Returns the case's id,
 * 0 on error. */
gint64      ns_queue_add              (NsQueue *queue, const char *case_path,
                                       const NsQueueAnnotation *annotation, GError **error);
/* WT Dice (ns_metrics_evaluate) between prediction and mask, and the number of voxels
 * whose label differs.  Errors name the file. */
gboolean    ns_queue_compute_effort   (const char *prediction_path, const char *mask_path,
                                       double *wt_dice, gint64 *edited_voxels,
                                       GError **error);
/* Entries (NsQueueEntry *, owned by the array), all states when state < 0. */
GPtrArray  *ns_queue_list             (NsQueue *queue, NsQueueSort sort, int state,
                                       GError **error);
/* The case named by ref: its row id, its path (absolute), or its case id (which must be
 * unambiguous).  NULL + NS_DATA_ERROR_NOT_FOUND when none. */
NsQueueEntry *ns_queue_find           (NsQueue *queue, const char *ref, GError **error);
/* Forgets the case, its annotations and history (files are left alone). */
gboolean    ns_queue_remove           (NsQueue *queue, gint64 case_id, GError **error);
/* Changes the state (QUEUED, EXCLUDED; USED needs model_version), with a history entry. */
gboolean    ns_queue_set_state        (NsQueue *queue, gint64 case_id, NsQueueState state,
                                       int model_version, const char *who, const char *note,
                                       GError **error);
/* NsQueueHistoryItem *, oldest first. */
GPtrArray  *ns_queue_history          (NsQueue *queue, gint64 case_id, GError **error);

/* Writes an nnU-Net v2 / Medical Segmentation Decathlon dataset folder at dir (which must
 * not exist or be empty): imagesTr/<case>_0000.nii.gz ... (one file per channel,
 * hard-linked or copied from the sources, which are never modified), labelsTr/<case>.nii.gz
 * (BraTS labels made consecutive as nnU-Net requires: 0, 1 NCR/NET, 2 edema,
 * 3 enhancing; BraTS 2015 label 3 becomes 1) and dataset.json.  Queued cases only unless
 * options->include_used.  *n_cases (nullable) is set to the number exported. */
gboolean    ns_queue_export           (NsQueue *queue, const char *dir,
                                       const NsQueueExportOptions *options, guint *n_cases,
                                       GError **error);

/* ---- models ------------------------------------------------------------------------- */

/* Records a model (its sha256 computed here) and returns its version (1, 2, ...), 0 on
 * error.  With info->failure set the version is recorded as failed.  A file already
 * registered (same sha256) is refused unless it comes from a run. */
int           ns_queue_register_model (NsQueue *queue, const NsQueueModelInfo *info,
                                       GError **error);
/* NsQueueModel *, by version. */
GPtrArray    *ns_queue_list_models    (NsQueue *queue, GError **error);
NsQueueModel *ns_queue_get_model      (NsQueue *queue, int version, GError **error);
/* The version registered for a file (absolute path match), 0 when none. */
int           ns_queue_find_model_by_path (NsQueue *queue, const char *path, GError **error);
/* The default model, or NULL (error unset) when there is none. */
NsQueueModel *ns_queue_get_default_model (NsQueue *queue, GError **error);
/* The default model's file, for `neuroseg segment` and the GUI: NULL with error unset
 * when the registry has no default; NULL + error when its file is missing or changed
 * since it was registered (sha256), so that it is never used. */
char         *ns_queue_dup_default_model_path (NsQueue *queue, GError **error);
/* The same without an open handle and without creating anything: the default model's
 * file from the database at db_path (NULL: ns_queue_default_path()) when that database
 * exists; NULL with error unset when there is no database or no default; NULL + error
 * when the default's file is missing or changed, or the database cannot be read. */
char         *ns_queue_lookup_default_model (const char *db_path, GError **error);
/* The file still exists and has the sha256 it was registered with. */
gboolean      ns_queue_verify_model_file (NsQueue *queue, const NsQueueModel *model,
                                          GError **error);
/* Makes a registered version the default (logged). */
gboolean      ns_queue_promote        (NsQueue *queue, int version, const char *who,
                                       GError **error);
/* Returns to an earlier default: version, or with 0 the default before the current one.
 * *new_default (nullable) receives it. */
gboolean      ns_queue_rollback       (NsQueue *queue, int version, const char *who,
                                       int *new_default, GError **error);
/* NsQueuePromotion *, oldest first. */
GPtrArray    *ns_queue_list_promotions (NsQueue *queue, GError **error);

/* ---- training runs ----------------------------------------------------------------- */

/* Records a run started by process pid (0: this process) on the given cases.  Returns
 * its id, 0 on error. */
gint64      ns_queue_run_begin        (NsQueue *queue, const char *command, const char *log_path,
                                       const gint64 *case_ids, guint n_cases, int pid,
                                       GError **error);
/* The process that runs it (e.g. the trainer subprocess, once spawned). */
gboolean    ns_queue_run_set_pid      (NsQueue *queue, gint64 run_id, int pid, GError **error);
/* Ends a running run as SUCCEEDED, FAILED or CANCELLED (message: why, nullable).  Models
 * are registered with ns_queue_register_model (info->run_id), which ends the run too. */
gboolean    ns_queue_run_finish       (NsQueue *queue, gint64 run_id, NsQueueRunStatus status,
                                       const char *message, GError **error);
/* NsQueueRun *, oldest first. */
GPtrArray  *ns_queue_list_runs        (NsQueue *queue, GError **error);
NsQueueRun *ns_queue_get_run          (NsQueue *queue, gint64 run_id, GError **error);
/* Marks failed every run still "running" whose process (on this host) is gone.  Returns
 * how many, -1 on error. */
int         ns_queue_reap_stale_runs  (NsQueue *queue, GError **error);

void ns_queue_entry_free        (NsQueueEntry *entry);
void ns_queue_history_item_free (NsQueueHistoryItem *item);
void ns_queue_model_free        (NsQueueModel *model);
void ns_queue_promotion_free    (NsQueuePromotion *promotion);
void ns_queue_run_free          (NsQueueRun *run);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (NsQueue, ns_queue_close)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (NsQueueEntry, ns_queue_entry_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (NsQueueModel, ns_queue_model_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (NsQueueRun, ns_queue_run_free)

G_END_DECLS
