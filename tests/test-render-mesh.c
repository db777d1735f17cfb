/* SPDX-License-Identifier: MIT
 *
 * test-render-mesh.c: marching cubes on synthetic label maps (render/ns-mesh.h): every one
 * of the 256 cube cases closes up; a sphere on an anisotropic, mirrored grid is closed,
 * watertight, outward, and its area and volume are within a few percent of the analytic
 * ones; random multi-label noise touching the grid's faces is watertight label by label;
 * a one-voxel island keeps a surface; re-meshing the blocks an edit touched gives the
 * same triangles, bit for bit, as a full re-mesh; a ray through the sphere hits it.
 */
#define G_LOG_DOMAIN "ns-test"

#include "ns-mesh.h"
#include "ns-mesh-private.h"
#include "ns-render-test-synth.h"
#include "ns-test-mesh.h"

#include <math.h>
#include <string.h>

static void
test_table (void)
{
  const NsMarchingCase *table = _ns_marching_table ();

  g_assert_cmpuint (table[0].n_triangles, ==, 0);
  g_assert_cmpuint (table[255].n_triangles, ==, 0);
  g_assert_cmpuint (table[1].n_triangles, ==, 1);
  g_assert_cmpuint (table[3].n_triangles, ==, 2);     /* one edge inside: a quad */
  g_assert_cmpuint (table[0x0f].n_triangles, ==, 2);  /* one face inside: a plane */
  /* Each case uses exactly the edges whose ends differ. */
  for (int config = 1; config < 255; config++)
    {
      gboolean used[12] = { FALSE };
      for (int i = 0; i < table[config].n_triangles * 3; i++)
        used[table[config].edges[i]] = TRUE;
      for (int e = 0; e < 12; e++)
        {
          gboolean crossing = ((config >> _ns_marching_edge_corner[e][0]) & 1)
                              != ((config >> _ns_marching_edge_corner[e][1]) & 1);
          g_assert_cmpint (used[e], ==, crossing);
        }
    }
}

/* Every one of the 256 configurations of a 2 x 2 x 2 block, in the middle of a grid:
 * a closed surface whose volume is positive (outward orientation). */
static void
test_all_cases_closed (void)
{
  NsGrid grid;
  ns_grid_init (&grid, 6, 6, 6, 1.0, 1.0, 1.0);
  for (int config = 1; config < 256; config++)
    {
      g_autofree guint8 *labels = g_new0 (guint8, ns_grid_n_voxels (&grid));
      NsSurfaces *s = ns_surfaces_new (&grid, 4);
      g_autoptr (GArray) vertices = g_array_new (FALSE, FALSE, sizeof (NsMeshVertex));
      for (int c = 0; c < 8; c++)
        if ((config >> c) & 1)
          labels[ns_grid_index (&grid, 2 + (c & 1), 2 + ((c >> 1) & 1), 2 + ((c >> 2) & 1))] = 3;
      ns_surfaces_update (s, labels, NULL, NULL);
      assert_watertight (s, 3);
      ns_surfaces_collect (s, 3, vertices, NULL);
      g_assert_cmpfloat (ns_mesh_volume ((NsMeshVertex *) vertices->data, vertices->len), >, 0.0);
      ns_surfaces_free (s);
    }
}

static void
test_sphere (void)
{
  NsGrid grid;
  const double r = 14.0, centre[3] = { 1.5, -2.0, 3.0 };
  g_autofree guint8 *labels = NULL;
  g_autoptr (GArray) vertices = g_array_new (FALSE, FALSE, sizeof (NsMeshVertex));
  NsSurfaces *s;
  double area, volume, voxel_volume = 0.0, want_area = 4.0 * G_PI * r * r;
  double want_volume = 4.0 / 3.0 * G_PI * r * r * r;
  gsize outward = 0;
  double angle_sum = 0.0;

  /* LAS: a mirroring matrix (det < 0), anisotropic spacing, the ball off-centre. */
  synth_grid (&grid, "LAS", 40, 34, 26, 1.0, 1.25, 1.5);
  labels = g_new0 (guint8, ns_grid_n_voxels (&grid));
  paint_ball (&grid, labels, centre, r, 1);
  for (gsize i = 0; i < ns_grid_n_voxels (&grid); i++)
    voxel_volume += labels[i] ? 1.0 * 1.25 * 1.5 : 0.0;

  s = ns_surfaces_new (&grid, 16);
  ns_surfaces_update (s, labels, NULL, NULL);
  assert_watertight (s, 1);
  ns_surfaces_collect (s, 1, vertices, NULL);
  area = ns_mesh_area ((NsMeshVertex *) vertices->data, vertices->len);
  volume = ns_mesh_volume ((NsMeshVertex *) vertices->data, vertices->len);
  g_test_message ("area %.1f (analytic %.1f), volume %.1f (analytic %.1f, voxels %.1f)",
                  area, want_area, volume, want_volume, voxel_volume);
  g_assert_cmpfloat (fabs (area - want_area), <, 0.04 * want_area);
  g_assert_cmpfloat (fabs (volume - want_volume), <, 0.03 * want_volume);
  g_assert_cmpfloat (fabs (volume - voxel_volume), <, 0.03 * voxel_volume);
  for (guint i = 0; i < vertices->len; i++)
    {
      const NsMeshVertex *v = &g_array_index (vertices, NsMeshVertex, i);
      double dot = 0.0, len = 0.0;
      for (int a = 0; a < 3; a++)
        {
          dot += v->normal[a] * (v->pos[a] - centre[a]);
          len += v->normal[a] * v->normal[a];
        }
      g_assert_cmpfloat (fabs (len - 1.0), <, 1e-4);
      outward += dot > 0.0;
      len = 0.0;
      for (int a = 0; a < 3; a++)
        len += (v->pos[a] - centre[a]) * (v->pos[a] - centre[a]);
      angle_sum += acos (CLAMP (dot / sqrt (len), -1.0, 1.0)) * 180.0 / G_PI;
    }
  g_assert_cmpuint (outward, ==, vertices->len);
  /* Normals within a few degrees of the sphere's (5.4 with plain central differences of
   * the smoothed field, 3.7 with the Sobel gradient on this grid). */
  g_test_message ("mean normal error %.2f degrees", angle_sum / vertices->len);
  g_assert_cmpfloat (angle_sum / vertices->len, <, 4.2);
  ns_surfaces_free (s);
}

