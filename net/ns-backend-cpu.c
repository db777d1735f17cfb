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
 * Errors.  The op table returns void; a failing oneDNN call is a g_critical naming the
 * call and the status, and the op leaves its outputs unchanged.
 */
#define G_LOG_DOMAIN "ns-net"

#include "ns-config.h"
#include "ns-backend-private.h"

#include <oneapi/dnnl/dnnl.h>

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define N_SCRATCH      8
#define N_WEIGHT_COPIES 4
#define ALIGN          64

typedef struct
{
  dnnl_engine_t engine;
  dnnl_stream_t stream;
  GHashTable *cache;            /* GBytes key -> Prim */
  void *scratch[N_SCRATCH];
  gsize scratch_size[N_SCRATCH];
  guint64 counter;              /* version source */
  dnnl_data_type_t act_dt;      /* f32 or bf16: data type of primitive outputs */
  gboolean has_bf16;
} CpuBackend;

typedef struct
{
  dnnl_memory_desc_t md;
  void *data;
  gsize size;
  guint64 version;
} WeightCopy;

typedef struct
{
  void *data;                   /* owned unless a view */
  gsize capacity;               /* bytes */
  dnnl_memory_desc_t md;        /* layout and type of the current contents */
  gboolean pinned;              /* views and their flat parents: always plain f32 */
  gboolean is_view;
  guint64 version;
  WeightCopy copies[N_WEIGHT_COPIES];
  /* max-pool forward keeps oneDNN's workspace with its output */
  void *ws;
  gsize ws_size;
  guint64 ws_version;
  dnnl_memory_desc_t ws_src_md;
} CpuTensor;

typedef struct
{
  dnnl_primitive_desc_t pd;
  dnnl_primitive_t prim;
  dnnl_primitive_desc_t aux_pd;  /* max-pool backward: forward to regenerate the workspace */
  dnnl_primitive_t aux_prim;
} Prim;

typedef enum
{
  K_CONV_FWD = 1,
  K_CONV_BWD_D,
  K_CONV_BWD_W,
  K_BN_FWD,
  K_BN_BWD,
  K_ELT_FWD,
  K_ELT_BWD,
  K_POOL_FWD,
  K_POOL_BWD,
  K_RES_FWD,
  K_RES_BWD,
  K_CONCAT,
  K_BINARY,
  K_SOFTMAX,
  K_REORDER,
} KeyKind;

#define CB(be) ((CpuBackend *) (be)->priv)
#define CT(t)  ((CpuTensor *) (t)->priv)

static gboolean
dnnl_ok (dnnl_status_t s, const char *what)
{
  if (s == dnnl_success)
    return TRUE;
  g_critical ("oneDNN: %s failed (status %d)", what, (int) s);
  return FALSE;
}

#define DNNL_OK(call) dnnl_ok ((call), #call)

/* ---- keys ----------------------------------------------------------------------------- */

typedef struct
{
  gint64 v[160];
  int n;
} Key;

static void
key_add (Key *k, gint64 x)
{
  g_assert (k->n < (int) G_N_ELEMENTS (k->v));
  k->v[k->n++] = x;
}

static void
key_md (Key *k, const dnnl_memory_desc_t *md)
{
  key_add (k, md->ndims);
  key_add (k, md->data_type);
  key_add (k, md->format_kind);
  key_add (k, md->offset0);
  for (int i = 0; i < md->ndims; i++)
    {
      key_add (k, md->dims[i]);
      key_add (k, md->padded_dims[i]);
    }
  if (md->format_kind == dnnl_blocked)
    {
      const dnnl_blocking_desc_t *b = &md->format_desc.blocking;
      for (int i = 0; i < md->ndims; i++)
        key_add (k, b->strides[i]);
      key_add (k, b->inner_nblks);
      for (int i = 0; i < b->inner_nblks; i++)
        {
          key_add (k, b->inner_blks[i]);
          key_add (k, b->inner_idxs[i]);
        }
    }
}

static void
prim_free (gpointer data)
{
  Prim *p = data;
  if (p->prim)
    dnnl_primitive_destroy (p->prim);
  if (p->pd)
    dnnl_primitive_desc_destroy (p->pd);
  if (p->aux_prim)
    dnnl_primitive_destroy (p->aux_prim);
  if (p->aux_pd)
    dnnl_primitive_desc_destroy (p->aux_pd);
  g_free (p);
}

static Prim *
cache_lookup (CpuBackend *cb, const Key *k)
{
  g_autoptr (GBytes) b = g_bytes_new_static (k->v, sizeof (gint64) * k->n);
  return g_hash_table_lookup (cb->cache, b);
}

/* Takes ownership of pd (and aux_pd); NULL when the primitive cannot be created. */
static Prim *
cache_insert (CpuBackend *cb, const Key *k, dnnl_primitive_desc_t pd,
              dnnl_primitive_desc_t aux_pd)
{
  Prim *p = g_new0 (Prim, 1);
  p->pd = pd;
  p->aux_pd = aux_pd;
  if (!DNNL_OK (dnnl_primitive_create (&p->prim, pd))
      || (aux_pd && !DNNL_OK (dnnl_primitive_create (&p->aux_prim, aux_pd))))
    {
      prim_free (p);
      return NULL;
    }
  g_hash_table_insert (cb->cache, g_bytes_new (k->v, sizeof (gint64) * k->n), p);
  return p;
}

static const dnnl_memory_desc_t *
pd_md (const Prim *p, dnnl_query_t what, int index)
{
  return dnnl_primitive_desc_query_md (p->pd, what, index);
}

static const char *
pd_impl (const_dnnl_primitive_desc_t pd)
{
  const char *impl = "";
  dnnl_primitive_desc_query (pd, dnnl_query_impl_info_str, 0, &impl);
  return impl;
}

/* ---- memory descriptors --------------------------------------------------------------- */

static dnnl_memory_desc_t
md_tag (int ndims, const dnnl_dim_t *dims, dnnl_data_type_t dt, dnnl_format_tag_t tag)
{
  dnnl_memory_desc_t md;
  dnnl_dims_t d = { 0 };
  memcpy (d, dims, sizeof (dnnl_dim_t) * ndims);
  memset (&md, 0, sizeof md);
  dnnl_memory_desc_init_by_tag (&md, ndims, d, dt, tag);
  return md;
}

static dnnl_memory_desc_t
md_nchw (const NsTensor *t, dnnl_data_type_t dt)
{
  dnnl_dims_t d = { t->shape[0], t->shape[1], t->shape[2], t->shape[3] };
  return md_tag (4, d, dt, dnnl_nchw);
}

static dnnl_memory_desc_t
md_4d_any (int n, int c, int h, int w, dnnl_data_type_t dt)
{
  dnnl_dims_t d = { n, c, h, w };
  return md_tag (4, d, dt, dnnl_format_tag_any);
}

static dnnl_memory_desc_t
md_vec (int c, dnnl_data_type_t dt)
{
  dnnl_dims_t d = { c };
  return md_tag (1, d, dt, dnnl_a);
}

/* The same layout with another element type (blocked formats only). */
static dnnl_memory_desc_t
md_with_dt (const dnnl_memory_desc_t *md, dnnl_data_type_t dt)
{
  dnnl_memory_desc_t r = *md;
  r.data_type = dt;
  return r;
}

static gboolean
md_eq (const dnnl_memory_desc_t *a, const dnnl_memory_desc_t *b)
{
  return dnnl_memory_desc_equal (a, b) != 0;
}

static gboolean
md_is_plain_nchw (const dnnl_memory_desc_t *md)
{
  if (md->format_kind != dnnl_blocked || md->ndims != 4)
    return FALSE;
  dnnl_memory_desc_t p = md_tag (4, md->dims, md->data_type, dnnl_nchw);
  return md_eq (md, &p);
}

/* The format tag of an activation layout, to lay out a tensor of other sizes the same way. */
static dnnl_format_tag_t
md_guess_tag (const dnnl_memory_desc_t *md)
{
  static const dnnl_format_tag_t tags[] = {
    dnnl_nchw, dnnl_nhwc, dnnl_nChw16c, dnnl_nChw8c, dnnl_nChw4c,
  };
  for (guint i = 0; i < G_N_ELEMENTS (tags); i++)
    {
      dnnl_memory_desc_t c = md_tag (md->ndims, md->dims, md->data_type, tags[i]);
      if (md_eq (&c, md))
        return tags[i];
    }
  return dnnl_nchw;
}

/* ---- buffers and execution ------------------------------------------------------------ */

static void *
aligned_alloc_bytes (gsize size)
{
  void *p = NULL;
  if (posix_memalign (&p, ALIGN, MAX (size, ALIGN)) != 0)
    return NULL;
  return p;
}

static void *
scratch (CpuBackend *cb, int slot, gsize size)
{
  g_assert (slot >= 0 && slot < N_SCRATCH);
  if (cb->scratch_size[slot] < size)
    {
      free (cb->scratch[slot]);
      cb->scratch[slot] = aligned_alloc_bytes (size);
      cb->scratch_size[slot] = cb->scratch[slot] != NULL ? size : 0;
      if (cb->scratch[slot] == NULL)
        {
          g_critical ("ns-backend-cpu: out of memory for %" G_GSIZE_FORMAT
                      " bytes of scratch; the op is skipped", size);
          return NULL;
        }
    }
  return cb->scratch[slot];
}

typedef struct
{
  int arg;
  const dnnl_memory_desc_t *md;
  void *ptr;
} Arg;

