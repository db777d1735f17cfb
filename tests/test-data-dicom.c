/* SPDX-License-Identifier: MIT
 *
 * test-data-dicom.c: DICOM MR series read as volumes (data/ns-dicom.h, issue 18).
 *
 * Each geometry is written by tests/dicom/make-series.py from a crop of a ../shared BraTS
 * case (a seeded phantom without ../shared) and read back; two oracles: the generator's
 * own truth (the same voxel order, the affine it built, every voxel equal) and dcm2niix's
 * conversion of the same files (every voxel equal at the same patient position, the
 * affine within 1e-4 mm), except for JPEG-LS, which Debian's dcm2niix cannot decode.
 * Compressed files (RLE by pydicom; JPEG lossless and JPEG-LS by DCMTK's dcmcjpeg and
 * dcmcjpls) are decoded by the codecs ns-dicom.cc registers.  Then what cannot be a
 * volume: each refusal names a file.
 */
#define G_LOG_DOMAIN "ns-test"

#include "ns-data-error.h"
#include "ns-dicom.h"
#include "ns-nifti.h"
#include "ns-test-dicom.h"
#include "ns-test-util.h"

#include <glib/gstdio.h>
#include <math.h>
#include <string.h>
#include <unistd.h>

static char *
tmp_path (const char *name)
{
  return g_build_filename (ns_test_tmpdir (), name, NULL);
}

static GPtrArray *
scan_ok (const char *path, guint expect_series)
{
  g_autoptr (GError) error = NULL;
  guint n_other = 0;
  GPtrArray *scan = ns_dicom_scan (path, &n_other, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (scan->len, ==, expect_series);
  return scan;
}

static NsVolume *
read_only_series (const char *path)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GPtrArray) scan = scan_ok (path, 1);
  const NsDicomSeries *s = scan->pdata[0];
  if (!s->is_volume)
    g_error ("%s: not a volume: %s", path, s->problem);
  NsVolume *vol = ns_dicom_series_read (s, &error);
  g_assert_no_error (error);
  return vol;
}

/* Our volume against the generator's truth: same voxel order and values, exactly; the
 * affine within float32's rounding of the NIfTI file. */
static void
assert_truth (const NsVolume *ours, const char *truth_path)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (NsVolume) truth = ns_nifti_read (truth_path, &error);
  g_assert_no_error (error);
  for (int d = 0; d < 3; d++)
    g_assert_cmpint (ours->grid.dim[d], ==, truth->grid.dim[d]);
  double worst = 0.0;
  for (int r = 0; r < 4; r++)
    for (int c = 0; c < 4; c++)
      worst = MAX (worst, fabs (ours->grid.vox2ras[r][c] - truth->grid.vox2ras[r][c]));
  g_test_message ("truth: affine difference %.3g mm", worst);
  g_assert_cmpfloat (worst, <=, 1e-4);
  for (int d = 0; d < 3; d++)
    g_assert_cmpfloat (fabs (ours->grid.spacing[d] - truth->grid.spacing[d]), <=, 1e-5);
  gsize n = ns_volume_n_voxels (ours);
  for (gsize i = 0; i < n; i++)
    if (ns_volume_get_value (ours, i) != ns_volume_get_value (truth, i))
      g_error ("voxel %" G_GSIZE_FORMAT ": ours %.9g, truth %.9g", i, ns_volume_get_value (ours, i),
               ns_volume_get_value (truth, i));
  /* What a NIfTI written on this grid says: scanner coordinates, both transforms. */
  g_assert_cmpint (ours->grid.sform_code, ==, 1);
  g_assert_cmpint (ours->grid.qform_code, ==, 1);
}

/* args[0]: the test's name; the rest: make-series.py options. */
static void
make_geometry (const char *const *args)
{
  g_autofree char *dir = tmp_path (args[0]);
  g_autofree char *truth_name = g_strdup_printf ("%s-truth.nii", args[0]);
  g_autofree char *truth = tmp_path (truth_name);
  g_autoptr (GPtrArray) argv = g_ptr_array_new ();
  g_ptr_array_add (argv, "series");
  g_ptr_array_add (argv, dir);
  g_ptr_array_add (argv, "--truth");
  g_ptr_array_add (argv, truth);
  for (const char *const *a = args + 1; *a != NULL; a++)
    g_ptr_array_add (argv, (gpointer) *a);
  g_ptr_array_add (argv, NULL);
  ns_test_dicom_batch_addv ((const char *const *) argv->pdata);
}

