/* SPDX-License-Identifier: MIT
 *
 * test-data-nifti-limits.c: what the NIfTI reader refuses to spend (issue #13, defects 1,
 * 5 and 14).  A small .nii.gz whose header claims a billion voxels costs what its stream
 * holds (peak RSS of a child process that fills every allocation, measured with wait4),
 * not gigabytes; the memory
 * budget refuses a file that does not fit; a plain file must be exactly as long as its
 * header says; a compressed one may hold nothing after its voxels; ns_nifti_scan ()
 * reads every voxel in constant memory; an unusable sform is skipped, and said so.
 */
#include "ns-test-util.h"
#include "ns-test-nifti.h"
#include "ns-data-error.h"
#include "ns-memory.h"
#include "ns-nifti.h"
#include "ns-nifti-private.h"

#include <fcntl.h>
#include <malloc.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
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

/* A header of nx x ny x nz uint8 voxels followed by n bytes that gzip cannot shrink (a
 * fixed pseudo-random sequence), gzip-compressed: what the stream really holds is n. */
static void
write_claim (const char *path, int nx, int ny, int nz, gsize n)
{
  int dims[3] = { nx, ny, nz };
  struct nifti_1_header h = ns_test_raw_header (3, dims, DT_UINT8, 8);
  g_autofree guint8 *junk = g_malloc (n);
  g_autoptr (GRand) rand = g_rand_new_with_seed (13);
  for (gsize i = 0; i < n; i++)
    junk[i] = (guint8) g_rand_int (rand);
  ns_test_write_raw (path, &h, junk, n, TRUE);
}

/* Sets the gzip trailer's ISIZE (the decoded length mod 2^32) to isize. */
static void
forge_isize (const char *path, guint32 isize)
{
  g_autofree char *bytes = NULL;
  gsize len;
  g_assert_true (g_file_get_contents (path, &bytes, &len, NULL));
  guint32 le = GUINT32_TO_LE (isize);
  memcpy (bytes + len - 4, &le, 4);
  g_assert_true (g_file_set_contents (path, bytes, (gssize) len, NULL));
}

typedef gboolean (*ChildFunc) (const char *path);

/* Resident memory of this process now, in KiB. */
static long
current_rss_kib (void)
{
  g_autofree char *statm = NULL;
  long pages = 0, resident = 0;
  g_assert_true (g_file_get_contents ("/proc/self/statm", &statm, NULL, NULL));
  g_assert_cmpint (sscanf (statm, "%ld %ld", &pages, &resident), ==, 2);
  return resident * (sysconf (_SC_PAGESIZE) / 1024);
}

/* Runs func (path) in a child process whose every allocation is filled: how much its
 * peak resident memory grew over what it started with (the parent's pages, which a fork
 * inherits), in MiB, a bound on what func allocated; *ok is whether func returned TRUE
 * (the child exits 0). */
static long
child_peak_rss_mib (ChildFunc func, const char *path, gboolean *ok)
{
  int fds[2];
  g_assert_cmpint (pipe (fds), ==, 0);
  pid_t pid = fork ();
  g_assert_cmpint (pid, >=, 0);
  if (pid == 0)
    {
      /* glibc fills every allocation with a byte pattern: the peak RSS is then what was
       * allocated, not only what was touched (meson test may set it already).  Under
       * AddressSanitizer, whose allocator ignores this, it measures what was touched. */
      mallopt (M_PERTURB, 0xa5);
      long start = current_rss_kib ();
      if (write (fds[1], &start, sizeof start) != sizeof start)
        _exit (2);
      _exit (func (path) ? 0 : 1);
    }
  close (fds[1]);
  long start = 0;
  g_assert_cmpint (read (fds[0], &start, sizeof start), ==, sizeof start);
  close (fds[0]);
  struct rusage ru;
  int status;
  g_assert_cmpint (wait4 (pid, &status, 0, &ru), ==, pid);
  *ok = WIFEXITED (status) && WEXITSTATUS (status) == 0;
  g_test_message ("child: %ld MiB at start, %ld MiB at its peak", start / 1024,
                  ru.ru_maxrss / 1024);
  return (ru.ru_maxrss - start) / 1024;
}

