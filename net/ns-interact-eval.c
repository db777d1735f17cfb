/* SPDX-License-Identifier: MIT
 *
 * ns-interact-eval.c: the simulated-click protocol (ns-interact-eval.h).
 */
#define G_LOG_DOMAIN "neuroseg-net"

#include "ns-interact-eval.h"
#include "ns-interact-eval-private.h"
#include "ns-interact-private.h"

#include "ns-data-error.h"
#include "ns-metrics.h"

#include <math.h>
#include <string.h>

#define AXIS 2          /* clicks on axial slices, the plane the model was trained on */
#define BRUSH_RADIUS_MM 3.0

static double
region_dice (const guint8 *mask, const guint8 *truth, gsize n)
{
  guint64 np = 0, nt = 0, no = 0;
  for (gsize i = 0; i < n; i++)
    {
      np += mask[i] != 0;
      nt += truth[i] != 0;
      no += mask[i] && truth[i];
    }
  return ns_metrics_dice (np, nt, no);
}

/* A brush dab: the disc of the click on its slice set (positive) or cleared. */
static void
dab (guint8 *mask, const NsGrid *grid, const NsClick *click)
{
  int pw, ph, slice = (int) floor (click->voxel[click->axis] + 0.5);
  ns_interact_plane_size (grid, click->axis, &pw, &ph);
  g_autofree guint8 *disc = g_malloc ((gsize) pw * ph);
  ns_interact_draw_clicks (grid, click, 1, click->axis, slice, disc, disc);
  for (int v = 0; v < ph; v++)
    for (int u = 0; u < pw; u++)
      if (disc[(gsize) v * pw + u])
        mask[_ns_interact_voxel_index (grid, click->axis, slice, u, v)] = click->positive;
}

static int
compare_double (gconstpointer a, gconstpointer b)
{
  double x = *(const double *) a, y = *(const double *) b;
  return x < y ? -1 : x > y;
}

static double
percentile (GArray *values, double p)
{
  if (values->len == 0)
    return 0;
  g_array_sort (values, compare_double);
  return ns_metrics_percentile ((double *) values->data, values->len, p);
}

