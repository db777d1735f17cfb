/* SPDX-License-Identifier: MIT
 *
 * test-data-case.c: case discovery by file name (both BraTS layouts, case-insensitive,
 * "t1" never taken for "t1ce"), explicit file lists, 4-D Decathlon files, label schemes
 * of a case, and the errors: no FLAIR, two files for one part, grids that differ (found
 * from the headers, before any voxel is decoded), labels outside the scheme, a case that
 * does not fit the memory available, and parts that are dangling links, link loops or
 * FIFOs; what a case consists of without decoding it (ns_case_describe).  On the bundled
 * sample case and small synthetic cases.
 */
#include "ns-test-util.h"
#include "ns-case.h"
#include "ns-data-error.h"
#include "ns-memory.h"
#include "ns-nifti.h"

#include <nifti1_io.h>

#include <glib/gstdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static void
test_classify (void)
{
  static const struct { const char *name; NsCaseFile kind; } names[] = {
    { "Brats18_CBICA_ABM_1_flair.nii.gz", NS_CASE_FILE_FLAIR },
    { "Brats18_CBICA_ABM_1_t1.nii.gz", NS_CASE_FILE_T1 },
    { "Brats18_CBICA_ABM_1_t1ce.nii.gz", NS_CASE_FILE_T1C },
    { "Brats18_CBICA_ABM_1_t2.nii.gz", NS_CASE_FILE_T2 },
    { "Brats18_CBICA_ABM_1_seg.nii.gz", NS_CASE_FILE_LABELS },
    { "Flair_subtrMeanDivStd.nii.gz", NS_CASE_FILE_FLAIR },
    { "T1c_subtrMeanDivStd.nii.gz", NS_CASE_FILE_T1C },
    { "OTMultiClass.nii.gz", NS_CASE_FILE_LABELS },
    { "brainmask.nii.gz", NS_CASE_FILE_BRAIN_MASK },
    { "/some/dir/BraTS2021_00000_T1GD.NII.GZ", NS_CASE_FILE_T1C },
    { "case-T1w.nii", NS_CASE_FILE_T1 },
    { "case.T2W.nii", NS_CASE_FILE_T2 },
    { "T2-FLAIR.nii.gz", NS_CASE_FILE_FLAIR },
    { "patient 3 FLAIR.nii", NS_CASE_FILE_FLAIR },
    { "ground_truth.nii.gz", NS_CASE_FILE_LABELS },
    { "labels.nii.gz", NS_CASE_FILE_LABELS },
    { "brain_mask.nii.gz", NS_CASE_FILE_BRAIN_MASK },
    { "t1ce", NS_CASE_FILE_T1C },
    /* Not modalities: words that merely contain "t1" or "t2", and other names. */
    { "st1.nii.gz", NS_CASE_FILE_NONE },
    { "t12.nii.gz", NS_CASE_FILE_NONE },
    { "flairs.nii.gz", NS_CASE_FILE_NONE },
    { "BRATS_001.nii.gz", NS_CASE_FILE_NONE },
    { "prediction.nii.gz", NS_CASE_FILE_NONE },
  };
  for (gsize i = 0; i < G_N_ELEMENTS (names); i++)
    {
      g_test_message ("%s", names[i].name);
      g_assert_cmpint (ns_case_classify_file (names[i].name), ==, names[i].kind);
    }
  g_assert_cmpstr (ns_case_file_name (NS_CASE_FILE_T1C), ==, "t1c");
  g_assert_cmpstr (ns_modality_name (NS_MODALITY_T2), ==, "t2");
}

