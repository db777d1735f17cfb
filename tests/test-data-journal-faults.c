/* SPDX-License-Identifier: MIT
 *
 * test-data-journal-faults.c: the crash journal under faults (issue #13, defects 4 and
 * 15b and "journal write errors are dropped").  What sits at the journal's path is
 * checked before anything is read (a FIFO used to hang the open, a link to /dev/zero to
 * read without end); a journal larger than the memory available is refused; a record for
 * a mask of another size no longer voids the good ones; and a write error on a really
 * full file (RLIMIT_FSIZE in a subprocess: the kernel's EFBIG, no root needed) reaches
 * the owner at once, in the main context it opened the journal from, once, and is never
 * cleared unseen.
 */
#include "ns-test-util.h"
#include "ns-data-error.h"
#include "ns-journal.h"
#include "ns-memory.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <glib/gstdio.h>

#define NV 4096 /* voxels of the test masks */

static char *
tmp_path (const char *name)
{
  return g_build_filename (ns_test_tmpdir (), name, NULL);
}

/* An edit of a mask of n_voxels that sets n voxels (from first, every 3rd) to label. */
static NsEditChange *
make_edit (gsize n_voxels, gsize first, gsize n, guint8 label)
{
  g_autofree guint32 *index = g_new (guint32, n);
  g_autofree guint8 *old_value = g_new0 (guint8, n);
  g_autofree guint8 *new_value = g_new (guint8, n);
  for (gsize i = 0; i < n; i++)
    {
      index[i] = (guint32) ((first + 3 * i) % n_voxels);
      new_value[i] = label;
    }
  /* Indices must ascend: only wrap-free ranges are asked for. */
  g_assert_cmpuint (first + 3 * (n - 1), <, n_voxels);
  return ns_edit_change_new_from_arrays ("Paint", g_get_real_time (), n_voxels, n, index,
                                         old_value, new_value);
}

static NsLabelMap *
new_map (gsize n_voxels)
{
  NsGrid grid;
  ns_grid_init (&grid, (int) n_voxels / 64, 8, 8, 1, 1, 1);
  return ns_label_map_new (&grid, NULL);
}

static void
assert_refused (const char *path, const char *what)
{
  GError *error = NULL;
  g_assert_null (ns_journal_open_path (path, &error));
  g_assert_error (error, NS_EDIT_ERROR, NS_EDIT_ERROR_JOURNAL);
  g_test_message ("%s", error->message);
  g_assert_true (g_str_has_prefix (error->message, path));
  g_assert_nonnull (strstr (error->message, what));
  g_clear_error (&error);
}

/* #13 defect 4: a FIFO at the journal's path hung the open (read () waited for a writer);
 * a symbolic link to /dev/zero was followed and read until the allocation aborted. */
static void
test_not_a_file (void)
{
  g_autofree char *fifo = tmp_path ("fifo.journal");
  g_assert_cmpint (mkfifo (fifo, 0600), ==, 0);
  assert_refused (fifo, "FIFO");

  g_autofree char *zero = tmp_path ("zero.journal");
  g_assert_cmpint (symlink ("/dev/zero", zero), ==, 0);
  assert_refused (zero, "symbolic link to /dev/zero");

  /* A link to a perfectly good file is not followed either: the journal is ours. */
  g_autofree char *real = tmp_path ("real.journal");
  g_assert_true (g_file_set_contents (real, "", 0, NULL));
  g_autofree char *link = tmp_path ("link.journal");
  g_assert_cmpint (symlink (real, link), ==, 0);
  assert_refused (link, "symbolic link");

  g_autofree char *dir = tmp_path ("dir.journal");
  g_assert_cmpint (g_mkdir (dir, 0700), ==, 0);
  assert_refused (dir, "a folder");

  assert_refused ("/dev/zero", "character device");
}

/* A journal is read back whole: one larger than the memory available is refused, saying
 * how to go on, instead of aborting in an allocation. */
static void
test_too_large (void)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *path = tmp_path ("large.journal");
  g_autofree char *junk = g_malloc0 (3 << 20);
  g_assert_true (g_file_set_contents (path, junk, 3 << 20, NULL));

  ns_memory_set_limit (4 << 20);
  assert_refused (path, "move it away");
  ns_memory_set_limit (64 << 20);
  /* It fits now; its content is no record, and is reported as left out. */
  NsJournal *j = ns_journal_open_path (path, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (ns_journal_n_recoverable (j), ==, 0);
  g_assert_nonnull (strstr (ns_journal_get_dropped (j), "torn or damaged"));
  g_assert_cmpuint (ns_memory_available (), ==, 64 << 20);
  ns_journal_close (j);
  ns_memory_set_limit (0);
}

/* #13 defect 15b: one CRC-valid record for a mask of another size made replay refuse
 * every record.  The records that fit are applied and the others named. */
