/* SPDX-License-Identifier: MIT
 *
 * ns-train-panel.c: the fine-tuning subprocess, its JSON progress, the live plot, the
 * registration of the new model version, and the Fine-tune… dialog.  A run on a Slurm
 * cluster is submitted and followed in ns-train-panel-slurm.c and ends here too
 * (_ns_train_panel_finish()).
 */
#define G_LOG_DOMAIN "neuroseg-ui"

#include "ns-train-panel-private.h"

#include <errno.h>
#include <glib/gstdio.h>
#include <json-glib/json-glib.h>
#include <math.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>
#ifdef __linux__
#include <sys/prctl.h>
#endif

#include "ns-case.h"
#include "ns-checkpoint.h"
#include "ns-queue.h"
#include "ns-registry.h"
#include "ns-runs.h"
#include "ns-train-validation.h"


enum { SIGNAL_PROGRESS, SIGNAL_FINISHED, N_SIGNALS };
static guint signals[N_SIGNALS];

G_DEFINE_FINAL_TYPE (NsTrainPanel, ns_train_panel, GTK_TYPE_BOX)

void
ns_train_request_clear (NsTrainRequest *request)
{
  g_clear_pointer (&request->base_model, g_free);
  g_clear_pointer (&request->device, g_free);
  g_clear_pointer (&request->val_cases, g_strfreev);
  g_clear_pointer (&request->extra_args, g_strfreev);
  g_clear_pointer (&request->output, g_free);
  if (request->slurm != NULL)
    {
      ns_slurm_job_spec_clear (request->slurm);
      g_free (request->slurm);
    }
  memset (request, 0, sizeof *request);
}

/* ---- the stream --------------------------------------------------------------------- */

static double
member_double (JsonObject *o, const char *name)
{
  JsonNode *n = json_object_get_member (o, name);

  if (n == NULL || JSON_NODE_TYPE (n) != JSON_NODE_VALUE)
    return NAN;
  return json_node_get_double (n);
}

char *
ns_train_panel_dup_progress_text (NsTrainPanel *self)
{
  char eta[32] = "";

  g_return_val_if_fail (NS_IS_TRAIN_PANEL (self), NULL);

  if (self->phase_text != NULL)
    return g_strdup (self->phase_text);
  if (self->total_steps <= 0)
    return _ns_train_panel_dup_slurm_text (self);
  if (isfinite (self->eta))
    {
      int t = (int) (self->eta + 0.5);
      g_snprintf (eta, sizeof eta, ", ETA %d:%02d", t / 60, t % 60);
    }
  return g_strdup_printf ("Step %u of %" G_GINT64_FORMAT "%s", self->n_steps,
                          self->total_steps, eta);
}

void
_ns_train_panel_update_labels (NsTrainPanel *self)
{
  g_autofree char *text = ns_train_panel_dup_progress_text (self);

  if (text != NULL)
    {
      gtk_progress_bar_set_fraction (GTK_PROGRESS_BAR (self->bar), CLAMP (self->fraction, 0, 1));
      gtk_progress_bar_set_text (GTK_PROGRESS_BAR (self->bar), text);
    }
  gtk_widget_queue_draw (self->plot);
  g_signal_emit (self, signals[SIGNAL_PROGRESS], 0);
}

gboolean
ns_train_panel_feed_line (NsTrainPanel *self, const char *line)
{
  g_autoptr (JsonParser) parser = json_parser_new ();
  JsonObject *o;
  const char *event;

  g_return_val_if_fail (NS_IS_TRAIN_PANEL (self), FALSE);
  if (line == NULL || !json_parser_load_from_data (parser, line, -1, NULL))
    return FALSE;
  if (!JSON_NODE_HOLDS_OBJECT (json_parser_get_root (parser)))
    return FALSE;
  o = json_node_get_object (json_parser_get_root (parser));
  event = json_object_get_string_member_with_default (o, "event", NULL);
  if (event == NULL)
    return FALSE;

  if (strcmp (event, "step") == 0 || strcmp (event, "epoch") == 0)
    {
      double step = (double) json_object_get_int_member_with_default (o, "step", 0);
      double loss = member_double (o, "loss");

      self->total_steps = json_object_get_int_member_with_default (o, "total_steps",
                                                                   self->total_steps);
      self->fraction = self->total_steps > 0 ? step / (double) self->total_steps : 0;
      self->eta = member_double (o, "eta_seconds");
      if (strcmp (event, "step") == 0)
        {
          self->n_steps++;
          g_array_append_val (self->step_x, step);
          g_array_append_val (self->step_loss, loss);
        }
      else
        {
          double dice = member_double (o, "dice_wt");

          g_array_append_val (self->epoch_x, step);
          g_array_append_val (self->epoch_loss, loss);
          g_array_append_val (self->epoch_dice, dice);
        }
      _ns_train_panel_update_labels (self);
    }
  else if (strcmp (event, "done") == 0)
    {
      g_clear_pointer (&self->done, json_object_unref);
      self->done = json_object_ref (o);
      self->fraction = 1;
      self->eta = 0;
      _ns_train_panel_update_labels (self);
    }
  else if (strcmp (event, "error") == 0)
    {
      g_free (self->error_event);
      self->error_event = g_strdup (json_object_get_string_member_with_default (o, "message",
                                                                                "error"));
    }
  else
    return FALSE;
  return TRUE;
}

