/* SPDX-License-Identifier: MIT
 *
 * ns-model-arch.c: the two architectures as graphs, with PyTorch-compatible names.
 *
 * mobilenetv2-unet is what segmentation_models_pytorch builds as
 * `Unet("mobilenet_v2", in_channels=2, classes=4)`: torchvision's MobileNetV2 `features`
 * (names encoder.features.*), skips after features.1, .3, .6 and .13 (strides 2, 4, 8,
 * 16; 16, 24, 32, 96 channels) and the 1280-channel stride-32 output of features.18;
 * decoder blocks decoder.blocks.0..4 (nearest x2, concat [upsampled, skip], two
 * conv3x3 (no bias) + BN + ReLU) of 256, 128, 64, 32, 16 channels; segmentation_head.0 a
 * 3x3 conv with bias.  With 2 inputs and 4 classes: 6,629,092 trainable parameters.
 *
 * unet is Ronneberger et al. 2015 with same padding and batch-norm, named as the
 * widely used PyTorch implementation (milesial/Pytorch-UNet, bilinear=False): inc,
 * down1..4 (maxpool + double conv), up1..4 (2x2 transposed conv with bias, concat
 * [skip, upsampled], double conv), outc (1x1 conv with bias); 64..1024 channels.
 */
#define G_LOG_DOMAIN "neuroseg-net"

#include "ns-graph-private.h"

#include <string.h>

const NsMbv2Stage _ns_mbv2_stages[NS_MBV2_N_STAGES] = {
  { 1, 16, 1, 1 },
  { 6, 24, 2, 2 },
  { 6, 32, 3, 2 },
  { 6, 64, 4, 2 },
  { 6, 96, 3, 1 },
  { 6, 160, 3, 2 },
  { 6, 320, 1, 1 },
};

static int
inverted_residual (NsGraph *g, int index, int x, int in_c, int out_c, int stride, int t)
{
  g_autofree char *p = g_strdup_printf ("encoder.features.%d.conv", index);
  int hidden = in_c * t;
  int y = x;
  int i = 0;   /* position in the block's Sequential */

  if (t != 1)
    {
      g_autofree char *c = g_strdup_printf ("%s.%d.0", p, i);
      g_autofree char *b = g_strdup_printf ("%s.%d.1", p, i);
      y = _ns_graph_conv_bn_act (g, c, b, y, hidden, 1, 1, 1, NS_ACT_RELU6);
      i++;
    }
  {
    g_autofree char *c = g_strdup_printf ("%s.%d.0", p, i);
    g_autofree char *b = g_strdup_printf ("%s.%d.1", p, i);
    y = _ns_graph_conv_bn_act (g, c, b, y, hidden, 3, stride, hidden, NS_ACT_RELU6);
    i++;
  }
  {
    /* Linear bottleneck: projection + BN, no activation. */
    g_autofree char *c = g_strdup_printf ("%s.%d", p, i);
    g_autofree char *b = g_strdup_printf ("%s.%d", p, i + 1);
    y = _ns_graph_conv (g, c, y, out_c, 1, 1, 1, FALSE);
    y = _ns_graph_bn (g, b, y);
  }
  if (stride == 1 && in_c == out_c)
    y = _ns_graph_add (g, x, y);
  return y;
}

static int
decoder_block (NsGraph *g, int index, int x, int skip, int out_c)
{
  g_autofree char *c1 = g_strdup_printf ("decoder.blocks.%d.conv1.0", index);
  g_autofree char *b1 = g_strdup_printf ("decoder.blocks.%d.conv1.1", index);
  g_autofree char *c2 = g_strdup_printf ("decoder.blocks.%d.conv2.0", index);
  g_autofree char *b2 = g_strdup_printf ("decoder.blocks.%d.conv2.1", index);

  x = _ns_graph_upsample (g, x);
  if (skip >= 0)
    x = _ns_graph_concat (g, x, skip);
  x = _ns_graph_conv_bn_act (g, c1, b1, x, out_c, 3, 1, 1, NS_ACT_RELU);
  return _ns_graph_conv_bn_act (g, c2, b2, x, out_c, 3, 1, 1, NS_ACT_RELU);
}

