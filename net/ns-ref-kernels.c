/* SPDX-License-Identifier: MIT
 *
 * ns-ref-kernels.c: the double-precision kernels of the ref backend (declared, with the
 * argument conventions, in ns-backend-ref-private.h).  Loops run over contiguous rows
 * innermost, so that a whole small network runs in seconds; ns-backend-ref.c widens the
 * tensors, calls these and narrows the results.
 */
#define G_LOG_DOMAIN "neuroseg-net"

#include "ns-backend-ref-private.h"

#include <math.h>
#include <string.h>

static inline int
conv_out_size (int in, int k, int stride, int pad)
{
  return (in + 2 * pad - k) / stride + 1;
}

/* The output columns ox whose input column ox * stride - pad + kx lies in [0, W). */
static inline void
valid_range (int W, int Wo, int stride, int pad, int kx, int *lo, int *hi)
{
  int first = pad - kx;             /* ox * stride >= pad - kx */
  int a = first <= 0 ? 0 : (first + stride - 1) / stride;
  int last = W - 1 + pad - kx;      /* ox * stride <= W - 1 + pad - kx */
  int b = last < 0 ? -1 : last / stride;
  *lo = a;
  *hi = MIN (b, Wo - 1);
}

/* y[j] += a x[j s] for j < n; the unit-stride case is split out so that the compiler
 * vectorises it. */
static inline void
axpy_row (double *restrict y, const double *restrict x, double a, int n, int s)
{
  if (s == 1)
    for (int j = 0; j < n; j++)
      y[j] += a * x[j];
  else
    for (int j = 0; j < n; j++)
      y[j] += a * x[j * s];
}

/* The transpose: y[j s] += a x[j]. */
static inline void
axpy_row_scatter (double *restrict y, const double *restrict x, double a, int n, int s)
{
  if (s == 1)
    for (int j = 0; j < n; j++)
      y[j] += a * x[j];
  else
    for (int j = 0; j < n; j++)
      y[j * s] += a * x[j];
}

static inline double
dot_row (const double *restrict d, const double *restrict x, int n, int s)
{
  double sum = 0.0;
  if (s == 1)
    for (int j = 0; j < n; j++)
      sum += d[j] * x[j];
  else
    for (int j = 0; j < n; j++)
      sum += d[j] * x[j * s];
  return sum;
}

static void
apply_act (double *x, gsize n, NsActivation act)
{
  if (act == NS_ACT_NONE)
    return;
  for (gsize i = 0; i < n; i++)
    {
      double v = x[i] > 0.0 ? x[i] : 0.0;
      x[i] = act == NS_ACT_RELU6 && v > 6.0 ? 6.0 : v;
    }
}

/* out[n,k,oy,ox] = bias[k] + sum over c in k's group, ky, kx of
 * weight[k,c',ky,kx] inp[n,c,oy s - pad + ky, ox s - pad + kx]: one output plane at a time,
 * accumulated by sweeping each weight over the plane's rows. */
