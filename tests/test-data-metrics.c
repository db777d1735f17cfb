/* SPDX-License-Identifier: MIT
 *
 * test-data-metrics.c: Dice, HD95 and volumes (data/ns-metrics.h) on synthetic label
 * maps whose answers are worked out by hand in the comments, and the exact distance
 * transform against brute force on small random volumes.
 */
#include "ns-test-util.h"
#include "ns-metrics.h"
#include "ns-data-error.h"

#include <math.h>
#include <string.h>

static NsLabelMap *
new_map (int nx, int ny, int nz, double sx, double sy, double sz)
{
  NsGrid grid;
  g_autoptr (GError) error = NULL;

  ns_grid_init (&grid, nx, ny, nz, sx, sy, sz);
  NsLabelMap *map = ns_label_map_new (&grid, &error);
  g_assert_no_error (error);
  return map;
}

static void
fill_box (NsLabelMap *map, int x0, int y0, int z0, int x1, int y1, int z1, guint8 label)
{
  for (int k = z0; k <= z1; k++)
    for (int j = y0; j <= y1; j++)
      for (int i = x0; i <= x1; i++)
        map->labels[ns_grid_index (&map->grid, i, j, k)] = label;
}

static void
evaluate (const NsLabelMap *pred, const NsLabelMap *truth, NsMetrics *metrics)
{
  g_autoptr (GError) error = NULL;
  g_assert_true (ns_metrics_evaluate (pred, truth, metrics, &error));
  g_assert_no_error (error);
}

static const NsMetricsRow *
row (const NsMetrics *metrics, const char *name)
{
  const NsMetricsRow *r = ns_metrics_find_row (metrics, name);
  g_assert_nonnull (r);
  return r;
}

/* ---- pieces -------------------------------------------------------------------------- */

static void
test_dice (void)
{
  g_assert_cmpfloat (ns_metrics_dice (0, 0, 0), ==, 1.0);
  g_assert_cmpfloat (ns_metrics_dice (5, 0, 0), ==, 0.0);
  g_assert_cmpfloat (ns_metrics_dice (0, 5, 0), ==, 0.0);
  g_assert_cmpfloat (ns_metrics_dice (1000, 1000, 900), ==, 0.9);
  g_assert_cmpfloat_with_epsilon (ns_metrics_dice (3, 1, 1), 0.5, 1e-15);
}

static void
test_percentile (void)
{
  /* numpy.percentile([1, 2, 3, 4], 50) = 2.5; [0..19] at 95: h = 0.95 * 19 = 18.05. */
  double a[] = { 4, 1, 3, 2 };
  g_assert_cmpfloat_with_epsilon (ns_metrics_percentile (a, 4, 50.0), 2.5, 1e-12);
  double b[20];
  for (int i = 0; i < 20; i++)
    b[19 - i] = i;
  g_assert_cmpfloat_with_epsilon (ns_metrics_percentile (b, 20, 95.0), 18.05, 1e-12);
  g_assert_cmpfloat (ns_metrics_percentile (b, 20, 100.0), ==, 19.0);
  g_assert_cmpfloat (ns_metrics_percentile (b, 20, 0.0), ==, 0.0);
  double c[] = { 7 };
  g_assert_cmpfloat (ns_metrics_percentile (c, 1, 95.0), ==, 7.0);
  g_assert_true (isnan (ns_metrics_percentile (NULL, 0, 95.0)));
  /* Infinite values sort last; a percentile between two of them is inf, not NaN. */
  double d[] = { INFINITY, 1, INFINITY };
  g_assert_true (isinf (ns_metrics_percentile (d, 3, 95.0)));
}

static double
brute_dist_sq (const guint8 *mask, const int dims[3], const double sp[3], int i, int j, int k)
{
  double best = INFINITY;
  gsize idx = 0;
  for (int w = 0; w < dims[2]; w++)
    for (int v = 0; v < dims[1]; v++)
      for (int u = 0; u < dims[0]; u++, idx++)
        if (mask[idx])
          {
            double dx = sp[0] * (i - u), dy = sp[1] * (j - v), dz = sp[2] * (k - w);
            best = MIN (best, dx * dx + dy * dy + dz * dz);
          }
  return best;
}

/* The transform against the definition, voxel by voxel, on random masks of several shapes
 * and densities (reproducible with the GTest --seed). */
