/* SPDX-License-Identifier: MIT
 *
 * test-render-lut.c: window/level to 8 bits (exact bins), the colour maps, exact
 * percentiles inside the brain against a sort, the automatic window, and the LUT applied
 * by the slice renderer.
 */
#define G_LOG_DOMAIN "ns-test"

#include "ns-render.h"
#include "ns-render-test-synth.h"
#include "ns-test-util.h"

#include <math.h>
#include <stdlib.h>

/* The definition in ns-render.h, in long double. */
static int
reference_index (double window, double level, double v)
{
  long double lo = (long double) level - (long double) window / 2.0L;
  long double t = ((long double) v - lo) * 256.0L / (long double) window;
  if (t < 0.0L)
    return 0;
  if (t >= 255.0L)
    return 255;
  return (int) floorl (t);
}

static void
test_lut_exact_bins (void)
{
  NsLut lut;

  /* Window 256 at level 128: bins of width 1 starting at 0. */
  ns_lut_init (&lut, 256.0, 128.0, NS_COLORMAP_GREY);
  for (int v = -20; v < 300; v++)
    {
      g_assert_cmpint (ns_lut_index (&lut, (float) v), ==, CLAMP (v, 0, 255));
      g_assert_cmpint (ns_lut_index (&lut, v + 0.5f), ==, CLAMP (v, 0, 255));
      g_assert_cmpint (ns_lut_index (&lut, v + 0.999f), ==, CLAMP (v, 0, 255));
    }
  /* Window 512 at level 0: bins of width 2 from -256. */
  ns_lut_init (&lut, 512.0, 0.0, NS_COLORMAP_GREY);
  for (int v = -300; v < 300; v++)
    g_assert_cmpint (ns_lut_index (&lut, (float) v), ==, CLAMP ((int) floor ((v + 256) / 2.0), 0, 255));
  /* The ends: lo maps to 0, lo + window and above to 255, below lo to 0, NaN to 0. */
  ns_lut_init (&lut, 100.0, 50.0, NS_COLORMAP_GREY);
  g_assert_cmpint (ns_lut_index (&lut, 0.0f), ==, 0);
  g_assert_cmpint (ns_lut_index (&lut, -1e30f), ==, 0);
  g_assert_cmpint (ns_lut_index (&lut, 100.0f), ==, 255);
  g_assert_cmpint (ns_lut_index (&lut, 99.9f), ==, 255);
  g_assert_cmpint (ns_lut_index (&lut, 1e30f), ==, 255);
  g_assert_cmpint (ns_lut_index (&lut, NAN), ==, 0);
  g_assert_cmpint (ns_lut_index (&lut, 50.0f), ==, 128);
  /* A degenerate window does not divide by zero. */
  ns_lut_init (&lut, 0.0, 10.0, NS_COLORMAP_GREY);
  g_assert_cmpint (ns_lut_index (&lut, 9.0f), ==, 0);
  g_assert_cmpint (ns_lut_index (&lut, 11.0f), ==, 255);
}

static void
test_lut_random (void)
{
  GRand *rand = g_rand_new_with_seed (42);
  int mismatches = 0, checked = 0;

  for (int t = 0; t < 200; t++)
    {
      double window = g_rand_double_range (rand, 0.5, 5000.0);
      double level = g_rand_double_range (rand, -1000.0, 3000.0);
      NsLut lut;
      ns_lut_init (&lut, window, level, NS_COLORMAP_GREY);
      for (int s = 0; s < 2000; s++)
        {
          float v = (float) g_rand_double_range (rand, level - window, level + window);
          long double exact = ((long double) v - ((long double) level - window / 2.0L))
                              * 256.0L / window;
          int want = reference_index (window, level, v);
          /* Within 1e-9 of a bin edge, double rounding may pick either bin. */
          if (fabsl (exact - roundl (exact)) < 1e-9L)
            continue;
          checked++;
          if (ns_lut_index (&lut, v) != want)
            mismatches++;
        }
    }
  g_rand_free (rand);
  g_assert_cmpint (checked, >, 390000);
  g_assert_cmpint (mismatches, ==, 0);
}

