/* SPDX-License-Identifier: MIT
 *
 * test-cli-segment.c: `neuroseg segment` as a user runs it (the binary from $NEUROSEG):
 * the clear error while no model ships, a small synthetic case segmented with a random
 * model on the ref backend (label map on the case's grid, probability files, stage
 * times), bad models and options as one-line errors, a device memory limit that
 * moves the run to the CPU, a failing device whose note (not an out-of-memory sentence)
 * says why the run finished on the CPU, numeric options outside their ranges as usage
 * errors, and outputs that would write over an input or an existing file refused.
 */
#define G_LOG_DOMAIN "ns-test"

#include "ns-config.h"

#include "ns-checkpoint.h"
#include "ns-nifti.h"
#include "ns-test-net.h"
#include "ns-test-util.h"

#include <glib/gstdio.h>
#include <math.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static void
assert_contains (const char *text, const char *what)
{
  if (strstr (text, what) == NULL)
    g_error ("\"%s\" not found in:\n%s", what, text);
}

static char *case_dir;
static char *model_path;

/* A 64 x 48 x 6 case (FLAIR, T1c) with a blob of "brain" on slices 1..4. */
static void
make_case (void)
{
  case_dir = ns_test_write_case ("Synth_1", 64, 48, 6, FALSE);
  model_path = ns_test_write_random_model ("random.safetensors", 9);
}

static void
test_default_model (void)
{
  /* Without --model, the shipped default model (resources/models/default.safetensors). */
  g_auto (NsTestRun) run = { 0 };
  g_autofree char *out = g_build_filename (ns_test_tmpdir (), "default.nii.gz", NULL);
  ns_test_run_neuroseg (&run, "segment", "--device", "ref", "-o", out, case_dir, NULL);
  g_assert_cmpint (run.status, ==, 0);
  assert_contains (run.out, "default.safetensors (mobilenetv2-unet)");
  g_assert_true (g_file_test (out, G_FILE_TEST_IS_REGULAR));
}

static void
test_segment (void)
{
  g_auto (NsTestRun) run = { 0 };
  g_autoptr (GError) error = NULL;
  g_autofree char *out = g_build_filename (ns_test_tmpdir (), "seg.nii.gz", NULL);
  g_autofree char *prob = g_build_filename (ns_test_tmpdir (), "prob.nii.gz", NULL);

  ns_test_run_neuroseg (&run, "segment", "--device", "ref", "--model", model_path, "-p", prob, "-o",
                        out, case_dir, NULL);
  g_assert_cmpint (run.status, ==, 0);
  g_assert_cmpstr (run.err, ==, "");
  for (const char *const *w = (const char *const[]) { "normalise", "crop", "network",
                                                      "postprocess", "write", "total",
                                                      "4 of 6 with brain", NULL };
       *w != NULL; w++)
    assert_contains (run.out, *w);

  g_autoptr (NsVolume) labels = ns_nifti_read (out, &error);
  g_assert_no_error (error);
  g_autofree char *flair = g_build_filename (case_dir, "Synth_1_flair.nii.gz", NULL);
  g_autoptr (NsVolume) image = ns_nifti_read (flair, &error);
  g_assert_no_error (error);
  g_assert_true (ns_grid_equal (&labels->grid, &image->grid));
  gsize n = ns_volume_n_voxels (labels), tumour = 0;
  for (gsize v = 0; v < n; v++)
    {
      float l = ns_volume_get_value (labels, v);
      g_assert_true (l == 0 || l == 1 || l == 2 || l == 4);
      if (ns_volume_get_value (image, v) == 0.0f)
        g_assert_cmpfloat (l, ==, 0);
      tumour += l != 0;
    }
  g_test_message ("%" G_GSIZE_FORMAT " voxels labelled", tumour);

  static const char *const classes[] = { "background", "ncr-net", "edema", "enhancing" };
  for (int k = 0; k < 4; k++)
    {
      g_autofree char *name = g_strdup_printf ("prob-%s.nii.gz", classes[k]);
      g_autofree char *p = g_build_filename (ns_test_tmpdir (), name, NULL);
      g_autoptr (NsVolume) pv = ns_nifti_read (p, &error);
      g_assert_no_error (error);
      g_assert_true (ns_grid_equal (&pv->grid, &image->grid));
    }
}

