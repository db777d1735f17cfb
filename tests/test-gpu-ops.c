/* SPDX-License-Identifier: MIT
 *
 * test-gpu-ops.c: the CUDA backend against `ref`, op by op (suite gpu; exits 77 where no
 * CUDA device is usable).
 *
 * The shared harness (ns-net-test-ops.c) runs every op of the table on random shapes,
 * forward and backward, with outputs poisoned with NaN before each run, in fp32 (the
 * checking mode: cuDNN restricted to FMA math, no TF32, no FFT) at 1e-4 for the
 * convolutions and batch-norm, and in bf16 at 2e-2 for the convolutions (bf16 keeps 8
 * significant bits: operands rounded by 2^-9, the bf16 result once more) with every other
 * op at its fp32 tolerance, since only convolutions run in bf16 on this backend.  Then what
 * random small shapes do not reach: the U-Net's own convolution shapes (which select
 * other cuDNN algorithms: Winograd, implicit GEMM on tensor cores), dropout masks bit for
 * bit against the host's ns_random_uniform () past 2^24 elements, and an allocation the
 * device cannot hold, which must be a GError, not a crash, with the backend still usable.
 */
#define G_LOG_DOMAIN "test-gpu-ops"

#include "ns-backend.h"
#include "ns-net-test-ops.h"
#include "ns-test-util.h"

#include <math.h>
#include <stdlib.h>

/* The backend under test (another name only to try the test itself on a CPU machine). */
#ifndef GPU_BACKEND
#define GPU_BACKEND "cuda"
#endif

static NsNetTestTolerances tol_bf16;

static NsBackend *
cuda_backend (NsPrecision precision)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (NsBackend) be = ns_backend_new (GPU_BACKEND, &error);
  g_assert_no_error (error);
  g_assert_true (ns_backend_set_precision (be, precision, &error));
  g_assert_no_error (error);
  return g_steal_pointer (&be);
}

static float *
random_floats (GRand *r, gsize n, double lo, double hi)
{
  float *x = g_new (float, n);
  for (gsize i = 0; i < n; i++)
    x[i] = (float) g_rand_double_range (r, lo, hi);
  return x;
}

static NsTensor *
tensor_with (NsBackend *be, int n, int c, int h, int w, const float *data)
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

/* The ops queued on be ran: a failure fails the test with the CUDA or cuDNN message. */
static void
assert_backend_ok (NsBackend *be)
{
  g_autoptr (GError) error = NULL;
  ns_backend_check (be, &error);
  g_assert_no_error (error);
}

static void
check_against (const char *label, NsTensor *got, NsTensor *want, double tol)
{
  gsize n = ns_tensor_n_elements (want);
  g_autofree float *g = g_new (float, n);
  g_autofree float *w = g_new (float, n);
  g_autofree double *wd = g_new (double, n);
  g_assert_cmpuint (ns_tensor_n_elements (got), ==, n);
  ns_tensor_download (got, g);
  ns_tensor_download (want, w);
  /* a failing CUDA or cuDNN call is reported with its message */
  assert_backend_ok (ns_tensor_get_backend (got));
  assert_backend_ok (ns_tensor_get_backend (want));
  for (gsize i = 0; i < n; i++)
    wd[i] = w[i];
  g_assert_true (ns_check_tensor (label, g, wd, n, tol));
}

typedef struct
{
  int n, c, h, w, k, kh, stride, pad, groups;
} ConvShape;

/* The U-Net's convolutions at a reduced batch: dense 3x3, depthwise strided 3x3, 1x1
 * expansion and projection; forward, dinp, dweight and dbias against ref. */
