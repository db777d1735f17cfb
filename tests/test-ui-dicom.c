/* SPDX-License-Identifier: MIT
 *
 * test-ui-dicom.c: a DICOM study in the workbench window (issue #18), on studies written
 * by tests/dicom/make-series.py (from a ../shared case, else a synthetic head):
 *
 *   - a study whose series say clearly what they are opens as a case folder, and one
 *     whose series were resampled onto one grid says so (NsCase.notes in an infobar);
 *   - a study with two series that look like the FLAIR asks which series is which
 *     (NsSeriesDialog, listing every series with a drop-down), then opens as assigned;
 *   - Run Model on the study, then File > Export > DICOM Segmentation writes the mask being
 *     edited as a DICOM-SEG that reads back to the same labels, and never replaces an
 *     existing file unasked.
 *
 * Runs under xvfb-run with NEUROSEG_DATA_DIR (the journals) in a temporary folder.
 */
#include "ns-config.h"

#include <gtk/gtk.h>
#include <string.h>

#include "ns-dicom.h"
#include "ns-series-dialog.h"
#include "ns-task.h"
#include "ns-test-dicom.h"
#include "ns-test-widget.h"
#include "ns-test-window.h"
#include "ns-window.h"

static NsWindow *window;

static gboolean
series_question (gpointer data)
{
  return NS_IS_SERIES_DIALOG (ns_window_get_question (window));
}

static gboolean
run_over (gpointer runner)
{
  return !ns_model_runner_is_running (runner);
}

/* Closes the message dialogs shown (the run's result). */
static void
close_messages (void)
{
  GListModel *toplevels = gtk_window_get_toplevels ();

  for (guint i = g_list_model_get_n_items (toplevels); i-- > 0;)
    {
      g_autoptr (GtkWindow) w = g_list_model_get_item (toplevels, i);

      if (GTK_IS_MESSAGE_DIALOG (w))
        gtk_window_destroy (w);
    }
}

static char *
study_dir (const char *name)
{
  return g_build_filename (ns_test_tmpdir (), name, NULL);
}

static void
open_and_wait (const char *dir)
{
  const char *paths[] = { dir, NULL };

  ns_window_open (window, paths);
  g_assert_true (ns_test_wait_until (ns_test_window_idle, window, 120));
  g_assert_null (ns_window_get_load_error (window));
  g_assert_nonnull (ns_editor_get_doc (ns_window_get_editor (window)));
}

static GtkWidget *
case_note_bar (void)
{
  GtkWidget *bar = ns_test_find_named (GTK_WIDGET (window), "case-note-infobar");

  g_assert_nonnull (bar);
  return bar;
}

static gboolean
action_enabled (const char *name)
{
  /* what a menu item or button for the action sees */
  gboolean enabled = FALSE;
  GtkWidget *button = gtk_button_new ();

  gtk_actionable_set_action_name (GTK_ACTIONABLE (button), name);
  gtk_box_append (GTK_BOX (gtk_window_get_child (GTK_WINDOW (window))), button);
  ns_test_drain ();
  enabled = gtk_widget_get_sensitive (button);
  gtk_box_remove (GTK_BOX (gtk_window_get_child (GTK_WINDOW (window))), button);
  return enabled;
}

/* A study whose series say what they are opens as any case; one on several grids says
 * what was resampled. */
static void
test_open_folder (void)
{
  g_autofree char *plain = study_dir ("auto");
  g_autofree char *coarse = study_dir ("coarse-t2");
  NsCase *ncase;

  open_and_wait (plain);
  ncase = ns_viewer_get_case (ns_window_get_viewer (window));
  g_assert_cmpuint (ns_case_n_modalities (ncase), ==, 4);
  g_assert_false (gtk_widget_get_visible (case_note_bar ()));
  g_assert_true (action_enabled ("win.export-dicom-seg"));

  open_and_wait (coarse);
  ncase = ns_viewer_get_case (ns_window_get_viewer (window));
  g_assert_nonnull (ncase->notes);
  g_assert_true (gtk_widget_get_visible (case_note_bar ()));
  {
    GtkWidget *label = ns_test_find_named (case_note_bar (), "case-note-message");
    const char *text = gtk_label_get_text (GTK_LABEL (label));

    g_test_message ("case note: %s", text);
    g_assert_nonnull (strstr (text, ncase->notes[0]));
    g_assert_nonnull (strstr (text, "t2: "));
  }

  /* a NIfTI case is no DICOM study: nothing to export as DICOM-SEG */
  open_and_wait (ns_test_sample_case ());
  g_assert_false (gtk_widget_get_visible (case_note_bar ()));
  g_assert_false (action_enabled ("win.export-dicom-seg"));
}

