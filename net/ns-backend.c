/* SPDX-License-Identifier: MIT
 *
 * ns-backend.c: backend selection, tensor handles, op dispatch and the backends' status.
 *
 * Shapes and backends are checked here, once, with g_return_if_fail (a mismatch is a
 * programming error in model code, not bad user input); backends only compute.  Each op
 * then goes through op_table(): skipped while a failure is pending, to the backend when
 * its supports_op() accepts the call, else to the ref implementation on host copies
 * (ns-backend-private.h).
 */
#define G_LOG_DOMAIN "neuroseg-net"

#include "ns-config.h"
#include "ns-memory.h"
#include "ns-backend-private.h"

#include <math.h>
#include <stdarg.h>
#include <string.h>

G_DEFINE_QUARK (ns-net-error-quark, ns_net_error)

static const char *const compiled_backends[] = {
#if NS_HAVE_CUDA
  "cuda",
#endif
#if NS_HAVE_ONEDNN
  "cpu",
#endif
  "ref",
  NULL
};

const char *const *
ns_backend_list_compiled (void)
{
  return compiled_backends;
}

static char *
cpu_model_name (void)
{
  g_autofree char *text = NULL;

  if (g_file_get_contents ("/proc/cpuinfo", &text, NULL, NULL))
    for (char *line = text; line != NULL && *line != '\0';)
      {
        char *next = strchr (line, '\n');
        if (next != NULL)
          *next++ = '\0';
        if (g_str_has_prefix (line, "model name"))
          {
            const char *colon = strchr (line, ':');
            if (colon != NULL)
              return g_strstrip (g_strdup (colon + 1));
          }
        line = next;
      }
  return g_strdup ("unknown CPU");
}

GPtrArray *
ns_backend_list_devices (void)
{
  GPtrArray *devices = g_ptr_array_new_with_free_func (g_free);
  g_autofree char *cpu = cpu_model_name ();

  g_ptr_array_add (devices, g_strdup_printf ("cpu: %s, %u threads", cpu,
                                             g_get_num_processors ()));
#if NS_HAVE_CUDA
  {
    g_autoptr (GError) error = NULL;
    g_autoptr (GPtrArray) gpus = _ns_backend_cuda_list_devices (&error);
    if (gpus == NULL)
      g_ptr_array_add (devices, g_strdup_printf ("cuda: %s", error->message));
    else if (gpus->len == 0)
      g_ptr_array_add (devices, g_strdup ("cuda: no CUDA device found"));
    else
      for (guint i = 0; i < gpus->len; i++)
        g_ptr_array_add (devices, g_strdup (gpus->pdata[i]));
  }
#else
  g_ptr_array_add (devices, g_strdup ("cuda: not compiled into this build"));
#endif
  return devices;
}

static const char *const op_names[NS_N_OPS] = {
  [NS_OP_CONV2D] = "conv2d",
  [NS_OP_CONV2D_FUSED_ACT] = "conv2d-fused-act",
  [NS_OP_BATCHNORM] = "batchnorm",
  [NS_OP_RELU] = "relu",
  [NS_OP_MAXPOOL2] = "maxpool2",
  [NS_OP_UPSAMPLE2] = "upsample2",
  [NS_OP_CONVT2] = "convt2",
  [NS_OP_CONCAT] = "concat",
  [NS_OP_ADD] = "add",
  [NS_OP_DROPOUT] = "dropout",
  [NS_OP_SOFTMAX_DICE_CE] = "loss",
  [NS_OP_SOFTMAX] = "softmax",
  [NS_OP_ADAM] = "adam",
  [NS_OP_BF16] = "bf16",
  [NS_OP_UPCONV2] = "upconv2",
  [NS_OP_CONV2D_ADD] = "conv2d-add",
};

/* NS_TEST_HOST_OPS ("all", or op names separated by commas, as op_names): the ops every
 * new backend treats as unsupported, so that the host fallback of each op can be tested
 * on a backend that supports them all (meson test test-net-cpu-host). */
static guint64
host_ops_from_env (void)
{
  const char *env = g_getenv ("NS_TEST_HOST_OPS");
  guint64 mask = 0;

  if (env == NULL)
    return 0;
  g_auto (GStrv) names = g_strsplit (env, ",", -1);
  for (char **n = names; *n != NULL; n++)
    for (int op = 0; op < NS_N_OPS; op++)
      if (op != NS_OP_BF16 && (strcmp (*n, "all") == 0 || strcmp (*n, op_names[op]) == 0))
        mask |= G_GUINT64_CONSTANT (1) << op;
  return mask;
}

