/* SPDX-License-Identifier: MIT
 *
 * test-cli-import.c: what `neuroseg import-encoder` and `neuroseg classify-imagenet` refuse
 * (the binary from $NEUROSEG, the real MobileNetV2 of ../shared; skipped without it):
 * numeric options out of range (exit 2, naming the option and the range; --top used to be
 * clamped without a word), an output that exists (unless --force) or that is the TFLite
 * file itself, through a link too (never).  Each refusal leaves the files as they were.
 */
#include "ns-test-util.h"

#include <string.h>
#include <unistd.h>

static char *tflite;

static void
assert_fails (int status, const char *what, ...)
{
  g_auto (NsTestRun) run = { 0 };
  va_list ap;

  va_start (ap, what);
  ns_test_run_neuroseg_valist (&run, ap, NULL);
  va_end (ap);
  g_assert_cmpint (run.status, ==, status);
  if (strstr (run.err, what) == NULL)
    g_error ("\"%s\" not found in:\n%s", what, run.err);
  g_assert_cmpint (strchr (run.err, '\n') - run.err, ==, (int) strlen (run.err) - 1);
}

static void
test_bad_numbers (void)
{
  g_autofree char *out = g_build_filename (ns_test_tmpdir (), "enc.safetensors", NULL);
  g_autofree char *photo = g_build_filename (ns_test_require_shared (), "models", "imagenet",
                                             "chelsea.png", NULL);

  assert_fails (2, "--in-channels takes a whole number from 1 to 64, not '0'",
                "import-encoder", tflite, "-o", out, "--in-channels", "0", NULL);
  assert_fails (2, "--seed takes a whole number from 0 to 2147483647, not '-1'",
                "import-encoder", tflite, "-o", out, "--seed", "-1", NULL);
  assert_fails (2, "--top takes a whole number from 1 to 10000, not '0'",
                "classify-imagenet", tflite, photo, "--top", "0", "--device", "ref", NULL);
  assert_fails (2, "--top is at most 1001",
                "classify-imagenet", tflite, photo, "--top", "2000", "--device", "ref", NULL);
  g_assert_false (g_file_test (out, G_FILE_TEST_EXISTS));
}

static void
test_outputs (void)
{
  g_autofree char *out = g_build_filename (ns_test_tmpdir (), "earlier.safetensors", NULL);
  g_autofree char *copy = g_build_filename (ns_test_tmpdir (), "copy.tflite", NULL);
  g_autofree char *link = g_build_filename (ns_test_tmpdir (), "link.tflite", NULL);
  g_autofree char *text = NULL;
  g_autofree char *bytes = NULL;
  gsize n = 0;

  g_assert_true (g_file_set_contents (out, "an earlier model", -1, NULL));
  assert_fails (1, "earlier.safetensors: already exists (--force replaces it)",
                "import-encoder", tflite, "-o", out, NULL);
  g_assert_true (g_file_get_contents (out, &text, NULL, NULL));
  g_assert_cmpstr (text, ==, "an earlier model");

  /* a copy: a check that failed must not cost ../shared its model */
  g_assert_true (g_file_get_contents (tflite, &bytes, &n, NULL));
  g_assert_true (g_file_set_contents (copy, bytes, (gssize) n, NULL));
  g_assert_cmpint (symlink (copy, link), ==, 0);
  assert_fails (1, "link.tflite: is an input of this run",
                "import-encoder", copy, "-o", link, "--force", NULL);
  assert_fails (1, "is an input of this run",
                "import-encoder", link, "-o", copy, "--force", NULL);
  g_assert_true (g_file_test (link, G_FILE_TEST_IS_SYMLINK));
  g_autofree char *after = NULL;
  gsize n_after = 0;
  g_assert_true (g_file_get_contents (copy, &after, &n_after, NULL));
  g_assert_cmpmem (after, n_after, bytes, n);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  tflite = g_build_filename (ns_test_require_shared (), "models", "imagenet",
                             "mobilenet_v2_1.0_224_quant.tflite", NULL);
  g_test_add_func ("/net/cli/import/bad-numbers", test_bad_numbers);
  g_test_add_func ("/net/cli/import/outputs", test_outputs);
  int status = g_test_run ();
  g_free (tflite);
  return status;
}
