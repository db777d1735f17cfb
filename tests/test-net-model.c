/* SPDX-License-Identifier: MIT
 *
 * test-net-model.c: the two networks: parameter counts and names (PyTorch's), shapes,
 * deterministic init, the folded inference graph against the plain eval graph, and a
 * whole-network gradient check by central finite differences (ref backend).
 */
#define G_LOG_DOMAIN "ns-test"

#include "ns-model.h"
#include "ns-test-util.h"

#include <math.h>
#include <string.h>

static NsBackend *
ref_backend (void)
{
  g_autoptr (GError) error = NULL;
  NsBackend *be = ns_backend_new ("ref", &error);
  g_assert_no_error (error);
  return be;
}

static NsModel *
new_model (NsBackend *be, const char *arch, NsInitKind kind, guint64 seed)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (NsModelMeta) meta = ns_model_meta_new_default (arch);
  NsModelInit init = { kind, 0.01f, seed };
  NsModel *m = ns_model_new (be, meta, &init, &error);
  g_assert_no_error (error);
  g_assert_nonnull (m);
  return m;
}

/* DESIGN.md: 6,629,092 trainable parameters (BN gamma and beta count, running
 * statistics do not), as segmentation_models_pytorch builds it. */
static void
test_param_count (void)
{
  g_autoptr (NsBackend) be = ref_backend ();
  g_autoptr (NsModel) m = new_model (be, "mobilenetv2-unet", NS_INIT_NORMAL, 0);
  g_assert_cmpuint (ns_model_n_parameters (m), ==, 6629092);

  /* The sum over the trainable tensors equals the count. */
  gsize sum = 0;
  for (int i = 0; i < ns_model_n_tensors (m); i++)
    if (ns_model_tensor_is_trainable (m, i))
      sum += ns_model_tensor_size (m, i);
  g_assert_cmpuint (sum, ==, 6629092);

  /* The classic U-Net (milesial/Pytorch-UNet, bilinear=False) with 2 in, 4 out. */
  g_autoptr (NsModel) u = new_model (be, "unet", NS_INIT_NORMAL, 0);
  g_test_message ("unet: %" G_GSIZE_FORMAT " parameters", ns_model_n_parameters (u));
  g_assert_cmpuint (ns_model_n_parameters (u), ==, 31037252);

  /* 5.95 GFLOP per 240 x 240 slice in DESIGN.md is 6.76 at 256 x 256 scaled by area. */
  double gflop = ns_model_flops_per_slice (m, 256, 256) / 1e9;
  g_test_message ("mobilenetv2-unet: %.3f GFLOP per 256 x 256 slice", gflop);
  g_assert_cmpfloat (fabs (gflop - 6.76), <, 0.05);
}

