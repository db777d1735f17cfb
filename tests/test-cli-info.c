/* SPDX-License-Identifier: MIT
 *
 * test-cli-info.c: `neuroseg info` and `neuroseg bench --io` as a user runs them (the
 * binary from $NEUROSEG): a case folder, a single file, several files, --help, and the
 * bad inputs, each one line on stderr naming the file, exit 1; the memory `info` takes on
 * a file that claims or holds a lot (peak RSS of the child, from wait4), how it reports
 * a transform it had to skip, and names holding escape sequences printed escaped.
 */
#include "ns-test-util.h"
#include "ns-test-nifti.h"

#include <math.h>

#include <fcntl.h>
#include <json-glib/json-glib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

static void
assert_contains (const char *text, const char *what)
{
  if (strstr (text, what) == NULL)
    g_error ("\"%s\" not found in:\n%s", what, text);
}

/* Exit 1, nothing on stdout, one line on stderr naming path. */
static void
assert_fails_naming (const NsTestRun *run, const char *path)
{
  g_assert_cmpint (run->status, ==, 1);
  g_assert_cmpstr (run->out, ==, "");
  assert_contains (run->err, path);
  const char *nl = strchr (run->err, '\n');
  g_assert_nonnull (nl);
  g_assert_cmpint (nl[1], ==, '\0');
}

static void
test_case_folder (void)
{
  g_auto (NsTestRun) run = { 0 };
  ns_test_run_neuroseg (&run, "info", ns_test_sample_case (), NULL);
  g_assert_cmpint (run.status, ==, 0);
  g_assert_cmpstr (run.err, ==, "");
  assert_contains (run.out, "case         Brats18_CBICA_ABM_1\n");
  assert_contains (run.out, "grid         240 x 240 x 155 voxels\n");
  assert_contains (run.out, "spacing      1 x 1 x 1 mm\n");
  assert_contains (run.out, "orientation  LPS\n");
  assert_contains (run.out, "sform        code 1 (scanner)\n");
  assert_contains (run.out, "modalities   flair t1c t1 t2\n");
  assert_contains (run.out, "Brats18_CBICA_ABM_1_t1ce.nii.gz  INT16");
  assert_contains (run.out, "labels       BraTS 2017+\n");
  /* nibabel's counts for the _seg file, at 1 mm^3 per voxel. */
  assert_contains (run.out, "    1 NCR/NET        3398 voxels      3.398 mL");
  assert_contains (run.out, "    2 ED            30215 voxels     30.215 mL");
  assert_contains (run.out, "    4 ET             6159 voxels      6.159 mL");
  assert_contains (run.out, "  WT                39772 voxels     39.772 mL");
  assert_contains (run.out, "  TC                 9557 voxels      9.557 mL");
}

static void
test_single_file (void)
{
  g_auto (NsTestRun) run = { 0 };
  g_autofree char *path = g_build_filename (ns_test_sample_case (),
                                            "Brats18_CBICA_ABM_1_flair.nii.gz", NULL);
  ns_test_run_neuroseg (&run, "info", path, NULL);
  g_assert_cmpint (run.status, ==, 0);
  assert_contains (run.out, "part         flair (from the name)\n");
  assert_contains (run.out, "datatype     INT16, gzip\n");
  assert_contains (run.out, "scaling      none\n");
  assert_contains (run.out, "qform        code 1 (scanner)\n");
  assert_contains (run.out, "range        0 to 727\n");
  g_assert_null (strstr (run.out, "labels"));

  /* mricron's natbrainlab: qform/sform code 2, LAS, uint8. */
  g_auto (NsTestRun) nat = { 0 };
  ns_test_run_neuroseg (&nat, "info", "/usr/share/mricron/templates/natbrainlab.nii.gz", NULL);
  g_assert_cmpint (nat.status, ==, 0);
  assert_contains (nat.out, "orientation  LAS\n");
  assert_contains (nat.out, "datatype     UINT8, gzip\n");
  assert_contains (nat.out, "spacing      1 x 1 x 1 mm\n");
}