static void
test_bad_inputs (void)
{
  g_autofree char *out = g_build_filename (ns_test_tmpdir (), "bad.nii.gz", NULL);
  g_autofree char *junk = g_build_filename (ns_test_tmpdir (), "junk.safetensors", NULL);
  g_assert_true (g_file_set_contents (junk, "\x10\0\0\0\0\0\0\0{\"a\":", 14, NULL));
  {
    g_auto (NsTestRun) run = { 0 };
    ns_test_run_neuroseg (&run, "segment", "--device", "ref", "--model", junk, "-o", out, case_dir,
                          NULL);
    g_assert_cmpint (run.status, ==, 1);
    assert_contains (run.err, "junk.safetensors");
    g_assert_cmpint (strchr (run.err, '\n') - run.err, ==, (int) strlen (run.err) - 1);
  }
  {
    g_auto (NsTestRun) run = { 0 };
    ns_test_run_neuroseg (&run, "segment", "--model", model_path, "--precision", "fp8", "-o", out,
                          case_dir, NULL);
    g_assert_cmpint (run.status, ==, 2);
    assert_contains (run.err, "fp8");
  }
  {
    g_auto (NsTestRun) run = { 0 };
    ns_test_run_neuroseg (&run, "segment", "--device", "tpu", "--model", model_path, "-o", out,
                          case_dir, NULL);
    g_assert_cmpint (run.status, ==, 1);
    assert_contains (run.err, "tpu");
  }
  {
    g_auto (NsTestRun) run = { 0 };
    g_autofree char *missing = g_build_filename (ns_test_tmpdir (), "no-such-case", NULL);
    ns_test_run_neuroseg (&run, "segment", "--device", "ref", "--model", model_path, "-o", out,
                          missing, NULL);
    g_assert_cmpint (run.status, ==, 1);
    assert_contains (run.err, "no-such-case");
  }
  g_assert_false (g_file_test (out, G_FILE_TEST_EXISTS));
}

/* --memory-limit: too little for the model is a clear error; room for the model but not
 * for one slice of the bundled case moves the run to the CPU with a message, and the
 * labels are those of a plain CPU run. */
static void
test_memory_limit (void)
{
#if !NS_HAVE_ONEDNN
  g_test_skip ("no oneDNN: the CPU fallback would be the ref backend (minutes)");
#else
  g_autoptr (GError) error = NULL;
  g_autofree char *sample = g_build_filename (NS_SOURCE_DIR, "resources", "samples",
                                              "Brats18_CBICA_ABM_1", NULL);
  g_autofree char *model = g_build_filename (NS_SOURCE_DIR, "resources", "models",
                                             "default.safetensors", NULL);
  g_autofree char *out = g_build_filename (ns_test_tmpdir (), "limited.nii.gz", NULL);
  g_autofree char *plain = g_build_filename (ns_test_tmpdir (), "plain.nii.gz", NULL);

  {
    g_auto (NsTestRun) run = { 0 };
    ns_test_run_neuroseg (&run, "segment", "--device", "ref", "--memory-limit", "1", "-o", out,
                          sample, NULL);
    g_assert_cmpint (run.status, ==, 1);
    assert_contains (run.err, "out of memory");
    g_assert_false (g_file_test (out, G_FILE_TEST_EXISTS));
  }

  /* What the model holds on the ref backend, to the next MiB, plus one MiB: less than the
   * first layers of one 160 x 192 slice need. */
  gsize used = ns_test_checkpoint_bytes (model);
  g_autofree char *limit = g_strdup_printf ("%" G_GSIZE_FORMAT, (used >> 20) + 2);
  {
    g_auto (NsTestRun) run = { 0 };
    ns_test_run_neuroseg (&run, "segment", "--device", "ref", "--memory-limit", limit, "-o", out,
                          sample, NULL);
    g_assert_cmpint (run.status, ==, 0);
    assert_contains (run.err, "neuroseg segment: ref ran out of memory even for one slice (");
    assert_contains (run.err, "), finishing on the CPU\n");
    assert_contains (run.out, "device       ref (oneDNN");
  }
  {
    g_auto (NsTestRun) run = { 0 };
    ns_test_run_neuroseg (&run, "segment", "--device", "cpu", "-o", plain, sample, NULL);
    g_assert_cmpint (run.status, ==, 0);
    g_assert_cmpstr (run.err, ==, "");
  }
  g_autoptr (NsVolume) a = ns_nifti_read (out, &error);
  g_assert_no_error (error);
  g_autoptr (NsVolume) b = ns_nifti_read (plain, &error);
  g_assert_no_error (error);
  gsize n = ns_volume_n_voxels (a);
  g_assert_cmpuint (n, ==, ns_volume_n_voxels (b));
  ns_test_assert_same_voxels (a, b);
#endif
}

