/* SPDX-License-Identifier: MIT
 *
 * ns-mesh.c: block-wise marching cubes on label maps (see ns-mesh.h for the smoothing and
 * the exactness of block updates), the brain mask for the outline, and the geometry of
 * triangle soups (area, volume, ray picking).
 *
 * Cells: cell c (per axis) has the voxels c and c + 1 at its corners, for c = -1 .. dim - 1,
 * so that the cells on the outer layer see the outside (background) and surfaces touching
 * the grid's faces are closed.  Block b holds cells -1 + b * B .. -1 + (b + 1) * B - 1.
 */
#define G_LOG_DOMAIN "neuroseg-render"

#include "ns-mesh.h"
#include "ns-mesh-private.h"
#include "ns-labels.h"
#include "ns-normalize.h"

#include <math.h>
#include <string.h>

typedef struct
{
  guint8 label;
  GArray *vertices;              /* NsMeshVertex */
  GArray *keys;                  /* guint64, one per vertex */
} BlockSurface;

typedef struct
{
  GPtrArray *surfaces;           /* BlockSurface, by label value */
} Block;

struct _NsSurfaces
{
  NsGrid grid;
  int block;
  NsSurfaceKind kind;
  NsMeshDecimation decimation;
  int n_blocks[3];
  Block *blocks;
  guint64 generation;
  double m[3][3];                /* vox2ras, linear part */
  double t[3];                   /* vox2ras, translation */
  double normal_m[3][3];         /* inverse transpose of m: gradients to RAS */
  gboolean mirror;               /* det (m) < 0: triangles turn the other way in RAS */
};

/* Generations are unique across all surfaces, so that a renderer that compares a pointer
 * and a generation cannot mistake new surfaces allocated where old ones were for them. */
static gsize last_generation;

static guint64
next_generation (void)
{
  return (guint64) g_atomic_pointer_add (&last_generation, 1) + 1;
}

static void
block_surface_free (gpointer data)
{
  BlockSurface *bs = data;
  g_array_unref (bs->vertices);
  g_array_unref (bs->keys);
  g_free (bs);
}

static void
invert3 (const double m[3][3], double inv[3][3])
{
  double det = m[0][0] * (m[1][1] * m[2][2] - m[1][2] * m[2][1])
               - m[0][1] * (m[1][0] * m[2][2] - m[1][2] * m[2][0])
               + m[0][2] * (m[1][0] * m[2][1] - m[1][1] * m[2][0]);
  if (fabs (det) < 1e-12)
    det = 1e-12;                 /* a singular grid still meshes, with poor normals */
  inv[0][0] = (m[1][1] * m[2][2] - m[1][2] * m[2][1]) / det;
  inv[0][1] = (m[0][2] * m[2][1] - m[0][1] * m[2][2]) / det;
  inv[0][2] = (m[0][1] * m[1][2] - m[0][2] * m[1][1]) / det;
  inv[1][0] = (m[1][2] * m[2][0] - m[1][0] * m[2][2]) / det;
  inv[1][1] = (m[0][0] * m[2][2] - m[0][2] * m[2][0]) / det;
  inv[1][2] = (m[0][2] * m[1][0] - m[0][0] * m[1][2]) / det;
  inv[2][0] = (m[1][0] * m[2][1] - m[1][1] * m[2][0]) / det;
  inv[2][1] = (m[0][1] * m[2][0] - m[0][0] * m[2][1]) / det;
  inv[2][2] = (m[0][0] * m[1][1] - m[0][1] * m[1][0]) / det;
}

NsSurfaces *
ns_surfaces_new (const NsGrid *grid, int block_size)
{
  return ns_surfaces_new_full (grid, block_size, NS_SURFACES_LABELS, NS_MESH_DECIMATE_OFF);
}

NsSurfaces *
ns_surfaces_new_full (const NsGrid *grid, int block_size, NsSurfaceKind kind,
                      NsMeshDecimation decimation)
{
  NsSurfaces *s;
  double inv[3][3];
  gsize n;

  g_return_val_if_fail (grid != NULL, NULL);
  g_return_val_if_fail (block_size >= 4 && block_size <= 64, NULL);
  g_return_val_if_fail (kind == NS_SURFACES_LABELS || kind == NS_SURFACES_REGIONS, NULL);
  g_return_val_if_fail (decimation >= NS_MESH_DECIMATE_OFF
                        && decimation <= NS_MESH_DECIMATE_STRONG, NULL);

  s = g_new0 (NsSurfaces, 1);
  s->grid = *grid;
  s->block = block_size;
  s->kind = kind;
  s->decimation = decimation;
  s->generation = next_generation ();
  for (int a = 0; a < 3; a++)
    s->n_blocks[a] = (grid->dim[a] + 1 + block_size - 1) / block_size;
  n = (gsize) s->n_blocks[0] * s->n_blocks[1] * s->n_blocks[2];
  s->blocks = g_new0 (Block, n);
  for (gsize b = 0; b < n; b++)
    s->blocks[b].surfaces = g_ptr_array_new_with_free_func (block_surface_free);
  for (int r = 0; r < 3; r++)
    {
      for (int c = 0; c < 3; c++)
        s->m[r][c] = grid->vox2ras[r][c];
      s->t[r] = grid->vox2ras[r][3];
    }
  s->mirror = s->m[0][0] * (s->m[1][1] * s->m[2][2] - s->m[1][2] * s->m[2][1])
              - s->m[0][1] * (s->m[1][0] * s->m[2][2] - s->m[1][2] * s->m[2][0])
              + s->m[0][2] * (s->m[1][0] * s->m[2][1] - s->m[1][1] * s->m[2][0]) < 0.0;
  invert3 (s->m, inv);
  for (int r = 0; r < 3; r++)
    for (int c = 0; c < 3; c++)
      s->normal_m[r][c] = inv[c][r];
  return s;
}

