/* SPDX-License-Identifier: MIT
 *
 * test-data-nifti.c: NIfTI reading and writing.  Synthetic round trips in the style of
 * nifti_clib's tester (odd sizes, unequal spacing, negative qfac, scaled integers, every
 * datatype, both byte orders, 4-D), every kind of bad input the loader must refuse with a
 * named-file error, the bundled sample case, mricron's templates against values nibabel
 * reports (recorded once with /usr/bin/python3 nibabel 4.0), label maps written and read
 * back (and read by nibabel when it is installed), and the fuzzer's regression inputs.
 */
#include "ns-test-util.h"
#include "ns-test-nifti.h"
#include "ns-data-error.h"
#include "ns-nifti.h"

#include <math.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char *
tmp_path (const char *name)
{
  return g_build_filename (ns_test_tmpdir (), name, NULL);
}

/* The error names the file and is one line. */
static void
assert_error_names (const GError *error, const char *path)
{
  g_assert_nonnull (error);
  g_assert_nonnull (strstr (error->message, path));
  g_assert_null (strchr (error->message, '\n'));
}

static double
pattern_signed (gsize i)
{
  return (double) ((long) (i * 7919 % 241) - 120); /* fits int8 */
}

static double
pattern_unsigned (gsize i)
{
  return (double) (i * 7919 % 251);
}

static double
pattern_float (gsize i)
{
  return ((double) (i % 97) - 48.0) * 0.37 + 1e-3 * (double) i;
}

/* ---- round trips ------------------------------------------------------------------------ */

static void
check_values (const NsVolume *vol, const nifti_image *nim, gsize offset, double slope,
              double inter)
{
  gsize n = ns_volume_n_voxels (vol);
  g_autofree double *want = g_new (double, n);
  for (gsize i = 0; i < n; i++)
    {
      gsize j = offset + i;
      double raw;
      switch (nim->datatype)
        {
        case DT_UINT8: raw = ((guint8 *) nim->data)[j]; break;
        case DT_INT8: raw = ((gint8 *) nim->data)[j]; break;
        case DT_INT16: raw = ((gint16 *) nim->data)[j]; break;
        case DT_UINT16: raw = ((guint16 *) nim->data)[j]; break;
        case DT_INT32: raw = ((gint32 *) nim->data)[j]; break;
        case DT_UINT32: raw = ((guint32 *) nim->data)[j]; break;
        case DT_FLOAT32: raw = ((float *) nim->data)[j]; break;
        case DT_FLOAT64: raw = ((double *) nim->data)[j]; break;
        default: g_assert_not_reached ();
        }
      want[i] = slope != 0.0 ? raw * slope + inter : raw;
    }
  g_autofree float *got = ns_test_dup_floats (vol);
  g_assert_true (ns_check_tensor ("voxels", got, want, n, 1e-6));
}

static void
test_roundtrip_datatypes (void)
{
  static const int types[] = { DT_UINT8, DT_INT8, DT_INT16, DT_UINT16, DT_INT32, DT_UINT32,
                               DT_FLOAT32, DT_FLOAT64 };

  for (gsize t = 0; t < G_N_ELEMENTS (types); t++)
    for (int gz = 0; gz < 2; gz++)
      {
        g_autoptr (GError) error = NULL;
        g_autofree char *name = g_strdup_printf ("dt%d%s", types[t], gz ? ".nii.gz" : ".nii");
        g_autofree char *path = tmp_path (name);
        /* Odd sizes, unequal spacing. */
        nifti_image *nim = ns_test_make_nim (7, 5, 3, 1, types[t], 0.9, 1.3, 2.7);
        gboolean is_signed = types[t] == DT_INT8 || types[t] == DT_INT16
                             || types[t] == DT_INT32;
        ns_test_fill_nim (nim, types[t] == DT_FLOAT32 || types[t] == DT_FLOAT64
                                 ? pattern_float
                                 : is_signed ? pattern_signed : pattern_unsigned);
        ns_test_write_nim (nim, path);

        g_autoptr (NsVolume) vol = ns_nifti_read (path, &error);
        g_assert_no_error (error);
        g_assert_cmpint (vol->datatype, ==, types[t]);
        /* int16 and uint8 are kept as stored (both decoders: libdeflate for .nii.gz,
         * streaming for .nii); every other type becomes float32. */
        NsVolumeStorage want_storage = types[t] == DT_INT16 ? NS_VOLUME_STORAGE_INT16
                                       : types[t] == DT_UINT8 ? NS_VOLUME_STORAGE_UINT8
                                       : NS_VOLUME_STORAGE_FLOAT32;
        g_assert_cmpint (vol->storage, ==, want_storage);
        g_assert_true ((vol->voxels != NULL) == (want_storage == NS_VOLUME_STORAGE_FLOAT32));
        g_assert_cmpint (vol->grid.dim[0], ==, 7);
        g_assert_cmpint (vol->grid.dim[1], ==, 5);
        g_assert_cmpint (vol->grid.dim[2], ==, 3);
        g_assert_cmpfloat_with_epsilon (vol->grid.spacing[0], 0.9, 1e-6);
        g_assert_cmpfloat_with_epsilon (vol->grid.spacing[2], 2.7, 1e-6);
        /* No transform: vox2ras from pixdim. */
        g_assert_cmpfloat_with_epsilon (vol->grid.vox2ras[1][1], 1.3, 1e-6);
        g_assert_cmpfloat (vol->grid.vox2ras[0][3], ==, 0.0);
        g_assert_cmpuint (vol->n_nonfinite, ==, 0);
        g_assert_cmpstr (vol->path, ==, path);
        check_values (vol, nim, 0, 0.0, 0.0);
        nifti_image_free (nim);
      }
}

