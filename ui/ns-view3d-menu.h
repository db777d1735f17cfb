/* SPDX-License-Identifier: MIT
 *
 * ns-view3d-menu.h: the 3D view's menu button (top right of the view): surfaces per label
 * or per WT / TC / ET region, the decimation level, the brain outline on or off.  Its
 * actions (group "view3d" on the view): view3d.surfaces ("labels" | "regions"),
 * view3d.decimation ("off" | "normal" | "strong"), view3d.outline (boolean).
 */
#pragma once

#include "ns-view3d.h"

G_BEGIN_DECLS

/* Installs the actions on view and returns the menu button (the view puts it over its GL
 * area). */
GtkWidget *ns_view3d_menu_new (NsView3d *view);

G_END_DECLS