void
ns_surfaces_free (NsSurfaces *surfaces)
{
  gsize n;

  if (surfaces == NULL)
    return;
  n = (gsize) surfaces->n_blocks[0] * surfaces->n_blocks[1] * surfaces->n_blocks[2];
  for (gsize b = 0; b < n; b++)
    g_ptr_array_unref (surfaces->blocks[b].surfaces);
  g_free (surfaces->blocks);
  g_free (surfaces);
}

const NsGrid *
ns_surfaces_get_grid (const NsSurfaces *surfaces)
{
  return &surfaces->grid;
}

NsSurfaceKind
ns_surfaces_get_kind (const NsSurfaces *surfaces)
{
  return surfaces->kind;
}

NsMeshDecimation
ns_surfaces_get_decimation (const NsSurfaces *surfaces)
{
  return surfaces->decimation;
}

guint64
ns_surfaces_get_generation (const NsSurfaces *surfaces)
{
  return surfaces->generation;
}

/* ---- one block ---------------------------------------------------------------------- */

/* The voxels a job reads: labels of voxels origin .. origin + dim - 1 of the grid, in the
 * grid's order (a copy for a job on another thread, the caller's map otherwise). */
typedef struct
{
  const guint8 *data;
  int origin[3];
  int dim[3];
} Source;

static inline const guint8 *
source_row (const Source *src, int y, int z)
{
  return src->data + ((gsize) (z - src->origin[2]) * src->dim[1] + (y - src->origin[1]))
                       * src->dim[0] - src->origin[0];
}

/* Scratch of one block: the indicator on the cells' corners plus two voxels of halo, the
 * smoothed field on the corners plus one, and the block's indexed mesh. */
typedef struct
{
  int lo[3];                     /* first cell */
  int hi[3];                     /* one past the last cell; corners lo .. hi */
  int rn[3];                     /* indicator region size: hi - lo + 5, from lo - 2 */
  guint8 *ind;
  float *tmp1, *tmp2, *field;    /* all of region size; field valid from lo - 1 to hi + 1 */
  gint32 *edge_vertex;           /* (block + 1)^3 x 3: vertex of each cube edge, or -1 */
  GArray *vertices;              /* NsMeshVertex */
  GArray *keys;                  /* guint64 */
  GArray *locked;                /* guint8: on a block face, shared with a neighbour */
  GArray *triangles;             /* guint32, three per triangle */
} Scratch;

static void
scratch_init (Scratch *sc, int block)
{
  gsize region = (gsize) (block + 5) * (block + 5) * (block + 5);

  sc->ind = g_new (guint8, region);
  sc->tmp1 = g_new0 (float, region);
  sc->tmp2 = g_new0 (float, region);
  sc->field = g_new0 (float, region);
  sc->edge_vertex = g_new (gint32, (gsize) (block + 1) * (block + 1) * (block + 1) * 3);
  sc->vertices = g_array_new (FALSE, FALSE, sizeof (NsMeshVertex));
  sc->keys = g_array_new (FALSE, FALSE, sizeof (guint64));
  sc->locked = g_array_new (FALSE, FALSE, sizeof (guint8));
  sc->triangles = g_array_new (FALSE, FALSE, sizeof (guint32));
}

static void
scratch_clear (Scratch *sc)
{
  g_free (sc->ind);
  g_free (sc->tmp1);
  g_free (sc->tmp2);
  g_free (sc->field);
  g_free (sc->edge_vertex);
  g_array_unref (sc->vertices);
  g_array_unref (sc->keys);
  g_array_unref (sc->locked);
  g_array_unref (sc->triangles);
}

static inline gsize
ridx (const Scratch *sc, int x, int y, int z)
{
  /* x, y, z: voxel indices */
  return ((gsize) (z - sc->lo[2] + 2) * sc->rn[1] + (y - sc->lo[1] + 2)) * sc->rn[0]
         + (x - sc->lo[0] + 2);
}

