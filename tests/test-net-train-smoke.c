/* SPDX-License-Identifier: MIT
 *
 * test-net-train-smoke.c: training end to end on real data: two axial slices of the
 * bundled sample case (FLAIR + T1c, z-scored in the brain, cropped around the tumour,
 * labels 0/1/2/4 as classes 0..3) must be overfitted by the mobilenetv2-unet: the
 * soft-Dice + cross-entropy loss falls by 10x within a bounded number of Adam steps.
 * Runs on the oneDNN cpu backend when it is compiled in (128 x 128 crops), else on ref
 * (64 x 64).  Afterwards the trained model, saved and loaded again, predicts the
 * training slices through the inference path (folded batch-norm) as it did in eval mode.
 */
#define G_LOG_DOMAIN "ns-test"

#include "ns-case.h"
#include "ns-checkpoint.h"
#include "ns-normalize.h"
#include "ns-test-util.h"

#include <math.h>
#include <string.h>

#define MAX_STEPS 300

static int
class_of (guint8 label)
{
  return label == 4 ? 3 : label;   /* BraTS 0, 1, 2, 4 -> classes 0..3 */
}

static void
test_overfit (void)
{
  g_autoptr (GError) error = NULL;
  const char *const *compiled = ns_backend_list_compiled ();
  gboolean have_cpu = FALSE;
  for (const char *const *n = compiled; *n != NULL; n++)
    have_cpu |= strcmp (*n, "cpu") == 0;
  const char *device = have_cpu ? "cpu" : "ref";
  const int S = have_cpu ? 128 : 64, N = 2;

  g_autoptr (NsCase) ncase = ns_case_load (ns_test_sample_case (), NS_CASE_LOAD_DEFAULT, &error);
  g_assert_no_error (error);
  g_assert_nonnull (ncase->labels);
  g_assert_nonnull (ncase->modality[NS_MODALITY_T1C]);
  const NsGrid *g = &ncase->grid;
  int nx = g->dim[0], ny = g->dim[1], nz = g->dim[2];
  gsize plane = (gsize) nx * ny;

  g_autoptr (NsVolume) flair = ns_normalize_zscore (ncase->modality[NS_MODALITY_FLAIR], NULL,
                                                    NULL, &error);
  g_assert_no_error (error);
  g_autoptr (NsVolume) t1c = ns_normalize_zscore (ncase->modality[NS_MODALITY_T1C], NULL, NULL,
                                                  &error);
  g_assert_no_error (error);

  /* The slice with the most enhancing tumour, and one 6 slices away. */
  int best = 0;
  gsize best_count = 0;
  for (int k = 0; k < nz; k++)
    {
      gsize c = 0;
      for (gsize v = 0; v < plane; v++)
        c += ncase->labels->labels[(gsize) k * plane + v] == 4;
      if (c > best_count)
        best_count = c, best = k;
    }
  g_assert_cmpuint (best_count, >, 0);
  int slices[2] = { best, best + 6 < nz ? best + 6 : best - 6 };

  /* Crop centre: the tumour's centroid on the first slice. */
  double cx = 0, cy = 0, n_t = 0;
  for (int j = 0; j < ny; j++)
    for (int i = 0; i < nx; i++)
      if (ncase->labels->labels[(gsize) best * plane + (gsize) j * nx + i] != 0)
        cx += i, cy += j, n_t++;
  int x0 = CLAMP ((int) (cx / n_t) - S / 2, 0, nx - S);
  int y0 = CLAMP ((int) (cy / n_t) - S / 2, 0, ny - S);

  g_autofree float *images = g_new0 (float, (gsize) N * 2 * S * S);
  g_autofree float *labels = g_new0 (float, (gsize) N * S * S);
  int present[4] = { 0 };
  for (int s = 0; s < N; s++)
    for (int y = 0; y < S; y++)
      for (int x = 0; x < S; x++)
        {
          gsize v = (gsize) slices[s] * plane + (gsize) (y0 + y) * nx + (x0 + x);
          gsize p = (gsize) y * S + x;
          images[(gsize) s * 2 * S * S + p] = ns_volume_get_value (flair, v);
          images[(gsize) s * 2 * S * S + (gsize) S * S + p] = ns_volume_get_value (t1c, v);
          int c = class_of (ncase->labels->labels[v]);
          labels[(gsize) s * S * S + p] = (float) c;
          present[c]++;
        }
  g_test_message ("%s backend, slices %d and %d, crop %d x %d at (%d, %d), class voxels "
                  "%d %d %d %d", device, slices[0], slices[1], S, S, x0, y0, present[0],
                  present[1], present[2], present[3]);

  g_autoptr (NsBackend) be = ns_backend_new (device, &error);
  g_assert_no_error (error);
  g_autoptr (NsModelMeta) meta = ns_model_meta_new_default ("mobilenetv2-unet");
  NsModelInit init = { NS_INIT_KAIMING, 0, 1 };
  g_autoptr (NsModel) model = ns_model_new (be, meta, &init, &error);
  g_assert_no_error (error);

  NsAdamParams adam = { .lr = 2e-3f, .beta1 = 0.9f, .beta2 = 0.999f, .eps = 1e-8f };
  float first = NAN, last = NAN;
  int step;
  gint64 t0 = g_get_monotonic_time ();
  for (step = 0; step < MAX_STEPS; step++)
    {
      float loss = ns_model_train_step (model, images, labels, N, S, S, &adam, &error);
      g_assert_no_error (error);
      g_assert_true (isfinite (loss));
      if (step == 0)
        first = loss;
      last = loss;
      if (step % 10 == 0)
        g_test_message ("step %3d loss %.4f", step, loss);
      if (loss < first / 10)
        break;
    }
  double secs = (g_get_monotonic_time () - t0) / 1e6;
  g_test_message ("loss %.4f -> %.4f in %d steps (%.1f s, %.2f s/step)", first, last, step + 1,
                  secs, secs / (step + 1));
  g_assert_cmpfloat (last, <, first / 10);
  g_assert_cmpint (step, <, MAX_STEPS);

  /* The trained model through a checkpoint and the folded inference path.  With batch
   * statistics from only two slices, eval-mode (running statistics) predictions are not
   * the training ones; compare INFER against EVAL of the same weights instead. */
  g_autofree char *path = g_build_filename (ns_test_tmpdir (), "smoke.safetensors", NULL);
  g_assert_true (ns_checkpoint_save (model, path, NS_DTYPE_F32, &error));
  g_assert_no_error (error);
  g_autoptr (NsModel) loaded = ns_checkpoint_load (path, be, &error);
  g_assert_no_error (error);
  g_autoptr (NsTensor) input = ns_tensor_new (be, N, 2, S, S, &error);
  g_assert_no_error (error);
  ns_tensor_upload (input, images);
  gsize nout = (gsize) N * 4 * S * S;
  g_autofree float *eval = g_new (float, nout);
  g_autofree float *infer = g_new (float, nout);
  g_autofree double *want = g_new (double, nout);
  ns_model_set_mode (model, NS_MODEL_EVAL);
  NsTensor *logits = ns_model_forward (model, input, &error);
  g_assert_no_error (error);
  ns_tensor_download (logits, eval);
  ns_model_set_mode (loaded, NS_MODEL_INFER);
  logits = ns_model_forward (loaded, input, &error);
  g_assert_no_error (error);
  ns_tensor_download (logits, infer);
  for (gsize i = 0; i < nout; i++)
    want[i] = eval[i];
  g_assert_true (ns_check_tensor ("infer vs eval after training", infer, want, nout, 1e-3));
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/net/train-smoke/overfit-two-slices", test_overfit);
  return g_test_run ();
}
