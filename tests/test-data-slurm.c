/* SPDX-License-Identifier: MIT
 *
 * test-data-slurm.c: data/ns-slurm.h against a real single-node Slurm cluster that this
 * program starts (tests/ns-test-slurm.h), with the real trainer ($NEUROSEG):
 *
 *   /data/slurm/script        the batch script: #SBATCH lines of the description, one task
 *                             per node unless asked, the train command quoted for the
 *                             shell; a bad partition name or a relative folder is refused
 *   /data/slurm/no-sbatch     without sbatch on PATH: unavailable with the reason, and a
 *                             submission fails naming the job and sbatch
 *   /data/slurm/progress      the progress file read line by line as it grows; a partial
 *                             line waits; a missing file is empty; an unreadable one fails
 *   /data/slurm/train         a tiny training job in a folder with a space and quotes,
 *                             followed to COMPLETED; its progress ends with "done" and
 *                             its checkpoint loads
 *   /data/slurm/cancel        a job cancelled with scancel ends CANCELLED, said clearly
 *   /data/slurm/failed        a trainer that exits 3: FAILED, naming the job and its log
 *   /data/slurm/rejected      a partition the cluster does not have: sbatch's refusal
 *   /data/slurm/forgotten     a job slurmctld no longer knows (and no accounting): its
 *                             exit-status file decides; without one, an error naming it
 */
#define G_LOG_DOMAIN "test-data-slurm"

#include <glib/gstdio.h>
#include <string.h>

#include "ns-backend.h"
#include "ns-checkpoint.h"
#include "ns-model.h"
#include "ns-slurm.h"
#include "ns-test-slurm.h"
#include "ns-test-util.h"

/* A folder name no shell would forgive unquoted. */
#define AWKWARD "run o'ne \"two\" $HOME;x"

static void
fill_spec (NsSlurmJobSpec *spec, const char *name, const char *exe, const char *folder,
           const char *const *args)
{
  spec->name = g_strdup (name);
  spec->nodes = 1;
  spec->tasks_per_node = 1;
  spec->time_limit_min = 10;
  spec->neuroseg = g_strdup (exe);
  spec->folder = g_strdup (folder);
  spec->train_args = g_strdupv ((char **) args);
}

/* A stand-in trainer (a shell script) for the jobs that need no training. */
static char *
write_program (const char *name, const char *body)
{
  g_autofree char *path = g_build_filename (ns_test_tmpdir (), name, NULL);
  g_autofree char *text = g_strconcat ("#!/bin/sh\n", body, "\n", NULL);
  g_autoptr (GError) error = NULL;

  g_file_set_contents (path, text, -1, &error);
  g_assert_no_error (error);
  g_assert_cmpint (g_chmod (path, 0755), ==, 0);
  return g_steal_pointer (&path);
}

/* Polls until the job ends (at most limit_s). */
static NsSlurmState
wait_end (gint64 id, const char *folder, char **reason, int limit_s)
{
  gint64 end = g_get_monotonic_time () + (gint64) limit_s * G_USEC_PER_SEC;
  NsSlurmState state = NS_SLURM_PENDING;

  while (TRUE)
    {
      g_autoptr (GError) error = NULL;

      g_clear_pointer (reason, g_free);
      g_assert_true (ns_slurm_query (id, folder, &state, reason, &error));
      g_assert_no_error (error);
      if (ns_slurm_state_is_final (state))
        return state;
      g_assert_cmpint (g_get_monotonic_time (), <, end);
      g_usleep (300000);
    }
}

/* ---- script ---------------------------------------------------------------------------- */