static void
smooth_indicator (Scratch *sc)
{
  const int sx = 1, sy = sc->rn[0], sz = sc->rn[0] * sc->rn[1];
  /* The binomial [1 2 1] / 4 along x, then y, then z, each where its neighbours exist. */
  for (int z = 0; z < sc->rn[2]; z++)
    for (int y = 0; y < sc->rn[1]; y++)
      for (int x = 1; x < sc->rn[0] - 1; x++)
        {
          gsize i = ((gsize) z * sc->rn[1] + y) * sc->rn[0] + x;
          sc->tmp1[i] = 0.25f * (sc->ind[i - sx] + 2 * sc->ind[i] + sc->ind[i + sx]);
        }
  for (int z = 0; z < sc->rn[2]; z++)
    for (int y = 1; y < sc->rn[1] - 1; y++)
      for (int x = 1; x < sc->rn[0] - 1; x++)
        {
          gsize i = ((gsize) z * sc->rn[1] + y) * sc->rn[0] + x;
          sc->tmp2[i] = 0.25f * (sc->tmp1[i - sy] + 2.0f * sc->tmp1[i] + sc->tmp1[i + sy]);
        }
  for (int z = 1; z < sc->rn[2] - 1; z++)
    for (int y = 1; y < sc->rn[1] - 1; y++)
      for (int x = 1; x < sc->rn[0] - 1; x++)
        {
          gsize i = ((gsize) z * sc->rn[1] + y) * sc->rn[0] + x;
          sc->field[i] = 0.25f * (sc->tmp2[i - sz] + 2.0f * sc->tmp2[i] + sc->tmp2[i + sz]);
        }
}

/* The smoothed field's gradient along axis a at region index i: the central difference
 * averaged over the 3 x 3 neighbours across the axis with weights [1 2 1] / 4 (Sobel),
 * which takes the voxel grid's bias out of the direction: the normals of a voxelised
 * sphere are off by half the angle of plain central differences.  It reads the field one
 * voxel around i, as the central difference does, so the reach of an edit is unchanged. */
static inline double
sobel (const Scratch *sc, gsize i, int a)
{
  const gsize stride[3] = { 1, (gsize) sc->rn[0], (gsize) sc->rn[0] * sc->rn[1] };
  const gsize su = stride[(a + 1) % 3], sv = stride[(a + 2) % 3], sa = stride[a];
  static const double w[3] = { 0.25, 0.5, 0.25 };
  double g = 0.0;

  for (int u = -1; u <= 1; u++)
    for (int v = -1; v <= 1; v++)
      {
        gsize j = i + (gssize) u * (gssize) su + (gssize) v * (gssize) sv;
        g += w[u + 1] * w[v + 1] * (sc->field[j + sa] - sc->field[j - sa]);
      }
  return 0.5 * g;
}

/* The vertex on the given edge of cell, made on first use (the cells around an edge share
 * its vertex, so its position and normal are computed once per block). */
static guint32
edge_vertex (const NsSurfaces *s, Scratch *sc, const int cell[3], int edge)
{
  const guint8 *ec = _ns_marching_edge_corner[edge];
  const int side = s->block + 1;
  int axis = edge / 4;
  int p[3], q[3];
  double fp, fq, t, vox[3], grad[3], len = 0.0;
  NsMeshVertex v;
  guint64 key;
  guint8 locked = 0;
  gsize ip, iq, slot;

  for (int a = 0; a < 3; a++)
    {
      p[a] = cell[a] + ((ec[0] >> a) & 1);
      q[a] = cell[a] + ((ec[1] >> a) & 1);
    }
  slot = (((gsize) (p[2] - sc->lo[2]) * side + (p[1] - sc->lo[1])) * side
          + (p[0] - sc->lo[0])) * 3 + axis;
  if (sc->edge_vertex[slot] >= 0)
    return (guint32) sc->edge_vertex[slot];

  ip = ridx (sc, p[0], p[1], p[2]);
  iq = ridx (sc, q[0], q[1], q[2]);
  fp = sc->field[ip];
  fq = sc->field[iq];
  t = ((fp - 0.5) * (fq - 0.5) < 0.0) ? (0.5 - fp) / (fq - fp) : 0.5;
  for (int a = 0; a < 3; a++)
    vox[a] = p[a];
  vox[axis] += t;

  for (int a = 0; a < 3; a++)
    {
      double gp = sobel (sc, ip, a), gq = sobel (sc, iq, a);
      grad[a] = gp + t * (gq - gp);
    }
  for (int r = 0; r < 3; r++)
    {
      double n = 0.0;
      v.pos[r] = (float) (s->m[r][0] * vox[0] + s->m[r][1] * vox[1] + s->m[r][2] * vox[2]
                          + s->t[r]);
      /* The field grows inward: the outward normal is minus its gradient. */
      for (int c = 0; c < 3; c++)
        n -= s->normal_m[r][c] * grad[c];
      v.normal[r] = (float) n;
      len += n * n;
    }
  len = sqrt (len);
  for (int r = 0; r < 3; r++)
    v.normal[r] = len > 1e-9 ? (float) (v.normal[r] / len) : 0.0f;

  /* The cells around the edge are p[b] - 1 and p[b] across each other axis b; they lie in
   * two blocks when p[b] + 1 is a multiple of the block size (cell c is in block
   * (c + 1) / block).  Such a vertex is also the neighbour's: decimation leaves it. */
  for (int b = 0; b < 3; b++)
    if (b != axis && (p[b] + 1) % s->block == 0)
      locked = 1;

  key = (((guint64) (p[2] + 1) * (guint64) (s->grid.dim[1] + 2) + (guint64) (p[1] + 1))
         * (guint64) (s->grid.dim[0] + 2) + (guint64) (p[0] + 1)) * 3 + (guint64) axis;
  g_array_append_val (sc->vertices, v);
  g_array_append_val (sc->keys, key);
  g_array_append_val (sc->locked, locked);
  sc->edge_vertex[slot] = (gint32) (sc->vertices->len - 1);
  return sc->vertices->len - 1;
}

