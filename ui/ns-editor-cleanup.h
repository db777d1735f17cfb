/* SPDX-License-Identifier: MIT
 *
 * ns-editor-cleanup.h: the cleanup tools of the mask editor (issue 17, part 3) on the
 * active label of an NsEditor: threshold (a range or Otsu's) inside a region, margin in
 * mm, grow from seeds, smoothing, islands, logical operations with a region.  Each runs
 * the data/ tool of ns-label-ops.h with the editor's paint rule (paint over, locks) and
 * commits what it changed as one undoable, journalled history entry named by the tool
 * ("Grow 2 mm").
 *
 * Each returns FALSE with error when the tool failed (nothing changed), FALSE without
 * error when there is no document, TRUE otherwise (also when nothing needed changing:
 * then no history entry is made).
 */
#pragma once

#include "ns-editor.h"
#include "ns-label-ops.h"

G_BEGIN_DECLS

/* Paints the active label where lo <= image <= hi (the shown image) inside the operand
 * region (region_label for NS_OPERAND_LABEL).  otsu: [Otsu's threshold of the region,
 * +inf) instead of lo/hi; threshold (may be NULL) receives the lower limit used. */
gboolean ns_editor_threshold        (NsEditor *self, NsOperandKind region, guint8 region_label,
                                     gboolean otsu, double lo, double hi, double *threshold,
                                     GError **error);
/* Grows (margin_mm > 0) or shrinks the active label by |margin_mm| mm. */
gboolean ns_editor_margin           (NsEditor *self, double margin_mm, GError **error);
/* Grows the active label from its voxels (the seeds: a few strokes of the brush) into
 * neighbours within k_sigma standard deviations of the seeds' mean intensity (the shown
 * image), at most max_mm from a seed; lo and hi (may be NULL) receive the range learned. */
gboolean ns_editor_grow_from_seeds  (NsEditor *self, double k_sigma, double max_mm, double *lo,
                                     double *hi, GError **error);
gboolean ns_editor_smooth           (NsEditor *self, NsSmoothMethod method, double strength_mm,
                                     GError **error);

typedef enum
{
  NS_ISLANDS_KEEP_LARGEST,
  NS_ISLANDS_REMOVE_SMALL,    /* the parts under min_ml */
  NS_ISLANDS_SPLIT,           /* each part but the largest becomes a new label of the table */
  NS_ISLANDS_KEEP_AT_CURSOR,  /* the part under the 3-D cursor (click it, then apply) */
} NsIslandsMode;

/* The islands tool on the active label (KEEP_AT_CURSOR: on the label under the cursor). */
gboolean ns_editor_islands          (NsEditor *self, NsIslandsMode mode, double min_ml,
                                     GError **error);
/* Lasso (erase FALSE: the active label) or scissors (erase TRUE: 0) inside the closed
 * outline through points (n continuous voxel coordinates, x y z, e.g. a drag's positions
 * from ns_plane_geometry_voxel_at ()) on the slice normal to plane_axis through the first,
 * or (through) on every slice along it.  The Lasso tool of the slice views calls it at
 * the release of its drag (ns-slice-view.h). */
gboolean ns_editor_polygon          (NsEditor *self, int plane_axis, const double *points,
                                     guint n, gboolean through, gboolean erase,
                                     GError **error);
/* The active label combined with the operand region (operand_label for NS_OPERAND_LABEL). */
gboolean ns_editor_logical          (NsEditor *self, NsLogicOp op, NsOperandKind operand,
                                     guint8 operand_label, GError **error);

G_END_DECLS