NsBackend *
ns_backend_new (const char *name, GError **error)
{
  NsBackend *be = NULL;

  g_return_val_if_fail (name != NULL, NULL);

  if (strcmp (name, "auto") == 0)
    {
      /* The first backend that starts: a GPU that is present and usable, else oneDNN. */
      for (const char *const *n = compiled_backends; *n != NULL; n++)
        {
          be = ns_backend_new (*n, NULL);
          if (be != NULL)
            return be;
        }
      g_set_error (error, NS_NET_ERROR, NS_NET_ERROR_NO_BACKEND, "no backend could start");
      return NULL;
    }
  else if (strcmp (name, "ref") == 0)
    be = _ns_backend_ref_new (error);
  else if (strcmp (name, "cpu") == 0)
    {
#if NS_HAVE_ONEDNN
      be = _ns_backend_cpu_new (error);
#else
      g_set_error (error, NS_NET_ERROR, NS_NET_ERROR_NO_BACKEND,
                   "device 'cpu': this build has no oneDNN backend (use 'ref')");
#endif
    }
  else if (strcmp (name, "cuda") == 0 || strcmp (name, "gpu") == 0)
    {
#if NS_HAVE_CUDA
      be = _ns_backend_cuda_new (error);
#else
      g_set_error (error, NS_NET_ERROR, NS_NET_ERROR_NO_BACKEND,
                   "device 'cuda': this build has no CUDA backend");
#endif
    }
  else
    g_set_error (error, NS_NET_ERROR, NS_NET_ERROR_NO_BACKEND,
                 "unknown device '%s' (expected auto, cpu, cuda or ref)", name);

  if (be != NULL && be->name == NULL)
    be->name = g_strdup (be->ops->name);
  if (be != NULL && be->ops != _ns_backend_ref_ops ())   /* ref is the host already */
    be->host_ops_mask = host_ops_from_env ();
  return be;
}

void
ns_backend_free (NsBackend *backend)
{
  if (backend == NULL)
    return;
  g_clear_error (&backend->status);
  backend->ops->free (backend);
  g_free (backend->name);
  g_free (backend->device);
  g_free (backend);
}

const char *
ns_backend_get_name (NsBackend *backend)
{
  g_return_val_if_fail (backend != NULL, NULL);
  return backend->name;
}

const char *
ns_backend_get_device (NsBackend *backend)
{
  g_return_val_if_fail (backend != NULL, NULL);
  return backend->device != NULL ? backend->device : backend->name;
}

gboolean
ns_backend_supports_op (NsBackend *backend, NsOp op)
{
  NsOpDesc desc = { .op = op };

  g_return_val_if_fail (backend != NULL, FALSE);
  g_return_val_if_fail (op >= 0 && op < NS_N_OPS, FALSE);
  if ((op == NS_OP_UPCONV2 && backend->ops->upconv2_forward == NULL)
      || (op == NS_OP_CONV2D_ADD && backend->ops->conv2d_add_forward == NULL))
    return FALSE;
  return backend->ops->supports_op (backend, &desc);
}

guint64
ns_backend_get_n_host_ops (NsBackend *backend)
{
  g_return_val_if_fail (backend != NULL, 0);
  return backend->n_host_ops;
}

/* ---- status -------------------------------------------------------------------------- */

void
_ns_backend_fail (NsBackend *be, NsNetError code, const char *format, ...)
{
  va_list ap;

  va_start (ap, format);
  g_autofree char *message = g_strdup_vprintf (format, ap);
  va_end (ap);
  if (be->status == NULL)
    be->status = g_error_new_literal (NS_NET_ERROR, code, message);
  else
    g_debug ("%s: %s (after the failure that is reported: %s)", be->name, message,
             be->status->message);
}

gboolean
_ns_backend_failed (NsBackend *be)
{
  return be->status != NULL;
}

gboolean
ns_backend_check (NsBackend *backend, GError **error)
{
  g_return_val_if_fail (backend != NULL, FALSE);
  /* a GPU reports the failures of queued work when it is waited for */
  ns_backend_synchronize (backend);
  if (backend->status == NULL)
    return TRUE;
  g_propagate_error (error, g_steal_pointer (&backend->status));
  return FALSE;
}

gboolean
ns_backend_set_precision (NsBackend *backend, NsPrecision precision, GError **error)
{
  g_return_val_if_fail (backend != NULL, FALSE);
  if (precision == backend->precision)
    return TRUE;
  if (backend->ops->set_precision == NULL)
    {
      if (precision == NS_PRECISION_FP32)
        return TRUE;
      g_set_error (error, NS_NET_ERROR, NS_NET_ERROR_UNSUPPORTED,
                   "backend '%s' supports only fp32", backend->name);
      return FALSE;
    }
  if (!backend->ops->set_precision (backend, precision, error))
    return FALSE;
  backend->precision = precision;
  return TRUE;
}

