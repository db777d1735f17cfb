/* SPDX-License-Identifier: MIT
 *
 * ns-test-nifti.h: helpers for the data tests to build NIfTI files in memory, in the style
 * of nifti_clib's own tester: an image made with nifticlib (nifti_make_new_nim), awkward
 * fields set by hand, written with nifticlib; or raw header bytes, for files nifticlib
 * would refuse to write (bad dims, unsupported types, truncated data).  Header-only
 * (static functions) so that every test program can use it without a library.
 */
#pragma once

#include <glib.h>
#include <glib/gstdio.h>
#include <nifti1_io.h>
#include <string.h>
#include <zlib.h>

/* A 3-D (nt == 1) or 4-D image of datatype with values value(i) = f(i) for the flat
 * index i, spacing sx, sy, sz, no transform (codes 0).  The caller sets the rest. */
static inline nifti_image *
ns_test_make_nim (int nx, int ny, int nz, int nt, int datatype, double sx, double sy,
                  double sz)
{
  int dims[8] = { nt > 1 ? 4 : 3, nx, ny, nz, nt, 1, 1, 1 };
  nifti_image *nim = nifti_make_new_nim (dims, datatype, 1);
  g_assert_nonnull (nim);
  nim->dx = nim->pixdim[1] = (float) sx;
  nim->dy = nim->pixdim[2] = (float) sy;
  nim->dz = nim->pixdim[3] = (float) sz;
  nim->qform_code = 0;
  nim->sform_code = 0;
  nim->xyz_units = NIFTI_UNITS_MM;
  return nim;
}

/* Fill voxel i with (double) pattern (i), converted to the datatype. */
static inline void
ns_test_fill_nim (nifti_image *nim, double (*pattern) (gsize i))
{
  for (gsize i = 0; i < nim->nvox; i++)
    {
      double v = pattern (i);
      switch (nim->datatype)
        {
        case DT_UINT8: ((guint8 *) nim->data)[i] = (guint8) v; break;
        case DT_INT8: ((gint8 *) nim->data)[i] = (gint8) v; break;
        case DT_INT16: ((gint16 *) nim->data)[i] = (gint16) v; break;
        case DT_UINT16: ((guint16 *) nim->data)[i] = (guint16) v; break;
        case DT_INT32: ((gint32 *) nim->data)[i] = (gint32) v; break;
        case DT_UINT32: ((guint32 *) nim->data)[i] = (guint32) v; break;
        case DT_FLOAT32: ((float *) nim->data)[i] = (float) v; break;
        case DT_FLOAT64: ((double *) nim->data)[i] = v; break;
        default: g_assert_not_reached ();
        }
    }
}

/* Writes nim to path (.nii or .nii.gz) with nifticlib; the file must then exist. */
static inline void
ns_test_write_nim (nifti_image *nim, const char *path)
{
  nifti_set_debug_level (0);
  g_assert_cmpint (nifti_set_filenames (nim, path, 0, 1), ==, 0);
  nim->nifti_type = NIFTI_FTYPE_NIFTI1_1;
  nifti_image_write (nim);
  g_assert_true (g_file_test (path, G_FILE_TEST_IS_REGULAR));
}

/* A valid header for a single-file NIfTI-1 of the given dims and datatype (no transform,
 * 1 mm voxels, vox_offset 352). */
static inline struct nifti_1_header
ns_test_raw_header (int ndim, const int *dims, int datatype, int bitpix)
{
  struct nifti_1_header h;
  memset (&h, 0, sizeof h);
  h.sizeof_hdr = 348;
  h.dim[0] = (short) ndim;
  for (int d = 1; d <= 7; d++)
    h.dim[d] = d <= ndim ? (short) dims[d - 1] : 1;
  h.datatype = (short) datatype;
  h.bitpix = (short) bitpix;
  for (int d = 0; d < 8; d++)
    h.pixdim[d] = 1.0f;
  h.vox_offset = 352.0f;
  h.xyzt_units = NIFTI_UNITS_MM;
  memcpy (h.magic, "n+1", 4);
  return h;
}

/* Writes header, the 4-byte extension flag and n data bytes, plain or gzip. */
static inline void
ns_test_write_raw (const char *path, const struct nifti_1_header *h, const void *data,
                   gsize n, gboolean gz)
{
  g_autoptr (GByteArray) bytes = g_byte_array_new ();
  static const guint8 ext[4] = { 0, 0, 0, 0 };
  g_byte_array_append (bytes, (const guint8 *) h, sizeof *h);
  g_byte_array_append (bytes, ext, 4);
  if (n > 0)
    g_byte_array_append (bytes, data, (guint) n);
  if (!gz)
    {
      g_assert_true (g_file_set_contents (path, (const char *) bytes->data, bytes->len, NULL));
      return;
    }
  gzFile f = gzopen (path, "wb");
  g_assert_nonnull (f);
  g_assert_cmpint (gzwrite (f, bytes->data, bytes->len), ==, (int) bytes->len);
  g_assert_cmpint (gzclose (f), ==, Z_OK);
}
