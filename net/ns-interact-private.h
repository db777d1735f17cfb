/* SPDX-License-Identifier: MIT
 *
 * ns-interact-private.h: what the interactive engine, its trainer and its evaluation
 * share: plane addressing, the network input of a box of a plane, and running the
 * interactive network on such an input.
 */
#pragma once

#include "ns-interact.h"

G_BEGIN_DECLS

/* The in-plane voxel axes of a plane normal to axis: u (fastest) and v. */
static inline void
_ns_interact_plane_axes (int axis, int *axis_u, int *axis_v)
{
  *axis_u = axis == 0 ? 1 : 0;
  *axis_v = axis == 2 ? 1 : 2;
}

/* Voxel index of (u, v) on slice `slice` of axis. */
static inline gsize
_ns_interact_voxel_index (const NsGrid *grid, int axis, int slice, int u, int v)
{
  int ijk[3], au, av;
  _ns_interact_plane_axes (axis, &au, &av);
  ijk[axis] = slice;
  ijk[au] = u;
  ijk[av] = v;
  return ns_grid_index (grid, ijk[0], ijk[1], ijk[2]);
}

/* Packs the network input of the box (u0, v0, bw, bh) of a pw x ph plane into dst
 * (n_image + 3, bh, bw): the n_image image planes, then mask, pos, neg (0/1 bytes) as
 * floats; 0 where the box leaves the plane. */
void      _ns_interact_pack        (float *dst, int n_image, const float *const *image,
                                    const guint8 *mask, const guint8 *pos, const guint8 *neg,
                                    int pw, int ph, int u0, int v0, int bw, int bh);

/* The box (u0, v0, w, h) the network sees on a plane normal to axis: the brain's
 * bounding box (lo, hi: voxels, inclusive) in that plane padded to a multiple of
 * `multiple` and centred, the crop of the trainer's dataset and of the inference engine
 * (it may leave the plane: 0 there). */
void      _ns_interact_brain_crop  (const int lo[3], const int hi[3], int axis, int multiple,
                                    int box[4]);

/* Runs the interactive model on n packed inputs (n, C, bh, bw) and writes the region
 * (logit > 0) into out (n, bh, bw) bytes 0/1.  A model in TRAIN mode is switched to
 * INFER (no gradients, running statistics). */
gboolean  _ns_interact_forward     (NsModel *model, const float *input, int n, int bw, int bh,
                                    guint8 *out, GError **error);

/* What answers for the network: input (n_image + 3, bh, bw) as _ns_interact_pack () makes
 * it, out (bh, bw) the region 0/1.  The tests' analytic oracle takes the model's place
 * through it, on the same code path (encoding, box, propagation, protocol). */
typedef gboolean (*NsInteractForwardFunc) (const float *input, int n_image, int bw, int bh,
                                           guint8 *out, gpointer data, GError **error);

/* ns_interact_session_new () with meta (the model's inputs and normalisation) and, when
 * forward is not NULL, forward in the model's place (model may then be NULL). */
NsInteractSession *_ns_interact_session_new_full (NsModel *model, const NsModelMeta *meta,
                                                  NsInteractForwardFunc forward,
                                                  gpointer forward_data, NsCase *ncase,
                                                  NsRegion region, const NsLabelMap *labels,
                                                  GError **error);

/* The network input (n_image + 3, box[3], box[2]) of slice `slice` of axis as the
 * session feeds it, with prior as the region's mask and pos, neg the click maps (planes
 * of ns_interact_plane_size); box: where it lies on the plane (_ns_interact_brain_crop).
 * Owned.  Public to the tests, which compare it with the trainer's input. */
float    *_ns_interact_session_pack (NsInteractSession *s, int axis, int slice,
                                     const guint8 *prior, const guint8 *pos, const guint8 *neg,
                                     int box[4]);

/* The simulated user (RITM / nnInteractive protocol): the next click for pred against
 * truth (0/1 bytes of a dims box, spacing in mm): in the largest connected error region
 * (6-connected; missed voxels and false voxels separately, the larger wins), at the
 * voxel farthest from the region's border (the maximum of its distance transform),
 * positive in a miss.  click->axis is set to `axis` (the slice the click is shown on),
 * voxel to that voxel.  FALSE when pred equals truth. */
gboolean  _ns_interact_next_click  (const guint8 *pred, const guint8 *truth, const int dims[3],
                                    const double spacing[3], int axis, NsClick *click,
                                    GError **error);

G_END_DECLS
