/* SPDX-License-Identifier: MIT
 *
 * test-cli-train-srun.c: `srun --mpi=pmix -n 2 neuroseg train` on a real single-node Slurm
 * cluster started by the test (ns-test-slurm.h; skipped, with the reason, only where
 * Slurm or munge is not installed or a daemon cannot start): the two tasks are the two
 * processes of one data-parallel run (MPI initialised from PMIx, no mpirun), with the
 * loss curve of one process with --shards 2 (issue 19; ns-trainer.h, "Data parallel");
 * and without an MPI plugin (--mpi=none) the two tasks refuse to train alone.
 */
#include "ns-test-slurm.h"
#include "ns-test-util.h"

#include <json-glib/json-glib.h>
#include <math.h>
#include <string.h>

/* The "step" losses of a --json-progress output, and its "done" event's processes. */
static GArray *
losses_of (const char *out, gint64 *processes)
{
  GArray *losses = g_array_new (FALSE, FALSE, sizeof (double));
  g_auto (GStrv) lines = g_strsplit (out, "\n", -1);

  *processes = 0;
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
          g_array_append_val (losses, loss);
        }
      else if (g_strcmp0 (ev, "done") == 0)
        *processes = json_object_get_int_member (o, "processes");
    }
  return losses;
}

static void
test_srun (void)
{
  g_autofree char *case_dir = ns_test_write_case ("Case", 40, 40, 6, TRUE);
  g_autofree char *one = g_build_filename (ns_test_tmpdir (), "one.safetensors", NULL);
  g_autofree char *two = g_build_filename (ns_test_tmpdir (), "two.safetensors", NULL);
  const char *neuroseg = g_getenv ("NEUROSEG");
  g_auto (NsTestRun) a = { 0 };
  g_auto (NsTestRun) b = { 0 };
  gint64 pa = 0, pb = 0;

  ns_test_slurm_start ();
  ns_test_run_argv (&a, (const char *[]) { neuroseg, "train", "--data", case_dir, "--crop",
                                           "32", "--batch", "4", "--shards", "2", "--device",
                                           "ref", "--max-steps", "2", "--steps-per-epoch", "2",
                                           "--json-progress", "-o", one, NULL });
  g_assert_cmpint (a.status, ==, 0);
  ns_test_run_argv (&b, (const char *[]) { "srun", "--mpi=pmix", "-n", "2", "--overcommit",
                                           neuroseg, "train", "--data", case_dir, "--crop", "32",
                                           "--batch", "4", "--device", "ref", "--max-steps", "2",
                                           "--steps-per-epoch", "2", "--json-progress", "-o",
                                           two, NULL });
  g_assert_cmpint (b.status, ==, 0);
  g_autoptr (GArray) la = losses_of (a.out, &pa);
  g_autoptr (GArray) lb = losses_of (b.out, &pb);
  g_assert_cmpint (pb, ==, 2);
  g_assert_cmpuint (la->len, ==, 2);
  g_assert_cmpuint (lb->len, ==, 2);
  for (guint i = 0; i < la->len; i++)
    {
      double x = g_array_index (la, double, i), y = g_array_index (lb, double, i);
      g_assert_cmpfloat (fabs (x - y), <=, 1e-5 * fabs (x));
    }
}

/* srun -n 2 without an MPI plugin: two unrelated tasks, which refuse before any work. */
static void
test_no_plugin (void)
{
  g_autofree char *case_dir = ns_test_write_case ("Case2", 40, 40, 6, TRUE);
  g_autofree char *out = g_build_filename (ns_test_tmpdir (), "none.safetensors", NULL);
  g_auto (NsTestRun) r = { 0 };

  ns_test_slurm_start ();
  ns_test_run_argv (&r, (const char *[]) { "srun", "--mpi=none", "-n", "2", "--overcommit",
                                           g_getenv ("NEUROSEG"), "train", "--data", case_dir,
                                           "--crop", "32", "--device", "ref", "--max-steps", "1",
                                           "-o", out, NULL });
  g_assert_cmpint (r.status, !=, 0);
  g_assert_nonnull (strstr (r.err, "srun started 2 tasks without an MPI plugin"));
  g_assert_false (g_file_test (out, G_FILE_TEST_EXISTS));
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/net/cli/train-srun/pmix", test_srun);
  g_test_add_func ("/net/cli/train-srun/no-plugin", test_no_plugin);
  return g_test_run ();
}
