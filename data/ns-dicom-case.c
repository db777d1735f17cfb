/* SPDX-License-Identifier: MIT
 *
 * ns-dicom-case.c: a DICOM study as a case: which series is which sequence, each read (in
 * parallel, one thread per series, as NIfTI cases are), and all brought onto one grid.
 *
 * Series of one study are often on different grids (a 3-D FLAIR at 1 mm, an axial T2 at
 * 0.5 x 0.5 x 5 mm, a sagittal T1).  The network needs one grid, so every series is
 * resampled onto the reference grid (the FLAIR's, or the finest on request) by trilinear
 * interpolation in patient coordinates, 0 outside the series; the case's notes say which
 * series was resampled from what.  That is only meaningful within one Frame of Reference
 * (the scanner's coordinates of one session): series of different frames are refused,
 * since relating them needs a registration this reader does not do.
 */
#define G_LOG_DOMAIN "neuroseg-data"

#include "ns-dicom.h"
#include "ns-case-private.h"
#include "ns-data-error.h"

#include <math.h>
#include <nifti1.h>
#include <string.h>

static const char *const option_names[NS_N_MODALITIES] = {
  "--flair", "--t1c", "--t1", "--t2",
};

static void
append_series_list (GString *s, GPtrArray *scan)
{
  for (guint i = 0; i < scan->len; i++)
    {
      const NsDicomSeries *series = scan->pdata[i];
      g_autofree char *label = ns_dicom_series_dup_label (series);
      g_string_append_printf (s, "%s%s: %s", i > 0 ? "; " : "", label,
                              !series->is_volume ? "not a volume"
                              : series->sequence >= 0 ? ns_modality_name (series->sequence)
                                                      : "unclear");
    }
}

static gboolean
is_chosen (NsDicomSeries *const chosen[NS_N_MODALITIES], const NsDicomSeries *s)
{
  for (int m = 0; m < NS_N_MODALITIES; m++)
    if (chosen[m] == s)
      return TRUE;
  return FALSE;
}

gboolean
ns_dicom_assign (GPtrArray *scan, const NsDicomAssignment *assignment, const char *where,
                 NsDicomSeries *chosen[NS_N_MODALITIES], GError **error)
{
  gboolean given[NS_N_MODALITIES] = { FALSE };

  g_return_val_if_fail (scan != NULL && chosen != NULL, FALSE);
  if (where == NULL)
    where = "DICOM";
  memset (chosen, 0, NS_N_MODALITIES * sizeof chosen[0]);

  /* What the user said, first. */
  for (int m = 0; assignment != NULL && m < NS_N_MODALITIES; m++)
    {
      const char *key = assignment->series[m];
      if (key == NULL)
        continue;
      given[m] = TRUE;
      if (g_ascii_strcasecmp (key, "none") == 0)
        continue;
      NsDicomSeries *s = ns_dicom_find_series (scan, key, where, error);
      if (s == NULL)
        return FALSE;
      g_autofree char *label = ns_dicom_series_dup_label (s);
      if (!s->is_volume)
        {
          g_set_error (error, NS_DATA_ERROR, NS_DATA_ERROR_INVALID,
                       "%s: %s, chosen as the %s, is not a volume: %s", where, label,
                       ns_modality_name (m), s->problem);
          return FALSE;
        }
      if (is_chosen (chosen, s))
        {
          g_set_error (error, NS_DATA_ERROR, NS_DATA_ERROR_INVALID,
                       "%s: %s is chosen for two sequences", where, label);
          return FALSE;
        }
      chosen[m] = s;
    }

  /* The rest from the series' attributes, where exactly one series fits. */
  for (int m = 0; m < NS_N_MODALITIES; m++)
    {
      if (given[m])
        continue;
      g_autoptr (GPtrArray) fits = g_ptr_array_new ();
      for (guint i = 0; i < scan->len; i++)
        {
          NsDicomSeries *s = scan->pdata[i];
          if (s->is_volume && s->sequence == m && !is_chosen (chosen, s))
            g_ptr_array_add (fits, s);
        }
      if (fits->len == 1)
        chosen[m] = fits->pdata[0];
      else if (fits->len > 1)
        {
          g_autoptr (GString) list = g_string_new (NULL);
          for (guint i = 0; i < fits->len; i++)
            {
              g_autofree char *label = ns_dicom_series_dup_label (fits->pdata[i]);
              g_string_append_printf (list, "%s%s", i == 0 ? "" : i + 1 < fits->len ? ", "
                                                                                   : " and ",
                                      label);
            }
          g_set_error (error, NS_DATA_ERROR, NS_DATA_ERROR_AMBIGUOUS,
                       "%s: cannot tell which series is the %s: %s %s like one; choose "
                       "with %s SERIES (its number or UID)", where, ns_modality_name (m),
                       list->str, fits->len == 2 ? "both look" : "all look",
                       option_names[m]);
          return FALSE;
        }
    }

  if (chosen[NS_MODALITY_FLAIR] == NULL)
    {
      g_autoptr (GString) list = g_string_new (NULL);
      append_series_list (list, scan);
      g_set_error (error, NS_DATA_ERROR, NS_DATA_ERROR_AMBIGUOUS,
                   "%s: no series is clearly a FLAIR (%s); choose with --flair SERIES (its "
                   "number or UID)", where, list->str);
      return FALSE;
    }
  return TRUE;
}

