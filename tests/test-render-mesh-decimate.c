/* SPDX-License-Identifier: MIT
 *
 * test-render-mesh-decimate.c: what render/ns-mesh.h does beyond plain marching cubes:
 * decimation per block (a sphere and a torus stay closed and watertight across block
 * borders, keep their area and volume within a stated tolerance of the undecimated mesh
 * with at least a stated factor fewer triangles; rough multi-label blobs and noise stay
 * watertight and a one-voxel island stays; a block re-mesh after edits equals full
 * mesh and decimation of the same labels), WT / TC / ET region surfaces of three nested
 * balls, and jobs (the update split so that meshing runs on another thread) giving the
 * same surfaces as an update in place, superseded edits included.
 */
#define G_LOG_DOMAIN "ns-test"

#include "ns-labels.h"
#include "ns-mesh.h"
#include "ns-mesh-private.h"
#include "ns-render-test-synth.h"
#include "ns-test-mesh.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Stated tolerances of decimation against the undecimated mesh of the same labels, with
 * the workbench's block size (NS_SURFACES_BLOCK_SIZE, 8: measured 2.3x and 2.9x fewer
 * triangles, area and volume within 0.2 % and 0.6 %). */
#define NORMAL_MAX_REL_AREA 0.005
#define NORMAL_MAX_REL_VOLUME 0.005
#define NORMAL_MIN_FACTOR 2.0
#define STRONG_MAX_REL_AREA 0.01
#define STRONG_MAX_REL_VOLUME 0.01
#define STRONG_MIN_FACTOR 2.5
#define BLOCK NS_SURFACES_BLOCK_SIZE

/* A torus around the S axis through centre: ring radius R, tube radius r (mm). */
static void
paint_torus (const NsGrid *grid, guint8 *labels, const double centre[3], double R, double r,
             guint8 value)
{
  for (int k = 0; k < grid->dim[2]; k++)
    for (int j = 0; j < grid->dim[1]; j++)
      for (int i = 0; i < grid->dim[0]; i++)
        {
          double vox[3] = { i, j, k }, ras[3], rho, dz;
          ns_geometry_voxel_to_ras (grid, vox, ras);
          rho = hypot (ras[0] - centre[0], ras[1] - centre[1]) - R;
          dz = ras[2] - centre[2];
          if (rho * rho + dz * dz <= r * r)
            labels[ns_grid_index (grid, i, j, k)] = value;
        }
}

/* The Euler characteristic V - E + F of a surface (vertices and edges by key): the
 * decimation may not change it (a collapse that pinches the surface or closes a handle
 * would). */
static gint64
euler_characteristic (const NsSurfaces *s, guint8 id)
{
  g_autoptr (GArray) v = g_array_new (FALSE, FALSE, sizeof (NsMeshVertex));
  g_autoptr (GArray) keys = g_array_new (FALSE, FALSE, sizeof (guint64));
  g_autoptr (GHashTable) vertices = g_hash_table_new_full (g_int64_hash, g_int64_equal,
                                                           g_free, NULL);
  g_autoptr (GHashTable) edges = g_hash_table_new_full (g_bytes_hash, g_bytes_equal,
                                                        (GDestroyNotify) g_bytes_unref, NULL);

  ns_surfaces_collect (s, id, v, keys);
  for (guint i = 0; i < keys->len; i++)
    {
      guint64 a = g_array_index (keys, guint64, i);
      guint64 b = g_array_index (keys, guint64, i - i % 3 + (i + 1) % 3);
      guint64 pair[2] = { MIN (a, b), MAX (a, b) };
      g_hash_table_add (vertices, g_memdup2 (&a, sizeof a));
      g_hash_table_add (edges, g_bytes_new (pair, sizeof pair));
    }
  return (gint64) g_hash_table_size (vertices) - (gint64) g_hash_table_size (edges)
         + (gint64) (keys->len / 3);
}

static int
compare_keys (gconstpointer a, gconstpointer b)
{
  guint64 x = *(const guint64 *) a, y = *(const guint64 *) b;
  return (x > y) - (x < y);
}

/* No two triangles on the same three vertices: a fold (two triangles back to back, what
 * a collapse next to a vertex of three triangles leaves) is balanced edge for edge, so
 * assert_watertight () cannot see it. */
