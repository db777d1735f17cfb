/* SPDX-License-Identifier: MIT
 *
 * ns-view3d.h: the fourth view: the label surfaces in 3D (render/ns-mesh.h meshes them,
 * render/ns-render3d.h or render/ns-raster3d.h draws them): OpenGL in a GtkGLArea where GL
 * is a GPU's, the CPU renderer into a texture where GL is software or missing.  Drag turns
 * the view, Shift+drag or the middle button pans, the wheel zooms, a click on a surface
 * moves the cursor (the three planes) there.  Follows the viewer: a new case re-meshes
 * everything, an edit only the blocks its box touched, Run Model and recovery (a new label
 * map) everything.  The GL context (GL path) exists only while the view is realized.
 */
#pragma once

#include <gtk/gtk.h>

#include "ns-mesh.h"
#include "ns-render3d.h"
#include "ns-viewer.h"

G_BEGIN_DECLS

#define NS_TYPE_VIEW3D (ns_view3d_get_type ())

G_DECLARE_FINAL_TYPE (NsView3d, ns_view3d, NS, VIEW3D, GtkWidget)

GtkWidget  *ns_view3d_new                (NsViewer *viewer);
NsViewer   *ns_view3d_get_viewer         (NsView3d *self);
void        ns_view3d_set_viewer         (NsView3d *self, NsViewer *viewer);

typedef enum
{
  NS_VIEW3D_RENDERER_GL,         /* a GtkGLArea: its own GL context */
  NS_VIEW3D_RENDERER_CPU,        /* render/ns-raster3d.h into a GdkMemoryTexture */
} NsView3dRenderer;

/* The rule the view follows when it is made: override (the NEUROSEG_3D variable) "gl" or
 * "cpu" wins; else the CPU when gl_renderer (the display's GL_RENDERER string, NULL: no
 * GL) names a software rasteriser (ns_application_gl_is_software ()) or there is no GL,
 * GL otherwise.  Any other override is ignored. */
NsView3dRenderer ns_view3d_pick_renderer (const char *override, const char *gl_renderer);
/* "gl" or "cpu": the renderer this view draws with. */
const char *ns_view3d_get_renderer_name  (NsView3d *self);

/* See-through surfaces (opacity 0.5) or opaque ones; the brain's outline shown or not. */
void        ns_view3d_set_see_through    (NsView3d *self, gboolean see_through);
void        ns_view3d_set_show_outline   (NsView3d *self, gboolean show);
gboolean    ns_view3d_get_show_outline   (NsView3d *self);

const NsCamera3d *ns_view3d_get_camera   (NsView3d *self);
/* The last complete label surfaces (borrowed, valid until the main loop runs again; NULL
 * without labels).  Meshing runs on a worker thread (ns-surface-worker.h): after an edit
 * these are the previous surfaces until ns_view3d_is_meshing () turns FALSE. */
const NsSurfaces *ns_view3d_get_surfaces (NsView3d *self);
/* TRUE while changes wait to be meshed or are being meshed. */
gboolean    ns_view3d_is_meshing         (NsView3d *self);
/* Surfaces per label or per WT / TC / ET region, and how much they are decimated (the
 * view starts with labels and NS_MESH_DECIMATE_DEFAULT); a change re-meshes everything. */
void        ns_view3d_set_surface_kind   (NsView3d *self, NsSurfaceKind kind);
NsSurfaceKind ns_view3d_get_surface_kind (NsView3d *self);
void        ns_view3d_set_decimation     (NsView3d *self, NsMeshDecimation decimation);
NsMeshDecimation ns_view3d_get_decimation (NsView3d *self);
/* Blocks re-meshed by the last update (the whole volume's count after a new map). */
guint       ns_view3d_get_last_remeshed  (NsView3d *self);
/* The nearest visible label surface (else the brain outline) under widget point (x, y),
 * in RAS mm; FALSE when nothing is there. */
gboolean    ns_view3d_pick               (NsView3d *self, double x, double y, double ras[3]);
/* What the last frame cost to draw, microseconds (0 before the first). */
gint64      ns_view3d_get_last_frame_us  (NsView3d *self);
/* The GL area's error, if the context or the shaders failed (borrowed; NULL: none, and
 * always on the CPU path). */
const GError *ns_view3d_get_error        (NsView3d *self);

G_END_DECLS
