/* SPDX-License-Identifier: MIT
 *
 * ns-train-validation.c: the new model and the current default validated on the same
 * cases after a fine-tuning run (see ns-train-validation.h).
 */
#define G_LOG_DOMAIN "neuroseg-ui"

#include "ns-train-validation.h"

#include <string.h>

#include "ns-registry.h"

typedef struct
{
  char *exe;
  char *db_path;
  int version;              /* the new model */
  int current;              /* the default validated beside it, NS_REGISTRY_NONE: none */
  char **cases;
  char *device;
  NsTrainValidationFunc started;
  gpointer started_data;
} Job;

static void
job_free (Job *job)
{
  g_free (job->exe);
  g_free (job->db_path);
  g_strfreev (job->cases);
  g_free (job->device);
  g_free (job);
}

static void spawn_validation (GTask *task, int version);

/* The last non-empty line of text (owned; "" when none). */
static char *
last_line (const char *text)
{
  g_auto (GStrv) lines = g_strsplit (text != NULL ? text : "", "\n", -1);

  for (int i = (int) g_strv_length (lines) - 1; i >= 0; i--)
    if (*g_strstrip (lines[i]) != '\0')
      return g_strdup (lines[i]);
  return g_strdup ("");
}

/* The verdict of the gate on the new version, one line (owned), and whether the current
 * default lacks figures on some of the new version's cases. */
static char *
dup_verdict (Job *job, gboolean *current_missing, GError **error)
{
  g_autoptr (NsDb) db = ns_db_open (job->db_path, error);
  g_autoptr (NsRegistryComparison) c = NULL;

  if (db == NULL)
    return NULL;
  c = ns_registry_compare (db, job->version, error);
  if (c == NULL)
    return NULL;
  *current_missing = c->current != NS_REGISTRY_NONE && c->current != job->version
                     && c->n_common < c->rows->len;
  job->current = c->current;
  return g_strdup_printf ("v%d validated on %u case%s (score %.3f; the default v%d: %.3f): %s",
                          job->version, c->rows->len, c->rows->len == 1 ? "" : "s",
                          c->candidate_score, c->current, c->current_score,
                          c->reason != NULL ? c->reason : "");
}

static void
on_validated (GObject *source, GAsyncResult *res, gpointer data)
{
  g_autoptr (GTask) task = data;
  Job *job = g_task_get_task_data (task);
  GSubprocess *proc = G_SUBPROCESS (source);
  g_autofree char *out = NULL, *err = NULL;
  g_autoptr (GError) error = NULL;
  int version = GPOINTER_TO_INT (g_object_get_data (G_OBJECT (proc), "ns-version"));
  gboolean current_missing = FALSE;
  char *verdict;

  if (!g_subprocess_communicate_utf8_finish (proc, res, &out, &err, &error))
    {
      g_task_return_error (task, g_steal_pointer (&error));
      return;
    }
  if (!g_subprocess_get_if_exited (proc) || g_subprocess_get_exit_status (proc) != 0)
    {
      g_autofree char *why = last_line (err);

      g_task_return_new_error (task, G_IO_ERROR, G_IO_ERROR_FAILED,
                               "validating model version %d failed: %s", version,
                               *why != '\0' ? why : "the validator did not finish");
      return;
    }
  verdict = dup_verdict (job, &current_missing, &error);
  if (verdict == NULL)
    {
      g_task_return_error (task, g_steal_pointer (&error));
      return;
    }
  /* the new version first; then the default, once, where it has no figures */
  if (version == job->version && current_missing)
    {
      g_free (verdict);
      spawn_validation (g_steal_pointer (&task), job->current);
      return;
    }
  g_task_return_pointer (task, verdict, g_free);
}

static void
spawn_validation (GTask *task, int version)
{
  Job *job = g_task_get_task_data (task);
  g_autoptr (GPtrArray) argv = g_ptr_array_new_with_free_func (g_free);
  g_autoptr (GError) error = NULL;
  g_autoptr (GSubprocess) proc = NULL;

  g_ptr_array_add (argv, g_strdup (job->exe));
  g_ptr_array_add (argv, g_strdup ("models"));
  g_ptr_array_add (argv, g_strdup ("validate"));
  g_ptr_array_add (argv, g_strdup_printf ("%d", version));
  for (char **c = job->cases; *c != NULL; c++)
    {
      g_ptr_array_add (argv, g_strdup ("--val"));
      g_ptr_array_add (argv, g_strdup (*c));
    }
  g_ptr_array_add (argv, g_strdup ("--device"));
  g_ptr_array_add (argv, g_strdup (job->device != NULL ? job->device : "auto"));
  if (job->db_path != NULL)
    {
      g_ptr_array_add (argv, g_strdup ("--db"));
      g_ptr_array_add (argv, g_strdup (job->db_path));
    }
  g_ptr_array_add (argv, NULL);
  proc = g_subprocess_newv ((const char *const *) argv->pdata,
                            G_SUBPROCESS_FLAGS_STDOUT_PIPE | G_SUBPROCESS_FLAGS_STDERR_PIPE,
                            &error);
  if (proc == NULL)
    {
      g_task_return_error (task, g_steal_pointer (&error));
      g_object_unref (task);
      return;
    }
  g_object_set_data (G_OBJECT (proc), "ns-version", GINT_TO_POINTER (version));
  if (job->started != NULL)
    job->started (version, g_strv_length (job->cases), job->started_data);
  g_subprocess_communicate_utf8_async (proc, NULL, g_task_get_cancellable (task),
                                       on_validated, task);
}

void
ns_train_validation_run_async (const char *exe, const char *db_path, int version,
                               const char *const *cases, const char *device,
                               GCancellable *cancellable, NsTrainValidationFunc started,
                               gpointer started_data, GAsyncReadyCallback callback,
                               gpointer user_data)
{
  GTask *task = g_task_new (NULL, cancellable, callback, user_data);
  Job *job = g_new0 (Job, 1);

  g_return_if_fail (exe != NULL);
  g_return_if_fail (cases != NULL && cases[0] != NULL);
  job->exe = g_strdup (exe);
  job->db_path = g_strdup (db_path);
  job->version = version;
  job->current = NS_REGISTRY_NONE;
  job->cases = g_strdupv ((char **) cases);
  job->device = g_strdup (device);
  job->started = started;
  job->started_data = started_data;
  g_task_set_task_data (task, job, (GDestroyNotify) job_free);
  g_task_set_source_tag (task, ns_train_validation_run_async);
  spawn_validation (task, version);
}

gboolean
ns_train_validation_run_finish (GAsyncResult *result, char **summary, GError **error)
{
  char *verdict;

  g_return_val_if_fail (g_task_is_valid (result, NULL), FALSE);
  verdict = g_task_propagate_pointer (G_TASK (result), error);
  if (verdict == NULL)
    return FALSE;
  if (summary != NULL)
    *summary = verdict;
  else
    g_free (verdict);
  return TRUE;
}
