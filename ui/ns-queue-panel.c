/* SPDX-License-Identifier: MIT
 *
 * ns-queue-panel.c: the fine-tuning queue as a GtkListBox with a sort choice and the
 * Open, Exclude and Requeue buttons.
 */
#define G_LOG_DOMAIN "neuroseg-ui"

#include "ns-queue-panel.h"

#include <math.h>

#include "ns-data-error.h"
#include "ns-db-watch.h"
#include "ns-queue-session.h"

struct _NsQueuePanel
{
  GtkBox parent_instance;

  char *db_path;
  NsQueueSort sort;
  GPtrArray *entries;        /* NsQueueEntry * */
  GtkWidget *sort_choice;
  GtkWidget *list;
  GtkWidget *message;
  GtkWidget *open, *exclude, *requeue;
  GtkWidget *accept, *send_back, *note;
  GSource *watch;            /* other processes' and workstations' changes */
  guint lease_s;             /* of the claims it makes (0: the default) */
  GtkWindow *question;       /* "taken by ...: Open Read-Only / Take Over", weak */
  gint64 question_case;      /* the case it is about */
  gint64 read_only_case;     /* the case last opened read-only (0: the last one was not) */
  char *read_only_reason;    /* why, in words ("claimed by ... since ...") */
  GtkWidget *server_bar;     /* "the database cannot be reached: ... tried again" */
  GtkWidget *server_label;
  struct _PanelOp *pending;  /* the change waiting for the server (PanelOp) */
  NsQueueSession *last_session; /* the last claim it handed out, weak */
  guint retry_source;
};

/* How long one try of a change may take (the main loop waits for it), and the pause
 * between tries while the server is away. */
#define PANEL_RETRY_WINDOW_MS 2000
#define PANEL_RETRY_S 5

enum { SIGNAL_OPEN_CASE, SIGNAL_CASE_CLAIMED, N_SIGNALS };
static guint signals[N_SIGNALS];

G_DEFINE_FINAL_TYPE (NsQueuePanel, ns_queue_panel, GTK_TYPE_BOX)

/* "09:12 today", "6 Dec 2026, 17:40" (local time) from an ISO 8601 time (owned; the text
 * as it is when it is not one). */
static char *
dup_plain_time (const char *iso)
{
  g_autoptr (GTimeZone) utc = g_time_zone_new_utc ();
  g_autoptr (GDateTime) t = iso != NULL ? g_date_time_new_from_iso8601 (iso, utc) : NULL;
  g_autoptr (GDateTime) local = t != NULL ? g_date_time_to_local (t) : NULL;
  g_autoptr (GDateTime) now = g_date_time_new_now_local ();

  if (local == NULL)
    return g_strdup (iso != NULL ? iso : "an unknown time");
  if (g_date_time_get_year (local) == g_date_time_get_year (now)
      && g_date_time_get_day_of_year (local) == g_date_time_get_day_of_year (now))
    return g_date_time_format (local, "%H:%M today");
  return g_date_time_format (local, "%-d %b %Y, %H:%M");
}

char *
ns_queue_panel_dup_holder_text (const NsQueueEntry *entry)
{
  g_autofree char *since = NULL;

  g_return_val_if_fail (entry != NULL, NULL);
  if (entry->claimed_by == NULL)
    return NULL;
  since = dup_plain_time (entry->claimed_since);
  if (entry->claim_host != NULL && *entry->claim_host != '\0')
    return g_strdup_printf ("%s on %s since %s", entry->claimed_by, entry->claim_host, since);
  return g_strdup_printf ("%s since %s", entry->claimed_by, since);
}

char *
ns_queue_panel_dup_row_text (NsQueuePanel *self, guint index)
{
  const NsQueueEntry *e;
  char effort[32] = "–", unc[32] = "–";

  g_return_val_if_fail (index < self->entries->len, NULL);
  e = self->entries->pdata[index];
  if (isfinite (e->effort))
    g_snprintf (effort, sizeof effort, "%.3f", e->effort);
  if (isfinite (e->uncertainty))
    g_snprintf (unc, sizeof unc, "%.3f", e->uncertainty);
  {
    g_autofree char *state = e->state == NS_QUEUE_STATE_USED
                               ? g_strdup_printf ("used by v%d", e->used_by)
                               : g_strdup (ns_queue_state_name (e->state));
    GString *text = g_string_new (NULL);

    g_string_printf (text, "%s  %s  effort %s  uncertainty %s", e->case_id, state, effort,
                     unc);
    if (e->claimed_by != NULL)
      {
        g_autofree char *holder = ns_queue_panel_dup_holder_text (e);

        g_string_append_printf (text, "  taken by %s", holder);
      }
    if (e->review != NS_QUEUE_REVIEW_NONE)
      g_string_append_printf (text, "  %s by %s", ns_queue_review_name (e->review),
                              e->reviewer);
    if (e->review == NS_QUEUE_REVIEW_SENT_BACK && e->review_note != NULL)
      g_string_append_printf (text, ": %s", e->review_note);
    return g_string_free (text, FALSE);
  }
}

