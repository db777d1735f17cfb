/* SPDX-License-Identifier: MIT
 *
 * test-data-storage.c: images keep their stored datatype in memory (ns-volume.h): the
 * bundled case's int16 files load as int16 (half the memory of float32), and every data
 * consumer gives, bit for bit, what it gives on a float32 copy of the same volume: the
 * background value, the brain mask, both z-scores, the label map read from a volume, the
 * written file.
 */
#define G_LOG_DOMAIN "neuroseg-test"

#include "ns-case.h"
#include "ns-labels.h"
#include "ns-nifti.h"
#include "ns-normalize.h"
#include "ns-test-util.h"

#include <nifti1_io.h>
#include <string.h>

static NsCase *sample;

static void
test_sample_kept_int16 (void)
{
  for (guint m = 0; m < NS_N_MODALITIES; m++)
    {
      const NsVolume *v = sample->modality[m];
      g_assert_nonnull (v);
      g_assert_cmpint (v->datatype, ==, DT_INT16);
      g_assert_cmpint (v->storage, ==, NS_VOLUME_STORAGE_INT16);
      g_assert_nonnull (v->data);
      g_assert_null (v->voxels);
      g_assert_cmpuint (ns_volume_storage_size (v->storage), ==, 2);
    }
  /* The float32 view reads the same numbers as the file holds. */
  const NsVolume *flair = sample->modality[NS_MODALITY_FLAIR];
  gsize at = ns_grid_index (&flair->grid, 120, 120, 77);
  g_assert_cmpfloat (ns_volume_get_value (flair, at), ==, 171.0f);
  g_assert_cmpint (((const gint16 *) flair->data)[at], ==, 171);
  float run[4];
  ns_volume_read_floats (flair, at, 4, run);
  for (int i = 0; i < 4; i++)
    g_assert_cmpfloat (run[i], ==, (float) ((const gint16 *) flair->data)[at + i]);
}

static void
test_float_copy (void)
{
  g_autoptr (GError) error = NULL;
  const NsVolume *t2 = sample->modality[NS_MODALITY_T2];
  g_autoptr (NsVolume) f = ns_volume_dup_float (t2, &error);
  g_assert_no_error (error);
  g_assert_cmpint (f->storage, ==, NS_VOLUME_STORAGE_FLOAT32);
  g_assert_true (f->voxels == f->data);
  g_assert_cmpstr (f->path, ==, t2->path);
  g_assert_cmpint (f->datatype, ==, t2->datatype);
  ns_test_assert_same_voxels (t2, f);
}

static void
assert_same_floats (const NsVolume *a, const NsVolume *b)
{
  g_assert_cmpint (a->storage, ==, NS_VOLUME_STORAGE_FLOAT32);
  g_assert_cmpint (b->storage, ==, NS_VOLUME_STORAGE_FLOAT32);
  gsize n = ns_volume_n_voxels (a);
  g_assert_cmpuint (n, ==, ns_volume_n_voxels (b));
  g_assert_cmpmem (a->voxels, n * sizeof (float), b->voxels, n * sizeof (float));
}

static void
test_normalize_identical (void)
{
  for (guint m = 0; m < NS_N_MODALITIES; m++)
    {
      g_autoptr (GError) error = NULL;
      const NsVolume *v = sample->modality[m];
      g_autoptr (NsVolume) f = ns_volume_dup_float (v, &error);
      g_assert_no_error (error);

      g_assert_cmpfloat (ns_normalize_background_value (v), ==,
                         ns_normalize_background_value (f));
      g_autoptr (NsLabelMap) mv = ns_normalize_brain_mask (v, &error);
      g_autoptr (NsLabelMap) mf = ns_normalize_brain_mask (f, &error);
      g_assert_no_error (error);
      gsize n = ns_volume_n_voxels (v);
      g_assert_cmpmem (mv->labels, n, mf->labels, n);

      NsNormalizeStats sv, sf;
      g_autoptr (NsVolume) zv = ns_normalize_zscore (v, NULL, &sv, &error);
      g_assert_no_error (error);
      g_autoptr (NsVolume) zf = ns_normalize_zscore (f, NULL, &sf, &error);
      g_assert_no_error (error);
      assert_same_floats (zv, zf);
      g_assert_cmpmem (&sv, sizeof sv, &sf, sizeof sf);

      g_autoptr (NsVolume) cv = ns_normalize_zscore_clipped (v, mv, 0.5, 99.5, &sv, &error);
      g_assert_no_error (error);
      g_autoptr (NsVolume) cf = ns_normalize_zscore_clipped (f, mf, 0.5, 99.5, &sf, &error);
      g_assert_no_error (error);
      assert_same_floats (cv, cf);
      g_assert_cmpmem (&sv, sizeof sv, &sf, sizeof sf);
    }
}

