/* SPDX-License-Identifier: MIT
 *
 * gpu-forward.c: the network alone on a backend, on the shapes pytorch_reference.py times,
 * so that the two sides compare like for like (build-dir/tests/bench-gpu; a benchmark,
 * not a test).
 *
 *   bench-gpu [--device cuda] [--precision bf16|fp32] [--model M.safetensors] [--runs N]
 *             [--train-batch 32] [--train-size 224] [--profile] [--json]
 *
 * volume: one INFER forward of 155 slices of 2 x 256 x 256 already on the device (in
 * batches of --volume-batch when the whole volume does not fit); slice: the same for one
 * slice; training: ns_model_train_step () at --train-batch x --train-size (upload, forward,
 * loss, backward, Adam).  Each the median of --runs (>= 10) after two warm-ups, timed on
 * the host around a synchronize.  --profile adds one volume forward with a synchronize
 * after every op, summed per op type (where the time goes, launch gaps excluded).
 */
#define G_LOG_DOMAIN "bench-gpu"

#include "ns-backend.h"
#include "ns-checkpoint.h"
#include "ns-model.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

typedef struct
{
  const char *device;
  const char *precision;
  const char *model;
  int runs;
  int volume_batch;
  int train_batch;
  int train_size;
  gboolean profile;
  gboolean json;
} Options;

static int
cmp_double (const void *a, const void *b)
{
  double x = *(const double *) a, y = *(const double *) b;
  return x < y ? -1 : x > y;
}

static double
median (double *t, int n)
{
  qsort (t, n, sizeof (double), cmp_double);
  return t[n / 2];
}

static float *
random_floats (gsize n, guint32 seed, double lo, double hi)
{
  g_autoptr (GRand) r = g_rand_new_with_seed (seed);
  float *x = g_new (float, n);
  for (gsize i = 0; i < n; i++)
    x[i] = (float) g_rand_double_range (r, lo, hi);
  return x;
}

/* Forward of `slices` slices of 256 x 256 in batches of at most `batch` (inputs are
 * device-resident views of one tensor), synchronised; seconds, or < 0 on error. */
static double
time_forward (NsModel *model, NsTensor *input, int slices, int batch, GError **error)
{
  NsBackend *be = ns_model_get_backend (model);
  const gsize per = (gsize) 2 * 256 * 256;
  gint64 t0 = g_get_monotonic_time ();

  for (int s = 0; s < slices; s += batch)
    {
      int n = MIN (batch, slices - s);
      g_autoptr (NsTensor) view = ns_tensor_new_view (input, (gsize) s * per, n, 2, 256, 256);
      if (ns_model_forward (model, view, error) == NULL)
        return -1.0;
    }
  /* synchronises, and a time of ops that failed (and were skipped) is no time */
  if (!ns_backend_check (be, error))
    return -1.0;
  return (g_get_monotonic_time () - t0) / 1e6;
}

static gboolean
bench_inference (NsModel *model, const Options *o, int slices, double *ms, GError **error)
{
  NsBackend *be = ns_model_get_backend (model);
  const gsize per = (gsize) 2 * 256 * 256;
  g_autofree float *host = random_floats (per * slices, 11, -2.0, 2.0);
  g_autoptr (NsTensor) input = ns_tensor_new (be, slices, 2, 256, 256, error);
  g_autofree double *t = g_new (double, o->runs);
  int batch = MIN (slices, o->volume_batch);

  if (input == NULL)
    return FALSE;
  ns_tensor_upload (input, host);
  for (int run = -2; run < o->runs; run++)
    {
      g_autoptr (GError) local = NULL;
      double s = time_forward (model, input, slices, batch, &local);
      if (s < 0 && batch > 8 && g_error_matches (local, NS_NET_ERROR, NS_NET_ERROR_OUT_OF_MEMORY))
        {
          /* Smaller batches, as the inference engine does. */
          g_printerr ("bench-gpu: %d slices at once: %s; batches of %d\n", batch,
                      local->message, batch / 2);
          batch /= 2;
          ns_model_trim (model);
          run--;
          continue;
        }
      if (s < 0)
        {
          g_propagate_error (error, g_steal_pointer (&local));
          return FALSE;
        }
      if (run >= 0)
        t[run] = s;
    }
  *ms = 1000.0 * median (t, o->runs);
  if (o->profile && slices > 1)
    {
      ns_model_set_profiling (model, TRUE);
      if (time_forward (model, input, slices, batch, error) < 0)
        return FALSE;
      GHashTable *prof = ns_model_get_profile (model);
      GHashTableIter it;
      gpointer key, value;
      printf (o->json ? "{\"profile_ms\": {" : "profile (ms, one volume, synchronised per op):\n");
      gboolean first = TRUE;
      g_hash_table_iter_init (&it, prof);
      while (g_hash_table_iter_next (&it, &key, &value))
        {
          printf (o->json ? "%s\"%s\": %.3f" : "%s  %-12s %8.3f\n", o->json && !first ? ", " : "",
                  (const char *) key, 1000.0 * *(double *) value);
          first = FALSE;
        }
      if (o->json)
        printf ("}}\n");
      ns_model_set_profiling (model, FALSE);
    }
  ns_model_trim (model);
  return TRUE;
}