void
_ns_ref_conv2d_forward (double *out, const double *inp, const double *weight,
                        const double *bias, const int inp_shape[4], const int weight_shape[4],
                        const NsConv2dParams *p)
{
  const int N = inp_shape[0], C = inp_shape[1], H = inp_shape[2], W = inp_shape[3];
  const int K = weight_shape[0], Cg = weight_shape[1], kh = weight_shape[2];
  const int kw = weight_shape[3];
  const int s = p->stride, pad = p->pad, Kg = K / p->groups;
  const int Ho = conv_out_size (H, kh, s, pad), Wo = conv_out_size (W, kw, s, pad);
  const gsize plane = (gsize) Ho * Wo;

  for (int n = 0; n < N; n++)
    for (int k = 0; k < K; k++)
      {
        double *o = out + ((gsize) n * K + k) * plane;
        const double b = bias != NULL ? bias[k] : 0.0;
        const int g = k / Kg;

        for (gsize i = 0; i < plane; i++)
          o[i] = b;
        for (int cc = 0; cc < Cg; cc++)
          {
            const double *ip = inp + ((gsize) n * C + (gsize) g * Cg + cc) * H * W;
            const double *wp = weight + ((gsize) k * Cg + cc) * kh * kw;
            for (int ky = 0; ky < kh; ky++)
              for (int kx = 0; kx < kw; kx++)
                {
                  const double wv = wp[ky * kw + kx];
                  int lo, hi;
                  valid_range (W, Wo, s, pad, kx, &lo, &hi);
                  if (hi < lo)
                    continue;
                  for (int oy = 0; oy < Ho; oy++)
                    {
                      const int iy = oy * s - pad + ky;
                      if (iy < 0 || iy >= H)
                        continue;
                      /* Output columns lo..hi read input columns lo s - pad + kx, ... */
                      const double *row = ip + (gsize) iy * W + (lo * s - pad + kx);
                      axpy_row (o + (gsize) oy * Wo + lo, row, wv, hi - lo + 1, s);
                    }
                }
          }
        apply_act (o, plane, p->act);
      }
}

void
_ns_ref_conv2d_backward (double *dinp, double *dweight, double *dbias, const double *dout,
                         const double *inp, const double *weight, const int inp_shape[4],
                         const int weight_shape[4], const NsConv2dParams *p)
{
  const int N = inp_shape[0], C = inp_shape[1], H = inp_shape[2], W = inp_shape[3];
  const int K = weight_shape[0], Cg = weight_shape[1], kh = weight_shape[2];
  const int kw = weight_shape[3];
  const int s = p->stride, pad = p->pad, Kg = K / p->groups;
  const int Ho = conv_out_size (H, kh, s, pad), Wo = conv_out_size (W, kw, s, pad);
  const gsize plane = (gsize) Ho * Wo;

  if (dinp != NULL)
    memset (dinp, 0, sizeof (double) * N * C * H * W);

  for (int n = 0; n < N; n++)
    for (int k = 0; k < K; k++)
      {
        const double *d = dout + ((gsize) n * K + k) * plane;
        const int g = k / Kg;

        if (dbias != NULL)
          {
            double sum = 0.0;
            for (gsize i = 0; i < plane; i++)
              sum += d[i];
            dbias[k] += sum;
          }
        if (dinp == NULL && dweight == NULL)
          continue;
        for (int cc = 0; cc < Cg; cc++)
          {
            const gsize in_off = ((gsize) n * C + (gsize) g * Cg + cc) * H * W;
            const gsize w_off = ((gsize) k * Cg + cc) * kh * kw;
            for (int ky = 0; ky < kh; ky++)
              for (int kx = 0; kx < kw; kx++)
                {
                  const double wv = weight[w_off + ky * kw + kx];
                  double dw = 0.0;
                  int lo, hi;
                  valid_range (W, Wo, s, pad, kx, &lo, &hi);
                  if (hi < lo)
                    continue;
                  for (int oy = 0; oy < Ho; oy++)
                    {
                      const int iy = oy * s - pad + ky;
                      if (iy < 0 || iy >= H)
                        continue;
                      const gsize row = in_off + (gsize) iy * W + (lo * s - pad + kx);
                      const double *drow = d + (gsize) oy * Wo + lo;
                      if (dweight != NULL)
                        dw += dot_row (drow, inp + row, hi - lo + 1, s);
                      if (dinp != NULL)
                        axpy_row_scatter (dinp + row, drow, wv, hi - lo + 1, s);
                    }
                  if (dweight != NULL)
                    dweight[w_off + ky * kw + kx] += dw;
                }
          }
      }
}

/* Training: xhat = (x - mean) invstd with the biased batch variance, as PyTorch; the
 * running variance takes the unbiased one, M / (M - 1) var, where M = N H W (the biased one
 * when M = 1, where PyTorch refuses to train). */
