/* SPDX-License-Identifier: MIT
 *
 * ns-backend-cuda.c: the CUDA + cuDNN backend: device discovery and start-up checks,
 * tensor storage, and the op table (the convolution family in ns-cuda-conv.c, every cuDNN
 * call in ns-cuda-dnn.c, own kernels in *.cu).
 *
 * Start-up is careful because it runs on every `--device auto`: no device, a driver older
 * than the runtime, or a card the compiled code cannot run on each give a GError (and
 * `auto` then falls back to the CPU), never an abort.
 *
 * Storage: device float32 NCHW, one cudaMalloc per tensor, views point into their parent.
 * Every op is queued on one stream; upload and download wait for it.  A failing CUDA or
 * cuDNN call is recorded in the backend's status, naming it (_ns_backend_fail): the
 * dispatcher skips the ops after it and ns_backend_check() reports it at the end of the
 * batch or step; errors of queued kernels surface at that check's synchronize.
 * Precision: fp32 (the checking mode: no TF32) or bf16 (convolutions on tensor cores,
 * fp32 accumulation, fp32 storage and master weights), bf16 by default on cards with
 * bf16 tensor cores (compute capability 8.0 and later).
 */
#define G_LOG_DOMAIN "neuroseg-net"

#include "ns-cuda-private.h"

#include <math.h>
#include <string.h>

gboolean
_ns_cuda_check (NsCudaBackend *cb, cudaError_t err, const char *what)
{
  if (err == cudaSuccess)
    return TRUE;
  (void) cudaGetLastError ();   /* clears a non-sticky error */
  _ns_backend_fail (cb->be, err == cudaErrorMemoryAllocation ? NS_NET_ERROR_OUT_OF_MEMORY
                                                             : NS_NET_ERROR_FAILED,
                    "CUDA %s: %s", what, cudaGetErrorString (err));
  return FALSE;
}

void *
_ns_cuda_scratch (NsCudaBackend *cb, int slot, size_t bytes)
{
  g_assert (slot >= 0 && slot < NS_CUDA_N_SCRATCH);
  bytes = MAX (bytes, (size_t) 256);
  if (bytes <= cb->scratch_size[slot])
    return cb->scratch[slot];
  /* cudaFree waits for the queued work that may still use the old buffer. */
  if (cb->scratch[slot] != NULL)
    cudaFree (cb->scratch[slot]);
  cb->scratch[slot] = NULL;
  cb->scratch_size[slot] = 0;
  if (!_ns_cuda_check (cb, cudaMalloc (&cb->scratch[slot], bytes), "scratch buffer"))
    {
      cb->scratch[slot] = NULL;
      return NULL;
    }
  cb->scratch_size[slot] = bytes;
  return cb->scratch[slot];
}

/* Gives back the scratch buffers and the cuDNN workspace (they grow again on demand). */
static void
release_scratch (NsCudaBackend *cb)
{
  for (int i = 0; i < NS_CUDA_N_SCRATCH; i++)
    {
      if (cb->scratch[i] != NULL)
        cudaFree (cb->scratch[i]);
      cb->scratch[i] = NULL;
      cb->scratch_size[i] = 0;
    }
  if (cb->workspace != NULL)
    cudaFree (cb->workspace);
  cb->workspace = NULL;
  cb->workspace_size = 0;
}

/* ---- devices ------------------------------------------------------------------------------ */

GPtrArray *
_ns_backend_cuda_list_devices (GError **error)
{
  int count = 0;
  cudaError_t err = cudaGetDeviceCount (&count);
  if (err != cudaSuccess)
    {
      (void) cudaGetLastError ();
      g_set_error (error, NS_NET_ERROR, NS_NET_ERROR_NO_BACKEND,
                   "no usable CUDA device: %s", cudaGetErrorString (err));
      return NULL;
    }

  GPtrArray *devices = g_ptr_array_new_with_free_func (g_free);
  size_t cudnn_version = cudnnGetVersion ();
  for (int i = 0; i < count; i++)
    {
      struct cudaDeviceProp prop;
      size_t free_b = 0, total_b = 0;
      if (cudaGetDeviceProperties (&prop, i) != cudaSuccess)
        continue;
      if (cudaSetDevice (i) == cudaSuccess)
        cudaMemGetInfo (&free_b, &total_b);
      g_ptr_array_add (devices,
                       g_strdup_printf ("cuda:%d %s, %.1f GiB (%.1f GiB free), compute "
                                        "capability %d.%d, cuDNN %zu.%zu.%zu",
                                        i, prop.name, total_b / 1073741824.0,
                                        free_b / 1073741824.0, prop.major, prop.minor,
                                        cudnn_version / 10000, (cudnn_version / 100) % 100,
                                        cudnn_version % 100));
    }
  (void) cudaGetLastError ();
  if (count > 0)
    cudaSetDevice (0);
  return devices;
}

