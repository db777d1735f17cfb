/* SPDX-License-Identifier: MIT
 *
 * ns-test-window.c: conditions on the workbench window for the in-process GUI tests.
 */
#include "ns-test-window.h"

#include <gtk/gtk.h>

#include "ns-window.h"

gboolean
ns_test_window_idle (gpointer window)
{
  return !ns_window_is_loading (NS_WINDOW (window));
}

gboolean
ns_test_window_views_allocated (gpointer window)
{
  for (int p = 0; p < NS_N_PLANES; p++)
    if (gtk_widget_get_width (GTK_WIDGET (ns_window_get_slice_view (NS_WINDOW (window), p)))
        < 100)
      return FALSE;
  return TRUE;
}

gboolean
ns_test_window_compare_allocated (gpointer window)
{
  const char *layout = ns_window_get_layout (NS_WINDOW (window));
  guint n = g_strcmp0 (layout, "compare4") == 0 ? 4 : g_strcmp0 (layout, "compare2") == 0 ? 2 : 0;

  for (guint v = 0; v < n; v++)
    {
      GtkWidget *view = GTK_WIDGET (ns_window_get_compare_view (NS_WINDOW (window), v));

      if (!gtk_widget_get_mapped (view) || gtk_widget_get_width (view) < 100)
        return FALSE;
    }
  return n > 0;
}
