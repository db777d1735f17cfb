/* SPDX-License-Identifier: MIT
 *
 * test-data-brats.c: every real case in ../shared/data (skipped, exit 77, without it):
 * both layouts discovered and loaded on one LPS grid, brats2015's scaled int32 brain
 * masks read as 0/1, label schemes told apart and mapped, the background of brats2015's
 * normalised images found as the corner value, and values nibabel reports (recorded once
 * with /usr/bin/python3 nibabel) for one case of each layout.
 */
#include "ns-test-util.h"
#include "ns-case.h"
#include "ns-data-error.h"
#include "ns-nifti.h"
#include "ns-normalize.h"

#include <nifti1.h>

#include <math.h>
#include <string.h>

static const char *shared;

static GPtrArray *
case_dirs (const char *layout)
{
  GPtrArray *dirs = g_ptr_array_new_with_free_func (g_free);
  g_autofree char *root = g_build_filename (shared, "data", layout, NULL);
  g_autoptr (GDir) d = g_dir_open (root, 0, NULL);
  g_assert_nonnull (d);
  const char *name;
  while ((name = g_dir_read_name (d)) != NULL)
    {
      char *path = g_build_filename (root, name, NULL);
      if (g_file_test (path, G_FILE_TEST_IS_DIR))
        g_ptr_array_add (dirs, path);
      else
        g_free (path);
    }
  g_ptr_array_sort (dirs, (GCompareFunc) g_strcmp0);
  return dirs;
}

static void
check_common (const NsCase *c)
{
  char orient[4];
  ns_grid_orientation_code (&c->grid, orient);
  g_assert_cmpstr (orient, ==, "LPS");
  g_assert_cmpint (c->grid.dim[0], ==, 240);
  g_assert_cmpint (c->grid.dim[1], ==, 240);
  g_assert_cmpint (c->grid.dim[2], ==, 155);
  for (int d = 0; d < 3; d++)
    g_assert_cmpfloat (c->grid.spacing[d], ==, 1.0);
  g_assert_nonnull (c->labels);
  for (int m = 0; m < NS_N_MODALITIES; m++)
    if (c->modality[m] != NULL)
      g_assert_cmpuint (c->modality[m]->n_nonfinite, ==, 0);
}

static void
test_brats2018 (void)
{
  g_autoptr (GPtrArray) dirs = case_dirs ("brats2018");
  g_assert_cmpuint (dirs->len, ==, 10);
  for (guint i = 0; i < dirs->len; i++)
    {
      g_autoptr (GError) error = NULL;
      const char *dir = g_ptr_array_index (dirs, i);
      g_test_message ("%s", dir);
      g_autoptr (NsCase) c = ns_case_load (dir, NS_CASE_LOAD_DEFAULT, &error);
      g_assert_no_error (error);
      check_common (c);
      g_assert_cmpuint (ns_case_n_modalities (c), ==, 4);
      g_assert_cmpint (c->label_scheme, ==, NS_LABEL_SCHEME_BRATS2017);
      g_assert_true (ns_label_map_check_scheme (c->labels, NS_LABEL_SCHEME_BRATS2017, &error));
      g_assert_null (c->brain_mask);
      /* Skull-stripped: background 0. */
      g_assert_cmpfloat (ns_normalize_background_value (c->modality[NS_MODALITY_FLAIR]), ==,
                         0.0f);
      g_autofree char *base = g_path_get_basename (dir);
      g_assert_cmpstr (c->id, ==, base);
    }
}

