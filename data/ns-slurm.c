/* SPDX-License-Identifier: MIT
 *
 * ns-slurm.c: a training job on a Slurm cluster (see ns-slurm.h).
 *
 * Trade-offs:
 * - The state comes from `scontrol show job -o` (slurmctld's memory: every cluster has
 *   it, no accounting database needed), then from `sacct` once slurmctld has forgotten
 *   the job (MinJobAge, 300 s by default), then from the exit-status file the script
 *   writes.  A cluster without accounting and a job killed before it could write that
 *   file (TIMEOUT, scancel) after slurmctld forgot it is reported as unknown, naming the
 *   job: the workbench polls every few seconds, far inside MinJobAge.
 * - Options of the script are #SBATCH lines (so that job.sh can be submitted again by
 *   hand); the folder, which may hold any character, is given to sbatch as arguments
 *   (--chdir, --output) and to the shell quoted, never as an #SBATCH line, whose parser
 *   splits on white space.
 */
#define G_LOG_DOMAIN "ns-slurm"

#include "ns-slurm.h"

#include <errno.h>
#include <gio/gio.h>
#include <glib/gstdio.h>
#include <stdlib.h>
#include <string.h>

G_DEFINE_QUARK (ns-slurm-error-quark, ns_slurm_error)

void
ns_slurm_job_spec_clear (NsSlurmJobSpec *spec)
{
  g_clear_pointer (&spec->name, g_free);
  g_clear_pointer (&spec->partition, g_free);
  g_clear_pointer (&spec->neuroseg, g_free);
  g_clear_pointer (&spec->train_args, g_strfreev);
  g_clear_pointer (&spec->folder, g_free);
  memset (spec, 0, sizeof *spec);
}

const char *
ns_slurm_state_name (NsSlurmState state)
{
  switch (state)
    {
    case NS_SLURM_PENDING: return "pending";
    case NS_SLURM_RUNNING: return "running";
    case NS_SLURM_COMPLETED: return "completed";
    case NS_SLURM_FAILED: return "failed";
    case NS_SLURM_CANCELLED: return "cancelled";
    case NS_SLURM_TIMEOUT: return "timeout";
    default: return "unknown";
    }
}

gboolean
ns_slurm_state_is_final (NsSlurmState state)
{
  return state == NS_SLURM_COMPLETED || state == NS_SLURM_FAILED
         || state == NS_SLURM_CANCELLED || state == NS_SLURM_TIMEOUT;
}

gboolean
ns_slurm_is_available (char **reason)
{
  g_autofree char *sbatch = g_find_program_in_path ("sbatch");

  if (reason != NULL)
    *reason = sbatch != NULL ? NULL
                             : g_strdup ("Slurm's sbatch is not installed on this computer "
                                         "(not found on PATH)");
  return sbatch != NULL;
}

/* ---- running Slurm's commands --------------------------------------------------------- */

/* Runs argv (argv[0] looked up on PATH) to its end; *out and *err owned.  FALSE with
 * NOT_INSTALLED when the program is missing, or when it cannot be spawned. */
static gboolean
run_command (const char *const *argv, int *status, char **out, char **err, GError **error)
{
  g_autofree char *program = g_find_program_in_path (argv[0]);
  g_autoptr (GSubprocess) proc = NULL;
  g_autoptr (GError) local = NULL;

  if (program == NULL)
    {
      g_set_error (error, NS_SLURM_ERROR, NS_SLURM_ERROR_NOT_INSTALLED,
                   "Slurm's %s is not installed on this computer (not found on PATH)",
                   argv[0]);
      return FALSE;
    }
  /* stdin: /dev/null (GSubprocess's default) */
  proc = g_subprocess_newv (argv, G_SUBPROCESS_FLAGS_STDOUT_PIPE
                                    | G_SUBPROCESS_FLAGS_STDERR_PIPE, &local);
  if (proc == NULL || !g_subprocess_communicate_utf8 (proc, NULL, NULL, out, err, &local))
    {
      g_set_error (error, NS_SLURM_ERROR, NS_SLURM_ERROR_COMMAND, "%s: %s", argv[0],
                   local->message);
      return FALSE;
    }
  *status = g_subprocess_get_if_exited (proc) ? g_subprocess_get_exit_status (proc) : -1;
  return TRUE;
}

