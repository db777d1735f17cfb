/* SPDX-License-Identifier: MIT
 *
 * ns-slice.c: a plane of a float volume onto a cairo image surface, through a window/level
 * LUT, plus the scalar heat overlay and the crosshair.
 *
 * Speed: the display geometry is separable (screen x depends on one voxel axis, screen y
 * on another), so we precompute per column and per row the memory offsets (and, for
 * linear interpolation, the weights) once per call; the inner loop is then lookups, one
 * multiply-add per tap, the LUT and a direct 32-bit store into the surface's data.
 */
#define G_LOG_DOMAIN "neuroseg-render"

#include "ns-render.h"
#include "ns-render-private.h"

#include <stdlib.h>
#include <string.h>

void
_ns_grid_strides (const int dim[3], gssize strides[3])
{
  strides[0] = 1;
  strides[1] = dim[0];
  strides[2] = (gssize) dim[0] * dim[1];
}

void
_ns_axis_table_init (NsAxisTable *table, int n, double origin, double step, int dim,
                     gssize stride, NsInterp interp)
{
  table->n = n;
  table->off0 = g_new (gssize, n);
  table->off1 = NULL;
  table->w = NULL;

  if (interp == NS_INTERP_NEAREST)
    {
      for (int u = 0; u < n; u++)
        {
          double idx = _ns_nearest_index (step, dim, u + 0.5);
          table->off0[u] = (gssize) CLAMP (idx, 0, dim - 1) * stride;
        }
      return;
    }

  table->off1 = g_new (gssize, n);
  table->w = g_new (float, n);
  for (int u = 0; u < n; u++)
    {
      /* As in _ns_nearest_index (): from the distance to the image edge, mirrored for a
       * falling axis, so flipped storage gives the same taps. */
      double t = (u + 0.5) * fabs (step);
      double c = step > 0 ? t - 0.5 : (dim - 0.5) - t;
      double lo;
      int i0, i1;

      /* Beyond the outermost voxel centres the edge value is repeated. */
      c = CLAMP (c, 0.0, (double) (dim - 1));
      lo = floor (c);
      i0 = (int) lo;
      i1 = MIN (i0 + 1, dim - 1);
      table->off0[u] = (gssize) i0 * stride;
      table->off1[u] = (gssize) i1 * stride;
      table->w[u] = (float) (c - lo);
    }
}

void
_ns_axis_table_clear (NsAxisTable *table)
{
  g_clear_pointer (&table->off0, g_free);
  g_clear_pointer (&table->off1, g_free);
  g_clear_pointer (&table->w, g_free);
}

gboolean
_ns_check_grid (const NsPlaneGeometry *geom, const NsGrid *grid, const char *path,
                GError **error)
{
  if (grid->dim[0] == geom->dim[0] && grid->dim[1] == geom->dim[1]
      && grid->dim[2] == geom->dim[2])
    return TRUE;
  g_set_error (error, NS_RENDER_ERROR, NS_RENDER_ERROR_GRID_MISMATCH,
               "%s: grid %d x %d x %d does not match the displayed grid %d x %d x %d",
               path != NULL ? path : "(volume)", grid->dim[0], grid->dim[1], grid->dim[2],
               geom->dim[0], geom->dim[1], geom->dim[2]);
  return FALSE;
}

gboolean
_ns_surface_begin (cairo_surface_t *surface, int x0, int y0, int width, int height,
                   guint32 **origin, int *stride_words, GError **error)
{
  cairo_format_t format;
  int sw, sh, stride;
  unsigned char *data;

  if (surface == NULL || cairo_surface_status (surface) != CAIRO_STATUS_SUCCESS
      || cairo_surface_get_type (surface) != CAIRO_SURFACE_TYPE_IMAGE)
    {
      g_set_error (error, NS_RENDER_ERROR, NS_RENDER_ERROR_SURFACE,
                   "render target is not a valid cairo image surface");
      return FALSE;
    }
  format = cairo_image_surface_get_format (surface);
  if (format != CAIRO_FORMAT_ARGB32 && format != CAIRO_FORMAT_RGB24)
    {
      g_set_error (error, NS_RENDER_ERROR, NS_RENDER_ERROR_SURFACE,
                   "render target has format %d, not ARGB32 or RGB24", (int) format);
      return FALSE;
    }
  sw = cairo_image_surface_get_width (surface);
  sh = cairo_image_surface_get_height (surface);
  if (x0 < 0 || y0 < 0 || width > sw - x0 || height > sh - y0)
    {
      g_set_error (error, NS_RENDER_ERROR, NS_RENDER_ERROR_SURFACE,
                   "a %d x %d plane at (%d, %d) does not fit a %d x %d surface", width,
                   height, x0, y0, sw, sh);
      return FALSE;
    }
  cairo_surface_flush (surface);
  data = cairo_image_surface_get_data (surface);
  stride = cairo_image_surface_get_stride (surface);
  if (data == NULL)
    {
      g_set_error (error, NS_RENDER_ERROR, NS_RENDER_ERROR_SURFACE,
                   "render target has no pixel data");
      return FALSE;
    }
  g_assert (stride % 4 == 0);
  *stride_words = stride / 4;
  *origin = (guint32 *) (data + (gsize) y0 * stride) + x0;
  return TRUE;
}

