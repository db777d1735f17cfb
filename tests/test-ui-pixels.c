/* SPDX-License-Identifier: MIT
 *
 * test-ui-pixels.c: the helper every pixel check of the GUI tests stands on,
 * ns_test_widget_pixels (), reads what a widget shows now:
 *
 *   /ui/pixels/fresh   a widget that draws a new colour each time it is read (a new cairo
 *                      node of the same size each time, as a slice view after an edit)
 *                      reads as that colour every time
 *   /ui/pixels/stale   a widget that hands GTK the same node for new content reads stale:
 *                      the check still sees what the screen would show
 *
 * GTK 4.8's GL renderer caches a cairo node's texture by the node's address into the next
 * frame; a read whose node took the address of the one before got that node's pixels
 * (test-ui-layouts failed now and then: after Undo the view still read as painted).
 * Runs under xvfb-run.
 */
#include "ns-config.h"

#include <gtk/gtk.h>

#include "ns-test-widget.h"

#define TEST_TYPE_SWATCH (test_swatch_get_type ())
G_DECLARE_FINAL_TYPE (TestSwatch, test_swatch, TEST, SWATCH, GtkWidget)

struct _TestSwatch
{
  GtkWidget      parent_instance;
  guint32        rgb;    /* what it draws next */
  gboolean       keep;   /* hand out the same node every time (the defect to see) */
  GskRenderNode *node;
};

G_DEFINE_FINAL_TYPE (TestSwatch, test_swatch, GTK_TYPE_WIDGET)

static void
test_swatch_snapshot (GtkWidget *widget, GtkSnapshot *snapshot)
{
  TestSwatch *self = TEST_SWATCH (widget);
  graphene_rect_t bounds = GRAPHENE_RECT_INIT (0, 0, gtk_widget_get_width (widget),
                                               gtk_widget_get_height (widget));

  if (!self->keep || self->node == NULL)
    {
      cairo_t *cr;

      g_clear_pointer (&self->node, gsk_render_node_unref);
      self->node = gsk_cairo_node_new (&bounds);
      cr = gsk_cairo_node_get_draw_context (self->node);
      cairo_set_source_rgb (cr, ((self->rgb >> 16) & 0xff) / 255.0,
                            ((self->rgb >> 8) & 0xff) / 255.0, (self->rgb & 0xff) / 255.0);
      cairo_paint (cr);
      cairo_destroy (cr);
    }
  gtk_snapshot_append_node (snapshot, self->node);
  /* the widget's own node is dropped after each frame, as the slice view's is */
  if (!self->keep)
    g_clear_pointer (&self->node, gsk_render_node_unref);
}

static void
test_swatch_measure (GtkWidget *widget, GtkOrientation orientation, int for_size,
                     int *minimum, int *natural, int *minimum_baseline, int *natural_baseline)
{
  *minimum = *natural = 40;
}

static void
test_swatch_finalize (GObject *object)
{
  g_clear_pointer (&TEST_SWATCH (object)->node, gsk_render_node_unref);
  G_OBJECT_CLASS (test_swatch_parent_class)->finalize (object);
}

static void
test_swatch_class_init (TestSwatchClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = test_swatch_finalize;
  GTK_WIDGET_CLASS (klass)->snapshot = test_swatch_snapshot;
  GTK_WIDGET_CLASS (klass)->measure = test_swatch_measure;
}

static void
test_swatch_init (TestSwatch *self)
{
}

/* A swatch of colour rgb in a window of its own, shown (its first frame drawn). */
static GtkWidget *
shown_swatch (gboolean keep, guint32 rgb)
{
  GtkWidget *window = gtk_window_new ();
  TestSwatch *swatch = g_object_new (TEST_TYPE_SWATCH, NULL);

  swatch->keep = keep;
  swatch->rgb = rgb;
  gtk_window_set_child (GTK_WINDOW (window), GTK_WIDGET (swatch));
  gtk_window_present (GTK_WINDOW (window));
  while (gtk_widget_get_width (GTK_WIDGET (swatch)) <= 0)
    g_main_context_iteration (NULL, TRUE);
  return GTK_WIDGET (swatch);
}

static guint32
centre (GtkWidget *widget)
{
  int w, h;
  g_autofree guint32 *pixels = ns_test_widget_pixels (widget, &w, &h);

  return pixels[(h / 2) * w + w / 2] & 0xffffff;
}

static void
test_fresh (void)
{
  GtkWidget *swatch[2] = { shown_swatch (FALSE, 0), shown_swatch (FALSE, 0) };
  static const guint32 colours[] = { 0xff0000, 0x0000ff, 0x00ff00 };
  guint n_bad = 0;

  /* Many reads in a row, of one swatch and of two in turn (as the tests read two views):
   * an address comes back within a few (glibc's allocator hands the block just freed to
   * the next allocation of its size). */
  for (guint i = 0; i < 300; i++)
    {
      GtkWidget *w = swatch[i < 100 ? 0 : i % 2];
      guint32 want = colours[i % G_N_ELEMENTS (colours)];

      TEST_SWATCH (w)->rgb = want;
      n_bad += centre (w) != want;
    }
  g_assert_cmpuint (n_bad, ==, 0);
  for (guint k = 0; k < 2; k++)
    gtk_window_destroy (GTK_WINDOW (gtk_widget_get_root (swatch[k])));
}

static void
test_stale (void)
{
  GtkWidget *swatch = shown_swatch (TRUE, 0xff0000);

  g_assert_cmphex (centre (swatch), ==, 0xff0000);
  /* the widget keeps its node: the new colour never reaches a node, so none is shown */
  TEST_SWATCH (swatch)->rgb = 0x0000ff;
  g_assert_cmphex (centre (swatch), ==, 0xff0000);
  gtk_window_destroy (GTK_WINDOW (gtk_widget_get_root (swatch)));
}

int
main (int argc, char **argv)
{
  /* no D-Bus session bus under xvfb-run here, so no accessibility bus either (GTK would
   * warn, and g_test_init () makes warnings fatal) */
  g_setenv ("GTK_A11Y", "none", TRUE);
  g_test_init (&argc, &argv, NULL);
  gtk_init ();
  g_test_add_func ("/ui/pixels/fresh", test_fresh);
  g_test_add_func ("/ui/pixels/stale", test_stale);
  return g_test_run ();
}
