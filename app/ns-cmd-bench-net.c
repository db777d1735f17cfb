/* SPDX-License-Identifier: MIT
 *
 * ns-cmd-bench-net.c: the network section of `neuroseg bench` (--net): whole-volume
 * inference on a real case with the time of each stage and the achieved GFLOP/s, a
 * per-op-type breakdown (one extra profiled run, every op synchronised), optionally the
 * same in bf16 with the agreement of its labels with fp32, and training throughput
 * (slices per second at batch --train-batch, default 16, on the inference crop).
 *
 * Without --model the network is the default mobilenetv2-unet with Kaiming weights:
 * the speed does not depend on the values (the bf16 agreement is then that of a random
 * network, a weaker check than with trained weights).
 */
#define G_LOG_DOMAIN "neuroseg"

#include "ns-cmd.h"
#include "ns-json.h"

#include "ns-case.h"
#include "ns-checkpoint.h"
#include "ns-infer.h"
#include "ns-normalize.h"

#include <json-glib/json-glib.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int
cmp_double (const void *a, const void *b)
{
  double x = *(const double *) a, y = *(const double *) b;
  return (x > y) - (x < y);
}

static NsModel *
make_model (const NsBenchNetOptions *o, NsBackend *be, GError **error)
{
  if (o->model_path != NULL)
    return ns_checkpoint_load (o->model_path, be, error);
  g_autoptr (NsModelMeta) meta = ns_model_meta_new_default (o->arch != NULL ? o->arch
                                                                           : "mobilenetv2-unet");
  NsModelInit init = { NS_INIT_KAIMING, 0, 1 };
  return ns_model_new (be, meta, &init, error);
}

typedef struct
{
  const char *name;
  double seconds;
} ProfileEntry;

static int
cmp_profile (const void *a, const void *b)
{
  const ProfileEntry *x = a, *y = b;
  return (x->seconds < y->seconds) - (x->seconds > y->seconds);
}

static void
print_profile (const char *what, GHashTable *profile, JsonBuilder *json, gboolean quiet)
{
  GHashTableIter it;
  gpointer key, value;
  g_autoptr (GArray) entries = g_array_new (FALSE, FALSE, sizeof (ProfileEntry));
  double total = 0;

  g_hash_table_iter_init (&it, profile);
  while (g_hash_table_iter_next (&it, &key, &value))
    {
      ProfileEntry e = { key, *(double *) value };
      g_array_append_val (entries, e);
      total += e.seconds;
    }
  g_array_sort (entries, cmp_profile);
  json_builder_set_member_name (json, what);
  json_builder_begin_object (json);
  if (!quiet)
    printf ("net: %s time by op type (profiled run, synchronised per op, %.3f s):\n", what,
            total);
  for (guint i = 0; i < entries->len; i++)
    {
      ProfileEntry *e = &g_array_index (entries, ProfileEntry, i);
      if (!quiet)
        printf ("net:   %-22s %8.3f s  %5.1f %%\n", e->name, e->seconds,
                total > 0 ? 100 * e->seconds / total : 0);
      ns_json_add_number (json, e->name, e->seconds);
    }
  json_builder_end_object (json);
}

