/* SPDX-License-Identifier: MIT
 *
 * ns-train-panel-slurm.c: the fine-tuning panel's run on a Slurm cluster (see
 * ns-train-panel.h): submission, the record that survives a restart, the polling of the
 * job's state and progress file, scancel, and the end of the job handed to the same
 * _ns_train_panel_finish() as a local run.
 *
 * Polling rather than watching the file: the progress file lives on shared storage
 * (NFS and the like), where file monitors see nothing written by another machine.  Each
 * poll runs off the main loop (scontrol and the file read may block on a slow cluster or
 * mount); the state is asked first and the file read after, so that a job seen ended has
 * all its events read.
 */
#define G_LOG_DOMAIN "neuroseg-ui"

#include "ns-train-panel-private.h"

#include <errno.h>
#include <glib/gstdio.h>
#include <string.h>

#include "ns-db.h"
#include "ns-registry.h"
#include "ns-runs.h"
#include "ns-task.h"

#define POLL_SECONDS 1
#define RECORD_GROUP "slurm-job"

/* ---- where things go ------------------------------------------------------------------ */

/* The data folder: the database's folder, or the default database's for a server. */
static char *
dup_data_dir (const char *db_path)
{
  g_autofree char *db = db_path != NULL && strstr (db_path, "://") == NULL
                          ? g_strdup (db_path) : ns_db_dup_default_path ();

  return g_path_get_dirname (db);
}

char *
ns_train_panel_dup_default_slurm_folder (const char *db_path)
{
  g_autofree char *dir = dup_data_dir (db_path);

  return g_build_filename (dir, "slurm-jobs", NULL);
}

static char *
dup_records_dir (const char *db_path)
{
  g_autofree char *dir = dup_data_dir (db_path);

  return g_build_filename (dir, "slurm-jobs", "records", NULL);
}

GStrv
ns_train_panel_dup_slurm_records (const char *db_path)
{
  g_autofree char *dir = dup_records_dir (db_path);
  g_autoptr (GStrvBuilder) b = g_strv_builder_new ();
  g_autoptr (GDir) d = g_dir_open (dir, 0, NULL);
  g_autoptr (GPtrArray) names = g_ptr_array_new_with_free_func (g_free);
  const char *name;

  while (d != NULL && (name = g_dir_read_name (d)) != NULL)
    if (g_str_has_prefix (name, "job-") && g_str_has_suffix (name, ".ini"))
      g_ptr_array_add (names, g_build_filename (dir, name, NULL));
  g_ptr_array_sort (names, (GCompareFunc) g_strcmp0);
  for (guint i = 0; i < names->len; i++)
    g_strv_builder_add (b, names->pdata[i]);
  return g_strv_builder_end (b);
}

/* ---- the record --------------------------------------------------------------------- */

