/* SPDX-License-Identifier: MIT
 *
 * test-net-ops.c: the `ref` backend, the oracle of every other backend, checked on its
 * own terms.
 *
 * - Gradients: every backward kernel against central finite differences of its forward
 *   kernel, both in double precision (ns-backend-ref-private.h).  The scalar is a random
 *   projection sum_i r_i out_i of the output (the loss itself for softmax-Dice-CE).  With
 *   step h = 1e-5 and inputs of order 1 the truncation error is about h^2 |f'''| / 6 ~ 1e-11
 *   and the rounding error about 1e-16 |L| / h ~ 1e-10 for |L| <= 10, so a tolerance of
 *   1e-6 on the normalised error (ns_check_tensor's measure) is tight yet safe.  Inputs
 *   stay away from kinks (relu at 0 and 6, max-pool ties) by much more than h.
 * - Hand-made cases with exact expected values: a 3x3 convolution, max-pool ties,
 *   upsample, concat, transposed convolution, batch-norm statistics, Adam, the loss, the
 *   dropout mask.
 * - The float32 API on ref: accumulate/assign semantics, views, fused activation.
 * - The backend-comparison harness run on ref against itself (exact).
 */
#define G_LOG_DOMAIN "ns-test"

#include "ns-test-util.h"
#include "ns-net-test-ops.h"
#include "ns-backend.h"
#include "ns-backend-ref-private.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#define FD_H 1e-5
#define FD_TOL 1e-6

/* ---- helpers ------------------------------------------------------------------------------- */

static GRand *
test_rand (void)
{
  return g_rand_new_with_seed (20260528);
}

static double *
random_array (GRand *rand, gsize n, double lo, double hi)
{
  double *x = g_new (double, n);
  for (gsize i = 0; i < n; i++)
    x[i] = g_rand_double_range (rand, lo, hi);
  return x;
}

static double *
nan_array (gsize n)
{
  double *x = g_new (double, n);
  for (gsize i = 0; i < n; i++)
    x[i] = NAN;
  return x;
}

static double
dot (const double *a, const double *b, gsize n)
{
  double s = 0.0;
  for (gsize i = 0; i < n; i++)
    s += a[i] * b[i];
  return s;
}

static gsize
count4 (const int s[4])
{
  return (gsize) s[0] * s[1] * s[2] * s[3];
}

/* ns_check_tensor for a double `got`: same normalised error, worst element and first
 * mismatch printed. */
static gboolean
check_double (const char *label, const double *got, const double *want, gsize n, double tol)
{
  double sum2 = 0.0, worst = 0.0;
  gsize worst_i = 0, first_bad = G_MAXSIZE, n_bad = 0;

  for (gsize i = 0; i < n; i++)
    sum2 += want[i] * want[i];
  double scale = n > 0 ? sqrt (sum2 / (double) n) : 0.0;
  if (scale == 0.0)
    scale = 1e-12;
  for (gsize i = 0; i < n; i++)
    {
      double err = fabs (got[i] - want[i]) / (fabs (want[i]) + scale);
      if (!(err <= tol))
        {
          n_bad++;
          if (first_bad == G_MAXSIZE)
            first_bad = i;
        }
      if (!(err <= worst))
        {
          worst = err;
          worst_i = i;
        }
    }
  g_test_message ("%s: %" G_GSIZE_FORMAT " values, worst error %.3g at %" G_GSIZE_FORMAT
                  " (got %.12g want %.12g)", label, n, worst, worst_i,
                  n > 0 ? got[worst_i] : 0.0, n > 0 ? want[worst_i] : 0.0);
  if (n_bad > 0)
    {
      printf ("%s: %" G_GSIZE_FORMAT " of %" G_GSIZE_FORMAT " values over tolerance %.3g; "
              "first at %" G_GSIZE_FORMAT " (got %.12g want %.12g); worst %.3g at %"
              G_GSIZE_FORMAT "\n", label, n_bad, n, tol, first_bad, got[first_bad],
              want[first_bad], worst, worst_i);
      return FALSE;
    }
  return TRUE;
}

typedef double (*ScalarFn) (gpointer ctx);

/* Central differences of f with respect to each x[j], compared with `analytic`. */
static gboolean
check_fd (const char *label, double *x, gsize n, const double *analytic, ScalarFn f,
          gpointer ctx)
{
  g_autofree double *num = g_new (double, n);

  for (gsize j = 0; j < n; j++)
    {
      const double xj = x[j];
      x[j] = xj + FD_H;
      const double fp = f (ctx);
      x[j] = xj - FD_H;
      const double fm = f (ctx);
      x[j] = xj;
      num[j] = (fp - fm) / (2.0 * FD_H);
    }
  return check_double (label, analytic, num, n, FD_TOL);
}

/* ---- finite differences: conv2d ----------------------------------------------------------- */

typedef struct
{
  int inp_shape[4], w_shape[4];
  NsConv2dParams p;
  double *inp, *w, *b, *out, *r;
  gsize n_out;
} ConvCtx;

static double
conv_scalar (gpointer data)
{
  ConvCtx *c = data;
  _ns_ref_conv2d_forward (c->out, c->inp, c->w, c->b, c->inp_shape, c->w_shape, &c->p);
  return dot (c->r, c->out, c->n_out);
}

static gboolean
conv_fd_case (GRand *rand, int N, int C, int H, int W, int K, int kh, int kw, int stride,
              int pad, int groups, gboolean with_bias)
{
  ConvCtx c = {
    .inp_shape = { N, C, H, W },
    .w_shape = { K, C / groups, kh, kw },
    .p = { .stride = stride, .pad = pad, .groups = groups },
  };
  const int Ho = (H + 2 * pad - kh) / stride + 1, Wo = (W + 2 * pad - kw) / stride + 1;
  const gsize n_in = count4 (c.inp_shape), n_w = count4 (c.w_shape);
  g_autofree char *cfg = g_strdup_printf ("conv2d N%d C%d %dx%d K%d k%dx%d s%d p%d g%d%s", N, C,
                                          H, W, K, kh, kw, stride, pad, groups,
                                          with_bias ? "" : " no-bias");
  gboolean ok = TRUE;

  c.n_out = (gsize) N * K * Ho * Wo;
  g_autofree double *inp = c.inp = random_array (rand, n_in, -1, 1);
  g_autofree double *w = c.w = random_array (rand, n_w, -1, 1);
  g_autofree double *b = c.b = with_bias ? random_array (rand, K, -1, 1) : NULL;
  g_autofree double *out = c.out = g_new (double, c.n_out);
  g_autofree double *r = c.r = random_array (rand, c.n_out, -1, 1);

  g_autofree double *dinp = nan_array (n_in);
  g_autofree double *dw = g_new0 (double, n_w);
  g_autofree double *db = g_new0 (double, K);
  _ns_ref_conv2d_backward (dinp, dw, with_bias ? db : NULL, r, inp, w, c.inp_shape, c.w_shape,
                           &c.p);

  /* Without dinp (a first layer) the weight gradient is the same. */
  g_autofree double *dw_only = g_new0 (double, n_w);
  _ns_ref_conv2d_backward (NULL, dw_only, NULL, r, inp, w, c.inp_shape, c.w_shape, &c.p);
  g_autofree char *l0 = g_strconcat (cfg, ": dweight without dinp", NULL);
  ok &= check_double (l0, dw_only, dw, n_w, 0.0);

  g_autofree char *l1 = g_strconcat (cfg, ": dinp", NULL);
  g_autofree char *l2 = g_strconcat (cfg, ": dweight", NULL);
  g_autofree char *l3 = g_strconcat (cfg, ": dbias", NULL);
  ok &= check_fd (l1, inp, n_in, dinp, conv_scalar, &c);
  ok &= check_fd (l2, w, n_w, dw, conv_scalar, &c);
  if (with_bias)
    ok &= check_fd (l3, b, K, db, conv_scalar, &c);
  return ok;
}