static void
test_geometry (gconstpointer data)
{
  const char *const *args = data;
  const char *name = args[0];
  g_autofree char *dir = tmp_path (name);
  g_autofree char *truth_name = g_strdup_printf ("%s-truth.nii", name);
  g_autofree char *truth = tmp_path (truth_name);

  /* Files that are not DICOM are passed over. */
  g_autofree char *notes = g_build_filename (dir, "notes.txt", NULL);
  g_assert_true (g_file_set_contents (notes, "not an image\n", -1, NULL));

  g_autoptr (NsVolume) ours = read_only_series (dir);
  assert_truth (ours, truth);
  /* Debian's dcm2niix has no JPEG-LS decoder: the truth is the oracle there. */
  if (strcmp (name, "jpeg-ls") == 0)
    return;

  g_autofree char *dcm_dir = tmp_path ("dcm2niix");
  g_assert_cmpint (g_mkdir_with_parents (dcm_dir, 0755), ==, 0);
  g_autofree char *converted = ns_test_dcm2niix (dir, dcm_dir, name);
  g_autoptr (GError) error = NULL;
  g_autoptr (NsVolume) theirs = ns_nifti_read (converted, &error);
  g_assert_no_error (error);
  ns_test_assert_same_image ("dcm2niix", ours, theirs, 1e-4, 1e-6);
}

static const char *const geom_axial[] = { "axial", "--geometry", "axial", NULL };
static const char *const geom_sagittal[] = { "sagittal", "--geometry", "sagittal", NULL };
static const char *const geom_coronal[] = { "coronal", "--geometry", "coronal", NULL };
static const char *const geom_oblique[] = { "oblique", "--geometry", "oblique", NULL };
static const char *const geom_ras[] = { "ras-flipped", "--geometry", "ras-flipped", NULL };
static const char *const geom_reversed[] = { "reversed", "--geometry", "reversed", NULL };
static const char *const geom_rescale[] = {
  "rescale", "--geometry", "axial", "--slope", "0.5", "--intercept", "-100", "--uint16", NULL,
};
static const char *const geom_shuffled[] = {
  "shuffled", "--geometry", "oblique", "--shuffle", "--slope", "2", "--intercept", "3", NULL,
};
static const char *const geom_rle[] = { "rle", "--geometry", "sagittal", "--rle", NULL };
static const char *const geom_jpeg[] = {
  "jpeg", "--geometry", "coronal", "--compress", "jpeg", NULL,
};
static const char *const geom_jpeg_ls[] = {
  "jpeg-ls", "--geometry", "oblique", "--compress", "jpeg-ls", NULL,
};

