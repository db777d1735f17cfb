/* SPDX-License-Identifier: MIT
 *
 * ns-render-test-synth.h: synthetic volumes for the render tests (header only, included
 * by the test-render-*.c programs): grids of a given orientation code, a phantom whose
 * value is a function of the RAS position (so the same anatomy can be stored in any voxel
 * order), and reorientation of a volume or label map by permuting and flipping its voxel
 * axes while adjusting vox2ras, so that it still describes the same anatomy.
 */
#pragma once

#include "ns-render.h"
#include "ns-volume.h"

#include <cairo.h>
#include <glib.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* A grid whose voxel axes point as code says (e.g. "LPS": i toward L, j toward P, k
 * toward S), with the given spacing; the RAS origin is at the grid's centre. */
static inline void
synth_grid (NsGrid *grid, const char *code, int nx, int ny, int nz, double sx, double sy,
            double sz)
{
  ns_grid_init (grid, nx, ny, nz, sx, sy, sz);
  memset (grid->vox2ras, 0, sizeof grid->vox2ras);
  for (int c = 0; c < 3; c++)
    {
      int r = strchr ("RLrl", code[c]) ? 0 : strchr ("APap", code[c]) ? 1 : 2;
      int sign = strchr ("RAS", code[c]) ? 1 : -1;
      grid->vox2ras[r][c] = sign * grid->spacing[c];
    }
  grid->vox2ras[3][3] = 1.0;
  for (int r = 0; r < 3; r++)
    {
      double centre = 0.0;
      for (int c = 0; c < 3; c++)
        centre += grid->vox2ras[r][c] * (grid->dim[c] - 1) / 2.0;
      grid->vox2ras[r][3] = -centre;
    }
  grid->sform_code = 1;
  memcpy (grid->sform, grid->vox2ras, sizeof grid->sform);
}

/* An asymmetric function of the RAS position: different ramps along R, A and S plus a
 * checker pattern, so that any flip or swap of axes changes the picture. */
static inline float
synth_phantom_value (const double ras[3])
{
  double checker = (((int) floor (ras[0] / 4.0) + (int) floor (ras[1] / 5.0)
                     + (int) floor (ras[2] / 6.0)) & 1) ? 60.0 : 0.0;
  return (float) (400.0 + 9.0 * ras[0] - 5.0 * ras[1] + 3.0 * ras[2] + checker);
}

static inline NsVolume *
synth_phantom (const NsGrid *grid)
{
  NsVolume *volume = ns_volume_new (grid, NULL);
  for (int k = 0; k < grid->dim[2]; k++)
    for (int j = 0; j < grid->dim[1]; j++)
      for (int i = 0; i < grid->dim[0]; i++)
        {
          double voxel[3] = { i, j, k }, ras[3];
          ns_geometry_voxel_to_ras (grid, voxel, ras);
          volume->voxels[ns_grid_index (grid, i, j, k)] = synth_phantom_value (ras);
        }
  return volume;
}

/* Labels by RAS position: 1 in a box right-anterior, 2 a shell around it, 4 a small box
 * left-posterior-superior; 0 elsewhere. */
static inline NsLabelMap *
synth_labels (const NsGrid *grid)
{
  NsLabelMap *map = ns_label_map_new (grid, NULL);
  for (int k = 0; k < grid->dim[2]; k++)
    for (int j = 0; j < grid->dim[1]; j++)
      for (int i = 0; i < grid->dim[0]; i++)
        {
          double voxel[3] = { i, j, k }, ras[3];
          guint8 l = 0;
          ns_geometry_voxel_to_ras (grid, voxel, ras);
          if (fabs (ras[0] - 5.0) < 4.0 && fabs (ras[1] - 4.0) < 5.0 && fabs (ras[2]) < 4.0)
            l = 1;
          else if (fabs (ras[0] - 5.0) < 7.0 && fabs (ras[1] - 4.0) < 8.0 && fabs (ras[2]) < 7.0)
            l = 2;
          else if (fabs (ras[0] + 6.0) < 3.0 && fabs (ras[1] + 5.0) < 3.0
                   && fabs (ras[2] - 3.0) < 3.0)
            l = 4;
          map->labels[ns_grid_index (grid, i, j, k)] = l;
        }
  return map;
}

/* The grid of a reorientation: new voxel axis a is old axis perm[a], reversed when
 * flip[a].  Fills old_of_new (old index = T * new + t) for the copy loops. */
