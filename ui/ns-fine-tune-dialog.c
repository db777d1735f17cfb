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
#include "ns-ui.h"

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
  return TRUE;
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
  panel = g_object_ref_sink (ns_train_panel_new (self->db_path));
  if (!ns_train_panel_start (NS_TRAIN_PANEL (panel), &request, error))
    {
      ns_train_request_clear (&request);
      return NULL;
    }
  ns_train_request_clear (&request);
  win = GTK_WINDOW (gtk_window_new ());
  gtk_window_set_title (win, "Fine-tuning");
  gtk_window_set_transient_for (win, gtk_window_get_transient_for (GTK_WINDOW (self)));
  gtk_window_set_default_size (win, 560, 360);
  gtk_widget_set_margin_start (panel, 12);
  gtk_widget_set_margin_end (panel, 12);
  gtk_widget_set_margin_top (panel, 12);
  gtk_widget_set_margin_bottom (panel, 12);
  gtk_window_set_child (win, panel);
  gtk_window_present (win);
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
