/* SPDX-License-Identifier: MIT
 *
 * test-ui-team.c: the queue panel and the Models window of a team (issue 19), on SQLite
 * and (NS_TEST_DB=postgresql) on a PostgreSQL server that the program starts:
 *
 *   /ui/team/live-queue    another workstation (the neuroseg command line, another
 *                          process) queues a case, claims it and reviews it: the panel
 *                          shows each change without a click, the selected case staying
 *                          selected
 *   /ui/team/live-models   a version registered and promoted on another connection
 *                          shows in the Models window without a click
 *   /ui/team/review        Send Back without a note is refused with the reason and
 *                          records nothing; with a note it is recorded and shown; Accept
 *                          then shows "accepted by"; the author cannot review their own
 *   /ui/team/claim         Open claims a queued case (case-claimed, then open-case), the
 *                          row shows it taken; a colleague's take-over from the command
 *                          line is noticed ("lost"), after which saving is refused with a
 *                          message that says who and that the edits are kept, and the
 *                          queue refuses the old token; dropping the session of another
 *                          case releases its claim (recorded)
 *   /ui/team/taken         Open on a case a colleague holds asks: who and since when,
 *                          in plain words (the database's location only in Details);
 *                          Open Read-Only opens it without a claim, the panel says
 *                          which case and why; Take Over (destructive-styled) takes it,
 *                          recorded with a note
 *   /ui/team/read-only     the workbench opens a case a colleague holds read-only (Open
 *                          Read-Only in its queue window): an infobar says who holds it
 *                          since when with Take Over, the tools are insensitive, the
 *                          editing actions off; a brush stroke through the view's
 *                          gesture path, Undo, a model's mask and a refinement's change
 *                          change no voxel and record nothing; Take Over claims it and
 *                          the same stroke paints
 *   /ui/team/fine-tune     the Fine-tune dialog's "Accepted corrections only": off while
 *                          nothing is reviewed, on once the queue has reviews; the run
 *                          takes only accepted cases, their masks written from the
 *                          database (not links to a folder), and its record says which
 *                          cases were left out and why; unticked, every correction
 *   /ui/team/keeps-place   a colleague's claim changes one row while the user is on
 *                          another (selected, focused, the list scrolled): every row stays
 *                          the same widget, only the claimed row's text changes, and the
 *                          selection, the focus and the scroll position stay; a reload
 *                          with nothing changed changes nothing
 *   /ui/team/row-gone      the case the keyboard is on leaves the queue (another
 *                          connection): its row goes, the focus goes to the row now at its
 *                          place, the other rows stay the same widgets
 *   /ui/team/server-away   (PostgreSQL) the server stops while the panel is open: Accept
 *                          shows the infobar (what waits, nothing changed), the list
 *                          stays; the server back, the review is recorded by itself;
 *                          Mark Corrected while the server is away fails saying nothing
 *                          was changed, the corrected mask saved on this workstation, and
 *                          succeeds with the same mask once the server is back
 */
#define G_LOG_DOMAIN "test-ui-team"

#include "ns-config.h"

#include <gtk/gtk.h>
#include <math.h>
#include <string.h>

#include "ns-ai-controller.h"
#include "ns-corrections.h"
#include "ns-data-error.h"
#include "ns-editor.h"
#include "ns-fine-tune-dialog.h"
#include "ns-model-runner.h"
#include "ns-models-dialog.h"
#include "ns-queue-panel.h"
#include "ns-queue-session.h"
#include "ns-queue.h"
#include "ns-registry.h"
#include "ns-runs.h"
#include "ns-test-pg.h"
#include "ns-test-queue.h"
#include "ns-train-panel.h"
#include "ns-test-util.h"
#include "ns-test-widget.h"
#include "ns-test-window.h"
#include "ns-tool-panel.h"
#include "ns-window.h"

/* The panel's row index shows text (a substring). */
typedef struct
{
  NsQueuePanel *panel;
  guint index;
  const char *text;
} RowWait;

static gboolean
row_shows (gpointer data)
{
  RowWait *w = data;
  g_autofree char *text = NULL;

  if (ns_queue_panel_get_n_rows (w->panel) <= w->index)
    return FALSE;
  text = ns_queue_panel_dup_row_text (w->panel, w->index);
  return strstr (text, w->text) != NULL;
}

static void
assert_row_shows (NsQueuePanel *panel, guint index, const char *text)
{
  RowWait w = { panel, index, text };

  /* NOTIFY arrives at once; SQLite is polled every second */
  if (!ns_test_wait_until (row_shows, &w, 30))
    {
      g_autofree char *got = ns_queue_panel_get_n_rows (panel) > index
                               ? ns_queue_panel_dup_row_text (panel, index)
                               : g_strdup ("(no such row)");
      g_error ("row %u never showed '%s' (it shows '%s')", index, text, got);
    }
}

/* neuroseg ARGS... --db location, which must succeed. */
static void
other_workstation (const char *location, ...)
{
  g_auto (NsTestRun) run = { 0 };
  g_autoptr (GPtrArray) args = g_ptr_array_new ();
  va_list ap;
  const char *a;

  va_start (ap, location);
  while ((a = va_arg (ap, const char *)) != NULL)
    g_ptr_array_add (args, (gpointer) a);
  va_end (ap);
  g_ptr_array_add (args, (gpointer) "--db");
  g_ptr_array_add (args, (gpointer) location);
  g_ptr_array_add (args, NULL);
  ns_test_run_neuroseg_strv (&run, (const char *const *) args->pdata);
  g_assert_cmpint (run.status, ==, 0);
}

/* A button activated as from the keyboard: GTK shows it pressed, then "clicked" follows
 * a quarter of a second later. */
static void
click (GtkWidget *button)
{
  g_assert_true (gtk_widget_is_sensitive (button));
  g_assert_true (gtk_widget_activate (button));
  ns_test_spin (0.5);
}

static GtkWidget *
window_with (GtkWidget *child)
{
  GtkWidget *win = gtk_window_new ();

  gtk_window_set_child (GTK_WINDOW (win), child);
  gtk_window_present (GTK_WINDOW (win));
  ns_test_drain ();
  return win;
}