/* The bytes of a file, to show that a refused run left it alone. */
static GBytes *
file_bytes (const char *path)
{
  g_autoptr (GError) error = NULL;
  char *data = NULL;
  gsize n = 0;
  g_assert_true (g_file_get_contents (path, &data, &n, &error));
  g_assert_no_error (error);
  return g_bytes_new_take (data, n);
}

/* segment with args fails with status and a one-line error holding what. */
static void
assert_segment_fails (const char *const *args, int status, const char *what)
{
  g_auto (NsTestRun) run = { 0 };
  g_autoptr (GPtrArray) all = g_ptr_array_new ();
  for (const char *const *a = (const char *[]) { "segment", "--device", "ref", "--model",
                                                 model_path, NULL };
       *a != NULL; a++)
    g_ptr_array_add (all, (gpointer) *a);
  for (const char *const *a = args; *a != NULL; a++)
    g_ptr_array_add (all, (gpointer) *a);
  g_ptr_array_add (all, NULL);
  ns_test_run_neuroseg_strv (&run, (const char *const *) all->pdata);
  g_assert_cmpint (run.status, ==, status);
  assert_contains (run.err, what);
  g_assert_cmpint (strchr (run.err, '\n') - run.err, ==, (int) strlen (run.err) - 1);
}

/* -o or -p onto a file of the case (by name, through a symbolic link, through a hard link)
 * or onto the model is refused, with or without --force, before the network runs; an
 * existing file is replaced only with --force. */
static void
test_never_overwrites (void)
{
  g_autofree char *flair = g_build_filename (case_dir, "Synth_1_flair.nii.gz", NULL);
  g_autofree char *t1ce = g_build_filename (case_dir, "Synth_1_t1ce.nii.gz", NULL);
  g_autofree char *soft = g_build_filename (ns_test_tmpdir (), "soft-t1ce.nii.gz", NULL);
  g_autofree char *prob = g_build_filename (ns_test_tmpdir (), "p.nii.gz", NULL);
  g_autofree char *prob_edema = g_build_filename (ns_test_tmpdir (), "p-edema.nii.gz", NULL);
  g_autofree char *out = g_build_filename (ns_test_tmpdir (), "guarded.nii.gz", NULL);
  g_autoptr (GBytes) flair_before = file_bytes (flair);
  g_autoptr (GBytes) t1ce_before = file_bytes (t1ce);
  g_autoptr (GBytes) model_before = file_bytes (model_path);

  g_assert_cmpint (symlink (t1ce, soft), ==, 0);
  g_assert_cmpint (link (flair, prob_edema), ==, 0);
  for (int force = 0; force < 2; force++)
    {
      const char *f = force ? "--force" : "-q";
      assert_segment_fails ((const char *[]) { f, "-o", flair, case_dir, NULL }, 1,
                            "is an input of this run");
      assert_segment_fails ((const char *[]) { f, "-o", soft, case_dir, NULL }, 1,
                            "Synth_1_t1ce.nii.gz); it is never written over");
      assert_segment_fails ((const char *[]) { f, "-o", out, "-p", prob, case_dir, NULL }, 1,
                            "p-edema.nii.gz: is an input of this run");
      assert_segment_fails ((const char *[]) { f, "-o", model_path, case_dir, NULL }, 1,
                            "random.safetensors: is an input of this run");
    }
  /* the same files given one by one */
  assert_segment_fails ((const char *[]) { "--force", "-o", t1ce, flair, t1ce, NULL }, 1,
                        "is an input of this run");
  g_assert_false (g_file_test (out, G_FILE_TEST_EXISTS));
  g_assert_true (g_bytes_equal (flair_before, file_bytes (flair)));
  g_assert_true (g_bytes_equal (t1ce_before, file_bytes (t1ce)));
  g_assert_true (g_bytes_equal (model_before, file_bytes (model_path)));
  g_assert_cmpint (g_unlink (prob_edema), ==, 0);

  /* An existing result: kept without --force, replaced with it. */
  g_assert_true (g_file_set_contents (out, "an earlier result", -1, NULL));
  assert_segment_fails ((const char *[]) { "-o", out, case_dir, NULL }, 1,
                        "guarded.nii.gz: already exists (--force replaces it)");
  g_autofree char *text = NULL;
  g_assert_true (g_file_get_contents (out, &text, NULL, NULL));
  g_assert_cmpstr (text, ==, "an earlier result");
  {
    g_auto (NsTestRun) run = { 0 };
    ns_test_run_neuroseg (&run, "segment", "--device", "ref", "--model", model_path, "-q",
                          "--force", "-o", out, case_dir, NULL);
    g_assert_cmpint (run.status, ==, 0);
    g_autoptr (GError) error = NULL;
    g_autoptr (NsVolume) labels = ns_nifti_read (out, &error);
    g_assert_no_error (error);
  }
}

