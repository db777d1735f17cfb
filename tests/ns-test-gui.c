/* SPDX-License-Identifier: MIT
 *
 * ns-test-gui.c: the real-input harness (see ns-test-gui.h).  xdotool sends XTEST events,
 * which the X server delivers like a keyboard's and a mouse's; without a window manager
 * (xvfb-run) windows sit at the position GTK gives them, which xdotool reads back, and
 * GTK moves the keyboard focus to a dialog when it presents one.
 */
#include "ns-test-gui.h"

#include <gio/gio.h>
#include <glib/gstdio.h>
#include <gtk/gtk.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>

#include "ns-test-util.h"

struct _NsGuiApp
{
  GSubprocess *process;
  char *home;
  char *status_path;
  char *log_path;                /* its stdout and stderr */
  gint64 last_seq;
  gboolean exited;
};

static char *installed_program;
static char *installed_data_dir;

/* ---- running tools ---------------------------------------------------------------------- */

/* Runs argv to completion; its stdout (owned), or NULL with the failure logged (unless
 * quiet: polling). */
static char *
run_tool_full (const char *const *argv, gboolean quiet)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *out = NULL;
  g_autofree char *err = NULL;
  g_autofree char *line = g_strjoinv (" ", (char **) argv);
  int status;

  if (!g_spawn_sync (NULL, (char **) argv, NULL, G_SPAWN_SEARCH_PATH, NULL, NULL, &out, &err,
                     &status, &error))
    g_error ("%s: %s", line, error->message);
  if (!g_spawn_check_wait_status (status, &error))
    {
      if (!quiet)
        g_test_message ("%s: %s (%s)", line, error->message, err);
      return NULL;
    }
  return g_steal_pointer (&out);
}

static char *
run_tool (const char *const *argv)
{
  return run_tool_full (argv, FALSE);
}

static void
xdotool (const char *first, ...)
{
  g_autoptr (GPtrArray) argv = g_ptr_array_new ();
  g_autofree char *out = NULL;
  const char *arg;
  va_list ap;

  g_ptr_array_add (argv, (gpointer) "xdotool");
  va_start (ap, first);
  for (arg = first; arg != NULL; arg = va_arg (ap, const char *))
    g_ptr_array_add (argv, (gpointer) arg);
  va_end (ap);
  g_ptr_array_add (argv, NULL);
  out = run_tool ((const char *const *) argv->pdata);
  g_assert_nonnull (out);
}

/* ---- the installed program -------------------------------------------------------------- */

static void
install (void)
{
  const char *build = g_getenv ("NS_BUILD_DIR");
  g_autofree char *destdir = g_build_filename (ns_test_tmpdir (), "install", NULL);
  g_autofree char *intro = NULL;
  g_autofree char *contents = NULL;
  g_autoptr (JsonParser) parser = json_parser_new ();
  g_autoptr (GError) error = NULL;
  g_autoptr (GList) members = NULL;
  JsonObject *installed;
  const char *argv[] = { "meson", "install", "-C", build, "--no-rebuild", "--quiet",
                         "--destdir", destdir, NULL };
  g_autofree char *out = NULL;

  g_assert_nonnull (build);
  out = run_tool (argv);
  g_assert_nonnull (out);
  /* where each built file went: meson's own record */
  intro = g_build_filename (build, "meson-info", "intro-installed.json", NULL);
  g_assert_true (json_parser_load_from_file (parser, intro, &error));
  g_assert_no_error (error);
  installed = json_node_get_object (json_parser_get_root (parser));
  members = json_object_get_members (installed);
  for (GList *l = members; l != NULL; l = l->next)
    {
      const char *to = json_object_get_string_member (installed, l->data);

      if (g_str_has_suffix (l->data, "/app/neuroseg"))
        installed_program = g_build_filename (destdir, to, NULL);
      else if (g_str_has_suffix (to, "/neuroseg/models/default.safetensors"))
        {
          g_autofree char *models = g_path_get_dirname (to);
          g_autofree char *share = g_path_get_dirname (models);

          installed_data_dir = g_build_filename (destdir, share, NULL);
        }
    }
  g_assert_nonnull (installed_program);
  g_assert_nonnull (installed_data_dir);
  g_assert_true (g_file_test (installed_program, G_FILE_TEST_IS_EXECUTABLE));
  g_test_message ("installed %s", installed_program);
}

