/* SPDX-License-Identifier: MIT
 *
 * ns-volume.c: allocation, reference counting and grid helpers for NsVolume and
 * NsLabelMap.  Sizes are checked for overflow here, once, so that every caller can
 * trust n_voxels * sizeof (float) to fit a gsize.
 */
#define G_LOG_DOMAIN "neuroseg-data"

#include "ns-volume.h"
#include "ns-memory.h"
#include "ns-data-error.h"

#include <math.h>
#include <string.h>

G_DEFINE_QUARK (ns-data-error-quark, ns_data_error)

void
ns_grid_init (NsGrid *grid, int nx, int ny, int nz, double sx, double sy, double sz)
{
  memset (grid, 0, sizeof *grid);
  grid->dim[0] = nx;
  grid->dim[1] = ny;
  grid->dim[2] = nz;
  grid->spacing[0] = sx;
  grid->spacing[1] = sy;
  grid->spacing[2] = sz;
  grid->vox2ras[0][0] = sx;
  grid->vox2ras[1][1] = sy;
  grid->vox2ras[2][2] = sz;
  grid->vox2ras[3][3] = 1.0;
  grid->qfac = 1.0;
  grid->xyz_units = 2; /* NIFTI_UNITS_MM */
}

typedef enum
{
  MATRIX_USABLE,
  MATRIX_NONFINITE,
  MATRIX_SINGULAR,
} MatrixState;

/* A voxel-to-RAS matrix is usable when it is finite and its 3x3 part is invertible.
 * Invertible is judged relative to the columns' lengths (Hadamard: |det| <= the product
 * of the column norms, with equality for orthogonal columns), so that 0.1 mm voxels are
 * fine and an all-zero or rank-deficient matrix is not; real shears stay far above 1e-6. */
static MatrixState
matrix_state (const double m[4][4])
{
  for (int r = 0; r < 3; r++)
    for (int c = 0; c < 4; c++)
      if (!isfinite (m[r][c]))
        return MATRIX_NONFINITE;
  double norm[3];
  for (int c = 0; c < 3; c++)
    norm[c] = sqrt (m[0][c] * m[0][c] + m[1][c] * m[1][c] + m[2][c] * m[2][c]);
  double det = m[0][0] * (m[1][1] * m[2][2] - m[1][2] * m[2][1])
               - m[0][1] * (m[1][0] * m[2][2] - m[1][2] * m[2][0])
               + m[0][2] * (m[1][0] * m[2][1] - m[1][1] * m[2][0]);
  double scale = norm[0] * norm[1] * norm[2];
  if (!(scale > 0.0) || !isfinite (scale) || fabs (det) <= 1e-6 * scale)
    return MATRIX_SINGULAR;
  return MATRIX_USABLE;
}

NsGridXform
ns_grid_get_xform (const NsGrid *grid)
{
  g_return_val_if_fail (grid != NULL, NS_GRID_XFORM_PIXDIM);
  if (grid->sform_code > 0 && matrix_state (grid->sform) == MATRIX_USABLE)
    return NS_GRID_XFORM_SFORM;
  if (grid->qform_code > 0 && matrix_state (grid->qform) == MATRIX_USABLE)
    return NS_GRID_XFORM_QFORM;
  return NS_GRID_XFORM_PIXDIM;
}

void
ns_grid_update_vox2ras (NsGrid *grid)
{
  g_return_if_fail (grid != NULL);
  memset (grid->vox2ras, 0, sizeof grid->vox2ras);
  switch (ns_grid_get_xform (grid))
    {
    case NS_GRID_XFORM_SFORM:
      memcpy (grid->vox2ras, grid->sform, sizeof grid->vox2ras);
      break;
    case NS_GRID_XFORM_QFORM:
      memcpy (grid->vox2ras, grid->qform, sizeof grid->vox2ras);
      break;
    case NS_GRID_XFORM_PIXDIM:
      for (int d = 0; d < 3; d++)
        grid->vox2ras[d][d] = grid->spacing[d];
      break;
    }
  grid->vox2ras[3][0] = grid->vox2ras[3][1] = grid->vox2ras[3][2] = 0.0;
  grid->vox2ras[3][3] = 1.0;
}

const char *
ns_grid_xform_name (NsGridXform xform)
{
  switch (xform)
    {
    case NS_GRID_XFORM_SFORM: return "sform";
    case NS_GRID_XFORM_QFORM: return "qform";
    case NS_GRID_XFORM_PIXDIM: return "pixdim";
    default: return "unknown";
    }
}

static const char *
matrix_problem (MatrixState state)
{
  return state == MATRIX_NONFINITE ? "not finite (NaN or Inf in it)"
                                   : "singular (its 3x3 part has no inverse)";
}

