/* SPDX-License-Identifier: MIT
 *
 * test-net-golden.c: the whole MobileNetV2-U-Net against PyTorch.  A seeded model (the
 * Kaiming draws of ns_model_new, which are the same on every backend, plus batch-norm
 * statistics and affine parameters drawn from ns_random_uniform so that folding them
 * matters) and a seeded input of 1 x 2 x 64 x 32; the logits PyTorch computes for them
 * (tools/bench/pytorch_reference.py --golden, fp32 on the CPU, the network built from
 * torchvision's MobileNetV2 with smp's names) are committed in
 * tests/golden/net/mobilenetv2-unet-1x2x64x32.logits.f32 (32 KB) and compared with ours:
 * ref in EVAL mode (double accumulation, batch-norm as it is) and, with oneDNN, cpu in
 * INFER mode (batch-norm folded into the convolutions, fused activations: the path of
 * `neuroseg segment`).
 *
 * To regenerate after a change of the init or of the network (python3-torch needed):
 *   build/tests/test-net-golden --write /tmp/golden
 *   python3 tools/bench/pytorch_reference.py --model /tmp/golden/model.safetensors \
 *     --golden /tmp/golden/input.f32 1,2,64,32 \
 *     tests/golden/net/mobilenetv2-unet-1x2x64x32.logits.f32
 */
#define G_LOG_DOMAIN "ns-test"

#include "ns-checkpoint.h"
#include "ns-config.h"
#include "ns-model.h"
#include "ns-test-util.h"

#include <glib/gstdio.h>
#include <math.h>
#include <string.h>

#define N 1
#define C 2
#define H 64
#define W 32
#define K 4
#define SEED 14
#define GOLDEN "tests/golden/net/mobilenetv2-unet-1x2x64x32.logits.f32"

static NsModel *
golden_model (NsBackend *be)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (NsModelMeta) meta = ns_model_meta_new_default ("mobilenetv2-unet");
  NsModelInit init = { NS_INIT_KAIMING, 0, SEED };
  NsModel *m = ns_model_new (be, meta, &init, &error);
  g_assert_no_error (error);
  for (int i = 0; i < ns_model_n_tensors (m); i++)
    {
      const char *name = ns_model_tensor_name (m, i);
      gsize n = ns_model_tensor_size (m, i);
      g_autofree float *v = g_new (float, n);
      double lo, span;
      if (g_str_has_suffix (name, ".running_var") || g_str_has_suffix (name, "1.weight")
          || g_str_has_suffix (name, "3.weight") || g_str_has_suffix (name, "2.weight"))
        {
          if (ns_model_tensor_ndim (m, i) != 1)
            continue;          /* a convolution named ...2.weight */
          lo = 0.5, span = 1.0;   /* variances and BN scales in [0.5, 1.5) */
        }
      else if (ns_model_tensor_ndim (m, i) == 1)
        lo = -0.1, span = 0.2;   /* means, BN shifts and the head's bias */
      else
        continue;                /* convolution weights: Kaiming */
      for (gsize e = 0; e < n; e++)
        v[e] = (float) (lo + span * ns_random_uniform (SEED + 1000 + i, e));
      ns_model_tensor_set (m, i, v);
    }
  return m;
}

static float *
golden_input (void)
{
  float *x = g_new (float, N * C * H * W);
  for (int i = 0; i < N * C * H * W; i++)
    x[i] = 2.0f * ns_random_uniform (SEED + 1, i) - 1.0f;
  return x;
}

static void
check_backend (const char *backend_name, NsModelMode mode)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *path = ns_test_src_path (GOLDEN, NULL);
  g_autofree char *bytes = NULL;
  gsize len = 0;
  g_assert_true (g_file_get_contents (path, &bytes, &len, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (len, ==, (gsize) N * K * H * W * sizeof (float));

  g_autoptr (NsBackend) be = ns_backend_new (backend_name, &error);
  g_assert_no_error (error);
  g_autoptr (NsModel) m = golden_model (be);
  g_autofree float *x = golden_input ();
  g_autoptr (NsTensor) input = ns_tensor_new (be, N, C, H, W, &error);
  g_assert_no_error (error);
  ns_model_set_mode (m, mode);
  ns_tensor_upload (input, x);
  NsTensor *logits = ns_model_forward (m, input, &error);
  g_assert_no_error (error);
  g_autofree float *got = g_new (float, N * K * H * W);
  ns_tensor_download (logits, got);
  g_assert_true (ns_backend_check (be, &error));
  g_assert_no_error (error);

  g_autofree double *want = g_new (double, N * K * H * W);
  for (gsize i = 0; i < (gsize) N * K * H * W; i++)
    {
      float f;
      memcpy (&f, bytes + 4 * i, 4);   /* little-endian float32, as this machine */
      want[i] = f;
    }
  g_autofree char *label = g_strdup_printf ("%s %s vs PyTorch", backend_name,
                                            mode == NS_MODEL_INFER ? "infer" : "eval");
  g_assert_true (ns_check_tensor (label, got, want, (gsize) N * K * H * W, 1e-4));
}

static void
test_ref (void)
{
  check_backend ("ref", NS_MODEL_EVAL);
}

static void
test_cpu (void)
{
  check_backend ("cpu", NS_MODEL_INFER);
}

/* --write DIR: the model and the input for pytorch_reference.py --golden. */
static int
write_inputs (const char *dir)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (NsBackend) be = ns_backend_new ("ref", &error);
  g_autoptr (NsModel) m = golden_model (be);
  g_autofree float *x = golden_input ();
  g_autofree char *mpath = g_build_filename (dir, "model.safetensors", NULL);
  g_autofree char *xpath = g_build_filename (dir, "input.f32", NULL);
  if (g_mkdir_with_parents (dir, 0755) != 0
      || !ns_checkpoint_save (m, mpath, NS_DTYPE_F32, &error)
      || !g_file_set_contents (xpath, (const char *) x, sizeof (float) * N * C * H * W,
                               &error))
    {
      g_printerr ("test-net-golden: %s\n", error != NULL ? error->message : dir);
      return 1;
    }
  g_print ("wrote %s and %s\n", mpath, xpath);
  return 0;
}

int
main (int argc, char **argv)
{
  if (argc == 3 && strcmp (argv[1], "--write") == 0)
    return write_inputs (argv[2]);
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/net/golden/ref-eval", test_ref);
  if (NS_HAVE_ONEDNN)
    g_test_add_func ("/net/golden/cpu-infer", test_cpu);
  return g_test_run ();
}