static void
test_edt_brute_force (void)
{
  static const int shapes[][3] = {
    { 7, 5, 6 }, { 9, 1, 4 }, { 1, 1, 13 }, { 12, 11, 1 }, { 6, 8, 9 }, { 1, 1, 1 },
  };
  static const double spacings[][3] = {
    { 1, 1, 1 }, { 0.7, 1.3, 2.1 }, { 3.0, 0.5, 1.0 },
  };
  static const double densities[] = { 0.0, 0.01, 0.05, 0.3, 0.9, 1.0 };
  double worst = 0.0;
  int n_checked = 0;

  for (gsize s = 0; s < G_N_ELEMENTS (shapes); s++)
    for (gsize p = 0; p < G_N_ELEMENTS (spacings); p++)
      for (gsize d = 0; d < G_N_ELEMENTS (densities); d++)
        for (int trial = 0; trial < 3; trial++)
          {
            const int *dims = shapes[s];
            const double *sp = spacings[p];
            gsize n = (gsize) dims[0] * dims[1] * dims[2];
            g_autofree guint8 *mask = g_new0 (guint8, n);
            g_autofree double *dist = g_new (double, n);
            g_autoptr (GError) error = NULL;

            for (gsize v = 0; v < n; v++)
              mask[v] = g_test_rand_double_range (0, 1) < densities[d];
            g_assert_true (ns_metrics_distance_transform_sq (mask, dims, sp, dist, &error));
            g_assert_no_error (error);

            gsize idx = 0;
            for (int k = 0; k < dims[2]; k++)
              for (int j = 0; j < dims[1]; j++)
                for (int i = 0; i < dims[0]; i++, idx++)
                  {
                    double want = brute_dist_sq (mask, dims, sp, i, j, k);
                    if (isinf (want))
                      {
                        g_assert_true (isinf (dist[idx]));
                        continue;
                      }
                    double err = fabs (dist[idx] - want) / (1.0 + want);
                    worst = MAX (worst, err);
                    if (err > 1e-12)
                      g_error ("EDT at (%d, %d, %d) of %dx%dx%d, spacing %g %g %g: %.17g, "
                               "brute force %.17g", i, j, k, dims[0], dims[1], dims[2],
                               sp[0], sp[1], sp[2], dist[idx], want);
                    n_checked++;
                  }
          }
  g_test_message ("EDT: %d finite voxels checked, largest relative error %.3g", n_checked, worst);
  g_assert_cmpint (n_checked, >, 10000);
}

/* HD95 of random masks against the definition: surfaces by their 6-neighbours, directed
 * distances by brute force, pooled, numpy's percentile. */
static void
test_hd95_brute_force (void)
{
  static const int dims[3] = { 9, 7, 8 };
  static const double sp[3] = { 0.9, 1.4, 2.5 };
  gsize n = (gsize) dims[0] * dims[1] * dims[2];

  for (int trial = 0; trial < 20; trial++)
    {
      g_autofree guint8 *a = g_new0 (guint8, n);
      g_autofree guint8 *b = g_new0 (guint8, n);
      g_autofree guint8 *sa = g_new0 (guint8, n);
      g_autofree guint8 *sb = g_new0 (guint8, n);
      g_autoptr (GError) error = NULL;
      double density_a = g_test_rand_double_range (0.05, 0.8);
      double density_b = g_test_rand_double_range (0.05, 0.8);

      for (gsize v = 0; v < n; v++)
        {
          a[v] = g_test_rand_double_range (0, 1) < density_a;
          b[v] = g_test_rand_double_range (0, 1) < density_b;
        }
      a[0] = b[n - 1] = 1; /* neither is empty */

      /* Surfaces by the definition, written out independently of ns_metrics_surface. */
      gsize idx = 0;
      for (int k = 0; k < dims[2]; k++)
        for (int j = 0; j < dims[1]; j++)
          for (int i = 0; i < dims[0]; i++, idx++)
            {
              static const int nb[6][3] = {
                { -1, 0, 0 }, { 1, 0, 0 }, { 0, -1, 0 }, { 0, 1, 0 }, { 0, 0, -1 }, { 0, 0, 1 },
              };
              for (int m = 0; m < 6; m++)
                {
                  int u = i + nb[m][0], v = j + nb[m][1], w = k + nb[m][2];
                  gboolean outside = u < 0 || v < 0 || w < 0 || u >= dims[0] || v >= dims[1]
                                     || w >= dims[2];
                  gsize nidx = outside ? 0 : ((gsize) w * dims[1] + v) * dims[0] + u;
                  if (a[idx] && (outside || !a[nidx]))
                    sa[idx] = 1;
                  if (b[idx] && (outside || !b[nidx]))
                    sb[idx] = 1;
                }
            }
      g_autofree guint8 *surf = g_new (guint8, n);
      ns_metrics_surface (a, dims, surf);
      g_assert_cmpmem (surf, n, sa, n);

      g_autoptr (GArray) want = g_array_new (FALSE, FALSE, sizeof (double));
      idx = 0;
      for (int pass = 0; pass < 2; pass++)
        {
          const guint8 *from = pass == 0 ? sa : sb, *to = pass == 0 ? sb : sa;
          idx = 0;
          for (int k = 0; k < dims[2]; k++)
            for (int j = 0; j < dims[1]; j++)
              for (int i = 0; i < dims[0]; i++, idx++)
                if (from[idx])
                  {
                    double dist = sqrt (brute_dist_sq (to, dims, sp, i, j, k));
                    g_array_append_val (want, dist);
                  }
        }

      /* The directed set from a to b, in voxel order, as brute force gives it. */
      g_autoptr (GArray) got = g_array_new (FALSE, FALSE, sizeof (double));
      g_assert_true (ns_metrics_surface_distances (a, b, dims, sp, got, &error));
      g_assert_no_error (error);
      for (guint i = 0; i < got->len; i++)
        g_assert_cmpfloat_with_epsilon (g_array_index (got, double, i),
                                        g_array_index (want, double, i), 1e-9);

      double hd95;
      g_assert_true (ns_metrics_hd95 (a, b, dims, sp, &hd95, &error));
      g_assert_no_error (error);
      double want_hd95 = ns_metrics_percentile ((double *) (void *) want->data, want->len, 95.0);
      g_assert_cmpfloat_with_epsilon (hd95, want_hd95, 1e-9);
    }
}

