/* SPDX-License-Identifier: MIT
 *
 * test-net-checkpoint.c: safetensors round trips (F32 bit-exact, BF16 and F16 to their
 * rounding), metadata, and every kind of bad file giving a GError that names the file
 * and what is wrong: truncation, bad header length, bad JSON, missing metadata, newer
 * version, unknown dtype, offsets outside the data, missing and unexpected tensors,
 * shape mismatches.
 */
#define G_LOG_DOMAIN "ns-test"

#include "ns-checkpoint.h"
#include "ns-test-util.h"

#include <json-glib/json-glib.h>
#include <math.h>
#include <string.h>

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
  json_object_set_string_member (md (h), "format_version", "2");
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
  json_object_set_string_member (entry (h, "segmentation_head.0.bias"), "dtype", "I64");
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

static void
edit_missing (JsonObject *h)
{
  json_object_remove_member (h, "decoder.blocks.2.conv2.1.running_var");
}

static void
edit_unexpected (JsonObject *h)
{
  JsonObject *copy = json_object_ref (entry (h, "segmentation_head.0.bias"));
  json_object_set_object_member (h, "segmentation_head.1.bias", copy);
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
  expect_edit_error ("version.safetensors", edit_version, "format version 2 is newer");
  expect_edit_error ("arch.safetensors", edit_arch, "unknown architecture 'vgg16'");
  expect_edit_error ("classes.safetensors", edit_classes, "'classes'");
  expect_edit_error ("dtype.safetensors", edit_dtype,
                     "tensor segmentation_head.0.bias: dtype I64 is not supported");
  expect_edit_error ("offsets.safetensors", edit_offsets,
                     "tensor segmentation_head.0.bias: data_offsets");
  expect_edit_error ("beyond.safetensors", edit_beyond, "truncated: tensor segmentation_head");
  expect_edit_error ("missing.safetensors", edit_missing,
                     "tensor decoder.blocks.2.conv2.1.running_var is missing");
  expect_edit_error ("unexpected.safetensors", edit_unexpected,
                     "unexpected tensor segmentation_head.1.bias");
  expect_edit_error ("shape.safetensors", edit_bad_shape, "segmentation_head.0.bias");
  expect_edit_error ("modalities.safetensors", edit_modalities,
                     "tensor encoder.features.0.0.weight has shape [32,2,3,3], expected "
                     "[32,3,3,3]");
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
  int status = g_test_run ();
  ns_backend_free (backend);
  g_free (good_path);
  return status;
}
