/* SPDX-License-Identifier: MIT
 *
 * ns-settings.c: the user's settings file (see ns-settings.h).  A GKeyFile rather than
 * GSettings: the program runs from its build folder and from a relocatable install, where
 * no compiled schema is found.
 */
#define G_LOG_DOMAIN "ns-settings"

#include "ns-settings.h"

#include <errno.h>
#include <glib/gstdio.h>

char *
ns_settings_dup_path (void)
{
  return g_build_filename (g_get_user_config_dir (), "neuroseg", "settings.ini", NULL);
}

char *
ns_settings_dup_string (const char *group, const char *key)
{
  g_autofree char *path = ns_settings_dup_path ();
  g_autoptr (GKeyFile) settings = g_key_file_new ();

  g_return_val_if_fail (group != NULL && key != NULL, NULL);

  if (!g_key_file_load_from_file (settings, path, G_KEY_FILE_NONE, NULL))
    return NULL;
  return g_key_file_get_string (settings, group, key, NULL);
}

gboolean
ns_settings_set_string (const char *group, const char *key, const char *value,
                        GError **error)
{
  g_autofree char *path = ns_settings_dup_path ();
  g_autofree char *dir = g_path_get_dirname (path);
  g_autoptr (GKeyFile) settings = g_key_file_new ();
  g_autoptr (GError) local = NULL;

  g_return_val_if_fail (group != NULL && key != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  if (!g_key_file_load_from_file (settings, path, G_KEY_FILE_KEEP_COMMENTS, &local)
      && !g_error_matches (local, G_FILE_ERROR, G_FILE_ERROR_NOENT))
    {
      g_propagate_prefixed_error (error, g_steal_pointer (&local), "%s: ", path);
      return FALSE;
    }
  g_clear_error (&local);        /* no file yet: a new one */
  if (value != NULL)
    g_key_file_set_string (settings, group, key, value);
  else
    g_key_file_remove_key (settings, group, key, NULL);
  if (g_mkdir_with_parents (dir, 0700) != 0)
    {
      int saved = errno;

      g_set_error (error, G_FILE_ERROR, g_file_error_from_errno (saved), "%s: %s", dir,
                   g_strerror (saved));
      return FALSE;
    }
  if (!g_key_file_save_to_file (settings, path, &local))
    {
      g_propagate_prefixed_error (error, g_steal_pointer (&local), "%s: ", path);
      return FALSE;
    }
  return TRUE;
}