/* ---- whole label maps ----------------------------------------------------------------- */

static void
test_self (void)
{
  g_autoptr (NsLabelMap) truth = new_map (30, 28, 26, 1.0, 1.2, 2.5);
  NsMetrics m;

  fill_box (truth, 5, 5, 5, 20, 20, 18, 2);
  fill_box (truth, 8, 8, 8, 15, 15, 14, 1);
  fill_box (truth, 10, 9, 10, 13, 12, 12, 4);
  evaluate (truth, truth, &m);

  /* No 3 anywhere: rows 1, 2, 4, WT, TC, ET. */
  g_assert_cmpuint (m.n_rows, ==, 6);
  g_assert_null (ns_metrics_find_row (&m, "3"));
  for (guint r = 0; r < m.n_rows; r++)
    {
      g_assert_cmpfloat (m.rows[r].dice, ==, 1.0);
      g_assert_cmpfloat (m.rows[r].hd95_mm, ==, 0.0);
      g_assert_cmpfloat (m.rows[r].sensitivity, ==, 1.0);
      g_assert_cmpfloat (m.rows[r].specificity, ==, 1.0);
      g_assert_cmpfloat (m.rows[r].volume_pred_ml, ==, m.rows[r].volume_truth_ml);
    }
  /* Volumes: counts x 1 x 1.2 x 2.5 mm^3 = 3 uL per voxel. */
  g_assert_cmpuint (row (&m, "ET")->n_truth, ==, 4 * 4 * 3);
  g_assert_cmpfloat_with_epsilon (row (&m, "ET")->volume_truth_ml, 48 * 0.003, 1e-12);
  g_assert_cmpuint (row (&m, "WT")->n_truth, ==, 16 * 16 * 14);
  g_assert_cmpuint (row (&m, "TC")->n_truth, ==, 8 * 8 * 7);
  g_assert_cmpuint (row (&m, "1")->n_truth, ==, 8 * 8 * 7 - 48);
  g_assert_cmpfloat_with_epsilon (row (&m, "WT")->volume_truth_ml, 3584 * 0.003, 1e-12);
}