NsPrecision
ns_backend_get_precision (NsBackend *backend)
{
  return backend->precision;
}

void
ns_backend_synchronize (NsBackend *backend)
{
  if (backend->ops->synchronize != NULL)
    backend->ops->synchronize (backend);
}

gboolean
ns_backend_get_memory (NsBackend *backend, gsize *free_bytes, gsize *total_bytes)
{
  gsize f = 0, t = 0;
  gboolean known;

  g_return_val_if_fail (backend != NULL, FALSE);
  known = backend->ops->memory_info != NULL && backend->ops->memory_info (backend, &f, &t);
  if (backend->mem_limit > 0)
    {
      gsize left = backend->mem_limit > backend->mem_used
                     ? backend->mem_limit - backend->mem_used : 0;
      f = known ? MIN (f, left) : left;
      t = known ? MIN (t, backend->mem_limit) : backend->mem_limit;
      known = TRUE;
    }
  if (free_bytes != NULL)
    *free_bytes = f;
  if (total_bytes != NULL)
    *total_bytes = t;
  return known;
}

gpointer
ns_backend_host_alloc (NsBackend *backend, gsize bytes)
{
  g_return_val_if_fail (backend != NULL, NULL);
  if (backend->ops->host_alloc != NULL)
    return backend->ops->host_alloc (backend, bytes);
  return ns_memory_alloc_large (bytes, FALSE);
}

void
ns_backend_host_free (NsBackend *backend, gpointer mem)
{
  g_return_if_fail (backend != NULL);
  if (mem == NULL)
    return;
  if (backend->ops->host_free != NULL)
    backend->ops->host_free (backend, mem);
  else
    g_free (mem);
}

void
ns_backend_set_memory_limit (NsBackend *backend, gsize bytes)
{
  g_return_if_fail (backend != NULL);
  backend->mem_limit = bytes;
}

/* ---- tensors ---------------------------------------------------------------------------- */

NsTensor *
ns_tensor_new (NsBackend *backend, int n, int c, int h, int w, GError **error)
{
  g_return_val_if_fail (backend != NULL, NULL);
  g_return_val_if_fail (n > 0 && c > 0 && h > 0 && w > 0, NULL);

  gsize count = (gsize) n;
  const int rest[3] = { c, h, w };
  for (int d = 0; d < 3; d++)
    {
      if (count > G_MAXSIZE / 8 / (gsize) rest[d])
        {
          g_set_error (error, NS_NET_ERROR, NS_NET_ERROR_OUT_OF_MEMORY,
                       "tensor %d x %d x %d x %d is too large", n, c, h, w);
          return NULL;
        }
      count *= (gsize) rest[d];
    }

  if (backend->mem_limit > 0 && backend->mem_used + count * sizeof (float) > backend->mem_limit)
    {
      g_set_error (error, NS_NET_ERROR, NS_NET_ERROR_OUT_OF_MEMORY,
                   "out of memory on %s for a %d x %d x %d x %d tensor (limit %" G_GSIZE_FORMAT
                   " MiB, %" G_GSIZE_FORMAT " MiB in use)", ns_backend_get_device (backend),
                   n, c, h, w, backend->mem_limit >> 20, backend->mem_used >> 20);
      return NULL;
    }

  NsTensor *t = g_new0 (NsTensor, 1);
  t->backend = backend;
  t->shape[0] = n;
  t->shape[1] = c;
  t->shape[2] = h;
  t->shape[3] = w;
  t->n = count;
  if (!backend->ops->tensor_init (backend, t, error))
    {
      g_free (t);
      return NULL;
    }
  backend->mem_used += count * sizeof (float);
  return t;
}

NsTensor *
ns_tensor_new_view (NsTensor *parent, gsize offset, int n, int c, int h, int w)
{
  g_return_val_if_fail (parent != NULL && parent->parent == NULL, NULL);
  gsize count = (gsize) n * (gsize) c * (gsize) h * (gsize) w;
  g_return_val_if_fail (offset + count <= parent->n, NULL);

  NsTensor *t = g_new0 (NsTensor, 1);
  t->backend = parent->backend;
  t->shape[0] = n;
  t->shape[1] = c;
  t->shape[2] = h;
  t->shape[3] = w;
  t->n = count;
  t->parent = parent;
  t->offset = offset;
  parent->backend->ops->tensor_init_view (parent->backend, t);
  return t;
}

void
ns_tensor_free (NsTensor *tensor)
{
  if (tensor == NULL)
    return;
  if (tensor->parent == NULL)
    tensor->backend->mem_used -= MIN (tensor->backend->mem_used, tensor->n * sizeof (float));
  tensor->backend->ops->tensor_fini (tensor->backend, tensor);
  g_free (tensor);
}