void
_ns_ref_batchnorm_forward (double *out, double *save_mean, double *save_invstd,
                           const double *inp, const double *gamma, const double *beta,
                           double *running_mean, double *running_var, gboolean training,
                           double momentum, double eps, const int shape[4])
{
  const int N = shape[0], C = shape[1];
  const gsize HW = (gsize) shape[2] * shape[3], M = (gsize) N * HW;

  for (int c = 0; c < C; c++)
    {
      double mean, invstd;

      if (training)
        {
          double sum = 0.0, sq = 0.0;
          for (int n = 0; n < N; n++)
            {
              const double *x = inp + ((gsize) n * C + c) * HW;
              for (gsize i = 0; i < HW; i++)
                sum += x[i];
            }
          mean = sum / (double) M;
          /* Two passes: the variance from squared deviations, not E[x^2] - mean^2. */
          for (int n = 0; n < N; n++)
            {
              const double *x = inp + ((gsize) n * C + c) * HW;
              for (gsize i = 0; i < HW; i++)
                sq += (x[i] - mean) * (x[i] - mean);
            }
          double var = sq / (double) M;
          double unbiased = M > 1 ? sq / (double) (M - 1) : var;
          invstd = 1.0 / sqrt (var + eps);
          save_mean[c] = mean;
          save_invstd[c] = invstd;
          running_mean[c] = (1.0 - momentum) * running_mean[c] + momentum * mean;
          running_var[c] = (1.0 - momentum) * running_var[c] + momentum * unbiased;
        }
      else
        {
          mean = running_mean[c];
          invstd = 1.0 / sqrt (running_var[c] + eps);
        }

      const double scale = gamma[c] * invstd, shift = beta[c] - mean * scale;
      for (int n = 0; n < N; n++)
        {
          const double *x = inp + ((gsize) n * C + c) * HW;
          double *y = out + ((gsize) n * C + c) * HW;
          for (gsize i = 0; i < HW; i++)
            y[i] = x[i] * scale + shift;
        }
    }
}

/* With xhat = (x - mean) invstd and batch statistics:
 *   dbeta = sum dy, dgamma = sum dy xhat,
 *   dx = gamma invstd (dy - dbeta / M - xhat dgamma / M). */
void
_ns_ref_batchnorm_backward (double *dinp, double *dgamma, double *dbeta, const double *dout,
                            const double *inp, const double *save_mean,
                            const double *save_invstd, const double *gamma, const int shape[4])
{
  const int N = shape[0], C = shape[1];
  const gsize HW = (gsize) shape[2] * shape[3], M = (gsize) N * HW;

  for (int c = 0; c < C; c++)
    {
      const double mean = save_mean[c], invstd = save_invstd[c];
      double sum_dy = 0.0, sum_dy_xhat = 0.0;

      for (int n = 0; n < N; n++)
        {
          const gsize off = ((gsize) n * C + c) * HW;
          for (gsize i = 0; i < HW; i++)
            {
              sum_dy += dout[off + i];
              sum_dy_xhat += dout[off + i] * (inp[off + i] - mean) * invstd;
            }
        }
      if (dbeta != NULL)
        dbeta[c] += sum_dy;
      if (dgamma != NULL)
        dgamma[c] += sum_dy_xhat;
      if (dinp == NULL)
        continue;

      const double a = gamma[c] * invstd;
      const double mdy = sum_dy / (double) M, mdyx = sum_dy_xhat / (double) M;
      for (int n = 0; n < N; n++)
        {
          const gsize off = ((gsize) n * C + c) * HW;
          for (gsize i = 0; i < HW; i++)
            {
              const double xhat = (inp[off + i] - mean) * invstd;
              dinp[off + i] = a * (dout[off + i] - mdy - xhat * mdyx);
            }
        }
    }
}

void
_ns_ref_relu_forward (double *out, const double *inp, NsActivation act, gsize n)
{
  if (out != inp)
    memcpy (out, inp, n * sizeof (double));
  apply_act (out, n, act);
}

