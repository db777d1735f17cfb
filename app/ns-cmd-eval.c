/* SPDX-License-Identifier: MIT
 *
 * ns-cmd-eval.c: `neuroseg eval [--json] [--truth-scheme 2015|2017] PRED TRUTH`, the
 * metrics of data/ns-metrics.h (Dice, HD95, volumes per BraTS label and for WT, TC, ET)
 * as a table or as one JSON object.  An undefined HD95 (one side empty) prints "inf" in
 * the table and null in JSON: it is never replaced by a number.
 *
 * Either map may be a DICOM-SEG: it is placed on the grid of the other (a NIfTI label
 * map), or on the grid of its source series in --dicom DICOM_FOLDER (needed when both are
 * SEGs).
 */
#define G_LOG_DOMAIN "neuroseg"

#include "ns-cmd.h"
#include "ns-data-error.h"
#include "ns-dicom.h"
#include "ns-json.h"
#include "ns-labels.h"
#include "ns-metrics.h"

#include <errno.h>
#include <json-glib/json-glib.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

static const char summary[] =
  "Compares a predicted label map with a truth on the same grid (NIfTI, or DICOM-SEG on\n"
  "the grid of the other map or of its source series in --dicom): Dice, HD95 (mm) and\n"
  "volumes (mL) per label (1, 2, 4, and 3 when present) and for the regions\n"
  "WT = {1,2,3,4}, TC = {1,3,4}, ET = {4}.\n"
  "\n"
  "HD95 is the 95th percentile (linear interpolation) of the distances from each surface\n"
  "voxel of one region to the nearest surface voxel of the other, both ways pooled, in mm\n"
  "(as MedPy's hd95).  Both empty: Dice 1, HD95 0.  One empty: Dice 0, HD95 inf (JSON null).";

/* Both maps are read in the BraTS 2015 scheme, the superset {0, 1, 2, 3, 4}, so that a 3
 * is evaluated as its own label unless the truth is mapped (3 becomes 1) on request. */
/* A DICOM-SEG as a label map: on the grid of its source series in dicom_dir when given,
 * else on grid (the other map's). */
static NsLabelMap *
load_seg (const char *path, const char *dicom_dir, const NsGrid *grid, gboolean map_2015,
          GError **error)
{
  g_autoptr (GPtrArray) scan = NULL;
  if (dicom_dir != NULL)
    {
      g_autofree char *uid = ns_dicom_seg_dup_source_uid (path, error);
      if (uid == NULL)
        return NULL;
      scan = ns_dicom_scan (dicom_dir, NULL, error);
      if (scan == NULL)
        return NULL;
      NsDicomSeries *source = ns_dicom_find_series (scan, uid, dicom_dir, error);
      if (source == NULL)
        return NULL;
      grid = &source->grid;
    }
  g_assert (grid != NULL);
  g_autoptr (NsLabelMap) map = ns_dicom_seg_read (path, grid, error);
  if (map == NULL || !ns_label_map_check_scheme (map, NS_LABEL_SCHEME_BRATS2015, error))
    return NULL;
  if (map_2015)
    ns_label_map_map_2015_to_2017 (map);
  return g_steal_pointer (&map);
}

static void
add_row (JsonBuilder *b, const NsMetricsRow *row)
{
  json_builder_set_member_name (b, row->name);
  json_builder_begin_object (b);
  ns_json_add_string (b, "description", row->description);
  ns_json_add_number (b, "dice", row->dice);
  ns_json_add_number (b, "hd95_mm", row->hd95_mm);
  ns_json_add_number (b, "volume_pred_ml", row->volume_pred_ml);
  ns_json_add_number (b, "volume_truth_ml", row->volume_truth_ml);
  ns_json_add_int (b, "voxels_pred", (gint64) row->n_pred);
  ns_json_add_int (b, "voxels_truth", (gint64) row->n_truth);
  ns_json_add_int (b, "voxels_overlap", (gint64) row->n_overlap);
  ns_json_add_number (b, "sensitivity", row->sensitivity);
  ns_json_add_number (b, "specificity", row->specificity);
  json_builder_end_object (b);
}

static void
print_json (const NsMetrics *m, const NsLabelMap *pred, const NsLabelMap *truth,
            const char *scheme)
{
  g_autoptr (JsonBuilder) b = json_builder_new ();
  const NsGrid *g = &truth->grid;

  json_builder_begin_object (b);
  ns_json_add_string (b, "prediction", pred->path);
  ns_json_add_string (b, "truth", truth->path);
  ns_json_add_string (b, "truth_scheme", scheme);
  json_builder_set_member_name (b, "dims");
  json_builder_begin_array (b);
  for (int d = 0; d < 3; d++)
    json_builder_add_int_value (b, g->dim[d]);
  json_builder_end_array (b);
  json_builder_set_member_name (b, "spacing_mm");
  json_builder_begin_array (b);
  for (int d = 0; d < 3; d++)
    json_builder_add_double_value (b, g->spacing[d]);
  json_builder_end_array (b);

  for (int regions = 0; regions < 2; regions++)
    {
      json_builder_set_member_name (b, regions ? "regions" : "labels");
      json_builder_begin_object (b);
      for (guint r = 0; r < m->n_rows; r++)
        if (m->rows[r].is_region == regions)
          add_row (b, &m->rows[r]);
      json_builder_end_object (b);
    }
  json_builder_end_object (b);

  g_autoptr (JsonNode) root = json_builder_get_root (b);
  ns_cmd_print_json (root, TRUE);
}

