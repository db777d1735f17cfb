/* SPDX-License-Identifier: MIT
 *
 * ns-ai-controller.c: the workbench's Run Model, Mark Corrected and Queue, model choice,
 * queue, fine-tuning and models windows, wired to one NsModelRunner, and the AI job the
 * window shows in its status bar and sidebar (NsJobStatus).
 */
#define G_LOG_DOMAIN "neuroseg-ui"

#include "ns-ai-controller.h"

#include <math.h>

#include "ns-corrections.h"
#include "ns-data-error.h"
#include "ns-fine-tune-dialog.h"
#include "ns-job-status.h"
#include "ns-models-dialog.h"
#include "ns-queue-panel.h"
#include "ns-queue-session.h"
#include "ns-registry.h"
#include "ns-train-panel.h"
#include "ns-uncertainty-window.h"

struct _NsAiController
{
  GObject parent_instance;

  GtkWindow *window;          /* weak */
  NsViewer *viewer;
  NsEditor *editor;
  NsModelRunner *runner;
  void (*open_case) (GtkWindow *window, const char *path);
  GtkWindow *progress;        /* the Run Model window, weak (only without a panel) */
  GtkWindow *queue;           /* the queue window, weak */
  NsQueuePanel *queue_panel;  /* its panel, valid while queue is */
  GtkWidget *panel;           /* the sidebar panel, weak (NULL: progress in a window) */
  GtkWidget *result_label;    /* in the panel */
  NsTrainPanel *training;     /* the fine-tuning run followed, weak */
  char *job_text;             /* the job shown (NULL: none) */
  double job_fraction;        /* its fraction done */
  /* the queued case opened from the queue panel: one's claim on it (NULL: read-only, or
   * none), its path; released when the viewer shows another case or none */
  NsQueueSession *claim;
  char *queue_case_path;
  /* that case opened read-only (a colleague holds it): its queue id (0: not) and why; the
   * editor is read-only while the viewer shows it */
  gint64 read_only_case;
  char *read_only_reason;
  gboolean queueing;          /* Mark Corrected's queue write runs in its worker */
};

G_DEFINE_FINAL_TYPE (NsAiController, ns_ai_controller, G_TYPE_OBJECT)

enum {
  PROP_0,
  PROP_JOB_TEXT,
  PROP_JOB_FRACTION,
  N_PROPS
};

enum { SIGNAL_JOB_FINISHED, N_SIGNALS };

static GParamSpec *properties[N_PROPS];
static guint signals[N_SIGNALS];

static GtkWidget *
padded_box (void)
{
  GtkWidget *box = gtk_box_new (GTK_ORIENTATION_VERTICAL, 12);

  gtk_widget_set_margin_start (box, 12);
  gtk_widget_set_margin_end (box, 12);
  gtk_widget_set_margin_top (box, 12);
  gtk_widget_set_margin_bottom (box, 12);
  return box;
}

/* A modal message (error: the job failed) over the window. */
static void
show_message (NsAiController *self, gboolean error, const char *primary, const char *text)
{
  GtkWidget *dialog = gtk_message_dialog_new (self->window,
                                              GTK_DIALOG_MODAL | GTK_DIALOG_DESTROY_WITH_PARENT,
                                              error ? GTK_MESSAGE_ERROR : GTK_MESSAGE_INFO,
                                              GTK_BUTTONS_CLOSE, "%s", primary);

  gtk_message_dialog_format_secondary_text (GTK_MESSAGE_DIALOG (dialog), "%s", text);
  g_signal_connect (dialog, "response", G_CALLBACK (gtk_window_destroy), NULL);
  gtk_window_present (GTK_WINDOW (dialog));
}

static void
keep_weak (GtkWindow **slot, GtkWindow *win)
{
  *slot = win;
  g_object_add_weak_pointer (G_OBJECT (win), (gpointer *) slot);
}

/* ---- the job ---------------------------------------------------------------------------- */

/* The job shown: Run Model while it runs, else Mark Corrected's queue write, else the
 * fine-tuning run followed. */
static void
update_job (NsAiController *self)
{
  g_autofree char *text = NULL;
  double fraction = 0;

  if (ns_model_runner_is_running (self->runner))
    {
      int done, total;

      ns_model_runner_get_progress (self->runner, &done, &total);
      text = total > 0 ? g_strdup_printf ("Run Model: %d of %d slices", done, total)
                       : g_strdup ("Run Model: loading the model…");
      fraction = total > 0 ? (double) done / total : 0;
    }
  else if (self->queueing)
    text = g_strdup ("Mark Corrected: adding the case to the queue…");
  else if (self->training != NULL
           && ns_train_panel_get_state (self->training) == NS_TRAIN_RUNNING)
    {
      g_autofree char *step = ns_train_panel_dup_progress_text (self->training);
      double eta;

      text = g_strdup_printf ("Fine-tuning: %s", step != NULL ? step : "starting…");
      if (step != NULL)
        ns_train_panel_get_progress (self->training, &fraction, &eta);
    }
  if (g_strcmp0 (text, self->job_text) != 0)
    {
      g_free (self->job_text);
      self->job_text = g_steal_pointer (&text);
      g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_JOB_TEXT]);
    }
  if (fraction != self->job_fraction)
    {
      self->job_fraction = fraction;
      g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_JOB_FRACTION]);
    }
}

