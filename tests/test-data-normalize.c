/* SPDX-License-Identifier: MIT
 *
 * test-data-normalize.c: background value (border mode), brain mask, z-score inside the
 * brain with and without a given mask, against a double-precision reference.
 */
#include "ns-test-util.h"
#include "ns-data-error.h"
#include "ns-normalize.h"

#include <math.h>
#include <string.h>

/* A 9 x 8 x 7 volume: background b everywhere, a "brain" box inside with a ramp. */
static NsVolume *
phantom (float background)
{
  NsGrid grid;
  ns_grid_init (&grid, 9, 8, 7, 1, 1, 2);
  NsVolume *vol = ns_volume_new (&grid, NULL);
  for (int k = 0; k < 7; k++)
    for (int j = 0; j < 8; j++)
      for (int i = 0; i < 9; i++)
        {
          gboolean brain = i >= 2 && i <= 6 && j >= 2 && j <= 5 && k >= 1 && k <= 5;
          vol->voxels[ns_grid_index (&grid, i, j, k)] =
            brain ? (float) (10 + i + 3 * j + 7 * k) : background;
        }
  return vol;
}

static void
test_background (void)
{
  g_autoptr (NsVolume) zero = phantom (0.0f);
  g_assert_cmpfloat (ns_normalize_background_value (zero), ==, 0.0f);

  /* brats2015 style: a constant non-zero background, and a few border voxels that differ
   * (the mode wins, not the corner). */
  g_autoptr (NsVolume) vol = phantom (-3.1607306f);
  vol->voxels[0] = 5.0f;
  vol->voxels[1] = 5.0f;
  g_assert_cmpfloat (ns_normalize_background_value (vol), ==, -3.1607306f);

  g_autoptr (GError) error = NULL;
  g_autoptr (NsLabelMap) mask = ns_normalize_brain_mask (vol, &error);
  g_assert_no_error (error);
  gsize n = 0;
  for (gsize i = 0; i < ns_volume_n_voxels (vol); i++)
    n += mask->labels[i];
  g_assert_cmpuint (n, ==, 5 * 4 * 5 + 2);

  /* A tie (the corner's value on exactly half of the 56 border voxels of a 4 x 4 x 4
   * volume): the smaller value, whichever is in the corner. */
  NsGrid grid;
  ns_grid_init (&grid, 4, 4, 4, 1.0, 1.0, 1.0);
  for (int corner_smaller = 0; corner_smaller < 2; corner_smaller++)
    {
      g_autoptr (NsVolume) tie = ns_volume_new (&grid, &error);
      g_assert_no_error (error);
      for (int k = 0; k < 4; k++)
        for (int j = 0; j < 4; j++)
          for (int i = 0; i < 4; i++)
            tie->voxels[ns_grid_index (&grid, i, j, k)] = k < 2 ? (corner_smaller ? 1.0f : 3.0f)
                                                                : 2.0f;
      g_assert_cmpfloat (ns_normalize_background_value (tie), ==,
                         corner_smaller ? 1.0f : 2.0f);
    }
  /* One voxel wide: every voxel is on the border. */
  ns_grid_init (&grid, 1, 3, 3, 1.0, 1.0, 1.0);
  g_autoptr (NsVolume) thin = ns_volume_new (&grid, &error);
  g_assert_no_error (error);
  for (gsize i = 0; i < 9; i++)
    thin->voxels[i] = i == 0 || i >= 5 ? 4.0f : 0.0f;
  g_assert_cmpfloat (ns_normalize_background_value (thin), ==, 4.0f);
}

