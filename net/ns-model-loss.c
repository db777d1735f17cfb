/* SPDX-License-Identifier: MIT
 *
 * ns-model-loss.c: the loss of region targets (see ns_region_loss in ns-model.h).
 *
 * Why on the host: the backends' op table holds the softmax loss of class targets; the
 * region loss is a few passes over n x R x h x w values (1 % of a training step's time on
 * the CPU, one 3 MB round trip on a GPU), so it is computed here once, in double, for
 * every backend, rather than as a new op in three backends.
 *
 * Gradient.  With p = sigmoid (z), y the target, N = n R hw:
 *   BCE = -(1/N) sum [y log p + (1 - y) log (1 - p)],   dBCE/dz = (p - y) / N;
 *   D_r = (2 I_r + 1) / (S_r + 1), I_r = sum p y, S_r = sum p + sum y,
 *   Dice = 1 - (1/R) sum_r D_r,
 *   dDice/dz = -(1/R) (2 y (S_r + 1) - (2 I_r + 1)) / (S_r + 1)^2 p (1 - p).
 * log p is computed from z as -log (1 + exp (-z)) (stable for large |z|).
 */
#define G_LOG_DOMAIN "neuroseg-net"

#include "ns-model.h"

#include <math.h>

static inline double
sigmoid (double z)
{
  return z >= 0 ? 1.0 / (1.0 + exp (-z)) : exp (z) / (1.0 + exp (z));
}

/* log (1 + exp (x)), stable */
static inline double
softplus (double x)
{
  return x > 0 ? x + log1p (exp (-x)) : log1p (exp (x));
}

double
ns_region_loss (float *dlogits, const float *logits, const float *classes, const int *depth,
                int n_classes, int n, int R, gsize hw)
{
  g_return_val_if_fail (logits != NULL && classes != NULL && depth != NULL, NAN);
  g_return_val_if_fail (n > 0 && R > 0 && hw > 0, NAN);

  g_autofree double *inter = g_new0 (double, R);
  g_autofree double *sums = g_new0 (double, R);
  const double N = (double) n * R * hw;
  double bce = 0.0;

  for (int b = 0; b < n; b++)
    for (gsize p = 0; p < hw; p++)
      {
        float cf = classes[(gsize) b * hw + p];
        int c = (int) cf;
        if (!(cf >= 0) || c >= n_classes || (float) c != cf)
          return NAN;
        for (int r = 0; r < R; r++)
          {
            double z = logits[((gsize) b * R + r) * hw + p];
            double y = r < depth[c] ? 1.0 : 0.0;
            double pr = sigmoid (z);
            /* -[y log p + (1 - y) log (1 - p)] = softplus (z) - y z */
            bce += softplus (z) - y * z;
            inter[r] += pr * y;
            sums[r] += pr + y;
          }
      }
  double dice = 0.0;
  for (int r = 0; r < R; r++)
    dice += (2.0 * inter[r] + 1.0) / (sums[r] + 1.0);
  double loss = bce / N + 1.0 - dice / R;
  if (dlogits == NULL)
    return loss;

  for (int b = 0; b < n; b++)
    for (gsize p = 0; p < hw; p++)
      {
        int c = (int) classes[(gsize) b * hw + p];
        for (int r = 0; r < R; r++)
          {
            gsize at = ((gsize) b * R + r) * hw + p;
            double pr = sigmoid (logits[at]);
            double y = r < depth[c] ? 1.0 : 0.0;
            double s1 = sums[r] + 1.0;
            double dd = (2.0 * y * s1 - (2.0 * inter[r] + 1.0)) / (s1 * s1);
            dlogits[at] = (float) ((pr - y) / N - dd / R * pr * (1.0 - pr));
          }
      }
  return loss;
}
