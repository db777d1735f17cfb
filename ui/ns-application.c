/* SPDX-License-Identifier: MIT
 *
 * ns-application.c: the GtkApplication (see ns-application.h).  Files given on the
 * command line are one case (a folder, or the NIfTI files of one case), opened in one
 * window; no argument opens the bundled sample case.  Loading the GResource bundle, the
 * style sheet and the shortcuts happens once, at startup.
 *
 * Quitting closes each window as its close button would, so that a window with unsaved
 * edits asks first (Save / Discard / Cancel); the application ends with its last window.
 *
 * NEUROSEG_TEST_SCRIPT=FILE (a hook for end-to-end tests): when the first window has
 * loaded its case, each line of FILE runs through ns_test_script_run_line() (the same
 * editor calls the gestures and dialogs make); a line that fails is printed and the
 * application exits with status 1.
 *
 * NEUROSEG_TEST_STATUS=FILE: the state of the windows is written to FILE on SIGUSR1, for
 * tests that drive the program with real input (ns-test-status.h).
 *
 * The renderer: where OpenGL is software (Mesa's llvmpipe or softpipe: a VM, a remote
 * desktop, a machine without a GPU driver) GTK 4.8's GL renderer holds ~90 MiB more than
 * its cairo renderer and draws the slice views no faster (docs/memory.md has both
 * measured), so at startup, unless the user set GSK_RENDERER (which always wins), the
 * application asks the display for a GL context, reads its GL_RENDERER string and picks
 * cairo when that names a software rasteriser (ns_application_pick_renderer(), the rule).
 * It sets GSK_RENDERER for this process before any window is realised: GSK reads it once,
 * when the first window's renderer is made.  With a GPU driver nothing changes.
 */
#define G_LOG_DOMAIN "ns-app"

#include "ns-application.h"

#include "ns-config.h"
#include "ns-paths.h"
#include "ns-test-script.h"
#include "ns-test-status.h"
#include "ns-ui.h"
#include "ns-window.h"

#include <epoxy/gl.h>
#include <string.h>

struct _NsApplication
{
  GtkApplication parent_instance;

  char *sample_case;
  gboolean script_failed;
};

G_DEFINE_FINAL_TYPE (NsApplication, ns_application, GTK_TYPE_APPLICATION)

static void
run_test_script_cb (NsWindow *window, gboolean ok, NsApplication *self)
{
  const char *path = g_getenv ("NEUROSEG_TEST_SCRIPT");
  g_autofree char *contents = NULL;
  g_auto (GStrv) lines = NULL;
  g_autoptr (GError) error = NULL;

  g_signal_handlers_disconnect_by_func (window, run_test_script_cb, self);
  if (!ok || !g_file_get_contents (path, &contents, NULL, &error))
    {
      g_printerr ("neuroseg: test script %s: %s\n", path,
                  error != NULL ? error->message : "the case did not load");
      self->script_failed = TRUE;
      g_application_quit (G_APPLICATION (self));
      return;
    }
  lines = g_strsplit (contents, "\n", -1);
  g_object_ref (window);
  for (guint i = 0; lines[i] != NULL; i++)
    {
      if (!ns_test_script_run_line (window, lines[i], &error))
        {
          g_printerr ("neuroseg: test script %s:%u: %s\n", path, i + 1, error->message);
          self->script_failed = TRUE;
          g_application_quit (G_APPLICATION (self));
          break;
        }
      g_print ("script: %s\n", lines[i]);
    }
  g_print ("script: done\n");
  g_object_unref (window);
}

static NsWindow *
new_window (NsApplication *self)
{
  static gboolean script_taken;
  NsWindow *window = ns_window_new (GTK_APPLICATION (self));

  if (!script_taken && g_getenv ("NEUROSEG_TEST_SCRIPT") != NULL)
    {
      script_taken = TRUE;
      g_signal_connect (window, "load-finished", G_CALLBACK (run_test_script_cb), self);
    }

  ns_window_set_sample_case (window, self->sample_case);
  return window;
}

static void
ns_application_activate (GApplication *app)
{
  NsApplication *self = NS_APPLICATION (app);
  NsWindow *window = new_window (self);

  gtk_window_present (GTK_WINDOW (window));
  if (self->sample_case != NULL)
    {
      const char *paths[] = { self->sample_case, NULL };
      ns_window_open (window, paths);
    }
}