/* ---- backend ------------------------------------------------------------------------------ */

static gboolean
cuda_supports_op (NsBackend *be, const NsOpDesc *desc)
{
  NsCudaBackend *cb = ns_cuda_get (be);
  if (desc->op == NS_OP_BF16)
    return cb->cc_major >= 8;
  /* the loss kernels keep NS_CUDA_LOSS_MAX_K per-class sums (logits or probs: args[1]) */
  if (desc->op == NS_OP_SOFTMAX_DICE_CE && _ns_op_desc_has_tensors (desc))
    return desc->args[1]->shape[1] <= NS_CUDA_LOSS_MAX_K;
  return desc->op >= 0 && desc->op < NS_N_OPS;
}

static gboolean
cuda_set_precision (NsBackend *be, NsPrecision precision, GError **error)
{
  if (precision == NS_PRECISION_BF16 && ns_cuda_get (be)->cc_major < 8)
    {
      g_set_error (error, NS_NET_ERROR, NS_NET_ERROR_UNSUPPORTED,
                   "bf16 needs a GPU of compute capability 8.0 or later (this one: %d.%d)",
                   ns_cuda_get (be)->cc_major, ns_cuda_get (be)->cc_minor);
      return FALSE;
    }
  return TRUE;
}

static void
cuda_synchronize (NsBackend *be)
{
  NsCudaBackend *cb = ns_cuda_get (be);
  _ns_cuda_check (cb, cudaStreamSynchronize (cb->stream), "synchronize");
}

/* Page-locked: cudaMemcpyAsync from it is a DMA, not a staged copy; when the host will
 * not pin that much, plain memory still works (at the staged speed). */
static gpointer
cuda_host_alloc (NsBackend *be, gsize bytes)
{
  NsCudaBackend *cb = ns_cuda_get (be);
  void *p = NULL;

  if (cudaSetDevice (cb->device) == cudaSuccess
      && cudaHostAlloc (&p, MAX (bytes, 1), cudaHostAllocPortable) == cudaSuccess)
    return p;
  cudaGetLastError ();
  p = g_try_malloc (MAX (bytes, 1));
  if (p != NULL)
    g_hash_table_add (cb->pageable, p);
  return p;
}

static void
cuda_host_free (NsBackend *be, gpointer mem)
{
  NsCudaBackend *cb = ns_cuda_get (be);

  if (g_hash_table_remove (cb->pageable, mem))
    g_free (mem);
  else
    cudaFreeHost (mem);
}

static gboolean
cuda_memory_info (NsBackend *be, gsize *free_bytes, gsize *total_bytes)
{
  NsCudaBackend *cb = ns_cuda_get (be);
  size_t f = 0, t = 0;

  /* this thread may not have made the backend's device current yet */
  if (cudaSetDevice (cb->device) != cudaSuccess || cudaMemGetInfo (&f, &t) != cudaSuccess)
    {
      cudaGetLastError ();
      return FALSE;
    }
  *free_bytes = f;
  *total_bytes = t;
  return TRUE;
}

static void
cuda_free (NsBackend *be)
{
  NsCudaBackend *cb = ns_cuda_get (be);
  if (cb == NULL)
    return;
  if (cb->stream != NULL)
    cudaStreamSynchronize (cb->stream);
  release_scratch (cb);
  _ns_cuda_dnn_fini (cb);
  if (cb->loss_sums != NULL)
    cudaFree (cb->loss_sums);
  if (cb->loss_bad != NULL)
    cudaFree (cb->loss_bad);
  if (cb->stream != NULL)
    cudaStreamDestroy (cb->stream);
  g_clear_pointer (&cb->bn_eps, g_hash_table_unref);
  g_clear_pointer (&cb->pageable, g_hash_table_unref);
  (void) cudaGetLastError ();
  g_free (cb);
  be->priv = NULL;
}