/* The transforms applied a row at a time (as the inference engine fills its batches)
 * give the z-scored volumes bit for bit, with the background rule and with a mask. */
static void
test_normalize_rows (void)
{
  g_autoptr (GError) error = NULL;
  const NsVolume *v = sample->modality[NS_MODALITY_T1C];
  const NsGrid *g = &v->grid;
  gsize n = ns_volume_n_voxels (v), nx = (gsize) g->dim[0];
  g_autoptr (NsLabelMap) mask = ns_normalize_brain_mask (sample->modality[NS_MODALITY_FLAIR],
                                                         &error);
  g_assert_no_error (error);
  g_autofree float *rows = g_new (float, n);

  for (int with_mask = 0; with_mask < 2; with_mask++)
    for (int clipped = 0; clipped < 2; clipped++)
      {
        const NsLabelMap *m = with_mask ? mask : NULL;
        NsNormalizeTransform t;
        NsNormalizeStats st_t, st_v;
        g_autoptr (NsVolume) whole = NULL;
        if (clipped)
          {
            g_assert_true (ns_normalize_zscore_clipped_transform (v, m, 0.5, 99.5, &t, &st_t,
                                                                  &error));
            whole = ns_normalize_zscore_clipped (v, m, 0.5, 99.5, &st_v, &error);
          }
        else
          {
            g_assert_true (ns_normalize_zscore_transform (v, m, &t, &st_t, &error));
            whole = ns_normalize_zscore (v, m, &st_v, &error);
          }
        g_assert_no_error (error);
        g_assert_cmpmem (&st_t, sizeof st_t, &st_v, sizeof st_v);
        for (gsize start = 0; start < n; start += nx)
          ns_normalize_apply (&t, v, m, start, nx, rows + start);
        g_assert_cmpmem (rows, n * sizeof (float), whole->voxels, n * sizeof (float));
      }
}

/* The label file is uint8 in the bundled case: read as a volume it stays uint8, and the
 * label map made from it is the one a float32 copy gives. */
static void
test_labels_uint8 (void)
{
  g_autoptr (GError) error = NULL;
  const char *path = sample->paths[NS_CASE_FILE_LABELS];
  g_assert_nonnull (path);
  g_autoptr (NsVolume) v = ns_nifti_read (path, &error);
  g_assert_no_error (error);
  g_assert_cmpint (v->datatype, ==, DT_UINT8);
  g_assert_cmpint (v->storage, ==, NS_VOLUME_STORAGE_UINT8);
  g_assert_null (v->voxels);
  g_autoptr (NsVolume) f = ns_volume_dup_float (v, &error);
  g_assert_no_error (error);

  NsLabelScheme scheme = sample->label_scheme;
  g_autoptr (NsLabelMap) lv = ns_label_map_from_volume (v, scheme, FALSE, &error);
  g_assert_no_error (error);
  g_autoptr (NsLabelMap) lf = ns_label_map_from_volume (f, scheme, FALSE, &error);
  g_assert_no_error (error);
  gsize n = ns_volume_n_voxels (v);
  g_assert_cmpmem (lv->labels, n, lf->labels, n);
  g_assert_cmpmem (lv->labels, n, sample->labels->labels, n);
  g_autoptr (NsLabelMap) nv = ns_label_map_from_nonzero (v, &error);
  g_assert_no_error (error);
  g_autoptr (NsLabelMap) nf = ns_label_map_from_nonzero (f, &error);
  g_assert_no_error (error);
  g_assert_cmpmem (nv->labels, n, nf->labels, n);
}

