/* SPDX-License-Identifier: MIT
 *
 * test-data-edit.c: the mask editing tools (data/ns-edit.h) and label description files
 * (data/ns-label-table.h) on synthetic volumes, each checked voxel for voxel against the
 * set worked out from the definition (a sphere in mm, a filled ring, discs...).
 */
#include "ns-test-util.h"
#include "ns-edit.h"
#include "ns-label-table.h"
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

static NsVolume *
new_volume (const NsGrid *grid)
{
  g_autoptr (GError) error = NULL;
  NsVolume *vol = ns_volume_new (grid, &error);
  g_assert_no_error (error);
  return vol;
}

static guint8 *
lab (NsLabelMap *map, int i, int j, int k)
{
  return &map->labels[ns_grid_index (&map->grid, i, j, k)];
}

/* Compares the map with want(i, j, k) everywhere; prints the first mismatch. */
typedef guint8 (*WantFunc) (int i, int j, int k, gpointer data);

static void
check_map (NsLabelMap *map, WantFunc want, gpointer data, const char *what)
{
  gsize bad = 0;
  const NsGrid *g = &map->grid;
  for (int k = 0; k < g->dim[2]; k++)
    for (int j = 0; j < g->dim[1]; j++)
      for (int i = 0; i < g->dim[0]; i++)
        {
          guint8 w = want (i, j, k, data), got = *lab (map, i, j, k);
          if (w != got && bad++ == 0)
            g_test_message ("%s: first mismatch at (%d, %d, %d): got %u, want %u", what, i,
                            j, k, got, w);
        }
  if (bad > 0)
    g_test_message ("%s: %" G_GSIZE_FORMAT " voxels differ", what, bad);
  g_assert_cmpuint (bad, ==, 0);
}

static NsEditChange *
dab (NsLabelMap *map, const NsVolume *image, const NsBrush *brush, const NsPaintRule *rule,
     double x, double y, double z)
{
  g_autoptr (GError) error = NULL;
  NsEditStroke *s = ns_edit_stroke_begin (map, image, brush, rule, NULL, &error);
  g_assert_no_error (error);
  double p[3] = { x, y, z };
  ns_edit_stroke_add (s, p, NULL);
  return ns_edit_stroke_end (s);
}

/* ---- brush -------------------------------------------------------------------------------- */

static const double sp_aniso[3] = { 0.8, 1.0, 2.0 };

static guint8
want_sphere (int i, int j, int k, gpointer data)
{
  const double *c = data; /* centre i, j, k, radius mm */
  double x = (i - c[0]) * sp_aniso[0], y = (j - c[1]) * sp_aniso[1];
  double z = (k - c[2]) * sp_aniso[2];
  return x * x + y * y + z * z <= c[3] * c[3] ? 4 : 0;
}

static void
test_brush_sphere_mm (void)
{
  g_autoptr (NsLabelMap) map = new_map (40, 40, 20, sp_aniso[0], sp_aniso[1], sp_aniso[2]);
  NsBrush brush = { NS_BRUSH_ROUND, 5.0, -1 };
  NsPaintRule rule;
  ns_paint_rule_init (&rule, 4);
  /* The pointer a little off the centre of voxel (20, 20, 10): the dab is centred on it. */
  g_autoptr (NsEditChange) c = dab (map, NULL, &brush, &rule, 20.3, 19.8, 10.2);
  double centre[4] = { 20, 20, 10, 5.0 };
  check_map (map, want_sphere, centre, "3-D round brush 5 mm on 0.8 x 1 x 2 mm");
  /* A sphere in mm, not voxels: 6 voxels along i (4.8 mm) but 2 along k (4 mm). */
  g_assert_cmpuint (*lab (map, 26, 20, 10), ==, 4);
  g_assert_cmpuint (*lab (map, 27, 20, 10), ==, 0);
  g_assert_cmpuint (*lab (map, 20, 20, 12), ==, 4);
  g_assert_cmpuint (*lab (map, 20, 20, 13), ==, 0);
  /* The change lists exactly the painted voxels, ascending, 0 -> 4. */
  guint64 counts[256];
  ns_label_map_count (map, counts);
  g_assert_cmpuint (c->n, ==, counts[4]);
  for (gsize t = 0; t < c->n; t++)
    {
      g_assert_true (t == 0 || c->index[t] > c->index[t - 1]);
      g_assert_cmpuint (c->old_value[t], ==, 0);
      g_assert_cmpuint (c->new_value[t], ==, 4);
    }
  /* The outline offsets are the same voxels. */
  g_autoptr (GArray) offsets = ns_brush_offsets (&brush, &map->grid);
  g_assert_cmpuint (offsets->len, ==, counts[4]);
}