static void
update_buttons (NsQueuePanel *self)
{
  GtkListBoxRow *row = gtk_list_box_get_selected_row (GTK_LIST_BOX (self->list));
  const NsQueueEntry *e = row != NULL ? self->entries->pdata[gtk_list_box_row_get_index (row)]
                                      : NULL;

  gtk_widget_set_sensitive (self->open, e != NULL);
  gtk_widget_set_sensitive (self->exclude, e != NULL && e->state != NS_QUEUE_STATE_EXCLUDED);
  gtk_widget_set_sensitive (self->requeue, e != NULL && e->state != NS_QUEUE_STATE_QUEUED);
  /* a verdict is on the latest correction, while it waits for fine-tuning */
  gtk_widget_set_sensitive (self->accept, e != NULL && e->state == NS_QUEUE_STATE_QUEUED
                                            && e->review != NS_QUEUE_REVIEW_ACCEPTED);
  gtk_widget_set_sensitive (self->send_back, e != NULL && e->state == NS_QUEUE_STATE_QUEUED);
}

/* A row's place in self->entries, the list's sort key: rows move by a re-sort, never by
 * being removed and added again. */
static GQuark
position_quark (void)
{
  return g_quark_from_static_string ("ns-queue-panel-position");
}

static guint
row_position (GtkListBoxRow *row)
{
  return GPOINTER_TO_UINT (g_object_get_qdata (G_OBJECT (row), position_quark ()));
}

static void
set_row_position (GtkListBoxRow *row, guint position)
{
  g_object_set_qdata (G_OBJECT (row), position_quark (), GUINT_TO_POINTER (position));
}

static int
compare_rows (GtkListBoxRow *a, GtkListBoxRow *b, gpointer user_data)
{
  guint pa = row_position (a), pb = row_position (b);

  return pa < pb ? -1 : pa > pb;
}

/* Shows text in row (nothing happens when it already does). */
static void
set_row_text (GtkListBoxRow *row, const char *text)
{
  GtkLabel *label = GTK_LABEL (gtk_list_box_row_get_child (row));

  if (g_strcmp0 (gtk_label_get_text (label), text) != 0)
    gtk_label_set_text (label, text);
}

static GtkListBoxRow *
new_row (const char *text)
{
  GtkWidget *row = gtk_list_box_row_new ();
  GtkWidget *label = gtk_label_new (text);

  gtk_label_set_xalign (GTK_LABEL (label), 0);
  gtk_list_box_row_set_child (GTK_LIST_BOX_ROW (row), label);
  return GTK_LIST_BOX_ROW (row);
}

/* The list is read again whenever the queue changes (a colleague's claim or review: NOTIFY
 * on a server, the change serials polled every second on SQLite), so a reload must leave
 * alone what the user is doing, as the Models window's does (ns_models_dialog_refresh ()):
 * each case keeps its row (the same widget, so the selection, the keyboard focus and the
 * scroll position stay with it), a row's text is set only when it changed, rows move by a
 * re-sort, and only the rows of cases gone from the queue are removed (the focus, when it
 * was on one, goes to the row now at its place).  Rebuilt from scratch, every update took
 * the focus off the row the user was on and re-emitted the selection. */
