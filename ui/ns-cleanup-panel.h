/* SPDX-License-Identifier: MIT
 *
 * ns-cleanup-panel.h: the "Cleanup" section of the tool palette: the cleanup tools of
 * ns-editor-cleanup.h (threshold, margin, grow from seeds, smoothing, islands, logical
 * operations) on the active label, each with its parameters, one Apply button and a status
 * line saying what the last one did (or why it failed), in an expander (collapsed at
 * first; a tool's key opens it).
 *
 * Keyboard: Shift+T threshold, Shift+G margin (grow/shrink), Shift+R grow from seeds,
 * Shift+S smooth, Shift+I islands, Shift+L logical operation: each selects that tool and
 * applies it with the parameters shown (the action cleanup.apply, its parameter the tool's
 * name; "" applies the tool selected).  The shortcuts work anywhere in the window (global
 * scope) except while a text field has the focus and takes the key.
 */
#pragma once

#include <gtk/gtk.h>

#include "ns-editor.h"

G_BEGIN_DECLS

#define NS_TYPE_CLEANUP_PANEL (ns_cleanup_panel_get_type ())

G_DECLARE_FINAL_TYPE (NsCleanupPanel, ns_cleanup_panel, NS, CLEANUP_PANEL, GtkBox)

GtkWidget  *ns_cleanup_panel_new        (NsEditor *editor);
/* What the status line says now (borrowed), for tests. */
const char *ns_cleanup_panel_get_status (NsCleanupPanel *self);

G_END_DECLS
