/* SPDX-License-Identifier: MIT
 *
 * ns-layer-panel.h: the layer list beside the views: which modality is shown, its
 * window/level, and the label overlay (visibility, opacity, fill/outline, and per class
 * visibility and colour).  It edits the NsViewer; the views follow.
 */
#pragma once

#include <gtk/gtk.h>

#include "ns-viewer.h"

G_BEGIN_DECLS

#define NS_TYPE_LAYER_PANEL (ns_layer_panel_get_type ())

G_DECLARE_FINAL_TYPE (NsLayerPanel, ns_layer_panel, NS, LAYER_PANEL, GtkBox)

NsViewer      *ns_layer_panel_get_viewer              (NsLayerPanel *self);
void           ns_layer_panel_set_viewer              (NsLayerPanel *self, NsViewer *viewer);
/* The visibility check button and the colour button of label value (NULL when the list
 * has no such class). */
GtkWidget     *ns_layer_panel_get_label_check         (NsLayerPanel *self, guint8 value);
GtkWidget     *ns_layer_panel_get_label_colour_button (NsLayerPanel *self, guint8 value);
/* The line under Labels saying what they are (a file, a model's prediction). */
const char    *ns_layer_panel_get_labels_source_text  (NsLayerPanel *self);
/* The uncertainty overlay's legend, shown while the overlay is (the viewer's
 * "show-heat"). */
GtkWidget     *ns_layer_panel_get_heat_legend         (NsLayerPanel *self);
/* The overlay opacity slider's adjustment (bound to the viewer's "opacity"). */
GtkAdjustment *ns_layer_panel_get_opacity_adjustment  (NsLayerPanel *self);

G_END_DECLS
