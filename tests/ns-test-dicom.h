/* SPDX-License-Identifier: MIT
 *
 * ns-test-dicom.h: helpers of the DICOM tests (issue 18).  Test data is made, not
 * downloaded: tests/dicom/make-series.py (python3-pydicom) writes series from a crop of a
 * ../shared BraTS case, or from a seeded synthetic phantom where ../shared is absent.  The
 * independent oracle is dcm2niix; its NIfTI and ours are compared voxel by voxel in
 * patient space (dcm2niix flips the row axis, so the voxel orders differ).  Header-only,
 * like ns-test-nifti.h.
 */
#pragma once

#include "ns-nifti.h"
#include "ns-test-util.h"

#include <glib.h>
#include <math.h>
#include <stdarg.h>
#include <string.h>

#define NS_TEST_PYTHON "/usr/bin/python3"

/* Runs argv (NULL-terminated) to completion; fails the test with its output unless it
 * exits 0.  Returns its stdout (owned). */
static inline char *
ns_test_spawn_ok (const char *const *argv)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *err = NULL;
  char *out = NULL;
  int status;

  g_assert_true (g_spawn_sync (NULL, (char **) argv, NULL, G_SPAWN_SEARCH_PATH, NULL, NULL, &out,
                               &err, &status, &error));
  g_assert_no_error (error);
  if (!g_spawn_check_wait_status (status, NULL))
    g_error ("%s %s failed: %s%s", argv[0], argv[1] != NULL ? argv[1] : "", out, err);
  return out;
}

/* The volume source of make-series.py: a BraTS 2018 case of ../shared, else a phantom. */
static inline void
ns_test_dicom_source (GPtrArray *argv)
{
  g_autofree char *brats = ns_test_src_path ("..", "shared", "data", "brats2018",
                                             "Brats18_2013_11_1", NULL);
  if (g_file_test (brats, G_FILE_TEST_IS_DIR))
    {
      g_ptr_array_add (argv, g_strdup ("--case"));
      g_ptr_array_add (argv, g_steal_pointer (&brats));
    }
  else
    {
      g_ptr_array_add (argv, g_strdup ("--synthetic"));
      g_ptr_array_add (argv, g_strdup ("11"));
    }
}

/* make-series.py COMMAND ARGS (NULL-terminated array), with the volume source added for
 * the series and study commands. */
static inline void
ns_test_dicom_makev (const char *command, const char *const *args)
{
  g_autoptr (GPtrArray) argv = g_ptr_array_new_with_free_func (g_free);

  g_ptr_array_add (argv, g_strdup (NS_TEST_PYTHON));
  g_ptr_array_add (argv, ns_test_src_path ("tests", "dicom", "make-series.py", NULL));
  g_ptr_array_add (argv, g_strdup (command));
  for (const char *const *a = args; *a != NULL; a++)
    g_ptr_array_add (argv, g_strdup (*a));
  if (strcmp (command, "check-seg") != 0)
    ns_test_dicom_source (argv);
  g_ptr_array_add (argv, NULL);
  g_autofree char *out = ns_test_spawn_ok ((const char *const *) argv->pdata);
  if (out != NULL && out[0] != '\0')
    g_test_message ("make-series.py %s: %s", command, out);
}

/* Several make-series.py jobs in one Python process (its start, with numpy, pydicom and
 * nibabel, is most of the cost of a small series).  Add jobs with
 * ns_test_dicom_batch_add (), then ns_test_dicom_batch_run () makes them all. */
static inline GString *
ns_test_dicom_batch_jobs (void)
{
  static GString *jobs;
  if (jobs == NULL)
    jobs = g_string_new (NULL);
  return jobs;
}

/* One job: its arguments (command first, NULL-terminated), the volume source added. */
static inline void
ns_test_dicom_batch_addv (const char *const *args)
{
  g_autoptr (GPtrArray) argv = g_ptr_array_new_with_free_func (g_free);
  GString *jobs = ns_test_dicom_batch_jobs ();

  for (const char *const *a = args; *a != NULL; a++)
    g_ptr_array_add (argv, g_strdup (*a));
  ns_test_dicom_source (argv);
  for (guint i = 0; i < argv->len; i++)
    {
      g_assert_null (strpbrk (argv->pdata[i], "\t\n"));
      g_string_append_printf (jobs, "%s%s", i > 0 ? "\t" : "", (char *) argv->pdata[i]);
    }
  g_string_append_c (jobs, '\n');
}