static void
test_names (void)
{
  g_autoptr (NsBackend) be = ref_backend ();
  g_autoptr (NsModel) m = new_model (be, "mobilenetv2-unet", NS_INIT_NORMAL, 0);
  int shape[4];
  int i;

  g_assert_cmpstr (ns_model_tensor_name (m, 0), ==, "encoder.features.0.0.weight");
  ns_model_tensor_shape (m, 0, shape);
  g_assert_cmpint (shape[0], ==, 32);
  g_assert_cmpint (shape[1], ==, 2);
  g_assert_cmpint (shape[2], ==, 3);
  g_assert_cmpint (ns_model_tensor_ndim (m, 0), ==, 4);

  i = ns_model_find_tensor (m, "encoder.features.1.conv.0.0.weight");   /* t = 1: depthwise */
  g_assert_cmpint (i, >=, 0);
  ns_model_tensor_shape (m, i, shape);
  g_assert_cmpint (shape[0], ==, 32);
  g_assert_cmpint (shape[1], ==, 1);

  i = ns_model_find_tensor (m, "encoder.features.17.conv.3.running_var");
  g_assert_cmpint (i, >=, 0);
  g_assert_false (ns_model_tensor_is_trainable (m, i));
  g_assert_cmpuint (ns_model_tensor_size (m, i), ==, 320);
  g_assert_cmpint (ns_model_tensor_ndim (m, i), ==, 1);

  i = ns_model_find_tensor (m, "decoder.blocks.0.conv1.0.weight");
  ns_model_tensor_shape (m, i, shape);
  g_assert_cmpint (shape[0], ==, 256);
  g_assert_cmpint (shape[1], ==, 1280 + 96);

  i = ns_model_find_tensor (m, "decoder.blocks.4.conv1.0.weight");   /* no skip */
  ns_model_tensor_shape (m, i, shape);
  g_assert_cmpint (shape[1], ==, 32);

  g_assert_cmpint (ns_model_find_tensor (m, "segmentation_head.0.bias"), >=, 0);
  g_assert_cmpint (ns_model_find_tensor (m, "encoder.features.18.1.weight"), >=, 0);
  g_assert_cmpint (ns_model_find_tensor (m, "encoder.features.19.0.weight"), ==, -1);

  /* Unique names. */
  g_autoptr (GHashTable) seen = g_hash_table_new (g_str_hash, g_str_equal);
  for (int k = 0; k < ns_model_n_tensors (m); k++)
    g_assert_true (g_hash_table_add (seen, (gpointer) ns_model_tensor_name (m, k)));

  g_autoptr (NsModel) u = new_model (be, "unet", NS_INIT_NORMAL, 0);
  g_assert_cmpint (ns_model_find_tensor (u, "inc.double_conv.0.weight"), ==, 0);
  i = ns_model_find_tensor (u, "up1.up.weight");
  ns_model_tensor_shape (u, i, shape);
  g_assert_cmpint (shape[0], ==, 1024);
  g_assert_cmpint (shape[1], ==, 512);
  g_assert_cmpint (ns_model_find_tensor (u, "down4.maxpool_conv.1.double_conv.4.running_mean"),
                   >=, 0);
  g_assert_cmpint (ns_model_find_tensor (u, "outc.conv.bias"), >=, 0);
}

static void
test_bad_meta (void)
{
  g_autoptr (NsBackend) be = ref_backend ();
  g_autoptr (NsModelMeta) meta = ns_model_meta_new_default ("resnet");
  g_autoptr (GError) error = NULL;
  NsModel *m = ns_model_new (be, meta, NULL, &error);
  g_assert_null (m);
  g_assert_error (error, NS_NET_ERROR, NS_NET_ERROR_FAILED);
  g_assert_nonnull (strstr (error->message, "resnet"));
}

/* The inputs a case lacks: in the model's order, whatever the case's names (T1c is
 * "t1c"); a BraTS 2015 case (FLAIR + T1c) feeds the default model but not one of four
 * sequences; the inputs as text; the outputs and channels of regions and context. */
static void
test_inputs (void)
{
  g_autoptr (NsModelMeta) meta = ns_model_meta_new_default (NULL);
  gboolean brats2015[NS_N_MODALITIES] = { 0 };
  brats2015[NS_MODALITY_FLAIR] = brats2015[NS_MODALITY_T1C] = TRUE;
  gboolean all[NS_N_MODALITIES] = { TRUE, TRUE, TRUE, TRUE };
  gboolean t1_only[NS_N_MODALITIES] = { 0 };
  t1_only[NS_MODALITY_T1] = TRUE;

  g_assert_null (ns_model_meta_missing_input (meta, brats2015));
  g_assert_cmpstr (ns_model_meta_missing_input (meta, t1_only), ==, "flair");
  g_strfreev (meta->modalities);
  meta->modalities = g_strsplit ("flair,t1c,t1,t2", ",", -1);
  g_assert_cmpstr (ns_model_meta_missing_input (meta, brats2015), ==, "t1");
  g_assert_null (ns_model_meta_missing_input (meta, all));
  meta->context = 2;
  g_autofree char *text = ns_model_meta_dup_inputs_text (meta);
  g_assert_cmpstr (text, ==, "FLAIR, T1c, T1, T2 (2.5-D, +-2 slices)");
  g_assert_cmpint (ns_model_meta_n_channels (meta), ==, 20);
  g_assert_cmpint (ns_model_meta_n_outputs (meta), ==, 4);
  ns_model_meta_set_brats_regions (meta);
  g_assert_cmpint (ns_model_meta_n_outputs (meta), ==, 3);
}