void
ns_tensor_get_shape (const NsTensor *tensor, int shape[4])
{
  memcpy (shape, tensor->shape, sizeof tensor->shape);
}

gsize
ns_tensor_n_elements (const NsTensor *tensor)
{
  return tensor->n;
}

NsBackend *
ns_tensor_get_backend (const NsTensor *tensor)
{
  return tensor->backend;
}

void
ns_tensor_upload (NsTensor *tensor, const float *nchw)
{
  g_return_if_fail (tensor != NULL && nchw != NULL);
  tensor->backend->ops->upload (tensor, nchw);
}

void
ns_tensor_download (NsTensor *tensor, float *nchw)
{
  g_return_if_fail (tensor != NULL && nchw != NULL);
  tensor->backend->ops->download (tensor, nchw);
}

void
ns_tensor_fill (NsTensor *tensor, float value)
{
  g_return_if_fail (tensor != NULL);
  tensor->backend->ops->fill (tensor, value);
}

void
ns_tensor_copy (NsTensor *dst, NsTensor *src)
{
  g_return_if_fail (dst != NULL && src != NULL && dst->backend == src->backend);
  g_return_if_fail (dst->n == src->n);
  if (dst != src)
    dst->backend->ops->copy (dst, src);
}

/* ---- shape checks ------------------------------------------------------------------------ */

#define SAME_BE(a, b) ((b) == NULL || (a)->backend == (b)->backend)

static gboolean
same_shape (const NsTensor *a, const NsTensor *b)
{
  return a == NULL || b == NULL || memcmp (a->shape, b->shape, sizeof a->shape) == 0;
}

static gboolean
conv_shapes_ok (const NsTensor *out, const NsTensor *inp, const NsTensor *weight,
                const NsTensor *bias, const NsConv2dParams *p)
{
  if (p->stride < 1 || p->pad < 0 || p->groups < 1)
    return FALSE;
  int C = inp->shape[1], K = weight->shape[0];
  int kh = weight->shape[2], kw = weight->shape[3];
  if (C % p->groups != 0 || K % p->groups != 0 || weight->shape[1] != C / p->groups)
    return FALSE;
  /* A kernel larger than the padded input has no output (and C's division would round
   * a negative numerator up to a size of 1). */
  if (inp->shape[2] + 2 * p->pad < kh || inp->shape[3] + 2 * p->pad < kw)
    return FALSE;
  int ho = (inp->shape[2] + 2 * p->pad - kh) / p->stride + 1;
  int wo = (inp->shape[3] + 2 * p->pad - kw) / p->stride + 1;
  if (bias != NULL && bias->n != (gsize) K)
    return FALSE;
  return out->shape[0] == inp->shape[0] && out->shape[1] == K && out->shape[2] == ho
         && out->shape[3] == wo;
}

/* ---- dispatch ---------------------------------------------------------------------------- */

/* Whether be itself runs desc: the op is not forced to the host (NEUROSEG_HOST_OPS) and
 * the backend accepts the call's shapes. */
static gboolean
backend_runs (NsBackend *be, const NsOpDesc *desc)
{
  guint64 bit = G_GUINT64_CONSTANT (1) << desc->op;
  return (be->host_ops_mask & bit) == 0 && be->ops->supports_op (be, desc);
}

/* The op table that runs desc: NULL while a failure is pending (the op is skipped), the
 * backend's own when it supports the call, else the ref backend's, which computes on
 * host copies of the tensors. */
static const NsBackendOps *
op_table (const NsOpDesc *desc)
{
  NsBackend *be = NULL;

  for (guint i = 0; i < G_N_ELEMENTS (desc->args) && be == NULL; i++)
    if (desc->args[i] != NULL)
      be = desc->args[i]->backend;
  g_assert (be != NULL);
  if (be->status != NULL)
    return NULL;
  if (backend_runs (be, desc))
    return be->ops;
  guint64 bit = G_GUINT64_CONSTANT (1) << desc->op;
  be->n_host_ops++;
  if ((be->host_ops_logged & bit) == 0)
    g_debug ("%s cannot run %s%s for some shapes: they run on the host (ref)", be->name,
             op_names[desc->op], desc->backward ? " backward" : "");
  be->host_ops_logged |= bit;
  return _ns_backend_ref_ops ();
}

/* ---- ops --------------------------------------------------------------------------------- */