static void
test_foreign_record (void)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *path = tmp_path ("foreign.journal");
  g_autoptr (NsLabelMap) want = new_map (NV);

  NsJournal *j = ns_journal_open_path (path, &error);
  g_assert_no_error (error);
  for (int k = 0; k < 6; k++)
    {
      g_autoptr (NsEditChange) c = k == 2 ? make_edit (64, 0, 10, 9)
                                          : make_edit (NV, (gsize) k * 100, 20, (guint8) (k + 1));
      ns_journal_append (j, c, TRUE);
      if (k != 2)
        ns_edit_change_apply (c, want, TRUE);
    }
  g_assert_true (ns_journal_flush (j, &error));
  ns_journal_close (j);

  j = ns_journal_open_path (path, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (ns_journal_n_recoverable (j), ==, 6);
  g_assert_null (ns_journal_get_dropped (j));
  g_autoptr (NsLabelMap) map = new_map (NV);
  guint n = 0;
  g_assert_true (ns_journal_replay (j, map, NULL, &n, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (n, ==, 5);
  g_assert_cmpmem (map->labels, NV, want->labels, NV);
  const char *dropped = ns_journal_get_dropped (j);
  g_assert_nonnull (dropped);
  g_test_message ("%s", dropped);
  g_assert_true (g_str_has_prefix (dropped, path));
  g_assert_nonnull (strstr (dropped, "1 of 6 records (3) are for a mask of 64 voxels"));
  ns_journal_close (j);

  /* A mask that none fits is still refused, untouched. */
  j = ns_journal_open_path (path, &error);
  g_autoptr (NsLabelMap) other = new_map (128 * 64);
  g_assert_false (ns_journal_replay (j, other, NULL, &n, &error));
  g_assert_error (error, NS_EDIT_ERROR, NS_EDIT_ERROR_JOURNAL);
  g_clear_error (&error);
  for (gsize i = 0; i < 128 * 64; i++)
    g_assert_cmpuint (other->labels[i], ==, 0);
  ns_journal_truncate (j, NULL);
  ns_journal_close (j);
}

/* ---- write errors ------------------------------------------------------------------------- */

typedef struct
{
  guint n_calls;
  GThread *thread;         /* where each call ran */
  char *message;           /* of the last call */
} Reports;

static void
report_cb (NsJournal *journal, const GError *error, gpointer user_data)
{
  Reports *r = user_data;
  g_assert_true (g_error_matches (error, NS_EDIT_ERROR, NS_EDIT_ERROR_JOURNAL));
  r->n_calls++;
  r->thread = g_thread_self ();
  g_free (r->message);
  r->message = g_strdup (error->message);
}

/* The soft limit only, so that it can be raised again without privileges. */
static void
set_file_size_limit (rlim_t bytes)
{
  struct rlimit rl;
  g_assert_cmpint (getrlimit (RLIMIT_FSIZE, &rl), ==, 0);
  rl.rlim_cur = MIN (bytes, rl.rlim_max);
  g_assert_cmpint (setrlimit (RLIMIT_FSIZE, &rl), ==, 0);
}

static goffset
file_size (const char *path)
{
  GStatBuf st;
  g_assert_cmpint (g_stat (path, &st), ==, 0);
  return st.st_size;
}

/* Appends 1 kB edits until the writer has failed (its error is there, not reported). */
static void
append_until_failed (NsJournal *j)
{
  for (int k = 0; k < 2000; k++)
    {
      g_autoptr (NsEditChange) c = make_edit (NV, (gsize) (k % 7), 180, (guint8) (1 + k % 4));
      ns_journal_append (j, c, TRUE);
      g_autoptr (GError) e = ns_journal_dup_error (j);
      if (e != NULL)
        return;
    }
  /* Appending does not wait: give the writer its time, then it must have failed. */
  for (int t = 0; t < 10000; t++)
    {
      g_autoptr (GError) e = ns_journal_dup_error (j);
      if (e != NULL)
        return;
      g_usleep (1000);
    }
  g_assert_not_reached ();
}

/* Iterates context until r has n calls (at most ~20 s). */
static void
iterate_until (GMainContext *context, Reports *r, guint n)
{
  for (int t = 0; t < 20000 && r->n_calls < n; t++)
    if (!g_main_context_iteration (context, FALSE))
      g_usleep (1000);
  g_assert_cmpuint (r->n_calls, ==, n);
}

/* The child: a journal whose file cannot grow past 48 kB. */
static void
write_error_child (void)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *path = tmp_path ("full.journal");
  Reports r = { 0 };

  /* Past RLIMIT_FSIZE a write fails with EFBIG instead of killing the process. */
  signal (SIGXFSZ, SIG_IGN);

  /* Opened from a thread-default context of its own, as a dialog's worker would. */
  GMainContext *context = g_main_context_new ();
  g_main_context_push_thread_default (context);
  NsJournal *j = ns_journal_open_path (path, &error);
  g_main_context_pop_thread_default (context);
  g_assert_no_error (error);
  ns_journal_set_error_func (j, report_cb, &r, NULL);

  set_file_size_limit (48 * 1024);
  append_until_failed (j);

  /* Not in the global default context, nor synchronously from the writer thread... */
  for (int i = 0; i < 100; i++)
    g_main_context_iteration (NULL, FALSE);
  g_assert_cmpuint (r.n_calls, ==, 0);
  /* ...but in the opener's context, once. */
  iterate_until (context, &r, 1);
  g_assert_true (r.thread == g_thread_self ());
  g_assert_true (g_str_has_prefix (r.message, path));
  g_assert_nonnull (strstr (r.message, g_strerror (EFBIG)));
  g_autoptr (GError) copy = ns_journal_dup_error (j);
  g_assert_cmpstr (copy->message, ==, r.message);

  /* Journaling has stopped: the file no longer grows, more edits are not reported again. */
  goffset size = file_size (path);
  g_assert_cmpint (size, <=, 48 * 1024);
  guint64 n_records = ns_journal_n_records (j);
  for (int k = 0; k < 10; k++)
    {
      g_autoptr (NsEditChange) c = make_edit (NV, 1, 10, 3);
      ns_journal_append (j, c, TRUE);
    }
  g_assert_false (ns_journal_flush (j, &error));
  g_assert_cmpstr (error->message, ==, r.message);
  g_clear_error (&error);
  g_assert_cmpint (file_size (path), ==, size);
  g_assert_cmpuint (ns_journal_n_records (j), ==, n_records);
  for (int i = 0; i < 100; i++)
    g_main_context_iteration (context, FALSE);
  g_assert_cmpuint (r.n_calls, ==, 1);

  /* A save (truncation) makes the journal whole again: protected, and silent. */
  set_file_size_limit (RLIM_INFINITY);
  g_assert_true (ns_journal_truncate (j, &error));
  g_assert_no_error (error);
  g_assert_null (ns_journal_dup_error (j));
  g_autoptr (NsEditChange) after = make_edit (NV, 2, 10, 4);
  ns_journal_append (j, after, TRUE);
  g_assert_true (ns_journal_flush (j, &error));
  g_assert_cmpuint (ns_journal_n_records (j), ==, 1);

  /* A second failure is a second report. */
  set_file_size_limit ((rlim_t) file_size (path) + 100);
  append_until_failed (j);
  iterate_until (context, &r, 2);

  /* Everything was reported: closing says nothing. */
  set_file_size_limit (RLIM_INFINITY);
  g_assert_true (ns_journal_close_full (j, &error));
  g_assert_no_error (error);
  g_main_context_unref (context);
  printf ("reported: %s\n", r.message);
  g_free (r.message);
}

/* An error nobody was told of: close returns it, and ns_journal_close () logs it (before,
 * close cleared it: a full disk ended crash protection without a word). */
static void
unreported_child (gboolean full)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *path = tmp_path ("unreported.journal");

  signal (SIGXFSZ, SIG_IGN);
  NsJournal *j = ns_journal_open_path (path, &error);
  g_assert_no_error (error);
  set_file_size_limit (8 * 1024);
  append_until_failed (j);
  set_file_size_limit (RLIM_INFINITY);
  if (full)
    {
      g_assert_false (ns_journal_close_full (j, &error));
      g_assert_error (error, NS_EDIT_ERROR, NS_EDIT_ERROR_JOURNAL);
      g_assert_nonnull (strstr (error->message, path));
      printf ("returned: %s\n", error->message);
    }
  else
    {
      g_test_expect_message ("neuroseg-data", G_LOG_LEVEL_WARNING,
                             "*unreported.journal: cannot append to the journal*not protected*");
      ns_journal_close (j);
      g_test_assert_expected_messages ();
      printf ("logged\n");
    }
}

