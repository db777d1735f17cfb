/* SPDX-License-Identifier: MIT
 *
 * test-net-tflite-imagenet.c: the real ImageNet MobileNetV2 (../shared/models/imagenet,
 * skipped without it): its 52 convolutions + logits with their shapes, sane dequantised
 * ranges, bias scales as the TFLite spec says, the layouts as PyTorch wants them, the
 * encoder of a model set from them (first conv adapted, batch-norm an identity + bias),
 * `neuroseg import-encoder` writing a loadable checkpoint, and `neuroseg
 * classify-imagenet` finding the cat and the espresso; plus truncated and corrupted
 * copies of the file's header.
 */
#define G_LOG_DOMAIN "test-net-tflite-imagenet"

#include "ns-checkpoint.h"
#include "ns-imagenet.h"
#include "ns-test-util.h"
#include "ns-tflite.h"

#include <math.h>
#include <string.h>

static char *model_path;
static char *model_dir;

static NsImagenetWeights *
load_weights (void)
{
  g_autoptr (GError) error = NULL;
  NsImagenetWeights *w = ns_imagenet_weights_new_from_file (model_path, &error);

  g_assert_no_error (error);
  g_assert_nonnull (w);
  return w;
}

static void
test_structure (void)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (NsTfliteModel) m = ns_tflite_model_new_from_file (model_path, &error);
  int n_conv = 0, n_dw = 0, n_in;
  const int *in;

  g_assert_no_error (error);
  g_assert_cmpuint (ns_tflite_model_get_version (m), ==, 3);
  g_assert_cmpint (ns_tflite_model_n_subgraphs (m), ==, 1);
  g_assert_cmpint (ns_tflite_model_n_operators (m), ==, 66);
  in = ns_tflite_model_get_inputs (m, &n_in);
  g_assert_cmpint (n_in, ==, 1);
  {
    const NsTfliteTensor *t = ns_tflite_model_get_tensor (m, in[0]);

    g_assert_cmpint (t->type, ==, NS_TFLITE_UINT8);
    g_assert_cmpint (t->shape[1], ==, 224);
    g_assert_cmpint (t->shape[3], ==, 3);
    /* [-1, 1] in uint8: scale 1/128, zero point 128 */
    g_assert_cmpfloat (t->scale[0], ==, 1.0f / 128);
    g_assert_cmpint (t->zero_point[0], ==, 128);
  }

  for (int i = 0; i < ns_tflite_model_n_operators (m); i++)
    {
      const NsTfliteOperator *op = ns_tflite_model_get_operator (m, i);
      const NsTfliteTensor *x, *w, *b;
      g_autofree float *wv = NULL;
      g_autofree float *bv = NULL;
      gsize nw = 0, nb = 0;
      double lo = G_MAXDOUBLE, hi = -G_MAXDOUBLE, sum2 = 0;
      g_autofree char *layer = NULL;

      if (op->opcode != NS_TFLITE_OP_CONV_2D && op->opcode != NS_TFLITE_OP_DEPTHWISE_CONV_2D)
        continue;
      if (op->opcode == NS_TFLITE_OP_CONV_2D)
        n_conv++;
      else
        n_dw++;
      g_assert_cmpint (op->n_inputs, ==, 3);
      x = ns_tflite_model_get_tensor (m, op->inputs[0]);
      w = ns_tflite_model_get_tensor (m, op->inputs[1]);
      b = ns_tflite_model_get_tensor (m, op->inputs[2]);
      layer = g_strndup (w->name, strcspn (w->name, ";"));
      g_test_message ("%-18s %-62s (%d, %d, %d, %d) stride %d", ns_tflite_op_name (op->opcode),
                      layer, w->shape[0], w->shape[1], w->shape[2], w->shape[3], op->stride_w);

      g_assert_cmpint (w->type, ==, NS_TFLITE_UINT8);
      g_assert_cmpint (b->type, ==, NS_TFLITE_INT32);
      g_assert_cmpint (w->n_quant, ==, 1);
      g_assert_cmpint (b->n_quant, ==, 1);
      /* TFLite's spec: bias scale = input scale x weight scale, zero point 0. */
      g_assert_cmpfloat (fabs (b->scale[0] - (double) x->scale[0] * w->scale[0]), <=,
                         1e-6 * b->scale[0]);
      g_assert_cmpint (b->zero_point[0], ==, 0);

      wv = ns_tflite_model_dup_dequantized (m, op->inputs[1], &nw, &error);
      g_assert_no_error (error);
      bv = ns_tflite_model_dup_dequantized (m, op->inputs[2], &nb, &error);
      g_assert_no_error (error);
      g_assert_cmpuint (nb, ==, (gsize) w->shape[op->opcode == NS_TFLITE_OP_CONV_2D ? 0 : 3]);
      for (gsize k = 0; k < nw; k++)
        {
          g_assert_true (isfinite (wv[k]));
          lo = MIN (lo, wv[k]);
          hi = MAX (hi, wv[k]);
          sum2 += (double) wv[k] * wv[k];
        }
      /* uint8 codes 0..255 around the zero point, and not all one value */
      g_assert_cmpfloat (lo, >=, -w->scale[0] * w->zero_point[0] * (1 + 1e-6));
      g_assert_cmpfloat (hi, <=, w->scale[0] * (255 - w->zero_point[0]) * (1 + 1e-6));
      g_assert_cmpfloat (hi - lo, >, 10 * w->scale[0]);
      g_assert_cmpfloat (sqrt (sum2 / nw), <, 20.0);
      for (gsize k = 0; k < nb; k++)
        {
          g_assert_true (isfinite (bv[k]));
          g_assert_cmpfloat (fabs (bv[k]), <, 100.0);
        }
    }
  /* 35 CONV_2D (1 stem + 16 expand + 17 project + Conv_1, plus the logits) and 17
   * depthwise: 52 convolutions in the features and the classifier's 1x1. */
  g_assert_cmpint (n_conv, ==, 36);
  g_assert_cmpint (n_dw, ==, 17);
}

