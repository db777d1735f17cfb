/* SPDX-License-Identifier: MIT
 *
 * ns-dicom-series.c: whether the files of a series make one volume, its grid, and its
 * voxels.
 *
 * The geometry is that of the DICOM standard (PS3.3 C.7.6.2): Image Orientation (Patient)
 * gives the direction cosines r of a row (the direction the column index grows in) and c
 * of a column; the slice normal is n = r x c.  Slices are sorted by the projection of
 * their Image Position (Patient) on n, and the spacing between slices is measured from
 * those projections: Slice Thickness says how thick the excitation was, not how far apart
 * slices are (they overlap or leave gaps), and readers that use it stretch the volume.
 * Pixel Spacing is (between rows, between columns): the step along r is its second value.
 *
 * Tolerances: positions are decimal strings (DS) of at most 16 characters written after
 * the scanner's own rounding, so two positions that should agree differ by up to about
 * 1e-4 mm on real data.  Orientations must agree to 1e-4 (0.006 degrees); a slice may sit
 * 1 % of the spacing (at least 0.01 mm) off the evenly spaced line or off the normal
 * through the first slice.  Beyond that the series is refused, saying which file; a gap
 * of one and a half spacings or more is a missing slice.
 */
#define G_LOG_DOMAIN "neuroseg-data"

#include "ns-dicom.h"
#include "ns-dicom-private.h"
#include "ns-data-error.h"
#include "ns-memory.h"

#include <math.h>
#include <nifti1_io.h>
#include <string.h>

#define ORIENTATION_TOL 1e-4

typedef struct
{
  NsDicomFile *file;
  double d;                  /* position along the normal */
} Slice;

static int
compare_slices_qsort (const void *a, const void *b)
{
  const Slice *x = a, *y = b;
  if (x->d != y->d)
    return x->d < y->d ? -1 : 1;
  return strcmp (x->file->path, y->file->path);
}

static gint
compare_files_by_instance (gconstpointer a, gconstpointer b)
{
  const NsDicomFile *x = *(NsDicomFile *const *) a;
  const NsDicomFile *y = *(NsDicomFile *const *) b;
  if (x->instance_number != y->instance_number)
    return x->instance_number < y->instance_number ? -1 : 1;
  return strcmp (x->path, y->path);
}

static double
dot3 (const double *a, const double *b)
{
  return a[0] * b[0] + a[1] * b[1] + a[2] * b[2];
}

static void
cross3 (const double *a, const double *b, double *out)
{
  out[0] = a[1] * b[2] - a[2] * b[1];
  out[1] = a[2] * b[0] - a[0] * b[2];
  out[2] = a[0] * b[1] - a[1] * b[0];
}

/* Sets series->problem (the first reason the files are not one volume). */
static G_GNUC_PRINTF (2, 3) void
refuse (NsDicomSeries *series, const char *format, ...)
{
  va_list ap;
  va_start (ap, format);
  g_free (series->problem);
  series->problem = g_strdup_vprintf (format, ap);
  va_end (ap);
}

