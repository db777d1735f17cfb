/* SPDX-License-Identifier: MIT
 *
 * ns-postprocess.h: the two clean-ups that BraTS entries apply to a predicted label map
 * (nnU-Net's BraTS recipe, Isensee et al. 2020), as one pure function on a label map:
 *
 * 1. Small components dropped: connected components (6-connectivity, in voxels) of the
 *    tumour (every label that is not 0) smaller than min_component_voxels become
 *    background.  A speck far from the tumour is a false positive that costs a whole
 *    case's Dice when the truth has no tumour there.
 * 2. Small label relabelled: when the label `small_label` (BraTS: 4, enhancing tumour)
 *    covers fewer than small_label_below voxels in the whole volume, all of it becomes
 *    `small_label_to` (BraTS: 1, necrosis / non-enhancing core).  A low-grade glioma
 *    without enhancement scores ET Dice 0 for a single predicted enhancing voxel and 1
 *    for none (the BraTS convention), so a few predicted voxels are more likely wrong
 *    than right; the threshold is chosen on training folds (docs/quality.md).
 *
 * Both run in that order; a parameter of 0 switches its step off.
 */
#pragma once

#include "ns-volume.h"

G_BEGIN_DECLS

typedef struct
{
  int min_component_voxels;   /* tumour components below this become 0; 0: off */
  int small_label;            /* label value to relabel when small (BraTS: 4); 0: off */
  int small_label_below;      /* ... when it has fewer voxels than this */
  int small_label_to;         /* ... into this label value (BraTS: 1) */
} NsPostprocessParams;

typedef struct
{
  int components;             /* tumour components found */
  int components_dropped;
  gsize voxels_dropped;
  gsize small_label_voxels;   /* voxels of small_label after step 1 */
  gboolean relabelled;        /* step 2 fired */
} NsPostprocessStats;

/* Whether p does anything. */
gboolean ns_postprocess_is_active (const NsPostprocessParams *p);

/* Applies p to labels in place.  stats (nullable) says what changed.  FALSE +
 * NS_DATA_ERROR_INVALID for negative parameters or a label outside 1..255;
 * NS_DATA_ERROR_INVALID when memory for the component labelling runs out. */
gboolean ns_postprocess_apply     (NsLabelMap *labels, const NsPostprocessParams *p,
                                   NsPostprocessStats *stats, GError **error);

G_END_DECLS
