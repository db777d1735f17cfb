/* SPDX-License-Identifier: MIT
 *
 * test-data-dicom-case.c: a DICOM study opened as a case (ns_case_load () on the folder,
 * ns_dicom_case_load () with an assignment): which series is which sequence, what is
 * unclear and how the user says it, and series on other grids resampled onto the
 * reference grid with a note saying so.  Studies come from tests/dicom/make-series.py
 * (four sequences and a three-plane localizer, from ../shared or a phantom).
 */
#define G_LOG_DOMAIN "ns-test"

#include "ns-case.h"
#include "ns-data-error.h"
#include "ns-dicom.h"
#include "ns-nifti.h"
#include "ns-test-dicom.h"
#include "ns-test-util.h"

#include <math.h>
#include <string.h>

static const char *const truth_names[NS_N_MODALITIES] = { "flair", "t1ce", "t1", "t2" };

/* The studies of the tests: name/ and its truth name-truth/ in the temporary folder, all
 * made by one run of the generator (main ()). */
static const struct
{
  const char *name;
  const char *option;
  const char *value;
} studies[] = {
  { "auto", NULL, NULL },
  { "coarse-t2", "--coarse", "t2" },
  { "coarse-flair", "--coarse", "flair" },
  { "twin", "--twin-flair", NULL },
  { "plain", "--plain-descriptions", NULL },
  { "other-frame", "--other-frame-t2", NULL },
};

static char *
study_dir (const char *name)
{
  return g_build_filename (ns_test_tmpdir (), name, NULL);
}

static void
make_all (void)
{
  for (guint i = 0; i < G_N_ELEMENTS (studies); i++)
    {
      g_autofree char *dir = study_dir (studies[i].name);
      g_autofree char *truth_name = g_strdup_printf ("%s-truth", studies[i].name);
      g_autofree char *truth = g_build_filename (ns_test_tmpdir (), truth_name, NULL);
      ns_test_dicom_batch_add ("study", dir, truth, studies[i].option, studies[i].value, NULL);
    }
  ns_test_dicom_batch_run ();
}

static NsVolume *
read_truth (const char *study, const char *part)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *dir = g_strdup_printf ("%s-truth", study);
  g_autofree char *file = g_strdup_printf ("%s.nii", part);
  g_autofree char *path = g_build_filename (dir, file, NULL);
  NsVolume *vol = ns_nifti_read (path, &error);
  g_assert_no_error (error);
  return vol;
}

static void
assert_equal_volumes (const NsVolume *got, const NsVolume *want)
{
  g_assert_true (ns_grid_equal (&got->grid, &want->grid));
  gsize n = ns_volume_n_voxels (got);
  for (gsize i = 0; i < n; i++)
    if (ns_volume_get_value (got, i) != ns_volume_get_value (want, i))
      g_error ("voxel %" G_GSIZE_FORMAT ": %.9g, want %.9g", i, ns_volume_get_value (got, i),
               ns_volume_get_value (want, i));
}

