/* SPDX-License-Identifier: MIT
 *
 * test-data-safetensors-header.c: the one reader of safetensors headers
 * (data/ns-safetensors-header.h) on files built here byte by byte: a good header with its
 * __metadata__, then each way a file can fail (too short, a length beyond the file or the
 * limit, JSON that is not an object, __metadata__ that is not an object), each one error
 * naming the file; and a FIFO, which the model card of the registry used to open with a
 * blocking read, refused at once by both.
 */
#include "ns-test-util.h"

#include "ns-data-error.h"
#include "ns-model-card.h"
#include "ns-safetensors-header.h"

#include <string.h>
#include <sys/stat.h>

/* The 8-byte length (claimed, or the text's when G_MAXUINT64) then text. */
static char *
write_file (const char *name, guint64 claimed, const char *text)
{
  gsize n = strlen (text);
  guint64 len = claimed == G_MAXUINT64 ? n : claimed;
  g_autofree guint8 *bytes = g_malloc (8 + n);
  for (int i = 0; i < 8; i++)
    bytes[i] = (guint8) (len >> (8 * i));
  memcpy (bytes + 8, text, n);
  char *path = g_build_filename (ns_test_tmpdir (), name, NULL);
  g_assert_true (g_file_set_contents (path, (const char *) bytes, (gssize) (8 + n), NULL));
  return path;
}

static void
test_good (void)
{
  g_autoptr (GError) error = NULL;
  const char *text = "{\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},"
                     "\"__metadata__\":{\"format\":\"neuroseg-model\",\"arch\":\"unet\"}}";
  g_autofree char *path = write_file ("good.safetensors", G_MAXUINT64, text);
  g_autoptr (NsSafetensorsHeader) h = ns_safetensors_header_read (path, "good", &error);
  g_assert_no_error (error);
  g_assert_cmpuint (h->data_start, ==, 8 + strlen (text));
  g_assert_cmpuint (h->size, ==, h->data_start);
  g_assert_true (json_object_has_member (h->header, "w"));
  g_assert_cmpstr (json_object_get_string_member (h->metadata, "arch"), ==, "unet");
  g_assert_cmpint (h->fd, >=, 0);

  g_autofree char *arch = NULL, *metrics = NULL;
  g_assert_true (ns_model_card_read (path, &arch, &metrics, &error));
  g_assert_no_error (error);
  g_assert_cmpstr (arch, ==, "unet");
  g_assert_cmpstr (metrics, ==, "{}");
}

static void
test_bad (void)
{
  static const struct
  {
    const char *name;
    guint64 claimed;
    const char *text;
    const char *what;
  } bad[] = {
    { "short.safetensors", 0, "", "truncated: shorter than the 8-byte header length" },
    { "beyond.safetensors", 99, "{}", "truncated: header of 99 bytes but the file has 10" },
    { "huge.safetensors", (guint64) 200 << 20, "{}", "not a safetensors file (header length" },
    { "array.safetensors", G_MAXUINT64, "[1,2]", "header is an array, not a JSON object" },
    { "broken.safetensors", G_MAXUINT64, "{\"a\":", "header is not valid JSON (" },
    { "meta.safetensors", G_MAXUINT64, "{\"__metadata__\":[1]}",
      "__metadata__ is not a JSON object" },
  };
  for (guint i = 0; i < G_N_ELEMENTS (bad); i++)
    {
      g_autoptr (GError) error = NULL;
      g_autofree char *path = NULL;
      if (bad[i].text[0] == '\0')
        {
          path = g_build_filename (ns_test_tmpdir (), bad[i].name, NULL);
          g_assert_true (g_file_set_contents (path, "abc", 3, NULL));
        }
      else
        path = write_file (bad[i].name, bad[i].claimed, bad[i].text);
      g_assert_null (ns_safetensors_header_read (path, NULL, &error));
      g_assert_error (error, NS_DATA_ERROR, NS_DATA_ERROR_CORRUPT);
      g_test_message ("%s", error->message);
      g_assert_true (g_str_has_prefix (error->message, path));
      g_assert_nonnull (strstr (error->message, bad[i].what));
    }
}

static void
test_fifo (void)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *fifo = g_build_filename (ns_test_tmpdir (), "fifo.safetensors", NULL);
  g_autofree char *arch = NULL, *metrics = NULL;
  g_assert_cmpint (mkfifo (fifo, 0644), ==, 0);

  g_assert_null (ns_safetensors_header_read (fifo, NULL, &error));
  g_assert_nonnull (strstr (error->message, "FIFO"));
  g_clear_error (&error);
  g_assert_false (ns_model_card_read (fifo, &arch, &metrics, &error));
  g_assert_nonnull (strstr (error->message, "FIFO"));
  g_assert_true (g_str_has_prefix (error->message, fifo));
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/data/safetensors-header/good", test_good);
  g_test_add_func ("/data/safetensors-header/bad", test_bad);
  g_test_add_func ("/data/safetensors-header/fifo", test_fifo);
  return g_test_run ();
}