/* ---- resampling ---------------------------------------------------------------------------- */

/* The inverse of an affine 4x4 (rotation-scale-shear and a translation). */
static gboolean
invert_affine (const double m[4][4], double out[4][4])
{
  double a = m[0][0], b = m[0][1], c = m[0][2];
  double d = m[1][0], e = m[1][1], f = m[1][2];
  double g = m[2][0], h = m[2][1], i = m[2][2];
  double det = a * (e * i - f * h) - b * (d * i - f * g) + c * (d * h - e * g);
  if (!isfinite (det) || fabs (det) < 1e-12)
    return FALSE;
  double inv[3][3] = {
    { (e * i - f * h) / det, (c * h - b * i) / det, (b * f - c * e) / det },
    { (f * g - d * i) / det, (a * i - c * g) / det, (c * d - a * f) / det },
    { (d * h - e * g) / det, (b * g - a * h) / det, (a * e - b * d) / det },
  };
  memset (out, 0, 16 * sizeof (double));
  for (int r = 0; r < 3; r++)
    {
      for (int k = 0; k < 3; k++)
        out[r][k] = inv[r][k];
      out[r][3] = -(inv[r][0] * m[0][3] + inv[r][1] * m[1][3] + inv[r][2] * m[2][3]);
    }
  out[3][3] = 1.0;
  return TRUE;
}

/* One coordinate inside [0, n - 1] with its lower index and weight; FALSE more than half a
 * voxel outside (the series does not cover that point). */
static inline gboolean
axis_weights (double x, int n, int *x0, int *x1, double *w)
{
  if (x < -0.5 || x > (double) n - 0.5)
    return FALSE;
  x = CLAMP (x, 0.0, (double) (n - 1));
  int lo = (int) floor (x);
  *x0 = lo;
  *x1 = MIN (lo + 1, n - 1);
  *w = x - (double) lo;
  return TRUE;
}

/* src sampled at every voxel of dst (trilinear in patient coordinates, 0 outside). */
static NsVolume *
resample (const NsVolume *src, const NsGrid *dst, GError **error)
{
  double inv[4][4], m[4][4];
  if (!invert_affine (src->grid.vox2ras, inv))
    {
      g_set_error (error, NS_DATA_ERROR, NS_DATA_ERROR_INVALID,
                   "%s: its voxel-to-patient matrix cannot be inverted", src->path);
      return NULL;
    }
  /* dst voxel -> patient -> src voxel */
  for (int r = 0; r < 4; r++)
    for (int c = 0; c < 4; c++)
      {
        m[r][c] = 0.0;
        for (int k = 0; k < 4; k++)
          m[r][c] += inv[r][k] * dst->vox2ras[k][c];
      }

  NsVolume *out = ns_volume_new (dst, error);
  if (out == NULL)
    return NULL;
  const NsGrid *sg = &src->grid;
  gsize sx = (gsize) sg->dim[0], sxy = sx * (gsize) sg->dim[1];
  float *o = out->voxels;
  for (int k = 0; k < dst->dim[2]; k++)
    for (int j = 0; j < dst->dim[1]; j++)
      for (int i = 0; i < dst->dim[0]; i++, o++)
        {
          double p[3];
          for (int r = 0; r < 3; r++)
            p[r] = m[r][0] * i + m[r][1] * j + m[r][2] * k + m[r][3];
          int x0, x1, y0, y1, z0, z1;
          double wx, wy, wz;
          if (!axis_weights (p[0], sg->dim[0], &x0, &x1, &wx)
              || !axis_weights (p[1], sg->dim[1], &y0, &y1, &wy)
              || !axis_weights (p[2], sg->dim[2], &z0, &z1, &wz))
            continue; /* stays 0 */
#define AT(x, y, z) \
  ((double) ns_volume_get_value (src, (gsize) (z) * sxy + (gsize) (y) * sx + (gsize) (x)))
          double c00 = AT (x0, y0, z0) * (1 - wx) + AT (x1, y0, z0) * wx;
          double c10 = AT (x0, y1, z0) * (1 - wx) + AT (x1, y1, z0) * wx;
          double c01 = AT (x0, y0, z1) * (1 - wx) + AT (x1, y0, z1) * wx;
          double c11 = AT (x0, y1, z1) * (1 - wx) + AT (x1, y1, z1) * wx;
#undef AT
          double c0 = c00 * (1 - wy) + c10 * wy, c1 = c01 * (1 - wy) + c11 * wy;
          *o = (float) (c0 * (1 - wz) + c1 * wz);
        }
  out->path = g_strdup (src->path);
  out->name = g_strdup (src->name);
  out->datatype = DT_FLOAT32; /* interpolated values */
  return out;
}

