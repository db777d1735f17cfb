/* SPDX-License-Identifier: MIT
 *
 * test-net-checkpoint.c: safetensors round trips (F32 bit-exact, BF16 and F16 to their
 * rounding), metadata, and every kind of bad file giving a GError that names the file
 * and what is wrong: truncation, bad header length, bad JSON, missing metadata, newer
 * version, unknown dtype, offsets outside the data, missing and unexpected tensors,
 * shape mismatches; and (issue 13) what is not a regular file (a FIFO, /dev/zero, a
 * folder), 2 GB of junk after the data (refused without being read), NaN, infinity or a
 * negative variance in the weights, class metadata of the wrong JSON type, duplicate
 * label values, an unknown normalisation; atomic saves.
 */
#define G_LOG_DOMAIN "ns-test"

#include "ns-checkpoint.h"
#include "ns-test-util.h"

#include <errno.h>
#include <fcntl.h>
#include <glib/gstdio.h>
#include <json-glib/json-glib.h>
#include <math.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

static NsBackend *backend;

static NsModel *
random_model (const char *arch, int n_inputs, guint64 seed)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (NsModelMeta) meta = ns_model_meta_new_default (arch);
  NsModelInit init = { NS_INIT_KAIMING, 0, seed };

  if (n_inputs == 3)
    {
      g_strfreev (meta->modalities);
      meta->modalities = g_strsplit ("flair,t1c,t2", ",", -1);
    }
  meta->name = g_strdup ("test model");
  meta->parent = g_strdup ("parent.safetensors");
  meta->cases = g_strsplit ("case_a,case_b", ",", -1);
  meta->epochs = 12;
  meta->metrics = g_strdup ("{\"dice_wt\":0.875}");
  meta->date = g_strdup ("2026-11-26T12:00:00Z");
  meta->command = g_strdup ("neuroseg train --epochs 12");
  NsModel *m = ns_model_new (backend, meta, &init, &error);
  g_assert_no_error (error);

  /* Non-trivial running statistics and biases. */
  for (int i = 0; i < ns_model_n_tensors (m); i++)
    if (ns_model_tensor_ndim (m, i) == 1)
      {
        gsize n = ns_model_tensor_size (m, i);
        g_autofree float *v = g_new (float, n);
        for (gsize e = 0; e < n; e++)
          v[e] = 0.5f + ns_random_uniform (seed + 100 + i, e);
        ns_model_tensor_set (m, i, v);
      }
  return m;
}

static char *
tmp_path (const char *name)
{
  return g_build_filename (ns_test_tmpdir (), name, NULL);
}

static void
compare_models (NsModel *a, NsModel *b, NsDType dtype)
{
  g_assert_cmpint (ns_model_n_tensors (a), ==, ns_model_n_tensors (b));
  for (int i = 0; i < ns_model_n_tensors (a); i++)
    {
      gsize n = ns_model_tensor_size (a, i);
      g_autofree float *va = g_new (float, n);
      g_autofree float *vb = g_new (float, n);
      g_assert_cmpstr (ns_model_tensor_name (a, i), ==, ns_model_tensor_name (b, i));
      g_assert_cmpuint (n, ==, ns_model_tensor_size (b, i));
      ns_model_tensor_get (a, i, va);
      ns_model_tensor_get (b, i, vb);
      for (gsize e = 0; e < n; e++)
        {
          float want = dtype == NS_DTYPE_F32 ? va[e]
                       : dtype == NS_DTYPE_BF16 ? ns_bf16_to_float (ns_float_to_bf16 (va[e]))
                       : ns_f16_to_float (ns_float_to_f16 (va[e]));
          if (memcmp (&want, &vb[e], 4) != 0)
            g_error ("%s[%" G_GSIZE_FORMAT "]: %.9g read back as %.9g",
                     ns_model_tensor_name (a, i), e, want, vb[e]);
        }
    }
}

