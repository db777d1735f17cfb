/* SPDX-License-Identifier: MIT
 *
 * ns-render.c: whole renders built from the pieces (image, labels, crosshair): one plane,
 * the three-plane montage, and PNG export.  The command line, the golden-image tests and
 * the benchmark go through here; the GUI calls the pieces itself.
 */
#define G_LOG_DOMAIN "neuroseg-render"

#include "ns-render.h"
#include "ns-render-private.h"

#include <string.h>

void
ns_render_options_init (NsRenderOptions *options, const NsVolume *volume)
{
  double window = 1.0, level = 0.5;

  g_return_if_fail (options != NULL);
  memset (options, 0, sizeof *options);
  options->convention = NS_CONVENTION_RADIOLOGICAL;
  options->interp = NS_INTERP_LINEAR;
  options->pixel_mm = 0.0;
  if (volume != NULL)
    ns_window_level_auto (volume, &window, &level);
  ns_lut_init (&options->lut, window, level, NS_COLORMAP_GREY);
  ns_overlay_style_init (&options->overlay);
  options->show_labels = TRUE;
  options->show_crosshair = FALSE;
  options->crosshair_rgb = 0x00ff00;
  options->crosshair_alpha = 0.8;
}

static double
options_pixel_mm (const NsRenderOptions *options, const NsGrid *grid)
{
  if (options->pixel_mm > 0.0)
    return options->pixel_mm;
  /* One pixel size for all planes (the montage lines up), the finest spacing. */
  return MIN (MIN (grid->spacing[0], grid->spacing[1]), grid->spacing[2]);
}

static gboolean
check_inputs (const NsVolume *volume, const NsLabelMap *labels, GError **error)
{
  if (ns_volume_n_voxels (volume) == 0 || volume->data == NULL)
    {
      g_set_error (error, NS_RENDER_ERROR, NS_RENDER_ERROR_INVALID, "%s: empty volume",
                   volume->path != NULL ? volume->path : "(volume)");
      return FALSE;
    }
  if (labels != NULL && (labels->grid.dim[0] != volume->grid.dim[0]
                         || labels->grid.dim[1] != volume->grid.dim[1]
                         || labels->grid.dim[2] != volume->grid.dim[2]))
    {
      g_set_error (error, NS_RENDER_ERROR, NS_RENDER_ERROR_GRID_MISMATCH,
                   "%s: label grid %d x %d x %d does not match the image's %d x %d x %d",
                   labels->path != NULL ? labels->path : "(labels)", labels->grid.dim[0],
                   labels->grid.dim[1], labels->grid.dim[2], volume->grid.dim[0],
                   volume->grid.dim[1], volume->grid.dim[2]);
      return FALSE;
    }
  return TRUE;
}

static gboolean
draw_plane (cairo_surface_t *surface, int x0, int y0, const NsPlaneGeometry *geom,
            const NsVolume *volume, const NsLabelMap *labels, const double cursor_voxel[3],
            const NsRenderOptions *options, GError **error)
{
  if (!ns_render_image (surface, x0, y0, geom, volume, &options->lut, options->interp, error))
    return FALSE;
  if (labels != NULL && options->show_labels
      && !ns_render_labels (surface, x0, y0, geom, labels, &options->overlay, error))
    return FALSE;
  if (options->show_crosshair)
    {
      double centre[3];
      if (cursor_voxel == NULL)
        {
          for (int d = 0; d < 3; d++)
            centre[d] = volume->grid.dim[d] / 2;
          cursor_voxel = centre;
        }
      ns_render_crosshair (surface, x0, y0, geom, cursor_voxel, options->crosshair_rgb,
                           options->crosshair_alpha, 0);
    }
  return TRUE;
}

cairo_surface_t *
ns_render_plane (const NsVolume *volume, const NsLabelMap *labels, NsPlane plane,
                 const double cursor_voxel[3], const NsRenderOptions *options, GError **error)
{
  NsPlaneGeometry geom;
  cairo_surface_t *surface;

  g_return_val_if_fail (volume != NULL && options != NULL, NULL);
  g_return_val_if_fail (plane >= 0 && plane < NS_N_PLANES, NULL);

  if (!check_inputs (volume, labels, error))
    return NULL;
  ns_plane_geometry_init (&geom, &volume->grid, plane, options->convention,
                          options_pixel_mm (options, &volume->grid), cursor_voxel);
  surface = ns_render_surface_new (&geom);
  if (!draw_plane (surface, 0, 0, &geom, volume, labels, cursor_voxel, options, error))
    g_clear_pointer (&surface, cairo_surface_destroy);
  return surface;
}

cairo_surface_t *
ns_render_montage (const NsVolume *volume, const NsLabelMap *labels,
                   const double cursor_voxel[3], const NsRenderOptions *options,
                   GError **error)
{
  static const NsPlane order[NS_N_PLANES] = { NS_PLANE_AXIAL, NS_PLANE_SAGITTAL,
                                              NS_PLANE_CORONAL };
  NsPlaneGeometry geoms[NS_N_PLANES];
  const int gap = 2;
  int width = 0, height = 0, x = 0;
  double pixel_mm;
  cairo_surface_t *surface;

  g_return_val_if_fail (volume != NULL && options != NULL, NULL);

  if (!check_inputs (volume, labels, error))
    return NULL;
  pixel_mm = options_pixel_mm (options, &volume->grid);
  for (int p = 0; p < NS_N_PLANES; p++)
    {
      ns_plane_geometry_init (&geoms[p], &volume->grid, order[p], options->convention,
                              pixel_mm, cursor_voxel);
      width += geoms[p].width + (p > 0 ? gap : 0);
      height = MAX (height, geoms[p].height);
    }

  /* A new image surface is cleared to black. */
  surface = cairo_image_surface_create (CAIRO_FORMAT_RGB24, width, height);
  for (int p = 0; p < NS_N_PLANES; p++)
    {
      if (!draw_plane (surface, x, 0, &geoms[p], volume, labels, cursor_voxel, options, error))
        {
          cairo_surface_destroy (surface);
          return NULL;
        }
      x += geoms[p].width + gap;
    }
  return surface;
}

static cairo_status_t
append_chunk (void *closure, const unsigned char *data, unsigned int length)
{
  g_byte_array_append (closure, data, length);
  return CAIRO_STATUS_SUCCESS;
}

gboolean
ns_render_write_png (cairo_surface_t *surface, const char *path, GError **error)
{
  g_autoptr (GByteArray) png = g_byte_array_new ();
  g_autoptr (GError) local = NULL;
  cairo_status_t status;

  g_return_val_if_fail (surface != NULL && path != NULL, FALSE);

  /* Encoded in memory (a PNG of three planes is a few hundred KB), then written to a
   * temporary file renamed over path: whatever was at path stays whole until the new
   * file is, and a link at path is replaced, not the file it leads to. */
  status = cairo_surface_write_to_png_stream (surface, append_chunk, png);
  if (status != CAIRO_STATUS_SUCCESS)
    {
      g_set_error (error, NS_RENDER_ERROR, NS_RENDER_ERROR_IO, "%s: %s", path,
                   cairo_status_to_string (status));
      return FALSE;
    }
  if (!g_file_set_contents_full (path, (const char *) png->data, png->len,
                                 G_FILE_SET_CONTENTS_CONSISTENT, 0666, &local))
    {
      g_set_error (error, NS_RENDER_ERROR, NS_RENDER_ERROR_IO, "%s: %s", path, local->message);
      return FALSE;
    }
  return TRUE;
}