static void
test_fd_conv2d (void)
{
  g_autoptr (GRand) rand = test_rand ();
  gboolean ok = TRUE;

  ok &= conv_fd_case (rand, 2, 3, 5, 4, 2, 3, 3, 1, 1, 1, TRUE);
  ok &= conv_fd_case (rand, 1, 2, 7, 5, 3, 3, 3, 2, 1, 1, TRUE);   /* stride 2, odd sizes */
  ok &= conv_fd_case (rand, 2, 3, 4, 5, 4, 1, 1, 1, 0, 1, FALSE);  /* pointwise */
  ok &= conv_fd_case (rand, 1, 2, 6, 5, 2, 2, 2, 2, 0, 1, TRUE);   /* 2x2 stride 2 */
  ok &= conv_fd_case (rand, 3, 4, 5, 5, 4, 3, 3, 2, 1, 4, TRUE);   /* depthwise stride 2 */
  ok &= conv_fd_case (rand, 1, 3, 5, 6, 3, 3, 3, 1, 1, 3, FALSE);  /* depthwise */
  ok &= conv_fd_case (rand, 1, 4, 5, 4, 6, 3, 3, 1, 0, 2, TRUE);   /* 2 groups, pad 0 */
  ok &= conv_fd_case (rand, 1, 2, 7, 6, 2, 5, 3, 2, 2, 1, TRUE);   /* 5x3 kernel, pad 2 */
  ok &= conv_fd_case (rand, 2, 1, 3, 3, 1, 3, 3, 1, 0, 1, TRUE);   /* a single output */
  ok &= conv_fd_case (rand, 1, 2, 3, 1, 2, 3, 3, 1, 1, 1, TRUE);   /* 1 column: taps in padding */
  ok &= conv_fd_case (rand, 2, 1, 4, 2, 1, 3, 3, 2, 1, 1, TRUE);   /* 2x2 output, stride 2 */
  g_assert_true (ok);
}

/* ---- finite differences: batchnorm --------------------------------------------------------- */

typedef struct
{
  int shape[4];
  double *inp, *gamma, *beta, *out, *r, *rm, *rv, *sm, *si;
  gsize n;
} BnCtx;

static double
bn_scalar (gpointer data)
{
  BnCtx *c = data;
  for (int i = 0; i < c->shape[1]; i++)
    c->rm[i] = 0.0, c->rv[i] = 1.0;
  _ns_ref_batchnorm_forward (c->out, c->sm, c->si, c->inp, c->gamma, c->beta, c->rm, c->rv,
                             TRUE, 0.1, 1e-5, c->shape);
  return dot (c->r, c->out, c->n);
}

static gboolean
bn_fd_case (GRand *rand, int N, int C, int H, int W)
{
  BnCtx c = { .shape = { N, C, H, W } };
  g_autofree char *cfg = g_strdup_printf ("batchnorm N%d C%d %dx%d", N, C, H, W);
  gboolean ok = TRUE;

  c.n = count4 (c.shape);
  g_autofree double *inp = c.inp = random_array (rand, c.n, -1, 2);
  g_autofree double *gamma = c.gamma = random_array (rand, C, 0.5, 1.5);
  g_autofree double *beta = c.beta = random_array (rand, C, -0.5, 0.5);
  g_autofree double *out = c.out = g_new (double, c.n);
  g_autofree double *r = c.r = random_array (rand, c.n, -1, 1);
  g_autofree double *rm = c.rm = g_new (double, C), *rv = c.rv = g_new (double, C);
  g_autofree double *sm = c.sm = g_new (double, C), *si = c.si = g_new (double, C);

  bn_scalar (&c);
  g_autofree double *dinp = nan_array (c.n);
  g_autofree double *dgamma = g_new0 (double, C), *dbeta = g_new0 (double, C);
  _ns_ref_batchnorm_backward (dinp, dgamma, dbeta, r, inp, sm, si, gamma, c.shape);

  g_autofree double *dgamma_only = g_new0 (double, C);
  _ns_ref_batchnorm_backward (NULL, dgamma_only, NULL, r, inp, sm, si, gamma, c.shape);
  g_autofree char *l0 = g_strconcat (cfg, ": dgamma without dinp", NULL);
  ok &= check_double (l0, dgamma_only, dgamma, C, 0.0);

  g_autofree char *l1 = g_strconcat (cfg, ": dinp", NULL);
  g_autofree char *l2 = g_strconcat (cfg, ": dgamma", NULL);
  g_autofree char *l3 = g_strconcat (cfg, ": dbeta", NULL);
  ok &= check_fd (l1, inp, c.n, dinp, bn_scalar, &c);
  ok &= check_fd (l2, gamma, C, dgamma, bn_scalar, &c);
  ok &= check_fd (l3, beta, C, dbeta, bn_scalar, &c);
  return ok;
}

static void
test_fd_batchnorm (void)
{
  g_autoptr (GRand) rand = test_rand ();
  gboolean ok = TRUE;

  ok &= bn_fd_case (rand, 2, 3, 3, 4);
  ok &= bn_fd_case (rand, 1, 2, 5, 3);
  ok &= bn_fd_case (rand, 3, 1, 1, 1);   /* three values per channel */
  g_assert_true (ok);
}

/* ---- finite differences: element-wise and data movement ------------------------------------ */

typedef struct
{
  int shape[4], shape_b[4];
  NsActivation act;
  float p;
  guint64 seed;
  double *x, *x2, *out, *r, *mask;
  gsize n_out;
  int which;
} SimpleCtx;

enum
{
  OP_RELU,
  OP_MAXPOOL,
  OP_UPSAMPLE,
  OP_CONCAT,
  OP_ADD,
  OP_DROPOUT,
};

static double
simple_scalar (gpointer data)
{
  SimpleCtx *c = data;
  switch (c->which)
    {
    case OP_RELU:
      _ns_ref_relu_forward (c->out, c->x, c->act, c->n_out);
      break;
    case OP_MAXPOOL:
      _ns_ref_maxpool2_forward (c->out, c->x, c->shape);
      break;
    case OP_UPSAMPLE:
      _ns_ref_upsample2_forward (c->out, c->x, c->shape);
      break;
    case OP_CONCAT:
      _ns_ref_concat_forward (c->out, c->x, c->x2, c->shape, c->shape_b[1]);
      break;
    case OP_ADD:
      _ns_ref_add_forward (c->out, c->x, c->x2, c->n_out);
      break;
    case OP_DROPOUT:
      _ns_ref_dropout_forward (c->out, c->mask, c->x, c->p, c->seed, TRUE, c->n_out);
      break;
    default:
      g_assert_not_reached ();
    }
  return dot (c->r, c->out, c->n_out);
}