/* ---- the end of a run ----------------------------------------------------------------- */

static char *
build_metrics (NsTrainPanel *self)
{
  g_autoptr (JsonBuilder) b = json_builder_new ();
  static const char *const keys[] = { "dice_wt", "dice_tc", "dice_et", "best_score",
                                      "seconds", "loss" };

  json_builder_begin_object (b);
  for (guint i = 0; i < G_N_ELEMENTS (keys); i++)
    {
      double v = member_double (self->done, keys[i]);

      if (isfinite (v))
        {
          json_builder_set_member_name (b, keys[i]);
          json_builder_add_double_value (b, v);
        }
    }
  json_builder_set_member_name (b, "steps");
  json_builder_add_int_value (b, json_object_get_int_member_with_default (self->done, "steps", 0));
  json_builder_set_member_name (b, "epochs");
  json_builder_add_int_value (b, json_object_get_int_member_with_default (self->done, "epochs", 0));
  json_builder_set_member_name (b, "best_epoch");
  json_builder_add_int_value (b, json_object_get_int_member_with_default (self->done,
                                                                          "best_epoch", 0));
  json_builder_set_member_name (b, "device");
  json_builder_add_string_value (b, json_object_get_string_member_with_default (self->done,
                                                                                "device", ""));
  json_builder_set_member_name (b, "cases_used");
  json_builder_add_int_value (b, self->n_cases);
  json_builder_set_member_name (b, "val_cases");
  json_builder_begin_array (b);
  for (char **v = self->val_cases; v != NULL && *v != NULL; v++)
    json_builder_add_string_value (b, *v);
  json_builder_end_array (b);
  if (self->val_cases == NULL || self->val_cases[0] == NULL)
    {
      /* the record says so: the gate will find no figures of this version */
      json_builder_set_member_name (b, "validation");
      json_builder_add_string_value (b, "none: no validation cases were chosen");
    }
  json_builder_set_member_name (b, "command");
  json_builder_add_string_value (b, self->command != NULL ? self->command : "");
  json_builder_end_object (b);

  g_autoptr (JsonNode) root = json_builder_get_root (b);
  return json_to_string (root, FALSE);
}

static void complete (NsTrainPanel *self, NsTrainState state, const char *message);

static void
on_validation_started (int version, guint n_cases, gpointer data)
{
  NsTrainPanel *self = data;

  g_free (self->phase_text);
  self->phase_text = g_strdup_printf ("Validating v%d on %u case%s…", version, n_cases,
                                      n_cases == 1 ? "" : "s");
  gtk_label_set_text (GTK_LABEL (self->status), self->phase_text);
  gtk_progress_bar_set_text (GTK_PROGRESS_BAR (self->bar), self->phase_text);
  gtk_progress_bar_pulse (GTK_PROGRESS_BAR (self->bar));
  g_signal_emit (self, signals[SIGNAL_PROGRESS], 0);
}

static void
on_validated (GObject *source, GAsyncResult *res, gpointer data)
{
  NsTrainPanel *self = data;
  g_autoptr (GError) error = NULL;
  g_autofree char *summary = NULL;
  g_autofree char *message = NULL;

  /* the model is registered either way: a failed validation leaves it without figures */
  if (!ns_train_validation_run_finish (res, &summary, &error))
    message = g_strdup_printf ("%s; it has no figures, and promoting it needs Promote "
                               "Anyway", error->message);
  else
    message = g_steal_pointer (&summary);
  complete (self, NS_TRAIN_SUCCEEDED, message);
  g_object_unref (self);
}

/* The new version and the current default on the same validation cases. */
static void
validate (NsTrainPanel *self)
{
  ns_train_validation_run_async (self->exe, self->db_path, self->new_version,
                                 (const char *const *) self->val_cases, self->device,
                                 NULL, on_validation_started, self, on_validated,
                                 g_object_ref (self));
}

/* The version this panel's run produced when it has already ended with a model (another
 * workbench following the same Slurm job registered it first), else 0. */
static int
registered_elsewhere (NsTrainPanel *self, NsDb *queue)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (NsRun) run = self->run_id != 0 ? ns_runs_dup_run (queue, self->run_id, &error)
                                            : NULL;

  if (run == NULL && error != NULL)
    g_warning ("%s", error->message);
  return run != NULL && run->status == NS_RUN_SUCCEEDED ? run->model_version : 0;
}

