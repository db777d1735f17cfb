// SPDX-License-Identifier: MIT
//
// ns-cuda-adam.cu: AdamW as one multi-tensor kernel: every parameter of the model lives in
// one flat allocation (ns_tensor_new_view ()), so one launch updates them all.
//
// Per element, in double (the kernel is memory bound, the arithmetic is free):
//   m = b1 m + (1 - b1) g;  v = b2 v + (1 - b2) g^2;
//   param -= lr (m / c1 / (sqrt (v / c2) + eps) + wd param),  c1 = 1 - b1^t, c2 = 1 - b2^t.
#include "ns-cuda-kernels.h"

namespace {

const int threads = 256;

__global__ void
adam_kernel (float *params, const float *grads, float *m, float *v, size_t n, double lr,
             double b1, double b2, double eps, double wd, double c1, double c2)
{
  for (size_t i = blockIdx.x * (size_t) blockDim.x + threadIdx.x; i < n;
       i += (size_t) gridDim.x * blockDim.x)
    {
      const double g = grads[i];
      const double mi = b1 * (double) m[i] + (1.0 - b1) * g;
      const double vi = b2 * (double) v[i] + (1.0 - b2) * g * g;
      m[i] = (float) mi;
      v[i] = (float) vi;
      const double step = (mi / c1) / (sqrt (vi / c2) + eps);
      const double p = params[i];
      params[i] = (float) (p - lr * (step + wd * p));
    }
}

}  // namespace

extern "C" cudaError_t
ns_cuda_adam (float *params, const float *grads, float *m, float *v, size_t n, double lr,
              double beta1, double beta2, double eps, double weight_decay, double c1,
              double c2, cudaStream_t stream)
{
  if (n == 0)
    return cudaSuccess;
  size_t b = (n + threads - 1) / threads;
  adam_kernel<<<(unsigned int) (b < 8192 ? b : 8192), threads, 0, stream>>> (
    params, grads, m, v, n, lr, beta1, beta2, eps, weight_decay, c1, c2);
  return cudaGetLastError ();
}