static void
test_roundtrip_negative_qfac (void)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *path = tmp_path ("qfac.nii.gz");
  nifti_image *nim = ns_test_make_nim (9, 4, 6, 1, DT_INT16, 1.5, 0.75, 3.0);
  ns_test_fill_nim (nim, pattern_signed);
  /* A rotation about z by 30 degrees, qfac -1, an offset; sform absent. */
  nim->qform_code = NIFTI_XFORM_SCANNER_ANAT;
  nim->quatern_b = 0.0f;
  nim->quatern_c = 0.0f;
  nim->quatern_d = (float) sin (G_PI / 12.0);
  nim->qoffset_x = 10.5f;
  nim->qoffset_y = -20.25f;
  nim->qoffset_z = 7.0f;
  nim->qfac = -1.0f;
  nim->pixdim[0] = -1.0f;
  ns_test_write_nim (nim, path);
  mat44 want = nifti_quatern_to_mat44 (nim->quatern_b, nim->quatern_c, nim->quatern_d,
                                       nim->qoffset_x, nim->qoffset_y, nim->qoffset_z, 1.5f,
                                       0.75f, 3.0f, -1.0f);

  g_autoptr (NsVolume) vol = ns_nifti_read (path, &error);
  g_assert_no_error (error);
  g_assert_cmpint (vol->grid.qform_code, ==, 1);
  g_assert_cmpint (vol->grid.sform_code, ==, 0);
  g_assert_cmpfloat (vol->grid.qfac, ==, -1.0);
  for (int r = 0; r < 4; r++)
    for (int c = 0; c < 4; c++)
      g_assert_cmpfloat_with_epsilon (vol->grid.vox2ras[r][c], want.m[r][c], 1e-5);
  /* qfac -1 flips the third axis: its column points down. */
  g_assert_cmpfloat (vol->grid.vox2ras[2][2], <, 0.0);
  g_assert_cmpfloat_with_epsilon (vol->grid.quatern[2], sin (G_PI / 12.0), 1e-7);
  g_assert_cmpfloat_with_epsilon (vol->grid.qoffset[1], -20.25, 1e-7);
  check_values (vol, nim, 0, 0.0, 0.0);
  nifti_image_free (nim);
}

static void
test_sform_priority (void)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *path = tmp_path ("sform.nii");
  nifti_image *nim = ns_test_make_nim (3, 4, 5, 1, DT_UINT8, 2.0, 2.0, 2.0);
  ns_test_fill_nim (nim, pattern_unsigned);
  nim->qform_code = 1; /* identity rotation, offset (1, 2, 3) */
  nim->qoffset_x = 1.0f;
  nim->qoffset_y = 2.0f;
  nim->qoffset_z = 3.0f;
  nim->sform_code = NIFTI_XFORM_MNI_152;
  float s[3][4] = { { 0, -2, 0, 50 }, { 2, 0, 0, -60 }, { 0, 0, 2, 70 } }; /* axes swapped */
  for (int r = 0; r < 3; r++)
    for (int c = 0; c < 4; c++)
      nim->sto_xyz.m[r][c] = s[r][c];
  ns_test_write_nim (nim, path);
  nifti_image_free (nim);

  g_autoptr (NsVolume) vol = ns_nifti_read (path, &error);
  g_assert_no_error (error);
  g_assert_cmpint (vol->grid.sform_code, ==, 4);
  for (int r = 0; r < 3; r++)
    for (int c = 0; c < 4; c++)
      g_assert_cmpfloat (vol->grid.vox2ras[r][c], ==, s[r][c]);
  g_assert_cmpfloat (vol->grid.qform[0][3], ==, 1.0);
  char orient[4];
  ns_grid_orientation_code (&vol->grid, orient);
  g_assert_cmpstr (orient, ==, "ALS"); /* i along +y (A), j along -x (L) */
}

static void
test_scaled_ints (void)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *path = tmp_path ("scaled.nii.gz");
  nifti_image *nim = ns_test_make_nim (5, 3, 7, 1, DT_INT16, 1, 1, 1);
  ns_test_fill_nim (nim, pattern_signed);
  nim->scl_slope = 0.5f;
  nim->scl_inter = -3.25f;
  ns_test_write_nim (nim, path);

  g_autoptr (NsVolume) vol = ns_nifti_read (path, &error);
  g_assert_no_error (error);
  g_assert_cmpfloat (vol->scl_slope, ==, 0.5);
  g_assert_cmpfloat (vol->scl_inter, ==, -3.25);
  /* Scaled values are not int16 any more: float32. */
  g_assert_cmpint (vol->storage, ==, NS_VOLUME_STORAGE_FLOAT32);
  check_values (vol, nim, 0, 0.5, -3.25);
  nifti_image_free (nim);

  /* The brats2015 brain masks: int32 -2^31 and 2147483520 scaled to 0 and 1.  In float
   * arithmetic the products round to values near 0 and 1 but not at them; in double
   * they land within 1e-7. */
  g_autofree char *mpath = tmp_path ("mask32.nii");
  nim = ns_test_make_nim (4, 4, 2, 1, DT_INT32, 1, 1, 1);
  for (gsize i = 0; i < nim->nvox; i++)
    ((gint32 *) nim->data)[i] = i % 3 ? G_MININT32 : 2147483520;
  double slope = 1.0 / (2147483520.0 + 2147483648.0);
  nim->scl_slope = (float) slope;
  nim->scl_inter = (float) (2147483648.0 * (double) nim->scl_slope);
  ns_test_write_nim (nim, mpath);
  g_autoptr (NsVolume) mask = ns_nifti_read (mpath, &error);
  g_assert_no_error (error);
  for (gsize i = 0; i < nim->nvox; i++)
    g_assert_cmpfloat_with_epsilon (ns_volume_get_value (mask, i), i % 3 ? 0.0 : 1.0, 1e-6);
  check_values (mask, nim, 0, nim->scl_slope, nim->scl_inter);
  nifti_image_free (nim);
}

static void
test_4d_split (void)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *path = tmp_path ("four.nii.gz");
  nifti_image *nim = ns_test_make_nim (6, 5, 4, 3, DT_FLOAT32, 1, 1, 1);
  ns_test_fill_nim (nim, pattern_float);
  ns_test_write_nim (nim, path);

  g_autoptr (GPtrArray) vols = ns_nifti_read_all (path, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (vols->len, ==, 3);
  for (guint v = 0; v < 3; v++)
    {
      const NsVolume *vol = g_ptr_array_index (vols, v);
      g_assert_cmpint (vol->grid.dim[2], ==, 4);
      check_values (vol, nim, (gsize) v * 120, 0.0, 0.0);
    }

  /* ns_nifti_read wants exactly one volume. */
  g_assert_null (ns_nifti_read (path, &error));
  g_assert_error (error, NS_DATA_ERROR, NS_DATA_ERROR_UNSUPPORTED);
  assert_error_names (error, path);
  nifti_image_free (nim);

  NsNiftiHeader hdr;
  g_clear_error (&error);
  g_assert_true (ns_nifti_read_header (path, &hdr, &error));
  g_assert_cmpint (hdr.n_volumes, ==, 3);
  g_assert_true (hdr.compressed);
}

