/* SPDX-License-Identifier: MIT
 *
 * test-cli-paths.c: the one rule of the default model from the command line (issue 12),
 * with the binary started from a folder outside the source tree: `neuroseg segment`
 * without --model uses the shipped model found from the binary's own location (the build
 * tree's, and that of an installed copy moved to another prefix), creates no database, and
 * says which model and why; a prefix without the model is a clear error; a promoted
 * model is what segment uses (the GUI's rule is the same function), and a promoted file
 * that changed is an error, never replaced by another model; `train --init default`
 * fine-tunes the default and records it as the parent.
 */
#include "ns-test-util.h"

#include "ns-checkpoint.h"
#include "ns-config.h"
#include "ns-nifti.h"

#include <gio/gio.h>
#include <glib/gstdio.h>
#include <json-glib/json-glib.h>
#include <math.h>
#include <string.h>
#include <sys/wait.h>

static char *case_dir;

static void
assert_contains (const char *text, const char *what)
{
  if (strstr (text, what) == NULL)
    g_error ("\"%s\" not found in:\n%s", what, text);
}

/* exe ARGS... run in cwd with $NEUROSEG_DATA_DIR = data_dir; returns the exit status. */
static int
run_in (const char *exe, const char *cwd, const char *data_dir, char **out, char **err, ...)
{
  g_autoptr (GPtrArray) argv = g_ptr_array_new ();
  g_autoptr (GError) error = NULL;
  g_auto (GStrv) env = g_environ_setenv (g_get_environ (), "NEUROSEG_DATA_DIR", data_dir, TRUE);
  va_list ap;
  int status;

  g_ptr_array_add (argv, (gpointer) exe);
  va_start (ap, err);
  for (const char *a = va_arg (ap, const char *); a != NULL; a = va_arg (ap, const char *))
    g_ptr_array_add (argv, (gpointer) a);
  va_end (ap);
  g_ptr_array_add (argv, NULL);
  g_assert_true (g_spawn_sync (cwd, (char **) argv->pdata, env, G_SPAWN_STDIN_FROM_DEV_NULL,
                               NULL, NULL, out, err, &status, &error));
  g_assert_no_error (error);
  g_test_message ("%s %s in %s:\n%s%s", exe, (char *) argv->pdata[1], cwd, *out, *err);
  return WIFEXITED (status) ? WEXITSTATUS (status) : -1;
}

static char *
fresh_dir (const char *name)
{
  char *dir = g_build_filename (ns_test_tmpdir (), name, NULL);
  g_assert_cmpint (g_mkdir_with_parents (dir, 0755), ==, 0);
  return dir;
}

/* A 64 x 48 x 6 case (FLAIR, T1c, a truth) with a blob of "brain" on slices 1..4. */
static void
make_case (void)
{
  g_autoptr (GError) error = NULL;
  NsGrid grid;
  case_dir = fresh_dir ("Paths_1");
  ns_grid_init (&grid, 64, 48, 6, 1.0, 1.0, 2.0);
  for (int c = 0; c < 2; c++)
    {
      g_autoptr (NsVolume) v = ns_volume_new (&grid, &error);
      for (int k = 1; k <= 4; k++)
        for (int j = 8; j < 40; j++)
          for (int i = 10; i < 52; i++)
            v->voxels[ns_grid_index (&grid, i, j, k)] = (float) (200 + 50 * sin (i * 0.3 + c));
      g_autofree char *name = g_strdup_printf ("Paths_1_%s.nii.gz", c == 0 ? "flair" : "t1ce");
      g_autofree char *path = g_build_filename (case_dir, name, NULL);
      g_assert_true (ns_nifti_write_volume (v, path, &error));
    }
  g_autoptr (NsLabelMap) m = ns_label_map_new (&grid, &error);
  for (int i = 20; i < 30; i++)
    m->labels[ns_grid_index (&grid, i, 20, 2)] = 2;
  g_autofree char *seg = g_build_filename (case_dir, "Paths_1_seg.nii.gz", NULL);
  g_assert_true (ns_nifti_write_label_map (m, seg, &error));
}

/* An installed copy of the binary: prefix/bin/neuroseg, and prefix/share/neuroseg with
 * links to the source tree's models and samples when with_data. */
