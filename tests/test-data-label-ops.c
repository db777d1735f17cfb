/* SPDX-License-Identifier: MIT
 *
 * test-data-label-ops.c: the cleanup tools (data/ns-label-ops.h) on synthetic shapes,
 * each result checked voxel for voxel against a set worked out here from the definition
 * by brute force (all pairs of voxels for distances, every ball offset for morphology, a
 * direct 3-D sum for the Gaussian), independent of the distance transforms the tools
 * use; and one of them journalled, "crashed" and recovered through NsMaskDoc.
 *
 * `test-data-label-ops --bench` instead times each tool on the bundled case (FLAIR, its
 * segmentation, label 2), median of 5 runs on a fresh copy each.
 */
#include "ns-test-util.h"
#include "ns-label-ops.h"
#include "ns-mask-doc.h"
#include "ns-nifti.h"

#include <stdio.h>

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

static NsVolume *
new_volume (const NsGrid *grid)
{
  g_autoptr (GError) error = NULL;
  NsVolume *vol = ns_volume_new (grid, &error);
  g_assert_no_error (error);
  return vol;
}

static gsize
idx3 (const NsGrid *g, int i, int j, int k)
{
  return ns_grid_index (g, i, j, k);
}

/* Compares labels with want (both n voxels); prints the first mismatch. */
static void
check_labels (const NsLabelMap *map, const guint8 *want, const char *what)
{
  const NsGrid *g = &map->grid;
  gsize bad = 0, n = ns_grid_n_voxels (g);
  for (gsize t = 0; t < n; t++)
    if (map->labels[t] != want[t] && bad++ == 0)
      g_test_message ("%s: first mismatch at (%d, %d, %d): got %u, want %u", what,
                      (int) (t % g->dim[0]), (int) (t / g->dim[0] % g->dim[1]),
                      (int) (t / ((gsize) g->dim[0] * g->dim[1])), map->labels[t], want[t]);
  if (bad > 0)
    g_test_message ("%s: %" G_GSIZE_FORMAT " voxels differ", what, bad);
  g_assert_cmpuint (bad, ==, 0);
}

/* The change must be exactly the difference between before and the map now. */
static void
check_change (const NsEditChange *change, const guint8 *before, const NsLabelMap *map)
{
  gsize n = ns_grid_n_voxels (&map->grid), w = 0;
  g_assert_nonnull (change);
  for (gsize t = 0; t < n; t++)
    if (before[t] != map->labels[t])
      {
        g_assert_cmpuint (w, <, change->n);
        g_assert_cmpuint (change->index[w], ==, t);
        g_assert_cmpuint (change->old_value[w], ==, before[t]);
        g_assert_cmpuint (change->new_value[w], ==, map->labels[t]);
        w++;
      }
  g_assert_cmpuint (w, ==, change->n);
}

static double
dist2 (const NsGrid *g, gsize a, gsize b)
{
  int nx = g->dim[0], ny = g->dim[1];
  double d[3] = { (double) ((int) (a % nx) - (int) (b % nx)),
                  (double) ((int) (a / nx % ny) - (int) (b / nx % ny)),
                  (double) ((int) (a / ((gsize) nx * ny)) - (int) (b / ((gsize) nx * ny))) };
  double s = 0;
  for (int x = 0; x < 3; x++)
    s += d[x] * g->spacing[x] * d[x] * g->spacing[x];
  return s;
}

/* ---- threshold ---------------------------------------------------------------------------- */

/* A 24 x 24 x 12 image: air 0, "brain" 20 in a box, a bright ball 100 of radius 4 inside. */
static NsVolume *
two_level_image (void)
{
  NsGrid grid;
  ns_grid_init (&grid, 24, 24, 12, 1, 1, 1);
  NsVolume *img = new_volume (&grid);
  for (int k = 0; k < 12; k++)
    for (int j = 0; j < 24; j++)
      for (int i = 0; i < 24; i++)
        {
          float v = 0;
          if (i >= 2 && i < 22 && j >= 2 && j < 22 && k >= 1 && k < 11)
            v = 20;
          if ((i - 12) * (i - 12) + (j - 12) * (j - 12) + (k - 6) * (k - 6) <= 16)
            v = 100;
          img->voxels[idx3 (&grid, i, j, k)] = v;
        }
  return img;
}

static void
test_threshold_otsu (void)
{
  g_autoptr (NsVolume) img = two_level_image ();
  g_autoptr (NsLabelMap) map = new_map (24, 24, 12, 1, 1, 1);
  g_autoptr (GError) error = NULL;
  const NsGrid *g = &map->grid;
  gsize n = ns_grid_n_voxels (g), n_brain = 0;

  /* Otsu inside the brain splits the two flat levels half way. */
  g_autofree guint8 *brain = ns_label_ops_dup_region (map, img, NS_OPERAND_BRAIN, 0, &n_brain,
                                                      &error);
  g_assert_no_error (error);
  g_assert_cmpuint (n_brain, ==, 20 * 20 * 10);
  double t = 0;
  g_assert_true (ns_label_ops_otsu (img, brain, &t, &error));
  g_assert_no_error (error);
  g_assert_cmpfloat_with_epsilon (t, 60.0, 0.5);

  /* Label 2 locked on slice k = 6: the threshold paints label 1 on the ball elsewhere. */
  for (int j = 0; j < 24; j++)
    for (int i = 0; i < 24; i++)
      map->labels[idx3 (g, i, j, 6)] = 2;
  g_autofree guint8 *before = g_memdup2 (map->labels, n);
  NsPaintRule rule;
  ns_paint_rule_init (&rule, 1);
  rule.locked[2] = 1;
  g_autoptr (NsEditChange) c = ns_label_ops_threshold (map, img, brain, t, INFINITY, &rule,
                                                       &error);
  g_assert_no_error (error);
  g_assert_cmpstr (c->name, ==, "Threshold");
  g_autofree guint8 *want = g_memdup2 (before, n);
  for (gsize v = 0; v < n; v++)
    if (ns_volume_get_value (img, v) == 100 && want[v] != 2)
      want[v] = 1;
  check_labels (map, want, "threshold");
  check_change (c, before, map);

  /* A range inside a label's region: only the "brain" level inside label 2 (k = 6). */
  g_autofree guint8 *in2 = ns_label_ops_dup_region (map, img, NS_OPERAND_LABEL, 2, NULL, &error);
  ns_paint_rule_init (&rule, 3);
  memcpy (before, map->labels, n);
  g_autoptr (NsEditChange) c2 = ns_label_ops_threshold (map, img, in2, 10, 30, &rule, &error);
  g_assert_no_error (error);
  for (gsize v = 0; v < n; v++)
    if (before[v] == 2 && ns_volume_get_value (img, v) == 20)
      want[v] = 3;
  check_labels (map, want, "threshold in label 2");
  check_change (c2, before, map);

  /* A constant region has no Otsu threshold: an error naming the image. */
  g_autofree guint8 *air = g_new0 (guint8, n);
  air[0] = air[1] = 1;
  g_assert_false (ns_label_ops_otsu (img, air, &t, &error));
  g_assert_error (error, NS_EDIT_ERROR, NS_EDIT_ERROR_INVALID);
  g_assert_nonnull (strstr (error->message, "constant"));
}

