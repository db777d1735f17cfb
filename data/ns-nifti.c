/* SPDX-License-Identifier: MIT
 *
 * ns-nifti.c: NIfTI-1 and NIfTI-2 reading, our own and hardened, on zlib (and libdeflate
 * where built).
 *
 * Reading goes: open a byte source (ns-nifti-source.c: a regular file through gzread,
 * which reads plain files too, or a memory buffer through inflate), read the 348-byte
 * header and validate every field we use, including what the file can hold: exactly its
 * size when plain, at most deflate's largest expansion (1032 x) when compressed.  Only the
 * header has been read at that point (a few kB of the file, whatever its size).
 *
 * Decoding then reserves from the memory budget (ns-memory.h) what the header says it
 * will take, and allocates as the data arrives: each float32 volume grows with the voxels
 * actually decoded, so a small .nii.gz whose header claims a billion voxels costs what
 * its stream holds, and nothing is zero-filled ahead of the data.  The fast path
 * (libdeflate, ~3 x zlib) decodes a whole gzip buffer at once; it is taken only when the
 * gzip trailer's length agrees with the header, and its output buffer grows with the
 * stream as well.  Every path refuses a stream that ends early and one that holds more
 * than the header describes.
 *
 * NIfTI-1 and NIfTI-2 headers (540 bytes, 64-bit dims and double fields) are read into one
 * wide form and validated by one function; NIfTI-2 is byte-swapped field by field here
 * (libnifti2 would do it, but it defines nifticlib's NIfTI-1 symbols again, with other
 * signatures, and cannot be linked beside libniftiio).
 *
 * The trade-off: a .hdr/.img pair and ANALYZE 7.5 are refused rather than half supported.
 */
#define G_LOG_DOMAIN "neuroseg-data"

#include "ns-nifti.h"
#include "ns-nifti-private.h"
#include "ns-nifti-source.h"
#include "ns-data-error.h"
#include "ns-memory.h"

#include <errno.h>
#include <math.h>
#include <nifti1_io.h>
#include <nifti2.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>
#ifdef NS_HAVE_LIBDEFLATE
#include <libdeflate.h>
#endif

#define HEADER_SIZE   348          /* NIfTI-1 */
#define HEADER2_SIZE  540          /* NIfTI-2 */
#define CHUNK_BYTES   (1u << 20)
#define GROW_FIRST    ((gsize) 1 << 20)  /* voxels a growing volume starts with */
#define MAX_VOLUMES   4096         /* 3-D volumes in one 4-D file (an fMRI run is ~1000) */

/* ---- header validation ------------------------------------------------------------------ */

static int
datatype_size (int datatype)
{
  switch (datatype)
    {
    case DT_UINT8:
    case DT_INT8:
      return 1;
    case DT_INT16:
    case DT_UINT16:
      return 2;
    case DT_INT32:
    case DT_UINT32:
    case DT_FLOAT32:
      return 4;
    case DT_FLOAT64:
      return 8;
    default:
      return 0; /* not supported */
    }
}

const char *
ns_nifti_datatype_name (int datatype)
{
  switch (datatype)
    {
    case DT_UINT8: return "UINT8";
    case DT_INT8: return "INT8";
    case DT_INT16: return "INT16";
    case DT_UINT16: return "UINT16";
    case DT_INT32: return "INT32";
    case DT_UINT32: return "UINT32";
    case DT_INT64: return "INT64";
    case DT_UINT64: return "UINT64";
    case DT_FLOAT32: return "FLOAT32";
    case DT_FLOAT64: return "FLOAT64";
    case DT_FLOAT128: return "FLOAT128";
    case DT_COMPLEX64: return "COMPLEX64";
    case DT_COMPLEX128: return "COMPLEX128";
    case DT_COMPLEX256: return "COMPLEX256";
    case DT_RGB24: return "RGB24";
    case DT_RGBA32: return "RGBA32";
    case DT_BINARY: return "BINARY";
    default: return "unknown";
    }
}

const char *
ns_nifti_xform_name (int code)
{
  switch (code)
    {
    case NIFTI_XFORM_UNKNOWN: return "unknown";
    case NIFTI_XFORM_SCANNER_ANAT: return "scanner";
    case NIFTI_XFORM_ALIGNED_ANAT: return "aligned";
    case NIFTI_XFORM_TALAIRACH: return "talairach";
    case NIFTI_XFORM_MNI_152: return "mni";
    case 5: return "template"; /* NIFTI_XFORM_TEMPLATE_OTHER (2019) */
    default: return "invalid";
    }
}

static double
finite_or (double v, double fallback)
{
  return isfinite (v) ? v : fallback;
}

/* The header fields we use, at NIfTI-2's widths: both versions are read into this and
 * validated by one function. */
typedef struct
{
  int version;             /* 1 or 2 */
  gint64 dim[8];
  double pixdim[8];
  double vox_offset;
  int datatype;
  int intent_code;
  double scl_slope;
  double scl_inter;
  double cal_min;
  double cal_max;
  int qform_code;
  int sform_code;
  int xyzt_units;
  double quatern[3];
  double qoffset[3];
  double srow[3][4];
  char descrip[80];
} RawHeader;

