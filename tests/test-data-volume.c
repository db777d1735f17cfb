/* SPDX-License-Identifier: MIT
 *
 * test-data-volume.c: NsVolume / NsLabelMap allocation, overflow checks, grids.
 */
#include "ns-test-util.h"
#include "ns-volume.h"
#include "ns-data-error.h"

#include <string.h>

static void
test_alloc (void)
{
  NsGrid grid;
  g_autoptr (GError) error = NULL;

  ns_grid_init (&grid, 7, 5, 3, 1.0, 2.0, 3.5);
  g_autoptr (NsVolume) vol = ns_volume_new (&grid, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (ns_volume_n_voxels (vol), ==, 105);
  g_assert_cmpfloat (vol->voxels[104], ==, 0.0f);
  g_assert_cmpfloat_with_epsilon (ns_grid_voxel_volume_ml (&grid), 0.007, 1e-12);
  g_assert_cmpuint (ns_grid_index (&grid, 6, 4, 2), ==, 104);

  g_autoptr (NsLabelMap) map = ns_label_map_new (&vol->grid, &error);
  g_assert_no_error (error);
  map->labels[3] = 4;
  g_autoptr (NsLabelMap) copy = ns_label_map_dup (map, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (copy->labels[3], ==, 4);
  g_assert_true (ns_grid_equal (&map->grid, &copy->grid));
}

static void
test_bad_dims (void)
{
  NsGrid grid;
  GError *error = NULL;

  ns_grid_init (&grid, 0, 5, 3, 1, 1, 1);
  g_assert_null (ns_volume_new (&grid, &error));
  g_assert_error (error, NS_DATA_ERROR, NS_DATA_ERROR_INVALID);
  g_clear_error (&error);

  ns_grid_init (&grid, -4, 5, 3, 1, 1, 1);
  g_assert_null (ns_label_map_new (&grid, &error));
  g_assert_error (error, NS_DATA_ERROR, NS_DATA_ERROR_INVALID);
  g_clear_error (&error);

  /* 2^31-1 cubed overflows a 64-bit size. */
  ns_grid_init (&grid, G_MAXINT, G_MAXINT, G_MAXINT, 1, 1, 1);
  g_assert_null (ns_volume_new (&grid, &error));
  g_assert_error (error, NS_DATA_ERROR, NS_DATA_ERROR_TOO_LARGE);
  g_clear_error (&error);
}

static void
test_orientation (void)
{
  NsGrid grid;
  char code[4];

  ns_grid_init (&grid, 4, 4, 4, 1, 1, 1);
  ns_grid_orientation_code (&grid, code);
  g_assert_cmpstr (code, ==, "RAS");
  grid.vox2ras[0][0] = -1;
  grid.vox2ras[1][1] = -1;
  ns_grid_orientation_code (&grid, code);
  g_assert_cmpstr (code, ==, "LPS");
  /* Permuted axes: voxel i runs along A, j along S, k along L. */
  memset (grid.vox2ras, 0, sizeof grid.vox2ras);
  grid.vox2ras[1][0] = 1;
  grid.vox2ras[2][1] = 1;
  grid.vox2ras[0][2] = -1;
  grid.vox2ras[3][3] = 1;
  ns_grid_orientation_code (&grid, code);
  g_assert_cmpstr (code, ==, "ASL");
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/data/volume/alloc", test_alloc);
  g_test_add_func ("/data/volume/bad-dims", test_bad_dims);
  g_test_add_func ("/data/volume/orientation", test_orientation);
  return g_test_run ();
}
