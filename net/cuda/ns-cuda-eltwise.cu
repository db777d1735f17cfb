// SPDX-License-Identifier: MIT
//
// ns-cuda-eltwise.cu: elementwise kernels of the CUDA backend: fill, bias + activation
// epilogue of the convolutions, ReLU/ReLU6, add, dropout (the same SplitMix64 draw as
// ns_random_uniform () on the host), and the float32 <-> bf16 conversions of bf16 mode.
//
// All are memory bound: one grid-stride loop each, 256 threads a block.
#include "ns-cuda-kernels.h"

#include <cuda_bf16.h>

namespace {

const int threads = 256;

unsigned int
blocks_for (size_t n)
{
  size_t b = (n + threads - 1) / threads;
  return (unsigned int) (b < (1u << 20) ? b : (1u << 20));
}

__device__ inline float
activate (float x, int act)
{
  // NsActivation: 0 none, 1 relu, 2 relu6
  if (act == 0)
    return x;
  float v = x > 0.0f ? x : 0.0f;
  return act == 2 && v > 6.0f ? 6.0f : v;
}

// Bit for bit ns_random_uniform () of ns-backend.c: SplitMix64 of (seed, index), the top
// 24 bits scaled to [0, 1) (exact in float, so that both sides compare the same value).
__device__ inline float
random_uniform (unsigned long long seed, unsigned long long index)
{
  unsigned long long z = seed + (index + 1ull) * 0x9E3779B97F4A7C15ull;
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  z ^= z >> 31;
  return (float) ((double) (z >> 40) * (1.0 / 16777216.0));
}

__global__ void
fill_kernel (float *x, size_t n, float value)
{
  for (size_t i = blockIdx.x * (size_t) blockDim.x + threadIdx.x; i < n;
       i += (size_t) gridDim.x * blockDim.x)
    x[i] = value;
}

__global__ void
bias_act_kernel (float *out, const float *bias, size_t n, int k, size_t hw, int act)
{
  for (size_t i = blockIdx.x * (size_t) blockDim.x + threadIdx.x; i < n;
       i += (size_t) gridDim.x * blockDim.x)
    {
      float v = out[i];
      if (bias != nullptr)
        v += bias[(i / hw) % (size_t) k];
      out[i] = activate (v, act);
    }
}

__global__ void
relu_forward_kernel (float *out, const float *inp, size_t n, int act)
{
  for (size_t i = blockIdx.x * (size_t) blockDim.x + threadIdx.x; i < n;
       i += (size_t) gridDim.x * blockDim.x)
    out[i] = activate (inp[i], act);
}

__global__ void
relu_backward_kernel (float *dinp, const float *dout, const float *out, size_t n, int act)
{
  const float cap = act == 2 ? 6.0f : __int_as_float (0x7f800000);   // +inf
  for (size_t i = blockIdx.x * (size_t) blockDim.x + threadIdx.x; i < n;
       i += (size_t) gridDim.x * blockDim.x)
    dinp[i] = out[i] > 0.0f && out[i] < cap ? dout[i] : 0.0f;
}

__global__ void
add_kernel (float *out, const float *a, const float *b, size_t n)
{
  for (size_t i = blockIdx.x * (size_t) blockDim.x + threadIdx.x; i < n;
       i += (size_t) gridDim.x * blockDim.x)
    out[i] = a[i] + b[i];
}

__global__ void
mul_kernel (float *out, const float *a, const float *b, size_t n)
{
  for (size_t i = blockIdx.x * (size_t) blockDim.x + threadIdx.x; i < n;
       i += (size_t) gridDim.x * blockDim.x)
    out[i] = a[i] * b[i];
}

__global__ void
dropout_kernel (float *out, float *mask, const float *inp, size_t n, float p,
                unsigned long long seed, float scale)
{
  for (size_t i = blockIdx.x * (size_t) blockDim.x + threadIdx.x; i < n;
       i += (size_t) gridDim.x * blockDim.x)
    {
      const float m = random_uniform (seed, i) >= p ? scale : 0.0f;
      mask[i] = m;
      out[i] = inp[i] * m;
    }
}

__global__ void
to_bf16_kernel (__nv_bfloat16 *dst, const float *src, size_t n)
{
  for (size_t i = blockIdx.x * (size_t) blockDim.x + threadIdx.x; i < n;
       i += (size_t) gridDim.x * blockDim.x)
    dst[i] = __float2bfloat16 (src[i]);
}

__global__ void
from_bf16_kernel (float *dst, const __nv_bfloat16 *src, size_t n, int accumulate)
{
  for (size_t i = blockIdx.x * (size_t) blockDim.x + threadIdx.x; i < n;
       i += (size_t) gridDim.x * blockDim.x)
    {
      const float v = __bfloat162float (src[i]);
      dst[i] = accumulate ? dst[i] + v : v;
    }
}

// NCHW float32 (n, c, hw) -> NHWC bf16 (n, hw, c); i indexes the destination, so that the
// writes are coalesced.
__global__ void
to_nhwc_bf16_kernel (__nv_bfloat16 *dst, const float *src, size_t n, size_t c, size_t hw)
{
  const size_t total = n * c * hw;
  for (size_t i = blockIdx.x * (size_t) blockDim.x + threadIdx.x; i < total;
       i += (size_t) gridDim.x * blockDim.x)
    {
      const size_t b = i / (hw * c), rem = i % (hw * c), p = rem / c, ch = rem % c;
      dst[i] = __float2bfloat16 (src[(b * c + ch) * hw + p]);
    }
}

// NHWC bf16 (n, hw, c) -> NCHW float32 (n, c, hw), assigned or added; i indexes the
// destination.
__global__ void
from_nhwc_bf16_kernel (float *dst, const __nv_bfloat16 *src, size_t n, size_t c, size_t hw,
                       int accumulate)
{
  const size_t total = n * c * hw;
  for (size_t i = blockIdx.x * (size_t) blockDim.x + threadIdx.x; i < total;
       i += (size_t) gridDim.x * blockDim.x)
    {
      const size_t b = i / (c * hw), ch = (i / hw) % c, p = i % hw;
      const float v = __bfloat162float (src[(b * hw + p) * c + ch]);
      dst[i] = accumulate ? dst[i] + v : v;
    }
}

// One block per channel: db[c] += sum over n and the plane of dy (N, K, hw), in double.
__global__ void
bias_grad_kernel (float *db, const float *dy, int n, int k, size_t hw)
{
  __shared__ double part[threads];
  const int c = blockIdx.x;
  double sum = 0.0;
  for (int b = 0; b < n; b++)
    {
      const float *plane = dy + ((size_t) b * k + c) * hw;
      for (size_t i = threadIdx.x; i < hw; i += blockDim.x)
        sum += plane[i];
    }
  part[threadIdx.x] = sum;
  __syncthreads ();
  for (int s = blockDim.x / 2; s > 0; s /= 2)
    {
      if ((int) threadIdx.x < s)
        part[threadIdx.x] += part[threadIdx.x + s];
      __syncthreads ();
    }
  if (threadIdx.x == 0)
    db[c] = (float) ((double) db[c] + part[0]);
}

}  // namespace