static void
test_layer_table (void)
{
  g_autoptr (NsImagenetWeights) w = load_weights ();
  int n_dw = 0;

  g_assert_cmpint (w->n_classes, ==, 1001);
  g_assert_cmpint (w->feature_channels, ==, 1280);
  g_assert_cmpint (w->input_size, ==, 224);
  g_assert_cmpstr (w->convs[0].tf_name, ==, "MobilenetV2/Conv");
  g_assert_cmpstr (w->convs[0].conv_name, ==, "encoder.features.0.0");
  g_assert_cmpint (w->convs[0].out_channels, ==, 32);
  g_assert_cmpint (w->convs[0].in_channels, ==, 3);
  g_assert_cmpint (w->convs[0].stride, ==, 2);
  g_assert_cmpstr (w->convs[1].tf_name, ==, "MobilenetV2/expanded_conv/depthwise");
  g_assert_cmpstr (w->convs[1].conv_name, ==, "encoder.features.1.conv.0.0");
  g_assert_cmpstr (w->convs[2].bn_name, ==, "encoder.features.1.conv.2");
  g_assert_cmpstr (w->convs[50].tf_name, ==, "MobilenetV2/expanded_conv_16/project");
  g_assert_cmpstr (w->convs[50].conv_name, ==, "encoder.features.17.conv.2");
  g_assert_cmpint (w->convs[50].out_channels, ==, 320);
  g_assert_cmpstr (w->convs[51].conv_name, ==, "encoder.features.18.0");
  g_assert_cmpint (w->convs[51].out_channels, ==, 1280);
  g_assert_cmpint (w->convs[51].in_channels, ==, 320);
  for (int j = 0; j < NS_IMAGENET_N_CONVS; j++)
    {
      n_dw += w->convs[j].groups > 1;
      g_assert_nonnull (w->convs[j].weight);
      g_assert_nonnull (w->convs[j].bias);
    }
  g_assert_cmpint (n_dw, ==, 17);

  /* Mean logit bias and weights are finite and the background class exists. */
  for (int k = 0; k < 1001 * 1280; k++)
    g_assert_true (isfinite (w->logits_weight[k]));
}

