/* SPDX-License-Identifier: MIT
 *
 * ns-cuda-private.h: what the host files of the CUDA backend share: the backend state,
 * device pointers of tensors, error checks, the cuDNN wrappers (ns-cuda-dnn.c, the only
 * file that calls cuDNN) and the op entries of the convolution family (ns-cuda-conv.c).
 *
 * Storage is device float32 NCHW in every precision: a view is its parent's pointer plus
 * the offset, so that one flat allocation holds every parameter as the public API asks.
 * In bf16 mode the convolutions (the FLOPs) run on tensor cores in bf16 with fp32
 * accumulation, on bf16 NHWC copies made just before each call; everything else stays fp32.
 * Every op is queued on the backend's one stream; a failing call is recorded in the
 * backend's status (_ns_backend_fail, reported by ns_backend_check at the end of the
 * batch or step), never an abort.
 */
#pragma once

#include "ns-backend-private.h"
#include "ns-cuda-kernels.h"

#include <cuda_runtime.h>
#include <cudnn.h>

G_BEGIN_DECLS

#define NS_CUDA_N_SCRATCH 4

typedef struct
{
  NsBackend *be;                   /* where failures are recorded */
  int device;
  int cc_major, cc_minor;
  cudaStream_t stream;
  cudnnHandle_t dnn;
  /* descriptors reused by every cuDNN call (set before each one) */
  cudnnTensorDescriptor_t x_desc, y_desc, b_desc;
  cudnnFilterDescriptor_t w_desc;
  cudnnConvolutionDescriptor_t conv_desc;
  size_t workspace_limit;          /* largest workspace an algorithm may ask for */
  void *workspace;                 /* cuDNN workspace, grown on demand */
  size_t workspace_size;
  void *scratch[NS_CUDA_N_SCRATCH]; /* bf16 copies and unwanted gradients */
  size_t scratch_size[NS_CUDA_N_SCRATCH];
  double *loss_sums;               /* (1 + 3 NS_CUDA_LOSS_MAX_K) device doubles */
  int *loss_bad;                   /* device count of labels outside 0..K-1 */
  GHashTable *algos;               /* shape key -> ConvAlgos (ns-cuda-dnn.c) */
  GHashTable *algo_hints;          /* shape key -> algorithm chosen before (cache file) */
  char *hints_path;                /* the cache file */
  gboolean algo_hints_dirty;
  GHashTable *bn_eps;              /* save_invstd device pointer -> eps of its forward */
  GHashTable *pageable;            /* host buffers that could not be pinned (g_free them) */
  cudnnStatus_t last_dnn_status;   /* of the last convolution that failed (messages) */
} NsCudaBackend;

static inline NsCudaBackend *
ns_cuda_get (NsBackend *be)
{
  return be->priv;
}

/* The device float32 NCHW data of a tensor (or of a view). */
static inline float *
ns_cuda_ptr (NsTensor *t)
{
  return t != NULL ? t->priv : NULL;
}

/* FALSE when err is not cudaSuccess, and the failure, naming `what`, is recorded in the
 * backend's status. */
gboolean _ns_cuda_check (NsCudaBackend *cb, cudaError_t err, const char *what);
gboolean _ns_cuda_check_dnn (NsCudaBackend *cb, cudnnStatus_t status, const char *what);

/* A device buffer of at least `bytes` in scratch slot `slot`, kept for later calls;
 * NULL (the failure recorded) when the device has no memory for it. */
void *_ns_cuda_scratch (NsCudaBackend *cb, int slot, size_t bytes);

/* ---- cuDNN (ns-cuda-dnn.c) ------------------------------------------------------------- */

gboolean _ns_cuda_dnn_init (NsCudaBackend *cb, GError **error);
/* One small convolution with a known result; NS_NET_ERROR_NO_BACKEND when it fails. */
gboolean _ns_cuda_dnn_self_test (NsCudaBackend *cb, GError **error);
void     _ns_cuda_dnn_fini (NsCudaBackend *cb);

/* One convolution, in the terms of a forward convolution: x (N, C, H, W) convolved with
 * w (K, C/groups, kh, kw) gives y (N, K, Ho, Wo). */
typedef struct
{
  int x[4];
  int w[4];
  int y[4];
  int stride, pad, groups;
  gboolean bf16;   /* x, w and y are bf16 (tensor cores, fp32 accumulation) */
} NsCudaConvGeom;

/* y = conv (x, w) + beta y; dx = conv^T (dy, w) + beta dx; dw = corr (x, dy) + beta dw.
 * FALSE without a message when cuDNN has no algorithm for the shape and type (the caller
 * then falls back or reports); a failure of a call that started is recorded. */
gboolean _ns_cuda_dnn_conv_forward         (NsCudaBackend *cb, const NsCudaConvGeom *g,
                                            const void *x, const void *w, void *y,
                                            float beta);
gboolean _ns_cuda_dnn_conv_backward_data   (NsCudaBackend *cb, const NsCudaConvGeom *g,
                                            const void *dy, const void *w, void *dx,
                                            float beta);
gboolean _ns_cuda_dnn_conv_backward_filter (NsCudaBackend *cb, const NsCudaConvGeom *g,
                                            const void *x, const void *dy, void *dw,
                                            float beta);
/* Batch normalisation, float32 NCHW, per channel (cuDNN's spatial mode). */
gboolean _ns_cuda_dnn_bn_forward_training  (NsCudaBackend *cb, const int shape[4],
                                            float *out, float *save_mean,
                                            float *save_invstd, const float *inp,
                                            const float *gamma, const float *beta,
                                            float *running_mean, float *running_var,
                                            double momentum, double eps);
gboolean _ns_cuda_dnn_bn_forward_inference (NsCudaBackend *cb, const int shape[4],
                                            float *out, const float *inp,
                                            const float *gamma, const float *beta,
                                            const float *running_mean,
                                            const float *running_var, double eps);
/* dinp = (assigned), dgamma += , dbeta += ; all three non-NULL. */
gboolean _ns_cuda_dnn_bn_backward          (NsCudaBackend *cb, const int shape[4],
                                            float *dinp, float *dgamma, float *dbeta,
                                            const float *dout, const float *inp,
                                            const float *save_mean,
                                            const float *save_invstd, const float *gamma,
                                            double eps);

/* ---- convolution family (ns-cuda-conv.c) ----------------------------------------------- */

void _ns_cuda_conv2d_forward  (NsTensor *out, NsTensor *inp, NsTensor *weight, NsTensor *bias,
                               const NsConv2dParams *p);
void _ns_cuda_conv2d_backward (NsTensor *dinp, NsTensor *dweight, NsTensor *dbias,
                               NsTensor *dout, NsTensor *inp, NsTensor *weight,
                               const NsConv2dParams *p);
void _ns_cuda_convt2_forward  (NsTensor *out, NsTensor *inp, NsTensor *weight, NsTensor *bias);
void _ns_cuda_convt2_backward (NsTensor *dinp, NsTensor *dweight, NsTensor *dbias,
                               NsTensor *dout, NsTensor *inp, NsTensor *weight);

G_END_DECLS