/* Numbers that are not numbers, not whole, not finite or out of range: exit 2, naming the
 * option and what it takes (they used to fall back to the default without a word). */
static void
test_bad_numbers (void)
{
  g_autofree char *out = g_build_filename (ns_test_tmpdir (), "numbers.nii.gz", NULL);
  const char *bad[] = { "-5", "0", "nan", "inf", "1e3", "12MB", "", "99999999999", NULL };
  for (const char *const *b = bad; *b != NULL; b++)
    for (int limit = 0; limit < 2; limit++)
      {
        const char *option = limit ? "--memory-limit" : "--memory";
        g_autofree char *want = g_strdup_printf ("%s takes a whole number from 1 to 1048576, "
                                                 "not '%s'", option, *b);
        assert_segment_fails ((const char *[]) { option, *b, "-o", out, case_dir, NULL }, 2,
                              want);
      }
  g_assert_false (g_file_test (out, G_FILE_TEST_EXISTS));
}

/* A device whose ops fail (NS_TEST_REF_FAIL_AT) hands the case to the CPU: segment prints
 * the engine's note, which says the device failed and why, and still succeeds. */
static void
test_device_failure_note (void)
{
#if !NS_HAVE_ONEDNN
  g_test_skip ("no oneDNN: the CPU fallback would be the failing ref backend itself");
#else
  g_autofree char *out = g_build_filename (ns_test_tmpdir (), "failed-device.nii.gz", NULL);
  g_auto (NsTestRun) run = { 0 };
  g_setenv ("NS_TEST_REF_FAIL_AT", "5", TRUE);
  ns_test_run_neuroseg (&run, "segment", "--device", "ref", "--model", model_path, "-o", out,
                        case_dir, NULL);
  g_unsetenv ("NS_TEST_REF_FAIL_AT");
  g_assert_cmpint (run.status, ==, 0);
  assert_contains (run.err, "neuroseg segment: ref failed: ");
  assert_contains (run.err, "injected by NS_TEST_REF_FAIL_AT");
  assert_contains (run.err, ", finishing on the CPU\n");
  g_assert_null (strstr (run.err, "out of memory"));
  assert_contains (run.out, "device       ref (oneDNN");
  g_assert_true (g_file_test (out, G_FILE_TEST_IS_REGULAR));
#endif
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  make_case ();
  g_test_add_func ("/net/cli/segment/default-model", test_default_model);
  g_test_add_func ("/net/cli/segment/synthetic-case", test_segment);
  g_test_add_func ("/net/cli/segment/bad-inputs", test_bad_inputs);
  g_test_add_func ("/net/cli/segment/memory-limit", test_memory_limit);
  g_test_add_func ("/net/cli/segment/never-overwrites", test_never_overwrites);
  g_test_add_func ("/net/cli/segment/bad-numbers", test_bad_numbers);
  g_test_add_func ("/net/cli/segment/device-failure-note", test_device_failure_note);
  int status = g_test_run ();
  g_free (case_dir);
  g_free (model_path);
  return status;
}
