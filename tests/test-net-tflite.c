/* SPDX-License-Identifier: MIT
 *
 * test-net-tflite.c: the TFLite reader on flatbuffers built here, byte by byte (a tiny
 * builder below, independent of the reader): every field read back, dequantisation
 * exact, per-axis scales, and robustness: every truncation and thousands of corrupted
 * copies give an error or a consistent model, never a crash.  The real ImageNet file is
 * tested in test-net-tflite-imagenet.c (needs ../shared).
 */
#define G_LOG_DOMAIN "test-net-tflite"

#include "ns-backend.h"
#include "ns-tflite.h"

#include <glib/gstdio.h>
#include <stdio.h>
#include <sys/stat.h>

#include <string.h>

/* ---- a minimal flatbuffer builder ----------------------------------------------------- *
 * Objects are appended in order; a table's offset fields are patched once their targets
 * (always written later, so uoffsets are positive) exist.  Each table is preceded by its
 * own vtable (soffset = table - vtable > 0). */

typedef struct
{
  GByteArray *b;
} Builder;

static void
put_u8 (Builder *bd, guint8 v)
{
  g_byte_array_append (bd->b, &v, 1);
}

static void
put_u16 (Builder *bd, guint16 v)
{
  put_u8 (bd, v & 0xff);
  put_u8 (bd, v >> 8);
}

static void
put_u32 (Builder *bd, guint32 v)
{
  put_u16 (bd, v & 0xffff);
  put_u16 (bd, v >> 16);
}

static void
align (Builder *bd, guint n)
{
  while (bd->b->len % n != 0)
    put_u8 (bd, 0);
}

static void
patch_u32 (Builder *bd, guint pos, guint32 v)
{
  for (int i = 0; i < 4; i++)
    bd->b->data[pos + i] = (v >> (8 * i)) & 0xff;
}

/* Points the uoffset slot at `slot` to `target`. */
static void
link (Builder *bd, guint slot, guint target)
{
  g_assert_cmpuint (target, >, slot);
  patch_u32 (bd, slot, target - slot);
}

#define MAX_FIELDS 8

typedef struct
{
  int size[MAX_FIELDS];   /* 0: absent; 1, 2, 4, 8: scalar; -1: uoffset slot */
  guint64 value[MAX_FIELDS];
  guint slot[MAX_FIELDS]; /* absolute position of each field once written */
  guint pos;              /* the table */
} Table;

static void
tf_scalar (Table *t, int index, int size, guint64 value)
{
  t->size[index] = size;
  t->value[index] = value;
}

static void
tf_offset (Table *t, int index)
{
  t->size[index] = -1;
}

static void
table_write (Builder *bd, Table *t)
{
  int n = 0, off = 4;
  guint16 offsets[MAX_FIELDS] = { 0 };
  guint vt;

  for (int i = 0; i < MAX_FIELDS; i++)
    if (t->size[i] != 0)
      {
        int sz = t->size[i] < 0 ? 4 : t->size[i];

        offsets[i] = (guint16) off;
        off += sz;
        n = i + 1;
      }
  align (bd, 4);
  vt = bd->b->len;
  put_u16 (bd, (guint16) (4 + 2 * n));
  put_u16 (bd, (guint16) off);
  for (int i = 0; i < n; i++)
    put_u16 (bd, offsets[i]);
  align (bd, 4);
  t->pos = bd->b->len;
  put_u32 (bd, t->pos - vt); /* soffset: vtable = table - soffset */
  for (int i = 0; i < MAX_FIELDS; i++)
    {
      int sz = t->size[i] < 0 ? 4 : t->size[i];

      if (t->size[i] == 0)
        continue;
      t->slot[i] = bd->b->len;
      for (int k = 0; k < sz; k++)
        put_u8 (bd, t->size[i] < 0 ? 0 : (t->value[i] >> (8 * k)) & 0xff);
    }
}

/* A vector of n elements of elem bytes (little-endian values); returns its position. */
static guint
vector_write (Builder *bd, int elem, int n, const void *values)
{
  guint pos;

  align (bd, elem == 8 ? 8 : 4);
  if (elem == 8 && (bd->b->len + 4) % 8 != 0)
    {
      put_u32 (bd, 0);
    }
  pos = bd->b->len;
  put_u32 (bd, (guint32) n);
  if (n > 0)
    g_byte_array_append (bd->b, values, (guint) (elem * n));
  return pos;
}

