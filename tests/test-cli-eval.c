/* SPDX-License-Identifier: MIT
 *
 * test-cli-eval.c: `neuroseg eval` as a user runs it (the binary from $NEUROSEG), on label
 * maps written here with nifticlib directly (so the loader is checked against an
 * independent writer): the table, the JSON object (parsed with json-glib), the values a
 * hand computation gives, and the error cases with their exit codes.  One test shifts the
 * bundled case's truth by a voxel and writes it with our own writer.
 */
#include "ns-test-util.h"
#include "ns-labels.h"
#include "ns-metrics.h"
#include "ns-nifti.h"

#include <json-glib/json-glib.h>
#include <math.h>
#include <nifti1_io.h>
#include <string.h>
#include <sys/wait.h>

/* stderr is exactly one line. */
static void
assert_one_line (const char *text)
{
  g_assert_cmpuint (strlen (text), >, 1);
  const char *nl = strchr (text, '\n');
  g_assert_nonnull (nl);
  g_assert_cmpint (nl[1], ==, '\0');
}

/* A label map of dims and spacing in the temporary folder, with an sform and a qform as
 * scanners write them; labels NULL means all zero. */
static char *
write_map (const char *name, const int dims[3], const double spacing[3], const guint8 *labels,
           int datatype)
{
  int nim_dims[8] = { 3, dims[0], dims[1], dims[2], 1, 1, 1, 1 };
  nifti_image *nim = nifti_make_new_nim (nim_dims, datatype, 1);
  char *path = g_build_filename (ns_test_tmpdir (), name, NULL);
  gsize n = (gsize) dims[0] * dims[1] * dims[2];

  g_assert_nonnull (nim);
  for (gsize i = 0; labels != NULL && i < n; i++)
    {
      if (datatype == DT_UINT8)
        ((guint8 *) nim->data)[i] = labels[i];
      else if (datatype == DT_INT16)
        ((gint16 *) nim->data)[i] = labels[i];
      else
        ((float *) nim->data)[i] = labels[i];
    }
  nim->dx = nim->pixdim[1] = spacing[0];
  nim->dy = nim->pixdim[2] = spacing[1];
  nim->dz = nim->pixdim[3] = spacing[2];
  nim->xyz_units = NIFTI_UNITS_MM;
  nim->qform_code = NIFTI_XFORM_SCANNER_ANAT;
  nim->quatern_b = nim->quatern_c = nim->quatern_d = 0;
  nim->qoffset_x = -10;
  nim->qoffset_y = 20;
  nim->qoffset_z = 5;
  nim->qfac = 1;
  nim->qto_xyz = nifti_quatern_to_mat44 (0, 0, 0, -10, 20, 5, spacing[0], spacing[1],
                                         spacing[2], 1);
  nim->sform_code = NIFTI_XFORM_SCANNER_ANAT;
  nim->sto_xyz = nim->qto_xyz;
  g_assert_cmpint (nifti_set_filenames (nim, path, 0, 1), ==, 0);
  nifti_image_write (nim);
  nifti_image_free (nim);
  g_assert_true (g_file_test (path, G_FILE_TEST_IS_REGULAR));
  return path;
}

static void
fill_box (guint8 *labels, const int dims[3], int x0, int y0, int z0, int x1, int y1, int z1,
          guint8 label)
{
  for (int k = z0; k <= z1; k++)
    for (int j = y0; j <= y1; j++)
      for (int i = x0; i <= x1; i++)
        labels[((gsize) k * dims[1] + j) * dims[0] + i] = label;
}

static JsonObject *
parse_json (const char *text, JsonParser **parser_out)
{
  g_autoptr (GError) error = NULL;
  JsonParser *parser = json_parser_new ();

  g_assert_true (json_parser_load_from_data (parser, text, -1, &error));
  g_assert_no_error (error);
  JsonNode *root = json_parser_get_root (parser);
  g_assert_nonnull (root);
  g_assert_true (JSON_NODE_HOLDS_OBJECT (root));
  *parser_out = parser;
  return json_node_get_object (root);
}

