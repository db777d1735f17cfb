/* SPDX-License-Identifier: MIT
 *
 * test-cli-dicom.c: DICOM from the command line (the binary from $NEUROSEG), issue 18:
 * `info` on a DICOM folder (the series, the case they make, an unclear FLAIR and the
 * option that settles it), `export-seg` (the series found by the label map's grid or
 * named, names from the label table beside the map, errors), `eval` with DICOM-SEG on
 * either side, `segment` of a DICOM folder with --seg-dicom, and outputs that would write
 * over a file of the DICOM folder or an existing file refused (issue 13).
 */
#define G_LOG_DOMAIN "ns-test"

#include "ns-dicom.h"
#include "ns-label-table.h"
#include "ns-labels.h"
#include "ns-nifti.h"
#include "ns-test-dicom.h"
#include "ns-test-util.h"

#include <string.h>

static char *study;        /* four sequences and a localizer; the T2 on a 2 x 2 x 1 mm grid */
static char *truth_dir;
static char *seg_nii;      /* the truth labels on the FLAIR's grid */

static void
assert_contains (const char *text, const char *what)
{
  if (strstr (text, what) == NULL)
    g_error ("\"%s\" not found in:\n%s", what, text);
}

static char *
tmp_path (const char *name)
{
  return g_build_filename (ns_test_tmpdir (), name, NULL);
}

static NsLabelMap *
read_labels (const char *path)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (NsVolume) vol = ns_nifti_read (path, &error);
  g_assert_no_error (error);
  NsLabelMap *map = ns_label_map_from_volume (vol, NS_LABEL_SCHEME_BRATS2015, FALSE, &error);
  g_assert_no_error (error);
  return map;
}

static GPtrArray *
scan_study (void)
{
  g_autoptr (GError) error = NULL;
  GPtrArray *scan = ns_dicom_scan (study, NULL, &error);
  g_assert_no_error (error);
  return scan;
}

static void
assert_seg_equals (const char *seg, const NsDicomSeries *series, const NsLabelMap *want)
{
  g_autoptr (GError) error = NULL;
  ns_test_assert_dciodvfy (seg);
  g_autoptr (NsLabelMap) got = ns_dicom_seg_read (seg, &series->grid, &error);
  g_assert_no_error (error);
  gsize n = ns_grid_n_voxels (&want->grid);
  g_assert_true (ns_grid_equal (&got->grid, &want->grid));
  g_assert_cmpint (memcmp (got->labels, want->labels, n), ==, 0);
  g_autofree char *uid = ns_dicom_seg_dup_source_uid (seg, &error);
  g_assert_cmpstr (uid, ==, series->uid);
}

static void
test_info (void)
{
  g_auto (NsTestRun) run = { 0 };
  ns_test_run_neuroseg (&run, "info", study, NULL);
  g_assert_cmpint (run.status, ==, 0);
  g_assert_cmpstr (run.err, ==, "");
  assert_contains (run.out, ": 5 image series\n");
  assert_contains (run.out, "series 1     \"3-plane localizer\"  MR, 3 files\n");
  assert_contains (run.out, "  not a volume: ");
  assert_contains (run.out, "series 3     \"AX T2 FLAIR\"  MR, 20 files\n");
  assert_contains (run.out, "  sequence   flair (series description \"AX T2 FLAIR\")\n");
  assert_contains (run.out, "  grid       20 x 18 x 20 voxels of 2 x 2 x 1 mm, LPS\n");
  assert_contains (run.out, "modalities   flair t1c t1 t2\n");
  assert_contains (run.out, "sform        code 1 (scanner)\n");
  assert_contains (run.out, "note         t2: series 6 \"AX T2 TSE\"");

  /* The finest grid is the FLAIR's here too; an unknown grid choice is bad usage. */
  g_auto (NsTestRun) finest = { 0 };
  ns_test_run_neuroseg (&finest, "info", "--grid", "finest", study, NULL);
  g_assert_cmpint (finest.status, ==, 0);
  g_auto (NsTestRun) bad = { 0 };
  ns_test_run_neuroseg (&bad, "info", "--grid", "coarsest", study, NULL);
  g_assert_cmpint (bad.status, ==, 2);
  assert_contains (bad.err, "--grid is flair or finest");
  /* DICOM options on a NIfTI case are bad usage too. */
  g_auto (NsTestRun) nifti = { 0 };
  ns_test_run_neuroseg (&nifti, "info", "--flair", "3", ns_test_sample_case (), NULL);
  g_assert_cmpint (nifti.status, ==, 2);
  assert_contains (nifti.err, "not a DICOM folder");
}