static void
raw_from_nifti1 (const struct nifti_1_header *h, RawHeader *r)
{
  memset (r, 0, sizeof *r);
  r->version = 1;
  for (int d = 0; d < 8; d++)
    {
      r->dim[d] = h->dim[d];
      r->pixdim[d] = h->pixdim[d];
    }
  r->vox_offset = h->vox_offset;
  r->datatype = h->datatype;
  r->intent_code = h->intent_code;
  r->scl_slope = h->scl_slope;
  r->scl_inter = h->scl_inter;
  r->cal_min = h->cal_min;
  r->cal_max = h->cal_max;
  r->qform_code = h->qform_code;
  r->sform_code = h->sform_code;
  r->xyzt_units = (guint8) h->xyzt_units;
  r->quatern[0] = h->quatern_b;
  r->quatern[1] = h->quatern_c;
  r->quatern[2] = h->quatern_d;
  r->qoffset[0] = h->qoffset_x;
  r->qoffset[1] = h->qoffset_y;
  r->qoffset[2] = h->qoffset_z;
  for (int c = 0; c < 4; c++)
    {
      r->srow[0][c] = h->srow_x[c];
      r->srow[1][c] = h->srow_y[c];
      r->srow[2][c] = h->srow_z[c];
    }
  memcpy (r->descrip, h->descrip, sizeof r->descrip);
}

static void
raw_from_nifti2 (const struct nifti_2_header *h, RawHeader *r)
{
  memset (r, 0, sizeof *r);
  r->version = 2;
  for (int d = 0; d < 8; d++)
    {
      r->dim[d] = h->dim[d];
      r->pixdim[d] = h->pixdim[d];
    }
  /* An int64 offset; as a double it is exact below 2^53, far beyond any file. */
  r->vox_offset = (double) h->vox_offset;
  r->datatype = h->datatype;
  r->intent_code = h->intent_code;
  r->scl_slope = h->scl_slope;
  r->scl_inter = h->scl_inter;
  r->cal_min = h->cal_min;
  r->cal_max = h->cal_max;
  r->qform_code = h->qform_code;
  r->sform_code = h->sform_code;
  r->xyzt_units = h->xyzt_units;
  r->quatern[0] = h->quatern_b;
  r->quatern[1] = h->quatern_c;
  r->quatern[2] = h->quatern_d;
  r->qoffset[0] = h->qoffset_x;
  r->qoffset[1] = h->qoffset_y;
  r->qoffset[2] = h->qoffset_z;
  for (int c = 0; c < 4; c++)
    {
      r->srow[0][c] = h->srow_x[c];
      r->srow[1][c] = h->srow_y[c];
      r->srow[2][c] = h->srow_z[c];
    }
  memcpy (r->descrip, h->descrip, sizeof r->descrip);
}

/* NIfTI-2 in the other byte order: every numeric field swapped by its own width. */
static void
swap_field (void *p, gsize size, gsize count)
{
  guint8 *b = p;
  for (gsize i = 0; i < count; i++, b += size)
    for (gsize k = 0; k < size / 2; k++)
      {
        guint8 t = b[k];
        b[k] = b[size - 1 - k];
        b[size - 1 - k] = t;
      }
}

static void
swap_nifti2 (struct nifti_2_header *h)
{
  swap_field (&h->sizeof_hdr, 4, 1);
  swap_field (&h->datatype, 2, 1);
  swap_field (&h->bitpix, 2, 1);
  swap_field (h->dim, 8, 8);
  swap_field (&h->intent_p1, 8, 3);     /* intent_p1, p2, p3 */
  swap_field (h->pixdim, 8, 8);
  swap_field (&h->vox_offset, 8, 1);
  swap_field (&h->scl_slope, 8, 6);     /* scl_slope ... toffset */
  swap_field (&h->slice_start, 8, 2);   /* slice_start, slice_end */
  swap_field (&h->qform_code, 4, 2);    /* qform_code, sform_code */
  swap_field (&h->quatern_b, 8, 6);     /* quatern_b ... qoffset_z */
  swap_field (h->srow_x, 8, 12);        /* srow_x, srow_y, srow_z */
  swap_field (&h->slice_code, 4, 3);    /* slice_code, xyzt_units, intent_code */
}

static void
header_geometry (const RawHeader *h, NsGrid *g)
{
  for (int d = 0; d < 3; d++)
    {
      double p = fabs (h->pixdim[d + 1]);
      g->spacing[d] = isfinite (p) && p > 0.0 ? p : 1.0;
    }
  g->qfac = h->pixdim[0] < 0.0 ? -1.0 : 1.0;
  g->qform_code = h->qform_code > 0 ? h->qform_code : 0;
  g->sform_code = h->sform_code > 0 ? h->sform_code : 0;
  g->xyz_units = XYZT_TO_SPACE (h->xyzt_units);
  g->time_units = XYZT_TO_TIME (h->xyzt_units);
  for (int a = 0; a < 3; a++)
    {
      g->quatern[a] = finite_or (h->quatern[a], 0.0);
      g->qoffset[a] = finite_or (h->qoffset[a], 0.0);
    }

  /* nifticlib's quaternion maths (it takes |pixdim| and the sign of qfac itself), in
   * float for both versions: NIfTI-2's double quaternion then loses ~1e-7 relative in the
   * qform, and its sform (double rows, copied exactly) is what files are read by. */
  mat44 q = nifti_quatern_to_mat44 ((float) g->quatern[0], (float) g->quatern[1],
                                    (float) g->quatern[2], (float) g->qoffset[0],
                                    (float) g->qoffset[1], (float) g->qoffset[2],
                                    (float) g->spacing[0], (float) g->spacing[1],
                                    (float) g->spacing[2], (float) g->qfac);
  for (int r = 0; r < 4; r++)
    for (int c = 0; c < 4; c++)
      {
        g->qform[r][c] = q.m[r][c];
        g->sform[r][c] = r == 3 ? (c == 3 ? 1.0 : 0.0) : h->srow[r][c];
      }

  /* sform, else qform, else pixdim; a declared transform that is not finite or not
   * invertible is skipped (ns_grid_dup_xform_warning () says so), so that no later
   * computation meets a NaN coordinate or a volume of zero size. */
  ns_grid_update_vox2ras (g);
}

