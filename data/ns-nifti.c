/* SPDX-License-Identifier: MIT
 *
 * ns-nifti.c: NIfTI-1 reading (our own, hardened, on zlib) and writing (nifticlib).
 *
 * Reading goes: open a byte source (a file through gzread, which also reads plain files,
 * or a memory buffer through inflate), read the 348-byte header, validate every field we
 * use, bound what the file can possibly hold (its size when plain; size x 1032, deflate's
 * largest expansion, when compressed) so that a 1 kB file cannot make us allocate
 * gigabytes, and only then allocate the float32 volumes and stream the voxels through a
 * 1 MiB buffer, converting as they come.  The trade-off: a .hdr/.img pair, ANALYZE 7.5
 * and NIfTI-2 are refused rather than half supported.
 */
#define G_LOG_DOMAIN "ns-data"

#include "ns-nifti.h"
#include "ns-data-error.h"
#include "ns-memory.h"

#include <errno.h>
#include <fcntl.h>
#include <glib/gstdio.h>
#include <math.h>
#include <nifti1_io.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>
#ifdef NS_HAVE_LIBDEFLATE
#include <libdeflate.h>
#endif

#define HEADER_SIZE   348
#define MIN_OFFSET    352          /* header + the 4-byte extension flag */
#define CHUNK_BYTES   (1u << 20)
#define MAX_DEFLATE_RATIO 1032     /* deflate cannot expand input more than this */
#define MAX_VOLUMES   4096         /* 3-D volumes in one 4-D file (an fMRI run is ~1000) */

/* ---- byte sources ----------------------------------------------------------------------- */

typedef struct
{
  const char *name;        /* for messages */
  /* a file */
  gzFile gz;
  /* or memory */
  const guint8 *mem;
  guint8 *owned;           /* mem, when we read a compressed file into memory */
  gsize mem_size;
  gsize mem_pos;
  gboolean mem_gzip;
  gboolean zs_ready;
  gboolean zs_end;
  z_stream zs;
  /* both */
  guint64 bound;           /* most bytes the decoded stream can hold */
  gboolean compressed;
} Source;

static gboolean
is_gzip_magic (const guint8 *p, gsize n)
{
  return n >= 2 && p[0] == 0x1f && p[1] == 0x8b;
}

static guint64
compression_bound (guint64 size, gboolean compressed)
{
  return compressed ? size * MAX_DEFLATE_RATIO + 4096 : size;
}

static gboolean source_open_memory (Source *src, const void *data, gsize size, const char *name,
                                    GError **error);

static gboolean
source_open_file (Source *src, const char *path, GError **error)
{
  memset (src, 0, sizeof *src);
  src->name = path;

  /* O_NONBLOCK: a FIFO given by mistake must not hang us (no effect on regular files). */
  int fd = g_open (path, O_RDONLY | O_CLOEXEC | O_NONBLOCK, 0);
  if (fd < 0)
    {
      int saved = errno;
      g_set_error (error, NS_DATA_ERROR,
                   saved == ENOENT || saved == ENOTDIR ? NS_DATA_ERROR_NOT_FOUND
                                                       : NS_DATA_ERROR_IO,
                   "%s: %s", path, g_strerror (saved));
      return FALSE;
    }

  struct stat st;
  guint8 magic[2] = { 0, 0 };
  if (fstat (fd, &st) != 0 || !S_ISREG (st.st_mode))
    {
      g_set_error (error, NS_DATA_ERROR, NS_DATA_ERROR_NOT_NIFTI,
                   "%s: not a regular file", path);
      close (fd);
      return FALSE;
    }
  gssize got = pread (fd, magic, 2, 0);
  src->compressed = got == 2 && is_gzip_magic (magic, 2);
  src->bound = compression_bound ((guint64) st.st_size, src->compressed);

  if (src->compressed)
    {
      /* A .nii.gz is a few MB: read it whole and decode it from memory, the path the
       * fuzzer exercises, and the one libdeflate can take. */
      gsize size = (gsize) st.st_size, done = 0;
      src->owned = ns_memory_alloc_large (size, FALSE);
      if (src->owned == NULL)
        {
          close (fd);
          g_set_error (error, NS_DATA_ERROR, NS_DATA_ERROR_TOO_LARGE,
                       "%s: cannot allocate %" G_GSIZE_FORMAT " MiB to read it", path,
                       size >> 20);
          return FALSE;
        }
      while (done < size)
        {
          gssize r = pread (fd, src->owned + done, size - done, (off_t) done);
          if (r < 0 && errno == EINTR)
            continue;
          if (r < 0)
            {
              int saved = errno;
              close (fd);
              g_set_error (error, NS_DATA_ERROR, NS_DATA_ERROR_IO, "%s: %s", path,
                           g_strerror (saved));
              return FALSE;
            }
          if (r == 0)
            break; /* shrank meanwhile: decode what is there */
          done += (gsize) r;
        }
      close (fd);
      guint8 *owned = g_steal_pointer (&src->owned);
      if (!source_open_memory (src, owned, done, path, error))
        {
          g_free (owned);
          return FALSE;
        }
      src->owned = owned;
      return TRUE;
    }

  src->gz = gzdopen (fd, "rb");
  if (src->gz == NULL)
    {
      close (fd);
      g_set_error (error, NS_DATA_ERROR, NS_DATA_ERROR_IO, "%s: cannot open for reading", path);
      return FALSE;
    }
  gzbuffer (src->gz, 256 * 1024);
  return TRUE;
}

