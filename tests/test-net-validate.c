/* SPDX-License-Identifier: MIT
 *
 * test-net-validate.c: validation figures (net/ns-validate.h) come only from a model file
 * that loads in full.  A small synthetic case with truth labels and a random model: the
 * file gives one figure per case, with Dice in [0, 1]; the same file with a NaN or an
 * infinity in one tensor (a model that diverged) gives an error naming the tensor and no
 * figure, and the progress callback is never called.
 */
#define G_LOG_DOMAIN "ns-test"

#include "ns-checkpoint.h"
#include "ns-test-net.h"
#include "ns-test-util.h"
#include "ns-validate.h"

#include <json-glib/json-glib.h>
#include <math.h>
#include <string.h>

static char *case_dir;
static char *model_path;

static void
count_cb (guint done, guint n_cases, const NsRegistryValidation *figures, gpointer user_data)
{
  (*(guint *) user_data)++;
}

static void
test_figures (void)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (NsBackend) be = ns_backend_new ("ref", &error);
  g_assert_no_error (error);
  const char *cases[] = { case_dir, NULL };
  guint calls = 0;

  g_autoptr (GPtrArray) figures = ns_validate_model_file (model_path, be, cases, NULL,
                                                          count_cb, &calls, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (figures->len, ==, 1);
  g_assert_cmpuint (calls, ==, 1);
  const NsRegistryValidation *v = figures->pdata[0];
  g_assert_cmpstr (v->case_id, ==, "Val_1");
  for (int r = 0; r < 3; r++)
    g_assert_true (v->dice[r] >= 0.0 && v->dice[r] <= 1.0);
  g_assert_cmpint (v->truth[0], >, 0);
}

/* A copy of the model with value at element 0 of tensor. */
static char *
damaged_copy (const char *name, const char *tensor, float value)
{
  g_autofree char *bytes = NULL;
  gsize n = 0;
  g_assert_true (g_file_get_contents (model_path, &bytes, &n, NULL));
  guint64 hlen = 0;
  for (int i = 7; i >= 0; i--)
    hlen = hlen << 8 | (guint8) bytes[i];
  g_autofree char *text = g_strndup (bytes + 8, hlen);
  g_autoptr (JsonNode) header = json_from_string (text, NULL);
  g_assert_nonnull (header);
  JsonObject *entry = json_object_get_object_member (json_node_get_object (header), tensor);
  JsonArray *offsets = json_object_get_array_member (entry, "data_offsets");
  gsize at = 8 + hlen + (gsize) json_array_get_int_element (offsets, 0);
  memcpy (bytes + at, &value, sizeof value);
  char *path = g_build_filename (ns_test_tmpdir (), name, NULL);
  g_assert_true (g_file_set_contents (path, bytes, (gssize) n, NULL));
  return path;
}

static void
test_not_finite (void)
{
  static const struct
  {
    const char *name;
    const char *tensor;
    float value;
    const char *what;
  } bad[] = {
    { "nan.safetensors", "segmentation_head.0.bias", NAN,
      "tensor segmentation_head.0.bias holds NaN at element 0" },
    { "inf.safetensors", "decoder.blocks.0.conv1.0.weight", INFINITY,
      "tensor decoder.blocks.0.conv1.0.weight holds infinity at element 0" },
  };
  const char *cases[] = { case_dir, NULL };

  for (guint i = 0; i < G_N_ELEMENTS (bad); i++)
    {
      g_autoptr (GError) error = NULL;
      g_autoptr (NsBackend) be = ns_backend_new ("ref", &error);
      g_assert_no_error (error);
      g_autofree char *path = damaged_copy (bad[i].name, bad[i].tensor, bad[i].value);
      guint calls = 0;
      g_autoptr (GPtrArray) figures = ns_validate_model_file (path, be, cases, NULL, count_cb,
                                                              &calls, &error);
      g_assert_null (figures);
      g_assert_nonnull (error);
      g_test_message ("%s", error->message);
      g_assert_true (g_str_has_prefix (error->message, bad[i].name));
      g_assert_nonnull (strstr (error->message, bad[i].what));
      g_assert_cmpuint (calls, ==, 0);
    }
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  case_dir = ns_test_write_case ("Val_1", 64, 48, 5, TRUE);
  model_path = ns_test_write_random_model ("val.safetensors", 5);
  g_test_add_func ("/net/validate/figures", test_figures);
  g_test_add_func ("/net/validate/not-finite", test_not_finite);
  int status = g_test_run ();
  g_free (case_dir);
  g_free (model_path);
  return status;
}
