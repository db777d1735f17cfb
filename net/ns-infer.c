/* SPDX-License-Identifier: MIT
 *
 * ns-infer.c: the inference engine (see ns-infer.h), in named steps: check the inputs,
 * find how to normalise them, find the slices with brain and the crop, plan the batches,
 * then per batch fill (normalising the rows it takes from the inputs as stored), run
 * (upload, forward, softmax, download, the backend's status) and store; a batch that
 * fails is recovered from (halved, or moved to the CPU) or reported.
 *
 * Batching: every batch has the same shape (B, C, H, W) so that the model's tensors are
 * allocated once; B is the largest count the memory budget allows (the model's own
 * per-slice estimate plus the host buffers), then evened out over the batches so that
 * the last one, padded with empty slices, wastes fewer than n_batches slices.
 * Post-processing needs only the argmax (or the regions' signs), so the logits are
 * downloaded; the softmax runs only when probabilities or the entropy are wanted.
 *
 * Test-time augmentation: every pass adds its probabilities (softmax or sigmoid, on the
 * host, un-mirrored) to one sum over the crops of all slices (n_run x outputs x H x W
 * floats, 65 MB for the bundled case), and the labels are decoded from the sum after the
 * plain pass (the preview) and after the last one.
 *
 * Failures of a batch: out of memory halves the batch, and at one slice moves the model
 * to the CPU; any other failure of the device's ops (ns_backend_check) moves it to the
 * CPU at once and the batch runs again there.  Either way the slices done stay done and
 * stats.note says what happened.  A failure on the CPU itself is an error.
 */
#define G_LOG_DOMAIN "neuroseg-net"

#include "ns-infer.h"

#include "ns-data-error.h"
#include "ns-memory.h"
#include "ns-normalize.h"
#include "ns-backend-private.h"
#include "ns-config.h"

#include <math.h>
#include <string.h>

#define DEFAULT_BUDGET ((gsize) 1 << 30)
/* On the CPU (no device memory to size the batch by) a quarter of that: the bundled case
 * runs as fast with batches of 256 MiB as of 1 GiB (oneDNN is saturated well before; 28 s
 * either way on the 2-core build machine, the same labels), and the peak of Run Model
 * falls from 1.17 GB to 0.51 GB (neuroseg bench --memory). */
#define CPU_DEFAULT_BUDGET ((gsize) 256 << 20)
/* the backend a failing device's work moves to */
#define CPU_BACKEND (NS_HAVE_ONEDNN ? "cpu" : "ref")

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

/* ---- the run's state ------------------------------------------------------------------- */

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

typedef struct
{
  NsModel *model;                 /* the caller's */
  const NsInferOptions *opt;
  const NsModelMeta *meta;
  NsInferResult *r;               /* being filled; the caller's to free */
  int C, K;                       /* input volumes, classes */
  int CI, KO;                     /* the network's input channels and outputs */
  int context;
  gboolean regions;
  int *region_class;              /* (n_regions + 1): class index of chain depth d */
  int passes, pass;               /* 1 + mirrored passes; the one running */
  float *acc;                     /* (n_run, KO, H, W) sum of the passes' probabilities */
  /* the volume */
  int nx, ny, nz;
  gsize plane;
  guint8 *brain;                  /* union of the brain masks (nx ny nz) */
  NsVolume *const *inputs;        /* (C) borrowed: the input volumes as stored */
  const NsLabelMap *brain_mask;   /* borrowed, nullable: the caller's */
  NsNormalizeTransform *norm;     /* (C) each input's z-score, applied a row at a time
                                   * as the batches are filled (no float32 copy of the
                                   * inputs is made) */
  gboolean *norm_empty;           /* (C) no brain in that input: it stays all zero */
  float *row;                     /* (nx) one normalised row, for the mirrored passes */
  int *run;                       /* k of the slices with brain, ascending */
  int n_run;
  /* the crop: W x H from (ci0, cj0), centred on the brain; its columns x_lo .. x_hi - 1
   * lie inside the grid */
  int W, H, ci0, cj0, x_lo, x_hi;
  /* batches */
  int B;
  gsize per_slice;                /* bytes, for the budget */
  double flops_per_slice;
  gboolean want_softmax;
  NsModel *net;                   /* the model running the batches: model or cpu_model */
  NsBackend *cpu_backend;         /* after a move to the CPU (freed after cpu_model) */
  NsModel *cpu_model;
  HostBuffers host;               /* pinned on a GPU */
  NsTensor *input;                /* (B, C, H, W) on net's backend */
  NsTensor *probs;                /* (B, K, H, W) when the softmax is wanted */
  int allocated_B;
  gboolean device_failed;         /* the last failure came from ns_backend_check */
} Infer;

