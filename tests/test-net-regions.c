/* SPDX-License-Identifier: MIT
 *
 * test-net-regions.c: region targets and test-time augmentation.
 *
 * - The region loss against a direct evaluation of its formula, and its gradient against
 *   central finite differences of the loss.
 * - Decoding: a region model whose head outputs constants (weights 0, chosen biases)
 *   labels the brain by the chain of regions above 0.5 (ET above 0.5 outside TC is not
 *   enhancing), with the chain's class probabilities.
 * - TTA: the probabilities of one mirrored pass (tta 1) are the mean of the plain pass
 *   and of the plain pass over the mirrored volume, mirrored back (the crops mirror
 *   exactly when the brain box leaves an even margin); for a region model the region
 *   probabilities are averaged.  Post-processing from the options changes the label map.
 * - A few training steps of a region model on one batch lower its loss.
 */
#define G_LOG_DOMAIN "ns-test"

#include "ns-config.h"
#include "ns-infer.h"
#include "ns-model.h"
#include "ns-test-util.h"

#include <math.h>
#include <string.h>

static NsBackend *backend;

static double
sigmoid (double z)
{
  return 1.0 / (1.0 + exp (-z));
}

/* The loss written out directly from its definition. */
static double
reference_loss (const float *z, const float *cls, const int *depth, int n, int R, int hw)
{
  double bce = 0, dice = 0;
  for (int r = 0; r < R; r++)
    {
      double inter = 0, sp = 0, sy = 0;
      for (int b = 0; b < n; b++)
        for (int p = 0; p < hw; p++)
          {
            double pr = sigmoid (z[(b * R + r) * hw + p]);
            double y = r < depth[(int) cls[b * hw + p]];
            bce -= y * log (pr) + (1 - y) * log (1 - pr);
            inter += pr * y;
            sp += pr;
            sy += y;
          }
      dice += (2 * inter + 1) / (sp + sy + 1);
    }
  return bce / ((double) n * R * hw) + 1 - dice / R;
}

static void
test_loss_gradient (void)
{
  enum { N = 2, R = 3, HW = 35, K = 4 };
  const int depth[K] = { 0, 2, 1, 3 };   /* BraTS: background, NCR, edema, enhancing */
  float z[N * R * HW], cls[N * HW], dz[N * R * HW];

  for (int i = 0; i < N * R * HW; i++)
    z[i] = 4.0f * (ns_random_uniform (7, i) - 0.5f);
  for (int i = 0; i < N * HW; i++)
    cls[i] = (float) (int) (4 * ns_random_uniform (8, i));
  double loss = ns_region_loss (dz, z, cls, depth, K, N, R, HW);
  double want = reference_loss (z, cls, depth, N, R, HW);
  g_test_message ("loss %.9f, reference %.9f", loss, want);
  g_assert_cmpfloat (fabs (loss - want), <, 1e-9);

  /* d loss / d z by central differences, every element */
  double worst = 0;
  for (int i = 0; i < N * R * HW; i++)
    {
      float keep = z[i], h = 1e-2f;
      z[i] = keep + h;
      double up = ns_region_loss (NULL, z, cls, depth, K, N, R, HW);
      z[i] = keep - h;
      double down = ns_region_loss (NULL, z, cls, depth, K, N, R, HW);
      z[i] = keep;
      double fd = (up - down) / (2.0 * h);
      double err = fabs (fd - dz[i]) / (fabs (fd) + 1e-4);
      worst = MAX (worst, err);
      if (err > 2e-3)
        g_error ("dlogits[%d] = %.6g, finite differences %.6g", i, dz[i], fd);
    }
  g_test_message ("gradient: worst relative error %.2e", worst);

  /* a class index that is not one is refused, not read out of bounds */
  cls[5] = 7.0f;
  g_assert_true (isnan (ns_region_loss (dz, z, cls, depth, K, N, R, HW)));
}

/* A 64 x 56 x 4 volume pair with a brain box of 40 x 30 (even margins to 64 x 32) and a
 * texture, z-scored by inference; mirrored along i when flip. */
static void
make_inputs (NsVolume *vols[2], gboolean flip)
{
  NsGrid grid;
  ns_grid_init (&grid, 64, 56, 4, 1, 1, 1);
  for (int c = 0; c < 2; c++)
    {
      vols[c] = ns_volume_new (&grid, NULL);
      for (int k = 0; k < 4; k++)
        for (int j = 0; j < 56; j++)
          for (int i = 0; i < 64; i++)
            {
              int si = flip ? 63 - i : i;
              gboolean brain = si >= 10 && si < 50 && j >= 13 && j < 43;
              float v = brain ? 100.0f + 50.0f * ns_random_uniform (c * 1000 + k,
                                                                    (guint64) j * 64 + si)
                                + (float) si : 0.0f;
              vols[c]->voxels[ns_grid_index (&grid, i, j, k)] = v;
            }
    }
}