/* ---- tensors ------------------------------------------------------------------------------ */

static gboolean
cuda_tensor_init (NsBackend *be, NsTensor *t, GError **error)
{
  float *data = NULL;
  cudaError_t err = cudaMalloc ((void **) &data, MAX (t->n, 1) * sizeof (float));

  if (err == cudaErrorMemoryAllocation)
    {
      /* Once more without the buffers the backend keeps for itself. */
      (void) cudaGetLastError ();
      release_scratch (ns_cuda_get (be));
      err = cudaMalloc ((void **) &data, MAX (t->n, 1) * sizeof (float));
    }
  if (err != cudaSuccess)
    {
      (void) cudaGetLastError ();
      g_set_error (error, NS_NET_ERROR,
                   err == cudaErrorMemoryAllocation ? NS_NET_ERROR_OUT_OF_MEMORY
                                                    : NS_NET_ERROR_FAILED,
                   "GPU tensor %d x %d x %d x %d (%.1f MiB): %s", t->shape[0], t->shape[1],
                   t->shape[2], t->shape[3], t->n * 4.0 / 1048576.0, cudaGetErrorString (err));
      return FALSE;
    }
  t->priv = data;
  return TRUE;
}

static void
cuda_tensor_init_view (NsBackend *be, NsTensor *t)
{
  t->priv = ns_cuda_ptr (t->parent) + t->offset;
}

static void
cuda_tensor_fini (NsBackend *be, NsTensor *t)
{
  if (t->parent == NULL && t->priv != NULL)
    cudaFree (t->priv);
  t->priv = NULL;
}

static void
cuda_upload (NsTensor *t, const float *nchw)
{
  NsCudaBackend *cb = ns_cuda_get (t->backend);
  if (_ns_cuda_check (cb, cudaMemcpyAsync (ns_cuda_ptr (t), nchw, t->n * sizeof (float),
                                           cudaMemcpyHostToDevice, cb->stream), "upload"))
    _ns_cuda_check (cb, cudaStreamSynchronize (cb->stream), "upload");
}

static void
cuda_download (NsTensor *t, float *nchw)
{
  NsCudaBackend *cb = ns_cuda_get (t->backend);
  if (_ns_cuda_check (cb, cudaMemcpyAsync (nchw, ns_cuda_ptr (t), t->n * sizeof (float),
                                           cudaMemcpyDeviceToHost, cb->stream), "download"))
    _ns_cuda_check (cb, cudaStreamSynchronize (cb->stream), "download");
}

static void
cuda_fill (NsTensor *t, float value)
{
  NsCudaBackend *cb = ns_cuda_get (t->backend);
  _ns_cuda_check (cb, ns_cuda_fill (ns_cuda_ptr (t), t->n, value, cb->stream), "fill");
}

static void
cuda_copy (NsTensor *dst, NsTensor *src)
{
  NsCudaBackend *cb = ns_cuda_get (dst->backend);
  _ns_cuda_check (cb, cudaMemcpyAsync (ns_cuda_ptr (dst), ns_cuda_ptr (src),
                                       dst->n * sizeof (float), cudaMemcpyDeviceToDevice,
                                       cb->stream), "copy");
}

/* ---- batch normalisation (cuDNN) ---------------------------------------------------------- */

/* cuDNN reads and writes per-channel vectors that, as views into the flat parameter
 * tensors, may start anywhere; those that are not 16-byte aligned go through aligned
 * scratch (slot 3, one piece per vector), copied in before the call (when read) and back
 * after it (when written).  They are C floats each: the copies cost a launch, not time. */
#define BN_MAX_VECS 8

typedef struct
{
  NsCudaBackend *cb;
  gsize C, stride;          /* floats per vector, and per scratch piece */
  int n;
  float *user[BN_MAX_VECS];
  float *dev[BN_MAX_VECS];
  gboolean written[BN_MAX_VECS];
  gboolean ok;
} BnVecs;