static void
test_script (void)
{
  g_auto (NsSlurmJobSpec) spec = { 0 };
  g_autoptr (GError) error = NULL;
  g_autofree char *script = NULL, *quoted_folder = g_shell_quote ("/shared/" AWKWARD);
  const char *args[] = { "--data", "/shared/case one", "-o", "/shared/" AWKWARD "/m.st", NULL };
  g_autofree char *dir = NULL, *path = NULL, *out = NULL;
  int status = -1;

  fill_spec (&spec, "fine tune/x", "/opt/neuroseg dir/neuroseg", "/shared/" AWKWARD, args);
  spec.partition = g_strdup ("gpu");
  spec.gpus_per_node = 2;
  spec.time_limit_min = 90;
  spec.mem_mb = 8000;
  script = ns_slurm_generate_script (&spec, &error);
  g_assert_no_error (error);
  g_test_message ("%s", script);
  g_assert_true (g_str_has_prefix (script, "#!/bin/bash\n"));
  g_assert_nonnull (strstr (script, "#SBATCH --job-name=fine_tune_x\n"));
  g_assert_nonnull (strstr (script, "#SBATCH --partition=gpu\n"));
  g_assert_nonnull (strstr (script, "#SBATCH --nodes=1\n"));
  g_assert_nonnull (strstr (script, "#SBATCH --ntasks-per-node=1\n"));
  g_assert_nonnull (strstr (script, "#SBATCH --gpus-per-node=2\n"));
  g_assert_nonnull (strstr (script, "#SBATCH --time=1:30:00\n"));
  g_assert_nonnull (strstr (script, "#SBATCH --mem=8000M\n"));
  g_assert_nonnull (strstr (script, quoted_folder));
  g_assert_nonnull (strstr (script, "srun --kill-on-bad-exit=1 '/opt/neuroseg dir/neuroseg' "
                                    "train '--data' '/shared/case one' "));
  g_assert_nonnull (strstr (script, ">progress.jsonl 2>train.log\n"));
  /* the shell reads the command back as the same words: run it with srun replaced by a
   * function that prints its arguments one per line */
  dir = g_build_filename (ns_test_tmpdir (), "script", NULL);
  g_assert_cmpint (g_mkdir_with_parents (dir, 0755), ==, 0);
  path = g_build_filename (dir, "job.sh", NULL);
  {
    g_autofree char *tested = NULL;
    g_autofree char *cd = g_strdup_printf ("cd %s || exit 1\n", quoted_folder);
    g_autoptr (GString) s = g_string_new (script);

    /* the job's folder here instead of /shared, and srun shown instead of run */
    g_string_replace (s, cd, "", 1);
    g_string_replace (s, "#!/bin/bash\n", "#!/bin/bash\nsrun () { printf '%s\\n' \"$@\"; }\n", 1);
    tested = g_string_free (g_steal_pointer (&s), FALSE);
    g_file_set_contents (path, tested, -1, &error);
    g_assert_no_error (error);
  }
  {
    const char *argv[] = { "/bin/bash", path, NULL };
    g_autofree char *printed = g_build_filename (dir, "progress.jsonl", NULL);

    g_assert_true (g_spawn_sync (dir, (char **) argv, NULL, G_SPAWN_DEFAULT, NULL, NULL, NULL,
                                 NULL, &status, &error));
    g_assert_no_error (error);
    g_assert_true (g_file_get_contents (printed, &out, NULL, &error));
    g_assert_cmpstr (out, ==, "--kill-on-bad-exit=1\n/opt/neuroseg dir/neuroseg\ntrain\n"
                              "--data\n/shared/case one\n-o\n/shared/" AWKWARD "/m.st\n");
  }

  /* refused: a partition that would break the #SBATCH line; a relative folder */
  g_free (spec.partition);
  spec.partition = g_strdup ("gpu --uid=0");
  g_assert_null (ns_slurm_generate_script (&spec, &error));
  g_assert_error (error, NS_SLURM_ERROR, NS_SLURM_ERROR_INVALID);
  g_assert_nonnull (strstr (error->message, "fine_tune_x"));
  g_assert_nonnull (strstr (error->message, "partition"));
  g_clear_error (&error);
  g_clear_pointer (&spec.partition, g_free);
  g_free (spec.folder);
  spec.folder = g_strdup ("relative/run");
  g_assert_null (ns_slurm_generate_script (&spec, &error));
  g_assert_error (error, NS_SLURM_ERROR, NS_SLURM_ERROR_INVALID);
  g_assert_nonnull (strstr (error->message, "absolute"));
}

/* ---- no-sbatch ----------------------------------------------------------------------- */

