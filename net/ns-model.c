/* SPDX-License-Identifier: MIT
 *
 * ns-model.c: parameters, graph executor (forward, backward), modes and Adam for the
 * graphs of ns-graph.c (the architectures: ns-model-arch.c; metadata: ns-model-meta.c).
 *
 * Memory: node outputs and gradients come from a pool of backend tensors keyed by exact
 * shape (backends may store a tensor in a blocked layout, so a buffer cannot be reused
 * under another shape).  In TRAIN every node output is kept for backward; in EVAL and
 * INFER an output goes back to the pool after its last reader ran, so the footprint is
 * a few live tensors per resolution.  Gradients are released as soon as their node has
 * been back-propagated.  A ReLU whose input has no other reader runs in place (its
 * backward needs only its own output).
 *
 * Inference folds each conv -> BN -> act triple into one convolution with bias and
 * fused activation: W' = W gamma / sqrt(var + eps), b' = beta + (b - mean) gamma /
 * sqrt(var + eps), computed on the host in double precision.
 */
#define G_LOG_DOMAIN "neuroseg-net"

#include "ns-backend-private.h"
#include "ns-graph-private.h"
#include "ns-memory.h"

#include <math.h>
#include <string.h>

#define BN_EPS 1e-5f
#define BN_MOMENTUM 0.1f

struct _NsModel
{
  NsBackend *backend;
  NsModelMeta *meta;
  int size_multiple;

  NsGraph train;                 /* conv, BN, act nodes; params = every stored tensor */
  NsGraph infer;                 /* folded; params = folded weights and biases */
  GArray *fold;                  /* NsFoldEntry */
  gboolean infer_stale;

  gsize n_trainable;
  gsize n_stats;
  gsize n_infer;
  NsTensor *flat_params;         /* (n_trainable) */
  NsTensor *flat_grads;          /* (n_trainable) */
  NsTensor *flat_m;              /* (n_trainable), allocated at the first Adam step */
  NsTensor *flat_v;
  NsTensor *flat_stats;          /* (n_stats) running mean and variance */
  NsTensor *flat_infer;          /* (n_infer) */

  NsModelMode mode;
  int step;
  int cur_shape[4];              /* input shape the cached tensors were made for */
  NsGraph *last;                 /* graph of the last forward (its outputs are live) */
  GPtrArray *pool;               /* free NsTensor * */

  gboolean profiling;
  GHashTable *profile;           /* char * -> double * seconds */
};


/* Host copies of all parameters (tens of MB): on huge pages when possible (ns-memory.h),
 * else g_new as before. */
static float *
floats_large (gsize n, gboolean zero)
{
  float *p = ns_memory_alloc_large (MAX (n, 1) * sizeof (float), zero);
  if (p != NULL)
    return p;
  return zero ? g_new0 (float, MAX (n, 1)) : g_new (float, MAX (n, 1));
}

/* ---- tensor pool ----------------------------------------------------------------------- */

static NsTensor *
pool_acquire (NsModel *m, const int shape[4], GError **error)
{
  for (guint i = 0; i < m->pool->len; i++)
    {
      NsTensor *t = m->pool->pdata[i];
      int s[4];
      ns_tensor_get_shape (t, s);
      if (memcmp (s, shape, sizeof s) == 0)
        {
          g_ptr_array_steal_index_fast (m->pool, i);
          return t;
        }
    }
  return ns_tensor_new (m->backend, shape[0], shape[1], shape[2], shape[3], error);
}

static void
pool_release (NsModel *m, NsTensor *t)
{
  if (t != NULL)
    g_ptr_array_add (m->pool, t);
}

/* Gives every node output of the last forward back to the pool. */
static void
release_outputs (NsModel *m)
{
  NsGraph *g = m->last;

  if (g == NULL)
    return;
  for (guint i = 1; i < g->nodes->len; i++)
    {
      NsNode *node = _ns_graph_node (g, i);
      /* An in-place activation shares its input's tensor while that is still set. */
      if (node->out != NULL
          && !(node->kind == NS_NODE_ACT && node->inplace
               && _ns_graph_node (g, node->in[0])->out == node->out))
        pool_release (m, node->out);
      pool_release (m, node->grad);
      node->grad = NULL;
    }
  for (guint i = 0; i < g->nodes->len; i++)
    _ns_graph_node (g, i)->out = NULL;
  m->last = NULL;
}

void
ns_model_trim (NsModel *m)
{
  g_return_if_fail (m != NULL);
  release_outputs (m);
  g_ptr_array_set_size (m->pool, 0);
  memset (m->cur_shape, 0, sizeof m->cur_shape);
}

/* ---- construction ---------------------------------------------------------------------- */

