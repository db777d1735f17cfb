/* SPDX-License-Identifier: MIT
 *
 * ns-settings.h: the user's settings, one GKeyFile at $XDG_CONFIG_HOME/neuroseg/settings.ini
 * (groups: "corrections" for the corrections folder, "view" for the layout, "slurm" for the
 * Fine-tune dialog's cluster options and where the last run went).  Small values
 * read and written whole; a setting that cannot be read counts as unset.
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* The settings file's path (owned). */
char     *ns_settings_dup_path   (void);
/* The value of group/key (owned), NULL when unset or the file cannot be read. */
char     *ns_settings_dup_string (const char *group, const char *key);
/* Sets group/key to value (NULL: removes it), keeping the file's other settings and
 * comments; the error names the file. */
gboolean  ns_settings_set_string (const char *group, const char *key, const char *value,
                                  GError **error);

G_END_DECLS