void
ns_conv2d_forward (NsTensor *out, NsTensor *inp, NsTensor *weight, NsTensor *bias,
                   const NsConv2dParams *p)
{
  g_return_if_fail (out && inp && weight && p);
  g_return_if_fail (SAME_BE (out, inp) && SAME_BE (out, weight) && SAME_BE (out, bias));
  g_return_if_fail (conv_shapes_ok (out, inp, weight, bias, p));

  if (p->act != NS_ACT_NONE && !ns_backend_supports_op (out->backend, NS_OP_CONV2D_FUSED_ACT))
    {
      NsConv2dParams plain = *p;
      plain.act = NS_ACT_NONE;
      ns_conv2d_forward (out, inp, weight, bias, &plain);
      ns_relu_forward (out, out, p->act);
      return;
    }
  NsOpDesc d = { p->act != NS_ACT_NONE ? NS_OP_CONV2D_FUSED_ACT : NS_OP_CONV2D, FALSE,
                 { out, inp, weight, bias }, .conv = p };
  const NsBackendOps *ops = op_table (&d);
  if (ops != NULL)
    ops->conv2d_forward (out, inp, weight, bias, p);
}

void
ns_conv2d_backward (NsTensor *dinp, NsTensor *dweight, NsTensor *dbias, NsTensor *dout,
                    NsTensor *inp, NsTensor *weight, const NsConv2dParams *p)
{
  g_return_if_fail (dout && inp && weight && p && p->act == NS_ACT_NONE);
  g_return_if_fail (conv_shapes_ok (dout, inp, weight, dbias, p));
  g_return_if_fail (same_shape (dinp, inp) && same_shape (dweight, weight));
  NsOpDesc d = { NS_OP_CONV2D, TRUE, { dinp, dweight, dbias, dout, inp, weight }, .conv = p };
  const NsBackendOps *ops = op_table (&d);
  if (ops != NULL)
    ops->conv2d_backward (dinp, dweight, dbias, dout, inp, weight, p);
}

void
ns_batchnorm_forward (NsTensor *out, NsTensor *save_mean, NsTensor *save_invstd,
                      NsTensor *inp, NsTensor *gamma, NsTensor *beta,
                      NsTensor *running_mean, NsTensor *running_var,
                      gboolean training, float momentum, float eps)
{
  g_return_if_fail (out && inp && gamma && beta && running_mean && running_var);
  g_return_if_fail (same_shape (out, inp));
  gsize C = (gsize) inp->shape[1];
  g_return_if_fail (gamma->n == C && beta->n == C && running_mean->n == C
                    && running_var->n == C);
  g_return_if_fail (!training || (save_mean && save_invstd && save_mean->n == C
                                  && save_invstd->n == C));
  NsOpDesc d = { NS_OP_BATCHNORM, FALSE, { out, save_mean, save_invstd, inp, gamma, beta },
                 .training = training, .eps = eps };
  const NsBackendOps *ops = op_table (&d);
  if (ops != NULL)
    ops->batchnorm_forward (out, save_mean, save_invstd, inp, gamma, beta, running_mean,
                            running_var, training, momentum, eps);
}

void
ns_batchnorm_backward (NsTensor *dinp, NsTensor *dgamma, NsTensor *dbeta, NsTensor *dout,
                       NsTensor *inp, NsTensor *save_mean, NsTensor *save_invstd,
                       NsTensor *gamma)
{
  g_return_if_fail (dout && inp && save_mean && save_invstd && gamma);
  g_return_if_fail (same_shape (dout, inp) && same_shape (dinp, inp));
  gsize C = (gsize) inp->shape[1];
  g_return_if_fail (save_mean->n == C && save_invstd->n == C && gamma->n == C);
  g_return_if_fail ((dgamma == NULL || dgamma->n == C) && (dbeta == NULL || dbeta->n == C));
  NsOpDesc d = { NS_OP_BATCHNORM, TRUE, { dinp, dgamma, dbeta, dout, inp, gamma } };
  const NsBackendOps *ops = op_table (&d);
  if (ops != NULL)
    ops->batchnorm_backward (dinp, dgamma, dbeta, dout, inp, save_mean, save_invstd, gamma);
}

void
ns_relu_forward (NsTensor *out, NsTensor *inp, NsActivation act)
{
  g_return_if_fail (out && inp && same_shape (out, inp) && act != NS_ACT_NONE);
  NsOpDesc d = { NS_OP_RELU, FALSE, { out, inp }, .act = act };
  const NsBackendOps *ops = op_table (&d);
  if (ops != NULL)
    ops->relu_forward (out, inp, act);
}

void
ns_relu_backward (NsTensor *dinp, NsTensor *dout, NsTensor *out, NsActivation act)
{
  g_return_if_fail (dinp && dout && out && same_shape (dinp, dout) && same_shape (dout, out));
  NsOpDesc d = { NS_OP_RELU, TRUE, { dinp, dout, out }, .act = act };
  const NsBackendOps *ops = op_table (&d);
  if (ops != NULL)
    ops->relu_backward (dinp, dout, out, act);
}

