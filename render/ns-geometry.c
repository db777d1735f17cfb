/* SPDX-License-Identifier: MIT
 *
 * ns-geometry.c: display orientation.  From the voxel-to-RAS matrix we find which voxel
 * axis follows each RAS axis (NsAxisMap), then for a plane which voxel axes run along
 * screen x and y and in which direction (NsPlaneGeometry).  Everything after that is a
 * per-axis affine map, so rendering needs no matrix multiply per pixel, and clicks map
 * back to voxels exactly.  Oblique matrices are shown along their nearest axes, without
 * reslicing (documented in ns-render.h).
 */
#define G_LOG_DOMAIN "neuroseg-render"

#include "ns-render.h"
#include "ns-render-private.h"

#include <math.h>
#include <string.h>

G_DEFINE_QUARK (ns-render-error-quark, ns_render_error)

static const char *const plane_names[NS_N_PLANES] = { "axial", "sagittal", "coronal" };

const char *
ns_plane_to_string (NsPlane plane)
{
  g_return_val_if_fail (plane >= 0 && plane < NS_N_PLANES, NULL);
  return plane_names[plane];
}

gboolean
ns_plane_from_string (const char *name, NsPlane *plane)
{
  g_return_val_if_fail (name != NULL, FALSE);
  for (int p = 0; p < NS_N_PLANES; p++)
    if (g_ascii_strcasecmp (name, plane_names[p]) == 0)
      {
        if (plane != NULL)
          *plane = (NsPlane) p;
        return TRUE;
      }
  return FALSE;
}

void
ns_axis_map_init (NsAxisMap *map, const NsGrid *grid)
{
  /* The six assignments of voxel axes to RAS axes; the one with the largest sum of
   * |direction cosines| wins.  A greedy per-column choice can pick the same RAS axis
   * twice for strongly oblique matrices; this cannot. */
  static const int perms[6][3] = {
    { 0, 1, 2 }, { 0, 2, 1 }, { 1, 0, 2 }, { 1, 2, 0 }, { 2, 0, 1 }, { 2, 1, 0 },
  };
  double cosines[3][3]; /* [ras][voxel] */
  double best_score = -1.0;
  int best = 0;

  g_return_if_fail (map != NULL && grid != NULL);

  for (int c = 0; c < 3; c++)
    {
      double norm = 0.0;
      for (int r = 0; r < 3; r++)
        norm += grid->vox2ras[r][c] * grid->vox2ras[r][c];
      norm = sqrt (norm);
      for (int r = 0; r < 3; r++)
        cosines[r][c] = norm > 0.0 ? grid->vox2ras[r][c] / norm : 0.0;
    }

  for (int p = 0; p < 6; p++)
    {
      double score = 0.0;
      for (int r = 0; r < 3; r++)
        score += fabs (cosines[r][perms[p][r]]);
      if (score > best_score + 1e-12)
        {
          best_score = score;
          best = p;
        }
    }

  map->oblique = FALSE;
  for (int r = 0; r < 3; r++)
    {
      double cosine = cosines[r][perms[best][r]];
      map->voxel_axis[r] = perms[best][r];
      map->sign[r] = cosine >= 0.0 ? 1 : -1;
      /* cos (0.1 degree) = 0.9999985 */
      if (fabs (cosine) < 0.9999985)
        map->oblique = TRUE;
    }
}

void
ns_geometry_voxel_to_ras (const NsGrid *grid, const double voxel[3], double ras[3])
{
  g_return_if_fail (grid != NULL && voxel != NULL && ras != NULL);
  for (int r = 0; r < 3; r++)
    ras[r] = grid->vox2ras[r][0] * voxel[0] + grid->vox2ras[r][1] * voxel[1]
             + grid->vox2ras[r][2] * voxel[2] + grid->vox2ras[r][3];
}

