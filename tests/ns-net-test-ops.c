/* SPDX-License-Identifier: MIT
 *
 * ns-net-test-ops.c: see ns-net-test-ops.h.
 *
 * Each logical tensor is a Pair: one tensor on the backend under test and one on ref,
 * given the same float32 contents.  The ops run on both; pair_check() downloads both and
 * compares.  Shapes are drawn from a GRand seeded per op, so that a failure reproduces;
 * every comparison's label names the op, the configuration and the tensor.
 */
#define G_LOG_DOMAIN "ns-test"

#include "ns-net-test-ops.h"
#include "ns-test-util.h"

#include <math.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>

const NsNetTestTolerances ns_net_test_tol_fp32 = {
  .tensor = 0.0,
  /* Sums of up to a few hundred float products in another order (or Winograd/GEMM
   * blocking): about 1e-6; 1e-4 leaves room without hiding a wrong index (errors of
   * order 1). */
  .conv2d = 1e-4,
  .batchnorm = 1e-4,
  .relu = 1e-6,
  .maxpool2 = 1e-6,
  .upsample2 = 1e-6,
  .convt2 = 1e-4,
  .concat = 1e-6,
  .add = 1e-6,
  .dropout = 1e-6,
  .softmax = 1e-5,
  .loss = 1e-4,
  .adam = 1e-5,
};

const NsNetTestTolerances ns_net_test_tol_bf16 = {
  .tensor = 8e-3,
  .conv2d = 4e-2,
  .batchnorm = 4e-2,
  .relu = 8e-3,
  .maxpool2 = 8e-3,
  .upsample2 = 8e-3,
  .convt2 = 4e-2,
  .concat = 8e-3,
  .add = 1.6e-2,
  .dropout = 1.6e-2,
  .softmax = 2e-2,
  .loss = 4e-2,
  .adam = 1e-5,   /* optimiser state stays fp32 */
};

/* ---- pairs of tensors ---------------------------------------------------------------------- */

typedef struct _Pair Pair;

struct _Pair
{
  NsTensor *t;        /* on the backend under test */
  NsTensor *r;        /* on ref */
  Pair *parent;       /* views: the flat pair they live in */
  int shape[4];
  gsize n;
};

typedef struct
{
  NsBackend *be;
  NsBackend *ref;
  GRand *rand;
  const char *op;
  char *cfg;          /* the current configuration, for labels */
  double tol;
  gboolean ok;
  GPtrArray *pairs;   /* freed in reverse order: views before their parents */
} Harness;

static void
pair_free (Pair *p)
{
  ns_tensor_free (p->t);
  ns_tensor_free (p->r);
  g_free (p);
}

static Pair *
pair_new (Harness *h, int n, int c, int hh, int w)
{
  g_autoptr (GError) error = NULL;
  Pair *p = g_new0 (Pair, 1);

  p->t = ns_tensor_new (h->be, n, c, hh, w, &error);
  g_assert_no_error (error);
  p->r = ns_tensor_new (h->ref, n, c, hh, w, &error);
  g_assert_no_error (error);
  ns_tensor_get_shape (p->r, p->shape);
  p->n = ns_tensor_n_elements (p->r);
  g_ptr_array_add (h->pairs, p);
  return p;
}

static Pair *
pair_view (Harness *h, Pair *parent, gsize offset, int n, int c, int hh, int w)
{
  Pair *p = g_new0 (Pair, 1);

  p->t = ns_tensor_new_view (parent->t, offset, n, c, hh, w);
  p->r = ns_tensor_new_view (parent->r, offset, n, c, hh, w);
  g_assert_nonnull (p->t);
  g_assert_nonnull (p->r);
  p->parent = parent;
  ns_tensor_get_shape (p->r, p->shape);
  p->n = ns_tensor_n_elements (p->r);
  g_ptr_array_add (h->pairs, p);
  return p;
}

static void
pair_set (Pair *p, const float *data)
{
  ns_tensor_upload (p->t, data);
  ns_tensor_upload (p->r, data);
}

static void
fill_uniform (Harness *h, float *x, gsize n, double lo, double hi)
{
  for (gsize i = 0; i < n; i++)
    x[i] = (float) g_rand_double_range (h->rand, lo, hi);
}

static void
pair_random (Harness *h, Pair *p, double lo, double hi)
{
  g_autofree float *x = g_new (float, p->n);
  fill_uniform (h, x, p->n, lo, hi);
  pair_set (p, x);
}

static void
pair_fill (Pair *p, float value)
{
  ns_tensor_fill (p->t, value);
  ns_tensor_fill (p->r, value);
}

static void
check_arrays (Harness *h, const char *what, const float *got, const float *want_f, gsize n)
{
  g_autofree double *want = g_new (double, n);
  g_autofree char *label = g_strdup_printf ("%s [%s] %s", h->op, h->cfg, what);

  for (gsize i = 0; i < n; i++)
    want[i] = want_f[i];
  if (!ns_check_tensor (label, got, want, n, h->tol))
    h->ok = FALSE;
}

/* Compares the backend's tensor with ref's; for a view, its whole parent too, which
 * catches writes outside the view. */