static void
test_live_queue (void)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *location = NULL;
  g_autoptr (NsDb) db = ns_test_open_fresh_db (&location);
  g_autofree char *first = ns_test_make_case ("Live_First", ".nii.gz");
  g_autofree char *second = ns_test_make_case ("Live_Second", ".nii.gz");
  g_autofree char *mask = ns_test_fresh_path ("live-mask.nii.gz");
  GtkWidget *win;
  NsQueuePanel *panel;

  ns_test_write_mask (mask, 4, 10, FALSE);
  win = window_with (ns_queue_panel_new (location));
  panel = NS_QUEUE_PANEL (gtk_window_get_child (GTK_WINDOW (win)));
  g_assert_cmpuint (ns_queue_panel_get_n_rows (panel), ==, 0);

  other_workstation (location, "queue", "add", first, "--mask", mask, "--who", "ann", NULL);
  assert_row_shows (panel, 0, "Live_First  queued");
  ns_queue_panel_select (panel, 0);

  other_workstation (location, "queue", "add", second, "--mask", mask, "--who", "ann", NULL);
  assert_row_shows (panel, 1, "Live_Second  queued");

  other_workstation (location, "queue", "claim", "Live_First", "--who", "bob", NULL);
  assert_row_shows (panel, 0, "taken by bob on ");
  {
    g_autoptr (NsQueueEntry) e = ns_queue_dup_entry (db, "Live_First", &error);
    g_autofree char *holder = NULL;

    g_assert_no_error (error);
    /* who, where and since when in words: "bob on <host> since 09:12 today" */
    holder = ns_queue_panel_dup_holder_text (e);
    g_assert_true (g_str_has_prefix (holder, "bob on "));
    g_assert_null (strstr (holder, e->claimed_since));
    assert_row_shows (panel, 0, holder);
  }

  other_workstation (location, "queue", "review", "Live_First", "send-back", "--who", "rev",
                     "--note", "the oedema is missing on slice 3", NULL);
  assert_row_shows (panel, 0, "sent back by rev: the oedema is missing on slice 3");

  other_workstation (location, "queue", "exclude", "Live_Second", NULL);
  assert_row_shows (panel, 1, "Live_Second  excluded");

  /* the user's choice did not move while the list followed the others */
  g_assert_cmpint (ns_queue_panel_get_entry (panel, 0)->id, ==,
                   ns_queue_dup_entry (db, "Live_First", NULL)->id);
  {
    GtkListBox *list = GTK_LIST_BOX (ns_test_find_widget (GTK_WIDGET (panel),
                                                          GTK_TYPE_LIST_BOX));
    GtkListBoxRow *row = gtk_list_box_get_selected_row (list);

    g_assert_nonnull (row);
    g_assert_cmpint (gtk_list_box_row_get_index (row), ==, 0);
  }
  gtk_window_destroy (GTK_WINDOW (win));
  ns_test_drain ();
}

static gboolean
models_rows_at_least (gpointer data)
{
  gpointer *d = data;

  return ns_models_dialog_get_n_rows (d[0]) >= GPOINTER_TO_UINT (d[1]);
}

static gboolean
models_row_shows (gpointer data)
{
  gpointer *d = data;
  g_autofree char *text = NULL;

  if (ns_models_dialog_get_n_rows (d[0]) <= GPOINTER_TO_UINT (d[1]))
    return FALSE;
  text = ns_models_dialog_dup_row_text (d[0], GPOINTER_TO_UINT (d[1]));
  return strstr (text, d[2]) != NULL;
}

static void
test_live_models (void)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *location = NULL;
  g_autoptr (NsDb) db = ns_test_open_fresh_db (&location);
  g_autofree char *model = ns_test_fake_model ("live model v1");
  NsRegistryModelInfo info = { .path = model, .arch = "mobilenetv2-unet",
                               .parent = NS_REGISTRY_SHIPPED, .metrics = "{}" };
  NsModelsDialog *dialog = ns_models_dialog_new (NULL, location);
  guint before;

  gtk_window_present (GTK_WINDOW (dialog));
  ns_test_drain ();
  before = ns_models_dialog_get_n_rows (dialog);
  g_assert_cmpuint (before, ==, 1); /* v0, the shipped model */

  /* another workstation (its own connection) registers v1 */
  g_assert_cmpint (ns_registry_register_model (db, &info, &error), ==, 1);
  g_assert_no_error (error);
  {
    gpointer d[] = { dialog, GUINT_TO_POINTER (before + 1) };

    g_assert_true (ns_test_wait_until (models_rows_at_least, d, 30));
  }
  /* ...and makes it the default */
  g_assert_true (ns_registry_promote (db, 1, TRUE, NULL, &error));
  g_assert_no_error (error);
  {
    guint row = G_MAXUINT;

    for (guint i = 0; i < ns_models_dialog_get_n_rows (dialog); i++)
      if (ns_models_dialog_get_version (dialog, i) == 1)
        row = i;
    g_assert_cmpuint (row, !=, G_MAXUINT);
    gpointer d[] = { dialog, GUINT_TO_POINTER (row), (gpointer) "default" };

    g_assert_true (ns_test_wait_until (models_row_shows, d, 30));
  }
  gtk_window_destroy (GTK_WINDOW (dialog));
  ns_test_drain ();
}

static void
test_review (void)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *location = NULL;
  g_autoptr (NsDb) db = ns_test_open_fresh_db (&location);
  gint64 id = ns_test_queued_case (db, "Review_Case"); /* corrected by "tester" */
  GtkWidget *win = window_with (ns_queue_panel_new (location));
  NsQueuePanel *panel = NS_QUEUE_PANEL (gtk_window_get_child (GTK_WINDOW (win)));
  GtkWidget *send_back = ns_test_find_button (GTK_WIDGET (panel), "Send _Back");
  GtkWidget *accept = ns_test_find_button (GTK_WIDGET (panel), "_Accept");
  GtkWidget *note = ns_test_find_widget (GTK_WIDGET (panel), GTK_TYPE_ENTRY);
  GtkWidget *message;

  g_assert_nonnull (send_back);
  g_assert_nonnull (accept);
  g_assert_nonnull (note);
  g_assert_false (gtk_widget_get_sensitive (accept)); /* nothing selected */
  ns_queue_panel_select (panel, 0);
  g_assert_true (gtk_widget_get_sensitive (accept));
  g_assert_true (gtk_widget_get_sensitive (send_back));

  /* no note: refused, saying why; nothing recorded */
  click (send_back);
  message = ns_test_find_named (GTK_WIDGET (panel), "queue-message");
  g_assert_nonnull (message);
  g_assert_nonnull (strstr (gtk_label_get_text (GTK_LABEL (message)),
                            "say in the note why the correction goes back"));
  {
    g_autoptr (GPtrArray) reviews = ns_queue_list_reviews (db, id, &error);

    g_assert_no_error (error);
    g_assert_cmpuint (reviews->len, ==, 0);
  }

  gtk_editable_set_text (GTK_EDITABLE (note), "label 4 leaks into the ventricle");
  click (send_back);
  assert_row_shows (panel, 0, "sent back by ");
  assert_row_shows (panel, 0, ": label 4 leaks into the ventricle");
  g_assert_cmpstr (gtk_editable_get_text (GTK_EDITABLE (note)), ==, "");

  click (accept);
  assert_row_shows (panel, 0, "accepted by ");
  g_assert_false (gtk_widget_get_sensitive (accept)); /* accepted already */
  {
    g_autoptr (GPtrArray) reviews = ns_queue_list_reviews (db, id, &error);
    const NsQueueReviewItem *last;

    g_assert_no_error (error);
    g_assert_cmpuint (reviews->len, ==, 2);
    last = reviews->pdata[1];
    g_assert_cmpint (last->verdict, ==, NS_QUEUE_REVIEW_ACCEPTED);
    g_assert_cmpstr (last->who, ==, g_get_user_name ());
  }
  gtk_window_destroy (GTK_WINDOW (win));
  ns_test_drain ();

  /* the author may not review their own correction: the message says so */
  {
    g_autofree char *mask = ns_test_fresh_path ("own-mask.nii.gz");
    g_autofree char *dir = ns_test_make_case ("Own_Case", ".nii.gz");
    NsQueueAnnotation a = { mask, NULL, 0, NULL, NAN };
    GtkWidget *win2;
    NsQueuePanel *p2;
    guint row = G_MAXUINT;

    ns_test_write_mask (mask, 4, 10, FALSE);
    g_assert_cmpint (ns_queue_add (db, dir, &a, &error), >, 0);
    g_assert_no_error (error);
    win2 = window_with (ns_queue_panel_new (location));
    p2 = NS_QUEUE_PANEL (gtk_window_get_child (GTK_WINDOW (win2)));
    for (guint i = 0; i < ns_queue_panel_get_n_rows (p2); i++)
      if (g_strcmp0 (ns_queue_panel_get_entry (p2, i)->case_id, "Own_Case") == 0)
        row = i;
    g_assert_cmpuint (row, !=, G_MAXUINT);
    ns_queue_panel_select (p2, row);
    g_assert_false (ns_queue_panel_review_selected (p2, NS_QUEUE_REVIEW_ACCEPTED, NULL,
                                                    &error));
    g_assert_error (error, NS_DATA_ERROR, NS_DATA_ERROR_REFUSED);
    g_test_message ("own review: %s", error->message);
    gtk_window_destroy (GTK_WINDOW (win2));
    ns_test_drain ();
  }
}