static void
test_info_ambiguous (void)
{
  g_autofree char *twin = tmp_path ("twin");

  g_auto (NsTestRun) run = { 0 };
  ns_test_run_neuroseg (&run, "info", twin, NULL);
  g_assert_cmpint (run.status, ==, 1);
  /* The series are listed, and the one line of error says what to do. */
  assert_contains (run.out, "series 7     \"COR T2 FLAIR 3D\"");
  assert_contains (run.err, "cannot tell which series is the flair");
  assert_contains (run.err, "choose with --flair SERIES");
  const char *nl = strchr (run.err, '\n');
  g_assert_nonnull (nl);
  g_assert_cmpint (nl[1], ==, '\0');

  g_auto (NsTestRun) chosen = { 0 };
  ns_test_run_neuroseg (&chosen, "info", "--flair", "7", twin, NULL);
  g_assert_cmpint (chosen.status, ==, 0);
  assert_contains (chosen.out, "modalities   flair t1c t1 t2\n");
  assert_contains (chosen.out, "\nflair        series 7 \"COR T2 FLAIR 3D\" (");
}

static void
test_export_seg (void)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GPtrArray) scan = scan_study ();
  g_autoptr (NsLabelMap) truth = read_labels (seg_nii);

  /* Found by grid: the FLAIR, the first on it. */
  g_autofree char *out = tmp_path ("truth.dcm");
  g_auto (NsTestRun) run = { 0 };
  ns_test_run_neuroseg (&run, "export-seg", "-o", out, seg_nii, study, NULL);
  g_assert_cmpint (run.status, ==, 0);
  assert_contains (run.out, "a DICOM Segmentation of series 3 \"AX T2 FLAIR\"");
  assert_seg_equals (out, ns_dicom_find_series (scan, "3", study, &error), truth);

  /* Named: the T1c, on the same grid. */
  g_autofree char *out_t1c = tmp_path ("truth-t1c.dcm");
  g_auto (NsTestRun) named = { 0 };
  ns_test_run_neuroseg (&named, "export-seg", "--series", "5", "--description", "Expert",
                        "--algorithm", "hand", "-o", out_t1c, seg_nii, study, NULL);
  g_assert_cmpint (named.status, ==, 0);
  assert_seg_equals (out_t1c, ns_dicom_find_series (scan, "5", study, &error), truth);

  /* A label map on the T2's coarse grid is a SEG of the T2; names from its label table. */
  NsDicomSeries *t2 = ns_dicom_find_series (scan, "6", study, &error);
  g_autoptr (NsLabelMap) coarse = ns_label_map_new (&t2->grid, &error);
  for (int k = 0; k < t2->grid.dim[2]; k++)
    for (int j = 0; j < t2->grid.dim[1]; j++)
      for (int i = 0; i < t2->grid.dim[0]; i++)
        coarse->labels[ns_grid_index (&t2->grid, i, j, k)]
          = truth->labels[ns_grid_index (&truth->grid, 2 * i, 2 * j, k)];
  g_autofree char *coarse_nii = tmp_path ("coarse.nii.gz");
  g_assert_true (ns_nifti_write_label_map (coarse, coarse_nii, &error));
  g_autoptr (NsLabelTable) table = ns_label_table_new_for_scheme (NS_LABEL_SCHEME_BRATS2017);
  const guint8 rgba[4] = { 255, 128, 0, 255 };
  ns_label_table_set (table, 4, "enhancing rim", rgba, TRUE, FALSE);
  g_autofree char *table_path = ns_label_table_path_for_mask (coarse_nii);
  g_assert_true (ns_label_table_save (table, table_path, &error));
  g_autofree char *out_t2 = tmp_path ("coarse.dcm");
  g_auto (NsTestRun) by_grid = { 0 };
  ns_test_run_neuroseg (&by_grid, "export-seg", "-o", out_t2, coarse_nii, study, NULL);
  g_assert_cmpint (by_grid.status, ==, 0);
  assert_contains (by_grid.out, "series 6 \"AX T2 TSE\"");
  assert_seg_equals (out_t2, t2, coarse);
  g_autofree char *t2_dir = g_build_filename (study, "t2", NULL);
  g_autofree char *check = NULL;
  {
    const char *argv[] = { NS_TEST_PYTHON, NULL, "check-seg", out_t2, t2_dir, coarse_nii, NULL };
    g_autofree char *script = ns_test_src_path ("tests", "dicom", "make-series.py", NULL);
    argv[1] = script;
    check = ns_test_spawn_ok (argv);
  }
  assert_contains (check, "label 4 enhancing rim: enhancing tumour (label 4)");

  /* On no series' grid; a series that does not exist; bad usage. */
  NsGrid other = truth->grid;
  other.dim[2] = 7;
  g_autoptr (NsLabelMap) odd = ns_label_map_new (&other, &error);
  g_autofree char *odd_nii = tmp_path ("odd.nii.gz");
  g_assert_true (ns_nifti_write_label_map (odd, odd_nii, &error));
  g_auto (NsTestRun) none = { 0 };
  ns_test_run_neuroseg (&none, "export-seg", "-o", out, odd_nii, study, NULL);
  g_assert_cmpint (none.status, ==, 1);
  assert_contains (none.err, odd_nii);
  assert_contains (none.err, "is that of no series");
  g_auto (NsTestRun) missing = { 0 };
  ns_test_run_neuroseg (&missing, "export-seg", "--series", "99", "-o", out, seg_nii, study,
                        NULL);
  g_assert_cmpint (missing.status, ==, 1);
  assert_contains (missing.err, "no series 99");
  g_auto (NsTestRun) usage = { 0 };
  ns_test_run_neuroseg (&usage, "export-seg", seg_nii, study, NULL);
  g_assert_cmpint (usage.status, ==, 2);
  /* The SEG written before is still there, whole: failures do not touch it. */
  assert_seg_equals (out, ns_dicom_find_series (scan, "3", study, &error), truth);
}

