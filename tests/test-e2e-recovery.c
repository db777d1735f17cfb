/* SPDX-License-Identifier: MIT
 *
 * test-e2e-recovery.c: crash recovery of mask edits, end to end, with the real binary
 * ($NEUROSEG) under the X display the suite runs in (xvfb-run).
 *
 * On a copy of the bundled case, with NEUROSEG_DATA_DIR (the journals) in a temporary
 * folder, the app is started with NEUROSEG_TEST_SCRIPT: strokes in the three planes, an
 * undo and an eraser stroke, replayed through the window's editor when the case has
 * loaded.  Once the journal holds the five records (a copy of it is read, since the app
 * keeps it locked) the app is killed with SIGKILL.  A second start must offer recovery;
 * its script accepts it, saves to a new file and quits.  The saved mask must equal, voxel
 * for voxel, the case's segmentation with the same edits applied through data/'s editing
 * API here, and the case's own segmentation must be untouched.
 */
#include "ns-config.h"

#include <gio/gio.h>
#include <glib/gstdio.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "ns-case.h"
#include "ns-edit.h"
#include "ns-journal.h"
#include "ns-mask-doc.h"
#include "ns-render.h"
#include "ns-test-util.h"

#define CASE_ID "Brats18_CBICA_ABM_1"

/* The script of the first run, and the same edits for data/ below. */
static const char *const edits =
  "paint axial 110 120 77 130 125 77 label 2 radius 3\n"
  "paint coronal 100 118 70 100 118 90 label 1 radius 2\n"
  "paint sagittal 120 100 60 120 140 65 label 4 radius 4\n"
  "undo\n"
  "erase axial 120 122 77 radius 2\n";
#define N_RECORDS 5

static char *
copy_case (const char *dest_parent)
{
  g_autofree char *dest = g_build_filename (dest_parent, CASE_ID, NULL);
  return ns_test_copy_sample_case (dest, TRUE);
}

static GSubprocess *
start_app (const char *case_dir, const char *script_path)
{
  const char *exe = g_getenv ("NEUROSEG");
  g_autoptr (GSubprocessLauncher) launcher = NULL;
  g_autoptr (GError) error = NULL;
  GSubprocess *process;

  g_assert_nonnull (exe);
  launcher = g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_NONE);
  g_subprocess_launcher_setenv (launcher, "NEUROSEG_TEST_SCRIPT", script_path, TRUE);
  g_subprocess_launcher_setenv (launcher, "GTK_A11Y", "none", TRUE);
  /* No session bus here: a unique GApplication would wait for it. */
  g_subprocess_launcher_setenv (launcher, "DBUS_SESSION_BUS_ADDRESS", "disabled:", TRUE);
  process = g_subprocess_launcher_spawn (launcher, &error, exe, case_dir, NULL);
  g_assert_no_error (error);
  return process;
}

/* Records in the journal now: read from a copy (the app holds a lock on the file). */
static guint
journal_records (const char *journal_path, const char *scratch)
{
  g_autofree char *contents = NULL;
  gsize length;
  g_autoptr (GError) error = NULL;
  NsJournal *journal;
  guint n;

  if (!g_file_get_contents (journal_path, &contents, &length, NULL))
    return 0;
  g_assert_true (g_file_set_contents (scratch, contents, length, NULL));
  journal = ns_journal_open_path (scratch, &error);
  g_assert_no_error (error);
  n = ns_journal_n_recoverable (journal);
  ns_journal_close (journal);
  g_unlink (scratch);
  return n;
}

static void
wait_cb (GObject *source, GAsyncResult *result, gpointer user_data)
{
  *(gboolean *) user_data = TRUE;
}

/* Waits for the process to end (at most timeout_s); its exit status, -1 on timeout. */
static int
wait_exit (GSubprocess *process, double timeout_s)
{
  gboolean done = FALSE;
  gint64 end = g_get_monotonic_time () + (gint64) (timeout_s * G_USEC_PER_SEC);

  g_subprocess_wait_async (process, NULL, wait_cb, &done);
  while (!done && g_get_monotonic_time () < end)
    {
      g_main_context_iteration (NULL, FALSE);
      g_usleep (10000);
    }
  if (!done)
    return -1;
  return g_subprocess_get_if_exited (process) ? g_subprocess_get_exit_status (process) : -2;
}

/* The edits of the script above, through data/'s API. */
static void
apply_edits (NsLabelMap *map, const NsGrid *grid)
{
  g_auto (GStrv) lines = g_strsplit (edits, "\n", -1);
  g_autoptr (GPtrArray) changes = g_ptr_array_new_with_free_func ((GDestroyNotify)
                                                                     ns_edit_change_unref);

  for (guint l = 0; lines[l] != NULL; l++)
    {
      g_auto (GStrv) w = g_strsplit (lines[l], " ", -1);
      guint n = g_strv_length (w), i = 2;
      NsPlaneGeometry geom;
      NsPlane plane = NS_PLANE_AXIAL;
      NsBrush brush = { NS_BRUSH_ROUND, 3.0, 0 };
      NsPaintRule rule;
      guint8 label = 0;
      NsEditStroke *stroke;
      g_autoptr (GArray) points = g_array_new (FALSE, FALSE, sizeof (double));
      g_autoptr (GError) error = NULL;

      if (n == 0 || w[0][0] == '\0')
        continue;
      if (g_str_equal (w[0], "undo"))
        {
          NsEditChange *last = g_ptr_array_steal_index (changes, changes->len - 1);
          g_assert_true (ns_edit_change_apply (last, map, FALSE));
          ns_edit_change_unref (last);
          continue;
        }
      for (int p = 0; p < NS_N_PLANES; p++)
        if (g_str_equal (w[1], ns_plane_to_string (p)))
          plane = p;
      for (; i + 2 < n && g_ascii_isdigit (w[i][0]); i += 3)
        for (int a = 0; a < 3; a++)
          {
            double v = g_ascii_strtod (w[i + a], NULL);
            g_array_append_val (points, v);
          }
      for (; i + 1 < n; i += 2)
        if (g_str_equal (w[i], "label"))
          label = (guint8) atoi (w[i + 1]);
        else if (g_str_equal (w[i], "radius"))
          brush.radius_mm = g_ascii_strtod (w[i + 1], NULL);
      if (g_str_equal (w[0], "erase"))
        label = 0;
      ns_plane_geometry_init (&geom, grid, plane, NS_CONVENTION_RADIOLOGICAL, 0, NULL);
      brush.plane_axis = geom.axis_n;
      ns_paint_rule_init (&rule, label);
      stroke = ns_edit_stroke_begin (map, NULL, &brush, &rule, "Brush", &error);
      g_assert_no_error (error);
      for (guint p = 0; p < points->len / 3; p++)
        ns_edit_stroke_add (stroke, &g_array_index (points, double, 3 * p), NULL);
      g_ptr_array_add (changes, ns_edit_stroke_end (stroke));
      g_assert_cmpuint (((NsEditChange *) changes->pdata[changes->len - 1])->n, >, 0);
    }
}