static char *
describe_grid (const NsGrid *g)
{
  char orient[4];
  ns_grid_orientation_code (g, orient);
  return g_strdup_printf ("%d x %d x %d voxels of %.4g x %.4g x %.4g mm (%s)", g->dim[0],
                          g->dim[1], g->dim[2], g->spacing[0], g->spacing[1], g->spacing[2],
                          orient);
}

/* ---- loading -------------------------------------------------------------------------------- */

typedef struct
{
  const NsDicomSeries *series;
  NsVolume *volume;
  GError *error;
  GThread *thread;
} ReadJob;

static gpointer
read_job_run (gpointer data)
{
  ReadJob *job = data;
  job->volume = ns_dicom_series_read (job->series, &job->error);
  return NULL;
}

/* The modality whose grid the case takes. */
static int
reference_modality (NsDicomSeries *const chosen[NS_N_MODALITIES], NsDicomGridChoice choice)
{
  int best = NS_MODALITY_FLAIR;
  if (choice != NS_DICOM_GRID_FINEST)
    return best;
  for (int m = 0; m < NS_N_MODALITIES; m++)
    if (chosen[m] != NULL
        && ns_grid_voxel_volume_ml (&chosen[m]->grid)
             < ns_grid_voxel_volume_ml (&chosen[best]->grid) * (1.0 - 1e-6))
      best = m;
  return best;
}

static gboolean
check_frames_of_reference (NsDicomSeries *const chosen[NS_N_MODALITIES], int ref,
                           const char *where, GError **error)
{
  const NsDicomSeries *r = chosen[ref];
  for (int m = 0; m < NS_N_MODALITIES; m++)
    {
      const NsDicomSeries *s = chosen[m];
      if (s == NULL || s == r || ns_grid_equal (&s->grid, &r->grid))
        continue;
      if (s->frame_of_reference_uid[0] == '\0' || r->frame_of_reference_uid[0] == '\0'
          || strcmp (s->frame_of_reference_uid, r->frame_of_reference_uid) != 0)
        {
          g_autofree char *a = ns_dicom_series_dup_label (s);
          g_autofree char *b = ns_dicom_series_dup_label (r);
          g_set_error (error, NS_DATA_ERROR, NS_DATA_ERROR_GRID_MISMATCH,
                       "%s: %s (the %s) is on another grid and in another Frame of Reference "
                       "(%s) than %s (the %s, %s): the scanner's coordinates do not relate "
                       "them; register the series first", where, a, ns_modality_name (m),
                       s->frame_of_reference_uid[0] ? s->frame_of_reference_uid : "none",
                       b, ns_modality_name (ref),
                       r->frame_of_reference_uid[0] ? r->frame_of_reference_uid : "none");
          return FALSE;
        }
    }
  return TRUE;
}

