/* SPDX-License-Identifier: MIT
 *
 * ns-window-questions.c: the window's modal questions (ns-window-private.h): one
 * GtkMessageDialog at a time is the window's question, reachable through
 * ns_window_get_question() so that tests answer it as a person would.  A question that
 * is one step of an async operation (saving, the save-changes question) carries its
 * GTask: answering hands it on, and a question destroyed unanswered (its window closed
 * under it) returns it as cancelled, so that no caller waits for ever.
 */
#define G_LOG_DOMAIN "ns-window"

#include "ns-window-private.h"

#include <stdarg.h>

void
_ns_window_show_error (NsWindow *self, const char *primary, const char *secondary)
{
  GtkWidget *dialog = gtk_message_dialog_new (GTK_WINDOW (self),
                                              GTK_DIALOG_MODAL | GTK_DIALOG_DESTROY_WITH_PARENT,
                                              GTK_MESSAGE_ERROR, GTK_BUTTONS_CLOSE, "%s",
                                              primary);

  gtk_message_dialog_format_secondary_text (GTK_MESSAGE_DIALOG (dialog), "%s", secondary);
  g_signal_connect (dialog, "response", G_CALLBACK (gtk_window_destroy), NULL);
  gtk_window_present (GTK_WINDOW (dialog));
}

void
_ns_window_dismiss (gpointer dialog)
{
  gtk_window_set_transient_for (GTK_WINDOW (dialog), NULL);
  gtk_window_destroy (GTK_WINDOW (dialog));
}

static void
question_destroyed_cb (NsWindow *self, GtkWidget *dialog)
{
  if (self->question == dialog)
    self->question = NULL;
  if (self->recovery == dialog)
    self->recovery = NULL;
}

void
_ns_window_present_question (NsWindow *self, GtkWidget *dialog)
{
  gtk_window_set_modal (GTK_WINDOW (dialog), TRUE);
  gtk_window_set_transient_for (GTK_WINDOW (dialog), GTK_WINDOW (self));
  gtk_window_set_destroy_with_parent (GTK_WINDOW (dialog), TRUE);
  g_signal_connect_object (dialog, "destroy", G_CALLBACK (question_destroyed_cb), self,
                           G_CONNECT_SWAPPED);
  self->question = dialog;
  gtk_window_present (GTK_WINDOW (dialog));
}

static GtkWidget *
question_new (NsWindow *self, const char *primary, const char *secondary, va_list args)
{
  GtkWidget *dialog = gtk_message_dialog_new (GTK_WINDOW (self),
                                              GTK_DIALOG_MODAL | GTK_DIALOG_DESTROY_WITH_PARENT,
                                              GTK_MESSAGE_QUESTION, GTK_BUTTONS_NONE, "%s",
                                              primary);
  const char *label;

  gtk_message_dialog_format_secondary_text (GTK_MESSAGE_DIALOG (dialog), "%s", secondary);
  while ((label = va_arg (args, const char *)) != NULL)
    gtk_dialog_add_button (GTK_DIALOG (dialog), label, va_arg (args, int));
  return dialog;
}

GtkWidget *
_ns_window_ask (NsWindow *self, const char *primary, const char *secondary,
                GCallback response_cb, ...)
{
  GtkWidget *dialog;
  va_list args;

  va_start (args, response_cb);
  dialog = question_new (self, primary, secondary, args);
  va_end (args);
  g_signal_connect (dialog, "response", response_cb, self);
  _ns_window_present_question (self, dialog);
  return dialog;
}

/* One question (or file chooser) of an async operation. */
typedef struct
{
  GTask *task;
  gboolean answered;
  void (*dialog_cb) (GtkDialog *dialog, int response, GTask *task);
  void (*chooser_cb) (GtkNativeDialog *native, int response, GTask *task);
} TaskStep;

static void
task_step_free (gpointer data, GClosure *closure)
{
  TaskStep *step = data;

  if (!step->answered)
    _ns_window_return_cancelled (step->task);
  g_object_unref (step->task);
  g_free (step);
}

static void
task_step_dialog_cb (GtkDialog *dialog, int response, TaskStep *step)
{
  g_autoptr (GTask) task = g_object_ref (step->task);

  step->answered = TRUE;
  step->dialog_cb (dialog, response, task);
}

static void
task_step_chooser_cb (GtkNativeDialog *native, int response, TaskStep *step)
{
  g_autoptr (GTask) task = g_object_ref (step->task);

  step->answered = TRUE;
  step->chooser_cb (native, response, task);
}

GtkWidget *
_ns_window_ask_for_task (NsWindow *self, GTask *task, const char *primary,
                         const char *secondary,
                         void (*response_cb) (GtkDialog *dialog, int response, GTask *task),
                         ...)
{
  TaskStep *step = g_new0 (TaskStep, 1);
  GtkWidget *dialog;
  va_list args;

  va_start (args, response_cb);
  dialog = question_new (self, primary, secondary, args);
  va_end (args);
  step->task = g_object_ref (task);
  step->dialog_cb = response_cb;
  g_signal_connect_data (dialog, "response", G_CALLBACK (task_step_dialog_cb), step,
                         task_step_free, 0);
  _ns_window_present_question (self, dialog);
  return dialog;
}

void
_ns_window_connect_chooser_to_task (GtkNativeDialog *native, GTask *task,
                                    void (*response_cb) (GtkNativeDialog *native, int response,
                                                         GTask *task))
{
  TaskStep *step = g_new0 (TaskStep, 1);

  step->task = g_object_ref (task);
  step->chooser_cb = response_cb;
  g_signal_connect_data (native, "response", G_CALLBACK (task_step_chooser_cb), step,
                         task_step_free, 0);
}

void
_ns_window_return_cancelled (GTask *task)
{
  g_task_return_new_error (task, G_IO_ERROR, G_IO_ERROR_CANCELLED, "Cancelled by the user");
}
