/* SPDX-License-Identifier: MIT
 *
 * ns-nifti-write.c: NIfTI-1 writing with nifticlib: label maps and float32 volumes that
 * carry their grid's sform and qform (codes, matrices, quaternion, qfac) and units, so
 * that a mask overlays its image exactly in ITK-SNAP, FSLeyes and nibabel.  Atomic: a
 * temporary file in the same folder, flushed to disk, then renamed over the target.
 * nifticlib writes well; it is only its reading that we do not use (see ns-nifti.c).
 */
#define G_LOG_DOMAIN "neuroseg-data"

#include "ns-nifti.h"
#include "ns-data-error.h"

#include <errno.h>
#include <fcntl.h>
#include <glib/gstdio.h>
#include <nifti1_io.h>
#include <unistd.h>

static void
quiet_nifticlib (void)
{
  static gsize once;
  if (g_once_init_enter (&once))
    {
      nifti_set_debug_level (0);
      g_once_init_leave (&once, 1);
    }
}

/* A nifti_image header for grid (data not attached). */
static nifti_image *
make_nim (const NsGrid *grid, int datatype, GError **error, const char *path)
{
  int dims[8] = { 3, grid->dim[0], grid->dim[1], grid->dim[2], 1, 1, 1, 1 };
  nifti_image *nim = nifti_make_new_nim (dims, datatype, 0);
  if (nim == NULL)
    {
      g_set_error (error, NS_DATA_ERROR, NS_DATA_ERROR_IO,
                   "%s: nifticlib could not create a header", path);
      return NULL;
    }
  nim->dx = nim->pixdim[1] = (float) grid->spacing[0];
  nim->dy = nim->pixdim[2] = (float) grid->spacing[1];
  nim->dz = nim->pixdim[3] = (float) grid->spacing[2];
  nim->qform_code = grid->qform_code;
  nim->sform_code = grid->sform_code;
  nim->quatern_b = (float) grid->quatern[0];
  nim->quatern_c = (float) grid->quatern[1];
  nim->quatern_d = (float) grid->quatern[2];
  nim->qoffset_x = (float) grid->qoffset[0];
  nim->qoffset_y = (float) grid->qoffset[1];
  nim->qoffset_z = (float) grid->qoffset[2];
  nim->qfac = grid->qfac < 0.0 ? -1.0f : 1.0f;
  nim->pixdim[0] = nim->qfac;
  for (int r = 0; r < 4; r++)
    for (int c = 0; c < 4; c++)
      {
        nim->qto_xyz.m[r][c] = (float) grid->qform[r][c];
        nim->sto_xyz.m[r][c] = (float) grid->sform[r][c];
      }
  if (grid->sform_code == 0 && grid->qform_code == 0)
    {
      /* No transform in the source: keep the pixdim geometry, nothing more. */
      nim->quatern_b = nim->quatern_c = nim->quatern_d = 0.0f;
      nim->qoffset_x = nim->qoffset_y = nim->qoffset_z = 0.0f;
    }
  nim->qto_ijk = nifti_mat44_inverse (nim->qto_xyz);
  nim->sto_ijk = nifti_mat44_inverse (nim->sto_xyz);
  nim->xyz_units = grid->xyz_units;
  nim->time_units = grid->time_units;
  nim->scl_slope = 0.0f;
  nim->scl_inter = 0.0f;
  return nim;
}