/* Validates h (already in host byte order) against what the source can hold; magic is the
 * file's signature (4 bytes of NIfTI-1, 8 of NIfTI-2). */
static gboolean
header_parse (const RawHeader *h, const char *magic, gboolean swapped,
              const NsNiftiSource *src, NsNiftiHeader *out, GError **error)
{
  const char *name = src->name;
  gboolean v2 = h->version == 2;
  gsize header_size = v2 ? HEADER2_SIZE : HEADER_SIZE;

  memset (out, 0, sizeof *out);
  if (memcmp (magic, v2 ? "ni2" : "ni1", 4) == 0)
    {
      g_set_error (error, NS_DATA_ERROR, NS_DATA_ERROR_UNSUPPORTED,
                   "%s: a .hdr/.img pair; only single-file NIfTI (.nii, .nii.gz) is supported",
                   name);
      return FALSE;
    }
  if (memcmp (magic, v2 ? "n+2" : "n+1", 4) != 0)
    {
      if (v2)
        g_set_error (error, NS_DATA_ERROR, NS_DATA_ERROR_NOT_NIFTI,
                     "%s: not a NIfTI-2 file (header size field 540 but no \"n+2\" magic)",
                     name);
      else
        g_set_error (error, NS_DATA_ERROR, NS_DATA_ERROR_NOT_NIFTI,
                     "%s: not a NIfTI-1 file (no \"n+1\" magic; ANALYZE 7.5 is not supported)",
                     name);
      return FALSE;
    }
  /* NIfTI-2's signature ends in \r\n\032\n: a transfer that altered line endings has
   * altered the voxels too. */
  if (v2 && memcmp (magic + 4, "\r\n\032\n", 4) != 0)
    {
      g_set_error (error, NS_DATA_ERROR, NS_DATA_ERROR_CORRUPT,
                   "%s: corrupt: the NIfTI-2 signature's line-ending bytes were changed (a "
                   "text-mode transfer?)", name);
      return FALSE;
    }

  gint64 ndim = h->dim[0];
  if (ndim < 1 || ndim > 7)
    {
      g_set_error (error, NS_DATA_ERROR, NS_DATA_ERROR_CORRUPT,
                   "%s: corrupt header: dim[0] is %" G_GINT64_FORMAT "; it must be 1 to 7",
                   name, ndim);
      return FALSE;
    }
  guint64 nvox = 1;
  gboolean overflow = FALSE;
  for (int d = 1; d <= ndim; d++)
    {
      if (h->dim[d] <= 0)
        {
          g_set_error (error, NS_DATA_ERROR, NS_DATA_ERROR_CORRUPT,
                       "%s: corrupt header: dimension %d is %" G_GINT64_FORMAT "; dimensions "
                       "must be positive", name, d, h->dim[d]);
          return FALSE;
        }
      /* NsGrid holds int dims (a NIfTI-2 dim is 64-bit). */
      if (h->dim[d] > G_MAXINT || nvox > G_MAXUINT64 / (guint64) h->dim[d])
        overflow = TRUE;
      else
        nvox *= (guint64) h->dim[d];
    }

  int nbyper = datatype_size (h->datatype);
  if (nbyper == 0)
    {
      g_set_error (error, NS_DATA_ERROR, NS_DATA_ERROR_UNSUPPORTED,
                   "%s: unsupported datatype %s (code %d); supported: UINT8, INT8, INT16, "
                   "UINT16, INT32, UINT32, FLOAT32, FLOAT64",
                   name, ns_nifti_datatype_name (h->datatype), h->datatype);
      return FALSE;
    }

  /* The floats a decode allocates must fit size_t; whether they fit the memory available
   * is the decoder's question (a header alone is read whatever the volume's size). */
  if (overflow || nvox > G_MAXSIZE / sizeof (float) / 2)
    {
      g_set_error (error, NS_DATA_ERROR, NS_DATA_ERROR_TOO_LARGE,
                   "%s: too large: the dimensions in the header overflow the address space",
                   name);
      return FALSE;
    }

  double off = h->vox_offset;
  if (!isfinite (off) || off < 0.0 || off > 1e15)
    {
      g_set_error (error, NS_DATA_ERROR, NS_DATA_ERROR_CORRUPT,
                   "%s: corrupt header: vox_offset is %g", name, off);
      return FALSE;
    }
  /* The standard says at least the header and the 4-byte extension flag; files written
   * with 0 (some old tools) have data there. */
  guint64 offset = off < (double) header_size ? header_size + 4 : (guint64) off;
  guint64 data_bytes = nvox * (guint64) nbyper;
  guint64 needed = offset + data_bytes;
  if (needed > src->bound)
    {
      if (src->compressed)
        g_set_error (error, NS_DATA_ERROR, NS_DATA_ERROR_CORRUPT,
                     "%s: corrupt: the header promises %" G_GUINT64_FORMAT
                     " bytes of voxels, more than the compressed file can hold",
                     name, data_bytes);
      else
        g_set_error (error, NS_DATA_ERROR, NS_DATA_ERROR_CORRUPT,
                     "%s: truncated: the header needs %" G_GUINT64_FORMAT
                     " bytes but the file has %" G_GUINT64_FORMAT,
                     name, needed, src->size);
      return FALSE;
    }
  /* A plain file holds exactly what its header describes: more is a damaged header or a
   * header for some other data, and would be read as if it were this image. */
  if (!src->compressed && needed < src->size)
    {
      g_set_error (error, NS_DATA_ERROR, NS_DATA_ERROR_CORRUPT,
                   "%s: corrupt: the file has %" G_GUINT64_FORMAT " bytes but its header "
                   "describes %" G_GUINT64_FORMAT " (%" G_GUINT64_FORMAT " bytes too many)",
                   name, src->size, needed, src->size - needed);
      return FALSE;
    }

  guint64 n_volumes = 1;
  for (int d = 4; d <= ndim; d++)
    n_volumes *= (guint64) h->dim[d]; /* no overflow: bounded by nvox */
  if (n_volumes > MAX_VOLUMES)
    {
      g_set_error (error, NS_DATA_ERROR, NS_DATA_ERROR_UNSUPPORTED,
                   "%s: %" G_GUINT64_FORMAT " volumes in one file; at most %d are supported",
                   name, n_volumes, MAX_VOLUMES);
      return FALSE;
    }

  NsGrid *g = &out->grid;
  for (int d = 0; d < 3; d++)
    g->dim[d] = d + 1 <= ndim ? (int) h->dim[d + 1] : 1;
  out->n_volumes = (int) n_volumes;
  header_geometry (h, g);

  out->version = h->version;
  out->datatype = h->datatype;
  out->bytes_per_voxel = nbyper;
  out->intent_code = h->intent_code;
  out->scl_slope = h->scl_slope;
  out->scl_inter = h->scl_inter;
  out->cal_min = h->cal_min;
  out->cal_max = h->cal_max;
  out->vox_offset = (gsize) offset;
  out->file_size = src->size;
  out->byte_swapped = swapped;
  out->compressed = src->compressed;
  memcpy (out->descrip, h->descrip, 80);
  out->descrip[80] = '\0';
  for (char *p = out->descrip; *p; p++)
    if ((guchar) *p < 0x20 || (guchar) *p >= 0x7f)
      *p = '?';
  return TRUE;
}