/* A 10 x 10 x 10 cube of label 1 (x 5..14) against the same cube shifted by one voxel in
 * +x (x 6..15), spacing (sx, 1, 3) mm.
 *
 * Dice: overlap 9 x 10 x 10 = 900, so 2 x 900 / (1000 + 1000) = 0.9.
 *
 * Surfaces: each cube has 10^3 - 8^3 = 488 surface voxels.  Directed distances from the
 * first cube's surface to the second's:
 * - on the face x = 5 (100 voxels): the second cube's face x = 6 is next to it: sx;
 * - on the face x = 14 but not on an edge (8 x 8 = 64 voxels, y and z both in 1..8
 *   relative to the cube): inside the second cube, whose nearest surface is along an
 *   axis: its face x = 15 at sx, the y faces at dy mm with dy = min(y, 9 - y) in 1..4,
 *   the z faces at 3 dz >= 3 mm, the face x = 6 far away.  With sx = 2: 1 mm when
 *   dy = 1 (y = 1 or 8: 2 x 8 = 16 voxels), else 2 mm (48 voxels); with sx = 1: all 1;
 * - the other 488 - 164 = 324 surface voxels lie on the second cube's surface too: 0.
 * The other direction is the mirror image.  Pooled: n = 976 values.
 * - sx = 1: 648 zeros then 328 ones; h = 0.95 x 975 = 926.25, x[926] = x[927] = 1, so
 *   HD95 = 1 mm.
 * - sx = 2: 648 zeros, 32 ones (ranks 648..679), 296 twos (680..975); x[926] = x[927] = 2,
 *   so HD95 = 2 mm. */