static float
normal_draw (guint64 seed, guint64 index)
{
  double u1 = ns_random_uniform (seed, 2 * index);
  double u2 = ns_random_uniform (seed, 2 * index + 1);
  return (float) (sqrt (-2.0 * log (1.0 - u1)) * cos (2.0 * G_PI * u2));
}

static void
init_params (NsModel *m, const NsModelInit *init)
{
  g_autofree float *values = floats_large (m->n_trainable, TRUE);
  g_autofree float *stats = floats_large (m->n_stats, TRUE);
  NsModelInit def = { NS_INIT_NORMAL, 0.01f, 0 };

  if (init == NULL)
    init = &def;
  for (guint i = 0; i < m->train.params->len; i++)
    {
      NsParam *p = _ns_graph_param (&m->train, i);
      switch (p->role)
        {
        case NS_PARAM_WEIGHT:
          if (init->kind == NS_INIT_NONE)
            break;
          {
            double std = init->kind == NS_INIT_KAIMING ? sqrt (2.0 / p->fan_in)
                         : (init->std > 0 ? init->std : 0.01);
            for (gsize e = 0; e < p->size; e++)
              values[p->offset + e] = (float) (std * normal_draw (init->seed, p->offset + e));
          }
          break;
        case NS_PARAM_BN_GAMMA:
          for (gsize e = 0; e < p->size; e++)
            values[p->offset + e] = 1.0f;
          break;
        case NS_PARAM_BN_VAR:
          for (gsize e = 0; e < p->size; e++)
            stats[p->offset + e] = 1.0f;
          break;
        case NS_PARAM_BIAS:
        case NS_PARAM_BN_BETA:
        case NS_PARAM_BN_MEAN:
          break;
        }
    }
  ns_tensor_upload (m->flat_params, values);
  ns_tensor_upload (m->flat_stats, stats);
  m->infer_stale = TRUE;
}

static gboolean
allocate_params (NsModel *m, GError **error)
{
  gsize off_train = 0, off_stats = 0, off_infer = 0;

  for (guint i = 0; i < m->train.params->len; i++)
    {
      NsParam *p = _ns_graph_param (&m->train, i);
      if (_ns_param_is_trainable (p))
        {
          p->offset = off_train;
          off_train += p->size;
        }
      else
        {
          p->offset = off_stats;
          off_stats += p->size;
        }
    }
  for (guint i = 0; i < m->infer.params->len; i++)
    {
      NsParam *p = _ns_graph_param (&m->infer, i);
      p->offset = off_infer;
      off_infer += p->size;
    }
  m->n_trainable = off_train;
  m->n_stats = off_stats;
  m->n_infer = off_infer;

  m->flat_params = ns_tensor_new (m->backend, (int) off_train, 1, 1, 1, error);
  if (m->flat_params == NULL)
    return FALSE;
  m->flat_grads = ns_tensor_new (m->backend, (int) off_train, 1, 1, 1, error);
  if (m->flat_grads == NULL)
    return FALSE;
  m->flat_stats = ns_tensor_new (m->backend, (int) MAX (off_stats, 1), 1, 1, 1, error);
  if (m->flat_stats == NULL)
    return FALSE;
  m->flat_infer = ns_tensor_new (m->backend, (int) off_infer, 1, 1, 1, error);
  if (m->flat_infer == NULL)
    return FALSE;

  for (guint i = 0; i < m->train.params->len; i++)
    {
      NsParam *p = _ns_graph_param (&m->train, i);
      NsTensor *flat = _ns_param_is_trainable (p) ? m->flat_params : m->flat_stats;
      p->value = ns_tensor_new_view (flat, p->offset, p->shape[0], p->shape[1], p->shape[2],
                                     p->shape[3]);
      if (_ns_param_is_trainable (p))
        p->grad = ns_tensor_new_view (m->flat_grads, p->offset, p->shape[0], p->shape[1],
                                      p->shape[2], p->shape[3]);
    }
  for (guint i = 0; i < m->infer.params->len; i++)
    {
      NsParam *p = _ns_graph_param (&m->infer, i);
      p->value = ns_tensor_new_view (m->flat_infer, p->offset, p->shape[0], p->shape[1],
                                     p->shape[2], p->shape[3]);
    }
  return TRUE;
}