gboolean
ns_queue_panel_refresh (NsQueuePanel *self, GError **error)
{
  g_autoptr (GError) local = NULL;
  g_autoptr (NsDb) queue = ns_db_open (self->db_path, &local);
  GPtrArray *entries = queue != NULL ? ns_queue_list (queue, self->sort, -1, &local) : NULL;
  GtkListBox *list = GTK_LIST_BOX (self->list);
  g_autoptr (GHashTable) rows = NULL;   /* case row id -> its GtkListBoxRow, before */
  g_autoptr (GPtrArray) gone = g_ptr_array_new ();
  g_autofree GtkListBoxRow **kept = NULL;   /* entries[j]'s row before, or NULL: new */
  GtkWidget *focus;
  gboolean resort = FALSE;
  int focus_index = -1;

  if (entries == NULL)
    {
      /* the list stays as it was last read (a server that went away comes back) */
      gtk_label_set_text (GTK_LABEL (self->message), local->message);
      update_buttons (self);
      g_propagate_error (error, g_steal_pointer (&local));
      return FALSE;
    }

  /* each case's row as it was (the keys point into self->entries, still the old ones);
   * the rows left over are those of cases no longer queued */
  rows = g_hash_table_new (g_int64_hash, g_int64_equal);
  for (guint i = 0; i < self->entries->len; i++)
    g_hash_table_insert (rows, &((NsQueueEntry *) self->entries->pdata[i])->id,
                         gtk_list_box_get_row_at_index (list, i));
  kept = g_new0 (GtkListBoxRow *, entries->len + 1);
  for (guint j = 0; j < entries->len; j++)
    {
      gint64 *id = &((NsQueueEntry *) entries->pdata[j])->id;

      kept[j] = g_hash_table_lookup (rows, id);
      g_hash_table_remove (rows, id);
    }
  {
    GHashTableIter iter;
    gpointer row;

    g_hash_table_iter_init (&iter, rows);
    while (g_hash_table_iter_next (&iter, NULL, &row))
      g_ptr_array_add (gone, row);
  }

  /* the rows of cases no longer queued go */
  focus = gtk_widget_get_root (self->list) != NULL
            ? gtk_root_get_focus (gtk_widget_get_root (self->list)) : NULL;
  for (guint k = 0; k < gone->len; k++)
    {
      GtkWidget *row = gone->pdata[k];

      if (focus != NULL && (focus == row || gtk_widget_is_ancestor (focus, row)))
        focus_index = gtk_list_box_row_get_index (GTK_LIST_BOX_ROW (row));
      gtk_list_box_remove (list, row);
    }

  /* the entries shown now; the rows that stay, in their new places, showing them; new
   * cases' rows */
  g_ptr_array_set_size (self->entries, 0);
  for (guint j = 0; j < entries->len; j++)
    {
      g_autofree char *text = NULL;

      g_ptr_array_add (self->entries, g_steal_pointer (&entries->pdata[j]));
      text = ns_queue_panel_dup_row_text (self, j);
      if (kept[j] != NULL)
        {
          if (row_position (kept[j]) != j || gtk_list_box_row_get_index (kept[j]) != (int) j)
            resort = TRUE;
          set_row_position (kept[j], j);
          set_row_text (kept[j], text);
        }
      else
        {
          GtkListBoxRow *row = new_row (text);

          set_row_position (row, j);
          gtk_list_box_append (list, GTK_WIDGET (row));
          resort = TRUE;
        }
    }
  g_ptr_array_unref (entries);
  if (resort)
    gtk_list_box_invalidate_sort (list);
  if (focus_index >= 0 && self->entries->len > 0)
    gtk_widget_grab_focus (GTK_WIDGET (gtk_list_box_get_row_at_index (
      list, MIN ((guint) focus_index, self->entries->len - 1))));
  {
    g_autofree char *m = g_strdup_printf ("%u case%s", self->entries->len,
                                          self->entries->len == 1 ? "" : "s");

    if (g_strcmp0 (gtk_label_get_text (GTK_LABEL (self->message)), m) != 0)
      gtk_label_set_text (GTK_LABEL (self->message), m);
  }
  update_buttons (self);
  return TRUE;
}

void
ns_queue_panel_set_sort (NsQueuePanel *self, NsQueueSort sort)
{
  if (gtk_drop_down_get_selected (GTK_DROP_DOWN (self->sort_choice)) != (guint) sort)
    {
      gtk_drop_down_set_selected (GTK_DROP_DOWN (self->sort_choice), sort);
      return; /* notify::selected refreshes */
    }
  self->sort = sort;
  ns_queue_panel_refresh (self, NULL);
}

static void
on_sort_changed (GtkDropDown *dd, GParamSpec *pspec, NsQueuePanel *self)
{
  self->sort = (NsQueueSort) gtk_drop_down_get_selected (dd);
  ns_queue_panel_refresh (self, NULL);
}

guint
ns_queue_panel_get_n_rows (NsQueuePanel *self)
{
  return self->entries->len;
}

const NsQueueEntry *
ns_queue_panel_get_entry (NsQueuePanel *self, guint index)
{
  g_return_val_if_fail (index < self->entries->len, NULL);
  return self->entries->pdata[index];
}

void
ns_queue_panel_select (NsQueuePanel *self, guint index)
{
  GtkListBoxRow *row = gtk_list_box_get_row_at_index (GTK_LIST_BOX (self->list), index);

  gtk_list_box_select_row (GTK_LIST_BOX (self->list), row);
  update_buttons (self);
}

static const NsQueueEntry *
selected (NsQueuePanel *self)
{
  GtkListBoxRow *row = gtk_list_box_get_selected_row (GTK_LIST_BOX (self->list));

  return row != NULL ? self->entries->pdata[gtk_list_box_row_get_index (row)] : NULL;
}

/* ---- the changes the panel makes, retried while the server is away ------------------- */

