// SPDX-License-Identifier: MIT
//
// ns-cuda-probe.cu: a device self-test run once when the CUDA backend starts: a kernel
// writes a known pattern that the host reads back, so that a driver/runtime mismatch or
// an architecture without sm_90 code (nor PTX it can JIT) is reported as a clear error
// at start-up instead of as wrong results later.
#include <cuda_runtime.h>
#include <cstdio>

extern "C" {
int ns_cuda_probe_kernel (char *message, int message_len);
}

static __global__ void
iota_kernel (int *out, int n)
{
  int i = blockIdx.x * blockDim.x + threadIdx.x;
  if (i < n)
    out[i] = 3 * i + 1;
}

// Returns 0 when the kernel ran and wrote what it should; else a CUDA error code and a
// message.
extern "C" int
ns_cuda_probe_kernel (char *message, int message_len)
{
  const int n = 1000;
  int *dev = nullptr;
  int host[n];
  cudaError_t err = cudaMalloc (&dev, n * sizeof (int));
  if (err == cudaSuccess)
    {
      iota_kernel<<<(n + 255) / 256, 256>>> (dev, n);
      err = cudaGetLastError ();
    }
  if (err == cudaSuccess)
    err = cudaMemcpy (host, dev, n * sizeof (int), cudaMemcpyDeviceToHost);
  if (dev != nullptr)
    cudaFree (dev);
  if (err != cudaSuccess)
    {
      snprintf (message, message_len, "%s", cudaGetErrorString (err));
      return (int) err;
    }
  for (int i = 0; i < n; i++)
    if (host[i] != 3 * i + 1)
      {
        snprintf (message, message_len, "self-test kernel wrote %d at %d, expected %d",
                  host[i], i, 3 * i + 1);
        return -1;
      }
  return 0;
}