static void
test_init (void)
{
  g_autoptr (NsBackend) be = ref_backend ();
  g_autoptr (NsModel) a = new_model (be, "mobilenetv2-unet", NS_INIT_NORMAL, 7);
  g_autoptr (NsModel) b = new_model (be, "mobilenetv2-unet", NS_INIT_NORMAL, 7);
  g_autoptr (NsModel) c = new_model (be, "mobilenetv2-unet", NS_INIT_KAIMING, 7);
  int i = ns_model_find_tensor (a, "decoder.blocks.1.conv2.0.weight");
  gsize n = ns_model_tensor_size (a, i);
  g_autofree float *va = g_new (float, n);
  g_autofree float *vb = g_new (float, n);
  g_autofree float *vc = g_new (float, n);
  double s = 0, sc = 0, mean = 0;

  ns_model_tensor_get (a, i, va);
  ns_model_tensor_get (b, i, vb);
  ns_model_tensor_get (c, i, vc);
  g_assert_cmpmem (va, n * sizeof (float), vb, n * sizeof (float));
  for (gsize e = 0; e < n; e++)
    {
      mean += va[e];
      s += (double) va[e] * va[e];
      sc += (double) vc[e] * vc[e];
    }
  mean /= n;
  /* N(0, 0.01) and Kaiming sqrt(2 / (128 * 9)). */
  g_assert_cmpfloat (fabs (mean), <, 1e-3);
  g_assert_cmpfloat (fabs (sqrt (s / n) - 0.01), <, 2e-4);
  g_assert_cmpfloat (fabs (sqrt (sc / n) - sqrt (2.0 / (128 * 9))), <, 1e-3);

  /* Biases zero, BN gamma one. */
  float v[4];
  ns_model_tensor_get (a, ns_model_find_tensor (a, "segmentation_head.0.bias"), v);
  for (int k = 0; k < 4; k++)
    g_assert_cmpfloat (v[k], ==, 0.0f);
  g_autofree float *g = g_new (float, 32);
  ns_model_tensor_get (a, ns_model_find_tensor (a, "encoder.features.0.1.weight"), g);
  for (int k = 0; k < 32; k++)
    g_assert_cmpfloat (g[k], ==, 1.0f);
}

static void
fill_random (float *x, gsize n, guint64 seed, float scale)
{
  for (gsize i = 0; i < n; i++)
    x[i] = scale * (2.0f * ns_random_uniform (seed, i) - 1.0f);
}

/* Random BN statistics and affine parameters, so that folding has work to do. */
static void
randomise_bn (NsModel *m, guint64 seed)
{
  for (int i = 0; i < ns_model_n_tensors (m); i++)
    {
      const char *name = ns_model_tensor_name (m, i);
      gsize n = ns_model_tensor_size (m, i);
      g_autofree float *v = g_new (float, n);
      gboolean var = g_str_has_suffix (name, "running_var");
      gboolean mean = g_str_has_suffix (name, "running_mean");
      gboolean bias = ns_model_tensor_ndim (m, i) == 1 && !var && !mean;
      if (!var && !mean && !bias)
        continue;
      fill_random (v, n, seed + i, 0.5f);
      for (gsize e = 0; e < n; e++)
        v[e] = var ? 0.5f + v[e] : mean ? 0.2f * v[e] : v[e];
      ns_model_tensor_set (m, i, v);
    }
}

/* Folded inference (conv + bias + fused activation) equals the eval graph. */
static void
check_infer_equals_eval (const char *arch, int n, int h, int w)
{
  g_autoptr (NsBackend) be = ref_backend ();
  g_autoptr (NsModel) m = new_model (be, arch, NS_INIT_KAIMING, 3);
  g_autoptr (GError) error = NULL;
  gsize nin = (gsize) n * 2 * h * w, nout = (gsize) n * 4 * h * w;
  g_autofree float *x = g_new (float, nin);
  g_autofree float *eval = g_new (float, nout);
  g_autofree float *infer = g_new (float, nout);
  g_autofree double *want = g_new (double, nout);

  randomise_bn (m, 11);
  fill_random (x, nin, 5, 2.0f);
  g_autoptr (NsTensor) input = ns_tensor_new (be, n, 2, h, w, &error);
  g_assert_no_error (error);
  ns_tensor_upload (input, x);

  ns_model_set_mode (m, NS_MODEL_EVAL);
  NsTensor *logits = ns_model_forward (m, input, &error);
  g_assert_no_error (error);
  int s[4];
  ns_tensor_get_shape (logits, s);
  g_assert_cmpint (s[0], ==, n);
  g_assert_cmpint (s[1], ==, 4);
  g_assert_cmpint (s[2], ==, h);
  g_assert_cmpint (s[3], ==, w);
  ns_tensor_download (logits, eval);

  ns_model_set_mode (m, NS_MODEL_INFER);
  logits = ns_model_forward (m, input, &error);
  g_assert_no_error (error);
  ns_tensor_download (logits, infer);
  for (gsize i = 0; i < nout; i++)
    want[i] = eval[i];
  g_assert_true (ns_check_tensor (arch, infer, want, nout, 1e-4));

  /* A second run reuses the pooled tensors and gives the same answer. */
  logits = ns_model_forward (m, input, &error);
  g_assert_no_error (error);
  ns_tensor_download (logits, eval);
  g_assert_cmpmem (eval, nout * sizeof (float), infer, nout * sizeof (float));

  /* The memory estimate is positive and grows with the slice. */
  gsize b1 = ns_model_bytes_per_slice (m, h, w);
  gsize b2 = ns_model_bytes_per_slice (m, 2 * h, 2 * w);
  g_assert_cmpuint (b1, >, 0);
  g_assert_cmpuint (b2, >, 3 * b1);
}

