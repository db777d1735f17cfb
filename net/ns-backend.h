/* SPDX-License-Identifier: MIT
 *
 * ns-backend.h: the public face of the network backends (ggml style).
 *
 * A backend (ref: plain C loops in double accumulation, the oracle; cpu: oneDNN; cuda:
 * cuDNN + own kernels) owns tensor storage.  Callers see opaque NsTensor handles with a
 * logical NCHW shape and move data in and out as float32 NCHW; the layout (blocked,
 * NHWC) and precision (fp32, bf16) inside are the backend's business.  Model code calls
 * the ops below and never knows which backend runs them.
 *
 * Argument order follows llm.c: outputs first, then saved statistics, then inputs, then
 * weights, then sizes.  In every _backward, weight and bias gradients ACCUMULATE (+=)
 * and input gradients are ASSIGNED (=).  Any gradient pointer may be NULL when it is not
 * wanted (e.g. dinp of the first layer).
 *
 * Parameters live in one flat allocation (see ns_tensor_new_view()) so that Adam is one
 * call over all of them.
 *
 * Errors.  Ops return nothing, as a GPU runs them after the call returns.  An op that
 * fails records its error in its backend, and the ops after it are skipped; the caller
 * collects the error with ns_backend_check() at the end of each batch and training step
 * and must not use the results of a batch that failed.  An op the backend cannot run for
 * the given shapes (see ns_backend_supports_op()) is not a failure: it runs on the host
 * with the ref implementation.
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

#define NS_NET_ERROR (ns_net_error_quark ())

typedef enum
{
  NS_NET_ERROR_NO_BACKEND,   /* unknown backend name, or not compiled in / no device */
  NS_NET_ERROR_UNSUPPORTED,  /* op or option not supported by this backend */
  NS_NET_ERROR_OUT_OF_MEMORY,
  NS_NET_ERROR_CHECKPOINT,   /* corrupt or mismatched checkpoint */
  NS_NET_ERROR_CANCELLED,
  NS_NET_ERROR_FAILED,
} NsNetError;

GQuark ns_net_error_quark (void);

typedef struct _NsBackend NsBackend;
typedef struct _NsTensor NsTensor;

typedef enum
{
  NS_PRECISION_FP32,
  NS_PRECISION_BF16,
} NsPrecision;

typedef enum
{
  NS_OP_CONV2D,            /* any kernel, stride, padding, groups (depthwise = groups C) */
  NS_OP_CONV2D_FUSED_ACT,  /* conv2d forward with a fused ReLU/ReLU6 (inference) */
  NS_OP_BATCHNORM,
  NS_OP_RELU,              /* relu and relu6 (cap) */
  NS_OP_MAXPOOL2,
  NS_OP_UPSAMPLE2,         /* nearest x2 */
  NS_OP_CONVT2,            /* 2x2 stride-2 transposed convolution */
  NS_OP_CONCAT,            /* channel concatenation */
  NS_OP_ADD,
  NS_OP_DROPOUT,
  NS_OP_SOFTMAX_DICE_CE,   /* softmax + soft-Dice + cross-entropy loss */
  NS_OP_SOFTMAX,           /* softmax over channels (inference) */
  NS_OP_ADAM,
  NS_OP_BF16,              /* bf16 storage / compute */
  NS_OP_UPCONV2,           /* upsample2 + concat + 3x3 conv fused (inference, optional) */
  NS_OP_CONV2D_ADD,        /* conv2d forward + residual add fused (inference, optional) */
  NS_N_OPS
} NsOp;

typedef enum
{
  NS_ACT_NONE = 0,
  NS_ACT_RELU,
  NS_ACT_RELU6,
} NsActivation;

typedef struct
{
  int stride;              /* same in both directions */
  int pad;                 /* zero padding, same on all sides */
  int groups;              /* 1: dense; C_in: depthwise */
  NsActivation act;        /* fused activation, forward only (NS_OP_CONV2D_FUSED_ACT) */
} NsConv2dParams;

