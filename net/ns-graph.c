/* SPDX-License-Identifier: MIT
 *
 * ns-graph.c: the graph of a network (ns-graph-private.h): the builder the architectures
 * of ns-model-arch.c call, the shapes of every node for an input size, the inference
 * graph derived by folding batch-norm into the convolutions, and what a forward pass of
 * one slice costs in memory and FLOPs.  Nothing here touches a backend's memory: the
 * model (ns-model.c) allocates the parameters and runs the nodes.
 */
#define G_LOG_DOMAIN "neuroseg-net"

#include "ns-graph-private.h"

#include <string.h>

/* ---- building -------------------------------------------------------------------------- */

static void
param_free (gpointer data)
{
  NsParam *p = data;
  ns_tensor_free (p->value);
  ns_tensor_free (p->grad);
  g_free (p->name);
  g_free (p);
}

void
_ns_graph_init (NsGraph *g)
{
  g->nodes = g_array_new (FALSE, TRUE, sizeof (NsNode));
  g->params = g_ptr_array_new_with_free_func (param_free);
}

void
_ns_graph_clear (NsGraph *g)
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

void
_ns_graph_mark_inplace (NsGraph *g)
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

/* ---- shapes ---------------------------------------------------------------------------- */

gboolean
_ns_graph_shapes (NsGraph *g, const int in[4], NsShape4 *shapes)
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
            NsParam *w = _ns_graph_param (g, node->weight);
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
        case NS_NODE_UPCONV:
          s[2] = a[2] * 2;
          s[3] = a[3] * 2;
          if (node->in[1] >= 0
              && (shapes[node->in[1]][2] != s[2] || shapes[node->in[1]][3] != s[3]))
            return FALSE;
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

/* ---- the inference graph --------------------------------------------------------------- */

/* The node of t that upsample node u feeds through the pattern UPCONV replaces: a 3x3
 * stride-1 pad-1 dense convolution reading u, or reading a concat [u, skip]; -1 when
 * there is none.  *concat gets the concat node (or -1). */
static int
upconv_pattern (NsGraph *t, int u, int *concat)
{
  NsNode *up = _ns_graph_node (t, u);
  *concat = -1;
  if (up->kind != NS_NODE_UPSAMPLE || up->n_uses != 1 || u + 1 >= (int) t->nodes->len)
    return -1;
  int c = u + 1;
  NsNode *next = _ns_graph_node (t, c);
  if (next->kind == NS_NODE_CONCAT && next->in[0] == u && next->in[1] != u
      && next->n_uses == 1 && c + 1 < (int) t->nodes->len)
    {
      *concat = c;
      c++;
      next = _ns_graph_node (t, c);
    }
  if (next->kind != NS_NODE_CONV || next->in[0] != c - 1 || next->conv.stride != 1
      || next->conv.pad != 1 || next->conv.groups != 1)
    return -1;
  NsParam *w = _ns_graph_param (t, next->weight);
  return w->shape[2] == 3 && w->shape[3] == 3 ? c : -1;
}

NsGraphFuse
_ns_graph_fusions (NsBackend *backend)
{
  NsGraphFuse fuse = 0;
  if (ns_backend_supports_op (backend, NS_OP_UPCONV2))
    fuse |= NS_GRAPH_FUSE_UPCONV;
  if (ns_backend_supports_op (backend, NS_OP_CONV2D_ADD))
    fuse |= NS_GRAPH_FUSE_ADD;
  return fuse;
}

