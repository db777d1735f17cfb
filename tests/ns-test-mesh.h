/* SPDX-License-Identifier: MIT
 *
 * ns-test-mesh.h: checks of the surfaces of ns-mesh.h shared by the mesh tests (header
 * only): balls painted into label maps, watertightness by edge keys, and the comparison
 * of two sets of surfaces triangle for triangle.
 */
#pragma once

#include "ns-render.h"
#include "ns-mesh.h"

#include <glib.h>
#include <string.h>

/* Label value of a ball of radius r_mm around RAS point centre, on grid. */
static G_GNUC_UNUSED void
paint_ball (const NsGrid *grid, guint8 *labels, const double centre[3], double r_mm,
            guint8 value)
{
  for (int k = 0; k < grid->dim[2]; k++)
    for (int j = 0; j < grid->dim[1]; j++)
      for (int i = 0; i < grid->dim[0]; i++)
        {
          double vox[3] = { i, j, k }, ras[3], d2 = 0.0;
          ns_geometry_voxel_to_ras (grid, vox, ras);
          for (int a = 0; a < 3; a++)
            d2 += (ras[a] - centre[a]) * (ras[a] - centre[a]);
          if (d2 <= r_mm * r_mm)
            labels[ns_grid_index (grid, i, j, k)] = value;
        }
}

/* Each directed edge (by vertex keys) of the label's triangles is used as often as its
 * reverse: the surface is closed (no cracks) and consistently oriented.  (An edge may be
 * used twice each way where two pieces of surface touch along a line, e.g. two inside
 * voxels that share only an edge: a fan diagonal of each of the two cells.) */
static G_GNUC_UNUSED void
assert_watertight (const NsSurfaces *surfaces, guint8 label)
{
  g_autoptr (GArray) vertices = g_array_new (FALSE, FALSE, sizeof (NsMeshVertex));
  g_autoptr (GArray) keys = g_array_new (FALSE, FALSE, sizeof (guint64));
  g_autoptr (GHashTable) edges = NULL;
  GHashTableIter iter;
  gpointer k, v;

  ns_surfaces_collect (surfaces, label, vertices, keys);
  g_assert_cmpuint (vertices->len, ==, keys->len);
  g_assert_cmpuint (vertices->len % 3, ==, 0);
  g_assert_cmpuint (vertices->len, >, 0);
  edges = g_hash_table_new_full (g_bytes_hash, g_bytes_equal, (GDestroyNotify) g_bytes_unref,
                                 NULL);
  for (guint t = 0; t < keys->len; t += 3)
    for (int e = 0; e < 3; e++)
      {
        guint64 pair[2] = { g_array_index (keys, guint64, t + e),
                            g_array_index (keys, guint64, t + (e + 1) % 3) };
        GBytes *key = g_bytes_new (pair, sizeof pair);
        g_assert_cmpuint (pair[0], !=, pair[1]);
        g_hash_table_insert (edges, key,
                             GUINT_TO_POINTER (GPOINTER_TO_UINT (g_hash_table_lookup (edges, key))
                                               + 1));
      }
  g_hash_table_iter_init (&iter, edges);
  while (g_hash_table_iter_next (&iter, &k, &v))
    {
      const guint64 *pair = g_bytes_get_data (k, NULL);
      guint64 rev[2] = { pair[1], pair[0] };
      g_autoptr (GBytes) key = g_bytes_new (rev, sizeof rev);
      guint back = GPOINTER_TO_UINT (g_hash_table_lookup (edges, key));
      if (back != GPOINTER_TO_UINT (v))
        g_error ("label %d: edge %" G_GUINT64_FORMAT " -> %" G_GUINT64_FORMAT " used %u times, "
                 "its reverse %u times (a crack or a flipped triangle)", label, pair[0],
                 pair[1], GPOINTER_TO_UINT (v), back);
    }
}

static G_GNUC_UNUSED int
compare_triangles (gconstpointer a, gconstpointer b)
{
  return memcmp (a, b, 3 * sizeof (NsMeshVertex));
}

/* The triangles of a label, each rotated to start at its smallest vertex key, sorted. */
static G_GNUC_UNUSED GArray *
canonical_triangles (const NsSurfaces *s, guint8 label)
{
  g_autoptr (GArray) vertices = g_array_new (FALSE, FALSE, sizeof (NsMeshVertex));
  g_autoptr (GArray) keys = g_array_new (FALSE, FALSE, sizeof (guint64));
  GArray *out = g_array_new (FALSE, FALSE, 3 * sizeof (NsMeshVertex));

  ns_surfaces_collect (s, label, vertices, keys);
  for (guint t = 0; t < vertices->len; t += 3)
    {
      NsMeshVertex tri[3];
      int first = 0;
      for (int i = 1; i < 3; i++)
        if (g_array_index (keys, guint64, t + i) < g_array_index (keys, guint64, t + first))
          first = i;
      for (int i = 0; i < 3; i++)
        tri[i] = g_array_index (vertices, NsMeshVertex, t + (first + i) % 3);
      g_array_append_val (out, tri);
    }
  g_array_sort (out, compare_triangles);
  return out;
}

static G_GNUC_UNUSED void
assert_same_surfaces (const NsSurfaces *a, const NsSurfaces *b)
{
  gboolean pa[256], pb[256];
  ns_surfaces_get_labels (a, pa);
  ns_surfaces_get_labels (b, pb);
  g_assert_cmpmem (pa, sizeof pa, pb, sizeof pb);
  for (int l = 1; l < 256; l++)
    if (pa[l])
      {
        g_autoptr (GArray) ta = canonical_triangles (a, (guint8) l);
        g_autoptr (GArray) tb = canonical_triangles (b, (guint8) l);
        g_assert_cmpuint (ta->len, ==, tb->len);
        g_assert_cmpmem (ta->data, ta->len * 3 * sizeof (NsMeshVertex), tb->data,
                         tb->len * 3 * sizeof (NsMeshVertex));
      }
}
