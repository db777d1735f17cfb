/* SPDX-License-Identifier: MIT
 *
 * ns-colormap.c: colour maps, the window/level LUT and the automatic initial window.
 *
 * The automatic window uses exact order statistics of the voxels inside the brain, so
 * it matches numpy.percentile: counting when the values are integers over a moderate
 * range (MR volumes nearly always are), else quickselect with a three-way partition
 * (intensities repeat a lot).  The brain is what differs from the background value, by the
 * one rule of data/ns-normalize.h (the most common value on the volume's border), so
 * that the window and the network's normalisation see the same brain.
 */
#define G_LOG_DOMAIN "neuroseg-render"

#include "ns-render.h"
#include "ns-render-private.h"

#include "ns-normalize.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static const char *const colormap_names[NS_N_COLORMAPS] = { "grey", "hot", "viridis", "jet" };

const char *
ns_colormap_to_string (NsColormap map)
{
  g_return_val_if_fail (map >= 0 && map < NS_N_COLORMAPS, NULL);
  return colormap_names[map];
}

gboolean
ns_colormap_from_string (const char *name, NsColormap *map)
{
  g_return_val_if_fail (name != NULL, FALSE);
  for (int m = 0; m < NS_N_COLORMAPS; m++)
    if (g_ascii_strcasecmp (name, colormap_names[m]) == 0
        || (m == NS_COLORMAP_GREY && g_ascii_strcasecmp (name, "gray") == 0))
      {
        if (map != NULL)
          *map = (NsColormap) m;
        return TRUE;
      }
  return FALSE;
}

static guint8
unit_to_byte (double x)
{
  x = CLAMP (x, 0.0, 1.0);
  return (guint8) lround (x * 255.0);
}

/* Matplotlib's viridis sampled at nine points; linear in between is within a few units
 * of the full table and keeps it perceptually ordered. */
static const guint8 viridis_anchors[9][3] = {
  { 68, 1, 84 },    { 71, 44, 122 },  { 59, 81, 139 },  { 44, 113, 142 }, { 33, 144, 141 },
  { 39, 173, 129 }, { 92, 200, 99 },  { 170, 220, 50 }, { 253, 231, 37 },
};

guint32
ns_colormap_rgb (NsColormap map, guint8 index)
{
  double t = index / 255.0;
  guint8 r, g, b;

  switch (map)
    {
    case NS_COLORMAP_HOT:
      r = unit_to_byte (3.0 * t);
      g = unit_to_byte (3.0 * t - 1.0);
      b = unit_to_byte (3.0 * t - 2.0);
      break;
    case NS_COLORMAP_JET:
      r = unit_to_byte (1.5 - fabs (4.0 * t - 3.0));
      g = unit_to_byte (1.5 - fabs (4.0 * t - 2.0));
      b = unit_to_byte (1.5 - fabs (4.0 * t - 1.0));
      break;
    case NS_COLORMAP_VIRIDIS:
      {
        double x = t * 8.0;
        int i = MIN ((int) x, 7);
        double f = x - i;
        r = (guint8) lround (viridis_anchors[i][0] * (1 - f) + viridis_anchors[i + 1][0] * f);
        g = (guint8) lround (viridis_anchors[i][1] * (1 - f) + viridis_anchors[i + 1][1] * f);
        b = (guint8) lround (viridis_anchors[i][2] * (1 - f) + viridis_anchors[i + 1][2] * f);
      }
      break;
    case NS_COLORMAP_GREY:
    default:
      r = g = b = index;
      break;
    }
  return ((guint32) r << 16) | ((guint32) g << 8) | b;
}

void
ns_lut_init (NsLut *lut, double window, double level, NsColormap colormap)
{
  g_return_if_fail (lut != NULL);
  if (!isfinite (window) || window < 1e-6)
    window = 1e-6;
  if (!isfinite (level))
    level = 0.0;
  if (colormap < 0 || colormap >= NS_N_COLORMAPS)
    colormap = NS_COLORMAP_GREY;

  lut->window = window;
  lut->level = level;
  lut->colormap = colormap;
  lut->lo = level - window / 2.0;
  lut->scale = 256.0 / window;
  for (int i = 0; i < 256; i++)
    lut->argb[i] = 0xff000000u | ns_colormap_rgb (colormap, (guint8) i);
}

static inline void
swap_floats (float *a, float *b)
{
  float t = *a;
  *a = *b;
  *b = t;
}