/* A case queued with a correction by who; its row id. */
static gint64
queue_case (NsDb *db, const char *id, const char *who)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *dir = ns_test_make_case (id, ".nii.gz");
  g_autofree char *mask = ns_test_fresh_path ("mask.nii.gz");
  NsQueueAnnotation a = { mask, NULL, 0, who, NAN };
  gint64 row;

  ns_test_write_mask (mask, 4, 10, FALSE);
  row = ns_queue_add (db, dir, &a, &error);
  g_assert_no_error (error);
  return row;
}

/* What the panel's Open did. */
typedef struct
{
  gboolean claimed_emitted;
  NsQueueSession *session;   /* owned */
  char *opened;
  gboolean lost;
} Opened;

static void
on_case_claimed (NsQueuePanel *panel, NsQueueSession *session, Opened *o)
{
  NsQueueSession *old = o->session;

  o->claimed_emitted = TRUE;
  o->session = session != NULL ? g_object_ref (session) : NULL;
  g_clear_object (&old);
}

static void
on_open_case (NsQueuePanel *panel, const char *path, Opened *o)
{
  g_assert_true (o->claimed_emitted); /* the claim comes first */
  g_free (o->opened);
  o->opened = g_strdup (path);
}

static void
opened_clear (Opened *o)
{
  g_clear_object (&o->session);
  g_clear_pointer (&o->opened, g_free);
  o->claimed_emitted = o->lost = FALSE;
}

static void
select_case (NsQueuePanel *panel, const char *case_id)
{
  for (guint i = 0; i < ns_queue_panel_get_n_rows (panel); i++)
    if (g_strcmp0 (ns_queue_panel_get_entry (panel, i)->case_id, case_id) == 0)
      {
        ns_queue_panel_select (panel, i);
        return;
      }
  g_error ("no row of %s", case_id);
}

static void
on_lost (NsQueueSession *session, const char *why, Opened *o)
{
  g_test_message ("lost: %s", why);
  o->lost = TRUE;
}

static gboolean
is_lost (gpointer data)
{
  return ((Opened *) data)->lost;
}

static void
test_claim (void)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *location = NULL;
  g_autoptr (NsDb) db = ns_test_open_fresh_db (&location);
  gint64 a = queue_case (db, "Claim_A", "ann");
  gint64 b = queue_case (db, "Claim_B", "ann");
  GtkWidget *win = window_with (ns_queue_panel_new (location));
  NsQueuePanel *panel = NS_QUEUE_PANEL (gtk_window_get_child (GTK_WINDOW (win)));
  GtkWidget *open = ns_test_find_button (GTK_WIDGET (panel), "_Open");
  Opened o = { 0 };

  ns_queue_panel_set_lease (panel, 3); /* renewed every second */
  g_signal_connect (panel, "case-claimed", G_CALLBACK (on_case_claimed), &o);
  g_signal_connect (panel, "open-case", G_CALLBACK (on_open_case), &o);
  select_case (panel, "Claim_A");
  click (open);
  g_assert_nonnull (o.session);
  g_assert_cmpint (ns_queue_session_get_case_id (o.session), ==, a);
  g_assert_nonnull (o.opened);
  g_assert_cmpstr (o.opened, ==, ns_queue_dup_entry (db, "Claim_A", NULL)->path);
  {
    g_autoptr (NsQueueClaim) c = ns_queue_dup_claim (db, a, &error);

    g_assert_no_error (error);
    g_assert_nonnull (c);
    g_assert_cmpstr (c->who, ==, g_get_user_name ());
    g_assert_cmpstr (c->token, ==, ns_queue_session_get_token (o.session));
  }
  {
    g_autofree char *taken = g_strdup_printf ("taken by %s on ", g_get_user_name ());

    select_case (panel, "Claim_A");
    assert_row_shows (panel, gtk_list_box_row_get_index (gtk_list_box_get_selected_row (
                        GTK_LIST_BOX (ns_test_find_widget (GTK_WIDGET (panel),
                                                           GTK_TYPE_LIST_BOX)))), taken);
  }
  g_assert_true (ns_queue_session_check (o.session, &error));
  g_assert_no_error (error);
  /* opened again: under the same claim, no question */
  {
    NsQueueSession *first = o.session;

    select_case (panel, "Claim_A");
    click (open);
    g_assert_null (ns_queue_panel_get_question (panel));
    g_assert_true (o.session == first);
    g_assert_true (ns_queue_session_check (o.session, &error));
    g_assert_no_error (error);
  }

  /* a colleague takes it over from another workstation: noticed at the next renewal */
  g_signal_connect (o.session, "lost", G_CALLBACK (on_lost), &o);
  other_workstation (location, "queue", "take-over", "Claim_A", "--who", "bob", "--note",
                     "ann is away", NULL);
  g_assert_true (ns_test_wait_until (is_lost, &o, 30));
  g_assert_false (ns_queue_session_check (o.session, &error));
  g_assert_error (error, NS_DATA_ERROR, NS_DATA_ERROR_REFUSED);
  g_test_message ("save refused: %s", error->message);
  g_assert_nonnull (strstr (error->message, "You no longer hold case Claim_A"));
  g_assert_nonnull (strstr (error->message, "bob"));
  g_assert_nonnull (strstr (error->message, "your edits are kept"));
  g_clear_error (&error);
  /* and the queue itself refuses a correction under the lost claim */
  {
    g_autofree char *mask = ns_test_fresh_path ("late.nii.gz");
    NsQueueAnnotation late = { mask, NULL, 0, NULL, NAN,
                               ns_queue_session_get_token (o.session) };

    ns_test_write_mask (mask, 2, 12, FALSE);
    g_assert_cmpint (ns_queue_add (db, o.opened, &late, &error), ==, 0);
    g_assert_error (error, NS_DATA_ERROR, NS_DATA_ERROR_REFUSED);
    g_clear_error (&error);
  }
  opened_clear (&o); /* the lost claim is bob's: nothing released */
  {
    g_autoptr (NsQueueClaim) c = ns_queue_dup_claim (db, a, &error);

    g_assert_no_error (error);
    g_assert_cmpstr (c->who, ==, "bob");
  }

  /* closing a case gives its claim back, recorded */
  select_case (panel, "Claim_B");
  click (open);
  g_assert_nonnull (o.session);
  g_assert_nonnull (ns_queue_dup_claim (db, b, NULL));
  opened_clear (&o);
  {
    g_autoptr (NsQueueClaim) c = ns_queue_dup_claim (db, b, &error);
    g_autoptr (GPtrArray) history = ns_queue_list_claim_history (db, b, &error);

    g_assert_no_error (error);
    g_assert_null (c);
    g_assert_cmpuint (history->len, ==, 2);
    g_assert_cmpstr (((NsQueueClaimEvent *) history->pdata[1])->event, ==, "release");
  }
  g_signal_handlers_disconnect_by_data (panel, &o);
  gtk_window_destroy (GTK_WINDOW (win));
  ns_test_drain ();
}

