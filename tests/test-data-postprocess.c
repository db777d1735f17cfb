/* SPDX-License-Identifier: MIT
 *
 * test-data-postprocess.c: small tumour components dropped (6-connectivity, sizes at the
 * threshold), a small enhancing tumour relabelled as core (below, at and above the
 * threshold, and absent), steps switched off, bad parameters refused; and the component
 * labeller they share with the editor (ns_components_label): ids in first-voxel order,
 * sizes, one value or every non-zero value, diagonal contact not a connection.
 */
#include "ns-test-util.h"
#include "ns-data-error.h"
#include "ns-components.h"
#include "ns-postprocess.h"

#include <string.h>

#define NX 12
#define NY 10
#define NZ 8

static NsLabelMap *
empty_map (void)
{
  NsGrid grid;
  ns_grid_init (&grid, NX, NY, NZ, 1, 1, 1);
  return ns_label_map_new (&grid, NULL);
}

static void
set_box (NsLabelMap *m, int i0, int i1, int j0, int j1, int k0, int k1, guint8 v)
{
  for (int k = k0; k <= k1; k++)
    for (int j = j0; j <= j1; j++)
      for (int i = i0; i <= i1; i++)
        m->labels[ns_grid_index (&m->grid, i, j, k)] = v;
}

static gsize
count (const NsLabelMap *m, guint8 v)
{
  gsize n = 0;
  for (gsize i = 0; i < ns_grid_n_voxels (&m->grid); i++)
    n += m->labels[i] == v;
  return n;
}

/* A tumour of 3 x 3 x 3 = 27 voxels (edema around enhancing, one component of mixed
 * labels), a speck of 2 voxels, and two voxels touching only diagonally (two components
 * of 1 under 6-connectivity). */
static NsLabelMap *
scene (void)
{
  NsLabelMap *m = empty_map ();
  set_box (m, 2, 4, 2, 4, 2, 4, 2);
  set_box (m, 3, 3, 3, 3, 3, 3, 4);
  set_box (m, 9, 10, 8, 8, 6, 6, 1);
  set_box (m, 0, 0, 0, 0, 0, 0, 2);
  set_box (m, 1, 1, 1, 1, 0, 0, 2);
  return m;
}

static void
test_components (void)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (NsLabelMap) m = scene ();
  NsPostprocessParams p = { .min_component_voxels = 2 };
  NsPostprocessStats st;

  g_assert_true (ns_postprocess_apply (m, &p, &st, &error));
  g_assert_no_error (error);
  g_assert_cmpint (st.components, ==, 4);
  /* the two diagonal singles go; the 2-voxel speck is not below 2 and stays */
  g_assert_cmpint (st.components_dropped, ==, 2);
  g_assert_cmpuint (st.voxels_dropped, ==, 2);
  g_assert_cmpuint (count (m, 2), ==, 26);
  g_assert_cmpuint (count (m, 4), ==, 1);
  g_assert_cmpuint (count (m, 1), ==, 2);

  p.min_component_voxels = 27;
  g_assert_true (ns_postprocess_apply (m, &p, &st, &error));
  g_assert_cmpint (st.components, ==, 2);
  g_assert_cmpint (st.components_dropped, ==, 1);
  g_assert_cmpuint (count (m, 1), ==, 0);
  g_assert_cmpuint (count (m, 2) + count (m, 4), ==, 27);   /* mixed labels: one component */

  p.min_component_voxels = 28;
  g_assert_true (ns_postprocess_apply (m, &p, &st, &error));
  g_assert_cmpuint (count (m, 0), ==, NX * NY * NZ);
}

static void
test_small_label (void)
{
  g_autoptr (GError) error = NULL;
  NsPostprocessParams p = { .small_label = 4, .small_label_below = 8, .small_label_to = 1 };
  NsPostprocessStats st;

  /* 1 voxel of 4 < 8: becomes core */
  g_autoptr (NsLabelMap) a = scene ();
  g_assert_true (ns_postprocess_apply (a, &p, &st, &error));
  g_assert_no_error (error);
  g_assert_true (st.relabelled);
  g_assert_cmpuint (st.small_label_voxels, ==, 1);
  g_assert_cmpuint (count (a, 4), ==, 0);
  g_assert_cmpuint (count (a, 1), ==, 3);

  /* exactly at the threshold: stays */
  g_autoptr (NsLabelMap) b = scene ();
  set_box (b, 2, 3, 2, 3, 2, 3, 4);   /* 8 voxels of 4 (the centre among them) */
  g_assert_cmpuint (count (b, 4), ==, 8);
  g_assert_true (ns_postprocess_apply (b, &p, &st, &error));
  g_assert_false (st.relabelled);
  g_assert_cmpuint (count (b, 4), ==, 8);

  /* no enhancing tumour at all: nothing to do */
  g_autoptr (NsLabelMap) c = empty_map ();
  set_box (c, 2, 4, 2, 4, 2, 4, 2);
  g_assert_true (ns_postprocess_apply (c, &p, &st, &error));
  g_assert_false (st.relabelled);
  g_assert_cmpuint (count (c, 2), ==, 27);

  /* components first: a dropped speck of 4 does not count towards the volume */
  g_autoptr (NsLabelMap) d = scene ();
  set_box (d, 7, 9, 0, 1, 6, 6, 4);   /* a component of 6 voxels of 4 */
  NsPostprocessParams both = p;
  both.min_component_voxels = 7;
  both.small_label_below = 2;
  g_assert_true (ns_postprocess_apply (d, &both, &st, &error));
  g_assert_cmpuint (st.small_label_voxels, ==, 1);
  g_assert_true (st.relabelled);
  g_assert_cmpuint (count (d, 4), ==, 0);
}

