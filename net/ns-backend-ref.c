/* SPDX-License-Identifier: MIT
 *
 * ns-backend-ref.c: the `ref` backend, plain C loops in double precision: the oracle that
 * every other backend is tested against.
 *
 * Storage is host float32 NCHW (views point into their parent's array).  Every op widens
 * its operands into double scratch arrays, runs a double kernel (ns-ref-kernels.c,
 * declared in ns-backend-ref-private.h so that tests can differentiate them numerically
 * in double) and narrows the results back.  The copies cost little next to the arithmetic and keep
 * a single implementation of each op.  Loops run over contiguous rows innermost, so that
 * a whole small network (batch 2, 64 x 64) runs in seconds; speed is not a goal beyond
 * that: the oneDNN backend is the fast one.
 *
 * The same op functions are the host fallback of the other backends (ns-backend.c): for
 * a tensor of another backend, widen() downloads it and narrow() uploads the result, so
 * an op another backend cannot run for some shape runs here, right if slowly.
 *
 * Errors: scratch memory that cannot be had, labels outside 0..K-1, and the failure
 * NS_TEST_REF_FAIL_AT=N injects into the N-th compute op of a ref backend (counted from
 * 1 over the backend's life; for tests of the error paths of the engine and the trainer)
 * are recorded with _ns_backend_fail() and the op leaves its outputs as they were.
 */
#define G_LOG_DOMAIN "neuroseg-net"

#include "ns-backend-private.h"
#include "ns-backend-ref-private.h"

#include <math.h>
#include <string.h>

/* ---- float32 storage ----------------------------------------------------------------------- */

typedef struct
{
  guint64 n_ops;                /* compute ops run so far */
  guint64 fail_at;              /* NS_TEST_REF_FAIL_AT: this op fails (0: none) */
} RefBackend;

static const NsBackendOps ref_ops;

static gboolean
is_ref (const NsTensor *t)
{
  return t->backend->ops == &ref_ops;
}

float *
_ns_tensor_host_data (NsTensor *t)
{
  g_return_val_if_fail (t != NULL && t->backend != NULL, NULL);
  g_return_val_if_fail (is_ref (t), NULL);
  return t->priv;
}

/* One op call: where its failures go, and whether one happened. */
typedef struct
{
  NsBackend *be;
  const char *name;
  gboolean failed;
} Op;

/* Counts the op on a ref backend and fails it when NS_TEST_REF_FAIL_AT says so (ops of
 * the host fallback are counted by nobody: their tensors belong to another backend). */
static Op
op_begin (NsTensor *any, const char *name)
{
  Op op = { any->backend, name, FALSE };
  if (is_ref (any))
    {
      RefBackend *rb = any->backend->priv;
      if (++rb->n_ops == rb->fail_at)
        {
          _ns_backend_fail (op.be, NS_NET_ERROR_FAILED, "ref: op %" G_GUINT64_FORMAT
                            " (%s) failed, injected by NS_TEST_REF_FAIL_AT", rb->n_ops, name);
          op.failed = TRUE;
        }
    }
  return op;
}

static void
op_out_of_memory (Op *op, gsize bytes)
{
  if (op->failed)
    return;
  _ns_backend_fail (op->be, NS_NET_ERROR_OUT_OF_MEMORY, "ref %s: out of memory for %"
                    G_GSIZE_FORMAT " MiB of scratch", op->name, bytes >> 20);
  op->failed = TRUE;
}

static double *
op_alloc (Op *op, gsize n)
{
  double *d = op->failed ? NULL : g_try_new (double, MAX (n, 1));
  if (d == NULL)
    op_out_of_memory (op, n * sizeof (double));
  return d;
}

/* A double copy of t's contents (NULL for NULL, or after a failure). */
static double *
widen (Op *op, NsTensor *t)
{
  if (t == NULL)
    return NULL;
  double *d = op_alloc (op, t->n);
  if (d == NULL)
    return NULL;
  if (is_ref (t))
    {
      const float *src = t->priv;
      for (gsize i = 0; i < t->n; i++)
        d[i] = src[i];
      return d;
    }
  float *f = g_try_new (float, MAX (t->n, 1));
  if (f == NULL)
    {
      g_free (d);
      op_out_of_memory (op, t->n * sizeof (float));
      return NULL;
    }
  t->backend->ops->download (t, f);
  for (gsize i = 0; i < t->n; i++)
    d[i] = f[i];
  g_free (f);
  return d;
}