/* A zero gradient (a symmetric configuration) leaves a vertex without a normal: it takes
 * that of the first triangle that uses it. */
static void
fix_normals (Scratch *sc)
{
  NsMeshVertex *vs = (NsMeshVertex *) sc->vertices->data;
  const guint32 *tr = (const guint32 *) sc->triangles->data;

  for (guint t = 0; t + 2 < sc->triangles->len; t += 3)
    {
      double e1[3], e2[3], n[3], len;
      gboolean any = FALSE;
      for (int i = 0; i < 3; i++)
        {
          const float *nv = vs[tr[t + i]].normal;
          any |= nv[0] == 0.0f && nv[1] == 0.0f && nv[2] == 0.0f;
        }
      if (!any)
        continue;
      for (int a = 0; a < 3; a++)
        {
          e1[a] = vs[tr[t + 1]].pos[a] - vs[tr[t]].pos[a];
          e2[a] = vs[tr[t + 2]].pos[a] - vs[tr[t]].pos[a];
        }
      n[0] = e1[1] * e2[2] - e1[2] * e2[1];
      n[1] = e1[2] * e2[0] - e1[0] * e2[2];
      n[2] = e1[0] * e2[1] - e1[1] * e2[0];
      len = sqrt (n[0] * n[0] + n[1] * n[1] + n[2] * n[2]);
      if (len < 1e-12)
        continue;
      for (int i = 0; i < 3; i++)
        {
          float *nv = vs[tr[t + i]].normal;
          if (nv[0] == 0.0f && nv[1] == 0.0f && nv[2] == 0.0f)
            for (int a = 0; a < 3; a++)
              nv[a] = (float) (n[a] / len);
        }
    }
}

/* Which label values are inside surface id: the value itself for label surfaces; for
 * region surfaces (id 1 + NsRegion) the labels of the region (ns-labels.h). */
static void
surface_members (const NsSurfaces *s, int id, guint8 member[256])
{
  for (int v = 0; v < 256; v++)
    member[v] = s->kind == NS_SURFACES_LABELS
                  ? v == id
                  : v != 0 && ns_region_contains ((NsRegion) (id - 1), (guint8) v);
}

static double
decimation_error_mm (const NsSurfaces *s)
{
  double spacing = MIN (s->grid.spacing[0], MIN (s->grid.spacing[1], s->grid.spacing[2]));

  switch (s->decimation)
    {
    case NS_MESH_DECIMATE_NORMAL:
      return NS_MESH_DECIMATE_NORMAL_ERROR * spacing;
    case NS_MESH_DECIMATE_STRONG:
      return NS_MESH_DECIMATE_STRONG_ERROR * spacing;
    case NS_MESH_DECIMATE_OFF:
    default:
      return 0.0;
    }
}

/* The surfaces of block b (a new GPtrArray of BlockSurface), from src, which holds at
 * least the block's corners and two voxels of halo that lie in the grid. */
