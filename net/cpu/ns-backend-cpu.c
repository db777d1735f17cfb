/* SPDX-License-Identifier: MIT
 *
 * ns-backend-cpu.c: the `cpu` backend, oneDNN 2.6 through its version-2 C API (operation
 * descriptors, then primitive descriptors).
 *
 * Layout.  Every tensor records the oneDNN memory descriptor of its current contents.
 * Upload, fill and the backend's own loops leave plain float32 NCHW; a primitive writes
 * its output in the format it chose (nChw16c for fp32 convolutions on AVX-512, NHWC for
 * the AMX bf16 kernels), and the layers after it (batch-norm, eltwise, pooling,
 * resampling, binary, concat) keep that format, so a conv -> bn -> relu -> conv chain runs
 * without a single reorder.  An op reorders an input into a scratch buffer only when the
 * primitive wants another format or data type.  Views (ns_tensor_new_view) and the flat
 * tensors they live in stay plain float32: they are the parameters, gradients and Adam
 * moments.  A convolution keeps its weights reordered into the primitive's blocked
 * format, cached per tensor and redone only when the tensor's version changes (upload,
 * fill, Adam, or any op writing the tensor or its flat parent).
 *
 * Caching.  Primitive descriptors and primitives live in a hash table keyed by the op,
 * its sizes and parameters, the data type and the formats of its inputs; the engine and
 * the stream are created once per backend.
 *
 * Precision.  fp32 by default.  bf16 (only where the CPU has avx512_core_bf16) stores the
 * outputs of the primitives in bf16 and reorders conv weights to bf16; oneDNN accumulates
 * in fp32; parameters, gradients, Adam state, batch-norm statistics and the loss stay
 * fp32.
 *
 * Threads.  oneDNN runs its primitives on its own OpenMP pool.  The few loops of our own
 * (loss, dropout, Adam, batch-norm statistics) are plain single-threaded loops over
 * contiguous arrays, which the compiler vectorises; they are a small share of a step.
 *
 * Errors.  An op for which oneDNN has no primitive (for these shapes and layouts) is
 * refused by supports_op, which makes the primitive to find out (and caches it), and the
 * dispatcher runs it on the host.  A oneDNN call that fails or memory that cannot be had
 * inside an op is recorded in the backend's status (_ns_backend_fail) and the op leaves
 * its outputs unchanged; the caller's ns_backend_check() reports it.
 */
#define G_LOG_DOMAIN "neuroseg-net"

#include "ns-config.h"
#include "ns-memory.h"
#include "ns-cpu-private.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

gboolean
_ns_cpu_check (CpuBackend *cb, dnnl_status_t s, const char *what)
{
  if (s == dnnl_success)
    return TRUE;
  _ns_backend_fail (cb->be, s == dnnl_out_of_memory ? NS_NET_ERROR_OUT_OF_MEMORY
                                                    : NS_NET_ERROR_FAILED,
                    "oneDNN: %s failed (status %d)", what, (int) s);
  return FALSE;
}

void
_ns_cpu_out_of_memory (CpuBackend *cb, gsize bytes, const char *what)
{
  _ns_backend_fail (cb->be, NS_NET_ERROR_OUT_OF_MEMORY,
                    "oneDNN backend: out of memory for %" G_GSIZE_FORMAT " MiB of %s",
                    bytes >> 20, what);
}

/* ---- primitive cache ---------------------------------------------------------------- */

static void
prim_free (gpointer data)
{
  Prim *p = data;
  if (p->prim)
    dnnl_primitive_destroy (p->prim);
  if (p->pd)
    dnnl_primitive_desc_destroy (p->pd);
  g_free (p);
}

Prim *
_ns_cpu_cache_lookup (CpuBackend *cb, const Key *k)
{
  g_autoptr (GBytes) b = g_bytes_new_static (k->v, sizeof (gint64) * k->n);
  return g_hash_table_lookup (cb->cache, b);
}

