/* SPDX-License-Identifier: MIT
 *
 * test-data-volume.c: NsVolume / NsLabelMap allocation, overflow checks, grids and the
 * choice of their transform, large buffers and the memory budget of ns-memory.h.
 */
#include "ns-test-util.h"
#include "ns-volume.h"
#include "ns-data-error.h"
#include "ns-memory.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

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
  g_assert_cmpfloat (ns_volume_get_value (vol, 104), ==, 0.0f);
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

/* A volume can take a buffer filled beforehand: nothing is cleared or copied. */
static void
test_new_take (void)
{
  NsGrid grid;
  ns_grid_init (&grid, 3, 2, 2, 1, 1, 1);
  float *voxels = ns_memory_alloc_large (12 * sizeof (float), FALSE);
  for (int i = 0; i < 12; i++)
    voxels[i] = (float) i + 0.5f;
  g_autoptr (NsVolume) vol = ns_volume_new_take (&grid, voxels);
  g_assert_true (vol->voxels == voxels);
  g_assert_cmpfloat (ns_volume_get_value (vol, 11), ==, 11.5f);
  g_assert_cmpuint (ns_volume_n_voxels (vol), ==, 12);
}

/* A grid with the given sform (3x4, row 3 is 0 0 0 1) and a qform that is a plain
 * 2 mm scaling shifted by 10 mm. */
static void
grid_with_forms (NsGrid *grid, int sform_code, int qform_code, const double sform[3][4])
{
  ns_grid_init (grid, 8, 8, 8, 2, 2, 2);
  grid->sform_code = sform_code;
  grid->qform_code = qform_code;
  for (int r = 0; r < 3; r++)
    for (int c = 0; c < 4; c++)
      {
        grid->sform[r][c] = sform[r][c];
        grid->qform[r][c] = r == c ? 2.0 : c == 3 ? 10.0 : 0.0;
      }
  grid->sform[3][3] = grid->qform[3][3] = 1.0;
  ns_grid_update_vox2ras (grid);
}

/* #13 defect 14: an sform whose code says "use me" but that is all zeros (or NaN) used
 * to become vox2ras, reported as "RAS", with every voxel at the origin.  It is skipped for
 * the qform, else pixdim, and the warning says which and why. */
static void
test_xform_choice (void)
{
  static const double lps[3][4] = { { -1, 0, 0, 90 }, { 0, -1, 0, 126 }, { 0, 0, 1, -72 } };
  static const double zeros[3][4] = { { 0 } };
  static const double rank2[3][4] = { { 1, 2, 0, 0 }, { 2, 4, 0, 0 }, { 0, 0, 1, 0 } };
  static const double tiny[3][4] = { { 0.01, 0, 0, 0 }, { 0, 0.01, 0, 0 }, { 0, 0, 0.01, 0 } };
  NsGrid g;
  char code[4];

  /* A good sform is used, and nothing is said. */
  grid_with_forms (&g, 1, 1, lps);
  g_assert_cmpint (ns_grid_get_xform (&g), ==, NS_GRID_XFORM_SFORM);
  g_assert_cmpfloat (g.vox2ras[0][0], ==, -1.0);
  g_assert_cmpfloat (g.vox2ras[1][3], ==, 126.0);
  g_assert_null (ns_grid_dup_xform_warning (&g));
  ns_grid_orientation_code (&g, code);
  g_assert_cmpstr (code, ==, "LPS");

  /* Small voxels are not "singular". */
  grid_with_forms (&g, 2, 0, tiny);
  g_assert_cmpint (ns_grid_get_xform (&g), ==, NS_GRID_XFORM_SFORM);

  /* All zeros, with a qform: the qform. */
  grid_with_forms (&g, 1, 1, zeros);
  g_assert_cmpint (ns_grid_get_xform (&g), ==, NS_GRID_XFORM_QFORM);
  g_assert_cmpfloat (g.vox2ras[0][0], ==, 2.0);
  g_assert_cmpfloat (g.vox2ras[2][3], ==, 10.0);
  g_autofree char *w1 = ns_grid_dup_xform_warning (&g);
  g_test_message ("%s", w1);
  g_assert_nonnull (strstr (w1, "sform (code 1) is singular"));
  g_assert_nonnull (strstr (w1, "qform is used"));

  /* Rank 2 (two dependent columns), no qform: pixdim, axis-aligned. */
  grid_with_forms (&g, 1, 0, rank2);
  g_assert_cmpint (ns_grid_get_xform (&g), ==, NS_GRID_XFORM_PIXDIM);
  g_assert_cmpfloat (g.vox2ras[0][0], ==, 2.0);
  g_assert_cmpfloat (g.vox2ras[0][1], ==, 0.0);
  g_autofree char *w2 = ns_grid_dup_xform_warning (&g);
  g_assert_nonnull (strstr (w2, "singular"));
  g_assert_nonnull (strstr (w2, "pixdim"));
  g_assert_cmpstr (ns_grid_xform_name (ns_grid_get_xform (&g)), ==, "pixdim");

  /* NaN in the sform; the qform is not finite either. */
  double nan_sform[3][4];
  memcpy (nan_sform, lps, sizeof nan_sform);
  nan_sform[1][3] = NAN;
  grid_with_forms (&g, 1, 1, nan_sform);
  g.qform[0][0] = INFINITY;
  ns_grid_update_vox2ras (&g);
  g_assert_cmpint (ns_grid_get_xform (&g), ==, NS_GRID_XFORM_PIXDIM);
  g_autofree char *w3 = ns_grid_dup_xform_warning (&g);
  g_test_message ("%s", w3);
  g_assert_nonnull (strstr (w3, "sform (code 1) is not finite"));
  g_assert_nonnull (strstr (w3, "qform (code 1) is not finite"));
  for (int r = 0; r < 4; r++)
    for (int c = 0; c < 4; c++)
      g_assert_true (isfinite (g.vox2ras[r][c]));

  /* Codes 0: pixdim is the rule, not a fallback; nothing to warn about. */
  grid_with_forms (&g, 0, 0, zeros);
  g_assert_cmpint (ns_grid_get_xform (&g), ==, NS_GRID_XFORM_PIXDIM);
  g_assert_null (ns_grid_dup_xform_warning (&g));
}