static gboolean
question_gone (gpointer data)
{
  return ns_queue_panel_get_question (data) == NULL;
}

static void
test_taken (void)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *location = NULL;
  g_autoptr (NsDb) db = ns_test_open_fresh_db (&location);
  gint64 a = queue_case (db, "Taken_A", "ann");
  GtkWidget *win;
  NsQueuePanel *panel;
  GtkWidget *open;
  GtkWindow *question;
  Opened o = { 0 };
  g_autofree char *secondary = NULL;

  other_workstation (location, "queue", "claim", "Taken_A", "--who", "bob", "--lease", "3600",
                     NULL);
  win = window_with (ns_queue_panel_new (location));
  panel = NS_QUEUE_PANEL (gtk_window_get_child (GTK_WINDOW (win)));
  open = ns_test_find_button (GTK_WIDGET (panel), "_Open");
  g_signal_connect (panel, "case-claimed", G_CALLBACK (on_case_claimed), &o);
  g_signal_connect (panel, "open-case", G_CALLBACK (on_open_case), &o);
  select_case (panel, "Taken_A");
  click (open);
  question = ns_queue_panel_get_question (panel);
  g_assert_nonnull (question);
  g_assert_false (o.claimed_emitted);
  g_object_get (question, "secondary-text", &secondary, NULL);
  g_test_message ("%s", secondary);
  /* who and since when first, in words: "Claimed by bob on <host> since 09:12 today." (or
   * the date, past midnight) */
  g_assert_true (g_str_has_prefix (secondary, "Claimed by bob on "));
  g_assert_true (g_regex_match_simple ("^Claimed by bob on \\S+ since ([0-9]{2}:[0-9]{2} today"
                                       "|[0-9]+ \\S+ [0-9]{4}, [0-9]{2}:[0-9]{2})\\.",
                                       secondary, 0, 0));
  /* the database only in the details */
  {
    g_autoptr (NsDb) ro = ns_db_open_readonly (location, &error);
    const char *where = ns_db_get_path (ro);
    GtkWidget *expander = ns_test_find_named (GTK_WIDGET (question), "taken-details");
    GtkWidget *details;

    g_assert_no_error (error);
    g_assert_null (strstr (secondary, where));
    g_assert_nonnull (expander);
    details = gtk_expander_get_child (GTK_EXPANDER (expander));  /* collapsed: not a child */
    g_assert_nonnull (details);
    g_test_message ("details: %s", gtk_label_get_text (GTK_LABEL (details)));
    g_assert_nonnull (strstr (gtk_label_get_text (GTK_LABEL (details)), where));
  }
  {
    GtkWidget *take = ns_test_find_button (GTK_WIDGET (question), "_Take Over");

    g_assert_nonnull (take);
    g_assert_true (gtk_widget_has_css_class (take, "destructive-action"));
  }

  /* read-only: opened, no claim, bob still holds it */
  click (ns_test_find_button (GTK_WIDGET (question), "Open _Read-Only"));
  g_assert_true (ns_test_wait_until (question_gone, panel, 5));
  g_assert_true (o.claimed_emitted);
  g_assert_null (o.session);
  g_assert_nonnull (o.opened);
  {
    g_autoptr (NsQueueClaim) c = ns_queue_dup_claim (db, a, &error);
    const char *reason = NULL;

    g_assert_no_error (error);
    g_assert_cmpstr (c->who, ==, "bob");
    g_assert_cmpint (ns_queue_panel_get_read_only_case (panel, &reason), ==, a);
    g_assert_true (g_str_has_prefix (reason, "claimed by bob on "));
  }
  opened_clear (&o);

  /* take over: recorded, with the previous holder and a note */
  select_case (panel, "Taken_A");
  click (open);
  question = ns_queue_panel_get_question (panel);
  g_assert_nonnull (question);
  click (ns_test_find_button (GTK_WIDGET (question), "_Take Over"));
  g_assert_true (ns_test_wait_until (question_gone, panel, 5));
  g_assert_nonnull (o.session);
  {
    g_autoptr (NsQueueClaim) c = ns_queue_dup_claim (db, a, &error);
    g_autoptr (GPtrArray) history = ns_queue_list_claim_history (db, a, &error);
    const NsQueueClaimEvent *last;

    g_assert_no_error (error);
    g_assert_cmpstr (c->who, ==, g_get_user_name ());
    last = history->pdata[history->len - 1];
    g_assert_cmpstr (last->event, ==, "take-over");
    g_test_message ("take-over note: %s", last->note);
    g_assert_nonnull (strstr (last->note, "bob"));
    g_assert_nonnull (strstr (last->note, "taken over in the queue panel"));
  }
  opened_clear (&o);
  g_signal_handlers_disconnect_by_data (panel, &o);
  gtk_window_destroy (GTK_WINDOW (win));
  ns_test_drain ();
}

/* ---- read-only ----------------------------------------------------------------------- */

static gboolean
window_editing (gpointer window)
{
  return ns_test_window_idle (window) && ns_test_window_doc (window) != NULL;
}

static guint64
count_labelled_bytes (const guint8 *labels, gsize n)
{
  guint64 count = 0;

  for (gsize v = 0; v < n; v++)
    count += labels[v] != 0;
  return count;
}

