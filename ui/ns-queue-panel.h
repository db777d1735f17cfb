/* SPDX-License-Identifier: MIT
 *
 * ns-queue-panel.h: the fine-tuning queue (data/ns-queue.h) as a list: each case with its
 * state, effort (WT Dice between the model's prediction and the correction) and
 * uncertainty; sorted by when it was added, by uncertainty (the next case to correct
 * first: active learning) or by effort; Open, Exclude and Requeue on the selected case.
 * A team's state shows in each row: who has the case taken (claimed) since when, and the
 * review of its latest correction; Accept and Send Back (with a note) give a second
 * reader's verdict.  The list follows the database (ns-db-watch.h): what another process
 * or workstation adds, claims, reviews or uses shows without a click, the selected case
 * staying selected.  A change (Exclude, Requeue, Accept, Send Back) that cannot reach the
 * database's server is not lost: an infobar ("queue-server-bar") says what waits and why
 * (nothing was changed), it is tried again every 5 s and with Retry Now, and the list stays
 * as last read until the server is back.
 */
#pragma once

#include <gtk/gtk.h>

#include "ns-queue.h"

G_BEGIN_DECLS

#define NS_TYPE_QUEUE_PANEL (ns_queue_panel_get_type ())

G_DECLARE_FINAL_TYPE (NsQueuePanel, ns_queue_panel, NS, QUEUE_PANEL, GtkBox)

/* Signal "open-case" (const char *path): Open on a row (or a double click).  A queued case
 * is opened for correction: it is claimed first (ns-queue-session.h), and signal
 * "case-claimed" (NsQueueSession *, NULL when opened read-only or not queued) comes just
 * before "open-case"; the receiver keeps a reference while the case is open and drops it
 * (releasing the claim) when the case is closed.  A case a colleague holds asks first
 * (ns_queue_panel_get_question()): Cancel, Open Read-Only, or Take Over (destructive,
 * recorded with the previous holder). */
GtkWidget     *ns_queue_panel_new          (const char *db_path);
/* Re-reads the database; FALSE + error when it cannot be read (shown in the panel too). */
gboolean       ns_queue_panel_refresh      (NsQueuePanel *self, GError **error);
void           ns_queue_panel_set_sort     (NsQueuePanel *self, NsQueueSort sort);
guint          ns_queue_panel_get_n_rows   (NsQueuePanel *self);
/* The entry shown in row index (borrowed, valid until the next refresh). */
const NsQueueEntry *ns_queue_panel_get_entry (NsQueuePanel *self, guint index);
/* The text of row index as shown (owned), e.g. "Brats18_CBICA_ABM_1  queued  effort 0.91
 * uncertainty 0.12". */
char          *ns_queue_panel_dup_row_text (NsQueuePanel *self, guint index);
void           ns_queue_panel_select       (NsQueuePanel *self, guint index);
/* The actions on the selected row. */
gboolean       ns_queue_panel_exclude_selected (NsQueuePanel *self, GError **error);
gboolean       ns_queue_panel_requeue_selected (NsQueuePanel *self, GError **error);
/* A second reader's verdict (ACCEPTED or SENT_BACK, which needs a note) on the correction
 * the selected row shows, by the user (ns_queue_review(): refused for its author and
 * when a newer correction came in). */
gboolean       ns_queue_panel_review_selected  (NsQueuePanel *self, NsQueueReview verdict,
                                                const char *note, GError **error);
void           ns_queue_panel_open_selected    (NsQueuePanel *self);
/* The case opened last with Open Read-Only (a colleague holds it; 0: the last case opened
 * was not) and why, in words for the user: "claimed by ana on ws-7 since 09:12 today"
 * (*reason borrowed, nullable).  Valid from "case-claimed" (NULL) on, until the next Open. */
gint64         ns_queue_panel_get_read_only_case (NsQueuePanel *self, const char **reason);
/* Who holds the entry's claim and since when, in plain words: "ana on ws-7 since 09:12
 * today", "ana on ws-7 since 6 Dec 2026, 17:40" (local time; owned; NULL when nobody). */
char          *ns_queue_panel_dup_holder_text    (const NsQueueEntry *entry);
/* The "case taken" question Open put up (NULL when none is shown). */
GtkWindow     *ns_queue_panel_get_question     (NsQueuePanel *self);
/* The lease of the claims the panel makes, in seconds (0: NS_QUEUE_LEASE_DEFAULT_S). */
void           ns_queue_panel_set_lease        (NsQueuePanel *self, guint lease_s);

G_END_DECLS