static guint
string_write (Builder *bd, const char *s)
{
  guint pos = vector_write (bd, 1, (int) strlen (s), s);

  put_u8 (bd, 0);
  return pos;
}

/* A vector of n uoffset slots; returns its position; slot i at pos + 4 + 4 i. */
static guint
offset_vector_write (Builder *bd, int n)
{
  guint pos;

  align (bd, 4);
  pos = bd->b->len;
  put_u32 (bd, (guint32) n);
  for (int i = 0; i < n; i++)
    put_u32 (bd, 0);
  return pos;
}

typedef struct
{
  const char *name;
  int n_dims;
  int shape[4];
  int type;
  int buffer;
  int n_quant;
  float scale[2];
  gint64 zero_point[2];
  int quantized_dimension;
} TensorSpec;

/* The test model: one CONV_2D over (1, 2, 2, 2) uint8 input with (2, 1, 1, w_in) uint8
 * weights (scale 0.5, zero point 128), int32 bias (scale 0.25), a per-axis int8 tensor.
 * w_in = 2 is consistent; other values make the weights' buffer too small or large. */
static GBytes *
build_model (int w_in)
{
  Builder bd = { g_byte_array_new () };
  static const guint8 weights[4] = { 10, 20, 250, 0 };
  static const gint32 bias[2] = { 100, -7 };
  TensorSpec tensors[5] = {
    { "input", 4, { 1, 2, 2, 2 }, NS_TFLITE_UINT8, 0, 1, { 1.0f / 128 }, { 128 }, 0 },
    { "conv/weights", 4, { 2, 1, 1, w_in }, NS_TFLITE_UINT8, 1, 1, { 0.5f }, { 128 }, 0 },
    { "conv/bias", 1, { 2 }, NS_TFLITE_INT32, 2, 1, { 0.25f }, { 0 }, 0 },
    { "output", 4, { 1, 2, 2, 2 }, NS_TFLITE_UINT8, 0, 1, { 0.1f }, { 3 }, 0 },
    { "per_axis", 4, { 2, 1, 1, 2 }, NS_TFLITE_INT8, 1, 2, { 0.5f, 2.0f }, { 0, 1 }, 0 },
  };
  Table model = { 0 }, opcode = { 0 }, subgraph = { 0 }, op = { 0 }, options = { 0 };
  Table buffers[3];
  guint v_buffers, v_opcodes, v_subgraphs, v_tensors, v, pos;

  memset (buffers, 0, sizeof buffers);

  /* header: root uoffset + identifier */
  put_u32 (&bd, 0);
  g_byte_array_append (bd.b, (const guint8 *) "TFL3", 4);

  tf_scalar (&model, 0, 4, 3);
  tf_offset (&model, 1);
  tf_offset (&model, 2);
  tf_offset (&model, 3);
  tf_offset (&model, 4);
  table_write (&bd, &model);
  patch_u32 (&bd, 0, model.pos);

  /* description */
  link (&bd, model.slot[3], string_write (&bd, "synthetic"));

  /* buffers: empty, weights, bias */
  v_buffers = offset_vector_write (&bd, 3);
  link (&bd, model.slot[4], v_buffers);
  for (int i = 0; i < 3; i++)
    {
      if (i > 0)
        tf_offset (&buffers[i], 0);
      table_write (&bd, &buffers[i]);
      link (&bd, v_buffers + 4 + 4 * i, buffers[i].pos);
    }
  link (&bd, buffers[1].slot[0], vector_write (&bd, 1, 4, weights));
  {
    guint8 raw[8];

    for (int i = 0; i < 2; i++)
      for (int k = 0; k < 4; k++)
        raw[4 * i + k] = ((guint32) bias[i] >> (8 * k)) & 0xff;
    link (&bd, buffers[2].slot[0], vector_write (&bd, 1, 8, raw));
  }

  /* operator codes: CONV_2D via the deprecated int8 field */
  v_opcodes = offset_vector_write (&bd, 1);
  link (&bd, model.slot[1], v_opcodes);
  tf_scalar (&opcode, 0, 1, NS_TFLITE_OP_CONV_2D);
  tf_scalar (&opcode, 2, 4, 1);
  table_write (&bd, &opcode);
  link (&bd, v_opcodes + 4, opcode.pos);

  /* subgraph */
  v_subgraphs = offset_vector_write (&bd, 1);
  link (&bd, model.slot[2], v_subgraphs);
  for (int i = 0; i < 5; i++)
    tf_offset (&subgraph, i);
  table_write (&bd, &subgraph);
  link (&bd, v_subgraphs + 4, subgraph.pos);
  link (&bd, subgraph.slot[4], string_write (&bd, "main"));
  {
    gint32 in[1] = { 0 }, out[1] = { 3 };

    link (&bd, subgraph.slot[1], vector_write (&bd, 4, 1, in));
    link (&bd, subgraph.slot[2], vector_write (&bd, 4, 1, out));
  }

  v_tensors = offset_vector_write (&bd, 5);
  link (&bd, subgraph.slot[0], v_tensors);
  for (int i = 0; i < 5; i++)
    {
      Table t = { 0 }, q = { 0 };
      TensorSpec *s = &tensors[i];
      gint32 shape[4];
      guint8 scale_bytes[8];
      guint8 zp_bytes[16];

      tf_offset (&t, 0);
      tf_scalar (&t, 1, 1, (guint64) s->type);
      tf_scalar (&t, 2, 4, (guint64) s->buffer);
      tf_offset (&t, 3);
      tf_offset (&t, 4);
      table_write (&bd, &t);
      link (&bd, v_tensors + 4 + 4 * i, t.pos);
      for (int d = 0; d < s->n_dims; d++)
        shape[d] = s->shape[d];
      link (&bd, t.slot[0], vector_write (&bd, 4, s->n_dims, shape));
      link (&bd, t.slot[3], string_write (&bd, s->name));

      tf_offset (&q, 2);
      tf_offset (&q, 3);
      tf_scalar (&q, 6, 4, (guint64) s->quantized_dimension);
      table_write (&bd, &q);
      link (&bd, t.slot[4], q.pos);
      for (int k = 0; k < s->n_quant; k++)
        {
          guint32 bits;
          guint64 z = (guint64) s->zero_point[k];

          memcpy (&bits, &s->scale[k], 4);
          for (int b = 0; b < 4; b++)
            scale_bytes[4 * k + b] = (bits >> (8 * b)) & 0xff;
          for (int b = 0; b < 8; b++)
            zp_bytes[8 * k + b] = (z >> (8 * b)) & 0xff;
        }
      link (&bd, q.slot[2], vector_write (&bd, 4, s->n_quant, scale_bytes));
      link (&bd, q.slot[3], vector_write (&bd, 8, s->n_quant, zp_bytes));
    }

  /* the operator */
  v = offset_vector_write (&bd, 1);
  link (&bd, subgraph.slot[3], v);
  tf_scalar (&op, 0, 4, 0);
  tf_offset (&op, 1);
  tf_offset (&op, 2);
  tf_scalar (&op, 3, 1, 1); /* Conv2DOptions */
  tf_offset (&op, 4);
  table_write (&bd, &op);
  link (&bd, v + 4, op.pos);
  {
    gint32 in[3] = { 0, 1, 2 }, out[1] = { 3 };

    link (&bd, op.slot[1], vector_write (&bd, 4, 3, in));
    link (&bd, op.slot[2], vector_write (&bd, 4, 1, out));
  }
  tf_scalar (&options, 0, 1, NS_TFLITE_PADDING_VALID);
  tf_scalar (&options, 1, 4, 2);
  tf_scalar (&options, 2, 4, 3);
  tf_scalar (&options, 3, 1, NS_TFLITE_ACT_RELU6);
  table_write (&bd, &options);
  link (&bd, op.slot[4], options.pos);

  pos = bd.b->len;
  (void) pos;
  return g_byte_array_free_to_bytes (bd.b);
}

