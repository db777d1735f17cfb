/* SPDX-License-Identifier: MIT
 *
 * ns-backend-private.h: the function table every backend fills in (ggml style).
 *
 * ns-backend.c checks arguments (shapes, same backend) once and dispatches through
 * NsBackendOps; a backend only computes.  Entries marked OPTIONAL may be NULL: the
 * dispatcher then falls back (synchronize: no-op; set_precision: only FP32 accepted;
 * conv2d fused activation: conv then relu).  Op entries take the same arguments as the
 * public functions in ns-backend.h, with the same accumulate/assign rules.
 *
 * Errors (ggml's graph_compute status, spread over the ops).  Ops return nothing: a GPU
 * runs them later.  A backend reports a failing op with _ns_backend_fail(); the first
 * failure is kept in the backend's status until ns_backend_check() hands it to the
 * caller (at the end of each batch and training step), and the dispatcher skips every
 * compute op meanwhile, so a failure costs nothing more and is never overwritten.
 *
 * Unsupported ops.  Before each op the dispatcher asks the backend's supports_op() with
 * the op's actual tensors and parameters (shape-aware, as ggml's).  An op a backend
 * cannot run goes to the ref backend's implementation on host copies of the tensors
 * (download, compute in double, upload): the result is right, only slower.
 */
#pragma once

#include "ns-backend.h"

G_BEGIN_DECLS

struct _NsTensor
{
  NsBackend *backend;
  int shape[4];          /* logical N, C, H, W */
  gsize n;               /* elements */
  NsTensor *parent;      /* views: the flat tensor they live in, else NULL */
  gsize offset;          /* views: offset in floats into parent */
  gpointer priv;         /* backend storage */
};

typedef struct _NsBackendOps NsBackendOps;

struct _NsBackend
{
  const NsBackendOps *ops;
  char *name;
  char *device;
  NsPrecision precision;
  gsize mem_limit;       /* ns_backend_set_memory_limit (0: none) */
  gsize mem_used;        /* bytes of the live non-view tensors, counted as float32 */
  GError *status;        /* the first failure since the last ns_backend_check (), or NULL */
  guint64 n_host_ops;    /* ops that ran on the host because supports_op said no */
  guint64 host_ops_mask; /* NS_TEST_HOST_OPS: bit (1 << NsOp) forces that op to the host */
  guint64 host_ops_logged; /* ops whose first host run was logged (debug) */
  gpointer priv;
};

/* One op call as supports_op sees it: the public function's tensor arguments in its
 * order (e.g. conv2d backward: dinp, dweight, dbias, dout, inp, weight; absent ones
 * NULL) and its parameters.  For ns_backend_supports_op() (no shapes known) only `op` is
 * set and args[] is all NULL: "can this backend run this kind of op at all". */
typedef struct
{
  NsOp op;
  gboolean backward;
  NsTensor *args[6];
  const NsConv2dParams *conv;   /* CONV2D */
  NsActivation act;             /* RELU */
  gboolean training;            /* BATCHNORM, DROPOUT */
  float eps;                    /* BATCHNORM forward */
} NsOpDesc;

/* FALSE for the question of ns_backend_supports_op(), which has no tensors. */
static inline gboolean
_ns_op_desc_has_tensors (const NsOpDesc *desc)
{
  for (guint i = 0; i < G_N_ELEMENTS (desc->args); i++)
    if (desc->args[i] != NULL)
      return TRUE;
  return FALSE;
}

struct _NsBackendOps
{
  const char *name;

  gboolean (*supports_op)     (NsBackend *be, const NsOpDesc *desc);
  gboolean (*set_precision)   (NsBackend *be, NsPrecision precision, GError **error); /* OPTIONAL */
  void     (*synchronize)     (NsBackend *be);                                        /* OPTIONAL */
  void     (*free)            (NsBackend *be);  /* frees be->priv only */
  /* Host memory the device copies fastest from and to (page-locked), NULL when none can
   * be had; freed with host_free.  Both OPTIONAL: g_try_malloc / g_free.              */
  gpointer (*host_alloc)      (NsBackend *be, gsize bytes);
  void     (*host_free)       (NsBackend *be, gpointer mem);
  /* The device's free and total memory in bytes; FALSE when unknown.        OPTIONAL */
  gboolean (*memory_info)     (NsBackend *be, gsize *free_bytes, gsize *total_bytes);

  /* Storage for t->shape / t->n; t->priv is set by the backend. */
  gboolean (*tensor_init)     (NsBackend *be, NsTensor *t, GError **error);
  /* t->parent, t->offset, shape and n are set; parent is flat and allocated. */
  void     (*tensor_init_view)(NsBackend *be, NsTensor *t);
  void     (*tensor_fini)     (NsBackend *be, NsTensor *t);
  void     (*upload)          (NsTensor *t, const float *nchw);
  void     (*download)        (NsTensor *t, float *nchw);
  void     (*fill)            (NsTensor *t, float value);
  void     (*copy)            (NsTensor *dst, NsTensor *src);