/* NIfTI-2: the rest of its 540-byte header after the first 348 bytes in first. */
static gboolean
read_header2 (NsNiftiSource *src, const void *first, gboolean swapped, NsNiftiHeader *out,
              GError **error)
{
  struct nifti_2_header h;
  G_STATIC_ASSERT (sizeof h == HEADER2_SIZE);

  memcpy (&h, first, HEADER_SIZE);
  gssize got = _ns_nifti_source_read (src, (guint8 *) &h + HEADER_SIZE,
                                      HEADER2_SIZE - HEADER_SIZE, error);
  if (got < 0)
    return FALSE;
  if (got < HEADER2_SIZE - HEADER_SIZE)
    {
      g_set_error (error, NS_DATA_ERROR, NS_DATA_ERROR_CORRUPT,
                   "%s: truncated: the file ends inside the NIfTI-2 header (%" G_GSSIZE_FORMAT
                   " of 540 bytes)", src->name, HEADER_SIZE + got);
      return FALSE;
    }
  if (swapped)
    swap_nifti2 (&h);
  RawHeader raw;
  raw_from_nifti2 (&h, &raw);
  return header_parse (&raw, h.magic, swapped, src, out, error);
}

static gboolean
read_header (NsNiftiSource *src, NsNiftiHeader *out, GError **error)
{
  struct nifti_1_header h;
  G_STATIC_ASSERT (sizeof h == HEADER_SIZE);

  gssize got = _ns_nifti_source_read (src, &h, sizeof h, error);
  if (got < 0)
    return FALSE; /* a damaged gzip stream: CORRUPT, already set */
  if ((gsize) got < sizeof h)
    {
      gint32 s = (gint32) GUINT32_SWAP_LE_BE ((guint32) h.sizeof_hdr);
      if (got >= 4 && (h.sizeof_hdr == HEADER_SIZE || s == HEADER_SIZE
                       || h.sizeof_hdr == HEADER2_SIZE || s == HEADER2_SIZE))
        g_set_error (error, NS_DATA_ERROR, NS_DATA_ERROR_CORRUPT,
                     "%s: truncated: the file ends inside the header (%" G_GSSIZE_FORMAT
                     " of %d bytes)", src->name, got,
                     h.sizeof_hdr == HEADER2_SIZE || s == HEADER2_SIZE ? HEADER2_SIZE
                                                                       : HEADER_SIZE);
      else
        g_set_error (error, NS_DATA_ERROR, NS_DATA_ERROR_NOT_NIFTI,
                     "%s: not a NIfTI file (%" G_GSSIZE_FORMAT " bytes, shorter than a header)",
                     src->name, got);
      return FALSE;
    }

  gint32 swapped_size = (gint32) GUINT32_SWAP_LE_BE ((guint32) h.sizeof_hdr);
  if (h.sizeof_hdr == HEADER2_SIZE || swapped_size == HEADER2_SIZE)
    return read_header2 (src, &h, h.sizeof_hdr != HEADER2_SIZE, out, error);

  gboolean swapped = FALSE;
  if (h.sizeof_hdr != HEADER_SIZE)
    {
      if (swapped_size != HEADER_SIZE)
        {
          g_set_error (error, NS_DATA_ERROR, NS_DATA_ERROR_NOT_NIFTI,
                       "%s: not a NIfTI file (header size field is %d, not 348 or 540)",
                       src->name, h.sizeof_hdr);
          return FALSE;
        }
      swap_nifti_header (&h, 1);
      swapped = TRUE;
    }
  RawHeader raw;
  raw_from_nifti1 (&h, &raw);
  return header_parse (&raw, h.magic, swapped, src, out, error);
}

