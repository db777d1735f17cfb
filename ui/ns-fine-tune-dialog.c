/* SPDX-License-Identifier: MIT
 *
 * ns-fine-tune-dialog.c: Training > Fine-tune… (see ns-fine-tune-dialog.h); the layout is
 * resources/ui/ns-fine-tune-dialog.ui, the base model list comes from the registry.
 */
#define G_LOG_DOMAIN "ns-fine-tune-dialog"

#include "ns-fine-tune-dialog.h"

#include "ns-db.h"
#include "ns-queue.h"
#include "ns-registry.h"
#include "ns-settings.h"
#include "ns-slurm.h"
#include "ns-ui.h"

/* The settings group of the remembered Slurm options, and of where the last run went. */
#define SLURM_GROUP "slurm"

struct _NsFineTuneDialog
{
  GtkWindow parent_instance;

  char *db_path;
  GPtrArray *model_paths;     /* char *, index = base_drop position (NULL: from scratch) */
  GArray *model_versions;     /* int */

  /* template children */
  GtkLabel *queued_label;
  GtkCheckButton *accepted_check;
  GtkDropDown *base_drop;
  GtkStringList *base_names;
  GtkSpinButton *epochs_spin;
  GtkEditable *lr_entry;
  GtkDropDown *device_drop;
  GtkTextView *val_view;
  GtkLabel *val_note;
  GtkEditable *extra_entry;
  GtkLabel *message_label;
  GtkWidget *start_button;
  GtkCheckButton *local_check;
  GtkCheckButton *slurm_check;
  GtkLabel *slurm_note;
  GtkWidget *slurm_grid;
  GtkEditable *partition_entry;
  GtkSpinButton *nodes_spin;
  GtkSpinButton *gpus_spin;
  GtkSpinButton *time_spin;
  GtkEditable *folder_entry;
};

enum { SIGNAL_STARTED, N_SIGNALS };
static guint signals[N_SIGNALS];

G_DEFINE_FINAL_TYPE (NsFineTuneDialog, ns_fine_tune_dialog, GTK_TYPE_WINDOW)

/* The items of device_drop, in order. */
static const char *const devices[] = { "auto", "cpu", "cuda" };

/* The held-out validation list is kept beside the database, so that every fine-tuning
 * run (and so every model version) is validated on the same cases unless it is edited. */
static char *
validation_list_path (const char *db_path)
{
  g_autofree char *db = db_path != NULL ? g_strdup (db_path) : ns_db_dup_default_path ();
  g_autofree char *dir = g_path_get_dirname (db);

  return g_build_filename (dir, "validation-cases.txt", NULL);
}

/* The validation list's folders (non-empty lines, stripped; owned). */
static GStrv
dup_val_lines (NsFineTuneDialog *self)
{
  g_autoptr (GStrvBuilder) vb = g_strv_builder_new ();
  GtkTextIter a, b;
  g_autofree char *val = NULL;
  g_auto (GStrv) lines = NULL;

  gtk_text_buffer_get_bounds (gtk_text_view_get_buffer (self->val_view), &a, &b);
  val = gtk_text_iter_get_text (&a, &b);
  lines = g_strsplit (val, "\n", -1);
  for (char **l = lines; *l != NULL; l++)
    if (*g_strstrip (*l) != '\0')
      g_strv_builder_add (vb, *l);
  return g_strv_builder_end (vb);
}

/* The Slurm job's options of the form (one task per node: the trainer's data-parallel
 * ranks are a later choice, see docs/scale.md). */
static gboolean
get_slurm_options (NsFineTuneDialog *self, NsTrainRequest *request, GError **error)
{
  g_autofree char *partition =
    g_strstrip (g_strdup (gtk_editable_get_text (self->partition_entry)));
  g_autofree char *folder = g_strstrip (g_strdup (gtk_editable_get_text (self->folder_entry)));
  NsSlurmJobSpec *spec;

  if (*folder != '\0' && !g_path_is_absolute (folder))
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                   "Job folder: '%s' is not an absolute path (a folder on storage the "
                   "cluster's nodes see at the same path)", folder);
      return FALSE;
    }
  spec = g_new0 (NsSlurmJobSpec, 1);
  spec->name = g_strdup ("neuroseg-finetune");
  spec->partition = *partition != '\0' ? g_steal_pointer (&partition) : NULL;
  spec->nodes = gtk_spin_button_get_value_as_int (self->nodes_spin);
  spec->tasks_per_node = 1;
  spec->gpus_per_node = gtk_spin_button_get_value_as_int (self->gpus_spin);
  spec->time_limit_min = gtk_spin_button_get_value_as_int (self->time_spin);
  spec->folder = *folder != '\0' ? g_steal_pointer (&folder) : NULL;
  request->slurm = spec;
  return TRUE;
}

