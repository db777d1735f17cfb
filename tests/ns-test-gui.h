/* SPDX-License-Identifier: MIT
 *
 * ns-test-gui.h: a harness for end-to-end tests that use the workbench as a person does:
 * the installed program (the build's `meson install --destdir`), started from a fresh
 * folder outside the source tree with fresh XDG data, config and cache folders, under the
 * X display the suite runs in (xvfb-run), driven with real input events (xdotool: XTEST
 * key presses, pointer moves, clicks and wheel steps, delivered by the X server to the
 * window as a keyboard and mouse would), and observed through what it shows: its state
 * dump (NEUROSEG_TEST_STATUS, ui/ns-test-status.h: windows, named widgets and where they
 * are, the workbench's case, mask, job and actions), the files it writes, and screenshots.
 *
 * A test starts the app, waits for a state, sends input, waits for the state it should
 * lead to:
 *
 *   NsGuiApp *app = ns_gui_app_start (NULL, NULL);
 *   g_assert_true (ns_gui_wait (app, ns_gui_case_open, NULL, 120));
 *   ns_gui_key (app, "ctrl+r");
 *   ...
 *
 * Every wait has a timeout and prints the last state when it runs out.
 */
#pragma once

#include <cairo.h>
#include <json-glib/json-glib.h>

G_BEGIN_DECLS

typedef struct _NsGuiApp NsGuiApp;

/* The installed program: `meson install --destdir` of the build into this test program's
 * temporary folder, done once (NS_BUILD_DIR names the build). */
const char *ns_gui_installed_program (void);
/* Where the installed data went: <destdir><prefix>/share/neuroseg. */
const char *ns_gui_installed_data_dir (void);

/* Starts the installed program with args (NULL-terminated, NULL: none) from a fresh
 * folder (home, NULL: a new one under the temporary folder; give the same one again to
 * restart in it), XDG_DATA_HOME, XDG_CONFIG_HOME and XDG_CACHE_HOME under it; waits for
 * its first window to show and gives it the keyboard focus. */
NsGuiApp   *ns_gui_app_start        (const char *home, const char *const *args);
/* The same with variables set for the program only: env is NAME, VALUE, ..., NULL. */
NsGuiApp   *ns_gui_app_start_with_env (const char *home, const char *const *args,
                                       const char *const *env);
/* Kills the app if it still runs, and frees. */
void        ns_gui_app_free         (NsGuiApp *app);
const char *ns_gui_app_get_home     (NsGuiApp *app);
/* Its user data folder: <home>/data/neuroseg. */
char       *ns_gui_app_dup_data_dir (NsGuiApp *app);
/* Waits for it to end: its exit status, -1 on timeout, -2 killed by a signal. */
int         ns_gui_app_wait_exit    (NsGuiApp *app, double timeout_s);

/* ---- what it shows -------------------------------------------------------------------- */

/* A fresh state dump (owned). */
JsonObject *ns_gui_status           (NsGuiApp *app);
/* Polls the state until cond (status, data) holds; FALSE (and the last state printed) on
 * timeout. */
gboolean    ns_gui_wait             (NsGuiApp *app,
                                     gboolean (*cond) (JsonObject *status, gpointer data),
                                     gpointer data, double timeout_s);
/* The first visible toplevel whose title or type is name (borrowed from status; NULL:
 * none). */
JsonObject *ns_gui_window           (JsonObject *status, const char *name);
/* The workbench's part of the state (the first NsWindow's; NULL: none). */
JsonObject *ns_gui_workbench        (JsonObject *status);
/* A named widget of a window of the state (NULL: none). */
JsonObject *ns_gui_widget           (JsonObject *window, const char *name);
/* Conditions for ns_gui_wait: the workbench shows a loaded case; a toplevel of that title
 * or type (data: const char *) shows; none does. */
gboolean    ns_gui_case_open        (JsonObject *status, gpointer data);
gboolean    ns_gui_window_shown     (JsonObject *status, gpointer data);
gboolean    ns_gui_window_gone      (JsonObject *status, gpointer data);

/* The screen now (import -window root), owned. */
cairo_surface_t *ns_gui_screenshot  (NsGuiApp *app);

/* ---- real input ------------------------------------------------------------------------- */

/* Key presses (xdotool key syntax, space-separated: "ctrl+r", "alt+s u", "Down") to the
 * toplevel window (a title or type; NULL: the one with the keyboard focus), which gets
 * the focus first, as a click on it would give it. */
void        ns_gui_key              (NsGuiApp *app, const char *window, const char *keys);
/* Types text, one key press per character. */
void        ns_gui_type             (NsGuiApp *app, const char *text);
/* Moves the pointer to the point at fractions (fx, fy) of named widget's box in the
 * toplevel window (a title or type), as the state shows it now. */
void        ns_gui_point_at         (NsGuiApp *app, const char *window, const char *widget,
                                     double fx, double fy);
/* Where named widget of a toplevel window is on the screen (x, y, width, height), as
 * the state shows it now: to cut it out of ns_gui_screenshot (). */
void        ns_gui_widget_screen_rect (NsGuiApp *app, const char *window, const char *widget,
                                       int rect[4]);
/* Button 1 at the pointer. */
void        ns_gui_click            (NsGuiApp *app);
/* Button 1 pressed (down) or released at the pointer: with ns_gui_point_at () between,
 * a drag (a brush stroke). */
void        ns_gui_button           (NsGuiApp *app, gboolean down);
/* Wheel steps at the pointer (> 0: down, < 0: up). */
void        ns_gui_wheel            (NsGuiApp *app, int steps);

G_END_DECLS