static void
test_fd_relu (void)
{
  g_autoptr (GRand) rand = test_rand ();
  gboolean ok = TRUE;

  for (int a = 0; a < 2; a++)
    {
      SimpleCtx c = { .shape = { 2, 3, 4, 5 }, .act = a == 0 ? NS_ACT_RELU : NS_ACT_RELU6,
                      .which = OP_RELU };
      c.n_out = count4 (c.shape);
      g_autofree double *x = c.x = random_array (rand, c.n_out, -3, 9);
      for (gsize i = 0; i < c.n_out; i++)   /* away from the kinks at 0 and 6 */
        if (fabs (x[i]) < 1e-3 || fabs (x[i] - 6.0) < 1e-3)
          x[i] += 0.01;
      g_autofree double *out = c.out = g_new (double, c.n_out);
      g_autofree double *r = c.r = random_array (rand, c.n_out, -1, 1);
      g_autofree double *dx = nan_array (c.n_out);
      simple_scalar (&c);
      _ns_ref_relu_backward (dx, r, out, c.act, c.n_out);
      ok &= check_fd (a == 0 ? "relu: dinp" : "relu6: dinp", x, c.n_out, dx, simple_scalar, &c);
    }
  g_assert_true (ok);
}

static void
test_fd_maxpool2 (void)
{
  g_autoptr (GRand) rand = test_rand ();
  SimpleCtx c = { .shape = { 2, 3, 6, 4 }, .which = OP_MAXPOOL };
  const gsize n = count4 (c.shape);

  c.n_out = n / 4;
  /* A random permutation of well separated values: no ties within 2 h. */
  g_autofree double *x = c.x = g_new (double, n);
  for (gsize i = 0; i < n; i++)
    x[i] = (double) i / n * 4.0 - 2.0;
  for (gsize i = n - 1; i > 0; i--)
    {
      gsize j = g_rand_int_range (rand, 0, (gint32) i + 1);
      double t = x[i];
      x[i] = x[j];
      x[j] = t;
    }
  g_autofree double *out = c.out = g_new (double, c.n_out);
  g_autofree double *r = c.r = random_array (rand, c.n_out, -1, 1);
  g_autofree double *dx = nan_array (n);
  _ns_ref_maxpool2_backward (dx, r, x, c.shape);
  g_assert_true (check_fd ("maxpool2: dinp", x, n, dx, simple_scalar, &c));
}

static void
test_fd_upsample2 (void)
{
  g_autoptr (GRand) rand = test_rand ();
  SimpleCtx c = { .shape = { 2, 2, 3, 5 }, .which = OP_UPSAMPLE };
  const gsize n = count4 (c.shape);

  c.n_out = 4 * n;
  g_autofree double *x = c.x = random_array (rand, n, -1, 1);
  g_autofree double *out = c.out = g_new (double, c.n_out);
  g_autofree double *r = c.r = random_array (rand, c.n_out, -1, 1);
  g_autofree double *dx = nan_array (n);
  _ns_ref_upsample2_backward (dx, r, c.shape);
  g_assert_true (check_fd ("upsample2: dinp", x, n, dx, simple_scalar, &c));
}

static void
test_fd_concat_add (void)
{
  g_autoptr (GRand) rand = test_rand ();
  gboolean ok = TRUE;

  {
    SimpleCtx c = { .shape = { 2, 2, 3, 3 }, .shape_b = { 2, 3, 3, 3 }, .which = OP_CONCAT };
    const gsize na = count4 (c.shape), nb = count4 (c.shape_b);
    c.n_out = na + nb;
    g_autofree double *a = c.x = random_array (rand, na, -1, 1);
    g_autofree double *b = c.x2 = random_array (rand, nb, -1, 1);
    g_autofree double *out = c.out = g_new (double, c.n_out);
    g_autofree double *r = c.r = random_array (rand, c.n_out, -1, 1);
    g_autofree double *da = nan_array (na), *db = nan_array (nb);
    _ns_ref_concat_backward (da, db, r, c.shape, c.shape_b[1]);
    ok &= check_fd ("concat: da", a, na, da, simple_scalar, &c);
    ok &= check_fd ("concat: db", b, nb, db, simple_scalar, &c);
  }
  {
    /* The backward of a sum is the identity: the gradient of r . (a + b) is r. */
    SimpleCtx c = { .shape = { 1, 3, 4, 2 }, .which = OP_ADD };
    c.n_out = count4 (c.shape);
    g_autofree double *a = c.x = random_array (rand, c.n_out, -1, 1);
    g_autofree double *b = c.x2 = random_array (rand, c.n_out, -1, 1);
    g_autofree double *out = c.out = g_new (double, c.n_out);
    g_autofree double *r = c.r = random_array (rand, c.n_out, -1, 1);
    ok &= check_fd ("add: da", a, c.n_out, r, simple_scalar, &c);
    ok &= check_fd ("add: db", b, c.n_out, r, simple_scalar, &c);
  }
  g_assert_true (ok);
}

static void
test_fd_dropout (void)
{
  g_autoptr (GRand) rand = test_rand ();
  SimpleCtx c = { .shape = { 2, 3, 4, 4 }, .which = OP_DROPOUT, .p = 0.4f, .seed = 77 };

  c.n_out = count4 (c.shape);
  g_autofree double *x = c.x = random_array (rand, c.n_out, -1, 1);
  g_autofree double *out = c.out = g_new (double, c.n_out);
  g_autofree double *mask = c.mask = g_new (double, c.n_out);
  g_autofree double *r = c.r = random_array (rand, c.n_out, -1, 1);
  g_autofree double *dx = nan_array (c.n_out);
  simple_scalar (&c);
  _ns_ref_dropout_backward (dx, r, mask, c.n_out);
  g_assert_true (check_fd ("dropout: dinp", x, c.n_out, dx, simple_scalar, &c));
}

/* ---- finite differences: convt2 ------------------------------------------------------------ */

typedef struct
{
  int shape[4], K;
  double *inp, *w, *b, *out, *r;
  gsize n_out;
} ConvtCtx;

static double
convt_scalar (gpointer data)
{
  ConvtCtx *c = data;
  _ns_ref_convt2_forward (c->out, c->inp, c->w, c->b, c->shape, c->K);
  return dot (c->r, c->out, c->n_out);
}

static void
test_fd_convt2 (void)
{
  g_autoptr (GRand) rand = test_rand ();
  ConvtCtx c = { .shape = { 2, 3, 3, 4 }, .K = 2 };
  const gsize n_in = count4 (c.shape), n_w = (gsize) 3 * 2 * 4;
  gboolean ok = TRUE;

  c.n_out = (gsize) 2 * c.K * 6 * 8;
  g_autofree double *inp = c.inp = random_array (rand, n_in, -1, 1);
  g_autofree double *w = c.w = random_array (rand, n_w, -1, 1);
  g_autofree double *b = c.b = random_array (rand, c.K, -1, 1);
  g_autofree double *out = c.out = g_new (double, c.n_out);
  g_autofree double *r = c.r = random_array (rand, c.n_out, -1, 1);
  g_autofree double *dinp = nan_array (n_in);
  g_autofree double *dw = g_new0 (double, n_w), *db = g_new0 (double, c.K);
  _ns_ref_convt2_backward (dinp, dw, db, r, inp, w, c.shape, c.K);
  ok &= check_fd ("convt2: dinp", inp, n_in, dinp, convt_scalar, &c);
  ok &= check_fd ("convt2: dweight", w, n_w, dw, convt_scalar, &c);
  ok &= check_fd ("convt2: dbias", b, c.K, db, convt_scalar, &c);
  g_assert_true (ok);
}

/* ---- finite differences: softmax + Dice + CE ----------------------------------------------- */

typedef struct
{
  int shape[4];
  double *logits, *labels, *probs;
} LossCtx;

static double
loss_scalar (gpointer data)
{
  LossCtx *c = data;
  return _ns_ref_softmax_dice_ce_forward (c->probs, c->logits, c->labels, c->shape);
}

