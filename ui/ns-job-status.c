/* SPDX-License-Identifier: MIT
 *
 * ns-job-status.c: the running AI job as a progress bar with Cancel (see ns-job-status.h).
 * The text and fraction are the controller's ("job-text", "job-fraction"): this widget
 * only shows them, so that the status bar and the sidebar always agree.
 */
#define G_LOG_DOMAIN "ns-job-status"

#include "ns-job-status.h"

#include "ns-ui.h"

struct _NsJobStatus
{
  GtkBox parent_instance;

  NsAiController *controller;

  /* template children */
  GtkProgressBar *bar;
};

G_DEFINE_FINAL_TYPE (NsJobStatus, ns_job_status, GTK_TYPE_BOX)

enum {
  PROP_0,
  PROP_CONTROLLER,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

static void
sync_with_controller (NsJobStatus *self)
{
  const char *text = self->controller != NULL ? ns_ai_controller_get_job_text (self->controller)
                                              : NULL;
  double fraction = self->controller != NULL
                      ? ns_ai_controller_get_job_fraction (self->controller) : 0;

  gtk_widget_set_visible (GTK_WIDGET (self), text != NULL);
  gtk_progress_bar_set_text (self->bar, text);
  if (fraction >= 0)
    gtk_progress_bar_set_fraction (self->bar, MIN (fraction, 1.0));
  else
    gtk_progress_bar_pulse (self->bar);
}

static void
cancel_clicked_cb (NsJobStatus *self, GtkButton *button)
{
  if (self->controller != NULL)
    ns_ai_controller_cancel_job (self->controller);
}

void
ns_job_status_set_controller (NsJobStatus *self, NsAiController *controller)
{
  g_return_if_fail (NS_IS_JOB_STATUS (self));

  if (self->controller == controller)
    return;
  if (self->controller != NULL)
    g_signal_handlers_disconnect_by_data (self->controller, self);
  g_set_object (&self->controller, controller);
  if (controller != NULL)
    {
      g_signal_connect_object (controller, "notify::job-text",
                               G_CALLBACK (sync_with_controller), self, G_CONNECT_SWAPPED);
      g_signal_connect_object (controller, "notify::job-fraction",
                               G_CALLBACK (sync_with_controller), self, G_CONNECT_SWAPPED);
    }
  sync_with_controller (self);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_CONTROLLER]);
}

NsAiController *
ns_job_status_get_controller (NsJobStatus *self)
{
  g_return_val_if_fail (NS_IS_JOB_STATUS (self), NULL);
  return self->controller;
}

const char *
ns_job_status_get_text (NsJobStatus *self)
{
  g_return_val_if_fail (NS_IS_JOB_STATUS (self), NULL);
  return gtk_widget_get_visible (GTK_WIDGET (self)) ? gtk_progress_bar_get_text (self->bar)
                                                     : NULL;
}

double
ns_job_status_get_fraction (NsJobStatus *self)
{
  g_return_val_if_fail (NS_IS_JOB_STATUS (self), 0);
  return gtk_progress_bar_get_fraction (self->bar);
}

static void
ns_job_status_dispose (GObject *object)
{
  ns_job_status_set_controller (NS_JOB_STATUS (object), NULL);
  gtk_widget_dispose_template (GTK_WIDGET (object), NS_TYPE_JOB_STATUS);
  G_OBJECT_CLASS (ns_job_status_parent_class)->dispose (object);
}

static void
ns_job_status_get_property (GObject *object, guint prop_id, GValue *value, GParamSpec *pspec)
{
  switch (prop_id)
    {
    case PROP_CONTROLLER:
      g_value_set_object (value, NS_JOB_STATUS (object)->controller);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
ns_job_status_set_property (GObject *object, guint prop_id, const GValue *value,
                            GParamSpec *pspec)
{
  switch (prop_id)
    {
    case PROP_CONTROLLER:
      ns_job_status_set_controller (NS_JOB_STATUS (object), g_value_get_object (value));
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
ns_job_status_class_init (NsJobStatusClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->dispose = ns_job_status_dispose;
  object_class->get_property = ns_job_status_get_property;
  object_class->set_property = ns_job_status_set_property;
  properties[PROP_CONTROLLER] =
    g_param_spec_object ("controller", NULL, NULL, NS_TYPE_AI_CONTROLLER,
                         G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  g_object_class_install_properties (object_class, N_PROPS, properties);

  ns_ui_ensure_resources ();
  gtk_widget_class_set_template_from_resource (widget_class,
                                               "/org/neuroseg/Neuroseg/ui/ns-job-status.ui");
  gtk_widget_class_bind_template_child (widget_class, NsJobStatus, bar);
  gtk_widget_class_bind_template_callback (widget_class, cancel_clicked_cb);
  gtk_widget_class_set_css_name (widget_class, "jobstatus");
}

static void
ns_job_status_init (NsJobStatus *self)
{
  gtk_widget_init_template (GTK_WIDGET (self));
}

GtkWidget *
ns_job_status_new (NsAiController *controller)
{
  return g_object_new (NS_TYPE_JOB_STATUS, "controller", controller, NULL);
}