static gboolean
write_record (NsTrainPanel *self, GError **error)
{
  g_autoptr (GKeyFile) k = g_key_file_new ();
  g_autofree char *dir = dup_records_dir (self->db_path);
  g_autofree char *name = g_strdup_printf ("job-%" G_GINT64_FORMAT ".ini", self->job_id);
  g_autoptr (GPtrArray) ids = g_ptr_array_new_with_free_func (g_free);

  for (guint i = 0; i < self->job_cases->len; i++)
    g_ptr_array_add (ids, g_strdup_printf ("%" G_GINT64_FORMAT,
                                           g_array_index (self->job_cases, gint64, i)));
  g_key_file_set_int64 (k, RECORD_GROUP, "job-id", self->job_id);
  g_key_file_set_string (k, RECORD_GROUP, "name", self->job_name);
  g_key_file_set_string (k, RECORD_GROUP, "folder", self->job_folder);
  g_key_file_set_string (k, RECORD_GROUP, "output", self->output);
  g_key_file_set_string (k, RECORD_GROUP, "command", self->command);
  g_key_file_set_integer (k, RECORD_GROUP, "base-version", self->base_version);
  g_key_file_set_string_list (k, RECORD_GROUP, "cases", (const char *const *) ids->pdata,
                              ids->len);
  g_key_file_set_string_list (k, RECORD_GROUP, "val-cases",
                              (const char *const *) (self->val_cases != NULL
                                                     ? self->val_cases
                                                     : (char *[]) { NULL }),
                              self->val_cases != NULL ? g_strv_length (self->val_cases) : 0);
  g_key_file_set_string (k, RECORD_GROUP, "device", self->device != NULL ? self->device : "");
  g_key_file_set_string (k, RECORD_GROUP, "neuroseg", self->exe != NULL ? self->exe : "");
  if (g_mkdir_with_parents (dir, 0700) != 0)
    {
      int saved = errno;

      g_set_error (error, G_IO_ERROR, g_io_error_from_errno (saved), "%s: %s", dir,
                   g_strerror (saved));
      return FALSE;
    }
  g_free (self->job_record);
  self->job_record = g_build_filename (dir, name, NULL);
  return g_key_file_save_to_file (k, self->job_record, error);
}

static void
remove_record (NsTrainPanel *self)
{
  if (self->job_record != NULL && g_unlink (self->job_record) != 0 && errno != ENOENT)
    g_warning ("%s: %s", self->job_record, g_strerror (errno));
  g_clear_pointer (&self->job_record, g_free);
}

/* ---- following ---------------------------------------------------------------------- */

/* The jobs a panel of this program follows (gint64 *): a second window of the workbench
 * does not follow (and register) the same job again.  Main thread only. */
static GHashTable *followed;

static gboolean
is_followed (gint64 job_id)
{
  return followed != NULL && g_hash_table_contains (followed, &job_id);
}

static void
set_followed (gint64 job_id, gboolean on)
{
  if (followed == NULL)
    followed = g_hash_table_new_full (g_int64_hash, g_int64_equal, g_free, NULL);
  if (on)
    g_hash_table_add (followed, g_memdup2 (&job_id, sizeof job_id));
  else
    g_hash_table_remove (followed, &job_id);
}

typedef struct
{
  gint64 job_id;
  char *folder;
  char *progress;
  goffset offset;
  /* answers */
  gboolean known;
  NsSlurmState state;
  char *reason;
  GError *query_error;
  GStrv lines;
  GError *read_error;
} Poll;

static void
poll_free (Poll *p)
{
  g_free (p->folder);
  g_free (p->progress);
  g_free (p->reason);
  g_clear_error (&p->query_error);
  g_clear_error (&p->read_error);
  g_strfreev (p->lines);
  g_free (p);
}

static void
poll_thread (GTask *task, gpointer source, gpointer data, GCancellable *cancellable)
{
  Poll *p = data;

  p->known = ns_slurm_query (p->job_id, p->folder, &p->state, &p->reason, &p->query_error);
  p->lines = ns_slurm_read_new_lines (p->progress, &p->offset, &p->read_error);
  g_task_return_boolean (task, TRUE);
}

static void
set_status (NsTrainPanel *self, const char *text)
{
  gtk_label_set_text (GTK_LABEL (self->status), text);
  g_signal_emit_by_name (self, "progress");
}

char *
_ns_train_panel_dup_slurm_text (NsTrainPanel *self)
{
  if (self->job_id == 0)
    return NULL;
  if (self->job_state == NS_SLURM_PENDING)
    return g_strdup_printf ("Slurm job %" G_GINT64_FORMAT ": queued%s%s%s", self->job_id,
                            self->job_reason != NULL ? " (" : "",
                            self->job_reason != NULL ? self->job_reason : "",
                            self->job_reason != NULL ? ")" : "");
  return g_strdup_printf ("Slurm job %" G_GINT64_FORMAT ": %s", self->job_id,
                          ns_slurm_state_name (self->job_state));
}

