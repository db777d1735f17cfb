/* SPDX-License-Identifier: MIT
 *
 * ns-window-layout.c: the layouts of the window's view grid (part of NsWindow, see
 * ns-window-private.h):
 *
 *   row        the three planes side by side
 *   grid       2 x 2: the three planes and the fourth pane (the 3D view; a slot other
 *              content may take)
 *   axial, sagittal, coronal
 *              one large view
 *   compare2   one plane of two sequences side by side: FLAIR | T1c
 *   compare4   one plane of four sequences, 2 x 2: FLAIR | T1 over T1c | T2
 *
 * The side-by-side layouts use views of their own (the compare views), each showing one
 * sequence through that sequence's window/level (NsSliceView's "image-index"), on the
 * plane the user picks (axial by default).  Every view follows the viewer's cursor, so one
 * click moves the crosshair and the slice in all of them; the compare views also share
 * zoom and pan, which this file copies from the view that changed to the others.  They
 * all paint into the one mask through the window's editor.
 *
 * The layout and the side-by-side plane are remembered in the settings (ns-settings.h)
 * when the user chooses them (the View menu and its shortcuts: the property actions), and
 * read back when a window opens; the C setters, which tests and scripts use, change the
 * window only.
 */
#define G_LOG_DOMAIN "ns-window"

#include "ns-window-private.h"

#include "ns-settings.h"

#define SETTINGS_GROUP "view"

static const char *const layout_names[] = {
  "row", "grid", "axial", "sagittal", "coronal", "compare2", "compare4", NULL
};

/* The sequences of the compare views, in order: by modality name, then any image left. */
static const char *const compare_modalities[NS_WINDOW_N_COMPARE] = { "flair", "t1", "t1c",
                                                                     "t2" };
static const char *const compare2_modalities[2] = { "flair", "t1c" };

static guint
n_compare_shown (NsWindow *self)
{
  if (g_strcmp0 (self->layout, "compare2") == 0)
    return 2;
  if (g_strcmp0 (self->layout, "compare4") == 0)
    return 4;
  return 0;
}

/* Gives each compare view its sequence: the layout's modalities where the case has them,
 * else the case's other images in order (a case of two files shows both). */
static void
assign_sequences (NsWindow *self)
{
  guint n_images = ns_viewer_get_n_images (self->viewer);
  const char *const *names = n_compare_shown (self) == 2 ? compare2_modalities
                                                         : compare_modalities;
  guint n_names = n_compare_shown (self) == 2 ? 2 : NS_WINDOW_N_COMPARE;
  gboolean used[NS_VIEWER_MAX_IMAGES] = { FALSE };
  int index[NS_WINDOW_N_COMPARE];

  for (guint v = 0; v < NS_WINDOW_N_COMPARE; v++)
    {
      index[v] = v < n_names ? ns_viewer_find_image (self->viewer, names[v]) : -1;
      if (index[v] >= 0)
        used[index[v]] = TRUE;
    }
  for (guint v = 0; v < NS_WINDOW_N_COMPARE; v++)
    if (index[v] < 0)
      for (guint i = 0; i < n_images; i++)
        if (!used[i])
          {
            index[v] = (int) i;
            used[i] = TRUE;
            break;
          }
  for (guint v = 0; v < NS_WINDOW_N_COMPARE; v++)
    /* a case with fewer images repeats its first rather than show nothing */
    ns_slice_view_set_image_index (self->compare_views[v], index[v] >= 0 ? index[v] : 0);
}

/* Shows child at (column, row), or hides it (column < 0) where it is: a hidden child moved
 * to column -1 still counts in the grid's range of columns, which with homogeneous columns
 * narrowed the shown ones whenever the info pane's width changed. */
static void
place (NsWindow *self, GtkWidget *child, int column, int row)
{
  GtkLayoutManager *manager = gtk_widget_get_layout_manager (GTK_WIDGET (self->view_grid));
  GtkGridLayoutChild *layout_child =
    GTK_GRID_LAYOUT_CHILD (gtk_layout_manager_get_layout_child (manager, child));

  if (column < 0)
    {
      gtk_widget_set_visible (child, FALSE);
      return;
    }
  gtk_grid_layout_child_set_column (layout_child, column);
  gtk_grid_layout_child_set_row (layout_child, row);
  gtk_widget_set_visible (child, TRUE);
}