static gboolean
source_open_memory (Source *src, const void *data, gsize size, const char *name,
                    GError **error)
{
  memset (src, 0, sizeof *src);
  src->name = name;
  src->mem = data;
  src->mem_size = size;
  src->mem_gzip = is_gzip_magic (data, size);
  src->compressed = src->mem_gzip;
  src->bound = compression_bound (size, src->compressed);
  if (src->mem_gzip)
    {
      /* 16 + MAX_WBITS: gzip wrapper only. */
      if (inflateInit2 (&src->zs, 16 + MAX_WBITS) != Z_OK)
        {
          g_set_error (error, NS_DATA_ERROR, NS_DATA_ERROR_IO, "%s: zlib: out of memory", name);
          return FALSE;
        }
      src->zs_ready = TRUE;
      src->zs.next_in = (Bytef *) src->mem;
      src->zs.avail_in = 0;
    }
  return TRUE;
}

static void
source_close (Source *src)
{
  if (src->gz != NULL)
    gzclose_r (src->gz);
  if (src->zs_ready)
    inflateEnd (&src->zs);
  g_clear_pointer (&src->owned, g_free);
  src->gz = NULL;
  src->zs_ready = FALSE;
}

/* zlib's message for a gzdopen()ed file starts with "<fd:N>: ". */
static const char *
gz_message (gzFile gz, int *zerr)
{
  const char *msg = gzerror (gz, zerr);
  if (msg == NULL || *msg == '\0')
    return "corrupt gzip data";
  if (g_str_has_prefix (msg, "<fd:"))
    {
      const char *colon = strstr (msg, ": ");
      if (colon != NULL)
        return colon + 2;
    }
  return msg;
}

