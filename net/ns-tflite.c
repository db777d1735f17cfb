/* SPDX-License-Identifier: MIT
 *
 * ns-tflite.c: a hand-written, bounds-checked reader of TFLite flatbuffers.
 *
 * The flatbuffers binary format, as much as we need: the file starts with a uoffset
 * (uint32, little endian) to the root table and, at bytes 4-7, the file identifier
 * ("TFL3").  A table starts with an soffset (int32) back to its vtable (vtable = table -
 * soffset); a vtable is uint16 [vtable bytes, table bytes, field offsets...], where the
 * offset of field i sits at byte 4 + 2 i and 0 means "absent: use the default".  Scalars
 * are stored inline in the table; tables, vectors and strings through a uoffset relative
 * to where the uoffset itself is stored.  A vector (and a string) is a uint32 length
 * followed by its elements; a vector of tables holds uoffsets.
 *
 * The schema (tensorflow/lite/schema/schema.fbs), field indices used here:
 *   Model { version 0, operator_codes 1, subgraphs 2, description 3, buffers 4 }
 *   OperatorCode { deprecated_builtin_code 0 (int8), custom_code 1, version 2,
 *                  builtin_code 3 (int32; the larger of the two codes is the op) }
 *   SubGraph { tensors 0, inputs 1, outputs 2, operators 3, name 4 }
 *   Tensor { shape 0, type 1, buffer 2, name 3, quantization 4 }
 *   QuantizationParameters { min 0, max 1, scale 2, zero_point 3 (int64),
 *                            details_type 4, details 5, quantized_dimension 6 }
 *   Operator { opcode_index 0, inputs 1, outputs 2, builtin_options_type 3,
 *              builtin_options 4 }
 *   Buffer { data 0, offset 1, size 2 (data outside the flatbuffer, files over 2 GB) }
 *   BuiltinOptions union: 1 Conv2DOptions { padding, stride_w, stride_h, activation,
 *   dilation_w, dilation_h }, 2 DepthwiseConv2DOptions { padding, stride_w, stride_h,
 *   depth_multiplier, activation, dilation_w, dilation_h }, 5 Pool2DOptions { padding,
 *   stride_w, stride_h, filter_w, filter_h, activation }, 11 AddOptions { activation }.
 *
 * Every read goes through fb_*() helpers that check the position against the file size
 * (in 64-bit arithmetic, so that no sum wraps); a failure records one error and the
 * parse unwinds.  Nothing recurses, so a malicious file cannot loop or blow the stack;
 * element counts are bounded by the bytes that hold them, so it cannot make us allocate
 * more than a few times its own size.
 */
#define G_LOG_DOMAIN "neuroseg-net"

#include "ns-tflite.h"
#include "ns-backend.h"
#include "ns-file.h"

#include <math.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

struct _NsTfliteModel
{
  GBytes *bytes;
  char *file;                  /* name for error messages */
  guint32 version;
  char *description;

  int n_buffers;
  const guint8 **buffer_data;  /* (n_buffers), into bytes */
  gsize *buffer_size;

  int n_opcodes;
  int *opcodes;                /* builtin code per operator code */
  char **custom_codes;

  int n_subgraphs;
  int n_tensors;
  NsTfliteTensor *tensors;
  int n_operators;
  NsTfliteOperator *operators;
  int n_inputs, n_outputs;
  int *inputs, *outputs;
};

/* ---- flatbuffer access ---------------------------------------------------------------- */

typedef struct
{
  const guint8 *data;
  guint64 size;
  const char *file;
  GError **error;
  gboolean failed;
} Fb;

static gboolean G_GNUC_PRINTF (2, 3)
fb_fail (Fb *fb, const char *format, ...)
{
  va_list args;
  g_autofree char *message = NULL;

  if (fb->failed)
    return FALSE;
  va_start (args, format);
  message = g_strdup_vprintf (format, args);
  va_end (args);
  g_set_error (fb->error, NS_NET_ERROR, NS_NET_ERROR_CHECKPOINT,
               "%s: not a valid TensorFlow Lite model: %s", fb->file, message);
  fb->failed = TRUE;
  return FALSE;
}

static gboolean
fb_check (Fb *fb, guint64 pos, guint64 len, const char *what)
{
  if (pos > fb->size || len > fb->size - pos)
    return fb_fail (fb, "%s at byte %" G_GUINT64_FORMAT " runs past the end of the file "
                    "(%" G_GUINT64_FORMAT " bytes)", what, pos, fb->size);
  return TRUE;
}

