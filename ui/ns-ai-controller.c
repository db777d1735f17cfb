/* SPDX-License-Identifier: MIT
 *
 * ns-ai-controller.c: the workbench's Run Model, Mark Corrected and Queue, model choice,
 * queue, fine-tuning and models windows, wired to one NsModelRunner.
 */
#define G_LOG_DOMAIN "neuroseg-ui"

#include "ns-ai-controller.h"

#include <math.h>

#include "ns-models-dialog.h"
#include "ns-queue-panel.h"
#include "ns-registry.h"
#include "ns-train-panel.h"
#include "ns-uncertainty-view.h"

const char *const ns_ai_controller_actions[] = {
  "seg.run-model", "seg.mark-corrected", "seg.choose-model", "seg.show-uncertainty",
  "train.queue",
  "train.fine-tune", "train.models", NULL
};

struct _NsAiController
{
  GObject parent_instance;

  GtkWindow *window;          /* weak */
  NsViewer *viewer;
  NsEditor *editor;
  NsModelRunner *runner;
  void (*open_case) (GtkWindow *window, const char *path);
  GtkWindow *progress;        /* the Run Model window, weak */
  GtkWindow *queue;           /* weak */
  GtkWidget *panel;           /* the sidebar panel, weak (NULL: progress in a window) */
  GtkWidget *result_label;    /* in the panel */
};

G_DEFINE_FINAL_TYPE (NsAiController, ns_ai_controller, G_TYPE_OBJECT)

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

static void
show_message (NsAiController *self, const char *title, const char *text)
{
  GtkWindow *win = GTK_WINDOW (gtk_window_new ());
  GtkWidget *box = padded_box ();
  GtkWidget *label = gtk_label_new (text);
  GtkWidget *ok = gtk_button_new_with_mnemonic ("_OK");

  gtk_window_set_title (win, title);
  gtk_window_set_modal (win, TRUE);
  gtk_window_set_transient_for (win, self->window);
  gtk_label_set_wrap (GTK_LABEL (label), TRUE);
  gtk_label_set_selectable (GTK_LABEL (label), TRUE);
  gtk_label_set_max_width_chars (GTK_LABEL (label), 70);
  gtk_widget_set_halign (ok, GTK_ALIGN_END);
  g_signal_connect_swapped (ok, "clicked", G_CALLBACK (gtk_window_destroy), win);
  gtk_box_append (GTK_BOX (box), label);
  gtk_box_append (GTK_BOX (box), ok);
  gtk_window_set_child (win, box);
  gtk_window_present (win);
}

static void
keep_weak (GtkWindow **slot, GtkWindow *win)
{
  *slot = win;
  g_object_add_weak_pointer (G_OBJECT (win), (gpointer *) slot);
}

/* ---- Run Model ------------------------------------------------------------------------- */

static void
on_run_finished (NsModelRunner *runner, gboolean ok, const char *message, NsAiController *self)
{
  if (self->progress != NULL)
    gtk_window_destroy (self->progress);
  if (self->panel != NULL)
    {
      g_autofree char *text = NULL;
      double u = ns_model_runner_get_uncertainty (runner);

      if (ok && isfinite (u))
        text = g_strdup_printf ("Predicted in %.1f s; uncertainty %.3f",
                                ns_model_runner_get_seconds (runner), u);
      else if (ok)
        text = g_strdup_printf ("Predicted in %.1f s", ns_model_runner_get_seconds (runner));
      else
        text = g_strdup (message != NULL ? message : "");
      gtk_label_set_text (GTK_LABEL (self->result_label), text);
    }
  if (!ok && message != NULL && g_strrstr (message, "cancelled") == NULL)
    show_message (self, "Run Model failed", message);
  else if (ok && message != NULL)
    show_message (self, "Run Model", message);
}