void
_ns_ref_relu_backward (double *dinp, const double *dout, const double *out, NsActivation act,
                       gsize n)
{
  const double cap = act == NS_ACT_RELU6 ? 6.0 : INFINITY;
  for (gsize i = 0; i < n; i++)
    dinp[i] = out[i] > 0.0 && out[i] < cap ? dout[i] : 0.0;
}

void
_ns_ref_maxpool2_forward (double *out, const double *inp, const int inp_shape[4])
{
  const int NC = inp_shape[0] * inp_shape[1], H = inp_shape[2], W = inp_shape[3];
  const int Ho = H / 2, Wo = W / 2;

  for (int p = 0; p < NC; p++)
    for (int oy = 0; oy < Ho; oy++)
      for (int ox = 0; ox < Wo; ox++)
        {
          const double *x = inp + ((gsize) p * H + 2 * oy) * W + 2 * ox;
          double m = x[0];
          m = x[1] > m ? x[1] : m;
          m = x[W] > m ? x[W] : m;
          m = x[W + 1] > m ? x[W + 1] : m;
          out[((gsize) p * Ho + oy) * Wo + ox] = m;
        }
}

/* The gradient goes to the first maximum of each window in row-major order, found again
 * from the input (strict comparisons keep the first of equal values). */
void
_ns_ref_maxpool2_backward (double *dinp, const double *dout, const double *inp,
                           const int inp_shape[4])
{
  const int NC = inp_shape[0] * inp_shape[1], H = inp_shape[2], W = inp_shape[3];
  const int Ho = H / 2, Wo = W / 2;

  memset (dinp, 0, sizeof (double) * NC * H * W);
  for (int p = 0; p < NC; p++)
    for (int oy = 0; oy < Ho; oy++)
      for (int ox = 0; ox < Wo; ox++)
        {
          const gsize base = ((gsize) p * H + 2 * oy) * W + 2 * ox;
          const gsize cand[4] = { base, base + 1, base + W, base + W + 1 };
          gsize best = cand[0];
          for (int j = 1; j < 4; j++)
            if (inp[cand[j]] > inp[best])
              best = cand[j];
          dinp[best] = dout[((gsize) p * Ho + oy) * Wo + ox];
        }
}

void
_ns_ref_upsample2_forward (double *out, const double *inp, const int inp_shape[4])
{
  const int NC = inp_shape[0] * inp_shape[1], H = inp_shape[2], W = inp_shape[3];

  for (int p = 0; p < NC; p++)
    for (int y = 0; y < 2 * H; y++)
      {
        const double *x = inp + ((gsize) p * H + y / 2) * W;
        double *o = out + ((gsize) p * 2 * H + y) * 2 * W;
        for (int ox = 0; ox < 2 * W; ox++)
          o[ox] = x[ox / 2];
      }
}

void
_ns_ref_upsample2_backward (double *dinp, const double *dout, const int inp_shape[4])
{
  const int NC = inp_shape[0] * inp_shape[1], H = inp_shape[2], W = inp_shape[3];

  for (int p = 0; p < NC; p++)
    for (int y = 0; y < H; y++)
      for (int x = 0; x < W; x++)
        {
          const double *d = dout + ((gsize) p * 2 * H + 2 * y) * 2 * W + 2 * x;
          dinp[((gsize) p * H + y) * W + x] = d[0] + d[1] + d[2 * W] + d[2 * W + 1];
        }
}

