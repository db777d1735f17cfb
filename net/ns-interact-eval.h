/* SPDX-License-Identifier: MIT
 *
 * ns-interact-eval.h: the simulated-click protocol of interactive segmentation, as the
 * literature measures it (RITM, nnInteractive): for each region (WT, TC, ET) separately,
 * from the automatic prediction, the simulated user places each next click at the centre
 * of the largest 3-D error region (ns-interact-private.h), on the axial slice (voxel axis
 * 2) through it; the interactive model corrects that slice (run_slice) and the change is
 * propagated to its neighbours; the region's Dice against the truth is taken after 0, 1,
 * ..., N clicks.  NoC@90: the clicks it took to reach Dice 0.90, N when it was not
 * reached (capped at N), 0 when the start was there already.
 *
 * The brush baseline (options.brush): the same placement, but each click is a brush dab
 * of radius brush_radius_mm on that slice (the editor's default 3 mm) that sets the
 * region there (positive) or clears it (negative): what a person with the brush does.
 */
#pragma once

#include <gio/gio.h>

#include "ns-interact.h"

G_BEGIN_DECLS

#define NS_INTERACT_EVAL_MAX_CLICKS 100

typedef struct
{
  int clicks;                 /* per region, 0..NS_INTERACT_EVAL_MAX_CLICKS */
  gboolean brush;             /* brush dabs instead of the model (model may be NULL) */
  double brush_radius_mm;     /* <= 0: 3 mm */
  gboolean no_propagate;      /* only the clicked slice changes */
  GCancellable *cancellable;  /* nullable */
} NsInteractEvalOptions;

typedef struct
{
  int clicks;
  double dice[NS_N_REGIONS][NS_INTERACT_EVAL_MAX_CLICKS + 1]; /* [region][k clicks] */
  int noc90[NS_N_REGIONS];
  int clicks_placed;           /* clicks actually placed, all regions (a region that is
                                * right already gets none) */
  double ms_per_click_p50;     /* the clicked slice's answer (run_slice), milliseconds */
  double ms_per_click_p95;
  double ms_propagate_p50;     /* the propagation after a click */
  double ms_propagate_p95;
} NsInteractEvalResult;

/* Runs the protocol on ncase (its images; its own labels are not used) from start (the
 * automatic prediction) against truth, both BraTS 2017+ label maps on the case's grid.
 * model: an interactive model (NULL only with options->brush). */
gboolean ns_interact_eval_run (NsModel *model, NsCase *ncase, const NsLabelMap *start,
                               const NsLabelMap *truth, const NsInteractEvalOptions *options,
                               NsInteractEvalResult *result, GError **error);

G_END_DECLS