static void
test_round_trip (gconstpointer data)
{
  NsDType dtype = GPOINTER_TO_INT (data);
  g_autoptr (GError) error = NULL;
  g_autoptr (NsModel) m = random_model ("mobilenetv2-unet", 2, 1);
  g_autofree char *path = tmp_path ("rt.safetensors");

  g_assert_true (ns_checkpoint_save (m, path, dtype, &error));
  g_assert_no_error (error);
  g_autoptr (NsModel) back = ns_checkpoint_load (path, backend, &error);
  g_assert_no_error (error);
  compare_models (m, back, dtype);

  const NsModelMeta *meta = ns_model_get_meta (back);
  g_assert_cmpstr (meta->arch, ==, "mobilenetv2-unet");
  g_assert_cmpuint (g_strv_length (meta->modalities), ==, 2);
  g_assert_cmpstr (meta->modalities[0], ==, "flair");
  g_assert_cmpstr (meta->modalities[1], ==, "t1c");
  g_assert_cmpint (meta->n_classes, ==, 4);
  g_assert_cmpint (meta->classes[3].value, ==, 4);
  g_assert_cmpstr (meta->classes[1].name, ==, "NCR/NET");
  g_assert_cmpint (meta->classes[3].colour[0], ==, 255);
  g_assert_cmpint (meta->classes[3].colour[1], ==, 255);
  g_assert_cmpint (meta->classes[3].colour[2], ==, 0);
  g_assert_cmpstr (meta->normalisation, ==, "zscore-brain");
  g_assert_cmpstr (meta->name, ==, "test model");
  g_assert_cmpstr (meta->parent, ==, "parent.safetensors");
  g_assert_cmpuint (g_strv_length (meta->cases), ==, 2);
  g_assert_cmpstr (meta->cases[1], ==, "case_b");
  g_assert_cmpint (meta->epochs, ==, 12);
  g_assert_nonnull (strstr (meta->metrics, "0.875"));
  g_assert_cmpstr (meta->command, ==, "neuroseg train --epochs 12");

  g_autoptr (NsModelMeta) only = ns_checkpoint_read_meta (path, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (only->date, ==, "2026-11-26T12:00:00Z");

  /* Into an existing model of the same architecture. */
  g_autoptr (NsModel) other = random_model ("mobilenetv2-unet", 2, 99);
  g_assert_true (ns_checkpoint_load_into (other, path, &error));
  g_assert_no_error (error);
  compare_models (m, other, dtype);

  /* Saving what was loaded gives the same file. */
  if (dtype == NS_DTYPE_F32)
    {
      g_autofree char *again = tmp_path ("rt2.safetensors");
      g_autofree char *c1 = NULL, *c2 = NULL;
      gsize l1, l2;
      g_assert_true (ns_checkpoint_save (back, again, dtype, &error));
      g_assert_true (g_file_get_contents (path, &c1, &l1, NULL));
      g_assert_true (g_file_get_contents (again, &c2, &l2, NULL));
      g_assert_cmpmem (c1, l1, c2, l2);
    }
}

static void
test_unet_round_trip (void)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (NsModel) m = random_model ("unet", 2, 4);
  g_autofree char *path = tmp_path ("unet.safetensors");
  g_assert_true (ns_checkpoint_save (m, path, NS_DTYPE_F32, &error));
  g_autoptr (NsModel) back = ns_checkpoint_load (path, backend, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (ns_model_get_meta (back)->arch, ==, "unet");
  compare_models (m, back, NS_DTYPE_F32);
}

static void
test_half_conversions (void)
{
  /* Exact values, rounding to nearest even, overflow, subnormals. */
  g_assert_cmpfloat (ns_bf16_to_float (ns_float_to_bf16 (1.0f)), ==, 1.0f);
  g_assert_cmphex (ns_float_to_bf16 (1.0f + 1.0f / 256), ==, 0x3f80);   /* tie: even */
  g_assert_cmphex (ns_float_to_bf16 (1.0f + 3.0f / 256), ==, 0x3f82);
  g_assert_cmpfloat (ns_f16_to_float (ns_float_to_f16 (0.5f)), ==, 0.5f);
  g_assert_cmphex (ns_float_to_f16 (65504.0f), ==, 0x7bff);
  g_assert_cmphex (ns_float_to_f16 (1e6f), ==, 0x7c00);
  g_assert_cmphex (ns_float_to_f16 (-2.0f), ==, 0xc000);
  g_assert_cmphex (ns_float_to_f16 (1.0f + 1.0f / 2048), ==, 0x3c00);   /* tie: even */
  g_assert_cmphex (ns_float_to_f16 (1.0f + 3.0f / 2048), ==, 0x3c02);
  g_assert_cmpfloat (ns_f16_to_float (0x0001), ==, ldexpf (1.0f, -24));
  g_assert_cmphex (ns_float_to_f16 (ldexpf (1.0f, -24)), ==, 0x0001);
  g_assert_cmphex (ns_float_to_f16 (ldexpf (3.0f, -20)), ==, 0x0030);
  for (guint16 h = 0; h < 0x7c00; h++)
    g_assert_cmphex (ns_float_to_f16 (ns_f16_to_float (h)), ==, h);
  for (guint32 h = 0; h < 0x7f80; h++)
    g_assert_cmphex (ns_float_to_bf16 (ns_bf16_to_float ((guint16) h)), ==, h);
}

/* ---- bad files ------------------------------------------------------------------------- */

static char *good_path;

static void
ensure_good_file (void)
{
  if (good_path != NULL)
    return;
  g_autoptr (GError) error = NULL;
  g_autoptr (NsModel) m = random_model ("mobilenetv2-unet", 2, 5);
  good_path = tmp_path ("good.safetensors");
  g_assert_true (ns_checkpoint_save (m, good_path, NS_DTYPE_F32, &error));
  g_assert_no_error (error);
}

/* Splits a file into its header object and data section. */
static JsonObject *
read_header (const char *path, char **data, gsize *data_len)
{
  g_autofree char *c = NULL;
  gsize len;
  guint64 n = 0;
  g_assert_true (g_file_get_contents (path, &c, &len, NULL));
  for (int i = 7; i >= 0; i--)
    n = (n << 8) | (guint8) c[i];
  g_autofree char *text = g_strndup (c + 8, n);
  JsonNode *root = json_from_string (text, NULL);
  g_assert_nonnull (root);
  *data_len = len - 8 - n;
  *data = g_memdup2 (c + 8 + n, *data_len);
  JsonObject *o = json_object_ref (json_node_get_object (root));
  json_node_unref (root);
  return o;
}

static char *
write_file (const char *name, JsonObject *header, const char *data, gsize data_len)
{
  g_autoptr (JsonNode) root = json_node_new (JSON_NODE_OBJECT);
  json_node_set_object (root, header);
  g_autofree char *text = json_to_string (root, FALSE);
  gsize n = strlen (text);
  GString *s = g_string_new (NULL);
  for (int i = 0; i < 8; i++)
    g_string_append_c (s, (char) ((n >> (8 * i)) & 0xff));
  g_string_append_len (s, text, n);
  g_string_append_len (s, data, data_len);
  char *path = tmp_path (name);
  g_assert_true (g_file_set_contents (path, s->str, s->len, NULL));
  g_string_free (s, TRUE);
  return path;
}

static void
expect_error (const char *path, const char *fragment)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *base = g_path_get_basename (path);
  NsModel *m = ns_checkpoint_load (path, backend, &error);
  g_assert_null (m);
  g_assert_error (error, NS_NET_ERROR, NS_NET_ERROR_CHECKPOINT);
  g_test_message ("%s", error->message);
  g_assert_nonnull (strstr (error->message, base));
  if (strstr (error->message, fragment) == NULL)
    g_error ("'%s' does not say '%s'", error->message, fragment);
}