const char *
ns_gui_installed_program (void)
{
  if (installed_program == NULL)
    install ();
  return installed_program;
}

const char *
ns_gui_installed_data_dir (void)
{
  if (installed_data_dir == NULL)
    install ();
  return installed_data_dir;
}

/* ---- the app ---------------------------------------------------------------------------- */

static void
wait_cb (GObject *source, GAsyncResult *result, gpointer user_data)
{
  *(gboolean *) user_data = TRUE;
}

int
ns_gui_app_wait_exit (NsGuiApp *app, double timeout_s)
{
  gint64 end = g_get_monotonic_time () + (gint64) (timeout_s * G_USEC_PER_SEC);
  gboolean done = FALSE;

  g_subprocess_wait_async (app->process, NULL, wait_cb, &done);
  while (!done && g_get_monotonic_time () < end)
    {
      g_main_context_iteration (NULL, FALSE);
      g_usleep (10000);
    }
  if (!done)
    return -1;
  app->exited = TRUE;
  return g_subprocess_get_if_exited (app->process) ? g_subprocess_get_exit_status (app->process)
                                                   : -2;
}

/* The app dies with the test: a test that fails leaves no program behind (nor a pipe
 * that keeps meson waiting). */
static void
die_with_parent (gpointer user_data)
{
  prctl (PR_SET_PDEATHSIG, SIGKILL);
}

/* Prints what the app wrote. */
static void
print_log (NsGuiApp *app)
{
  g_autofree char *log = NULL;

  if (g_file_get_contents (app->log_path, &log, NULL, NULL) && log[0] != '\0')
    g_test_message ("the program's output:\n%s", log);
}

NsGuiApp *
ns_gui_app_start (const char *home, const char *const *args)
{
  return ns_gui_app_start_with_env (home, args, NULL);
}