const char *
ns_ai_controller_get_job_text (NsAiController *self)
{
  g_return_val_if_fail (NS_IS_AI_CONTROLLER (self), NULL);
  return self->job_text;
}

double
ns_ai_controller_get_job_fraction (NsAiController *self)
{
  g_return_val_if_fail (NS_IS_AI_CONTROLLER (self), 0);
  return self->job_fraction;
}

void
ns_ai_controller_cancel_job (NsAiController *self)
{
  g_return_if_fail (NS_IS_AI_CONTROLLER (self));

  if (ns_model_runner_is_running (self->runner))
    ns_model_runner_cancel (self->runner);
  else if (self->training != NULL
           && ns_train_panel_get_state (self->training) == NS_TRAIN_RUNNING)
    ns_train_panel_cancel (self->training);
}

static void
training_finished_cb (NsTrainPanel *panel, int state, int new_version, const char *message,
                      NsAiController *self)
{
  g_autofree char *text = NULL;

  update_job (self);
  if (state == NS_TRAIN_SUCCEEDED)
    text = g_strdup_printf ("Fine-tuning finished: model version %d registered%s%s",
                            new_version, message != NULL ? "; " : "",
                            message != NULL ? message : "");
  else if (state == NS_TRAIN_CANCELLED)
    text = g_strdup ("Fine-tuning cancelled");
  else
    text = g_strdup_printf ("Fine-tuning failed: %s", message != NULL ? message : "");
  g_signal_emit (self, signals[SIGNAL_JOB_FINISHED], 0, text);
}

/* Follows a fine-tuning run's progress (the one started last). */
static void
follow_training (NsAiController *self, NsTrainPanel *panel)
{
  if (self->training != NULL)
    {
      g_signal_handlers_disconnect_by_data (self->training, self);
      g_object_remove_weak_pointer (G_OBJECT (self->training), (gpointer *) &self->training);
    }
  self->training = panel;
  g_object_add_weak_pointer (G_OBJECT (panel), (gpointer *) &self->training);
  g_signal_connect_object (panel, "progress", G_CALLBACK (update_job), self,
                           G_CONNECT_SWAPPED);
  g_signal_connect_object (panel, "finished", G_CALLBACK (training_finished_cb), self, 0);
  update_job (self);
}

/* Once the window is up: the Slurm jobs that a workbench closed while they ran left
 * recorded are followed again (ns-fine-tune-dialog.h). */
static gboolean
follow_recorded_jobs_idle (gpointer data)
{
  NsAiController *self = data;
  g_autoptr (GError) error = NULL;
  g_autoptr (GPtrArray) panels = NULL;

  if (self->window == NULL)
    return G_SOURCE_REMOVE;
  panels = ns_fine_tune_dialog_follow_recorded_jobs (self->window, NULL, &error);
  for (guint i = 0; i < panels->len; i++)
    follow_training (self, panels->pdata[i]);
  if (error != NULL)
    show_message (self, TRUE, "A Slurm fine-tuning job cannot be followed", error->message);
  return G_SOURCE_REMOVE;
}

void
ns_ai_controller_follow_training (NsAiController *self, NsTrainPanel *panel)
{
  g_return_if_fail (NS_IS_AI_CONTROLLER (self));
  g_return_if_fail (NS_IS_TRAIN_PANEL (panel));
  follow_training (self, panel);
}

/* ---- Run Model ------------------------------------------------------------------------- */

static void
on_run_finished (NsModelRunner *runner, gboolean ok, const char *message, NsAiController *self)
{
  g_autofree char *text = NULL;
  double u = ns_model_runner_get_uncertainty (runner);

  if (self->progress != NULL)
    gtk_window_destroy (self->progress);
  update_job (self);
  if (ok && isfinite (u))
    text = g_strdup_printf ("Predicted in %.1f s; uncertainty %.3f",
                            ns_model_runner_get_seconds (runner), u);
  else if (ok)
    text = g_strdup_printf ("Predicted in %.1f s", ns_model_runner_get_seconds (runner));
  else
    text = g_strdup (message != NULL ? message : "");
  if (self->panel != NULL)
    gtk_label_set_text (GTK_LABEL (self->result_label), text);
  g_signal_emit (self, signals[SIGNAL_JOB_FINISHED], 0, text);
  if (!ok && message != NULL && g_strrstr (message, "cancelled") == NULL)
    show_message (self, TRUE, "Run Model failed", message);
  else if (ok && message != NULL)
    show_message (self, FALSE, "Run Model", message);
}