typedef struct _PanelOp
{
  gboolean review;           /* a verdict, else a state change */
  gint64 case_id;
  gint64 annotation_id;      /* the correction reviewed */
  NsQueueState state;
  NsQueueReview verdict;
  char *note;
  char *case_name;
} PanelOp;

static void
panel_op_free (PanelOp *op)
{
  g_free (op->note);
  g_free (op->case_name);
  g_free (op);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (PanelOp, panel_op_free)

static PanelOp *
panel_op_copy (const PanelOp *op)
{
  PanelOp *copy = g_memdup2 (op, sizeof *op);

  copy->note = g_strdup (op->note);
  copy->case_name = g_strdup (op->case_name);
  return copy;
}

static gboolean run_op (NsQueuePanel *self, const PanelOp *op, GError **error);

static gboolean
on_retry_timeout (gpointer user_data)
{
  NsQueuePanel *self = user_data;
  g_autoptr (PanelOp) op = g_steal_pointer (&self->pending);

  self->retry_source = 0;
  if (op != NULL)
    run_op (self, op, NULL); /* a failure shows in the bar again */
  return G_SOURCE_REMOVE;
}

static void
on_retry_clicked (GtkButton *button, NsQueuePanel *self)
{
  g_clear_handle_id (&self->retry_source, g_source_remove);
  on_retry_timeout (self);
}

/* Runs a change; a server that cannot be reached keeps it pending, said in the bar, and
 * tries it again every PANEL_RETRY_S and on Retry. */
static gboolean
run_op (NsQueuePanel *self, const PanelOp *op, GError **error)
{
  g_autoptr (GError) local = NULL;
  g_autoptr (NsDb) db = ns_db_open (self->db_path, &local);
  gboolean ok = db != NULL;

  if (ok)
    {
      /* the main loop waits for it: short, the bar does the rest */
      ns_db_set_retry_window (db, PANEL_RETRY_WINDOW_MS);
      ok = op->review
             ? ns_queue_review (db, op->case_id, op->annotation_id, op->verdict, NULL,
                                op->note, &local)
             : ns_queue_set_state (db, op->case_id, op->state, 0, NULL,
                                   op->state == NS_QUEUE_STATE_EXCLUDED
                                     ? "excluded in the queue panel"
                                     : "requeued in the queue panel", &local);
    }
  if (!ok && g_error_matches (local, NS_DATA_ERROR, NS_DATA_ERROR_UNAVAILABLE))
    {
      g_autofree char *what = op->review
                                ? g_strdup_printf ("the review of %s (%s)", op->case_name,
                                                   ns_queue_review_name (op->verdict))
                                : g_strdup_printf ("%s %s", op->case_name,
                                                   op->state == NS_QUEUE_STATE_EXCLUDED
                                                     ? "excluded" : "requeued");
      g_autofree char *text = g_strdup_printf (
        "The queue's database cannot be reached: %s is not recorded yet (nothing was "
        "changed); it is tried again every %d s.\n%s", what, PANEL_RETRY_S, local->message);

      gtk_label_set_text (GTK_LABEL (self->server_label), text);
      gtk_widget_set_visible (self->server_bar, TRUE);
      g_clear_pointer (&self->pending, panel_op_free);
      self->pending = panel_op_copy (op);
      g_clear_handle_id (&self->retry_source, g_source_remove);
      self->retry_source = g_timeout_add_seconds (PANEL_RETRY_S, on_retry_timeout, self);
    }
  if (!ok)
    {
      g_propagate_error (error, g_steal_pointer (&local));
      return FALSE;
    }
  gtk_widget_set_visible (self->server_bar, FALSE);
  return ns_queue_panel_refresh (self, error);
}

static gboolean
set_selected_state (NsQueuePanel *self, NsQueueState state, GError **error)
{
  const NsQueueEntry *e = selected (self);

  if (e == NULL)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED, "no case is selected");
      return FALSE;
    }
  {
    PanelOp op = { FALSE, e->id, 0, state, NS_QUEUE_REVIEW_NONE, NULL, e->case_id };

    return run_op (self, &op, error);
  }
}

gboolean
ns_queue_panel_exclude_selected (NsQueuePanel *self, GError **error)
{
  return set_selected_state (self, NS_QUEUE_STATE_EXCLUDED, error);
}

gboolean
ns_queue_panel_requeue_selected (NsQueuePanel *self, GError **error)
{
  return set_selected_state (self, NS_QUEUE_STATE_QUEUED, error);
}

static gboolean
is_blank (const char *text)
{
  for (; text != NULL && *text != '\0'; text = g_utf8_next_char (text))
    if (!g_unichar_isspace (g_utf8_get_char (text)))
      return FALSE;
  return TRUE;
}