void
_ns_train_panel_finish (NsTrainPanel *self, NsTrainState state, const char *message)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (NsDb) queue = ns_db_open (self->db_path, &error);
  int elsewhere = 0;

  if (state == NS_TRAIN_SUCCEEDED)
    {
      const char *path = json_object_get_string_member_with_default (self->done, "model",
                                                                     self->output);
      g_autoptr (NsModelMeta) meta = path != NULL ? ns_checkpoint_read_meta (path, &error)
                                                  : NULL;

      if (queue == NULL || meta == NULL)
        {
          state = NS_TRAIN_FAILED;
          message = error != NULL ? error->message : "the trainer wrote no model";
        }
      else
        {
          g_autofree char *metrics = build_metrics (self);
          NsRegistryModelInfo info = { 0 };

          info.path = path;
          info.arch = meta->arch;
          info.parent = self->base_version;
          info.metrics = metrics;
          info.run_id = self->run_id;
          self->new_version = ns_registry_register_model (queue, &info, &error);
          elsewhere = self->new_version == 0 ? registered_elsewhere (self, queue) : 0;
          if (elsewhere > 0)
            self->new_version = elsewhere;
          else if (self->new_version == 0)
            {
              state = NS_TRAIN_FAILED;
              message = error->message;
            }
        }
    }
  if (state != NS_TRAIN_SUCCEEDED && queue != NULL && self->run_id != 0)
    {
      g_autoptr (GError) e2 = NULL;

      if (!ns_runs_finish (queue, self->run_id,
                           state == NS_TRAIN_CANCELLED ? NS_RUN_CANCELLED : NS_RUN_FAILED,
                           message, &e2))
        g_warning ("%s", e2->message);
    }
  else if (queue == NULL && state != NS_TRAIN_SUCCEEDED)
    g_warning ("%s", error->message);

  g_clear_object (&self->proc);
  g_clear_object (&self->out);
  gtk_widget_set_sensitive (self->cancel, FALSE);
  if (elsewhere > 0)
    {
      /* another workbench following the same (Slurm) run registered its model first:
       * that version is this run's, and that workbench validates it */
      complete (self, state, "another workbench following the same run registered it first");
      return;
    }
  if (state == NS_TRAIN_SUCCEEDED && self->val_cases != NULL && self->val_cases[0] != NULL
      && self->exe != NULL)
    {
      validate (self);
      return;
    }
  complete (self, state,
            state == NS_TRAIN_SUCCEEDED && self->exe != NULL
              ? "no validation cases were chosen: the new version has no validation figures, "
                "and promoting it needs Promote Anyway" : message);
}

/* The end of the run: the state, the panel's words, "finished". */
static void
complete (NsTrainPanel *self, NsTrainState state, const char *message)
{
  g_clear_pointer (&self->phase_text, g_free);
  self->state = state;
  g_free (self->message);
  self->message = g_strdup (message);

  g_autofree char *text = NULL;
  if (state == NS_TRAIN_SUCCEEDED)
    text = g_strdup_printf ("Finished: model version %d registered%s%s", self->new_version,
                            message != NULL ? "; " : "", message != NULL ? message : "");
  else if (state == NS_TRAIN_CANCELLED)
    text = g_strdup ("Cancelled: the registry is unchanged");
  else
    text = g_strdup_printf ("Training failed: %s (the registry is unchanged)", message);
  gtk_label_set_text (GTK_LABEL (self->status), text);
  g_signal_emit (self, signals[SIGNAL_FINISHED], 0, (int) state, self->new_version, message);
}

