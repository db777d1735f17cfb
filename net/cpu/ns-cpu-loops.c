/* SPDX-License-Identifier: MIT
 *
 * ns-cpu-loops.c: the ops of the cpu backend written as plain loops over float32 NCHW:
 * dropout (the shared counter-based generator), softmax + soft-Dice + cross-entropy loss
 * and Adam.  Single-threaded and vectorisable: oneDNN keeps its own OpenMP pool, and
 * these loops are a small share of a training step.
 */
#define G_LOG_DOMAIN "neuroseg-net"

#include "ns-config.h"
#include "ns-cpu-private.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* ---- dropout (own loops, plain f32) --------------------------------------------------- */

void
_ns_cpu_dropout_forward (NsTensor *out, NsTensor *mask, NsTensor *inp, float p, guint64 seed,
                         gboolean training)
{
  CpuBackend *cb = CB (out->backend);
  if (!training)
    {
      _ns_cpu_copy (out, inp);
      return;
    }
  const float *x = _ns_cpu_plain_f32 (cb, inp);
  dnnl_memory_desc_t plain = md_nchw (out, dnnl_f32);
  Out om, oo;
  if (x == NULL || !_ns_cpu_out_begin (cb, &om, mask, &plain, 1))
    return;
  float *m = om.ptr;
  float scale = 1.0f / (1.0f - p);
  for (gsize i = 0; i < inp->n; i++)
    m[i] = ns_random_uniform (seed, i) >= p ? scale : 0.0f;
  _ns_cpu_out_end (cb, &om);
  if (!_ns_cpu_out_begin (cb, &oo, out, &plain, 2))
    return;
  float *y = oo.ptr;
  m = CT (mask)->data;
  for (gsize i = 0; i < inp->n; i++)
    y[i] = x[i] * m[i];
  _ns_cpu_out_end (cb, &oo);
}

void
_ns_cpu_dropout_backward (NsTensor *dinp, NsTensor *dout, NsTensor *mask)
{
  CpuBackend *cb = CB (dout->backend);
  const float *dy = _ns_cpu_plain_f32 (cb, dout);
  const float *m = _ns_cpu_plain_f32 (cb, mask);
  dnnl_memory_desc_t plain = md_nchw (dinp, dnnl_f32);
  Out o;
  if (dy == NULL || m == NULL || !_ns_cpu_out_begin (cb, &o, dinp, &plain, 1))
    return;
  float *dx = o.ptr;
  for (gsize i = 0; i < dout->n; i++)
    dx[i] = dy[i] * m[i];
  _ns_cpu_out_end (cb, &o);
}

/* ---- softmax + soft-Dice + cross-entropy loss ------------------------------------------ */

/* Softmax over channels of plain NCHW logits into probs (stable: max subtracted). */
static void
softmax_plain (float *p, const float *z, int N, int K, gsize HW)
{
  for (int n = 0; n < N; n++)
    {
      const float *zn = z + (gsize) n * K * HW;
      float *pn = p + (gsize) n * K * HW;
      for (gsize i = 0; i < HW; i++)
        {
          float mx = zn[i];
          for (int k = 1; k < K; k++)
            mx = MAX (mx, zn[k * HW + i]);
          float sum = 0.0f;
          for (int k = 0; k < K; k++)
            {
              float e = expf (zn[k * HW + i] - mx);
              pn[k * HW + i] = e;
              sum += e;
            }
          float inv = 1.0f / sum;
          for (int k = 0; k < K; k++)
            pn[k * HW + i] *= inv;
        }
    }
}

/* Per-class sums over the batch: inter[k] = sum p_k y_k, psum[k] = sum p_k, ysum[k] =
 * sum y_k, in double; ce = sum -log p[label]. */
static void
dice_sums (const float *p, const float *lab, int N, int K, gsize HW, double *inter,
           double *psum, double *ysum, double *ce)
{
  for (int k = 0; k < K; k++)
    inter[k] = psum[k] = ysum[k] = 0.0;
  *ce = 0.0;
  for (int n = 0; n < N; n++)
    {
      const float *pn = p + (gsize) n * K * HW;
      const float *ln = lab + (gsize) n * HW;
      for (int k = 0; k < K; k++)
        {
          double s = 0.0;
          for (gsize i = 0; i < HW; i++)
            s += pn[k * HW + i];
          psum[k] += s;
        }
      for (gsize i = 0; i < HW; i++)
        {
          int y = (int) lrintf (ln[i]);
          y = CLAMP (y, 0, K - 1);
          float py = pn[y * HW + i];
          inter[y] += py;
          ysum[y] += 1.0;
          *ce -= log (MAX ((double) py, 1e-30));
        }
    }
}

#define DICE_EPS 1.0

/* Labels are class indices 0..K-1 as floats; anything else fails the step (the backend's
 * status) rather than being counted as some class. */
static gboolean
labels_valid (CpuBackend *cb, const float *lab, gsize n, int K)
{
  for (gsize i = 0; i < n; i++)
    if (!(lab[i] >= -0.5f && lab[i] < K - 0.5f))
      {
        _ns_backend_fail (cb->be, NS_NET_ERROR_FAILED, "oneDNN backend loss: label %g at %"
                          G_GSIZE_FORMAT " is not a class index 0..%d", lab[i], i, K - 1);
        return FALSE;
      }
  return TRUE;
}

