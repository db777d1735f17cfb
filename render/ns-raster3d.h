/* SPDX-License-Identifier: MIT
 *
 * ns-raster3d.h: the 3D view drawn on the CPU (render/, no GTK, no GL): the scene of
 * ns-render3d.h (label surfaces lit and coloured as the overlay, the faint brain outline,
 * the cursor marker; the same NsCamera3d and NsRender3dStyle) rasterised into 32-bit pixels
 * with a depth buffer.  Where OpenGL is a software rasteriser (Mesa's llvmpipe) this is
 * both faster and much smaller than a GL context (docs/memory.md), so the workbench draws
 * its 3D view with it there (ui/ns-view3d.c), and `neuroseg render --plane 3d` uses it
 * where EGL is missing.
 *
 * Differences from the GL image, by design: lighting per vertex (Gouraud) instead of per
 * fragment, one sample per pixel (the off-screen GL image is 4x multisampled).
 */
#pragma once

#include <cairo.h>
#include <glib.h>

#include "ns-mesh.h"
#include "ns-render3d.h"

G_BEGIN_DECLS

typedef struct _NsRaster3d NsRaster3d;

NsRaster3d *ns_raster3d_new                (void);
void        ns_raster3d_free               (NsRaster3d *raster);
/* The surfaces to draw (borrowed; either may be NULL).  The next draw takes a copy of
 * their triangles, and each later one copies again those whose generation changed. */
void        ns_raster3d_set_surfaces       (NsRaster3d *raster, const NsSurfaces *labels,
                                            const NsSurfaces *outline);
/* Draws the view into pixels: width x height 32-bit words 0xAARRGGBB in native byte order
 * (cairo's ARGB32, GDK_MEMORY_DEFAULT), rows stride bytes apart, every pixel opaque. */
void        ns_raster3d_draw               (NsRaster3d *raster, const NsCamera3d *cam,
                                            const NsRender3dStyle *style, int width,
                                            int height, guint8 *pixels, gsize stride);

/* The same view as a new ARGB32 surface.  Fails with NS_RENDER_ERROR_INVALID when
 * width or height is not in 1 .. 16384. */
cairo_surface_t *ns_raster3d_render        (const NsSurfaces *labels, const NsSurfaces *outline,
                                            const NsCamera3d *cam, const NsRender3dStyle *style,
                                            int width, int height, GError **error);

/* For the benchmark: draws the view n_frames times, turning it by 3 degrees each time, and
 * gives the median wall-clock time of a frame and (when median_cpu_ms is not NULL) the
 * median CPU time of the calling thread, which on a busy machine is the work alone (the
 * first draw, which copies the triangles, is not counted). */
gboolean    ns_raster3d_time_frames        (const NsSurfaces *labels, const NsSurfaces *outline,
                                            const NsCamera3d *cam, const NsRender3dStyle *style,
                                            int width, int height, int n_frames,
                                            double *median_ms, double *median_cpu_ms,
                                            GError **error);

G_END_DECLS