static void
test_eval (void)
{
  g_autofree char *seg = tmp_path ("eval-truth.dcm");
  g_auto (NsTestRun) exp = { 0 };
  ns_test_run_neuroseg (&exp, "export-seg", "-o", seg, seg_nii, study, NULL);
  g_assert_cmpint (exp.status, ==, 0);

  /* SEG against its own NIfTI, either way round: perfect. */
  g_auto (NsTestRun) a = { 0 };
  ns_test_run_neuroseg (&a, "eval", seg, seg_nii, NULL);
  g_assert_cmpint (a.status, ==, 0);
  assert_contains (a.out, "WT whole tumour              1.0000      0.000");
  g_auto (NsTestRun) b = { 0 };
  ns_test_run_neuroseg (&b, "eval", "--json", seg_nii, seg, NULL);
  g_assert_cmpint (b.status, ==, 0);
  assert_contains (b.out, "\"dice\" : 1.0");

  /* Both SEGs: their source series' grid from --dicom. */
  g_auto (NsTestRun) both = { 0 };
  ns_test_run_neuroseg (&both, "eval", seg, seg, NULL);
  g_assert_cmpint (both.status, ==, 2);
  assert_contains (both.err, "--dicom");
  g_auto (NsTestRun) with_dir = { 0 };
  ns_test_run_neuroseg (&with_dir, "eval", "--dicom", study, seg, seg, NULL);
  g_assert_cmpint (with_dir.status, ==, 0);
  assert_contains (with_dir.out, "TC tumour core               1.0000");
}

static void
test_segment (void)
{
  g_autofree char *pred = tmp_path ("pred.nii.gz");
  g_autofree char *pred_dcm = tmp_path ("pred.dcm");
  g_auto (NsTestRun) run = { 0 };
  ns_test_run_neuroseg (&run, "segment", "-o", pred, "--seg-dicom", pred_dcm, study, NULL);
  g_assert_cmpint (run.status, ==, 0);
  assert_contains (run.out, "note: t2: series 6");
  assert_contains (run.out, "DICOM-SEG: ");

  /* The SEG holds exactly the NIfTI label map, on the FLAIR's series. */
  g_autoptr (GError) error = NULL;
  g_autoptr (GPtrArray) scan = scan_study ();
  g_autoptr (NsLabelMap) labels = read_labels (pred);
  assert_seg_equals (pred_dcm, ns_dicom_find_series (scan, "3", study, &error), labels);

  /* --seg-dicom needs DICOM input. */
  g_auto (NsTestRun) nifti = { 0 };
  ns_test_run_neuroseg (&nifti, "segment", "-o", pred, "--seg-dicom", pred_dcm,
                        ns_test_sample_case (), NULL);
  g_assert_cmpint (nifti.status, ==, 2);
  assert_contains (nifti.err, "needs a DICOM case");
}