gboolean
_ns_interact_eval_run_full (NsModel *model, const NsModelMeta *meta,
                            NsInteractForwardFunc forward, gpointer forward_data,
                            NsCase *ncase, const NsLabelMap *start, const NsLabelMap *truth,
                            const NsInteractEvalOptions *o, NsInteractEvalResult *r,
                            GError **error)
{
  g_return_val_if_fail (ncase != NULL && start != NULL && truth != NULL && o != NULL, FALSE);
  g_return_val_if_fail (o->brush || model != NULL || forward != NULL, FALSE);

  if (o->clicks < 0 || o->clicks > NS_INTERACT_EVAL_MAX_CLICKS)
    {
      g_set_error (error, NS_NET_ERROR, NS_NET_ERROR_FAILED,
                   "%d clicks per region; 0 to %d are supported", o->clicks,
                   NS_INTERACT_EVAL_MAX_CLICKS);
      return FALSE;
    }
  const NsLabelMap *maps[2] = { start, truth };
  for (int m = 0; m < 2; m++)
    if (!ns_grid_equal (&maps[m]->grid, &ncase->grid))
      {
        g_set_error (error, NS_DATA_ERROR, NS_DATA_ERROR_GRID_MISMATCH,
                     "%s: not on the grid of the case %s",
                     maps[m]->path != NULL ? maps[m]->path : m == 0 ? "start" : "truth",
                     ncase->id);
        return FALSE;
      }

  const NsGrid *grid = &ncase->grid;
  gsize n = ns_grid_n_voxels (grid);
  g_autofree guint8 *target = g_malloc (n);
  g_autofree guint8 *brush_mask = o->brush ? g_malloc (n) : NULL;
  g_autoptr (GArray) ms = g_array_new (FALSE, FALSE, sizeof (double));
  g_autoptr (GArray) ms_prop = g_array_new (FALSE, FALSE, sizeof (double));
  double brush_mm = o->brush_radius_mm > 0 ? o->brush_radius_mm : BRUSH_RADIUS_MM;

  memset (r, 0, sizeof *r);
  r->clicks = o->clicks;
  for (int region = 0; region < NS_N_REGIONS; region++)
    {
      g_autoptr (NsInteractSession) s = NULL;
      const guint8 *mask;

      for (gsize i = 0; i < n; i++)
        target[i] = ns_region_contains (region, truth->labels[i]);
      if (o->brush)
        {
          for (gsize i = 0; i < n; i++)
            brush_mask[i] = ns_region_contains (region, start->labels[i]);
          mask = brush_mask;
        }
      else
        {
          s = _ns_interact_session_new_full (model, meta, forward, forward_data, ncase, region,
                                             start, error);
          if (s == NULL)
            return FALSE;
          mask = ns_interact_session_get_mask (s);
        }
      r->dice[region][0] = region_dice (mask, target, n);
      r->noc90[region] = r->dice[region][0] >= 0.9 ? 0 : o->clicks;
      for (int k = 1; k <= o->clicks; k++)
        {
          NsClick click;
          g_autoptr (GError) local = NULL;
          if (g_cancellable_set_error_if_cancelled (o->cancellable, error))
            return FALSE;
          if (!_ns_interact_next_click (mask, target, grid->dim, grid->spacing, AXIS, &click,
                                        &local))
            {
              if (local != NULL)
                {
                  g_propagate_error (error, g_steal_pointer (&local));
                  return FALSE;
                }
              /* nothing left to correct: the Dice stays */
              r->dice[region][k] = r->dice[region][k - 1];
              continue;
            }
          r->clicks_placed++;
          int slice = (int) click.voxel[AXIS];
          if (o->brush)
            {
              click.radius_mm = brush_mm;
              dab (brush_mask, grid, &click);
            }
          else
            {
              gint64 t0 = g_get_monotonic_time ();
              if (!ns_interact_session_add_click (s, &click, error)
                  || !ns_interact_session_run_slice (s, AXIS, slice, NULL, o->cancellable,
                                                     error))
                return FALSE;
              double t = (g_get_monotonic_time () - t0) / 1e3;
              g_array_append_val (ms, t);
              t0 = g_get_monotonic_time ();
              if (!o->no_propagate
                  && !ns_interact_session_propagate (s, AXIS, slice, NULL, NULL,
                                                     o->cancellable, error))
                return FALSE;
              t = (g_get_monotonic_time () - t0) / 1e3;
              g_array_append_val (ms_prop, t);
            }
          r->dice[region][k] = region_dice (mask, target, n);
          if (r->dice[region][k] >= 0.9 && r->noc90[region] == o->clicks
              && r->dice[region][k - 1] < 0.9)
            r->noc90[region] = MIN (r->noc90[region], k);
        }
    }
  r->ms_per_click_p50 = percentile (ms, 50);
  r->ms_per_click_p95 = percentile (ms, 95);
  r->ms_propagate_p50 = percentile (ms_prop, 50);
  r->ms_propagate_p95 = percentile (ms_prop, 95);
  return TRUE;
}

gboolean
ns_interact_eval_run (NsModel *model, NsCase *ncase, const NsLabelMap *start,
                      const NsLabelMap *truth, const NsInteractEvalOptions *options,
                      NsInteractEvalResult *result, GError **error)
{
  g_return_val_if_fail (options != NULL && (options->brush || model != NULL), FALSE);
  const NsModelMeta *meta = model != NULL ? ns_model_get_meta (model) : NULL;
  if (meta != NULL && !options->brush && !ns_model_meta_check_kind (meta, TRUE, NULL, error))
    return FALSE;
  return _ns_interact_eval_run_full (model, meta, NULL, NULL, ncase, start, truth, options,
                                     result, error);
}
