/* SPDX-License-Identifier: MIT
 *
 * ns-label-table.c: label palettes and ITK-SNAP label description files.
 *
 * 256 slots indexed by value; a small table, so lookups are direct and the value order
 * is the slot order.
 */
#define G_LOG_DOMAIN "neuroseg-data"

#include "ns-label-table.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ns-data-error.h"

struct _NsLabelTable
{
  gboolean present[256];
  NsLabelEntry entries[256];
};

NsLabelTable *
ns_label_table_new (void)
{
  NsLabelTable *table = g_new0 (NsLabelTable, 1);
  const guint8 clear[4] = { 0, 0, 0, 0 };
  ns_label_table_set (table, 0, "Clear Label", clear, FALSE, FALSE);
  return table;
}

NsLabelTable *
ns_label_table_new_for_scheme (NsLabelScheme scheme)
{
  NsLabelTable *table = ns_label_table_new ();
  guint n = 0;
  const NsLabelClass *classes = ns_label_scheme_classes (scheme, &n);
  for (guint i = 0; i < n; i++)
    ns_label_table_set (table, classes[i].value, classes[i].short_name, classes[i].rgba, TRUE,
                        FALSE);
  return table;
}

NsLabelTable *
ns_label_table_copy (const NsLabelTable *table)
{
  g_return_val_if_fail (table != NULL, NULL);
  NsLabelTable *copy = g_new0 (NsLabelTable, 1);
  for (int v = 0; v < 256; v++)
    if (table->present[v])
      {
        const NsLabelEntry *e = &table->entries[v];
        ns_label_table_set (copy, v, e->name, e->rgba, e->visible, e->locked);
        copy->entries[v].mesh_visible = e->mesh_visible;
      }
  return copy;
}

void
ns_label_table_free (NsLabelTable *table)
{
  if (table == NULL)
    return;
  for (int v = 0; v < 256; v++)
    g_free (table->entries[v].name);
  g_free (table);
}

guint
ns_label_table_n_entries (const NsLabelTable *table)
{
  g_return_val_if_fail (table != NULL, 0);
  guint n = 0;
  for (int v = 0; v < 256; v++)
    n += table->present[v];
  return n;
}

const NsLabelEntry *
ns_label_table_get_nth (const NsLabelTable *table, guint i)
{
  g_return_val_if_fail (table != NULL, NULL);
  for (int v = 0; v < 256; v++)
    if (table->present[v] && i-- == 0)
      return &table->entries[v];
  return NULL;
}

const NsLabelEntry *
ns_label_table_lookup (const NsLabelTable *table, guint8 value)
{
  g_return_val_if_fail (table != NULL, NULL);
  return table->present[value] ? &table->entries[value] : NULL;
}

static char *
clean_name (const char *name)
{
  char *s = g_strdup (name != NULL ? name : "");
  for (char *p = s; *p; p++)
    if (*p == '"')
      *p = '\'';
    else if (*p == '\n' || *p == '\r')
      *p = ' ';
  return s;
}

void
ns_label_table_set (NsLabelTable *table, guint8 value, const char *name, const guint8 rgba[4],
                    gboolean visible, gboolean locked)
{
  g_return_if_fail (table != NULL && rgba != NULL);
  NsLabelEntry *e = &table->entries[value];
  g_free (e->name);
  e->value = value;
  e->name = clean_name (name);
  memcpy (e->rgba, rgba, 4);
  e->visible = visible;
  e->mesh_visible = visible;
  e->locked = locked;
  table->present[value] = TRUE;
}

gboolean
ns_label_table_set_locked (NsLabelTable *table, guint8 value, gboolean locked)
{
  g_return_val_if_fail (table != NULL, FALSE);
  if (!table->present[value])
    return FALSE;
  table->entries[value].locked = locked;
  return TRUE;
}