static guint64
count_labelled (const NsLabelMap *map)
{
  return count_labelled_bytes (map->labels, ns_grid_n_voxels (&map->grid));
}

/* A brush stroke across the middle of the axial view, through the gesture's path. */
static void
stroke (NsWindow *window)
{
  NsSliceView *axial = ns_window_get_slice_view (window, NS_PLANE_AXIAL);
  double w = gtk_widget_get_width (GTK_WIDGET (axial));
  double h = gtk_widget_get_height (GTK_WIDGET (axial));
  const double xy[6] = { 0.35 * w, 0.5 * h, 0.5 * w, 0.5 * h, 0.65 * w, 0.5 * h };

  ns_editor_set_tool (ns_test_window_editor (window), NS_TOOL_BRUSH);
  ns_editor_set_label (ns_test_window_editor (window), 1);
  ns_editor_set_radius (ns_test_window_editor (window), 3);
  ns_slice_view_paint_path (axial, 0, xy, 3);
  ns_test_drain ();
}

static void
on_refused (NsEditor *editor, const char *reason, guint *n)
{
  (*n)++;
}

static void
test_read_only (void)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *location = NULL;
  g_autoptr (NsDb) db = ns_test_open_fresh_db (&location);
  gint64 a = queue_case (db, "Held_A", "ann");
  g_autofree char *old_db = g_strdup (g_getenv ("NEUROSEG_DB"));
  NsWindow *window;
  NsQueuePanel *panel;
  GtkWindow *question;
  GtkWidget *bar, *tools;
  NsEditor *editor;
  NsLabelMap *map;
  g_autofree guint8 *before = NULL;
  guint n_undo, refused = 0;
  gsize n;

  /* the workbench's queue is this database */
  g_setenv ("NEUROSEG_DB", location, TRUE);
  other_workstation (location, "queue", "claim", "Held_A", "--who", "bob", "--lease", "3600",
                     NULL);
  window = ns_window_new (NULL);
  gtk_window_set_default_size (GTK_WINDOW (window), 1200, 800);
  gtk_window_present (GTK_WINDOW (window));
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (window), "train.queue", NULL));
  ns_test_drain ();
  {
    GListModel *toplevels = gtk_window_get_toplevels ();

    panel = NULL;
    for (guint i = 0; i < g_list_model_get_n_items (toplevels) && panel == NULL; i++)
      {
        g_autoptr (GtkWindow) w = g_list_model_get_item (toplevels, i);

        if (g_strcmp0 (gtk_window_get_title (w), "Fine-tuning Queue") == 0)
          panel = NS_QUEUE_PANEL (ns_test_find_widget (GTK_WIDGET (w), NS_TYPE_QUEUE_PANEL));
      }
  }
  g_assert_nonnull (panel);
  select_case (panel, "Held_A");
  ns_queue_panel_open_selected (panel);
  question = ns_queue_panel_get_question (panel);
  g_assert_nonnull (question);
  click (ns_test_find_button (GTK_WIDGET (question), "Open _Read-Only"));
  g_assert_true (ns_test_wait_until (question_gone, panel, 5));
  g_assert_true (ns_test_wait_until (window_editing, window, 60));
  ns_window_set_layout (window, "grid");
  g_assert_true (ns_test_wait_until (ns_test_window_views_allocated, window, 10));

  /* what the user sees: who holds it since when, Take Over; the tools insensitive */
  editor = ns_test_window_editor (window);
  g_signal_connect (editor, "edit-refused", G_CALLBACK (on_refused), &refused);
  g_assert_nonnull (ns_editor_get_read_only (editor));
  g_assert_true (g_str_has_prefix (ns_editor_get_read_only (editor), "claimed by bob on "));
  bar = ns_test_find_named (GTK_WIDGET (window), "read-only-infobar");
  g_assert_true (gtk_widget_get_visible (bar));
  g_assert_true (g_str_has_prefix (gtk_label_get_text (GTK_LABEL (ns_test_find_named (
                                     bar, "read-only-message"))), "Read only: claimed by bob"));
  g_assert_true (ns_test_window_action_enabled (window, "seg.take-over"));
  tools = ns_test_find_widget (GTK_WIDGET (window), NS_TYPE_TOOL_PANEL);
  g_assert_nonnull (tools);
  g_assert_false (gtk_widget_is_sensitive (tools));
  g_assert_false (ns_test_window_action_enabled (window, "win.undo"));
  g_assert_false (ns_test_window_action_enabled (window, "edit.interpolate"));
  g_assert_false (ns_test_window_action_enabled (window, "seg.run-model"));
  g_assert_false (ns_test_window_action_enabled (window, "seg.mark-corrected"));

  /* every path that writes: nothing changes, nothing is recorded */
  map = ns_test_window_labels (window);
  n = ns_grid_n_voxels (&map->grid);
  before = g_memdup2 (map->labels, n);
  n_undo = ns_history_n_undo (ns_test_window_history (window));
  stroke (window);
  g_assert_cmpmem (map->labels, n, before, n);
  /* Ctrl+Z's action (off: GTK does not run it), and the editor's own undo */
  gtk_widget_activate_action (GTK_WIDGET (window), "win.undo", NULL);
  g_assert_cmpuint (ns_editor_undo (editor, 1), ==, 0);
  {
    g_autofree guint8 *all = g_malloc (n);

    memset (all, 2, n);
    g_assert_false (ns_editor_replace (editor, all, "Run Model"));
    /* a change a tool already applied (Refine, the cleanup tools): put back */
    g_autoptr (NsEditChange) c = ns_edit_replace_labels (map, all, "Refine");
    g_assert_true (ns_editor_commit_applied (editor, g_steal_pointer (&c)));
  }
  g_assert_cmpmem (map->labels, n, before, n);
  g_assert_cmpuint (ns_history_n_undo (ns_test_window_history (window)), ==, n_undo);
  g_assert_false (ns_editor_is_modified (editor));
  g_assert_cmpuint (refused, >=, 3);

  /* Take Over (the infobar's button): claimed by the user, editable, the stroke paints */
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (window), "seg.take-over", NULL));
  ns_test_drain ();
  g_assert_null (ns_editor_get_read_only (editor));
  g_assert_false (gtk_widget_get_visible (bar));
  g_assert_true (gtk_widget_is_sensitive (tools));
  {
    g_autoptr (NsQueueClaim) c = ns_queue_dup_claim (db, a, &error);

    g_assert_no_error (error);
    g_assert_cmpstr (c->who, ==, g_get_user_name ());
  }
  stroke (window);
  g_assert_cmpuint (count_labelled (map), >, count_labelled_bytes (before, n));
  g_assert_cmpuint (ns_history_n_undo (ns_test_window_history (window)), ==, n_undo + 1);
  g_assert_true (ns_test_window_action_enabled (window, "win.undo"));

  g_signal_handlers_disconnect_by_data (editor, &refused);
  ns_editor_discard_changes (editor);
  gtk_window_destroy (GTK_WINDOW (window));
  ns_test_drain ();
  if (old_db != NULL)
    g_setenv ("NEUROSEG_DB", old_db, TRUE);
  else
    g_unsetenv ("NEUROSEG_DB");
}

