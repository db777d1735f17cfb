/* SPDX-License-Identifier: MIT
 *
 * ns-cuda-dnn.c: every cuDNN call of the CUDA backend: the handle, convolutions (forward,
 * backward data, backward filter) and batch normalisation, through cuDNN 9's legacy API
 * (libcudnn_cnn / libcudnn_ops): float32 NCHW, or bf16 NHWC for the tensor cores.
 *
 * Algorithms: for each shape (direction, type, sizes, stride, padding, groups) a ranked
 * list is made once and kept in a hash table: first the algorithm a previous run chose
 * (a cache file per device model and cuDNN version under the user cache directory), else
 * cudnnFind*AlgorithmEx's measured ranking on the call's own buffers (only where the
 * output is overwritten anyway), then the heuristics (cudnnGet*Algorithm_v7).  The first
 * entry that runs is remembered (and written to the cache file when the backend is
 * freed), so that the steady state costs one table look-up per call.  Entries whose
 * workspace exceeds the limit are dropped; in fp32 mode the math type is forced to FMA
 * (no TF32: the fp32 mode is the checking mode) and FFT algorithms are left out (their
 * rounding differs from a direct sum by more than the checks allow).  A plain implicit
 * GEMM ends every list.  A shape for which nothing runs is remembered too: the callers
 * then fall back (bf16 -> fp32) or report.
 *
 * The workspace is one buffer that grows to the largest request.
 */
#define G_LOG_DOMAIN "neuroseg-net"

#include "ns-cuda-private.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

typedef enum
{
  DIR_FORWARD,
  DIR_BACKWARD_DATA,
  DIR_BACKWARD_FILTER,
} ConvDir;

#define MAX_CANDIDATES 12

/* Packs an (algorithm, math type) pair as a non-NULL pointer for the hints table. */
#define HINT_PACK(algo, math) GINT_TO_POINTER (((algo) << 4 | (int) (math)) + 1)
#define HINT_ALGO(p) ((GPOINTER_TO_INT (p) - 1) >> 4)
#define HINT_MATH(p) ((cudnnMathType_t) ((GPOINTER_TO_INT (p) - 1) & 15))

typedef struct
{
  const char *key;     /* the shape's key in cb->algos (owned by the table) */
  int n;
  int algo[MAX_CANDIDATES];
  cudnnMathType_t math[MAX_CANDIDATES];
  int chosen;          /* index of the entry that ran, -1 before the first call */
  gboolean none;       /* nothing ran for this shape */
} ConvAlgos;

static const float one = 1.0f;
static const float zero = 0.0f;

gboolean
_ns_cuda_check_dnn (NsCudaBackend *cb, cudnnStatus_t status, const char *what)
{
  if (status == CUDNN_STATUS_SUCCESS)
    return TRUE;
  _ns_backend_fail (cb->be, status == CUDNN_STATUS_ALLOC_FAILED ? NS_NET_ERROR_OUT_OF_MEMORY
                                                                 : NS_NET_ERROR_FAILED,
                    "cuDNN %s: %s", what, cudnnGetErrorString (status));
  return FALSE;
}

/* ---- the algorithm cache file ---------------------------------------------------------------
 * One per device model and cuDNN version, under the user cache directory: a line per shape,
 * "key<TAB>algorithm<TAB>math type", the choice that ran (measured by cudnnFind where it
 * could), so that a second run neither measures again nor tries algorithms that fail.  A
 * missing, unreadable or unwritable file only costs time. */

