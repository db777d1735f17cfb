/* SPDX-License-Identifier: MIT
 *
 * test-render-overlay.c: label overlay pixels (fill, outline, both, visibility, opacity),
 * the heat overlay and the crosshair, checked pixel by pixel against hand-written
 * pictures and against the geometry's own screen -> voxel mapping.
 */
#define G_LOG_DOMAIN "ns-test"

#include "ns-render.h"
#include "ns-render-test-synth.h"

#include <math.h>
#include <string.h>

/* A one-slice RAS label map drawn from a picture: row 0 of the picture is the top of the
 * axial view (anterior), column 0 its left (the patient's left in the neurological
 * convention used here). */
static NsLabelMap *
labels_from_picture (const char *const *rows, int w, int h)
{
  NsGrid grid;
  NsLabelMap *map;

  synth_grid (&grid, "RAS", w, h, 1, 1, 1, 1);
  map = ns_label_map_new (&grid, NULL);
  for (int y = 0; y < h; y++)
    for (int x = 0; x < w; x++)
      /* RAS: i grows to the right (neurological), j grows up. */
      map->labels[ns_grid_index (&grid, x, h - 1 - y, 0)] = (guint8) (rows[y][x] - '0');
  return map;
}

static cairo_surface_t *
grey_surface (int w, int h, guint8 g)
{
  cairo_surface_t *s = cairo_image_surface_create (CAIRO_FORMAT_RGB24, w, h);
  cairo_t *cr = cairo_create (s);
  cairo_set_source_rgb (cr, g / 255.0, g / 255.0, g / 255.0);
  cairo_paint (cr);
  cairo_destroy (cr);
  return s;
}

static const char *const picture[] = {
  "1110000",
  "1110220",
  "1110220",
  "0000000",
  "0444440",
  "0444440",
  "0444440",
};

/* Expected overlay masks: 'F' fill colour, '.' untouched. */
static void
check_picture (cairo_surface_t *s, const char *const *want, const NsOverlayStyle *style,
               guint8 grey)
{
  for (int y = 0; y < 7; y++)
    for (int x = 0; x < 7; x++)
      {
        guint32 got = synth_pixel (s, x, y);
        guint32 expect = 0x010101u * grey;
        if (want[y][x] != '.')
          {
            guint8 l = (guint8) (picture[y][x] - '0');
            guint32 a = want[y][x] == 'F' ? (guint32) (style->opacity * 256 + 0.5)
                                          : (guint32) (style->opacity * style->fill_fraction
                                                       * 256 + 0.5);
            guint32 c = style->rgb[l];
            expect = 0;
            for (int sh = 0; sh < 24; sh += 8)
              expect |= (((((c >> sh) & 0xff) * a) + grey * (256 - a)) >> 8) << sh;
          }
        if (got != expect)
          g_error ("pixel (%d, %d): got %06x, want %06x ('%c')", x, y, got, expect,
                   want[y][x]);
      }
}

