/* SPDX-License-Identifier: MIT
 *
 * ns-test-window.h: conditions on the workbench window for ns_test_wait_until () (data is
 * the NsWindow), and accessors to what it edits, shared by the in-process GUI tests.
 */
#pragma once

#include <glib.h>

#include "ns-editor.h"
#include "ns-history.h"
#include "ns-volume.h"
#include "ns-window.h"

G_BEGIN_DECLS

/* No case load is running in the window. */
gboolean ns_test_window_idle            (gpointer window);
/* The three slice views are laid out (each at least 100 pixels wide). */
gboolean ns_test_window_views_allocated (gpointer window);
/* The side-by-side views the layout shows ("compare2": 2, "compare4": 4) are laid out
 * (each shown and at least 100 pixels wide). */
gboolean ns_test_window_compare_allocated (gpointer window);

/* The window's editor (borrowed). */
NsEditor   *ns_test_window_editor          (NsWindow *window);
/* The editor's mask document (borrowed; NULL: none). */
NsMaskDoc  *ns_test_window_doc             (NsWindow *window);
/* The labels of the editor's mask document (borrowed; the document must exist). */
NsLabelMap *ns_test_window_labels          (NsWindow *window);
/* The undo history of the editor's mask document (borrowed). */
NsHistory  *ns_test_window_history         (NsWindow *window);
/* The name of the latest undoable entry of that history (asserts there is one). */
const char *ns_test_window_last_entry_name (NsWindow *window);

/* Activates the window's action (e.g. "win.undo", "edit.tool") with parameter (may be
 * NULL; a floating reference is sunk), asserting the action exists. */
void        ns_test_window_activate        (NsWindow *window, const char *action,
                                            GVariant *parameter);
/* Whether the window's action (e.g. "seg.run") is enabled, as a button bound to it shows
 * it (the button is added to the layer panel for one main-loop iteration). */
gboolean    ns_test_window_action_enabled  (NsWindow *window, const char *action);
/* How many voxels of two label maps on the same grid differ. */
gsize       ns_test_labels_n_differ        (const NsLabelMap *a, const NsLabelMap *b);

G_END_DECLS
