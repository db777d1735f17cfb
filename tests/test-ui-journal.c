/* SPDX-License-Identifier: MIT
 *
 * test-ui-journal.c: the workbench when the crash journal cannot be written (issue #13,
 * "journal write errors are dropped"), with the data folder (NEUROSEG_DATA_DIR, where the
 * journals live) on a really full filesystem: a 1 MiB tmpfs mounted in a private mount
 * namespace of this test (unshare: as root directly, else inside a user namespace), filled
 * to ENOSPC after the case is open.  No fault is simulated: the kernel refuses the
 * journal's write as it would on a full disk.
 *
 * What must happen: an infobar at once ("Edits are no longer protected: <reason>") with
 * Save and Save As offered and working; the bar goes when a save succeeds (the journal is
 * truncated and whole again); on a disk still full the next edit brings it back; once
 * there is room, edits are journaled again and the bar stays away.
 *
 * The mount namespace must be made while the process has one thread (before GTK starts):
 * main () does it first.
 */
#define _GNU_SOURCE
#include "ns-config.h"

#include <errno.h>
#include <fcntl.h>
#include <gtk/gtk.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <unistd.h>

#include <glib/gstdio.h>

#include "ns-test-util.h"
#include "ns-test-widget.h"
#include "ns-test-window.h"
#include "ns-window.h"

#define CASE_ID "Brats18_CBICA_ABM_1"

static NsWindow *window;
static char *data_dir;           /* the tmpfs */
static char *case_dir;           /* a copy of the bundled case without its segmentation */

static GtkWidget *
journal_bar (void)
{
  GtkWidget *bar = ns_test_find_named (GTK_WIDGET (window), "journal-infobar");

  g_assert_nonnull (bar);
  return bar;
}

static gboolean
bar_shown (gpointer data)
{
  return gtk_widget_get_visible (journal_bar ()) == GPOINTER_TO_INT (data);
}

static const char *
bar_text (void)
{
  GtkWidget *label = ns_test_find_named (journal_bar (), "journal-message");

  g_assert_nonnull (label);
  return gtk_label_get_text (GTK_LABEL (label));
}

/* ---- the full filesystem ----------------------------------------------------------------- */

static gboolean
write_id_map (const char *file, const char *text)
{
  int fd = open (file, O_WRONLY);
  gboolean ok = fd >= 0 && write (fd, text, strlen (text)) == (ssize_t) strlen (text);

  if (fd >= 0)
    close (fd);
  return ok;
}

/* A private mount namespace (root: CAP_SYS_ADMIN; otherwise as root of a new user
 * namespace), so that the tmpfs is seen by this process only and goes with it.  Must run
 * before any thread starts. */
static gboolean
enter_mount_namespace (void)
{
  uid_t uid = geteuid ();
  gid_t gid = getegid ();

  if (unshare (CLONE_NEWNS) != 0)
    {
      char map[64];

      if (unshare (CLONE_NEWUSER | CLONE_NEWNS) != 0)
        {
          g_printerr ("skipped: cannot make a mount namespace for the full filesystem "
                      "(unshare: %s); this test needs root or unprivileged user namespaces\n",
                      g_strerror (errno));
          return FALSE;
        }
      g_snprintf (map, sizeof map, "0 %u 1\n", (unsigned) uid);
      g_assert_true (write_id_map ("/proc/self/uid_map", map));
      g_assert_true (write_id_map ("/proc/self/setgroups", "deny"));
      g_snprintf (map, sizeof map, "0 %u 1\n", (unsigned) gid);
      g_assert_true (write_id_map ("/proc/self/gid_map", map));
    }
  if (mount (NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) != 0)
    {
      g_printerr ("skipped: cannot make the mounts private: %s\n", g_strerror (errno));
      return FALSE;
    }
  return TRUE;
}

static void
mount_small_tmpfs (const char *dir)
{
  g_assert_cmpint (g_mkdir_with_parents (dir, 0700), ==, 0);
  if (mount ("neuroseg-test", dir, "tmpfs", MS_NOSUID | MS_NODEV, "size=1m,mode=0700") != 0)
    g_error ("cannot mount a tmpfs at %s: %s", dir, g_strerror (errno));
}