gboolean
ns_queue_panel_review_selected (NsQueuePanel *self, NsQueueReview verdict, const char *note,
                                GError **error)
{
  const NsQueueEntry *e = selected (self);

  g_return_val_if_fail (verdict != NS_QUEUE_REVIEW_NONE, FALSE);
  if (e == NULL)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED, "no case is selected");
      return FALSE;
    }
  if (verdict == NS_QUEUE_REVIEW_SENT_BACK && is_blank (note))
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                   "%s: say in the note why the correction goes back", e->case_id);
      return FALSE;
    }
  /* the correction that the list shows, not one that came in since */
  {
    PanelOp op = { TRUE, e->id, e->annotation_id, NS_QUEUE_STATE_QUEUED, verdict,
                   is_blank (note) ? NULL : (char *) note, e->case_id };

    return run_op (self, &op, error);
  }
}

static void
on_review_button (GtkButton *button, NsQueuePanel *self)
{
  g_autoptr (GError) error = NULL;
  const char *note = gtk_editable_get_text (GTK_EDITABLE (self->note));
  NsQueueReview verdict = GTK_WIDGET (button) == self->accept ? NS_QUEUE_REVIEW_ACCEPTED
                                                               : NS_QUEUE_REVIEW_SENT_BACK;

  if (!ns_queue_panel_review_selected (self, verdict, note, &error))
    {
      gtk_label_set_text (GTK_LABEL (self->message), error->message);
      return;
    }
  gtk_editable_set_text (GTK_EDITABLE (self->note), "");
}

static gboolean
on_db_changed (NsDbChanges changes, gpointer user_data)
{
  NsQueuePanel *self = user_data;

  if (changes & NS_DB_CHANGES_QUEUE)
    ns_queue_panel_refresh (self, NULL); /* an error shows in the panel */
  return G_SOURCE_CONTINUE;
}

/* The case at path opened, with one's claim on it (NULL: read-only, or not queued). */
static void
open_case (NsQueuePanel *self, const char *path, NsQueueSession *session)
{
  g_autofree char *p = g_strdup (path); /* the signals may refresh the list */

  if (session != NULL)
    {
      self->read_only_case = 0;
      g_clear_pointer (&self->read_only_reason, g_free);
    }
  g_signal_emit (self, signals[SIGNAL_CASE_CLAIMED], 0, session);
  g_signal_emit (self, signals[SIGNAL_OPEN_CASE], 0, p);
}

static const NsQueueEntry *
find_entry (NsQueuePanel *self, gint64 id)
{
  for (guint i = 0; i < self->entries->len; i++)
    if (((NsQueueEntry *) self->entries->pdata[i])->id == id)
      return self->entries->pdata[i];
  return NULL;
}

/* Claims (or takes over) the case and opens it; FALSE + error when it cannot. */
static gboolean
claim_and_open (NsQueuePanel *self, gint64 id, gboolean take_over, GError **error)
{
  g_autofree char *note = take_over ? g_strdup_printf ("taken over in the queue panel by %s",
                                                       g_get_user_name ())
                                    : NULL;
  g_autoptr (NsQueueSession) session = ns_queue_session_new (self->db_path, id, NULL,
                                                             self->lease_s, take_over, note,
                                                             error);
  g_autofree char *path = NULL;

  if (session == NULL)
    return FALSE;
  ns_queue_panel_refresh (self, NULL);
  path = g_strdup (find_entry (self, id) != NULL ? find_entry (self, id)->path : NULL);
  if (path == NULL)
    {
      g_set_error (error, NS_DATA_ERROR, NS_DATA_ERROR_NOT_FOUND,
                   "the case was removed from the queue meanwhile");
      return FALSE;
    }
  if (self->last_session != NULL)
    g_object_remove_weak_pointer (G_OBJECT (self->last_session),
                                  (gpointer *) &self->last_session);
  self->last_session = session;
  g_object_add_weak_pointer (G_OBJECT (session), (gpointer *) &self->last_session);
  open_case (self, path, session);
  return TRUE;
}

enum { RESPONSE_READ_ONLY = 1, RESPONSE_TAKE_OVER = 2 };

static void
on_question_response (GtkDialog *dialog, int response, NsQueuePanel *self)
{
  g_autoptr (GError) error = NULL;
  gint64 id = self->question_case;

  gtk_window_destroy (GTK_WINDOW (dialog));
  if (response == RESPONSE_READ_ONLY)
    {
      const NsQueueEntry *e = find_entry (self, id);
      g_autofree char *holder = e != NULL ? ns_queue_panel_dup_holder_text (e) : NULL;

      if (e != NULL)
        {
          self->read_only_case = id;
          g_free (self->read_only_reason);
          self->read_only_reason = holder != NULL ? g_strdup_printf ("claimed by %s", holder)
                                                  : g_strdup ("opened read-only");
          open_case (self, e->path, NULL);
        }
    }
  else if (response == RESPONSE_TAKE_OVER && !claim_and_open (self, id, TRUE, &error))
    gtk_label_set_text (GTK_LABEL (self->message), error->message);
}