static void
test_brats2015 (void)
{
  g_autoptr (GPtrArray) dirs = case_dirs ("brats2015");
  g_assert_cmpuint (dirs->len, ==, 4);
  for (guint i = 0; i < dirs->len; i++)
    {
      g_autoptr (GError) error = NULL;
      const char *dir = g_ptr_array_index (dirs, i);
      g_test_message ("%s", dir);
      g_autoptr (NsCase) c = ns_case_load (dir, NS_CASE_LOAD_DEFAULT, &error);
      g_assert_no_error (error);
      check_common (c);
      g_assert_cmpuint (ns_case_n_modalities (c), ==, 2);
      g_assert_nonnull (c->modality[NS_MODALITY_T1C]);
      g_assert_cmpint (c->label_scheme, ==, NS_LABEL_SCHEME_BRATS2015);
      g_assert_nonnull (c->brain_mask);

      /* Background = the corner voxel, a constant non-zero value; the brain found from it
       * is (nearly) the given mask. */
      const NsVolume *flair = c->modality[NS_MODALITY_FLAIR];
      float bg = ns_normalize_background_value (flair);
      g_assert_cmpfloat (bg, ==, ns_volume_get_value (flair, 0));
      g_assert_cmpfloat (bg, !=, 0.0f);
      g_autoptr (NsLabelMap) found = ns_normalize_brain_mask (flair, &error);
      g_assert_no_error (error);
      gsize n = ns_grid_n_voxels (&c->grid), agree = 0, in_mask = 0;
      for (gsize v = 0; v < n; v++)
        {
          agree += found->labels[v] == c->brain_mask->labels[v];
          in_mask += c->brain_mask->labels[v];
        }
      g_assert_cmpfloat ((double) agree / (double) n, >, 0.99);
      g_assert_cmpuint (in_mask, >, 1000000);

      /* z-score with the given mask and with the background-derived one: nearly the same
       * statistics (the two brains agree on > 99 % of the voxels). */
      NsNormalizeStats given, derived;
      g_autoptr (NsVolume) z1 = ns_normalize_zscore (flair, c->brain_mask, &given, &error);
      g_assert_no_error (error);
      g_autoptr (NsVolume) z2 = ns_normalize_zscore (flair, NULL, &derived, &error);
      g_assert_no_error (error);
      g_test_message ("mask: mean %g sd %g n %" G_GSIZE_FORMAT "; background %g: mean %g sd %g "
                      "n %" G_GSIZE_FORMAT, given.mean, given.stddev, given.n_brain,
                      derived.background, derived.mean, derived.stddev, derived.n_brain);
      g_assert_cmpfloat (fabs (given.mean - derived.mean), <, 0.05 * given.stddev);
      g_assert_cmpfloat (fabs (given.stddev / derived.stddev - 1.0), <, 0.05);
      g_assert_cmpuint (given.n_brain, ==, in_mask);

      /* Mapped on request: no 3 left. */
      g_autoptr (NsCase) m = ns_case_load (dir, NS_CASE_LOAD_MAP_TO_2017, &error);
      g_assert_no_error (error);
      g_assert_true (ns_label_map_check_scheme (m->labels, NS_LABEL_SCHEME_BRATS2017, &error));
      g_assert_no_error (error);
    }
}

/* Values from nibabel: get_fdata() sums, voxel values and label counts. */
static void
test_against_nibabel (void)
{
  g_autoptr (GError) error = NULL;

  g_autofree char *mask_path = g_build_filename (shared, "data", "brats2015",
                                                 "brats_2013_pat0003_1", "brainmask.nii.gz",
                                                 NULL);
  g_autoptr (NsVolume) mask = ns_nifti_read (mask_path, &error);
  g_assert_no_error (error);
  g_assert_cmpint (mask->datatype, ==, DT_INT32);
  g_assert_cmpfloat (mask->scl_slope, !=, 0.0);
  /* nibabel: unique values {0.0, 0.99999997}, sum 1690469.949620068 (1690470 voxels). */
  gsize n = ns_volume_n_voxels (mask), ones = 0;
  double sum = 0.0;
  for (gsize i = 0; i < n; i++)
    {
      float v = ns_volume_get_value (mask, i);
      g_assert_true (v == 0.0f || fabsf (v - 1.0f) < 1e-6f);
      ones += v != 0.0f;
      sum += v;
    }
  g_assert_cmpuint (ones, ==, 1690470);
  g_assert_cmpfloat_with_epsilon (sum, 1690469.949620068, 0.2);

  g_autofree char *flair_path = g_build_filename (shared, "data", "brats2015",
                                                  "brats_2013_pat0003_1",
                                                  "Flair_subtrMeanDivStd.nii.gz", NULL);
  g_autoptr (NsVolume) flair = ns_nifti_read (flair_path, &error);
  g_assert_no_error (error);
  double fsum = 0.0;
  for (gsize i = 0; i < ns_volume_n_voxels (flair); i++)
    fsum += ns_volume_get_value (flair, i);
  /* nibabel: sum -22864254.220341187, [120,120,77] 0.380317360162735, [0,0,0] -3.1607306 */
  g_assert_cmpfloat_with_epsilon (fsum, -22864254.220341187, 1e-3);
  g_assert_cmpfloat (ns_volume_get_value (flair, ns_grid_index (&flair->grid, 120, 120, 77)), ==,
                     0.380317360162735f);
  g_assert_cmpfloat (ns_volume_get_value (flair, 0), ==, -3.1607306003570557f);

  /* An int16 label file (Brats18_2013_*): nibabel sum 272029, values {0, 1, 2, 4}. */
  g_autofree char *seg_path = g_build_filename (shared, "data", "brats2018", "Brats18_2013_11_1",
                                                "Brats18_2013_11_1_seg.nii.gz", NULL);
  g_autoptr (NsVolume) seg = ns_nifti_read (seg_path, &error);
  g_assert_no_error (error);
  g_assert_cmpint (seg->datatype, ==, DT_INT16);
  double ssum = 0.0;
  for (gsize i = 0; i < ns_volume_n_voxels (seg); i++)
    ssum += ns_volume_get_value (seg, i);
  g_assert_cmpfloat (ssum, ==, 272029.0);
  g_assert_cmpfloat (ns_volume_get_value (seg, ns_grid_index (&seg->grid, 120, 120, 77)), ==, 4.0f);
}

int
main (int argc, char **argv)
{
  shared = ns_test_require_shared ();
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/data/brats/brats2018", test_brats2018);
  g_test_add_func ("/data/brats/brats2015", test_brats2015);
  g_test_add_func ("/data/brats/against-nibabel", test_against_nibabel);
  return g_test_run ();
}