/* out[n,k,2y+dy,2x+dx] = bias[k] + sum_c inp[n,c,y,x] weight[c,k,dy,dx]. */
void
_ns_ref_convt2_forward (double *out, const double *inp, const double *weight,
                        const double *bias, const int inp_shape[4], int K)
{
  const int N = inp_shape[0], C = inp_shape[1], H = inp_shape[2], W = inp_shape[3];
  const gsize plane = (gsize) 4 * H * W;

  for (int n = 0; n < N; n++)
    for (int k = 0; k < K; k++)
      {
        double *o = out + ((gsize) n * K + k) * plane;
        const double b = bias != NULL ? bias[k] : 0.0;
        for (gsize i = 0; i < plane; i++)
          o[i] = b;
        for (int c = 0; c < C; c++)
          {
            const double *x = inp + ((gsize) n * C + c) * H * W;
            const double *w = weight + ((gsize) c * K + k) * 4;
            for (int y = 0; y < H; y++)
              for (int dy = 0; dy < 2; dy++)
                {
                  double *orow = o + (gsize) (2 * y + dy) * 2 * W;
                  const double w0 = w[2 * dy], w1 = w[2 * dy + 1];
                  for (int xx = 0; xx < W; xx++)
                    {
                      orow[2 * xx] += w0 * x[(gsize) y * W + xx];
                      orow[2 * xx + 1] += w1 * x[(gsize) y * W + xx];
                    }
                }
          }
      }
}

void
_ns_ref_convt2_backward (double *dinp, double *dweight, double *dbias, const double *dout,
                         const double *inp, const double *weight, const int inp_shape[4],
                         int K)
{
  const int N = inp_shape[0], C = inp_shape[1], H = inp_shape[2], W = inp_shape[3];
  const gsize plane = (gsize) 4 * H * W;

  if (dinp != NULL)
    memset (dinp, 0, sizeof (double) * N * C * H * W);
  for (int n = 0; n < N; n++)
    for (int k = 0; k < K; k++)
      {
        const double *d = dout + ((gsize) n * K + k) * plane;
        if (dbias != NULL)
          {
            double sum = 0.0;
            for (gsize i = 0; i < plane; i++)
              sum += d[i];
            dbias[k] += sum;
          }
        for (int c = 0; c < C; c++)
          {
            const double *x = inp + ((gsize) n * C + c) * H * W;
            double *dx = dinp != NULL ? dinp + ((gsize) n * C + c) * H * W : NULL;
            const double *w = weight + ((gsize) c * K + k) * 4;
            double dw[4] = { 0.0, 0.0, 0.0, 0.0 };
            for (int y = 0; y < H; y++)
              for (int dy = 0; dy < 2; dy++)
                {
                  const double *drow = d + (gsize) (2 * y + dy) * 2 * W;
                  for (int xx = 0; xx < W; xx++)
                    {
                      const double g0 = drow[2 * xx], g1 = drow[2 * xx + 1];
                      const double xv = x[(gsize) y * W + xx];
                      dw[2 * dy] += g0 * xv;
                      dw[2 * dy + 1] += g1 * xv;
                      if (dx != NULL)
                        dx[(gsize) y * W + xx] += g0 * w[2 * dy] + g1 * w[2 * dy + 1];
                    }
                }
            if (dweight != NULL)
              for (int j = 0; j < 4; j++)
                dweight[((gsize) c * K + k) * 4 + j] += dw[j];
          }
      }
}

void
_ns_ref_concat_forward (double *out, const double *a, const double *b, const int a_shape[4],
                        int cb)
{
  const int N = a_shape[0], ca = a_shape[1];
  const gsize HW = (gsize) a_shape[2] * a_shape[3];

  for (int n = 0; n < N; n++)
    {
      double *o = out + (gsize) n * (ca + cb) * HW;
      memcpy (o, a + (gsize) n * ca * HW, sizeof (double) * ca * HW);
      memcpy (o + ca * HW, b + (gsize) n * cb * HW, sizeof (double) * cb * HW);
    }
}

