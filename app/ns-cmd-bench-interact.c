/* SPDX-License-Identifier: MIT
 *
 * ns-cmd-bench-interact.c: the interact section of `neuroseg bench`: the latency of
 * interactive correction (issue 15's target: the clicked slice answers in <= 100 ms p95
 * on the 2-core build machine).  On the case's tumour (its label map as the current WT
 * mask), a click at the centre of the tumour on each axial slice that holds it, in turn,
 * 20 x --runs times after one warm-up: the time of run_slice (p50, p95), and of the
 * propagation that follows the first --runs of them (median; seconds each on a busy CPU).  The weights do not change the time: without
 * --interact-model a fresh interactive model (Kaiming weights) is timed.
 */
#define G_LOG_DOMAIN "neuroseg"

#include "ns-checkpoint.h"
#include "ns-cmd.h"
#include "ns-interact.h"
#include "ns-json.h"
#include "ns-metrics.h"

#include <json-glib/json-glib.h>
#include <stdio.h>

static NsModel *
bench_model (NsBackend *be, const char *path, GError **error)
{
  if (path != NULL)
    {
      g_autoptr (NsModel) m = ns_checkpoint_load (path, be, error);
      if (m == NULL
          || !ns_model_meta_check_kind (ns_model_get_meta (m), TRUE, path, error))
        return NULL;
      return g_steal_pointer (&m);
    }
  g_autoptr (NsModelMeta) base = ns_model_meta_new_default (NULL);
  g_autoptr (NsModelMeta) meta = ns_model_meta_new_interactive (base);
  NsModelInit init = { NS_INIT_KAIMING, 0, 1 };
  return ns_model_new (be, meta, &init, error);
}

gboolean
ns_bench_interact (const char *case_path, const char *model_path, int runs, gboolean json_only,
                   JsonBuilder *json, GError **error)
{
  g_autoptr (NsCase) ncase = ns_case_load (case_path, NS_CASE_LOAD_MAP_TO_2017, error);
  if (ncase == NULL)
    return FALSE;
  if (ncase->labels == NULL)
    {
      g_set_error (error, G_FILE_ERROR, G_FILE_ERROR_NOENT,
                   "%s: the interact benchmark needs a case with a label map", case_path);
      return FALSE;
    }
  g_autoptr (NsBackend) be = ns_backend_new ("cpu", error);
  if (be == NULL)
    return FALSE;
  g_autoptr (NsModel) model = bench_model (be, model_path, error);
  if (model == NULL)
    return FALSE;

  /* the axial slices with tumour, and the tumour's centre on each */
  const NsGrid *g = &ncase->grid;
  g_autoptr (GArray) slices = g_array_new (FALSE, FALSE, sizeof (NsClick));
  for (int k = 0; k < g->dim[2]; k++)
    {
      double si = 0, sj = 0, n = 0;
      for (int j = 0; j < g->dim[1]; j++)
        for (int i = 0; i < g->dim[0]; i++)
          if (ncase->labels->labels[ns_grid_index (g, i, j, k)] != 0)
            {
              si += i;
              sj += j;
              n++;
            }
      if (n < 20)
        continue;
      NsClick c = { 2, { si / n, sj / n, k }, TRUE, 0 };
      g_array_append_val (slices, c);
    }
  if (slices->len == 0)
    {
      g_set_error (error, G_FILE_ERROR, G_FILE_ERROR_INVAL,
                   "%s: no axial slice with 20 tumour voxels to click on", case_path);
      return FALSE;
    }

  int n = 20 * runs;
  g_autofree double *t_slice = g_new (double, n);
  int n_prop = runs;
  g_autofree double *t_prop = g_new (double, n_prop);
  for (int r = -1; r < n; r++)
    {
      /* a fresh session per click, so that every click starts from the same mask */
      g_autoptr (NsInteractSession) s = ns_interact_session_new (model, ncase, NS_REGION_WT,
                                                                 ncase->labels, error);
      if (s == NULL)
        return FALSE;
      const NsClick *c = &g_array_index (slices, NsClick, MAX (r, 0) % slices->len);
      if (!ns_interact_session_add_click (s, c, error))
        return FALSE;
      gint64 t0 = g_get_monotonic_time ();
      if (!ns_interact_session_run_slice (s, 2, (int) c->voxel[2], NULL, NULL, error))
        return FALSE;
      gint64 t1 = g_get_monotonic_time ();
      if (r >= 0)
        t_slice[r] = (t1 - t0) / 1e3;
      if (r >= 0 && r < n_prop)
        {
          if (!ns_interact_session_propagate (s, 2, (int) c->voxel[2], NULL, NULL, NULL, error))
            return FALSE;
          t_prop[r] = (g_get_monotonic_time () - t1) / 1e3;
        }
    }
  double p50 = ns_metrics_percentile (t_slice, n, 50);
  double p95 = ns_metrics_percentile (t_slice, n, 95);
  double prop50 = ns_metrics_percentile (t_prop, n_prop, 50);
  if (!json_only)
    printf ("interact (%s, %s): clicked slice p50 %.1f ms, p95 %.1f ms (%d clicks on %u "
            "slices); propagation median %.0f ms\n", ns_cmd_printable (case_path),
            model_path != NULL ? ns_cmd_printable (model_path) : "fresh interactive model",
            p50, p95, n, slices->len, prop50);
  json_builder_set_member_name (json, "interact");
  json_builder_begin_object (json);
  ns_json_add_string (json, "case", case_path);
  ns_json_add_int (json, "clicks", n);
  ns_json_add_number (json, "slice_ms_p50", p50);
  ns_json_add_number (json, "slice_ms_p95", p95);
  ns_json_add_number (json, "propagate_ms_median", prop50);
  json_builder_end_object (json);
  return TRUE;
}