void
_ns_graph_fold (NsGraph *t, NsGraph *f, GArray *fold, NsGraphFuse fuse)
{
  g_autofree int *map = g_new (int, t->nodes->len);
  /* UPCONV: the conv node of t that takes the place of an upsample (and concat) and the
   * inputs it reads in f */
  int upconv = -1, up_in = -1, skip_in = -1;

  for (guint i = 0; i < t->nodes->len; i++)
    {
      NsNode *node = _ns_graph_node (t, i);
      int a = node->in[0] >= 0 ? map[node->in[0]] : -1;
      int b = node->in[1] >= 0 ? map[node->in[1]] : -1;

      if ((fuse & NS_GRAPH_FUSE_UPCONV) && node->kind == NS_NODE_UPSAMPLE)
        {
          int concat;
          int c = upconv_pattern (t, (int) i, &concat);
          if (c >= 0)
            {
              upconv = c;
              up_in = a;
              skip_in = concat >= 0 ? map[_ns_graph_node (t, concat)->in[1]] : -1;
              /* not emitted: nothing but the convolution reads them */
              for (int j = (int) i; j < c; j++)
                map[j] = -1;
              i = c - 1;
              continue;
            }
        }

      switch (node->kind)
        {
        case NS_NODE_INPUT:
          map[i] = _ns_graph_input (f, node->channels);
          break;
        case NS_NODE_CONV:
          {
            NsParam *w = _ns_graph_param (t, node->weight);
            NsFoldEntry e = { -1, -1, node->weight, node->bias, -1, -1, -1, -1 };
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
            /* a residual added right after (MobileNetV2's projections) */
            int residual = -1;
            NsNode *add = last + 1 < t->nodes->len ? _ns_graph_node (t, last + 1) : NULL;
            if ((fuse & NS_GRAPH_FUSE_ADD) && act == NS_ACT_NONE && (int) i != upconv
                && add != NULL && add->kind == NS_NODE_ADD
                && _ns_graph_node (t, last)->n_uses == 1
                && (add->in[0] == (int) last) != (add->in[1] == (int) last)
                && map[add->in[0] == (int) last ? add->in[1] : add->in[0]] >= 0)
              {
                residual = map[add->in[0] == (int) last ? add->in[1] : add->in[0]];
                last++;
              }
            int k = (int) i == upconv
                      ? add_node (f, NS_NODE_UPCONV, up_in, skip_in, node->channels)
                      : add_node (f, NS_NODE_CONV, a, residual, node->channels);
            NsNode *fn = _ns_graph_node (f, k);
            fn->conv = node->conv;
            fn->conv.act = act;
            g_autofree char *prefix = g_strconcat ("folded.", w->name, NULL);
            fn->weight = add_param (f, prefix, "w", NS_PARAM_WEIGHT, w->shape[0], w->shape[1],
                                    w->shape[2], w->shape[3], 4);
            fn->bias = add_param (f, prefix, "b", NS_PARAM_BIAS, w->shape[0], 1, 1, 1, 1);
            e.dst_w = fn->weight;
            e.dst_b = fn->bias;
            g_array_append_val (fold, e);
            for (guint j = i; j <= last; j++)
              map[j] = k;
            i = last;
          }
          break;
        case NS_NODE_CONVT:
          {
            NsParam *w = _ns_graph_param (t, node->weight);
            int k = add_node (f, NS_NODE_CONVT, a, -1, node->channels);
            NsNode *fn = _ns_graph_node (f, k);
            g_autofree char *prefix = g_strconcat ("folded.", w->name, NULL);
            NsFoldEntry e = { -1, -1, node->weight, node->bias, -1, -1, -1, -1 };
            fn->weight = add_param (f, prefix, "w", NS_PARAM_WEIGHT, w->shape[0], w->shape[1],
                                    2, 2, 4);
            fn->bias = add_param (f, prefix, "b", NS_PARAM_BIAS, w->shape[1], 1, 1, 1, 1);
            e.dst_w = fn->weight;
            e.dst_b = fn->bias;
            g_array_append_val (fold, e);
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
  _ns_graph_mark_inplace (f);
}

/* ---- cost ------------------------------------------------------------------------------ */

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
_ns_graph_bytes_per_slice (NsGraph *g, gboolean training, int h, int w)
{
  guint n = g->nodes->len;
  int in[4] = { 1, _ns_graph_node (g, 0)->channels, h, w };
  g_autofree NsShape4 *shapes = g_new (NsShape4, n);
  g_autofree int *uses = g_new (int, n);
  g_autoptr (GArray) counts = g_array_new (FALSE, FALSE, sizeof (ShapeCount));
  gsize bytes = 0;

  if (!_ns_graph_shapes (g, in, shapes))
    return 0;
  for (guint i = 0; i < n; i++)
    uses[i] = _ns_graph_node (g, i)->n_uses;
  count_acquire (counts, in);
  for (guint i = 1; i < n; i++)
    {
      NsNode *node = _ns_graph_node (g, i);
      if (node->kind == NS_NODE_UPCONV)
        {
          /* what the composed fallback holds at its peak (ns_upconv2_forward): the
           * upsampled and the concatenated tensors; the fused op needs less */
          const int *a = shapes[node->in[0]];
          int up[4] = { a[0], a[1], a[2] * 2, a[3] * 2 };
          int cat[4] = { a[0], a[1], a[2] * 2, a[3] * 2 };
          if (node->in[1] >= 0)
            cat[1] += shapes[node->in[1]][1];
          count_acquire (counts, up);
          if (node->in[1] >= 0)
            {
              count_acquire (counts, cat);
              count_release (counts, up);
            }
          count_acquire (counts, shapes[i]);
          count_release (counts, node->in[1] >= 0 ? cat : up);
        }
      else if (!(node->kind == NS_NODE_ACT && node->inplace))
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
_ns_graph_flops_per_slice (NsGraph *g, int h, int w)
{
  guint n = g->nodes->len;
  int in[4] = { 1, _ns_graph_node (g, 0)->channels, h, w };
  g_autofree NsShape4 *shapes = g_new (NsShape4, n);
  double flops = 0;

  if (!_ns_graph_shapes (g, in, shapes))
    return 0;
  for (guint i = 1; i < n; i++)
    {
      NsNode *node = _ns_graph_node (g, i);
      if (node->kind == NS_NODE_CONV || node->kind == NS_NODE_UPCONV
          || node->kind == NS_NODE_CONVT)
        {
          NsParam *wt = _ns_graph_param (g, node->weight);
          double per_out = node->kind == NS_NODE_CONV
                             ? (double) wt->shape[1] * wt->shape[2] * wt->shape[3]
                             : (double) wt->shape[0];   /* each output sees C inputs */
          flops += 2.0 * per_out * shapes[i][1] * shapes[i][2] * shapes[i][3];
        }
    }
  return flops;
}

const char *
_ns_graph_node_profile_name (NsGraph *g, NsNode *node)
{
  switch (node->kind)
    {
    case NS_NODE_CONV:
      {
        NsParam *w = _ns_graph_param (g, node->weight);
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
    case NS_NODE_UPCONV:
      return "upconv3x3";
    case NS_NODE_INPUT:
      break;
    }
  return "other";
}
