/* SPDX-License-Identifier: MIT
 *
 * ns-cpu-conv.c: convolution and 2x2 transposed convolution (deconvolution) on oneDNN,
 * forward with bias, fused ReLU/ReLU6 and optionally a residual added (binary post-op), backward data and backward weights (+ bias),
 * with the layout choice that keeps activations in the format of the layer before.
 */
#define G_LOG_DOMAIN "neuroseg-net"

#include "ns-config.h"
#include "ns-cpu-private.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* ---- convolution and transposed convolution ------------------------------------------- */

typedef struct
{
  gboolean deconv;
  int N, C, H, W, K, Ho, Wo, kh, kw, stride, pad, groups;
  gboolean bias;
  gboolean residual;            /* forward: a binary add post-op of a tensor laid out as dst */
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
                    g->pad, g->groups, g->bias, g->dt, g->residual };
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
  g_assert (!g->residual || (pass == CONV_FWD && dst_fmt != NULL));
  if (act != NS_ACT_NONE || g->residual)
    {
      dnnl_post_ops_t po;
      dnnl_primitive_attr_create (&attr);
      dnnl_post_ops_create (&po);
      if (g->residual)
        dnnl_post_ops_append_binary (po, dnnl_binary_add, dst_fmt);
      if (act == NS_ACT_NONE)
        ;
      else if (act == NS_ACT_RELU)
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
  /* fp32 activations live in nChw16c: oneDNN's "any" switches to NHWC (brgemm) kernels
   * for some inference convolutions, and one such choice on the uploaded NCHW input
   * would carry NHWC, and reorders, through the network; the jit kernels take NCHW in
   * and give nChw16c out at the same speed */
  dnnl_memory_desc_t blocked;
  if (pass == CONV_FWD && g->dt == dnnl_f32 && src_in != NULL && md_is_plain_nchw (src_in)
      && src_in->data_type == dnnl_f32)
    {
      const dnnl_memory_desc_t *dst_any = dnnl_primitive_desc_query_md (any, qd, 0);
      dnnl_dims_t d = { g->N, g->K, g->Ho, g->Wo };
      blocked = md_tag (4, d, dnnl_f32, dnnl_nChw16c);
      if (!md_eq (dst_any, &blocked))
        {
          src_use = src_in;
          dst_use = &blocked;
          differs = TRUE;
        }
    }
  if (!differs)
    return any;

  /* the other side in the same layout: with it left "any", oneDNN 2.6 settles for its
   * reference kernel for some NHWC cases */
  dnnl_memory_desc_t other;
  if (src_use != NULL && dst_use == NULL)
    {
      dnnl_dims_t d = { g->N, g->K, g->Ho, g->Wo };
      other = md_tag (4, d, g->dt, md_guess_tag (src_use));
      dst_use = &other;
    }
  else if (dst_use != NULL && src_use == NULL && pass == CONV_BWD_D)
    {
      dnnl_dims_t d = { g->N, g->C, g->H, g->W };
      other = md_tag (4, d, g->dt, md_guess_tag (dst_use));
      src_use = &other;
    }
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

/* ---- the cached primitives of the three passes --------------------------------------------- */

/* Forward, for the input as laid out now; NULL when oneDNN has none. */
static Prim *
conv_fwd_prim (CpuBackend *cb, const ConvGeom *g, NsActivation act,
               const dnnl_memory_desc_t *inp_md)
{
  Key k = { .n = 0 };
  conv_key (&k, K_CONV_FWD, g);
  key_add (&k, act);
  key_md (&k, inp_md);
  Prim *p = _ns_cpu_cache_lookup (cb, &k);
  if (p != NULL)
    return p;
  if (g->residual)
    {
      /* the layouts of the convolution alone, then the residual added as it writes */
      ConvGeom alone = *g;
      alone.residual = FALSE;
      Prim *a = conv_fwd_prim (cb, &alone, act, inp_md);
      if (a == NULL)
        return NULL;
      return _ns_cpu_cache_insert (cb, &k, conv_pd (cb, g, CONV_FWD, dnnl_forward_inference,
                                                    act, pd_md (a, dnnl_query_src_md, 0),
                                                    pd_md (a, dnnl_query_dst_md, 0), NULL));
    }
  dnnl_prop_kind_t prop = act != NS_ACT_NONE ? dnnl_forward_inference : dnnl_forward_training;
  return _ns_cpu_cache_insert (cb, &k, conv_pd_choose (cb, g, CONV_FWD, prop, act, inp_md,
                                                       NULL, NULL));
}

/* Backward data, for dout as laid out now (g made without bias). */
static Prim *
conv_bwd_data_prim (CpuBackend *cb, const ConvGeom *g, const dnnl_memory_desc_t *dout_md)
{
  Key k = { .n = 0 };
  conv_key (&k, K_CONV_BWD_D, g);
  key_md (&k, dout_md);
  Prim *p = _ns_cpu_cache_lookup (cb, &k);
  if (p != NULL)
    return p;
  dnnl_primitive_desc_t hint = conv_pd (cb, g, CONV_FWD, dnnl_forward_training, NS_ACT_NONE,
                                        NULL, NULL, NULL);
  dnnl_primitive_desc_t pd = hint ? conv_pd_choose (cb, g, CONV_BWD_D, 0, NS_ACT_NONE, NULL,
                                                    dout_md, hint)
                                  : NULL;
  if (hint)
    dnnl_primitive_desc_destroy (hint);
  return _ns_cpu_cache_insert (cb, &k, pd);
}

/* Backward weights (and bias when g has one), for inp and dout as laid out now. */
static Prim *
conv_bwd_weights_prim (CpuBackend *cb, const ConvGeom *g, const dnnl_memory_desc_t *inp_md,
                       const dnnl_memory_desc_t *dout_md)
{
  Key k = { .n = 0 };
  conv_key (&k, K_CONV_BWD_W, g);
  key_md (&k, inp_md);
  key_md (&k, dout_md);
  Prim *p = _ns_cpu_cache_lookup (cb, &k);
  if (p != NULL)
    return p;
  dnnl_primitive_desc_t hint = conv_pd (cb, g, CONV_FWD, dnnl_forward_training, NS_ACT_NONE,
                                        NULL, NULL, NULL);
  dnnl_primitive_desc_t pd = hint ? conv_pd_choose (cb, g, CONV_BWD_W, 0, NS_ACT_NONE,
                                                    inp_md, dout_md, hint)
                                  : NULL;
  if (hint)
    dnnl_primitive_desc_destroy (hint);
  return _ns_cpu_cache_insert (cb, &k, pd);
}

static void
no_primitive (CpuBackend *cb, const char *what, const ConvGeom *g)
{
  _ns_backend_fail (cb->be, NS_NET_ERROR_UNSUPPORTED, "oneDNN has no %s%s for %dx%dx%dx%d, "
                    "%d outputs, kernel %dx%d", g->deconv ? "transposed " : "", what, g->N,
                    g->C, g->H, g->W, g->K, g->kh, g->kw);
}

gboolean
_ns_cpu_conv_supports (CpuBackend *cb, const NsOpDesc *d)
{
  gboolean deconv = d->op == NS_OP_CONVT2;
  int stride = deconv ? 2 : d->conv->stride, pad = deconv ? 0 : d->conv->pad;
  int groups = deconv ? 1 : d->conv->groups;
  ConvGeom g;

  if (!d->backward)
    {
      NsTensor *out = d->args[0], *inp = d->args[1], *weight = d->args[2], *bias = d->args[3];
      conv_geom (&g, deconv, out, inp, weight, bias != NULL, stride, pad, groups, cb->act_dt);
      g.residual = d->op == NS_OP_CONV2D_ADD;
      return conv_fwd_prim (cb, &g, deconv ? NS_ACT_NONE : d->conv->act, &CT (inp)->md) != NULL;
    }
  NsTensor *dinp = d->args[0], *dweight = d->args[1], *dbias = d->args[2], *dout = d->args[3];
  NsTensor *inp = d->args[4], *weight = d->args[5];
  if (dinp != NULL)
    {
      conv_geom (&g, deconv, dout, inp, weight, FALSE, stride, pad, groups, cb->act_dt);
      if (conv_bwd_data_prim (cb, &g, &CT (dout)->md) == NULL)
        return FALSE;
    }
  if (dweight != NULL || dbias != NULL)
    {
      conv_geom (&g, deconv, dout, inp, weight, dbias != NULL, stride, pad, groups, cb->act_dt);
      if (conv_bwd_weights_prim (cb, &g, &CT (inp)->md, &CT (dout)->md) == NULL)
        return FALSE;
    }
  return TRUE;
}

/* ---- the ops ---------------------------------------------------------------------------- */

static void
conv_forward_impl (NsTensor *out, NsTensor *inp, NsTensor *weight, NsTensor *bias,
                   NsTensor *residual, gboolean deconv, int stride, int pad, int groups,
                   NsActivation act)
{
  CpuBackend *cb = CB (out->backend);
  ConvGeom g;
  conv_geom (&g, deconv, out, inp, weight, bias != NULL, stride, pad, groups, cb->act_dt);
  g.residual = residual != NULL;

  Prim *p = conv_fwd_prim (cb, &g, act, &CT (inp)->md);
  if (p == NULL)
    {
      no_primitive (cb, "convolution", &g);
      return;
    }

  const dnnl_memory_desc_t *src_md = pd_md (p, dnnl_query_src_md, 0);
  const dnnl_memory_desc_t *wei_md = pd_md (p, dnnl_query_weights_md, 0);
  const dnnl_memory_desc_t *dst_md = pd_md (p, dnnl_query_dst_md, 0);
  dnnl_memory_desc_t bias_md = md_vec (g.K, dnnl_f32);
  void *src = _ns_cpu_in_as (cb, inp, src_md, 0);
  void *wei = _ns_cpu_weights_as (cb, weight, &g.w_plain, wei_md);
  void *b = bias ? _ns_cpu_plain_f32 (cb, bias) : NULL;
  void *res = residual ? _ns_cpu_in_as (cb, residual, dst_md, 2) : NULL;
  Out o;
  if (src == NULL || wei == NULL || (bias && b == NULL) || (residual && res == NULL)
      || !_ns_cpu_out_begin (cb, &o, out, dst_md, 1))
    return;
  Arg a[5] = {
    { DNNL_ARG_SRC, src_md, src },
    { DNNL_ARG_WEIGHTS, wei_md, wei },
    { DNNL_ARG_DST, &o.md, o.ptr },
  };
  int n = 3;
  if (bias)
    a[n++] = (Arg) { DNNL_ARG_BIAS, &bias_md, b };
  if (residual)
    a[n++] = (Arg) { DNNL_ARG_ATTR_MULTIPLE_POST_OP (0) | DNNL_ARG_SRC_1, dst_md, res };
  _ns_cpu_run (cb, p->prim, n, a);
  _ns_cpu_out_end (cb, &o);
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
      Prim *p = conv_bwd_data_prim (cb, &g, &CT (dout)->md);
      if (p == NULL)
        {
          no_primitive (cb, "backward-data convolution", &g);
          return;
        }
      const dnnl_memory_desc_t *dsrc_md = pd_md (p, dnnl_query_diff_src_md, 0);
      const dnnl_memory_desc_t *wei_md = pd_md (p, dnnl_query_weights_md, 0);
      const dnnl_memory_desc_t *ddst_md = pd_md (p, dnnl_query_diff_dst_md, 0);
      void *ddst = _ns_cpu_in_as (cb, dout, ddst_md, 0);
      void *wei = _ns_cpu_weights_as (cb, weight, &g.w_plain, wei_md);
      Out o;
      if (ddst == NULL || wei == NULL || !_ns_cpu_out_begin (cb, &o, dinp, dsrc_md, 1))
        return;
      Arg a[] = {
        { DNNL_ARG_DIFF_DST, ddst_md, ddst },
        { DNNL_ARG_WEIGHTS, wei_md, wei },
        { DNNL_ARG_DIFF_SRC, &o.md, o.ptr },
      };
      _ns_cpu_run (cb, p->prim, 3, a);
      _ns_cpu_out_end (cb, &o);
    }

  if (dweight != NULL || dbias != NULL)
    {
      conv_geom (&g, deconv, dout, inp, weight, dbias != NULL, stride, pad, groups,
                 cb->act_dt);
      Prim *p = conv_bwd_weights_prim (cb, &g, &CT (inp)->md, &CT (dout)->md);
      if (p == NULL)
        {
          no_primitive (cb, "backward-weights convolution", &g);
          return;
        }
      const dnnl_memory_desc_t *src_md = pd_md (p, dnnl_query_src_md, 0);
      const dnnl_memory_desc_t *dwei_md = pd_md (p, dnnl_query_diff_weights_md, 0);
      const dnnl_memory_desc_t *ddst_md = pd_md (p, dnnl_query_diff_dst_md, 0);
      dnnl_memory_desc_t dbias_md = md_vec (g.K, dnnl_f32);
      void *src = _ns_cpu_in_as (cb, inp, src_md, 0);
      void *ddst = _ns_cpu_in_as (cb, dout, ddst_md, 1);
      void *dwei = _ns_cpu_scratch (cb, 2, dnnl_memory_desc_get_size (dwei_md));
      float *db = _ns_cpu_scratch (cb, 3, g.K * sizeof (float));
      if (src == NULL || ddst == NULL || dwei == NULL || db == NULL)
        return;
      Arg a[] = {
        { DNNL_ARG_SRC, src_md, src },
        { DNNL_ARG_DIFF_DST, ddst_md, ddst },
        { DNNL_ARG_DIFF_WEIGHTS, dwei_md, dwei },
        { DNNL_ARG_DIFF_BIAS, &dbias_md, db },
      };
      if (!_ns_cpu_run (cb, p->prim, dbias ? 4 : 3, a))
        return;
      if (dweight)
        _ns_cpu_accumulate_into (cb, dweight, &g.w_plain, dwei_md, dwei);
      if (dbias)
        _ns_cpu_add_vec (cb, dbias, db);
    }
}