static GPtrArray *
mesh_block (const NsSurfaces *s, const Source *src, const int b[3], Scratch *sc)
{
  const NsGrid *g = &s->grid;
  const NsMarchingCase *table = _ns_marching_table ();
  const int n_ids = s->kind == NS_SURFACES_LABELS ? 255 : NS_N_REGIONS;
  const double max_error = decimation_error_mm (s);
  const gsize n_slots = (gsize) (s->block + 1) * (s->block + 1) * (s->block + 1) * 3;
  GPtrArray *out = g_ptr_array_new_with_free_func (block_surface_free);
  gboolean present[256] = { FALSE };

  for (int a = 0; a < 3; a++)
    {
      sc->lo[a] = -1 + b[a] * s->block;
      sc->hi[a] = MIN (sc->lo[a] + s->block, g->dim[a]);
      sc->rn[a] = sc->hi[a] - sc->lo[a] + 5;
    }

  /* Labels on the corners inside the grid: only they can have a surface here. */
  for (int z = MAX (sc->lo[2], 0); z <= MIN (sc->hi[2], g->dim[2] - 1); z++)
    for (int y = MAX (sc->lo[1], 0); y <= MIN (sc->hi[1], g->dim[1] - 1); y++)
      {
        const guint8 *row = source_row (src, y, z);
        /* Mostly background: a branch that is rarely taken beats a store per voxel. */
        for (int x = MAX (sc->lo[0], 0); x <= MIN (sc->hi[0], g->dim[0] - 1); x++)
          if (row[x] != 0)
            present[row[x]] = TRUE;
      }

  for (int id = 1; id <= n_ids; id++)
    {
      BlockSurface *bs;
      guint8 member[256];
      gboolean any = FALSE;
      guint n_triangles;

      if (s->kind == NS_SURFACES_LABELS && !present[id])
        continue;
      surface_members (s, id, member);
      for (int v = 1; v < 256 && !any; v++)
        any = present[v] && member[v];
      if (!any)
        continue;
      for (int z = 0; z < sc->rn[2]; z++)
        for (int y = 0; y < sc->rn[1]; y++)
          {
            int vz = z + sc->lo[2] - 2, vy = y + sc->lo[1] - 2;
            guint8 *ind = sc->ind + ((gsize) z * sc->rn[1] + y) * sc->rn[0];
            if (vz < 0 || vz >= g->dim[2] || vy < 0 || vy >= g->dim[1])
              {
                memset (ind, 0, sc->rn[0]);
                continue;
              }
            const guint8 *row = source_row (src, vy, vz);
            for (int x = 0; x < sc->rn[0]; x++)
              {
                int vx = x + sc->lo[0] - 2;
                ind[x] = (vx >= 0 && vx < g->dim[0]) ? member[row[vx]] : 0;
              }
          }
      smooth_indicator (sc);

      memset (sc->edge_vertex, 0xff, n_slots * sizeof (gint32));
      g_array_set_size (sc->vertices, 0);
      g_array_set_size (sc->keys, 0);
      g_array_set_size (sc->locked, 0);
      g_array_set_size (sc->triangles, 0);
      for (int z = sc->lo[2]; z < sc->hi[2]; z++)
        for (int y = sc->lo[1]; y < sc->hi[1]; y++)
          for (int x = sc->lo[0]; x < sc->hi[0]; x++)
            {
              int config = 0, cell[3] = { x, y, z };
              const NsMarchingCase *mc;
              for (int c = 0; c < 8; c++)
                if (sc->ind[ridx (sc, x + (c & 1), y + ((c >> 1) & 1), z + ((c >> 2) & 1))])
                  config |= 1 << c;
              if (config == 0 || config == 255)
                continue;
              mc = &table[config];
              for (int tr = 0; tr < mc->n_triangles; tr++)
                /* The table turns counter-clockwise in voxel space; a mirroring
                 * voxel-to-RAS matrix turns that clockwise in RAS. */
                for (int i = 0; i < 3; i++)
                  {
                    guint32 vi = edge_vertex (s, sc, cell,
                                              mc->edges[3 * tr + (s->mirror && i > 0 ? 3 - i : i)]);
                    g_array_append_val (sc->triangles, vi);
                  }
            }
      if (sc->triangles->len == 0)
        continue;
      fix_normals (sc);
      n_triangles = sc->triangles->len / 3;
      if (max_error > 0.0)
        n_triangles = _ns_mesh_decimate ((const NsMeshVertex *) sc->vertices->data,
                                         (const guint8 *) sc->locked->data, sc->vertices->len,
                                         (guint32 *) sc->triangles->data, n_triangles,
                                         max_error);

      bs = g_new0 (BlockSurface, 1);
      bs->label = (guint8) id;
      bs->vertices = g_array_sized_new (FALSE, FALSE, sizeof (NsMeshVertex), 3 * n_triangles);
      bs->keys = g_array_sized_new (FALSE, FALSE, sizeof (guint64), 3 * n_triangles);
      for (guint i = 0; i < 3 * n_triangles; i++)
        {
          guint32 vi = g_array_index (sc->triangles, guint32, i);
          g_array_append_val (bs->vertices, g_array_index (sc->vertices, NsMeshVertex, vi));
          g_array_append_val (bs->keys, g_array_index (sc->keys, guint64, vi));
        }
      g_ptr_array_add (out, bs);
    }
  return out;
}

