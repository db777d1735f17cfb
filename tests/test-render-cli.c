/* SPDX-License-Identifier: MIT
 *
 * test-render-cli.c: `neuroseg render` as a user runs it: the PNG it writes (size,
 * orientation conventions), --help, one-line errors naming the file with exit 1 (exit 2
 * for bad usage, numeric options out of range included), and its output: never an input,
 * an existing file only with --force, a link at the output replaced and not followed.
 */
#define G_LOG_DOMAIN "ns-test"

#include "ns-render.h"
#include "ns-render-test-synth.h"
#include "ns-test-util.h"

#include <glib/gstdio.h>
#include <stdarg.h>
#include <string.h>
#include <unistd.h>

/* Runs neuroseg render with args (NULL-terminated); returns the exit status. */
static int
run_render (char **out, char **err, ...)
{
  g_auto (NsTestRun) run = { 0 };
  g_autoptr (GPtrArray) args = g_ptr_array_new ();
  va_list ap;

  g_ptr_array_add (args, (gpointer) "render");
  va_start (ap, err);
  for (const char *a = va_arg (ap, const char *); a != NULL; a = va_arg (ap, const char *))
    g_ptr_array_add (args, (gpointer) a);
  va_end (ap);
  g_ptr_array_add (args, NULL);
  ns_test_run_neuroseg_strv (&run, (const char *const *) args->pdata);
  if (out != NULL)
    *out = g_steal_pointer (&run.out);
  if (err != NULL)
    *err = g_steal_pointer (&run.err);
  return run.status;
}

static cairo_surface_t *
load_png (const char *path)
{
  cairo_surface_t *s = cairo_image_surface_create_from_png (path);
  g_assert_cmpint (cairo_surface_status (s), ==, CAIRO_STATUS_SUCCESS);
  return s;
}

/* One line on stderr that names what it must. */
static void
assert_one_line_naming (const char *err, const char *name)
{
  g_assert_nonnull (strstr (err, name));
  g_assert_true (g_str_has_suffix (err, "\n"));
  g_assert_true (strchr (err, '\n') == err + strlen (err) - 1);
}

static void
test_help (void)
{
  g_autofree char *out = NULL, *err = NULL;
  g_assert_cmpint (run_render (&out, &err, "--help", NULL), ==, 0);
  g_assert_nonnull (strstr (out, "--plane"));
  g_assert_nonnull (strstr (out, "--neurological"));
  g_assert_nonnull (strstr (out, "--labels"));
}

static void
test_bundled_case (void)
{
  g_autofree char *montage = g_build_filename (ns_test_tmpdir (), "montage.png", NULL);
  g_autofree char *axial = g_build_filename (ns_test_tmpdir (), "axial.png", NULL);
  g_autofree char *out = NULL, *err = NULL;
  cairo_surface_t *s;

  g_assert_cmpint (run_render (&out, &err, ns_test_sample_case (), "-o", montage, NULL), ==, 0);
  g_assert_cmpstr (err, ==, "");
  s = load_png (montage);
  g_assert_cmpint (cairo_image_surface_get_width (s), ==, 240 + 2 + 240 + 2 + 240);
  g_assert_cmpint (cairo_image_surface_get_height (s), ==, 240);
  cairo_surface_destroy (s);
  g_clear_pointer (&out, g_free);
  g_clear_pointer (&err, g_free);

  g_assert_cmpint (run_render (&out, &err, ns_test_sample_case (), "-o", axial, "--plane",
                               "axial", "--slice", "60", "--modality", "t1c", "--outline",
                               "--opacity", "1", "--window", "500", "--level", "250", NULL),
                   ==, 0);
  s = load_png (axial);
  g_assert_cmpint (cairo_image_surface_get_width (s), ==, 240);
  g_assert_cmpint (cairo_image_surface_get_height (s), ==, 240);
  cairo_surface_destroy (s);
}

/* A single NIfTI file (not a case) is drawn as is; neurological mirrors radiological
 * left-right in the axial plane (1 mm isotropic: an exact mirror). */
