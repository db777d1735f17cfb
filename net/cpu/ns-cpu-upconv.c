/* SPDX-License-Identifier: MIT
 *
 * ns-cpu-upconv.c: ns_upconv2_forward on oneDNN, the decoder's nearest x2 upsample,
 * concatenation with the skip and 3x3 convolution in one op, without the upsampled and
 * concatenated tensors.
 *
 * Upsampled part.  Output row 2i + a of a 3x3 convolution (pad 1) on a nearest x2
 * upsampled input reads input rows i - 1, i (a = 0: kernel rows 0 and 1 + 2) or i, i + 1
 * (a = 1: kernel rows 0 + 1 and 2), and the same for columns.  So each of the four output
 * phases (a, b) is a 2x2 convolution of the H x W input with summed kernel taps: 16
 * multiply-adds per output and input channel instead of 36, exact but for the rounding
 * of the summed taps.  The four phases run as one oneDNN convolution with 4 K outputs
 * (2x2 kernel, pad 1: (H + 1) x (W + 1) outputs, phase (a, b) at (i + a, j + b)); a loop
 * interleaves them into the output (adding the bias and applying the activation when
 * there is no skip).
 *
 * Skip part.  A 3x3 convolution of the skip with the weights' last Cs input channels,
 * the bias, and the post-ops sum (the interleaved phases already in the output) then the
 * activation.
 *
 * fp32 only: for bf16 the dispatcher composes the three ops (ns-backend.c).
 */
#define G_LOG_DOMAIN "neuroseg-net"

#include "ns-config.h"
#include "ns-cpu-private.h"

#include <string.h>

/* Phase outputs are padded to a multiple of the widest channel block, so that each
 * phase starts on a block. */
#define PHASE_ALIGN 16

typedef struct
{
  int N, Ci, Cs, K, Kp, h, w;   /* input h x w; output 2h x 2w; Kp: K padded */
  gboolean bias;
  NsActivation act;
} UpGeom;

static void
up_geom (UpGeom *g, NsTensor *out, NsTensor *inp, NsTensor *skip, NsTensor *bias,
         NsActivation act)
{
  memset (g, 0, sizeof *g);
  g->N = inp->shape[0];
  g->Ci = inp->shape[1];
  g->h = inp->shape[2];
  g->w = inp->shape[3];
  g->Cs = skip != NULL ? skip->shape[1] : 0;
  g->K = out->shape[1];
  g->Kp = (g->K + PHASE_ALIGN - 1) / PHASE_ALIGN * PHASE_ALIGN;
  g->bias = bias != NULL;
  g->act = act;
}

static void
up_key (Key *k, KeyKind kind, const UpGeom *g, const dnnl_memory_desc_t *in_md)
{
  const int v[] = { g->N, g->Ci, g->Cs, g->K, g->h, g->w, g->bias, g->act };
  key_add (k, kind);
  for (guint i = 0; i < G_N_ELEMENTS (v); i++)
    key_add (k, v[i]);
  key_md (k, in_md);
}

/* The input's layout when a primitive may take it as is (produced blocked f32), else
 * "any". */
static dnnl_memory_desc_t
src_md_for (const dnnl_memory_desc_t *have, int n, int c, int h, int w)
{
  if (have->data_type == dnnl_f32 && have->format_kind == dnnl_blocked
      && !md_is_plain_nchw (have))
    return *have;
  return md_4d_any (n, c, h, w, dnnl_f32);
}

static dnnl_primitive_desc_t
conv_pd_make (CpuBackend *cb, const dnnl_memory_desc_t *src, const dnnl_memory_desc_t *wei,
              const dnnl_memory_desc_t *bias, const dnnl_memory_desc_t *dst, int pad,
              gboolean sum, NsActivation act)
{
  dnnl_dims_t strides = { 1, 1 }, padding = { pad, pad };
  dnnl_convolution_desc_t d;
  if (dnnl_convolution_forward_desc_init (&d, dnnl_forward_inference, dnnl_convolution_direct,
                                          src, wei, bias, dst, strides, padding, padding)
      != dnnl_success)
    return NULL;
  dnnl_primitive_attr_t attr = NULL;
  if (sum || act != NS_ACT_NONE)
    {
      dnnl_post_ops_t po;
      dnnl_primitive_attr_create (&attr);
      dnnl_post_ops_create (&po);
      if (sum)
        dnnl_post_ops_append_sum (po, 1.0f);
      if (act == NS_ACT_RELU)
        dnnl_post_ops_append_eltwise (po, 1.0f, dnnl_eltwise_relu, 0.0f, 0.0f);
      else if (act == NS_ACT_RELU6)
        dnnl_post_ops_append_eltwise (po, 1.0f, dnnl_eltwise_clip, 0.0f, 6.0f);
      dnnl_primitive_attr_set_post_ops (attr, po);
      dnnl_post_ops_destroy (po);
    }
  dnnl_primitive_desc_t pd = NULL;
  dnnl_status_t s = dnnl_primitive_desc_create (&pd, &d, attr, cb->engine, NULL);
  if (attr)
    dnnl_primitive_attr_destroy (attr);
  return s == dnnl_success ? pd : NULL;
}

