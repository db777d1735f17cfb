/* SPDX-License-Identifier: MIT
 *
 * ns-registry.h: the model registry, in the database of ns-db.h: model versions, the
 * default model, promotions and roll-backs, and validation figures.
 *
 * Versions: 0 is the shipped model (the file ns_paths_dup_shipped_model() finds from the
 * program's location), always there: its row is created or refreshed whenever the
 * database is opened read-write and its file is found, and listed from the file itself
 * when the database has no row yet (absent, or read-only); its figures are its model
 * card's (the checkpoint metadata's metrics).  It cannot be removed, and it is always
 * possible to go back to it.  1, 2, ... are the models registered by hand or by
 * fine-tuning runs (sha256 recorded; a file that changes is never used).
 *
 * The one rule for "the default model", used by `neuroseg segment`, `neuroseg train
 * --init default`, `neuroseg models` and the workbench: ns_registry_dup_default_model().
 * The registry's promoted default (verified by sha256: a missing or changed file is an
 * error, never silently replaced by another model), else the shipped model.  Never
 * anything in the working directory.
 *
 * Promotion is gated (ns_registry_compare()): a candidate needs validation figures (per
 * case: Dice of WT, TC and ET, voxels predicted and true per region, recorded by
 * `neuroseg models validate`), may not predict an empty mask on a case whose truth is not
 * empty, and its validation score may not be below the current default's on the same
 * cases.  The score is the mean over the cases of the mean Dice of WT, TC and ET, not WT
 * alone: a fine-tuned model can keep the whole tumour and lose the enhancing core (the
 * region that treatment targets), which a WT-only gate would let through; BraTS ranks
 * models on all three regions.  "The same cases" are the same files: a case is identified
 * by the sha256 of its FLAIR and of its truth, so a moved folder still counts and an
 * edited truth does not.  Without an explicit force, a promotion that fails the gate is
 * refused (NS_DATA_ERROR_REFUSED) with the reason.
 */
#pragma once

#include "ns-db.h"

G_BEGIN_DECLS

/* The version of the shipped model. */
#define NS_REGISTRY_SHIPPED 0
/* No version: no parent, no previous default. */
#define NS_REGISTRY_NONE (-1)
/* ns_registry_rollback(): the default before the current one. */
#define NS_REGISTRY_PREVIOUS (-1)

typedef enum
{
  NS_REGISTRY_MODEL_REGISTERED,
  NS_REGISTRY_MODEL_FAILED,      /* did not load: recorded, never used */
} NsRegistryModelStatus;

typedef struct
{
  int version;              /* NS_REGISTRY_SHIPPED (0), or 1, 2, ... */
  char *path;
  char *sha256;
  char *arch;
  int parent;               /* the version it was fine-tuned from, NS_REGISTRY_NONE: none */
  char *created;
  char *metrics;            /* JSON object: dice_wt, dice_tc, dice_et, val_cases,
                               cases_used, command, seconds, device, ... */
  NsRegistryModelStatus status;
  char *error;              /* why it failed, or NULL */
  gboolean is_default;      /* the default by the one rule */
  gint64 run_id;            /* 0: none */
  double dice[3];           /* WT, TC, ET from metrics; NAN when absent */
} NsRegistryModel;

/* What to register (ns_registry_register_model()). */
typedef struct
{
  const char *path;         /* the checkpoint; made absolute */
  const char *arch;         /* nullable */
  int parent;               /* NS_REGISTRY_NONE, or a version (0: the shipped model) */
  const char *metrics;      /* JSON object text, nullable ("{}") */
  gint64 run_id;            /* 0: none; else the run that produced it (marked succeeded,
                               or failed when failure is set, and its queued cases marked
                               used by the new version), in the same transaction */
  const char *failure;      /* NULL: registered; else why it failed to load */
} NsRegistryModelInfo;

typedef struct
{
  gint64 id;
  int version;
  int previous;             /* the default before, NS_REGISTRY_NONE: none */
  char *action;             /* "promote" or "rollback" */
  char *at;
  char *who;
} NsRegistryPromotion;

/* The figures of one model on one validation case (net/ns-validate.h computes them). */
typedef struct
{
  gint64 id;                /* set when read back */
  int model_version;
  char *case_path;
  char *case_id;
  char *flair_sha256;       /* the case's identity, with truth_sha256 */
  char *truth_sha256;
  double dice[3];           /* WT, TC, ET (1 when prediction and truth are both empty) */
  gint64 predicted[3];      /* voxels predicted in WT, TC, ET */
  gint64 truth[3];          /* voxels of WT, TC, ET in the truth */
  char *device;             /* where it ran (nullable) */
  char *at;                 /* set when read back */
} NsRegistryValidation;

typedef enum
{
  NS_REGISTRY_GATE_PASS,              /* may be promoted */
  NS_REGISTRY_GATE_NO_FIGURES,        /* never validated */
  NS_REGISTRY_GATE_EMPTY_PREDICTION,  /* an empty mask where the truth is not empty */
  NS_REGISTRY_GATE_NOT_COMPARABLE,    /* the current default has no figures on its cases */
  NS_REGISTRY_GATE_LOWER_DICE,        /* a lower score than the current default's */
} NsRegistryGate;