void
_ns_ref_concat_backward (double *da, double *db, const double *dout, const int a_shape[4],
                         int cb)
{
  const int N = a_shape[0], ca = a_shape[1];
  const gsize HW = (gsize) a_shape[2] * a_shape[3];

  for (int n = 0; n < N; n++)
    {
      const double *d = dout + (gsize) n * (ca + cb) * HW;
      if (da != NULL)
        memcpy (da + (gsize) n * ca * HW, d, sizeof (double) * ca * HW);
      if (db != NULL)
        memcpy (db + (gsize) n * cb * HW, d + ca * HW, sizeof (double) * cb * HW);
    }
}

void
_ns_ref_add_forward (double *out, const double *a, const double *b, gsize n)
{
  for (gsize i = 0; i < n; i++)
    out[i] = a[i] + b[i];
}

void
_ns_ref_dropout_forward (double *out, double *mask, const double *inp, float p, guint64 seed,
                         gboolean training, gsize n)
{
  const double scale = 1.0 / (1.0 - (double) p);

  for (gsize i = 0; i < n; i++)
    {
      if (!training)
        {
          out[i] = inp[i];
          continue;
        }
      mask[i] = ns_random_uniform (seed, i) >= p ? scale : 0.0;
      out[i] = inp[i] * mask[i];
    }
}

void
_ns_ref_dropout_backward (double *dinp, const double *dout, const double *mask, gsize n)
{
  for (gsize i = 0; i < n; i++)
    dinp[i] = dout[i] * mask[i];
}

void
_ns_ref_softmax_forward (double *probs, const double *logits, const int shape[4])
{
  const int N = shape[0], K = shape[1];
  const gsize HW = (gsize) shape[2] * shape[3];

  for (int n = 0; n < N; n++)
    for (gsize i = 0; i < HW; i++)
      {
        const double *z = logits + (gsize) n * K * HW + i;
        double *pr = probs + (gsize) n * K * HW + i;
        double mx = z[0], sum = 0.0;
        for (int k = 1; k < K; k++)
          mx = MAX (mx, z[k * HW]);
        for (int k = 0; k < K; k++)
          {
            pr[k * HW] = exp (z[k * HW] - mx);
            sum += pr[k * HW];
          }
        for (int k = 0; k < K; k++)
          pr[k * HW] /= sum;
      }
}

/* A label outside 0..K-1 counts as class 0 here; the op wrapper reports it as a failure
 * of the step (labels_valid) before the kernel runs. */
static int
label_at (const double *labels, gsize i, int K)
{
  const long l = lround (labels[i]);
  return l < 0 || l >= K ? 0 : (int) l;
}

/* Per class k >= 1 over the whole batch: I = sum p y, S = sum p, G = sum y. */
static void
dice_sums (const double *probs, const double *labels, const int shape[4], double *I,
           double *S, double *G)
{
  const int N = shape[0], K = shape[1];
  const gsize HW = (gsize) shape[2] * shape[3];

  for (int k = 0; k < K; k++)
    I[k] = S[k] = G[k] = 0.0;
  for (int n = 0; n < N; n++)
    for (gsize i = 0; i < HW; i++)
      {
        const int y = label_at (labels, (gsize) n * HW + i, K);
        for (int k = 0; k < K; k++)
          S[k] += probs[((gsize) n * K + k) * HW + i];
        I[y] += probs[((gsize) n * K + y) * HW + i];
        G[y] += 1.0;
      }
}

#define DICE_EPS 1.0

/* Loss = CE + Dice as documented in ns-backend.h.  -log p[label] is computed as
 * logsumexp(z) - z[label], which stays finite when p[label] underflows. */