static void
stop_polling (NsTrainPanel *self)
{
  if (self->poll_source != 0)
    g_source_remove (self->poll_source);
  self->poll_source = 0;
  if (self->poll_cancellable != NULL)
    g_cancellable_cancel (self->poll_cancellable);
  g_clear_object (&self->poll_cancellable);
}

/* The job has ended: what it gave, through the end of any run. */
static void
job_ended (NsTrainPanel *self)
{
  g_autoptr (GError) ended = NULL;
  g_autoptr (GError) error = NULL;
  g_autoptr (NsDb) queue = NULL;
  g_autofree char *log = g_build_filename (self->job_folder, "train.log", NULL);
  g_autofree char *message = NULL;
  NsTrainState state = NS_TRAIN_SUCCEEDED;

  stop_polling (self);
  set_followed (self->job_id, FALSE);
  if (!ns_slurm_check_ended (self->job_id, self->job_name, self->job_folder, self->job_state,
                             self->job_reason, &ended))
    {
      state = self->job_state == NS_SLURM_CANCELLED ? NS_TRAIN_CANCELLED : NS_TRAIN_FAILED;
      message = g_strdup (ended->message);
    }
  else if (self->job_problem != NULL)
    {
      state = NS_TRAIN_FAILED;
      message = g_strdup (self->job_problem);
    }
  else if (self->error_event != NULL)
    {
      state = NS_TRAIN_FAILED;
      message = g_strdup_printf ("Slurm job %" G_GINT64_FORMAT ": %s", self->job_id,
                                 self->error_event);
    }
  else if (self->done == NULL)
    {
      state = NS_TRAIN_FAILED;
      message = g_strdup_printf ("Slurm job %" G_GINT64_FORMAT " completed, but its progress "
                                 "file has no \"done\" event%s%s%s; see %s", self->job_id,
                                 self->bad_line != NULL ? " (it holds '" : "",
                                 self->bad_line != NULL ? self->bad_line : "",
                                 self->bad_line != NULL ? "', which is not an event)" : "",
                                 log);
    }

  /* the run's record, made now: a run recorded at submission would be reaped as failed
   * the moment the workbench that submitted it exits (ns_runs_reap_stale()) */
  self->run_id = 0;
  queue = ns_db_open (self->db_path, &error);
  if (queue != NULL)
    self->run_id = ns_runs_begin (queue, self->command, log,
                                  (const gint64 *) self->job_cases->data, self->job_cases->len,
                                  0, &error);
  if (self->run_id == 0)
    {
      /* kept: the next workbench tries again */
      g_autofree char *why = g_strdup_printf ("the end of Slurm job %" G_GINT64_FORMAT
                                              " cannot be recorded: %s", self->job_id,
                                              error->message);

      _ns_train_panel_finish (self, NS_TRAIN_FAILED, why);
      return;
    }
  g_clear_pointer (&queue, ns_db_close);
  _ns_train_panel_finish (self, state, message);
  /* its end is in the database now (a registered model or a failed run) */
  remove_record (self);
}

static gboolean poll_cb (gpointer data);

