/* SPDX-License-Identifier: MIT
 *
 * test-data-dicom-seg.c: label maps written as DICOM-SEG (ns_dicom_seg_write ()) and read
 * back.  Three independent checks of each SEG: dciodvfy (dicom3tools) finds no error in
 * it; pydicom alone (tests/dicom/make-series.py check-seg) finds the segments, each frame
 * at its source image's position referencing it, the references to the source series,
 * and rebuilds exactly the label map; and our own reader gives the label map back.
 */
#define G_LOG_DOMAIN "ns-test"

#include "ns-data-error.h"
#include "ns-dicom.h"
#include "ns-labels.h"
#include "ns-nifti.h"
#include "ns-test-dicom.h"
#include "ns-test-util.h"

#include <glib/gstdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char *
tmp_path (const char *name)
{
  return g_build_filename (ns_test_tmpdir (), name, NULL);
}

static void
assert_same_labels (const NsLabelMap *got, const NsLabelMap *want)
{
  g_assert_true (ns_grid_equal (&got->grid, &want->grid));
  gsize n = ns_grid_n_voxels (&want->grid);
  for (gsize i = 0; i < n; i++)
    if (got->labels[i] != want->labels[i])
      g_error ("voxel %" G_GSIZE_FORMAT ": label %u, want %u", i, got->labels[i],
               want->labels[i]);
}

static NsLabelMap *
read_labels (const char *path)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (NsVolume) vol = ns_nifti_read (path, &error);
  g_assert_no_error (error);
  NsLabelMap *map = ns_label_map_from_volume (vol, NS_LABEL_SCHEME_BRATS2015, FALSE, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (map->path, ==, path);
  return map;
}