static void
test_write_error_reported (void)
{
  if (g_test_subprocess ())
    {
      write_error_child ();
      return;
    }
  g_test_trap_subprocess (NULL, 120 * G_USEC_PER_SEC, G_TEST_SUBPROCESS_DEFAULT);
  g_test_trap_assert_passed ();
  g_test_trap_assert_stdout ("*reported: *full.journal: cannot append to the journal: *");
}

static void
test_write_error_unreported (void)
{
  if (g_test_subprocess ())
    {
      unreported_child (TRUE);
      return;
    }
  g_test_trap_subprocess (NULL, 120 * G_USEC_PER_SEC, G_TEST_SUBPROCESS_DEFAULT);
  g_test_trap_assert_passed ();
  g_test_trap_assert_stdout ("*returned: *unreported.journal: cannot append*");
}

static void
test_write_error_close_logs (void)
{
  if (g_test_subprocess ())
    {
      unreported_child (FALSE);
      return;
    }
  g_test_trap_subprocess (NULL, 120 * G_USEC_PER_SEC, G_TEST_SUBPROCESS_DEFAULT);
  g_test_trap_assert_passed ();
  g_test_trap_assert_stdout ("*logged*");
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/data/journal/faults/not-a-file", test_not_a_file);
  g_test_add_func ("/data/journal/faults/too-large", test_too_large);
  g_test_add_func ("/data/journal/faults/foreign-record", test_foreign_record);
  g_test_add_func ("/data/journal/faults/write-error/reported", test_write_error_reported);
  g_test_add_func ("/data/journal/faults/write-error/unreported", test_write_error_unreported);
  g_test_add_func ("/data/journal/faults/write-error/close-logs", test_write_error_close_logs);
  return g_test_run ();
}
