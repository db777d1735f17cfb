// SPDX-License-Identifier: MIT
//
// ns-cuda-loss.cu: softmax over channels and the CE + soft-Dice loss of ns-backend.h.
//
// One thread per pixel, channel loop inside (K is the number of classes, small).  The
// loss needs batch-wide sums (CE, and per class I = sum p y, S = sum p, G = sum y): each
// block adds its pixels into shared memory, then once into the global sums, all in
// double as the ref backend does, so that the order of additions does not matter at
// float precision.  The host reads the sums back and forms the loss; the backward pass
// forms Dice's per-class factors from the same sums on the device.
#include "ns-cuda-kernels.h"

namespace {

const int threads = 256;
const int MAXK = NS_CUDA_LOSS_MAX_K;
const int N_SUMS = 1 + 3 * NS_CUDA_LOSS_MAX_K;

unsigned int
blocks_for (size_t n)
{
  size_t b = (n + threads - 1) / threads;
  return (unsigned int) (b < 8192 ? b : 8192);
}

__device__ inline int
label_at (const float *labels, size_t i, int k, int *bad)
{
  const long l = lround ((double) labels[i]);
  if (l < 0 || l >= k)
    {
      atomicAdd (bad, 1);
      return 0;
    }
  return (int) l;
}

__global__ void
softmax_kernel (float *probs, const float *logits, int n, int k, size_t hw)
{
  const size_t pixels = (size_t) n * hw;
  for (size_t i = blockIdx.x * (size_t) blockDim.x + threadIdx.x; i < pixels;
       i += (size_t) gridDim.x * blockDim.x)
    {
      const size_t off = (i / hw) * k * hw + i % hw;
      const float *z = logits + off;
      float *pr = probs + off;
      float mx = z[0], sum = 0.0f;
      for (int c = 1; c < k; c++)
        mx = fmaxf (mx, z[c * hw]);
      for (int c = 0; c < k; c++)
        sum += expf (z[c * hw] - mx);
      const float inv = 1.0f / sum;
      for (int c = 0; c < k; c++)
        pr[c * hw] = expf (z[c * hw] - mx) * inv;
    }
}

// with_logits: probs = softmax (logits) and sums[0] += CE; else probs are read.
// sums: [CE, I (MAXK), S (MAXK), G (MAXK)].
__global__ void
loss_sums_kernel (float *probs, const float *logits, const float *labels, int n, int k,
                  size_t hw, double *sums, int *bad, int with_logits)
{
  __shared__ double block_sums[N_SUMS];
  for (int j = threadIdx.x; j < N_SUMS; j += blockDim.x)
    block_sums[j] = 0.0;
  __syncthreads ();

  const size_t pixels = (size_t) n * hw;
  for (size_t i = blockIdx.x * (size_t) blockDim.x + threadIdx.x; i < pixels;
       i += (size_t) gridDim.x * blockDim.x)
    {
      const size_t off = (i / hw) * k * hw + i % hw;
      const int y = label_at (labels, i, k, bad);
      double p[MAXK];
      if (with_logits)
        {
          const float *z = logits + off;
          double mx = z[0], sum = 0.0;
          for (int c = 1; c < k; c++)
            mx = fmax (mx, (double) z[c * hw]);
          for (int c = 0; c < k; c++)
            {
              p[c] = exp ((double) z[c * hw] - mx);
              sum += p[c];
            }
          for (int c = 0; c < k; c++)
            {
              p[c] /= sum;
              probs[off + c * hw] = (float) p[c];
            }
          atomicAdd (&block_sums[0], mx + log (sum) - (double) z[y * hw]);
        }
      else
        for (int c = 0; c < k; c++)
          p[c] = probs[off + c * hw];
      for (int c = 0; c < k; c++)
        atomicAdd (&block_sums[1 + MAXK + c], p[c]);
      atomicAdd (&block_sums[1 + y], p[y]);
      atomicAdd (&block_sums[1 + 2 * MAXK + y], 1.0);
    }

  __syncthreads ();
  for (int j = threadIdx.x; j < N_SUMS; j += blockDim.x)
    if (block_sums[j] != 0.0)
      atomicAdd (&sums[j], block_sums[j]);
}

// CE: dz = (p - y) / P.  Dice, with D_k = S_k + G_k + 1 and k >= 1:
//   g_k = A_k y_k + B_k, A_k = -2 / (D_k (K - 1)), B_k = (2 I_k + 1) / (D_k^2 (K - 1)),
// through the softmax: dz_k = p_k (g_k - sum_j p_j g_j).  (ns-backend-ref.c derives it.)
__global__ void
loss_backward_kernel (float *dlogits, const float *probs, const float *labels, int n, int k,
                      size_t hw, const double *sums)
{
  __shared__ double a[MAXK], b[MAXK];
  if (threadIdx.x < MAXK)
    {
      const int c = threadIdx.x;
      a[c] = b[c] = 0.0;
      if (c >= 1 && c < k)
        {
          const double I = sums[1 + c], S = sums[1 + MAXK + c], G = sums[1 + 2 * MAXK + c];
          const double D = S + G + 1.0;
          a[c] = -2.0 / (D * (k - 1));
          b[c] = (2.0 * I + 1.0) / (D * D * (k - 1));
        }
    }
  __syncthreads ();

  const size_t pixels = (size_t) n * hw;
  const double inv_p = 1.0 / (double) pixels;
  for (size_t i = blockIdx.x * (size_t) blockDim.x + threadIdx.x; i < pixels;
       i += (size_t) gridDim.x * blockDim.x)
    {
      const size_t off = (i / hw) * k * hw + i % hw;
      // Out-of-range labels were counted by the sums pass; here they are class 0 again.
      const long l = lround ((double) labels[i]);
      const int y = l < 0 || l >= k ? 0 : (int) l;
      double pg = 0.0;
      for (int c = 0; c < k; c++)
        pg += (double) probs[off + c * hw] * (b[c] + (c == y ? a[c] : 0.0));
      for (int c = 0; c < k; c++)
        {
          const double p = probs[off + c * hw], yc = c == y ? 1.0 : 0.0;
          const double g = b[c] + yc * a[c];
          dlogits[off + c * hw] = (float) ((p - yc) * inv_p + p * (g - pg));
        }
    }
}

}  // namespace

