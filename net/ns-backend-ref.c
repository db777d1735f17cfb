/* SPDX-License-Identifier: MIT
 *
 * ns-backend-ref.c: the `ref` backend, plain C loops in double precision: the oracle that
 * every other backend is tested against.
 *
 * Storage is host float32 NCHW (views point into their parent's array).  Every op widens
 * its operands into double scratch arrays, runs a double kernel (declared in
 * ns-backend-ref-private.h so that tests can differentiate them numerically in double)
 * and narrows the results back.  The copies cost little next to the arithmetic and keep
 * a single implementation of each op.  Loops run over contiguous rows innermost, so that
 * a whole small network (batch 2, 64 x 64) runs in seconds; speed is not a goal beyond
 * that: the oneDNN backend is the fast one.
 *
 * The same op functions are the host fallback of the other backends (ns-backend.c): for
 * a tensor of another backend, widen() downloads it and narrow() uploads the result, so
 * an op another backend cannot run for some shape runs here, right if slowly.
 *
 * Errors: scratch memory that cannot be had, labels outside 0..K-1, and the failure
 * NS_TEST_REF_FAIL_AT=N injects into the N-th compute op of a ref backend (counted from
 * 1 over the backend's life; for tests of the error paths of the engine and the trainer)
 * are recorded with _ns_backend_fail() and the op leaves its outputs as they were.
 */
#define G_LOG_DOMAIN "neuroseg-net"

#include "ns-backend-private.h"
#include "ns-backend-ref-private.h"

#include <math.h>
#include <string.h>

/* ---- double kernels ---------------------------------------------------------------------- */

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

/* ---- float32 storage ----------------------------------------------------------------------- */

typedef struct
{
  guint64 n_ops;                /* compute ops run so far */
  guint64 fail_at;              /* NS_TEST_REF_FAIL_AT: this op fails (0: none) */
} RefBackend;

static const NsBackendOps ref_ops;

static gboolean
is_ref (const NsTensor *t)
{
  return t->backend->ops == &ref_ops;
}

float *
_ns_tensor_host_data (NsTensor *t)
{
  g_return_val_if_fail (t != NULL && t->backend != NULL, NULL);
  g_return_val_if_fail (is_ref (t), NULL);
  return t->priv;
}

/* One op call: where its failures go, and whether one happened. */
typedef struct
{
  NsBackend *be;
  const char *name;
  gboolean failed;
} Op;

/* Counts the op on a ref backend and fails it when NS_TEST_REF_FAIL_AT says so (ops of
 * the host fallback are counted by nobody: their tensors belong to another backend). */
static Op
op_begin (NsTensor *any, const char *name)
{
  Op op = { any->backend, name, FALSE };
  if (is_ref (any))
    {
      RefBackend *rb = any->backend->priv;
      if (++rb->n_ops == rb->fail_at)
        {
          _ns_backend_fail (op.be, NS_NET_ERROR_FAILED, "ref: op %" G_GUINT64_FORMAT
                            " (%s) failed, injected by NS_TEST_REF_FAIL_AT", rb->n_ops, name);
          op.failed = TRUE;
        }
    }
  return op;
}

static void
op_out_of_memory (Op *op, gsize bytes)
{
  if (op->failed)
    return;
  _ns_backend_fail (op->be, NS_NET_ERROR_OUT_OF_MEMORY, "ref %s: out of memory for %"
                    G_GSIZE_FORMAT " MiB of scratch", op->name, bytes >> 20);
  op->failed = TRUE;
}

static double *
op_alloc (Op *op, gsize n)
{
  double *d = op->failed ? NULL : g_try_new (double, MAX (n, 1));
  if (d == NULL)
    op_out_of_memory (op, n * sizeof (double));
  return d;
}

/* A double copy of t's contents (NULL for NULL, or after a failure). */
static double *
widen (Op *op, NsTensor *t)
{
  if (t == NULL)
    return NULL;
  double *d = op_alloc (op, t->n);
  if (d == NULL)
    return NULL;
  if (is_ref (t))
    {
      const float *src = t->priv;
      for (gsize i = 0; i < t->n; i++)
        d[i] = src[i];
      return d;
    }
  float *f = g_try_new (float, MAX (t->n, 1));
  if (f == NULL)
    {
      g_free (d);
      op_out_of_memory (op, t->n * sizeof (float));
      return NULL;
    }
  t->backend->ops->download (t, f);
  for (gsize i = 0; i < t->n; i++)
    d[i] = f[i];
  g_free (f);
  return d;
}