static char *
install_copy (const char *name, gboolean with_data)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *prefix = fresh_dir (name);
  g_autofree char *bin = g_build_filename (prefix, "bin", NULL);
  g_autofree char *share = g_build_filename (prefix, "share", "neuroseg", NULL);
  g_assert_cmpint (g_mkdir_with_parents (bin, 0755), ==, 0);
  g_assert_cmpint (g_mkdir_with_parents (share, 0755), ==, 0);
  char *exe = g_build_filename (bin, "neuroseg", NULL);
  g_autoptr (GFile) src = g_file_new_for_path (g_getenv ("NEUROSEG"));
  g_autoptr (GFile) dst = g_file_new_for_path (exe);
  g_assert_true (g_file_copy (src, dst, G_FILE_COPY_ALL_METADATA, NULL, NULL, NULL, &error));
  g_assert_no_error (error);
  if (with_data)
    for (const char *const *d = (const char *const[]) { "models", "samples", NULL }; *d; d++)
      {
        g_autofree char *target = ns_test_src_path ("resources", *d, NULL);
        g_autofree char *link = g_build_filename (share, *d, NULL);
        g_assert_cmpint (symlink (target, link), ==, 0);
      }
  return exe;
}

static void
test_segment_from_elsewhere (void)
{
  g_autofree char *data = fresh_dir ("data-elsewhere");
  g_autofree char *out = g_build_filename (ns_test_tmpdir (), "elsewhere.nii.gz", NULL);
  g_autofree char *shipped = ns_test_src_path ("resources", "models", "default.safetensors",
                                              NULL);
  g_autofree char *sout = NULL, *serr = NULL;

  int status = run_in (g_getenv ("NEUROSEG"), "/tmp", data, &sout, &serr, "segment", "--device",
                       "ref", "-o", out, case_dir, NULL);
  g_assert_cmpint (status, ==, 0);
  assert_contains (sout, shipped);
  assert_contains (sout, "registry version 0, the shipped model (no model has been promoted)");
  g_assert_true (g_file_test (out, G_FILE_TEST_IS_REGULAR));
  /* Looking up the default created nothing. */
  g_autofree char *db = g_build_filename (data, "neuroseg.db", NULL);
  g_assert_false (g_file_test (db, G_FILE_TEST_EXISTS));
}

static void
test_installed_copy (void)
{
  g_autofree char *exe = install_copy ("prefix", TRUE);
  g_autofree char *data = fresh_dir ("data-installed");
  g_autofree char *out = g_build_filename (ns_test_tmpdir (), "installed.nii.gz", NULL);
  g_autofree char *model = g_build_filename (ns_test_tmpdir (), "prefix", "share", "neuroseg",
                                             "models", "default.safetensors", NULL);
  {
    g_autofree char *sout = NULL, *serr = NULL;
    int status = run_in (exe, "/tmp", data, &sout, &serr, "segment", "--device", "ref", "-o",
                         out, case_dir, NULL);
    g_assert_cmpint (status, ==, 0);
    assert_contains (sout, model);
    g_assert_null (strstr (sout, NS_SOURCE_DIR));
  }
  {
    g_autofree char *sout = NULL, *serr = NULL;
    g_assert_cmpint (run_in (exe, "/tmp", data, &sout, &serr, "models", "list", NULL), ==, 0);
    assert_contains (sout, " * v0");
    assert_contains (sout, model);
    assert_contains (sout, "default: v0, the shipped model");
  }
}

static void
test_no_shipped_model (void)
{
  g_autofree char *exe = install_copy ("bare-prefix", FALSE);
  g_autofree char *data = fresh_dir ("data-bare");
  g_autofree char *out = g_build_filename (ns_test_tmpdir (), "bare.nii.gz", NULL);
  g_autofree char *missing = g_build_filename (ns_test_tmpdir (), "bare-prefix", "share",
                                               "neuroseg", "models", "default.safetensors",
                                               NULL);
  g_autofree char *sout = NULL, *serr = NULL;
  int status = run_in (exe, "/tmp", data, &sout, &serr, "segment", "--device", "ref", "-o", out,
                       case_dir, NULL);
  g_assert_cmpint (status, ==, 1);
  g_assert_nonnull (strchr (serr, '\n'));
  g_assert_cmpint (strchr (serr, '\n')[1], ==, '\0');
  assert_contains (serr, missing);
  assert_contains (serr, "--model");
  g_assert_false (g_file_test (out, G_FILE_TEST_EXISTS));
}

/* A random-init model file (what `models register` loads). */
static char *
write_model (const char *name)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (NsBackend) be = ns_backend_new ("ref", &error);
  g_autoptr (NsModelMeta) meta = ns_model_meta_new_default ("mobilenetv2-unet");
  NsModelInit init = { NS_INIT_KAIMING, 0, 3 };
  g_autoptr (NsModel) m = ns_model_new (be, meta, &init, &error);
  g_assert_no_error (error);
  char *path = g_build_filename (ns_test_tmpdir (), name, NULL);
  g_assert_true (ns_checkpoint_save (m, path, NS_DTYPE_BF16, &error));
  g_assert_no_error (error);
  return path;
}

