/* SPDX-License-Identifier: MIT
 *
 * ns-test-util.c: see ns-test-util.h.
 */
#define G_LOG_DOMAIN "ns-test"

#include "ns-test-util.h"

#include <string.h>

#include "ns-nifti.h"

#include <glib/gstdio.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>

static char *
project_root (void)
{
  const char *env = g_getenv ("NS_SOURCE_DIR");
  return env != NULL ? g_strdup (env) : g_get_current_dir ();
}

const char *
ns_test_require_shared (void)
{
  static char *shared;

  if (shared == NULL)
    {
      g_autofree char *root = project_root ();
      g_autofree char *path = g_build_filename (root, "..", "shared", NULL);
      g_autofree char *data = g_build_filename (path, "data", NULL);
      if (!g_file_test (data, G_FILE_TEST_IS_DIR))
        {
          g_printerr ("skipping: %s not found\n", data);
          exit (77);
        }
      shared = g_canonicalize_filename (path, NULL);
    }
  return shared;
}

char *
ns_test_src_path (const char *first, ...)
{
  g_autofree char *root = project_root ();
  g_autoptr (GPtrArray) parts = g_ptr_array_new ();
  va_list ap;

  g_ptr_array_add (parts, root);
  va_start (ap, first);
  for (const char *p = first; p != NULL; p = va_arg (ap, const char *))
    g_ptr_array_add (parts, (gpointer) p);
  va_end (ap);
  g_ptr_array_add (parts, NULL);
  return g_build_filenamev ((char **) parts->pdata);
}

const char *
ns_test_sample_case (void)
{
  static char *dir;
  if (dir == NULL)
    dir = ns_test_src_path ("resources", "samples", "Brats18_CBICA_ABM_1", NULL);
  return dir;
}

char *
ns_test_copy_sample_case (const char *dest, gboolean with_seg)
{
  g_autoptr (GDir) dir = g_dir_open (ns_test_sample_case (), 0, NULL);
  const char *file;

  g_assert_nonnull (dir);
  g_assert_cmpint (g_mkdir_with_parents (dest, 0755), ==, 0);
  while ((file = g_dir_read_name (dir)) != NULL)
    {
      g_autofree char *from = g_build_filename (ns_test_sample_case (), file, NULL);
      g_autofree char *to = g_build_filename (dest, file, NULL);
      g_autofree char *contents = NULL;
      gsize length;

      if (!with_seg && strstr (file, "_seg.") != NULL)
        continue;
      g_assert_true (g_file_get_contents (from, &contents, &length, NULL));
      g_assert_true (g_file_set_contents (to, contents, length, NULL));
    }
  return g_strdup (dest);
}

static char *tmpdir;

void
ns_test_remove_tree (const char *path)
{
  GDir *dir = g_dir_open (path, 0, NULL);
  if (dir != NULL)
    {
      const char *name;
      while ((name = g_dir_read_name (dir)) != NULL)
        {
          g_autofree char *child = g_build_filename (path, name, NULL);
          if (g_file_test (child, G_FILE_TEST_IS_DIR)
              && !g_file_test (child, G_FILE_TEST_IS_SYMLINK))
            ns_test_remove_tree (child);
          else
            g_unlink (child);
        }
      g_dir_close (dir);
    }
  g_rmdir (path);
}

static void
remove_tmpdir (void)
{
  if (tmpdir != NULL && g_getenv ("NS_TEST_KEEP_TMP") == NULL)
    ns_test_remove_tree (tmpdir);
}

const char *
ns_test_tmpdir (void)
{
  if (tmpdir == NULL)
    {
      g_autoptr (GError) error = NULL;
      tmpdir = g_dir_make_tmp ("neuroseg-test-XXXXXX", &error);
      g_assert_no_error (error);
      atexit (remove_tmpdir);
    }
  return tmpdir;
}

gboolean
ns_check_tensor (const char *label, const float *got, const double *want, gsize n, double tol)
{
  double sum2 = 0.0, worst = 0.0;
  gsize worst_i = 0, first_bad = G_MAXSIZE, n_bad = 0;

  for (gsize i = 0; i < n; i++)
    sum2 += want[i] * want[i];
  double scale = n > 0 ? sqrt (sum2 / (double) n) : 0.0;
  if (scale == 0.0)
    scale = 1e-12;

  for (gsize i = 0; i < n; i++)
    {
      double err = fabs ((double) got[i] - want[i]) / (fabs (want[i]) + scale);
      if (!(err <= tol)) /* catches NaN */
        {
          n_bad++;
          if (first_bad == G_MAXSIZE)
            first_bad = i;
        }
      if (!(err <= worst))
        {
          worst = err;
          worst_i = i;
        }
    }
  g_test_message ("%s: %" G_GSIZE_FORMAT " values, worst error %.3g at %" G_GSIZE_FORMAT
                  " (got %.8g want %.8g)", label, n, worst, worst_i,
                  n > 0 ? got[worst_i] : 0.0, n > 0 ? want[worst_i] : 0.0);
  if (n_bad > 0)
    {
      printf ("%s: %" G_GSIZE_FORMAT " of %" G_GSIZE_FORMAT " values over tolerance %.3g; "
              "first at %" G_GSIZE_FORMAT " (got %.8g want %.8g); worst %.3g at %"
              G_GSIZE_FORMAT "\n", label, n_bad, n, tol, first_bad, got[first_bad],
              want[first_bad], worst, worst_i);
      return FALSE;
    }
  return TRUE;
}

