/* SPDX-License-Identifier: MIT
 *
 * ns-postprocess.c: small tumour components dropped and a small label relabelled (see
 * ns-postprocess.h).
 *
 * Components: ns_components_label over the voxels whose label is not 0 (6-connected), then
 * one pass clears the small ones.
 */
#define G_LOG_DOMAIN "neuroseg-data"

#include "ns-postprocess.h"

#include "ns-components.h"
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
  const gsize n = ns_grid_n_voxels (&labels->grid);
  guint8 *lab = labels->labels;
  g_autoptr (GArray) sizes = g_array_new (FALSE, FALSE, sizeof (guint64));
  g_autoptr (GError) local = NULL;
  g_autofree guint32 *comp = ns_components_label (lab, labels->grid.dim, NS_COMPONENTS_NONZERO,
                                                  sizes, &local);
  if (comp == NULL)
    {
      g_set_error (error, NS_DATA_ERROR, NS_DATA_ERROR_INVALID, "post-processing: %s",
                   local->message);
      return FALSE;
    }
  st->components = (int) sizes->len;
  for (guint c = 0; c < sizes->len; c++)
    if (g_array_index (sizes, guint64, c) < (guint64) min_voxels)
      st->components_dropped++;
  if (st->components_dropped == 0)
    return TRUE;
  for (gsize v = 0; v < n; v++)
    if (comp[v] != 0 && g_array_index (sizes, guint64, comp[v] - 1) < (guint64) min_voxels)
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