static void
test_inactive_and_bad (void)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (NsLabelMap) m = scene ();
  g_autoptr (NsLabelMap) orig = scene ();
  NsPostprocessParams off = { 0 };

  g_assert_false (ns_postprocess_is_active (&off));
  g_assert_true (ns_postprocess_apply (m, &off, NULL, &error));
  g_assert_cmpmem (m->labels, NX * NY * NZ, orig->labels, NX * NY * NZ);

  NsPostprocessParams neg = { .min_component_voxels = -1 };
  g_assert_false (ns_postprocess_apply (m, &neg, NULL, &error));
  g_assert_error (error, NS_DATA_ERROR, NS_DATA_ERROR_INVALID);
  g_clear_error (&error);
  NsPostprocessParams same = { .small_label = 4, .small_label_below = 5, .small_label_to = 4 };
  g_assert_true (ns_postprocess_is_active (&same));
  g_assert_false (ns_postprocess_apply (m, &same, NULL, &error));
  g_assert_error (error, NS_DATA_ERROR, NS_DATA_ERROR_INVALID);
  g_assert_cmpmem (m->labels, NX * NY * NZ, orig->labels, NX * NY * NZ);
}

static void
test_labeller (void)
{
  g_autoptr (NsLabelMap) m = empty_map ();
  set_box (m, 0, 1, 0, 1, 0, 1, 2);     /* 8 voxels of 2 */
  set_box (m, 2, 2, 0, 0, 0, 0, 4);     /* touches the first by a face: one tumour */
  set_box (m, 3, 3, 1, 1, 1, 1, 2);     /* touches 4 by an edge only: separate */
  set_box (m, 8, 10, 5, 8, 3, 6, 2);    /* 3 x 4 x 4 = 48 */
  const int *dim = m->grid.dim;

  g_autoptr (GArray) sizes = g_array_new (FALSE, FALSE, sizeof (guint64));
  g_autofree guint32 *comp = ns_components_label (m->labels, dim, 2, sizes, NULL);
  g_assert_nonnull (comp);
  g_assert_cmpuint (sizes->len, ==, 3);
  g_assert_cmpuint (g_array_index (sizes, guint64, 0), ==, 8);
  g_assert_cmpuint (g_array_index (sizes, guint64, 1), ==, 1);
  g_assert_cmpuint (g_array_index (sizes, guint64, 2), ==, 48);
  g_assert_cmpuint (comp[ns_grid_index (&m->grid, 1, 1, 1)], ==, 1);
  g_assert_cmpuint (comp[ns_grid_index (&m->grid, 2, 0, 0)], ==, 0);   /* a 4 */
  g_assert_cmpuint (comp[ns_grid_index (&m->grid, 3, 1, 1)], ==, 2);
  g_assert_cmpuint (comp[ns_grid_index (&m->grid, 10, 8, 6)], ==, 3);

  g_autoptr (GArray) all = g_array_new (FALSE, FALSE, sizeof (guint64));
  g_autofree guint32 *any = ns_components_label (m->labels, dim, NS_COMPONENTS_NONZERO, all,
                                                 NULL);
  g_assert_cmpuint (all->len, ==, 3);
  g_assert_cmpuint (g_array_index (all, guint64, 0), ==, 9);
  g_assert_cmpuint (any[ns_grid_index (&m->grid, 2, 0, 0)], ==, 1);

  g_autoptr (GArray) none = g_array_new (FALSE, FALSE, sizeof (guint64));
  g_autofree guint32 *zero = ns_components_label (m->labels, dim, 7, none, NULL);
  g_assert_cmpuint (none->len, ==, 0);
  for (gsize i = 0; i < ns_grid_n_voxels (&m->grid); i++)
    g_assert_cmpuint (zero[i], ==, 0);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/data/postprocess/components", test_components);
  g_test_add_func ("/data/postprocess/labeller", test_labeller);
  g_test_add_func ("/data/postprocess/small-label", test_small_label);
  g_test_add_func ("/data/postprocess/inactive-and-bad", test_inactive_and_bad);
  return g_test_run ();
}