static void
test_fill_outline (void)
{
  g_autoptr (NsLabelMap) map = labels_from_picture (picture, 7, 7);
  g_autoptr (GError) error = NULL;
  NsPlaneGeometry g;
  NsOverlayStyle style;

  static const char *const fill[] = {
    "FFF....", "FFF.FF.", "FFF.FF.", ".......", ".FFFFF.", ".FFFFF.", ".FFFFF.",
  };
  /* The outline is inside the region; the image border closes it. */
  static const char *const outline[] = {
    "FFF....", "F.F.FF.", "FFF.FF.", ".......", ".FFFFF.", ".F...F.", ".FFFFF.",
  };
  /* Both: 'f' is the inside at opacity * fill_fraction. */
  static const char *const both[] = {
    "FFF....", "FfF.FF.", "FFF.FF.", ".......", ".FFFFF.", ".FfffF.", ".FFFFF.",
  };
  /* Label 4 hidden: its pixels untouched, the others as before. */
  static const char *const hidden[] = {
    "FFF....", "F.F.FF.", "FFF.FF.", ".......", ".......", ".......", ".......",
  };
  struct { NsOverlayMode mode; double opacity; gboolean hide4; const char *const *want; } cases[] = {
    { NS_OVERLAY_FILL, 1.0, FALSE, fill },
    { NS_OVERLAY_FILL, 0.5, FALSE, fill },
    { NS_OVERLAY_FILL, 0.3, FALSE, fill },
    { NS_OVERLAY_OUTLINE, 1.0, FALSE, outline },
    { NS_OVERLAY_OUTLINE, 0.75, FALSE, outline },
    { NS_OVERLAY_FILL_AND_OUTLINE, 1.0, FALSE, both },
    { NS_OVERLAY_FILL_AND_OUTLINE, 0.5, FALSE, both },
    { NS_OVERLAY_OUTLINE, 1.0, TRUE, hidden },
  };

  ns_plane_geometry_init (&g, &map->grid, NS_PLANE_AXIAL, NS_CONVENTION_NEUROLOGICAL, 0, NULL);
  g_assert_cmpint (g.width, ==, 7);
  g_assert_cmpint (g.height, ==, 7);

  for (gsize c = 0; c < G_N_ELEMENTS (cases); c++)
    for (int grey = 0; grey <= 200; grey += 200)
      {
        cairo_surface_t *s = grey_surface (7, 7, (guint8) grey);
        ns_overlay_style_init (&style);
        style.mode = cases[c].mode;
        style.opacity = cases[c].opacity;
        style.visible[4] = !cases[c].hide4;
        g_assert_true (ns_render_labels (s, 0, 0, &g, map, &style, &error));
        g_assert_no_error (error);
        check_picture (s, cases[c].want, &style, (guint8) grey);
        cairo_surface_destroy (s);
      }

  /* Opacity 0 draws nothing. */
  {
    cairo_surface_t *s = grey_surface (7, 7, 50);
    static const char *const nothing[] = {
      ".......", ".......", ".......", ".......", ".......", ".......", ".......",
    };
    ns_overlay_style_init (&style);
    style.opacity = 0.0;
    g_assert_true (ns_render_labels (s, 0, 0, &g, map, &style, &error));
    check_picture (s, nothing, &style, 50);
    cairo_surface_destroy (s);
  }
}

/* The BraTS defaults. */
static void
test_default_style (void)
{
  NsOverlayStyle style;
  ns_overlay_style_init (&style);
  g_assert_false (style.visible[0]);
  for (int l = 1; l < 256; l++)
    g_assert_true (style.visible[l]);
  g_assert_cmphex (style.rgb[1] & 0xff0000, >, 0x800000); /* core: red */
  g_assert_cmphex (style.rgb[2] & 0x00ff00, >, 0x008000); /* edema: green */
  g_assert_cmphex (style.rgb[4] & 0xffff00, >, 0x808000); /* enhancing: yellow */
  g_assert_cmpfloat (style.opacity, ==, 0.5);
  g_assert_cmpint (style.mode, ==, NS_OVERLAY_FILL);
}

/* On a scaled, anisotropic, radiological plane every overlay pixel has the colour of the
 * label that ns_plane_geometry_voxel_index_at() reports under it; outline pixels are
 * those with a different 4-neighbour on screen. */
