/* SPDX-License-Identifier: MIT
 *
 * test-e2e-layouts.c: sequences side by side and the lasso (issue 17) as a person uses
 * them: the installed program driven with real key presses, pointer moves and button
 * presses (tests/ns-test-gui.h, xdotool), checked through what it shows.
 *
 *   /e2e/layouts/compare-click-lasso   Ctrl+6 shows the two-sequence layout; a click in
 *                                      the second view moves the cursor; L and a drag of
 *                                      an outline in the first view fill it (more voxels
 *                                      labelled); Ctrl+Z undoes it; the next start opens
 *                                      in the layout chosen
 *
 * Runs under xvfb-run (the e2e suite).
 */
#include "ns-config.h"

#include <math.h>
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
layout_is (JsonObject *status, gpointer data)
{
  JsonObject *wb = ns_gui_workbench (status);
  JsonObject *view = ns_gui_widget (ns_gui_window (status, MAIN_WINDOW), "compare-view-2");

  return wb != NULL
         && g_strcmp0 (json_object_get_string_member_with_default (wb, "layout", NULL), data)
              == 0
         && view != NULL && json_object_get_boolean_member (view, "mapped");
}

static gboolean
cursor_moved (JsonObject *status, gpointer data)
{
  JsonArray *cursor = json_object_get_array_member (ns_gui_workbench (status), "cursor");
  const gint64 *before = data;

  for (guint a = 0; a < 2; a++)
    if (json_array_get_int_element (cursor, a) != before[a])
      return TRUE;
  return FALSE;
}

static void
test_compare_click_lasso (void)
{
  g_autofree char *home = NULL;
  NsGuiApp *app = ns_gui_app_start (NULL, NULL);
  g_autoptr (JsonObject) status = NULL;
  gint64 n0, before[3];

  g_assert_true (ns_gui_wait (app, ns_gui_case_open, NULL, 180));
  home = g_strdup (ns_gui_app_get_home (app));

  ns_gui_key (app, MAIN_WINDOW, "ctrl+6");
  g_assert_true (ns_gui_wait (app, layout_is, (gpointer) "compare2", 30));

  /* a click in the second (T1c) view moves the one cursor */
  status = ns_gui_status (app);
  n0 = mask_nonzero (status);
  for (guint a = 0; a < 3; a++)
    before[a] = json_array_get_int_element (
      json_object_get_array_member (ns_gui_workbench (status), "cursor"), a);
  ns_gui_point_at (app, MAIN_WINDOW, "compare-view-2", 0.62, 0.38);
  ns_gui_click (app);
  g_assert_true (ns_gui_wait (app, cursor_moved, before, 30));

  /* the lasso: L, then an outline dragged in the first (FLAIR) view, in the brain away
   * from the tumour */
  ns_gui_key (app, NULL, "l");
  ns_gui_point_at (app, MAIN_WINDOW, "compare-view-1", 0.36, 0.40);
  ns_gui_button (app, TRUE);
  ns_gui_point_at (app, MAIN_WINDOW, "compare-view-1", 0.44, 0.40);
  ns_gui_point_at (app, MAIN_WINDOW, "compare-view-1", 0.46, 0.50);
  ns_gui_point_at (app, MAIN_WINDOW, "compare-view-1", 0.40, 0.56);
  ns_gui_point_at (app, MAIN_WINDOW, "compare-view-1", 0.34, 0.48);
  ns_gui_button (app, FALSE);
  g_assert_true (ns_gui_wait (app, nonzero_above, &n0, 30));

  ns_gui_key (app, MAIN_WINDOW, "ctrl+z");
  g_assert_true (ns_gui_wait (app, nonzero_is, &n0, 30));

  /* the next start opens in the layout chosen */
  ns_gui_key (app, MAIN_WINDOW, "ctrl+q");
  g_assert_cmpint (ns_gui_app_wait_exit (app, 30), ==, 0);
  ns_gui_app_free (app);
  app = ns_gui_app_start (home, NULL);
  g_assert_true (ns_gui_wait (app, ns_gui_case_open, NULL, 180));
  g_assert_true (ns_gui_wait (app, layout_is, (gpointer) "compare2", 30));
  ns_gui_app_free (app);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/e2e/layouts/compare-click-lasso", test_compare_click_lasso);
  return g_test_run ();
}