static guint8
want_disc (int i, int j, int k, gpointer data)
{
  const double *c = data;
  if (k != (int) c[2])
    return 0;
  double x = (i - c[0]) * sp_aniso[0], y = (j - c[1]) * sp_aniso[1];
  return x * x + y * y <= c[3] * c[3] ? 1 : 0;
}

static guint8
want_square_2d (int i, int j, int k, gpointer data)
{
  (void) data;
  /* radius 3 mm on slice j = 7 (plane normal to axis 1): |di| * 0.8 <= 3 -> 3 voxels,
   * |dk| * 2 <= 3 -> 1 voxel. */
  return j == 7 && abs (i - 10) <= 3 && abs (k - 5) <= 1 ? 2 : 0;
}

static void
test_brush_2d (void)
{
  g_autoptr (NsLabelMap) map = new_map (30, 30, 12, sp_aniso[0], sp_aniso[1], sp_aniso[2]);
  NsBrush brush = { NS_BRUSH_ROUND, 4.0, 2 };
  NsPaintRule rule;
  ns_paint_rule_init (&rule, 1);
  g_autoptr (NsEditChange) c = dab (map, NULL, &brush, &rule, 15, 15, 6.4);
  double centre[4] = { 15, 15, 6, 4.0 };
  check_map (map, want_disc, centre, "2-D round brush 4 mm, axial");

  g_autoptr (NsLabelMap) sq = new_map (30, 30, 12, sp_aniso[0], sp_aniso[1], sp_aniso[2]);
  NsBrush square = { NS_BRUSH_SQUARE, 3.0, 1 };
  ns_paint_rule_init (&rule, 2);
  g_autoptr (NsEditChange) c2 = dab (sq, NULL, &square, &rule, 10, 7, 5);
  check_map (sq, want_square_2d, NULL, "2-D square brush 3 mm, coronal");

  /* A brush smaller than a voxel still paints the voxel under the pointer; off the grid,
   * nothing. */
  g_autoptr (NsLabelMap) one = new_map (8, 8, 8, 1, 1, 1);
  NsBrush tiny = { NS_BRUSH_ROUND, 0.2, -1 };
  ns_paint_rule_init (&rule, 3);
  g_autoptr (NsEditChange) c3 = dab (one, NULL, &tiny, &rule, 2.4, 3.6, 5.0);
  g_assert_cmpuint (c3->n, ==, 1);
  g_assert_cmpuint (*lab (one, 2, 4, 5), ==, 3);
  g_autoptr (NsEditChange) c4 = dab (one, NULL, &tiny, &rule, -3, 3, 3);
  g_assert_cmpuint (c4->n, ==, 0);
  /* A NaN or absurd pointer position is ignored; the stroke goes on from the last point. */
  NsEditStroke *s = ns_edit_stroke_begin (one, NULL, &tiny, &rule, NULL, NULL);
  double a[3] = { 0, 0, 0 }, nan_p[3] = { NAN, 1, 1 }, far[3] = { 1e30, 0, 0 };
  double b[3] = { 0, 2, 0 };
  g_assert_cmpuint (ns_edit_stroke_add (s, a, NULL), ==, 1);
  g_assert_cmpuint (ns_edit_stroke_add (s, nan_p, NULL), ==, 0);
  g_assert_cmpuint (ns_edit_stroke_add (s, far, NULL), ==, 0);
  g_assert_cmpuint (ns_edit_stroke_add (s, b, NULL), ==, 2);
  g_autoptr (NsEditChange) c5 = ns_edit_stroke_end (s);
  g_assert_cmpuint (c5->n, ==, 3);
}