/* What each file must have, and have like the first. */
static gboolean
check_files (NsDicomSeries *s)
{
  const NsDicomFile *first = g_ptr_array_index (s->files, 0);

  for (guint i = 0; i < s->files->len; i++)
    {
      const NsDicomFile *f = g_ptr_array_index (s->files, i);
      if (f->n_frames != 1)
        {
          refuse (s, "%s: an image of %d frames (enhanced multi-frame); only series of "
                  "single-frame images are read", f->path, f->n_frames);
          return FALSE;
        }
      if (f->samples_per_pixel != 1
          || (strcmp (f->photometric, "MONOCHROME2") != 0
              && strcmp (f->photometric, "MONOCHROME1") != 0))
        {
          refuse (s, "%s: a colour image (%s, %d samples per pixel); only greyscale is read",
                  f->path, f->photometric, f->samples_per_pixel);
          return FALSE;
        }
      if ((f->bits_allocated != 8 && f->bits_allocated != 16) || f->bits_stored < 1
          || f->bits_stored > f->bits_allocated || f->high_bit < f->bits_stored - 1
          || f->high_bit >= f->bits_allocated)
        {
          refuse (s, "%s: %d bits allocated, %d stored, high bit %d; 8- and 16-bit pixels "
                  "are read", f->path, f->bits_allocated, f->bits_stored, f->high_bit);
          return FALSE;
        }
      if (!f->has_position || !f->has_orientation || !f->has_spacing)
        {
          refuse (s, "%s: no %s; its place in space is unknown", f->path,
                  !f->has_position ? "Image Position (Patient)"
                  : !f->has_orientation ? "Image Orientation (Patient)" : "Pixel Spacing");
          return FALSE;
        }
      if (!(f->pixel_spacing[0] > 0.0) || !(f->pixel_spacing[1] > 0.0))
        {
          refuse (s, "%s: Pixel Spacing %g\\%g is not positive", f->path, f->pixel_spacing[0],
                  f->pixel_spacing[1]);
          return FALSE;
        }
      if (f->rows != first->rows || f->columns != first->columns
          || f->bits_allocated != first->bits_allocated
          || fabs (f->pixel_spacing[0] - first->pixel_spacing[0]) > 1e-4
          || fabs (f->pixel_spacing[1] - first->pixel_spacing[1]) > 1e-4)
        {
          refuse (s, "%s: %d x %d pixels of %g x %g mm, %d bits, where %s has %d x %d of "
                  "%g x %g mm, %d bits: mixed sizes in one series", f->path, f->columns,
                  f->rows, f->pixel_spacing[1], f->pixel_spacing[0], f->bits_allocated,
                  first->path, first->columns, first->rows, first->pixel_spacing[1],
                  first->pixel_spacing[0], first->bits_allocated);
          return FALSE;
        }
      for (int k = 0; k < 6; k++)
        if (fabs (f->orientation[k] - first->orientation[k]) > ORIENTATION_TOL)
          {
            refuse (s, "%s: its orientation (%.4g %.4g %.4g, %.4g %.4g %.4g) differs from that "
                    "of %s (%.4g %.4g %.4g, %.4g %.4g %.4g): slices of several orientations "
                    "(a localizer?) are not one volume", f->path, f->orientation[0],
                    f->orientation[1], f->orientation[2], f->orientation[3],
                    f->orientation[4], f->orientation[5], first->path, first->orientation[0],
                    first->orientation[1], first->orientation[2], first->orientation[3],
                    first->orientation[4], first->orientation[5]);
            return FALSE;
          }
      if (fabs (f->gantry_tilt) > 1e-3)
        {
          refuse (s, "%s: acquired with a gantry tilt of %g degrees; tilted stacks are not "
                  "read", f->path, f->gantry_tilt);
          return FALSE;
        }
    }

  const double *r = first->orientation, *c = first->orientation + 3;
  if (fabs (sqrt (dot3 (r, r)) - 1.0) > 1e-3 || fabs (sqrt (dot3 (c, c)) - 1.0) > 1e-3
      || fabs (dot3 (r, c)) > 1e-3)
    {
      refuse (s, "%s: Image Orientation (Patient) %g %g %g, %g %g %g is not two orthogonal "
              "unit vectors", first->path, r[0], r[1], r[2], c[0], c[1], c[2]);
      return FALSE;
    }
  if (s->files->len < 2)
    {
      refuse (s, "%s: a single slice is not a volume", first->path);
      return FALSE;
    }
  return TRUE;
}

static int
compare_doubles (const void *a, const void *b)
{
  double x = *(const double *) a, y = *(const double *) b;
  return (x > y) - (x < y);
}