void
_ns_surface_end (cairo_surface_t *surface, int x0, int y0, int width, int height)
{
  cairo_surface_mark_dirty_rectangle (surface, x0, y0, width, height);
}

cairo_surface_t *
ns_render_surface_new (const NsPlaneGeometry *geom)
{
  g_return_val_if_fail (geom != NULL, NULL);
  return cairo_image_surface_create (CAIRO_FORMAT_RGB24, geom->width, geom->height);
}

/* The base offset of the slice and the row/column tables for geom on a grid with dims. */
typedef struct
{
  gssize base;
  NsAxisTable cols;
  NsAxisTable rows;
} SliceTables;

static void
slice_tables_init (SliceTables *t, const NsPlaneGeometry *geom, NsInterp interp)
{
  gssize strides[3];

  _ns_grid_strides (geom->dim, strides);
  t->base = (gssize) geom->slice * strides[geom->axis_n];
  _ns_axis_table_init (&t->cols, geom->width, geom->origin_u, geom->step_u,
                       geom->dim[geom->axis_u], strides[geom->axis_u], interp);
  _ns_axis_table_init (&t->rows, geom->height, geom->origin_v, geom->step_v,
                       geom->dim[geom->axis_v], strides[geom->axis_v], interp);
}

static void
slice_tables_clear (SliceTables *t)
{
  _ns_axis_table_clear (&t->cols);
  _ns_axis_table_clear (&t->rows);
}

/* Calls body with `value` set to the sampled intensity of pixel (u, v) and `dst` pointing
 * at its 32-bit word.  A macro rather than a callback so that the compiler inlines the
 * body in the two loops (nearest, linear) that every caller needs. */
#define FOR_EACH_SAMPLE(t, geom, ctype, voxels, out, stride_words, interp, body)          \
  G_STMT_START                                                                             \
  {                                                                                        \
    const int w_ = (geom)->width;                                                          \
    if ((interp) == NS_INTERP_NEAREST)                                                     \
      {                                                                                    \
        for (int v = 0; v < (geom)->height; v++)                                           \
          {                                                                                \
            const ctype *row_ = (const ctype *) (voxels) + (t)->base + (t)->rows.off0[v];  \
            const gssize *cols_ = (t)->cols.off0;                                          \
            guint32 *dst = (out) + (gsize) v * (stride_words);                             \
            for (int u = 0; u < w_; u++, dst++)                                            \
              {                                                                            \
                const float value = (float) row_[cols_[u]];                                \
                body;                                                                      \
              }                                                                            \
          }                                                                                \
      }                                                                                    \
    else                                                                                   \
      {                                                                                    \
        for (int v = 0; v < (geom)->height; v++)                                           \
          {                                                                                \
            const ctype *r0_ = (const ctype *) (voxels) + (t)->base + (t)->rows.off0[v];   \
            const ctype *r1_ = (const ctype *) (voxels) + (t)->base + (t)->rows.off1[v];   \
            const float wv_ = (t)->rows.w[v];                                              \
            const gssize *c0_ = (t)->cols.off0;                                            \
            const gssize *c1_ = (t)->cols.off1;                                            \
            const float *wu_ = (t)->cols.w;                                                \
            guint32 *dst = (out) + (gsize) v * (stride_words);                             \
            for (int u = 0; u < w_; u++, dst++)                                            \
              {                                                                            \
                const float p00_ = (float) r0_[c0_[u]], p01_ = (float) r0_[c1_[u]];        \
                const float p10_ = (float) r1_[c0_[u]], p11_ = (float) r1_[c1_[u]];        \
                const float a_ = p00_ + wu_[u] * (p01_ - p00_);                            \
                const float b_ = p10_ + wu_[u] * (p11_ - p10_);                            \
                const float value = a_ + wv_ * (b_ - a_);                                  \
                body;                                                                      \
              }                                                                            \
          }                                                                                \
      }                                                                                    \
  }                                                                                        \
  G_STMT_END

