/* SPDX-License-Identifier: MIT
 *
 * ns-uncertainty-view.h: the uncertainty of the last Run Model as a heat overlay: the
 * axial slice through the viewer's cursor, the shown image with its window/level, and
 * over it the per-voxel normalised entropy of the softmax (viridis, transparent below
 * 0.05).  Follows the cursor; redraws when a run finishes.
 */
#pragma once

#include <gtk/gtk.h>

#include "ns-model-runner.h"
#include "ns-viewer.h"

G_BEGIN_DECLS

/* A GtkDrawingArea showing the heat overlay. */
GtkWidget       *ns_uncertainty_view_new    (NsViewer *viewer, NsModelRunner *runner);
/* The picture it draws, at one pixel per voxel (NULL + error without a case or without
 * an entropy map). */
cairo_surface_t *ns_uncertainty_view_render (NsViewer *viewer, NsModelRunner *runner,
                                             GError **error);

G_END_DECLS
