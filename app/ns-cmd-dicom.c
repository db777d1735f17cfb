/* SPDX-License-Identifier: MIT
 *
 * ns-cmd-dicom.c: what the subcommands share about DICOM input: the options that say
 * which series is which sequence (--flair, --t1c, --t1, --t2, --grid), loading a case
 * from NIfTI files, a case folder or a DICOM folder with them, and the table of a DICOM
 * folder's series that `info` prints and an unclear assignment shows.
 */
#define G_LOG_DOMAIN "neuroseg"

#include "ns-cmd.h"
#include "ns-data-error.h"

#include <stdio.h>
#include <string.h>

void
ns_cmd_dicom_entries (NsCmdDicomOptions *o, GOptionEntry entries[NS_CMD_DICOM_N_ENTRIES])
{
  const GOptionEntry e[NS_CMD_DICOM_N_ENTRIES] = {
    { "flair", 0, 0, G_OPTION_ARG_STRING, &o->series[NS_MODALITY_FLAIR],
      "DICOM: the FLAIR series (its Series Number or Series Instance UID)", "SERIES" },
    { "t1c", 0, 0, G_OPTION_ARG_STRING, &o->series[NS_MODALITY_T1C],
      "DICOM: the contrast-enhanced T1 series (\"none\": leave it out)", "SERIES" },
    { "t1", 0, 0, G_OPTION_ARG_STRING, &o->series[NS_MODALITY_T1],
      "DICOM: the T1 series", "SERIES" },
    { "t2", 0, 0, G_OPTION_ARG_STRING, &o->series[NS_MODALITY_T2],
      "DICOM: the T2 series", "SERIES" },
    { "grid", 0, 0, G_OPTION_ARG_STRING, &o->grid,
      "DICOM: series on other grids are resampled onto the FLAIR's (default) or the finest",
      "flair|finest" },
    { NULL },
  };
  memcpy (entries, e, sizeof e);
}

void
ns_cmd_dicom_options_clear (NsCmdDicomOptions *o)
{
  for (int m = 0; m < NS_N_MODALITIES; m++)
    g_clear_pointer (&o->series[m], g_free);
  g_clear_pointer (&o->grid, g_free);
}

gboolean
ns_cmd_dicom_options_given (const NsCmdDicomOptions *o)
{
  for (int m = 0; m < NS_N_MODALITIES; m++)
    if (o->series[m] != NULL)
      return TRUE;
  return o->grid != NULL;
}

gboolean
ns_cmd_dicom_assignment (const NsCmdDicomOptions *o, NsDicomAssignment *a, GError **error)
{
  memset (a, 0, sizeof *a);
  for (int m = 0; m < NS_N_MODALITIES; m++)
    a->series[m] = o->series[m];
  a->grid = NS_DICOM_GRID_FLAIR;
  if (o->grid != NULL && g_ascii_strcasecmp (o->grid, "finest") == 0)
    a->grid = NS_DICOM_GRID_FINEST;
  else if (o->grid != NULL && g_ascii_strcasecmp (o->grid, "flair") != 0)
    {
      g_set_error (error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
                   "--grid is flair or finest, not '%s'", o->grid);
      return FALSE;
    }
  return TRUE;
}

NsCase *
ns_cmd_load_case (const char *const *paths, NsCaseLoadFlags flags, const NsCmdDicomOptions *o,
                  GError **error)
{
  g_return_val_if_fail (paths != NULL && paths[0] != NULL, NULL);
  if (paths[1] == NULL && ns_dicom_is_case_path (paths[0]))
    {
      NsDicomAssignment a;
      if (!ns_cmd_dicom_assignment (o, &a, error))
        return NULL;
      return ns_dicom_case_load (paths[0], &a, flags, error);
    }
  if (ns_cmd_dicom_options_given (o))
    {
      g_set_error (error, G_OPTION_ERROR, G_OPTION_ERROR_FAILED,
                   "%s: --flair, --t1c, --t1, --t2 and --grid choose DICOM series; this is "
                   "not a DICOM folder", paths[0]);
      return NULL;
    }
  return ns_case_open (paths, flags, error);
}

void
ns_cmd_print_dicom_series (GPtrArray *scan)
{
  for (guint i = 0; i < scan->len; i++)
    {
      const NsDicomSeries *s = scan->pdata[i];
      g_autofree char *number = s->number >= 0 ? g_strdup_printf ("%d", s->number)
                                               : g_strdup ("-");
      printf ("series %-5s \"%s\"  %s, %u file%s\n", number, ns_cmd_printable (s->description),
              ns_cmd_printable (s->modality), s->files->len, s->files->len == 1 ? "" : "s");
      printf ("  uid        %s\n", ns_cmd_printable (s->uid));
      if (s->is_volume)
        {
          char orient[4];
          ns_grid_orientation_code (&s->grid, orient);
          printf ("  grid       %d x %d x %d voxels of %g x %g x %g mm, %s\n", s->grid.dim[0],
                  s->grid.dim[1], s->grid.dim[2], s->grid.spacing[0], s->grid.spacing[1],
                  s->grid.spacing[2], orient);
        }
      else
        printf ("  not a volume: %s\n", ns_cmd_printable (s->problem));
      if (s->sequence >= 0)
        printf ("  sequence   %s (%s)\n", ns_modality_name (s->sequence),
                ns_cmd_printable (s->sequence_reason));
      else
        printf ("  sequence   unclear\n");
    }
}