static void
bn_vecs_init (BnVecs *v, NsCudaBackend *cb, gsize C)
{
  memset (v, 0, sizeof *v);
  v->cb = cb;
  v->C = C;
  v->stride = (C + 3) / 4 * 4;
  v->ok = _ns_cuda_scratch (cb, 3, BN_MAX_VECS * v->stride * sizeof (float)) != NULL;
}

static float *
bn_vec (BnVecs *v, NsTensor *t, gboolean read, gboolean written)
{
  float *p = ns_cuda_ptr (t);
  if (!v->ok || p == NULL || ((guintptr) p & 15) == 0)
    return p;
  g_assert (v->n < BN_MAX_VECS);
  float *s = (float *) v->cb->scratch[3] + v->n * v->stride;
  if (read)
    v->ok = _ns_cuda_check (v->cb, cudaMemcpyAsync (s, p, v->C * sizeof (float),
                                                    cudaMemcpyDeviceToDevice, v->cb->stream),
                            "batch-norm vector");
  v->user[v->n] = p;
  v->dev[v->n] = s;
  v->written[v->n] = written;
  v->n++;
  return s;
}

static void
bn_vecs_finish (BnVecs *v, gboolean call_ok)
{
  for (int i = 0; call_ok && i < v->n; i++)
    if (v->written[i])
      _ns_cuda_check (v->cb, cudaMemcpyAsync (v->user[i], v->dev[i], v->C * sizeof (float),
                                              cudaMemcpyDeviceToDevice, v->cb->stream),
                      "batch-norm vector");
}

/* The backward pass has no eps argument: the forward pass remembers it by the save_invstd
 * buffer it filled. */
static void
cuda_batchnorm_forward (NsTensor *out, NsTensor *save_mean, NsTensor *save_invstd,
                        NsTensor *inp, NsTensor *gamma, NsTensor *beta, NsTensor *running_mean,
                        NsTensor *running_var, gboolean training, float momentum, float eps)
{
  NsCudaBackend *cb = ns_cuda_get (out->backend);
  BnVecs v;

  bn_vecs_init (&v, cb, (gsize) inp->shape[1]);
  float *g = bn_vec (&v, gamma, TRUE, FALSE), *b = bn_vec (&v, beta, TRUE, FALSE);
  float *rm = bn_vec (&v, running_mean, TRUE, training);
  float *rv = bn_vec (&v, running_var, TRUE, training);
  if (training)
    {
      float *sm = bn_vec (&v, save_mean, FALSE, TRUE);
      float *si = bn_vec (&v, save_invstd, FALSE, TRUE);
      if (!v.ok)
        return;
      double *saved = g_new (double, 1);
      *saved = eps;
      g_hash_table_insert (cb->bn_eps, ns_cuda_ptr (save_invstd), saved);
      bn_vecs_finish (&v, _ns_cuda_dnn_bn_forward_training (cb, inp->shape, ns_cuda_ptr (out),
                                                            sm, si, ns_cuda_ptr (inp), g, b,
                                                            rm, rv, momentum, eps));
    }
  else if (v.ok)
    _ns_cuda_dnn_bn_forward_inference (cb, inp->shape, ns_cuda_ptr (out), ns_cuda_ptr (inp),
                                       g, b, rm, rv, eps);
}

static void
cuda_batchnorm_backward (NsTensor *dinp, NsTensor *dgamma, NsTensor *dbeta, NsTensor *dout,
                         NsTensor *inp, NsTensor *save_mean, NsTensor *save_invstd,
                         NsTensor *gamma)
{
  NsCudaBackend *cb = ns_cuda_get (dout->backend);
  const gsize C = (gsize) inp->shape[1];
  const double *saved = g_hash_table_lookup (cb->bn_eps, ns_cuda_ptr (save_invstd));
  float *dx = ns_cuda_ptr (dinp);
  BnVecs v;

  /* cuDNN writes all three gradients: unwanted ones go to scratch. */
  if (dx == NULL && (dx = _ns_cuda_scratch (cb, 0, inp->n * sizeof (float))) == NULL)
    return;
  float *spare = NULL;
  if ((dgamma == NULL || dbeta == NULL)
      && (spare = _ns_cuda_scratch (cb, 1, 2 * C * sizeof (float))) == NULL)
    return;
  bn_vecs_init (&v, cb, C);
  float *dg = dgamma != NULL ? bn_vec (&v, dgamma, TRUE, TRUE) : spare;
  float *db = dbeta != NULL ? bn_vec (&v, dbeta, TRUE, TRUE) : spare + C;
  float *sm = bn_vec (&v, save_mean, TRUE, FALSE);
  float *si = bn_vec (&v, save_invstd, TRUE, FALSE);
  float *g = bn_vec (&v, gamma, TRUE, FALSE);
  if (!v.ok)
    return;
  bn_vecs_finish (&v, _ns_cuda_dnn_bn_backward (cb, inp->shape, dx, dg, db, ns_cuda_ptr (dout),
                                                ns_cuda_ptr (inp), sm, si, g,
                                                saved != NULL ? *saved : 1e-5));
}