void
ns_maxpool2_forward (NsTensor *out, NsTensor *inp)
{
  g_return_if_fail (out && inp);
  g_return_if_fail (out->shape[0] == inp->shape[0] && out->shape[1] == inp->shape[1]
                    && out->shape[2] * 2 == inp->shape[2] && out->shape[3] * 2 == inp->shape[3]);
  NsOpDesc d = { NS_OP_MAXPOOL2, FALSE, { out, inp } };
  const NsBackendOps *ops = op_table (&d);
  if (ops != NULL)
    ops->maxpool2_forward (out, inp);
}

void
ns_maxpool2_backward (NsTensor *dinp, NsTensor *dout, NsTensor *inp, NsTensor *out)
{
  g_return_if_fail (dinp && dout && inp && out && same_shape (dinp, inp)
                    && same_shape (dout, out));
  NsOpDesc d = { NS_OP_MAXPOOL2, TRUE, { dinp, dout, inp, out } };
  const NsBackendOps *ops = op_table (&d);
  if (ops != NULL)
    ops->maxpool2_backward (dinp, dout, inp, out);
}

void
ns_upsample2_forward (NsTensor *out, NsTensor *inp)
{
  g_return_if_fail (out && inp);
  g_return_if_fail (out->shape[0] == inp->shape[0] && out->shape[1] == inp->shape[1]
                    && out->shape[2] == inp->shape[2] * 2 && out->shape[3] == inp->shape[3] * 2);
  NsOpDesc d = { NS_OP_UPSAMPLE2, FALSE, { out, inp } };
  const NsBackendOps *ops = op_table (&d);
  if (ops != NULL)
    ops->upsample2_forward (out, inp);
}

void
ns_upsample2_backward (NsTensor *dinp, NsTensor *dout)
{
  g_return_if_fail (dinp && dout);
  g_return_if_fail (dout->shape[0] == dinp->shape[0] && dout->shape[1] == dinp->shape[1]
                    && dout->shape[2] == dinp->shape[2] * 2
                    && dout->shape[3] == dinp->shape[3] * 2);
  NsOpDesc d = { NS_OP_UPSAMPLE2, TRUE, { dinp, dout } };
  const NsBackendOps *ops = op_table (&d);
  if (ops != NULL)
    ops->upsample2_backward (dinp, dout);
}

void
ns_convt2_forward (NsTensor *out, NsTensor *inp, NsTensor *weight, NsTensor *bias)
{
  g_return_if_fail (out && inp && weight);
  g_return_if_fail (weight->shape[0] == inp->shape[1] && weight->shape[1] == out->shape[1]
                    && weight->shape[2] == 2 && weight->shape[3] == 2);
  g_return_if_fail (out->shape[2] == inp->shape[2] * 2 && out->shape[3] == inp->shape[3] * 2);
  g_return_if_fail (bias == NULL || bias->n == (gsize) out->shape[1]);
  NsOpDesc d = { NS_OP_CONVT2, FALSE, { out, inp, weight, bias } };
  const NsBackendOps *ops = op_table (&d);
  if (ops != NULL)
    ops->convt2_forward (out, inp, weight, bias);
}

void
ns_convt2_backward (NsTensor *dinp, NsTensor *dweight, NsTensor *dbias, NsTensor *dout,
                    NsTensor *inp, NsTensor *weight)
{
  g_return_if_fail (dout && inp && weight && same_shape (dinp, inp)
                    && same_shape (dweight, weight));
  g_return_if_fail (weight->shape[0] == inp->shape[1] && weight->shape[1] == dout->shape[1]
                    && dout->shape[2] == inp->shape[2] * 2 && dout->shape[3] == inp->shape[3] * 2);
  g_return_if_fail (dbias == NULL || dbias->n == (gsize) dout->shape[1]);
  NsOpDesc d = { NS_OP_CONVT2, TRUE, { dinp, dweight, dbias, dout, inp, weight } };
  const NsBackendOps *ops = op_table (&d);
  if (ops != NULL)
    ops->convt2_backward (dinp, dweight, dbias, dout, inp, weight);
}

void
ns_concat_forward (NsTensor *out, NsTensor *a, NsTensor *b)
{
  g_return_if_fail (out && a && b);
  g_return_if_fail (a->shape[0] == out->shape[0] && b->shape[0] == out->shape[0]
                    && a->shape[1] + b->shape[1] == out->shape[1]
                    && a->shape[2] == out->shape[2] && b->shape[2] == out->shape[2]
                    && a->shape[3] == out->shape[3] && b->shape[3] == out->shape[3]);
  NsOpDesc d = { NS_OP_CONCAT, FALSE, { out, a, b } };
  const NsBackendOps *ops = op_table (&d);
  if (ops != NULL)
    ops->concat_forward (out, a, b);
}