static void
test_truncated (void)
{
  ensure_good_file ();
  g_autofree char *c = NULL;
  gsize len;
  g_assert_true (g_file_get_contents (good_path, &c, &len, NULL));
  const gsize cuts[] = { 0, 5, 8, 100, len / 2, len - 1 };
  const char *what[] = { "truncated", "truncated", "truncated", "truncated", "truncated",
                         "truncated" };
  for (gsize i = 0; i < G_N_ELEMENTS (cuts); i++)
    {
      g_autofree char *name = g_strdup_printf ("cut%" G_GSIZE_FORMAT ".safetensors", i);
      g_autofree char *path = tmp_path (name);
      g_assert_true (g_file_set_contents (path, c, cuts[i], NULL));
      expect_error (path, what[i]);
    }
}

static void
test_garbage (void)
{
  g_autofree char *p1 = tmp_path ("garbage.safetensors");
  g_autofree char *p2 = tmp_path ("json.safetensors");
  g_autofree char *p3 = tmp_path ("array.safetensors");
  g_autofree char *p4 = tmp_path ("missing file.safetensors");
  const char junk[] = "\xff\xff\xff\xff\xff\xff\xff\x7f not a model at all";
  const char notjson[] = "\x08\0\0\0\0\0\0\0{{{{{{{{";
  const char array[] = "\x02\0\0\0\0\0\0\0[]";
  g_autoptr (GError) error = NULL;

  g_assert_true (g_file_set_contents (p1, junk, sizeof junk - 1, NULL));
  expect_error (p1, "not a safetensors file");
  g_assert_true (g_file_set_contents (p2, notjson, sizeof notjson - 1, NULL));
  expect_error (p2, "not valid JSON");
  g_assert_true (g_file_set_contents (p3, array, sizeof array - 1, NULL));
  expect_error (p3, "not a JSON object");
  g_assert_null (ns_checkpoint_load (p4, backend, &error));
  g_assert_error (error, NS_NET_ERROR, NS_NET_ERROR_CHECKPOINT);
  g_assert_nonnull (strstr (error->message, "missing file.safetensors"));
}

typedef void (*EditFunc) (JsonObject *header);

static void
expect_edit_error (const char *name, EditFunc edit, const char *fragment)
{
  char *data;
  gsize data_len;
  ensure_good_file ();
  JsonObject *h = read_header (good_path, &data, &data_len);
  edit (h);
  g_autofree char *path = write_file (name, h, data, data_len);
  expect_error (path, fragment);
  json_object_unref (h);
  g_free (data);
}

static JsonObject *
md (JsonObject *h)
{
  return json_object_get_object_member (h, "__metadata__");
}

static void
edit_no_meta (JsonObject *h)
{
  json_object_remove_member (h, "__metadata__");
}

static void
edit_version (JsonObject *h)
{
  g_autofree char *v = g_strdup_printf ("%d", NS_MODEL_FORMAT_VERSION + 1);
  json_object_set_string_member (md (h), "format_version", v);
}

static void
edit_arch (JsonObject *h)
{
  json_object_set_string_member (md (h), "arch", "vgg16");
}

static void
edit_classes (JsonObject *h)
{
  json_object_set_string_member (md (h), "classes", "[{\"value\": 0}]");
}

static void
edit_modalities (JsonObject *h)
{
  /* Claims 3 inputs: the first convolution then does not fit the stored tensor. */
  json_object_set_string_member (md (h), "modalities", "[\"flair\",\"t1c\",\"t2\"]");
}

static JsonObject *
entry (JsonObject *h, const char *name)
{
  return json_object_get_object_member (h, name);
}

static void
edit_dtype (JsonObject *h)
{
  json_object_set_string_member (entry (h, "segmentation_head.0.bias"), "dtype", "Q4");
}

static void
edit_offsets (JsonObject *h)
{
  JsonArray *a = json_object_get_array_member (entry (h, "segmentation_head.0.bias"),
                                               "data_offsets");
  gint64 b = json_array_get_int_element (a, 0);
  json_array_remove_element (a, 1);
  json_array_add_int_element (a, b + 12);
}

