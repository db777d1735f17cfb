/* SPDX-License-Identifier: MIT
 *
 * test-gpu-model.c: the whole MobileNetV2-U-Net on the CUDA backend against the CPU
 * (suite gpu; exits 77 where no CUDA device is usable).
 *
 * The model is the shipped one when resources/models/ holds a checkpoint, else a
 * Kaiming-initialised one from a fixed seed (the paper's N(0, 0.01) gives logits so close
 * to each other that the argmax is decided by rounding).  The CPU side is oneDNN's `cpu`
 * backend when this build has it, else `ref` (the GPU machine has no oneDNN), so the
 * bundled case is cut to a slab of axial slices through the tumour to keep `ref` within
 * a minute:
 *   - labels: the inference engine on the slab; GPU fp32 labels agree with the CPU's on
 *     >= 99.9 % of the brain voxels and WT/TC/ET Dice against the case's truth within
 *     0.005 of the CPU's; GPU bf16 on >= 97 % (a random model's logits are close to each
 *     other, so bf16 rounding flips more of them than a trained model's would).
 *   - training: one epoch (the slab's slices, cropped around the tumour, in batches of 2)
 *     from the same initialisation on both: every step's loss within 1 % in fp32.
 */
#define G_LOG_DOMAIN "test-gpu-model"

#include "ns-backend.h"
#include "ns-case.h"
#include "ns-checkpoint.h"
#include "ns-infer.h"
#include "ns-metrics.h"
#include "ns-model.h"
#include "ns-test-util.h"

#include <math.h>
#include <string.h>

/* The backend under test (another name only to try the test itself on a CPU machine). */
#ifndef GPU_BACKEND
#define GPU_BACKEND "cuda"
#endif

#define SLAB 4          /* axial slices through the tumour */
#define CROP 96         /* training crop, a multiple of 32 */

static const char *cpu_name = "ref";
static NsCase *the_case = NULL;
static int slab_k0 = 0;

static NsBackend *
backend (const char *name, NsPrecision precision)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (NsBackend) be = ns_backend_new (name, &error);
  g_assert_no_error (error);
  g_assert_true (ns_backend_set_precision (be, precision, &error));
  g_assert_no_error (error);
  return g_steal_pointer (&be);
}

/* The shipped checkpoint (the first *.safetensors of resources/models/), or NULL. */
static char *
shipped_model_path (void)
{
  g_autofree char *dir = ns_test_src_path ("resources", "models", NULL);
  g_autoptr (GDir) d = g_dir_open (dir, 0, NULL);
  const char *name;

  while (d != NULL && (name = g_dir_read_name (d)) != NULL)
    if (g_str_has_suffix (name, ".safetensors"))
      return g_build_filename (dir, name, NULL);
  return NULL;
}

static NsModel *
model_on (NsBackend *be)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *path = shipped_model_path ();
  NsModel *model;

  if (path != NULL)
    model = ns_checkpoint_load (path, be, &error);
  else
    {
      g_autoptr (NsModelMeta) meta = ns_model_meta_new_default ("mobilenetv2-unet");
      const NsModelInit init = { NS_INIT_KAIMING, 0.0f, 7 };
      model = ns_model_new (be, meta, &init, &error);
    }
  g_assert_no_error (error);
  g_assert_nonnull (model);
  return model;
}

/* slices k0 .. k0 + n - 1 of a volume as a volume of n slices */
static NsVolume *
slab_of (const NsVolume *v, int k0, int n)
{
  g_autoptr (GError) error = NULL;
  NsGrid grid = v->grid;
  grid.dim[2] = n;
  NsVolume *s = ns_volume_new (&grid, &error);
  g_assert_no_error (error);
  const gsize plane = (gsize) grid.dim[0] * grid.dim[1];
  ns_volume_read_floats (v, (gsize) k0 * plane, plane * n, s->voxels);
  return s;
}

static gboolean
in_region (guint8 label, const char *region)
{
  if (strcmp (region, "WT") == 0)
    return label == 1 || label == 2 || label == 4;
  if (strcmp (region, "TC") == 0)
    return label == 1 || label == 4;
  return label == 4;
}

static double
region_dice (const guint8 *pred, const guint8 *truth, gsize n, const char *region)
{
  guint64 np = 0, nt = 0, both = 0;
  for (gsize i = 0; i < n; i++)
    {
      gboolean p = in_region (pred[i], region), t = in_region (truth[i], region);
      np += p;
      nt += t;
      both += p && t;
    }
  return ns_metrics_dice (np, nt, both);
}

