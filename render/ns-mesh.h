/* SPDX-License-Identifier: MIT
 *
 * ns-mesh.h: surfaces of a label map for the 3D view (render/, no GTK, no GL).
 *
 * Each label value gets a closed triangle surface extracted by marching cubes on its
 * indicator (voxel == label), in RAS millimetres (the grid's spacing and voxel-to-RAS
 * matrix are applied to every vertex, so oblique and anisotropic grids come out with their
 * physical shape).  Outside the grid counts as background, so every surface is closed.
 *
 * Smoothing without losing voxels: which cube edges the surface crosses is decided by the
 * binary indicator (so islands of one voxel and one-voxel holes stay visible, as annotators
 * need to spot them), but where along the edge the vertex sits comes from the indicator
 * smoothed by a [1 2 1] / 4 binomial filter on each axis (the 0.5 crossing of the smoothed
 * field; the midpoint when the smoothed field does not cross 0.5 on that edge).  Every
 * vertex thus stays within its edge, between the centres of an inside and an outside
 * voxel, and staircases become planes.  Normals are the smoothed field's gradient.  This is
 * the constraint of "constrained elastic surface nets" applied to marching cubes, and it
 * is local (two voxels of halo), which is what makes block-wise meshing exact.
 *
 * Blocks: the cells are cut in cubes of block_size cells; each block keeps its own
 * triangles.  An edit of the voxels in a box changes the smoothed field up to one voxel
 * further and the normals one more; ns_surfaces_update () re-meshes only the blocks within
 * that reach, and the result is the same, triangle for triangle and bit for bit, as a full
 * re-mesh.  Vertices are not shared between triangles (a triangle soup, the layout GL
 * draws); each carries the key of the cube edge it lies on, which welds the soup into an
 * indexed mesh for the watertightness check and the decimation below.
 *
 * Decimation, per block so that a block re-mesh stays exact: within a block, edges are
 * collapsed (half-edge collapse bounded by quadric error, ns-mesh-decimate.c) while the
 * surface moves by less than a set fraction of the smallest voxel spacing; the vertices on
 * the block's faces, which the neighbouring block shares, never move, so the blocks still
 * meet without cracks and a block re-mesh equals a full mesh and decimation of the same
 * labels.  The faint brain outline is, in addition, meshed on a grid `step` times coarser
 * (ns_surfaces_brain_mask_new ()).
 *
 * Surfaces are either one per label value or one per BraTS region (WT, TC, ET, nested:
 * ns_region_contains () of ns-labels.h), the way the overlay can show them.
 *
 * Marching cubes' triangle table is derived at first use from a face rule rather than
 * typed in (ns-marching.c): on a face whose diagonal corners are inside and the other two
 * outside, the inside corners are kept apart.  Both cubes sharing a face apply the same
 * rule to the same four values, so the surface has no cracks.
 */
#pragma once

#include <gio/gio.h>

#include "ns-volume.h"

G_BEGIN_DECLS

/* One vertex: RAS mm, unit outward normal (from the label toward the outside). */
typedef struct
{
  float pos[3];
  float normal[3];
} NsMeshVertex;

typedef struct _NsSurfaces NsSurfaces;

typedef enum
{
  NS_SURFACES_LABELS,            /* surface id = label value 1..255 */
  NS_SURFACES_REGIONS,           /* surface id = 1 + NsRegion: 1 WT, 2 TC, 3 ET */
} NsSurfaceKind;

typedef enum
{
  NS_MESH_DECIMATE_OFF,
  NS_MESH_DECIMATE_NORMAL,
  NS_MESH_DECIMATE_STRONG,
} NsMeshDecimation;

/* How far (fraction of the smallest voxel spacing) decimation may move the surface. */
#define NS_MESH_DECIMATE_NORMAL_ERROR 0.3
#define NS_MESH_DECIMATE_STRONG_ERROR 0.8
/* The level the 3D view starts with (chosen by `neuroseg bench --render`, README). */
#define NS_MESH_DECIMATE_DEFAULT NS_MESH_DECIMATE_NORMAL

/* The block size the workbench and the benchmark use (see README, the 3D view). */
#define NS_SURFACES_BLOCK_SIZE 8

/* The surfaces of label maps on grid, in blocks of block_size^3 cells (4 .. 64; small
 * blocks make a brush stroke re-mesh less, large ones lock fewer vertices on block faces
 * against decimation and cost less per block).
 * Empty until the first ns_surfaces_update (). */
NsSurfaces *ns_surfaces_new               (const NsGrid *grid, int block_size);
/* The same with the kind of surfaces and the decimation level (ns_surfaces_new (): label
 * surfaces, no decimation). */