static guint16
rd_u16 (const guint8 *p)
{
  return (guint16) (p[0] | (p[1] << 8));
}

static guint32
rd_u32 (const guint8 *p)
{
  return (guint32) p[0] | ((guint32) p[1] << 8) | ((guint32) p[2] << 16)
         | ((guint32) p[3] << 24);
}

static guint64
rd_u64 (const guint8 *p)
{
  return (guint64) rd_u32 (p) | ((guint64) rd_u32 (p + 4) << 32);
}

/* A table position, validated: its vtable lies inside the file. */
typedef struct
{
  guint64 pos;
  guint64 vtable;
  guint16 vtable_size;
  guint16 table_size;
} Table;

static gboolean
fb_table (Fb *fb, guint64 pos, const char *what, Table *t)
{
  gint32 soff;
  gint64 vt;

  memset (t, 0, sizeof *t);
  if (!fb_check (fb, pos, 4, what))
    return FALSE;
  soff = (gint32) rd_u32 (fb->data + pos);
  vt = (gint64) pos - soff;
  if (vt < 0 || !fb_check (fb, (guint64) vt, 4, what))
    return fb_fail (fb, "%s at byte %" G_GUINT64_FORMAT " has its vtable outside the file",
                    what, pos);
  t->pos = pos;
  t->vtable = (guint64) vt;
  t->vtable_size = rd_u16 (fb->data + vt);
  t->table_size = rd_u16 (fb->data + vt + 2);
  if (t->vtable_size < 4 || (t->vtable_size & 1) != 0
      || !fb_check (fb, t->vtable, t->vtable_size, what)
      || t->table_size < 4 || !fb_check (fb, pos, t->table_size, what))
    return fb_fail (fb, "%s at byte %" G_GUINT64_FORMAT " has a malformed vtable", what, pos);
  return TRUE;
}

/* Position of field `index` of width `len` in t, or 0 when absent (or on error). */
static guint64
fb_field (Fb *fb, const Table *t, int index, guint64 len, const char *what)
{
  guint64 slot = 4 + 2 * (guint64) index;
  guint16 off;

  if (fb->failed || slot + 2 > t->vtable_size)
    return 0;
  off = rd_u16 (fb->data + t->vtable + slot);
  if (off == 0)
    return 0;
  if (off < 4 || off + len > t->table_size)
    {
      fb_fail (fb, "field %s at byte %" G_GUINT64_FORMAT " lies outside its table", what,
               t->pos);
      return 0;
    }
  return t->pos + off;
}

static gint64
fb_int (Fb *fb, const Table *t, int index, int width, gboolean is_signed, gint64 def,
        const char *what)
{
  guint64 pos = fb_field (fb, t, index, width, what);
  const guint8 *p;

  if (pos == 0)
    return def;
  p = fb->data + pos;
  switch (width)
    {
    case 1:
      return is_signed ? (gint64) (gint8) p[0] : (gint64) p[0];
    case 2:
      return is_signed ? (gint64) (gint16) rd_u16 (p) : (gint64) rd_u16 (p);
    case 4:
      return is_signed ? (gint64) (gint32) rd_u32 (p) : (gint64) rd_u32 (p);
    default:
      return (gint64) rd_u64 (p);
    }
}

/* Follows the uoffset at pos; 0 on error. */
static guint64
fb_deref (Fb *fb, guint64 pos, const char *what)
{
  guint64 target;

  if (!fb_check (fb, pos, 4, what))
    return 0;
  target = pos + rd_u32 (fb->data + pos);
  if (!fb_check (fb, target, 4, what))
    return 0;
  return target;
}

/* A vector field: *pos of its first element and *len elements of elem_size bytes, all
 * inside the file.  Absent: TRUE with *len 0. */
static gboolean
fb_vector (Fb *fb, const Table *t, int index, guint64 elem_size, const char *what,
           guint64 *pos, guint32 *len)
{
  guint64 field = fb_field (fb, t, index, 4, what);
  guint64 vec;

  *pos = 0;
  *len = 0;
  if (fb->failed)
    return FALSE;
  if (field == 0)
    return TRUE;
  vec = fb_deref (fb, field, what);
  if (vec == 0)
    return FALSE;
  *len = rd_u32 (fb->data + vec);
  if (!fb_check (fb, vec + 4, (guint64) *len * elem_size, what))
    return FALSE;
  *pos = vec + 4;
  return TRUE;
}