/* Fills the filesystem of dir to ENOSPC; returns the filler file's path. */
static char *
fill_filesystem (const char *dir)
{
  char *path = g_build_filename (dir, "filler", NULL);
  int fd = open (path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
  static char block[4096];
  gsize total = 0;
  ssize_t n;

  g_assert_cmpint (fd, >=, 0);
  while ((n = write (fd, block, sizeof block)) > 0)
    total += (gsize) n;
  g_assert_cmpint (errno, ==, ENOSPC);
  /* the last partial block too */
  while (write (fd, block, 1) == 1)
    total++;
  g_assert_cmpint (errno, ==, ENOSPC);
  g_assert_cmpint (close (fd), ==, 0);
  g_test_message ("filled %s with %" G_GSIZE_FORMAT " bytes", dir, total);
  return path;
}

/* ---- the case ---------------------------------------------------------------------------- */

static char *
copy_case_without_seg (const char *name)
{
  g_autofree char *dest = g_build_filename (ns_test_tmpdir (), name, NULL);
  return ns_test_copy_sample_case (dest, FALSE);
}

/* A fill of the background of the axial slice shown with label (thousands of voxels: a
 * journal record far larger than a page). */
static void
fill_slice (guint8 label)
{
  NsSliceView *axial = ns_window_get_slice_view (window, NS_PLANE_AXIAL);
  double xy[2];

  /* a corner of the image: background, connected to the whole border */
  ns_slice_view_image_to_widget (axial, 2.5, 2.5, &xy[0], &xy[1]);

  g_assert_true (gtk_widget_activate_action_variant (GTK_WIDGET (window), "edit.tool",
                                                     g_variant_new_string ("fill")));
  ns_editor_set_label (ns_window_get_editor (window), label);
  /* a big edit on purpose, so the fill guard's question (test-ui-cleanup) is not asked */
  ns_editor_set_fill_guard (ns_window_get_editor (window), FALSE);
  ns_slice_view_paint_path (axial, 0, xy, 1);
}

static void
click (GtkWidget *bar, const char *label)
{
  GtkWidget *button = ns_test_find_button (bar, label);

  g_assert_nonnull (button);
  g_assert_true (gtk_widget_is_sensitive (button));
  g_signal_emit_by_name (button, "clicked");
}

static NsJournal *
journal (void)
{
  return ns_mask_doc_get_journal (ns_editor_get_doc (ns_window_get_editor (window)));
}

static void
test_full_disk (void)
{
  g_autofree char *mask_path = g_build_filename (case_dir, CASE_ID "_mask.nii.gz", NULL);
  g_autofree char *filler = NULL;
  g_autoptr (GError) error = NULL;
  NsEditor *editor = ns_window_get_editor (window);

  g_assert_nonnull (ns_editor_get_doc (editor));
  g_assert_false (gtk_widget_get_visible (journal_bar ()));

  /* The disk fills up while the case is open; the next edit cannot be journaled. */
  filler = fill_filesystem (data_dir);
  fill_slice (1);
  g_assert_true (ns_editor_is_modified (editor));
  g_assert_true (ns_test_wait_until (bar_shown, GINT_TO_POINTER (TRUE), 30));
  g_test_message ("infobar: %s", bar_text ());
  g_assert_true (g_str_has_prefix (bar_text (), "Edits are no longer protected: "));
  g_assert_nonnull (strstr (bar_text (), ns_journal_get_path (journal ())));
  g_assert_nonnull (strstr (bar_text (), g_strerror (ENOSPC)));

  /* Save and Save As are offered in the bar; Save works (the mask is on another disk)
   * and makes the journal whole again: the bar goes. */
  g_assert_nonnull (ns_test_find_button (journal_bar (), "Save _As…"));
  g_assert_true (gtk_widget_is_sensitive (ns_test_find_button (journal_bar (), "Save _As…")));
  click (journal_bar (), "Save _Now");
  g_assert_true (ns_test_wait_until (bar_shown, GINT_TO_POINTER (FALSE), 30));
  g_assert_false (ns_editor_is_modified (editor));
  g_assert_null (ns_journal_dup_error (journal ()));
  {
    NsLabelMap *map = ns_mask_doc_get_map (ns_editor_get_doc (editor));
    g_autoptr (NsLabelMap) saved = ns_mask_doc_read_mask (mask_path, &map->grid, &error);

    g_assert_no_error (error);
    g_assert_cmpmem (saved->labels, ns_grid_n_voxels (&saved->grid), map->labels,
                     ns_grid_n_voxels (&map->grid));
  }

  /* The disk is still full: the next edit is not protected either, and the user is told
   * again. */
  fill_slice (2);
  g_assert_true (ns_test_wait_until (bar_shown, GINT_TO_POINTER (TRUE), 30));
  g_assert_nonnull (strstr (bar_text (), g_strerror (ENOSPC)));

  /* Room again: a save re-establishes the journal, and edits are journaled from then on. */
  g_assert_cmpint (g_unlink (filler), ==, 0);
  click (journal_bar (), "Save _Now");
  g_assert_true (ns_test_wait_until (bar_shown, GINT_TO_POINTER (FALSE), 30));
  fill_slice (1);
  g_assert_true (ns_journal_flush (journal (), &error));
  g_assert_no_error (error);
  g_assert_cmpuint (ns_journal_n_records (journal ()), >, 0);
  ns_test_spin (0.2);
  g_assert_false (gtk_widget_get_visible (journal_bar ()));
}

int
main (int argc, char **argv)
{
  int status;

  /* first, while this process has one thread */
  if (!enter_mount_namespace ())
    return 77;
  g_setenv ("GTK_A11Y", "none", TRUE);
  g_setenv ("XDG_CONFIG_HOME", ns_test_tmpdir (), TRUE);
  data_dir = g_build_filename (ns_test_tmpdir (), "data", NULL);
  mount_small_tmpfs (data_dir);
  g_setenv ("NEUROSEG_DATA_DIR", data_dir, TRUE);
  g_test_init (&argc, &argv, NULL);
  gtk_init ();

  case_dir = copy_case_without_seg (CASE_ID);
  window = ns_window_new (NULL);
  gtk_window_set_default_size (GTK_WINDOW (window), 1400, 820);
  gtk_window_present (GTK_WINDOW (window));
  {
    const char *paths[] = { case_dir, NULL };

    ns_window_open (window, paths);
    g_assert_true (ns_test_wait_until (ns_test_window_idle, window, 120));
    g_assert_null (ns_window_get_load_error (window));
    ns_window_set_layout (window, "grid");
    g_assert_true (ns_test_wait_until (ns_test_window_views_allocated, window, 10));
  }

  g_test_add_func ("/ui/journal/full-disk", test_full_disk);
  status = g_test_run ();

  gtk_window_destroy (GTK_WINDOW (window));
  /* the temporary folder is removed at exit: the tmpfs must be gone from under it */
  if (umount2 (data_dir, MNT_DETACH) != 0)
    g_warning ("cannot unmount %s: %s", data_dir, g_strerror (errno));
  g_free (case_dir);
  g_free (data_dir);
  return status;
}