static NsInferResult *
infer_slab (NsBackend *be)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (NsModel) model = model_on (be);
  g_autoptr (NsVolume) flair = slab_of (the_case->modality[NS_MODALITY_FLAIR], slab_k0, SLAB);
  g_autoptr (NsVolume) t1c = slab_of (the_case->modality[NS_MODALITY_T1C], slab_k0, SLAB);
  NsVolume *inputs[2] = { flair, t1c };
  gint64 t0 = g_get_monotonic_time ();

  /* a device failure is the test's failure, not a quiet finish on the CPU */
  NsInferOptions opt = { .no_cpu_fallback = TRUE };
  NsInferResult *r = ns_infer_run (model, inputs, 2, NULL, &opt, &error);
  g_assert_no_error (error);
  g_assert_false (r->stats.cpu_fallback);
  g_test_message ("%s: %d slices in %.2f s", ns_backend_get_device (be), r->stats.slices_run,
                  (g_get_monotonic_time () - t0) / 1e6);
  return r;
}

static void
test_labels_agree (void)
{
  g_autoptr (NsBackend) cpu = backend (cpu_name, NS_PRECISION_FP32);
  g_autoptr (NsBackend) gpu = backend (GPU_BACKEND, NS_PRECISION_FP32);
  NsInferResult *want = infer_slab (cpu);
  NsInferResult *got = infer_slab (gpu);
  const NsVolume *flair = the_case->modality[NS_MODALITY_FLAIR];
  const gsize plane = (gsize) flair->grid.dim[0] * flair->grid.dim[1], n = plane * SLAB;
  const guint8 *truth = the_case->labels->labels + (gsize) slab_k0 * plane;
  gsize brain = 0, agree = 0, agree_bf16 = 0;

  g_autoptr (NsBackend) gpu16 = NULL;
  NsInferResult *got16 = NULL;
  if (ns_backend_supports_op (gpu, NS_OP_BF16))
    {
      gpu16 = backend (GPU_BACKEND, NS_PRECISION_BF16);
      got16 = infer_slab (gpu16);
    }

  for (gsize i = 0; i < n; i++)
    if (ns_volume_get_value (flair, (gsize) slab_k0 * plane + i) != 0.0f)
      {
        brain++;
        agree += got->labels->labels[i] == want->labels->labels[i];
        if (got16 != NULL)
          agree_bf16 += got16->labels->labels[i] == want->labels->labels[i];
      }
  g_assert_cmpuint (brain, >, 10000);
  g_test_message ("fp32: labels agree on %.4f %% of %zu brain voxels", 100.0 * agree / brain,
                  brain);
  g_assert_cmpfloat ((double) agree / brain, >=, 0.999);
  if (got16 != NULL)
    {
      g_test_message ("bf16: labels agree on %.4f %%", 100.0 * agree_bf16 / brain);
      g_assert_cmpfloat ((double) agree_bf16 / brain, >=, 0.97);
    }

  static const char *const regions[] = { "WT", "TC", "ET" };
  for (int r = 0; r < 3; r++)
    {
      double dc = region_dice (want->labels->labels, truth, n, regions[r]);
      double dg = region_dice (got->labels->labels, truth, n, regions[r]);
      g_test_message ("%s Dice: cpu %.4f, gpu %.4f", regions[r], dc, dg);
      g_assert_cmpfloat (fabs (dg - dc), <=, 0.005);
    }
  ns_infer_result_free (want);
  ns_infer_result_free (got);
  if (got16 != NULL)
    ns_infer_result_free (got16);
}

/* The slab's slices: z-scored FLAIR and T1c inside the brain, CROP x CROP around the
 * tumour's centre, labels as class indices (BraTS 0, 1, 2, 4 -> 0, 1, 2, 3). */