/* The four phases: (N, Ci, h, w) -> (N, 4 Kp, h + 1, w + 1), 2x2 kernel, pad 1. */
static Prim *
phases_prim (CpuBackend *cb, const UpGeom *g, const dnnl_memory_desc_t *inp_md)
{
  Key k = { .n = 0 };
  up_key (&k, K_UPCONV_PHASES, g, inp_md);
  Prim *p = _ns_cpu_cache_lookup (cb, &k);
  if (p != NULL)
    return p;
  dnnl_memory_desc_t src = src_md_for (inp_md, g->N, g->Ci, g->h, g->w);
  dnnl_memory_desc_t dst = md_4d_any (g->N, 4 * g->Kp, g->h + 1, g->w + 1, dnnl_f32);
  dnnl_dims_t wd = { 4 * g->Kp, g->Ci, 2, 2 };
  dnnl_memory_desc_t wei = md_tag (4, wd, dnnl_f32, dnnl_format_tag_any);
  return _ns_cpu_cache_insert (cb, &k, conv_pd_make (cb, &src, &wei, NULL, &dst, 1, FALSE,
                                                     NS_ACT_NONE));
}

/* The skip part, writing dst_md (the output's layout), summing into it. */
static Prim *
skip_prim (CpuBackend *cb, const UpGeom *g, const dnnl_memory_desc_t *skip_md,
           const dnnl_memory_desc_t *dst_md)
{
  Key k = { .n = 0 };
  up_key (&k, K_UPCONV_SKIP, g, skip_md);
  key_md (&k, dst_md);
  Prim *p = _ns_cpu_cache_lookup (cb, &k);
  if (p != NULL)
    return p;
  dnnl_memory_desc_t src = src_md_for (skip_md, g->N, g->Cs, 2 * g->h, 2 * g->w);
  dnnl_dims_t wd = { g->K, g->Cs, 3, 3 };
  dnnl_memory_desc_t wei = md_tag (4, wd, dnnl_f32, dnnl_format_tag_any);
  dnnl_memory_desc_t bias = md_vec (g->K, dnnl_f32);
  return _ns_cpu_cache_insert (cb, &k, conv_pd_make (cb, &src, &wei, g->bias ? &bias : NULL,
                                                     dst_md, 1, TRUE, g->act));
}

/* ---- layouts the interleaving loop walks ------------------------------------------------- */

/* A 4-D f32 layout with at most one inner block, on the channels: element (n, c, y, x) at
 * off0 + n sn + (c / blk) sc + y sh + x sw + c % blk. */
typedef struct
{
  gint64 off0, sn, sc, sh, sw;
  int blk;
} Lay;

static gboolean
lay_of (const dnnl_memory_desc_t *md, Lay *l)
{
  if (md->format_kind != dnnl_blocked || md->ndims != 4 || md->data_type != dnnl_f32)
    return FALSE;
  const dnnl_blocking_desc_t *b = &md->format_desc.blocking;
  if (b->inner_nblks > 1 || (b->inner_nblks == 1 && b->inner_idxs[0] != 1))
    return FALSE;
  l->blk = b->inner_nblks == 1 ? (int) b->inner_blks[0] : 1;
  l->off0 = md->offset0;
  l->sn = b->strides[0];
  l->sc = b->strides[1];
  l->sh = b->strides[2];
  l->sw = b->strides[3];
  return PHASE_ALIGN % l->blk == 0;
}

/* The output's layout: the phases' format for the output's sizes. */
static gboolean
out_md_for (const UpGeom *g, const dnnl_memory_desc_t *phases_md, dnnl_memory_desc_t *out_md)
{
  Lay l;
  if (!lay_of (phases_md, &l))
    return FALSE;
  dnnl_dims_t d = { g->N, g->K, 2 * g->h, 2 * g->w };
  *out_md = md_tag (4, d, dnnl_f32, md_guess_tag (phases_md));
  Lay o;
  return lay_of (out_md, &o) && o.blk == l.blk;
}