NsModel *
ns_model_new (NsBackend *backend, const NsModelMeta *meta, const NsModelInit *init,
              GError **error)
{
  g_return_val_if_fail (backend != NULL && meta != NULL, NULL);

  if (!ns_model_meta_check (meta, error))
    return NULL;
  g_autoptr (NsModel) m = g_new0 (NsModel, 1);
  m->backend = backend;
  m->meta = ns_model_meta_copy (meta);
  m->pool = g_ptr_array_new_with_free_func ((GDestroyNotify) ns_tensor_free);
  m->fold = g_array_new (FALSE, FALSE, sizeof (NsFoldEntry));
  m->profile = g_hash_table_new_full (g_str_hash, g_str_equal, NULL, g_free);
  m->mode = NS_MODEL_TRAIN;
  _ns_graph_init (&m->train);
  _ns_graph_init (&m->infer);

  if (!_ns_arch_build (&m->train, m->meta, &m->size_multiple, error))
    return NULL;
  _ns_graph_mark_inplace (&m->train);
  _ns_graph_fold (&m->train, &m->infer, m->fold, _ns_graph_fusions (backend));
  if (!allocate_params (m, error))
    return NULL;
  init_params (m, init);
  ns_tensor_fill (m->flat_grads, 0.0f);
  return g_steal_pointer (&m);
}

NsModel *
ns_model_clone_to (NsModel *m, NsBackend *backend, GError **error)
{
  g_return_val_if_fail (m != NULL && backend != NULL, NULL);

  NsModelInit none = { .kind = NS_INIT_NONE };
  g_autoptr (NsModel) c = ns_model_new (backend, m->meta, &none, error);
  if (c == NULL)
    return NULL;
  g_autofree float *values = g_try_new (float, MAX (m->n_trainable, 1));
  g_autofree float *stats = g_try_new (float, MAX (m->n_stats, 1));
  if (values == NULL || stats == NULL)
    {
      g_set_error (error, NS_NET_ERROR, NS_NET_ERROR_OUT_OF_MEMORY,
                   "out of memory copying the model's %" G_GSIZE_FORMAT " parameters",
                   m->n_trainable);
      return NULL;
    }
  /* what a failing device gives back is not copied: the reads are checked first */
  ns_tensor_download (m->flat_params, values);
  if (m->n_stats > 0)
    ns_tensor_download (m->flat_stats, stats);
  if (!ns_backend_check (m->backend, error))
    {
      g_prefix_error (error, "copying the model from %s: ", ns_backend_get_name (m->backend));
      return NULL;
    }
  ns_tensor_upload (c->flat_params, values);
  if (m->n_stats > 0)
    ns_tensor_upload (c->flat_stats, stats);
  if (!ns_backend_check (backend, error))
    return NULL;
  c->step = m->step;
  c->infer_stale = TRUE;
  ns_model_set_mode (c, NS_MODEL_INFER);
  return g_steal_pointer (&c);
}

void
ns_model_free (NsModel *m)
{
  if (m == NULL)
    return;
  if (m->pool != NULL)
    ns_model_trim (m);
  /* Views before their flat parents. */
  _ns_graph_clear (&m->train);
  _ns_graph_clear (&m->infer);
  ns_tensor_free (m->flat_params);
  ns_tensor_free (m->flat_grads);
  ns_tensor_free (m->flat_m);
  ns_tensor_free (m->flat_v);
  ns_tensor_free (m->flat_stats);
  ns_tensor_free (m->flat_infer);
  if (m->pool != NULL)
    g_ptr_array_unref (m->pool);
  if (m->fold != NULL)
    g_array_unref (m->fold);
  if (m->profile != NULL)
    g_hash_table_unref (m->profile);
  ns_model_meta_free (m->meta);
  g_free (m);
  /* The weights and the graph (tens of MB) back to the system, not kept by the C
   * library for reuse: a workbench that ran a model returns to what it held before. */
  ns_memory_trim ();
}

const NsModelMeta *
ns_model_get_meta (NsModel *m)
{
  return m->meta;
}

void
ns_model_set_meta (NsModel *m, const NsModelMeta *meta)
{
  g_return_if_fail (m != NULL && meta != NULL);
  NsModelMeta *c = ns_model_meta_copy (meta);
  /* What the network is stays what it was built as (its inputs, their normalisation,
   * its outputs); provenance and post-processing are replaced. */
  g_free (c->arch);
  c->arch = g_strdup (m->meta->arch);
  g_strfreev (c->modalities);
  c->modalities = g_strdupv (m->meta->modalities);
  g_free (c->regions);
  c->n_regions = m->meta->n_regions;
  c->regions = m->meta->n_regions > 0 ? g_memdup2 (m->meta->regions,
                                                   sizeof (int) * m->meta->n_regions) : NULL;
  c->context = m->meta->context;
  g_free (c->normalisation);
  c->normalisation = g_strdup (m->meta->normalisation);
  if (c->n_classes != m->meta->n_classes)
    {
      for (int k = 0; k < c->n_classes; k++)
        g_free (c->classes[k].name);
      g_free (c->classes);
      c->n_classes = m->meta->n_classes;
      c->classes = g_new0 (NsModelClass, c->n_classes);
      for (int k = 0; k < c->n_classes; k++)
        {
          c->classes[k] = m->meta->classes[k];
          c->classes[k].name = g_strdup (m->meta->classes[k].name);
        }
    }
  ns_model_meta_free (m->meta);
  m->meta = c;
}