static gint held_mib, max_held;

static gpointer
reserve_thread (gpointer data)
{
  guint granted = 0;
  for (int i = 0; i < 2000; i++)
    {
      if (!ns_memory_reserve (3 << 20, NULL))
        continue;
      int now = g_atomic_int_add (&held_mib, 3) + 3;
      int seen = g_atomic_int_get (&max_held);
      while (now > seen && !g_atomic_int_compare_and_exchange (&max_held, seen, now))
        seen = g_atomic_int_get (&max_held);
      g_atomic_int_add (&held_mib, -3);
      ns_memory_release (3 << 20);
      granted++;
    }
  return GUINT_TO_POINTER (granted);
}

/* The memory budget: reservations add up (several files decoded at once) and are refused
 * past the limit, saying what is left; releasing gives it back. */
static void
test_memory_budget (void)
{
  guint64 left = 0;

  /* The system's figure is positive and not absurd. */
  guint64 sys = ns_memory_available ();
  g_test_message ("available: %" G_GUINT64_FORMAT " MiB", sys >> 20);
  g_assert_cmpuint (sys, >, 0);

  ns_memory_set_limit (100 << 20);
  g_assert_cmpuint (ns_memory_available (), ==, 100 << 20);
  g_assert_true (ns_memory_reserve (60 << 20, &left));
  g_assert_true (ns_memory_reserve (30 << 20, &left));
  g_assert_cmpuint (ns_memory_available (), ==, 10 << 20);
  /* Each would fit alone; the sum does not. */
  g_assert_false (ns_memory_reserve (20 << 20, &left));
  g_assert_cmpuint (left, ==, 10 << 20);
  ns_memory_release (60 << 20);
  g_assert_true (ns_memory_reserve (20 << 20, NULL));
  ns_memory_release (20 << 20);
  ns_memory_release (30 << 20);
  g_assert_cmpuint (ns_memory_available (), ==, 100 << 20);

  /* From several threads at once: never more than the limit granted at a time. */
  ns_memory_set_limit (16 << 20);
  GThread *threads[8];
  for (int t = 0; t < 8; t++)
    threads[t] = g_thread_new ("reserve", reserve_thread, NULL);
  guint granted = 0;
  for (int t = 0; t < 8; t++)
    granted += GPOINTER_TO_UINT (g_thread_join (threads[t]));
  g_test_message ("%u reservations granted", granted);
  g_assert_cmpuint (granted, >, 0);
  g_assert_cmpint (g_atomic_int_get (&max_held), <=, 16);
  g_assert_cmpuint (ns_memory_available (), ==, 16 << 20);

  ns_memory_set_limit (0);
  g_assert_cmpuint (ns_memory_available (), >, 0);
}

