/* SPDX-License-Identifier: MIT
 *
 * ns-metrics.h: segmentation metrics of a predicted label map against a truth on the
 * same grid: Dice, the 95th-percentile Hausdorff distance in mm, volumes in mL, voxel
 * counts, sensitivity and specificity, per BraTS label and for the regions
 * WT = {1,2,3,4}, TC = {1,3,4}, ET = {4}.
 *
 * Definitions (the same as MedPy's `dc` and `hd95`, which the BraTS evaluations use):
 *
 * - Dice = 2 |P ∩ T| / (|P| + |T|); both empty gives 1.
 * - The surface of a region is its voxels that have at least one of their six face
 *   neighbours outside the region; voxels on the edge of the grid count as surface
 *   (outside the grid is background, as scipy's binary_erosion with border_value 0).
 * - The directed surface distances from P to T are, for every surface voxel of P, the
 *   Euclidean distance in mm (voxel centres, scaled by the voxel spacing, which may
 *   differ per axis) to the nearest surface voxel of T.
 * - HD95 is the 95th percentile of the two directed sets pooled together (P to T and
 *   T to P, n values in all), with linear interpolation between closest ranks (numpy's
 *   default): sort the values x[0] <= ... <= x[n-1], h = 0.95 (n - 1), and
 *   HD95 = x[floor h] + (h - floor h) (x[floor h + 1] - x[floor h]).
 * - Both regions empty: HD95 = 0.  Exactly one empty: HD95 = +infinity (a distance to
 *   nothing is undefined; it is never replaced by a made-up number; the command line
 *   prints "inf" and JSON null).
 *
 * Distances come from an exact Euclidean distance transform (Felzenszwalb and
 * Huttenlocher's separable lower envelope of parabolas, with the spacing of each axis),
 * computed only inside the bounding box of the two regions, which is exact because every
 * surface voxel lies inside it.  It costs O(voxels of the box) per region and side.
 */
#pragma once

#include "ns-volume.h"

#include <glib.h>

G_BEGIN_DECLS

/* At most 4 labels (1, 2, 3, 4) and 3 regions (WT, TC, ET). */
#define NS_METRICS_MAX_ROWS 7

typedef struct
{
  const char *name;         /* "1", "2", "3", "4", "WT", "TC" or "ET" (static string) */
  const char *description;  /* "NCR/NET", "edema", ..., "whole tumour" (static string) */
  guint labels;             /* bit l is set for each label value l in the row */
  gboolean is_region;       /* FALSE for a single label, TRUE for WT, TC, ET */

  guint64 n_pred;           /* voxels in the prediction */
  guint64 n_truth;          /* voxels in the truth */
  guint64 n_overlap;        /* voxels in both */
  double dice;              /* 1 when both are empty */
  double hd95_mm;           /* 0 when both are empty, +INFINITY when one is */
  double volume_pred_ml;    /* n_pred x voxel volume */
  double volume_truth_ml;
  double sensitivity;       /* n_overlap / n_truth; NAN when the truth is empty */
  double specificity;       /* true negatives / truth negatives; NAN when there are none */
} NsMetricsRow;

typedef struct
{
  guint n_rows;
  /* Labels 1, 2, 3 (only when either map holds a 3), 4, then WT, TC, ET. */
  NsMetricsRow rows[NS_METRICS_MAX_ROWS];
} NsMetrics;

/* Evaluates pred against truth.  Both must be on the same grid (ns_grid_equal) and hold
 * only labels 0..4; otherwise NS_DATA_ERROR_GRID_MISMATCH naming both files, or
 * NS_DATA_ERROR_BAD_LABELS naming the file and the value.  Labels 3 (BraTS 2015
 * non-enhancing) are evaluated as they are: map the scheme first to merge them. */
gboolean     ns_metrics_evaluate        (const NsLabelMap *pred, const NsLabelMap *truth,
                                         NsMetrics *out, GError **error);
/* The row named name ("4", "WT", ...) or NULL. */
const NsMetricsRow *ns_metrics_find_row (const NsMetrics *metrics, const char *name);

/* The effort a correction took (the fine-tuning queue sorts by it): the WT Dice between
 * the model's prediction and the corrected mask, and the number of voxels whose label
 * differs.  Both on one grid with labels 0..4; errors as ns_metrics_evaluate. */
gboolean     ns_metrics_effort          (const NsLabelMap *prediction, const NsLabelMap *mask,
                                         double *wt_dice, gint64 *edited_voxels,
                                         GError **error);

/* 2 n_overlap / (n_pred + n_truth); 1 when both are empty. */
double       ns_metrics_dice            (guint64 n_pred, guint64 n_truth, guint64 n_overlap);

/* HD95 (definition above) between two binary masks (nonzero = inside) of dims and
 * spacing.  FALSE and NS_DATA_ERROR_TOO_LARGE only when memory runs out. */
gboolean     ns_metrics_hd95            (const guint8 *pred, const guint8 *truth,
                                         const int dims[3], const double spacing[3],
                                         double *hd95_mm, GError **error);

/* Appends to distances (a GArray of double) the directed surface distances in mm from
 * each surface voxel of from to the nearest surface voxel of to, in voxel order of from.
 * Appends nothing when from is empty and +INFINITY for each surface voxel of from when
 * to is empty. */
gboolean     ns_metrics_surface_distances (const guint8 *from, const guint8 *to,
                                           const int dims[3], const double spacing[3],
                                           GArray *distances, GError **error);

/* Marks in surface (1 or 0, dims voxels) the surface voxels of mask.  Returns their number. */
gsize        ns_metrics_surface         (const guint8 *mask, const int dims[3],
                                         guint8 *surface);

/* Squared Euclidean distance transform: dist_sq[v] = min over voxels u with mask[u] != 0
 * of sum_d (spacing[d] (v_d - u_d))^2, in mm^2; +INFINITY everywhere when mask is empty.
 * Exact (Felzenszwalb-Huttenlocher), O(voxels).  dist_sq holds dims voxels. */
gboolean     ns_metrics_distance_transform_sq (const guint8 *mask, const int dims[3],
                                               const double spacing[3], double *dist_sq,
                                               GError **error);

/* The percent-th percentile (0..100) of n values with numpy's default linear
 * interpolation.  Sorts values in place.  NAN when n is 0. */
double       ns_metrics_percentile      (double *values, gsize n, double percent);

G_END_DECLS