static void
edit_beyond (JsonObject *h)
{
  JsonArray *a = json_object_get_array_member (entry (h, "segmentation_head.0.bias"),
                                               "data_offsets");
  json_array_remove_element (a, 1);
  json_array_remove_element (a, 0);
  json_array_add_int_element (a, 1000000000);
  json_array_add_int_element (a, 1000000016);
}

/* A sound file without one tensor: its entry and its bytes removed, the later offsets
 * moved down (a header entry dropped alone would leave bytes that belong to no tensor). */
static void
expect_missing_error (const char *name, const char *tensor, const char *fragment)
{
  char *data;
  gsize data_len;
  ensure_good_file ();
  JsonObject *h = read_header (good_path, &data, &data_len);
  JsonArray *cut = json_object_get_array_member (json_object_get_object_member (h, tensor),
                                                 "data_offsets");
  gint64 b0 = json_array_get_int_element (cut, 0), b1 = json_array_get_int_element (cut, 1);
  memmove (data + b0, data + b1, data_len - b1);
  data_len -= b1 - b0;
  json_object_remove_member (h, tensor);
  g_autoptr (GList) members = json_object_get_members (h);
  for (GList *l = members; l != NULL; l = l->next)
    {
      if (strcmp (l->data, "__metadata__") == 0)
        continue;
      JsonArray *a = json_object_get_array_member (json_object_get_object_member (h, l->data),
                                                   "data_offsets");
      gint64 e0 = json_array_get_int_element (a, 0), e1 = json_array_get_int_element (a, 1);
      if (e0 < b1)
        continue;
      json_array_remove_element (a, 1);
      json_array_remove_element (a, 0);
      json_array_add_int_element (a, e0 - (b1 - b0));
      json_array_add_int_element (a, e1 - (b1 - b0));
    }
  g_autofree char *path = write_file (name, h, data, data_len);
  expect_error (path, fragment);
  json_object_unref (h);
  g_free (data);
}

/* A sound file with one tensor more: a copy of the head's bias appended to the data. */
static void
expect_unexpected_error (const char *name, const char *fragment)
{
  char *data;
  gsize data_len;
  ensure_good_file ();
  JsonObject *h = read_header (good_path, &data, &data_len);
  JsonObject *copy = json_object_new ();
  JsonArray *shape = json_array_new (), *offsets = json_array_new ();
  json_array_add_int_element (shape, 4);
  json_array_add_int_element (offsets, (gint64) data_len);
  json_array_add_int_element (offsets, (gint64) data_len + 16);
  json_object_set_string_member (copy, "dtype", "F32");
  json_object_set_array_member (copy, "shape", shape);
  json_object_set_array_member (copy, "data_offsets", offsets);
  json_object_set_object_member (h, "segmentation_head.1.bias", copy);
  data = g_realloc (data, data_len + 16);
  memset (data + data_len, 0, 16);
  g_autofree char *path = write_file (name, h, data, data_len + 16);
  expect_error (path, fragment);
  json_object_unref (h);
  g_free (data);
}

static void
edit_bad_shape (JsonObject *h)
{
  json_object_set_string_member (entry (h, "segmentation_head.0.bias"), "shape", "four");
}

static void
test_header_errors (void)
{
  expect_edit_error ("nometa.safetensors", edit_no_meta, "no __metadata__");
  g_autofree char *newer = g_strdup_printf ("format version %d is newer",
                                            NS_MODEL_FORMAT_VERSION + 1);
  expect_edit_error ("version.safetensors", edit_version, newer);
  expect_edit_error ("arch.safetensors", edit_arch, "unknown architecture 'vgg16'");
  expect_edit_error ("classes.safetensors", edit_classes, "'classes'");
  expect_edit_error ("dtype.safetensors", edit_dtype,
                     "tensor segmentation_head.0.bias: dtype Q4 is not supported");
  expect_edit_error ("offsets.safetensors", edit_offsets,
                     "tensor segmentation_head.0.bias: data_offsets");
  expect_edit_error ("beyond.safetensors", edit_beyond, "truncated: tensor segmentation_head");
  expect_missing_error ("missing.safetensors", "decoder.blocks.2.conv2.1.running_var",
                        "tensor decoder.blocks.2.conv2.1.running_var is missing");
  expect_unexpected_error ("unexpected.safetensors",
                           "unexpected tensor segmentation_head.1.bias");
  expect_edit_error ("shape.safetensors", edit_bad_shape, "segmentation_head.0.bias");
  expect_edit_error ("modalities.safetensors", edit_modalities,
                     "tensor encoder.features.0.0.weight has shape [32,2,3,3], expected "
                     "[32,3,3,3]");
}


/* ---- issue 13: what the loader refuses before reading ------------------------------------ */

static void
expect_not_a_file (const char *path, const char *fragment)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *base = g_path_get_basename (path);
  g_assert_null (ns_checkpoint_load (path, backend, &error));
  g_assert_error (error, NS_NET_ERROR, NS_NET_ERROR_CHECKPOINT);
  g_test_message ("%s", error->message);
  g_assert_nonnull (strstr (error->message, base));
  g_assert_nonnull (strstr (error->message, fragment));
  g_clear_error (&error);
  g_assert_null (ns_checkpoint_read_meta (path, &error));
  g_assert_error (error, NS_NET_ERROR, NS_NET_ERROR_CHECKPOINT);
}