/* The same with the arguments listed (command first, NULL-terminated). */
static inline void
ns_test_dicom_batch_add (const char *command, ...)
{
  g_autoptr (GPtrArray) args = g_ptr_array_new ();
  va_list ap;

  g_ptr_array_add (args, (gpointer) command);
  va_start (ap, command);
  for (const char *a = va_arg (ap, const char *); a != NULL; a = va_arg (ap, const char *))
    g_ptr_array_add (args, (gpointer) a);
  va_end (ap);
  g_ptr_array_add (args, NULL);
  ns_test_dicom_batch_addv ((const char *const *) args->pdata);
}

static inline void
ns_test_dicom_batch_run (void)
{
  GString *jobs = ns_test_dicom_batch_jobs ();
  g_autofree char *path = g_build_filename (ns_test_tmpdir (), "jobs.txt", NULL);
  g_assert_true (g_file_set_contents (path, jobs->str, (gssize) jobs->len, NULL));
  g_autoptr (GPtrArray) argv = g_ptr_array_new_with_free_func (g_free);
  g_ptr_array_add (argv, g_strdup (NS_TEST_PYTHON));
  g_ptr_array_add (argv, ns_test_src_path ("tests", "dicom", "make-series.py", NULL));
  g_ptr_array_add (argv, g_strdup ("batch"));
  g_ptr_array_add (argv, g_strdup (path));
  g_ptr_array_add (argv, NULL);
  g_free (ns_test_spawn_ok ((const char *const *) argv->pdata));
  g_string_truncate (jobs, 0);
}

/* The same with the arguments listed (NULL-terminated). */
static inline void
ns_test_dicom_make (const char *command, ...)
{
  g_autoptr (GPtrArray) args = g_ptr_array_new ();
  va_list ap;

  va_start (ap, command);
  for (const char *a = va_arg (ap, const char *); a != NULL; a = va_arg (ap, const char *))
    g_ptr_array_add (args, (gpointer) a);
  va_end (ap);
  g_ptr_array_add (args, NULL);
  ns_test_dicom_makev (command, (const char *const *) args->pdata);
}

/* dcm2niix's NIfTI of the series in dir (written to out_dir/NAME.nii). */
static inline char *
ns_test_dcm2niix (const char *dir, const char *out_dir, const char *name)
{
  const char *argv[] = { "dcm2niix", "-z", "n", "-b", "n", "-v", "0", "-f", name, "-o",
                         out_dir, dir, NULL };
  g_autofree char *out = ns_test_spawn_ok (argv);
  g_autofree char *file = g_strdup_printf ("%s.nii", name);
  char *path = g_build_filename (out_dir, file, NULL);
  if (!g_file_test (path, G_FILE_TEST_IS_REGULAR))
    g_error ("dcm2niix wrote no %s: %s", path, out);
  return path;
}

/* dciodvfy's verdict: no line of its output is an error. */
static inline void
ns_test_assert_dciodvfy (const char *path)
{
  const char *argv[] = { "dciodvfy", path, NULL };
  g_autoptr (GError) error = NULL;
  g_autofree char *out = NULL, *err = NULL;
  int status;
  g_assert_true (g_spawn_sync (NULL, (char **) argv, NULL, G_SPAWN_SEARCH_PATH, NULL, NULL,
                               &out, &err, &status, &error));
  g_assert_no_error (error);
  g_autofree char *all = g_strconcat (out, err, NULL);
  g_auto (GStrv) lines = g_strsplit (all, "\n", -1);
  guint n_errors = 0, n_warnings = 0;
  for (char **l = lines; *l != NULL; l++)
    {
      if (g_str_has_prefix (*l, "Error"))
        n_errors++;
      else if (g_str_has_prefix (*l, "Warning"))
        n_warnings++;
    }
  g_test_message ("dciodvfy %s: %u errors, %u warnings\n%s", path, n_errors, n_warnings, all);
  if (n_errors > 0)
    g_error ("dciodvfy finds %u errors in %s:\n%s", n_errors, path, all);
  g_assert_nonnull (strstr (all, "Segmentation"));
}

/* The inverse of an affine 4x4 (3x3 part and translation). */
static inline void
ns_test_invert_affine (const double m[4][4], double out[4][4])
{
  double a = m[0][0], b = m[0][1], c = m[0][2], d = m[1][0], e = m[1][1], f = m[1][2];
  double g = m[2][0], h = m[2][1], i = m[2][2];
  double det = a * (e * i - f * h) - b * (d * i - f * g) + c * (d * h - e * g);
  double inv[3][3] = {
    { (e * i - f * h) / det, (c * h - b * i) / det, (b * f - c * e) / det },
    { (f * g - d * i) / det, (a * i - c * g) / det, (c * d - a * f) / det },
    { (d * h - e * g) / det, (b * g - a * h) / det, (a * e - b * d) / det },
  };
  memset (out, 0, 16 * sizeof (double));
  for (int r = 0; r < 3; r++)
    {
      for (int k = 0; k < 3; k++)
        out[r][k] = inv[r][k];
      out[r][3] = -(inv[r][0] * m[0][3] + inv[r][1] * m[1][3] + inv[r][2] * m[2][3]);
    }
  out[3][3] = 1.0;
}

