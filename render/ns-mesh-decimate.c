/* SPDX-License-Identifier: MIT
 *
 * ns-mesh-decimate.c: decimation of one block's surface (see ns-mesh.h) by half-edge
 * collapse bounded by quadric error (Garland and Heckbert 1997).
 *
 * Half-edge collapse (u moves onto its neighbour v) rather than collapse to an optimal
 * point: no new vertex is made, so every vertex left is one marching cubes placed, with
 * its smoothed normal, and stays within its cube edge; the surface keeps the property
 * that it separates inside from outside voxel centres only approximately, within the
 * error bound.  The cost of u -> v is the sum of the squared distances of v from the
 * planes of the triangles merged into u and v so far (their quadrics).  A pass visits the
 * vertices in index order (the order marching cubes made them) and moves each onto its
 * cheapest neighbour when that costs less than max_error^2 and no earlier collapse of the
 * pass touched either; passes repeat while they collapse something (at most MAX_PASSES).
 * The result depends on the input alone, so a block re-meshed after an edit decimates as
 * it did in a full mesh.  (Sorting all candidates by cost first, as Garland and Heckbert
 * do, kept 1-5 % fewer triangles but doubled the time: the stroke re-mesh's budget.)
 *
 * A collapse is refused when u is locked (a vertex on a block face: neighbouring blocks
 * share it, so it must stay where both put it), when u's fan is not a closed disc (each
 * edge of u in two triangles), when the link condition fails (u and v have neighbours in
 * common other than the two opposite vertices of edge uv: the collapse would pinch the
 * surface), when a vertex would be left with fewer than three triangles (a tetrahedron,
 * the smallest closed surface, stays one), or when one of u's remaining triangles would
 * turn by more than 60 degrees or collapse to no area.  Locked vertices never move and u
 * is never locked, so every edge between two locked vertices survives: the block's rim is
 * left as it was and the blocks still meet without cracks.
 */
#define G_LOG_DOMAIN "neuroseg-render"

#include "ns-mesh-private.h"

#include <math.h>
#include <string.h>

#define DEAD G_MAXUINT32
#define MAX_PASSES 8
#define MIN_COS_TURN 0.5         /* a triangle may turn by 60 degrees at most */

/* Quadric of a plane n . x + d = 0: the symmetric 4 x 4 matrix (n, d)(n, d)^T, stored as
 * its upper triangle: a2 ab ac ad b2 bc bd c2 cd d2. */
static void
quadric_add_plane (double q[10], const double n[3], double d)
{
  q[0] += n[0] * n[0]; q[1] += n[0] * n[1]; q[2] += n[0] * n[2]; q[3] += n[0] * d;
  q[4] += n[1] * n[1]; q[5] += n[1] * n[2]; q[6] += n[1] * d;
  q[7] += n[2] * n[2]; q[8] += n[2] * d;
  q[9] += d * d;
}

static double
quadric_eval (const double q[10], const float p[3])
{
  double x = p[0], y = p[1], z = p[2];

  return q[0] * x * x + 2 * q[1] * x * y + 2 * q[2] * x * z + 2 * q[3] * x
         + q[4] * y * y + 2 * q[5] * y * z + 2 * q[6] * y
         + q[7] * z * z + 2 * q[8] * z + q[9];
}

/* Normal of triangle a b c (not normalised; its length is twice the area). */
static void
triangle_normal (const float *a, const float *b, const float *c, double n[3])
{
  double e1[3], e2[3];

  for (int i = 0; i < 3; i++)
    {
      e1[i] = (double) b[i] - a[i];
      e2[i] = (double) c[i] - a[i];
    }
  n[0] = e1[1] * e2[2] - e1[2] * e2[1];
  n[1] = e1[2] * e2[0] - e1[0] * e2[2];
  n[2] = e1[0] * e2[1] - e1[1] * e2[0];
}

typedef struct
{
  const NsMeshVertex *v;
  const guint8 *locked;
  guint32 *tri;
  guint n_tri;
  guint32 *offset;               /* n_v + 1: the triangles of vertex i are */
  guint32 *incident;             /* incident[offset[i] .. offset[i + 1]) */
} Mesh;

static void
build_incidence (Mesh *m, guint n_v)
{
  memset (m->offset, 0, (n_v + 1) * sizeof (guint32));
  for (guint t = 0; t < 3 * m->n_tri; t++)
    m->offset[m->tri[t] + 1]++;
  for (guint i = 0; i < n_v; i++)
    m->offset[i + 1] += m->offset[i];
  {
    g_autofree guint32 *fill = g_memdup2 (m->offset, n_v * sizeof (guint32));
    for (guint t = 0; t < m->n_tri; t++)
      for (int k = 0; k < 3; k++)
        m->incident[fill[m->tri[3 * t + k]]++] = t;
  }
}

