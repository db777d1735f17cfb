/* SPDX-License-Identifier: MIT
 *
 * ns-infer.c: the inference engine (see ns-infer.h).
 *
 * Batching: every batch has the same shape (B, C, H, W) so that the model's tensors are
 * allocated once; B is the largest count the memory budget allows (the model's own
 * per-slice estimate plus the host buffers), then evened out over the batches so that
 * the last one, padded with empty slices, wastes fewer than n_batches slices.
 * Post-processing needs only the argmax, so the logits are downloaded; the softmax runs
 * only when probabilities or the entropy are wanted.
 */
#define G_LOG_DOMAIN "neuroseg-net"

#include "ns-infer.h"

#include "ns-data-error.h"
#include "ns-normalize.h"
#include "ns-backend-private.h"
#include "ns-config.h"

#include <math.h>
#include <string.h>

#define DEFAULT_BUDGET ((gsize) 1 << 30)

void
ns_infer_result_free (NsInferResult *r)
{
  if (r == NULL)
    return;
  if (r->labels != NULL)
    ns_label_map_unref (r->labels);
  if (r->probabilities != NULL)
    {
      for (int k = 0; k < r->n_classes; k++)
        if (r->probabilities[k] != NULL)
          ns_volume_unref (r->probabilities[k]);
      g_free (r->probabilities);
    }
  if (r->entropy != NULL)
    ns_volume_unref (r->entropy);
  g_free (r);
}

static double
seconds_since (gint64 t0)
{
  return (g_get_monotonic_time () - t0) / 1e6;
}

typedef struct
{
  NsVolume *input;
  const NsLabelMap *brain_mask;   /* shared, nullable */
  GThread *thread;
  NsLabelMap *mask;               /* own mask when brain_mask is NULL */
  NsVolume *result;
  GError *error;
} NormJob;

/* z-score of one volume inside its brain (all zero when it has none). */
static gpointer
normalise_job (gpointer data)
{
  NormJob *job = data;
  const NsLabelMap *mask = job->brain_mask;
  if (mask == NULL)
    {
      job->mask = ns_normalize_brain_mask (job->input, &job->error);
      if (job->mask == NULL)
        return NULL;
      mask = job->mask;
    }
  gsize n = ns_grid_n_voxels (&job->input->grid), count = 0;
  for (gsize v = 0; v < n; v++)
    count += mask->labels[v] != 0;
  if (count == 0)
    job->result = ns_volume_new (&job->input->grid, &job->error);
  else
    job->result = ns_normalize_zscore (job->input, mask, NULL, &job->error);
  if (job->brain_mask != NULL && job->mask == NULL)
    job->mask = ns_label_map_ref ((NsLabelMap *) job->brain_mask);
  return NULL;
}

/* The batch size for n slices of per_slice bytes in budget: the largest that fits (at
 * least one), then evened out over the batches it takes. */
static int
batch_for_budget (int n, gsize per_slice, gsize budget, int max_batch)
{
  int bmax = (int) MIN ((gsize) n, MAX (budget / MAX (per_slice, 1), 1));
  if (max_batch > 0)
    bmax = MIN (bmax, max_batch);
  int n_batches = (n + bmax - 1) / bmax;
  return (n + n_batches - 1) / n_batches;
}

typedef struct
{
  NsBackend *be;
  float *in, *out;
} HostBuffers;

static void
host_buffers_clear (HostBuffers *h)
{
  if (h->be != NULL)
    {
      ns_backend_host_free (h->be, h->in);
      ns_backend_host_free (h->be, h->out);
    }
  h->in = h->out = NULL;
  h->be = NULL;
}

G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (HostBuffers, host_buffers_clear)

/* Whether running out of memory on be may move to the CPU: be is another device, or a
 * CPU backend held to a memory limit smaller than the host's. */
static gboolean
can_fall_back (NsBackend *be)
{
  const char *name = ns_backend_get_name (be);
  return (strcmp (name, "cpu") != 0 && strcmp (name, "ref") != 0) || be->mem_limit > 0;
}