/* Scratch for an output that the kernel assigns in full. */
static double *
scratch (Op *op, NsTensor *t)
{
  return t != NULL ? op_alloc (op, t->n) : NULL;
}

/* Writes d back into t (nothing after a failure: the outputs stay as they were). */
static void
narrow (Op *op, NsTensor *t, const double *d)
{
  if (t == NULL || op->failed)
    return;
  float *dst = is_ref (t) ? t->priv : g_try_new (float, MAX (t->n, 1));
  if (dst == NULL)
    {
      op_out_of_memory (op, t->n * sizeof (float));
      return;
    }
  for (gsize i = 0; i < t->n; i++)
    dst[i] = (float) d[i];
  if (!is_ref (t))
    {
      t->backend->ops->upload (t, dst);
      g_free (dst);
    }
}

/* Class indices 0..K-1 (as floats) in labels (N, 1, H, W). */
static gboolean
labels_valid (Op *op, const double *labels, gsize n, int K)
{
  for (gsize i = 0; !op->failed && i < n; i++)
    if (!(labels[i] >= -0.5 && labels[i] < K - 0.5))
      {
        _ns_backend_fail (op->be, NS_NET_ERROR_FAILED, "ref %s: label %g at %" G_GSIZE_FORMAT
                          " is not a class index 0..%d", op->name, labels[i], i, K - 1);
        op->failed = TRUE;
      }
  return !op->failed;
}

static gboolean
ref_supports_op (NsBackend *be, const NsOpDesc *desc)
{
  return desc->op != NS_OP_BF16 && desc->op < NS_N_OPS;
}

static void
ref_free (NsBackend *be)
{
  g_clear_pointer (&be->priv, g_free);
}

static gboolean
ref_tensor_init (NsBackend *be, NsTensor *t, GError **error)
{
  t->priv = g_try_new (float, t->n);
  if (t->priv == NULL)
    {
      g_set_error (error, NS_NET_ERROR, NS_NET_ERROR_OUT_OF_MEMORY,
                   "out of memory for a %d x %d x %d x %d tensor", t->shape[0], t->shape[1],
                   t->shape[2], t->shape[3]);
      return FALSE;
    }
  return TRUE;
}

static void
ref_tensor_init_view (NsBackend *be, NsTensor *t)
{
  t->priv = (float *) t->parent->priv + t->offset;
}

static void
ref_tensor_fini (NsBackend *be, NsTensor *t)
{
  if (t->parent == NULL)
    g_free (t->priv);
  t->priv = NULL;
}

static void
ref_upload (NsTensor *t, const float *nchw)
{
  memcpy (t->priv, nchw, t->n * sizeof (float));
}

static void
ref_download (NsTensor *t, float *nchw)
{
  memcpy (nchw, t->priv, t->n * sizeof (float));
}

static void
ref_fill (NsTensor *t, float value)
{
  float *d = t->priv;
  for (gsize i = 0; i < t->n; i++)
    d[i] = value;
}

static void
ref_copy (NsTensor *dst, NsTensor *src)
{
  memmove (dst->priv, src->priv, dst->n * sizeof (float));
}

/* ---- ops: widen, run the double kernel, narrow --------------------------------------------- */

static void
ref_conv2d_forward (NsTensor *out, NsTensor *inp, NsTensor *weight, NsTensor *bias,
                    const NsConv2dParams *p)
{
  Op op = op_begin (out, "conv2d forward");
  g_autofree double *o = scratch (&op, out), *x = widen (&op, inp), *w = widen (&op, weight);
  g_autofree double *b = widen (&op, bias);
  if (op.failed)
    return;
  _ns_ref_conv2d_forward (o, x, w, b, inp->shape, weight->shape, p);
  narrow (&op, out, o);
}

static void
ref_conv2d_backward (NsTensor *dinp, NsTensor *dweight, NsTensor *dbias, NsTensor *dout,
                     NsTensor *inp, NsTensor *weight, const NsConv2dParams *p)
{
  Op op = op_begin (dout, "conv2d backward");
  g_autofree double *dx = scratch (&op, dinp), *dw = widen (&op, dweight);
  g_autofree double *db = widen (&op, dbias), *d = widen (&op, dout);
  g_autofree double *x = widen (&op, inp), *w = widen (&op, weight);
  if (op.failed)
    return;
  _ns_ref_conv2d_backward (dx, dw, db, d, x, w, inp->shape, weight->shape, p);
  narrow (&op, dinp, dx);
  narrow (&op, dweight, dw);
  narrow (&op, dbias, db);
}