static void
on_wait (GObject *source, GAsyncResult *res, gpointer data)
{
  NsTrainPanel *self = data;
  GSubprocess *proc = G_SUBPROCESS (source);
  g_autoptr (GError) error = NULL;
  g_autofree char *message = NULL;
  gboolean stopped;

  if (!g_subprocess_wait_finish (proc, res, &error))
    {
      if (!g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        _ns_train_panel_finish (self, NS_TRAIN_FAILED, error->message);
      g_object_unref (self);
      return;
    }
  stopped = self->done != NULL
            && json_object_get_boolean_member_with_default (self->done, "stopped", FALSE);
  if (g_subprocess_get_if_signaled (proc))
    message = g_strdup_printf ("the trainer was killed by signal %d (%s)",
                               g_subprocess_get_term_sig (proc),
                               g_strsignal (g_subprocess_get_term_sig (proc)));
  else if (g_subprocess_get_exit_status (proc) != 0)
    message = g_strdup_printf ("the trainer exited with status %d%s%s",
                               g_subprocess_get_exit_status (proc),
                               self->error_event != NULL ? ": " : "",
                               self->error_event != NULL ? self->error_event : "");
  else if (self->error_event != NULL)
    message = g_strdup (self->error_event);
  else if (self->done == NULL)
    message = g_strdup ("the trainer ended without a \"done\" event");

  if (self->cancel_requested || stopped)
    _ns_train_panel_finish (self, NS_TRAIN_CANCELLED, message != NULL ? message : "cancelled");
  else if (message != NULL)
    _ns_train_panel_finish (self, NS_TRAIN_FAILED, message);
  else
    _ns_train_panel_finish (self, NS_TRAIN_SUCCEEDED, NULL);
  g_object_unref (self);
}

static void
read_next (NsTrainPanel *self);

static void
on_line (GObject *source, GAsyncResult *res, gpointer data)
{
  NsTrainPanel *self = data;
  g_autoptr (GError) error = NULL;
  gsize len;
  g_autofree char *line = g_data_input_stream_read_line_finish_utf8 (G_DATA_INPUT_STREAM (source),
                                                                     res, &len, &error);

  if (line != NULL)
    {
      ns_train_panel_feed_line (self, line);
      read_next (self);
      g_object_unref (self);
      return;
    }
  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    {
      g_object_unref (self);
      return;
    }
  /* end of the stream (or a read error): the process's exit decides */
  if (self->proc != NULL)
    g_subprocess_wait_async (self->proc, self->cancellable, on_wait, g_object_ref (self));
  g_object_unref (self);
}

static void
read_next (NsTrainPanel *self)
{
  g_data_input_stream_read_line_async (self->out, G_PRIORITY_DEFAULT, self->cancellable,
                                       on_line, g_object_ref (self));
}

static void
reset_run (NsTrainPanel *self)
{
  self->state = NS_TRAIN_IDLE;
  g_clear_pointer (&self->message, g_free);
  g_clear_pointer (&self->error_event, g_free);
  g_clear_pointer (&self->done, json_object_unref);
  self->new_version = 0;
  self->n_steps = 0;
  self->total_steps = 0;
  self->fraction = 0;
  self->eta = NAN;
  self->cancel_requested = FALSE;
  g_array_set_size (self->step_x, 0);
  g_array_set_size (self->step_loss, 0);
  g_array_set_size (self->epoch_x, 0);
  g_array_set_size (self->epoch_loss, 0);
  g_array_set_size (self->epoch_dice, 0);
}

/* In the child before exec: the trainer gets SIGTERM (and stops cleanly after its step)
 * when the GUI dies, rather than training on for a run nobody will register. */
static void
child_setup (gpointer data)
{
#ifdef __linux__
  prctl (PR_SET_PDEATHSIG, SIGTERM);
#endif
}

void
_ns_train_panel_begin (NsTrainPanel *self, const char *const *argv, const char *output,
                       int base_version, guint n_cases)
{
  reset_run (self);
  _ns_train_panel_clear_slurm (self);
  g_free (self->output);
  self->output = g_strdup (output);
  g_free (self->command);
  self->command = g_strjoinv (" ", (char **) argv);
  if (self->selection != NULL)
    {
      /* which cases and why, in the run's record (ns_train_panel_start) */
      char *with = g_strdup_printf ("%s  # cases: %s", self->command, self->selection);

      g_free (self->command);
      self->command = with;
      g_clear_pointer (&self->selection, g_free);
    }
  self->base_version = base_version;
  self->n_cases = n_cases;
}

gboolean
ns_train_panel_start_argv (NsTrainPanel *self, const char *const *argv, const char *output,
                           int base_version, const gint64 *case_ids, guint n_cases,
                           GError **error)
{
  g_autoptr (NsDb) queue = NULL;
  g_autoptr (GSubprocessLauncher) launcher = NULL;
  g_autofree char *log_path = NULL;
  GInputStream *stdout_pipe;

  g_return_val_if_fail (NS_IS_TRAIN_PANEL (self), FALSE);
  if (self->state == NS_TRAIN_RUNNING)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_BUSY, "a fine-tuning run is in progress");
      return FALSE;
    }
  _ns_train_panel_begin (self, argv, output, base_version, n_cases);

  queue = ns_db_open (self->db_path, error);
  if (queue == NULL)
    return FALSE;
  log_path = g_strconcat (output, ".log", NULL);
  self->run_id = ns_runs_begin (queue, self->command, log_path, case_ids, n_cases, 0,
                                     error);
  if (self->run_id == 0)
    return FALSE;

  launcher = g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_STDOUT_PIPE);
  g_subprocess_launcher_set_stderr_file_path (launcher, log_path);
  g_subprocess_launcher_set_child_setup (launcher, child_setup, NULL, NULL);
  self->proc = g_subprocess_launcher_spawnv (launcher, argv, error);
  if (self->proc == NULL)
    {
      ns_runs_finish (queue, self->run_id, NS_RUN_FAILED,
                      error != NULL && *error != NULL ? (*error)->message : NULL, NULL);
      return FALSE;
    }
  /* The run stays recorded under this process (not the trainer's): the GUI registers the
   * model after the trainer has exited, and a run whose GUI died is reaped as failed. */

  stdout_pipe = g_subprocess_get_stdout_pipe (self->proc);
  self->out = g_data_input_stream_new (stdout_pipe);
  g_clear_object (&self->cancellable);
  self->cancellable = g_cancellable_new ();
  self->state = NS_TRAIN_RUNNING;
  gtk_widget_set_sensitive (self->cancel, TRUE);
  gtk_label_set_text (GTK_LABEL (self->status), "Fine-tuning…");
  gtk_progress_bar_set_fraction (GTK_PROGRESS_BAR (self->bar), 0);
  gtk_progress_bar_set_text (GTK_PROGRESS_BAR (self->bar), "Starting the trainer…");
  read_next (self);
  return TRUE;
}

static char *
trainer_binary (void)
{
  const char *env = g_getenv ("NEUROSEG");
  g_autofree char *self_exe = NULL;

  if (env != NULL && *env != '\0')
    return g_strdup (env);
  self_exe = g_file_read_link ("/proc/self/exe", NULL);
  if (self_exe != NULL)
    {
      g_autofree char *base = g_path_get_basename (self_exe);

      if (strcmp (base, "neuroseg") == 0)
        return g_steal_pointer (&self_exe);
    }
  return g_find_program_in_path ("neuroseg");
}

/* A folder per queued case holding links to its images and its corrected mask (the one
 * stored in the database, written here) named as the case's segmentation, so that the
 * trainer learns from the correction. */
