/* SPDX-License-Identifier: MIT
 *
 * test-data-labels.c: label schemes (BraTS 2015 and 2017+), mapping, regions, label maps
 * from float volumes with their checks, names and colours.
 */
#include "ns-test-util.h"
#include "ns-data-error.h"
#include "ns-labels.h"

#include <math.h>
#include <string.h>

static NsVolume *
volume_of (const float *values, int n)
{
  NsGrid grid;
  ns_grid_init (&grid, n, 1, 1, 1, 1, 1);
  NsVolume *vol = ns_volume_new (&grid, NULL);
  memcpy (vol->voxels, values, sizeof (float) * (gsize) n);
  vol->path = g_strdup ("labels.nii.gz");
  return vol;
}

static void
test_schemes (void)
{
  guint n;
  const NsLabelClass *c17 = ns_label_scheme_classes (NS_LABEL_SCHEME_BRATS2017, &n);
  g_assert_cmpuint (n, ==, 3);
  g_assert_cmpuint (c17[0].value, ==, 1);
  g_assert_cmpuint (c17[1].value, ==, 2);
  g_assert_cmpuint (c17[2].value, ==, 4);
  g_assert_cmpstr (c17[0].name, ==, "necrotic and non-enhancing tumour core");
  g_assert_cmpstr (c17[2].short_name, ==, "ET");

  const NsLabelClass *c15 = ns_label_scheme_classes (NS_LABEL_SCHEME_BRATS2015, &n);
  g_assert_cmpuint (n, ==, 4);
  g_assert_cmpuint (c15[2].value, ==, 3);
  g_assert_cmpstr (c15[2].name, ==, "non-enhancing tumour");

  for (guint v = 0; v < 256; v++)
    {
      g_assert_cmpint (ns_label_scheme_contains (NS_LABEL_SCHEME_BRATS2017, v), ==,
                       v == 0 || v == 1 || v == 2 || v == 4);
      g_assert_cmpint (ns_label_scheme_contains (NS_LABEL_SCHEME_BRATS2015, v), ==, v <= 4);
    }
  g_assert_null (ns_label_scheme_lookup (NS_LABEL_SCHEME_BRATS2017, 3));
  g_assert_null (ns_label_scheme_lookup (NS_LABEL_SCHEME_BRATS2017, 0));
  g_assert_cmpstr (ns_label_scheme_lookup (NS_LABEL_SCHEME_BRATS2015, 2)->short_name, ==, "ED");

  /* Colours are opaque and distinct within a scheme. */
  for (guint i = 0; i < n; i++)
    {
      g_assert_cmpuint (c15[i].rgba[3], ==, 255);
      for (guint j = 0; j < i; j++)
        g_assert_false (memcmp (c15[i].rgba, c15[j].rgba, 3) == 0);
    }
}

static void
test_regions (void)
{
  /* WT = {1,2,3,4}, TC = {1,3,4}, ET = {4}. */
  static const gboolean want[NS_N_REGIONS][6] = {
    { FALSE, TRUE, TRUE, TRUE, TRUE, FALSE },
    { FALSE, TRUE, FALSE, TRUE, TRUE, FALSE },
    { FALSE, FALSE, FALSE, FALSE, TRUE, FALSE },
  };
  for (int r = 0; r < NS_N_REGIONS; r++)
    for (guint8 l = 0; l < 6; l++)
      g_assert_cmpint (ns_region_contains (r, l), ==, want[r][l]);
  g_assert_cmpstr (ns_region_name (NS_REGION_TC), ==, "TC");
}

static void
test_from_volume (void)
{
  g_autoptr (GError) error = NULL;
  /* float32 label files store 4 as 3.9999998 sometimes: accepted, rounded. */
  static const float values[] = { 0, 1, 2, 3, 3.9999998f, 4, 0, 2 };
  g_autoptr (NsVolume) vol = volume_of (values, 8);

  g_autoptr (NsLabelMap) m15 = ns_label_map_from_volume (vol, NS_LABEL_SCHEME_BRATS2015, FALSE,
                                                         &error);
  g_assert_no_error (error);
  static const guint8 want15[] = { 0, 1, 2, 3, 4, 4, 0, 2 };
  g_assert_cmpmem (m15->labels, 8, want15, 8);
  g_assert_cmpstr (m15->path, ==, "labels.nii.gz");
  g_assert_cmpint (ns_label_map_guess_scheme (m15), ==, NS_LABEL_SCHEME_BRATS2015);

  guint64 counts[256];
  ns_label_map_count (m15, counts);
  g_assert_cmpuint (counts[0], ==, 2);
  g_assert_cmpuint (counts[4], ==, 2);
  g_assert_cmpuint (counts[5], ==, 0);

  /* 2015 -> 2017+: 3 becomes 1, the rest stays. */
  g_autoptr (NsLabelMap) m17 = ns_label_map_from_volume (vol, NS_LABEL_SCHEME_BRATS2015, TRUE,
                                                         &error);
  g_assert_no_error (error);
  static const guint8 want17[] = { 0, 1, 2, 1, 4, 4, 0, 2 };
  g_assert_cmpmem (m17->labels, 8, want17, 8);
  g_assert_true (ns_label_map_check_scheme (m17, NS_LABEL_SCHEME_BRATS2017, &error));
  g_assert_cmpint (ns_label_map_guess_scheme (m17), ==, NS_LABEL_SCHEME_BRATS2017);

  /* The 2017+ scheme has no 3. */
  g_assert_null (ns_label_map_from_volume (vol, NS_LABEL_SCHEME_BRATS2017, FALSE, &error));
  g_assert_error (error, NS_DATA_ERROR, NS_DATA_ERROR_BAD_LABELS);
  g_assert_nonnull (strstr (error->message, "labels.nii.gz"));
  g_assert_nonnull (strstr (error->message, "label 3 "));
  g_assert_nonnull (strstr (error->message, "(3, 0, 0)"));
  g_clear_error (&error);
  g_assert_false (ns_label_map_check_scheme (m15, NS_LABEL_SCHEME_BRATS2017, &error));
  g_assert_error (error, NS_DATA_ERROR, NS_DATA_ERROR_BAD_LABELS);
  g_assert_nonnull (strstr (error->message, "label 3 (1 voxels)"));
}