static gboolean
write_nim_atomically (nifti_image *nim, const char *path, GError **error)
{
  quiet_nifticlib ();

  gboolean gz = g_str_has_suffix (path, ".gz") || g_str_has_suffix (path, ".GZ");
  if (!(g_str_has_suffix (path, ".nii") || g_str_has_suffix (path, ".nii.gz")))
    {
      g_set_error (error, NS_DATA_ERROR, NS_DATA_ERROR_INVALID,
                   "%s: the file name must end in .nii or .nii.gz", path);
      return FALSE;
    }

  g_autofree char *dir = g_path_get_dirname (path);
  g_autofree char *base = g_path_get_basename (path);
  g_autofree char *tmpl = g_strdup_printf (".%s-XXXXXX%s", base, gz ? ".nii.gz" : ".nii");
  g_autofree char *tmp = g_build_filename (dir, tmpl, NULL);
  int fd = g_mkstemp_full (tmp, O_RDWR | O_CLOEXEC, 0644);
  if (fd < 0)
    {
      g_set_error (error, NS_DATA_ERROR, NS_DATA_ERROR_IO, "%s: cannot create a file in %s: %s",
                   path, dir, g_strerror (errno));
      return FALSE;
    }
  close (fd);

  if (nifti_set_filenames (nim, tmp, 0, 1) != 0)
    {
      g_unlink (tmp);
      g_set_error (error, NS_DATA_ERROR, NS_DATA_ERROR_IO, "%s: nifticlib refused the name", path);
      return FALSE;
    }
  nim->nifti_type = NIFTI_FTYPE_NIFTI1_1;

  /* write_opts 1 (data) | 2 (leave open), so that we see gzclose's status: a full disk
   * shows up only when the last compressed block is flushed. */
  znzFile fp = nifti_image_write_hdr_img2 (nim, 3, "wb", NULL, NULL);
  gboolean ok = !znz_isnull (fp);
  if (ok && Xznzclose (&fp) != 0)
    ok = FALSE;
  if (ok)
    {
      /* The data must be on disk before the name points at it. */
      fd = g_open (tmp, O_RDONLY | O_CLOEXEC, 0);
      ok = fd >= 0 && fsync (fd) == 0;
      if (fd >= 0)
        close (fd);
    }
  if (!ok)
    {
      int saved = errno;
      g_unlink (tmp);
      g_set_error (error, NS_DATA_ERROR, NS_DATA_ERROR_IO, "%s: write failed: %s", path,
                   saved != 0 ? g_strerror (saved) : "nifticlib could not write the file");
      return FALSE;
    }
  if (g_rename (tmp, path) != 0)
    {
      int saved = errno;
      g_unlink (tmp);
      g_set_error (error, NS_DATA_ERROR, NS_DATA_ERROR_IO, "%s: cannot replace the file: %s",
                   path, g_strerror (saved));
      return FALSE;
    }
  int dfd = g_open (dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC, 0);
  if (dfd >= 0)
    {
      fsync (dfd); /* best effort: the rename itself is durable after this */
      close (dfd);
    }
  return TRUE;
}

static gboolean
write_data (const NsGrid *grid, int datatype, int intent, void *data, const char *descrip,
            const char *path, GError **error)
{
  g_return_val_if_fail (path != NULL, FALSE);

  nifti_image *nim = make_nim (grid, datatype, error, path);
  if (nim == NULL)
    return FALSE;
  nim->intent_code = intent;
  if (descrip != NULL)
    g_strlcpy (nim->descrip, descrip, sizeof nim->descrip);
  nim->data = data; /* borrowed: detached before nifti_image_free */
  errno = 0;
  gboolean ok = write_nim_atomically (nim, path, error);
  nim->data = NULL;
  nifti_image_free (nim);
  return ok;
}

gboolean
ns_nifti_write_label_map (const NsLabelMap *map, const char *path, GError **error)
{
  g_return_val_if_fail (map != NULL, FALSE);
  return write_data (&map->grid, DT_UINT8, NIFTI_INTENT_LABEL, map->labels, "neuroseg labels",
                     path, error);
}

gboolean
ns_nifti_write_volume (const NsVolume *volume, const char *path, GError **error)
{
  g_return_val_if_fail (volume != NULL, FALSE);
  /* Always float32 in the file (ns-nifti.h); a volume held as int16 or uint8 is widened
   * for the write, exactly. */
  g_autoptr (NsVolume) widened = NULL;
  if (volume->storage != NS_VOLUME_STORAGE_FLOAT32)
    {
      widened = ns_volume_dup_float (volume, error);
      if (widened == NULL)
        return FALSE;
      volume = widened;
    }
  return write_data (&volume->grid, DT_FLOAT32, volume->intent_code, volume->voxels,
                     volume->name, path, error);
}