static void
print_table (const NsMetrics *m, const NsLabelMap *pred, const NsLabelMap *truth,
             const char *scheme)
{
  const NsGrid *g = &truth->grid;

  printf ("prediction  %s\n", ns_cmd_printable (pred->path));
  printf ("truth       %s%s\n", ns_cmd_printable (truth->path),
          strcmp (scheme, "2015") == 0 ? " (BraTS 2015 labels, 3 mapped to 1)" : "");
  printf ("grid        %d x %d x %d voxels of %g x %g x %g mm\n\n", g->dim[0], g->dim[1],
          g->dim[2], g->spacing[0], g->spacing[1], g->spacing[2]);
  printf ("%-26s %8s %10s %11s %11s\n", "label/region", "Dice", "HD95 mm", "pred mL",
          "truth mL");
  for (guint r = 0; r < m->n_rows; r++)
    {
      const NsMetricsRow *row = &m->rows[r];
      g_autofree char *name = g_strdup_printf ("%s %s", row->name, row->description);
      g_autofree char *hd95 = isfinite (row->hd95_mm) ? g_strdup_printf ("%.3f", row->hd95_mm)
                                                      : g_strdup ("inf");
      printf ("%-26s %8.4f %10s %11.3f %11.3f\n", name, row->dice, hd95, row->volume_pred_ml,
              row->volume_truth_ml);
    }
}

int
ns_cmd_eval (int argc, char **argv)
{
  gboolean json = FALSE;
  g_autofree char *scheme = NULL;
  g_autofree char *dicom_dir = NULL;
  int status;
  const GOptionEntry entries[] = {
    { "json", 0, 0, G_OPTION_ARG_NONE, &json, "Print one JSON object instead of a table", NULL },
    { "truth-scheme", 0, 0, G_OPTION_ARG_STRING, &scheme,
      "Label scheme of TRUTH: 2017 (default: 1 NCR/NET, 2 ED, 4 ET) or 2015 (3 becomes 1)",
      "2015|2017" },
    { "dicom", 0, 0, G_OPTION_ARG_FILENAME, &dicom_dir,
      "The DICOM folder of the source series of a DICOM-SEG argument (its grid)", "FOLDER" },
    { NULL },
  };

  if (!ns_cmd_parse ("eval", "PRED TRUTH", summary, entries, &argc, &argv, &status))
    return status;
  if (scheme != NULL && strcmp (scheme, "2015") != 0 && strcmp (scheme, "2017") != 0)
    {
      fprintf (stderr, "neuroseg eval: --truth-scheme is 2015 or 2017, not '%s'\n",
               ns_cmd_printable (scheme));
      return 2;
    }
  if (argc != 3)
    {
      fprintf (stderr, "neuroseg eval: expected PRED TRUTH (two label maps), got %d argument%s; "
               "see neuroseg eval --help\n", argc - 1, argc == 2 ? "" : "s");
      return 2;
    }

  g_autoptr (GError) error = NULL;
  gboolean truth_2015 = scheme != NULL && strcmp (scheme, "2015") == 0;
  gboolean pred_seg = ns_dicom_is_seg (argv[1]), truth_seg = ns_dicom_is_seg (argv[2]);
  if (pred_seg && truth_seg && dicom_dir == NULL)
    {
      fprintf (stderr, "neuroseg eval: both maps are DICOM-SEG; give the folder of their "
                       "source series with --dicom FOLDER\n");
      return 2;
    }
  /* NIfTI first: a SEG is placed on the other map's grid. */
  g_autoptr (NsLabelMap) pred = NULL;
  g_autoptr (NsLabelMap) truth = NULL;
  if (!pred_seg)
    pred = ns_label_map_read (argv[1], NS_LABEL_SCHEME_BRATS2015, FALSE, &error);
  if (error == NULL && !truth_seg)
    truth = ns_label_map_read (argv[2], NS_LABEL_SCHEME_BRATS2015, truth_2015, &error);
  if (error == NULL && pred_seg)
    pred = load_seg (argv[1], dicom_dir, truth != NULL ? &truth->grid : NULL, FALSE, &error);
  if (error == NULL && truth_seg)
    truth = load_seg (argv[2], dicom_dir, &pred->grid, truth_2015, &error);
  if (pred == NULL || truth == NULL)
    return ns_cmd_print_error (error);

  NsMetrics metrics;
  if (!ns_metrics_evaluate (pred, truth, &metrics, &error))
    return ns_cmd_print_error (error);

  if (json)
    print_json (&metrics, pred, truth, scheme != NULL ? scheme : "2017");
  else
    print_table (&metrics, pred, truth, scheme != NULL ? scheme : "2017");
  if (fflush (stdout) != 0)
    {
      fprintf (stderr, "neuroseg: cannot write the results: %s\n", g_strerror (errno));
      return 1;
    }
  return 0;
}