/* Reads up to n bytes; returns how many (fewer only at the end of the data) or -1. */
static gssize
source_read (Source *src, void *buf, gsize n, GError **error)
{
  if (src->gz != NULL)
    {
      gsize done = 0;
      while (done < n)
        {
          unsigned int want = (unsigned int) MIN (n - done, (gsize) G_MAXINT / 2);
          int got = gzread (src->gz, (guint8 *) buf + done, want);
          if (got < 0)
            {
              int zerr;
              const char *msg = gz_message (src->gz, &zerr);
              g_set_error (error, NS_DATA_ERROR,
                           zerr == Z_ERRNO ? NS_DATA_ERROR_IO : NS_DATA_ERROR_CORRUPT,
                           "%s: %s%s", src->name, zerr == Z_ERRNO ? "" : "corrupt gzip data: ",
                           zerr == Z_ERRNO ? g_strerror (errno) : msg);
              return -1;
            }
          if (got == 0)
            {
              /* gzread reports a truncated stream as a short read plus a pending error. */
              int zerr;
              const char *msg = gz_message (src->gz, &zerr);
              if (zerr != Z_OK && zerr != Z_STREAM_END)
                {
                  g_set_error (error, NS_DATA_ERROR, NS_DATA_ERROR_CORRUPT,
                               "%s: truncated or corrupt gzip data (%s)", src->name, msg);
                  return -1;
                }
              break;
            }
          done += (gsize) got;
        }
      return (gssize) done;
    }

  if (!src->mem_gzip)
    {
      gsize left = src->mem_size - src->mem_pos;
      gsize take = MIN (left, n);
      memcpy (buf, src->mem + src->mem_pos, take);
      src->mem_pos += take;
      return (gssize) take;
    }

  gsize done = 0;
  while (done < n && !src->zs_end)
    {
      if (src->zs.avail_in == 0)
        {
          gsize left = src->mem_size - src->mem_pos;
          if (left == 0)
            {
              g_set_error (error, NS_DATA_ERROR, NS_DATA_ERROR_CORRUPT,
                           "%s: truncated gzip data (unexpected end of file)", src->name);
              return -1;
            }
          gsize take = MIN (left, (gsize) G_MAXUINT / 2);
          src->zs.next_in = (Bytef *) (src->mem + src->mem_pos);
          src->zs.avail_in = (uInt) take;
          src->mem_pos += take;
        }
      gsize want = MIN (n - done, (gsize) G_MAXUINT / 2);
      src->zs.next_out = (Bytef *) buf + done;
      src->zs.avail_out = (uInt) want;
      int ret = inflate (&src->zs, Z_NO_FLUSH);
      done += want - src->zs.avail_out;
      if (ret == Z_STREAM_END)
        {
          /* Another gzip member may follow (concatenated .gz files are valid). */
          gsize rest = src->zs.avail_in + (src->mem_size - src->mem_pos);
          const guint8 *next = src->zs.next_in;
          if (rest >= 2 && is_gzip_magic (next, rest))
            {
              gsize pos = (gsize) (next - src->mem);
              inflateReset (&src->zs);
              src->zs.next_in = (Bytef *) next;
              src->zs.avail_in = 0;
              src->mem_pos = pos;
            }
          else
            src->zs_end = TRUE;
        }
      else if (ret != Z_OK && !(ret == Z_BUF_ERROR && src->zs.avail_in == 0))
        {
          g_set_error (error, NS_DATA_ERROR, NS_DATA_ERROR_CORRUPT,
                       "%s: corrupt gzip data (%s)", src->name,
                       src->zs.msg != NULL ? src->zs.msg : "inflate failed");
          return -1;
        }
    }
  return (gssize) done;
}

/* Reads exactly n bytes, or fails with CORRUPT ("truncated"). */
static gboolean
source_read_exact (Source *src, void *buf, gsize n, const char *what, GError **error)
{
  gssize got = source_read (src, buf, n, error);
  if (got < 0)
    return FALSE;
  if ((gsize) got < n)
    {
      g_set_error (error, NS_DATA_ERROR, NS_DATA_ERROR_CORRUPT,
                   "%s: truncated: the file ends inside the %s", src->name, what);
      return FALSE;
    }
  return TRUE;
}

/* ---- header validation ------------------------------------------------------------------ */

static guint64
physical_memory (void)
{
  long pages = sysconf (_SC_PHYS_PAGES);
  long page = sysconf (_SC_PAGESIZE);
  if (pages <= 0 || page <= 0)
    return G_MAXUINT64;
  return (guint64) pages * (guint64) page;
}

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

static gboolean
matrix_finite (const double m[4][4])
{
  for (int r = 0; r < 4; r++)
    for (int c = 0; c < 4; c++)
      if (!isfinite (m[r][c]))
        return FALSE;
  return TRUE;
}

static double
finite_or (double v, double fallback)
{
  return isfinite (v) ? v : fallback;
}