NsBackend *
ns_model_get_backend (NsModel *m)
{
  return m->backend;
}

gsize
ns_model_n_parameters (NsModel *m)
{
  return m->n_trainable;
}

int
ns_model_get_size_multiple (NsModel *m)
{
  return m->size_multiple;
}

void
ns_model_set_mode (NsModel *m, NsModelMode mode)
{
  g_return_if_fail (m != NULL);
  if (mode != m->mode)
    release_outputs (m);
  m->mode = mode;
}

NsModelMode
ns_model_get_mode (NsModel *m)
{
  return m->mode;
}

int
ns_model_get_step (NsModel *m)
{
  return m->step;
}

/* ---- folding --------------------------------------------------------------------------- */

static void
refold (NsModel *m)
{
  g_autofree float *src = floats_large (m->n_trainable, FALSE);
  g_autofree float *stats = floats_large (m->n_stats, FALSE);
  g_autofree float *dst = floats_large (m->n_infer, TRUE);

  ns_tensor_download (m->flat_params, src);
  if (m->n_stats > 0)
    ns_tensor_download (m->flat_stats, stats);
  for (guint i = 0; i < m->fold->len; i++)
    {
      NsFoldEntry *e = &g_array_index (m->fold, NsFoldEntry, i);
      NsParam *sw = _ns_graph_param (&m->train, e->src_w);
      NsParam *dw = _ns_graph_param (&m->infer, e->dst_w);
      NsParam *db = _ns_graph_param (&m->infer, e->dst_b);
      int K = (int) db->size;
      gsize per_k = sw->size / (gsize) K;

      if (e->gamma < 0)
        {
          /* No batch-norm: copy (convt weights are (C, K, 2, 2); any layout works). */
          memcpy (dst + dw->offset, src + sw->offset, sw->size * sizeof (float));
          for (int k = 0; k < K; k++)
            dst[db->offset + k] = e->src_b >= 0
                                    ? src[_ns_graph_param (&m->train, e->src_b)->offset + k] : 0.0f;
          continue;
        }
      const float *gamma = src + _ns_graph_param (&m->train, e->gamma)->offset;
      const float *beta = src + _ns_graph_param (&m->train, e->beta)->offset;
      const float *mean = stats + _ns_graph_param (&m->train, e->mean)->offset;
      const float *var = stats + _ns_graph_param (&m->train, e->var)->offset;
      for (int k = 0; k < K; k++)
        {
          double scale = gamma[k] / sqrt ((double) var[k] + BN_EPS);
          double b = e->src_b >= 0 ? src[_ns_graph_param (&m->train, e->src_b)->offset + k] : 0.0;
          for (gsize j = 0; j < per_k; j++)
            dst[dw->offset + k * per_k + j] = (float) (src[sw->offset + k * per_k + j] * scale);
          dst[db->offset + k] = (float) (beta[k] + (b - mean[k]) * scale);
        }
    }
  ns_tensor_upload (m->flat_infer, dst);
  /* folded from what a failed backend gave back: fold again next time */
  m->infer_stale = _ns_backend_failed (m->backend);
}

/* ---- forward --------------------------------------------------------------------------- */

static void
profile_add (NsModel *m, const char *name, gint64 start)
{
  ns_backend_synchronize (m->backend);
  double *sum = g_hash_table_lookup (m->profile, name);
  if (sum == NULL)
    {
      sum = g_new0 (double, 1);
      g_hash_table_insert (m->profile, (gpointer) name, sum);
    }
  *sum += (g_get_monotonic_time () - start) / 1e6;
}

void
ns_model_set_profiling (NsModel *m, gboolean on)
{
  m->profiling = on;
  g_hash_table_remove_all (m->profile);
}

GHashTable *
ns_model_get_profile (NsModel *m)
{
  return m->profile;
}

static NsGraph *
mode_graph (NsModel *m)
{
  return m->mode == NS_MODEL_INFER ? &m->infer : &m->train;
}

