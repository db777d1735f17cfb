/* SPDX-License-Identifier: MIT
 *
 * test-data-history.c: undo and redo (data/ns-history.h): 1,000 random edits of every
 * kind undone one by one back to the original bit for bit and redone to the final mask;
 * the memory budget dropping the oldest entries; the clean (saved) state.
 */
#include "ns-test-util.h"
#include "ns-history.h"

#include <string.h>

#define NX 32
#define NY 28
#define NZ 12
#define NV (NX * NY * NZ)

static NsLabelMap *
random_map (GRand *rand)
{
  NsGrid grid;
  ns_grid_init (&grid, NX, NY, NZ, 0.9, 1.1, 2.0);
  NsLabelMap *map = ns_label_map_new (&grid, NULL);
  for (int t = 0; t < NV; t++)
    map->labels[t] = g_rand_int_range (rand, 0, 10) < 7 ? 0
                                                         : (guint8) g_rand_int_range (rand, 1, 5);
  return map;
}

/* One random edit of a random kind; returns its change (maybe empty). */
static NsEditChange *
random_edit (GRand *rand, NsLabelMap *map, NsVolume *image)
{
  NsPaintRule rule;
  ns_paint_rule_init (&rule, (guint8) g_rand_int_range (rand, 0, 5));
  rule.over = g_rand_int_range (rand, 0, 3);
  rule.over_label = (guint8) g_rand_int_range (rand, 0, 5);
  if (g_rand_boolean (rand))
    rule.locked[g_rand_int_range (rand, 0, 5)] = 1;
  if (g_rand_int_range (rand, 0, 4) == 0)
    {
      rule.intensity_limit = TRUE;
      rule.lo = g_rand_double_range (rand, 0, 50);
      rule.hi = rule.lo + 40;
    }
  g_autoptr (GError) error = NULL;
  NsEditChange *c = NULL;
  int kind = g_rand_int_range (rand, 0, 10);
  if (kind < 6)
    {
      NsBrush brush = { g_rand_boolean (rand) ? NS_BRUSH_ROUND : NS_BRUSH_SQUARE,
                        g_rand_double_range (rand, 0.3, 6.0), g_rand_int_range (rand, -1, 3) };
      NsEditStroke *s = ns_edit_stroke_begin (map, image, &brush, &rule, NULL, &error);
      g_assert_no_error (error);
      int n = g_rand_int_range (rand, 1, 6);
      for (int t = 0; t < n; t++)
        {
          double p[3] = { g_rand_double_range (rand, -2, NX + 2),
                          g_rand_double_range (rand, -2, NY + 2),
                          g_rand_double_range (rand, -1, NZ + 1) };
          ns_edit_stroke_add (s, p, NULL);
        }
      c = ns_edit_stroke_end (s);
    }
  else if (kind < 8)
    {
      int seed[3] = { g_rand_int_range (rand, 0, NX), g_rand_int_range (rand, 0, NY),
                      g_rand_int_range (rand, 0, NZ) };
      c = ns_edit_flood_fill_2d (map, image, g_rand_int_range (rand, 0, 3), seed,
                                 g_rand_int_range (rand, 0, 2), 20, 60, &rule, &error);
    }
  else if (kind == 8)
    {
      if (rule.label == 0)
        rule.label = 3;
      c = ns_edit_interpolate_slices (map, image, g_rand_int_range (rand, 0, 3), &rule, &error);
    }
  else if (g_rand_boolean (rand))
    c = ns_edit_remove_islands (map, (guint8) g_rand_int_range (rand, 1, 5),
                                g_rand_double_range (rand, 0, 0.02), &rule, &error);
  else
    {
      /* A whole-mask replacement: a random block set to one label. */
      g_autofree guint8 *labels = g_memdup2 (map->labels, NV);
      int x0 = g_rand_int_range (rand, 0, NX), y0 = g_rand_int_range (rand, 0, NY);
      guint8 v = (guint8) g_rand_int_range (rand, 0, 5);
      for (int k = 0; k < NZ; k++)
        for (int j = y0; j < MIN (NY, y0 + 9); j++)
          for (int i = x0; i < MIN (NX, x0 + 9); i++)
            labels[(k * NY + j) * NX + i] = v;
      c = ns_edit_replace_labels (map, labels, "Prediction");
    }
  g_assert_no_error (error);
  g_assert_nonnull (c);
  return c;
}

