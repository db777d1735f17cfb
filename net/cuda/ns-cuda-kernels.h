/* SPDX-License-Identifier: MIT
 *
 * ns-cuda-kernels.h: the launchers of the backend's own kernels (*.cu), callable from C.
 *
 * Every launcher queues its kernel on `stream` and returns cudaGetLastError () (the
 * launch error; errors while running show at the next synchronisation).  Tensors are
 * device float32 NCHW unless the name says bf16 (device __nv_bfloat16, passed as void *).
 * Sizes of 0 launch nothing.
 */
#pragma once

#include <cuda_runtime.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The loss kernels keep one sum per class in registers and shared memory. */
#define NS_CUDA_LOSS_MAX_K 16

/* ns-cuda-eltwise.cu */
cudaError_t ns_cuda_fill             (float *x, size_t n, float value, cudaStream_t stream);
/* out[i] = act (out[i] + bias[(i / hw) % k]); bias may be NULL; act as NsActivation. */
cudaError_t ns_cuda_bias_act         (float *out, const float *bias, size_t n, int k,
                                      size_t hw, int act, cudaStream_t stream);
/* db[c] += sum over N and the plane of dy (N, K, hw) (bias gradients accumulate). */
cudaError_t ns_cuda_bias_grad        (float *db, const float *dy, int n, int k, size_t hw,
                                      cudaStream_t stream);
cudaError_t ns_cuda_relu_forward     (float *out, const float *inp, size_t n, int act,
                                      cudaStream_t stream);
cudaError_t ns_cuda_relu_backward    (float *dinp, const float *dout, const float *out,
                                      size_t n, int act, cudaStream_t stream);
cudaError_t ns_cuda_add              (float *out, const float *a, const float *b, size_t n,
                                      cudaStream_t stream);
/* out = inp * mask, mask[i] = scale when ns_random_uniform (seed, i) >= p, else 0. */
cudaError_t ns_cuda_dropout_forward  (float *out, float *mask, const float *inp, size_t n,
                                      float p, uint64_t seed, float scale,
                                      cudaStream_t stream);
/* out = a * b elementwise (dropout backward). */
cudaError_t ns_cuda_mul              (float *out, const float *a, const float *b, size_t n,
                                      cudaStream_t stream);
cudaError_t ns_cuda_to_bf16          (void *dst, const float *src, size_t n,
                                      cudaStream_t stream);
cudaError_t ns_cuda_from_bf16        (float *dst, const void *src, size_t n,
                                      cudaStream_t stream);
/* NCHW float32 (n, c, hw) -> NHWC bf16 (n, hw, c), and back (assigned, or added when
 * accumulate); filters (K, C, kh, kw) are the case n = K, hw = kh kw. */
cudaError_t ns_cuda_to_nhwc_bf16     (void *dst, const float *src, size_t n, size_t c,
                                      size_t hw, cudaStream_t stream);
cudaError_t ns_cuda_from_nhwc_bf16   (float *dst, const void *src, size_t n, size_t c,
                                      size_t hw, int accumulate, cudaStream_t stream);
/* dst += float (src) */
cudaError_t ns_cuda_accumulate_bf16  (float *dst, const void *src, size_t n,
                                      cudaStream_t stream);

/* ns-cuda-pool.cu: planes = N C; h, w: the input's size. */
cudaError_t ns_cuda_maxpool2_forward   (float *out, const float *inp, size_t planes, int h,
                                        int w, cudaStream_t stream);
cudaError_t ns_cuda_maxpool2_backward  (float *dinp, const float *dout, const float *inp,
                                        size_t planes, int h, int w, cudaStream_t stream);
cudaError_t ns_cuda_upsample2_forward  (float *out, const float *inp, size_t planes, int h,
                                        int w, cudaStream_t stream);
cudaError_t ns_cuda_upsample2_backward (float *dinp, const float *dout, size_t planes, int h,
                                        int w, cudaStream_t stream);

/* ns-cuda-loss.cu: logits/probs (N, K, HW), labels (N, HW) class indices as floats. */
cudaError_t ns_cuda_softmax          (float *probs, const float *logits, int n, int k,
                                      size_t hw, cudaStream_t stream);
/* probs = softmax (logits); sums (zeroed by the caller) += [sum of -log p[label],
 * I (k), S (k), G (k)]; *bad += labels outside 0..K-1 (counted as class 0). */
cudaError_t ns_cuda_loss_forward     (float *probs, const float *logits, const float *labels,
                                      int n, int k, size_t hw, double *sums, int *bad,
                                      cudaStream_t stream);
/* sums (zeroed by the caller) += [0, I, S, G] from given probs. */
cudaError_t ns_cuda_loss_sums        (const float *probs, const float *labels, int n, int k,
                                      size_t hw, double *sums, int *bad, cudaStream_t stream);
/* dlogits of CE + Dice from probs and the sums of ns_cuda_loss_sums (). */
cudaError_t ns_cuda_loss_backward    (float *dlogits, const float *probs, const float *labels,
                                      int n, int k, size_t hw, const double *sums,
                                      cudaStream_t stream);

/* ns-cuda-adam.cu: AdamW over flat arrays; c1 = 1 - beta1^t, c2 = 1 - beta2^t. */
cudaError_t ns_cuda_adam             (float *params, const float *grads, float *m, float *v,
                                      size_t n, double lr, double beta1, double beta2,
                                      double eps, double weight_decay, double c1, double c2,
                                      cudaStream_t stream);

/* ns-cuda-probe.cu */
int ns_cuda_probe_kernel (char *message, int message_len);

#ifdef __cplusplus
}
#endif
