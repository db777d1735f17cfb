/* SPDX-License-Identifier: MIT
 *
 * ns-tool-panel.h: the tool palette of the side bar: the editing tools (navigate, brush,
 * eraser, fill, label picker), the brush (shape, radius in mm, 2-D or 3-D), the paint
 * rule (all labels, only background, only over one label), the intensity limit and the
 * fill bound and the fill guard (and its question when it refuses a fill), the label
 * palette (active label, lock per label, "Add Label…"), and the cleanup tools
 * (ns-cleanup-panel.h).
 * Everything is bound to an NsEditor; the tool buttons use the window's edit.tool action.
 */
#pragma once

#include <gtk/gtk.h>

#include "ns-editor.h"

G_BEGIN_DECLS

#define NS_TYPE_TOOL_PANEL (ns_tool_panel_get_type ())

G_DECLARE_FINAL_TYPE (NsToolPanel, ns_tool_panel, NS, TOOL_PANEL, GtkBox)

GtkWidget *ns_tool_panel_new        (NsEditor *editor);
NsEditor  *ns_tool_panel_get_editor (NsToolPanel *self);
/* The fill guard's question dialog while it is shown, else NULL (for tests). */
GtkWidget *ns_tool_panel_get_fill_question (NsToolPanel *self);
/* The row of label value in the palette (NULL when none), for tests. */
GtkWidget *ns_tool_panel_get_label_row (NsToolPanel *self, guint8 value);

G_END_DECLS