/* ---- own kernels -------------------------------------------------------------------------- */

static void
cuda_relu_forward (NsTensor *out, NsTensor *inp, NsActivation act)
{
  NsCudaBackend *cb = ns_cuda_get (out->backend);
  _ns_cuda_check (cb, ns_cuda_relu_forward (ns_cuda_ptr (out), ns_cuda_ptr (inp), out->n,
                                            act, cb->stream), "relu forward");
}

static void
cuda_relu_backward (NsTensor *dinp, NsTensor *dout, NsTensor *out, NsActivation act)
{
  NsCudaBackend *cb = ns_cuda_get (dout->backend);
  _ns_cuda_check (cb, ns_cuda_relu_backward (ns_cuda_ptr (dinp), ns_cuda_ptr (dout),
                                             ns_cuda_ptr (out), dout->n, act, cb->stream),
                  "relu backward");
}

static void
cuda_maxpool2_forward (NsTensor *out, NsTensor *inp)
{
  NsCudaBackend *cb = ns_cuda_get (out->backend);
  _ns_cuda_check (cb, ns_cuda_maxpool2_forward (ns_cuda_ptr (out), ns_cuda_ptr (inp),
                                                (size_t) inp->shape[0] * inp->shape[1],
                                                inp->shape[2], inp->shape[3], cb->stream),
                  "maxpool forward");
}

static void
cuda_maxpool2_backward (NsTensor *dinp, NsTensor *dout, NsTensor *inp, NsTensor *out)
{
  NsCudaBackend *cb = ns_cuda_get (dout->backend);
  _ns_cuda_check (cb, ns_cuda_maxpool2_backward (ns_cuda_ptr (dinp), ns_cuda_ptr (dout),
                                                 ns_cuda_ptr (inp),
                                                 (size_t) inp->shape[0] * inp->shape[1],
                                                 inp->shape[2], inp->shape[3], cb->stream),
                  "maxpool backward");
}

static void
cuda_upsample2_forward (NsTensor *out, NsTensor *inp)
{
  NsCudaBackend *cb = ns_cuda_get (out->backend);
  _ns_cuda_check (cb, ns_cuda_upsample2_forward (ns_cuda_ptr (out), ns_cuda_ptr (inp),
                                                 (size_t) inp->shape[0] * inp->shape[1],
                                                 inp->shape[2], inp->shape[3], cb->stream),
                  "upsample forward");
}

static void
cuda_upsample2_backward (NsTensor *dinp, NsTensor *dout)
{
  NsCudaBackend *cb = ns_cuda_get (dout->backend);
  _ns_cuda_check (cb, ns_cuda_upsample2_backward (ns_cuda_ptr (dinp), ns_cuda_ptr (dout),
                                                  (size_t) dinp->shape[0] * dinp->shape[1],
                                                  dinp->shape[2], dinp->shape[3], cb->stream),
                  "upsample backward");
}

/* Channel blocks of NCHW are strided 2-D copies: N rows of C_part H W floats. */
static gboolean
copy_channels (NsCudaBackend *cb, float *dst, size_t dst_c, const float *src, size_t src_c,
               size_t part_c, size_t hw, size_t n)
{
  return _ns_cuda_check (cb, cudaMemcpy2DAsync (dst, dst_c * hw * sizeof (float), src,
                                                src_c * hw * sizeof (float),
                                                part_c * hw * sizeof (float), n,
                                                cudaMemcpyDeviceToDevice, cb->stream),
                         "concat copy");
}