static void
on_polled (GObject *source, GAsyncResult *res, gpointer data)
{
  NsTrainPanel *self = NS_TRAIN_PANEL (source);
  Poll *p = g_task_get_task_data (G_TASK (res));
  g_autofree char *status = NULL;
  g_autoptr (GError) error = NULL;
  gboolean polled = g_task_propagate_boolean (G_TASK (res), &error);

  if (g_cancellable_is_cancelled (g_task_get_cancellable (G_TASK (res))))
    return;
  self->polling = FALSE;
  if (self->job_id != p->job_id || self->state != NS_TRAIN_RUNNING)
    return;
  if (!polled)
    {
      /* the poll did not run (no thread could be started): said, and asked again */
      status = g_strdup_printf ("Slurm job %" G_GINT64_FORMAT ": %s; asking again",
                                p->job_id, error->message);
      set_status (self, status);
      return;
    }

  for (char **l = p->lines; l != NULL && *l != NULL; l++)
    {
      self->progress_lines++;
      if (!ns_train_panel_feed_line (self, *l) && self->bad_line == NULL && **l != '\0')
        self->bad_line = g_utf8_make_valid (*l, MIN (strlen (*l), 80));
    }
  self->progress_offset = p->offset;
  g_clear_pointer (&self->job_problem, g_free);
  if (p->read_error != NULL)
    self->job_problem = g_strdup_printf ("Slurm job %" G_GINT64_FORMAT ": %s", p->job_id,
                                         p->read_error->message);
  if (!p->known)
    {
      /* a job Slurm has forgotten without a trace ends here; a cluster that does not answer
       * is asked again (said on the panel meanwhile) */
      if (g_error_matches (p->query_error, NS_SLURM_ERROR, NS_SLURM_ERROR_UNKNOWN_JOB))
        {
          g_autofree char *why = g_strdup (p->query_error->message);

          self->job_state = NS_SLURM_FAILED;
          stop_polling (self);
          g_free (self->job_problem);
          self->job_problem = g_steal_pointer (&why);
          job_ended (self);
          return;
        }
      status = g_strdup_printf ("%s; asking again", p->query_error->message);
      set_status (self, status);
      return;
    }
  self->job_state = p->state;
  g_free (self->job_reason);
  self->job_reason = g_steal_pointer (&p->reason);
  if (ns_slurm_state_is_final (p->state))
    {
      job_ended (self);
      return;
    }
  if (self->job_problem != NULL)
    status = g_strdup (self->job_problem);
  else
    {
      g_autofree char *what = _ns_train_panel_dup_slurm_text (self);

      status = g_strdup_printf ("%s (%s); its files are in %s",
                                what, self->job_name, self->job_folder);
    }
  set_status (self, status);
}

static gboolean
poll_cb (gpointer data)
{
  NsTrainPanel *self = data;
  g_autoptr (GTask) task = NULL;
  Poll *p;

  if (self->polling)
    return G_SOURCE_CONTINUE;
  p = g_new0 (Poll, 1);
  p->job_id = self->job_id;
  p->folder = g_strdup (self->job_folder);
  p->progress = g_build_filename (self->job_folder, "progress.jsonl", NULL);
  p->offset = self->progress_offset;
  self->polling = TRUE;
  task = g_task_new (self, self->poll_cancellable, on_polled, NULL);
  g_task_set_task_data (task, p, (GDestroyNotify) poll_free);
  /* the task holds the panel: released in the main thread (the dialog closed while a poll
   * runs) */
  ns_task_run_in_worker (task, "ns-slurm-poll", poll_thread);
  return G_SOURCE_CONTINUE;
}

static void
start_polling (NsTrainPanel *self)
{
  self->state = NS_TRAIN_RUNNING;
  self->job_state = NS_SLURM_PENDING;
  self->poll_cancellable = g_cancellable_new ();
  gtk_widget_set_sensitive (self->cancel, TRUE);
  gtk_progress_bar_set_fraction (GTK_PROGRESS_BAR (self->bar), 0);
  gtk_progress_bar_set_text (GTK_PROGRESS_BAR (self->bar), "Waiting for the Slurm job…");
  {
    g_autofree char *text = g_strdup_printf ("Slurm job %" G_GINT64_FORMAT " (%s) submitted; "
                                             "its files are in %s", self->job_id,
                                             self->job_name, self->job_folder);

    gtk_label_set_text (GTK_LABEL (self->status), text);
  }
  set_followed (self->job_id, TRUE);
  self->poll_source = g_timeout_add_seconds (POLL_SECONDS, poll_cb, self);
  poll_cb (self);
}

