/* SPDX-License-Identifier: MIT
 *
 * ns-modality-dialog.c: which image each unnamed file is (see ns-modality-dialog.h); the
 * static part is resources/ui/ns-modality-dialog.ui, one row per file is added here.
 */
#define G_LOG_DOMAIN "ns-modality-dialog"

#include "ns-modality-dialog.h"

#include "ns-ui.h"

/* The choices of each row, in order. */
static const struct
{
  NsCaseFile kind;
  const char *label;
} choices[] = {
  { NS_CASE_FILE_FLAIR, "FLAIR" },
  { NS_CASE_FILE_T1, "T1" },
  { NS_CASE_FILE_T1C, "T1c (with contrast)" },
  { NS_CASE_FILE_T2, "T2" },
  { NS_CASE_FILE_LABELS, "Label map" },
};

struct _NsModalityDialog
{
  GtkDialog parent_instance;

  GPtrArray *drops;              /* the GtkDropDown of each file (borrowed) */

  /* template children */
  GtkGrid *file_grid;
  GtkWidget *open_button;
};

G_DEFINE_FINAL_TYPE (NsModalityDialog, ns_modality_dialog, GTK_TYPE_DIALOG)

static void
ns_modality_dialog_dispose (GObject *object)
{
  gtk_widget_dispose_template (GTK_WIDGET (object), NS_TYPE_MODALITY_DIALOG);
  G_OBJECT_CLASS (ns_modality_dialog_parent_class)->dispose (object);
}

static void
ns_modality_dialog_finalize (GObject *object)
{
  g_ptr_array_unref (NS_MODALITY_DIALOG (object)->drops);
  G_OBJECT_CLASS (ns_modality_dialog_parent_class)->finalize (object);
}

static void
ns_modality_dialog_class_init (NsModalityDialogClass *klass)
{
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  G_OBJECT_CLASS (klass)->dispose = ns_modality_dialog_dispose;
  G_OBJECT_CLASS (klass)->finalize = ns_modality_dialog_finalize;
  ns_ui_ensure_resources ();
  gtk_widget_class_set_template_from_resource (widget_class,
                                               "/org/neuroseg/Neuroseg/ui/ns-modality-dialog.ui");
  gtk_widget_class_bind_template_child (widget_class, NsModalityDialog, file_grid);
  gtk_widget_class_bind_template_child (widget_class, NsModalityDialog, open_button);
}

static void
ns_modality_dialog_init (NsModalityDialog *self)
{
  self->drops = g_ptr_array_new ();
  gtk_widget_init_template (GTK_WIDGET (self));
}

NsModalityDialog *
ns_modality_dialog_new (GtkWindow *parent, const char *const *paths)
{
  NsModalityDialog *self = g_object_new (NS_TYPE_MODALITY_DIALOG, "transient-for", parent,
                                         NULL);
  const char *labels[G_N_ELEMENTS (choices) + 1];

  for (guint c = 0; c < G_N_ELEMENTS (choices); c++)
    labels[c] = choices[c].label;
  labels[G_N_ELEMENTS (choices)] = NULL;
  for (guint i = 0; paths[i] != NULL; i++)
    {
      g_autofree char *base = g_path_get_basename (paths[i]);
      GtkWidget *name = gtk_label_new (base);
      GtkWidget *drop = gtk_drop_down_new_from_strings (labels);

      gtk_label_set_xalign (GTK_LABEL (name), 0);
      gtk_label_set_ellipsize (GTK_LABEL (name), PANGO_ELLIPSIZE_MIDDLE);
      gtk_label_set_max_width_chars (GTK_LABEL (name), 40);
      gtk_widget_set_tooltip_text (name, paths[i]);
      gtk_widget_set_hexpand (name, TRUE);
      /* different images by default, so that Open works as it stands */
      gtk_drop_down_set_selected (GTK_DROP_DOWN (drop), i % (G_N_ELEMENTS (choices) - 1));
      gtk_grid_attach (self->file_grid, name, 0, i, 1, 1);
      gtk_grid_attach (self->file_grid, drop, 1, i, 1, 1);
      g_ptr_array_add (self->drops, drop);
    }
  /* Enter opens the files as they stand (on a drop-down it would open its list) */
  gtk_window_set_focus (GTK_WINDOW (self), self->open_button);
  return self;
}

guint
ns_modality_dialog_get_n_files (NsModalityDialog *self)
{
  g_return_val_if_fail (NS_IS_MODALITY_DIALOG (self), 0);
  return self->drops->len;
}

NsCaseFile
ns_modality_dialog_get_kind (NsModalityDialog *self, guint index)
{
  guint selected;

  g_return_val_if_fail (NS_IS_MODALITY_DIALOG (self), NS_CASE_FILE_NONE);
  g_return_val_if_fail (index < self->drops->len, NS_CASE_FILE_NONE);

  selected = gtk_drop_down_get_selected (self->drops->pdata[index]);
  return selected < G_N_ELEMENTS (choices) ? choices[selected].kind : NS_CASE_FILE_NONE;
}

void
ns_modality_dialog_set_kind (NsModalityDialog *self, guint index, NsCaseFile kind)
{
  g_return_if_fail (NS_IS_MODALITY_DIALOG (self));
  g_return_if_fail (index < self->drops->len);

  for (guint c = 0; c < G_N_ELEMENTS (choices); c++)
    if (choices[c].kind == kind)
      gtk_drop_down_set_selected (self->drops->pdata[index], c);
}