/* ---- tests ---------------------------------------------------------------------------- */

static void
test_read_fields (void)
{
  g_autoptr (GBytes) bytes = build_model (2);
  g_autoptr (GError) error = NULL;
  g_autoptr (NsTfliteModel) m = ns_tflite_model_new_from_bytes (bytes, "synthetic.tflite",
                                                                &error);
  const NsTfliteTensor *t;
  const NsTfliteOperator *op;
  const int *io;
  int n;

  g_assert_no_error (error);
  g_assert_nonnull (m);
  g_assert_cmpuint (ns_tflite_model_get_version (m), ==, 3);
  g_assert_cmpstr (ns_tflite_model_get_description (m), ==, "synthetic");
  g_assert_cmpstr (ns_tflite_model_get_name (m), ==, "synthetic.tflite");
  g_assert_cmpint (ns_tflite_model_n_buffers (m), ==, 3);
  g_assert_cmpint (ns_tflite_model_n_subgraphs (m), ==, 1);
  g_assert_cmpint (ns_tflite_model_n_tensors (m), ==, 5);
  g_assert_cmpint (ns_tflite_model_n_operators (m), ==, 1);

  t = ns_tflite_model_get_tensor (m, 1);
  g_assert_cmpstr (t->name, ==, "conv/weights");
  g_assert_cmpint (t->n_dims, ==, 4);
  g_assert_cmpint (t->shape[0], ==, 2);
  g_assert_cmpint (t->shape[3], ==, 2);
  g_assert_cmpint (t->type, ==, NS_TFLITE_UINT8);
  g_assert_cmpuint (t->buffer, ==, 1);
  g_assert_cmpint (t->n_quant, ==, 1);
  g_assert_cmpfloat (t->scale[0], ==, 0.5f);
  g_assert_cmpint (t->zero_point[0], ==, 128);
  g_assert_cmpuint (ns_tflite_tensor_n_elements (t), ==, 4);
  g_assert_cmpint (ns_tflite_model_find_tensor (m, "conv/bias"), ==, 2);
  g_assert_cmpint (ns_tflite_model_find_tensor (m, "nothing"), ==, -1);

  op = ns_tflite_model_get_operator (m, 0);
  g_assert_cmpint (op->opcode, ==, NS_TFLITE_OP_CONV_2D);
  g_assert_cmpstr (ns_tflite_op_name (op->opcode), ==, "CONV_2D");
  g_assert_cmpint (op->n_inputs, ==, 3);
  g_assert_cmpint (op->inputs[2], ==, 2);
  g_assert_cmpint (op->n_outputs, ==, 1);
  g_assert_cmpint (op->outputs[0], ==, 3);
  g_assert_cmpint (op->padding, ==, NS_TFLITE_PADDING_VALID);
  g_assert_cmpint (op->stride_w, ==, 2);
  g_assert_cmpint (op->stride_h, ==, 3);
  g_assert_cmpint (op->activation, ==, NS_TFLITE_ACT_RELU6);
  g_assert_cmpint (op->dilation_w, ==, 1); /* absent: the schema's default */

  io = ns_tflite_model_get_inputs (m, &n);
  g_assert_cmpint (n, ==, 1);
  g_assert_cmpint (io[0], ==, 0);
  io = ns_tflite_model_get_outputs (m, &n);
  g_assert_cmpint (n, ==, 1);
  g_assert_cmpint (io[0], ==, 3);
}