/* Table element i of a vector of tables at pos. */
static gboolean
fb_vector_table (Fb *fb, guint64 pos, guint32 i, const char *what, Table *t)
{
  guint64 target = fb_deref (fb, pos + 4 * (guint64) i, what);

  if (target == 0)
    return FALSE;
  return fb_table (fb, target, what, t);
}

/* A string field as a new NUL-terminated copy; NULL when absent. */
static char *
fb_string (Fb *fb, const Table *t, int index, const char *what)
{
  guint64 pos;
  guint32 len;

  if (!fb_vector (fb, t, index, 1, what, &pos, &len) || pos == 0)
    return NULL;
  return g_utf8_make_valid ((const char *) fb->data + pos, len);
}

/* A sub-table field; FALSE when absent or on error (check fb->failed). */
static gboolean
fb_subtable (Fb *fb, const Table *t, int index, const char *what, Table *sub)
{
  guint64 field = fb_field (fb, t, index, 4, what);
  guint64 target;

  if (field == 0)
    return FALSE;
  target = fb_deref (fb, field, what);
  if (target == 0)
    return FALSE;
  return fb_table (fb, target, what, sub);
}

/* ---- model ---------------------------------------------------------------------------- */

void
ns_tflite_model_free (NsTfliteModel *model)
{
  if (model == NULL)
    return;
  for (int i = 0; i < model->n_tensors; i++)
    {
      g_free (model->tensors[i].name);
      g_free (model->tensors[i].scale);
      g_free (model->tensors[i].zero_point);
    }
  for (int i = 0; i < model->n_operators; i++)
    {
      g_free (model->operators[i].inputs);
      g_free (model->operators[i].outputs);
    }
  if (model->custom_codes != NULL)
    for (int i = 0; i < model->n_opcodes; i++)
      g_free (model->custom_codes[i]);
  g_free (model->custom_codes);
  g_free (model->opcodes);
  g_free (model->tensors);
  g_free (model->operators);
  g_free (model->inputs);
  g_free (model->outputs);
  g_free (model->buffer_data);
  g_free (model->buffer_size);
  g_free (model->description);
  g_free (model->file);
  g_clear_pointer (&model->bytes, g_bytes_unref);
  g_free (model);
}

static gboolean
read_int_vector (Fb *fb, const Table *t, int index, const char *what, int lo, int hi,
                 int **out, int *n_out)
{
  guint64 pos;
  guint32 len;

  *out = NULL;
  *n_out = 0;
  if (!fb_vector (fb, t, index, 4, what, &pos, &len))
    return FALSE;
  *out = g_new (int, MAX (len, 1));
  *n_out = (int) len;
  for (guint32 i = 0; i < len; i++)
    {
      gint32 v = (gint32) rd_u32 (fb->data + pos + 4 * (guint64) i);

      if (v < lo || v >= hi)
        return fb_fail (fb, "%s[%u] = %d is out of range [%d, %d)", what, i, v, lo, hi);
      (*out)[i] = v;
    }
  return TRUE;
}

static gboolean
read_buffers (Fb *fb, NsTfliteModel *m, const Table *root)
{
  guint64 pos;
  guint32 len;

  if (!fb_vector (fb, root, 4, 4, "Model.buffers", &pos, &len))
    return FALSE;
  m->n_buffers = (int) len;
  m->buffer_data = g_new0 (const guint8 *, MAX (len, 1));
  m->buffer_size = g_new0 (gsize, MAX (len, 1));
  for (guint32 i = 0; i < len; i++)
    {
      Table b;
      guint64 dpos;
      guint32 dlen;
      guint64 offset, size;

      if (!fb_vector_table (fb, pos, i, "Buffer", &b)
          || !fb_vector (fb, &b, 0, 1, "Buffer.data", &dpos, &dlen))
        return FALSE;
      offset = (guint64) fb_int (fb, &b, 1, 8, FALSE, 0, "Buffer.offset");
      size = (guint64) fb_int (fb, &b, 2, 8, FALSE, 0, "Buffer.size");
      if (offset > 1)
        {
          /* Data appended after the flatbuffer (offset from the file start). */
          if (!fb_check (fb, offset, size, "Buffer (external data)"))
            return FALSE;
          m->buffer_data[i] = fb->data + offset;
          m->buffer_size[i] = size;
          continue;
        }
      m->buffer_data[i] = dlen > 0 ? fb->data + dpos : NULL;
      m->buffer_size[i] = dlen;
    }
  return !fb->failed;
}

