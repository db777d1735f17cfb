/* SPDX-License-Identifier: MIT
 *
 * ns-heat-legend.h: the legend of the uncertainty (heat) overlay: the colour bar from 0
 * (confident) to 1 (uncertain), normalised entropy, with the part below the threshold
 * marked as not drawn; property "compact": on one line, for a status bar.  The overlay's
 * look is defined here once, for the slice views, the uncertainty window and the legend.
 */
#pragma once

#include <gtk/gtk.h>

#include "ns-render.h"

G_BEGIN_DECLS

/* Viridis over [0, 1]; transparent below the threshold (confident voxels keep the image),
 * this opaque above it so that the anatomy stays readable under it. */
#define NS_HEAT_COLORMAP NS_COLORMAP_VIRIDIS
#define NS_HEAT_THRESHOLD 0.05
#define NS_HEAT_OPACITY 0.7

#define NS_TYPE_HEAT_LEGEND (ns_heat_legend_get_type ())

G_DECLARE_FINAL_TYPE (NsHeatLegend, ns_heat_legend, NS, HEAT_LEGEND, GtkWidget)

GtkWidget *ns_heat_legend_new (void);

G_END_DECLS
