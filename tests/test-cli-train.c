/* SPDX-License-Identifier: MIT
 *
 * test-cli-train.c: what `neuroseg train` refuses before it trains (the binary from
 * $NEUROSEG): numeric options that are not numbers, not finite or out of range are usage
 * errors naming the option and its range (they used to fall back to the default, so that
 * `--lr -5` trained at 1e-4); outputs that are an input of the run or that exist are
 * refused (the latter unless --force), while --resume may write the files of the run it
 * continues.  Each refusal leaves every file as it was.
 */
#include "ns-test-net.h"
#include "ns-test-util.h"

#include "ns-trainer.h"

#include <glib/gstdio.h>
#include <json-glib/json-glib.h>
#include <string.h>

static char *case_dir;

static void
assert_contains (const char *text, const char *what)
{
  if (strstr (text, what) == NULL)
    g_error ("\"%s\" not found in:\n%s", what, text);
}

/* train --data CASE ARGS... -o OUT (OUT NULL: no -o). */
static void
run_train (NsTestRun *run, const char *out, const char *const *args)
{
  g_autoptr (GPtrArray) all = g_ptr_array_new ();
  g_ptr_array_add (all, (gpointer) "train");
  g_ptr_array_add (all, (gpointer) "--data");
  g_ptr_array_add (all, case_dir);
  for (const char *const *a = (const char *[]) { "--crop", "32", "--batch", "1",
                                                 "--steps-per-epoch", "1", "--max-steps", "1",
                                                 "--device", "ref", "--quiet", NULL };
       *a != NULL; a++)
    g_ptr_array_add (all, (gpointer) *a);
  for (const char *const *a = args; *a != NULL; a++)
    g_ptr_array_add (all, (gpointer) *a);
  if (out != NULL)
    {
      g_ptr_array_add (all, (gpointer) "-o");
      g_ptr_array_add (all, (gpointer) out);
    }
  g_ptr_array_add (all, NULL);
  ns_test_run_neuroseg_strv (run, (const char *const *) all->pdata);
}

static void
assert_one_line (const char *text)
{
  g_assert_cmpint (strchr (text, '\n') - text, ==, (int) strlen (text) - 1);
}

static void
test_bad_numbers (void)
{
  g_autofree char *out = g_build_filename (ns_test_tmpdir (), "numbers.safetensors", NULL);
  static const struct
  {
    const char *option;
    const char *value;
    const char *range;
  } bad[] = {
    { "--lr", "-5", "a number greater than 0 and at most 1" },
    { "--lr", "nan", "a number greater than 0 and at most 1" },
    { "--lr", "inf", "a number greater than 0 and at most 1" },
    { "--lr", "0", "a number greater than 0 and at most 1" },
    { "--lr", "1e-4x", "a number greater than 0 and at most 1" },
    { "--weight-decay", "-0.1", "a number from 0 to 1" },
    { "--epochs", "-3", "a whole number from 1 to 100000" },
    { "--epochs", "2.5", "a whole number from 1 to 100000" },
    { "--batch", "0", "a whole number from 1 to 4096" },
    { "--batch", "5000", "a whole number from 1 to 4096" },
    { "--patience", "-1", "a whole number from 0 to 100000" },
    { "--seed", "-7", "a whole number from 0 to 2147483647" },
    { "--crop", "8", "a whole number from 16 to 4096" },
    { "--tumour-ratio", "-inf", "a number from 0 to 1000" },
    { "--max-steps", "0", "a whole number from 1 to 1000000000000000" },
    { "--steps-per-epoch", "-1", "a whole number from 1 to 2147483647" },
    { "--workers", "-2", "a whole number from 0 to 256" },
  };
  for (guint i = 0; i < G_N_ELEMENTS (bad); i++)
    {
      g_auto (NsTestRun) run = { 0 };
      run_train (&run, out, (const char *[]) { bad[i].option, bad[i].value, NULL });
      g_assert_cmpint (run.status, ==, 2);
      g_autofree char *want = g_strdup_printf ("neuroseg train: %s takes %s, not '%s'\n",
                                               bad[i].option, bad[i].range, bad[i].value);
      g_assert_cmpstr (run.err, ==, want);
    }
  g_assert_false (g_file_test (out, G_FILE_TEST_EXISTS));
}

/* --starts (the automatic predictions interactive training corrects) goes with
 * --interactive; a training case without its start is an error naming the file the
 * trainer looked for (tools/interact-cv.sh passes the folder of nested predictions). */
static void
test_starts (void)
{
  g_autofree char *out = g_build_filename (ns_test_tmpdir (), "starts.safetensors", NULL);
  g_autofree char *dir = g_build_filename (ns_test_tmpdir (), "no-starts", NULL);
  g_assert_cmpint (g_mkdir_with_parents (dir, 0755), ==, 0);
  {
    g_auto (NsTestRun) run = { 0 };
    run_train (&run, out, (const char *[]) { "--starts", dir, NULL });
    g_assert_cmpint (run.status, ==, 2);
    assert_contains (run.err, "--starts DIR goes with --interactive");
  }
  {
    g_autofree char *seg = ns_test_write_random_model ("starts-seg.safetensors", 3);
    g_auto (NsTestRun) run = { 0 };
    run_train (&run, out, (const char *[]) { "--interactive", "--init", seg, "--starts", dir,
                                             NULL });
    g_assert_cmpint (run.status, ==, 1);
    g_autofree char *base = g_path_get_basename (case_dir);
    g_autofree char *want = g_strdup_printf ("%s/%s.nii.gz: no start", dir, base);
    assert_contains (run.err, want);
  }
  g_assert_false (g_file_test (out, G_FILE_TEST_EXISTS));
}