gboolean
ns_fine_tune_dialog_get_request (NsFineTuneDialog *self, NsTrainRequest *request,
                                 GError **error)
{
  guint base = gtk_drop_down_get_selected (self->base_drop);
  guint dev = gtk_drop_down_get_selected (self->device_drop);
  const char *lr_text = gtk_editable_get_text (self->lr_entry);
  const char *extra = gtk_editable_get_text (self->extra_entry);
  char *end = NULL;
  g_auto (GStrv) lines = NULL;

  g_return_val_if_fail (NS_IS_FINE_TUNE_DIALOG (self), FALSE);

  ns_train_request_clear (request);
  request->lr = g_ascii_strtod (lr_text, &end);
  if (end == lr_text || *end != '\0' || !(request->lr > 0) || request->lr > 1)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                   "Learning rate: '%s' is not a number in (0, 1]", lr_text);
      return FALSE;
    }
  request->epochs = gtk_spin_button_get_value_as_int (self->epochs_spin);
  request->base_version = NS_REGISTRY_NONE;
  if (base < self->model_paths->len && self->model_paths->pdata[base] != NULL)
    {
      request->base_model = g_strdup (self->model_paths->pdata[base]);
      request->base_version = g_array_index (self->model_versions, int, base);
    }
  request->device = g_strdup (dev < G_N_ELEMENTS (devices) ? devices[dev] : "auto");
  request->accepted_only = gtk_check_button_get_active (self->accepted_check);
  lines = dup_val_lines (self);
  for (char **l = lines; *l != NULL; l++)
    {
      if (!g_file_test (*l, G_FILE_TEST_IS_DIR))
        {
          g_set_error (error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND,
                       "Validation case '%s': no such folder", *l);
          ns_train_request_clear (request);
          return FALSE;
        }
    }
  request->val_cases = g_steal_pointer (&lines);
  if (*extra != '\0' && !g_shell_parse_argv (extra, NULL, &request->extra_args, error))
    {
      ns_train_request_clear (request);
      return FALSE;
    }
  if (gtk_check_button_get_active (self->slurm_check)
      && !get_slurm_options (self, request, error))
    {
      ns_train_request_clear (request);
      return FALSE;
    }
  return TRUE;
}

/* The Slurm options as the next dialog's defaults (the run goes on without them). */
static void
save_slurm_options (NsFineTuneDialog *self, const NsTrainRequest *request)
{
  g_autoptr (GError) error = NULL;
  const NsSlurmJobSpec *o = request->slurm;
  g_autofree char *nodes = NULL, *gpus = NULL, *time = NULL;

  if (!ns_settings_set_string (SLURM_GROUP, "run-on", o != NULL ? "slurm" : "local", &error))
    {
      g_warning ("%s", error->message);
      return;
    }
  if (o == NULL)
    return;
  nodes = g_strdup_printf ("%d", o->nodes);
  gpus = g_strdup_printf ("%d", o->gpus_per_node);
  time = g_strdup_printf ("%d", o->time_limit_min);
  if (!ns_settings_set_string (SLURM_GROUP, "partition", o->partition, &error)
      || !ns_settings_set_string (SLURM_GROUP, "nodes", nodes, &error)
      || !ns_settings_set_string (SLURM_GROUP, "gpus-per-node", gpus, &error)
      || !ns_settings_set_string (SLURM_GROUP, "time-limit-min", time, &error)
      || !ns_settings_set_string (SLURM_GROUP, "folder", o->folder, &error))
    g_warning ("%s", error->message);
}

