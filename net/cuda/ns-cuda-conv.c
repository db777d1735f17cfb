/* SPDX-License-Identifier: MIT
 *
 * ns-cuda-conv.c: the convolution family of the CUDA backend: conv2d (dense, grouped,
 * depthwise, strided) forward and backward, and the 2x2 stride-2 transposed convolution.
 *
 * All of it is three cuDNN calls in different roles (ns-cuda-dnn.c): the transposed
 * convolution's forward pass is the backward-data pass of the convolution whose filter is
 * its weight (C, K, 2, 2) read as (K' = C, C' = K), its input gradient is that
 * convolution's forward pass and its weight gradient the backward-filter pass with the
 * roles of input and output swapped.  Bias and activation follow in one elementwise pass;
 * bias gradients are an own per-channel reduction (ns-cuda-eltwise.cu).
 *
 * bf16 mode converts the two inputs of each call to bf16 NHWC scratch buffers (one pass
 * that also transposes), runs cuDNN on tensor cores with fp32 accumulation, and widens the
 * result back to float32 NCHW (adding it for weight gradients, which accumulate); when
 * cuDNN has no bf16 algorithm for a shape, that shape runs in fp32.
 */
#define G_LOG_DOMAIN "neuroseg-net"

#include "ns-cuda-private.h"

typedef enum
{
  ROLE_FORWARD,          /* c (y) = conv (a (x), b (w)) */
  ROLE_BACKWARD_DATA,    /* c (dx) = conv^T (a (dy), b (w)) */
  ROLE_BACKWARD_FILTER,  /* c (dw) = corr (a (x), b (dy)) */
} Role;

static gboolean
dnn_call (NsCudaBackend *cb, Role role, const NsCudaConvGeom *g, const void *a, const void *b,
          void *c, float beta)
{
  switch (role)
    {
    case ROLE_FORWARD:
      return _ns_cuda_dnn_conv_forward (cb, g, a, b, c, beta);
    case ROLE_BACKWARD_DATA:
      return _ns_cuda_dnn_conv_backward_data (cb, g, a, b, c, beta);
    case ROLE_BACKWARD_FILTER:
    default:
      return _ns_cuda_dnn_conv_backward_filter (cb, g, a, b, c, beta);
    }
}

static gboolean
is_aligned (const void *p)
{
  return ((guintptr) p & 15) == 0;
}

/* p, or a copy of its n floats in scratch slot `slot` when p is not 16-byte aligned. */
static const float *
aligned_input (NsCudaBackend *cb, int slot, const float *p, gsize n)
{
  if (is_aligned (p))
    return p;
  float *copy = _ns_cuda_scratch (cb, slot, n * sizeof (float));
  if (copy == NULL
      || !_ns_cuda_check (cb, cudaMemcpyAsync (copy, p, n * sizeof (float),
                                               cudaMemcpyDeviceToDevice, cb->stream),
                          "aligned copy"))
    return NULL;
  return copy;
}

/* The shape of operand 0 (a), 1 (b) or 2 (c) of a role, as x, w or y of the geometry. */
static const int *
operand_shape (const NsCudaConvGeom *g, Role role, int operand)
{
  static const int which[3][3] = {
    { 0, 1, 2 },   /* forward: x, w -> y */
    { 2, 1, 0 },   /* backward data: dy, w -> dx */
    { 0, 2, 1 },   /* backward filter: x, dy -> dw */
  };
  switch (which[role][operand])
    {
    case 0:
      return g->x;
    case 1:
      return g->w;
    default:
      return g->y;
    }
}