gboolean
ns_label_table_set_visible (NsLabelTable *table, guint8 value, gboolean visible)
{
  g_return_val_if_fail (table != NULL, FALSE);
  if (!table->present[value])
    return FALSE;
  table->entries[value].visible = visible;
  return TRUE;
}

gboolean
ns_label_table_remove (NsLabelTable *table, guint8 value)
{
  g_return_val_if_fail (table != NULL, FALSE);
  if (value == 0 || !table->present[value])
    return FALSE;
  g_clear_pointer (&table->entries[value].name, g_free);
  table->present[value] = FALSE;
  return TRUE;
}

guint8
ns_label_table_next_free (const NsLabelTable *table)
{
  g_return_val_if_fail (table != NULL, 0);
  for (int v = 1; v < 256; v++)
    if (!table->present[v])
      return v;
  return 0;
}

void
ns_label_table_fill_locks (const NsLabelTable *table, guint8 locked[256])
{
  g_return_if_fail (table != NULL && locked != NULL);
  for (int v = 0; v < 256; v++)
    locked[v] = table->present[v] && table->entries[v].locked;
}

gboolean
ns_label_table_save (const NsLabelTable *table, const char *path, GError **error)
{
  g_return_val_if_fail (table != NULL && path != NULL, FALSE);
  g_autoptr (GString) s = g_string_new (NULL);
  g_string_append (s,
                   "################################################\n"
                   "# ITK-SnAP Label Description File\n"
                   "# File format: \n"
                   "# IDX   -R-  -G-  -B-  -A--  VIS MSH  LABEL\n"
                   "# Fields: \n"
                   "#    IDX:   Zero-based index \n"
                   "#    -R-:   Red color component (0..255)\n"
                   "#    -G-:   Green color component (0..255)\n"
                   "#    -B-:   Blue color component (0..255)\n"
                   "#    -A-:   Label transparency (0.00 .. 1.00)\n"
                   "#    VIS:   Label visibility (0 or 1)\n"
                   "#    MSH:   Label mesh visibility (0 or 1)\n"
                   "#  LABEL:   Label description \n"
                   "# Written by Neuroseg; locked labels are listed below.\n"
                   "################################################\n");
  g_string_append (s, "# neuroseg-locked:");
  for (int v = 0; v < 256; v++)
    if (table->present[v] && table->entries[v].locked)
      g_string_append_printf (s, " %d", v);
  g_string_append_c (s, '\n');
  for (int v = 0; v < 256; v++)
    {
      if (!table->present[v])
        continue;
      const NsLabelEntry *e = &table->entries[v];
      char alpha[G_ASCII_DTOSTR_BUF_SIZE];
      g_ascii_formatd (alpha, sizeof alpha, "%.4g", e->rgba[3] / 255.0);
      g_string_append_printf (s, "%5d %5d %4d %4d %8s %2d %2d    \"%s\"\n", v, e->rgba[0],
                              e->rgba[1], e->rgba[2], alpha, e->visible ? 1 : 0,
                              e->mesh_visible ? 1 : 0, e->name);
    }
  g_autoptr (GError) local = NULL;
  if (!g_file_set_contents_full (path, s->str, (gssize) s->len,
                                 G_FILE_SET_CONTENTS_CONSISTENT | G_FILE_SET_CONTENTS_DURABLE,
                                 0644, &local))
    {
      g_set_error (error, NS_DATA_ERROR, NS_DATA_ERROR_IO, "%s: cannot write: %s", path,
                   local->message);
      return FALSE;
    }
  return TRUE;
}

/* Parses an integer field in [lo, hi]; advances *p. */
static gboolean
parse_int (char **p, long lo, long hi, long *out)
{
  char *end;
  errno = 0;
  long v = strtol (*p, &end, 10);
  if (end == *p || errno != 0 || v < lo || v > hi)
    return FALSE;
  *p = end;
  *out = v;
  return TRUE;
}