/* got and want hold the same image in patient space: the voxel-to-voxel map
 * inv(want) * got is a signed permutation of the axes with an integer shift (within 1e-4),
 * got's affine taken to want's voxel order equals want's (within affine_tol mm), the dims
 * agree, and every voxel has the same value (within value_tol, relative to max(1, |want|)).
 * Prints the largest differences. */
static inline void
ns_test_assert_same_image (const char *label, const NsVolume *got, const NsVolume *want,
                           double affine_tol, double value_tol)
{
  double inv[4][4], t[4][4];
  ns_test_invert_affine (want->grid.vox2ras, inv);
  for (int r = 0; r < 4; r++)
    for (int c = 0; c < 4; c++)
      {
        t[r][c] = 0.0;
        for (int k = 0; k < 4; k++)
          t[r][c] += inv[r][k] * got->grid.vox2ras[k][c];
      }
  /* t maps got's voxel (i, j, k) to want's: perm[r] is the got axis of want's axis r. */
  int perm[3] = { -1, -1, -1 }, sign[3] = { 0, 0, 0 }, shift[3];
  double worst_t = 0.0;
  for (int r = 0; r < 3; r++)
    {
      for (int c = 0; c < 3; c++)
        {
          double v = t[r][c], nearest = round (v);
          worst_t = MAX (worst_t, fabs (v - nearest));
          if (nearest != 0.0)
            {
              g_assert_cmpint (perm[r], ==, -1);
              perm[r] = c;
              sign[r] = nearest > 0 ? 1 : -1;
              g_assert_cmpfloat (fabs (nearest), ==, 1.0);
            }
        }
      shift[r] = (int) round (t[r][3]);
      worst_t = MAX (worst_t, fabs (t[r][3] - shift[r]));
      g_assert_cmpint (perm[r], >=, 0);
    }
  g_assert_cmpint (perm[0] + perm[1] + perm[2], ==, 3);
  for (int r = 0; r < 3; r++)
    g_assert_cmpint (want->grid.dim[r], ==, got->grid.dim[perm[r]]);

  /* With t rounded to P (w = P g), got's affine should be want's times P. */
  double worst_a = 0.0;
  for (int r = 0; r < 3; r++)
    for (int c = 0; c < 4; c++)
      {
        double v = c == 3 ? want->grid.vox2ras[r][3] : 0.0;
        for (int k = 0; k < 3; k++)
          v += want->grid.vox2ras[r][k] * (c == 3 ? shift[k] : perm[k] == c ? sign[k] : 0);
        worst_a = MAX (worst_a, fabs (v - got->grid.vox2ras[r][c]));
      }
  g_test_message ("%s: axes of got -> want: %c%d %c%d %c%d shift %d %d %d; map off integers "
                  "by %.2g; affine difference %.2g mm", label, sign[0] > 0 ? '+' : '-', perm[0],
                  sign[1] > 0 ? '+' : '-', perm[1], sign[2] > 0 ? '+' : '-', perm[2], shift[0],
                  shift[1], shift[2], worst_t, worst_a);
  g_assert_cmpfloat (worst_t, <=, 1e-4);
  g_assert_cmpfloat (worst_a, <=, affine_tol);

  gsize n_bad = 0, first_bad = G_MAXSIZE;
  double worst_v = 0.0;
  const NsGrid *g = &got->grid;
  for (int k = 0; k < g->dim[2]; k++)
    for (int j = 0; j < g->dim[1]; j++)
      for (int i = 0; i < g->dim[0]; i++)
        {
          int src[3] = { i, j, k }, w[3];
          for (int r = 0; r < 3; r++)
            w[r] = sign[r] * src[perm[r]] + shift[r];
          float a = ns_volume_get_value (got, ns_grid_index (g, i, j, k));
          float b = ns_volume_get_value (want, ns_grid_index (&want->grid, w[0], w[1], w[2]));
          double err = fabs ((double) a - (double) b) / MAX (1.0, fabs ((double) b));
          worst_v = MAX (worst_v, err);
          if (!(err <= value_tol))
            {
              if (n_bad == 0)
                first_bad = ns_grid_index (g, i, j, k);
              n_bad++;
            }
        }
  g_test_message ("%s: %" G_GSIZE_FORMAT " voxels, worst value difference %.3g", label,
                  ns_grid_n_voxels (g), worst_v);
  if (n_bad > 0)
    g_error ("%s: %" G_GSIZE_FORMAT " voxels differ; first at index %" G_GSIZE_FORMAT, label,
             n_bad, first_bad);
}