/* c = op (a, b), or c += op (a, b) when accumulate; na, nb, nc: element counts. */
static gboolean
conv_call (NsBackend *be, Role role, NsCudaConvGeom *g, const float *a, gsize na,
           const float *b, gsize nb, float *c, gsize nc, gboolean accumulate)
{
  NsCudaBackend *cb = ns_cuda_get (be);

  if (be->precision == NS_PRECISION_BF16)
    {
      /* bf16 copies in NHWC (filters: K, kh, kw, C/groups), the layout of cuDNN's
       * tensor-core kernels; the result goes back to float32 NCHW. */
      const int *sa = operand_shape (g, role, 0), *sb = operand_shape (g, role, 1);
      const int *sc = operand_shape (g, role, 2);
      void *a16 = _ns_cuda_scratch (cb, 0, na * 2);
      void *b16 = _ns_cuda_scratch (cb, 1, nb * 2);
      void *c16 = _ns_cuda_scratch (cb, 2, nc * 2);
      if (a16 == NULL || b16 == NULL || c16 == NULL)
        return FALSE;
      if (!_ns_cuda_check (cb, ns_cuda_to_nhwc_bf16 (a16, a, sa[0], sa[1],
                                                     (size_t) sa[2] * sa[3], cb->stream),
                           "to bf16")
          || !_ns_cuda_check (cb, ns_cuda_to_nhwc_bf16 (b16, b, sb[0], sb[1],
                                                        (size_t) sb[2] * sb[3], cb->stream),
                              "to bf16"))
        return FALSE;
      g->bf16 = TRUE;
      if (dnn_call (cb, role, g, a16, b16, c16, 0.0f))
        return _ns_cuda_check (cb, ns_cuda_from_nhwc_bf16 (c, c16, sc[0], sc[1],
                                                           (size_t) sc[2] * sc[3], accumulate,
                                                           cb->stream),
                               "from bf16");
      /* No bf16 algorithm for this shape: fp32 below. */
    }

  /* fp32: cuDNN's vectorised kernels want 16-byte aligned tensors, and views into the
   * flat parameter tensor may start anywhere: those go through aligned scratch copies. */
  g->bf16 = FALSE;
  const float *a32 = aligned_input (cb, 0, a, na);
  const float *b32 = aligned_input (cb, 1, b, nb);
  float *c32 = is_aligned (c) ? c : _ns_cuda_scratch (cb, 2, nc * sizeof (float));
  if (a32 == NULL || b32 == NULL || c32 == NULL)
    return FALSE;
  if (c32 != c && accumulate
      && !_ns_cuda_check (cb, cudaMemcpyAsync (c32, c, nc * sizeof (float),
                                               cudaMemcpyDeviceToDevice, cb->stream),
                          "aligned copy"))
    return FALSE;
  if (dnn_call (cb, role, g, a32, b32, c32, accumulate ? 1.0f : 0.0f))
    return c32 == c || _ns_cuda_check (cb, cudaMemcpyAsync (c, c32, nc * sizeof (float),
                                                            cudaMemcpyDeviceToDevice,
                                                            cb->stream), "aligned copy");
  _ns_backend_fail (cb->be, NS_NET_ERROR_UNSUPPORTED,
                    "cuDNN has no algorithm for convolution pass %d: x %dx%dx%dx%d, "
                    "w %dx%dx%dx%d, y %dx%dx%dx%d, stride %d, pad %d, groups %d (last: %s)",
                    role, g->x[0], g->x[1], g->x[2], g->x[3], g->w[0], g->w[1], g->w[2],
                    g->w[3], g->y[0], g->y[1], g->y[2], g->y[3], g->stride, g->pad, g->groups,
                    cudnnGetErrorString (cb->last_dnn_status));
  return FALSE;
}

static void
bias_grad (NsCudaBackend *cb, NsTensor *dbias, NsTensor *dout)
{
  _ns_cuda_check (cb, ns_cuda_bias_grad (ns_cuda_ptr (dbias), ns_cuda_ptr (dout), dout->shape[0],
                                         dout->shape[1],
                                         (size_t) dout->shape[2] * dout->shape[3], cb->stream),
                  "bias gradient");
}

static void
geom_set (NsCudaConvGeom *g, const int x[4], const int w[4], const int y[4], int stride,
          int pad, int groups)
{
  for (int d = 0; d < 4; d++)
    {
      g->x[d] = x[d];
      g->w[d] = w[d];
      g->y[d] = y[d];
    }
  g->stride = stride;
  g->pad = pad;
  g->groups = groups;
  g->bf16 = FALSE;
}

