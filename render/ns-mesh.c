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
  int n_blocks[3];
  Block *blocks;
  guint64 generation;
  double m[3][3];                /* vox2ras, linear part */
  double t[3];                   /* vox2ras, translation */
  double normal_m[3][3];         /* inverse transpose of m: gradients to RAS */
  gboolean mirror;               /* det (m) < 0: triangles turn the other way in RAS */
};

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
  NsSurfaces *s;
  double inv[3][3];
  gsize n;

  g_return_val_if_fail (grid != NULL, NULL);
  g_return_val_if_fail (block_size >= 4 && block_size <= 64, NULL);

  s = g_new0 (NsSurfaces, 1);
  s->grid = *grid;
  s->block = block_size;
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

guint64
ns_surfaces_get_generation (const NsSurfaces *surfaces)
{
  return surfaces->generation;
}

/* ---- one block ---------------------------------------------------------------------- */

/* Scratch of one block: the indicator on the cells' corners plus two voxels of halo, and
 * the smoothed field on the corners plus one. */
typedef struct
{
  int lo[3];                     /* first cell */
  int hi[3];                     /* one past the last cell; corners lo .. hi */
  int rn[3];                     /* indicator region size: hi - lo + 5, from lo - 2 */
  guint8 *ind;
  float *tmp1, *tmp2, *field;    /* all of region size; field valid from lo - 1 to hi + 1 */
} Scratch;

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

static void
emit_vertex (const NsSurfaces *s, const Scratch *sc, const int cell[3], int edge,
             BlockSurface *bs)
{
  const guint8 *ec = _ns_marching_edge_corner[edge];
  int axis = edge / 4;
  int p[3], q[3];
  double fp, fq, t, vox[3], grad[3], len = 0.0;
  NsMeshVertex v;
  guint64 key;
  gsize ip, iq;

  for (int a = 0; a < 3; a++)
    {
      p[a] = cell[a] + ((ec[0] >> a) & 1);
      q[a] = cell[a] + ((ec[1] >> a) & 1);
    }
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

  key = (((guint64) (p[2] + 1) * (guint64) (s->grid.dim[1] + 2) + (guint64) (p[1] + 1))
         * (guint64) (s->grid.dim[0] + 2) + (guint64) (p[0] + 1)) * 3 + (guint64) axis;
  g_array_append_val (bs->vertices, v);
  g_array_append_val (bs->keys, key);
}

/* A zero gradient (a symmetric configuration) leaves a vertex without a normal: it takes
 * its triangle's. */
static void
fix_normals (NsMeshVertex *tri)
{
  double e1[3], e2[3], n[3], len;

  for (int a = 0; a < 3; a++)
    {
      e1[a] = tri[1].pos[a] - tri[0].pos[a];
      e2[a] = tri[2].pos[a] - tri[0].pos[a];
    }
  n[0] = e1[1] * e2[2] - e1[2] * e2[1];
  n[1] = e1[2] * e2[0] - e1[0] * e2[2];
  n[2] = e1[0] * e2[1] - e1[1] * e2[0];
  len = sqrt (n[0] * n[0] + n[1] * n[1] + n[2] * n[2]);
  if (len < 1e-12)
    return;
  for (int i = 0; i < 3; i++)
    if (tri[i].normal[0] == 0.0f && tri[i].normal[1] == 0.0f && tri[i].normal[2] == 0.0f)
      for (int a = 0; a < 3; a++)
        tri[i].normal[a] = (float) (n[a] / len);
}