void
_ns_window_apply_layout (NsWindow *self)
{
  GtkWidget *axial = GTK_WIDGET (self->axial_view);
  GtkWidget *sagittal = GTK_WIDGET (self->sagittal_view);
  GtkWidget *coronal = GTK_WIDGET (self->coronal_view);
  gboolean view3d_in_grid = g_strcmp0 (self->layout, "grid") == 0;
  guint n_compare = n_compare_shown (self);

  /* The grid's fourth cell shows the 3D view; the summary (info pane) stays under the
   * layer list in every layout.  (It used to take the fourth cell; inside a stack or a
   * notebook there, GTK reported the case-note infobar's height as inconsistent.) */
  if (!view3d_in_grid)
    place (self, self->fourth_pane, -1, -1);

  /* Hidden cells first: a grid cell may hold only one visible child at a time. */
  for (guint v = 0; v < NS_WINDOW_N_COMPARE; v++)
    if (v >= n_compare)
      place (self, GTK_WIDGET (self->compare_views[v]), -1, -1);
  if (n_compare > 0)
    {
      place (self, axial, -1, -1);
      place (self, sagittal, -1, -1);
      place (self, coronal, -1, -1);
      for (guint v = 0; v < n_compare; v++)
        {
          ns_slice_view_set_plane (self->compare_views[v], self->compare_plane);
          /* two in a row; four as 2 x 2 */
          place (self, GTK_WIDGET (self->compare_views[v]), v % 2, v / 2);
        }
      assign_sequences (self);
    }
  else if (g_strcmp0 (self->layout, "grid") == 0)
    {
      place (self, axial, 0, 0);
      place (self, sagittal, 1, 0);
      place (self, coronal, 0, 1);
    }
  else if (g_strcmp0 (self->layout, "axial") == 0)
    {
      place (self, sagittal, -1, -1);
      place (self, coronal, -1, -1);
      place (self, axial, 0, 0);
    }
  else if (g_strcmp0 (self->layout, "sagittal") == 0)
    {
      place (self, axial, -1, -1);
      place (self, coronal, -1, -1);
      place (self, sagittal, 0, 0);
    }
  else if (g_strcmp0 (self->layout, "coronal") == 0)
    {
      place (self, axial, -1, -1);
      place (self, sagittal, -1, -1);
      place (self, coronal, 0, 0);
    }
  else
    {
      place (self, axial, 0, 0);
      place (self, sagittal, 1, 0);
      place (self, coronal, 2, 0);
    }
  if (view3d_in_grid)
    place (self, self->fourth_pane, 1, 1);
}

/* A compare view's zoom or pan changed: the others take the same (they have the same
 * size, so the same transform shows the same part of the plane). */
static void
compare_transform_changed_cb (NsWindow *self, NsSliceView *changed)
{
  double zoom, pan_x, pan_y;

  if (self->linking_views)
    return;
  self->linking_views = TRUE;
  ns_slice_view_get_transform (changed, &zoom, &pan_x, &pan_y);
  for (guint v = 0; v < NS_WINDOW_N_COMPARE; v++)
    if (self->compare_views[v] != changed)
      ns_slice_view_set_transform (self->compare_views[v], zoom, pan_x, pan_y);
  self->linking_views = FALSE;
}

