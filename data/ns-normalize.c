/* SPDX-License-Identifier: MIT
 *
 * ns-normalize.c: see ns-normalize.h.  Mean and variance take two passes in double (the
 * mean, then the squared deviations from it), which avoids the cancellation of the
 * one-pass sum-of-squares formula and is exact enough for 10^7 voxels.
 */
#define G_LOG_DOMAIN "neuroseg-data"

#include "ns-normalize.h"
#include "ns-data-error.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static int
compare_float (const void *a, const void *b)
{
  float x = *(const float *) a, y = *(const float *) b;
  return (x > y) - (x < y);
}

/* Visits the voxels on the six faces of the volume, each once: *n_first counts those equal
 * to first among all *n; when out is not NULL every one is appended to it. */
static void
scan_border (const NsVolume *volume, float first, gsize *n_first, gsize *n, GArray *out)
{
  const NsGrid *g = &volume->grid;
  int nx = g->dim[0], ny = g->dim[1], nz = g->dim[2];

  *n_first = *n = 0;
  for (int k = 0; k < nz; k++)
    for (int j = 0; j < ny; j++)
      {
        gsize row = ns_grid_index (g, 0, j, k);
        gboolean face = k == 0 || k == nz - 1 || j == 0 || j == ny - 1;
        /* a row on a face whole, else its two ends */
        int step = face || nx == 1 ? 1 : nx - 1;
        for (int i = 0; i < nx; i += step)
          {
            float x = ns_volume_get_value (volume, row + (gsize) i);
            *n_first += x == first;
            (*n)++;
            if (out != NULL)
              g_array_append_val (out, x);
          }
      }
}

float
ns_normalize_background_value (const NsVolume *volume)
{
  g_return_val_if_fail (volume != NULL && volume->data != NULL, 0.0f);

  /* Usually one value (0) fills most of the border: when the corner voxel's value holds
   * a strict majority it is the mode, found in one pass without a copy or a sort. */
  float first = ns_volume_get_value (volume, 0);
  gsize n_first, n;
  scan_border (volume, first, &n_first, &n, NULL);
  if (2 * n_first > n)
    return first;

  g_autoptr (GArray) border = g_array_sized_new (FALSE, FALSE, sizeof (float), n);
  scan_border (volume, first, &n_first, &n, border);
  float *v = (float *) border->data;
  qsort (v, n, sizeof (float), compare_float);
  float best = v[0];
  gsize best_run = 0;
  for (gsize i = 0; i < n;)
    {
      gsize j = i + 1;
      while (j < n && v[j] == v[i])
        j++;
      if (j - i > best_run)
        {
          best_run = j - i;
          best = v[i];
        }
      i = j;
    }
  return best;
}

NsLabelMap *
ns_normalize_brain_mask (const NsVolume *volume, GError **error)
{
  g_return_val_if_fail (volume != NULL, NULL);

  float background = ns_normalize_background_value (volume);
  NsLabelMap *mask = ns_label_map_new (&volume->grid, error);
  if (mask == NULL)
    return NULL;
  gsize n = ns_volume_n_voxels (volume);
  for (gsize i = 0; i < n; i++)
    mask->labels[i] = ns_volume_get_value (volume, i) != background;
  return mask;
}

NsVolume *
ns_normalize_zscore (const NsVolume *volume, const NsLabelMap *brain_mask,
                     NsNormalizeStats *stats, GError **error)
{
  g_return_val_if_fail (volume != NULL, NULL);

  const char *name = volume->path != NULL ? volume->path : "(volume)";
  g_autoptr (NsLabelMap) own_mask = NULL;
  double background = ns_normalize_background_value (volume);

  if (brain_mask != NULL)
    {
      if (!ns_grid_equal (&brain_mask->grid, &volume->grid))
        {
          g_set_error (error, NS_DATA_ERROR, NS_DATA_ERROR_GRID_MISMATCH,
                       "%s: the brain mask %s is on a different grid", name,
                       brain_mask->path != NULL ? brain_mask->path : "(memory)");
          return NULL;
        }
    }
  else
    {
      own_mask = ns_normalize_brain_mask (volume, error);
      if (own_mask == NULL)
        return NULL;
      brain_mask = own_mask;
    }

  gsize n = ns_volume_n_voxels (volume);
  const guint8 *m = brain_mask->labels;
  double sum = 0.0;
  gsize count = 0;
  for (gsize i = 0; i < n; i++)
    if (m[i])
      {
        sum += ns_volume_get_value (volume, i);
        count++;
      }
  if (count == 0)
    {
      g_set_error (error, NS_DATA_ERROR, NS_DATA_ERROR_INVALID,
                   "%s: no brain voxels to normalise (the image is constant or the mask empty)",
                   name);
      return NULL;
    }
  double mean = sum / (double) count;
  double ss = 0.0;
  for (gsize i = 0; i < n; i++)
    if (m[i])
      {
        double d = ns_volume_get_value (volume, i) - mean;
        ss += d * d;
      }
  double sd = sqrt (ss / (double) count);
  double scale = sd > 1e-12 ? 1.0 / sd : 1.0;

  NsVolume *out = ns_volume_new (&volume->grid, error);
  if (out == NULL)
    return NULL;
  out->path = g_strdup (volume->path);
  out->name = g_strdup (volume->name);
  out->datatype = volume->datatype;
  out->intent_code = volume->intent_code;
  out->n_nonfinite = volume->n_nonfinite;
  for (gsize i = 0; i < n; i++)
    out->voxels[i] = m[i] ? (float) ((ns_volume_get_value (volume, i) - mean) * scale) : 0.0f;

  if (stats != NULL)
    {
      stats->background = background;
      stats->mean = mean;
      stats->stddev = sd;
      stats->n_brain = count;
    }
  return out;
}