static void
test_unet_convs (gconstpointer data)
{
  const NsPrecision precision = GPOINTER_TO_INT (data);
  const double tol = precision == NS_PRECISION_BF16 ? 2e-2 : 1e-4;
  static const ConvShape shapes[] = {
    { 2, 4, 64, 64, 32, 3, 2, 1, 1 },      /* stem */
    { 2, 96, 32, 32, 96, 3, 2, 1, 96 },    /* depthwise, strided */
    { 2, 144, 16, 16, 144, 3, 1, 1, 144 }, /* depthwise */
    { 2, 32, 32, 32, 192, 1, 1, 0, 1 },    /* expansion */
    { 2, 192, 16, 16, 64, 1, 1, 0, 1 },    /* projection */
    { 2, 64, 32, 32, 32, 3, 1, 1, 1 },     /* decoder 3x3 */
  };
  g_autoptr (NsBackend) gpu = cuda_backend (precision);
  g_autoptr (NsBackend) ref = ns_backend_new ("ref", NULL);
  g_autoptr (GRand) r = g_rand_new_with_seed (42);

  for (gsize s = 0; s < G_N_ELEMENTS (shapes); s++)
    {
      const ConvShape *cs = &shapes[s];
      const NsConv2dParams p = { cs->stride, cs->pad, cs->groups, NS_ACT_NONE };
      const int ho = (cs->h + 2 * cs->pad - cs->kh) / cs->stride + 1;
      const int wo = (cs->w + 2 * cs->pad - cs->kh) / cs->stride + 1;
      const int cg = cs->c / cs->groups;
      const gsize n_in = (gsize) cs->n * cs->c * cs->h * cs->w;
      const gsize n_w = (gsize) cs->k * cg * cs->kh * cs->kh;
      const gsize n_out = (gsize) cs->n * cs->k * ho * wo;
      g_autofree float *x = random_floats (r, n_in, -1.0, 1.0);
      g_autofree float *wt = random_floats (r, n_w, -0.5, 0.5);
      g_autofree float *b = random_floats (r, cs->k, -0.5, 0.5);
      g_autofree float *dy = random_floats (r, n_out, -1.0, 1.0);
      g_autofree float *dw0 = random_floats (r, n_w, -0.1, 0.1);
      g_autofree float *db0 = random_floats (r, cs->k, -0.1, 0.1);
      NsBackend *bes[2] = { gpu, ref };
      NsTensor *t[2][8];

      g_test_message ("conv %zu: N%d C%d %dx%d K%d %dx%d s%d p%d g%d", s, cs->n, cs->c, cs->h,
                      cs->w, cs->k, cs->kh, cs->kh, cs->stride, cs->pad, cs->groups);
      for (int i = 0; i < 2; i++)
        {
          NsTensor **u = t[i];
          u[0] = tensor_with (bes[i], cs->n, cs->c, cs->h, cs->w, x);
          u[1] = tensor_with (bes[i], cs->k, cg, cs->kh, cs->kh, wt);
          u[2] = tensor_with (bes[i], cs->k, 1, 1, 1, b);
          u[3] = tensor_with (bes[i], cs->n, cs->k, ho, wo, NULL);        /* out */
          u[4] = tensor_with (bes[i], cs->n, cs->k, ho, wo, dy);
          u[5] = tensor_with (bes[i], cs->n, cs->c, cs->h, cs->w, NULL);  /* dinp */
          u[6] = tensor_with (bes[i], cs->k, cg, cs->kh, cs->kh, dw0);    /* dweight += */
          u[7] = tensor_with (bes[i], cs->k, 1, 1, 1, db0);               /* dbias += */
          ns_conv2d_forward (u[3], u[0], u[1], u[2], &p);
          ns_conv2d_backward (u[5], u[6], u[7], u[4], u[0], u[1], &p);
          ns_backend_synchronize (bes[i]);
        }
      check_against ("out", t[0][3], t[1][3], tol);
      check_against ("dinp", t[0][5], t[1][5], tol);
      check_against ("dweight", t[0][6], t[1][6], tol);
      check_against ("dbias", t[0][7], t[1][7], 1e-4);
      for (int i = 0; i < 2; i++)
        for (int j = 0; j < 8; j++)
          ns_tensor_free (t[i][j]);
    }
}

/* Dropout keeps element i when ns_random_uniform (seed, i) >= p: the device's SplitMix64
 * must give the same bits as the host's, also past 2^24 and 2^32 of the seed's range. */