static void
test_metadata (void)
{
  g_autofree char *dir = tmp_path ("meta");
  g_autoptr (GPtrArray) scan = scan_ok (dir, 1);
  const NsDicomSeries *s = scan->pdata[0];
  g_assert_true (s->is_volume);
  g_assert_null (s->problem);
  g_assert_cmpstr (s->description, ==, "Sag T2 FLAIR 3D");
  g_assert_cmpstr (s->modality, ==, "MR");
  g_assert_cmpint (s->number, ==, 3);
  g_assert_cmpint (s->sequence, ==, NS_MODALITY_FLAIR);
  g_assert_nonnull (strstr (s->sequence_reason, "Sag T2 FLAIR 3D"));
  /* Spacing from the positions (2.5 mm), not from Slice Thickness (1 mm). */
  g_assert_cmpfloat (fabs (s->grid.spacing[0] - 0.9), <, 1e-9);
  g_assert_cmpfloat (fabs (s->grid.spacing[1] - 1.1), <, 1e-9);
  g_assert_cmpfloat (fabs (s->grid.spacing[2] - 2.5), <, 1e-9);
  char orient[4];
  ns_grid_orientation_code (&s->grid, orient);
  g_assert_cmpstr (orient, ==, "LPS");

  g_autoptr (GError) error = NULL;
  g_autoptr (NsVolume) vol = ns_dicom_series_read (s, &error);
  g_assert_no_error (error);
  g_assert_cmpint (vol->datatype, ==, 4); /* DT_INT16 */
  g_assert_cmpfloat (vol->scl_slope, ==, 0.5);
  g_assert_cmpfloat (vol->scl_inter, ==, -100.0);
  g_assert_cmpstr (vol->name, ==, "Sag T2 FLAIR 3D");
  g_assert_true (g_str_has_prefix (vol->path, dir));

  g_autofree char *label = ns_dicom_series_dup_label (s);
  g_assert_true (g_str_has_prefix (label, "series 3 \"Sag T2 FLAIR 3D\" (1.2.826."));

  /* Found by number and by UID; an unknown number lists what there is. */
  g_assert_true (ns_dicom_find_series (scan, "3", dir, &error) == s);
  g_assert_true (ns_dicom_find_series (scan, s->uid, dir, &error) == s);
  g_assert_null (ns_dicom_find_series (scan, "9", dir, &error));
  g_assert_error (error, NS_DATA_ERROR, NS_DATA_ERROR_NOT_FOUND);
  g_assert_nonnull (strstr (error->message, "Sag T2 FLAIR 3D"));
}

/* make-series.py options that break the stack, and what the refusal must say. */
typedef struct
{
  const char *name;
  const char *option;
  const char *value;
  const char *says;
} Refusal;

static const Refusal refusals[] = {
  { "missing-slice", "--drop", "7", "a slice is missing between" },
  { "orientation", "--rotate", "5", "orientation" },
  { "sizes", "--resize", "4", "mixed sizes" },
  { "duplicate", "--duplicate", "3", "same position" },
  { "multiframe", "--frames", "2", "frames" },
  { "tilt-tag", "--tilt-tag", NULL, "gantry tilt of 15 degrees" },
  { "tilt-shear", NULL, NULL, "off the normal" },
};

static void
make_refusal (const Refusal *r)
{
  g_autofree char *dir = tmp_path (r->name);
  const char *args[8] = { "series", dir, NULL };
  int n = 2;
  if (g_str_has_prefix (r->name, "tilt"))
    {
      args[n++] = "--tilt";
      args[n++] = "15";
    }
  if (r->option != NULL)
    args[n++] = r->option;
  if (r->value != NULL)
    args[n++] = r->value;
  args[n] = NULL;
  ns_test_dicom_batch_addv (args);
}

static void
test_refusal (gconstpointer data)
{
  const Refusal *r = data;
  g_autofree char *dir = tmp_path (r->name);

  g_autoptr (GPtrArray) scan = scan_ok (dir, 1);
  const NsDicomSeries *s = scan->pdata[0];
  g_assert_false (s->is_volume);
  g_assert_nonnull (s->problem);
  g_test_message ("%s: %s", r->name, s->problem);
  g_assert_nonnull (strstr (s->problem, r->says));
  /* The message names a file of the series (one line, path first). */
  g_assert_true (g_str_has_prefix (s->problem, dir));
  g_assert_null (strchr (s->problem, '\n'));

  g_autoptr (GError) error = NULL;
  g_assert_null (ns_dicom_series_read (s, &error));
  g_assert_error (error, NS_DATA_ERROR, NS_DATA_ERROR_INVALID);
  g_assert_cmpstr (error->message, ==, s->problem);
}