/* The first line of a command's message, stripped (owned), or what to say without one. */
static char *
dup_message (const char *err, const char *out, int status)
{
  const char *text = err != NULL && *err != '\0' ? err : out;
  g_autofree char *copy = g_strdup (text != NULL ? text : "");
  char *nl;

  g_strstrip (copy);
  nl = strchr (copy, '\n');
  if (nl != NULL)
    *nl = '\0';
  if (*copy == '\0')
    return g_strdup_printf ("it exited with status %d and said nothing", status);
  return g_steal_pointer (&copy);
}

/* ---- the script --------------------------------------------------------------------- */

static char *
dup_job_name (const NsSlurmJobSpec *spec)
{
  char *name = g_strdup (spec->name != NULL && *spec->name != '\0' ? spec->name
                                                                   : "neuroseg-train");

  for (char *c = name; *c != '\0'; c++)
    if (!g_ascii_isalnum (*c) && *c != '.' && *c != '_' && *c != '-')
      *c = '_';
  return name;
}

static gboolean
check_spec (const NsSlurmJobSpec *spec, const char *name, GError **error)
{
  const char *what = NULL;

  if (spec->neuroseg == NULL || !g_path_is_absolute (spec->neuroseg))
    what = "the neuroseg binary must be an absolute path on shared storage";
  else if (spec->folder == NULL || !g_path_is_absolute (spec->folder))
    what = "its folder must be an absolute path on shared storage";
  else if (spec->nodes < 1 || spec->tasks_per_node < 1)
    what = "it needs at least one node and one task per node";
  else if (spec->gpus_per_node < 0 || spec->cpus_per_task < 0 || spec->time_limit_min < 0
           || spec->mem_mb < 0)
    what = "GPUs, CPUs, time limit and memory cannot be negative";
  else if (spec->partition != NULL)
    for (const char *c = spec->partition; *c != '\0' && what == NULL; c++)
      if (!g_ascii_isalnum (*c) && *c != '_' && *c != '-' && *c != '.' && *c != ',')
        what = "a partition name holds letters, digits, '_', '-', '.' and ',' only";
  if (what != NULL)
    {
      g_set_error (error, NS_SLURM_ERROR, NS_SLURM_ERROR_INVALID, "Slurm job %s: %s", name,
                   what);
      return FALSE;
    }
  return TRUE;
}