/* Two series look like the FLAIR: the window asks, listing every series, and opens the
 * study as assigned. */
static void
test_ambiguous (void)
{
  g_autofree char *dir = study_dir ("twin");
  const char *paths[] = { dir, NULL };
  NsSeriesDialog *dialog;
  GPtrArray *scan;
  guint flair3 = G_MAXUINT, flair7 = G_MAXUINT;
  NsCase *ncase;

  ns_window_open (window, paths);
  g_assert_true (ns_test_wait_until (series_question, NULL, 120));
  dialog = NS_SERIES_DIALOG (ns_window_get_question (window));
  scan = ns_series_dialog_get_scan (dialog);
  g_assert_cmpuint (scan->len, >=, 5);
  for (guint i = 0; i < scan->len; i++)
    {
      const NsDicomSeries *s = scan->pdata[i];
      g_autofree char *label = ns_dicom_series_dup_label (s);

      g_test_message ("series %u: %s -> %d", i, label, ns_series_dialog_get_sequence (dialog, i));
      if (s->number == 3)
        flair3 = i;
      if (s->number == 7)
        flair7 = i;
    }
  g_assert_cmpuint (flair3, <, scan->len);
  g_assert_cmpuint (flair7, <, scan->len);
  /* each sequence once to begin with: the first FLAIR-like series is the FLAIR */
  g_assert_cmpint (ns_series_dialog_get_sequence (dialog, flair3), ==, NS_MODALITY_FLAIR);
  g_assert_cmpint (ns_series_dialog_get_sequence (dialog, flair7), ==, -1);
  g_assert_true (ns_series_dialog_is_complete (dialog));
  /* two FLAIRs cannot be opened */
  ns_series_dialog_set_sequence (dialog, flair7, NS_MODALITY_FLAIR);
  g_assert_false (ns_series_dialog_is_complete (dialog));
  /* the other one is the FLAIR */
  ns_series_dialog_set_sequence (dialog, flair3, -1);
  g_assert_true (ns_series_dialog_is_complete (dialog));
  gtk_dialog_response (GTK_DIALOG (dialog), GTK_RESPONSE_OK);
  g_assert_true (ns_test_wait_until (ns_test_window_idle, window, 120));
  g_assert_null (ns_window_get_load_error (window));
  g_assert_null (ns_window_get_question (window));

  ncase = ns_viewer_get_case (ns_window_get_viewer (window));
  g_assert_nonnull (ncase);
  g_assert_cmpstr (ncase->dir, ==, dir);
  g_assert_nonnull (strstr (ncase->paths[NS_MODALITY_FLAIR], "flair2"));
  g_assert_cmpuint (ns_case_n_modalities (ncase), ==, 4);
  g_assert_nonnull (ns_editor_get_doc (ns_window_get_editor (window)));
}

static gboolean
asks_series (gpointer other)
{
  return NS_IS_SERIES_DIALOG (ns_window_get_question (other));
}

/* A second window closed while its study's series are read: the scan's worker (held back
 * by the test hook) still holds the window when the user closes it; the window goes
 * when the worker lets go, in the main thread.  Before, GTask's pool thread dropped the
 * last reference (the scan's source object), and the window was finalized there whenever
 * the user closed it first. */
static void
test_closed_while_reading (void)
{
  g_autofree char *dir = study_dir ("twin");
  const char *paths[] = { dir, NULL };
  GThread *finalized_in = NULL;
  NsWindow *other;

  ns_task_test_hold_releases (TRUE);
  other = ns_window_new (NULL);
  gtk_window_present (GTK_WINDOW (other));
  ns_window_open (other, paths);
  g_assert_true (ns_test_wait_until (asks_series, other, 120));
  ns_test_note_finalize_thread (G_OBJECT (other), &finalized_in);
  gtk_window_destroy (GTK_WINDOW (other));
  ns_test_assert_released_in_main (&finalized_in, 0.1, 30);
}

