/* SPDX-License-Identifier: MIT
 *
 * ns-uncertainty-window.h: Segmentation > Show Uncertainty: the NsUncertaintyView with
 * the overlay's legend, the case's uncertainty score and a Close button; Escape closes it
 * too.
 */
#pragma once

#include <gtk/gtk.h>

#include "ns-model-runner.h"
#include "ns-viewer.h"

G_BEGIN_DECLS

#define NS_TYPE_UNCERTAINTY_WINDOW (ns_uncertainty_window_get_type ())

G_DECLARE_FINAL_TYPE (NsUncertaintyWindow, ns_uncertainty_window, NS, UNCERTAINTY_WINDOW,
                      GtkWindow)

NsUncertaintyWindow *ns_uncertainty_window_new            (GtkWindow *parent,
                                                           NsViewer *viewer,
                                                           NsModelRunner *runner);
/* The score line as shown. */
const char          *ns_uncertainty_window_get_score_text (NsUncertaintyWindow *self);

G_END_DECLS