/* "ref", "cpu", "cuda" or "auto" (cuda when a GPU is usable, else cpu, else ref). */
NsBackend   *ns_backend_new            (const char *name, GError **error);
void         ns_backend_free           (NsBackend *backend);
const char  *ns_backend_get_name       (NsBackend *backend);
/* Human-readable device description ("2 x Intel Xeon, oneDNN 2.6 avx512_core_bf16"). */
const char  *ns_backend_get_device     (NsBackend *backend);
/* Whether the backend runs this kind of op at all (bf16: whether it can compute in it).
 * For the shapes of each call the backend answers again, and the ops it refuses then
 * run on the host (ref); ns_backend_get_n_host_ops() counts them. */
gboolean     ns_backend_supports_op    (NsBackend *backend, NsOp op);
guint64      ns_backend_get_n_host_ops (NsBackend *backend);
/* Waits for every queued op and returns FALSE with the first failure of an op since the
 * last call (which it then forgets), TRUE when every op ran.  The results of ops queued
 * since the last check are undefined after a failure. */
gboolean     ns_backend_check          (NsBackend *backend, GError **error);
gboolean     ns_backend_set_precision  (NsBackend *backend, NsPrecision precision,
                                        GError **error);
NsPrecision  ns_backend_get_precision  (NsBackend *backend);
/* Waits until every queued op has finished (a no-op on synchronous backends). */
void         ns_backend_synchronize    (NsBackend *backend);
/* Free and total memory for tensors: the device's (GPU backends), capped by the limit
 * below when one is set.  FALSE when neither is known (the CPU backends without a
 * limit).  Either pointer may be NULL. */
gboolean     ns_backend_get_memory     (NsBackend *backend, gsize *free_bytes,
                                        gsize *total_bytes);
/* Host buffers for ns_tensor_upload / ns_tensor_download: page-locked on a GPU (copies
 * at full bus speed, without a staging copy), huge pages elsewhere.  NULL when out of
 * memory.  Free with ns_backend_host_free on the same backend. */
gpointer     ns_backend_host_alloc     (NsBackend *backend, gsize bytes);
void         ns_backend_host_free      (NsBackend *backend, gpointer mem);
/* Caps the bytes of tensors the backend may hold (counted as float32; 0: no cap):
 * ns_tensor_new fails with NS_NET_ERROR_OUT_OF_MEMORY beyond it, as a full device
 * would.  For sharing a GPU with other programs, and for testing what runs out. */
void         ns_backend_set_memory_limit (NsBackend *backend, gsize bytes);
/* Every compute device this build can use, one line each ("cpu: ...", "cuda:0 NVIDIA H100,
 * 79.1 GiB, compute capability 9.0, cuDNN 9.19.0"), with why a GPU is missing when it is. */
GPtrArray   *ns_backend_list_devices   (void);
/* Names of the backends compiled into this build, NULL-terminated, static. */
const char *const *ns_backend_list_compiled (void);

/* ---- tensors -------------------------------------------------------------------------- */

/* A tensor of logical shape (n, c, h, w); contents undefined.  NULL + error on OOM.
 * Weights use (K, C/groups, kh, kw); vectors (C) use (C, 1, 1, 1). */
NsTensor    *ns_tensor_new             (NsBackend *backend, int n, int c, int h, int w,
                                        GError **error);
/* A contiguous view of `count` floats at `offset` (in floats) of a flat parent tensor,
 * seen with the given shape.  The parent must outlive the view.  Used for the one
 * allocation that holds every parameter (and one for gradients, m and v). */
NsTensor    *ns_tensor_new_view        (NsTensor *parent, gsize offset, int n, int c, int h,
                                        int w);