NsGuiApp *
ns_gui_app_start_with_env (const char *home, const char *const *args,
                           const char *const *env)
{
  static guint n_homes;
  NsGuiApp *app = g_new0 (NsGuiApp, 1);
  g_autoptr (GSubprocessLauncher) launcher =
    g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_NONE);
  g_autoptr (GPtrArray) argv = g_ptr_array_new ();
  g_autoptr (GError) error = NULL;
  g_autofree char *data = NULL, *config = NULL, *cache = NULL, *pid = NULL, *windows = NULL;
  g_auto (GStrv) ids = NULL;
  gint64 end;

  /* a connection of our own for the whole test: xvfb-run's Xvfb resets when its last
   * client goes, and a program that connects during the reset cannot open the display */
  if (gdk_display_get_default () == NULL)
    gtk_init ();

  if (home != NULL)
    app->home = g_strdup (home);
  else
    {
      g_autofree char *name = g_strdup_printf ("home-%u", ++n_homes);

      app->home = g_build_filename (ns_test_tmpdir (), name, NULL);
    }
  data = g_build_filename (app->home, "data", NULL);
  config = g_build_filename (app->home, "config", NULL);
  cache = g_build_filename (app->home, "cache", NULL);
  app->status_path = g_build_filename (app->home, "status.json", NULL);
  app->log_path = g_build_filename (app->home, "output.log", NULL);
  g_assert_cmpint (g_mkdir_with_parents (data, 0700), ==, 0);
  g_unlink (app->status_path);

  /* a user's environment: nothing of the tests' own overrides */
  g_subprocess_launcher_set_cwd (launcher, app->home);
  g_subprocess_launcher_set_child_setup (launcher, die_with_parent, NULL, NULL);
  g_subprocess_launcher_set_flags (launcher, G_SUBPROCESS_FLAGS_STDERR_MERGE);
  g_subprocess_launcher_set_stdout_file_path (launcher, app->log_path);
  g_subprocess_launcher_setenv (launcher, "XDG_DATA_HOME", data, TRUE);
  g_subprocess_launcher_setenv (launcher, "XDG_CONFIG_HOME", config, TRUE);
  g_subprocess_launcher_setenv (launcher, "XDG_CACHE_HOME", cache, TRUE);
  g_subprocess_launcher_setenv (launcher, "NEUROSEG_TEST_STATUS", app->status_path, TRUE);
  g_subprocess_launcher_setenv (launcher, "GTK_A11Y", "none", TRUE);
  /* no session bus here: a unique GApplication would wait for it */
  g_subprocess_launcher_setenv (launcher, "DBUS_SESSION_BUS_ADDRESS", "disabled:", TRUE);
  for (const char *const *v = (const char *const[]) { "NEUROSEG_DATA_DIR",
                                                       "NEUROSEG_SAMPLE_CASE",
                                                       "NEUROSEG_TEST_SCRIPT", "NEUROSEG",
                                                       NULL };
       *v != NULL; v++)
    g_subprocess_launcher_unsetenv (launcher, *v);
  for (const char *const *e = env; e != NULL && e[0] != NULL && e[1] != NULL; e += 2)
    g_subprocess_launcher_setenv (launcher, e[0], e[1], TRUE);

  g_ptr_array_add (argv, (gpointer) ns_gui_installed_program ());
  for (const char *const *a = args; a != NULL && *a != NULL; a++)
    g_ptr_array_add (argv, (gpointer) *a);
  g_ptr_array_add (argv, NULL);
  app->process = g_subprocess_launcher_spawnv (launcher, (const char *const *) argv->pdata,
                                               &error);
  g_assert_no_error (error);

  /* its window, then the keyboard to it */
  pid = g_strdup (g_subprocess_get_identifier (app->process));
  end = g_get_monotonic_time () + 60 * G_USEC_PER_SEC;
  while (g_get_monotonic_time () < end)
    {
      const char *argv_search[] = { "xdotool", "search", "--onlyvisible", "--pid", pid, NULL };

      g_free (windows);
      windows = run_tool_full (argv_search, TRUE);
      if (g_subprocess_get_identifier (app->process) == NULL)
        {
          print_log (app);
          g_error ("%s ended before it showed a window", ns_gui_installed_program ());
        }
      if (windows != NULL && windows[0] != '\0')
        break;
      g_usleep (200000);
    }
  if (windows == NULL)
    {
      print_log (app);
      g_error ("%s showed no window within 60 s", ns_gui_installed_program ());
    }
  ids = g_strsplit (g_strstrip (windows), "\n", -1);
  g_assert_nonnull (ids[0]);
  xdotool ("windowfocus", "--sync", ids[0], NULL);
  return app;
}

void
ns_gui_app_free (NsGuiApp *app)
{
  if (app == NULL)
    return;
  if (!app->exited)
    {
      g_subprocess_force_exit (app->process);
      ns_gui_app_wait_exit (app, 30);
    }
  g_object_unref (app->process);
  g_free (app->home);
  g_free (app->status_path);
  g_free (app->log_path);
  g_free (app);
}

const char *
ns_gui_app_get_home (NsGuiApp *app)
{
  return app->home;
}

char *
ns_gui_app_dup_data_dir (NsGuiApp *app)
{
  return g_build_filename (app->home, "data", "neuroseg", NULL);
}

/* ---- what it shows ---------------------------------------------------------------------- */

JsonObject *
ns_gui_status (NsGuiApp *app)
{
  gint64 end = g_get_monotonic_time () + 30 * G_USEC_PER_SEC;
  const char *pid = g_subprocess_get_identifier (app->process);

  g_assert_false (app->exited);
  if (pid == NULL || kill (atoi (pid), SIGUSR1) != 0)
    {
      print_log (app);
      g_error ("the program ended unexpectedly");
    }
  /* the app writes it from its main loop, atomically: wait for a newer one */
  while (g_get_monotonic_time () < end)
    {
      g_autoptr (JsonParser) parser = json_parser_new ();

      if (json_parser_load_from_file (parser, app->status_path, NULL)
          && JSON_NODE_HOLDS_OBJECT (json_parser_get_root (parser)))
        {
          JsonObject *o = json_node_get_object (json_parser_get_root (parser));
          gint64 seq = json_object_get_int_member_with_default (o, "seq", 0);

          if (seq > app->last_seq)
            {
              app->last_seq = seq;
              return json_object_ref (o);
            }
        }
      g_usleep (20000);
    }
  g_error ("%s: the app wrote no state within 30 s", app->status_path);
  return NULL;
}