static void
pair_check (Harness *h, Pair *p, const char *what)
{
  g_autofree float *got = g_new (float, p->n);
  g_autofree float *want = g_new (float, p->n);

  g_autoptr (GError) error = NULL;

  ns_tensor_download (p->t, got);
  ns_tensor_download (p->r, want);
  /* an op that failed is reported as itself, not only as wrong numbers */
  if (!ns_backend_check (h->be, &error) || !ns_backend_check (h->ref, &error))
    {
      g_test_message ("%s [%s] %s: %s", h->op, h->cfg, what, error->message);
      h->ok = FALSE;
    }
  check_arrays (h, what, got, want, p->n);
  if (p->parent != NULL)
    {
      g_autofree char *pwhat = g_strdup_printf ("%s (its parent)", what);
      pair_check (h, p->parent, pwhat);
    }
}

/* A parameter-like tensor: a plain tensor, or (as_view) a view at a random offset of a
 * larger flat tensor filled with random values, as the model's one allocation. */
static Pair *
pair_param (Harness *h, gboolean as_view, int n, int c, int hh, int w)
{
  if (!as_view)
    return pair_new (h, n, c, hh, w);

  gsize count = (gsize) n * c * hh * w;
  gsize offset = (gsize) g_rand_int_range (h->rand, 1, 9);
  Pair *flat = pair_new (h, (int) (count + offset + g_rand_int_range (h->rand, 1, 9)), 1, 1, 1);
  pair_random (h, flat, -1.0, 1.0);
  return pair_view (h, flat, offset, n, c, hh, w);
}

static void
harness_begin (Harness *h, const char *fmt, ...) G_GNUC_PRINTF (2, 3);

static void
harness_begin (Harness *h, const char *fmt, ...)
{
  va_list ap;

  g_free (h->cfg);
  va_start (ap, fmt);
  h->cfg = g_strdup_vprintf (fmt, ap);
  va_end (ap);
  g_test_message ("%s: %s", h->op, h->cfg);
}

static void
harness_end_config (Harness *h)
{
  for (guint i = h->pairs->len; i > 0; i--)
    pair_free (g_ptr_array_index (h->pairs, i - 1));
  g_ptr_array_set_size (h->pairs, 0);
}

static int
rint_range (Harness *h, int lo, int hi_inclusive)
{
  return g_rand_int_range (h->rand, lo, hi_inclusive + 1);
}

static const char *
act_name (NsActivation act)
{
  return act == NS_ACT_RELU ? "relu" : act == NS_ACT_RELU6 ? "relu6" : "none";
}

/* ---- tensors ------------------------------------------------------------------------------- */

static void
run_tensor (Harness *h)
{
  const gsize n_flat = 100;
  float data[100], back[100], part[24];

  harness_begin (h, "flat 100, view (2,3,2,2) at 17");
  Pair *flat = pair_new (h, (int) n_flat, 1, 1, 1);
  fill_uniform (h, data, n_flat, -3.0, 3.0);
  pair_set (flat, data);
  ns_tensor_download (flat->t, back);
  check_arrays (h, "upload/download", back, data, n_flat);

  Pair *view = pair_view (h, flat, 17, 2, 3, 2, 2);
  fill_uniform (h, part, 24, -3.0, 3.0);
  pair_set (view, part);
  memcpy (data + 17, part, sizeof part);
  ns_tensor_download (flat->t, back);
  check_arrays (h, "upload into a view, parent", back, data, n_flat);
  ns_tensor_download (view->t, back);
  check_arrays (h, "download of a view", back, part, 24);

  pair_fill (view, 2.5f);
  for (gsize i = 17; i < 17 + 24; i++)
    data[i] = 2.5f;
  ns_tensor_download (flat->t, back);
  check_arrays (h, "fill of a view, parent", back, data, n_flat);

  Pair *other = pair_new (h, 2, 3, 2, 2);
  pair_fill (other, NAN);
  ns_tensor_copy (other->t, view->t);
  ns_tensor_copy (other->r, view->r);
  pair_check (h, other, "copy from a view");

  Pair *view2 = pair_view (h, flat, 60, 2, 3, 2, 2);
  pair_random (h, other, -1.0, 1.0);
  ns_tensor_copy (view2->t, other->t);
  ns_tensor_copy (view2->r, other->r);
  pair_check (h, view2, "copy into a view");

  Pair *full = pair_new (h, 3, 5, 7, 9);
  pair_fill (full, -1.25f);
  pair_check (h, full, "fill");
  harness_end_config (h);
}

/* ---- conv2d -------------------------------------------------------------------------------- */

