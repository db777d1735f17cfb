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

/* TRUE when gl_renderer (a GL_RENDERER string) names one of Mesa's software rasterisers
 * (llvmpipe, softpipe, ...): the one rule behind both choices above and the 3D view's. */
gboolean       ns_application_gl_is_software  (const char *gl_renderer);
/* The GL_RENDERER string of display's OpenGL (borrowed; NULL: no GL there), from one
 * temporary GL context made at the first call and destroyed at once; later calls give the
 * same answer without making another.  The startup's renderer choice calls it first
 * (unless the user set GSK_RENDERER), so the 3D view's choice (ns-view3d.c) costs nothing
 * more; made here for the first time, llvmpipe keeps about 8 MiB (docs/memory.md). */
const char    *ns_application_probe_gl_renderer (GdkDisplay *display);

/* The entry point app/main.c calls: runs the application on argv and returns the exit
 * status. */
int            ns_app_run                     (int argc, char **argv);

G_END_DECLS