NsSurfaces *ns_surfaces_new_full          (const NsGrid *grid, int block_size,
                                           NsSurfaceKind kind, NsMeshDecimation decimation);
NsSurfaceKind ns_surfaces_get_kind        (const NsSurfaces *surfaces);
NsMeshDecimation ns_surfaces_get_decimation (const NsSurfaces *surfaces);
void        ns_surfaces_free              (NsSurfaces *surfaces);
const NsGrid *ns_surfaces_get_grid        (const NsSurfaces *surfaces);

/* Re-meshes from labels (ns_grid_n_voxels (grid) values, the grid's voxel order) the
 * blocks that voxels box_lo .. box_hi (inclusive voxel indices) can affect; box_lo and
 * box_hi NULL: every block.  Returns the number of blocks re-meshed. */
guint       ns_surfaces_update            (NsSurfaces *surfaces, const guint8 *labels,
                                           const int box_lo[3], const int box_hi[3]);

/* The same update in three steps, so that the meshing can run on another thread while the
 * main thread goes on editing the labels:
 * - ns_surfaces_job_new () (the thread that owns labels): copies the voxels the blocks
 *   within reach of the box read (box NULL: every block); NULL when the box lies outside
 *   the grid;
 * - ns_surfaces_job_run () (any thread): meshes those blocks from the copy; it reads only
 *   the surfaces' settings, copied too, and touches nothing shared.  FALSE when
 *   cancellable was cancelled (the job can then only be freed);
 * - ns_surfaces_job_apply () (the thread that owns surfaces): puts the blocks in place and
 *   bumps the generation; returns the number of blocks.  surfaces must have the settings
 *   (grid, block size, kind, decimation) the job was made with.  Jobs applied in the
 *   order they were made give the surfaces of the labels of the last. */
typedef struct _NsSurfacesJob NsSurfacesJob;
NsSurfacesJob *ns_surfaces_job_new        (const NsSurfaces *surfaces, const guint8 *labels,
                                           const int box_lo[3], const int box_hi[3]);
gboolean    ns_surfaces_job_run           (NsSurfacesJob *job, GCancellable *cancellable);
guint       ns_surfaces_job_apply         (NsSurfaces *surfaces, NsSurfacesJob *job);
void        ns_surfaces_job_free          (NsSurfacesJob *job);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (NsSurfacesJob, ns_surfaces_job_free)

/* Changed by every update, unique across all surfaces; a renderer re-uploads when it
 * changed. */
guint64     ns_surfaces_get_generation    (const NsSurfaces *surfaces);
/* Which surface ids (label values 1..255, or 1 + NsRegion) have a surface now. */
void        ns_surfaces_get_labels        (const NsSurfaces *surfaces, gboolean present[256]);
/* Appends the triangles of label (three NsMeshVertex each, counter-clockwise seen from
 * outside) to vertices (a GArray of NsMeshVertex) and, when keys is not NULL, the edge key
 * of each vertex (guint64; two vertices with the same key are the same point). */
void        ns_surfaces_collect           (const NsSurfaces *surfaces, guint8 label,
                                           GArray *vertices, GArray *keys);
/* Triangles of all labels. */
gsize       ns_surfaces_n_triangles       (const NsSurfaces *surfaces);

/* The brain's mask (image != its background value, ns-normalize.h) on a grid step times
 * coarser (a coarse voxel is brain when at least half of its step^3 fine voxels are),
 * with coarse_grid set so that its vox2ras puts each coarse voxel at the centre of the
 * fine voxels it covers.  Mesh it with ns_surfaces_*() on coarse_grid. */
guint8     *ns_surfaces_brain_mask_new    (const NsVolume *image, int step, NsGrid *coarse_grid);

/* ---- geometry of triangle soups (tests, picking, the benchmark) ---- */

/* Surface area (mm^2) and enclosed volume (mm^3, divergence theorem; exact for a closed
 * mesh) of n_vertices / 3 triangles. */
double      ns_mesh_area                  (const NsMeshVertex *vertices, gsize n_vertices);
double      ns_mesh_volume                (const NsMeshVertex *vertices, gsize n_vertices);
/* The nearest hit t >= 0 of the ray origin + t dir with the triangles (Moller-Trumbore,
 * both sides); FALSE when the ray misses them all. */
gboolean    ns_mesh_ray_pick              (const NsMeshVertex *vertices, gsize n_vertices,
                                           const double origin[3], const double dir[3],
                                           double *t_hit);

G_END_DECLS