static void
test_single_file_conventions (void)
{
  g_autofree char *radio = g_build_filename (ns_test_tmpdir (), "radio.png", NULL);
  g_autofree char *neuro = g_build_filename (ns_test_tmpdir (), "neuro.png", NULL);
  const char *file = "/usr/share/mricron/templates/ch2bet.nii.gz";
  g_autofree char *out = NULL, *err = NULL;
  cairo_surface_t *a, *b;
  int w, h, diff = 0, asym = 0;

  g_assert_cmpint (run_render (&out, &err, file, "-o", radio, "--plane", "axial", NULL), ==, 0);
  g_clear_pointer (&out, g_free);
  g_clear_pointer (&err, g_free);
  g_assert_cmpint (run_render (&out, &err, file, "-o", neuro, "--plane", "axial",
                               "--neurological", NULL), ==, 0);
  a = load_png (radio);
  b = load_png (neuro);
  w = cairo_image_surface_get_width (a);
  h = cairo_image_surface_get_height (a);
  g_assert_cmpint (w, ==, 181);
  g_assert_cmpint (h, ==, 217);
  for (int y = 0; y < h; y++)
    for (int x = 0; x < w; x++)
      diff += synth_pixel (a, x, y) != synth_pixel (b, w - 1 - x, y);
  g_assert_cmpint (diff, ==, 0);
  /* and the picture is not symmetric, or this would prove nothing */
  for (int y = 0; y < h; y++)
    for (int x = 0; x < w; x++)
      asym += synth_pixel (a, x, y) != synth_pixel (a, w - 1 - x, y);
  g_assert_cmpint (asym, >, 100);
  cairo_surface_destroy (a);
  cairo_surface_destroy (b);
}

static void
test_errors (void)
{
  g_autofree char *png = g_build_filename (ns_test_tmpdir (), "x.png", NULL);
  g_autofree char *garbage = g_build_filename (ns_test_tmpdir (), "garbage.nii.gz", NULL);
  const char *aal = "/usr/share/mricron/templates/aal.nii.gz";
  char *out = NULL, *err = NULL;

  /* Missing case. */
  g_assert_cmpint (run_render (&out, &err, "/nonexistent/case", "-o", png, NULL), ==, 1);
  assert_one_line_naming (err, "/nonexistent/case");
  g_clear_pointer (&out, g_free);
  g_clear_pointer (&err, g_free);

  /* Not a NIfTI file. */
  g_assert_true (g_file_set_contents (garbage, "not a nifti file", -1, NULL));
  g_assert_cmpint (run_render (&out, &err, garbage, "-o", png, NULL), ==, 1);
  assert_one_line_naming (err, garbage);
  g_clear_pointer (&out, g_free);
  g_clear_pointer (&err, g_free);

  /* Labels on another grid. */
  g_assert_cmpint (run_render (&out, &err, ns_test_sample_case (), "-o", png, "--labels", aal,
                               NULL), ==, 1);
  assert_one_line_naming (err, aal);
  g_clear_pointer (&out, g_free);
  g_clear_pointer (&err, g_free);

  /* Output folder missing. */
  g_assert_cmpint (run_render (&out, &err, ns_test_sample_case (), "-o", "/nonexistent/o.png",
                               NULL), ==, 1);
  assert_one_line_naming (err, "/nonexistent/o.png");
  g_clear_pointer (&out, g_free);
  g_clear_pointer (&err, g_free);

  /* Slice out of range. */
  g_assert_cmpint (run_render (&out, &err, ns_test_sample_case (), "-o", png, "--plane",
                               "sagittal", "--slice", "240", NULL), ==, 1);
  assert_one_line_naming (err, "0..239");
  g_clear_pointer (&out, g_free);
  g_clear_pointer (&err, g_free);

  /* Bad usage: exit 2. */
  g_assert_cmpint (run_render (&out, &err, ns_test_sample_case (), "-o", png, "--opacity", "2",
                               NULL), ==, 2);
  g_clear_pointer (&out, g_free);
  g_clear_pointer (&err, g_free);
  g_assert_cmpint (run_render (&out, &err, ns_test_sample_case (), NULL), ==, 2);
  g_clear_pointer (&out, g_free);
  g_clear_pointer (&err, g_free);
  g_assert_cmpint (run_render (&out, &err, ns_test_sample_case (), "-o", png, "--plane", "oblique",
                               NULL), ==, 2);
  g_clear_pointer (&out, g_free);
  g_clear_pointer (&err, g_free);
  g_assert_false (g_file_test (png, G_FILE_TEST_EXISTS));
}

static char *
text_of (const char *path)
{
  char *text = NULL;
  g_assert_true (g_file_get_contents (path, &text, NULL, NULL));
  return text;
}