static void
ref_batchnorm_forward (NsTensor *out, NsTensor *save_mean, NsTensor *save_invstd,
                       NsTensor *inp, NsTensor *gamma, NsTensor *beta, NsTensor *running_mean,
                       NsTensor *running_var, gboolean training, float momentum, float eps)
{
  const int C = inp->shape[1];
  Op op = op_begin (out, "batch-norm forward");
  g_autofree double *o = scratch (&op, out), *x = widen (&op, inp);
  g_autofree double *g = widen (&op, gamma), *b = widen (&op, beta);
  g_autofree double *rm = widen (&op, running_mean), *rv = widen (&op, running_var);
  g_autofree double *sm = op_alloc (&op, C), *si = op_alloc (&op, C);
  if (op.failed)
    return;
  _ns_ref_batchnorm_forward (o, sm, si, x, g, b, rm, rv, training, momentum, eps, inp->shape);
  narrow (&op, out, o);
  if (training)
    {
      narrow (&op, save_mean, sm);
      narrow (&op, save_invstd, si);
      narrow (&op, running_mean, rm);
      narrow (&op, running_var, rv);
    }
}

static void
ref_batchnorm_backward (NsTensor *dinp, NsTensor *dgamma, NsTensor *dbeta, NsTensor *dout,
                        NsTensor *inp, NsTensor *save_mean, NsTensor *save_invstd,
                        NsTensor *gamma)
{
  Op op = op_begin (dout, "batch-norm backward");
  g_autofree double *dx = scratch (&op, dinp), *dg = widen (&op, dgamma);
  g_autofree double *db = widen (&op, dbeta), *d = widen (&op, dout), *x = widen (&op, inp);
  g_autofree double *sm = widen (&op, save_mean), *si = widen (&op, save_invstd);
  g_autofree double *g = widen (&op, gamma);
  if (op.failed)
    return;
  _ns_ref_batchnorm_backward (dx, dg, db, d, x, sm, si, g, inp->shape);
  narrow (&op, dinp, dx);
  narrow (&op, dgamma, dg);
  narrow (&op, dbeta, db);
}

static void
ref_relu_forward (NsTensor *out, NsTensor *inp, NsActivation act)
{
  Op op = op_begin (out, "relu forward");
  g_autofree double *x = widen (&op, inp);
  if (op.failed)
    return;
  _ns_ref_relu_forward (x, x, act, inp->n);
  narrow (&op, out, x);
}

static void
ref_relu_backward (NsTensor *dinp, NsTensor *dout, NsTensor *out, NsActivation act)
{
  Op op = op_begin (dout, "relu backward");
  g_autofree double *d = widen (&op, dout), *o = widen (&op, out);
  if (op.failed)
    return;
  _ns_ref_relu_backward (d, d, o, act, dout->n);
  narrow (&op, dinp, d);
}

static void
ref_maxpool2_forward (NsTensor *out, NsTensor *inp)
{
  Op op = op_begin (out, "max-pool forward");
  g_autofree double *o = scratch (&op, out), *x = widen (&op, inp);
  if (op.failed)
    return;
  _ns_ref_maxpool2_forward (o, x, inp->shape);
  narrow (&op, out, o);
}

static void
ref_maxpool2_backward (NsTensor *dinp, NsTensor *dout, NsTensor *inp, NsTensor *out)
{
  Op op = op_begin (dout, "max-pool backward");
  g_autofree double *dx = scratch (&op, dinp), *d = widen (&op, dout), *x = widen (&op, inp);
  if (op.failed)
    return;
  _ns_ref_maxpool2_backward (dx, d, x, inp->shape);
  narrow (&op, dinp, dx);
}

static void
ref_upsample2_forward (NsTensor *out, NsTensor *inp)
{
  Op op = op_begin (out, "upsample forward");
  g_autofree double *o = scratch (&op, out), *x = widen (&op, inp);
  if (op.failed)
    return;
  _ns_ref_upsample2_forward (o, x, inp->shape);
  narrow (&op, out, o);
}