static void
check_cube_shift (double sx)
{
  g_autoptr (NsLabelMap) truth = new_map (20, 12, 12, sx, 1.0, 3.0);
  g_autoptr (NsLabelMap) pred = new_map (20, 12, 12, sx, 1.0, 3.0);
  g_autoptr (GError) error = NULL;
  NsMetrics m;

  fill_box (truth, 5, 1, 1, 14, 10, 10, 1);
  fill_box (pred, 6, 1, 1, 15, 10, 10, 1);
  evaluate (pred, truth, &m);

  const NsMetricsRow *one = row (&m, "1");
  g_assert_cmpuint (one->n_pred, ==, 1000);
  g_assert_cmpuint (one->n_truth, ==, 1000);
  g_assert_cmpuint (one->n_overlap, ==, 900);
  g_assert_cmpfloat_with_epsilon (one->dice, 0.9, 1e-15);
  g_assert_cmpfloat_with_epsilon (one->hd95_mm, sx, 1e-12);
  g_assert_cmpfloat_with_epsilon (one->sensitivity, 0.9, 1e-15);
  /* 2880 voxels, 1880 truth negatives, of which 1780 are not predicted. */
  g_assert_cmpfloat_with_epsilon (one->specificity, 1780.0 / 1880.0, 1e-15);
  g_assert_cmpfloat_with_epsilon (one->volume_pred_ml, 1000 * sx * 3.0 / 1000.0, 1e-12);
  /* WT and TC are the same cube; label 2, 4 and ET are empty on both sides. */
  g_assert_cmpfloat_with_epsilon (row (&m, "WT")->dice, 0.9, 1e-15);
  g_assert_cmpfloat_with_epsilon (row (&m, "TC")->hd95_mm, sx, 1e-12);
  g_assert_cmpfloat (row (&m, "2")->dice, ==, 1.0);
  g_assert_cmpfloat (row (&m, "2")->hd95_mm, ==, 0.0);
  g_assert_cmpfloat (row (&m, "ET")->hd95_mm, ==, 0.0);
  g_assert_true (isnan (row (&m, "ET")->sensitivity));

  /* The directed distribution itself. */
  g_autofree guint8 *a = g_new0 (guint8, ns_grid_n_voxels (&truth->grid));
  g_autofree guint8 *b = g_new0 (guint8, ns_grid_n_voxels (&truth->grid));
  for (gsize i = 0; i < ns_grid_n_voxels (&truth->grid); i++)
    {
      a[i] = truth->labels[i] == 1;
      b[i] = pred->labels[i] == 1;
    }
  g_autoptr (GArray) dist = g_array_new (FALSE, FALSE, sizeof (double));
  g_assert_true (ns_metrics_surface_distances (a, b, truth->grid.dim, truth->grid.spacing,
                                               dist, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (dist->len, ==, 488);
  guint count[3] = { 0, 0, 0 };
  for (guint i = 0; i < dist->len; i++)
    {
      double d = g_array_index (dist, double, i);
      g_assert_true (d == 0.0 || d == 1.0 || d == 2.0);
      count[(int) d]++;
    }
  g_assert_cmpuint (count[0], ==, 324);
  if (sx == 1.0)
    g_assert_cmpuint (count[1], ==, 164);
  else
    {
      g_assert_cmpuint (count[1], ==, 16);
      g_assert_cmpuint (count[2], ==, 148);
    }
}

static void
test_cube_shift (void)
{
  check_cube_shift (1.0);
}

static void
test_cube_shift_anisotropic (void)
{
  check_cube_shift (2.0);
}

/* Percentile interpolation through the whole pipeline.  A 20 x 1 x 1 grid with spacing
 * 2 mm: the prediction is voxel 0 (label 4), the truth voxels 3 and 10 (each its own
 * surface).  Directed: 0 -> nearest of {3, 10} is 3 voxels = 6 mm; 3 -> 0: 6 mm;
 * 10 -> 0: 20 mm.  Pooled sorted [6, 6, 20], h = 0.95 x 2 = 1.9,
 * HD95 = 6 + 0.9 x (20 - 6) = 18.6 mm.  Dice 0 with no overlap. */
static void
test_interpolated (void)
{
  g_autoptr (NsLabelMap) truth = new_map (20, 1, 1, 2.0, 1.0, 1.0);
  g_autoptr (NsLabelMap) pred = new_map (20, 1, 1, 2.0, 1.0, 1.0);
  NsMetrics m;

  pred->labels[0] = 4;
  truth->labels[3] = truth->labels[10] = 4;
  evaluate (pred, truth, &m);
  g_assert_cmpfloat_with_epsilon (row (&m, "ET")->hd95_mm, 18.6, 1e-12);
  g_assert_cmpfloat_with_epsilon (row (&m, "4")->hd95_mm, 18.6, 1e-12);
  g_assert_cmpfloat (row (&m, "4")->dice, ==, 0.0);

  /* Diagonal, anisotropic: voxel (0, 0, 0) against (3, 4, 1) with spacing (2, 1, 3):
   * sqrt(6^2 + 4^2 + 3^2) = sqrt(61) both ways. */
  g_autoptr (NsLabelMap) p2 = new_map (5, 6, 3, 2.0, 1.0, 3.0);
  g_autoptr (NsLabelMap) t2 = new_map (5, 6, 3, 2.0, 1.0, 3.0);
  p2->labels[ns_grid_index (&p2->grid, 0, 0, 0)] = 2;
  t2->labels[ns_grid_index (&t2->grid, 3, 4, 1)] = 2;
  evaluate (p2, t2, &m);
  g_assert_cmpfloat_with_epsilon (row (&m, "2")->hd95_mm, sqrt (61.0), 1e-12);
  g_assert_cmpfloat_with_epsilon (row (&m, "WT")->hd95_mm, sqrt (61.0), 1e-12);
  g_assert_cmpfloat (row (&m, "TC")->hd95_mm, ==, 0.0);
}

static void
test_empty (void)
{
  g_autoptr (NsLabelMap) empty = new_map (10, 10, 10, 1, 1, 1);
  g_autoptr (NsLabelMap) empty2 = new_map (10, 10, 10, 1, 1, 1);
  g_autoptr (NsLabelMap) pred = new_map (10, 10, 10, 1, 1, 1);
  g_autoptr (NsLabelMap) truth = new_map (10, 10, 10, 1, 1, 1);
  NsMetrics m;

  /* Both empty: Dice 1, HD95 0 everywhere. */
  evaluate (empty, empty2, &m);
  g_assert_cmpuint (m.n_rows, ==, 6);
  for (guint r = 0; r < m.n_rows; r++)
    {
      g_assert_cmpfloat (m.rows[r].dice, ==, 1.0);
      g_assert_cmpfloat (m.rows[r].hd95_mm, ==, 0.0);
      g_assert_cmpfloat (m.rows[r].volume_pred_ml, ==, 0.0);
    }

  /* Prediction only label 1, truth only label 4: label 1 and 4 each have one side empty,
   * so Dice 0 and HD95 infinite; WT and TC have both (the boxes are 2 voxels apart). */
  fill_box (pred, 2, 2, 2, 3, 3, 3, 1);
  fill_box (truth, 6, 2, 2, 7, 3, 3, 4);
  evaluate (pred, truth, &m);
  g_assert_cmpfloat (row (&m, "1")->dice, ==, 0.0);
  g_assert_true (isinf (row (&m, "1")->hd95_mm) && row (&m, "1")->hd95_mm > 0);
  g_assert_true (isinf (row (&m, "4")->hd95_mm));
  g_assert_true (isinf (row (&m, "ET")->hd95_mm));
  g_assert_cmpfloat (row (&m, "2")->hd95_mm, ==, 0.0);
  g_assert_cmpfloat (row (&m, "WT")->dice, ==, 0.0);
  /* Every voxel of both 2x2x2 cubes (x 2..3 and x 6..7) is surface.  The faces x = 3 and
   * x = 6 are 3 voxels apart, x = 2 and x = 7 are 4 from the nearest: pooled 8 threes
   * and 8 fours, h = 0.95 x 15 = 14.25, x[14] = x[15] = 4. */
  g_assert_cmpfloat_with_epsilon (row (&m, "WT")->hd95_mm, 4.0, 1e-12);
  g_assert_cmpfloat_with_epsilon (row (&m, "TC")->hd95_mm, 4.0, 1e-12);
  g_assert_cmpfloat_with_epsilon (row (&m, "1")->volume_pred_ml, 0.008, 1e-15);

  /* Empty prediction against a non-empty truth. */
  evaluate (empty, truth, &m);
  g_assert_cmpfloat (row (&m, "WT")->dice, ==, 0.0);
  g_assert_true (isinf (row (&m, "WT")->hd95_mm));
  g_assert_cmpfloat (row (&m, "WT")->sensitivity, ==, 0.0);

  /* The mask-level function agrees. */
  double hd95 = -1;
  g_autofree guint8 *none = g_new0 (guint8, 1000);
  g_autofree guint8 *one = g_new0 (guint8, 1000);
  one[555] = 1;
  g_assert_true (ns_metrics_hd95 (none, none, empty->grid.dim, empty->grid.spacing, &hd95, NULL));
  g_assert_cmpfloat (hd95, ==, 0.0);
  g_assert_true (ns_metrics_hd95 (one, none, empty->grid.dim, empty->grid.spacing, &hd95, NULL));
  g_assert_true (isinf (hd95));
  g_assert_true (ns_metrics_hd95 (none, one, empty->grid.dim, empty->grid.spacing, &hd95, NULL));
  g_assert_true (isinf (hd95));
}

/* Label 3 (BraTS 2015) gets its own row and belongs to WT and TC, not ET. */
static void
test_label_3 (void)
{
  g_autoptr (NsLabelMap) pred = new_map (10, 10, 10, 1, 1, 1);
  g_autoptr (NsLabelMap) truth = new_map (10, 10, 10, 1, 1, 1);
  NsMetrics m;

  fill_box (truth, 2, 2, 2, 5, 5, 5, 3);
  fill_box (pred, 2, 2, 2, 5, 5, 5, 1);
  evaluate (pred, truth, &m);
  g_assert_cmpuint (m.n_rows, ==, 7);
  g_assert_cmpstr (m.rows[2].name, ==, "3");
  g_assert_cmpfloat (row (&m, "3")->dice, ==, 0.0);
  g_assert_cmpfloat (row (&m, "1")->dice, ==, 0.0);
  g_assert_cmpfloat (row (&m, "TC")->dice, ==, 1.0);
  g_assert_cmpfloat (row (&m, "WT")->hd95_mm, ==, 0.0);
  g_assert_cmpfloat (row (&m, "ET")->dice, ==, 1.0);
}

static void
draw_ball (NsLabelMap *map, double cx, double cy, double cz, double radius_mm, guint8 label)
{
  const NsGrid *g = &map->grid;
  for (int k = 0; k < g->dim[2]; k++)
    for (int j = 0; j < g->dim[1]; j++)
      for (int i = 0; i < g->dim[0]; i++)
        {
          double dx = (i - cx) * g->spacing[0], dy = (j - cy) * g->spacing[1];
          double dz = (k - cz) * g->spacing[2];
          if (dx * dx + dy * dy + dz * dz <= radius_mm * radius_mm)
            map->labels[ns_grid_index (g, i, j, k)] = label;
        }
}

/* Concentric balls of radius 8 and 12 mm: volumes 4/3 pi r^3 (2.145 and 7.238 mL), Dice
 * 2 x 8^3 / (8^3 + 12^3) = 0.4571, and every surface point is 4 mm from the other
 * surface, so HD95 is 4 mm give or take the digitisation (at most one voxel diagonal of
 * the coarser axis on each surface; we allow one spacing). */
static void
check_balls (double sx, double sy, double sz)
{
  int n = 40;
  g_autoptr (NsLabelMap) pred = new_map ((int) (n / sx), (int) (n / sy), (int) (n / sz),
                                         sx, sy, sz);
  g_autoptr (NsLabelMap) truth = new_map ((int) (n / sx), (int) (n / sy), (int) (n / sz),
                                          sx, sy, sz);
  double c[3] = { 0.5 * (n / sx - 1), 0.5 * (n / sy - 1), 0.5 * (n / sz - 1) };
  NsMetrics m;

  draw_ball (pred, c[0], c[1], c[2], 8.0, 4);
  draw_ball (truth, c[0], c[1], c[2], 12.0, 2);
  draw_ball (truth, c[0], c[1], c[2], 8.0, 4);
  evaluate (pred, truth, &m);

  const NsMetricsRow *wt = row (&m, "WT"), *et = row (&m, "ET");
  double v8 = 4.0 / 3.0 * G_PI * 512 / 1000, v12 = 4.0 / 3.0 * G_PI * 1728 / 1000;
  g_test_message ("balls %g x %g x %g: volumes %.4f %.4f mL (want %.4f %.4f), Dice %.4f, "
                  "HD95 %.4f mm", sx, sy, sz, wt->volume_pred_ml, wt->volume_truth_ml, v8, v12,
                  wt->dice, wt->hd95_mm);
  g_assert_cmpfloat (fabs (wt->volume_pred_ml - v8) / v8, <, 0.05);
  g_assert_cmpfloat (fabs (wt->volume_truth_ml - v12) / v12, <, 0.05);
  g_assert_cmpfloat (fabs (wt->dice - 1024.0 / 2240.0), <, 0.02);
  g_assert_cmpfloat (fabs (wt->hd95_mm - 4.0), <=, MAX (sx, MAX (sy, sz)));
  /* ET is the inner ball in both: exact. */
  g_assert_cmpfloat (et->dice, ==, 1.0);
  g_assert_cmpfloat (et->hd95_mm, ==, 0.0);
  /* Label 2 (the shell) is only in the truth. */
  g_assert_true (isinf (row (&m, "2")->hd95_mm));
}

static void
test_balls (void)
{
  check_balls (1.0, 1.0, 1.0);
  check_balls (0.8, 1.0, 2.0);
}

static void
test_errors (void)
{
  g_autoptr (NsLabelMap) a = new_map (10, 10, 10, 1, 1, 1);
  g_autoptr (NsLabelMap) b = new_map (10, 10, 11, 1, 1, 1);
  g_autoptr (NsLabelMap) c = new_map (10, 10, 10, 1, 1, 2);
  GError *error = NULL;
  NsMetrics m;

  a->path = g_strdup ("pred.nii.gz");
  b->path = g_strdup ("truth.nii.gz");
  c->path = g_strdup ("other.nii.gz");
  g_assert_false (ns_metrics_evaluate (a, b, &m, &error));
  g_assert_error (error, NS_DATA_ERROR, NS_DATA_ERROR_GRID_MISMATCH);
  g_assert_nonnull (strstr (error->message, "pred.nii.gz"));
  g_assert_nonnull (strstr (error->message, "truth.nii.gz"));
  g_assert_null (strchr (error->message, '\n'));
  g_clear_error (&error);

  /* Same dims, other spacing. */
  g_assert_false (ns_metrics_evaluate (a, c, &m, &error));
  g_assert_error (error, NS_DATA_ERROR, NS_DATA_ERROR_GRID_MISMATCH);
  g_clear_error (&error);

  /* Same dims and spacing, shifted origin. */
  g_autoptr (NsLabelMap) e = new_map (10, 10, 10, 1, 1, 1);
  e->grid.vox2ras[0][3] = 5.0;
  g_assert_false (ns_metrics_evaluate (a, e, &m, &error));
  g_assert_error (error, NS_DATA_ERROR, NS_DATA_ERROR_GRID_MISMATCH);
  g_assert_nonnull (strstr (error->message, "matrices differ"));
  g_clear_error (&error);

  g_autoptr (NsLabelMap) d = new_map (10, 10, 10, 1, 1, 1);
  d->path = g_strdup ("bad.nii.gz");
  d->labels[ns_grid_index (&d->grid, 3, 4, 5)] = 7;
  g_assert_false (ns_metrics_evaluate (a, d, &m, &error));
  g_assert_error (error, NS_DATA_ERROR, NS_DATA_ERROR_BAD_LABELS);
  g_assert_nonnull (strstr (error->message, "bad.nii.gz"));
  g_assert_nonnull (strstr (error->message, "7"));
  g_assert_nonnull (strstr (error->message, "(3, 4, 5)"));
  g_clear_error (&error);
}

/* A BraTS-sized grid (240 x 240 x 155) with a tumour of realistic size: the time goes in
 * the log (a benchmark, not an assertion); the values are checked against the balls'. */
static void
test_brats_size (void)
{
  g_autoptr (NsLabelMap) pred = new_map (240, 240, 155, 1, 1, 1);
  g_autoptr (NsLabelMap) truth = new_map (240, 240, 155, 1, 1, 1);
  NsMetrics m;

  draw_ball (truth, 110, 130, 80, 35.0, 2);
  draw_ball (truth, 110, 130, 80, 20.0, 1);
  draw_ball (truth, 112, 128, 80, 12.0, 4);
  draw_ball (pred, 113, 130, 80, 33.0, 2);
  draw_ball (pred, 111, 130, 80, 21.0, 1);
  draw_ball (pred, 112, 129, 80, 11.0, 4);

  gint64 t0 = g_get_monotonic_time ();
  evaluate (pred, truth, &m);
  gint64 t1 = g_get_monotonic_time ();
  g_test_message ("evaluate 240x240x155, WT %.1f mL: %.1f ms", row (&m, "WT")->volume_truth_ml,
                  (t1 - t0) / 1000.0);
  /* The whole tumours are balls of 33 and 35 mm with centres 3 mm apart: the surfaces
   * are between 2 - 3 = -1 and 2 + 3 = 5 mm apart (radial), so HD95 <= 5 + 1 voxel. */
  g_assert_cmpfloat (row (&m, "WT")->hd95_mm, >, 1.0);
  g_assert_cmpfloat (row (&m, "WT")->hd95_mm, <=, 6.0);
  g_assert_cmpfloat (row (&m, "WT")->dice, >, 0.85);
}

/* The effort of a correction: WT Dice of the prediction against the corrected mask, and
 * the voxels whose label differs (a change of tumour class counts, not only of WT). */
static void
test_effort (void)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (NsLabelMap) pred = new_map (10, 10, 4, 1, 1, 1);
  g_autoptr (NsLabelMap) mask = new_map (10, 10, 4, 1, 1, 1);
  fill_box (pred, 0, 0, 0, 4, 4, 0, 2);   /* 25 voxels */
  fill_box (mask, 1, 0, 0, 5, 4, 0, 2);   /* 25 voxels, 20 in common */
  fill_box (mask, 2, 2, 0, 2, 2, 0, 4);   /* one of the common ones becomes 4 */
  double dice = -1;
  gint64 edited = -1;
  g_assert_true (ns_metrics_effort (pred, mask, &dice, &edited, &error));
  g_assert_no_error (error);
  g_assert_cmpfloat_with_epsilon (dice, 2.0 * 20 / 50, 1e-12);
  g_assert_cmpint (edited, ==, 5 + 5 + 1);

  g_assert_true (ns_metrics_effort (mask, mask, &dice, &edited, &error));
  g_assert_cmpfloat (dice, ==, 1.0);
  g_assert_cmpint (edited, ==, 0);

  g_autoptr (NsLabelMap) other = new_map (10, 10, 5, 1, 1, 1);
  g_assert_false (ns_metrics_effort (pred, other, &dice, &edited, &error));
  g_assert_error (error, NS_DATA_ERROR, NS_DATA_ERROR_GRID_MISMATCH);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/data/metrics/dice", test_dice);
  g_test_add_func ("/data/metrics/percentile", test_percentile);
  g_test_add_func ("/data/metrics/edt-brute-force", test_edt_brute_force);
  g_test_add_func ("/data/metrics/hd95-brute-force", test_hd95_brute_force);
  g_test_add_func ("/data/metrics/self", test_self);
  g_test_add_func ("/data/metrics/effort", test_effort);
  g_test_add_func ("/data/metrics/cube-shift", test_cube_shift);
  g_test_add_func ("/data/metrics/cube-shift-anisotropic", test_cube_shift_anisotropic);
  g_test_add_func ("/data/metrics/interpolated", test_interpolated);
  g_test_add_func ("/data/metrics/empty", test_empty);
  g_test_add_func ("/data/metrics/label-3", test_label_3);
  g_test_add_func ("/data/metrics/balls", test_balls);
  g_test_add_func ("/data/metrics/errors", test_errors);
  g_test_add_func ("/data/metrics/brats-size", test_brats_size);
  return g_test_run ();
}