void
_ns_window_init_layout (NsWindow *self)
{
  g_autofree char *layout = ns_settings_dup_string (SETTINGS_GROUP, "layout");
  g_autofree char *plane = ns_settings_dup_string (SETTINGS_GROUP, "compare-plane");

  self->compare_plane = NS_PLANE_AXIAL;
  for (guint v = 0; v < NS_WINDOW_N_COMPARE; v++)
    {
      g_autofree char *name = g_strdup_printf ("compare-view-%u", v + 1);
      GtkWidget *view = ns_slice_view_new (self->viewer, NS_PLANE_AXIAL);

      gtk_widget_set_name (view, name);
      gtk_widget_set_visible (view, FALSE);
      gtk_grid_attach (self->view_grid, view, v % 2, v / 2, 1, 1);
      self->compare_views[v] = NS_SLICE_VIEW (view);
      ns_slice_view_set_editor (self->compare_views[v], self->editor);
      g_signal_connect_object (view, "transform-changed",
                               G_CALLBACK (compare_transform_changed_cb), self,
                               G_CONNECT_SWAPPED);
    }
  /* an unknown value (a newer version's layout, a hand edit) keeps the default */
  if (layout != NULL && g_strv_contains (layout_names, layout))
    {
      g_free (self->layout);
      self->layout = g_steal_pointer (&layout);
    }
  if (plane != NULL)
    ns_plane_from_string (plane, &self->compare_plane);
}

void
_ns_window_layout_case_changed (NsWindow *self)
{
  if (n_compare_shown (self) > 0)
    assign_sequences (self);
}

guint
_ns_window_get_views (NsWindow *self, NsSliceView *views[NS_WINDOW_N_VIEWS])
{
  guint n = 0;

  views[n++] = self->axial_view;
  views[n++] = self->sagittal_view;
  views[n++] = self->coronal_view;
  for (guint v = 0; v < NS_WINDOW_N_COMPARE; v++)
    views[n++] = self->compare_views[v];
  return n;
}

static void
remember (NsWindow *self, const char *key, const char *value)
{
  g_autoptr (GError) error = NULL;

  /* the layout still changes; only remembering it failed, which the user should know */
  if (!ns_settings_set_string (SETTINGS_GROUP, key, value, &error))
    {
      g_autofree char *message = g_strdup_printf ("The layout will not be remembered: %s",
                                                  error->message);
      g_warning ("%s", message);
      _ns_window_set_message (self, message);
    }
}

void
_ns_window_choose_layout (NsWindow *self, const char *layout)
{
  ns_window_set_layout (self, layout);
  if (g_strcmp0 (self->layout, layout) == 0)
    remember (self, "layout", layout);
}

void
_ns_window_choose_compare_plane (NsWindow *self, NsPlane plane)
{
  ns_window_set_compare_plane (self, plane);
  remember (self, "compare-plane", ns_plane_to_string (plane));
}

/* ---- public ------------------------------------------------------------------------------- */

const char *
ns_window_get_layout (NsWindow *self)
{
  g_return_val_if_fail (NS_IS_WINDOW (self), NULL);
  return self->layout;
}

void
ns_window_set_layout (NsWindow *self, const char *layout)
{
  g_return_if_fail (NS_IS_WINDOW (self));

  if (layout == NULL || !g_strv_contains (layout_names, layout))
    {
      g_warning ("unknown layout '%s'", layout != NULL ? layout : "(null)");
      return;
    }
  if (g_strcmp0 (self->layout, layout) == 0)
    return;
  g_free (self->layout);
  self->layout = g_strdup (layout);
  _ns_window_apply_layout (self);
  _ns_window_notify_layout (self);
}

NsPlane
ns_window_get_compare_plane (NsWindow *self)
{
  g_return_val_if_fail (NS_IS_WINDOW (self), NS_PLANE_AXIAL);
  return self->compare_plane;
}

void
ns_window_set_compare_plane (NsWindow *self, NsPlane plane)
{
  g_return_if_fail (NS_IS_WINDOW (self));
  g_return_if_fail (plane < NS_N_PLANES);

  if (self->compare_plane == plane)
    return;
  self->compare_plane = plane;
  for (guint v = 0; v < NS_WINDOW_N_COMPARE; v++)
    ns_slice_view_set_plane (self->compare_views[v], plane);
  _ns_window_notify_layout (self);
}

NsSliceView *
ns_window_get_compare_view (NsWindow *self, guint index)
{
  g_return_val_if_fail (NS_IS_WINDOW (self), NULL);
  g_return_val_if_fail (index < NS_WINDOW_N_COMPARE, NULL);
  return self->compare_views[index];
}