static void
ref_upsample2_backward (NsTensor *dinp, NsTensor *dout)
{
  const int inp_shape[4] = { dout->shape[0], dout->shape[1], dout->shape[2] / 2,
                             dout->shape[3] / 2 };
  Op op = op_begin (dout, "upsample backward");
  g_autofree double *dx = scratch (&op, dinp), *d = widen (&op, dout);
  if (op.failed)
    return;
  _ns_ref_upsample2_backward (dx, d, inp_shape);
  narrow (&op, dinp, dx);
}

static void
ref_convt2_forward (NsTensor *out, NsTensor *inp, NsTensor *weight, NsTensor *bias)
{
  Op op = op_begin (out, "transposed conv forward");
  g_autofree double *o = scratch (&op, out), *x = widen (&op, inp), *w = widen (&op, weight);
  g_autofree double *b = widen (&op, bias);
  if (op.failed)
    return;
  _ns_ref_convt2_forward (o, x, w, b, inp->shape, out->shape[1]);
  narrow (&op, out, o);
}

static void
ref_convt2_backward (NsTensor *dinp, NsTensor *dweight, NsTensor *dbias, NsTensor *dout,
                     NsTensor *inp, NsTensor *weight)
{
  Op op = op_begin (dout, "transposed conv backward");
  g_autofree double *dx = scratch (&op, dinp), *dw = widen (&op, dweight);
  g_autofree double *db = widen (&op, dbias), *d = widen (&op, dout);
  g_autofree double *x = widen (&op, inp), *w = widen (&op, weight);
  if (op.failed)
    return;
  _ns_ref_convt2_backward (dx, dw, db, d, x, w, inp->shape, dout->shape[1]);
  narrow (&op, dinp, dx);
  narrow (&op, dweight, dw);
  narrow (&op, dbias, db);
}

static void
ref_concat_forward (NsTensor *out, NsTensor *a, NsTensor *b)
{
  Op op = op_begin (out, "concat forward");
  g_autofree double *o = scratch (&op, out), *da = widen (&op, a), *db = widen (&op, b);
  if (op.failed)
    return;
  _ns_ref_concat_forward (o, da, db, a->shape, b->shape[1]);
  narrow (&op, out, o);
}

/* The channel split comes from whichever part is given: out has Ca + Cb channels. */
static void
ref_concat_backward (NsTensor *da, NsTensor *db, NsTensor *dout)
{
  int a_shape[4];
  memcpy (a_shape, dout->shape, sizeof a_shape);
  a_shape[1] = da != NULL ? da->shape[1] : dout->shape[1] - db->shape[1];
  const int cb = dout->shape[1] - a_shape[1];

  Op op = op_begin (dout, "concat backward");
  g_autofree double *d = widen (&op, dout);
  g_autofree double *ga = scratch (&op, da), *gb = scratch (&op, db);
  if (op.failed)
    return;
  _ns_ref_concat_backward (ga, gb, d, a_shape, cb);
  narrow (&op, da, ga);
  narrow (&op, db, gb);
}

static void
ref_add_forward (NsTensor *out, NsTensor *a, NsTensor *b)
{
  Op op = op_begin (out, "add");
  g_autofree double *da = widen (&op, a), *db = widen (&op, b);
  if (op.failed)
    return;
  _ns_ref_add_forward (da, da, db, a->n);
  narrow (&op, out, da);
}

static void
ref_dropout_forward (NsTensor *out, NsTensor *mask, NsTensor *inp, float p, guint64 seed,
                     gboolean training)
{
  Op op = op_begin (out, "dropout forward");
  g_autofree double *x = widen (&op, inp), *o = scratch (&op, out);
  g_autofree double *mk = training ? scratch (&op, mask) : NULL;
  if (op.failed)
    return;
  _ns_ref_dropout_forward (o, mk, x, p, seed, training, inp->n);
  narrow (&op, out, o);
  if (training)
    narrow (&op, mask, mk);
}

static void
ref_dropout_backward (NsTensor *dinp, NsTensor *dout, NsTensor *mask)
{
  Op op = op_begin (dout, "dropout backward");
  g_autofree double *d = widen (&op, dout), *mk = widen (&op, mask);
  if (op.failed)
    return;
  _ns_ref_dropout_backward (d, d, mk, dout->n);
  narrow (&op, dinp, d);
}

static void
ref_softmax_forward (NsTensor *probs, NsTensor *logits)
{
  Op op = op_begin (probs, "softmax");
  g_autofree double *z = widen (&op, logits), *pr = scratch (&op, probs);
  if (op.failed)
    return;
  _ns_ref_softmax_forward (pr, z, logits->shape);
  narrow (&op, probs, pr);
}