static void
conv_case (Harness *h, int idx, int kh, int kw, int stride, int pad, int groups, int C, int K)
{
  NsConv2dParams p = { .stride = stride, .pad = pad };
  const int N = rint_range (h, 1, 3);

  if (groups < 0)  /* depthwise */
    {
      C = C > 0 ? C : rint_range (h, 1, 6);
      K = C;
      groups = C;
    }
  C = C > 0 ? C : rint_range (h, 1, 5);
  K = K > 0 ? K : rint_range (h, 1, 5);
  p.groups = groups;
  p.act = (NsActivation) (idx % 3);

  const int H = rint_range (h, MAX (kh - 2 * pad, 1), 12);
  const int W = rint_range (h, MAX (kw - 2 * pad, 1), 12);
  const int Ho = (H + 2 * pad - kh) / stride + 1, Wo = (W + 2 * pad - kw) / stride + 1;
  const gboolean with_bias = idx % 4 != 3, as_view = idx % 2 == 1, with_dinp = idx % 5 != 4;

  harness_begin (h, "#%d N%d C%d %dx%d -> K%d k%dx%d s%d p%d g%d act %s%s%s%s", idx, N, C, H,
                 W, K, kh, kw, stride, pad, groups, act_name (p.act),
                 with_bias ? "" : " no-bias", as_view ? " views" : "",
                 with_dinp ? "" : " no-dinp");

  Pair *inp = pair_new (h, N, C, H, W);
  Pair *weight = pair_param (h, as_view, K, C / groups, kh, kw);
  Pair *bias = with_bias ? pair_param (h, as_view, K, 1, 1, 1) : NULL;
  Pair *out = pair_new (h, N, K, Ho, Wo);
  pair_random (h, inp, -1.0, 1.0);
  pair_random (h, weight, -1.0, 1.0);
  if (bias != NULL)
    pair_random (h, bias, -1.0, 1.0);

  pair_fill (out, NAN);
  ns_conv2d_forward (out->t, inp->t, weight->t, bias ? bias->t : NULL, &p);
  ns_conv2d_forward (out->r, inp->r, weight->r, bias ? bias->r : NULL, &p);
  pair_check (h, out, "out");

  p.act = NS_ACT_NONE;
  Pair *dout = pair_new (h, N, K, Ho, Wo);
  Pair *dinp = with_dinp ? pair_new (h, N, C, H, W) : NULL;
  Pair *dweight = pair_param (h, as_view, K, C / groups, kh, kw);
  Pair *dbias = with_bias ? pair_param (h, as_view, K, 1, 1, 1) : NULL;
  pair_random (h, dout, -1.0, 1.0);
  if (dinp != NULL)
    pair_fill (dinp, NAN);
  pair_random (h, dweight, -1.0, 1.0);
  if (dbias != NULL)
    pair_random (h, dbias, -1.0, 1.0);
  ns_conv2d_backward (dinp ? dinp->t : NULL, dweight->t, dbias ? dbias->t : NULL, dout->t,
                      inp->t, weight->t, &p);
  ns_conv2d_backward (dinp ? dinp->r : NULL, dweight->r, dbias ? dbias->r : NULL, dout->r,
                      inp->r, weight->r, &p);
  if (dinp != NULL)
    pair_check (h, dinp, "dinp");
  pair_check (h, dweight, "dweight (accumulated onto random values)");
  if (dbias != NULL)
    pair_check (h, dbias, "dbias (accumulated onto random values)");
  harness_end_config (h);
}

static void
run_conv2d (Harness *h)
{
  static const int kernels[] = { 1, 2, 3 };
  int idx = 0;

  for (int ki = 0; ki < 3; ki++)
    for (int stride = 1; stride <= 2; stride++)
      for (int pad = 0; pad <= 1; pad++)
        for (int dw = 0; dw <= 1; dw++)
          conv_case (h, idx++, kernels[ki], kernels[ki], stride, pad, dw ? -1 : 1, 0, 0);
  conv_case (h, idx++, 3, 3, 1, 1, 2, 4, 6);          /* grouped */
  conv_case (h, idx++, 3, 3, 2, 1, 3, 6, 3);
  conv_case (h, idx++, 5, 3, 2, 2, 1, 0, 0);          /* non-square kernel */
  conv_case (h, idx++, 3, 3, 1, 1, 1, 16, 24);        /* wider channels */
  conv_case (h, idx++, 3, 3, 2, 1, -1, 32, 32);       /* depthwise, 32 channels */
  conv_case (h, idx++, 1, 1, 1, 0, 1, 24, 40);        /* pointwise expansion */
}

/* ---- batchnorm ----------------------------------------------------------------------------- */

