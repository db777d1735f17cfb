/* SPDX-License-Identifier: MIT
 *
 * ns-model.c: parameters, graph executor (forward, backward), modes and Adam for the
 * networks built in ns-model-arch.c.
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

#include "ns-model-private.h"
#include "ns-memory.h"

#include <math.h>
#include <string.h>

#define BN_EPS 1e-5f
#define BN_MOMENTUM 0.1f

typedef int Shape4[4];

typedef struct
{
  int dst_w, dst_b;              /* params of the inference graph */
  int src_w, src_b;              /* params of the training graph (src_b may be -1) */
  int gamma, beta, mean, var;    /* -1 when no batch-norm follows */
} FoldEntry;

struct _NsModel
{
  NsBackend *backend;
  NsModelMeta *meta;
  int size_multiple;

  NsGraph train;                 /* conv, BN, act nodes; params = every stored tensor */
  NsGraph infer;                 /* folded; params = folded weights and biases */
  GArray *fold;                  /* FoldEntry */
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

/* ---- metadata -------------------------------------------------------------------------- */

gboolean
ns_model_arch_is_known (const char *arch)
{
  return g_strcmp0 (arch, "mobilenetv2-unet") == 0 || g_strcmp0 (arch, "unet") == 0;
}

NsModelMeta *
ns_model_meta_new_default (const char *arch)
{
  static const struct
  {
    int value;
    const char *name;
    guint8 rgb[3];
  } brats[4] = {
    { 0, "background", { 0, 0, 0 } },
    { 1, "NCR/NET", { 255, 0, 0 } },
    { 2, "edema", { 0, 255, 0 } },
    { 4, "enhancing", { 255, 255, 0 } },
  };
  NsModelMeta *meta = g_new0 (NsModelMeta, 1);

  meta->arch = g_strdup (arch != NULL ? arch : "mobilenetv2-unet");
  meta->modalities = g_new0 (char *, 3);
  meta->modalities[0] = g_strdup ("flair");
  meta->modalities[1] = g_strdup ("t1c");
  meta->n_classes = 4;
  meta->classes = g_new0 (NsModelClass, 4);
  for (int k = 0; k < 4; k++)
    {
      meta->classes[k].value = brats[k].value;
      meta->classes[k].name = g_strdup (brats[k].name);
      memcpy (meta->classes[k].colour, brats[k].rgb, 3);
    }
  meta->normalisation = g_strdup ("zscore-brain");
  return meta;
}

NsModelMeta *
ns_model_meta_copy (const NsModelMeta *meta)
{
  NsModelMeta *c = g_new0 (NsModelMeta, 1);

  c->arch = g_strdup (meta->arch);
  c->modalities = g_strdupv (meta->modalities);
  c->n_classes = meta->n_classes;
  c->classes = g_new0 (NsModelClass, MAX (meta->n_classes, 1));
  for (int k = 0; k < meta->n_classes; k++)
    {
      c->classes[k] = meta->classes[k];
      c->classes[k].name = g_strdup (meta->classes[k].name);
    }
  c->normalisation = g_strdup (meta->normalisation);
  c->name = g_strdup (meta->name);
  c->parent = g_strdup (meta->parent);
  c->cases = g_strdupv (meta->cases);
  c->epochs = meta->epochs;
  c->metrics = g_strdup (meta->metrics);
  c->date = g_strdup (meta->date);
  c->command = g_strdup (meta->command);
  return c;
}

void
ns_model_meta_free (NsModelMeta *meta)
{
  if (meta == NULL)
    return;
  g_free (meta->arch);
  g_strfreev (meta->modalities);
  for (int k = 0; k < meta->n_classes && meta->classes != NULL; k++)
    g_free (meta->classes[k].name);
  g_free (meta->classes);
  g_free (meta->normalisation);
  g_free (meta->name);
  g_free (meta->parent);
  g_strfreev (meta->cases);
  g_free (meta->metrics);
  g_free (meta->date);
  g_free (meta->command);
  g_free (meta);
}

int
ns_model_meta_n_inputs (const NsModelMeta *meta)
{
  return meta->modalities != NULL ? (int) g_strv_length (meta->modalities) : 0;
}

/* ---- graph builder --------------------------------------------------------------------- */

static void
param_free (gpointer data)
{
  NsParam *p = data;
  ns_tensor_free (p->value);
  ns_tensor_free (p->grad);
  g_free (p->name);
  g_free (p);
}

static void
graph_init (NsGraph *g)
{
  g->nodes = g_array_new (FALSE, TRUE, sizeof (NsNode));
  g->params = g_ptr_array_new_with_free_func (param_free);
}

static int
add_param (NsGraph *g, const char *prefix, const char *suffix, NsParamRole role, int n, int c,
           int h, int w, int ndim)
{
  NsParam *p = g_new0 (NsParam, 1);
  p->name = g_strconcat (prefix, ".", suffix, NULL);
  p->role = role;
  p->shape[0] = n;
  p->shape[1] = c;
  p->shape[2] = h;
  p->shape[3] = w;
  p->ndim = ndim;
  p->size = (gsize) n * c * h * w;
  p->fan_in = c * h * w;
  g_ptr_array_add (g->params, p);
  return (int) g->params->len - 1;
}

static int
add_node (NsGraph *g, NsNodeKind kind, int a, int b, int channels)
{
  NsNode node = { 0 };
  node.kind = kind;
  node.in[0] = a;
  node.in[1] = b;
  node.channels = channels;
  node.weight = node.bias = node.gamma = node.beta = node.mean = node.var = -1;
  if (a >= 0)
    _ns_graph_node (g, a)->n_uses++;
  if (b >= 0)
    _ns_graph_node (g, b)->n_uses++;
  g_array_append_val (g->nodes, node);
  return (int) g->nodes->len - 1;
}

int
_ns_graph_input (NsGraph *g, int channels)
{
  return add_node (g, NS_NODE_INPUT, -1, -1, channels);
}

int
_ns_graph_conv (NsGraph *g, const char *name, int in, int out_channels, int ksize, int stride,
                int groups, gboolean bias)
{
  int c = _ns_graph_node (g, in)->channels;
  int i = add_node (g, NS_NODE_CONV, in, -1, out_channels);
  NsNode *node = _ns_graph_node (g, i);

  node->conv.stride = stride;
  node->conv.pad = ksize / 2;
  node->conv.groups = groups;
  node->conv.act = NS_ACT_NONE;
  node->weight = add_param (g, name, "weight", NS_PARAM_WEIGHT, out_channels, c / groups,
                            ksize, ksize, 4);
  if (bias)
    node->bias = add_param (g, name, "bias", NS_PARAM_BIAS, out_channels, 1, 1, 1, 1);
  return i;
}

int
_ns_graph_bn (NsGraph *g, const char *name, int in)
{
  int c = _ns_graph_node (g, in)->channels;
  int i = add_node (g, NS_NODE_BN, in, -1, c);
  NsNode *node = _ns_graph_node (g, i);

  node->gamma = add_param (g, name, "weight", NS_PARAM_BN_GAMMA, c, 1, 1, 1, 1);
  node->beta = add_param (g, name, "bias", NS_PARAM_BN_BETA, c, 1, 1, 1, 1);
  node->mean = add_param (g, name, "running_mean", NS_PARAM_BN_MEAN, c, 1, 1, 1, 1);
  node->var = add_param (g, name, "running_var", NS_PARAM_BN_VAR, c, 1, 1, 1, 1);
  return i;
}

int
_ns_graph_act (NsGraph *g, int in, NsActivation act)
{
  NsNode *src = _ns_graph_node (g, in);
  int i = add_node (g, NS_NODE_ACT, in, -1, src->channels);
  _ns_graph_node (g, i)->act = act;
  return i;
}

int
_ns_graph_add (NsGraph *g, int a, int b)
{
  return add_node (g, NS_NODE_ADD, a, b, _ns_graph_node (g, a)->channels);
}

int
_ns_graph_concat (NsGraph *g, int a, int b)
{
  int c = _ns_graph_node (g, a)->channels + _ns_graph_node (g, b)->channels;
  return add_node (g, NS_NODE_CONCAT, a, b, c);
}

int
_ns_graph_upsample (NsGraph *g, int in)
{
  return add_node (g, NS_NODE_UPSAMPLE, in, -1, _ns_graph_node (g, in)->channels);
}

int
_ns_graph_maxpool (NsGraph *g, int in)
{
  return add_node (g, NS_NODE_MAXPOOL, in, -1, _ns_graph_node (g, in)->channels);
}

int
_ns_graph_convt (NsGraph *g, const char *name, int in, int out_channels)
{
  int c = _ns_graph_node (g, in)->channels;
  int i = add_node (g, NS_NODE_CONVT, in, -1, out_channels);
  NsNode *node = _ns_graph_node (g, i);

  node->weight = add_param (g, name, "weight", NS_PARAM_WEIGHT, c, out_channels, 2, 2, 4);
  /* ConvTranspose2d's fan-in as PyTorch computes it for init: weight.size(1) * 2 * 2. */
  ((NsParam *) g->params->pdata[node->weight])->fan_in = out_channels * 4;
  node->bias = add_param (g, name, "bias", NS_PARAM_BIAS, out_channels, 1, 1, 1, 1);
  return i;
}

int
_ns_graph_conv_bn_act (NsGraph *g, const char *conv_name, const char *bn_name, int in,
                       int out_channels, int ksize, int stride, int groups, NsActivation act)
{
  int x = _ns_graph_conv (g, conv_name, in, out_channels, ksize, stride, groups, FALSE);
  x = _ns_graph_bn (g, bn_name, x);
  return _ns_graph_act (g, x, act);
}

/* An activation may overwrite its input when nobody else reads it and the producer's
 * backward does not need its own output (max-pool does). */
static void
mark_inplace (NsGraph *g)
{
  for (guint i = 0; i < g->nodes->len; i++)
    {
      NsNode *node = _ns_graph_node (g, i);
      if (node->kind != NS_NODE_ACT)
        continue;
      NsNode *src = _ns_graph_node (g, node->in[0]);
      node->inplace = src->n_uses == 1 && src->kind != NS_NODE_INPUT
                      && src->kind != NS_NODE_MAXPOOL;
    }
}

static NsParam *
graph_param (NsGraph *g, int i)
{
  return g->params->pdata[i];
}

/* ---- shapes ---------------------------------------------------------------------------- */

/* Output shapes of every node for an input of shape in[4]; FALSE if a node does not fit
 * (odd size before a pool, skip sizes that differ). */
static gboolean
graph_shapes (NsGraph *g, const int in[4], Shape4 *shapes)
{
  for (guint i = 0; i < g->nodes->len; i++)
    {
      NsNode *node = _ns_graph_node (g, i);
      int *s = shapes[i];
      const int *a = node->in[0] >= 0 ? shapes[node->in[0]] : in;
      s[0] = a[0];
      s[1] = node->channels;
      s[2] = a[2];
      s[3] = a[3];
      switch (node->kind)
        {
        case NS_NODE_INPUT:
          if (in[1] != node->channels)
            return FALSE;
          break;
        case NS_NODE_CONV:
          {
            NsParam *w = graph_param (g, node->weight);
            int k = w->shape[2];
            s[2] = (a[2] + 2 * node->conv.pad - k) / node->conv.stride + 1;
            s[3] = (a[3] + 2 * node->conv.pad - k) / node->conv.stride + 1;
            if (s[2] < 1 || s[3] < 1)
              return FALSE;
          }
          break;
        case NS_NODE_MAXPOOL:
          if (a[2] % 2 != 0 || a[3] % 2 != 0)
            return FALSE;
          s[2] = a[2] / 2;
          s[3] = a[3] / 2;
          break;
        case NS_NODE_UPSAMPLE:
        case NS_NODE_CONVT:
          s[2] = a[2] * 2;
          s[3] = a[3] * 2;
          break;
        case NS_NODE_ADD:
        case NS_NODE_CONCAT:
          {
            const int *b = shapes[node->in[1]];
            if (b[2] != a[2] || b[3] != a[3])
              return FALSE;
          }
          break;
        case NS_NODE_BN:
        case NS_NODE_ACT:
          break;
        }
    }
  return TRUE;
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
      NsParam *p = graph_param (&m->train, i);
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
is_trainable (const NsParam *p)
{
  return p->role != NS_PARAM_BN_MEAN && p->role != NS_PARAM_BN_VAR;
}

/* The inference graph: conv [-> BN] [-> act] become one conv with bias and fused act. */
static void
build_infer_graph (NsModel *m)
{
  NsGraph *t = &m->train, *f = &m->infer;
  g_autofree int *map = g_new (int, t->nodes->len);

  for (guint i = 0; i < t->nodes->len; i++)
    {
      NsNode *node = _ns_graph_node (t, i);
      int a = node->in[0] >= 0 ? map[node->in[0]] : -1;
      int b = node->in[1] >= 0 ? map[node->in[1]] : -1;

      switch (node->kind)
        {
        case NS_NODE_INPUT:
          map[i] = _ns_graph_input (f, node->channels);
          break;
        case NS_NODE_CONV:
          {
            NsParam *w = graph_param (t, node->weight);
            FoldEntry e = { -1, -1, node->weight, node->bias, -1, -1, -1, -1 };
            guint last = i;
            NsNode *next = i + 1 < t->nodes->len ? _ns_graph_node (t, i + 1) : NULL;
            NsActivation act = NS_ACT_NONE;

            if (next != NULL && next->kind == NS_NODE_BN && next->in[0] == (int) i
                && node->n_uses == 1)
              {
                e.gamma = next->gamma;
                e.beta = next->beta;
                e.mean = next->mean;
                e.var = next->var;
                last = i + 1;
                NsNode *after = i + 2 < t->nodes->len ? _ns_graph_node (t, i + 2) : NULL;
                if (after != NULL && after->kind == NS_NODE_ACT && after->in[0] == (int) i + 1
                    && next->n_uses == 1)
                  {
                    act = after->act;
                    last = i + 2;
                  }
              }
            int k = add_node (f, NS_NODE_CONV, a, -1, node->channels);
            NsNode *fn = _ns_graph_node (f, k);
            fn->conv = node->conv;
            fn->conv.act = act;
            g_autofree char *prefix = g_strconcat ("folded.", w->name, NULL);
            fn->weight = add_param (f, prefix, "w", NS_PARAM_WEIGHT, w->shape[0], w->shape[1],
                                    w->shape[2], w->shape[3], 4);
            fn->bias = add_param (f, prefix, "b", NS_PARAM_BIAS, w->shape[0], 1, 1, 1, 1);
            e.dst_w = fn->weight;
            e.dst_b = fn->bias;
            g_array_append_val (m->fold, e);
            for (guint j = i; j <= last; j++)
              map[j] = k;
            i = last;
          }
          break;
        case NS_NODE_CONVT:
          {
            NsParam *w = graph_param (t, node->weight);
            int k = add_node (f, NS_NODE_CONVT, a, -1, node->channels);
            NsNode *fn = _ns_graph_node (f, k);
            g_autofree char *prefix = g_strconcat ("folded.", w->name, NULL);
            FoldEntry e = { -1, -1, node->weight, node->bias, -1, -1, -1, -1 };
            fn->weight = add_param (f, prefix, "w", NS_PARAM_WEIGHT, w->shape[0], w->shape[1],
                                    2, 2, 4);
            fn->bias = add_param (f, prefix, "b", NS_PARAM_BIAS, w->shape[1], 1, 1, 1, 1);
            e.dst_w = fn->weight;
            e.dst_b = fn->bias;
            g_array_append_val (m->fold, e);
            map[i] = k;
          }
          break;
        case NS_NODE_BN:
          /* Both architectures put every batch-norm right after a convolution. */
          g_assert_not_reached ();
          break;
        case NS_NODE_ACT:
          map[i] = _ns_graph_act (f, a, node->act);
          break;
        default:
          {
            int k = add_node (f, node->kind, a, b, node->channels);
            map[i] = k;
          }
          break;
        }
    }
  mark_inplace (f);
}

static gboolean
allocate_params (NsModel *m, GError **error)
{
  gsize off_train = 0, off_stats = 0, off_infer = 0;

  for (guint i = 0; i < m->train.params->len; i++)
    {
      NsParam *p = graph_param (&m->train, i);
      if (is_trainable (p))
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
      NsParam *p = graph_param (&m->infer, i);
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
      NsParam *p = graph_param (&m->train, i);
      NsTensor *flat = is_trainable (p) ? m->flat_params : m->flat_stats;
      p->value = ns_tensor_new_view (flat, p->offset, p->shape[0], p->shape[1], p->shape[2],
                                     p->shape[3]);
      if (is_trainable (p))
        p->grad = ns_tensor_new_view (m->flat_grads, p->offset, p->shape[0], p->shape[1],
                                      p->shape[2], p->shape[3]);
    }
  for (guint i = 0; i < m->infer.params->len; i++)
    {
      NsParam *p = graph_param (&m->infer, i);
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

  g_autoptr (NsModel) m = g_new0 (NsModel, 1);
  m->backend = backend;
  m->meta = ns_model_meta_copy (meta);
  m->pool = g_ptr_array_new_with_free_func ((GDestroyNotify) ns_tensor_free);
  m->fold = g_array_new (FALSE, FALSE, sizeof (FoldEntry));
  m->profile = g_hash_table_new_full (g_str_hash, g_str_equal, NULL, g_free);
  m->mode = NS_MODEL_TRAIN;
  graph_init (&m->train);
  graph_init (&m->infer);

  if (!_ns_arch_build (&m->train, m->meta, &m->size_multiple, error))
    return NULL;
  mark_inplace (&m->train);
  build_infer_graph (m);
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
  ns_tensor_download (m->flat_params, values);
  ns_tensor_upload (c->flat_params, values);
  if (m->n_stats > 0)
    {
      ns_tensor_download (m->flat_stats, stats);
      ns_tensor_upload (c->flat_stats, stats);
    }
  c->step = m->step;
  c->infer_stale = TRUE;
  ns_model_set_mode (c, NS_MODEL_INFER);
  return g_steal_pointer (&c);
}

static void
graph_clear (NsGraph *g)
{
  if (g->nodes != NULL)
    {
      for (guint i = 0; i < g->nodes->len; i++)
        {
          NsNode *node = _ns_graph_node (g, i);
          ns_tensor_free (node->save_mean);
          ns_tensor_free (node->save_invstd);
        }
      g_array_unref (g->nodes);
    }
  if (g->params != NULL)
    g_ptr_array_unref (g->params);
}

void
ns_model_free (NsModel *m)
{
  if (m == NULL)
    return;
  if (m->pool != NULL)
    ns_model_trim (m);
  /* Views before their flat parents. */
  graph_clear (&m->train);
  graph_clear (&m->infer);
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
  /* What the network is stays what it was built as. */
  g_free (c->arch);
  c->arch = g_strdup (m->meta->arch);
  g_strfreev (c->modalities);
  c->modalities = g_strdupv (m->meta->modalities);
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
      FoldEntry *e = &g_array_index (m->fold, FoldEntry, i);
      NsParam *sw = graph_param (&m->train, e->src_w);
      NsParam *dw = graph_param (&m->infer, e->dst_w);
      NsParam *db = graph_param (&m->infer, e->dst_b);
      int K = (int) db->size;
      gsize per_k = sw->size / (gsize) K;

      if (e->gamma < 0)
        {
          /* No batch-norm: copy (convt weights are (C, K, 2, 2); any layout works). */
          memcpy (dst + dw->offset, src + sw->offset, sw->size * sizeof (float));
          for (int k = 0; k < K; k++)
            dst[db->offset + k] = e->src_b >= 0
                                    ? src[graph_param (&m->train, e->src_b)->offset + k] : 0.0f;
          continue;
        }
      const float *gamma = src + graph_param (&m->train, e->gamma)->offset;
      const float *beta = src + graph_param (&m->train, e->beta)->offset;
      const float *mean = stats + graph_param (&m->train, e->mean)->offset;
      const float *var = stats + graph_param (&m->train, e->var)->offset;
      for (int k = 0; k < K; k++)
        {
          double scale = gamma[k] / sqrt ((double) var[k] + BN_EPS);
          double b = e->src_b >= 0 ? src[graph_param (&m->train, e->src_b)->offset + k] : 0.0;
          for (gsize j = 0; j < per_k; j++)
            dst[dw->offset + k * per_k + j] = (float) (src[sw->offset + k * per_k + j] * scale);
          dst[db->offset + k] = (float) (beta[k] + (b - mean[k]) * scale);
        }
    }
  ns_tensor_upload (m->flat_infer, dst);
  m->infer_stale = FALSE;
}

/* ---- forward --------------------------------------------------------------------------- */

static const char *
node_profile_name (NsGraph *g, NsNode *node)
{
  switch (node->kind)
    {
    case NS_NODE_CONV:
      {
        NsParam *w = graph_param (g, node->weight);
        if (node->conv.groups > 1)
          return "depthwise";
        if (w->shape[2] == 3)
          return "conv3x3";
        if (w->shape[2] == 1)
          return "conv1x1";
        return "conv-other";
      }
    case NS_NODE_BN:
      return "batchnorm";
    case NS_NODE_ACT:
      return "relu";
    case NS_NODE_ADD:
      return "add";
    case NS_NODE_CONCAT:
      return "concat";
    case NS_NODE_UPSAMPLE:
      return "upsample";
    case NS_NODE_MAXPOOL:
      return "maxpool";
    case NS_NODE_CONVT:
      return "convt";
    case NS_NODE_INPUT:
      break;
    }
  return "other";
}

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
      ns_conv2d_forward (node->out, a, graph_param (g, node->weight)->value,
                         node->bias >= 0 ? graph_param (g, node->bias)->value : NULL,
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
                            graph_param (g, node->gamma)->value,
                            graph_param (g, node->beta)->value,
                            graph_param (g, node->mean)->value,
                            graph_param (g, node->var)->value, training, BN_MOMENTUM, BN_EPS);
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
      ns_convt2_forward (node->out, a, graph_param (g, node->weight)->value,
                         graph_param (g, node->bias)->value);
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
  g_autofree Shape4 *shapes = g_new (Shape4, n);

  ns_tensor_get_shape (input, in);
  if (in[2] % m->size_multiple != 0 || in[3] % m->size_multiple != 0
      || !graph_shapes (g, in, shapes))
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
        profile_add (m, node_profile_name (g, node), t0);

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
      src->grad = pool_acquire (m, s, NULL);
      return src->grad;
    }
  t->tmp = pool_acquire (m, s, NULL);
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
            ns_conv2d_backward (da, graph_param (g, node->weight)->grad,
                                node->bias >= 0 ? graph_param (g, node->bias)->grad : NULL,
                                dout, a->out, graph_param (g, node->weight)->value, &p);
            grad_finish (m, g, &ta);
          }
          break;
        case NS_NODE_BN:
          {
            NsTensor *da = grad_begin (m, g, node->in[0], &ta);
            ns_batchnorm_backward (da, graph_param (g, node->gamma)->grad,
                                   graph_param (g, node->beta)->grad, dout, a->out,
                                   node->save_mean, node->save_invstd,
                                   graph_param (g, node->gamma)->value);
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
                  src->grad = pool_acquire (m, s, NULL);
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
            ns_convt2_backward (da, graph_param (g, node->weight)->grad,
                                graph_param (g, node->bias)->grad, dout, a->out,
                                graph_param (g, node->weight)->value);
            grad_finish (m, g, &ta);
          }
          break;
        case NS_NODE_INPUT:
          break;
        }
      if (m->profiling)
        {
          g_autofree char *key = g_strconcat (node_profile_name (g, node), "-backward", NULL);
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
  if (m->flat_m == NULL)
    {
      m->flat_m = ns_tensor_new (m->backend, (int) m->n_trainable, 1, 1, 1, NULL);
      m->flat_v = ns_tensor_new (m->backend, (int) m->n_trainable, 1, 1, 1, NULL);
      g_return_if_fail (m->flat_m != NULL && m->flat_v != NULL);
      ns_tensor_fill (m->flat_m, 0.0f);
      ns_tensor_fill (m->flat_v, 0.0f);
    }
  NsAdamParams q = *p;
  q.step = ++m->step;
  ns_adam_update (m->flat_params, m->flat_grads, m->flat_m, m->flat_v, &q);
  m->infer_stale = TRUE;
}

