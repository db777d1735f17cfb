/* SPDX-License-Identifier: MIT
 *
 * ns-nifti.h: NIfTI-1 and NIfTI-2 input, NIfTI-1 output (.nii and .nii.gz).
 *
 * Reading is ours, on top of zlib: the 348-byte (NIfTI-2: 540-byte) header is validated
 * completely (size field, magic, dims, datatype, vox_offset, and the file's size against
 * what the header describes) having read nothing else of the file.  Decoding then reserves its memory
 * from the budget of ns-memory.h (what the system has available, shared by the files
 * decoded at once) and converts the voxels chunk by chunk to float32 with
 * scl_slope/scl_inter applied in double, allocating as the data arrives.  nifticlib
 * provides the header layout, byte swapping and the quaternion maths, and writes label
 * maps and volumes (ns-nifti-write.c).  We do not let nifticlib read: it trusts the header
 * (it allocates what the dims say and prints to stderr), and a loader that opens files
 * from users must not.
 *
 * Supported datatypes: uint8, int8, int16, uint16, int32, uint32, float32, float64, in
 * either byte order.  A file with several 3-D volumes (4-D, Medical Segmentation
 * Decathlon style) is split into one NsVolume per volume.  NaN and Inf voxels are set to
 * 0 and counted in NsVolume.n_nonfinite.  Only regular files are read (ns-file.h: a FIFO,
 * a device or a broken link is named as such).  Every error is an NS_DATA_ERROR naming the
 * file.
 */
#pragma once

#include "ns-volume.h"

G_BEGIN_DECLS

/* What a header says, once validated. */
typedef struct
{
  NsGrid grid;
  int version;            /* 1 (NIfTI-1) or 2 (NIfTI-2) */
  int n_volumes;          /* product of dim[4..7]; 1 for a 3-D file */
  int datatype;           /* NIfTI datatype code */
  int bytes_per_voxel;
  int intent_code;
  double scl_slope;       /* as in the file: 0 (or non-finite) means none */
  double scl_inter;
  double cal_min;
  double cal_max;
  gsize vox_offset;       /* where the voxels start (>= 352) */
  guint64 file_size;      /* bytes of the file as stored (compressed when gzip) */
  gboolean byte_swapped;  /* the file is in the other byte order */
  gboolean compressed;    /* gzip */
  char descrip[81];
} NsNiftiHeader;

/* Reads and validates the header only (for `neuroseg info` and quick checks): a few kB
 * of the file are read, whatever its size.  A plain file must be exactly as long as the
 * header describes; whether a compressed one holds its voxels shows only on decoding. */
gboolean    ns_nifti_read_header     (const char *path, NsNiftiHeader *header, GError **error);

/* Reads a file holding exactly one 3-D volume; a file with several volumes is an
 * NS_DATA_ERROR_UNSUPPORTED error (use ns_nifti_read_all()). */
NsVolume   *ns_nifti_read            (const char *path, GError **error);
/* Every 3-D volume of a file, in file order: a GPtrArray of NsVolume (it owns them). */
GPtrArray  *ns_nifti_read_all        (const char *path, GError **error);
/* The same from bytes in memory (a whole file, gzip-compressed or not); name is used in
 * error messages and as NsVolume.path.  The fuzz target's entry point. */
GPtrArray  *ns_nifti_read_memory     (const void *data, gsize size, const char *name,
                                      GError **error);

/* Called by ns_nifti_scan () for each run of voxels, in file order: volume is the index
 * of the 3-D volume, first the index in it of values[0].  values are what
 * ns_nifti_read_all () would store (scaled, NaN and Inf as 0, n_nonfinite of them in this
 * run), valid during the call.  Return FALSE with error set to stop. */
typedef gboolean (*NsNiftiScanFunc) (guint volume, gsize first, const float *values, gsize n,
                                     gsize n_nonfinite, gpointer user_data, GError **error);

/* Reads the whole file, header (stored in header, may be NULL) and every voxel, checking
 * all that ns_nifti_read_all () checks, in constant memory (a few MiB): no volume is held.
 * func (may be NULL: only verify the file) sees the voxels. */
gboolean    ns_nifti_scan            (const char *path, NsNiftiHeader *header,
                                      NsNiftiScanFunc func, gpointer user_data,
                                      GError **error);

/* Writes a uint8 label map (intent NIFTI_INTENT_LABEL) or a float32 volume carrying the
 * grid's sform and qform (codes, matrices, quaternion, qfac) and units, so that it
 * overlays its image exactly.  Compressed when path ends in ".gz".  Atomic: written to a
 * temporary file in the same folder, flushed to disk, then renamed over path. */
gboolean    ns_nifti_write_label_map (const NsLabelMap *map, const char *path, GError **error);
gboolean    ns_nifti_write_volume    (const NsVolume *volume, const char *path, GError **error);

/* "INT16", "FLOAT32", ... for any NIfTI datatype code ("unknown" otherwise). */
const char *ns_nifti_datatype_name   (int datatype);
/* "scanner", "aligned", "talairach", "mni", "template" or "unknown" for a q/s-form code. */
const char *ns_nifti_xform_name      (int code);

G_END_DECLS