static gboolean
read_opcodes (Fb *fb, NsTfliteModel *m, const Table *root)
{
  guint64 pos;
  guint32 len;

  if (!fb_vector (fb, root, 1, 4, "Model.operator_codes", &pos, &len))
    return FALSE;
  m->n_opcodes = (int) len;
  m->opcodes = g_new0 (int, MAX (len, 1));
  m->custom_codes = g_new0 (char *, MAX (len, 1));
  for (guint32 i = 0; i < len; i++)
    {
      Table oc;
      gint64 deprecated, builtin;

      if (!fb_vector_table (fb, pos, i, "OperatorCode", &oc))
        return FALSE;
      deprecated = fb_int (fb, &oc, 0, 1, TRUE, 0, "OperatorCode.deprecated_builtin_code");
      builtin = fb_int (fb, &oc, 3, 4, TRUE, 0, "OperatorCode.builtin_code");
      m->opcodes[i] = (int) MAX (deprecated, builtin);
      if (m->opcodes[i] < 0)
        return fb_fail (fb, "operator code %u is negative", i);
      m->custom_codes[i] = fb_string (fb, &oc, 1, "OperatorCode.custom_code");
    }
  return !fb->failed;
}

static gboolean
read_tensor (Fb *fb, NsTfliteModel *m, const Table *t, int index, NsTfliteTensor *out)
{
  guint64 pos;
  guint32 len;
  gint64 type, buffer;
  Table q;

  if (!fb_vector (fb, t, 0, 4, "Tensor.shape", &pos, &len))
    return FALSE;
  if (len > NS_TFLITE_MAX_DIMS)
    return fb_fail (fb, "tensor %d has %u dimensions", index, len);
  out->n_dims = (int) len;
  for (guint32 d = 0; d < len; d++)
    {
      gint32 v = (gint32) rd_u32 (fb->data + pos + 4 * d);

      if (v < 0)
        return fb_fail (fb, "tensor %d has a negative dimension (%d)", index, v);
      out->shape[d] = v;
    }
  type = fb_int (fb, t, 1, 1, TRUE, 0, "Tensor.type");
  if (type < 0 || type > 17)
    return fb_fail (fb, "tensor %d has an unknown type %" G_GINT64_FORMAT, index, type);
  out->type = (NsTfliteType) type;
  buffer = fb_int (fb, t, 2, 4, FALSE, 0, "Tensor.buffer");
  if (buffer >= m->n_buffers && !(buffer == 0 && m->n_buffers == 0))
    return fb_fail (fb, "tensor %d refers to buffer %" G_GINT64_FORMAT " of %d", index,
                    buffer, m->n_buffers);
  out->buffer = (guint32) buffer;
  out->name = fb_string (fb, t, 3, "Tensor.name");
  if (out->name == NULL)
    out->name = g_strdup_printf ("tensor_%d", index);

  if (fb_subtable (fb, t, 4, "Tensor.quantization", &q))
    {
      guint64 spos, zpos;
      guint32 slen, zlen;

      if (!fb_vector (fb, &q, 2, 4, "QuantizationParameters.scale", &spos, &slen)
          || !fb_vector (fb, &q, 3, 8, "QuantizationParameters.zero_point", &zpos, &zlen))
        return FALSE;
      if (zlen != 0 && zlen != slen)
        return fb_fail (fb, "tensor %d has %u scales but %u zero points", index, slen, zlen);
      out->quantized_dimension = (int) fb_int (fb, &q, 6, 4, TRUE, 0,
                                               "QuantizationParameters.quantized_dimension");
      if (slen > 1
          && (out->quantized_dimension < 0 || out->quantized_dimension >= out->n_dims
              || (guint32) out->shape[out->quantized_dimension] != slen))
        return fb_fail (fb, "tensor %d has %u scales that match no dimension", index, slen);
      out->n_quant = (int) slen;
      out->scale = g_new0 (float, MAX (slen, 1));
      out->zero_point = g_new0 (gint64, MAX (slen, 1));
      for (guint32 i = 0; i < slen; i++)
        {
          guint32 bits = rd_u32 (fb->data + spos + 4 * (guint64) i);

          memcpy (&out->scale[i], &bits, sizeof (float));
          if (zlen > 0)
            out->zero_point[i] = (gint64) rd_u64 (fb->data + zpos + 8 * (guint64) i);
        }
    }
  return !fb->failed;
}

