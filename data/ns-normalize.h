/* SPDX-License-Identifier: MIT
 *
 * ns-normalize.h: intensity normalisation of MRI volumes for the network: z-score inside
 * the brain.  The brain is a given mask, else the voxels whose value differs from the
 * background value, the most common value on the volume's border (0 for skull-stripped
 * BraTS 2018 images; a constant non-zero value, equal to the corner voxel, in the
 * already-normalised brats2015 images).
 */
#pragma once

#include "ns-volume.h"

G_BEGIN_DECLS

typedef struct
{
  double background;   /* the value outside the brain (the border mode) */
  double mean;         /* inside the brain, before normalisation */
  double stddev;       /* population standard deviation inside the brain */
  gsize n_brain;       /* voxels counted as brain */
} NsNormalizeStats;

/* The most common value among the voxels on the six faces of the volume (the smallest
 * such value on a tie). */
float       ns_normalize_background_value (const NsVolume *volume);

/* Voxels != the background value (1), others 0. */
NsLabelMap *ns_normalize_brain_mask       (const NsVolume *volume, GError **error);

/* A new volume: (x - mean) / stddev inside the brain, 0 outside.  brain_mask (nullable)
 * must be on the volume's grid (NS_DATA_ERROR_GRID_MISMATCH otherwise); without it, the
 * brain is ns_normalize_brain_mask().  An empty brain is NS_DATA_ERROR_INVALID; a
 * constant brain (stddev 0) is only centred.  stats (nullable) receives what was used. */
NsVolume   *ns_normalize_zscore           (const NsVolume *volume, const NsLabelMap *brain_mask,
                                           NsNormalizeStats *stats, GError **error);

/* ns_normalize_zscore() after clipping the brain's intensities to their lo_percentile and
 * hi_percentile (nearest rank below, e.g. 0.5 and 99.5: nnU-Net's robust range), so that
 * a few extreme voxels (vessels, artefacts, the raw scanner range of one source) do not
 * set the scale; mean and standard deviation are those of the clipped brain values.
 * Percentiles outside 0 <= lo < hi <= 100 are NS_DATA_ERROR_INVALID. */
NsVolume   *ns_normalize_zscore_clipped   (const NsVolume *volume, const NsLabelMap *brain_mask,
                                           double lo_percentile, double hi_percentile,
                                           NsNormalizeStats *stats, GError **error);

/* What the two z-scores do to a voxel x, found once so that it can be applied a run of
 * voxels at a time (a slice for the network) instead of to a whole float32 copy:
 * inside the brain (CLAMP (x, lo, hi) - mean) * scale, else 0.  The functions above are
 * the _transform below and ns_normalize_apply () over every voxel: one rule, the same
 * bits either way. */
typedef struct
{
  double mean;          /* of the (clipped) brain values */
  double scale;         /* 1 / stddev, 1 for a constant brain */
  float lo, hi;         /* the clipping range; -inf, +inf for the plain z-score */
  float background;     /* without a brain mask, voxels of this value are outside */
} NsNormalizeTransform;

gboolean    ns_normalize_zscore_transform (const NsVolume *volume, const NsLabelMap *brain_mask,
                                           NsNormalizeTransform *transform,
                                           NsNormalizeStats *stats, GError **error);
gboolean    ns_normalize_zscore_clipped_transform (const NsVolume *volume,
                                                   const NsLabelMap *brain_mask,
                                                   double lo_percentile, double hi_percentile,
                                                   NsNormalizeTransform *transform,
                                                   NsNormalizeStats *stats, GError **error);
/* Voxels start .. start + n - 1 of volume normalised into out; brain_mask: the one the
 * transform was found with (NULL: the background rule). */
void        ns_normalize_apply            (const NsNormalizeTransform *transform,
                                           const NsVolume *volume,
                                           const NsLabelMap *brain_mask, gsize start, gsize n,
                                           float *out);

G_END_DECLS