float
ns_model_train_step (NsModel *m, const float *images, const float *labels, int n, int h,
                     int w, const NsAdamParams *p, GError **error)
{
  g_return_val_if_fail (m != NULL && images != NULL && labels != NULL && p != NULL, NAN);

  int C = ns_model_meta_n_inputs (m->meta), K = m->meta->n_classes;
  int si[4] = { n, C, h, w }, sl[4] = { n, 1, h, w }, sk[4] = { n, K, h, w };
  NsTensor *input, *lab, *probs, *dlogits, *logits;
  float loss = NAN;

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
          loss = ns_softmax_dice_ce_forward (probs, logits, lab);
          ns_softmax_dice_ce_backward (dlogits, probs, lab);
          if (m->profiling)
            profile_add (m, "loss", t0);
          ns_model_backward (m, dlogits);
          t0 = m->profiling ? g_get_monotonic_time () : 0;
          ns_model_adam_step (m, p);
          if (m->profiling)
            profile_add (m, "adam", t0);
        }
    }
  pool_release (m, input);
  pool_release (m, lab);
  pool_release (m, probs);
  pool_release (m, dlogits);
  return loss;
}

/* ---- sizes ----------------------------------------------------------------------------- */

typedef struct
{
  int shape[4];
  int live;
  int peak;
} ShapeCount;