NsLabelTable *
ns_label_table_load (const char *path, GError **error)
{
  g_return_val_if_fail (path != NULL, NULL);
  g_autofree char *text = NULL;
  g_autoptr (GError) local = NULL;
  if (!g_file_get_contents (path, &text, NULL, &local))
    {
      g_set_error (error, NS_DATA_ERROR,
                   g_error_matches (local, G_FILE_ERROR, G_FILE_ERROR_NOENT)
                     ? NS_DATA_ERROR_NOT_FOUND : NS_DATA_ERROR_IO,
                   "%s: cannot read: %s", path, local->message);
      return NULL;
    }
  g_autoptr (NsLabelTable) table = g_new0 (NsLabelTable, 1);
  g_auto (GStrv) lines = g_strsplit (text, "\n", -1);
  GArray *locked = g_array_new (FALSE, FALSE, sizeof (guint8));
  for (guint ln = 0; lines[ln] != NULL; ln++)
    {
      char *p = g_strstrip (lines[ln]);
      if (*p == '\0')
        continue;
      if (*p == '#')
        {
          const char *key = "# neuroseg-locked:";
          if (g_str_has_prefix (p, key))
            {
              char *q = p + strlen (key);
              long v;
              while (*q == ' ' || *q == '\t')
                q++;
              while (*q != '\0' && parse_int (&q, 0, 255, &v))
                {
                  guint8 b = (guint8) v;
                  g_array_append_val (locked, b);
                  while (*q == ' ' || *q == '\t')
                    q++;
                }
            }
          continue;
        }
      long f[3 + 1 + 2];
      guint8 rgba[4];
      double alpha = 1.0;
      gboolean ok = parse_int (&p, 0, 255, &f[0]) && parse_int (&p, 0, 255, &f[1])
                    && parse_int (&p, 0, 255, &f[2]) && parse_int (&p, 0, 255, &f[3]);
      if (ok)
        {
          char *end;
          alpha = g_ascii_strtod (p, &end);
          ok = end != p && isfinite (alpha) && alpha >= 0.0 && alpha <= 1.0;
          p = end;
        }
      ok = ok && parse_int (&p, 0, 1, &f[4]) && parse_int (&p, 0, 1, &f[5]);
      char *open = ok ? strchr (p, '"') : NULL;
      char *close = open != NULL ? strrchr (open + 1, '"') : NULL;
      if (close == NULL)
        {
          g_array_unref (locked);
          g_set_error (error, NS_DATA_ERROR, NS_DATA_ERROR_CORRUPT,
                       "%s: line %u: not an ITK-SNAP label description "
                       "(IDX R G B A VIS MSH \"LABEL\")", path, ln + 1);
          return NULL;
        }
      *close = '\0';
      rgba[0] = f[1];
      rgba[1] = f[2];
      rgba[2] = f[3];
      rgba[3] = (guint8) lround (alpha * 255.0);
      ns_label_table_set (table, (guint8) f[0], open + 1, rgba, f[4] != 0, FALSE);
      table->entries[f[0]].mesh_visible = f[5] != 0;
    }
  for (guint i = 0; i < locked->len; i++)
    ns_label_table_set_locked (table, g_array_index (locked, guint8, i), TRUE);
  g_array_unref (locked);
  if (!table->present[0])
    {
      const guint8 clear[4] = { 0, 0, 0, 0 };
      ns_label_table_set (table, 0, "Clear Label", clear, FALSE, FALSE);
    }
  return g_steal_pointer (&table);
}

char *
ns_label_table_path_for_mask (const char *mask_path)
{
  g_return_val_if_fail (mask_path != NULL, NULL);
  gsize len = strlen (mask_path);
  const char *suffixes[] = { ".nii.gz", ".nii", ".gz" };
  for (gsize i = 0; i < G_N_ELEMENTS (suffixes); i++)
    if (g_str_has_suffix (mask_path, suffixes[i]))
      {
        len -= strlen (suffixes[i]);
        break;
      }
  g_autofree char *stem = g_strndup (mask_path, len);
  return g_strconcat (stem, ".labels.txt", NULL);
}