gboolean
_ns_train_panel_start_slurm (NsTrainPanel *self, const NsSlurmJobSpec *options,
                             const char *const *argv, const char *output, const char *folder,
                             int base_version, const gint64 *case_ids, guint n_cases,
                             GError **error)
{
  g_auto (NsSlurmJobSpec) spec = { 0 };
  g_autofree char *joined = NULL;
  gint64 id;

  g_return_val_if_fail (NS_IS_TRAIN_PANEL (self), FALSE);
  g_return_val_if_fail (argv[0] != NULL && argv[1] != NULL, FALSE);
  if (self->state == NS_TRAIN_RUNNING)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_BUSY, "a fine-tuning run is in progress");
      return FALSE;
    }
  spec = *options;
  spec.name = g_strdup (options->name != NULL ? options->name : "neuroseg-finetune");
  spec.partition = g_strdup (options->partition);
  spec.neuroseg = g_strdup (argv[0]);
  spec.train_args = g_strdupv ((char **) argv + 2);
  spec.folder = g_strdup (folder);
  id = ns_slurm_submit (&spec, error);
  if (id == 0)
    return FALSE;

  _ns_train_panel_begin (self, argv, output, base_version, n_cases);
  joined = g_strdup_printf ("sbatch %s/job.sh (Slurm job %" G_GINT64_FORMAT "): %s", folder,
                            id, self->command);
  g_free (self->command);
  self->command = g_steal_pointer (&joined);
  self->job_id = id;
  self->job_name = g_strdup (spec.name);
  self->job_folder = g_strdup (folder);
  g_array_append_vals (self->job_cases, case_ids, n_cases);
  if (!write_record (self, error))
    {
      /* not followed after a restart: say so rather than run unrecorded */
      g_autoptr (GError) e2 = NULL;

      g_prefix_error (error, "Slurm job %" G_GINT64_FORMAT " was submitted but cannot be "
                      "recorded (it is cancelled): ", id);
      if (!ns_slurm_cancel (id, &e2))
        g_prefix_error (error, "%s; ", e2->message);
      _ns_train_panel_clear_slurm (self);
      return FALSE;
    }
  start_polling (self);
  return TRUE;
}

gboolean
ns_train_panel_follow_slurm_job (NsTrainPanel *self, const char *record, GError **error)
{
  g_autoptr (GKeyFile) k = g_key_file_new ();
  g_autoptr (GError) local = NULL;
  g_auto (GStrv) cases = NULL, val = NULL;
  g_autofree char *command = NULL, *output = NULL, *device = NULL, *exe = NULL;
  g_autofree char *name = NULL, *folder = NULL;
  gint64 id;
  int base;

  g_return_val_if_fail (NS_IS_TRAIN_PANEL (self), FALSE);
  if (self->state == NS_TRAIN_RUNNING)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_BUSY, "a fine-tuning run is in progress");
      return FALSE;
    }
  if (!g_key_file_load_from_file (k, record, G_KEY_FILE_NONE, &local)
      || (id = g_key_file_get_int64 (k, RECORD_GROUP, "job-id", &local)) <= 0
      || (name = g_key_file_get_string (k, RECORD_GROUP, "name", &local)) == NULL
      || (folder = g_key_file_get_string (k, RECORD_GROUP, "folder", &local)) == NULL
      || (output = g_key_file_get_string (k, RECORD_GROUP, "output", &local)) == NULL
      || (command = g_key_file_get_string (k, RECORD_GROUP, "command", &local)) == NULL
      || (cases = g_key_file_get_string_list (k, RECORD_GROUP, "cases", NULL, &local)) == NULL)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
                   "The record of a Slurm job %s cannot be read: %s", record,
                   local != NULL ? local->message : "its job-id is not a job id");
      return FALSE;
    }
  if (is_followed (id))
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_EXISTS,
                   "Slurm job %" G_GINT64_FORMAT " is followed already", id);
      return FALSE;
    }
  base = g_key_file_get_integer (k, RECORD_GROUP, "base-version", NULL);
  val = g_key_file_get_string_list (k, RECORD_GROUP, "val-cases", NULL, NULL);
  device = g_key_file_get_string (k, RECORD_GROUP, "device", NULL);
  exe = g_key_file_get_string (k, RECORD_GROUP, "neuroseg", NULL);

  {
    const char *argv[] = { command, NULL };

    _ns_train_panel_begin (self, argv, output, base, g_strv_length (cases));
  }
  self->job_id = id;
  self->job_name = g_steal_pointer (&name);
  self->job_folder = g_steal_pointer (&folder);
  self->job_record = g_strdup (record);
  for (char **c = cases; *c != NULL; c++)
    {
      gint64 v = g_ascii_strtoll (*c, NULL, 10);

      g_array_append_val (self->job_cases, v);
    }
  g_strfreev (self->val_cases);
  self->val_cases = val != NULL && val[0] != NULL ? g_steal_pointer (&val) : NULL;
  g_free (self->device);
  self->device = device != NULL && *device != '\0' ? g_steal_pointer (&device) : NULL;
  g_free (self->exe);
  self->exe = exe != NULL && *exe != '\0' ? g_steal_pointer (&exe) : NULL;
  start_polling (self);
  return TRUE;
}