static gboolean
bench_training (NsModel *model, const Options *o, double *step_ms, GError **error)
{
  const int B = o->train_batch, S = o->train_size;
  g_autofree float *images = random_floats ((gsize) B * 2 * S * S, 12, -2.0, 2.0);
  g_autofree float *labels = random_floats ((gsize) B * S * S, 13, 0.0, 4.0);
  g_autofree double *t = g_new (double, o->runs);
  const NsAdamParams adam = { 1e-4f, 0.9f, 0.999f, 1e-8f, 0.0f, 1 };

  for (gsize i = 0; i < (gsize) B * S * S; i++)
    labels[i] = (float) (int) labels[i];
  ns_model_set_mode (model, NS_MODEL_TRAIN);
  for (int run = -2; run < o->runs; run++)
    {
      gint64 t0 = g_get_monotonic_time ();
      float loss = ns_model_train_step (model, images, labels, B, S, S, &adam, error);
      ns_backend_synchronize (ns_model_get_backend (model));
      if (isnan (loss))
        return FALSE;
      if (run >= 0)
        t[run] = (g_get_monotonic_time () - t0) / 1e3;
    }
  *step_ms = median (t, o->runs);
  ns_model_trim (model);
  return TRUE;
}

int
main (int argc, char **argv)
{
  Options o = { "cuda", "bf16", NULL, 10, 155, 32, 224, FALSE, FALSE };
  g_autoptr (GError) error = NULL;
  g_autofree char *device = NULL, *precision = NULL, *model_path = NULL;
  GOptionEntry entries[] = {
    { "device", 0, 0, G_OPTION_ARG_STRING, &device, "cuda (default), cpu or ref", "DEV" },
    { "precision", 0, 0, G_OPTION_ARG_STRING, &precision, "bf16 (default) or fp32", "P" },
    { "model", 0, 0, G_OPTION_ARG_FILENAME, &model_path, "checkpoint (default: random)", "M" },
    { "runs", 'n', 0, G_OPTION_ARG_INT, &o.runs, "timed runs (at least 10)", "N" },
    { "volume-batch", 0, 0, G_OPTION_ARG_INT, &o.volume_batch, "slices per forward (155)", "B" },
    { "train-batch", 0, 0, G_OPTION_ARG_INT, &o.train_batch, "training batch (32)", "B" },
    { "train-size", 0, 0, G_OPTION_ARG_INT, &o.train_size, "training crop (224)", "S" },
    { "profile", 0, 0, G_OPTION_ARG_NONE, &o.profile, "time per op type", NULL },
    { "json", 0, 0, G_OPTION_ARG_NONE, &o.json, "one JSON object per line", NULL },
    { NULL }
  };
  g_autoptr (GOptionContext) ctx = g_option_context_new ("- the network alone on a backend");
  g_option_context_add_main_entries (ctx, entries, NULL);
  if (!g_option_context_parse (ctx, &argc, &argv, &error))
    {
      g_printerr ("bench-gpu: %s\n", error->message);
      return 2;
    }
  o.device = device != NULL ? device : o.device;
  o.precision = precision != NULL ? precision : o.precision;
  o.model = model_path;
  o.runs = MAX (o.runs, 10);
  o.volume_batch = MAX (o.volume_batch, 1);

  g_autoptr (NsBackend) be = ns_backend_new (o.device, &error);
  if (be == NULL
      || !ns_backend_set_precision (be, g_ascii_strcasecmp (o.precision, "fp32") == 0
                                    ? NS_PRECISION_FP32 : NS_PRECISION_BF16, &error))
    {
      g_printerr ("bench-gpu: %s\n", error->message);
      return 1;
    }
  g_autoptr (NsModel) model = NULL;
  if (o.model != NULL)
    model = ns_checkpoint_load (o.model, be, &error);
  else
    {
      g_autoptr (NsModelMeta) meta = ns_model_meta_new_default ("mobilenetv2-unet");
      const NsModelInit init = { NS_INIT_KAIMING, 0.0f, 3 };
      model = ns_model_new (be, meta, &init, &error);
    }
  if (model == NULL)
    {
      g_printerr ("bench-gpu: %s\n", error->message);
      return 1;
    }

  double volume_ms = 0, slice_ms = 0, step_ms = 0;
  ns_model_set_mode (model, NS_MODEL_INFER);
  if (!bench_inference (model, &o, 155, &volume_ms, &error)
      || !bench_inference (model, &o, 1, &slice_ms, &error)
      || !bench_training (model, &o, &step_ms, &error))
    {
      g_printerr ("bench-gpu: %s\n", error->message);
      return 1;
    }
  const double sps = o.train_batch / (step_ms / 1000.0);
  if (o.json)
    printf ("{\"device\": \"%s\", \"precision\": \"%s\", \"volume_ms\": %.3f, "
            "\"slice_ms\": %.3f, \"train_step_ms\": %.3f, \"train_slices_per_s\": %.1f, "
            "\"train_batch\": %d, \"train_size\": %d}\n", ns_backend_get_device (be),
            o.precision, volume_ms, slice_ms, step_ms, sps, o.train_batch, o.train_size);
  else
    printf ("%s, %s: volume (155 x 2 x 256 x 256) %.2f ms, one slice %.2f ms, training "
            "%.0f slices/s (batch %d of %d x %d, %.1f ms a step)\n", ns_backend_get_device (be),
            o.precision, volume_ms, slice_ms, sps, o.train_batch, o.train_size, o.train_size,
            step_ms);
  return 0;
}