static void
test_colormaps (void)
{
  NsColormap map;
  NsLut lut;

  for (int m = 0; m < NS_N_COLORMAPS; m++)
    {
      g_assert_true (ns_colormap_from_string (ns_colormap_to_string ((NsColormap) m), &map));
      g_assert_cmpint (map, ==, m);
    }
  g_assert_true (ns_colormap_from_string ("gray", &map));
  g_assert_cmpint (map, ==, NS_COLORMAP_GREY);
  g_assert_false (ns_colormap_from_string ("rainbow", &map));

  for (int i = 0; i < 256; i++)
    g_assert_cmphex (ns_colormap_rgb (NS_COLORMAP_GREY, i), ==, 0x010101u * i);
  g_assert_cmphex (ns_colormap_rgb (NS_COLORMAP_HOT, 0), ==, 0x000000);
  g_assert_cmphex (ns_colormap_rgb (NS_COLORMAP_HOT, 85), ==, 0xff0000);
  g_assert_cmphex (ns_colormap_rgb (NS_COLORMAP_HOT, 170), ==, 0xffff00);
  g_assert_cmphex (ns_colormap_rgb (NS_COLORMAP_HOT, 255), ==, 0xffffff);
  g_assert_cmphex (ns_colormap_rgb (NS_COLORMAP_JET, 0), ==, 0x000080);
  g_assert_cmphex (ns_colormap_rgb (NS_COLORMAP_JET, 255), ==, 0x800000);
  g_assert_cmphex (ns_colormap_rgb (NS_COLORMAP_VIRIDIS, 0), ==, 0x440154);
  g_assert_cmphex (ns_colormap_rgb (NS_COLORMAP_VIRIDIS, 255), ==, 0xfde725);

  /* Hot and viridis grow in luminance, as a heat map must. */
  for (int m = NS_COLORMAP_HOT; m <= NS_COLORMAP_VIRIDIS; m++)
    {
      double prev = -1.0;
      for (int i = 0; i < 256; i++)
        {
          guint32 c = ns_colormap_rgb (m, i);
          double y = 0.2126 * (c >> 16) + 0.7152 * ((c >> 8) & 0xff) + 0.0722 * (c & 0xff);
          g_assert_cmpfloat (y, >=, prev - 0.5);
          prev = y;
        }
    }

  /* The LUT holds the colour map, opaque. */
  ns_lut_init (&lut, 10.0, 5.0, NS_COLORMAP_HOT);
  for (int i = 0; i < 256; i++)
    g_assert_cmphex (lut.argb[i], ==, 0xff000000u | ns_colormap_rgb (NS_COLORMAP_HOT, i));
}

static int
cmp_float (const void *a, const void *b)
{
  float x = *(const float *) a, y = *(const float *) b;
  return (x > y) - (x < y);
}

static double
numpy_percentile (const float *sorted, gsize n, double pct)
{
  double rank = pct / 100.0 * (n - 1);
  gsize k = (gsize) floor (rank);
  double f = rank - k;
  return k + 1 < n ? sorted[k] + f * (sorted[k + 1] - sorted[k]) : sorted[k];
}

static void
test_percentiles (void)
{
  GRand *rand = g_rand_new_with_seed (7);
  NsGrid grid;

  for (int trial = 0; trial < 6; trial++)
    {
      g_autoptr (NsVolume) vol = NULL;
      g_autofree float *inside = NULL;
      gsize n = 0, n_all;
      float background = trial == 3 ? -5.0f : 0.0f;
      double lo, hi, window, level;
      static const double pcts[] = { 0.0, 0.5, 10.0, 50.0, 99.5, 100.0 };

      ns_grid_init (&grid, 21 + trial, 17, 13, 1, 1, 1);
      vol = ns_volume_new (&grid, NULL);
      n_all = ns_volume_n_voxels (vol);
      inside = g_new (float, n_all);
      for (int k = 0; k < 13; k++)
        for (int j = 0; j < 17; j++)
          for (int i = 0; i < 21 + trial; i++)
            {
              gboolean border = i < 2 || j < 2 || k < 1 || i > 18 + trial || j > 14 || k > 11;
              float v;
              if (border)
                v = background;
              else if (trial % 2 == 0)
                v = (float) g_rand_int_range (rand, 0, 40); /* many repeats, some == 0 */
              else
                v = (float) g_rand_double_range (rand, -100.0, 900.0);
              vol->voxels[ns_grid_index (&grid, i, j, k)] = v;
              if (v != background)
                inside[n++] = v;
            }
      qsort (inside, n, sizeof (float), cmp_float);
      for (gsize p = 0; p < G_N_ELEMENTS (pcts); p++)
        for (gsize q = 0; q < G_N_ELEMENTS (pcts); q++)
          {
            ns_volume_brain_percentiles (vol, pcts[p], pcts[q], &lo, &hi);
            g_assert_cmpfloat_with_epsilon (lo, numpy_percentile (inside, n, pcts[p]), 1e-9);
            g_assert_cmpfloat_with_epsilon (hi, numpy_percentile (inside, n, pcts[q]), 1e-9);
          }
      ns_window_level_auto (vol, &window, &level);
      lo = numpy_percentile (inside, n, 0.5);
      hi = numpy_percentile (inside, n, 99.5);
      g_assert_cmpfloat_with_epsilon (window, hi - lo, 1e-9);
      g_assert_cmpfloat_with_epsilon (level, (hi + lo) / 2, 1e-9);
    }
  g_rand_free (rand);

  /* A constant volume: every voxel is background, so all count; a window of 2 around it. */
  {
    g_autoptr (NsVolume) vol = NULL;
    double window, level;
    ns_grid_init (&grid, 4, 4, 4, 1, 1, 1);
    vol = ns_volume_new (&grid, NULL);
    for (gsize i = 0; i < 64; i++)
      vol->voxels[i] = 7.0f;
    ns_window_level_auto (vol, &window, &level);
    g_assert_cmpfloat (window, ==, 2.0);
    g_assert_cmpfloat (level, ==, 7.0);
  }
}