/* ns_nifti_write_volume () writes float32 whatever the storage: the same file. */
static void
test_write_identical (void)
{
  g_autoptr (GError) error = NULL;
  const NsVolume *t1 = sample->modality[NS_MODALITY_T1];
  g_autoptr (NsVolume) f = ns_volume_dup_float (t1, &error);
  g_assert_no_error (error);
  g_autofree char *pv = g_build_filename (ns_test_tmpdir (), "int16.nii", NULL);
  g_autofree char *pf = g_build_filename (ns_test_tmpdir (), "float.nii", NULL);
  g_assert_true (ns_nifti_write_volume (t1, pv, &error));
  g_assert_no_error (error);
  g_assert_true (ns_nifti_write_volume (f, pf, &error));
  g_assert_no_error (error);

  g_autofree char *bv = NULL, *bf = NULL;
  gsize lv = 0, lf = 0;
  g_assert_true (g_file_get_contents (pv, &bv, &lv, NULL));
  g_assert_true (g_file_get_contents (pf, &bf, &lf, NULL));
  g_assert_cmpmem (bv, lv, bf, lf);
  g_autoptr (NsVolume) back = ns_nifti_read (pv, &error);
  g_assert_no_error (error);
  g_assert_cmpint (back->datatype, ==, DT_FLOAT32);
  g_assert_cmpint (back->storage, ==, NS_VOLUME_STORAGE_FLOAT32);
  ns_test_assert_same_voxels (back, t1);
}

/* A volume made from int16 values directly (ns_volume_new_take_storage) reads back what
 * it was given, and frees them (ASan). */
static void
test_take_storage (void)
{
  NsGrid grid;
  ns_grid_init (&grid, 3, 2, 2, 1.0, 1.0, 1.0);
  gint16 *values = g_new (gint16, 12);
  for (int i = 0; i < 12; i++)
    values[i] = (gint16) (i * 1000 - 6000);
  g_autoptr (NsVolume) v = ns_volume_new_take_storage (&grid, NS_VOLUME_STORAGE_INT16, values);
  g_assert_cmpint (v->datatype, ==, DT_INT16);
  g_assert_null (v->voxels);
  for (int i = 0; i < 12; i++)
    g_assert_cmpfloat (ns_volume_get_value (v, i), ==, (float) (i * 1000 - 6000));

  guint8 *bytes = g_new (guint8, 12);
  for (int i = 0; i < 12; i++)
    bytes[i] = (guint8) (i * 20);
  g_autoptr (NsVolume) u = ns_volume_new_take_storage (&grid, NS_VOLUME_STORAGE_UINT8, bytes);
  g_assert_cmpint (u->datatype, ==, DT_UINT8);
  float all[12];
  ns_volume_read_floats (u, 0, 12, all);
  for (int i = 0; i < 12; i++)
    g_assert_cmpfloat (all[i], ==, (float) (i * 20));
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_autoptr (GError) error = NULL;
  sample = ns_case_load (ns_test_sample_case (), NS_CASE_LOAD_DEFAULT, &error);
  g_assert_no_error (error);

  g_test_add_func ("/data/storage/sample-kept-int16", test_sample_kept_int16);
  g_test_add_func ("/data/storage/float-copy", test_float_copy);
  g_test_add_func ("/data/storage/normalize-identical", test_normalize_identical);
  g_test_add_func ("/data/storage/normalize-rows", test_normalize_rows);
  g_test_add_func ("/data/storage/labels-uint8", test_labels_uint8);
  g_test_add_func ("/data/storage/write-identical", test_write_identical);
  g_test_add_func ("/data/storage/take-storage", test_take_storage);
  int status = g_test_run ();
  ns_case_unref (sample);
  return status;
}
