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

/* The brain: the mask when given (checked to be on the volume's grid), else the voxels
 * that differ from the background value (ns_normalize_brain_mask ()'s rule, applied
 * without making the mask). */
static gboolean
check_mask (const NsVolume *volume, const NsLabelMap *brain_mask, const char *name,
            GError **error)
{
  if (brain_mask != NULL && !ns_grid_equal (&brain_mask->grid, &volume->grid))
    {
      g_set_error (error, NS_DATA_ERROR, NS_DATA_ERROR_GRID_MISMATCH,
                   "%s: the brain mask %s is on a different grid", name,
                   brain_mask->path != NULL ? brain_mask->path : "(memory)");
      return FALSE;
    }
  return TRUE;
}

static inline gboolean
in_brain (const guint8 *mask, float background, float x, gsize i)
{
  return mask != NULL ? mask[i] != 0 : x != background;
}

static gboolean
no_brain (const char *name, GError **error)
{
  g_set_error (error, NS_DATA_ERROR, NS_DATA_ERROR_INVALID,
               "%s: no brain voxels to normalise (the image is constant or the mask empty)",
               name);
  return FALSE;
}

void
ns_normalize_apply (const NsNormalizeTransform *transform, const NsVolume *volume,
                    const NsLabelMap *brain_mask, gsize start, gsize n, float *out)
{
  g_return_if_fail (transform != NULL && volume != NULL && out != NULL);
  g_return_if_fail (start <= ns_volume_n_voxels (volume)
                    && n <= ns_volume_n_voxels (volume) - start);

  const guint8 *m = brain_mask != NULL ? brain_mask->labels : NULL;
  const double mean = transform->mean, scale = transform->scale;
  const float lo = transform->lo, hi = transform->hi, bg = transform->background;
  for (gsize i = 0; i < n; i++)
    {
      float x = ns_volume_get_value (volume, start + i);
      out[i] = in_brain (m, bg, x, start + i) ? (float) ((CLAMP (x, lo, hi) - mean) * scale)
                                              : 0.0f;
    }
}

/* A float32 volume of the transform applied to every voxel, with volume's fields. */
static NsVolume *
apply_volume (const NsNormalizeTransform *t, const NsVolume *volume,
              const NsLabelMap *brain_mask, GError **error)
{
  NsVolume *out = ns_volume_new (&volume->grid, error);
  if (out == NULL)
    return NULL;
  out->path = g_strdup (volume->path);
  out->name = g_strdup (volume->name);
  out->datatype = volume->datatype;
  out->intent_code = volume->intent_code;
  out->n_nonfinite = volume->n_nonfinite;
  ns_normalize_apply (t, volume, brain_mask, 0, ns_volume_n_voxels (volume), out->voxels);
  return out;
}

gboolean
ns_normalize_zscore_transform (const NsVolume *volume, const NsLabelMap *brain_mask,
                               NsNormalizeTransform *transform, NsNormalizeStats *stats,
                               GError **error)
{
  g_return_val_if_fail (volume != NULL && transform != NULL, FALSE);

  const char *name = volume->path != NULL ? volume->path : "(volume)";
  float background = ns_normalize_background_value (volume);
  if (!check_mask (volume, brain_mask, name, error))
    return FALSE;

  gsize n = ns_volume_n_voxels (volume);
  const guint8 *m = brain_mask != NULL ? brain_mask->labels : NULL;
  double sum = 0.0;
  gsize count = 0;
  for (gsize i = 0; i < n; i++)
    {
      float x = ns_volume_get_value (volume, i);
      if (in_brain (m, background, x, i))
        {
          sum += x;
          count++;
        }
    }
  if (count == 0)
    return no_brain (name, error);
  double mean = sum / (double) count;
  double ss = 0.0;
  for (gsize i = 0; i < n; i++)
    {
      float x = ns_volume_get_value (volume, i);
      if (in_brain (m, background, x, i))
        {
          double d = x - mean;
          ss += d * d;
        }
    }
  double sd = sqrt (ss / (double) count);

  /* No clipping: CLAMP to +-infinity leaves every finite value as it is. */
  transform->mean = mean;
  transform->scale = sd > 1e-12 ? 1.0 / sd : 1.0;
  transform->lo = -INFINITY;
  transform->hi = INFINITY;
  transform->background = background;
  if (stats != NULL)
    {
      stats->background = background;
      stats->mean = mean;
      stats->stddev = sd;
      stats->n_brain = count;
    }
  return TRUE;
}