static void
test_auto (void)
{
  g_autofree char *dir = study_dir ("auto");
  g_autoptr (GError) error = NULL;

  /* The folder is a case like a NIfTI folder. */
  g_assert_true (ns_dicom_path_is_dicom (dir));
  g_autoptr (NsCase) ncase = ns_case_load (dir, NS_CASE_LOAD_DEFAULT, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (ncase->id, ==, "auto");
  g_assert_cmpstr (ncase->dir, ==, dir);
  g_assert_null (ncase->notes);
  g_assert_null (ncase->labels);
  g_assert_cmpuint (ns_case_n_modalities (ncase), ==, 4);
  for (int m = 0; m < NS_N_MODALITIES; m++)
    {
      g_autoptr (NsVolume) truth = read_truth (dir, truth_names[m]);
      g_assert_nonnull (ncase->modality[m]);
      g_assert_cmpstr (ncase->modality[m]->name, ==, ns_modality_name (m));
      assert_equal_volumes (ncase->modality[m], truth);
      /* paths[m] is a file of the series, in its folder. */
      g_autofree char *folder = g_build_filename (dir, truth_names[m], NULL);
      g_assert_true (g_str_has_prefix (ncase->paths[m], folder));
    }
  g_assert_true (ns_grid_equal (&ncase->grid, &ncase->modality[NS_MODALITY_FLAIR]->grid));

  /* The scan lists the localizer too, as not a volume, and what each series looks like. */
  g_autoptr (GPtrArray) scan = ns_dicom_scan (dir, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (scan->len, ==, 5);
  const NsDicomSeries *loc = scan->pdata[0];
  g_assert_cmpint (loc->number, ==, 1);
  g_assert_false (loc->is_volume);
  g_assert_nonnull (strstr (loc->problem, "orientation"));
  static const int expect[] = { NS_MODALITY_FLAIR, NS_MODALITY_T1, NS_MODALITY_T1C,
                                NS_MODALITY_T2 };
  for (guint i = 1; i < 5; i++)
    {
      const NsDicomSeries *s = scan->pdata[i];
      g_assert_true (s->is_volume);
      g_assert_cmpint (s->sequence, ==, expect[i - 1]);
    }
}

static void
test_resampled (void)
{
  g_autofree char *dir = study_dir ("coarse-t2");
  g_autoptr (GError) error = NULL;
  g_autoptr (NsCase) ncase = ns_case_load (dir, NS_CASE_LOAD_DEFAULT, &error);
  g_assert_no_error (error);

  g_autoptr (NsVolume) flair = read_truth (dir, "flair");
  g_autoptr (NsVolume) coarse = read_truth (dir, "t2");
  assert_equal_volumes (ncase->modality[NS_MODALITY_FLAIR], flair);
  const NsVolume *t2 = ncase->modality[NS_MODALITY_T2];
  g_assert_true (ns_grid_equal (&t2->grid, &flair->grid));

  /* The note says what was resampled from what. */
  g_assert_nonnull (ncase->notes);
  g_assert_nonnull (ncase->notes[0]);
  g_assert_null (ncase->notes[1]);
  g_test_message ("note: %s", ncase->notes[0]);
  g_assert_true (g_str_has_prefix (ncase->notes[0], "t2: series 6 \"AX T2 TSE\""));
  g_assert_nonnull (strstr (ncase->notes[0], "resampled (trilinear) from"));
  g_assert_nonnull (strstr (ncase->notes[0], "x 2 x 1 mm"));
  g_assert_nonnull (strstr (ncase->notes[0], "onto the flair grid"));

  /* Voxel (2i, 2j, k) of the fine grid is voxel (i, j, k) of the coarse one: exact; the
   * voxel between two coarse ones is their mean. */
  const NsGrid *cg = &coarse->grid, *fg = &t2->grid;
  double worst = 0.0;
  for (int k = 0; k < cg->dim[2]; k++)
    for (int j = 0; j < cg->dim[1]; j++)
      for (int i = 0; i < cg->dim[0]; i++)
        {
          float want = ns_volume_get_value (coarse, ns_grid_index (cg, i, j, k));
          float got = ns_volume_get_value (t2, ns_grid_index (fg, 2 * i, 2 * j, k));
          g_assert_cmpfloat (got, ==, want);
          if (i + 1 < cg->dim[0])
            {
              double mean = 0.5 * ((double) want
                                   + ns_volume_get_value (coarse, ns_grid_index (cg, i + 1, j, k)));
              float between = ns_volume_get_value (t2, ns_grid_index (fg, 2 * i + 1, 2 * j, k));
              worst = MAX (worst, fabs (between - mean));
            }
        }
  g_test_message ("between coarse voxels: worst difference from the mean %.3g", worst);
  g_assert_cmpfloat (worst, <=, 1e-3);
}

static void
test_finest (void)
{
  g_autofree char *dir = study_dir ("coarse-flair");
  g_autoptr (GError) error = NULL;

  /* By default the FLAIR's grid, coarse as it is. */
  g_autoptr (NsCase) by_flair = ns_dicom_case_load (dir, NULL, NS_CASE_LOAD_DEFAULT, &error);
  g_assert_no_error (error);
  g_autoptr (NsVolume) flair = read_truth (dir, "flair");
  g_assert_true (ns_grid_equal (&by_flair->grid, &flair->grid));
  g_assert_cmpuint (g_strv_length (by_flair->notes), ==, 3);

  /* The finest: the first sequence at 1 mm (t1c), and the FLAIR resampled onto it. */
  NsDicomAssignment a = { { NULL }, NS_DICOM_GRID_FINEST };
  g_autoptr (NsCase) finest = ns_dicom_case_load (dir, &a, NS_CASE_LOAD_SERIAL, &error);
  g_assert_no_error (error);
  g_autoptr (NsVolume) t1c = read_truth (dir, "t1ce");
  g_assert_true (ns_grid_equal (&finest->grid, &t1c->grid));
  assert_equal_volumes (finest->modality[NS_MODALITY_T1C], t1c);
  g_assert_cmpuint (g_strv_length (finest->notes), ==, 1);
  g_assert_true (g_str_has_prefix (finest->notes[0], "flair: series 3"));
  g_assert_nonnull (strstr (finest->notes[0], "onto the t1c grid"));
}

static void
test_ambiguous (void)
{
  g_autofree char *dir = study_dir ("twin");
  g_autoptr (GError) error = NULL;

  g_assert_null (ns_case_load (dir, NS_CASE_LOAD_DEFAULT, &error));
  g_assert_error (error, NS_DATA_ERROR, NS_DATA_ERROR_AMBIGUOUS);
  g_test_message ("%s", error->message);
  g_assert_true (g_str_has_prefix (error->message, dir));
  g_assert_nonnull (strstr (error->message, "which series is the flair"));
  g_assert_nonnull (strstr (error->message, "series 3 \"AX T2 FLAIR\""));
  g_assert_nonnull (strstr (error->message, "series 7 \"COR T2 FLAIR 3D\""));
  g_assert_nonnull (strstr (error->message, "--flair"));
  g_clear_error (&error);

  /* Chosen by number, or by UID. */
  NsDicomAssignment a = { { "7", NULL, NULL, NULL }, NS_DICOM_GRID_FLAIR };
  g_autoptr (NsCase) ncase = ns_dicom_case_load (dir, &a, NS_CASE_LOAD_DEFAULT, &error);
  g_assert_no_error (error);
  g_assert_true (strstr (ncase->paths[NS_MODALITY_FLAIR], "flair2") != NULL);
  g_assert_cmpuint (ns_case_n_modalities (ncase), ==, 4);

  g_autoptr (GPtrArray) scan = ns_dicom_scan (dir, NULL, &error);
  g_assert_no_error (error);
  NsDicomSeries *chosen[NS_N_MODALITIES];
  const NsDicomSeries *s3 = ns_dicom_find_series (scan, "3", dir, &error);
  g_assert_no_error (error);
  NsDicomAssignment by_uid = { { s3->uid, NULL, NULL, "none" }, NS_DICOM_GRID_FLAIR };
  g_assert_true (ns_dicom_assign (scan, &by_uid, dir, chosen, &error));
  g_assert_no_error (error);
  g_assert_true (chosen[NS_MODALITY_FLAIR] == s3);
  g_assert_null (chosen[NS_MODALITY_T2]);   /* "none" */
  g_assert_nonnull (chosen[NS_MODALITY_T1C]);

  /* A series that is not a volume, or one chosen twice, is refused saying so. */
  NsDicomAssignment loc = { { "1", NULL, NULL, NULL }, NS_DICOM_GRID_FLAIR };
  g_assert_false (ns_dicom_assign (scan, &loc, dir, chosen, &error));
  g_assert_error (error, NS_DATA_ERROR, NS_DATA_ERROR_INVALID);
  g_assert_nonnull (strstr (error->message, "is not a volume"));
  g_clear_error (&error);
  NsDicomAssignment twice = { { "3", "3", NULL, NULL }, NS_DICOM_GRID_FLAIR };
  g_assert_false (ns_dicom_assign (scan, &twice, dir, chosen, &error));
  g_assert_error (error, NS_DATA_ERROR, NS_DATA_ERROR_INVALID);
  g_assert_nonnull (strstr (error->message, "two sequences"));
}

static void
test_unclear (void)
{
  g_autofree char *dir = study_dir ("plain");
  g_autoptr (GError) error = NULL;

  g_assert_null (ns_case_load (dir, NS_CASE_LOAD_DEFAULT, &error));
  g_assert_error (error, NS_DATA_ERROR, NS_DATA_ERROR_AMBIGUOUS);
  g_test_message ("%s", error->message);
  g_assert_nonnull (strstr (error->message, "no series is clearly a FLAIR"));
  g_assert_nonnull (strstr (error->message, "series 4 \"Series 4\""));
  g_clear_error (&error);

  NsDicomAssignment a = { { "3", "5", "4", "6" }, NS_DICOM_GRID_FLAIR };
  g_autoptr (NsCase) ncase = ns_dicom_case_load (dir, &a, NS_CASE_LOAD_DEFAULT, &error);
  g_assert_no_error (error);
  for (int m = 0; m < NS_N_MODALITIES; m++)
    {
      g_autoptr (NsVolume) truth = read_truth (dir, truth_names[m]);
      assert_equal_volumes (ncase->modality[m], truth);
    }
}

static void
test_other_frame (void)
{
  g_autofree char *dir = study_dir ("other-frame");
  g_autoptr (GError) error = NULL;

  g_assert_null (ns_case_load (dir, NS_CASE_LOAD_DEFAULT, &error));
  g_assert_error (error, NS_DATA_ERROR, NS_DATA_ERROR_GRID_MISMATCH);
  g_test_message ("%s", error->message);
  g_assert_nonnull (strstr (error->message, "Frame of Reference"));
  g_assert_nonnull (strstr (error->message, "\"AX T2 TSE\""));
  g_clear_error (&error);

  /* Left out, the rest loads. */
  NsDicomAssignment a = { { NULL, NULL, NULL, "none" }, NS_DICOM_GRID_FLAIR };
  g_autoptr (NsCase) ncase = ns_dicom_case_load (dir, &a, NS_CASE_LOAD_DEFAULT, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (ns_case_n_modalities (ncase), ==, 3);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  make_all ();
  g_test_add_func ("/data/dicom-case/auto", test_auto);
  g_test_add_func ("/data/dicom-case/resampled", test_resampled);
  g_test_add_func ("/data/dicom-case/finest", test_finest);
  g_test_add_func ("/data/dicom-case/ambiguous", test_ambiguous);
  g_test_add_func ("/data/dicom-case/unclear", test_unclear);
  g_test_add_func ("/data/dicom-case/other-frame", test_other_frame);
  return g_test_run ();
}