/* The background is the most common border value even without a majority: here 3 holds
 * 40 % of the border, 5 and 7 30 % each; inside, values 3 are background too. */
static void
test_background_without_majority (void)
{
  NsGrid grid;
  g_autoptr (NsVolume) vol = NULL;
  g_autoptr (GArray) inside = g_array_new (FALSE, FALSE, sizeof (float));
  gsize n_border = 0, n3 = 0;
  double lo, hi;

  ns_grid_init (&grid, 10, 10, 10, 1, 1, 1);
  vol = ns_volume_new (&grid, NULL);
  for (int k = 0; k < 10; k++)
    for (int j = 0; j < 10; j++)
      for (int i = 0; i < 10; i++)
        {
          gboolean border = i == 0 || j == 0 || k == 0 || i == 9 || j == 9 || k == 9;
          float v;
          if (border)
            {
              int r = (int) ((n_border++ + 5) % 10); /* voxel 0 is a 5, not the mode */
              v = r < 4 ? 3.0f : r < 7 ? 5.0f : 7.0f;
              n3 += v == 3.0f;
            }
          else
            v = (float) ((i * 7 + j * 3 + k) % 9); /* includes some 3s */
          vol->voxels[ns_grid_index (&grid, i, j, k)] = v;
          if (v != 3.0f)
            g_array_append_val (inside, v);
        }
  g_assert_cmpuint (2 * n3, <, n_border);
  qsort (inside->data, inside->len, sizeof (float), cmp_float);
  ns_volume_brain_percentiles (vol, 0.5, 99.5, &lo, &hi);
  g_assert_cmpfloat_with_epsilon (lo, numpy_percentile ((float *) inside->data, inside->len, 0.5),
                                  1e-9);
  g_assert_cmpfloat_with_epsilon (hi, numpy_percentile ((float *) inside->data, inside->len, 99.5),
                                  1e-9);
  ns_volume_brain_percentiles (vol, 37.0, 63.0, &lo, &hi);
  g_assert_cmpfloat_with_epsilon (lo, numpy_percentile ((float *) inside->data, inside->len, 37),
                                  1e-9);
  g_assert_cmpfloat_with_epsilon (hi, numpy_percentile ((float *) inside->data, inside->len, 63),
                                  1e-9);
}

/* The renderer applies the same LUT: a volume holding 0..255 along i, nearest, window 256
 * at 128, comes out as exactly those greys; level shifted by 10 darkens by 10. */