static void
test_big_endian (void)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *path = tmp_path ("swapped.nii");
  int dims[3] = { 3, 2, 2 };
  struct nifti_1_header h = ns_test_raw_header (3, dims, DT_INT16, 16);
  h.scl_slope = 2.0f;
  h.scl_inter = 1.0f;
  h.pixdim[1] = 0.5f;
  gint16 data[12];
  for (int i = 0; i < 12; i++)
    data[i] = (gint16) GUINT16_SWAP_LE_BE ((guint16) (gint16) (i * 100 - 300));
  swap_nifti_header (&h, 1);
  ns_test_write_raw (path, &h, data, sizeof data, FALSE);

  g_autoptr (NsVolume) vol = ns_nifti_read (path, &error);
  g_assert_no_error (error);
  g_assert_cmpfloat (vol->grid.spacing[0], ==, 0.5);
  for (int i = 0; i < 12; i++)
    g_assert_cmpfloat (ns_volume_get_value (vol, i), ==, (i * 100 - 300) * 2.0 + 1.0);
  NsNiftiHeader hdr;
  g_assert_true (ns_nifti_read_header (path, &hdr, &error));
  g_assert_true (hdr.byte_swapped);
}

static void
test_nonfinite (void)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *path = tmp_path ("nan.nii.gz");
  nifti_image *nim = ns_test_make_nim (4, 3, 2, 1, DT_FLOAT32, 1, 1, 1);
  float *f = nim->data;
  for (gsize i = 0; i < nim->nvox; i++)
    f[i] = (float) i;
  f[2] = NAN;
  f[5] = INFINITY;
  f[11] = -INFINITY;
  ns_test_write_nim (nim, path);
  nifti_image_free (nim);

  g_autoptr (NsVolume) vol = ns_nifti_read (path, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (vol->n_nonfinite, ==, 3);
  g_assert_cmpfloat (ns_volume_get_value (vol, 2), ==, 0.0f);
  g_assert_cmpfloat (ns_volume_get_value (vol, 5), ==, 0.0f);
  g_assert_cmpfloat (ns_volume_get_value (vol, 11), ==, 0.0f);
  g_assert_cmpfloat (ns_volume_get_value (vol, 3), ==, 3.0f);

  /* float64 values beyond float32's range become Inf, and are counted too. */
  g_autofree char *p64 = tmp_path ("big64.nii");
  nim = ns_test_make_nim (2, 2, 1, 1, DT_FLOAT64, 1, 1, 1);
  double *d = nim->data;
  d[0] = 1e300;
  d[1] = 5.0;
  d[2] = NAN;
  d[3] = -2.0;
  ns_test_write_nim (nim, p64);
  nifti_image_free (nim);
  g_autoptr (NsVolume) v64 = ns_nifti_read (p64, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (v64->n_nonfinite, ==, 2);
  g_assert_cmpfloat (ns_volume_get_value (v64, 1), ==, 5.0f);
  g_assert_cmpfloat (ns_volume_get_value (v64, 3), ==, -2.0f);
}

/* ---- bad input ---------------------------------------------------------------------------- */

static void
expect_failure (const char *path, int code)
{
  GError *error = NULL;
  NsNiftiHeader hdr;

  g_assert_null (ns_nifti_read_all (path, &error));
  g_assert_error (error, NS_DATA_ERROR, code);
  assert_error_names (error, path);
  g_test_message ("%s", error->message);
  g_clear_error (&error);

  /* The same bytes from memory fail the same way. */
  g_autofree char *bytes = NULL;
  gsize len = 0;
  if (g_file_get_contents (path, &bytes, &len, NULL))
    {
      g_assert_null (ns_nifti_read_memory (bytes, len, path, &error));
      g_assert_error (error, NS_DATA_ERROR, code);
      assert_error_names (error, path);
      g_clear_error (&error);
    }
  /* Header-only reading fails too unless the fault is in the data. */
  if (code != NS_DATA_ERROR_CORRUPT && !ns_nifti_read_header (path, &hdr, &error))
    g_assert_error (error, NS_DATA_ERROR, code);
  g_clear_error (&error);
}

static void
test_bad_missing (void)
{
  g_autofree char *path = tmp_path ("does-not-exist.nii.gz");
  expect_failure (path, NS_DATA_ERROR_NOT_FOUND);
  /* A folder is not a NIfTI file; a FIFO is refused without waiting for a writer. */
  expect_failure (ns_test_tmpdir (), NS_DATA_ERROR_NOT_NIFTI);
  g_autofree char *fifo = tmp_path ("fifo.nii");
  g_assert_cmpint (mkfifo (fifo, 0600), ==, 0);
  GError *error = NULL;
  g_assert_null (ns_nifti_read_all (fifo, &error));
  g_assert_error (error, NS_DATA_ERROR, NS_DATA_ERROR_NOT_NIFTI);
  assert_error_names (error, fifo);
  g_assert_nonnull (strstr (error->message, "FIFO"));
  g_clear_error (&error);
  g_unlink (fifo);

  /* #13 defect 12: a link says what is wrong with it. */
  g_autofree char *dangling = tmp_path ("dangling.nii.gz");
  g_autofree char *gone = tmp_path ("gone.nii.gz");
  g_assert_cmpint (symlink (gone, dangling), ==, 0);
  expect_failure (dangling, NS_DATA_ERROR_NOT_FOUND);
  g_assert_null (ns_nifti_read_all (dangling, &error));
  g_assert_nonnull (strstr (error->message, "dangling symbolic link to"));
  g_assert_nonnull (strstr (error->message, gone));
  g_clear_error (&error);

  g_autofree char *loop = tmp_path ("loop.nii.gz");
  g_assert_cmpint (symlink (loop, loop), ==, 0);
  g_assert_null (ns_nifti_read_all (loop, &error));
  g_assert_error (error, NS_DATA_ERROR, NS_DATA_ERROR_NOT_NIFTI);
  assert_error_names (error, loop);
  g_assert_nonnull (strstr (error->message, "symbolic link loop"));
  g_clear_error (&error);
}

static void
test_bad_not_nifti (void)
{
  g_autofree char *text = tmp_path ("text.nii");
  g_assert_true (g_file_set_contents (text, "this is not an image\n", -1, NULL));
  expect_failure (text, NS_DATA_ERROR_NOT_NIFTI);

  g_autofree char *empty = tmp_path ("empty.nii.gz");
  g_assert_true (g_file_set_contents (empty, "", 0, NULL));
  expect_failure (empty, NS_DATA_ERROR_NOT_NIFTI);

  /* Random bytes, gzip-compressed, longer than a header. */
  g_autofree char *junk = tmp_path ("junk.nii.gz");
  guint8 buf[2000];
  for (gsize i = 0; i < sizeof buf; i++)
    buf[i] = (guint8) (i * 37 + 11);
  gzFile f = gzopen (junk, "wb");
  gzwrite (f, buf, sizeof buf);
  gzclose (f);
  expect_failure (junk, NS_DATA_ERROR_NOT_NIFTI);

  /* A header with the right size field but no magic (ANALYZE 7.5). */
  int dims[3] = { 2, 2, 2 };
  struct nifti_1_header h = ns_test_raw_header (3, dims, DT_UINT8, 8);
  memset (h.magic, 0, 4);
  g_autofree char *analyze = tmp_path ("analyze.nii");
  ns_test_write_raw (analyze, &h, buf, 8, FALSE);
  expect_failure (analyze, NS_DATA_ERROR_NOT_NIFTI);

  /* A NIfTI-2 size field (540) without NIfTI-2's magic (test-data-nifti2.c reads real
   * NIfTI-2 files). */
  g_autofree char *n2 = tmp_path ("nifti2.nii");
  h = ns_test_raw_header (3, dims, DT_UINT8, 8);
  h.sizeof_hdr = 540;
  ns_test_write_raw (n2, &h, buf, 300, FALSE);
  expect_failure (n2, NS_DATA_ERROR_NOT_NIFTI);
}

static void
test_bad_truncated (void)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *full = tmp_path ("full.nii.gz");
  nifti_image *nim = ns_test_make_nim (40, 30, 20, 1, DT_FLOAT32, 1, 1, 1);
  ns_test_fill_nim (nim, pattern_float);
  ns_test_write_nim (nim, full);
  nifti_image_free (nim);

  g_autofree char *bytes = NULL;
  gsize len;
  g_assert_true (g_file_get_contents (full, &bytes, &len, NULL));
  /* Cut in the middle of the data, in the header, and just before the gzip trailer. */
  gsize cuts[] = { len / 2, 40, len - 4 };
  for (gsize c = 0; c < G_N_ELEMENTS (cuts); c++)
    {
      g_autofree char *name = g_strdup_printf ("cut%" G_GSIZE_FORMAT ".nii.gz", c);
      g_autofree char *path = tmp_path (name);
      g_assert_true (g_file_set_contents (path, bytes, (gssize) cuts[c], NULL));
      expect_failure (path, NS_DATA_ERROR_CORRUPT);
    }

  /* A gzip trailer whose length (ISIZE) lies, larger and smaller: the decoded size is
   * never taken from it alone. */
  for (int delta = -1; delta <= 1; delta += 2)
    {
      g_autofree char *lie = tmp_path (delta > 0 ? "isize-big.nii.gz" : "isize-small.nii.gz");
      g_autofree char *copy = g_memdup2 (bytes, len);
      guint32 isize;
      memcpy (&isize, copy + len - 4, 4);
      isize = GUINT32_TO_LE (GUINT32_FROM_LE (isize) + (guint32) (delta * 4096));
      memcpy (copy + len - 4, &isize, 4);
      g_assert_true (g_file_set_contents (lie, copy, (gssize) len, NULL));
      expect_failure (lie, NS_DATA_ERROR_CORRUPT);
    }

  /* Bytes after the gzip stream (not another member) are ignored, as gzip does. */
  {
    g_autofree char *trail = tmp_path ("trailing.nii.gz");
    g_autofree char *copy = g_malloc (len + 5);
    memcpy (copy, bytes, len);
    memcpy (copy + len, "JUNK\n", 5);
    g_assert_true (g_file_set_contents (trail, copy, (gssize) len + 5, NULL));
    g_autoptr (NsVolume) a = ns_nifti_read (full, &error);
    g_assert_no_error (error);
    g_autoptr (NsVolume) b = ns_nifti_read (trail, &error);
    g_assert_no_error (error);
    g_assert_cmpuint (ns_volume_n_voxels (a), ==, 24000);
    ns_test_assert_same_voxels (a, b);
  }

  /* A corrupted byte inside the compressed stream. */
  g_autofree char *flip = tmp_path ("flipped.nii.gz");
  bytes[len / 2] ^= 0x5a;
  g_assert_true (g_file_set_contents (flip, bytes, (gssize) len, NULL));
  expect_failure (flip, NS_DATA_ERROR_CORRUPT);

  /* An uncompressed file shorter than its header says: refused before allocating. */
  int dims[3] = { 64, 64, 64 };
  struct nifti_1_header h = ns_test_raw_header (3, dims, DT_INT16, 16);
  g_autofree char *shortf = tmp_path ("short.nii");
  ns_test_write_raw (shortf, &h, bytes, 1000, FALSE);
  expect_failure (shortf, NS_DATA_ERROR_CORRUPT);

  /* vox_offset past the end of the file. */
  h = ns_test_raw_header (3, (int[]) { 2, 2, 2 }, DT_UINT8, 8);
  h.vox_offset = 1e9f;
  g_autofree char *offset = tmp_path ("offset.nii.gz");
  ns_test_write_raw (offset, &h, bytes, 8, TRUE);
  expect_failure (offset, NS_DATA_ERROR_CORRUPT);
  h.vox_offset = NAN;
  ns_test_write_raw (offset, &h, bytes, 8, TRUE);
  expect_failure (offset, NS_DATA_ERROR_CORRUPT);
}