static gboolean
read_operator (Fb *fb, NsTfliteModel *m, const Table *t, int index, NsTfliteOperator *op)
{
  gint64 opcode_index, options_type;
  Table opt;

  opcode_index = fb_int (fb, t, 0, 4, FALSE, 0, "Operator.opcode_index");
  if (opcode_index >= m->n_opcodes)
    return fb_fail (fb, "operator %d uses operator code %" G_GINT64_FORMAT " of %d", index,
                    opcode_index, m->n_opcodes);
  op->opcode = m->opcodes[opcode_index];
  op->custom_code = m->custom_codes[opcode_index];
  if (!read_int_vector (fb, t, 1, "Operator.inputs", -1, m->n_tensors, &op->inputs,
                        &op->n_inputs)
      || !read_int_vector (fb, t, 2, "Operator.outputs", 0, m->n_tensors, &op->outputs,
                           &op->n_outputs))
    return FALSE;

  op->dilation_w = op->dilation_h = 1;
  options_type = fb_int (fb, t, 3, 1, FALSE, 0, "Operator.builtin_options_type");
  if (!fb_subtable (fb, t, 4, "Operator.builtin_options", &opt))
    return !fb->failed;
  switch (options_type)
    {
    case 1: /* Conv2DOptions */
      op->padding = (int) fb_int (fb, &opt, 0, 1, TRUE, 0, "Conv2DOptions.padding");
      op->stride_w = (int) fb_int (fb, &opt, 1, 4, TRUE, 0, "Conv2DOptions.stride_w");
      op->stride_h = (int) fb_int (fb, &opt, 2, 4, TRUE, 0, "Conv2DOptions.stride_h");
      op->activation = (int) fb_int (fb, &opt, 3, 1, TRUE, 0, "Conv2DOptions.activation");
      op->dilation_w = (int) fb_int (fb, &opt, 4, 4, TRUE, 1, "Conv2DOptions.dilation_w");
      op->dilation_h = (int) fb_int (fb, &opt, 5, 4, TRUE, 1, "Conv2DOptions.dilation_h");
      break;
    case 2: /* DepthwiseConv2DOptions */
      op->padding = (int) fb_int (fb, &opt, 0, 1, TRUE, 0, "DepthwiseConv2DOptions.padding");
      op->stride_w = (int) fb_int (fb, &opt, 1, 4, TRUE, 0, "DepthwiseConv2DOptions.stride_w");
      op->stride_h = (int) fb_int (fb, &opt, 2, 4, TRUE, 0, "DepthwiseConv2DOptions.stride_h");
      op->depth_multiplier = (int) fb_int (fb, &opt, 3, 4, TRUE, 0,
                                           "DepthwiseConv2DOptions.depth_multiplier");
      op->activation = (int) fb_int (fb, &opt, 4, 1, TRUE, 0,
                                     "DepthwiseConv2DOptions.activation");
      op->dilation_w = (int) fb_int (fb, &opt, 5, 4, TRUE, 1,
                                     "DepthwiseConv2DOptions.dilation_w");
      op->dilation_h = (int) fb_int (fb, &opt, 6, 4, TRUE, 1,
                                     "DepthwiseConv2DOptions.dilation_h");
      break;
    case 5: /* Pool2DOptions */
      op->padding = (int) fb_int (fb, &opt, 0, 1, TRUE, 0, "Pool2DOptions.padding");
      op->stride_w = (int) fb_int (fb, &opt, 1, 4, TRUE, 0, "Pool2DOptions.stride_w");
      op->stride_h = (int) fb_int (fb, &opt, 2, 4, TRUE, 0, "Pool2DOptions.stride_h");
      op->activation = (int) fb_int (fb, &opt, 5, 1, TRUE, 0, "Pool2DOptions.activation");
      break;
    case 11: /* AddOptions */
      op->activation = (int) fb_int (fb, &opt, 0, 1, TRUE, 0, "AddOptions.activation");
      break;
    default:
      break;
    }
  return !fb->failed;
}