static gboolean
run (CpuBackend *cb, dnnl_primitive_t prim, int n, const Arg *a)
{
  dnnl_exec_arg_t args[16];
  gboolean ok = TRUE;
  int made = 0;

  g_assert (n <= 16);
  for (int i = 0; i < n; i++)
    {
      if (!DNNL_OK (dnnl_memory_create (&args[i].memory, a[i].md, cb->engine, a[i].ptr)))
        {
          ok = FALSE;
          break;
        }
      args[i].arg = a[i].arg;
      made++;
    }
  if (ok)
    ok = DNNL_OK (dnnl_primitive_execute (prim, cb->stream, n, args))
         && DNNL_OK (dnnl_stream_wait (cb->stream));
  for (int i = 0; i < made; i++)
    dnnl_memory_destroy (args[i].memory);
  return ok;
}

/* dst (+)= src with a layout / type change; accumulate adds into dst (sum post-op). */
static gboolean
reorder (CpuBackend *cb, const dnnl_memory_desc_t *src_md, void *src,
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
  Prim *p = cache_lookup (cb, &k);
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
      if (!dnnl_ok (s, "dnnl_reorder_primitive_desc_create"))
        return FALSE;
      p = cache_insert (cb, &k, pd, NULL);
      if (p == NULL)
        return FALSE;
    }
  Arg a[] = { { DNNL_ARG_FROM, src_md, src }, { DNNL_ARG_TO, dst_md, dst } };
  return run (cb, p->prim, 2, a);
}

/* ---- tensors -------------------------------------------------------------------------- */

static guint64
bump (CpuBackend *cb, NsTensor *t)
{
  return CT (t)->version = ++cb->counter;
}

static guint64
tensor_version (NsTensor *t)
{
  guint64 v = CT (t)->version;
  if (t->parent != NULL)
    v = MAX (v, CT (t->parent)->version);
  return v;
}

/* Rewrites t in place as plain f32 NCHW (lossless: only f32 or bf16 -> f32).  Returns the
 * float pointer. */
static float *
plain_f32 (CpuBackend *cb, NsTensor *t)
{
  CpuTensor *ct = CT (t);
  dnnl_memory_desc_t plain = md_nchw (t, dnnl_f32);
  if (md_eq (&ct->md, &plain))
    return ct->data;

  g_assert (!ct->pinned);
  gsize size = t->n * sizeof (float);   /* capacity is always >= n floats */
  void *tmp = scratch (cb, N_SCRATCH - 1, size);
  if (tmp == NULL || !reorder (cb, &ct->md, ct->data, &plain, tmp, FALSE))
    return NULL;
  memcpy (ct->data, tmp, size);
  ct->md = plain;
  return ct->data;
}

/* A read-only pointer to t's contents laid out as `want`, reordering into scratch `slot`
 * when t holds another layout or type.  Call before out_begin on any aliasing output. */
static void *
in_as (CpuBackend *cb, NsTensor *t, const dnnl_memory_desc_t *want, int slot)
{
  CpuTensor *ct = CT (t);
  if (md_eq (&ct->md, want))
    return ct->data;
  void *buf = scratch (cb, slot, dnnl_memory_desc_get_size (want));
  if (buf == NULL || !reorder (cb, &ct->md, ct->data, want, buf, FALSE))
    return NULL;
  return buf;
}

typedef struct
{
  NsTensor *t;
  dnnl_memory_desc_t md;
  void *ptr;
  void *old;          /* buffer replaced by a larger one, freed after the op */
  gboolean staged;    /* pinned tensor written through scratch, reordered after */
} Out;