static void
test_no_sbatch (void)
{
  g_auto (NsSlurmJobSpec) spec = { 0 };
  g_autoptr (GError) error = NULL;
  g_autofree char *old_path = g_strdup (g_getenv ("PATH"));
  g_autofree char *empty = g_build_filename (ns_test_tmpdir (), "empty-bin", NULL);
  g_autofree char *folder = g_build_filename (ns_test_tmpdir (), "no-sbatch", NULL);
  g_autofree char *reason = NULL;
  const char *args[] = { "--data", "/x", NULL };

  g_assert_cmpint (g_mkdir_with_parents (empty, 0755), ==, 0);
  g_setenv ("PATH", empty, TRUE);
  g_assert_false (ns_slurm_is_available (&reason));
  g_assert_nonnull (strstr (reason, "sbatch"));
  fill_spec (&spec, "nojob", "/usr/bin/true", folder, args);
  g_assert_cmpint (ns_slurm_submit (&spec, &error), ==, 0);
  g_setenv ("PATH", old_path, TRUE);
  g_assert_error (error, NS_SLURM_ERROR, NS_SLURM_ERROR_NOT_INSTALLED);
  g_assert_nonnull (strstr (error->message, "nojob"));
  g_assert_nonnull (strstr (error->message, "sbatch"));
}

/* ---- progress --------------------------------------------------------------------------- */

static void
test_progress (void)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *path = g_build_filename (ns_test_tmpdir (), "progress.jsonl", NULL);
  goffset offset = 0;
  g_auto (GStrv) none = NULL, first = NULL, second = NULL;
  FILE *f;

  none = ns_slurm_read_new_lines (path, &offset, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (g_strv_length (none), ==, 0);
  g_file_set_contents (path, "{\"event\":\"step\"}\n{\"event\":", -1, &error);
  g_assert_no_error (error);
  first = ns_slurm_read_new_lines (path, &offset, &error);
  g_assert_cmpuint (g_strv_length (first), ==, 1);
  g_assert_cmpstr (first[0], ==, "{\"event\":\"step\"}");
  f = fopen (path, "a");
  fputs ("\"done\"}\n", f);
  fclose (f);
  second = ns_slurm_read_new_lines (path, &offset, &error);
  g_assert_cmpuint (g_strv_length (second), ==, 1);
  g_assert_cmpstr (second[0], ==, "{\"event\":\"done\"}");
  /* replaced by a shorter file; then a folder in its place */
  g_file_set_contents (path, "x\n", -1, &error);
  g_assert_null (ns_slurm_read_new_lines (path, &offset, &error));
  g_assert_error (error, NS_SLURM_ERROR, NS_SLURM_ERROR_PROGRESS);
  g_clear_error (&error);
  g_assert_cmpint (g_unlink (path), ==, 0);
  g_assert_cmpint (g_mkdir (path, 0755), ==, 0);
  offset = 0;
  g_assert_null (ns_slurm_read_new_lines (path, &offset, &error));
  g_assert_error (error, NS_SLURM_ERROR, NS_SLURM_ERROR_PROGRESS);
  g_assert_nonnull (strstr (error->message, "progress.jsonl"));
}

/* ---- train ----------------------------------------------------------------------------- */

