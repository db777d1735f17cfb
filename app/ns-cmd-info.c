/* SPDX-License-Identifier: MIT
 *
 * ns-cmd-info.c: `neuroseg info PATH...`: what a NIfTI file or a case holds: grid,
 * spacing, orientation, datatype, scaling, q/s-form codes, the modalities found, the
 * labels present with voxel counts and volumes in mL, and NaN/Inf voxels if any.
 * Several files are read as one case (as the GUI would open them).  A single file is
 * streamed (ns_nifti_scan): its range and label counts are gathered chunk by chunk, so a
 * 2 GB file costs a few MiB, not its size in float32.
 */
#define G_LOG_DOMAIN "neuroseg"

#include "ns-cmd.h"
#include "ns-backend.h"
#include "ns-case.h"
#include "ns-data-error.h"
#include "ns-dicom.h"
#include "ns-labels.h"
#include "ns-nifti.h"

#include <math.h>
#include <nifti1.h>
#include <stdio.h>

static const char summary[] =
  "Describes a NIfTI file (.nii, .nii.gz) or a case (a folder, or several files):\n"
  "grid, spacing, orientation, datatype, scaling, q/s-form codes, modalities, and the\n"
  "labels present with their voxel counts and volumes in mL.  A DICOM folder or DICOMDIR:\n"
  "its series (grid, or why they are not a volume; the sequence each looks like), then the\n"
  "case they make (--flair etc. choose the series where that is unclear).";

/* -0 prints as 0 (adding +0.0 turns -0.0 into +0.0). */
#define Z(x) ((x) + 0.0)

/* A declared transform that was skipped (e.g. an all-zero sform), on its own line. */
static void
print_xform_warning (const char *indent, const NsGrid *g)
{
  g_autofree char *warning = ns_grid_dup_xform_warning (g);
  if (warning != NULL)
    printf ("%swarning      %s\n", indent, warning);
}

static void
print_grid (const NsGrid *g)
{
  char orient[4];
  ns_grid_orientation_code (g, orient);
  printf ("grid         %d x %d x %d voxels\n", g->dim[0], g->dim[1], g->dim[2]);
  printf ("spacing      %g x %g x %g mm\n", g->spacing[0], g->spacing[1], g->spacing[2]);
  printf ("orientation  %s\n", orient);
  printf ("qform        code %d (%s)\n", g->qform_code, ns_nifti_xform_name (g->qform_code));
  printf ("sform        code %d (%s)\n", g->sform_code, ns_nifti_xform_name (g->sform_code));
  printf ("vox2ras      [%g %g %g %g; %g %g %g %g; %g %g %g %g]  (%s)\n",
          Z (g->vox2ras[0][0]), Z (g->vox2ras[0][1]), Z (g->vox2ras[0][2]), Z (g->vox2ras[0][3]),
          Z (g->vox2ras[1][0]), Z (g->vox2ras[1][1]), Z (g->vox2ras[1][2]), Z (g->vox2ras[1][3]),
          Z (g->vox2ras[2][0]), Z (g->vox2ras[2][1]), Z (g->vox2ras[2][2]), Z (g->vox2ras[2][3]),
          ns_grid_xform_name (ns_grid_get_xform (g)));
}

static void
print_range (const char *indent, double lo, double hi, gsize n_nonfinite)
{
  printf ("%srange        %g to %g\n", indent, lo, hi);
  if (n_nonfinite > 0)
    printf ("%snon-finite   %" G_GSIZE_FORMAT " voxels were NaN or Inf (read as 0)\n", indent,
            n_nonfinite);
}

static void
print_volume_range (const char *indent, const NsVolume *vol)
{
  gsize n = ns_volume_n_voxels (vol);
  float lo = ns_volume_get_value (vol, 0), hi = lo;
  for (gsize i = 1; i < n; i++)
    {
      float x = ns_volume_get_value (vol, i);
      lo = MIN (lo, x);
      hi = MAX (hi, x);
    }
  print_range (indent, lo, hi, vol->n_nonfinite);
}

/* Every label present (counts[v] > 0) belongs to scheme. */
static gboolean
counts_fit_scheme (const guint64 counts[256], NsLabelScheme scheme)
{
  for (guint v = 0; v < 256; v++)
    if (counts[v] > 0 && !ns_label_scheme_contains (scheme, v))
      return FALSE;
  return TRUE;
}