gboolean
ns_gui_wait (NsGuiApp *app, gboolean (*cond) (JsonObject *status, gpointer data),
             gpointer data, double timeout_s)
{
  gint64 end = g_get_monotonic_time () + (gint64) (timeout_s * G_USEC_PER_SEC);
  g_autoptr (JsonObject) status = NULL;

  for (;;)
    {
      g_clear_pointer (&status, json_object_unref);
      status = ns_gui_status (app);
      if (cond (status, data))
        return TRUE;
      if (g_get_monotonic_time () > end)
        break;
      g_usleep (200000);
    }
  {
    g_autoptr (JsonNode) node = json_node_init_object (json_node_alloc (), status);
    g_autofree char *text = json_to_string (node, TRUE);

    g_test_message ("the state when the wait ran out:\n%s", text);
  }
  print_log (app);
  return FALSE;
}

JsonObject *
ns_gui_window (JsonObject *status, const char *name)
{
  JsonArray *windows = json_object_get_array_member (status, "windows");

  for (guint i = 0; i < json_array_get_length (windows); i++)
    {
      JsonObject *w = json_array_get_object_element (windows, i);

      if (g_strcmp0 (json_object_get_string_member_with_default (w, "title", NULL), name) == 0
          || g_strcmp0 (json_object_get_string_member (w, "type"), name) == 0)
        return w;
    }
  return NULL;
}

JsonObject *
ns_gui_workbench (JsonObject *status)
{
  JsonObject *w = ns_gui_window (status, "NsWindow");

  return w != NULL ? json_object_get_object_member (w, "workbench") : NULL;
}

JsonObject *
ns_gui_widget (JsonObject *window, const char *name)
{
  JsonObject *widgets = window != NULL ? json_object_get_object_member (window, "widgets")
                                       : NULL;

  return widgets != NULL && json_object_has_member (widgets, name)
           ? json_object_get_object_member (widgets, name) : NULL;
}

gboolean
ns_gui_case_open (JsonObject *status, gpointer data)
{
  JsonObject *wb = ns_gui_workbench (status);

  return wb != NULL && !json_object_get_boolean_member (wb, "loading")
         && json_object_has_member (wb, "cursor");
}

gboolean
ns_gui_window_shown (JsonObject *status, gpointer data)
{
  return ns_gui_window (status, data) != NULL;
}

gboolean
ns_gui_window_gone (JsonObject *status, gpointer data)
{
  return ns_gui_window (status, data) == NULL;
}

cairo_surface_t *
ns_gui_screenshot (NsGuiApp *app)
{
  static guint n;
  g_autofree char *name = g_strdup_printf ("screen-%u.png", ++n);
  g_autofree char *path = g_build_filename (app->home, name, NULL);
  const char *argv[] = { "import", "-window", "root", path, NULL };
  g_autofree char *out = run_tool (argv);
  cairo_surface_t *surface;

  g_assert_nonnull (out);
  surface = cairo_image_surface_create_from_png (path);
  g_assert_cmpint (cairo_surface_status (surface), ==, CAIRO_STATUS_SUCCESS);
  return surface;
}

/* ---- real input ------------------------------------------------------------------------- */

static char *window_id (JsonObject *window);

