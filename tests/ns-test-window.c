/* SPDX-License-Identifier: MIT
 *
 * ns-test-window.c: conditions on the workbench window and accessors to what it edits, for
 * the in-process GUI tests.
 */
#include "ns-test-window.h"

#include <gtk/gtk.h>

#include "ns-mask-doc.h"
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

NsEditor *
ns_test_window_editor (NsWindow *window)
{
  return ns_window_get_editor (window);
}

NsMaskDoc *
ns_test_window_doc (NsWindow *window)
{
  return ns_editor_get_doc (ns_window_get_editor (window));
}

NsLabelMap *
ns_test_window_labels (NsWindow *window)
{
  NsMaskDoc *doc = ns_editor_get_doc (ns_window_get_editor (window));

  g_assert_nonnull (doc);
  return ns_mask_doc_get_map (doc);
}

NsHistory *
ns_test_window_history (NsWindow *window)
{
  NsMaskDoc *doc = ns_editor_get_doc (ns_window_get_editor (window));

  g_assert_nonnull (doc);
  return ns_mask_doc_get_history (doc);
}

const char *
ns_test_window_last_entry_name (NsWindow *window)
{
  NsHistory *history = ns_test_window_history (window);
  guint n = ns_history_n_undo (history);

  g_assert_cmpuint (n, >, 0);
  return ns_history_get (history, n - 1)->name;
}

void
ns_test_window_activate (NsWindow *window, const char *action, GVariant *parameter)
{
  g_assert_true (gtk_widget_activate_action_variant (GTK_WIDGET (window), action, parameter));
}

gsize
ns_test_labels_n_differ (const NsLabelMap *a, const NsLabelMap *b)
{
  gsize n = 0;

  for (gsize v = 0, N = ns_grid_n_voxels (&a->grid); v < N; v++)
    n += a->labels[v] != b->labels[v];
  return n;
}

gboolean
ns_test_window_action_enabled (NsWindow *window, const char *action)
{
  GtkBox *box = GTK_BOX (ns_window_get_layer_panel (window));
  GtkWidget *button = gtk_button_new ();
  gboolean enabled;

  gtk_actionable_set_action_name (GTK_ACTIONABLE (button), action);
  gtk_box_append (box, button);
  g_main_context_iteration (NULL, FALSE);
  enabled = gtk_widget_get_sensitive (button);
  gtk_box_remove (box, button);
  return enabled;
}