/* known_scheme: the case says which scheme its labels are in; otherwise the first scheme
 * (2017+, then 2015) that holds every label present. */
static void
print_labels (const guint64 counts[256], double ml, gboolean known_scheme,
              NsLabelScheme scheme)
{
  if (!known_scheme)
    scheme = counts_fit_scheme (counts, NS_LABEL_SCHEME_BRATS2017) ? NS_LABEL_SCHEME_BRATS2017
                                                                   : NS_LABEL_SCHEME_BRATS2015;
  gboolean fits = counts_fit_scheme (counts, scheme);
  printf ("labels       %s\n", fits ? ns_label_scheme_name (scheme) : "(not a BraTS scheme)");
  int shown = 0;
  for (guint v = 1; v < 256; v++)
    {
      if (counts[v] == 0)
        continue;
      const NsLabelClass *cls = fits ? ns_label_scheme_lookup (scheme, v) : NULL;
      printf ("  %3u %-8s %10" G_GUINT64_FORMAT " voxels %10.3f mL%s%s\n", v,
              cls != NULL ? cls->short_name : "", counts[v], (double) counts[v] * ml,
              cls != NULL ? "  " : "", cls != NULL ? cls->name : "");
      shown++;
    }
  if (shown == 0)
    printf ("  (no label other than 0)\n");
  else if (fits)
    for (int r = 0; r < NS_N_REGIONS; r++)
      {
        guint64 n = 0;
        for (guint v = 1; v < 256; v++)
          if (ns_region_contains (r, v))
            n += counts[v];
        printf ("  %-12s %10" G_GUINT64_FORMAT " voxels %10.3f mL\n", ns_region_name (r), n,
                (double) n * ml);
      }
}

/* What a scan of a file gathers: per volume its range and NaN/Inf count; for the whole
 * file whether every voxel is an integer in 0..255 (a label map) and how many of each. */
typedef struct
{
  double lo;
  double hi;
  gsize n_nonfinite;
} VolumeStats;

typedef struct
{
  VolumeStats *volumes;
  gboolean integral;
  guint64 counts[256];
} FileStats;

static gboolean
file_stats_cb (guint volume, gsize first, const float *values, gsize n, gsize n_nonfinite,
               gpointer user_data, GError **error)
{
  FileStats *fs = user_data;
  VolumeStats *vs = &fs->volumes[volume];
  if (first == 0)
    vs->lo = vs->hi = values[0];
  for (gsize i = 0; i < n; i++)
    {
      float x = values[i];
      vs->lo = MIN (vs->lo, x);
      vs->hi = MAX (vs->hi, x);
      if (fs->integral && x >= 0.0f && x <= 255.0f && x == rintf (x))
        fs->counts[(int) x]++;
      else
        fs->integral = FALSE;
    }
  vs->n_nonfinite += n_nonfinite;
  if (n_nonfinite > 0)
    fs->integral = FALSE;
  return TRUE;
}