static JsonObject *
member (JsonObject *root, const char *group, const char *name)
{
  g_assert_true (json_object_has_member (root, group));
  JsonObject *g = json_object_get_object_member (root, group);
  g_assert_true (json_object_has_member (g, name));
  return json_object_get_object_member (g, name);
}

/* The table line of a label or region ("4 enhancing ..."), or NULL. */
static char *
table_line (const char *out, const char *name_and_description)
{
  g_auto (GStrv) lines = g_strsplit (out, "\n", -1);
  for (char **l = lines; *l != NULL; l++)
    if (g_str_has_prefix (*l, name_and_description))
      return g_strdup (*l);
  return NULL;
}

/* Splits a table line into its last five fields: Dice, HD95, pred mL, truth mL. */
static void
table_values (const char *line, char **dice, char **hd95, char **pred_ml, char **truth_ml)
{
  g_auto (GStrv) f = g_strsplit_set (line, " ", -1);
  GPtrArray *fields = g_ptr_array_new ();
  for (char **p = f; *p != NULL; p++)
    if (**p != '\0')
      g_ptr_array_add (fields, *p);
  g_assert_cmpuint (fields->len, >=, 5);
  *dice = g_strdup (fields->pdata[fields->len - 4]);
  *hd95 = g_strdup (fields->pdata[fields->len - 3]);
  *pred_ml = g_strdup (fields->pdata[fields->len - 2]);
  *truth_ml = g_strdup (fields->pdata[fields->len - 1]);
  g_ptr_array_free (fields, TRUE);
}

static void
assert_row (const char *out, const char *prefix, const char *dice, const char *hd95,
            const char *pred_ml, const char *truth_ml)
{
  g_autofree char *line = table_line (out, prefix);
  g_autofree char *d = NULL, *h = NULL, *p = NULL, *t = NULL;

  g_assert_nonnull (line);
  table_values (line, &d, &h, &p, &t);
  g_assert_cmpstr (d, ==, dice);
  g_assert_cmpstr (h, ==, hd95);
  g_assert_cmpstr (p, ==, pred_ml);
  g_assert_cmpstr (t, ==, truth_ml);
}

static const int dims[3] = { 20, 14, 12 };
static const double spacing[3] = { 2.0, 1.0, 3.0 };

/* Nested boxes: 2 (edema) around 1 around 4. */
static guint8 *
truth_labels (void)
{
  guint8 *l = g_new0 (guint8, dims[0] * dims[1] * dims[2]);
  fill_box (l, dims, 3, 2, 1, 16, 11, 10, 2);
  fill_box (l, dims, 5, 4, 3, 14, 9, 8, 1);
  fill_box (l, dims, 7, 5, 4, 10, 7, 6, 4);
  return l;
}

static void
test_self (void)
{
  g_autofree guint8 *labels = truth_labels ();
  g_autofree char *truth = write_map ("self.nii.gz", dims, spacing, labels, DT_UINT8);
  g_auto (NsTestRun) run = { 0 };

  ns_test_run_neuroseg (&run, "eval", truth, truth, NULL);
  g_assert_cmpint (run.status, ==, 0);
  g_assert_cmpstr (run.err, ==, "");
  /* Volumes: 6 uL voxels; ET 4 x 3 x 3 = 36 voxels, TC 10 x 6 x 6 = 360, WT 14 x 10 x 10. */
  assert_row (run.out, "1 ", "1.0000", "0.000", "1.944", "1.944");
  assert_row (run.out, "4 ", "1.0000", "0.000", "0.216", "0.216");
  assert_row (run.out, "WT ", "1.0000", "0.000", "8.400", "8.400");
  assert_row (run.out, "TC ", "1.0000", "0.000", "2.160", "2.160");
  assert_row (run.out, "ET ", "1.0000", "0.000", "0.216", "0.216");
  g_assert_null (table_line (run.out, "3 "));

  g_auto (NsTestRun) js = { 0 };
  ns_test_run_neuroseg (&js, "eval", "--json", truth, truth, NULL);
  g_assert_cmpint (js.status, ==, 0);
  g_autoptr (JsonParser) parser = NULL;
  JsonObject *root = parse_json (js.out, &parser);
  g_assert_cmpstr (json_object_get_string_member (root, "truth"), ==, truth);
  const char *names[] = { "labels/1", "labels/2", "labels/4", "regions/WT", "regions/TC",
                          "regions/ET" };
  for (gsize i = 0; i < G_N_ELEMENTS (names); i++)
    {
      g_auto (GStrv) part = g_strsplit (names[i], "/", 2);
      JsonObject *row = member (root, part[0], part[1]);
      g_assert_cmpfloat (json_object_get_double_member (row, "dice"), ==, 1.0);
      g_assert_cmpfloat (json_object_get_double_member (row, "hd95_mm"), ==, 0.0);
    }
  JsonObject *wt = member (root, "regions", "WT");
  g_assert_cmpint (json_object_get_int_member (wt, "voxels_truth"), ==, 1400);
  g_assert_cmpfloat_with_epsilon (json_object_get_double_member (wt, "volume_pred_ml"), 8.4,
                                  1e-9);
  g_assert_false (json_object_has_member (json_object_get_object_member (root, "labels"), "3"));
}