static void
test_overlay_matches_geometry (void)
{
  NsGrid grid;
  g_autoptr (NsLabelMap) map = NULL;
  g_autoptr (GError) error = NULL;
  NsOverlayStyle style;
  static const double pixel_sizes[] = { 0.0, 0.6, 1.7 };

  synth_grid (&grid, "LPS", 30, 26, 18, 1.0, 1.5, 2.0);
  map = synth_labels (&grid);
  ns_overlay_style_init (&style);
  style.opacity = 1.0;

  for (int plane = 0; plane < NS_N_PLANES; plane++)
    for (gsize p = 0; p < G_N_ELEMENTS (pixel_sizes); p++)
      for (int mode = NS_OVERLAY_FILL; mode <= NS_OVERLAY_OUTLINE; mode++)
        {
          NsPlaneGeometry g;
          cairo_surface_t *s;
          g_autofree guint8 *want = NULL;
          double cursor[3] = { 10, 9, 9 };

          ns_plane_geometry_init (&g, &grid, plane, NS_CONVENTION_RADIOLOGICAL,
                                  pixel_sizes[p], cursor);
          want = g_malloc ((gsize) g.width * g.height);
          for (int v = 0; v < g.height; v++)
            for (int u = 0; u < g.width; u++)
              {
                int ijk[3];
                ns_plane_geometry_voxel_index_at (&g, u + 0.5, v + 0.5, ijk);
                want[v * g.width + u] = map->labels[ns_grid_index (&grid, ijk[0], ijk[1], ijk[2])];
              }
          s = grey_surface (g.width, g.height, 0);
          style.mode = mode;
          g_assert_true (ns_render_labels (s, 0, 0, &g, map, &style, &error));
          g_assert_no_error (error);
          for (int v = 0; v < g.height; v++)
            for (int u = 0; u < g.width; u++)
              {
                guint8 l = want[v * g.width + u];
                gboolean edge = u == 0 || v == 0 || u == g.width - 1 || v == g.height - 1
                                || want[v * g.width + u - 1] != l
                                || want[v * g.width + u + 1] != l
                                || want[(v - 1) * g.width + u] != l
                                || want[(v + 1) * g.width + u] != l;
                guint32 expect = (l != 0 && (mode == NS_OVERLAY_FILL || edge))
                                     ? style.rgb[l] : 0;
                g_assert_cmphex (synth_pixel (s, u, v), ==, expect);
              }
          cairo_surface_destroy (s);
        }
}

static void
test_crosshair (void)
{
  NsGrid grid;
  NsPlaneGeometry g;
  double cursor[3] = { 3, 4, 2 };
  double sx, sy;

  synth_grid (&grid, "LPS", 12, 10, 6, 1, 1, 1);
  ns_plane_geometry_init (&g, &grid, NS_PLANE_AXIAL, NS_CONVENTION_RADIOLOGICAL, 0, cursor);
  ns_plane_geometry_screen_pos (&g, cursor, &sx, &sy);
  g_assert_cmpfloat (sx, ==, 3.5); /* LPS radiological: i grows to the right */
  g_assert_cmpfloat (sy, ==, 4.5); /* j grows down (toward P) */

  for (int gap = 0; gap <= 2; gap += 2)
    {
      cairo_surface_t *s = grey_surface (g.width, g.height, 0);
      ns_render_crosshair (s, 0, 0, &g, cursor, 0x00ff00, 1.0, gap);
      for (int v = 0; v < g.height; v++)
        for (int u = 0; u < g.width; u++)
          {
            gboolean on = (u == 3 && (gap == 0 || abs (v - 4) > gap))
                          || (v == 4 && (gap == 0 || abs (u - 3) > gap));
            g_assert_cmphex (synth_pixel (s, u, v), ==, on ? 0x00ff00 : 0);
          }
      cairo_surface_destroy (s);
    }

  /* Blended at half strength over grey 100, in a sub-rectangle of a larger surface. */
  {
    cairo_surface_t *s = grey_surface (g.width + 5, g.height + 3, 100);
    ns_render_crosshair (s, 5, 3, &g, cursor, 0xff0000, 0.5, 0);
    g_assert_cmphex (synth_pixel (s, 5 + 3, 3), ==, 0xb13232); /* (255*128+100*128)>>8 */
    g_assert_cmphex (synth_pixel (s, 5 + 3, 3 + 4), ==, 0xb13232);
    g_assert_cmphex (synth_pixel (s, 5 + 2, 3), ==, 0x646464);
    g_assert_cmphex (synth_pixel (s, 3, 3 + 4), ==, 0x646464);  /* left of the plane */
    g_assert_cmphex (synth_pixel (s, 5, 3 + 4), ==, 0xb13232);
    cairo_surface_destroy (s);
  }
}

