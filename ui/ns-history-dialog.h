/* SPDX-License-Identifier: MIT
 *
 * ns-history-dialog.h: Edit > History: the mask's undo history as a list.  Row r is the
 * state with the first r entries applied (row 0: the mask as opened); activating a row
 * undoes or redoes to there.  It follows its editor: rebuilt whenever the history or the
 * document changes.  Escape closes it.
 */
#pragma once

#include <gtk/gtk.h>

#include "ns-editor.h"

G_BEGIN_DECLS

#define NS_TYPE_HISTORY_DIALOG (ns_history_dialog_get_type ())

G_DECLARE_FINAL_TYPE (NsHistoryDialog, ns_history_dialog, NS, HISTORY_DIALOG, GtkWindow)

NsHistoryDialog *ns_history_dialog_new      (GtkWindow *parent, NsEditor *editor);
/* The list (row r: r entries applied). */
GtkListBox      *ns_history_dialog_get_list (NsHistoryDialog *self);

G_END_DECLS