gboolean
ns_nifti_read_header (const char *path, NsNiftiHeader *header, GError **error)
{
  NsNiftiSource src;

  g_return_val_if_fail (path != NULL, FALSE);
  g_return_val_if_fail (header != NULL, FALSE);
  if (!_ns_nifti_source_open_file (&src, path, error))
    return FALSE;
  gboolean ok = read_header (&src, header, error);
  _ns_nifti_source_close (&src);
  return ok;
}

/* ---- memory ------------------------------------------------------------------------------- */

static guint64
header_n_voxels (const NsNiftiHeader *hdr)
{
  return (guint64) ns_grid_n_voxels (&hdr->grid) * (guint64) hdr->n_volumes;
}

gboolean
_ns_nifti_reserve (const char *what, guint64 bytes, guint64 n_voxels, GError **error)
{
  guint64 available = 0;
  if (ns_memory_reserve (bytes, &available))
    return TRUE;
  g_set_error (error, NS_DATA_ERROR, NS_DATA_ERROR_TOO_LARGE,
               "%s: too large: reading its %" G_GUINT64_FORMAT " voxels needs %" G_GUINT64_FORMAT
               " MiB, more than the %" G_GUINT64_FORMAT " MiB of memory available",
               what, n_voxels, (bytes + (1 << 20) - 1) >> 20, available >> 20);
  return FALSE;
}

static void
swap_bytes (guint8 *p, gsize n, int size)
{
  switch (size)
    {
    case 2:
      for (gsize i = 0; i < n; i++, p += 2)
        {
          guint8 t = p[0]; p[0] = p[1]; p[1] = t;
        }
      break;
    case 4:
      for (gsize i = 0; i < n; i++, p += 4)
        {
          guint8 t = p[0]; p[0] = p[3]; p[3] = t;
          t = p[1]; p[1] = p[2]; p[2] = t;
        }
      break;
    case 8:
      for (gsize i = 0; i < n; i++, p += 8)
        for (int k = 0; k < 4; k++)
          {
            guint8 t = p[k]; p[k] = p[7 - k]; p[7 - k] = t;
          }
      break;
    default:
      break;
    }
}

/* Raw values to float32.  With scaling the arithmetic is in double: the brats2015 brain
 * masks are int32 -2147483648 / 2147483520 with a slope and intercept mapping them to 0
 * and 1, which float32 arithmetic would round to the wrong values. */
#define CONVERT_LOOP(ctype)                                                          \
  G_STMT_START {                                                                     \
    const ctype *s = (const ctype *) raw;                                            \
    if (scaled)                                                                      \
      for (gsize i = 0; i < n; i++)                                                  \
        out[i] = (float) ((double) s[i] * slope + inter);                            \
    else                                                                             \
      for (gsize i = 0; i < n; i++)                                                  \
        out[i] = (float) s[i];                                                       \
  } G_STMT_END

static gsize
convert_chunk (int datatype, const void *raw, gsize n, float *out, gboolean scaled,
               double slope, double inter)
{
  switch (datatype)
    {
    case DT_UINT8: CONVERT_LOOP (guint8); break;
    case DT_INT8: CONVERT_LOOP (gint8); break;
    case DT_INT16: CONVERT_LOOP (gint16); break;
    case DT_UINT16: CONVERT_LOOP (guint16); break;
    case DT_INT32: CONVERT_LOOP (gint32); break;
    case DT_UINT32: CONVERT_LOOP (guint32); break;
    case DT_FLOAT32: CONVERT_LOOP (float); break;
    case DT_FLOAT64: CONVERT_LOOP (double); break;
    default: g_assert_not_reached ();
    }

  /* Only floats in the file, or a scaling that overflows float32, give NaN/Inf. */
  gsize bad = 0;
  if (datatype == DT_FLOAT32 || datatype == DT_FLOAT64 || scaled)
    for (gsize i = 0; i < n; i++)
      if (G_UNLIKELY (!isfinite (out[i])))
        {
          out[i] = 0.0f;
          bad++;
        }
  return bad;
}

typedef struct
{
  gboolean scaled;
  double slope;
  double inter;
} Scaling;

static Scaling
header_scaling (const NsNiftiHeader *hdr)
{
  Scaling sc = { FALSE, 1.0, 0.0 };
  if (isfinite (hdr->scl_slope) && hdr->scl_slope != 0.0)
    {
      sc.slope = hdr->scl_slope;
      sc.inter = isfinite (hdr->scl_inter) ? hdr->scl_inter : 0.0;
      sc.scaled = !(sc.slope == 1.0 && sc.inter == 0.0);
    }
  return sc;
}

/* The type a volume of this file is held in (ns-volume.h): the file's own when it is
 * int16 or uint8 without scaling (every value exact, no conversion), else float32. */
static NsVolumeStorage
header_storage (const NsNiftiHeader *hdr, const Scaling *sc)
{
  if (sc->scaled)
    return NS_VOLUME_STORAGE_FLOAT32;
  switch (hdr->datatype)
    {
    case DT_INT16:
      return NS_VOLUME_STORAGE_INT16;
    case DT_UINT8:
      return NS_VOLUME_STORAGE_UINT8;
    default:
      return NS_VOLUME_STORAGE_FLOAT32;
    }
}

/* The volumes are held in their storage type (int16 BraTS images: half of float32). */
guint64
_ns_nifti_decode_bytes (const NsNiftiHeader *header)
{
  Scaling sc = header_scaling (header);
  guint64 nvox = header_n_voxels (header);
  guint64 bytes = nvox * ns_volume_storage_size (header_storage (header, &sc)) + CHUNK_BYTES;
#ifdef NS_HAVE_LIBDEFLATE
  /* The one-shot path holds the compressed file and the decoded bytes besides. */
  if (header->compressed)
    bytes += header->file_size + header->vox_offset + nvox * (guint64) header->bytes_per_voxel;
#endif
  return bytes;
}