static void
cuda_concat_forward (NsTensor *out, NsTensor *a, NsTensor *b)
{
  NsCudaBackend *cb = ns_cuda_get (out->backend);
  const size_t hw = (size_t) out->shape[2] * out->shape[3], n = out->shape[0];
  const size_t c = out->shape[1], ca = a->shape[1], cbn = b->shape[1];

  if (copy_channels (cb, ns_cuda_ptr (out), c, ns_cuda_ptr (a), ca, ca, hw, n))
    copy_channels (cb, ns_cuda_ptr (out) + ca * hw, c, ns_cuda_ptr (b), cbn, cbn, hw, n);
}

static void
cuda_concat_backward (NsTensor *da, NsTensor *db, NsTensor *dout)
{
  NsCudaBackend *cb = ns_cuda_get (dout->backend);
  const size_t hw = (size_t) dout->shape[2] * dout->shape[3], n = dout->shape[0];
  const size_t c = dout->shape[1];
  const size_t ca = da != NULL ? (size_t) da->shape[1] : c - (size_t) db->shape[1];

  if (da != NULL)
    copy_channels (cb, ns_cuda_ptr (da), ca, ns_cuda_ptr (dout), c, ca, hw, n);
  if (db != NULL)
    copy_channels (cb, ns_cuda_ptr (db), c - ca, ns_cuda_ptr (dout) + ca * hw, c, c - ca, hw,
                   n);
}

static void
cuda_add_forward (NsTensor *out, NsTensor *a, NsTensor *b)
{
  NsCudaBackend *cb = ns_cuda_get (out->backend);
  _ns_cuda_check (cb, ns_cuda_add (ns_cuda_ptr (out), ns_cuda_ptr (a), ns_cuda_ptr (b),
                                   out->n, cb->stream), "add");
}

static void
cuda_dropout_forward (NsTensor *out, NsTensor *mask, NsTensor *inp, float p, guint64 seed,
                      gboolean training)
{
  NsCudaBackend *cb = ns_cuda_get (out->backend);

  if (!training)
    {
      if (out != inp)
        cuda_copy (out, inp);
      return;
    }
  const float scale = (float) (1.0 / (1.0 - (double) p));
  _ns_cuda_check (cb, ns_cuda_dropout_forward (ns_cuda_ptr (out), ns_cuda_ptr (mask),
                                               ns_cuda_ptr (inp), out->n, p, seed, scale,
                                               cb->stream), "dropout forward");
}

static void
cuda_dropout_backward (NsTensor *dinp, NsTensor *dout, NsTensor *mask)
{
  NsCudaBackend *cb = ns_cuda_get (dout->backend);
  _ns_cuda_check (cb, ns_cuda_mul (ns_cuda_ptr (dinp), ns_cuda_ptr (dout), ns_cuda_ptr (mask),
                                   dout->n, cb->stream), "dropout backward");
}

static void
cuda_softmax_forward (NsTensor *probs, NsTensor *logits)
{
  NsCudaBackend *cb = ns_cuda_get (probs->backend);
  _ns_cuda_check (cb, ns_cuda_softmax (ns_cuda_ptr (probs), ns_cuda_ptr (logits),
                                       logits->shape[0], logits->shape[1],
                                       (size_t) logits->shape[2] * logits->shape[3],
                                       cb->stream), "softmax");
}

#define N_LOSS_SUMS (1 + 3 * NS_CUDA_LOSS_MAX_K)

/* supports_op refuses more classes (the op then runs on the host); this is the guard of
 * the kernels' fixed-size sums should the dispatcher ever not ask. */
static gboolean
loss_classes_ok (NsCudaBackend *cb, int K)
{
  if (K <= NS_CUDA_LOSS_MAX_K)
    return TRUE;
  _ns_backend_fail (cb->be, NS_NET_ERROR_UNSUPPORTED, "CUDA loss: %d classes, at most %d "
                    "supported", K, NS_CUDA_LOSS_MAX_K);
  return FALSE;
}

static gboolean
loss_sums_clear (NsCudaBackend *cb)
{
  return _ns_cuda_check (cb, cudaMemsetAsync (cb->loss_sums, 0, N_LOSS_SUMS * sizeof (double),
                                              cb->stream), "loss")
         && _ns_cuda_check (cb, cudaMemsetAsync (cb->loss_bad, 0, sizeof (int), cb->stream),
                            "loss");
}

