/* SPDX-License-Identifier: MIT
 *
 * test-data-runs.c: training runs (data/ns-runs.h): a run's model registered in one
 * transaction that ends the run and marks its queued cases used, refusals that change
 * nothing, and a trainer that dies mid-run (its run marked failed on the next open, by pid
 * and process start time; registry and queue as they were).
 */
#include "ns-test-queue.h"
#include "ns-test-util.h"

#include "ns-data-error.h"
#include "ns-queue.h"
#include "ns-registry.h"
#include "ns-runs.h"

#include <signal.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static void
test_run_registers (void)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (NsDb) q = ns_test_open_fresh_db (NULL);
  gint64 cases[2] = { ns_test_queued_case (q, "RunA"), ns_test_queued_case (q, "RunB") };
  gint64 excluded = ns_test_queued_case (q, "RunC");
  g_assert_true (ns_queue_set_state (q, excluded, NS_QUEUE_STATE_EXCLUDED, 0, NULL, NULL,
                                     &error));
  g_autofree char *model = ns_test_fake_model ("trained");
  g_autoptr (GPtrArray) before = ns_registry_list_models (q, &error);
  g_assert_no_error (error);

  gint64 run = ns_runs_begin (q, "neuroseg train ...", "/tmp/log", cases, 2, 0, &error);
  g_assert_no_error (error);
  g_assert_cmpint (run, >, 0);
  /* A case that vanished meanwhile is excluded by hand before the end of training. */
  g_assert_true (ns_queue_set_state (q, cases[1], NS_QUEUE_STATE_EXCLUDED, 0, NULL, NULL,
                                     &error));

  /* A registration that fails (unknown parent) leaves run, queue and registry as they were. */
  NsRegistryModelInfo bad = { model, "unet", 9, NULL, run, NULL };
  g_assert_cmpint (ns_registry_register_model (q, &bad, &error), ==, 0);
  g_assert_error (error, NS_DATA_ERROR, NS_DATA_ERROR_NOT_FOUND);
  g_clear_error (&error);
  g_autoptr (NsRun) r0 = ns_runs_dup_run (q, run, &error);
  g_assert_cmpint (r0->status, ==, NS_RUN_RUNNING);
  g_assert_cmpuint (r0->cases->len, ==, 2);
  g_autoptr (GPtrArray) m0 = ns_registry_list_models (q, &error);
  g_assert_cmpuint (m0->len, ==, before->len);

  /* Fine-tuned from the shipped model (version 0). */
  NsRegistryModelInfo info = { model, "unet", NS_REGISTRY_SHIPPED, "{\"dice_wt\": 0.5}", run,
                               NULL };
  int v = ns_registry_register_model (q, &info, &error);
  g_assert_no_error (error);
  g_assert_cmpint (v, ==, 1);
  g_autoptr (NsRun) r = ns_runs_dup_run (q, run, &error);
  g_assert_cmpint (r->status, ==, NS_RUN_SUCCEEDED);
  g_assert_cmpint (r->model_version, ==, 1);
  g_assert_nonnull (r->finished);
  g_autoptr (NsQueueEntry) a = ns_queue_dup_entry (q, "RunA", &error);
  g_assert_cmpint (a->state, ==, NS_QUEUE_STATE_USED);
  g_assert_cmpint (a->used_by, ==, 1);
  g_autoptr (NsQueueEntry) b = ns_queue_dup_entry (q, "RunB", &error);
  g_assert_cmpint (b->state, ==, NS_QUEUE_STATE_EXCLUDED);
  g_autoptr (NsRegistryModel) m = ns_registry_dup_model (q, 1, &error);
  g_assert_cmpint (m->run_id, ==, run);
  g_assert_cmpint (m->parent, ==, NS_REGISTRY_SHIPPED);

  /* A finished run produces nothing more and cannot finish twice. */
  g_assert_cmpint (ns_registry_register_model (q, &info, &error), ==, 0);
  g_assert_error (error, NS_DATA_ERROR, NS_DATA_ERROR_INVALID);
  g_clear_error (&error);
  g_assert_false (ns_runs_finish (q, run, NS_RUN_CANCELLED, NULL, &error));
  g_assert_error (error, NS_DATA_ERROR, NS_DATA_ERROR_INVALID);
  g_clear_error (&error);

  /* Another run may reproduce the same file: still its own version. */
  gint64 run3 = ns_runs_begin (q, "neuroseg train again", NULL, NULL, 0, 0, &error);
  NsRegistryModelInfo same = { model, "unet", 1, NULL, run3, NULL };
  g_assert_cmpint (ns_registry_register_model (q, &same, &error), ==, 2);
  g_assert_no_error (error);

  gint64 run2 = ns_runs_begin (q, "neuroseg train", NULL, NULL, 0, 0, &error);
  g_assert_true (ns_runs_finish (q, run2, NS_RUN_CANCELLED, "stopped by user", &error));
  g_autoptr (NsRun) r2 = ns_runs_dup_run (q, run2, &error);
  g_assert_cmpint (r2->status, ==, NS_RUN_CANCELLED);
  g_assert_cmpstr (r2->error, ==, "stopped by user");
  g_assert_cmpstr (ns_runs_status_name (r2->status), ==, "cancelled");
}

