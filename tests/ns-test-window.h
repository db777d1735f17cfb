/* SPDX-License-Identifier: MIT
 *
 * ns-test-window.h: conditions on the workbench window for ns_test_wait_until () (data is
 * the NsWindow), shared by the in-process GUI tests.
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* No case load is running in the window. */
gboolean ns_test_window_idle            (gpointer window);
/* The three slice views are laid out (each at least 100 pixels wide). */
gboolean ns_test_window_views_allocated (gpointer window);
/* The side-by-side views the layout shows ("compare2": 2, "compare4": 4) are laid out
 * (each shown and at least 100 pixels wide). */
gboolean ns_test_window_compare_allocated (gpointer window);

G_END_DECLS
