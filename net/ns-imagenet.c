/* SPDX-License-Identifier: MIT
 *
 * ns-imagenet.c: MobileNetV2 ImageNet weights from a TFLite file onto our encoder, and
 * the ImageNet classifier that proves the mapping (see ns-imagenet.h for the choices).
 *
 * The layer table is derived from torchvision's MobileNetV2 settings (t, c, n, s), the
 * one table ns-model-arch.c builds the encoder from (_ns_mbv2_stages), so that TFLite
 * names, our tensor names, shapes, strides and activations are all checked against each
 * other: a file of another width or layout is refused with the first layer that does
 * not fit.
 */
#define G_LOG_DOMAIN "neuroseg-net"

#include "ns-imagenet.h"

#include "ns-graph-private.h"

#include <math.h>
#include <string.h>

/* Which block (0: stem, 1..17: inverted residuals, 18: last 1x1) each conv belongs to,
 * and whether that block adds its input. */
typedef struct
{
  int block;
  gboolean residual;  /* the block's last conv is followed by the skip addition */
} ConvPlace;

static void
conv_init (NsImagenetConv *c, char *tf_name, char *conv_name, char *bn_name, int out,
           int in, int k, int stride, int groups, NsActivation act)
{
  c->tf_name = tf_name;
  c->conv_name = conv_name;
  c->bn_name = bn_name;
  c->out_channels = out;
  c->in_channels = in / groups;
  c->ksize = k;
  c->stride = stride;
  c->groups = groups;
  c->act = act;
}

/* Fills names, shapes, strides and activations of the 52 convs (no values). */
static void
layer_table (NsImagenetWeights *w, ConvPlace place[NS_IMAGENET_N_CONVS])
{
  int j = 0, c = NS_MBV2_STEM_CHANNELS, block = 1;

  conv_init (&w->convs[j], g_strdup ("MobilenetV2/Conv"), g_strdup ("encoder.features.0.0"),
             g_strdup ("encoder.features.0.1"), c, 3, 3, 2, 1, NS_ACT_RELU6);
  place[j++] = (ConvPlace) { 0, FALSE };

  for (int s = 0; s < NS_MBV2_N_STAGES; s++)
    for (int i = 0; i < _ns_mbv2_stages[s].n; i++, block++)
      {
        int t = _ns_mbv2_stages[s].t, out = _ns_mbv2_stages[s].c;
        int stride = i == 0 ? _ns_mbv2_stages[s].s : 1;
        int hidden = c * t, sub = 0;
        gboolean residual = stride == 1 && c == out;
        g_autofree char *tf = block == 1 ? g_strdup ("MobilenetV2/expanded_conv")
                                         : g_strdup_printf ("MobilenetV2/expanded_conv_%d",
                                                            block - 1);
        g_autofree char *p = g_strdup_printf ("encoder.features.%d.conv", block);

        if (t != 1)
          {
            conv_init (&w->convs[j], g_strconcat (tf, "/expand", NULL),
                       g_strdup_printf ("%s.%d.0", p, sub), g_strdup_printf ("%s.%d.1", p, sub),
                       hidden, c, 1, 1, 1, NS_ACT_RELU6);
            place[j++] = (ConvPlace) { block, FALSE };
            sub++;
          }
        conv_init (&w->convs[j], g_strconcat (tf, "/depthwise", NULL),
                   g_strdup_printf ("%s.%d.0", p, sub), g_strdup_printf ("%s.%d.1", p, sub),
                   hidden, hidden, 3, stride, hidden, NS_ACT_RELU6);
        place[j++] = (ConvPlace) { block, FALSE };
        sub++;
        conv_init (&w->convs[j], g_strconcat (tf, "/project", NULL),
                   g_strdup_printf ("%s.%d", p, sub), g_strdup_printf ("%s.%d", p, sub + 1),
                   out, hidden, 1, 1, 1, NS_ACT_NONE);
        place[j++] = (ConvPlace) { block, residual };
        c = out;
      }

  conv_init (&w->convs[j], g_strdup ("MobilenetV2/Conv_1"), g_strdup ("encoder.features.18.0"),
             g_strdup ("encoder.features.18.1"), NS_MBV2_LAST_CHANNELS, c, 1, 1, 1,
             NS_ACT_RELU6);
  place[j++] = (ConvPlace) { 18, FALSE };
  g_assert (j == NS_IMAGENET_N_CONVS);
}

