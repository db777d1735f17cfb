/* SPDX-License-Identifier: MIT
 *
 * test-cli-train-mpi.c: `neuroseg train` on several processes (issue 19; ns-trainer.h,
 * "Data parallel"; app/ns-mpi.h), with the binary from $NEUROSEG.
 *
 * - A plain `neuroseg train` does not initialise MPI (its "done" event says "mpi": false,
 *   one process), in every build.
 * - `mpirun -np 2` (oversubscribed: this machine may have fewer cores) of a batch of 4
 *   gives the loss curve of one process with --shards 2 (the same two shards of 2 slices,
 *   each with its own batch-norm statistics and soft Dice), step by step, and the same last
 *   checkpoint, with which `neuroseg segment` segments in one process.  The tolerance is
 *   1e-5 relative: the two runs make the same ops on the same data in the same order (the
 *   ref backend, one thread), the sum of the two shards' gradients is the same in both (a
 *   sum of two floats is commutative); what is left is the order of the double sums of the
 *   loss, far below it.  To show that the comparison can fail, the same batch in one shard
 *   (per-batch statistics over 4 slices) gives another curve, beyond the tolerance.
 * - --resume: the first half on 2 processes, the rest on 1 (the state records 2 shards)
 *   gives the curve and checkpoint of the uninterrupted run.
 * - Several srun tasks without an MPI plugin are refused (each would train alone).
 * - A failure of one process (a validation case that does not read: rank 0 alone loads
 *   the validation cases) stops both, reported once by the failing process.
 *
 * The mpirun tests exit 77 (skipped) only when `mpirun -np 2 true` cannot start here,
 * with mpirun's own message.
 */
#include "ns-test-util.h"

#include "ns-config.h"
#include "ns-checkpoint.h"
#include "ns-trainer.h"

#include <glib/gstdio.h>
#include <json-glib/json-glib.h>
#include <math.h>
#include <string.h>
#include <unistd.h>

#define TOLERANCE 1e-5

static char *case_a, *case_b;

static void
assert_contains (const char *text, const char *what)
{
  if (strstr (text, what) == NULL)
    g_error ("\"%s\" not found in:\n%s", what, text);
}

static int
count_of (const char *text, const char *what)
{
  int n = 0;
  for (const char *p = strstr (text, what); p != NULL; p = strstr (p + 1, what))
    n++;
  return n;
}

/* mpirun's own options: two processes on however few cores, as root too (the test
 * machines run as root); shared memory without CMA (refused in many containers). */
static GPtrArray *
mpirun_argv (int np)
{
  GPtrArray *a = g_ptr_array_new_with_free_func (g_free);
  g_ptr_array_add (a, g_strdup ("mpirun"));
  g_ptr_array_add (a, g_strdup ("-np"));
  g_ptr_array_add (a, g_strdup_printf ("%d", np));
  g_ptr_array_add (a, g_strdup ("--oversubscribe"));
  if (getuid () == 0)
    g_ptr_array_add (a, g_strdup ("--allow-run-as-root"));
  g_ptr_array_add (a, g_strdup ("--mca"));
  g_ptr_array_add (a, g_strdup ("btl_vader_single_copy_mechanism"));
  g_ptr_array_add (a, g_strdup ("none"));
  return a;
}

/* `neuroseg train` on np processes (0: plain, without mpirun) of the two cases, a batch
 * of 4 at 32 x 32 on the ref backend, --json-progress; args NULL-terminated. */
static void
run_train (NsTestRun *run, int np, const char *const *args)
{
  g_autoptr (GPtrArray) a = np > 0 ? mpirun_argv (np)
                                   : g_ptr_array_new_with_free_func (g_free);
  g_ptr_array_add (a, g_strdup (g_getenv ("NEUROSEG")));
  for (const char *const *s = (const char *[]) { "train", "--crop", "32", "--batch", "4",
                                                 "--device", "ref", "--seed", "5",
                                                 "--steps-per-epoch", "2",
                                                 "--json-progress", NULL };
       *s != NULL; s++)
    g_ptr_array_add (a, g_strdup (*s));
  for (const char *const *s = args; *s != NULL; s++)
    g_ptr_array_add (a, g_strdup (*s));
  g_ptr_array_add (a, NULL);
  ns_test_run_argv (run, (const char *const *) a->pdata);
}

/* The "step" events' losses (from step `first`, 1-based, on) and the one "done" event of a
 * --json-progress output. */
