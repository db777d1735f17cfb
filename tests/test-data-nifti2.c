/* SPDX-License-Identifier: MIT
 *
 * test-data-nifti2.c: NIfTI-2 files read by ns-nifti.c (issue 18), with nibabel as the
 * oracle: nibabel's own example_nifti2.nii.gz (Debian python3-nibabel), and files nibabel
 * writes here (scaled int16 with a negative qfac and no sform, big-endian float64, a
 * dimension beyond NIfTI-1's 32767, 4-D uint8, compressed and not).  For each, every
 * voxel (scaling applied) and the affine nibabel uses must be ours (test-cli-info.c:
 * `neuroseg info` says NIfTI-2).  Then the failures
 * particular to NIfTI-2: a changed signature, a truncated header, a 64-bit dimension.
 */
#define G_LOG_DOMAIN "ns-test"

#include "ns-data-error.h"
#include "ns-nifti.h"
#include "ns-test-dicom.h"
#include "ns-test-util.h"

#include <math.h>
#include <nifti1.h>
#include <nifti2.h>
#include <string.h>

#define EXAMPLE "/usr/lib/python3/dist-packages/nibabel/tests/data/example_nifti2.nii.gz"

static const char oracle[] =
  "import sys\n"
  "import nibabel as nib, numpy as np\n"
  "cmd = sys.argv[1]\n"
  "if cmd == 'dump':\n"
  "    img = nib.load(sys.argv[2])\n"
  "    assert isinstance(img, nib.Nifti2Image), type(img)\n"
  "    data = img.get_fdata(dtype=np.float64)\n"
  "    shape = list(data.shape) + [1] * (4 - data.ndim)\n"
  "    with open(sys.argv[3], 'w') as f:\n"
  "        f.write(' '.join(str(v) for v in shape) + '\\n')\n"
  "        f.write(' '.join(repr(float(v)) for v in img.affine[:3].ravel()) + '\\n')\n"
  "    np.asfortranarray(data).ravel(order='F').astype('<f8').tofile(sys.argv[4])\n"
  "elif cmd == 'make':\n"
  "    out = sys.argv[2]\n"
  "    rng = np.random.default_rng(5)\n"
  "    aff = np.array([[-0.9, 0.1, 0, 60.5], [0.05, 1.1, 0.2, -70.25], [0, -0.1, 2.5, 10], "
  "[0, 0, 0, 1]])\n"
  "    # scaled int16, the qform only (with qfac -1: a left-handed grid)\n"
  "    d = rng.integers(-300, 3000, (21, 17, 9)).astype(np.int16)\n"
  "    img = nib.Nifti2Image(d, None)\n"
  "    q = np.diag([-1.2, 0.8, 3.0, 1.0]); q[:3, 3] = [12.5, -3.0, 7.25]\n"
  "    img.set_qform(q, code=1); img.set_sform(None, code=0)\n"
  "    img.header.set_slope_inter(0.5, -3.0)\n"
  "    nib.save(img, out + '/scaled-int16.nii')\n"
  "    # big-endian float64, sform\n"
  "    d = rng.normal(0, 100, (13, 11, 7))\n"
  "    hdr = nib.Nifti2Header(endianness='>')\n"
  "    hdr.set_data_dtype('>f8')\n"
  "    img = nib.Nifti2Image(d, aff, header=hdr)\n"
  "    img.set_sform(aff, code=2)\n"
  "    nib.save(img, out + '/big-endian-f64.nii.gz')\n"
  "    # a first dimension NIfTI-1 cannot hold\n"
  "    d = (np.arange(40000 * 2) % 251).astype(np.uint8).reshape(40000, 2, 1)\n"
  "    nib.save(nib.Nifti2Image(d, np.eye(4)), out + '/wide-uint8.nii')\n"
  "    # 4-D float32\n"
  "    d = rng.normal(0, 1, (6, 5, 4, 3)).astype(np.float32)\n"
  "    nib.save(nib.Nifti2Image(d, aff), out + '/four-d.nii.gz')\n";

static char *
script_path (void)
{
  static char *path;
  if (path == NULL)
    {
      path = g_build_filename (ns_test_tmpdir (), "oracle.py", NULL);
      g_assert_true (g_file_set_contents (path, oracle, -1, NULL));
    }
  return path;
}

