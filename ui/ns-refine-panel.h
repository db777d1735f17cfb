/* SPDX-License-Identifier: MIT
 *
 * ns-refine-panel.h: the Refine tool's options in the side bar, shown while the tool is
 * chosen: the region it corrects (from the selected label, or WT, TC, ET), what it does
 * now or why it cannot run (no interactive model, no case), and Apply and Discard.
 */
#pragma once

#include <gtk/gtk.h>

#include "ns-refine.h"

G_BEGIN_DECLS

#define NS_TYPE_REFINE_PANEL (ns_refine_panel_get_type ())

G_DECLARE_FINAL_TYPE (NsRefinePanel, ns_refine_panel, NS, REFINE_PANEL, GtkBox)

GtkWidget *ns_refine_panel_new (NsRefine *refine);

G_END_DECLS