/* ---- jobs: meshing the blocks an edit reaches, on any thread -------------------------- */

struct _NsSurfacesJob
{
  NsSurfaces config;             /* a copy of the surfaces' settings; blocks NULL */
  int blo[3], bhi[3];            /* the blocks to mesh */
  Source src;
  guint8 *copy;                  /* src.data when the job owns its voxels */
  GPtrArray **result;            /* per block of blo .. bhi, once run */
  gboolean done;
};

static gsize
n_blocks (const NsSurfaces *s)
{
  return (gsize) s->n_blocks[0] * s->n_blocks[1] * s->n_blocks[2];
}

static gsize
job_n_blocks (const NsSurfacesJob *job)
{
  return (gsize) (job->bhi[0] - job->blo[0] + 1) * (job->bhi[1] - job->blo[1] + 1)
         * (job->bhi[2] - job->blo[2] + 1);
}

/* The job for the blocks voxels box_lo .. box_hi can affect (NULL: all), reading labels
 * in place (copy FALSE) or from a copy of the voxels those blocks read; NULL when the box
 * is outside the grid. */
static NsSurfacesJob *
job_new (const NsSurfaces *s, const guint8 *labels, const int box_lo[3], const int box_hi[3],
         gboolean copy)
{
  NsSurfacesJob *job;
  const NsGrid *g = &s->grid;
  int blo[3], bhi[3];

  for (int a = 0; a < 3; a++)
    {
      if (box_lo == NULL)
        {
          blo[a] = 0;
          bhi[a] = s->n_blocks[a] - 1;
          continue;
        }
      /* An edited voxel v changes the field at v +- 1 and its gradient at v +- 2; the
       * cells with a corner there are v - 3 .. v + 2. */
      int clo = MAX (box_lo[a] - 3, -1), chi = MIN (box_hi[a] + 2, g->dim[a] - 1);
      if (clo > chi)
        return NULL;
      blo[a] = (clo + 1) / s->block;
      bhi[a] = (chi + 1) / s->block;
    }

  job = g_new0 (NsSurfacesJob, 1);
  job->config = *s;
  job->config.blocks = NULL;
  memcpy (job->blo, blo, sizeof blo);
  memcpy (job->bhi, bhi, sizeof bhi);
  if (!copy)
    {
      job->src.data = labels;
      for (int a = 0; a < 3; a++)
        job->src.dim[a] = g->dim[a];
      return job;
    }
  /* The blocks' corners are cells -1 + blo * B .. -1 + (bhi + 1) * B; the indicator reads
   * two voxels further. */
  for (int a = 0; a < 3; a++)
    {
      int lo = MAX (-1 + blo[a] * s->block - 2, 0);
      int hi = MIN (-1 + (bhi[a] + 1) * s->block + 2, g->dim[a] - 1);
      job->src.origin[a] = lo;
      job->src.dim[a] = hi - lo + 1;
    }
  job->copy = g_new (guint8, (gsize) job->src.dim[0] * job->src.dim[1] * job->src.dim[2]);
  for (int z = 0; z < job->src.dim[2]; z++)
    for (int y = 0; y < job->src.dim[1]; y++)
      memcpy (job->copy + ((gsize) z * job->src.dim[1] + y) * job->src.dim[0],
              labels + ns_grid_index (g, job->src.origin[0], job->src.origin[1] + y,
                                      job->src.origin[2] + z),
              job->src.dim[0]);
  job->src.data = job->copy;
  return job;
}

NsSurfacesJob *
ns_surfaces_job_new (const NsSurfaces *surfaces, const guint8 *labels, const int box_lo[3],
                     const int box_hi[3])
{
  g_return_val_if_fail (surfaces != NULL && labels != NULL, NULL);
  g_return_val_if_fail ((box_lo == NULL) == (box_hi == NULL), NULL);
  return job_new (surfaces, labels, box_lo, box_hi, TRUE);
}

gboolean
ns_surfaces_job_run (NsSurfacesJob *job, GCancellable *cancellable)
{
  Scratch sc;
  gsize i = 0;

  g_return_val_if_fail (job != NULL && !job->done, FALSE);

  job->result = g_new0 (GPtrArray *, job_n_blocks (job));
  scratch_init (&sc, job->config.block);
  for (int bz = job->blo[2]; bz <= job->bhi[2]; bz++)
    for (int by = job->blo[1]; by <= job->bhi[1]; by++)
      for (int bx = job->blo[0]; bx <= job->bhi[0]; bx++)
        {
          int b[3] = { bx, by, bz };
          if (g_cancellable_is_cancelled (cancellable))
            {
              scratch_clear (&sc);
              return FALSE;
            }
          job->result[i++] = mesh_block (&job->config, &job->src, b, &sc);
        }
  scratch_clear (&sc);
  job->done = TRUE;
  return TRUE;
}