static void
start_run (NsAiController *self, NsRunModelMode mode)
{
  g_autoptr (GError) error = NULL;

  if (!ns_model_runner_start (self->runner, mode, TRUE, &error))
    {
      show_message (self, TRUE, "Run Model", error->message);
      return;
    }
  if (self->progress == NULL && self->panel == NULL)
    {
      GtkWindow *win = GTK_WINDOW (gtk_window_new ());
      g_autofree char *base = g_path_get_basename (ns_model_runner_get_model_path (self->runner));
      g_autofree char *title = g_strdup_printf ("Run Model (%s)", base);
      GtkWidget *box = padded_box ();

      gtk_window_set_title (win, title);
      gtk_window_set_transient_for (win, self->window);
      gtk_window_set_default_size (win, 420, -1);
      gtk_box_append (GTK_BOX (box), ns_job_status_new (self));
      gtk_window_set_child (win, box);
      g_signal_connect_swapped (win, "close-request", G_CALLBACK (ns_model_runner_cancel),
                                self->runner);
      keep_weak (&self->progress, win);
      gtk_window_present (win);
    }
}

static gboolean
mask_has_labels (NsAiController *self)
{
  NsMaskDoc *doc = self->editor != NULL ? ns_editor_get_doc (self->editor) : NULL;
  NsLabelMap *map = doc != NULL ? ns_mask_doc_get_map (doc) : ns_viewer_get_labels (self->viewer);

  if (map == NULL)
    return FALSE;
  for (gsize v = 0, n = ns_grid_n_voxels (&map->grid); v < n; v++)
    if (map->labels[v] != 0)
      return TRUE;
  return FALSE;
}

/* The responses of the Replace Mask question. */
enum { RESPONSE_FILL = 1, RESPONSE_REPLACE };

static void
mode_response_cb (GtkDialog *dialog, int response, NsAiController *self)
{
  gtk_window_destroy (GTK_WINDOW (dialog));
  if (response == RESPONSE_REPLACE)
    start_run (self, NS_RUN_MODEL_REPLACE);
  else if (response == RESPONSE_FILL)
    start_run (self, NS_RUN_MODEL_FILL_UNLABELLED);
}

static void
run_model (NsAiController *self)
{
  g_autoptr (GError) error = NULL;
  GtkWidget *dialog, *replace;

  if (ns_model_runner_is_running (self->runner) || !ns_viewer_has_case (self->viewer))
    return;
  /* the model first: no question about the mask for a run that cannot start */
  if (!ns_model_runner_check (self->runner, &error))
    {
      show_message (self, TRUE, "Run Model", error->message);
      return;
    }
  if (!mask_has_labels (self))
    {
      start_run (self, NS_RUN_MODEL_REPLACE);
      return;
    }
  /* never overwrite the user's labels silently */
  dialog = gtk_message_dialog_new (self->window,
                                   GTK_DIALOG_MODAL | GTK_DIALOG_DESTROY_WITH_PARENT,
                                   GTK_MESSAGE_QUESTION, GTK_BUTTONS_NONE, "Replace the mask?");
  gtk_window_set_title (GTK_WINDOW (dialog), "Run Model");
  gtk_message_dialog_format_secondary_text (
    GTK_MESSAGE_DIALOG (dialog), "%s",
    "The mask already has labels.  The prediction can replace the whole mask, or fill only "
    "the voxels that are unlabelled.  Either way it is one step in the undo history.");
  gtk_dialog_add_button (GTK_DIALOG (dialog), "_Cancel", GTK_RESPONSE_CANCEL);
  gtk_dialog_add_button (GTK_DIALOG (dialog), "_Fill Only Unlabelled Voxels", RESPONSE_FILL);
  replace = gtk_dialog_add_button (GTK_DIALOG (dialog), "_Replace Mask", RESPONSE_REPLACE);
  gtk_widget_add_css_class (replace, "destructive-action");
  g_signal_connect (dialog, "response", G_CALLBACK (mode_response_cb), self);
  gtk_window_present (GTK_WINDOW (dialog));
}

/* ---- the queue ------------------------------------------------------------------------- */

/* Gives back the claim on the case opened from the queue (closed, or another opened). */
static void
drop_claim (NsAiController *self)
{
  g_autoptr (GError) error = NULL;

  if (self->claim != NULL)
    {
      g_signal_handlers_disconnect_by_data (self->claim, self);
      if (!ns_queue_session_release (self->claim, &error))
        g_warning ("%s", error->message); /* it runs out with its lease */
    }
  g_clear_object (&self->claim);
  g_clear_pointer (&self->queue_case_path, g_free);
  self->read_only_case = 0;
  g_clear_pointer (&self->read_only_reason, g_free);
  if (self->editor != NULL)
    ns_editor_set_read_only (self->editor, NULL);
}

static void
on_claim_lost (NsQueueSession *session, const char *why, NsAiController *self)
{
  g_autoptr (GError) error = NULL;

  ns_queue_session_check (session, &error);
  show_message (self, TRUE, "The case was taken over", error->message);
}