static void
header_geometry (const struct nifti_1_header *h, NsGrid *g)
{
  for (int d = 0; d < 3; d++)
    {
      double p = fabs ((double) h->pixdim[d + 1]);
      g->spacing[d] = isfinite (p) && p > 0.0 ? p : 1.0;
    }
  g->qfac = h->pixdim[0] < 0.0f ? -1.0 : 1.0;
  g->qform_code = h->qform_code > 0 ? h->qform_code : 0;
  g->sform_code = h->sform_code > 0 ? h->sform_code : 0;
  g->xyz_units = XYZT_TO_SPACE (h->xyzt_units);
  g->time_units = XYZT_TO_TIME (h->xyzt_units);
  g->quatern[0] = finite_or (h->quatern_b, 0.0);
  g->quatern[1] = finite_or (h->quatern_c, 0.0);
  g->quatern[2] = finite_or (h->quatern_d, 0.0);
  g->qoffset[0] = finite_or (h->qoffset_x, 0.0);
  g->qoffset[1] = finite_or (h->qoffset_y, 0.0);
  g->qoffset[2] = finite_or (h->qoffset_z, 0.0);

  /* nifticlib's quaternion maths (it takes |pixdim| and the sign of qfac itself). */
  mat44 q = nifti_quatern_to_mat44 ((float) g->quatern[0], (float) g->quatern[1],
                                    (float) g->quatern[2], (float) g->qoffset[0],
                                    (float) g->qoffset[1], (float) g->qoffset[2],
                                    (float) g->spacing[0], (float) g->spacing[1],
                                    (float) g->spacing[2], (float) g->qfac);
  for (int r = 0; r < 4; r++)
    for (int c = 0; c < 4; c++)
      {
        g->qform[r][c] = q.m[r][c];
        g->sform[r][c] = r == 3 ? (c == 3 ? 1.0 : 0.0)
                                : (double) (r == 0 ? h->srow_x[c]
                                            : r == 1 ? h->srow_y[c] : h->srow_z[c]);
      }

  /* sform if its code > 0, else qform, else pixdim; a transform with NaN/Inf in it is
   * treated as absent so that no later computation meets a NaN coordinate. */
  memset (g->vox2ras, 0, sizeof g->vox2ras);
  if (g->sform_code > 0 && matrix_finite (g->sform))
    memcpy (g->vox2ras, g->sform, sizeof g->vox2ras);
  else if (g->qform_code > 0 && matrix_finite (g->qform))
    memcpy (g->vox2ras, g->qform, sizeof g->vox2ras);
  else
    {
      for (int d = 0; d < 3; d++)
        g->vox2ras[d][d] = g->spacing[d];
      g->vox2ras[3][3] = 1.0;
    }
}