/* A FIFO (which would block open() and read()), /dev/zero (endless), a folder and a link
 * to /dev/zero are refused at once; a link to a regular model file loads. */
static void
test_not_a_file (void)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *fifo = tmp_path ("fifo.safetensors");
  g_autofree char *dir = tmp_path ("folder.safetensors");
  g_autofree char *zero = tmp_path ("zero.safetensors");
  g_autofree char *link = tmp_path ("link.safetensors");

  ensure_good_file ();
  g_assert_cmpint (mkfifo (fifo, 0600), ==, 0);
  expect_not_a_file (fifo, "a FIFO");
  g_assert_cmpint (g_mkdir (dir, 0700), ==, 0);
  expect_not_a_file (dir, "a folder");
  expect_not_a_file ("/dev/zero", "a character device");
  g_assert_cmpint (symlink ("/dev/zero", zero), ==, 0);
  expect_not_a_file (zero, "a character device");
  g_assert_cmpint (symlink (good_path, link), ==, 0);
  g_autoptr (NsModel) m = ns_checkpoint_load (link, backend, &error);
  g_assert_no_error (error);
  g_assert_nonnull (m);
}

static long
peak_rss_kib (void)
{
  struct rusage ru;
  g_assert_cmpint (getrusage (RUSAGE_SELF, &ru), ==, 0);
  return ru.ru_maxrss;
}

/* 2 GB of junk after the data (a sparse file: cheap to make, zeros to read) is refused
 * from the header and the file size alone: the peak memory does not grow by the file. */
static void
test_junk_after_data (void)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *c = NULL;
  gsize len;
  g_autofree char *path = tmp_path ("junk.safetensors");

  ensure_good_file ();
  g_assert_true (g_file_get_contents (good_path, &c, &len, NULL));
  g_assert_true (g_file_set_contents (path, c, len, NULL));
  g_clear_pointer (&c, g_free);
  g_assert_cmpint (truncate (path, (off_t) len + ((off_t) 2 << 30)), ==, 0);

  long before = peak_rss_kib ();
  g_assert_null (ns_checkpoint_load (path, backend, &error));
  g_assert_error (error, NS_NET_ERROR, NS_NET_ERROR_CHECKPOINT);
  g_test_message ("%s", error->message);
  g_assert_nonnull (strstr (error->message, "junk.safetensors: 2147483648 bytes after the "
                                            "last tensor"));
  g_clear_error (&error);
  g_assert_null (ns_checkpoint_read_meta (path, &error));
  g_assert_nonnull (strstr (error->message, "after the last tensor"));
  long grown = peak_rss_kib () - before;
  g_test_message ("peak RSS grew by %ld KiB", grown);
  g_assert_cmpint (grown, <, 64 * 1024);
  g_unlink (path);

  /* one byte more is as wrong */
  g_assert_true (g_file_get_contents (good_path, &c, &len, NULL));
  c = g_realloc (c, len + 1);
  c[len] = '\n';
  g_assert_true (g_file_set_contents (path, c, len + 1, NULL));
  expect_error (path, "1 bytes after the last tensor");
}

/* The byte offset of element `index` of a tensor in a checkpoint file. */
static gsize
element_offset (const char *path, const char *tensor, gsize index)
{
  char *data;
  gsize data_len;
  JsonObject *h = read_header (path, &data, &data_len);
  g_autofree char *c = NULL;
  gsize len;
  g_assert_true (g_file_get_contents (path, &c, &len, NULL));
  JsonArray *a = json_object_get_array_member (json_object_get_object_member (h, tensor),
                                               "data_offsets");
  gsize off = len - data_len + (gsize) json_array_get_int_element (a, 0) + 4 * index;
  json_object_unref (h);
  g_free (data);
  return off;
}

static void
expect_value_error (const char *name, const char *tensor, gsize index, float value,
                    const char *fragment)
{
  g_autofree char *c = NULL;
  gsize len;
  g_autofree char *path = tmp_path (name);

  ensure_good_file ();
  g_assert_true (g_file_get_contents (good_path, &c, &len, NULL));
  memcpy (c + element_offset (good_path, tensor, index), &value, 4);
  g_assert_true (g_file_set_contents (path, c, len, NULL));
  expect_error (path, fragment);
}

/* A model that diverged (NaN, infinity) or a damaged variance is refused at load, naming
 * the tensor and the element: segment would otherwise write an empty mask. */
static void
test_not_finite (void)
{
  expect_value_error ("nan.safetensors", "decoder.blocks.1.conv1.0.weight", 17, NAN,
                      "tensor decoder.blocks.1.conv1.0.weight holds NaN at element 17");
  expect_value_error ("inf.safetensors", "segmentation_head.0.bias", 3, -INFINITY,
                      "tensor segmentation_head.0.bias holds infinity at element 3");
  expect_value_error ("var.safetensors", "encoder.features.3.conv.1.1.running_var", 2, -1.0f,
                      "tensor encoder.features.3.conv.1.1.running_var holds the negative "
                      "variance -1 at element 2");

  /* and in a half-precision file: an F16 overflow is infinity */
  g_autoptr (GError) error = NULL;
  g_autoptr (NsModel) m = random_model ("mobilenetv2-unet", 2, 5);
  int i = ns_model_find_tensor (m, "segmentation_head.0.bias");
  float big[4] = { 1, 2, 1e6f, 4 };
  ns_model_tensor_set (m, i, big);
  g_autofree char *path = tmp_path ("f16-overflow.safetensors");
  g_assert_true (ns_checkpoint_save (m, path, NS_DTYPE_F16, &error));
  g_assert_no_error (error);
  expect_error (path, "tensor segmentation_head.0.bias holds infinity at element 2");
}