static void
test_dicomdir (void)
{
  g_autofree char *dir = tmp_path ("media");
  g_autofree char *truth = tmp_path ("media-truth.nii");
  /* Written as on a CD (PT000000/ST000000/...), then the names lower-cased as a copy on
   * another system does (make_all ()): the DICOMDIR's upper-case IDs must still find
   * them. */
  g_autofree char *dicomdir = g_build_filename (dir, "DICOMDIR", NULL);
  g_assert_true (g_file_test (dicomdir, G_FILE_TEST_IS_REGULAR));

  /* The folder (its DICOMDIR is used) and the DICOMDIR itself. */
  g_autoptr (NsVolume) from_dir = read_only_series (dir);
  assert_truth (from_dir, truth);
  g_autoptr (NsVolume) from_file = read_only_series (dicomdir);
  assert_truth (from_file, truth);
  g_assert_true (ns_dicom_path_is_dicom (dir));
  g_assert_true (ns_dicom_path_is_dicom (dicomdir));

  /* A DICOMDIR that lists a file no longer there says which. */
  g_autoptr (GPtrArray) scan = scan_ok (dir, 1);
  const NsDicomSeries *s = scan->pdata[0];
  const NsDicomFile *f = g_ptr_array_index (s->files, 3);
  g_assert_cmpint (g_unlink (f->path), ==, 0);
  g_autoptr (GError) error = NULL;
  g_assert_null (ns_dicom_scan (dir, NULL, &error));
  g_assert_error (error, NS_DATA_ERROR, NS_DATA_ERROR_NOT_FOUND);
  g_assert_nonnull (strstr (error->message, "DICOMDIR"));
  g_assert_nonnull (strstr (error->message, "is missing"));
}

static void
test_not_dicom (void)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *dir = tmp_path ("no-dicom");
  g_assert_cmpint (g_mkdir_with_parents (dir, 0755), ==, 0);
  g_autofree char *text = g_build_filename (dir, "readme.txt", NULL);
  g_assert_true (g_file_set_contents (text, "hello\n", -1, NULL));

  g_assert_false (ns_dicom_path_is_dicom (dir));
  g_assert_null (ns_dicom_scan (dir, NULL, &error));
  g_assert_error (error, NS_DATA_ERROR, NS_DATA_ERROR_NOT_FOUND);
  g_assert_nonnull (strstr (error->message, dir));
  g_clear_error (&error);

  g_assert_null (ns_dicom_scan (text, NULL, &error));
  g_assert_error (error, NS_DATA_ERROR, NS_DATA_ERROR_NOT_DICOM);
  g_assert_nonnull (strstr (error->message, text));
  g_clear_error (&error);

  /* A file with the DICM mark that DCMTK cannot parse is an error naming it, not a file
   * quietly left out of its series. */
  g_autofree char *series = tmp_path ("broken");
  g_autofree char *bad = g_build_filename (series, "IM0004.dcm", NULL);
  g_autofree char *bytes = NULL;
  gsize len;
  g_assert_true (g_file_get_contents (bad, &bytes, &len, NULL));
  g_assert_true (g_file_set_contents (bad, bytes, 300, NULL));
  g_assert_null (ns_dicom_scan (series, NULL, &error));
  g_assert_error (error, NS_DATA_ERROR, NS_DATA_ERROR_NOT_DICOM);
  g_assert_true (g_str_has_prefix (error->message, bad));
  g_clear_error (&error);

  /* A dangling link in a study folder is named too. */
  g_autofree char *link = g_build_filename (dir, "IM9999.dcm", NULL);
  g_assert_cmpint (symlink ("/nonexistent/IM9999.dcm", link), ==, 0);
  g_assert_null (ns_dicom_scan (dir, NULL, &error));
  g_assert_error (error, NS_DATA_ERROR, NS_DATA_ERROR_NOT_FOUND);
  g_assert_nonnull (strstr (error->message, link));
}

/* ---- which sequence ------------------------------------------------------------------------- */

typedef struct
{
  const char *description;
  const char *scanning;
  double tr, te, ti;
  const char *agent;
  int expect;
} ClassifyCase;