static void
save_validation_list (NsFineTuneDialog *self, const NsTrainRequest *request)
{
  g_autofree char *list_path = validation_list_path (self->db_path);
  g_autofree char *joined = request->val_cases != NULL && request->val_cases[0] != NULL
                              ? g_strjoinv ("\n", request->val_cases) : g_strdup ("");
  g_autofree char *text = g_strconcat (joined, *joined != '\0' ? "\n" : "", NULL);
  g_autoptr (GError) error = NULL;

  /* the run goes on without it; the next dialog then starts from the old list */
  if (!g_file_set_contents (list_path, text, -1, &error))
    g_warning ("%s", error->message);
}

/* The "Fine-tuning" window around a panel. */
static GtkWindow *
present_panel (GtkWindow *parent, GtkWidget *panel)
{
  GtkWindow *win = GTK_WINDOW (gtk_window_new ());

  gtk_window_set_title (win, "Fine-tuning");
  gtk_window_set_transient_for (win, parent);
  gtk_window_set_default_size (win, 560, 360);
  gtk_widget_set_margin_start (panel, 12);
  gtk_widget_set_margin_end (panel, 12);
  gtk_widget_set_margin_top (panel, 12);
  gtk_widget_set_margin_bottom (panel, 12);
  gtk_window_set_child (win, panel);
  gtk_window_present (win);
  return win;
}

GPtrArray *
ns_fine_tune_dialog_follow_recorded_jobs (GtkWindow *parent, const char *db_path,
                                          GError **error)
{
  g_auto (GStrv) records = ns_train_panel_dup_slurm_records (db_path);
  g_autoptr (GPtrArray) panels = g_ptr_array_new ();
  g_autoptr (GString) bad = g_string_new (NULL);

  for (char **r = records; *r != NULL; r++)
    {
      g_autoptr (GtkWidget) panel = g_object_ref_sink (ns_train_panel_new (db_path));
      g_autoptr (GError) local = NULL;

      if (!ns_train_panel_follow_slurm_job (NS_TRAIN_PANEL (panel), *r, &local))
        {
          /* followed already by another window of this program: not an error */
          if (!g_error_matches (local, G_IO_ERROR, G_IO_ERROR_EXISTS))
            g_string_append_printf (bad, "%s%s", bad->len > 0 ? "; " : "", local->message);
          continue;
        }
      present_panel (parent, panel);
      g_ptr_array_add (panels, panel);
    }
  if (bad->len > 0)
    g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA, "%s", bad->str);
  return g_steal_pointer (&panels);
}

GtkWindow *
ns_fine_tune_dialog_start (NsFineTuneDialog *self, GError **error)
{
  NsTrainRequest request = { 0 };
  g_autoptr (GtkWidget) panel = NULL;
  GtkWindow *win;

  g_return_val_if_fail (NS_IS_FINE_TUNE_DIALOG (self), NULL);

  if (!ns_fine_tune_dialog_get_request (self, &request, error))
    return NULL;
  save_validation_list (self, &request);
  save_slurm_options (self, &request);
  panel = g_object_ref_sink (ns_train_panel_new (self->db_path));
  if (!ns_train_panel_start (NS_TRAIN_PANEL (panel), &request, error))
    {
      ns_train_request_clear (&request);
      return NULL;
    }
  ns_train_request_clear (&request);
  win = present_panel (gtk_window_get_transient_for (GTK_WINDOW (self)), panel);
  g_signal_emit (self, signals[SIGNAL_STARTED], 0, panel);
  gtk_window_destroy (GTK_WINDOW (self));
  return win;
}

static void
start_clicked_cb (NsFineTuneDialog *self, GtkButton *button)
{
  g_autoptr (GError) error = NULL;

  if (ns_fine_tune_dialog_start (self, &error) == NULL)
    gtk_label_set_text (self->message_label, error->message);
}

GtkWidget *
ns_fine_tune_dialog_get_start_button (NsFineTuneDialog *self)
{
  g_return_val_if_fail (NS_IS_FINE_TUNE_DIALOG (self), NULL);
  return self->start_button;
}

/* Under the list: what validation the run will have, or that it will have none. */
static void
update_val_note (NsFineTuneDialog *self)
{
  g_auto (GStrv) cases = dup_val_lines (self);
  guint n = g_strv_length (cases);
  g_autofree char *text = NULL;

  if (n == 0)
    text = g_strdup ("No validation cases: the new model will have no validation figures, "
                     "and promoting it will need Promote Anyway.  Add folders of cases with "
                     "truth labels that are not in the queue.");
  else
    text = g_strdup_printf ("After training, the new model and the current default are both "
                            "validated on %s%u case%s (Dice against their truth labels).",
                            n == 1 ? "" : "these ", n, n == 1 ? "" : "s");
  gtk_label_set_text (self->val_note, text);
}