void
_ns_cpu_conv2d_forward (NsTensor *out, NsTensor *inp, NsTensor *weight, NsTensor *bias,
                        const NsConv2dParams *p)
{
  conv_forward_impl (out, inp, weight, bias, NULL, FALSE, p->stride, p->pad, p->groups, p->act);
}

void
_ns_cpu_conv2d_add_forward (NsTensor *out, NsTensor *inp, NsTensor *weight, NsTensor *bias,
                            NsTensor *residual, const NsConv2dParams *p)
{
  conv_forward_impl (out, inp, weight, bias, residual, FALSE, p->stride, p->pad, p->groups,
                     p->act);
}

void
_ns_cpu_conv2d_backward (NsTensor *dinp, NsTensor *dweight, NsTensor *dbias, NsTensor *dout,
                         NsTensor *inp, NsTensor *weight, const NsConv2dParams *p)
{
  conv_backward_impl (dinp, dweight, dbias, dout, inp, weight, FALSE, p->stride, p->pad,
                      p->groups);
}

void
_ns_cpu_convt2_forward (NsTensor *out, NsTensor *inp, NsTensor *weight, NsTensor *bias)
{
  conv_forward_impl (out, inp, weight, bias, NULL, TRUE, 2, 0, 1, NS_ACT_NONE);
}

void
_ns_cpu_convt2_backward (NsTensor *dinp, NsTensor *dweight, NsTensor *dbias, NsTensor *dout,
                         NsTensor *inp, NsTensor *weight)
{
  conv_backward_impl (dinp, dweight, dbias, dout, inp, weight, TRUE, 2, 0, 1);
}