static gboolean
out_begin (CpuBackend *cb, Out *o, NsTensor *t, const dnnl_memory_desc_t *md, int slot)
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
          o->ptr = scratch (cb, slot, dnnl_memory_desc_get_size (md));
        }
      return o->ptr != NULL;
    }
  gsize size = dnnl_memory_desc_get_size (md);
  if (size > ct->capacity)
    {
      void *bigger = aligned_alloc_bytes (size);
      if (bigger == NULL)
        {
          g_critical ("ns-backend-cpu: out of memory for a %" G_GSIZE_FORMAT
                      "-byte tensor; the op is skipped", size);
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

static void
out_end (CpuBackend *cb, Out *o)
{
  CpuTensor *ct = CT (o->t);
  if (o->staged)
    {
      dnnl_memory_desc_t plain = md_nchw (o->t, dnnl_f32);
      reorder (cb, &o->md, o->ptr, &plain, ct->data, FALSE);
    }
  free (o->old);
  bump (cb, o->t);
}

/* Weights (a plain f32 tensor, usually a view of the parameters) laid out as `want`:
 * the tensor itself when it already is, else a cached reordered copy. */
static void *
weights_as (CpuBackend *cb, NsTensor *w, const dnnl_memory_desc_t *plain,
            const dnnl_memory_desc_t *want)
{
  CpuTensor *ct = CT (w);
  void *data = plain_f32 (cb, w);
  if (data == NULL || md_eq (plain, want))
    return data;

  guint64 version = tensor_version (w);
  WeightCopy *slot = NULL;
  for (int i = 0; i < N_WEIGHT_COPIES; i++)
    {
      WeightCopy *c = &ct->copies[i];
      if (c->data != NULL && md_eq (&c->md, want))
        {
          if (c->version == version)
            return c->data;
          slot = c;
          break;
        }
    }
  if (slot == NULL)
    {
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
          slot->data = aligned_alloc_bytes (size);
          slot->size = slot->data != NULL ? size : 0;
          if (slot->data == NULL)
            {
              g_critical ("ns-backend-cpu: out of memory for reordered weights");
              return NULL;
            }
        }
      slot->md = *want;
    }
  if (!reorder (cb, plain, data, want, slot->data, FALSE))
    {
      memset (&slot->md, 0, sizeof slot->md);   /* matches no request */
      return NULL;
    }
  slot->version = version;
  return slot->data;
}

/* g (a plain f32 gradient) += src laid out as src_md. */
static void
accumulate_into (CpuBackend *cb, NsTensor *g, const dnnl_memory_desc_t *g_plain,
                 const dnnl_memory_desc_t *src_md, void *src)
{
  void *data = plain_f32 (cb, g);
  if (data != NULL)
    reorder (cb, src_md, src, g_plain, data, TRUE);
  bump (cb, g);
}

static void
add_vec (CpuBackend *cb, NsTensor *g, const float *src)
{
  float *d = plain_f32 (cb, g);
  if (d == NULL)
    return;
  for (gsize i = 0; i < g->n; i++)
    d[i] += src[i];
  bump (cb, g);
}

/* ---- backend -------------------------------------------------------------------------- */

static gboolean
cpu_supports_op (NsBackend *be, NsOp op)
{
  if (op == NS_OP_BF16)
    return CB (be)->has_bf16;
  return op >= 0 && op < NS_N_OPS;
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
  ct->data = aligned_alloc_bytes (size);
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

  plain_f32 (cb, t->parent);
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
  bump (cb, t);
}

static void
cpu_download (NsTensor *t, float *nchw)
{
  CpuBackend *cb = CB (t->backend);
  CpuTensor *ct = CT (t);
  dnnl_memory_desc_t plain = md_nchw (t, dnnl_f32);
  reorder (cb, &ct->md, ct->data, &plain, nchw, FALSE);
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
  bump (cb, t);
}

static void
cpu_copy (NsTensor *dst, NsTensor *src)
{
  CpuBackend *cb = CB (dst->backend);
  CpuTensor *cs = CT (src);
  dnnl_memory_desc_t md = cs->md;
  if (md.ndims == 4 && memcmp (src->shape, dst->shape, sizeof src->shape) != 0)
    {
      /* same element count, other shape: go through plain NCHW */
      if (plain_f32 (cb, src) == NULL)
        return;
      md = md_nchw (dst, dnnl_f32);
    }
  Out o;
  if (!out_begin (cb, &o, dst, &md, 0))
    return;
  if (o.ptr != cs->data)
    memcpy (o.ptr, cs->data, dnnl_memory_desc_get_size (&md));
  out_end (cb, &o);
}

/* ---- convolution and transposed convolution ------------------------------------------- */

typedef struct
{
  gboolean deconv;
  int N, C, H, W, K, Ho, Wo, kh, kw, stride, pad, groups;
  gboolean bias;
  dnnl_data_type_t dt;
  dnnl_memory_desc_t w_plain;   /* f32, the layout of the weight tensor */
} ConvGeom;

static void
conv_geom (ConvGeom *g, gboolean deconv, NsTensor *out, NsTensor *inp, NsTensor *weight,
           gboolean bias, int stride, int pad, int groups, dnnl_data_type_t dt)
{
  memset (g, 0, sizeof *g);
  g->deconv = deconv;
  g->N = inp->shape[0];
  g->C = inp->shape[1];
  g->H = inp->shape[2];
  g->W = inp->shape[3];
  g->K = out->shape[1];
  g->Ho = out->shape[2];
  g->Wo = out->shape[3];
  g->kh = weight->shape[2];
  g->kw = weight->shape[3];
  g->stride = stride;
  g->pad = pad;
  g->groups = groups;
  g->bias = bias;
  g->dt = dt;
  if (deconv)
    {
      /* PyTorch's (C, K, kh, kw) is oneDNN's (oc=K, ic=C, kh, kw) stored "iohw" */
      dnnl_dims_t d = { g->K, g->C, g->kh, g->kw };
      g->w_plain = md_tag (4, d, dnnl_f32, dnnl_iohw);
    }
  else if (groups == 1)
    {
      dnnl_dims_t d = { g->K, g->C, g->kh, g->kw };
      g->w_plain = md_tag (4, d, dnnl_f32, dnnl_oihw);
    }
  else
    {
      dnnl_dims_t d = { groups, g->K / groups, g->C / groups, g->kh, g->kw };
      g->w_plain = md_tag (5, d, dnnl_f32, dnnl_goihw);
    }
}

static void
conv_key (Key *k, KeyKind kind, const ConvGeom *g)
{
  key_add (k, kind);
  key_add (k, g->deconv);
  const int v[] = { g->N, g->C, g->H, g->W, g->K, g->Ho, g->Wo, g->kh, g->kw, g->stride,
                    g->pad, g->groups, g->bias, g->dt };
  for (guint i = 0; i < G_N_ELEMENTS (v); i++)
    key_add (k, v[i]);
}

/* Memory descriptors of a convolution, "any" format unless given. */
static void
conv_mds (const ConvGeom *g, dnnl_data_type_t wdt, dnnl_memory_desc_t *src,
          dnnl_memory_desc_t *wei, dnnl_memory_desc_t *bias, dnnl_memory_desc_t *dst)
{
  *src = md_4d_any (g->N, g->C, g->H, g->W, g->dt);
  *dst = md_4d_any (g->N, g->K, g->Ho, g->Wo, g->dt);
  dnnl_memory_desc_t wp = g->w_plain;
  *wei = md_tag (wp.ndims, wp.dims, wdt, dnnl_format_tag_any);
  if (g->bias)
    *bias = md_vec (g->K, dnnl_f32);
  else
    memset (bias, 0, sizeof *bias);
}

typedef enum { CONV_FWD, CONV_BWD_D, CONV_BWD_W } ConvPass;

/* One primitive descriptor for a pass; src/dst override the "any" formats when non-NULL
 * (for BWD_D and BWD_W, dst is diff_dst; for BWD_D, src is diff_src).  NULL on failure
 * (no critical: callers try alternatives). */
static dnnl_primitive_desc_t
conv_pd (CpuBackend *cb, const ConvGeom *g, ConvPass pass, dnnl_prop_kind_t prop,
         NsActivation act, const dnnl_memory_desc_t *src_fmt,
         const dnnl_memory_desc_t *dst_fmt, const_dnnl_primitive_desc_t hint)
{
  dnnl_memory_desc_t src, wei, bias, dst;
  conv_mds (g, pass == CONV_BWD_W ? dnnl_f32 : g->dt, &src, &wei, &bias, &dst);
  if (src_fmt)
    src = *src_fmt;
  if (dst_fmt)
    dst = *dst_fmt;

  dnnl_dims_t strides = { g->stride, g->stride }, pad = { g->pad, g->pad };
  dnnl_convolution_desc_t d;
  dnnl_status_t s;
  const dnnl_memory_desc_t *b = g->bias ? &bias : NULL;
  if (!g->deconv)
    {
      if (pass == CONV_FWD)
        s = dnnl_convolution_forward_desc_init (&d, prop, dnnl_convolution_direct, &src, &wei,
                                                b, &dst, strides, pad, pad);
      else if (pass == CONV_BWD_D)
        s = dnnl_convolution_backward_data_desc_init (&d, dnnl_convolution_direct, &src, &wei,
                                                      &dst, strides, pad, pad);
      else
        s = dnnl_convolution_backward_weights_desc_init (&d, dnnl_convolution_direct, &src,
                                                         &wei, b, &dst, strides, pad, pad);
    }
  else
    {
      if (pass == CONV_FWD)
        s = dnnl_deconvolution_forward_desc_init (&d, prop, dnnl_deconvolution_direct, &src,
                                                  &wei, b, &dst, strides, pad, pad);
      else if (pass == CONV_BWD_D)
        s = dnnl_deconvolution_backward_data_desc_init (&d, dnnl_deconvolution_direct, &src,
                                                        &wei, &dst, strides, pad, pad);
      else
        s = dnnl_deconvolution_backward_weights_desc_init (&d, dnnl_deconvolution_direct,
                                                           &src, &wei, b, &dst, strides, pad,
                                                           pad);
    }
  if (s != dnnl_success)
    return NULL;

  dnnl_primitive_attr_t attr = NULL;
  if (act != NS_ACT_NONE)
    {
      dnnl_post_ops_t po;
      dnnl_primitive_attr_create (&attr);
      dnnl_post_ops_create (&po);
      if (act == NS_ACT_RELU)
        dnnl_post_ops_append_eltwise (po, 1.0f, dnnl_eltwise_relu, 0.0f, 0.0f);
      else
        dnnl_post_ops_append_eltwise (po, 1.0f, dnnl_eltwise_clip, 0.0f, 6.0f);
      dnnl_primitive_attr_set_post_ops (attr, po);
      dnnl_post_ops_destroy (po);
    }
  dnnl_primitive_desc_t pd = NULL;
  s = dnnl_primitive_desc_create (&pd, &d, attr, cb->engine, hint);
  if (attr)
    dnnl_primitive_attr_destroy (attr);
  return s == dnnl_success ? pd : NULL;
}

/* May a tensor in this layout be handed to a primitive as is?  Produced layouts only:
 * plain NCHW inputs (uploads) go to "any", which picks the primitive's best format. */
static gboolean
usable_exact (const dnnl_memory_desc_t *md, dnnl_data_type_t dt)
{
  return md->data_type == dt && md->format_kind == dnnl_blocked && !md_is_plain_nchw (md);
}

/* The layout oneDNN prefers ("any") unless the given input layouts work with the same
 * kernel (or, depthwise, with any non-reference kernel): then no reorder is needed. */
static dnnl_primitive_desc_t
conv_pd_choose (CpuBackend *cb, const ConvGeom *g, ConvPass pass, dnnl_prop_kind_t prop,
                NsActivation act, const dnnl_memory_desc_t *src_in,
                const dnnl_memory_desc_t *dst_in, const_dnnl_primitive_desc_t hint)
{
  dnnl_primitive_desc_t any = conv_pd (cb, g, pass, prop, act, NULL, NULL, hint);
  if (any == NULL)
    return NULL;

  dnnl_query_t qs = pass == CONV_BWD_D ? dnnl_query_diff_src_md : dnnl_query_src_md;
  dnnl_query_t qd = pass == CONV_FWD ? dnnl_query_dst_md : dnnl_query_diff_dst_md;
  const dnnl_memory_desc_t *src_use = NULL, *dst_use = NULL;
  gboolean differs = FALSE;
  if (src_in && usable_exact (src_in, g->dt))
    {
      src_use = src_in;
      differs |= !md_eq (src_in, dnnl_primitive_desc_query_md (any, qs, 0));
    }
  if (dst_in && usable_exact (dst_in, g->dt))
    {
      dst_use = dst_in;
      differs |= !md_eq (dst_in, dnnl_primitive_desc_query_md (any, qd, 0));
    }
  if (!differs)
    return any;

  dnnl_primitive_desc_t exact = conv_pd (cb, g, pass, prop, act, src_use, dst_use, hint);
  if (exact != NULL)
    {
      /* fp32: the jit (nChw16c) and brgemm (NHWC) kernels run at similar speeds, so
       * keeping the layout wins; bf16: only the NHWC brgemm kernels use AMX (7x the
       * nChw16c ones here), so a dense bf16 convolution reorders rather than change
       * kernel family; depthwise kernels are close in both layouts */
      const char *ie = pd_impl (exact), *ia = pd_impl (any);
      gboolean depthwise = g->groups > 1 && g->groups == g->C;
      gboolean fast = strstr (ie, "ref") == NULL && strstr (ie, "gemm:") == NULL;
      if (fast && (g->dt == dnnl_f32 || depthwise || strcmp (ie, ia) == 0))
        {
          dnnl_primitive_desc_destroy (any);
          return exact;
        }
      dnnl_primitive_desc_destroy (exact);
    }
  return any;
}

static void
conv_forward_impl (NsTensor *out, NsTensor *inp, NsTensor *weight, NsTensor *bias,
                   gboolean deconv, int stride, int pad, int groups, NsActivation act)
{
  CpuBackend *cb = CB (out->backend);
  ConvGeom g;
  conv_geom (&g, deconv, out, inp, weight, bias != NULL, stride, pad, groups, cb->act_dt);

  Key k = { .n = 0 };
  conv_key (&k, K_CONV_FWD, &g);
  key_add (&k, act);
  key_md (&k, &CT (inp)->md);
  Prim *p = cache_lookup (cb, &k);
  if (p == NULL)
    {
      dnnl_prop_kind_t prop = act != NS_ACT_NONE ? dnnl_forward_inference
                                                 : dnnl_forward_training;
      dnnl_primitive_desc_t pd = conv_pd_choose (cb, &g, CONV_FWD, prop, act, &CT (inp)->md,
                                                 NULL, NULL);
      if (pd == NULL)
        {
          g_critical ("oneDNN: no %sconvolution for %dx%dx%dx%d, %d outputs, kernel %dx%d",
                      deconv ? "transposed " : "", g.N, g.C, g.H, g.W, g.K, g.kh, g.kw);
          return;
        }
      if ((p = cache_insert (cb, &k, pd, NULL)) == NULL)
        return;
    }

  const dnnl_memory_desc_t *src_md = pd_md (p, dnnl_query_src_md, 0);
  const dnnl_memory_desc_t *wei_md = pd_md (p, dnnl_query_weights_md, 0);
  const dnnl_memory_desc_t *dst_md = pd_md (p, dnnl_query_dst_md, 0);
  dnnl_memory_desc_t bias_md = md_vec (g.K, dnnl_f32);
  void *src = in_as (cb, inp, src_md, 0);
  void *wei = weights_as (cb, weight, &g.w_plain, wei_md);
  void *b = bias ? plain_f32 (cb, bias) : NULL;
  Out o;
  if (src == NULL || wei == NULL || (bias && b == NULL) || !out_begin (cb, &o, out, dst_md, 1))
    return;
  Arg a[] = {
    { DNNL_ARG_SRC, src_md, src },
    { DNNL_ARG_WEIGHTS, wei_md, wei },
    { DNNL_ARG_DST, &o.md, o.ptr },
    { DNNL_ARG_BIAS, &bias_md, b },
  };
  run (cb, p->prim, bias ? 4 : 3, a);
  out_end (cb, &o);
}

static void
conv_backward_impl (NsTensor *dinp, NsTensor *dweight, NsTensor *dbias, NsTensor *dout,
                    NsTensor *inp, NsTensor *weight, gboolean deconv, int stride, int pad,
                    int groups)
{
  CpuBackend *cb = CB (dout->backend);
  ConvGeom g;

  if (dinp != NULL)
    {
      conv_geom (&g, deconv, dout, inp, weight, FALSE, stride, pad, groups, cb->act_dt);
      Key k = { .n = 0 };
      conv_key (&k, K_CONV_BWD_D, &g);
      key_md (&k, &CT (dout)->md);
      Prim *p = cache_lookup (cb, &k);
      if (p == NULL)
        {
          dnnl_primitive_desc_t hint = conv_pd (cb, &g, CONV_FWD, dnnl_forward_training,
                                                NS_ACT_NONE, NULL, NULL, NULL);
          dnnl_primitive_desc_t pd = hint ? conv_pd_choose (cb, &g, CONV_BWD_D, 0, NS_ACT_NONE,
                                                            NULL, &CT (dout)->md, hint)
                                          : NULL;
          if (hint)
            dnnl_primitive_desc_destroy (hint);
          if (pd == NULL || (p = cache_insert (cb, &k, pd, NULL)) == NULL)
            {
              g_critical ("oneDNN: no backward-data convolution for this shape");
              return;
            }
        }
      const dnnl_memory_desc_t *dsrc_md = pd_md (p, dnnl_query_diff_src_md, 0);
      const dnnl_memory_desc_t *wei_md = pd_md (p, dnnl_query_weights_md, 0);
      const dnnl_memory_desc_t *ddst_md = pd_md (p, dnnl_query_diff_dst_md, 0);
      void *ddst = in_as (cb, dout, ddst_md, 0);
      void *wei = weights_as (cb, weight, &g.w_plain, wei_md);
      Out o;
      if (ddst == NULL || wei == NULL || !out_begin (cb, &o, dinp, dsrc_md, 1))
        return;
      Arg a[] = {
        { DNNL_ARG_DIFF_DST, ddst_md, ddst },
        { DNNL_ARG_WEIGHTS, wei_md, wei },
        { DNNL_ARG_DIFF_SRC, &o.md, o.ptr },
      };
      run (cb, p->prim, 3, a);
      out_end (cb, &o);
    }

  if (dweight != NULL || dbias != NULL)
    {
      conv_geom (&g, deconv, dout, inp, weight, dbias != NULL, stride, pad, groups,
                 cb->act_dt);
      Key k = { .n = 0 };
      conv_key (&k, K_CONV_BWD_W, &g);
      key_md (&k, &CT (inp)->md);
      key_md (&k, &CT (dout)->md);
      Prim *p = cache_lookup (cb, &k);
      if (p == NULL)
        {
          dnnl_primitive_desc_t hint = conv_pd (cb, &g, CONV_FWD, dnnl_forward_training,
                                                NS_ACT_NONE, NULL, NULL, NULL);
          dnnl_primitive_desc_t pd = hint ? conv_pd_choose (cb, &g, CONV_BWD_W, 0, NS_ACT_NONE,
                                                            &CT (inp)->md, &CT (dout)->md,
                                                            hint)
                                          : NULL;
          if (hint)
            dnnl_primitive_desc_destroy (hint);
          if (pd == NULL || (p = cache_insert (cb, &k, pd, NULL)) == NULL)
            {
              g_critical ("oneDNN: no backward-weights convolution for this shape");
              return;
            }
        }
      const dnnl_memory_desc_t *src_md = pd_md (p, dnnl_query_src_md, 0);
      const dnnl_memory_desc_t *dwei_md = pd_md (p, dnnl_query_diff_weights_md, 0);
      const dnnl_memory_desc_t *ddst_md = pd_md (p, dnnl_query_diff_dst_md, 0);
      dnnl_memory_desc_t dbias_md = md_vec (g.K, dnnl_f32);
      void *src = in_as (cb, inp, src_md, 0);
      void *ddst = in_as (cb, dout, ddst_md, 1);
      void *dwei = scratch (cb, 2, dnnl_memory_desc_get_size (dwei_md));
      float *db = scratch (cb, 3, g.K * sizeof (float));
      if (src == NULL || ddst == NULL || dwei == NULL || db == NULL)
        return;
      Arg a[] = {
        { DNNL_ARG_SRC, src_md, src },
        { DNNL_ARG_DIFF_DST, ddst_md, ddst },
        { DNNL_ARG_DIFF_WEIGHTS, dwei_md, dwei },
        { DNNL_ARG_DIFF_BIAS, &dbias_md, db },
      };
      if (!run (cb, p->prim, dbias ? 4 : 3, a))
        return;
      if (dweight)
        accumulate_into (cb, dweight, &g.w_plain, dwei_md, dwei);
      if (dbias)
        add_vec (cb, dbias, db);
    }
}

static void
cpu_conv2d_forward (NsTensor *out, NsTensor *inp, NsTensor *weight, NsTensor *bias,
                    const NsConv2dParams *p)
{
  conv_forward_impl (out, inp, weight, bias, FALSE, p->stride, p->pad, p->groups, p->act);
}

static void
cpu_conv2d_backward (NsTensor *dinp, NsTensor *dweight, NsTensor *dbias, NsTensor *dout,
                     NsTensor *inp, NsTensor *weight, const NsConv2dParams *p)
{
  conv_backward_impl (dinp, dweight, dbias, dout, inp, weight, FALSE, p->stride, p->pad,
                      p->groups);
}

static void
cpu_convt2_forward (NsTensor *out, NsTensor *inp, NsTensor *weight, NsTensor *bias)
{
  conv_forward_impl (out, inp, weight, bias, TRUE, 2, 0, 1, NS_ACT_NONE);
}

static void
cpu_convt2_backward (NsTensor *dinp, NsTensor *dweight, NsTensor *dbias, NsTensor *dout,
                     NsTensor *inp, NsTensor *weight)
{
  conv_backward_impl (dinp, dweight, dbias, dout, inp, weight, TRUE, 2, 0, 1);
}

/* ---- batch normalisation -------------------------------------------------------------- */

static dnnl_primitive_desc_t
bn_fwd_pd (CpuBackend *cb, const dnnl_memory_desc_t *data, gboolean training, float eps)
{
  dnnl_batch_normalization_desc_t d;
  unsigned flags = dnnl_use_scale | dnnl_use_shift | (training ? 0 : dnnl_use_global_stats);
  dnnl_primitive_desc_t pd = NULL;
  if (dnnl_batch_normalization_forward_desc_init (&d, training ? dnnl_forward_training
                                                               : dnnl_forward_inference,
                                                  data, eps, flags) != dnnl_success
      || dnnl_primitive_desc_create (&pd, &d, NULL, cb->engine, NULL) != dnnl_success)
    return NULL;
  return pd;
}

static guint32
float_bits (float f)
{
  guint32 u;
  memcpy (&u, &f, sizeof u);
  return u;
}

static void
cpu_batchnorm_forward (NsTensor *out, NsTensor *save_mean, NsTensor *save_invstd,
                       NsTensor *inp, NsTensor *gamma, NsTensor *beta,
                       NsTensor *running_mean, NsTensor *running_var,
                       gboolean training, float momentum, float eps)
{
  CpuBackend *cb = CB (out->backend);
  int C = inp->shape[1];
  dnnl_memory_desc_t data = CT (inp)->md;

  Key k = { .n = 0 };
  key_add (&k, K_BN_FWD);
  key_add (&k, training);
  key_add (&k, float_bits (eps));
  key_md (&k, &data);
  Prim *p = cache_lookup (cb, &k);
  if (p == NULL)
    {
      dnnl_primitive_desc_t pd = bn_fwd_pd (cb, &data, training, eps);
      if (pd == NULL || (p = cache_insert (cb, &k, pd, NULL)) == NULL)
        {
          g_critical ("oneDNN: no batch normalisation for this shape");
          return;
        }
    }

  dnnl_memory_desc_t vec = md_vec (C, dnnl_f32);
  float *mean, *var;
  if (training)
    {
      mean = scratch (cb, 2, C * sizeof (float));
      var = scratch (cb, 3, C * sizeof (float));
    }
  else
    {
      mean = plain_f32 (cb, running_mean);
      var = plain_f32 (cb, running_var);
    }
  void *scale = plain_f32 (cb, gamma);
  void *shift = plain_f32 (cb, beta);
  void *src = CT (inp)->data;
  Out o;
  if (!mean || !var || !scale || !shift || !out_begin (cb, &o, out, &data, 1))
    return;
  Arg a[] = {
    { DNNL_ARG_SRC, &data, src },
    { DNNL_ARG_DST, &o.md, o.ptr },
    { DNNL_ARG_SCALE, &vec, scale },
    { DNNL_ARG_SHIFT, &vec, shift },
    { DNNL_ARG_MEAN, &vec, mean },
    { DNNL_ARG_VARIANCE, &vec, var },
  };
  gboolean ok = run (cb, p->prim, 6, a);
  out_end (cb, &o);
  if (!ok || !training)
    return;

  /* oneDNN gives the biased variance; PyTorch's running_var takes the unbiased one. */
  double count = (double) inp->shape[0] * inp->shape[2] * inp->shape[3];
  double unbias = count > 1 ? count / (count - 1) : 1.0;
  float *sm = plain_f32 (cb, save_mean), *si = plain_f32 (cb, save_invstd);
  float *rm = plain_f32 (cb, running_mean), *rv = plain_f32 (cb, running_var);
  if (!sm || !si || !rm || !rv)
    return;
  for (int c = 0; c < C; c++)
    {
      sm[c] = mean[c];
      si[c] = (float) (1.0 / sqrt ((double) var[c] + eps));
      rm[c] = (1.0f - momentum) * rm[c] + momentum * mean[c];
      rv[c] = (float) ((1.0 - momentum) * rv[c] + momentum * var[c] * unbias);
    }
  bump (cb, save_mean);
  bump (cb, save_invstd);
  bump (cb, running_mean);
  bump (cb, running_var);
}

static void
cpu_batchnorm_backward (NsTensor *dinp, NsTensor *dgamma, NsTensor *dbeta, NsTensor *dout,
                        NsTensor *inp, NsTensor *save_mean, NsTensor *save_invstd,
                        NsTensor *gamma)
{
  CpuBackend *cb = CB (dout->backend);
  int C = inp->shape[1];
  dnnl_memory_desc_t data = CT (inp)->md;
  /* eps only enters through the variance we rebuild below; oneDNN adds it back */
  const float eps = 1e-5f;
  gboolean want_params = dgamma != NULL || dbeta != NULL;

  Key k = { .n = 0 };
  key_add (&k, K_BN_BWD);
  key_add (&k, want_params);
  key_md (&k, &data);
  Prim *p = cache_lookup (cb, &k);
  if (p == NULL)
    {
      dnnl_primitive_desc_t hint = bn_fwd_pd (cb, &data, TRUE, eps);
      dnnl_batch_normalization_desc_t d;
      dnnl_primitive_desc_t pd = NULL;
      if (hint == NULL
          || dnnl_batch_normalization_backward_desc_init (&d, want_params ? dnnl_backward
                                                                          : dnnl_backward_data,
                                                          &data, &data, eps,
                                                          dnnl_use_scale | dnnl_use_shift)
             != dnnl_success
          || dnnl_primitive_desc_create (&pd, &d, NULL, cb->engine, hint) != dnnl_success)
        pd = NULL;
      if (hint)
        dnnl_primitive_desc_destroy (hint);
      if (pd == NULL || (p = cache_insert (cb, &k, pd, NULL)) == NULL)
        {
          g_critical ("oneDNN: no batch-normalisation backward for this shape");
          return;
        }
    }

  dnnl_memory_desc_t vec = md_vec (C, dnnl_f32);
  const float *invstd = plain_f32 (cb, save_invstd);
  float *var = scratch (cb, 2, C * sizeof (float));
  if (invstd == NULL || var == NULL)
    return;
  for (int c = 0; c < C; c++)
    var[c] = (float) (1.0 / ((double) invstd[c] * invstd[c]) - eps);
  float *dscale = scratch (cb, 3, C * sizeof (float));
  float *dshift = scratch (cb, 4, C * sizeof (float));
  void *mean = plain_f32 (cb, save_mean);
  void *scale = plain_f32 (cb, gamma);
  void *ddst = in_as (cb, dout, &data, 0);
  void *src = CT (inp)->data;
  /* oneDNN checks that a shift is passed (use_shift) though backward does not read it */
  float *shift = scratch (cb, 6, C * sizeof (float));
  if (!dscale || !dshift || !mean || !scale || !ddst || !shift)
    return;
  memset (shift, 0, C * sizeof (float));
  Out o;
  gboolean have_out = dinp != NULL;
  if (have_out && !out_begin (cb, &o, dinp, &data, 1))
    return;
  void *dsrc = have_out ? o.ptr : scratch (cb, 5, dnnl_memory_desc_get_size (&data));
  if (dsrc == NULL)
    return;
  Arg a[] = {
    { DNNL_ARG_SRC, &data, src },
    { DNNL_ARG_DIFF_DST, &data, ddst },
    { DNNL_ARG_MEAN, &vec, mean },
    { DNNL_ARG_VARIANCE, &vec, var },
    { DNNL_ARG_SCALE, &vec, scale },
    { DNNL_ARG_SHIFT, &vec, shift },
    { DNNL_ARG_DIFF_SRC, &data, dsrc },
    { DNNL_ARG_DIFF_SCALE, &vec, dscale },
    { DNNL_ARG_DIFF_SHIFT, &vec, dshift },
  };
  gboolean ok = run (cb, p->prim, want_params ? 9 : 7, a);
  if (have_out)
    out_end (cb, &o);
  if (!ok)
    return;
  if (dgamma)
    add_vec (cb, dgamma, dscale);
  if (dbeta)
    add_vec (cb, dbeta, dshift);
}

/* ---- eltwise -------------------------------------------------------------------------- */

static dnnl_primitive_desc_t
elt_fwd_pd (CpuBackend *cb, const dnnl_memory_desc_t *data, dnnl_alg_kind_t alg, float a,
            float b)
{
  dnnl_eltwise_desc_t d;
  dnnl_primitive_desc_t pd = NULL;
  if (dnnl_eltwise_forward_desc_init (&d, dnnl_forward_training, alg, data, a, b)
        != dnnl_success
      || dnnl_primitive_desc_create (&pd, &d, NULL, cb->engine, NULL) != dnnl_success)
    return NULL;
  return pd;
}

static void
cpu_relu_forward (NsTensor *out, NsTensor *inp, NsActivation act)
{
  CpuBackend *cb = CB (out->backend);
  dnnl_memory_desc_t data = CT (inp)->md;
  Key k = { .n = 0 };
  key_add (&k, K_ELT_FWD);
  key_add (&k, act);
  key_md (&k, &data);
  Prim *p = cache_lookup (cb, &k);
  if (p == NULL)
    {
      dnnl_primitive_desc_t pd = act == NS_ACT_RELU
                                 ? elt_fwd_pd (cb, &data, dnnl_eltwise_relu, 0.0f, 0.0f)
                                 : elt_fwd_pd (cb, &data, dnnl_eltwise_clip, 0.0f, 6.0f);
      if (pd == NULL || (p = cache_insert (cb, &k, pd, NULL)) == NULL)
        {
          g_critical ("oneDNN: no eltwise for this shape");
          return;
        }
    }
  void *src = CT (inp)->data;
  Out o;
  if (!out_begin (cb, &o, out, &data, 1))
    return;
  Arg a[] = { { DNNL_ARG_SRC, &data, src }, { DNNL_ARG_DST, &o.md, o.ptr } };
  run (cb, p->prim, 2, a);
  out_end (cb, &o);
}

static void
cpu_relu_backward (NsTensor *dinp, NsTensor *dout, NsTensor *out, NsActivation act)
{
  CpuBackend *cb = CB (dout->backend);
  dnnl_memory_desc_t data = CT (out)->md;
  dnnl_alg_kind_t alg = act == NS_ACT_RELU ? dnnl_eltwise_relu_use_dst_for_bwd
                                           : dnnl_eltwise_clip_v2_use_dst_for_bwd;
  float hi = act == NS_ACT_RELU ? 0.0f : 6.0f;
  Key k = { .n = 0 };
  key_add (&k, K_ELT_BWD);
  key_add (&k, act);
  key_md (&k, &data);
  Prim *p = cache_lookup (cb, &k);
  if (p == NULL)
    {
      dnnl_primitive_desc_t hint = elt_fwd_pd (cb, &data, alg, 0.0f, hi);
      dnnl_eltwise_desc_t d;
      dnnl_primitive_desc_t pd = NULL;
      if (hint == NULL
          || dnnl_eltwise_backward_desc_init (&d, alg, &data, &data, 0.0f, hi) != dnnl_success
          || dnnl_primitive_desc_create (&pd, &d, NULL, cb->engine, hint) != dnnl_success)
        pd = NULL;
      if (hint)
        dnnl_primitive_desc_destroy (hint);
      if (pd == NULL || (p = cache_insert (cb, &k, pd, NULL)) == NULL)
        {
          g_critical ("oneDNN: no eltwise backward for this shape");
          return;
        }
    }
  void *ddst = in_as (cb, dout, &data, 0);
  void *dst = CT (out)->data;
  Out o;
  if (ddst == NULL || !out_begin (cb, &o, dinp, &data, 1))
    return;
  Arg a[] = {
    { DNNL_ARG_DST, &data, dst },
    { DNNL_ARG_DIFF_DST, &data, ddst },
    { DNNL_ARG_DIFF_SRC, &o.md, o.ptr },
  };
  run (cb, p->prim, 3, a);
  out_end (cb, &o);
}

/* ---- max-pool ------------------------------------------------------------------------- */

static dnnl_primitive_desc_t
pool_fwd_pd (CpuBackend *cb, const dnnl_memory_desc_t *src)
{
  dnnl_memory_desc_t dst = md_4d_any (src->dims[0], src->dims[1], src->dims[2] / 2,
                                      src->dims[3] / 2, src->data_type);
  dnnl_dims_t two = { 2, 2 }, zero = { 0, 0 };
  dnnl_pooling_desc_t d;
  dnnl_primitive_desc_t pd = NULL;
  if (dnnl_pooling_forward_desc_init (&d, dnnl_forward_training, dnnl_pooling_max, src, &dst,
                                      two, two, zero, zero) != dnnl_success
      || dnnl_primitive_desc_create (&pd, &d, NULL, cb->engine, NULL) != dnnl_success)
    return NULL;
  return pd;
}

static Prim *
pool_fwd_prim (CpuBackend *cb, const dnnl_memory_desc_t *src)
{
  Key k = { .n = 0 };
  key_add (&k, K_POOL_FWD);
  key_md (&k, src);
  Prim *p = cache_lookup (cb, &k);
  if (p == NULL)
    {
      dnnl_primitive_desc_t pd = pool_fwd_pd (cb, src);
      if (pd == NULL || (p = cache_insert (cb, &k, pd, NULL)) == NULL)
        g_critical ("oneDNN: no max-pooling for this shape");
    }
  return p;
}

static void
cpu_maxpool2_forward (NsTensor *out, NsTensor *inp)
{
  CpuBackend *cb = CB (out->backend);
  dnnl_memory_desc_t src_md = CT (inp)->md;
  Prim *p = pool_fwd_prim (cb, &src_md);
  if (p == NULL)
    return;
  const dnnl_memory_desc_t *dst_md = pd_md (p, dnnl_query_dst_md, 0);
  const dnnl_memory_desc_t *ws_md = pd_md (p, dnnl_query_workspace_md, 0);
  gsize ws_size = dnnl_memory_desc_get_size (ws_md);
  void *src = CT (inp)->data;
  Out o;
  if (!out_begin (cb, &o, out, dst_md, 1))
    return;
  CpuTensor *co = CT (out);
  if (co->ws_size < ws_size)
    {
      free (co->ws);
      co->ws = aligned_alloc_bytes (ws_size);
      co->ws_size = co->ws ? ws_size : 0;
    }
  Arg a[] = {
    { DNNL_ARG_SRC, &src_md, src },
    { DNNL_ARG_DST, &o.md, o.ptr },
    { DNNL_ARG_WORKSPACE, ws_md, co->ws },
  };
  gboolean ok = co->ws != NULL && run (cb, p->prim, 3, a);
  out_end (cb, &o);
  /* the workspace is valid for this output version and this input layout */
  co->ws_version = ok ? co->version : 0;
  co->ws_src_md = src_md;
}

/* oneDNN's max-pool marks the first maximum of each window in row-major order (strict
 * greater-than while scanning), as the reference does; tests check it on ties. */
static void
cpu_maxpool2_backward (NsTensor *dinp, NsTensor *dout, NsTensor *inp, NsTensor *out)
{
  CpuBackend *cb = CB (dout->backend);
  dnnl_memory_desc_t src_md = CT (inp)->md;
  Prim *fp = pool_fwd_prim (cb, &src_md);
  if (fp == NULL)
    return;
  const dnnl_memory_desc_t *fdst_md = pd_md (fp, dnnl_query_dst_md, 0);
  const dnnl_memory_desc_t *ws_md = pd_md (fp, dnnl_query_workspace_md, 0);

  Key k = { .n = 0 };
  key_add (&k, K_POOL_BWD);
  key_md (&k, &src_md);
  Prim *p = cache_lookup (cb, &k);
  if (p == NULL)
    {
      dnnl_memory_desc_t dsrc = md_with_dt (&src_md, src_md.data_type);
      dnnl_dims_t two = { 2, 2 }, zero = { 0, 0 };
      dnnl_pooling_desc_t d;
      dnnl_primitive_desc_t pd = NULL;
      if (dnnl_pooling_backward_desc_init (&d, dnnl_pooling_max, &dsrc, fdst_md, two, two,
                                           zero, zero) != dnnl_success
          || dnnl_primitive_desc_create (&pd, &d, NULL, cb->engine, fp->pd) != dnnl_success)
        pd = NULL;
      if (pd == NULL || (p = cache_insert (cb, &k, pd, NULL)) == NULL)
        {
          g_critical ("oneDNN: no max-pooling backward for this shape");
          return;
        }
    }

  CpuTensor *co = CT (out);
  void *ws = co->ws;
  if (ws == NULL || co->ws_version != co->version || !md_eq (&co->ws_src_md, &src_md)
      || co->ws_size < dnnl_memory_desc_get_size (ws_md))
    {
      /* out was not produced by our forward on this input: recompute the workspace */
      ws = scratch (cb, 2, dnnl_memory_desc_get_size (ws_md));
      void *tmp = scratch (cb, 3, dnnl_memory_desc_get_size (fdst_md));
      if (ws == NULL || tmp == NULL)
        return;
      Arg a[] = {
        { DNNL_ARG_SRC, &src_md, CT (inp)->data },
        { DNNL_ARG_DST, fdst_md, tmp },
        { DNNL_ARG_WORKSPACE, ws_md, ws },
      };
      if (!run (cb, fp->prim, 3, a))
        return;
    }
  const dnnl_memory_desc_t *ddst_md = pd_md (p, dnnl_query_diff_dst_md, 0);
  const dnnl_memory_desc_t *dsrc_md = pd_md (p, dnnl_query_diff_src_md, 0);
  void *ddst = in_as (cb, dout, ddst_md, 0);
  Out o;
  if (ddst == NULL || !out_begin (cb, &o, dinp, dsrc_md, 1))
    return;
  Arg a[] = {
    { DNNL_ARG_DIFF_DST, ddst_md, ddst },
    { DNNL_ARG_WORKSPACE, ws_md, ws },
    { DNNL_ARG_DIFF_SRC, &o.md, o.ptr },
  };
  run (cb, p->prim, 3, a);
  out_end (cb, &o);
}

/* ---- nearest x2 upsample -------------------------------------------------------------- */

static dnnl_primitive_desc_t
res_fwd_pd (CpuBackend *cb, const dnnl_memory_desc_t *src)
{
  dnnl_memory_desc_t dst = md_4d_any (src->dims[0], src->dims[1], src->dims[2] * 2,
                                      src->dims[3] * 2, src->data_type);
  dnnl_resampling_desc_t d;
  dnnl_primitive_desc_t pd = NULL;
  if (dnnl_resampling_forward_desc_init (&d, dnnl_forward_training, dnnl_resampling_nearest,
                                         NULL, src, &dst) != dnnl_success
      || dnnl_primitive_desc_create (&pd, &d, NULL, cb->engine, NULL) != dnnl_success)
    return NULL;
  return pd;
}

static void
cpu_upsample2_forward (NsTensor *out, NsTensor *inp)
{
  CpuBackend *cb = CB (out->backend);
  dnnl_memory_desc_t src_md = CT (inp)->md;
  Key k = { .n = 0 };
  key_add (&k, K_RES_FWD);
  key_md (&k, &src_md);
  Prim *p = cache_lookup (cb, &k);
  if (p == NULL)
    {
      dnnl_primitive_desc_t pd = res_fwd_pd (cb, &src_md);
      if (pd == NULL || (p = cache_insert (cb, &k, pd, NULL)) == NULL)
        {
          g_critical ("oneDNN: no resampling for this shape");
          return;
        }
    }
  void *src = CT (inp)->data;
  Out o;
  if (!out_begin (cb, &o, out, pd_md (p, dnnl_query_dst_md, 0), 1))
    return;
  Arg a[] = { { DNNL_ARG_SRC, &src_md, src }, { DNNL_ARG_DST, &o.md, o.ptr } };
  run (cb, p->prim, 2, a);
  out_end (cb, &o);
}

static void
cpu_upsample2_backward (NsTensor *dinp, NsTensor *dout)
{
  CpuBackend *cb = CB (dout->backend);
  dnnl_memory_desc_t ddst_md = CT (dout)->md;
  Key k = { .n = 0 };
  key_add (&k, K_RES_BWD);
  key_md (&k, &ddst_md);
  Prim *p = cache_lookup (cb, &k);
  if (p == NULL)
    {
      dnnl_format_tag_t tag = md_guess_tag (&ddst_md);
      dnnl_dims_t sd = { ddst_md.dims[0], ddst_md.dims[1], ddst_md.dims[2] / 2,
                         ddst_md.dims[3] / 2 };
      dnnl_memory_desc_t dsrc = md_tag (4, sd, ddst_md.data_type, tag);
      dnnl_primitive_desc_t hint = res_fwd_pd (cb, &dsrc);
      dnnl_resampling_desc_t d;
      dnnl_primitive_desc_t pd = NULL;
      if (hint == NULL
          || dnnl_resampling_backward_desc_init (&d, dnnl_resampling_nearest, NULL, &dsrc,
                                                 &ddst_md) != dnnl_success
          || dnnl_primitive_desc_create (&pd, &d, NULL, cb->engine, hint) != dnnl_success)
        pd = NULL;
      if (hint)
        dnnl_primitive_desc_destroy (hint);
      if (pd == NULL || (p = cache_insert (cb, &k, pd, NULL)) == NULL)
        {
          g_critical ("oneDNN: no resampling backward for this shape");
          return;
        }
    }
  void *ddst = CT (dout)->data;
  Out o;
  if (!out_begin (cb, &o, dinp, pd_md (p, dnnl_query_diff_src_md, 0), 1))
    return;
  Arg a[] = { { DNNL_ARG_DIFF_DST, &ddst_md, ddst }, { DNNL_ARG_DIFF_SRC, &o.md, o.ptr } };
  run (cb, p->prim, 2, a);
  out_end (cb, &o);
}

/* ---- concat --------------------------------------------------------------------------- */

static void
cpu_concat_forward (NsTensor *out, NsTensor *a, NsTensor *b)
{
  CpuBackend *cb = CB (out->backend);
  dnnl_memory_desc_t srcs[2] = { CT (a)->md, CT (b)->md };
  void *pa = CT (a)->data, *pb = CT (b)->data;
  if (srcs[1].data_type != srcs[0].data_type)
    {
      dnnl_memory_desc_t want = md_nchw (b, srcs[0].data_type);
      pb = in_as (cb, b, &want, 0);
      srcs[1] = want;
      if (pb == NULL)
        return;
    }
  Key k = { .n = 0 };
  key_add (&k, K_CONCAT);
  key_md (&k, &srcs[0]);
  key_md (&k, &srcs[1]);
  Prim *p = cache_lookup (cb, &k);
  if (p == NULL)
    {
      /* the layout of the inputs (the convolution after wants it), not "any", which
       * picks plain NCHW as soon as one input is plain or has padded channel blocks */
      dnnl_memory_desc_t dst = md_4d_any (out->shape[0], out->shape[1], out->shape[2],
                                          out->shape[3], srcs[0].data_type);
      const dnnl_memory_desc_t *like = md_is_plain_nchw (&srcs[0]) ? &srcs[1] : &srcs[0];
      if (!md_is_plain_nchw (like))
        dst = md_tag (4, dst.dims, dst.data_type, md_guess_tag (like));
      dnnl_primitive_desc_t pd = NULL;
      if (dnnl_concat_primitive_desc_create (&pd, &dst, 2, 1, srcs, NULL, cb->engine)
            != dnnl_success
          || (p = cache_insert (cb, &k, pd, NULL)) == NULL)
        {
          g_critical ("oneDNN: no concat for this shape");
          return;
        }
    }
  Out o;
  if (!out_begin (cb, &o, out, pd_md (p, dnnl_query_dst_md, 0), 1))
    return;
  Arg args[] = {
    { DNNL_ARG_MULTIPLE_SRC + 0, &srcs[0], pa },
    { DNNL_ARG_MULTIPLE_SRC + 1, &srcs[1], pb },
    { DNNL_ARG_DST, &o.md, o.ptr },
  };
  run (cb, p->prim, 3, args);
  out_end (cb, &o);
}

/* d = dout[:, c0:c0+C] as a reorder from a sub-memory of `base` (laid out as md) into
 * dout's own format. */
static void
concat_split (CpuBackend *cb, NsTensor *d, const dnnl_memory_desc_t *md, void *base,
              dnnl_format_tag_t tag, int c0)
{
  dnnl_dims_t sub = { d->shape[0], d->shape[1], d->shape[2], d->shape[3] };
  dnnl_dims_t off = { 0, c0, 0, 0 };
  dnnl_memory_desc_t smd;
  if (!DNNL_OK (dnnl_memory_desc_init_submemory (&smd, md, sub, off)))
    return;
  dnnl_memory_desc_t dmd = md_tag (4, sub, md->data_type, tag);
  Out o;
  if (!out_begin (cb, &o, d, &dmd, 1))
    return;
  reorder (cb, &smd, base, &o.md, o.ptr, FALSE);
  out_end (cb, &o);
}

static void
cpu_concat_backward (NsTensor *da, NsTensor *db, NsTensor *dout)
{
  CpuBackend *cb = CB (dout->backend);
  dnnl_memory_desc_t md = CT (dout)->md;
  void *base = CT (dout)->data;
  dnnl_format_tag_t tag = md_guess_tag (&md);
  int cb0 = db ? dout->shape[1] - db->shape[1] : 0;

  /* a channel block straddling the split (24 channels in nChw16c): split from NHWC,
   * where any channel offset is a sub-memory, and write the parts back blocked */
  dnnl_memory_desc_t probe;
  dnnl_dims_t sub = { dout->shape[0], da ? da->shape[1] : db->shape[1], dout->shape[2],
                      dout->shape[3] };
  dnnl_dims_t off = { 0, da ? 0 : cb0, 0, 0 };
  gboolean aligned = dnnl_memory_desc_init_submemory (&probe, &md, sub, off) == dnnl_success;
  if (aligned && da && db)
    {
      dnnl_dims_t sub_b = { dout->shape[0], db->shape[1], dout->shape[2], dout->shape[3] };
      dnnl_dims_t off_b = { 0, cb0, 0, 0 };
      aligned = dnnl_memory_desc_init_submemory (&probe, &md, sub_b, off_b) == dnnl_success;
    }
  if (!aligned)
    {
      dnnl_memory_desc_t nhwc = md_tag (4, md.dims, md.data_type, dnnl_nhwc);
      base = in_as (cb, dout, &nhwc, 0);
      md = nhwc;
      if (base == NULL)
        return;
    }
  if (da)
    concat_split (cb, da, &md, base, tag, 0);
  if (db)
    concat_split (cb, db, &md, base, tag, cb0);
}

/* ---- add ------------------------------------------------------------------------------ */

static void
cpu_add_forward (NsTensor *out, NsTensor *a, NsTensor *b)
{
  CpuBackend *cb = CB (out->backend);
  if (out == b && out != a)
    {
      NsTensor *t = a;   /* in place on src0 */
      a = b;
      b = t;
    }
  dnnl_memory_desc_t md = CT (a)->md;
  Key k = { .n = 0 };
  key_add (&k, K_BINARY);
  key_md (&k, &md);
  Prim *p = cache_lookup (cb, &k);
  if (p == NULL)
    {
      dnnl_binary_desc_t d;
      dnnl_primitive_desc_t pd = NULL;
      if (dnnl_binary_desc_init (&d, dnnl_binary_add, &md, &md, &md) != dnnl_success
          || dnnl_primitive_desc_create (&pd, &d, NULL, cb->engine, NULL) != dnnl_success
          || (p = cache_insert (cb, &k, pd, NULL)) == NULL)
        {
          g_critical ("oneDNN: no binary add for this shape");
          return;
        }
    }
  void *pa = CT (a)->data;
  void *pb = in_as (cb, b, &md, 0);
  Out o;
  if (pb == NULL || !out_begin (cb, &o, out, &md, 1))
    return;
  Arg args[] = {
    { DNNL_ARG_SRC_0, &md, pa },
    { DNNL_ARG_SRC_1, &md, pb },
    { DNNL_ARG_DST, &o.md, o.ptr },
  };
  run (cb, p->prim, 3, args);
  out_end (cb, &o);
}

/* ---- dropout (own loops, plain f32) --------------------------------------------------- */

static void
cpu_dropout_forward (NsTensor *out, NsTensor *mask, NsTensor *inp, float p, guint64 seed,
                     gboolean training)
{
  CpuBackend *cb = CB (out->backend);
  if (!training)
    {
      cpu_copy (out, inp);
      return;
    }
  const float *x = plain_f32 (cb, inp);
  dnnl_memory_desc_t plain = md_nchw (out, dnnl_f32);
  Out om, oo;
  if (x == NULL || !out_begin (cb, &om, mask, &plain, 1))
    return;
  float *m = om.ptr;
  float scale = 1.0f / (1.0f - p);
  for (gsize i = 0; i < inp->n; i++)
    m[i] = ns_random_uniform (seed, i) >= p ? scale : 0.0f;
  out_end (cb, &om);
  if (!out_begin (cb, &oo, out, &plain, 2))
    return;
  float *y = oo.ptr;
  m = CT (mask)->data;
  for (gsize i = 0; i < inp->n; i++)
    y[i] = x[i] * m[i];
  out_end (cb, &oo);
}

static void
cpu_dropout_backward (NsTensor *dinp, NsTensor *dout, NsTensor *mask)
{
  CpuBackend *cb = CB (dout->backend);
  const float *dy = plain_f32 (cb, dout);
  const float *m = plain_f32 (cb, mask);
  dnnl_memory_desc_t plain = md_nchw (dinp, dnnl_f32);
  Out o;
  if (dy == NULL || m == NULL || !out_begin (cb, &o, dinp, &plain, 1))
    return;
  float *dx = o.ptr;
  for (gsize i = 0; i < dout->n; i++)
    dx[i] = dy[i] * m[i];
  out_end (cb, &o);
}

/* ---- softmax and loss ----------------------------------------------------------------- */

static void
cpu_softmax_forward (NsTensor *probs, NsTensor *logits)
{
  CpuBackend *cb = CB (probs->backend);
  dnnl_memory_desc_t md = CT (logits)->md;
  if (md.data_type != dnnl_f32)
    md = md_with_dt (&md, dnnl_f32);   /* probabilities in f32 */
  Key k = { .n = 0 };
  key_add (&k, K_SOFTMAX);
  key_md (&k, &md);
  Prim *p = cache_lookup (cb, &k);
  if (p == NULL)
    {
      dnnl_softmax_desc_t d;
      dnnl_primitive_desc_t pd = NULL;
      if (dnnl_softmax_forward_desc_init (&d, dnnl_forward_inference, &md, 1) != dnnl_success
          || dnnl_primitive_desc_create (&pd, &d, NULL, cb->engine, NULL) != dnnl_success
          || (p = cache_insert (cb, &k, pd, NULL)) == NULL)
        {
          g_critical ("oneDNN: no softmax for this shape");
          return;
        }
    }
  void *src = in_as (cb, logits, &md, 0);
  Out o;
  if (src == NULL || !out_begin (cb, &o, probs, &md, 1))
    return;
  Arg a[] = { { DNNL_ARG_SRC, &md, src }, { DNNL_ARG_DST, &o.md, o.ptr } };
  run (cb, p->prim, 2, a);
  out_end (cb, &o);
}

/* Softmax over channels of plain NCHW logits into probs (stable: max subtracted). */
static void
softmax_plain (float *p, const float *z, int N, int K, gsize HW)
{
  for (int n = 0; n < N; n++)
    {
      const float *zn = z + (gsize) n * K * HW;
      float *pn = p + (gsize) n * K * HW;
      for (gsize i = 0; i < HW; i++)
        {
          float mx = zn[i];
          for (int k = 1; k < K; k++)
            mx = MAX (mx, zn[k * HW + i]);
          float sum = 0.0f;
          for (int k = 0; k < K; k++)
            {
              float e = expf (zn[k * HW + i] - mx);
              pn[k * HW + i] = e;
              sum += e;
            }
          float inv = 1.0f / sum;
          for (int k = 0; k < K; k++)
            pn[k * HW + i] *= inv;
        }
    }
}

/* Per-class sums over the batch: inter[k] = sum p_k y_k, psum[k] = sum p_k, ysum[k] =
 * sum y_k, in double; ce = sum -log p[label]. */
static void
dice_sums (const float *p, const float *lab, int N, int K, gsize HW, double *inter,
           double *psum, double *ysum, double *ce)
{
  for (int k = 0; k < K; k++)
    inter[k] = psum[k] = ysum[k] = 0.0;
  *ce = 0.0;
  for (int n = 0; n < N; n++)
    {
      const float *pn = p + (gsize) n * K * HW;
      const float *ln = lab + (gsize) n * HW;
      for (int k = 0; k < K; k++)
        {
          double s = 0.0;
          for (gsize i = 0; i < HW; i++)
            s += pn[k * HW + i];
          psum[k] += s;
        }
      for (gsize i = 0; i < HW; i++)
        {
          int y = (int) ln[i];
          y = CLAMP (y, 0, K - 1);
          float py = pn[y * HW + i];
          inter[y] += py;
          ysum[y] += 1.0;
          *ce -= log (MAX ((double) py, 1e-30));
        }
    }
}

#define DICE_EPS 1.0

static float
cpu_softmax_dice_ce_forward (NsTensor *probs, NsTensor *logits, NsTensor *labels)
{
  CpuBackend *cb = CB (probs->backend);
  int N = logits->shape[0], K = logits->shape[1];
  gsize HW = (gsize) logits->shape[2] * logits->shape[3];
  const float *z = plain_f32 (cb, logits);
  const float *lab = plain_f32 (cb, labels);
  dnnl_memory_desc_t plain = md_nchw (probs, dnnl_f32);
  Out o;
  if (z == NULL || lab == NULL || !out_begin (cb, &o, probs, &plain, 1))
    return NAN;
  softmax_plain (o.ptr, z, N, K, HW);
  out_end (cb, &o);

  g_autofree double *s = g_new (double, 3 * K);
  double ce;
  dice_sums (CT (probs)->data, lab, N, K, HW, s, s + K, s + 2 * K, &ce);
  double dice = 0.0;
  for (int k = 1; k < K; k++)
    dice += (2.0 * s[k] + DICE_EPS) / (s[K + k] + s[2 * K + k] + DICE_EPS);
  dice = K > 1 ? 1.0 - dice / (K - 1) : 0.0;
  return (float) (ce / ((double) N * HW) + dice);
}

/* dL/dz_j = (p_j - y_j) / P  +  p_j (g_j - sum_k p_k g_k), where g_k = dDice/dp_k =
 * -(2 y_k D_k - (2 I_k + eps)) / ((K - 1) D_k^2) for k >= 1 (0 for the background),
 * D_k = S_k + G_k + eps. */
static void
cpu_softmax_dice_ce_backward (NsTensor *dlogits, NsTensor *probs, NsTensor *labels)
{
  CpuBackend *cb = CB (probs->backend);
  int N = probs->shape[0], K = probs->shape[1];
  gsize HW = (gsize) probs->shape[2] * probs->shape[3];
  const float *p = plain_f32 (cb, probs);
  const float *lab = plain_f32 (cb, labels);
  if (p == NULL || lab == NULL)
    return;
  g_autofree double *s = g_new (double, 3 * K);
  double ce;
  dice_sums (p, lab, N, K, HW, s, s + K, s + 2 * K, &ce);

  /* g_k = a_k y_k + b_k */
  g_autofree float *ga = g_new0 (float, K);
  g_autofree float *gb = g_new0 (float, K);
  for (int k = 1; k < K; k++)
    {
      double D = s[K + k] + s[2 * K + k] + DICE_EPS;
      ga[k] = (float) (-2.0 / ((K - 1) * D));
      gb[k] = (float) ((2.0 * s[k] + DICE_EPS) / ((K - 1) * D * D));
    }
  float invP = (float) (1.0 / ((double) N * HW));

  dnnl_memory_desc_t plain = md_nchw (dlogits, dnnl_f32);
  Out o;
  if (!out_begin (cb, &o, dlogits, &plain, 1))
    return;
  float *dz = o.ptr;
  for (int n = 0; n < N; n++)
    {
      const float *pn = p + (gsize) n * K * HW;
      const float *ln = lab + (gsize) n * HW;
      float *dn = dz + (gsize) n * K * HW;
      for (gsize i = 0; i < HW; i++)
        {
          int y = CLAMP ((int) ln[i], 0, K - 1);
          float dot = 0.0f;
          for (int k = 0; k < K; k++)
            {
              float g = gb[k] + (k == y ? ga[k] : 0.0f);
              dot += pn[k * HW + i] * g;
            }
          for (int k = 0; k < K; k++)
            {
              float pk = pn[k * HW + i];
              float g = gb[k] + (k == y ? ga[k] : 0.0f);
              dn[k * HW + i] = (pk - (k == y ? 1.0f : 0.0f)) * invP + pk * (g - dot);
            }
        }
    }
  out_end (cb, &o);
}

/* ---- Adam ----------------------------------------------------------------------------- */

static void
cpu_adam_update (NsTensor *params, NsTensor *grads, NsTensor *m, NsTensor *v,
                 const NsAdamParams *ap)
{
  CpuBackend *cb = CB (params->backend);
  float *w = plain_f32 (cb, params);
  const float *g = plain_f32 (cb, grads);
  float *mm = plain_f32 (cb, m), *vv = plain_f32 (cb, v);
  if (!w || !g || !mm || !vv)
    return;
  const float b1 = ap->beta1, b2 = ap->beta2;
  const float c1 = (float) (1.0 / (1.0 - pow (b1, ap->step)));
  const float c2 = (float) (1.0 / (1.0 - pow (b2, ap->step)));
  const float lr = ap->lr, eps = ap->eps, decay = 1.0f - ap->lr * ap->weight_decay;
  gsize n = params->n;

  for (gsize i = 0; i < n; i++)
    {
      float gi = g[i];
      float mi = b1 * mm[i] + (1.0f - b1) * gi;
      float vi = b2 * vv[i] + (1.0f - b2) * gi * gi;
      mm[i] = mi;
      vv[i] = vi;
      w[i] = w[i] * decay - lr * (mi * c1) / (sqrtf (vi * c2) + eps);
    }
  bump (cb, params);
  bump (cb, m);
  bump (cb, v);
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
  .copy = cpu_copy,
  .conv2d_forward = cpu_conv2d_forward,
  .conv2d_backward = cpu_conv2d_backward,
  .batchnorm_forward = cpu_batchnorm_forward,
  .batchnorm_backward = cpu_batchnorm_backward,
  .relu_forward = cpu_relu_forward,
  .relu_backward = cpu_relu_backward,
  .maxpool2_forward = cpu_maxpool2_forward,
  .maxpool2_backward = cpu_maxpool2_backward,
  .upsample2_forward = cpu_upsample2_forward,
  .upsample2_backward = cpu_upsample2_backward,
  .convt2_forward = cpu_convt2_forward,
  .convt2_backward = cpu_convt2_backward,
  .concat_forward = cpu_concat_forward,
  .concat_backward = cpu_concat_backward,
  .add_forward = cpu_add_forward,
  .dropout_forward = cpu_dropout_forward,
  .dropout_backward = cpu_dropout_backward,
  .softmax_forward = cpu_softmax_forward,
  .softmax_dice_ce_forward = cpu_softmax_dice_ce_forward,
  .softmax_dice_ce_backward = cpu_softmax_dice_ce_backward,
  .adam_update = cpu_adam_update,
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
  be->precision = NS_PRECISION_FP32;
  const dnnl_version_t *v = dnnl_version ();
  be->device = g_strdup_printf ("oneDNN %d.%d.%d on %d threads, isa %s%s", v->major,
                                v->minor, v->patch, omp_threads (), isa_name (isa),
                                cb->has_bf16 ? "/bf16" : "");
  return be;
}