/* In the child: reading the file fails as corrupt (it ends early), naming it.  The budget
 * is fixed well above the claim so that the decoder, not the budget, is what is tested
 * on any machine. */
static gboolean
read_fails_truncated (const char *path)
{
  g_autoptr (GError) error = NULL;
  ns_memory_set_limit ((guint64) 64 << 30);
  g_autoptr (GPtrArray) volumes = ns_nifti_read_all (path, &error);
  return volumes == NULL && g_error_matches (error, NS_DATA_ERROR, NS_DATA_ERROR_CORRUPT)
         && strstr (error->message, path) != NULL;
}

/* #13 defect 1: 1000^3 voxels claimed (4 GB of float32), 1 MiB in the stream.  Before,
 * the volume was allocated and zero-filled first: 3.9 GB resident and 7 s, then
 * "truncated".  Now the volume grows with the voxels decoded. */
static void
test_huge_claim (void)
{
  g_autofree char *path = tmp_path ("claims-1e9.nii.gz");
  write_claim (path, 1000, 1000, 1000, 1 << 20);

  gboolean ok;
  long rss = child_peak_rss_mib (read_fails_truncated, path, &ok);
  g_test_message ("1e9 voxels claimed, 1 MiB held: peak RSS grew by %ld MiB", rss);
  g_assert_true (ok);
  g_assert_cmpint (rss, <, 200);

  /* The same with a gzip trailer forged to agree with the header, which sends it down
   * the one-shot (libdeflate) path when built with it: its output buffer too grows with
   * what the stream holds, not with the claim. */
  forge_isize (path, 1000u * 1000u * 1000u + 352u);
  rss = child_peak_rss_mib (read_fails_truncated, path, &ok);
  g_test_message ("with a forged ISIZE: peak RSS grew by %ld MiB", rss);
  g_assert_true (ok);
  g_assert_cmpint (rss, <, 200);
}

/* The budget: a file that needs more than the memory available is refused before
 * anything is allocated, saying how much it needs; the reservation is given back. */
static void
test_memory_budget (void)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *path = tmp_path ("budget.nii.gz");
  nifti_image *nim = ns_test_make_nim (64, 64, 64, 1, DT_INT16, 1, 1, 1);
  ns_test_write_nim (nim, path);
  nifti_image_free (nim);

  /* 64^3 int16 are 0.5 MiB; with the decoding chunk and the one-shot buffers more than 1 MiB. */
  ns_memory_set_limit (1 << 20);
  g_assert_null (ns_nifti_read_all (path, &error));
  g_assert_error (error, NS_DATA_ERROR, NS_DATA_ERROR_TOO_LARGE);
  assert_error_names (error, path);
  g_assert_nonnull (strstr (error->message, "MiB of memory available"));
  g_test_message ("%s", error->message);
  g_clear_error (&error);
  g_assert_cmpuint (ns_memory_available (), ==, 1 << 20);

  /* The header alone is not refused: it costs nothing. */
  NsNiftiHeader hdr;
  g_assert_true (ns_nifti_read_header (path, &hdr, &error));
  g_assert_no_error (error);

  ns_memory_set_limit (64 << 20);
  g_autoptr (NsVolume) vol = ns_nifti_read (path, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (ns_memory_available (), ==, 64 << 20);

  /* From memory (the fuzzer's path) the same. */
  g_autofree char *bytes = NULL;
  gsize len;
  g_assert_true (g_file_get_contents (path, &bytes, &len, NULL));
  ns_memory_set_limit (1 << 20);
  g_assert_null (ns_nifti_read_memory (bytes, len, "in-memory", &error));
  g_assert_error (error, NS_DATA_ERROR, NS_DATA_ERROR_TOO_LARGE);
  assert_error_names (error, "in-memory");
  g_clear_error (&error);
  ns_memory_set_limit (0);
}