static gboolean
info_file (const char *path, GError **error)
{
  NsNiftiHeader hdr;

  /* The header first (an error about it is not delayed by a scan), then every voxel. */
  if (!ns_nifti_read_header (path, &hdr, error))
    return FALSE;
  g_autofree VolumeStats *vstats = g_new0 (VolumeStats, hdr.n_volumes);
  FileStats fs = { vstats, TRUE, { 0 } };
  if (!ns_nifti_scan (path, &hdr, file_stats_cb, &fs, error))
    return FALSE;

  NsCaseFile kind = ns_case_classify_file (path);
  printf ("file         %s\n", ns_cmd_printable (path));
  if (kind != NS_CASE_FILE_NONE)
    printf ("part         %s (from the name)\n", ns_case_file_name (kind));
  print_grid (&hdr.grid);
  print_xform_warning ("", &hdr.grid);
  printf ("volumes      %d\n", hdr.n_volumes);
  printf ("datatype     %s%s%s%s\n", ns_nifti_datatype_name (hdr.datatype),
          hdr.byte_swapped ? ", byte-swapped" : "", hdr.compressed ? ", gzip" : "",
          hdr.version == 2 ? ", NIfTI-2" : "");
  if (hdr.scl_slope == 1.0 && (hdr.scl_inter == 0.0 || !isfinite (hdr.scl_inter)))
    printf ("scaling      identity (slope 1, intercept 0)\n");
  else if (isfinite (hdr.scl_slope) && hdr.scl_slope != 0.0)
    printf ("scaling      slope %.9g, intercept %.9g (applied)\n", hdr.scl_slope,
            isfinite (hdr.scl_inter) ? hdr.scl_inter : 0.0);
  else
    printf ("scaling      none\n");
  if (hdr.intent_code != 0)
    printf ("intent       %d\n", hdr.intent_code);
  if (hdr.descrip[0] != '\0')
    printf ("description  %s\n", ns_cmd_printable (hdr.descrip));

  for (int v = 0; v < hdr.n_volumes; v++)
    {
      const char *indent = "";
      if (hdr.n_volumes > 1)
        {
          printf ("volume %d\n", v + 1);
          indent = "  ";
        }
      print_range (indent, vstats[v].lo, vstats[v].hi, vstats[v].n_nonfinite);
    }

  /* A label map when its name or intent says so, or when it holds only a few small
   * integers (a BraTS label map stored as float32 or int16). */
  if (hdr.n_volumes == 1 && fs.integral)
    {
      guint distinct = 0;
      for (guint v = 0; v < 256; v++)
        distinct += fs.counts[v] > 0;
      gboolean named = kind == NS_CASE_FILE_LABELS || hdr.intent_code == NIFTI_INTENT_LABEL;
      if (named || distinct <= 6)
        print_labels (fs.counts, ns_grid_voxel_volume_ml (&hdr.grid), FALSE,
                      NS_LABEL_SCHEME_BRATS2017);
    }
  return TRUE;
}

static gboolean
info_case (NsCase *ncase)
{
  printf ("case         %s\n", ns_cmd_printable (ncase->id));
  printf ("folder       %s\n", ns_cmd_printable (ncase->dir));
  print_grid (&ncase->grid);
  printf ("modalities  ");
  for (int m = 0; m < NS_N_MODALITIES; m++)
    if (ncase->modality[m] != NULL)
      printf (" %s", ns_modality_name (m));
  printf ("\n");
  for (int m = 0; m < NS_N_MODALITIES; m++)
    {
      const NsVolume *vol = ncase->modality[m];
      if (vol == NULL)
        continue;
      g_autofree char *base = g_path_get_basename (ncase->paths[m]);
      printf ("%-6s       %s  %s", ns_modality_name (m), ns_cmd_printable (base),
              ns_nifti_datatype_name (vol->datatype));
      if (isfinite (vol->scl_slope) && vol->scl_slope != 0.0
          && (vol->scl_slope != 1.0 || vol->scl_inter != 0.0))
        printf ("  scaled x %.9g + %.9g", vol->scl_slope, vol->scl_inter);
      printf ("\n");
      print_volume_range ("  ", vol);
      print_xform_warning ("  ", &vol->grid);
    }
  if (ncase->brain_mask != NULL)
    {
      guint64 counts[256];
      g_autofree char *base = g_path_get_basename (ncase->paths[NS_CASE_FILE_BRAIN_MASK]);
      ns_label_map_count (ncase->brain_mask, counts);
      printf ("brain mask   %s  %" G_GUINT64_FORMAT " voxels %.3f mL\n",
              ns_cmd_printable (base), counts[1],
              (double) counts[1] * ns_grid_voxel_volume_ml (&ncase->grid));
      print_xform_warning ("  ", &ncase->brain_mask->grid);
    }
  if (ncase->labels != NULL)
    {
      g_autofree char *base = g_path_get_basename (ncase->paths[NS_CASE_FILE_LABELS]);
      guint64 counts[256];
      ns_label_map_count (ncase->labels, counts);
      printf ("label file   %s\n", ns_cmd_printable (base));
      print_xform_warning ("  ", &ncase->labels->grid);
      print_labels (counts, ns_grid_voxel_volume_ml (&ncase->grid), TRUE, ncase->label_scheme);
    }
  else
    printf ("labels       none\n");
  for (char **note = ncase->notes; note != NULL && *note != NULL; note++)
    printf ("note         %s\n", ns_cmd_printable (*note));
  return TRUE;
}