/* A 10 x 10 x 10 cube of label 4 against the same cube one voxel further in +x, voxels
 * of 2 x 1 x 3 mm.  Dice 2 x 900 / 2000 = 0.9.  HD95 (ns-metrics.h; the full working is
 * in test-data-metrics.c, check_cube_shift): each side has 488 surface voxels; from one
 * to the other 324 are at 0, the 100 on the trailing x face at 2 mm (one voxel along x),
 * and of the 64 inner voxels of the leading x face 16 (next to a y face) at 1 mm and
 * 48 at 2 mm.  Pooled n = 976: 648 zeros, 32 ones, 296 twos; h = 0.95 x 975 = 926.25
 * falls in the twos: HD95 = 2 mm.  Volumes 1000 x 6 uL = 6 mL each.  Labels 1 and 2 are
 * empty on both sides: Dice 1, HD95 0. */
static void
test_shift (void)
{
  g_autofree guint8 *a = g_new0 (guint8, dims[0] * dims[1] * dims[2]);
  g_autofree guint8 *b = g_new0 (guint8, dims[0] * dims[1] * dims[2]);
  fill_box (a, dims, 4, 2, 1, 13, 11, 10, 4);
  fill_box (b, dims, 5, 2, 1, 14, 11, 10, 4);
  g_autofree char *truth = write_map ("cube.nii.gz", dims, spacing, a, DT_UINT8);
  /* The prediction as int16, uncompressed: any integer datatype holds labels. */
  g_autofree char *pred = write_map ("cube-shifted.nii", dims, spacing, b, DT_INT16);
  g_auto (NsTestRun) run = { 0 };

  ns_test_run_neuroseg (&run, "eval", pred, truth, NULL);
  g_assert_cmpint (run.status, ==, 0);
  assert_row (run.out, "4 ", "0.9000", "2.000", "6.000", "6.000");
  assert_row (run.out, "ET ", "0.9000", "2.000", "6.000", "6.000");
  assert_row (run.out, "WT ", "0.9000", "2.000", "6.000", "6.000");
  assert_row (run.out, "1 ", "1.0000", "0.000", "0.000", "0.000");

  g_auto (NsTestRun) js = { 0 };
  ns_test_run_neuroseg (&js, "eval", pred, "--json", truth, NULL);
  g_assert_cmpint (js.status, ==, 0);
  g_autoptr (JsonParser) parser = NULL;
  JsonObject *root = parse_json (js.out, &parser);
  JsonObject *et = member (root, "regions", "ET");
  g_assert_cmpfloat_with_epsilon (json_object_get_double_member (et, "dice"), 0.9, 1e-12);
  g_assert_cmpfloat_with_epsilon (json_object_get_double_member (et, "hd95_mm"), 2.0, 1e-12);
  g_assert_cmpint (json_object_get_int_member (et, "voxels_overlap"), ==, 900);
  g_assert_cmpfloat_with_epsilon (json_object_get_double_member (et, "sensitivity"), 0.9,
                                  1e-12);
  JsonObject *two = member (root, "labels", "2");
  g_assert_cmpfloat (json_object_get_double_member (two, "hd95_mm"), ==, 0.0);
  g_assert_true (json_object_get_null_member (two, "sensitivity"));
  JsonArray *sp = json_object_get_array_member (root, "spacing_mm");
  g_assert_cmpfloat (json_array_get_double_element (sp, 0), ==, 2.0);
  g_assert_cmpfloat (json_array_get_double_element (sp, 2), ==, 3.0);
}