static void
test_bad_dims (void)
{
  guint8 data[64] = { 0 };
  struct { int ndim; int dims[7]; int code; } cases[] = {
    { 3, { 0, 4, 4 }, NS_DATA_ERROR_CORRUPT },              /* zero */
    { 3, { 4, -4, 4 }, NS_DATA_ERROR_CORRUPT },             /* negative */
    { 4, { 4, 4, 4, 0 }, NS_DATA_ERROR_CORRUPT },           /* zero time points */
    { 0, { 4, 4, 4 }, NS_DATA_ERROR_CORRUPT },              /* dim[0] 0 */
    { 9, { 4, 4, 4 }, NS_DATA_ERROR_CORRUPT },              /* dim[0] > 7 */
    /* 32767^7 overflows size_t (and 64 bits). */
    { 7, { 32767, 32767, 32767, 32767, 32767, 32767, 32767 }, NS_DATA_ERROR_TOO_LARGE },
    /* 32767^3 x 100 floats: 14 PB, no overflow, but not in a 400-byte file (the memory
     * budget is asked only for a file that can hold what its header claims). */
    { 4, { 32767, 32767, 32767, 100 }, NS_DATA_ERROR_CORRUPT },
    /* 500^3 voxels (500 MB as floats) fit memory, but not a 400-byte file: refused before
     * anything is allocated. */
    { 3, { 500, 500, 500 }, NS_DATA_ERROR_CORRUPT },
  };

  for (gsize c = 0; c < G_N_ELEMENTS (cases); c++)
    for (int gz = 0; gz < 2; gz++)
      {
        g_autofree char *name = g_strdup_printf ("dims%" G_GSIZE_FORMAT "%s", c,
                                                 gz ? ".nii.gz" : ".nii");
        g_autofree char *path = tmp_path (name);
        struct nifti_1_header h = ns_test_raw_header (3, cases[c].dims, DT_UINT8, 8);
        h.dim[0] = (short) cases[c].ndim;
        for (int d = 1; d <= 7 && d <= cases[c].ndim; d++)
          h.dim[d] = (short) cases[c].dims[d - 1];
        ns_test_write_raw (path, &h, data, sizeof data, gz);
        g_test_message ("case %" G_GSIZE_FORMAT, c);
        expect_failure (path, cases[c].code);
      }
}

