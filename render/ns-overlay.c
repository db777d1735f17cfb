/* SPDX-License-Identifier: MIT
 *
 * ns-overlay.c: label maps blended over a rendered plane: per-label colour and
 * visibility, one global opacity, fill and/or a one-pixel outline.
 *
 * Labels are sampled nearest-neighbour into a byte buffer of the plane first; the
 * outline is then found on that buffer (a pixel whose 4-neighbour in the image has
 * another label, or lies outside the image), so it is one screen pixel thick whatever the
 * voxel size, and the contour of a region clipped by the image border stays closed.
 */
#define G_LOG_DOMAIN "neuroseg-render"

#include "ns-render.h"
#include "ns-render-private.h"
#include "ns-labels.h"

#include <string.h>

void
ns_overlay_style_init (NsOverlayStyle *style)
{
  /* Labels beyond the BraTS ones (atlases, other schemes): a fixed, distinguishable
   * palette rather than random colours, so renders are reproducible. */
  static const guint32 palette[12] = {
    0xff7f00, 0x00ffff, 0xff00ff, 0x7f00ff, 0x007fff, 0x7fff00,
    0xff007f, 0x00ff7f, 0xbf7f3f, 0x3fbf7f, 0x7f3fbf, 0xbfbfbf,
  };
  const NsLabelClass *classes;
  guint n_classes;

  g_return_if_fail (style != NULL);
  memset (style, 0, sizeof *style);
  for (int i = 0; i < 256; i++)
    {
      style->rgb[i] = palette[i % G_N_ELEMENTS (palette)];
      style->visible[i] = i != 0;
    }
  style->rgb[0] = 0x000000;
  /* The BraTS classes in data/'s colours (red core, green edema, blue BraTS 2015
   * non-enhancing, yellow enhancing): the 2015 scheme holds every value of both. */
  classes = ns_label_scheme_classes (NS_LABEL_SCHEME_BRATS2015, &n_classes);
  for (guint c = 0; c < n_classes; c++)
    style->rgb[classes[c].value] = ((guint32) classes[c].rgba[0] << 16)
                                   | ((guint32) classes[c].rgba[1] << 8) | classes[c].rgba[2];
  style->opacity = 0.5;
  style->mode = NS_OVERLAY_FILL;
  style->fill_fraction = 0.5;
}

gboolean
ns_render_labels (cairo_surface_t *surface, int x0, int y0, const NsPlaneGeometry *geom,
                  const NsLabelMap *labels, const NsOverlayStyle *style, GError **error)
{
  guint32 *out;
  int stride_words;
  gssize strides[3], base;
  NsAxisTable cols, rows;
  g_autofree guint8 *plane = NULL;
  guint32 src[256], cov_inside[256], cov_edge[256];
  gboolean any = FALSE, need_edges;
  const int w = geom->width, h = geom->height;
  guint32 opacity_cov, inside_cov;

  g_return_val_if_fail (geom != NULL && labels != NULL && style != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  if (!_ns_check_grid (geom, &labels->grid, labels->path, error))
    return FALSE;
  if (!_ns_surface_begin (surface, x0, y0, w, h, &out, &stride_words, error))
    return FALSE;

  opacity_cov = _ns_coverage (style->opacity);
  switch (style->mode)
    {
    case NS_OVERLAY_OUTLINE:
      inside_cov = 0;
      need_edges = TRUE;
      break;
    case NS_OVERLAY_FILL_AND_OUTLINE:
      inside_cov = _ns_coverage (style->opacity * CLAMP (style->fill_fraction, 0.0, 1.0));
      need_edges = TRUE;
      break;
    case NS_OVERLAY_FILL:
    default:
      inside_cov = opacity_cov;
      need_edges = FALSE;
      break;
    }
  for (int l = 0; l < 256; l++)
    {
      gboolean drawn = l != 0 && style->visible[l] && opacity_cov > 0;
      src[l] = 0xff000000u | (style->rgb[l] & 0xffffffu);
      cov_inside[l] = drawn ? inside_cov : 0;
      cov_edge[l] = drawn ? opacity_cov : 0;
      any |= drawn;
    }
  if (!any)
    goto done;

  /* Sample the plane's labels. */
  _ns_grid_strides (geom->dim, strides);
  base = (gssize) geom->slice * strides[geom->axis_n];
  _ns_axis_table_init (&cols, w, geom->origin_u, geom->step_u, geom->dim[geom->axis_u],
                       strides[geom->axis_u], NS_INTERP_NEAREST);
  _ns_axis_table_init (&rows, h, geom->origin_v, geom->step_v, geom->dim[geom->axis_v],
                       strides[geom->axis_v], NS_INTERP_NEAREST);
  plane = g_malloc ((gsize) w * h);
  for (int v = 0; v < h; v++)
    {
      const guint8 *row = labels->labels + base + rows.off0[v];
      guint8 *p = plane + (gsize) v * w;
      for (int u = 0; u < w; u++)
        p[u] = row[cols.off0[u]];
    }
  _ns_axis_table_clear (&cols);
  _ns_axis_table_clear (&rows);

  for (int v = 0; v < h; v++)
    {
      const guint8 *p = plane + (gsize) v * w;
      guint32 *dst = out + (gsize) v * stride_words;
      for (int u = 0; u < w; u++)
        {
          const guint8 l = p[u];
          guint32 a;
          if (l == 0 || cov_edge[l] == 0)
            continue;
          a = cov_inside[l];
          if (need_edges
              && (u == 0 || p[u - 1] != l || u == w - 1 || p[u + 1] != l
                  || v == 0 || p[u - w] != l || v == h - 1 || p[u + w] != l))
            a = cov_edge[l];
          if (a != 0)
            dst[u] = _ns_blend (dst[u], src[l], a);
        }
    }

done:
  _ns_surface_end (surface, x0, y0, w, h);
  return TRUE;
}