static void
run_batchnorm (Harness *h)
{
  const float momentum = 0.1f;

  for (int idx = 0; idx < 8; idx++)
    {
      int N = rint_range (h, 1, 3), C = rint_range (h, 1, 6);
      int H = rint_range (h, 1, 9), W = rint_range (h, 1, 9);
      if (idx == 0)
        N = 2, H = W = 1;   /* two values per channel */
      if (N * H * W < 2)
        W = 2;
      /* With two values per channel, xhat = +-sqrt (var / (var + eps)) and dinp is
       * gamma invstd (dy - mean dy - xhat mean (dy xhat)), a difference of terms equal to
       * within eps / var: any float32 computation keeps only about 1e-7 var / eps of it.
       * A large eps there keeps the comparison meaningful. */
      const float eps = N * H * W == 2 ? 0.5f : 1e-5f;
      const gboolean as_view = idx % 2 == 1, with_dinp = idx != 5;
      harness_begin (h, "#%d N%d C%d %dx%d eps %g%s%s", idx, N, C, H, W, eps,
                     as_view ? " views" : "", with_dinp ? "" : " no-dinp");

      Pair *inp = pair_new (h, N, C, H, W);
      g_autofree float *x = g_new (float, inp->n);
      for (int n = 0; n < N; n++)
        for (int c = 0; c < C; c++)
          for (int i = 0; i < H * W; i++)  /* per-channel offset and scale */
            x[((gsize) n * C + c) * H * W + i] =
              (float) (c - 1.0 + (0.5 + c) * g_rand_double_range (h->rand, -1.0, 1.0));
      pair_set (inp, x);

      Pair *gamma = pair_param (h, as_view, C, 1, 1, 1);
      Pair *beta = pair_param (h, as_view, C, 1, 1, 1);
      Pair *rmean = pair_param (h, as_view, C, 1, 1, 1);
      Pair *rvar = pair_param (h, as_view, C, 1, 1, 1);
      Pair *smean = pair_new (h, C, 1, 1, 1);
      Pair *sinvstd = pair_new (h, C, 1, 1, 1);
      Pair *out = pair_new (h, N, C, H, W);
      pair_random (h, gamma, 0.5, 1.5);
      pair_random (h, beta, -0.5, 0.5);
      pair_random (h, rmean, -0.2, 0.2);
      pair_random (h, rvar, 0.5, 1.5);
      pair_fill (smean, NAN);
      pair_fill (sinvstd, NAN);
      pair_fill (out, NAN);

      ns_batchnorm_forward (out->t, smean->t, sinvstd->t, inp->t, gamma->t, beta->t,
                            rmean->t, rvar->t, TRUE, momentum, eps);
      ns_batchnorm_forward (out->r, smean->r, sinvstd->r, inp->r, gamma->r, beta->r,
                            rmean->r, rvar->r, TRUE, momentum, eps);
      pair_check (h, out, "out (training)");
      pair_check (h, smean, "save_mean");
      pair_check (h, sinvstd, "save_invstd");
      pair_check (h, rmean, "running_mean");
      pair_check (h, rvar, "running_var");

      Pair *dout = pair_new (h, N, C, H, W);
      Pair *dinp = with_dinp ? pair_new (h, N, C, H, W) : NULL;
      Pair *dgamma = pair_param (h, as_view, C, 1, 1, 1);
      Pair *dbeta = pair_param (h, as_view, C, 1, 1, 1);
      pair_random (h, dout, -1.0, 1.0);
      if (dinp != NULL)
        pair_fill (dinp, NAN);
      pair_random (h, dgamma, -1.0, 1.0);
      pair_random (h, dbeta, -1.0, 1.0);
      ns_batchnorm_backward (dinp ? dinp->t : NULL, dgamma->t, dbeta->t, dout->t, inp->t,
                             smean->t, sinvstd->t, gamma->t);
      ns_batchnorm_backward (dinp ? dinp->r : NULL, dgamma->r, dbeta->r, dout->r, inp->r,
                             smean->r, sinvstd->r, gamma->r);
      if (dinp != NULL)
        pair_check (h, dinp, "dinp");
      pair_check (h, dgamma, "dgamma (accumulated onto random values)");
      pair_check (h, dbeta, "dbeta (accumulated onto random values)");

      pair_fill (out, NAN);
      ns_batchnorm_forward (out->t, NULL, NULL, inp->t, gamma->t, beta->t, rmean->t, rvar->t,
                            FALSE, momentum, eps);
      ns_batchnorm_forward (out->r, NULL, NULL, inp->r, gamma->r, beta->r, rmean->r, rvar->r,
                            FALSE, momentum, eps);
      pair_check (h, out, "out (inference)");
      pair_check (h, rmean, "running_mean unchanged by inference");
      harness_end_config (h);
    }
}

/* ---- relu ---------------------------------------------------------------------------------- */

static void
run_relu (Harness *h)
{
  for (int idx = 0; idx < 6; idx++)
    {
      const NsActivation act = idx % 2 == 0 ? NS_ACT_RELU : NS_ACT_RELU6;
      const int N = rint_range (h, 1, 3), C = rint_range (h, 1, 5);
      const int H = rint_range (h, 1, 9), W = rint_range (h, 1, 9);
      harness_begin (h, "#%d %s N%d C%d %dx%d", idx, act_name (act), N, C, H, W);

      Pair *inp = pair_new (h, N, C, H, W);
      g_autofree float *x = g_new (float, inp->n);
      fill_uniform (h, x, inp->n, -2.0, 8.0);
      /* Keep clear of the kinks, where a rounding could flip the gradient. */
      for (gsize i = 0; i < inp->n; i++)
        if (fabsf (x[i]) < 0.05f || fabsf (x[i] - 6.0f) < 0.05f)
          x[i] += 0.1f;
      pair_set (inp, x);

      Pair *out = pair_new (h, N, C, H, W);
      pair_fill (out, NAN);
      ns_relu_forward (out->t, inp->t, act);
      ns_relu_forward (out->r, inp->r, act);
      pair_check (h, out, "out");

      Pair *inplace = pair_new (h, N, C, H, W);
      pair_set (inplace, x);
      ns_relu_forward (inplace->t, inplace->t, act);
      ns_relu_forward (inplace->r, inplace->r, act);
      pair_check (h, inplace, "out in place");

      Pair *dout = pair_new (h, N, C, H, W);
      Pair *dinp = pair_new (h, N, C, H, W);
      pair_random (h, dout, -1.0, 1.0);
      pair_fill (dinp, NAN);
      ns_relu_backward (dinp->t, dout->t, out->t, act);
      ns_relu_backward (dinp->r, dout->r, out->r, act);
      pair_check (h, dinp, "dinp");
      harness_end_config (h);
    }
}