char *
ns_grid_dup_xform_warning (const NsGrid *grid)
{
  g_return_val_if_fail (grid != NULL, NULL);
  NsGridXform used = ns_grid_get_xform (grid);
  const char *instead = used == NS_GRID_XFORM_QFORM ? "the qform is used instead"
                                                    : "the voxel sizes (pixdim) are used "
                                                      "instead, axis-aligned";
  g_autoptr (GString) s = g_string_new (NULL);
  MatrixState sform = matrix_state (grid->sform);
  MatrixState qform = matrix_state (grid->qform);

  if (grid->sform_code > 0 && sform != MATRIX_USABLE)
    g_string_append_printf (s, "the sform (code %d) is %s", grid->sform_code,
                            matrix_problem (sform));
  /* The qform matters only where the sform does not take precedence. */
  if (used != NS_GRID_XFORM_SFORM && grid->qform_code > 0 && qform != MATRIX_USABLE)
    g_string_append_printf (s, "%sthe qform (code %d) is %s", s->len > 0 ? ", " : "",
                            grid->qform_code, matrix_problem (qform));
  if (s->len == 0)
    return NULL;
  g_string_append_printf (s, "; %s", instead);
  return g_string_free (g_steal_pointer (&s), FALSE);
}

gboolean
ns_grid_equal (const NsGrid *a, const NsGrid *b)
{
  for (int d = 0; d < 3; d++)
    if (a->dim[d] != b->dim[d])
      return FALSE;
  for (int r = 0; r < 4; r++)
    for (int c = 0; c < 4; c++)
      if (fabs (a->vox2ras[r][c] - b->vox2ras[r][c]) > 1e-3)
        return FALSE;
  return TRUE;
}

void
ns_grid_orientation_code (const NsGrid *grid, char buf[4])
{
  /* For each voxel axis, the RAS axis it mostly follows and the direction it points to,
   * as nibabel's aff2axcodes names it: RAS+ gives "RAS", BraTS (x to the left, y to
   * the back, z up) gives "LPS". */
  static const char pos[3] = { 'R', 'A', 'S' };
  static const char neg[3] = { 'L', 'P', 'I' };
  gboolean used[3] = { FALSE, FALSE, FALSE };

  for (int c = 0; c < 3; c++)
    {
      int best = -1;
      double best_abs = -1.0;
      for (int r = 0; r < 3; r++)
        {
          double v = fabs (grid->vox2ras[r][c]);
          if (!used[r] && v > best_abs)
            {
              best_abs = v;
              best = r;
            }
        }
      if (best < 0)
        best = 0;
      used[best] = TRUE;
      buf[c] = grid->vox2ras[best][c] >= 0 ? pos[best] : neg[best];
    }
  buf[3] = '\0';
}

double
ns_grid_voxel_volume_ml (const NsGrid *grid)
{
  return grid->spacing[0] * grid->spacing[1] * grid->spacing[2] / 1000.0;
}

static gboolean
checked_bytes (const NsGrid *grid, gsize elem, gsize *out, GError **error)
{
  gsize n = 1;
  for (int d = 0; d < 3; d++)
    {
      if (grid->dim[d] <= 0)
        {
          g_set_error (error, NS_DATA_ERROR, NS_DATA_ERROR_INVALID,
                       "dimension %d is %d; it must be positive", d + 1, grid->dim[d]);
          return FALSE;
        }
      if (n > G_MAXSIZE / (gsize) grid->dim[d])
        goto overflow;
      n *= (gsize) grid->dim[d];
    }
  if (n > G_MAXSIZE / elem)
    goto overflow;
  *out = n * elem;
  return TRUE;

overflow:
  g_set_error (error, NS_DATA_ERROR, NS_DATA_ERROR_TOO_LARGE,
               "%d x %d x %d voxels overflow the address space",
               grid->dim[0], grid->dim[1], grid->dim[2]);
  return FALSE;
}

NsVolume *
ns_volume_new (const NsGrid *grid, GError **error)
{
  gsize bytes;

  g_return_val_if_fail (grid != NULL, NULL);
  if (!checked_bytes (grid, sizeof (float), &bytes, error))
    return NULL;

  float *voxels = ns_memory_alloc_large (bytes, TRUE);
  if (voxels == NULL)
    {
      g_set_error (error, NS_DATA_ERROR, NS_DATA_ERROR_TOO_LARGE,
                   "cannot allocate %" G_GSIZE_FORMAT " MB for %d x %d x %d voxels",
                   bytes >> 20, grid->dim[0], grid->dim[1], grid->dim[2]);
      return NULL;
    }

  return ns_volume_new_take (grid, voxels);
}

NsVolume *
ns_volume_new_take (const NsGrid *grid, float *voxels)
{
  g_return_val_if_fail (grid != NULL && voxels != NULL, NULL);

  return ns_volume_new_take_storage (grid, NS_VOLUME_STORAGE_FLOAT32, voxels);
}