/* The first file of a folder of the study, as a user might mistype it for an output. */
static char *
first_file_of (const char *sub)
{
  g_autofree char *dir = g_build_filename (study, sub, NULL);
  g_autoptr (GDir) d = g_dir_open (dir, 0, NULL);
  g_assert_nonnull (d);
  const char *name = g_dir_read_name (d);
  g_assert_nonnull (name);
  return g_build_filename (dir, name, NULL);
}

static GBytes *
bytes_of (const char *path)
{
  char *data = NULL;
  gsize n = 0;
  g_assert_true (g_file_get_contents (path, &data, &n, NULL));
  return g_bytes_new_take (data, n);
}

static void
test_never_overwrites (void)
{
  g_autofree char *slice = first_file_of ("t2");
  g_autoptr (GBytes) before = bytes_of (slice);
  g_autofree char *pred = tmp_path ("guarded.nii.gz");
  g_autofree char *kept = tmp_path ("kept.dcm");

  /* A file of the DICOM folder: never, with --force too. */
  g_auto (NsTestRun) over = { 0 };
  ns_test_run_neuroseg (&over, "export-seg", "--force", "-o", slice, seg_nii, study, NULL);
  g_assert_cmpint (over.status, ==, 1);
  assert_contains (over.err, "is an input of this run");
  g_auto (NsTestRun) seg = { 0 };
  ns_test_run_neuroseg (&seg, "segment", "--device", "cpu", "--force", "-o", pred,
                        "--seg-dicom", slice, study, NULL);
  g_assert_cmpint (seg.status, ==, 1);
  assert_contains (seg.err, "is an input of this run");
  g_assert_false (g_file_test (pred, G_FILE_TEST_EXISTS));
  g_autoptr (GBytes) after = bytes_of (slice);
  g_assert_true (g_bytes_equal (before, after));

  /* An existing file: only with --force. */
  g_assert_true (g_file_set_contents (kept, "an earlier export", -1, NULL));
  g_auto (NsTestRun) exists = { 0 };
  ns_test_run_neuroseg (&exists, "export-seg", "-o", kept, seg_nii, study, NULL);
  g_assert_cmpint (exists.status, ==, 1);
  assert_contains (exists.err, "kept.dcm: already exists (--force replaces it)");
  g_autofree char *text = NULL;
  g_assert_true (g_file_get_contents (kept, &text, NULL, NULL));
  g_assert_cmpstr (text, ==, "an earlier export");
  g_auto (NsTestRun) forced = { 0 };
  ns_test_run_neuroseg (&forced, "export-seg", "--force", "-o", kept, seg_nii, study, NULL);
  g_assert_cmpint (forced.status, ==, 0);

  /* A series number out of range is bad usage. */
  g_auto (NsTestRun) number = { 0 };
  ns_test_run_neuroseg (&number, "export-seg", "--number", "0", "-o", kept, seg_nii, study,
                        NULL);
  g_assert_cmpint (number.status, ==, 2);
  assert_contains (number.err, "--number takes a whole number from 1 to 2147483647, not '0'");
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  study = tmp_path ("study");
  truth_dir = tmp_path ("study-truth");
  seg_nii = g_build_filename (truth_dir, "seg.nii", NULL);
  g_autofree char *twin = tmp_path ("twin");
  g_autofree char *twin_truth = tmp_path ("twin-truth");
  ns_test_dicom_batch_add ("study", study, truth_dir, "--coarse", "t2", NULL);
  ns_test_dicom_batch_add ("study", twin, twin_truth, "--twin-flair", NULL);
  ns_test_dicom_batch_run ();

  g_test_add_func ("/cli/dicom/info", test_info);
  g_test_add_func ("/cli/dicom/info-ambiguous", test_info_ambiguous);
  g_test_add_func ("/cli/dicom/export-seg", test_export_seg);
  g_test_add_func ("/cli/dicom/eval", test_eval);
  g_test_add_func ("/cli/dicom/segment", test_segment);
  g_test_add_func ("/cli/dicom/never-overwrites", test_never_overwrites);
  return g_test_run ();
}