/* A DICOM folder: its series, then the case they make. */
static int
info_dicom (const char *path, const NsCmdDicomOptions *o)
{
  g_autoptr (GError) error = NULL;
  NsDicomAssignment a;
  guint n_other = 0;

  if (!ns_cmd_dicom_assignment (o, &a, &error))
    {
      fprintf (stderr, "neuroseg info: %s\n", ns_cmd_printable (error->message));
      return 2;
    }
  g_autoptr (GPtrArray) scan = ns_dicom_scan (path, &n_other, &error);
  if (scan == NULL)
    return ns_cmd_print_error (error);
  printf ("DICOM        %s: %u image series", ns_cmd_printable (path), scan->len);
  if (n_other > 0)
    printf (", %u other object%s (segmentations, reports, ...)", n_other,
            n_other == 1 ? "" : "s");
  printf ("\n");
  ns_cmd_print_dicom_series (scan);
  g_autoptr (NsCase) ncase = ns_dicom_case_load_scan (path, scan, &a, NS_CASE_LOAD_DEFAULT,
                                                      &error);
  if (ncase == NULL)
    return ns_cmd_print_error (error);
  printf ("\n");
  if (!info_case (ncase))
    return 1;
  /* Which series each modality is (the series that holds its first file). */
  for (int m = 0; m < NS_N_MODALITIES; m++)
    for (guint i = 0; ncase->paths[m] != NULL && i < scan->len; i++)
      {
        const NsDicomSeries *s = scan->pdata[i];
        const NsDicomFile *first = g_ptr_array_index (s->files, 0);
        if (s->is_volume && g_strcmp0 (first->path, ncase->paths[m]) == 0)
          {
            g_autofree char *label = ns_dicom_series_dup_label (s);
            printf ("%-12s %s\n", ns_modality_name (m), ns_cmd_printable (label));
          }
      }
  return 0;
}

int
ns_cmd_info (int argc, char **argv)
{
  gboolean devices = FALSE;
  const GOptionEntry entries[] = {
    { "devices", 0, 0, G_OPTION_ARG_NONE, &devices,
      "List the compute devices this build can use (CPU, CUDA GPUs with memory, compute "
      "capability and cuDNN version)", NULL },
    { NULL }
  };
  g_autoptr (GError) error = NULL;
  g_auto (NsCmdDicomOptions) dicom = { { NULL } };
  GOptionEntry dicom_entries[NS_CMD_DICOM_N_ENTRIES];
  int status;

  ns_cmd_dicom_entries (&dicom, dicom_entries);
  if (!ns_cmd_parse_options ("info", "[--devices] PATH...", summary, entries, dicom_entries,
                             NULL, &argc, &argv, &status))
    return status;
  if (devices)
    {
      g_autoptr (GPtrArray) list = ns_backend_list_devices ();
      for (guint i = 0; i < list->len; i++)
        printf ("%s\n", (const char *) list->pdata[i]);
      if (argc < 2)
        return 0;
    }
  if (argc < 2)
    {
      fprintf (stderr, "neuroseg info: give a NIfTI file or a case folder (see --help)\n");
      return 2;
    }

  if (argc == 2 && ns_dicom_is_case_path (argv[1]))
    return info_dicom (argv[1], &dicom);
  if (ns_cmd_dicom_options_given (&dicom))
    {
      fprintf (stderr, "neuroseg info: --flair, --t1c, --t1, --t2 and --grid choose DICOM "
                       "series; %s is not a DICOM folder\n", ns_cmd_printable (argv[1]));
      return 2;
    }
  if (argc == 2 && !g_file_test (argv[1], G_FILE_TEST_IS_DIR))
    {
      if (!g_file_test (argv[1], G_FILE_TEST_EXISTS))
        {
          g_set_error (&error, NS_DATA_ERROR, NS_DATA_ERROR_NOT_FOUND, "%s: no such file",
                       argv[1]);
          return ns_cmd_print_error (error);
        }
      return info_file (argv[1], &error) ? 0 : ns_cmd_print_error (error);
    }

  g_autoptr (NsCase) ncase = ns_case_open ((const char *const *) argv + 1,
                                           NS_CASE_LOAD_DEFAULT, &error);
  if (ncase == NULL)
    return ns_cmd_print_error (error);
  return info_case (ncase) ? 0 : 1;
}