void
ns_imagenet_weights_free (NsImagenetWeights *weights)
{
  if (weights == NULL)
    return;
  for (int j = 0; j < NS_IMAGENET_N_CONVS; j++)
    {
      NsImagenetConv *c = &weights->convs[j];

      g_free (c->tf_name);
      g_free (c->conv_name);
      g_free (c->bn_name);
      g_free (c->weight);
      g_free (c->bias);
    }
  g_free (weights->logits_weight);
  g_free (weights->logits_bias);
  g_free (weights);
}

/* "MobilenetV2/expanded_conv_3/depthwise/depthwise_Fold;MobilenetV2/..." ->
 * "MobilenetV2/expanded_conv_3/depthwise": the first name the converter joined, less its
 * last component. */
static char *
layer_of_weight (const char *tensor_name)
{
  const char *semi = strchr (tensor_name, ';');
  g_autofree char *first = semi != NULL ? g_strndup (tensor_name, semi - tensor_name)
                                        : g_strdup (tensor_name);
  char *slash = strrchr (first, '/');

  if (slash != NULL)
    *slash = '\0';
  return g_steal_pointer (&first);
}

/* The CONV_2D / DEPTHWISE_CONV_2D operator whose weights belong to layer, or NULL. */
static const NsTfliteOperator *
find_conv_op (NsTfliteModel *tfl, const char *layer)
{
  for (int i = 0; i < ns_tflite_model_n_operators (tfl); i++)
    {
      const NsTfliteOperator *op = ns_tflite_model_get_operator (tfl, i);
      g_autofree char *name = NULL;

      if ((op->opcode != NS_TFLITE_OP_CONV_2D && op->opcode != NS_TFLITE_OP_DEPTHWISE_CONV_2D)
          || op->n_inputs < 3 || op->inputs[1] < 0 || op->inputs[2] < 0)
        continue;
      name = layer_of_weight (ns_tflite_model_get_tensor (tfl, op->inputs[1])->name);
      if (strcmp (name, layer) == 0)
        return op;
    }
  return NULL;
}

static gboolean
shape_is (const NsTfliteTensor *t, int n, int d0, int d1, int d2, int d3)
{
  int want[4] = { d0, d1, d2, d3 };

  if (t->n_dims != n)
    return FALSE;
  for (int d = 0; d < n; d++)
    if (t->shape[d] != want[d])
      return FALSE;
  return TRUE;
}

static char *
shape_string (const NsTfliteTensor *t)
{
  GString *s = g_string_new ("(");

  for (int d = 0; d < t->n_dims; d++)
    g_string_append_printf (s, d > 0 ? ", %d" : "%d", t->shape[d]);
  g_string_append_c (s, ')');
  return g_string_free (s, FALSE);
}

/* Dequantised weights (out, in/g, k, k) and bias (out) of c from op. */
static gboolean
read_conv (NsTfliteModel *tfl, const char *file, const NsTfliteOperator *op, NsImagenetConv *c,
           GError **error)
{
  const NsTfliteTensor *wt = ns_tflite_model_get_tensor (tfl, op->inputs[1]);
  const NsTfliteTensor *bt = ns_tflite_model_get_tensor (tfl, op->inputs[2]);
  gboolean depthwise = c->groups > 1;
  int k = c->ksize, out = c->out_channels, in = c->in_channels;
  g_autofree float *raw = NULL;
  g_autofree float *bias = NULL;
  NsActivation act;

  if (depthwise != (op->opcode == NS_TFLITE_OP_DEPTHWISE_CONV_2D)
      || !(depthwise ? shape_is (wt, 4, 1, k, k, out) : shape_is (wt, 4, out, k, k, in))
      || !shape_is (bt, 1, out, 0, 0, 0))
    {
      g_autofree char *ws = shape_string (wt);

      g_set_error (error, NS_NET_ERROR, NS_NET_ERROR_CHECKPOINT,
                   "%s: layer %s is a %s with weights %s; MobileNetV2 v1.0 needs a %s of "
                   "%d x %d x %d x %d", file, c->tf_name, ns_tflite_op_name (op->opcode), ws,
                   depthwise ? "DEPTHWISE_CONV_2D" : "CONV_2D", depthwise ? 1 : out, k, k,
                   depthwise ? out : in);
      return FALSE;
    }
  act = op->activation == NS_TFLITE_ACT_RELU6 ? NS_ACT_RELU6
        : op->activation == NS_TFLITE_ACT_NONE ? NS_ACT_NONE : (NsActivation) -1;
  if (op->stride_w != c->stride || op->stride_h != c->stride || act != c->act
      || op->dilation_w != 1 || op->dilation_h != 1)
    {
      g_set_error (error, NS_NET_ERROR, NS_NET_ERROR_CHECKPOINT,
                   "%s: layer %s has stride %d x %d, dilation %d x %d, activation %d; "
                   "MobileNetV2 needs stride %d, no dilation, %s", file, c->tf_name,
                   op->stride_w, op->stride_h, op->dilation_w, op->dilation_h, op->activation,
                   c->stride, c->act == NS_ACT_RELU6 ? "RELU6" : "none");
      return FALSE;
    }

  raw = ns_tflite_model_dup_dequantized (tfl, op->inputs[1], NULL, error);
  if (raw == NULL)
    return FALSE;
  bias = ns_tflite_model_dup_dequantized (tfl, op->inputs[2], NULL, error);
  if (bias == NULL)
    return FALSE;

  c->weight = g_new (float, (gsize) out * in * k * k);
  for (int o = 0; o < out; o++)
    for (int i = 0; i < in; i++)
      for (int y = 0; y < k; y++)
        for (int x = 0; x < k; x++)
          {
            /* OHWI -> OIHW; depthwise 1HWC -> C1HW. */
            gsize src = depthwise ? ((gsize) y * k + x) * out + o
                                  : (((gsize) o * k + y) * k + x) * in + i;

            c->weight[(((gsize) o * in + i) * k + y) * k + x] = raw[src];
          }
  c->bias = g_steal_pointer (&bias);
  return TRUE;
}

