/* SPDX-License-Identifier: MIT
 *
 * ns-cpu-layers.c: the layers between convolutions on oneDNN primitives: batch
 * normalisation, ReLU/ReLU6, 2x2 max-pool, nearest x2 resampling, channel concat, add and
 * softmax; each keeps the layout of its input.
 */
#define G_LOG_DOMAIN "neuroseg-net"

#include "ns-config.h"
#include "ns-cpu-private.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

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

/* Recorded when an op finds no primitive though supports_op found one (the dispatcher
 * asks first, so only a primitive that cannot be created twice gets here). */
static void
no_primitive (CpuBackend *cb, const char *what, const NsTensor *t)
{
  _ns_backend_fail (cb->be, NS_NET_ERROR_UNSUPPORTED, "oneDNN has no %s for %d x %d x %d x %d",
                    what, t->shape[0], t->shape[1], t->shape[2], t->shape[3]);
}

static Prim *
bn_fwd_prim (CpuBackend *cb, const dnnl_memory_desc_t *data, gboolean training, float eps)
{
  Key k = { .n = 0 };
  key_add (&k, K_BN_FWD);
  key_add (&k, training);
  key_add (&k, float_bits (eps));
  key_md (&k, data);
  Prim *p = _ns_cpu_cache_lookup (cb, &k);
  return p != NULL ? p : _ns_cpu_cache_insert (cb, &k, bn_fwd_pd (cb, data, training, eps));
}

/* eps only enters through the variance the op rebuilds from save_invstd; oneDNN adds it
 * back */
#define BN_BWD_EPS 1e-5f

static Prim *
bn_bwd_prim (CpuBackend *cb, const dnnl_memory_desc_t *data, gboolean want_params)
{
  Key k = { .n = 0 };
  key_add (&k, K_BN_BWD);
  key_add (&k, want_params);
  key_md (&k, data);
  Prim *p = _ns_cpu_cache_lookup (cb, &k);
  if (p != NULL)
    return p;
  dnnl_primitive_desc_t hint = bn_fwd_pd (cb, data, TRUE, BN_BWD_EPS);
  dnnl_batch_normalization_desc_t d;
  dnnl_primitive_desc_t pd = NULL;
  if (hint == NULL
      || dnnl_batch_normalization_backward_desc_init (&d, want_params ? dnnl_backward
                                                                      : dnnl_backward_data,
                                                      data, data, BN_BWD_EPS,
                                                      dnnl_use_scale | dnnl_use_shift)
         != dnnl_success
      || dnnl_primitive_desc_create (&pd, &d, NULL, cb->engine, hint) != dnnl_success)
    pd = NULL;
  if (hint)
    dnnl_primitive_desc_destroy (hint);
  return _ns_cpu_cache_insert (cb, &k, pd);
}