static void
test_heat (void)
{
  NsGrid grid;
  g_autoptr (NsVolume) prob = NULL;
  g_autoptr (GError) error = NULL;
  NsPlaneGeometry g;
  NsLut lut;
  cairo_surface_t *s;

  synth_grid (&grid, "RAS", 8, 1, 1, 1, 1, 1);
  prob = ns_volume_new (&grid, NULL);
  for (int i = 0; i < 8; i++)
    prob->voxels[i] = i / 7.0f;
  ns_plane_geometry_init (&g, &grid, NS_PLANE_AXIAL, NS_CONVENTION_NEUROLOGICAL, 0, NULL);
  ns_lut_init (&lut, 1.0, 0.5, NS_COLORMAP_HOT);
  s = grey_surface (g.width, g.height, 0);
  g_assert_true (ns_render_heat (s, 0, 0, &g, prob, &lut, 0.5, 1.0, NS_INTERP_NEAREST, &error));
  g_assert_no_error (error);
  for (int u = 0; u < 8; u++)
    g_assert_cmphex (synth_pixel (s, u, 0), ==,
                     u / 7.0f >= 0.5f ? (ns_lut_argb (&lut, u / 7.0f) & 0xffffff) : 0);
  cairo_surface_destroy (s);
}

/* A second sequence (int16, as BraTS stores it) over a grey image: inside its window each
 * pixel moves from the grey toward the colour map's colour by the opacity (within the
 * 8-bit blend's rounding); below the window it stays the grey underneath. */
static void
test_image_overlay (void)
{
  NsGrid grid;
  g_autoptr (NsVolume) t1c = NULL;
  g_autoptr (GError) error = NULL;
  gint16 *values = g_new (gint16, 8);
  NsPlaneGeometry g;
  NsLut lut;
  cairo_surface_t *s;
  const guint8 grey = 100;

  synth_grid (&grid, "RAS", 8, 1, 1, 1, 1, 1);
  for (int i = 0; i < 8; i++)
    values[i] = (gint16) (i * 100);            /* 0 .. 700 */
  t1c = ns_volume_new_take_storage (&grid, NS_VOLUME_STORAGE_INT16, values);
  ns_plane_geometry_init (&g, &grid, NS_PLANE_AXIAL, NS_CONVENTION_NEUROLOGICAL, 0, NULL);
  ns_lut_init (&lut, 400, 450, NS_COLORMAP_HOT);   /* window 250 .. 650 */
  s = grey_surface (g.width, g.height, grey);
  g_assert_true (ns_render_image_overlay (s, 0, 0, &g, t1c, &lut, 0.25, NS_INTERP_NEAREST,
                                          &error));
  g_assert_no_error (error);
  for (int u = 0; u < 8; u++)
    {
      guint32 got = synth_pixel (s, u, 0);
      guint32 colour = ns_lut_argb (&lut, u * 100.0f);

      for (int shift = 0; shift <= 16; shift += 8)
        {
          double want = u * 100 < 250 ? grey
                                      : 0.75 * grey + 0.25 * ((colour >> shift) & 0xff);
          g_assert_cmpfloat (fabs (((got >> shift) & 0xff) - want), <=, 1.0);
        }
    }
  /* opacity 0 draws nothing */
  g_assert_true (ns_render_image_overlay (s, 0, 0, &g, t1c, &lut, 0.0, NS_INTERP_NEAREST,
                                          &error));
  cairo_surface_destroy (s);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/render/overlay/fill-outline", test_fill_outline);
  g_test_add_func ("/render/overlay/default-style", test_default_style);
  g_test_add_func ("/render/overlay/geometry", test_overlay_matches_geometry);
  g_test_add_func ("/render/overlay/crosshair", test_crosshair);
  g_test_add_func ("/render/overlay/heat", test_heat);
  g_test_add_func ("/render/overlay/image", test_image_overlay);
  return g_test_run ();
}