NsImagenetWeights *
ns_imagenet_weights_new_from_tflite (NsTfliteModel *tflite, GError **error)
{
  g_autoptr (NsImagenetWeights) w = g_new0 (NsImagenetWeights, 1);
  ConvPlace place[NS_IMAGENET_N_CONVS];
  const char *file;
  const NsTfliteOperator *op;
  const NsTfliteTensor *lw, *lb;
  g_autofree float *raw = NULL;
  int in_n;
  const int *in;

  g_return_val_if_fail (tflite != NULL, NULL);

  file = ns_tflite_model_get_name (tflite);
  layer_table (w, place);
  w->n_classes = 1001;
  w->feature_channels = NS_MBV2_LAST_CHANNELS;
  w->input_size = 224;
  in = ns_tflite_model_get_inputs (tflite, &in_n);
  if (in_n == 1)
    {
      const NsTfliteTensor *t = ns_tflite_model_get_tensor (tflite, in[0]);

      if (t->n_dims == 4 && t->shape[1] == t->shape[2] && t->shape[3] == 3)
        w->input_size = t->shape[1];
    }

  for (int j = 0; j < NS_IMAGENET_N_CONVS; j++)
    {
      op = find_conv_op (tflite, w->convs[j].tf_name);
      if (op == NULL)
        {
          g_set_error (error, NS_NET_ERROR, NS_NET_ERROR_CHECKPOINT,
                       "%s: no convolution %s (not a MobileNetV2 v1.0 ImageNet model)", file,
                       w->convs[j].tf_name);
          return NULL;
        }
      if (!read_conv (tflite, file, op, &w->convs[j], error))
        return NULL;
    }

  op = find_conv_op (tflite, "MobilenetV2/Logits/Conv2d_1c_1x1");
  if (op == NULL)
    {
      g_set_error (error, NS_NET_ERROR, NS_NET_ERROR_CHECKPOINT,
                   "%s: no classifier MobilenetV2/Logits/Conv2d_1c_1x1", file);
      return NULL;
    }
  lw = ns_tflite_model_get_tensor (tflite, op->inputs[1]);
  lb = ns_tflite_model_get_tensor (tflite, op->inputs[2]);
  if (lw->n_dims != 4 || lw->shape[1] != 1 || lw->shape[2] != 1 || lw->shape[3] != 1280
      || !shape_is (lb, 1, lw->shape[0], 0, 0, 0) || lw->shape[0] < 1)
    {
      g_autofree char *ws = shape_string (lw);

      g_set_error (error, NS_NET_ERROR, NS_NET_ERROR_CHECKPOINT,
                   "%s: classifier weights %s, expected (classes, 1, 1, 1280)", file, ws);
      return NULL;
    }
  w->n_classes = lw->shape[0];
  w->logits_weight = ns_tflite_model_dup_dequantized (tflite, op->inputs[1], NULL, error);
  if (w->logits_weight == NULL)
    return NULL;
  w->logits_bias = ns_tflite_model_dup_dequantized (tflite, op->inputs[2], NULL, error);
  if (w->logits_bias == NULL)
    return NULL;
  return g_steal_pointer (&w);
}