/* Takes ownership of pd; NULL when the primitive cannot be created. */
Prim *
_ns_cpu_cache_insert (CpuBackend *cb, const Key *k, dnnl_primitive_desc_t pd)
{
  if (pd == NULL)
    return NULL;
  Prim *p = g_new0 (Prim, 1);
  p->pd = pd;
  if (dnnl_primitive_create (&p->prim, pd) != dnnl_success)
    {
      prim_free (p);
      return NULL;
    }
  g_hash_table_insert (cb->cache, g_bytes_new (k->v, sizeof (gint64) * k->n), p);
  return p;
}

/* ---- buffers and execution ------------------------------------------------------------ */

void *
_ns_cpu_alloc (gsize size)
{
  void *p = NULL;
  /* large tensors on huge pages (ns-memory.h: 2 MiB-aligned, so ALIGN-aligned too) */
  if (size >= ((gsize) 4 << 20))
    return ns_memory_alloc_large (size, FALSE);
  if (posix_memalign (&p, ALIGN, MAX (size, ALIGN)) != 0)
    return NULL;
  return p;
}

void *
_ns_cpu_scratch (CpuBackend *cb, int slot, gsize size)
{
  g_assert (slot >= 0 && slot < N_SCRATCH);
  if (cb->scratch_size[slot] < size)
    {
      free (cb->scratch[slot]);
      cb->scratch[slot] = _ns_cpu_alloc (size);
      cb->scratch_size[slot] = cb->scratch[slot] != NULL ? size : 0;
      if (cb->scratch[slot] == NULL)
        {
          _ns_cpu_out_of_memory (cb, size, "scratch");
          return NULL;
        }
    }
  return cb->scratch[slot];
}

gboolean
_ns_cpu_run (CpuBackend *cb, dnnl_primitive_t prim, int n, const Arg *a)
{
  dnnl_exec_arg_t args[16] = { { 0 } };
  gboolean ok = TRUE;
  int made = 0;

  g_assert (n <= 16);
  for (int i = 0; i < n; i++)
    {
      if (!DNNL_OK (cb, dnnl_memory_create (&args[i].memory, a[i].md, cb->engine, a[i].ptr)))
        {
          ok = FALSE;
          break;
        }
      args[i].arg = a[i].arg;
      made++;
    }
  if (ok)
    ok = DNNL_OK (cb, dnnl_primitive_execute (prim, cb->stream, n, args))
         && DNNL_OK (cb, dnnl_stream_wait (cb->stream));
  for (int i = 0; i < made; i++)
    dnnl_memory_destroy (args[i].memory);
  return ok;
}

/* dst (+)= src with a layout / type change; accumulate adds into dst (sum post-op). */
gboolean
_ns_cpu_reorder (CpuBackend *cb, const dnnl_memory_desc_t *src_md, void *src,
                 const dnnl_memory_desc_t *dst_md, void *dst, gboolean accumulate)
{
  if (!accumulate && md_eq (src_md, dst_md))
    {
      if (src != dst)
        memmove (dst, src, dnnl_memory_desc_get_size (src_md));
      return TRUE;
    }

  Key k = { .n = 0 };
  key_add (&k, K_REORDER);
  key_add (&k, accumulate);
  key_md (&k, src_md);
  key_md (&k, dst_md);
  Prim *p = _ns_cpu_cache_lookup (cb, &k);
  if (p == NULL)
    {
      dnnl_primitive_attr_t attr = NULL;
      dnnl_primitive_desc_t pd = NULL;
      if (accumulate)
        {
          dnnl_post_ops_t po;
          dnnl_primitive_attr_create (&attr);
          dnnl_post_ops_create (&po);
          dnnl_post_ops_append_sum (po, 1.0f);
          dnnl_primitive_attr_set_post_ops (attr, po);
          dnnl_post_ops_destroy (po);
        }
      dnnl_status_t s = dnnl_reorder_primitive_desc_create (&pd, src_md, cb->engine, dst_md,
                                                            cb->engine, attr);
      if (attr)
        dnnl_primitive_attr_destroy (attr);
      if (!_ns_cpu_check (cb, s, "dnnl_reorder_primitive_desc_create"))
        return FALSE;
      p = _ns_cpu_cache_insert (cb, &k, pd);
      if (p == NULL)
        return _ns_cpu_check (cb, dnnl_runtime_error, "dnnl_primitive_create (reorder)");
    }
  Arg a[] = { { DNNL_ARG_FROM, src_md, src }, { DNNL_ARG_TO, dst_md, dst } };
  return _ns_cpu_run (cb, p->prim, 2, a);
}