/* The layouts: OHWI -> OIHW for dense convs, 1HWC -> C1HW for depthwise ones. */
static void
test_layouts (void)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (NsTfliteModel) m = ns_tflite_model_new_from_file (model_path, &error);
  g_autoptr (NsImagenetWeights) w = load_weights ();
  const NsTfliteOperator *stem = ns_tflite_model_get_operator (m, 0);
  const NsTfliteOperator *dw = ns_tflite_model_get_operator (m, 1);
  g_autofree float *raw = ns_tflite_model_dup_dequantized (m, stem->inputs[1], NULL, &error);
  g_autofree float *raw_dw = ns_tflite_model_dup_dequantized (m, dw->inputs[1], NULL, &error);

  g_assert_no_error (error);
  g_assert_cmpint (dw->opcode, ==, NS_TFLITE_OP_DEPTHWISE_CONV_2D);
  for (int o = 0; o < 32; o++)
    for (int i = 0; i < 3; i++)
      for (int y = 0; y < 3; y++)
        for (int x = 0; x < 3; x++)
          g_assert_cmpfloat (w->convs[0].weight[((o * 3 + i) * 3 + y) * 3 + x], ==,
                             raw[((o * 3 + y) * 3 + x) * 3 + i]);
  for (int c = 0; c < 32; c++)
    for (int y = 0; y < 3; y++)
      for (int x = 0; x < 3; x++)
        g_assert_cmpfloat (w->convs[1].weight[(c * 3 + y) * 3 + x], ==,
                           raw_dw[(y * 3 + x) * 32 + c]);
}

static float *
model_tensor (NsModel *model, const char *name, gsize *n)
{
  int index = ns_model_find_tensor (model, name);
  float *v;

  g_assert_cmpint (index, >=, 0);
  *n = ns_model_tensor_size (model, index);
  v = g_new (float, *n);
  ns_model_tensor_get (model, index, v);
  return v;
}

/* A 2-input encoder set from the file: first conv adapted so that a grey picture gets
 * the RGB response, the rest copied, batch-norm identity + bias. */