static void
test_bad_values (void)
{
  static const struct { float value; const char *says; } bad[] = {
    { 5.0f, "label 5 " }, { 2.5f, "not an integer" }, { -1.0f, "label -1 " },
    { 1000.0f, "label 1000 " }, { 0.3f, "not an integer" },
  };
  for (gsize b = 0; b < G_N_ELEMENTS (bad); b++)
    {
      GError *error = NULL;
      float values[4] = { 0, 1, bad[b].value, 2 };
      g_autoptr (NsVolume) vol = volume_of (values, 4);
      g_assert_null (ns_label_map_from_volume (vol, NS_LABEL_SCHEME_BRATS2015, FALSE, &error));
      g_assert_error (error, NS_DATA_ERROR, NS_DATA_ERROR_BAD_LABELS);
      g_test_message ("%s", error->message);
      g_assert_nonnull (strstr (error->message, "labels.nii.gz: "));
      g_assert_nonnull (strstr (error->message, bad[b].says));
      g_clear_error (&error);
    }

  /* NaN voxels (zeroed by the loader and counted) make a file no label map. */
  GError *error = NULL;
  float values[3] = { 0, 1, 2 };
  g_autoptr (NsVolume) vol = volume_of (values, 3);
  vol->n_nonfinite = 1;
  g_assert_null (ns_label_map_from_volume (vol, NS_LABEL_SCHEME_BRATS2017, FALSE, &error));
  g_assert_error (error, NS_DATA_ERROR, NS_DATA_ERROR_BAD_LABELS);
  g_assert_nonnull (strstr (error->message, "NaN"));
  g_clear_error (&error);
}

static void
test_from_nonzero (void)
{
  static const float values[] = { 0, 1e-7f, -3, 0, 0.99999994f };
  g_autoptr (NsVolume) vol = volume_of (values, 5);
  g_autoptr (NsLabelMap) mask = ns_label_map_from_nonzero (vol, NULL);
  static const guint8 want[] = { 0, 1, 1, 0, 1 };
  g_assert_cmpmem (mask->labels, 5, want, 5);
}

/* The centre of mass of the labelled voxels, per axis, rounded; FALSE for an empty map. */
static void
test_centroid (void)
{
  g_autoptr (GError) error = NULL;
  NsGrid grid;
  ns_grid_init (&grid, 9, 7, 5, 1.0, 1.0, 3.0);
  g_autoptr (NsLabelMap) map = ns_label_map_new (&grid, &error);
  g_assert_no_error (error);
  double c[3] = { -1, -1, -1 };

  g_assert_false (ns_label_map_centroid (map, c));
  g_assert_cmpfloat (c[0], ==, -1);

  /* (1, 2, 0), (2, 2, 0) and (8, 6, 4): mean (3.67, 3.33, 1.33) */
  map->labels[ns_grid_index (&grid, 1, 2, 0)] = 1;
  map->labels[ns_grid_index (&grid, 2, 2, 0)] = 4;
  map->labels[ns_grid_index (&grid, 8, 6, 4)] = 2;
  g_assert_true (ns_label_map_centroid (map, c));
  g_assert_cmpfloat (c[0], ==, 4);
  g_assert_cmpfloat (c[1], ==, 3);
  g_assert_cmpfloat (c[2], ==, 1);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/data/labels/schemes", test_schemes);
  g_test_add_func ("/data/labels/regions", test_regions);
  g_test_add_func ("/data/labels/from-volume", test_from_volume);
  g_test_add_func ("/data/labels/bad-values", test_bad_values);
  g_test_add_func ("/data/labels/from-nonzero", test_from_nonzero);
  g_test_add_func ("/data/labels/centroid", test_centroid);
  return g_test_run ();
}