gboolean
ns_geometry_ras_to_voxel (const NsGrid *grid, const double ras[3], double voxel[3])
{
  const double (*m)[4] = grid->vox2ras;
  double inv[3][3];
  double det, d[3];

  g_return_val_if_fail (grid != NULL && ras != NULL && voxel != NULL, FALSE);

  /* Inverse of the 3x3 linear part by cofactors (the last row of vox2ras is 0 0 0 1). */
  inv[0][0] = m[1][1] * m[2][2] - m[1][2] * m[2][1];
  inv[0][1] = m[0][2] * m[2][1] - m[0][1] * m[2][2];
  inv[0][2] = m[0][1] * m[1][2] - m[0][2] * m[1][1];
  inv[1][0] = m[1][2] * m[2][0] - m[1][0] * m[2][2];
  inv[1][1] = m[0][0] * m[2][2] - m[0][2] * m[2][0];
  inv[1][2] = m[0][2] * m[1][0] - m[0][0] * m[1][2];
  inv[2][0] = m[1][0] * m[2][1] - m[1][1] * m[2][0];
  inv[2][1] = m[0][1] * m[2][0] - m[0][0] * m[2][1];
  inv[2][2] = m[0][0] * m[1][1] - m[0][1] * m[1][0];
  det = m[0][0] * inv[0][0] + m[0][1] * inv[1][0] + m[0][2] * inv[2][0];
  if (fabs (det) < 1e-12 || !isfinite (det))
    return FALSE;

  for (int r = 0; r < 3; r++)
    d[r] = ras[r] - m[r][3];
  for (int c = 0; c < 3; c++)
    voxel[c] = (inv[c][0] * d[0] + inv[c][1] * d[1] + inv[c][2] * d[2]) / det;
  return TRUE;
}

/* For each plane: the RAS axis along screen x and the RAS direction screen x runs toward
 * in the radiological convention, the same for screen y, and the normal's RAS axis. */
static const struct
{
  int ras_x, dir_x;
  int ras_y, dir_y;
  int ras_n;
} plane_layout[NS_N_PLANES] = {
  [NS_PLANE_AXIAL] = { 0, -1, 1, -1, 2 },    /* x: R -> L, y: A -> P */
  [NS_PLANE_SAGITTAL] = { 1, -1, 2, -1, 0 }, /* x: A -> P, y: S -> I */
  [NS_PLANE_CORONAL] = { 0, -1, 2, -1, 1 },  /* x: R -> L, y: S -> I */
};

void
ns_plane_geometry_init (NsPlaneGeometry *geom, const NsGrid *grid, NsPlane plane,
                        NsConvention convention, double pixel_mm, const double cursor_voxel[3])
{
  NsAxisMap map;
  int dir_x, sign_u, sign_v;
  double extent_u, extent_v;

  g_return_if_fail (geom != NULL && grid != NULL);
  g_return_if_fail (plane >= 0 && plane < NS_N_PLANES);

  memset (geom, 0, sizeof *geom);
  ns_axis_map_init (&map, grid);
  memcpy (geom->vox2ras, grid->vox2ras, sizeof geom->vox2ras);
  geom->plane = plane;
  geom->convention = convention;
  for (int d = 0; d < 3; d++)
    {
      geom->dim[d] = MAX (grid->dim[d], 1);
      geom->spacing[d] = grid->spacing[d] > 0.0 ? grid->spacing[d] : 1.0;
    }

  dir_x = plane_layout[plane].dir_x;
  /* Left-right flips in the neurological convention; the sagittal x axis is A-P. */
  if (convention == NS_CONVENTION_NEUROLOGICAL && plane_layout[plane].ras_x == 0)
    dir_x = -dir_x;

  geom->axis_u = map.voxel_axis[plane_layout[plane].ras_x];
  geom->axis_v = map.voxel_axis[plane_layout[plane].ras_y];
  geom->axis_n = map.voxel_axis[plane_layout[plane].ras_n];
  geom->normal_sign = map.sign[plane_layout[plane].ras_n];
  sign_u = map.sign[plane_layout[plane].ras_x] * dir_x;
  sign_v = map.sign[plane_layout[plane].ras_y] * plane_layout[plane].dir_y;

  if (!(pixel_mm > 0.0) || !isfinite (pixel_mm))
    pixel_mm = MIN (geom->spacing[geom->axis_u], geom->spacing[geom->axis_v]);
  geom->pixel_mm = pixel_mm;

  extent_u = geom->dim[geom->axis_u] * geom->spacing[geom->axis_u];
  extent_v = geom->dim[geom->axis_v] * geom->spacing[geom->axis_v];
  geom->width = MAX (1, (int) ceil (extent_u / pixel_mm - 1e-6));
  geom->height = MAX (1, (int) ceil (extent_v / pixel_mm - 1e-6));

  /* Screen x = 0 is the outer edge of the first voxel shown: -0.5 when the index grows
   * to the right, dim - 0.5 when it falls. */
  geom->step_u = sign_u * pixel_mm / geom->spacing[geom->axis_u];
  geom->origin_u = sign_u > 0 ? -0.5 : geom->dim[geom->axis_u] - 0.5;
  geom->step_v = sign_v * pixel_mm / geom->spacing[geom->axis_v];
  geom->origin_v = sign_v > 0 ? -0.5 : geom->dim[geom->axis_v] - 0.5;

  if (cursor_voxel != NULL)
    ns_plane_geometry_set_cursor (geom, cursor_voxel);
  else
    geom->slice = geom->dim[geom->axis_n] / 2;
}

