/* SPDX-License-Identifier: MIT
 *
 * ns-test-widget.c: helpers of the in-process GUI tests (see ns-test-widget.h).
 */
#include "ns-test-widget.h"

#include "ns-task.h"

#include <stdlib.h>

/* GTK 4.8's GL renderer caches the texture of a cairo node by the node's address and keeps
 * it into the next frame; every gsk_renderer_render_texture () is a frame.  A node freed
 * after its render and a new one allocated at the same address (the usual case for nodes
 * of the same size) would get the old node's pixels: a read after an edit showed the view
 * before it, now and then.  The last nodes rendered stay alive here, so a new node never
 * takes an address whose texture is still cached (textures unused for a frame are dropped
 * when the next one begins).  A widget that hands GTK the same node for new content still
 * shows stale pixels here, as it would on screen. */
#define KEEP_NODES 4

static GskRenderNode *kept_nodes[KEEP_NODES];
static guint          kept_next;

static void
keep_node (GskRenderNode *node)
{
  g_clear_pointer (&kept_nodes[kept_next], gsk_render_node_unref);
  kept_nodes[kept_next] = gsk_render_node_ref (node);
  kept_next = (kept_next + 1) % KEEP_NODES;
}

/* node rendered by widget's window's GSK renderer, w x h logical pixels */
static guint32 *
node_pixels (GtkWidget *widget, GskRenderNode *node, int w, int h, int *width, int *height)
{
  int scale = gtk_widget_get_scale_factor (widget);
  g_autoptr (GdkTexture) texture = NULL;
  guint32 *pixels;

  texture = gsk_renderer_render_texture (gtk_native_get_renderer (gtk_widget_get_native (widget)),
                                         node, &GRAPHENE_RECT_INIT (0, 0, w, h));
  keep_node (node);
  *width = gdk_texture_get_width (texture);
  *height = gdk_texture_get_height (texture);
  g_assert_cmpint (*width, ==, w * scale);
  pixels = g_new0 (guint32, (gsize) *width * *height);
  gdk_texture_download (texture, (guchar *) pixels, (gsize) *width * 4);
  return pixels;
}

guint32 *
ns_test_widget_pixels (GtkWidget *widget, int *width, int *height)
{
  int w = gtk_widget_get_width (widget), h = gtk_widget_get_height (widget);
  GtkSnapshot *snapshot = gtk_snapshot_new ();
  g_autoptr (GskRenderNode) node = NULL;

  g_assert_cmpint (w, >, 0);
  g_assert_cmpint (h, >, 0);
  /* the widget's own drawing, as it hands it to GTK each frame (not its CSS background
   * or children: the widgets tested draw themselves) */
  GTK_WIDGET_GET_CLASS (widget)->snapshot (widget, snapshot);
  node = gtk_snapshot_free_to_node (snapshot);
  g_assert_nonnull (node);
  return node_pixels (widget, node, w, h, width, height);
}

gboolean
ns_test_pixel_near (guint32 p, guint32 rgb, int tolerance)
{
  for (int c = 0; c < 3; c++)
    if (abs ((int) ((p >> (8 * c)) & 0xff) - (int) ((rgb >> (8 * c)) & 0xff)) > tolerance)
      return FALSE;
  return TRUE;
}

GtkWidget *
ns_test_find_widget (GtkWidget *widget, GType type)
{
  if (G_TYPE_CHECK_INSTANCE_TYPE (widget, type))
    return widget;
  for (GtkWidget *c = gtk_widget_get_first_child (widget); c != NULL;
       c = gtk_widget_get_next_sibling (c))
    {
      GtkWidget *found = ns_test_find_widget (c, type);

      if (found != NULL)
        return found;
    }
  return NULL;
}

GtkWidget *
ns_test_find_named (GtkWidget *widget, const char *name)
{
  if (g_strcmp0 (gtk_widget_get_name (widget), name) == 0)
    return widget;
  for (GtkWidget *c = gtk_widget_get_first_child (widget); c != NULL;
       c = gtk_widget_get_next_sibling (c))
    {
      GtkWidget *found = ns_test_find_named (c, name);

      if (found != NULL)
        return found;
    }
  return NULL;
}

GtkWidget *
ns_test_find_button (GtkWidget *widget, const char *label)
{
  if (GTK_IS_BUTTON (widget) && g_strcmp0 (gtk_button_get_label (GTK_BUTTON (widget)), label) == 0)
    return widget;
  for (GtkWidget *c = gtk_widget_get_first_child (widget); c != NULL;
       c = gtk_widget_get_next_sibling (c))
    {
      GtkWidget *found = ns_test_find_button (c, label);

      if (found != NULL)
        return found;
    }
  return NULL;
}

GtkWidget *
ns_test_find_label (GtkWidget *widget, const char *text)
{
  if (GTK_IS_LABEL (widget) && g_strcmp0 (gtk_label_get_text (GTK_LABEL (widget)), text) == 0)
    return widget;
  for (GtkWidget *c = gtk_widget_get_first_child (widget); c != NULL;
       c = gtk_widget_get_next_sibling (c))
    {
      GtkWidget *found = ns_test_find_label (c, text);

      if (found != NULL)
        return found;
    }
  return NULL;
}

void
ns_test_drain (void)
{
  while (g_main_context_pending (NULL))
    g_main_context_iteration (NULL, FALSE);
}

void
ns_test_spin (double seconds)
{
  gint64 end = g_get_monotonic_time () + (gint64) (seconds * G_USEC_PER_SEC);

  while (g_get_monotonic_time () < end)
    {
      g_main_context_iteration (NULL, FALSE);
      g_usleep (1000);
    }
}

gboolean
ns_test_wait_until (gboolean (*cond) (gpointer), gpointer data, double timeout_s)
{
  gint64 end = g_get_monotonic_time () + (gint64) (timeout_s * G_USEC_PER_SEC);

  while (!cond (data))
    {
      if (g_get_monotonic_time () > end)
        return FALSE;
      g_main_context_iteration (NULL, FALSE);
      g_usleep (500);
    }
  return TRUE;
}

static void
note_thread (gpointer data, GObject *where_the_object_was)
{
  *(GThread **) data = g_thread_self ();
}

void
ns_test_note_finalize_thread (GObject *object, GThread **thread)
{
  *thread = NULL;
  g_object_weak_ref (object, note_thread, thread);
}

static gboolean
thread_is_set (gpointer data)
{
  return *(GThread **) data != NULL;
}

void
ns_test_assert_released_in_main (GThread **thread, double settle_s, double timeout_s)
{
  ns_test_spin (settle_s);
  g_assert_null (*thread);   /* a worker still holds it */
  ns_task_test_hold_releases (FALSE);
  g_assert_true (ns_test_wait_until (thread_is_set, thread, timeout_s));
  g_assert_true (*thread == g_thread_self ());
}