static gboolean
loss_fd_case (GRand *rand, int N, int K, int H, int W, int max_label, double spread)
{
  LossCtx c = { .shape = { N, K, H, W } };
  const gsize n = count4 (c.shape), n_px = (gsize) N * H * W;
  g_autofree char *label = g_strdup_printf ("softmax-dice-ce N%d K%d %dx%d labels 0..%d logits "
                                            "+-%g: dlogits", N, K, H, W, max_label, spread);

  g_autofree double *logits = c.logits = random_array (rand, n, -spread, spread);
  g_autofree double *labels = c.labels = g_new (double, n_px);
  g_autofree double *probs = c.probs = g_new (double, n);
  for (gsize i = 0; i < n_px; i++)
    labels[i] = g_rand_int_range (rand, 0, max_label + 1);
  g_autofree double *dz = nan_array (n);
  loss_scalar (&c);
  _ns_ref_softmax_dice_ce_backward (dz, probs, labels, c.shape);
  return check_fd (label, logits, n, dz, loss_scalar, &c);
}

static void
test_fd_loss (void)
{
  g_autoptr (GRand) rand = test_rand ();
  gboolean ok = TRUE;

  ok &= loss_fd_case (rand, 2, 4, 3, 3, 3, 2.0);
  ok &= loss_fd_case (rand, 1, 3, 4, 5, 1, 3.0);   /* class 2 absent */
  ok &= loss_fd_case (rand, 2, 2, 2, 3, 1, 1.0);   /* background + one class */
  ok &= loss_fd_case (rand, 1, 5, 3, 2, 4, 8.0);   /* confident logits */
  g_assert_true (ok);
}

/* ---- hand-made cases ----------------------------------------------------------------------- */

static NsBackend *
ref_backend (void)
{
  g_autoptr (GError) error = NULL;
  NsBackend *be = ns_backend_new ("ref", &error);
  g_assert_no_error (error);
  return be;
}

static NsTensor *
tensor_from (NsBackend *be, int n, int c, int h, int w, const float *data)
{
  g_autoptr (GError) error = NULL;
  NsTensor *t = ns_tensor_new (be, n, c, h, w, &error);
  g_assert_no_error (error);
  if (data != NULL)
    ns_tensor_upload (t, data);
  else
    ns_tensor_fill (t, NAN);
  return t;
}

static void
assert_tensor (NsTensor *t, const float *want, double tol)
{
  gsize n = ns_tensor_n_elements (t);
  g_autofree float *got = g_new (float, n);
  g_autofree double *wd = g_new (double, n);
  ns_tensor_download (t, got);
  for (gsize i = 0; i < n; i++)
    {
      wd[i] = want[i];
      if (tol == 0.0 && got[i] != want[i])
        g_error ("element %" G_GSIZE_FORMAT ": got %.9g want %.9g", i, got[i], want[i]);
    }
  g_assert_true (ns_check_tensor ("hand case", got, wd, n, tol));
}

static void
test_hand_conv2d (void)
{
  g_autoptr (NsBackend) be = ref_backend ();
  /* Image 1..9; the kernel picks the upper-left and (twice) the lower-right neighbour,
   * which tells a correlation from a flipped convolution:
   *   out[y,x] = in[y-1,x-1] + 2 in[y+1,x+1] + 0.5. */
  const float img[9] = { 1, 2, 3, 4, 5, 6, 7, 8, 9 };
  const float ker[9] = { 1, 0, 0, 0, 0, 0, 0, 0, 2 };
  const float bias[1] = { 0.5f };
  const float want1[9] = { 10.5f, 12.5f, 0.5f, 16.5f, 19.5f, 2.5f, 0.5f, 4.5f, 5.5f };
  const float want2[4] = { 10.5f, 0.5f, 0.5f, 5.5f };   /* stride 2: rows/cols 0 and 2 */
  g_autoptr (NsTensor) x = tensor_from (be, 1, 1, 3, 3, img);
  g_autoptr (NsTensor) w = tensor_from (be, 1, 1, 3, 3, ker);
  g_autoptr (NsTensor) b = tensor_from (be, 1, 1, 1, 1, bias);
  g_autoptr (NsTensor) out1 = tensor_from (be, 1, 1, 3, 3, NULL);
  g_autoptr (NsTensor) out2 = tensor_from (be, 1, 1, 2, 2, NULL);
  NsConv2dParams p = { .stride = 1, .pad = 1, .groups = 1 };

  ns_conv2d_forward (out1, x, w, b, &p);
  assert_tensor (out1, want1, 0.0);
  p.stride = 2;
  ns_conv2d_forward (out2, x, w, b, &p);
  assert_tensor (out2, want2, 0.0);

  /* dout = 1 everywhere (stride 1): dweight[ky,kx] sums the input window shifted by
   * (ky-1, kx-1): corners 1+2+4+5 = 12, 5+6+8+9 = 28, centre 45; dbias = 9; dinp[y,x]
   * sums the taps that reach it: 1 from out[y+1,x+1] (when inside), 2 from out[y-1,x-1]. */
  const float ones[9] = { 1, 1, 1, 1, 1, 1, 1, 1, 1 };
  const float want_dw[9] = { 12, 21, 16, 27, 45, 33, 24, 39, 28 };
  const float want_db[1] = { 9 };
  const float want_dx[9] = { 1, 1, 0, 1, 3, 2, 0, 2, 2 };
  g_autoptr (NsTensor) dout = tensor_from (be, 1, 1, 3, 3, ones);
  g_autoptr (NsTensor) dx = tensor_from (be, 1, 1, 3, 3, NULL);
  g_autoptr (NsTensor) dw = tensor_from (be, 1, 1, 3, 3, NULL);
  g_autoptr (NsTensor) db = tensor_from (be, 1, 1, 1, 1, NULL);
  ns_tensor_fill (dw, 0.0f);
  ns_tensor_fill (db, 0.0f);
  p.stride = 1;
  ns_conv2d_backward (dx, dw, db, dout, x, w, &p);
  assert_tensor (dw, want_dw, 0.0);
  assert_tensor (db, want_db, 0.0);
  assert_tensor (dx, want_dx, 0.0);
}

static void
test_hand_maxpool_ties (void)
{
  g_autoptr (NsBackend) be = ref_backend ();
  /* Window 1: 1 1 / 1 0, three-way tie: the gradient goes to (0,0).
   * Window 2: 0 2 / 2 1, tie between (0,3) and (1,2): row-major picks (0,3). */
  const float x[8] = { 1, 1, 0, 2,
                       1, 0, 2, 1 };
  const float want_out[2] = { 1, 2 };
  const float d[2] = { 3, 5 };
  const float want_dx[8] = { 3, 0, 0, 5,
                             0, 0, 0, 0 };
  g_autoptr (NsTensor) inp = tensor_from (be, 1, 1, 2, 4, x);
  g_autoptr (NsTensor) out = tensor_from (be, 1, 1, 1, 2, NULL);
  g_autoptr (NsTensor) dout = tensor_from (be, 1, 1, 1, 2, d);
  g_autoptr (NsTensor) dinp = tensor_from (be, 1, 1, 2, 4, NULL);

  ns_maxpool2_forward (out, inp);
  assert_tensor (out, want_out, 0.0);
  ns_maxpool2_backward (dinp, dout, inp, out);
  assert_tensor (dinp, want_dx, 0.0);
}