/* ---- maxpool2, upsample2 ------------------------------------------------------------------- */

static void
run_maxpool2 (Harness *h)
{
  for (int idx = 0; idx < 5; idx++)
    {
      const int N = rint_range (h, 1, 3), C = rint_range (h, 1, 4);
      const int H = 2 * rint_range (h, 1, 6), W = 2 * rint_range (h, 1, 6);
      harness_begin (h, "#%d N%d C%d %dx%d", idx, N, C, H, W);

      /* Four distinct multiples of 1/8 per window (exact in bf16 too): no ties, so the
       * gradient's route does not depend on rounding. */
      Pair *inp = pair_new (h, N, C, H, W);
      g_autofree float *x = g_new (float, inp->n);
      for (int p = 0; p < N * C; p++)
        for (int y = 0; y < H; y += 2)
          for (int xx = 0; xx < W; xx += 2)
            {
              int v[4];
              for (int j = 0; j < 4; j++)
                {
                  gboolean again;
                  do
                    {
                      v[j] = rint_range (h, -32, 31);
                      again = FALSE;
                      for (int i = 0; i < j; i++)
                        again |= v[i] == v[j];
                    }
                  while (again);
                }
              gsize base = ((gsize) p * H + y) * W + xx;
              x[base] = v[0] / 8.0f;
              x[base + 1] = v[1] / 8.0f;
              x[base + W] = v[2] / 8.0f;
              x[base + W + 1] = v[3] / 8.0f;
            }
      pair_set (inp, x);

      Pair *out = pair_new (h, N, C, H / 2, W / 2);
      pair_fill (out, NAN);
      ns_maxpool2_forward (out->t, inp->t);
      ns_maxpool2_forward (out->r, inp->r);
      pair_check (h, out, "out");

      Pair *dout = pair_new (h, N, C, H / 2, W / 2);
      Pair *dinp = pair_new (h, N, C, H, W);
      pair_random (h, dout, -1.0, 1.0);
      pair_fill (dinp, NAN);
      ns_maxpool2_backward (dinp->t, dout->t, inp->t, out->t);
      ns_maxpool2_backward (dinp->r, dout->r, inp->r, out->r);
      pair_check (h, dinp, "dinp");
      harness_end_config (h);
    }
}

static void
run_upsample2 (Harness *h)
{
  for (int idx = 0; idx < 5; idx++)
    {
      const int N = rint_range (h, 1, 3), C = rint_range (h, 1, 4);
      const int H = rint_range (h, 1, 7), W = rint_range (h, 1, 7);
      harness_begin (h, "#%d N%d C%d %dx%d", idx, N, C, H, W);

      Pair *inp = pair_new (h, N, C, H, W);
      Pair *out = pair_new (h, N, C, 2 * H, 2 * W);
      pair_random (h, inp, -1.0, 1.0);
      pair_fill (out, NAN);
      ns_upsample2_forward (out->t, inp->t);
      ns_upsample2_forward (out->r, inp->r);
      pair_check (h, out, "out");

      Pair *dout = pair_new (h, N, C, 2 * H, 2 * W);
      Pair *dinp = pair_new (h, N, C, H, W);
      pair_random (h, dout, -1.0, 1.0);
      pair_fill (dinp, NAN);
      ns_upsample2_backward (dinp->t, dout->t);
      ns_upsample2_backward (dinp->r, dout->r);
      pair_check (h, dinp, "dinp");
      harness_end_config (h);
    }
}

/* ---- convt2 -------------------------------------------------------------------------------- */

static void
run_convt2 (Harness *h)
{
  for (int idx = 0; idx < 7; idx++)
    {
      int N = rint_range (h, 1, 3), C = rint_range (h, 1, 5), K = rint_range (h, 1, 5);
      const int H = rint_range (h, 1, 7), W = rint_range (h, 1, 7);
      if (idx == 6)
        C = 24, K = 16;
      const gboolean with_bias = idx % 3 != 2, as_view = idx % 2 == 1, with_dinp = idx != 4;
      harness_begin (h, "#%d N%d C%d %dx%d -> K%d%s%s%s", idx, N, C, H, W, K,
                     with_bias ? "" : " no-bias", as_view ? " views" : "",
                     with_dinp ? "" : " no-dinp");

      Pair *inp = pair_new (h, N, C, H, W);
      Pair *weight = pair_param (h, as_view, C, K, 2, 2);
      Pair *bias = with_bias ? pair_param (h, as_view, K, 1, 1, 1) : NULL;
      Pair *out = pair_new (h, N, K, 2 * H, 2 * W);
      pair_random (h, inp, -1.0, 1.0);
      pair_random (h, weight, -1.0, 1.0);
      if (bias != NULL)
        pair_random (h, bias, -1.0, 1.0);
      pair_fill (out, NAN);
      ns_convt2_forward (out->t, inp->t, weight->t, bias ? bias->t : NULL);
      ns_convt2_forward (out->r, inp->r, weight->r, bias ? bias->r : NULL);
      pair_check (h, out, "out");

      Pair *dout = pair_new (h, N, K, 2 * H, 2 * W);
      Pair *dinp = with_dinp ? pair_new (h, N, C, H, W) : NULL;
      Pair *dweight = pair_param (h, as_view, C, K, 2, 2);
      Pair *dbias = with_bias ? pair_param (h, as_view, K, 1, 1, 1) : NULL;
      pair_random (h, dout, -1.0, 1.0);
      if (dinp != NULL)
        pair_fill (dinp, NAN);
      pair_random (h, dweight, -1.0, 1.0);
      if (dbias != NULL)
        pair_random (h, dbias, -1.0, 1.0);
      ns_convt2_backward (dinp ? dinp->t : NULL, dweight->t, dbias ? dbias->t : NULL, dout->t,
                          inp->t, weight->t);
      ns_convt2_backward (dinp ? dinp->r : NULL, dweight->r, dbias ? dbias->r : NULL, dout->r,
                          inp->r, weight->r);
      if (dinp != NULL)
        pair_check (h, dinp, "dinp");
      pair_check (h, dweight, "dweight (accumulated onto random values)");
      if (dbias != NULL)
        pair_check (h, dbias, "dbias (accumulated onto random values)");
      harness_end_config (h);
    }
}

