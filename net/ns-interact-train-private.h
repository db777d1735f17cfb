/* SPDX-License-Identifier: MIT
 *
 * ns-interact-train-private.h: what the trainer asks of the interactive engine.
 */
#pragma once

#include "ns-dataset.h"
#include "ns-model.h"

G_BEGIN_DECLS

/* The training batch of an interactive model (ns-interact-train.c) from a segmentation
 * batch of the dataset (images (n, c, h, w), labels (n, 1, h, w) as BraTS class indices
 * 0..3 of ns_model_meta_new_default, no context): images (n, c + 3, h, w) and labels
 * (n, 1, h, w) holding 0/1, the target region.  model: the interactive model being
 * trained (its no-gradient rounds leave it in INFER mode).  A pure function of (batch,
 * seed, the model's parameters). */
gboolean _ns_interact_make_batch (NsModel *model, const NsBatch *batch, guint64 seed,
                                  float *images, float *labels, GError **error);

G_END_DECLS
