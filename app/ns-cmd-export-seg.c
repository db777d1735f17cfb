/* SPDX-License-Identifier: MIT
 *
 * ns-cmd-export-seg.c: `neuroseg export-seg -o OUT.dcm LABELS.nii.gz DICOM_FOLDER`: a label
 * map on the grid of one of the folder's series, written as a DICOM Segmentation of that
 * series (ns_dicom_seg_write ()), so that PACS viewers, Slicer and OHIF show it over the
 * images it came from.  Names and colours come from the label table beside the label map
 * (LABELS.labels.txt, as the editor saves it) when there is one, else from the BraTS
 * scheme.
 */
#define G_LOG_DOMAIN "neuroseg"

#include "ns-cmd.h"
#include "ns-data-error.h"
#include "ns-dicom.h"
#include "ns-label-table.h"
#include "ns-labels.h"
#include "ns-nifti.h"

#include <math.h>
#include <stdio.h>

static const char summary[] =
  "Writes LABELS (a NIfTI label map) as a binary DICOM Segmentation of the series of\n"
  "DICOM_FOLDER it lies on (the first on its grid, or --series): one segment per label\n"
  "present, with its name, colour and codes (SNOMED CT Necrosis, Edema; NCIt Enhancing /\n"
  "Non-Enhancing Lesion), each frame referencing its source image.";

/* Labels from a volume: integers 0..255 (within 1e-3, as float files store them) that the
 * label table names, or without a table those of the BraTS schemes. */
static NsLabelMap *
load_labels (const char *path, const NsLabelTable *table, GError **error)
{
  g_autoptr (NsVolume) vol = ns_nifti_read (path, error);
  if (vol == NULL)
    return NULL;
  if (table == NULL)
    return ns_label_map_from_volume (vol, NS_LABEL_SCHEME_BRATS2015, FALSE, error);
  g_autoptr (NsLabelMap) map = ns_label_map_new (&vol->grid, error);
  if (map == NULL)
    return NULL;
  map->path = g_strdup (path);
  gsize n = ns_volume_n_voxels (vol);
  for (gsize i = 0; i < n; i++)
    {
      float v = ns_volume_get_value (vol, i);
      float r = rintf (v);
      if (!(fabsf (v - r) <= 1e-3f) || r < 0.0f || r > 255.0f
          || (r != 0.0f && ns_label_table_lookup (table, (guint8) r) == NULL))
        {
          g_set_error (error, NS_DATA_ERROR, NS_DATA_ERROR_BAD_LABELS,
                       "%s: value %g at voxel %" G_GSIZE_FORMAT " is not a label of its label "
                       "table", path, v, i);
          return NULL;
        }
      map->labels[i] = (guint8) r;
    }
  return g_steal_pointer (&map);
}

int
ns_cmd_export_seg (int argc, char **argv)
{
  g_autofree char *out_path = NULL;
  g_autofree char *series_key = NULL;
  g_autofree char *description = NULL;
  g_autofree char *algorithm = NULL;
  int number = 0;
  gboolean force = FALSE;
  const GOptionEntry entries[] = {
    { "output", 'o', 0, G_OPTION_ARG_FILENAME, &out_path, "DICOM-SEG file to write", "OUT.dcm" },
    { "series", 0, 0, G_OPTION_ARG_STRING, &series_key,
      "The source series (Series Number or UID; default: the one on the labels' grid)",
      "SERIES" },
    { "description", 0, 0, G_OPTION_ARG_STRING, &description,
      "Series Description of the SEG (default \"Neuroseg segmentation\")", "TEXT" },
    { "algorithm", 0, 0, G_OPTION_ARG_STRING, &algorithm,
      "Segments made by this algorithm (AUTOMATIC); default: MANUAL", "NAME" },
    { "force", 'f', 0, G_OPTION_ARG_NONE, &force,
      "Replace OUT.dcm if it exists (an input is never replaced)", NULL },
    { NULL }
  };
  const NsCmdNumber numbers[] = {
    { "number", 0, NS_CMD_INT, &number, 1, G_MAXINT, FALSE, NULL,
      "Series Number of the SEG (default: the source's + 1000)", "N" },
    { NULL }
  };
  g_autoptr (GError) error = NULL;
  int status;

  if (!ns_cmd_parse_options ("export-seg", "LABELS.nii.gz DICOM_FOLDER", summary, entries, NULL,
                             numbers, &argc, &argv, &status))
    return status;
  if (argc != 3 || out_path == NULL)
    {
      fprintf (stderr, "neuroseg export-seg: need -o OUT.dcm, LABELS.nii.gz and DICOM_FOLDER "
                       "(see --help)\n");
      return 2;
    }
  const char *labels_path = argv[1], *dicom = argv[2];

  g_autoptr (NsLabelTable) table = NULL;
  g_autofree char *table_path = ns_label_table_path_for_mask (labels_path);
  if (g_file_test (table_path, G_FILE_TEST_EXISTS))
    {
      table = ns_label_table_load (table_path, &error);
      if (table == NULL)
        return ns_cmd_print_error (error);
    }
  g_autoptr (NsLabelMap) labels = load_labels (labels_path, table, &error);
  if (labels == NULL)
    return ns_cmd_print_error (error);

  g_autoptr (GPtrArray) scan = ns_dicom_scan (dicom, NULL, &error);
  if (scan == NULL)
    return ns_cmd_print_error (error);
  NsDicomSeries *source = NULL;
  if (series_key != NULL)
    {
      source = ns_dicom_find_series (scan, series_key, dicom, &error);
      if (source == NULL)
        return ns_cmd_print_error (error);
    }
  else
    {
      source = ns_dicom_find_series_on_grid (scan, &labels->grid, NULL, labels_path, &error);
      if (source == NULL)
        return ns_cmd_print_error (error);
    }

  /* The inputs checked first, then the output: never over the labels, their table or a
   * file of the DICOM folder, an existing file only with --force. */
  g_autoptr (GPtrArray) inputs = g_ptr_array_new_with_free_func (g_free);
  g_ptr_array_add (inputs, g_strdup (labels_path));
  g_ptr_array_add (inputs, g_strdup (table_path));
  if (!ns_cmd_add_case_path_inputs (inputs, dicom, &error))
    return ns_cmd_print_error (error);
  g_ptr_array_add (inputs, NULL);
  if (!ns_cmd_check_outputs ((const char *const[]) { out_path, NULL },
                             (const char *const *) inputs->pdata, force, &error))
    return ns_cmd_print_error (error);

  NsDicomSegOptions options = { description, number, algorithm, table };
  if (!ns_dicom_seg_write (labels, source, out_path, &options, &error))
    return ns_cmd_print_error (error);

  guint64 counts[256];
  ns_label_map_count (labels, counts);
  g_autofree char *label = ns_dicom_series_dup_label (source);
  printf ("wrote %s: a DICOM Segmentation of %s; labels", ns_cmd_printable (out_path),
          ns_cmd_printable (label));
  guint n = 0;
  for (guint v = 1; v < 256; v++)
    if (counts[v] > 0)
      printf ("%s %u", n++ > 0 ? "," : "", v);
  printf ("%s\n", n == 0 ? " none (empty segments)" : "");
  return 0;
}
