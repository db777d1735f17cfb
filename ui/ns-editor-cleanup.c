/* SPDX-License-Identifier: MIT
 *
 * ns-editor-cleanup.c: the cleanup tools of the mask editor (see ns-editor-cleanup.h).
 *
 * Only the editor's public API is used: the paint rule of its settings, its document, and
 * ns_editor_commit_applied(), the one path by which an edit made here reaches the history,
 * the journal and the viewer.
 */
#define G_LOG_DOMAIN "ns-editor"

#include "ns-editor-cleanup.h"

#include <gtk/gtk.h>
#include <math.h>

/* The document's map and the rule for the active label; FALSE without a document. */
static gboolean
prepare (NsEditor *self, NsLabelMap **map, NsPaintRule *rule)
{
  NsMaskDoc *doc = ns_editor_get_doc (self);

  if (doc == NULL)
    return FALSE;
  ns_editor_stroke_end (self);
  *map = ns_mask_doc_get_map (doc);
  ns_editor_get_paint_rule (self, ns_editor_get_label (self), rule);
  return TRUE;
}

static gboolean
commit (NsEditor *self, NsEditChange *change)
{
  if (change == NULL)
    return FALSE;
  if (change->n == 0)
    {
      ns_edit_change_unref (change);
      return TRUE;
    }
  return ns_editor_commit_applied (self, change);
}

static NsVolume *
shown_image (NsEditor *self)
{
  return ns_viewer_get_shown_image (ns_editor_get_viewer (self));
}

gboolean
ns_editor_threshold (NsEditor *self, NsOperandKind region, guint8 region_label, gboolean otsu,
                     double lo, double hi, double *threshold, GError **error)
{
  NsLabelMap *map;
  NsPaintRule rule;
  NsVolume *image;
  g_autofree guint8 *mask = NULL;

  g_return_val_if_fail (NS_IS_EDITOR (self), FALSE);

  if (!prepare (self, &map, &rule))
    return FALSE;
  image = shown_image (self);
  mask = ns_label_ops_dup_region (map, image, region, region_label, NULL, error);
  if (mask == NULL)
    return FALSE;
  if (otsu)
    {
      if (!ns_label_ops_otsu (image, mask, &lo, error))
        return FALSE;
      hi = INFINITY;
    }
  if (threshold != NULL)
    *threshold = lo;
  return commit (self, ns_label_ops_threshold (map, image, mask, lo, hi, &rule, error));
}

gboolean
ns_editor_margin (NsEditor *self, double margin_mm, GError **error)
{
  NsLabelMap *map;
  NsPaintRule rule;

  g_return_val_if_fail (NS_IS_EDITOR (self), FALSE);

  if (!prepare (self, &map, &rule))
    return FALSE;
  return commit (self, ns_label_ops_margin (map, shown_image (self), margin_mm, &rule, error));
}

gboolean
ns_editor_grow_from_seeds (NsEditor *self, double k_sigma, double max_mm, double *lo,
                           double *hi, GError **error)
{
  NsLabelMap *map;
  NsPaintRule rule;

  g_return_val_if_fail (NS_IS_EDITOR (self), FALSE);

  if (!prepare (self, &map, &rule))
    return FALSE;
  return commit (self, ns_label_ops_grow_from_seeds (map, shown_image (self), k_sigma, max_mm,
                                                     &rule, lo, hi, error));
}

gboolean
ns_editor_smooth (NsEditor *self, NsSmoothMethod method, double strength_mm, GError **error)
{
  NsLabelMap *map;
  NsPaintRule rule;

  g_return_val_if_fail (NS_IS_EDITOR (self), FALSE);

  if (!prepare (self, &map, &rule))
    return FALSE;
  return commit (self, ns_label_ops_smooth (map, shown_image (self), method, strength_mm,
                                            &rule, error));
}

/* A colour for the n-th part of a split: hues a golden angle apart, bright. */
static void
part_colour (guint n, guint8 rgb[3])
{
  float c[3];

  gtk_hsv_to_rgb ((float) fmod (0.15 + n * 0.618033988749895, 1.0), 0.75f, 1.0f, &c[0], &c[1],
                  &c[2]);
  for (int a = 0; a < 3; a++)
    rgb[a] = (guint8) lroundf (255.0f * c[a]);
}