static void
batch_release (Infer *in)
{
  g_clear_pointer (&in->input, ns_tensor_free);
  g_clear_pointer (&in->probs, ns_tensor_free);
  host_buffers_clear (&in->host);
  in->allocated_B = 0;
}

static void
infer_clear (Infer *in)
{
  batch_release (in);
  g_clear_pointer (&in->cpu_model, ns_model_free);
  g_clear_pointer (&in->cpu_backend, ns_backend_free);
  g_clear_pointer (&in->brain, g_free);
  g_clear_pointer (&in->norm, g_free);
  g_clear_pointer (&in->norm_empty, g_free);
  g_clear_pointer (&in->row, g_free);
  g_clear_pointer (&in->run, g_free);
  g_clear_pointer (&in->region_class, g_free);
  g_clear_pointer (&in->acc, g_free);
}

G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (Infer, infer_clear)

/* ---- inputs ---------------------------------------------------------------------------- */

static gboolean
check_inputs (NsModel *model, NsVolume *const *inputs, int n_inputs,
              const NsLabelMap *brain_mask, GError **error)
{
  int C = ns_model_meta_n_inputs (ns_model_get_meta (model));

  if (n_inputs != C)
    {
      g_set_error (error, NS_NET_ERROR, NS_NET_ERROR_FAILED,
                   "the model takes %d input volumes, %d given", C, n_inputs);
      return FALSE;
    }
  const NsGrid *grid = &inputs[0]->grid;
  for (int c = 1; c < C; c++)
    if (!ns_grid_equal (grid, &inputs[c]->grid))
      {
        g_set_error (error, NS_DATA_ERROR, NS_DATA_ERROR_GRID_MISMATCH,
                     "%s: not on the grid of %s",
                     inputs[c]->path != NULL ? inputs[c]->path : "input volume",
                     inputs[0]->path != NULL ? inputs[0]->path : "the first input");
        return FALSE;
      }
  if (brain_mask != NULL && !ns_grid_equal (grid, &brain_mask->grid))
    {
      g_set_error (error, NS_DATA_ERROR, NS_DATA_ERROR_GRID_MISMATCH,
                   "%s: brain mask not on the grid of the images",
                   brain_mask->path != NULL ? brain_mask->path : "brain mask");
      return FALSE;
    }
  return TRUE;
}

/* The labels (background everywhere) and the volumes asked for (background: probability
 * 1 for class 0, entropy 0). */
static NsInferResult *
result_new (const NsGrid *grid, const NsModelMeta *meta, const NsInferOptions *opt,
            GError **error)
{
  g_autoptr (NsInferResult) r = g_new0 (NsInferResult, 1);
  const int K = meta->n_classes;

  r->n_classes = K;
  r->stats.slices_total = grid->dim[2];
  r->labels = ns_label_map_new (grid, error);
  if (r->labels == NULL)
    return NULL;
  if (opt->want_probabilities)
    {
      gsize nvox = ns_grid_n_voxels (grid);
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
  return g_steal_pointer (&r);
}

typedef struct
{
  const NsModelMeta *meta;
  NsVolume *input;
  const NsLabelMap *brain_mask;   /* shared, nullable */
  GThread *thread;
  NsLabelMap *mask;               /* own mask when brain_mask is NULL */
  NsNormalizeTransform *transform;
  gboolean *empty;
  gboolean ok;
  GError *error;
} NormJob;

/* The z-score of one volume inside its brain (none: it stays all zero). */
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
  *job->empty = count == 0;
  job->ok = count == 0
            || ns_model_meta_normalise_transform (job->meta, job->input, mask, job->transform,
                                                  &job->error);
  if (job->brain_mask != NULL && job->mask == NULL)
    job->mask = ns_label_map_ref ((NsLabelMap *) job->brain_mask);
  return NULL;
}