static float
ref_softmax_dice_ce_forward (NsTensor *probs, NsTensor *logits, NsTensor *labels)
{
  Op op = op_begin (probs, "loss forward");
  g_autofree double *z = widen (&op, logits), *pr = scratch (&op, probs);
  g_autofree double *y = widen (&op, labels);
  if (op.failed || !labels_valid (&op, y, labels->n, logits->shape[1]))
    return NAN;
  double loss = _ns_ref_softmax_dice_ce_forward (pr, z, y, logits->shape);
  narrow (&op, probs, pr);
  return (float) loss;
}

static void
ref_softmax_dice_ce_backward (NsTensor *dlogits, NsTensor *probs, NsTensor *labels)
{
  Op op = op_begin (probs, "loss backward");
  g_autofree double *pr = widen (&op, probs), *y = widen (&op, labels);
  g_autofree double *dz = scratch (&op, dlogits);
  if (op.failed || !labels_valid (&op, y, labels->n, probs->shape[1]))
    return;
  _ns_ref_softmax_dice_ce_backward (dz, pr, y, probs->shape);
  narrow (&op, dlogits, dz);
}

static void
ref_adam_update (NsTensor *params, NsTensor *grads, NsTensor *m, NsTensor *v,
                 const NsAdamParams *p)
{
  Op op = op_begin (params, "adam");
  g_autofree double *w = widen (&op, params), *g = widen (&op, grads);
  g_autofree double *dm = widen (&op, m), *dv = widen (&op, v);
  if (op.failed)
    return;
  _ns_ref_adam_update (w, g, dm, dv, params->n, p);
  narrow (&op, params, w);
  narrow (&op, m, dm);
  narrow (&op, v, dv);
}

static const NsBackendOps ref_ops = {
  .name = "ref",
  .supports_op = ref_supports_op,
  .free = ref_free,
  .tensor_init = ref_tensor_init,
  .tensor_init_view = ref_tensor_init_view,
  .tensor_fini = ref_tensor_fini,
  .upload = ref_upload,
  .download = ref_download,
  .fill = ref_fill,
  .copy = ref_copy,
  .conv2d_forward = ref_conv2d_forward,
  .conv2d_backward = ref_conv2d_backward,
  .batchnorm_forward = ref_batchnorm_forward,
  .batchnorm_backward = ref_batchnorm_backward,
  .relu_forward = ref_relu_forward,
  .relu_backward = ref_relu_backward,
  .maxpool2_forward = ref_maxpool2_forward,
  .maxpool2_backward = ref_maxpool2_backward,
  .upsample2_forward = ref_upsample2_forward,
  .upsample2_backward = ref_upsample2_backward,
  .convt2_forward = ref_convt2_forward,
  .convt2_backward = ref_convt2_backward,
  .concat_forward = ref_concat_forward,
  .concat_backward = ref_concat_backward,
  .add_forward = ref_add_forward,
  .dropout_forward = ref_dropout_forward,
  .dropout_backward = ref_dropout_backward,
  .softmax_forward = ref_softmax_forward,
  .softmax_dice_ce_forward = ref_softmax_dice_ce_forward,
  .softmax_dice_ce_backward = ref_softmax_dice_ce_backward,
  .adam_update = ref_adam_update,
};

guint64
_ns_backend_ref_get_n_ops (NsBackend *backend)
{
  g_return_val_if_fail (backend != NULL && backend->ops == &ref_ops, 0);
  return ((RefBackend *) backend->priv)->n_ops;
}

const NsBackendOps *
_ns_backend_ref_ops (void)
{
  return &ref_ops;
}

NsBackend *
_ns_backend_ref_new (GError **error)
{
  NsBackend *be = g_new0 (NsBackend, 1);
  RefBackend *rb = g_new0 (RefBackend, 1);
  const char *fail_at = g_getenv ("NS_TEST_REF_FAIL_AT");

  if (fail_at != NULL)
    rb->fail_at = g_ascii_strtoull (fail_at, NULL, 10);
  be->ops = &ref_ops;
  be->priv = rb;
  be->name = g_strdup ("ref");
  be->device = g_strdup ("reference (plain C, double accumulation)");
  be->precision = NS_PRECISION_FP32;
  return be;
}