/* ---- tensors -------------------------------------------------------------------------- */

guint64
_ns_cpu_bump (CpuBackend *cb, NsTensor *t)
{
  return CT (t)->version = ++cb->counter;
}

guint64
_ns_cpu_tensor_version (NsTensor *t)
{
  guint64 v = CT (t)->version;
  if (t->parent != NULL)
    v = MAX (v, CT (t->parent)->version);
  return v;
}

/* Rewrites t in place as plain f32 NCHW (lossless: only f32 or bf16 -> f32).  Returns the
 * float pointer. */
float *
_ns_cpu_plain_f32 (CpuBackend *cb, NsTensor *t)
{
  CpuTensor *ct = CT (t);
  dnnl_memory_desc_t plain = md_nchw (t, dnnl_f32);
  if (md_eq (&ct->md, &plain))
    return ct->data;

  g_assert (!ct->pinned);
  gsize size = t->n * sizeof (float);   /* capacity is always >= n floats */
  void *tmp = _ns_cpu_scratch (cb, N_SCRATCH - 1, size);
  if (tmp == NULL || !_ns_cpu_reorder (cb, &ct->md, ct->data, &plain, tmp, FALSE))
    return NULL;
  memcpy (ct->data, tmp, size);
  ct->md = plain;
  return ct->data;
}

/* A read-only pointer to t's contents laid out as `want`, reordering into scratch `slot`
 * when t holds another layout or type.  Call before out_begin on any aliasing output. */
void *
_ns_cpu_in_as (CpuBackend *cb, NsTensor *t, const dnnl_memory_desc_t *want, int slot)
{
  CpuTensor *ct = CT (t);
  if (md_eq (&ct->md, want))
    return ct->data;
  void *buf = _ns_cpu_scratch (cb, slot, dnnl_memory_desc_get_size (want));
  if (buf == NULL || !_ns_cpu_reorder (cb, &ct->md, ct->data, want, buf, FALSE))
    return NULL;
  return buf;
}

gboolean
_ns_cpu_out_begin (CpuBackend *cb, Out *o, NsTensor *t, const dnnl_memory_desc_t *md, int slot)
{
  CpuTensor *ct = CT (t);
  memset (o, 0, sizeof *o);
  o->t = t;
  o->md = *md;
  if (ct->pinned)
    {
      dnnl_memory_desc_t plain = md_nchw (t, dnnl_f32);
      if (md_eq (md, &plain))
        o->ptr = ct->data;
      else
        {
          o->staged = TRUE;
          o->ptr = _ns_cpu_scratch (cb, slot, dnnl_memory_desc_get_size (md));
        }
      return o->ptr != NULL;
    }
  gsize size = dnnl_memory_desc_get_size (md);
  if (size > ct->capacity)
    {
      void *bigger = _ns_cpu_alloc (size);
      if (bigger == NULL)
        {
          _ns_cpu_out_of_memory (cb, size, "a tensor in a larger layout");
          return FALSE;
        }
      o->old = ct->data;
      ct->data = bigger;
      ct->capacity = size;
    }
  ct->md = *md;
  o->ptr = ct->data;
  return TRUE;
}

void
_ns_cpu_out_end (CpuBackend *cb, Out *o)
{
  CpuTensor *ct = CT (o->t);
  if (o->staged)
    {
      dnnl_memory_desc_t plain = md_nchw (o->t, dnnl_f32);
      _ns_cpu_reorder (cb, &o->md, o->ptr, &plain, ct->data, FALSE);
    }
  free (o->old);
  _ns_cpu_bump (cb, o->t);
}

/* The copy of w's weights laid out as `want`: *current when it holds them for the
 * tensor's present version, else a slot (that copy, a free one or the oldest) sized and
 * marked for `want`, to be filled.  NULL when out of memory. */
