/* SPDX-License-Identifier: MIT
 *
 * ns-marching.c: the 256 cases of marching cubes, derived once from one face rule instead
 * of a typed-in table (a typo in a 4096-entry table is a crack nobody sees).
 *
 * For a configuration of inside corners, walk each of the six faces counter-clockwise as
 * seen from outside the cube.  Each edge whose ends differ is a crossing: an exit when the
 * walk leaves an inside corner, an entry otherwise.  The inside part of the face is closed
 * by a segment from each exit back to the entry that began its run of inside corners; on
 * a face with two diagonal inside corners this keeps them apart (the same choice in both
 * cubes that share the face, hence no cracks).  A crossing edge is an exit on one of its
 * two faces and an entry on the other, so following segments gives closed loops; each
 * loop becomes a triangle fan, turned so that its normal points away from the inside
 * corners (outward).
 */
#define G_LOG_DOMAIN "neuroseg-render"

#include "ns-mesh-private.h"

const guint8 _ns_marching_edge_corner[12][2] = {
  /* along x */ { 0, 1 }, { 2, 3 }, { 4, 5 }, { 6, 7 },
  /* along y */ { 0, 2 }, { 1, 3 }, { 4, 6 }, { 5, 7 },
  /* along z */ { 0, 4 }, { 1, 5 }, { 2, 6 }, { 3, 7 },
};

static int
edge_between (int a, int b)
{
  for (int e = 0; e < 12; e++)
    if ((_ns_marching_edge_corner[e][0] == a && _ns_marching_edge_corner[e][1] == b)
        || (_ns_marching_edge_corner[e][0] == b && _ns_marching_edge_corner[e][1] == a))
      return e;
  g_assert_not_reached ();
  return -1;
}

/* The four corners of face (axis, side), counter-clockwise seen from outside: with
 * u = axis + 1 and v = axis + 2 (mod 3), (u, v) = (0,0), (1,0), (1,1), (0,1) turns
 * counter-clockwise seen from +axis (u x v = axis); the side-0 face is seen from -axis,
 * so its order is reversed. */
static void
face_corners (int axis, int side, int out[4])
{
  static const int uv[4][2] = { { 0, 0 }, { 1, 0 }, { 1, 1 }, { 0, 1 } };
  int u = (axis + 1) % 3, v = (axis + 2) % 3;

  for (int t = 0; t < 4; t++)
    {
      int q = side ? t : 3 - t;
      out[t] = (side << axis) | (uv[q][0] << u) | (uv[q][1] << v);
    }
}

static void
derive_case (int config, NsMarchingCase *mc)
{
  int next[12];
  gboolean used[12] = { FALSE };

  for (int e = 0; e < 12; e++)
    next[e] = -1;
  for (int axis = 0; axis < 3; axis++)
    for (int side = 0; side < 2; side++)
      {
        int q[4], edge[4], kind[4]; /* kind: 1 exit, -1 entry, 0 none */
        face_corners (axis, side, q);
        for (int t = 0; t < 4; t++)
          {
            int a = (config >> q[t]) & 1, b = (config >> q[(t + 1) & 3]) & 1;
            edge[t] = edge_between (q[t], q[(t + 1) & 3]);
            kind[t] = a == b ? 0 : a ? 1 : -1;
          }
        for (int t = 0; t < 4; t++)
          if (kind[t] == 1)
            for (int back = 1; back <= 4; back++)
              {
                int s = (t - back + 4) & 3;
                if (kind[s] == -1)
                  {
                    g_assert (next[edge[t]] == -1);
                    next[edge[t]] = edge[s];
                    break;
                  }
              }
      }

  mc->n_triangles = 0;
  for (int start = 0; start < 12; start++)
    {
      int loop[12], n = 0;
      if (next[start] < 0 || used[start])
        continue;
      for (int e = start; !used[e]; e = next[e])
        {
          g_assert (next[e] >= 0);
          used[e] = TRUE;
          loop[n++] = e;
        }
      /* The loop runs counter-clockwise around the inside corners seen from outside the
       * cube, i.e. its normal points at them: the fan goes the other way. */
      for (int i = 1; i + 1 < n; i++)
        {
          g_assert (mc->n_triangles < NS_MARCHING_MAX_TRIANGLES);
          gint8 *tri = mc->edges + 3 * mc->n_triangles++;
          tri[0] = (gint8) loop[0];
          tri[1] = (gint8) loop[i + 1];
          tri[2] = (gint8) loop[i];
        }
    }
}

const NsMarchingCase *
_ns_marching_table (void)
{
  static NsMarchingCase table[256];
  static gsize once = 0;

  if (g_once_init_enter (&once))
    {
      for (int config = 0; config < 256; config++)
        derive_case (config, &table[config]);
      g_once_init_leave (&once, 1);
    }
  return table;
}