NsImagenetWeights *
ns_imagenet_weights_new_from_file (const char *path, GError **error)
{
  g_autoptr (NsTfliteModel) tfl = NULL;

  g_return_val_if_fail (path != NULL, NULL);

  tfl = ns_tflite_model_new_from_file (path, error);
  if (tfl == NULL)
    return NULL;
  return ns_imagenet_weights_new_from_tflite (tfl, error);
}

/* ---- onto the model ------------------------------------------------------------------- */

static int
find_model_tensor (NsModel *model, const char *prefix, const char *suffix, int n_elements,
                   GError **error)
{
  g_autofree char *name = g_strconcat (prefix, ".", suffix, NULL);
  int index = ns_model_find_tensor (model, name);

  if (index < 0)
    {
      g_set_error (error, NS_NET_ERROR, NS_NET_ERROR_CHECKPOINT,
                   "The model has no tensor %s (not a mobilenetv2-unet?)", name);
      return -1;
    }
  if (n_elements >= 0 && ns_model_tensor_size (model, index) != (gsize) n_elements)
    {
      g_set_error (error, NS_NET_ERROR, NS_NET_ERROR_CHECKPOINT,
                   "Tensor %s has %" G_GSIZE_FORMAT " elements, the ImageNet layer %d",
                   name, ns_model_tensor_size (model, index), n_elements);
      return -1;
    }
  return index;
}

gboolean
ns_imagenet_load_encoder (NsModel *model, const NsImagenetWeights *weights, GError **error)
{
  g_return_val_if_fail (model != NULL, FALSE);
  g_return_val_if_fail (weights != NULL, FALSE);

  for (int j = 0; j < NS_IMAGENET_N_CONVS; j++)
    {
      const NsImagenetConv *c = &weights->convs[j];
      int k2 = c->ksize * c->ksize, out = c->out_channels;
      int wi = find_model_tensor (model, c->conv_name, "weight", -1, error);
      int shape[4];
      g_autofree float *ones = NULL;
      g_autofree float *zeros = NULL;
      g_autofree float *var = NULL;
      const char *bn_parts[4] = { "weight", "bias", "running_mean", "running_var" };
      int bn[4];

      if (wi < 0)
        return FALSE;
      ns_model_tensor_shape (model, wi, shape);
      if (shape[0] != out || shape[2] != c->ksize || shape[3] != c->ksize
          || (j > 0 && shape[1] != c->in_channels) || shape[1] < 1)
        {
          g_set_error (error, NS_NET_ERROR, NS_NET_ERROR_CHECKPOINT,
                       "Tensor %s.weight is (%d, %d, %d, %d), the ImageNet layer %s (%d, %d, "
                       "%d, %d)", c->conv_name, shape[0], shape[1], shape[2], shape[3],
                       c->tf_name, out, c->in_channels, c->ksize, c->ksize);
          return FALSE;
        }

      if (j == 0 && shape[1] != c->in_channels)
        {
          /* RGB -> C inputs: the mean RGB kernel, times 3 / C (see the header). */
          int n_in = shape[1];
          g_autofree float *adapted = g_new (float, (gsize) out * n_in * k2);

          for (int o = 0; o < out; o++)
            for (int t = 0; t < k2; t++)
              {
                double sum = 0.0;

                for (int i = 0; i < c->in_channels; i++)
                  sum += c->weight[((gsize) o * c->in_channels + i) * k2 + t];
                for (int i = 0; i < n_in; i++)
                  adapted[((gsize) o * n_in + i) * k2 + t] = (float) (sum / n_in);
              }
          ns_model_tensor_set (model, wi, adapted);
        }
      else
        ns_model_tensor_set (model, wi, c->weight);

      for (int p = 0; p < 4; p++)
        {
          bn[p] = find_model_tensor (model, c->bn_name, bn_parts[p], out, error);
          if (bn[p] < 0)
            return FALSE;
        }
      ones = g_new (float, out);
      zeros = g_new0 (float, out);
      var = g_new (float, out);
      for (int o = 0; o < out; o++)
        {
          ones[o] = 1.0f;
          var[o] = (float) (1.0 - NS_IMAGENET_BN_EPS);
        }
      ns_model_tensor_set (model, bn[0], ones);
      ns_model_tensor_set (model, bn[1], c->bias);
      ns_model_tensor_set (model, bn[2], zeros);
      ns_model_tensor_set (model, bn[3], var);
    }
  return TRUE;
}