void
_ns_cuda_conv2d_forward (NsTensor *out, NsTensor *inp, NsTensor *weight, NsTensor *bias,
                         const NsConv2dParams *p)
{
  NsCudaBackend *cb = ns_cuda_get (out->backend);
  NsCudaConvGeom g;

  geom_set (&g, inp->shape, weight->shape, out->shape, p->stride, p->pad, p->groups);
  if (!conv_call (out->backend, ROLE_FORWARD, &g, ns_cuda_ptr (inp), inp->n,
                  ns_cuda_ptr (weight), weight->n, ns_cuda_ptr (out), out->n, FALSE))
    return;
  _ns_cuda_check (cb, ns_cuda_bias_act (ns_cuda_ptr (out), ns_cuda_ptr (bias), out->n,
                                        out->shape[1],
                                        (size_t) out->shape[2] * out->shape[3], p->act,
                                        cb->stream),
                  "conv2d bias and activation");
}

void
_ns_cuda_conv2d_backward (NsTensor *dinp, NsTensor *dweight, NsTensor *dbias, NsTensor *dout,
                          NsTensor *inp, NsTensor *weight, const NsConv2dParams *p)
{
  NsCudaBackend *cb = ns_cuda_get (dout->backend);
  NsCudaConvGeom g;

  geom_set (&g, inp->shape, weight->shape, dout->shape, p->stride, p->pad, p->groups);
  if (dbias != NULL)
    bias_grad (cb, dbias, dout);
  if (dinp != NULL)
    conv_call (dout->backend, ROLE_BACKWARD_DATA, &g, ns_cuda_ptr (dout), dout->n,
               ns_cuda_ptr (weight), weight->n, ns_cuda_ptr (dinp), dinp->n, FALSE);
  if (dweight != NULL)
    conv_call (dout->backend, ROLE_BACKWARD_FILTER, &g, ns_cuda_ptr (inp), inp->n,
               ns_cuda_ptr (dout), dout->n, ns_cuda_ptr (dweight), dweight->n, TRUE);
}

/* The convolution whose backward-data pass is this transposed convolution: its input is
 * the transposed convolution's output (N, K, 2H, 2W), its output the transposed
 * convolution's input (N, C, H, W), its filter the weight (C, K, 2, 2); stride 2. */
static void
convt2_geom (NsCudaConvGeom *g, const NsTensor *big, const NsTensor *weight,
             const NsTensor *small)
{
  geom_set (g, big->shape, weight->shape, small->shape, 2, 0, 1);
}

void
_ns_cuda_convt2_forward (NsTensor *out, NsTensor *inp, NsTensor *weight, NsTensor *bias)
{
  NsCudaBackend *cb = ns_cuda_get (out->backend);
  NsCudaConvGeom g;

  convt2_geom (&g, out, weight, inp);
  if (!conv_call (out->backend, ROLE_BACKWARD_DATA, &g, ns_cuda_ptr (inp), inp->n,
                  ns_cuda_ptr (weight), weight->n, ns_cuda_ptr (out), out->n, FALSE))
    return;
  _ns_cuda_check (cb, ns_cuda_bias_act (ns_cuda_ptr (out), ns_cuda_ptr (bias), out->n,
                                        out->shape[1],
                                        (size_t) out->shape[2] * out->shape[3], 0,
                                        cb->stream),
                  "transposed convolution bias");
}

void
_ns_cuda_convt2_backward (NsTensor *dinp, NsTensor *dweight, NsTensor *dbias, NsTensor *dout,
                          NsTensor *inp, NsTensor *weight)
{
  NsCudaBackend *cb = ns_cuda_get (dout->backend);
  NsCudaConvGeom g;

  convt2_geom (&g, dout, weight, inp);
  if (dbias != NULL)
    bias_grad (cb, dbias, dout);
  if (dinp != NULL)
    conv_call (dout->backend, ROLE_FORWARD, &g, ns_cuda_ptr (dout), dout->n,
               ns_cuda_ptr (weight), weight->n, ns_cuda_ptr (dinp), dinp->n, FALSE);
  if (dweight != NULL)
    conv_call (dout->backend, ROLE_BACKWARD_FILTER, &g, ns_cuda_ptr (dout), dout->n,
               ns_cuda_ptr (inp), inp->n, ns_cuda_ptr (dweight), dweight->n, TRUE);
}