static void
on_case_claimed (NsQueuePanel *panel, NsQueueSession *session, NsAiController *self)
{
  if (session != NULL && session == self->claim)
    return; /* the same case opened again under the claim it holds */
  drop_claim (self);
  if (session == NULL)
    {
      const char *reason = NULL;

      /* opened read-only: the editor follows once the viewer shows the case */
      self->read_only_case = ns_queue_panel_get_read_only_case (panel, &reason);
      self->read_only_reason = g_strdup (reason);
      return;
    }
  self->claim = g_object_ref (session);
  g_signal_connect (session, "lost", G_CALLBACK (on_claim_lost), self);
}

static void
on_open_case (NsQueuePanel *panel, const char *path, NsAiController *self)
{
  g_free (self->queue_case_path);
  self->queue_case_path = g_strdup (path);
  if (self->open_case != NULL && self->window != NULL)
    self->open_case (self->window, path);
}

/* Whether the viewer shows the case opened from the queue. */
static gboolean
shows_queue_case (NsAiController *self)
{
  NsCase *ncase = ns_viewer_get_case (self->viewer);
  g_autofree char *shown = NULL, *queued = NULL;

  if (ncase == NULL || self->queue_case_path == NULL)
    return FALSE;
  shown = g_canonicalize_filename (ncase->dir, NULL);
  queued = g_canonicalize_filename (self->queue_case_path, NULL);
  return g_strcmp0 (shown, queued) == 0;
}

/* The viewer shows another case: the claim goes with the case it was made for.  (While
 * the queued case loads, the viewer may show none: that keeps the claim.) */
static void
on_viewer_case (NsViewer *viewer, GParamSpec *pspec, NsAiController *self)
{
  if (self->queue_case_path != NULL && ns_viewer_get_case (viewer) != NULL
      && !shows_queue_case (self))
    drop_claim (self);
  else if (self->read_only_case != 0 && shows_queue_case (self) && self->editor != NULL)
    ns_editor_set_read_only (self->editor, self->read_only_reason);
}

gboolean
ns_ai_controller_is_queueing (NsAiController *self)
{
  g_return_val_if_fail (NS_IS_AI_CONTROLLER (self), FALSE);
  return self->queueing;
}

void
ns_ai_controller_take_over (NsAiController *self)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *note = NULL;
  g_autofree char *location = ns_db_dup_default_path ();   /* the queue panel's */
  NsQueueSession *session;

  g_return_if_fail (NS_IS_AI_CONTROLLER (self));
  if (self->read_only_case == 0 || !shows_queue_case (self))
    return;
  note = g_strdup_printf ("taken over in the editor by %s (it was %s)", g_get_user_name (),
                          self->read_only_reason != NULL ? self->read_only_reason : "held");
  session = ns_queue_session_new (location, self->read_only_case, NULL, 0, TRUE, note, &error);
  if (session == NULL)
    {
      show_message (self, TRUE, "Take Over", error->message);
      return;
    }
  self->claim = session;
  g_signal_connect (session, "lost", G_CALLBACK (on_claim_lost), self);
  self->read_only_case = 0;
  g_clear_pointer (&self->read_only_reason, g_free);
  if (self->editor != NULL)
    ns_editor_set_read_only (self->editor, NULL);
  if (self->queue_panel != NULL)
    ns_queue_panel_refresh (self->queue_panel, NULL);
}

/* Mark Corrected on a case opened from the queue: refused when it was opened read-only
 * (a colleague holds it) or one's claim was lost; else the correction carries the claim. */
static gboolean
check_claim (NsAiController *self, GError **error)
{
  NsCase *ncase = ns_viewer_get_case (self->viewer);

  if (!shows_queue_case (self))
    {
      ns_model_runner_set_claim_token (self->runner, NULL);
      return TRUE;
    }
  if (self->claim == NULL)
    {
      g_set_error (error, NS_DATA_ERROR, NS_DATA_ERROR_REFUSED,
                   "%s was opened read-only: a colleague holds it.  Nothing was written; "
                   "your edits are kept (the mask editor's journal).  Take it over in the "
                   "queue to correct it.", ncase->id);
      return FALSE;
    }
  if (!ns_queue_session_check (self->claim, error))
    return FALSE;
  ns_model_runner_set_claim_token (self->runner, ns_queue_session_get_token (self->claim));
  return TRUE;
}