static void
assert_no_folds (const NsSurfaces *s, guint8 id)
{
  g_autoptr (GArray) v = g_array_new (FALSE, FALSE, sizeof (NsMeshVertex));
  g_autoptr (GArray) keys = g_array_new (FALSE, FALSE, sizeof (guint64));
  g_autoptr (GHashTable) seen = g_hash_table_new_full (g_bytes_hash, g_bytes_equal,
                                                       (GDestroyNotify) g_bytes_unref, NULL);

  ns_surfaces_collect (s, id, v, keys);
  for (guint t = 0; t < keys->len; t += 3)
    {
      guint64 k[3];
      GBytes *b;
      memcpy (k, &g_array_index (keys, guint64, t), sizeof k);
      qsort (k, 3, sizeof (guint64), compare_keys);
      b = g_bytes_new (k, sizeof k);
      if (!g_hash_table_add (seen, b))
        g_error ("surface %d: two triangles on vertices %" G_GUINT64_FORMAT ", %"
                 G_GUINT64_FORMAT ", %" G_GUINT64_FORMAT " (a fold)", id, k[0], k[1], k[2]);
    }
}

typedef struct
{
  gsize n_triangles;
  double area, volume;
} Measure;

static Measure
measure (const NsSurfaces *s, guint8 id)
{
  g_autoptr (GArray) v = g_array_new (FALSE, FALSE, sizeof (NsMeshVertex));
  Measure m;

  ns_surfaces_collect (s, id, v, NULL);
  m.n_triangles = v->len / 3;
  m.area = ns_mesh_area ((NsMeshVertex *) v->data, v->len);
  m.volume = ns_mesh_volume ((NsMeshVertex *) v->data, v->len);
  return m;
}

/* Meshes labels at each level; checks watertightness and the stated tolerances. */
static void
check_levels (const NsGrid *grid, const guint8 *labels, guint8 label, const char *what)
{
  NsSurfaces *off = ns_surfaces_new_full (grid, BLOCK, NS_SURFACES_LABELS, NS_MESH_DECIMATE_OFF);
  Measure m0;

  ns_surfaces_update (off, labels, NULL, NULL);
  m0 = measure (off, label);
  g_assert_cmpfloat (m0.volume, >, 0.0);
  for (NsMeshDecimation level = NS_MESH_DECIMATE_NORMAL; level <= NS_MESH_DECIMATE_STRONG;
       level++)
    {
      NsSurfaces *s = ns_surfaces_new_full (grid, BLOCK, NS_SURFACES_LABELS, level);
      gboolean strong = level == NS_MESH_DECIMATE_STRONG;
      Measure m;
      double rel_area, rel_volume, factor;

      ns_surfaces_update (s, labels, NULL, NULL);
      assert_watertight (s, label);
      assert_no_folds (s, label);
      g_assert_cmpint (euler_characteristic (s, label), ==, euler_characteristic (off, label));
      m = measure (s, label);
      rel_area = fabs (m.area - m0.area) / m0.area;
      rel_volume = fabs (m.volume - m0.volume) / m0.volume;
      factor = (double) m0.n_triangles / m.n_triangles;
      g_test_message ("%s, %s: %" G_GSIZE_FORMAT " -> %" G_GSIZE_FORMAT " triangles (%.2fx), "
                      "area %+.3f%%, volume %+.3f%%", what, strong ? "strong" : "normal",
                      m0.n_triangles, m.n_triangles, factor,
                      100.0 * (m.area - m0.area) / m0.area,
                      100.0 * (m.volume - m0.volume) / m0.volume);
      g_assert_cmpfloat (rel_area, <=, strong ? STRONG_MAX_REL_AREA : NORMAL_MAX_REL_AREA);
      g_assert_cmpfloat (rel_volume, <=, strong ? STRONG_MAX_REL_VOLUME : NORMAL_MAX_REL_VOLUME);
      g_assert_cmpfloat (factor, >=, strong ? STRONG_MIN_FACTOR : NORMAL_MIN_FACTOR);
      ns_surfaces_free (s);
    }
  ns_surfaces_free (off);
}

static void
test_decimate_sphere (void)
{
  NsGrid grid;
  g_autofree guint8 *labels = NULL;
  const double centre[3] = { 1.3, -0.7, 0.4 };

  /* Anisotropic and mirrored (LPS), the ball crossing many block borders. */
  synth_grid (&grid, "LPS", 64, 60, 44, 1.0, 1.0, 1.5);
  labels = g_new0 (guint8, ns_grid_n_voxels (&grid));
  paint_ball (&grid, labels, centre, 24.0, 2);
  check_levels (&grid, labels, 2, "sphere r 24 mm");
}