/* ---- concat, add --------------------------------------------------------------------------- */

static void
run_concat (Harness *h)
{
  for (int idx = 0; idx < 6; idx++)
    {
      const int N = rint_range (h, 1, 3), Ca = rint_range (h, 1, 4), Cb = rint_range (h, 1, 4);
      const int H = rint_range (h, 1, 7), W = rint_range (h, 1, 7);
      /* 0, 3: both gradients; 1, 4: only da; 2, 5: only db. */
      const gboolean want_a = idx % 3 != 2, want_b = idx % 3 != 1;
      harness_begin (h, "#%d N%d Ca%d Cb%d %dx%d%s%s", idx, N, Ca, Cb, H, W,
                     want_a ? "" : " no-da", want_b ? "" : " no-db");

      Pair *a = pair_new (h, N, Ca, H, W);
      Pair *b = pair_new (h, N, Cb, H, W);
      Pair *out = pair_new (h, N, Ca + Cb, H, W);
      pair_random (h, a, -1.0, 1.0);
      pair_random (h, b, -1.0, 1.0);
      pair_fill (out, NAN);
      ns_concat_forward (out->t, a->t, b->t);
      ns_concat_forward (out->r, a->r, b->r);
      pair_check (h, out, "out");

      Pair *dout = pair_new (h, N, Ca + Cb, H, W);
      Pair *da = pair_new (h, N, Ca, H, W);
      Pair *db = pair_new (h, N, Cb, H, W);
      pair_random (h, dout, -1.0, 1.0);
      pair_fill (da, NAN);
      pair_fill (db, NAN);
      ns_concat_backward (want_a ? da->t : NULL, want_b ? db->t : NULL, dout->t);
      ns_concat_backward (want_a ? da->r : NULL, want_b ? db->r : NULL, dout->r);
      if (want_a)
        pair_check (h, da, "da");
      if (want_b)
        pair_check (h, db, "db");
      harness_end_config (h);
    }
}

static void
run_add (Harness *h)
{
  static const char *const modes[] = { "out separate", "out = a", "out = b" };

  for (int idx = 0; idx < 6; idx++)
    {
      const int N = rint_range (h, 1, 3), C = rint_range (h, 1, 5);
      const int H = rint_range (h, 1, 9), W = rint_range (h, 1, 9);
      harness_begin (h, "#%d N%d C%d %dx%d %s", idx, N, C, H, W, modes[idx % 3]);

      Pair *a = pair_new (h, N, C, H, W);
      Pair *b = pair_new (h, N, C, H, W);
      pair_random (h, a, -1.0, 1.0);
      pair_random (h, b, -1.0, 1.0);
      Pair *out = idx % 3 == 0 ? pair_new (h, N, C, H, W) : idx % 3 == 1 ? a : b;
      if (out != a && out != b)
        pair_fill (out, NAN);
      ns_add_forward (out->t, a->t, b->t);
      ns_add_forward (out->r, a->r, b->r);
      pair_check (h, out, "out");
      harness_end_config (h);
    }
}

/* ---- dropout ------------------------------------------------------------------------------- */