char *
ns_slurm_generate_script (const NsSlurmJobSpec *spec, GError **error)
{
  g_autofree char *name = NULL;
  g_autoptr (GString) s = g_string_new ("#!/bin/bash\n");
  g_autofree char *folder_q = NULL, *exe_q = NULL;

  g_return_val_if_fail (spec != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  name = dup_job_name (spec);
  if (!check_spec (spec, name, error))
    return NULL;
  g_string_append (s, "# Written by neuroseg (Training > Fine-tune… > On a Slurm cluster).\n");
  g_string_append_printf (s, "#SBATCH --job-name=%s\n", name);
  if (spec->partition != NULL && *spec->partition != '\0')
    g_string_append_printf (s, "#SBATCH --partition=%s\n", spec->partition);
  g_string_append_printf (s, "#SBATCH --nodes=%d\n", spec->nodes);
  g_string_append_printf (s, "#SBATCH --ntasks-per-node=%d\n", spec->tasks_per_node);
  if (spec->gpus_per_node > 0)
    g_string_append_printf (s, "#SBATCH --gpus-per-node=%d\n", spec->gpus_per_node);
  if (spec->cpus_per_task > 0)
    g_string_append_printf (s, "#SBATCH --cpus-per-task=%d\n", spec->cpus_per_task);
  if (spec->time_limit_min > 0)
    g_string_append_printf (s, "#SBATCH --time=%d:%02d:00\n", spec->time_limit_min / 60,
                            spec->time_limit_min % 60);
  if (spec->mem_mb > 0)
    g_string_append_printf (s, "#SBATCH --mem=%dM\n", spec->mem_mb);
  /* the folder goes to sbatch as --chdir/--output arguments (ns_slurm_submit) */
  folder_q = g_shell_quote (spec->folder);
  exe_q = g_shell_quote (spec->neuroseg);
  g_string_append_printf (s, "\ncd %s || exit 1\n", folder_q);
  /* progress events on stdout (rank 0 writes them), messages on stderr; the exit status
   * for when slurmctld has forgotten the job */
  g_string_append_printf (s, "srun --kill-on-bad-exit=1 %s train", exe_q);
  for (char **a = spec->train_args; a != NULL && *a != NULL; a++)
    {
      g_autofree char *q = g_shell_quote (*a);

      g_string_append_printf (s, " %s", q);
    }
  g_string_append (s, " >progress.jsonl 2>train.log\n"
                      "status=$?\n"
                      "echo \"$status\" >exit-status\n"
                      "exit \"$status\"\n");
  return g_string_free (g_steal_pointer (&s), FALSE);
}

gint64
ns_slurm_submit (const NsSlurmJobSpec *spec, GError **error)
{
  g_autofree char *name = NULL, *script = NULL, *script_path = NULL;
  g_autofree char *chdir_arg = NULL, *output_arg = NULL, *out = NULL, *err = NULL;
  g_autoptr (GError) local = NULL;
  int status = -1;
  gint64 id;
  char *end = NULL;

  g_return_val_if_fail (spec != NULL, 0);

  name = dup_job_name (spec);
  script = ns_slurm_generate_script (spec, error);
  if (script == NULL)
    return 0;
  if (g_mkdir_with_parents (spec->folder, 0755) != 0)
    {
      int saved = errno;

      g_set_error (error, NS_SLURM_ERROR, NS_SLURM_ERROR_IO, "Slurm job %s: %s: %s", name,
                   spec->folder, g_strerror (saved));
      return 0;
    }
  script_path = g_build_filename (spec->folder, "job.sh", NULL);
  if (!g_file_set_contents (script_path, script, -1, &local) || g_chmod (script_path, 0755) != 0)
    {
      g_set_error (error, NS_SLURM_ERROR, NS_SLURM_ERROR_IO, "Slurm job %s: %s", name,
                   local != NULL ? local->message : g_strerror (errno));
      return 0;
    }
  chdir_arg = g_strconcat ("--chdir=", spec->folder, NULL);
  output_arg = g_strconcat ("--output=", spec->folder, G_DIR_SEPARATOR_S, "slurm-%j.out", NULL);
  {
    const char *argv[] = { "sbatch", "--parsable", chdir_arg, output_arg, script_path, NULL };

    if (!run_command (argv, &status, &out, &err, &local))
      {
        g_propagate_prefixed_error (error, g_steal_pointer (&local), "Slurm job %s: ", name);
        return 0;
      }
  }
  if (status != 0)
    {
      g_autofree char *why = dup_message (err, out, status);

      g_set_error (error, NS_SLURM_ERROR, NS_SLURM_ERROR_REJECTED,
                   "Slurm job %s: sbatch refused %s: %s", name, script_path, why);
      return 0;
    }
  /* --parsable: "ID" or "ID;CLUSTER" */
  id = g_ascii_strtoll (out != NULL ? out : "", &end, 10);
  if (id <= 0 || end == out || (*end != '\0' && *end != ';' && *end != '\n'))
    {
      g_autofree char *said = g_strdup (out != NULL ? out : "");

      g_set_error (error, NS_SLURM_ERROR, NS_SLURM_ERROR_REJECTED,
                   "Slurm job %s: sbatch printed no job id for %s (it said '%s')", name,
                   script_path, g_strstrip (said));
      return 0;
    }
  return id;
}

/* ---- following a job -------------------------------------------------------------------- */

/* JobState words (scontrol and sacct; sacct adds " by UID" to CANCELLED). */
static NsSlurmState
parse_state (const char *word)
{
  static const struct { const char *prefix; NsSlurmState state; } map[] = {
    { "PENDING", NS_SLURM_PENDING }, { "REQUEUED", NS_SLURM_PENDING },
    { "RESV_DEL_HOLD", NS_SLURM_PENDING }, { "REQUEUE_", NS_SLURM_PENDING },
    { "COMPLETED", NS_SLURM_COMPLETED }, { "COMPLETING", NS_SLURM_RUNNING },
    { "CANCELLED", NS_SLURM_CANCELLED }, { "PREEMPTED", NS_SLURM_CANCELLED },
    { "TIMEOUT", NS_SLURM_TIMEOUT }, { "DEADLINE", NS_SLURM_TIMEOUT },
    { "FAILED", NS_SLURM_FAILED }, { "NODE_FAIL", NS_SLURM_FAILED },
    { "BOOT_FAIL", NS_SLURM_FAILED }, { "OUT_OF_MEMORY", NS_SLURM_FAILED },
    { "SPECIAL_EXIT", NS_SLURM_FAILED },
  };

  for (guint i = 0; i < G_N_ELEMENTS (map); i++)
    if (g_str_has_prefix (word, map[i].prefix))
      return map[i].state;
  /* RUNNING, CONFIGURING, SUSPENDED, STOPPED, SIGNALING, STAGE_OUT, RESIZING ... */
  return NS_SLURM_RUNNING;
}

/* The value of KEY= in scontrol's one-line output (owned), NULL when absent. */
static char *
dup_field (const char *line, const char *key)
{
  g_autofree char *pat = g_strconcat (key, "=", NULL);
  const char *p = line;

  while ((p = strstr (p, pat)) != NULL)
    {
      if (p == line || g_ascii_isspace (p[-1]))
        {
          const char *v = p + strlen (pat), *e = v;

          while (*e != '\0' && !g_ascii_isspace (*e))
            e++;
          return g_strndup (v, e - v);
        }
      p += strlen (pat);
    }
  return NULL;
}

/* sacct's answer: TRUE with *state when it knows the job. */
static gboolean
query_sacct (const char *id, NsSlurmState *state, char **reason)
{
  const char *argv[] = { "sacct", "--noheader", "--parsable2", "--allocations", "--jobs", id,
                         "--format=State,ExitCode", NULL };
  g_autofree char *out = NULL, *err = NULL;
  g_auto (GStrv) fields = NULL;
  int status;

  /* no sacct, or accounting switched off ("Slurm accounting storage is disabled"): the
   * caller falls back to the exit-status file */
  if (!run_command (argv, &status, &out, &err, NULL) || status != 0 || out == NULL)
    return FALSE;
  g_strstrip (out);
  if (*out == '\0')
    return FALSE;
  fields = g_strsplit (out, "|", 2);
  *state = parse_state (fields[0]);
  if (reason != NULL && fields[1] != NULL && *state == NS_SLURM_FAILED)
    *reason = g_strdup_printf ("exit code %s", fields[1]);
  return TRUE;
}

gboolean
ns_slurm_query (gint64 job_id, const char *folder, NsSlurmState *state, char **reason,
                GError **error)
{
  g_autofree char *id = g_strdup_printf ("%" G_GINT64_FORMAT, job_id);
  const char *argv[] = { "scontrol", "--oneliner", "show", "job", id, NULL };
  g_autofree char *out = NULL, *err = NULL, *status_path = NULL, *text = NULL;
  g_autoptr (GError) local = NULL;
  int status;

  g_return_val_if_fail (job_id > 0 && state != NULL, FALSE);
  if (reason != NULL)
    *reason = NULL;

  if (!run_command (argv, &status, &out, &err, &local))
    {
      g_propagate_prefixed_error (error, g_steal_pointer (&local), "Slurm job %s: ", id);
      return FALSE;
    }
  if (status == 0)
    {
      g_autofree char *word = dup_field (out, "JobState");
      g_autofree char *why = dup_field (out, "Reason");

      if (word == NULL)
        {
          g_autofree char *said = dup_message (NULL, out, status);

          g_set_error (error, NS_SLURM_ERROR, NS_SLURM_ERROR_COMMAND,
                       "Slurm job %s: scontrol's answer has no JobState: %s", id, said);
          return FALSE;
        }
      *state = parse_state (word);
      if (reason != NULL && why != NULL && strcmp (why, "None") != 0)
        *reason = g_steal_pointer (&why);
      return TRUE;
    }
  if (err == NULL || strstr (err, "Invalid job id") == NULL)
    {
      g_autofree char *said = dup_message (err, out, status);

      g_set_error (error, NS_SLURM_ERROR, NS_SLURM_ERROR_COMMAND,
                   "Slurm job %s: scontrol show job failed: %s", id, said);
      return FALSE;
    }
  /* slurmctld has forgotten it: accounting, then the script's own record */
  if (query_sacct (id, state, reason))
    return TRUE;
  status_path = folder != NULL ? g_build_filename (folder, "exit-status", NULL) : NULL;
  if (status_path != NULL && g_file_get_contents (status_path, &text, NULL, NULL))
    {
      int code = atoi (g_strstrip (text));

      *state = code == 0 ? NS_SLURM_COMPLETED : NS_SLURM_FAILED;
      if (reason != NULL && code != 0)
        *reason = g_strdup_printf ("the trainer exited with status %d", code);
      return TRUE;
    }
  g_set_error (error, NS_SLURM_ERROR, NS_SLURM_ERROR_UNKNOWN_JOB,
               "Slurm job %s: Slurm no longer knows it (no accounting) and it left no exit "
               "status in %s", id, folder != NULL ? folder : "its folder");
  return FALSE;
}

gboolean
ns_slurm_check_ended (gint64 job_id, const char *name, const char *folder, NsSlurmState state,
                      const char *reason, GError **error)
{
  g_autofree char *log = NULL;
  const char *what;

  if (!ns_slurm_state_is_final (state) || state == NS_SLURM_COMPLETED)
    return TRUE;
  switch (state)
    {
    case NS_SLURM_TIMEOUT: what = "TIMEOUT: the time limit was reached"; break;
    case NS_SLURM_CANCELLED: what = "CANCELLED"; break;
    default: what = "FAILED"; break;
    }
  log = folder != NULL ? g_build_filename (folder, "train.log", NULL) : NULL;
  g_set_error (error, NS_SLURM_ERROR, NS_SLURM_ERROR_JOB_ENDED,
               "Slurm job %" G_GINT64_FORMAT " (%s) ended %s%s%s%s%s%s", job_id,
               name != NULL ? name : "neuroseg-train", what,
               reason != NULL ? " (" : "", reason != NULL ? reason : "",
               reason != NULL ? ")" : "", log != NULL ? "; see " : "",
               log != NULL ? log : "");
  return FALSE;
}

gboolean
ns_slurm_cancel (gint64 job_id, GError **error)
{
  g_autofree char *id = g_strdup_printf ("%" G_GINT64_FORMAT, job_id);
  const char *argv[] = { "scancel", id, NULL };
  g_autofree char *out = NULL, *err = NULL;
  g_autoptr (GError) local = NULL;
  int status;

  if (!run_command (argv, &status, &out, &err, &local))
    {
      g_propagate_prefixed_error (error, g_steal_pointer (&local), "Slurm job %s: ", id);
      return FALSE;
    }
  if (status != 0)
    {
      g_autofree char *why = dup_message (err, out, status);

      g_set_error (error, NS_SLURM_ERROR, NS_SLURM_ERROR_COMMAND,
                   "Slurm job %s: scancel failed: %s", id, why);
      return FALSE;
    }
  return TRUE;
}

/* ---- the progress file ------------------------------------------------------------------ */

GStrv
ns_slurm_read_new_lines (const char *path, goffset *offset, GError **error)
{
  g_autoptr (GStrvBuilder) lines = g_strv_builder_new ();
  g_autofree char *contents = NULL;
  g_autoptr (GError) local = NULL;
  gsize len = 0;
  const char *p, *end;

  g_return_val_if_fail (path != NULL && offset != NULL, NULL);

  /* the file is small (one line per step); reading it whole keeps this simple */
  if (!g_file_get_contents (path, &contents, &len, &local))
    {
      if (g_error_matches (local, G_FILE_ERROR, G_FILE_ERROR_NOENT))
        return g_strv_builder_end (lines);
      g_set_error (error, NS_SLURM_ERROR, NS_SLURM_ERROR_PROGRESS,
                   "the job's progress file cannot be read: %s", local->message);
      return NULL;
    }
  if ((gsize) *offset > len)
    {
      g_set_error (error, NS_SLURM_ERROR, NS_SLURM_ERROR_PROGRESS,
                   "the job's progress file %s became shorter (%" G_GSIZE_FORMAT
                   " bytes, %" G_GOFFSET_FORMAT " already read): was it replaced?",
                   path, len, *offset);
      return NULL;
    }
  p = contents + *offset;
  end = contents + len;
  while (p < end)
    {
      const char *nl = memchr (p, '\n', end - p);

      if (nl == NULL)
        break;
      g_autofree char *line = g_strndup (p, nl - p);

      g_strv_builder_add (lines, line);
      p = nl + 1;
    }
  *offset = p - contents;
  return g_strv_builder_end (lines);
}
