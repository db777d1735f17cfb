/* SPDX-License-Identifier: MIT
 *
 * ns-heat-legend.c: the uncertainty overlay's legend (see ns-heat-legend.h): a colour bar
 * drawn from render/'s colour map, ticks at 0, 0.5 and 1, and the words at its ends.
 */
#define G_LOG_DOMAIN "ns-heat-legend"

#include "ns-heat-legend.h"

#define BAR_HEIGHT 12
#define TEXT_GAP 2

struct _NsHeatLegend
{
  GtkWidget parent_instance;

  gboolean compact;
};

G_DEFINE_FINAL_TYPE (NsHeatLegend, ns_heat_legend, GTK_TYPE_WIDGET)

enum {
  PROP_0,
  PROP_COMPACT,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

static int
text_height (GtkWidget *widget)
{
  g_autoptr (PangoLayout) layout = gtk_widget_create_pango_layout (widget, "0");
  int h;

  pango_layout_get_pixel_size (layout, NULL, &h);
  return h;
}

static void
append_text (GtkWidget *widget, GtkSnapshot *snapshot, const char *text, double x, double y,
             double align)
{
  g_autoptr (PangoLayout) layout = gtk_widget_create_pango_layout (widget, text);
  GdkRGBA colour;
  int w;

  /* GTK 4.8: gtk_widget_get_color() comes with 4.10 */
  gtk_style_context_get_color (gtk_widget_get_style_context (widget), &colour);
  pango_layout_get_pixel_size (layout, &w, NULL);
  gtk_snapshot_save (snapshot);
  gtk_snapshot_translate (snapshot, &GRAPHENE_POINT_INIT (x - align * w, y));
  gtk_snapshot_append_layout (snapshot, layout, &colour);
  gtk_snapshot_restore (snapshot);
}

static int
text_width (GtkWidget *widget, const char *text)
{
  g_autoptr (PangoLayout) layout = gtk_widget_create_pango_layout (widget, text);
  int w;

  pango_layout_get_pixel_size (layout, &w, NULL);
  return w;
}

/* The colour bar over (x, y, width, height): value v at x + v * width. */
static void
append_bar (GtkSnapshot *snapshot, double x, double y, double width, double height)
{
  cairo_t *cr = gtk_snapshot_append_cairo (snapshot, &GRAPHENE_RECT_INIT (x, y, width, height));

  for (int i = 0; i < 256; i++)
    {
      guint32 rgb = ns_colormap_rgb (NS_HEAT_COLORMAP, (guint8) i);

      if (i / 255.0 < NS_HEAT_THRESHOLD)
        cairo_set_source_rgb (cr, 0.35, 0.35, 0.35);   /* not drawn: the image shows */
      else
        cairo_set_source_rgb (cr, ((rgb >> 16) & 0xff) / 255.0, ((rgb >> 8) & 0xff) / 255.0,
                              (rgb & 0xff) / 255.0);
      cairo_rectangle (cr, x + width * i / 256.0, y, width / 256.0 + 0.5, height);
      cairo_fill (cr);
    }
  cairo_destroy (cr);
}

static void
ns_heat_legend_snapshot (GtkWidget *widget, GtkSnapshot *snapshot)
{
  NsHeatLegend *self = NS_HEAT_LEGEND (widget);
  int w = gtk_widget_get_width (widget);
  int h = gtk_widget_get_height (widget);
  int th = text_height (widget);

  if (w <= 0 || h <= 0)
    return;
  if (self->compact)
    {
      /* one line: "confident [bar] uncertain" */
      int left = text_width (widget, "confident") + 2 * TEXT_GAP;
      int right = text_width (widget, "uncertain") + 2 * TEXT_GAP;

      append_text (widget, snapshot, "confident", 0, (h - th) / 2.0, 0);
      append_text (widget, snapshot, "uncertain", w, (h - th) / 2.0, 1);
      if (w - left - right > 0)
        append_bar (snapshot, left, (h - BAR_HEIGHT) / 2.0, w - left - right, BAR_HEIGHT);
      return;
    }
  append_text (widget, snapshot, "confident", 0, 0, 0);
  append_text (widget, snapshot, "uncertain", w, 0, 1);
  append_bar (snapshot, 0, th + TEXT_GAP, w, BAR_HEIGHT);
  append_text (widget, snapshot, "0", 0, th + 2 * TEXT_GAP + BAR_HEIGHT, 0);
  append_text (widget, snapshot, "0.5", w / 2.0, th + 2 * TEXT_GAP + BAR_HEIGHT, 0.5);
  append_text (widget, snapshot, "1", w, th + 2 * TEXT_GAP + BAR_HEIGHT, 1);
}

static void
ns_heat_legend_measure (GtkWidget *widget, GtkOrientation orientation, int for_size,
                        int *minimum, int *natural, int *minimum_baseline,
                        int *natural_baseline)
{
  NsHeatLegend *self = NS_HEAT_LEGEND (widget);

  if (orientation == GTK_ORIENTATION_HORIZONTAL)
    {
      *minimum = self->compact ? text_width (widget, "confident uncertain") + 60 : 120;
      *natural = MAX (*minimum, 240);
    }
  else if (self->compact)
    *minimum = *natural = MAX (text_height (widget), BAR_HEIGHT);
  else
    *minimum = *natural = 2 * text_height (widget) + 3 * TEXT_GAP + BAR_HEIGHT;
}

static void
ns_heat_legend_get_property (GObject *object, guint prop_id, GValue *value, GParamSpec *pspec)
{
  switch (prop_id)
    {
    case PROP_COMPACT:
      g_value_set_boolean (value, NS_HEAT_LEGEND (object)->compact);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
ns_heat_legend_set_property (GObject *object, guint prop_id, const GValue *value,
                             GParamSpec *pspec)
{
  NsHeatLegend *self = NS_HEAT_LEGEND (object);

  switch (prop_id)
    {
    case PROP_COMPACT:
      if (self->compact != g_value_get_boolean (value))
        {
          self->compact = g_value_get_boolean (value);
          gtk_widget_queue_resize (GTK_WIDGET (self));
          g_object_notify_by_pspec (object, pspec);
        }
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
ns_heat_legend_class_init (NsHeatLegendClass *klass)
{
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  G_OBJECT_CLASS (klass)->get_property = ns_heat_legend_get_property;
  G_OBJECT_CLASS (klass)->set_property = ns_heat_legend_set_property;
  widget_class->snapshot = ns_heat_legend_snapshot;
  widget_class->measure = ns_heat_legend_measure;
  /* one line (words at the ends of the bar, no ticks), for a status bar */
  properties[PROP_COMPACT] =
    g_param_spec_boolean ("compact", NULL, NULL, FALSE,
                          G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  g_object_class_install_properties (G_OBJECT_CLASS (klass), N_PROPS, properties);
  gtk_widget_class_set_css_name (widget_class, "heatlegend");
  gtk_widget_class_set_accessible_role (widget_class, GTK_ACCESSIBLE_ROLE_IMG);
}

static void
ns_heat_legend_init (NsHeatLegend *self)
{
  gtk_accessible_update_property (GTK_ACCESSIBLE (self), GTK_ACCESSIBLE_PROPERTY_LABEL,
                                  "Uncertainty colours: normalised entropy from 0 (confident) "
                                  "to 1 (uncertain); below 0.05 not drawn", -1);
  gtk_widget_set_tooltip_text (GTK_WIDGET (self),
                               "Normalised entropy of the prediction per voxel: 0 confident, "
                               "1 uncertain.  Grey: below 0.05, not drawn.");
}

GtkWidget *
ns_heat_legend_new (void)
{
  return g_object_new (NS_TYPE_HEAT_LEGEND, NULL);
}
