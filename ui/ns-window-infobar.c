/* SPDX-License-Identifier: MIT
 *
 * ns-window-infobar.c: the window's infobars, for what must stay in view until it is
 * resolved rather than pass in the status bar:
 *
 *   - the crash journal failed (a full disk, EIO): "Edits are no longer protected:
 *     <reason>", with Save and Save As at hand.  The journal's own error is the one source
 *     of truth (ns_journal_dup_error): the bar is refreshed when the journal reports its
 *     first error, after every save and whenever the document or its history changes, and
 *     it goes exactly when the journal is whole again, i.e. after a save truncated it
 *     (ns_journal_truncate clears the error and journaling resumes).  If the disk is still
 *     full the next edit fails to be journaled again and the bar comes back at once.
 *   - what loading the case changed (NsCase.notes: DICOM series resampled onto one grid);
 *   - what the last Run Model had to do differently (the inference engine's stats.note,
 *     e.g. "the GPU failed: <reason>, finishing on the CPU", or which model it used for a
 *     case the chosen one could not take).
 * The last two are closed by the user or replaced by the next case's or run's.
 *   - the case is read-only (a queued case a colleague holds, opened to look at it): "Read
 *     only: claimed by … since …", with Take Over; shown exactly while the editor is
 *     read-only (its reason the one source), the tools insensitive and the editing
 *     actions off meanwhile; an edit that still reaches the document is refused there
 *     and said in the status bar.
 *   - the case's labels could not be read again when the editor closed (the file, why):
 *     the labels shown are kept; closed by the user.
 */
#define G_LOG_DOMAIN "ns-window"

#include "ns-window-private.h"

/* ---- the journal ------------------------------------------------------------------------- */

void
_ns_window_update_protection (NsWindow *self)
{
  NsMaskDoc *doc = self->editor != NULL ? ns_editor_get_doc (self->editor) : NULL;
  g_autoptr (GError) error = NULL;

  if (doc != NULL)
    error = ns_journal_dup_error (ns_mask_doc_get_journal (doc));
  if (error != NULL)
    {
      g_autofree char *text =
        g_strdup_printf ("Edits are no longer protected: %s. Save the mask (or Save As "
                         "elsewhere) to keep them; protection resumes after a save.",
                         error->message);

      gtk_label_set_text (self->journal_label, text);
    }
  gtk_widget_set_visible (GTK_WIDGET (self->journal_bar), error != NULL);
}

static void
journal_error_cb (NsJournal *journal, const GError *error, gpointer user_data)
{
  NsWindow *self = NS_WINDOW (user_data);

  g_message ("edits are no longer protected: %s", error->message);
  _ns_window_update_protection (self);
}

void
_ns_window_watch_journal (NsWindow *self)
{
  NsMaskDoc *doc = ns_editor_get_doc (self->editor);

  /* No destroy notify and no reference: the window closes the editor (and with it the
   * journal, which drops a report still pending) in its dispose. */
  if (doc != NULL)
    ns_journal_set_error_func (ns_mask_doc_get_journal (doc), journal_error_cb, self, NULL);
  _ns_window_update_protection (self);
}

/* ---- notes ------------------------------------------------------------------------------- */

static void
show_note (GtkInfoBar *bar, GtkLabel *label, const char *text)
{
  gboolean show = text != NULL && text[0] != '\0';

  gtk_label_set_text (label, show ? text : "");
  gtk_widget_set_visible (GTK_WIDGET (bar), show);
}

static void
note_response_cb (GtkInfoBar *bar, int response, gpointer user_data)
{
  if (response == GTK_RESPONSE_CLOSE)
    gtk_widget_set_visible (GTK_WIDGET (bar), FALSE);
}

void
_ns_window_show_case_notes (NsWindow *self)
{
  NsCase *ncase = ns_viewer_get_case (self->viewer);
  g_autofree char *text = NULL;

  if (ncase != NULL && ncase->notes != NULL && ncase->notes[0] != NULL)
    {
      g_autofree char *joined = g_strjoinv ("\n", ncase->notes);

      text = g_strdup_printf ("Loading %s changed it:\n%s", ncase->id, joined);
    }
  show_note (self->case_note_bar, self->case_note_label, text);
}

static void
run_finished_cb (NsModelRunner *runner, gboolean ok, const char *message, NsWindow *self)
{
  /* a failure is an error dialog (NsAiController); a success may carry a note */
  show_note (self->run_note_bar, self->run_note_label, ok ? message : NULL);
}

/* ---- read-only ---------------------------------------------------------------------------- */

void
_ns_window_update_read_only (NsWindow *self)
{
  const char *reason = self->editor != NULL ? ns_editor_get_read_only (self->editor) : NULL;

  if (reason != NULL)
    {
      g_autofree char *text = g_strdup_printf ("Read only: %s.  Take Over to edit.", reason);

      gtk_label_set_text (self->read_only_label, text);
    }
  gtk_widget_set_visible (GTK_WIDGET (self->read_only_bar), reason != NULL);
  if (self->tool_panel != NULL)
    gtk_widget_set_sensitive (self->tool_panel, reason == NULL);
  _ns_window_update_actions (self);
}

static void
edit_refused_cb (NsEditor *editor, const char *reason, NsWindow *self)
{
  g_autofree char *text = g_strdup_printf ("Nothing changed: read only (%s)", reason);

  _ns_window_set_message (self, text);
  _ns_window_update_read_only (self);
}

/* ---- the case's labels ------------------------------------------------------------------- */

static void
labels_unreadable_cb (NsEditor *editor, const GError *error, NsWindow *self)
{
  g_autofree char *text =
    g_strdup_printf ("The case's labels could not be read again: %s.  The labels shown are "
                     "kept as they were; save them (Save As) to keep them in a file.",
                     error->message);

  show_note (self->labels_bar, self->labels_label, text);
}

void
_ns_window_init_infobars (NsWindow *self)
{
  g_signal_connect (self->case_note_bar, "response", G_CALLBACK (note_response_cb), NULL);
  g_signal_connect (self->run_note_bar, "response", G_CALLBACK (note_response_cb), NULL);
  g_signal_connect (self->labels_bar, "response", G_CALLBACK (note_response_cb), NULL);
  g_signal_connect_object (self->editor, "notify::read-only",
                           G_CALLBACK (_ns_window_update_read_only), self, G_CONNECT_SWAPPED);
  g_signal_connect_object (self->editor, "edit-refused", G_CALLBACK (edit_refused_cb), self, 0);
  g_signal_connect_object (self->editor, "labels-unreadable", G_CALLBACK (labels_unreadable_cb),
                           self, 0);
  g_signal_connect_object (ns_ai_controller_get_runner (self->ai), "finished",
                           G_CALLBACK (run_finished_cb), self, 0);
}