static void
test_sample_case (void)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (NsCase) c = ns_case_load (ns_test_sample_case (), NS_CASE_LOAD_DEFAULT, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (c->id, ==, "Brats18_CBICA_ABM_1");
  g_assert_cmpuint (ns_case_n_modalities (c), ==, 4);
  for (int m = 0; m < NS_N_MODALITIES; m++)
    {
      g_assert_nonnull (c->modality[m]);
      g_assert_cmpstr (c->modality[m]->name, ==, ns_modality_name (m));
      g_assert_true (ns_grid_equal (&c->modality[m]->grid, &c->grid));
    }
  g_assert_nonnull (strstr (c->paths[NS_CASE_FILE_T1C], "_t1ce.nii.gz"));
  g_assert_nonnull (strstr (c->paths[NS_CASE_FILE_T1], "_t1.nii.gz"));
  g_assert_nonnull (c->labels);
  g_assert_cmpint (c->label_scheme, ==, NS_LABEL_SCHEME_BRATS2017);
  g_assert_null (c->brain_mask);
  g_assert_cmpint (c->grid.dim[2], ==, 155);

  /* Counts nibabel gives for the _seg file: 1: 3398, 2: 30215, 4: 6159. */
  guint64 counts[256];
  ns_label_map_count (c->labels, counts);
  g_assert_cmpuint (counts[1], ==, 3398);
  g_assert_cmpuint (counts[2], ==, 30215);
  g_assert_cmpuint (counts[3], ==, 0);
  g_assert_cmpuint (counts[4], ==, 6159);

  /* Serial loading gives the same case; labels can be skipped. */
  g_autoptr (NsCase) s = ns_case_load (ns_test_sample_case (),
                                       NS_CASE_LOAD_SERIAL | NS_CASE_LOAD_SKIP_LABELS, &error);
  g_assert_no_error (error);
  g_assert_null (s->labels);
  ns_test_assert_same_voxels (s->modality[NS_MODALITY_T2], c->modality[NS_MODALITY_T2]);

  /* One file of it: a case of one FLAIR. */
  g_autofree char *flair = g_build_filename (ns_test_sample_case (),
                                             "Brats18_CBICA_ABM_1_flair.nii.gz", NULL);
  g_autoptr (NsCase) one = ns_case_load (flair, NS_CASE_LOAD_DEFAULT, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (ns_case_n_modalities (one), ==, 1);
  g_assert_cmpstr (one->id, ==, "Brats18_CBICA_ABM_1");
}

/* ---- synthetic cases -------------------------------------------------------------------- */

static char *
make_dir (const char *name)
{
  char *dir = g_build_filename (ns_test_tmpdir (), name, NULL);
  g_assert_cmpint (g_mkdir_with_parents (dir, 0755), ==, 0);
  return dir;
}

/* A small float32 file; value(i) = base + i % 5, or the labels given. */
static char *
write_volume (const char *dir, const char *name, int nz, double origin_x, float base,
              const float *labels)
{
  NsGrid grid;
  ns_grid_init (&grid, 6, 5, nz, 1, 1, 1);
  grid.sform_code = 1;
  memcpy (grid.sform, grid.vox2ras, sizeof grid.sform);
  grid.sform[0][3] = origin_x;
  memcpy (grid.vox2ras, grid.sform, sizeof grid.vox2ras);
  g_autoptr (NsVolume) vol = ns_volume_new (&grid, NULL);
  for (gsize i = 0; i < ns_volume_n_voxels (vol); i++)
    vol->voxels[i] = labels != NULL ? labels[i % 8] : base + (float) (i % 5);
  char *path = g_build_filename (dir, name, NULL);
  g_autoptr (GError) error = NULL;
  g_assert_true (ns_nifti_write_volume (vol, path, &error));
  g_assert_no_error (error);
  return path;
}

static void
test_brats2015_layout (void)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *dir = make_dir ("brats_2013_pat9999_1");
  static const float ot[8] = { 0, 0, 1, 2, 3, 4, 0, 3 };
  static const float mask[8] = { 0, 1, 1, 1, 1, 1, 1, 0 };
  g_free (write_volume (dir, "Flair_subtrMeanDivStd.nii.gz", 4, 0, -1.5f, NULL));
  g_free (write_volume (dir, "T1c_subtrMeanDivStd.nii.gz", 4, 0, -2.5f, NULL));
  g_free (write_volume (dir, "OTMultiClass.nii.gz", 4, 0, 0, ot));
  g_free (write_volume (dir, "brainmask.nii.gz", 4, 0, 0, mask));
  g_autofree char *lic = g_build_filename (dir, "License_CC_BY_NC_SA_3.0.txt", NULL);
  g_assert_true (g_file_set_contents (lic, "licence", -1, NULL));

  g_autoptr (NsCase) c = ns_case_load (dir, NS_CASE_LOAD_DEFAULT, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (c->id, ==, "brats_2013_pat9999_1");
  g_assert_cmpuint (ns_case_n_modalities (c), ==, 2);
  g_assert_nonnull (c->modality[NS_MODALITY_FLAIR]);
  g_assert_nonnull (c->modality[NS_MODALITY_T1C]);
  g_assert_null (c->modality[NS_MODALITY_T1]);
  g_assert_cmpfloat (ns_volume_get_value (c->modality[NS_MODALITY_T1C], 0), ==, -2.5f);
  g_assert_cmpint (c->label_scheme, ==, NS_LABEL_SCHEME_BRATS2015);
  g_assert_false (c->labels_mapped);
  g_assert_cmpuint (c->labels->labels[4], ==, 3);
  g_assert_nonnull (c->brain_mask);
  g_assert_cmpuint (c->brain_mask->labels[0], ==, 0);
  g_assert_cmpuint (c->brain_mask->labels[1], ==, 1);

  /* Mapped to 2017+ on request. */
  g_autoptr (NsCase) m = ns_case_load (dir, NS_CASE_LOAD_MAP_TO_2017, &error);
  g_assert_no_error (error);
  g_assert_cmpint (m->label_scheme, ==, NS_LABEL_SCHEME_BRATS2017);
  g_assert_true (m->labels_mapped);
  g_assert_cmpuint (m->labels->labels[4], ==, 1);
  g_assert_cmpuint (m->labels->labels[5], ==, 4);
  g_assert_true (ns_label_map_check_scheme (m->labels, NS_LABEL_SCHEME_BRATS2017, NULL));
}

static void
test_explicit_files (void)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *dir = make_dir ("explicit");
  g_autofree char *flair = write_volume (dir, "P7_FLAIR.nii.gz", 3, 0, 1, NULL);
  g_autofree char *t1 = write_volume (dir, "P7_T1.nii.gz", 3, 0, 2, NULL);
  g_autofree char *t1ce = write_volume (dir, "P7_T1CE.nii.gz", 3, 0, 3, NULL);
  g_autofree char *seg = write_volume (dir, "P7_seg.nii", 3, 0, 0,
                                       (const float[8]) { 0, 1, 2, 4, 0, 0, 0, 0 });

  const char *files[] = { t1, seg, flair, t1ce, NULL };
  g_autoptr (NsCase) c = ns_case_load_files (files, NS_CASE_LOAD_DEFAULT, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (c->id, ==, "P7");
  g_assert_cmpfloat (ns_volume_get_value (c->modality[NS_MODALITY_FLAIR], 0), ==, 1.0f);
  g_assert_cmpfloat (ns_volume_get_value (c->modality[NS_MODALITY_T1], 0), ==, 2.0f);
  g_assert_cmpfloat (ns_volume_get_value (c->modality[NS_MODALITY_T1C], 0), ==, 3.0f);
  g_assert_null (c->modality[NS_MODALITY_T2]);
  g_assert_cmpint (c->label_scheme, ==, NS_LABEL_SCHEME_BRATS2017);

  /* Without a FLAIR. */
  const char *no_flair[] = { t1, t1ce, NULL };
  g_assert_null (ns_case_load_files (no_flair, NS_CASE_LOAD_DEFAULT, &error));
  g_assert_error (error, NS_DATA_ERROR, NS_DATA_ERROR_NOT_FOUND);
  g_assert_nonnull (strstr (error->message, t1));
  g_clear_error (&error);

  /* Twice the same part. */
  const char *twice[] = { flair, flair, NULL };
  g_assert_null (ns_case_load_files (twice, NS_CASE_LOAD_DEFAULT, &error));
  g_assert_error (error, NS_DATA_ERROR, NS_DATA_ERROR_INVALID);
  g_clear_error (&error);

  /* A name that says nothing, on a 3-D file. */
  g_autofree char *anon = write_volume (dir, "scan.nii.gz", 3, 0, 1, NULL);
  const char *unnamed[] = { flair, anon, NULL };
  g_assert_null (ns_case_load_files (unnamed, NS_CASE_LOAD_DEFAULT, &error));
  g_assert_error (error, NS_DATA_ERROR, NS_DATA_ERROR_INVALID);
  g_assert_nonnull (strstr (error->message, anon));
  g_clear_error (&error);

  /* A missing file. */
  g_autofree char *gone = g_build_filename (dir, "P7_t2.nii.gz", NULL);
  const char *missing[] = { flair, gone, NULL };
  g_assert_null (ns_case_load_files (missing, NS_CASE_LOAD_DEFAULT, &error));
  g_assert_error (error, NS_DATA_ERROR, NS_DATA_ERROR_NOT_FOUND);
  g_assert_nonnull (strstr (error->message, gone));
  g_clear_error (&error);
}

static void
test_no_flair (void)
{
  GError *error = NULL;
  g_autofree char *dir = make_dir ("no-flair");
  g_free (write_volume (dir, "X_t1.nii.gz", 3, 0, 1, NULL));
  g_free (write_volume (dir, "X_t2.nii.gz", 3, 0, 1, NULL));
  g_assert_null (ns_case_load (dir, NS_CASE_LOAD_DEFAULT, &error));
  g_assert_error (error, NS_DATA_ERROR, NS_DATA_ERROR_NOT_FOUND);
  g_assert_nonnull (strstr (error->message, dir));
  g_assert_nonnull (strstr (error->message, "FLAIR"));
  g_clear_error (&error);

  g_autofree char *empty = make_dir ("empty-case");
  g_assert_null (ns_case_load (empty, NS_CASE_LOAD_DEFAULT, &error));
  g_assert_error (error, NS_DATA_ERROR, NS_DATA_ERROR_NOT_FOUND);
  g_clear_error (&error);

  g_autofree char *gone = g_build_filename (ns_test_tmpdir (), "no-such-case", NULL);
  g_assert_null (ns_case_load (gone, NS_CASE_LOAD_DEFAULT, &error));
  g_assert_error (error, NS_DATA_ERROR, NS_DATA_ERROR_NOT_FOUND);
  g_assert_nonnull (strstr (error->message, gone));
  g_clear_error (&error);
}

/* Files whose names name no modality (or no FLAIR): with the parts given, and
 * NS_CASE_LOAD_ANY_IMAGE, any image makes a case (the workbench opens any NIfTI). */
static void
test_any_image (void)
{
  GError *error = NULL;
  g_autofree char *dir = make_dir ("any-image");
  g_autofree char *scan = write_volume (dir, "scan.nii.gz", 3, 0, 7, NULL);
  g_autofree char *t2 = write_volume (dir, "X_t2.nii.gz", 3, 0, 1, NULL);
  const char *only_scan[] = { scan, NULL };
  const char *scan_and_t2[] = { scan, t2, NULL };
  const char *only_t2[] = { t2, NULL };
  const NsCaseFile as_t1[] = { NS_CASE_FILE_T1 };
  const NsCaseFile as_flair_and_named[] = { NS_CASE_FILE_FLAIR, NS_CASE_FILE_NONE };
  NsCase *ncase;

  /* by name: nothing in "scan" tells */
  g_assert_null (ns_case_load_files (only_scan, NS_CASE_LOAD_ANY_IMAGE, &error));
  g_assert_error (error, NS_DATA_ERROR, NS_DATA_ERROR_INVALID);
  g_assert_nonnull (strstr (error->message, scan));
  g_clear_error (&error);

  /* told it is a T1: a case of one image, named after it */
  ncase = ns_case_load_files_as (only_scan, as_t1, NS_CASE_LOAD_ANY_IMAGE, &error);
  g_assert_no_error (error);
  g_assert_nonnull (ncase->modality[NS_MODALITY_T1]);
  g_assert_null (ncase->modality[NS_MODALITY_FLAIR]);
  g_assert_cmpuint (ns_case_n_modalities (ncase), ==, 1);
  g_assert_cmpstr (ncase->paths[NS_CASE_FILE_T1], ==, scan);
  g_assert_cmpstr (ncase->id, ==, "any-image");
  ns_case_unref (ncase);

  /* one part given, the other from its name */
  ncase = ns_case_load_files_as (scan_and_t2, as_flair_and_named, NS_CASE_LOAD_DEFAULT, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (ncase->paths[NS_CASE_FILE_FLAIR], ==, scan);
  g_assert_cmpstr (ncase->paths[NS_CASE_FILE_T2], ==, t2);
  ns_case_unref (ncase);

  /* a lone T2: refused without the flag (FLAIR), a case with it */
  g_assert_null (ns_case_load_files (only_t2, NS_CASE_LOAD_DEFAULT, &error));
  g_assert_error (error, NS_DATA_ERROR, NS_DATA_ERROR_NOT_FOUND);
  g_assert_nonnull (strstr (error->message, "FLAIR"));
  g_clear_error (&error);
  ncase = ns_case_load_files (only_t2, NS_CASE_LOAD_ANY_IMAGE, &error);
  g_assert_no_error (error);
  g_assert_nonnull (ncase->modality[NS_MODALITY_T2]);
  g_assert_cmpstr (ncase->id, ==, "any-image");
  ns_case_unref (ncase);
}

static void
test_ambiguous (void)
{
  GError *error = NULL;
  g_autofree char *dir = make_dir ("ambiguous");
  g_autofree char *a = write_volume (dir, "A_flair.nii.gz", 3, 0, 1, NULL);
  g_autofree char *b = write_volume (dir, "B_flair.nii", 3, 0, 1, NULL);
  g_assert_null (ns_case_load (dir, NS_CASE_LOAD_DEFAULT, &error));
  g_assert_error (error, NS_DATA_ERROR, NS_DATA_ERROR_INVALID);
  g_assert_nonnull (strstr (error->message, a));
  g_assert_nonnull (strstr (error->message, b));
  /* Names are read in sorted order whatever the directory's order: the second file
   * (B) is the one refused, naming the first (A). */
  g_assert_true (g_str_has_prefix (error->message, b));
  g_clear_error (&error);
}

static void
test_grid_mismatch (void)
{
  GError *error = NULL;
  g_autofree char *dir = make_dir ("mismatch");
  g_autofree char *flair = write_volume (dir, "M_flair.nii.gz", 4, 0, 1, NULL);
  g_autofree char *t2 = write_volume (dir, "M_t2.nii.gz", 3, 0, 1, NULL);
  g_assert_null (ns_case_load (dir, NS_CASE_LOAD_DEFAULT, &error));
  g_assert_error (error, NS_DATA_ERROR, NS_DATA_ERROR_GRID_MISMATCH);
  g_test_message ("%s", error->message);
  g_assert_nonnull (strstr (error->message, flair));
  g_assert_nonnull (strstr (error->message, t2));
  g_assert_null (strchr (error->message, '\n'));
  g_clear_error (&error);

  /* Same dims, shifted origin. */
  g_autofree char *dir2 = make_dir ("shifted");
  g_autofree char *f2 = write_volume (dir2, "S_flair.nii.gz", 3, 0, 1, NULL);
  g_autofree char *s2 = write_volume (dir2, "S_seg.nii.gz", 3, 5.0, 0,
                                      (const float[8]) { 0, 1, 0, 0, 0, 0, 0, 0 });
  g_assert_null (ns_case_load (dir2, NS_CASE_LOAD_DEFAULT, &error));
  g_assert_error (error, NS_DATA_ERROR, NS_DATA_ERROR_GRID_MISMATCH);
  g_assert_nonnull (strstr (error->message, "origin"));
  g_assert_nonnull (strstr (error->message, s2));
  g_clear_error (&error);
}

/* #13 defect 1: the grids are checked from the headers before any voxel is decoded.  The
 * T2 here is on another grid and its voxel data is damaged: the grid is what is reported
 * (before, every file was decoded first and the damage was reported instead). */
static void
test_grid_before_decoding (void)
{
  GError *error = NULL;
  g_autofree char *dir = make_dir ("grid-first");
  g_autofree char *flair = write_volume (dir, "G_flair.nii.gz", 4, 0, 1, NULL);
  /* Large enough (4 MiB decoded) that reading its header decodes only its beginning. */
  NsGrid grid;
  ns_grid_init (&grid, 128, 128, 64, 1, 1, 1);
  g_autoptr (NsVolume) big = ns_volume_new (&grid, NULL);
  for (gsize i = 0; i < ns_volume_n_voxels (big); i++)
    big->voxels[i] = (float) (i % 7);
  g_autofree char *t2 = g_build_filename (dir, "G_t2.nii.gz", NULL);
  g_assert_true (ns_nifti_write_volume (big, t2, NULL));
  g_autofree char *bytes = NULL;
  gsize len;
  g_assert_true (g_file_get_contents (t2, &bytes, &len, NULL));
  bytes[len - 12] ^= 0x55; /* inside the deflate stream, after the header */
  g_assert_true (g_file_set_contents (t2, bytes, (gssize) len, NULL));

  g_assert_null (ns_case_load (dir, NS_CASE_LOAD_DEFAULT, &error));
  g_assert_error (error, NS_DATA_ERROR, NS_DATA_ERROR_GRID_MISMATCH);
  g_assert_nonnull (strstr (error->message, t2));
  g_clear_error (&error);
}

/* The memory of the whole case is reserved at once from the headers: a case whose files
 * fit one by one but not together is refused, naming the case, before decoding. */
static void
test_case_memory (void)
{
  GError *error = NULL;
  g_autofree char *dir = make_dir ("case-memory");
  g_autofree char *flair = write_volume (dir, "C_flair.nii.gz", 4, 0, 1, NULL);
  g_autofree char *t1 = write_volume (dir, "C_t1.nii.gz", 4, 0, 2, NULL);
  g_free (write_volume (dir, "C_t2.nii.gz", 4, 0, 3, NULL));

  /* Each file reserves a little over 1 MiB (120 floats and the decoder's 1 MiB chunk,
   * see _ns_nifti_decode_bytes): two fit in 2.5 MiB, three do not. */
  ns_memory_set_limit ((5 << 20) / 2);
  g_assert_null (ns_case_load (dir, NS_CASE_LOAD_DEFAULT, &error));
  g_assert_error (error, NS_DATA_ERROR, NS_DATA_ERROR_TOO_LARGE);
  g_assert_true (g_str_has_prefix (error->message, dir));
  g_assert_nonnull (strstr (error->message, "MiB of memory available"));
  g_test_message ("%s", error->message);
  g_clear_error (&error);
  g_assert_cmpuint (ns_memory_available (), ==, (5 << 20) / 2);
  const char *two[] = { flair, t1, NULL };
  g_autoptr (NsCase) pair = ns_case_load_files (two, NS_CASE_LOAD_DEFAULT, &error);
  g_assert_no_error (error);

  ns_memory_set_limit (64 << 20);
  g_autoptr (NsCase) c = ns_case_load (dir, NS_CASE_LOAD_DEFAULT, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (ns_case_n_modalities (c), ==, 3);
  /* Everything reserved for the decode was given back. */
  g_assert_cmpuint (ns_memory_available (), ==, 64 << 20);
  ns_memory_set_limit (0);
}

/* #13 defect 12: a part of the case that is a dangling link, a link loop or a FIFO used
 * to be skipped ("no FLAIR image"; a case without its T1, exit 0).  Now the case is
 * refused, the file named and what is wrong with it said, and a FIFO is never opened. */
static void
test_broken_parts (void)
{
  GError *error = NULL;

  /* A FLAIR that is a dangling link. */
  g_autofree char *d1 = make_dir ("dangling-flair");
  g_free (write_volume (d1, "D_t1.nii.gz", 3, 0, 1, NULL));
  g_autofree char *flair = g_build_filename (d1, "D_flair.nii.gz", NULL);
  g_assert_cmpint (symlink ("/nonexistent/D_flair.nii.gz", flair), ==, 0);
  g_assert_null (ns_case_load (d1, NS_CASE_LOAD_DEFAULT, &error));
  g_assert_error (error, NS_DATA_ERROR, NS_DATA_ERROR_NOT_FOUND);
  g_test_message ("%s", error->message);
  g_assert_true (g_str_has_prefix (error->message, flair));
  g_assert_nonnull (strstr (error->message, "dangling symbolic link to /nonexistent/D_flair"));
  g_clear_error (&error);
  /* The link itself given as the case. */
  g_assert_null (ns_case_load (flair, NS_CASE_LOAD_DEFAULT, &error));
  g_assert_nonnull (strstr (error->message, "dangling symbolic link"));
  g_clear_error (&error);

  /* A T1 that is a link loop: the case is not opened without it. */
  g_autofree char *d2 = make_dir ("t1-loop");
  g_free (write_volume (d2, "L_flair.nii.gz", 3, 0, 1, NULL));
  g_autofree char *t1 = g_build_filename (d2, "L_t1.nii.gz", NULL);
  g_assert_cmpint (symlink ("L_t1.nii.gz", t1), ==, 0);
  g_assert_null (ns_case_load (d2, NS_CASE_LOAD_DEFAULT, &error));
  g_assert_error (error, NS_DATA_ERROR, NS_DATA_ERROR_NOT_NIFTI);
  g_test_message ("%s", error->message);
  g_assert_true (g_str_has_prefix (error->message, t1));
  g_assert_nonnull (strstr (error->message, "symbolic link loop"));
  g_clear_error (&error);

  /* A T2 that is a FIFO without a writer: refused at once (this would block forever if
   * it were opened for reading). */
  g_autofree char *d3 = make_dir ("t2-fifo");
  g_autofree char *f3 = write_volume (d3, "F_flair.nii.gz", 3, 0, 1, NULL);
  g_autofree char *t2 = g_build_filename (d3, "F_t2.nii.gz", NULL);
  g_assert_cmpint (mkfifo (t2, 0600), ==, 0);
  g_assert_null (ns_case_load (d3, NS_CASE_LOAD_DEFAULT, &error));
  g_assert_error (error, NS_DATA_ERROR, NS_DATA_ERROR_NOT_NIFTI);
  g_assert_true (g_str_has_prefix (error->message, t2));
  g_assert_nonnull (strstr (error->message, "FIFO"));
  g_clear_error (&error);
  const char *files[] = { f3, t2, NULL };
  g_assert_null (ns_case_load_files (files, NS_CASE_LOAD_DEFAULT, &error));
  g_assert_nonnull (strstr (error->message, "FIFO"));
  g_clear_error (&error);

  /* A folder named like a part. */
  g_autofree char *d4 = make_dir ("folder-part");
  g_free (write_volume (d4, "P_flair.nii.gz", 3, 0, 1, NULL));
  g_autofree char *seg = g_build_filename (d4, "P_seg.nii.gz", NULL);
  g_assert_cmpint (g_mkdir (seg, 0700), ==, 0);
  g_assert_null (ns_case_load (d4, NS_CASE_LOAD_DEFAULT, &error));
  g_assert_nonnull (strstr (error->message, "a folder, not a regular file"));
  g_clear_error (&error);

  /* Files that are not parts of the case may be anything: they are not looked at. */
  g_autofree char *d5 = make_dir ("other-links");
  g_free (write_volume (d5, "O_flair.nii.gz", 3, 0, 1, NULL));
  g_autofree char *other = g_build_filename (d5, "notes.nii.gz", NULL);
  g_assert_cmpint (symlink ("/nonexistent", other), ==, 0);
  g_autoptr (NsCase) c = ns_case_load (d5, NS_CASE_LOAD_DEFAULT, &error);
  g_assert_no_error (error);
}

static void
test_bad_labels (void)
{
  GError *error = NULL;
  g_autofree char *dir = make_dir ("bad-labels");
  g_free (write_volume (dir, "L_flair.nii.gz", 3, 0, 1, NULL));
  g_autofree char *seg = write_volume (dir, "L_seg.nii.gz", 3, 0, 0,
                                       (const float[8]) { 0, 1, 2, 7, 0, 0, 0, 0 });
  g_assert_null (ns_case_load (dir, NS_CASE_LOAD_DEFAULT, &error));
  g_assert_error (error, NS_DATA_ERROR, NS_DATA_ERROR_BAD_LABELS);
  g_assert_nonnull (strstr (error->message, seg));
  g_assert_nonnull (strstr (error->message, "label 7"));
  g_clear_error (&error);

  /* Skipping the labels opens the images anyway. */
  g_autoptr (NsCase) c = ns_case_load (dir, NS_CASE_LOAD_SKIP_LABELS, &error);
  g_assert_no_error (error);
  g_assert_null (c->labels);

  /* A corrupt modality file is named, whichever thread read it. */
  g_autofree char *t1 = g_build_filename (dir, "L_t1.nii.gz", NULL);
  g_assert_true (g_file_set_contents (t1, "\x1f\x8b garbage", -1, NULL));
  g_assert_null (ns_case_load (dir, NS_CASE_LOAD_SKIP_LABELS, &error));
  g_assert_nonnull (strstr (error->message, t1));
  g_clear_error (&error);
}

static void
test_decathlon_4d (void)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *dir = make_dir ("msd");
  g_autofree char *path = g_build_filename (dir, "BRATS_001.nii.gz", NULL);
  int dims[8] = { 4, 6, 5, 3, 4, 1, 1, 1 };
  nifti_image *nim = nifti_make_new_nim (dims, DT_INT16, 1);
  gint16 *d = nim->data;
  for (gsize i = 0; i < nim->nvox; i++)
    d[i] = (gint16) (i / 90 * 100 + i % 90);
  nifti_set_debug_level (0);
  nifti_set_filenames (nim, path, 0, 1);
  nim->nifti_type = NIFTI_FTYPE_NIFTI1_1;
  nifti_image_write (nim);
  nifti_image_free (nim);

  g_autoptr (NsCase) c = ns_case_load (path, NS_CASE_LOAD_DEFAULT, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (c->id, ==, "BRATS_001");
  /* Decathlon order: FLAIR, T1w, T1gd, T2w. */
  g_assert_cmpfloat (ns_volume_get_value (c->modality[NS_MODALITY_FLAIR], 1), ==, 1.0f);
  g_assert_cmpfloat (ns_volume_get_value (c->modality[NS_MODALITY_T1], 1), ==, 101.0f);
  g_assert_cmpfloat (ns_volume_get_value (c->modality[NS_MODALITY_T1C], 1), ==, 201.0f);
  g_assert_cmpfloat (ns_volume_get_value (c->modality[NS_MODALITY_T2], 1), ==, 301.0f);
  g_assert_cmpstr (c->modality[NS_MODALITY_T1C]->name, ==, "t1c");
}

/* What a case consists of, from names and headers only: a folder, a 4-D file, a FLAIR
 * file; anything else is refused naming it. */
static void
test_describe (void)
{
  g_autoptr (GError) error = NULL;
  g_auto (NsCaseDescription) d = { 0 };

  g_assert_true (ns_case_describe (ns_test_sample_case (), &d, &error));
  g_assert_no_error (error);
  g_autofree char *abs = g_canonicalize_filename (ns_test_sample_case (), NULL);
  g_assert_cmpstr (d.path, ==, abs);
  g_assert_cmpstr (d.id, ==, "Brats18_CBICA_ABM_1");
  for (int m = 0; m < NS_N_MODALITIES; m++)
    {
      g_assert_nonnull (d.files[m]);
      g_assert_cmpint (d.volumes[m], ==, -1);
    }
  g_assert_true (g_str_has_suffix (d.files[NS_MODALITY_T1C], "_t1ce.nii.gz"));
  g_assert_true (g_str_has_suffix (d.labels, "_seg.nii.gz"));
  ns_case_description_clear (&d);

  g_autofree char *dir = make_dir ("describe");
  g_autofree char *msd = g_build_filename (dir, "Describe_004.nii.gz", NULL);
  int dims[8] = { 4, 4, 4, 2, 4, 1, 1, 1 };
  nifti_image *nim = nifti_make_new_nim (dims, DT_INT16, 1);
  nifti_set_debug_level (0);
  nifti_set_filenames (nim, msd, 0, 1);
  nim->nifti_type = NIFTI_FTYPE_NIFTI1_1;
  nifti_image_write (nim);
  nifti_image_free (nim);
  g_assert_true (ns_case_describe (msd, &d, &error));
  g_assert_no_error (error);
  g_assert_cmpstr (d.id, ==, "Describe_004");
  g_assert_cmpint (d.volumes[NS_MODALITY_FLAIR], ==, 0);
  g_assert_cmpint (d.volumes[NS_MODALITY_T1], ==, 1);
  g_assert_cmpint (d.volumes[NS_MODALITY_T1C], ==, 2);
  g_assert_cmpint (d.volumes[NS_MODALITY_T2], ==, 3);
  g_assert_cmpstr (d.files[NS_MODALITY_T2], ==, msd);
  g_assert_null (d.labels);
  ns_case_description_clear (&d);

  g_autofree char *flair = write_volume (dir, "Solo_1_flair.nii.gz", 3, 0, 1, NULL);
  g_assert_true (ns_case_describe (flair, &d, &error));
  g_assert_cmpstr (d.id, ==, "Solo_1");
  g_assert_cmpstr (d.files[NS_MODALITY_FLAIR], ==, flair);
  g_assert_null (d.files[NS_MODALITY_T1]);
  ns_case_description_clear (&d);

  g_autofree char *t2 = write_volume (dir, "Solo_1_t2.nii.gz", 3, 0, 1, NULL);
  g_assert_false (ns_case_describe (t2, &d, &error));
  g_assert_error (error, NS_DATA_ERROR, NS_DATA_ERROR_INVALID);
  g_assert_true (g_str_has_prefix (error->message, t2));
  g_assert_null (d.path);
  g_clear_error (&error);
  g_assert_false (ns_case_describe ("/no/such/case", &d, &error));
  g_assert_error (error, NS_DATA_ERROR, NS_DATA_ERROR_NOT_FOUND);
}

/* ns_case_open: one folder, one file, or several files of a case, as a user gives them. */
static void
test_open (void)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *dir = make_dir ("open");
  g_autofree char *flair = write_volume (dir, "P9_flair.nii.gz", 3, 0, 1, NULL);
  g_autofree char *t2 = write_volume (dir, "P9_t2.nii.gz", 3, 0, 5, NULL);

  g_autoptr (NsCase) folder = ns_case_open ((const char *[]) { dir, NULL }, 0, &error);
  g_assert_no_error (error);
  g_assert_nonnull (folder->modality[NS_MODALITY_T2]);

  g_autoptr (NsCase) one = ns_case_open ((const char *[]) { flair, NULL }, 0, &error);
  g_assert_no_error (error);
  g_assert_null (one->modality[NS_MODALITY_T2]);

  g_autoptr (NsCase) two = ns_case_open ((const char *[]) { t2, flair, NULL }, 0, &error);
  g_assert_no_error (error);
  g_assert_cmpfloat (ns_volume_get_value (two->modality[NS_MODALITY_T2], 0), ==, 5.0f);

  /* a folder among files is not a file of the case */
  g_assert_null (ns_case_open ((const char *[]) { flair, dir, NULL }, 0, &error));
  g_assert_nonnull (error);
  g_assert_nonnull (strstr (error->message, dir));
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/data/case/classify", test_classify);
  g_test_add_func ("/data/case/sample", test_sample_case);
  g_test_add_func ("/data/case/brats2015-layout", test_brats2015_layout);
  g_test_add_func ("/data/case/explicit-files", test_explicit_files);
  g_test_add_func ("/data/case/open", test_open);
  g_test_add_func ("/data/case/no-flair", test_no_flair);
  g_test_add_func ("/data/case/any-image", test_any_image);
  g_test_add_func ("/data/case/ambiguous", test_ambiguous);
  g_test_add_func ("/data/case/grid-mismatch", test_grid_mismatch);
  g_test_add_func ("/data/case/grid-before-decoding", test_grid_before_decoding);
  g_test_add_func ("/data/case/memory", test_case_memory);
  g_test_add_func ("/data/case/broken-parts", test_broken_parts);
  g_test_add_func ("/data/case/bad-labels", test_bad_labels);
  g_test_add_func ("/data/case/decathlon-4d", test_decathlon_4d);
  g_test_add_func ("/data/case/describe", test_describe);
  return g_test_run ();
}
