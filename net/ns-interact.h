/* SPDX-License-Identifier: MIT
 *
 * ns-interact.h: interactive AI correction of one tumour region (issue 15).
 *
 * An interactive model is a 2-D segmentation network (ns-model.h, meta->n_interaction
 * = 3) whose input is, for one slice, the image channels of a segmentation model followed
 * by three interaction channels: the target region's current mask (0/1), the positive map
 * and the negative map (each click a disc of 1 of its radius in mm, in the slice's own
 * voxel grid, so anisotropic spacing gives ellipses in voxels).  Its one output (a sigmoid)
 * is the corrected region on that slice.  One model serves WT, TC and ET: the session
 * feeds the mask of the region it corrects.
 *
 * Slices.  A slice is the plane of voxels with a fixed index along one voxel axis, `axis`
 * (0: i, 1: j, 2: k; the GUI's NsPlaneGeometry.axis_n), at `slice`.  A plane buffer holds
 * the two other axes, the lower-numbered one fastest: for axis 2 (axial in BraTS) that is
 * (j, i), i fastest, exactly a plane of the label map; for axis 1, (k, i); for axis 0,
 * (k, j).  ns_interact_plane_size () gives its width (fastest) and height.
 *
 * A session works on a copy of the region: the label map given to
 * ns_interact_session_new () is read once and never written.  Corrections accumulate in
 * the session's region mask (ns_interact_session_get_mask ()); the caller turns that
 * into labels with ns_interact_apply_region (), the one rule that keeps the BraTS
 * hierarchy (ET inside TC inside WT).
 *
 * Threading: a session is used by one thread at a time (the GUI's worker thread); the
 * model too (a forward changes its activations).  run_slice and propagate check the
 * cancellable before every slice (NS_NET_ERROR_CANCELLED); a cancelled call leaves the
 * mask with the slices finished so far, each one whole.
 */
#pragma once

#include <gio/gio.h>

#include "ns-case.h"
#include "ns-labels.h"
#include "ns-model.h"
#include "ns-volume.h"

G_BEGIN_DECLS

/* The disc radius of a click when NsClick.radius_mm is <= 0, and of the model's training. */
#define NS_INTERACT_CLICK_RADIUS_MM 3.0
/* The interaction channels of an interactive model: mask, positive, negative. */
#define NS_INTERACT_N_CHANNELS 3

/* A click, or one point of a scribble. */
typedef struct
{
  int axis;              /* voxel axis normal to the slice it was made on (0, 1, 2) */
  double voxel[3];       /* continuous voxel coordinates (voxel centres at integers);
                          * voxel[axis] is rounded to the slice */
  gboolean positive;     /* TRUE: add to the region; FALSE: remove */
  double radius_mm;      /* disc radius in the slice; <= 0: NS_INTERACT_CLICK_RADIUS_MM */
} NsClick;

typedef struct _NsInteractSession NsInteractSession;

/* Width (the lower of the two in-plane voxel axes, fastest) and height of a plane
 * normal to axis. */
void      ns_interact_plane_size    (const NsGrid *grid, int axis, int *width, int *height);

/* Draws the clicks (n of them; scribble points are clicks) that lie on slice `slice` of
 * axis into two plane buffers (ns_interact_plane_size; zeroed first): a voxel is 1 in
 * pos (neg) when its centre is within radius_mm of a positive (negative) click, distances
 * in mm with the grid's spacing.  Clicks on other slices or axes draw nothing.  The
 * encoding the model sees; public for the tests and the GUI's preview of clicks. */
void      ns_interact_draw_clicks   (const NsGrid *grid, const NsClick *clicks, int n_clicks,
                                     int axis, int slice, guint8 *pos, guint8 *neg);

/* A session correcting `region` of ncase.  model: an interactive model (refused with
 * NS_NET_ERROR_FAILED naming the model otherwise); borrowed, must outlive the session.
 * ncase: must hold the model's modalities (referenced).  labels: the current label map
 * on the case's grid (BraTS 2017+ values); the region's mask is copied from it. */