static NsModel *
region_model (guint64 seed)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (NsModelMeta) meta = ns_model_meta_new_default (NULL);
  ns_model_meta_set_brats_regions (meta);
  NsModelInit init = { NS_INIT_KAIMING, 0, seed };
  NsModel *m = ns_model_new (backend, meta, &init, &error);
  g_assert_no_error (error);
  return m;
}

/* The head outputs bias[r] everywhere: weights 0. */
static void
set_head (NsModel *m, const float bias[3])
{
  int wi = ns_model_find_tensor (m, "segmentation_head.0.weight");
  int bi = ns_model_find_tensor (m, "segmentation_head.0.bias");
  g_autofree float *w = g_new0 (float, ns_model_tensor_size (m, wi));
  ns_model_tensor_set (m, wi, w);
  ns_model_tensor_set (m, bi, bias);
}

static void
test_decode (void)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (NsModel) m = region_model (1);
  NsVolume *vols[2];
  make_inputs (vols, FALSE);
  const struct
  {
    float bias[3];
    int label;
  } cases[] = {
    { { 1, 1, 1 }, 4 },     /* inside ET */
    { { 1, 1, -1 }, 1 },    /* TC but not ET: NCR/NET */
    { { 1, -1, 1 }, 2 },    /* WT only (ET above 0.5 outside TC does not count) */
    { { -1, 1, 1 }, 0 },    /* not even WT */
  };
  NsInferOptions opt = { 0 };
  opt.want_probabilities = TRUE;
  for (guint t = 0; t < G_N_ELEMENTS (cases); t++)
    {
      set_head (m, cases[t].bias);
      g_autoptr (NsInferResult) r = ns_infer_run (m, vols, 2, NULL, &opt, &error);
      g_assert_no_error (error);
      gsize v = ns_grid_index (&vols[0]->grid, 20, 20, 1);
      g_assert_cmpint (r->labels->labels[v], ==, cases[t].label);
      g_assert_cmpint (r->labels->labels[0], ==, 0);   /* outside the brain */
      double q[3];
      for (int i = 0; i < 3; i++)
        q[i] = sigmoid (cases[t].bias[i]);
      /* classes 0 background, 1 NCR/NET (depth 2), 2 edema (depth 1), 3 enhancing (3) */
      double want[4] = { 1 - q[0], q[0] * q[1] * (1 - q[2]), q[0] * (1 - q[1]),
                         q[0] * q[1] * q[2] };
      for (int k = 0; k < 4; k++)
        g_assert_cmpfloat (fabs (ns_volume_get_value (r->probabilities[k], v) - want[k]), <, 1e-5);
    }
  ns_volume_unref (vols[0]);
  ns_volume_unref (vols[1]);
}

static void
check_tta (NsModel *m, const char *what)
{
  g_autoptr (GError) error = NULL;
  NsVolume *vols[2], *mirrored[2];
  make_inputs (vols, FALSE);
  make_inputs (mirrored, TRUE);
  const NsGrid *g = &vols[0]->grid;
  NsInferOptions plain = { 0 }, tta = { 0 };
  plain.want_probabilities = tta.want_probabilities = TRUE;
  tta.tta = 1;

  g_autoptr (NsInferResult) a = ns_infer_run (m, vols, 2, NULL, &plain, &error);
  g_assert_no_error (error);
  g_autoptr (NsInferResult) b = ns_infer_run (m, mirrored, 2, NULL, &plain, &error);
  g_assert_no_error (error);
  g_autoptr (NsInferResult) t = ns_infer_run (m, vols, 2, NULL, &tta, &error);
  g_assert_no_error (error);
  g_assert_cmpint (t->stats.passes, ==, 2);
  g_assert_cmpint (a->stats.crop_size[0], ==, 64);

  gsize nv = ns_grid_n_voxels (g), n = nv * 4;
  g_autofree float *got = g_new (float, n);
  g_autofree double *want = g_new (double, n);
  for (int k = 0; k < g->dim[2]; k++)
    for (int j = 0; j < g->dim[1]; j++)
      for (int i = 0; i < g->dim[0]; i++)
        {
          gsize v = ns_grid_index (g, i, j, k), mv = ns_grid_index (g, 63 - i, j, k);
          double pa[4], pb[4];
          for (int c = 0; c < 4; c++)
            {
              got[c * nv + v] = ns_volume_get_value (t->probabilities[c], v);
              pa[c] = ns_volume_get_value (a->probabilities[c], v);
              pb[c] = ns_volume_get_value (b->probabilities[c], mv);
              want[c * nv + v] = 0.5 * (pa[c] + pb[c]);
            }
          /* (outside the brain every pass says background with probability 1) */
          if (ns_model_get_meta (m)->n_regions == 0 || pa[0] >= 1 || pb[0] >= 1)
            continue;
          /* regions: the passes' region probabilities are averaged (nnU-Net), and the
           * class probabilities follow from the mean: q0 = P(WT), q1 = P(TC | WT), q2 =
           * P(ET | TC), recovered from each run's class probabilities */
          double q[3];
          for (int r = 0; r < 3; r++)
            {
              double qa[3] = { 1 - pa[0], (pa[1] + pa[3]) / (1 - pa[0]),
                               pa[3] / (pa[1] + pa[3]) };
              double qb[3] = { 1 - pb[0], (pb[1] + pb[3]) / (1 - pb[0]),
                               pb[3] / (pb[1] + pb[3]) };
              q[r] = 0.5 * (qa[r] + qb[r]);
            }
          want[0 * nv + v] = 1 - q[0];
          want[1 * nv + v] = q[0] * q[1] * (1 - q[2]);
          want[2 * nv + v] = q[0] * (1 - q[1]);
          want[3 * nv + v] = q[0] * q[1] * q[2];
        }
  g_autofree char *label = g_strdup_printf ("%s: tta 1 vs mean of the mirrored runs", what);
  g_assert_true (ns_check_tensor (label, got, want, n, 1e-4));
  for (int c = 0; c < 2; c++)
    {
      ns_volume_unref (vols[c]);
      ns_volume_unref (mirrored[c]);
    }
}

