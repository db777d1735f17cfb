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
 */
#define G_LOG_DOMAIN "test-ui-team"

#include "ns-config.h"

#include <gtk/gtk.h>
#include <math.h>
#include <string.h>

#include "ns-data-error.h"
#include "ns-models-dialog.h"
#include "ns-queue-panel.h"
#include "ns-queue.h"
#include "ns-registry.h"
#include "ns-test-queue.h"
#include "ns-test-util.h"
#include "ns-test-widget.h"

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
    g_autofree char *since = NULL;

    g_assert_no_error (error);
    since = g_strdup_printf ("since %s", e->claimed_since);
    assert_row_shows (panel, 0, since);
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
  return g_test_run ();
}