static void
test_scaled_nan_file (void)
{
  /* A float file with NaNs and a scaled int16 file. */
  g_autofree char *nan_path = g_build_filename (ns_test_tmpdir (), "nan.nii.gz", NULL);
  nifti_image *nim = ns_test_make_nim (4, 3, 2, 1, DT_FLOAT32, 0.5, 0.5, 2.0);
  ((float *) nim->data)[3] = NAN;
  ((float *) nim->data)[4] = 7.0f;
  ns_test_write_nim (nim, nan_path);
  nifti_image_free (nim);
  g_auto (NsTestRun) run = { 0 };
  ns_test_run_neuroseg (&run, "info", nan_path, NULL);
  g_assert_cmpint (run.status, ==, 0);
  assert_contains (run.out, "non-finite   1 voxels were NaN or Inf (read as 0)\n");
  assert_contains (run.out, "spacing      0.5 x 0.5 x 2 mm\n");

  g_autofree char *scaled = g_build_filename (ns_test_tmpdir (), "scaled.nii", NULL);
  nim = ns_test_make_nim (2, 2, 2, 1, DT_INT16, 1, 1, 1);
  nim->scl_slope = 0.25f;
  nim->scl_inter = 10.0f;
  ns_test_write_nim (nim, scaled);
  nifti_image_free (nim);
  g_auto (NsTestRun) srun = { 0 };
  ns_test_run_neuroseg (&srun, "info", scaled, NULL);
  g_assert_cmpint (srun.status, ==, 0);
  assert_contains (srun.out, "scaling      slope 0.25, intercept 10 (applied)\n");
  assert_contains (srun.out, "range        10 to 10\n");
}

static void
test_explicit_files (void)
{
  g_auto (NsTestRun) run = { 0 };
  g_autofree char *flair = g_build_filename (ns_test_sample_case (),
                                             "Brats18_CBICA_ABM_1_flair.nii.gz", NULL);
  g_autofree char *seg = g_build_filename (ns_test_sample_case (),
                                           "Brats18_CBICA_ABM_1_seg.nii.gz", NULL);
  ns_test_run_neuroseg (&run, "info", flair, seg, NULL);
  g_assert_cmpint (run.status, ==, 0);
  assert_contains (run.out, "modalities   flair\n");
  assert_contains (run.out, "    4 ET             6159 voxels");
}

static void
test_help (void)
{
  g_auto (NsTestRun) run = { 0 };
  ns_test_run_neuroseg (&run, "info", "--help", NULL);
  g_assert_cmpint (run.status, ==, 0);
  assert_contains (run.out, "neuroseg info");
  assert_contains (run.out, "PATH");

  g_auto (NsTestRun) none = { 0 };
  ns_test_run_neuroseg (&none, "info", NULL);
  g_assert_cmpint (none.status, ==, 2);

  g_auto (NsTestRun) bench = { 0 };
  ns_test_run_neuroseg (&bench, "bench", "--help", NULL);
  g_assert_cmpint (bench.status, ==, 0);
  assert_contains (bench.out, "--io");
}