/* An empty prediction: Dice 0 and HD95 undefined ("inf", JSON null), never a number. */
static void
test_empty_prediction (void)
{
  g_autofree guint8 *labels = truth_labels ();
  g_autofree char *truth = write_map ("truth.nii.gz", dims, spacing, labels, DT_UINT8);
  g_autofree char *pred = write_map ("empty.nii.gz", dims, spacing, NULL, DT_UINT8);
  g_auto (NsTestRun) run = { 0 };

  ns_test_run_neuroseg (&run, "eval", pred, truth, NULL);
  g_assert_cmpint (run.status, ==, 0);
  assert_row (run.out, "WT ", "0.0000", "inf", "0.000", "8.400");

  g_auto (NsTestRun) js = { 0 };
  ns_test_run_neuroseg (&js, "eval", "--json", pred, truth, NULL);
  g_assert_cmpint (js.status, ==, 0);
  g_autoptr (JsonParser) parser = NULL;
  JsonObject *root = parse_json (js.out, &parser);
  JsonObject *wt = member (root, "regions", "WT");
  g_assert_cmpfloat (json_object_get_double_member (wt, "dice"), ==, 0.0);
  g_assert_true (json_object_get_null_member (wt, "hd95_mm"));

  /* Both empty: Dice 1, HD95 0. */
  g_auto (NsTestRun) both = { 0 };
  ns_test_run_neuroseg (&both, "eval", "--json", pred, pred, NULL);
  g_assert_cmpint (both.status, ==, 0);
  g_autoptr (JsonParser) parser2 = NULL;
  root = parse_json (both.out, &parser2);
  wt = member (root, "regions", "WT");
  g_assert_cmpfloat (json_object_get_double_member (wt, "dice"), ==, 1.0);
  g_assert_cmpfloat (json_object_get_double_member (wt, "hd95_mm"), ==, 0.0);
}

/* A BraTS 2015 truth: 3 (non-enhancing) is its own label unless --truth-scheme 2015 maps
 * it to 1.  The prediction says 1 where the truth says 3. */
static void
test_scheme_2015 (void)
{
  g_autofree guint8 *t = truth_labels ();
  g_autofree guint8 *p = truth_labels ();
  fill_box (t, dims, 12, 4, 3, 14, 9, 8, 3); /* part of the 1 box becomes 3 */
  g_autofree char *truth = write_map ("truth2015.nii.gz", dims, spacing, t, DT_UINT8);
  g_autofree char *pred = write_map ("pred2017.nii.gz", dims, spacing, p, DT_UINT8);
  g_auto (NsTestRun) as_is = { 0 }, mapped = { 0 };

  ns_test_run_neuroseg (&as_is, "eval", pred, truth, NULL);
  g_assert_cmpint (as_is.status, ==, 0);
  /* Label 3: 3 x 6 x 6 = 108 truth voxels (0.648 mL), none predicted.  Label 1: truth
   * 324 - 108 = 216, prediction 324, overlap 216: Dice 432 / 540 = 0.8. */
  assert_row (as_is.out, "3 ", "0.0000", "inf", "0.000", "0.648");
  g_autofree char *line1 = table_line (as_is.out, "1 ");
  g_assert_nonnull (line1);
  g_assert_nonnull (strstr (line1, "0.8000"));
  assert_row (as_is.out, "TC ", "1.0000", "0.000", "2.160", "2.160");

  ns_test_run_neuroseg (&mapped, "eval", "--truth-scheme", "2015", pred, truth, NULL);
  g_assert_cmpint (mapped.status, ==, 0);
  g_assert_null (table_line (mapped.out, "3 "));
  assert_row (mapped.out, "1 ", "1.0000", "0.000", "1.944", "1.944");
}