static const char *classes_value;   /* the "classes" text edit_classes_text sets */

static void
edit_classes_text (JsonObject *h)
{
  json_object_set_string_member (md (h), "classes", classes_value);
}

static void
expect_classes_error (const char *text, const char *fragment)
{
  classes_value = text;
  expect_edit_error ("classes.safetensors", edit_classes_text, fragment);
}

static void
edit_normalisation (JsonObject *h)
{
  json_object_set_string_member (md (h), "normalisation", "min-max");
}

static void
edit_modality_number (JsonObject *h)
{
  json_object_set_string_member (md (h), "modalities", "[\"flair\", 2]");
}

static void
edit_modality_twice (JsonObject *h)
{
  json_object_set_string_member (md (h), "modalities", "[\"flair\", \"FLAIR\"]");
}

static void
edit_meta_not_string (JsonObject *h)
{
  json_object_set_int_member (md (h), "arch", 3);
}

static void
edit_provenance (JsonObject *h)
{
  json_object_set_string_member (md (h), "provenance", "{\"epochs\": \"many\"}");
}

/* Class metadata is type-checked: a value that is an object, a string, a boolean or a
 * fraction, duplicate values, a bad colour; an unknown normalisation; modalities that are
 * not distinct names.  Each is an error naming the file, never a Json-CRITICAL (the tests
 * run with fatal criticals) nor a value read as 0 or 1. */
static void
test_class_metadata (void)
{
  const char *k0 = "{\"value\": 0, \"name\": \"background\"}";
  g_autofree char *obj = g_strdup_printf ("[%s, {\"value\": {\"a\": 1}}]", k0);
  g_autofree char *str = g_strdup_printf ("[%s, {\"value\": \"4\"}]", k0);
  g_autofree char *boo = g_strdup_printf ("[%s, {\"value\": true}]", k0);
  g_autofree char *dbl = g_strdup_printf ("[%s, {\"value\": 2.5}]", k0);
  g_autofree char *big = g_strdup_printf ("[%s, {\"value\": 256}]", k0);
  g_autofree char *dup = g_strdup_printf ("[%s, {\"value\": 2}, {\"value\": 2}]", k0);
  g_autofree char *col = g_strdup_printf ("[%s, {\"value\": 1, \"colour\": \"red\"}]", k0);
  g_autofree char *nam = g_strdup_printf ("[%s, {\"value\": 1, \"name\": 7}]", k0);

  expect_classes_error (obj, "class 1: 'value' is an object, not a label value 0..255");
  expect_classes_error (str, "class 1: 'value' is a string");
  expect_classes_error (boo, "class 1: 'value' is a boolean");
  expect_classes_error (dbl, "class 1: 'value' is a fraction");
  expect_classes_error (big, "class 1: 'value' 256 is not a label value 0..255");
  expect_classes_error (dup, "classes 1 and 2 have the same label value 2");
  expect_classes_error (col, "colour 'red' is not #rrggbb");
  expect_classes_error (nam, "class 1: 'name' is an integer, not a string");
  expect_classes_error ("[1, 2]", "class 0 is an integer, not an object");
  expect_edit_error ("norm.safetensors", edit_normalisation,
                     "unknown normalisation 'min-max'");
  expect_edit_error ("modality.safetensors", edit_modality_number,
                     "modality 1 is an integer, not a name");
  expect_edit_error ("modality2.safetensors", edit_modality_twice, "listed twice");
  expect_edit_error ("archint.safetensors", edit_meta_not_string,
                     "'arch' is an integer, not a string");
  expect_edit_error ("prov.safetensors", edit_provenance,
                     "provenance 'epochs' is a string, not a count");

  /* the same rules for a model made in memory */
  g_autoptr (GError) error = NULL;
  g_autoptr (NsModelMeta) meta = ns_model_meta_new_default (NULL);
  meta->classes[3].value = 1;
  g_assert_null (ns_model_new (backend, meta, NULL, &error));
  g_assert_error (error, NS_NET_ERROR, NS_NET_ERROR_FAILED);
  g_assert_nonnull (strstr (error->message, "classes 1 and 3 have the same label value 1"));
}

static void
edit_regions_twice (JsonObject *h)
{
  json_object_set_string_member (md (h), "regions", "[2, 2, 4]");
}

static void
edit_regions_background (JsonObject *h)
{
  json_object_set_string_member (md (h), "regions", "[0, 1, 4]");
}

static void
edit_context_text (JsonObject *h)
{
  json_object_set_string_member (md (h), "context", "one");
}

static void
edit_postprocess_label (JsonObject *h)
{
  json_object_set_string_member (md (h), "postprocess",
                                 "{\"small_label\": 3, \"small_label_below\": 9, "
                                 "\"small_label_to\": 1}");
}

