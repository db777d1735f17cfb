/* SPDX-License-Identifier: MIT
 *
 * ns-cpu-private.h: what the files of the oneDNN backend share (ns-backend-cpu.c:
 * the backend, tensors, caches and reorders; ns-cpu-conv.c: convolutions; ns-cpu-upconv.c:
 * upsample + concat + 3x3 convolution fused; ns-cpu-layers.c:
 * batch-norm, eltwise, pooling, resampling, concat, add, softmax; ns-cpu-loops.c: the
 * loss, dropout and Adam as plain loops).  See ns-backend-cpu.c for the design.
 *
 * Not thread-safe: a backend and its tensors are used from one thread at a time (scratch
 * buffers and the primitive cache are per backend).
 */
#pragma once

#include "ns-backend-private.h"

#include <oneapi/dnnl/dnnl.h>

#include <string.h>

G_BEGIN_DECLS

#define N_SCRATCH      8
#define N_WEIGHT_COPIES 4
#define ALIGN          64

typedef struct
{
  NsBackend *be;                /* where failures are recorded (_ns_backend_fail) */
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
  K_UPCONV_PHASES,
  K_UPCONV_SKIP,
} KeyKind;

#define CB(be) ((CpuBackend *) (be)->priv)
#define CT(t)  ((CpuTensor *) (t)->priv)

/* FALSE unless s is dnnl_success; a failure is recorded in the backend's status, naming
 * the call. */
gboolean _ns_cpu_check (CpuBackend *cb, dnnl_status_t s, const char *what);
#define DNNL_OK(cb, call) _ns_cpu_check ((cb), (call), #call)

/* Records that an op could not get `bytes` of memory (NS_NET_ERROR_OUT_OF_MEMORY). */
void _ns_cpu_out_of_memory (CpuBackend *cb, gsize bytes, const char *what);

/* ---- cache keys: the op, its sizes and parameters, and the layouts of its inputs ------- */

typedef struct
{
  gint64 v[160];
  int n;
} Key;

static inline void
key_add (Key *k, gint64 x)
{
  g_assert (k->n < (int) G_N_ELEMENTS (k->v));
  k->v[k->n++] = x;
}

static inline void
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

Prim *_ns_cpu_cache_lookup (CpuBackend *cb, const Key *k);

/* Takes ownership of pd (NULL is accepted: no descriptor); NULL when the primitive cannot
 * be created.  Nothing is recorded: not having a primitive for a shape is what
 * supports_op answers. */
Prim *_ns_cpu_cache_insert (CpuBackend *cb, const Key *k, dnnl_primitive_desc_t pd);

static inline const dnnl_memory_desc_t *
pd_md (const Prim *p, dnnl_query_t what, int index)
{
  return dnnl_primitive_desc_query_md (p->pd, what, index);
}

static inline const char *
pd_impl (const_dnnl_primitive_desc_t pd)
{
  const char *impl = "";
  dnnl_primitive_desc_query (pd, dnnl_query_impl_info_str, 0, &impl);
  return impl;
}

/* ---- memory descriptors ---------------------------------------------------------------- */

static inline dnnl_memory_desc_t
md_tag (int ndims, const dnnl_dim_t *dims, dnnl_data_type_t dt, dnnl_format_tag_t tag)
{
  dnnl_memory_desc_t md;
  dnnl_dims_t d = { 0 };
  memcpy (d, dims, sizeof (dnnl_dim_t) * ndims);
  memset (&md, 0, sizeof md);
  dnnl_memory_desc_init_by_tag (&md, ndims, d, dt, tag);
  return md;
}

static inline dnnl_memory_desc_t
md_nchw (const NsTensor *t, dnnl_data_type_t dt)
{
  dnnl_dims_t d = { t->shape[0], t->shape[1], t->shape[2], t->shape[3] };
  return md_tag (4, d, dt, dnnl_nchw);
}

static inline dnnl_memory_desc_t
md_4d_any (int n, int c, int h, int w, dnnl_data_type_t dt)
{
  dnnl_dims_t d = { n, c, h, w };
  return md_tag (4, d, dt, dnnl_format_tag_any);
}

static inline dnnl_memory_desc_t
md_vec (int c, dnnl_data_type_t dt)
{
  dnnl_dims_t d = { c };
  return md_tag (1, d, dt, dnnl_a);
}

