/* SPDX-License-Identifier: MIT
 *
 * ns-registry-gate.c: validation figures and the gate of promotions (see ns-registry.h;
 * the models, the default rule and the promotions themselves are ns-registry.c).
 *
 * A case is identified by the sha256 of its FLAIR and of its truth, so a moved folder is
 * still the same case and an edited truth is not.  Of several figures of one model on one
 * case the latest counts (a re-validation after a fix replaces the old figures, which stay
 * recorded).  The comparison runs on the cases both models have figures on; the score is
 * the mean over them of the mean Dice of WT, TC and ET (why not WT alone: ns-registry.h).
 */
#define G_LOG_DOMAIN "neuroseg-data"

#include "ns-registry-private.h"

#include "ns-data-error.h"
#include "ns-db-private.h"

#include <math.h>
#include <string.h>

/* ---- validation ------------------------------------------------------------------------ */

void
ns_registry_validation_free (NsRegistryValidation *v)
{
  if (v == NULL)
    return;
  g_free (v->case_path);
  g_free (v->case_id);
  g_free (v->flair_sha256);
  g_free (v->truth_sha256);
  g_free (v->device);
  g_free (v->at);
  g_free (v);
}

static gboolean
validation_txn (NsDb *db, gpointer data, GError **error)
{
  const NsRegistryValidation *v = ((gpointer *) data)[0];
  gint64 *id = ((gpointer *) data)[1];
  g_autofree char *now = _ns_db_dup_now ();

  _ns_db_touch (db, NS_DB_CHANGES_REGISTRY);
  if (!_ns_registry_check_model (db, v->model_version, error))
    return FALSE;
  g_autoptr (NsDbStmt) st = _ns_db_prepare (db,
    "INSERT INTO validations (model_version, case_path, case_id, flair_sha256, truth_sha256, "
    "dice_wt, dice_tc, dice_et, predicted_wt, predicted_tc, predicted_et, truth_wt, "
    "truth_tc, truth_et, device, at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
    "RETURNING id", error);
  if (st == NULL)
    return FALSE;
  _ns_db_bind_int (st, 1, v->model_version);
  _ns_db_bind_text (st, 2, v->case_path);
  _ns_db_bind_text (st, 3, v->case_id);
  _ns_db_bind_text (st, 4, v->flair_sha256);
  _ns_db_bind_text (st, 5, v->truth_sha256);
  for (int r = 0; r < 3; r++)
    {
      _ns_db_bind_double (st, 6 + r, v->dice[r]);
      _ns_db_bind_int (st, 9 + r, v->predicted[r]);
      _ns_db_bind_int (st, 12 + r, v->truth[r]);
    }
  _ns_db_bind_text (st, 15, v->device);
  _ns_db_bind_text (st, 16, now);
  return _ns_db_step_returning (st, id, "cannot record the validation", error);
}

gint64
ns_registry_add_validation (NsDb *db, const NsRegistryValidation *v, GError **error)
{
  gint64 id = 0;
  gpointer data[2] = { (gpointer) v, &id };

  g_return_val_if_fail (db != NULL && v != NULL, 0);
  if (v->case_path == NULL || v->case_id == NULL || v->flair_sha256 == NULL
      || v->truth_sha256 == NULL)
    {
      g_set_error (error, NS_DATA_ERROR, NS_DATA_ERROR_INVALID,
                   "%s: a validation record needs the case's path, id and checksums",
                   db->path);
      return 0;
    }
  for (int r = 0; r < 3; r++)
    if (!(v->dice[r] >= 0 && v->dice[r] <= 1) || v->predicted[r] < 0 || v->truth[r] < 0)
      {
        g_set_error (error, NS_DATA_ERROR, NS_DATA_ERROR_INVALID,
                     "%s: validation of %s: a Dice of %g or a voxel count below 0 is not a "
                     "figure", v->case_path, v->case_id, v->dice[r]);
        return 0;
      }
  if (!_ns_db_write (db, validation_txn, data, error))
    return 0;
  return id;
}