static const char *
header_version (const char *path)
{
  char *data;
  gsize len;
  JsonObject *h = read_header (path, &data, &len);
  static char version[16];
  g_strlcpy (version, json_object_get_string_member (md (h), "format_version"),
             sizeof version);
  json_object_unref (h);
  g_free (data);
  return version;
}

/* Region outputs, 2.5-D context, the clipped normalisation and post-processing: written,
 * read back, and version 2 only for models a version-1 reader would run wrongly; bad
 * values named. */
static void
test_quality_metadata (void)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (NsModelMeta) meta = ns_model_meta_new_default (NULL);
  ns_model_meta_set_brats_regions (meta);
  meta->context = 1;
  g_free (meta->normalisation);
  meta->normalisation = g_strdup ("zscore-brain-clip");
  meta->postprocess = (NsPostprocessParams) { 20, 4, 300, 1 };
  NsModelInit init = { NS_INIT_KAIMING, 0, 3 };
  g_autoptr (NsModel) m = ns_model_new (backend, meta, &init, &error);
  g_assert_no_error (error);
  int shape[4];
  ns_model_tensor_shape (m, ns_model_find_tensor (m, "encoder.features.0.0.weight"), shape);
  g_assert_cmpint (shape[1], ==, 6);   /* 2 modalities x 3 slices */
  ns_model_tensor_shape (m, ns_model_find_tensor (m, "segmentation_head.0.weight"), shape);
  g_assert_cmpint (shape[0], ==, 3);   /* WT, TC, ET */

  g_autofree char *path = tmp_path ("regions.safetensors");
  g_assert_true (ns_checkpoint_save (m, path, NS_DTYPE_F32, &error));
  g_assert_no_error (error);
  g_assert_cmpstr (header_version (path), ==, "2");
  g_autoptr (NsModelMeta) back = ns_checkpoint_read_meta (path, &error);
  g_assert_no_error (error);
  g_assert_cmpint (back->n_regions, ==, 3);
  g_assert_cmpint (back->regions[0], ==, 2);
  g_assert_cmpint (back->regions[1], ==, 1);
  g_assert_cmpint (back->regions[2], ==, 4);
  g_assert_cmpint (back->context, ==, 1);
  g_assert_cmpstr (back->normalisation, ==, "zscore-brain-clip");
  g_assert_cmpint (back->postprocess.min_component_voxels, ==, 20);
  g_assert_cmpint (back->postprocess.small_label, ==, 4);
  g_assert_cmpint (back->postprocess.small_label_below, ==, 300);
  g_assert_cmpint (back->postprocess.small_label_to, ==, 1);
  g_assert_cmpint (ns_model_meta_region_depth (back, 0), ==, 0);
  g_assert_cmpint (ns_model_meta_region_depth (back, 1), ==, 2);   /* NCR/NET: WT, TC */
  g_assert_cmpint (ns_model_meta_region_depth (back, 2), ==, 1);   /* edema: WT */
  g_assert_cmpint (ns_model_meta_region_depth (back, 3), ==, 3);   /* enhancing: all */
  g_autoptr (NsModel) m2 = ns_checkpoint_load (path, backend, &error);
  g_assert_no_error (error);
  compare_models (m, m2, NS_DTYPE_F32);

  /* a model of the first kind stays readable by version-1 readers */
  g_autoptr (NsModel) plain = random_model ("mobilenetv2-unet", 2, 4);
  g_autofree char *ppath = tmp_path ("plain.safetensors");
  g_assert_true (ns_checkpoint_save (plain, ppath, NS_DTYPE_F32, &error));
  g_assert_cmpstr (header_version (ppath), ==, "1");

  expect_edit_error ("regions2.safetensors", edit_regions_twice, "label 2 is in the regions twice");
  expect_edit_error ("regions0.safetensors", edit_regions_background,
                     "region 0 adds the background class");
  expect_edit_error ("context.safetensors", edit_context_text,
                     "'context' is 'one', not a count of slices");
  expect_edit_error ("post.safetensors", edit_postprocess_label,
                     "post-processing relabels 3 as 1");
}

/* PyTorch writes num_batches_tracked as I64 scalars: they are in the data and tiled like
 * any tensor, and ignored. */
static void
test_pytorch_extras (void)
{
  char *data;
  gsize data_len;
  g_autoptr (GError) error = NULL;

  ensure_good_file ();
  JsonObject *h = read_header (good_path, &data, &data_len);
  JsonObject *t = json_object_new ();
  JsonArray *shape = json_array_new (), *offsets = json_array_new ();
  json_array_add_int_element (offsets, (gint64) data_len);
  json_array_add_int_element (offsets, (gint64) data_len + 8);
  json_object_set_string_member (t, "dtype", "I64");
  json_object_set_array_member (t, "shape", shape);
  json_object_set_array_member (t, "data_offsets", offsets);
  json_object_set_object_member (h, "encoder.features.0.1.num_batches_tracked", t);
  data = g_realloc (data, data_len + 8);
  memset (data + data_len, 0, 8);
  g_autofree char *path = write_file ("pytorch.safetensors", h, data, data_len + 8);
  json_object_unref (h);
  g_free (data);
  g_autoptr (NsModel) m = ns_checkpoint_load (path, backend, &error);
  g_assert_no_error (error);
  g_assert_nonnull (m);
}