static void
test_missing_file (void)
{
  g_autofree guint8 *labels = truth_labels ();
  g_autofree char *truth = write_map ("present.nii.gz", dims, spacing, labels, DT_UINT8);
  g_autofree char *missing = g_build_filename (ns_test_tmpdir (), "no-such-file.nii.gz", NULL);
  g_auto (NsTestRun) run = { 0 }, run2 = { 0 };

  ns_test_run_neuroseg (&run, "eval", missing, truth, NULL);
  g_assert_cmpint (run.status, ==, 1);
  g_assert_cmpstr (run.out, ==, "");
  assert_one_line (run.err);
  g_assert_nonnull (strstr (run.err, missing));

  ns_test_run_neuroseg (&run2, "eval", truth, missing, NULL);
  g_assert_cmpint (run2.status, ==, 1);
  assert_one_line (run2.err);
  g_assert_nonnull (strstr (run2.err, missing));
}

static void
test_grid_mismatch (void)
{
  static const int other_dims[3] = { 20, 14, 13 };
  static const double other_spacing[3] = { 2.0, 1.0, 2.0 };
  g_autofree char *a = write_map ("grid-a.nii.gz", dims, spacing, NULL, DT_UINT8);
  g_autofree char *b = write_map ("grid-b.nii.gz", other_dims, spacing, NULL, DT_UINT8);
  g_autofree char *c = write_map ("grid-c.nii.gz", dims, other_spacing, NULL, DT_UINT8);
  g_auto (NsTestRun) run = { 0 }, run2 = { 0 };

  ns_test_run_neuroseg (&run, "eval", a, b, NULL);
  g_assert_cmpint (run.status, ==, 1);
  assert_one_line (run.err);
  g_assert_nonnull (strstr (run.err, a));
  g_assert_nonnull (strstr (run.err, b));

  ns_test_run_neuroseg (&run2, "eval", "--json", c, a, NULL);
  g_assert_cmpint (run2.status, ==, 1);
  g_assert_cmpstr (run2.out, ==, "");
  assert_one_line (run2.err);
  g_assert_nonnull (strstr (run2.err, c));
}

/* Voxels that are not labels: a float map holding 2.5, and a label 9 outside the scheme. */
static void
test_not_labels (void)
{
  g_autofree guint8 *labels = truth_labels ();
  g_autofree char *truth = write_map ("ok.nii.gz", dims, spacing, labels, DT_UINT8);
  g_auto (NsTestRun) run = { 0 }, run2 = { 0 };

  int n_dims[8] = { 3, dims[0], dims[1], dims[2], 1, 1, 1, 1 };
  nifti_image *nim = nifti_make_new_nim (n_dims, DT_FLOAT32, 1);
  g_autofree char *fractional = g_build_filename (ns_test_tmpdir (), "fraction.nii", NULL);
  nim->pixdim[1] = nim->dx = spacing[0];
  nim->pixdim[2] = nim->dy = spacing[1];
  nim->pixdim[3] = nim->dz = spacing[2];
  ((float *) nim->data)[5] = 2.5f;
  g_assert_cmpint (nifti_set_filenames (nim, fractional, 0, 1), ==, 0);
  nifti_image_write (nim);
  nifti_image_free (nim);

  ns_test_run_neuroseg (&run, "eval", fractional, truth, NULL);
  g_assert_cmpint (run.status, ==, 1);
  assert_one_line (run.err);
  g_assert_nonnull (strstr (run.err, fractional));
  g_assert_nonnull (strstr (run.err, "2.5"));

  /* NaN in a label map: refused, not read as background. */
  g_auto (NsTestRun) run_nan = { 0 };
  g_autofree char *with_nan = g_build_filename (ns_test_tmpdir (), "nan.nii", NULL);
  nim = nifti_make_new_nim (n_dims, DT_FLOAT32, 1);
  nim->pixdim[1] = nim->dx = spacing[0];
  nim->pixdim[2] = nim->dy = spacing[1];
  nim->pixdim[3] = nim->dz = spacing[2];
  ((float *) nim->data)[7] = NAN;
  ((float *) nim->data)[8] = 4.0f;
  g_assert_cmpint (nifti_set_filenames (nim, with_nan, 0, 1), ==, 0);
  nifti_image_write (nim);
  nifti_image_free (nim);
  ns_test_run_neuroseg (&run_nan, "eval", truth, with_nan, NULL);
  g_assert_cmpint (run_nan.status, ==, 1);
  assert_one_line (run_nan.err);
  g_assert_nonnull (strstr (run_nan.err, with_nan));
  g_assert_nonnull (strstr (run_nan.err, "NaN"));

  labels[100] = 9;
  g_autofree char *nine = write_map ("nine.nii.gz", dims, spacing, labels, DT_UINT8);
  ns_test_run_neuroseg (&run2, "eval", truth, nine, NULL);
  g_assert_cmpint (run2.status, ==, 1);
  assert_one_line (run2.err);
  g_assert_nonnull (strstr (run2.err, nine));
  g_assert_nonnull (strstr (run2.err, "9"));
}