/* Scratch for an output that the kernel assigns in full. */
static double *
scratch (Op *op, NsTensor *t)
{
  return t != NULL ? op_alloc (op, t->n) : NULL;
}

/* Writes d back into t (nothing after a failure: the outputs stay as they were). */
static void
narrow (Op *op, NsTensor *t, const double *d)
{
  if (t == NULL || op->failed)
    return;
  float *dst = is_ref (t) ? t->priv : g_try_new (float, MAX (t->n, 1));
  if (dst == NULL)
    {
      op_out_of_memory (op, t->n * sizeof (float));
      return;
    }
  for (gsize i = 0; i < t->n; i++)
    dst[i] = (float) d[i];
  if (!is_ref (t))
    {
      t->backend->ops->upload (t, dst);
      g_free (dst);
    }
}

/* Class indices 0..K-1 (as floats) in labels (N, 1, H, W). */
static gboolean
labels_valid (Op *op, const double *labels, gsize n, int K)
{
  for (gsize i = 0; !op->failed && i < n; i++)
    if (!(labels[i] >= -0.5 && labels[i] < K - 0.5))
      {
        _ns_backend_fail (op->be, NS_NET_ERROR_FAILED, "ref %s: label %g at %" G_GSIZE_FORMAT
                          " is not a class index 0..%d", op->name, labels[i], i, K - 1);
        op->failed = TRUE;
      }
  return !op->failed;
}

static gboolean
ref_supports_op (NsBackend *be, const NsOpDesc *desc)
{
  return desc->op != NS_OP_BF16 && desc->op < NS_N_OPS;
}

static void
ref_free (NsBackend *be)
{
  g_clear_pointer (&be->priv, g_free);
}

static gboolean
ref_tensor_init (NsBackend *be, NsTensor *t, GError **error)
{
  t->priv = g_try_new (float, t->n);
  if (t->priv == NULL)
    {
      g_set_error (error, NS_NET_ERROR, NS_NET_ERROR_OUT_OF_MEMORY,
                   "out of memory for a %d x %d x %d x %d tensor", t->shape[0], t->shape[1],
                   t->shape[2], t->shape[3]);
      return FALSE;
    }
  return TRUE;
}

static void
ref_tensor_init_view (NsBackend *be, NsTensor *t)
{
  t->priv = (float *) t->parent->priv + t->offset;
}

static void
ref_tensor_fini (NsBackend *be, NsTensor *t)
{
  if (t->parent == NULL)
    g_free (t->priv);
  t->priv = NULL;
}

static void
ref_upload (NsTensor *t, const float *nchw)
{
  memcpy (t->priv, nchw, t->n * sizeof (float));
}

static void
ref_download (NsTensor *t, float *nchw)
{
  memcpy (nchw, t->priv, t->n * sizeof (float));
}

static void
ref_fill (NsTensor *t, float value)
{
  float *d = t->priv;
  for (gsize i = 0; i < t->n; i++)
    d[i] = value;
}

static void
ref_copy (NsTensor *dst, NsTensor *src)
{
  memmove (dst->priv, src->priv, dst->n * sizeof (float));
}

/* ---- ops: widen, run the double kernel, narrow --------------------------------------------- */

static void
ref_conv2d_forward (NsTensor *out, NsTensor *inp, NsTensor *weight, NsTensor *bias,
                    const NsConv2dParams *p)
{
  Op op = op_begin (out, "conv2d forward");
  g_autofree double *o = scratch (&op, out), *x = widen (&op, inp), *w = widen (&op, weight);
  g_autofree double *b = widen (&op, bias);
  if (op.failed)
    return;
  _ns_ref_conv2d_forward (o, x, w, b, inp->shape, weight->shape, p);
  narrow (&op, out, o);
}

static void
ref_conv2d_backward (NsTensor *dinp, NsTensor *dweight, NsTensor *dbias, NsTensor *dout,
                     NsTensor *inp, NsTensor *weight, const NsConv2dParams *p)
{
  Op op = op_begin (dout, "conv2d backward");
  g_autofree double *dx = scratch (&op, dinp), *dw = widen (&op, dweight);
  g_autofree double *db = widen (&op, dbias), *d = widen (&op, dout);
  g_autofree double *x = widen (&op, inp), *w = widen (&op, weight);
  if (op.failed)
    return;
  _ns_ref_conv2d_backward (dx, dw, db, d, x, w, inp->shape, weight->shape, p);
  narrow (&op, dinp, dx);
  narrow (&op, dweight, dw);
  narrow (&op, dbias, db);
}

