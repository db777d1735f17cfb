/* SPDX-License-Identifier: MIT
 *
 * test-data-normalize-clip.c: the z-score after percentile clipping against a reference
 * computed by sorting (nearest rank below), with outliers that the plain z-score lets set
 * the scale; bad percentiles refused; a given mask used.
 */
#include "ns-test-util.h"
#include "ns-data-error.h"
#include "ns-normalize.h"

#include <math.h>
#include <stdlib.h>

static int
cmp_double (const void *a, const void *b)
{
  double x = *(const double *) a, y = *(const double *) b;
  return (x > y) - (x < y);
}

/* 20 x 18 x 16, background 0, a brain box with a pseudo-random texture (repeated values
 * included) and a handful of huge outliers. */
static NsVolume *
phantom (void)
{
  NsGrid grid;
  ns_grid_init (&grid, 20, 18, 16, 1, 1, 1);
  NsVolume *vol = ns_volume_new (&grid, NULL);
  guint32 s = 12345;
  for (int k = 0; k < 16; k++)
    for (int j = 0; j < 18; j++)
      for (int i = 0; i < 20; i++)
        {
          gboolean brain = i >= 3 && i < 17 && j >= 2 && j < 16 && k >= 2 && k < 14;
          s = s * 1664525u + 1013904223u;
          vol->voxels[ns_grid_index (&grid, i, j, k)] =
            brain ? (float) (100 + (s >> 24) % 50) : 0.0f;
        }
  for (int o = 0; o < 5; o++)
    vol->voxels[ns_grid_index (&grid, 4 + o, 5, 6)] = 30000.0f;
  return vol;
}

static void
test_against_sorting (void)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (NsVolume) vol = phantom ();
  NsNormalizeStats st;
  g_autoptr (NsVolume) out = ns_normalize_zscore_clipped (vol, NULL, 0.5, 99.5, &st, &error);
  g_assert_no_error (error);

  gsize n = ns_volume_n_voxels (vol), count = 0;
  g_autofree double *v = g_new (double, n);
  for (gsize i = 0; i < n; i++)
    if (ns_volume_get_value (vol, i) != 0.0f)
      v[count++] = ns_volume_get_value (vol, i);
  g_assert_cmpuint (st.n_brain, ==, count);
  qsort (v, count, sizeof (double), cmp_double);
  double lo = v[(gsize) floor (0.005 * (count - 1))], hi = v[(gsize) floor (0.995 * (count - 1))];
  g_assert_cmpfloat (hi, <, 30000.0);   /* the outliers are clipped */
  double sum = 0, ss = 0;
  for (gsize i = 0; i < count; i++)
    sum += CLAMP (v[i], lo, hi);
  double mean = sum / count;
  for (gsize i = 0; i < count; i++)
    ss += (CLAMP (v[i], lo, hi) - mean) * (CLAMP (v[i], lo, hi) - mean);
  double sd = sqrt (ss / count);
  g_assert_cmpfloat (fabs (st.mean - mean), <, 1e-9 * fabs (mean));
  g_assert_cmpfloat (fabs (st.stddev - sd), <, 1e-9 * sd);

  g_autofree float *got = g_new (float, n);
  g_autofree double *want = g_new (double, n);
  for (gsize i = 0; i < n; i++)
    {
      got[i] = ns_volume_get_value (out, i);
      double x = ns_volume_get_value (vol, i);
      want[i] = x != 0.0 ? (CLAMP (x, lo, hi) - mean) / sd : 0.0;
    }
  g_assert_true (ns_check_tensor ("clipped z-score", got, want, n, 1e-6));

  /* the plain z-score lets the outliers set the scale: the texture is squeezed */
  g_autoptr (NsVolume) plain = ns_normalize_zscore (vol, NULL, NULL, &error);
  g_assert_no_error (error);
  gsize mid = ns_grid_index (&vol->grid, 10, 10, 10);
  gsize other = ns_grid_index (&vol->grid, 11, 10, 10);
  double spread_plain = fabs (ns_volume_get_value (plain, mid)
                              - ns_volume_get_value (plain, other));
  double spread_clip = fabs (ns_volume_get_value (out, mid) - ns_volume_get_value (out, other));
  if (ns_volume_get_value (vol, mid) != ns_volume_get_value (vol, other))
    g_assert_cmpfloat (spread_clip, >, 5 * spread_plain);
}

static void
test_mask_and_bad (void)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (NsVolume) vol = phantom ();
  g_autoptr (NsLabelMap) mask = ns_label_map_new (&vol->grid, &error);
  g_assert_no_error (error);
  mask->labels[ns_grid_index (&vol->grid, 5, 5, 5)] = 1;
  mask->labels[ns_grid_index (&vol->grid, 6, 5, 5)] = 1;
  NsNormalizeStats st;
  g_autoptr (NsVolume) out = ns_normalize_zscore_clipped (vol, mask, 0, 100, &st, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (st.n_brain, ==, 2);
  g_assert_cmpfloat (ns_volume_get_value (out, ns_grid_index (&vol->grid, 7, 5, 5)), ==, 0.0f);

  NsVolume *bad = ns_normalize_zscore_clipped (vol, NULL, 50, 50, NULL, &error);
  g_assert_null (bad);
  g_assert_error (error, NS_DATA_ERROR, NS_DATA_ERROR_INVALID);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/data/normalize-clip/against-sorting", test_against_sorting);
  g_test_add_func ("/data/normalize-clip/mask-and-bad", test_mask_and_bad);
  return g_test_run ();
}