/* in->norm and in->brain (the union of the masks), one thread per input volume. */
static gboolean
normalise (Infer *in, NsVolume *const *inputs, const NsLabelMap *brain_mask, GError **error)
{
  const gsize nvox = in->plane * in->nz;
  g_autofree NormJob *jobs = g_new0 (NormJob, in->C);
  gboolean ok = TRUE;

  in->brain = g_new0 (guint8, nvox);
  in->inputs = inputs;
  in->brain_mask = brain_mask;
  in->norm = g_new0 (NsNormalizeTransform, in->C);
  in->norm_empty = g_new0 (gboolean, in->C);
  in->row = g_new (float, MAX (in->nx, 1));
  for (int c = 0; c < in->C; c++)
    {
      jobs[c].meta = in->meta;
      jobs[c].input = inputs[c];
      jobs[c].brain_mask = brain_mask;
      jobs[c].transform = &in->norm[c];
      jobs[c].empty = &in->norm_empty[c];
      if (c > 0)
        jobs[c].thread = g_thread_try_new ("ns-normalise", normalise_job, &jobs[c], NULL);
      if (jobs[c].thread == NULL)
        normalise_job (&jobs[c]);
    }
  for (int c = 0; c < in->C; c++)
    {
      if (jobs[c].thread != NULL)
        g_thread_join (jobs[c].thread);
      if (!jobs[c].ok && ok)
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
            in->brain[v] |= m[v];
          ns_label_map_unref (jobs[c].mask);
        }
    }
  return ok;
}

/* ---- the slices and the crop ------------------------------------------------------------ */

/* The slices with brain (in->run) and the brain's bounding box (stats.bbox). */
static void
find_brain (Infer *in)
{
  int i0 = in->nx, i1 = -1, j0 = in->ny, j1 = -1, k0 = in->nz, k1 = -1;

  in->run = g_new (int, MAX (in->nz, 1));
  in->n_run = 0;
  for (int k = 0; k < in->nz; k++)
    {
      gboolean any = FALSE;
      const guint8 *b = in->brain + (gsize) k * in->plane;
      for (int j = 0; j < in->ny; j++)
        for (int i = 0; i < in->nx; i++)
          if (b[(gsize) j * in->nx + i])
            {
              any = TRUE;
              i0 = MIN (i0, i);
              i1 = MAX (i1, i);
              j0 = MIN (j0, j);
              j1 = MAX (j1, j);
            }
      if (any)
        {
          in->run[in->n_run++] = k;
          k0 = MIN (k0, k);
          k1 = MAX (k1, k);
        }
    }
  int *bbox = in->r->stats.bbox;
  bbox[0] = i0, bbox[1] = i1, bbox[2] = j0, bbox[3] = j1, bbox[4] = k0, bbox[5] = k1;
  in->r->stats.slices_run = in->n_run;
}