extern "C" cudaError_t
ns_cuda_softmax (float *probs, const float *logits, int n, int k, size_t hw,
                 cudaStream_t stream)
{
  const size_t pixels = (size_t) n * hw;
  if (pixels == 0)
    return cudaSuccess;
  softmax_kernel<<<blocks_for (pixels), threads, 0, stream>>> (probs, logits, n, k, hw);
  return cudaGetLastError ();
}

extern "C" cudaError_t
ns_cuda_loss_forward (float *probs, const float *logits, const float *labels, int n, int k,
                      size_t hw, double *sums, int *bad, cudaStream_t stream)
{
  const size_t pixels = (size_t) n * hw;
  if (pixels == 0 || k > MAXK)
    return k > MAXK ? cudaErrorInvalidValue : cudaSuccess;
  loss_sums_kernel<<<blocks_for (pixels), threads, 0, stream>>> (probs, logits, labels, n, k,
                                                                 hw, sums, bad, 1);
  return cudaGetLastError ();
}

extern "C" cudaError_t
ns_cuda_loss_sums (const float *probs, const float *labels, int n, int k, size_t hw,
                   double *sums, int *bad, cudaStream_t stream)
{
  const size_t pixels = (size_t) n * hw;
  if (pixels == 0 || k > MAXK)
    return k > MAXK ? cudaErrorInvalidValue : cudaSuccess;
  // probs are only read when with_logits is 0.
  loss_sums_kernel<<<blocks_for (pixels), threads, 0, stream>>> ((float *) probs, nullptr,
                                                                 labels, n, k, hw, sums, bad,
                                                                 0);
  return cudaGetLastError ();
}

extern "C" cudaError_t
ns_cuda_loss_backward (float *dlogits, const float *probs, const float *labels, int n, int k,
                       size_t hw, const double *sums, cudaStream_t stream)
{
  const size_t pixels = (size_t) n * hw;
  if (pixels == 0 || k > MAXK)
    return k > MAXK ? cudaErrorInvalidValue : cudaSuccess;
  loss_backward_kernel<<<blocks_for (pixels), threads, 0, stream>>> (dlogits, probs, labels, n,
                                                                     k, hw, sums);
  return cudaGetLastError ();
}