/* The same layout with another element type (blocked formats only). */
static inline dnnl_memory_desc_t
md_with_dt (const dnnl_memory_desc_t *md, dnnl_data_type_t dt)
{
  dnnl_memory_desc_t r = *md;
  r.data_type = dt;
  return r;
}

static inline gboolean
md_eq (const dnnl_memory_desc_t *a, const dnnl_memory_desc_t *b)
{
  return dnnl_memory_desc_equal (a, b) != 0;
}

static inline gboolean
md_is_plain_nchw (const dnnl_memory_desc_t *md)
{
  if (md->format_kind != dnnl_blocked || md->ndims != 4)
    return FALSE;
  dnnl_memory_desc_t p = md_tag (4, md->dims, md->data_type, dnnl_nchw);
  return md_eq (md, &p);
}

/* The format tag of an activation layout, to lay out a tensor of other sizes the same way. */
static inline dnnl_format_tag_t
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

/* ---- buffers, execution, tensors -------------------------------------------------------- */

typedef struct
{
  int arg;
  const dnnl_memory_desc_t *md;
  void *ptr;
} Arg;

typedef struct
{
  NsTensor *t;
  dnnl_memory_desc_t md;
  void *ptr;
  void *old;          /* buffer replaced by a larger one, freed after the op */
  gboolean staged;    /* pinned tensor written through scratch, reordered after */
} Out;
/* Outputs: _ns_cpu_out_begin (after every input pointer was taken) makes t hold layout md
 * (or stages it for a pinned tensor) and gives o->ptr to write; _ns_cpu_out_end finishes
 * (reorders a staged output, frees a replaced buffer, bumps the version). */

void *_ns_cpu_alloc (gsize size);

void *_ns_cpu_scratch (CpuBackend *cb, int slot, gsize size);

gboolean _ns_cpu_run (CpuBackend *cb, dnnl_primitive_t prim, int n, const Arg *a);

/* dst (+)= src with a layout / type change; accumulate adds into dst (sum post-op). */
gboolean _ns_cpu_reorder (CpuBackend *cb, const dnnl_memory_desc_t *src_md, void *src,
                          const dnnl_memory_desc_t *dst_md, void *dst, gboolean accumulate);

guint64 _ns_cpu_bump (CpuBackend *cb, NsTensor *t);

guint64 _ns_cpu_tensor_version (NsTensor *t);

/* Rewrites t in place as plain f32 NCHW (lossless: only f32 or bf16 -> f32).  Returns the
 * float pointer. */
float *_ns_cpu_plain_f32 (CpuBackend *cb, NsTensor *t);

/* A read-only pointer to t's contents laid out as `want`, reordering into scratch `slot`
 * when t holds another layout or type.  Call before out_begin on any aliasing output. */
void *_ns_cpu_in_as (CpuBackend *cb, NsTensor *t, const dnnl_memory_desc_t *want, int slot);

gboolean _ns_cpu_out_begin (CpuBackend *cb, Out *o, NsTensor *t, const dnnl_memory_desc_t *md,
                            int slot);

void _ns_cpu_out_end (CpuBackend *cb, Out *o);

/* Weights (a plain f32 tensor, usually a view of the parameters) laid out as `want`:
 * the tensor itself when it already is, else a cached reordered copy. */
void *_ns_cpu_weights_as (CpuBackend *cb, NsTensor *w, const dnnl_memory_desc_t *plain,
                          const dnnl_memory_desc_t *want);

/* Weights computed from w (a plain f32 tensor): derive (w's values, dst, user) writes
 * them into dst as plain f32 laid out as `plain`; the result is kept laid out as `want`
 * among w's copies (keyed by `want`, whose sizes must differ from any reorder of w's)
 * and derived again only when w's version changes. */
typedef void (*NsCpuDeriveWeights) (const float *w, float *dst, gpointer user);
void *_ns_cpu_weights_derived (CpuBackend *cb, NsTensor *w, NsCpuDeriveWeights derive,
                               gpointer user, const dnnl_memory_desc_t *plain,
                               const dnnl_memory_desc_t *want);

/* g (a plain f32 gradient) += src laid out as src_md. */
void _ns_cpu_accumulate_into (CpuBackend *cb, NsTensor *g, const dnnl_memory_desc_t *g_plain,
                              const dnnl_memory_desc_t *src_md, void *src);