static void
count_acquire (GArray *counts, const int s[4])
{
  for (guint i = 0; i < counts->len; i++)
    {
      ShapeCount *c = &g_array_index (counts, ShapeCount, i);
      if (memcmp (c->shape, s, sizeof c->shape) == 0)
        {
          c->live++;
          c->peak = MAX (c->peak, c->live);
          return;
        }
    }
  ShapeCount c = { { s[0], s[1], s[2], s[3] }, 1, 1 };
  g_array_append_val (counts, c);
}

static void
count_release (GArray *counts, const int s[4])
{
  for (guint i = 0; i < counts->len; i++)
    {
      ShapeCount *c = &g_array_index (counts, ShapeCount, i);
      if (memcmp (c->shape, s, sizeof c->shape) == 0)
        {
          c->live--;
          return;
        }
    }
}

/* Simulates the pool: the memory it holds is, per shape, the most tensors of that shape
 * live at once. */
gsize
ns_model_bytes_per_slice (NsModel *m, int h, int w)
{
  g_return_val_if_fail (m != NULL, 0);
  NsGraph *g = mode_graph (m);
  guint n = g->nodes->len;
  int in[4] = { 1, _ns_graph_node (g, 0)->channels, h, w };
  g_autofree Shape4 *shapes = g_new (Shape4, n);
  g_autofree int *uses = g_new (int, n);
  g_autoptr (GArray) counts = g_array_new (FALSE, FALSE, sizeof (ShapeCount));
  gboolean training = m->mode == NS_MODEL_TRAIN;
  gsize bytes = 0;

  if (!graph_shapes (g, in, shapes))
    return 0;
  for (guint i = 0; i < n; i++)
    uses[i] = _ns_graph_node (g, i)->n_uses;
  count_acquire (counts, in);
  for (guint i = 1; i < n; i++)
    {
      NsNode *node = _ns_graph_node (g, i);
      if (!(node->kind == NS_NODE_ACT && node->inplace))
        count_acquire (counts, shapes[i]);
      if (training)
        continue;
      for (int k = 0; k < 2; k++)
        {
          int j = node->in[k];
          if (j > 0 && --uses[j] == 0 && !(node->kind == NS_NODE_ACT && node->inplace))
            count_release (counts, shapes[j]);
        }
    }
  if (training)
    {
      /* Gradients: at most the current node's, its inputs' and a temporary, per shape;
       * bounded here by one more tensor of each shape in the graph. */
      for (guint i = 0; i < counts->len; i++)
        g_array_index (counts, ShapeCount, i).peak++;
    }
  for (guint i = 0; i < counts->len; i++)
    {
      ShapeCount *c = &g_array_index (counts, ShapeCount, i);
      bytes += (gsize) c->peak * c->shape[1] * c->shape[2] * c->shape[3] * sizeof (float);
    }
  return bytes;
}