/* The reservation is of the type the volume is held in: an int16 file without scaling
 * reserves 2 bytes a voxel, the same file scaled (held as float32) 4. */
static void
test_reserve_stored_type (void)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *path = tmp_path ("reserve.nii");
  nifti_image *nim = ns_test_make_nim (64, 64, 64, 1, DT_INT16, 1, 1, 1);
  ns_test_write_nim (nim, path);
  nifti_image_free (nim);
  NsNiftiHeader hdr;
  g_assert_true (ns_nifti_read_header (path, &hdr, &error));
  g_assert_no_error (error);
  g_assert_false (hdr.compressed);

  guint64 as_int16 = _ns_nifti_decode_bytes (&hdr);
  hdr.scl_slope = 2.0;
  guint64 as_float = _ns_nifti_decode_bytes (&hdr);
  g_assert_cmpuint (as_float - as_int16, ==, (guint64) 64 * 64 * 64 * 2);

  /* and a budget that holds the int16 volume but not a float32 one reads it */
  ns_memory_set_limit (as_int16);
  g_autoptr (NsVolume) vol = ns_nifti_read (path, &error);
  g_assert_no_error (error);
  g_assert_cmpint (vol->storage, ==, NS_VOLUME_STORAGE_INT16);
  ns_memory_set_limit (0);
}

#if defined(__SANITIZE_ADDRESS__)
#define NS_TEST_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define NS_TEST_ASAN 1
#endif
#endif
#ifndef NS_TEST_ASAN
#define NS_TEST_ASAN 0
#endif

#if !NS_TEST_ASAN
/* In the child: the file reads as one int16 volume. */
static gboolean
read_int16_succeeds (const char *path)
{
  ns_memory_set_limit ((guint64) 64 << 30);
  g_autoptr (NsVolume) vol = ns_nifti_read (path, NULL);
  return vol != NULL && vol->storage == NS_VOLUME_STORAGE_INT16;
}

/* A compressed int16 image is decoded into the buffer that becomes the volume: the peak
 * is one volume (and the small compressed file), not the decoded bytes and a copy. */
static void
test_int16_one_buffer (void)
{
  g_autofree char *path = tmp_path ("one-buffer.nii.gz");
  nifti_image *nim = ns_test_make_nim (256, 256, 256, 1, DT_INT16, 1, 1, 1);
  gint16 *v = nim->data;
  for (gsize i = 0; i < nim->nvox; i++)
    v[i] = (gint16) (i % 1000);
  ns_test_write_nim (nim, path);
  nifti_image_free (nim);

  gboolean ok;
  long rss = child_peak_rss_mib (read_int16_succeeds, path, &ok);
  g_test_message ("a 32 MiB int16 volume: peak RSS grew by %ld MiB", rss);
  g_assert_true (ok);
  g_assert_cmpint (rss, <, 48);   /* 66 MiB with a copy */
}
#endif

/* #13 defect 5: a file must be what its header describes.  Plain: refused from the header
 * and the size alone, longer or shorter (a 1 GB sparse file is not read); compressed:
 * refused when the stream holds more than the voxels. */