/* Validates h (already in host byte order) against what the source can hold. */
static gboolean
header_parse (const struct nifti_1_header *h, gboolean swapped, const Source *src,
              NsNiftiHeader *out, GError **error)
{
  const char *name = src->name;

  memset (out, 0, sizeof *out);
  if (memcmp (h->magic, "ni1", 4) == 0)
    {
      g_set_error (error, NS_DATA_ERROR, NS_DATA_ERROR_UNSUPPORTED,
                   "%s: a .hdr/.img pair; only single-file NIfTI (.nii, .nii.gz) is supported",
                   name);
      return FALSE;
    }
  if (memcmp (h->magic, "n+1", 4) != 0)
    {
      g_set_error (error, NS_DATA_ERROR, NS_DATA_ERROR_NOT_NIFTI,
                   "%s: not a NIfTI-1 file (no \"n+1\" magic; ANALYZE 7.5 is not supported)",
                   name);
      return FALSE;
    }

  int ndim = h->dim[0];
  if (ndim < 1 || ndim > 7)
    {
      g_set_error (error, NS_DATA_ERROR, NS_DATA_ERROR_CORRUPT,
                   "%s: corrupt header: dim[0] is %d; it must be 1 to 7", name, ndim);
      return FALSE;
    }
  guint64 nvox = 1;
  gboolean overflow = FALSE;
  for (int d = 1; d <= ndim; d++)
    {
      if (h->dim[d] <= 0)
        {
          g_set_error (error, NS_DATA_ERROR, NS_DATA_ERROR_CORRUPT,
                       "%s: corrupt header: dimension %d is %d; dimensions must be positive",
                       name, d, h->dim[d]);
          return FALSE;
        }
      if (nvox > G_MAXUINT64 / (guint64) h->dim[d])
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

  /* Sizes: the floats we will allocate must fit size_t and the machine's memory. */
  if (overflow || nvox > G_MAXSIZE / sizeof (float))
    {
      g_set_error (error, NS_DATA_ERROR, NS_DATA_ERROR_TOO_LARGE,
                   "%s: too large: the dimensions in the header overflow the address space",
                   name);
      return FALSE;
    }
  guint64 float_bytes = nvox * sizeof (float);
  guint64 mem = physical_memory ();
  if (float_bytes > mem)
    {
      g_set_error (error, NS_DATA_ERROR, NS_DATA_ERROR_TOO_LARGE,
                   "%s: too large: %" G_GUINT64_FORMAT " voxels need %" G_GUINT64_FORMAT
                   " MiB, more than this machine's %" G_GUINT64_FORMAT " MiB of memory",
                   name, nvox, float_bytes >> 20, mem >> 20);
      return FALSE;
    }

  double off = h->vox_offset;
  if (!isfinite (off) || off < 0.0 || off > 1e15)
    {
      g_set_error (error, NS_DATA_ERROR, NS_DATA_ERROR_CORRUPT,
                   "%s: corrupt header: vox_offset is %g", name, off);
      return FALSE;
    }
  /* The standard says >= 352; files written with 0 (some old tools) have data at 352. */
  guint64 offset = off < HEADER_SIZE ? MIN_OFFSET : (guint64) off;
  guint64 data_bytes = nvox * (guint64) nbyper;
  if (offset + data_bytes > src->bound)
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
                     name, offset + data_bytes, src->bound);
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
    g->dim[d] = d + 1 <= ndim ? h->dim[d + 1] : 1;
  out->n_volumes = (int) n_volumes;
  header_geometry (h, g);

  out->datatype = h->datatype;
  out->bytes_per_voxel = nbyper;
  out->intent_code = h->intent_code;
  out->scl_slope = h->scl_slope;
  out->scl_inter = h->scl_inter;
  out->cal_min = h->cal_min;
  out->cal_max = h->cal_max;
  out->vox_offset = (gsize) offset;
  out->byte_swapped = swapped;
  out->compressed = src->compressed;
  memcpy (out->descrip, h->descrip, 80);
  out->descrip[80] = '\0';
  for (char *p = out->descrip; *p; p++)
    if ((guchar) *p < 0x20 || (guchar) *p >= 0x7f)
      *p = '?';
  return TRUE;
}

static gboolean
read_header (Source *src, NsNiftiHeader *out, GError **error)
{
  struct nifti_1_header h;
  G_STATIC_ASSERT (sizeof h == HEADER_SIZE);

  gssize got = source_read (src, &h, sizeof h, error);
  if (got < 0)
    return FALSE; /* a damaged gzip stream: CORRUPT, already set */
  if ((gsize) got < sizeof h)
    {
      if (got >= 4 && (h.sizeof_hdr == HEADER_SIZE || GUINT32_SWAP_LE_BE (h.sizeof_hdr) == HEADER_SIZE))
        g_set_error (error, NS_DATA_ERROR, NS_DATA_ERROR_CORRUPT,
                     "%s: truncated: the file ends inside the header (%" G_GSSIZE_FORMAT
                     " of 348 bytes)", src->name, got);
      else
        g_set_error (error, NS_DATA_ERROR, NS_DATA_ERROR_NOT_NIFTI,
                     "%s: not a NIfTI file (%" G_GSSIZE_FORMAT " bytes, shorter than a header)",
                     src->name, got);
      return FALSE;
    }

  gboolean swapped = FALSE;
  if (h.sizeof_hdr != HEADER_SIZE)
    {
      gint32 s = (gint32) GUINT32_SWAP_LE_BE ((guint32) h.sizeof_hdr);
      if (s == HEADER_SIZE)
        {
          swap_nifti_header (&h, 1);
          swapped = TRUE;
        }
      else if (h.sizeof_hdr == 540 || s == 540)
        {
          g_set_error (error, NS_DATA_ERROR, NS_DATA_ERROR_UNSUPPORTED,
                       "%s: a NIfTI-2 file; only NIfTI-1 is supported", src->name);
          return FALSE;
        }
      else
        {
          g_set_error (error, NS_DATA_ERROR, NS_DATA_ERROR_NOT_NIFTI,
                       "%s: not a NIfTI file (header size field is %d, not 348)",
                       src->name, h.sizeof_hdr);
          return FALSE;
        }
    }
  return header_parse (&h, swapped, src, out, error);
}