static void
test_noise_watertight (void)
{
  NsGrid grid;
  g_autofree guint8 *labels = NULL;
  g_autoptr (GRand) rand = g_rand_new_with_seed (17);
  gboolean present[256];
  NsSurfaces *s;

  synth_grid (&grid, "RAS", 23, 19, 17, 1.0, 1.0, 1.0);
  labels = g_new0 (guint8, ns_grid_n_voxels (&grid));
  for (gsize i = 0; i < ns_grid_n_voxels (&grid); i++)
    labels[i] = g_rand_int_range (rand, 0, 4) == 0 ? 0
                                                   : (guint8) g_rand_int_range (rand, 1, 4);
  s = ns_surfaces_new (&grid, 8);
  ns_surfaces_update (s, labels, NULL, NULL);
  ns_surfaces_get_labels (s, present);
  g_assert_false (present[0]);
  for (int l = 1; l < 4; l++)
    {
      g_assert_true (present[l]);
      assert_watertight (s, (guint8) l);
    }
  ns_surfaces_free (s);
}

static void
test_single_voxel (void)
{
  NsGrid grid;
  g_autofree guint8 *labels = NULL;
  g_autoptr (GArray) vertices = g_array_new (FALSE, FALSE, sizeof (NsMeshVertex));
  NsSurfaces *s;

  ns_grid_init (&grid, 9, 9, 9, 2.0, 2.0, 2.0);
  labels = g_new0 (guint8, ns_grid_n_voxels (&grid));
  labels[ns_grid_index (&grid, 4, 4, 4)] = 4;
  s = ns_surfaces_new (&grid, 16);
  ns_surfaces_update (s, labels, NULL, NULL);
  assert_watertight (s, 4);
  ns_surfaces_collect (s, 4, vertices, NULL);
  /* An octahedron through the six face midpoints: 8 triangles, volume (4/3) h^3 with h
   * half a voxel (1 mm). */
  g_assert_cmpuint (vertices->len, ==, 24);
  g_assert_cmpfloat_with_epsilon (ns_mesh_volume ((NsMeshVertex *) vertices->data, 24),
                                  4.0 / 3.0, 1e-5);
  ns_surfaces_free (s);
}