static void
test_train (void)
{
  g_auto (NsSlurmJobSpec) spec = { 0 };
  g_autoptr (GError) error = NULL;
  const char *exe = g_getenv ("NEUROSEG");
  g_autofree char *case_dir = ns_test_write_case ("Slurm_Case", 40, 40, 4, TRUE);
  g_autofree char *folder = g_build_filename (ns_test_tmpdir (), AWKWARD, NULL);
  g_autofree char *model = g_build_filename (folder, "model.safetensors", NULL);
  g_autofree char *progress = g_build_filename (folder, "progress.jsonl", NULL);
  g_autofree char *reason = NULL, *text = NULL;
  g_autoptr (NsBackend) backend = NULL;
  g_autoptr (NsModel) loaded = NULL;
  const char *args[] = { "--json-progress", "--data", case_dir, "--crop", "32", "--batch", "1",
                         "--steps-per-epoch", "1", "--max-steps", "2", "--epochs", "2",
                         "--device", "cpu", "-o", model, NULL };
  NsSlurmState state;
  gint64 id;

  g_assert_nonnull (exe);
  ns_test_slurm_start ();
  fill_spec (&spec, "tiny train", exe, folder, args);
  id = ns_slurm_submit (&spec, &error);
  g_assert_no_error (error);
  g_assert_cmpint (id, >, 0);
  state = wait_end (id, folder, &reason, 600);
  if (state != NS_SLURM_COMPLETED)
    {
      g_autofree char *log = g_build_filename (folder, "train.log", NULL);
      g_autofree char *log_text = NULL;

      g_file_get_contents (log, &log_text, NULL, NULL);
      g_error ("job %" G_GINT64_FORMAT " ended %s (%s): %s", id, ns_slurm_state_name (state),
               reason, log_text);
    }
  g_assert_true (ns_slurm_check_ended (id, spec.name, folder, state, reason, &error));
  g_assert_no_error (error);
  g_assert_true (g_file_get_contents (progress, &text, NULL, &error));
  g_assert_nonnull (strstr (text, "\"event\":\"step\""));
  g_assert_nonnull (strstr (text, "\"event\":\"done\""));
  backend = ns_backend_new ("ref", &error);
  g_assert_no_error (error);
  loaded = ns_checkpoint_load (model, backend, &error);
  g_assert_no_error (error);
  g_assert_nonnull (loaded);
}

/* ---- cancel ---------------------------------------------------------------------------- */

static void
test_cancel (void)
{
  g_auto (NsSlurmJobSpec) spec = { 0 };
  g_autoptr (GError) error = NULL;
  g_autofree char *exe = write_program ("slow-trainer",
                                        "echo '{\"event\":\"step\"}'; exec sleep 300");
  g_autofree char *folder = g_build_filename (ns_test_tmpdir (), "cancel me", NULL);
  g_autofree char *progress = g_build_filename (folder, "progress.jsonl", NULL);
  g_autofree char *reason = NULL;
  const char *args[] = { "--json-progress", NULL };
  gint64 end = g_get_monotonic_time () + 120 * G_USEC_PER_SEC;
  NsSlurmState state = NS_SLURM_PENDING;
  gint64 id;

  ns_test_slurm_start ();
  fill_spec (&spec, "to-cancel", exe, folder, args);
  id = ns_slurm_submit (&spec, &error);
  g_assert_no_error (error);
  /* running: its first event is in the progress file */
  while (!g_file_test (progress, G_FILE_TEST_EXISTS) || state != NS_SLURM_RUNNING)
    {
      g_clear_pointer (&reason, g_free);
      g_assert_true (ns_slurm_query (id, folder, &state, &reason, &error));
      g_assert_cmpint (g_get_monotonic_time (), <, end);
      g_usleep (200000);
    }
  g_assert_true (ns_slurm_cancel (id, &error));
  g_assert_no_error (error);
  state = wait_end (id, folder, &reason, 120);
  g_assert_cmpint (state, ==, NS_SLURM_CANCELLED);
  g_assert_false (ns_slurm_check_ended (id, spec.name, folder, state, reason, &error));
  g_assert_error (error, NS_SLURM_ERROR, NS_SLURM_ERROR_JOB_ENDED);
  g_test_message ("%s", error->message);
  g_assert_nonnull (strstr (error->message, "CANCELLED"));
  g_assert_nonnull (strstr (error->message, "to-cancel"));
  {
    g_autofree char *idtext = g_strdup_printf ("job %" G_GINT64_FORMAT " ", id);

    g_assert_nonnull (strstr (error->message, idtext));
  }
  /* a second scancel of an ended job is not an error in Slurm's eyes either */
  g_clear_error (&error);
}

/* ---- failed ---------------------------------------------------------------------------- */