/* ns_upconv2_forward on a backend without the fused op: the three ops on temporaries. */
static void
upconv2_composed (NsTensor *out, NsTensor *inp, NsTensor *skip, NsTensor *weight,
                  NsTensor *bias, NsActivation act)
{
  NsBackend *be = out->backend;
  int N = inp->shape[0], Ci = inp->shape[1], H = out->shape[2], W = out->shape[3];
  int Cs = skip != NULL ? skip->shape[1] : 0;
  g_autoptr (GError) error = NULL;
  g_autoptr (NsTensor) up = ns_tensor_new (be, N, Ci, H, W, &error);
  g_autoptr (NsTensor) cat = up != NULL && skip != NULL
                               ? ns_tensor_new (be, N, Ci + Cs, H, W, &error) : NULL;
  if (up == NULL || (skip != NULL && cat == NULL))
    {
      _ns_backend_fail (be, error->code, "upsample and concatenate for a 3x3 convolution: %s",
                        error->message);
      return;
    }
  NsConv2dParams p = { 1, 1, 1, act };
  ns_upsample2_forward (up, inp);
  if (skip != NULL)
    ns_concat_forward (cat, up, skip);
  ns_conv2d_forward (out, skip != NULL ? cat : up, weight, bias, &p);
}

void
ns_upconv2_forward (NsTensor *out, NsTensor *inp, NsTensor *skip, NsTensor *weight,
                    NsTensor *bias, NsActivation act)
{
  g_return_if_fail (out && inp && weight);
  g_return_if_fail (SAME_BE (out, inp) && SAME_BE (out, skip) && SAME_BE (out, weight)
                    && SAME_BE (out, bias));
  int Cs = skip != NULL ? skip->shape[1] : 0;
  g_return_if_fail (out->shape[0] == inp->shape[0] && out->shape[2] == 2 * inp->shape[2]
                    && out->shape[3] == 2 * inp->shape[3]);
  g_return_if_fail (skip == NULL || (skip->shape[0] == out->shape[0]
                                     && skip->shape[2] == out->shape[2]
                                     && skip->shape[3] == out->shape[3]));
  g_return_if_fail (weight->shape[0] == out->shape[1]
                    && weight->shape[1] == inp->shape[1] + Cs
                    && weight->shape[2] == 3 && weight->shape[3] == 3);
  g_return_if_fail (bias == NULL || bias->n == (gsize) out->shape[1]);

  NsBackend *be = out->backend;
  if (be->status != NULL)
    return;
  NsOpDesc d = { NS_OP_UPCONV2, FALSE, { out, inp, skip, weight, bias }, .act = act };
  if (be->ops->upconv2_forward != NULL && backend_runs (be, &d))
    be->ops->upconv2_forward (out, inp, skip, weight, bias, act);
  else
    upconv2_composed (out, inp, skip, weight, bias, act);
}

void
ns_conv2d_add_forward (NsTensor *out, NsTensor *inp, NsTensor *weight, NsTensor *bias,
                       NsTensor *residual, const NsConv2dParams *p)
{
  g_return_if_fail (out && inp && weight && residual && p && residual != out);
  g_return_if_fail (SAME_BE (out, inp) && SAME_BE (out, weight) && SAME_BE (out, bias)
                    && SAME_BE (out, residual));
  g_return_if_fail (conv_shapes_ok (out, inp, weight, bias, p) && same_shape (residual, out));

  NsBackend *be = out->backend;
  if (be->status != NULL)
    return;
  NsOpDesc d = { NS_OP_CONV2D_ADD, FALSE, { out, inp, weight, bias, residual }, .conv = p };
  if (be->ops->conv2d_add_forward != NULL && backend_runs (be, &d))
    {
      be->ops->conv2d_add_forward (out, inp, weight, bias, residual, p);
      return;
    }
  NsConv2dParams plain = *p;
  plain.act = NS_ACT_NONE;
  ns_conv2d_forward (out, inp, weight, bias, &plain);
  ns_add_forward (out, out, residual);
  if (p->act != NS_ACT_NONE)
    ns_relu_forward (out, out, p->act);
}

/* A part of a concatenation: same N, H, W as the whole, fewer channels (or absent). */
static gboolean
concat_part_ok (const NsTensor *part, const NsTensor *whole)
{
  return part == NULL || (part->shape[0] == whole->shape[0] && part->shape[1] < whole->shape[1]
                          && part->shape[2] == whole->shape[2]
                          && part->shape[3] == whole->shape[3]);
}