/* The options the scripts in tools/ pass (train-default.sh, crossval.sh) are all accepted:
 * --schedule was once dropped from the option table, so every recipe stopped at "Unknown
 * option". */
static void
test_schedule (void)
{
  g_autofree char *out = g_build_filename (ns_test_tmpdir (), "schedule.safetensors", NULL);
  {
    g_auto (NsTestRun) run = { 0 };
    run_train (&run, out, (const char *[]) { "--schedule", "sometimes", NULL });
    g_assert_cmpint (run.status, ==, 2);
    assert_contains (run.err, "--schedule must be none, cosine or step");
    g_assert_false (g_file_test (out, G_FILE_TEST_EXISTS));
  }
  for (const char *const *s = (const char *[]) { "none", "cosine", "step", NULL }; *s; s++)
    {
      g_auto (NsTestRun) run = { 0 };
      run_train (&run, out, (const char *[]) { "--schedule", *s, "--force", NULL });
      if (run.status != 0)
        g_error ("--schedule %s: exit %d: %s", *s, run.status, run.err);
      g_assert_true (g_file_test (out, G_FILE_TEST_EXISTS));
    }
}

static GBytes *
file_bytes (const char *path)
{
  char *data = NULL;
  gsize n = 0;
  g_assert_true (g_file_get_contents (path, &data, &n, NULL));
  return g_bytes_new_take (data, n);
}

static void
test_outputs (void)
{
  g_autofree char *flair = g_build_filename (case_dir, "Case_flair.nii.gz", NULL);
  g_autofree char *out = g_build_filename (ns_test_tmpdir (), "mine.safetensors", NULL);
  g_autofree char *last = ns_trainer_last_path (out);
  g_autoptr (GBytes) flair_before = file_bytes (flair);

  /* onto the case's own FLAIR, with --force too */
  for (int force = 0; force < 2; force++)
    {
      g_auto (NsTestRun) run = { 0 };
      run_train (&run, flair, (const char *[]) { force ? "--force" : "--quiet", NULL });
      g_assert_cmpint (run.status, ==, 1);
      assert_contains (run.err, "Case_flair.nii.gz: is an input of this run");
      assert_one_line (run.err);
    }
  g_assert_true (g_bytes_equal (flair_before, file_bytes (flair)));

  /* an existing MODEL.last.safetensors (someone's earlier run) is not replaced */
  g_assert_true (g_file_set_contents (last, "an earlier run", -1, NULL));
  {
    g_auto (NsTestRun) run = { 0 };
    run_train (&run, out, (const char *[]) { NULL });
    g_assert_cmpint (run.status, ==, 1);
    assert_contains (run.err, "mine.last.safetensors: already exists (--force replaces it)");
    assert_one_line (run.err);
    g_assert_false (g_file_test (out, G_FILE_TEST_EXISTS));
  }
  /* the same as a JSON error event for --json-progress */
  {
    g_auto (NsTestRun) run = { 0 };
    run_train (&run, out, (const char *[]) { "--json-progress", NULL });
    g_assert_cmpint (run.status, ==, 1);
    g_autoptr (JsonNode) node = json_from_string (run.out, NULL);
    g_assert_nonnull (node);
    JsonObject *o = json_node_get_object (node);
    g_assert_cmpstr (json_object_get_string_member (o, "event"), ==, "error");
    assert_contains (json_object_get_string_member (o, "message"), "already exists");
  }
  g_autofree char *text = NULL;
  g_assert_true (g_file_get_contents (last, &text, NULL, NULL));
  g_assert_cmpstr (text, ==, "an earlier run");

  /* --force replaces it */
  {
    g_auto (NsTestRun) run = { 0 };
    run_train (&run, out, (const char *[]) { "--force", NULL });
    g_assert_cmpint (run.status, ==, 0);
    g_assert_true (g_file_test (out, G_FILE_TEST_IS_REGULAR));
  }

  /* --resume writes the files of the run it continues again... */
  {
    g_auto (NsTestRun) run = { 0 };
    ns_test_run_neuroseg (&run, "train", "--resume", last, "--max-steps", "2", "--quiet", NULL);
    g_assert_cmpint (run.status, ==, 0);
  }
  /* ...but not someone else's file given as its new output */
  g_autofree char *other = g_build_filename (ns_test_tmpdir (), "other.safetensors", NULL);
  g_assert_true (g_file_set_contents (other, "not a run's", -1, NULL));
  {
    g_auto (NsTestRun) run = { 0 };
    ns_test_run_neuroseg (&run, "train", "--resume", last, "--max-steps", "3", "-o", other,
                          "--quiet", NULL);
    g_assert_cmpint (run.status, ==, 1);
    assert_contains (run.err, "other.safetensors: already exists (--force replaces it)");
  }
  g_free (g_steal_pointer (&text));
  g_assert_true (g_file_get_contents (other, &text, NULL, NULL));
  g_assert_cmpstr (text, ==, "not a run's");
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  case_dir = ns_test_write_case ("Case", 40, 40, 4, TRUE);
  g_test_add_func ("/net/cli/train/bad-numbers", test_bad_numbers);
  g_test_add_func ("/net/cli/train/outputs", test_outputs);
  g_test_add_func ("/net/cli/train/schedule", test_schedule);
  g_test_add_func ("/net/cli/train/starts", test_starts);
  int status = g_test_run ();
  g_free (case_dir);
  return status;
}