/* The vertices of triangle t other than x, in the triangle's turning order after x. */
static void
others (const Mesh *m, guint32 t, guint32 x, guint32 *a, guint32 *b)
{
  const guint32 *tr = m->tri + 3 * t;
  int k = tr[0] == x ? 0 : tr[1] == x ? 1 : 2;

  *a = tr[(k + 1) % 3];
  *b = tr[(k + 2) % 3];
}

/* The number of triangles around x.  Within a pass the incidence lists only go stale by
 * keeping triangles that died (a collapse moves corners from u to v, and u's neighbours'
 * lists still hold the triangles that now have v; the two with both u and v die), so the
 * count skips the dead ones. */
static guint32
degree (const Mesh *m, guint32 x)
{
  guint32 n = 0;

  for (guint32 i = m->offset[x]; i < m->offset[x + 1]; i++)
    {
      const guint32 *tr = m->tri + 3 * m->incident[i];
      n += tr[0] != DEAD && tr[1] != DEAD && tr[2] != DEAD;
    }
  return n;
}

static gboolean
collapse_allowed (const Mesh *m, guint32 u, guint32 v)
{
  guint32 opposite[2];
  guint n_shared = 0;

  /* u's fan closed: each neighbour of u appears in exactly two of u's triangles, once as
   * the vertex after u and once as the one before. */
  for (guint32 i = m->offset[u]; i < m->offset[u + 1]; i++)
    {
      guint32 a, b, after = 0, before = 0;
      others (m, m->incident[i], u, &a, &b);
      for (guint32 j = m->offset[u]; j < m->offset[u + 1]; j++)
        {
          guint32 c, d;
          others (m, m->incident[j], u, &c, &d);
          after += c == a;
          before += d == a;
        }
      if (after != 1 || before != 1)
        return FALSE;
      if (a == v || b == v)
        {
          if (n_shared == 2)
            return FALSE;
          opposite[n_shared++] = a == v ? b : a;
        }
    }
  if (n_shared != 2)
    return FALSE;
  /* The opposite vertices lose an edge each and v gets u's: none whose fan is closed
   * may end with fewer than three triangles (a tetrahedron would fold into two triangles
   * back to back, the link condition notwithstanding).  A locked vertex's fan is open
   * here (the neighbouring block holds the rest of it, as marching cubes gives every
   * cell around a crossed edge a triangle on it), so it cannot fold. */
  for (int k = 0; k < 2; k++)
    if (!m->locked[opposite[k]] && degree (m, opposite[k]) <= 3)
      return FALSE;
  if (!m->locked[v] && degree (m, u) + degree (m, v) < 7)
    return FALSE;

  /* Link condition: a neighbour of both u and v is one of the two opposite vertices. */
  for (guint32 i = m->offset[v]; i < m->offset[v + 1]; i++)
    {
      guint32 t = m->incident[i], a, b;
      others (m, t, v, &a, &b);
      for (int k = 0; k < 2; k++)
        {
          guint32 w = k == 0 ? a : b;
          if (w == u || w == opposite[0] || w == opposite[1])
            continue;
          for (guint32 j = m->offset[u]; j < m->offset[u + 1]; j++)
            {
              guint32 c, d;
              others (m, m->incident[j], u, &c, &d);
              if (c == w || d == w)
                return FALSE;
            }
        }
    }

  /* No triangle of u that stays may flip, turn far or lose its area. */
  for (guint32 i = m->offset[u]; i < m->offset[u + 1]; i++)
    {
      guint32 t = m->incident[i], a, b;
      double before[3], after[3], lb, la, dot;
      others (m, t, u, &a, &b);
      if (a == v || b == v)
        continue;
      triangle_normal (m->v[u].pos, m->v[a].pos, m->v[b].pos, before);
      triangle_normal (m->v[v].pos, m->v[a].pos, m->v[b].pos, after);
      lb = sqrt (before[0] * before[0] + before[1] * before[1] + before[2] * before[2]);
      la = sqrt (after[0] * after[0] + after[1] * after[1] + after[2] * after[2]);
      if (la < 1e-12 || lb < 1e-12)
        return FALSE;
      dot = (before[0] * after[0] + before[1] * after[1] + before[2] * after[2]) / (la * lb);
      if (dot < MIN_COS_TURN)
        return FALSE;
    }
  return TRUE;
}