NsCase *
ns_dicom_case_load_scan (const char *path, GPtrArray *scan, const NsDicomAssignment *assignment,
                         NsCaseLoadFlags flags, GError **error)
{
  NsDicomSeries *chosen[NS_N_MODALITIES];

  g_return_val_if_fail (path != NULL && scan != NULL, NULL);
  if (!ns_dicom_assign (scan, assignment, path, chosen, error))
    return NULL;
  int ref = reference_modality (chosen, assignment != NULL ? assignment->grid
                                                           : NS_DICOM_GRID_FLAIR);
  if (!check_frames_of_reference (chosen, ref, path, error))
    return NULL;

  ReadJob jobs[NS_N_MODALITIES];
  memset (jobs, 0, sizeof jobs);
  for (int m = 0; m < NS_N_MODALITIES; m++)
    {
      jobs[m].series = chosen[m];
      if (chosen[m] != NULL && m != ref && !(flags & NS_CASE_LOAD_SERIAL))
        jobs[m].thread = g_thread_try_new ("ns-dicom", read_job_run, &jobs[m], NULL);
    }
  read_job_run (&jobs[ref]);
  for (int m = 0; m < NS_N_MODALITIES; m++)
    {
      if (jobs[m].thread != NULL)
        g_thread_join (jobs[m].thread);
      else if (chosen[m] != NULL && m != ref)
        read_job_run (&jobs[m]); /* serial, or no thread could be made */
    }

  g_autofree char *dir = g_file_test (path, G_FILE_TEST_IS_DIR) ? g_strdup (path)
                                                                : g_path_get_dirname (path);
  g_autoptr (NsCase) ncase = _ns_case_new (dir);
  ncase->id = g_path_get_basename (dir);
  ncase->grid = chosen[ref]->grid;
  g_autoptr (GPtrArray) notes = g_ptr_array_new_with_free_func (g_free);
  gboolean ok = TRUE;

  /* In modality order, so that the error reported does not depend on timing. */
  for (int m = 0; m < NS_N_MODALITIES; m++)
    {
      if (chosen[m] == NULL)
        continue;
      if (ok && jobs[m].error != NULL)
        {
          g_propagate_error (error, g_steal_pointer (&jobs[m].error));
          ok = FALSE;
        }
      g_clear_error (&jobs[m].error);
      g_autoptr (NsVolume) vol = g_steal_pointer (&jobs[m].volume);
      if (!ok)
        continue;
      if (!ns_grid_equal (&vol->grid, &ncase->grid))
        {
          g_autofree char *label = ns_dicom_series_dup_label (chosen[m]);
          g_autofree char *from = describe_grid (&vol->grid);
          g_autofree char *onto = describe_grid (&ncase->grid);
          NsVolume *resampled = resample (vol, &ncase->grid, error);
          if (resampled == NULL)
            {
              ok = FALSE;
              continue;
            }
          g_ptr_array_add (notes, g_strdup_printf ("%s: %s resampled (trilinear) from %s onto "
                                                   "the %s grid of %s", ns_modality_name (m),
                                                   label, from, ns_modality_name (ref), onto));
          g_clear_pointer (&vol, ns_volume_unref);
          vol = resampled;
        }
      g_free (vol->name);
      vol->name = g_strdup (ns_modality_name (m));
      ncase->modality[m] = g_steal_pointer (&vol);
      const NsDicomFile *first = g_ptr_array_index (chosen[m]->files, 0);
      ncase->paths[m] = g_strdup (first->path);
    }
  if (!ok)
    return NULL;
  if (notes->len > 0)
    {
      g_ptr_array_add (notes, NULL);
      ncase->notes = (char **) g_ptr_array_steal (notes, NULL);
    }
  return g_steal_pointer (&ncase);
}

gboolean
ns_dicom_is_case_path (const char *path)
{
  g_return_val_if_fail (path != NULL, FALSE);
  if (!g_file_test (path, G_FILE_TEST_IS_DIR))
    return ns_dicom_path_is_dicom (path);
  char *parts[NS_N_CASE_FILES];
  g_autoptr (GError) local = NULL;
  if (ns_case_discover (path, parts, &local))
    {
      for (int i = 0; i < NS_N_CASE_FILES; i++)
        g_free (parts[i]);
      return FALSE; /* a NIfTI case */
    }
  return g_error_matches (local, NS_DATA_ERROR, NS_DATA_ERROR_NOT_FOUND)
         && ns_dicom_path_is_dicom (path);
}

NsCase *
ns_dicom_case_load (const char *path, const NsDicomAssignment *assignment, NsCaseLoadFlags flags,
                    GError **error)
{
  g_return_val_if_fail (path != NULL, NULL);
  g_autoptr (GPtrArray) scan = ns_dicom_scan (path, NULL, error);
  if (scan == NULL)
    return NULL;
  return ns_dicom_case_load_scan (path, scan, assignment, flags, error);
}