static gboolean
read_subgraph (Fb *fb, NsTfliteModel *m, const Table *root)
{
  guint64 pos, tpos, opos;
  guint32 len, n_tensors, n_ops;
  Table sg;

  if (!fb_vector (fb, root, 2, 4, "Model.subgraphs", &pos, &len))
    return FALSE;
  if (len == 0)
    return fb_fail (fb, "it has no subgraph");
  m->n_subgraphs = (int) len;
  if (!fb_vector_table (fb, pos, 0, "SubGraph", &sg))
    return FALSE;

  if (!fb_vector (fb, &sg, 0, 4, "SubGraph.tensors", &tpos, &n_tensors))
    return FALSE;
  m->tensors = g_new0 (NsTfliteTensor, MAX (n_tensors, 1));
  for (guint32 i = 0; i < n_tensors; i++)
    {
      Table t;

      m->n_tensors = (int) i + 1; /* so that free() sees what was filled */
      if (!fb_vector_table (fb, tpos, i, "Tensor", &t)
          || !read_tensor (fb, m, &t, (int) i, &m->tensors[i]))
        return FALSE;
    }
  m->n_tensors = (int) n_tensors;

  if (!read_int_vector (fb, &sg, 1, "SubGraph.inputs", 0, m->n_tensors, &m->inputs,
                        &m->n_inputs)
      || !read_int_vector (fb, &sg, 2, "SubGraph.outputs", 0, m->n_tensors, &m->outputs,
                           &m->n_outputs))
    return FALSE;

  if (!fb_vector (fb, &sg, 3, 4, "SubGraph.operators", &opos, &n_ops))
    return FALSE;
  m->operators = g_new0 (NsTfliteOperator, MAX (n_ops, 1));
  for (guint32 i = 0; i < n_ops; i++)
    {
      Table t;

      m->n_operators = (int) i + 1;
      if (!fb_vector_table (fb, opos, i, "Operator", &t)
          || !read_operator (fb, m, &t, (int) i, &m->operators[i]))
        return FALSE;
    }
  m->n_operators = (int) n_ops;
  return TRUE;
}