guint
ns_surfaces_job_apply (NsSurfaces *surfaces, NsSurfacesJob *job)
{
  gsize i = 0;

  g_return_val_if_fail (surfaces != NULL && job != NULL, 0);
  g_return_val_if_fail (job->done, 0);
  g_return_val_if_fail (ns_grid_equal (&surfaces->grid, &job->config.grid)
                        && surfaces->block == job->config.block
                        && surfaces->kind == job->config.kind
                        && surfaces->decimation == job->config.decimation, 0);

  for (int bz = job->blo[2]; bz <= job->bhi[2]; bz++)
    for (int by = job->blo[1]; by <= job->bhi[1]; by++)
      for (int bx = job->blo[0]; bx <= job->bhi[0]; bx++)
        {
          Block *block = &surfaces->blocks[((gsize) bz * surfaces->n_blocks[1] + by)
                                           * surfaces->n_blocks[0] + bx];
          g_ptr_array_unref (block->surfaces);
          block->surfaces = g_steal_pointer (&job->result[i]);
          block->surfaces = block->surfaces != NULL
                              ? block->surfaces
                              : g_ptr_array_new_with_free_func (block_surface_free);
          i++;
        }
  surfaces->generation = next_generation ();
  return (guint) i;
}

void
ns_surfaces_job_free (NsSurfacesJob *job)
{
  if (job == NULL)
    return;
  if (job->result != NULL)
    for (gsize i = 0; i < job_n_blocks (job); i++)
      if (job->result[i] != NULL)
        g_ptr_array_unref (job->result[i]);
  g_free (job->result);
  g_free (job->copy);
  g_free (job);
}

guint
ns_surfaces_update (NsSurfaces *surfaces, const guint8 *labels, const int box_lo[3],
                    const int box_hi[3])
{
  NsSurfacesJob *job;
  guint n;

  g_return_val_if_fail (surfaces != NULL && labels != NULL, 0);
  g_return_val_if_fail ((box_lo == NULL) == (box_hi == NULL), 0);

  job = job_new (surfaces, labels, box_lo, box_hi, FALSE);
  if (job == NULL)
    return 0;
  ns_surfaces_job_run (job, NULL);
  n = ns_surfaces_job_apply (surfaces, job);
  ns_surfaces_job_free (job);
  return n;
}

void
ns_surfaces_get_labels (const NsSurfaces *surfaces, gboolean present[256])
{
  memset (present, 0, 256 * sizeof (gboolean));
  for (gsize b = 0; b < n_blocks (surfaces); b++)
    for (guint i = 0; i < surfaces->blocks[b].surfaces->len; i++)
      present[((BlockSurface *) g_ptr_array_index (surfaces->blocks[b].surfaces, i))->label]
        = TRUE;
}

void
ns_surfaces_collect (const NsSurfaces *surfaces, guint8 label, GArray *vertices, GArray *keys)
{
  g_return_if_fail (surfaces != NULL && vertices != NULL);

  for (gsize b = 0; b < n_blocks (surfaces); b++)
    for (guint i = 0; i < surfaces->blocks[b].surfaces->len; i++)
      {
        BlockSurface *bs = g_ptr_array_index (surfaces->blocks[b].surfaces, i);
        if (bs->label != label)
          continue;
        g_array_append_vals (vertices, bs->vertices->data, bs->vertices->len);
        if (keys != NULL)
          g_array_append_vals (keys, bs->keys->data, bs->keys->len);
      }
}

gsize
ns_surfaces_n_triangles (const NsSurfaces *surfaces)
{
  gsize n = 0;

  for (gsize b = 0; b < n_blocks (surfaces); b++)
    for (guint i = 0; i < surfaces->blocks[b].surfaces->len; i++)
      n += ((BlockSurface *) g_ptr_array_index (surfaces->blocks[b].surfaces, i))
             ->vertices->len / 3;
  return n;
}

/* ---- the brain outline's mask ------------------------------------------------------- */