static void
test_tta (void)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (NsModelMeta) meta = ns_model_meta_new_default (NULL);
  NsModelInit init = { NS_INIT_KAIMING, 0, 3 };
  g_autoptr (NsModel) classes = ns_model_new (backend, meta, &init, &error);
  g_assert_no_error (error);
  check_tta (classes, "classes");
  g_autoptr (NsModel) regions = region_model (2);
  check_tta (regions, "regions");
}

static void
test_postprocess_option (void)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (NsModel) m = region_model (1);
  const float enhancing[3] = { 1, 1, 1 };
  set_head (m, enhancing);
  NsVolume *vols[2];
  make_inputs (vols, FALSE);
  /* the whole brain is enhancing: 40 x 30 x 4 = 4800 voxels */
  NsPostprocessParams pp = { 0, 4, 4801, 1 };
  NsInferOptions opt = { 0 };
  opt.postprocess = &pp;
  g_autoptr (NsInferResult) r = ns_infer_run (m, vols, 2, NULL, &opt, &error);
  g_assert_no_error (error);
  g_assert_true (r->stats.postprocess_stats.relabelled);
  gsize v = ns_grid_index (&vols[0]->grid, 20, 20, 1);
  g_assert_cmpint (r->labels->labels[v], ==, 1);
  opt.no_postprocess = TRUE;
  g_autoptr (NsInferResult) r2 = ns_infer_run (m, vols, 2, NULL, &opt, &error);
  g_assert_cmpint (r2->labels->labels[v], ==, 4);
  opt.tta = 2;
  g_assert_null (ns_infer_run (m, vols, 2, NULL, &opt, &error));
  g_assert_error (error, NS_NET_ERROR, NS_NET_ERROR_FAILED);
  ns_volume_unref (vols[0]);
  ns_volume_unref (vols[1]);
}

static void
test_train_steps (void)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (NsModel) m = region_model (4);
  enum { B = 2, H = 32, W = 32 };
  g_autofree float *img = g_new (float, B * 2 * H * W);
  g_autofree float *lab = g_new (float, B * H * W);
  for (int i = 0; i < B * 2 * H * W; i++)
    img[i] = ns_random_uniform (11, i) - 0.5f;
  for (int b = 0; b < B; b++)
    for (int y = 0; y < H; y++)
      for (int x = 0; x < W; x++)
        {
          int r2 = (x - 16) * (x - 16) + (y - 16) * (y - 16);
          lab[(b * H + y) * W + x] = r2 < 16 ? 3 : r2 < 49 ? 1 : r2 < 100 ? 2 : 0;
          img[((b * 2) * H + y) * W + x] += r2 < 100 ? 2.0f : 0.0f;
        }
  NsAdamParams ap = { 1e-3f, 0.9f, 0.999f, 1e-8f, 0, 0 };
  float first = NAN, last = NAN;
  for (int s = 0; s < 8; s++)
    {
      float loss = ns_model_train_step (m, img, lab, B, H, W, &ap, &error);
      g_assert_no_error (error);
      g_assert_true (isfinite (loss));
      if (s == 0)
        first = loss;
      last = loss;
    }
  g_test_message ("region loss %.4f -> %.4f over 8 steps", first, last);
  g_assert_cmpfloat (last, <, first);
}

int
main (int argc, char **argv)
{
  g_autoptr (GError) error = NULL;
  g_test_init (&argc, &argv, NULL);
  backend = ns_backend_new (NS_HAVE_ONEDNN ? "cpu" : "ref", &error);
  g_assert_no_error (error);
  g_test_add_func ("/net/regions/loss-gradient", test_loss_gradient);
  g_test_add_func ("/net/regions/decode", test_decode);
  g_test_add_func ("/net/regions/tta", test_tta);
  g_test_add_func ("/net/regions/postprocess-option", test_postprocess_option);
  g_test_add_func ("/net/regions/train-steps", test_train_steps);
  int status = g_test_run ();
  ns_backend_free (backend);
  return status;
}