static void
test_bad_inputs (void)
{
  const char *tmp = ns_test_tmpdir ();

  g_autofree char *missing = g_build_filename (tmp, "missing.nii.gz", NULL);
  g_auto (NsTestRun) r1 = { 0 };
  ns_test_run_neuroseg (&r1, "info", missing, NULL);
  assert_fails_naming (&r1, missing);

  g_autofree char *text = g_build_filename (tmp, "notes.nii", NULL);
  g_assert_true (g_file_set_contents (text, "not an image", -1, NULL));
  g_auto (NsTestRun) r2 = { 0 };
  ns_test_run_neuroseg (&r2, "info", text, NULL);
  assert_fails_naming (&r2, text);
  assert_contains (r2.err, "not a NIfTI");

  /* A truncated .nii.gz. */
  g_autofree char *flair = g_build_filename (ns_test_sample_case (),
                                             "Brats18_CBICA_ABM_1_flair.nii.gz", NULL);
  g_autofree char *bytes = NULL;
  gsize len;
  g_assert_true (g_file_get_contents (flair, &bytes, &len, NULL));
  g_autofree char *cut = g_build_filename (tmp, "cut_flair.nii.gz", NULL);
  g_assert_true (g_file_set_contents (cut, bytes, (gssize) (len / 3), NULL));
  g_auto (NsTestRun) r3 = { 0 };
  ns_test_run_neuroseg (&r3, "info", cut, NULL);
  assert_fails_naming (&r3, cut);
  assert_contains (r3.err, "truncated");

  /* A folder without a FLAIR. */
  g_autofree char *dir = g_build_filename (tmp, "no-flair-case", NULL);
  g_assert_cmpint (g_mkdir_with_parents (dir, 0755), ==, 0);
  g_auto (NsTestRun) r4 = { 0 };
  ns_test_run_neuroseg (&r4, "info", dir, NULL);
  assert_fails_naming (&r4, dir);
  assert_contains (r4.err, "FLAIR");

  /* A complex64 file. */
  int dims[3] = { 2, 2, 2 };
  struct nifti_1_header h = ns_test_raw_header (3, dims, DT_COMPLEX64, 64);
  guint8 zeros[64] = { 0 };
  g_autofree char *complex = g_build_filename (tmp, "complex.nii.gz", NULL);
  ns_test_write_raw (complex, &h, zeros, sizeof zeros, TRUE);
  g_auto (NsTestRun) r5 = { 0 };
  ns_test_run_neuroseg (&r5, "info", complex, NULL);
  assert_fails_naming (&r5, complex);
  assert_contains (r5.err, "COMPLEX64");
}

static void
test_bench_io (void)
{
  g_auto (NsTestRun) run = { 0 };
  ns_test_run_neuroseg (&run, "bench", "--io", "--runs", "1", "--json", ns_test_sample_case (),
                        NULL);
  g_assert_cmpint (run.status, ==, 0);
  g_autoptr (JsonParser) parser = json_parser_new ();
  g_autoptr (GError) error = NULL;
  g_assert_true (json_parser_load_from_data (parser, run.out, -1, &error));
  JsonObject *root = json_node_get_object (json_parser_get_root (parser));
  JsonObject *io = json_object_get_object_member (root, "io");
  g_assert_nonnull (io);
  g_assert_cmpint (json_object_get_int_member (io, "files"), ==, 5);
  g_assert_cmpfloat (json_object_get_double_member (io, "median_s"), >, 0.0);
  g_assert_cmpuint (json_array_get_length (json_object_get_array_member (io, "runs_s")), ==, 1);

  g_autofree char *missing = g_build_filename (ns_test_tmpdir (), "no-case", NULL);
  g_auto (NsTestRun) bad = { 0 };
  ns_test_run_neuroseg (&bad, "bench", "--io", missing, NULL);
  assert_fails_naming (&bad, missing);
}

/* --devices lists the CPU first, then one line per CUDA device or why there is none. */
static void
test_devices (void)
{
  g_auto (NsTestRun) run = { 0 };
  ns_test_run_neuroseg (&run, "info", "--devices", NULL);
  g_assert_cmpint (run.status, ==, 0);
  g_assert_true (g_str_has_prefix (run.out, "cpu: "));
  g_assert_nonnull (strstr (run.out, "\ncuda"));
  g_assert_cmpuint (strlen (run.err), ==, 0);
}

/* `neuroseg info path` with its stderr captured: exit status and peak RSS in MiB of that
 * one child (wait4), which the shared runner (g_spawn_sync) cannot give, with every
 * allocation filled, so that it bounds what was allocated. */