NsTfliteModel *
ns_tflite_model_new_from_bytes (GBytes *bytes, const char *name, GError **error)
{
  g_autoptr (NsTfliteModel) m = NULL;
  gsize size = 0;
  Fb fb = { 0 };
  Table root;

  g_return_val_if_fail (bytes != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  m = g_new0 (NsTfliteModel, 1);
  m->bytes = g_bytes_ref (bytes);
  m->file = g_strdup (name != NULL ? name : "(memory)");
  fb.data = g_bytes_get_data (bytes, &size);
  fb.size = size;
  fb.file = m->file;
  fb.error = error;

  if (size < 8 || memcmp (fb.data + 4, "TFL3", 4) != 0)
    {
      g_set_error (error, NS_NET_ERROR, NS_NET_ERROR_CHECKPOINT,
                   "%s: not a TensorFlow Lite model (no TFL3 identifier)", m->file);
      return NULL;
    }
  if (!fb_table (&fb, rd_u32 (fb.data), "Model", &root))
    return NULL;
  m->version = (guint32) fb_int (&fb, &root, 0, 4, FALSE, 0, "Model.version");
  m->description = fb_string (&fb, &root, 3, "Model.description");
  if (fb.failed || !read_buffers (&fb, m, &root) || !read_opcodes (&fb, m, &root)
      || !read_subgraph (&fb, m, &root))
    {
      if (!fb.failed)
        fb_fail (&fb, "unreadable");
      return NULL;
    }
  return g_steal_pointer (&m);
}

/* FlatBuffers address at most 2 GiB (32-bit offsets): a larger file is not a model. */
#define TFLITE_MAX_BYTES ((goffset) 2 << 30)

NsTfliteModel *
ns_tflite_model_new_from_file (const char *path, GError **error)
{
  g_autoptr (GMappedFile) mapped = NULL;
  g_autoptr (GBytes) bytes = NULL;
  g_autoptr (GError) local = NULL;
  struct stat st;

  g_return_val_if_fail (path != NULL, NULL);

  /* Regular files only (data/ns-file.h: a FIFO neither hangs us nor passes; links to
   * regular files are fine).  The file is mapped, not read: only the pages the parser
   * touches are loaded. */
  int fd = ns_file_open_regular (path, &st, &local);
  if (fd < 0)
    {
      g_set_error_literal (error, NS_NET_ERROR, NS_NET_ERROR_CHECKPOINT, local->message);
      return NULL;
    }
  if (st.st_size > TFLITE_MAX_BYTES)
    {
      g_set_error (error, NS_NET_ERROR, NS_NET_ERROR_CHECKPOINT,
                   "%s: larger than the 2 GiB a TensorFlow Lite model can be", path);
      close (fd);
      return NULL;
    }
  mapped = g_mapped_file_new_from_fd (fd, FALSE, &local);
  close (fd);
  if (mapped == NULL)
    {
      g_set_error (error, NS_NET_ERROR, NS_NET_ERROR_CHECKPOINT, "%s: %s", path,
                   local->message);
      return NULL;
    }
  bytes = g_mapped_file_get_bytes (mapped);
  return ns_tflite_model_new_from_bytes (bytes, path, error);
}

/* ---- accessors ------------------------------------------------------------------------ */

const char *
ns_tflite_model_get_name (NsTfliteModel *model)
{
  g_return_val_if_fail (model != NULL, NULL);
  return model->file;
}

guint32
ns_tflite_model_get_version (NsTfliteModel *model)
{
  g_return_val_if_fail (model != NULL, 0);
  return model->version;
}

const char *
ns_tflite_model_get_description (NsTfliteModel *model)
{
  g_return_val_if_fail (model != NULL, NULL);
  return model->description;
}

int
ns_tflite_model_n_buffers (NsTfliteModel *model)
{
  g_return_val_if_fail (model != NULL, 0);
  return model->n_buffers;
}

int
ns_tflite_model_n_subgraphs (NsTfliteModel *model)
{
  g_return_val_if_fail (model != NULL, 0);
  return model->n_subgraphs;
}

int
ns_tflite_model_n_tensors (NsTfliteModel *model)
{
  g_return_val_if_fail (model != NULL, 0);
  return model->n_tensors;
}

const NsTfliteTensor *
ns_tflite_model_get_tensor (NsTfliteModel *model, int index)
{
  g_return_val_if_fail (model != NULL, NULL);
  g_return_val_if_fail (index >= 0 && index < model->n_tensors, NULL);
  return &model->tensors[index];
}

int
ns_tflite_model_find_tensor (NsTfliteModel *model, const char *name)
{
  g_return_val_if_fail (model != NULL, -1);
  g_return_val_if_fail (name != NULL, -1);
  for (int i = 0; i < model->n_tensors; i++)
    if (strcmp (model->tensors[i].name, name) == 0)
      return i;
  return -1;
}

int
ns_tflite_model_n_operators (NsTfliteModel *model)
{
  g_return_val_if_fail (model != NULL, 0);
  return model->n_operators;
}

const NsTfliteOperator *
ns_tflite_model_get_operator (NsTfliteModel *model, int index)
{
  g_return_val_if_fail (model != NULL, NULL);
  g_return_val_if_fail (index >= 0 && index < model->n_operators, NULL);
  return &model->operators[index];
}

const int *
ns_tflite_model_get_inputs (NsTfliteModel *model, int *n)
{
  g_return_val_if_fail (model != NULL && n != NULL, NULL);
  *n = model->n_inputs;
  return model->inputs;
}

const int *
ns_tflite_model_get_outputs (NsTfliteModel *model, int *n)
{
  g_return_val_if_fail (model != NULL && n != NULL, NULL);
  *n = model->n_outputs;
  return model->outputs;
}

const char *
ns_tflite_op_name (int opcode)
{
  static const struct
  {
    int code;
    const char *name;
  } names[] = {
    { 0, "ADD" }, { 1, "AVERAGE_POOL_2D" }, { 2, "CONCATENATION" }, { 3, "CONV_2D" },
    { 4, "DEPTHWISE_CONV_2D" }, { 6, "DEQUANTIZE" }, { 9, "FULLY_CONNECTED" },
    { 14, "LOGISTIC" }, { 17, "MAX_POOL_2D" }, { 18, "MUL" }, { 19, "RELU" },
    { 21, "RELU6" }, { 22, "RESHAPE" }, { 23, "RESIZE_BILINEAR" }, { 25, "SOFTMAX" },
    { 32, "CUSTOM" }, { 34, "PAD" }, { 40, "MEAN" }, { 43, "SQUEEZE" }, { 114, "QUANTIZE" },
  };

  for (gsize i = 0; i < G_N_ELEMENTS (names); i++)
    if (names[i].code == opcode)
      return names[i].name;
  /* Static strings only (callers may be threads); print the code for the others. */
  return "OTHER_BUILTIN";
}

const char *
ns_tflite_type_name (NsTfliteType type)
{
  static const char *names[] = { "FLOAT32", "FLOAT16", "INT32", "UINT8", "INT64", "STRING",
                                 "BOOL", "INT16", "COMPLEX64", "INT8" };

  if ((int) type >= 0 && (gsize) type < G_N_ELEMENTS (names))
    return names[type];
  return "OTHER";
}

gsize
ns_tflite_tensor_n_elements (const NsTfliteTensor *tensor)
{
  gsize n = 1;

  g_return_val_if_fail (tensor != NULL, 0);
  for (int d = 0; d < tensor->n_dims; d++)
    {
      if (tensor->shape[d] != 0 && n > G_MAXSIZE / (gsize) tensor->shape[d])
        return G_MAXSIZE;
      n *= (gsize) tensor->shape[d];
    }
  return n;
}

const guint8 *
ns_tflite_model_get_tensor_data (NsTfliteModel *model, int index, gsize *size)
{
  const NsTfliteTensor *t;

  g_return_val_if_fail (model != NULL, NULL);
  g_return_val_if_fail (index >= 0 && index < model->n_tensors, NULL);
  t = &model->tensors[index];
  if (size != NULL)
    *size = 0;
  if (t->buffer >= (guint32) model->n_buffers)
    return NULL;
  if (size != NULL)
    *size = model->buffer_size[t->buffer];
  return model->buffer_data[t->buffer];
}

static float
half_to_float (guint16 h)
{
  guint32 sign = (guint32) (h & 0x8000) << 16;
  int exp = (h >> 10) & 0x1f;
  guint32 mant = h & 0x3ff;
  float f;

  if (exp == 0)
    f = ldexpf ((float) mant, -24);
  else if (exp == 31)
    f = mant != 0 ? NAN : INFINITY;
  else
    f = ldexpf ((float) (mant | 0x400), exp - 25);
  return sign ? -f : f;
}

float *
ns_tflite_model_dup_dequantized (NsTfliteModel *model, int index, gsize *n_out,
                                 GError **error)
{
  const NsTfliteTensor *t;
  const guint8 *data;
  gsize size, n, elem, inner = 1;
  g_autofree float *out = NULL;

  g_return_val_if_fail (model != NULL, NULL);
  g_return_val_if_fail (index >= 0 && index < model->n_tensors, NULL);

  t = &model->tensors[index];
  switch (t->type)
    {
    case NS_TFLITE_UINT8:
    case NS_TFLITE_INT8:
      elem = 1;
      break;
    case NS_TFLITE_INT16:
    case NS_TFLITE_FLOAT16:
      elem = 2;
      break;
    case NS_TFLITE_INT32:
    case NS_TFLITE_FLOAT32:
      elem = 4;
      break;
    case NS_TFLITE_INT64:
      elem = 8;
      break;
    default:
      g_set_error (error, NS_NET_ERROR, NS_NET_ERROR_UNSUPPORTED,
                   "%s: tensor %s has type %s, which cannot be dequantised", model->file,
                   t->name, ns_tflite_type_name (t->type));
      return NULL;
    }

  n = ns_tflite_tensor_n_elements (t);
  data = ns_tflite_model_get_tensor_data (model, index, &size);
  if (data == NULL || n == G_MAXSIZE || n > size / elem || n * elem != size)
    {
      g_set_error (error, NS_NET_ERROR, NS_NET_ERROR_CHECKPOINT,
                   "%s: tensor %s holds %" G_GSIZE_FORMAT " bytes of data, its shape needs %"
                   G_GSIZE_FORMAT, model->file, t->name, data != NULL ? size : 0,
                   n == G_MAXSIZE ? G_MAXSIZE : n * elem);
      return NULL;
    }

  out = g_try_new (float, MAX (n, 1));
  if (out == NULL)
    {
      g_set_error (error, NS_NET_ERROR, NS_NET_ERROR_OUT_OF_MEMORY,
                   "%s: out of memory for tensor %s", model->file, t->name);
      return NULL;
    }
  if (t->n_quant > 1)
    for (int d = t->quantized_dimension + 1; d < t->n_dims; d++)
      inner *= (gsize) t->shape[d];

  for (gsize i = 0; i < n; i++)
    {
      const guint8 *p = data + i * elem;
      double q;
      int c = t->n_quant > 1 ? (int) ((i / inner) % (gsize) t->n_quant) : 0;

      switch (t->type)
        {
        case NS_TFLITE_UINT8:
          q = p[0];
          break;
        case NS_TFLITE_INT8:
          q = (gint8) p[0];
          break;
        case NS_TFLITE_INT16:
          q = (gint16) rd_u16 (p);
          break;
        case NS_TFLITE_INT32:
          q = (gint32) rd_u32 (p);
          break;
        case NS_TFLITE_INT64:
          q = (double) (gint64) rd_u64 (p);
          break;
        case NS_TFLITE_FLOAT16:
          out[i] = half_to_float (rd_u16 (p));
          continue;
        case NS_TFLITE_FLOAT32:
        default:
          {
            guint32 bits = rd_u32 (p);

            memcpy (&out[i], &bits, sizeof (float));
            continue;
          }
        }
      if (t->n_quant > 0)
        q = ((double) t->scale[c]) * (q - (double) t->zero_point[c]);
      out[i] = (float) q;
    }
  if (n_out != NULL)
    *n_out = n;
  return g_steal_pointer (&out);
}