static void
test_bad_datatype (void)
{
  int dims[3] = { 2, 2, 2 };
  guint8 data[128] = { 0 };
  static const struct { int dt; int bitpix; } types[] = {
    { DT_COMPLEX64, 64 }, { DT_RGB24, 24 }, { DT_RGBA32, 32 }, { DT_INT64, 64 },
    { DT_FLOAT128, 128 }, { DT_BINARY, 1 }, { 0, 0 }, { 12345, 8 },
  };
  for (gsize t = 0; t < G_N_ELEMENTS (types); t++)
    {
      GError *error = NULL;
      g_autofree char *name = g_strdup_printf ("dt-bad%" G_GSIZE_FORMAT ".nii.gz", t);
      g_autofree char *path = tmp_path (name);
      struct nifti_1_header h = ns_test_raw_header (3, dims, types[t].dt, types[t].bitpix);
      ns_test_write_raw (path, &h, data, sizeof data, TRUE);
      expect_failure (path, NS_DATA_ERROR_UNSUPPORTED);
      g_assert_null (ns_nifti_read (path, &error));
      g_assert_nonnull (strstr (error->message, "unsupported datatype"));
      if (types[t].dt == DT_COMPLEX64)
        g_assert_nonnull (strstr (error->message, "COMPLEX64"));
      if (types[t].dt == DT_RGB24)
        g_assert_nonnull (strstr (error->message, "RGB24"));
      g_clear_error (&error);
    }
}

static void
test_bad_pairs (void)
{
  /* A .hdr/.img pair's header alone: refused, not half read. */
  int dims[3] = { 2, 2, 2 };
  struct nifti_1_header h = ns_test_raw_header (3, dims, DT_UINT8, 8);
  memcpy (h.magic, "ni1", 4);
  h.vox_offset = 0;
  g_autofree char *path = tmp_path ("pair.nii");
  ns_test_write_raw (path, &h, NULL, 0, FALSE);
  expect_failure (path, NS_DATA_ERROR_UNSUPPORTED);
}

/* ---- memory, concatenated gzip, extensions --------------------------------------------- */

static void
test_memory_and_members (void)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *flair = g_build_filename (ns_test_sample_case (),
                                             "Brats18_CBICA_ABM_1_flair.nii.gz", NULL);
  g_autofree char *bytes = NULL;
  gsize len;
  g_assert_true (g_file_get_contents (flair, &bytes, &len, NULL));
  g_autoptr (GPtrArray) a = ns_nifti_read_memory (bytes, len, "flair", &error);
  g_assert_no_error (error);
  g_autoptr (NsVolume) b = ns_nifti_read (flair, &error);
  g_assert_no_error (error);
  const NsVolume *va = g_ptr_array_index (a, 0);
  g_assert_true (ns_grid_equal (&va->grid, &b->grid));
  ns_test_assert_same_voxels (va, b);

  /* The same file split into two gzip members (as `cat a.gz b.gz` makes), with a header
   * extension in front of the data (vox_offset 368). */
  int dims[3] = { 5, 4, 3 };
  struct nifti_1_header h = ns_test_raw_header (3, dims, DT_INT16, 16);
  h.vox_offset = 368;
  guint8 raw[352 + 16 + 120];
  memset (raw, 0, sizeof raw);
  memcpy (raw, &h, sizeof h);
  raw[348] = 1; /* extension flag: one extension of 16 bytes, ecode 0 */
  gint32 esize = 16;
  memcpy (raw + 352, &esize, 4);
  for (int i = 0; i < 60; i++)
    {
      gint16 v = (gint16) (i * 11 - 100);
      memcpy (raw + 368 + 2 * i, &v, 2);
    }
  g_autofree char *path = tmp_path ("members.nii.gz");
  FILE *out = fopen (path, "wb");
  g_assert_nonnull (out);
  fclose (out);
  gsize split[2] = { 200, sizeof raw - 200 };
  gsize at = 0;
  for (int m = 0; m < 2; m++)
    {
      gzFile f = gzopen (path, "ab");
      gzwrite (f, raw + at, (unsigned) split[m]);
      gzclose (f);
      at += split[m];
    }
  g_autoptr (NsVolume) v = ns_nifti_read (path, &error);
  g_assert_no_error (error);
  for (int i = 0; i < 60; i++)
    g_assert_cmpfloat (ns_volume_get_value (v, i), ==, (float) (i * 11 - 100));
  g_autofree char *mbytes = NULL;
  g_assert_true (g_file_get_contents (path, &mbytes, &len, NULL));
  g_autoptr (GPtrArray) mv = ns_nifti_read_memory (mbytes, len, path, &error);
  g_assert_no_error (error);
  ns_test_assert_same_voxels (g_ptr_array_index (mv, 0), v);
}

/* ---- the sample case and mricron's templates ---------------------------------------------- */

static double
sum_voxels (const NsVolume *vol)
{
  double s = 0.0;
  gsize n = ns_volume_n_voxels (vol);
  for (gsize i = 0; i < n; i++)
    s += ns_volume_get_value (vol, i);
  return s;
}