static void
check_zscore (const NsVolume *vol, const NsLabelMap *mask, const NsVolume *out,
              const NsNormalizeStats *stats)
{
  gsize n = ns_volume_n_voxels (vol);
  double sum = 0.0, ss = 0.0;
  gsize count = 0;
  for (gsize i = 0; i < n; i++)
    if (mask->labels[i])
      {
        sum += ns_volume_get_value (vol, i);
        count++;
      }
  double mean = sum / (double) count;
  for (gsize i = 0; i < n; i++)
    if (mask->labels[i])
      ss += (ns_volume_get_value (vol, i) - mean) * (ns_volume_get_value (vol, i) - mean);
  double sd = sqrt (ss / (double) count);

  g_assert_cmpuint (stats->n_brain, ==, count);
  g_assert_cmpfloat_with_epsilon (stats->mean, mean, 1e-9);
  g_assert_cmpfloat_with_epsilon (stats->stddev, sd, 1e-9);
  g_autofree double *want = g_new (double, n);
  for (gsize i = 0; i < n; i++)
    want[i] = mask->labels[i] ? (ns_volume_get_value (vol, i) - mean) / sd : 0.0;
  g_assert_true (ns_check_tensor ("zscore", out->voxels, want, n, 1e-6));

  /* Inside the brain: mean 0, variance 1. */
  double m2 = 0.0, v2 = 0.0;
  for (gsize i = 0; i < n; i++)
    if (mask->labels[i])
      m2 += ns_volume_get_value (out, i);
  m2 /= (double) count;
  for (gsize i = 0; i < n; i++)
    if (mask->labels[i])
      v2 += (ns_volume_get_value (out, i) - m2) * (ns_volume_get_value (out, i) - m2);
  g_assert_cmpfloat_with_epsilon (m2, 0.0, 1e-6);
  g_assert_cmpfloat_with_epsilon (v2 / (double) count, 1.0, 1e-5);
}

static void
test_zscore_auto_mask (void)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (NsVolume) vol = phantom (7.5f);
  NsNormalizeStats stats;
  g_autoptr (NsVolume) out = ns_normalize_zscore (vol, NULL, &stats, &error);
  g_assert_no_error (error);
  g_assert_cmpfloat (stats.background, ==, 7.5);
  g_autoptr (NsLabelMap) mask = ns_normalize_brain_mask (vol, NULL);
  check_zscore (vol, mask, out, &stats);
  /* The input is untouched. */
  g_assert_cmpfloat (ns_volume_get_value (vol, 0), ==, 7.5f);
}

static void
test_zscore_given_mask (void)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (NsVolume) vol = phantom (0.0f);
  g_autoptr (NsLabelMap) mask = ns_label_map_new (&vol->grid, NULL);
  /* A mask smaller than the non-zero region, plus background voxels. */
  for (gsize i = 0; i < ns_volume_n_voxels (vol); i++)
    mask->labels[i] = i % 3 == 0;
  NsNormalizeStats stats;
  g_autoptr (NsVolume) out = ns_normalize_zscore (vol, mask, &stats, &error);
  g_assert_no_error (error);
  check_zscore (vol, mask, out, &stats);
}

static void
test_zscore_errors (void)
{
  GError *error = NULL;
  g_autoptr (NsVolume) vol = phantom (0.0f);
  vol->path = g_strdup ("flair.nii.gz");

  /* A mask on another grid. */
  NsGrid other;
  ns_grid_init (&other, 9, 8, 6, 1, 1, 2);
  g_autoptr (NsLabelMap) wrong = ns_label_map_new (&other, NULL);
  wrong->path = g_strdup ("mask.nii.gz");
  g_assert_null (ns_normalize_zscore (vol, wrong, NULL, &error));
  g_assert_error (error, NS_DATA_ERROR, NS_DATA_ERROR_GRID_MISMATCH);
  g_assert_nonnull (strstr (error->message, "flair.nii.gz"));
  g_assert_nonnull (strstr (error->message, "mask.nii.gz"));
  g_clear_error (&error);

  /* An empty brain. */
  g_autoptr (NsLabelMap) empty = ns_label_map_new (&vol->grid, NULL);
  g_assert_null (ns_normalize_zscore (vol, empty, NULL, &error));
  g_assert_error (error, NS_DATA_ERROR, NS_DATA_ERROR_INVALID);
  g_assert_nonnull (strstr (error->message, "flair.nii.gz"));
  g_clear_error (&error);

  /* A constant brain is centred, not divided by zero. */
  g_autoptr (NsLabelMap) one = ns_label_map_new (&vol->grid, NULL);
  one->labels[ns_grid_index (&vol->grid, 3, 3, 3)] = 1;
  g_autoptr (NsVolume) out = ns_normalize_zscore (vol, one, NULL, &error);
  g_assert_no_error (error);
  for (gsize i = 0; i < ns_volume_n_voxels (out); i++)
    g_assert_cmpfloat (ns_volume_get_value (out, i), ==, 0.0f);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/data/normalize/background", test_background);
  g_test_add_func ("/data/normalize/zscore-auto-mask", test_zscore_auto_mask);
  g_test_add_func ("/data/normalize/zscore-given-mask", test_zscore_given_mask);
  g_test_add_func ("/data/normalize/errors", test_zscore_errors);
  return g_test_run ();
}