static gboolean
bench_inference (const NsBenchNetOptions *o, NsCase *ncase, NsPrecision prec,
                 NsLabelMap **labels_out, JsonBuilder *json, GError **error)
{
  const char *pname = prec == NS_PRECISION_BF16 ? "bf16" : "fp32";
  g_autoptr (NsBackend) be = ns_backend_new (o->device != NULL ? o->device : "cpu", error);
  if (be == NULL || !ns_backend_set_precision (be, prec, error))
    return FALSE;
  g_autoptr (NsModel) model = make_model (o, be, error);
  if (model == NULL)
    return FALSE;
  g_autofree double *times = g_new (double, o->runs);
  g_autoptr (NsInferResult) r = NULL;
  NsInferStats stats[64];
  /* a time measured on the CPU after the device failed is not the device's time */
  NsInferOptions stay = { .no_cpu_fallback = TRUE };

  for (int run = -1; run < o->runs; run++)
    {
      g_clear_pointer (&r, ns_infer_result_free);
      r = ns_infer_run_case (model, ncase, &stay, error);
      if (r == NULL)
        return FALSE;
      if (run >= 0)
        {
          times[run] = r->stats.total;
          if (run < 64)
            stats[run] = r->stats;
          if (!o->json)
            printf ("net: inference %s run %d: %.3f s\n", pname, run + 1, r->stats.total);
        }
    }
  /* The run with the median total. */
  int med = 0;
  {
    g_autofree double *sorted = g_memdup2 (times, sizeof (double) * o->runs);
    qsort (sorted, o->runs, sizeof (double), cmp_double);
    double m = sorted[o->runs / 2];
    for (int i = 0; i < o->runs && i < 64; i++)
      if (times[i] == m)
        med = i;
  }
  NsInferStats *s = &stats[MIN (med, 63)];
  if (!o->json)
    {
      printf ("net: inference %s on %s (%s): %d of %d slices, crop %d x %d, batch %d\n", pname,
              ns_backend_get_name (be), ns_backend_get_device (be), s->slices_run,
              s->slices_total, s->crop_size[0], s->crop_size[1], s->batch_size);
      printf ("net:   normalise %.3f s, crop %.3f s, network %.3f s, postprocess %.3f s, "
              "total %.3f s (median of %d)\n", s->normalise, s->crop, s->forward,
              s->postprocess, s->total, o->runs);
      printf ("net:   %.1f GFLOP, %.1f GFLOP/s in the network (%.2f GFLOP per 240 x 240 "
              "slice equivalent)\n", s->gflop, s->gflop / s->forward,
              ns_model_flops_per_slice (model, 256, 256) / 1e9 * (240.0 * 240) / (256 * 256));
    }
  json_builder_set_member_name (json, pname);
  json_builder_begin_object (json);
  ns_json_add_number (json, "total_s", s->total);
  ns_json_add_number (json, "normalise_s", s->normalise);
  ns_json_add_number (json, "crop_s", s->crop);
  ns_json_add_number (json, "network_s", s->forward);
  ns_json_add_number (json, "postprocess_s", s->postprocess);
  ns_json_add_number (json, "gflop", s->gflop);
  ns_json_add_number (json, "gflops", s->gflop / s->forward);
  ns_json_add_int (json, "slices", s->slices_run);
  json_builder_set_member_name (json, "crop");
  {
    g_autofree char *crop = g_strdup_printf ("%dx%d", s->crop_size[0], s->crop_size[1]);
    json_builder_add_string_value (json, crop);
  }
  ns_json_add_int (json, "batch", s->batch_size);

  if (o->profile)
    {
      ns_model_set_profiling (model, TRUE);
      g_autoptr (NsInferResult) p = ns_infer_run_case (model, ncase, &stay, error);
      if (p == NULL)
        return FALSE;
      print_profile ("inference_ops", ns_model_get_profile (model), json, o->json);
      ns_model_set_profiling (model, FALSE);
    }
  json_builder_end_object (json);
  *labels_out = ns_label_map_ref (r->labels);
  return TRUE;
}

