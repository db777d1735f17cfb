/* SPDX-License-Identifier: MIT
 *
 * ns-render3d-private.h: what the two renderers of the 3D view share (render/ only): the
 * lighting constants, the depth range and the camera's frame.  The OpenGL renderer
 * (ns-render3d.c) puts the constants into its shader's source; the CPU renderer
 * (ns-raster3d.c) and ns_render3d_shade () compute with them.  One definition here, so the
 * two images cannot drift apart.
 */
#pragma once

#include "ns-render3d.h"

G_BEGIN_DECLS

/* Blinn-Phong headlight: ambient + diffuse * max (n.l, 0) + specular * max (n.h, 0)^40,
 * with l the light's direction in view space (x right, y up, z toward the viewer; not unit
 * here, normalised where used) and h the half vector of l and the view direction (0, 0, 1). */
#define NS_RENDER3D_AMBIENT 0.3
#define NS_RENDER3D_DIFFUSE 0.7
#define NS_RENDER3D_SPECULAR 0.2
#define NS_RENDER3D_SHININESS 40.0
#define NS_RENDER3D_LIGHT_X -0.3
#define NS_RENDER3D_LIGHT_Y 0.3
#define NS_RENDER3D_LIGHT_Z 1.0

/* Orthographic, so the eye only has to be in front of everything: it sits this far from
 * the target toward the viewer, and what lies between NEAR and FAR from the eye is drawn
 * (GL's clip volume; the CPU renderer clips at the same planes). */
#define NS_RENDER3D_EYE_MM 4000.0
#define NS_RENDER3D_NEAR_MM 1.0
#define NS_RENDER3D_FAR_MM (2.0 * NS_RENDER3D_EYE_MM)

/* What each renderer keeps of the surfaces it draws (GL's buffers, the CPU's lists of
 * blocks) follows them by pointer and generation: taken from `taken` at `generation`
 * (0 for none); changed when now is other surfaces or they were updated since. */
static inline guint64
_ns_render3d_generation (const NsSurfaces *surfaces)
{
  return surfaces != NULL ? ns_surfaces_get_generation (surfaces) : 0;
}

static inline gboolean
_ns_render3d_surfaces_changed (const NsSurfaces *now, const NsSurfaces *taken,
                               guint64 generation)
{
  return now != taken || _ns_render3d_generation (now) != generation;
}

/* The unit light vector l and half vector h in view space. */
void        _ns_render3d_light          (double l[3], double h[3]);

/* The camera's frame: unit vectors of the screen's right, up and toward the viewer, and
 * the target (the centre moved by the pan): a RAS point p is at view coordinates
 * ((p - target).right, (p - target).up, (p - target).toward) mm. */
void        _ns_camera3d_frame          (const NsCamera3d *cam, double right[3], double up[3],
                                         double toward[3], double target[3]);

G_END_DECLS