/* A colleague holds the case: read-only, or take it over (destructive: their unsaved work
 * on it will be refused). */
static void
ask_taken (NsQueuePanel *self, const NsQueueEntry *e, const char *why)
{
  GtkRoot *root = gtk_widget_get_root (GTK_WIDGET (self));
  GtkWidget *dialog, *take, *details, *details_label;
  g_autofree char *holder = ns_queue_panel_dup_holder_text (e);

  if (self->question != NULL)
    gtk_window_destroy (self->question);
  dialog = gtk_message_dialog_new (GTK_IS_WINDOW (root) ? GTK_WINDOW (root) : NULL,
                                   GTK_DIALOG_MODAL | GTK_DIALOG_DESTROY_WITH_PARENT,
                                   GTK_MESSAGE_QUESTION, GTK_BUTTONS_NONE,
                                   "%s is taken", e->case_id);
  gtk_window_set_title (GTK_WINDOW (dialog), "Case Taken");
  gtk_message_dialog_format_secondary_text (
    GTK_MESSAGE_DIALOG (dialog),
    "Claimed by %s.\n\nOpen it read-only to look at it, or take it over to correct it "
    "yourself: that is recorded, and %s's next save of this case will be refused (their "
    "edits stay in their editor).", holder != NULL ? holder : "a colleague",
    e->claimed_by != NULL ? e->claimed_by : "the holder");
  /* the database's own words (its location, never a password: ns_db_get_path()) */
  details_label = gtk_label_new (why);
  gtk_label_set_wrap (GTK_LABEL (details_label), TRUE);
  gtk_label_set_selectable (GTK_LABEL (details_label), TRUE);
  gtk_label_set_xalign (GTK_LABEL (details_label), 0);
  gtk_widget_set_name (details_label, "taken-details-text");
  details = gtk_expander_new_with_mnemonic ("_Details");
  gtk_widget_set_name (details, "taken-details");
  gtk_expander_set_child (GTK_EXPANDER (details), details_label);
  gtk_box_append (GTK_BOX (gtk_message_dialog_get_message_area (GTK_MESSAGE_DIALOG (dialog))),
                  details);
  gtk_dialog_add_button (GTK_DIALOG (dialog), "_Cancel", GTK_RESPONSE_CANCEL);
  gtk_dialog_add_button (GTK_DIALOG (dialog), "Open _Read-Only", RESPONSE_READ_ONLY);
  take = gtk_dialog_add_button (GTK_DIALOG (dialog), "_Take Over", RESPONSE_TAKE_OVER);
  gtk_widget_add_css_class (take, "destructive-action");
  gtk_dialog_set_default_response (GTK_DIALOG (dialog), RESPONSE_READ_ONLY);
  self->question_case = e->id;
  self->question = GTK_WINDOW (dialog);
  g_object_add_weak_pointer (G_OBJECT (dialog), (gpointer *) &self->question);
  g_signal_connect_object (dialog, "response", G_CALLBACK (on_question_response), self, 0);
  gtk_window_present (GTK_WINDOW (dialog));
}

void
ns_queue_panel_open_selected (NsQueuePanel *self)
{
  const NsQueueEntry *e = selected (self);
  g_autoptr (GError) error = NULL;
  gint64 id;

  if (e == NULL)
    return;
  /* only a case waiting for fine-tuning is corrected; the others are looked at */
  if (e->state != NS_QUEUE_STATE_QUEUED)
    {
      self->read_only_case = 0;
      g_clear_pointer (&self->read_only_reason, g_free);
      open_case (self, e->path, NULL);
      return;
    }
  id = e->id;
  /* the case this panel's last claim holds (still open): opened again under that claim */
  if (self->last_session != NULL && ns_queue_session_get_case_id (self->last_session) == id
      && ns_queue_session_check (self->last_session, NULL))
    {
      open_case (self, e->path, self->last_session);
      return;
    }
  if (claim_and_open (self, id, FALSE, &error))
    return;
  ns_queue_panel_refresh (self, NULL);
  e = find_entry (self, id);
  if (e != NULL && g_error_matches (error, NS_DATA_ERROR, NS_DATA_ERROR_REFUSED))
    ask_taken (self, e, error->message);
  else
    gtk_label_set_text (GTK_LABEL (self->message), error->message);
}

gint64
ns_queue_panel_get_read_only_case (NsQueuePanel *self, const char **reason)
{
  g_return_val_if_fail (NS_IS_QUEUE_PANEL (self), 0);
  if (reason != NULL)
    *reason = self->read_only_reason;
  return self->read_only_case;
}