static GtkWidget *
find_check (GtkWidget *widget, const char *label)
{
  if (GTK_IS_CHECK_BUTTON (widget)
      && g_strcmp0 (gtk_check_button_get_label (GTK_CHECK_BUTTON (widget)), label) == 0)
    return widget;
  for (GtkWidget *c = gtk_widget_get_first_child (widget); c != NULL;
       c = gtk_widget_get_next_sibling (c))
    {
      GtkWidget *found = find_check (c, label);

      if (found != NULL)
        return found;
    }
  return NULL;
}

static gboolean
training_done (gpointer data)
{
  return ns_train_panel_get_state (data) != NS_TRAIN_RUNNING;
}

/* Starts a run of the dialog's request with an option that makes the trainer stop at
 * once (the folders and the record are made before it starts); returns the run's case
 * folder. */
static char *
start_run (NsFineTuneDialog *dialog, const char *location, NsRun **run_out, GError **error)
{
  NsTrainRequest request = { 0 };
  NsTrainPanel *panel = NS_TRAIN_PANEL (g_object_ref_sink (ns_train_panel_new (location)));
  g_autoptr (NsDb) db = NULL;
  g_autoptr (GPtrArray) runs = NULL;
  gboolean ok;

  g_assert_true (ns_fine_tune_dialog_get_request (dialog, &request, NULL));
  request.output = ns_test_fresh_path ("model.safetensors");
  g_strfreev (request.extra_args);
  request.extra_args = g_strdupv ((char *[]) { "--no-such-option", NULL });
  ok = ns_train_panel_start (panel, &request, error);
  if (!ok)
    {
      g_object_unref (panel);
      ns_train_request_clear (&request);
      return NULL;
    }
  g_assert_true (ns_test_wait_until (training_done, panel, 30));
  g_object_unref (panel);
  db = ns_db_open (location, NULL);
  runs = ns_runs_list (db, NULL);
  *run_out = g_steal_pointer (&runs->pdata[runs->len - 1]);
  {
    char *cases = g_strdup_printf ("%s.cases", request.output);

    ns_train_request_clear (&request);
    return cases;
  }
}

static void
test_fine_tune (void)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *location = NULL;
  g_autoptr (NsDb) db = ns_test_open_fresh_db (&location);
  gint64 a = queue_case (db, "Fine_A", "ann");
  gint64 b = queue_case (db, "Fine_B", "ann");
  NsFineTuneDialog *dialog;
  GtkWidget *check;
  NsRun *run = NULL;
  g_autofree char *cases = NULL;

  queue_case (db, "Fine_C", "ann");
  /* nothing reviewed yet: every correction by default */
  dialog = ns_fine_tune_dialog_new (NULL, location);
  check = find_check (GTK_WIDGET (dialog), "_Accepted corrections only");
  g_assert_nonnull (check);
  g_assert_false (gtk_check_button_get_active (GTK_CHECK_BUTTON (check)));
  gtk_window_destroy (GTK_WINDOW (dialog));

  g_assert_true (ns_queue_review (db, a, 0, NS_QUEUE_REVIEW_ACCEPTED, "rev", NULL, &error));
  g_assert_true (ns_queue_review (db, b, 0, NS_QUEUE_REVIEW_SENT_BACK, "rev", "slice 3",
                                  &error));
  g_assert_no_error (error);
  dialog = ns_fine_tune_dialog_new (NULL, location);
  check = find_check (GTK_WIDGET (dialog), "_Accepted corrections only");
  g_assert_true (gtk_check_button_get_active (GTK_CHECK_BUTTON (check)));

  cases = start_run (dialog, location, &run, &error);
  g_assert_no_error (error);
  g_test_message ("run: %s", run->command);
  g_assert_nonnull (strstr (run->command, "# cases: accepted corrections only: 1 of 3 queued "
                                          "(left out: Fine_B sent back, Fine_C unreviewed)"));
  g_assert_cmpuint (run->cases->len, ==, 1);
  g_assert_cmpint (g_array_index (run->cases, gint64, 0), ==, a);
  {
    g_autofree char *seg = g_build_filename (cases, "Fine_A", "Fine_A_seg.nii.gz", NULL);
    g_autofree char *b_dir = g_build_filename (cases, "Fine_B", NULL);
    g_autofree char *sum = NULL;
    g_autoptr (NsQueueEntry) e = ns_queue_dup_entry (db, "Fine_A", &error);

    g_assert_no_error (error);
    /* the stored mask written out, not a link to a file of some workstation */
    g_assert_true (g_file_test (seg, G_FILE_TEST_IS_REGULAR));
    g_assert_false (g_file_test (seg, G_FILE_TEST_IS_SYMLINK));
    g_assert_nonnull (e->mask_sha256);
    sum = ns_test_file_sum (seg);
    g_assert_cmpstr (sum, ==, e->mask_sha256);
    g_assert_false (g_file_test (b_dir, G_FILE_TEST_EXISTS));
  }
  g_clear_pointer (&run, ns_run_free);
  g_clear_pointer (&cases, g_free);

  /* unticked: every correction, said so */
  gtk_check_button_set_active (GTK_CHECK_BUTTON (check), FALSE);
  cases = start_run (dialog, location, &run, &error);
  g_assert_no_error (error);
  g_assert_nonnull (strstr (run->command, "# cases: every queued correction: 3"));
  g_assert_cmpuint (run->cases->len, ==, 3);
  g_clear_pointer (&run, ns_run_free);
  gtk_window_destroy (GTK_WINDOW (dialog));

  /* none accepted: refused before anything starts, saying why */
  g_assert_true (ns_queue_review (db, a, 0, NS_QUEUE_REVIEW_SENT_BACK, "rev", "no", &error));
  dialog = ns_fine_tune_dialog_new (NULL, location);
  check = find_check (GTK_WIDGET (dialog), "_Accepted corrections only");
  g_assert_true (gtk_check_button_get_active (GTK_CHECK_BUTTON (check)));
  g_assert_null (start_run (dialog, location, &run, &error));
  g_assert_nonnull (error);
  g_test_message ("%s", error->message);
  g_assert_nonnull (strstr (error->message, "none of the 3 queued corrections was accepted"));
  gtk_window_destroy (GTK_WINDOW (dialog));
  ns_test_drain ();
}

static gboolean
bar_hidden (gpointer data)
{
  return !gtk_widget_get_visible (data);
}

