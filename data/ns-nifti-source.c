/* SPDX-License-Identifier: MIT
 *
 * ns-nifti-source.c: see ns-nifti-source.h.  A gzip stream may hold several members (as
 * `cat a.gz b.gz` makes); bytes after the last member that are not another member are
 * ignored, as gzip does.
 */
#define G_LOG_DOMAIN "neuroseg-data"

#include "ns-nifti-source.h"
#include "ns-data-error.h"
#include "ns-file.h"
#include "ns-memory.h"

#include <errno.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define MAX_DEFLATE_RATIO 1032     /* deflate cannot expand input more than this */

gboolean
_ns_nifti_is_gzip (const guint8 *p, gsize n)
{
  return n >= 2 && p[0] == 0x1f && p[1] == 0x8b;
}

static guint64
compression_bound (guint64 size, gboolean compressed)
{
  return compressed ? size * MAX_DEFLATE_RATIO + 4096 : size;
}

gboolean
_ns_nifti_source_open_file (NsNiftiSource *src, const char *path, GError **error)
{
  struct stat st;
  guint8 magic[2] = { 0, 0 };

  memset (src, 0, sizeof *src);
  src->name = path;
  src->fd = -1;

  /* A regular file only: a FIFO, a device, a dangling link or a loop is named as such. */
  int fd = ns_file_open_regular (path, &st, error);
  if (fd < 0)
    return FALSE;
  gssize got = pread (fd, magic, 2, 0);
  src->size = (guint64) st.st_size;
  src->compressed = got == 2 && _ns_nifti_is_gzip (magic, 2);
  src->bound = compression_bound (src->size, src->compressed);

  src->gz = gzdopen (fd, "rb");
  if (src->gz == NULL)
    {
      close (fd);
      g_set_error (error, NS_DATA_ERROR, NS_DATA_ERROR_IO, "%s: cannot open for reading", path);
      return FALSE;
    }
  src->fd = fd;
  /* Small: reading a header then inflates 64 kB, not half a megabyte, and voxels are read
   * in chunks that gzread inflates straight into our buffer, past this one. */
  gzbuffer (src->gz, 32 * 1024);
  return TRUE;
}

gboolean
_ns_nifti_source_open_memory (NsNiftiSource *src, const void *data, gsize size,
                              const char *name, GError **error)
{
  memset (src, 0, sizeof *src);
  src->name = name;
  src->fd = -1;
  src->mem = data;
  src->size = size;
  src->compressed = _ns_nifti_is_gzip (data, size);
  src->bound = compression_bound (size, src->compressed);
  if (src->compressed)
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

void
_ns_nifti_source_close (NsNiftiSource *src)
{
  if (src->gz != NULL)
    gzclose_r (src->gz); /* closes fd */
  if (src->zs_ready)
    inflateEnd (&src->zs);
  src->gz = NULL;
  src->fd = -1;
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
gssize
_ns_nifti_source_read (NsNiftiSource *src, void *buf, gsize n, GError **error)
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

  if (!src->compressed)
    {
      gsize left = src->size - src->mem_pos;
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
          gsize left = src->size - src->mem_pos;
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
          gsize rest = src->zs.avail_in + (src->size - src->mem_pos);
          const guint8 *next = src->zs.next_in;
          if (rest >= 2 && _ns_nifti_is_gzip (next, rest))
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

gboolean
_ns_nifti_source_read_exact (NsNiftiSource *src, void *buf, gsize n, const char *what,
                             GError **error)
{
  gssize got = _ns_nifti_source_read (src, buf, n, error);
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

/* The whole compressed input: the memory source's buffer (borrowed), or the file read
 * into *owned.  NULL when the file cannot be read whole (it shrank, or no memory). */
const guint8 *
_ns_nifti_source_compressed_bytes (NsNiftiSource *src, guint8 **owned)
{
  *owned = NULL;
  if (src->mem != NULL)
    return src->mem;
  if (src->size > G_MAXSIZE)
    return NULL;
  gsize size = (gsize) src->size, done = 0;
  guint8 *buf = ns_memory_alloc_large (size, FALSE);
  if (buf == NULL)
    return NULL;
  while (done < size)
    {
      gssize r = pread (src->fd, buf + done, size - done, (off_t) done);
      if (r < 0 && errno == EINTR)
        continue;
      if (r <= 0)
        {
          g_free (buf);
          return NULL; /* streaming reports what is wrong */
        }
      done += (gsize) r;
    }
  *owned = buf;
  return buf;
}
