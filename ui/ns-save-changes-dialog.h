/* SPDX-License-Identifier: MIT
 *
 * ns-save-changes-dialog.h: the question a window asks before unsaved mask edits would be
 * lost (closing the window, opening another case): Save, Discard or Cancel, as one async
 * operation, the way GNOME Text Editor's editor-save-changes-dialog.c asks.  Save runs the
 * window's save, which may ask more (overwrite the case's segmentation? Save As where?);
 * Discard empties the crash journal, so that no recovery is offered for them later.
 *
 * The dialog is the window's question (ns_window_get_question()) while it is shown; its
 * responses are NS_WINDOW_RESPONSE_SAVE, NS_WINDOW_RESPONSE_DISCARD and
 * GTK_RESPONSE_CANCEL.
 */
#pragma once

#include "ns-window.h"

G_BEGIN_DECLS

typedef enum
{
  NS_SAVE_CHANGES_SAVED = 1,     /* the edits are in the mask's file */
  NS_SAVE_CHANGES_DISCARDED,     /* the user let them go */
} NsSaveChangesOutcome;

void                 ns_save_changes_dialog_run_async  (NsWindow *window, const char *primary,
                                                        const char *secondary,
                                                        GCancellable *cancellable,
                                                        GAsyncReadyCallback callback,
                                                        gpointer user_data);
/* The outcome; 0 with G_IO_ERROR_CANCELLED when the user cancelled, or with the reason
 * the save failed (the user saw it): then nothing may be closed or replaced. */
NsSaveChangesOutcome ns_save_changes_dialog_run_finish (GAsyncResult *result, GError **error);

G_END_DECLS
