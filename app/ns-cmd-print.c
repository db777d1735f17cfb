/* SPDX-License-Identifier: MIT
 *
 * ns-cmd-print.c: what every subcommand prints through: errors as one line, strings from
 * users, files and the database made printable (data/ns-text.h), JSON documents.
 *
 * ns_cmd_printable () returns its argument itself when it is printable, which is nearly
 * always, so that a table of a thousand cases costs no copies; the escaped copies of the
 * rest are kept until the program ends, so that a call can sit inside a printf argument
 * list without a variable of its own.
 */
#define G_LOG_DOMAIN "neuroseg"

#include "ns-cmd.h"

#include "ns-text.h"

#include <json-glib/json-glib.h>
#include <math.h>
#include <stdio.h>
#include <unistd.h>

G_LOCK_DEFINE_STATIC (escaped);
static GPtrArray *escaped;   /* char *: the copies ns_cmd_printable () handed out */

const char *
ns_cmd_printable (const char *text)
{
  if (text == NULL || ns_text_is_printable (text))
    return text;
  char *copy = ns_text_dup_printable (text);
  G_LOCK (escaped);
  if (escaped == NULL)
    escaped = g_ptr_array_new_with_free_func (g_free);
  g_ptr_array_add (escaped, copy);
  G_UNLOCK (escaped);
  return copy;
}

int
ns_cmd_print_error (const GError *error)
{
  fprintf (stderr, "neuroseg: %s\n",
           error != NULL ? ns_cmd_printable (error->message) : "unknown error");
  return 1;
}

char *
ns_cmd_dup_number_text (double value, const char *format)
{
  return isfinite (value) ? g_strdup_printf (format, value) : g_strdup ("-");
}

int
ns_cmd_usage_error (const char *cmd, const char *message)
{
  fprintf (stderr, "neuroseg %s: %s (neuroseg %s --help)\n", cmd, ns_cmd_printable (message),
           cmd);
  return 2;
}

void
ns_cmd_print_json (JsonNode *root, gboolean pretty)
{
  g_autofree char *text = json_to_string (root, pretty);
  printf ("%s\n", text);
  fflush (stdout);
}

gboolean
ns_cmd_stdout_is_tty (void)
{
  return isatty (STDOUT_FILENO);
}
