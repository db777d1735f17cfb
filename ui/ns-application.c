/* SPDX-License-Identifier: MIT
 *
 * ns-application.c: the GtkApplication (a window per opened case).  Placeholder window
 * until the workbench lands.
 */
#define G_LOG_DOMAIN "ns-ui"

#include <gtk/gtk.h>

static void
activate_cb (GtkApplication *app, gpointer user_data)
{
  GtkWidget *window = gtk_application_window_new (app);
  gtk_window_set_title (GTK_WINDOW (window), "Neuroseg");
  gtk_window_present (GTK_WINDOW (window));
}

int
ns_app_run (int argc, char **argv)
{
  g_autoptr (GtkApplication) app = gtk_application_new ("org.neuroseg.Neuroseg",
                                                       G_APPLICATION_HANDLES_OPEN);
  g_signal_connect (app, "activate", G_CALLBACK (activate_cb), NULL);
  return g_application_run (G_APPLICATION (app), argc, argv);
}