static inline float
activate (float v, NsActivation act)
{
  if (act == NS_ACT_NONE)
    return v;
  v = v > 0.0f ? v : 0.0f;
  return act == NS_ACT_RELU6 && v > 6.0f ? 6.0f : v;
}

/* out (n, k, 2i + a, 2j + b) = phases (n, (2a + b) Kp + k, i + a, j + b) [+ bias, act]. */
static void
interleave (const UpGeom *g, const float *ph, const Lay *pl, float *out, const Lay *ol,
            const float *bias, NsActivation act)
{
  const int B = ol->blk, nb = (g->K + B - 1) / B;
  float zero[PHASE_ALIGN] = { 0 };
  for (int n = 0; n < g->N; n++)
    for (int cb = 0; cb < nb; cb++)
      {
        const float *bb = bias != NULL ? bias + cb * B : zero;
        int valid = MIN (B, g->K - cb * B);   /* the last block's padding stays 0 */
        for (int y = 0; y < 2 * g->h; y++)
          {
            int i = y / 2, a = y % 2;
            float *orow = out + ol->off0 + n * ol->sn + cb * ol->sc + y * ol->sh;
            for (int x = 0; x < 2 * g->w; x++)
              {
                int j = x / 2, b = x % 2;
                const float *src = ph + pl->off0 + n * pl->sn
                                   + ((2 * a + b) * g->Kp / B + cb) * pl->sc
                                   + (i + a) * pl->sh + (j + b) * pl->sw;
                float *dst = orow + x * ol->sw;
                if (bias != NULL || act != NS_ACT_NONE)
                  for (int c = 0; c < valid; c++)
                    dst[c] = activate (src[c] + bb[c], act);
                else
                  memcpy (dst, src, valid * sizeof (float));
                for (int c = valid; c < B; c++)
                  dst[c] = 0.0f;
              }
          }
      }
}

/* ---- weights ------------------------------------------------------------------------------ */

typedef struct
{
  const UpGeom *g;
  int C;                        /* the weight's input channels, Ci + Cs */
} DeriveArgs;

/* Phase (a, b) kernel row u of the 2x2 kernel sums 3x3 kernel rows: */
static const int tap_first[2][2] = { { 0, 1 }, { 0, 2 } };   /* [a][u] first row */
static const int tap_last[2][2] = { { 0, 2 }, { 1, 2 } };    /* [a][u] last row */

/* (4 Kp, Ci, 2, 2) plain: output channel (2a + b) Kp + k; zero for k >= K. */
static void
derive_phases (const float *w, float *dst, gpointer user)
{
  const DeriveArgs *d = user;
  const UpGeom *g = d->g;
  memset (dst, 0, sizeof (float) * 4 * g->Kp * g->Ci * 4);
  for (int a = 0; a < 2; a++)
    for (int b = 0; b < 2; b++)
      for (int k = 0; k < g->K; k++)
        for (int c = 0; c < g->Ci; c++)
          {
            const float *src = w + ((gsize) k * d->C + c) * 9;
            float *o = dst + (((gsize) (2 * a + b) * g->Kp + k) * g->Ci + c) * 4;
            for (int u = 0; u < 2; u++)
              for (int v = 0; v < 2; v++)
                {
                  double s = 0;
                  for (int r = tap_first[a][u]; r <= tap_last[a][u]; r++)
                    for (int q = tap_first[b][v]; q <= tap_last[b][v]; q++)
                      s += src[r * 3 + q];
                  o[u * 2 + v] = (float) s;
                }
          }
}

/* ---- the op --------------------------------------------------------------------------------- */

gboolean
_ns_cpu_upconv2_supports (CpuBackend *cb, const NsOpDesc *d)
{
  if (cb->act_dt != dnnl_f32)
    return FALSE;
  NsTensor *out = d->args[0], *inp = d->args[1], *skip = d->args[2], *bias = d->args[4];
  UpGeom g;
  up_geom (&g, out, inp, skip, bias, d->act);
  Prim *p = phases_prim (cb, &g, &CT (inp)->md);
  dnnl_memory_desc_t out_md;
  if (p == NULL || !out_md_for (&g, pd_md (p, dnnl_query_dst_md, 0), &out_md))
    return FALSE;
  return skip == NULL || skip_prim (cb, &g, &CT (skip)->md, &out_md) != NULL;
}

