/* SPDX-License-Identifier: MIT
 *
 * ns-series-dialog.c: which sequence each DICOM series is (see ns-series-dialog.h); the
 * static part is resources/ui/ns-series-dialog.ui, one row per series is added here.
 */
#define G_LOG_DOMAIN "ns-series-dialog"

#include "ns-series-dialog.h"

#include "ns-ui.h"

/* The choices of each row, in order: drop-down position p is modality p - 1. */
static const char *const choices[] = {
  "Not used", "FLAIR", "T1c (with contrast)", "T1", "T2", NULL,
};

G_STATIC_ASSERT (NS_MODALITY_FLAIR == 0 && NS_MODALITY_T1C == 1 && NS_MODALITY_T1 == 2
                 && NS_MODALITY_T2 == 3 && NS_N_MODALITIES == 4);

struct _NsSeriesDialog
{
  GtkDialog parent_instance;

  GPtrArray *scan;               /* NsDicomSeries (a reference) */
  GPtrArray *drops;              /* the GtkDropDown of each series (borrowed) */

  /* template children */
  GtkLabel *reason_label;
  GtkGrid *series_grid;
  GtkDropDown *grid_drop;
  GtkWidget *open_button;
};

G_DEFINE_FINAL_TYPE (NsSeriesDialog, ns_series_dialog, GTK_TYPE_DIALOG)

static void
ns_series_dialog_dispose (GObject *object)
{
  gtk_widget_dispose_template (GTK_WIDGET (object), NS_TYPE_SERIES_DIALOG);
  G_OBJECT_CLASS (ns_series_dialog_parent_class)->dispose (object);
}

static void
ns_series_dialog_finalize (GObject *object)
{
  NsSeriesDialog *self = NS_SERIES_DIALOG (object);

  g_clear_pointer (&self->scan, g_ptr_array_unref);
  g_ptr_array_unref (self->drops);
  G_OBJECT_CLASS (ns_series_dialog_parent_class)->finalize (object);
}

static void
ns_series_dialog_class_init (NsSeriesDialogClass *klass)
{
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  G_OBJECT_CLASS (klass)->dispose = ns_series_dialog_dispose;
  G_OBJECT_CLASS (klass)->finalize = ns_series_dialog_finalize;
  ns_ui_ensure_resources ();
  gtk_widget_class_set_template_from_resource (widget_class,
                                               "/org/neuroseg/Neuroseg/ui/ns-series-dialog.ui");
  gtk_widget_class_bind_template_child (widget_class, NsSeriesDialog, reason_label);
  gtk_widget_class_bind_template_child (widget_class, NsSeriesDialog, series_grid);
  gtk_widget_class_bind_template_child (widget_class, NsSeriesDialog, grid_drop);
  gtk_widget_class_bind_template_child (widget_class, NsSeriesDialog, open_button);
}

static void
ns_series_dialog_init (NsSeriesDialog *self)
{
  self->drops = g_ptr_array_new ();
  gtk_widget_init_template (GTK_WIDGET (self));
}

gboolean
ns_series_dialog_is_complete (NsSeriesDialog *self)
{
  guint n[NS_N_MODALITIES] = { 0 };

  g_return_val_if_fail (NS_IS_SERIES_DIALOG (self), FALSE);
  for (guint i = 0; i < self->drops->len; i++)
    {
      int m = ns_series_dialog_get_sequence (self, i);
      if (m >= 0)
        n[m]++;
    }
  for (int m = 0; m < NS_N_MODALITIES; m++)
    if (n[m] > 1)
      return FALSE;
  return n[NS_MODALITY_FLAIR] == 1;
}

static void
selection_changed_cb (NsSeriesDialog *self)
{
  gtk_dialog_set_response_sensitive (GTK_DIALOG (self), GTK_RESPONSE_OK,
                                     ns_series_dialog_is_complete (self));
}

