/* SPDX-License-Identifier: MIT
 *
 * ns-volume.h: the in-memory image and label map of Neuroseg.
 *
 * An NsVolume is voxels in the file's voxel order (x fastest), with the grid (dims,
 * spacing, voxel-to-RAS matrix) and what the file said about itself (datatype, intent,
 * scaling, the q/s-form codes and matrices, so that a label map written on the same grid
 * carries them unchanged).  An NsLabelMap is uint8 on exactly such a grid.
 *
 * Storage: a volume keeps the datatype its values need, not always float32.  An image
 * read from an int16 or uint8 file without scaling (every BraTS image) is held as int16
 * or uint8: half or a quarter of the memory, and every value exactly what float32 would
 * hold.  Consumers that want floats read them with ns_volume_get_value () or a run at a
 * time with ns_volume_read_floats (); `voxels` is set only for float32 storage (volumes
 * made by ns_volume_new (), normalised images, probabilities, files of floats or with a
 * scaling), and is NULL otherwise.
 * Both are reference counted and immutable in their geometry; voxel values may change
 * (label maps are edited in place by the editor under its own locking).
 */
#pragma once

#include <glib.h>
#include <stdint.h>

G_BEGIN_DECLS

/* The grid shared by an image and its label maps. */
/* Where a grid's voxel-to-RAS matrix comes from (see ns_grid_get_xform ()). */
typedef enum
{
  NS_GRID_XFORM_PIXDIM,  /* axis-aligned, from the voxel sizes (NIfTI's method 1) */
  NS_GRID_XFORM_QFORM,
  NS_GRID_XFORM_SFORM,
} NsGridXform;

typedef struct
{
  int dim[3];            /* voxels along i, j, k */
  double spacing[3];     /* mm, from pixdim (always > 0) */
  double vox2ras[4][4];  /* the transform ns_grid_get_xform () names */

  /* What the file carried, kept so that masks written on this grid match the image. */
  int sform_code;
  int qform_code;
  double sform[4][4];
  double qform[4][4];
  double quatern[3];     /* quatern_b, c, d */
  double qoffset[3];
  double qfac;           /* -1 or 1 */
  int xyz_units;         /* NIfTI units code (space part) */
  int time_units;
} NsGrid;

/* The type an NsVolume holds its voxels in. */
typedef enum
{
  NS_VOLUME_STORAGE_FLOAT32,
  NS_VOLUME_STORAGE_INT16,
  NS_VOLUME_STORAGE_UINT8,
} NsVolumeStorage;

typedef struct
{
  NsGrid grid;
  float *voxels;         /* (dim[2], dim[1], dim[0]) x fastest, scl_slope/inter applied;
                          * float32 storage only, else NULL (see data) */
  char *path;            /* file it came from, or NULL (owned) */
  char *name;            /* modality or description, e.g. "flair" (owned, may be NULL) */
  int datatype;          /* NIfTI datatype code of the file (DT_INT16, ...) */
  int intent_code;
  double scl_slope;      /* as in the file (0 means none) */
  double scl_inter;
  gsize n_nonfinite;     /* NaN/Inf voxels found on load (set to 0 in voxels[]) */
  NsVolumeStorage storage;
  gpointer data;         /* the voxels in storage's type, same order; == voxels for
                          * float32 (owned) */
  /* private */
  gatomicrefcount ref_count;
} NsVolume;

typedef struct
{
  NsGrid grid;
  guint8 *labels;        /* same order as NsVolume.voxels */
  char *path;            /* owned, may be NULL */
  /* private */
  gatomicrefcount ref_count;
} NsLabelMap;

static inline gsize
ns_grid_n_voxels (const NsGrid *grid)
{
  return (gsize) grid->dim[0] * (gsize) grid->dim[1] * (gsize) grid->dim[2];
}

static inline gsize
ns_grid_index (const NsGrid *grid, int i, int j, int k)
{
  return ((gsize) k * (gsize) grid->dim[1] + (gsize) j) * (gsize) grid->dim[0] + (gsize) i;
}

/* The face neighbours (6-connectivity) of voxel p of an nx x ny x nz box indexed like
 * ns_grid_index (), written to nb in the order -i, +i, -j, +j, -k, +k; returns how many
 * (fewer at the box's faces). */
