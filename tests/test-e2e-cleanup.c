/* SPDX-License-Identifier: MIT
 *
 * test-e2e-cleanup.c: the cleanup tools and the fill guard of the editor (issue 17) as a
 * person uses them: the installed program driven with real key presses and clicks
 * (tests/ns-test-gui.h, xdotool), checked through what it shows.
 *
 *   /e2e/cleanup/margin-key      Shift+G with the pointer over the axial view grows the
 *                                active label by the margin shown (the status line says
 *                                "Grow 2 mm", more voxels are labelled); Ctrl+Z undoes it
 *   /e2e/cleanup/fill-guard      the Fill tool, a click into the air of the axial view: the
 *                                "Fill Guard" question, nothing painted; Alt+C cancels;
 *                                the click again and Alt+F fills; Ctrl+Z undoes it
 *
 * Runs under xvfb-run (the e2e suite).
 */
#include "ns-config.h"

#include <string.h>

#include "ns-test-gui.h"
#include "ns-test-util.h"

#define MAIN_WINDOW "NsWindow"

static gint64
mask_nonzero (JsonObject *status)
{
  return json_object_get_int_member (ns_gui_workbench (status), "mask_nonzero");
}

static gboolean
nonzero_is (JsonObject *status, gpointer data)
{
  return mask_nonzero (status) == *(gint64 *) data;
}

static gboolean
nonzero_above (JsonObject *status, gpointer data)
{
  return mask_nonzero (status) > *(gint64 *) data;
}

static gboolean
cleanup_status_starts (JsonObject *status, gpointer data)
{
  JsonObject *label = ns_gui_widget (ns_gui_window (status, MAIN_WINDOW), "cleanup-status");
  const char *text = label != NULL ? json_object_get_string_member_with_default (label, "text",
                                                                               NULL)
                                   : NULL;

  return text != NULL && g_str_has_prefix (text, data);
}

static NsGuiApp *
start (gint64 *n0)
{
  NsGuiApp *app = ns_gui_app_start (NULL, NULL);
  g_autoptr (JsonObject) status = NULL;

  g_assert_true (ns_gui_wait (app, ns_gui_case_open, NULL, 180));
  status = ns_gui_status (app);
  *n0 = mask_nonzero (status);
  g_assert_cmpint (*n0, >, 0);   /* the case's segmentation */
  return app;
}

static void
test_margin_key (void)
{
  gint64 n0;
  NsGuiApp *app = start (&n0);

  ns_gui_point_at (app, MAIN_WINDOW, "axial-view", 0.5, 0.5);
  ns_gui_key (app, MAIN_WINDOW, "shift+g");
  g_assert_true (ns_gui_wait (app, cleanup_status_starts, "Grow 2 mm: ", 60));
  g_assert_true (ns_gui_wait (app, nonzero_above, &n0, 30));
  ns_gui_key (app, MAIN_WINDOW, "ctrl+z");
  g_assert_true (ns_gui_wait (app, nonzero_is, &n0, 30));
  ns_gui_app_free (app);
}

static void
test_fill_guard (void)
{
  gint64 n0;
  NsGuiApp *app = start (&n0);
  g_autoptr (JsonObject) status = NULL;

  /* the Fill tool button, a click into the air in a corner of the axial view */
  ns_gui_point_at (app, MAIN_WINDOW, "tool-fill", 0.5, 0.5);
  ns_gui_click (app);
  ns_gui_point_at (app, MAIN_WINDOW, "axial-view", 0.2, 0.2);
  ns_gui_click (app);
  g_assert_true (ns_gui_wait (app, ns_gui_window_shown, "Fill Guard", 30));
  status = ns_gui_status (app);
  g_assert_cmpint (mask_nonzero (status), ==, n0);
  ns_gui_key (app, "Fill Guard", "alt+c");
  g_assert_true (ns_gui_wait (app, ns_gui_window_gone, "Fill Guard", 30));
  g_clear_pointer (&status, json_object_unref);
  status = ns_gui_status (app);
  g_assert_cmpint (mask_nonzero (status), ==, n0);

  /* again, and Fill Anyway */
  ns_gui_point_at (app, MAIN_WINDOW, "axial-view", 0.2, 0.2);
  ns_gui_click (app);
  g_assert_true (ns_gui_wait (app, ns_gui_window_shown, "Fill Guard", 30));
  ns_gui_key (app, "Fill Guard", "alt+f");
  g_assert_true (ns_gui_wait (app, ns_gui_window_gone, "Fill Guard", 30));
  g_assert_true (ns_gui_wait (app, nonzero_above, &n0, 30));
  ns_gui_key (app, MAIN_WINDOW, "ctrl+z");
  g_assert_true (ns_gui_wait (app, nonzero_is, &n0, 30));
  ns_gui_app_free (app);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/e2e/cleanup/margin-key", test_margin_key);
  g_test_add_func ("/e2e/cleanup/fill-guard", test_fill_guard);
  return g_test_run ();
}