static void
show_queue (NsAiController *self)
{
  GtkWidget *box;
  GtkWindow *win;

  if (self->queue != NULL)
    {
      ns_queue_panel_refresh (self->queue_panel, NULL);
      gtk_window_present (self->queue);
      return;
    }
  win = GTK_WINDOW (gtk_window_new ());
  gtk_window_set_title (win, "Fine-tuning Queue");
  gtk_window_set_transient_for (win, self->window);
  gtk_window_set_default_size (win, 960, 400); /* rows say who holds a case, since when */
  box = padded_box ();
  self->queue_panel = NS_QUEUE_PANEL (ns_queue_panel_new (NULL));
  gtk_widget_set_vexpand (GTK_WIDGET (self->queue_panel), TRUE);
  g_signal_connect (self->queue_panel, "case-claimed", G_CALLBACK (on_case_claimed), self);
  g_signal_connect (self->queue_panel, "open-case", G_CALLBACK (on_open_case), self);
  gtk_box_append (GTK_BOX (box), GTK_WIDGET (self->queue_panel));
  gtk_window_set_child (win, box);
  keep_weak (&self->queue, win);
  gtk_window_present (win);
}

static void
mark_corrected_failed (NsAiController *self, const GError *error)
{
  NsCase *ncase = ns_viewer_get_case (self->viewer);
  g_autofree char *folder = ncase != NULL ? ns_corrections_dup_case_folder (ncase) : NULL;
  g_autofree char *text = NULL;

  /* the queue's server is away: say where the correction is meanwhile */
  if (g_error_matches (error, NS_DATA_ERROR, NS_DATA_ERROR_UNAVAILABLE) && folder != NULL)
    text = g_strdup_printf ("%s\n\nNothing was written to the queue.  The corrected mask "
                            "is saved on this workstation (%s) and the editor keeps the "
                            "edits; Mark Corrected again once the server is back.",
                            error->message, folder);
  show_message (self, TRUE, "Mark Corrected and Queue", text != NULL ? text : error->message);
}

static void
mark_corrected_done_cb (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (NsAiController) self = user_data;
  g_autoptr (GError) error = NULL;
  gint64 id = ns_model_runner_mark_corrected_finish (NS_MODEL_RUNNER (source), result, &error);

  self->queueing = FALSE;
  update_job (self);
  if (self->window == NULL)
    return; /* the window closed meanwhile: the mask is saved, the queue has it or not */
  if (id == 0)
    mark_corrected_failed (self, error);
  else
    show_queue (self);
}

/* The mask is saved at once; the queue's write, which a busy database or a server that is
 * away retries for up to 30 s, runs in a worker while the main loop goes on. */
static void
mark_corrected (NsAiController *self)
{
  g_autoptr (GError) error = NULL;

  if (self->queueing)
    return; /* the one running says how it ends */
  if (!check_claim (self, &error))
    {
      mark_corrected_failed (self, error);
      return;
    }
  self->queueing = TRUE;
  update_job (self);
  ns_model_runner_mark_corrected_async (self->runner, self->editor, NULL, NULL,
                                        mark_corrected_done_cb, g_object_ref (self));
}

/* ---- the model choice ---------------------------------------------------------------- */

typedef struct
{
  NsAiController *self;
  GPtrArray *paths;     /* char * */
  GArray *versions;     /* int */
  GtkWidget *dropdown, *card;
} Choice;

static void
choice_free (Choice *c)
{
  g_clear_object (&c->card);
  g_ptr_array_unref (c->paths);
  g_array_unref (c->versions);
  g_free (c);
}

static void
on_choice_changed (GtkDropDown *dd, GParamSpec *pspec, Choice *c)
{
  guint i = gtk_drop_down_get_selected (dd);
  g_autoptr (GError) error = NULL;
  g_autofree char *card = NULL;

  if (i >= c->paths->len)
    return;
  ns_model_runner_set_model (c->self->runner, c->paths->pdata[i],
                             g_array_index (c->versions, int, i));
  card = ns_model_runner_describe_model (c->paths->pdata[i], &error);
  gtk_label_set_text (GTK_LABEL (c->card), card != NULL ? card : error->message);
}

static void
on_file_chosen (GtkNativeDialog *native, int response, Choice *c)
{
  if (response == GTK_RESPONSE_ACCEPT)
    {
      g_autoptr (GFile) file = gtk_file_chooser_get_file (GTK_FILE_CHOOSER (native));
      g_autofree char *path = g_file_get_path (file);
      GtkStringList *list = GTK_STRING_LIST (gtk_drop_down_get_model (GTK_DROP_DOWN (c->dropdown)));

      if (path != NULL)
        {
          /* the path first: appending to an empty list selects the new entry at once, and
           * the selection handler looks the path up by position */
          g_ptr_array_add (c->paths, g_strdup (path));
          /* not registered (the registry's 0 is the shipped model) */
          g_array_append_val (c->versions, (int) { NS_REGISTRY_NONE });
          gtk_string_list_append (list, path);
          gtk_drop_down_set_selected (GTK_DROP_DOWN (c->dropdown), c->paths->len - 1);
        }
    }
  g_object_unref (native);
}