static void
test_render_through_lut (void)
{
  NsGrid grid;
  g_autoptr (NsVolume) vol = NULL;
  NsPlaneGeometry g;
  NsLut lut;
  cairo_surface_t *s;
  g_autoptr (GError) error = NULL;

  synth_grid (&grid, "RAS", 256, 3, 2, 1, 1, 1);
  vol = ns_volume_new (&grid, NULL);
  for (int k = 0; k < 2; k++)
    for (int j = 0; j < 3; j++)
      for (int i = 0; i < 256; i++)
        vol->voxels[ns_grid_index (&grid, i, j, k)] = (float) i;

  for (int interp = 0; interp < 2; interp++)
    for (int shift = 0; shift <= 10; shift += 10)
      {
        ns_plane_geometry_init (&g, &grid, NS_PLANE_AXIAL, NS_CONVENTION_NEUROLOGICAL, 0, NULL);
        ns_lut_init (&lut, 256.0, 128.0 + shift, NS_COLORMAP_GREY);
        s = ns_render_surface_new (&g);
        g_assert_true (ns_render_image (s, 0, 0, &g, vol, &lut, interp, &error));
        g_assert_no_error (error);
        g_assert_cmpint (g.width, ==, 256);
        for (int v = 0; v < g.height; v++)
          for (int u = 0; u < g.width; u++)
            g_assert_cmphex (synth_pixel (s, u, v), ==, 0x010101u * MAX (u - shift, 0));
        cairo_surface_destroy (s);
      }
}

static void
test_render_errors (void)
{
  NsGrid grid, other;
  g_autoptr (NsVolume) vol = NULL;
  g_autoptr (NsVolume) small = NULL;
  NsPlaneGeometry g;
  NsLut lut;
  cairo_surface_t *s;
  g_autoptr (GError) error = NULL;

  synth_grid (&grid, "RAS", 16, 12, 8, 1, 1, 1);
  synth_grid (&other, "RAS", 16, 12, 9, 1, 1, 1);
  vol = ns_volume_new (&grid, NULL);
  small = ns_volume_new (&other, NULL);
  small->path = g_strdup ("/tmp/other.nii.gz");
  ns_lut_init (&lut, 1, 0, NS_COLORMAP_GREY);
  ns_plane_geometry_init (&g, &grid, NS_PLANE_AXIAL, NS_CONVENTION_RADIOLOGICAL, 0, NULL);

  s = cairo_image_surface_create (CAIRO_FORMAT_ARGB32, 16, 12);
  g_assert_false (ns_render_image (s, 0, 0, &g, small, &lut, NS_INTERP_NEAREST, &error));
  g_assert_error (error, NS_RENDER_ERROR, NS_RENDER_ERROR_GRID_MISMATCH);
  g_assert_nonnull (strstr (error->message, "/tmp/other.nii.gz"));
  g_clear_error (&error);
  g_assert_false (ns_render_image (s, 1, 0, &g, vol, &lut, NS_INTERP_NEAREST, &error));
  g_assert_error (error, NS_RENDER_ERROR, NS_RENDER_ERROR_SURFACE);
  g_clear_error (&error);
  g_assert_true (ns_render_image (s, 0, 0, &g, vol, &lut, NS_INTERP_NEAREST, &error));
  g_assert_no_error (error);
  cairo_surface_destroy (s);

  s = cairo_image_surface_create (CAIRO_FORMAT_A8, 16, 12);
  g_assert_false (ns_render_image (s, 0, 0, &g, vol, &lut, NS_INTERP_NEAREST, &error));
  g_assert_error (error, NS_RENDER_ERROR, NS_RENDER_ERROR_SURFACE);
  g_clear_error (&error);
  cairo_surface_destroy (s);

  /* A PNG to a folder that does not exist: one line naming the file. */
  s = cairo_image_surface_create (CAIRO_FORMAT_RGB24, 4, 4);
  g_assert_false (ns_render_write_png (s, "/nonexistent-dir/out.png", &error));
  g_assert_error (error, NS_RENDER_ERROR, NS_RENDER_ERROR_IO);
  g_assert_nonnull (strstr (error->message, "/nonexistent-dir/out.png"));
  g_assert_null (strchr (error->message, '\n'));
  g_clear_error (&error);
  {
    g_autofree char *path = g_build_filename (ns_test_tmpdir (), "ok.png", NULL);
    g_assert_true (ns_render_write_png (s, path, &error));
    g_assert_no_error (error);
    g_assert_true (g_file_test (path, G_FILE_TEST_IS_REGULAR));
  }
  cairo_surface_destroy (s);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/render/lut/exact-bins", test_lut_exact_bins);
  g_test_add_func ("/render/lut/random", test_lut_random);
  g_test_add_func ("/render/lut/colormaps", test_colormaps);
  g_test_add_func ("/render/lut/percentiles", test_percentiles);
  g_test_add_func ("/render/lut/background", test_background_without_majority);
  g_test_add_func ("/render/lut/render", test_render_through_lut);
  g_test_add_func ("/render/lut/errors", test_render_errors);
  return g_test_run ();
}