static void
load_hints (NsCudaBackend *cb)
{
  struct cudaDeviceProp prop;
  g_autofree char *text = NULL;

  if (cudaGetDeviceProperties (&prop, cb->device) != cudaSuccess)
    {
      (void) cudaGetLastError ();
      return;
    }
  g_autofree char *name = g_strdup_printf ("cudnn-algos-%s-sm%d%d-cudnn%zu.tsv", prop.name,
                                           prop.major, prop.minor, cudnnGetVersion ());
  g_strcanon (name, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-", '-');
  cb->hints_path = g_build_filename (g_get_user_cache_dir (), "neuroseg", name, NULL);
  if (!g_file_get_contents (cb->hints_path, &text, NULL, NULL))
    return;
  g_auto (GStrv) lines = g_strsplit (text, "\n", -1);
  for (int i = 0; lines[i] != NULL; i++)
    {
      g_auto (GStrv) f = g_strsplit (lines[i], "\t", 3);
      int algo, math;
      if (g_strv_length (f) == 3 && sscanf (f[1], "%d", &algo) == 1
          && sscanf (f[2], "%d", &math) == 1 && algo >= 0 && algo < 64 && math >= 0
          && math < 16)
        g_hash_table_replace (cb->algo_hints, g_strdup (f[0]), HINT_PACK (algo, math));
    }
  g_debug ("%u cuDNN algorithm choices from %s", g_hash_table_size (cb->algo_hints),
           cb->hints_path);
}

static void
save_hints (NsCudaBackend *cb)
{
  g_autoptr (GString) text = g_string_new (NULL);
  g_autoptr (GError) error = NULL;
  GHashTableIter it;
  gpointer key, value;

  if (cb->hints_path == NULL)
    return;
  g_hash_table_iter_init (&it, cb->algo_hints);
  while (g_hash_table_iter_next (&it, &key, &value))
    g_string_append_printf (text, "%s\t%d\t%d\n", (const char *) key, HINT_ALGO (value),
                            (int) HINT_MATH (value));
  g_autofree char *dir = g_path_get_dirname (cb->hints_path);
  if (g_mkdir_with_parents (dir, 0755) != 0
      || !g_file_set_contents (cb->hints_path, text->str, text->len, &error))
    g_debug ("cuDNN algorithm cache %s not written: %s", cb->hints_path,
             error != NULL ? error->message : g_strerror (errno));
}

gboolean
_ns_cuda_dnn_init (NsCudaBackend *cb, GError **error)
{
  cudnnStatus_t st = cudnnCreate (&cb->dnn);
  if (st == CUDNN_STATUS_SUCCESS)
    st = cudnnSetStream (cb->dnn, cb->stream);
  if (st == CUDNN_STATUS_SUCCESS)
    st = cudnnCreateTensorDescriptor (&cb->x_desc);
  if (st == CUDNN_STATUS_SUCCESS)
    st = cudnnCreateTensorDescriptor (&cb->y_desc);
  if (st == CUDNN_STATUS_SUCCESS)
    st = cudnnCreateTensorDescriptor (&cb->b_desc);
  if (st == CUDNN_STATUS_SUCCESS)
    st = cudnnCreateFilterDescriptor (&cb->w_desc);
  if (st == CUDNN_STATUS_SUCCESS)
    st = cudnnCreateConvolutionDescriptor (&cb->conv_desc);
  if (st != CUDNN_STATUS_SUCCESS)
    {
      g_set_error (error, NS_NET_ERROR, NS_NET_ERROR_NO_BACKEND, "cuDNN does not start: %s",
                   cudnnGetErrorString (st));
      return FALSE;
    }

  size_t free_b = 0, total_b = 0;
  if (cudaMemGetInfo (&free_b, &total_b) != cudaSuccess)
    {
      (void) cudaGetLastError ();
      free_b = 0;
    }
  cb->workspace_limit = MIN ((size_t) 1 << 30, MAX (free_b / 8, (size_t) 64 << 20));
  cb->algos = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  cb->algo_hints = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  load_hints (cb);
  return TRUE;
}

void
_ns_cuda_dnn_fini (NsCudaBackend *cb)
{
  if (cb->algo_hints != NULL && cb->algo_hints_dirty)
    save_hints (cb);
  g_clear_pointer (&cb->algo_hints, g_hash_table_unref);
  g_clear_pointer (&cb->hints_path, g_free);
  g_clear_pointer (&cb->algos, g_hash_table_unref);
  if (cb->conv_desc != NULL)
    cudnnDestroyConvolutionDescriptor (cb->conv_desc);
  if (cb->w_desc != NULL)
    cudnnDestroyFilterDescriptor (cb->w_desc);
  if (cb->b_desc != NULL)
    cudnnDestroyTensorDescriptor (cb->b_desc);
  if (cb->y_desc != NULL)
    cudnnDestroyTensorDescriptor (cb->y_desc);
  if (cb->x_desc != NULL)
    cudnnDestroyTensorDescriptor (cb->x_desc);
  if (cb->dnn != NULL)
    cudnnDestroy (cb->dnn);
  if (cb->workspace != NULL)
    cudaFree (cb->workspace);
  cb->workspace = NULL;
  cb->workspace_size = 0;
}

/* The workspace, grown to `bytes` (cudaFree waits for the queued work that uses it);
 * NULL when the device has no memory for it. */
static void *
workspace_try (NsCudaBackend *cb, size_t bytes, cudaError_t *err)
{
  *err = cudaSuccess;
  if (bytes == 0)
    return NULL;
  if (bytes <= cb->workspace_size)
    return cb->workspace;
  if (cb->workspace != NULL)
    cudaFree (cb->workspace);
  cb->workspace = NULL;
  cb->workspace_size = 0;
  *err = cudaMalloc (&cb->workspace, bytes);
  if (*err != cudaSuccess)
    {
      (void) cudaGetLastError ();
      cb->workspace = NULL;
      return NULL;
    }
  cb->workspace_size = bytes;
  return cb->workspace;
}

static void *
workspace (NsCudaBackend *cb, size_t bytes)
{
  cudaError_t err;
  void *ws = workspace_try (cb, bytes, &err);
  if (bytes > 0 && ws == NULL)
    {
      _ns_backend_fail (cb->be, NS_NET_ERROR_OUT_OF_MEMORY, "cuDNN workspace of %zu MiB: %s",
                        bytes >> 20, cudaGetErrorString (err));
    }
  return ws;
}

static cudnnStatus_t
set_conv_descs (NsCudaBackend *cb, const NsCudaConvGeom *g)
{
  /* bf16 operands are NHWC copies (ns-cuda-conv.c); dimensions are given as N, C, H, W
   * (filters K, C, kh, kw) in either format. */
  const cudnnDataType_t type = g->bf16 ? CUDNN_DATA_BFLOAT16 : CUDNN_DATA_FLOAT;
  const cudnnTensorFormat_t format = g->bf16 ? CUDNN_TENSOR_NHWC : CUDNN_TENSOR_NCHW;
  cudnnStatus_t st;

  st = cudnnSetTensor4dDescriptor (cb->x_desc, format, type, g->x[0], g->x[1], g->x[2],
                                   g->x[3]);
  if (st == CUDNN_STATUS_SUCCESS)
    st = cudnnSetTensor4dDescriptor (cb->y_desc, format, type, g->y[0], g->y[1], g->y[2],
                                     g->y[3]);
  if (st == CUDNN_STATUS_SUCCESS)
    st = cudnnSetFilter4dDescriptor (cb->w_desc, type, format, g->w[0], g->w[1], g->w[2],
                                     g->w[3]);
  if (st == CUDNN_STATUS_SUCCESS)
    st = cudnnSetConvolution2dDescriptor (cb->conv_desc, g->pad, g->pad, g->stride,
                                          g->stride, 1, 1, CUDNN_CROSS_CORRELATION,
                                          CUDNN_DATA_FLOAT);
  if (st == CUDNN_STATUS_SUCCESS)
    st = cudnnSetConvolutionGroupCount (cb->conv_desc, g->groups);
  if (st == CUDNN_STATUS_SUCCESS)
    st = cudnnSetConvolutionMathType (cb->conv_desc,
                                      g->bf16 ? CUDNN_TENSOR_OP_MATH : CUDNN_FMA_MATH);
  return st;
}

static gboolean
is_fft (ConvDir dir, int algo)
{
  switch (dir)
    {
    case DIR_FORWARD:
      return algo == CUDNN_CONVOLUTION_FWD_ALGO_FFT
             || algo == CUDNN_CONVOLUTION_FWD_ALGO_FFT_TILING;
    case DIR_BACKWARD_DATA:
      return algo == CUDNN_CONVOLUTION_BWD_DATA_ALGO_FFT
             || algo == CUDNN_CONVOLUTION_BWD_DATA_ALGO_FFT_TILING;
    case DIR_BACKWARD_FILTER:
    default:
      return algo == CUDNN_CONVOLUTION_BWD_FILTER_ALGO_FFT
             || algo == CUDNN_CONVOLUTION_BWD_FILTER_ALGO_FFT_TILING;
    }
}

static void
add_candidate (NsCudaBackend *cb, ConvAlgos *a, const NsCudaConvGeom *g, ConvDir dir,
               int algo, cudnnStatus_t status, size_t memory, cudnnMathType_t math)
{
  if (status != CUDNN_STATUS_SUCCESS || memory > cb->workspace_limit
      || a->n >= MAX_CANDIDATES - 1)
    return;
  if (!g->bf16 && (is_fft (dir, algo) || math == CUDNN_TENSOR_OP_MATH
                   || math == CUDNN_TENSOR_OP_MATH_ALLOW_CONVERSION))
    return;
  for (int i = 0; i < a->n; i++)
    if (a->algo[i] == algo && a->math[i] == math)
      return;
  a->algo[a->n] = algo;
  a->math[a->n] = math;
  a->n++;
}

/* Candidates measured by cudnnFind*AlgorithmEx on the call's own buffers (it writes the
 * output, so only where the output is overwritten anyway: beta 0), fastest first. */
static void
find_algos (NsCudaBackend *cb, ConvAlgos *algos, const NsCudaConvGeom *g, ConvDir dir,
            const void *a, const void *b, void *c)
{
  cudaError_t err;
  void *ws = workspace_try (cb, cb->workspace_limit, &err);
  size_t ws_bytes = ws != NULL ? cb->workspace_limit : 0;
  int returned = 0;
  cudnnStatus_t st;

  switch (dir)
    {
    case DIR_FORWARD:
      {
        cudnnConvolutionFwdAlgoPerf_t perf[CUDNN_CONVOLUTION_FWD_ALGO_COUNT];
        st = cudnnFindConvolutionForwardAlgorithmEx (cb->dnn, cb->x_desc, a, cb->w_desc, b,
                                                     cb->conv_desc, cb->y_desc, c,
                                                     CUDNN_CONVOLUTION_FWD_ALGO_COUNT,
                                                     &returned, perf, ws, ws_bytes);
        for (int i = 0; st == CUDNN_STATUS_SUCCESS && i < returned; i++)
          add_candidate (cb, algos, g, dir, perf[i].algo, perf[i].status, perf[i].memory,
                         perf[i].mathType);
      }
      break;
    case DIR_BACKWARD_DATA:
      {
        cudnnConvolutionBwdDataAlgoPerf_t perf[CUDNN_CONVOLUTION_BWD_DATA_ALGO_COUNT];
        st = cudnnFindConvolutionBackwardDataAlgorithmEx (cb->dnn, cb->w_desc, b, cb->y_desc,
                                                          a, cb->conv_desc, cb->x_desc, c,
                                                          CUDNN_CONVOLUTION_BWD_DATA_ALGO_COUNT,
                                                          &returned, perf, ws, ws_bytes);
        for (int i = 0; st == CUDNN_STATUS_SUCCESS && i < returned; i++)
          add_candidate (cb, algos, g, dir, perf[i].algo, perf[i].status, perf[i].memory,
                         perf[i].mathType);
      }
      break;
    case DIR_BACKWARD_FILTER:
    default:
      {
        cudnnConvolutionBwdFilterAlgoPerf_t perf[CUDNN_CONVOLUTION_BWD_FILTER_ALGO_COUNT];
        st = cudnnFindConvolutionBackwardFilterAlgorithmEx (
          cb->dnn, cb->x_desc, a, cb->y_desc, b, cb->conv_desc, cb->w_desc, c,
          CUDNN_CONVOLUTION_BWD_FILTER_ALGO_COUNT, &returned, perf, ws, ws_bytes);
        for (int i = 0; st == CUDNN_STATUS_SUCCESS && i < returned; i++)
          add_candidate (cb, algos, g, dir, perf[i].algo, perf[i].status, perf[i].memory,
                         perf[i].mathType);
      }
      break;
    }
  if (st != CUDNN_STATUS_SUCCESS)
    g_debug ("cuDNN find for %s: %s (heuristics only)", algos->key, cudnnGetErrorString (st));
}

/* The ranked candidates for the shape whose descriptors are set: the algorithm an earlier
 * run chose for it (the cache file), else cudnnFind's ranking when the call allows it,
 * then the heuristics, then a plain implicit GEMM. */
static ConvAlgos *
lookup_algos (NsCudaBackend *cb, const NsCudaConvGeom *g, ConvDir dir, const void *pa,
              const void *pb, void *pc, float beta)
{
  g_autofree char *key = g_strdup_printf ("%d %d x%d,%d,%d,%d w%d,%d,%d,%d y%d,%d,%d,%d "
                                          "s%d p%d g%d", dir, g->bf16, g->x[0], g->x[1],
                                          g->x[2], g->x[3], g->w[0], g->w[1], g->w[2],
                                          g->w[3], g->y[0], g->y[1], g->y[2], g->y[3],
                                          g->stride, g->pad, g->groups);
  ConvAlgos *a = g_hash_table_lookup (cb->algos, key);
  if (a != NULL)
    return a;

  a = g_new0 (ConvAlgos, 1);
  a->chosen = -1;
  a->key = key;
  gpointer hint = g_hash_table_lookup (cb->algo_hints, key);
  if (hint != NULL)
    add_candidate (cb, a, g, dir, HINT_ALGO (hint), CUDNN_STATUS_SUCCESS, 0, HINT_MATH (hint));
  else if (beta == 0.0f)
    find_algos (cb, a, g, dir, pa, pb, pc);

  int returned = 0;
  cudnnStatus_t st;
  switch (dir)
    {
    case DIR_FORWARD:
      {
        cudnnConvolutionFwdAlgoPerf_t perf[CUDNN_CONVOLUTION_FWD_ALGO_COUNT];
        st = cudnnGetConvolutionForwardAlgorithm_v7 (cb->dnn, cb->x_desc, cb->w_desc,
                                                     cb->conv_desc, cb->y_desc,
                                                     CUDNN_CONVOLUTION_FWD_ALGO_COUNT,
                                                     &returned, perf);
        for (int i = 0; st == CUDNN_STATUS_SUCCESS && i < returned; i++)
          add_candidate (cb, a, g, dir, perf[i].algo, perf[i].status, perf[i].memory,
                         perf[i].mathType);
        add_candidate (cb, a, g, dir, CUDNN_CONVOLUTION_FWD_ALGO_IMPLICIT_GEMM,
                       CUDNN_STATUS_SUCCESS, 0,
                       g->bf16 ? CUDNN_TENSOR_OP_MATH : CUDNN_FMA_MATH);
      }
      break;
    case DIR_BACKWARD_DATA:
      {
        cudnnConvolutionBwdDataAlgoPerf_t perf[CUDNN_CONVOLUTION_BWD_DATA_ALGO_COUNT];
        st = cudnnGetConvolutionBackwardDataAlgorithm_v7 (cb->dnn, cb->w_desc, cb->y_desc,
                                                          cb->conv_desc, cb->x_desc,
                                                          CUDNN_CONVOLUTION_BWD_DATA_ALGO_COUNT,
                                                          &returned, perf);
        for (int i = 0; st == CUDNN_STATUS_SUCCESS && i < returned; i++)
          add_candidate (cb, a, g, dir, perf[i].algo, perf[i].status, perf[i].memory,
                         perf[i].mathType);
        add_candidate (cb, a, g, dir, CUDNN_CONVOLUTION_BWD_DATA_ALGO_1,
                       CUDNN_STATUS_SUCCESS, 0,
                       g->bf16 ? CUDNN_TENSOR_OP_MATH : CUDNN_FMA_MATH);
        add_candidate (cb, a, g, dir, CUDNN_CONVOLUTION_BWD_DATA_ALGO_0,
                       CUDNN_STATUS_SUCCESS, 0,
                       g->bf16 ? CUDNN_TENSOR_OP_MATH : CUDNN_FMA_MATH);
      }
      break;
    case DIR_BACKWARD_FILTER:
    default:
      {
        cudnnConvolutionBwdFilterAlgoPerf_t perf[CUDNN_CONVOLUTION_BWD_FILTER_ALGO_COUNT];
        st = cudnnGetConvolutionBackwardFilterAlgorithm_v7 (
          cb->dnn, cb->x_desc, cb->y_desc, cb->conv_desc, cb->w_desc,
          CUDNN_CONVOLUTION_BWD_FILTER_ALGO_COUNT, &returned, perf);
        for (int i = 0; st == CUDNN_STATUS_SUCCESS && i < returned; i++)
          add_candidate (cb, a, g, dir, perf[i].algo, perf[i].status, perf[i].memory,
                         perf[i].mathType);
        add_candidate (cb, a, g, dir, CUDNN_CONVOLUTION_BWD_FILTER_ALGO_1,
                       CUDNN_STATUS_SUCCESS, 0,
                       g->bf16 ? CUDNN_TENSOR_OP_MATH : CUDNN_FMA_MATH);
        add_candidate (cb, a, g, dir, CUDNN_CONVOLUTION_BWD_FILTER_ALGO_0,
                       CUDNN_STATUS_SUCCESS, 0,
                       g->bf16 ? CUDNN_TENSOR_OP_MATH : CUDNN_FMA_MATH);
      }
      break;
    }
  if (st != CUDNN_STATUS_SUCCESS)
    g_debug ("cuDNN heuristics for %s: %s (trying the implicit GEMM only)", key,
             cudnnGetErrorString (st));
  g_hash_table_insert (cb->algos, g_steal_pointer (&key), a);
  return a;
}

static cudnnStatus_t
workspace_size (NsCudaBackend *cb, ConvDir dir, int algo, size_t *bytes)
{
  switch (dir)
    {
    case DIR_FORWARD:
      return cudnnGetConvolutionForwardWorkspaceSize (cb->dnn, cb->x_desc, cb->w_desc,
                                                      cb->conv_desc, cb->y_desc,
                                                      (cudnnConvolutionFwdAlgo_t) algo,
                                                      bytes);
    case DIR_BACKWARD_DATA:
      return cudnnGetConvolutionBackwardDataWorkspaceSize (cb->dnn, cb->w_desc, cb->y_desc,
                                                           cb->conv_desc, cb->x_desc,
                                                           (cudnnConvolutionBwdDataAlgo_t) algo,
                                                           bytes);
    case DIR_BACKWARD_FILTER:
    default:
      return cudnnGetConvolutionBackwardFilterWorkspaceSize (
        cb->dnn, cb->x_desc, cb->y_desc, cb->conv_desc, cb->w_desc,
        (cudnnConvolutionBwdFilterAlgo_t) algo, bytes);
    }
}

/* a, b: the two inputs in the direction's order (forward: x, w; backward data: dy, w;
 * backward filter: x, dy); c: the output. */
static cudnnStatus_t
run_conv (NsCudaBackend *cb, ConvDir dir, int algo, const void *a, const void *b, void *c,
          float beta, void *ws, size_t ws_bytes)
{
  switch (dir)
    {
    case DIR_FORWARD:
      return cudnnConvolutionForward (cb->dnn, &one, cb->x_desc, a, cb->w_desc, b,
                                      cb->conv_desc, (cudnnConvolutionFwdAlgo_t) algo, ws,
                                      ws_bytes, &beta, cb->y_desc, c);
    case DIR_BACKWARD_DATA:
      return cudnnConvolutionBackwardData (cb->dnn, &one, cb->w_desc, b, cb->y_desc, a,
                                           cb->conv_desc, (cudnnConvolutionBwdDataAlgo_t) algo,
                                           ws, ws_bytes, &beta, cb->x_desc, c);
    case DIR_BACKWARD_FILTER:
    default:
      return cudnnConvolutionBackwardFilter (cb->dnn, &one, cb->x_desc, a, cb->y_desc, b,
                                             cb->conv_desc,
                                             (cudnnConvolutionBwdFilterAlgo_t) algo, ws,
                                             ws_bytes, &beta, cb->w_desc, c);
    }
}

static gboolean
conv (NsCudaBackend *cb, ConvDir dir, const NsCudaConvGeom *g, const void *a, const void *b,
      void *c, float beta)
{
  cudnnStatus_t st = set_conv_descs (cb, g);
  cb->last_dnn_status = st;
  if (st != CUDNN_STATUS_SUCCESS)
    {
      g_debug ("cuDNN convolution descriptors (%s): %s", g->bf16 ? "bf16" : "fp32",
               cudnnGetErrorString (st));
      return FALSE;
    }

  ConvAlgos *algos = lookup_algos (cb, g, dir, a, b, c, beta);
  if (algos->none)
    return FALSE;

  for (int i = MAX (algos->chosen, 0); i < algos->n; i++)
    {
      size_t bytes = 0;
      st = cudnnSetConvolutionMathType (cb->conv_desc,
                                        g->bf16 ? algos->math[i] : CUDNN_FMA_MATH);
      if (st == CUDNN_STATUS_SUCCESS)
        st = workspace_size (cb, dir, algos->algo[i], &bytes);
      if (st != CUDNN_STATUS_SUCCESS || bytes > cb->workspace_limit)
        continue;
      void *ws = workspace (cb, bytes);
      if (bytes > 0 && ws == NULL)
        return FALSE;
      st = run_conv (cb, dir, algos->algo[i], a, b, c, beta, ws, bytes);
      if (st == CUDNN_STATUS_SUCCESS)
        {
          if (algos->chosen != i)
            {
              gpointer hint = HINT_PACK (algos->algo[i], algos->math[i]);
              if (g_hash_table_lookup (cb->algo_hints, algos->key) != hint)
                {
                  g_hash_table_replace (cb->algo_hints, g_strdup (algos->key), hint);
                  cb->algo_hints_dirty = TRUE;
                }
            }
          algos->chosen = i;
          return TRUE;
        }
      g_debug ("cuDNN convolution direction %d algorithm %d: %s", dir, algos->algo[i],
               cudnnGetErrorString (st));
      cb->last_dnn_status = st;
    }
  g_debug ("no cuDNN algorithm ran for %s", algos->key);
  algos->none = TRUE;
  return FALSE;
}

gboolean
_ns_cuda_dnn_conv_forward (NsCudaBackend *cb, const NsCudaConvGeom *g, const void *x,
                           const void *w, void *y, float beta)
{
  return conv (cb, DIR_FORWARD, g, x, w, y, beta);
}

gboolean
_ns_cuda_dnn_conv_backward_data (NsCudaBackend *cb, const NsCudaConvGeom *g, const void *dy,
                                 const void *w, void *dx, float beta)
{
  return conv (cb, DIR_BACKWARD_DATA, g, dy, w, dx, beta);
}

gboolean
_ns_cuda_dnn_conv_backward_filter (NsCudaBackend *cb, const NsCudaConvGeom *g, const void *x,
                                   const void *dy, void *dw, float beta)
{
  return conv (cb, DIR_BACKWARD_FILTER, g, x, dy, dw, beta);
}

/* A 4 x 4 image of 0..15 convolved with a 3 x 3 box of ones: 45, 54, 81, 90.  Run once at
 * start-up, so that a cuDNN whose convolution library does not load (or does not run on
 * this card) refuses the backend (and `auto` takes the CPU) instead of failing every op. */
gboolean
_ns_cuda_dnn_self_test (NsCudaBackend *cb, GError **error)
{
  const NsCudaConvGeom g = { { 1, 1, 4, 4 }, { 1, 1, 3, 3 }, { 1, 1, 2, 2 }, 1, 0, 1, FALSE };
  float host[16 + 9 + 4], *dev = NULL;
  static const float want[4] = { 45.0f, 54.0f, 81.0f, 90.0f };
  gboolean ok = FALSE;

  for (int i = 0; i < 16; i++)
    host[i] = (float) i;
  for (int i = 16; i < 25; i++)
    host[i] = 1.0f;
  cudaError_t err = cudaMalloc ((void **) &dev, sizeof host);
  if (err == cudaSuccess)
    err = cudaMemcpyAsync (dev, host, 25 * sizeof (float), cudaMemcpyHostToDevice,
                           cb->stream);   /* ordered before the convolution on its stream */
  if (err == cudaSuccess && conv (cb, DIR_FORWARD, &g, dev, dev + 16, dev + 28, 0.0f))
    {
      err = cudaStreamSynchronize (cb->stream);
      if (err == cudaSuccess)
        err = cudaMemcpy (host + 25, dev + 28, 4 * sizeof (float), cudaMemcpyDeviceToHost);
      ok = err == cudaSuccess && memcmp (host + 25, want, sizeof want) == 0;
    }
  if (dev != NULL)
    cudaFree (dev);
  (void) cudaGetLastError ();
  if (!ok)
    g_set_error (error, NS_NET_ERROR, NS_NET_ERROR_NO_BACKEND,
                 "cuDNN convolutions do not run here: %s",
                 err != cudaSuccess ? cudaGetErrorString (err)
                 : cb->last_dnn_status != CUDNN_STATUS_SUCCESS
                   ? cudnnGetErrorString (cb->last_dnn_status)
                   : "wrong result");
  return ok;
}

/* ---- batch normalisation ------------------------------------------------------------------ */

static cudnnStatus_t
set_bn_descs (NsCudaBackend *cb, const int shape[4])
{
  cudnnStatus_t st = cudnnSetTensor4dDescriptor (cb->x_desc, CUDNN_TENSOR_NCHW,
                                                 CUDNN_DATA_FLOAT, shape[0], shape[1],
                                                 shape[2], shape[3]);
  if (st == CUDNN_STATUS_SUCCESS)
    st = cudnnSetTensor4dDescriptor (cb->b_desc, CUDNN_TENSOR_NCHW, CUDNN_DATA_FLOAT, 1,
                                     shape[1], 1, 1);
  return st;
}

/* cuDNN's training forward keeps the biased variance in save_invstd = 1 / sqrt (var + eps)
 * and the unbiased one in the running variance, as PyTorch (which calls it) documents. */
gboolean
_ns_cuda_dnn_bn_forward_training (NsCudaBackend *cb, const int shape[4], float *out,
                                  float *save_mean, float *save_invstd, const float *inp,
                                  const float *gamma, const float *beta, float *running_mean,
                                  float *running_var, double momentum, double eps)
{
  cudnnStatus_t st = set_bn_descs (cb, shape);
  if (st == CUDNN_STATUS_SUCCESS)
    st = cudnnBatchNormalizationForwardTraining (cb->dnn, CUDNN_BATCHNORM_SPATIAL, &one,
                                                 &zero, cb->x_desc, inp, cb->x_desc, out,
                                                 cb->b_desc, gamma, beta, momentum,
                                                 running_mean, running_var, eps, save_mean,
                                                 save_invstd);
  return _ns_cuda_check_dnn (cb, st, "batch-norm forward (training)");
}

gboolean
_ns_cuda_dnn_bn_forward_inference (NsCudaBackend *cb, const int shape[4], float *out,
                                   const float *inp, const float *gamma, const float *beta,
                                   const float *running_mean, const float *running_var,
                                   double eps)
{
  cudnnStatus_t st = set_bn_descs (cb, shape);
  if (st == CUDNN_STATUS_SUCCESS)
    st = cudnnBatchNormalizationForwardInference (cb->dnn, CUDNN_BATCHNORM_SPATIAL, &one,
                                                  &zero, cb->x_desc, inp, cb->x_desc, out,
                                                  cb->b_desc, gamma, beta, running_mean,
                                                  running_var, eps);
  return _ns_cuda_check_dnn (cb, st, "batch-norm forward (inference)");
}

/* dinp is assigned (alphaDataDiff 1, betaDataDiff 0), dgamma and dbeta accumulate
 * (alphaParamDiff 1, betaParamDiff 1).  With the saved mean and inverse std given, cuDNN
 * does not recompute the statistics. */
gboolean
_ns_cuda_dnn_bn_backward (NsCudaBackend *cb, const int shape[4], float *dinp, float *dgamma,
                          float *dbeta, const float *dout, const float *inp,
                          const float *save_mean, const float *save_invstd,
                          const float *gamma, double eps)
{
  cudnnStatus_t st = set_bn_descs (cb, shape);
  if (st == CUDNN_STATUS_SUCCESS)
    st = cudnnBatchNormalizationBackward (cb->dnn, CUDNN_BATCHNORM_SPATIAL, &one, &zero, &one,
                                          &one, cb->x_desc, inp, cb->x_desc, dout, cb->x_desc,
                                          dinp, cb->b_desc, gamma, dgamma, dbeta, eps,
                                          save_mean, save_invstd);
  return _ns_cuda_check_dnn (cb, st, "batch-norm backward");
}