static int
run_info_measured (const char *path, char **err, long *rss_mib)
{
  const char *argv[] = { g_getenv ("NEUROSEG"), "info", path, NULL };
  g_autoptr (GError) error = NULL;
  GPid pid;
  int err_fd;

  /* glibc fills every allocation: the peak RSS is then what was allocated, not only
   * what was touched. */
  g_auto (GStrv) envp = g_environ_setenv (g_get_environ (), "MALLOC_PERTURB_", "165", TRUE);
  g_assert_nonnull (argv[0]);
  g_assert_true (g_spawn_async_with_pipes (NULL, (char **) argv, envp,
                                           G_SPAWN_DO_NOT_REAP_CHILD
                                             | G_SPAWN_STDOUT_TO_DEV_NULL,
                                           NULL, NULL, &pid, NULL, NULL, &err_fd, &error));
  g_assert_no_error (error);
  g_autoptr (GString) text = g_string_new (NULL);
  char buf[4096];
  ssize_t n;
  while ((n = read (err_fd, buf, sizeof buf)) > 0)
    g_string_append_len (text, buf, n);
  close (err_fd);
  struct rusage ru;
  int status;
  g_assert_cmpint (wait4 (pid, &status, 0, &ru), ==, pid);
  g_spawn_close_pid (pid);
  *err = g_string_free (g_steal_pointer (&text), FALSE);
  *rss_mib = ru.ru_maxrss / 1024;
  g_test_message ("info %s: exit %d, peak RSS %ld MiB, stderr: %s", path,
                  WIFEXITED (status) ? WEXITSTATUS (status) : -1, *rss_mib, *err);
  return WIFEXITED (status) ? WEXITSTATUS (status) : -1;
}

/* #13 defect 1: a 1 MiB .nii.gz whose header claims 1000^3 voxels.  Before: 3.9 GB
 * resident and 7 s, then "truncated".  Now it fails as soon as its stream ends. */
static void
test_huge_claim (void)
{
  g_autofree char *path = g_build_filename (ns_test_tmpdir (), "claims-1e9.nii.gz", NULL);
  int dims[3] = { 1000, 1000, 1000 };
  struct nifti_1_header h = ns_test_raw_header (3, dims, DT_UINT8, 8);
  gsize n = 1 << 20;
  g_autofree guint8 *junk = g_malloc (n);
  g_autoptr (GRand) rand = g_rand_new_with_seed (13);
  for (gsize i = 0; i < n; i++)
    junk[i] = (guint8) g_rand_int (rand);
  ns_test_write_raw (path, &h, junk, n, TRUE);

  g_autofree char *err = NULL;
  long rss;
  g_assert_cmpint (run_info_measured (path, &err, &rss), ==, 1);
  assert_contains (err, path);
  assert_contains (err, "truncated");
  g_assert_cmpint (rss, <, 200);
}

/* #13 defect 5: `info` on a 400 MB file (200 M int16 voxels, sparse) used to hold it as
 * 800 MB of floats; it is scanned in a few MiB.  A file with bytes after what its header
 * describes is refused from its size, without reading it. */
static void
test_big_file (void)
{
  g_autofree char *path = g_build_filename (ns_test_tmpdir (), "big.nii", NULL);
  int dims[3] = { 1000, 1000, 200 };
  struct nifti_1_header h = ns_test_raw_header (3, dims, DT_INT16, 16);
  ns_test_write_raw (path, &h, NULL, 0, FALSE);
  off_t size = 352 + (off_t) 1000 * 1000 * 200 * 2;
  int fd = open (path, O_WRONLY);
  g_assert_cmpint (fd, >=, 0);
  g_assert_cmpint (ftruncate (fd, size), ==, 0);
  close (fd);

  g_autofree char *err = NULL;
  long rss;
  g_assert_cmpint (run_info_measured (path, &err, &rss), ==, 0);
  g_assert_cmpint (rss, <, 100);

  fd = open (path, O_WRONLY);
  g_assert_cmpint (ftruncate (fd, size + 1000), ==, 0);
  close (fd);
  g_autofree char *err2 = NULL;
  g_assert_cmpint (run_info_measured (path, &err2, &rss), ==, 1);
  assert_contains (err2, path);
  assert_contains (err2, "1000 bytes too many");
  g_assert_cmpint (rss, <, 100);
  g_unlink (path);
}

/* #13 defect 14: an sform with code 1 but all zeros was reported as the transform in use
 * ("RAS", every voxel at the origin).  info says that the qform is used and why. */