void
_ns_train_panel_stop_following (NsTrainPanel *self)
{
  g_autofree char *text = NULL;

  stop_polling (self);
  self->polling = FALSE;
  set_followed (self->job_id, FALSE);
  self->state = NS_TRAIN_IDLE;
  gtk_widget_set_sensitive (self->cancel, FALSE);
  text = g_strdup_printf ("Slurm job %" G_GINT64_FORMAT " goes on without this window; the "
                          "workbench follows it again when it starts", self->job_id);
  set_status (self, text);
}

void
_ns_train_panel_cancel_slurm (NsTrainPanel *self)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *text = NULL;

  if (!ns_slurm_cancel (self->job_id, &error))
    {
      text = g_strdup_printf ("Cancel failed: %s", error->message);
      set_status (self, text);
      return;
    }
  self->cancel_requested = TRUE;
  text = g_strdup_printf ("Cancelling Slurm job %" G_GINT64_FORMAT " (scancel)…", self->job_id);
  set_status (self, text);
}

void
_ns_train_panel_clear_slurm (NsTrainPanel *self)
{
  stop_polling (self);
  self->polling = FALSE;
  if (self->job_id != 0 && self->state == NS_TRAIN_RUNNING)
    set_followed (self->job_id, FALSE);
  self->job_id = 0;
  self->job_state = NS_SLURM_PENDING;
  self->progress_offset = 0;
  self->progress_lines = 0;
  g_clear_pointer (&self->job_name, g_free);
  g_clear_pointer (&self->job_folder, g_free);
  g_clear_pointer (&self->job_record, g_free);
  g_clear_pointer (&self->job_reason, g_free);
  g_clear_pointer (&self->job_problem, g_free);
  g_clear_pointer (&self->bad_line, g_free);
  if (self->job_cases != NULL)
    g_array_set_size (self->job_cases, 0);
}

gint64
ns_train_panel_get_slurm_job_id (NsTrainPanel *self)
{
  g_return_val_if_fail (NS_IS_TRAIN_PANEL (self), 0);
  return self->job_id;
}

const char *
ns_train_panel_get_slurm_folder (NsTrainPanel *self)
{
  g_return_val_if_fail (NS_IS_TRAIN_PANEL (self), NULL);
  return self->job_folder;
}

const char *
ns_train_panel_get_status_text (NsTrainPanel *self)
{
  g_return_val_if_fail (NS_IS_TRAIN_PANEL (self), NULL);
  return gtk_label_get_text (GTK_LABEL (self->status));
}
