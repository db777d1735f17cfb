/* SPDX-License-Identifier: MIT
 *
 * ns-test-status.c: the state dump of end-to-end tests that drive the program with real
 * input (see ns-test-status.h).  Everything here is read through public API or the
 * widgets themselves, the way a person reads the screen: an action is enabled when a
 * button bound to it is sensitive, a named widget is where GTK allocated it.
 */
#define G_LOG_DOMAIN "ns-test-status"

#include "ns-test-status.h"

#include <glib-unix.h>

#include <json-glib/json-glib.h>

#include "ns-view3d.h"
#include "ns-window-private.h"

/* Actions whose state the dump reports. */
static const char *const reported_actions[] = {
  "win.undo", "win.redo", "win.save-mask", "seg.run-model", "seg.mark-corrected",
  "edit.history", NULL
};

static void
add_bounds (JsonBuilder *b, GtkWidget *widget, GtkWidget *toplevel)
{
  graphene_rect_t r;

  if (!gtk_widget_compute_bounds (widget, toplevel, &r))
    graphene_rect_init (&r, -1, -1, 0, 0);
  json_builder_begin_array (b);
  json_builder_add_int_value (b, (gint64) r.origin.x);
  json_builder_add_int_value (b, (gint64) r.origin.y);
  json_builder_add_int_value (b, (gint64) r.size.width);
  json_builder_add_int_value (b, (gint64) r.size.height);
  json_builder_end_array (b);
}

/* Every widget given a name (gtk_widget_set_name, "name" in a template): where it is in
 * its toplevel, whether it shows and takes input, and its value where it has one. */
static void
add_named_widgets (JsonBuilder *b, GtkWidget *widget, GtkWidget *toplevel)
{
  const char *name = gtk_widget_get_name (widget);

  if (g_strcmp0 (name, G_OBJECT_TYPE_NAME (widget)) != 0)
    {
      json_builder_set_member_name (b, name);
      json_builder_begin_object (b);
      json_builder_set_member_name (b, "bounds");
      add_bounds (b, widget, toplevel);
      json_builder_set_member_name (b, "mapped");
      json_builder_add_boolean_value (b, gtk_widget_get_mapped (widget));
      json_builder_set_member_name (b, "sensitive");
      json_builder_add_boolean_value (b, gtk_widget_is_sensitive (widget));
      json_builder_set_member_name (b, "focus");
      {
        /* a window may have no focus at all (its focused button went insensitive) */
        GtkWidget *focus = gtk_root_get_focus (GTK_ROOT (toplevel));

        json_builder_add_boolean_value (b, gtk_widget_has_focus (widget)
                                             || gtk_widget_has_visible_focus (widget)
                                             || (focus != NULL
                                                 && gtk_widget_is_ancestor (focus, widget)));
      }
      if (GTK_IS_SPIN_BUTTON (widget))
        {
          json_builder_set_member_name (b, "value");
          json_builder_add_double_value (b, gtk_spin_button_get_value (GTK_SPIN_BUTTON (widget)));
        }
      else if (GTK_IS_SCROLLED_WINDOW (widget))
        {
          json_builder_set_member_name (b, "value");
          json_builder_add_double_value (
            b, gtk_adjustment_get_value (
                 gtk_scrolled_window_get_vadjustment (GTK_SCROLLED_WINDOW (widget))));
        }
      else if (GTK_IS_LABEL (widget))
        {
          json_builder_set_member_name (b, "text");
          json_builder_add_string_value (b, gtk_label_get_text (GTK_LABEL (widget)));
        }
      else if (NS_IS_VIEW3D (widget))
        {
          /* the 3D view: its camera, what it meshed and drew */
          NsView3d *view = NS_VIEW3D (widget);
          const NsCamera3d *cam = ns_view3d_get_camera (view);
          const NsSurfaces *surfaces = ns_view3d_get_surfaces (view);
          const GError *error = ns_view3d_get_error (view);

          json_builder_set_member_name (b, "azimuth");
          json_builder_add_double_value (b, cam->azimuth);
          json_builder_set_member_name (b, "elevation");
          json_builder_add_double_value (b, cam->elevation);
          json_builder_set_member_name (b, "zoom");
          json_builder_add_double_value (b, cam->zoom);
          json_builder_set_member_name (b, "triangles");
          json_builder_add_int_value (b, surfaces != NULL
                                           ? (gint64) ns_surfaces_n_triangles (surfaces) : 0);
          json_builder_set_member_name (b, "meshing");
          json_builder_add_boolean_value (b, ns_view3d_is_meshing (view));
          json_builder_set_member_name (b, "remeshed_blocks");
          json_builder_add_int_value (b, ns_view3d_get_last_remeshed (view));
          json_builder_set_member_name (b, "renderer");
          json_builder_add_string_value (b, ns_view3d_get_renderer_name (view));
          json_builder_set_member_name (b, "frame_us");
          json_builder_add_int_value (b, ns_view3d_get_last_frame_us (view));
          json_builder_set_member_name (b, "error");
          if (error != NULL)
            json_builder_add_string_value (b, error->message);
          else
            json_builder_add_null_value (b);
        }
      json_builder_end_object (b);
    }
  for (GtkWidget *c = gtk_widget_get_first_child (widget); c != NULL;
       c = gtk_widget_get_next_sibling (c))
    add_named_widgets (b, c, toplevel);
}