/* Sorts the files along the normal n and checks their spacing; *spacing gets it. */
static gboolean
check_stack (NsDicomSeries *s, const double n[3], double *spacing)
{
  guint len = s->files->len;
  g_autofree Slice *slices = g_new (Slice, len);
  for (guint i = 0; i < len; i++)
    {
      slices[i].file = g_ptr_array_index (s->files, i);
      slices[i].d = dot3 (slices[i].file->position, n);
    }
  qsort (slices, len, sizeof *slices, compare_slices_qsort);

  g_autofree double *gaps = g_new (double, len - 1);
  for (guint i = 0; i + 1 < len; i++)
    {
      gaps[i] = slices[i + 1].d - slices[i].d;
      if (gaps[i] < 1e-3)
        {
          refuse (s, "%s and %s are at the same position (%.4f mm along the normal): several "
                  "echoes, phases or time points in one series are not one volume",
                  slices[i].file->path, slices[i + 1].file->path, slices[i].d);
          return FALSE;
        }
    }
  /* The typical gap (the median) tells a missing slice from rounding. */
  g_autofree double *sorted = g_memdup2 (gaps, (len - 1) * sizeof *gaps);
  qsort (sorted, len - 1, sizeof *sorted, compare_doubles);
  double median = sorted[(len - 1) / 2];
  for (guint i = 0; i + 1 < len; i++)
    if (gaps[i] > 1.5 * median)
      {
        refuse (s, "%s: a slice is missing between it (%.4f mm along the normal) and %s "
                "(%.4f mm): a gap of %.4g mm where the slices are %.4g mm apart",
                slices[i].file->path, slices[i].d, slices[i + 1].file->path, slices[i + 1].d,
                gaps[i], median);
        return FALSE;
      }

  double step = (slices[len - 1].d - slices[0].d) / (double) (len - 1);
  double tol = MAX (0.01 * step, 0.01);
  const double *p0 = slices[0].file->position;
  for (guint i = 0; i < len; i++)
    {
      const NsDicomFile *f = slices[i].file;
      double off = slices[i].d - (slices[0].d + (double) i * step);
      if (fabs (off) > tol)
        {
          refuse (s, "%s: %.3g mm off the even spacing of %.4g mm from %s: unevenly spaced "
                  "slices are not one volume", f->path, off, step, slices[0].file->path);
          return FALSE;
        }
      /* What is left of the offset from the first slice once its part along n is removed:
       * zero for a stack, the shear of a gantry tilt otherwise. */
      double v[3] = { f->position[0] - p0[0], f->position[1] - p0[1], f->position[2] - p0[2] };
      double along = dot3 (v, n);
      double w[3] = { v[0] - along * n[0], v[1] - along * n[1], v[2] - along * n[2] };
      double shear = sqrt (dot3 (w, w));
      if (shear > tol)
        {
          refuse (s, "%s: %.3g mm off the normal through %s: a gantry tilt or a sheared stack "
                  "is not read", f->path, shear, slices[0].file->path);
          return FALSE;
        }
    }

  for (guint i = 0; i < len; i++)
    s->files->pdata[i] = slices[i].file;
  *spacing = step;
  return TRUE;
}

/* The grid: i along r, j along c, k along n; LPS to RAS negates x and y. */
static void
build_grid (NsDicomSeries *s, const double r[3], const double c[3], const double n[3],
            double step)
{
  const NsDicomFile *first = g_ptr_array_index (s->files, 0);
  NsGrid *g = &s->grid;

  memset (g, 0, sizeof *g);
  g->dim[0] = first->columns;
  g->dim[1] = first->rows;
  g->dim[2] = (int) s->files->len;
  g->spacing[0] = first->pixel_spacing[1];
  g->spacing[1] = first->pixel_spacing[0];
  g->spacing[2] = step;
  for (int a = 0; a < 3; a++)
    {
      double sign = a < 2 ? -1.0 : 1.0;
      g->sform[a][0] = sign * r[a] * g->spacing[0];
      g->sform[a][1] = sign * c[a] * g->spacing[1];
      g->sform[a][2] = sign * n[a] * g->spacing[2];
      g->sform[a][3] = sign * first->position[a];
    }
  g->sform[3][3] = 1.0;
  memcpy (g->qform, g->sform, sizeof g->qform);
  g->sform_code = NIFTI_XFORM_SCANNER_ANAT;
  g->qform_code = NIFTI_XFORM_SCANNER_ANAT;

  /* The quaternion that a NIfTI file written on this grid carries (nifticlib's maths). */
  mat44 m;
  for (int a = 0; a < 4; a++)
    for (int b = 0; b < 4; b++)
      m.m[a][b] = (float) g->sform[a][b];
  float qb, qc, qd, qx, qy, qz, dx, dy, dz, qfac;
  nifti_mat44_to_quatern (m, &qb, &qc, &qd, &qx, &qy, &qz, &dx, &dy, &dz, &qfac);
  g->quatern[0] = qb;
  g->quatern[1] = qc;
  g->quatern[2] = qd;
  g->qoffset[0] = g->sform[0][3];
  g->qoffset[1] = g->sform[1][3];
  g->qoffset[2] = g->sform[2][3];
  g->qfac = qfac < 0.0f ? -1.0 : 1.0;
  g->xyz_units = NIFTI_UNITS_MM;
  ns_grid_update_vox2ras (g);
}

