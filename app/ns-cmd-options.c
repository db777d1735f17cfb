/* SPDX-License-Identifier: MIT
 *
 * ns-cmd-options.c: the options of a subcommand, parsed with GOptionContext, and its
 * numeric options checked in one place (see NsCmdNumber in ns-cmd.h).
 *
 * A numeric option is read as text and converted here rather than by GOption's INT and
 * DOUBLE kinds: those take "nan", "inf" and any sign, and leave no way to tell an option
 * that was not given from one given the value its variable started with, so that
 * `--lr -5` used to fall back to the default without a word.  Here the whole text must be
 * the number, finite, inside the option's range, or the command stops with a usage
 * error that names the option, the values it takes and what was given.
 */
#define G_LOG_DOMAIN "neuroseg"

#include "ns-cmd.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

/* "a whole number from 1 to 4096", "a number greater than 0 and at most 1", ... */
static char *
range_text (const NsCmdNumber *n)
{
  gboolean whole = n->type != NS_CMD_DOUBLE;
  const char *kind = whole ? "a whole number" : "a number";
  gboolean has_max = isfinite (n->max);
  g_autofree char *lo = whole ? g_strdup_printf ("%.0f", n->min) : g_strdup_printf ("%g", n->min);
  g_autofree char *hi = whole ? g_strdup_printf ("%.0f", n->max) : g_strdup_printf ("%g", n->max);

  if (!isfinite (n->min) && !has_max)
    return g_strdup_printf ("%s", kind);
  if (!isfinite (n->min))
    return g_strdup_printf ("%s of at most %s", kind, hi);
  if (n->above_min)
    return has_max ? g_strdup_printf ("%s greater than %s and at most %s", kind, lo, hi)
                   : g_strdup_printf ("%s greater than %s", kind, lo);
  return has_max ? g_strdup_printf ("%s from %s to %s", kind, lo, hi)
                 : g_strdup_printf ("%s of at least %s", kind, lo);
}

static gboolean
in_range (const NsCmdNumber *n, double v)
{
  if (n->above_min ? !(v > n->min) : !(v >= n->min))
    return FALSE;
  return v <= n->max;
}

/* Converts text into *n->value; FALSE (nothing stored) when it is not a number of the
 * option's type inside its range. */
static gboolean
convert (const NsCmdNumber *n, const char *text)
{
  char *end = NULL;

  if (text[0] == '\0' || g_ascii_isspace (text[0]))
    return FALSE;
  errno = 0;
  if (n->type == NS_CMD_DOUBLE)
    {
      double v = g_ascii_strtod (text, &end);
      if (*end != '\0' || errno != 0 || !isfinite (v) || !in_range (n, v))
        return FALSE;
      *(double *) n->value = v;
      return TRUE;
    }
  gint64 v = g_ascii_strtoll (text, &end, 10);
  if (*end != '\0' || errno != 0 || !in_range (n, (double) v))
    return FALSE;
  if (n->type == NS_CMD_INT)
    {
      if (v < G_MININT || v > G_MAXINT)
        return FALSE;
      *(int *) n->value = (int) v;
    }
  else
    *(gint64 *) n->value = v;
  return TRUE;
}

gboolean
ns_cmd_parse_options (const char *cmd, const char *params, const char *summary,
                      const GOptionEntry *entries, const GOptionEntry *more,
                      const NsCmdNumber *numbers, int *argc, char ***argv, int *status)
{
  g_autoptr (GOptionContext) context = NULL;
  g_autoptr (GError) error = NULL;
  gsize n_entries = 0, n_numbers = 0;

  while (entries != NULL && entries[n_entries].long_name != NULL)
    n_entries++;
  while (numbers != NULL && numbers[n_numbers].long_name != NULL)
    n_numbers++;

  /* The numbers as string options, after the others. */
  g_autofree GOptionEntry *all = g_new0 (GOptionEntry, n_entries + n_numbers + 1);
  g_autofree char **texts = g_new0 (char *, n_numbers + 1);
  if (n_entries > 0)
    memcpy (all, entries, n_entries * sizeof *all);
  for (gsize i = 0; i < n_numbers; i++)
    {
      const NsCmdNumber *n = &numbers[i];
      g_return_val_if_fail (n->value != NULL && !(n->min > n->max), FALSE);
      all[n_entries + i] = (GOptionEntry) { n->long_name, n->short_name, 0,
                                            G_OPTION_ARG_STRING, &texts[i], n->description,
                                            n->arg_description };
    }

  /* GOption prints argv[0] ("neuroseg COMMAND") before this. */
  context = g_option_context_new (params);
  g_option_context_set_summary (context, summary);
  g_option_context_add_main_entries (context, all, NULL);
  if (more != NULL)
    g_option_context_add_main_entries (context, more, NULL);
  g_option_context_set_help_enabled (context, TRUE);
  gboolean ok = g_option_context_parse (context, argc, argv, &error);
  if (!ok)
    fprintf (stderr, "neuroseg %s: %s\n", cmd, ns_cmd_printable (error->message));

  for (gsize i = 0; ok && i < n_numbers; i++)
    {
      const NsCmdNumber *n = &numbers[i];
      if (texts[i] == NULL)
        continue;
      if (!convert (n, texts[i]))
        {
          g_autofree char *range = range_text (n);
          fprintf (stderr, "neuroseg %s: --%s takes %s, not '%s'\n", cmd, n->long_name, range,
                   ns_cmd_printable (texts[i]));
          ok = FALSE;
          break;
        }
      if (n->given != NULL)
        *n->given = TRUE;
    }
  for (gsize i = 0; i < n_numbers; i++)
    g_free (texts[i]);
  *status = ok ? 0 : 2;
  return ok;
}

gboolean
ns_cmd_parse_with_db (const char *cmd, const char *params, const char *summary,
                      const GOptionEntry *entries, const NsCmdNumber *numbers, char **db,
                      int *argc, char ***argv, int *status)
{
  gsize n = 0;

  while (entries != NULL && entries[n].long_name != NULL)
    n++;
  g_autofree GOptionEntry *all = g_new0 (GOptionEntry, n + 2);
  if (n > 0)
    memcpy (all, entries, n * sizeof *all);
  all[n] = (GOptionEntry) { "db", 0, 0, G_OPTION_ARG_FILENAME, db,
                            "The database (default: $NEUROSEG_DATA_DIR/neuroseg.db or the user "
                            "data folder)", "FILE" };
  return ns_cmd_parse_options (cmd, params, summary, all, NULL, numbers, argc, argv, status);
}
