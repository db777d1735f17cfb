/* SPDX-License-Identifier: MIT
 *
 * ns-labels.c: see ns-labels.h.  Colours follow the convention of ITK-SNAP and most BraTS
 * figures: core red, edema green, enhancing yellow; BraTS 2015's non-enhancing class gets
 * blue so that it can be told apart from necrosis before mapping.
 */
#define G_LOG_DOMAIN "neuroseg-data"

#include "ns-labels.h"
#include "ns-data-error.h"
#include "ns-nifti.h"

#include <math.h>
#include <string.h>

static const NsLabelClass brats2017_classes[] = {
  { 1, "NCR/NET", "necrotic and non-enhancing tumour core", { 230, 40, 40, 255 } },
  { 2, "ED", "peritumoral edema", { 40, 200, 60, 255 } },
  { 4, "ET", "enhancing tumour", { 250, 220, 40, 255 } },
};

static const NsLabelClass brats2015_classes[] = {
  { 1, "NCR", "necrosis", { 230, 40, 40, 255 } },
  { 2, "ED", "edema", { 40, 200, 60, 255 } },
  { 3, "NET", "non-enhancing tumour", { 60, 110, 240, 255 } },
  { 4, "ET", "enhancing tumour", { 250, 220, 40, 255 } },
};

const char *
ns_label_scheme_name (NsLabelScheme scheme)
{
  return scheme == NS_LABEL_SCHEME_BRATS2015 ? "BraTS 2015" : "BraTS 2017+";
}

const NsLabelClass *
ns_label_scheme_classes (NsLabelScheme scheme, guint *n_classes)
{
  if (scheme == NS_LABEL_SCHEME_BRATS2015)
    {
      if (n_classes != NULL)
        *n_classes = G_N_ELEMENTS (brats2015_classes);
      return brats2015_classes;
    }
  if (n_classes != NULL)
    *n_classes = G_N_ELEMENTS (brats2017_classes);
  return brats2017_classes;
}

const NsLabelClass *
ns_label_scheme_lookup (NsLabelScheme scheme, guint value)
{
  guint n;
  const NsLabelClass *classes = ns_label_scheme_classes (scheme, &n);
  for (guint i = 0; i < n; i++)
    if (classes[i].value == value)
      return &classes[i];
  return NULL;
}

gboolean
ns_label_scheme_contains (NsLabelScheme scheme, guint value)
{
  return value == 0 || ns_label_scheme_lookup (scheme, value) != NULL;
}

const char *
ns_region_name (NsRegion region)
{
  switch (region)
    {
    case NS_REGION_WT: return "WT";
    case NS_REGION_TC: return "TC";
    case NS_REGION_ET: return "ET";
    default: return "?";
    }
}

gboolean
ns_region_contains (NsRegion region, guint8 label)
{
  switch (region)
    {
    case NS_REGION_WT: return label >= 1 && label <= 4;
    case NS_REGION_TC: return label == 1 || label == 3 || label == 4;
    case NS_REGION_ET: return label == 4;
    default: return FALSE;
    }
}

void
ns_label_map_count (const NsLabelMap *map, guint64 counts[256])
{
  g_return_if_fail (map != NULL);
  memset (counts, 0, 256 * sizeof counts[0]);
  gsize n = ns_grid_n_voxels (&map->grid);
  for (gsize i = 0; i < n; i++)
    counts[map->labels[i]]++;
}

gboolean
ns_label_map_centroid (const NsLabelMap *map, double centre[3])
{
  g_return_val_if_fail (map != NULL && centre != NULL, FALSE);

  const NsGrid *g = &map->grid;
  double sum[3] = { 0, 0, 0 };
  guint64 n = 0;
  for (int k = 0; k < g->dim[2]; k++)
    for (int j = 0; j < g->dim[1]; j++)
      {
        const guint8 *row = map->labels + ns_grid_index (g, 0, j, k);
        for (int i = 0; i < g->dim[0]; i++)
          if (row[i] != 0)
            {
              sum[0] += i;
              sum[1] += j;
              sum[2] += k;
              n++;
            }
      }
  if (n == 0)
    return FALSE;
  for (int d = 0; d < 3; d++)
    centre[d] = round (sum[d] / (double) n);
  return TRUE;
}

static const char *
name_or_memory (const char *path)
{
  return path != NULL ? path : "(label map)";
}