extern "C" cudaError_t
ns_cuda_to_nhwc_bf16 (void *dst, const float *src, size_t n, size_t c, size_t hw,
                      cudaStream_t stream)
{
  const size_t total = n * c * hw;
  if (total == 0)
    return cudaSuccess;
  to_nhwc_bf16_kernel<<<blocks_for (total), threads, 0, stream>>> ((__nv_bfloat16 *) dst, src,
                                                                   n, c, hw);
  return cudaGetLastError ();
}

extern "C" cudaError_t
ns_cuda_from_nhwc_bf16 (float *dst, const void *src, size_t n, size_t c, size_t hw,
                        int accumulate, cudaStream_t stream)
{
  const size_t total = n * c * hw;
  if (total == 0)
    return cudaSuccess;
  from_nhwc_bf16_kernel<<<blocks_for (total), threads, 0, stream>>> (
    dst, (const __nv_bfloat16 *) src, n, c, hw, accumulate);
  return cudaGetLastError ();
}

extern "C" cudaError_t
ns_cuda_bias_grad (float *db, const float *dy, int n, int k, size_t hw, cudaStream_t stream)
{
  if (n == 0 || k == 0 || hw == 0)
    return cudaSuccess;
  bias_grad_kernel<<<k, threads, 0, stream>>> (db, dy, n, k, hw);
  return cudaGetLastError ();
}

