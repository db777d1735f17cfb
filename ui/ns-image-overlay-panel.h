/* SPDX-License-Identifier: MIT
 *
 * ns-image-overlay-panel.h: the sidebar's "Sequence overlay": which sequence of the case is
 * drawn over the shown one (or none), through which colour map and at which opacity
 * (ns_viewer_set_image_overlay ()).  The viewer holds the state; the panel shows and sets
 * it.
 */
#pragma once

#include <gtk/gtk.h>

#include "ns-viewer.h"

G_BEGIN_DECLS

#define NS_TYPE_IMAGE_OVERLAY_PANEL (ns_image_overlay_panel_get_type ())

G_DECLARE_FINAL_TYPE (NsImageOverlayPanel, ns_image_overlay_panel, NS, IMAGE_OVERLAY_PANEL,
                      GtkBox)

GtkWidget *ns_image_overlay_panel_new (NsViewer *viewer);

G_END_DECLS
