/* SPDX-License-Identifier: MIT
 *
 * ns-backend-cuda.c: the CUDA + cuDNN backend: device discovery and start-up checks.
 *
 * Start-up is careful because it runs on every `--device auto`: no device, a driver older
 * than the runtime, or a card the compiled code cannot run on each give a GError (and
 * `auto` then falls back to the CPU), never an abort.  The op table itself (cuDNN
 * convolutions and batch-norm, own kernels for the rest) is issue 5's work and not in
 * this build yet: with a usable GPU, starting the backend says so plainly.
 */
#define G_LOG_DOMAIN "ns-cuda"

#include "ns-backend-private.h"

#include <cuda_runtime.h>
#include <cudnn.h>

int ns_cuda_probe_kernel (char *message, int message_len);

GPtrArray *
_ns_backend_cuda_list_devices (GError **error)
{
  int count = 0;
  cudaError_t err = cudaGetDeviceCount (&count);
  if (err != cudaSuccess)
    {
      g_set_error (error, NS_NET_ERROR, NS_NET_ERROR_NO_BACKEND,
                   "no usable CUDA device: %s", cudaGetErrorString (err));
      return NULL;
    }

  GPtrArray *devices = g_ptr_array_new_with_free_func (g_free);
  size_t cudnn_version = cudnnGetVersion ();
  for (int i = 0; i < count; i++)
    {
      struct cudaDeviceProp prop;
      size_t free_b = 0, total_b = 0;
      if (cudaGetDeviceProperties (&prop, i) != cudaSuccess)
        continue;
      if (cudaSetDevice (i) == cudaSuccess)
        cudaMemGetInfo (&free_b, &total_b);
      g_ptr_array_add (devices,
                       g_strdup_printf ("cuda:%d %s, %.1f GiB (%.1f GiB free), compute "
                                        "capability %d.%d, cuDNN %zu.%zu.%zu",
                                        i, prop.name, total_b / 1073741824.0,
                                        free_b / 1073741824.0, prop.major, prop.minor,
                                        cudnn_version / 10000, (cudnn_version / 100) % 100,
                                        cudnn_version % 100));
    }
  return devices;
}

NsBackend *
_ns_backend_cuda_new (GError **error)
{
  g_autoptr (GPtrArray) devices = _ns_backend_cuda_list_devices (error);
  char message[256] = "";

  if (devices == NULL)
    return NULL;
  if (devices->len == 0)
    {
      g_set_error (error, NS_NET_ERROR, NS_NET_ERROR_NO_BACKEND, "no CUDA device found");
      return NULL;
    }
  if (ns_cuda_probe_kernel (message, sizeof message) != 0)
    {
      g_set_error (error, NS_NET_ERROR, NS_NET_ERROR_NO_BACKEND,
                   "CUDA device %s failed its self-test: %s",
                   (const char *) devices->pdata[0], message);
      return NULL;
    }
  g_set_error (error, NS_NET_ERROR, NS_NET_ERROR_NO_BACKEND,
               "found %s, but this build's CUDA backend has no network ops yet "
               "(use --device cpu)", (const char *) devices->pdata[0]);
  return NULL;
}
