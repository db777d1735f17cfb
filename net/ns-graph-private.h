/* SPDX-License-Identifier: MIT
 *
 * ns-graph-private.h: the graph an NsModel runs.  ns-graph.c builds and analyses it
 * (builder, shapes, the folded inference graph, memory and FLOP counts), ns-model-arch.c
 * calls the builder for the two architectures, ns-model.c allocates the parameters and
 * executes it.
 *
 * A graph is a topologically ordered array of nodes; node 0 is the input, the last node
 * the logits.  Each node reads one or two earlier nodes.  The training graph has
 * separate conv, batch-norm and activation nodes; the inference graph, derived from it
 * by folding batch-norm, only fused convolutions.
 */
#pragma once

#include "ns-model.h"

G_BEGIN_DECLS

typedef int NsShape4[4];     /* N, C, H, W */

typedef enum
{
  NS_NODE_INPUT,
  NS_NODE_CONV,      /* weight (K, C/g, kh, kw), optional bias; conv.act fused (infer only);
                      * infer only: in[1] >= 0 is a residual added before conv.act */
  NS_NODE_BN,
  NS_NODE_ACT,       /* relu / relu6, in place on its input when that has no other use */
  NS_NODE_ADD,
  NS_NODE_MAXPOOL,
  NS_NODE_UPSAMPLE,
  NS_NODE_CONVT,     /* 2x2 stride 2, weight (C, K, 2, 2), bias */
  NS_NODE_CONCAT,
  NS_NODE_UPCONV,    /* infer only: upsample in[0] x2, concat in[1] (-1: none), 3x3 conv as
                      * CONV (ns_upconv2_forward) */
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

/* How a folded convolution of the inference graph is computed from the training graph:
 * W' = W gamma / sqrt(var + eps), b' = beta + (b - mean) gamma / sqrt(var + eps). */
typedef struct
{
  int dst_w, dst_b;              /* params of the inference graph */
  int src_w, src_b;              /* params of the training graph (src_b may be -1) */
  int gamma, beta, mean, var;    /* -1 when no batch-norm follows */
} NsFoldEntry;

void _ns_graph_init  (NsGraph *g);
/* Frees the nodes (and their saved batch-norm statistics) and the parameters. */
void _ns_graph_clear (NsGraph *g);

/* Builder (ns-graph.c).  Each returns the new node's index. */
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

/* An activation may overwrite its input when nobody else reads it (set once, after
 * building). */
void _ns_graph_mark_inplace (NsGraph *g);

static inline NsNode *
_ns_graph_node (NsGraph *g, int i)
{
  return &g_array_index (g->nodes, NsNode, i);
}

static inline NsParam *
_ns_graph_param (NsGraph *g, int i)
{
  return g->params->pdata[i];
}

/* Running statistics are stored but not trained. */
static inline gboolean
_ns_param_is_trainable (const NsParam *p)
{
  return p->role != NS_PARAM_BN_MEAN && p->role != NS_PARAM_BN_VAR;
}

/* Output shapes of every node for an input of shape in[4]; FALSE if a node does not fit
 * (odd size before a pool, skip sizes that differ). */
gboolean _ns_graph_shapes (NsGraph *g, const int in[4], NsShape4 *shapes);

/* Fusions of the inference graph a backend can run (its optional ops). */
typedef enum
{
  NS_GRAPH_FUSE_UPCONV = 1 << 0,   /* NS_OP_UPCONV2 */
  NS_GRAPH_FUSE_ADD = 1 << 1,      /* NS_OP_CONV2D_ADD */
} NsGraphFuse;

/* The fusions `backend` runs (ns_backend_supports_op). */
NsGraphFuse _ns_graph_fusions (NsBackend *backend);

/* The inference graph of train (infer empty): conv [-> BN] [-> act] become one conv with
 * bias and fused activation; appends one NsFoldEntry per folded parameter pair to fold.
 * With NS_GRAPH_FUSE_UPCONV, upsample [-> concat] -> 3x3 conv (stride 1, pad 1, dense),
 * where nothing else reads the upsampled or concatenated tensor, becomes one UPCONV node;
 * with NS_GRAPH_FUSE_ADD, conv [-> BN] -> add (without activation in between, the add
 * the only reader) becomes one conv with the add's other input as residual. */
void _ns_graph_fold (NsGraph *train, NsGraph *infer, GArray *fold, NsGraphFuse fuse);

/* Bytes of activations one slice of h x w needs at the peak of a forward pass (training:
 * everything kept for backward plus the gradients), counted as float32: the model's
 * tensor pool, simulated.  0 when the size does not fit the graph. */
gsize  _ns_graph_bytes_per_slice (NsGraph *g, gboolean training, int h, int w);
/* Forward multiply-adds x 2 of the convolutions for one slice of h x w. */
double _ns_graph_flops_per_slice (NsGraph *g, int h, int w);
/* The op type of a node for profiles ("conv3x3", "depthwise", "batchnorm", ...). */
const char *_ns_graph_node_profile_name (NsGraph *g, NsNode *node);

/* Architectures (ns-model-arch.c): build the training graph of meta, which
 * ns_model_meta_check() accepted; FALSE + error for an architecture it does not know. */
gboolean _ns_arch_build (NsGraph *g, const NsModelMeta *meta, int *size_multiple,
                         GError **error);

/* torchvision's MobileNetV2 (width 1.0), the one table the encoder is built from
 * (ns-model-arch.c) and the ImageNet import maps its layers by (ns-imagenet.c): a 3x3
 * stride-2 stem, the inverted-residual stages below (expansion t, output channels c,
 * n blocks, stride s of the first block), a 1x1 convolution to 1280 channels. */
typedef struct
{
  int t, c, n, s;
} NsMbv2Stage;

#define NS_MBV2_STEM_CHANNELS 32
#define NS_MBV2_LAST_CHANNELS 1280
#define NS_MBV2_N_STAGES 7

extern const NsMbv2Stage _ns_mbv2_stages[NS_MBV2_N_STAGES];

G_END_DECLS