static void
test_hand_upsample (void)
{
  g_autoptr (NsBackend) be = ref_backend ();
  const float x[4] = { 1, 2, 3, 4 };
  const float want[16] = { 1, 1, 2, 2,
                           1, 1, 2, 2,
                           3, 3, 4, 4,
                           3, 3, 4, 4 };
  float d[16];
  for (int i = 0; i < 16; i++)
    d[i] = i;
  /* Each 2x2 block of 0..15 summed: 0+1+4+5, 2+3+6+7, 8+9+12+13, 10+11+14+15. */
  const float want_dx[4] = { 10, 18, 42, 50 };
  g_autoptr (NsTensor) inp = tensor_from (be, 1, 1, 2, 2, x);
  g_autoptr (NsTensor) out = tensor_from (be, 1, 1, 4, 4, NULL);
  g_autoptr (NsTensor) dout = tensor_from (be, 1, 1, 4, 4, d);
  g_autoptr (NsTensor) dinp = tensor_from (be, 1, 1, 2, 2, NULL);

  ns_upsample2_forward (out, inp);
  assert_tensor (out, want, 0.0);
  ns_upsample2_backward (dinp, dout);
  assert_tensor (dinp, want_dx, 0.0);
}

static void
test_hand_concat (void)
{
  g_autoptr (NsBackend) be = ref_backend ();
  /* N = 2: a has 1 channel, b 2 channels, 1x2 pixels; batch items stay apart. */
  const float a[4] = { 1, 2, /* n1 */ 3, 4 };
  const float b[8] = { 10, 11, 12, 13, /* n1 */ 14, 15, 16, 17 };
  const float want[12] = { 1, 2, 10, 11, 12, 13, /* n1 */ 3, 4, 14, 15, 16, 17 };
  g_autoptr (NsTensor) ta = tensor_from (be, 2, 1, 1, 2, a);
  g_autoptr (NsTensor) tb = tensor_from (be, 2, 2, 1, 2, b);
  g_autoptr (NsTensor) out = tensor_from (be, 2, 3, 1, 2, NULL);
  g_autoptr (NsTensor) da = tensor_from (be, 2, 1, 1, 2, NULL);
  g_autoptr (NsTensor) db = tensor_from (be, 2, 2, 1, 2, NULL);

  ns_concat_forward (out, ta, tb);
  assert_tensor (out, want, 0.0);
  ns_concat_backward (da, db, out);
  assert_tensor (da, a, 0.0);
  assert_tensor (db, b, 0.0);
  ns_tensor_fill (db, NAN);
  ns_concat_backward (NULL, db, out);
  assert_tensor (db, b, 0.0);
}

static void
test_hand_convt2 (void)
{
  g_autoptr (NsBackend) be = ref_backend ();
  /* One pixel with channels (1, 2); weight (C 2, K 1, 2, 2): each input pixel paints
   * its 2x2 block: 1 (1 2 3 4) + 2 (10 20 30 40) + 0.5. */
  const float x[2] = { 1, 2 };
  const float w[8] = { 1, 2, 3, 4, 10, 20, 30, 40 };
  const float bias[1] = { 0.5f };
  const float want[4] = { 21.5f, 42.5f, 63.5f, 84.5f };
  /* dout (1 0 / 0 1): dinp_c = w[c,0,0,0] + w[c,0,1,1]; dweight = x_c dout. */
  const float d[4] = { 1, 0, 0, 1 };
  const float want_dx[2] = { 5, 50 };
  const float want_dw[8] = { 1, 0, 0, 1, 2, 0, 0, 2 };
  const float want_db[1] = { 2 };
  g_autoptr (NsTensor) inp = tensor_from (be, 1, 2, 1, 1, x);
  g_autoptr (NsTensor) tw = tensor_from (be, 2, 1, 2, 2, w);
  g_autoptr (NsTensor) tb = tensor_from (be, 1, 1, 1, 1, bias);
  g_autoptr (NsTensor) out = tensor_from (be, 1, 1, 2, 2, NULL);
  g_autoptr (NsTensor) dout = tensor_from (be, 1, 1, 2, 2, d);
  g_autoptr (NsTensor) dx = tensor_from (be, 1, 2, 1, 1, NULL);
  g_autoptr (NsTensor) dw = tensor_from (be, 2, 1, 2, 2, NULL);
  g_autoptr (NsTensor) db = tensor_from (be, 1, 1, 1, 1, NULL);

  ns_convt2_forward (out, inp, tw, tb);
  assert_tensor (out, want, 0.0);
  ns_tensor_fill (dw, 0.0f);
  ns_tensor_fill (db, 0.0f);
  ns_convt2_backward (dx, dw, db, dout, inp, tw);
  assert_tensor (dx, want_dx, 0.0);
  assert_tensor (dw, want_dw, 0.0);
  assert_tensor (db, want_db, 0.0);
}

static void
test_hand_batchnorm (void)
{
  g_autoptr (NsBackend) be = ref_backend ();
  /* One channel, N = 2, 1x2: values 1 2 | 3 4, mean 2.5, biased variance 1.25,
   * unbiased 5/3.  gamma 2, beta 1, eps 1e-5: out = 2 (x - 2.5) / sqrt (1.25 + 1e-5) + 1.
   * Running stats from (0, 1) with momentum 0.1: 0.25 and 0.9 + 0.1 * 5/3. */
  const float x[4] = { 1, 2, 3, 4 };
  const double invstd = 1.0 / sqrt (1.25 + 1e-5);
  float want[4], want_inf[4];
  for (int i = 0; i < 4; i++)
    want[i] = (float) (2.0 * (x[i] - 2.5) * invstd + 1.0);
  const float g = 2, bt = 1, zero = 0, one = 1;
  g_autoptr (NsTensor) inp = tensor_from (be, 2, 1, 1, 2, x);
  g_autoptr (NsTensor) gamma = tensor_from (be, 1, 1, 1, 1, &g);
  g_autoptr (NsTensor) beta = tensor_from (be, 1, 1, 1, 1, &bt);
  g_autoptr (NsTensor) rm = tensor_from (be, 1, 1, 1, 1, &zero);
  g_autoptr (NsTensor) rv = tensor_from (be, 1, 1, 1, 1, &one);
  g_autoptr (NsTensor) sm = tensor_from (be, 1, 1, 1, 1, NULL);
  g_autoptr (NsTensor) si = tensor_from (be, 1, 1, 1, 1, NULL);
  g_autoptr (NsTensor) out = tensor_from (be, 2, 1, 1, 2, NULL);

  ns_batchnorm_forward (out, sm, si, inp, gamma, beta, rm, rv, TRUE, 0.1f, 1e-5f);
  assert_tensor (out, want, 1e-7);
  const float want_sm = 2.5f, want_si = (float) invstd;
  const float want_rm = 0.25f, want_rv = (float) (0.9 + 0.1 * 5.0 / 3.0);
  assert_tensor (sm, &want_sm, 0.0);
  assert_tensor (si, &want_si, 1e-7);
  assert_tensor (rm, &want_rm, 1e-7);
  assert_tensor (rv, &want_rv, 1e-7);

  /* Inference uses the running statistics and leaves them alone. */
  for (int i = 0; i < 4; i++)
    want_inf[i] = (float) (2.0 * (x[i] - 0.25) / sqrt (want_rv + 1e-5) + 1.0);
  ns_batchnorm_forward (out, NULL, NULL, inp, gamma, beta, rm, rv, FALSE, 0.1f, 1e-5f);
  assert_tensor (out, want_inf, 1e-6);
  assert_tensor (rm, &want_rm, 1e-7);
}