GPtrArray *
ns_registry_list_validations (NsDb *db, int version, GError **error)
{
  g_return_val_if_fail (db != NULL, NULL);
  g_autoptr (NsDbStmt) st = _ns_db_prepare (db,
    "SELECT id, model_version, case_path, case_id, flair_sha256, truth_sha256, dice_wt, "
    "dice_tc, dice_et, predicted_wt, predicted_tc, predicted_et, truth_wt, truth_tc, "
    "truth_et, device, at FROM validations WHERE model_version = ? ORDER BY id", error);
  if (st == NULL)
    return NULL;
  _ns_db_bind_int (st, 1, version);
  g_autoptr (GPtrArray) out =
    g_ptr_array_new_with_free_func ((GDestroyNotify) ns_registry_validation_free);
  NsDbStep rc;
  while ((rc = _ns_db_step (st)) == NS_DB_STEP_ROW)
    {
      NsRegistryValidation *v = g_new0 (NsRegistryValidation, 1);
      v->id = _ns_db_column_int64 (st, 0);
      v->model_version = _ns_db_column_int (st, 1);
      v->case_path = _ns_db_column_text (st, 2);
      v->case_id = _ns_db_column_text (st, 3);
      v->flair_sha256 = _ns_db_column_text (st, 4);
      v->truth_sha256 = _ns_db_column_text (st, 5);
      for (int r = 0; r < 3; r++)
        {
          v->dice[r] = _ns_db_column_double_or_nan (st, 6 + r);
          v->predicted[r] = _ns_db_column_int64 (st, 9 + r);
          v->truth[r] = _ns_db_column_int64 (st, 12 + r);
        }
      v->device = _ns_db_column_text (st, 15);
      v->at = _ns_db_column_text (st, 16);
      g_ptr_array_add (out, v);
    }
  if (rc != NS_DB_STEP_DONE)
    {
      _ns_db_set_error (db, error, "cannot read the validations");
      return NULL;
    }
  return g_steal_pointer (&out);
}

/* ---- the gate ------------------------------------------------------------------------------ */

static char *
case_key (const NsRegistryValidation *v)
{
  return g_strconcat (v->flair_sha256, ":", v->truth_sha256, NULL);
}

/* The latest record per case of a version, in the order of those records; the records
 * are moved into keep (which owns them). */
static GPtrArray *
latest_per_case (NsDb *db, int version, GPtrArray *keep, GError **error)
{
  g_autoptr (GPtrArray) all = ns_registry_list_validations (db, version, error);
  if (all == NULL)
    return NULL;
  g_autoptr (GHashTable) seen = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  GPtrArray *out = g_ptr_array_new ();
  for (guint i = all->len; i-- > 0;)
    {
      NsRegistryValidation *v = all->pdata[i];
      char *key = case_key (v);
      if (g_hash_table_contains (seen, key))
        {
          g_free (key);
          continue;
        }
      g_hash_table_add (seen, key);
      g_ptr_array_insert (out, 0, v);
    }
  /* move them all into keep, the ones not in out are freed with it */
  while (all->len > 0)
    g_ptr_array_add (keep, g_ptr_array_steal_index (all, 0));
  return out;
}

static double
score_of (const double dice[3])
{
  return (dice[0] + dice[1] + dice[2]) / 3.0;
}

void
ns_registry_comparison_free (NsRegistryComparison *c)
{
  if (c == NULL)
    return;
  g_clear_pointer (&c->rows, g_ptr_array_unref);
  g_clear_pointer (&c->records, g_ptr_array_unref);
  g_free (c->reason);
  g_free (c);
}

/* The figures of one side averaged over the rows (common: only those with both). */
static void
average (NsRegistryComparison *c, gboolean current_side, gboolean common)
{
  double sum[3] = { 0, 0, 0 };
  guint n = 0;
  for (guint i = 0; i < c->rows->len; i++)
    {
      NsRegistryComparisonRow *row = c->rows->pdata[i];
      const NsRegistryValidation *v = current_side ? row->current : row->candidate;
      if (v == NULL || (common && row->current == NULL))
        continue;
      for (int r = 0; r < 3; r++)
        sum[r] += v->dice[r];
      n++;
    }
  double *out = current_side ? c->current_dice : c->candidate_dice;
  for (int r = 0; r < 3; r++)
    out[r] = n > 0 ? sum[r] / n : NAN;
  if (current_side)
    c->current_score = n > 0 ? score_of (out) : NAN;
  else
    c->candidate_score = n > 0 ? score_of (out) : NAN;
}

