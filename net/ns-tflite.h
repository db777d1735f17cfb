/* SPDX-License-Identifier: MIT
 *
 * ns-tflite.h: a small reader for TensorFlow Lite flatbuffers (schema identifier "TFL3"),
 * enough to take the weights out of a quantised ImageNet model: the buffers, the tensors
 * of the first subgraph (name, shape, type, buffer, quantisation scale and zero point)
 * and its operators (builtin code, inputs, outputs and, for convolutions, stride,
 * padding and fused activation).  No TensorFlow and no flatbuffers library: the file is
 * parsed by hand, and every offset, length and index is checked against the file, so a
 * truncated or corrupt file is an error naming the file, never a crash.
 *
 * Dequantisation follows the TFLite quantisation spec: real = scale · (q - zero_point),
 * for uint8 and int8 weights and for int32 biases (whose scale is stored in the file as
 * input_scale · weight_scale, zero point 0).  Per-axis quantisation (one scale per slice
 * along quantized_dimension) is handled too.
 *
 * Layouts as stored by TFLite: CONV_2D weights (out, kh, kw, in) (OHWI), DEPTHWISE_CONV_2D
 * weights (1, kh, kw, out), biases (out), activations NHWC.
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* TensorType of schema.fbs (the ones we dequantise; others are listed and refused). */
typedef enum
{
  NS_TFLITE_FLOAT32 = 0,
  NS_TFLITE_FLOAT16 = 1,
  NS_TFLITE_INT32 = 2,
  NS_TFLITE_UINT8 = 3,
  NS_TFLITE_INT64 = 4,
  NS_TFLITE_STRING = 5,
  NS_TFLITE_BOOL = 6,
  NS_TFLITE_INT16 = 7,
  NS_TFLITE_COMPLEX64 = 8,
  NS_TFLITE_INT8 = 9,
} NsTfliteType;

/* BuiltinOperator codes of schema.fbs that matter here. */
enum
{
  NS_TFLITE_OP_ADD = 0,
  NS_TFLITE_OP_AVERAGE_POOL_2D = 1,
  NS_TFLITE_OP_CONCATENATION = 2,
  NS_TFLITE_OP_CONV_2D = 3,
  NS_TFLITE_OP_DEPTHWISE_CONV_2D = 4,
  NS_TFLITE_OP_FULLY_CONNECTED = 9,
  NS_TFLITE_OP_RESHAPE = 22,
  NS_TFLITE_OP_SOFTMAX = 25,
  NS_TFLITE_OP_SQUEEZE = 43,
  NS_TFLITE_OP_MEAN = 40,
};

/* ActivationFunctionType and Padding of schema.fbs. */
enum
{
  NS_TFLITE_ACT_NONE = 0,
  NS_TFLITE_ACT_RELU = 1,
  NS_TFLITE_ACT_RELU_N1_TO_1 = 2,
  NS_TFLITE_ACT_RELU6 = 3,
};
enum
{
  NS_TFLITE_PADDING_SAME = 0,
  NS_TFLITE_PADDING_VALID = 1,
};

#define NS_TFLITE_MAX_DIMS 8

typedef struct
{
  char *name;
  int n_dims;
  int shape[NS_TFLITE_MAX_DIMS];
  NsTfliteType type;
  guint32 buffer;          /* index into the model's buffers (0: the empty buffer) */
  /* Quantisation: n_quant scales and zero points (0: not quantised; 1: per tensor;
   * shape[quantized_dimension]: per axis). */
  int n_quant;
  float *scale;            /* (n_quant) */
  gint64 *zero_point;      /* (n_quant) */
  int quantized_dimension;
} NsTfliteTensor;

typedef struct
{
  int opcode;              /* BuiltinOperator (NS_TFLITE_OP_*), or 32 (CUSTOM) */
  const char *custom_code; /* NULL unless a custom op */
  int n_inputs;
  int *inputs;             /* tensor indices, -1 for an omitted optional input */
  int n_outputs;
  int *outputs;
  /* Conv2DOptions / DepthwiseConv2DOptions (others: 0) */
  int padding;             /* NS_TFLITE_PADDING_* */
  int stride_w, stride_h;
  int dilation_w, dilation_h;
  int depth_multiplier;
  int activation;          /* NS_TFLITE_ACT_* (also for ADD, pooling) */
} NsTfliteOperator;

typedef struct _NsTfliteModel NsTfliteModel;

/* Reads and checks the whole file.  Errors (NS_NET_ERROR_CHECKPOINT for a corrupt or
 * foreign file) name the file. */
NsTfliteModel          *ns_tflite_model_new_from_file   (const char *path, GError **error);
/* The same from memory; `name` is what error messages call the data. */
NsTfliteModel          *ns_tflite_model_new_from_bytes  (GBytes *bytes, const char *name,
                                                         GError **error);
void                    ns_tflite_model_free            (NsTfliteModel *model);

/* The file name (or the name given to _new_from_bytes), for messages. */
const char             *ns_tflite_model_get_name        (NsTfliteModel *model);
guint32                 ns_tflite_model_get_version     (NsTfliteModel *model);
const char             *ns_tflite_model_get_description (NsTfliteModel *model);
int                     ns_tflite_model_n_buffers       (NsTfliteModel *model);
int                     ns_tflite_model_n_subgraphs     (NsTfliteModel *model);
/* The first subgraph's tensors, operators, inputs and outputs. */
int                     ns_tflite_model_n_tensors       (NsTfliteModel *model);
const NsTfliteTensor   *ns_tflite_model_get_tensor      (NsTfliteModel *model, int index);
/* Index of the tensor with this exact name, or -1. */
int                     ns_tflite_model_find_tensor     (NsTfliteModel *model,
                                                         const char *name);
int                     ns_tflite_model_n_operators     (NsTfliteModel *model);
const NsTfliteOperator *ns_tflite_model_get_operator    (NsTfliteModel *model, int index);
/* Subgraph inputs / outputs (tensor indices); n set to their count. */
const int              *ns_tflite_model_get_inputs      (NsTfliteModel *model, int *n);
const int              *ns_tflite_model_get_outputs     (NsTfliteModel *model, int *n);

/* "CONV_2D", "DEPTHWISE_CONV_2D", ... or "OTHER_BUILTIN" for codes not listed here. */
const char             *ns_tflite_op_name               (int opcode);
const char             *ns_tflite_type_name             (NsTfliteType type);

/* Elements of a tensor (product of its shape; 1 for a scalar). */
gsize                   ns_tflite_tensor_n_elements     (const NsTfliteTensor *tensor);
/* The raw bytes of a tensor's buffer (NULL and *size 0 when it has none). */
const guint8           *ns_tflite_model_get_tensor_data (NsTfliteModel *model, int index,
                                                         gsize *size);
/* Dequantised float copy of a constant tensor, in the file's layout: real = scale ·
 * (q - zero_point) for UINT8, INT8, INT16, INT32 and INT64 tensors (integers without
 * quantisation parameters convert as they are), the values for FLOAT32 and FLOAT16.
 * Errors when the tensor has no data, the buffer size does not match the shape, or the
 * type cannot be dequantised.  *n_out (may be NULL) receives the element count. */
float                  *ns_tflite_model_dup_dequantized (NsTfliteModel *model, int index,
                                                         gsize *n_out, GError **error);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (NsTfliteModel, ns_tflite_model_free)

G_END_DECLS