static void
ref_batchnorm_forward (NsTensor *out, NsTensor *save_mean, NsTensor *save_invstd,
                       NsTensor *inp, NsTensor *gamma, NsTensor *beta, NsTensor *running_mean,
                       NsTensor *running_var, gboolean training, float momentum, float eps)
{
  const int C = inp->shape[1];
  Op op = op_begin (out, "batch-norm forward");
  g_autofree double *o = scratch (&op, out), *x = widen (&op, inp);
  g_autofree double *g = widen (&op, gamma), *b = widen (&op, beta);
  g_autofree double *rm = widen (&op, running_mean), *rv = widen (&op, running_var);
  g_autofree double *sm = op_alloc (&op, C), *si = op_alloc (&op, C);
  if (op.failed)
    return;
  _ns_ref_batchnorm_forward (o, sm, si, x, g, b, rm, rv, training, momentum, eps, inp->shape);
  narrow (&op, out, o);
  if (training)
    {
      narrow (&op, save_mean, sm);
      narrow (&op, save_invstd, si);
      narrow (&op, running_mean, rm);
      narrow (&op, running_var, rv);
    }
}

static void
ref_batchnorm_backward (NsTensor *dinp, NsTensor *dgamma, NsTensor *dbeta, NsTensor *dout,
                        NsTensor *inp, NsTensor *save_mean, NsTensor *save_invstd,
                        NsTensor *gamma)
{
  Op op = op_begin (dout, "batch-norm backward");
  g_autofree double *dx = scratch (&op, dinp), *dg = widen (&op, dgamma);
  g_autofree double *db = widen (&op, dbeta), *d = widen (&op, dout), *x = widen (&op, inp);
  g_autofree double *sm = widen (&op, save_mean), *si = widen (&op, save_invstd);
  g_autofree double *g = widen (&op, gamma);
  if (op.failed)
    return;
  _ns_ref_batchnorm_backward (dx, dg, db, d, x, sm, si, g, inp->shape);
  narrow (&op, dinp, dx);
  narrow (&op, dgamma, dg);
  narrow (&op, dbeta, db);
}

static void
ref_relu_forward (NsTensor *out, NsTensor *inp, NsActivation act)
{
  Op op = op_begin (out, "relu forward");
  g_autofree double *x = widen (&op, inp);
  if (op.failed)
    return;
  _ns_ref_relu_forward (x, x, act, inp->n);
  narrow (&op, out, x);
}

static void
ref_relu_backward (NsTensor *dinp, NsTensor *dout, NsTensor *out, NsActivation act)
{
  Op op = op_begin (dout, "relu backward");
  g_autofree double *d = widen (&op, dout), *o = widen (&op, out);
  if (op.failed)
    return;
  _ns_ref_relu_backward (d, d, o, act, dout->n);
  narrow (&op, dinp, d);
}

static void
ref_maxpool2_forward (NsTensor *out, NsTensor *inp)
{
  Op op = op_begin (out, "max-pool forward");
  g_autofree double *o = scratch (&op, out), *x = widen (&op, inp);
  if (op.failed)
    return;
  _ns_ref_maxpool2_forward (o, x, inp->shape);
  narrow (&op, out, o);
}

static void
ref_maxpool2_backward (NsTensor *dinp, NsTensor *dout, NsTensor *inp, NsTensor *out)
{
  Op op = op_begin (dout, "max-pool backward");
  g_autofree double *dx = scratch (&op, dinp), *d = widen (&op, dout), *x = widen (&op, inp);
  if (op.failed)
    return;
  _ns_ref_maxpool2_backward (dx, d, x, inp->shape);
  narrow (&op, dinp, dx);
}

static void
ref_upsample2_forward (NsTensor *out, NsTensor *inp)
{
  Op op = op_begin (out, "upsample forward");
  g_autofree double *o = scratch (&op, out), *x = widen (&op, inp);
  if (op.failed)
    return;
  _ns_ref_upsample2_forward (o, x, inp->shape);
  narrow (&op, out, o);
}