/* #12 item 4: a promoted model is what segment uses; a changed one is an error. */
static void
test_promoted_default (void)
{
  const char *exe = g_getenv ("NEUROSEG");
  g_autofree char *data = fresh_dir ("data-promoted");
  g_autofree char *model = write_model ("promoted.safetensors");
  g_autofree char *out = g_build_filename (ns_test_tmpdir (), "promoted.nii.gz", NULL);
  {
    g_autofree char *sout = NULL, *serr = NULL;
    g_assert_cmpint (run_in (exe, "/tmp", data, &sout, &serr, "models", "register", model,
                             NULL), ==, 0);
  }
  {
    g_autofree char *sout = NULL, *serr = NULL;
    g_assert_cmpint (run_in (exe, "/tmp", data, &sout, &serr, "models", "promote", "1",
                             "--force", "--yes", NULL), ==, 0);
  }
  {
    g_autofree char *sout = NULL, *serr = NULL;
    g_assert_cmpint (run_in (exe, "/tmp", data, &sout, &serr, "segment", "--device", "ref",
                             "-o", out, case_dir, NULL), ==, 0);
    assert_contains (sout, model);
    assert_contains (sout, "registry version 1, the registry's default (promoted on");
  }
  /* The promoted file changes: an error naming it, not the shipped model instead. */
  {
    g_autoptr (GError) error = NULL;
    g_autofree char *bytes = NULL;
    gsize len;
    g_assert_true (g_file_get_contents (model, &bytes, &len, &error));
    bytes[len - 1] ^= 1;
    g_assert_true (g_file_set_contents (model, bytes, len, &error));
    g_autofree char *sout = NULL, *serr = NULL;
    g_assert_cmpint (g_unlink (out), ==, 0);
    g_assert_cmpint (run_in (exe, "/tmp", data, &sout, &serr, "segment", "--device", "ref",
                             "-o", out, case_dir, NULL), ==, 1);
    assert_contains (serr, model);
    assert_contains (serr, "changed since model version 1 was registered");
    g_assert_false (g_file_test (out, G_FILE_TEST_EXISTS));
  }
}

/* `train --init default` fine-tunes the default (here the shipped model) and the new
 * model's registration finds it as the parent (version 0). */
static void
test_train_init_default (void)
{
  const char *exe = g_getenv ("NEUROSEG");
  g_autofree char *data = fresh_dir ("data-train");
  g_autofree char *out = g_build_filename (ns_test_tmpdir (), "tuned.safetensors", NULL);
  g_autofree char *sout = NULL, *serr = NULL;
  int status = run_in (exe, "/tmp", data, &sout, &serr, "train", "--data", case_dir,
                       "--init", "default", "--crop", "64", "--batch", "1", "--max-steps", "1",
                       "--steps-per-epoch", "1", "--epochs", "1", "--device", "ref",
                       "--json-progress", "-o", out, NULL);
  g_assert_cmpint (status, ==, 0);
  assert_contains (sout, "\"parent_version\":0");
  g_autoptr (GError) error = NULL;
  g_autoptr (NsModelMeta) meta = ns_checkpoint_read_meta (out, &error);
  g_assert_no_error (error);
  g_autofree char *shipped = ns_test_src_path ("resources", "models", "default.safetensors",
                                              NULL);
  g_assert_cmpstr (meta->parent, ==, shipped);

  g_clear_pointer (&sout, g_free);
  g_clear_pointer (&serr, g_free);
  g_assert_cmpint (run_in (exe, "/tmp", data, &sout, &serr, "models", "register", out, NULL),
                   ==, 0);
  assert_contains (sout, "from v0");
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  if (g_getenv ("NEUROSEG") == NULL)
    g_error ("$NEUROSEG (the binary under test) is not set");
  make_case ();
  g_test_add_func ("/cli/paths/segment-from-elsewhere", test_segment_from_elsewhere);
  g_test_add_func ("/cli/paths/installed-copy", test_installed_copy);
  g_test_add_func ("/cli/paths/no-shipped-model", test_no_shipped_model);
  g_test_add_func ("/cli/paths/promoted-default", test_promoted_default);
  g_test_add_func ("/cli/paths/train-init-default", test_train_init_default);
  return g_test_run ();
}
