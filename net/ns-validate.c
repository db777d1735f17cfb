/* SPDX-License-Identifier: MIT
 *
 * ns-validate.c: a model's figures on validation cases (see ns-validate.h).
 *
 * One case at a time: a case and its result hold a few hundred MB, and the figures of one
 * case do not depend on another.
 */
#define G_LOG_DOMAIN "neuroseg-net"

#include "ns-validate.h"

#include "ns-checkpoint.h"
#include "ns-data-error.h"
#include "ns-metrics.h"

static const char *const regions[3] = { "WT", "TC", "ET" };

static NsRegistryValidation *
validate_one (NsModel *model, const char *path, const NsInferOptions *options, GError **error)
{
  NsMetrics metrics;

  g_autoptr (NsCase) ncase = ns_case_load (path, NS_CASE_LOAD_MAP_TO_2017, error);
  if (ncase == NULL)
    return NULL;
  if (ncase->labels == NULL)
    {
      g_set_error (error, NS_DATA_ERROR, NS_DATA_ERROR_NOT_FOUND,
                   "%s: has no label map (a *_seg.nii.gz file) to validate against", path);
      return NULL;
    }
  g_autoptr (NsInferResult) r = ns_infer_run_case (model, ncase, options, error);
  if (r == NULL)
    return NULL;
  if (!ns_metrics_evaluate (r->labels, ncase->labels, &metrics, error))
    return NULL;

  g_autoptr (NsRegistryValidation) v = g_new0 (NsRegistryValidation, 1);
  v->model_version = NS_REGISTRY_NONE;
  v->case_path = g_canonicalize_filename (path, NULL);
  v->case_id = g_strdup (ncase->id);
  v->flair_sha256 = ns_registry_dup_file_sha256 (ncase->paths[NS_CASE_FILE_FLAIR], error);
  if (v->flair_sha256 == NULL)
    return NULL;
  v->truth_sha256 = ns_registry_dup_file_sha256 (ncase->paths[NS_CASE_FILE_LABELS], error);
  if (v->truth_sha256 == NULL)
    return NULL;
  for (int i = 0; i < 3; i++)
    {
      const NsMetricsRow *row = ns_metrics_find_row (&metrics, regions[i]);
      g_assert (row != NULL);
      v->dice[i] = row->dice;
      v->predicted[i] = row->n_pred;
      v->truth[i] = row->n_truth;
    }
  v->device = g_strdup (r->stats.device);
  return g_steal_pointer (&v);
}

GPtrArray *
ns_validate_model_file (const char *model_path, NsBackend *backend, const char *const *cases,
                        const NsInferOptions *options, NsValidateProgressFunc progress,
                        gpointer progress_data, GError **error)
{
  g_return_val_if_fail (model_path != NULL && backend != NULL && cases != NULL, NULL);

  /* every tensor, finite: a model that does not load has no figures */
  g_autoptr (NsModel) model = ns_checkpoint_load (model_path, backend, error);
  if (model == NULL)
    return NULL;

  guint n = g_strv_length ((char **) cases);
  g_autoptr (GPtrArray) out =
    g_ptr_array_new_with_free_func ((GDestroyNotify) ns_registry_validation_free);
  for (guint i = 0; i < n; i++)
    {
      NsRegistryValidation *v = validate_one (model, cases[i], options, error);
      if (v == NULL)
        return NULL;
      g_ptr_array_add (out, v);
      if (progress != NULL)
        progress (i + 1, n, v, progress_data);
    }
  return g_steal_pointer (&out);
}
