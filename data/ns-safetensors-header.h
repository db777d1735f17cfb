/* SPDX-License-Identifier: MIT
 *
 * ns-safetensors-header.h: the header of a safetensors file, read with every check
 * first; the one reader of it for data/ (the model card the registry records) and net/
 * (checkpoints and the trainer's state, which go on to read the tensors).
 *
 * Format (https://github.com/huggingface/safetensors): an 8-byte little-endian header
 * length N, N bytes of JSON {name: {dtype, shape, data_offsets: [begin, end]}, ...,
 * "__metadata__": {string: string}}, then the data section.
 *
 * The path must name a regular file (ns_file_open_regular: a FIFO neither hangs nor
 * passes; a link to a regular file is fine); N must be at most NS_SAFETENSORS_HEADER_MAX
 * and fit the file; the header must be a JSON object and its __metadata__, when there is
 * one, an object.  Only the 8 + N bytes are read.  Errors are NS_DATA_ERROR, one line
 * starting with the name the caller gives the file: CORRUPT for what is not a safetensors
 * file or was cut short, IO for a read that failed, TOO_LARGE when the header does not
 * fit in memory, and those of ns_file_open_regular ().
 */
#pragma once

#include <json-glib/json-glib.h>

G_BEGIN_DECLS

#define NS_SAFETENSORS_HEADER_MAX ((guint64) 100 << 20)

typedef struct
{
  int fd;                 /* the file, open read-only; closed by _free unless taken (-1) */
  guint64 size;           /* bytes in the file */
  guint64 data_start;     /* 8 + N: the first byte of the data section */
  JsonObject *header;     /* the header object (a reference, released by _free) */
  JsonObject *metadata;   /* its __metadata__ (borrowed from header), NULL when absent */
} NsSafetensorsHeader;

/* Opens path and reads its header; name is what errors call the file (NULL: path). */
NsSafetensorsHeader *ns_safetensors_header_read (const char *path, const char *name,
                                                 GError **error);
void                 ns_safetensors_header_free (NsSafetensorsHeader *header);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (NsSafetensorsHeader, ns_safetensors_header_free)

G_END_DECLS