/* n raw voxels (in host byte order) into out, of storage's type; returns the NaN/Inf
 * voxels set to 0 (float32 only). */
static gsize
store_chunk (const NsNiftiHeader *hdr, const Scaling *sc, NsVolumeStorage storage,
             const void *raw, gsize n, gpointer out)
{
  if (storage == NS_VOLUME_STORAGE_FLOAT32)
    return convert_chunk (hdr->datatype, raw, n, out, sc->scaled, sc->slope, sc->inter);
  /* header_storage () chose the file's own type: the bytes are the values. */
  g_assert (ns_volume_storage_size (storage) == (gsize) hdr->bytes_per_voxel);
  memcpy (out, raw, n * (gsize) hdr->bytes_per_voxel);
  return 0;
}

static NsVolume *
volume_take (const NsNiftiSource *src, const NsNiftiHeader *hdr, NsVolumeStorage storage,
             gpointer voxels, gsize n_nonfinite)
{
  NsVolume *vol = ns_volume_new_take_storage (&hdr->grid, storage, voxels);
  vol->path = g_strdup (src->name);
  vol->datatype = hdr->datatype;
  vol->intent_code = hdr->intent_code;
  vol->scl_slope = hdr->scl_slope;
  vol->scl_inter = hdr->scl_inter;
  vol->n_nonfinite = n_nonfinite;
  return vol;
}

/* ---- streaming decoder -------------------------------------------------------------------- */

/* Reads the voxels of a source after its header, a chunk at a time, converted to storage
 * (float32 unless the caller says otherwise): the one decoder that both
 * ns_nifti_read_all () and ns_nifti_scan () use. */
typedef struct
{
  NsNiftiSource *src;
  const NsNiftiHeader *hdr;
  Scaling sc;
  NsVolumeStorage storage;
  guint8 *buf;             /* CHUNK_BYTES of raw data */
  gsize per_chunk;         /* voxels in a chunk */
} VoxelReader;

static void
voxel_reader_clear (VoxelReader *r)
{
  g_clear_pointer (&r->buf, g_free);
}

G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (VoxelReader, voxel_reader_clear)

/* Skips the header extensions up to vox_offset. */
static gboolean
voxel_reader_begin (VoxelReader *r, NsNiftiSource *src, const NsNiftiHeader *hdr, GError **error)
{
  memset (r, 0, sizeof *r);
  r->src = src;
  r->hdr = hdr;
  r->sc = header_scaling (hdr);
  r->buf = g_malloc (CHUNK_BYTES);
  r->per_chunk = CHUNK_BYTES / (gsize) hdr->bytes_per_voxel;

  gsize skip = hdr->vox_offset - (hdr->version == 2 ? HEADER2_SIZE : HEADER_SIZE);
  while (skip > 0)
    {
      gsize take = MIN (skip, (gsize) CHUNK_BYTES);
      if (!_ns_nifti_source_read_exact (src, r->buf, take, "header extensions", error))
        return FALSE;
      skip -= take;
    }
  return TRUE;
}

/* The next n (<= per_chunk) voxels into out (of r->storage's type); NaN and Inf become 0,
 * counted in *n_nonfinite. */
static gboolean
voxel_reader_read (VoxelReader *r, gpointer out, gsize n, gsize *n_nonfinite, GError **error)
{
  g_assert (n <= r->per_chunk);
  int size = r->hdr->bytes_per_voxel;
  if (!_ns_nifti_source_read_exact (r->src, r->buf, n * (gsize) size, "voxel data", error))
    return FALSE;
  if (r->hdr->byte_swapped)
    swap_bytes (r->buf, n, size);
  *n_nonfinite += store_chunk (r->hdr, &r->sc, r->storage, r->buf, n, out);
  return TRUE;
}

/* After the last voxel: a gzip stream is read to its end, so that a damaged trailer (CRC,
 * length) is noticed, and must hold nothing more.  (A plain file's size was checked
 * against the header before anything was read.) */
static gboolean
voxel_reader_end (VoxelReader *r, GError **error)
{
  if (!r->src->compressed)
    return TRUE;
  guint64 extra = 0;
  for (;;)
    {
      gssize got = _ns_nifti_source_read (r->src, r->buf, CHUNK_BYTES, error);
      if (got < 0)
        return FALSE;
      if (got == 0)
        break;
      extra += (guint64) got;
    }
  if (extra > 0)
    {
      g_set_error (error, NS_DATA_ERROR, NS_DATA_ERROR_CORRUPT,
                   "%s: corrupt: %" G_GUINT64_FORMAT " bytes of data follow the voxels that "
                   "the header describes", r->src->name, extra);
      return FALSE;
    }
  return TRUE;
}

/* Every volume, each grown as its voxels arrive (never more than was decoded, at most
 * doubled), so that a stream that ends early has cost only what it held. */