static void
ref_upsample2_backward (NsTensor *dinp, NsTensor *dout)
{
  const int inp_shape[4] = { dout->shape[0], dout->shape[1], dout->shape[2] / 2,
                             dout->shape[3] / 2 };
  Op op = op_begin (dout, "upsample backward");
  g_autofree double *dx = scratch (&op, dinp), *d = widen (&op, dout);
  if (op.failed)
    return;
  _ns_ref_upsample2_backward (dx, d, inp_shape);
  narrow (&op, dinp, dx);
}

static void
ref_convt2_forward (NsTensor *out, NsTensor *inp, NsTensor *weight, NsTensor *bias)
{
  Op op = op_begin (out, "transposed conv forward");
  g_autofree double *o = scratch (&op, out), *x = widen (&op, inp), *w = widen (&op, weight);
  g_autofree double *b = widen (&op, bias);
  if (op.failed)
    return;
  _ns_ref_convt2_forward (o, x, w, b, inp->shape, out->shape[1]);
  narrow (&op, out, o);
}

static void
ref_convt2_backward (NsTensor *dinp, NsTensor *dweight, NsTensor *dbias, NsTensor *dout,
                     NsTensor *inp, NsTensor *weight)
{
  Op op = op_begin (dout, "transposed conv backward");
  g_autofree double *dx = scratch (&op, dinp), *dw = widen (&op, dweight);
  g_autofree double *db = widen (&op, dbias), *d = widen (&op, dout);
  g_autofree double *x = widen (&op, inp), *w = widen (&op, weight);
  if (op.failed)
    return;
  _ns_ref_convt2_backward (dx, dw, db, d, x, w, inp->shape, dout->shape[1]);
  narrow (&op, dinp, dx);
  narrow (&op, dweight, dw);
  narrow (&op, dbias, db);
}

static void
ref_concat_forward (NsTensor *out, NsTensor *a, NsTensor *b)
{
  Op op = op_begin (out, "concat forward");
  g_autofree double *o = scratch (&op, out), *da = widen (&op, a), *db = widen (&op, b);
  if (op.failed)
    return;
  _ns_ref_concat_forward (o, da, db, a->shape, b->shape[1]);
  narrow (&op, out, o);
}

/* The channel split comes from whichever part is given: out has Ca + Cb channels. */
static void
ref_concat_backward (NsTensor *da, NsTensor *db, NsTensor *dout)
{
  int a_shape[4];
  memcpy (a_shape, dout->shape, sizeof a_shape);
  a_shape[1] = da != NULL ? da->shape[1] : dout->shape[1] - db->shape[1];
  const int cb = dout->shape[1] - a_shape[1];

  Op op = op_begin (dout, "concat backward");
  g_autofree double *d = widen (&op, dout);
  g_autofree double *ga = scratch (&op, da), *gb = scratch (&op, db);
  if (op.failed)
    return;
  _ns_ref_concat_backward (ga, gb, d, a_shape, cb);
  narrow (&op, da, ga);
  narrow (&op, db, gb);
}

static void
ref_add_forward (NsTensor *out, NsTensor *a, NsTensor *b)
{
  Op op = op_begin (out, "add");
  g_autofree double *da = widen (&op, a), *db = widen (&op, b);
  if (op.failed)
    return;
  _ns_ref_add_forward (da, da, db, a->n);
  narrow (&op, out, da);
}

static void
ref_dropout_forward (NsTensor *out, NsTensor *mask, NsTensor *inp, float p, guint64 seed,
                     gboolean training)
{
  Op op = op_begin (out, "dropout forward");
  g_autofree double *x = widen (&op, inp), *o = scratch (&op, out);
  g_autofree double *mk = training ? scratch (&op, mask) : NULL;
  if (op.failed)
    return;
  _ns_ref_dropout_forward (o, mk, x, p, seed, training, inp->n);
  narrow (&op, out, o);
  if (training)
    narrow (&op, mask, mk);
}

static void
ref_dropout_backward (NsTensor *dinp, NsTensor *dout, NsTensor *mask)
{
  Op op = op_begin (dout, "dropout backward");
  g_autofree double *d = widen (&op, dout), *mk = widen (&op, mask);
  if (op.failed)
    return;
  _ns_ref_dropout_backward (d, d, mk, dout->n);
  narrow (&op, dinp, d);
}

static void
ref_softmax_forward (NsTensor *probs, NsTensor *logits)
{
  Op op = op_begin (probs, "softmax");
  g_autofree double *z = widen (&op, logits), *pr = scratch (&op, probs);
  if (op.failed)
    return;
  _ns_ref_softmax_forward (pr, z, logits->shape);
  narrow (&op, probs, pr);
}