static void
test_load_encoder (void)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (NsImagenetWeights) w = load_weights ();
  g_autoptr (NsBackend) be = ns_backend_new ("ref", &error);
  g_autoptr (NsModelMeta) meta = ns_model_meta_new_default ("mobilenetv2-unet");
  g_autoptr (NsModel) model = NULL;
  g_autofree float *stem = NULL;
  gsize n;

  g_assert_no_error (error);
  g_assert_cmpint (ns_model_meta_n_inputs (meta), ==, 2);
  model = ns_model_new (be, meta, NULL, &error);
  g_assert_no_error (error);
  g_assert_true (ns_imagenet_load_encoder (model, w, &error));
  g_assert_no_error (error);

  stem = model_tensor (model, "encoder.features.0.0.weight", &n);
  g_assert_cmpuint (n, ==, 32 * 2 * 9);
  for (int o = 0; o < 32; o++)
    for (int t = 0; t < 9; t++)
      {
        double rgb = 0.0;

        for (int i = 0; i < 3; i++)
          rgb += w->convs[0].weight[(o * 3 + i) * 9 + t];
        g_assert_cmpfloat (stem[(o * 2 + 0) * 9 + t], ==, stem[(o * 2 + 1) * 9 + t]);
        g_assert_cmpfloat (fabs (stem[(o * 2) * 9 + t] * 2.0 - rgb), <, 1e-5);
      }

  for (int j = 1; j < NS_IMAGENET_N_CONVS; j++)
    {
      const NsImagenetConv *c = &w->convs[j];
      g_autofree char *wn = g_strconcat (c->conv_name, ".weight", NULL);
      g_autofree char *gn = g_strconcat (c->bn_name, ".weight", NULL);
      g_autofree char *bn = g_strconcat (c->bn_name, ".bias", NULL);
      g_autofree char *mn = g_strconcat (c->bn_name, ".running_mean", NULL);
      g_autofree char *vn = g_strconcat (c->bn_name, ".running_var", NULL);
      g_autofree float *wv = model_tensor (model, wn, &n);
      g_autofree float *gamma = NULL, *beta = NULL, *mean = NULL, *var = NULL;
      gsize nb;

      g_assert_cmpuint (n, ==, (gsize) c->out_channels * c->in_channels * c->ksize * c->ksize);
      g_assert_cmpmem (wv, n * sizeof (float), c->weight, n * sizeof (float));
      gamma = model_tensor (model, gn, &nb);
      beta = model_tensor (model, bn, &nb);
      mean = model_tensor (model, mn, &nb);
      var = model_tensor (model, vn, &nb);
      g_assert_cmpuint (nb, ==, (gsize) c->out_channels);
      for (gsize k = 0; k < nb; k++)
        {
          double scale = gamma[k] / sqrt ((double) var[k] + NS_IMAGENET_BN_EPS);

          g_assert_cmpfloat (fabs (scale - 1.0), <, 1e-7);
          g_assert_cmpfloat (mean[k], ==, 0.0f);
          g_assert_cmpfloat (beta[k], ==, c->bias[k]);
        }
    }
}

/* ns_imagenet_classify in-process on a synthetic picture: deterministic, finite, and the
 * TF-padding variant differs only a little (same top class on a smooth picture). */
static void
test_classify_synthetic (void)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (NsImagenetWeights) w = load_weights ();
  g_autoptr (NsBackend) be = ns_backend_new ("ref", &error);
  g_autoptr (NsModelMeta) meta = ns_model_meta_new_default ("mobilenetv2-unet");
  g_autoptr (NsModel) model = NULL;
  g_autofree float *rgb = g_new (float, 3 * 224 * 224);
  g_autofree float *a = g_new (float, 1001);
  g_autofree float *b = g_new (float, 1001);
  int top[3];

  g_strfreev (meta->modalities);
  meta->modalities = g_strsplit ("red,green,blue", ",", -1);
  model = ns_model_new (be, meta, NULL, &error);
  g_assert_no_error (error);
  g_assert_true (ns_imagenet_load_encoder (model, w, &error));
  for (int c = 0; c < 3; c++)
    for (int y = 0; y < 224; y++)
      for (int x = 0; x < 224; x++)
        rgb[(c * 224 + y) * 224 + x] = (float) (0.8 * sin (0.05 * x + c) * cos (0.03 * y));
  g_assert_true (ns_imagenet_classify (model, w, NULL, rgb, 224, 224, a, &error));
  g_assert_no_error (error);
  g_assert_true (ns_imagenet_classify (model, w, NULL, rgb, 224, 224, b, &error));
  g_assert_cmpmem (a, 1001 * sizeof (float), b, 1001 * sizeof (float));
  for (int k = 0; k < 1001; k++)
    g_assert_true (isfinite (a[k]));
  ns_imagenet_top_k (a, 1001, 3, top);
  g_assert_cmpfloat (a[top[0]], >=, a[top[1]]);
  g_assert_cmpfloat (a[top[1]], >=, a[top[2]]);
  for (int k = 0; k < 1001; k++)
    g_assert_cmpfloat (a[k], <=, a[top[0]]);

  /* A model with 2 inputs cannot classify RGB. */
  {
    g_autoptr (NsModelMeta) meta2 = ns_model_meta_new_default ("mobilenetv2-unet");
    g_autoptr (NsModel) model2 = ns_model_new (be, meta2, NULL, &error);

    g_assert_no_error (error);
    g_assert_false (ns_imagenet_classify (model2, w, NULL, rgb, 224, 224, a, &error));
    g_assert_error (error, NS_NET_ERROR, NS_NET_ERROR_FAILED);
  }
}