double
_ns_ref_softmax_dice_ce_forward (double *probs, const double *logits, const double *labels,
                                 const int shape[4])
{
  const int N = shape[0], K = shape[1];
  const gsize HW = (gsize) shape[2] * shape[3], P = (gsize) N * HW;
  double ce = 0.0;

  _ns_ref_softmax_forward (probs, logits, shape);
  for (int n = 0; n < N; n++)
    for (gsize i = 0; i < HW; i++)
      {
        const double *z = logits + (gsize) n * K * HW + i;
        double mx = z[0], sum = 0.0;
        for (int k = 1; k < K; k++)
          mx = MAX (mx, z[k * HW]);
        for (int k = 0; k < K; k++)
          sum += exp (z[k * HW] - mx);
        ce += mx + log (sum) - z[label_at (labels, (gsize) n * HW + i, K) * HW];
      }
  ce /= (double) P;

  if (K < 2)
    return ce;

  g_autofree double *sums = g_new (double, 3 * K);
  double *I = sums, *S = sums + K, *G = sums + 2 * K;
  double dice = 0.0;
  dice_sums (probs, labels, shape, I, S, G);
  for (int k = 1; k < K; k++)
    dice += (2.0 * I[k] + DICE_EPS) / (S[k] + G[k] + DICE_EPS);
  return ce + 1.0 - dice / (K - 1);
}

/* CE: dz = (p - y) / P.  Dice: with D_k = S_k + G_k + eps,
 *   dDice/dp_ik = g_ik = -(2 y_ik D_k - (2 I_k + eps)) / (D_k^2 (K - 1))  for k >= 1, 0 for k = 0,
 * then through the softmax: dz_ij = p_ij (g_ij - sum_k p_ik g_ik). */
void
_ns_ref_softmax_dice_ce_backward (double *dlogits, const double *probs, const double *labels,
                                  const int shape[4])
{
  const int N = shape[0], K = shape[1];
  const gsize HW = (gsize) shape[2] * shape[3], P = (gsize) N * HW;
  g_autofree double *sums = g_new (double, 5 * K);
  double *I = sums, *S = sums + K, *G = sums + 2 * K, *A = sums + 3 * K, *B = sums + 4 * K;

  /* g_ik = A_k y_ik + B_k. */
  dice_sums (probs, labels, shape, I, S, G);
  A[0] = B[0] = 0.0;
  for (int k = 1; k < K; k++)
    {
      const double D = S[k] + G[k] + DICE_EPS;
      A[k] = -2.0 / (D * (K - 1));
      B[k] = (2.0 * I[k] + DICE_EPS) / (D * D * (K - 1));
    }

  for (int n = 0; n < N; n++)
    for (gsize i = 0; i < HW; i++)
      {
        const int y = label_at (labels, (gsize) n * HW + i, K);
        const double *pr = probs + (gsize) n * K * HW + i;
        double *dz = dlogits + (gsize) n * K * HW + i;
        double pg = 0.0;
        for (int k = 0; k < K; k++)
          pg += pr[k * HW] * (B[k] + (k == y ? A[k] : 0.0));
        for (int k = 0; k < K; k++)
          {
            const double yk = k == y ? 1.0 : 0.0;
            const double g = B[k] + yk * A[k];
            dz[k * HW] = (pr[k * HW] - yk) / (double) P + pr[k * HW] * (g - pg);
          }
      }
}

/* AdamW (Loshchilov & Hutter; PyTorch's torch.optim.AdamW):
 *   m = b1 m + (1 - b1) g;  v = b2 v + (1 - b2) g^2;
 *   param -= lr (m / (1 - b1^t) / (sqrt (v / (1 - b2^t)) + eps) + wd param). */
void
_ns_ref_adam_update (double *params, const double *grads, double *m, double *v, gsize n,
                     const NsAdamParams *p)
{
  const double b1 = p->beta1, b2 = p->beta2;
  const double c1 = 1.0 - pow (b1, p->step), c2 = 1.0 - pow (b2, p->step);

  for (gsize i = 0; i < n; i++)
    {
      const double g = grads[i];
      m[i] = b1 * m[i] + (1.0 - b1) * g;
      v[i] = b2 * v[i] + (1.0 - b2) * g * g;
      const double step = (m[i] / c1) / (sqrt (v[i] / c2) + (double) p->eps);
      params[i] -= (double) p->lr * (step + (double) p->weight_decay * params[i]);
    }
}