guint
_ns_mesh_decimate (const NsMeshVertex *vertices, const guint8 *locked, guint n_vertices,
                   guint32 *triangles, guint n_triangles, double max_error)
{
  Mesh m = { vertices, locked, triangles, n_triangles, NULL, NULL };
  g_autofree double *quadric = g_new0 (double, (gsize) 10 * n_vertices);
  g_autofree guint8 *touched = g_new0 (guint8, n_vertices);
  g_autofree guint8 *deferred = g_new0 (guint8, n_vertices);
  g_autofree guint8 *active = g_new (guint8, n_vertices);
  const double max_cost = max_error * max_error;

  if (n_triangles == 0 || max_error <= 0.0)
    return n_triangles;
  m.offset = g_new (guint32, n_vertices + 1);
  m.incident = g_new (guint32, (gsize) 3 * n_triangles);

  for (guint t = 0; t < n_triangles; t++)
    {
      const guint32 *tr = triangles + 3 * t;
      double n[3], len;
      triangle_normal (vertices[tr[0]].pos, vertices[tr[1]].pos, vertices[tr[2]].pos, n);
      len = sqrt (n[0] * n[0] + n[1] * n[1] + n[2] * n[2]);
      if (len < 1e-12)
        continue;
      for (int a = 0; a < 3; a++)
        n[a] /= len;
      for (int k = 0; k < 3; k++)
        quadric_add_plane (quadric + 10 * tr[k], n,
                           -(n[0] * vertices[tr[0]].pos[0] + n[1] * vertices[tr[0]].pos[1]
                             + n[2] * vertices[tr[0]].pos[2]));
    }

  /* Which vertices a pass looks at: all at first; then those whose surroundings the
   * previous pass changed (a vertex whose candidates were all refused and around which
   * nothing changed would be refused again). */
  memset (active, 1, n_vertices);
  for (int pass = 0; pass < MAX_PASSES; pass++)
    {
      guint n_done = 0, kept = 0;

      build_incidence (&m, n_vertices);
      if (pass > 0)
        {
          /* The neighbours of a vertex touched last pass: its quadric or its triangles
           * changed, and with them their costs. */
          memset (active, 0, n_vertices);
          for (guint t = 0; t < m.n_tri; t++)
            {
              const guint32 *tr = m.tri + 3 * t;
              if (touched[tr[0]] || touched[tr[1]] || touched[tr[2]] || deferred[tr[0]]
                  || deferred[tr[1]] || deferred[tr[2]])
                active[tr[0]] = active[tr[1]] = active[tr[2]] = 1;
            }
        }
      memset (touched, 0, n_vertices);
      memset (deferred, 0, n_vertices);
      /* Vertices in index order (the order marching cubes made them: deterministic); each
       * moves onto its cheapest neighbour when that stays within the bound. */
      for (guint32 u = 0; u < n_vertices; u++)
        {
          guint32 best_v = DEAD;
          double best = max_cost;
          if (!active[u] || locked[u] || m.offset[u] == m.offset[u + 1])
            continue;
          if (touched[u])
            {
              deferred[u] = 1;
              continue;
            }
          for (guint32 i = m.offset[u]; i < m.offset[u + 1]; i++)
            {
              guint32 a, b;
              double cost;
              others (&m, m.incident[i], u, &a, &b);
              /* a is the neighbour after u; each neighbour is "after" in one triangle. */
              if (touched[a])
                {
                  deferred[u] = 1;
                  continue;
                }
              cost = quadric_eval (quadric + 10 * u, vertices[a].pos)
                     + quadric_eval (quadric + 10 * a, vertices[a].pos);
              if (cost < best || (cost == best && best_v != DEAD && a < best_v))
                {
                  best = cost;
                  best_v = a;
                }
            }
          if (best_v == DEAD || !collapse_allowed (&m, u, best_v))
            continue;
          {
            guint32 v = best_v;
            for (guint32 i = m.offset[u]; i < m.offset[u + 1]; i++)
              {
                guint32 *tr = m.tri + 3 * m.incident[i];
                gboolean has_v = tr[0] == v || tr[1] == v || tr[2] == v;
                for (int k = 0; k < 3; k++)
                  {
                    touched[tr[k]] = 1;
                    if (tr[k] == u)
                      tr[k] = has_v ? DEAD : v;
                  }
              }
            for (int q = 0; q < 10; q++)
              quadric[10 * v + q] += quadric[10 * u + q];
            n_done++;
          }
        }
      /* Drop the triangles that died (a DEAD corner). */
      for (guint t = 0; t < m.n_tri; t++)
        {
          const guint32 *tr = m.tri + 3 * t;
          if (tr[0] == DEAD || tr[1] == DEAD || tr[2] == DEAD)
            continue;
          if (kept != t)
            for (int k = 0; k < 3; k++)
              m.tri[3 * kept + k] = tr[k];
          kept++;
        }
      m.n_tri = kept;
      if (n_done == 0)
        break;
    }
  g_free (m.offset);
  g_free (m.incident);
  return m.n_tri;
}