static void
test_recover_after_sigkill (void)
{
  const char *tmp = ns_test_tmpdir ();
  g_autofree char *data_dir = g_build_filename (tmp, "data", NULL);
  g_autofree char *case_dir = copy_case (tmp);
  g_autofree char *seg_path = g_build_filename (case_dir, CASE_ID "_seg.nii.gz", NULL);
  g_autofree char *out_path = g_build_filename (tmp, "recovered_mask.nii.gz", NULL);
  g_autofree char *script1 = g_build_filename (tmp, "run1.txt", NULL);
  g_autofree char *script2 = g_build_filename (tmp, "run2.txt", NULL);
  g_autofree char *scratch = g_build_filename (tmp, "journal-copy", NULL);
  g_autofree char *journal_path = NULL;
  g_autofree char *recover_lines = NULL;
  g_autofree char *seg_before = NULL;
  g_autofree char *seg_after = NULL;
  gsize seg_before_len, seg_after_len;
  g_autoptr (GSubprocess) first = NULL;
  g_autoptr (GSubprocess) second = NULL;
  g_autoptr (NsCase) ncase = NULL;
  g_autoptr (NsLabelMap) expected = NULL;
  g_autoptr (NsLabelMap) saved = NULL;
  g_autoptr (GError) error = NULL;
  gint64 end;
  guint n = 0;
  gsize differ = 0;
  gboolean first_ended = FALSE;

  g_setenv ("NEUROSEG_DATA_DIR", data_dir, TRUE);
  journal_path = ns_journal_path_for_case (case_dir);
  g_assert_true (g_str_has_prefix (journal_path, data_dir));
  g_assert_true (g_file_get_contents (seg_path, &seg_before, &seg_before_len, NULL));

  /* Run 1: paint, then die without saving. */
  g_assert_true (g_file_set_contents (script1, edits, -1, NULL));
  first = start_app (case_dir, script1);
  end = g_get_monotonic_time () + 120 * G_USEC_PER_SEC;
  g_subprocess_wait_async (first, NULL, wait_cb, &first_ended);
  while ((n = journal_records (journal_path, scratch)) < N_RECORDS
         && g_get_monotonic_time () < end)
    {
      g_main_context_iteration (NULL, FALSE);
      g_assert_false (first_ended);   /* the script failed (its message is above) */
      g_usleep (100000);
    }
  g_assert_cmpuint (n, ==, N_RECORDS);
  g_subprocess_force_exit (first);
  g_assert_cmpint (wait_exit (first, 30), ==, -2);   /* killed, not exited */
  g_assert_true (g_subprocess_get_if_signaled (first));
  g_assert_cmpint (g_subprocess_get_term_sig (first), ==, SIGKILL);
  g_assert_cmpuint (journal_records (journal_path, scratch), ==, N_RECORDS);

  /* Run 2: the app offers recovery; accept, save elsewhere, quit. */
  recover_lines = g_strdup_printf ("recover\nsave %s\nquit\n", out_path);
  g_assert_true (g_file_set_contents (script2, recover_lines, -1, NULL));
  second = start_app (case_dir, script2);
  g_assert_cmpint (wait_exit (second, 180), ==, 0);

  /* The expected mask: the case's segmentation with the same edits. */
  ncase = ns_case_load (case_dir, NS_CASE_LOAD_SKIP_LABELS, &error);
  g_assert_no_error (error);
  expected = ns_mask_doc_read_mask (seg_path, &ncase->grid, &error);
  g_assert_no_error (error);
  apply_edits (expected, &ncase->grid);
  saved = ns_mask_doc_read_mask (out_path, &ncase->grid, &error);
  g_assert_no_error (error);
  for (gsize v = 0, N = ns_grid_n_voxels (&ncase->grid); v < N; v++)
    differ += saved->labels[v] != expected->labels[v];
  g_assert_cmpuint (differ, ==, 0);

  /* The expert's file is untouched, and the save emptied the journal. */
  g_assert_true (g_file_get_contents (seg_path, &seg_after, &seg_after_len, NULL));
  g_assert_cmpuint (seg_after_len, ==, seg_before_len);
  g_assert_true (memcmp (seg_after, seg_before, seg_before_len) == 0);
  g_assert_cmpuint (journal_records (journal_path, scratch), ==, 0);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/e2e/edit/recover-after-sigkill", test_recover_after_sigkill);
  return g_test_run ();
}