int
ns_plane_geometry_n_slices (const NsPlaneGeometry *geom)
{
  g_return_val_if_fail (geom != NULL, 0);
  return geom->dim[geom->axis_n];
}

void
ns_plane_geometry_set_slice (NsPlaneGeometry *geom, int slice)
{
  g_return_if_fail (geom != NULL);
  geom->slice = CLAMP (slice, 0, geom->dim[geom->axis_n] - 1);
}

void
ns_plane_geometry_set_cursor (NsPlaneGeometry *geom, const double cursor_voxel[3])
{
  double c;

  g_return_if_fail (geom != NULL && cursor_voxel != NULL);
  c = cursor_voxel[geom->axis_n];
  if (!isfinite (c))
    c = 0.0;
  c = CLAMP (c, -1.0, (double) geom->dim[geom->axis_n]);
  ns_plane_geometry_set_slice (geom, (int) floor (c + 0.5));
}

void
ns_plane_geometry_voxel_at (const NsPlaneGeometry *geom, double x, double y, double voxel[3])
{
  g_return_if_fail (geom != NULL && voxel != NULL);
  voxel[geom->axis_u] = geom->origin_u + geom->step_u * x;
  voxel[geom->axis_v] = geom->origin_v + geom->step_v * y;
  voxel[geom->axis_n] = geom->slice;
}

gboolean
ns_plane_geometry_voxel_index_at (const NsPlaneGeometry *geom, double x, double y, int ijk[3])
{
  double iu, iv;
  gboolean inside;

  g_return_val_if_fail (geom != NULL && ijk != NULL, FALSE);

  /* The same rounding as the nearest-neighbour tables of the renderer. */
  iu = _ns_nearest_index (geom->step_u, geom->dim[geom->axis_u], x);
  iv = _ns_nearest_index (geom->step_v, geom->dim[geom->axis_v], y);
  inside = isfinite (iu) && isfinite (iv)
           && iu >= 0 && iu < geom->dim[geom->axis_u]
           && iv >= 0 && iv < geom->dim[geom->axis_v];
  if (!isfinite (iu))
    iu = 0;
  if (!isfinite (iv))
    iv = 0;
  ijk[geom->axis_u] = (int) CLAMP (iu, 0, geom->dim[geom->axis_u] - 1);
  ijk[geom->axis_v] = (int) CLAMP (iv, 0, geom->dim[geom->axis_v] - 1);
  ijk[geom->axis_n] = geom->slice;
  return inside;
}

void
ns_plane_geometry_screen_pos (const NsPlaneGeometry *geom, const double voxel[3], double *x,
                              double *y)
{
  g_return_if_fail (geom != NULL && voxel != NULL);
  if (x != NULL)
    *x = (voxel[geom->axis_u] - geom->origin_u) / geom->step_u;
  if (y != NULL)
    *y = (voxel[geom->axis_v] - geom->origin_v) / geom->step_v;
}

/* A grid carrying only geom's matrix, for the voxel <-> RAS helpers. */
static void
geometry_grid (const NsPlaneGeometry *geom, NsGrid *grid)
{
  memset (grid, 0, sizeof *grid);
  memcpy (grid->vox2ras, geom->vox2ras, sizeof grid->vox2ras);
}

void
ns_plane_geometry_ras_at (const NsPlaneGeometry *geom, double x, double y, double ras[3])
{
  NsGrid grid;
  double voxel[3];

  g_return_if_fail (geom != NULL && ras != NULL);
  geometry_grid (geom, &grid);
  ns_plane_geometry_voxel_at (geom, x, y, voxel);
  ns_geometry_voxel_to_ras (&grid, voxel, ras);
}

gboolean
ns_plane_geometry_set_cursor_ras (NsPlaneGeometry *geom, const double ras[3])
{
  NsGrid grid;
  double voxel[3];

  g_return_val_if_fail (geom != NULL && ras != NULL, FALSE);
  geometry_grid (geom, &grid);
  if (!ns_geometry_ras_to_voxel (&grid, ras, voxel))
    return FALSE;
  ns_plane_geometry_set_cursor (geom, voxel);
  return TRUE;
}

gboolean
ns_plane_geometry_screen_pos_ras (const NsPlaneGeometry *geom, const double ras[3], double *x,
                                  double *y)
{
  NsGrid grid;
  double voxel[3];

  g_return_val_if_fail (geom != NULL && ras != NULL, FALSE);
  geometry_grid (geom, &grid);
  if (!ns_geometry_ras_to_voxel (&grid, ras, voxel))
    return FALSE;
  ns_plane_geometry_screen_pos (geom, voxel, x, y);
  return TRUE;
}