/* ---- paint rules, locks, intensity -------------------------------------------------------- */

/* Stripes along i: 0, 1, 2, 0, 1, 2, ... */
static NsLabelMap *
striped_map (void)
{
  NsLabelMap *map = new_map (12, 12, 12, 1, 1, 1);
  for (int k = 0; k < 12; k++)
    for (int j = 0; j < 12; j++)
      for (int i = 0; i < 12; i++)
        *lab (map, i, j, k) = i % 3;
  return map;
}

typedef struct
{
  guint8 paint;        /* label painted */
  int over;            /* NsPaintOver */
  guint8 over_label;
  int locked;          /* -1 none */
} RuleCase;

static guint8
want_rule (int i, int j, int k, gpointer data)
{
  const RuleCase *rc = data;
  guint8 old = i % 3;
  /* The square 3-D brush of 2 mm around (6, 6, 6) covers 4..8 on each axis. */
  gboolean in = abs (i - 6) <= 2 && abs (j - 6) <= 2 && abs (k - 6) <= 2;
  if (!in || old == rc->locked)
    return old;
  if (rc->over == NS_PAINT_OVER_BACKGROUND && old != 0)
    return old;
  if (rc->over == NS_PAINT_OVER_LABEL && old != rc->over_label)
    return old;
  return rc->paint;
}

static void
test_paint_rules (void)
{
  const RuleCase cases[] = {
    { 4, NS_PAINT_OVER_ALL, 0, -1 },
    { 4, NS_PAINT_OVER_BACKGROUND, 0, -1 },
    { 4, NS_PAINT_OVER_LABEL, 2, -1 },
    { 4, NS_PAINT_OVER_ALL, 0, 1 },           /* label 1 locked */
    { 0, NS_PAINT_OVER_ALL, 0, 2 },           /* eraser, 2 locked */
    { 0, NS_PAINT_OVER_LABEL, 1, -1 },        /* eraser on 1 only */
    { 1, NS_PAINT_OVER_BACKGROUND, 0, 0 },    /* background locked: nothing */
  };
  NsBrush brush = { NS_BRUSH_SQUARE, 2.0, -1 };
  for (gsize t = 0; t < G_N_ELEMENTS (cases); t++)
    {
      g_autoptr (NsLabelMap) map = striped_map ();
      NsPaintRule rule;
      ns_paint_rule_init (&rule, cases[t].paint);
      rule.over = cases[t].over;
      rule.over_label = cases[t].over_label;
      if (cases[t].locked >= 0)
        rule.locked[cases[t].locked] = 1;
      g_autoptr (NsEditChange) c = dab (map, NULL, &brush, &rule, 6, 6, 6);
      g_autofree char *what = g_strdup_printf ("rule case %" G_GSIZE_FORMAT, t);
      check_map (map, want_rule, (gpointer) &cases[t], what);
      /* Undo through the change restores the stripes. */
      ns_edit_change_apply (c, map, FALSE);
      RuleCase none = { 0, NS_PAINT_OVER_LABEL, 99, -1 };
      check_map (map, want_rule, &none, "undone");
    }
}

static guint8
want_intensity (int i, int j, int k, gpointer data)
{
  (void) data;
  /* image = i; the voxel under the cursor (10, 8, 4) has 10, tolerance 2 -> [8, 12];
   * round 3-D brush of 6 mm around it. */
  double d2 = (i - 10) * (i - 10) + (j - 8) * (j - 8) + (k - 4) * (k - 4);
  return d2 <= 36 && i >= 8 && i <= 12 ? 2 : 0;
}

