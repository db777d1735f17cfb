/* SPDX-License-Identifier: MIT
 *
 * ns-backend-private.h: the function table every backend fills in (ggml style).
 *
 * ns-backend.c checks arguments (shapes, same backend) once and dispatches through
 * NsBackendOps; a backend only computes.  Entries marked OPTIONAL may be NULL: the
 * dispatcher then falls back (synchronize: no-op; set_precision: only FP32 accepted;
 * conv2d fused activation: conv then relu).  Op entries take the same arguments as the
 * public functions in ns-backend.h, with the same accumulate/assign rules.
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
  gpointer priv;
};

struct _NsBackendOps
{
  const char *name;

  gboolean (*supports_op)     (NsBackend *be, NsOp op);
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

G_END_DECLS