static void
build_mobilenetv2_unet (NsGraph *g, int n_in, int n_out)
{
  static const int decoder_channels[5] = { 256, 128, 64, 32, 16 };
  int skips[4];   /* strides 2, 4, 8, 16 */
  int x = _ns_graph_input (g, n_in);
  int c = NS_MBV2_STEM_CHANNELS;
  int feature = 1;

  x = _ns_graph_conv_bn_act (g, "encoder.features.0.0", "encoder.features.0.1", x, c, 3, 2,
                             1, NS_ACT_RELU6);
  for (int s = 0; s < NS_MBV2_N_STAGES; s++)
    {
      int t = _ns_mbv2_stages[s].t, out_c = _ns_mbv2_stages[s].c;
      int n = _ns_mbv2_stages[s].n, stride = _ns_mbv2_stages[s].s;
      for (int i = 0; i < n; i++)
        {
          x = inverted_residual (g, feature, x, c, out_c, i == 0 ? stride : 1, t);
          c = out_c;
          /* smp's stages end after features 1, 3, 6 and 13. */
          if (feature == 1)
            skips[0] = x;
          else if (feature == 3)
            skips[1] = x;
          else if (feature == 6)
            skips[2] = x;
          else if (feature == 13)
            skips[3] = x;
          feature++;
        }
    }
  x = _ns_graph_conv_bn_act (g, "encoder.features.18.0", "encoder.features.18.1", x,
                             NS_MBV2_LAST_CHANNELS, 1, 1, 1, NS_ACT_RELU6);

  for (int b = 0; b < 5; b++)
    x = decoder_block (g, b, x, b < 4 ? skips[3 - b] : -1, decoder_channels[b]);
  _ns_graph_conv (g, "segmentation_head.0", x, n_out, 3, 1, 1, TRUE);
}

static int
double_conv (NsGraph *g, const char *prefix, int x, int out_c)
{
  g_autofree char *c1 = g_strdup_printf ("%s.double_conv.0", prefix);
  g_autofree char *b1 = g_strdup_printf ("%s.double_conv.1", prefix);
  g_autofree char *c2 = g_strdup_printf ("%s.double_conv.3", prefix);
  g_autofree char *b2 = g_strdup_printf ("%s.double_conv.4", prefix);

  x = _ns_graph_conv_bn_act (g, c1, b1, x, out_c, 3, 1, 1, NS_ACT_RELU);
  return _ns_graph_conv_bn_act (g, c2, b2, x, out_c, 3, 1, 1, NS_ACT_RELU);
}

static void
build_unet (NsGraph *g, int n_in, int n_out)
{
  int skips[4];
  int x = _ns_graph_input (g, n_in);
  int c = 64;

  x = double_conv (g, "inc", x, c);
  for (int d = 1; d <= 4; d++)
    {
      g_autofree char *p = g_strdup_printf ("down%d.maxpool_conv.1", d);
      skips[d - 1] = x;
      x = _ns_graph_maxpool (g, x);
      c *= 2;
      x = double_conv (g, p, x, c);
    }
  for (int u = 1; u <= 4; u++)
    {
      g_autofree char *up = g_strdup_printf ("up%d.up", u);
      g_autofree char *p = g_strdup_printf ("up%d.conv", u);
      c /= 2;
      x = _ns_graph_convt (g, up, x, c);
      x = _ns_graph_concat (g, skips[4 - u], x);
      x = double_conv (g, p, x, c);
    }
  _ns_graph_conv (g, "outc.conv", x, n_out, 1, 1, 1, TRUE);
}

/* meta has passed ns_model_meta_check (ns_model_new). */
gboolean
_ns_arch_build (NsGraph *g, const NsModelMeta *meta, int *size_multiple, GError **error)
{
  int n_in = ns_model_meta_n_channels (meta), n_out = ns_model_meta_n_outputs (meta);

  if (g_strcmp0 (meta->arch, "mobilenetv2-unet") == 0)
    {
      build_mobilenetv2_unet (g, n_in, n_out);
      *size_multiple = 32;
      return TRUE;
    }
  if (g_strcmp0 (meta->arch, "unet") == 0)
    {
      build_unet (g, n_in, n_out);
      *size_multiple = 16;
      return TRUE;
    }
  g_set_error (error, NS_NET_ERROR, NS_NET_ERROR_FAILED,
               "unknown architecture '%s' (expected mobilenetv2-unet or unet)",
               meta->arch != NULL ? meta->arch : "(none)");
  return FALSE;
}
