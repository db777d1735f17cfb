/* SPDX-License-Identifier: MIT
 *
 * test-data-file.c: the check of a path about to be written (ns_file_check_output ()):
 * an input is refused under its own name, through a symbolic link and through a hard
 * link, with or without permission to replace; an existing file only with it; a new
 * file, a dangling link (only a name) with permission, and a new name always pass; a
 * folder or a FIFO never.
 */
#include "ns-test-util.h"

#include "ns-data-error.h"
#include "ns-file.h"

#include <glib/gstdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char *
make_file (const char *name)
{
  char *path = g_build_filename (ns_test_tmpdir (), name, NULL);
  g_assert_true (g_file_set_contents (path, "data", -1, NULL));
  return path;
}

static void
assert_refused (const char *path, const char *const *inputs, gboolean replace, int code,
                const char *what)
{
  g_autoptr (GError) error = NULL;
  g_assert_false (ns_file_check_output (path, inputs, replace, &error));
  g_assert_error (error, NS_DATA_ERROR, code);
  g_test_message ("%s", error->message);
  g_assert_true (g_str_has_prefix (error->message, path));
  g_assert_nonnull (strstr (error->message, what));
}

static void
test_inputs (void)
{
  g_autofree char *flair = make_file ("case_flair.nii.gz");
  g_autofree char *t1 = make_file ("case_t1.nii.gz");
  g_autofree char *soft = g_build_filename (ns_test_tmpdir (), "soft.nii.gz", NULL);
  g_autofree char *hard = g_build_filename (ns_test_tmpdir (), "hard.nii.gz", NULL);
  g_assert_cmpint (symlink (flair, soft), ==, 0);
  g_assert_cmpint (link (flair, hard), ==, 0);
  const char *inputs[] = { t1, "/no/such/input", flair, NULL };

  for (int replace = 0; replace < 2; replace++)
    {
      assert_refused (flair, inputs, replace, NS_DATA_ERROR_INVALID, "is an input of this run");
      assert_refused (soft, inputs, replace, NS_DATA_ERROR_INVALID, flair);
      assert_refused (hard, inputs, replace, NS_DATA_ERROR_INVALID, flair);
    }
  /* The input given through a link is the same file too. */
  const char *via_link[] = { soft, NULL };
  assert_refused (flair, via_link, TRUE, NS_DATA_ERROR_INVALID, soft);

  /* Nothing was touched. */
  g_autofree char *text = NULL;
  g_assert_true (g_file_get_contents (flair, &text, NULL, NULL));
  g_assert_cmpstr (text, ==, "data");
}

static void
test_existing (void)
{
  g_autofree char *old = make_file ("old-result.nii.gz");
  g_autofree char *fresh = g_build_filename (ns_test_tmpdir (), "new-result.nii.gz", NULL);
  g_autofree char *dangling = g_build_filename (ns_test_tmpdir (), "dangling.nii.gz", NULL);
  g_assert_cmpint (symlink ("/no/such/target.nii.gz", dangling), ==, 0);
  g_autoptr (GError) error = NULL;

  assert_refused (old, NULL, FALSE, NS_DATA_ERROR_REFUSED, "already exists");
  g_assert_true (ns_file_check_output (old, NULL, TRUE, &error));
  g_assert_no_error (error);
  g_assert_true (ns_file_check_output (fresh, NULL, FALSE, &error));
  g_assert_no_error (error);
  /* A dangling link is a name that exists: replaced only when allowed. */
  assert_refused (dangling, NULL, FALSE, NS_DATA_ERROR_REFUSED, "already exists");
  g_assert_true (ns_file_check_output (dangling, NULL, TRUE, &error));
  g_assert_no_error (error);
}

static void
test_not_files (void)
{
  g_autofree char *dir = g_build_filename (ns_test_tmpdir (), "a-folder", NULL);
  g_autofree char *fifo = g_build_filename (ns_test_tmpdir (), "a-fifo", NULL);
  g_assert_cmpint (g_mkdir (dir, 0755), ==, 0);
  g_assert_cmpint (mkfifo (fifo, 0644), ==, 0);

  assert_refused (dir, NULL, TRUE, NS_DATA_ERROR_INVALID, "a folder");
  assert_refused (fifo, NULL, TRUE, NS_DATA_ERROR_INVALID, "FIFO");
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/data/file/output-is-input", test_inputs);
  g_test_add_func ("/data/file/output-exists", test_existing);
  g_test_add_func ("/data/file/output-not-a-file", test_not_files);
  return g_test_run ();
}
