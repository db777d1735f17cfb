/* SPDX-License-Identifier: MIT
 *
 * ns-cmd-output.c: the files a subcommand writes, checked before any work is done: none
 * is an input of the run (data/ns-file.h compares files, so a link or another spelling of
 * an input is caught too), no two share a path, and none already exists unless --force
 * says it may be replaced.  The writers themselves write a temporary file and rename it,
 * so a run that fails halfway leaves whatever was there before.  Every file of a DICOM
 * folder given as a case counts as an input (its scan reads them all).
 */
#define G_LOG_DOMAIN "neuroseg"

#include "ns-cmd.h"

#include "ns-data-error.h"
#include "ns-dicom.h"
#include "ns-file.h"

void
ns_cmd_add_case_inputs (GPtrArray *inputs, const NsCase *ncase)
{
  for (int f = 0; f < NS_N_CASE_FILES; f++)
    if (ncase->paths[f] != NULL)
      g_ptr_array_add (inputs, g_strdup (ncase->paths[f]));
}

/* Every regular file under dir (sub-folders to depth levels, links to folders not
 * followed): the files a DICOM folder's scan may read. */
static gboolean
add_folder_files (GPtrArray *inputs, const char *dir, int depth, GError **error)
{
  g_autoptr (GError) local = NULL;
  g_autoptr (GDir) d = g_dir_open (dir, 0, &local);
  const char *name;

  if (d == NULL)
    {
      g_set_error (error, NS_DATA_ERROR, NS_DATA_ERROR_IO, "%s: %s", dir, local->message);
      return FALSE;
    }
  while ((name = g_dir_read_name (d)) != NULL)
    {
      g_autofree char *path = g_build_filename (dir, name, NULL);
      if (g_file_test (path, G_FILE_TEST_IS_DIR))
        {
          if (depth > 0 && !g_file_test (path, G_FILE_TEST_IS_SYMLINK)
              && !add_folder_files (inputs, path, depth - 1, error))
            return FALSE;
        }
      else if (g_file_test (path, G_FILE_TEST_IS_REGULAR))
        g_ptr_array_add (inputs, g_steal_pointer (&path));
    }
  return TRUE;
}

gboolean
ns_cmd_add_case_path_inputs (GPtrArray *inputs, const char *path, GError **error)
{
  char *parts[NS_N_CASE_FILES] = { NULL };

  /* a DICOM case is read from a folder's files: every one is an input */
  if (ns_dicom_is_case_path (path))
    {
      g_autofree char *dir = g_file_test (path, G_FILE_TEST_IS_DIR) ? g_strdup (path)
                                                                    : g_path_get_dirname (path);
      return add_folder_files (inputs, dir, 8, error);
    }
  if (!g_file_test (path, G_FILE_TEST_IS_DIR))
    {
      /* a missing case is reported as such, before any output is looked at */
      if (!ns_file_check_regular (path, error))
        return FALSE;
      g_ptr_array_add (inputs, g_strdup (path));
      return TRUE;
    }
  if (!ns_case_discover (path, parts, error))
    return FALSE;
  for (int f = 0; f < NS_N_CASE_FILES; f++)
    if (parts[f] != NULL)
      g_ptr_array_add (inputs, parts[f]);
  return TRUE;
}

gboolean
ns_cmd_check_outputs (const char *const *outputs, const char *const *inputs, gboolean force,
                      GError **error)
{
  g_autoptr (GPtrArray) seen = g_ptr_array_new_with_free_func (g_free);

  for (const char *const *out = outputs; *out != NULL; out++)
    {
      g_autofree char *canonical = g_canonicalize_filename (*out, NULL);
      for (guint i = 0; i < seen->len; i++)
        if (g_strcmp0 (seen->pdata[i], canonical) == 0)
          {
            g_set_error (error, NS_DATA_ERROR, NS_DATA_ERROR_INVALID,
                         "%s: two outputs of this run would be written to this file", *out);
            return FALSE;
          }
      g_ptr_array_add (seen, g_steal_pointer (&canonical));

      g_autoptr (GError) local = NULL;
      if (!ns_file_check_output (*out, inputs, force, &local))
        {
          if (g_error_matches (local, NS_DATA_ERROR, NS_DATA_ERROR_REFUSED))
            g_set_error (error, NS_DATA_ERROR, NS_DATA_ERROR_REFUSED,
                         "%s (--force replaces it)", local->message);
          else
            g_propagate_error (error, g_steal_pointer (&local));
          return FALSE;
        }
    }
  return TRUE;
}