static void
test_usage (void)
{
  g_autofree guint8 *labels = truth_labels ();
  g_autofree char *truth = write_map ("usage.nii.gz", dims, spacing, labels, DT_UINT8);
  g_auto (NsTestRun) none = { 0 }, one = { 0 }, three = { 0 }, scheme = { 0 }, bogus = { 0 };
  g_auto (NsTestRun) help = { 0 };

  ns_test_run_neuroseg (&none, "eval", NULL);
  g_assert_cmpint (none.status, ==, 2);
  assert_one_line (none.err);
  ns_test_run_neuroseg (&one, "eval", truth, NULL);
  g_assert_cmpint (one.status, ==, 2);
  ns_test_run_neuroseg (&three, "eval", truth, truth, truth, NULL);
  g_assert_cmpint (three.status, ==, 2);
  ns_test_run_neuroseg (&scheme, "eval", "--truth-scheme", "2016", truth, truth, NULL);
  g_assert_cmpint (scheme.status, ==, 2);
  assert_one_line (scheme.err);
  ns_test_run_neuroseg (&bogus, "eval", "--bogus", truth, truth, NULL);
  g_assert_cmpint (bogus.status, ==, 2);
  assert_one_line (bogus.err);

  ns_test_run_neuroseg (&help, "eval", "--help", NULL);
  g_assert_cmpint (help.status, ==, 0);
  g_assert_nonnull (strstr (help.out, "PRED TRUTH"));
  g_assert_nonnull (strstr (help.out, "--json"));
  g_assert_nonnull (strstr (help.out, "--truth-scheme"));
  g_assert_nonnull (strstr (help.out, "95th percentile"));
}

/* The bundled case's truth against itself shifted by one voxel (+x), written with
 * ns_nifti_write_label_map.  Dice and volumes are counted here.  HD95: a surface voxel p
 * of one map has a background neighbour n; p + x and n + x are then a voxel and a
 * background neighbour of the shifted map, so p + x is on its surface, 1 mm away (the
 * voxels are 1 mm).  Every directed distance is thus 0 or 1 mm (none lies between) both
 * ways, HD95 lies in [0, 1], and it is 1 as soon as more than 5 % of the pooled surface
 * distances are 1, as for any solid tumour (the faces across x are more than that). */