/* Writes labels as a SEG of series (in series_dir) and checks it three ways. */
static void
write_and_check (const NsLabelMap *labels, const NsDicomSeries *series, const char *series_dir,
                 const char *labels_path, const char *out, const NsDicomSegOptions *options)
{
  g_autoptr (GError) error = NULL;
  g_assert_true (ns_dicom_seg_write (labels, series, out, options, &error));
  g_assert_no_error (error);
  ns_test_assert_dciodvfy (out);
  ns_test_dicom_make ("check-seg", out, series_dir, labels_path, NULL);

  g_autoptr (NsLabelMap) back = ns_dicom_seg_read (out, &series->grid, &error);
  g_assert_no_error (error);
  assert_same_labels (back, labels);
  g_assert_cmpstr (back->path, ==, out);

  g_autofree char *uid = ns_dicom_seg_dup_source_uid (out, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (uid, ==, series->uid);
  g_assert_true (ns_dicom_is_seg (out));
}

static void
test_study (void)
{
  g_autofree char *dir = tmp_path ("study");
  g_autofree char *truth = tmp_path ("study-truth");
  g_autofree char *seg_nii = g_build_filename (truth, "seg.nii", NULL);
  g_autofree char *flair_dir = g_build_filename (dir, "flair", NULL);

  g_autoptr (GError) error = NULL;
  g_autoptr (GPtrArray) scan = ns_dicom_scan (dir, NULL, &error);
  g_assert_no_error (error);
  NsDicomSeries *flair = ns_dicom_find_series (scan, "3", dir, &error);
  g_assert_no_error (error);
  g_autoptr (NsLabelMap) labels = read_labels (seg_nii);
  guint64 counts[256];
  ns_label_map_count (labels, counts);
  g_test_message ("labels: %" G_GUINT64_FORMAT " NCR, %" G_GUINT64_FORMAT " ED, %"
                  G_GUINT64_FORMAT " ET", counts[1], counts[2], counts[4]);
  g_assert_cmpuint (counts[1] + counts[2] + counts[4], >, 0);

  /* Found by its grid among the study's series (the FLAIR, the T1s, the T2 share it). */
  NsDicomSeries *on_grid = ns_dicom_find_series_on_grid (scan, &labels->grid, NULL, seg_nii,
                                                        &error);
  g_assert_no_error (error);
  g_assert_true (on_grid->is_volume);
  const NsDicomFile *first = g_ptr_array_index (flair->files, 0);
  g_assert_true (ns_dicom_find_series_on_grid (scan, &labels->grid, first->path, seg_nii,
                                               &error) == flair);

  /* Written into the study's folder: the next scan passes over it. */
  g_autofree char *out = g_build_filename (dir, "seg.dcm", NULL);
  NsDicomSegOptions options = { "Tumour segmentation", 0, "neuroseg test model", NULL };
  write_and_check (labels, flair, flair_dir, seg_nii, out, &options);
  guint n_other = 0;
  g_autoptr (GPtrArray) again = ns_dicom_scan (dir, &n_other, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (again->len, ==, scan->len);
  g_assert_cmpuint (n_other, ==, 1);
  g_assert_false (ns_dicom_is_seg (first->path));

  /* Written again over itself: replaced whole (atomically), still valid. */
  g_assert_true (ns_dicom_seg_write (labels, flair, out, NULL, &error));
  g_assert_no_error (error);
  ns_test_assert_dciodvfy (out);

  /* A label map on another grid is refused, naming it and the series. */
  NsGrid other = labels->grid;
  other.dim[2] -= 1;
  g_autoptr (NsLabelMap) small = ns_label_map_new (&other, &error);
  small->path = g_strdup ("small.nii.gz");
  g_assert_false (ns_dicom_seg_write (small, flair, out, NULL, &error));
  g_assert_error (error, NS_DATA_ERROR, NS_DATA_ERROR_GRID_MISMATCH);
  g_assert_true (g_str_has_prefix (error->message, "small.nii.gz: "));
  g_assert_nonnull (strstr (error->message, "\"AX T2 FLAIR\""));
  g_clear_error (&error);
  g_assert_null (ns_dicom_find_series_on_grid (scan, &other, NULL, "small.nii.gz", &error));
  g_assert_error (error, NS_DATA_ERROR, NS_DATA_ERROR_GRID_MISMATCH);
  g_clear_error (&error);

  /* Read onto the wrong grid: refused, not misplaced. */
  g_assert_null (ns_dicom_seg_read (out, &other, &error));
  g_assert_error (error, NS_DATA_ERROR, NS_DATA_ERROR_GRID_MISMATCH);
  g_clear_error (&error);

  /* From the case, as the workbench exports: the FLAIR's series. */
  g_autoptr (NsCase) ncase = ns_case_load (dir, NS_CASE_LOAD_DEFAULT, &error);
  g_assert_no_error (error);
  g_autofree char *from_case = g_build_filename (ns_test_tmpdir (), "from-case.dcm", NULL);
  g_assert_true (ns_dicom_seg_write_for_case (ncase, labels, from_case, NULL, &error));
  g_assert_no_error (error);
  g_autofree char *uid = ns_dicom_seg_dup_source_uid (from_case, &error);
  g_assert_cmpstr (uid, ==, flair->uid);
  g_autoptr (NsLabelMap) back = ns_dicom_seg_read (from_case, &ncase->grid, &error);
  g_assert_no_error (error);
  g_assert_cmpint (memcmp (back->labels, labels->labels, ns_grid_n_voxels (&ncase->grid)), ==,
                   0);
  /* A NIfTI case has no source series. */
  g_autoptr (NsCase) nifti = ns_case_load (ns_test_sample_case (), NS_CASE_LOAD_SKIP_LABELS,
                                           &error);
  g_assert_no_error (error);
  g_assert_false (ns_dicom_seg_write_for_case (nifti, labels, from_case, NULL, &error));
  g_assert_error (error, NS_DATA_ERROR, NS_DATA_ERROR_NOT_DICOM);
}

/* A label map made from the series' own voxels, on an oblique grid, with the label table
 * naming a label outside the BraTS schemes. */
static void
test_oblique_table (void)
{
  g_autofree char *dir = tmp_path ("oblique");
  g_autoptr (GError) error = NULL;
  g_autoptr (GPtrArray) scan = ns_dicom_scan (dir, NULL, &error);
  g_assert_no_error (error);
  NsDicomSeries *series = scan->pdata[0];
  g_autoptr (NsVolume) vol = ns_dicom_series_read (series, &error);
  g_assert_no_error (error);

  /* Thresholds at quantiles of the image: labels 2, 4 and 7 in nested regions. */
  g_autoptr (NsLabelMap) labels = ns_label_map_new (&vol->grid, &error);
  gsize n = ns_volume_n_voxels (vol);
  float lo = ns_volume_get_value (vol, 0), hi = ns_volume_get_value (vol, 0);
  for (gsize i = 0; i < n; i++)
    {
      lo = MIN (lo, ns_volume_get_value (vol, i));
      hi = MAX (hi, ns_volume_get_value (vol, i));
    }
  for (gsize i = 0; i < n; i++)
    {
      float t = (ns_volume_get_value (vol, i) - lo) / (hi - lo + 1e-6f);
      labels->labels[i] = t > 0.8f ? 7 : t > 0.6f ? 4 : t > 0.4f ? 2 : 0;
    }
  g_autofree char *labels_path = tmp_path ("oblique-labels.nii");
  g_assert_true (ns_nifti_write_label_map (labels, labels_path, &error));
  g_assert_no_error (error);

  g_autoptr (NsLabelTable) table = ns_label_table_new_for_scheme (NS_LABEL_SCHEME_BRATS2017);
  const guint8 rgba[4] = { 20, 120, 200, 255 };
  ns_label_table_set (table, 7, "cyst", rgba, TRUE, FALSE);
  NsDicomSegOptions options = { NULL, 42, NULL, table };
  g_autofree char *out = tmp_path ("oblique-seg.dcm");
  write_and_check (labels, series, dir, labels_path, out, &options);
}

static void
test_empty (void)
{
  g_autofree char *dir = tmp_path ("empty");
  g_autoptr (GError) error = NULL;
  g_autoptr (GPtrArray) scan = ns_dicom_scan (dir, NULL, &error);
  g_assert_no_error (error);
  NsDicomSeries *series = scan->pdata[0];
  g_autoptr (NsLabelMap) labels = ns_label_map_new (&series->grid, &error);
  g_assert_no_error (error);
  g_autofree char *labels_path = tmp_path ("empty-labels.nii");
  g_assert_true (ns_nifti_write_label_map (labels, labels_path, &error));

  /* No tumour: the scheme's three segments, each with one empty frame. */
  g_autofree char *out = tmp_path ("empty-seg.dcm");
  write_and_check (labels, series, dir, labels_path, out, NULL);
}

static void
test_write_errors (void)
{
  g_autofree char *dir = tmp_path ("errors");
  g_autoptr (GError) error = NULL;
  g_autoptr (GPtrArray) scan = ns_dicom_scan (dir, NULL, &error);
  g_assert_no_error (error);
  NsDicomSeries *series = scan->pdata[0];
  g_autoptr (NsLabelMap) labels = ns_label_map_new (&series->grid, &error);

  /* A folder where the file should go, and a folder that cannot be written. */
  g_assert_false (ns_dicom_seg_write (labels, series, dir, NULL, &error));
  g_assert_error (error, NS_DATA_ERROR, NS_DATA_ERROR_INVALID);
  g_clear_error (&error);
  g_autofree char *ro = tmp_path ("read-only");
  g_assert_cmpint (g_mkdir (ro, 0555), ==, 0);
  g_autofree char *out = g_build_filename (ro, "seg.dcm", NULL);
  if (access (ro, W_OK) == 0)
    {
      g_test_message ("running as root: a read-only folder is writable, not tested");
      g_assert_cmpint (g_rmdir (ro), ==, 0);
      g_autofree char *missing = tmp_path ("no-such-folder/seg.dcm");
      g_assert_false (ns_dicom_seg_write (labels, series, missing, NULL, &error));
    }
  else
    g_assert_false (ns_dicom_seg_write (labels, series, out, NULL, &error));
  g_assert_error (error, NS_DATA_ERROR, NS_DATA_ERROR_IO);
  g_test_message ("%s", error->message);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  /* The series of the tests, made by one run of the generator. */
  g_autofree char *study = tmp_path ("study");
  g_autofree char *truth = tmp_path ("study-truth");
  g_autofree char *oblique = tmp_path ("oblique");
  g_autofree char *empty = tmp_path ("empty");
  g_autofree char *errors = tmp_path ("errors");
  ns_test_dicom_batch_add ("study", study, truth, NULL);
  ns_test_dicom_batch_add ("series", oblique, "--geometry", "oblique", "--spacing",
                           "0.9,1.1,2.5", NULL);
  ns_test_dicom_batch_add ("series", empty, "--geometry", "sagittal", NULL);
  ns_test_dicom_batch_add ("series", errors, NULL);
  ns_test_dicom_batch_run ();

  g_test_add_func ("/data/dicom-seg/study", test_study);
  g_test_add_func ("/data/dicom-seg/oblique-table", test_oblique_table);
  g_test_add_func ("/data/dicom-seg/empty", test_empty);
  g_test_add_func ("/data/dicom-seg/write-errors", test_write_errors);
  return g_test_run ();
}