static void
test_decimate_torus (void)
{
  NsGrid grid;
  g_autofree guint8 *labels = NULL;
  const double centre[3] = { 0.5, 0.5, 0.5 };

  synth_grid (&grid, "RAS", 64, 64, 32, 1.0, 1.0, 1.0);
  labels = g_new0 (guint8, ns_grid_n_voxels (&grid));
  paint_torus (&grid, labels, centre, 18.0, 8.0, 1);
  check_levels (&grid, labels, 1, "torus R 18 r 8 mm");
}

/* Edits re-mesh and decimate only their blocks; the result equals a full mesh and
 * decimation of the final labels, triangle for triangle. */
static void
test_decimate_block_update (void)
{
  NsGrid grid;
  g_autofree guint8 *labels = NULL;
  const double c1[3] = { 0, 0, 0 }, c2[3] = { 6, 4, -3 }, c3[3] = { -9, 5, 2 };
  NsSurfaces *inc, *full;
  int lo[3] = { 18, 20, 8 }, hi[3] = { 26, 30, 14 };
  guint total, n;

  synth_grid (&grid, "LPS", 70, 60, 40, 1.0, 1.0, 1.5);
  labels = g_new0 (guint8, ns_grid_n_voxels (&grid));
  paint_ball (&grid, labels, c1, 16.0, 2);
  paint_ball (&grid, labels, c2, 7.0, 1);
  inc = ns_surfaces_new_full (&grid, BLOCK, NS_SURFACES_LABELS, NS_MESH_DECIMATE_NORMAL);
  total = ns_surfaces_update (inc, labels, NULL, NULL);

  for (int k = lo[2]; k <= hi[2]; k++)
    for (int j = lo[1]; j <= hi[1]; j++)
      for (int i = lo[0]; i <= hi[0]; i++)
        labels[ns_grid_index (&grid, i, j, k)] = (i + j) % 7 == 0 ? 0 : 3;
  n = ns_surfaces_update (inc, labels, lo, hi);
  g_assert_cmpuint (n, <, total);
  {
    g_autofree guint8 *before = g_memdup2 (labels, ns_grid_n_voxels (&grid));
    paint_ball (&grid, labels, c3, 5.0, 4);
    for (int a = 0; a < 3; a++)
      {
        lo[a] = G_MAXINT;
        hi[a] = -1;
      }
    for (int k = 0; k < grid.dim[2]; k++)
      for (int j = 0; j < grid.dim[1]; j++)
        for (int i = 0; i < grid.dim[0]; i++)
          if (labels[ns_grid_index (&grid, i, j, k)] != before[ns_grid_index (&grid, i, j, k)])
            {
              int ijk[3] = { i, j, k };
              for (int a = 0; a < 3; a++)
                {
                  lo[a] = MIN (lo[a], ijk[a]);
                  hi[a] = MAX (hi[a], ijk[a]);
                }
            }
    ns_surfaces_update (inc, labels, lo, hi);
  }

  full = ns_surfaces_new_full (&grid, BLOCK, NS_SURFACES_LABELS, NS_MESH_DECIMATE_NORMAL);
  ns_surfaces_update (full, labels, NULL, NULL);
  assert_same_surfaces (inc, full);
  for (int l = 1; l <= 4; l++)
    assert_watertight (inc, (guint8) l);
  ns_surfaces_free (inc);
  ns_surfaces_free (full);
}

/* _ns_mesh_decimate () on its own, with no error bound to speak of: an octahedron
 * shrinks to a tetrahedron and no further (fewer than four vertices cannot enclose
 * anything: the link condition refuses); a flat square patch of 8 x 8 quads with its rim
 * locked collapses inside while every rim edge survives, turning the same way. */