/* Loss = CE + 1 - mean over k >= 1 of (2 I_k + 1) / (S_k + G_k + 1) (ns-backend.h). */
static float
cuda_softmax_dice_ce_forward (NsTensor *probs, NsTensor *logits, NsTensor *labels)
{
  NsCudaBackend *cb = ns_cuda_get (probs->backend);
  const int N = logits->shape[0], K = logits->shape[1];
  const size_t hw = (size_t) logits->shape[2] * logits->shape[3];
  double sums[N_LOSS_SUMS];
  int bad = 0;

  if (!loss_classes_ok (cb, K) || !loss_sums_clear (cb))
    return NAN;
  if (!_ns_cuda_check (cb, ns_cuda_loss_forward (ns_cuda_ptr (probs), ns_cuda_ptr (logits),
                                                 ns_cuda_ptr (labels), N, K, hw,
                                                 cb->loss_sums, cb->loss_bad, cb->stream),
                       "loss forward")
      || !_ns_cuda_check (cb, cudaMemcpyAsync (sums, cb->loss_sums, sizeof sums,
                                               cudaMemcpyDeviceToHost, cb->stream), "loss")
      || !_ns_cuda_check (cb, cudaMemcpyAsync (&bad, cb->loss_bad, sizeof bad,
                                               cudaMemcpyDeviceToHost, cb->stream), "loss")
      || !_ns_cuda_check (cb, cudaStreamSynchronize (cb->stream), "loss forward"))
    return NAN;
  if (bad > 0)
    {
      _ns_backend_fail (cb->be, NS_NET_ERROR_FAILED, "CUDA loss: %d labels are not class "
                        "indices 0..%d", bad, K - 1);
      return NAN;
    }

  const double ce = sums[0] / ((double) N * (double) hw);
  if (K < 2)
    return (float) ce;
  double dice = 0.0;
  for (int k = 1; k < K; k++)
    {
      const double I = sums[1 + k], S = sums[1 + NS_CUDA_LOSS_MAX_K + k];
      const double G = sums[1 + 2 * NS_CUDA_LOSS_MAX_K + k];
      dice += (2.0 * I + 1.0) / (S + G + 1.0);
    }
  return (float) (ce + 1.0 - dice / (K - 1));
}

static void
cuda_softmax_dice_ce_backward (NsTensor *dlogits, NsTensor *probs, NsTensor *labels)
{
  NsCudaBackend *cb = ns_cuda_get (probs->backend);
  const int N = probs->shape[0], K = probs->shape[1];
  const size_t hw = (size_t) probs->shape[2] * probs->shape[3];

  if (!loss_classes_ok (cb, K) || !loss_sums_clear (cb))
    return;
  if (_ns_cuda_check (cb, ns_cuda_loss_sums (ns_cuda_ptr (probs), ns_cuda_ptr (labels), N, K,
                                             hw, cb->loss_sums, cb->loss_bad, cb->stream),
                      "loss sums"))
    _ns_cuda_check (cb, ns_cuda_loss_backward (ns_cuda_ptr (dlogits), ns_cuda_ptr (probs),
                                               ns_cuda_ptr (labels), N, K, hw, cb->loss_sums,
                                               cb->stream), "loss backward");
}

static void
cuda_adam_update (NsTensor *params, NsTensor *grads, NsTensor *m, NsTensor *v,
                  const NsAdamParams *p)
{
  NsCudaBackend *cb = ns_cuda_get (params->backend);
  const double c1 = 1.0 - pow (p->beta1, p->step), c2 = 1.0 - pow (p->beta2, p->step);
  _ns_cuda_check (cb, ns_cuda_adam (ns_cuda_ptr (params), ns_cuda_ptr (grads), ns_cuda_ptr (m),
                                    ns_cuda_ptr (v), params->n, p->lr, p->beta1, p->beta2,
                                    p->eps, p->weight_decay, c1, c2, cb->stream), "adam");
}

