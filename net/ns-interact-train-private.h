/* SPDX-License-Identifier: MIT
 *
 * ns-interact-train-private.h: what the trainer asks of the interactive engine.
 */
#pragma once

#include "ns-dataset.h"
#include "ns-interact.h"
#include "ns-model.h"

G_BEGIN_DECLS

/* The training batch of an interactive model (ns-interact-train.c) from a segmentation
 * batch of the dataset (images (n, c, h, w), labels (n, 1, h, w) as BraTS class indices
 * 0..3 of ns_model_meta_new_default, no context; starts, when not NULL, likewise):
 * images (n, c + 3, h, w) and labels (n, 1, h, w) holding 0/1, the target region.
 * model: the interactive model being trained (its no-gradient rounds leave it in INFER
 * mode).  A pure function of (batch, seed, the model's parameters). */
gboolean _ns_interact_make_batch (NsModel *model, const NsBatch *batch, guint64 seed,
                                  float *images, float *labels, GError **error);

/* The start of training item b of batch `index` (ns-interact-train.c, steps 1 to 3): the
 * region drawn for it, from classes (w x h BraTS class indices), into target (0/1); the
 * mask it is shown into prior (0/1), drawn from predicted (the case's automatic
 * prediction, class indices likewise; nullable) or made; its simulated clicks appended
 * to clicks (NsClick). */
gboolean _ns_interact_train_start (const float *classes, const float *predicted, int w,
                                   int h, guint64 seed, guint64 index, int b, guint8 *target,
                                   guint8 *prior, GArray *clicks, GError **error);

/* The network input of one training item (n_image + 3, h, w) into out: the item's image
 * planes (w x h, the dataset's crop), its current mask (prior, 0/1) and its clicks (on
 * axis 2, slice 0 of the crop's grid, 1 mm voxels) drawn as discs.  The one packing of
 * the trainer, which the tests compare with the engine's (_ns_interact_session_pack). */
void     _ns_interact_train_pack (float *out, int n_image, const float *const *image, int w,
                                  int h, const guint8 *prior, const NsClick *clicks,
                                  int n_clicks);

G_END_DECLS
