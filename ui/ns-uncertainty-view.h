/* SPDX-License-Identifier: MIT
 *
 * ns-uncertainty-view.h: Segmentation > Show Uncertainty: the axial slice at the viewer's
 * cursor with the entropy map of the runner's last prediction over it (viridis, see
 * ns-heat-legend.h), redrawn when the cursor, the display or the prediction changes
 * (ns-uncertainty-window.h shows it).
 */
#pragma once

#include <gtk/gtk.h>

#include "ns-model-runner.h"
#include "ns-viewer.h"

G_BEGIN_DECLS

/* The slice as an RGB24 surface (for tests and screenshots); NULL + error when the last
 * prediction is not of the case shown. */
cairo_surface_t *ns_uncertainty_view_render (NsViewer *viewer, NsModelRunner *runner,
                                             GError **error);

#define NS_TYPE_UNCERTAINTY_VIEW (ns_uncertainty_view_get_type ())

G_DECLARE_FINAL_TYPE (NsUncertaintyView, ns_uncertainty_view, NS, UNCERTAINTY_VIEW, GtkWidget)

GtkWidget *ns_uncertainty_view_new (NsViewer *viewer, NsModelRunner *runner);
void       ns_uncertainty_view_set_source (NsUncertaintyView *self, NsViewer *viewer,
                                           NsModelRunner *runner);

G_END_DECLS