NsVolume *
ns_normalize_zscore (const NsVolume *volume, const NsLabelMap *brain_mask,
                     NsNormalizeStats *stats, GError **error)
{
  NsNormalizeTransform t;

  g_return_val_if_fail (volume != NULL, NULL);
  if (!ns_normalize_zscore_transform (volume, brain_mask, &t, stats, error))
    return NULL;
  return apply_volume (&t, volume, brain_mask, error);
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

gboolean
ns_normalize_zscore_clipped_transform (const NsVolume *volume, const NsLabelMap *brain_mask,
                                       double lo_percentile, double hi_percentile,
                                       NsNormalizeTransform *transform,
                                       NsNormalizeStats *stats, GError **error)
{
  g_return_val_if_fail (volume != NULL && transform != NULL, FALSE);

  const char *name = volume->path != NULL ? volume->path : "(volume)";

  if (!(lo_percentile >= 0 && lo_percentile < hi_percentile && hi_percentile <= 100))
    {
      g_set_error (error, NS_DATA_ERROR, NS_DATA_ERROR_INVALID,
                   "%s: clipping percentiles %g and %g are not 0 <= low < high <= 100", name,
                   lo_percentile, hi_percentile);
      return FALSE;
    }
  if (!check_mask (volume, brain_mask, name, error))
    return FALSE;
  float background = ns_normalize_background_value (volume);

  gsize n = ns_volume_n_voxels (volume), count = 0;
  const guint8 *m = brain_mask != NULL ? brain_mask->labels : NULL;
  for (gsize i = 0; i < n; i++)
    count += in_brain (m, background, ns_volume_get_value (volume, i), i);
  if (count == 0)
    return no_brain (name, error);
  g_autofree float *v = g_try_new (float, count);
  if (v == NULL)
    {
      g_set_error (error, NS_DATA_ERROR, NS_DATA_ERROR_TOO_LARGE,
                   "%s: out of memory for the percentiles of %zu brain voxels", name,
                   (size_t) count);
      return FALSE;
    }
  gsize c = 0;
  for (gsize i = 0; i < n; i++)
    {
      float x = ns_volume_get_value (volume, i);
      if (in_brain (m, background, x, i))
        v[c++] = x;
    }
  /* nearest rank below (numpy's method="lower") */
  gssize rank_lo = (gssize) floor (lo_percentile / 100.0 * (double) (count - 1));
  gssize rank_hi = (gssize) floor (hi_percentile / 100.0 * (double) (count - 1));
  float lo = select_kth (v, (gssize) count, rank_lo);
  float hi = select_kth (v, (gssize) count, rank_hi);

  double sum = 0.0;
  for (gsize i = 0; i < n; i++)
    {
      float x = ns_volume_get_value (volume, i);
      if (in_brain (m, background, x, i))
        sum += CLAMP (x, lo, hi);
    }
  double mean = sum / (double) count, ss = 0.0;
  for (gsize i = 0; i < n; i++)
    {
      float x = ns_volume_get_value (volume, i);
      if (in_brain (m, background, x, i))
        {
          double d = CLAMP (x, lo, hi) - mean;
          ss += d * d;
        }
    }
  double sd = sqrt (ss / (double) count);

  transform->mean = mean;
  transform->scale = sd > 1e-12 ? 1.0 / sd : 1.0;
  transform->lo = lo;
  transform->hi = hi;
  transform->background = background;
  if (stats != NULL)
    {
      stats->background = background;
      stats->mean = mean;
      stats->stddev = sd;
      stats->n_brain = count;
    }
  return TRUE;
}

NsVolume *
ns_normalize_zscore_clipped (const NsVolume *volume, const NsLabelMap *brain_mask,
                             double lo_percentile, double hi_percentile,
                             NsNormalizeStats *stats, GError **error)
{
  NsNormalizeTransform t;

  g_return_val_if_fail (volume != NULL, NULL);
  if (!ns_normalize_zscore_clipped_transform (volume, brain_mask, lo_percentile, hi_percentile,
                                              &t, stats, error))
    return NULL;
  return apply_volume (&t, volume, brain_mask, error);
}
