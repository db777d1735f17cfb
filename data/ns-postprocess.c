/* SPDX-License-Identifier: MIT
 *
 * ns-postprocess.c: small tumour components dropped and a small label relabelled (see
 * ns-postprocess.h).
 *
 * Components: a flood fill with an explicit stack of voxel indices (no recursion: a
 * whole-brain component is millions of voxels), 6-connected, over the voxels whose label
 * is not 0.  One pass labels every component with its size; a second pass clears the
 * small ones.  Memory: one guint32 component id per voxel plus the stack.
 */
#define G_LOG_DOMAIN "neuroseg-data"

#include "ns-postprocess.h"

#include "ns-data-error.h"

gboolean
ns_postprocess_is_active (const NsPostprocessParams *p)
{
  return p != NULL && (p->min_component_voxels > 0
                       || (p->small_label > 0 && p->small_label_below > 0));
}

static gboolean
check_params (const NsPostprocessParams *p, GError **error)
{
  if (p->min_component_voxels < 0 || p->small_label_below < 0)
    {
      g_set_error (error, NS_DATA_ERROR, NS_DATA_ERROR_INVALID,
                   "post-processing: negative voxel counts (components below %d, label below "
                   "%d)", p->min_component_voxels, p->small_label_below);
      return FALSE;
    }
  if (p->small_label_below > 0
      && (p->small_label < 1 || p->small_label > 255 || p->small_label_to < 0
          || p->small_label_to > 255 || p->small_label_to == p->small_label))
    {
      g_set_error (error, NS_DATA_ERROR, NS_DATA_ERROR_INVALID,
                   "post-processing: relabelling %d as %d is not a change of one label "
                   "1..255 into another 0..255", p->small_label, p->small_label_to);
      return FALSE;
    }
  return TRUE;
}

/* Step 1: tumour components below min_voxels become 0. */
static gboolean
drop_small_components (NsLabelMap *labels, int min_voxels, NsPostprocessStats *st,
                       GError **error)
{
  const int nx = labels->grid.dim[0], ny = labels->grid.dim[1], nz = labels->grid.dim[2];
  const gsize plane = (gsize) nx * ny, n = plane * nz;
  guint8 *lab = labels->labels;
  g_autofree guint32 *comp = g_try_new0 (guint32, MAX (n, 1));
  g_autoptr (GArray) sizes = g_array_new (FALSE, FALSE, sizeof (gsize));
  g_autoptr (GArray) stack = g_array_new (FALSE, FALSE, sizeof (gsize));

  if (comp == NULL)
    {
      g_set_error (error, NS_DATA_ERROR, NS_DATA_ERROR_INVALID,
                   "post-processing: out of memory for the components of %zu voxels",
                   (size_t) n);
      return FALSE;
    }
  gsize zero = 0;
  g_array_append_val (sizes, zero);   /* id 0: no component */
  for (gsize seed = 0; seed < n; seed++)
    {
      if (lab[seed] == 0 || comp[seed] != 0)
        continue;
      guint32 id = sizes->len;
      gsize size = 0;
      comp[seed] = id;
      g_array_set_size (stack, 0);
      g_array_append_val (stack, seed);
      while (stack->len > 0)
        {
          gsize v = g_array_index (stack, gsize, stack->len - 1);
          g_array_set_size (stack, stack->len - 1);
          size++;
          int i = (int) (v % nx), j = (int) (v / nx % ny), k = (int) (v / plane);
          gsize nb[6];
          int m = 0;
          if (i > 0) nb[m++] = v - 1;
          if (i < nx - 1) nb[m++] = v + 1;
          if (j > 0) nb[m++] = v - nx;
          if (j < ny - 1) nb[m++] = v + nx;
          if (k > 0) nb[m++] = v - plane;
          if (k < nz - 1) nb[m++] = v + plane;
          for (int e = 0; e < m; e++)
            if (lab[nb[e]] != 0 && comp[nb[e]] == 0)
              {
                comp[nb[e]] = id;
                g_array_append_val (stack, nb[e]);
              }
        }
      g_array_append_val (sizes, size);
    }
  st->components = (int) sizes->len - 1;
  for (guint c = 1; c < sizes->len; c++)
    if (g_array_index (sizes, gsize, c) < (gsize) min_voxels)
      st->components_dropped++;
  if (st->components_dropped == 0)
    return TRUE;
  for (gsize v = 0; v < n; v++)
    if (comp[v] != 0 && g_array_index (sizes, gsize, comp[v]) < (gsize) min_voxels)
      {
        lab[v] = 0;
        st->voxels_dropped++;
      }
  return TRUE;
}

gboolean
ns_postprocess_apply (NsLabelMap *labels, const NsPostprocessParams *p,
                      NsPostprocessStats *stats, GError **error)
{
  g_return_val_if_fail (labels != NULL && p != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  NsPostprocessStats st = { 0 };
  if (!check_params (p, error))
    return FALSE;
  if (p->min_component_voxels > 0
      && !drop_small_components (labels, p->min_component_voxels, &st, error))
    return FALSE;
  if (p->small_label > 0 && p->small_label_below > 0)
    {
      gsize n = ns_grid_n_voxels (&labels->grid);
      guint8 *lab = labels->labels;
      for (gsize v = 0; v < n; v++)
        st.small_label_voxels += lab[v] == p->small_label;
      if (st.small_label_voxels > 0 && st.small_label_voxels < (gsize) p->small_label_below)
        {
          for (gsize v = 0; v < n; v++)
            if (lab[v] == p->small_label)
              lab[v] = (guint8) p->small_label_to;
          st.relabelled = TRUE;
        }
    }
  if (stats != NULL)
    *stats = st;
  return TRUE;
}