static GArray *
losses_of (const char *out, int first, JsonObject **done)
{
  GArray *losses = g_array_new (FALSE, FALSE, sizeof (double));
  g_auto (GStrv) lines = g_strsplit (out, "\n", -1);

  *done = NULL;
  for (char **l = lines; *l != NULL; l++)
    {
      if (**l != '{')
        continue;
      g_autoptr (JsonParser) p = json_parser_new ();
      g_assert_true (json_parser_load_from_data (p, *l, -1, NULL));
      JsonObject *o = json_node_get_object (json_parser_get_root (p));
      const char *ev = json_object_get_string_member (o, "event");
      if (g_strcmp0 (ev, "step") == 0)
        {
          double loss = json_object_get_double_member (o, "loss");
          g_assert_cmpint (json_object_get_int_member (o, "step"), ==, first + losses->len);
          g_array_append_val (losses, loss);
        }
      else if (g_strcmp0 (ev, "done") == 0)
        {
          g_assert_null (*done);
          *done = json_object_ref (o);
        }
    }
  g_assert_nonnull (*done);
  return losses;
}

/* The largest relative difference of two loss curves of the same length. */
static double
curve_difference (GArray *a, GArray *b, guint from_b)
{
  double worst = 0;
  g_assert_cmpuint (a->len, ==, b->len - from_b);
  for (guint i = 0; i < a->len; i++)
    {
      double x = g_array_index (a, double, i), y = g_array_index (b, double, i + from_b);
      g_assert_true (isfinite (x) && isfinite (y));
      worst = MAX (worst, fabs (x - y) / MAX (fabs (y), 1e-12));
    }
  return worst;
}

/* Every tensor of two checkpoints within TOLERANCE (relative to each tensor's RMS). */
static void
assert_same_model (const char *a, const char *b)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (NsBackend) be = ns_backend_new ("ref", &error);
  g_assert_no_error (error);
  g_autoptr (NsModel) ma = ns_checkpoint_load (a, be, &error);
  g_assert_no_error (error);
  g_autoptr (NsModel) mb = ns_checkpoint_load (b, be, &error);
  g_assert_no_error (error);
  g_assert_cmpint (ns_model_n_tensors (ma), ==, ns_model_n_tensors (mb));
  for (int i = 0; i < ns_model_n_tensors (ma); i++)
    {
      gsize n = ns_model_tensor_size (ma, i);
      g_assert_cmpuint (n, ==, ns_model_tensor_size (mb, i));
      g_autofree float *x = g_new (float, n);
      g_autofree double *y = g_new (double, n);
      g_autofree float *yf = g_new (float, n);
      ns_model_tensor_get (ma, i, x);
      ns_model_tensor_get (mb, i, yf);
      for (gsize e = 0; e < n; e++)
        y[e] = yf[e];
      if (!ns_check_tensor (ns_model_tensor_name (ma, i), x, y, n, TOLERANCE))
        g_error ("%s differs between %s and %s", ns_model_tensor_name (ma, i), a, b);
    }
}

static char *
tmp_path (const char *name)
{
  return g_build_filename (ns_test_tmpdir (), name, NULL);
}

static void
test_plain (void)
{
  g_autofree char *out = tmp_path ("plain.safetensors");
  g_auto (NsTestRun) run = { 0 };
  g_autoptr (JsonObject) done = NULL;

  run_train (&run, 0, (const char *[]) { "--data", case_a, "--max-steps", "1", "-o", out,
                                         NULL });
  g_assert_cmpint (run.status, ==, 0);
  g_autoptr (GArray) losses = losses_of (run.out, 1, &done);
  g_assert_cmpuint (losses->len, ==, 1);
  g_assert_false (json_object_get_boolean_member (done, "mpi"));
  g_assert_cmpint (json_object_get_int_member (done, "processes"), ==, 1);
  g_assert_cmpint (json_object_get_int_member (done, "shards"), ==, 1);
}

/* srun -n 3 without an MPI plugin starts three unrelated processes (no PMI variables):
 * each would train alone and write the same files, so each refuses, before any work. */
static void
test_srun_without_plugin (void)
{
  g_autofree char *out = tmp_path ("srun.safetensors");
  g_auto (NsTestRun) run = { 0 };

  g_setenv ("SLURM_STEP_NUM_TASKS", "3", TRUE);
  run_train (&run, 0, (const char *[]) { "--data", case_a, "--max-steps", "1", "-o", out,
                                         NULL });
  g_unsetenv ("SLURM_STEP_NUM_TASKS");
  g_assert_cmpint (run.status, ==, 1);
  assert_contains (run.err, "srun started 3 tasks without an MPI plugin");
  assert_contains (run.err, "srun --mpi=pmix");
  g_assert_false (g_file_test (out, G_FILE_TEST_EXISTS));
}

