/* SPDX-License-Identifier: MIT
 *
 * ns-label-ops.h: the cleanup tools of the segment editor, whole-label operations on an
 * NsLabelMap (issue 17, part 3): threshold (a range or Otsu's) inside a region, margin
 * (grow or shrink by N mm), grow from seeds (a tolerance learned from them), smoothing
 * (median, opening then closing, Gaussian), islands (keep the largest, keep the one at a
 * voxel, split into labels; removing the small ones is ns_edit_remove_islands()), lasso
 * and scissors (inside an outline, on a slice or through the volume), logical operations
 * of a label with a region (copy, add, subtract, intersect), and the guard of the flood
 * fill.
 *
 * Like the tools of ns-edit.h, each edits the map in place and returns the NsEditChange it
 * made, named for the history (NULL only with an error; an empty change when nothing
 * changed), so undo, the crash journal and recovery treat them as any brush stroke.
 *
 * Locks and paint rules: the label worked on is rule->label.  A voxel is given that label
 * only where ns_paint_rule_allows() says so (locks, "paint over", intensity limits, which
 * need image); a voxel of that label is cleared (set to 0) only when the label is not
 * locked.  An operation that only clears (shrink, keep an island, intersect...) on a
 * locked label changes nothing.
 *
 * Distances are Euclidean in mm on the grid's spacing (exact distance transforms,
 * ns_metrics_distance_transform_sq()), so a margin of 2 mm on a 1 x 1 x 3 mm grid is a
 * ball of 2 mm, not 2 voxels along each axis.  Connectivity of islands is 6 (faces), as
 * in ns_edit_remove_islands().
 */
#pragma once

#include "ns-edit.h"

G_BEGIN_DECLS

/* ---- operands (regions) ---------------------------------------------------------------------- */

typedef enum
{
  NS_OPERAND_BRAIN,/* image voxels != the background value (ns-normalize.h) */
  NS_OPERAND_LABEL,/* the voxels of one label */
  NS_OPERAND_WT,              /* whole tumour: labels 1, 2, 3, 4 */
  NS_OPERAND_TC,              /* tumour core: 1, 3, 4 */
  NS_OPERAND_ET,              /* enhancing tumour: 4 */
  NS_OPERAND_ALL,             /* the whole volume */
} NsOperandKind;

/* A mask (1 inside, 0 outside; ns_grid_n_voxels() bytes, g_free()) of the region: the
 * brain of image (NS_OPERAND_BRAIN needs image), or the voxels of map in label (for
 * NS_OPERAND_LABEL) or in the BraTS region.  n_inside (may be NULL) receives its voxels. */
guint8       *ns_label_ops_dup_region    (const NsLabelMap *map, const NsVolume *image,
                                          NsOperandKind kind, guint8 label, gsize *n_inside,
                                          GError **error);

/* ---- threshold ---------------------------------------------------------------------------- */

/* Otsu's threshold (1979) of image's intensities inside region (NULL: every voxel): of a
 * 256-bin histogram over the region's range, the bin edge that maximises the between-class
 * variance.  Voxels >= *threshold are the bright class.  Fails on an empty region and on a
 * constant one (no threshold separates anything). */
gboolean      ns_label_ops_otsu          (const NsVolume *image, const guint8 *region,
                                          double *threshold, GError **error);
/* Paints rule->label on every voxel inside region (NULL: every voxel) where
 * lo <= image <= hi.  Other voxels keep their labels.  "Threshold". */
NsEditChange *ns_label_ops_threshold     (NsLabelMap *map, const NsVolume *image,
                                          const guint8 *region, double lo, double hi,
                                          const NsPaintRule *rule, GError **error);

/* ---- margin and smoothing ----------------------------------------------------------------- */

/* Grows (margin_mm > 0: every voxel whose centre is within margin_mm of a voxel of the
 * label gets it) or shrinks (margin_mm < 0: every voxel of the label within |margin_mm| of
 * a voxel of another label is cleared) rule->label.  The volume's edge is not a boundary.
 * "Grow 2 mm" / "Shrink 2 mm". */
NsEditChange *ns_label_ops_margin        (NsLabelMap *map, const NsVolume *image,
                                          double margin_mm, const NsPaintRule *rule,
                                          GError **error);

typedef enum
{
  NS_SMOOTH_MEDIAN,           /* majority in a ball of radius strength mm */
  NS_SMOOTH_OPEN_CLOSE,       /* opening then closing by a ball of radius strength mm */
  NS_SMOOTH_GAUSSIAN,         /* Gaussian of sigma strength mm, kept where >= 0.5 */
} NsSmoothMethod;

/* "median", "open-close", "gaussian". */
const char   *ns_smooth_method_to_string (NsSmoothMethod method);

/* Smooths the shape of rule->label: voxels the smoothed shape gains get the label (paint
 * rules), voxels it loses are cleared.  "Smooth (median 1 mm)". */
