/* SPDX-License-Identifier: MIT
 *
 * ns-info-pane.h: the case at a glance: its name, grid, and the tumour volumes (whole
 * tumour, tumour core, enhancing tumour and each label) in mL, updated whenever the
 * viewer's labels change.
 */
#pragma once

#include <gtk/gtk.h>

#include "ns-viewer.h"

G_BEGIN_DECLS

#define NS_TYPE_INFO_PANE (ns_info_pane_get_type ())

G_DECLARE_FINAL_TYPE (NsInfoPane, ns_info_pane, NS, INFO_PANE, GtkBox)

NsViewer   *ns_info_pane_get_viewer      (NsInfoPane *self);
void        ns_info_pane_set_viewer      (NsInfoPane *self, NsViewer *viewer);
/* The text shown for a row: "WT", "TC", "ET" or a label value "1", "2", "4" (NULL when
 * there is no such row), e.g. "51.36 mL". */
const char *ns_info_pane_get_volume_text (NsInfoPane *self, const char *row);

G_END_DECLS