/* The brain's box padded to the model's size multiple, centred (it may leave the grid). */
static void
plan_crop (Infer *in)
{
  const int *bbox = in->r->stats.bbox;
  int mult = ns_model_get_size_multiple (in->model);
  int bw = bbox[1] - bbox[0] + 1, bh = bbox[3] - bbox[2] + 1;

  in->W = (bw + mult - 1) / mult * mult;
  in->H = (bh + mult - 1) / mult * mult;
  in->ci0 = bbox[0] - (in->W - bw) / 2;
  in->cj0 = bbox[2] - (in->H - bh) / 2;
  in->x_lo = MAX (0, -in->ci0);
  in->x_hi = MIN (in->W, in->nx - in->ci0);
  in->r->stats.crop_origin[0] = in->ci0;
  in->r->stats.crop_origin[1] = in->cj0;
  in->r->stats.crop_size[0] = in->W;
  in->r->stats.crop_size[1] = in->H;
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

static void
plan_batches (Infer *in)
{
  const NsInferOptions *opt = in->opt;
  NsBackend *be = ns_model_get_backend (in->model);
  gsize budget = opt->memory_budget > 0 ? opt->memory_budget : DEFAULT_BUDGET;
  gsize device_free = 0;

  in->per_slice = ns_model_bytes_per_slice (in->model, in->H, in->W)
                  + (gsize) (in->CI + 2 * in->KO) * in->H * in->W * sizeof (float); /* I/O */
  if (opt->memory_budget == 0 && !ns_backend_get_memory (be, NULL, NULL))
    budget = CPU_DEFAULT_BUDGET;
  if (ns_backend_get_memory (be, &device_free, NULL))
    {
      in->r->stats.device_free = device_free;
      /* Automatic budget: what the device has free, less a tenth for the libraries'
       * workspaces and fragmentation.  A budget the caller gave is taken as given (a
       * batch that does not fit is then halved). */
      if (opt->memory_budget == 0)
        budget = MIN (budget, device_free / 10 * 9);
    }
  in->B = batch_for_budget (in->n_run, in->per_slice, budget, opt->max_batch);
  in->flops_per_slice = ns_model_flops_per_slice (in->model, in->H, in->W);
}

/* ---- one batch ------------------------------------------------------------------------- */

/* The host buffers and tensors of a batch of in->B slices on the running model's backend
 * (kept while B stays the same). */
static gboolean
batch_buffers (Infer *in, GError **error)
{
  if (in->allocated_B == in->B)
    return TRUE;
  batch_release (in);

  NsBackend *be = ns_model_get_backend (in->net);
  gsize in_bytes = (gsize) in->B * in->CI * in->H * in->W * sizeof (float);
  gsize out_bytes = (gsize) in->B * in->KO * in->H * in->W * sizeof (float);
  in->host.be = be;
  in->host.in = ns_backend_host_alloc (be, in_bytes);
  in->host.out = ns_backend_host_alloc (be, out_bytes);
  if (in->host.in == NULL || in->host.out == NULL)
    {
      g_set_error (error, NS_NET_ERROR, NS_NET_ERROR_OUT_OF_MEMORY,
                   "out of memory for the host buffers of a batch of %d slices of %d x %d",
                   in->B, in->W, in->H);
      return FALSE;
    }
  in->input = ns_tensor_new (be, in->B, in->CI, in->H, in->W, error);
  if (in->input == NULL)
    return FALSE;
  if (in->want_softmax)
    {
      in->probs = ns_tensor_new (be, in->B, in->KO, in->H, in->W, error);
      if (in->probs == NULL)
        return FALSE;
    }
  in->allocated_B = in->B;
  return TRUE;
}

/* The mirrors of pass p: bit 0 left-right (along i), bit 1 up-down (along j). */
static inline gboolean
flip_x (int pass)
{
  return (pass & 1) != 0;
}

static inline gboolean
flip_y (int pass)
{
  return (pass & 2) != 0;
}

/* The crops of slices run[first .. first + count - 1] into the host input, mirrored as
 * the pass says (the rest of the batch, and what lies outside the grid, zero).  Channel
 * m (2 context + 1) + context + d is modality m of plane k + d (0 outside the volume). */
static void
batch_fill (Infer *in, int first, int count)
{
  const gsize hw = (gsize) in->H * in->W, in_slice = (gsize) in->CI * hw;
  const int D = 2 * in->context + 1;
  const gboolean fx = flip_x (in->pass), fy = flip_y (in->pass);

  memset (in->host.in, 0, (gsize) in->B * in_slice * sizeof (float));
  if (in->x_lo >= in->x_hi)
    return;
  for (int s = 0; s < count; s++)
    for (int c = 0; c < in->C; c++)
      for (int d = -in->context; d <= in->context; d++)
        {
          int k = in->run[first + s] + d;
          if (k < 0 || k >= in->nz)
            continue;
          if (in->norm_empty[c])
            continue;
          float *dst = in->host.in + (gsize) s * in_slice + ((gsize) c * D + d + in->context) * hw;
          const gsize n = (gsize) (in->x_hi - in->x_lo);
          for (int y = 0; y < in->H; y++)
            {
              int j = in->cj0 + y;
              if (j < 0 || j >= in->ny)
                continue;
              /* voxel (ci0 + x_lo, j, k), the row's first inside the grid */
              gsize start = (gsize) k * in->plane + (gsize) j * in->nx
                            + (gsize) (in->ci0 + in->x_lo);
              float *out = dst + (gsize) (fy ? in->H - 1 - y : y) * in->W;
              if (!fx)
                ns_normalize_apply (&in->norm[c], in->inputs[c], in->brain_mask, start, n,
                                    out + in->x_lo);
              else
                {
                  ns_normalize_apply (&in->norm[c], in->inputs[c], in->brain_mask, start, n,
                                      in->row);
                  for (int x = in->x_lo; x < in->x_hi; x++)
                    out[in->W - 1 - x] = in->row[x - in->x_lo];
                }
            }
        }
}

/* Upload, forward, softmax when wanted, download into host.out, then the backend's status
 * for everything the batch queued (in->device_failed says the failure came from there). */
static gboolean
batch_run (Infer *in, GError **error)
{
  NsBackend *be = ns_model_get_backend (in->net);

  in->device_failed = FALSE;
  ns_tensor_upload (in->input, in->host.in);
  NsTensor *logits = ns_model_forward (in->net, in->input, error);
  if (logits == NULL)
    return FALSE;
  if (in->probs != NULL)
    {
      ns_softmax_forward (in->probs, logits);
      ns_tensor_download (in->probs, in->host.out);
    }
  else
    ns_tensor_download (logits, in->host.out);
  if (!ns_backend_check (be, error))
    {
      in->device_failed = TRUE;
      return FALSE;
    }
  return TRUE;
}

static inline float
sigmoid (float z)
{
  return 1.0f / (1.0f + expf (-z));
}

/* The class index of one pixel from its outputs v[o * stride] (logits, or probabilities
 * when are_probs), and its class probabilities into probs (nullable; then v must be
 * probabilities for a softmax model). */
static int
decode_pixel (const Infer *in, const float *v, gsize stride, gboolean are_probs, float *probs)
{
  if (!in->regions)
    {
      int best = 0;
      float bv = v[0];
      for (int c = 1; c < in->KO; c++)
        if (v[(gsize) c * stride] > bv)
          {
            bv = v[(gsize) c * stride];
            best = c;
          }
      for (int c = 0; probs != NULL && c < in->K; c++)
        probs[c] = v[(gsize) c * stride];
      return best;
    }
  /* regions: the chain of regions above 0.5 from the outermost (logit > 0 <=> p > 0.5) */
  const float threshold = are_probs ? 0.5f : 0.0f;
  int depth = 0;
  while (depth < in->KO && v[(gsize) depth * stride] > threshold)
    depth++;
  if (probs != NULL)
    {
      /* P(depth exactly d) = q0 ... q(d-1) (1 - qd) */
      float inside = 1.0f;
      for (int d = 0; d <= in->KO; d++)
        {
          float q = d < in->KO ? (are_probs ? v[(gsize) d * stride]
                                            : sigmoid (v[(gsize) d * stride])) : 0.0f;
          probs[in->region_class[d]] = inside * (1.0f - q);
          inside *= q;
        }
    }
  return in->region_class[depth];
}

/* The label, probabilities and entropy of voxel v from the outputs at o (stride hw). */
static void
store_voxel (Infer *in, gsize v, const float *o, gsize hw, gboolean are_probs)
{
  NsInferResult *r = in->r;
  const int K = in->K;
  float probs[256];
  gboolean want = r->probabilities != NULL || r->entropy != NULL;
  int best = decode_pixel (in, o, hw, are_probs, want ? probs : NULL);

  r->labels->labels[v] = (guint8) in->meta->classes[best].value;
  if (r->probabilities != NULL)
    for (int c = 0; c < K; c++)
      r->probabilities[c]->voxels[v] = probs[c];
  if (r->entropy != NULL)
    {
      double h = 0;
      for (int c = 0; c < K; c++)
        if (probs[c] > 1e-12)
          h -= probs[c] * log (probs[c]);
      r->entropy->voxels[v] = (float) (h * (K > 1 ? 1.0 / log ((double) K) : 1.0));
    }
}

/* The batch's outputs (host.out, mirrored as the pass says) as probabilities added to the
 * sum of the passes. */
static void
batch_accumulate (Infer *in, int first, int count)
{
  const int H = in->H, W = in->W, KO = in->KO;
  const gsize hw = (gsize) H * W;
  const gboolean fx = flip_x (in->pass), fy = flip_y (in->pass);
  const gboolean are_probs = in->probs != NULL;

  for (int s = 0; s < count; s++)
    {
      const float *o = in->host.out + (gsize) s * KO * hw;
      float *acc = in->acc + (gsize) (first + s) * KO * hw;
      for (int y = 0; y < H; y++)
        for (int x = 0; x < W; x++)
          {
            gsize src = (gsize) (fy ? H - 1 - y : y) * W + (fx ? W - 1 - x : x);
            gsize dst = (gsize) y * W + x;
            if (in->regions || are_probs)
              for (int c = 0; c < KO; c++)
                {
                  float z = o[(gsize) c * hw + src];
                  acc[(gsize) c * hw + dst] += in->regions && !are_probs ? sigmoid (z) : z;
                }
            else
              {
                /* softmax of the logits on the host */
                float mx = o[src], sum = 0;
                for (int c = 1; c < KO; c++)
                  mx = MAX (mx, o[(gsize) c * hw + src]);
                float e[256];
                for (int c = 0; c < KO; c++)
                  sum += e[c] = expf (o[(gsize) c * hw + src] - mx);
                for (int c = 0; c < KO; c++)
                  acc[(gsize) c * hw + dst] += e[c] / sum;
              }
          }
    }
}

/* Labels (and probabilities, entropy) of the batch's slices, inside the brain, into the
 * result: from this batch's outputs, or from the mean of the passes so far. */
static void
batch_store (Infer *in, int first, int count, gboolean from_sum)
{
  const int H = in->H, W = in->W, KO = in->KO;
  const gsize hw = (gsize) H * W;
  const float scale = 1.0f / (float) (in->pass + 1);
  g_autofree float *mean = from_sum ? g_new (float, (gsize) KO * hw) : NULL;

  for (int s = 0; s < count; s++)
    {
      int k = in->run[first + s];
      const float *o = in->host.out + (gsize) s * KO * hw;
      if (from_sum)
        {
          const float *acc = in->acc + (gsize) (first + s) * KO * hw;
          for (gsize i = 0; i < (gsize) KO * hw; i++)
            mean[i] = acc[i] * scale;
          o = mean;
        }
      for (int y = 0; y < H; y++)
        {
          int j = in->cj0 + y;
          if (j < 0 || j >= in->ny)
            continue;
          for (int x = in->x_lo; x < in->x_hi; x++)
            {
              gsize v = (gsize) k * in->plane + (gsize) j * in->nx + (gsize) (in->ci0 + x);
              if (in->brain[v])
                store_voxel (in, v, o + (gsize) y * W + x, hw, from_sum || in->probs != NULL);
            }
        }
    }
}

/* ---- recovering from a failed batch ------------------------------------------------------ */

static const char *
device_words (NsBackend *be)
{
  return strcmp (ns_backend_get_name (be), "cuda") == 0 ? "the GPU" : ns_backend_get_name (be);
}

/* Out of memory may move to the CPU when the batch ran on another device, or on a CPU
 * backend held to a memory limit smaller than the host's. */
static gboolean
can_move_when_full (NsBackend *be)
{
  const char *name = ns_backend_get_name (be);
  return (strcmp (name, "cpu") != 0 && strcmp (name, "ref") != 0) || be->mem_limit > 0;
}

/* A device whose ops fail may hand its work to the CPU backend, unless it is that one. */
static gboolean
can_move_when_failed (NsBackend *be)
{
  const char *name = ns_backend_get_name (be);
  return strcmp (name, "cpu") != 0 && strcmp (name, CPU_BACKEND) != 0;
}

/* The rest of the slices on a copy of the model on the CPU; `failure` is why. */
static gboolean
move_to_cpu (Infer *in, NsInferFallback why, const GError *failure, int slices_left,
             GError **error)
{
  NsInferStats *st = &in->r->stats;
  NsBackend *be = ns_model_get_backend (in->model);
  g_autoptr (GError) cpu_error = NULL;

  in->cpu_backend = ns_backend_new (CPU_BACKEND, &cpu_error);
  if (in->cpu_backend != NULL)
    in->cpu_model = ns_model_clone_to (in->model, in->cpu_backend, &cpu_error);
  if (in->cpu_model == NULL)
    {
      g_set_error (error, NS_NET_ERROR, failure->code, "%s; and the CPU fallback failed: %s",
                   failure->message, cpu_error->message);
      return FALSE;
    }
  in->net = in->cpu_model;
  st->cpu_fallback = TRUE;
  st->fallback = why;
  g_snprintf (st->fallback_reason, sizeof st->fallback_reason, "%s", failure->message);
  if (why == NS_INFER_FALLBACK_DEVICE_FAILED)
    g_snprintf (st->note, sizeof st->note, "%s failed: %s, finishing on the CPU",
                device_words (be), failure->message);
  else
    g_snprintf (st->note, sizeof st->note, "%s ran out of memory even for one slice (%s), "
                "finishing on the CPU", device_words (be), failure->message);
  g_debug ("%s", st->note);
  in->B = batch_for_budget (slices_left, in->per_slice,
                            in->opt->memory_budget > 0 ? in->opt->memory_budget
                                                       : DEFAULT_BUDGET, in->opt->max_batch);
  return TRUE;
}

/* After a failed batch: TRUE to run it again (halved, or on the CPU), FALSE with the
 * error when nothing is left to try. */
static gboolean
recover (Infer *in, GError *failure, int slices_left, GError **error)
{
  g_autoptr (GError) f = failure;
  NsBackend *be = ns_model_get_backend (in->model);
  gboolean may_move = in->cpu_model == NULL && !in->opt->no_cpu_fallback;

  batch_release (in);
  ns_model_trim (in->net);
  if (g_error_matches (f, NS_NET_ERROR, NS_NET_ERROR_OUT_OF_MEMORY))
    {
      in->r->stats.oom_retries++;
      if (in->B > 1)
        {
          in->B = (in->B + 1) / 2;
          return TRUE;
        }
      if (!may_move || !can_move_when_full (be))
        {
          g_propagate_prefixed_error (error, g_steal_pointer (&f),
                                      "one slice of %d x %d does not fit: ", in->W, in->H);
          return FALSE;
        }
      return move_to_cpu (in, NS_INFER_FALLBACK_OUT_OF_MEMORY, f, slices_left, error);
    }
  if (in->device_failed && may_move && can_move_when_failed (be))
    return move_to_cpu (in, NS_INFER_FALLBACK_DEVICE_FAILED, f, slices_left, error);
  g_propagate_error (error, g_steal_pointer (&f));
  return FALSE;
}

/* ---- the run --------------------------------------------------------------------------- */

/* Every slice with brain, batch by batch, for pass in->pass. */
static gboolean
run_pass (Infer *in, GError **error)
{
  const NsInferOptions *opt = in->opt;
  NsInferStats *st = &in->r->stats;
  int next = 0;                   /* the first slice (index into run) not done */
  const gboolean last = in->pass == in->passes - 1;

  while (next < in->n_run)
    {
      g_autoptr (GError) local = NULL;
      int count = MIN (in->B, in->n_run - next);
      gint64 t0 = g_get_monotonic_time ();

      if (g_cancellable_is_cancelled (opt->cancellable))
        {
          g_set_error (error, NS_NET_ERROR, NS_NET_ERROR_CANCELLED,
                       "segmentation cancelled after %d of %d slices", in->pass * in->n_run
                       + next, in->passes * in->n_run);
          return FALSE;
        }
      in->device_failed = FALSE;
      if (!batch_buffers (in, &local))
        {
          if (!recover (in, g_steal_pointer (&local), in->n_run - next, error))
            return FALSE;
          continue;
        }
      batch_fill (in, next, count);
      st->crop += seconds_since (t0);

      t0 = g_get_monotonic_time ();
      if (!batch_run (in, &local))
        {
          if (!recover (in, g_steal_pointer (&local), in->n_run - next, error))
            return FALSE;
          continue;
        }
      st->forward += seconds_since (t0);
      st->gflop += in->flops_per_slice * in->B / 1e9;
      st->n_batches++;
      st->batch_size = in->B;

      t0 = g_get_monotonic_time ();
      if (in->acc != NULL)
        batch_accumulate (in, next, count);
      if (in->pass == 0 || last)
        batch_store (in, next, count, in->acc != NULL);
      st->postprocess += seconds_since (t0);

      if (opt->slices_ready != NULL && (in->pass == 0 || last))
        opt->slices_ready (in->r->labels, in->run + next, count, opt->slices_data);
      next += count;
      if (opt->progress != NULL)
        opt->progress (in->pass * in->n_run + next, in->passes * in->n_run,
                       opt->progress_data);
    }
  g_snprintf (st->device, sizeof st->device, "%s",
              ns_backend_get_device (ns_model_get_backend (in->net)));
  return TRUE;
}

/* ns_infer_run () without the memory given back at the end. */
static NsInferResult *
infer_run (NsModel *model, NsVolume *const *inputs, int n_inputs,
           const NsLabelMap *brain_mask, const NsInferOptions *options, GError **error)
{
  NsInferOptions defaults = { 0 };
  g_auto (Infer) in = { 0 };
  gint64 t_start = g_get_monotonic_time (), t0;

  if (!check_inputs (model, inputs, n_inputs, brain_mask, error))
    return NULL;
  const NsGrid *grid = &inputs[0]->grid;
  in.model = model;
  in.opt = options != NULL ? options : &defaults;
  in.meta = ns_model_get_meta (model);
  in.C = ns_model_meta_n_inputs (in.meta);
  in.K = in.meta->n_classes;
  in.CI = ns_model_meta_n_channels (in.meta);
  in.KO = ns_model_meta_n_outputs (in.meta);
  in.context = in.meta->context;
  in.regions = in.meta->n_regions > 0;
  if (in.opt->tta != 0 && in.opt->tta != 1 && in.opt->tta != 3)
    {
      g_set_error (error, NS_NET_ERROR, NS_NET_ERROR_FAILED,
                   "test-time augmentation takes 0, 1 or 3 mirrored passes, not %d",
                   in.opt->tta);
      return NULL;
    }
  in.passes = 1 + in.opt->tta;
  if (in.regions)
    {
      /* chain depth d -> class: 0 is the background, d the class region d - 1 adds */
      in.region_class = g_new0 (int, in.KO + 1);
      for (int d = 1; d <= in.KO; d++)
        for (int k = 0; k < in.K; k++)
          if (in.meta->classes[k].value == in.meta->regions[d - 1])
            in.region_class[d] = k;
    }
  in.nx = grid->dim[0];
  in.ny = grid->dim[1];
  in.nz = grid->dim[2];
  in.plane = (gsize) in.nx * in.ny;
  /* the device's softmax, for class models; region models' sigmoids are the host's */
  in.want_softmax = (in.opt->want_probabilities || in.opt->want_entropy)
                    && in.meta->n_regions == 0;

  g_autoptr (NsInferResult) r = result_new (grid, in.meta, in.opt, error);
  if (r == NULL)
    return NULL;
  in.r = r;

  t0 = g_get_monotonic_time ();
  if (!normalise (&in, inputs, brain_mask, error))
    return NULL;
  r->stats.normalise = seconds_since (t0);

  t0 = g_get_monotonic_time ();
  find_brain (&in);
  if (in.n_run == 0)
    {
      r->stats.crop = seconds_since (t0);
      r->stats.total = seconds_since (t_start);
      if (in.opt->progress != NULL)
        in.opt->progress (0, 0, in.opt->progress_data);
      return g_steal_pointer (&r);
    }
  plan_crop (&in);
  ns_model_set_mode (model, NS_MODEL_INFER);
  plan_batches (&in);
  r->stats.crop += seconds_since (t0);

  r->stats.passes = in.passes;
  if (in.passes > 1)
    {
      in.acc = g_try_new0 (float, (gsize) in.n_run * in.KO * in.H * in.W);
      if (in.acc == NULL)
        {
          g_set_error (error, NS_NET_ERROR, NS_NET_ERROR_OUT_OF_MEMORY,
                       "out of memory for the averages of %d passes over %d slices",
                       in.passes, in.n_run);
          return NULL;
        }
    }
  in.net = in.model;
  for (in.pass = 0; in.pass < in.passes; in.pass++)
    {
      if (!run_pass (&in, error))
        return NULL;
      if (in.pass == 0)
        r->stats.first_pass = seconds_since (t_start);
    }

  t0 = g_get_monotonic_time ();
  NsPostprocessParams pp = in.opt->postprocess != NULL ? *in.opt->postprocess
                                                       : in.meta->postprocess;
  if (!in.opt->no_postprocess && ns_postprocess_is_active (&pp)
      && !ns_postprocess_apply (r->labels, &pp, &r->stats.postprocess_stats, error))
    return NULL;
  r->stats.postprocess += seconds_since (t0);
  r->stats.total = seconds_since (t_start);
  return g_steal_pointer (&r);
}

NsInferResult *
ns_infer_run (NsModel *model, NsVolume *const *inputs, int n_inputs,
              const NsLabelMap *brain_mask, const NsInferOptions *options, GError **error)
{
  g_return_val_if_fail (model != NULL && inputs != NULL, NULL);

  /* an interactive model takes a mask and clicks too: ns-interact.h runs it */
  if (!ns_model_meta_check_kind (ns_model_get_meta (model), FALSE, NULL, error))
    return NULL;
  NsInferResult *r = infer_run (model, inputs, n_inputs, brain_mask, options, error);
  /* The batches' activations (hundreds of MB) go back to the system now, not when the
   * model is freed, and the C library's arenas are emptied: the workbench returns to
   * what it held before Run Model (neuroseg bench --memory). */
  ns_model_trim (model);
  ns_memory_trim ();
  return r;
}

NsInferResult *
ns_infer_run_case (NsModel *model, NsCase *ncase, const NsInferOptions *options,
                   GError **error)
{
  g_return_val_if_fail (model != NULL && ncase != NULL, NULL);

  const NsModelMeta *meta = ns_model_get_meta (model);
  int C = ns_model_meta_n_inputs (meta);
  g_autofree NsVolume **inputs = g_new0 (NsVolume *, MAX (C, 1));
  gboolean present[NS_N_MODALITIES];

  for (int m = 0; m < NS_N_MODALITIES; m++)
    present[m] = ncase->modality[m] != NULL;
  const char *missing = ns_model_meta_missing_input (meta, present);
  if (missing != NULL)
    {
      g_autofree char *inputs_text = ns_model_meta_dup_inputs_text (meta);
      g_set_error (error, NS_DATA_ERROR, NS_DATA_ERROR_NOT_FOUND,
                   "%s: the case has no %s volume, which the model needs (its inputs: %s)",
                   ncase->dir != NULL ? ncase->dir : ncase->id, missing, inputs_text);
      return NULL;
    }
  for (int c = 0; c < C; c++)
    for (int m = 0; m < NS_N_MODALITIES; m++)
      if (g_ascii_strcasecmp (ns_modality_name (m), meta->modalities[c]) == 0)
        inputs[c] = ncase->modality[m];
  return ns_infer_run (model, inputs, C, ncase->brain_mask, options, error);
}