static void
test_hand_adam (void)
{
  g_autoptr (NsBackend) be = ref_backend ();
  g_autoptr (NsTensor) params = tensor_from (be, 2, 1, 1, 1, (const float[]) { 1, 1 });
  g_autoptr (NsTensor) grads = tensor_from (be, 2, 1, 1, 1, (const float[]) { 0.5f, 0.5f });
  g_autoptr (NsTensor) m = tensor_from (be, 2, 1, 1, 1, NULL);
  g_autoptr (NsTensor) v = tensor_from (be, 2, 1, 1, 1, NULL);
  NsTensor *views[2][4];
  NsAdamParams p = { .lr = 0.1f, .beta1 = 0.9f, .beta2 = 0.999f, .eps = 1e-8f };

  /* Element 0 without weight decay, element 1 with 0.01, each through views.
   * Step 1, g = 0.5: m = 0.05, v = 0.00025, mhat = 0.5, vhat = 0.25,
   *   update = 0.5 / (0.5 + 1e-8) = 0.99999998: 1 - 0.1 * 0.99999998 = 0.900000002;
   *   with decay: 1 - 0.1 (0.99999998 + 0.01 * 1) = 0.899000002.
   * Step 2, g = -0.2: m = 0.045 - 0.02 = 0.025, v = 0.00024975 + 0.00004 = 0.00028975,
   *   mhat = 0.025 / 0.19 = 0.131578947, vhat = 0.00028975 / 0.001999 = 0.144947474,
   *   update = 0.131578947 / 0.380720... = 0.345605...: 0.9 - 0.0345605... = 0.865439418;
   *   with decay: 0.899000002 - 0.1 (0.345605... + 0.00899000002) = 0.863540418.
   * The betas reach the op as float: 0.999f = 0.99900001, which makes v 1.3e-5 (relative)
   * smaller than the decimal hand value, hence v's looser tolerance. */
  ns_tensor_fill (m, 0.0f);
  ns_tensor_fill (v, 0.0f);
  for (int e = 0; e < 2; e++)
    {
      views[e][0] = ns_tensor_new_view (params, e, 1, 1, 1, 1);
      views[e][1] = ns_tensor_new_view (grads, e, 1, 1, 1, 1);
      views[e][2] = ns_tensor_new_view (m, e, 1, 1, 1, 1);
      views[e][3] = ns_tensor_new_view (v, e, 1, 1, 1, 1);
    }
  for (p.step = 1; p.step <= 2; p.step++)
    {
      if (p.step == 2)
        ns_tensor_fill (grads, -0.2f);
      for (int e = 0; e < 2; e++)
        {
          p.weight_decay = e == 0 ? 0.0f : 0.01f;
          ns_adam_update (views[e][0], views[e][1], views[e][2], views[e][3], &p);
        }
      if (p.step == 1)
        {
          assert_tensor (params, (const float[]) { 0.900000002f, 0.899000002f }, 1e-7);
          assert_tensor (m, (const float[]) { 0.05f, 0.05f }, 1e-6);
          assert_tensor (v, (const float[]) { 0.00025f, 0.00025f }, 2e-5);
        }
    }
  assert_tensor (params, (const float[]) { 0.865439418f, 0.863540418f }, 1e-7);
  assert_tensor (m, (const float[]) { 0.025f, 0.025f }, 1e-6);
  assert_tensor (v, (const float[]) { 0.00028975f, 0.00028975f }, 2e-5);
  for (int e = 0; e < 2; e++)
    for (int j = 0; j < 4; j++)
      ns_tensor_free (views[e][j]);
}

static void
test_hand_loss (void)
{
  g_autoptr (NsBackend) be = ref_backend ();
  /* N 1, K 2, 1x2 pixels, logits 0: p = 0.5 everywhere; labels (1, 0).
   * CE = -log 0.5 = ln 2.  Dice (class 1 only): I = 0.5, S = 1, G = 1,
   * (2 0.5 + 1) / (1 + 1 + 1) = 2/3, so Dice = 1/3 and the loss is ln 2 + 1/3.
   * Gradient: CE gives (p - y) / 2 = +-1/4.  Dice: D = 3, g_i1 = -(2 y D - (2 I + 1)) / D^2
   * = -4/9 (y = 1) or 2/9 (y = 0), g_i0 = 0; through the softmax
   * dz_ij = p_ij (g_ij - sum_k p_ik g_ik): pixel 0: (1/9, -1/9), pixel 1: (-1/18, 1/18). */
  const float logits[4] = { 0, 0, 0, 0 };
  const float labels[2] = { 1, 0 };
  const float want_probs[4] = { 0.5f, 0.5f, 0.5f, 0.5f };
  /* Layout (k, x): class 0 at pixels 0, 1, then class 1. */
  const float want_dz[4] = { (float) (0.25 + 1.0 / 9), (float) (-0.25 - 1.0 / 18),
                             (float) (-0.25 - 1.0 / 9), (float) (0.25 + 1.0 / 18) };
  g_autoptr (NsTensor) z = tensor_from (be, 1, 2, 1, 2, logits);
  g_autoptr (NsTensor) y = tensor_from (be, 1, 1, 1, 2, labels);
  g_autoptr (NsTensor) probs = tensor_from (be, 1, 2, 1, 2, NULL);
  g_autoptr (NsTensor) dz = tensor_from (be, 1, 2, 1, 2, NULL);

  float loss = ns_softmax_dice_ce_forward (probs, z, y);
  g_assert_cmpfloat_with_epsilon (loss, log (2.0) + 1.0 / 3.0, 1e-6);
  assert_tensor (probs, want_probs, 0.0);
  ns_softmax_dice_ce_backward (dz, probs, y);
  assert_tensor (dz, want_dz, 1e-7);

  /* A confident, correct prediction: CE -> 0 and every Dice ratio -> 1. */
  const float sure[4] = { -30, 30, 30, -30 };
  ns_tensor_upload (z, sure);
  loss = ns_softmax_dice_ce_forward (probs, z, y);
  g_assert_cmpfloat (loss, >=, 0.0f);
  g_assert_cmpfloat (loss, <, 1e-6f);
  /* Confidently wrong: CE about 60 per pixel, Dice (0 + 1) / (1 + 1 + 1) = 1/3 -> 2/3. */
  const float wrong[4] = { 30, -30, -30, 30 };
  ns_tensor_upload (z, wrong);
  loss = ns_softmax_dice_ce_forward (probs, z, y);
  g_assert_cmpfloat_with_epsilon (loss, 60.0 + 2.0 / 3.0, 1e-4);

  /* Softmax alone: rows sum to 1 and ratios follow exp differences. */
  const float three[3] = { 1, 2, 4 };
  g_autoptr (NsTensor) z3 = tensor_from (be, 1, 3, 1, 1, three);
  g_autoptr (NsTensor) p3 = tensor_from (be, 1, 3, 1, 1, NULL);
  const double s = exp (1) + exp (2) + exp (4);
  const float want3[3] = { (float) (exp (1) / s), (float) (exp (2) / s), (float) (exp (4) / s) };
  ns_softmax_forward (p3, z3);
  assert_tensor (p3, want3, 1e-7);
}