static gboolean
run_node (NsModel *m, NsGraph *g, NsNode *node, gboolean training, GError **error)
{
  NsTensor *a = node->in[0] >= 0 ? _ns_graph_node (g, node->in[0])->out : NULL;
  NsTensor *b = node->in[1] >= 0 ? _ns_graph_node (g, node->in[1])->out : NULL;

  switch (node->kind)
    {
    case NS_NODE_CONV:
      if (b != NULL)
        ns_conv2d_add_forward (node->out, a, _ns_graph_param (g, node->weight)->value,
                               node->bias >= 0 ? _ns_graph_param (g, node->bias)->value : NULL,
                               b, &node->conv);
      else
        ns_conv2d_forward (node->out, a, _ns_graph_param (g, node->weight)->value,
                           node->bias >= 0 ? _ns_graph_param (g, node->bias)->value : NULL,
                           &node->conv);
      break;
    case NS_NODE_BN:
      if (training && node->save_mean == NULL)
        {
          node->save_mean = ns_tensor_new (m->backend, node->channels, 1, 1, 1, error);
          if (node->save_mean == NULL)
            return FALSE;
          node->save_invstd = ns_tensor_new (m->backend, node->channels, 1, 1, 1, error);
          if (node->save_invstd == NULL)
            return FALSE;
        }
      ns_batchnorm_forward (node->out, node->save_mean, node->save_invstd, a,
                            _ns_graph_param (g, node->gamma)->value,
                            _ns_graph_param (g, node->beta)->value,
                            _ns_graph_param (g, node->mean)->value,
                            _ns_graph_param (g, node->var)->value, training, BN_MOMENTUM, BN_EPS);
      break;
    case NS_NODE_ACT:
      ns_relu_forward (node->out, a, node->act);
      break;
    case NS_NODE_ADD:
      ns_add_forward (node->out, a, b);
      break;
    case NS_NODE_CONCAT:
      ns_concat_forward (node->out, a, b);
      break;
    case NS_NODE_UPSAMPLE:
      ns_upsample2_forward (node->out, a);
      break;
    case NS_NODE_MAXPOOL:
      ns_maxpool2_forward (node->out, a);
      break;
    case NS_NODE_CONVT:
      ns_convt2_forward (node->out, a, _ns_graph_param (g, node->weight)->value,
                         _ns_graph_param (g, node->bias)->value);
      break;
    case NS_NODE_UPCONV:
      ns_upconv2_forward (node->out, a, b, _ns_graph_param (g, node->weight)->value,
                          node->bias >= 0 ? _ns_graph_param (g, node->bias)->value : NULL,
                          node->conv.act);
      break;
    case NS_NODE_INPUT:
      break;
    }
  return TRUE;
}

NsTensor *
ns_model_forward (NsModel *m, NsTensor *input, GError **error)
{
  g_return_val_if_fail (m != NULL && input != NULL, NULL);
  g_return_val_if_fail (ns_tensor_get_backend (input) == m->backend, NULL);

  NsGraph *g = mode_graph (m);
  gboolean training = m->mode == NS_MODEL_TRAIN;
  int in[4];
  guint n = g->nodes->len;
  g_autofree NsShape4 *shapes = g_new (NsShape4, n);

  ns_tensor_get_shape (input, in);
  if (in[2] % m->size_multiple != 0 || in[3] % m->size_multiple != 0
      || !_ns_graph_shapes (g, in, shapes))
    {
      g_set_error (error, NS_NET_ERROR, NS_NET_ERROR_FAILED,
                   "%s: input of %d x %d x %d x %d does not fit (expected N x %d x H x W with "
                   "H and W multiples of %d)", m->meta->arch, in[0], in[1], in[2], in[3],
                   _ns_graph_node (g, 0)->channels, m->size_multiple);
      return NULL;
    }

  release_outputs (m);
  if (memcmp (in, m->cur_shape, sizeof in) != 0)
    {
      /* Another batch shape: the cached tensors will not fit any more. */
      g_ptr_array_set_size (m->pool, 0);
      memcpy (m->cur_shape, in, sizeof in);
    }
  if (m->mode == NS_MODEL_INFER && m->infer_stale)
    {
      gint64 t0 = g_get_monotonic_time ();
      refold (m);
      if (m->profiling)
        profile_add (m, "fold", t0);
    }

  m->last = g;
  for (guint i = 0; i < n; i++)
    _ns_graph_node (g, i)->uses_left = _ns_graph_node (g, i)->n_uses;
  _ns_graph_node (g, 0)->out = input;

  for (guint i = 1; i < n; i++)
    {
      NsNode *node = _ns_graph_node (g, i);
      gint64 t0 = m->profiling ? g_get_monotonic_time () : 0;

      if (node->kind == NS_NODE_ACT && node->inplace)
        node->out = _ns_graph_node (g, node->in[0])->out;
      else
        {
          node->out = pool_acquire (m, shapes[i], error);
          if (node->out == NULL)
            {
              release_outputs (m);
              return NULL;
            }
        }
      if (!run_node (m, g, node, training, error))
        {
          release_outputs (m);
          return NULL;
        }
      if (m->profiling)
        profile_add (m, _ns_graph_node_profile_name (g, node), t0);

      if (training)
        continue;
      for (int k = 0; k < 2; k++)
        {
          int j = node->in[k];
          if (j <= 0)
            continue;
          NsNode *src = _ns_graph_node (g, j);
          if (--src->uses_left > 0)
            continue;
          if (node->kind == NS_NODE_ACT && node->inplace)
            src->out = NULL;   /* the tensor now belongs to the activation */
          else
            {
              pool_release (m, src->out);
              src->out = NULL;
            }
        }
    }
  return _ns_graph_node (g, n - 1)->out;
}