gboolean
ns_nifti_read_header (const char *path, NsNiftiHeader *header, GError **error)
{
  Source src;

  g_return_val_if_fail (path != NULL, FALSE);
  g_return_val_if_fail (header != NULL, FALSE);
  if (!source_open_file (&src, path, error))
    return FALSE;
  gboolean ok = read_header (&src, header, error);
  source_close (&src);
  return ok;
}

/* ---- voxel conversion --------------------------------------------------------------------- */

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

static GPtrArray *
new_volumes (const Source *src, const NsNiftiHeader *hdr, GError **error)
{
  g_autoptr (GPtrArray) volumes = g_ptr_array_new_with_free_func ((GDestroyNotify) ns_volume_unref);

  for (int v = 0; v < hdr->n_volumes; v++)
    {
      NsVolume *vol = ns_volume_new (&hdr->grid, error);
      if (vol == NULL)
        {
          g_prefix_error (error, "%s: ", src->name);
          return NULL;
        }
      vol->path = g_strdup (src->name);
      vol->datatype = hdr->datatype;
      vol->intent_code = hdr->intent_code;
      vol->scl_slope = hdr->scl_slope;
      vol->scl_inter = hdr->scl_inter;
      g_ptr_array_add (volumes, vol);
    }
  return g_steal_pointer (&volumes);
}

#ifdef NS_HAVE_LIBDEFLATE
/* libdeflate decodes a whole gzip buffer about three times faster than zlib's inflate
 * (the bulk of opening a case).  It needs the decoded size up front: the gzip trailer's
 * ISIZE, trusted only when it is at least what the validated header needs and at most
 * 1 MiB more.  Anything unusual (several gzip members, a size mismatch, damaged data)
 * returns NULL with *fallback set, and zlib streaming takes over (and reports damage). */
static GPtrArray *
read_volumes_libdeflate (Source *src, const NsNiftiHeader *hdr, gboolean *fallback,
                         GError **error)
{
  *fallback = TRUE;
  /* The voxels are converted in place from the decoded buffer: they must be aligned. */
  if (!src->mem_gzip || src->mem_size < 18 || hdr->vox_offset % 8 != 0)
    return NULL;

  gsize nvox = ns_grid_n_voxels (&hdr->grid);
  guint64 needed = (guint64) hdr->vox_offset
                   + (guint64) nvox * (guint64) hdr->n_volumes * (guint64) hdr->bytes_per_voxel;
  const guint8 *t = src->mem + src->mem_size - 4;
  guint64 isize = (guint64) t[0] | (guint64) t[1] << 8 | (guint64) t[2] << 16
                  | (guint64) t[3] << 24;
  if (isize < needed || isize > needed + (1u << 20) || isize > src->bound)
    return NULL;

  g_autofree guint8 *raw = ns_memory_alloc_large ((gsize) isize, FALSE);
  if (raw == NULL)
    return NULL;
  struct libdeflate_decompressor *d = libdeflate_alloc_decompressor ();
  if (d == NULL)
    return NULL;
  size_t in_used = 0, out_len = 0;
  enum libdeflate_result res = libdeflate_gzip_decompress_ex (d, src->mem, src->mem_size, raw,
                                                              (size_t) isize, &in_used,
                                                              &out_len);
  libdeflate_free_decompressor (d);
  if (res != LIBDEFLATE_SUCCESS || out_len < needed)
    return NULL;
  /* Another member after this one: let zlib read them all. */
  if (src->mem_size - in_used >= 2 && is_gzip_magic (src->mem + in_used, src->mem_size - in_used))
    return NULL;

  *fallback = FALSE;
  g_autoptr (GPtrArray) volumes = new_volumes (src, hdr, error);
  if (volumes == NULL)
    return NULL;
  Scaling sc = header_scaling (hdr);
  guint8 *p = raw + hdr->vox_offset;
  for (int v = 0; v < hdr->n_volumes; v++)
    {
      NsVolume *vol = g_ptr_array_index (volumes, v);
      if (hdr->byte_swapped)
        swap_bytes (p, nvox, hdr->bytes_per_voxel);
      vol->n_nonfinite = convert_chunk (hdr->datatype, p, nvox, vol->voxels, sc.scaled,
                                        sc.slope, sc.inter);
      p += nvox * (gsize) hdr->bytes_per_voxel;
    }
  return g_steal_pointer (&volumes);
}
#endif