/* ---- z-score after percentile clipping (robust across sources) -------------------------- */

/* The k-th smallest of v[0..n-1] (0-based), reordering v: Hoare's selection (Wirth's
 * form), O(n) on average. */
static float
select_kth (float *v, gssize n, gssize k)
{
  gssize lo = 0, hi = n - 1;
  while (lo < hi)
    {
      float pivot = v[lo + (hi - lo) / 2];
      gssize i = lo, j = hi;
      do
        {
          while (v[i] < pivot)
            i++;
          while (v[j] > pivot)
            j--;
          if (i <= j)
            {
              float t = v[i];
              v[i] = v[j];
              v[j] = t;
              i++;
              j--;
            }
        }
      while (i <= j);
      /* v[lo..j] <= pivot <= v[i..hi]; between them every value is the pivot */
      if (k <= j)
        hi = j;
      else if (k >= i)
        lo = i;
      else
        return v[k];
    }
  return v[k];
}

NsVolume *
ns_normalize_zscore_clipped (const NsVolume *volume, const NsLabelMap *brain_mask,
                             double lo_percentile, double hi_percentile,
                             NsNormalizeStats *stats, GError **error)
{
  g_return_val_if_fail (volume != NULL, NULL);

  const char *name = volume->path != NULL ? volume->path : "(volume)";
  g_autoptr (NsLabelMap) own_mask = NULL;

  if (!(lo_percentile >= 0 && lo_percentile < hi_percentile && hi_percentile <= 100))
    {
      g_set_error (error, NS_DATA_ERROR, NS_DATA_ERROR_INVALID,
                   "%s: clipping percentiles %g and %g are not 0 <= low < high <= 100", name,
                   lo_percentile, hi_percentile);
      return NULL;
    }
  if (brain_mask != NULL && !ns_grid_equal (&brain_mask->grid, &volume->grid))
    {
      g_set_error (error, NS_DATA_ERROR, NS_DATA_ERROR_GRID_MISMATCH,
                   "%s: the brain mask %s is on a different grid", name,
                   brain_mask->path != NULL ? brain_mask->path : "(memory)");
      return NULL;
    }
  if (brain_mask == NULL)
    {
      own_mask = ns_normalize_brain_mask (volume, error);
      if (own_mask == NULL)
        return NULL;
      brain_mask = own_mask;
    }

  gsize n = ns_volume_n_voxels (volume), count = 0;
  const guint8 *m = brain_mask->labels;
  for (gsize i = 0; i < n; i++)
    count += m[i] != 0;
  if (count == 0)
    {
      g_set_error (error, NS_DATA_ERROR, NS_DATA_ERROR_INVALID,
                   "%s: no brain voxels to normalise (the image is constant or the mask empty)",
                   name);
      return NULL;
    }
  g_autofree float *v = g_try_new (float, count);
  if (v == NULL)
    {
      g_set_error (error, NS_DATA_ERROR, NS_DATA_ERROR_TOO_LARGE,
                   "%s: out of memory for the percentiles of %zu brain voxels", name,
                   (size_t) count);
      return NULL;
    }
  gsize c = 0;
  for (gsize i = 0; i < n; i++)
    if (m[i])
      v[c++] = ns_volume_get_value (volume, i);
  /* nearest rank below (numpy's method="lower") */
  gssize rank_lo = (gssize) floor (lo_percentile / 100.0 * (double) (count - 1));
  gssize rank_hi = (gssize) floor (hi_percentile / 100.0 * (double) (count - 1));
  float lo = select_kth (v, (gssize) count, rank_lo);
  float hi = select_kth (v, (gssize) count, rank_hi);

  double sum = 0.0;
  for (gsize i = 0; i < n; i++)
    if (m[i])
      {
        float x = ns_volume_get_value (volume, i);
        sum += CLAMP (x, lo, hi);
      }
  double mean = sum / (double) count, ss = 0.0;
  for (gsize i = 0; i < n; i++)
    if (m[i])
      {
        float x = ns_volume_get_value (volume, i);
        double d = CLAMP (x, lo, hi) - mean;
        ss += d * d;
      }
  double sd = sqrt (ss / (double) count);
  double scale = sd > 1e-12 ? 1.0 / sd : 1.0;

  NsVolume *out = ns_volume_new (&volume->grid, error);
  if (out == NULL)
    return NULL;
  out->path = g_strdup (volume->path);
  out->name = g_strdup (volume->name);
  out->datatype = volume->datatype;
  out->intent_code = volume->intent_code;
  out->n_nonfinite = volume->n_nonfinite;
  for (gsize i = 0; i < n; i++)
    {
      float x = ns_volume_get_value (volume, i);
      out->voxels[i] = m[i] ? (float) ((CLAMP (x, lo, hi) - mean) * scale) : 0.0f;
    }
  if (stats != NULL)
    {
      stats->background = ns_normalize_background_value (volume);
      stats->mean = mean;
      stats->stddev = sd;
      stats->n_brain = count;
    }
  return out;
}