static void
test_decimate_limits (void)
{
  static const float oct[6][3] = { { 1, 0, 0 }, { -1, 0, 0 }, { 0, 1, 0 }, { 0, -1, 0 },
                                   { 0, 0, 1 }, { 0, 0, -1 } };
  static const guint32 oct_tri[8][3] = { { 0, 2, 4 }, { 2, 1, 4 }, { 1, 3, 4 }, { 3, 0, 4 },
                                         { 2, 0, 5 }, { 1, 2, 5 }, { 3, 1, 5 }, { 0, 3, 5 } };
  NsMeshVertex v[81];
  guint8 locked[81] = { 0 };
  guint32 tri[2 * 64 * 3];
  guint n;

  for (int i = 0; i < 6; i++)
    {
      memcpy (v[i].pos, oct[i], sizeof v[i].pos);
      memcpy (v[i].normal, oct[i], sizeof v[i].normal);
    }
  memcpy (tri, oct_tri, sizeof oct_tri);
  n = _ns_mesh_decimate (v, locked, 6, tri, 8, 100.0);
  g_assert_cmpuint (n, ==, 4);
  for (guint t = 0; t < n; t++)
    g_assert_true (tri[3 * t] != tri[3 * t + 1] && tri[3 * t + 1] != tri[3 * t + 2]
                   && tri[3 * t] != tri[3 * t + 2]);

  /* The patch: vertex (x, y) = 9 y + x, two triangles per quad, rim locked. */
  for (int y = 0; y <= 8; y++)
    for (int x = 0; x <= 8; x++)
      {
        NsMeshVertex *p = &v[9 * y + x];
        p->pos[0] = x, p->pos[1] = y, p->pos[2] = 0;
        p->normal[0] = p->normal[1] = 0, p->normal[2] = 1;
        locked[9 * y + x] = x == 0 || y == 0 || x == 8 || y == 8;
      }
  n = 0;
  for (int y = 0; y < 8; y++)
    for (int x = 0; x < 8; x++)
      {
        guint32 a = 9 * y + x, b = a + 1, c = a + 10, d = a + 9;
        guint32 q[6] = { a, b, c, a, c, d };
        memcpy (tri + 3 * n, q, sizeof q);
        n += 2;
      }
  n = _ns_mesh_decimate (v, locked, 81, tri, n, 0.01);
  g_test_message ("flat patch: 128 -> %u triangles", n);
  g_assert_cmpuint (n, <, 128);
  /* Each rim edge (between neighbouring rim vertices, counter-clockwise seen from +z)
   * is still there, and the area is the square's. */
  {
    double area = 0.0;
    for (guint t = 0; t < n; t++)
      {
        const float *a = v[tri[3 * t]].pos, *b = v[tri[3 * t + 1]].pos, *c = v[tri[3 * t + 2]].pos;
        double z = (b[0] - a[0]) * (c[1] - a[1]) - (b[1] - a[1]) * (c[0] - a[0]);
        g_assert_cmpfloat (z, >, 0.0);   /* none flipped */
        area += 0.5 * z;
      }
    g_assert_cmpfloat (fabs (area - 64.0), <, 1e-9);
  }
  for (int i = 0; i < 8; i++)
    {
      guint32 rim[4][2] = { { i, i + 1 }, { 9 * i + 8, 9 * (i + 1) + 8 },
                            { 72 + i + 1, 72 + i }, { 9 * (i + 1), 9 * i } };
      for (int r = 0; r < 4; r++)
        {
          gboolean found = FALSE;
          for (guint t = 0; t < n && !found; t++)
            for (int k = 0; k < 3; k++)
              found |= tri[3 * t + k] == rim[r][0] && tri[3 * t + (k + 1) % 3] == rim[r][1];
          g_assert_true (found);
        }
    }
}

/* Blobs of three labels touching each other and the grid's faces, single voxels and
 * noise: many places where marching cubes makes non-manifold edges (surfaces touching
 * along a line) and tiny closed pieces.  Strongly decimated, every label stays watertight
 * with the topology it had (Euler characteristic), and a one-voxel island keeps a
 * surface (annotators look for islands). */
