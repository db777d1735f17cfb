/* SPDX-License-Identifier: MIT
 *
 * test-data-json.c: the JSON helpers of data/ns-json.h: NULL strings and non-finite
 * numbers written as null (the text stays JSON), members read only as the type asked for
 * (the tests make criticals fatal, so a Json-CRITICAL from a wrong getter would fail
 * them), string arrays with foreign elements left out, and objects parsed from text with
 * an error that says what the text was instead.
 */
#include "ns-data-error.h"
#include "ns-json.h"

#include <math.h>

static void
test_write (void)
{
  g_autoptr (JsonBuilder) b = json_builder_new ();
  char *cases[] = { "a", "b", NULL };

  json_builder_begin_object (b);
  ns_json_add_string (b, "s", "x");
  ns_json_add_string (b, "none", NULL);
  ns_json_add_int (b, "i", -7);
  ns_json_add_number (b, "d", 0.5);
  ns_json_add_number (b, "nan", NAN);
  ns_json_add_number (b, "inf", -INFINITY);
  ns_json_add_boolean (b, "t", TRUE);
  ns_json_add_null (b, "n");
  ns_json_add_int_or_null (b, "v", 3, TRUE);
  ns_json_add_int_or_null (b, "w", 3, FALSE);
  ns_json_add_strv (b, "cases", cases);
  ns_json_add_strv (b, "empty", NULL);
  json_builder_end_object (b);
  g_autofree char *text = ns_json_builder_dup_text (b);
  g_assert_cmpstr (text, ==, "{\"s\":\"x\",\"none\":null,\"i\":-7,\"d\":0.5,\"nan\":null,"
                             "\"inf\":null,\"t\":true,\"n\":null,\"v\":3,\"w\":null,\"cases\":[\"a\",\"b\"],"
                             "\"empty\":[]}");
  g_autoptr (JsonObject) back = ns_json_parse_object (text, -1, NULL);
  g_assert_nonnull (back);
}

static void
test_read (void)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (JsonObject) o = ns_json_parse_object (
    "{\"s\": \"text\", \"i\": 42, \"d\": 2.5, \"b\": true, \"o\": {\"k\": 1}, \"a\": [\"x\", 3, "
    "{}, \"y\", null], \"n\": null, \"big\": 1e400}", -1, &error);
  g_assert_no_error (error);

  g_assert_cmpstr (ns_json_get_string (o, "s"), ==, "text");
  g_autofree char *dup = ns_json_dup_string (o, "s");
  g_assert_cmpstr (dup, ==, "text");
  /* another type, or nothing: absent, without a Json-CRITICAL */
  for (const char *const *k = (const char *[]) { "i", "d", "b", "o", "a", "n", "missing", NULL };
       *k != NULL; k++)
    g_assert_null (ns_json_get_string (o, *k));

  gint64 i = 0;
  g_assert_true (ns_json_get_int (o, "i", &i));
  g_assert_cmpint (i, ==, 42);
  for (const char *const *k = (const char *[]) { "d", "s", "o", "n", "missing", NULL };
       *k != NULL; k++)
    g_assert_false (ns_json_get_int (o, *k, &i));
  g_assert_cmpint (i, ==, 42);

  g_assert_cmpfloat (ns_json_get_number (o, "i", -1), ==, 42.0);
  g_assert_cmpfloat (ns_json_get_number (o, "d", -1), ==, 2.5);
  for (const char *const *k = (const char *[]) { "s", "b", "o", "n", "missing", "big", NULL };
       *k != NULL; k++)
    g_assert_cmpfloat (ns_json_get_number (o, *k, -1), ==, -1);

  g_assert_nonnull (ns_json_get_object (o, "o"));
  g_assert_null (ns_json_get_object (o, "a"));
  g_assert_null (ns_json_get_object (o, "s"));

  g_auto (GStrv) v = ns_json_dup_strv (o, "a");
  g_assert_cmpuint (g_strv_length (v), ==, 2);
  g_assert_cmpstr (v[0], ==, "x");
  g_assert_cmpstr (v[1], ==, "y");
  g_assert_null (ns_json_dup_strv (o, "s"));

  g_assert_cmpstr (ns_json_node_type_name (json_object_get_member (o, "d")), ==, "a fraction");
  g_assert_cmpstr (ns_json_node_type_name (json_object_get_member (o, "o")), ==, "an object");
  g_assert_true (ns_json_node_holds (json_object_get_member (o, "b"), G_TYPE_BOOLEAN));
  g_assert_false (ns_json_node_holds (json_object_get_member (o, "o"), G_TYPE_BOOLEAN));
}

static void
test_parse_errors (void)
{
  static const char *const bad[][2] = {
    { "{\"a\": ", "not valid JSON (" },
    { "[1, 2]", "an array, not a JSON object" },
    { "\"text\"", "a string, not a JSON object" },
    { "", "" },
  };
  for (guint i = 0; i < G_N_ELEMENTS (bad); i++)
    {
      g_autoptr (GError) error = NULL;
      g_assert_null (ns_json_parse_object (bad[i][0], -1, &error));
      g_assert_error (error, NS_DATA_ERROR, NS_DATA_ERROR_CORRUPT);
      g_test_message ("%s", error->message);
      g_assert_true (g_str_has_prefix (error->message, bad[i][1]));
    }
  g_assert_null (ns_json_parse_object ("[]", -1, NULL));
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/data/json/write", test_write);
  g_test_add_func ("/data/json/read", test_read);
  g_test_add_func ("/data/json/parse-errors", test_parse_errors);
  return g_test_run ();
}