double
ns_model_flops_per_slice (NsModel *m, int h, int w)
{
  g_return_val_if_fail (m != NULL, 0);
  NsGraph *g = &m->train;
  guint n = g->nodes->len;
  int in[4] = { 1, _ns_graph_node (g, 0)->channels, h, w };
  g_autofree Shape4 *shapes = g_new (Shape4, n);
  double flops = 0;

  if (!graph_shapes (g, in, shapes))
    return 0;
  for (guint i = 1; i < n; i++)
    {
      NsNode *node = _ns_graph_node (g, i);
      if (node->kind == NS_NODE_CONV || node->kind == NS_NODE_CONVT)
        {
          NsParam *wt = graph_param (g, node->weight);
          double per_out = node->kind == NS_NODE_CONV
                             ? (double) wt->shape[1] * wt->shape[2] * wt->shape[3]
                             : (double) wt->shape[0];   /* each output sees C inputs */
          flops += 2.0 * per_out * shapes[i][1] * shapes[i][2] * shapes[i][3];
        }
    }
  return flops;
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
  return graph_param (&m->train, index)->name;
}

void
ns_model_tensor_shape (NsModel *m, int index, int shape[4])
{
  g_return_if_fail (index >= 0 && index < (int) m->train.params->len);
  memcpy (shape, graph_param (&m->train, index)->shape, 4 * sizeof (int));
}