static void
test_dropout_mask (void)
{
  g_autoptr (NsBackend) be = ref_backend ();
  g_autoptr (GError) error = NULL;
  const int n = 200000;
  const float p = 0.3f, scale = 1.0f / (1.0f - p);
  g_autoptr (NsTensor) inp = ns_tensor_new (be, 2, 4, 125, 200, &error);
  g_assert_no_error (error);
  g_autoptr (NsTensor) out = tensor_from (be, 2, 4, 125, 200, NULL);
  g_autoptr (NsTensor) mask = tensor_from (be, 2, 4, 125, 200, NULL);
  g_autoptr (NsTensor) mask2 = tensor_from (be, 2, 4, 125, 200, NULL);
  g_autofree float *x = g_new (float, n), *o = g_new (float, n);
  g_autofree float *m1 = g_new (float, n), *m2 = g_new (float, n);

  for (int i = 0; i < n; i++)
    x[i] = 1.0f + (i % 7);
  ns_tensor_upload (inp, x);
  ns_dropout_forward (out, mask, inp, p, 42, TRUE);
  ns_tensor_download (out, o);
  ns_tensor_download (mask, m1);

  /* Kept fraction 1 - p within 5 standard deviations (sqrt (p (1 - p) / n) = 0.001). */
  int kept = 0;
  for (int i = 0; i < n; i++)
    {
      g_assert_true (m1[i] == 0.0f || fabsf (m1[i] - scale) <= 1e-6f * scale);
      g_assert_cmpfloat (fabsf (o[i] - x[i] * m1[i]), <=, 1e-6f * fabsf (o[i]));
      /* The mask is the documented draw of ns_random_uniform, element by element. */
      g_assert_cmpint (m1[i] != 0.0f, ==, ns_random_uniform (42, i) >= p);
      kept += m1[i] != 0.0f;
    }
  g_test_message ("kept %d of %d (expected %.0f)", kept, n, n * (1.0 - p));
  g_assert_cmpfloat (fabs ((double) kept / n - (1.0 - p)), <, 5 * sqrt (p * (1 - p) / n));

  /* Same seed, same mask; another seed, a different one (about 42 % of elements differ). */
  ns_dropout_forward (out, mask2, inp, p, 42, TRUE);
  ns_tensor_download (mask2, m2);
  g_assert_cmpmem (m1, n * sizeof (float), m2, n * sizeof (float));
  ns_dropout_forward (out, mask2, inp, p, 43, TRUE);
  ns_tensor_download (mask2, m2);
  int differ = 0;
  for (int i = 0; i < n; i++)
    differ += (m1[i] != 0.0f) != (m2[i] != 0.0f);
  g_assert_cmpfloat (fabs ((double) differ / n - 2 * p * (1 - p)), <, 0.01);

  /* Inference: the identity. */
  ns_dropout_forward (out, NULL, inp, p, 42, FALSE);
  ns_tensor_download (out, o);
  g_assert_cmpmem (o, n * sizeof (float), x, n * sizeof (float));

  /* p = 0 keeps everything with scale 1. */
  ns_dropout_forward (out, mask, inp, 0.0f, 5, TRUE);
  ns_tensor_download (out, o);
  g_assert_cmpmem (o, n * sizeof (float), x, n * sizeof (float));
}

/* ---- the float32 API on ref ---------------------------------------------------------------- */

/* Weight gradients accumulate, input gradients are assigned, views write only their
 * range, and the fused activation equals conv then relu. */
static void
test_ref_semantics (void)
{
  g_autoptr (NsBackend) be = ref_backend ();
  g_autoptr (GRand) rand = test_rand ();
  g_autoptr (GError) error = NULL;
  const int N = 2, C = 3, H = 6, W = 5, K = 4;
  const gsize n_in = N * C * H * W, n_w = K * C * 9, n_out = N * K * H * W;
  g_autofree float *x = g_new (float, n_in), *w = g_new (float, n_w + K);
  g_autofree float *d = g_new (float, n_out);
  g_autofree float *prefill = g_new (float, n_w + K + 10);
  g_autofree float *g0 = g_new (float, n_w + K + 10), *g1 = g_new (float, n_w + K + 10);

  for (gsize i = 0; i < n_in; i++)
    x[i] = (float) g_rand_double_range (rand, -1, 1);
  for (gsize i = 0; i < n_w + K; i++)
    w[i] = (float) g_rand_double_range (rand, -1, 1);
  for (gsize i = 0; i < n_out; i++)
    d[i] = (float) g_rand_double_range (rand, -1, 1);
  for (gsize i = 0; i < n_w + K + 10; i++)
    prefill[i] = (float) g_rand_int_range (rand, -8, 8);  /* exact when added to */

  /* Parameters and gradients as views into flat tensors, 5 floats in. */
  g_autoptr (NsTensor) params = ns_tensor_new (be, (int) (n_w + K), 1, 1, 1, &error);
  g_autoptr (NsTensor) grads = ns_tensor_new (be, (int) (n_w + K + 10), 1, 1, 1, &error);
  g_assert_no_error (error);
  g_autoptr (NsTensor) tw = ns_tensor_new_view (params, 0, K, C, 3, 3);
  g_autoptr (NsTensor) tb = ns_tensor_new_view (params, n_w, K, 1, 1, 1);
  g_autoptr (NsTensor) dw = ns_tensor_new_view (grads, 5, K, C, 3, 3);
  g_autoptr (NsTensor) db = ns_tensor_new_view (grads, 5 + n_w, K, 1, 1, 1);
  g_autoptr (NsTensor) inp = tensor_from (be, N, C, H, W, x);
  g_autoptr (NsTensor) dout = tensor_from (be, N, K, H, W, d);
  g_autoptr (NsTensor) dinp = tensor_from (be, N, C, H, W, NULL);
  ns_tensor_upload (params, w);
  NsConv2dParams p = { .stride = 1, .pad = 1, .groups = 1 };

  ns_tensor_fill (grads, 0.0f);
  ns_conv2d_backward (dinp, dw, db, dout, inp, tw, &p);
  ns_tensor_download (grads, g0);
  g_autofree float *dx0 = g_new (float, n_in), *dx1 = g_new (float, n_in);
  ns_tensor_download (dinp, dx0);

  ns_tensor_upload (grads, prefill);
  ns_tensor_fill (dinp, 1000.0f);
  ns_conv2d_backward (dinp, dw, db, dout, inp, tw, &p);
  ns_tensor_download (grads, g1);
  ns_tensor_download (dinp, dx1);
  g_assert_cmpmem (dx0, n_in * sizeof (float), dx1, n_in * sizeof (float));
  for (gsize i = 0; i < n_w + K + 10; i++)
    {
      gboolean inside = i >= 5 && i < 5 + n_w + K;
      if (!inside)  /* outside the views: untouched */
        g_assert_cmpfloat (g1[i], ==, prefill[i]);
      else
        g_assert_cmpfloat (fabsf (g1[i] - prefill[i] - g0[i]), <=, 1e-6f * (8 + fabsf (g0[i])));
    }

  /* The float path narrows the double kernel's result once. */
  g_autoptr (NsTensor) out = tensor_from (be, N, K, H, W, NULL);
  g_autofree float *o = g_new (float, n_out);
  g_autofree double *xd = g_new (double, n_in), *wd = g_new (double, n_w + K);
  g_autofree double *od = g_new (double, n_out);
  for (gsize i = 0; i < n_in; i++)
    xd[i] = x[i];
  for (gsize i = 0; i < n_w + K; i++)
    wd[i] = w[i];
  ns_conv2d_forward (out, inp, tw, tb, &p);
  ns_tensor_download (out, o);
  _ns_ref_conv2d_forward (od, xd, wd, wd + n_w, (const int[]) { N, C, H, W },
                          (const int[]) { K, C, 3, 3 }, &p);
  g_assert_true (ns_check_tensor ("conv2d float vs double", o, od, n_out, 1e-7));

  /* Fused ReLU6 equals conv then relu6, bit for bit. */
  g_autoptr (NsTensor) fused = tensor_from (be, N, K, H, W, NULL);
  g_autofree float *f = g_new (float, n_out);
  p.act = NS_ACT_RELU6;
  g_assert_true (ns_backend_supports_op (be, NS_OP_CONV2D_FUSED_ACT));
  ns_conv2d_forward (fused, inp, tw, tb, &p);
  ns_relu_forward (out, out, NS_ACT_RELU6);
  ns_tensor_download (out, o);
  ns_tensor_download (fused, f);
  g_assert_cmpmem (o, n_out * sizeof (float), f, n_out * sizeof (float));

  /* Batch-norm: dgamma/dbeta accumulate too. */
  g_autoptr (NsTensor) gamma = tensor_from (be, C, 1, 1, 1, (const float[]) { 1, 2, 0.5f });
  g_autoptr (NsTensor) beta = tensor_from (be, C, 1, 1, 1, (const float[]) { 0, 1, -1 });
  g_autoptr (NsTensor) rm = tensor_from (be, C, 1, 1, 1, (const float[]) { 0, 0, 0 });
  g_autoptr (NsTensor) rv = tensor_from (be, C, 1, 1, 1, (const float[]) { 1, 1, 1 });
  g_autoptr (NsTensor) sm = tensor_from (be, C, 1, 1, 1, NULL);
  g_autoptr (NsTensor) si = tensor_from (be, C, 1, 1, 1, NULL);
  g_autoptr (NsTensor) bout = tensor_from (be, N, C, H, W, NULL);
  g_autoptr (NsTensor) dg = tensor_from (be, C, 1, 1, 1, (const float[]) { 0, 0, 0 });
  g_autoptr (NsTensor) dbt = tensor_from (be, C, 1, 1, 1, (const float[]) { 0, 0, 0 });
  float dg0[3], dg1[3], dbt0[3], dbt1[3];
  ns_batchnorm_forward (bout, sm, si, inp, gamma, beta, rm, rv, TRUE, 0.1f, 1e-5f);
  ns_batchnorm_backward (dinp, dg, dbt, inp, inp, sm, si, gamma);
  ns_tensor_download (dg, dg0);
  ns_tensor_download (dbt, dbt0);
  ns_tensor_upload (dg, (const float[]) { 1, 2, 3 });
  ns_tensor_upload (dbt, (const float[]) { -1, -2, -3 });
  ns_batchnorm_backward (dinp, dg, dbt, inp, inp, sm, si, gamma);
  ns_tensor_download (dg, dg1);
  ns_tensor_download (dbt, dbt1);
  for (int c = 0; c < C; c++)
    {
      g_assert_cmpfloat (fabsf (dg1[c] - (c + 1) - dg0[c]), <=, 1e-5f);
      g_assert_cmpfloat (fabsf (dbt1[c] + (c + 1) - dbt0[c]), <=, 1e-5f);
    }
}