gboolean
ns_render_image (cairo_surface_t *surface, int x0, int y0, const NsPlaneGeometry *geom,
                 const NsVolume *volume, const NsLut *lut, NsInterp interp, GError **error)
{
  SliceTables t;
  guint32 *out;
  int stride_words;
  gconstpointer voxels;
  const double lo = lut->lo, scale = lut->scale;
  const guint32 *argb = lut->argb;

  g_return_val_if_fail (geom != NULL && volume != NULL && lut != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  if (!_ns_check_grid (geom, &volume->grid, volume->path, error))
    return FALSE;
  if (!_ns_surface_begin (surface, x0, y0, geom->width, geom->height, &out, &stride_words,
                          error))
    return FALSE;

  voxels = volume->data;
  slice_tables_init (&t, geom, interp);
  /* ns_lut_index () spelled out with the LUT's fields in registers; one loop per storage
   * type (ns-volume.h), each value widened to float as float32 storage would hold it, so
   * that every storage draws the same pixels. */
#define IMAGE_SAMPLES(ctype)                                                   \
  FOR_EACH_SAMPLE (&t, geom, ctype, voxels, out, stride_words, interp, {       \
    double x = ((double) value - lo) * scale;                                  \
    int idx = !(x > 0.0) ? 0 : x >= 255.0 ? 255 : (int) x;                     \
    *dst = argb[idx];                                                          \
  })
  switch (volume->storage)
    {
    case NS_VOLUME_STORAGE_INT16:
      IMAGE_SAMPLES (gint16);
      break;
    case NS_VOLUME_STORAGE_UINT8:
      IMAGE_SAMPLES (guint8);
      break;
    case NS_VOLUME_STORAGE_FLOAT32:
    default:
      IMAGE_SAMPLES (float);
      break;
    }
#undef IMAGE_SAMPLES
  slice_tables_clear (&t);

  _ns_surface_end (surface, x0, y0, geom->width, geom->height);
  return TRUE;
}

gboolean
ns_render_heat (cairo_surface_t *surface, int x0, int y0, const NsPlaneGeometry *geom,
                const NsVolume *values, const NsLut *lut, double threshold, double opacity,
                NsInterp interp, GError **error)
{
  SliceTables t;
  guint32 *out;
  int stride_words;
  gconstpointer voxels;
  const guint32 a = _ns_coverage (opacity);

  g_return_val_if_fail (geom != NULL && values != NULL && lut != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  if (!_ns_check_grid (geom, &values->grid, values->path, error))
    return FALSE;
  if (!_ns_surface_begin (surface, x0, y0, geom->width, geom->height, &out, &stride_words,
                          error))
    return FALSE;

  if (a > 0)
    {
      const float thr = (float) threshold;
      voxels = values->data;
      slice_tables_init (&t, geom, interp);
#define HEAT_SAMPLES(ctype)                                                    \
  FOR_EACH_SAMPLE (&t, geom, ctype, voxels, out, stride_words, interp, {       \
    if (value >= thr)                                                          \
      *dst = _ns_blend (*dst, ns_lut_argb (lut, value), a);                    \
  })
      switch (values->storage)
        {
        case NS_VOLUME_STORAGE_INT16:
          HEAT_SAMPLES (gint16);
          break;
        case NS_VOLUME_STORAGE_UINT8:
          HEAT_SAMPLES (guint8);
          break;
        case NS_VOLUME_STORAGE_FLOAT32:
        default:
          HEAT_SAMPLES (float);
          break;
        }
#undef HEAT_SAMPLES
      slice_tables_clear (&t);
    }

  _ns_surface_end (surface, x0, y0, geom->width, geom->height);
  return TRUE;
}

gboolean
ns_render_image_overlay (cairo_surface_t *surface, int x0, int y0, const NsPlaneGeometry *geom,
                         const NsVolume *volume, const NsLut *lut, double opacity,
                         NsInterp interp, GError **error)
{
  g_return_val_if_fail (lut != NULL, FALSE);

  /* the heat map's blend with the window's bottom as its threshold: one blending rule */
  return ns_render_heat (surface, x0, y0, geom, volume, lut, lut->lo, opacity, interp, error);
}

void
ns_render_crosshair (cairo_surface_t *surface, int x0, int y0, const NsPlaneGeometry *geom,
                     const double cursor_voxel[3], guint32 rgb, double alpha, int gap)
{
  guint32 *out;
  int stride_words;
  double sx, sy;
  int cx, cy;
  const guint32 a = _ns_coverage (alpha);
  const guint32 src = 0xff000000u | (rgb & 0xffffffu);

  g_return_if_fail (geom != NULL && cursor_voxel != NULL);
  if (!_ns_surface_begin (surface, x0, y0, geom->width, geom->height, &out, &stride_words,
                          NULL))
    {
      g_critical ("ns_render_crosshair: the plane does not fit the surface");
      return;
    }

  ns_plane_geometry_screen_pos (geom, cursor_voxel, &sx, &sy);
  /* The pixel whose footprint holds the cursor point. */
  cx = isfinite (sx) ? (int) CLAMP (floor (sx), -1.0, (double) geom->width) : -1;
  cy = isfinite (sy) ? (int) CLAMP (floor (sy), -1.0, (double) geom->height) : -1;
  gap = MAX (gap, 0);

  if (a > 0)
    {
      if (cy >= 0 && cy < geom->height)
        for (int u = 0; u < geom->width; u++)
          if (gap == 0 || abs (u - cx) > gap)
            out[(gsize) cy * stride_words + u]
                = _ns_blend (out[(gsize) cy * stride_words + u], src, a);
      if (cx >= 0 && cx < geom->width)
        for (int v = 0; v < geom->height; v++)
          if (v != cy && (gap == 0 || abs (v - cy) > gap))
            out[(gsize) v * stride_words + cx]
                = _ns_blend (out[(gsize) v * stride_words + cx], src, a);
    }

  _ns_surface_end (surface, x0, y0, geom->width, geom->height);
}