static void
on_choose_file (GtkButton *button, Choice *c)
{
  GtkWindow *parent = GTK_WINDOW (gtk_widget_get_root (GTK_WIDGET (button)));
  GtkFileChooserNative *native = gtk_file_chooser_native_new ("Choose a Model", parent,
                                                              GTK_FILE_CHOOSER_ACTION_OPEN,
                                                              "_Open", "_Cancel");
  GtkFileFilter *filter = gtk_file_filter_new ();

  gtk_file_filter_set_name (filter, "Models (*.safetensors)");
  gtk_file_filter_add_pattern (filter, "*.safetensors");
  gtk_file_chooser_add_filter (GTK_FILE_CHOOSER (native), filter);
  g_object_unref (filter);
  g_signal_connect (native, "response", G_CALLBACK (on_file_chosen), c);
  gtk_native_dialog_show (GTK_NATIVE_DIALOG (native));
}

static void
choose_model (NsAiController *self)
{
  GtkWindow *win = GTK_WINDOW (gtk_window_new ());
  GtkWidget *box = padded_box ();
  GtkStringList *names = gtk_string_list_new (NULL);
  Choice *c = g_new0 (Choice, 1);
  g_autoptr (NsDb) queue = ns_db_open_readonly (NULL, NULL);
  const char *current = ns_model_runner_get_model_path (self->runner);
  guint selected = GTK_INVALID_LIST_POSITION;
  GtkWidget *row, *other, *close;

  c->self = self;
  c->paths = g_ptr_array_new_with_free_func (g_free);
  c->versions = g_array_new (FALSE, FALSE, sizeof (int));
  if (queue != NULL)
    {
      g_autoptr (GPtrArray) models = ns_registry_list_models (queue, NULL);

      for (guint i = 0; models != NULL && i < models->len; i++)
        {
          NsRegistryModel *m = models->pdata[i];
          g_autofree char *base = g_path_get_basename (m->path);
          g_autofree char *name = NULL;
          char wt[16] = "–";

          if (m->status != NS_REGISTRY_MODEL_REGISTERED)
            continue;
          if (isfinite (m->dice[0]))
            g_snprintf (wt, sizeof wt, "%.3f", m->dice[0]);
          name = g_strdup_printf ("v%d%s — %s (WT Dice %s)", m->version,
                                  m->is_default ? " (default)" : "", base, wt);
          if (g_strcmp0 (current, m->path) == 0)
            selected = c->paths->len;
          gtk_string_list_append (names, name);
          g_ptr_array_add (c->paths, g_strdup (m->path));
          g_array_append_val (c->versions, m->version);
        }
    }
  if (current != NULL && selected == GTK_INVALID_LIST_POSITION)
    {
      selected = c->paths->len;
      gtk_string_list_append (names, current);
      g_ptr_array_add (c->paths, g_strdup (current));
      g_array_append_val (c->versions,
                          (int) { ns_model_runner_get_model_version (self->runner) });
    }

  gtk_window_set_title (win, "Model");
  gtk_window_set_transient_for (win, self->window);
  gtk_window_set_default_size (win, 560, -1);
  g_object_set_data_full (G_OBJECT (win), "ns-choice", c, (GDestroyNotify) choice_free);
  c->dropdown = gtk_drop_down_new (G_LIST_MODEL (names), NULL);
  c->card = gtk_label_new (c->paths->len == 0 ? "No model is registered or bundled: choose "
                                                "a file." : "");
  /* kept alive as long as the choice: the dropdown may notify while the window is torn
   * down */
  g_object_ref_sink (c->card);
  gtk_label_set_xalign (GTK_LABEL (c->card), 0);
  gtk_label_set_wrap (GTK_LABEL (c->card), TRUE);
  gtk_label_set_selectable (GTK_LABEL (c->card), TRUE);
  row = gtk_box_new (GTK_ORIENTATION_HORIZONTAL, 6);
  gtk_widget_set_hexpand (c->dropdown, TRUE);
  other = gtk_button_new_with_mnemonic ("_Other File…");
  g_signal_connect (other, "clicked", G_CALLBACK (on_choose_file), c);
  gtk_box_append (GTK_BOX (row), c->dropdown);
  gtk_box_append (GTK_BOX (row), other);
  close = gtk_button_new_with_mnemonic ("_Close");
  gtk_widget_set_halign (close, GTK_ALIGN_END);
  g_signal_connect_swapped (close, "clicked", G_CALLBACK (gtk_window_destroy), win);
  gtk_box_append (GTK_BOX (box), row);
  gtk_box_append (GTK_BOX (box), c->card);
  gtk_box_append (GTK_BOX (box), close);
  gtk_window_set_child (win, box);
  if (selected != GTK_INVALID_LIST_POSITION)
    gtk_drop_down_set_selected (GTK_DROP_DOWN (c->dropdown), selected);
  g_signal_connect (c->dropdown, "notify::selected", G_CALLBACK (on_choice_changed), c);
  if (c->paths->len > 0)
    on_choice_changed (GTK_DROP_DOWN (c->dropdown), NULL, c);
  gtk_window_present (win);
}

/* ---- uncertainty ---------------------------------------------------------------------- */