extern "C" cudaError_t
ns_cuda_fill (float *x, size_t n, float value, cudaStream_t stream)
{
  if (n == 0)
    return cudaSuccess;
  fill_kernel<<<blocks_for (n), threads, 0, stream>>> (x, n, value);
  return cudaGetLastError ();
}

extern "C" cudaError_t
ns_cuda_bias_act (float *out, const float *bias, size_t n, int k, size_t hw, int act,
                  cudaStream_t stream)
{
  if (n == 0 || (bias == nullptr && act == 0))
    return cudaSuccess;
  bias_act_kernel<<<blocks_for (n), threads, 0, stream>>> (out, bias, n, k, hw, act);
  return cudaGetLastError ();
}

extern "C" cudaError_t
ns_cuda_relu_forward (float *out, const float *inp, size_t n, int act, cudaStream_t stream)
{
  if (n == 0)
    return cudaSuccess;
  relu_forward_kernel<<<blocks_for (n), threads, 0, stream>>> (out, inp, n, act);
  return cudaGetLastError ();
}

extern "C" cudaError_t
ns_cuda_relu_backward (float *dinp, const float *dout, const float *out, size_t n, int act,
                       cudaStream_t stream)
{
  if (n == 0)
    return cudaSuccess;
  relu_backward_kernel<<<blocks_for (n), threads, 0, stream>>> (dinp, dout, out, n, act);
  return cudaGetLastError ();
}

extern "C" cudaError_t
ns_cuda_add (float *out, const float *a, const float *b, size_t n, cudaStream_t stream)
{
  if (n == 0)
    return cudaSuccess;
  add_kernel<<<blocks_for (n), threads, 0, stream>>> (out, a, b, n);
  return cudaGetLastError ();
}

extern "C" cudaError_t
ns_cuda_mul (float *out, const float *a, const float *b, size_t n, cudaStream_t stream)
{
  if (n == 0)
    return cudaSuccess;
  mul_kernel<<<blocks_for (n), threads, 0, stream>>> (out, a, b, n);
  return cudaGetLastError ();
}

extern "C" cudaError_t
ns_cuda_dropout_forward (float *out, float *mask, const float *inp, size_t n, float p,
                         uint64_t seed, float scale, cudaStream_t stream)
{
  if (n == 0)
    return cudaSuccess;
  dropout_kernel<<<blocks_for (n), threads, 0, stream>>> (out, mask, inp, n, p,
                                                          (unsigned long long) seed, scale);
  return cudaGetLastError ();
}

extern "C" cudaError_t
ns_cuda_to_bf16 (void *dst, const float *src, size_t n, cudaStream_t stream)
{
  if (n == 0)
    return cudaSuccess;
  to_bf16_kernel<<<blocks_for (n), threads, 0, stream>>> ((__nv_bfloat16 *) dst, src, n);
  return cudaGetLastError ();
}

extern "C" cudaError_t
ns_cuda_from_bf16 (float *dst, const void *src, size_t n, cudaStream_t stream)
{
  if (n == 0)
    return cudaSuccess;
  from_bf16_kernel<<<blocks_for (n), threads, 0, stream>>> (dst, (const __nv_bfloat16 *) src,
                                                            n, 0);
  return cudaGetLastError ();
}

extern "C" cudaError_t
ns_cuda_accumulate_bf16 (float *dst, const void *src, size_t n, cudaStream_t stream)
{
  if (n == 0)
    return cudaSuccess;
  from_bf16_kernel<<<blocks_for (n), threads, 0, stream>>> (dst, (const __nv_bfloat16 *) src,
                                                            n, 1);
  return cudaGetLastError ();
}