static void
test_failed (void)
{
  g_auto (NsSlurmJobSpec) spec = { 0 };
  g_autoptr (GError) error = NULL;
  g_autofree char *exe = write_program ("bad-trainer", "echo 'no data' >&2; exit 3");
  g_autofree char *folder = g_build_filename (ns_test_tmpdir (), "fails", NULL);
  g_autofree char *log = g_build_filename (folder, "train.log", NULL);
  g_autofree char *reason = NULL;
  const char *args[] = { "--json-progress", NULL };
  NsSlurmState state;
  gint64 id;

  ns_test_slurm_start ();
  fill_spec (&spec, "to-fail", exe, folder, args);
  id = ns_slurm_submit (&spec, &error);
  g_assert_no_error (error);
  state = wait_end (id, folder, &reason, 120);
  g_assert_cmpint (state, ==, NS_SLURM_FAILED);
  g_assert_false (ns_slurm_check_ended (id, spec.name, folder, state, reason, &error));
  g_assert_error (error, NS_SLURM_ERROR, NS_SLURM_ERROR_JOB_ENDED);
  g_test_message ("%s", error->message);
  g_assert_nonnull (strstr (error->message, "FAILED"));
  g_assert_nonnull (strstr (error->message, "to-fail"));
  g_assert_nonnull (strstr (error->message, log));
}

/* ---- rejected -------------------------------------------------------------------------- */

static void
test_rejected (void)
{
  g_auto (NsSlurmJobSpec) spec = { 0 };
  g_autoptr (GError) error = NULL;
  g_autofree char *folder = g_build_filename (ns_test_tmpdir (), "rejected", NULL);
  const char *args[] = { "--json-progress", NULL };

  ns_test_slurm_start ();
  fill_spec (&spec, "to-reject", "/usr/bin/true", folder, args);
  spec.partition = g_strdup ("nosuchpartition");
  g_assert_cmpint (ns_slurm_submit (&spec, &error), ==, 0);
  g_assert_error (error, NS_SLURM_ERROR, NS_SLURM_ERROR_REJECTED);
  g_test_message ("%s", error->message);
  g_assert_nonnull (strstr (error->message, "to-reject"));
  g_assert_nonnull (strstr (error->message, "job.sh"));
  g_assert_nonnull (strstr (error->message, "partition"));
}

/* ---- forgotten ------------------------------------------------------------------------- */

static void
test_forgotten (void)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *folder = g_build_filename (ns_test_tmpdir (), "forgotten", NULL);
  g_autofree char *status = g_build_filename (folder, "exit-status", NULL);
  g_autofree char *reason = NULL;
  NsSlurmState state = NS_SLURM_PENDING;
  /* a job id this cluster never gave: scontrol says "Invalid job id", sacct has no
   * accounting, as for a job purged after MinJobAge */
  const gint64 id = 987654;

  ns_test_slurm_start ();
  g_assert_cmpint (g_mkdir_with_parents (folder, 0755), ==, 0);
  g_assert_false (ns_slurm_query (id, folder, &state, &reason, &error));
  g_assert_error (error, NS_SLURM_ERROR, NS_SLURM_ERROR_UNKNOWN_JOB);
  g_test_message ("%s", error->message);
  g_assert_nonnull (strstr (error->message, "987654"));
  g_assert_nonnull (strstr (error->message, folder));
  g_clear_error (&error);

  g_file_set_contents (status, "0\n", -1, &error);
  g_assert_no_error (error);
  g_assert_true (ns_slurm_query (id, folder, &state, &reason, &error));
  g_assert_no_error (error);
  g_assert_cmpint (state, ==, NS_SLURM_COMPLETED);
  g_file_set_contents (status, "2\n", -1, &error);
  g_assert_true (ns_slurm_query (id, folder, &state, &reason, &error));
  g_assert_cmpint (state, ==, NS_SLURM_FAILED);
  g_assert_nonnull (strstr (reason, "status 2"));
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/data/slurm/script", test_script);
  g_test_add_func ("/data/slurm/no-sbatch", test_no_sbatch);
  g_test_add_func ("/data/slurm/progress", test_progress);
  g_test_add_func ("/data/slurm/train", test_train);
  g_test_add_func ("/data/slurm/cancel", test_cancel);
  g_test_add_func ("/data/slurm/failed", test_failed);
  g_test_add_func ("/data/slurm/rejected", test_rejected);
  g_test_add_func ("/data/slurm/forgotten", test_forgotten);
  return g_test_run ();
}