static char *
link_case (NsDb *db, const NsQueueEntry *e, const char *run_dir, GError **error)
{
  char *paths[NS_N_CASE_FILES] = { NULL };
  g_autofree char *dir = g_build_filename (run_dir, e->case_id, NULL);
  gboolean ok = TRUE;

  /* the images it was corrected on (another workstation sees them at the same paths) */
  if (!ns_queue_verify_case_files (e, error) || !ns_case_discover (e->path, paths, error))
    return NULL;
  if (g_mkdir_with_parents (dir, 0755) != 0)
    {
      g_set_error (error, G_IO_ERROR, g_io_error_from_errno (errno), "%s: %s", dir,
                   g_strerror (errno));
      ok = FALSE;
    }
  for (int f = 0; ok && f < NS_N_CASE_FILES; f++)
    {
      const char *src = f == NS_CASE_FILE_LABELS ? e->mask_path : paths[f];
      g_autofree char *name = NULL, *link = NULL;

      if (f == NS_CASE_FILE_LABELS && e->mask_sha256 != NULL)
        {
          /* the correction as stored in the database (checked by its sha256) */
          name = g_strdup_printf ("%s_seg.nii.gz", e->case_id);
          link = g_build_filename (dir, name, NULL);
          ok = ns_queue_write_mask (db, e->annotation_id, link, error);
          continue;
        }
      if (src == NULL || f == NS_CASE_FILE_BRAIN_MASK)
        continue;
      name = g_strdup_printf ("%s_%s%s", e->case_id,
                              f == NS_CASE_FILE_LABELS ? "seg" : ns_modality_name (f),
                              g_str_has_suffix (src, ".gz") ? ".nii.gz" : ".nii");
      link = g_build_filename (dir, name, NULL);
      g_autofree char *abs = g_canonicalize_filename (src, NULL);
      if (symlink (abs, link) != 0)
        {
          g_set_error (error, G_IO_ERROR, g_io_error_from_errno (errno), "%s: %s", link,
                       g_strerror (errno));
          ok = FALSE;
        }
    }
  for (int f = 0; f < NS_N_CASE_FILES; f++)
    g_free (paths[f]);
  return ok ? g_steal_pointer (&dir) : NULL;
}

/* Keeps in entries the cases to train on; *selection says which and why (owned). */
static gboolean
choose_cases (GPtrArray *entries, gboolean accepted_only, char **selection, GError **error)
{
  g_autoptr (GString) left_out = g_string_new (NULL);
  guint n_queued = entries->len;

  for (guint i = 0; accepted_only && i < entries->len;)
    {
      const NsQueueEntry *e = entries->pdata[i];

      if (e->review == NS_QUEUE_REVIEW_ACCEPTED)
        {
          i++;
          continue;
        }
      g_string_append_printf (left_out, "%s%s %s", left_out->len > 0 ? ", " : "",
                              e->case_id, ns_queue_review_name (e->review));
      g_ptr_array_remove_index (entries, i);
    }
  if (entries->len == 0)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED,
                   "Fine-tune: none of the %u queued corrections was accepted by a second "
                   "reader (%s); review them in the queue, or train on every correction",
                   n_queued, left_out->str);
      return FALSE;
    }
  if (accepted_only)
    *selection = g_strdup_printf ("accepted corrections only: %u of %u queued%s%s%s",
                                  entries->len, n_queued, left_out->len > 0 ? " (left out: " : "",
                                  left_out->str, left_out->len > 0 ? ")" : "");
  else
    *selection = g_strdup_printf ("every queued correction: %u, reviewed or not", n_queued);
  return TRUE;
}