static WeightCopy *
weight_copy (CpuBackend *cb, NsTensor *w, const dnnl_memory_desc_t *want, gboolean *current)
{
  CpuTensor *ct = CT (w);
  guint64 version = _ns_cpu_tensor_version (w);
  WeightCopy *slot = NULL;
  *current = FALSE;
  for (int i = 0; i < N_WEIGHT_COPIES; i++)
    {
      WeightCopy *c = &ct->copies[i];
      if (c->data != NULL && md_eq (&c->md, want))
        {
          *current = c->version == version;
          return c;
        }
    }
  /* a free copy, else the oldest one */
  slot = &ct->copies[0];
  for (int i = 0; i < N_WEIGHT_COPIES; i++)
    {
      if (ct->copies[i].data == NULL)
        {
          slot = &ct->copies[i];
          break;
        }
      if (ct->copies[i].version < slot->version)
        slot = &ct->copies[i];
    }
  gsize size = dnnl_memory_desc_get_size (want);
  if (slot->size < size)
    {
      free (slot->data);
      slot->data = _ns_cpu_alloc (size);
      slot->size = slot->data != NULL ? size : 0;
      if (slot->data == NULL)
        {
          memset (&slot->md, 0, sizeof slot->md);
          _ns_cpu_out_of_memory (cb, size, "reordered weights");
          return NULL;
        }
    }
  slot->md = *want;
  return slot;
}

/* Fills a copy from plain f32 contents src (laid out as src_md). */
static void *
weight_copy_fill (CpuBackend *cb, NsTensor *w, WeightCopy *slot,
                  const dnnl_memory_desc_t *src_md, void *src)
{
  if (!_ns_cpu_reorder (cb, src_md, src, &slot->md, slot->data, FALSE))
    {
      memset (&slot->md, 0, sizeof slot->md);   /* matches no request */
      return NULL;
    }
  slot->version = _ns_cpu_tensor_version (w);
  return slot->data;
}

/* Weights (a plain f32 tensor, usually a view of the parameters) laid out as `want`:
 * the tensor itself when it already is, else a cached reordered copy. */
void *
_ns_cpu_weights_as (CpuBackend *cb, NsTensor *w, const dnnl_memory_desc_t *plain,
                    const dnnl_memory_desc_t *want)
{
  void *data = _ns_cpu_plain_f32 (cb, w);
  if (data == NULL || md_eq (plain, want))
    return data;
  gboolean current;
  WeightCopy *slot = weight_copy (cb, w, want, &current);
  if (slot == NULL || current)
    return slot != NULL ? slot->data : NULL;
  return weight_copy_fill (cb, w, slot, plain, data);
}

void *
_ns_cpu_weights_derived (CpuBackend *cb, NsTensor *w, NsCpuDeriveWeights derive,
                         gpointer user, const dnnl_memory_desc_t *plain,
                         const dnnl_memory_desc_t *want)
{
  const float *data = _ns_cpu_plain_f32 (cb, w);
  if (data == NULL)
    return NULL;
  gboolean current;
  WeightCopy *slot = weight_copy (cb, w, want, &current);
  if (slot == NULL || current)
    return slot != NULL ? slot->data : NULL;
  float *tmp = _ns_cpu_scratch (cb, N_SCRATCH - 2, dnnl_memory_desc_get_size (plain));
  if (tmp == NULL)
    return NULL;
  derive (data, tmp, user);
  return weight_copy_fill (cb, w, slot, plain, tmp);
}

/* g (a plain f32 gradient) += src laid out as src_md. */
void
_ns_cpu_accumulate_into (CpuBackend *cb, NsTensor *g, const dnnl_memory_desc_t *g_plain,
                         const dnnl_memory_desc_t *src_md, void *src)
{
  void *data = _ns_cpu_plain_f32 (cb, g);
  if (data != NULL)
    _ns_cpu_reorder (cb, src_md, src, g_plain, data, TRUE);
  _ns_cpu_bump (cb, g);
}

void
_ns_cpu_add_vec (CpuBackend *cb, NsTensor *g, const float *src)
{
  float *d = _ns_cpu_plain_f32 (cb, g);
  if (d == NULL)
    return;
  for (gsize i = 0; i < g->n; i++)
    d[i] += src[i];
  _ns_cpu_bump (cb, g);
}