void
_ns_cpu_batchnorm_forward (NsTensor *out, NsTensor *save_mean, NsTensor *save_invstd,
                           NsTensor *inp, NsTensor *gamma, NsTensor *beta,
                           NsTensor *running_mean, NsTensor *running_var,
                           gboolean training, float momentum, float eps)
{
  CpuBackend *cb = CB (out->backend);
  int C = inp->shape[1];
  dnnl_memory_desc_t data = CT (inp)->md;

  Prim *p = bn_fwd_prim (cb, &data, training, eps);
  if (p == NULL)
    {
      no_primitive (cb, "batch normalisation", inp);
      return;
    }

  dnnl_memory_desc_t vec = md_vec (C, dnnl_f32);
  float *mean, *var;
  if (training)
    {
      mean = _ns_cpu_scratch (cb, 2, C * sizeof (float));
      var = _ns_cpu_scratch (cb, 3, C * sizeof (float));
    }
  else
    {
      mean = _ns_cpu_plain_f32 (cb, running_mean);
      var = _ns_cpu_plain_f32 (cb, running_var);
    }
  void *scale = _ns_cpu_plain_f32 (cb, gamma);
  void *shift = _ns_cpu_plain_f32 (cb, beta);
  void *src = CT (inp)->data;
  Out o;
  if (!mean || !var || !scale || !shift || !_ns_cpu_out_begin (cb, &o, out, &data, 1))
    return;
  Arg a[] = {
    { DNNL_ARG_SRC, &data, src },
    { DNNL_ARG_DST, &o.md, o.ptr },
    { DNNL_ARG_SCALE, &vec, scale },
    { DNNL_ARG_SHIFT, &vec, shift },
    { DNNL_ARG_MEAN, &vec, mean },
    { DNNL_ARG_VARIANCE, &vec, var },
  };
  gboolean ok = _ns_cpu_run (cb, p->prim, 6, a);
  _ns_cpu_out_end (cb, &o);
  if (!ok || !training)
    return;

  /* oneDNN gives the biased variance; PyTorch's running_var takes the unbiased one. */
  double count = (double) inp->shape[0] * inp->shape[2] * inp->shape[3];
  double unbias = count > 1 ? count / (count - 1) : 1.0;
  float *sm = _ns_cpu_plain_f32 (cb, save_mean), *si = _ns_cpu_plain_f32 (cb, save_invstd);
  float *rm = _ns_cpu_plain_f32 (cb, running_mean), *rv = _ns_cpu_plain_f32 (cb, running_var);
  if (!sm || !si || !rm || !rv)
    return;
  for (int c = 0; c < C; c++)
    {
      sm[c] = mean[c];
      si[c] = (float) (1.0 / sqrt ((double) var[c] + eps));
      rm[c] = (1.0f - momentum) * rm[c] + momentum * mean[c];
      rv[c] = (float) ((1.0 - momentum) * rv[c] + momentum * var[c] * unbias);
    }
  _ns_cpu_bump (cb, save_mean);
  _ns_cpu_bump (cb, save_invstd);
  _ns_cpu_bump (cb, running_mean);
  _ns_cpu_bump (cb, running_var);
}