/* ---- the classifier ------------------------------------------------------------------- */

/* x shifted up and left by one pixel, zero at the bottom/right: a pad-1 convolution of
 * it is TensorFlow's SAME convolution of x at stride 2 (pad 0 before, 1 after). */
static NsTensor *
shift_for_tf_padding (NsTensor *x, GError **error)
{
  int s[4];
  g_autofree float *host = NULL;
  g_autofree float *shifted = NULL;
  NsTensor *y;

  ns_tensor_get_shape (x, s);
  host = g_new (float, ns_tensor_n_elements (x));
  shifted = g_new0 (float, ns_tensor_n_elements (x));
  ns_tensor_download (x, host);
  for (int p = 0; p < s[0] * s[1]; p++)
    for (int yy = 0; yy + 1 < s[2]; yy++)
      memcpy (shifted + ((gsize) p * s[2] + yy) * s[3],
              host + ((gsize) p * s[2] + yy + 1) * s[3] + 1, (s[3] - 1) * sizeof (float));
  y = ns_tensor_new (ns_tensor_get_backend (x), s[0], s[1], s[2], s[3], error);
  if (y != NULL)
    ns_tensor_upload (y, shifted);
  return y;
}

/* out = act (bn (conv (x))) with batch-norm folded on the host from the model's
 * tensors. */
static NsTensor *
run_conv (NsModel *model, const NsImagenetConv *c, NsTensor *x, gboolean tf_padding,
          GError **error)
{
  NsBackend *be = ns_model_get_backend (model);
  int s[4], wshape[4], out = c->out_channels, k = c->ksize;
  int wi, bn[4];
  const char *bn_parts[4] = { "weight", "bias", "running_mean", "running_var" };
  g_autofree float *wv = NULL;
  g_autofree float *gamma = g_new (float, out);
  g_autofree float *beta = g_new (float, out);
  g_autofree float *mean = g_new (float, out);
  g_autofree float *var = g_new (float, out);
  g_autofree float *bias = g_new (float, out);
  g_autoptr (NsTensor) wt = NULL;
  g_autoptr (NsTensor) bt = NULL;
  g_autoptr (NsTensor) shifted = NULL;
  NsTensor *y;
  NsConv2dParams p = { c->stride, k / 2, c->groups, NS_ACT_NONE };
  gsize per_out;

  wi = find_model_tensor (model, c->conv_name, "weight", -1, error);
  if (wi < 0)
    return NULL;
  for (int i = 0; i < 4; i++)
    if ((bn[i] = find_model_tensor (model, c->bn_name, bn_parts[i], out, error)) < 0)
      return NULL;
  ns_model_tensor_shape (model, wi, wshape);
  per_out = ns_model_tensor_size (model, wi) / out;
  wv = g_new (float, ns_model_tensor_size (model, wi));
  ns_model_tensor_get (model, wi, wv);
  ns_model_tensor_get (model, bn[0], gamma);
  ns_model_tensor_get (model, bn[1], beta);
  ns_model_tensor_get (model, bn[2], mean);
  ns_model_tensor_get (model, bn[3], var);
  for (int o = 0; o < out; o++)
    {
      double scale = gamma[o] / sqrt ((double) var[o] + NS_IMAGENET_BN_EPS);

      for (gsize i = 0; i < per_out; i++)
        wv[o * per_out + i] = (float) (wv[o * per_out + i] * scale);
      bias[o] = (float) (beta[o] - mean[o] * scale);
    }

  wt = ns_tensor_new (be, wshape[0], wshape[1], wshape[2], wshape[3], error);
  if (wt == NULL)
    return NULL;
  bt = ns_tensor_new (be, out, 1, 1, 1, error);
  if (bt == NULL)
    return NULL;
  ns_tensor_upload (wt, wv);
  ns_tensor_upload (bt, bias);

  if (tf_padding && c->stride == 2)
    {
      shifted = shift_for_tf_padding (x, error);
      if (shifted == NULL)
        return NULL;
      x = shifted;
    }
  ns_tensor_get_shape (x, s);
  y = ns_tensor_new (be, s[0], out, (s[2] + 2 * p.pad - k) / c->stride + 1,
                     (s[3] + 2 * p.pad - k) / c->stride + 1, error);
  if (y == NULL)
    return NULL;
  ns_conv2d_forward (y, x, wt, bt, &p);
  if (c->act != NS_ACT_NONE)
    ns_relu_forward (y, y, c->act);
  return y;
}

