/* SPDX-License-Identifier: MIT
 *
 * ns-test-script.c: the NEUROSEG_TEST_SCRIPT interpreter (see ns-test-script.h).  It
 * answers the recovery question through the dialog's own response, as a click would.
 */
#define G_LOG_DOMAIN "ns-test-script"

#include "ns-test-script.h"

#include <stdlib.h>

#include "ns-window-private.h"

static gboolean
parse_plane (const char *word, NsPlane *plane)
{
  for (int p = 0; p < NS_N_PLANES; p++)
    if (g_strcmp0 (word, ns_plane_to_string (p)) == 0)
      {
        *plane = p;
        return TRUE;
      }
  return FALSE;
}

/* paint|erase PLANE I J K [I J K ...] [label L] [radius R]; FALSE without error: the line
 * does not parse. */
static gboolean
run_stroke (NsWindow *self, GPtrArray *w, GError **error)
{
  NsPlane plane;
  const NsPlaneGeometry *geom;
  g_autoptr (GArray) points = g_array_new (FALSE, FALSE, sizeof (double));
  guint i = 2;

  if (ns_editor_get_doc (self->editor) == NULL)
    {
      g_set_error (error, NS_EDIT_ERROR, NS_EDIT_ERROR_INVALID, "no mask is open");
      return FALSE;
    }
  if (w->len < 5 || !parse_plane (w->pdata[1], &plane))
    return FALSE;
  for (; i + 2 < w->len && g_ascii_isdigit (((char *) w->pdata[i])[0]); i += 3)
    for (int a = 0; a < 3; a++)
      {
        double v = g_ascii_strtod (w->pdata[i + a], NULL);
        g_array_append_val (points, v);
      }
  for (; i + 1 < w->len; i += 2)
    {
      if (g_str_equal (w->pdata[i], "label"))
        ns_editor_set_label (self->editor, (guint8) atoi (w->pdata[i + 1]));
      else if (g_str_equal (w->pdata[i], "radius"))
        ns_editor_set_radius (self->editor, g_ascii_strtod (w->pdata[i + 1], NULL));
      else
        return FALSE;
    }
  if (i != w->len || points->len == 0)
    return FALSE;
  ns_editor_set_tool (self->editor, g_str_equal (w->pdata[0], "paint") ? NS_TOOL_BRUSH
                                                                       : NS_TOOL_ERASER);
  ns_editor_set_three_d (self->editor, FALSE);
  geom = ns_slice_view_get_geometry (ns_window_get_slice_view (self, plane));
  if (geom == NULL
      || !ns_editor_stroke_begin (self->editor, geom, &g_array_index (points, double, 0)))
    {
      g_set_error (error, NS_EDIT_ERROR, NS_EDIT_ERROR_INVALID, "cannot paint");
      return FALSE;
    }
  for (guint p = 1; p < points->len / 3; p++)
    ns_editor_stroke_add (self->editor, &g_array_index (points, double, 3 * p));
  ns_editor_stroke_end (self->editor);
  return TRUE;
}

gboolean
ns_test_script_run_line (NsWindow *self, const char *line, GError **error)
{
  g_auto (GStrv) words = NULL;
  g_autoptr (GPtrArray) w = g_ptr_array_new ();
  const char *verb;
  GError *local = NULL;

  g_return_val_if_fail (NS_IS_WINDOW (self), FALSE);

  words = g_strsplit_set (line, " \t\r\n", -1);
  for (guint i = 0; words[i] != NULL; i++)
    if (words[i][0] != '\0')
      g_ptr_array_add (w, words[i]);
  if (w->len == 0 || ((char *) w->pdata[0])[0] == '#')
    return TRUE;
  verb = w->pdata[0];

  if (g_str_equal (verb, "paint") || g_str_equal (verb, "erase"))
    {
      if (run_stroke (self, w, &local))
        return TRUE;
      if (local != NULL)
        {
          g_propagate_error (error, local);
          return FALSE;
        }
    }
  else if (g_str_equal (verb, "undo") && w->len == 1)
    {
      if (ns_editor_undo (self->editor, 1) == 1)
        return TRUE;
      g_set_error (error, NS_EDIT_ERROR, NS_EDIT_ERROR_INVALID, "nothing to undo");
      return FALSE;
    }
  else if ((g_str_equal (verb, "recover") || g_str_equal (verb, "discard")) && w->len == 1)
    {
      if (self->recovery == NULL)
        {
          g_set_error (error, NS_EDIT_ERROR, NS_EDIT_ERROR_INVALID, "no recovery was offered");
          return FALSE;
        }
      gtk_dialog_response (GTK_DIALOG (self->recovery),
                           g_str_equal (verb, "recover") ? NS_WINDOW_RESPONSE_RECOVER
                                                         : NS_WINDOW_RESPONSE_DISCARD);
      return TRUE;
    }
  else if (g_str_equal (verb, "save") && w->len <= 2)
    return ns_editor_save (self->editor, w->len == 2 ? w->pdata[1] : NULL, TRUE, error);
  else if (g_str_equal (verb, "quit") && w->len == 1)
    {
      self->close_confirmed = TRUE;
      gtk_window_destroy (GTK_WINDOW (self));
      return TRUE;
    }
  g_set_error (error, NS_EDIT_ERROR, NS_EDIT_ERROR_INVALID, "cannot read '%s'", line);
  return FALSE;
}