/* ---- backward -------------------------------------------------------------------------- */

typedef struct
{
  int node;
  NsTensor *tmp;
} GradTarget;

/* A gradient buffer.  Backward returns nothing, so running out of memory here is
 * recorded as a failure of the step (the backend's status, which the caller checks). */
static NsTensor *
grad_acquire (NsModel *m, const int shape[4])
{
  g_autoptr (GError) local = NULL;
  NsTensor *t = pool_acquire (m, shape, &local);
  if (t == NULL)
    _ns_backend_fail (m->backend, local->code, "backward: %s", local->message);
  return t;
}

/* Where the gradient of node j goes: its own buffer the first time (assigned), else a
 * temporary that grad_finish() adds in. */
static NsTensor *
grad_begin (NsModel *m, NsGraph *g, int j, GradTarget *t)
{
  t->node = j;
  t->tmp = NULL;
  if (j <= 0)
    return NULL;
  NsNode *src = _ns_graph_node (g, j);
  int s[4];
  ns_tensor_get_shape (src->out, s);
  if (src->grad == NULL)
    {
      src->grad = grad_acquire (m, s);
      return src->grad;
    }
  t->tmp = grad_acquire (m, s);
  return t->tmp;
}

static void
grad_finish (NsModel *m, NsGraph *g, GradTarget *t)
{
  if (t->tmp == NULL)
    return;
  NsNode *src = _ns_graph_node (g, t->node);
  ns_add_forward (src->grad, src->grad, t->tmp);
  pool_release (m, t->tmp);
}

void
ns_model_backward (NsModel *m, NsTensor *dlogits)
{
  g_return_if_fail (m != NULL && dlogits != NULL);
  g_return_if_fail (m->mode == NS_MODEL_TRAIN && m->last == &m->train);

  NsGraph *g = &m->train;
  guint n = g->nodes->len;

  _ns_graph_node (g, n - 1)->grad = dlogits;
  for (guint i = n - 1; i >= 1; i--)
    {
      NsNode *node = _ns_graph_node (g, i);
      NsTensor *dout = node->grad;
      GradTarget ta, tb;
      gint64 t0 = m->profiling ? g_get_monotonic_time () : 0;

      if (dout == NULL)
        continue;
      NsNode *a = _ns_graph_node (g, node->in[0]);
      switch (node->kind)
        {
        case NS_NODE_CONV:
          {
            NsConv2dParams p = node->conv;
            NsTensor *da = grad_begin (m, g, node->in[0], &ta);
            p.act = NS_ACT_NONE;
            ns_conv2d_backward (da, _ns_graph_param (g, node->weight)->grad,
                                node->bias >= 0 ? _ns_graph_param (g, node->bias)->grad : NULL,
                                dout, a->out, _ns_graph_param (g, node->weight)->value, &p);
            grad_finish (m, g, &ta);
          }
          break;
        case NS_NODE_BN:
          {
            NsTensor *da = grad_begin (m, g, node->in[0], &ta);
            ns_batchnorm_backward (da, _ns_graph_param (g, node->gamma)->grad,
                                   _ns_graph_param (g, node->beta)->grad, dout, a->out,
                                   node->save_mean, node->save_invstd,
                                   _ns_graph_param (g, node->gamma)->value);
            grad_finish (m, g, &ta);
          }
          break;
        case NS_NODE_ACT:
          {
            NsTensor *da = grad_begin (m, g, node->in[0], &ta);
            if (da != NULL)
              ns_relu_backward (da, dout, node->out, node->act);
            grad_finish (m, g, &ta);
          }
          break;
        case NS_NODE_ADD:
          for (int k = 0; k < 2; k++)
            {
              int j = node->in[k];
              if (j <= 0)
                continue;
              NsNode *src = _ns_graph_node (g, j);
              if (src->grad == NULL)
                {
                  int s[4];
                  ns_tensor_get_shape (dout, s);
                  src->grad = grad_acquire (m, s);
                  if (src->grad != NULL)
                    ns_tensor_copy (src->grad, dout);
                }
              else
                ns_add_forward (src->grad, src->grad, dout);
            }
          break;
        case NS_NODE_CONCAT:
          {
            NsTensor *da = grad_begin (m, g, node->in[0], &ta);
            NsTensor *db = grad_begin (m, g, node->in[1], &tb);
            if (da != NULL || db != NULL)
              ns_concat_backward (da, db, dout);
            grad_finish (m, g, &ta);
            grad_finish (m, g, &tb);
          }
          break;
        case NS_NODE_UPSAMPLE:
          {
            NsTensor *da = grad_begin (m, g, node->in[0], &ta);
            if (da != NULL)
              ns_upsample2_backward (da, dout);
            grad_finish (m, g, &ta);
          }
          break;
        case NS_NODE_MAXPOOL:
          {
            NsTensor *da = grad_begin (m, g, node->in[0], &ta);
            if (da != NULL)
              ns_maxpool2_backward (da, dout, a->out, node->out);
            grad_finish (m, g, &ta);
          }
          break;
        case NS_NODE_CONVT:
          {
            NsTensor *da = grad_begin (m, g, node->in[0], &ta);
            ns_convt2_backward (da, _ns_graph_param (g, node->weight)->grad,
                                _ns_graph_param (g, node->bias)->grad, dout, a->out,
                                _ns_graph_param (g, node->weight)->value);
            grad_finish (m, g, &ta);
          }
          break;
        case NS_NODE_UPCONV:   /* the inference graph only */
          g_assert_not_reached ();
          break;
        case NS_NODE_INPUT:
          break;
        }
      if (m->profiling)
        {
          g_autofree char *key = g_strconcat (_ns_graph_node_profile_name (g, node),
                                              "-backward", NULL);
          const char *name = g_intern_string (key);
          profile_add (m, name, t0);
        }
      if (i != n - 1)
        pool_release (m, dout);
      node->grad = NULL;
    }
}