gboolean
ns_imagenet_classify (NsModel *model, const NsImagenetWeights *weights,
                      const NsImagenetClassifyParams *params, const float *rgb, int h, int w,
                      float *logits, GError **error)
{
  NsBackend *be;
  ConvPlace place[NS_IMAGENET_N_CONVS];
  g_autoptr (NsImagenetWeights) table = g_new0 (NsImagenetWeights, 1);
  g_autoptr (NsTensor) x = NULL;
  g_autoptr (NsTensor) block_in = NULL;
  g_autofree float *features = NULL;
  g_autofree double *pooled = NULL;
  gboolean tf_padding = params != NULL && params->tf_padding;
  int s[4];

  g_return_val_if_fail (model != NULL && weights != NULL, FALSE);
  g_return_val_if_fail (rgb != NULL && logits != NULL, FALSE);
  g_return_val_if_fail (h > 0 && w > 0 && h % 32 == 0 && w % 32 == 0, FALSE);

  be = ns_model_get_backend (model);
  if (ns_model_meta_n_inputs (ns_model_get_meta (model)) != 3)
    {
      g_set_error (error, NS_NET_ERROR, NS_NET_ERROR_FAILED,
                   "The ImageNet classifier needs an encoder with 3 inputs (R, G, B), "
                   "this model has %d", ns_model_meta_n_inputs (ns_model_get_meta (model)));
      return FALSE;
    }
  layer_table (table, place);

  x = ns_tensor_new (be, 1, 3, h, w, error);
  if (x == NULL)
    return FALSE;
  ns_tensor_upload (x, rgb);

  for (int j = 0; j < NS_IMAGENET_N_CONVS; j++)
    {
      NsTensor *y;

      /* Keep the input of a residual block for its addition. */
      if (j > 0 && place[j].block != place[j - 1].block)
        {
          g_clear_pointer (&block_in, ns_tensor_free);
          for (int k = j; k < NS_IMAGENET_N_CONVS && place[k].block == place[j].block; k++)
            if (place[k].residual)
              {
                int xs[4];

                ns_tensor_get_shape (x, xs);
                block_in = ns_tensor_new (be, xs[0], xs[1], xs[2], xs[3], error);
                if (block_in == NULL)
                  return FALSE;
                ns_tensor_copy (block_in, x);
              }
        }
      y = run_conv (model, &table->convs[j], x, tf_padding, error);
      if (y == NULL)
        return FALSE;
      if (place[j].residual)
        {
          g_assert (block_in != NULL);
          ns_add_forward (y, y, block_in);
        }
      ns_tensor_free (x);
      x = y;
    }

  /* Global average pool and the 1x1 logits on the host (1280 x 1001 multiply-adds). */
  ns_tensor_get_shape (x, s);
  g_assert (s[1] == weights->feature_channels);
  features = g_new (float, ns_tensor_n_elements (x));
  ns_tensor_download (x, features);
  /* the backend's status: no logits from ops that failed */
  if (!ns_backend_check (be, error))
    return FALSE;
  pooled = g_new0 (double, s[1]);
  for (int ch = 0; ch < s[1]; ch++)
    {
      for (int i = 0; i < s[2] * s[3]; i++)
        pooled[ch] += features[(gsize) ch * s[2] * s[3] + i];
      pooled[ch] /= (double) s[2] * s[3];
    }
  for (int k = 0; k < weights->n_classes; k++)
    {
      double sum = weights->logits_bias[k];
      const float *row = weights->logits_weight + (gsize) k * s[1];

      for (int ch = 0; ch < s[1]; ch++)
        sum += row[ch] * pooled[ch];
      logits[k] = (float) sum;
    }
  return TRUE;
}

void
ns_imagenet_top_k (const float *v, int n, int k, int *indices)
{
  g_return_if_fail (v != NULL && indices != NULL);
  g_return_if_fail (k >= 0 && k <= n);

  for (int r = 0; r < k; r++)
    {
      int best = -1;

      for (int i = 0; i < n; i++)
        {
          gboolean taken = FALSE;

          for (int q = 0; q < r; q++)
            taken |= indices[q] == i;
          if (!taken && (best < 0 || v[i] > v[best]))
            best = i;
        }
      indices[r] = best;
    }
}