char *
ns_fine_tune_dialog_dup_validation_note (NsFineTuneDialog *self)
{
  g_return_val_if_fail (NS_IS_FINE_TUNE_DIALOG (self), NULL);
  return g_strdup (gtk_label_get_text (self->val_note));
}

void
ns_fine_tune_dialog_add_validation_case (NsFineTuneDialog *self, const char *folder)
{
  GtkTextBuffer *buffer;
  GtkTextIter end;
  g_auto (GStrv) cases = NULL;

  g_return_if_fail (NS_IS_FINE_TUNE_DIALOG (self));
  g_return_if_fail (folder != NULL);
  cases = dup_val_lines (self);
  if (g_strv_contains ((const char *const *) cases, folder))
    return;
  buffer = gtk_text_view_get_buffer (self->val_view);
  gtk_text_buffer_get_end_iter (buffer, &end);
  if (gtk_text_iter_get_line_offset (&end) > 0)
    gtk_text_buffer_insert (buffer, &end, "\n", 1);
  gtk_text_buffer_insert (buffer, &end, folder, -1);
  gtk_text_buffer_insert (buffer, &end, "\n", 1);
}

static void
on_folder_chosen (GtkNativeDialog *native, int response, NsFineTuneDialog *self)
{
  if (response == GTK_RESPONSE_ACCEPT)
    {
      g_autoptr (GFile) folder = gtk_file_chooser_get_file (GTK_FILE_CHOOSER (native));
      g_autofree char *path = folder != NULL ? g_file_get_path (folder) : NULL;

      if (path != NULL)
        ns_fine_tune_dialog_add_validation_case (self, path);
      else
        gtk_label_set_text (self->message_label, "The folder chosen is not a local folder");
    }
  g_object_unref (native);
  g_object_unref (self);
}

static void
add_folder_clicked_cb (NsFineTuneDialog *self, GtkButton *button)
{
  /* GTK 4.8 (Debian 12) has no GtkFileDialog */
  GtkFileChooserNative *native = gtk_file_chooser_native_new ("Add a Validation Case",
                                                              GTK_WINDOW (self),
                                                              GTK_FILE_CHOOSER_ACTION_SELECT_FOLDER,
                                                              "_Add", "_Cancel");

  g_signal_connect (native, "response", G_CALLBACK (on_folder_chosen), g_object_ref (self));
  gtk_native_dialog_show (GTK_NATIVE_DIALOG (native));
}

static void
slurm_toggled_cb (NsFineTuneDialog *self, GParamSpec *pspec, GtkCheckButton *check)
{
  gtk_widget_set_sensitive (self->slurm_grid, gtk_check_button_get_active (self->slurm_check));
}

static void
set_spin_from_settings (GtkSpinButton *spin, const char *key)
{
  g_autofree char *text = ns_settings_dup_string (SLURM_GROUP, key);
  char *end = NULL;
  gint64 v = text != NULL ? g_ascii_strtoll (text, &end, 10) : 0;

  if (text != NULL && end != text && *end == '\0')
    gtk_spin_button_set_value (spin, (double) v);
}

/* The Slurm choice: the remembered options, greyed out with the reason without sbatch. */
static void
fill_slurm (NsFineTuneDialog *self)
{
  g_autofree char *reason = NULL;
  g_autofree char *partition = ns_settings_dup_string (SLURM_GROUP, "partition");
  g_autofree char *folder = ns_settings_dup_string (SLURM_GROUP, "folder");
  g_autofree char *run_on = ns_settings_dup_string (SLURM_GROUP, "run-on");
  g_autofree char *default_folder = ns_train_panel_dup_default_slurm_folder (self->db_path);
  gboolean available = ns_slurm_is_available (&reason);

  gtk_editable_set_text (self->partition_entry, partition != NULL ? partition : "");
  gtk_editable_set_text (self->folder_entry, folder != NULL ? folder : default_folder);
  set_spin_from_settings (self->nodes_spin, "nodes");
  set_spin_from_settings (self->gpus_spin, "gpus-per-node");
  set_spin_from_settings (self->time_spin, "time-limit-min");
  gtk_widget_set_sensitive (GTK_WIDGET (self->slurm_check), available);
  if (!available)
    {
      g_autofree char *note = g_strdup_printf ("%s: fine-tuning runs on this computer.",
                                               reason);

      gtk_check_button_set_active (self->local_check, TRUE);
      gtk_label_set_text (self->slurm_note, note);
      gtk_widget_set_tooltip_text (GTK_WIDGET (self->slurm_check), note);
    }
  else
    {
      gtk_check_button_set_active (g_strcmp0 (run_on, "slurm") == 0 ? self->slurm_check
                                                                    : self->local_check, TRUE);
      gtk_label_set_text (self->slurm_note,
                          "On a cluster: the job (script, progress, log, model) goes into the "
                          "job folder; the cases' images must be at the same paths on the "
                          "nodes (shared storage).");
    }
  slurm_toggled_cb (self, NULL, self->slurm_check);
}