static void
run_dropout (Harness *h)
{
  static const float probs[] = { 0.0f, 0.25f, 0.5f, 0.75f };

  for (int idx = 0; idx < 4; idx++)
    {
      const int N = rint_range (h, 1, 3), C = rint_range (h, 1, 5);
      const int H = rint_range (h, 1, 9), W = rint_range (h, 1, 9);
      const guint64 seed = ((guint64) g_rand_int (h->rand) << 32) | g_rand_int (h->rand);
      harness_begin (h, "#%d p %.2f seed %" G_GUINT64_FORMAT " N%d C%d %dx%d", idx,
                     probs[idx], seed, N, C, H, W);

      Pair *inp = pair_new (h, N, C, H, W);
      Pair *out = pair_new (h, N, C, H, W);
      Pair *mask = pair_new (h, N, C, H, W);
      pair_random (h, inp, -1.0, 1.0);
      pair_fill (out, NAN);
      pair_fill (mask, NAN);
      ns_dropout_forward (out->t, mask->t, inp->t, probs[idx], seed, TRUE);
      ns_dropout_forward (out->r, mask->r, inp->r, probs[idx], seed, TRUE);
      pair_check (h, mask, "mask");
      pair_check (h, out, "out (training)");

      Pair *dout = pair_new (h, N, C, H, W);
      Pair *dinp = pair_new (h, N, C, H, W);
      pair_random (h, dout, -1.0, 1.0);
      pair_fill (dinp, NAN);
      ns_dropout_backward (dinp->t, dout->t, mask->t);
      ns_dropout_backward (dinp->r, dout->r, mask->r);
      pair_check (h, dinp, "dinp");

      pair_fill (out, NAN);
      ns_dropout_forward (out->t, NULL, inp->t, probs[idx], seed, FALSE);
      ns_dropout_forward (out->r, NULL, inp->r, probs[idx], seed, FALSE);
      pair_check (h, out, "out (inference)");
      harness_end_config (h);
    }
}

/* ---- softmax and the loss ------------------------------------------------------------------ */

static void
run_softmax (Harness *h)
{
  for (int idx = 0; idx < 5; idx++)
    {
      const int N = rint_range (h, 1, 3), K = idx == 0 ? 1 : rint_range (h, 2, 6);
      const int H = rint_range (h, 1, 9), W = rint_range (h, 1, 9);
      harness_begin (h, "#%d N%d K%d %dx%d", idx, N, K, H, W);

      Pair *logits = pair_new (h, N, K, H, W);
      Pair *probs = pair_new (h, N, K, H, W);
      pair_random (h, logits, -6.0, 6.0);
      pair_fill (probs, NAN);
      ns_softmax_forward (probs->t, logits->t);
      ns_softmax_forward (probs->r, logits->r);
      pair_check (h, probs, "probs");
      harness_end_config (h);
    }
}

static void
run_loss (Harness *h)
{
  for (int idx = 0; idx < 6; idx++)
    {
      const int N = rint_range (h, 1, 3), K = rint_range (h, idx == 4 ? 3 : 2, 5);
      const int H = rint_range (h, 1, 9), W = rint_range (h, 1, 9);
      /* 4: the last class absent from the labels; 5: background only. */
      const int max_label = idx == 4 ? K - 2 : idx == 5 ? 0 : K - 1;
      harness_begin (h, "#%d N%d K%d %dx%d labels 0..%d", idx, N, K, H, W, max_label);

      Pair *logits = pair_new (h, N, K, H, W);
      Pair *labels = pair_new (h, N, 1, H, W);
      Pair *probs = pair_new (h, N, K, H, W);
      Pair *dlogits = pair_new (h, N, K, H, W);
      g_autofree float *y = g_new (float, labels->n);
      for (gsize i = 0; i < labels->n; i++)
        y[i] = (float) rint_range (h, 0, max_label);
      pair_set (labels, y);
      pair_random (h, logits, -4.0, 4.0);
      pair_fill (probs, NAN);
      pair_fill (dlogits, NAN);

      float got = ns_softmax_dice_ce_forward (probs->t, logits->t, labels->t);
      float want = ns_softmax_dice_ce_forward (probs->r, logits->r, labels->r);
      check_arrays (h, "loss", &got, &want, 1);
      pair_check (h, probs, "probs");
      ns_softmax_dice_ce_backward (dlogits->t, probs->t, labels->t);
      ns_softmax_dice_ce_backward (dlogits->r, probs->r, labels->r);
      pair_check (h, dlogits, "dlogits");
      harness_end_config (h);
    }
}

/* ---- adam ---------------------------------------------------------------------------------- */

static void
run_adam (Harness *h)
{
  for (int idx = 0; idx < 3; idx++)
    {
      const int n = rint_range (h, 200, 1200);
      const gboolean as_view = idx == 2;
      NsAdamParams p = {
        .lr = idx == 0 ? 1e-3f : 1e-2f,
        .beta1 = 0.9f,
        .beta2 = 0.999f,
        .eps = 1e-8f,
        .weight_decay = idx == 0 ? 0.0f : 0.01f,
      };
      harness_begin (h, "#%d n %d lr %g wd %g%s", idx, n, p.lr, p.weight_decay,
                     as_view ? " views" : "");

      Pair *params = pair_param (h, as_view, n, 1, 1, 1);
      Pair *grads = pair_param (h, as_view, n, 1, 1, 1);
      Pair *m = pair_param (h, as_view, n, 1, 1, 1);
      Pair *v = pair_param (h, as_view, n, 1, 1, 1);
      pair_random (h, params, -1.0, 1.0);
      pair_fill (m, 0.0f);
      pair_fill (v, 0.0f);
      for (p.step = 1; p.step <= 5; p.step++)
        {
          /* Gradients of mixed magnitudes, as in a network. */
          pair_random (h, grads, -1.0, 1.0);
          if (p.step == 3)
            pair_random (h, grads, -1e-4, 1e-4);
          ns_adam_update (params->t, grads->t, m->t, v->t, &p);
          ns_adam_update (params->r, grads->r, m->r, v->r, &p);
        }
      pair_check (h, params, "params after 5 steps");
      pair_check (h, m, "m");
      pair_check (h, v, "v");
      harness_end_config (h);
    }
}

