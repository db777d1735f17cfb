/* SPDX-License-Identifier: MIT
 *
 * ns-uncertainty-window.c: Segmentation > Show Uncertainty (see ns-uncertainty-window.h);
 * the layout is resources/ui/ns-uncertainty-window.ui.
 */
#define G_LOG_DOMAIN "ns-uncertainty-window"

#include "ns-uncertainty-window.h"

#include <math.h>

#include "ns-heat-legend.h"
#include "ns-ui.h"
#include "ns-uncertainty-view.h"

struct _NsUncertaintyWindow
{
  GtkWindow parent_instance;

  NsModelRunner *runner;

  /* template children */
  NsUncertaintyView *view;
  GtkLabel *score_label;
};

G_DEFINE_FINAL_TYPE (NsUncertaintyWindow, ns_uncertainty_window, GTK_TYPE_WINDOW)

static void
update_score (NsUncertaintyWindow *self)
{
  double u = ns_model_runner_get_uncertainty (self->runner);
  g_autofree char *text =
    isfinite (u) ? g_strdup_printf ("Case uncertainty (mean normalised entropy over the "
                                    "predicted tumour): %.3f", u)
                 : g_strdup ("Run Model to see its uncertainty.");

  gtk_label_set_text (self->score_label, text);
}

static void
ns_uncertainty_window_dispose (GObject *object)
{
  NsUncertaintyWindow *self = NS_UNCERTAINTY_WINDOW (object);

  if (self->runner != NULL)
    g_signal_handlers_disconnect_by_data (self->runner, self);
  g_clear_object (&self->runner);
  gtk_widget_dispose_template (GTK_WIDGET (self), NS_TYPE_UNCERTAINTY_WINDOW);
  G_OBJECT_CLASS (ns_uncertainty_window_parent_class)->dispose (object);
}

static void
ns_uncertainty_window_class_init (NsUncertaintyWindowClass *klass)
{
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  G_OBJECT_CLASS (klass)->dispose = ns_uncertainty_window_dispose;
  g_type_ensure (NS_TYPE_UNCERTAINTY_VIEW);
  g_type_ensure (NS_TYPE_HEAT_LEGEND);
  ns_ui_ensure_resources ();
  gtk_widget_class_set_template_from_resource (
    widget_class, "/org/neuroseg/Neuroseg/ui/ns-uncertainty-window.ui");
  gtk_widget_class_bind_template_child (widget_class, NsUncertaintyWindow, view);
  gtk_widget_class_bind_template_child (widget_class, NsUncertaintyWindow, score_label);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_Escape, 0, "window.close", NULL);
}

static void
ns_uncertainty_window_init (NsUncertaintyWindow *self)
{
  gtk_widget_init_template (GTK_WIDGET (self));
}

NsUncertaintyWindow *
ns_uncertainty_window_new (GtkWindow *parent, NsViewer *viewer, NsModelRunner *runner)
{
  NsUncertaintyWindow *self;

  g_return_val_if_fail (NS_IS_VIEWER (viewer) && NS_IS_MODEL_RUNNER (runner), NULL);

  self = g_object_new (NS_TYPE_UNCERTAINTY_WINDOW, "transient-for", parent, NULL);
  self->runner = g_object_ref (runner);
  ns_uncertainty_view_set_source (self->view, viewer, runner);
  g_signal_connect_object (runner, "finished", G_CALLBACK (update_score), self,
                           G_CONNECT_SWAPPED);
  update_score (self);
  return self;
}

const char *
ns_uncertainty_window_get_score_text (NsUncertaintyWindow *self)
{
  g_return_val_if_fail (NS_IS_UNCERTAINTY_WINDOW (self), NULL);
  return gtk_label_get_text (self->score_label);
}
