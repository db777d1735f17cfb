/* SPDX-License-Identifier: MIT
 *
 * test-data-volume.c: NsVolume / NsLabelMap allocation, overflow checks, grids, large
 * buffers and the memory budget of ns-memory.h.
 */
#include "ns-test-util.h"
#include "ns-volume.h"
#include "ns-data-error.h"
#include "ns-memory.h"

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
  g_test_add_func ("/data/memory/large", test_memory_large);
  g_test_add_func ("/data/memory/budget", test_memory_budget);
  g_test_add_func ("/data/memory/realloc", test_memory_realloc);
  return g_test_run ();
}