static void
test_decimate_rough (void)
{
  NsGrid grid;
  g_autofree guint8 *labels = NULL;
  g_autoptr (GRand) rand = g_rand_new_with_seed (23);
  NsSurfaces *s, *off;
  gboolean present[256];

  synth_grid (&grid, "LPS", 41, 37, 29, 1.0, 1.2, 1.5);
  labels = g_new0 (guint8, ns_grid_n_voxels (&grid));
  for (int b = 0; b < 40; b++)
    {
      double c[3] = { g_rand_double_range (rand, -22, 22), g_rand_double_range (rand, -22, 22),
                      g_rand_double_range (rand, -22, 22) };
      paint_ball (&grid, labels, c, g_rand_double_range (rand, 1.5, 7.0),
                  (guint8) g_rand_int_range (rand, 1, 4));
    }
  for (int n = 0; n < 300; n++)
    labels[g_rand_int_range (rand, 0, (gint32) ns_grid_n_voxels (&grid))] =
      (guint8) g_rand_int_range (rand, 0, 4);
  /* An island of one voxel, away from everything. */
  for (int k = 0; k < 3; k++)
    for (int j = 0; j < 3; j++)
      for (int i = 0; i < 3; i++)
        labels[ns_grid_index (&grid, 19 + i, 17 + j, 13 + k)] = 0;
  labels[ns_grid_index (&grid, 20, 18, 14)] = 4;

  off = ns_surfaces_new_full (&grid, BLOCK, NS_SURFACES_LABELS, NS_MESH_DECIMATE_OFF);
  ns_surfaces_update (off, labels, NULL, NULL);
  s = ns_surfaces_new_full (&grid, BLOCK, NS_SURFACES_LABELS, NS_MESH_DECIMATE_STRONG);
  ns_surfaces_update (s, labels, NULL, NULL);
  ns_surfaces_get_labels (s, present);
  for (int l = 1; l <= 4; l++)
    {
      g_assert_true (present[l]);
      assert_watertight (s, (guint8) l);
      assert_no_folds (s, (guint8) l);
      g_assert_cmpint (euler_characteristic (s, (guint8) l), ==,
                       euler_characteristic (off, (guint8) l));
      g_assert_cmpfloat (measure (s, (guint8) l).volume, >, 0.0);
    }
  g_assert_cmpuint (ns_surfaces_n_triangles (s), <, ns_surfaces_n_triangles (off));
  ns_surfaces_free (s);
  ns_surfaces_free (off);
}

/* Three nested balls: edema (2) r 20 around the core (1) r 13 around enhancing (4) r 7.
 * The region surfaces are each one sphere, of the ball's area (4 pi r^2) within 4 % and
 * its volume within 8 % (the smoothed surface rounds a ball of 7 voxels' radius inward by
 * a fraction of a voxel: 5 % of its volume); the label surface of edema is a shell: both
 * the outer sphere and the core's. */
static void
test_regions_nested (void)
{
  NsGrid grid;
  g_autofree guint8 *labels = NULL;
  const double centre[3] = { 0.3, -0.2, 0.6 }, radius[3] = { 20.0, 13.0, 7.0 };
  NsSurfaces *regions, *per_label;
  gboolean present[256];
  Measure edema;

  synth_grid (&grid, "RAS", 56, 56, 56, 1.0, 1.0, 1.0);
  labels = g_new0 (guint8, ns_grid_n_voxels (&grid));
  paint_ball (&grid, labels, centre, radius[0], 2);
  paint_ball (&grid, labels, centre, radius[1], 1);
  paint_ball (&grid, labels, centre, radius[2], 4);

  regions = ns_surfaces_new_full (&grid, BLOCK, NS_SURFACES_REGIONS, NS_MESH_DECIMATE_NORMAL);
  g_assert_cmpint (ns_surfaces_get_kind (regions), ==, NS_SURFACES_REGIONS);
  ns_surfaces_update (regions, labels, NULL, NULL);
  ns_surfaces_get_labels (regions, present);
  for (int id = 0; id < 256; id++)
    g_assert_cmpint (present[id], ==, id >= 1 && id <= NS_N_REGIONS);
  for (NsRegion r = NS_REGION_WT; r < NS_N_REGIONS; r++)
    {
      Measure m = measure (regions, (guint8) (1 + r));
      double area = 4.0 * G_PI * radius[r] * radius[r];
      double volume = 4.0 / 3.0 * G_PI * pow (radius[r], 3);
      g_test_message ("%s: area %.1f (sphere %.1f), volume %.1f (ball %.1f)",
                      ns_region_name (r), m.area, area, m.volume, volume);
      assert_watertight (regions, (guint8) (1 + r));
      g_assert_cmpfloat (fabs (m.area - area) / area, <, 0.04);
      g_assert_cmpfloat (fabs (m.volume - volume) / volume, <, 0.08);
    }

  per_label = ns_surfaces_new_full (&grid, BLOCK, NS_SURFACES_LABELS, NS_MESH_DECIMATE_NORMAL);
  ns_surfaces_update (per_label, labels, NULL, NULL);
  edema = measure (per_label, 2);
  g_assert_cmpfloat (fabs (edema.area - 4.0 * G_PI * (400.0 + 169.0)) / (4.0 * G_PI * 569.0),
                     <, 0.04);
  ns_surfaces_free (per_label);
  ns_surfaces_free (regions);
}