static void
test_infer_mobilenet (void)
{
  check_infer_equals_eval ("mobilenetv2-unet", 2, 64, 32);
}

static void
test_infer_unet (void)
{
  check_infer_equals_eval ("unet", 1, 32, 16);
}

static void
test_bad_input (void)
{
  g_autoptr (NsBackend) be = ref_backend ();
  g_autoptr (NsModel) m = new_model (be, "mobilenetv2-unet", NS_INIT_NORMAL, 0);
  g_autoptr (GError) error = NULL;
  g_autoptr (NsTensor) input = ns_tensor_new (be, 1, 2, 48, 32, &error);
  g_assert_no_error (error);
  ns_tensor_fill (input, 0.0f);
  g_assert_null (ns_model_forward (m, input, &error));
  g_assert_error (error, NS_NET_ERROR, NS_NET_ERROR_FAILED);
  g_clear_error (&error);
  g_autoptr (NsTensor) three = ns_tensor_new (be, 1, 3, 32, 32, &error);
  ns_tensor_fill (three, 0.0f);
  g_assert_null (ns_model_forward (m, three, &error));
  g_assert_error (error, NS_NET_ERROR, NS_NET_ERROR_FAILED);
}

/* Loss of a TRAIN forward on fixed data (double-precision ops inside, float result). */
static double
loss_of (NsModel *m, NsTensor *input, NsTensor *labels, NsTensor *probs)
{
  g_autoptr (GError) error = NULL;
  NsTensor *logits = ns_model_forward (m, input, &error);
  g_assert_no_error (error);
  return ns_softmax_dice_ce_forward (probs, logits, labels);
}

/* Whole-network gradient check: the analytic gradient of a few parameters of a small
 * mobilenetv2-unet (2 x 2 x 64 x 64, training mode, ref; at 32 x 32 the stride-32
 * batch-norm would normalise single values) against central differences.
 * Batch statistics make every parameter's effect global, so this checks the wiring of
 * every op type, skips and residuals included. */