static void
judge (NsRegistryComparison *c)
{
  int v = c->candidate, cur = c->current;

  if (c->rows->len == 0)
    {
      c->gate = NS_REGISTRY_GATE_NO_FIGURES;
      c->reason = g_strdup_printf ("model version %d has no validation figures (validate it "
                                   "first: neuroseg models validate %d --val CASE...)", v, v);
      return;
    }
  for (guint i = 0; i < c->rows->len; i++)
    {
      const NsRegistryValidation *f = ((NsRegistryComparisonRow *) c->rows->pdata[i])->candidate;
      if (f->predicted[0] == 0 && f->truth[0] > 0)
        {
          c->gate = NS_REGISTRY_GATE_EMPTY_PREDICTION;
          c->reason = g_strdup_printf ("model version %d predicts an empty mask on validation "
                                       "case %s, whose truth has %" G_GINT64_FORMAT " tumour "
                                       "voxels", v, f->case_id, f->truth[0]);
          return;
        }
    }
  if (cur == NS_REGISTRY_NONE || cur == v)
    {
      c->gate = NS_REGISTRY_GATE_PASS;
      c->reason = cur == v ? g_strdup_printf ("model version %d is the current default", v)
                           : g_strdup ("there is no current default to compare with");
      return;
    }
  if (c->n_common == 0)
    {
      g_autoptr (GString) cases = g_string_new (NULL);
      for (guint i = 0; i < c->rows->len; i++)
        g_string_append_printf (cases, "%s%s", i > 0 ? " " : "",
                                ((NsRegistryComparisonRow *) c->rows->pdata[i])->candidate
                                  ->case_path);
      c->gate = NS_REGISTRY_GATE_NOT_COMPARABLE;
      c->reason = g_strdup_printf ("the current default, version %d, has no validation "
                                   "figures on the cases of version %d (validate it on the "
                                   "same cases: neuroseg models validate %d --val %s)", cur, v,
                                   cur, cases->str);
      return;
    }
  /* Below by more than rounding noise: two runs of one model give the same figures. */
  if (c->candidate_score < c->current_score - 1e-9)
    {
      c->gate = NS_REGISTRY_GATE_LOWER_DICE;
      c->reason = g_strdup_printf ("the validation score of version %d (mean Dice of WT, TC "
                                   "and ET) is %.4f, below the current default version %d's "
                                   "%.4f on the same %u case%s", v, c->candidate_score, cur,
                                   c->current_score, c->n_common, c->n_common == 1 ? "" : "s");
      return;
    }
  c->gate = NS_REGISTRY_GATE_PASS;
  c->reason = g_strdup_printf ("the validation score of version %d (mean Dice of WT, TC and "
                               "ET) is %.4f, not below the current default version %d's %.4f "
                               "on the same %u case%s", v, c->candidate_score, cur,
                               c->current_score, c->n_common, c->n_common == 1 ? "" : "s");
}

NsRegistryComparison *
ns_registry_compare (NsDb *db, int candidate, GError **error)
{
  g_return_val_if_fail (db != NULL, NULL);

  g_autoptr (NsRegistryModel) cand = ns_registry_dup_model (db, candidate, error);
  if (cand == NULL)
    return NULL;
  g_autoptr (GError) local = NULL;
  g_autoptr (NsRegistryModel) def = ns_registry_dup_default (db, &local);
  if (local != NULL)
    {
      g_propagate_error (error, g_steal_pointer (&local));
      return NULL;
    }

  g_autoptr (NsRegistryComparison) c = g_new0 (NsRegistryComparison, 1);
  c->candidate = candidate;
  c->current = def != NULL ? def->version : NS_REGISTRY_NONE;
  c->records = g_ptr_array_new_with_free_func ((GDestroyNotify) ns_registry_validation_free);
  c->rows = g_ptr_array_new_with_free_func (g_free);
  g_autoptr (GPtrArray) mine = latest_per_case (db, candidate, c->records, error);
  if (mine == NULL)
    return NULL;
  g_autoptr (GHashTable) theirs = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  if (c->current != NS_REGISTRY_NONE && c->current != candidate)
    {
      g_autoptr (GPtrArray) cur = latest_per_case (db, c->current, c->records, error);
      if (cur == NULL)
        return NULL;
      for (guint i = 0; i < cur->len; i++)
        g_hash_table_insert (theirs, case_key (cur->pdata[i]), cur->pdata[i]);
    }
  for (guint i = 0; i < mine->len; i++)
    {
      NsRegistryComparisonRow *row = g_new0 (NsRegistryComparisonRow, 1);
      g_autofree char *key = case_key (mine->pdata[i]);
      row->candidate = mine->pdata[i];
      row->current = g_hash_table_lookup (theirs, key);
      c->n_common += row->current != NULL;
      g_ptr_array_add (c->rows, row);
    }
  average (c, FALSE, c->n_common > 0);
  average (c, TRUE, TRUE);
  judge (c);
  return g_steal_pointer (&c);
}