void
ns_gui_key (NsGuiApp *app, const char *window, const char *keys)
{
  g_auto (GStrv) each = g_strsplit (keys, " ", -1);

  if (window != NULL)
    {
      g_autoptr (JsonObject) status = ns_gui_status (app);
      JsonObject *w = ns_gui_window (status, window);
      g_autofree char *id = NULL;

      if (w == NULL)
        g_error ("no window %s to type into", window);
      id = window_id (w);
      xdotool ("windowfocus", "--sync", id, NULL);
    }

  for (guint i = 0; each[i] != NULL; i++)
    if (each[i][0] != '\0')
      xdotool ("key", "--delay", "60", each[i], NULL);
}

void
ns_gui_type (NsGuiApp *app, const char *text)
{
  /* from a file: xdotool would take text that starts with "-" for an option */
  g_autofree char *path = g_build_filename (app->home, "typed.txt", NULL);

  g_assert_true (g_file_set_contents (path, text, -1, NULL));
  xdotool ("type", "--delay", "30", "--file", path, NULL);
}

/* The X window of a toplevel of the state, by its title (owned). */
static char *
window_id (JsonObject *window)
{
  const char *title = json_object_get_string_member_with_default (window, "title", NULL);
  g_autofree char *escaped = NULL;
  g_autofree char *pattern = NULL;
  g_autofree char *ids = NULL;
  g_auto (GStrv) lines = NULL;
  const char *argv_search[] = { "xdotool", "search", "--onlyvisible", "--name", NULL, NULL };

  g_assert_nonnull (title);
  escaped = g_regex_escape_string (title, -1);
  pattern = g_strdup_printf ("^%s$", escaped);
  argv_search[4] = pattern;
  ids = run_tool (argv_search);
  g_assert_nonnull (ids);
  lines = g_strsplit (g_strstrip (ids), "\n", -1);
  return g_strdup (lines[0]);
}

/* The top left corner of a toplevel of the state on the screen. */
static void
window_origin (JsonObject *window, int *x, int *y)
{
  g_autofree char *id = window_id (window);
  g_autofree char *geometry = NULL;

  {
    const char *argv_geometry[] = { "xdotool", "getwindowgeometry", "--shell", id, NULL };
    g_auto (GStrv) vars = NULL;

    geometry = run_tool (argv_geometry);
    g_assert_nonnull (geometry);
    vars = g_strsplit (geometry, "\n", -1);
    for (guint i = 0; vars[i] != NULL; i++)
      if (g_str_has_prefix (vars[i], "X="))
        *x = atoi (vars[i] + 2);
      else if (g_str_has_prefix (vars[i], "Y="))
        *y = atoi (vars[i] + 2);
  }
}

/* Whether the named widget of the named window shows, laid out (data: two names). */
static gboolean
widget_laid_out (JsonObject *status, gpointer data)
{
  const char *const *names = data;
  JsonObject *window = ns_gui_window (status, names[0]);
  JsonObject *widget = ns_gui_widget (window, names[1]);
  JsonArray *bounds, *size;

  if (widget == NULL || !json_object_get_boolean_member (widget, "mapped"))
    return FALSE;
  bounds = json_object_get_array_member (widget, "bounds");
  /* the window's own size too: a window just mapped can report 0 x 0 for a moment after
   * its children are allocated (seen with the Uncertainty window on a loaded machine) */
  size = json_object_get_array_member (window, "size");
  return json_array_get_int_element (bounds, 2) > 0 && json_array_get_int_element (bounds, 3) > 0
         && json_array_get_int_element (size, 0) > 0 && json_array_get_int_element (size, 1) > 0;
}