static void
show_uncertainty (NsAiController *self)
{
  gtk_window_present (GTK_WINDOW (ns_uncertainty_window_new (self->window, self->viewer,
                                                             self->runner)));
}

/* ---- dispatch ----------------------------------------------------------------------- */

static void
on_default_changed (NsModelsDialog *dialog, int version, NsAiController *self)
{
  /* the next run uses the new default unless an unregistered file was chosen by hand */
  if (ns_model_runner_get_model_version (self->runner) != NS_REGISTRY_NONE
      || ns_model_runner_get_model_path (self->runner) == NULL)
    {
      int v = 0;
      g_autofree char *path = ns_model_runner_find_default_model (NULL, &v, NULL);

      if (path != NULL)
        ns_model_runner_set_model (self->runner, path, v);
    }
}

gboolean
ns_ai_controller_is_enabled (NsAiController *self, const char *action_name)
{
  if (g_strcmp0 (action_name, "seg.run-model") == 0)
    return ns_viewer_has_case (self->viewer) && !ns_model_runner_is_running (self->runner);
  if (g_strcmp0 (action_name, "seg.mark-corrected") == 0)
    return self->editor != NULL && ns_editor_get_doc (self->editor) != NULL;
  return TRUE;
}

void
ns_ai_controller_run_model (NsAiController *self)
{
  g_return_if_fail (NS_IS_AI_CONTROLLER (self));
  run_model (self);
}

void
ns_ai_controller_mark_corrected (NsAiController *self)
{
  g_return_if_fail (NS_IS_AI_CONTROLLER (self));
  mark_corrected (self);
}

void
ns_ai_controller_choose_model (NsAiController *self)
{
  g_return_if_fail (NS_IS_AI_CONTROLLER (self));
  choose_model (self);
}

void
ns_ai_controller_show_uncertainty (NsAiController *self)
{
  g_return_if_fail (NS_IS_AI_CONTROLLER (self));
  show_uncertainty (self);
}

void
ns_ai_controller_show_queue (NsAiController *self)
{
  g_return_if_fail (NS_IS_AI_CONTROLLER (self));
  show_queue (self);
}

void
ns_ai_controller_fine_tune (NsAiController *self)
{
  NsFineTuneDialog *dialog;

  g_return_if_fail (NS_IS_AI_CONTROLLER (self));
  dialog = ns_fine_tune_dialog_new (self->window, NULL);
  g_signal_connect_object (dialog, "started", G_CALLBACK (follow_training), self,
                           G_CONNECT_SWAPPED);
  gtk_window_present (GTK_WINDOW (dialog));
}

void
ns_ai_controller_show_models (NsAiController *self)
{
  NsModelsDialog *dialog;

  g_return_if_fail (NS_IS_AI_CONTROLLER (self));
  dialog = ns_models_dialog_new (self->window, NULL);
  g_signal_connect_object (dialog, "default-changed", G_CALLBACK (on_default_changed), self, 0);
  gtk_window_present (GTK_WINDOW (dialog));
}

GtkWidget *
ns_ai_controller_create_panel (NsAiController *self)
{
  GtkWidget *box = gtk_box_new (GTK_ORIENTATION_VERTICAL, 6);
  GtkWidget *title = gtk_label_new ("Model");
  GtkWidget *row = gtk_box_new (GTK_ORIENTATION_HORIZONTAL, 6);
  GtkWidget *run = gtk_button_new_with_mnemonic ("_Run Model");
  GtkWidget *choose = gtk_button_new_with_label ("Model…");
  GtkWidget *queue = gtk_button_new_with_label ("Mark Corrected");

  gtk_widget_add_css_class (title, "heading");
  gtk_label_set_xalign (GTK_LABEL (title), 0);
  /* names: what end-to-end tests click (ns-test-status.h) */
  gtk_widget_set_name (run, "run-model-button");
  gtk_widget_set_name (choose, "choose-model-button");
  gtk_widget_set_name (queue, "mark-corrected-button");
  gtk_actionable_set_action_name (GTK_ACTIONABLE (run), "seg.run-model");
  gtk_actionable_set_action_name (GTK_ACTIONABLE (choose), "seg.choose-model");
  gtk_actionable_set_action_name (GTK_ACTIONABLE (queue), "seg.mark-corrected");
  gtk_widget_set_tooltip_text (queue, "Save the mask and add the case to the fine-tuning queue");
  gtk_box_set_homogeneous (GTK_BOX (row), TRUE);
  gtk_box_append (GTK_BOX (row), run);
  gtk_box_append (GTK_BOX (row), choose);
  gtk_box_append (GTK_BOX (row), queue);
  self->result_label = gtk_label_new ("");
  gtk_label_set_xalign (GTK_LABEL (self->result_label), 0);
  gtk_label_set_wrap (GTK_LABEL (self->result_label), TRUE);
  gtk_box_append (GTK_BOX (box), title);
  gtk_box_append (GTK_BOX (box), row);
  gtk_box_append (GTK_BOX (box), ns_job_status_new (self));
  gtk_box_append (GTK_BOX (box), self->result_label);
  gtk_widget_set_margin_start (box, 6);
  gtk_widget_set_margin_end (box, 6);
  gtk_widget_set_margin_top (box, 6);
  self->panel = box;
  g_object_add_weak_pointer (G_OBJECT (box), (gpointer *) &self->panel);
  return box;
}