guint8 *
ns_surfaces_brain_mask_new (const NsVolume *image, int step, NsGrid *coarse_grid)
{
  const NsGrid *g = &image->grid;
  float background = ns_normalize_background_value (image);
  int cd[3];
  guint8 *mask;
  guint32 *count, *total;

  g_return_val_if_fail (image != NULL && step >= 1 && coarse_grid != NULL, NULL);

  for (int a = 0; a < 3; a++)
    cd[a] = (g->dim[a] + step - 1) / step;
  ns_grid_init (coarse_grid, cd[0], cd[1], cd[2], g->spacing[0] * step, g->spacing[1] * step,
                g->spacing[2] * step);
  /* Coarse voxel c covers fine voxels step * c .. step * c + step - 1, centred on
   * step * c + (step - 1) / 2. */
  for (int r = 0; r < 4; r++)
    for (int c = 0; c < 4; c++)
      coarse_grid->vox2ras[r][c] = (c < 3 && r < 3) ? g->vox2ras[r][c] * step : g->vox2ras[r][c];
  for (int r = 0; r < 3; r++)
    for (int c = 0; c < 3; c++)
      coarse_grid->vox2ras[r][3] += g->vox2ras[r][c] * (step - 1) / 2.0;

  count = g_new0 (guint32, ns_grid_n_voxels (coarse_grid));
  total = g_new0 (guint32, ns_grid_n_voxels (coarse_grid));
  for (int z = 0; z < g->dim[2]; z++)
    for (int y = 0; y < g->dim[1]; y++)
      {
        gsize fine = ns_grid_index (g, 0, y, z);
        gsize coarse_row = ns_grid_index (coarse_grid, 0, y / step, z / step);
        for (int x = 0; x < g->dim[0]; x++)
          {
            gsize c = coarse_row + x / step;
            total[c]++;
            if (ns_volume_get_value (image, fine + x) != background)
              count[c]++;
          }
      }
  mask = g_new (guint8, ns_grid_n_voxels (coarse_grid));
  for (gsize i = 0; i < ns_grid_n_voxels (coarse_grid); i++)
    mask[i] = (total[i] > 0 && 2 * count[i] >= total[i]) ? 1 : 0;
  g_free (count);
  g_free (total);
  return mask;
}

/* ---- geometry of triangle soups ---------------------------------------------------- */

double
ns_mesh_area (const NsMeshVertex *v, gsize n_vertices)
{
  double area = 0.0;

  for (gsize i = 0; i + 2 < n_vertices; i += 3)
    {
      double e1[3], e2[3], c[3];
      for (int a = 0; a < 3; a++)
        {
          e1[a] = (double) v[i + 1].pos[a] - v[i].pos[a];
          e2[a] = (double) v[i + 2].pos[a] - v[i].pos[a];
        }
      c[0] = e1[1] * e2[2] - e1[2] * e2[1];
      c[1] = e1[2] * e2[0] - e1[0] * e2[2];
      c[2] = e1[0] * e2[1] - e1[1] * e2[0];
      area += 0.5 * sqrt (c[0] * c[0] + c[1] * c[1] + c[2] * c[2]);
    }
  return area;
}

double
ns_mesh_volume (const NsMeshVertex *v, gsize n_vertices)
{
  double volume = 0.0;

  /* Sum of the signed volumes of the tetrahedra (origin, a, b, c): a . (b x c) / 6. */
  for (gsize i = 0; i + 2 < n_vertices; i += 3)
    {
      const float *a = v[i].pos, *b = v[i + 1].pos, *c = v[i + 2].pos;
      volume += ((double) a[0] * ((double) b[1] * c[2] - (double) b[2] * c[1])
                 + (double) a[1] * ((double) b[2] * c[0] - (double) b[0] * c[2])
                 + (double) a[2] * ((double) b[0] * c[1] - (double) b[1] * c[0])) / 6.0;
    }
  return volume;
}

gboolean
ns_mesh_ray_pick (const NsMeshVertex *v, gsize n_vertices, const double origin[3],
                  const double dir[3], double *t_hit)
{
  double best = INFINITY;

  for (gsize i = 0; i + 2 < n_vertices; i += 3)
    {
      double e1[3], e2[3], p[3], q[3], tv[3], det, u, w, t;
      for (int a = 0; a < 3; a++)
        {
          e1[a] = (double) v[i + 1].pos[a] - v[i].pos[a];
          e2[a] = (double) v[i + 2].pos[a] - v[i].pos[a];
          tv[a] = origin[a] - v[i].pos[a];
        }
      p[0] = dir[1] * e2[2] - dir[2] * e2[1];
      p[1] = dir[2] * e2[0] - dir[0] * e2[2];
      p[2] = dir[0] * e2[1] - dir[1] * e2[0];
      det = e1[0] * p[0] + e1[1] * p[1] + e1[2] * p[2];
      if (fabs (det) < 1e-12)
        continue;
      u = (tv[0] * p[0] + tv[1] * p[1] + tv[2] * p[2]) / det;
      if (u < 0.0 || u > 1.0)
        continue;
      q[0] = tv[1] * e1[2] - tv[2] * e1[1];
      q[1] = tv[2] * e1[0] - tv[0] * e1[2];
      q[2] = tv[0] * e1[1] - tv[1] * e1[0];
      w = (dir[0] * q[0] + dir[1] * q[1] + dir[2] * q[2]) / det;
      if (w < 0.0 || u + w > 1.0)
        continue;
      t = (e2[0] * q[0] + e2[1] * q[1] + e2[2] * q[2]) / det;
      if (t >= 0.0 && t < best)
        best = t;
    }
  if (!isfinite (best))
    return FALSE;
  if (t_hit != NULL)
    *t_hit = best;
  return TRUE;
}
