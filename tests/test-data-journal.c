/* SPDX-License-Identifier: MIT
 *
 * test-data-journal.c: the crash journal (data/ns-journal.h) and the mask document
 * (data/ns-mask-doc.h): records written and replayed, a torn last record ignored, a real
 * crash (a forked child edits and is SIGKILLed) recovered voxel for voxel, a save that
 * truncates the journal, reloads identical with the image's affine, and refuses to
 * overwrite a file changed on disk unless forced; a read-only document (a case a colleague
 * holds) refuses every write and puts back what a tool already changed.
 *
 * NEUROSEG_DATA_DIR points the journals into the test's temporary folder.
 */
#include "ns-test-util.h"
#include "ns-journal.h"
#include "ns-mask-doc.h"
#include "ns-nifti.h"
#include "ns-data-error.h"

#include <errno.h>
#include <signal.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <utime.h>
#include <unistd.h>

#include <glib/gstdio.h>

#define NX 40
#define NY 36
#define NZ 16
#define NV (NX * NY * NZ)

static NsLabelMap *
new_map (void)
{
  NsGrid grid;
  ns_grid_init (&grid, NX, NY, NZ, 0.9, 0.9, 2.5);
  return ns_label_map_new (&grid, NULL);
}

/* The k-th edit of a fixed script: strokes of varying labels and shapes. */
static NsEditChange *
script_edit (NsLabelMap *map, int k)
{
  NsBrush brush = { k % 2 ? NS_BRUSH_ROUND : NS_BRUSH_SQUARE, 1.5 + (k % 4), k % 3 == 0 ? -1 : 2 };
  NsPaintRule rule;
  ns_paint_rule_init (&rule, (guint8) (k % 5));
  if (k % 7 == 3)
    rule.over = NS_PAINT_OVER_BACKGROUND;
  g_autoptr (GError) error = NULL;
  NsEditStroke *s = ns_edit_stroke_begin (map, NULL, &brush, &rule, NULL, &error);
  g_assert_no_error (error);
  double a[3] = { 3 + (k * 7) % 30, 4 + (k * 5) % 28, (k * 3) % NZ };
  double b[3] = { 35 - (k * 3) % 30, 30 - (k * 11) % 26, a[2] };
  ns_edit_stroke_add (s, a, NULL);
  ns_edit_stroke_add (s, b, NULL);
  return ns_edit_stroke_end (s);
}

static char *
case_dir (const char *name)
{
  char *dir = g_build_filename (ns_test_tmpdir (), name, NULL);
  g_mkdir_with_parents (dir, 0700);
  return dir;
}

static void
test_path (void)
{
  g_autofree char *a = ns_journal_path_for_case ("/data/case1");
  g_autofree char *b = ns_journal_path_for_case ("/data/case1/");
  g_autofree char *c = ns_journal_path_for_case ("/data/case2");
  g_assert_cmpstr (a, ==, b);
  g_assert_cmpstr (a, !=, c);
  g_autofree char *dir = g_build_filename (ns_test_tmpdir (), "xdg", "journal", NULL);
  g_assert_true (g_str_has_prefix (a, dir));
  g_assert_true (g_str_has_suffix (a, ".journal"));
}