void
ns_concat_backward (NsTensor *da, NsTensor *db, NsTensor *dout)
{
  g_return_if_fail (dout && (da || db));
  g_return_if_fail (concat_part_ok (da, dout) && concat_part_ok (db, dout));
  g_return_if_fail (!(da && db) || da->shape[1] + db->shape[1] == dout->shape[1]);
  NsOpDesc d = { NS_OP_CONCAT, TRUE, { da, db, dout } };
  const NsBackendOps *ops = op_table (&d);
  if (ops != NULL)
    ops->concat_backward (da, db, dout);
}

void
ns_add_forward (NsTensor *out, NsTensor *a, NsTensor *b)
{
  g_return_if_fail (out && a && b && same_shape (out, a) && same_shape (out, b));
  NsOpDesc d = { NS_OP_ADD, FALSE, { out, a, b } };
  const NsBackendOps *ops = op_table (&d);
  if (ops != NULL)
    ops->add_forward (out, a, b);
}

void
ns_dropout_forward (NsTensor *out, NsTensor *mask, NsTensor *inp, float p, guint64 seed,
                    gboolean training)
{
  g_return_if_fail (out && inp && same_shape (out, inp) && p >= 0.0f && p < 1.0f);
  g_return_if_fail (!training || (mask && same_shape (mask, inp)));
  NsOpDesc d = { NS_OP_DROPOUT, FALSE, { out, mask, inp }, .training = training };
  const NsBackendOps *ops = op_table (&d);
  if (ops != NULL)
    ops->dropout_forward (out, mask, inp, p, seed, training);
}

void
ns_dropout_backward (NsTensor *dinp, NsTensor *dout, NsTensor *mask)
{
  g_return_if_fail (dinp && dout && mask && same_shape (dinp, dout) && same_shape (mask, dout));
  NsOpDesc d = { NS_OP_DROPOUT, TRUE, { dinp, dout, mask } };
  const NsBackendOps *ops = op_table (&d);
  if (ops != NULL)
    ops->dropout_backward (dinp, dout, mask);
}

void
ns_softmax_forward (NsTensor *probs, NsTensor *logits)
{
  g_return_if_fail (probs && logits && same_shape (probs, logits));
  NsOpDesc d = { NS_OP_SOFTMAX, FALSE, { probs, logits } };
  const NsBackendOps *ops = op_table (&d);
  if (ops != NULL)
    ops->softmax_forward (probs, logits);
}

static gboolean
labels_match (const NsTensor *labels, const NsTensor *logits)
{
  return labels->shape[0] == logits->shape[0] && labels->shape[1] == 1
         && labels->shape[2] == logits->shape[2] && labels->shape[3] == logits->shape[3];
}

float
ns_softmax_dice_ce_forward (NsTensor *probs, NsTensor *logits, NsTensor *labels)
{
  g_return_val_if_fail (probs && logits && labels && same_shape (probs, logits), 0.0f);
  g_return_val_if_fail (labels_match (labels, logits), 0.0f);
  NsOpDesc d = { NS_OP_SOFTMAX_DICE_CE, FALSE, { probs, logits, labels } };
  const NsBackendOps *ops = op_table (&d);
  return ops != NULL ? ops->softmax_dice_ce_forward (probs, logits, labels) : NAN;
}

void
ns_softmax_dice_ce_backward (NsTensor *dlogits, NsTensor *probs, NsTensor *labels)
{
  g_return_if_fail (dlogits && probs && labels && same_shape (dlogits, probs));
  g_return_if_fail (labels_match (labels, probs));
  NsOpDesc d = { NS_OP_SOFTMAX_DICE_CE, TRUE, { dlogits, probs, labels } };
  const NsBackendOps *ops = op_table (&d);
  if (ops != NULL)
    ops->softmax_dice_ce_backward (dlogits, probs, labels);
}

void
ns_adam_update (NsTensor *params, NsTensor *grads, NsTensor *m, NsTensor *v,
                const NsAdamParams *p)
{
  g_return_if_fail (params && grads && m && v && p && p->step >= 1);
  g_return_if_fail (grads->n == params->n && m->n == params->n && v->n == params->n);
  NsOpDesc d = { NS_OP_ADAM, FALSE, { params, grads, m, v } };
  const NsBackendOps *ops = op_table (&d);
  if (ops != NULL)
    ops->adam_update (params, grads, m, v, p);
}

/* SplitMix64 of (seed, index): the same stream on every backend, any order. */
float
ns_random_uniform (guint64 seed, guint64 index)
{
  guint64 z = seed + (index + 1) * G_GUINT64_CONSTANT (0x9E3779B97F4A7C15);
  z = (z ^ (z >> 30)) * G_GUINT64_CONSTANT (0xBF58476D1CE4E5B9);
  z = (z ^ (z >> 27)) * G_GUINT64_CONSTANT (0x94D049BB133111EB);
  z ^= z >> 31;
  return (float) ((z >> 40) * (1.0 / 16777216.0));
}