/* The prediction, then the mask as a DICOM-SEG; an existing file is not replaced unless the user said so. */
static void
test_export_seg (void)
{
  g_autofree char *dir = study_dir ("auto");
  g_autofree char *out = g_build_filename (ns_test_tmpdir (), "auto_seg.dcm", NULL);
  g_autoptr (GError) error = NULL;
  NsLabelMap *map;
  gsize n;

  open_and_wait (dir);
  /* Run Model on the study (the default model), as a person would before exporting */
  {
    NsModelRunner *runner =
      ns_ai_controller_get_runner (ns_window_get_ai_controller (window));

    ns_model_runner_set_device (runner, "cpu");
    g_assert_true (ns_model_runner_start (runner, NS_RUN_MODEL_REPLACE, FALSE, &error));
    g_assert_no_error (error);
    g_assert_true (ns_test_wait_until (run_over, runner, 240));
    g_assert_nonnull (ns_model_runner_get_prediction (runner));
    close_messages ();
  }
  map = ns_mask_doc_get_map (ns_editor_get_doc (ns_window_get_editor (window)));
  n = ns_grid_n_voxels (&map->grid);
  /* the prediction went into the mask */
  g_assert_cmpmem (map->labels, n,
                   ns_model_runner_get_prediction (ns_ai_controller_get_runner (
                     ns_window_get_ai_controller (window)))->labels, n);
  /* labels of the three tumour classes in a block (written as a person's edits would be:
   * the mask itself is what is exported) */
  for (gsize v = n / 2; v < n / 2 + 600; v++)
    map->labels[v] = v < n / 2 + 200 ? 1 : v < n / 2 + 400 ? 2 : 4;

  g_assert_true (ns_window_export_dicom_seg (window, out, FALSE, &error));
  g_assert_no_error (error);
  g_assert_true (ns_dicom_is_seg (out));
  {
    g_autoptr (NsLabelMap) back = ns_dicom_seg_read (out, &map->grid, &error);

    g_assert_no_error (error);
    g_assert_cmpmem (back->labels, n, map->labels, n);
  }

  /* there now: refused, untouched */
  {
    g_autofree char *before = NULL;
    g_autofree char *after = NULL;
    gsize before_len, after_len;

    g_assert_true (g_file_get_contents (out, &before, &before_len, NULL));
    memset (map->labels + n / 2, 0, 600);
    g_assert_false (ns_window_export_dicom_seg (window, out, FALSE, &error));
    g_assert_error (error, G_IO_ERROR, G_IO_ERROR_EXISTS);
    g_assert_nonnull (strstr (error->message, out));
    g_clear_error (&error);
    g_assert_true (g_file_get_contents (out, &after, &after_len, NULL));
    g_assert_cmpmem (before, before_len, after, after_len);

    /* replaced when the user said so */
    g_assert_true (ns_window_export_dicom_seg (window, out, TRUE, &error));
    g_assert_no_error (error);
    g_autoptr (NsLabelMap) back = ns_dicom_seg_read (out, &map->grid, &error);
    g_assert_no_error (error);
    g_assert_cmpmem (back->labels, n, map->labels, n);
  }
}

int
main (int argc, char **argv)
{
  g_autofree char *data_dir = NULL;
  int status;

  g_setenv ("GTK_A11Y", "none", TRUE);
  g_setenv ("XDG_CONFIG_HOME", ns_test_tmpdir (), TRUE);
  data_dir = g_build_filename (ns_test_tmpdir (), "data", NULL);
  g_setenv ("NEUROSEG_DATA_DIR", data_dir, TRUE);
  g_test_init (&argc, &argv, NULL);
  gtk_init ();

  /* the studies, in one run of the generator */
  {
    static const char *const studies[][3] = {
      { "auto", NULL, NULL },
      { "coarse-t2", "--coarse", "t2" },
      { "twin", "--twin-flair", NULL },
    };

    for (guint i = 0; i < G_N_ELEMENTS (studies); i++)
      {
        g_autofree char *dir = study_dir (studies[i][0]);
        g_autofree char *truth_name = g_strdup_printf ("%s-truth", studies[i][0]);
        g_autofree char *truth = g_build_filename (ns_test_tmpdir (), truth_name, NULL);

        ns_test_dicom_batch_add ("study", dir, truth, studies[i][1], studies[i][2], NULL);
      }
    ns_test_dicom_batch_run ();
  }

  window = ns_window_new (NULL);
  gtk_window_set_default_size (GTK_WINDOW (window), 1400, 820);
  gtk_window_present (GTK_WINDOW (window));

  g_test_add_func ("/ui/dicom/open-folder", test_open_folder);
  g_test_add_func ("/ui/dicom/ambiguous", test_ambiguous);
  g_test_add_func ("/ui/dicom/export-seg", test_export_seg);
  g_test_add_func ("/ui/dicom/closed-while-reading", test_closed_while_reading);
  status = g_test_run ();

  gtk_window_destroy (GTK_WINDOW (window));
  return status;
}