void _ns_cpu_add_vec (CpuBackend *cb, NsTensor *g, const float *src);

/* dst = src, keeping src's layout */
void _ns_cpu_copy (NsTensor *dst, NsTensor *src);

/* ---- ops (ns-cpu-conv.c, ns-cpu-layers.c, ns-cpu-loops.c) ------------------------------- */

/* supports_op for the calls with shapes (ns-backend-private.h): whether oneDNN has a
 * primitive for the op on these tensors in their current layouts.  The primitive made to
 * answer is cached, so the op then finds it. */
gboolean _ns_cpu_conv_supports   (CpuBackend *cb, const NsOpDesc *desc);
gboolean _ns_cpu_layers_supports (CpuBackend *cb, const NsOpDesc *desc);
gboolean _ns_cpu_upconv2_supports (CpuBackend *cb, const NsOpDesc *desc);

void _ns_cpu_conv2d_forward (NsTensor *out, NsTensor *inp, NsTensor *weight, NsTensor *bias,
                             const NsConv2dParams *p);
void _ns_cpu_conv2d_add_forward (NsTensor *out, NsTensor *inp, NsTensor *weight, NsTensor *bias,
                                 NsTensor *residual, const NsConv2dParams *p);
void _ns_cpu_conv2d_backward (NsTensor *dinp, NsTensor *dweight, NsTensor *dbias, NsTensor *dout,
                              NsTensor *inp, NsTensor *weight, const NsConv2dParams *p);
void _ns_cpu_convt2_forward (NsTensor *out, NsTensor *inp, NsTensor *weight, NsTensor *bias);
void _ns_cpu_convt2_backward (NsTensor *dinp, NsTensor *dweight, NsTensor *dbias, NsTensor *dout,
                              NsTensor *inp, NsTensor *weight);
void _ns_cpu_batchnorm_forward (NsTensor *out, NsTensor *save_mean, NsTensor *save_invstd,
                                NsTensor *inp, NsTensor *gamma, NsTensor *beta,
                                NsTensor *running_mean, NsTensor *running_var,
                                gboolean training, float momentum, float eps);
void _ns_cpu_batchnorm_backward (NsTensor *dinp, NsTensor *dgamma, NsTensor *dbeta, NsTensor *dout,
                                 NsTensor *inp, NsTensor *save_mean, NsTensor *save_invstd,
                                 NsTensor *gamma);
void _ns_cpu_relu_forward (NsTensor *out, NsTensor *inp, NsActivation act);
void _ns_cpu_relu_backward (NsTensor *dinp, NsTensor *dout, NsTensor *out, NsActivation act);
void _ns_cpu_maxpool2_forward (NsTensor *out, NsTensor *inp);
void _ns_cpu_maxpool2_backward (NsTensor *dinp, NsTensor *dout, NsTensor *inp, NsTensor *out);
void _ns_cpu_upsample2_forward (NsTensor *out, NsTensor *inp);
void _ns_cpu_upsample2_backward (NsTensor *dinp, NsTensor *dout);
void _ns_cpu_concat_forward (NsTensor *out, NsTensor *a, NsTensor *b);
void _ns_cpu_concat_backward (NsTensor *da, NsTensor *db, NsTensor *dout);
void _ns_cpu_upconv2_forward (NsTensor *out, NsTensor *inp, NsTensor *skip, NsTensor *weight,
                              NsTensor *bias, NsActivation act);
void _ns_cpu_add_forward (NsTensor *out, NsTensor *a, NsTensor *b);
void _ns_cpu_dropout_forward (NsTensor *out, NsTensor *mask, NsTensor *inp, float p, guint64 seed,
                              gboolean training);
void _ns_cpu_dropout_backward (NsTensor *dinp, NsTensor *dout, NsTensor *mask);
void _ns_cpu_softmax_forward (NsTensor *probs, NsTensor *logits);
float _ns_cpu_softmax_dice_ce_forward (NsTensor *probs, NsTensor *logits, NsTensor *labels);
void _ns_cpu_softmax_dice_ce_backward (NsTensor *dlogits, NsTensor *probs, NsTensor *labels);
void _ns_cpu_adam_update (NsTensor *params, NsTensor *grads, NsTensor *m, NsTensor *v,
                          const NsAdamParams *ap);

G_END_DECLS
