/* SPDX-License-Identifier: MIT
 *
 * ns-render3d.h: the 3D view of label surfaces (ns-mesh.h): the scene (camera, style,
 * shading; ns-render3d-scene.c) and its OpenGL renderer, used by the workbench's GtkGLArea
 * (ui/ns-view3d.c) and by `neuroseg render --plane 3d`, which draws off-screen through EGL
 * on Mesa's surfaceless platform (no display needed).  The same scene drawn on the CPU:
 * ns-raster3d.h (the workbench's renderer where GL is software).
 *
 * The projection is orthographic (sizes on screen do not depend on depth, so a radiologist
 * can compare them, and a sphere of radius r mm covers exactly pi (r / mm_per_pixel)^2
 * pixels, which the golden test checks).  Lighting is a Blinn-Phong headlight slightly
 * above and to the left of the viewer; ns_render3d_shade () computes it on the CPU (the
 * tests' reference; its constants are the shader's, ns-render3d-private.h).
 *
 * Camera angles: azimuth turns around the S axis, elevation tilts toward S.  Azimuth 0,
 * elevation 0 looks at the patient's face (from anterior), S up, patient's left on the
 * screen's right; azimuth 90 looks from the patient's right side.
 */
#pragma once

#include <cairo.h>
#include <glib.h>

#include "ns-mesh.h"
#include "ns-render.h"

G_BEGIN_DECLS

typedef struct
{
  double centre[3];              /* RAS mm: the point the view turns around */
  double azimuth;                /* degrees */
  double elevation;              /* degrees, clamped to -89 .. 89 */
  double zoom;                   /* 1: fov_mm fills the view's height; 0.05 .. 50 */
  double fov_mm;                 /* > 0 */
  double pan[2];                 /* mm along the screen's right and up */
} NsCamera3d;

/* Centre of the grid, azimuth 0, elevation 0, zoom 1, fov the grid's largest extent in
 * mm times 1.1, no pan. */
void        ns_camera3d_init           (NsCamera3d *cam, const NsGrid *grid);
/* Unit vectors in RAS of the screen's right, the screen's up, and toward the viewer. */
void        ns_camera3d_basis          (const NsCamera3d *cam, double right[3], double up[3],
                                        double toward_viewer[3]);
double      ns_camera3d_mm_per_pixel   (const NsCamera3d *cam, int height);
/* The viewing ray through point (x, y) of a width x height view (pixels, origin top-left;
 * pixel centres at + 0.5): origin in front of everything, dir a unit vector. */
void        ns_camera3d_ray            (const NsCamera3d *cam, int width, int height, double x,
                                        double y, double origin[3], double dir[3]);
/* RAS point -> view point (x, y) as above. */
void        ns_camera3d_project        (const NsCamera3d *cam, int width, int height,
                                        const double ras[3], double *x, double *y);
/* Mouse: a drag of (dx, dy) pixels turns the view (half a degree per pixel; dragging
 * right turns the scene's front to the right, dragging down tilts it toward the viewer);
 * pans it so the scene follows the pointer; a wheel step zooms by 1.1 per step. */
void        ns_camera3d_rotate         (NsCamera3d *cam, double dx, double dy);
void        ns_camera3d_pan            (NsCamera3d *cam, double dx, double dy, int height);
void        ns_camera3d_zoom           (NsCamera3d *cam, double steps);

typedef struct
{
  NsOverlayStyle labels;         /* colours and visibility of the label values */
  double label_opacity;          /* 1: opaque (default); below: see-through surfaces */
  guint8 opaque_label;           /* with see-through surfaces, this one (0: none) is drawn
                                  * opaque, first: the innermost of nested regions */
  gboolean show_outline;         /* the brain's outline, faint */
  double outline_opacity;
  guint32 outline_rgb;
  gboolean show_cursor;          /* a three-axis marker (R red, A green, S blue) */
  double cursor_ras[3];
  guint32 background_rgb;
} NsRender3dStyle;

/* BraTS label colours (ns_overlay_style_init ()), opaque; outline shown at 0.15 in light
 * grey; cursor hidden; background NS_RENDER3D_BACKGROUND. */
#define NS_RENDER3D_BACKGROUND 0x16181c
void        ns_render3d_style_init     (NsRender3dStyle *style);

/* The shading of the surfaces: colour rgb (0..1) with unit normal n in view coordinates
 * (x right, y up, z toward the viewer), as the fragment shader computes it. */
void        ns_render3d_shade          (const double rgb[3], const double n[3], double out[3]);

typedef struct _NsRenderer3d NsRenderer3d;

/* In the current OpenGL context (3.2 core or ES 3.0): compiles the shaders.  Fails with
 * NS_RENDER_ERROR_INVALID and the compiler's log. */
NsRenderer3d *ns_renderer3d_new        (GError **error);
/* With the same context current. */
void        ns_renderer3d_free         (NsRenderer3d *renderer);
/* The surfaces to draw (borrowed; either may be NULL).  Each draw re-uploads those whose
 * generation changed since the last draw. */
void        ns_renderer3d_set_surfaces (NsRenderer3d *renderer, const NsSurfaces *labels,
                                        const NsSurfaces *outline);
/* Draws into the bound framebuffer (width x height pixels): clears it and draws. */
void        ns_renderer3d_draw         (NsRenderer3d *renderer, const NsCamera3d *cam,
                                        const NsRender3dStyle *style, int width, int height);

/* Waits until the GL commands issued have run (for timing a frame). */
void        ns_renderer3d_finish       (NsRenderer3d *renderer);

/* The same view off-screen (EGL, Mesa's surfaceless platform, 4x multisampling) as a
 * new ARGB32 surface.  Fails with NS_RENDER_ERROR_INVALID naming what EGL or GL lacked. */
cairo_surface_t *ns_render3d_offscreen (const NsSurfaces *labels, const NsSurfaces *outline,
                                        const NsCamera3d *cam, const NsRender3dStyle *style,
                                        int width, int height, GError **error);

/* For the benchmark: draws the view n_frames times off-screen into a plain framebuffer
 * (no multisampling, as the GL area), turning it by 3 degrees each time, and gives the
 * median time of a frame, glFinish included. */
gboolean    ns_render3d_time_frames    (const NsSurfaces *labels, const NsSurfaces *outline,
                                        const NsCamera3d *cam, const NsRender3dStyle *style,
                                        int width, int height, int n_frames, double *median_ms,
                                        GError **error);

G_END_DECLS