static void
test_intensity_limit (void)
{
  g_autoptr (NsLabelMap) map = new_map (20, 16, 9, 1, 1, 1);
  g_autoptr (NsVolume) image = new_volume (&map->grid);
  for (int k = 0; k < 9; k++)
    for (int j = 0; j < 16; j++)
      for (int i = 0; i < 20; i++)
        image->voxels[ns_grid_index (&image->grid, i, j, k)] = (float) i;
  NsPaintRule rule;
  ns_paint_rule_init (&rule, 2);
  int cursor[3] = { 10, 8, 4 };
  g_assert_true (ns_paint_rule_set_intensity_from (&rule, image, cursor, 2.0));
  g_assert_cmpfloat (rule.lo, ==, 8.0);
  g_assert_cmpfloat (rule.hi, ==, 12.0);
  NsBrush brush = { NS_BRUSH_ROUND, 6.0, -1 };
  g_autoptr (NsEditChange) c = dab (map, image, &brush, &rule, 10, 8, 4);
  check_map (map, want_intensity, NULL, "intensity-limited brush");

  /* Intensity limits without an image are an error, not a crash. */
  g_autoptr (GError) error = NULL;
  NsEditStroke *s = ns_edit_stroke_begin (map, NULL, &brush, &rule, NULL, &error);
  g_assert_null (s);
  g_assert_error (error, NS_EDIT_ERROR, NS_EDIT_ERROR_INVALID);
  int outside[3] = { 20, 0, 0 };
  g_assert_false (ns_paint_rule_set_intensity_from (&rule, image, outside, 1.0));
}

/* ---- fill and picker ---------------------------------------------------------------------- */

/* On slice k = 3: a ring (label 1) around [5, 14] x [4, 12]; inside it a hole of label 2 at
 * (9, 8); a second, separate background region outside. */
static guint8
want_fill_label (int i, int j, int k, gpointer data)
{
  gboolean filled = GPOINTER_TO_INT (data);
  if (k != 3)
    return 0;
  gboolean ring = (i >= 4 && i <= 15 && (j == 3 || j == 13))
                  || (j >= 3 && j <= 13 && (i == 4 || i == 15));
  if (ring)
    return 1;
  if (i == 9 && j == 8)
    return 2;
  if (filled && i > 4 && i < 15 && j > 3 && j < 13)
    return 4;
  return 0;
}

static void
test_fill (void)
{
  g_autoptr (NsLabelMap) map = new_map (20, 18, 6, 1, 1, 3);
  for (int k = 0; k < 6; k++)
    for (int j = 0; j < 18; j++)
      for (int i = 0; i < 20; i++)
        *lab (map, i, j, k) = want_fill_label (i, j, k, GINT_TO_POINTER (FALSE));
  NsPaintRule rule;
  ns_paint_rule_init (&rule, 4);
  int seed[3] = { 6, 6, 3 };
  g_autoptr (GError) error = NULL;
  g_assert_cmpuint (ns_edit_pick (map, seed), ==, 0);
  int on_ring[3] = { 4, 6, 3 }, off[3] = { -1, 0, 0 };
  g_assert_cmpuint (ns_edit_pick (map, on_ring), ==, 1);
  g_assert_cmpuint (ns_edit_pick (map, off), ==, 0);

  g_autoptr (NsEditChange) c = ns_edit_flood_fill_2d (map, NULL, 2, seed, NS_FILL_BOUND_LABEL,
                                                      0, 0, &rule, &error);
  g_assert_no_error (error);
  check_map (map, want_fill_label, GINT_TO_POINTER (TRUE), "fill inside a ring");
  g_assert_cmpuint (c->n, ==, 10 * 9 - 1);

  /* Intensity bound: a bright box [2, 7] x [2, 6] on slice i = 5 (sagittal fill, plane
   * normal to axis 0), and a bright voxel touching it only diagonally. */
  g_autoptr (NsLabelMap) m2 = new_map (10, 12, 10, 1, 1, 1);
  g_autoptr (NsVolume) image = new_volume (&m2->grid);
  for (int k = 0; k < 10; k++)
    for (int j = 0; j < 12; j++)
      for (int i = 0; i < 10; i++)
        {
          gboolean box = j >= 2 && j <= 7 && k >= 2 && k <= 6;
          gboolean diag = j == 8 && k == 7;
          image->voxels[ns_grid_index (&image->grid, i, j, k)] = box || diag ? 100.0f : 10.0f;
        }
  ns_paint_rule_init (&rule, 2);
  int s2[3] = { 5, 4, 4 };
  g_autoptr (NsEditChange) c2 = ns_edit_flood_fill_2d (m2, image, 0, s2,
                                                       NS_FILL_BOUND_INTENSITY, 90, 110, &rule,
                                                       &error);
  g_assert_no_error (error);
  for (int k = 0; k < 10; k++)
    for (int j = 0; j < 12; j++)
      for (int i = 0; i < 10; i++)
        {
          gboolean want = i == 5 && j >= 2 && j <= 7 && k >= 2 && k <= 6;
          g_assert_cmpuint (*lab (m2, i, j, k), ==, want ? 2 : 0);
        }
  g_assert_cmpuint (c2->n, ==, 6 * 5);
}

