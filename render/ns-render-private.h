/* SPDX-License-Identifier: MIT
 *
 * ns-render-private.h: helpers shared by the files of render/ (not installed, not for
 * ui/): the rounding rule that screen -> voxel lookups and the renderer share, the
 * per-axis sampling tables, and surface checks.
 */
#pragma once

#include "ns-render.h"

#include <math.h>

G_BEGIN_DECLS

/* Nearest voxel index along one axis of dim voxels at screen coordinate x (as a double:
 * may be out of range).  Everything that maps screen to voxel indices goes through here,
 * so a click lands on the voxel drawn under it.
 *
 * The voxel coordinate is origin + step * x with origin -0.5 (step > 0) or dim - 0.5
 * (step < 0).  We round t = x * |step| (the distance from the image edge in voxels)
 * and mirror the result for a falling axis, rather than rounding origin + step * x:
 * that way a pixel centre that falls exactly on a voxel boundary picks the voxel to
 * its right on screen whatever the voxel order, and the same anatomy stored flipped
 * renders bit-identical. */
static inline double
_ns_nearest_index (double step, int dim, double x)
{
  double s = floor (x * fabs (step));
  return step > 0 ? s : (double) (dim - 1) - s;
}

/* Per screen column (or row): memory offsets of the voxels sampled there, so the inner
 * loop is two table lookups and no arithmetic on coordinates.  Nearest: off0 only.
 * Linear: value = (1 - w) * v[off0] + w * v[off1], indices clamped to the grid. */
typedef struct
{
  int n;
  gssize *off0;
  gssize *off1;
  float *w;
} NsAxisTable;

void     _ns_axis_table_init  (NsAxisTable *table, int n, double origin, double step, int dim,
                               gssize stride, NsInterp interp);
void     _ns_axis_table_clear (NsAxisTable *table);

/* Strides (in elements) of the three voxel axes of a grid of dims dim. */
void     _ns_grid_strides     (const int dim[3], gssize strides[3]);

/* TRUE when grid's dims match geom's; otherwise sets NS_RENDER_ERROR_GRID_MISMATCH naming
 * path (may be NULL). */
gboolean _ns_check_grid       (const NsPlaneGeometry *geom, const NsGrid *grid,
                               const char *path, GError **error);

/* Checks the surface (image, ARGB32 or RGB24, the rectangle fits), flushes it and returns
 * the address of pixel (x0, y0) and the stride in 32-bit words. */
gboolean _ns_surface_begin    (cairo_surface_t *surface, int x0, int y0, int width,
                               int height, guint32 **origin, int *stride_words,
                               GError **error);
/* Marks the rectangle dirty. */
void     _ns_surface_end      (cairo_surface_t *surface, int x0, int y0, int width,
                               int height);

/* Premultiplied "over" of an opaque colour src (0xFFRRGGBB) with coverage a (0..256)
 * onto dst, per channel (alpha included, so ARGB32 stays premultiplied). */
static inline guint32
_ns_blend (guint32 dst, guint32 src, guint32 a)
{
  guint32 na = 256 - a;
  guint32 rb = ((src & 0x00ff00ffu) * a + (dst & 0x00ff00ffu) * na) >> 8;
  guint32 ag = (((src >> 8) & 0x00ff00ffu) * a + ((dst >> 8) & 0x00ff00ffu) * na) >> 8;
  return (rb & 0x00ff00ffu) | ((ag & 0x00ff00ffu) << 8);
}

/* Opacity 0..1 to coverage 0..256. */
static inline guint32
_ns_coverage (double opacity)
{
  if (!(opacity > 0.0))
    return 0;
  if (opacity >= 1.0)
    return 256;
  return (guint32) lround (opacity * 256.0);
}

G_END_DECLS