/* Every volume of path against nibabel's reading of it. */
static void
check_against_nibabel (const char *path)
{
  g_autofree char *meta = g_build_filename (ns_test_tmpdir (), "meta.txt", NULL);
  g_autofree char *values = g_build_filename (ns_test_tmpdir (), "values.f64", NULL);
  const char *argv[] = { NS_TEST_PYTHON, script_path (), "dump", path, meta, values, NULL };
  g_free (ns_test_spawn_ok (argv));

  g_autofree char *text = NULL;
  g_autofree char *bytes = NULL;
  gsize len;
  g_assert_true (g_file_get_contents (meta, &text, NULL, NULL));
  g_assert_true (g_file_get_contents (values, &bytes, &len, NULL));
  g_auto (GStrv) lines = g_strsplit (text, "\n", -1);
  g_auto (GStrv) shape = g_strsplit (lines[0], " ", -1);
  g_auto (GStrv) affine = g_strsplit (lines[1], " ", -1);
  g_assert_cmpuint (g_strv_length (shape), ==, 4);
  g_assert_cmpuint (g_strv_length (affine), ==, 12);

  g_autoptr (GError) error = NULL;
  NsNiftiHeader hdr;
  g_assert_true (ns_nifti_read_header (path, &hdr, &error));
  g_assert_no_error (error);
  g_assert_cmpint (hdr.version, ==, 2);
  g_autoptr (GPtrArray) vols = ns_nifti_read_all (path, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (vols->len, ==, g_ascii_strtoull (shape[3], NULL, 10));

  const double *want = (const double *) (void *) bytes;
  gsize offset = 0;
  for (guint v = 0; v < vols->len; v++)
    {
      const NsVolume *vol = vols->pdata[v];
      for (int d = 0; d < 3; d++)
        g_assert_cmpint (vol->grid.dim[d], ==, (int) g_ascii_strtoll (shape[d], NULL, 10));
      double worst = 0.0;
      for (int r = 0; r < 3; r++)
        for (int c = 0; c < 4; c++)
          worst = MAX (worst, fabs (vol->grid.vox2ras[r][c]
                                    - g_ascii_strtod (affine[r * 4 + c], NULL)));
      /* A qform is rebuilt in float (nifticlib's maths); an sform is copied. */
      double tol = vol->grid.sform_code > 0 ? 1e-9 : 1e-5;
      g_test_message ("%s volume %u: %s, affine difference %.3g (tol %.0g)", path, v,
                      ns_grid_xform_name (ns_grid_get_xform (&vol->grid)), worst, tol);
      g_assert_cmpfloat (worst, <=, tol);

      gsize n = ns_volume_n_voxels (vol);
      g_assert_cmpuint ((offset + n) * sizeof (double), <=, len);
      g_autofree float *got = ns_test_dup_floats (vol);
      g_autofree char *label = g_strdup_printf ("%s[%u]", path, v);
      /* float32 against float64: the rounding of one float. */
      g_assert_true (ns_check_tensor (label, got, want + offset, n, 1e-7));
      offset += n;
    }
  g_assert_cmpuint (offset * sizeof (double), ==, len);
}

static void
test_example (void)
{
  g_assert_true (g_file_test (EXAMPLE, G_FILE_TEST_IS_REGULAR));
  check_against_nibabel (EXAMPLE);
}

static void
test_written_by_nibabel (void)
{
  const char *dir = ns_test_tmpdir ();
  const char *argv[] = { NS_TEST_PYTHON, script_path (), "make", dir, NULL };
  g_free (ns_test_spawn_ok (argv));
  static const char *const names[] = {
    "scaled-int16.nii", "big-endian-f64.nii.gz", "wide-uint8.nii", "four-d.nii.gz",
  };
  for (guint i = 0; i < G_N_ELEMENTS (names); i++)
    {
      g_autofree char *path = g_build_filename (dir, names[i], NULL);
      check_against_nibabel (path);
    }

  g_autoptr (GError) error = NULL;
  g_autofree char *scaled = g_build_filename (dir, "scaled-int16.nii", NULL);
  g_autoptr (NsVolume) vol = ns_nifti_read (scaled, &error);
  g_assert_no_error (error);
  g_assert_cmpint (vol->datatype, ==, DT_INT16);
  g_assert_cmpfloat (vol->scl_slope, ==, 0.5);
  g_assert_cmpfloat (vol->scl_inter, ==, -3.0);
  g_assert_cmpfloat (vol->grid.qfac, ==, -1.0);
  g_autofree char *be = g_build_filename (dir, "big-endian-f64.nii.gz", NULL);
  NsNiftiHeader hdr;
  g_assert_true (ns_nifti_read_header (be, &hdr, &error));
  g_assert_true (hdr.byte_swapped == (G_BYTE_ORDER == G_LITTLE_ENDIAN));
  g_assert_cmpint (hdr.grid.sform_code, ==, 2);
  g_assert_cmpint (hdr.datatype, ==, DT_FLOAT64);
}

/* A valid little NIfTI-2 file in memory: 4 x 3 x 2 uint8. */
static GByteArray *
small_nifti2 (void)
{
  struct nifti_2_header h;
  memset (&h, 0, sizeof h);
  h.sizeof_hdr = 540;
  memcpy (h.magic, "n+2\0\r\n\032\n", 8);
  h.datatype = DT_UINT8;
  h.bitpix = 8;
  h.dim[0] = 3;
  h.dim[1] = 4;
  h.dim[2] = 3;
  h.dim[3] = 2;
  for (int d = 4; d < 8; d++)
    h.dim[d] = 1;
  for (int d = 0; d < 8; d++)
    h.pixdim[d] = 1.0;
  h.vox_offset = 544;
  GByteArray *b = g_byte_array_new ();
  g_byte_array_append (b, (const guint8 *) &h, sizeof h);
  const guint8 ext[4] = { 0 };
  g_byte_array_append (b, ext, 4);
  for (guint8 v = 0; v < 24; v++)
    g_byte_array_append (b, &v, 1);
  return b;
}

static void
test_bad (void)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GByteArray) good = small_nifti2 ();
  g_autoptr (GPtrArray) vols = ns_nifti_read_memory (good->data, good->len, "good.nii", &error);
  g_assert_no_error (error);
  const NsVolume *vol = vols->pdata[0];
  g_assert_cmpfloat (ns_volume_get_value (vol, 23), ==, 23.0f);

  /* The \r\n of the signature turned into \n (a text-mode copy): corrupt, not misread. */
  g_autoptr (GByteArray) text = small_nifti2 ();
  text->data[8] = '\n';
  g_assert_null (ns_nifti_read_memory (text->data, text->len, "text.nii", &error));
  g_assert_error (error, NS_DATA_ERROR, NS_DATA_ERROR_CORRUPT);
  g_assert_true (g_str_has_prefix (error->message, "text.nii: "));
  g_clear_error (&error);

  /* The file ends inside the 540-byte header. */
  g_assert_null (ns_nifti_read_memory (good->data, 500, "cut.nii", &error));
  g_assert_error (error, NS_DATA_ERROR, NS_DATA_ERROR_CORRUPT);
  g_assert_nonnull (strstr (error->message, "inside the NIfTI-2 header"));
  g_clear_error (&error);

  /* A dimension of 2^33: NIfTI-2 can say it, we cannot hold it. */
  g_autoptr (GByteArray) huge = small_nifti2 ();
  gint64 big = (gint64) 1 << 33;
  memcpy (huge->data + G_STRUCT_OFFSET (struct nifti_2_header, dim) + 8, &big, 8);
  g_assert_null (ns_nifti_read_memory (huge->data, huge->len, "huge.nii", &error));
  g_assert_error (error, NS_DATA_ERROR, NS_DATA_ERROR_TOO_LARGE);
  g_clear_error (&error);

  /* The .hdr/.img pair of NIfTI-2 ("ni2") is refused as NIfTI-1's is. */
  g_autoptr (GByteArray) pair = small_nifti2 ();
  memcpy (pair->data + 4, "ni2", 4);
  g_assert_null (ns_nifti_read_memory (pair->data, pair->len, "pair.hdr", &error));
  g_assert_error (error, NS_DATA_ERROR, NS_DATA_ERROR_UNSUPPORTED);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/data/nifti2/nibabel-example", test_example);
  g_test_add_func ("/data/nifti2/written-by-nibabel", test_written_by_nibabel);
  g_test_add_func ("/data/nifti2/bad", test_bad);
  return g_test_run ();
}