/* Saving goes through <path>.partial: a stale one (a killed save) is replaced and gone
 * afterwards; a link planted there is not followed (its target stays as it was) and the
 * save fails without touching the file it would replace. */
static void
test_atomic_save (void)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (NsModel) m = random_model ("mobilenetv2-unet", 2, 3);
  g_autofree char *path = tmp_path ("atomic.safetensors");
  g_autofree char *partial = g_strconcat (path, ".partial", NULL);
  g_autofree char *victim = tmp_path ("victim.txt");

  g_assert_true (g_file_set_contents (partial, "half a model", -1, NULL));
  g_assert_true (ns_checkpoint_save (m, path, NS_DTYPE_F32, &error));
  g_assert_no_error (error);
  g_assert_false (g_file_test (partial, G_FILE_TEST_EXISTS));
  g_autoptr (NsModel) back = ns_checkpoint_load (path, backend, &error);
  g_assert_no_error (error);
  compare_models (m, back, NS_DTYPE_F32);

  g_autofree char *before = NULL;
  gsize before_len;
  g_assert_true (g_file_get_contents (path, &before, &before_len, NULL));
  g_assert_true (g_file_set_contents (victim, "keep me", -1, NULL));
  g_assert_cmpint (symlink (victim, partial), ==, 0);
  g_autoptr (NsModel) other = random_model ("mobilenetv2-unet", 2, 4);
  g_assert_false (ns_checkpoint_save (other, path, NS_DTYPE_F32, &error));
  g_assert_error (error, NS_NET_ERROR, NS_NET_ERROR_FAILED);
  g_test_message ("%s", error->message);
  g_assert_nonnull (strstr (error->message, "atomic.safetensors"));
  g_autofree char *kept = NULL, *after = NULL;
  gsize after_len;
  g_assert_true (g_file_get_contents (victim, &kept, NULL, NULL));
  g_assert_cmpstr (kept, ==, "keep me");
  g_assert_true (g_file_get_contents (path, &after, &after_len, NULL));
  g_assert_cmpmem (after, after_len, before, before_len);
  g_unlink (partial);
}

static void
test_mismatch_into (void)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (NsModel) three = random_model ("mobilenetv2-unet", 3, 8);
  g_autoptr (NsModel) two = random_model ("mobilenetv2-unet", 2, 8);
  g_autoptr (NsModel) unet = random_model ("unet", 2, 8);
  g_autofree char *path = tmp_path ("three.safetensors");

  g_assert_true (ns_checkpoint_save (three, path, NS_DTYPE_F32, &error));
  g_assert_false (ns_checkpoint_load_into (two, path, &error));
  g_assert_error (error, NS_NET_ERROR, NS_NET_ERROR_CHECKPOINT);
  g_assert_cmpstr (error->message, ==,
                   "three.safetensors: tensor encoder.features.0.0.weight has shape "
                   "[32,3,3,3], expected [32,2,3,3]");
  g_clear_error (&error);
  g_assert_false (ns_checkpoint_load_into (unet, path, &error));
  g_assert_error (error, NS_NET_ERROR, NS_NET_ERROR_CHECKPOINT);
  g_assert_nonnull (strstr (error->message, "architecture mobilenetv2-unet, expected unet"));
}

int
main (int argc, char **argv)
{
  g_autoptr (GError) error = NULL;

  g_test_init (&argc, &argv, NULL);
  backend = ns_backend_new ("ref", &error);
  g_assert_no_error (error);

  g_test_add_data_func ("/net/checkpoint/round-trip/f32", GINT_TO_POINTER (NS_DTYPE_F32),
                        test_round_trip);
  g_test_add_data_func ("/net/checkpoint/round-trip/bf16", GINT_TO_POINTER (NS_DTYPE_BF16),
                        test_round_trip);
  g_test_add_data_func ("/net/checkpoint/round-trip/f16", GINT_TO_POINTER (NS_DTYPE_F16),
                        test_round_trip);
  g_test_add_func ("/net/checkpoint/round-trip/unet", test_unet_round_trip);
  g_test_add_func ("/net/checkpoint/half-conversions", test_half_conversions);
  g_test_add_func ("/net/checkpoint/truncated", test_truncated);
  g_test_add_func ("/net/checkpoint/garbage", test_garbage);
  g_test_add_func ("/net/checkpoint/header-errors", test_header_errors);
  g_test_add_func ("/net/checkpoint/mismatch-into", test_mismatch_into);
  g_test_add_func ("/net/checkpoint/not-a-file", test_not_a_file);
  g_test_add_func ("/net/checkpoint/junk-after-data", test_junk_after_data);
  g_test_add_func ("/net/checkpoint/not-finite", test_not_finite);
  g_test_add_func ("/net/checkpoint/class-metadata", test_class_metadata);
  g_test_add_func ("/net/checkpoint/quality-metadata", test_quality_metadata);
  g_test_add_func ("/net/checkpoint/pytorch-extras", test_pytorch_extras);
  g_test_add_func ("/net/checkpoint/atomic-save", test_atomic_save);
  int status = g_test_run ();
  ns_backend_free (backend);
  g_free (good_path);
  return status;
}