void
_ns_cpu_upconv2_forward (NsTensor *out, NsTensor *inp, NsTensor *skip, NsTensor *weight,
                         NsTensor *bias, NsActivation act)
{
  CpuBackend *cb = CB (out->backend);
  UpGeom g;
  up_geom (&g, out, inp, skip, bias, act);

  Prim *pp = phases_prim (cb, &g, &CT (inp)->md);
  dnnl_memory_desc_t out_md;
  Lay pl, ol;
  if (pp == NULL || !out_md_for (&g, pd_md (pp, dnnl_query_dst_md, 0), &out_md))
    {
      _ns_backend_fail (cb->be, NS_NET_ERROR_UNSUPPORTED, "oneDNN: no fused upsample and "
                        "convolution for %dx%dx%dx%d, %d outputs", g.N, g.Ci, g.h, g.w, g.K);
      return;
    }
  Prim *ps = skip != NULL ? skip_prim (cb, &g, &CT (skip)->md, &out_md) : NULL;
  if (skip != NULL && ps == NULL)
    {
      _ns_backend_fail (cb->be, NS_NET_ERROR_UNSUPPORTED, "oneDNN: no 3x3 convolution of "
                        "the skip %dx%dx%dx%d, %d outputs", g.N, g.Cs, 2 * g.h, 2 * g.w, g.K);
      return;
    }
  const dnnl_memory_desc_t *src_md = pd_md (pp, dnnl_query_src_md, 0);
  const dnnl_memory_desc_t *pw_md = pd_md (pp, dnnl_query_weights_md, 0);
  const dnnl_memory_desc_t *ph_md = pd_md (pp, dnnl_query_dst_md, 0);
  lay_of (ph_md, &pl);
  lay_of (&out_md, &ol);

  int C = g.Ci + g.Cs;
  dnnl_dims_t pwd = { 4 * g.Kp, g.Ci, 2, 2 };
  dnnl_memory_desc_t pw_plain = md_tag (4, pwd, dnnl_f32, dnnl_oihw);
  DeriveArgs da = { &g, C };
  void *src = _ns_cpu_in_as (cb, inp, src_md, 0);
  void *pw = _ns_cpu_weights_derived (cb, weight, derive_phases, &da, &pw_plain, pw_md);
  float *ph = _ns_cpu_scratch (cb, 5, dnnl_memory_desc_get_size (ph_md));
  float *b = bias != NULL ? _ns_cpu_plain_f32 (cb, bias) : NULL;
  if (src == NULL || pw == NULL || ph == NULL || (bias != NULL && b == NULL))
    return;
  Arg pa[] = {
    { DNNL_ARG_SRC, src_md, src },
    { DNNL_ARG_WEIGHTS, pw_md, pw },
    { DNNL_ARG_DST, ph_md, ph },
  };
  if (!_ns_cpu_run (cb, pp->prim, 3, pa))
    return;

  void *ssrc = NULL, *sw = NULL;
  const dnnl_memory_desc_t *ssrc_md = NULL, *sw_md = NULL;
  if (skip != NULL)
    {
      /* the weights' input channels Ci .. C - 1, in place in the (K, C, 3, 3) tensor */
      dnnl_dims_t swd = { g.K, g.Cs, 3, 3 }, sws = { (dnnl_dim_t) C * 9, 9, 3, 1 };
      dnnl_memory_desc_t sw_plain;
      dnnl_memory_desc_init_by_strides (&sw_plain, 4, swd, dnnl_f32, sws);
      sw_plain.offset0 = (dnnl_dim_t) g.Ci * 9;
      ssrc_md = pd_md (ps, dnnl_query_src_md, 0);
      sw_md = pd_md (ps, dnnl_query_weights_md, 0);
      ssrc = _ns_cpu_in_as (cb, skip, ssrc_md, 2);
      sw = _ns_cpu_weights_as (cb, weight, &sw_plain, sw_md);
      if (ssrc == NULL || sw == NULL)
        return;
    }
  Out o;
  if (!_ns_cpu_out_begin (cb, &o, out, &out_md, 1))
    return;
  /* with a skip, the bias and the activation come with its convolution */
  interleave (&g, ph, &pl, o.ptr, &ol, skip != NULL ? NULL : b,
              skip != NULL ? NS_ACT_NONE : act);
  if (skip != NULL)
    {
      dnnl_memory_desc_t bias_md = md_vec (g.K, dnnl_f32);
      Arg sa[] = {
        { DNNL_ARG_SRC, ssrc_md, ssrc },
        { DNNL_ARG_WEIGHTS, sw_md, sw },
        { DNNL_ARG_DST, &o.md, o.ptr },
        { DNNL_ARG_BIAS, &bias_md, b },
      };
      _ns_cpu_run (cb, ps->prim, bias != NULL ? 4 : 3, sa);
    }
  _ns_cpu_out_end (cb, &o);
}