static GPtrArray *
read_volumes_stream (NsNiftiSource *src, const NsNiftiHeader *hdr, GError **error)
{
  g_auto (VoxelReader) r = { 0 };
  if (!voxel_reader_begin (&r, src, hdr, error))
    return NULL;

  r.storage = header_storage (hdr, &r.sc);
  gsize elem = ns_volume_storage_size (r.storage);

  g_autoptr (GPtrArray) volumes = g_ptr_array_new_with_free_func ((GDestroyNotify) ns_volume_unref);
  gsize nvox = ns_grid_n_voxels (&hdr->grid);
  for (int v = 0; v < hdr->n_volumes; v++)
    {
      g_autofree guint8 *voxels = NULL;
      gsize capacity = 0, done = 0, n_nonfinite = 0;
      while (done < nvox)
        {
          gsize n = MIN (r.per_chunk, nvox - done);
          if (done + n > capacity)
            {
              gsize want = MIN (nvox, MAX (done + n, MAX (2 * capacity, GROW_FIRST)));
              guint8 *grown = voxels == NULL
                                ? ns_memory_alloc_large (want * elem, FALSE)
                                : ns_memory_realloc_large (voxels, want * elem);
              if (grown == NULL)
                {
                  g_set_error (error, NS_DATA_ERROR, NS_DATA_ERROR_TOO_LARGE,
                               "%s: out of memory after %" G_GSIZE_FORMAT " MiB of voxels",
                               src->name, (capacity * elem) >> 20);
                  return NULL;
                }
              voxels = grown;
              capacity = want;
            }
          if (!voxel_reader_read (&r, voxels + done * elem, n, &n_nonfinite, error))
            return NULL;
          done += n;
        }
      g_ptr_array_add (volumes, volume_take (src, hdr, r.storage, g_steal_pointer (&voxels),
                                             n_nonfinite));
    }
  if (!voxel_reader_end (&r, error))
    return NULL;
  return g_steal_pointer (&volumes);
}

#ifdef NS_HAVE_LIBDEFLATE
/* libdeflate decodes a whole gzip buffer about three times faster than zlib's inflate
 * (the bulk of opening a case).  It needs the decoded size up front: the gzip trailer's
 * ISIZE (the length modulo 2^32), used only when it is exactly what the validated header
 * needs.  Anything unusual (several gzip members, a size mismatch, damaged data) returns
 * NULL with *fallback set, and the streaming decoder takes over (and reports damage). */
static GPtrArray *
read_volumes_libdeflate (NsNiftiSource *src, const NsNiftiHeader *hdr, gboolean *fallback,
                         GError **error)
{
  *fallback = TRUE;
  /* The voxels are converted from the decoded buffer in place: they must be aligned. */
  if (src->size < 18 || hdr->vox_offset % 8 != 0)
    return NULL;

  gsize nvox = ns_grid_n_voxels (&hdr->grid);
  guint64 needed = (guint64) hdr->vox_offset
                   + (guint64) nvox * (guint64) hdr->n_volumes * (guint64) hdr->bytes_per_voxel;
  guint8 t[4];
  if (src->mem != NULL)
    memcpy (t, src->mem + src->size - 4, 4);
  else if (pread (src->fd, t, 4, (off_t) src->size - 4) != 4)
    return NULL;
  guint32 isize = (guint32) t[0] | (guint32) t[1] << 8 | (guint32) t[2] << 16
                  | (guint32) t[3] << 24;
  if (isize != (guint32) needed || needed > G_MAXSIZE)
    return NULL;

  g_autofree guint8 *owned = NULL;
  const guint8 *in = _ns_nifti_source_compressed_bytes (src, &owned);
  if (in == NULL)
    return NULL;
  /* The output buffer starts at 32 x the compressed size (what a BraTS image needs at
   * once; a label map takes two or three tries) and doubles while libdeflate says it is
   * too small, decoding again from the start: at most twice the work, and never more
   * memory than 32 x the file or twice what the stream holds, whatever the header and
   * ISIZE claim.  Not cleared: libdeflate writes it front to back, touching only what it
   * fills. */
  struct libdeflate_decompressor *d = libdeflate_alloc_decompressor ();
  if (d == NULL)
    return NULL;
  g_autofree guint8 *raw = NULL;
  guint64 capacity = MIN (needed, MAX ((guint64) src->size * 32, (guint64) 1 << 20));
  size_t in_used = 0, out_len = 0;
  enum libdeflate_result res = LIBDEFLATE_BAD_DATA;
  for (;;)
    {
      g_clear_pointer (&raw, g_free);
      raw = ns_memory_alloc_large ((gsize) capacity, FALSE);
      if (raw == NULL)
        break;
      res = libdeflate_gzip_decompress_ex (d, in, (size_t) src->size, raw, (size_t) capacity,
                                           &in_used, &out_len);
      if (res != LIBDEFLATE_INSUFFICIENT_SPACE || capacity == needed)
        break;
      capacity = MIN (needed, 2 * capacity);
    }
  libdeflate_free_decompressor (d);
  if (raw == NULL || res != LIBDEFLATE_SUCCESS || out_len != needed)
    return NULL;
  /* Another member after this one: let zlib read them all. */
  if (src->size - in_used >= 2 && _ns_nifti_is_gzip (in + in_used, src->size - in_used))
    return NULL;
  g_clear_pointer (&owned, g_free);

  *fallback = FALSE;
  g_autoptr (GPtrArray) volumes = g_ptr_array_new_with_free_func ((GDestroyNotify) ns_volume_unref);
  Scaling sc = header_scaling (hdr);
  NsVolumeStorage storage = header_storage (hdr, &sc);
  guint8 *p = raw + hdr->vox_offset;
  if (hdr->n_volumes == 1 && storage != NS_VOLUME_STORAGE_FLOAT32)
    {
      /* Held as stored (int16, uint8): the decoded bytes are the volume once moved to the
       * front of the buffer, so no second buffer of the volume's size is made (with the
       * four files of a case decoded at once, 68 MiB less at the peak of a BraTS load). */
      if (hdr->byte_swapped)
        swap_bytes (p, nvox, hdr->bytes_per_voxel);
      memmove (raw, p, nvox * (gsize) hdr->bytes_per_voxel);
      g_ptr_array_add (volumes, volume_take (src, hdr, storage, g_steal_pointer (&raw), 0));
      return g_steal_pointer (&volumes);
    }
  for (int v = 0; v < hdr->n_volumes; v++)
    {
      gpointer voxels = ns_memory_alloc_large (nvox * ns_volume_storage_size (storage), FALSE);
      if (voxels == NULL)
        {
          g_set_error (error, NS_DATA_ERROR, NS_DATA_ERROR_TOO_LARGE,
                       "%s: out of memory for %" G_GSIZE_FORMAT " voxels", src->name, nvox);
          return NULL;
        }
      if (hdr->byte_swapped)
        swap_bytes (p, nvox, hdr->bytes_per_voxel);
      gsize bad = store_chunk (hdr, &sc, storage, p, nvox, voxels);
      g_ptr_array_add (volumes, volume_take (src, hdr, storage, voxels, bad));
      p += nvox * (gsize) hdr->bytes_per_voxel;
    }
  return g_steal_pointer (&volumes);
}
#endif