/* A job meshes the copy of the voxels it made: edits after it are not in its surfaces.
 * Jobs made in turn after two quick edits, run after both, applied in order: the
 * surfaces of the final labels.  A cancelled job reports it and is only freed. */
static void
test_jobs (void)
{
  NsGrid grid;
  g_autofree guint8 *labels = NULL, *before = NULL;
  const double c1[3] = { 0, 0, 0 }, c2[3] = { 10, -6, 4 };
  int lo1[3] = { 20, 20, 12 }, hi1[3] = { 30, 26, 16 };
  int lo2[3] = { 26, 24, 14 }, hi2[3] = { 33, 30, 20 };
  NsSurfaces *async, *sync;
  g_autoptr (NsSurfacesJob) first = NULL, second = NULL, whole = NULL, cancelled = NULL;
  g_autoptr (GCancellable) cancel = g_cancellable_new ();
  gsize n;

  synth_grid (&grid, "LPS", 60, 50, 36, 1.0, 1.0, 1.5);
  n = ns_grid_n_voxels (&grid);
  labels = g_new0 (guint8, n);
  paint_ball (&grid, labels, c1, 14.0, 2);
  async = ns_surfaces_new_full (&grid, 16, NS_SURFACES_LABELS, NS_MESH_DECIMATE_NORMAL);
  sync = ns_surfaces_new_full (&grid, 16, NS_SURFACES_LABELS, NS_MESH_DECIMATE_NORMAL);
  whole = ns_surfaces_job_new (async, labels, NULL, NULL);
  before = g_memdup2 (labels, n);
  paint_ball (&grid, labels, c2, 5.0, 1);
  g_assert_true (ns_surfaces_job_run (whole, NULL));
  g_assert_cmpuint (ns_surfaces_job_apply (async, whole), ==, 4 * 4 * 3);
  ns_surfaces_update (sync, before, NULL, NULL);
  assert_same_surfaces (async, sync);
  memcpy (labels, before, n);   /* the ball undone: the labels are those meshed again */

  for (int k = lo1[2]; k <= hi1[2]; k++)
    for (int j = lo1[1]; j <= hi1[1]; j++)
      for (int i = lo1[0]; i <= hi1[0]; i++)
        labels[ns_grid_index (&grid, i, j, k)] = 4;
  first = ns_surfaces_job_new (async, labels, lo1, hi1);
  for (int k = lo2[2]; k <= hi2[2]; k++)
    for (int j = lo2[1]; j <= hi2[1]; j++)
      for (int i = lo2[0]; i <= hi2[0]; i++)
        labels[ns_grid_index (&grid, i, j, k)] = 0;
  second = ns_surfaces_job_new (async, labels, lo2, hi2);
  g_assert_true (ns_surfaces_job_run (first, NULL));
  g_assert_true (ns_surfaces_job_run (second, NULL));
  ns_surfaces_job_apply (async, first);
  ns_surfaces_job_apply (async, second);
  ns_surfaces_update (sync, labels, NULL, NULL);
  assert_same_surfaces (async, sync);
  ns_surfaces_free (sync);

  cancelled = ns_surfaces_job_new (async, labels, NULL, NULL);
  g_cancellable_cancel (cancel);
  g_assert_false (ns_surfaces_job_run (cancelled, cancel));
  g_assert_null (ns_surfaces_job_new (async, labels, (int[3]) { 100, 0, 0 },
                                      (int[3]) { 120, 5, 5 }));
  ns_surfaces_free (async);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/render/mesh/decimate/sphere", test_decimate_sphere);
  g_test_add_func ("/render/mesh/decimate/torus", test_decimate_torus);
  g_test_add_func ("/render/mesh/decimate/block-update", test_decimate_block_update);
  g_test_add_func ("/render/mesh/decimate/rough", test_decimate_rough);
  g_test_add_func ("/render/mesh/decimate/limits", test_decimate_limits);
  g_test_add_func ("/render/mesh/regions/nested", test_regions_nested);
  g_test_add_func ("/render/mesh/jobs", test_jobs);
  return g_test_run ();
}