static char *
run_neuroseg (const char *const *args, int *status)
{
  const char *exe = g_getenv ("NEUROSEG");
  g_autoptr (GPtrArray) argv = g_ptr_array_new ();
  g_autoptr (GError) error = NULL;
  char *out = NULL;
  g_autofree char *err = NULL;

  g_assert_nonnull (exe);
  g_ptr_array_add (argv, (gpointer) exe);
  for (int i = 0; args[i] != NULL; i++)
    g_ptr_array_add (argv, (gpointer) args[i]);
  g_ptr_array_add (argv, NULL);
  g_assert_true (g_spawn_sync (NULL, (char **) argv->pdata, NULL, G_SPAWN_DEFAULT, NULL, NULL,
                               &out, &err, status, &error));
  g_assert_no_error (error);
  g_test_message ("%s%s", out, err);
  return out;
}

/* The proof of the import: cats and an espresso in the top 5. */
static void
test_classify_photos (void)
{
  static const struct
  {
    const char *photo;
    const char *classes[3];
  } cases[] = {
    { "chelsea.png", { "tabby", "tiger cat", "Egyptian cat" } },
    { "coffee.png", { "espresso", "cup", "coffee mug" } },
  };

  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    for (int tf = 0; tf < 2; tf++)
      {
        g_autofree char *photo = g_build_filename (model_dir, cases[i].photo, NULL);
        const char *args[] = { "classify-imagenet", "--device", "ref", model_path, photo,
                               tf ? "--tf-padding" : NULL, NULL };
        int status;
        g_autofree char *out = run_neuroseg (args, &status);
        g_auto (GStrv) lines = g_strsplit (out, "\n", -1);
        gboolean found = FALSE;

        g_assert_true (g_spawn_check_wait_status (status, NULL));
        g_assert_cmpuint (g_strv_length (lines), >=, 6);
        for (int r = 1; r <= 5; r++)
          for (int k = 0; k < 3; k++)
            found |= strstr (lines[r], cases[i].classes[k]) != NULL;
        g_assert_true (found);
      }
}

/* import-encoder writes a checkpoint that loads back with the imported values. */
static void
test_import_command (void)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (NsImagenetWeights) w = load_weights ();
  g_autofree char *out = g_build_filename (ns_test_tmpdir (), "imagenet.safetensors", NULL);
  const char *args[] = { "import-encoder", model_path, "-o", out, "--in-channels", "2", NULL };
  int status;
  g_autofree char *stdout_text = run_neuroseg (args, &status);
  g_autoptr (NsBackend) be = ns_backend_new ("ref", &error);
  g_autoptr (NsModel) model = NULL;
  g_autofree float *v = NULL;
  gsize n;

  g_assert_true (g_spawn_check_wait_status (status, NULL));
  model = ns_checkpoint_load (out, be, &error);
  g_assert_no_error (error);
  g_assert_cmpint (ns_model_meta_n_inputs (ns_model_get_meta (model)), ==, 2);
  g_assert_cmpstr (ns_model_get_meta (model)->parent, ==, model_path);
  v = model_tensor (model, "encoder.features.9.conv.1.0.weight", &n);
  for (int j = 0; j < NS_IMAGENET_N_CONVS; j++)
    if (strcmp (w->convs[j].conv_name, "encoder.features.9.conv.1.0") == 0)
      g_assert_cmpmem (v, n * sizeof (float), w->convs[j].weight, n * sizeof (float));

  /* Bad input: one line naming the file. */
  {
    const char *bad[] = { "import-encoder", out, "-o", out, NULL };
    g_autofree char *o2 = NULL;
    const char *exe = g_getenv ("NEUROSEG");
    const char *argv[] = { exe, bad[0], bad[1], bad[2], bad[3], NULL };
    g_autofree char *err = NULL;

    g_assert_true (g_spawn_sync (NULL, (char **) argv, NULL, G_SPAWN_DEFAULT, NULL, NULL, &o2,
                                 &err, &status, &error));
    g_assert_false (g_spawn_check_wait_status (status, NULL));
    g_assert_nonnull (strstr (err, out));
    g_assert_nonnull (strstr (err, "TFL3"));
    g_assert_cmpint (strchr (err, '\n') - err, ==, strlen (err) - 1);
  }
}

