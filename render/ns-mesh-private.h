/* SPDX-License-Identifier: MIT
 *
 * ns-mesh-private.h: the marching cubes tables shared by ns-marching.c (which derives
 * them) and ns-mesh.c (which walks the cells).
 *
 * Cube corners: corner c sits at offset (c & 1, (c >> 1) & 1, (c >> 2) & 1) from the
 * cell's origin voxel.  Edges: edge e runs along axis e / 4 from corner
 * _ns_marching_edge_corner[e][0] to [1] (the one with that axis's bit set).
 */
#pragma once

#include <glib.h>

#include "ns-mesh.h"

G_BEGIN_DECLS

#define NS_MARCHING_MAX_TRIANGLES 12

typedef struct
{
  guint8 n_triangles;
  gint8 edges[NS_MARCHING_MAX_TRIANGLES * 3]; /* three edge indices per triangle */
} NsMarchingCase;

/* Case index: bit c set when corner c is inside. */
const NsMarchingCase *_ns_marching_table    (void);
extern const guint8   _ns_marching_edge_corner[12][2];

/* Decimates one block's indexed mesh in place (ns-mesh-decimate.c): collapses edges whose
 * quadric error stays within max_error mm, never moving a locked vertex.  triangles holds
 * 3 * n_triangles indices into vertices; the triangles left are moved to its front, in
 * their original order, and their number returned. */
guint _ns_mesh_decimate (const NsMeshVertex *vertices, const guint8 *locked, guint n_vertices,
                         guint32 *triangles, guint n_triangles, double max_error);

G_END_DECLS