#if NS_HAVE_MPI

/* The loss curves of one process with --shards 2 and of mpirun -np 2 (its default: 2
 * shards) over 4 steps (2 epochs). */
static void
test_same_curve (void)
{
  g_autofree char *single = tmp_path ("single.safetensors");
  g_autofree char *multi = tmp_path ("mpi.safetensors");
  g_autofree char *whole = tmp_path ("whole.safetensors");
  g_auto (NsTestRun) a = { 0 };
  g_auto (NsTestRun) b = { 0 };
  g_auto (NsTestRun) c = { 0 };
  g_autoptr (JsonObject) done_a = NULL, done_b = NULL, done_c = NULL;

  run_train (&a, 0, (const char *[]) { "--data", case_a, "--data", case_b, "--shards", "2",
                                       "--max-steps", "4", "-o", single, NULL });
  g_assert_cmpint (a.status, ==, 0);
  run_train (&b, 2, (const char *[]) { "--data", case_a, "--data", case_b, "--max-steps",
                                       "4", "-o", multi, NULL });
  g_assert_cmpint (b.status, ==, 0);
  g_autoptr (GArray) la = losses_of (a.out, 1, &done_a);
  g_autoptr (GArray) lb = losses_of (b.out, 1, &done_b);
  g_assert_cmpuint (lb->len, ==, 4);
  /* rank 0 alone printed: one "done" (losses_of), two processes, MPI on */
  g_assert_cmpint (json_object_get_int_member (done_b, "processes"), ==, 2);
  g_assert_cmpint (json_object_get_int_member (done_b, "shards"), ==, 2);
  g_assert_true (json_object_get_boolean_member (done_b, "mpi"));
  double diff = curve_difference (lb, la, 0);
  g_test_message ("mpirun -np 2 vs one process, 2 shards: largest relative difference %g",
                  diff);
  g_assert_cmpfloat (diff, <=, TOLERANCE);
  g_autofree char *last_a = ns_trainer_last_path (single);
  g_autofree char *last_b = ns_trainer_last_path (multi);
  assert_same_model (last_b, last_a);

  /* the comparison sees the shards: the whole batch at once is another curve */
  run_train (&c, 0, (const char *[]) { "--data", case_a, "--data", case_b, "--shards", "1",
                                       "--max-steps", "4", "-o", whole, NULL });
  g_assert_cmpint (c.status, ==, 0);
  g_autoptr (GArray) lc = losses_of (c.out, 1, &done_c);
  double other = curve_difference (lc, la, 0);
  g_test_message ("one shard vs two: largest relative difference %g", other);
  g_assert_cmpfloat (other, >, 100 * TOLERANCE);

  /* the checkpoint of the processes is an ordinary one: one process segments with it */
  g_autofree char *seg = tmp_path ("mpi-seg.nii.gz");
  g_auto (NsTestRun) segment = { 0 };
  ns_test_run_neuroseg (&segment, "segment", "--device", "ref", "--model", multi, "-o", seg,
                        case_a, NULL);
  g_assert_cmpint (segment.status, ==, 0);
  g_assert_true (g_file_test (seg, G_FILE_TEST_IS_REGULAR));
}

/* 2 steps on 2 processes, then --resume to 4 steps on 1: the curve and model of the
 * uninterrupted run of 2 shards. */