GtkWindow *
ns_queue_panel_get_question (NsQueuePanel *self)
{
  return self->question;
}

void
ns_queue_panel_set_lease (NsQueuePanel *self, guint lease_s)
{
  self->lease_s = lease_s;
}

static void
on_state_button (GtkButton *button, NsQueuePanel *self)
{
  g_autoptr (GError) error = NULL;
  gboolean ok = GTK_WIDGET (button) == self->exclude
                  ? ns_queue_panel_exclude_selected (self, &error)
                  : ns_queue_panel_requeue_selected (self, &error);

  if (!ok)
    gtk_label_set_text (GTK_LABEL (self->message), error->message);
}

static void
on_row_activated (GtkListBox *list, GtkListBoxRow *row, NsQueuePanel *self)
{
  ns_queue_panel_open_selected (self);
}

static void
on_selected_rows_changed (GtkListBox *list, NsQueuePanel *self)
{
  update_buttons (self);
}

static void
ns_queue_panel_dispose (GObject *object)
{
  NsQueuePanel *self = NS_QUEUE_PANEL (object);

  if (self->watch != NULL)
    {
      g_source_destroy (self->watch);
      g_clear_pointer (&self->watch, g_source_unref);
    }
  g_clear_handle_id (&self->retry_source, g_source_remove);
  g_clear_pointer (&self->pending, panel_op_free);
  if (self->last_session != NULL)
    {
      g_object_remove_weak_pointer (G_OBJECT (self->last_session),
                                    (gpointer *) &self->last_session);
      self->last_session = NULL;
    }
  if (self->question != NULL)
    {
      g_object_remove_weak_pointer (G_OBJECT (self->question), (gpointer *) &self->question);
      gtk_window_destroy (self->question);
      self->question = NULL;
    }
  /* the list's selection changes while the children go away */
  if (self->list != NULL)
    g_signal_handlers_disconnect_by_data (self->list, self);
  if (self->sort_choice != NULL)
    g_signal_handlers_disconnect_by_data (self->sort_choice, self);
  self->list = self->sort_choice = NULL;
  G_OBJECT_CLASS (ns_queue_panel_parent_class)->dispose (object);
}

static void
ns_queue_panel_finalize (GObject *object)
{
  NsQueuePanel *self = NS_QUEUE_PANEL (object);

  g_free (self->db_path);
  g_free (self->read_only_reason);
  g_ptr_array_unref (self->entries);
  G_OBJECT_CLASS (ns_queue_panel_parent_class)->finalize (object);
}

static void
ns_queue_panel_class_init (NsQueuePanelClass *klass)
{
  G_OBJECT_CLASS (klass)->dispose = ns_queue_panel_dispose;
  G_OBJECT_CLASS (klass)->finalize = ns_queue_panel_finalize;
  signals[SIGNAL_OPEN_CASE] = g_signal_new ("open-case", G_TYPE_FROM_CLASS (klass),
                                            G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL,
                                            G_TYPE_NONE, 1, G_TYPE_STRING);
  signals[SIGNAL_CASE_CLAIMED] = g_signal_new ("case-claimed", G_TYPE_FROM_CLASS (klass),
                                               G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL,
                                               G_TYPE_NONE, 1, NS_TYPE_QUEUE_SESSION);
}