/* The registered versions as base models (the default, by the registry's one rule,
 * selected), then "from scratch". */
static void
fill (NsFineTuneDialog *self)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (NsDb) queue = ns_db_open (self->db_path, &error);
  g_autofree char *list_path = validation_list_path (self->db_path);
  g_autofree char *list = NULL;
  g_autofree char *queued = NULL;
  guint default_index = 0, n_queued = 0, n_accepted = 0, n_reviewed = 0;

  if (queue != NULL)
    {
      g_autoptr (GPtrArray) models = ns_registry_list_models (queue, NULL);
      g_autoptr (GPtrArray) cases = ns_queue_list (queue, NS_QUEUE_SORT_ADDED,
                                                   NS_QUEUE_STATE_QUEUED, NULL);

      n_queued = cases != NULL ? cases->len : 0;
      for (guint i = 0; i < n_queued; i++)
        {
          const NsQueueEntry *e = cases->pdata[i];

          n_reviewed += e->review != NS_QUEUE_REVIEW_NONE;
          n_accepted += e->review == NS_QUEUE_REVIEW_ACCEPTED;
        }
      for (guint i = 0; models != NULL && i < models->len; i++)
        {
          NsRegistryModel *m = models->pdata[i];
          g_autofree char *base = g_path_get_basename (m->path);
          g_autofree char *name = g_strdup_printf ("v%d%s — %s", m->version,
                                                   m->is_default ? " (default)" : "", base);

          if (m->status != NS_REGISTRY_MODEL_REGISTERED)
            continue;
          if (m->is_default)
            default_index = self->model_paths->len;
          gtk_string_list_append (self->base_names, name);
          g_ptr_array_add (self->model_paths, g_strdup (m->path));
          g_array_append_val (self->model_versions, m->version);
        }
    }
  /* an explicit choice, never the default: a model from scratch needs many epochs */
  gtk_string_list_append (self->base_names, "From scratch (random weights, no base model)");
  g_ptr_array_add (self->model_paths, NULL);
  g_array_append_val (self->model_versions, (int) { NS_REGISTRY_NONE });
  gtk_drop_down_set_selected (self->base_drop, default_index);

  queued = g_strdup_printf ("%u corrected case%s queued for training, %u accepted by a "
                            "second reader", n_queued, n_queued == 1 ? "" : "s", n_accepted);
  /* Accepted only by default once the queue's corrections are being reviewed (a team with
   * a second reader): then an unreviewed or sent-back correction is not trusted yet.  One
   * person (no reviews, the SQLite default) trains on every correction, else nothing could
   * ever be trained on. */
  gtk_check_button_set_active (self->accepted_check, n_reviewed > 0);
  gtk_label_set_text (self->queued_label, queued);
  if (g_file_get_contents (list_path, &list, NULL, NULL))
    gtk_text_buffer_set_text (gtk_text_view_get_buffer (self->val_view), list, -1);
  update_val_note (self);
  gtk_label_set_text (self->message_label, queue == NULL ? error->message : "");
  gtk_widget_set_sensitive (self->start_button, queue != NULL && n_queued > 0);
  fill_slurm (self);
}

static void
ns_fine_tune_dialog_dispose (GObject *object)
{
  gtk_widget_dispose_template (GTK_WIDGET (object), NS_TYPE_FINE_TUNE_DIALOG);
  G_OBJECT_CLASS (ns_fine_tune_dialog_parent_class)->dispose (object);
}