static void
test_classify (void)
{
  static const ClassifyCase cases[] = {
    { "AX T2 FLAIR", "", NAN, NAN, NAN, "", NS_MODALITY_FLAIR },
    { "t2_tirm_tra_dark-fluid", "", NAN, NAN, NAN, "", NS_MODALITY_FLAIR },
    { "Dark Fluid 3D", "", NAN, NAN, NAN, "", NS_MODALITY_FLAIR },
    { "T1W_SE_GD", "", NAN, NAN, NAN, "", NS_MODALITY_T1C },
    { "AX T1 POST GAD", "", NAN, NAN, NAN, "", NS_MODALITY_T1C },
    { "t1_mprage_sag+C", "", NAN, NAN, NAN, "", NS_MODALITY_T1C },
    { "sag MPRAGE", "", NAN, NAN, NAN, "", NS_MODALITY_T1 },
    { "T1 pre", "", NAN, NAN, NAN, "GADOVIST", NS_MODALITY_T1 },
    { "AX T1 SE", "", NAN, NAN, NAN, "GADOVIST", NS_MODALITY_T1C },
    { "T2W_TSE", "", NAN, NAN, NAN, "", NS_MODALITY_T2 },
    { "t2_swi_tra", "", NAN, NAN, NAN, "", -1 },
    { "T2* GRE", "", NAN, NAN, NAN, "", -1 },
    { "3-plane Localizer", "", NAN, NAN, NAN, "", -1 },
    { "DWI b1000", "SE", 4000, 90, NAN, "", -1 },
    { "", "IR", 9000, 120, 2500, "", NS_MODALITY_FLAIR },
    { "", "SE", 500, 10, NAN, "", NS_MODALITY_T1 },
    { "", "SE", 500, 10, NAN, "MULTIHANCE", NS_MODALITY_T1C },
    { "", "GR\\IR", 2300, 3, 900, "", NS_MODALITY_T1 },
    { "", "SE", 4000, 100, NAN, "", NS_MODALITY_T2 },
    { "Ax 3D", "GR", 25, 5, NAN, "", -1 },
  };
  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      const ClassifyCase *c = &cases[i];
      NsDicomFile f = { 0 };
      f.series_description = (char *) c->description;
      f.protocol_name = (char *) "";
      f.scanning_sequence = (char *) c->scanning;
      f.contrast_agent = (char *) c->agent;
      f.repetition_time = c->tr;
      f.echo_time = c->te;
      f.inversion_time = c->ti;
      g_autofree char *reason = NULL;
      int got = ns_dicom_classify_sequence (&f, &reason);
      g_test_message ("\"%s\" %s TR %g TE %g TI %g \"%s\" -> %d (%s)", c->description,
                      c->scanning, c->tr, c->te, c->ti, c->agent, got,
                      reason != NULL ? reason : "unclear");
      g_assert_cmpint (got, ==, c->expect);
      g_assert_true ((reason != NULL) == (got >= 0));
    }
}

/* ---- SEG helpers ------------------------------------------------------------------------- */

static void
test_cielab (void)
{
  /* Reference values from an independent computation (IEC 61966-2-1 sRGB to XYZ D65, the
   * Bradford adaptation to D50, CIE Lab), encoded as PS3.3 C.10.7.1.1 says. */
  static const struct
  {
    guint8 rgb[3];
    guint16 lab[3];
  } cases[] = {
    { { 255, 255, 255 }, { 65535, 32896, 32896 } },
    { { 0, 0, 0 }, { 0, 32896, 32896 } },
    { { 255, 0, 0 }, { 35580, 53665, 50856 } },
    { { 230, 40, 40 }, { 33414, 50900, 45890 } },
    { { 40, 200, 60 }, { 46514, 17169, 47000 } },
    { { 250, 220, 40 }, { 57872, 32591, 53853 } },
  };
  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      guint16 lab[3];
      ns_dicom_rgb_to_cielab (cases[i].rgb, lab);
      g_test_message ("rgb %u %u %u -> %u %u %u (want %u %u %u)", cases[i].rgb[0],
                      cases[i].rgb[1], cases[i].rgb[2], lab[0], lab[1], lab[2],
                      cases[i].lab[0], cases[i].lab[1], cases[i].lab[2]);
      for (int c = 0; c < 3; c++)
        g_assert_cmpint (ABS ((int) lab[c] - (int) cases[i].lab[c]), <=, 4);
    }
}