static void
test_sample_flair (void)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *flair = g_build_filename (ns_test_sample_case (),
                                             "Brats18_CBICA_ABM_1_flair.nii.gz", NULL);
  g_autoptr (NsVolume) vol = ns_nifti_read (flair, &error);
  g_assert_no_error (error);
  g_assert_cmpint (vol->datatype, ==, DT_INT16);
  g_assert_cmpint (vol->grid.dim[0], ==, 240);
  g_assert_cmpint (vol->grid.dim[1], ==, 240);
  g_assert_cmpint (vol->grid.dim[2], ==, 155);
  char orient[4];
  ns_grid_orientation_code (&vol->grid, orient);
  g_assert_cmpstr (orient, ==, "LPS");
  /* nibabel: get_fdata().sum() = 227452457, [120, 120, 77] = 171, affine row 2 = 0 -1 0 239 */
  g_assert_cmpfloat (sum_voxels (vol), ==, 227452457.0);
  g_assert_cmpfloat (ns_volume_get_value (vol, ns_grid_index (&vol->grid, 120, 120, 77)), ==,
                     171.0f);
  g_assert_cmpfloat (vol->grid.vox2ras[1][3], ==, 239.0);
  g_assert_cmpfloat (vol->grid.vox2ras[0][0], ==, -1.0);
}

typedef struct
{
  const char *file;
  int dim[3];
  double spacing[3];
  int datatype;
  int qform_code;
  int sform_code;
  const char *orient;
  double sum;                 /* nibabel get_fdata().sum() */
  int at[3];
  double value_at;
  double affine[12];          /* nibabel's affine, first three rows */
} TemplateTruth;

/* Recorded with /usr/bin/python3 and nibabel from Debian 12's mricron-data. */
static const TemplateTruth templates[] = {
  { "ch2.nii.gz", { 181, 217, 181 }, { 1, 1, 1 }, DT_UINT8, 0, 4, "RAS", 317151210,
    { 60, 108, 90 }, 110, { 1, 0, 0, -90, 0, 1, 0, -125, 0, 0, 1, -71 } },
  { "aal.nii.gz", { 181, 217, 181 }, { 1, 1, 1 }, DT_UINT8, 0, 4, "RAS", 76656511,
    { 60, 108, 90 }, 0, { 1, 0, 0, -90, 0, 1, 0, -125, 0, 0, 1, -71 } },
  { "JHU-WhiteMatter-labels-2mm.nii.gz", { 91, 109, 91 }, { 2, 2, 2 }, DT_UINT8, 4, 4, "RAS",
    420763, { 30, 54, 45 }, 33, { 2, 0, 0, -90, 0, 2, 0, -126, 0, 0, 2, -72 } },
  { "JHU-WhiteMatter-labels-1mm.nii.gz", { 182, 218, 182 }, { 1, 1, 1 }, DT_UINT8, 2, 2, "RAS",
    3384687, { 60, 109, 91 }, 25, { 1, 0, 0, -91, 0, 1, 0, -126, 0, 0, 1, -72 } },
  { "inia19-NeuroMaps.nii.gz", { 168, 206, 128 }, { 0.5, 0.5, 0.5 }, DT_INT16, 1, 1, "RAS",
    502525881, { 56, 103, 64 }, 98, { 0.5, 0, 0, -42, 0, 0.5, 0, -57.5, 0, 0, 0.5, -30 } },
  { "inia19-t1-brain.nii.gz", { 168, 206, 128 }, { 0.5, 0.5, 0.5 }, DT_FLOAT32, 0, 1, "RAS",
    75356682.643190384, { 56, 103, 64 }, 95.3860474,
    { 0.5, 0, 0, -42, 0, 0.5, 0, -57.5, 0, 0, 0.5, -30 } },
  { "natbrainlab.nii.gz", { 157, 189, 136 }, { 1, 1, 1 }, DT_UINT8, 2, 2, "LAS", 23517800,
    { 52, 94, 68 }, 108, { -1, 0, 0, 78, 0, 1, 0, -112, 0, 0, 1, -50 } },
};

static void
test_mricron_templates (void)
{
  const char *dir = "/usr/share/mricron/templates";
  for (gsize t = 0; t < G_N_ELEMENTS (templates); t++)
    {
      const TemplateTruth *w = &templates[t];
      g_autoptr (GError) error = NULL;
      g_autofree char *path = g_build_filename (dir, w->file, NULL);
      g_autoptr (NsVolume) vol = ns_nifti_read (path, &error);
      g_assert_no_error (error);
      g_test_message ("%s", w->file);
      for (int d = 0; d < 3; d++)
        {
          g_assert_cmpint (vol->grid.dim[d], ==, w->dim[d]);
          g_assert_cmpfloat (vol->grid.spacing[d], ==, w->spacing[d]);
        }
      g_assert_cmpint (vol->datatype, ==, w->datatype);
      g_assert_cmpint (vol->grid.qform_code, ==, w->qform_code);
      g_assert_cmpint (vol->grid.sform_code, ==, w->sform_code);
      char orient[4];
      ns_grid_orientation_code (&vol->grid, orient);
      g_assert_cmpstr (orient, ==, w->orient);
      for (int r = 0; r < 3; r++)
        for (int c = 0; c < 4; c++)
          g_assert_cmpfloat_with_epsilon (vol->grid.vox2ras[r][c], w->affine[r * 4 + c], 1e-5);
      g_assert_cmpfloat_with_epsilon (sum_voxels (vol), w->sum, 1e-9 * fabs (w->sum) + 1e-3);
      g_assert_cmpfloat_with_epsilon (
        ns_volume_get_value (vol, ns_grid_index (&vol->grid, w->at[0], w->at[1], w->at[2])),
        w->value_at, 1e-6);
    }

  /* qforms as nibabel's header.get_qform() gives them, negative qfac included. */
  static const struct { const char *file; double q[12]; double qfac; } qforms[] = {
    { "JHU-WhiteMatter-labels-1mm.nii.gz", { 1, 0, 0, -91, 0, 1, 0, -126, 0, 0, -1, -72 }, -1 },
    { "natbrainlab.nii.gz", { -1, 0, 0, 78, 0, 1, 0, 0, 0, 0, 1, 0 }, -1 },
    { "inia19-NeuroMaps.nii.gz", { 0.5, 0, 0, 0, 0, 0.5, 0, 0, 0, 0, 0.5, 0 }, 1 },
  };
  for (gsize t = 0; t < G_N_ELEMENTS (qforms); t++)
    {
      g_autoptr (GError) error = NULL;
      g_autofree char *path = g_build_filename (dir, qforms[t].file, NULL);
      NsNiftiHeader hdr;
      g_assert_true (ns_nifti_read_header (path, &hdr, &error));
      g_assert_no_error (error);
      g_assert_cmpfloat (hdr.grid.qfac, ==, qforms[t].qfac);
      for (int r = 0; r < 3; r++)
        for (int c = 0; c < 4; c++)
          g_assert_cmpfloat_with_epsilon (hdr.grid.qform[r][c], qforms[t].q[r * 4 + c], 1e-5);
    }
}