static void
mesh_block (NsSurfaces *s, const guint8 *labels, const int b[3], Scratch *sc)
{
  const NsGrid *g = &s->grid;
  const NsMarchingCase *table = _ns_marching_table ();
  Block *block = &s->blocks[((gsize) b[2] * s->n_blocks[1] + b[1]) * s->n_blocks[0] + b[0]];
  gboolean present[256] = { FALSE };

  g_ptr_array_set_size (block->surfaces, 0);
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
        const guint8 *row = labels + ns_grid_index (g, 0, y, z);
        for (int x = MAX (sc->lo[0], 0); x <= MIN (sc->hi[0], g->dim[0] - 1); x++)
          present[row[x]] = TRUE;
      }

  for (int label = 1; label < 256; label++)
    {
      BlockSurface *bs;
      if (!present[label])
        continue;
      for (int z = 0; z < sc->rn[2]; z++)
        for (int y = 0; y < sc->rn[1]; y++)
          {
            int vz = z + sc->lo[2] - 2, vy = y + sc->lo[1] - 2;
            guint8 *out = sc->ind + ((gsize) z * sc->rn[1] + y) * sc->rn[0];
            if (vz < 0 || vz >= g->dim[2] || vy < 0 || vy >= g->dim[1])
              {
                memset (out, 0, sc->rn[0]);
                continue;
              }
            const guint8 *row = labels + ns_grid_index (g, 0, vy, vz);
            for (int x = 0; x < sc->rn[0]; x++)
              {
                int vx = x + sc->lo[0] - 2;
                out[x] = (vx >= 0 && vx < g->dim[0] && row[vx] == label) ? 1 : 0;
              }
          }
      smooth_indicator (sc);

      bs = g_new0 (BlockSurface, 1);
      bs->label = (guint8) label;
      bs->vertices = g_array_new (FALSE, FALSE, sizeof (NsMeshVertex));
      bs->keys = g_array_new (FALSE, FALSE, sizeof (guint64));
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
                {
                  /* The table turns counter-clockwise in voxel space; a mirroring
                   * voxel-to-RAS matrix turns that clockwise in RAS. */
                  for (int i = 0; i < 3; i++)
                    emit_vertex (s, sc, cell,
                                 mc->edges[3 * tr + (s->mirror && i > 0 ? 3 - i : i)], bs);
                  fix_normals (&g_array_index (bs->vertices, NsMeshVertex,
                                               bs->vertices->len - 3));
                }
            }
      if (bs->vertices->len == 0)
        block_surface_free (bs);
      else
        g_ptr_array_add (block->surfaces, bs);
    }
}

guint
ns_surfaces_update (NsSurfaces *surfaces, const guint8 *labels, const int box_lo[3],
                    const int box_hi[3])
{
  int blo[3], bhi[3];
  gsize region;
  Scratch sc = { 0 };
  guint n = 0;

  g_return_val_if_fail (surfaces != NULL && labels != NULL, 0);
  g_return_val_if_fail ((box_lo == NULL) == (box_hi == NULL), 0);

  for (int a = 0; a < 3; a++)
    {
      if (box_lo == NULL)
        {
          blo[a] = 0;
          bhi[a] = surfaces->n_blocks[a] - 1;
          continue;
        }
      /* An edited voxel v changes the field at v +- 1 and its gradient at v +- 2; the
       * cells with a corner there are v - 3 .. v + 2. */
      int clo = MAX (box_lo[a] - 3, -1), chi = MIN (box_hi[a] + 2, surfaces->grid.dim[a] - 1);
      if (clo > chi)
        return 0;
      blo[a] = (clo + 1) / surfaces->block;
      bhi[a] = (chi + 1) / surfaces->block;
    }

  region = (gsize) (surfaces->block + 5) * (surfaces->block + 5) * (surfaces->block + 5);
  sc.ind = g_new (guint8, region);
  sc.tmp1 = g_new0 (float, region);
  sc.tmp2 = g_new0 (float, region);
  sc.field = g_new0 (float, region);
  for (int bz = blo[2]; bz <= bhi[2]; bz++)
    for (int by = blo[1]; by <= bhi[1]; by++)
      for (int bx = blo[0]; bx <= bhi[0]; bx++)
        {
          int b[3] = { bx, by, bz };
          mesh_block (surfaces, labels, b, &sc);
          n++;
        }
  g_free (sc.ind);
  g_free (sc.tmp1);
  g_free (sc.tmp2);
  g_free (sc.field);
  surfaces->generation++;
  return n;
}

static gsize
n_blocks (const NsSurfaces *s)
{
  return (gsize) s->n_blocks[0] * s->n_blocks[1] * s->n_blocks[2];
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