void
_ns_cpu_batchnorm_backward (NsTensor *dinp, NsTensor *dgamma, NsTensor *dbeta, NsTensor *dout,
                            NsTensor *inp, NsTensor *save_mean, NsTensor *save_invstd,
                            NsTensor *gamma)
{
  CpuBackend *cb = CB (dout->backend);
  int C = inp->shape[1];
  dnnl_memory_desc_t data = CT (inp)->md;
  const float eps = BN_BWD_EPS;
  gboolean want_params = dgamma != NULL || dbeta != NULL;

  Prim *p = bn_bwd_prim (cb, &data, want_params);
  if (p == NULL)
    {
      no_primitive (cb, "batch-normalisation backward", inp);
      return;
    }

  dnnl_memory_desc_t vec = md_vec (C, dnnl_f32);
  const float *invstd = _ns_cpu_plain_f32 (cb, save_invstd);
  float *var = _ns_cpu_scratch (cb, 2, C * sizeof (float));
  if (invstd == NULL || var == NULL)
    return;
  for (int c = 0; c < C; c++)
    var[c] = (float) (1.0 / ((double) invstd[c] * invstd[c]) - eps);
  float *dscale = _ns_cpu_scratch (cb, 3, C * sizeof (float));
  float *dshift = _ns_cpu_scratch (cb, 4, C * sizeof (float));
  void *mean = _ns_cpu_plain_f32 (cb, save_mean);
  void *scale = _ns_cpu_plain_f32 (cb, gamma);
  void *ddst = _ns_cpu_in_as (cb, dout, &data, 0);
  void *src = CT (inp)->data;
  /* oneDNN checks that a shift is passed (use_shift) though backward does not read it */
  float *shift = _ns_cpu_scratch (cb, 6, C * sizeof (float));
  if (!dscale || !dshift || !mean || !scale || !ddst || !shift)
    return;
  memset (shift, 0, C * sizeof (float));
  Out o;
  gboolean have_out = dinp != NULL;
  if (have_out && !_ns_cpu_out_begin (cb, &o, dinp, &data, 1))
    return;
  void *dsrc = have_out ? o.ptr : _ns_cpu_scratch (cb, 5, dnnl_memory_desc_get_size (&data));
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
  gboolean ok = _ns_cpu_run (cb, p->prim, want_params ? 9 : 7, a);
  if (have_out)
    _ns_cpu_out_end (cb, &o);
  if (!ok)
    return;
  if (dgamma)
    _ns_cpu_add_vec (cb, dgamma, dscale);
  if (dbeta)
    _ns_cpu_add_vec (cb, dbeta, dshift);
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

static Prim *
elt_fwd_prim (CpuBackend *cb, const dnnl_memory_desc_t *data, NsActivation act)
{
  Key k = { .n = 0 };
  key_add (&k, K_ELT_FWD);
  key_add (&k, act);
  key_md (&k, data);
  Prim *p = _ns_cpu_cache_lookup (cb, &k);
  if (p != NULL)
    return p;
  return _ns_cpu_cache_insert (cb, &k, act == NS_ACT_RELU
                                       ? elt_fwd_pd (cb, data, dnnl_eltwise_relu, 0.0f, 0.0f)
                                       : elt_fwd_pd (cb, data, dnnl_eltwise_clip, 0.0f, 6.0f));
}

/* Backward from the forward output (valid for both: out > 0 and out < 6 pass). */
static Prim *
elt_bwd_prim (CpuBackend *cb, const dnnl_memory_desc_t *data, NsActivation act)
{
  dnnl_alg_kind_t alg = act == NS_ACT_RELU ? dnnl_eltwise_relu_use_dst_for_bwd
                                           : dnnl_eltwise_clip_v2_use_dst_for_bwd;
  float hi = act == NS_ACT_RELU ? 0.0f : 6.0f;
  Key k = { .n = 0 };
  key_add (&k, K_ELT_BWD);
  key_add (&k, act);
  key_md (&k, data);
  Prim *p = _ns_cpu_cache_lookup (cb, &k);
  if (p != NULL)
    return p;
  dnnl_primitive_desc_t hint = elt_fwd_pd (cb, data, alg, 0.0f, hi);
  dnnl_eltwise_desc_t d;
  dnnl_primitive_desc_t pd = NULL;
  if (hint == NULL
      || dnnl_eltwise_backward_desc_init (&d, alg, data, data, 0.0f, hi) != dnnl_success
      || dnnl_primitive_desc_create (&pd, &d, NULL, cb->engine, hint) != dnnl_success)
    pd = NULL;
  if (hint)
    dnnl_primitive_desc_destroy (hint);
  return _ns_cpu_cache_insert (cb, &k, pd);
}

void
_ns_cpu_relu_forward (NsTensor *out, NsTensor *inp, NsActivation act)
{
  CpuBackend *cb = CB (out->backend);
  dnnl_memory_desc_t data = CT (inp)->md;
  Prim *p = elt_fwd_prim (cb, &data, act);
  if (p == NULL)
    {
      no_primitive (cb, "eltwise", inp);
      return;
    }
  void *src = CT (inp)->data;
  Out o;
  if (!_ns_cpu_out_begin (cb, &o, out, &data, 1))
    return;
  Arg a[] = { { DNNL_ARG_SRC, &data, src }, { DNNL_ARG_DST, &o.md, o.ptr } };
  _ns_cpu_run (cb, p->prim, 2, a);
  _ns_cpu_out_end (cb, &o);
}

void
_ns_cpu_relu_backward (NsTensor *dinp, NsTensor *dout, NsTensor *out, NsActivation act)
{
  CpuBackend *cb = CB (dout->backend);
  dnnl_memory_desc_t data = CT (out)->md;
  Prim *p = elt_bwd_prim (cb, &data, act);
  if (p == NULL)
    {
      no_primitive (cb, "eltwise backward", out);
      return;
    }
  void *ddst = _ns_cpu_in_as (cb, dout, &data, 0);
  void *dst = CT (out)->data;
  Out o;
  if (ddst == NULL || !_ns_cpu_out_begin (cb, &o, dinp, &data, 1))
    return;
  Arg a[] = {
    { DNNL_ARG_DST, &data, dst },
    { DNNL_ARG_DIFF_DST, &data, ddst },
    { DNNL_ARG_DIFF_SRC, &o.md, o.ptr },
  };
  _ns_cpu_run (cb, p->prim, 3, a);
  _ns_cpu_out_end (cb, &o);
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
  Prim *p = _ns_cpu_cache_lookup (cb, &k);
  return p != NULL ? p : _ns_cpu_cache_insert (cb, &k, pool_fwd_pd (cb, src));
}

static Prim *
pool_bwd_prim (CpuBackend *cb, const dnnl_memory_desc_t *src_md, Prim *fp)
{
  Key k = { .n = 0 };
  key_add (&k, K_POOL_BWD);
  key_md (&k, src_md);
  Prim *p = _ns_cpu_cache_lookup (cb, &k);
  if (p != NULL)
    return p;
  dnnl_memory_desc_t dsrc = md_with_dt (src_md, src_md->data_type);
  dnnl_dims_t two = { 2, 2 }, zero = { 0, 0 };
  dnnl_pooling_desc_t d;
  dnnl_primitive_desc_t pd = NULL;
  if (dnnl_pooling_backward_desc_init (&d, dnnl_pooling_max, &dsrc,
                                       pd_md (fp, dnnl_query_dst_md, 0), two, two, zero,
                                       zero) != dnnl_success
      || dnnl_primitive_desc_create (&pd, &d, NULL, cb->engine, fp->pd) != dnnl_success)
    pd = NULL;
  return _ns_cpu_cache_insert (cb, &k, pd);
}

void
_ns_cpu_maxpool2_forward (NsTensor *out, NsTensor *inp)
{
  CpuBackend *cb = CB (out->backend);
  dnnl_memory_desc_t src_md = CT (inp)->md;
  Prim *p = pool_fwd_prim (cb, &src_md);
  if (p == NULL)
    {
      no_primitive (cb, "max-pooling", inp);
      return;
    }
  const dnnl_memory_desc_t *dst_md = pd_md (p, dnnl_query_dst_md, 0);
  const dnnl_memory_desc_t *ws_md = pd_md (p, dnnl_query_workspace_md, 0);
  gsize ws_size = dnnl_memory_desc_get_size (ws_md);
  void *src = CT (inp)->data;
  Out o;
  if (!_ns_cpu_out_begin (cb, &o, out, dst_md, 1))
    return;
  CpuTensor *co = CT (out);
  if (co->ws_size < ws_size)
    {
      free (co->ws);
      co->ws = _ns_cpu_alloc (ws_size);
      co->ws_size = co->ws ? ws_size : 0;
    }
  Arg a[] = {
    { DNNL_ARG_SRC, &src_md, src },
    { DNNL_ARG_DST, &o.md, o.ptr },
    { DNNL_ARG_WORKSPACE, ws_md, co->ws },
  };
  if (co->ws == NULL)
    _ns_cpu_out_of_memory (cb, ws_size, "the max-pooling workspace");
  gboolean ok = co->ws != NULL && _ns_cpu_run (cb, p->prim, 3, a);
  _ns_cpu_out_end (cb, &o);
  /* the workspace is valid for this output version and this input layout */
  co->ws_version = ok ? co->version : 0;
  co->ws_src_md = src_md;
}

/* oneDNN's max-pool marks the first maximum of each window in row-major order (strict
 * greater-than while scanning), as the reference does; tests check it on ties. */
void
_ns_cpu_maxpool2_backward (NsTensor *dinp, NsTensor *dout, NsTensor *inp, NsTensor *out)
{
  CpuBackend *cb = CB (dout->backend);
  dnnl_memory_desc_t src_md = CT (inp)->md;
  Prim *fp = pool_fwd_prim (cb, &src_md);
  Prim *p = fp != NULL ? pool_bwd_prim (cb, &src_md, fp) : NULL;
  if (p == NULL)
    {
      no_primitive (cb, "max-pooling backward", inp);
      return;
    }
  const dnnl_memory_desc_t *fdst_md = pd_md (fp, dnnl_query_dst_md, 0);
  const dnnl_memory_desc_t *ws_md = pd_md (fp, dnnl_query_workspace_md, 0);

  CpuTensor *co = CT (out);
  void *ws = co->ws;
  if (ws == NULL || co->ws_version != co->version || !md_eq (&co->ws_src_md, &src_md)
      || co->ws_size < dnnl_memory_desc_get_size (ws_md))
    {
      /* out was not produced by our forward on this input: recompute the workspace */
      ws = _ns_cpu_scratch (cb, 2, dnnl_memory_desc_get_size (ws_md));
      void *tmp = _ns_cpu_scratch (cb, 3, dnnl_memory_desc_get_size (fdst_md));
      if (ws == NULL || tmp == NULL)
        return;
      Arg a[] = {
        { DNNL_ARG_SRC, &src_md, CT (inp)->data },
        { DNNL_ARG_DST, fdst_md, tmp },
        { DNNL_ARG_WORKSPACE, ws_md, ws },
      };
      if (!_ns_cpu_run (cb, fp->prim, 3, a))
        return;
    }
  const dnnl_memory_desc_t *ddst_md = pd_md (p, dnnl_query_diff_dst_md, 0);
  const dnnl_memory_desc_t *dsrc_md = pd_md (p, dnnl_query_diff_src_md, 0);
  void *ddst = _ns_cpu_in_as (cb, dout, ddst_md, 0);
  Out o;
  if (ddst == NULL || !_ns_cpu_out_begin (cb, &o, dinp, dsrc_md, 1))
    return;
  Arg a[] = {
    { DNNL_ARG_DIFF_DST, ddst_md, ddst },
    { DNNL_ARG_WORKSPACE, ws_md, ws },
    { DNNL_ARG_DIFF_SRC, &o.md, o.ptr },
  };
  _ns_cpu_run (cb, p->prim, 3, a);
  _ns_cpu_out_end (cb, &o);
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

static Prim *
res_fwd_prim (CpuBackend *cb, const dnnl_memory_desc_t *src_md)
{
  Key k = { .n = 0 };
  key_add (&k, K_RES_FWD);
  key_md (&k, src_md);
  Prim *p = _ns_cpu_cache_lookup (cb, &k);
  return p != NULL ? p : _ns_cpu_cache_insert (cb, &k, res_fwd_pd (cb, src_md));
}

static Prim *
res_bwd_prim (CpuBackend *cb, const dnnl_memory_desc_t *ddst_md)
{
  Key k = { .n = 0 };
  key_add (&k, K_RES_BWD);
  key_md (&k, ddst_md);
  Prim *p = _ns_cpu_cache_lookup (cb, &k);
  if (p != NULL)
    return p;
  dnnl_format_tag_t tag = md_guess_tag (ddst_md);
  dnnl_dims_t sd = { ddst_md->dims[0], ddst_md->dims[1], ddst_md->dims[2] / 2,
                     ddst_md->dims[3] / 2 };
  dnnl_memory_desc_t dsrc = md_tag (4, sd, ddst_md->data_type, tag);
  dnnl_primitive_desc_t hint = res_fwd_pd (cb, &dsrc);
  dnnl_resampling_desc_t d;
  dnnl_primitive_desc_t pd = NULL;
  if (hint == NULL
      || dnnl_resampling_backward_desc_init (&d, dnnl_resampling_nearest, NULL, &dsrc,
                                             ddst_md) != dnnl_success
      || dnnl_primitive_desc_create (&pd, &d, NULL, cb->engine, hint) != dnnl_success)
    pd = NULL;
  if (hint)
    dnnl_primitive_desc_destroy (hint);
  return _ns_cpu_cache_insert (cb, &k, pd);
}

void
_ns_cpu_upsample2_forward (NsTensor *out, NsTensor *inp)
{
  CpuBackend *cb = CB (out->backend);
  dnnl_memory_desc_t src_md = CT (inp)->md;
  Prim *p = res_fwd_prim (cb, &src_md);
  if (p == NULL)
    {
      no_primitive (cb, "resampling", inp);
      return;
    }
  void *src = CT (inp)->data;
  Out o;
  if (!_ns_cpu_out_begin (cb, &o, out, pd_md (p, dnnl_query_dst_md, 0), 1))
    return;
  Arg a[] = { { DNNL_ARG_SRC, &src_md, src }, { DNNL_ARG_DST, &o.md, o.ptr } };
  _ns_cpu_run (cb, p->prim, 2, a);
  _ns_cpu_out_end (cb, &o);
}

void
_ns_cpu_upsample2_backward (NsTensor *dinp, NsTensor *dout)
{
  CpuBackend *cb = CB (dout->backend);
  dnnl_memory_desc_t ddst_md = CT (dout)->md;
  Prim *p = res_bwd_prim (cb, &ddst_md);
  if (p == NULL)
    {
      no_primitive (cb, "resampling backward", dout);
      return;
    }
  void *ddst = CT (dout)->data;
  Out o;
  if (!_ns_cpu_out_begin (cb, &o, dinp, pd_md (p, dnnl_query_diff_src_md, 0), 1))
    return;
  Arg a[] = { { DNNL_ARG_DIFF_DST, &ddst_md, ddst }, { DNNL_ARG_DIFF_SRC, &o.md, o.ptr } };
  _ns_cpu_run (cb, p->prim, 2, a);
  _ns_cpu_out_end (cb, &o);
}

/* ---- concat --------------------------------------------------------------------------- */

/* The layouts the concat reads: a's, and b's unless its type differs (then plain NCHW
 * of a's type, which the op reorders b into). */
static void
concat_srcs (const NsTensor *a, const NsTensor *b, dnnl_memory_desc_t srcs[2])
{
  srcs[0] = CT (a)->md;
  srcs[1] = CT (b)->md;
  if (srcs[1].data_type != srcs[0].data_type)
    srcs[1] = md_nchw (b, srcs[0].data_type);
}

static Prim *
concat_prim (CpuBackend *cb, const NsTensor *out, const dnnl_memory_desc_t srcs[2])
{
  Key k = { .n = 0 };
  key_add (&k, K_CONCAT);
  key_md (&k, &srcs[0]);
  key_md (&k, &srcs[1]);
  Prim *p = _ns_cpu_cache_lookup (cb, &k);
  if (p != NULL)
    return p;
  /* the layout of the inputs (the convolution after wants it), not "any", which picks
   * plain NCHW as soon as one input is plain or has padded channel blocks */
  dnnl_memory_desc_t dst = md_4d_any (out->shape[0], out->shape[1], out->shape[2],
                                      out->shape[3], srcs[0].data_type);
  const dnnl_memory_desc_t *like = md_is_plain_nchw (&srcs[0]) ? &srcs[1] : &srcs[0];
  if (!md_is_plain_nchw (like))
    dst = md_tag (4, dst.dims, dst.data_type, md_guess_tag (like));
  dnnl_primitive_desc_t pd = NULL;
  if (dnnl_concat_primitive_desc_create (&pd, &dst, 2, 1, srcs, NULL, cb->engine)
      != dnnl_success)
    pd = NULL;
  return _ns_cpu_cache_insert (cb, &k, pd);
}

void
_ns_cpu_concat_forward (NsTensor *out, NsTensor *a, NsTensor *b)
{
  CpuBackend *cb = CB (out->backend);
  dnnl_memory_desc_t srcs[2];
  concat_srcs (a, b, srcs);
  Prim *p = concat_prim (cb, out, srcs);
  if (p == NULL)
    {
      no_primitive (cb, "concat", out);
      return;
    }
  void *pa = CT (a)->data, *pb = _ns_cpu_in_as (cb, b, &srcs[1], 0);
  if (pb == NULL)
    return;
  Out o;
  if (!_ns_cpu_out_begin (cb, &o, out, pd_md (p, dnnl_query_dst_md, 0), 1))
    return;
  Arg args[] = {
    { DNNL_ARG_MULTIPLE_SRC + 0, &srcs[0], pa },
    { DNNL_ARG_MULTIPLE_SRC + 1, &srcs[1], pb },
    { DNNL_ARG_DST, &o.md, o.ptr },
  };
  _ns_cpu_run (cb, p->prim, 3, args);
  _ns_cpu_out_end (cb, &o);
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
  if (!DNNL_OK (cb, dnnl_memory_desc_init_submemory (&smd, md, sub, off)))
    return;
  dnnl_memory_desc_t dmd = md_tag (4, sub, md->data_type, tag);
  Out o;
  if (!_ns_cpu_out_begin (cb, &o, d, &dmd, 1))
    return;
  _ns_cpu_reorder (cb, &smd, base, &o.md, o.ptr, FALSE);
  _ns_cpu_out_end (cb, &o);
}

void
_ns_cpu_concat_backward (NsTensor *da, NsTensor *db, NsTensor *dout)
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
      base = _ns_cpu_in_as (cb, dout, &nhwc, 0);
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

/* out = src0 + src1, all three in src0's layout (b is reordered into it). */
static Prim *
binary_prim (CpuBackend *cb, const dnnl_memory_desc_t *md)
{
  Key k = { .n = 0 };
  key_add (&k, K_BINARY);
  key_md (&k, md);
  Prim *p = _ns_cpu_cache_lookup (cb, &k);
  if (p != NULL)
    return p;
  dnnl_binary_desc_t d;
  dnnl_primitive_desc_t pd = NULL;
  if (dnnl_binary_desc_init (&d, dnnl_binary_add, md, md, md) != dnnl_success
      || dnnl_primitive_desc_create (&pd, &d, NULL, cb->engine, NULL) != dnnl_success)
    pd = NULL;
  return _ns_cpu_cache_insert (cb, &k, pd);
}

/* The operand that is not overwritten goes second (in place on src0). */
static void
add_operands (NsTensor *out, NsTensor **a, NsTensor **b)
{
  if (out == *b && out != *a)
    {
      NsTensor *t = *a;
      *a = *b;
      *b = t;
    }
}

void
_ns_cpu_add_forward (NsTensor *out, NsTensor *a, NsTensor *b)
{
  CpuBackend *cb = CB (out->backend);
  add_operands (out, &a, &b);
  dnnl_memory_desc_t md = CT (a)->md;
  Prim *p = binary_prim (cb, &md);
  if (p == NULL)
    {
      no_primitive (cb, "binary add", out);
      return;
    }
  void *pa = CT (a)->data;
  void *pb = _ns_cpu_in_as (cb, b, &md, 0);
  Out o;
  if (pb == NULL || !_ns_cpu_out_begin (cb, &o, out, &md, 1))
    return;
  Arg args[] = {
    { DNNL_ARG_SRC_0, &md, pa },
    { DNNL_ARG_SRC_1, &md, pb },
    { DNNL_ARG_DST, &o.md, o.ptr },
  };
  _ns_cpu_run (cb, p->prim, 3, args);
  _ns_cpu_out_end (cb, &o);
}

/* ---- softmax over channels -------------------------------------------------------------- */

/* The logits' layout, in f32 (the probabilities are f32). */
static dnnl_memory_desc_t
softmax_md (const NsTensor *logits)
{
  dnnl_memory_desc_t md = CT (logits)->md;
  return md.data_type != dnnl_f32 ? md_with_dt (&md, dnnl_f32) : md;
}

static Prim *
softmax_prim (CpuBackend *cb, const dnnl_memory_desc_t *md)
{
  Key k = { .n = 0 };
  key_add (&k, K_SOFTMAX);
  key_md (&k, md);
  Prim *p = _ns_cpu_cache_lookup (cb, &k);
  if (p != NULL)
    return p;
  dnnl_softmax_desc_t d;
  dnnl_primitive_desc_t pd = NULL;
  if (dnnl_softmax_forward_desc_init (&d, dnnl_forward_inference, md, 1) != dnnl_success
      || dnnl_primitive_desc_create (&pd, &d, NULL, cb->engine, NULL) != dnnl_success)
    pd = NULL;
  return _ns_cpu_cache_insert (cb, &k, pd);
}

void
_ns_cpu_softmax_forward (NsTensor *probs, NsTensor *logits)
{
  CpuBackend *cb = CB (probs->backend);
  dnnl_memory_desc_t md = softmax_md (logits);
  Prim *p = softmax_prim (cb, &md);
  if (p == NULL)
    {
      no_primitive (cb, "softmax", logits);
      return;
    }
  void *src = _ns_cpu_in_as (cb, logits, &md, 0);
  Out o;
  if (src == NULL || !_ns_cpu_out_begin (cb, &o, probs, &md, 1))
    return;
  Arg a[] = { { DNNL_ARG_SRC, &md, src }, { DNNL_ARG_DST, &o.md, o.ptr } };
  _ns_cpu_run (cb, p->prim, 2, a);
  _ns_cpu_out_end (cb, &o);
}

/* ---- supports_op ------------------------------------------------------------------------ */

gboolean
_ns_cpu_layers_supports (CpuBackend *cb, const NsOpDesc *d)
{
  NsTensor *const *t = d->args;
  dnnl_memory_desc_t md;

  switch (d->op)
    {
    case NS_OP_BATCHNORM:
      /* forward (out, save_mean, save_invstd, inp, ...); backward (dinp, dgamma, dbeta,
       * dout, inp, gamma) */
      if (!d->backward)
        return bn_fwd_prim (cb, &CT (t[3])->md, d->training, d->eps) != NULL;
      return bn_bwd_prim (cb, &CT (t[4])->md, t[1] != NULL || t[2] != NULL) != NULL;
    case NS_OP_RELU:
      /* forward (out, inp); backward (dinp, dout, out) */
      return d->backward ? elt_bwd_prim (cb, &CT (t[2])->md, d->act) != NULL
                         : elt_fwd_prim (cb, &CT (t[1])->md, d->act) != NULL;
    case NS_OP_MAXPOOL2:
      {
        /* forward (out, inp); backward (dinp, dout, inp, out) */
        md = CT (d->backward ? t[2] : t[1])->md;
        Prim *fp = pool_fwd_prim (cb, &md);
        return fp != NULL && (!d->backward || pool_bwd_prim (cb, &md, fp) != NULL);
      }
    case NS_OP_UPSAMPLE2:
      /* forward (out, inp); backward (dinp, dout) */
      return d->backward ? res_bwd_prim (cb, &CT (t[1])->md) != NULL
                         : res_fwd_prim (cb, &CT (t[1])->md) != NULL;
    case NS_OP_CONCAT:
      {
        /* forward (out, a, b); backward: reorders only */
        dnnl_memory_desc_t srcs[2];
        if (d->backward)
          return TRUE;
        concat_srcs (t[1], t[2], srcs);
        return concat_prim (cb, t[0], srcs) != NULL;
      }
    case NS_OP_ADD:
      {
        NsTensor *a = t[1], *b = t[2];
        add_operands (t[0], &a, &b);
        return binary_prim (cb, &CT (a)->md) != NULL;
      }
    case NS_OP_SOFTMAX:
      md = softmax_md (t[1]);
      return softmax_prim (cb, &md) != NULL;
    case NS_OP_CONV2D:
    case NS_OP_CONV2D_FUSED_ACT:
    case NS_OP_CONVT2:
    case NS_OP_DROPOUT:
    case NS_OP_SOFTMAX_DICE_CE:
    case NS_OP_ADAM:
    case NS_OP_BF16:
    case NS_N_OPS:
    default:
      return TRUE;
    }
}