gboolean
ns_train_panel_start (NsTrainPanel *self, const NsTrainRequest *request, GError **error)
{
  g_autoptr (NsDb) queue = ns_db_open (self->db_path, error);
  g_autoptr (GPtrArray) entries = NULL;
  g_autoptr (GPtrArray) argv = g_ptr_array_new_with_free_func (g_free);
  g_autoptr (GArray) ids = g_array_new (FALSE, FALSE, sizeof (gint64));
  g_autofree char *exe = trainer_binary ();
  g_autofree char *output = NULL, *run_dir = NULL, *stamp = NULL, *selection = NULL;
  g_autofree char *job_folder = NULL;
  g_autoptr (GDateTime) now = g_date_time_new_now_utc ();

  if (queue == NULL)
    return FALSE;
  if (exe == NULL)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND,
                   "Fine-tune: the neuroseg binary was not found (set NEUROSEG)");
      return FALSE;
    }
  entries = ns_queue_list (queue, NS_QUEUE_SORT_ADDED, NS_QUEUE_STATE_QUEUED, error);
  if (entries == NULL)
    return FALSE;
  if (entries->len == 0)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED,
                   "Fine-tune: the queue holds no corrected case (Segmentation > Mark "
                   "Corrected and Queue)");
      return FALSE;
    }
  if (!choose_cases (entries, request->accepted_only, &selection, error))
    return FALSE;
  stamp = g_date_time_format (now, "%Y%m%d-%H%M%S");
  if (request->slurm != NULL)
    {
      /* everything of the job in one folder on shared storage, the model included */
      g_autofree char *parent = request->slurm->folder != NULL
                                  ? g_strdup (request->slurm->folder)
                                  : ns_train_panel_dup_default_slurm_folder (self->db_path);
      g_autofree char *name = g_strdup_printf ("finetune-%s", stamp);

      job_folder = g_build_filename (parent, name, NULL);
      output = request->output != NULL ? g_strdup (request->output)
                                       : g_build_filename (job_folder, "model.safetensors",
                                                           NULL);
      if (g_mkdir_with_parents (job_folder, 0755) != 0)
        {
          int saved = errno;

          g_set_error (error, G_IO_ERROR, g_io_error_from_errno (saved),
                       "Fine-tune on Slurm: %s: %s", job_folder, g_strerror (saved));
          return FALSE;
        }
    }
  else if (request->output != NULL)
    output = g_strdup (request->output);
  else
    {
      g_autofree char *name = g_strdup_printf ("model-%s.safetensors", stamp);
      g_autofree char *db = self->db_path != NULL ? g_strdup (self->db_path)
                                                   : ns_db_dup_default_path ();
      g_autofree char *db_dir = g_path_get_dirname (db);
      g_autofree char *models = g_build_filename (db_dir, "models", NULL);
      g_mkdir_with_parents (models, 0755);
      output = g_build_filename (models, name, NULL);
    }
  run_dir = g_strdup_printf ("%s.cases", output);

  g_ptr_array_add (argv, g_strdup (exe));
  g_ptr_array_add (argv, g_strdup ("train"));
  g_ptr_array_add (argv, g_strdup ("--json-progress"));
  for (guint i = 0; i < entries->len; i++)
    {
      NsQueueEntry *e = entries->pdata[i];
      char *dir = link_case (queue, e, run_dir, error);

      if (dir == NULL)
        return FALSE;
      g_ptr_array_add (argv, g_strdup ("--data"));
      g_ptr_array_add (argv, dir);
      g_array_append_val (ids, e->id);
    }
  for (char **v = request->val_cases; v != NULL && *v != NULL; v++)
    {
      g_ptr_array_add (argv, g_strdup ("--val"));
      g_ptr_array_add (argv, g_strdup (*v));
    }
  if (request->base_model != NULL)
    {
      g_ptr_array_add (argv, g_strdup ("--init"));
      g_ptr_array_add (argv, g_strdup (request->base_model));
    }
  g_ptr_array_add (argv, g_strdup ("--epochs"));
  g_ptr_array_add (argv, g_strdup_printf ("%d", MAX (request->epochs, 1)));
  if (request->lr > 0)
    {
      char buf[G_ASCII_DTOSTR_BUF_SIZE];
      g_ptr_array_add (argv, g_strdup ("--lr"));
      g_ptr_array_add (argv, g_strdup (g_ascii_dtostr (buf, sizeof buf, request->lr)));
    }
  g_ptr_array_add (argv, g_strdup ("--device"));
  g_ptr_array_add (argv, g_strdup (request->device != NULL ? request->device : "auto"));
  for (char **v = request->extra_args; v != NULL && *v != NULL; v++)
    g_ptr_array_add (argv, g_strdup (*v));
  g_ptr_array_add (argv, g_strdup ("-o"));
  g_ptr_array_add (argv, g_strdup (output));
  g_ptr_array_add (argv, NULL);

  g_strfreev (self->val_cases);
  self->val_cases = g_strdupv (request->val_cases);
  g_free (self->device);
  self->device = g_strdup (request->device);
  g_free (self->exe);
  self->exe = g_strdup (exe);
  g_free (self->selection);
  self->selection = g_steal_pointer (&selection);
  /* the registry's parent: the base's version (0: the shipped model), none from scratch */
  if (request->slurm != NULL)
    return _ns_train_panel_start_slurm (self, request->slurm, (const char *const *) argv->pdata,
                                        output, job_folder,
                                        request->base_model != NULL ? request->base_version
                                                                    : NS_REGISTRY_NONE,
                                        (const gint64 *) ids->data, ids->len, error);
  return ns_train_panel_start_argv (self, (const char *const *) argv->pdata, output,
                                    request->base_model != NULL ? request->base_version
                                                                : NS_REGISTRY_NONE,
                                    (const gint64 *) ids->data, ids->len, error);
}

void
ns_train_panel_cancel (NsTrainPanel *self)
{
  if (self->job_id != 0 && self->state == NS_TRAIN_RUNNING)
    {
      _ns_train_panel_cancel_slurm (self);
      return;
    }
  if (self->proc == NULL || self->state != NS_TRAIN_RUNNING)
    return;
  self->cancel_requested = TRUE;
  g_subprocess_send_signal (self->proc, SIGTERM);
  gtk_label_set_text (GTK_LABEL (self->status), "Stopping after the current step…");
}

NsTrainState
ns_train_panel_get_state (NsTrainPanel *self)
{
  return self->state;
}

int
ns_train_panel_get_new_version (NsTrainPanel *self)
{
  return self->new_version;
}

const char *
ns_train_panel_get_message (NsTrainPanel *self)
{
  return self->message;
}

guint
ns_train_panel_get_n_steps (NsTrainPanel *self)
{
  return self->n_steps;
}

guint
ns_train_panel_get_n_epochs (NsTrainPanel *self)
{
  return self->epoch_x->len;
}

void
ns_train_panel_get_epoch (NsTrainPanel *self, guint index, double *loss, double *dice_wt)
{
  g_return_if_fail (index < self->epoch_x->len);
  if (loss != NULL)
    *loss = g_array_index (self->epoch_loss, double, index);
  if (dice_wt != NULL)
    *dice_wt = g_array_index (self->epoch_dice, double, index);
}

