/* SPDX-License-Identifier: MIT
 *
 * ns-history-dialog.c: Edit > History (see ns-history-dialog.h).  The list is rebuilt from
 * the history on every change rather than patched: histories hold at most a few hundred
 * entries and rebuilding keeps one rule for what a row says.
 */
#define G_LOG_DOMAIN "ns-history-dialog"

#include "ns-history-dialog.h"

#include "ns-ui.h"

struct _NsHistoryDialog
{
  GtkWindow parent_instance;

  NsEditor *editor;

  /* template children */
  GtkListBox *list;
};

G_DEFINE_FINAL_TYPE (NsHistoryDialog, ns_history_dialog, GTK_TYPE_WINDOW)

static char *
row_text (const NsEditChange *change, guint r)
{
  g_autoptr (GDateTime) time = g_date_time_new_from_unix_local (change->time / G_USEC_PER_SEC);
  g_autofree char *clock = time != NULL ? g_date_time_format (time, "%H:%M:%S") : g_strdup ("");

  return g_strdup_printf ("%u. %s — %zu voxels  %s", r, change->name, change->n, clock);
}

static void
rebuild (NsHistoryDialog *self)
{
  NsMaskDoc *doc = ns_editor_get_doc (self->editor);
  NsHistory *history = doc != NULL ? ns_mask_doc_get_history (doc) : NULL;
  guint n_undo = history != NULL ? ns_history_n_undo (history) : 0;
  guint n = history != NULL ? n_undo + ns_history_n_redo (history) : 0;
  GtkWidget *child;

  while ((child = gtk_widget_get_first_child (GTK_WIDGET (self->list))) != NULL)
    gtk_list_box_remove (self->list, child);
  for (guint r = 0; r <= n; r++)
    {
      g_autofree char *text = r == 0 ? g_strdup ("Opened")
                                     : row_text (ns_history_get (history, r - 1), r);
      GtkWidget *label = gtk_label_new (text);

      gtk_label_set_xalign (GTK_LABEL (label), 0);
      if (r > n_undo)
        gtk_widget_add_css_class (label, "dim-label");   /* undone: a redo away */
      gtk_list_box_append (self->list, label);
      if (r == n_undo)
        gtk_list_box_select_row (self->list, gtk_list_box_get_row_at_index (self->list, r));
    }
}

static void
row_activated_cb (NsHistoryDialog *self, GtkListBoxRow *row, GtkListBox *list)
{
  ns_editor_history_goto (self->editor, (guint) gtk_list_box_row_get_index (row));
}

static void
ns_history_dialog_dispose (GObject *object)
{
  NsHistoryDialog *self = NS_HISTORY_DIALOG (object);

  if (self->editor != NULL)
    g_signal_handlers_disconnect_by_data (self->editor, self);
  g_clear_object (&self->editor);
  gtk_widget_dispose_template (GTK_WIDGET (self), NS_TYPE_HISTORY_DIALOG);
  G_OBJECT_CLASS (ns_history_dialog_parent_class)->dispose (object);
}

static void
ns_history_dialog_class_init (NsHistoryDialogClass *klass)
{
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  G_OBJECT_CLASS (klass)->dispose = ns_history_dialog_dispose;
  ns_ui_ensure_resources ();
  gtk_widget_class_set_template_from_resource (widget_class,
                                               "/org/neuroseg/Neuroseg/ui/ns-history-dialog.ui");
  gtk_widget_class_bind_template_child (widget_class, NsHistoryDialog, list);
  gtk_widget_class_bind_template_callback (widget_class, row_activated_cb);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_Escape, 0, "window.close", NULL);
}

static void
ns_history_dialog_init (NsHistoryDialog *self)
{
  gtk_widget_init_template (GTK_WIDGET (self));
}

NsHistoryDialog *
ns_history_dialog_new (GtkWindow *parent, NsEditor *editor)
{
  NsHistoryDialog *self;

  g_return_val_if_fail (NS_IS_EDITOR (editor), NULL);

  self = g_object_new (NS_TYPE_HISTORY_DIALOG, "transient-for", parent, NULL);
  self->editor = g_object_ref (editor);
  g_signal_connect_object (editor, "history-changed", G_CALLBACK (rebuild), self,
                           G_CONNECT_SWAPPED);
  g_signal_connect_object (editor, "doc-changed", G_CALLBACK (rebuild), self,
                           G_CONNECT_SWAPPED);
  rebuild (self);
  return self;
}

GtkListBox *
ns_history_dialog_get_list (NsHistoryDialog *self)
{
  g_return_val_if_fail (NS_IS_HISTORY_DIALOG (self), NULL);
  return self->list;
}