/* ---- writing ------------------------------------------------------------------------------ */

static NsLabelMap *
labels_on (const NsGrid *grid)
{
  NsLabelMap *map = ns_label_map_new (grid, NULL);
  gsize n = ns_grid_n_voxels (grid);
  for (gsize i = 0; i < n; i++)
    map->labels[i] = (guint8) ((i * 31) % 7 == 0 ? (i % 3 == 0 ? 4 : 2) : 0);
  return map;
}

static void
assert_same_geometry (const NsGrid *a, const NsGrid *b)
{
  g_assert_true (ns_grid_equal (a, b));
  g_assert_cmpint (a->sform_code, ==, b->sform_code);
  g_assert_cmpint (a->qform_code, ==, b->qform_code);
  g_assert_cmpfloat (a->qfac, ==, b->qfac);
  for (int r = 0; r < 4; r++)
    for (int c = 0; c < 4; c++)
      {
        g_assert_cmpfloat (a->sform[r][c], ==, b->sform[r][c]);
        g_assert_cmpfloat_with_epsilon (a->qform[r][c], b->qform[r][c], 1e-6);
        g_assert_cmpfloat (a->vox2ras[r][c], ==, b->vox2ras[r][c]);
      }
  for (int d = 0; d < 3; d++)
    {
      g_assert_cmpfloat (a->quatern[d], ==, b->quatern[d]);
      g_assert_cmpfloat (a->qoffset[d], ==, b->qoffset[d]);
      g_assert_cmpfloat (a->spacing[d], ==, b->spacing[d]);
    }
  g_assert_cmpint (a->xyz_units, ==, b->xyz_units);
}

static void
roundtrip_labels (const char *image, const char *out_name)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (NsVolume) vol = ns_nifti_read (image, &error);
  g_assert_no_error (error);
  g_autoptr (NsLabelMap) map = labels_on (&vol->grid);
  g_autofree char *out = tmp_path (out_name);

  /* Twice: the second replaces the first. */
  for (int pass = 0; pass < 2; pass++)
    {
      g_assert_true (ns_nifti_write_label_map (map, out, &error));
      g_assert_no_error (error);
    }
  g_autoptr (NsVolume) back = ns_nifti_read (out, &error);
  g_assert_no_error (error);
  g_assert_cmpint (back->datatype, ==, DT_UINT8);
  g_assert_cmpint (back->intent_code, ==, NIFTI_INTENT_LABEL);
  assert_same_geometry (&vol->grid, &back->grid);
  gsize n = ns_volume_n_voxels (back);
  for (gsize i = 0; i < n; i++)
    if (ns_volume_get_value (back, i) != map->labels[i])
      g_error ("voxel %" G_GSIZE_FORMAT ": wrote %u, read %g", i, map->labels[i],
               (double) ns_volume_get_value (back, i));
}

static void
test_write_label_map (void)
{
  g_autofree char *flair = g_build_filename (ns_test_sample_case (),
                                             "Brats18_CBICA_ABM_1_flair.nii.gz", NULL);
  roundtrip_labels (flair, "sample-mask.nii.gz");
  /* qform only, qfac -1 (and LAS): mricron's natbrainlab; sform + qform 4: JHU 2 mm. */
  roundtrip_labels ("/usr/share/mricron/templates/natbrainlab.nii.gz", "natbrainlab-mask.nii");
  roundtrip_labels ("/usr/share/mricron/templates/JHU-WhiteMatter-labels-2mm.nii.gz",
                    "jhu-mask.nii.gz");
  g_autofree char *qfac = tmp_path ("qfac.nii.gz");
  if (!g_file_test (qfac, G_FILE_TEST_EXISTS))
    test_roundtrip_negative_qfac ();
  roundtrip_labels (qfac, "qfac-mask.nii.gz");

  /* No temporary file is left behind. */
  g_autoptr (GDir) d = g_dir_open (ns_test_tmpdir (), 0, NULL);
  const char *name;
  while ((name = g_dir_read_name (d)) != NULL)
    g_assert_false (name[0] == '.');
}

static void
test_write_float_volume (void)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *src = g_build_filename ("/usr/share/mricron/templates",
                                           "inia19-t1-brain.nii.gz", NULL);
  g_autoptr (NsVolume) vol = ns_nifti_read (src, &error);
  g_assert_no_error (error);
  g_autofree char *out = tmp_path ("inia-copy.nii.gz");
  g_assert_true (ns_nifti_write_volume (vol, out, &error));
  g_autoptr (NsVolume) back = ns_nifti_read (out, &error);
  g_assert_no_error (error);
  assert_same_geometry (&vol->grid, &back->grid);
  ns_test_assert_same_voxels (vol, back);
}

static void
test_write_errors (void)
{
  GError *error = NULL;
  NsGrid grid;
  ns_grid_init (&grid, 3, 3, 3, 1, 1, 1);
  g_autoptr (NsLabelMap) map = ns_label_map_new (&grid, NULL);

  g_assert_false (ns_nifti_write_label_map (map, "/nonexistent-dir/mask.nii.gz", &error));
  g_assert_error (error, NS_DATA_ERROR, NS_DATA_ERROR_IO);
  assert_error_names (error, "/nonexistent-dir/mask.nii.gz");
  g_clear_error (&error);

  g_autofree char *bad = tmp_path ("mask.png");
  g_assert_false (ns_nifti_write_label_map (map, bad, &error));
  g_assert_error (error, NS_DATA_ERROR, NS_DATA_ERROR_INVALID);
  assert_error_names (error, bad);
  g_clear_error (&error);
  g_assert_false (g_file_test (bad, G_FILE_TEST_EXISTS));
}