/* ---- backend -------------------------------------------------------------------------- */

static gboolean
cpu_supports_op (NsBackend *be, const NsOpDesc *desc)
{
  if (desc->op == NS_OP_BF16)
    return CB (be)->has_bf16;
  if (!_ns_op_desc_has_tensors (desc))
    return desc->op >= 0 && desc->op < NS_N_OPS;
  switch (desc->op)
    {
    case NS_OP_CONV2D:
    case NS_OP_CONV2D_FUSED_ACT:
    case NS_OP_CONV2D_ADD:
    case NS_OP_CONVT2:
      return _ns_cpu_conv_supports (CB (be), desc);
    case NS_OP_BATCHNORM:
    case NS_OP_RELU:
    case NS_OP_MAXPOOL2:
    case NS_OP_UPSAMPLE2:
    case NS_OP_CONCAT:
    case NS_OP_ADD:
    case NS_OP_SOFTMAX:
      return _ns_cpu_layers_supports (CB (be), desc);
    case NS_OP_UPCONV2:
      return _ns_cpu_upconv2_supports (CB (be), desc);
    case NS_OP_DROPOUT:
    case NS_OP_SOFTMAX_DICE_CE:
    case NS_OP_ADAM:
    case NS_OP_BF16:
    case NS_N_OPS:
    default:
      return TRUE;   /* plain loops (ns-cpu-loops.c) */
    }
}

static const char *
isa_name (dnnl_cpu_isa_t isa)
{
  switch ((int) isa)
    {
    case dnnl_cpu_isa_sse41: return "sse41";
    case dnnl_cpu_isa_avx: return "avx";
    case dnnl_cpu_isa_avx2: return "avx2";
    case dnnl_cpu_isa_avx2_vnni: return "avx2_vnni";
    case dnnl_cpu_isa_avx512_mic: return "avx512_mic";
    case dnnl_cpu_isa_avx512_mic_4ops: return "avx512_mic_4ops";
    case dnnl_cpu_isa_avx512_core: return "avx512_core";
    case dnnl_cpu_isa_avx512_core_vnni: return "avx512_core_vnni";
    case dnnl_cpu_isa_avx512_core_bf16: return "avx512_core_bf16";
    case dnnl_cpu_isa_avx512_core_amx: return "avx512_core_amx";
    default: return "unknown";
    }
}

static gboolean
cpu_set_precision (NsBackend *be, NsPrecision precision, GError **error)
{
  CpuBackend *cb = CB (be);
  if (precision == NS_PRECISION_BF16 && !cb->has_bf16)
    {
      g_set_error (error, NS_NET_ERROR, NS_NET_ERROR_UNSUPPORTED,
                   "bf16 needs a CPU with avx512_core_bf16 instructions; oneDNN found only %s",
                   isa_name (dnnl_get_effective_cpu_isa ()));
      return FALSE;
    }
  cb->act_dt = precision == NS_PRECISION_BF16 ? dnnl_bf16 : dnnl_f32;
  return TRUE;
}

static void
cpu_synchronize (NsBackend *be)
{
  dnnl_stream_wait (CB (be)->stream);
}

static void
cpu_free (NsBackend *be)
{
  CpuBackend *cb = CB (be);
  if (cb == NULL)
    return;
  g_clear_pointer (&cb->cache, g_hash_table_unref);
  for (int i = 0; i < N_SCRATCH; i++)
    free (cb->scratch[i]);
  if (cb->stream)
    dnnl_stream_destroy (cb->stream);
  if (cb->engine)
    dnnl_engine_destroy (cb->engine);
  g_free (cb);
  be->priv = NULL;
}

static gboolean
cpu_tensor_init (NsBackend *be, NsTensor *t, GError **error)
{
  CpuTensor *ct = g_new0 (CpuTensor, 1);
  gsize size = t->n * sizeof (float);
  ct->data = _ns_cpu_alloc (size);
  if (ct->data == NULL)
    {
      g_free (ct);
      g_set_error (error, NS_NET_ERROR, NS_NET_ERROR_OUT_OF_MEMORY,
                   "cannot allocate a %d x %d x %d x %d tensor (%" G_GSIZE_FORMAT " MB)",
                   t->shape[0], t->shape[1], t->shape[2], t->shape[3], size >> 20);
      return FALSE;
    }
  ct->capacity = size;
  ct->md = md_nchw (t, dnnl_f32);
  t->priv = ct;
  return TRUE;
}

