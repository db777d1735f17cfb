/* SPDX-License-Identifier: MIT
 *
 * ns-nifti-source.h: the bytes the NIfTI reader decodes (private to ns-nifti.c): a regular
 * file read through gzread (which passes plain files through), or a buffer in memory
 * inflated with zlib, with the most bytes the decoded stream can hold: the size of a plain
 * source, deflate's largest expansion (1032 x) of a compressed one.
 */
#pragma once

#include <glib.h>
#include <zlib.h>

G_BEGIN_DECLS

typedef struct
{
  const char *name;        /* for messages */
  /* a file, read through gzread (which passes plain files through) */
  gzFile gz;
  int fd;                  /* gz's descriptor (gz owns it), for pread */
  /* or memory */
  const guint8 *mem;
  gsize mem_pos;
  gboolean zs_ready;
  gboolean zs_end;
  z_stream zs;
  /* both */
  guint64 size;            /* bytes of the file or buffer */
  guint64 bound;           /* most bytes the decoded stream can hold */
  gboolean compressed;
} NsNiftiSource;

/* TRUE when p starts with the gzip magic. */
gboolean      _ns_nifti_is_gzip                 (const guint8 *p, gsize n);
/* A regular file only (ns-file.h): a FIFO, device or broken link is named as such. */
gboolean      _ns_nifti_source_open_file        (NsNiftiSource *src, const char *path,
                                                 GError **error);
/* data (size bytes, gzip or plain) stays the caller's; name is used in messages. */
gboolean      _ns_nifti_source_open_memory      (NsNiftiSource *src, const void *data,
                                                 gsize size, const char *name,
                                                 GError **error);
void          _ns_nifti_source_close            (NsNiftiSource *src);
/* Up to n decoded bytes: how many (fewer only at the end of the data), or -1 and an
 * NS_DATA_ERROR (CORRUPT for damaged gzip data, IO for a failed read). */
gssize        _ns_nifti_source_read             (NsNiftiSource *src, void *buf, gsize n,
                                                 GError **error);
/* Exactly n bytes, or CORRUPT ("truncated: the file ends inside the <what>"). */
gboolean      _ns_nifti_source_read_exact       (NsNiftiSource *src, void *buf, gsize n,
                                                 const char *what, GError **error);
/* The whole compressed input: the memory source's buffer (borrowed), or the file read
 * into *owned (free it).  NULL when the file cannot be read whole. */
const guint8 *_ns_nifti_source_compressed_bytes (NsNiftiSource *src, guint8 **owned);

G_END_DECLS