void
ns_model_zero_grad (NsModel *m)
{
  g_return_if_fail (m != NULL);
  ns_tensor_fill (m->flat_grads, 0.0f);
}

void
ns_model_adam_step (NsModel *m, const NsAdamParams *p)
{
  g_return_if_fail (m != NULL && p != NULL);
  if (m->flat_m == NULL || m->flat_v == NULL)
    {
      g_autoptr (GError) local = NULL;
      if (m->flat_m == NULL)
        m->flat_m = ns_tensor_new (m->backend, (int) m->n_trainable, 1, 1, 1, &local);
      if (m->flat_m != NULL && m->flat_v == NULL)
        m->flat_v = ns_tensor_new (m->backend, (int) m->n_trainable, 1, 1, 1, &local);
      if (m->flat_v == NULL)
        {
          _ns_backend_fail (m->backend, local->code, "the optimiser state: %s",
                            local->message);
          return;
        }
      ns_tensor_fill (m->flat_m, 0.0f);
      ns_tensor_fill (m->flat_v, 0.0f);
    }
  NsAdamParams q = *p;
  q.step = ++m->step;
  ns_adam_update (m->flat_params, m->flat_grads, m->flat_m, m->flat_v, &q);
  m->infer_stale = TRUE;
}

/* The region loss on the host (ns-model-loss.c): logits down, dlogits up. */
static float
region_loss (NsModel *m, NsTensor *dlogits, NsTensor *logits, const float *classes, int n,
             gsize hw, GError **error)
{
  const NsModelMeta *meta = m->meta;
  gsize count = (gsize) n * meta->n_regions * hw;
  g_autofree float *z = g_try_new (float, count);
  g_autofree float *dz = g_try_new (float, count);
  g_autofree int *depth = g_new (int, meta->n_classes);

  if (z == NULL || dz == NULL)
    {
      g_set_error (error, NS_NET_ERROR, NS_NET_ERROR_OUT_OF_MEMORY,
                   "out of memory for the region loss of %d slices", n);
      return NAN;
    }
  for (int k = 0; k < meta->n_classes; k++)
    depth[k] = ns_model_meta_region_depth (meta, k);
  ns_tensor_download (logits, z);
  double loss = ns_region_loss (dz, z, classes, depth, meta->n_classes, n, meta->n_regions, hw);
  if (isnan (loss))
    {
      g_set_error (error, NS_NET_ERROR, NS_NET_ERROR_FAILED,
                   "the region loss is undefined: a label is not a class index 0..%d or a "
                   "logit is not finite", meta->n_classes - 1);
      return NAN;
    }
  ns_tensor_upload (dlogits, dz);
  return (float) loss;
}