NsInferResult *
ns_infer_run (NsModel *model, NsVolume *const *inputs, int n_inputs,
              const NsLabelMap *brain_mask, const NsInferOptions *options, GError **error)
{
  g_return_val_if_fail (model != NULL && inputs != NULL, NULL);

  const NsModelMeta *meta = ns_model_get_meta (model);
  NsBackend *be = ns_model_get_backend (model);
  NsInferOptions defaults = { 0 };
  const NsInferOptions *opt = options != NULL ? options : &defaults;
  int C = ns_model_meta_n_inputs (meta), K = meta->n_classes;
  gint64 t_start = g_get_monotonic_time (), t0;

  if (n_inputs != C)
    {
      g_set_error (error, NS_NET_ERROR, NS_NET_ERROR_FAILED,
                   "the model takes %d input volumes, %d given", C, n_inputs);
      return NULL;
    }
  const NsGrid *grid = &inputs[0]->grid;
  for (int c = 1; c < C; c++)
    if (!ns_grid_equal (grid, &inputs[c]->grid))
      {
        g_set_error (error, NS_DATA_ERROR, NS_DATA_ERROR_GRID_MISMATCH,
                     "%s: not on the grid of %s",
                     inputs[c]->path != NULL ? inputs[c]->path : "input volume",
                     inputs[0]->path != NULL ? inputs[0]->path : "the first input");
        return NULL;
      }
  if (brain_mask != NULL && !ns_grid_equal (grid, &brain_mask->grid))
    {
      g_set_error (error, NS_DATA_ERROR, NS_DATA_ERROR_GRID_MISMATCH,
                   "%s: brain mask not on the grid of the images",
                   brain_mask->path != NULL ? brain_mask->path : "brain mask");
      return NULL;
    }

  g_autoptr (NsInferResult) r = g_new0 (NsInferResult, 1);
  NsInferStats *st = &r->stats;
  int nx = grid->dim[0], ny = grid->dim[1], nz = grid->dim[2];
  gsize plane = (gsize) nx * ny, nvox = plane * nz;

  r->n_classes = K;
  r->labels = ns_label_map_new (grid, error);
  if (r->labels == NULL)
    return NULL;
  if (opt->want_probabilities)
    {
      r->probabilities = g_new0 (NsVolume *, K);
      for (int k = 0; k < K; k++)
        {
          r->probabilities[k] = ns_volume_new (grid, error);
          if (r->probabilities[k] == NULL)
            return NULL;
          g_free (r->probabilities[k]->name);
          r->probabilities[k]->name = g_strdup (meta->classes[k].name);
          if (k == 0)
            for (gsize v = 0; v < nvox; v++)
              r->probabilities[0]->voxels[v] = 1.0f;
        }
    }
  if (opt->want_entropy)
    {
      r->entropy = ns_volume_new (grid, error);
      if (r->entropy == NULL)
        return NULL;
      g_free (r->entropy->name);
      r->entropy->name = g_strdup ("entropy");
    }
  gboolean want_softmax = opt->want_probabilities || opt->want_entropy;
  double entropy_norm = K > 1 ? 1.0 / log ((double) K) : 1.0;
  st->slices_total = nz;

  /* ---- normalise: one thread per input volume ---- */
  t0 = g_get_monotonic_time ();
  g_autofree guint8 *brain = g_new0 (guint8, nvox);
  g_autoptr (GPtrArray) normed = g_ptr_array_new_with_free_func ((GDestroyNotify) ns_volume_unref);
  g_autofree NormJob *jobs = g_new0 (NormJob, C);
  for (int c = 0; c < C; c++)
    {
      jobs[c].input = inputs[c];
      jobs[c].brain_mask = brain_mask;
      if (c > 0)
        jobs[c].thread = g_thread_try_new ("ns-normalise", normalise_job, &jobs[c], NULL);
      if (jobs[c].thread == NULL)
        normalise_job (&jobs[c]);
    }
  gboolean ok = TRUE;
  for (int c = 0; c < C; c++)
    {
      if (jobs[c].thread != NULL)
        g_thread_join (jobs[c].thread);
      if (jobs[c].result == NULL && ok)
        {
          g_propagate_error (error, jobs[c].error);
          jobs[c].error = NULL;
          ok = FALSE;
        }
      g_clear_error (&jobs[c].error);
      if (jobs[c].mask != NULL)
        {
          const guint8 *m = jobs[c].mask->labels;
          for (gsize v = 0; v < nvox; v++)
            brain[v] |= m[v];
          ns_label_map_unref (jobs[c].mask);
        }
      if (jobs[c].result != NULL)
        g_ptr_array_add (normed, jobs[c].result);
    }
  if (!ok)
    return NULL;
  st->normalise = seconds_since (t0);

  /* ---- bounding box and slices ---- */
  t0 = g_get_monotonic_time ();
  int i0 = nx, i1 = -1, j0 = ny, j1 = -1, k0 = nz, k1 = -1;
  g_autofree int *run = g_new (int, MAX (nz, 1));
  int n_run = 0;
  for (int k = 0; k < nz; k++)
    {
      gboolean any = FALSE;
      const guint8 *b = brain + (gsize) k * plane;
      for (int j = 0; j < ny; j++)
        for (int i = 0; i < nx; i++)
          if (b[(gsize) j * nx + i])
            {
              any = TRUE;
              i0 = MIN (i0, i);
              i1 = MAX (i1, i);
              j0 = MIN (j0, j);
              j1 = MAX (j1, j);
            }
      if (any)
        {
          run[n_run++] = k;
          k0 = MIN (k0, k);
          k1 = MAX (k1, k);
        }
    }
  st->slices_run = n_run;
  st->bbox[0] = i0, st->bbox[1] = i1, st->bbox[2] = j0, st->bbox[3] = j1;
  st->bbox[4] = k0, st->bbox[5] = k1;
  if (n_run == 0)
    {
      st->crop = seconds_since (t0);
      st->total = seconds_since (t_start);
      if (opt->progress != NULL)
        opt->progress (0, 0, opt->progress_data);
      return g_steal_pointer (&r);
    }

  int mult = ns_model_get_size_multiple (model);
  int bw = i1 - i0 + 1, bh = j1 - j0 + 1;
  int W = (bw + mult - 1) / mult * mult, H = (bh + mult - 1) / mult * mult;
  int ci0 = i0 - (W - bw) / 2, cj0 = j0 - (H - bh) / 2;   /* centred; may leave the grid */
  st->crop_origin[0] = ci0;
  st->crop_origin[1] = cj0;
  st->crop_size[0] = W;
  st->crop_size[1] = H;

  ns_model_set_mode (model, NS_MODEL_INFER);
  gsize per_slice = ns_model_bytes_per_slice (model, H, W)
                    + (gsize) (C + 2 * K) * H * W * sizeof (float);   /* host I/O */
  gsize budget = opt->memory_budget > 0 ? opt->memory_budget : DEFAULT_BUDGET;
  gsize device_free = 0;
  if (ns_backend_get_memory (be, &device_free, NULL))
    {
      st->device_free = device_free;
      /* Automatic budget: what the device has free, less a tenth for the libraries'
       * workspaces and fragmentation.  A budget the caller gave is taken as given (a
       * batch that does not fit is then halved below). */
      if (opt->memory_budget == 0)
        budget = MIN (budget, device_free / 10 * 9);
    }
  int B = batch_for_budget (n_run, per_slice, budget, opt->max_batch);
  st->crop += seconds_since (t0);

  gsize in_slice = (gsize) C * H * W, out_slice = (gsize) K * H * W;
  double flops_per_slice = ns_model_flops_per_slice (model, H, W);
  NsModel *net = model;                 /* the model running the batches */
  /* after a fallback to the CPU (the backend outlives the model: freed after it) */
  g_autoptr (NsBackend) cpu_backend = NULL;
  g_autoptr (NsModel) cpu_model = NULL;
  /* host buffers of the backend that runs the batches: pinned on a GPU (declared after
   * the CPU fallback's backend, so freed before it) */
  g_auto (HostBuffers) host = { 0 };
  g_autoptr (NsTensor) input = NULL;
  g_autoptr (NsTensor) probs = NULL;
  int allocated_B = 0;

  /* Columns of the crop that lie inside the grid. */
  int x_lo = MAX (0, -ci0), x_hi = MIN (W, nx - ci0);
  int next = 0;                         /* the first slice (index into run) not done */
  while (next < n_run)
    {
      g_autoptr (GError) local = NULL;
      int first = next, count = MIN (B, n_run - first);
      NsTensor *logits = NULL;

      if (g_cancellable_is_cancelled (opt->cancellable))
        {
          g_set_error (error, NS_NET_ERROR, NS_NET_ERROR_CANCELLED,
                       "segmentation cancelled after %d of %d slices", first, n_run);
          return NULL;
        }

      t0 = g_get_monotonic_time ();
      if (allocated_B != B)
        {
          g_clear_pointer (&input, ns_tensor_free);
          g_clear_pointer (&probs, ns_tensor_free);
          host_buffers_clear (&host);
          host.be = ns_model_get_backend (net);
          host.in = ns_backend_host_alloc (host.be, (gsize) B * in_slice * sizeof (float));
          host.out = ns_backend_host_alloc (host.be, (gsize) B * out_slice * sizeof (float));
          if (host.in == NULL || host.out == NULL)
            {
              g_set_error (error, NS_NET_ERROR, NS_NET_ERROR_OUT_OF_MEMORY,
                           "out of memory for a batch of %d slices of %d x %d", B, W, H);
              return NULL;
            }
          allocated_B = B;
          input = ns_tensor_new (ns_model_get_backend (net), B, C, H, W, &local);
          if (input != NULL && want_softmax)
            probs = ns_tensor_new (ns_model_get_backend (net), B, K, H, W, &local);
        }
      if (input != NULL && (probs != NULL || !want_softmax))
        {
          memset (host.in, 0, (gsize) B * in_slice * sizeof (float));
          for (int s = 0; s < count; s++)
            {
              int k = run[first + s];
              for (int c = 0; c < C; c++)
                {
                  const float *src = ((NsVolume *) normed->pdata[c])->voxels
                                     + (gsize) k * plane;
                  float *dst = host.in + (gsize) s * in_slice + (gsize) c * H * W;
                  for (int y = 0; y < H; y++)
                    {
                      int j = cj0 + y;
                      if (j < 0 || j >= ny || x_lo >= x_hi)
                        continue;
                      memcpy (dst + (gsize) y * W + x_lo, src + (gsize) j * nx + ci0 + x_lo,
                              (gsize) (x_hi - x_lo) * sizeof (float));
                    }
                }
            }
          st->crop += seconds_since (t0);
          t0 = g_get_monotonic_time ();
          ns_tensor_upload (input, host.in);
          logits = ns_model_forward (net, input, &local);
        }

      if (logits == NULL)
        {
          if (!g_error_matches (local, NS_NET_ERROR, NS_NET_ERROR_OUT_OF_MEMORY))
            {
              g_propagate_error (error, g_steal_pointer (&local));
              return NULL;
            }
          /* Out of memory: release what the batch held, then halve the batch; at one
           * slice, move the model to the CPU (once) and go on from the same slice. */
          g_clear_pointer (&input, ns_tensor_free);
          g_clear_pointer (&probs, ns_tensor_free);
          allocated_B = 0;
          ns_model_trim (net);
          st->oom_retries++;
          if (B > 1)
            {
              B = (B + 1) / 2;
              continue;
            }
          if (cpu_model != NULL || opt->no_cpu_fallback || !can_fall_back (be))
            {
              g_propagate_prefixed_error (error, g_steal_pointer (&local),
                                          "one slice of %d x %d does not fit: ", W, H);
              return NULL;
            }
          g_autoptr (GError) cpu_error = NULL;
          cpu_backend = ns_backend_new (NS_HAVE_ONEDNN ? "cpu" : "ref", &cpu_error);
          if (cpu_backend != NULL)
            cpu_model = ns_model_clone_to (model, cpu_backend, &cpu_error);
          if (cpu_model == NULL)
            {
              g_set_error (error, NS_NET_ERROR, NS_NET_ERROR_OUT_OF_MEMORY,
                           "%s; and the CPU fallback failed: %s", local->message,
                           cpu_error->message);
              return NULL;
            }
          net = cpu_model;
          st->cpu_fallback = TRUE;
          g_snprintf (st->fallback_reason, sizeof st->fallback_reason, "%s", local->message);
          B = batch_for_budget (n_run - next, per_slice,
                                opt->memory_budget > 0 ? opt->memory_budget : DEFAULT_BUDGET,
                                opt->max_batch);
          continue;
        }

      if (probs != NULL)
        {
          ns_softmax_forward (probs, logits);
          ns_tensor_download (probs, host.out);
        }
      else
        ns_tensor_download (logits, host.out);
      ns_backend_synchronize (ns_model_get_backend (net));
      st->forward += seconds_since (t0);
      st->gflop += flops_per_slice * B / 1e9;
      st->n_batches++;
      st->batch_size = B;

      t0 = g_get_monotonic_time ();
      for (int s = 0; s < count; s++)
        {
          int k = run[first + s];
          const float *o = host.out + (gsize) s * out_slice;
          for (int y = 0; y < H; y++)
            {
              int j = cj0 + y;
              if (j < 0 || j >= ny)
                continue;
              for (int x = x_lo; x < x_hi; x++)
                {
                  gsize v = (gsize) k * plane + (gsize) j * nx + (gsize) (ci0 + x);
                  gsize p = (gsize) y * W + x;
                  if (!brain[v])
                    continue;
                  int best = 0;
                  float bv = o[p];
                  for (int c = 1; c < K; c++)
                    if (o[(gsize) c * H * W + p] > bv)
                      {
                        bv = o[(gsize) c * H * W + p];
                        best = c;
                      }
                  r->labels->labels[v] = (guint8) meta->classes[best].value;
                  if (r->probabilities != NULL)
                    for (int c = 0; c < K; c++)
                      r->probabilities[c]->voxels[v] = o[(gsize) c * H * W + p];
                  if (r->entropy != NULL)
                    {
                      double h = 0;
                      for (int c = 0; c < K; c++)
                        {
                          double pc = o[(gsize) c * H * W + p];
                          if (pc > 1e-12)
                            h -= pc * log (pc);
                        }
                      r->entropy->voxels[v] = (float) (h * entropy_norm);
                    }
                }
            }
        }
      st->postprocess += seconds_since (t0);
      next = first + count;

      if (opt->slices_ready != NULL)
        opt->slices_ready (r->labels, run + first, count, opt->slices_data);
      if (opt->progress != NULL)
        opt->progress (next, n_run, opt->progress_data);
    }
  g_snprintf (st->device, sizeof st->device, "%s",
              ns_backend_get_device (ns_model_get_backend (net)));
  st->total = seconds_since (t_start);
  return g_steal_pointer (&r);
}

NsInferResult *
ns_infer_run_case (NsModel *model, NsCase *ncase, const NsInferOptions *options,
                   GError **error)
{
  g_return_val_if_fail (model != NULL && ncase != NULL, NULL);

  const NsModelMeta *meta = ns_model_get_meta (model);
  int C = ns_model_meta_n_inputs (meta);
  g_autofree NsVolume **inputs = g_new0 (NsVolume *, MAX (C, 1));

  for (int c = 0; c < C; c++)
    {
      for (int m = 0; m < NS_N_MODALITIES; m++)
        if (g_ascii_strcasecmp (ns_modality_name (m), meta->modalities[c]) == 0)
          inputs[c] = ncase->modality[m];
      if (inputs[c] == NULL)
        {
          g_set_error (error, NS_DATA_ERROR, NS_DATA_ERROR_NOT_FOUND,
                       "%s: the case has no %s volume, which the model needs",
                       ncase->dir != NULL ? ncase->dir : ncase->id, meta->modalities[c]);
          return NULL;
        }
    }
  return ns_infer_run (model, inputs, C, ncase->brain_mask, options, error);
}