static void
test_dequantize (void)
{
  g_autoptr (GBytes) bytes = build_model (2);
  g_autoptr (GError) error = NULL;
  g_autoptr (NsTfliteModel) m = ns_tflite_model_new_from_bytes (bytes, "synthetic.tflite",
                                                                &error);
  g_autofree float *w = NULL;
  g_autofree float *b = NULL;
  g_autofree float *pa = NULL;
  gsize n = 0;

  g_assert_no_error (error);
  /* uint8: 0.5 (q - 128) */
  w = ns_tflite_model_dup_dequantized (m, 1, &n, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (n, ==, 4);
  g_assert_cmpfloat (w[0], ==, -59.0f);
  g_assert_cmpfloat (w[1], ==, -54.0f);
  g_assert_cmpfloat (w[2], ==, 61.0f);
  g_assert_cmpfloat (w[3], ==, -64.0f);
  /* int32 bias: 0.25 q */
  b = ns_tflite_model_dup_dequantized (m, 2, &n, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (n, ==, 2);
  g_assert_cmpfloat (b[0], ==, 25.0f);
  g_assert_cmpfloat (b[1], ==, -1.75f);
  /* int8 per axis (dimension 0): channel 0 scale 0.5 zp 0, channel 1 scale 2 zp 1 */
  pa = ns_tflite_model_dup_dequantized (m, 4, &n, &error);
  g_assert_no_error (error);
  g_assert_cmpfloat (pa[0], ==, 5.0f);
  g_assert_cmpfloat (pa[1], ==, 10.0f);
  g_assert_cmpfloat (pa[2], ==, -14.0f);
  g_assert_cmpfloat (pa[3], ==, -2.0f);

  /* A tensor without data (an activation) cannot be dequantised. */
  g_assert_null (ns_tflite_model_dup_dequantized (m, 0, &n, &error));
  g_assert_error (error, NS_NET_ERROR, NS_NET_ERROR_CHECKPOINT);
  g_assert_nonnull (strstr (error->message, "synthetic.tflite"));
  g_assert_nonnull (strstr (error->message, "input"));
}

/* Weights declared (2, 1, 1, 3) over a 4-byte buffer: an error that says so. */
static void
test_size_mismatch (void)
{
  g_autoptr (GBytes) bytes = build_model (3);
  g_autoptr (GError) error = NULL;
  g_autoptr (NsTfliteModel) m = ns_tflite_model_new_from_bytes (bytes, "bad.tflite", &error);
  float *w;

  g_assert_no_error (error);
  w = ns_tflite_model_dup_dequantized (m, 1, NULL, &error);
  g_assert_null (w);
  g_assert_error (error, NS_NET_ERROR, NS_NET_ERROR_CHECKPOINT);
  g_test_message ("%s", error->message);
  g_assert_nonnull (strstr (error->message, "bad.tflite"));
  g_assert_nonnull (strstr (error->message, "4 bytes"));
  g_assert_nonnull (strstr (error->message, "needs 6"));
}

static void
test_not_tflite (void)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GBytes) empty = g_bytes_new_static ("", 0);
  g_autoptr (GBytes) png = g_bytes_new_static ("\x89PNG\r\n\x1a\n\0\0\0\rIHDR", 16);
  g_autofree char *missing = g_build_filename (g_get_tmp_dir (), "no-such-model.tflite", NULL);

  g_assert_null (ns_tflite_model_new_from_bytes (empty, "empty.tflite", &error));
  g_assert_error (error, NS_NET_ERROR, NS_NET_ERROR_CHECKPOINT);
  g_assert_nonnull (strstr (error->message, "empty.tflite"));
  g_clear_error (&error);

  g_assert_null (ns_tflite_model_new_from_bytes (png, "photo.png", &error));
  g_assert_error (error, NS_NET_ERROR, NS_NET_ERROR_CHECKPOINT);
  g_assert_nonnull (strstr (error->message, "TFL3"));
  g_clear_error (&error);

  g_assert_null (ns_tflite_model_new_from_file (missing, &error));
  g_assert_error (error, NS_NET_ERROR, NS_NET_ERROR_CHECKPOINT);
  g_assert_nonnull (strstr (error->message, "no-such-model.tflite"));
}