/* Truncated and corrupted copies of the real file's header: an error or a model, never a
 * crash. */
static void
test_header_robustness (void)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *contents = NULL;
  gsize size;
  GRand *rand = g_rand_new_with_seed (7);
  int n_ok = 0, n_err = 0;

  g_assert_true (g_file_get_contents (model_path, &contents, &size, &error));
  for (gsize len = 0; len < 4096; len += 1 + len / 64)
    {
      g_autoptr (GBytes) part = g_bytes_new_static (contents, len);
      g_autoptr (GError) e = NULL;
      g_autoptr (NsTfliteModel) m = ns_tflite_model_new_from_bytes (part, "cut.tflite", &e);

      g_assert_null (m);
      g_assert_error (e, NS_NET_ERROR, NS_NET_ERROR_CHECKPOINT);
    }
  for (int iter = 0; iter < 600; iter++)
    {
      /* One byte of the first 4 KB (root table, vtables, offsets of the big vectors). */
      gsize pos = (gsize) g_rand_int_range (rand, 0, 4096);
      char saved = contents[pos];
      g_autoptr (GBytes) bytes = NULL;
      g_autoptr (GError) e = NULL;
      g_autoptr (NsTfliteModel) m = NULL;

      contents[pos] = (char) g_rand_int_range (rand, 0, 256);
      bytes = g_bytes_new_static (contents, size);
      m = ns_tflite_model_new_from_bytes (bytes, "corrupt.tflite", &e);
      g_assert_true ((m == NULL) == (e != NULL));
      if (m != NULL)
        {
          n_ok++;
          for (int i = 0; i < ns_tflite_model_n_tensors (m); i++)
            if (ns_tflite_tensor_n_elements (ns_tflite_model_get_tensor (m, i)) < 4096)
              {
                g_autoptr (GError) de = NULL;
                g_autofree float *v = ns_tflite_model_dup_dequantized (m, i, NULL, &de);

                g_assert_true ((v == NULL) == (de != NULL));
              }
        }
      else
        n_err++;
      contents[pos] = saved;
    }
  g_rand_free (rand);
  g_test_message ("corrupted headers: %d parsed, %d refused", n_ok, n_err);
}

int
main (int argc, char **argv)
{
  const char *shared = ns_test_require_shared ();

  g_test_init (&argc, &argv, NULL);
  model_dir = g_build_filename (shared, "models", "imagenet", NULL);
  model_path = g_build_filename (model_dir, "mobilenet_v2_1.0_224_quant.tflite", NULL);
  if (!g_file_test (model_path, G_FILE_TEST_IS_REGULAR))
    {
      g_printerr ("skipping: %s not found\n", model_path);
      return 77;
    }

  g_test_add_func ("/net/tflite-imagenet/structure", test_structure);
  g_test_add_func ("/net/tflite-imagenet/layer-table", test_layer_table);
  g_test_add_func ("/net/tflite-imagenet/layouts", test_layouts);
  g_test_add_func ("/net/tflite-imagenet/load-encoder", test_load_encoder);
  g_test_add_func ("/net/tflite-imagenet/classify-synthetic", test_classify_synthetic);
  g_test_add_func ("/net/tflite-imagenet/classify-photos", test_classify_photos);
  g_test_add_func ("/net/tflite-imagenet/import-command", test_import_command);
  g_test_add_func ("/net/tflite-imagenet/header-robustness", test_header_robustness);

  return g_test_run ();
}