static const NsBackendOps cuda_ops = {
  .name = "cuda",
  .supports_op = cuda_supports_op,
  .set_precision = cuda_set_precision,
  .synchronize = cuda_synchronize,
  .memory_info = cuda_memory_info,
  .host_alloc = cuda_host_alloc,
  .host_free = cuda_host_free,
  .free = cuda_free,
  .tensor_init = cuda_tensor_init,
  .tensor_init_view = cuda_tensor_init_view,
  .tensor_fini = cuda_tensor_fini,
  .upload = cuda_upload,
  .download = cuda_download,
  .fill = cuda_fill,
  .copy = cuda_copy,
  .conv2d_forward = _ns_cuda_conv2d_forward,
  .conv2d_backward = _ns_cuda_conv2d_backward,
  .batchnorm_forward = cuda_batchnorm_forward,
  .batchnorm_backward = cuda_batchnorm_backward,
  .relu_forward = cuda_relu_forward,
  .relu_backward = cuda_relu_backward,
  .maxpool2_forward = cuda_maxpool2_forward,
  .maxpool2_backward = cuda_maxpool2_backward,
  .upsample2_forward = cuda_upsample2_forward,
  .upsample2_backward = cuda_upsample2_backward,
  .convt2_forward = _ns_cuda_convt2_forward,
  .convt2_backward = _ns_cuda_convt2_backward,
  .concat_forward = cuda_concat_forward,
  .concat_backward = cuda_concat_backward,
  .add_forward = cuda_add_forward,
  .dropout_forward = cuda_dropout_forward,
  .dropout_backward = cuda_dropout_backward,
  .softmax_forward = cuda_softmax_forward,
  .softmax_dice_ce_forward = cuda_softmax_dice_ce_forward,
  .softmax_dice_ce_backward = cuda_softmax_dice_ce_backward,
  .adam_update = cuda_adam_update,
};

NsBackend *
_ns_backend_cuda_new (GError **error)
{
  g_autoptr (GPtrArray) devices = _ns_backend_cuda_list_devices (error);
  char message[256] = "";

  if (devices == NULL)
    return NULL;
  if (devices->len == 0)
    {
      g_set_error (error, NS_NET_ERROR, NS_NET_ERROR_NO_BACKEND, "no CUDA device found");
      return NULL;
    }
  if (ns_cuda_probe_kernel (message, sizeof message) != 0)
    {
      (void) cudaGetLastError ();
      g_set_error (error, NS_NET_ERROR, NS_NET_ERROR_NO_BACKEND,
                   "CUDA device %s failed its self-test: %s",
                   (const char *) devices->pdata[0], message);
      return NULL;
    }

  NsBackend *be = g_new0 (NsBackend, 1);
  NsCudaBackend *cb = g_new0 (NsCudaBackend, 1);
  be->ops = &cuda_ops;
  be->priv = cb;
  cb->be = be;
  be->device = g_strdup (devices->pdata[0]);
  cb->device = 0;
  cb->pageable = g_hash_table_new (NULL, NULL);

  struct cudaDeviceProp prop;
  cudaError_t err = cudaSetDevice (cb->device);
  if (err == cudaSuccess)
    err = cudaGetDeviceProperties (&prop, cb->device);
  if (err == cudaSuccess)
    {
      cb->cc_major = prop.major;
      cb->cc_minor = prop.minor;
      err = cudaStreamCreateWithFlags (&cb->stream, cudaStreamNonBlocking);
    }
  if (err == cudaSuccess)
    err = cudaMalloc ((void **) &cb->loss_sums, N_LOSS_SUMS * sizeof (double));
  if (err == cudaSuccess)
    err = cudaMalloc ((void **) &cb->loss_bad, sizeof (int));
  if (err != cudaSuccess)
    {
      (void) cudaGetLastError ();
      g_set_error (error, NS_NET_ERROR, NS_NET_ERROR_NO_BACKEND, "CUDA device %s: %s",
                   be->device, cudaGetErrorString (err));
      ns_backend_free (be);
      return NULL;
    }
  cb->bn_eps = g_hash_table_new_full (g_direct_hash, g_direct_equal, NULL, g_free);
  if (!_ns_cuda_dnn_init (cb, error) || !_ns_cuda_dnn_self_test (cb, error))
    {
      ns_backend_free (be);
      return NULL;
    }
  be->precision = cb->cc_major >= 8 ? NS_PRECISION_BF16 : NS_PRECISION_FP32;
  return be;
}