static void
training_batches (float **images, float **labels, int *n_slices)
{
  const NsVolume *vols[2] = { the_case->modality[NS_MODALITY_FLAIR],
                              the_case->modality[NS_MODALITY_T1C] };
  const NsGrid *g = &vols[0]->grid;
  const gsize plane = (gsize) g->dim[0] * g->dim[1];
  const guint8 *truth = the_case->labels->labels;
  double ci = 0, cj = 0, count = 0;

  for (int k = slab_k0; k < slab_k0 + SLAB; k++)
    for (int j = 0; j < g->dim[1]; j++)
      for (int i = 0; i < g->dim[0]; i++)
        if (truth[ns_grid_index (g, i, j, k)] != 0)
          ci += i, cj += j, count++;
  const int i0 = CLAMP ((int) (ci / MAX (count, 1)) - CROP / 2, 0, g->dim[0] - CROP);
  const int j0 = CLAMP ((int) (cj / MAX (count, 1)) - CROP / 2, 0, g->dim[1] - CROP);

  *n_slices = SLAB;
  *images = g_new (float, (gsize) SLAB * 2 * CROP * CROP);
  *labels = g_new (float, (gsize) SLAB * CROP * CROP);
  for (int m = 0; m < 2; m++)
    {
      double sum = 0, sq = 0, nb = 0;
      for (gsize v = 0; v < plane * SLAB; v++)
        {
          const float x = ns_volume_get_value (vols[m], (gsize) slab_k0 * plane + v);
          if (x != 0.0f)
            sum += x, sq += (double) x * x, nb++;
        }
      const double mean = sum / nb, sd = sqrt (MAX (sq / nb - mean * mean, 1e-12));
      for (int s = 0; s < SLAB; s++)
        for (int y = 0; y < CROP; y++)
          for (int x = 0; x < CROP; x++)
            {
              const float v =
                ns_volume_get_value (vols[m], ns_grid_index (g, i0 + x, j0 + y, slab_k0 + s));
              (*images)[(((gsize) s * 2 + m) * CROP + y) * CROP + x] =
                v != 0.0f ? (float) ((v - mean) / sd) : 0.0f;
            }
    }
  for (int s = 0; s < SLAB; s++)
    for (int y = 0; y < CROP; y++)
      for (int x = 0; x < CROP; x++)
        {
          const guint8 l = truth[ns_grid_index (g, i0 + x, j0 + y, slab_k0 + s)];
          (*labels)[((gsize) s * CROP + y) * CROP + x] = l == 4 ? 3.0f : (float) l;
        }
}

static void
test_training_epoch (void)
{
  g_autoptr (NsBackend) cpu = backend (cpu_name, NS_PRECISION_FP32);
  g_autoptr (NsBackend) gpu = backend (GPU_BACKEND, NS_PRECISION_FP32);
  g_autoptr (NsModel) mc = model_on (cpu);
  g_autoptr (NsModel) mg = model_on (gpu);
  g_autofree float *images = NULL;
  g_autofree float *labels = NULL;
  const NsAdamParams adam = { 1e-3f, 0.9f, 0.999f, 1e-8f, 0.0f, 1 };
  int n_slices = 0;

  training_batches (&images, &labels, &n_slices);
  ns_model_set_mode (mc, NS_MODEL_TRAIN);
  ns_model_set_mode (mg, NS_MODEL_TRAIN);
  for (int s = 0; s + 2 <= n_slices; s += 2)
    {
      g_autoptr (GError) error = NULL;
      const float *im = images + (gsize) s * 2 * CROP * CROP;
      const float *lb = labels + (gsize) s * CROP * CROP;
      float lc = ns_model_train_step (mc, im, lb, 2, CROP, CROP, &adam, &error);
      g_assert_no_error (error);
      float lg = ns_model_train_step (mg, im, lb, 2, CROP, CROP, &adam, &error);
      g_assert_no_error (error);
      g_test_message ("step %d: loss cpu %.6f, gpu %.6f (%.3f %%)", s / 2, lc, lg,
                      100.0 * fabs (lg - lc) / fabs (lc));
      g_assert_true (isfinite (lg));
      g_assert_cmpfloat (fabs (lg - lc), <=, 0.01 * fabs (lc));
    }
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
  g_clear_pointer (&probe, ns_backend_free);

  g_autoptr (NsBackend) cpu = ns_backend_new ("cpu", NULL);
  cpu_name = cpu != NULL ? "cpu" : "ref";
  g_print ("# CPU side: %s\n", cpu_name);

  the_case = ns_case_load (ns_test_sample_case (), NS_CASE_LOAD_DEFAULT, &error);
  g_assert_no_error (error);
  g_assert_nonnull (the_case->labels);
  g_assert_nonnull (the_case->modality[NS_MODALITY_T1C]);

  /* the slab starts at the axial slice with the most tumour */
  const NsGrid *g = &the_case->grid;
  const gsize plane = (gsize) g->dim[0] * g->dim[1];
  gsize best = 0;
  for (int k = 0; k < g->dim[2]; k++)
    {
      gsize n = 0;
      for (gsize v = 0; v < plane; v++)
        n += the_case->labels->labels[(gsize) k * plane + v] != 0;
      if (n > best)
        best = n, slab_k0 = k;
    }
  slab_k0 = CLAMP (slab_k0 - SLAB / 2, 0, g->dim[2] - SLAB);

  g_test_add_func ("/gpu/model/labels-agree", test_labels_agree);
  g_test_add_func ("/gpu/model/training-epoch", test_training_epoch);
  int status = g_test_run ();
  ns_case_unref (the_case);
  return status;
}