static void
ns_application_open (GApplication *app, GFile **files, int n_files, const char *hint)
{
  NsApplication *self = NS_APPLICATION (app);
  NsWindow *window = new_window (self);
  g_autoptr (GStrvBuilder) builder = g_strv_builder_new ();
  g_auto (GStrv) paths = NULL;

  for (int i = 0; i < n_files; i++)
    {
      g_autofree char *path = g_file_get_path (files[i]);
      if (path != NULL)
        g_strv_builder_add (builder, path);
    }
  paths = g_strv_builder_end (builder);
  gtk_window_present (GTK_WINDOW (window));
  if (paths[0] != NULL)
    ns_window_open (window, (const char *const *) paths);
}

static void
quit_action_cb (GSimpleAction *action, GVariant *parameter, gpointer user_data)
{
  GList *windows = g_list_copy (gtk_application_get_windows (GTK_APPLICATION (user_data)));

  /* Each window may ask about unsaved edits; the application ends with the last one. */
  for (GList *l = windows; l != NULL; l = l->next)
    gtk_window_close (l->data);
  g_list_free (windows);
}

static void
about_action_cb (GSimpleAction *action, GVariant *parameter, gpointer user_data)
{
  static const char *authors[] = { "The Neuroseg developers", NULL };
  GtkWindow *parent = gtk_application_get_active_window (GTK_APPLICATION (user_data));

  gtk_show_about_dialog (parent,
                         "program-name", "Neuroseg",
                         "version", NS_VERSION,
                         "logo-icon-name", "org.neuroseg.Neuroseg",
                         "comments", "A workbench for brain-tumour MRI segmentation.\n"
                                     "For research; not for clinical use.",
                         "license-type", GTK_LICENSE_MIT_X11,
                         "authors", authors,
                         NULL);
}

/* ---- renderer ------------------------------------------------------------------------- */

const char *
ns_application_pick_renderer (const char *gsk_renderer, const char *gl_renderer)
{
  if (gsk_renderer != NULL && gsk_renderer[0] != '\0')
    return NULL;     /* the user's choice */
  if (gl_renderer == NULL)
    return NULL;     /* no GL at all: GTK falls back to cairo itself */
  return ns_application_gl_is_software (gl_renderer) ? "cairo" : NULL;
}

gboolean
ns_application_gl_is_software (const char *gl_renderer)
{
  /* Mesa's software rasterisers name themselves in GL_RENDERER: "llvmpipe (LLVM 15.0.6,
   * 256 bits)", "softpipe", "Software Rasterizer" (classic swrast), "SWR" (OpenSWR). */
  static const char *const software[] = { "llvmpipe", "softpipe", "Software Rasterizer",
                                          "SWR", NULL };

  if (gl_renderer == NULL)
    return FALSE;
  for (guint i = 0; software[i] != NULL; i++)
    if (strstr (gl_renderer, software[i]) != NULL)
      return TRUE;
  return FALSE;
}

/* The GL_RENDERER string of a GL context on display (owned), or NULL when GDK has no GL
 * there (the reason in error). */
static char *
dup_gl_renderer (GdkDisplay *display, GError **error)
{
  g_autoptr (GdkGLContext) context = gdk_display_create_gl_context (display, error);
  const char *name;
  char *dup;

  if (context == NULL || !gdk_gl_context_realize (context, error))
    return NULL;
  gdk_gl_context_make_current (context);
  name = (const char *) glGetString (GL_RENDERER);
  dup = g_strdup (name != NULL ? name : "");
  gdk_gl_context_clear_current ();
  return dup;
}

const char *
ns_application_probe_gl_renderer (GdkDisplay *display)
{
  static gboolean probed;
  static char *gl_renderer;   /* for the life of the process */

  g_return_val_if_fail (GDK_IS_DISPLAY (display), NULL);
  if (!probed)
    {
      g_autoptr (GError) error = NULL;
      probed = TRUE;
      gl_renderer = dup_gl_renderer (display, &error);
      if (gl_renderer == NULL)
        g_debug ("no GL context (%s)", error->message);
    }
  return gl_renderer;
}

static void
choose_renderer (GdkDisplay *display)
{
  const char *gl_renderer, *renderer;

  if (g_getenv ("GSK_RENDERER") != NULL && g_getenv ("GSK_RENDERER")[0] != '\0')
    return;   /* decided already: no context made */
  gl_renderer = ns_application_probe_gl_renderer (display);
  if (gl_renderer == NULL)
    g_debug ("no GL: GTK picks its renderer");
  renderer = ns_application_pick_renderer (NULL, gl_renderer);
  if (renderer != NULL)
    {
      g_debug ("GL is %s, a software rasteriser: GSK_RENDERER=%s", gl_renderer, renderer);
      g_setenv ("GSK_RENDERER", renderer, TRUE);
    }
}

