// SPDX-License-Identifier: MIT
//
// ns-cuda-pool.cu: 2x2 max-pool and nearest x2 upsample, forward and backward, NCHW.
//
// One thread per output element of each pass (per window for the pooling backward, which
// writes all four input gradients of its window, so that nothing is left unwritten and no
// memset is needed).  Max-pool backward routes to the first maximum in row-major order,
// found again from the input with strict comparisons, as the ref backend does.
#include "ns-cuda-kernels.h"

namespace {

const int threads = 256;

unsigned int
blocks_for (size_t n)
{
  size_t b = (n + threads - 1) / threads;
  return (unsigned int) (b < (1u << 20) ? b : (1u << 20));
}

// i indexes the (planes, h/2, w/2) output; base is the window's top-left input element.
__device__ inline size_t
window_base (size_t i, int h, int w)
{
  const int wo = w / 2, ho = h / 2;
  const size_t ox = i % wo, oy = (i / wo) % ho, p = i / ((size_t) wo * ho);
  return (p * h + 2 * oy) * w + 2 * ox;
}

__global__ void
maxpool2_forward_kernel (float *out, const float *inp, size_t n_out, int h, int w)
{
  for (size_t i = blockIdx.x * (size_t) blockDim.x + threadIdx.x; i < n_out;
       i += (size_t) gridDim.x * blockDim.x)
    {
      const float *x = inp + window_base (i, h, w);
      float m = x[0];
      m = x[1] > m ? x[1] : m;
      m = x[w] > m ? x[w] : m;
      m = x[w + 1] > m ? x[w + 1] : m;
      out[i] = m;
    }
}

__global__ void
maxpool2_backward_kernel (float *dinp, const float *dout, const float *inp, size_t n_out,
                          int h, int w)
{
  for (size_t i = blockIdx.x * (size_t) blockDim.x + threadIdx.x; i < n_out;
       i += (size_t) gridDim.x * blockDim.x)
    {
      const size_t base = window_base (i, h, w);
      const size_t cand[4] = { base, base + 1, base + w, base + w + 1 };
      int best = 0;
      for (int j = 1; j < 4; j++)
        if (inp[cand[j]] > inp[cand[best]])
          best = j;
      for (int j = 0; j < 4; j++)
        dinp[cand[j]] = j == best ? dout[i] : 0.0f;
    }
}

// i indexes the (planes, 2h, 2w) output.
__global__ void
upsample2_forward_kernel (float *out, const float *inp, size_t n_out, int h, int w)
{
  const int w2 = 2 * w, h2 = 2 * h;
  for (size_t i = blockIdx.x * (size_t) blockDim.x + threadIdx.x; i < n_out;
       i += (size_t) gridDim.x * blockDim.x)
    {
      const size_t x = i % w2, y = (i / w2) % h2, p = i / ((size_t) w2 * h2);
      out[i] = inp[(p * h + y / 2) * w + x / 2];
    }
}

// i indexes the (planes, h, w) input gradient.
__global__ void
upsample2_backward_kernel (float *dinp, const float *dout, size_t n_in, int h, int w)
{
  const size_t w2 = 2 * (size_t) w;
  for (size_t i = blockIdx.x * (size_t) blockDim.x + threadIdx.x; i < n_in;
       i += (size_t) gridDim.x * blockDim.x)
    {
      const size_t x = i % w, y = (i / w) % h, p = i / ((size_t) w * h);
      const float *d = dout + (p * 2 * h + 2 * y) * w2 + 2 * x;
      dinp[i] = d[0] + d[1] + d[w2] + d[w2 + 1];
    }
}

}  // namespace

extern "C" cudaError_t
ns_cuda_maxpool2_forward (float *out, const float *inp, size_t planes, int h, int w,
                          cudaStream_t stream)
{
  const size_t n = planes * (size_t) (h / 2) * (size_t) (w / 2);
  if (n == 0)
    return cudaSuccess;
  maxpool2_forward_kernel<<<blocks_for (n), threads, 0, stream>>> (out, inp, n, h, w);
  return cudaGetLastError ();
}

extern "C" cudaError_t
ns_cuda_maxpool2_backward (float *dinp, const float *dout, const float *inp, size_t planes,
                           int h, int w, cudaStream_t stream)
{
  const size_t n = planes * (size_t) (h / 2) * (size_t) (w / 2);
  if (n == 0)
    return cudaSuccess;
  maxpool2_backward_kernel<<<blocks_for (n), threads, 0, stream>>> (dinp, dout, inp, n, h, w);
  return cudaGetLastError ();
}

extern "C" cudaError_t
ns_cuda_upsample2_forward (float *out, const float *inp, size_t planes, int h, int w,
                           cudaStream_t stream)
{
  const size_t n = planes * (size_t) (2 * h) * (size_t) (2 * w);
  if (n == 0)
    return cudaSuccess;
  upsample2_forward_kernel<<<blocks_for (n), threads, 0, stream>>> (out, inp, n, h, w);
  return cudaGetLastError ();
}

extern "C" cudaError_t
ns_cuda_upsample2_backward (float *dinp, const float *dout, size_t planes, int h, int w,
                            cudaStream_t stream)
{
  const size_t n = planes * (size_t) h * (size_t) w;
  if (n == 0)
    return cudaSuccess;
  upsample2_backward_kernel<<<blocks_for (n), threads, 0, stream>>> (dinp, dout, n, h, w);
  return cudaGetLastError ();
}