/* Shape errors are programming errors: a critical from the dispatcher, nothing computed. */
static void
test_bad_shapes (void)
{
  g_autoptr (NsBackend) be = ref_backend ();
  g_autoptr (NsTensor) x = tensor_from (be, 1, 1, 1, 4, (const float[]) { 1, 2, 3, 4 });
  g_autoptr (NsTensor) w = tensor_from (be, 1, 1, 3, 3, NULL);
  g_autoptr (NsTensor) out = tensor_from (be, 1, 1, 1, 2, NULL);
  g_autoptr (NsTensor) small = tensor_from (be, 1, 2, 2, 2, NULL);
  g_autoptr (NsTensor) big = tensor_from (be, 1, 3, 4, 4, NULL);
  NsConv2dParams p = { .stride = 2, .pad = 0, .groups = 1 };
  float o[2];

  ns_tensor_fill (w, 1.0f);
  /* A 3x3 kernel on a 1-row input without padding: (1 - 3) / 2 + 1 would round to 1. */
  g_test_expect_message ("neuroseg-net", G_LOG_LEVEL_CRITICAL, "*conv_shapes_ok*");
  ns_conv2d_forward (out, x, w, NULL, &p);
  g_test_assert_expected_messages ();
  ns_tensor_download (out, o);
  g_assert_true (isnan (o[0]) && isnan (o[1]));

  /* Upsample backward into a tensor with other channels. */
  g_test_expect_message ("neuroseg-net", G_LOG_LEVEL_CRITICAL, "*shape*");
  ns_upsample2_backward (small, big);
  g_test_assert_expected_messages ();
}

static void
test_ref_info (void)
{
  g_autoptr (NsBackend) be = ref_backend ();

  g_assert_cmpstr (ns_backend_get_name (be), ==, "ref");
  g_assert_cmpstr (ns_backend_get_device (be), ==, "reference (plain C, double accumulation)");
  /* everything but bf16, and the fused ops, which ns_upconv2_forward and
   * ns_conv2d_add_forward compose from the separate ops on ref */
  for (int op = 0; op < NS_N_OPS; op++)
    g_assert_cmpint (ns_backend_supports_op (be, op), ==,
                     op != NS_OP_BF16 && op != NS_OP_UPCONV2 && op != NS_OP_CONV2D_ADD);
  g_assert_cmpint (ns_backend_get_precision (be), ==, NS_PRECISION_FP32);
  g_assert_true (ns_backend_set_precision (be, NS_PRECISION_FP32, NULL));
  g_autoptr (GError) error = NULL;
  g_assert_false (ns_backend_set_precision (be, NS_PRECISION_BF16, &error));
  g_assert_error (error, NS_NET_ERROR, NS_NET_ERROR_UNSUPPORTED);
}

int
main (int argc, char **argv)
{
  /* The harness compares ref with itself: results must be identical (tolerance 0). */
  static const NsNetTestTolerances exact = { 0 };

  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/net/ref/info", test_ref_info);
  g_test_add_func ("/net/ref/fd/conv2d", test_fd_conv2d);
  g_test_add_func ("/net/ref/fd/batchnorm", test_fd_batchnorm);
  g_test_add_func ("/net/ref/fd/relu", test_fd_relu);
  g_test_add_func ("/net/ref/fd/maxpool2", test_fd_maxpool2);
  g_test_add_func ("/net/ref/fd/upsample2", test_fd_upsample2);
  g_test_add_func ("/net/ref/fd/convt2", test_fd_convt2);
  g_test_add_func ("/net/ref/fd/concat-add", test_fd_concat_add);
  g_test_add_func ("/net/ref/fd/dropout", test_fd_dropout);
  g_test_add_func ("/net/ref/fd/softmax-dice-ce", test_fd_loss);
  g_test_add_func ("/net/ref/hand/conv2d", test_hand_conv2d);
  g_test_add_func ("/net/ref/hand/maxpool-ties", test_hand_maxpool_ties);
  g_test_add_func ("/net/ref/hand/upsample", test_hand_upsample);
  g_test_add_func ("/net/ref/hand/concat", test_hand_concat);
  g_test_add_func ("/net/ref/hand/convt2", test_hand_convt2);
  g_test_add_func ("/net/ref/hand/batchnorm", test_hand_batchnorm);
  g_test_add_func ("/net/ref/hand/adam", test_hand_adam);
  g_test_add_func ("/net/ref/hand/softmax-dice-ce", test_hand_loss);
  g_test_add_func ("/net/ref/hand/dropout-mask", test_dropout_mask);
  g_test_add_func ("/net/ref/semantics", test_ref_semantics);
  g_test_add_func ("/net/ref/bad-shapes", test_bad_shapes);
  if (!ns_net_test_ops_register ("/net/ref/vs-ref", "ref", NS_PRECISION_FP32, &exact))
    return 1;
  return g_test_run ();
}