static void
test_trainer_crash (void)
{
  g_autofree char *path = ns_test_fresh_location ("crash.db");
  g_autoptr (GError) error = NULL;
  gint64 case_row;
  g_autofree char *model = ns_test_fake_model ("half-written model");
  guint n_models;

  {
    g_autoptr (NsDb) q = ns_db_open (path, &error);
    case_row = ns_test_queued_case (q, "CrashCase");
    NsRegistryModelInfo v1 = { model, "unet", NS_REGISTRY_NONE, NULL, 0, NULL };
    g_assert_cmpint (ns_registry_register_model (q, &v1, &error), ==, 1);
    g_assert_true (ns_registry_promote (q, 1, TRUE, NULL, &error));
    g_assert_no_error (error);
    g_autoptr (GPtrArray) models = ns_registry_list_models (q, &error);
    n_models = models->len;
  }

  /* The trainer records its run, then dies before registering its model. */
  int p[2];
  g_assert_cmpint (pipe (p), ==, 0);
  pid_t pid = fork ();
  g_assert_cmpint (pid, >=, 0);
  if (pid == 0)
    {
      close (p[0]);
      NsDb *q = ns_db_open (path, NULL);
      gint64 run = q != NULL ? ns_runs_begin (q, "neuroseg train", NULL, &case_row, 1, 0, NULL)
                             : 0;
      if (write (p[1], &run, sizeof run) != sizeof run)
        _exit (3);
      for (;;)
        pause ();
    }
  close (p[1]);
  gint64 run = 0;
  g_assert_cmpint (read (p[0], &run, sizeof run), ==, sizeof run);
  close (p[0]);
  g_assert_cmpint (run, >, 0);

  /* While it lives, its run stays running for everyone else; our own run too. */
  {
    g_autoptr (NsDb) q = ns_db_open (path, &error);
    g_assert_no_error (error);
    g_autoptr (NsRun) r = ns_runs_dup_run (q, run, &error);
    g_assert_cmpint (r->status, ==, NS_RUN_RUNNING);
    g_assert_cmpint (r->pid, ==, pid);
    g_assert_cmpint (ns_runs_begin (q, "mine", NULL, NULL, 0, 0, &error), >, 0);
  }
  g_assert_cmpint (kill (pid, SIGKILL), ==, 0);
  int status;
  g_assert_cmpint (waitpid (pid, &status, 0), ==, pid);

  g_autoptr (NsDb) q = ns_db_open (path, &error);
  g_assert_no_error (error);
  g_autoptr (NsRun) r = ns_runs_dup_run (q, run, &error);
  g_assert_cmpint (r->status, ==, NS_RUN_FAILED);
  g_autofree char *why = g_strdup_printf ("process %d ended", pid);
  g_assert_nonnull (strstr (r->error, why));
  g_autoptr (GPtrArray) runs = ns_runs_list (q, &error);
  g_assert_cmpint (((NsRun *) runs->pdata[1])->status, ==, NS_RUN_RUNNING);
  /* Registry and queue as before the run. */
  g_autoptr (GPtrArray) models = ns_registry_list_models (q, &error);
  g_assert_cmpuint (models->len, ==, n_models);
  g_autofree char *def = ns_registry_dup_default_path (q, NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (def, ==, model);
  g_autoptr (NsQueueEntry) e = ns_queue_dup_entry (q, "CrashCase", &error);
  g_assert_cmpint (e->state, ==, NS_QUEUE_STATE_QUEUED);
  g_autoptr (GPtrArray) hist = ns_queue_list_history (q, case_row, &error);
  g_assert_cmpuint (hist->len, ==, 1);
  g_assert_cmpint (ns_runs_reap_stale (q, &error), ==, 0);

  /* Our own run is alive: it has our pid and our start time.  With another start time
   * recorded, the pid belongs to a process that reused it, and the run is stale. */
  gint64 mine = ((NsRun *) runs->pdata[1])->id;
  g_assert_cmpint (((NsRun *) runs->pdata[1])->pid, ==, getpid ());
  g_assert_cmpint (ns_test_sql_int (path, "SELECT count(*) FROM runs WHERE pid_start > 0"), ==, 2);
  ns_test_sql_exec (path, "UPDATE runs SET pid_start = pid_start + 1 WHERE status = 'running'");
  g_assert_cmpint (ns_runs_reap_stale (q, &error), ==, 1);
  g_assert_no_error (error);
  g_autoptr (NsRun) reused = ns_runs_dup_run (q, mine, &error);
  g_assert_cmpint (reused->status, ==, NS_RUN_FAILED);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  ns_test_db_init ();
  g_test_add_func ("/data/runs/run-registers", test_run_registers);
  g_test_add_func ("/data/runs/trainer-crash", test_trainer_crash);
  return g_test_run ();
}