static void
test_write_replay (void)
{
  g_autofree char *dir = case_dir ("replay");
  g_autoptr (NsLabelMap) base = new_map ();
  g_autoptr (NsLabelMap) map = ns_label_map_dup (base, NULL);
  g_autoptr (GError) error = NULL;
  NsJournal *j = ns_journal_open (dir, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (ns_journal_n_recoverable (j), ==, 0);
  NsHistory *h = ns_history_new (0);
  for (int k = 0; k < 20; k++)
    {
      g_autoptr (NsEditChange) c = script_edit (map, k);
      if (ns_history_push (h, c))
        ns_journal_append (j, c, TRUE);
    }
  /* Two undos are journaled too. */
  for (int u = 0; u < 2; u++)
    ns_journal_append (j, (NsEditChange *) ns_history_undo (h, map), FALSE);
  guint n_written = ns_history_n_undo (h) + 4;
  g_assert_true (ns_journal_flush (j, &error));
  g_assert_cmpuint (ns_journal_n_records (j), ==, n_written);
  g_autofree char *path = g_strdup (ns_journal_get_path (j));
  ns_journal_close (j);
  g_assert_true (g_file_test (path, G_FILE_TEST_EXISTS));

  j = ns_journal_open (dir, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (ns_journal_n_recoverable (j), ==, n_written);
  /* A map of another size is refused and left alone. */
  NsGrid other;
  ns_grid_init (&other, 4, 4, 4, 1, 1, 1);
  g_autoptr (NsLabelMap) small = ns_label_map_new (&other, NULL);
  g_assert_false (ns_journal_replay (j, small, NULL, NULL, &error));
  g_assert_error (error, NS_EDIT_ERROR, NS_EDIT_ERROR_JOURNAL);
  g_clear_error (&error);

  g_autoptr (NsLabelMap) replayed = ns_label_map_dup (base, NULL);
  NsHistory *h2 = ns_history_new (0);
  guint n = 0;
  g_assert_true (ns_journal_replay (j, replayed, h2, &n, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (n, ==, n_written);
  g_assert_cmpmem (replayed->labels, NV, map->labels, NV);
  /* The recovered edits can be undone back to the saved mask. */
  ns_history_undo_n (h2, replayed, G_MAXUINT);
  g_assert_cmpmem (replayed->labels, NV, base->labels, NV);
  g_assert_cmpuint (ns_journal_n_recoverable (j), ==, 0);

  /* Truncation empties it; closing an empty journal removes the file. */
  g_assert_true (ns_journal_truncate (j, &error));
  g_assert_cmpuint (ns_journal_n_records (j), ==, 0);
  ns_journal_close (j);
  g_assert_false (g_file_test (path, G_FILE_TEST_EXISTS));
  ns_history_free (h);
  ns_history_free (h2);
}

static void
test_torn_tail (void)
{
  g_autofree char *dir = case_dir ("torn");
  g_autoptr (NsLabelMap) base = new_map ();
  g_autoptr (NsLabelMap) map = ns_label_map_dup (base, NULL);
  g_autoptr (GError) error = NULL;
  NsJournal *j = ns_journal_open (dir, &error);
  g_assert_no_error (error);
  GPtrArray *states = g_ptr_array_new_with_free_func (g_free);
  GArray *ends = g_array_new (FALSE, FALSE, sizeof (goffset));
  g_autofree char *path = g_strdup (ns_journal_get_path (j));
  for (int k = 0; k < 6; k++)
    {
      g_autoptr (NsEditChange) c = script_edit (map, k);
      ns_journal_append (j, c, TRUE);
      g_assert_true (ns_journal_flush (j, &error));
      g_ptr_array_add (states, g_memdup2 (map->labels, NV));
      GStatBuf st;
      g_assert_cmpint (g_stat (path, &st), ==, 0);
      goffset end = st.st_size;
      g_array_append_val (ends, end);
    }
  ns_journal_close (j);

  /* Cut the last record in the middle (the process died inside its write). */
  goffset cut = (g_array_index (ends, goffset, 4) + g_array_index (ends, goffset, 5)) / 2;
  g_assert_cmpint (truncate (path, cut), ==, 0);
  j = ns_journal_open (dir, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (ns_journal_n_recoverable (j), ==, 5);
  g_autoptr (NsLabelMap) r = ns_label_map_dup (base, NULL);
  g_assert_true (ns_journal_replay (j, r, NULL, NULL, &error));
  g_assert_cmpmem (r->labels, NV, g_ptr_array_index (states, 4), NV);
  /* The torn bytes were cut off: a new record follows the valid ones and replays. */
  g_autoptr (NsEditChange) c6 = script_edit (r, 6);
  ns_journal_append (j, c6, TRUE);
  ns_journal_close (j);
  j = ns_journal_open (dir, &error);
  g_assert_cmpuint (ns_journal_n_recoverable (j), ==, 6);
  g_autoptr (NsLabelMap) r2 = ns_label_map_dup (base, NULL);
  g_assert_true (ns_journal_replay (j, r2, NULL, NULL, &error));
  g_assert_cmpmem (r2->labels, NV, r->labels, NV);
  ns_journal_close (j);

  /* A flipped bit in record 3's payload: its CRC fails, records 1-2 only. */
  g_autofree char *bytes = NULL;
  gsize len = 0;
  g_assert_true (g_file_get_contents (path, &bytes, &len, NULL));
  gsize at = (gsize) g_array_index (ends, goffset, 1) + 40;
  bytes[at] ^= 0x10;
  g_assert_true (g_file_set_contents (path, bytes, (gssize) len, NULL));
  j = ns_journal_open (dir, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (ns_journal_n_recoverable (j), ==, 2);
  g_autoptr (NsLabelMap) r3 = ns_label_map_dup (base, NULL);
  g_assert_true (ns_journal_replay (j, r3, NULL, NULL, &error));
  g_assert_cmpmem (r3->labels, NV, g_ptr_array_index (states, 1), NV);

  /* A journal is locked while open. */
  g_autoptr (NsJournal) again = ns_journal_open (dir, &error);
  g_assert_null (again);
  g_assert_error (error, NS_EDIT_ERROR, NS_EDIT_ERROR_JOURNAL);
  g_clear_error (&error);
  ns_journal_truncate (j, NULL);
  ns_journal_close (j);
  g_ptr_array_unref (states);
  g_array_unref (ends);
}

/* An image on a grid with an oblique sform and a qform, written and read back so that it
 * is what a loaded file looks like. */
static NsVolume *
oblique_image (const char *dir)
{
  NsGrid grid;
  ns_grid_init (&grid, NX, NY, NZ, 0.9, 0.9, 2.5);
  double c = 0.9961946980917455, s = 0.08715574274765817; /* 5 degrees */
  double m[4][4] = { { -0.9 * c, -0.9 * s, 0, 90 },
                     { 0.9 * s * -1, 0.9 * c * -1, 0, 120 },
                     { 0, 0, 2.5, -60 },
                     { 0, 0, 0, 1 } };
  grid.sform_code = 1;
  memcpy (grid.sform, m, sizeof m);
  memcpy (grid.vox2ras, m, sizeof m);
  g_autoptr (NsVolume) vol = ns_volume_new (&grid, NULL);
  for (int t = 0; t < NV; t++)
    vol->voxels[t] = (float) (t % 97) + 0.25f;  /* not labels */
  g_autofree char *path = g_build_filename (dir, "t1.nii.gz", NULL);
  g_autoptr (GError) error = NULL;
  g_assert_true (ns_nifti_write_volume (vol, path, &error));
  g_assert_no_error (error);
  NsVolume *back = ns_nifti_read (path, &error);
  g_assert_no_error (error);
  return back;
}

static void
apply_script (NsMaskDoc *doc, int n)
{
  for (int k = 0; k < n; k++)
    ns_mask_doc_commit (doc, script_edit (ns_mask_doc_get_map (doc), k));
  ns_mask_doc_undo (doc, 2);
  ns_mask_doc_redo (doc, 1);
}

static void
test_crash_recovery (void)
{
  g_autofree char *dir = case_dir ("crash");
  g_autoptr (NsVolume) image = oblique_image (dir);
  g_autofree char *mask_path = g_build_filename (dir, "seg.nii.gz", NULL);
  g_autoptr (GError) error = NULL;

  /* The saved mask the edits start from. */
  g_autoptr (NsLabelMap) saved = ns_label_map_new (&image->grid, NULL);
  for (int t = 0; t < NV; t += 13)
    saved->labels[t] = 2;
  g_assert_true (ns_nifti_write_label_map (saved, mask_path, &error));

  /* What the child's edits give, worked out here on a copy. */
  g_autoptr (NsLabelMap) expected = ns_label_map_dup (saved, NULL);
  guint n_pushed = 0;
  {
    NsHistory *h = ns_history_new (0);
    for (int k = 0; k < 25; k++)
      {
        g_autoptr (NsEditChange) c = script_edit (expected, k);
        n_pushed += ns_history_push (h, c);
      }
    ns_history_undo_n (h, expected, 2);
    ns_history_redo_n (h, expected, 1);
    ns_history_free (h);
  }

  int pipefd[2];
  g_assert_cmpint (pipe (pipefd), ==, 0);
  pid_t pid = fork ();
  g_assert_cmpint (pid, >=, 0);
  if (pid == 0)
    {
      /* The child: the annotator's session.  It commits the edits, lets the journal
       * writer finish, says so, then hangs until killed: no save, no clean exit. */
      close (pipefd[0]);
      NsMaskDoc *doc = ns_mask_doc_open (image, mask_path, dir, 0, NULL);
      if (doc == NULL)
        _exit (3);
      apply_script (doc, 25);
      if (!ns_journal_flush (ns_mask_doc_get_journal (doc), NULL))
        _exit (4);
      char ok = 'k';
      if (write (pipefd[1], &ok, 1) != 1)
        _exit (5);
      for (;;)
        pause ();
    }
  close (pipefd[1]);
  char got = 0;
  /* A child that hangs must not hang the test: two minutes at most. */
  GPollFD pfd = { pipefd[0], G_IO_IN, 0 };
  if (g_poll (&pfd, 1, 120000) != 1)
    kill (pid, SIGKILL);
  g_assert_cmpint (read (pipefd[0], &got, 1), ==, 1);
  g_assert_cmpint (got, ==, 'k');
  close (pipefd[0]);
  g_assert_cmpint (kill (pid, SIGKILL), ==, 0);
  int status = 0;
  g_assert_cmpint (waitpid (pid, &status, 0), ==, pid);
  g_assert_true (WIFSIGNALED (status) && WTERMSIG (status) == SIGKILL);

  /* Reopening the case finds the journal and recovers the edits onto the saved mask. */
  NsMaskDoc *doc = ns_mask_doc_open (image, mask_path, dir, 0, &error);
  g_assert_no_error (error);
  g_assert_cmpmem (ns_mask_doc_get_map (doc)->labels, NV, saved->labels, NV);
  g_assert_cmpuint (n_pushed, >, 20);
  g_assert_cmpuint (ns_mask_doc_n_recoverable (doc), ==, n_pushed + 3);
  g_assert_false (ns_mask_doc_is_modified (doc));
  guint n = 0;
  g_assert_true (ns_mask_doc_recovery_matches (doc));
  g_assert_true (ns_mask_doc_recover (doc, FALSE, &n, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (n, ==, n_pushed + 3);
  g_assert_cmpmem (ns_mask_doc_get_map (doc)->labels, NV, expected->labels, NV);
  g_assert_true (ns_mask_doc_is_modified (doc));

  /* Saving truncates the journal; reopening then finds nothing to recover and the saved
   * mask is the recovered one. */
  g_assert_true (ns_mask_doc_save (doc, NULL, FALSE, &error));
  g_assert_no_error (error);
  g_assert_false (ns_mask_doc_is_modified (doc));
  g_assert_cmpuint (ns_journal_n_records (ns_mask_doc_get_journal (doc)), ==, 0);
  GStatBuf st;
  g_assert_cmpint (g_stat (ns_journal_get_path (ns_mask_doc_get_journal (doc)), &st), ==, 0);
  g_assert_cmpint (st.st_size, ==, 0);
  ns_mask_doc_free (doc);
  doc = ns_mask_doc_open (image, mask_path, dir, 0, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (ns_mask_doc_n_recoverable (doc), ==, 0);
  g_assert_cmpmem (ns_mask_doc_get_map (doc)->labels, NV, expected->labels, NV);

  /* Declining a recovery: edits, no save, reopen, discard: the saved mask stays. */
  ns_mask_doc_commit (doc, script_edit (ns_mask_doc_get_map (doc), 30));
  ns_mask_doc_free (doc);
  doc = ns_mask_doc_open (image, mask_path, dir, 0, &error);
  g_assert_cmpuint (ns_mask_doc_n_recoverable (doc), ==, 1);
  g_assert_true (ns_mask_doc_recovery_matches (doc));
  g_assert_true (ns_mask_doc_discard_recovery (doc, &error));
  ns_mask_doc_free (doc);

  /* Edits left unsaved, then the file replaced by someone else: the recovery says the
   * edits were made on another version and replays only when forced. */
  doc = ns_mask_doc_open (image, mask_path, dir, 0, &error);
  ns_mask_doc_commit (doc, script_edit (ns_mask_doc_get_map (doc), 31));
  ns_mask_doc_free (doc);
  g_autoptr (NsLabelMap) replaced = ns_label_map_new (&image->grid, NULL);
  g_assert_true (ns_nifti_write_label_map (replaced, mask_path, &error));
  doc = ns_mask_doc_open (image, mask_path, dir, 0, &error);
  g_assert_cmpuint (ns_mask_doc_n_recoverable (doc), ==, 1);
  g_assert_false (ns_mask_doc_recovery_matches (doc));
  g_assert_false (ns_mask_doc_recover (doc, FALSE, &n, &error));
  g_assert_error (error, NS_EDIT_ERROR, NS_EDIT_ERROR_CHANGED_ON_DISK);
  g_clear_error (&error);
  g_assert_cmpmem (ns_mask_doc_get_map (doc)->labels, NV, replaced->labels, NV);
  g_assert_true (ns_mask_doc_recover (doc, TRUE, &n, &error));
  g_assert_cmpuint (n, ==, 1);
  g_assert_true (ns_mask_doc_save (doc, NULL, FALSE, &error));
  ns_mask_doc_free (doc);
  /* Saved: the current file is the recovered one; nothing left to recover. */
  doc = ns_mask_doc_open (image, mask_path, dir, 0, &error);
  g_assert_cmpuint (ns_mask_doc_n_recoverable (doc), ==, 0);
  ns_mask_doc_free (doc);
  g_assert_true (ns_nifti_write_label_map (expected, mask_path, &error));
  doc = ns_mask_doc_open (image, mask_path, dir, 0, &error);
  g_assert_cmpuint (ns_mask_doc_n_recoverable (doc), ==, 0);
  g_assert_cmpmem (ns_mask_doc_get_map (doc)->labels, NV, expected->labels, NV);
  ns_mask_doc_free (doc);
}

static void
test_save (void)
{
  g_autofree char *dir = case_dir ("save");
  g_autoptr (NsVolume) image = oblique_image (dir);
  g_autofree char *mask_path = g_build_filename (dir, "new-seg.nii.gz", NULL);
  g_autoptr (GError) error = NULL;

  /* No mask yet: an empty one on the image's grid. */
  NsMaskDoc *doc = ns_mask_doc_open (image, mask_path, NULL, 0, &error);
  g_assert_no_error (error);
  const guint8 blue[4] = { 0, 0, 255, 255 };
  ns_label_table_set (ns_mask_doc_get_labels (doc), 6, "Cavity", blue, TRUE, TRUE);
  apply_script (doc, 10);
  g_autofree guint8 *want = g_memdup2 (ns_mask_doc_get_map (doc)->labels, NV);
  g_assert_true (ns_mask_doc_is_modified (doc));
  guint n_undo = ns_history_n_undo (ns_mask_doc_get_history (doc));
  g_assert_cmpuint (n_undo, >, 5);
  g_assert_true (ns_mask_doc_save (doc, NULL, FALSE, &error));
  g_assert_no_error (error);
  g_assert_false (ns_mask_doc_is_modified (doc));

  /* Reloads identical, on the image's grid, with its sform (and codes). */
  g_autoptr (NsVolume) back = ns_nifti_read (mask_path, &error);
  g_assert_no_error (error);
  g_assert_true (ns_grid_equal (&back->grid, &image->grid));
  g_assert_cmpint (back->grid.sform_code, ==, image->grid.sform_code);
  g_assert_cmpint (back->grid.qform_code, ==, image->grid.qform_code);
  for (int r = 0; r < 4; r++)
    for (int c = 0; c < 4; c++)
      g_assert_cmpfloat_with_epsilon (back->grid.vox2ras[r][c], image->grid.vox2ras[r][c], 1e-5);
  for (int t = 0; t < NV; t++)
    g_assert_cmpfloat (ns_volume_get_value (back, t), ==, want[t]);
  g_autoptr (NsLabelMap) m = ns_mask_doc_read_mask (mask_path, &image->grid, &error);
  g_assert_no_error (error);
  g_assert_cmpmem (m->labels, NV, want, NV);
  /* The label descriptions beside it. */
  g_autofree char *table_path = ns_label_table_path_for_mask (mask_path);
  g_autoptr (NsLabelTable) table = ns_label_table_load (table_path, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (ns_label_table_lookup (table, 6)->name, ==, "Cavity");
  g_assert_true (ns_label_table_lookup (table, 6)->locked);

  /* The history survives the save. */
  g_assert_cmpuint (ns_history_n_undo (ns_mask_doc_get_history (doc)), ==, n_undo);
  ns_mask_doc_undo (doc, 1);
  g_assert_true (ns_mask_doc_is_modified (doc));
  ns_mask_doc_redo (doc, 1);
  g_assert_false (ns_mask_doc_is_modified (doc));

  /* Touching the file without changing it is no change. */
  g_assert_false (ns_mask_doc_changed_on_disk (doc));
  g_assert_cmpint (g_utime (mask_path, NULL), ==, 0);
  g_assert_false (ns_mask_doc_changed_on_disk (doc));

  /* Someone else writes it: a save is refused without force, done with it. */
  g_autoptr (NsLabelMap) other = ns_label_map_new (&image->grid, NULL);
  other->labels[5] = 1;
  g_assert_true (ns_nifti_write_label_map (other, mask_path, &error));
  g_assert_true (ns_mask_doc_changed_on_disk (doc));
  ns_mask_doc_commit (doc, script_edit (ns_mask_doc_get_map (doc), 11));
  g_assert_false (ns_mask_doc_save (doc, NULL, FALSE, &error));
  g_assert_error (error, NS_EDIT_ERROR, NS_EDIT_ERROR_CHANGED_ON_DISK);
  g_assert_nonnull (strstr (error->message, "new-seg.nii.gz"));
  g_clear_error (&error);
  g_autoptr (NsLabelMap) still = ns_mask_doc_read_mask (mask_path, &image->grid, &error);
  g_assert_cmpmem (still->labels, NV, other->labels, NV);
  g_assert_true (ns_mask_doc_save (doc, NULL, TRUE, &error));
  g_assert_no_error (error);
  g_autoptr (NsLabelMap) mine = ns_mask_doc_read_mask (mask_path, &image->grid, &error);
  g_assert_cmpmem (mine->labels, NV, ns_mask_doc_get_map (doc)->labels, NV);

  /* Save As: a new path becomes the document's. */
  g_autofree char *as = g_build_filename (dir, "copy.nii", NULL);
  g_assert_true (ns_mask_doc_save (doc, as, FALSE, &error));
  g_assert_cmpstr (ns_mask_doc_get_path (doc), ==, as);
  g_autofree char *as_table = g_build_filename (dir, "copy.labels.txt", NULL);
  g_assert_true (g_file_test (as_table, G_FILE_TEST_EXISTS));
  ns_mask_doc_free (doc);

  /* A mask on another grid, or with values that are not labels, is refused by name. */
  NsGrid g2;
  ns_grid_init (&g2, 5, 5, 5, 1, 1, 1);
  g_autoptr (NsLabelMap) wrong = ns_mask_doc_read_mask (mask_path, &g2, &error);
  g_assert_null (wrong);
  g_assert_error (error, NS_DATA_ERROR, NS_DATA_ERROR_GRID_MISMATCH);
  g_assert_nonnull (strstr (error->message, "new-seg.nii.gz"));
  g_clear_error (&error);
  g_autofree char *img_path = g_build_filename (dir, "t1.nii.gz", NULL);
  g_autoptr (NsLabelMap) notlabels = ns_mask_doc_read_mask (img_path, &image->grid, &error);
  g_assert_null (notlabels);
  g_assert_error (error, NS_DATA_ERROR, NS_DATA_ERROR_BAD_LABELS);
}

/* The bundled BraTS case: its segmentation opens, edits and saves with the image's
 * affine (a real LPS-style header written by the BraTS tools). */
static void
test_bundled_case (void)
{
  const char *sample = ns_test_sample_case ();
  g_autofree char *flair = g_build_filename (sample, "Brats18_CBICA_ABM_1_flair.nii.gz", NULL);
  g_autofree char *seg = g_build_filename (sample, "Brats18_CBICA_ABM_1_seg.nii.gz", NULL);
  g_autofree char *dir = case_dir ("bundled");
  g_autofree char *copy = g_build_filename (dir, "seg.nii.gz", NULL);
  g_autofree char *bytes = NULL;
  gsize len = 0;
  g_autoptr (GError) error = NULL;
  g_assert_true (g_file_get_contents (seg, &bytes, &len, &error));
  g_assert_true (g_file_set_contents (copy, bytes, (gssize) len, &error));
  g_autoptr (NsVolume) image = ns_nifti_read (flair, &error);
  g_assert_no_error (error);
  NsMaskDoc *doc = ns_mask_doc_open (image, copy, dir, 0, &error);
  g_assert_no_error (error);
  NsLabelMap *map = ns_mask_doc_get_map (doc);
  guint64 counts[256];
  ns_label_map_count (map, counts);
  g_assert_cmpuint (counts[4], >, 0);
  /* The ET label table comes from the scheme the values fit. */
  g_assert_cmpstr (ns_label_table_lookup (ns_mask_doc_get_labels (doc), 4)->name, ==, "ET");
  /* Remove ET islands under 0.5 mL and paint a 3-D dab. */
  g_autoptr (NsEditChange) islands = ns_edit_remove_islands (map, 4, 0.5, NULL, &error);
  g_assert_no_error (error);
  ns_mask_doc_commit (doc, g_steal_pointer (&islands));
  NsBrush brush = { NS_BRUSH_ROUND, 5.0, -1 };
  NsPaintRule rule;
  ns_paint_rule_init (&rule, 2);
  NsEditStroke *s = ns_edit_stroke_begin (map, image, &brush, &rule, NULL, &error);
  double p[3] = { 120, 120, 77 };
  ns_edit_stroke_add (s, p, NULL);
  ns_mask_doc_commit (doc, ns_edit_stroke_end (s));
  g_autofree guint8 *want = g_memdup2 (map->labels, ns_grid_n_voxels (&map->grid));
  g_assert_true (ns_mask_doc_save (doc, NULL, FALSE, &error));
  g_assert_no_error (error);
  ns_mask_doc_free (doc);
  g_autoptr (NsVolume) back = ns_nifti_read (copy, &error);
  g_assert_no_error (error);
  g_assert_true (ns_grid_equal (&back->grid, &image->grid));
  for (gsize t = 0; t < ns_grid_n_voxels (&image->grid); t++)
    g_assert_cmpfloat (ns_volume_get_value (back, t), ==, want[t]);
}

/* A document opened on a map decoded already edits that map (one buffer), says when it
 * wrote into it, and refuses a map on another grid. */
static void
test_open_decoded (void)
{
  g_autofree char *dir = case_dir ("decoded");
  g_autoptr (NsVolume) image = oblique_image (dir);
  g_autofree char *mask_path = g_build_filename (dir, "seg.nii.gz", NULL);
  g_autoptr (GError) error = NULL;

  /* the mask on disk, and its labels decoded as the case loader decodes them */
  NsMaskDoc *doc = ns_mask_doc_open (image, mask_path, NULL, 0, &error);
  g_assert_no_error (error);
  apply_script (doc, 6);
  g_assert_true (ns_mask_doc_save (doc, NULL, FALSE, &error));
  g_assert_no_error (error);
  ns_mask_doc_free (doc);
  g_autoptr (NsLabelMap) decoded = ns_mask_doc_read_mask (mask_path, &image->grid, &error);
  g_assert_no_error (error);
  g_autofree guint8 *saved = g_memdup2 (decoded->labels, NV);

  doc = ns_mask_doc_open_decoded (image, decoded, mask_path, NULL, 0, &error);
  g_assert_no_error (error);
  g_assert_true (ns_mask_doc_get_map (doc) == decoded);
  g_assert_false (ns_mask_doc_map_written (doc));
  g_assert_false (ns_mask_doc_is_modified (doc));
  g_assert_false (ns_mask_doc_changed_on_disk (doc));
  for (int k = 6; k < 8; k++)    /* edits the saved mask does not have */
    ns_mask_doc_commit (doc, script_edit (ns_mask_doc_get_map (doc), k));
  g_assert_true (ns_mask_doc_map_written (doc));
  g_assert_true (memcmp (decoded->labels, saved, NV) != 0);   /* edited in place */
  ns_mask_doc_undo (doc, 2);
  g_assert_cmpmem (decoded->labels, NV, saved, NV);
  g_assert_true (ns_mask_doc_map_written (doc));   /* written, if back to the same values */
  ns_mask_doc_free (doc);
  g_assert_cmpint (decoded->ref_count, ==, 1);      /* the reference went with the document */

  /* undo and redo alone count as writes */
  doc = ns_mask_doc_open_decoded (image, decoded, mask_path, NULL, 0, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (ns_mask_doc_undo (doc, 1), ==, 0);
  g_assert_false (ns_mask_doc_map_written (doc));
  ns_mask_doc_free (doc);

  NsGrid other;
  ns_grid_init (&other, NX, NY, NZ + 1, 0.9, 0.9, 2.5);
  g_autoptr (NsLabelMap) wrong = ns_label_map_new (&other, NULL);
  g_assert_null (ns_mask_doc_open_decoded (image, wrong, mask_path, NULL, 0, &error));
  g_assert_error (error, NS_DATA_ERROR, NS_DATA_ERROR_GRID_MISMATCH);
  g_assert_nonnull (strstr (error->message, mask_path));
}

/* Read-only: commit (a tool that already changed the map), replace, undo, redo and recover
 * change nothing, record nothing, journal nothing; editable again, the history goes on. */
static void
test_read_only (void)
{
  g_autofree char *dir = case_dir ("read-only");
  g_autoptr (NsVolume) image = oblique_image (dir);
  g_autofree char *mask_path = g_build_filename (dir, "held-seg.nii.gz", NULL);
  g_autoptr (GError) error = NULL;
  g_autoptr (NsMaskDoc) doc = ns_mask_doc_open (image, mask_path, NULL, 0, &error);
  g_autofree guint8 *before = NULL;
  g_autofree guint8 *labels = g_malloc (NV);
  guint n_undo, n_records;

  g_assert_no_error (error);
  apply_script (doc, 6);
  g_assert_true (ns_journal_flush (ns_mask_doc_get_journal (doc), &error));
  n_undo = ns_history_n_undo (ns_mask_doc_get_history (doc));
  n_records = ns_journal_n_records (ns_mask_doc_get_journal (doc));
  g_assert_cmpuint (ns_history_n_redo (ns_mask_doc_get_history (doc)), ==, 1);
  before = g_memdup2 (ns_mask_doc_get_map (doc)->labels, NV);

  g_assert_null (ns_mask_doc_get_read_only (doc));
  ns_mask_doc_set_read_only (doc, "claimed by ana on ws-7 since 09:12");
  g_assert_cmpstr (ns_mask_doc_get_read_only (doc), ==, "claimed by ana on ws-7 since 09:12");
  /* a stroke the tool already applied: put back voxel for voxel */
  g_assert_false (ns_mask_doc_commit (doc, script_edit (ns_mask_doc_get_map (doc), 11)));
  g_assert_cmpmem (ns_mask_doc_get_map (doc)->labels, NV, before, NV);
  memset (labels, 3, NV);
  g_assert_false (ns_mask_doc_replace (doc, labels, "Model prediction"));
  g_assert_cmpuint (ns_mask_doc_undo (doc, 1), ==, 0);
  g_assert_cmpuint (ns_mask_doc_redo (doc, 1), ==, 0);
  g_assert_false (ns_mask_doc_recover (doc, TRUE, NULL, &error));
  g_assert_error (error, NS_DATA_ERROR, NS_DATA_ERROR_REFUSED);
  g_assert_nonnull (strstr (error->message, mask_path));
  g_assert_nonnull (strstr (error->message, "claimed by ana"));
  g_clear_error (&error);
  g_assert_cmpmem (ns_mask_doc_get_map (doc)->labels, NV, before, NV);
  g_assert_cmpuint (ns_history_n_undo (ns_mask_doc_get_history (doc)), ==, n_undo);
  g_assert_cmpuint (ns_history_n_redo (ns_mask_doc_get_history (doc)), ==, 1);
  g_assert_true (ns_journal_flush (ns_mask_doc_get_journal (doc), &error));
  g_assert_cmpuint (ns_journal_n_records (ns_mask_doc_get_journal (doc)), ==, n_records);

  /* editable again (taken over): edits are recorded as before */
  ns_mask_doc_set_read_only (doc, NULL);
  g_assert_cmpuint (ns_mask_doc_undo (doc, 1), ==, 1);
  g_assert_true (ns_mask_doc_commit (doc, script_edit (ns_mask_doc_get_map (doc), 11)));
  g_assert_cmpuint (ns_history_n_undo (ns_mask_doc_get_history (doc)), ==, n_undo);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_autofree char *data_dir = g_build_filename (ns_test_tmpdir (), "xdg", NULL);
  g_setenv ("NEUROSEG_DATA_DIR", data_dir, TRUE);
  /* The fork test first, while this process has no other threads. */
  g_test_add_func ("/data/journal/crash-recovery", test_crash_recovery);
  g_test_add_func ("/data/journal/path", test_path);
  g_test_add_func ("/data/journal/write-replay", test_write_replay);
  g_test_add_func ("/data/journal/torn-tail", test_torn_tail);
  g_test_add_func ("/data/journal/save", test_save);
  g_test_add_func ("/data/journal/read-only", test_read_only);
  g_test_add_func ("/data/journal/open-decoded", test_open_decoded);
  g_test_add_func ("/data/journal/bundled-case", test_bundled_case);
  return g_test_run ();
}