/* ---- margin ------------------------------------------------------------------------------- */

static void
test_margin_grow_anisotropic (void)
{
  /* 1 x 1 x 3 mm: growing one voxel by 3 mm reaches one slice up and down, only above the
   * voxel itself; by 2 mm no other slice (voxel steps would reach 2 slices). */
  g_autoptr (NsLabelMap) map = new_map (15, 15, 7, 1, 1, 3);
  g_autoptr (GError) error = NULL;
  const NsGrid *g = &map->grid;
  gsize n = ns_grid_n_voxels (g);
  gsize seed = idx3 (g, 7, 7, 3);
  map->labels[seed] = 1;
  map->labels[idx3 (g, 8, 7, 3)] = 5;   /* locked: stays */
  g_autofree guint8 *before = g_memdup2 (map->labels, n);
  NsPaintRule rule;
  ns_paint_rule_init (&rule, 1);
  rule.locked[5] = 1;
  g_autoptr (NsEditChange) c = ns_label_ops_margin (map, NULL, 3.0, &rule, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (c->name, ==, "Grow 3 mm");
  g_autofree guint8 *want = g_memdup2 (before, n);
  for (gsize v = 0; v < n; v++)
    if (dist2 (g, v, seed) <= 9.0 + 1e-9 && want[v] != 5)
      want[v] = 1;
  check_labels (map, want, "grow 3 mm");
  check_change (c, before, map);
  g_assert_cmpuint (map->labels[idx3 (g, 7, 7, 4)], ==, 1);
  g_assert_cmpuint (map->labels[idx3 (g, 7, 8, 4)], ==, 0);

  /* Undo restores exactly; 2 mm then stays on the slice. */
  g_assert_true (ns_edit_change_apply (c, map, FALSE));
  check_labels (map, before, "undo grow");
  g_autoptr (NsEditChange) c2 = ns_label_ops_margin (map, NULL, 2.0, &rule, &error);
  for (gsize v = 0; v < n; v++)
    want[v] = before[v] == 5 ? 5 : dist2 (g, v, seed) <= 4.0 + 1e-9;
  check_labels (map, want, "grow 2 mm");
  g_assert_cmpuint (map->labels[idx3 (g, 7, 7, 4)], ==, 0);
}

static void
test_margin_shrink (void)
{
  /* A ball of 5 mm on 1 x 1 x 1.5 mm, other labels around; shrinking by 2 mm keeps the
   * voxels farther than 2 mm from every voxel not of the label. */
  g_autoptr (NsLabelMap) map = new_map (20, 20, 14, 1, 1, 1.5);
  g_autoptr (GError) error = NULL;
  const NsGrid *g = &map->grid;
  gsize n = ns_grid_n_voxels (g);
  gsize centre = idx3 (g, 10, 10, 7);
  for (gsize v = 0; v < n; v++)
    map->labels[v] = dist2 (g, v, centre) <= 25.0 ? 1 : (v % 7 == 0 ? 2 : 0);
  g_autofree guint8 *before = g_memdup2 (map->labels, n);
  g_autofree guint8 *want = g_memdup2 (before, n);
  for (gsize v = 0; v < n; v++)
    {
      if (before[v] != 1)
        continue;
      gboolean near = FALSE;
      for (gsize u = 0; u < n && !near; u++)
        near = before[u] != 1 && dist2 (g, u, v) <= 4.0 + 1e-9;
      if (near)
        want[v] = 0;
    }
  NsPaintRule rule;
  ns_paint_rule_init (&rule, 1);
  rule.locked[1] = 1;   /* locked: shrinking it changes nothing */
  g_autoptr (NsEditChange) none = ns_label_ops_margin (map, NULL, -2.0, &rule, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (none->n, ==, 0);
  rule.locked[1] = 0;
  g_autoptr (NsEditChange) c = ns_label_ops_margin (map, NULL, -2.0, &rule, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (c->name, ==, "Shrink 2 mm");
  check_labels (map, want, "shrink 2 mm");
  check_change (c, before, map);
  g_assert_cmpuint (map->labels[centre], ==, 1);
}

/* ---- smoothing ---------------------------------------------------------------------------- */

/* The reference of the morphology: the ball's offsets of r mm, brute force. */
static GArray *
ball (const NsGrid *g, double r)
{
  GArray *offs = g_array_new (FALSE, FALSE, sizeof (int[3]));
  for (int dk = -6; dk <= 6; dk++)
    for (int dj = -6; dj <= 6; dj++)
      for (int di = -6; di <= 6; di++)
        {
          double x = di * g->spacing[0], y = dj * g->spacing[1], z = dk * g->spacing[2];
          if (x * x + y * y + z * z <= r * r + 1e-9)
            {
              int o[3] = { di, dj, dk };
              g_array_append_val (offs, o);
            }
        }
  return offs;
}

typedef enum { REF_ERODE, REF_DILATE, REF_MAJORITY } RefOp;

static void
ref_morph (const NsGrid *g, const guint8 *in, GArray *offs, RefOp op, guint8 *out)
{
  for (int k = 0; k < g->dim[2]; k++)
    for (int j = 0; j < g->dim[1]; j++)
      for (int i = 0; i < g->dim[0]; i++)
        {
          guint hits = 0, seen = 0;
          for (guint t = 0; t < offs->len; t++)
            {
              const int *o = &g_array_index (offs, int, 3 * t);
              int a = i + o[0], b = j + o[1], c = k + o[2];
              if (a < 0 || b < 0 || c < 0 || a >= g->dim[0] || b >= g->dim[1] || c >= g->dim[2])
                continue;
              seen++;
              hits += in[idx3 (g, a, b, c)];
            }
          gsize v = idx3 (g, i, j, k);
          out[v] = op == REF_ERODE ? in[v] && hits == seen
                 : op == REF_DILATE ? hits > 0
                 : 2 * hits > offs->len;
        }
}

/* A 10 x 10 x 8 block of label 1 with a spur, a one-voxel hole and a speck, in 24^3. */
static NsLabelMap *
rough_block (void)
{
  NsLabelMap *map = new_map (24, 24, 24, 1, 1, 1);
  const NsGrid *g = &map->grid;
  for (int k = 8; k < 16; k++)
    for (int j = 7; j < 17; j++)
      for (int i = 7; i < 17; i++)
        map->labels[idx3 (g, i, j, k)] = 1;
  map->labels[idx3 (g, 17, 12, 12)] = 1;  /* spur */
  map->labels[idx3 (g, 12, 12, 12)] = 0;  /* hole */
  map->labels[idx3 (g, 3, 3, 3)] = 1;     /* speck */
  map->labels[idx3 (g, 20, 20, 20)] = 4;  /* another label, away */
  return map;
}

static void
smooth_against (NsSmoothMethod method, double strength, const char *name)
{
  g_autoptr (NsLabelMap) map = rough_block ();
  g_autoptr (GError) error = NULL;
  const NsGrid *g = &map->grid;
  gsize n = ns_grid_n_voxels (g);
  g_autofree guint8 *before = g_memdup2 (map->labels, n);
  g_autofree guint8 *m = g_new (guint8, n);
  g_autofree guint8 *t = g_new (guint8, n);
  g_autofree guint8 *s = g_new (guint8, n);
  g_autoptr (GArray) offs = ball (g, strength);
  for (gsize v = 0; v < n; v++)
    m[v] = before[v] == 1;
  switch (method)
    {
    case NS_SMOOTH_MEDIAN:
      ref_morph (g, m, offs, REF_MAJORITY, s);
      break;
    case NS_SMOOTH_OPEN_CLOSE:
      ref_morph (g, m, offs, REF_ERODE, t);
      ref_morph (g, t, offs, REF_DILATE, s);
      ref_morph (g, s, offs, REF_DILATE, t);
      ref_morph (g, t, offs, REF_ERODE, s);
      break;
    case NS_SMOOTH_GAUSSIAN:
    default:
      {
        /* direct 3-D sum of the product kernel, truncated at 3 sigma */
        int r = (int) ceil (3 * strength);
        double w1[32], sum = 0;
        for (int d = -r; d <= r; d++)
          sum += w1[d + r] = exp (-0.5 * d * d / (strength * strength));
        for (int k = 0; k < g->dim[2]; k++)
          for (int j = 0; j < g->dim[1]; j++)
            for (int i = 0; i < g->dim[0]; i++)
              {
                double acc = 0;
                for (int dk = -r; dk <= r; dk++)
                  for (int dj = -r; dj <= r; dj++)
                    for (int di = -r; di <= r; di++)
                      {
                        int a = i + di, b = j + dj, c = k + dk;
                        if (a < 0 || b < 0 || c < 0 || a >= g->dim[0] || b >= g->dim[1]
                            || c >= g->dim[2] || !m[idx3 (g, a, b, c)])
                          continue;
                        acc += w1[di + r] * w1[dj + r] * w1[dk + r];
                      }
                s[idx3 (g, i, j, k)] = acc / (sum * sum * sum) >= 0.5 - 1e-6;
              }
      }
      break;
    }
  g_autofree guint8 *want = g_memdup2 (before, n);
  for (gsize v = 0; v < n; v++)
    if (s[v] && before[v] != 4)
      want[v] = 1;
    else if (!s[v] && before[v] == 1)
      want[v] = 0;
  /* what every method must do to this shape */
  g_assert_cmpuint (want[idx3 (g, 12, 12, 12)], ==, 1);
  g_assert_cmpuint (want[idx3 (g, 3, 3, 3)], ==, 0);
  /* a one-voxel spur on a face survives an opening by a 1 mm ball (its base does) */
  g_assert_cmpuint (want[idx3 (g, 17, 12, 12)], ==, method == NS_SMOOTH_OPEN_CLOSE);

  NsPaintRule rule;
  ns_paint_rule_init (&rule, 1);
  g_autoptr (NsEditChange) c = ns_label_ops_smooth (map, NULL, method, strength, &rule, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (c->name, ==, name);
  check_labels (map, want, name);
  check_change (c, before, map);
}

static void
test_smooth_median (void)
{
  smooth_against (NS_SMOOTH_MEDIAN, 1.0, "Smooth (median 1 mm)");
}

static void
test_smooth_open_close (void)
{
  smooth_against (NS_SMOOTH_OPEN_CLOSE, 1.0, "Smooth (open-close 1 mm)");
}

static void
test_smooth_gaussian (void)
{
  smooth_against (NS_SMOOTH_GAUSSIAN, 1.0, "Smooth (gaussian 1 mm)");
}

static void
test_smooth_errors (void)
{
  g_autoptr (NsLabelMap) map = rough_block ();
  g_autoptr (GError) error = NULL;
  NsPaintRule rule;
  ns_paint_rule_init (&rule, 1);
  g_assert_null (ns_label_ops_smooth (map, NULL, NS_SMOOTH_MEDIAN, 0, &rule, &error));
  g_assert_error (error, NS_EDIT_ERROR, NS_EDIT_ERROR_INVALID);
}

/* ---- grow from seeds ---------------------------------------------------------------------- */

static void
test_grow_from_seeds (void)
{
  /* Two blocks of 95..105 (a fixed pattern) in 20, 1 x 1 x 2 mm: block A (i 3..12, j 3..12,
   * k 1..4) holds the seeds, block B (i 15..18) is not connected to it.  One voxel of A is
   * locked label 3. */
  NsGrid grid;
  ns_grid_init (&grid, 20, 16, 6, 1, 1, 2);
  g_autoptr (NsVolume) img = new_volume (&grid);
  g_autoptr (NsLabelMap) map = new_map (20, 16, 6, 1, 1, 2);
  g_autoptr (GError) error = NULL;
  const NsGrid *g = &map->grid;
  gsize n = ns_grid_n_voxels (g);
  for (int k = 0; k < 6; k++)
    for (int j = 0; j < 16; j++)
      for (int i = 0; i < 20; i++)
        {
          gboolean in_a = i >= 3 && i <= 12 && j >= 3 && j <= 12 && k >= 1 && k <= 4;
          gboolean in_b = i >= 15 && i <= 18 && j >= 3 && j <= 12 && k >= 1 && k <= 4;
          img->voxels[idx3 (g, i, j, k)] = in_a || in_b ? 95 + (i * 7 + j * 3 + k) % 11 : 20;
        }
  gsize s1 = idx3 (g, 6, 6, 2), s2 = idx3 (g, 7, 6, 2), locked = idx3 (g, 8, 8, 2);
  img->voxels[s1] = 95;
  img->voxels[s2] = 105;   /* seeds: mean 100, sd 5 */
  map->labels[s1] = map->labels[s2] = 1;
  map->labels[locked] = 3;
  g_autofree guint8 *before = g_memdup2 (map->labels, n);
  NsPaintRule rule;
  ns_paint_rule_init (&rule, 1);
  rule.locked[3] = 1;

  /* k = 1: [95, 105] covers all of A; max 100 mm: all of A but the locked voxel */
  double lo = 0, hi = 0;
  g_autoptr (NsEditChange) c = ns_label_ops_grow_from_seeds (map, img, 1.0, 100, &rule, &lo, &hi,
                                                             &error);
  g_assert_no_error (error);
  g_assert_cmpstr (c->name, ==, "Grow from seeds");
  g_assert_cmpfloat_with_epsilon (lo, 95.0, 1e-9);
  g_assert_cmpfloat_with_epsilon (hi, 105.0, 1e-9);
  g_autofree guint8 *want = g_new (guint8, n);
  for (gsize v = 0; v < n; v++)
    {
      int i = v % 20, j = v / 20 % 16, k = v / 320;
      gboolean in_a = i >= 3 && i <= 12 && j >= 3 && j <= 12 && k >= 1 && k <= 4;
      want[v] = v == locked ? 3 : in_a;
    }
  check_labels (map, want, "grow k=1");
  check_change (c, before, map);

  /* a tighter tolerance and a 3 mm limit: within 3 mm of a seed and in [97.5, 102.5] and
   * connected to them through such voxels (worked out by flooding here) */
  memcpy (map->labels, before, n);
  g_autoptr (NsEditChange) c2 = ns_label_ops_grow_from_seeds (map, img, 0.5, 3.0, &rule, &lo,
                                                              &hi, &error);
  memcpy (want, before, n);
  gboolean changed = TRUE;
  while (changed)
    {
      changed = FALSE;
      for (gsize v = 0; v < n; v++)
        {
          float x = ns_volume_get_value (img, v);
          if (want[v] != 0 || x < 97.5 || x > 102.5
              || (dist2 (g, v, s1) > 9.0 + 1e-9 && dist2 (g, v, s2) > 9.0 + 1e-9))
            continue;
          int i = v % 20, j = v / 20 % 16, k = v / 320;
          int nb[6][3] = { { i - 1, j, k }, { i + 1, j, k }, { i, j - 1, k },
                           { i, j + 1, k }, { i, j, k - 1 }, { i, j, k + 1 } };
          for (int t = 0; t < 6; t++)
            if (nb[t][0] >= 0 && nb[t][0] < 20 && nb[t][1] >= 0 && nb[t][1] < 16
                && nb[t][2] >= 0 && nb[t][2] < 6
                && want[idx3 (g, nb[t][0], nb[t][1], nb[t][2])] == 1)
              {
                want[v] = 1;
                changed = TRUE;
                break;
              }
        }
    }
  check_labels (map, want, "grow k=0.5, 3 mm");
  check_change (c2, before, map);
  g_assert_cmpuint (c2->n, >, 0);
  g_assert_cmpuint (c2->n, <, c->n);

  /* no seeds: nothing; a zero tolerance is an error */
  g_autoptr (NsEditChange) c3 = ns_label_ops_grow_from_seeds (map, img, 1.0, 10, &(NsPaintRule)
                                                              { .label = 7 }, NULL, NULL, &error);
  g_assert_cmpuint (c3->n, ==, 0);
  g_assert_null (ns_label_ops_grow_from_seeds (map, img, 0, 10, &rule, NULL, NULL, &error));
  g_assert_error (error, NS_EDIT_ERROR, NS_EDIT_ERROR_INVALID);
}

/* ---- islands ------------------------------------------------------------------------------ */

/* Three parts of label 1 (27, 8 and 1 voxels; the last touches the second only by an
 * edge, so it is separate), and label 3 elsewhere. */
static NsLabelMap *
islands_map (void)
{
  NsLabelMap *map = new_map (16, 16, 8, 1, 1, 2);
  const NsGrid *g = &map->grid;
  for (int k = 1; k < 4; k++)
    for (int j = 1; j < 4; j++)
      for (int i = 1; i < 4; i++)
        map->labels[idx3 (g, i, j, k)] = 1;
  for (int k = 5; k < 7; k++)
    for (int j = 8; j < 10; j++)
      for (int i = 8; i < 10; i++)
        map->labels[idx3 (g, i, j, k)] = 1;
  map->labels[idx3 (g, 10, 10, 6)] = 1;
  map->labels[idx3 (g, 14, 14, 0)] = 3;
  return map;
}

static void
test_islands (void)
{
  g_autoptr (GError) error = NULL;
  NsPaintRule rule;
  ns_paint_rule_init (&rule, 1);

  /* keep largest */
  g_autoptr (NsLabelMap) map = islands_map ();
  const NsGrid *g = &map->grid;
  gsize n = ns_grid_n_voxels (g);
  g_autofree guint8 *before = g_memdup2 (map->labels, n);
  g_autofree guint8 *want = g_memdup2 (before, n);
  for (gsize v = 0; v < n; v++)
    if (before[v] == 1 && v % 16 > 4)
      want[v] = 0;
  g_autoptr (NsEditChange) c = ns_label_ops_keep_largest (map, &rule, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (c->name, ==, "Keep largest island");
  check_labels (map, want, "keep largest");
  check_change (c, before, map);

  /* keep the one clicked (the 8-voxel part) */
  memcpy (map->labels, before, n);
  memcpy (want, before, n);
  for (gsize v = 0; v < n; v++)
    if (before[v] == 1 && !(v % 16 >= 8 && v % 16 < 10 && v / 16 % 16 >= 8
                            && v / 16 % 16 < 10))
      want[v] = 0;
  g_autoptr (NsEditChange) c2 = ns_label_ops_keep_island_at (map, (int[3]) { 9, 8, 5 },
                                                             &rule, &error);
  g_assert_no_error (error);
  check_labels (map, want, "keep clicked");
  check_change (c2, before, map);

  /* a locked label is left alone; background clicked changes nothing */
  memcpy (map->labels, before, n);
  rule.locked[1] = 1;
  g_autoptr (NsEditChange) c3 = ns_label_ops_keep_largest (map, &rule, &error);
  g_autoptr (NsEditChange) c4 = ns_label_ops_keep_island_at (map, (int[3]) { 9, 8, 5 }, &rule,
                                                             &error);
  rule.locked[1] = 0;
  g_autoptr (NsEditChange) c5 = ns_label_ops_keep_island_at (map, (int[3]) { 0, 0, 0 }, &rule,
                                                             &error);
  g_assert_cmpuint (c3->n + c4->n + c5->n, ==, 0);
  check_labels (map, before, "locked islands");

  /* split: values 1, 2, 4 taken by the table, 3 in the map: the parts get 5 and 6 */
  guint8 taken[256] = { 0 };
  taken[1] = taken[2] = taken[4] = 1;
  g_autoptr (GArray) values = g_array_new (FALSE, FALSE, sizeof (guint8));
  g_autoptr (NsEditChange) c6 = ns_label_ops_split_islands (map, taken, &rule, values, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (c6->name, ==, "Split islands");
  g_assert_cmpuint (values->len, ==, 2);
  g_assert_cmpuint (g_array_index (values, guint8, 0), ==, 5);
  g_assert_cmpuint (g_array_index (values, guint8, 1), ==, 6);
  memcpy (want, before, n);
  for (gsize v = 0; v < n; v++)
    if (before[v] == 1 && v % 16 > 4)
      want[v] = v == idx3 (g, 10, 10, 6) ? 6 : 5;
  check_labels (map, want, "split");
  check_change (c6, before, map);

  /* not enough free values: an error and nothing changed */
  memcpy (map->labels, before, n);
  memset (taken, 1, sizeof taken);
  g_clear_error (&error);
  g_assert_null (ns_label_ops_split_islands (map, taken, &rule, NULL, &error));
  g_assert_error (error, NS_EDIT_ERROR, NS_EDIT_ERROR_INVALID);
  check_labels (map, before, "split refused");
}

/* ---- lasso and scissors ------------------------------------------------------------------- */

/* Even-odd by casting a ray to +u and counting the edges it crosses (the crossing-number
 * test written the other way round from the tool's scanlines). */
static gboolean
ref_inside (const double (*pts)[2], guint n, double x, double y)
{
  gboolean in = FALSE;
  for (guint a = 0, b = n - 1; a < n; b = a++)
    if ((pts[a][1] > y) != (pts[b][1] > y)
        && x < (pts[b][0] - pts[a][0]) * (y - pts[a][1]) / (pts[b][1] - pts[a][1]) + pts[a][0])
      in = !in;
  return in;
}

static void
test_polygon (void)
{
  g_autoptr (GError) error = NULL;
  /* a coronal plane (normal j = axis 1): in-plane axes i (u) and k (v) */
  g_autoptr (NsLabelMap) map = new_map (16, 6, 12, 1, 1, 1);
  const NsGrid *g = &map->grid;
  gsize n = ns_grid_n_voxels (g);
  /* a concave outline (an arrow head), vertices off the voxel centres, on slice j = 2 */
  const double pts2[][2] = { { 1.3, 1.2 }, { 13.6, 5.5 }, { 1.4, 10.7 }, { 6.2, 5.9 } };
  double pts[4 * 3];
  for (guint p = 0; p < 4; p++)
    {
      pts[3 * p] = pts2[p][0];
      pts[3 * p + 1] = 2.2;
      pts[3 * p + 2] = pts2[p][1];
    }
  map->labels[ns_grid_index (g, 5, 2, 5)] = 3;   /* locked, inside */
  g_autofree guint8 *before = g_memdup2 (map->labels, n);
  g_autofree guint8 *want = g_new (guint8, n);
  NsPaintRule rule;
  ns_paint_rule_init (&rule, 2);
  rule.locked[3] = 1;

  for (int through = 0; through <= 1; through++)
    {
      memcpy (map->labels, before, n);
      for (int k = 0; k < 12; k++)
        for (int j = 0; j < 6; j++)
          for (int i = 0; i < 16; i++)
            {
              gsize v = ns_grid_index (g, i, j, k);
              want[v] = before[v];
              if ((through || j == 2) && before[v] != 3 && ref_inside (pts2, 4, i, k))
                want[v] = 2;
            }
      g_autoptr (NsEditChange) c = ns_label_ops_polygon (map, NULL, 1, pts, 4, through, &rule,
                                                         &error);
      g_assert_no_error (error);
      g_assert_cmpstr (c->name, ==, "Lasso");
      g_assert_cmpuint (c->n, >, 20);
      check_labels (map, want, through ? "lasso through" : "lasso");
      check_change (c, before, map);
    }

  /* scissors: erase inside on the slice; the locked voxel stays */
  g_autofree guint8 *filled = g_memdup2 (map->labels, n);
  ns_paint_rule_init (&rule, 0);
  rule.locked[3] = 1;
  g_autoptr (NsEditChange) cut = ns_label_ops_polygon (map, NULL, 1, pts, 4, FALSE, &rule,
                                                       &error);
  g_assert_cmpstr (cut->name, ==, "Scissors");
  for (gsize v = 0; v < n; v++)
    {
      int i = v % 16, j = v / 16 % 6, k = v / 96;
      want[v] = filled[v];
      if (j == 2 && filled[v] != 3 && ref_inside (pts2, 4, i, k))
        want[v] = 0;
    }
  check_labels (map, want, "scissors");
  check_change (cut, filled, map);

  /* two points: nothing */
  g_autoptr (NsEditChange) none = ns_label_ops_polygon (map, NULL, 1, pts, 2, TRUE, &rule,
                                                        &error);
  g_assert_cmpuint (none->n, ==, 0);
}

/* ---- logical operations ------------------------------------------------------------------- */

static void
test_logical (void)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (NsLabelMap) map = new_map (12, 10, 6, 1, 1, 1);
  gsize n = ns_grid_n_voxels (&map->grid);
  /* label 1 on i < 6, label 2 on i >= 9 (locked), operand: j < 5 (any i) */
  for (gsize v = 0; v < n; v++)
    map->labels[v] = v % 12 < 6 ? 1 : (v % 12 >= 9 ? 2 : 0);
  g_autofree guint8 *before = g_memdup2 (map->labels, n);
  g_autofree guint8 *operand = g_new (guint8, n);
  g_autofree guint8 *want = g_new (guint8, n);
  for (gsize v = 0; v < n; v++)
    operand[v] = v / 12 % 10 < 5;
  NsPaintRule rule;
  ns_paint_rule_init (&rule, 1);
  rule.locked[2] = 1;

  for (NsLogicOp op = NS_LOGIC_COPY; op <= NS_LOGIC_INTERSECT; op++)
    {
      memcpy (map->labels, before, n);
      for (gsize v = 0; v < n; v++)
        {
          guint8 b = before[v];
          gboolean in = operand[v];
          want[v] = b;
          if ((op == NS_LOGIC_COPY || op == NS_LOGIC_ADD) && in && b != 2)
            want[v] = 1;
          if (b == 1 && ((op == NS_LOGIC_SUBTRACT && in)
                         || ((op == NS_LOGIC_COPY || op == NS_LOGIC_INTERSECT) && !in)))
            want[v] = 0;
        }
      g_autoptr (NsEditChange) c = ns_label_ops_logical (map, NULL, op, operand, &rule, &error);
      g_assert_no_error (error);
      check_labels (map, want, ns_logic_op_to_string (op));
      check_change (c, before, map);
    }

  /* A locked label is never cleared: intersecting it changes nothing. */
  memcpy (map->labels, before, n);
  ns_paint_rule_init (&rule, 1);
  rule.locked[1] = 1;
  g_autoptr (NsEditChange) c = ns_label_ops_logical (map, NULL, NS_LOGIC_INTERSECT, operand,
                                                     &rule, &error);
  g_assert_cmpuint (c->n, ==, 0);
  g_autofree guint8 *wt = ns_label_ops_dup_region (map, NULL, NS_OPERAND_WT, 0, NULL, &error);
  for (gsize v = 0; v < n; v++)
    g_assert_cmpuint (wt[v], ==, before[v] != 0);
  g_assert_null (ns_label_ops_dup_region (map, NULL, NS_OPERAND_BRAIN, 0, NULL, &error));
  g_assert_error (error, NS_EDIT_ERROR, NS_EDIT_ERROR_INVALID);
}

/* ---- the fill guard ----------------------------------------------------------------------- */

static void
test_fill_guard (void)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (NsVolume) img = two_level_image ();
  g_autoptr (NsLabelMap) map = new_map (24, 24, 12, 1, 1, 1);
  const NsGrid *g = &map->grid;
  g_autofree guint8 *brain = ns_label_ops_dup_region (map, img, NS_OPERAND_BRAIN, 0, NULL,
                                                      &error);
  g_assert_no_error (error);
  /* a closed square ring of label 1 on slice k = 5, inside the brain */
  for (int t = 6; t <= 16; t++)
    {
      map->labels[idx3 (g, t, 6, 5)] = map->labels[idx3 (g, t, 16, 5)] = 1;
      map->labels[idx3 (g, 6, t, 5)] = map->labels[idx3 (g, 16, t, 5)] = 1;
    }
  NsPaintRule rule;
  ns_paint_rule_init (&rule, 2);

  /* inside the ring: 9 x 9 voxels, all brain, 14 % of the slice: allowed */
  g_autoptr (NsEditChange) inside =
    ns_edit_flood_fill_2d (map, img, 2, (int[3]) { 10, 10, 5 }, NS_FILL_BOUND_LABEL, 0, 0,
                           &rule, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (inside->n, ==, 81);
  g_autofree char *reason = NULL;
  g_assert_false (ns_label_ops_fill_exceeds (inside, g, 2, brain, 0.5, &reason));
  g_assert_null (reason);
  /* ... but not under a 10 % limit */
  g_assert_true (ns_label_ops_fill_exceeds (inside, g, 2, brain, 0.10, &reason));
  g_assert_nonnull (strstr (reason, "14 % of the slice"));
  g_clear_pointer (&reason, g_free);

  /* outside the ring: the fill floods the air around the brain */
  g_autoptr (NsEditChange) flood =
    ns_edit_flood_fill_2d (map, img, 2, (int[3]) { 3, 3, 5 }, NS_FILL_BOUND_LABEL, 0, 0,
                           &rule, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (flood->n, ==, 24 * 24 - 81 - 40);
  g_assert_true (ns_label_ops_fill_exceeds (flood, g, 2, brain, 2.0, &reason));
  g_assert_nonnull (strstr (reason, "outside the brain"));
  g_assert_false (ns_label_ops_fill_exceeds (flood, g, 2, NULL, 2.0, NULL));
}

/* ---- journal and recovery ----------------------------------------------------------------- */

static void
test_journal_recovery (void)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (NsVolume) img = two_level_image ();
  g_autofree char *dir = g_build_filename (ns_test_tmpdir (), "label-ops-case", NULL);
  g_autofree char *mask = g_build_filename (dir, "mask.nii.gz", NULL);
  g_assert_cmpint (g_mkdir_with_parents (dir, 0700), ==, 0);
  gsize n = ns_grid_n_voxels (&img->grid);
  g_autofree guint8 *expected = NULL;

  /* A session: threshold, grow, smooth, keep largest; then it dies without saving (the
   * document is freed: the journal keeps the edits). */
  {
    NsMaskDoc *doc = ns_mask_doc_open (img, mask, dir, 0, &error);
    g_assert_no_error (error);
    NsLabelMap *map = ns_mask_doc_get_map (doc);
    NsPaintRule rule;
    ns_paint_rule_init (&rule, 4);
    g_assert_true (ns_mask_doc_commit (doc, ns_label_ops_threshold (map, img, NULL, 60, 1000,
                                                                    &rule, &error)));
    map->labels[idx3 (&map->grid, 2, 2, 2)] = 4;  /* an island, by "hand" */
    ns_mask_doc_commit (doc, ns_edit_change_new_from_arrays (
      "Brush", 0, n, 1, (guint32[]) { (guint32) idx3 (&map->grid, 2, 2, 2) },
      (guint8[]) { 0 }, (guint8[]) { 4 }));
    g_assert_true (ns_mask_doc_commit (doc, ns_label_ops_margin (map, img, 1.5, &rule, &error)));
    g_assert_true (ns_mask_doc_commit (doc, ns_label_ops_smooth (map, img, NS_SMOOTH_MEDIAN,
                                                                 1.0, &rule, &error)));
    g_assert_true (ns_mask_doc_commit (doc, ns_label_ops_keep_largest (map, &rule, &error)));
    g_assert_no_error (error);
    g_assert_cmpuint (map->labels[idx3 (&map->grid, 2, 2, 2)], ==, 0);
    g_assert_true (ns_journal_flush (ns_mask_doc_get_journal (doc), &error));
    expected = g_memdup2 (map->labels, n);
    ns_mask_doc_free (doc);
  }

  /* The next session recovers them voxel for voxel, with their history names. */
  NsMaskDoc *doc = ns_mask_doc_open (img, mask, dir, 0, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (ns_mask_doc_n_recoverable (doc), ==, 5);
  guint replayed = 0;
  g_assert_true (ns_mask_doc_recover (doc, FALSE, &replayed, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (replayed, ==, 5);
  g_assert_cmpmem (ns_mask_doc_get_map (doc)->labels, n, expected, n);
  NsHistory *history = ns_mask_doc_get_history (doc);
  g_assert_cmpstr (ns_history_get (history, 2)->name, ==, "Grow 1.5 mm");
  g_assert_cmpstr (ns_history_get (history, 4)->name, ==, "Keep largest island");
  /* and undo takes them back to the empty mask */
  g_assert_cmpuint (ns_mask_doc_undo (doc, 5), ==, 5);
  for (gsize v = 0; v < n; v++)
    g_assert_cmpuint (ns_mask_doc_get_map (doc)->labels[v], ==, 0);
  g_assert_true (ns_mask_doc_discard_recovery (doc, &error));
  ns_mask_doc_free (doc);
}

/* ---- benchmark ----------------------------------------------------------------------------- */

typedef NsEditChange *(*BenchOp) (NsLabelMap *map, const NsVolume *image, const guint8 *brain);

static NsEditChange *
bench_grow3 (NsLabelMap *m, const NsVolume *img, const guint8 *brain)
{
  NsPaintRule r;
  ns_paint_rule_init (&r, 2);
  return ns_label_ops_margin (m, img, 3, &r, NULL);
}

static NsEditChange *
bench_grow10 (NsLabelMap *m, const NsVolume *img, const guint8 *brain)
{
  NsPaintRule r;
  ns_paint_rule_init (&r, 2);
  return ns_label_ops_margin (m, img, 10, &r, NULL);
}

static NsEditChange *
bench_shrink3 (NsLabelMap *m, const NsVolume *img, const guint8 *brain)
{
  NsPaintRule r;
  ns_paint_rule_init (&r, 2);
  return ns_label_ops_margin (m, img, -3, &r, NULL);
}

static NsEditChange *
bench_median1 (NsLabelMap *m, const NsVolume *img, const guint8 *brain)
{
  NsPaintRule r;
  ns_paint_rule_init (&r, 2);
  return ns_label_ops_smooth (m, img, NS_SMOOTH_MEDIAN, 1, &r, NULL);
}

static NsEditChange *
bench_openclose2 (NsLabelMap *m, const NsVolume *img, const guint8 *brain)
{
  NsPaintRule r;
  ns_paint_rule_init (&r, 2);
  return ns_label_ops_smooth (m, img, NS_SMOOTH_OPEN_CLOSE, 2, &r, NULL);
}

static NsEditChange *
bench_gauss15 (NsLabelMap *m, const NsVolume *img, const guint8 *brain)
{
  NsPaintRule r;
  ns_paint_rule_init (&r, 2);
  return ns_label_ops_smooth (m, img, NS_SMOOTH_GAUSSIAN, 1.5, &r, NULL);
}

static NsEditChange *
bench_grow_seeds (NsLabelMap *m, const NsVolume *img, const guint8 *brain)
{
  NsPaintRule r;
  ns_paint_rule_init (&r, 4);
  return ns_label_ops_grow_from_seeds (m, img, 1.5, 10, &r, NULL, NULL, NULL);
}

static NsEditChange *
bench_keep_largest (NsLabelMap *m, const NsVolume *img, const guint8 *brain)
{
  NsPaintRule r;
  ns_paint_rule_init (&r, 2);
  return ns_label_ops_keep_largest (m, &r, NULL);
}

static NsEditChange *
bench_otsu_brain (NsLabelMap *m, const NsVolume *img, const guint8 *unused)
{
  NsPaintRule r;
  double t;
  g_autofree guint8 *brain = ns_label_ops_dup_region (m, img, NS_OPERAND_BRAIN, 0, NULL, NULL);
  ns_paint_rule_init (&r, 1);
  ns_label_ops_otsu (img, brain, &t, NULL);
  return ns_label_ops_threshold (m, img, brain, t, INFINITY, &r, NULL);
}

static NsEditChange *
bench_intersect (NsLabelMap *m, const NsVolume *img, const guint8 *brain)
{
  NsPaintRule r;
  ns_paint_rule_init (&r, 2);
  return ns_label_ops_logical (m, img, NS_LOGIC_INTERSECT, brain, &r, NULL);
}

static int
compare_doubles (const void *a, const void *b)
{
  double x = *(const double *) a, y = *(const double *) b;
  return x < y ? -1 : x > y;
}

static int
run_bench (void)
{
  static const struct { const char *name; BenchOp op; } ops[] = {
    { "grow 3 mm", bench_grow3 },
    { "grow 10 mm", bench_grow10 },
    { "shrink 3 mm", bench_shrink3 },
    { "median 1 mm", bench_median1 },
    { "open-close 2 mm", bench_openclose2 },
    { "gaussian 1.5 mm", bench_gauss15 },
    { "grow from seeds (ET, 1.5 SD, 10 mm)", bench_grow_seeds },
    { "keep largest island", bench_keep_largest },
    { "Otsu threshold in the brain (+ mask)", bench_otsu_brain },
    { "intersect with the brain", bench_intersect },
  };
  const char *dir = ns_test_sample_case ();
  g_autofree char *flair = g_build_filename (dir, "Brats18_CBICA_ABM_1_flair.nii.gz", NULL);
  g_autofree char *seg = g_build_filename (dir, "Brats18_CBICA_ABM_1_seg.nii.gz", NULL);
  g_autoptr (GError) error = NULL;
  g_autoptr (NsVolume) img = ns_nifti_read (flair, &error);
  g_assert_no_error (error);
  g_autoptr (NsLabelMap) map = ns_mask_doc_read_mask (seg, &img->grid, &error);
  g_assert_no_error (error);
  g_autofree guint8 *brain = ns_label_ops_dup_region (map, img, NS_OPERAND_BRAIN, 0, NULL,
                                                      &error);
  g_assert_no_error (error);

  printf ("%s, %dx%dx%d\n", seg, img->grid.dim[0], img->grid.dim[1], img->grid.dim[2]);
  for (guint o = 0; o < G_N_ELEMENTS (ops); o++)
    {
      double ms[5];
      gsize changed = 0;
      for (int r = 0; r < 5; r++)
        {
          g_autoptr (NsLabelMap) m = ns_label_map_dup (map, NULL);
          gint64 t0 = g_get_monotonic_time ();
          g_autoptr (NsEditChange) c = ops[o].op (m, img, brain);
          ms[r] = (g_get_monotonic_time () - t0) / 1000.0;
          g_assert_nonnull (c);
          changed = c->n;
        }
      qsort (ms, 5, sizeof (double), compare_doubles);
      printf ("%-40s %8.1f ms  %8" G_GSIZE_FORMAT " voxels changed\n", ops[o].name, ms[2],
              changed);
    }
  return 0;
}

int
main (int argc, char **argv)
{
  if (argc >= 2 && strcmp (argv[1], "--bench") == 0)
    return run_bench ();
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/data/label-ops/threshold-otsu", test_threshold_otsu);
  g_test_add_func ("/data/label-ops/margin-grow-anisotropic", test_margin_grow_anisotropic);
  g_test_add_func ("/data/label-ops/margin-shrink", test_margin_shrink);
  g_test_add_func ("/data/label-ops/smooth-median", test_smooth_median);
  g_test_add_func ("/data/label-ops/smooth-open-close", test_smooth_open_close);
  g_test_add_func ("/data/label-ops/smooth-gaussian", test_smooth_gaussian);
  g_test_add_func ("/data/label-ops/smooth-errors", test_smooth_errors);
  g_test_add_func ("/data/label-ops/grow-from-seeds", test_grow_from_seeds);
  g_test_add_func ("/data/label-ops/islands", test_islands);
  g_test_add_func ("/data/label-ops/lasso-and-scissors", test_polygon);
  g_test_add_func ("/data/label-ops/logical", test_logical);
  g_test_add_func ("/data/label-ops/fill-guard", test_fill_guard);
  g_test_add_func ("/data/label-ops/journal-recovery", test_journal_recovery);
  return g_test_run ();
}