static void
ns_fine_tune_dialog_finalize (GObject *object)
{
  NsFineTuneDialog *self = NS_FINE_TUNE_DIALOG (object);

  g_free (self->db_path);
  g_ptr_array_unref (self->model_paths);
  g_array_unref (self->model_versions);
  G_OBJECT_CLASS (ns_fine_tune_dialog_parent_class)->finalize (object);
}

static void
ns_fine_tune_dialog_class_init (NsFineTuneDialogClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->dispose = ns_fine_tune_dialog_dispose;
  object_class->finalize = ns_fine_tune_dialog_finalize;
  /* (NsTrainPanel *panel): the run started in the panel's window */
  signals[SIGNAL_STARTED] = g_signal_new ("started", G_TYPE_FROM_CLASS (klass),
                                          G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL, G_TYPE_NONE,
                                          1, NS_TYPE_TRAIN_PANEL);
  ns_ui_ensure_resources ();
  gtk_widget_class_set_template_from_resource (widget_class,
                                               "/org/neuroseg/Neuroseg/ui/ns-fine-tune-dialog.ui");
  gtk_widget_class_bind_template_child (widget_class, NsFineTuneDialog, queued_label);
  gtk_widget_class_bind_template_child (widget_class, NsFineTuneDialog, accepted_check);
  gtk_widget_class_bind_template_child (widget_class, NsFineTuneDialog, base_drop);
  gtk_widget_class_bind_template_child (widget_class, NsFineTuneDialog, base_names);
  gtk_widget_class_bind_template_child (widget_class, NsFineTuneDialog, epochs_spin);
  gtk_widget_class_bind_template_child (widget_class, NsFineTuneDialog, lr_entry);
  gtk_widget_class_bind_template_child (widget_class, NsFineTuneDialog, device_drop);
  gtk_widget_class_bind_template_child (widget_class, NsFineTuneDialog, val_view);
  gtk_widget_class_bind_template_child (widget_class, NsFineTuneDialog, val_note);
  gtk_widget_class_bind_template_child (widget_class, NsFineTuneDialog, extra_entry);
  gtk_widget_class_bind_template_child (widget_class, NsFineTuneDialog, message_label);
  gtk_widget_class_bind_template_child (widget_class, NsFineTuneDialog, start_button);
  gtk_widget_class_bind_template_child (widget_class, NsFineTuneDialog, local_check);
  gtk_widget_class_bind_template_child (widget_class, NsFineTuneDialog, slurm_check);
  gtk_widget_class_bind_template_child (widget_class, NsFineTuneDialog, slurm_note);
  gtk_widget_class_bind_template_child (widget_class, NsFineTuneDialog, slurm_grid);
  gtk_widget_class_bind_template_child (widget_class, NsFineTuneDialog, partition_entry);
  gtk_widget_class_bind_template_child (widget_class, NsFineTuneDialog, nodes_spin);
  gtk_widget_class_bind_template_child (widget_class, NsFineTuneDialog, gpus_spin);
  gtk_widget_class_bind_template_child (widget_class, NsFineTuneDialog, time_spin);
  gtk_widget_class_bind_template_child (widget_class, NsFineTuneDialog, folder_entry);
  gtk_widget_class_bind_template_callback (widget_class, slurm_toggled_cb);
  gtk_widget_class_bind_template_callback (widget_class, start_clicked_cb);
  gtk_widget_class_bind_template_callback (widget_class, add_folder_clicked_cb);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_Escape, 0, "window.close", NULL);
}

static void
ns_fine_tune_dialog_init (NsFineTuneDialog *self)
{
  self->model_paths = g_ptr_array_new_with_free_func (g_free);
  self->model_versions = g_array_new (FALSE, FALSE, sizeof (int));
  gtk_widget_init_template (GTK_WIDGET (self));
  g_signal_connect_object (gtk_text_view_get_buffer (self->val_view), "changed",
                           G_CALLBACK (update_val_note), self, G_CONNECT_SWAPPED);
}

NsFineTuneDialog *
ns_fine_tune_dialog_new (GtkWindow *parent, const char *db_path)
{
  NsFineTuneDialog *self = g_object_new (NS_TYPE_FINE_TUNE_DIALOG, "transient-for", parent,
                                         NULL);

  self->db_path = g_strdup (db_path);
  fill (self);
  return self;
}