static void
test_gradcheck (void)
{
  static const char *const names[] = {
    "segmentation_head.0.weight",
    "segmentation_head.0.bias",
    "decoder.blocks.4.conv2.1.weight",
    "decoder.blocks.3.conv1.0.weight",
    "decoder.blocks.1.conv1.1.bias",
    "encoder.features.3.conv.1.0.weight",    /* depthwise inside a residual block */
    "encoder.features.2.conv.0.1.weight",
    "encoder.features.0.0.weight",
  };
  g_autoptr (NsBackend) be = ref_backend ();
  g_autoptr (NsModel) m = new_model (be, "mobilenetv2-unet", NS_INIT_KAIMING, 21);
  g_autoptr (GError) error = NULL;
  const int N = 2, H = 64, W = 64, K = 4;
  g_autofree float *x = g_new (float, N * 2 * H * W);
  g_autofree float *y = g_new (float, N * H * W);
  int worst_ok = 0;

  fill_random (x, N * 2 * H * W, 1, 2.0f);
  for (int i = 0; i < N * H * W; i++)
    {
      int r = (i / W) % H, c = i % W;
      y[i] = (r > 16 && r < 48 && c > 12 && c < 40) ? 1 + (r / 4 + c / 4) % 3 : 0;
    }
  g_autoptr (NsTensor) input = ns_tensor_new (be, N, 2, H, W, &error);
  g_autoptr (NsTensor) labels = ns_tensor_new (be, N, 1, H, W, &error);
  g_autoptr (NsTensor) probs = ns_tensor_new (be, N, K, H, W, &error);
  g_autoptr (NsTensor) dlogits = ns_tensor_new (be, N, K, H, W, &error);
  g_assert_no_error (error);
  ns_tensor_upload (input, x);
  ns_tensor_upload (labels, y);

  ns_model_set_mode (m, NS_MODEL_TRAIN);
  /* Running statistics change with every training forward but do not enter the loss. */
  ns_model_zero_grad (m);
  double loss0 = loss_of (m, input, labels, probs);
  ns_softmax_dice_ce_backward (dlogits, probs, labels);
  ns_model_backward (m, dlogits);
  g_test_message ("loss %.6f", loss0);

  NsTensor *flat = ns_model_get_flat_params (m);
  gsize n_all = ns_tensor_n_elements (flat);
  g_autofree float *params = g_new (float, n_all);
  g_autofree float *grads = g_new (float, n_all);
  ns_tensor_download (flat, params);
  ns_tensor_download (ns_model_get_flat_grads (m), grads);

  for (gsize t = 0; t < G_N_ELEMENTS (names); t++)
    {
      int idx = ns_model_find_tensor (m, names[t]);
      g_assert_cmpint (idx, >=, 0);
      gssize off = ns_model_tensor_offset (m, idx);
      gsize size = ns_model_tensor_size (m, idx);
      /* The element with the largest gradient, where the check is meaningful. */
      gsize best = 0;
      for (gsize e = 1; e < size; e++)
        if (fabsf (grads[off + e]) > fabsf (grads[off + best]))
          best = e;
      gsize at = off + best;
      float orig = params[at];
      double analytic = grads[at];
      double err = G_MAXDOUBLE, numeric = 0;
      /* The loss is float: a large step suffers from curvature (ReLU6 kinks, batch
       * statistics), a small one from rounding; the better of two steps is the check. */
      static const double rel_steps[2] = { 1e-2, 2e-3 };
      for (int k = 0; k < 2; k++)
        {
          double h = rel_steps[k] * MAX (fabs (orig), 0.1);
          params[at] = (float) (orig + h);
          ns_tensor_upload (flat, params);
          double lp = loss_of (m, input, labels, probs);
          double hp = (double) params[at] - orig;
          params[at] = (float) (orig - h);
          ns_tensor_upload (flat, params);
          double lm = loss_of (m, input, labels, probs);
          double hm = orig - (double) params[at];
          double num_k = (lp - lm) / (hp + hm);
          double err_k = fabs (num_k - analytic) / (fabs (analytic) + 1e-3);
          if (err_k < err)
            err = err_k, numeric = num_k;
        }
      params[at] = orig;
      ns_tensor_upload (flat, params);
      g_test_message ("%-40s [%" G_GSIZE_FORMAT "] analytic %+.6e numeric %+.6e rel.err %.3g",
                      names[t], best, analytic, numeric, err);
      g_assert_cmpfloat (fabs (analytic), >, 0.0);
      if (err < 0.05)
        worst_ok++;
      else
        g_printerr ("gradient mismatch: %s [%" G_GSIZE_FORMAT "] analytic %g numeric %g\n",
                    names[t], best, analytic, numeric);
    }
  g_assert_cmpint (worst_ok, ==, (int) G_N_ELEMENTS (names));
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/net/model/param-count", test_param_count);
  g_test_add_func ("/net/model/names", test_names);
  g_test_add_func ("/net/model/bad-meta", test_bad_meta);
  g_test_add_func ("/net/model/init", test_init);
  g_test_add_func ("/net/model/inputs", test_inputs);
  g_test_add_func ("/net/model/bad-input", test_bad_input);
  g_test_add_func ("/net/model/infer-equals-eval/mobilenetv2-unet", test_infer_mobilenet);
  g_test_add_func ("/net/model/infer-equals-eval/unet", test_infer_unet);
  g_test_add_func ("/net/model/gradcheck", test_gradcheck);
  return g_test_run ();
}