static void
test_size_mismatch (void)
{
  g_autoptr (GError) error = NULL;
  NsNiftiHeader hdr;
  int dims[3] = { 4, 3, 2 };
  struct nifti_1_header h = ns_test_raw_header (3, dims, DT_UINT8, 8);
  guint8 data[64];
  for (gsize i = 0; i < sizeof data; i++)
    data[i] = (guint8) i;

  /* Exactly 24 voxels: read. */
  g_autofree char *exact = tmp_path ("exact.nii");
  ns_test_write_raw (exact, &h, data, 24, FALSE);
  g_assert_true (ns_nifti_read_header (exact, &hdr, &error));
  g_assert_cmpuint (hdr.file_size, ==, 352 + 24);
  g_autoptr (NsVolume) vol = ns_nifti_read (exact, &error);
  g_assert_no_error (error);

  /* Ten bytes more. */
  g_autofree char *longer = tmp_path ("longer.nii");
  ns_test_write_raw (longer, &h, data, 34, FALSE);
  g_assert_false (ns_nifti_read_header (longer, &hdr, &error));
  g_assert_error (error, NS_DATA_ERROR, NS_DATA_ERROR_CORRUPT);
  assert_error_names (error, longer);
  g_assert_nonnull (strstr (error->message, "10 bytes too many"));
  g_clear_error (&error);
  g_assert_null (ns_nifti_read_all (longer, &error));
  g_assert_error (error, NS_DATA_ERROR, NS_DATA_ERROR_CORRUPT);
  g_clear_error (&error);

  /* A gigabyte more, sparse: refused without reading it (a child's RSS stays small). */
  g_autofree char *huge = tmp_path ("huge-tail.nii");
  ns_test_write_raw (huge, &h, data, 24, FALSE);
  int fd = open (huge, O_WRONLY);
  g_assert_cmpint (fd, >=, 0);
  g_assert_cmpint (ftruncate (fd, (off_t) 1 << 30), ==, 0);
  close (fd);
  g_assert_false (ns_nifti_read_header (huge, &hdr, &error));
  g_assert_error (error, NS_DATA_ERROR, NS_DATA_ERROR_CORRUPT);
  g_clear_error (&error);
  g_assert_null (ns_nifti_read_all (huge, &error));
  g_assert_error (error, NS_DATA_ERROR, NS_DATA_ERROR_CORRUPT);
  g_clear_error (&error);

  /* Ten bytes short: truncated. */
  g_autofree char *shorter = tmp_path ("shorter.nii");
  ns_test_write_raw (shorter, &h, data, 14, FALSE);
  g_assert_false (ns_nifti_read_header (shorter, &hdr, &error));
  g_assert_error (error, NS_DATA_ERROR, NS_DATA_ERROR_CORRUPT);
  g_assert_nonnull (strstr (error->message, "truncated"));
  g_clear_error (&error);

  /* Compressed with ten bytes after the voxels: the header is fine, decoding is not;
   * both the one-shot and the streaming decoder refuse it (the ISIZE agrees with the
   * header only when forged, which takes the one-shot path; zlib may see the forged
   * trailer while reading the header of so small a file). */
  g_autofree char *gz = tmp_path ("longer.nii.gz");
  for (int forged = 0; forged < 2; forged++)
    {
      ns_test_write_raw (gz, &h, data, 34, TRUE);
      if (forged)
        forge_isize (gz, 352 + 24);
      else
        g_assert_true (ns_nifti_read_header (gz, &hdr, &error));
      g_assert_null (ns_nifti_read_all (gz, &error));
      g_assert_error (error, NS_DATA_ERROR, NS_DATA_ERROR_CORRUPT);
      assert_error_names (error, gz);
      g_test_message ("%s", error->message);
      g_clear_error (&error);
      g_assert_false (ns_nifti_scan (gz, NULL, NULL, NULL, &error));
      g_assert_error (error, NS_DATA_ERROR, NS_DATA_ERROR_CORRUPT);
      g_clear_error (&error);
    }
}

typedef struct
{
  const NsVolume *want;
  guint n_calls;
  gsize n_seen;
  gsize n_nonfinite;
  guint stop_after;        /* fail on this call (0: never) */
} ScanCheck;

static gboolean
scan_check_cb (guint volume, gsize first, const float *values, gsize n, gsize n_nonfinite,
               gpointer user_data, GError **error)
{
  ScanCheck *c = user_data;
  c->n_calls++;
  if (c->stop_after != 0 && c->n_calls == c->stop_after)
    {
      g_set_error (error, NS_DATA_ERROR, NS_DATA_ERROR_INVALID, "stopped by the callback");
      return FALSE;
    }
  g_assert_cmpuint (volume, ==, 0);
  g_assert_cmpuint (first, ==, c->n_seen);
  g_autofree float *want = g_new (float, n);
  ns_volume_read_floats (c->want, first, n, want);
  g_assert_cmpmem (values, n * sizeof (float), want, n * sizeof (float));
  c->n_seen += n;
  c->n_nonfinite += n_nonfinite;
  return TRUE;
}