NsInteractSession *ns_interact_session_new  (NsModel *model, NsCase *ncase, NsRegion region,
                                             const NsLabelMap *labels, GError **error);
void      ns_interact_session_free          (NsInteractSession *session);

NsRegion  ns_interact_session_get_region    (NsInteractSession *session);
/* The region mask, 0/1 per voxel of the case's grid (ns_grid_index order); borrowed,
 * changed by run_slice and propagate. */
const guint8 *ns_interact_session_get_mask  (NsInteractSession *session);

/* Adds a click (FALSE + NS_NET_ERROR_FAILED when it lies outside the volume or its axis
 * is not 0..2).  It takes effect at the next run_slice of its slice. */
gboolean  ns_interact_session_add_click     (NsInteractSession *session, const NsClick *click,
                                             GError **error);
/* A scribble: the stroke through points[0..n-1] (all on one slice of one axis, sign and
 * radius of points[0]), drawn as clicks every half voxel along each segment. */
gboolean  ns_interact_session_add_scribble  (NsInteractSession *session, const NsClick *points,
                                             int n_points, GError **error);
int       ns_interact_session_get_n_clicks  (NsInteractSession *session);
/* The clicks so far (n_clicks of them, scribbles as their points); borrowed. */
const NsClick *ns_interact_session_get_clicks (NsInteractSession *session);

/* Runs the model on slice `slice` of axis with the clicks on it and the current mask,
 * and writes the corrected region into the session's mask and (nullable) out_mask (a
 * plane buffer, 0/1).  The network sees the slice cut to the case's brain box (padded to
 * the model's size multiple, centred: the crop it was trained on); voxels outside it keep
 * their value, and so do changes of the network that do not follow a click: a positive
 * click only adds voxels connected (8-connected through added voxels) to its disc, a
 * negative one only removes voxels connected to its disc through removed ones; a click
 * corrects the part of the slice it touches, in its direction, and never rewrites the
 * rest.  A slice without region and clicks is left as it is. */
gboolean  ns_interact_session_run_slice     (NsInteractSession *session, int axis, int slice,
                                             guint8 *out_mask, GCancellable *cancellable,
                                             GError **error);

/* Called after each propagated slice with its corrected plane (borrowed, during the call)
 * and how many voxels changed on it. */
typedef void (*NsInteractSliceFunc) (int axis, int slice, const guint8 *plane, gsize n_changed,
                                     gpointer user_data);

/* After a correction of slice `slice` of axis (run_slice): carries the change to the
 * neighbouring slices, one direction after the other.  Slice s +- 1 gets, as its current
 * mask, its own mask with the voxels the previous slice gained added and the voxels it
 * lost removed, and the model (no clicks) corrects it; of the carried voxels it keeps
 * those the model confirms, and nothing else changes, so a change never grows from slice
 * to slice (it can only die out); propagation in that direction stops
 * when a slice changes fewer than max (5, 0.5 % of its region) voxels, at the end of the
 * volume, or after NS_INTERACT_MAX_PROPAGATE slices.  func (nullable) sees every slice. */
#define NS_INTERACT_MAX_PROPAGATE 64
gboolean  ns_interact_session_propagate     (NsInteractSession *session, int axis, int slice,
                                             NsInteractSliceFunc func, gpointer user_data,
                                             GCancellable *cancellable, GError **error);

/* Writes a region mask (0/1 per voxel of labels' grid) into a BraTS 2017+ label map,
 * changing only voxels whose membership of region differs, so that ET stays inside TC
 * inside WT:
 *   WT: added -> 2 (edema); removed -> 0.
 *   TC: added -> 1 (NCR/NET; a voxel outside WT joins it too); removed -> 2 (stays in WT).
 *   ET: added -> 4; removed -> 1 (stays in the core).
 * Returns how many voxels changed; changed (nullable, one byte per voxel) gets 1 where a
 * voxel changed. */
gsize     ns_interact_apply_region          (NsLabelMap *labels, NsRegion region,
                                             const guint8 *mask, guint8 *changed);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (NsInteractSession, ns_interact_session_free)

G_END_DECLS