void
ns_test_run_clear (NsTestRun *run)
{
  g_clear_pointer (&run->out, g_free);
  g_clear_pointer (&run->err, g_free);
}

void
ns_test_run_argv (NsTestRun *run, const char *const *argv)
{
  g_autoptr (GError) error = NULL;
  int wait_status;

  g_assert_true (g_spawn_sync (NULL, (char **) argv, NULL,
                               G_SPAWN_SEARCH_PATH | G_SPAWN_STDIN_FROM_DEV_NULL, NULL, NULL,
                               &run->out, &run->err, &wait_status, &error));
  g_assert_no_error (error);
  run->status = WIFEXITED (wait_status) ? WEXITSTATUS (wait_status) : -1;
  g_test_message ("%s ... -> exit %d\nstdout:\n%s\nstderr:\n%s", argv[0], run->status,
                  run->out, run->err);
}

void
ns_test_run_neuroseg_valist (NsTestRun *run, va_list ap, const char *const *extra)
{
  const char *exe = g_getenv ("NEUROSEG");
  g_autoptr (GPtrArray) argv = g_ptr_array_new ();

  g_assert_nonnull (exe);
  g_ptr_array_add (argv, (gpointer) exe);
  for (const char *a = va_arg (ap, const char *); a != NULL; a = va_arg (ap, const char *))
    g_ptr_array_add (argv, (gpointer) a);
  for (; extra != NULL && *extra != NULL; extra++)
    g_ptr_array_add (argv, (gpointer) *extra);
  g_ptr_array_add (argv, NULL);
  ns_test_run_argv (run, (const char *const *) argv->pdata);
}

char *
ns_test_write_case (const char *id, int nx, int ny, int nz, gboolean labels)
{
  g_autoptr (GError) error = NULL;
  static const char *const parts[] = { "flair", "t1ce", "seg" };
  char *dir = g_build_filename (ns_test_tmpdir (), id, NULL);
  NsGrid grid;

  g_assert_cmpint (g_mkdir_with_parents (dir, 0755), ==, 0);
  ns_grid_init (&grid, nx, ny, nz, 1.0, 1.0, 2.0);
  for (int p = 0; p < (labels ? 3 : 2); p++)
    {
      g_autoptr (NsVolume) v = ns_volume_new (&grid, &error);
      g_assert_no_error (error);
      for (int k = 1; k < nz - 1; k++)
        for (int j = 0; j < ny; j++)
          for (int i = 0; i < nx; i++)
            {
              double dx = (i - nx / 2) / (nx / 3.0), dy = (j - ny / 2) / (ny / 3.0);
              gboolean brain = dx * dx + dy * dy <= 1.0;
              gboolean tumour = dx * dx + dy * dy <= 0.16;
              float value = (float) (200 + 50 * sin (i * 0.3 + p) + 40 * cos (j * 0.2 * k));
              if (brain)
                v->voxels[ns_grid_index (&grid, i, j, k)] = p < 2 ? value : 2.0f * tumour;
            }
      g_autofree char *name = g_strdup_printf ("%s_%s.nii.gz", id, parts[p]);
      g_autofree char *path = g_build_filename (dir, name, NULL);
      g_assert_true (ns_nifti_write_volume (v, path, &error));
      g_assert_no_error (error);
    }
  return dir;
}

/* va_start needs a named parameter before the dots: args, passed through as extra. */
static void
run_extra (NsTestRun *run, const char *const *extra, ...)
{
  va_list ap;

  va_start (ap, extra);
  ns_test_run_neuroseg_valist (run, ap, extra);
  va_end (ap);
}

void
ns_test_run_neuroseg_strv (NsTestRun *run, const char *const *args)
{
  run_extra (run, args, NULL);
}

void
ns_test_run_neuroseg (NsTestRun *run, ...)
{
  va_list ap;

  va_start (ap, run);
  ns_test_run_neuroseg_valist (run, ap, NULL);
  va_end (ap);
}

float *
ns_test_dup_floats (const NsVolume *volume)
{
  gsize n = ns_volume_n_voxels (volume);
  float *out = g_new (float, MAX (n, 1));
  ns_volume_read_floats (volume, 0, n, out);
  return out;
}

void
ns_test_assert_same_voxels (const NsVolume *a, const NsVolume *b)
{
  gsize n = ns_volume_n_voxels (a);
  g_assert_cmpuint (n, ==, ns_volume_n_voxels (b));
  g_autofree float *fa = ns_test_dup_floats (a);
  g_autofree float *fb = ns_test_dup_floats (b);
  g_assert_cmpmem (fa, n * sizeof (float), fb, n * sizeof (float));
}