  void  (*conv2d_forward)     (NsTensor *out, NsTensor *inp, NsTensor *weight, NsTensor *bias,
                               const NsConv2dParams *p);
  void  (*conv2d_backward)    (NsTensor *dinp, NsTensor *dweight, NsTensor *dbias,
                               NsTensor *dout, NsTensor *inp, NsTensor *weight,
                               const NsConv2dParams *p);
  void  (*batchnorm_forward)  (NsTensor *out, NsTensor *save_mean, NsTensor *save_invstd,
                               NsTensor *inp, NsTensor *gamma, NsTensor *beta,
                               NsTensor *running_mean, NsTensor *running_var,
                               gboolean training, float momentum, float eps);
  void  (*batchnorm_backward) (NsTensor *dinp, NsTensor *dgamma, NsTensor *dbeta,
                               NsTensor *dout, NsTensor *inp, NsTensor *save_mean,
                               NsTensor *save_invstd, NsTensor *gamma);
  void  (*relu_forward)       (NsTensor *out, NsTensor *inp, NsActivation act);
  void  (*relu_backward)      (NsTensor *dinp, NsTensor *dout, NsTensor *out, NsActivation act);
  void  (*maxpool2_forward)   (NsTensor *out, NsTensor *inp);
  void  (*maxpool2_backward)  (NsTensor *dinp, NsTensor *dout, NsTensor *inp, NsTensor *out);
  void  (*upsample2_forward)  (NsTensor *out, NsTensor *inp);
  void  (*upsample2_backward) (NsTensor *dinp, NsTensor *dout);
  void  (*convt2_forward)     (NsTensor *out, NsTensor *inp, NsTensor *weight, NsTensor *bias);
  void  (*convt2_backward)    (NsTensor *dinp, NsTensor *dweight, NsTensor *dbias,
                               NsTensor *dout, NsTensor *inp, NsTensor *weight);
  void  (*concat_forward)     (NsTensor *out, NsTensor *a, NsTensor *b);
  /* OPTIONAL: without it (or when supports_op refuses the call) ns_upconv2_forward runs
   * upsample2, concat and conv2d on temporaries; args in desc: out, inp, skip, weight,
   * bias; desc->act */
  void  (*upconv2_forward)    (NsTensor *out, NsTensor *inp, NsTensor *skip,
                               NsTensor *weight, NsTensor *bias, NsActivation act);
  /* OPTIONAL, the same way: ns_conv2d_add_forward; args in desc: out, inp, weight, bias,
   * residual; desc->conv */
  void  (*conv2d_add_forward) (NsTensor *out, NsTensor *inp, NsTensor *weight, NsTensor *bias,
                               NsTensor *residual, const NsConv2dParams *p);
  void  (*concat_backward)    (NsTensor *da, NsTensor *db, NsTensor *dout);
  void  (*add_forward)        (NsTensor *out, NsTensor *a, NsTensor *b);
  void  (*dropout_forward)    (NsTensor *out, NsTensor *mask, NsTensor *inp, float p,
                               guint64 seed, gboolean training);
  void  (*dropout_backward)   (NsTensor *dinp, NsTensor *dout, NsTensor *mask);
  void  (*softmax_forward)    (NsTensor *probs, NsTensor *logits);
  float (*softmax_dice_ce_forward)  (NsTensor *probs, NsTensor *logits, NsTensor *labels);
  void  (*softmax_dice_ce_backward) (NsTensor *dlogits, NsTensor *probs, NsTensor *labels);
  void  (*adam_update)        (NsTensor *params, NsTensor *grads, NsTensor *m, NsTensor *v,
                               const NsAdamParams *p);
};

/* Constructors, one per backend file; NULL + NS_NET_ERROR_NO_BACKEND when unavailable. */
NsBackend *_ns_backend_ref_new  (GError **error);
NsBackend *_ns_backend_cpu_new  (GError **error);   /* cpu/ns-backend-cpu.c (oneDNN) */
NsBackend *_ns_backend_cuda_new (GError **error);   /* cuda/ns-backend-cuda.c */
/* One line per CUDA device; NULL + error when none can be listed. */
GPtrArray *_ns_backend_cuda_list_devices (GError **error);

/* For backends whose storage is host float32 NCHW (ref): the element pointer. */
float *_ns_tensor_host_data (NsTensor *t);

/* Records a failure of the work queued on be (see the top of this file): the first one
 * since the last ns_backend_check() is kept, later ones only logged at debug level.
 * Backends call it from their ops; the model calls it when the memory for a gradient or
 * the optimiser state cannot be had in a function that returns nothing. */
void       _ns_backend_fail (NsBackend *be, NsNetError code, const char *format, ...)
  G_GNUC_PRINTF (3, 4);
/* TRUE while a failure is recorded and not yet checked. */
gboolean   _ns_backend_failed (NsBackend *be);

/* The ref backend's op table: the host fallback runs these on any backend's tensors
 * (ns-backend-ref.c reads and writes foreign tensors through download and upload). */
const NsBackendOps *_ns_backend_ref_ops (void);

G_END_DECLS