static void
test_dropout_mask_bits (void)
{
  g_autoptr (NsBackend) gpu = cuda_backend (NS_PRECISION_FP32);
  const int n = 1, c = 17, h = 1024, w = 1024;   /* 17.8 M elements, past 2^24 */
  const gsize count = (gsize) n * c * h * w;
  const float p = 0.3f;
  const guint64 seeds[] = { 0, 12345, G_GUINT64_CONSTANT (0xfedcba9876543210) };
  g_autofree float *mask = g_new (float, count);
  g_autoptr (NsTensor) inp = tensor_with (gpu, n, c, h, w, NULL);
  g_autoptr (NsTensor) out = tensor_with (gpu, n, c, h, w, NULL);
  g_autoptr (NsTensor) m = tensor_with (gpu, n, c, h, w, NULL);
  const float scale = (float) (1.0 / (1.0 - (double) p));

  ns_tensor_fill (inp, 1.0f);
  for (gsize s = 0; s < G_N_ELEMENTS (seeds); s++)
    {
      gsize wrong = 0, kept = 0;
      ns_dropout_forward (out, m, inp, p, seeds[s], TRUE);
      ns_tensor_download (m, mask);
      assert_backend_ok (gpu);
      for (gsize i = 0; i < count; i++)
        {
          const float want = ns_random_uniform (seeds[s], i) >= p ? scale : 0.0f;
          wrong += mask[i] != want;
          kept += mask[i] != 0.0f;
        }
      g_test_message ("seed %" G_GUINT64_FORMAT ": %.4f kept, %zu masks differ", seeds[s],
                      (double) kept / count, wrong);
      g_assert_cmpuint (wrong, ==, 0);
    }
}

/* A tensor larger than any GPU: NULL and NS_NET_ERROR_OUT_OF_MEMORY, then the backend
 * still computes. */
static void
test_out_of_memory (void)
{
  g_autoptr (NsBackend) gpu = cuda_backend (NS_PRECISION_FP32);
  g_autoptr (GError) error = NULL;
  NsTensor *huge = ns_tensor_new (gpu, 1024, 1024, 1024, 1024, &error);   /* 4 TiB */

  g_assert_null (huge);
  g_assert_error (error, NS_NET_ERROR, NS_NET_ERROR_OUT_OF_MEMORY);
  g_test_message ("%s", error->message);

  g_autoptr (NsTensor) a = tensor_with (gpu, 1, 2, 3, 4, NULL);
  g_autoptr (NsTensor) b = tensor_with (gpu, 1, 2, 3, 4, NULL);
  float back[24];
  ns_tensor_fill (a, 1.5f);
  ns_tensor_fill (b, 2.0f);
  ns_add_forward (a, a, b);
  ns_tensor_download (a, back);
  assert_backend_ok (gpu);
  for (int i = 0; i < 24; i++)
    g_assert_cmpfloat (back[i], ==, 3.5f);
}

int
main (int argc, char **argv)
{
  g_autoptr (GError) error = NULL;

  g_test_init (&argc, &argv, NULL);

  g_autoptr (NsBackend) probe = ns_backend_new (GPU_BACKEND, &error);
  if (probe == NULL)
    {
      g_print ("# no usable CUDA device: %s\n", error->message);
      return g_error_matches (error, NS_NET_ERROR, NS_NET_ERROR_NO_BACKEND) ? 77 : 1;
    }
  g_print ("# %s\n", ns_backend_get_device (probe));

  tol_bf16 = ns_net_test_tol_fp32;
  tol_bf16.conv2d = 2e-2;
  tol_bf16.convt2 = 2e-2;

  if (!ns_net_test_ops_register ("/gpu/cuda-fp32", GPU_BACKEND, NS_PRECISION_FP32,
                                 &ns_net_test_tol_fp32))
    return 1;
  if (ns_backend_supports_op (probe, NS_OP_BF16)
      && !ns_net_test_ops_register ("/gpu/cuda-bf16", GPU_BACKEND, NS_PRECISION_BF16, &tol_bf16))
    return 1;

  g_test_add_data_func ("/gpu/cuda-fp32/unet-convs", GINT_TO_POINTER (NS_PRECISION_FP32),
                        test_unet_convs);
  if (ns_backend_supports_op (probe, NS_OP_BF16))
    g_test_add_data_func ("/gpu/cuda-bf16/unet-convs", GINT_TO_POINTER (NS_PRECISION_BF16),
                          test_unet_convs);
  g_test_add_func ("/gpu/cuda/dropout-mask-bits", test_dropout_mask_bits);
  g_test_add_func ("/gpu/cuda/out-of-memory", test_out_of_memory);
  g_clear_pointer (&probe, ns_backend_free);
  return g_test_run ();
}
