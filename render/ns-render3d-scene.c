/* SPDX-License-Identifier: MIT
 *
 * ns-render3d-scene.c: what the 3D view draws, whichever renderer draws it (see
 * ns-render3d.h): the camera and its mouse moves, the style, and the shading rule.  No GL
 * here: the OpenGL renderer (ns-render3d.c) and the CPU one (ns-raster3d.c) both take
 * their camera, style and lighting from this file and ns-render3d-private.h.
 */
#define G_LOG_DOMAIN "neuroseg-render"

#include "ns-render3d-private.h"

#include <math.h>
#include <string.h>

/* ---- camera ---------------------------------------------------------------------------- */

void
ns_camera3d_init (NsCamera3d *cam, const NsGrid *grid)
{
  double lo[3] = { INFINITY, INFINITY, INFINITY }, hi[3] = { -INFINITY, -INFINITY, -INFINITY };
  double extent = 0.0;

  memset (cam, 0, sizeof *cam);
  /* The bounding box of the grid's eight corners in RAS. */
  for (int c = 0; c < 8; c++)
    {
      double vox[3] = { (c & 1) ? grid->dim[0] - 0.5 : -0.5, (c & 2) ? grid->dim[1] - 0.5 : -0.5,
                        (c & 4) ? grid->dim[2] - 0.5 : -0.5 };
      double ras[3];
      ns_geometry_voxel_to_ras (grid, vox, ras);
      for (int a = 0; a < 3; a++)
        {
          lo[a] = MIN (lo[a], ras[a]);
          hi[a] = MAX (hi[a], ras[a]);
        }
    }
  for (int a = 0; a < 3; a++)
    {
      cam->centre[a] = 0.5 * (lo[a] + hi[a]);
      extent = MAX (extent, hi[a] - lo[a]);
    }
  cam->zoom = 1.0;
  cam->fov_mm = extent > 0.0 ? 1.1 * extent : 100.0;
}

void
ns_camera3d_basis (const NsCamera3d *cam, double right[3], double up[3], double toward[3])
{
  double az = cam->azimuth * G_PI / 180.0;
  double el = CLAMP (cam->elevation, -89.0, 89.0) * G_PI / 180.0;

  /* toward the viewer: (sin az cos el, cos az cos el, sin el); at az = 0, el = 0 that is
   * +A, so the viewer faces the patient and the patient's left (-R) is on the right. */
  toward[0] = sin (az) * cos (el);
  toward[1] = cos (az) * cos (el);
  toward[2] = sin (el);
  /* right = forward x S, normalised; forward = -toward. */
  right[0] = -toward[1];
  right[1] = toward[0];
  right[2] = 0.0;
  {
    double n = sqrt (right[0] * right[0] + right[1] * right[1]);
    right[0] /= n;
    right[1] /= n;
  }
  /* up = right x forward */
  up[0] = -(right[1] * toward[2] - right[2] * toward[1]);
  up[1] = -(right[2] * toward[0] - right[0] * toward[2]);
  up[2] = -(right[0] * toward[1] - right[1] * toward[0]);
}

double
ns_camera3d_mm_per_pixel (const NsCamera3d *cam, int height)
{
  return cam->fov_mm / cam->zoom / MAX (height, 1);
}

void
_ns_camera3d_frame (const NsCamera3d *cam, double right[3], double up[3], double toward[3],
                    double target[3])
{
  ns_camera3d_basis (cam, right, up, toward);
  for (int a = 0; a < 3; a++)
    target[a] = cam->centre[a] + right[a] * cam->pan[0] + up[a] * cam->pan[1];
}

void
ns_camera3d_ray (const NsCamera3d *cam, int width, int height, double x, double y,
                 double origin[3], double dir[3])
{
  double right[3], up[3], toward[3], target[3];
  double mmpp = ns_camera3d_mm_per_pixel (cam, height);
  double sx = (x - 0.5 * width) * mmpp, sy = (0.5 * height - y) * mmpp;

  _ns_camera3d_frame (cam, right, up, toward, target);
  for (int a = 0; a < 3; a++)
    {
      origin[a] = target[a] + right[a] * sx + up[a] * sy + toward[a] * NS_RENDER3D_EYE_MM;
      dir[a] = -toward[a];
    }
}

void
ns_camera3d_project (const NsCamera3d *cam, int width, int height, const double ras[3],
                     double *x, double *y)
{
  double right[3], up[3], toward[3], target[3], sx = 0.0, sy = 0.0;
  double mmpp = ns_camera3d_mm_per_pixel (cam, height);

  _ns_camera3d_frame (cam, right, up, toward, target);
  for (int a = 0; a < 3; a++)
    {
      sx += (ras[a] - target[a]) * right[a];
      sy += (ras[a] - target[a]) * up[a];
    }
  *x = 0.5 * width + sx / mmpp;
  *y = 0.5 * height - sy / mmpp;
}

void
ns_camera3d_rotate (NsCamera3d *cam, double dx, double dy)
{
  cam->azimuth = fmod (cam->azimuth - 0.5 * dx, 360.0);
  cam->elevation = CLAMP (cam->elevation + 0.5 * dy, -89.0, 89.0);
}

void
ns_camera3d_pan (NsCamera3d *cam, double dx, double dy, int height)
{
  double mmpp = ns_camera3d_mm_per_pixel (cam, height);
  /* The scene follows the pointer: the target moves the other way. */
  cam->pan[0] -= dx * mmpp;
  cam->pan[1] += dy * mmpp;
}

void
ns_camera3d_zoom (NsCamera3d *cam, double steps)
{
  cam->zoom = CLAMP (cam->zoom * pow (1.1, steps), 0.05, 50.0);
}

/* ---- style and shading ----------------------------------------------------------------- */

void
ns_render3d_style_init (NsRender3dStyle *style)
{
  memset (style, 0, sizeof *style);
  ns_overlay_style_init (&style->labels);
  style->label_opacity = 1.0;
  style->show_outline = TRUE;
  style->outline_opacity = 0.15;
  style->outline_rgb = 0xd8d8d8;
  style->background_rgb = NS_RENDER3D_BACKGROUND;
}

void
_ns_render3d_light (double l[3], double h[3])
{
  static const double dir[3] = { NS_RENDER3D_LIGHT_X, NS_RENDER3D_LIGHT_Y,
                                 NS_RENDER3D_LIGHT_Z };
  double ln = sqrt (dir[0] * dir[0] + dir[1] * dir[1] + dir[2] * dir[2]), hn = 0.0;

  for (int a = 0; a < 3; a++)
    {
      l[a] = dir[a] / ln;
      h[a] = l[a] + (a == 2 ? 1.0 : 0.0);
      hn += h[a] * h[a];
    }
  hn = sqrt (hn);
  for (int a = 0; a < 3; a++)
    h[a] /= hn;
}

void
ns_render3d_shade (const double rgb[3], const double n[3], double out[3])
{
  double l[3], h[3], d = 0.0, s = 0.0;

  _ns_render3d_light (l, h);
  for (int a = 0; a < 3; a++)
    {
      d += n[a] * l[a];
      s += n[a] * h[a];
    }
  d = MAX (d, 0.0);
  s = pow (MAX (s, 0.0), NS_RENDER3D_SHININESS);
  for (int a = 0; a < 3; a++)
    out[a] = CLAMP (rgb[a] * (NS_RENDER3D_AMBIENT + NS_RENDER3D_DIFFUSE * d)
                    + NS_RENDER3D_SPECULAR * s, 0.0, 1.0);
}