NsSeriesDialog *
ns_series_dialog_new (GtkWindow *parent, GPtrArray *scan, const char *reason)
{
  NsSeriesDialog *self = g_object_new (NS_TYPE_SERIES_DIALOG, "transient-for", parent, NULL);
  gboolean taken[NS_N_MODALITIES] = { FALSE };

  g_return_val_if_fail (scan != NULL, self);
  self->scan = g_ptr_array_ref (scan);
  gtk_label_set_text (self->reason_label, reason != NULL ? reason : "");
  gtk_widget_set_visible (GTK_WIDGET (self->reason_label), reason != NULL);
  for (guint i = 0; i < scan->len; i++)
    {
      const NsDicomSeries *series = scan->pdata[i];
      g_autofree char *text = ns_dicom_series_dup_label (series);
      GtkWidget *name = gtk_label_new (text);
      GtkWidget *drop = gtk_drop_down_new_from_strings (choices);
      g_autofree char *tooltip = NULL;

      gtk_label_set_xalign (GTK_LABEL (name), 0);
      gtk_label_set_ellipsize (GTK_LABEL (name), PANGO_ELLIPSIZE_END);
      gtk_label_set_max_width_chars (GTK_LABEL (name), 60);
      gtk_widget_set_hexpand (name, TRUE);
      if (!series->is_volume)
        {
          /* shown, so that the person sees every series, but not choosable */
          tooltip = g_strdup_printf ("%s\nNot a volume: %s", text,
                                     series->problem != NULL ? series->problem : "unknown");
          gtk_widget_set_sensitive (drop, FALSE);
        }
      else
        {
          tooltip = g_strdup_printf ("%s\n%d images%s%s", text, series->files->len,
                                     series->sequence_reason != NULL ? "; " : "",
                                     series->sequence_reason != NULL
                                       ? series->sequence_reason : "");
          /* first as its attributes say, each sequence once (the first series keeps it) */
          if (series->sequence >= 0 && series->sequence < NS_N_MODALITIES
              && !taken[series->sequence])
            {
              taken[series->sequence] = TRUE;
              gtk_drop_down_set_selected (GTK_DROP_DOWN (drop), (guint) series->sequence + 1);
            }
        }
      gtk_widget_set_tooltip_text (name, tooltip);
      g_signal_connect_object (drop, "notify::selected", G_CALLBACK (selection_changed_cb),
                               self, G_CONNECT_SWAPPED);
      gtk_grid_attach (self->series_grid, name, 0, (int) i, 1, 1);
      gtk_grid_attach (self->series_grid, drop, 1, (int) i, 1, 1);
      g_ptr_array_add (self->drops, drop);
    }
  selection_changed_cb (self);
  gtk_window_set_focus (GTK_WINDOW (self), self->open_button);
  return self;
}

GPtrArray *
ns_series_dialog_get_scan (NsSeriesDialog *self)
{
  g_return_val_if_fail (NS_IS_SERIES_DIALOG (self), NULL);
  return self->scan;
}

int
ns_series_dialog_get_sequence (NsSeriesDialog *self, guint index)
{
  guint selected;

  g_return_val_if_fail (NS_IS_SERIES_DIALOG (self), -1);
  g_return_val_if_fail (index < self->drops->len, -1);

  selected = gtk_drop_down_get_selected (self->drops->pdata[index]);
  return selected >= 1 && selected <= NS_N_MODALITIES ? (int) selected - 1 : -1;
}

void
ns_series_dialog_set_sequence (NsSeriesDialog *self, guint index, int modality)
{
  g_return_if_fail (NS_IS_SERIES_DIALOG (self));
  g_return_if_fail (index < self->drops->len);
  g_return_if_fail (modality >= -1 && modality < NS_N_MODALITIES);
  g_return_if_fail (gtk_widget_get_sensitive (self->drops->pdata[index]));

  gtk_drop_down_set_selected (self->drops->pdata[index], (guint) (modality + 1));
}

void
ns_series_dialog_get_assignment (NsSeriesDialog *self, NsDicomAssignment *assignment)
{
  g_return_if_fail (NS_IS_SERIES_DIALOG (self));
  g_return_if_fail (assignment != NULL);

  for (int m = 0; m < NS_N_MODALITIES; m++)
    assignment->series[m] = "none";
  for (guint i = 0; i < self->drops->len; i++)
    {
      int m = ns_series_dialog_get_sequence (self, i);
      if (m >= 0)
        assignment->series[m] = ((const NsDicomSeries *) self->scan->pdata[i])->uid;
    }
  assignment->grid = gtk_drop_down_get_selected (self->grid_drop) == 1 ? NS_DICOM_GRID_FINEST
                                                                       : NS_DICOM_GRID_FLAIR;
}