/* One validation case of the candidate, side by side with the current default. */
typedef struct
{
  const NsRegistryValidation *candidate;  /* never NULL */
  const NsRegistryValidation *current;    /* NULL: the current default has no figures */
} NsRegistryComparisonRow;

typedef struct
{
  int candidate;            /* its version */
  int current;              /* the current default's version, NS_REGISTRY_NONE: none */
  GPtrArray *rows;          /* NsRegistryComparisonRow *, one per validation case of the
                               candidate (its latest figures on it) */
  guint n_common;           /* cases with figures of both */
  /* Mean Dice per region (WT, TC, ET) and the score (mean of the three) over the common
   * cases, or over all the candidate's cases when there are none in common; NAN where
   * there is nothing to average. */
  double candidate_dice[3];
  double current_dice[3];
  double candidate_score;
  double current_score;
  NsRegistryGate gate;
  char *reason;             /* one line: why it may or may not be promoted */
  /* private */
  GPtrArray *records;       /* owns the NsRegistryValidation of the rows */
} NsRegistryComparison;

const char      *ns_registry_model_status_name (NsRegistryModelStatus status);

/* ---- the default model ---------------------------------------------------------------- */

/* The one rule (see the top), without an open handle and without creating anything: the
 * database at db_path (NULL: ns_db_dup_default_path()) is opened read-only; no database
 * means the shipped model.  Returns the model file (owned) and *version (nullable; 0 for
 * the shipped model); *why (nullable, owned) says why it is the default.  NULL + error when
 * the promoted default's file is missing or changed, when there is no shipped model to
 * fall back to, or when the database cannot be read. */
char            *ns_registry_dup_default_model (const char *db_path, int *version, char **why,
                                                GError **error);
/* The same on an open database. */
char            *ns_registry_dup_default_path  (NsDb *db, int *version, char **why,
                                                GError **error);

/* ---- models --------------------------------------------------------------------------- */

/* Records a model (its sha256 computed here) and returns its version (1, 2, ...), 0 on
 * error.  With info->failure set the version is recorded as failed.  A file already
 * registered (same sha256; the shipped model included) is refused unless it comes from a
 * run. */
int              ns_registry_register_model (NsDb *db, const NsRegistryModelInfo *info,
                                             GError **error);
/* NsRegistryModel *, by version, the shipped model (0) first when it is found. */
GPtrArray       *ns_registry_list_models    (NsDb *db, GError **error);
NsRegistryModel *ns_registry_dup_model      (NsDb *db, int version, GError **error);
/* The default model by the one rule (its row), or NULL with error unset when there is no
 * promoted default and no shipped model. */
NsRegistryModel *ns_registry_dup_default    (NsDb *db, GError **error);
/* *version: the registered version of a file (absolute path match; the shipped model's
 * file is 0), NS_REGISTRY_NONE when none. */
gboolean         ns_registry_find_model_by_path (NsDb *db, const char *path, int *version,
                                                 GError **error);
/* The model can be used: registered (not failed), and its file still exists with the
 * sha256 it was registered with (the shipped model: its file is there). */
gboolean         ns_registry_verify_model_file (NsDb *db, const NsRegistryModel *model,
                                                GError **error);
/* The sha256 of a file, as hex (owned); errors name the file. */
char            *ns_registry_dup_file_sha256 (const char *path, GError **error);

/* ---- promotions ---------------------------------------------------------------------- */

/* Makes a registered version the default (logged).  Unless force, the gate must pass
 * (ns_registry_compare()); else NS_DATA_ERROR_REFUSED with the reason.  Version 0 (the
 * shipped model) is never gated. */
gboolean         ns_registry_promote        (NsDb *db, int version, gboolean force,
                                             const char *who, GError **error);
/* Returns to an earlier default: version (0: the shipped model), or with
 * NS_REGISTRY_PREVIOUS the default before the current one, which is the shipped model
 * when there was none.  *new_default (nullable) receives it. */
gboolean         ns_registry_rollback       (NsDb *db, int version, const char *who,
                                             int *new_default, GError **error);
/* NsRegistryPromotion *, oldest first. */
GPtrArray       *ns_registry_list_promotions (NsDb *db, GError **error);

/* ---- validation ------------------------------------------------------------------------ */

/* Records the figures of model version v->model_version on one case.  Returns the
 * record's id, 0 on error (an unknown version, figures out of range). */
gint64           ns_registry_add_validation  (NsDb *db, const NsRegistryValidation *v,
                                              GError **error);
/* NsRegistryValidation * of a version, oldest first (all of them, re-validations too). */
GPtrArray       *ns_registry_list_validations (NsDb *db, int version, GError **error);
/* The candidate's latest figures per case next to the current default's on the same
 * cases, and the verdict of the gate. */
NsRegistryComparison *ns_registry_compare    (NsDb *db, int candidate, GError **error);

void ns_registry_model_free      (NsRegistryModel *model);
void ns_registry_promotion_free  (NsRegistryPromotion *promotion);
void ns_registry_validation_free (NsRegistryValidation *validation);
void ns_registry_comparison_free (NsRegistryComparison *comparison);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (NsRegistryModel, ns_registry_model_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (NsRegistryValidation, ns_registry_validation_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (NsRegistryComparison, ns_registry_comparison_free)

G_END_DECLS