static void
test_codes (void)
{
  NsDicomCode category, type;
  ns_dicom_label_codes (2, &category, &type);
  g_assert_cmpstr (category.designator, ==, "SCT");
  g_assert_cmpstr (category.value, ==, "49755003");
  g_assert_cmpstr (type.value, ==, "79654002");
  g_assert_cmpstr (type.meaning, ==, "Edema");
  ns_dicom_label_codes (1, NULL, &type);
  g_assert_cmpstr (type.value, ==, "6574001");
  ns_dicom_label_codes (4, NULL, &type);
  g_assert_cmpstr (type.designator, ==, "NCIt");
  g_assert_cmpstr (type.value, ==, "C113842");
  ns_dicom_label_codes (7, NULL, &type);
  g_assert_cmpstr (type.meaning, ==, "Lesion");
}

static const char *const *const geometries[] = {
  geom_axial, geom_sagittal, geom_coronal, geom_oblique, geom_ras, geom_reversed, geom_rescale,
  geom_shuffled, geom_rle, geom_jpeg, geom_jpeg_ls,
};

/* Every series of the tests, made by one run of the generator. */
static void
make_all (void)
{
  for (guint i = 0; i < G_N_ELEMENTS (geometries); i++)
    make_geometry (geometries[i]);
  for (guint i = 0; i < G_N_ELEMENTS (refusals); i++)
    make_refusal (&refusals[i]);
  g_autofree char *meta = tmp_path ("meta");
  ns_test_dicom_batch_add ("series", meta, "--slope", "0.5", "--intercept", "-100",
                           "--description", "Sag T2 FLAIR 3D", "--spacing", "0.9,1.1,2.5",
                           "--thickness", "1", NULL);
  g_autofree char *media = tmp_path ("media");
  g_autofree char *media_truth = tmp_path ("media-truth.nii");
  ns_test_dicom_batch_add ("series", media, "--truth", media_truth, "--geometry", "coronal",
                           "--dicomdir", "--lower-case", NULL);
  g_autofree char *broken = tmp_path ("broken");
  ns_test_dicom_batch_add ("series", broken, NULL);
  ns_test_dicom_batch_run ();
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  make_all ();
  g_test_add_data_func ("/data/dicom/geometry/axial", geom_axial, test_geometry);
  g_test_add_data_func ("/data/dicom/geometry/sagittal", geom_sagittal, test_geometry);
  g_test_add_data_func ("/data/dicom/geometry/coronal", geom_coronal, test_geometry);
  g_test_add_data_func ("/data/dicom/geometry/oblique", geom_oblique, test_geometry);
  g_test_add_data_func ("/data/dicom/geometry/ras-flipped", geom_ras, test_geometry);
  g_test_add_data_func ("/data/dicom/geometry/reversed", geom_reversed, test_geometry);
  g_test_add_data_func ("/data/dicom/geometry/rescale", geom_rescale, test_geometry);
  g_test_add_data_func ("/data/dicom/geometry/shuffled", geom_shuffled, test_geometry);
  g_test_add_data_func ("/data/dicom/geometry/rle", geom_rle, test_geometry);
  g_test_add_data_func ("/data/dicom/geometry/jpeg", geom_jpeg, test_geometry);
  g_test_add_data_func ("/data/dicom/geometry/jpeg-ls", geom_jpeg_ls, test_geometry);
  g_test_add_func ("/data/dicom/metadata", test_metadata);
  for (guint i = 0; i < G_N_ELEMENTS (refusals); i++)
    {
      g_autofree char *path = g_strdup_printf ("/data/dicom/refuse/%s", refusals[i].name);
      g_test_add_data_func (path, &refusals[i], test_refusal);
    }
  g_test_add_func ("/data/dicom/dicomdir", test_dicomdir);
  g_test_add_func ("/data/dicom/not-dicom", test_not_dicom);
  g_test_add_func ("/data/dicom/classify", test_classify);
  g_test_add_func ("/data/dicom/cielab", test_cielab);
  g_test_add_func ("/data/dicom/codes", test_codes);
  return g_test_run ();
}