static GPtrArray *
read_volumes (NsNiftiSource *src, const NsNiftiHeader *hdr, GError **error)
{
#ifdef NS_HAVE_LIBDEFLATE
  if (src->compressed)
    {
      gboolean fallback;
      GPtrArray *fast = read_volumes_libdeflate (src, hdr, &fallback, error);
      if (fast != NULL || !fallback)
        return fast;
    }
#endif
  return read_volumes_stream (src, hdr, error);
}

/* ---- public reading ----------------------------------------------------------------------- */

/* Header, then (when reserve) the memory reservation, then the voxels.  expected: the
 * header a caller read before (the file must not have changed since). */
static GPtrArray *
read_source (NsNiftiSource *src, const NsNiftiHeader *expected, gboolean reserve, GError **error)
{
  NsNiftiHeader hdr;
  if (!read_header (src, &hdr, error))
    return NULL;
  if (expected != NULL && memcmp (&hdr, expected, sizeof hdr) != 0)
    {
      g_set_error (error, NS_DATA_ERROR, NS_DATA_ERROR_IO,
                   "%s: changed on disk while it was being opened", src->name);
      return NULL;
    }
  guint64 reserved = 0;
  if (reserve)
    {
      reserved = _ns_nifti_decode_bytes (&hdr);
      if (!_ns_nifti_reserve (src->name, reserved, header_n_voxels (&hdr), error))
        return NULL;
    }
  GPtrArray *volumes = read_volumes (src, &hdr, error);
  if (reserved > 0)
    ns_memory_release (reserved);
  return volumes;
}

GPtrArray *
_ns_nifti_read_all_reserved (const char *path, const NsNiftiHeader *expected, GError **error)
{
  NsNiftiSource src;

  g_return_val_if_fail (path != NULL && expected != NULL, NULL);
  if (!_ns_nifti_source_open_file (&src, path, error))
    return NULL;
  GPtrArray *volumes = read_source (&src, expected, FALSE, error);
  _ns_nifti_source_close (&src);
  return volumes;
}

GPtrArray *
ns_nifti_read_all (const char *path, GError **error)
{
  NsNiftiSource src;

  g_return_val_if_fail (path != NULL, NULL);
  if (!_ns_nifti_source_open_file (&src, path, error))
    return NULL;
  GPtrArray *volumes = read_source (&src, NULL, TRUE, error);
  _ns_nifti_source_close (&src);
  return volumes;
}

GPtrArray *
ns_nifti_read_memory (const void *data, gsize size, const char *name, GError **error)
{
  NsNiftiSource src;

  g_return_val_if_fail (data != NULL || size == 0, NULL);
  if (name == NULL)
    name = "(memory)";
  if (!_ns_nifti_source_open_memory (&src, data != NULL ? data : "", size, name, error))
    return NULL;
  GPtrArray *volumes = read_source (&src, NULL, TRUE, error);
  _ns_nifti_source_close (&src);
  return volumes;
}

NsVolume *
ns_nifti_read (const char *path, GError **error)
{
  g_autoptr (GPtrArray) volumes = ns_nifti_read_all (path, error);
  if (volumes == NULL)
    return NULL;
  if (volumes->len != 1)
    {
      g_set_error (error, NS_DATA_ERROR, NS_DATA_ERROR_UNSUPPORTED,
                   "%s: holds %u volumes where one was expected", path, volumes->len);
      return NULL;
    }
  return ns_volume_ref (g_ptr_array_index (volumes, 0));
}

gboolean
ns_nifti_scan (const char *path, NsNiftiHeader *header, NsNiftiScanFunc func,
               gpointer user_data, GError **error)
{
  NsNiftiSource src;
  NsNiftiHeader hdr;
  g_auto (VoxelReader) r = { 0 };

  g_return_val_if_fail (path != NULL, FALSE);
  if (!_ns_nifti_source_open_file (&src, path, error))
    return FALSE;
  gboolean ok = read_header (&src, &hdr, error) && voxel_reader_begin (&r, &src, &hdr, error);
  if (ok && header != NULL)
    *header = hdr;
  g_autofree float *values = ok ? g_new (float, r.per_chunk) : NULL;
  gsize nvox = ns_grid_n_voxels (&hdr.grid);
  for (int v = 0; ok && v < hdr.n_volumes; v++)
    for (gsize done = 0; ok && done < nvox;)
      {
        gsize n = MIN (r.per_chunk, nvox - done), n_nonfinite = 0;
        ok = voxel_reader_read (&r, values, n, &n_nonfinite, error)
             && (func == NULL || func ((guint) v, done, values, n, n_nonfinite, user_data, error));
        done += n;
      }
  ok = ok && voxel_reader_end (&r, error);
  _ns_nifti_source_close (&src);
  return ok;
}