NsVolume *
ns_volume_new_take_storage (const NsGrid *grid, NsVolumeStorage storage, gpointer data)
{
  g_return_val_if_fail (grid != NULL && data != NULL, NULL);

  NsVolume *volume = g_new0 (NsVolume, 1);
  volume->grid = *grid;
  volume->storage = storage;
  volume->data = data;
  if (storage == NS_VOLUME_STORAGE_FLOAT32)
    volume->voxels = data;
  /* NIfTI's codes: DT_FLOAT32, DT_INT16, DT_UINT8 (a reader sets the file's own). */
  volume->datatype = storage == NS_VOLUME_STORAGE_INT16 ? 4
                     : storage == NS_VOLUME_STORAGE_UINT8 ? 2 : 16;
  g_atomic_ref_count_init (&volume->ref_count);
  return volume;
}

gsize
ns_volume_storage_size (NsVolumeStorage storage)
{
  switch (storage)
    {
    case NS_VOLUME_STORAGE_INT16:
      return sizeof (gint16);
    case NS_VOLUME_STORAGE_UINT8:
      return sizeof (guint8);
    case NS_VOLUME_STORAGE_FLOAT32:
    default:
      return sizeof (float);
    }
}

void
ns_volume_read_floats (const NsVolume *volume, gsize start, gsize n, float *out)
{
  g_return_if_fail (volume != NULL && out != NULL);
  g_return_if_fail (start <= ns_volume_n_voxels (volume)
                    && n <= ns_volume_n_voxels (volume) - start);

  switch (volume->storage)
    {
    case NS_VOLUME_STORAGE_INT16:
      {
        const gint16 *s = (const gint16 *) volume->data + start;
        for (gsize i = 0; i < n; i++)
          out[i] = (float) s[i];
      }
      break;
    case NS_VOLUME_STORAGE_UINT8:
      {
        const guint8 *s = (const guint8 *) volume->data + start;
        for (gsize i = 0; i < n; i++)
          out[i] = (float) s[i];
      }
      break;
    case NS_VOLUME_STORAGE_FLOAT32:
    default:
      memcpy (out, volume->voxels + start, n * sizeof (float));
      break;
    }
}

NsVolume *
ns_volume_dup_float (const NsVolume *volume, GError **error)
{
  g_return_val_if_fail (volume != NULL, NULL);

  NsVolume *copy = ns_volume_new (&volume->grid, error);
  if (copy == NULL)
    return NULL;
  ns_volume_read_floats (volume, 0, ns_volume_n_voxels (volume), copy->voxels);
  copy->path = g_strdup (volume->path);
  copy->name = g_strdup (volume->name);
  copy->datatype = volume->datatype;
  copy->intent_code = volume->intent_code;
  copy->scl_slope = volume->scl_slope;
  copy->scl_inter = volume->scl_inter;
  copy->n_nonfinite = volume->n_nonfinite;
  return copy;
}

NsVolume *
ns_volume_ref (NsVolume *volume)
{
  g_return_val_if_fail (volume != NULL, NULL);
  g_atomic_ref_count_inc (&volume->ref_count);
  return volume;
}

void
ns_volume_unref (NsVolume *volume)
{
  if (volume == NULL)
    return;
  if (!g_atomic_ref_count_dec (&volume->ref_count))
    return;
  g_free (volume->data);
  g_free (volume->path);
  g_free (volume->name);
  g_free (volume);
}

gsize
ns_volume_n_voxels (const NsVolume *volume)
{
  return ns_grid_n_voxels (&volume->grid);
}

NsLabelMap *
ns_label_map_new (const NsGrid *grid, GError **error)
{
  gsize bytes;

  g_return_val_if_fail (grid != NULL, NULL);
  if (!checked_bytes (grid, 1, &bytes, error))
    return NULL;

  guint8 *labels = ns_memory_alloc_large (bytes, TRUE);
  if (labels == NULL)
    {
      g_set_error (error, NS_DATA_ERROR, NS_DATA_ERROR_TOO_LARGE,
                   "cannot allocate %" G_GSIZE_FORMAT " MB for a label map", bytes >> 20);
      return NULL;
    }

  NsLabelMap *map = g_new0 (NsLabelMap, 1);
  map->grid = *grid;
  map->labels = labels;
  g_atomic_ref_count_init (&map->ref_count);
  return map;
}

NsLabelMap *
ns_label_map_ref (NsLabelMap *map)
{
  g_return_val_if_fail (map != NULL, NULL);
  g_atomic_ref_count_inc (&map->ref_count);
  return map;
}

void
ns_label_map_unref (NsLabelMap *map)
{
  if (map == NULL)
    return;
  if (!g_atomic_ref_count_dec (&map->ref_count))
    return;
  g_free (map->labels);
  g_free (map->path);
  g_free (map);
}

NsLabelMap *
ns_label_map_dup (const NsLabelMap *map, GError **error)
{
  NsLabelMap *copy = ns_label_map_new (&map->grid, error);
  if (copy == NULL)
    return NULL;
  memcpy (copy->labels, map->labels, ns_grid_n_voxels (&map->grid));
  copy->path = g_strdup (map->path);
  return copy;
}
