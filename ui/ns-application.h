/* SPDX-License-Identifier: MIT
 *
 * ns-application.h: the GtkApplication of the workbench: a window per case given on the
 * command line (or the bundled sample case without arguments), the app.* actions and the
 * keyboard shortcuts of every menu item.
 */
#pragma once

#include <gtk/gtk.h>

G_BEGIN_DECLS

#define NS_TYPE_APPLICATION (ns_application_get_type ())

G_DECLARE_FINAL_TYPE (NsApplication, ns_application, NS, APPLICATION, GtkApplication)

NsApplication *ns_application_new             (void);
/* The case opened when the application is started without files (NULL: none). */
void           ns_application_set_sample_case (NsApplication *self, const char *dir);
const char    *ns_application_get_sample_case (NsApplication *self);

/* The GSK renderer the workbench asks for, given the GSK_RENDERER variable (NULL: unset)
 * and the GL_RENDERER string of the display's GL (NULL: no GL): "cairo" when GL is a
 * software rasteriser and the user did not choose, else NULL (GTK's own choice). */
const char    *ns_application_pick_renderer   (const char *gsk_renderer,
                                               const char *gl_renderer);

/* The entry point app/main.c calls: runs the application on argv and returns the exit
 * status. */
int            ns_app_run                     (int argc, char **argv);

G_END_DECLS