static void
cpu_tensor_init_view (NsBackend *be, NsTensor *t)
{
  CpuBackend *cb = CB (be);
  CpuTensor *parent = CT (t->parent);
  CpuTensor *ct = g_new0 (CpuTensor, 1);

  _ns_cpu_plain_f32 (cb, t->parent);
  parent->pinned = TRUE;
  ct->data = (float *) parent->data + t->offset;
  ct->capacity = t->n * sizeof (float);
  ct->md = md_nchw (t, dnnl_f32);
  ct->pinned = TRUE;
  ct->is_view = TRUE;
  t->priv = ct;
}

static void
cpu_tensor_fini (NsBackend *be, NsTensor *t)
{
  CpuTensor *ct = CT (t);
  if (ct == NULL)
    return;
  if (!ct->is_view)
    free (ct->data);
  for (int i = 0; i < N_WEIGHT_COPIES; i++)
    free (ct->copies[i].data);
  free (ct->ws);
  g_free (ct);
  t->priv = NULL;
}

static void
cpu_upload (NsTensor *t, const float *nchw)
{
  CpuBackend *cb = CB (t->backend);
  CpuTensor *ct = CT (t);
  ct->md = md_nchw (t, dnnl_f32);   /* capacity is always >= n floats */
  memcpy (ct->data, nchw, t->n * sizeof (float));
  _ns_cpu_bump (cb, t);
}

static void
cpu_download (NsTensor *t, float *nchw)
{
  CpuBackend *cb = CB (t->backend);
  CpuTensor *ct = CT (t);
  dnnl_memory_desc_t plain = md_nchw (t, dnnl_f32);
  _ns_cpu_reorder (cb, &ct->md, ct->data, &plain, nchw, FALSE);
}

static void
cpu_fill (NsTensor *t, float value)
{
  CpuBackend *cb = CB (t->backend);
  CpuTensor *ct = CT (t);
  float *d = ct->data;
  ct->md = md_nchw (t, dnnl_f32);
  for (gsize i = 0; i < t->n; i++)
    d[i] = value;
  _ns_cpu_bump (cb, t);
}

void
_ns_cpu_copy (NsTensor *dst, NsTensor *src)
{
  CpuBackend *cb = CB (dst->backend);
  CpuTensor *cs = CT (src);
  dnnl_memory_desc_t md = cs->md;
  if (md.ndims == 4 && memcmp (src->shape, dst->shape, sizeof src->shape) != 0)
    {
      /* same element count, other shape: go through plain NCHW */
      if (_ns_cpu_plain_f32 (cb, src) == NULL)
        return;
      md = md_nchw (dst, dnnl_f32);
    }
  Out o;
  if (!_ns_cpu_out_begin (cb, &o, dst, &md, 0))
    return;
  if (o.ptr != cs->data)
    memcpy (o.ptr, cs->data, dnnl_memory_desc_get_size (&md));
  _ns_cpu_out_end (cb, &o);
}

/* ---- construction --------------------------------------------------------------------- */