/* nibabel, the reference reader, sees the image's affine in a mask we wrote. */
static void
test_write_nibabel (void)
{
  const char *python = "/usr/bin/python3";
  if (!g_file_test (python, G_FILE_TEST_IS_EXECUTABLE))
    {
      g_test_skip ("no /usr/bin/python3");
      return;
    }
  int status = 0;
  const char *probe[] = { python, "-c", "import nibabel", NULL };
  if (!g_spawn_sync (NULL, (char **) probe, NULL, G_SPAWN_STDOUT_TO_DEV_NULL
                     | G_SPAWN_STDERR_TO_DEV_NULL, NULL, NULL, NULL, NULL, &status, NULL)
      || !g_spawn_check_wait_status (status, NULL))
    {
      g_test_skip ("nibabel is not installed for /usr/bin/python3");
      return;
    }

  static const char *images[] = {
    "resources/samples/Brats18_CBICA_ABM_1/Brats18_CBICA_ABM_1_flair.nii.gz",
    "/usr/share/mricron/templates/natbrainlab.nii.gz",
    "/usr/share/mricron/templates/JHU-WhiteMatter-labels-1mm.nii.gz",
    "/usr/share/mricron/templates/aal.nii.gz",
  };
  for (gsize t = 0; t < G_N_ELEMENTS (images); t++)
    {
      g_autoptr (GError) error = NULL;
      g_autoptr (NsVolume) vol = ns_nifti_read (images[t], &error);
      g_assert_no_error (error);
      g_autoptr (NsLabelMap) map = labels_on (&vol->grid);
      g_autofree char *name = g_strdup_printf ("nib%" G_GSIZE_FORMAT ".nii.gz", t);
      g_autofree char *out = tmp_path (name);
      g_assert_true (ns_nifti_write_label_map (map, out, &error));

      const char *script =
        "import sys, nibabel as nib, numpy as np\n"
        "a = nib.load(sys.argv[1]); b = nib.load(sys.argv[2])\n"
        "ok = np.allclose(a.affine, b.affine, atol=1e-5) and a.shape == b.shape\n"
        "ok = ok and np.allclose(a.header.get_qform(), b.header.get_qform(), atol=1e-5)\n"
        "ok = ok and np.allclose(a.header.get_sform(), b.header.get_sform(), atol=1e-5)\n"
        "ok = ok and int(a.header['sform_code']) == int(b.header['sform_code'])\n"
        "ok = ok and int(a.header['qform_code']) == int(b.header['qform_code'])\n"
        "d = np.asarray(b.dataobj)\n"
        "print(int(ok), b.header.get_data_dtype(), int(d.sum()), int((d > 0).sum()))\n";
      const char *argv[] = { python, "-c", script, images[t], out, NULL };
      g_autofree char *out_text = NULL;
      g_autofree char *err_text = NULL;
      g_assert_true (g_spawn_sync (NULL, (char **) argv, NULL, G_SPAWN_DEFAULT, NULL, NULL,
                                   &out_text, &err_text, &status, &error));
      g_assert_no_error (error);
      g_test_message ("nibabel on %s: %s%s", images[t], out_text, err_text);
      g_assert_true (g_spawn_check_wait_status (status, NULL));

      guint64 sum = 0, nonzero = 0;
      gsize n = ns_grid_n_voxels (&map->grid);
      for (gsize i = 0; i < n; i++)
        {
          sum += map->labels[i];
          nonzero += map->labels[i] > 0;
        }
      g_autofree char *want = g_strdup_printf ("1 uint8 %" G_GUINT64_FORMAT " %" G_GUINT64_FORMAT
                                               "\n", sum, nonzero);
      g_assert_cmpstr (out_text, ==, want);
    }
}

/* ---- fuzzer regressions ------------------------------------------------------------------- */

/* Inputs the fuzzer generated (tests/data/fuzz-*): the smallest input for each distinct
 * refusal it reached (fuzz-NN-<reason>, which must fail with an error naming the input)
 * and a few odd inputs it made that load (fuzz-ok-*).  No run so far (several minutes,
 * millions of inputs, under ASan and UBSan) found a crash or a leak; an input that does
 * goes here. */
static void
test_fuzz_regressions (void)
{
  g_autofree char *dir = ns_test_src_path ("tests", "data", NULL);
  g_autoptr (GDir) d = g_dir_open (dir, 0, NULL);
  g_assert_nonnull (d);
  const char *name;
  guint n = 0;
  while ((name = g_dir_read_name (d)) != NULL)
    {
      if (!g_str_has_prefix (name, "fuzz-"))
        continue;
      g_autofree char *path = g_build_filename (dir, name, NULL);
      g_autofree char *bytes = NULL;
      gsize len;
      g_autoptr (GError) error = NULL;
      g_assert_true (g_file_get_contents (path, &bytes, &len, NULL));
      g_autoptr (GPtrArray) vols = ns_nifti_read_memory (bytes, len, name, &error);
      g_assert_true ((vols != NULL) != (error != NULL));
      if (g_str_has_prefix (name, "fuzz-ok-"))
        g_assert_no_error (error);
      else
        {
          g_assert_nonnull (error);
          g_assert_true (error->domain == NS_DATA_ERROR);
          assert_error_names (error, name);
        }
      g_test_message ("%s: %s", name, error != NULL ? error->message : "read");
      n++;
    }
  g_test_message ("%u regression inputs", n);
  g_assert_cmpuint (n, >, 0);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  nifti_set_debug_level (0);

  g_test_add_func ("/data/nifti/roundtrip/datatypes", test_roundtrip_datatypes);
  g_test_add_func ("/data/nifti/roundtrip/negative-qfac", test_roundtrip_negative_qfac);
  g_test_add_func ("/data/nifti/roundtrip/sform-priority", test_sform_priority);
  g_test_add_func ("/data/nifti/roundtrip/scaled-ints", test_scaled_ints);
  g_test_add_func ("/data/nifti/roundtrip/4d-split", test_4d_split);
  g_test_add_func ("/data/nifti/roundtrip/big-endian", test_big_endian);
  g_test_add_func ("/data/nifti/nonfinite", test_nonfinite);
  g_test_add_func ("/data/nifti/bad/missing", test_bad_missing);
  g_test_add_func ("/data/nifti/bad/not-nifti", test_bad_not_nifti);
  g_test_add_func ("/data/nifti/bad/truncated", test_bad_truncated);
  g_test_add_func ("/data/nifti/bad/dims", test_bad_dims);
  g_test_add_func ("/data/nifti/bad/datatype", test_bad_datatype);
  g_test_add_func ("/data/nifti/bad/hdr-img-pair", test_bad_pairs);
  g_test_add_func ("/data/nifti/memory-and-gzip-members", test_memory_and_members);
  g_test_add_func ("/data/nifti/sample-flair", test_sample_flair);
  g_test_add_func ("/data/nifti/mricron-templates", test_mricron_templates);
  g_test_add_func ("/data/nifti/write/label-map", test_write_label_map);
  g_test_add_func ("/data/nifti/write/float-volume", test_write_float_volume);
  g_test_add_func ("/data/nifti/write/errors", test_write_errors);
  g_test_add_func ("/data/nifti/write/nibabel", test_write_nibabel);
  g_test_add_func ("/data/nifti/fuzz-regressions", test_fuzz_regressions);
  return g_test_run ();
}