/* ns_nifti_scan () sees every voxel as ns_nifti_read () stores it, in file order. */
static void
test_scan (void)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *flair = g_build_filename (ns_test_sample_case (),
                                             "Brats18_CBICA_ABM_1_flair.nii.gz", NULL);
  g_autoptr (NsVolume) vol = ns_nifti_read (flair, &error);
  g_assert_no_error (error);

  ScanCheck check = { vol, 0, 0, 0, 0 };
  NsNiftiHeader hdr;
  g_assert_true (ns_nifti_scan (flair, &hdr, scan_check_cb, &check, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (check.n_seen, ==, ns_volume_n_voxels (vol));
  g_assert_cmpuint (check.n_calls, >, 1);
  g_assert_true (ns_grid_equal (&hdr.grid, &vol->grid));

  /* The callback's error stops the scan. */
  ScanCheck stop = { vol, 0, 0, 0, 2 };
  g_assert_false (ns_nifti_scan (flair, NULL, scan_check_cb, &stop, &error));
  g_assert_error (error, NS_DATA_ERROR, NS_DATA_ERROR_INVALID);
  g_assert_cmpuint (stop.n_calls, ==, 2);
  g_clear_error (&error);

  /* NaN and Inf are passed as 0 and counted, as ns_nifti_read () does. */
  g_autofree char *nan_path = tmp_path ("scan-nan.nii");
  nifti_image *nim = ns_test_make_nim (3, 2, 1, 1, DT_FLOAT32, 1, 1, 1);
  float *f = nim->data;
  for (int i = 0; i < 6; i++)
    f[i] = (float) i;
  f[1] = NAN;
  f[4] = -INFINITY;
  ns_test_write_nim (nim, nan_path);
  nifti_image_free (nim);
  g_autoptr (NsVolume) nan_vol = ns_nifti_read (nan_path, &error);
  g_assert_no_error (error);
  ScanCheck nan_check = { nan_vol, 0, 0, 0, 0 };
  g_assert_true (ns_nifti_scan (nan_path, NULL, scan_check_cb, &nan_check, &error));
  g_assert_cmpuint (nan_check.n_nonfinite, ==, 2);

  /* A truncated file fails as it does for reading; NULL func only verifies. */
  g_autofree char *bytes = NULL;
  gsize len;
  g_assert_true (g_file_get_contents (flair, &bytes, &len, NULL));
  g_autofree char *cut = tmp_path ("scan-cut.nii.gz");
  g_assert_true (g_file_set_contents (cut, bytes, (gssize) (len / 2), NULL));
  g_assert_false (ns_nifti_scan (cut, NULL, NULL, NULL, &error));
  g_assert_error (error, NS_DATA_ERROR, NS_DATA_ERROR_CORRUPT);
  assert_error_names (error, cut);
  g_clear_error (&error);
  g_assert_true (ns_nifti_scan (flair, NULL, NULL, NULL, &error));
  g_assert_no_error (error);
}

/* In the child: a scan of the whole file succeeds. */
static gboolean
scan_succeeds (const char *path)
{
  return ns_nifti_scan (path, NULL, NULL, NULL, NULL);
}

/* A plain file of 100 M int16 voxels (200 MB, sparse: all zeros) is scanned in a few MiB,
 * where reading it would hold 400 MB of floats. */
static void
test_scan_constant_memory (void)
{
  g_autofree char *path = tmp_path ("big-sparse.nii");
  int dims[3] = { 500, 500, 400 };
  struct nifti_1_header h = ns_test_raw_header (3, dims, DT_INT16, 16);
  ns_test_write_raw (path, &h, NULL, 0, FALSE);
  int fd = open (path, O_WRONLY);
  g_assert_cmpint (fd, >=, 0);
  g_assert_cmpint (ftruncate (fd, (off_t) 352 + (off_t) 500 * 500 * 400 * 2), ==, 0);
  close (fd);

  gboolean ok;
  long rss = child_peak_rss_mib (scan_succeeds, path, &ok);
  g_test_message ("scan of 100 M voxels: peak RSS grew by %ld MiB", rss);
  g_assert_true (ok);
  g_assert_cmpint (rss, <, 100);
  g_unlink (path);
}

/* #13 defect 14: a file whose sform code is 1 but whose sform is all zeros.  Before, the
 * zeros became vox2ras (every voxel at the origin, reported as "RAS"); now the qform is
 * used, or pixdim without one, and the grid says why. */
static void
test_singular_sform (void)
{
  g_autoptr (GError) error = NULL;
  for (int with_qform = 0; with_qform < 2; with_qform++)
    {
      g_autofree char *path = tmp_path (with_qform ? "zero-sform-q.nii.gz" : "zero-sform.nii.gz");
      nifti_image *nim = ns_test_make_nim (4, 3, 2, 1, DT_INT16, 1.5, 1.5, 3);
      nim->sform_code = 1;
      memset (&nim->sto_xyz, 0, sizeof nim->sto_xyz);
      if (with_qform)
        {
          /* LPS: 180 degrees about z (quatern_d 1), origin (10, 20, 30). */
          nim->qform_code = 1;
          nim->quatern_b = 0.0f;
          nim->quatern_c = 0.0f;
          nim->quatern_d = 1.0f;
          nim->qoffset_x = 10.0f;
          nim->qoffset_y = 20.0f;
          nim->qoffset_z = 30.0f;
        }
      ns_test_write_nim (nim, path);
      nifti_image_free (nim);

      g_autoptr (NsVolume) vol = ns_nifti_read (path, &error);
      g_assert_no_error (error);
      const NsGrid *g = &vol->grid;
      g_assert_cmpint (g->sform_code, ==, 1);
      g_autofree char *warning = ns_grid_dup_xform_warning (g);
      g_assert_nonnull (warning);
      g_test_message ("%s", warning);
      g_assert_nonnull (strstr (warning, "sform (code 1) is singular"));
      char orient[4];
      ns_grid_orientation_code (g, orient);
      if (with_qform)
        {
          g_assert_cmpint (ns_grid_get_xform (g), ==, NS_GRID_XFORM_QFORM);
          g_assert_cmpfloat_with_epsilon (g->vox2ras[0][0], -1.5, 1e-6);
          g_assert_cmpfloat_with_epsilon (g->vox2ras[1][3], 20.0, 1e-6);
          g_assert_cmpstr (orient, ==, "LPS");
        }
      else
        {
          g_assert_cmpint (ns_grid_get_xform (g), ==, NS_GRID_XFORM_PIXDIM);
          g_assert_cmpfloat (g->vox2ras[2][2], ==, 3.0);
          g_assert_cmpstr (orient, ==, "RAS");
        }
      /* Never a zero matrix. */
      g_assert_cmpfloat (fabs (g->vox2ras[0][0]) + fabs (g->vox2ras[1][0])
                         + fabs (g->vox2ras[2][0]), >, 0.0);
    }
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  nifti_set_debug_level (0);

  g_test_add_func ("/data/nifti/limits/huge-claim", test_huge_claim);
  g_test_add_func ("/data/nifti/limits/memory-budget", test_memory_budget);
  g_test_add_func ("/data/nifti/limits/reserve-stored-type", test_reserve_stored_type);
#if !NS_TEST_ASAN
  /* Under AddressSanitizer a freed block stays in its quarantine and the peak counts it:
   * the one-buffer decode is checked by the plain build (tools/test runs both). */
  g_test_add_func ("/data/nifti/limits/int16-one-buffer", test_int16_one_buffer);
#endif
  g_test_add_func ("/data/nifti/limits/size-mismatch", test_size_mismatch);
  g_test_add_func ("/data/nifti/limits/scan", test_scan);
  g_test_add_func ("/data/nifti/limits/scan-constant-memory", test_scan_constant_memory);
  g_test_add_func ("/data/nifti/limits/singular-sform", test_singular_sform);
  return g_test_run ();
}