void
ns_gui_point_at (NsGuiApp *app, const char *window_name, const char *widget_name, double fx,
                 double fy)
{
  const char *names[] = { window_name, widget_name };
  g_autoptr (JsonObject) status = NULL;
  JsonObject *window, *widget;
  JsonArray *bounds;
  int ox = 0, oy = 0;
  g_autofree char *x = NULL;
  g_autofree char *y = NULL;

  /* a window just shown may not be laid out yet, and one being filled moves its widgets:
   * the point is taken from a state that shows the widget laid out where the state before
   * it showed it too */
  {
    gint64 end = g_get_monotonic_time () + 30 * G_USEC_PER_SEC;
    g_autofree char *before = NULL;

    for (;;)
      {
        g_autofree char *where = NULL;

        status = ns_gui_status (app);
        if (widget_laid_out (status, names))
          {
            JsonObject *w = ns_gui_window (status, window_name);
            JsonArray *b = json_object_get_array_member (ns_gui_widget (w, widget_name),
                                                         "bounds");
            JsonArray *sz = json_object_get_array_member (w, "size");

            where = g_strdup_printf ("%" G_GINT64_FORMAT " %" G_GINT64_FORMAT " %"
                                     G_GINT64_FORMAT " %" G_GINT64_FORMAT " %" G_GINT64_FORMAT
                                     " %" G_GINT64_FORMAT, json_array_get_int_element (b, 0),
                                     json_array_get_int_element (b, 1),
                                     json_array_get_int_element (b, 2),
                                     json_array_get_int_element (b, 3),
                                     json_array_get_int_element (sz, 0),
                                     json_array_get_int_element (sz, 1));
            if (g_strcmp0 (where, before) == 0)
              break;
          }
        if (g_get_monotonic_time () > end)
          g_error ("no widget %s shown in a window %s", widget_name, window_name);
        g_clear_pointer (&status, json_object_unref);
        g_free (before);
        before = g_steal_pointer (&where);
        g_usleep (100000);
      }
  }
  window = ns_gui_window (status, window_name);
  widget = ns_gui_widget (window, widget_name);
  g_assert_nonnull (widget);
  bounds = json_object_get_array_member (widget, "bounds");
  {
    JsonArray *size = json_object_get_array_member (window, "size");
    gint64 px = json_array_get_int_element (bounds, 0)
                + (gint64) (fx * json_array_get_int_element (bounds, 2));
    gint64 py = json_array_get_int_element (bounds, 1)
                + (gint64) (fy * json_array_get_int_element (bounds, 3));

    /* a person cannot point at what the window does not show (below the fold) */
    if (px < 0 || py < 0 || px >= json_array_get_int_element (size, 0)
        || py >= json_array_get_int_element (size, 1))
      g_error ("%s is outside its window %s: at %" G_GINT64_FORMAT ", %" G_GINT64_FORMAT,
               widget_name, window_name, px, py);
  }
  window_origin (window, &ox, &oy);
  x = g_strdup_printf ("%d", ox + (int) (json_array_get_int_element (bounds, 0)
                                         + fx * json_array_get_int_element (bounds, 2)));
  y = g_strdup_printf ("%d", oy + (int) (json_array_get_int_element (bounds, 1)
                                         + fy * json_array_get_int_element (bounds, 3)));
  xdotool ("mousemove", "--sync", x, y, NULL);
}

void
ns_gui_widget_screen_rect (NsGuiApp *app, const char *window_name, const char *widget_name,
                           int rect[4])
{
  g_autoptr (JsonObject) status = ns_gui_status (app);
  JsonObject *window = ns_gui_window (status, window_name);
  JsonObject *widget;
  JsonArray *bounds;
  int ox = 0, oy = 0;

  if (window == NULL)
    g_error ("no window %s to find %s in", window_name, widget_name);
  widget = ns_gui_widget (window, widget_name);
  if (widget == NULL)
    g_error ("no widget %s in window %s", widget_name, window_name);
  bounds = json_object_get_array_member (widget, "bounds");
  window_origin (window, &ox, &oy);
  rect[0] = ox + (int) json_array_get_int_element (bounds, 0);
  rect[1] = oy + (int) json_array_get_int_element (bounds, 1);
  rect[2] = (int) json_array_get_int_element (bounds, 2);
  rect[3] = (int) json_array_get_int_element (bounds, 3);
}

void
ns_gui_click (NsGuiApp *app)
{
  xdotool ("click", "1", NULL);
}

void
ns_gui_button (NsGuiApp *app, gboolean down)
{
  xdotool (down ? "mousedown" : "mouseup", "1", NULL);
}

void
ns_gui_wheel (NsGuiApp *app, int steps)
{
  for (int i = 0; i < ABS (steps); i++)
    xdotool ("click", steps > 0 ? "5" : "4", NULL);
}