static void
test_random_undo_redo (void)
{
  g_autoptr (GRand) rand = g_rand_new_with_seed (20261126);
  g_autoptr (NsLabelMap) map = random_map (rand);
  g_autoptr (NsVolume) image = ns_volume_new (&map->grid, NULL);
  for (int t = 0; t < NV; t++)
    image->voxels[t] = (float) g_rand_double_range (rand, 0, 100);
  g_autoptr (NsLabelMap) original = ns_label_map_dup (map, NULL);
  NsHistory *h = ns_history_new (0);

  /* A snapshot after each recorded edit, to check every step of the way back. */
  GPtrArray *states = g_ptr_array_new_with_free_func (g_free);
  g_ptr_array_add (states, g_memdup2 (map->labels, NV));
  guint n_edits = 0;
  for (int e = 0; e < 1000; e++)
    {
      g_autoptr (NsEditChange) c = random_edit (rand, map, image);
      if (ns_history_push (h, c))
        g_ptr_array_add (states, g_memdup2 (map->labels, NV));
      n_edits++;
      /* Now and then an undo and a redo in the middle. */
      if (e % 97 == 0 && ns_history_n_undo (h) > 0)
        {
          g_assert_nonnull (ns_history_undo (h, map));
          g_assert_cmpmem (map->labels, NV, g_ptr_array_index (states, states->len - 2), NV);
          g_assert_nonnull (ns_history_redo (h, map));
        }
    }
  g_assert_cmpuint (n_edits, ==, 1000);
  g_test_message ("%u non-empty edits of 1000, history %" G_GSIZE_FORMAT " bytes",
                  states->len - 1, ns_history_memory (h));
  g_assert_cmpuint (ns_history_n_undo (h), ==, states->len - 1);
  g_assert_cmpuint (ns_history_n_undo (h), >, 500);
  g_autoptr (NsLabelMap) final = ns_label_map_dup (map, NULL);

  for (guint s = states->len - 1; s > 0; s--)
    {
      g_assert_nonnull (ns_history_undo (h, map));
      g_assert_cmpmem (map->labels, NV, g_ptr_array_index (states, s - 1), NV);
    }
  g_assert_null (ns_history_undo (h, map));
  g_assert_cmpmem (map->labels, NV, original->labels, NV);

  g_assert_cmpuint (ns_history_redo_n (h, map, G_MAXUINT), ==, states->len - 1);
  g_assert_cmpmem (map->labels, NV, final->labels, NV);
  g_assert_null (ns_history_redo (h, map));

  /* Jump back several steps at once (the history list). */
  g_assert_cmpuint (ns_history_undo_n (h, map, 10), ==, 10);
  g_assert_cmpmem (map->labels, NV, g_ptr_array_index (states, states->len - 11), NV);
  g_assert_cmpuint (ns_history_n_redo (h), ==, 10);
  const NsEditChange *entry = ns_history_get (h, ns_history_n_undo (h));
  g_assert_nonnull (entry);
  g_assert_nonnull (entry->name);
  g_assert_cmpint (entry->time, >, 0);
  /* A new edit drops the ten redo entries. */
  NsPaintRule rule;
  ns_paint_rule_init (&rule, 9);
  NsBrush brush = { NS_BRUSH_ROUND, 2.0, -1 };
  NsEditStroke *st = ns_edit_stroke_begin (map, NULL, &brush, &rule, NULL, NULL);
  double p[3] = { 5, 5, 5 };
  ns_edit_stroke_add (st, p, NULL);
  g_autoptr (NsEditChange) c = ns_edit_stroke_end (st);
  g_assert_true (ns_history_push (h, c));
  g_assert_cmpuint (ns_history_n_redo (h), ==, 0);

  g_ptr_array_unref (states);
  ns_history_free (h);
}

/* A change of n voxels from index 0 on, old 0, new v. */
static NsEditChange *
block_change (NsLabelMap *map, gsize start, gsize n, guint8 v)
{
  g_autofree guint8 *labels = g_memdup2 (map->labels, NV);
  memset (labels + start, v, n);
  return ns_edit_replace_labels (map, labels, "Block");
}