static void
test_outputs (void)
{
  g_autofree char *flair_src = g_build_filename (ns_test_sample_case (),
                                                 "Brats18_CBICA_ABM_1_flair.nii.gz", NULL);
  g_autofree char *seg_src = g_build_filename (ns_test_sample_case (),
                                               "Brats18_CBICA_ABM_1_seg.nii.gz", NULL);
  g_autofree char *flair = g_build_filename (ns_test_tmpdir (), "own_flair.nii.gz", NULL);
  g_autofree char *seg = g_build_filename (ns_test_tmpdir (), "own_seg.nii.gz", NULL);
  g_autofree char *png = g_build_filename (ns_test_tmpdir (), "kept.png", NULL);
  g_autofree char *link = g_build_filename (ns_test_tmpdir (), "link.png", NULL);
  g_autofree char *target = g_build_filename (ns_test_tmpdir (), "target.txt", NULL);
  g_autofree char *bytes = NULL;
  gsize n = 0;
  char *out = NULL, *err = NULL;

  /* Copies of the bundled files: a failing check must not cost the repository its case. */
  g_assert_true (g_file_get_contents (flair_src, &bytes, &n, NULL));
  g_assert_true (g_file_set_contents (flair, bytes, (gssize) n, NULL));
  g_clear_pointer (&bytes, g_free);
  g_assert_true (g_file_get_contents (seg_src, &bytes, &n, NULL));
  g_assert_true (g_file_set_contents (seg, bytes, (gssize) n, NULL));

  /* The image itself, or the labels, as the output: never, even with --force. */
  g_assert_cmpint (run_render (&out, &err, flair, "-o", flair, "--force", NULL), ==, 1);
  assert_one_line_naming (err, "own_flair.nii.gz: is an input of this run");
  g_clear_pointer (&out, g_free);
  g_clear_pointer (&err, g_free);
  g_assert_cmpint (run_render (&out, &err, flair, "--labels", seg, "-o", seg, "--force", NULL),
                   ==, 1);
  assert_one_line_naming (err, "own_seg.nii.gz: is an input of this run");
  g_clear_pointer (&out, g_free);
  g_clear_pointer (&err, g_free);
  g_autofree char *after = text_of (seg);
  g_assert_cmpmem (after, n, bytes, n);

  /* An existing PNG: kept without --force, replaced with it. */
  g_assert_true (g_file_set_contents (png, "an earlier figure", -1, NULL));
  g_assert_cmpint (run_render (&out, &err, flair, "-o", png, NULL), ==, 1);
  assert_one_line_naming (err, "kept.png: already exists (--force replaces it)");
  g_clear_pointer (&out, g_free);
  g_clear_pointer (&err, g_free);
  g_autofree char *kept = text_of (png);
  g_assert_cmpstr (kept, ==, "an earlier figure");
  g_assert_cmpint (run_render (&out, &err, flair, "-o", png, "--force", NULL), ==, 0);
  g_clear_pointer (&out, g_free);
  g_clear_pointer (&err, g_free);
  cairo_surface_destroy (load_png (png));

  /* A link at the output is replaced by the PNG; the file it led to stays as it was. */
  g_assert_true (g_file_set_contents (target, "someone's notes", -1, NULL));
  g_assert_cmpint (symlink (target, link), ==, 0);
  g_assert_cmpint (run_render (&out, &err, flair, "-o", link, "--force", NULL), ==, 0);
  g_clear_pointer (&out, g_free);
  g_clear_pointer (&err, g_free);
  g_autofree char *notes = text_of (target);
  g_assert_cmpstr (notes, ==, "someone's notes");
  g_assert_false (g_file_test (link, G_FILE_TEST_IS_SYMLINK));
  cairo_surface_destroy (load_png (link));
}

static void
test_bad_numbers (void)
{
  g_autofree char *png = g_build_filename (ns_test_tmpdir (), "numbers.png", NULL);
  static const char *const bad[][3] = {
    { "--window", "0", "--window takes a number greater than 0, not '0'" },
    { "--window", "nan", "--window takes a number greater than 0, not 'nan'" },
    { "--level", "inf", "--level takes a number, not 'inf'" },
    { "--level", "12x", "--level takes a number, not '12x'" },
    { "--opacity", "-0.1", "--opacity takes a number from 0 to 1, not '-0.1'" },
    { "--pixel-mm", "0", "--pixel-mm takes a number greater than 0 and at most 100, not '0'" },
    { "--pixel-mm", "101", "--pixel-mm takes a number greater than 0 and at most 100" },
    { "--slice", "-1", "--slice takes a whole number from 0 to 2147483647, not '-1'" },
  };
  for (guint i = 0; i < G_N_ELEMENTS (bad); i++)
    {
      g_autofree char *out = NULL, *err = NULL;
      g_assert_cmpint (run_render (&out, &err, ns_test_sample_case (), "-o", png, "--plane",
                                   "axial", bad[i][0], bad[i][1], NULL), ==, 2);
      assert_one_line_naming (err, bad[i][2]);
    }
  g_assert_false (g_file_test (png, G_FILE_TEST_EXISTS));
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/render/cli/help", test_help);
  g_test_add_func ("/render/cli/bundled-case", test_bundled_case);
  g_test_add_func ("/render/cli/single-file-conventions", test_single_file_conventions);
  g_test_add_func ("/render/cli/errors", test_errors);
  g_test_add_func ("/render/cli/outputs", test_outputs);
  g_test_add_func ("/render/cli/bad-numbers", test_bad_numbers);
  return g_test_run ();
}