static void
ns_queue_panel_init (NsQueuePanel *self)
{
  static const char *const sorts[] = { "Oldest first", "Most uncertain first",
                                       "Most edited first", NULL };
  GtkWidget *top = gtk_box_new (GTK_ORIENTATION_HORIZONTAL, 6);
  GtkWidget *buttons = gtk_box_new (GTK_ORIENTATION_HORIZONTAL, 6);
  GtkWidget *review = gtk_box_new (GTK_ORIENTATION_HORIZONTAL, 6);
  GtkWidget *scroll = gtk_scrolled_window_new ();
  GtkWidget *title = gtk_label_new ("Fine-tuning queue");

  gtk_orientable_set_orientation (GTK_ORIENTABLE (self), GTK_ORIENTATION_VERTICAL);
  gtk_box_set_spacing (GTK_BOX (self), 6);
  self->entries = g_ptr_array_new_with_free_func ((GDestroyNotify) ns_queue_entry_free);

  gtk_widget_add_css_class (title, "heading");
  gtk_widget_set_hexpand (title, TRUE);
  gtk_label_set_xalign (GTK_LABEL (title), 0);
  self->sort_choice = gtk_drop_down_new_from_strings (sorts);
  g_signal_connect (self->sort_choice, "notify::selected", G_CALLBACK (on_sort_changed), self);
  gtk_box_append (GTK_BOX (top), title);
  gtk_box_append (GTK_BOX (top), self->sort_choice);

  self->list = gtk_list_box_new ();
  gtk_list_box_set_selection_mode (GTK_LIST_BOX (self->list), GTK_SELECTION_SINGLE);
  gtk_list_box_set_sort_func (GTK_LIST_BOX (self->list), compare_rows, NULL, NULL);
  g_signal_connect (self->list, "row-activated", G_CALLBACK (on_row_activated), self);
  g_signal_connect (self->list, "selected-rows-changed", G_CALLBACK (on_selected_rows_changed),
                    self);
  gtk_scrolled_window_set_child (GTK_SCROLLED_WINDOW (scroll), self->list);
  gtk_scrolled_window_set_min_content_height (GTK_SCROLLED_WINDOW (scroll), 120);
  gtk_widget_set_vexpand (scroll, TRUE);

  self->message = gtk_label_new ("");
  gtk_widget_set_name (self->message, "queue-message");
  gtk_label_set_xalign (GTK_LABEL (self->message), 0);
  gtk_label_set_wrap (GTK_LABEL (self->message), TRUE);

  self->open = gtk_button_new_with_mnemonic ("_Open");
  self->exclude = gtk_button_new_with_mnemonic ("E_xclude");
  self->requeue = gtk_button_new_with_mnemonic ("_Requeue");
  g_signal_connect_swapped (self->open, "clicked", G_CALLBACK (ns_queue_panel_open_selected),
                            self);
  g_signal_connect (self->exclude, "clicked", G_CALLBACK (on_state_button), self);
  g_signal_connect (self->requeue, "clicked", G_CALLBACK (on_state_button), self);
  gtk_box_append (GTK_BOX (buttons), self->open);
  gtk_box_append (GTK_BOX (buttons), self->exclude);
  gtk_box_append (GTK_BOX (buttons), self->requeue);

  /* a second reader's verdict on the selected case's latest correction */
  self->note = gtk_entry_new ();
  gtk_entry_set_placeholder_text (GTK_ENTRY (self->note), "Review note (why it goes back)");
  gtk_widget_set_hexpand (self->note, TRUE);
  self->accept = gtk_button_new_with_mnemonic ("_Accept");
  self->send_back = gtk_button_new_with_mnemonic ("Send _Back");
  g_signal_connect (self->accept, "clicked", G_CALLBACK (on_review_button), self);
  g_signal_connect (self->send_back, "clicked", G_CALLBACK (on_review_button), self);
  gtk_box_append (GTK_BOX (review), self->note);
  gtk_box_append (GTK_BOX (review), self->accept);
  gtk_box_append (GTK_BOX (review), self->send_back);

  /* a change that waits for the server */
  self->server_bar = gtk_info_bar_new ();
  gtk_widget_set_name (self->server_bar, "queue-server-bar");
  gtk_info_bar_set_message_type (GTK_INFO_BAR (self->server_bar), GTK_MESSAGE_WARNING);
  self->server_label = gtk_label_new ("");
  gtk_widget_set_name (self->server_label, "queue-server-message");
  gtk_label_set_wrap (GTK_LABEL (self->server_label), TRUE);
  gtk_label_set_xalign (GTK_LABEL (self->server_label), 0);
  gtk_widget_set_hexpand (self->server_label, TRUE);
  gtk_info_bar_add_child (GTK_INFO_BAR (self->server_bar), self->server_label);
  {
    GtkWidget *retry = gtk_button_new_with_mnemonic ("Re_try Now");

    g_signal_connect (retry, "clicked", G_CALLBACK (on_retry_clicked), self);
    gtk_info_bar_add_action_widget (GTK_INFO_BAR (self->server_bar), retry, GTK_RESPONSE_OK);
  }
  gtk_widget_set_visible (self->server_bar, FALSE);

  gtk_box_append (GTK_BOX (self), top);
  gtk_box_append (GTK_BOX (self), self->server_bar);
  gtk_box_append (GTK_BOX (self), scroll);
  gtk_box_append (GTK_BOX (self), self->message);
  gtk_box_append (GTK_BOX (self), buttons);
  gtk_box_append (GTK_BOX (self), review);
}

GtkWidget *
ns_queue_panel_new (const char *db_path)
{
  NsQueuePanel *self = g_object_new (NS_TYPE_QUEUE_PANEL, NULL);

  self->db_path = g_strdup (db_path);
  ns_queue_panel_refresh (self, NULL);
  /* NOTIFY on a server, the change serials polled every second on SQLite */
  self->watch = ns_db_watch_source_new (db_path, 0);
  g_source_set_callback (self->watch, G_SOURCE_FUNC (on_db_changed), self, NULL);
  g_source_attach (self->watch, NULL);
  return GTK_WIDGET (self);
}