static void
test_server_away (void)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *location = NULL;
  NsDb *db = ns_test_open_fresh_db (&location);
  gint64 a = queue_case (db, "Server_A", "ann");
  GtkWidget *win = window_with (ns_queue_panel_new (location));
  NsQueuePanel *panel = NS_QUEUE_PANEL (gtk_window_get_child (GTK_WINDOW (win)));
  GtkWidget *bar = ns_test_find_named (GTK_WIDGET (panel), "queue-server-bar");
  GtkWidget *text = ns_test_find_named (GTK_WIDGET (panel), "queue-server-message");

  ns_db_close (db);
  g_assert_nonnull (bar);
  g_assert_false (gtk_widget_get_visible (bar));
  select_case (panel, "Server_A");

  ns_test_pg_stop (FALSE);
  click (ns_test_find_button (GTK_WIDGET (panel), "_Accept"));
  g_assert_true (gtk_widget_get_visible (bar));
  g_test_message ("%s", gtk_label_get_text (GTK_LABEL (text)));
  g_assert_nonnull (strstr (gtk_label_get_text (GTK_LABEL (text)),
                            "cannot be reached: the review of Server_A (accepted) is not "
                            "recorded yet (nothing was changed); it is tried again"));
  g_assert_cmpuint (ns_queue_panel_get_n_rows (panel), ==, 1); /* the list stays */

  ns_test_pg_restart ();
  g_assert_true (ns_test_wait_until (bar_hidden, bar, 30));
  db = ns_db_open (location, &error);
  g_assert_no_error (error);
  {
    g_autoptr (GPtrArray) reviews = ns_queue_list_reviews (db, a, &error);

    g_assert_no_error (error);
    g_assert_cmpuint (reviews->len, ==, 1); /* once, not twice */
    g_assert_cmpint (((NsQueueReviewItem *) reviews->pdata[0])->verdict, ==,
                     NS_QUEUE_REVIEW_ACCEPTED);
  }
  assert_row_shows (panel, 0, "accepted by ");
  ns_db_close (db);
  gtk_window_destroy (GTK_WINDOW (win));
  ns_test_drain ();

  /* Mark Corrected of an edited case while the server is away */
  {
    g_autofree char *dir = ns_test_make_case ("Server_B", ".nii.gz");
    g_autoptr (NsCase) ncase = ns_case_load (dir, NS_CASE_LOAD_DEFAULT, &error);
    NsViewer *viewer;
    NsEditor *editor;
    NsModelRunner *runner;
    g_autofree char *folder = NULL, *mask = NULL, *local_sum = NULL;
    gint64 id;

    g_assert_no_error (error);
    viewer = ns_viewer_new ();
    ns_viewer_set_case (viewer, ncase);
    editor = ns_editor_new (viewer);
    g_assert_true (ns_editor_open (editor, NULL, &error));
    runner = ns_model_runner_new (viewer);
    ns_model_runner_set_editor (runner, editor);
    {
      NsLabelMap *map = ns_mask_doc_get_map (ns_editor_get_doc (editor));
      gsize n = ns_grid_n_voxels (&map->grid);
      g_autofree guint8 *edited = g_malloc0 (n);

      for (gsize v = n / 3; v < n / 2; v++)
        edited[v] = 2;
      ns_mask_doc_replace (ns_editor_get_doc (editor), edited, "test edit");
    }
    ns_test_pg_stop (FALSE);
    id = ns_model_runner_mark_corrected (runner, editor, location, &error);
    g_assert_cmpint (id, ==, 0);
    g_assert_error (error, NS_DATA_ERROR, NS_DATA_ERROR_UNAVAILABLE);
    g_test_message ("server away: %s", error->message);
    g_assert_nonnull (strstr (error->message, "cannot be reached"));
    g_clear_error (&error);
    folder = ns_corrections_dup_case_folder (ncase);
    mask = g_build_filename (folder, "Server_B_mask.nii.gz", NULL);
    g_assert_true (g_file_test (mask, G_FILE_TEST_IS_REGULAR)); /* saved here */
    local_sum = ns_test_file_sum (mask);

    ns_test_pg_restart ();
    id = ns_model_runner_mark_corrected (runner, editor, location, &error);
    g_assert_no_error (error);
    g_assert_cmpint (id, >, 0);
    db = ns_db_open (location, &error);
    g_assert_no_error (error);
    {
      g_autoptr (NsQueueEntry) e = ns_queue_dup_entry (db, "Server_B", &error);
      g_autofree char *back = ns_test_fresh_path ("back.nii.gz");
      g_autoptr (NsLabelMap) stored = NULL;
      NsLabelMap *map = ns_mask_doc_get_map (ns_editor_get_doc (editor));

      g_assert_no_error (error);
      g_assert_cmpint (e->n_annotations, ==, 1); /* once */
      stored = ns_queue_dup_mask (db, e->annotation_id, &error);
      g_assert_no_error (error);
      g_assert_cmpmem (stored->labels, ns_grid_n_voxels (&stored->grid), map->labels,
                       ns_grid_n_voxels (&map->grid));
    }
    ns_db_close (db);
    g_object_unref (runner);
    g_object_unref (editor);
    g_object_unref (viewer);
  }
}

/* ---- the user's place in the queue ---------------------------------------------------- */

static void
count_cb (gpointer instance, guint *n)
{
  (*n)++;
}

static void
count_notify_cb (GObject *object, GParamSpec *pspec, guint *n)
{
  (*n)++;
}

#define PLACE_N_CASES 16
#define PLACE_ROW 9      /* the user's row */
#define PLACE_CLAIMED 3  /* the colleague's */

/* The queue is read again on every change in the team (a colleague's claim or review):
 * the user walking the list with the keyboard, on a selected row of a scrolled list, must
 * stay there, and a reload that finds nothing new must not touch a widget.  Before, every
 * reload removed all rows and made new ones: the focused row was gone (the keyboard's place
 * lost), the selection was made again. */