static gboolean
bench_training (const NsBenchNetOptions *o, NsCase *ncase, NsPrecision prec,
                JsonBuilder *json, GError **error)
{
  g_autoptr (NsBackend) be = ns_backend_new (o->device != NULL ? o->device : "cpu", error);
  if (be == NULL || !ns_backend_set_precision (be, prec, error))
    return FALSE;
  g_autoptr (NsModel) model = make_model (o, be, error);
  if (model == NULL)
    return FALSE;
  NsVolume *flair = ncase->modality[NS_MODALITY_FLAIR];
  NsVolume *t1c = ncase->modality[NS_MODALITY_T1C];
  if (t1c == NULL)
    {
      g_set_error (error, NS_NET_ERROR, NS_NET_ERROR_FAILED, "%s: no T1c volume", ncase->dir);
      return FALSE;
    }
  g_autoptr (NsVolume) zf = ns_normalize_zscore (flair, NULL, NULL, error);
  g_autoptr (NsVolume) zt = zf ? ns_normalize_zscore (t1c, NULL, NULL, error) : NULL;
  if (zt == NULL)
    return FALSE;

  const NsGrid *g = &ncase->grid;
  int nx = g->dim[0], ny = g->dim[1], nz = g->dim[2];
  int B = o->train_batch > 0 ? o->train_batch : 16;
  int H = o->train_size, W = o->train_size;
  int x0 = (nx - W) / 2, y0 = (ny - H) / 2;
  gsize plane = (gsize) nx * ny, hw = (gsize) H * W;
  g_autofree float *images = g_new0 (float, (gsize) B * 2 * hw);
  g_autofree float *labels = g_new0 (float, (gsize) B * hw);

  for (int s = 0; s < B; s++)
    {
      int k = nz / 2 - B / 2 + s;
      k = CLAMP (k, 0, nz - 1);
      for (int y = 0; y < H; y++)
        for (int x = 0; x < W; x++)
          {
            int i = x0 + x, j = y0 + y;
            if (i < 0 || j < 0 || i >= nx || j >= ny)
              continue;
            gsize v = (gsize) k * plane + (gsize) j * nx + i;
            images[(gsize) s * 2 * hw + (gsize) y * W + x] = zf->voxels[v];
            images[(gsize) s * 2 * hw + hw + (gsize) y * W + x] = zt->voxels[v];
            guint8 l = ncase->labels != NULL ? ncase->labels->labels[v] : 0;
            labels[(gsize) s * hw + (gsize) y * W + x] = l == 4 ? 3 : l;
          }
    }

  NsAdamParams adam = { .lr = 1e-4f, .beta1 = 0.9f, .beta2 = 0.999f, .eps = 1e-8f };
  int steps = o->train_steps > 0 ? o->train_steps : 3;
  g_autofree double *times = g_new (double, steps);
  for (int st = -1; st < steps; st++)
    {
      gint64 t0 = g_get_monotonic_time ();
      float loss = ns_model_train_step (model, images, labels, B, H, W, &adam, error);
      ns_backend_synchronize (be);
      if (isnan (loss))
        return FALSE;
      if (st >= 0)
        {
          times[st] = (g_get_monotonic_time () - t0) / 1e6;
          if (!o->json)
            printf ("net: training step %d: %.3f s (loss %.4f)\n", st + 1, times[st], loss);
        }
    }
  qsort (times, steps, sizeof (double), cmp_double);
  double med = times[steps / 2];
  double gflop = 3.0 * ns_model_flops_per_slice (model, H, W) * B / 1e9;   /* fwd + 2x bwd */
  if (!o->json)
    printf ("net: training %s batch %d of %d x %d: %.3f s per step, %.1f slices/s, ~%.0f "
            "GFLOP/s (fwd + bwd = 3 x fwd)\n", prec == NS_PRECISION_BF16 ? "bf16" : "fp32", B,
            W, H, med, B / med, gflop / med);
  json_builder_set_member_name (json, "training");
  json_builder_begin_object (json);
  ns_json_add_int (json, "batch", B);
  ns_json_add_int (json, "size", H);
  ns_json_add_number (json, "step_s", med);
  ns_json_add_number (json, "slices_per_s", B / med);
  if (o->profile)
    {
      ns_model_set_profiling (model, TRUE);
      if (isnan (ns_model_train_step (model, images, labels, B, H, W, &adam, error)))
        return FALSE;
      print_profile ("training_ops", ns_model_get_profile (model), json, o->json);
      ns_model_set_profiling (model, FALSE);
    }
  json_builder_end_object (json);
  return TRUE;
}

gboolean
ns_bench_net (const NsBenchNetOptions *o, JsonBuilder *json, GError **error)
{
  g_autoptr (NsCase) ncase = ns_case_load (o->case_path, NS_CASE_LOAD_DEFAULT, error);
  if (ncase == NULL)
    return FALSE;
  g_autoptr (NsLabelMap) fp32 = NULL;
  g_autoptr (NsLabelMap) bf16 = NULL;

  json_builder_set_member_name (json, "net");
  json_builder_begin_object (json);
  if (!o->no_inference)
    {
      if (!bench_inference (o, ncase, NS_PRECISION_FP32, &fp32, json, error))
        return FALSE;
      if (o->bf16)
        {
          if (!bench_inference (o, ncase, NS_PRECISION_BF16, &bf16, json, error))
            return FALSE;
          gsize n = ns_grid_n_voxels (&ncase->grid), same = 0, fg = 0, fg_same = 0;
          for (gsize v = 0; v < n; v++)
            {
              same += fp32->labels[v] == bf16->labels[v];
              if (fp32->labels[v] != 0 || bf16->labels[v] != 0)
                fg++, fg_same += fp32->labels[v] == bf16->labels[v];
            }
          if (!o->json)
            printf ("net: bf16 labels agree with fp32 on %.3f %% of voxels (%.3f %% of the "
                    "%" G_GSIZE_FORMAT " voxels either calls tumour)%s\n", 100.0 * same / n,
                    fg ? 100.0 * fg_same / fg : 100.0, fg,
                    o->model_path == NULL ? " [random weights]" : "");
          ns_json_add_number (json, "bf16_agreement", (double) same / n);
        }
    }
  if (!o->no_training)
    {
      if (!bench_training (o, ncase, o->bf16 ? NS_PRECISION_BF16 : NS_PRECISION_FP32, json,
                           error))
        return FALSE;
    }
  json_builder_end_object (json);
  return TRUE;
}
