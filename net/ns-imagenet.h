/* SPDX-License-Identifier: MIT
 *
 * ns-imagenet.h: the ImageNet-trained MobileNetV2 of a TFLite file as the encoder of our
 * mobilenetv2-unet (the paper's key idea), and as an ImageNet classifier to prove that
 * the import is right end to end.
 *
 * The file (mobilenet_v2_1.0_224_quant.tflite) holds 52 convolutions of MobileNetV2's
 * features (Conv, expanded_conv{,_1.._16}/{expand,depthwise,project}, Conv_1) plus the
 * classifier's 1x1 Logits convolution, with batch-norm folded into uint8 weights and
 * int32 biases.  They map one to one, in order, onto torchvision's features.0 ..
 * features.18 (ns-model-arch.c); the TFLite layouts (OHWI, depthwise 1HWC) become
 * PyTorch's OIHW.
 *
 * Batch-norm: our encoder has conv (no bias) + BN, the file conv + bias.  Each BN becomes
 * an identity plus the folded bias in eval mode: gamma 1, beta = bias, running mean 0,
 * running variance 1 - eps (eps 1e-5 as in torchvision), so that gamma / sqrt(var + eps)
 * is 1 up to float rounding (< 1e-7) and the layer computes conv(x) + bias exactly as the
 * file does.  (In training mode batch-norm uses batch statistics, as always when
 * fine-tuning from folded weights.)
 *
 * The first convolution: ImageNet's is (32, 3, 3, 3) over RGB.  For an encoder with C
 * inputs each input channel gets the mean of the three RGB kernels scaled by 3 / C, so
 * that a grey image (the same values in every channel) gives exactly the response the
 * RGB network gives to the same grey picture, whatever C is; C = 3 keeps the RGB kernels.
 *
 * Padding: TensorFlow pads a stride-2 "SAME" convolution of an even-sized input only at
 * the bottom/right, torchvision by one on every side.  Our encoder is torchvision's, so
 * the imported network sees its input shifted by one pixel at the five stride-2 layers;
 * the classifier can run either way (NsImagenetClassifyParams.tf_padding) to measure it.
 */
#pragma once

#include <glib.h>

#include "ns-backend.h"
#include "ns-model.h"
#include "ns-tflite.h"

G_BEGIN_DECLS

#define NS_IMAGENET_N_CONVS 52
/* Batch-norm epsilon of our encoder (torchvision's default). */
#define NS_IMAGENET_BN_EPS 1e-5

typedef struct
{
  char *tf_name;        /* "MobilenetV2/expanded_conv_3/depthwise" */
  char *conv_name;      /* "encoder.features.4.conv.1.0" (tensor <name>.weight) */
  char *bn_name;        /* "encoder.features.4.conv.1.1" (weight, bias, running_*) */
  int out_channels;
  int in_channels;      /* per group */
  int ksize;
  int stride;
  int groups;           /* 1, or out_channels for depthwise */
  NsActivation act;     /* RELU6 or NONE (linear bottleneck) */
  float *weight;        /* (out, in / groups, k, k) PyTorch layout */
  float *bias;          /* (out) */
} NsImagenetConv;

typedef struct
{
  NsImagenetConv convs[NS_IMAGENET_N_CONVS];
  int n_classes;        /* 1001 (0 is "background") */
  int feature_channels; /* 1280 */
  float *logits_weight; /* (n_classes, feature_channels) */
  float *logits_bias;   /* (n_classes) */
  int input_size;       /* 224 */
} NsImagenetWeights;

/* Finds and dequantises the 52 convolutions and the logits of a MobileNetV2 v1.0 TFLite
 * model; errors (naming the file's tensor) when a layer is missing or has another
 * shape. */
NsImagenetWeights *ns_imagenet_weights_new_from_tflite (NsTfliteModel *tflite,
                                                        GError **error);
NsImagenetWeights *ns_imagenet_weights_new_from_file   (const char *path, GError **error);
void               ns_imagenet_weights_free            (NsImagenetWeights *weights);

/* Sets the encoder of model (mobilenetv2-unet, any number of inputs) from weights: conv
 * weights, batch-norm as identity + bias, the first conv adapted to the model's inputs
 * (see above).  The decoder and head are left as they are. */
gboolean           ns_imagenet_load_encoder            (NsModel *model,
                                                        const NsImagenetWeights *weights,
                                                        GError **error);

typedef struct
{
  gboolean tf_padding;  /* TensorFlow's asymmetric SAME padding at stride 2 */
} NsImagenetClassifyParams;

/* Classifies one image with the encoder stored in model (3 inputs: R, G, B), a global
 * average pool and the logits of weights: rgb (3, h, w) scaled to [-1, 1] (h and w
 * multiples of 32; 224 for the ImageNet model) -> logits (weights->n_classes).  The
 * encoder's parameters are read from the model by name (batch-norm folded on the host)
 * and run with the ops of the model's backend.  params may be NULL. */
gboolean           ns_imagenet_classify                (NsModel *model,
                                                        const NsImagenetWeights *weights,
                                                        const NsImagenetClassifyParams *params,
                                                        const float *rgb, int h, int w,
                                                        float *logits, GError **error);
/* Indices of the k largest values of v (n), largest first. */
void               ns_imagenet_top_k                   (const float *v, int n, int k,
                                                        int *indices);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (NsImagenetWeights, ns_imagenet_weights_free)

G_END_DECLS