static void
test_keeps_place (void)
{
  g_autofree char *location = NULL;
  g_autoptr (NsDb) db = ns_test_open_fresh_db (&location);
  g_autoptr (GError) error = NULL;
  GtkListBoxRow *rows[PLACE_N_CASES];
  guint label_notes[PLACE_N_CASES] = { 0 };
  guint selection_changes = 0;
  GtkAdjustment *vadj;
  GtkListBox *list;
  NsQueuePanel *panel;
  GtkWidget *win;
  double scrolled;

  for (int i = 0; i < PLACE_N_CASES; i++)
    {
      g_autofree char *id = g_strdup_printf ("Place_%02d", i);

      queue_case (db, id, "ann");
    }
  win = window_with (ns_queue_panel_new (location));
  gtk_window_set_default_size (GTK_WINDOW (win), 600, 260);
  panel = NS_QUEUE_PANEL (gtk_window_get_child (GTK_WINDOW (win)));
  list = GTK_LIST_BOX (ns_test_find_widget (GTK_WIDGET (panel), GTK_TYPE_LIST_BOX));
  g_assert_cmpuint (ns_queue_panel_get_n_rows (panel), ==, PLACE_N_CASES);
  ns_test_spin (0.2);

  /* the user is on a row further down: selected, focused, the list scrolled to it */
  ns_queue_panel_select (panel, PLACE_ROW);
  gtk_widget_grab_focus (GTK_WIDGET (gtk_list_box_get_row_at_index (list, PLACE_ROW)));
  vadj = gtk_scrolled_window_get_vadjustment (
    GTK_SCROLLED_WINDOW (gtk_widget_get_ancestor (GTK_WIDGET (list), GTK_TYPE_SCROLLED_WINDOW)));
  g_assert_cmpfloat (gtk_adjustment_get_upper (vadj), >, gtk_adjustment_get_page_size (vadj));
  scrolled = MIN (40.0, gtk_adjustment_get_upper (vadj) - gtk_adjustment_get_page_size (vadj));
  gtk_adjustment_set_value (vadj, scrolled);
  ns_test_spin (0.2);
  for (int i = 0; i < PLACE_N_CASES; i++)
    {
      rows[i] = gtk_list_box_get_row_at_index (list, i);
      g_signal_connect (gtk_list_box_row_get_child (rows[i]), "notify::label",
                        G_CALLBACK (count_notify_cb), &label_notes[i]);
    }
  g_signal_connect (list, "selected-rows-changed", G_CALLBACK (count_cb), &selection_changes);

  /* a colleague claims another case (another connection): that row says so */
  other_workstation (location, "queue", "claim", "Place_03", "--who", "bob", NULL);
  assert_row_shows (panel, PLACE_CLAIMED, "taken by bob");
  ns_test_spin (0.2);
  for (int i = 0; i < PLACE_N_CASES; i++)
    {
      g_assert_true (gtk_list_box_get_row_at_index (list, i) == rows[i]);
      g_assert_cmpuint (label_notes[i], ==, i == PLACE_CLAIMED ? 1 : 0);
    }
  g_assert_true (gtk_list_box_get_selected_row (list) == rows[PLACE_ROW]);
  g_assert_true (gtk_root_get_focus (GTK_ROOT (win)) == GTK_WIDGET (rows[PLACE_ROW]));
  g_assert_cmpuint (selection_changes, ==, 0);
  g_assert_cmpfloat (gtk_adjustment_get_value (vadj), ==, scrolled);

  /* a reload with nothing changed changes nothing */
  g_assert_true (ns_queue_panel_refresh (panel, &error));
  g_assert_no_error (error);
  ns_test_spin (0.2);
  for (int i = 0; i < PLACE_N_CASES; i++)
    {
      g_assert_true (gtk_list_box_get_row_at_index (list, i) == rows[i]);
      g_assert_cmpuint (label_notes[i], ==, i == PLACE_CLAIMED ? 1 : 0);
    }
  g_assert_cmpuint (selection_changes, ==, 0);
  g_assert_true (gtk_root_get_focus (GTK_ROOT (win)) == GTK_WIDGET (rows[PLACE_ROW]));
  g_assert_cmpfloat (gtk_adjustment_get_value (vadj), ==, scrolled);

  g_signal_handlers_disconnect_by_data (list, &selection_changes);
  gtk_window_destroy (GTK_WINDOW (win));
  ns_test_drain ();
}

static gboolean
n_rows_is (gpointer data)
{
  NsQueuePanel *panel = ((gpointer *) data)[0];

  return ns_queue_panel_get_n_rows (panel) == GPOINTER_TO_UINT (((gpointer *) data)[1]);
}

static void
test_row_gone (void)
{
  g_autofree char *location = NULL;
  g_autoptr (NsDb) db = ns_test_open_fresh_db (&location);
  g_autoptr (GError) error = NULL;
  GtkListBoxRow *rows[5];
  gint64 ids[5];
  GtkListBox *list;
  NsQueuePanel *panel;
  GtkWidget *win;

  for (int i = 0; i < 5; i++)
    {
      g_autofree char *id = g_strdup_printf ("Gone_%d", i);

      ids[i] = queue_case (db, id, "ann");
    }
  win = window_with (ns_queue_panel_new (location));
  panel = NS_QUEUE_PANEL (gtk_window_get_child (GTK_WINDOW (win)));
  list = GTK_LIST_BOX (ns_test_find_widget (GTK_WIDGET (panel), GTK_TYPE_LIST_BOX));
  g_assert_cmpuint (ns_queue_panel_get_n_rows (panel), ==, 5);
  for (int i = 0; i < 5; i++)
    rows[i] = gtk_list_box_get_row_at_index (list, i);
  ns_queue_panel_select (panel, 2);
  gtk_widget_grab_focus (GTK_WIDGET (rows[2]));
  ns_test_drain ();

  g_assert_true (ns_queue_remove (db, ids[2], &error));
  g_assert_no_error (error);
  {
    gpointer wait[2] = { panel, GUINT_TO_POINTER (4) };

    g_assert_true (ns_test_wait_until (n_rows_is, wait, 30));
  }
  g_assert_true (gtk_list_box_get_row_at_index (list, 0) == rows[0]);
  g_assert_true (gtk_list_box_get_row_at_index (list, 1) == rows[1]);
  g_assert_true (gtk_list_box_get_row_at_index (list, 2) == rows[3]);
  g_assert_true (gtk_list_box_get_row_at_index (list, 3) == rows[4]);
  g_assert_cmpint (ns_queue_panel_get_entry (panel, 2)->id, ==, ids[3]);
  g_assert_true (gtk_root_get_focus (GTK_ROOT (win)) == GTK_WIDGET (rows[3]));
  g_assert_null (gtk_list_box_get_selected_row (list));   /* the chosen case is gone */
  gtk_window_destroy (GTK_WINDOW (win));
  ns_test_drain ();
}

int
main (int argc, char **argv)
{
  g_autofree char *xdg = NULL;

  /* no session bus, no accessibility bus: GTK's warnings about them are not this test's */
  g_setenv ("GTK_A11Y", "none", TRUE);
  g_setenv ("GSETTINGS_BACKEND", "memory", TRUE);
  xdg = g_build_filename (ns_test_tmpdir (), "xdg", NULL);
  g_setenv ("XDG_DATA_HOME", xdg, TRUE);
  g_setenv ("XDG_CACHE_HOME", xdg, TRUE);
  g_setenv ("XDG_STATE_HOME", xdg, TRUE);
  g_setenv ("NEUROSEG_DATA_DIR", xdg, TRUE);
  g_test_init (&argc, &argv, NULL);
  ns_test_db_init ();
  gtk_init ();
  g_test_add_func ("/ui/team/live-queue", test_live_queue);
  g_test_add_func ("/ui/team/live-models", test_live_models);
  g_test_add_func ("/ui/team/review", test_review);
  g_test_add_func ("/ui/team/claim", test_claim);
  g_test_add_func ("/ui/team/taken", test_taken);
  g_test_add_func ("/ui/team/read-only", test_read_only);
  g_test_add_func ("/ui/team/fine-tune", test_fine_tune);
  g_test_add_func ("/ui/team/keeps-place", test_keeps_place);
  g_test_add_func ("/ui/team/row-gone", test_row_gone);
  if (ns_test_db_is_server ())
    g_test_add_func ("/ui/team/server-away", test_server_away);
  return g_test_run ();
}