float
_ns_cpu_softmax_dice_ce_forward (NsTensor *probs, NsTensor *logits, NsTensor *labels)
{
  CpuBackend *cb = CB (probs->backend);
  int N = logits->shape[0], K = logits->shape[1];
  gsize HW = (gsize) logits->shape[2] * logits->shape[3];
  const float *z = _ns_cpu_plain_f32 (cb, logits);
  const float *lab = _ns_cpu_plain_f32 (cb, labels);
  dnnl_memory_desc_t plain = md_nchw (probs, dnnl_f32);
  Out o;
  if (z == NULL || lab == NULL || !labels_valid (cb, lab, labels->n, K)
      || !_ns_cpu_out_begin (cb, &o, probs, &plain, 1))
    return NAN;
  softmax_plain (o.ptr, z, N, K, HW);
  _ns_cpu_out_end (cb, &o);

  g_autofree double *s = g_new (double, 3 * K);
  double ce;
  dice_sums (CT (probs)->data, lab, N, K, HW, s, s + K, s + 2 * K, &ce);
  double dice = 0.0;
  for (int k = 1; k < K; k++)
    dice += (2.0 * s[k] + DICE_EPS) / (s[K + k] + s[2 * K + k] + DICE_EPS);
  dice = K > 1 ? 1.0 - dice / (K - 1) : 0.0;
  return (float) (ce / ((double) N * HW) + dice);
}

/* dL/dz_j = (p_j - y_j) / P  +  p_j (g_j - sum_k p_k g_k), where g_k = dDice/dp_k =
 * -(2 y_k D_k - (2 I_k + eps)) / ((K - 1) D_k^2) for k >= 1 (0 for the background),
 * D_k = S_k + G_k + eps. */
void
_ns_cpu_softmax_dice_ce_backward (NsTensor *dlogits, NsTensor *probs, NsTensor *labels)
{
  CpuBackend *cb = CB (probs->backend);
  int N = probs->shape[0], K = probs->shape[1];
  gsize HW = (gsize) probs->shape[2] * probs->shape[3];
  const float *p = _ns_cpu_plain_f32 (cb, probs);
  const float *lab = _ns_cpu_plain_f32 (cb, labels);
  if (p == NULL || lab == NULL || !labels_valid (cb, lab, labels->n, K))
    return;
  g_autofree double *s = g_new (double, 3 * K);
  double ce;
  dice_sums (p, lab, N, K, HW, s, s + K, s + 2 * K, &ce);

  /* g_k = a_k y_k + b_k */
  g_autofree float *ga = g_new0 (float, K);
  g_autofree float *gb = g_new0 (float, K);
  for (int k = 1; k < K; k++)
    {
      double D = s[K + k] + s[2 * K + k] + DICE_EPS;
      ga[k] = (float) (-2.0 / ((K - 1) * D));
      gb[k] = (float) ((2.0 * s[k] + DICE_EPS) / ((K - 1) * D * D));
    }
  float invP = (float) (1.0 / ((double) N * HW));

  dnnl_memory_desc_t plain = md_nchw (dlogits, dnnl_f32);
  Out o;
  if (!_ns_cpu_out_begin (cb, &o, dlogits, &plain, 1))
    return;
  float *dz = o.ptr;
  for (int n = 0; n < N; n++)
    {
      const float *pn = p + (gsize) n * K * HW;
      const float *ln = lab + (gsize) n * HW;
      float *dn = dz + (gsize) n * K * HW;
      for (gsize i = 0; i < HW; i++)
        {
          int y = CLAMP ((int) lrintf (ln[i]), 0, K - 1);
          float dot = 0.0f;
          for (int k = 0; k < K; k++)
            {
              float g = gb[k] + (k == y ? ga[k] : 0.0f);
              dot += pn[k * HW + i] * g;
            }
          for (int k = 0; k < K; k++)
            {
              float pk = pn[k * HW + i];
              float g = gb[k] + (k == y ? ga[k] : 0.0f);
              dn[k * HW + i] = (pk - (k == y ? 1.0f : 0.0f)) * invP + pk * (g - dot);
            }
        }
    }
  _ns_cpu_out_end (cb, &o);
}

/* ---- Adam ----------------------------------------------------------------------------- */

void
_ns_cpu_adam_update (NsTensor *params, NsTensor *grads, NsTensor *m, NsTensor *v,
                     const NsAdamParams *ap)
{
  CpuBackend *cb = CB (params->backend);
  float *w = _ns_cpu_plain_f32 (cb, params);
  const float *g = _ns_cpu_plain_f32 (cb, grads);
  float *mm = _ns_cpu_plain_f32 (cb, m), *vv = _ns_cpu_plain_f32 (cb, v);
  if (!w || !g || !mm || !vv)
    return;
  const float b1 = ap->beta1, b2 = ap->beta2;
  const float c1 = (float) (1.0 / (1.0 - pow (b1, ap->step)));
  const float c2 = (float) (1.0 / (1.0 - pow (b2, ap->step)));
  const float lr = ap->lr, eps = ap->eps, decay = 1.0f - ap->lr * ap->weight_decay;
  gsize n = params->n;

  for (gsize i = 0; i < n; i++)
    {
      float gi = g[i];
      float mi = b1 * mm[i] + (1.0f - b1) * gi;
      float vi = b2 * vv[i] + (1.0f - b2) * gi * gi;
      mm[i] = mi;
      vv[i] = vi;
      w[i] = w[i] * decay - lr * (mi * c1) / (sqrtf (vi * c2) + eps);
    }
  _ns_cpu_bump (cb, params);
  _ns_cpu_bump (cb, m);
  _ns_cpu_bump (cb, v);
}