NsModelRunner *
ns_ai_controller_get_runner (NsAiController *self)
{
  g_return_val_if_fail (NS_IS_AI_CONTROLLER (self), NULL);
  return self->runner;
}

static void
ns_ai_controller_dispose (GObject *object)
{
  NsAiController *self = NS_AI_CONTROLLER (object);

  g_signal_handlers_disconnect_by_data (self->viewer, self);
  drop_claim (self); /* the window closes: the case is given back */
  if (self->runner != NULL)
    {
      /* the worker keeps the runner alive until it returns: no callback to us after this */
      g_signal_handlers_disconnect_by_data (self->runner, self);
      ns_model_runner_cancel (self->runner);
    }
  g_clear_object (&self->runner);
  g_clear_object (&self->viewer);
  g_clear_object (&self->editor);
  if (self->window != NULL)
    g_object_remove_weak_pointer (G_OBJECT (self->window), (gpointer *) &self->window);
  self->window = NULL;
  if (self->progress != NULL)
    g_object_remove_weak_pointer (G_OBJECT (self->progress), (gpointer *) &self->progress);
  self->progress = NULL;
  if (self->queue != NULL)
    g_object_remove_weak_pointer (G_OBJECT (self->queue), (gpointer *) &self->queue);
  self->queue = NULL;
  if (self->panel != NULL)
    g_object_remove_weak_pointer (G_OBJECT (self->panel), (gpointer *) &self->panel);
  self->panel = NULL;
  if (self->training != NULL)
    {
      g_signal_handlers_disconnect_by_data (self->training, self);
      g_object_remove_weak_pointer (G_OBJECT (self->training), (gpointer *) &self->training);
    }
  self->training = NULL;
  G_OBJECT_CLASS (ns_ai_controller_parent_class)->dispose (object);
}

static void
ns_ai_controller_finalize (GObject *object)
{
  g_free (NS_AI_CONTROLLER (object)->job_text);
  G_OBJECT_CLASS (ns_ai_controller_parent_class)->finalize (object);
}

static void
ns_ai_controller_get_property (GObject *object, guint prop_id, GValue *value,
                               GParamSpec *pspec)
{
  NsAiController *self = NS_AI_CONTROLLER (object);

  switch (prop_id)
    {
    case PROP_JOB_TEXT:
      g_value_set_string (value, self->job_text);
      break;
    case PROP_JOB_FRACTION:
      g_value_set_double (value, self->job_fraction);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
ns_ai_controller_class_init (NsAiControllerClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->dispose = ns_ai_controller_dispose;
  object_class->finalize = ns_ai_controller_finalize;
  object_class->get_property = ns_ai_controller_get_property;
  properties[PROP_JOB_TEXT] =
    g_param_spec_string ("job-text", NULL, NULL, NULL,
                         G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  properties[PROP_JOB_FRACTION] =
    g_param_spec_double ("job-fraction", NULL, NULL, -1, 1, 0,
                         G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  g_object_class_install_properties (object_class, N_PROPS, properties);
  /* (const char *message): the job ended (done, failed or cancelled), in words */
  signals[SIGNAL_JOB_FINISHED] = g_signal_new ("job-finished", G_TYPE_FROM_CLASS (klass),
                                               G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL,
                                               G_TYPE_NONE, 1, G_TYPE_STRING);
}

static void
ns_ai_controller_init (NsAiController *self)
{
}

NsAiController *
ns_ai_controller_new (GtkWindow *window, NsViewer *viewer, NsEditor *editor,
                      void (*open_case) (GtkWindow *window, const char *path))
{
  NsAiController *self = g_object_new (NS_TYPE_AI_CONTROLLER, NULL);

  self->window = window;
  g_object_add_weak_pointer (G_OBJECT (window), (gpointer *) &self->window);
  self->viewer = g_object_ref (viewer);
  self->editor = editor != NULL ? g_object_ref (editor) : NULL;
  self->open_case = open_case;
  self->runner = ns_model_runner_new (viewer);
  ns_model_runner_set_editor (self->runner, editor);
  g_signal_connect (self->runner, "finished", G_CALLBACK (on_run_finished), self);
  g_signal_connect (viewer, "notify::has-case", G_CALLBACK (on_viewer_case), self);
  g_signal_connect (viewer, "notify::title", G_CALLBACK (on_viewer_case), self);
  g_signal_connect_swapped (self->runner, "progress", G_CALLBACK (update_job), self);
  g_idle_add_full (G_PRIORITY_LOW, follow_recorded_jobs_idle, g_object_ref (self),
                   g_object_unref);
  return self;
}