int
ns_model_tensor_ndim (NsModel *m, int index)
{
  g_return_val_if_fail (index >= 0 && index < (int) m->train.params->len, 0);
  return graph_param (&m->train, index)->ndim;
}

gsize
ns_model_tensor_size (NsModel *m, int index)
{
  g_return_val_if_fail (index >= 0 && index < (int) m->train.params->len, 0);
  return graph_param (&m->train, index)->size;
}

gboolean
ns_model_tensor_is_trainable (NsModel *m, int index)
{
  g_return_val_if_fail (index >= 0 && index < (int) m->train.params->len, FALSE);
  return is_trainable (graph_param (&m->train, index));
}

int
ns_model_find_tensor (NsModel *m, const char *name)
{
  for (guint i = 0; i < m->train.params->len; i++)
    if (strcmp (graph_param (&m->train, i)->name, name) == 0)
      return (int) i;
  return -1;
}

void
ns_model_tensor_get (NsModel *m, int index, float *values)
{
  g_return_if_fail (index >= 0 && index < (int) m->train.params->len);
  ns_tensor_download (graph_param (&m->train, index)->value, values);
}

void
ns_model_tensor_set (NsModel *m, int index, const float *values)
{
  g_return_if_fail (index >= 0 && index < (int) m->train.params->len);
  ns_tensor_upload (graph_param (&m->train, index)->value, values);
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
  NsParam *p = graph_param (&m->train, index);
  return is_trainable (p) ? (gssize) p->offset : -1;
}
