/* SPDX-License-Identifier: MIT
 *
 * ns-interact-sim.c: the simulated user of interactive segmentation (the protocol of
 * RITM, DeepEdit and nnInteractive): the next click goes to the centre of the largest
 * error region, the centre being the voxel farthest from the region's border (the maximum
 * of its Euclidean distance transform, so that the click lies deep inside the error and
 * not on a thin edge of it).  Used by the trainer (on 2-D crops: dims {w, h, 1}) and by
 * `neuroseg interact-eval` (on whole volumes).
 */
#define G_LOG_DOMAIN "neuroseg-net"

#include "ns-interact-private.h"

#include "ns-metrics.h"

#include <math.h>
#include <string.h>

/* Labels the 6-connected components of err (0/1) into comp (1-based, 0 outside) and
 * returns the label of the largest one (0 when err is empty); *size its voxels. */
static guint32
largest_component (const guint8 *err, const int dims[3], guint32 *comp, gsize *size)
{
  gsize n = (gsize) dims[0] * dims[1] * dims[2];
  g_autofree guint32 *stack = g_new (guint32, MAX (n, 1));
  guint32 label = 0, best = 0;
  gsize best_size = 0;

  memset (comp, 0, n * sizeof (guint32));
  for (gsize p = 0; p < n; p++)
    {
      if (!err[p] || comp[p] != 0)
        continue;
      gsize top = 0, count = 0;
      comp[p] = ++label;
      stack[top++] = (guint32) p;
      while (top > 0)
        {
          guint32 q = stack[--top], nb[6];
          int m = ns_box_neighbours6 (q, dims[0], dims[1], dims[2], nb);
          count++;
          for (int i = 0; i < m; i++)
            if (err[nb[i]] && comp[nb[i]] == 0)
              {
                comp[nb[i]] = label;
                stack[top++] = nb[i];
              }
        }
      if (count > best_size)
        {
          best_size = count;
          best = label;
        }
    }
  *size = best_size;
  return best;
}

gboolean
_ns_interact_next_click (const guint8 *pred, const guint8 *truth, const int dims[3],
                         const double spacing[3], int axis, NsClick *click, GError **error)
{
  gsize n = (gsize) dims[0] * dims[1] * dims[2];
  g_autofree guint8 *err = g_malloc (n);
  g_autofree guint32 *comp = g_new (guint32, n);
  guint32 best[2];
  gsize size[2];

  /* 0: missed voxels (a positive click), 1: false voxels (a negative one) */
  for (int kind = 0; kind < 2; kind++)
    {
      for (gsize p = 0; p < n; p++)
        err[p] = kind == 0 ? truth[p] && !pred[p] : pred[p] && !truth[p];
      best[kind] = largest_component (err, dims, comp, &size[kind]);
    }
  if (size[0] == 0 && size[1] == 0)
    return FALSE;
  int kind = size[0] >= size[1] ? 0 : 1;
  for (gsize p = 0; p < n; p++)
    err[p] = kind == 0 ? truth[p] && !pred[p] : pred[p] && !truth[p];
  largest_component (err, dims, comp, &size[kind]);

  /* the component's bounding box, one voxel wider (its border is outside it) */
  int lo[3] = { dims[0], dims[1], dims[2] }, hi[3] = { -1, -1, -1 };
  for (gsize p = 0; p < n; p++)
    if (comp[p] == best[kind])
      {
        int ijk[3] = { (int) (p % dims[0]), (int) ((p / dims[0]) % dims[1]),
                       (int) (p / ((gsize) dims[0] * dims[1])) };
        for (int d = 0; d < 3; d++)
          {
            lo[d] = MIN (lo[d], ijk[d]);
            hi[d] = MAX (hi[d], ijk[d]);
          }
      }
  int bd[3];
  for (int d = 0; d < 3; d++)
    {
      /* a box of one slice along d (a 2-D crop) has no border above and below */
      if (dims[d] > 1)
        {
          lo[d]--;
          hi[d]++;
        }
      bd[d] = hi[d] - lo[d] + 1;
    }
  gsize bn = (gsize) bd[0] * bd[1] * bd[2];
  g_autofree guint8 *outside = g_malloc (bn);
  g_autofree double *dist = g_new (double, bn);
  for (int k = 0; k < bd[2]; k++)
    for (int j = 0; j < bd[1]; j++)
      for (int i = 0; i < bd[0]; i++)
        {
          int x = lo[0] + i, y = lo[1] + j, z = lo[2] + k;
          gboolean in = x >= 0 && y >= 0 && z >= 0 && x < dims[0] && y < dims[1]
                        && z < dims[2]
                        && comp[((gsize) z * dims[1] + y) * dims[0] + x] == best[kind];
          outside[((gsize) k * bd[1] + j) * bd[0] + i] = !in;
        }
  if (!ns_metrics_distance_transform_sq (outside, bd, spacing, dist, error))
    return FALSE;
  gsize arg = 0;
  for (gsize q = 1; q < bn; q++)
    if (dist[q] > dist[arg])
      arg = q;
  click->axis = axis;
  click->voxel[0] = lo[0] + (int) (arg % bd[0]);
  click->voxel[1] = lo[1] + (int) ((arg / bd[0]) % bd[1]);
  click->voxel[2] = lo[2] + (int) (arg / ((gsize) bd[0] * bd[1]));
  click->positive = kind == 0;
  click->radius_mm = 0;
  return TRUE;
}
