/* SPDX-License-Identifier: MIT
 *
 * test-data-paths.c: where the program finds its own files (data/ns-paths.h): the rule on
 * made-up layouts (an executable in the build tree, reached through a link too; an
 * installed one, also moved to another prefix; one whose prefix has no data; a folder
 * that merely starts like the build root), and the running test program, which lies in the
 * build tree: the source tree's shipped model and sample case, $NEUROSEG_SAMPLE_CASE, and
 * errors that name what is missing.  The working directory never matters.
 */
#include "ns-test-util.h"

#include "ns-config.h"
#include "ns-data-error.h"
#include "ns-paths.h"

#include <glib/gstdio.h>
#include <string.h>
#include <unistd.h>

static char *
make_dirs (const char *root, const char *rel)
{
  char *path = g_build_filename (root, rel, NULL);
  g_assert_cmpint (g_mkdir_with_parents (path, 0755), ==, 0);
  return path;
}

static void
test_resolve (void)
{
  g_autofree char *root = g_build_filename (ns_test_tmpdir (), "layouts", NULL);
  g_autofree char *src = make_dirs (root, "src");
  g_autofree char *build_app = make_dirs (root, "src/build/app");
  g_autofree char *build = g_build_filename (src, "build", NULL);
  g_autofree char *moved_share = make_dirs (root, "moved/share/neuroseg");
  g_autofree char *moved_bin = make_dirs (root, "moved/bin");
  g_autofree char *bare_bin = make_dirs (root, "bare/bin");
  g_autofree char *twin_app = make_dirs (root, "src/build2/app");
  const char *datadir = "/usr/local/share/neuroseg";
  g_autofree char *resources = g_build_filename (src, "resources", NULL);

  /* In the build tree: the source tree's resources, wherever the working directory is. */
  g_autofree char *exe = g_build_filename (build_app, "neuroseg", NULL);
  g_autofree char *d1 = ns_paths_resolve_data_dir (exe, build, src, datadir);
  g_assert_cmpstr (d1, ==, resources);
  g_autofree char *cwd = g_get_current_dir ();
  g_assert_cmpint (chdir ("/"), ==, 0);
  g_autofree char *d1b = ns_paths_resolve_data_dir (exe, build, src, datadir);
  g_assert_cmpint (chdir (cwd), ==, 0);
  g_assert_cmpstr (d1b, ==, resources);

  /* A build root reached through a symbolic link. */
  g_autofree char *link = g_build_filename (root, "build-link", NULL);
  g_assert_cmpint (symlink (build, link), ==, 0);
  g_autofree char *d2 = ns_paths_resolve_data_dir (exe, link, src, datadir);
  g_assert_cmpstr (d2, ==, resources);

  /* Installed and moved to another prefix: <exe_dir>/../share/neuroseg. */
  g_autofree char *moved = g_build_filename (moved_bin, "neuroseg", NULL);
  g_autofree char *d3 = ns_paths_resolve_data_dir (moved, build, src, datadir);
  g_assert_cmpstr (d3, ==, moved_share);

  /* Installed where no data folder is beside it: the compile-time one, never the source
   * tree (which the old rule preferred for an installed binary). */
  g_autofree char *bare = g_build_filename (bare_bin, "neuroseg", NULL);
  g_autofree char *d4 = ns_paths_resolve_data_dir (bare, build, src, datadir);
  g_assert_cmpstr (d4, ==, datadir);

  /* ".../build2" merely starts like ".../build". */
  g_autofree char *twin = g_build_filename (twin_app, "neuroseg", NULL);
  g_autofree char *d5 = ns_paths_resolve_data_dir (twin, build, src, datadir);
  g_assert_cmpstr (d5, ==, datadir);

  /* Without a known executable: the compile-time folder. */
  g_autofree char *d6 = ns_paths_resolve_data_dir (NULL, build, src, datadir);
  g_assert_cmpstr (d6, ==, datadir);
}

/* This program is in the build tree: the source tree's files, by absolute path. */
static void
test_running_program (void)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *exe = ns_paths_dup_executable ();
  g_assert_nonnull (exe);
  g_assert_true (g_path_is_absolute (exe));

  g_autofree char *data = ns_paths_dup_data_dir ();
  g_autofree char *want = g_build_filename (NS_SOURCE_DIR, "resources", NULL);
  g_assert_cmpstr (data, ==, want);

  g_autofree char *model = ns_paths_dup_shipped_model (&error);
  g_assert_no_error (error);
  g_autofree char *want_model = g_build_filename (want, "models", NS_PATHS_SHIPPED_MODEL, NULL);
  g_assert_cmpstr (model, ==, want_model);

  g_autofree char *old = g_strdup (g_getenv ("NEUROSEG_SAMPLE_CASE"));
  g_unsetenv ("NEUROSEG_SAMPLE_CASE");
  g_autofree char *sample = ns_paths_dup_sample_case (&error);
  g_assert_no_error (error);
  g_autofree char *want_sample = g_build_filename (want, "samples", NS_PATHS_SAMPLE_CASE,
                                                   NULL);
  g_assert_cmpstr (sample, ==, want_sample);

  /* The override, and a missing one named. */
  g_setenv ("NEUROSEG_SAMPLE_CASE", ns_test_tmpdir (), TRUE);
  g_autofree char *env = ns_paths_dup_sample_case (&error);
  g_assert_cmpstr (env, ==, ns_test_tmpdir ());
  g_setenv ("NEUROSEG_SAMPLE_CASE", "/no/such/sample", TRUE);
  g_autofree char *missing = ns_paths_dup_sample_case (&error);
  g_assert_null (missing);
  g_assert_error (error, NS_DATA_ERROR, NS_DATA_ERROR_NOT_FOUND);
  g_assert_true (g_str_has_prefix (error->message, "/no/such/sample"));
  g_assert_nonnull (strstr (error->message, "NEUROSEG_SAMPLE_CASE"));
  if (old != NULL)
    g_setenv ("NEUROSEG_SAMPLE_CASE", old, TRUE);
  else
    g_unsetenv ("NEUROSEG_SAMPLE_CASE");
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/data/paths/resolve", test_resolve);
  g_test_add_func ("/data/paths/running-program", test_running_program);
  return g_test_run ();
}