/* ---- registration -------------------------------------------------------------------------- */

typedef struct
{
  const char *name;
  NsOp op;            /* NS_N_OPS: always available */
  void (*run) (Harness *h);
  gsize tol_offset;
} OpCase;

#define TOL(field) offsetof (NsNetTestTolerances, field)

static const OpCase op_cases[] = {
  { "tensor", NS_N_OPS, run_tensor, TOL (tensor) },
  { "conv2d", NS_OP_CONV2D, run_conv2d, TOL (conv2d) },
  { "batchnorm", NS_OP_BATCHNORM, run_batchnorm, TOL (batchnorm) },
  { "relu", NS_OP_RELU, run_relu, TOL (relu) },
  { "maxpool2", NS_OP_MAXPOOL2, run_maxpool2, TOL (maxpool2) },
  { "upsample2", NS_OP_UPSAMPLE2, run_upsample2, TOL (upsample2) },
  { "convt2", NS_OP_CONVT2, run_convt2, TOL (convt2) },
  { "concat", NS_OP_CONCAT, run_concat, TOL (concat) },
  { "add", NS_OP_ADD, run_add, TOL (add) },
  { "dropout", NS_OP_DROPOUT, run_dropout, TOL (dropout) },
  { "softmax", NS_OP_SOFTMAX, run_softmax, TOL (softmax) },
  { "softmax-dice-ce", NS_OP_SOFTMAX_DICE_CE, run_loss, TOL (loss) },
  { "adam", NS_OP_ADAM, run_adam, TOL (adam) },
};

typedef struct
{
  char *backend_name;
  NsPrecision precision;
  double tol;
  const OpCase *op_case;
} CaseData;

static void
case_data_free (gpointer data)
{
  CaseData *cd = data;
  g_free (cd->backend_name);
  g_free (cd);
}

static NsBackend *
start_backend (const char *name, NsPrecision precision, GError **error)
{
  g_autoptr (NsBackend) be = ns_backend_new (name, error);
  if (be == NULL || !ns_backend_set_precision (be, precision, error))
    return NULL;
  return g_steal_pointer (&be);
}

static void
run_case (gconstpointer data)
{
  const CaseData *cd = data;
  g_autoptr (GError) error = NULL;
  Harness h = { 0 };

  h.be = start_backend (cd->backend_name, cd->precision, &error);
  g_assert_no_error (error);
  h.ref = ns_backend_new ("ref", &error);
  g_assert_no_error (error);
  h.rand = g_rand_new_with_seed (g_str_hash (cd->op_case->name));
  h.op = cd->op_case->name;
  h.tol = cd->tol;
  h.ok = TRUE;
  h.pairs = g_ptr_array_new ();
  g_test_message ("%s on %s (%s) against ref, tolerance %.3g", h.op, cd->backend_name,
                  ns_backend_get_device (h.be), h.tol);

  cd->op_case->run (&h);

  harness_end_config (&h);
  g_ptr_array_unref (h.pairs);
  g_free (h.cfg);
  g_rand_free (h.rand);
  ns_backend_free (h.ref);
  ns_backend_free (h.be);
  if (!h.ok)
    g_test_fail_printf ("%s on %s differs from ref beyond %.3g (see above)", cd->op_case->name,
                        cd->backend_name, cd->tol);
}

gboolean
ns_net_test_ops_register (const char *path_prefix, const char *backend_name,
                          NsPrecision precision, const NsNetTestTolerances *tol)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GString) unsupported = g_string_new (NULL);

  g_return_val_if_fail (path_prefix != NULL && backend_name != NULL && tol != NULL, FALSE);

  g_autoptr (NsBackend) be = start_backend (backend_name, precision, &error);
  if (be == NULL)
    {
      g_printerr ("backend '%s' not available: %s\n", backend_name, error->message);
      return FALSE;
    }

  for (gsize i = 0; i < G_N_ELEMENTS (op_cases); i++)
    {
      const OpCase *oc = &op_cases[i];
      if (oc->op != NS_N_OPS && !ns_backend_supports_op (be, oc->op))
        {
          g_string_append_printf (unsupported, " %s", oc->name);
          continue;
        }
      CaseData *cd = g_new0 (CaseData, 1);
      cd->backend_name = g_strdup (backend_name);
      cd->precision = precision;
      cd->tol = *(const double *) ((const char *) tol + oc->tol_offset);
      cd->op_case = oc;
      g_autofree char *path = g_strdup_printf ("%s/%s", path_prefix, oc->name);
      g_test_add_data_func_full (path, cd, run_case, case_data_free);
    }
  if (unsupported->len > 0)
    g_print ("# backend '%s' does not support (not tested):%s\n", backend_name,
             unsupported->str);
  return TRUE;
}

gboolean
ns_net_test_ops_against_ref (const char *backend_name, const NsNetTestTolerances *tol)
{
  g_autofree char *prefix = NULL;

  g_return_val_if_fail (backend_name != NULL, FALSE);
  prefix = g_strdup_printf ("/net/%s", backend_name);
  return ns_net_test_ops_register (prefix, backend_name, NS_PRECISION_FP32, tol);
}