/* A FIFO (open() would block), /dev/zero and a folder are refused at once, naming the
 * path; a file over the 2 GiB a FlatBuffer can address is refused without being read. */
static void
test_not_a_file (void)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *dir = g_dir_make_tmp ("ns-tflite-XXXXXX", &error);
  g_assert_no_error (error);
  g_autofree char *fifo = g_build_filename (dir, "fifo.tflite", NULL);
  g_autofree char *big = g_build_filename (dir, "big.tflite", NULL);
  const char *paths[] = { fifo, "/dev/zero", dir, big };
  const char *says[] = { "a FIFO (named pipe), not a regular file",
                         "a character device, not a regular file", "a folder",
                         "larger than the 2 GiB" };

  g_assert_cmpint (mkfifo (fifo, 0600), ==, 0);
  FILE *fp = fopen (big, "wb");   /* sparse: 2 GiB of nothing and one byte */
  g_assert_nonnull (fp);
  g_assert_cmpint (fseeko (fp, (off_t) 2 << 30, SEEK_SET), ==, 0);
  g_assert_cmpint (fputc ('x', fp), ==, 'x');
  g_assert_cmpint (fclose (fp), ==, 0);
  for (guint i = 0; i < G_N_ELEMENTS (paths); i++)
    {
      g_assert_null (ns_tflite_model_new_from_file (paths[i], &error));
      g_assert_error (error, NS_NET_ERROR, NS_NET_ERROR_CHECKPOINT);
      g_test_message ("%s", error->message);
      g_assert_nonnull (strstr (error->message, paths[i]));
      g_assert_nonnull (strstr (error->message, says[i]));
      g_clear_error (&error);
    }
  g_unlink (fifo);
  g_unlink (big);
  g_rmdir (dir);
}