float
ns_model_train_step (NsModel *m, const float *images, const float *labels, int n, int h,
                     int w, const NsAdamParams *p, GError **error)
{
  g_return_val_if_fail (m != NULL && images != NULL && labels != NULL && p != NULL, NAN);

  int C = ns_model_meta_n_channels (m->meta), K = ns_model_meta_n_outputs (m->meta);
  int si[4] = { n, C, h, w }, sl[4] = { n, 1, h, w }, sk[4] = { n, K, h, w };
  NsTensor *input, *lab, *probs, *dlogits, *logits = NULL;
  float loss = NAN;
  gboolean failed = FALSE;

  ns_model_set_mode (m, NS_MODEL_TRAIN);
  input = pool_acquire (m, si, error);
  lab = input ? pool_acquire (m, sl, error) : NULL;
  probs = lab ? pool_acquire (m, sk, error) : NULL;
  dlogits = probs ? pool_acquire (m, sk, error) : NULL;
  if (dlogits != NULL)
    {
      ns_tensor_upload (input, images);
      ns_tensor_upload (lab, labels);
      ns_model_zero_grad (m);
      logits = ns_model_forward (m, input, error);
      if (logits != NULL)
        {
          gint64 t0 = m->profiling ? g_get_monotonic_time () : 0;
          gboolean ok = TRUE;
          if (m->meta->n_regions > 0)
            {
              /* the logits leave the device: the forward's status first */
              ok = ns_backend_check (m->backend, error)
                   && !isnan (loss = region_loss (m, dlogits, logits, labels, n,
                                                  (gsize) h * w, error));
              failed = !ok;
            }
          else
            {
              loss = ns_softmax_dice_ce_forward (probs, logits, lab);
              ns_softmax_dice_ce_backward (dlogits, probs, lab);
            }
          if (m->profiling)
            profile_add (m, "loss", t0);
          if (ok)
            {
              ns_model_backward (m, dlogits);
              t0 = m->profiling ? g_get_monotonic_time () : 0;
              ns_model_adam_step (m, p);
              if (m->profiling)
                profile_add (m, "adam", t0);
            }
        }
    }
  pool_release (m, input);
  pool_release (m, lab);
  pool_release (m, probs);
  pool_release (m, dlogits);
  if (failed)
    return NAN;
  /* the step's status: an op that failed anywhere in it fails the step */
  if (logits != NULL && !ns_backend_check (m->backend, error))
    return NAN;
  return loss;
}

/* ---- cost ------------------------------------------------------------------------------ */

gsize
ns_model_bytes_per_slice (NsModel *m, int h, int w)
{
  g_return_val_if_fail (m != NULL, 0);
  return _ns_graph_bytes_per_slice (mode_graph (m), m->mode == NS_MODEL_TRAIN, h, w);
}

double
ns_model_flops_per_slice (NsModel *m, int h, int w)
{
  g_return_val_if_fail (m != NULL, 0);
  return _ns_graph_flops_per_slice (&m->train, h, w);
}

/* ---- tensors by name ------------------------------------------------------------------- */

int
ns_model_n_tensors (NsModel *m)
{
  return (int) m->train.params->len;
}

const char *
ns_model_tensor_name (NsModel *m, int index)
{
  g_return_val_if_fail (index >= 0 && index < (int) m->train.params->len, NULL);
  return _ns_graph_param (&m->train, index)->name;
}

void
ns_model_tensor_shape (NsModel *m, int index, int shape[4])
{
  g_return_if_fail (index >= 0 && index < (int) m->train.params->len);
  memcpy (shape, _ns_graph_param (&m->train, index)->shape, 4 * sizeof (int));
}

int
ns_model_tensor_ndim (NsModel *m, int index)
{
  g_return_val_if_fail (index >= 0 && index < (int) m->train.params->len, 0);
  return _ns_graph_param (&m->train, index)->ndim;
}

gsize
ns_model_tensor_size (NsModel *m, int index)
{
  g_return_val_if_fail (index >= 0 && index < (int) m->train.params->len, 0);
  return _ns_graph_param (&m->train, index)->size;
}

gboolean
ns_model_tensor_is_trainable (NsModel *m, int index)
{
  g_return_val_if_fail (index >= 0 && index < (int) m->train.params->len, FALSE);
  return _ns_param_is_trainable (_ns_graph_param (&m->train, index));
}

int
ns_model_find_tensor (NsModel *m, const char *name)
{
  for (guint i = 0; i < m->train.params->len; i++)
    if (strcmp (_ns_graph_param (&m->train, i)->name, name) == 0)
      return (int) i;
  return -1;
}

void
ns_model_tensor_get (NsModel *m, int index, float *values)
{
  g_return_if_fail (index >= 0 && index < (int) m->train.params->len);
  ns_tensor_download (_ns_graph_param (&m->train, index)->value, values);
}

void
ns_model_tensor_set (NsModel *m, int index, const float *values)
{
  g_return_if_fail (index >= 0 && index < (int) m->train.params->len);
  ns_tensor_upload (_ns_graph_param (&m->train, index)->value, values);
  m->infer_stale = TRUE;
}

NsTensor *
ns_model_get_flat_params (NsModel *m)
{
  return m->flat_params;
}

NsTensor *
ns_model_get_flat_grads (NsModel *m)
{
  return m->flat_grads;
}

gssize
ns_model_tensor_offset (NsModel *m, int index)
{
  g_return_val_if_fail (index >= 0 && index < (int) m->train.params->len, -1);
  NsParam *p = _ns_graph_param (&m->train, index);
  return _ns_param_is_trainable (p) ? (gssize) p->offset : -1;
}