/* Growing a large buffer keeps its content. */
static void
test_memory_realloc (void)
{
  gsize small = 1000, big = ((gsize) 13 << 20) + 7;
  guint8 *p = ns_memory_alloc_large (small, FALSE);
  for (gsize i = 0; i < small; i++)
    p[i] = (guint8) i;
  p = ns_memory_realloc_large (p, big);
  g_assert_nonnull (p);
  for (gsize i = 0; i < small; i++)
    g_assert_cmpuint (p[i], ==, (guint8) i);
  memset (p + small, 0x5a, big - small);
  p = ns_memory_realloc_large (p, 2 * big);
  g_assert_nonnull (p);
  g_assert_cmpuint (p[small - 1], ==, (guint8) (small - 1));
  g_assert_cmpuint (p[big - 1], ==, 0x5a);
  g_free (p);
}

/* The THPeligible line of /proc/self/smaps for the mapping holding p (-1: not shown). */
static int
thp_eligible (const void *p)
{
  g_autofree char *smaps = NULL;
  int result = -1;

  if (!g_file_get_contents ("/proc/self/smaps", &smaps, NULL, NULL))
    return -1;
  gboolean inside = FALSE;
  for (char *line = strtok (smaps, "\n"); line != NULL; line = strtok (NULL, "\n"))
    {
      unsigned long lo, hi;
      if (sscanf (line, "%lx-%lx ", &lo, &hi) == 2 && strchr (line, ':') != NULL
          && strchr (line, '-') < strchr (line, ' '))
        inside = (unsigned long) p >= lo && (unsigned long) p < hi;
      else if (inside && g_str_has_prefix (line, "THPeligible:"))
        result = atoi (line + strlen ("THPeligible:"));
    }
  return result;
}

/* Large buffers: zeroed when asked, 2 MiB-aligned, advised onto huge pages where the
 * kernel offers them (THP "madvise" or "always"), freed with g_free; small ones as malloc. */
static void
test_memory_large (void)
{
  gsize big = ((gsize) 9 << 20) + 123;
  guint8 *p = ns_memory_alloc_large (big, TRUE);
  g_assert_nonnull (p);
  g_assert_cmpuint ((guintptr) p % ((gsize) 2 << 20), ==, 0);
  for (gsize i = 0; i < big; i += 4093)
    g_assert_cmpuint (p[i], ==, 0);
  g_assert_cmpuint (p[big - 1], ==, 0);
  memset (p, 0xab, big);

  g_autofree char *mode = NULL;
  if (g_file_get_contents ("/sys/kernel/mm/transparent_hugepage/enabled", &mode, NULL, NULL)
      && (strstr (mode, "[madvise]") != NULL || strstr (mode, "[always]") != NULL))
    {
      int eligible = thp_eligible (p);
      g_test_message ("THP mode %s, THPeligible %d", g_strstrip (mode), eligible);
      if (eligible >= 0)
        g_assert_cmpint (eligible, ==, 1);
    }
  g_free (p);

  guint8 *small = ns_memory_alloc_large (100, TRUE);
  g_assert_nonnull (small);
  for (int i = 0; i < 100; i++)
    g_assert_cmpuint (small[i], ==, 0);
  g_free (small);
  g_free (ns_memory_alloc_large (0, FALSE));
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/data/volume/alloc", test_alloc);
  g_test_add_func ("/data/volume/bad-dims", test_bad_dims);
  g_test_add_func ("/data/volume/orientation", test_orientation);
  g_test_add_func ("/data/volume/new-take", test_new_take);
  g_test_add_func ("/data/volume/xform-choice", test_xform_choice);
  g_test_add_func ("/data/memory/large", test_memory_large);
  g_test_add_func ("/data/memory/budget", test_memory_budget);
  g_test_add_func ("/data/memory/realloc", test_memory_realloc);
  return g_test_run ();
}