static GPtrArray *
read_volumes (Source *src, const NsNiftiHeader *hdr, GError **error)
{
#ifdef NS_HAVE_LIBDEFLATE
  gboolean fallback;
  GPtrArray *fast = read_volumes_libdeflate (src, hdr, &fallback, error);
  if (fast != NULL || !fallback)
    return fast;
#endif

  g_autoptr (GPtrArray) volumes = new_volumes (src, hdr, error);
  if (volumes == NULL)
    return NULL;
  gsize nvox = ns_grid_n_voxels (&hdr->grid);
  Scaling sc = header_scaling (hdr);

  /* Skip extensions up to vox_offset. */
  g_autofree guint8 *buf = g_malloc (CHUNK_BYTES);
  gsize skip = hdr->vox_offset - HEADER_SIZE;
  while (skip > 0)
    {
      gsize take = MIN (skip, (gsize) CHUNK_BYTES);
      if (!source_read_exact (src, buf, take, "header extensions", error))
        return NULL;
      skip -= take;
    }

  gsize per_chunk = CHUNK_BYTES / (gsize) hdr->bytes_per_voxel;
  for (int v = 0; v < hdr->n_volumes; v++)
    {
      NsVolume *vol = g_ptr_array_index (volumes, v);
      for (gsize done = 0; done < nvox;)
        {
          gsize n = MIN (per_chunk, nvox - done);
          if (!source_read_exact (src, buf, n * (gsize) hdr->bytes_per_voxel, "voxel data",
                                  error))
            return NULL;
          if (hdr->byte_swapped)
            swap_bytes (buf, n, hdr->bytes_per_voxel);
          vol->n_nonfinite += convert_chunk (hdr->datatype, buf, n, vol->voxels + done,
                                             sc.scaled, sc.slope, sc.inter);
          done += n;
        }
    }

  /* For gzip, read on to the end of the stream so that a damaged or missing trailer
   * (CRC, length) is noticed; any trailing bytes are bounded by the file size. */
  if (src->compressed)
    {
      for (;;)
        {
          gssize got = source_read (src, buf, CHUNK_BYTES, error);
          if (got < 0)
            return NULL;
          if (got == 0)
            break;
        }
    }
  return g_steal_pointer (&volumes);
}

GPtrArray *
ns_nifti_read_all (const char *path, GError **error)
{
  Source src;
  NsNiftiHeader hdr;

  g_return_val_if_fail (path != NULL, NULL);
  if (!source_open_file (&src, path, error))
    return NULL;
  GPtrArray *volumes = NULL;
  if (read_header (&src, &hdr, error))
    volumes = read_volumes (&src, &hdr, error);
  source_close (&src);
  return volumes;
}

GPtrArray *
ns_nifti_read_memory (const void *data, gsize size, const char *name, GError **error)
{
  Source src;
  NsNiftiHeader hdr;

  g_return_val_if_fail (data != NULL || size == 0, NULL);
  if (name == NULL)
    name = "(memory)";
  if (!source_open_memory (&src, data != NULL ? data : "", size, name, error))
    return NULL;
  GPtrArray *volumes = NULL;
  if (read_header (&src, &hdr, error))
    volumes = read_volumes (&src, &hdr, error);
  source_close (&src);
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
