/* SPDX-License-Identifier: MIT
 *
 * ns-paths.c: the program's own files from the executable's location (see ns-paths.h).
 *
 * Folders are compared after resolving symbolic links (realpath), since /proc/self/exe
 * is resolved and a build root reached through a link would otherwise never match.
 * Nothing is cached: the answer costs a readlink and a few stats, and tests change
 * NEUROSEG_SAMPLE_CASE between calls.
 */
#define G_LOG_DOMAIN "neuroseg-data"

#include "ns-paths.h"

#include "ns-config.h"
#include "ns-data-error.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>

/* path with symbolic links resolved, or a plain copy when it does not exist. */
static char *
resolve (const char *path)
{
  char *real = realpath (path, NULL);
  if (real == NULL)
    return g_canonicalize_filename (path, NULL);
  char *out = g_strdup (real);
  free (real);
  return out;
}

static gboolean
is_inside (const char *path, const char *folder)
{
  gsize n = strlen (folder);
  while (n > 1 && folder[n - 1] == G_DIR_SEPARATOR)
    n--;
  return strncmp (path, folder, n) == 0 && path[n] == G_DIR_SEPARATOR;
}

char *
ns_paths_resolve_data_dir (const char *exe, const char *build_root, const char *source_dir,
                           const char *datadir)
{
  g_return_val_if_fail (source_dir != NULL && datadir != NULL, NULL);

  if (exe != NULL && build_root != NULL)
    {
      g_autofree char *real_exe = resolve (exe);
      g_autofree char *real_root = resolve (build_root);
      if (is_inside (real_exe, real_root))
        return g_build_filename (source_dir, "resources", NULL);

      g_autofree char *exe_dir = g_path_get_dirname (real_exe);
      g_autofree char *prefix = g_path_get_dirname (exe_dir);
      g_autofree char *relocated = g_build_filename (prefix, "share", "neuroseg", NULL);
      if (g_file_test (relocated, G_FILE_TEST_IS_DIR))
        return g_steal_pointer (&relocated);
    }
  return g_strdup (datadir);
}

char *
ns_paths_dup_executable (void)
{
  g_autoptr (GError) local = NULL;
  char *exe = g_file_read_link ("/proc/self/exe", &local);
  if (exe == NULL)
    g_debug ("cannot read /proc/self/exe: %s", local->message);
  return exe;
}

char *
ns_paths_dup_data_dir (void)
{
  g_autofree char *exe = ns_paths_dup_executable ();
  return ns_paths_resolve_data_dir (exe, NS_BUILD_ROOT, NS_SOURCE_DIR, NS_DATADIR);
}

char *
ns_paths_dup_shipped_model (GError **error)
{
  g_autofree char *dir = ns_paths_dup_data_dir ();
  g_autofree char *path = g_build_filename (dir, "models", NS_PATHS_SHIPPED_MODEL, NULL);
  if (!g_file_test (path, G_FILE_TEST_IS_REGULAR))
    {
      g_set_error (error, NS_DATA_ERROR, NS_DATA_ERROR_NOT_FOUND,
                   "%s: the shipped model is not there (is neuroseg installed completely?)",
                   path);
      return NULL;
    }
  return g_steal_pointer (&path);
}

char *
ns_paths_dup_sample_case (GError **error)
{
  const char *env = g_getenv ("NEUROSEG_SAMPLE_CASE");
  g_autofree char *path = NULL;

  if (env != NULL && env[0] != '\0')
    path = g_strdup (env);
  else
    {
      g_autofree char *dir = ns_paths_dup_data_dir ();
      path = g_build_filename (dir, "samples", NS_PATHS_SAMPLE_CASE, NULL);
    }
  if (!g_file_test (path, G_FILE_TEST_EXISTS))
    {
      g_set_error (error, NS_DATA_ERROR, NS_DATA_ERROR_NOT_FOUND,
                   "%s: the bundled sample case is not there%s", path,
                   env != NULL && env[0] != '\0' ? " ($NEUROSEG_SAMPLE_CASE)"
                                                 : " (is neuroseg installed completely?)");
      return NULL;
    }
  return g_steal_pointer (&path);
}