/* Everything a consumer would touch, on a model that did parse: must not crash. */
static void
exercise (NsTfliteModel *m)
{
  for (int i = 0; i < ns_tflite_model_n_tensors (m); i++)
    {
      g_autoptr (GError) error = NULL;
      g_autofree float *v = NULL;
      const NsTfliteTensor *t = ns_tflite_model_get_tensor (m, i);
      gsize n = 0;

      g_assert_nonnull (t->name);
      v = ns_tflite_model_dup_dequantized (m, i, &n, &error);
      g_assert_true ((v == NULL) == (error != NULL));
      if (v != NULL)
        for (gsize k = 0; k < n; k++)
          (void) v[k];
    }
  for (int i = 0; i < ns_tflite_model_n_operators (m); i++)
    {
      const NsTfliteOperator *op = ns_tflite_model_get_operator (m, i);

      (void) ns_tflite_op_name (op->opcode);
      for (int k = 0; k < op->n_inputs; k++)
        g_assert_true (op->inputs[k] >= -1 && op->inputs[k] < ns_tflite_model_n_tensors (m));
      for (int k = 0; k < op->n_outputs; k++)
        g_assert_true (op->outputs[k] >= 0 && op->outputs[k] < ns_tflite_model_n_tensors (m));
    }
}

/* Every prefix of the file is refused with an error (the last bytes written are data
 * that a field points to, so no prefix is complete). */
static void
test_truncated (void)
{
  g_autoptr (GBytes) bytes = build_model (2);
  gsize size;
  const guint8 *data = g_bytes_get_data (bytes, &size);

  for (gsize len = 0; len < size; len++)
    {
      g_autoptr (GBytes) part = g_bytes_new (data, len);
      g_autoptr (GError) error = NULL;
      g_autoptr (NsTfliteModel) m = ns_tflite_model_new_from_bytes (part, "cut.tflite",
                                                                    &error);

      g_assert_null (m);
      g_assert_error (error, NS_NET_ERROR, NS_NET_ERROR_CHECKPOINT);
      g_assert_true (g_str_has_prefix (error->message, "cut.tflite: "));
      g_assert_null (strchr (error->message, '\n'));
    }
}

/* Each byte of the file flipped in three ways, then 5000 copies with 1-8 random bytes
 * replaced: each parse fails with an error or gives a model whose every part can be
 * read. */
static void
test_corrupted (void)
{
  g_autoptr (GBytes) bytes = build_model (2);
  gsize size;
  const guint8 *data = g_bytes_get_data (bytes, &size);
  g_autofree guint8 *copy = g_malloc (size);
  static const guint8 masks[3] = { 0xff, 0x80, 0x01 };
  GRand *rand = g_rand_new_with_seed (4242);
  int n_ok = 0, n_err = 0;

  for (gsize pos = 0; pos < size; pos++)
    for (int k = 0; k < 3; k++)
      {
        g_autoptr (GBytes) bad = NULL;
        g_autoptr (GError) error = NULL;
        g_autoptr (NsTfliteModel) m = NULL;

        memcpy (copy, data, size);
        copy[pos] ^= masks[k];
        bad = g_bytes_new (copy, size);
        m = ns_tflite_model_new_from_bytes (bad, "flipped.tflite", &error);
        g_assert_true ((m == NULL) == (error != NULL));
        if (m != NULL)
          {
            exercise (m);
            n_ok++;
          }
        else
          n_err++;
      }

  for (int iter = 0; iter < 5000; iter++)
    {
      g_autoptr (GBytes) bad = NULL;
      g_autoptr (GError) error = NULL;
      g_autoptr (NsTfliteModel) m = NULL;
      int n_bytes = g_rand_int_range (rand, 1, 9);

      memcpy (copy, data, size);
      for (int k = 0; k < n_bytes; k++)
        copy[g_rand_int_range (rand, 0, (gint32) size)] = (guint8) g_rand_int_range (rand, 0,
                                                                                    256);
      bad = g_bytes_new (copy, size);
      m = ns_tflite_model_new_from_bytes (bad, "random.tflite", &error);
      g_assert_true ((m == NULL) == (error != NULL));
      if (m != NULL)
        {
          exercise (m);
          n_ok++;
        }
      else
        n_err++;
    }
  g_rand_free (rand);
  g_test_message ("corrupted copies: %d parsed, %d refused", n_ok, n_err);
  /* Both outcomes occur: payload bytes are harmless, offsets are caught. */
  g_assert_cmpint (n_ok, >, 0);
  g_assert_cmpint (n_err, >, 0);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/net/tflite/read-fields", test_read_fields);
  g_test_add_func ("/net/tflite/dequantize", test_dequantize);
  g_test_add_func ("/net/tflite/size-mismatch", test_size_mismatch);
  g_test_add_func ("/net/tflite/not-tflite", test_not_tflite);
  g_test_add_func ("/net/tflite/not-a-file", test_not_a_file);
  g_test_add_func ("/net/tflite/truncated", test_truncated);
  g_test_add_func ("/net/tflite/corrupted", test_corrupted);

  return g_test_run ();
}