static const NsBackendOps cpu_ops = {
  .name = "cpu",
  .supports_op = cpu_supports_op,
  .set_precision = cpu_set_precision,
  .synchronize = cpu_synchronize,
  .free = cpu_free,
  .tensor_init = cpu_tensor_init,
  .tensor_init_view = cpu_tensor_init_view,
  .tensor_fini = cpu_tensor_fini,
  .upload = cpu_upload,
  .download = cpu_download,
  .fill = cpu_fill,
  .copy = _ns_cpu_copy,
  .conv2d_forward = _ns_cpu_conv2d_forward,
  .conv2d_backward = _ns_cpu_conv2d_backward,
  .batchnorm_forward = _ns_cpu_batchnorm_forward,
  .batchnorm_backward = _ns_cpu_batchnorm_backward,
  .relu_forward = _ns_cpu_relu_forward,
  .relu_backward = _ns_cpu_relu_backward,
  .maxpool2_forward = _ns_cpu_maxpool2_forward,
  .maxpool2_backward = _ns_cpu_maxpool2_backward,
  .upsample2_forward = _ns_cpu_upsample2_forward,
  .upsample2_backward = _ns_cpu_upsample2_backward,
  .convt2_forward = _ns_cpu_convt2_forward,
  .convt2_backward = _ns_cpu_convt2_backward,
  .concat_forward = _ns_cpu_concat_forward,
  .concat_backward = _ns_cpu_concat_backward,
  .upconv2_forward = _ns_cpu_upconv2_forward,
  .conv2d_add_forward = _ns_cpu_conv2d_add_forward,
  .add_forward = _ns_cpu_add_forward,
  .dropout_forward = _ns_cpu_dropout_forward,
  .dropout_backward = _ns_cpu_dropout_backward,
  .softmax_forward = _ns_cpu_softmax_forward,
  .softmax_dice_ce_forward = _ns_cpu_softmax_dice_ce_forward,
  .softmax_dice_ce_backward = _ns_cpu_softmax_dice_ce_backward,
  .adam_update = _ns_cpu_adam_update,
};

/* oneDNN's OpenMP pool: OMP_NUM_THREADS when set, else one thread per usable core. */
static int
omp_threads (void)
{
  const char *env = g_getenv ("OMP_NUM_THREADS");
  if (env != NULL && atoi (env) > 0)
    return atoi (env);
  return (int) g_get_num_processors ();
}

/* The OpenMP wait settings the environment gave libgomp (which reads them once, when it
 * is loaded), for the device line: under a competing load they decide how much of the
 * pass goes to threads spinning at barriers (net/README.md, "Against ONNX Runtime");
 * empty when neither is set. */
static char *
omp_wait_note (void)
{
  const char *policy = g_getenv ("OMP_WAIT_POLICY"), *spin = g_getenv ("GOMP_SPINCOUNT");
  if (policy == NULL && spin == NULL)
    return g_strdup ("");
  return g_strdup_printf (", %s%s%s%s", policy != NULL ? "OMP_WAIT_POLICY=" : "",
                          policy != NULL ? policy : "",
                          spin != NULL ? (policy != NULL ? " GOMP_SPINCOUNT=" : "GOMP_SPINCOUNT=")
                                       : "",
                          spin != NULL ? spin : "");
}

NsBackend *
_ns_backend_cpu_new (GError **error)
{
  CpuBackend *cb = g_new0 (CpuBackend, 1);
  if (dnnl_engine_create (&cb->engine, dnnl_cpu, 0) != dnnl_success
      || dnnl_stream_create (&cb->stream, cb->engine, dnnl_stream_default_flags)
           != dnnl_success)
    {
      if (cb->engine)
        dnnl_engine_destroy (cb->engine);
      g_free (cb);
      g_set_error (error, NS_NET_ERROR, NS_NET_ERROR_NO_BACKEND,
                   "device 'cpu': oneDNN could not create a CPU engine");
      return NULL;
    }
  cb->cache = g_hash_table_new_full (g_bytes_hash, g_bytes_equal,
                                     (GDestroyNotify) g_bytes_unref, prim_free);
  cb->act_dt = dnnl_f32;
  dnnl_cpu_isa_t isa = dnnl_get_effective_cpu_isa ();
  cb->has_bf16 = ((unsigned) isa & (unsigned) dnnl_cpu_isa_avx512_core_bf16)
                 == (unsigned) dnnl_cpu_isa_avx512_core_bf16;

  NsBackend *be = g_new0 (NsBackend, 1);
  be->ops = &cpu_ops;
  be->priv = cb;
  cb->be = be;
  be->precision = NS_PRECISION_FP32;
  const dnnl_version_t *v = dnnl_version ();
  g_autofree char *wait = omp_wait_note ();
  be->device = g_strdup_printf ("oneDNN %d.%d.%d on %d threads, isa %s%s%s", v->major,
                                v->minor, v->patch, omp_threads (), isa_name (isa),
                                cb->has_bf16 ? "/bf16" : "", wait);
  return be;
}
