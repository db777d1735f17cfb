/* SPDX-License-Identifier: MIT
 *
 * ns-text.c: see ns-text.h.  One pass over the bytes: each valid UTF-8 character is
 * either kept or escaped, each byte of an invalid sequence is escaped on its own, so the
 * output is always valid UTF-8 and says exactly which bytes were there.
 */
#define G_LOG_DOMAIN "neuroseg-data"

#include "ns-text.h"

#include <string.h>

/* Characters that act on a terminal or change how the text around them reads. */
static gboolean
needs_escape (gunichar c)
{
  if (c < 0x20 || c == 0x7f || (c >= 0x80 && c < 0xa0) || c == '\\')
    return TRUE;
  /* line and paragraph separators; bidirectional embeddings, overrides, isolates */
  return c == 0x2028 || c == 0x2029 || (c >= 0x202a && c <= 0x202e)
         || (c >= 0x2066 && c <= 0x2069);
}

/* The length of the valid UTF-8 character at p (at most end - p bytes), or 0. */
static gsize
char_length (const char *p, const char *end, gunichar *c)
{
  gunichar u = g_utf8_get_char_validated (p, end - p);
  if (u == (gunichar) -1 || u == (gunichar) -2)
    return 0;
  *c = u;
  return (gsize) (g_utf8_next_char (p) - p);
}

gboolean
ns_text_is_printable (const char *text)
{
  g_return_val_if_fail (text != NULL, FALSE);

  const char *end = text + strlen (text);
  for (const char *p = text; p < end;)
    {
      gunichar c;
      gsize n = char_length (p, end, &c);
      if (n == 0 || needs_escape (c))
        return FALSE;
      p += n;
    }
  return TRUE;
}

char *
ns_text_dup_printable (const char *text)
{
  if (text == NULL)
    return NULL;

  const char *end = text + strlen (text);
  GString *s = g_string_sized_new (end - text + 8);
  for (const char *p = text; p < end;)
    {
      gunichar c;
      gsize n = char_length (p, end, &c);
      if (n == 0)
        {
          g_string_append_printf (s, "\\x%02x", (guint8) *p);
          p++;
          continue;
        }
      if (!needs_escape (c))
        g_string_append_len (s, p, n);
      else if (c == '\n')
        g_string_append (s, "\\n");
      else if (c == '\r')
        g_string_append (s, "\\r");
      else if (c == '\t')
        g_string_append (s, "\\t");
      else if (c == '\\')
        g_string_append (s, "\\\\");
      else if (c < 0x80)
        g_string_append_printf (s, "\\x%02x", c);
      else
        g_string_append_printf (s, "\\u%04x", c);
      p += n;
    }
  return g_string_free (s, FALSE);
}