static inline void
synth_reorient_grid (const NsGrid *in, const int perm[3], const gboolean flip[3], NsGrid *out,
                     int T[3][3], int t[3])
{
  memset (T, 0, sizeof (int[3][3]));
  for (int a = 0; a < 3; a++)
    {
      T[perm[a]][a] = flip[a] ? -1 : 1;
      t[perm[a]] = flip[a] ? in->dim[perm[a]] - 1 : 0;
    }
  ns_grid_init (out, in->dim[perm[0]], in->dim[perm[1]], in->dim[perm[2]],
                in->spacing[perm[0]], in->spacing[perm[1]], in->spacing[perm[2]]);
  memset (out->vox2ras, 0, sizeof out->vox2ras);
  for (int r = 0; r < 3; r++)
    {
      for (int a = 0; a < 3; a++)
        for (int o = 0; o < 3; o++)
          out->vox2ras[r][a] += in->vox2ras[r][o] * T[o][a];
      out->vox2ras[r][3] = in->vox2ras[r][3];
      for (int o = 0; o < 3; o++)
        out->vox2ras[r][3] += in->vox2ras[r][o] * t[o];
    }
  out->vox2ras[3][3] = 1.0;
  out->sform_code = 1;
  memcpy (out->sform, out->vox2ras, sizeof out->sform);
}

static inline gsize
synth_old_index (const NsGrid *in, int T[3][3], const int t[3], int i, int j, int k)
{
  int n[3] = { i, j, k }, o[3];
  for (int r = 0; r < 3; r++)
    o[r] = T[r][0] * n[0] + T[r][1] * n[1] + T[r][2] * n[2] + t[r];
  return ns_grid_index (in, o[0], o[1], o[2]);
}

static inline NsVolume *
synth_reorient_volume (const NsVolume *in, const int perm[3], const gboolean flip[3])
{
  NsGrid grid;
  int T[3][3], t[3];
  NsVolume *out;

  synth_reorient_grid (&in->grid, perm, flip, &grid, T, t);
  out = ns_volume_new (&grid, NULL);
  for (int k = 0; k < grid.dim[2]; k++)
    for (int j = 0; j < grid.dim[1]; j++)
      for (int i = 0; i < grid.dim[0]; i++)
        out->voxels[ns_grid_index (&grid, i, j, k)]
            = ns_volume_get_value (in, synth_old_index (&in->grid, T, t, i, j, k));
  return out;
}

static inline NsLabelMap *
synth_reorient_labels (const NsLabelMap *in, const int perm[3], const gboolean flip[3])
{
  NsGrid grid;
  int T[3][3], t[3];
  NsLabelMap *out;

  synth_reorient_grid (&in->grid, perm, flip, &grid, T, t);
  out = ns_label_map_new (&grid, NULL);
  for (int k = 0; k < grid.dim[2]; k++)
    for (int j = 0; j < grid.dim[1]; j++)
      for (int i = 0; i < grid.dim[0]; i++)
        out->labels[ns_grid_index (&grid, i, j, k)]
            = in->labels[synth_old_index (&in->grid, T, t, i, j, k)];
  return out;
}

/* Largest per-channel difference and mean absolute channel difference of two surfaces
 * of the same size (alpha ignored).  FALSE when the sizes differ. */
static inline gboolean
synth_compare_surfaces (cairo_surface_t *a, cairo_surface_t *b, int *max_diff,
                        double *mean_diff)
{
  int w = cairo_image_surface_get_width (a), h = cairo_image_surface_get_height (a);
  double sum = 0.0;

  *max_diff = 0;
  *mean_diff = 0.0;
  if (w != cairo_image_surface_get_width (b) || h != cairo_image_surface_get_height (b))
    return FALSE;
  cairo_surface_flush (a);
  cairo_surface_flush (b);
  for (int y = 0; y < h; y++)
    {
      const guint32 *pa = (const guint32 *) (cairo_image_surface_get_data (a)
                                             + (gsize) y * cairo_image_surface_get_stride (a));
      const guint32 *pb = (const guint32 *) (cairo_image_surface_get_data (b)
                                             + (gsize) y * cairo_image_surface_get_stride (b));
      for (int x = 0; x < w; x++)
        for (int s = 0; s < 24; s += 8)
          {
            int d = abs ((int) ((pa[x] >> s) & 0xff) - (int) ((pb[x] >> s) & 0xff));
            *max_diff = MAX (*max_diff, d);
            sum += d;
          }
    }
  *mean_diff = sum / (3.0 * MAX (w * h, 1));
  return TRUE;
}

static inline guint32
synth_pixel (cairo_surface_t *s, int x, int y)
{
  cairo_surface_flush (s);
  return ((const guint32 *) (cairo_image_surface_get_data (s)
                             + (gsize) y * cairo_image_surface_get_stride (s)))[x]
         & 0xffffffu;
}