static void
start_run (NsAiController *self, NsRunModelMode mode)
{
  g_autoptr (GError) error = NULL;
  GtkWidget *box;

  if (!ns_model_runner_start (self->runner, mode, TRUE, &error))
    {
      show_message (self, "Run Model", error->message);
      return;
    }
  if (self->progress == NULL && self->panel == NULL)
    {
      GtkWindow *win = GTK_WINDOW (gtk_window_new ());
      g_autofree char *base = g_path_get_basename (ns_model_runner_get_model_path (self->runner));
      g_autofree char *title = g_strdup_printf ("Run Model (%s)", base);

      gtk_window_set_title (win, title);
      gtk_window_set_transient_for (win, self->window);
      gtk_window_set_default_size (win, 420, -1);
      box = padded_box ();
      gtk_box_append (GTK_BOX (box), ns_model_runner_create_progress_box (self->runner));
      gtk_window_set_child (win, box);
      g_signal_connect_swapped (win, "close-request", G_CALLBACK (ns_model_runner_cancel),
                                self->runner);
      keep_weak (&self->progress, win);
      gtk_window_present (win);
    }
}

static void
on_mode_chosen (GtkButton *button, NsAiController *self)
{
  NsRunModelMode mode = GPOINTER_TO_INT (g_object_get_data (G_OBJECT (button), "mode"));

  gtk_window_destroy (GTK_WINDOW (gtk_widget_get_root (GTK_WIDGET (button))));
  start_run (self, mode);
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

static void
run_model (NsAiController *self)
{
  GtkWindow *win;
  GtkWidget *box, *row, *label, *cancel, *replace, *fill;

  if (ns_model_runner_is_running (self->runner) || !ns_viewer_has_case (self->viewer))
    return;
  if (!mask_has_labels (self))
    {
      start_run (self, NS_RUN_MODEL_REPLACE);
      return;
    }
  /* never overwrite the user's labels silently */
  win = GTK_WINDOW (gtk_window_new ());
  gtk_window_set_title (win, "Run Model");
  gtk_window_set_modal (win, TRUE);
  gtk_window_set_transient_for (win, self->window);
  box = padded_box ();
  label = gtk_label_new ("The mask already has labels.  The prediction can replace the whole "
                         "mask, or fill only the voxels that are unlabelled.  Either way it "
                         "is one step in the undo history.");
  gtk_label_set_wrap (GTK_LABEL (label), TRUE);
  gtk_label_set_max_width_chars (GTK_LABEL (label), 60);
  row = gtk_box_new (GTK_ORIENTATION_HORIZONTAL, 6);
  gtk_widget_set_halign (row, GTK_ALIGN_END);
  cancel = gtk_button_new_with_mnemonic ("_Cancel");
  fill = gtk_button_new_with_mnemonic ("_Fill Only Unlabelled Voxels");
  replace = gtk_button_new_with_mnemonic ("_Replace Mask");
  gtk_widget_add_css_class (replace, "destructive-action");
  g_object_set_data (G_OBJECT (fill), "mode", GINT_TO_POINTER (NS_RUN_MODEL_FILL_UNLABELLED));
  g_object_set_data (G_OBJECT (replace), "mode", GINT_TO_POINTER (NS_RUN_MODEL_REPLACE));
  g_signal_connect_swapped (cancel, "clicked", G_CALLBACK (gtk_window_destroy), win);
  g_signal_connect (fill, "clicked", G_CALLBACK (on_mode_chosen), self);
  g_signal_connect (replace, "clicked", G_CALLBACK (on_mode_chosen), self);
  gtk_box_append (GTK_BOX (row), cancel);
  gtk_box_append (GTK_BOX (row), fill);
  gtk_box_append (GTK_BOX (row), replace);
  gtk_box_append (GTK_BOX (box), label);
  gtk_box_append (GTK_BOX (box), row);
  gtk_window_set_child (win, box);
  gtk_window_present (win);
}

/* ---- the queue ------------------------------------------------------------------------- */

static void
on_open_case (NsQueuePanel *panel, const char *path, NsAiController *self)
{
  if (self->open_case != NULL && self->window != NULL)
    self->open_case (self->window, path);
}

static void
show_queue (NsAiController *self)
{
  GtkWidget *panel, *box;
  GtkWindow *win;

  if (self->queue != NULL)
    {
      panel = g_object_get_data (G_OBJECT (self->queue), "ns-queue-panel");
      ns_queue_panel_refresh (NS_QUEUE_PANEL (panel), NULL);
      gtk_window_present (self->queue);
      return;
    }
  win = GTK_WINDOW (gtk_window_new ());
  gtk_window_set_title (win, "Fine-tuning Queue");
  gtk_window_set_transient_for (win, self->window);
  gtk_window_set_default_size (win, 560, 360);
  box = padded_box ();
  panel = ns_queue_panel_new (NULL);
  gtk_widget_set_vexpand (panel, TRUE);
  g_signal_connect (panel, "open-case", G_CALLBACK (on_open_case), self);
  gtk_box_append (GTK_BOX (box), panel);
  gtk_window_set_child (win, box);
  g_object_set_data (G_OBJECT (win), "ns-queue-panel", panel);
  keep_weak (&self->queue, win);
  gtk_window_present (win);
}

static void
mark_corrected (NsAiController *self)
{
  g_autoptr (GError) error = NULL;

  if (ns_model_runner_mark_corrected (self->runner, self->editor, NULL, &error) == 0)
    {
      show_message (self, "Mark Corrected and Queue", error->message);
      return;
    }
  show_queue (self);
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
          gtk_string_list_append (list, path);
          g_ptr_array_add (c->paths, g_strdup (path));
          /* not registered (the registry's 0 is the shipped model) */
          g_array_append_val (c->versions, (int) { NS_REGISTRY_NONE });
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
  GtkWindow *win = GTK_WINDOW (gtk_window_new ());
  GtkWidget *box = padded_box ();
  GtkWidget *view = ns_uncertainty_view_new (self->viewer, self->runner);
  double u = ns_model_runner_get_uncertainty (self->runner);
  g_autofree char *text = isfinite (u)
    ? g_strdup_printf ("Case uncertainty (mean normalised entropy over the predicted tumour): "
                       "%.3f", u)
    : g_strdup ("Run Model to see its uncertainty.");
  GtkWidget *label = gtk_label_new (text);

  gtk_window_set_title (win, "Uncertainty");
  gtk_window_set_transient_for (win, self->window);
  gtk_window_set_default_size (win, 420, 480);
  gtk_widget_set_vexpand (view, TRUE);
  gtk_label_set_wrap (GTK_LABEL (label), TRUE);
  gtk_box_append (GTK_BOX (box), view);
  gtk_box_append (GTK_BOX (box), label);
  gtk_window_set_child (win, box);
  gtk_window_present (win);
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

gboolean
ns_ai_controller_activate (NsAiController *self, const char *action_name)
{
  if (g_strcmp0 (action_name, "seg.run-model") == 0)
    run_model (self);
  else if (g_strcmp0 (action_name, "seg.mark-corrected") == 0)
    mark_corrected (self);
  else if (g_strcmp0 (action_name, "seg.choose-model") == 0)
    choose_model (self);
  else if (g_strcmp0 (action_name, "seg.show-uncertainty") == 0)
    show_uncertainty (self);
  else if (g_strcmp0 (action_name, "train.queue") == 0)
    show_queue (self);
  else if (g_strcmp0 (action_name, "train.fine-tune") == 0)
    gtk_window_present (ns_fine_tune_dialog_new (self->window, NULL));
  else if (g_strcmp0 (action_name, "train.models") == 0)
    {
      NsModelsDialog *d = ns_models_dialog_new (self->window, NULL);

      g_signal_connect_object (d, "default-changed", G_CALLBACK (on_default_changed), self, 0);
      gtk_window_present (GTK_WINDOW (d));
    }
  else
    return FALSE;
  return TRUE;
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
  gtk_box_append (GTK_BOX (box), ns_model_runner_create_progress_box (self->runner));
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
  return self->runner;
}

static void
ns_ai_controller_dispose (GObject *object)
{
  NsAiController *self = NS_AI_CONTROLLER (object);

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
  G_OBJECT_CLASS (ns_ai_controller_parent_class)->dispose (object);
}

static void
ns_ai_controller_class_init (NsAiControllerClass *klass)
{
  G_OBJECT_CLASS (klass)->dispose = ns_ai_controller_dispose;
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
  return self;
}