gboolean
ns_label_map_check_scheme (const NsLabelMap *map, NsLabelScheme scheme, GError **error)
{
  guint64 counts[256];

  g_return_val_if_fail (map != NULL, FALSE);
  ns_label_map_count (map, counts);
  for (guint v = 0; v < 256; v++)
    if (counts[v] > 0 && !ns_label_scheme_contains (scheme, v))
      {
        g_set_error (error, NS_DATA_ERROR, NS_DATA_ERROR_BAD_LABELS,
                     "%s: label %u (%" G_GUINT64_FORMAT " voxels) is not in the %s scheme",
                     name_or_memory (map->path), v, counts[v], ns_label_scheme_name (scheme));
        return FALSE;
      }
  return TRUE;
}

NsLabelScheme
ns_label_map_guess_scheme (const NsLabelMap *map)
{
  gsize n = ns_grid_n_voxels (&map->grid);
  for (gsize i = 0; i < n; i++)
    if (map->labels[i] == 3)
      return NS_LABEL_SCHEME_BRATS2015;
  return NS_LABEL_SCHEME_BRATS2017;
}

void
ns_label_map_map_2015_to_2017 (NsLabelMap *map)
{
  g_return_if_fail (map != NULL);
  gsize n = ns_grid_n_voxels (&map->grid);
  for (gsize i = 0; i < n; i++)
    if (map->labels[i] == 3)
      map->labels[i] = 1;
}

NsLabelMap *
ns_label_map_from_volume (const NsVolume *volume, NsLabelScheme scheme, gboolean map_2015,
                          GError **error)
{
  g_return_val_if_fail (volume != NULL, NULL);

  g_autoptr (NsLabelMap) map = ns_label_map_new (&volume->grid, error);
  if (map == NULL)
    return NULL;
  map->path = g_strdup (volume->path);

  const char *name = name_or_memory (volume->path);
  if (volume->n_nonfinite > 0)
    {
      /* The loader zeroed them; in a label map they mean a broken file, not background. */
      g_set_error (error, NS_DATA_ERROR, NS_DATA_ERROR_BAD_LABELS,
                   "%s: %" G_GSIZE_FORMAT " %s NaN or infinite, not labels", name,
                   volume->n_nonfinite, volume->n_nonfinite == 1 ? "voxel is" : "voxels are");
      return NULL;
    }
  gsize n = ns_volume_n_voxels (volume);
  gboolean allowed[256];
  for (guint l = 0; l < 256; l++)
    allowed[l] = ns_label_scheme_contains (scheme, l);
  for (gsize i = 0; i < n; i++)
    {
      float x = ns_volume_get_value (volume, i);
      /* Fast path: an exact integer label of the scheme (nearly every voxel). */
      if (x >= 0.0f && x <= 255.0f)
        {
          guint8 b = (guint8) x;
          if ((float) b == x && allowed[b])
            {
              map->labels[i] = b;
              continue;
            }
        }
      float r = rintf (x);
      if (G_UNLIKELY (!(fabsf (x - r) <= 1e-3f) || r < 0.0f || r > 255.0f
                      || !allowed[(guint) r]))
        {
          int dx = volume->grid.dim[0], dy = volume->grid.dim[1];
          int ii = (int) (i % (gsize) dx), jj = (int) (i / (gsize) dx % (gsize) dy);
          int kk = (int) (i / ((gsize) dx * (gsize) dy));
          if (fabsf (x - r) > 1e-3f)
            g_set_error (error, NS_DATA_ERROR, NS_DATA_ERROR_BAD_LABELS,
                         "%s: value %g at voxel (%d, %d, %d) is not an integer label",
                         name, (double) x, ii, jj, kk);
          else
            g_set_error (error, NS_DATA_ERROR, NS_DATA_ERROR_BAD_LABELS,
                         "%s: label %g at voxel (%d, %d, %d) is not in the %s scheme",
                         name, (double) r, ii, jj, kk, ns_label_scheme_name (scheme));
          return NULL;
        }
      map->labels[i] = (guint8) r;
    }
  if (map_2015)
    ns_label_map_map_2015_to_2017 (map);
  return g_steal_pointer (&map);
}

NsLabelMap *
ns_label_map_read (const char *path, NsLabelScheme scheme, gboolean map_2015, GError **error)
{
  g_return_val_if_fail (path != NULL, NULL);
  g_autoptr (NsVolume) volume = ns_nifti_read (path, error);
  return volume != NULL ? ns_label_map_from_volume (volume, scheme, map_2015, error) : NULL;
}

NsLabelMap *
ns_label_map_from_nonzero (const NsVolume *volume, GError **error)
{
  g_return_val_if_fail (volume != NULL, NULL);

  NsLabelMap *map = ns_label_map_new (&volume->grid, error);
  if (map == NULL)
    return NULL;
  map->path = g_strdup (volume->path);
  gsize n = ns_volume_n_voxels (volume);
  for (gsize i = 0; i < n; i++)
    map->labels[i] = ns_volume_get_value (volume, i) != 0.0f;
  return map;
}