void
_ns_dicom_series_check (NsDicomSeries *s)
{
  s->is_volume = FALSE;
  g_clear_pointer (&s->problem, g_free);
  g_ptr_array_sort (s->files, compare_files_by_instance);
  if (!check_files (s))
    return;

  /* Unit vectors exactly, so that the grid is a rotation and the qform represents it. */
  const NsDicomFile *first = g_ptr_array_index (s->files, 0);
  double r[3], c[3], n[3];
  memcpy (r, first->orientation, sizeof r);
  memcpy (c, first->orientation + 3, sizeof c);
  double lr = sqrt (dot3 (r, r)), lc = sqrt (dot3 (c, c));
  for (int a = 0; a < 3; a++)
    {
      r[a] /= lr;
      c[a] /= lc;
    }
  cross3 (r, c, n);
  double ln = sqrt (dot3 (n, n));
  for (int a = 0; a < 3; a++)
    n[a] /= ln;

  double step;
  if (!check_stack (s, n, &step))
    return;
  build_grid (s, r, c, n, step);
  s->is_volume = TRUE;
}

/* ---- voxels -------------------------------------------------------------------------------- */

static int
file_datatype (const NsDicomFile *f)
{
  if (f->bits_allocated == 8)
    return f->pixel_signed ? DT_INT8 : DT_UINT8;
  return f->pixel_signed ? DT_INT16 : DT_UINT16;
}

static double
file_slope (const NsDicomFile *f)
{
  /* A slope of 0 would erase the image; no scanner means it (dcm2niix reads it as 1). */
  return f->rescale_slope != 0.0 ? f->rescale_slope : 1.0;
}

NsVolume *
ns_dicom_series_read (const NsDicomSeries *series, GError **error)
{
  g_return_val_if_fail (series != NULL, NULL);
  if (!series->is_volume)
    {
      g_set_error (error, NS_DATA_ERROR, NS_DATA_ERROR_INVALID, "%s",
                   series->problem != NULL ? series->problem : "not a volume");
      return NULL;
    }

  const NsGrid *g = &series->grid;
  const NsDicomFile *first = g_ptr_array_index (series->files, 0);
  gsize per_slice = (gsize) g->dim[0] * (gsize) g->dim[1];
  gsize n = per_slice * (gsize) g->dim[2];
  guint64 bytes = (guint64) n * sizeof (float) + (guint64) per_slice * sizeof (double);
  guint64 available = 0;
  if (!ns_memory_reserve (bytes, &available))
    {
      g_set_error (error, NS_DATA_ERROR, NS_DATA_ERROR_TOO_LARGE,
                   "%s: too large: reading its %" G_GSIZE_FORMAT " voxels needs %" G_GUINT64_FORMAT
                   " MiB, more than the %" G_GUINT64_FORMAT " MiB of memory available",
                   first->path, n, (bytes + (1 << 20) - 1) >> 20, available >> 20);
      return NULL;
    }

  float *voxels = ns_memory_alloc_large (n * sizeof (float), FALSE);
  g_autofree double *values = voxels != NULL ? g_try_new (double, per_slice) : NULL;
  gboolean ok = values != NULL;
  if (!ok)
    g_set_error (error, NS_DATA_ERROR, NS_DATA_ERROR_TOO_LARGE,
                 "%s: out of memory for %" G_GSIZE_FORMAT " voxels", first->path, n);
  gboolean uniform = TRUE;
  for (guint k = 0; ok && k < series->files->len; k++)
    {
      const NsDicomFile *f = g_ptr_array_index (series->files, k);
      ok = _ns_dicom_read_pixels (f, values, error);
      double slope = file_slope (f), inter = f->rescale_intercept;
      uniform = uniform && slope == file_slope (first) && inter == first->rescale_intercept;
      float *out = voxels + (gsize) k * per_slice;
      for (gsize p = 0; ok && p < per_slice; p++)
        out[p] = (float) (values[p] * slope + inter);
    }
  ns_memory_release (bytes);
  if (!ok)
    {
      g_free (voxels);
      return NULL;
    }

  NsVolume *vol = ns_volume_new_take (g, voxels);
  vol->path = g_strdup (first->path);
  vol->name = g_strdup (series->description);
  if (uniform)
    {
      vol->datatype = file_datatype (first);
      vol->scl_slope = file_slope (first);
      vol->scl_inter = first->rescale_intercept;
    }
  else
    {
      /* Each slice has its own scaling (Philips does this): the volume is float data. */
      vol->datatype = DT_FLOAT32;
      vol->scl_slope = 0.0;
      vol->scl_inter = 0.0;
    }
  return vol;
}