static void
test_resume (void)
{
  g_autofree char *whole = tmp_path ("resume-whole.safetensors");
  g_autofree char *half = tmp_path ("resume-half.safetensors");
  g_autofree char *half_last = ns_trainer_last_path (half);
  g_auto (NsTestRun) a = { 0 };
  g_auto (NsTestRun) b = { 0 };
  g_auto (NsTestRun) c = { 0 };
  g_autoptr (JsonObject) done_a = NULL, done_c = NULL;

  run_train (&a, 0, (const char *[]) { "--data", case_a, "--data", case_b, "--shards", "2",
                                       "--max-steps", "4", "-o", whole, NULL });
  g_assert_cmpint (a.status, ==, 0);
  run_train (&b, 2, (const char *[]) { "--data", case_a, "--data", case_b, "--max-steps",
                                       "2", "-o", half, NULL });
  g_assert_cmpint (b.status, ==, 0);
  /* --resume takes the run's own options: no --seed, --batch ... again */
  g_autofree char *neuroseg = g_strdup (g_getenv ("NEUROSEG"));
  ns_test_run_argv (&c, (const char *[]) { neuroseg, "train", "--resume", half_last,
                                           "--max-steps", "4", "--device", "ref",
                                           "--json-progress", NULL });
  g_assert_cmpint (c.status, ==, 0);
  g_autoptr (GArray) la = losses_of (a.out, 1, &done_a);
  g_autoptr (GArray) lc = losses_of (c.out, 3, &done_c);
  g_assert_cmpint (json_object_get_int_member (done_c, "shards"), ==, 2);
  g_assert_cmpfloat (curve_difference (lc, la, 2), <=, TOLERANCE);
  g_autofree char *whole_last = ns_trainer_last_path (whole);
  assert_same_model (half_last, whole_last);
}

/* Rank 0 alone reads the validation cases: a bad one fails it while rank 1 waits for the
 * set-up's agreement; both stop, the error is printed once, by process 0. */
static void
test_failure (void)
{
  g_autofree char *bad = g_build_filename (ns_test_tmpdir (), "BadCase", NULL);
  g_autofree char *bad_flair = g_build_filename (bad, "BadCase_flair.nii.gz", NULL);
  g_autofree char *bad_t1ce = g_build_filename (bad, "BadCase_t1ce.nii.gz", NULL);
  g_autofree char *bad_seg = g_build_filename (bad, "BadCase_seg.nii.gz", NULL);
  g_autofree char *out = tmp_path ("failed.safetensors");
  g_auto (NsTestRun) run = { 0 };

  g_assert_cmpint (g_mkdir_with_parents (bad, 0755), ==, 0);
  for (const char *const *f = (const char *[]) { bad_flair, bad_t1ce, bad_seg, NULL }; *f; f++)
    g_assert_true (g_file_set_contents (*f, "not a NIfTI file", -1, NULL));
  run_train (&run, 2, (const char *[]) { "--data", case_a, "--val", bad, "--max-steps", "2",
                                         "-o", out, NULL });
  g_assert_cmpint (run.status, !=, 0);
  g_assert_cmpint (count_of (run.err, "neuroseg: process 0 of 2: "), ==, 1);
  g_assert_cmpint (count_of (run.err, "process 1 of 2"), ==, 0);
  assert_contains (run.err, "BadCase");
  /* the error event too, once */
  g_assert_cmpint (count_of (run.out, "\"event\":\"error\""), ==, 1);
  g_assert_false (g_file_test (out, G_FILE_TEST_EXISTS));
}

/* Whether mpirun can start two processes here; why not in *why. */
static gboolean
mpirun_works (char **why)
{
  g_autoptr (GPtrArray) a = mpirun_argv (2);
  g_auto (NsTestRun) run = { 0 };
  g_autofree char *path = g_find_program_in_path ("mpirun");

  if (path == NULL)
    {
      *why = g_strdup ("mpirun is not on PATH (Debian: openmpi-bin)");
      return FALSE;
    }
  g_ptr_array_add (a, g_strdup ("true"));
  g_ptr_array_add (a, NULL);
  ns_test_run_argv (&run, (const char *const *) a->pdata);
  if (run.status == 0)
    return TRUE;
  *why = g_strdup_printf ("mpirun -np 2 true failed (%d): %s", run.status, run.err);
  return FALSE;
}

#endif

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  case_a = ns_test_write_case ("CaseA", 40, 40, 6, TRUE);
  case_b = ns_test_write_case ("CaseB", 36, 44, 6, TRUE);
  g_test_add_func ("/net/cli/train-mpi/plain", test_plain);
  g_test_add_func ("/net/cli/train-mpi/srun-without-plugin", test_srun_without_plugin);
  g_autofree char *why = NULL;
#if NS_HAVE_MPI
  if (mpirun_works (&why))
    {
      g_test_add_func ("/net/cli/train-mpi/same-curve", test_same_curve);
      g_test_add_func ("/net/cli/train-mpi/resume", test_resume);
      g_test_add_func ("/net/cli/train-mpi/failure", test_failure);
    }
#endif
  int status = g_test_run ();
  g_free (case_a);
  g_free (case_b);
  /* the plain run passed, but the runs on several processes could not start */
  if (status == 0 && why != NULL)
    {
      g_printerr ("skipped: %s\n", why);
      return 77;
    }
  return status;
}