static void
test_block_update (void)
{
  NsGrid grid;
  g_autofree guint8 *labels = NULL;
  const double c1[3] = { 0, 0, 0 }, c2[3] = { 6, 4, -3 };
  NsSurfaces *inc, *full;
  int lo[3], hi[3];
  guint n_blocks, total;

  synth_grid (&grid, "LPS", 70, 60, 40, 1.0, 1.0, 1.5);
  labels = g_new0 (guint8, ns_grid_n_voxels (&grid));
  paint_ball (&grid, labels, c1, 16.0, 2);
  paint_ball (&grid, labels, c2, 7.0, 1);
  inc = ns_surfaces_new (&grid, 16);
  total = ns_surfaces_update (inc, labels, NULL, NULL);

  /* A brush stroke of label 3 two voxels from a slab of label 3 whose surface lies in the
   * last cells of block 0 (cells -1 .. 14; the slab ends at x = 14): the stroke at x = 17
   * moves the field at 16 and so the normals at 15, on the slab's vertices in cell 14.
   * A re-mesh that reached only the cells whose corners the stroke's field touched would
   * leave them stale. */
  lo[0] = 0, lo[1] = 10, lo[2] = 5;
  hi[0] = 14, hi[1] = 40, hi[2] = 30;
  for (int k = lo[2]; k <= hi[2]; k++)
    for (int j = lo[1]; j <= hi[1]; j++)
      for (int i = lo[0]; i <= hi[0] - (j > 22); i++) /* a step, so normals tilt in y */
        labels[ns_grid_index (&grid, i, j, k)] = 3;
  ns_surfaces_update (inc, labels, lo, hi);
  lo[0] = 17, lo[1] = 20, lo[2] = 10;
  hi[0] = 19, hi[1] = 24, hi[2] = 12;
  for (int k = lo[2]; k <= hi[2]; k++)
    for (int j = lo[1]; j <= hi[1]; j++)
      for (int i = lo[0]; i <= hi[0]; i++)
        labels[ns_grid_index (&grid, i, j, k)] = 3;
  n_blocks = ns_surfaces_update (inc, labels, lo, hi);
  g_assert_cmpuint (n_blocks, <, total);
  lo[0] = 30, lo[1] = 30, lo[2] = 20;
  hi[0] = 33, hi[1] = 31, hi[2] = 20;
  for (int k = lo[2]; k <= hi[2]; k++)
    for (int j = lo[1]; j <= hi[1]; j++)
      for (int i = lo[0]; i <= hi[0]; i++)
        labels[ns_grid_index (&grid, i, j, k)] = 0;
  ns_surfaces_update (inc, labels, lo, hi);

  full = ns_surfaces_new (&grid, 16);
  ns_surfaces_update (full, labels, NULL, NULL);
  assert_same_surfaces (inc, full);
  for (int l = 1; l <= 3; l++)
    assert_watertight (inc, (guint8) l);
  ns_surfaces_free (inc);
  ns_surfaces_free (full);
}

static void
test_pick (void)
{
  NsGrid grid;
  g_autofree guint8 *labels = NULL;
  g_autoptr (GArray) vertices = g_array_new (FALSE, FALSE, sizeof (NsMeshVertex));
  const double centre[3] = { 0, 0, 0 }, origin[3] = { 0, 100, 0 }, dir[3] = { 0, -1, 0 };
  const double away[3] = { 40, 100, 0 };
  double t;
  NsSurfaces *s;

  synth_grid (&grid, "LPS", 40, 40, 40, 1.0, 1.0, 1.0);
  labels = g_new0 (guint8, ns_grid_n_voxels (&grid));
  paint_ball (&grid, labels, centre, 10.0, 1);
  s = ns_surfaces_new (&grid, 16);
  ns_surfaces_update (s, labels, NULL, NULL);
  ns_surfaces_collect (s, 1, vertices, NULL);
  g_assert_true (ns_mesh_ray_pick ((NsMeshVertex *) vertices->data, vertices->len, origin, dir,
                                   &t));
  /* The nearest surface point along -A from A = 100: A = 10 (within a voxel). */
  g_assert_cmpfloat (fabs (t - 90.0), <, 1.0);
  g_assert_false (ns_mesh_ray_pick ((NsMeshVertex *) vertices->data, vertices->len, away, dir,
                                    &t));
  ns_surfaces_free (s);
}

static void
test_brain_mask (void)
{
  NsGrid grid, coarse;
  g_autoptr (NsVolume) image = NULL;
  g_autofree guint8 *mask = NULL;
  double vox[3] = { 0, 0, 0 }, ras_c[3], ras_f[3], fine[3] = { 0.5, 0.5, 0.5 };

  synth_grid (&grid, "LPS", 11, 10, 9, 1.0, 1.0, 2.0);
  image = ns_volume_new (&grid, NULL);
  for (int k = 2; k < 7; k++)
    for (int j = 2; j < 8; j++)
      for (int i = 2; i < 9; i++)
        image->voxels[ns_grid_index (&grid, i, j, k)] = 5.0f;
  mask = ns_surfaces_brain_mask_new (image, 2, &coarse);
  g_assert_cmpint (coarse.dim[0], ==, 6);
  g_assert_cmpint (coarse.dim[2], ==, 5);
  g_assert_cmpuint (mask[ns_grid_index (&coarse, 0, 0, 0)], ==, 0);
  g_assert_cmpuint (mask[ns_grid_index (&coarse, 2, 2, 2)], ==, 1);
  /* Coarse voxel 0 sits at the centre of fine voxels 0 and 1. */
  ns_geometry_voxel_to_ras (&coarse, vox, ras_c);
  ns_geometry_voxel_to_ras (&grid, fine, ras_f);
  for (int a = 0; a < 3; a++)
    g_assert_cmpfloat_with_epsilon (ras_c[a], ras_f[a], 1e-9);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/render/mesh/table", test_table);
  g_test_add_func ("/render/mesh/all-cases-closed", test_all_cases_closed);
  g_test_add_func ("/render/mesh/sphere", test_sphere);
  g_test_add_func ("/render/mesh/noise-watertight", test_noise_watertight);
  g_test_add_func ("/render/mesh/single-voxel", test_single_voxel);
  g_test_add_func ("/render/mesh/block-update", test_block_update);
  g_test_add_func ("/render/mesh/pick", test_pick);
  g_test_add_func ("/render/mesh/brain-mask", test_brain_mask);
  return g_test_run ();
}