/* The k-th smallest of a[0..n) (0-based); permutes a. */
static float
select_kth (float *a, gsize n, gsize k)
{
  gsize lo = 0, hi = n;

  g_assert (k < n);
  while (hi - lo > 1)
    {
      float x = a[lo], y = a[lo + (hi - lo) / 2], z = a[hi - 1];
      float pivot = MAX (MIN (x, y), MIN (MAX (x, y), z)); /* median of three */
      gsize lt = lo, i = lo, gt = hi;

      /* [lo, lt) < pivot, [lt, i) == pivot, [gt, hi) > pivot */
      while (i < gt)
        {
          if (a[i] < pivot)
            swap_floats (&a[lt++], &a[i++]);
          else if (a[i] > pivot)
            swap_floats (&a[i], &a[--gt]);
          else
            i++;
        }
      if (k < lt)
        hi = lt;
      else if (k >= gt)
        lo = gt;
      else
        return pivot;
    }
  return a[k];
}

/* numpy.percentile's default (linear) on the n values of a; permutes a. */
static double
percentile (float *a, gsize n, double pct)
{
  double rank = CLAMP (pct, 0.0, 100.0) / 100.0 * (double) (n - 1);
  gsize k = (gsize) floor (rank);
  double f = rank - (double) k;
  double lo = select_kth (a, n, k);
  double hi = (f > 0.0 && k + 1 < n) ? select_kth (a, n, k + 1) : lo;
  return lo + f * (hi - lo);
}

/* The k-th smallest of values counted in hist (hist[b] voxels of value base + b). */
static double
histogram_kth (const guint32 *hist, gsize n_bins, double base, gsize k)
{
  gsize seen = 0;
  for (gsize b = 0; b < n_bins; b++)
    {
      seen += hist[b];
      if (seen > k)
        return base + (double) b;
    }
  g_assert_not_reached ();
  return base;
}

void
ns_volume_brain_percentiles (const NsVolume *volume, double lo_pct, double hi_pct,
                             double *lo_value, double *hi_value)
{
  gsize n_all, n = 0;
  float background, vmin = G_MAXFLOAT, vmax = -G_MAXFLOAT;
  gboolean integral = TRUE;
  double pcts[2] = { lo_pct, hi_pct }, results[2];

  g_return_if_fail (volume != NULL && volume->data != NULL);

  n_all = ns_volume_n_voxels (volume);
  if (n_all == 0)
    {
      if (lo_value != NULL)
        *lo_value = 0.0;
      if (hi_value != NULL)
        *hi_value = 0.0;
      return;
    }

  background = ns_normalize_background_value (volume);
  for (gsize i = 0; i < n_all; i++)
    {
      float x = ns_volume_get_value (volume, i);
      if (x != background)
        {
          n++;
          vmin = MIN (vmin, x);
          vmax = MAX (vmax, x);
          integral &= x == floorf (x);
        }
    }
  if (n == 0)
    {
      /* No brain: every voxel counts. */
      n = n_all;
      vmin = vmax = background;
      background = NAN; /* compares unequal to everything */
      integral = FALSE;
    }

  if (integral && (double) vmax - (double) vmin < (double) (1 << 22))
    {
      /* Most MR volumes hold integers over a small range: counting them is exact and
       * takes one pass, where selection takes several. */
      gsize n_bins = (gsize) ((double) vmax - (double) vmin) + 1;
      g_autofree guint32 *hist = g_new0 (guint32, n_bins);
      for (gsize i = 0; i < n_all; i++)
        {
          float x = ns_volume_get_value (volume, i);
          if (x != background)
            hist[(gsize) (x - vmin)]++;
        }
      for (int p = 0; p < 2; p++)
        {
          double rank = CLAMP (pcts[p], 0.0, 100.0) / 100.0 * (double) (n - 1);
          gsize k = (gsize) floor (rank);
          double f = rank - (double) k;
          double lo = histogram_kth (hist, n_bins, vmin, k);
          double hi = (f > 0.0 && k + 1 < n) ? histogram_kth (hist, n_bins, vmin, k + 1) : lo;
          results[p] = lo + f * (hi - lo);
        }
    }
  else
    {
      g_autofree float *inside = g_new (float, n);
      gsize m = 0;
      for (gsize i = 0; i < n_all; i++)
        {
          float x = ns_volume_get_value (volume, i);
          if (!(x == background))
            inside[m++] = x;
        }
      g_assert (m == n);
      for (int p = 0; p < 2; p++)
        results[p] = percentile (inside, n, pcts[p]);
    }

  if (lo_value != NULL)
    *lo_value = results[0];
  if (hi_value != NULL)
    *hi_value = results[1];
}

void
ns_window_level_auto (const NsVolume *volume, double *window, double *level)
{
  double lo, hi;

  g_return_if_fail (volume != NULL);
  ns_volume_brain_percentiles (volume, 0.5, 99.5, &lo, &hi);
  if (!(hi - lo > 0.0))
    {
      /* A constant brain: centre the window on it. */
      hi = lo + 1.0;
      lo = lo - 1.0;
    }
  if (window != NULL)
    *window = hi - lo;
  if (level != NULL)
    *level = (lo + hi) / 2.0;
}