static void
ns_application_startup (GApplication *app)
{
  static const GActionEntry entries[] = {
    { "quit", quit_action_cb, NULL, NULL, NULL, { 0 } },
    { "about", about_action_cb, NULL, NULL, NULL, { 0 } },
  };
  static const struct { const char *action; const char *accels[3]; } accels[] = {
    { "win.open-case", { "<Control>o", NULL } },
    { "win.open-files", { "<Control><Shift>o", NULL } },
    { "win.close", { "<Control>w", NULL } },
    { "app.quit", { "<Control>q", NULL } },
    { "win.save-mask", { "<Control>s", NULL } },
    { "win.save-mask-as", { "<Control><Shift>s", NULL } },
    { "edit.history", { "<Control>h", NULL } },
    { "edit.interpolate", { "<Control>i", NULL } },
    { "win.undo", { "<Control>z", NULL } },
    { "win.redo", { "<Control><Shift>z", "<Control>y", NULL } },
    { "view.layout::row", { "<Control>1", NULL } },
    { "view.layout::grid", { "<Control>2", NULL } },
    { "view.layout::axial", { "<Control>3", NULL } },
    { "view.layout::sagittal", { "<Control>4", NULL } },
    { "view.layout::coronal", { "<Control>5", NULL } },
    { "view.layout::compare2", { "<Control>6", NULL } },
    { "view.layout::compare4", { "<Control>7", NULL } },
    { "view.reset", { "<Control>0", NULL } },
    { "view.zoom-in", { "<Control>plus", "<Control>equal", NULL } },
    { "view.zoom-out", { "<Control>minus", NULL } },
    { "view.window-preset::auto", { "<Control><Shift>a", NULL } },
    { "view.show-labels", { "<Control>l", NULL } },
    { "view.show-crosshair", { "<Control><Shift>c", NULL } },
    { "seg.run-model", { "<Control>r", NULL } },
  };
  g_autoptr (GtkCssProvider) css = NULL;

  ns_ui_ensure_resources ();
  G_APPLICATION_CLASS (ns_application_parent_class)->startup (app);
  choose_renderer (gdk_display_get_default ());
  ns_test_status_install ();

  g_action_map_add_action_entries (G_ACTION_MAP (app), entries, G_N_ELEMENTS (entries), app);
  for (guint i = 0; i < G_N_ELEMENTS (accels); i++)
    gtk_application_set_accels_for_action (GTK_APPLICATION (app), accels[i].action,
                                           accels[i].accels);

  css = gtk_css_provider_new ();
  gtk_css_provider_load_from_resource (css, "/org/neuroseg/Neuroseg/style.css");
  gtk_style_context_add_provider_for_display (gdk_display_get_default (),
                                              GTK_STYLE_PROVIDER (css),
                                              GTK_STYLE_PROVIDER_PRIORITY_APPLICATION);
  gtk_window_set_default_icon_name ("org.neuroseg.Neuroseg");
}

static void
ns_application_finalize (GObject *object)
{
  NsApplication *self = NS_APPLICATION (object);

  g_free (self->sample_case);

  G_OBJECT_CLASS (ns_application_parent_class)->finalize (object);
}

static void
ns_application_class_init (NsApplicationClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GApplicationClass *app_class = G_APPLICATION_CLASS (klass);

  object_class->finalize = ns_application_finalize;
  app_class->startup = ns_application_startup;
  app_class->activate = ns_application_activate;
  app_class->open = ns_application_open;
}

static void
ns_application_init (NsApplication *self)
{
  /* Before startup: GtkApplication looks for gtk/help-overlay.ui and icons/ in the
   * bundle while it starts up. */
  ns_ui_ensure_resources ();
  g_autoptr (GError) error = NULL;
  self->sample_case = ns_paths_dup_sample_case (&error);
  if (self->sample_case == NULL)
    g_message ("%s", error->message);  /* the window opens empty */
}

NsApplication *
ns_application_new (void)
{
  return g_object_new (NS_TYPE_APPLICATION,
                       "application-id", "org.neuroseg.Neuroseg",
                       "flags", G_APPLICATION_HANDLES_OPEN,
                       "resource-base-path", "/org/neuroseg/Neuroseg",
                       NULL);
}

void
ns_application_set_sample_case (NsApplication *self, const char *dir)
{
  g_return_if_fail (NS_IS_APPLICATION (self));

  g_free (self->sample_case);
  self->sample_case = g_strdup (dir);
}

const char *
ns_application_get_sample_case (NsApplication *self)
{
  g_return_val_if_fail (NS_IS_APPLICATION (self), NULL);
  return self->sample_case;
}

int
ns_app_run (int argc, char **argv)
{
  g_autoptr (NsApplication) app = ns_application_new ();

  int status;

  g_set_application_name ("Neuroseg");
  status = g_application_run (G_APPLICATION (app), argc, argv);
  return status != 0 ? status : app->script_failed ? 1 : 0;
}