static float
ref_softmax_dice_ce_forward (NsTensor *probs, NsTensor *logits, NsTensor *labels)
{
  Op op = op_begin (probs, "loss forward");
  g_autofree double *z = widen (&op, logits), *pr = scratch (&op, probs);
  g_autofree double *y = widen (&op, labels);
  if (op.failed || !labels_valid (&op, y, labels->n, logits->shape[1]))
    return NAN;
  double loss = _ns_ref_softmax_dice_ce_forward (pr, z, y, logits->shape);
  narrow (&op, probs, pr);
  return (float) loss;
}

static void
ref_softmax_dice_ce_backward (NsTensor *dlogits, NsTensor *probs, NsTensor *labels)
{
  Op op = op_begin (probs, "loss backward");
  g_autofree double *pr = widen (&op, probs), *y = widen (&op, labels);
  g_autofree double *dz = scratch (&op, dlogits);
  if (op.failed || !labels_valid (&op, y, labels->n, probs->shape[1]))
    return;
  _ns_ref_softmax_dice_ce_backward (dz, pr, y, probs->shape);
  narrow (&op, dlogits, dz);
}

static void
ref_adam_update (NsTensor *params, NsTensor *grads, NsTensor *m, NsTensor *v,
                 const NsAdamParams *p)
{
  Op op = op_begin (params, "adam");
  g_autofree double *w = widen (&op, params), *g = widen (&op, grads);
  g_autofree double *dm = widen (&op, m), *dv = widen (&op, v);
  if (op.failed)
    return;
  _ns_ref_adam_update (w, g, dm, dv, params->n, p);
  narrow (&op, params, w);
  narrow (&op, m, dm);
  narrow (&op, v, dv);
}

static const NsBackendOps ref_ops = {
  .name = "ref",
  .supports_op = ref_supports_op,
  .free = ref_free,
  .tensor_init = ref_tensor_init,
  .tensor_init_view = ref_tensor_init_view,
  .tensor_fini = ref_tensor_fini,
  .upload = ref_upload,
  .download = ref_download,
  .fill = ref_fill,
  .copy = ref_copy,
  .conv2d_forward = ref_conv2d_forward,
  .conv2d_backward = ref_conv2d_backward,
  .batchnorm_forward = ref_batchnorm_forward,
  .batchnorm_backward = ref_batchnorm_backward,
  .relu_forward = ref_relu_forward,
  .relu_backward = ref_relu_backward,
  .maxpool2_forward = ref_maxpool2_forward,
  .maxpool2_backward = ref_maxpool2_backward,
  .upsample2_forward = ref_upsample2_forward,
  .upsample2_backward = ref_upsample2_backward,
  .convt2_forward = ref_convt2_forward,
  .convt2_backward = ref_convt2_backward,
  .concat_forward = ref_concat_forward,
  .concat_backward = ref_concat_backward,
  .add_forward = ref_add_forward,
  .dropout_forward = ref_dropout_forward,
  .dropout_backward = ref_dropout_backward,
  .softmax_forward = ref_softmax_forward,
  .softmax_dice_ce_forward = ref_softmax_dice_ce_forward,
  .softmax_dice_ce_backward = ref_softmax_dice_ce_backward,
  .adam_update = ref_adam_update,
};

guint64
_ns_backend_ref_get_n_ops (NsBackend *backend)
{
  g_return_val_if_fail (backend != NULL && backend->ops == &ref_ops, 0);
  return ((RefBackend *) backend->priv)->n_ops;
}

const NsBackendOps *
_ns_backend_ref_ops (void)
{
  return &ref_ops;
}

NsBackend *
_ns_backend_ref_new (GError **error)
{
  NsBackend *be = g_new0 (NsBackend, 1);
  RefBackend *rb = g_new0 (RefBackend, 1);
  const char *fail_at = g_getenv ("NS_TEST_REF_FAIL_AT");

  if (fail_at != NULL)
    rb->fail_at = g_ascii_strtoull (fail_at, NULL, 10);
  be->ops = &ref_ops;
  be->priv = rb;
  be->name = g_strdup ("ref");
  be->device = g_strdup ("reference (plain C, double accumulation)");
  be->precision = NS_PRECISION_FP32;
  return be;
}