void
ns_train_panel_get_progress (NsTrainPanel *self, double *fraction, double *eta_seconds)
{
  if (fraction != NULL)
    *fraction = self->fraction;
  if (eta_seconds != NULL)
    *eta_seconds = self->eta;
}

GtkWidget *
ns_train_panel_get_plot (NsTrainPanel *self)
{
  return self->plot;
}

/* ---- the plot ------------------------------------------------------------------------- */

static void
plot_series (cairo_t *cr, GArray *x, GArray *y, double x_max, double y_max, double ox,
             double oy, double w, double h, gboolean points)
{
  gboolean started = FALSE;

  for (guint i = 0; i < x->len; i++)
    {
      double vx = g_array_index (x, double, i), vy = g_array_index (y, double, i);
      double px, py;

      if (!isfinite (vy))
        continue;
      px = ox + w * vx / x_max;
      py = oy + h - h * CLAMP (vy / y_max, 0, 1);
      if (points)
        {
          cairo_new_sub_path (cr);
          cairo_arc (cr, px, py, 3, 0, 2 * G_PI);
        }
      else if (!started)
        cairo_move_to (cr, px, py);
      else
        cairo_line_to (cr, px, py);
      started = TRUE;
    }
}

static void
draw_plot (GtkDrawingArea *area, cairo_t *cr, int width, int height, gpointer data)
{
  NsTrainPanel *self = data;
  double ox = 40, oy = 10, w = width - 50, h = height - 30;
  double x_max = MAX ((double) self->total_steps, 1);
  double loss_max = 1e-6;

  for (guint i = 0; i < self->step_loss->len; i++)
    if (isfinite (g_array_index (self->step_loss, double, i)))
      loss_max = MAX (loss_max, g_array_index (self->step_loss, double, i));
  for (guint i = 0; i < self->epoch_loss->len; i++)
    if (isfinite (g_array_index (self->epoch_loss, double, i)))
      loss_max = MAX (loss_max, g_array_index (self->epoch_loss, double, i));
  for (guint i = 0; i < self->step_x->len; i++)
    x_max = MAX (x_max, g_array_index (self->step_x, double, i));

  cairo_set_source_rgb (cr, 1, 1, 1);
  cairo_paint (cr);
  if (w < 10 || h < 10)
    return;
  /* axes */
  cairo_set_source_rgb (cr, 0.3, 0.3, 0.3);
  cairo_set_line_width (cr, 1);
  cairo_move_to (cr, ox, oy);
  cairo_line_to (cr, ox, oy + h);
  cairo_line_to (cr, ox + w, oy + h);
  cairo_stroke (cr);
  cairo_set_font_size (cr, 10);
  /* grid lines at Dice 0.25, 0.5, 0.75, 1 (and the same fractions of the largest loss) */
  for (int g = 1; g <= 4; g++)
    {
      double y = oy + h - h * g / 4.0;
      char text[32];

      cairo_set_source_rgb (cr, 0.88, 0.88, 0.88);
      cairo_move_to (cr, ox + 1, y);
      cairo_line_to (cr, ox + w, y);
      cairo_stroke (cr);
      cairo_set_source_rgb (cr, 0.3, 0.3, 0.3);
      g_snprintf (text, sizeof text, "%.2f", g / 4.0);
      cairo_move_to (cr, 4, y + 4);
      cairo_show_text (cr, text);
    }
  {
    char text[48];

    g_snprintf (text, sizeof text, "loss: top = %.3g", loss_max);
    cairo_set_source_rgb (cr, 0.12, 0.47, 0.71);
    cairo_move_to (cr, ox + w - 90, oy + 10);
    cairo_show_text (cr, text);
    cairo_set_source_rgb (cr, 0.3, 0.3, 0.3);
  }
  cairo_move_to (cr, ox + 4, oy + h + 14);
  cairo_show_text (cr, "steps →   blue: loss (per step, dots per epoch)   "
                       "orange: validation Dice WT");

  /* loss per step (line) and per epoch (dots), scaled to its maximum */
  cairo_set_source_rgb (cr, 0.12, 0.47, 0.71);
  cairo_set_line_width (cr, 1.5);
  plot_series (cr, self->step_x, self->step_loss, x_max, loss_max, ox, oy, w, h, FALSE);
  cairo_stroke (cr);
  plot_series (cr, self->epoch_x, self->epoch_loss, x_max, loss_max, ox, oy, w, h, TRUE);
  cairo_fill (cr);
  /* validation Dice per epoch, 0..1 */
  cairo_set_source_rgb (cr, 1.0, 0.5, 0.05);
  cairo_set_line_width (cr, 2);
  plot_series (cr, self->epoch_x, self->epoch_dice, x_max, 1.0, ox, oy, w, h, FALSE);
  cairo_stroke (cr);
  plot_series (cr, self->epoch_x, self->epoch_dice, x_max, 1.0, ox, oy, w, h, TRUE);
  cairo_fill (cr);
}

/* ---- GObject ------------------------------------------------------------------------ */