/* ---- interpolation ------------------------------------------------------------------------ */

static guint8
want_interp (int i, int j, int k, gpointer data)
{
  (void) data;
  /* Discs of radius 3 mm on slice 2 and 7 mm on slice 6, centre (16, 15): slices 3, 4, 5
   * get radius 4, 5, 6. */
  if (k < 2 || k > 6)
    return 0;
  double r = 3.0 + (k - 2);
  double d2 = (i - 16) * (i - 16) + (j - 15) * (j - 15);
  return d2 <= r * r ? 1 : 0;
}

static void
test_interpolate (void)
{
  g_autoptr (NsLabelMap) map = new_map (32, 30, 10, 1, 1, 2.5);
  for (int j = 0; j < 30; j++)
    for (int i = 0; i < 32; i++)
      {
        double d2 = (i - 16) * (i - 16) + (j - 15) * (j - 15);
        *lab (map, i, j, 2) = d2 <= 9 ? 1 : 0;
        *lab (map, i, j, 6) = d2 <= 49 ? 1 : 0;
      }
  NsPaintRule rule;
  ns_paint_rule_init (&rule, 1);
  g_autoptr (GError) error = NULL;
  g_autoptr (NsEditChange) c = ns_edit_interpolate_slices (map, NULL, 2, &rule, &error);
  g_assert_no_error (error);
  check_map (map, want_interp, NULL, "shape-based interpolation of two discs");
  /* Nothing more to interpolate; one slice alone gives nothing either. */
  g_autoptr (NsEditChange) again = ns_edit_interpolate_slices (map, NULL, 2, &rule, &error);
  g_assert_cmpuint (again->n, ==, 0);
  ns_paint_rule_init (&rule, 7);
  *lab (map, 0, 0, 9) = 7;
  g_autoptr (NsEditChange) single = ns_edit_interpolate_slices (map, NULL, 2, &rule, &error);
  g_assert_cmpuint (single->n, ==, 0);

  /* Along another axis (sagittal, normal to i): two squares on slices i = 2 and 8 of the
   * same size give the same square in between. */
  g_autoptr (NsLabelMap) sq = new_map (12, 10, 10, 1, 1, 1);
  for (int k = 3; k <= 6; k++)
    for (int j = 2; j <= 7; j++)
      *lab (sq, 2, j, k) = *lab (sq, 8, j, k) = 3;
  ns_paint_rule_init (&rule, 3);
  g_autoptr (NsEditChange) c2 = ns_edit_interpolate_slices (sq, NULL, 0, &rule, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (c2->n, ==, 5 * 6 * 4);
  for (int k = 0; k < 10; k++)
    for (int j = 0; j < 10; j++)
      for (int i = 0; i < 12; i++)
        g_assert_cmpuint (*lab (sq, i, j, k), ==,
                          i >= 2 && i <= 8 && j >= 2 && j <= 7 && k >= 3 && k <= 6 ? 3 : 0);
}

/* ---- islands ------------------------------------------------------------------------------ */

static void
test_islands (void)
{
  g_autoptr (NsLabelMap) map = new_map (24, 24, 24, 1, 1, 1);
  /* A 10^3 cube (1 mL), a 2^3 island (0.008 mL), a single voxel touching the cube only at
   * a corner (not 6-connected), and a small blob of another label. */
  for (int k = 2; k < 12; k++)
    for (int j = 2; j < 12; j++)
      for (int i = 2; i < 12; i++)
        *lab (map, i, j, k) = 2;
  for (int k = 18; k < 20; k++)
    for (int j = 18; j < 20; j++)
      for (int i = 18; i < 20; i++)
        *lab (map, i, j, k) = 2;
  *lab (map, 12, 12, 12) = 2;
  *lab (map, 20, 2, 2) = 1;
  g_autoptr (NsLabelMap) before = ns_label_map_dup (map, NULL);
  g_autoptr (GError) error = NULL;
  g_autoptr (NsEditChange) c = ns_edit_remove_islands (map, 2, 0.1, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (c->n, ==, 8 + 1);
  guint64 counts[256];
  ns_label_map_count (map, counts);
  g_assert_cmpuint (counts[2], ==, 1000);
  g_assert_cmpuint (counts[1], ==, 1);
  g_assert_cmpuint (*lab (map, 12, 12, 12), ==, 0);
  g_assert_cmpuint (*lab (map, 18, 19, 18), ==, 0);

  /* A locked label is left alone; a threshold above the cube removes it too. */
  NsPaintRule rule;
  ns_paint_rule_init (&rule, 0);
  rule.locked[2] = 1;
  g_autoptr (NsEditChange) none = ns_edit_remove_islands (map, 2, 5.0, &rule, &error);
  g_assert_cmpuint (none->n, ==, 0);
  g_autoptr (NsEditChange) all = ns_edit_remove_islands (map, 2, 1.001, NULL, &error);
  g_assert_cmpuint (all->n, ==, 1000);
  ns_edit_change_apply (all, map, FALSE);
  ns_edit_change_apply (c, map, FALSE);
  g_assert_cmpmem (map->labels, 24 * 24 * 24, before->labels, 24 * 24 * 24);
}

/* ---- strokes ------------------------------------------------------------------------------ */

static double
distance_to_segment (double x, double y, const double a[2], const double b[2])
{
  double dx = b[0] - a[0], dy = b[1] - a[1];
  double t = ((x - a[0]) * dx + (y - a[1]) * dy) / (dx * dx + dy * dy);
  t = CLAMP (t, 0.0, 1.0);
  double ex = a[0] + t * dx - x, ey = a[1] + t * dy - y;
  return sqrt (ex * ex + ey * ey);
}

static void
test_stroke_no_gap (void)
{
  /* One motion event from (2, 3) to (60, 41): a fast diagonal drag. */
  const double a[2] = { 2, 3 }, b[2] = { 60, 41 };
  const double radii[] = { 0.3, 1.5, 3.0 };
  for (gsize r = 0; r < G_N_ELEMENTS (radii); r++)
    {
      g_autoptr (NsLabelMap) map = new_map (64, 48, 3, 1, 1, 1);
      NsBrush brush = { NS_BRUSH_ROUND, radii[r], 2 };
      NsPaintRule rule;
      ns_paint_rule_init (&rule, 1);
      g_autoptr (GError) error = NULL;
      NsEditStroke *s = ns_edit_stroke_begin (map, NULL, &brush, &rule, NULL, &error);
      g_assert_no_error (error);
      double p0[3] = { a[0], a[1], 1 }, p1[3] = { b[0], b[1], 1 };
      int bbox[6];
      ns_edit_stroke_add (s, p0, bbox);
      gsize n = ns_edit_stroke_add (s, p1, bbox);
      g_assert_cmpint (bbox[2], ==, 1);
      g_assert_cmpint (bbox[5], ==, 1);
      g_autoptr (NsEditChange) c = ns_edit_stroke_end (s);
      g_assert_cmpuint (c->n, >, n);
      g_assert_cmpstr (c->name, ==, "Brush");
      /* Dabs are centred on the voxel nearest to points every half voxel along the
       * segment: a centre is within sqrt(0.5) of the segment and within 0.25 + sqrt(0.5)
       * of any segment point's nearest sample.  So no gap: every voxel within r - 1 of
       * the segment is painted; and nothing beyond r + sqrt(0.5) is. */
      double inner = radii[r] - 1.0;
      double outer = radii[r] + sqrt (0.5) + 1e-9;
      for (int k = 0; k < 3; k++)
        for (int j = 0; j < 48; j++)
          for (int i = 0; i < 64; i++)
            {
              double d = distance_to_segment (i, j, a, b);
              guint8 v = *lab (map, i, j, k);
              if (k != 1)
                g_assert_cmpuint (v, ==, 0);
              else if (radii[r] >= 1.0 && d <= inner)
                g_assert_cmpuint (v, ==, 1);
              else if (d > outer)
                g_assert_cmpuint (v, ==, 0);
            }
      /* For the one-voxel brush: 8-connected from end to end (a line with no gap). */
      if (radii[r] < 1.0)
        for (int i = 2; i <= 60; i++)
          {
            int hits = 0;
            for (int j = 0; j < 48; j++)
              hits += *lab (map, i, j, 1);
            g_assert_cmpint (hits, >=, 1);
          }
    }
}

static void
test_stroke_cancel_and_replace (void)
{
  g_autoptr (NsLabelMap) map = striped_map ();
  g_autoptr (NsLabelMap) before = ns_label_map_dup (map, NULL);
  NsBrush brush = { NS_BRUSH_ROUND, 3.0, -1 };
  NsPaintRule rule;
  ns_paint_rule_init (&rule, 4);
  NsEditStroke *s = ns_edit_stroke_begin (map, NULL, &brush, &rule, "x", NULL);
  double p[3] = { 3, 3, 3 }, q[3] = { 9, 9, 9 };
  ns_edit_stroke_add (s, p, NULL);
  g_assert_cmpuint (ns_edit_stroke_add (s, q, NULL), >, 0);
  ns_edit_stroke_cancel (s);
  g_assert_cmpmem (map->labels, 12 * 12 * 12, before->labels, 12 * 12 * 12);

  /* A whole-mask replacement is the difference, exactly. */
  g_autofree guint8 *pred = g_new0 (guint8, 12 * 12 * 12);
  for (int t = 0; t < 12 * 12 * 12; t++)
    pred[t] = (t / 7) % 5 == 0 ? 4 : map->labels[t];
  g_autoptr (NsEditChange) c = ns_edit_replace_labels (map, pred, "Model prediction");
  g_assert_cmpmem (map->labels, 12 * 12 * 12, pred, 12 * 12 * 12);
  gsize differ = 0;
  for (int t = 0; t < 12 * 12 * 12; t++)
    differ += pred[t] != before->labels[t];
  g_assert_cmpuint (c->n, ==, differ);
  g_assert_cmpstr (c->name, ==, "Model prediction");
  ns_edit_change_apply (c, map, FALSE);
  g_assert_cmpmem (map->labels, 12 * 12 * 12, before->labels, 12 * 12 * 12);
}

/* ---- label descriptions ------------------------------------------------------------------- */

static void
test_label_table (void)
{
  g_autoptr (NsLabelTable) t = ns_label_table_new_for_scheme (NS_LABEL_SCHEME_BRATS2017);
  g_assert_cmpuint (ns_label_table_n_entries (t), ==, 4);
  g_assert_cmpstr (ns_label_table_lookup (t, 4)->name, ==, "ET");
  g_assert_null (ns_label_table_lookup (t, 3));
  g_assert_cmpuint (ns_label_table_next_free (t), ==, 3);
  const guint8 rgba[4] = { 10, 20, 30, 128 };
  ns_label_table_set (t, 7, "Resection \"cavity\"", rgba, FALSE, TRUE);
  g_assert_true (ns_label_table_set_locked (t, 2, TRUE));
  g_assert_false (ns_label_table_set_locked (t, 9, TRUE));
  g_assert_false (ns_label_table_remove (t, 0));
  guint8 locked[256];
  ns_label_table_fill_locks (t, locked);
  g_assert_true (locked[2] && locked[7] && !locked[1] && !locked[0]);

  g_autofree char *path = g_build_filename (ns_test_tmpdir (), "seg.labels.txt", NULL);
  g_autoptr (GError) error = NULL;
  g_assert_true (ns_label_table_save (t, path, &error));
  g_assert_no_error (error);
  g_autoptr (NsLabelTable) back = ns_label_table_load (path, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (ns_label_table_n_entries (back), ==, 5);
  for (guint i = 0; i < ns_label_table_n_entries (t); i++)
    {
      const NsLabelEntry *e = ns_label_table_get_nth (t, i);
      const NsLabelEntry *f = ns_label_table_get_nth (back, i);
      g_assert_cmpuint (e->value, ==, f->value);
      g_assert_cmpstr (e->name, ==, f->name);
      g_assert_cmpmem (e->rgba, 4, f->rgba, 4);
      g_assert_cmpint (e->visible, ==, f->visible);
      g_assert_cmpint (e->locked, ==, f->locked);
    }
  g_assert_cmpstr (ns_label_table_lookup (back, 7)->name, ==, "Resection 'cavity'");

  /* A file written by ITK-SNAP (its own header and default labels). */
  const char *itksnap =
    "################################################\n"
    "# ITK-SnAP Label Description File\n"
    "################################################\n"
    "    0     0    0    0        0  0  0    \"Clear Label\"\n"
    "    1   255    0    0        1  1  1    \"Label 1\"\n"
    "   12     0  255    0      0.5  0  1    \"Label with spaces\"\n";
  g_autofree char *p2 = g_build_filename (ns_test_tmpdir (), "itksnap.txt", NULL);
  g_assert_true (g_file_set_contents (p2, itksnap, -1, NULL));
  g_autoptr (NsLabelTable) snap = ns_label_table_load (p2, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (ns_label_table_n_entries (snap), ==, 3);
  const NsLabelEntry *e12 = ns_label_table_lookup (snap, 12);
  g_assert_cmpstr (e12->name, ==, "Label with spaces");
  g_assert_cmpuint (e12->rgba[1], ==, 255);
  g_assert_cmpuint (e12->rgba[3], ==, 128);
  g_assert_false (e12->visible);

  /* Malformed: the error names the file and the line. */
  g_assert_true (g_file_set_contents (p2, "# x\n1 2 3\n", -1, NULL));
  g_autoptr (NsLabelTable) bad = ns_label_table_load (p2, &error);
  g_assert_null (bad);
  g_assert_error (error, NS_DATA_ERROR, NS_DATA_ERROR_CORRUPT);
  g_assert_nonnull (strstr (error->message, "itksnap.txt: line 2"));

  g_autofree char *a = ns_label_table_path_for_mask ("/d/seg.nii.gz");
  g_autofree char *b = ns_label_table_path_for_mask ("/d/seg.nii");
  g_assert_cmpstr (a, ==, "/d/seg.labels.txt");
  g_assert_cmpstr (b, ==, "/d/seg.labels.txt");
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/data/edit/brush-sphere-mm", test_brush_sphere_mm);
  g_test_add_func ("/data/edit/brush-2d", test_brush_2d);
  g_test_add_func ("/data/edit/paint-rules", test_paint_rules);
  g_test_add_func ("/data/edit/intensity-limit", test_intensity_limit);
  g_test_add_func ("/data/edit/fill", test_fill);
  g_test_add_func ("/data/edit/interpolate", test_interpolate);
  g_test_add_func ("/data/edit/islands", test_islands);
  g_test_add_func ("/data/edit/stroke-no-gap", test_stroke_no_gap);
  g_test_add_func ("/data/edit/cancel-and-replace", test_stroke_cancel_and_replace);
  g_test_add_func ("/data/edit/label-table", test_label_table);
  return g_test_run ();
}