static gboolean
split (NsEditor *self, NsLabelMap *map, const NsPaintRule *rule, GError **error)
{
  NsLabelTable *table = ns_mask_doc_get_labels (ns_editor_get_doc (self));
  const NsLabelEntry *entry = ns_label_table_lookup (table, rule->label);
  g_autofree char *base = entry != NULL ? g_strdup (entry->name)
                                        : g_strdup_printf ("Label %u", rule->label);
  g_autoptr (GArray) values = g_array_new (FALSE, FALSE, sizeof (guint8));
  guint8 taken[256] = { 0 };
  NsEditChange *change;

  for (guint i = 0; i < ns_label_table_n_entries (table); i++)
    taken[ns_label_table_get_nth (table, i)->value] = 1;
  change = ns_label_ops_split_islands (map, taken, rule, values, error);
  if (change == NULL)
    return FALSE;
  /* The new labels enter the table (saved beside the mask) before the viewer redraws. */
  for (guint i = 0; i < values->len; i++)
    {
      g_autofree char *name = g_strdup_printf ("%s part %u", base, i + 2);
      guint8 rgb[3];

      part_colour (i, rgb);
      ns_editor_add_label (self, g_array_index (values, guint8, i), name, rgb);
    }
  return commit (self, change);
}

gboolean
ns_editor_islands (NsEditor *self, NsIslandsMode mode, double min_ml, GError **error)
{
  NsLabelMap *map;
  NsPaintRule rule;

  g_return_val_if_fail (NS_IS_EDITOR (self), FALSE);

  if (!prepare (self, &map, &rule))
    return FALSE;
  switch (mode)
    {
    case NS_ISLANDS_KEEP_LARGEST:
      return commit (self, ns_label_ops_keep_largest (map, &rule, error));
    case NS_ISLANDS_REMOVE_SMALL:
      return commit (self, ns_edit_remove_islands (map, rule.label, min_ml, &rule, error));
    case NS_ISLANDS_SPLIT:
      return split (self, map, &rule, error);
    case NS_ISLANDS_KEEP_AT_CURSOR:
      {
        double voxel[3];
        int ijk[3];

        ns_viewer_get_cursor (ns_editor_get_viewer (self), voxel);
        for (int a = 0; a < 3; a++)
          ijk[a] = (int) lround (voxel[a]);
        return commit (self, ns_label_ops_keep_island_at (map, ijk, &rule, error));
      }
    default:
      g_return_val_if_reached (FALSE);
    }
}

gboolean
ns_editor_polygon (NsEditor *self, int plane_axis, const double *points, guint n,
                   gboolean through, gboolean erase, GError **error)
{
  NsLabelMap *map;
  NsPaintRule rule;

  g_return_val_if_fail (NS_IS_EDITOR (self), FALSE);
  g_return_val_if_fail (plane_axis >= 0 && plane_axis < 3, FALSE);

  if (!prepare (self, &map, &rule))
    return FALSE;
  if (erase)
    ns_editor_get_paint_rule (self, 0, &rule);
  return commit (self, ns_label_ops_polygon (map, shown_image (self), plane_axis, points, n,
                                             through, &rule, error));
}

gboolean
ns_editor_logical (NsEditor *self, NsLogicOp op, NsOperandKind operand, guint8 operand_label,
                   GError **error)
{
  NsLabelMap *map;
  NsPaintRule rule;
  NsVolume *image;
  g_autofree guint8 *mask = NULL;

  g_return_val_if_fail (NS_IS_EDITOR (self), FALSE);

  if (!prepare (self, &map, &rule))
    return FALSE;
  image = shown_image (self);
  mask = ns_label_ops_dup_region (map, image, operand, operand_label, NULL, error);
  if (mask == NULL)
    return FALSE;
  return commit (self, ns_label_ops_logical (map, image, op, mask, &rule, error));
}