static inline int
ns_box_neighbours6 (guint32 p, int nx, int ny, int nz, guint32 nb[6])
{
  guint32 sxy = (guint32) nx * (guint32) ny;
  int i = p % nx, j = (p / nx) % ny, k = p / sxy;
  int m = 0;

  if (i > 0) nb[m++] = p - 1;
  if (i < nx - 1) nb[m++] = p + 1;
  if (j > 0) nb[m++] = p - nx;
  if (j < ny - 1) nb[m++] = p + nx;
  if (k > 0) nb[m++] = p - sxy;
  if (k < nz - 1) nb[m++] = p + sxy;
  return m;
}

/* The transform vox2ras is taken from: the sform when its code is > 0 and its matrix is
 * finite and invertible, else the qform likewise, else pixdim.  A transform that the file
 * declares (code > 0) but that is unusable (NaN, Inf, a singular matrix such as all
 * zeros) is skipped, and ns_grid_dup_xform_warning () says so. */
NsGridXform ns_grid_get_xform        (const NsGrid *grid);
/* Sets vox2ras by that rule from sform, qform and spacing (for a grid read from a file). */
void        ns_grid_update_vox2ras   (NsGrid *grid);
/* "sform", "qform" or "pixdim". */
const char *ns_grid_xform_name       (NsGridXform xform);
/* One line on each declared transform that is not used and why, e.g. "the sform (code 1)
 * is singular (its 3x3 part has no inverse); the qform is used instead", or NULL when
 * every declared transform is usable. */
char       *ns_grid_dup_xform_warning (const NsGrid *grid);
/* TRUE when both grids have the same dims and (within 1e-3 mm) the same voxel-to-RAS. */
gboolean    ns_grid_equal            (const NsGrid *a, const NsGrid *b);
/* A grid with the given dims and spacing, axis-aligned, no q/s-form (codes 0). */
void        ns_grid_init             (NsGrid *grid, int nx, int ny, int nz, double sx, double sy,
                                      double sz);
/* Three-letter orientation code of the voxel axes, e.g. "LPS" (DICOM-style: the direction
 * each axis points to).  buf needs 4 bytes. */
void        ns_grid_orientation_code (const NsGrid *grid, char buf[4]);
double      ns_grid_voxel_volume_ml  (const NsGrid *grid);

/* Voxels are zeroed.  Returns NULL (and sets error) when the size overflows or the
 * allocation fails. */
NsVolume   *ns_volume_new            (const NsGrid *grid, GError **error);
/* A volume that takes voxels (ns_grid_n_voxels (grid) floats from ns_memory_alloc_large ()
 * or g_malloc (), every one already written): for readers that fill a buffer as data
 * arrives and must not zero-fill gigabytes before the first voxel is decoded. */
NsVolume   *ns_volume_new_take       (const NsGrid *grid, float *voxels);
/* The same for voxels of another storage (ns_grid_n_voxels (grid) values of its type). */
NsVolume   *ns_volume_new_take_storage (const NsGrid *grid, NsVolumeStorage storage,
                                       gpointer data);
/* A float32 copy (voxels set) of a volume of any storage, with its path, name and file
 * fields: for the few consumers that need every voxel as float at once. */
NsVolume   *ns_volume_dup_float      (const NsVolume *volume, GError **error);
/* Voxels start .. start + n - 1 (in the voxel order) as float32, into out. */
void        ns_volume_read_floats    (const NsVolume *volume, gsize start, gsize n, float *out);
/* Bytes one voxel takes in a storage. */
gsize       ns_volume_storage_size   (NsVolumeStorage storage);
NsVolume   *ns_volume_ref            (NsVolume *volume);
void        ns_volume_unref          (NsVolume *volume);
gsize       ns_volume_n_voxels       (const NsVolume *volume);

/* Voxel index (ns_grid_index ()) as float32, whatever the storage: the value float32
 * storage would hold (int16 and uint8 values are exact in float32). */
static inline float
ns_volume_get_value (const NsVolume *volume, gsize index)
{
  switch (volume->storage)
    {
    case NS_VOLUME_STORAGE_INT16:
      return (float) ((const gint16 *) volume->data)[index];
    case NS_VOLUME_STORAGE_UINT8:
      return (float) ((const guint8 *) volume->data)[index];
    case NS_VOLUME_STORAGE_FLOAT32:
    default:
      return volume->voxels[index];
    }
}

NsLabelMap *ns_label_map_new         (const NsGrid *grid, GError **error);
NsLabelMap *ns_label_map_ref         (NsLabelMap *map);
void        ns_label_map_unref       (NsLabelMap *map);
NsLabelMap *ns_label_map_dup         (const NsLabelMap *map, GError **error);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (NsVolume, ns_volume_unref)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (NsLabelMap, ns_label_map_unref)

G_END_DECLS