static void
test_budget (void)
{
  NsGrid grid;
  ns_grid_init (&grid, NX, NY, NZ, 1, 1, 1);
  g_autoptr (NsLabelMap) map = ns_label_map_new (&grid, NULL);
  /* Each entry: 1000 voxels, 6 bytes each plus a small header; room for about 3. */
  g_autoptr (NsEditChange) probe = block_change (map, 0, 1000, 1);
  ns_edit_change_apply (probe, map, FALSE);
  gsize entry = ns_edit_change_size (probe);
  NsHistory *h = ns_history_new (3 * entry + entry / 2);
  GPtrArray *states = g_ptr_array_new_with_free_func (g_free);
  g_ptr_array_add (states, g_memdup2 (map->labels, NV));
  for (int e = 0; e < 8; e++)
    {
      g_autoptr (NsEditChange) c = block_change (map, (gsize) e * 1000, 1000, (guint8) (e + 1));
      g_assert_cmpuint (ns_edit_change_size (c), ==, entry);
      g_assert_true (ns_history_push (h, c));
      g_ptr_array_add (states, g_memdup2 (map->labels, NV));
      g_assert_cmpuint (ns_history_memory (h), <=, ns_history_budget (h));
    }
  g_assert_cmpuint (ns_history_n_undo (h), ==, 3);
  g_assert_cmpuint (ns_history_n_evicted (h), ==, 5);
  g_assert_cmpuint (ns_history_memory (h), ==, 3 * entry);
  /* Undo all reaches the state after the 5 dropped edits, no further. */
  g_assert_cmpuint (ns_history_undo_n (h, map, 100), ==, 3);
  g_assert_cmpmem (map->labels, NV, g_ptr_array_index (states, 5), NV);
  g_assert_cmpuint (ns_history_redo_n (h, map, 100), ==, 3);
  g_assert_cmpmem (map->labels, NV, g_ptr_array_index (states, 8), NV);

  /* An entry larger than the whole budget is still kept alone (the last edit can always
   * be undone); a smaller budget drops entries at once. */
  g_autoptr (NsEditChange) big = block_change (map, 0, 9000, 200);
  g_assert_true (ns_history_push (h, big));
  g_assert_cmpuint (ns_history_n_undo (h), ==, 1);
  g_assert_nonnull (ns_history_undo (h, map));
  g_assert_cmpmem (map->labels, NV, g_ptr_array_index (states, 8), NV);
  g_assert_nonnull (ns_history_redo (h, map));
  ns_history_free (h);
  g_ptr_array_unref (states);

  /* The default budget is 256 MB. */
  h = ns_history_new (0);
  g_assert_cmpuint (ns_history_budget (h), ==, 256u * 1024 * 1024);
  ns_history_free (h);
}

static void
test_clean_state (void)
{
  NsGrid grid;
  ns_grid_init (&grid, NX, NY, NZ, 1, 1, 1);
  g_autoptr (NsLabelMap) map = ns_label_map_new (&grid, NULL);
  NsHistory *h = ns_history_new (0);
  g_assert_true (ns_history_is_clean (h));
  g_autoptr (NsEditChange) a = block_change (map, 0, 10, 1);
  g_autoptr (NsEditChange) b = block_change (map, 10, 10, 2);
  g_autoptr (NsEditChange) c = block_change (map, 20, 10, 3);
  g_autoptr (NsEditChange) empty = block_change (map, 20, 10, 3);
  g_assert_cmpuint (empty->n, ==, 0);
  g_assert_false (ns_history_push (h, empty));
  ns_history_push (h, a);
  g_assert_false (ns_history_is_clean (h));
  ns_history_push (h, b);
  ns_history_mark_clean (h);              /* saved after b */
  g_assert_true (ns_history_is_clean (h));
  ns_history_push (h, c);
  g_assert_false (ns_history_is_clean (h));
  ns_history_undo (h, map);
  g_assert_true (ns_history_is_clean (h)); /* back at the saved state */
  ns_history_undo (h, map);
  g_assert_false (ns_history_is_clean (h));
  ns_history_redo (h, map);
  g_assert_true (ns_history_is_clean (h));
  /* The history survives the save: everything can still be undone. */
  g_assert_cmpuint (ns_history_undo_n (h, map, 5), ==, 2);
  g_assert_false (ns_history_is_clean (h));
  /* A new edit from here makes the saved state unreachable. */
  g_autoptr (NsEditChange) d = block_change (map, 50, 5, 4);
  ns_history_push (h, d);
  ns_history_undo (h, map);
  g_assert_false (ns_history_is_clean (h));
  g_assert_cmpuint (ns_history_n_redo (h), ==, 1);
  ns_history_free (h);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/data/history/random-undo-redo", test_random_undo_redo);
  g_test_add_func ("/data/history/budget", test_budget);
  g_test_add_func ("/data/history/clean-state", test_clean_state);
  return g_test_run ();
}