static void
ns_train_panel_dispose (GObject *object)
{
  NsTrainPanel *self = NS_TRAIN_PANEL (object);

  if (self->cancellable != NULL)
    g_cancellable_cancel (self->cancellable);
  /* a trainer still running when the panel goes away is stopped cleanly */
  if (self->proc != NULL && self->state == NS_TRAIN_RUNNING)
    g_subprocess_send_signal (self->proc, SIGTERM);
  g_clear_object (&self->proc);
  g_clear_object (&self->out);
  g_clear_object (&self->cancellable);
  /* a Slurm job goes on without the panel: its record lets the next workbench follow it */
  _ns_train_panel_clear_slurm (self);
  G_OBJECT_CLASS (ns_train_panel_parent_class)->dispose (object);
}

/* Out of its window (the window closed): a Slurm job is no longer followed here; it goes
 * on, and its record lets the next workbench follow it. */
static void
ns_train_panel_unroot (GtkWidget *widget)
{
  NsTrainPanel *self = NS_TRAIN_PANEL (widget);

  if (self->job_id != 0 && self->state == NS_TRAIN_RUNNING)
    _ns_train_panel_stop_following (self);
  GTK_WIDGET_CLASS (ns_train_panel_parent_class)->unroot (widget);
}

static void
ns_train_panel_finalize (GObject *object)
{
  NsTrainPanel *self = NS_TRAIN_PANEL (object);

  g_free (self->db_path);
  g_free (self->message);
  g_free (self->output);
  g_free (self->command);
  g_free (self->selection);
  g_free (self->error_event);
  g_strfreev (self->val_cases);
  g_free (self->device);
  g_free (self->exe);
  g_free (self->phase_text);
  g_clear_pointer (&self->done, json_object_unref);
  g_array_unref (self->step_x);
  g_array_unref (self->step_loss);
  g_array_unref (self->epoch_x);
  g_array_unref (self->epoch_loss);
  g_array_unref (self->epoch_dice);
  g_array_unref (self->job_cases);
  G_OBJECT_CLASS (ns_train_panel_parent_class)->finalize (object);
}

static void
ns_train_panel_class_init (NsTrainPanelClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->dispose = ns_train_panel_dispose;
  object_class->finalize = ns_train_panel_finalize;
  GTK_WIDGET_CLASS (klass)->unroot = ns_train_panel_unroot;
  signals[SIGNAL_PROGRESS] = g_signal_new ("progress", G_TYPE_FROM_CLASS (klass),
                                           G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL,
                                           G_TYPE_NONE, 0);
  signals[SIGNAL_FINISHED] = g_signal_new ("finished", G_TYPE_FROM_CLASS (klass),
                                           G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL,
                                           G_TYPE_NONE, 3, G_TYPE_INT, G_TYPE_INT,
                                           G_TYPE_STRING);
}

static void
ns_train_panel_init (NsTrainPanel *self)
{
  GtkBox *box = GTK_BOX (self);

  gtk_orientable_set_orientation (GTK_ORIENTABLE (self), GTK_ORIENTATION_VERTICAL);
  gtk_box_set_spacing (box, 6);
  self->status = gtk_label_new ("Not started");
  /* names: what end-to-end tests read (ns-test-status.h) */
  gtk_widget_set_name (self->status, "train-status");
  gtk_label_set_xalign (GTK_LABEL (self->status), 0);
  gtk_label_set_wrap (GTK_LABEL (self->status), TRUE);
  self->bar = gtk_progress_bar_new ();
  gtk_progress_bar_set_show_text (GTK_PROGRESS_BAR (self->bar), TRUE);
  self->plot = gtk_drawing_area_new ();
  gtk_drawing_area_set_content_width (GTK_DRAWING_AREA (self->plot), 480);
  gtk_drawing_area_set_content_height (GTK_DRAWING_AREA (self->plot), 220);
  gtk_widget_set_vexpand (self->plot, TRUE);
  gtk_drawing_area_set_draw_func (GTK_DRAWING_AREA (self->plot), draw_plot, self, NULL);
  self->cancel = gtk_button_new_with_mnemonic ("_Cancel Training");
  gtk_widget_set_halign (self->cancel, GTK_ALIGN_END);
  gtk_widget_set_sensitive (self->cancel, FALSE);
  g_signal_connect_swapped (self->cancel, "clicked", G_CALLBACK (ns_train_panel_cancel), self);
  gtk_box_append (box, self->status);
  gtk_box_append (box, self->bar);
  gtk_box_append (box, self->plot);
  gtk_box_append (box, self->cancel);
  self->step_x = g_array_new (FALSE, FALSE, sizeof (double));
  self->step_loss = g_array_new (FALSE, FALSE, sizeof (double));
  self->epoch_x = g_array_new (FALSE, FALSE, sizeof (double));
  self->epoch_loss = g_array_new (FALSE, FALSE, sizeof (double));
  self->epoch_dice = g_array_new (FALSE, FALSE, sizeof (double));
  self->job_cases = g_array_new (FALSE, FALSE, sizeof (gint64));
  self->eta = NAN;
}

GtkWidget *
ns_train_panel_new (const char *db_path)
{
  NsTrainPanel *self = g_object_new (NS_TYPE_TRAIN_PANEL, NULL);

  self->db_path = g_strdup (db_path);
  return GTK_WIDGET (self);
}