void         ns_tensor_free            (NsTensor *tensor);
void         ns_tensor_get_shape       (const NsTensor *tensor, int shape[4]);
gsize        ns_tensor_n_elements      (const NsTensor *tensor);
NsBackend   *ns_tensor_get_backend     (const NsTensor *tensor);
/* Host float32 NCHW in and out. */
void         ns_tensor_upload          (NsTensor *tensor, const float *nchw);
void         ns_tensor_download        (NsTensor *tensor, float *nchw);
void         ns_tensor_fill            (NsTensor *tensor, float value);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (NsBackend, ns_backend_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (NsTensor, ns_tensor_free)

/* ---- ops ------------------------------------------------------------------------------ */

/* out (N, K, Ho, Wo) = conv(inp (N, C, H, W), weight (K, C/g, kh, kw)) + bias (K) [+ act]
 * Ho = (H + 2 pad - kh) / stride + 1.  bias may be NULL. */
void ns_conv2d_forward   (NsTensor *out, NsTensor *inp, NsTensor *weight, NsTensor *bias,
                          const NsConv2dParams *p);
/* act must be NS_ACT_NONE for backward (training uses separate activation ops). */
void ns_conv2d_backward  (NsTensor *dinp, NsTensor *dweight, NsTensor *dbias, NsTensor *dout,
                          NsTensor *inp, NsTensor *weight, const NsConv2dParams *p);

/* Batch normalisation over (N, H, W) per channel.  training: uses batch statistics,
 * saves mean and inverse std (C) and updates running_mean / running_var with
 * momentum (running = (1 - momentum) running + momentum batch; unbiased variance, as
 * PyTorch).  !training: uses the running statistics; save_mean/save_invstd ignored. */
void ns_batchnorm_forward  (NsTensor *out, NsTensor *save_mean, NsTensor *save_invstd,
                            NsTensor *inp, NsTensor *gamma, NsTensor *beta,
                            NsTensor *running_mean, NsTensor *running_var,
                            gboolean training, float momentum, float eps);
/* Backward of the training-mode forward (batch statistics, from save_mean/save_invstd). */
void ns_batchnorm_backward (NsTensor *dinp, NsTensor *dgamma, NsTensor *dbeta, NsTensor *dout,
                            NsTensor *inp, NsTensor *save_mean, NsTensor *save_invstd,
                            NsTensor *gamma);

/* act RELU: max(x, 0); RELU6: min(max(x, 0), 6).  out may alias inp.  Backward takes the
 * forward OUTPUT (valid for both: out > 0 and out < 6 where the gradient passes). */
void ns_relu_forward   (NsTensor *out, NsTensor *inp, NsActivation act);
void ns_relu_backward  (NsTensor *dinp, NsTensor *dout, NsTensor *out, NsActivation act);

/* 2x2 max-pool, stride 2 (H and W even).  Backward routes to the first maximum in each
 * window (row-major order), given the forward input and output. */
void ns_maxpool2_forward  (NsTensor *out, NsTensor *inp);
void ns_maxpool2_backward (NsTensor *dinp, NsTensor *dout, NsTensor *inp, NsTensor *out);

/* Nearest-neighbour x2 upsample; backward sums each 2x2 block. */
void ns_upsample2_forward  (NsTensor *out, NsTensor *inp);
void ns_upsample2_backward (NsTensor *dinp, NsTensor *dout);

/* 2x2 stride-2 transposed convolution: out (N, K, 2H, 2W), weight (C, K, 2, 2) (PyTorch's
 * ConvTranspose2d layout), bias (K) may be NULL. */
void ns_convt2_forward  (NsTensor *out, NsTensor *inp, NsTensor *weight, NsTensor *bias);
void ns_convt2_backward (NsTensor *dinp, NsTensor *dweight, NsTensor *dbias, NsTensor *dout,
                         NsTensor *inp, NsTensor *weight);

/* out (N, Ca + Cb, H, W) = [a, b] along channels; backward splits. */
void ns_concat_forward  (NsTensor *out, NsTensor *a, NsTensor *b);
void ns_concat_backward (NsTensor *da, NsTensor *db, NsTensor *dout);

/* Inference: nearest x2 upsample of inp (N, Ci, H, W), concatenated along channels with
 * skip (N, Cs, 2H, 2W; NULL: none), then a 3x3 convolution (stride 1, pad 1) with weight
 * (K, Ci + Cs, 3, 3), bias (K; may be NULL) and fused act: out (N, K, 2H, 2W), as
 * ns_upsample2_forward, ns_concat_forward and ns_conv2d_forward would compute it.
 * A backend with NS_OP_UPCONV2 runs it without the upsampled and concatenated tensors
 * (oneDNN: the upsampled part as four 2x2 convolutions on the H x W input, 16 instead of
 * 36 multiply-adds per output and input channel); on the others, and for shapes the
 * backend refuses, it runs as those three ops on temporary tensors. */
void ns_upconv2_forward (NsTensor *out, NsTensor *inp, NsTensor *skip, NsTensor *weight,
                         NsTensor *bias, NsActivation act);

/* Inference: out = act (conv2d (inp) + bias + residual), residual of out's shape (not
 * out itself), as ns_conv2d_forward without the activation, ns_add_forward and
 * ns_relu_forward would compute it.  A backend with NS_OP_CONV2D_ADD adds the residual
 * as the convolution writes its output (oneDNN: a binary post-op), without a separate
 * pass; on the others, and for shapes the backend refuses, it runs as those ops. */
void ns_conv2d_add_forward (NsTensor *out, NsTensor *inp, NsTensor *weight, NsTensor *bias,
                            NsTensor *residual, const NsConv2dParams *p);

/* out = a + b (out may alias a or b).  Backward of a sum is the identity on each input:
 * callers use ns_add_forward (dx, dx, dy) to accumulate. */
void ns_add_forward (NsTensor *out, NsTensor *a, NsTensor *b);
/* dst = src (same shape). */
void ns_tensor_copy (NsTensor *dst, NsTensor *src);

/* Inverted dropout with probability p: training keeps each element with prob 1-p and
 * scales by 1/(1-p); the keep mask (0 or 1/(1-p)) is saved in mask.  Draws come from a
 * counter-based generator keyed by seed so that every backend draws the same mask:
 * element i (its NCHW linear index) is kept when ns_random_uniform (seed, i) >= p, both
 * compared as float.  !training: out = inp (mask may be NULL). */
void ns_dropout_forward  (NsTensor *out, NsTensor *mask, NsTensor *inp, float p, guint64 seed,
                          gboolean training);
void ns_dropout_backward (NsTensor *dinp, NsTensor *dout, NsTensor *mask);

/* Softmax over channels; probs (N, K, H, W). */
void ns_softmax_forward (NsTensor *probs, NsTensor *logits);

/* Loss = CE + Dice, where CE is the mean over pixels of -log p[label] and
 * Dice = 1 - mean over classes k = 1..K-1 (background excluded, classes weighted
 * equally) of (2 sum p_k y_k + eps) / (sum p_k + sum y_k + eps), sums over the whole
 * batch, eps = 1.  labels (N, 1, H, W) hold class indices 0..K-1 as floats.
 * Forward writes probs and returns the loss; backward writes dlogits (=). */
float ns_softmax_dice_ce_forward  (NsTensor *probs, NsTensor *logits, NsTensor *labels);
void  ns_softmax_dice_ce_backward (NsTensor *dlogits, NsTensor *probs, NsTensor *labels);

typedef struct
{
  float lr;
  float beta1;          /* 0.9 */
  float beta2;          /* 0.999 */
  float eps;            /* 1e-8 */
  float weight_decay;   /* decoupled (AdamW) when > 0 */
  int step;             /* t >= 1, for bias correction */
} NsAdamParams;

/* One update over flat tensors of equal size: params, grads, m, v. */
void ns_adam_update (NsTensor *params, NsTensor *grads, NsTensor *m, NsTensor *v,
                     const NsAdamParams *p);

/* Counter-based uniform [0,1) draw shared by every backend (dropout masks). */
float ns_random_uniform (guint64 seed, guint64 index);

G_END_DECLS