static void
test_singular_sform (void)
{
  g_autofree char *path = g_build_filename (ns_test_tmpdir (), "zero-sform.nii.gz", NULL);
  nifti_image *nim = ns_test_make_nim (4, 3, 2, 1, DT_INT16, 1, 1, 1);
  nim->sform_code = 1;
  memset (&nim->sto_xyz, 0, sizeof nim->sto_xyz);
  nim->qform_code = 1;
  nim->quatern_d = 1.0f; /* 180 degrees about z: LPS */
  ns_test_write_nim (nim, path);
  nifti_image_free (nim);

  g_auto (NsTestRun) run = { 0 };
  ns_test_run_neuroseg (&run, "info", path, NULL);
  g_assert_cmpint (run.status, ==, 0);
  assert_contains (run.out, "orientation  LPS\n");
  assert_contains (run.out, "sform        code 1 (scanner)\n");
  assert_contains (run.out, "(qform)\n");
  assert_contains (run.out, "warning      the sform (code 1) is singular");
}

static void
assert_no_escape (const char *text)
{
  g_assert_null (strchr (text, '\033'));
}

/* A case folder and its FLAIR named with terminal escape sequences, and a missing path
 * with one: the names come out as \x1b..., the terminal never gets the escapes. */
static void
test_printable_names (void)
{
  g_autofree char *dir = g_build_filename (ns_test_tmpdir (), "Case\033[2J", NULL);
  g_autofree char *flair = g_build_filename (dir, "\033]0;title\007_flair.nii.gz", NULL);
  g_autofree char *src = g_build_filename (ns_test_sample_case (),
                                           "Brats18_CBICA_ABM_1_flair.nii.gz", NULL);
  g_assert_cmpint (g_mkdir_with_parents (dir, 0755), ==, 0);
  g_assert_cmpint (symlink (src, flair), ==, 0);
  {
    g_auto (NsTestRun) run = { 0 };
    ns_test_run_neuroseg (&run, "info", dir, NULL);
    g_assert_cmpint (run.status, ==, 0);
    assert_no_escape (run.out);
    assert_contains (run.out, "case         Case\\x1b[2J\n");
    assert_contains (run.out, "\\x1b]0;title\\x07_flair.nii.gz  INT16");
  }
  {
    g_auto (NsTestRun) run = { 0 };
    ns_test_run_neuroseg (&run, "info", flair, NULL);
    g_assert_cmpint (run.status, ==, 0);
    assert_no_escape (run.out);
    assert_contains (run.out, "\\x1b]0;title\\x07_flair.nii.gz\n");
  }
  {
    g_auto (NsTestRun) run = { 0 };
    ns_test_run_neuroseg (&run, "info", "/nonexistent/\033[8mhidden", NULL);
    assert_fails_naming (&run, "/nonexistent/\\x1b[8mhidden");
    assert_no_escape (run.err);
  }
}

/* A NIfTI-2 file (nibabel's own example, Debian python3-nibabel) says so (#18). */
static void
test_nifti2 (void)
{
  g_auto (NsTestRun) run = { 0 };
  ns_test_run_neuroseg (&run, "info",
                        "/usr/lib/python3/dist-packages/nibabel/tests/data/example_nifti2.nii.gz",
                        NULL);
  g_assert_cmpint (run.status, ==, 0);
  assert_contains (run.out, "datatype     INT16, gzip, NIfTI-2\n");
  assert_contains (run.out, "grid         32 x 20 x 12 voxels\n");
  assert_contains (run.out, "volumes      2\n");
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/cli/info/case-folder", test_case_folder);
  g_test_add_func ("/cli/info/single-file", test_single_file);
  g_test_add_func ("/cli/info/scaled-and-nan", test_scaled_nan_file);
  g_test_add_func ("/cli/info/explicit-files", test_explicit_files);
  g_test_add_func ("/cli/info/help", test_help);
  g_test_add_func ("/cli/info/bad-inputs", test_bad_inputs);
  g_test_add_func ("/cli/info/huge-claim", test_huge_claim);
  g_test_add_func ("/cli/info/big-file", test_big_file);
  g_test_add_func ("/cli/info/singular-sform", test_singular_sform);
  g_test_add_func ("/cli/info/printable-names", test_printable_names);
  g_test_add_func ("/cli/bench/io", test_bench_io);
  g_test_add_func ("/cli/info/devices", test_devices);
  g_test_add_func ("/cli/info/nifti2", test_nifti2);
  return g_test_run ();
}