/* Whether action is enabled in window, as a button bound to it shows it. */
static gboolean
action_enabled (NsWindow *window, const char *action)
{
  GtkWidget *button = gtk_button_new ();
  gboolean enabled;

  gtk_actionable_set_action_name (GTK_ACTIONABLE (button), action);
  gtk_box_append (window->sidebar, button);
  enabled = gtk_widget_get_sensitive (button);
  gtk_box_remove (window->sidebar, button);
  return enabled;
}

static void
add_string (JsonBuilder *b, const char *name, const char *value)
{
  json_builder_set_member_name (b, name);
  if (value != NULL)
    json_builder_add_string_value (b, value);
  else
    json_builder_add_null_value (b);
}

static void
add_workbench (JsonBuilder *b, NsWindow *self)
{
  NsViewer *viewer = self->viewer;
  NsMaskDoc *doc = ns_editor_get_doc (self->editor);
  NsModelRunner *runner = ns_ai_controller_get_runner (self->ai);
  GtkWidget *focus = gtk_root_get_focus (GTK_ROOT (self));
  double cursor[3], window, level;

  json_builder_set_member_name (b, "workbench");
  json_builder_begin_object (b);
  add_string (b, "case", ns_viewer_get_title (viewer));
  json_builder_set_member_name (b, "loading");
  json_builder_add_boolean_value (b, ns_window_is_loading (self));
  add_string (b, "load_error", ns_window_get_load_error (self));
  add_string (b, "layout", self->layout);
  add_string (b, "message", ns_window_get_message (self));
  add_string (b, "job", ns_ai_controller_get_job_text (self->ai));
  add_string (b, "labels_source", ns_viewer_get_labels_source (viewer));
  add_string (b, "focus", focus != NULL ? gtk_widget_get_name (focus) : NULL);
  if (ns_viewer_has_case (viewer))
    {
      ns_viewer_get_cursor (viewer, cursor);
      json_builder_set_member_name (b, "cursor");
      json_builder_begin_array (b);
      for (int a = 0; a < 3; a++)
        json_builder_add_int_value (b, (gint64) cursor[a]);
      json_builder_end_array (b);
      json_builder_set_member_name (b, "slices");
      json_builder_begin_object (b);
      for (int p = 0; p < NS_N_PLANES; p++)
        {
          json_builder_set_member_name (b, ns_plane_to_string (p));
          json_builder_add_int_value (b, ns_slice_view_get_slice (ns_window_get_slice_view (self,
                                                                                            p)));
        }
      json_builder_end_object (b);
      ns_viewer_get_window_level (viewer, &window, &level);
      json_builder_set_member_name (b, "window_level");
      json_builder_begin_array (b);
      json_builder_add_double_value (b, window);
      json_builder_add_double_value (b, level);
      json_builder_end_array (b);
    }
  json_builder_set_member_name (b, "modified");
  json_builder_add_boolean_value (b, ns_editor_is_modified (self->editor));
  if (doc != NULL)
    {
      NsLabelMap *map = ns_mask_doc_get_map (doc);
      gsize nonzero = 0;

      for (gsize v = 0, n = ns_grid_n_voxels (&map->grid); v < n; v++)
        nonzero += map->labels[v] != 0;
      add_string (b, "mask_path", ns_mask_doc_get_path (doc));
      json_builder_set_member_name (b, "mask_nonzero");
      json_builder_add_int_value (b, (gint64) nonzero);
      json_builder_set_member_name (b, "history");
      json_builder_add_int_value (b, ns_history_n_undo (ns_mask_doc_get_history (doc)));
    }
  add_string (b, "model", ns_model_runner_get_model_path (runner));
  json_builder_set_member_name (b, "running");
  json_builder_add_boolean_value (b, ns_model_runner_is_running (runner));
  json_builder_set_member_name (b, "actions");
  json_builder_begin_object (b);
  for (guint a = 0; reported_actions[a] != NULL; a++)
    {
      json_builder_set_member_name (b, reported_actions[a]);
      json_builder_add_boolean_value (b, action_enabled (self, reported_actions[a]));
    }
  json_builder_end_object (b);
  json_builder_end_object (b);
}