NsEditChange *ns_label_ops_smooth        (NsLabelMap *map, const NsVolume *image,
                                          NsSmoothMethod method, double strength_mm,
                                          const NsPaintRule *rule, GError **error);

/* ---- grow from seeds ---------------------------------------------------------------------- */

/* Region growing from the voxels of rule->label, the seeds (a few brush strokes), with a
 * tolerance learned from them (Slicer's "grow from seeds", ITK-SNAP's adaptive brush): the
 * image's mean m and standard deviation s over the seeds give [m - k_sigma s, m + k_sigma s];
 * the voxels 6-connected to the seeds through voxels in that range, no farther than max_mm
 * (Euclidean) from a seed, and allowed by the rule, get the label.  A voxel the rule does
 * not allow stops the growth.  lo and hi (may be NULL) receive the range used.  An empty
 * change when the label has no voxel.  "Grow from seeds". */
NsEditChange *ns_label_ops_grow_from_seeds (NsLabelMap *map, const NsVolume *image,
                                            double k_sigma, double max_mm,
                                            const NsPaintRule *rule, double *lo, double *hi,
                                            GError **error);

/* ---- islands ------------------------------------------------------------------------------ */

/* Clears every 6-connected part of rule->label but the largest (the first in voxel order
 * among equals).  "Keep largest island". */
NsEditChange *ns_label_ops_keep_largest  (NsLabelMap *map, const NsPaintRule *rule,
                                          GError **error);
/* Clears every part of the label of voxel ijk but the one holding ijk (the label is the
 * one there, not rule->label).  Empty when ijk is background or outside.  "Keep island". */
NsEditChange *ns_label_ops_keep_island_at (NsLabelMap *map, const int ijk[3],
                                           const NsPaintRule *rule, GError **error);
/* Gives each part of rule->label but the largest a label of its own, by decreasing size:
 * the smallest values 1..255 that are neither in the map nor taken[v] != 0 (taken may be
 * NULL: the label table's values, so that a part never joins an existing label).  Fails
 * (nothing changed) when there are not enough free values.  new_values (may be NULL)
 * receives the values given (guint8), in order.  "Split islands". */
NsEditChange *ns_label_ops_split_islands (NsLabelMap *map, const guint8 taken[256],
                                          const NsPaintRule *rule, GArray *new_values,
                                          GError **error);

/* ---- lasso and scissors ------------------------------------------------------------------- */

/* Paints rule->label (0: erases, the scissors) inside a closed outline drawn on a slice:
 * points are n continuous voxel coordinates (x, y, z triples, as a slice view gives them
 * for the pointer), on the slice normal to plane_axis through the first point; a voxel is
 * inside when its centre is (even-odd rule, the outline closed from the last point to the
 * first).  through: on every slice along plane_axis (through the volume along the view
 * direction), else on that slice only.  "Lasso" or "Scissors" (label 0); an empty change
 * for fewer than 3 points. */
NsEditChange *ns_label_ops_polygon       (NsLabelMap *map, const NsVolume *image,
                                          int plane_axis, const double *points, guint n,
                                          gboolean through, const NsPaintRule *rule,
                                          GError **error);

/* ---- logical operations ------------------------------------------------------------------- */

typedef enum
{
  NS_LOGIC_COPY,              /* the label becomes the operand: cleared outside, set inside */
  NS_LOGIC_ADD,               /* set inside the operand (union) */
  NS_LOGIC_SUBTRACT,          /* cleared inside the operand */
  NS_LOGIC_INTERSECT,         /* cleared outside the operand */
} NsLogicOp;

/* "copy", "add", "subtract", "intersect"; and the history names "Copy", ... */
const char   *ns_logic_op_to_string      (NsLogicOp op);
/* rule->label combined with operand (a mask of the map's voxels, e.g. from
 * ns_label_ops_dup_region()). */
NsEditChange *ns_label_ops_logical       (NsLabelMap *map, const NsVolume *image, NsLogicOp op,
                                          const guint8 *operand, const NsPaintRule *rule,
                                          GError **error);

/* ---- the fill guard ----------------------------------------------------------------------- */

/* Whether a 2-D fill (fill, made on the slice normal to plane_axis of map) went too far:
 * 1 % or more of its voxels lie outside brain (a mask; NULL: no brain check; a few
 * background-valued voxels inside the brain are not air), or it covers more than
 * max_fraction (0 < f <= 1; > 1: no check) of the slice.  reason (may be NULL) receives
 * why, in words, for the question the editor asks.  The editor undoes the fill and asks. */
gboolean      ns_label_ops_fill_exceeds  (const NsEditChange *fill, const NsGrid *grid,
                                          int plane_axis, const guint8 *brain,
                                          double max_fraction, char **reason);

G_END_DECLS