static void
test_sample_shifted (void)
{
  g_autofree char *path = g_build_filename (ns_test_sample_case (),
                                            "Brats18_CBICA_ABM_1_seg.nii.gz", NULL);
  g_autofree char *shifted_path = g_build_filename (ns_test_tmpdir (), "shifted.nii.gz", NULL);
  g_autoptr (GError) error = NULL;

  g_autoptr (NsVolume) volume = ns_nifti_read (path, &error);
  g_assert_no_error (error);
  g_autoptr (NsLabelMap) truth = ns_label_map_from_volume (volume, NS_LABEL_SCHEME_BRATS2017,
                                                           FALSE, &error);
  g_assert_no_error (error);
  g_autoptr (NsLabelMap) shifted = ns_label_map_new (&truth->grid, &error);
  g_assert_no_error (error);
  const NsGrid *g = &truth->grid;
  for (int k = 0; k < g->dim[2]; k++)
    for (int j = 0; j < g->dim[1]; j++)
      for (int i = 1; i < g->dim[0]; i++)
        shifted->labels[ns_grid_index (g, i, j, k)] = truth->labels[ns_grid_index (g, i - 1, j, k)];
  g_assert_true (ns_nifti_write_label_map (shifted, shifted_path, &error));
  g_assert_no_error (error);

  g_auto (NsTestRun) run = { 0 };
  ns_test_run_neuroseg (&run, "eval", "--json", shifted_path, path, NULL);
  g_assert_cmpint (run.status, ==, 0);
  g_autoptr (JsonParser) parser = NULL;
  JsonObject *root = parse_json (run.out, &parser);

  /* The same metrics in process, for the distances of the labels. */
  NsMetrics m;
  g_assert_true (ns_metrics_evaluate (shifted, truth, &m, &error));
  g_assert_no_error (error);

  static const struct { const char *group, *name; guint labels; } rows[] = {
    { "labels", "1", 1u << 1 }, { "labels", "2", 1u << 2 }, { "labels", "4", 1u << 4 },
    { "regions", "WT", (1u << 1) | (1u << 2) | (1u << 4) },
    { "regions", "TC", (1u << 1) | (1u << 4) }, { "regions", "ET", 1u << 4 },
  };
  gsize n = ns_grid_n_voxels (g);
  for (gsize r = 0; r < G_N_ELEMENTS (rows); r++)
    {
      guint64 np = 0, nt = 0, both = 0;
      for (gsize i = 0; i < n; i++)
        {
          gboolean p = (rows[r].labels >> shifted->labels[i]) & 1u;
          gboolean t = (rows[r].labels >> truth->labels[i]) & 1u;
          np += p;
          nt += t;
          both += p && t;
        }
      g_assert_cmpuint (nt, >, 0);
      JsonObject *row = member (root, rows[r].group, rows[r].name);
      double hd95 = json_object_get_double_member (row, "hd95_mm");
      g_test_message ("%s: Dice %.4f, HD95 %.4f mm", rows[r].name,
                      json_object_get_double_member (row, "dice"), hd95);
      g_assert_cmpfloat_with_epsilon (json_object_get_double_member (row, "dice"),
                                      2.0 * both / (double) (np + nt), 1e-12);
      g_assert_cmpint (json_object_get_int_member (row, "voxels_pred"), ==, np);
      g_assert_cmpint (json_object_get_int_member (row, "voxels_truth"), ==, nt);
      g_assert_cmpfloat_with_epsilon (json_object_get_double_member (row, "volume_truth_ml"),
                                      nt * 0.001, 1e-9);
      g_assert_cmpfloat (hd95, >=, 0.0);
      g_assert_cmpfloat (hd95, <=, 1.0);
      g_assert_cmpfloat_with_epsilon (hd95, ns_metrics_find_row (&m, rows[r].name)->hd95_mm,
                                      1e-12);
    }
  g_assert_cmpfloat (json_object_get_double_member (member (root, "regions", "WT"), "hd95_mm"),
                     ==, 1.0);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  nifti_set_debug_level (0);
  g_test_add_func ("/cli/eval/self", test_self);
  g_test_add_func ("/cli/eval/shift", test_shift);
  g_test_add_func ("/cli/eval/empty-prediction", test_empty_prediction);
  g_test_add_func ("/cli/eval/scheme-2015", test_scheme_2015);
  g_test_add_func ("/cli/eval/missing-file", test_missing_file);
  g_test_add_func ("/cli/eval/grid-mismatch", test_grid_mismatch);
  g_test_add_func ("/cli/eval/not-labels", test_not_labels);
  g_test_add_func ("/cli/eval/usage", test_usage);
  g_test_add_func ("/cli/eval/sample-shifted", test_sample_shifted);
  return g_test_run ();
}