static void
add_toplevel (JsonBuilder *b, GtkWindow *window)
{
  json_builder_begin_object (b);
  add_string (b, "title", gtk_window_get_title (window));
  add_string (b, "type", G_OBJECT_TYPE_NAME (window));
  json_builder_set_member_name (b, "visible");
  json_builder_add_boolean_value (b, gtk_widget_get_visible (GTK_WIDGET (window)));
  json_builder_set_member_name (b, "active");
  json_builder_add_boolean_value (b, gtk_window_is_active (window));
  json_builder_set_member_name (b, "size");
  json_builder_begin_array (b);
  json_builder_add_int_value (b, gtk_widget_get_width (GTK_WIDGET (window)));
  json_builder_add_int_value (b, gtk_widget_get_height (GTK_WIDGET (window)));
  json_builder_end_array (b);
  if (GTK_IS_MESSAGE_DIALOG (window))
    {
      g_autofree char *text = NULL;
      g_autofree char *secondary = NULL;

      g_object_get (window, "text", &text, "secondary-text", &secondary, NULL);
      add_string (b, "text", text);
      add_string (b, "secondary", secondary);
    }
  json_builder_set_member_name (b, "widgets");
  json_builder_begin_object (b);
  add_named_widgets (b, GTK_WIDGET (window), GTK_WIDGET (window));
  json_builder_end_object (b);
  if (NS_IS_WINDOW (window))
    add_workbench (b, NS_WINDOW (window));
  json_builder_end_object (b);
}

gboolean
ns_test_status_write (const char *path, GError **error)
{
  static gint64 seq;
  g_autoptr (JsonBuilder) b = json_builder_new ();
  g_autoptr (JsonNode) root = NULL;
  g_autofree char *text = NULL;
  GListModel *toplevels = gtk_window_get_toplevels ();

  json_builder_begin_object (b);
  json_builder_set_member_name (b, "seq");
  json_builder_add_int_value (b, ++seq);
  json_builder_set_member_name (b, "windows");
  json_builder_begin_array (b);
  for (guint i = 0; i < g_list_model_get_n_items (toplevels); i++)
    {
      g_autoptr (GtkWindow) window = g_list_model_get_item (toplevels, i);

      /* GtkApplication's shortcuts window, popovers' hidden surfaces: only what shows */
      if (gtk_widget_get_visible (GTK_WIDGET (window)))
        add_toplevel (b, window);
    }
  json_builder_end_array (b);
  json_builder_end_object (b);
  root = json_builder_get_root (b);
  text = json_to_string (root, TRUE);
  return g_file_set_contents (path, text, -1, error);
}

static gboolean
sigusr1_cb (gpointer user_data)
{
  const char *path = user_data;
  g_autoptr (GError) error = NULL;

  if (!ns_test_status_write (path, &error))
    g_printerr ("neuroseg: test status %s: %s\n", path, error->message);
  return G_SOURCE_CONTINUE;
}

void
ns_test_status_install (void)
{
  const char *path = g_getenv ("NEUROSEG_TEST_STATUS");

  if (path == NULL || path[0] == '\0')
    return;
  g_unix_signal_add (SIGUSR1, sigusr1_cb, g_strdup (path));
}
