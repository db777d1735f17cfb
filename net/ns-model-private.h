/* SPDX-License-Identifier: MIT
 *
 * ns-model-private.h: the graph an NsModel runs, shared by ns-model.c (parameters,
 * executor, modes) and ns-model-arch.c (the two architectures).
 *
 * A graph is a topologically ordered array of nodes; node 0 is the input, the last node
 * the logits.  Each node reads one or two earlier nodes.  The training graph has
 * separate conv, batch-norm and activation nodes; the inference graph, derived from it
 * by folding batch-norm, only fused convolutions.
 */
#pragma once

#include "ns-model.h"

G_BEGIN_DECLS

typedef enum
{
  NS_NODE_INPUT,
  NS_NODE_CONV,      /* weight (K, C/g, kh, kw), optional bias; conv.act fused (infer only) */
  NS_NODE_BN,
  NS_NODE_ACT,       /* relu / relu6, in place on its input when that has no other use */
  NS_NODE_ADD,
  NS_NODE_MAXPOOL,
  NS_NODE_UPSAMPLE,
  NS_NODE_CONVT,     /* 2x2 stride 2, weight (C, K, 2, 2), bias */
  NS_NODE_CONCAT,
} NsNodeKind;

typedef struct
{
  NsNodeKind kind;
  int in[2];                 /* input node indices, -1 when unused */
  int channels;              /* output channels */
  NsConv2dParams conv;       /* CONV */
  NsActivation act;          /* ACT */
  int weight, bias;          /* CONV / CONVT: parameter indices, -1 when absent */
  int gamma, beta, mean, var;/* BN */
  int n_uses;                /* how many later nodes read this one */
  gboolean inplace;          /* ACT: output is the input tensor */

  /* run time */
  NsTensor *out;             /* (N, channels, h, w) */
  NsTensor *save_mean;       /* BN in training: (channels) */
  NsTensor *save_invstd;
  NsTensor *grad;            /* backward: d loss / d out */
  int uses_left;
} NsNode;

typedef enum
{
  NS_PARAM_WEIGHT,
  NS_PARAM_BIAS,
  NS_PARAM_BN_GAMMA,
  NS_PARAM_BN_BETA,
  NS_PARAM_BN_MEAN,
  NS_PARAM_BN_VAR,
} NsParamRole;

typedef struct
{
  char *name;
  NsParamRole role;
  int shape[4];
  int ndim;                  /* in PyTorch: 4 for conv weights, 1 for vectors */
  gsize size;
  gsize offset;              /* floats into the flat buffer it lives in */
  int fan_in;                /* weights: C/g * kh * kw */
  NsTensor *value;           /* view into the flat parameters (or running statistics) */
  NsTensor *grad;            /* view into the flat gradients (trainable only) */
} NsParam;

typedef struct
{
  GArray *nodes;             /* NsNode */
  GPtrArray *params;         /* NsParam *, in creation order */
} NsGraph;

/* Builder (ns-model.c).  Each returns the new node's index. */
int  _ns_graph_input    (NsGraph *g, int channels);
int  _ns_graph_conv     (NsGraph *g, const char *name, int in, int out_channels, int ksize,
                         int stride, int groups, gboolean bias);
int  _ns_graph_bn       (NsGraph *g, const char *name, int in);
int  _ns_graph_act      (NsGraph *g, int in, NsActivation act);
int  _ns_graph_add      (NsGraph *g, int a, int b);
int  _ns_graph_concat   (NsGraph *g, int a, int b);
int  _ns_graph_upsample (NsGraph *g, int in);
int  _ns_graph_maxpool  (NsGraph *g, int in);
int  _ns_graph_convt    (NsGraph *g, const char *name, int in, int out_channels);
/* conv (no bias) + BN + activation, PyTorch names prefix.{conv_idx} and prefix.{bn_idx}. */
int  _ns_graph_conv_bn_act (NsGraph *g, const char *conv_name, const char *bn_name, int in,
                            int out_channels, int ksize, int stride, int groups,
                            NsActivation act);

static inline NsNode *
_ns_graph_node (NsGraph *g, int i)
{
  return &g_array_index (g->nodes, NsNode, i);
}

/* Architectures (ns-model-arch.c): build the training graph; FALSE + error if the
 * metadata does not describe a buildable network. */
gboolean _ns_arch_build (NsGraph *g, const NsModelMeta *meta, int *size_multiple,
                         GError **error);

G_END_DECLS
